/**
 * SHA-256 and the encodings plans and transcripts use for digests.
 *
 * @module
 */

/**
 * Computes the lowercase hex SHA-256 digest of some bytes.
 *
 * @example Digest of a string
 * ```ts
 * import { sha256Hex } from "./digest.ts";
 * const hex = await sha256Hex(new TextEncoder().encode("abc"));
 * console.log(hex.slice(0, 8)); // "ba7816bf"
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return toHex(await sha256(bytes));
}

/** A file's SHA-256 digest and its first bytes. */
export interface HashedFile {
  /** Lowercase hex SHA-256 of the whole file. */
  sha256: string;
  /** Its first bytes (at most the `head` asked for): enough to read headers. */
  head: Uint8Array;
}

/**
 * Hashes a file in 1 MiB chunks, so memory stays bounded whatever its size, and keeps its
 * first `head` bytes.
 *
 * @example
 * ```ts
 * import { sha256File } from "./digest.ts";
 * const { sha256, head } = await sha256File("/bin/sh", 4);
 * console.log(sha256.length, head.length); // 64 4
 * ```
 */
export async function sha256File(path: string, head = 0): Promise<HashedFile> {
  const { createHash } = await import("node:crypto");
  const hash = createHash("sha256");
  const first = new Uint8Array(head);
  let kept = 0;
  using file = await Deno.open(path, { read: true });
  const chunk = new Uint8Array(1024 * 1024);
  for (;;) {
    const n = await file.read(chunk);
    if (n === null) break;
    const part = chunk.subarray(0, n);
    if (kept < head) {
      const take = Math.min(head - kept, n);
      first.set(part.subarray(0, take), kept);
      kept += take;
    }
    hash.update(part);
  }
  return { sha256: hash.digest("hex"), head: first.subarray(0, kept) };
}

/**
 * Computes the raw SHA-256 digest of some bytes.
 *
 * @example Raw digest
 * ```ts
 * import { sha256 } from "./digest.ts";
 * const raw = await sha256(new Uint8Array([1, 2, 3]));
 * console.log(raw.length); // 32
 * ```
 */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
}

/**
 * Encodes bytes as lowercase hex.
 *
 * @example
 * ```ts
 * import { toHex } from "./digest.ts";
 * console.log(toHex(new Uint8Array([0, 255]))); // "00ff"
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  return bytes.toHex();
}

/**
 * Encodes bytes as standard base64, padded (RFC 4648 §4).
 *
 * @example
 * ```ts
 * import { toBase64 } from "./digest.ts";
 * console.log(toBase64(new TextEncoder().encode("hi"))); // "aGk="
 * ```
 */
export function toBase64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

/** Raised when text is not canonical, padded standard base64. */
export class Base64Error extends Error {
  /** Creates the error for the given description of the bad input. */
  constructor(message: string) {
    super(message);
    this.name = "Base64Error";
  }
}

/**
 * Decodes base64 as DSSE verifiers must accept it: the standard or the URL-safe alphabet
 * (RFC 4648 §4 and §5; one of them per text), with or without padding. What is decoded
 * is still exact: unused bits must be zero and padding, when present, complete.
 *
 * @example
 * ```ts
 * import { fromBase64AnyAlphabet } from "./digest.ts";
 * console.log(fromBase64AnyAlphabet("-_8").join(",")); // "251,255"
 * console.log(fromBase64AnyAlphabet("+/8=").join(",")); // "251,255"
 * ```
 */
export function fromBase64AnyAlphabet(text: string): Uint8Array {
  if (/[-_]/.test(text) && /[+/]/.test(text)) {
    throw new Base64Error("Base64 text mixes the standard and the URL-safe alphabet");
  }
  if (text.includes("=") && text.length % 4 !== 0) {
    throw new Base64Error("Base64 text has incomplete padding");
  }
  const std = text.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  return fromBase64(std + "=".repeat((4 - std.length % 4) % 4));
}

/**
 * Decodes standard padded base64 strictly: the text must re-encode to itself, so one
 * signature or payload has exactly one spelling.
 *
 * @example
 * ```ts
 * import { fromBase64 } from "./digest.ts";
 * console.log(new TextDecoder().decode(fromBase64("aGk="))); // "hi"
 * ```
 */
export function fromBase64(text: string): Uint8Array {
  // The built-in codec, not a loop over characters: a plan's payload is kilobytes, and
  // decoding it byte by byte in JavaScript cost a launch milliseconds (issue 13).
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.fromBase64(text);
  } catch {
    throw new Base64Error("Text is not valid base64");
  }
  // The decoder skips whitespace and accepts missing padding: re-encoding says whether
  // this was the one canonical spelling.
  if (bytes.toBase64() !== text) {
    throw new Base64Error("Base64 text is not in canonical padded form");
  }
  return bytes;
}
