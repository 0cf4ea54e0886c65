/**
 * Sealed by default: `launch` seals with the host key, which no child can read (the
 * launch is refused when it could), and `transcript verify` refuses what is unsealed,
 * sealed by another key, or reports details the plan cannot produce.
 */
import assert from "node:assert/strict";
import { probePolicy } from "./probes/probe.ts";
import { charter, readTranscript, rechain, shPolicy, tempDir, writePolicy } from "./helpers.ts";

/** A policy that runs `/bin/sh -c SCRIPT`, with only the filesystem rules `extra` sets. */
function sealPolicy(script: string, extra: string): string {
  return `version: 1
name: seal-test
target: { exe: /bin/sh, argv: [sh, -c, ${JSON.stringify(script)}], cwd: / }
env: { set: { PATH: /usr/bin:/bin } }
${extra}`;
}

/** A child that tries to read `key` and says whether it could. */
function keyReader(key: string, extra: string): string {
  return sealPolicy(`if IFS= read -r l < ${key}; then echo LEAKED; else echo denied; fi`, extra);
}

const AS_NOBODY_ID = "user: { namespace: false, uid: 65534, gid: 65534 }\n";
/** Landlock rules for what sh needs, none of them near a state directory. */
const SYSTEM_READ = "filesystem:\n  read: [/usr, /lib, /lib64, /bin, /etc]\n";

Deno.test("launch seals with the host key (/var/lib/charter, 0700), which a root launch's child cannot read", async () => {
  using dir = tempDir();
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    keyReader("/var/lib/charter/seal.key", AS_NOBODY_ID),
  );
  const t = `${dir}/t.jsonl`;
  const r = await charter(["launch", policy, "--transcript", t, "--plan-out", `${dir}/plan.json`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "denied\n");
  assert.equal(Deno.statSync("/var/lib/charter").mode! & 0o777, 0o700);
  assert.equal(Deno.statSync("/var/lib/charter/seal.key").mode! & 0o777, 0o600);
  assert.equal(readTranscript(t).at(-1)?.event, "transcript_sealed");
  const v = await charter(["transcript", "verify", t, "--plan", `${dir}/plan.json`]);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /sealed by SHA256:/);
});

Deno.test("unprivileged: the child runs as the launcher's uid and Landlock keeps it from the key", async () => {
  using dir = tempDir();
  const state = `${dir}/state`;
  const env = { XDG_STATE_HOME: state };
  const key = `${state}/charter/seal.key`;
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    keyReader(key, `user: { namespace: true }\n${SYSTEM_READ}`),
  );
  const t = `${dir}/t.jsonl`;
  const r = await charter(
    ["launch", policy, "--transcript", t, "--plan-out", `${dir}/plan.json`],
    { unprivileged: true, env },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "denied\n");
  assert.equal(Deno.statSync(key).uid, 65534);
  const v = await charter(["transcript", "verify", t, "--plan", `${dir}/plan.json`], {
    unprivileged: true,
    env,
  });
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /sealed by SHA256:/);
  // Without Landlock the default listed view still keeps the key out of the child's tree.
  const viewOnly = writePolicy(
    String(dir),
    "view.yaml",
    keyReader(key, "enforce: { landlock: off }\n"),
  );
  const hidden = await charter(["launch", viewOnly, "--transcript", `${dir}/v.jsonl`], {
    unprivileged: true,
    env,
  });
  assert.equal(hidden.code, 0, hidden.stderr);
  assert.equal(hidden.stdout, "denied\n");
  // The same child in the host's tree without Landlock could read the key: no child starts.
  const open = writePolicy(
    String(dir),
    "open.yaml",
    keyReader(key, "enforce: { landlock: off }\nfilesystem: { view: host }\n"),
  );
  const refused = await charter(["launch", open, "--transcript", `${dir}/o.jsonl`], {
    unprivileged: true,
    env,
  });
  assert.equal(refused.code, 125, refused.stderr);
  assert.equal(refused.stdout, "");
  assert.match(
    refused.stderr,
    /the child could read the seal key .*seal\.key \(the child runs as uid 65534, the key's owner/,
  );
});

