/**
 * mod.ts as a library of another project: imported by path from a project outside this
 * repository, with a deno.json of its own, it type-checks (toOcsf composes with
 * splitTranscript) and runs: a policy loads and a real transcript exports and verifies.
 */
import assert from "node:assert/strict";
import { charter, ROOT, run, shPolicy, tempDir, writePolicy } from "./helpers.ts";

Deno.test("another project imports mod.ts by path: it type-checks and runs", async () => {
  using dir = tempDir();
  const project = `${dir}/project`;
  Deno.mkdirSync(project);
  // The other project's own configuration: nothing of ours in it.
  Deno.writeTextFileSync(`${project}/deno.json`, JSON.stringify({ imports: {} }));
  const policy = writePolicy(String(dir), "p.yaml", shPolicy("exit 0"));
  const launched = await charter([
    "launch",
    policy,
    "--no-seal",
    "--plan-out",
    `${dir}/plan.json`,
    "--transcript",
    `${dir}/t.jsonl`,
  ]);
  assert.equal(launched.code, 0, launched.stderr);
  Deno.writeTextFileSync(
    `${project}/main.ts`,
    `import {
  loadPolicy,
  readPlan,
  splitTranscript,
  toOcsf,
  verifyTranscriptFile,
  type OcsfEvent,
} from "${ROOT}/mod.ts";

const policy = await loadPolicy(${JSON.stringify(policy)});
const bytes = await Deno.readFile(${JSON.stringify(`${dir}/t.jsonl`)});
const events: OcsfEvent[] = toOcsf(splitTranscript(bytes).map((l) => l.record), {
  hostname: "builder",
});
const plan = await readPlan(await Deno.readFile(${JSON.stringify(`${dir}/plan.json`)}));
const [report] = await verifyTranscriptFile(bytes, {
  payload: plan.payload,
  plan: plan.statement.predicate,
});
console.log(policy.policy.name, events.map((e) => e.type_uid).join(","), report.ok);
`,
  );
  const check = await run(Deno.execPath(), ["check", "main.ts"], { cwd: project });
  assert.equal(check.code, 0, check.stderr);
  const r = await run(Deno.execPath(), ["run", "-A", "main.ts"], { cwd: project });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "sh-test 100701,100702 true");
});

Deno.test("deno publish --dry-run passes, with the license and without tests or benches", async () => {
  const r = await run(Deno.execPath(), ["publish", "--dry-run", "--allow-dirty"], { cwd: ROOT });
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout + r.stderr;
  assert.match(out, /mod\.ts/);
  assert.match(out, /LICENSE/);
  assert.doesNotMatch(out, /\/tests\/|\/bench\//);
});
