/**
 * `transcript verify` streams: a file of thousands of sealed launches verifies in a heap
 * far smaller than the parsed file (the whole-file verifier needed about five times the
 * file size), and one broken launch among them is still found.
 */
import assert from "node:assert/strict";
import { ROOT, run, tempDir } from "./helpers.ts";
import { replicator } from "./transcript_replica.ts";

/** `charter transcript verify` with V8's heap capped at `heapMiB`. */
function verifyIn(heapMiB: number, file: string, plan: string, sealPub: string) {
  return run(Deno.execPath(), [
    "run",
    `--v8-flags=--max-old-space-size=${heapMiB}`,
    "-A",
    "--quiet",
    `${ROOT}/cli.ts`,
    "transcript",
    "verify",
    file,
    "--plan",
    plan,
    "--seal-key",
    sealPub,
  ]);
}

Deno.test("3,000 sealed launches (16 MiB) verify with a 24 MiB heap; a forged one is found", async () => {
  using dir = tempDir();
  const replicas = await replicator(String(dir));
  const file = `${dir}/many.jsonl`;
  await replicas.write(file, 3000);
  assert.ok(Deno.statSync(file).size > 15 * 2 ** 20);
  const r = await verifyIn(24, file, replicas.plan, replicas.sealPub);
  assert.equal(r.code, 0, r.stderr.slice(0, 2000));
  assert.equal(r.stdout.trim().split("\n").length, 3000);
  assert.ok(
    r.stdout.trim().split("\n").every((l) => /: ok, 13 records, exited with code 0/.test(l)),
  );
  // A record edited in the middle of the file breaks its launch's chain and seal.
  const text = Deno.readTextFileSync(file);
  const at = text.indexOf('"event":"child_exited"', text.length / 2);
  Deno.writeTextFileSync(file, text.slice(0, at) + text.slice(at).replace('"code":0', '"code":1'));
  const forged = await verifyIn(24, file, replicas.plan, replicas.sealPub);
  assert.equal(forged.code, 1);
  assert.match(forged.stderr, /: chain: prev is/);
  assert.match(forged.stderr, /: seal: the seal states the outcome/);
  assert.equal(forged.stdout.trim().split("\n").length, 2999);
});

Deno.test("a forged file of 60,000 launches that never end verifies in a 64 MiB heap", async () => {
  // Attack: every line starts a launch of its own (a new launchId) and none ends. Each open
  // launch kept a verifier (~2.4 KiB) until the end of the stream: 300,000 such lines (83
  // MB) took 728 MB, so a forged file of a few GB ran the verifier out of memory. At most
  // MAX_OPEN_LAUNCHES are now open; the idlest is finished as it stands.
  using dir = tempDir();
  const replicas = await replicator(String(dir));
  const file = `${dir}/forged.jsonl`;
  const line = (i: number) =>
    JSON.stringify({
      event: "launcher_started",
      gid: 0,
      launchId: i.toString(16).padStart(32, "0"),
      monoNs: 1,
      pid: 1,
      prev: "0".repeat(64),
      seq: 0,
      shim: { name: "charter_shim", version: "0.1.0" },
      time: "2026-01-01T00:00:00Z",
      uid: 0,
      v: 1,
    }) + "\n";
  const lines: string[] = [];
  for (let i = 0; i < 60_000; i++) lines.push(line(i));
  Deno.writeTextFileSync(file, lines.join(""));
  const r = await verifyIn(64, file, replicas.plan, replicas.sealPub);
  assert.equal(r.code, 1, r.stderr.slice(-2000));
  assert.doesNotMatch(r.stderr, /out of memory|heap limit/i);
  // Every launch is reported, the last line's too.
  assert.match(r.stderr + r.stdout, /forged\.jsonl:60000: chain: /);
});
