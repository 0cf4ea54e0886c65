/**
 * Built-in seccomp policies: the baseline that applies when a policy says nothing about
 * syscalls, and rules that stop the sandboxed program from creating namespaces.
 *
 * @module
 */
import type { SeccompPolicy, SeccompRule } from "./resolve_policy.ts";

/**
 * The baseline filter: everything is allowed except kernel-administration and
 * attack-surface syscalls, which fail with EPERM; clone3 fails with ENOSYS (the compiler's
 * default) so libc falls back to clone. Denied: systemd's `@mount`, `@module`, `@reboot`,
 * `@swap`, `@raw-io`, `@obsolete`, `@debug` (ptrace, perf_event_open, pidfd_getfd, ...),
 * `@cpu-emulation` and `@keyring`, plus bpf, userfaultfd, kexec_load, kexec_file_load,
 * open_by_handle_at (reads files by handle, past any path-based restriction), acct,
 * quotactl, quotactl_fd, nfsservctl, syslog, and the `uselib`/`vhangup` leftovers.
 *
 * @example
 * ```ts
 * import { BASELINE_DENY } from "./baseline.ts";
 * import { compileSeccomp } from "./compile_seccomp.ts";
 * console.log(compileSeccomp(BASELINE_DENY, "x86_64").instructionCount < 100); // true
 * ```
 */
export const BASELINE_DENY: SeccompPolicy = {
  default: "allow",
  deny: [
    "@mount",
    "@module",
    "@reboot",
    "@swap",
    "@raw-io",
    "@obsolete",
    "@debug",
    "@cpu-emulation",
    "@keyring",
    "bpf",
    "userfaultfd",
    "perf_event_open",
    "kexec_load",
    "kexec_file_load",
    "open_by_handle_at",
    "acct",
    "quotactl",
    "quotactl_fd",
    "nfsservctl",
    "syslog",
    "uselib",
    "vhangup",
  ],
  deny_action: { errno: "EPERM" },
};

/** Every `CLONE_NEW*` flag. */
const NAMESPACE_FLAGS = [
  "CLONE_NEWNS",
  "CLONE_NEWCGROUP",
  "CLONE_NEWUTS",
  "CLONE_NEWIPC",
  "CLONE_NEWUSER",
  "CLONE_NEWPID",
  "CLONE_NEWNET",
  "CLONE_NEWTIME",
];

/**
 * Rules that fail namespace creation with EPERM: `unshare` and `clone` with any
 * `CLONE_NEW*` flag, and `setns`. Pair them with the compiler's default `clone3: "enosys"`,
 * since clone3's flags are out of a filter's reach. (CLONE_NEWTIME shares its bit with the
 * exit signal in clone's flags, so clone is checked for the other seven.)
 *
 * @example
 * ```ts
 * import { BASELINE_DENY, NAMESPACE_CREATION_RULES } from "./baseline.ts";
 * import { compileSeccomp } from "./compile_seccomp.ts";
 * const filter = compileSeccomp({ ...BASELINE_DENY, rules: NAMESPACE_CREATION_RULES }, "aarch64");
 * console.log(filter.syscalls.find((s) => s.name === "clone")?.rules.length); // 7
 * ```
 */
export const NAMESPACE_CREATION_RULES: SeccompRule[] = [
  ...NAMESPACE_FLAGS.filter((f) => f !== "CLONE_NEWTIME").map((flag): SeccompRule => ({
    syscall: "clone",
    args: [{ arg: 0, op: "masked_eq", mask: flag, value: flag }],
    action: { errno: "EPERM" },
  })),
  ...NAMESPACE_FLAGS.map((flag): SeccompRule => ({
    syscall: "unshare",
    args: [{ arg: 0, op: "masked_eq", mask: flag, value: flag }],
    action: { errno: "EPERM" },
  })),
  { syscall: "setns", action: { errno: "EPERM" } },
];
