/**
 * The recording filter of `charter learn`: the policy's own seccomp program with every
 * denial turned into a user notification, behind a prefix that also notifies the calls
 * whose path or address the recorder reads (open, exec, connect, …). The shim's supervisor
 * answers each notification after recording it: CONTINUE, unless the baseline program
 * denies the call, which then fails as it would under any policy (learn mode never runs
 * what only `syscalls.unsafe_allow` can let run).
 *
 * @module
 */
import { fromBase64, sha256Hex, toBase64 } from "../crypto/digest.ts";
import type { LearnSection, LinuxLaunchPlan, Primitive } from "./plan.ts";
import { SECCOMP_DATA_ARCH, SECCOMP_DATA_ARGS, SECCOMP_DATA_NR } from "./seccomp/arch.ts";
import {
  BPF_ABS,
  BPF_JA,
  BPF_JEQ,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_MAXINSNS,
  BPF_RET,
  BPF_W,
} from "./seccomp/bpf.ts";
import {
  applyBaseline,
  auditArch,
  compileSeccomp,
  decodeProgram,
  encodeProgram,
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_LOG,
  SECCOMP_RET_USER_NOTIF,
  type SeccompArch,
  SeccompProgramTooLargeError,
  type SockFilter,
  syscallNumber,
} from "./seccomp/mod.ts";

/** Where a watched syscall keeps a path: the path argument and its dirfd argument. */
export type PathArg = readonly [path: number, dirfd: number | null];

/** What the recorder reads for one watched syscall. */
export interface WatchedSyscall {
  /** The syscall name. */
  name: string;
  /** Path arguments, resolved against their dirfd (or the caller's cwd). */
  paths: readonly PathArg[];
  /** A `struct sockaddr` argument and its length argument (connect, bind). */
  sockaddr?: readonly [addr: number, len: number];
}

/**
 * The syscalls whose path or address decide a Landlock right, with where their paths
 * live; and the lookups (stat, access, readlink, chdir), which Landlock does not check but
 * a listed view answers with ENOENT for a path it does not show.
 */
export const WATCHED_SYSCALLS: readonly WatchedSyscall[] = [
  { name: "open", paths: [[0, null]] },
  { name: "creat", paths: [[0, null]] },
  { name: "openat", paths: [[1, 0]] },
  { name: "openat2", paths: [[1, 0]] },
  { name: "execve", paths: [[0, null]] },
  { name: "execveat", paths: [[1, 0]] },
  { name: "truncate", paths: [[0, null]] },
  { name: "mkdir", paths: [[0, null]] },
  { name: "mkdirat", paths: [[1, 0]] },
  { name: "mknod", paths: [[0, null]] },
  { name: "mknodat", paths: [[1, 0]] },
  { name: "rmdir", paths: [[0, null]] },
  { name: "unlink", paths: [[0, null]] },
  { name: "unlinkat", paths: [[1, 0]] },
  { name: "rename", paths: [[0, null], [1, null]] },
  { name: "renameat", paths: [[1, 0], [3, 2]] },
  { name: "renameat2", paths: [[1, 0], [3, 2]] },
  { name: "link", paths: [[0, null], [1, null]] },
  { name: "linkat", paths: [[1, 0], [3, 2]] },
  { name: "symlink", paths: [[1, null]] },
  { name: "symlinkat", paths: [[2, 1]] },
  { name: "stat", paths: [[0, null]] },
  { name: "lstat", paths: [[0, null]] },
  { name: "newfstatat", paths: [[1, 0]] },
  { name: "statx", paths: [[1, 0]] },
  { name: "access", paths: [[0, null]] },
  { name: "faccessat", paths: [[1, 0]] },
  { name: "faccessat2", paths: [[1, 0]] },
  { name: "readlink", paths: [[0, null]] },
  { name: "readlinkat", paths: [[1, 0]] },
  { name: "chdir", paths: [[0, null]] },
  { name: "connect", paths: [], sockaddr: [1, 2] },
  { name: "bind", paths: [], sockaddr: [1, 2] },
  { name: "kill", paths: [] },
  { name: "tkill", paths: [] },
  { name: "tgkill", paths: [] },
];

/**
 * The fd number the shim's child sends the listener from (the shim places its end of the
 * socketpair there; it refuses when the launcher already uses the number). High, so it
 * never meets a number a program passes in `fds.pass`; below the usual 1024 fd limit.
 */
export const LEARN_SOCKET_FD = 1000;

function isDenial(ret: number): boolean {
  const action = (ret & SECCOMP_RET_ACTION_FULL) >>> 0;
  return action !== SECCOMP_RET_ALLOW && action !== SECCOMP_RET_LOG;
}

/**
 * Turns a compiled program into the recording one: every `ret` that denies (errno, kill,
 * trap) notifies instead; a prefix notifies the watched syscall numbers. Prepending keeps
 * the program's relative jumps valid.
 */
