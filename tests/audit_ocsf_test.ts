import assert from "node:assert/strict";
import { Ajv } from "ajv";
// deno-lint-ignore no-explicit-any -- events are read field by field, as a consumer would
type OcsfEvent = Record<string, any>;
import { charter, compile, keygen, shPolicy, tempDir, writePolicy } from "./helpers.ts";

const schema = JSON.parse(
  Deno.readTextFileSync(new URL("./ocsf/process_activity.schema.json", import.meta.url)),
);
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

/** Launches a policy and exports its transcript; returns the OCSF events. */
async function exportOf(
  dir: string,
  script: string,
  trust?: string,
): Promise<OcsfEvent[]> {
  const { key, pub } = await keygen(dir);
  // Outside a pid namespace: its pid 1 would ignore the script's `kill -KILL $$`.
  const policy = writePolicy(dir, "p.yaml", shPolicy(script, "namespaces: { pid: false }\n"));
  const plan = await compile(policy, key, dir);
  await charter([
    "launch",
    plan,
    "--trust",
    trust ?? pub,
    "--no-seal",
    "--transcript",
    `${dir}/t.jsonl`,
  ]);
  const r = await charter([
    "transcript",
    "export",
    "--format",
    "ocsf",
    "--plan",
    plan,
    `${dir}/t.jsonl`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split("\n").map((l) => JSON.parse(l));
}

function assertValid(events: Record<string, unknown>[]) {
  for (const e of events) assert.ok(validate(e), JSON.stringify(validate.errors, null, 2));
}

Deno.test("a successful launch exports Launch, Launch, Terminate that validate against OCSF", async () => {
  using dir = tempDir();
  const events = await exportOf(String(dir), "exit 3");
  assertValid(events);
  assert.deepEqual(events.map((e) => e.type_uid), [100701, 100701, 100702]);
  assert.equal(events[2].exit_code, 3);
  assert.ok(events.every((e) => e.metadata.correlation_uid === events[0].metadata.correlation_uid));
  assert.deepEqual(events.map((e) => e.metadata.sequence), [3, 10, 11]);
  assert.equal(events[0].process.file.path, "/bin/sh");
  assert.match(events[0].process.file.hashes[0].value, /^[0-9a-f]{64}$/);
  assert.equal(events[0].process.cmd_line, "sh -c exit 3");
});

Deno.test("a refusal exports a blocked, failed Launch", async () => {
  using dir = tempDir();
  const other = await keygen(String(dir), "other");
  const events = await exportOf(String(dir), "exit 0", other.pub);
  assertValid(events);
  assert.equal(events.length, 1);
  assert.equal(events[0].type_uid, 100701);
  assert.equal(events[0].status_id, 2);
  assert.equal(events[0].disposition_id, 2);
  assert.match(events[0].status_detail, /^signature_invalid: /);
});

Deno.test("a death by signal exports Terminate with 128+signal", async () => {
  using dir = tempDir();
  const events = await exportOf(String(dir), "kill -KILL $$");
  assertValid(events);
  assert.equal(events.at(-1)!.exit_code, 137);
  assert.equal(events.at(-1)!.status_detail, "killed by signal 9");
});

Deno.test("the OCSF schema in tests/ rejects an event without its required fields", () => {
  assert.ok(!validate({ class_uid: 1007, activity_id: 1 }));
  assert.ok(!validate({ ...minimal(), type_uid: 100702 }), "Launch with a Terminate type_uid");
  assert.ok(validate(minimal()), JSON.stringify(validate.errors));
});

function minimal() {
  return {
    activity_id: 1,
    category_uid: 1,
    class_uid: 1007,
    type_uid: 100701,
    severity_id: 1,
    time: 0,
    metadata: { version: "1.3.0", product: { name: "x", vendor_name: "x" } },
    actor: { app_name: "x" },
    device: { type_id: 0 },
    process: { pid: 1 },
  };
}
