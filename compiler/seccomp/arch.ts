/**
 * The architectures the seccomp compiler targets: their audit arch values, syscall tables
 * and the layout of `struct seccomp_data`.
 *
 * @module
 */
import { SYSCALLS_AARCH64 } from "./syscall_table_aarch64.ts";
import { SYSCALLS_X86_64 } from "./syscall_table_x86_64.ts";

/** An architecture seccomp filters can be compiled for. */
export type SeccompArch = "x86_64" | "aarch64";

/** Every supported architecture. */
export const SECCOMP_ARCHES: readonly SeccompArch[] = ["x86_64", "aarch64"];

/** `AUDIT_ARCH_X86_64` (EM_X86_64 | 64-bit | little-endian). */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
/** `AUDIT_ARCH_AARCH64` (EM_AARCH64 | 64-bit | little-endian). */
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;

/** The x32 ABI marks its syscall numbers with this bit (`__X32_SYSCALL_BIT`). */
export const X32_SYSCALL_BIT = 0x40000000;

/** Offset of `nr` (int) in `struct seccomp_data`. */
export const SECCOMP_DATA_NR = 0;
/** Offset of `arch` (u32) in `struct seccomp_data`. */
export const SECCOMP_DATA_ARCH = 4;
/** Offset of `instruction_pointer` (u64) in `struct seccomp_data`. */
export const SECCOMP_DATA_IP = 8;
/** Offset of `args[0]` (u64; `args[i]` is at 16 + 8·i) in `struct seccomp_data`. */
export const SECCOMP_DATA_ARGS = 16;
/** `sizeof(struct seccomp_data)`. */
export const SECCOMP_DATA_SIZE = 64;

/**
 * Offset of the low (`hi = false`) or high 32-bit word of syscall argument `index` in
 * `struct seccomp_data` on a little-endian machine.
 *
 * @example
 * ```ts
 * import { argOffset } from "./arch.ts";
 * console.log(argOffset(1, true)); // 28
 * ```
 */
export function argOffset(index: number, hi: boolean): number {
  return SECCOMP_DATA_ARGS + 8 * index + (hi ? 4 : 0);
}

/**
 * The `AUDIT_ARCH_*` value the kernel puts in `seccomp_data.arch` for an architecture.
 *
 * @example
 * ```ts
 * import { auditArch } from "./arch.ts";
 * console.log(auditArch("aarch64").toString(16)); // "c00000b7"
 * ```
 */
export function auditArch(arch: SeccompArch): number {
  return arch === "x86_64" ? AUDIT_ARCH_X86_64 : AUDIT_ARCH_AARCH64;
}

/**
 * The architecture whose `AUDIT_ARCH_*` value this is, if it is a supported one.
 *
 * @example
 * ```ts
 * import { archOfAuditArch } from "./arch.ts";
 * console.log(archOfAuditArch(0xc000003e)); // "x86_64"
 * ```
 */
export function archOfAuditArch(value: number): SeccompArch | undefined {
  if (value >>> 0 === AUDIT_ARCH_X86_64) return "x86_64";
  if (value >>> 0 === AUDIT_ARCH_AARCH64) return "aarch64";
  return undefined;
}

/**
 * The syscall table (name → number) of an architecture, Linux v6.18.
 *
 * @example
 * ```ts
 * import { syscallTable } from "./arch.ts";
 * console.log(syscallTable("aarch64").get("openat")); // 56
 * ```
 */
export function syscallTable(arch: SeccompArch): ReadonlyMap<string, number> {
  return TABLES[arch].byName;
}

/**
 * The number of a syscall on an architecture, or undefined if the architecture has no such
 * syscall.
 *
 * @example
 * ```ts
 * import { syscallNumber } from "./arch.ts";
 * console.log(syscallNumber("x86_64", "socket"), syscallNumber("aarch64", "open")); // 41 undefined
 * ```
 */
export function syscallNumber(arch: SeccompArch, name: string): number | undefined {
  return TABLES[arch].byName.get(name);
}

/**
 * The name of a syscall number on an architecture, or undefined for a number with no
 * syscall.
 *
 * @example
 * ```ts
 * import { syscallName } from "./arch.ts";
 * console.log(syscallName("aarch64", 198)); // "socket"
 * ```
 */
export function syscallName(arch: SeccompArch, nr: number): string | undefined {
  return TABLES[arch].byNumber.get(nr);
}

/**
 * The highest syscall number in an architecture's table.
 *
 * @example
 * ```ts
 * import { maxSyscallNumber } from "./arch.ts";
 * console.log(maxSyscallNumber("x86_64")); // 469
 * ```
 */
export function maxSyscallNumber(arch: SeccompArch): number {
  return TABLES[arch].max;
}

/**
 * Every syscall name known on any supported architecture.
 *
 * @example
 * ```ts
 * import { allSyscallNames } from "./arch.ts";
 * console.log(allSyscallNames().has("open")); // true
 * ```
 */
export function allSyscallNames(): ReadonlySet<string> {
  return ALL_NAMES;
}

interface Table {
  byName: ReadonlyMap<string, number>;
  byNumber: ReadonlyMap<number, string>;
  max: number;
}

function table(record: Readonly<Record<string, number>>): Table {
  const byName = new Map(Object.entries(record));
  return {
    byName,
    byNumber: new Map([...byName].map(([name, nr]) => [nr, name])),
    max: Math.max(...byName.values()),
  };
}

const TABLES: Record<SeccompArch, Table> = {
  x86_64: table(SYSCALLS_X86_64),
  aarch64: table(SYSCALLS_AARCH64),
};

const ALL_NAMES: ReadonlySet<string> = new Set([
  ...TABLES.x86_64.byName.keys(),
  ...TABLES.aarch64.byName.keys(),
]);
