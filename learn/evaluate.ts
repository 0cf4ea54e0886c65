/**
 * Would the current plan deny this access, and which policy key would allow it? Decided
 * from exactly what the shim enforces: the plan's seccomp program, run through the
 * classic-BPF interpreter, and the plan's Landlock ruleset (handled rights, path rules with
 * the hierarchy rule, TCP port rules).
 *
 * @module
 */
import type { LandlockFsRight, LinuxLaunchPlan } from "../compiler/plan.ts";
import {
  applyBaseline,
  auditArch,
  compileSeccomp,
  createFilterRunner,
  decodeProgram,
  METADATA_SYSCALLS,
  retErrno,
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_LOG,
  type SeccompArch,
} from "../compiler/seccomp/mod.ts";
import { interpreterOf } from "../compiler/interpreter.ts";
import { fromBase64 } from "../crypto/digest.ts";
import type { Access, PathAccess } from "./access.ts";
import { exists } from "../compiler/resolve_path.ts";
import { isUnder } from "../compiler/lower_view.ts";
import { isDirectory, resolvedOnHost } from "./paths.ts";

/** The policy key that allows a denied access, and the value to add under it. */
export interface Grant {
  /** The key, e.g. `filesystem.write`, `network.connect_tcp`, `syscalls`. */
  key:
    | "filesystem.read"
    | "filesystem.write"
    | "filesystem.exec"
    | "network.connect_tcp"
    | "network.bind_tcp"
    | "network.protocols"
    | "syscalls.allow"
    | "syscalls.unsafe_allow";
  /**
   * The list item to add: a path, a port, a protocol or a syscall name; absent where the
   * key is lifted by other grants (metadata calls: any `filesystem.write` path).
   */
  value?: string | number;
}

/** An access the plan would deny. */
export interface Denial {
  /** The access. */
  access: Access;
  /** The mechanism that would deny it. */
  mechanism: "landlock" | "seccomp" | "namespaces" | "view";
  /** What would allow it. */
  grant: Grant;
  /** One line for people: `write /work/out/x → filesystem.write`. */
  line: string;
  /** How many times it happened (default 1), when identical denials are tallied. */
  times?: number;
}

const FILE_RIGHTS = new Set<LandlockFsRight>([
  "execute",
  "write_file",
  "read_file",
  "truncate",
  "ioctl_dev",
]);
const ENOSYS_RET = retErrno(38);

/** The most resolutions (and interpreter chains) cached at once. */
const CACHE_KEPT = 10_000;

/** Resolves symlinks the way the kernel's walk does; paths that do not exist keep their tail. */
function canonical(path: string, cache: Map<string, string>): string {
  // /proc is the child's own instance (its /proc/self differs from ours); the host's says nothing of it.
  if (path === "/" || isUnder(path, "/proc")) return path;
  const hit = cache.get(path);
  if (hit !== undefined) return hit;
  const out = resolvedOnHost(path);
  // A program may name millions of distinct paths: the cache stays bounded.
  if (cache.size >= CACHE_KEPT) cache.clear();
  cache.set(path, out);
  return out;
}

/** The interpreter the kernel runs `path` with (ELF PT_INTERP or `#!`), if any. */
function interpreterAt(path: string): string | undefined {
  try {
    // Only a regular file: the child names the path, and opening a FIFO blocks the launcher
    // for good, a device (a watchdog, a tape) acts on being opened.
    if (!Deno.statSync(path).isFile) return undefined;
    using file = Deno.openSync(path);
    const head = new Uint8Array(INTERPRETER_HEAD);
    const n = file.readSync(head) ?? 0;
    return interpreterOf(head.subarray(0, n));
  } catch {
    // Unreadable, or too short to tell: the exec itself is what is reported.
    return undefined;
  }
}

/** How much of an executable holds its `#!` line or ELF program headers and PT_INTERP. */
const INTERPRETER_HEAD = 4096;

function keyOfRight(right: LandlockFsRight): Grant["key"] {
  if (right === "execute") return "filesystem.exec";
  if (right === "read_file" || right === "read_dir") return "filesystem.read";
  return "filesystem.write";
}

/** The `network.protocols` name of a socket() call. */
function protocolOf(args: bigint[]): string {
  const family = Number(args[0] ?? 0n);
  const type = Number((args[1] ?? 0n) & 0xfn);
  const proto = Number(args[2] ?? 0n);
  if (family === 1) return "unix";
  if (family === 16) return proto === 0 ? "netlink_route" : "netlink";
  if (family === 17) return "packet";
  if (family === 40) return "vsock";
  if (family === 2 || family === 10) {
    if (type === 3) return "raw";
    if (proto === 262) return "mptcp";
    if (proto === 132) return "sctp";
    if (proto === 1 || proto === 58) return "icmp";
    return type === 2 ? "udp" : "tcp";
  }
  return "raw";
}

/** Decides accesses against one plan; build it once per plan. */
export interface Evaluator {
  /** The denials of one access (none when the plan allows it). */
  evaluate(access: Access): Denial[];
}

/**
 * Builds the evaluator of a plan.
 *
 * @example
 * ```ts ignore
 * import { createEvaluator } from "./evaluate.ts";
 * const evaluator = createEvaluator(statement.predicate);
 * const denials = evaluator.evaluate({ kind: "tcp", op: "connect", port: 5432 });
 * console.log(denials[0]?.line); // "connect tcp 5432 → network.connect_tcp"
 * ```
 */
