/**
 * The host's transcript seal key: `seal.key` (PKCS#8 PEM, 0600) and `seal.pub` in the
 * state directory, created on first use. `launch` seals with it; `transcript verify`
 * checks seals against `seal.pub` by default.
 *
 * @module
 */
import {
  exportKeyPair,
  generateSigningKey,
  readPrivateKeyDer,
  readSigningKey,
} from "../crypto/keys.ts";
import { checkPrivate, ensureStateDir, stateDirPath } from "./state_dir.ts";

/** The host seal key and where it lives. */
export interface HostSealKey {
  /** The private key, PKCS#8 (not imported into WebCrypto: the shim signs with it). */
  pkcs8: Uint8Array;
  /** Its file (`STATE/seal.key`). */
  path: string;
}

/** Writes `text` to `path` unless it exists, atomically (no reader sees half a key). */
function publish(dir: string, path: string, text: string, mode: number): void {
  const temp = `${dir}/.tmp-${crypto.randomUUID()}`;
  Deno.writeTextFileSync(temp, text, { mode, createNew: true });
  try {
    Deno.linkSync(temp, path);
  } catch (e) {
    // Another launcher created it first: theirs is the host's key.
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  } finally {
    Deno.removeSync(temp);
  }
}

/**
 * Reads the host seal key, creating the state directory and the key pair on first use.
 * The key file must be private to the launcher (see {@link checkPrivate}).
 *
 * @example
 * ```ts ignore
 * import { hostSealKey } from "./seal_key.ts";
 * const { pkcs8, path } = await hostSealKey();
 * ```
 */
export async function hostSealKey(): Promise<HostSealKey> {
  const dir = ensureStateDir();
  const path = `${dir}/seal.key`;
  const pubPath = `${dir}/seal.pub`;
  try {
    Deno.lstatSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    publish(dir, path, (await exportKeyPair(await generateSigningKey())).privatePem, 0o600);
  }
  checkPrivate(path, "file");
  const pkcs8 = readPrivateKeyDer(path);
  try {
    Deno.lstatSync(pubPath);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    publish(dir, pubPath, (await exportKeyPair(await readSigningKey(path))).publicPem, 0o644);
  }
  return { pkcs8, path };
}

/**
 * The host's seal public key file, if this user's state directory has one.
 *
 * @example
 * ```ts ignore
 * import { hostSealPublicKeyPath } from "./seal_key.ts";
 * console.log(hostSealPublicKeyPath() ?? "no host seal key yet");
 * ```
 */
export function hostSealPublicKeyPath(): string | undefined {
  let path: string;
  try {
    path = `${stateDirPath()}/seal.pub`;
    return Deno.statSync(path).isFile ? path : undefined;
  } catch {
    return undefined;
  }
}
