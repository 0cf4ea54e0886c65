/**
 * docs/auditing.md promises that a plan and a transcript can be verified with openssl and
 * jq alone. This runs its two command blocks exactly as written, against real evidence
 * (must pass) and tampered evidence (must fail).
 */
import assert from "node:assert/strict";
import { charter, compile, keygen, ROOT, run, shPolicy, tempDir, writePolicy } from "./helpers.ts";

const doc = Deno.readTextFileSync(`${ROOT}/docs/auditing.md`);
const [verifyPlan, verifyTranscript] = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);

/** A directory with plan.dsse.json, signer.pub and t.jsonl from a real launch. */
async function evidence(dir: string, exe = "/bin/sh") {
  const { key, pub } = await keygen(dir);
  Deno.renameSync(pub, `${dir}/signer.pub`);
  const plan = await compile(
    writePolicy(dir, "p.yaml", shPolicy("exit 0").replace("exe: /bin/sh", `exe: ${exe}`)),
    key,
    dir,
  );
  const r = await charter([
    "launch",
    plan,
    "--trust",
    `${dir}/signer.pub`,
    "--no-seal",
    "--transcript",
    `${dir}/t.jsonl`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return { key, plan };
}

const sh = (dir: string, script: string) => run("bash", ["-c", script], { cwd: dir });

Deno.test("the doc has exactly the two command blocks", () => {
  assert.ok(verifyPlan?.includes("openssl pkeyutl -verify"));
  assert.ok(verifyTranscript?.includes("sha256sum"));
});

Deno.test("openssl and jq verify a real plan and its transcript", async () => {
  using dir = tempDir();
  await evidence(String(dir));
  const p = await sh(String(dir), verifyPlan);
  assert.equal(p.code, 0, p.stdout + p.stderr);
  assert.match(p.stdout, /plan verified: \/bin\/sh/);
  const t = await sh(String(dir), verifyTranscript);
  assert.equal(t.code, 0, t.stdout + t.stderr);
  assert.match(t.stdout, /transcript verified: 12 records, head [0-9a-f]{64}/);
});

Deno.test("openssl rejects a plan with a flipped payload byte", async () => {
  using dir = tempDir();
  await evidence(String(dir));
  const env = JSON.parse(Deno.readTextFileSync(`${dir}/plan.dsse.json`));
  const payload = Uint8Array.from(atob(env.payload), (c) => c.charCodeAt(0));
  payload[60] ^= 1;
  env.payload = btoa(String.fromCharCode(...payload));
  Deno.writeTextFileSync(`${dir}/plan.dsse.json`, JSON.stringify(env));
  const p = await sh(String(dir), verifyPlan);
  assert.notEqual(p.code, 0);
  assert.doesNotMatch(p.stdout, /plan verified/);
});

Deno.test("openssl rejects a plan under someone else's key", async () => {
  using dir = tempDir();
  await evidence(String(dir));
  const other = await keygen(String(dir), "other");
  Deno.renameSync(other.pub, `${dir}/signer.pub`);
  assert.notEqual((await sh(String(dir), verifyPlan)).code, 0);
});

Deno.test("the plan check fails when the target on disk changed", async () => {
  using dir = tempDir();
  Deno.copyFileSync("/bin/sh", `${dir}/sh`);
  await evidence(String(dir), `${dir}/sh`);
  Deno.writeFileSync(`${dir}/sh`, new Uint8Array([0]), { append: true });
  const p = await sh(String(dir), verifyPlan);
  assert.notEqual(p.code, 0);
});

Deno.test("jq rejects a transcript with an edited, removed or foreign line", async (t) => {
  using dir = tempDir();
  await evidence(String(dir));
  assert.equal((await sh(String(dir), verifyPlan)).code, 0);
  const lines = Deno.readTextFileSync(`${dir}/t.jsonl`).split("\n").slice(0, -1);
  const cases: [string, string[]][] = [
    ["edited pid", lines.map((l, i) => (i === 3 ? l.replace(/"pid":\d+/, '"pid":1') : l))],
    ["removed line", lines.filter((_, i) => i !== 5)],
    ["swapped lines", lines.map((_, i) => lines[i === 6 ? 7 : i === 7 ? 6 : i])],
    ["truncated before the end", lines.slice(0, 8)],
  ];
  for (const [name, tampered] of cases) {
    await t.step(name, async () => {
      Deno.writeTextFileSync(`${dir}/t.jsonl`, tampered.join("\n") + "\n");
      const r = await sh(String(dir), verifyTranscript);
      assert.notEqual(r.code, 0, `${name} passed:\n${r.stdout}`);
    });
  }
});
