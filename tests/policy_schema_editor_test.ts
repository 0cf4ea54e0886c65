/**
 * The policy JSON Schema as editors use it: every key documented (from the key table of
 * docs/policy-language.md), enums that complete capability, syscall, group, errno,
 * built-in and protocol names, and policies `charter check` rejects rejected by the schema
 * too (validated with ajv, as yaml-language-server does).
 */
import assert from "node:assert/strict";
import { Ajv } from "ajv";
import { parse } from "yaml";
import { generatedSchemas } from "../audit/json_schemas.ts";
import { policyKeyDocs } from "../audit/policy_schema_docs.ts";
import { charter, ROOT, tempDir, writePolicy } from "./helpers.ts";

// deno-lint-ignore no-explicit-any -- the schema is walked as plain JSON
type Json = any;

const schema: Json = generatedSchemas()["policy.schema.json"];
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

/** Every property of the schema, with its key path (list entries as `[]`). */
function properties(node: Json, path = ""): [string, Json][] {
  return Object.entries(node.properties ?? {}).flatMap(([key, child]: [string, Json]) => {
    const at = path ? `${path}.${key}` : key;
    return [
      [at, child] as [string, Json],
      ...properties(child, at),
      ...(child.items ? properties(child.items, `${at}[]`) : []),
    ];
  });
}

Deno.test("every key of the policy schema has a description from docs/policy-language.md", () => {
  const all = properties(schema);
  assert.ok(all.length > 60, `${all.length} properties`);
  for (const [path, p] of all) {
    assert.equal(typeof p.description, "string", `${path} has no description`);
    assert.ok(p.description.length > 10, `${path}: ${p.description}`);
    assert.equal(typeof p.markdownDescription, "string", path);
  }
  // The text is the documentation's, not a second copy.
  const docs = policyKeyDocs(Deno.readTextFileSync(`${ROOT}/docs/policy-language.md`));
  const exe = docs.get("target.exe")!.meaning;
  assert.ok(schema.properties.target.properties.exe.description.startsWith(exe.slice(0, 30)));
  assert.ok(docs.get("namespaces.uts"), "a {a,b} key expands");
  assert.ok(docs.get("user.gid"), "a `a`, `b` key expands");
});

Deno.test("capability, syscall, group, errno, built-in and protocol names are enums", () => {
  const p = schema.properties;
  const capability = p.capabilities.items.anyOf.find((a: Json) => a.enum).enum;
  assert.ok(capability.includes("CAP_NET_ADMIN") && capability.includes("net_admin"));
  const allow = p.syscalls.properties.allow.items.enum;
  assert.ok(allow.includes("openat") && allow.includes("@mount") && allow.includes("mmap2"));
  assert.ok(!p.syscalls.properties.unsafe_allow.items.enum.includes("@mount"));
  assert.ok(p.syscalls.properties.rules.items.properties.syscall.enum.includes("socket"));
  const errno = p.syscalls.properties.default.anyOf[1].properties.errno.anyOf[0];
  assert.ok(errno.enum.includes("EPERM") && errno.enum.includes("ENOSYS"));
  assert.deepEqual(
    p.extends.items.anyOf[0].enum,
    [
      "builtin:base",
      "builtin:build",
      "builtin:git",
      "builtin:network-client",
      "builtin:node",
      "builtin:python",
      "builtin:shell",
    ],
  );
  const remove = p.remove.properties;
  assert.ok(remove.syscalls.properties.allow.items.enum.includes("@mount"));
  assert.ok(remove.capabilities.items.anyOf.find((a: Json) => a.enum).enum.includes("net_raw"));
  assert.ok(p.network.properties.protocols.items.enum.includes("udp"));
});

const BASE = "version: 1\nname: p\ntarget: { exe: /bin/true }\n";

/** Policies `charter check` rejects; the schema must reject each too. */
const REJECTED: Record<string, string> = {
  "an unknown capability": `${BASE}user: { namespace: true }\ncapabilities: [CAP_FLY]\n`,
  "an unknown syscall": `${BASE}syscalls: { allow: [opne] }\n`,
  "an unknown group": `${BASE}syscalls: { deny: ["@nope"] }\n`,
  "an unknown rule syscall": `${BASE}syscalls: { rules: [{ syscall: sockett, action: kill }] }\n`,
  "an unknown errno name": `${BASE}syscalls: { default: { errno: EFOO } }\n`,
  "an unknown built-in profile": `extends: ["builtin:pyhton"]\n${BASE}`,
  "an unknown protocol": `${BASE}network: { protocols: [udpp] }\n`,
  "a hostname without a UTS namespace": `${BASE}hostname: box\n`,
  "filesystem rules with Landlock off":
    `${BASE}filesystem: { view: host, read: [/usr] }\nenforce: { landlock: off }\n`,
  "network ports with Landlock off":
    `${BASE}network: { connect_tcp: [443] }\nenforce: { landlock: off }\n`,
  "cgroup limits with cgroup enforcement off":
    `${BASE}cgroup: { pids_max: 10 }\nenforce: { cgroup: off }\n`,
  "a CPU share without %": `${BASE}cgroup: { cpu_max: "50" }\n`,
  "an unknown key": `${BASE}targte: {}\n`,
  "fd 2 passed": `${BASE}fds: { pass: [2] }\n`,
};

for (const [what, yaml] of Object.entries(REJECTED)) {
  Deno.test(`check and the schema both reject ${what}`, async () => {
    using dir = tempDir();
    const r = await charter(["check", writePolicy(String(dir), "p.yaml", yaml)]);
    assert.notEqual(r.code, 0, `check accepted ${what}`);
    assert.ok(!validate(parse(yaml)), `the schema accepted ${what}`);
  });
}

Deno.test("the schema accepts what check accepts: the examples, any capability spelling", async () => {
  for (const e of Deno.readDirSync(`${ROOT}/examples`)) {
    if (!e.name.endsWith(".yaml")) continue;
    const policy = parse(Deno.readTextFileSync(`${ROOT}/examples/${e.name}`));
    assert.ok(validate(policy), `${e.name}: ${JSON.stringify(validate.errors)}`);
  }
  using dir = tempDir();
  const yaml = `extends: ["builtin:base", "./more.yaml"]\n${BASE}` +
    "user: { namespace: true }\ncapabilities: [Cap_Net_Raw, net_admin]\n" +
    'hostname: box\nnamespaces: { uts: true }\ncgroup: { cpu_max: "50%" }\n' +
    "syscalls: { allow: ['@system-service', mmap2], default: { errno: EPERM } }\n";
  Deno.writeTextFileSync(`${dir}/more.yaml`, "version: 1\nname: more\n");
  const r = await charter(["check", writePolicy(String(dir), "p.yaml", yaml)]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(validate(parse(yaml)), JSON.stringify(validate.errors));
});
