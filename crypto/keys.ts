/**
 * Ed25519 signing keys in PEM files, and their DSSE key ids.
 *
 * Private keys are PKCS#8 PEM (`PRIVATE KEY`), public keys SPKI PEM (`PUBLIC KEY`), the
 * forms `openssl pkey` reads and writes.
 *
 * @module
 */
import { fromBase64, fromBase64AnyAlphabet, sha256, toBase64, toHex } from "./digest.ts";

const SPKI_ED25519_PREFIX = "302a300506032b6570032100";
const PEM_RE = /-----BEGIN ([A-Z ]+)-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END \1-----/;

/** Raised when a key file cannot be used. */
export class KeyError extends Error {
  /** Creates the error with a sentence saying what is wrong and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "KeyError";
  }
}

/** A public key that plans may be verified against. */
export interface TrustedKey {
  /** The raw 32-byte Ed25519 public key. */
  raw: Uint8Array;
  /** The DSSE key id (OpenSSH-style `SHA256:` fingerprint). */
  keyid: string;
  /** The WebCrypto key for verifying. */
  key: CryptoKey;
}

/** A private key that plans are signed with, with its public half. */
export interface SigningKey {
  /** The WebCrypto private key. */
  privateKey: CryptoKey;
  /** The public half. */
  publicKey: TrustedKey;
}

/**
 * Computes the key id of a raw Ed25519 public key: `SHA256:` and the unpadded base64 of
 * sha256 over the OpenSSH wire form of the key, the form cosign's DSSE verifier derives.
 *
 * @example
 * ```ts
 * import { keyIdOf } from "./keys.ts";
 * const id = await keyIdOf(new Uint8Array(32));
 * console.log(id.startsWith("SHA256:")); // true
 * ```
 */
export async function keyIdOf(raw: Uint8Array): Promise<string> {
  const type = new TextEncoder().encode("ssh-ed25519");
  const wire = new Uint8Array(4 + type.length + 4 + raw.length);
  const view = new DataView(wire.buffer);
  view.setUint32(0, type.length);
  wire.set(type, 4);
  view.setUint32(4 + type.length, raw.length);
  wire.set(raw, 8 + type.length);
  return "SHA256:" + toBase64(await sha256(wire)).replace(/=+$/, "");
}

function pemDecode(text: string, label: string, file: string): Uint8Array {
  const match = PEM_RE.exec(text);
  if (!match || match[1] !== label) {
    throw new KeyError(
      `${file} is not a PEM "${label}" file; create keys with "charter keygen -o NAME"`,
    );
  }
  return fromBase64(match[2].replace(/\s+/g, ""));
}

function pemEncode(der: Uint8Array, label: string): string {
  const lines = toBase64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** The raw 32-byte Ed25519 key of an SPKI DER, or a KeyError naming the file. */
function rawFromSpki(spki: Uint8Array, file: string): Uint8Array {
  const prefix = toHex(spki.subarray(0, 12));
  if (spki.length !== 44 || prefix !== SPKI_ED25519_PREFIX) {
    throw new KeyError(
      `${file} is not an Ed25519 public key; charter signs plans with Ed25519 only`,
    );
  }
  return spki.slice(12);
}

async function trustedKeyFromSpki(spki: Uint8Array, file: string): Promise<TrustedKey> {
  const raw = rawFromSpki(spki, file);
  const key = await crypto.subtle.importKey("spki", spki as BufferSource, "Ed25519", true, [
    "verify",
  ]);
  return { raw, keyid: await keyIdOf(raw), key };
}

/**
 * Parses a `PUBLIC KEY` PEM text into a trusted Ed25519 key.
 *
 * @example
 * ```ts
 * import { generateSigningKey, parsePublicKeyPem, exportKeyPair } from "./keys.ts";
 * const pair = await exportKeyPair(await generateSigningKey());
 * const key = await parsePublicKeyPem(pair.publicPem, "demo.pub");
 * console.log(key.raw.length); // 32
 * ```
 */
export function parsePublicKeyPem(text: string, file: string): Promise<TrustedKey> {
  return trustedKeyFromSpki(pemDecode(text, "PUBLIC KEY", file), file);
}

/**
 * Parses a `PRIVATE KEY` (PKCS#8) PEM text into a signing key.
 *
 * @example
 * ```ts
 * import { generateSigningKey, parsePrivateKeyPem, exportKeyPair } from "./keys.ts";
 * const pair = await exportKeyPair(await generateSigningKey());
 * const key = await parsePrivateKeyPem(pair.privatePem, "demo.key");
 * console.log(key.publicKey.keyid.startsWith("SHA256:")); // true
 * ```
 */
export async function parsePrivateKeyPem(text: string, file: string): Promise<SigningKey> {
  const der = pemDecode(text, "PRIVATE KEY", file);
  let privateKey: CryptoKey;
  try {
    privateKey = await crypto.subtle.importKey("pkcs8", der as BufferSource, "Ed25519", true, [
      "sign",
    ]);
  } catch {
    throw new KeyError(`${file} is not an Ed25519 private key; create one with "charter keygen"`);
  }
  // WebCrypto derives the public half through a JWK export of the private key.
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  const raw = fromBase64AnyAlphabet(jwk.x ?? "");
  const spki = new Uint8Array(44);
  spki.set(hexBytes(SPKI_ED25519_PREFIX));
  spki.set(raw, 12);
  return { privateKey, publicKey: await trustedKeyFromSpki(spki, file) };
}

/**
 * Generates a fresh Ed25519 signing key (used for `keygen` and ephemeral launches).
 *
 * @example
 * ```ts
 * import { generateSigningKey } from "./keys.ts";
 * const key = await generateSigningKey();
 * console.log(key.publicKey.raw.length); // 32
 * ```
 */
export async function generateSigningKey(): Promise<SigningKey> {
  const pair = await crypto.subtle.generateKey("Ed25519", true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  return {
    privateKey: pair.privateKey,
    publicKey: await trustedKeyFromSpki(spki, "generated key"),
  };
}

/** PEM texts of a key pair. */
export interface KeyPairPem {
  /** PKCS#8 `PRIVATE KEY` PEM. */
  privatePem: string;
  /** SPKI `PUBLIC KEY` PEM. */
  publicPem: string;
}

/**
 * Exports a signing key as PEM texts.
 *
 * @example
 * ```ts
 * import { exportKeyPair, generateSigningKey } from "./keys.ts";
 * const { publicPem } = await exportKeyPair(await generateSigningKey());
 * console.log(publicPem.startsWith("-----BEGIN PUBLIC KEY-----")); // true
 * ```
 */
export async function exportKeyPair(key: SigningKey): Promise<KeyPairPem> {
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", key.privateKey));
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", key.publicKey.key));
  return { privatePem: pemEncode(pkcs8, "PRIVATE KEY"), publicPem: pemEncode(spki, "PUBLIC KEY") };
}

/**
 * Reads public keys from files; a directory contributes every `*.pub` file in it.
 *
 * @example
 * ```ts ignore
 * import { readTrustedKeys } from "./keys.ts";
 * const keys = await readTrustedKeys(["keys/release.pub"]);
 * ```
 */
export async function readTrustedKeys(paths: string[]): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const [file, text] of trustedKeyTexts(paths)) {
    keys.push(await parsePublicKeyPem(text, file));
  }
  return keys;
}

/**
 * Reads trusted public keys as raw 32-byte Ed25519 keys only: what the shim verifies with.
 * Unlike {@link readTrustedKeys} it imports nothing into WebCrypto, which costs a launch
 * several milliseconds, and it reads synchronously: a launch's first asynchronous file
 * operation costs about a millisecond more than the read itself.
 *
 * @example
 * ```ts ignore
 * import { readTrustedRawKeys } from "./keys.ts";
 * const [raw] = readTrustedRawKeys(["release.pub"]);
 * console.log(raw.length); // 32
 * ```
 */
export function readTrustedRawKeys(paths: string[]): Uint8Array[] {
  return trustedKeyTexts(paths).map(([file, text]) =>
    rawFromSpki(pemDecode(text, "PUBLIC KEY", file), file)
  );
}

/** The key files named, each with its text: each file, and each directory's `*.pub`, sorted. */
function trustedKeyTexts(paths: string[]): [string, string][] {
  return paths.flatMap((path): [string, string][] => {
    const info = keyFileInfo(path);
    if (!info.isDirectory) return [[path, readKeyFile(path, info)]];
    return Array.from(Deno.readDirSync(path))
      .filter((e) => e.isFile && e.name.endsWith(".pub"))
      .map((e) => `${path}/${e.name}`).sort()
      .map((file) => [file, readKeyFile(file)]);
  });
}

/**
 * Reads a private key file's PKCS#8 bytes (its `PRIVATE KEY` PEM) without importing it into
 * WebCrypto: what `launch` hands the shim to seal a transcript with. The shim checks that it
 * is an Ed25519 key and refuses the launch otherwise; WebCrypto's first use costs a launch
 * ~8 ms.
 *
 * @example
 * ```ts ignore
 * import { readPrivateKeyDer } from "./keys.ts";
 * const pkcs8 = readPrivateKeyDer("seal.key");
 * ```
 */
export function readPrivateKeyDer(path: string): Uint8Array {
  return pemDecode(readKeyFile(path), "PRIVATE KEY", path);
}

/**
 * Reads a signing key from a PEM file.
 *
 * @example
 * ```ts ignore
 * import { readSigningKey } from "./keys.ts";
 * const key = await readSigningKey("release.key");
 * ```
 */
export async function readSigningKey(path: string): Promise<SigningKey> {
  return await parsePrivateKeyPem(readKeyFile(path), path);
}

/** What `stat` says of a key file; a KeyError saying how to create keys when there is none. */
function keyFileInfo(path: string): Deno.FileInfo {
  try {
    return Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new KeyError(
        `Key file ${path} does not exist; check the path, or create keys with "charter keygen -o NAME"`,
      );
    }
    throw e;
  }
}

