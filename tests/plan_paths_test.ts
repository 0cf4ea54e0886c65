/**
 * Plan paths (Landlock rules, cwd, inputs) are opened at launch the way the compiler
 * resolved them: a symlink that appears afterwards, or a path that now leads elsewhere, is
 * refused with `path_changed` before any child exists, for a root and an unprivileged
 * launcher; the transcript records what was opened.
 */
import assert from "node:assert/strict";
import { readPlan } from "../audit/verify_plan.ts";
import {
  charter,
  compile,
  keygen,
  readTranscript,
  type RunOptions,
  tempDir,
  writePolicy,
} from "./helpers.ts";

const LAUNCHERS: [string, RunOptions][] = [["root", {}], ["unprivileged", { unprivileged: true }]];

/** A `/bin/sh -c SCRIPT` policy with Landlock: system dirs readable, `write` writable. */
function writePolicyFor(dir: string, script: string, write: string, cwd = "/"): string {
  return writePolicy(
    dir,
    "p.yaml",
    `version: 1
name: paths
target: { exe: /bin/sh, argv: [sh, -c, ${JSON.stringify(script)}], cwd: ${cwd} }
env: { set: { PATH: /usr/bin:/bin } }
filesystem:
  read: [/usr, /bin, /lib, /lib64, /etc, ${dir}]
  write: [${write}]
`,
  );
}

/** Launches a plan and asserts a `path_changed` refusal naming `path`, with no child. */
async function assertPathChanged(
  dir: string,
  plan: string,
  pub: string,
  path: string,
  launcher: RunOptions,
) {
  const t = `${dir}/t-${crypto.randomUUID()}.jsonl`;
  const r = await charter(["launch", plan, "--trust", pub, "--transcript", t], launcher);
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /path_changed/);
  assert.ok(r.stderr.includes(path), r.stderr);
  const records = readTranscript(t);
  assert.equal(records.find((rec) => rec.event === "setup_refused")?.reason, "path_changed");
  assert.ok(!records.some((rec) => rec.event === "child_created"));
}

for (const [who, launcher] of LAUNCHERS) {
  Deno.test(`${who}: a write dir swapped for a symlink after compile is refused: path_changed`, async () => {
    using dir = tempDir();
    const { key, pub } = await keygen(String(dir));
    const out = `${dir}/out`;
    const elsewhere = `${dir}/elsewhere`;
    Deno.mkdirSync(out);
    Deno.mkdirSync(elsewhere);
    for (const d of [out, elsewhere]) Deno.chmodSync(d, 0o777);
    const plan = await compile(
      writePolicyFor(String(dir), `echo pwned > ${out}/file`, out),
      key,
      String(dir),
    );
    // The attacker (any user who can rename in the parent) swaps the dir for a symlink.
    Deno.renameSync(out, `${dir}/out.old`);
    Deno.symlinkSync(elsewhere, out);
    await assertPathChanged(String(dir), plan, pub, out, launcher);
    assert.deepEqual([...Deno.readDirSync(elsewhere)], [], "the child wrote through the symlink");
  });

  Deno.test(`${who}: a cwd swapped for a symlink after compile is refused: path_changed`, async () => {
    using dir = tempDir();
    const { key, pub } = await keygen(String(dir));
    const work = `${dir}/work`;
    Deno.mkdirSync(work);
    Deno.mkdirSync(`${dir}/elsewhere`);
    const plan = await compile(
      writePolicyFor(String(dir), "pwd", `${dir}/elsewhere`, work),
      key,
      String(dir),
    );
    Deno.renameSync(work, `${dir}/work.old`);
    Deno.symlinkSync(`${dir}/elsewhere`, work);
    await assertPathChanged(String(dir), plan, pub, work, launcher);
  });
}

