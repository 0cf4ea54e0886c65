/**
 * Whether a seccomp `denied` record names a call the plan's program fails with the errno the
 * record states: the shim answers each notified call with what the signed program returns,
 * so a record of a call the program allows (or fails with another errno) was not written by
 * it.
 *
 * @module
 */
import type { LinuxLaunchPlan } from "../compiler/plan.ts";
import { decodeProgram } from "../compiler/seccomp/bpf.ts";
import { SECCOMP_RET_ACTION_FULL, SECCOMP_RET_ERRNO } from "../compiler/seccomp/actions.ts";
import { AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64 } from "../compiler/seccomp/arch.ts";
import { pathsWithin } from "../compiler/seccomp/filter_paths.ts";
import { fromBase64 } from "../crypto/digest.ts";

/** The `AUDIT_ARCH_*` values the shim names (`seccomp_notify::arch_name`); others are hex. */
const ARCH_VALUES: ReadonlyMap<string, number> = new Map([
  ["x86_64", AUDIT_ARCH_X86_64],
  ["aarch64", AUDIT_ARCH_AARCH64],
  ["i386", 0x40000003],
  ["arm", 0x40000028],
]);

/** The most errno the kernel returns for `SECCOMP_RET_ERRNO` (it caps the data here). */
const MAX_ERRNO = 4095;

/** Each plan's decoded program: a stream of launches of one plan decodes it once. */
const PROGRAMS = new WeakMap<object, ReturnType<typeof decodeProgram>>();

function programOf(seccomp: NonNullable<LinuxLaunchPlan["seccomp"]>) {
  let program = PROGRAMS.get(seccomp);
  if (!program) {
    program = decodeProgram(fromBase64(seccomp.bpfB64));
    PROGRAMS.set(seccomp, program);
  }
  return program;
}

function archValue(name: string): number | undefined {
  const known = ARCH_VALUES.get(name);
  if (known !== undefined) return known;
  return /^0x[0-9a-f]{1,8}$/.test(name) ? Number.parseInt(name, 16) : undefined;
}

/**
 * What is wrong with a seccomp `denied` record that itemises a call (`arch`, `nr`,
 * `errno`), given the plan; undefined when the program fails that call with that errno
 * for some arguments (or the record only counts, without `nr`).
 *
 * @example
 * ```ts ignore
 * import { seccompDeniedProblem } from "./seccomp_denied.ts";
 * seccompDeniedProblem({ arch: "x86_64", nr: 2, errno: 1 }, plan);
 * // "the seccomp program does not fail syscall 2 (x86_64) with errno 1"
 * ```
 */
export function seccompDeniedProblem(
  record: Record<string, unknown>,
  plan: LinuxLaunchPlan,
): string | undefined {
  if (record.nr === undefined && record.arch === undefined && record.errno === undefined) {
    return undefined;
  }
  const { arch, nr, errno } = record;
  const value = typeof arch === "string" ? archValue(arch) : undefined;
  if (value === undefined || typeof nr !== "number" || typeof errno !== "number") {
    return "a seccomp denied record names a call without all of arch, nr and errno";
  }
  if (!plan.seccomp) return "a seccomp denied record in a launch without a seccomp filter";
  const program = programOf(plan.seccomp);
  const given = [
    { word: 0, mask: 0xffffffff, op: "eq" as const, k: nr >>> 0, holds: true },
    { word: 1, mask: 0xffffffff, op: "eq" as const, k: value >>> 0, holds: true },
  ];
  const fails = pathsWithin(program, given).some(({ ret }) =>
    (ret & SECCOMP_RET_ACTION_FULL) >>> 0 === SECCOMP_RET_ERRNO &&
    Math.min(ret & 0xffff, MAX_ERRNO) === errno
  );
  return fails
    ? undefined
    : `the seccomp program does not fail syscall ${nr} (${arch}) with errno ${errno}`;
}
