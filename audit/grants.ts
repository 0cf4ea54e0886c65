/**
 * What a plan grants, as a flat list of authority items per mechanism: the common model
 * of `explain`, `diff` and `verify`. Derived from the plan body alone, so it works on
 * signed plans as well as on freshly compiled policies.
 *
 * @module
 */
import type { LinuxLaunchPlan, SeccompPlan } from "../compiler/plan.ts";
import { NETWORK_PROTOCOLS } from "../policy/network_protocols.ts";
import {
  auditArch,
  baselineProbes,
  createFilterRunner,
  decodeProgram,
  describeReturn,
  PROTOCOL_SOCKETS,
  resolveValue,
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_LOG,
  syscallTable,
} from "../compiler/seccomp/mod.ts";
import { fromBase64 } from "../crypto/digest.ts";

/** The mechanisms grants are grouped by. */
export type Mechanism =
  | "target"
  | "env"
  | "fds"
  | "identity"
  | "namespaces"
  | "filesystem"
  | "network"
  | "scope"
  | "syscalls"
  | "limits"
  | "cgroup"
  | "capabilities"
  | "process";

/** One item of authority (or confinement) a plan gives the child. */
export interface Grant {
  /** The mechanism it belongs to. */
  mechanism: Mechanism;
  /** A stable key identifying the item, used to compare plans (`filesystem:/tmp`). */
  key: string;
  /** The human-readable statement (`/tmp: read_file, read_dir, write_file`). */
  text: string;
  /** The provenance key of the policy value behind it, when there is one. */
  source?: string;
  /** True for a confinement (namespace, limit, scope…): losing it adds authority. */
  restricts?: true;
  /** True for a fact that neither grants nor restricts (a program's digest). */
  info?: true;
}

/**
 * Lists what a plan grants and how the child is confined.
 *
 * @example
 * ```ts ignore
 * import { grantsOf } from "./grants.ts";
 * for (const g of grantsOf(statement.predicate)) console.log(g.mechanism, g.text);
 * ```
 */
