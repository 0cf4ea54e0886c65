/**
 * Transcripts as evidence: real transcripts of every kind of outcome verify, and every
 * single-line edit, deletion, reorder and truncation of each is caught.
 */
import assert from "node:assert/strict";
import { readPlan } from "../audit/verify_plan.ts";
import { readTrustedKeys } from "../crypto/keys.ts";
import { type PlanFacts, verifyTranscript } from "../audit/verify_transcript.ts";
import { charter, compile, keygen, shPolicy, tempDir, writePolicy } from "./helpers.ts";

interface RealTranscript {
  name: string;
  bytes: Uint8Array;
  facts: PlanFacts;
  outcome: string;
}

/** Four real launches: success, refusal, setup fault, death by signal. */
async function realTranscripts(dir: string, sealKey?: string): Promise<RealTranscript[]> {
  const { key, pub } = await keygen(dir);
  const other = await keygen(dir, "other");
  // An executable file the kernel cannot run: execveat fails in the child (a setup fault).
  const notAProgram = `${dir}/not-a-program`;
  Deno.writeTextFileSync(notAProgram, "\0\0\0\0 not a program\n", { mode: 0o755 });
  const kinds: [string, string, string, string[], string][] = [
    ["success", "exit 0", "/bin/sh", [], "exited with code 0"],
    ["signal", "kill -KILL $$", "/bin/sh", [], "killed by signal 9"],
    ["fault", "exit 0", notAProgram, [], "exited with code 126"],
    ["refusal", "exit 0", "/bin/sh", ["--trust", other.pub], "refused: signature_invalid"],
  ];
  const out: RealTranscript[] = [];
  for (const [name, script, exe, trust, outcome] of kinds) {
    Deno.mkdirSync(`${dir}/${name}`);
    const plan = await compile(
      writePolicy(
        `${dir}/${name}`,
        "p.yaml",
        // Outside a pid namespace: its pid 1 would ignore the script's `kill -KILL $$`. A
        // sealed launch's child must not be able to read the seal key: it runs as nobody.
        shPolicy(
          script,
          "namespaces: { pid: false }\n" +
            (sealKey ? "user: { namespace: false, uid: 65534, gid: 65534 }\n" : ""),
        ).replace("exe: /bin/sh", `exe: ${exe}`),
      ),
      key,
      `${dir}/${name}`,
    );
    const t = `${dir}/${name}/t.jsonl`;
    await charter([
      "launch",
      plan,
      ...(trust.length ? trust : ["--trust", pub]),
      "--transcript",
      t,
      ...(sealKey ? ["--transcript-key", sealKey] : ["--no-seal"]),
    ]);
    const read = await readPlan(Deno.readFileSync(plan));
    out.push({
      name,
      bytes: Deno.readFileSync(t),
      facts: { payload: read.payload, plan: read.statement.predicate },
      outcome,
    });
  }
  return out;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const join = (lines: string[]) => enc.encode(lines.map((l) => l + "\n").join(""));

Deno.test("real transcripts of every outcome verify; every single-line tampering is caught", async (t) => {
  using dir = tempDir();
  for (const real of await realTranscripts(String(dir))) {
    const lines = dec.decode(real.bytes).split("\n").slice(0, -1);
    await t.step(`${real.name}: the real transcript verifies`, async () => {
      const report = await verifyTranscript(real.bytes, real.facts);
      assert.deepEqual(report.problems, []);
      assert.equal(report.outcome, real.outcome);
    });
    await t.step(`${real.name}: every deletion, edit, swap and truncation is caught`, async () => {
      const caught = async (bytes: Uint8Array, what: string) => {
        const report = await verifyTranscript(bytes, real.facts);
        assert.ok(!report.ok, `${real.name}: ${what} was not caught`);
      };
      for (let i = 0; i < lines.length; i++) {
        await caught(join(lines.filter((_, j) => j !== i)), `deleting line ${i + 1}`);
        // The chain protects a line through its successor's prev; the last line needs the seal.
        if (i === lines.length - 1) continue;
        // An edit that keeps the JSON valid: change one digit inside a value.
        const edited = lines[i].replace(
          /("time":"\d{4}-\d\d-\d)(\d)/,
          (_, a, d) => a + ((Number(d) + 1) % 10),
        );
        assert.notEqual(edited, lines[i]);
        await caught(join(lines.map((l, j) => (j === i ? edited : l))), `editing line ${i + 1}`);
        if (i + 1 < lines.length) {
          const swapped = [...lines];
          [swapped[i], swapped[i + 1]] = [swapped[i + 1], swapped[i]];
          await caught(join(swapped), `swapping lines ${i + 1} and ${i + 2}`);
        }
        if (i > 0) await caught(join(lines.slice(0, i)), `truncating after line ${i}`);
        await caught(enc.encode(dec.decode(join(lines)).slice(0, -1)), "removing the final LF");
      }
    });
  }
});

Deno.test("a record with a duplicate key is rejected even when the chain is recomputed", async () => {
  using dir = tempDir();
  const [real] = await realTranscripts(String(dir));
  const lines = dec.decode(real.bytes).split("\n").slice(0, -1);
  // Re-chain the whole transcript after the edit, as a forger without the plan key could.
  const forged: string[] = [];
  let prev = lines[0].match(/"prev":"([0-9a-f]{64})"/)![1];
  for (const [i, line] of lines.entries()) {
    let l = line.replace(/"prev":"[0-9a-f]{64}"/, `"prev":"${prev}"`);
    if (i === 3) l = l.replace(/^\{/, '{"pid":1,');
    forged.push(l);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(l)));
    prev = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  const report = await verifyTranscript(join(forged), real.facts);
  const json = report.problems.filter((p) => p.rule === "json");
  assert.deepEqual(json.map((p) => p.line), [4]);
  assert.match(json[0].message, /duplicate key "pid"/);
});

Deno.test("a changed exe digest is caught even when the chain is recomputed", async () => {
  using dir = tempDir();
  const [real] = await realTranscripts(String(dir));
  const lines = dec.decode(real.bytes).split("\n").slice(0, -1);
  const forged: string[] = [];
  let prev = lines[0].match(/"prev":"([0-9a-f]{64})"/)![1];
  for (const line of lines) {
    const l = line.replace(/"prev":"[0-9a-f]{64}"/, `"prev":"${prev}"`).replace(
      /"exeSha256":"[0-9a-f]{64}"/,
      `"exeSha256":"${"0".repeat(64)}"`,
    );
    forged.push(l);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(l)));
    prev = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  const report = await verifyTranscript(join(forged), real.facts);
  assert.deepEqual(report.problems.map((p) => p.rule), ["digest"]);
});

Deno.test("sealed transcripts: every single-line tampering, the last line included, is caught", async (t) => {
  using dir = tempDir();
  const sealer = await keygen(String(dir), "sealer");
  const sealKeys = await readTrustedKeys([sealer.pub]);
  for (const real of await realTranscripts(String(dir), sealer.key)) {
    const facts = { ...real.facts, sealKeys, requireSeal: true };
    const lines = dec.decode(real.bytes).split("\n").slice(0, -1);
    await t.step(`${real.name}: the sealed transcript verifies`, async () => {
      const report = await verifyTranscript(real.bytes, facts);
      assert.deepEqual(report.problems, []);
      assert.deepEqual(report.seal, { signer: sealKeys[0].keyid });
      assert.equal(JSON.parse(lines.at(-1)!).event, "transcript_sealed");
    });
    await t.step(`${real.name}: every deletion, edit and truncation is caught`, async () => {
      for (let i = 0; i < lines.length; i++) {
        const edited = lines[i].replace(
          /("time":"\d{4}-\d\d-\d)(\d)/,
          (_, a, d) => a + ((Number(d) + 1) % 10),
        );
        for (
          const [what, tampered] of [
            [`deleting line ${i + 1}`, lines.filter((_, j) => j !== i)],
            [`editing line ${i + 1}`, lines.map((l, j) => (j === i ? edited : l))],
            [`truncating after line ${i}`, lines.slice(0, i)],
          ] as const
        ) {
          if (tampered.length === 0) continue;
          const report = await verifyTranscript(join([...tampered]), facts);
          assert.ok(!report.ok, `${real.name}: ${what} was not caught`);
        }
      }
    });
  }
});

Deno.test("a seal by a key that is not trusted, or a forged seal, is caught", async () => {
  using dir = tempDir();
  const sealer = await keygen(String(dir), "sealer");
  const other = await keygen(String(dir), "other-sealer");
  const [real] = await realTranscripts(String(dir), sealer.key);
  const wrongKey = await verifyTranscript(real.bytes, {
    ...real.facts,
    sealKeys: await readTrustedKeys([other.pub]),
  });
  assert.deepEqual(wrongKey.problems.map((p) => p.rule), ["seal"]);
  assert.match(wrongKey.problems[0].message, /the seal does not verify/);
  // Re-chained after changing the exit code: the seal's signature still covers the old facts.
  const lines = dec.decode(real.bytes).split("\n").slice(0, -1);
  const forged = [...lines];
  forged[lines.length - 2] = forged[lines.length - 2].replace(/"code":0/, '"code":1');
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", enc.encode(forged[lines.length - 2])),
  );
  const head = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  forged[lines.length - 1] = forged[lines.length - 1].replace(
    /"prev":"[0-9a-f]{64}"/,
    `"prev":"${head}"`,
  );
  const report = await verifyTranscript(join(forged), {
    ...real.facts,
    sealKeys: await readTrustedKeys([sealer.pub]),
  });
  assert.ok(
    report.problems.some((p) => p.rule === "seal" && /outcome|digest|head/.test(p.message)),
    JSON.stringify(report.problems),
  );
});

/** Re-chains lines as a producer would write them: each prev is the sha256 of the line before. */
async function rechain(lines: string[]): Promise<string[]> {
  const out: string[] = [];
  let prev = lines[0].match(/"prev":"([0-9a-f]{64})"/)![1];
  for (const [i, line] of lines.entries()) {
    const l = line.replace(/"prev":"[0-9a-f]{64}"/, `"prev":"${prev}"`).replace(
      /"seq":\d+/,
      `"seq":${i}`,
    );
    out.push(l);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(l)));
    prev = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  return out;
}

