/**
 * Reading policy and plan files defensively: only regular files on disk, never more than
 * a size limit, so a FIFO, a device, a pseudo-file or a huge file is refused with a
 * reason instead of hanging or exhausting memory.
 *
 * @module
 */

/** The largest policy or plan file read (a 10,000-path policy is about 400 KiB). */
export const FILE_SIZE_LIMIT = 8 * 1024 * 1024;

/** Why a file was not read. */
export class FileReadError extends Error {
  /** Creates the error; `reason` completes "cannot read FILE (…)". */
  constructor(readonly reason: string) {
    super(reason);
    this.name = "FileReadError";
  }
}

function kind(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "not a regular file";
}

/**
 * Reads a regular file of at most `limit` bytes. Refuses, without reading, anything that
 * is not a regular file (checked before opening, since opening a FIFO blocks, and again
 * on the open file), and files that yield more bytes than their size says (/proc and
 * /sys pseudo-files, whose contents must not end up quoted in a diagnostic).
 *
 * @example
 * ```ts
 * import { readRegularFile } from "./read_file.ts";
 * console.log((await readRegularFile("/etc/passwd")).length > 0); // true
 * console.log(await readRegularFile("/dev/zero").catch((e) => e.message));
 * // "it is a character device, not a regular file"
 * ```
 */
export function readRegularFile(
  path: string | URL,
  limit = FILE_SIZE_LIMIT,
): Promise<Uint8Array> {
  try {
    return Promise.resolve(readRegularFileSync(path, limit));
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * {@linkcode readRegularFile}, synchronously (the files are small; a launch reads its plan
 * this way, which costs less than a first asynchronous file operation).
 *
 * @example
 * ```ts
 * import { readRegularFileSync } from "./read_file.ts";
 * console.log(readRegularFileSync("/etc/passwd").length > 0); // true
 * ```
 */
export function readRegularFileSync(path: string | URL, limit = FILE_SIZE_LIMIT): Uint8Array {
  const before = Deno.statSync(path);
  if (!before.isFile) throw new FileReadError(`it is ${kind(before)}, not a regular file`);
  using file = Deno.openSync(path, { read: true });
  const info = file.statSync();
  if (!info.isFile) throw new FileReadError(`it is ${kind(info)}, not a regular file`);
  const tooLarge = () =>
    new FileReadError(`it is larger than ${limit / (1024 * 1024)} MiB, the limit for this file`);
  if (info.size > limit) throw tooLarge();
  const buffer = new Uint8Array(info.size + 1);
  let filled = 0;
  for (;;) {
    const n = file.readSync(buffer.subarray(filled));
    if (n === null) break;
    filled += n;
    if (filled > info.size) {
      throw filled > limit ? tooLarge() : new FileReadError(
        "its size on disk does not match what it yields: a /proc or /sys pseudo-file",
      );
    }
  }
  return buffer.subarray(0, filled);
}
