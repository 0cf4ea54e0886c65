/**
 * The baseline: syscalls and arguments that no policy's `allow` re-enables (DESIGN §3,
 * "The baseline stays"). It is at least moby's default profile for a container without
 * capabilities, compared name by name in docs/baseline-vs-docker.md.
 *
 * @module
 */
import type { SeccompRule } from "./resolve_policy.ts";

/** Syscalls a policy cannot let run, and deny-only argument rules checked before its own. */
export interface SeccompBaseline {
  /** Syscall and `@group` names that are denied (with the policy's deny action). */
  deny: readonly string[];
  /** Argument rules that only deny; a syscall's own rules and action apply after them. */
  rules: readonly SeccompRule[];
}

/** Every `CLONE_NEW*` flag clone can see (CLONE_NEWTIME shares its bit with CSIGNAL). */
const CLONE_NAMESPACE_FLAGS = [
  "CLONE_NEWNS",
  "CLONE_NEWCGROUP",
  "CLONE_NEWUTS",
  "CLONE_NEWIPC",
  "CLONE_NEWUSER",
  "CLONE_NEWPID",
  "CLONE_NEWNET",
];

/**
 * The personas moby's default profile allows: PER_LINUX, PER_LINUX32, UNAME26,
 * PER_LINUX32|UNAME26 and the query 0xffffffff. ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC and
 * MMAP_PAGE_ZERO weaken exploit mitigations of the exec that follows.
 */
const ALLOWED_PERSONAS = [
  "PER_LINUX",
  "PER_LINUX32",
  "UNAME26",
  "PER_LINUX32|UNAME26",
  "PER_QUERY",
];

const EPERM = { errno: "EPERM" } as const;

/** S_ISUID and S_ISGID, each tested as one bit (a masked compare per bit is one jump). */
const SET_ID_BITS = [0o4000, 0o2000];

/** __O_TMPFILE, the bit of O_TMPFILE that is the same on both architectures. */
const O_TMPFILE_BIT = 0o20000000;

/** The mode argument of each syscall that sets a mode outright. */
const MODE_ARG: Record<string, number> = {
  chmod: 1,
  fchmod: 1,
  fchmodat: 2,
  fchmodat2: 2,
  creat: 1,
  mknod: 1,
  mknodat: 2,
};

/** The flags and mode arguments of the open calls, whose mode counts with O_CREAT or O_TMPFILE. */
const OPEN_ARGS: Record<string, [number, number]> = { open: [1, 2], openat: [2, 3] };

/**
 * A mode with S_ISUID or S_ISGID. A root launcher's child is host uid 65534: a setuid file it
 * leaves behind lets any local user run code as 65534, against other launches' children.
 */
const SET_ID_MODE_RULES: SeccompRule[] = [
  ...Object.entries(MODE_ARG).flatMap(([syscall, arg]) =>
    SET_ID_BITS.map((bit): SeccompRule => ({
      syscall,
      args: [{ arg, op: "masked_eq", mask: bit, value: bit }],
      action: EPERM,
    }))
  ),
  ...Object.entries(OPEN_ARGS).flatMap(([syscall, [flags, mode]]) =>
    ["O_CREAT", O_TMPFILE_BIT].flatMap((create) =>
      SET_ID_BITS.map((bit): SeccompRule => ({
        syscall,
        args: [
          { arg: flags, op: "masked_eq", mask: create, value: create },
          { arg: mode, op: "masked_eq", mask: bit, value: bit },
        ],
        action: EPERM,
      }))
    )
  ),
  // Its mode is in a struct the filter cannot read; ENOSYS makes programs fall back to openat.
  { syscall: "openat2", action: { errno: "ENOSYS" } },
];

/**
 * Limits and priorities of other processes: without a pid namespace the launcher is one of
 * them (RLIMIT_CPU of 1s kills it), and PRIO_USER renices every process of the child's uid.
 * glibc's get/setrlimit pass pid 0 and nice() PRIO_PROCESS 0, which stay allowed.
 */
