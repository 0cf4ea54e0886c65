/**
 * Errors of the seccomp compiler.
 *
 * @module
 */

/**
 * Raised when a seccomp policy cannot be compiled: an unknown syscall, group, constant or
 * action, a malformed argument condition, or a contradiction. `path` names the offending
 * key relative to the `syscalls:` section (e.g. `rules[2].args[0].value`), `hint` is a
 * did-you-mean or a suggested fix.
 *
 * @example
 * ```ts
 * import { SeccompCompileError } from "./errors.ts";
 * const e = new SeccompCompileError("Unknown syscall \"opne\"", { path: "allow[0]", hint: "did you mean \"open\"?" });
 * console.log(e.name, e.path); // "SeccompCompileError" "allow[0]"
 * ```
 */
export class SeccompCompileError extends Error {
  /** Where in the policy the problem is, relative to its `syscalls:` section. */
  readonly path?: string;
  /** A did-you-mean or a suggested fix. */
  readonly hint?: string;

  /** Creates the error with a message and optionally the key path and a hint. */
  constructor(message: string, options: { path?: string; hint?: string } = {}) {
    super(message);
    this.name = "SeccompCompileError";
    this.path = options.path;
    this.hint = options.hint;
  }
}

/**
 * Raised when the compiled program has more instructions than the kernel accepts
 * (`BPF_MAXINSNS`, 4096).
 *
 * @example
 * ```ts
 * import { SeccompProgramTooLargeError } from "./errors.ts";
 * const e = new SeccompProgramTooLargeError(5000, 4096);
 * console.log(e.instructions, e.name); // 5000 "SeccompProgramTooLargeError"
 * ```
 */
export class SeccompProgramTooLargeError extends SeccompCompileError {
  /** How many instructions the program would have. */
  readonly instructions: number;
  /** The limit. */
  readonly limit: number;

  /** Creates the error for a program of `instructions` instructions. */
  constructor(instructions: number, limit: number) {
    super(
      `Seccomp program has ${instructions} instructions, more than the kernel's limit of ${limit}`,
      { hint: "use fewer argument rules, or merge rules on the same syscall" },
    );
    this.name = "SeccompProgramTooLargeError";
    this.instructions = instructions;
    this.limit = limit;
  }
}
