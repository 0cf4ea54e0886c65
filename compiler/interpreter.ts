/**
 * The interpreters the kernel opens to run a program: the ELF `PT_INTERP` (ld.so) and a
 * `#!` script's interpreter. Landlock checks EXECUTE on each, so the compiler grants them
 * implicitly and hashes them like the target.
 *
 * @module
 */

const PT_INTERP = 3;

/**
 * Reads the interpreter a file asks for: the PT_INTERP path of an ELF executable, or the
 * `#!` line's program of a script; undefined for a static ELF or anything else.
 *
 * @example
 * ```ts
 * import { interpreterOf } from "./interpreter.ts";
 * const script = new TextEncoder().encode("#!/bin/sh -e\necho hi\n");
 * console.log(interpreterOf(script)); // "/bin/sh"
 * ```
 */
export function interpreterOf(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0x23 && bytes[1] === 0x21) {
    const end = bytes.indexOf(0x0a);
    const line = new TextDecoder().decode(
      bytes.subarray(2, end < 0 ? Math.min(bytes.length, 256) : end),
    );
    return line.trim().split(/[ \t]+/)[0] || undefined;
  }
  const isElf = bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
  if (!isElf || bytes[4] !== 2 || bytes[5] !== 1) return undefined; // 64-bit little-endian only
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const phoff = Number(view.getBigUint64(0x20, true));
  const phentsize = view.getUint16(0x36, true);
  const phnum = view.getUint16(0x38, true);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 0x28 > bytes.length) break;
    if (view.getUint32(at, true) !== PT_INTERP) continue;
    const offset = Number(view.getBigUint64(at + 0x08, true));
    const size = Number(view.getBigUint64(at + 0x20, true));
    const raw = bytes.subarray(offset, offset + size);
    const nul = raw.indexOf(0);
    return new TextDecoder().decode(nul < 0 ? raw : raw.subarray(0, nul));
  }
  return undefined;
}
