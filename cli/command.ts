/**
 * The shape of a charter command, and the printing helpers every command shares.
 *
 * @module
 */
import type { LaunchFailure } from "../ffi/shim.ts";

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

/**
 * Prints why the shim did not start the target: its refusal (with the stable code) or the
 * setup step that failed. `command` names what was refused (`launch`, `learn`).
 *
 * @example
 * ```ts
 * import { printLaunchFailure } from "./command.ts";
 * printLaunchFailure("launch", { outcome: "refused", reason: "path_changed", detail: "/bin/x" });
 * ```
 */
export function printLaunchFailure(command: string, o: LaunchFailure["outcome"]): void {
  printError(
    o.outcome === "refused"
      ? `${command} refused (${o.reason}): ${o.detail}`
      : `setup failed at ${o.step} (errno ${o.errno}): ${o.detail}`,
  );
}

/**
 * How a child with wait status `status` (the shell's form: 128+N for signal N) ended.
 *
 * @example
 * ```ts
 * import { endedHow } from "./command.ts";
 * console.log(endedHow(1), endedHow(137)); // "exited with 1" "died of signal 9"
 * ```
 */
export function endedHow(status: number): string {
  return status > 128 ? `died of signal ${status - 128}` : `exited with ${status}`;
}