Deno.test("a child that could read the seal key never starts: uid 0, or a Landlock rule over the key", async () => {
  using dir = tempDir();
  const state = `${dir}/state`;
  // Only host_root lends a root launcher's uid 0 to the child.
  const hostRoot = "user: { host_root: true }\n";
  for (
    const [name, extra, why] of [
      [
        "root child",
        `${hostRoot}enforce: { landlock: off }\nfilesystem: { view: host }\n`,
        /the child runs as uid 0/,
      ],
      [
        "rule over the key",
        `${hostRoot}filesystem:\n  read: [/usr, /lib, /lib64, /bin, /etc, ${state}]\n`,
        new RegExp(`the Landlock rule for ${state} grants read_file`),
      ],
    ] as const
  ) {
    const marker = `${dir}/ran-${name.replaceAll(" ", "-")}`;
    const policy = writePolicy(String(dir), "p.yaml", sealPolicy(`: > ${marker}`, extra));
    const r = await charter(["launch", policy, "--transcript", `${dir}/t.jsonl`], {
      env: { CHARTER_STATE_DIR: state },
    });
    assert.equal(r.code, 125, `${name}: ${r.stderr}`);
    assert.match(r.stderr, why);
    assert.match(r.stderr, /--no-seal/);
    assert.throws(() => Deno.statSync(marker), `${name}: the child ran`);
  }
  // --no-seal runs it, unsealed.
  const policy = writePolicy(String(dir), "p.yaml", shPolicy("exit 0"));
  const r = await charter(["launch", policy, "--no-seal", "--transcript", `${dir}/u.jsonl`], {
    env: { CHARTER_STATE_DIR: state },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.notEqual(readTranscript(`${dir}/u.jsonl`).at(-1)?.event, "transcript_sealed");
});

Deno.test("a forged unsealed transcript (SIGSYS turned into exit 0, an invented Landlock report) is refused", async () => {
  using dir = tempDir();
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    probePolicy(
      ["getppid"],
      // A plan without Landlock, for which the forger invents a Landlock report.
      "enforce: { landlock: off }\nsyscalls:\n  default: { errno: EPERM }\n  allow: ['@system-service']\n  rules:\n    - { syscall: getppid, action: kill_process }\n",
    ),
  );
  const t = `${dir}/t.jsonl`;
  const plan = `${dir}/plan.json`;
  const r = await charter(["launch", policy, "--no-seal", "--transcript", t, "--plan-out", plan]);
  assert.equal(r.code, 128 + 31, r.stderr);
  const lines = Deno.readTextFileSync(t).trim().split("\n");
  assert.match(lines.at(-1)!, /"signal":31/);
  const landlock =
    '"landlock":{"abi":7,"absentPaths":[],"fsRules":1,"handledFs":["read_file"],"handledNet":[],"netRules":0,"scoped":[]},';
  const forged = await rechain(
    lines.map((l) =>
      l.includes('"name":"confine"')
        ? l.replace('"details":{', `"details":{${landlock}`)
        : l.replace('"signal":31', '"code":0')
    ),
  );
  assert.match(forged, /"landlock":\{"abi":7/);
  Deno.writeTextFileSync(`${dir}/forged.jsonl`, forged);
  const byDefault = await charter(["transcript", "verify", `${dir}/forged.jsonl`, "--plan", plan]);
  assert.equal(byDefault.code, 1, byDefault.stdout);
  assert.match(byDefault.stderr, /seal: the transcript has no seal/);
  // Even when unsealed transcripts are accepted, the invented report is not.
  const allowed = await charter([
    "transcript",
    "verify",
    "--allow-unsealed",
    `${dir}/forged.jsonl`,
    "--plan",
    plan,
  ]);
  assert.equal(allowed.code, 1, allowed.stdout);
  assert.match(
    allowed.stderr,
    /details: phase 4: details\.landlock is not something this plan's phase 4 can report/,
  );
  // The real one passes with --allow-unsealed and says how the child died.
  const real = await charter(["transcript", "verify", "--allow-unsealed", t, "--plan", plan]);
  assert.equal(real.code, 0, real.stderr);
  assert.match(real.stdout, /killed by signal 31; .*not sealed/);
});

Deno.test("a transcript sealed by another key is refused by default", async () => {
  using dir = tempDir();
  const other = await charter(["keygen", "-o", `${dir}/other`]);
  assert.equal(other.code, 0);
  const policy = writePolicy(String(dir), "p.yaml", shPolicy("exit 0", AS_NOBODY_ID));
  const t = `${dir}/t.jsonl`;
  const plan = `${dir}/plan.json`;
  const r = await charter([
    "launch",
    policy,
    "--transcript-key",
    `${dir}/other.key`,
    "--transcript",
    t,
    "--plan-out",
    plan,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const v = await charter(["transcript", "verify", t, "--plan", plan]);
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stderr, /seal: /);
  const withKey = await charter([
    "transcript",
    "verify",
    t,
    "--plan",
    plan,
    "--seal-key",
    `${dir}/other.pub`,
  ]);
  assert.equal(withKey.code, 0, withKey.stderr);
});

Deno.test("a seal key that is not an Ed25519 PKCS#8 key refuses the launch before any child runs", async () => {
  using dir = tempDir();
  const marker = `${dir}/ran`;
  const policy = writePolicy(String(dir), "p.yaml", shPolicy(`touch ${marker}`, AS_NOBODY_ID));
  // The launcher reads the key without WebCrypto; the shim is what checks it.
  const x25519 = Uint8Array.from([
    ...[0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e],
    ...[0x04, 0x22, 0x04, 0x20],
    ...crypto.getRandomValues(new Uint8Array(32)),
  ]);
  for (const [name, der] of [["x25519", x25519], ["junk", new Uint8Array(48).fill(7)]] as const) {
    const key = `${dir}/${name}.key`;
    Deno.writeTextFileSync(
      key,
      `-----BEGIN PRIVATE KEY-----\n${der.toBase64()}\n-----END PRIVATE KEY-----\n`,
      { mode: 0o600 },
    );
    const r = await charter([
      "launch",
      policy,
      "--transcript-key",
      key,
      "--transcript",
      `${dir}/${name}.jsonl`,
    ]);
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, /not an Ed25519 PKCS#8 key/);
    assert.throws(() => Deno.statSync(marker), Deno.errors.NotFound);
  }
});