export function grantsOf(plan: LinuxLaunchPlan): Grant[] {
  const grants: Grant[] = [];
  const add = (mechanism: Mechanism, key: string, text: string, source?: string) =>
    grants.push({ mechanism, key: `${mechanism}:${key}`, text, ...(source ? { source } : {}) });
  const restrict = (mechanism: Mechanism, key: string, text: string, source?: string) =>
    grants.push({
      mechanism,
      key: `${mechanism}:${key}`,
      text,
      ...(source ? { source } : {}),
      restricts: true,
    });
  const t = plan.target;
  add("target", "exe", `${t.exe} (sha256 ${t.sha256})`, "target.exe");
  add("target", "argv", `argv ${JSON.stringify(t.argv)}`, "target.argv");
  if (t.extraArgs) {
    add("target", "extra_args", "extra arguments may be appended at launch", "target.extra_args");
  }
  add("target", "cwd", `working directory ${t.cwd}${openedAs(t.cwdResolved)}`, "target.cwd");
  for (const interp of t.interpreters ?? []) {
    grants.push({
      mechanism: "target",
      key: `target:interpreter:${interp.path}`,
      text: `interpreter ${interp.path} (sha256 ${interp.sha256}, implied)`,
      info: true,
    });
  }
  for (const [index, input] of (t.inputs ?? []).entries()) {
    add(
      "target",
      `input:${input.path}`,
      `input ${input.path}${openedAs(input.resolved)} (sha256 ${input.sha256}, pinned)`,
      `target.inputs.${index}`,
    );
  }
  for (const [name, value] of Object.entries(plan.env.set)) {
    add("env", name, `${name}=${value}`, `env.set.${name}`);
  }
  for (const name of plan.env.pass) {
    add("env", name, `${name} passed from the launcher`, `env.pass[${JSON.stringify(name)}]`);
  }
  // Without a user namespace a kept capability acts on host objects.
  const hostCapabilities = !plan.schedule.some((p) => p.id === "linux.identity.userns.v1");
  for (const p of plan.schedule) {
    switch (p.id) {
      case "linux.scrub.fds.v1":
        for (const fd of p.keep) add("fds", String(fd), `fd ${fd} inherited`, `fds.pass[${fd}]`);
        break;
      case "linux.identity.host_root.v1":
        add(
          "identity",
          "host_root",
          "the child may hold the launcher's own ids, host root included",
          "user.host_root",
        );
        break;
      case "linux.identity.userns.v1":
        restrict(
          "identity",
          "userns",
          `new user namespace, uid ${p.uid ?? "(launcher's)"} gid ${
            p.gid ?? "(launcher's)"
          } inside (${p.enforce})`,
          "user.namespace",
        );
        break;
      case "linux.scrub.ids.v1":
        add("identity", "ids", `switch to uid ${p.uid} gid ${p.gid}`, "user.uid");
        break;
      case "linux.visibility.namespaces.v1":
        for (const ns of ["net", "pid", "ipc", "uts", "cgroup"] as const) {
          if (p[ns]) {
            restrict("namespaces", ns, `new ${ns} namespace (${p.enforce})`, `namespaces.${ns}`);
          }
        }
        break;
      case "linux.visibility.hostname.v1":
        add("namespaces", "hostname", `hostname ${p.hostname}`, "hostname");
        break;
      case "linux.scrub.rlimits.v1":
        for (const l of p.limits) {
          restrict(
            "limits",
            l.resource,
            `RLIMIT_${l.resource} = ${l.value}`,
            `limits.${l.resource.toLowerCase()}`,
          );
        }
        break;
      case "linux.scrub.cgroup.v1":
        if (p.memoryMax !== undefined) {
          restrict(
            "cgroup",
            "memory_max",
            `memory.max ${p.memoryMax} (${p.enforce})`,
            "cgroup.memory_max",
          );
        }
        if (p.pidsMax !== undefined) {
          restrict("cgroup", "pids_max", `pids.max ${p.pidsMax} (${p.enforce})`, "cgroup.pids_max");
        }
        if (p.cpuMaxPercent !== undefined) {
          restrict(
            "cgroup",
            "cpu_max",
            `cpu.max ${p.cpuMaxPercent}% (${p.enforce})`,
            "cgroup.cpu_max",
          );
        }
        break;
      case "linux.scrub.capabilities.v1":
        for (const cap of p.keep) {
          const source = `capabilities[${JSON.stringify(cap)}]`;
          if (hostCapabilities) {
            add("capabilities", `host/${cap}`, `${cap} kept on the host (host authority)`, source);
          } else add("capabilities", cap, `${cap} kept`, source);
        }
        if (p.keep.length === 0) {
          restrict("capabilities", "(none)", "every capability dropped", "capabilities");
        }
        break;
      case "linux.scrub.setsid.v1":
        restrict("process", "setsid", "new session (no terminal injection)", "new_session");
        break;
      case "linux.scrub.pdeathsig.v1":
        restrict(
          "process",
          "pdeathsig",
          `killed (signal ${p.signal}) when the launcher dies`,
          "die_with_parent",
        );
        break;
      case "linux.scrub.no_new_privs.v1":
        restrict("process", "no_new_privs", "no_new_privs (setuid and file capabilities ignored)");
        break;
    }
  }
  const ll = plan.landlock;
  if (ll) {
    if (ll.handledFs.length > 0) {
      for (const r of ll.fs) {
        const source = r.implied ? undefined : `filesystem.*[${JSON.stringify(r.path)}]`;
        add(
          "filesystem",
          r.path,
          `${r.path}${openedAs(r.resolved)}: ${r.access.join(", ")}${
            r.implied ? ` (implied: ${r.implied})` : ""
          }`,
          source,
        );
      }
    }
    if (ll.handledNet.length > 0) {
      for (const n of ll.net) {
        add(
          "network",
          String(n.port),
          `TCP ${n.port}: ${n.access.join(", ")}`,
          `network.*[${n.port}]`,
        );
      }
    }
    for (const s of ll.scoped) {
      restrict("scope", s, `scoped: ${s} (no reach outside the sandbox)`, "scope");
    }
  }
  if (!ll || ll.handledFs.length === 0) {
    add("filesystem", "*", "whole filesystem (no Landlock filesystem rules)");
  }
  if (!ll || ll.handledNet.length === 0) {
    add("network", "*", "every TCP port (no Landlock network rules)");
  }
  if (!plan.schedule.some((p) => p.id === "linux.scrub.capabilities.v1")) {
    add("capabilities", "*", "the launcher's capabilities are not reduced");
  }
  if (plan.seccomp) {
    const { instructions, enforce, sha256 } = plan.seccomp;
    restrict("syscalls", "filter", `seccomp filter (${enforce})`, "syscalls");
    grants.push({
      mechanism: "syscalls",
      key: "syscalls:program",
      text: `program of ${instructions} instructions, sha256 ${sha256}`,
      info: true,
    });
    const unsafe = baselineEscapes(plan.seccomp, plan.arch);
    for (const [name, how] of syscallsLetThrough(plan.seccomp, plan.arch)) {
      if (unsafe.has(name)) {
        add(
          "syscalls",
          name,
          `${name} (UNSAFE: past the baseline)`,
          `syscalls.unsafe_allow[${JSON.stringify(name)}]`,
        );
        continue;
      }
      const text = how === "always" ? name : `${name} (for some arguments)`;
      add("syscalls", name, text, `syscalls.allow[${JSON.stringify(name)}]`);
    }
  } else {
    add("syscalls", "*", "every syscall (no seccomp filter)");
  }
  if (pushesTerminalInput(plan)) {
    add(
      "process",
      "tiocsti",
      "may push input into the launcher's terminal (TIOCSTI: not filtered, no new session)",
    );
  }
  const netns = plan.schedule.some((p) => p.id === "linux.visibility.namespaces.v1" && p.net);
  for (const [protocol, how] of protocolRestrictions(plan, netns)) {
    (how.denied ? restrict : add)(
      "network",
      `protocol/${protocol}`,
      `${protocol}: ${how.text}`,
      `network.protocols[${JSON.stringify(protocol)}]`,
    );
  }
  return grants;
}

