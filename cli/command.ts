/**
 * The shape of a charter command, and the printing helpers every command shares.
 *
 * @module
 */

/** One command of the `charter` command line. */
export interface Command {
  /** The command word(s), e.g. `compile` or `transcript verify`. */
  name: string;
  /** The full `--help` text. */
  help: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

/**
 * Prints an error sentence to stderr, prefixed with `charter:`.
 *
 * @example
 * ```ts
 * import { printError } from "./command.ts";
 * printError("Key file k.pub does not exist");
 * ```
 */
export function printError(message: string): void {
  console.error(`charter: ${message}`);
}
