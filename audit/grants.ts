/**
 * What a plan grants, as a flat list of authority items per mechanism: the common model
 * of `explain`, `diff` and `verify`. Derived from the plan body alone, so it works on
 * signed plans as well as on freshly compiled policies. It reads every field the shim
 * enforces: Landlock handled rights (an unhandled right is unrestricted), rules and scopes,
 * and the seccomp program itself, analysed exactly per arch, syscall and argument
 * condition (`seccomp_review.ts`).
 *
 * @module
 */
import {
  LANDLOCK_FS_RIGHTS,
  type LinuxLaunchPlan,
  type MountFlag,
  type SeccompPlan,
} from "../compiler/plan.ts";
import { NETWORK_PROTOCOLS } from "../policy/network_protocols.ts";
import {
  auditArch,
  baselineProbes,
  compareFilters,
  createFilterRunner,
  decodeProgram,
  describeReturn,
  type FilterPath,
  filterPaths,
  PROTOCOL_SOCKETS,
  resolveValue,
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_LOG,
  type SockFilter,
  syscallTable,
} from "../compiler/seccomp/mod.ts";
import { fromBase64 } from "../crypto/digest.ts";
import { isUnder, VIEW_DEVICES } from "../compiler/lower_view.ts";
import { archClasses, describeChanges, describeFilter } from "./seccomp_review.ts";

