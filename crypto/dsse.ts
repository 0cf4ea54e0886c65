/**
 * DSSE v1 envelopes: the pre-authentication encoding, signing and verification.
 *
 * @module
 */
import { Base64Error, fromBase64AnyAlphabet, toBase64 } from "./digest.ts";
import type { SigningKey, TrustedKey } from "./keys.ts";

/** The payload type of an in-toto Statement. */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

/** A DSSE envelope as it is stored in `plan.dsse.json`. */
export interface DsseEnvelope {
  /** The media type of the payload. */
  payloadType: string;
  /** The payload, base64 (charter writes standard padded base64; verifiers accept both alphabets). */
  payload: string;
  /** One entry per signature; `keyid` is an optional hint (DSSE). */
  signatures: { keyid?: string; sig: string }[];
}

/** Raised when an envelope is malformed or no trusted key verifies it. */
export class EnvelopeError extends Error {
  /** Creates the error; `code` is the stable refusal code. */
  constructor(
    readonly code: "plan_invalid" | "signature_invalid" | "plan_expired",
    message: string,
  ) {
    super(message);
    this.name = "EnvelopeError";
  }
}

/**
 * Builds the DSSE pre-authentication encoding:
 * `"DSSEv1" SP len(type) SP type SP len(payload) SP payload`.
 *
 * @example
 * ```ts
 * import { pae } from "./dsse.ts";
 * const bytes = pae("t", new TextEncoder().encode("hi"));
 * console.log(new TextDecoder().decode(bytes)); // "DSSEv1 1 t 2 hi"
 * ```
 */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = new TextEncoder().encode(payloadType);
  const head = new TextEncoder().encode(`DSSEv1 ${type.length} `);
  const mid = new TextEncoder().encode(` ${payload.length} `);
  const out = new Uint8Array(head.length + type.length + mid.length + payload.length);
  out.set(head, 0);
  out.set(type, head.length);
  out.set(mid, head.length + type.length);
  out.set(payload, head.length + type.length + mid.length);
  return out;
}

/**
 * Signs a payload into a DSSE envelope with one Ed25519 signature. Ed25519 is
 * deterministic, so the same key and payload give the same envelope bytes.
 *
 * @example
 * ```ts
 * import { signEnvelope } from "./dsse.ts";
 * import { generateSigningKey } from "./keys.ts";
 * const env = await signEnvelope(new TextEncoder().encode("{}"), await generateSigningKey());
 * console.log(env.signatures.length); // 1
 * ```
 */
export async function signEnvelope(payload: Uint8Array, key: SigningKey): Promise<DsseEnvelope> {
  const sig = new Uint8Array(
    await crypto.subtle.sign(
      "Ed25519",
      key.privateKey,
      pae(IN_TOTO_PAYLOAD_TYPE, payload) as BufferSource,
    ),
  );
  return {
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    payload: toBase64(payload),
    signatures: [{ keyid: key.publicKey.keyid, sig: toBase64(sig) }],
  };
}

/** The result of a successful verification. */
export interface VerifiedEnvelope {
  /** The exact payload bytes that the signature covers. */
  payload: Uint8Array;
  /** The key that verified it. */
  key: TrustedKey;
}

/**
 * Parses envelope bytes as the DSSE spec asks: `payloadType`, `payload` and at least one
 * signature with a `sig` are required, `keyid` is optional, and unknown fields are ignored
 * (the signature covers only the payload and its type).
 *
 * @example
 * ```ts
 * import { parseEnvelope } from "./dsse.ts";
 * const env = parseEnvelope(new TextEncoder().encode(
 *   '{"payloadType":"t","payload":"e30=","signatures":[{"sig":"AA=="}]}',
 * ));
 * console.log(env.payloadType); // "t"
 * ```
 */
export function parseEnvelope(bytes: Uint8Array): DsseEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new EnvelopeError("plan_invalid", "The plan file is not JSON: expected a DSSE envelope");
  }
  const env = value as Record<string, unknown>;
  const sigs = env?.signatures;
  if (
    !env || typeof env !== "object" || Array.isArray(env) || typeof env.payload !== "string" ||
    typeof env.payloadType !== "string" || !Array.isArray(sigs) || sigs.length === 0 ||
    !sigs.every((s) =>
      s && typeof s === "object" && typeof s.sig === "string" &&
      (s.keyid === undefined || typeof s.keyid === "string")
    )
  ) {
    throw new EnvelopeError(
      "plan_invalid",
      "The plan file is not a DSSE envelope: expected payloadType, payload and signatures [{keyid?, sig}]",
    );
  }
  return {
    payloadType: env.payloadType,
    payload: env.payload,
    signatures: sigs.map((s) => ({ ...(s.keyid ? { keyid: s.keyid } : {}), sig: s.sig })),
  };
}

/** Decodes the envelope's payload (either base64 alphabet). */
export function envelopePayload(env: DsseEnvelope): Uint8Array {
  try {
    return fromBase64AnyAlphabet(env.payload);
  } catch (e) {
    if (e instanceof Base64Error) {
      throw new EnvelopeError("plan_invalid", `The envelope's payload: ${e.message}`);
    }
    throw e;
  }
}

/**
 * Verifies an envelope against trusted keys. Any trusted key that verifies a signature
 * is accepted; `keyid` only decides which keys are tried first.
 *
 * @example
 * ```ts
 * import { signEnvelope, verifyEnvelope } from "./dsse.ts";
 * import { generateSigningKey } from "./keys.ts";
 * const key = await generateSigningKey();
 * const env = await signEnvelope(new TextEncoder().encode("{}"), key);
 * const ok = await verifyEnvelope(env, [key.publicKey]);
 * console.log(ok.key.keyid === key.publicKey.keyid); // true
 * ```
 */
export async function verifyEnvelope(
  env: DsseEnvelope,
  trusted: TrustedKey[],
): Promise<VerifiedEnvelope> {
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new EnvelopeError(
      "plan_invalid",
      `The envelope's payloadType is ${
        JSON.stringify(env.payloadType)
      }, expected ${IN_TOTO_PAYLOAD_TYPE}`,
    );
  }
  const payload = envelopePayload(env);
  const message = pae(env.payloadType, payload);
  for (const signature of env.signatures) {
    let sig: Uint8Array;
    try {
      sig = fromBase64AnyAlphabet(signature.sig);
    } catch {
      continue;
    }
    const ordered = [...trusted].sort((a, b) =>
      Number(b.keyid === signature.keyid) - Number(a.keyid === signature.keyid)
    );
    for (const key of ordered) {
      if (
        await crypto.subtle.verify("Ed25519", key.key, sig as BufferSource, message as BufferSource)
      ) return { payload, key };
    }
  }
  throw new EnvelopeError(
    "signature_invalid",
    `No trusted key verifies the plan's signature (signed by ${
      env.signatures.map((s) => s.keyid ?? "a key without keyid").join(", ")
    }); pass the signer's public key with --trust`,
  );
}
