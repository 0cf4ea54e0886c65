/**
 * The seccomp compiler: syscall tables for x86_64 and aarch64 (Linux v6.18), systemd's
 * syscall groups, named constants, the compiler from a policy's `syscalls:` section to a
 * classic BPF program, a BPF interpreter with the kernel's verifier rules, and a
 * disassembler.
 *
 * @example
 * ```ts
 * import { applyBaseline, compileSeccomp, createFilterRunner, describeReturn } from "./mod.ts";
 * const { policy, options } = applyBaseline({ default: "allow" }, "x86_64");
 * const filter = compileSeccomp(policy, "x86_64", options);
 * const run = createFilterRunner(filter.program);
 * console.log(describeReturn(run({ nr: 165, arch: 0xc000003e }).ret)); // "ERRNO(EPERM)" (mount)
 * ```
 *
 * @module
 */
export {
  authorityRank,
  describeReturn,
  encodeAction,
  isPermissive,
  MAX_ERRNO,
  retErrno,
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_DATA,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  SECCOMP_RET_USER_NOTIF,
  type SeccompAction,
} from "./actions.ts";
export {
  archOfAuditArch,
  AUDIT_ARCH_AARCH64,
  AUDIT_ARCH_X86_64,
  auditArch,
  maxSyscallNumber,
  SECCOMP_ARCHES,
  type SeccompArch,
  syscallName,
  syscallNumber,
  syscallTable,
  X32_SYSCALL_BIT,
} from "./arch.ts";
export { ARG_WIDTHS, type ArgWidth, argWidth } from "./arg_widths.ts";
export {
  applyBaseline,
  type BaselineOptions,
  type BaselineProbe,
  baselineProbes,
  checkUnsafeAllowName,
  type PolicyWithBaseline,
  unsafeAllowNames,
} from "./apply_baseline.ts";
export { BASELINE, type SeccompBaseline } from "./baseline.ts";
export { decodeProgram, encodeProgram, type SockFilter } from "./bpf.ts";
export {
  BpfVerifyError,
  createFilterRunner,
  type FilterResult,
  runFilter,
  type SeccompData,
  traceFilter,
  verifyFilter,
} from "./bpf_interpreter.ts";
export type { DispatchRange, SearchTree } from "./codegen.ts";
export { type CompiledSeccomp, compileSeccomp } from "./compile_seccomp.ts";
export { argumentConstants, ERRNO_NAMES, errnoNumber, ERRNOS, resolveValue } from "./constants.ts";
export { disassemble, type DisassembleOptions } from "./disassemble.ts";
export { compareFilters, type FilterDifference, witnessOf } from "./filter_compare.ts";
export {
  checkReviewable,
  type FilterPath,
  filterPaths,
  FilterTooComplexError,
  MAX_FILTER_PATHS,
  pathsWithin,
} from "./filter_paths.ts";
export { SeccompCompileError, SeccompProgramTooLargeError } from "./errors.ts";
export { PROTOCOL_SOCKETS, type SocketCall, socketRules } from "./socket_rules.ts";
export { networkRules, type NetworkRulesInput } from "./network_rules.ts";
export { METADATA_SYSCALLS, metadataRules } from "./metadata_rules.ts";
export { expandGroup, groupNames, type NameResolution, resolveSyscallNames } from "./groups.ts";
export {
  type ArgCondition,
  type ArgOp,
  type CompileSeccompOptions,
  type ResolvedCondition,
  type ResolvedRule,
  type SeccompPolicy,
  type SeccompRule,
  type SyscallDecision,
} from "./resolve_policy.ts";