function recordingProgram(
  program: readonly SockFilter[],
  arch: SeccompArch,
  nrs: number[],
  sendmsg: number,
) {
  const RET = BPF_RET | BPF_K;
  const body = program.map((i) =>
    i.code === RET && isDenial(i.k) ? { ...i, k: SECCOMP_RET_USER_NOTIF } : i
  );
  // ld arch; jne → body; ld nr; sendmsg on the learn socket → allow; ld nr;
  // jeq nr_i → notify …; ja body; notify: ret USER_NOTIF; body
  const n = nrs.length;
  const LD = BPF_LD | BPF_W | BPF_ABS;
  const JEQ = BPF_JMP | BPF_JEQ | BPF_K;
  const prefix: SockFilter[] = [
    { code: LD, jt: 0, jf: 0, k: SECCOMP_DATA_ARCH },
    { code: JEQ, jt: 0, jf: n + 8, k: auditArch(arch) },
    { code: LD, jt: 0, jf: 0, k: SECCOMP_DATA_NR },
    // The child sends the listener with sendmsg after installing this filter: no
    // supervisor exists yet to answer a notification. Only that fd number passes.
    { code: JEQ, jt: 0, jf: 3, k: sendmsg },
    { code: LD, jt: 0, jf: 0, k: SECCOMP_DATA_ARGS },
    { code: JEQ, jt: 0, jf: 1, k: LEARN_SOCKET_FD },
    { code: RET, jt: 0, jf: 0, k: SECCOMP_RET_ALLOW },
    { code: LD, jt: 0, jf: 0, k: SECCOMP_DATA_NR },
    ...nrs.map((nr, i) => ({ code: JEQ, jt: n - i, jf: 0, k: nr })),
    { code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: 1 },
    { code: RET, jt: 0, jf: 0, k: SECCOMP_RET_USER_NOTIF },
  ];
  return [...prefix, ...body];
}

/** The recording filter and the `learn` section of a plan. */
export interface LearnParts {
  /** The recording filter (`struct sock_filter[]` bytes). */
  notify: Uint8Array;
  /** The plan's `learn` section. */
  section: LearnSection;
}

/**
 * Builds the recording filter and the `learn` section for a plan whose seccomp program is
 * `bpf` (the plan's own, baseline and network rules included).
 *
 * @example
 * ```ts
 * import { compileSeccomp, encodeProgram } from "./seccomp/mod.ts";
 * import { learnParts } from "./learn_filter.ts";
 * const bpf = encodeProgram(compileSeccomp({ default: "allow" }, "x86_64").program);
 * console.log(learnParts(bpf, "x86_64", []).section.watch.length > 10); // true
 * ```
 */
export function learnParts(
  bpf: Uint8Array,
  arch: SeccompArch,
  unsafeAllow: readonly string[],
): LearnParts {
  const watch = WATCHED_SYSCALLS.flatMap((w) => {
    const nr = syscallNumber(arch, w.name);
    if (nr === undefined) return [];
    return [{
      nr,
      paths: w.paths.map(([path, dirfd]) => [path, dirfd ?? -1]),
      ...(w.sockaddr ? { sockaddr: [...w.sockaddr] } : {}),
    }];
  });
  const notify = recordingProgram(
    decodeProgram(bpf),
    arch,
    watch.map((w) => w.nr),
    syscallNumber(arch, "sendmsg")!,
  );
  if (notify.length > BPF_MAXINSNS) {
    throw new SeccompProgramTooLargeError(notify.length, BPF_MAXINSNS);
  }
  const baseline = applyBaseline({ default: "allow" }, arch, { unsafeAllow });
  const baselineProgram = compileSeccomp(baseline.policy, arch, baseline.options).program;
  return {
    notify: encodeProgram(notify),
    section: {
      baselineBpfB64: toBase64(encodeProgram(baselineProgram)),
      watch,
      socketFd: LEARN_SOCKET_FD,
    },
  };
}

/**
 * The plan `charter learn` runs: the policy's plan with its identity, namespaces and
 * scrub unchanged, and Landlock and the seccomp filter replaced by the recording filter
 * (`linux.confine.learn.v1`): the run records what the policy would deny instead of
 * denying it. A `listed` view is left out, so that the run sees the host's tree: under it
 * a path the policy does not list is missing (ENOENT) and the program would stop at the
 * first one, one grant per run; a `host` view (its `hide` entries) stays. What was
 * recorded is judged against the real plan, view and its in-view rules included.
 *
 * @example
 * ```ts ignore
 * import { learnPlan } from "./learn_filter.ts";
 * const learning = await learnPlan(statement.predicate, policy.syscalls?.unsafe_allow ?? []);
 * console.log(learning.schedule.some((p) => p.id === "linux.confine.learn.v1")); // true
 * ```
 */
export async function learnPlan(
  plan: LinuxLaunchPlan,
  unsafeAllow: readonly string[],
): Promise<LinuxLaunchPlan> {
  if (!plan.seccomp) throw new TypeError("A plan without a seccomp section cannot learn");
  const parts = learnParts(fromBase64(plan.seccomp.bpfB64), plan.arch, unsafeAllow);
  const { landlock: _, view, ...rest } = plan;
  const listed = view?.mode === "listed";
  const schedule: Primitive[] = plan.schedule
    .filter((p) => p.id !== "linux.confine.landlock.v1")
    .filter((p) => !(listed && p.id === "linux.visibility.view.v1"))
    .map((p) =>
      p.id === "linux.confine.seccomp.v1" ? { id: "linux.confine.learn.v1", phase: 4 } : p
    );
  return {
    ...rest,
    ...(view && !listed ? { view } : {}),
    schedule,
    seccomp: {
      enforce: "required",
      bpfB64: toBase64(parts.notify),
      sha256: await sha256Hex(parts.notify),
      instructions: parts.notify.length / 8,
      flags: [],
    },
    learn: parts.section,
  };
}
