/**
 * Changing files' metadata. Landlock (up to ABI 7) checks none of chmod, chown, utimes or
 * the xattr calls, so a child that runs as the launcher's own uid (an unprivileged
 * launcher's child does) could make that uid's 0600 files world-readable, or retime and
 * relabel them, anywhere it can name them. Until the listed filesystem view turns what the
 * child sees into read-only mounts, a policy that grants nothing writable but `/dev/null`
 * gets these calls denied: it has no file of its own to change them on.
 *
 * @module
 */
import type { SeccompRule } from "./resolve_policy.ts";

/** The calls that change a file's mode, owner, times or extended attributes. */
export const METADATA_SYSCALLS: readonly string[] = [
  "chmod",
  "fchmod",
  "fchmodat",
  "fchmodat2",
  "chown",
  "fchown",
  "lchown",
  "fchownat",
  "utime",
  "utimes",
  "futimesat",
  "utimensat",
  "setxattr",
  "lsetxattr",
  "fsetxattr",
  "setxattrat",
  "removexattr",
  "lremovexattr",
  "fremovexattr",
  "removexattrat",
];

/** Paths whose write grant gives the child no file of its own. */
const DISCARD_ONLY = new Set(["/dev/null"]);

/**
 * Deny-only rules (EPERM) for {@link METADATA_SYSCALLS} when Landlock confines the
 * filesystem and `write` grants nothing but `/dev/null`; none otherwise (a child with a
 * write grant may chmod its own output; outside it, the gap stays until the listed view).
 *
 * @example
 * ```ts
 * import { metadataRules } from "./metadata_rules.ts";
 * console.log(metadataRules(true, ["/dev/null"]).length > 0); // true
 * console.log(metadataRules(true, ["/tmp/out"]).length); // 0
 * ```
 */
export function metadataRules(
  landlockFs: boolean,
  write: readonly string[] | undefined,
): SeccompRule[] {
  if (!landlockFs || (write ?? []).some((path) => !DISCARD_ONLY.has(path))) return [];
  return METADATA_SYSCALLS.map((syscall) => ({ syscall, action: { errno: "EPERM" } }));
}
