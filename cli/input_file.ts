/**
 * Reading a file the user named on the command line (a plan, a transcript's plan, a
 * proposal to merge): a regular file of bounded size, or one sentence saying why not. A
 * FIFO or a device is refused without reading, so it cannot hang the command or exhaust
 * its memory.
 *
 * @module
 */
import { FileReadError, readRegularFileSync } from "../policy/read_file.ts";

/** A file named on the command line that is not read, and why. */
export class InputFileError extends Error {
  /** Creates the error; the message is the whole sentence. */
  constructor(message: string) {
    super(message);
    this.name = "InputFileError";
  }
}

/**
 * Reads the regular file at `path` (at most 8 MiB).
 *
 * @example
 * ```ts
 * import { readInputFile } from "./input_file.ts";
 * console.log(readInputFile("/etc/hostname").length > 0); // true
 * try {
 *   readInputFile("/dev/zero");
 * } catch (e) {
 *   console.log((e as Error).message); // cannot read /dev/zero: it is a character device, …
 * }
 * ```
 */
export function readInputFile(path: string): Uint8Array {
  try {
    return readRegularFileSync(path);
  } catch (e) {
    throw inputFileError(path, e);
  }
}

/**
 * What reading the input file `path` threw, as said to the user: a {@linkcode FileReadError}
 * becomes an {@linkcode InputFileError} naming the file; anything else is kept.
 *
 * @example
 * ```ts
 * import { FileReadError } from "../policy/read_file.ts";
 * import { inputFileError } from "./input_file.ts";
 * const e = inputFileError("p.json", new FileReadError("it is a FIFO, not a regular file"));
 * console.log((e as Error).message); // cannot read p.json: it is a FIFO, …
 * ```
 */
export function inputFileError(path: string, e: unknown): unknown {
  return e instanceof FileReadError
    ? new InputFileError(`cannot read ${path}: ${e.reason}; name a regular file`)
    : e;
}
