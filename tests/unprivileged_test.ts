/**
 * The same behaviours as root, launched by uid/gid 65534 with no capabilities: nothing in
 * the skeleton may depend on privilege.
 */
import assert from "node:assert/strict";
import {
  charter,
  compile,
  keygen,
  readTranscript,
  shPolicy,
  tempDir,
  transcriptFile,
  writePolicy,
} from "./helpers.ts";

const AS_NOBODY = { unprivileged: true } as const;

Deno.test("unprivileged: the launcher really runs as uid 65534", async () => {
  using dir = tempDir();
  const r = await charter([
    "launch",
    writePolicy(String(dir), "p.yaml", shPolicy("id -u; id -g; grep CapEff /proc/self/status")),
  ], AS_NOBODY);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n"), ["65534", "65534", "CapEff:\t0000000000000000"]);
});

Deno.test("unprivileged: exit codes, env scrub and no_new_privs hold", async () => {
  using dir = tempDir();
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    shPolicy("env | grep -c SECRET; grep NoNewPrivs /proc/self/status; exit 9"),
  );
  const r = await charter(["launch", policy], { ...AS_NOBODY, env: { SECRET: "x" } });
  assert.equal(r.code, 9, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n"), ["0", "NoNewPrivs:\t1"]);
});

Deno.test("unprivileged: a tampered plan is refused and the transcript verifies", async () => {
  using dir = tempDir();
  const { key, pub } = await keygen(String(dir));
  const other = await keygen(String(dir), "other");
  const plan = await compile(
    writePolicy(String(dir), "p.yaml", shPolicy(`: > ${dir}/marker`)),
    key,
    String(dir),
  );
  const t = `${dir}/t.jsonl`;
  const r = await charter(
    ["launch", plan, "--trust", other.pub, "--no-seal", "--transcript", t],
    AS_NOBODY,
  );
  assert.equal(r.code, 125, r.stderr);
  assert.equal(readTranscript(t).at(-1)?.reason, "signature_invalid");
  // Outside /tmp, which the policy lets the child write.
  const okTranscript = transcriptFile();
  const ok = await charter(
    ["launch", plan, "--trust", pub, "--no-seal", "--transcript", okTranscript],
    AS_NOBODY,
  );
  assert.equal(ok.code, 0, ok.stderr);
  const v = await charter([
    "transcript",
    "verify",
    "--allow-unsealed",
    okTranscript,
    "--plan",
    plan,
    "--trust",
    pub,
  ], AS_NOBODY);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(readTranscript(okTranscript)[0].uid, 65534);
});

Deno.test("unprivileged: check rejects a uid switch without a user namespace", async () => {
  using dir = tempDir();
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    shPolicy("exit 0", "user: { namespace: false, uid: 1000 }\n"),
  );
  const r = await charter(["check", policy], AS_NOBODY);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(
      `^${policy}:\\d+:\\d+: user\\.uid: switching uid/gid without a user namespace needs root\\n  hint: add user: \\{ namespace: true \\}`,
    ),
  );
  assert.equal((await charter(["check", policy])).code, 0, "root may switch ids");
});
