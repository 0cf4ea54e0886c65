/**
 * The interpreters the kernel opens to run a program: the ELF `PT_INTERP` (ld.so) and a
 * `#!` script's interpreter. Landlock checks EXECUTE on each, so the compiler grants them
 * implicitly and hashes them like the target.
 *
 * @module
 */

const PT_INTERP = 3;

/** The kernel reads this much of a file for its `#!` line (BINPRM_BUF_SIZE). */
const BINPRM_BUF_SIZE = 256;

/** Raised when a file's interpreter cannot be read exactly as the kernel would. */
export class InterpreterError extends Error {
  /** Creates the error with what is wrong. */
  constructor(message: string) {
    super(message);
    this.name = "InterpreterError";
  }
}

/**
 * Reads the interpreter a file asks for, exactly as the kernel does: the PT_INTERP path of
 * an ELF executable of either class (32- or 64-bit) and byte order, or the program of a
 * `#!` line (fs/binfmt_script.c: after `#!`, spaces and tabs are skipped, and the name ends
 * at a space, tab, newline or NUL within the first 256 bytes). Undefined for a static ELF
 * or anything else. Throws {@link InterpreterError} when `bytes` (the file's head) is too
 * short to tell, so that an interpreter is never silently left unpinned.
 *
 * @example
 * ```ts
 * import { interpreterOf } from "./interpreter.ts";
 * const script = new TextEncoder().encode("#!/bin/sh -e\necho hi\n");
 * console.log(interpreterOf(script)); // "/bin/sh"
 * console.log(interpreterOf(new TextEncoder().encode("#!\f/bin/sh\n"))); // "\f/bin/sh"
 * ```
 */
export function interpreterOf(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0x23 && bytes[1] === 0x21) return scriptInterpreter(bytes);
  const isElf = bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
  return isElf ? elfInterpreter(bytes) : undefined;
}

function scriptInterpreter(bytes: Uint8Array): string {
  const line = bytes.subarray(2, BINPRM_BUF_SIZE);
  let start = 0;
  while (line[start] === 0x20 || line[start] === 0x09) start++;
  let end = start;
  while (end < line.length && ![0x20, 0x09, 0x0a, 0x00].includes(line[end])) end++;
  if (end === line.length && bytes.length > BINPRM_BUF_SIZE) {
    throw new InterpreterError("its #! interpreter name does not end within the first 256 bytes");
  }
  return decodePath(line.subarray(start, end), "#! interpreter");
}

function elfInterpreter(bytes: Uint8Array): string | undefined {
  const wide = bytes[4] === 2;
  const little = bytes[5] === 1;
  if ((bytes[4] !== 1 && !wide) || (bytes[5] !== 1 && bytes[5] !== 2)) {
    throw new InterpreterError("its ELF class or byte order is not one the compiler reads");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (end: number) => {
    if (end > bytes.length) {
      throw new InterpreterError("its ELF program headers lie beyond the part the compiler reads");
    }
  };
  const word = (at: number) => {
    need(at + (wide ? 8 : 4));
    return wide ? Number(view.getBigUint64(at, little)) : view.getUint32(at, little);
  };
  const half = (at: number) => (need(at + 2), view.getUint16(at, little));
  const phoff = word(wide ? 0x20 : 0x1c);
  const phentsize = half(wide ? 0x36 : 0x2a);
  const phnum = half(wide ? 0x38 : 0x2c);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    need(at + 4);
    if (view.getUint32(at, little) !== PT_INTERP) continue;
    const offset = word(at + (wide ? 0x08 : 0x04));
    const size = word(at + (wide ? 0x20 : 0x10));
    need(offset + size);
    const raw = bytes.subarray(offset, offset + size);
    const nul = raw.indexOf(0);
    return decodePath(nul < 0 ? raw : raw.subarray(0, nul), "PT_INTERP path");
  }
  return undefined;
}

function decodePath(raw: Uint8Array, what: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    throw new InterpreterError(`its ${what} is not UTF-8`);
  }
}