/**
 * Per protocol of `network.protocols`, what restricts it: the seccomp socket rule (run on
 * the protocol's usual socket() call), Landlock TCP ports, or the network namespace.
 */
function protocolRestrictions(
  plan: LinuxLaunchPlan,
  netns: boolean,
): [string, { denied: boolean; text: string }][] {
  const run = plan.seccomp
    ? createFilterRunner(decodeProgram(fromBase64(plan.seccomp.bpfB64)))
    : undefined;
  const table = syscallTable(plan.arch);
  const [socket, listen] = [table.get("socket")!, table.get("listen")!];
  const returnOf = (nr: number, args?: bigint[]) =>
    run?.({ nr, arch: auditArch(plan.arch), args }).ret;
  const permits = (ret: number | undefined) => {
    const action = ret === undefined ? SECCOMP_RET_ALLOW : (ret & SECCOMP_RET_ACTION_FULL) >>> 0;
    return action === SECCOMP_RET_ALLOW || action === SECCOMP_RET_LOG;
  };
  const allows = (nr: number) => permits(returnOf(nr));
  const tcpPorts = (plan.landlock?.handledNet.length ?? 0) > 0;
  return NETWORK_PROTOCOLS.map((protocol) => {
    const call = PROTOCOL_SOCKETS[protocol][0];
    const args = [call.family, call.type, call.protocol].map((v) => resolveValue(v, plan.arch));
    const ret = returnOf(socket, args);
    if (!permits(ret)) {
      return [protocol, {
        denied: true,
        text: `denied by the seccomp socket rule (${describeReturn(ret!)})`,
      }];
    }
    const by = [
      ...protocol === "tcp" && tcpPorts ? ["Landlock TCP port rules"] : [],
      ...netns && protocol !== "unix" && protocol !== "vsock" ? ["the new net namespace"] : [],
    ];
    // Landlock checks bind(), not the ephemeral port listen() takes for an unbound socket.
    const gap = protocol === "tcp" && tcpPorts && !netns && allows(listen)
      ? " (but listen() on an unbound socket takes any ephemeral port)"
      : "";
    return [protocol, {
      denied: false,
      text:
        (by.length > 0 ? `allowed, restricted by ${by.join(" and ")}` : "allowed, unrestricted") +
        gap,
    }];
  });
}

