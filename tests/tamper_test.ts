import assert from "node:assert/strict";
import { readPlan } from "../audit/verify_plan.ts";
import type { PlanStatement } from "../compiler/plan.ts";
import {
  charter,
  compile,
  keygen,
  readTranscript,
  shPolicy,
  signStatement,
  tempDir,
  writePolicy,
} from "./helpers.ts";

/** A plan whose target would create a marker file if it ever ran. */
async function markerPlan(dir: string, exe = "/bin/sh") {
  const { key, pub } = await keygen(dir);
  const marker = `${dir}/marker`;
  const policy = writePolicy(
    dir,
    "p.yaml",
    shPolicy(`: > ${marker}`).replace("exe: /bin/sh", `exe: ${exe}`),
  );
  const plan = await compile(policy, key, dir);
  return { key, pub, marker, plan, bytes: Deno.readFileSync(plan) };
}

/** Launches a plan file and asserts: exit 125, the refusal code in stderr and transcript, no child. */
async function assertRefused(
  dir: string,
  plan: string,
  pub: string,
  reason: string,
  marker: string,
) {
  const transcript = `${dir}/t-${reason}.jsonl`;
  const r = await charter([
    "launch",
    plan,
    "--trust",
    pub,
    "--no-seal",
    "--transcript",
    transcript,
  ]);
  assert.equal(r.code, 125, r.stderr);
  assert.ok(r.stderr.includes(reason), r.stderr);
  const records = readTranscript(transcript);
  assert.equal(records.at(-1)?.event, "setup_refused");
  assert.equal(records.at(-1)?.reason, reason);
  assert.ok(!records.some((rec) => rec.event === "child_created"));
  assert.ok(!exists(marker), "the target ran");
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Flips one bit of a base64 field of the envelope, decoding and re-encoding it. */
function flipInField(bytes: Uint8Array, field: "payload" | "sig", at: number): Uint8Array {
  const env = JSON.parse(new TextDecoder().decode(bytes));
  const holder = field === "payload" ? env : env.signatures[0];
  const raw = Uint8Array.from(atob(holder[field]), (c) => c.charCodeAt(0));
  raw[at < 0 ? raw.length + at : at] ^= 0x01;
  holder[field] = btoa(String.fromCharCode(...raw));
  return new TextEncoder().encode(JSON.stringify(env));
}

Deno.test("the untampered marker plan does run (the marker test can fail)", async () => {
  using dir = tempDir();
  const p = await markerPlan(String(dir));
  const r = await charter(["launch", p.plan, "--trust", p.pub]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(exists(p.marker));
});

Deno.test("a flipped byte in the payload is refused: signature_invalid", async () => {
  using dir = tempDir();
  const p = await markerPlan(String(dir));
  Deno.writeFileSync(p.plan, flipInField(p.bytes, "payload", 40));
  await assertRefused(String(dir), p.plan, p.pub, "signature_invalid", p.marker);
});

Deno.test("a flipped byte in the signature is refused: signature_invalid", async () => {
  using dir = tempDir();
  const p = await markerPlan(String(dir));
  Deno.writeFileSync(p.plan, flipInField(p.bytes, "sig", 5));
  await assertRefused(String(dir), p.plan, p.pub, "signature_invalid", p.marker);
});

Deno.test("a plan signed by an untrusted key is refused: signature_invalid", async () => {
  using dir = tempDir();
  const p = await markerPlan(String(dir));
  const other = await keygen(String(dir), "other");
  await assertRefused(String(dir), p.plan, other.pub, "signature_invalid", p.marker);
});

Deno.test("a target modified after compile is refused: digest_mismatch", async () => {
  using dir = tempDir();
  Deno.copyFileSync("/bin/sh", `${dir}/sh`);
  const p = await markerPlan(String(dir), `${dir}/sh`);
  Deno.writeFileSync(`${dir}/sh`, new Uint8Array([0]), { append: true });
  await assertRefused(String(dir), p.plan, p.pub, "digest_mismatch", p.marker);
});

/** Edits the statement of a validly signed plan, re-signs it with the signer's key, expects a refusal. */
async function assertResignedRefused(reason: string, edit: (statement: PlanStatement) => void) {
  using dir = tempDir();
  const p = await markerPlan(String(dir));
  const { statement } = await readPlan(p.bytes);
  edit(statement);
  Deno.writeFileSync(p.plan, await signStatement(statement, p.key));
  await assertRefused(String(dir), p.plan, p.pub, reason, p.marker);
}

Deno.test("an unknown primitive in a validly signed plan is refused: unknown_primitive", () =>
  assertResignedRefused("unknown_primitive", (s) => {
    (s.predicate.schedule as unknown[]).splice(4, 0, { id: "linux.scrub.teleport.v1", phase: 3 });
  }));

Deno.test("a signed plan that drops the env scrub is refused: plan_invalid", () =>
  assertResignedRefused("plan_invalid", (s) => {
    s.predicate.schedule = s.predicate.schedule.filter((p) => p.id !== "linux.scrub.env.v1");
  }));

Deno.test("a signed plan with an unknown key is refused: plan_invalid", () =>
  assertResignedRefused("plan_invalid", (s) => {
    (s.predicate as unknown as Record<string, unknown>).landlockMaybe = { fs: [] };
  }));

Deno.test("an expired plan is refused by the shim: plan_expired", () =>
  assertResignedRefused("plan_expired", (s) => {
    s.predicate.notAfter = "2001-01-01T00:00:00Z";
  }));

Deno.test("a plan for another architecture is refused: arch_mismatch", () =>
  assertResignedRefused("arch_mismatch", (s) => {
    s.predicate.arch = Deno.build.arch === "x86_64" ? "aarch64" : "x86_64";
  }));