/**
 * A key file's text: a regular file of at most 64 KiB, asked before opening (opening a
 * FIFO blocks, and a device never ends) and again on the open file, and read no further
 * than the limit (the path may be swapped for /dev/zero, or be a /proc pseudo-file whose
 * size says 0). `crypto/` imports nothing of ours, so this is not `policy/read_file.ts`.
 */
function readKeyFile(path: string, info = keyFileInfo(path)): string {
  const refused = () =>
    new KeyError(
      `Key file ${path} is not a regular file of at most ${
        KEY_FILE_LIMIT / 1024
      } KiB; name a PEM key file`,
    );
  if (!info.isFile || info.size > KEY_FILE_LIMIT) throw refused();
  using file = Deno.openSync(path, { read: true });
  const opened = file.statSync();
  if (!opened.isFile || opened.size > KEY_FILE_LIMIT) throw refused();
  const buffer = new Uint8Array(opened.size + 1);
  let filled = 0;
  for (let n; (n = file.readSync(buffer.subarray(filled))) !== null;) {
    filled += n;
    if (filled > opened.size) throw refused();
  }
  return new TextDecoder().decode(buffer.subarray(0, filled));
}

/** The largest key file read (a PEM key is well under 1 KiB). */
const KEY_FILE_LIMIT = 64 * 1024;

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}