/** True when neither a new session nor the filter stops TIOCSTI on an inherited terminal. */
function pushesTerminalInput(plan: LinuxLaunchPlan): boolean {
  if (plan.schedule.some((p) => p.id === "linux.scrub.setsid.v1")) return false;
  if (!plan.seccomp) return true;
  const run = createFilterRunner(decodeProgram(fromBase64(plan.seccomp.bpfB64)));
  const ioctl = syscallTable(plan.arch).get("ioctl")!;
  const args = [0n, resolveValue("TIOCSTI", plan.arch), 0n, 0n, 0n, 0n];
  const action = (run({ nr: ioctl, arch: auditArch(plan.arch), args }).ret &
    SECCOMP_RET_ACTION_FULL) >>> 0;
  return action === SECCOMP_RET_ALLOW || action === SECCOMP_RET_LOG;
}

/** Baseline syscalls the program lets run for arguments the baseline denies (unsafe_allow). */
function baselineEscapes(seccomp: SeccompPlan, arch: LinuxLaunchPlan["arch"]): Set<string> {
  const run = createFilterRunner(decodeProgram(fromBase64(seccomp.bpfB64)));
  const table = syscallTable(arch);
  return new Set(
    baselineProbes(arch).filter(({ syscall, args }) => {
      const ret = run({ nr: table.get(syscall)!, arch: auditArch(arch), args }).ret;
      const action = (ret & SECCOMP_RET_ACTION_FULL) >>> 0;
      return action === SECCOMP_RET_ALLOW || action === SECCOMP_RET_LOG;
    }).map((p) => p.syscall),
  );
}

/** The authority two plans differ by. */
export interface GrantsDiff {
  /** Authority the second plan adds: new grants, and restrictions it drops. */
  added: Grant[];
  /** Authority the second plan takes away: dropped grants, and new restrictions. */
  removed: Grant[];
  /** Facts that changed without granting or restricting by themselves, as in the second plan. */
  changed: Grant[];
}

/**
 * Compares two plans' grants item by item. A changed item (same key, other text) counts
 * both ways: a raised limit drops the old restriction (authority added) and brings a new
 * one (authority removed), so every change shows up.
 *
 * @example
 * ```ts ignore
 * import { diffGrants, grantsOf } from "./grants.ts";
 * const { added } = diffGrants(grantsOf(before), grantsOf(after));
 * ```
 */
export function diffGrants(before: Grant[], after: Grant[]): GrantsDiff {
  const id = (g: Grant) => `${g.key}\u0000${g.text}`;
  const a = new Set(before.map(id));
  const b = new Set(after.map(id));
  const onlyAfter = after.filter((g) => !a.has(id(g)));
  const onlyBefore = before.filter((g) => !b.has(id(g)));
  const grant = (g: Grant) => !g.info && !g.restricts;
  return {
    added: [...onlyAfter.filter(grant), ...onlyBefore.filter((g) => g.restricts)],
    removed: [...onlyBefore.filter(grant), ...onlyAfter.filter((g) => g.restricts)],
    changed: onlyAfter.filter((g) => g.info),
  };
}

/**
 * Which syscalls a filter lets run (allow or log), found by running the program in the
 * interpreter: with all arguments zero and all ones, so argument rules show up as
 * "for some arguments". Names are in syscall-number order.
 */
function syscallsLetThrough(
  seccomp: SeccompPlan,
  arch: LinuxLaunchPlan["arch"],
): [string, "always" | "some"][] {
  const run = createFilterRunner(decodeProgram(fromBase64(seccomp.bpfB64)));
  const archValue = auditArch(arch);
  const passes = (nr: number, arg: bigint) => {
    const action =
      (run({ nr, arch: archValue, args: Array(6).fill(arg) }).ret & SECCOMP_RET_ACTION_FULL) >>> 0;
    return action === SECCOMP_RET_ALLOW || action === SECCOMP_RET_LOG;
  };
  const out: [string, "always" | "some"][] = [];
  for (const [name, nr] of [...syscallTable(arch)].sort((a, b) => a[1] - b[1])) {
    const zero = passes(nr, 0n);
    const ones = passes(nr, 0xffffffffffffffffn);
    if (zero && ones) out.push([name, "always"]);
    else if (zero || ones) out.push([name, "some"]);
  }
  return out;
}

/** How a plan path is opened at launch when its compile-time resolution differs from it. */
function openedAs(resolved: string | undefined): string {
  return resolved ? ` (opened as ${resolved}, no symlinks)` : "";
}
