/**
 * systemd's `@group` syscall sets, and resolving lists of syscall and group names to the
 * syscalls one architecture has. Groups list names of every architecture (`mmap2`,
 * `s390_pci_mmio_read`, ...); names an architecture lacks are dropped, and the resolution
 * says which, so nothing is lost silently.
 *
 * @module
 */
import { closest } from "../../policy/suggest.ts";
import { allSyscallNames, type SeccompArch, syscallNumber } from "./arch.ts";
import { SeccompCompileError } from "./errors.ts";
import { SYSTEMD_SYSCALL_GROUPS } from "./syscall_groups_table.ts";

/** Syscall and group names resolved for one architecture. */
export interface NameResolution {
  /** The syscalls the architecture has, each once, in first-mention order. */
  syscalls: string[];
  /** Known syscall names the architecture does not have, each once, sorted. */
  absent: string[];
}

/**
 * Every group name (`@default`, `@system-service`, ...).
 *
 * @example
 * ```ts
 * import { groupNames } from "./groups.ts";
 * console.log(groupNames().includes("@mount")); // true
 * ```
 */
export function groupNames(): string[] {
  return Object.keys(SYSTEMD_SYSCALL_GROUPS);
}

/**
 * The syscall names of a group with nested groups expanded (names of every architecture),
 * each once, in order.
 *
 * @example
 * ```ts
 * import { expandGroup } from "./groups.ts";
 * console.log(expandGroup("@default").includes("landlock_add_rule")); // true (via @sandbox)
 * ```
 */
export function expandGroup(group: string, path = "group"): string[] {
  const out = new Set<string>();
  const visit = (name: string, stack: string[]) => {
    if (stack.includes(name)) {
      throw new SeccompCompileError(`Group ${name} includes itself via ${stack.join(" → ")}`, {
        path,
      });
    }
    const members = groupMembers(name, path);
    for (const member of members) {
      if (member.startsWith("@")) visit(member, [...stack, name]);
      else out.add(member);
    }
  };
  visit(group, []);
  return [...out];
}

/**
 * Whether a name is a syscall of some supported architecture or a member of some group.
 *
 * @example
 * ```ts
 * import { isKnownSyscallName } from "./groups.ts";
 * console.log(isKnownSyscallName("mmap2"), isKnownSyscallName("mmap3")); // true false
 * ```
 */
export function isKnownSyscallName(name: string): boolean {
  return KNOWN_NAMES.has(name);
}

/**
 * Resolves syscall and `@group` names for an architecture: groups expand (nested ones too),
 * names the architecture lacks go to `absent`, unknown names are errors with a
 * did-you-mean hint. `path` prefixes the error path (`allow` gives `allow[3]`).
 *
 * @example
 * ```ts
 * import { resolveSyscallNames } from "./groups.ts";
 * const r = resolveSyscallNames(["@swap", "open", "read"], "aarch64");
 * console.log(r.syscalls, r.absent); // ["swapoff", "swapon", "read"] ["open"]
 * ```
 */
export function resolveSyscallNames(
  names: readonly string[],
  arch: SeccompArch,
  path = "names",
): NameResolution {
  const syscalls = new Set<string>();
  const absent = new Set<string>();
  names.forEach((name, i) => {
    const at = `${path}[${i}]`;
    const members = typeof name === "string" && name.startsWith("@")
      ? expandGroup(name, at)
      : [checkSyscallName(name, at)];
    for (const member of members) {
      if (syscallNumber(arch, member) === undefined) absent.add(member);
      else syscalls.add(member);
    }
  });
  return { syscalls: [...syscalls], absent: [...absent].sort() };
}

function groupMembers(group: string, path: string): readonly string[] {
  if (Object.hasOwn(SYSTEMD_SYSCALL_GROUPS, group)) return SYSTEMD_SYSCALL_GROUPS[group];
  const hint = closest(group, groupNames());
  throw new SeccompCompileError(`Unknown syscall group "${group}"`, {
    path,
    hint: hint ? `did you mean "${hint}"?` : `groups are ${groupNames().join(", ")}`,
  });
}

/**
 * Returns the name if it is a known syscall name (of any architecture); otherwise throws a
 * {@link SeccompCompileError} with a did-you-mean hint.
 *
 * @example
 * ```ts
 * import { checkSyscallName } from "./groups.ts";
 * console.log(checkSyscallName("open", "rules[0].syscall")); // "open"
 * ```
 */
export function checkSyscallName(name: string, path: string): string {
  if (typeof name !== "string" || name === "") {
    throw new SeccompCompileError(`Syscall name ${JSON.stringify(name)} is not a name`, { path });
  }
  if (KNOWN_NAMES.has(name)) return name;
  const hint = closest(name, [...KNOWN_NAMES, ...groupNames()]);
  throw new SeccompCompileError(`Unknown syscall "${name}"`, {
    path,
    hint: hint ? `did you mean "${hint}"?` : undefined,
  });
}

/**
 * Every syscall name charter knows: of some supported architecture or some group, sorted.
 *
 * @example
 * ```ts
 * import { knownSyscallNames } from "./groups.ts";
 * console.log(knownSyscallNames().includes("openat")); // true
 * ```
 */
export function knownSyscallNames(): string[] {
  return [...KNOWN_NAMES].sort();
}

const KNOWN_NAMES: ReadonlySet<string> = new Set([
  ...allSyscallNames(),
  ...Object.values(SYSTEMD_SYSCALL_GROUPS).flat().filter((m) => !m.startsWith("@")),
]);