/** The mechanisms grants are grouped by. */
export type Mechanism =
  | "target"
  | "env"
  | "fds"
  | "identity"
  | "namespaces"
  | "view"
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
  /** Rights a grant gives (a path's, a port's): a change is wider when it adds one. */
  rights?: string[];
  /** The size of a restriction (a limit): a change is wider when it grows. */
  amount?: number;
  /** True for a syscall item shown from the program's analysis: {@link diffPlans} compares the programs themselves. */
  analysed?: true;
  /** For a changed item: its text in the first plan (`text` then reads `old → new`). */
  before?: string;
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
  const restrict = (
    mechanism: Mechanism,
    key: string,
    text: string,
    source?: string,
    amount?: number,
  ) =>
    grants.push({
      mechanism,
      key: `${mechanism}:${key}`,
      text,
      ...(source ? { source } : {}),
      restricts: true,
      ...(amount !== undefined ? { amount } : {}),
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
            l.value,
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
            p.memoryMax,
          );
        }
        if (p.pidsMax !== undefined) {
          restrict(
            "cgroup",
            "pids_max",
            `pids.max ${p.pidsMax} (${p.enforce})`,
            "cgroup.pids_max",
            p.pidsMax,
          );
        }
        if (p.cpuMaxPercent !== undefined) {
          restrict(
            "cgroup",
            "cpu_max",
            `cpu.max ${p.cpuMaxPercent}% (${p.enforce})`,
            "cgroup.cpu_max",
            p.cpuMaxPercent,
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
      case "linux.confine.learn.v1":
        // A learn plan confines nothing beyond the baseline: say so before anything else.
        add(
          "syscalls",
          "learn",
          "learn mode (charter learn): no Landlock; USER_NOTIF calls stop for the launcher's recorder, which lets them run unless the baseline denies them",
        );
        break;
    }
  }
  grants.push(...viewGrants(plan));
  const ll = plan.landlock;
  const handledFs = ll?.handledFs ?? [];
  const handledNet = ll?.handledNet ?? [];
  if (ll) {
    restrict("filesystem", "landlock", `Landlock ruleset (${ll.enforce})`, "enforce.landlock");
    for (const r of ll.fs) {
      const source = r.implied ? undefined : `filesystem.*[${JSON.stringify(r.path)}]`;
      const hidden = !r.implied && !r.inView && !inListedView(plan, r.resolved ?? r.path);
      grants.push({
        mechanism: "filesystem",
        // A path may have a rule of its own and an implied one: two items.
        key: `filesystem:${r.path}${r.implied ? ` (implied: ${r.implied})` : ""}${
          r.inView ? " (in the view)" : ""
        }`,
        text: `${r.path}${openedAs(r.resolved)}: ${r.access.join(", ")}${
          r.implied ? ` (implied: ${r.implied})` : ""
        }${r.inView ? " (in the view)" : ""}${hidden ? " (not in the view)" : ""}`,
        ...(source ? { source } : {}),
        rights: r.access,
      });
    }
    for (const n of ll.net) {
      grants.push({
        mechanism: "network",
        key: `network:${n.port}`,
        text: `TCP ${n.port}: ${n.access.join(", ")}`,
        source: `network.*[${n.port}]`,
        rights: n.access,
      });
    }
    for (const s of ll.scoped) {
      restrict("scope", s, `scoped: ${s} (no reach outside the sandbox)`, "scope");
    }
  }
  // A right the ruleset does not handle is not restricted at all, whatever the rules say.
  if (handledFs.length === 0) {
    add("filesystem", "*", "whole filesystem (no Landlock filesystem rules)");
  } else {
    for (const right of LANDLOCK_FS_RIGHTS.filter((r) => !handledFs.includes(r))) {
      add("filesystem", `*:${right}`, `${right} anywhere (not handled by Landlock)`);
    }
  }
  if (handledNet.length === 0) {
    add("network", "*", "every TCP port (no Landlock network rules)");
  } else {
    for (
      const right of (["bind_tcp", "connect_tcp"] as const).filter((r) => !handledNet.includes(r))
    ) {
      add("network", `*:${right}`, `${right} on every TCP port (not handled by Landlock)`);
    }
  }
  if (!plan.schedule.some((p) => p.id === "linux.scrub.capabilities.v1")) {
    add("capabilities", "*", "the launcher's capabilities are not reduced");
  }
  if (plan.seccomp) {
    const { instructions, enforce, sha256, flags } = plan.seccomp;
    restrict("syscalls", "filter", `seccomp filter (${enforce})`, "syscalls");
    grants.push({
      mechanism: "syscalls",
      key: "syscalls:program",
      text: `program of ${instructions} instructions, sha256 ${sha256}`,
      info: true,
    });
    if (flags.includes("spec_allow")) {
      add("syscalls", "spec_allow", "speculative store bypass mitigation off (spec_allow)");
    }
    const unsafe = baselineEscapes(plan.seccomp, plan.arch);
    grants.push(...syscallGrants(filterPaths(programOf(plan.seccomp)), unsafe));
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
  // What restricts each protocol, for reading: facts about the program, whose decisions
  // the exact syscall analysis already lists (and diff compares) one by one.
  for (const [protocol, how] of protocolRestrictions(plan, netns)) {
    grants.push({
      mechanism: "network",
      key: `network:protocol/${protocol}`,
      text: `${protocol}: ${how.text}`,
      source: `network.protocols[${JSON.stringify(protocol)}]`,
      info: true,
    });
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
): [string, { text: string }][] {
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
 * Compares two plans' grants item by item (syscall items shown from the program analysis
 * excepted: see {@link diffPlans}). An item only in the second plan adds authority (or, for
 * a restriction, removes some); an item only in the first the reverse. A changed item
 * (same key, other text) is one entry whose text reads `old → new`: wider when its rights
 * grow or its restriction's size grows, narrower for the reverse, and counted as added
 * authority when neither says (a changed argv, env value, exe).
 *
 * @example
 * ```ts ignore
 * import { diffGrants, grantsOf } from "./grants.ts";
 * const { added } = diffGrants(grantsOf(before), grantsOf(after));
 * ```
 */
export function diffGrants(before: Grant[], after: Grant[]): GrantsDiff {
  // Keys are unique per plan; should one repeat, its items still compare one by one.
  const compared = (grants: Grant[]) => {
    const seen = new Map<string, number>();
    return new Map(
      grants.filter((g) => !g.analysed).map((g) => {
        const n = seen.get(g.key) ?? 0;
        seen.set(g.key, n + 1);
        return [n === 0 ? g.key : `${g.key}#${n}`, g];
      }),
    );
  };
  const a = compared(before);
  const b = compared(after);
  const diff: GrantsDiff = { added: [], removed: [], changed: [] };
  for (const [key, old] of a) {
    if (b.has(key)) continue;
    if (old.info) continue;
    (old.restricts ? diff.added : diff.removed).push(old);
  }
  for (const [key, now] of b) {
    const old = a.get(key);
    if (!old) {
      (now.info ? diff.changed : now.restricts ? diff.removed : diff.added).push(now);
      continue;
    }
    if (old.text === now.text) continue;
    const change = { ...now, before: old.text, text: arrow(old.text, now.text) };
    if (now.info) diff.changed.push(change);
    else (widthOf(old, now) === "narrower" ? diff.removed : diff.added).push(change);
  }
  return diff;
}

/** `old → new` with the words both share said once: `RLIMIT_NOFILE = 64 → 128`. */
function arrow(old: string, now: string): string {
  let i = 0;
  while (i < old.length && i < now.length && old[i] === now[i]) i++;
  const cut = old.lastIndexOf(" ", i - 1) + 1;
  return `${old} → ${now.slice(cut)}`;
}

/** Whether a changed item gives more or less authority, when that is ordered. */
function widthOf(old: Grant, now: Grant): "wider" | "narrower" | "unordered" {
  if (old.amount !== undefined && now.amount !== undefined) {
    return now.amount > old.amount ? "wider" : "narrower";
  }
  if (old.rights && now.rights) {
    if (now.rights.some((r) => !old.rights!.includes(r))) return "wider";
    if (old.rights.some((r) => !now.rights!.includes(r))) return "narrower";
  }
  return "unordered";
}

/**
 * The authority two plans differ by: {@link diffGrants} of their grants, and, for their
 * seccomp programs, every (arch, syscall, argument condition) whose decision changed,
 * compared exactly on the programs (widening: added; narrowing: removed; same rank, such as
 * another errno: changed).
 *
 * @example
 * ```ts ignore
 * import { diffPlans } from "./grants.ts";
 * const { added } = diffPlans(before, after);
 * if (added.length > 0) Deno.exit(1);
 * ```
 */
export function diffPlans(before: LinuxLaunchPlan, after: LinuxLaunchPlan): GrantsDiff {
  const diff = diffGrants(grantsOf(before), grantsOf(after));
  if (before.seccomp && after.seccomp) {
    const a = programOf(before.seccomp);
    const b = programOf(after.seccomp);
    const classes = archClasses([filterPaths(a), filterPaths(b)]);
    const unsafe = baselineEscapes(after.seccomp, after.arch);
    for (const c of describeChanges(compareFilters(a, b), classes)) {
      // A widening that lets a baseline syscall run is unsafe_allow's doing: flag it.
      const pastBaseline = c.widens && c.syscall !== undefined && unsafe.has(c.syscall);
      const grant: Grant = {
        mechanism: "syscalls",
        key: `syscalls:${c.arch}:${c.what}:${c.condition}`,
        text: `${c.arch}: ${c.what}${c.condition ? ` when ${c.condition}` : ""}: ${c.change}${
          pastBaseline ? " (UNSAFE: past the baseline)" : ""
        }`,
        source: pastBaseline
          ? `syscalls.unsafe_allow[${JSON.stringify(c.syscall)}]`
          : c.condition
          ? "syscalls.rules"
          : c.syscall
          ? `syscalls.*[${JSON.stringify(c.syscall)}]`
          : "syscalls.default",
      };
      (c.widens ? diff.added : c.narrows ? diff.removed : diff.changed).push(grant);
    }
  }
  return diff;
}

/** A plan's program. */
function programOf(seccomp: SeccompPlan): SockFilter[] {
  return decodeProgram(fromBase64(seccomp.bpfB64));
}

/**
 * Per arch the program tells apart: the syscalls that may run, with their argument
 * conditions, and one line per other outcome.
 */
function syscallGrants(paths: FilterPath[], unsafe: Set<string>): Grant[] {
  return describeFilter(paths, archClasses([paths])).flatMap((view) => {
    const arch = view.arch.label;
    return [
      ...view.running.map((r): Grant => ({
        mechanism: "syscalls",
        key: `syscalls:${arch}:${r.name}`,
        text: unsafe.has(r.name) ? `${r.text} (UNSAFE: past the baseline)` : r.text,
        source: unsafe.has(r.name)
          ? `syscalls.unsafe_allow[${JSON.stringify(r.name)}]`
          : `syscalls.*[${JSON.stringify(r.name)}]`,
        analysed: true,
      })),
      ...view.rest.map((line, i): Grant => ({
        mechanism: "syscalls",
        key: `syscalls:${arch}:rest:${i}`,
        text: `${arch}: ${line}`,
        analysed: true,
        restricts: true,
      })),
    ];
  });
}

/** What a view entry's flags leave the child: always read, and write, exec, setuid, devices unless a flag forbids them. */
function mountRights(flags: MountFlag[]): string[] {
  return [
    "read",
    ...(flags.includes("ro") ? [] : ["write"]),
    ...(flags.includes("noexec") ? [] : ["exec"]),
    ...(flags.includes("nosuid") ? [] : ["setuid"]),
    ...(flags.includes("nodev") ? [] : ["devices"]),
  ];
}

/**
 * The filesystem view: whether the child sees the host's tree, and each entry of the view
 * with its flags. A newly visible path, a read-only entry becoming writable or executable,
 * a hidden path shown again are added authority in {@link diffGrants}.
 */
function viewGrants(plan: LinuxLaunchPlan): Grant[] {
  const grants: Grant[] = [];
  const view = plan.view;
  if (view?.mode !== "listed") {
    grants.push({
      mechanism: "view",
      key: "view:*",
      text: view
        ? "the host's whole tree is visible but for hidden paths (view: host)"
        : "the host's whole tree is visible (no filesystem view)",
      source: "filesystem.view",
    });
  }
  if (!view) return grants;
  grants.push({
    mechanism: "view",
    key: "view:namespace",
    text: view.mode === "listed"
      ? `listed view: a private mount namespace holding only what follows (${view.enforce})`
      : `host view in a private mount namespace, with hidden paths (${view.enforce})`,
    source: "filesystem.view",
    restricts: true,
  });
  const t = plan.target;
  const implied = new Set([
    t.exe,
    ...(t.interpreters ?? []).map((i) => i.path),
    ...(t.inputs ?? []).map((i) => i.path),
  ]);
  const flagged = (flags: MountFlag[]) => `(${flags.join(",")})`;
  for (const m of view.mounts) {
    const item = (text: string, source: string | undefined, flags: MountFlag[]) =>
      grants.push({
        mechanism: "view",
        key: `view:${m.kind === "root" ? "/" : m.target}`,
        text: `${text} ${flagged(flags)}`,
        ...(source ? { source } : {}),
        rights: mountRights(flags),
      });
    switch (m.kind) {
      case "root":
        grants.push({
          mechanism: "view",
          key: "view:/",
          text: `/: a fresh tmpfs of ${m.sizeBytes} bytes, read-only once built ${
            flagged(m.flags)
          }`,
          info: true,
        });
        break;
      case "bind": {
        const identity = m.target === (m.sourceResolved ?? m.source);
        const source = implied.has(m.source)
          ? undefined
          : identity
          ? `filesystem.*[${JSON.stringify(m.source)}]`
          : `filesystem.mounts[${
            JSON.stringify({ source: m.source, target: m.target, write: !m.flags.includes("ro") })
          }]`;
        item(
          `${m.target}: the host's ${m.source}${openedAs(m.sourceResolved)}, ${
            m.flags.includes("ro") ? "read-only" : "writable"
          }${implied.has(m.source) ? " (implied)" : ""}`,
          source,
          m.flags,
        );
        break;
      }
      case "symlink":
        grants.push({
          mechanism: "view",
          key: `view:${m.target}`,
          text: `${m.target} -> ${m.link} (a symlink, as on the host)`,
          info: true,
        });
        break;
      case "file": {
        const bytes = fromBase64(m.contentB64);
        item(
          `${m.target}: a file of ${bytes.length} bytes, ${JSON.stringify(preview(bytes))}`,
          `filesystem.files.${m.target}.content`,
          m.flags,
        );
        break;
      }
      case "tmpfs":
        item(
          `${m.target}: a private tmpfs of ${m.sizeBytes} bytes, empty at launch`,
          "filesystem.tmp",
          m.flags,
        );
        break;
      case "proc":
        item("/proc: the child's pid namespace", "filesystem.proc", m.flags);
        break;
      case "dev":
        grants.push({
          mechanism: "view",
          key: "view:/dev",
          text: `/dev: null, zero, full, random, urandom, tty${
            m.devpts ? ", a private devpts (terminal)" : ""
          } ${flagged(m.flags)}`,
          source: "filesystem.dev",
          rights: [...mountRights(m.flags), ...(m.devpts ? ["devpts"] : [])],
        });
        break;
      case "hide":
        grants.push({
          mechanism: "view",
          key: `view:hide:${m.target}`,
          text: `${m.target}: hidden ${flagged(m.flags)}`,
          source: `filesystem.hide[${JSON.stringify(m.target)}]`,
          restricts: true,
        });
        break;
    }
  }
  return grants;
}

/**
 * False when the plan has a listed view that does not show a host path (one that did not
 * exist at compile time, or one a view entry of its own replaces): its Landlock rule then
 * reaches nothing.
 */
function inListedView(plan: LinuxLaunchPlan, path: string): boolean {
  if (plan.view?.mode !== "listed") return true;
  return plan.view.mounts.some((m) =>
    m.kind === "bind"
      ? isUnder(path, m.sourceResolved ?? m.source)
      : m.kind === "dev"
      ? path === "/dev" || VIEW_DEVICES.includes(path)
      : m.kind === "proc" && isUnder(path, "/proc")
  );
}

/** The start of a file's content, for reading. */
function preview(bytes: Uint8Array): string {
  const text = new TextDecoder().decode(bytes.subarray(0, 60));
  return bytes.length > 60 ? `${text}…` : text;
}

/** How a plan path is opened at launch when its compile-time resolution differs from it. */
function openedAs(resolved: string | undefined): string {
  return resolved ? ` (opened as ${resolved}, no symlinks)` : "";
}
