/**
 * Verifying a transcript's seal: the signed last record that states the digest of every
 * byte before it, so the end of the chain cannot be edited or cut off unnoticed.
 *
 * @module
 */
import canonicalize from "npm:canonicalize@5.1.0";
import { EnvelopeError, parseEnvelope, verifyEnvelope } from "../crypto/dsse.ts";
import type { TrustedKey } from "../crypto/keys.ts";

/** The predicate type that names a transcript seal. */
export const SEAL_PREDICATE_TYPE = "https://charter.dev/TranscriptSeal/v1";

/** What the seal must agree with, as the verifier saw the transcript before it. */
export interface SealContext {
  /** The launch id of the records. */
  launchId: string;
  /** The plan payload's sha256. */
  planSha256: string;
  /** sha256 (hex) of every byte before the seal's line. */
  beforeSha256: string;
  /** Number of records before the seal. */
  records: number;
  /** sha256 of the last line before the seal. */
  head: string;
  /** The last outcome-bearing record before the seal (event plus code/signal/reason/step/errno). */
  outcome: Record<string, unknown>;
  /** The seal record's own `time` and `monoNs`, which the seal signs too. */
  sealedAt: { time: unknown; monoNs: unknown };
  /** Keys the seal may be signed with; without them the signature is not checked. */
  keys?: TrustedKey[];
}

/** The result of checking a seal. */
export interface SealCheck {
  /** What disagrees, if anything. */
  problems: string[];
  /** The key that verified the signature; undefined when no keys were given or none did. */
  signer?: string;
}

/**
 * Checks a `transcript_sealed` record's envelope against the transcript before it.
 *
 * @example
 * ```ts ignore
 * import { checkSeal } from "./verify_seal.ts";
 * const { problems, signer } = await checkSeal(record.seal, context);
 * ```
 */
export async function checkSeal(seal: unknown, context: SealContext): Promise<SealCheck> {
  const problems: string[] = [];
  let payload: Uint8Array;
  let signer: string | undefined;
  try {
    const envelope = parseEnvelope(new TextEncoder().encode(JSON.stringify(seal)));
    if (context.keys) {
      const verified = await verifyEnvelope(envelope, context.keys);
      payload = verified.payload;
      signer = verified.key.keyid;
    } else {
      payload = Uint8Array.from(atob(envelope.payload), (c) => c.charCodeAt(0));
    }
  } catch (e) {
    if (!(e instanceof EnvelopeError || e instanceof DOMException)) throw e;
    return { problems: [`the seal does not verify: ${(e as Error).message}`] };
  }
  let statement: {
    _type?: unknown;
    predicateType?: unknown;
    subject?: { name?: unknown; digest?: { sha256?: unknown } }[];
    predicate?: Record<string, unknown>;
  };
  try {
    statement = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return { problems: ["the seal's payload is not JSON"] };
  }
  if (
    statement._type !== "https://in-toto.io/Statement/v1" ||
    statement.predicateType !== SEAL_PREDICATE_TYPE
  ) {
    problems.push(`the seal is not an in-toto Statement of ${SEAL_PREDICATE_TYPE}`);
  }
  const subject = statement.subject?.[0];
  const p = statement.predicate ?? {};
  const expect = (what: string, got: unknown, want: unknown) => {
    // Canonical (RFC 8785) comparison: key order is not meaning.
    if (canonicalize(got) !== canonicalize(want)) {
      problems.push(
        `the seal states ${what} ${JSON.stringify(got)}, the transcript has ${
          JSON.stringify(want)
        }`,
      );
    }
  };
  expect("the transcript digest", subject?.digest?.sha256, context.beforeSha256);
  expect("the subject", subject?.name, `transcript:${context.launchId}`);
  expect("the launch", p.launchId, context.launchId);
  expect("the plan digest", p.planSha256, context.planSha256);
  expect("the record count", p.records, context.records);
  expect("the chain head", p.head, context.head);
  expect("the outcome", p.outcome, context.outcome);
  expect("its own time", p.sealedAt, context.sealedAt);
  return { problems, signer };
}