export function createEvaluator(plan: LinuxLaunchPlan): Evaluator {
  const arch = plan.arch as SeccompArch;
  const runPlan = plan.seccomp
    ? createFilterRunner(decodeProgram(fromBase64(plan.seccomp.bpfB64)))
    : undefined;
  const baseline = applyBaseline({ default: "allow" }, arch);
  const runBaseline = createFilterRunner(
    compileSeccomp(baseline.policy, arch, baseline.options).program,
  );
  // Without a `network` key the child has its own network namespace: no port reaches out.
  const netns = plan.schedule.some((p) => p.id === "linux.visibility.namespaces.v1" && p.net);
  const cache = new Map<string, string>();
  const landlock = plan.landlock;
  const handled = new Set(landlock?.handledFs ?? []);
  const rules = (landlock?.fs ?? []).map((r) => {
    const path = canonical(r.resolved ?? r.path, cache);
    // An absent path is no directory: the shim skips its rule.
    return { path, isDir: isDirectory(path), access: new Set(r.access) };
  });
  const denies = (ret: number) => {
    const action = (ret & SECCOMP_RET_ACTION_FULL) >>> 0;
    return action !== SECCOMP_RET_ALLOW && action !== SECCOMP_RET_LOG && ret !== ENOSYS_RET;
  };
  const allowedRight = (at: string, right: LandlockFsRight) =>
    !handled.has(right) ||
    rules.some((r) =>
      r.access.has(right) &&
      (r.isDir ? isUnder(at, r.path) : at === r.path && FILE_RIGHTS.has(right))
    );

  // The kernel opens a program's interpreters (ld.so, a `#!` line's program) for execute
  // too, with the same Landlock check, though no syscall names them.
  const interpreterCache = new Map<string, string[]>();
  const interpretersOf = (path: string): string[] => {
    const hit = interpreterCache.get(path);
    if (hit) return hit;
    const chain: string[] = [];
    for (let next: string | undefined = path; next && chain.length < 4;) {
      next = interpreterAt(next);
      if (next) chain.push(next);
    }
    if (interpreterCache.size >= CACHE_KEPT) interpreterCache.clear();
    interpreterCache.set(path, chain);
    return chain;
  };
  const execDenials = (a: PathAccess): Denial[] =>
    interpretersOf(a.path).flatMap((interp) =>
      pathDenials({ kind: "path", op: "exec", path: interp, rights: ["execute"], at: interp })
        .map((d) => ({ ...d, line: `exec ${interp} (interpreter of ${a.path}) → ${d.grant.key}` }))
    );

  // A listed view (VIEW_CONTRACT.md) shows only its entries: a lookup elsewhere is ENOENT,
  // whatever Landlock would say. Listing the path (read) puts it in the view.
  const shown = plan.view?.mode === "listed"
    ? plan.view.mounts.flatMap((m) => m.kind === "root" ? [] : [m.target])
    : undefined;
  const visible = (path: string) =>
    shown === undefined || shown.some((target) => isUnder(path, target) || isUnder(target, path));
  const lookupDenials = (a: PathAccess): Denial[] =>
    visible(a.path) || !exists(a.path) ? [] : [{
      access: a,
      mechanism: "view",
      grant: { key: "filesystem.read", value: a.path },
      line: `lookup ${a.path} → filesystem.read`,
    }];

  const pathDenials = (a: PathAccess): Denial[] => {
    // Landlock decides on files that exist: opening a missing one fails with ENOENT under
    // any policy (programs probe for optional files); creating decides on the directory.
    if (a.op !== "create" && a.op !== "remove" && !exists(a.path)) return [];
    const at = canonical(a.at, cache);
    const missing = a.rights.filter((right) => !allowedRight(at, right));
    const keys = [...new Set(missing.map(keyOfRight))];
    return keys.map((key) => ({
      access: a,
      mechanism: "landlock",
      // Creating and removing need the right on the directory; everything else on the path.
      grant: { key, value: a.at },
      line: `${a.op} ${a.path} → ${key}`,
    }));
  };

  return {
    evaluate(access) {
      switch (access.kind) {
        case "path":
          if (access.op === "lookup") return lookupDenials(access);
          return access.op === "exec"
            ? [...pathDenials(access), ...execDenials(access)]
            : pathDenials(access);
        case "udp":
          return netns
            ? [{
              access,
              mechanism: "namespaces",
              grant: { key: "network.protocols", value: "udp" },
              line: `${access.op} udp ${access.port} → network.protocols`,
            }]
            : [];
        case "tcp": {
          const right = access.op === "connect" ? "connect_tcp" : "bind_tcp";
          if (!netns && !landlock?.handledNet.includes(right)) return [];
          if (
            !netns && landlock?.net.some((n) => n.port === access.port && n.access.includes(right))
          ) {
            return [];
          }
          const key = `network.${right}` as const;
          return [{
            access,
            mechanism: netns ? "namespaces" : "landlock",
            grant: { key, value: access.port },
            line: `${access.op} tcp ${access.port} → ${key}`,
          }];
        }
        case "syscall": {
          if (!runPlan || access.arch !== arch) return [];
          const data = { nr: access.nr, arch: auditArch(arch), args: access.args };
          if (!denies(runPlan(data).ret)) return [];
          let grant: Grant;
          if (denies(runBaseline(data).ret)) {
            grant = { key: "syscalls.unsafe_allow", value: access.name };
          } else if (access.name === "socket" || access.name === "socketpair") {
            grant = { key: "network.protocols", value: protocolOf(access.args) };
          } else if (METADATA_SYSCALLS.includes(access.name)) {
            grant = { key: "filesystem.write" };
          } else {
            grant = { key: "syscalls.allow", value: access.name };
          }
          const what = grant.key === "network.protocols" ? `socket ${grant.value}` : access.name;
          const key = grant.key === "syscalls.allow" ? "syscalls" : grant.key;
          return [{ access, mechanism: "seccomp", grant, line: `${what} → ${key}` }];
        }
        default:
          return [];
      }
    },
  };
}