Deno.test("denied records verify between exec_succeeded and child_exited, rate-bounded", async () => {
  using dir = tempDir();
  const [real] = await realTranscripts(String(dir));
  // Landlock denied records verify only where phase 4 says they were recorded (audit on).
  const lines = dec.decode(real.bytes).split("\n").slice(0, -1).map((l) =>
    l.includes('"phase":4,')
      ? l.replace(/"denials":"unobserved","denialsUnobserved":"[^"]*"/, '"denials":"recorded"')
      : l
  );
  assert.ok(lines.some((l) => l.includes('"phase":4,') && l.includes('"denials":"recorded"')));
  const at = lines.findIndex((l) => l.includes('"event":"exec_succeeded"'));
  const denied = (n: number) =>
    Array.from({ length: n }, () =>
      lines[at].replace(
        '"event":"exec_succeeded"',
        '"event":"denied","mechanism":"landlock","what":"write /work/in/x","key":"filesystem.write","count":2',
      ));
  const verify = async (edited: string[]) =>
    (await verifyTranscript(join(await rechain(edited)), real.facts)).problems;
  assert.deepEqual(
    await verify([...lines.slice(0, at + 1), ...denied(3), ...lines.slice(at + 1)]),
    [],
  );
  const early = await verify([...lines.slice(0, at), ...denied(1), ...lines.slice(at)]);
  assert.deepEqual(early.map((p) => p.rule), ["order", "order"]);
  const flood = await verify([...lines.slice(0, at + 1), ...denied(101), ...lines.slice(at + 1)]);
  assert.deepEqual(flood.map((p) => p.rule), ["rate"]);
  const bad = lines[at].replace(
    '"event":"exec_succeeded"',
    '"event":"denied","mechanism":"apparmor","what":"x","key":"y"',
  );
  const fields = await verify([...lines.slice(0, at + 1), bad, ...lines.slice(at + 1)]);
  assert.deepEqual(fields.map((p) => p.rule), ["fields"]);
});
