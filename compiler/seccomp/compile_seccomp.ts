/**
 * The seccomp compiler's entry point: a policy's `syscalls:` section in, a classic BPF
 * program out (see `codegen.ts` for its layout and `resolve_policy.ts` for the policy's
 * semantics).
 *
 * @module
 */
import { SECCOMP_ARCHES, type SeccompArch } from "./arch.ts";
import { BPF_MAXINSNS, encodeProgram, type SockFilter } from "./bpf.ts";
import { type DispatchRange, generateProgram, type SearchTree } from "./codegen.ts";
import { SeccompCompileError, SeccompProgramTooLargeError } from "./errors.ts";
import { filterPaths, FilterTooComplexError } from "./filter_paths.ts";
import {
  type CompileSeccompOptions,
  resolvePolicy,
  type SeccompPolicy,
  type SyscallDecision,
} from "./resolve_policy.ts";

/** A compiled seccomp filter. */
export interface CompiledSeccomp {
  /** The architecture the filter is for (any other architecture is killed). */
  arch: SeccompArch;
  /** The instructions. */
  program: SockFilter[];
  /** The program as `struct sock_filter[]` bytes (8 per instruction, little-endian). */
  bytes: Uint8Array;
  /** Number of instructions. */
  instructionCount: number;
  /** The filter return value of the policy's default action. */
  defaultRet: number;
  /** The filter return value for denied syscalls. */
  denyRet: number;
  /** What the filter does with each syscall of the architecture, in number order. */
  syscalls: SyscallDecision[];
  /** The leaves of the number search: contiguous ranges covering every 32-bit number. */
  ranges: DispatchRange[];
  /** The search tree over `ranges`. */
  tree: SearchTree;
  /** The most comparisons on a path through the search tree. */
  treeDepth: number;
  /** Names in the policy (directly or via groups) that this architecture does not have. */
  absent: string[];
}

/**
 * Compiles the `syscalls:` section of a policy into a seccomp filter for an architecture.
 * Throws {@link SeccompCompileError} (with a key path and a did-you-mean hint) for unknown
 * names, constants and actions and for contradictions, and
 * {@link SeccompProgramTooLargeError} when the program would exceed 4096 instructions.
 *
 * @example Allow a few syscalls, fail everything else with EPERM
 * ```ts
 * import { compileSeccomp } from "./compile_seccomp.ts";
 * const filter = compileSeccomp({
 *   default: { errno: "EPERM" },
 *   allow: ["@basic-io", "exit_group"],
 *   rules: [{ syscall: "socket", args: [{ arg: 0, op: "eq", value: "AF_UNIX" }], action: "allow" }],
 * }, "x86_64");
 * console.log(filter.bytes.length === 8 * filter.instructionCount); // true
 * ```
 */
export function compileSeccomp(
  policy: SeccompPolicy,
  arch: SeccompArch,
  options: CompileSeccompOptions = {},
): CompiledSeccomp {
  if (!SECCOMP_ARCHES.includes(arch)) {
    throw new SeccompCompileError(`Unsupported architecture ${JSON.stringify(arch)}`, {
      hint: `use one of ${SECCOMP_ARCHES.join(", ")}`,
    });
  }
  const resolved = resolvePolicy(policy, arch, options);
  const generated = generateProgram(resolved);
  if (generated.program.length > BPF_MAXINSNS) {
    throw new SeccompProgramTooLargeError(generated.program.length, BPF_MAXINSNS);
  }
  try {
    filterPaths(generated.program); // a plan's program must be reviewable by verify and diff
  } catch (e) {
    if (!(e instanceof FilterTooComplexError)) throw e;
    throw new SeccompCompileError(e.message, {
      hint: "use fewer argument rules with several conditions on the same syscall",
    });
  }
  return {
    arch,
    program: generated.program,
    bytes: encodeProgram(generated.program),
    instructionCount: generated.program.length,
    defaultRet: resolved.defaultRet,
    denyRet: resolved.denyRet,
    syscalls: resolved.decisions,
    ranges: generated.ranges,
    tree: generated.tree,
    treeDepth: generated.treeDepth,
    absent: resolved.absent,
  };
}
