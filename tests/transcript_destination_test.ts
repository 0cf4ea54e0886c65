/**
 * Transcript destinations: a file, an inherited control fd; and destinations
 * that fail (disk full, a reader that goes away) never lose a launch silently.
 */
import assert from "node:assert/strict";
import {
  charter,
  charterArgv,
  compile,
  keygen,
  launcherEnv,
  readTranscript,
  shellQuote,
  shPolicy,
  tempDir,
  writePolicy,
} from "./helpers.ts";

Deno.test("--transcript FILE appends: two launches, two chains", async () => {
  using dir = tempDir();
  const policy = writePolicy(String(dir), "p.yaml", shPolicy("exit 0"));
  for (let i = 0; i < 2; i++) {
    await charter(["launch", policy, "--no-seal", "--transcript", `${dir}/t.jsonl`]);
  }
  const records = readTranscript(`${dir}/t.jsonl`);
  assert.equal(records.length, 24);
  assert.equal(records[12].event, "launcher_started");
  assert.notEqual(records[0].launchId, records[12].launchId);
});

Deno.test("a full disk refuses to start the child (126), and the target never runs", async () => {
  using dir = tempDir();
  const r = await charter([
    "launch",
    writePolicy(String(dir), "p.yaml", shPolicy(`: > ${dir}/marker`)),
    "--no-seal",
    "--transcript",
    "/dev/full",
  ]);
  assert.equal(r.code, 126);
  assert.match(r.stderr, /setup failed at transcript \(errno 28\)/);
  assert.throws(() => Deno.statSync(`${dir}/marker`));
});

Deno.test("a reader that goes away mid-run: the child ran, the launcher says so and exits 126", async () => {
  using dir = tempDir();
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    shPolicy(`sleep 0.3; : > ${dir}/marker; exit 3`),
  );
  // The audit agent stops reading after exec_succeeded, before child_exited is written.
  const reader =
    `while IFS= read -r l; do printf '%s\\n' "$l" >> ${dir}/seen; case $l in *exec_succeeded*) exit 0;; esac; done`;
  const r = await new Deno.Command("bash", {
    args: [
      "-c",
      `exec 9> >(${reader}); ${
        shellQuote(charterArgv(["launch", policy, "--no-seal", "--control-fd", "9"]))
      }`,
    ],
    env: launcherEnv({}),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 126, stderr);
  assert.match(
    stderr,
    /the transcript could not be completely written \(errno 32\); the child exited with 3/,
  );
  Deno.statSync(`${dir}/marker`);
  assert.equal(
    Deno.readTextFileSync(`${dir}/seen`).trim().split("\n").at(-1)!.includes("exec_succeeded"),
    true,
  );
});

Deno.test("launch POLICY --plan-out keeps the plan the transcript chains to", async () => {
  using dir = tempDir();
  const policy = writePolicy(String(dir), "p.yaml", shPolicy("exit 0"));
  const r = await charter([
    "launch",
    policy,
    "--no-seal",
    "--transcript",
    `${dir}/t.jsonl`,
    "--plan-out",
    `${dir}/plan.json`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const v = await charter([
    "transcript",
    "verify",
    "--allow-unsealed",
    `${dir}/t.jsonl`,
    "--plan",
    `${dir}/plan.json`,
  ]);
  assert.equal(v.code, 0, v.stderr);
});

Deno.test("transcript verify checks every launch of an appended file, or the one named", async () => {
  using dir = tempDir();
  const { key, pub } = await keygen(String(dir));
  const plan = await compile(
    writePolicy(String(dir), "p.yaml", shPolicy("exit 0")),
    key,
    String(dir),
  );
  for (let i = 0; i < 2; i++) {
    await charter(["launch", plan, "--trust", pub, "--no-seal", "--transcript", `${dir}/t.jsonl`]);
  }
  const all = await charter([
    "transcript",
    "verify",
    "--allow-unsealed",
    `${dir}/t.jsonl`,
    "--plan",
    plan,
  ]);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(all.stdout.trim().split("\n").length, 2);
  assert.match(all.stdout, /t\.jsonl:13: launch [0-9a-f]{32}: ok, 12 records/);
  const second = readTranscript(`${dir}/t.jsonl`)[12].launchId as string;
  const one = await charter([
    "transcript",
    "verify",
    "--allow-unsealed",
    `${dir}/t.jsonl`,
    "--plan",
    plan,
    "--launch-id",
    second,
  ]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(one.stdout.trim().split("\n").length, 1);
  // An edit in the second launch is reported with the file's own line number.
  const lines = Deno.readTextFileSync(`${dir}/t.jsonl`).split("\n");
  lines[15] = lines[15].replace(/"pid":\d+/, '"pid":1');
  Deno.writeTextFileSync(`${dir}/t.jsonl`, lines.join("\n"));
  const bad = await charter([
    "transcript",
    "verify",
    "--allow-unsealed",
    `${dir}/t.jsonl`,
    "--plan",
    plan,
  ]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /t\.jsonl:17: chain:/);
});
