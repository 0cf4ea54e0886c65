/**
 * The transcript record format (DESIGN §7) as a valibot schema: the verifier checks every
 * record with it, and `schema/transcript-record.schema.json` is generated from it.
 *
 * @module
 */
import * as v from "npm:valibot@1.5.0";
import { REFUSAL_CODES } from "./refusal_codes.ts";

const Hex64 = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex digits"));
const Int = v.pipe(v.number(), v.safeInteger());
const NonNegative = v.pipe(v.number(), v.safeInteger(), v.minValue(0));

/** Fields every record carries. */
const base = {
  v: v.literal(1),
  launchId: v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/, "expected 128-bit lowercase hex")),
  seq: NonNegative,
  time: v.pipe(
    v.string(),
    v.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/, "expected RFC 3339 UTC"),
  ),
  monoNs: NonNegative,
  prev: Hex64,
};

const record = <E extends string, F extends v.ObjectEntries>(event: E, fields: F) =>
  v.strictObject({ ...base, event: v.literal(event), ...fields });

/** One transcript record, any event. */
export const TranscriptRecordSchema = v.variant("event", [
  record("launcher_started", {
    pid: NonNegative,
    uid: NonNegative,
    gid: NonNegative,
    shim: v.strictObject({ name: v.string(), version: v.string() }),
  }),
  record("plan_verified", { planSha256: Hex64, keyid: v.string() }),
  record("handles_verified", {
    exe: v.string(),
    exeSha256: Hex64,
    /** The target's interpreters, verified against the plan's digests. */
    interpreters: v.optional(v.array(v.strictObject({ path: v.string(), sha256: Hex64 }))),
    /** Why the target runs from a sealed memfd copy: who else could write it. */
    exeCopied: v.optional(v.string()),
    /** `target.inputs` as opened: the recorded resolution, device and inode, digest. */
    inputs: v.optional(v.array(v.strictObject({
      path: v.string(),
      opened: v.string(),
      dev: NonNegative,
      ino: NonNegative,
      sha256: Hex64,
      copied: v.optional(v.string()),
    }))),
  }),
  record("child_created", { pid: NonNegative }),
  record("phase_resolved", {
    phase: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(5)),
    name: v.picklist(["identity", "visibility", "scrub", "confine", "exec"]),
    result: v.picklist(["applied", "not_required", "degraded"]),
    details: v.record(v.string(), v.unknown()),
  }),
  record("ready_to_exec", {}),
  record("exec_succeeded", {}),
  /**
   * What the sandbox refused the running target, where the kernel reports it (DESIGN §7):
   * the mechanism, the access, the policy key that would allow it, and how many times. A
   * seccomp denial names the call (`arch`, `nr`) and the errno it failed with; one record
   * without them counts the denials beyond the distinct ones itemised.
   */
  record("denied", {
    mechanism: v.picklist(["landlock", "seccomp"]),
    what: v.string(),
    key: v.string(),
    count: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(1))),
    arch: v.optional(v.string()),
    // seccomp_data.nr is a C int: a target may call -1 or a number above 2^31 (negative).
    nr: v.optional(v.pipe(Int, v.minValue(-(2 ** 31)), v.maxValue(2 ** 31 - 1))),
    errno: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(4095))),
  }),
  record("setup_refused", { reason: v.picklist(REFUSAL_CODES), detail: v.string() }),
  record("setup_faulted", { step: v.string(), errno: Int, detail: v.string() }),
  record("transcript_sealed", {
    seal: v.strictObject({
      payloadType: v.string(),
      payload: v.string(),
      signatures: v.pipe(
        v.array(v.strictObject({ keyid: v.string(), sig: v.string() })),
        v.minLength(1),
      ),
    }),
  }),
  v.pipe(
    record("child_exited", {
      code: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(255))),
      signal: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64))),
      rusage: v.strictObject({
        userUs: NonNegative,
        systemUs: NonNegative,
        maxRssKiB: NonNegative,
      }),
      durationNs: NonNegative,
    }),
    v.check(
      (r) => (r.code === undefined) !== (r.signal === undefined),
      "child_exited carries exactly one of code and signal",
    ),
  ),
]);

/**
 * Checks one parsed record against the format; returns what is wrong, or nothing.
 *
 * @example
 * ```ts
 * import { recordProblems } from "./transcript_schema.ts";
 * console.log(recordProblems({ v: 1, event: "ready_to_exec" }).length > 0); // true
 * ```
 */
export function recordProblems(value: unknown): string[] {
  const result = v.safeParse(TranscriptRecordSchema, value, { abortEarly: false });
  if (result.success) return [];
  return result.issues.map((issue) => {
    const path = (issue.path ?? []).map((p) => p.key).join(".");
    return `${path ? path + ": " : ""}${issue.message}`;
  });
}
