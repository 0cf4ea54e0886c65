/**
 * `transcript verify` checks every `phase_resolved` detail against the plan: a real
 * transcript verifies, and each forged detail (re-chained, as a forger without keys can)
 * is caught as a `details` problem.
 */
import assert from "node:assert/strict";
import { readPlan } from "../audit/verify_plan.ts";
import { verifyTranscript } from "../audit/verify_transcript.ts";
import { charter, rechain, shPolicy, tempDir, writePolicy } from "./helpers.ts";

const enc = new TextEncoder();

Deno.test("every phase_resolved detail the plan fixes is checked; forged ones are caught", async (t) => {
  using dir = tempDir();
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    shPolicy(
      "exit 0",
      `user: { namespace: true }
namespaces: { net: true, pid: true, uts: true }
hostname: box
limits: { nofile: 64 }
`,
    ),
  );
  const t1 = `${dir}/t.jsonl`;
  const plan = `${dir}/plan.json`;
  const r = await charter(["launch", policy, "--no-seal", "--transcript", t1, "--plan-out", plan]);
  assert.equal(r.code, 0, r.stderr);
  const read = await readPlan(Deno.readFileSync(plan));
  const facts = { payload: read.payload, plan: read.statement.predicate };
  const lines = Deno.readTextFileSync(t1).trim().split("\n");
  await t.step("the real transcript verifies", async () => {
    const report = await verifyTranscript(enc.encode(await rechain(lines)), facts);
    assert.deepEqual(report.problems, []);
  });
  const forgeries: [string, number, RegExp, string, RegExp][] = [
    [
      "a uid map the plan never asked for",
      1,
      /"uidMap":"\d+ /,
      '"uidMap":"1000 ',
      /userNamespace is/,
    ],
    ["another cwd", 2, /"opened":"\/"/, '"opened":"/tmp"', /cwd is .*"opened":"\/tmp"/],
    ["another hostname", 2, /"hostname":"box"/, '"hostname":"other"', /hostname is "other"/],
    [
      "an env name the plan does not set",
      3,
      /"set":\["PATH"\]/,
      '"set":["PATH","X"]',
      /env\.set names X/,
    ],
    ["a higher rlimit", 3, /"NOFILE":64/, '"NOFILE":65536', /rlimits\.NOFILE is 65536/],
    ["a narrower Landlock report", 4, /"read_file",/, "", /landlock\.handledFs is/],
    [
      "a seccomp filter of another size",
      4,
      /"instructions":(\d+)/,
      '"instructions":7',
      /seccomp\.instructions is 7/,
    ],
    [
      "seccomp denials said recorded in another shape",
      4,
      /"denials":\{"recorded":true\}/,
      '"denials":{"recorded":1}',
      /seccomp\.denials is \{"recorded":1\}/,
    ],
    [
      "Landlock denials said recorded on an ABI that logs none",
      4,
      /"abi":\d+,("absentPaths":\[[^\]]*\],)"denials":"[a-z]+"(,"denialsUnobserved":"[^"]*")?/,
      '"abi":6,$1"denials":"recorded"',
      /landlock\.denials is recorded for ABI 6/,
    ],
    [
      "a detail no phase reports",
      5,
      /"script":false/,
      '"script":false,"sandboxed":true',
      /details\.sandboxed is not/,
    ],
    [
      "a phase said to be not required",
      1,
      /"result":"applied"/,
      '"result":"not_required"',
      /result is not_required/,
    ],
  ];
  for (const [what, phase, from, to, expected] of forgeries) {
    await t.step(what, async () => {
      const edited = lines.map((l) =>
        l.includes('"event":"phase_resolved"') && l.includes(`"phase":${phase},`)
          ? l.replace(from, to)
          : l
      );
      assert.notDeepEqual(edited, lines, `${what}: nothing was edited`);
      const report = await verifyTranscript(enc.encode(await rechain(edited)), facts);
      const details = report.problems.filter((p) => p.rule === "details");
      assert.ok(details.some((p) => expected.test(p.message)), JSON.stringify(report.problems));
    });
  }
});
