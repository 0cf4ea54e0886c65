import assert from "node:assert/strict";
import { charter, compile, keygen, shPolicy, tempDir, writePolicy } from "./helpers.ts";

/** Launches a real plan and returns the paths of the plan, the key and the transcript. */
async function realLaunch(dir: string, script = "exit 0") {
  const { key, pub } = await keygen(dir);
  const plan = await compile(writePolicy(dir, "p.yaml", shPolicy(script)), key, dir);
  const transcript = `${dir}/t.jsonl`;
  const r = await charter([
    "launch",
    plan,
    "--trust",
    pub,
    "--no-seal",
    "--transcript",
    transcript,
  ]);
  return { plan, pub, key, transcript, code: r.code };
}

function lines(path: string): string[] {
  return Deno.readTextFileSync(path).split("\n").slice(0, -1);
}

async function verify(transcript: string, plan: string, pub?: string) {
  return await charter([
    "transcript",
    "verify",
    "--allow-unsealed",
    transcript,
    "--plan",
    plan,
    ...(pub ? ["--trust", pub] : []),
  ]);
}

Deno.test("transcript verify accepts a real transcript", async () => {
  using dir = tempDir();
  const l = await realLaunch(String(dir), "exit 5");
  assert.equal(l.code, 5);
  const r = await verify(l.transcript, l.plan, l.pub);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ok, 12 records, exited with code 5; plan signed by SHA256:/);
});

Deno.test("transcript verify accepts a real refusal transcript", async () => {
  using dir = tempDir();
  const l = await realLaunch(String(dir));
  const other = await keygen(String(dir), "other");
  const t2 = `${dir}/refused.jsonl`;
  const r = await charter([
    "launch",
    l.plan,
    "--trust",
    other.pub,
    "--no-seal",
    "--transcript",
    t2,
  ]);
  assert.equal(r.code, 125);
  const v = await verify(t2, l.plan);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /refused: signature_invalid/);
});

Deno.test("transcript verify rejects an edited line", async () => {
  using dir = tempDir();
  const l = await realLaunch(String(dir));
  const all = lines(l.transcript);
  const i = all.findIndex((x) => x.includes('"child_created"'));
  all[i] = all[i].replace(/"pid":(\d+)/, (_, pid) => `"pid":${Number(pid) + 1}`);
  Deno.writeTextFileSync(l.transcript, all.join("\n") + "\n");
  const r = await verify(l.transcript, l.plan);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`t\\.jsonl:${i + 2}: chain:`));
});

Deno.test("transcript verify rejects a removed line", async () => {
  using dir = tempDir();
  const l = await realLaunch(String(dir));
  const all = lines(l.transcript);
  all.splice(5, 1);
  Deno.writeTextFileSync(l.transcript, all.join("\n") + "\n");
  const r = await verify(l.transcript, l.plan);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /t\.jsonl:6: chain:/);
  assert.match(r.stderr, /t\.jsonl:6: seq:/);
});

Deno.test("transcript verify rejects reordered lines", async () => {
  using dir = tempDir();
  const l = await realLaunch(String(dir));
  const all = lines(l.transcript);
  [all[6], all[7]] = [all[7], all[6]];
  Deno.writeTextFileSync(l.transcript, all.join("\n") + "\n");
  const r = await verify(l.transcript, l.plan);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /t\.jsonl:7: (chain|seq|order):/);
});

Deno.test("transcript verify rejects a truncated transcript", async () => {
  using dir = tempDir();
  const l = await realLaunch(String(dir));
  Deno.writeTextFileSync(l.transcript, lines(l.transcript).slice(0, -1).join("\n") + "\n");
  const r = await verify(l.transcript, l.plan);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /incomplete: the transcript ends after exec_succeeded/);
});

Deno.test("transcript verify rejects a transcript of another plan", async () => {
  using dir = tempDir();
  const l = await realLaunch(String(dir));
  Deno.mkdirSync(`${dir}/other`);
  const otherPlan = await compile(
    writePolicy(`${dir}/other`, "q.yaml", shPolicy("exit 1")),
    l.key,
    `${dir}/other`,
  );
  const r = await verify(l.transcript, otherPlan);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /t\.jsonl:1: chain: .*plan payload's sha256/);
  assert.match(r.stderr, /digest: planSha256/);
});
