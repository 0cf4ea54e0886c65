/**
 * Verifying a signed plan without the shim: envelope, signature, statement shape, expiry.
 *
 * @module
 */
import { EnvelopeError, envelopePayload, parseEnvelope, verifyEnvelope } from "../crypto/dsse.ts";
import { fromBase64 } from "../crypto/digest.ts";
import type { TrustedKey } from "../crypto/keys.ts";
import * as v from "npm:valibot@1.5.0";
import type { PlanStatement } from "../compiler/plan.ts";
import { PlanStatementSchema } from "../compiler/plan_schema.ts";
import { checkReviewable, decodeProgram } from "../compiler/seccomp/mod.ts";

/** A plan whose envelope was read, and verified when keys were given. */
export interface ReadPlan {
  /** The statement the payload carries. */
  statement: PlanStatement;
  /** The exact payload bytes. */
  payload: Uint8Array;
  /** The key that verified the signature; undefined when no keys were given. */
  verifiedBy?: TrustedKey;
}

/**
 * Reads a plan envelope; with trusted keys, also verifies its signature. Throws an
 * {@link EnvelopeError} whose `code` is a stable refusal code.
 *
 * @example
 * ```ts ignore
 * import { readPlan } from "./verify_plan.ts";
 * const plan = await readPlan(await Deno.readFile("plan.dsse.json"), trustedKeys);
 * console.log(plan.statement.predicate.target.exe);
 * ```
 */
export async function readPlan(
  bytes: Uint8Array,
  trusted?: TrustedKey[],
  now: Date = new Date(),
): Promise<ReadPlan> {
  const envelope = parseEnvelope(bytes);
  let payload: Uint8Array;
  let verifiedBy: TrustedKey | undefined;
  if (trusted) {
    ({ payload, key: verifiedBy } = await verifyEnvelope(envelope, trusted));
  } else {
    payload = envelopePayload(envelope);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch {
    throw new EnvelopeError("plan_invalid", "The plan payload is not JSON");
  }
  const shape = v.safeParse(PlanStatementSchema, parsed);
  if (!shape.success) {
    const issue = shape.issues[0];
    const path = (issue.path ?? []).map((p) => p.key).join(".");
    throw new EnvelopeError(
      "plan_invalid",
      `The payload is not a LinuxLaunchPlan v1 statement: ${path || "(root)"}: ${issue.message}`,
    );
  }
  const statement: PlanStatement = shape.output;
  const exe = statement.predicate.target;
  if (statement.subject[0].digest.sha256 !== exe.sha256 || statement.subject[0].name !== exe.exe) {
    throw new EnvelopeError(
      "plan_invalid",
      "The statement's subject differs from the plan's target",
    );
  }
  const seccomp = statement.predicate.seccomp;
  if (seccomp) {
    // The shim refuses the same programs (rust-shim/src/seccomp.rs): only those can be
    // reviewed exactly.
    try {
      checkReviewable(decodeProgram(fromBase64(seccomp.bpfB64)));
    } catch (e) {
      throw new EnvelopeError(
        "plan_invalid",
        `The plan's seccomp program cannot be installed or reviewed: ${(e as Error).message}`,
      );
    }
  }
  const notAfter = statement.predicate.notAfter;
  if (notAfter !== undefined && !(Date.parse(notAfter) > now.getTime())) {
    throw new EnvelopeError("plan_expired", `The plan expired at ${notAfter}`);
  }
  return { statement, payload, verifiedBy };
}
