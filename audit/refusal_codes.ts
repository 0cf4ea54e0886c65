/**
 * The stable refusal codes of DESIGN §5, shared by the transcript format and its verifier.
 *
 * @module
 */

/** Every refusal code, in DESIGN order. */
export const REFUSAL_CODES = [
  "plan_invalid",
  "signature_invalid",
  "plan_expired",
  "arch_mismatch",
  "unknown_primitive",
  "kernel_unsupported",
  "digest_mismatch",
  "handle_unavailable",
  "extra_args_forbidden",
  "path_changed",
] as const;

/** A refusal code. */
export type RefusalCode = typeof REFUSAL_CODES[number];