Deno.test("a policy path that went through a symlink at compile time is recorded and must still lead there", async () => {
  using dir = tempDir();
  const { key, pub } = await keygen(String(dir));
  for (const d of ["a", "b"]) {
    Deno.mkdirSync(`${dir}/${d}`);
    Deno.chmodSync(`${dir}/${d}`, 0o777); // a root launcher's child runs as 65534
  }
  const link = `${dir}/link`;
  Deno.symlinkSync(`${dir}/a`, link);
  const plan = await compile(
    writePolicyFor(String(dir), `echo ok > ${link}/file`, link),
    key,
    String(dir),
  );
  const { statement } = await readPlan(Deno.readFileSync(plan));
  const rule = statement.predicate.landlock!.fs.find((r) => r.path === link);
  assert.equal(rule?.resolved, `${dir}/a`);

  const t = `${dir}/t.jsonl`;
  const ok = await charter(["launch", plan, "--trust", pub, "--transcript", t]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(Deno.readTextFileSync(`${dir}/a/file`), "ok\n");
  const confine = readTranscript(t).find((rec) =>
    rec.event === "phase_resolved" && rec.phase === 4
  );
  const opened = (confine?.details as { landlock: { paths: Record<string, unknown>[] } }).landlock
    .paths.find((p) => p.path === link)!;
  const info = Deno.statSync(`${dir}/a`);
  assert.deepEqual(opened, { path: link, opened: `${dir}/a`, dev: info.dev, ino: info.ino });

  // Pointed elsewhere after compile: the recorded resolution no longer matches.
  Deno.removeSync(link);
  Deno.symlinkSync(`${dir}/b`, link);
  await assertPathChanged(String(dir), plan, pub, link, {});
  assert.deepEqual([...Deno.readDirSync(`${dir}/b`)], []);
});

Deno.test("merged-/usr links such as /lib keep working: the plan records their resolution", async () => {
  using dir = tempDir();
  const { key, pub } = await keygen(String(dir));
  const plan = await compile(
    writePolicyFor(String(dir), "cat /lib/os-release >/dev/null 2>&1; echo ran", `${dir}`),
    key,
    String(dir),
  );
  const { statement } = await readPlan(Deno.readFileSync(plan));
  const lib = statement.predicate.landlock!.fs.find((r) => r.path === "/lib")!;
  const isLink = Deno.lstatSync("/lib").isSymlink;
  assert.equal(lib.resolved, isLink ? Deno.realPathSync("/lib") : undefined);
  const r = await charter(["launch", plan, "--trust", pub]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "ran\n");
});

for (const [who, launcher] of LAUNCHERS) {
  Deno.test(`${who}: a plan dir whose parent others can write is refused: path_changed, even with no symlink`, async () => {
    using dir = tempDir();
    const { key, pub } = await keygen(String(dir));
    // Any user may rename entries in `shared` (0777, not sticky).
    const shared = `${dir}/shared`;
    const [out, data] = [`${shared}/out`, `${shared}/data`];
    Deno.mkdirSync(shared);
    Deno.chmodSync(shared, 0o777);
    Deno.mkdirSync(out);
    Deno.mkdirSync(data);
    for (const d of [out, data]) Deno.chmodSync(d, 0o777);
    const policy = writePolicy(
      String(dir),
      "p.yaml",
      `version: 1
name: swap
target: { exe: /bin/sh, argv: [sh, -c, "echo pwned > ${out}/config"], cwd: / }
env: { set: { PATH: /usr/bin:/bin } }
filesystem:
  view: host # the Landlock path check (a listed view refuses the missing ${data} first)
  read: [/usr, /bin, /lib, /lib64, /etc, ${data}]
  write: [${out}]
`,
    );
    const plan = await compile(policy, key, String(dir));
    // The attacker puts the read-only dir where the plan grants writing: no symlink involved.
    Deno.renameSync(out, `${out}.orig`);
    Deno.renameSync(data, out);
    await assertPathChanged(String(dir), plan, pub, shared, launcher);
    assert.deepEqual([...Deno.readDirSync(out)], [], "the child wrote into the read-only dir");
  });

  Deno.test(`${who}: a plan dir in a sticky dir must be owned by root or the launcher`, async () => {
    using dir = tempDir();
    const { key, pub } = await keygen(String(dir));
    const out = `${dir}/out`;
    Deno.mkdirSync(out);
    Deno.chmodSync(out, 0o777);
    // tempDir is root-owned 1777: its owner 65533 (neither root nor any launcher) could
    // rename `out` away and put another dir in its place.
    Deno.chownSync(out, 65533, 65533);
    const plan = await compile(
      writePolicyFor(String(dir), `echo ok > ${out}/file`, out),
      key,
      String(dir),
    );
    await assertPathChanged(String(dir), plan, pub, out, launcher);
    Deno.chownSync(out, 0, 0);
    const t = `${dir}/t-ok.jsonl`;
    const r = await charter(["launch", plan, "--trust", pub, "--transcript", t], launcher);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(Deno.readTextFileSync(`${out}/file`), "ok\n");
  });
}