const OTHER_PROCESS_RULES: SeccompRule[] = [
  { syscall: "prlimit64", args: [{ arg: 0, op: "ne", value: 0 }], action: EPERM },
  { syscall: "setpriority", args: [{ arg: 0, op: "ne", value: 0 }], action: EPERM },
  { syscall: "setpriority", args: [{ arg: 1, op: "ne", value: 0 }], action: EPERM },
  // IOPRIO_WHO_PROCESS is 1.
  { syscall: "ioprio_set", args: [{ arg: 0, op: "ne", value: 1 }], action: EPERM },
  { syscall: "ioprio_set", args: [{ arg: 1, op: "ne", value: 0 }], action: EPERM },
];

/**
 * The baseline. Denied by name: systemd's `@mount`, `@module`, `@reboot`, `@swap`,
 * `@raw-io`, `@obsolete`, `@debug` (ptrace, perf_event_open, pidfd_getfd, ...),
 * `@cpu-emulation` and `@keyring`; namespace entry (`unshare`, `setns`); io_uring (its
 * IORING_OP_SOCKET and file operations bypass argument rules); reading and writing other
 * processes (`process_vm_*`, `process_madvise`, `kcmp`); bpf, userfaultfd, kexec,
 * `open_by_handle_at` (opens files by handle, past path-based rules), the clock, hostname,
 * NUMA and fanotify setters, the LSM attribute calls, and the remaining syscalls moby denies
 * a container without capabilities. Restricted by argument: clone with a `CLONE_NEW*` flag,
 * personality beyond moby's five personas, and the TIOCSTI/TIOCLINUX ioctls that push input
 * into a terminal (CVE-2017-5226), a mode with S_ISUID or S_ISGID (chmod, creating opens,
 * mknod; openat2, whose mode a filter cannot read, fails with ENOSYS), and prlimit64,
 * setpriority and ioprio_set on any process but the caller. clone3 fails with ENOSYS (the compiler's default), so
 * libc falls back to clone, whose flags these rules see.
 *
 * @example
 * ```ts
 * import { BASELINE } from "./baseline.ts";
 * console.log(BASELINE.deny.includes("@keyring")); // true
 * ```
 */
export const BASELINE: SeccompBaseline = {
  deny: [
    "@mount",
    "open_tree_attr",
    "@module",
    "@reboot",
    "@swap",
    "@raw-io",
    "@obsolete",
    "@debug",
    "@cpu-emulation",
    "@keyring",
    "unshare",
    "setns",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "process_vm_readv",
    "process_vm_writev",
    "process_madvise",
    "kcmp",
    "bpf",
    "userfaultfd",
    "perf_event_open",
    "open_by_handle_at",
    "acct",
    "quotactl",
    "quotactl_fd",
    "nfsservctl",
    "syslog",
    "vhangup",
    "settimeofday",
    "clock_settime",
    "sethostname",
    "setdomainname",
    "fanotify_init",
    "get_mempolicy",
    "set_mempolicy",
    "set_mempolicy_home_node",
    "mbind",
    "migrate_pages",
    "move_pages",
    "lsm_get_self_attr",
    "lsm_set_self_attr",
    "lsm_list_modules",
    "file_getattr",
    "file_setattr",
    "uprobe",
  ],
  rules: [
    ...CLONE_NAMESPACE_FLAGS.map((flag): SeccompRule => ({
      syscall: "clone",
      args: [{ arg: 0, op: "masked_eq", mask: flag, value: flag }],
      action: EPERM,
    })),
    {
      syscall: "personality",
      args: ALLOWED_PERSONAS.map((value) => ({ arg: 0, op: "ne" as const, value })),
      action: EPERM,
    },
    { syscall: "ioctl", args: [{ arg: 1, op: "eq", value: "TIOCSTI" }], action: EPERM },
    { syscall: "ioctl", args: [{ arg: 1, op: "eq", value: "TIOCLINUX" }], action: EPERM },
    ...SET_ID_MODE_RULES,
    ...OTHER_PROCESS_RULES,
  ],
};
