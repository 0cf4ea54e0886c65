/**
 * `denied` records of Landlock denials on normal launches (issue 11), read from the kernel
 * audit stream: real denials under the real kernel, switched on for the test. Audit is off
 * on these hosts, so a root test switches it on around one launch (tests/audit_state.py)
 * and back off; the launcher never switches it itself.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  charter,
  compile,
  keygen,
  readTranscript,
  run,
  tempDir,
  transcriptFile,
  writePolicy,
} from "./helpers.ts";

const isRoot = Deno.uid() === 0;
const AUDIT_STATE = new URL("./audit_state.py", import.meta.url).pathname;

/** Audit's state: "ENABLED BACKLOG_LIMIT LOST"; with `set`, sets the first two first. */
async function audit(set?: string): Promise<string> {
  const r = await run("python3", [AUDIT_STATE, ...(set ? set.split(" ") : [])]);
  if (r.code !== 0) throw new Error(`audit_state.py failed: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * Runs `body` with kernel audit on (or `off`) and a backlog large enough that a burst of
 * denials is not dropped (Landlock logs without blocking), restoring the state found before.
 */
async function withAudit<T>(body: () => Promise<T>, enable = true): Promise<T> {
  const [enabled, backlog] = (await audit()).split(" ");
  await audit(`${enable ? 1 : 0} 8192`);
  try {
    return await body();
  } finally {
    await audit(`${enabled} ${backlog}`);
  }
}

function policy(
  dir: string,
  script: string,
  read = `/usr, /etc, /lib, /lib64, /bin, ${dir}`,
): string {
  return writePolicy(
    dir,
    "p.yaml",
    `version: 1
name: denied
target: { exe: /bin/sh, argv: [sh, -c, ${JSON.stringify(script)}] }
env: { set: { PATH: /usr/bin:/bin } }
filesystem:
  view: host
  read: [${read}]
  exec: [/bin/sh, /usr/bin/cat]
  write: [${dir}/out, /dev/null]
`,
  );
}

function denials(t: string): Record<string, unknown>[] {
  return readTranscript(t).filter((r) => r.event === "denied");
}

function landlockDetails(t: string): Record<string, unknown> {
  const phase = readTranscript(t).find((r) => r.event === "phase_resolved" && r.phase === 4) as {
    details: { landlock: Record<string, unknown> };
  };
  return phase.details.landlock;
}

Deno.test({
  name: "denied: a denied write and exec are recorded with the key that allows them",
  ignore: !isRoot,
  async fn() {
    using dir = tempDir();
    // The child runs as 65534 (a root launcher never gives it root).
    Deno.mkdirSync(`${dir}/out`, { mode: 0o777 });
    Deno.chmodSync(`${dir}/out`, 0o777);
    const { key, pub } = await keygen(dir);
    // The last denial is the child's last act: it must still be recorded (the launcher
    // reads until its own audit record comes back after the child ended).
    const p = policy(
      dir,
      `echo x > ${dir}/in.txt; rm -f ${dir}/out/a; echo ok > ${dir}/out/b; ` +
        `echo x > ${dir}/in.txt; echo y > ${dir}/last`,
    );
    const plan = await compile(p, key, dir);
    const t = transcriptFile();
    const r = await withAudit(() => charter(["launch", plan, "--trust", pub, "--transcript", t]));
    assert.equal(r.code, 2, r.stderr);
    assert.equal(Deno.readTextFileSync(`${dir}/out/b`), "ok\n");
    assert.equal(landlockDetails(t).denials, "recorded");
    const got = denials(t).map((d) => [d.mechanism, d.what, d.key, d.count]);
    assert.deepEqual(got, [
      ["landlock", `fs.make_reg ${dir}`, "filesystem.write", 3],
      // dash tries /usr/bin/rm and /bin/rm, the same file on a merged /usr.
      ["landlock", "fs.execute /usr/bin/rm", "filesystem.exec", 2],
    ]);
    // The launcher's summary names each denial and the key (and value) that allows it.
    assert.match(
      r.stderr,
      new RegExp(
        `charter: denied fs\\.make_reg ${dir} \\(landlock, 3 times\\) → allow with filesystem\\.write: ${dir}\n`,
      ),
    );
    assert.match(
      r.stderr,
      /charter: denied fs\.execute \/usr\/bin\/rm \(landlock, 2 times\) → allow with filesystem\.exec: \/usr\/bin\/rm\n/,
    );
    const records = readTranscript(t).map((x) => x.event);
    assert.equal(records.indexOf("denied"), records.indexOf("child_exited") - 2);
    const v = await charter(["transcript", "verify", t, "--plan", plan, "--trust", pub]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  },
});

Deno.test({
  name: "denied: a child's flood of distinct denials leaves a bounded transcript with counts",
  ignore: !isRoot,
  async fn() {
    using dir = tempDir();
    Deno.mkdirSync(`${dir}/out`, { mode: 0o777 });
    Deno.mkdirSync(`${dir}/secret`);
    for (let i = 0; i < 300; i++) Deno.writeTextFileSync(`${dir}/secret/f${i}`, "s");
    // Each read is of another unlisted file: 300 distinct denials, each twice.
    const p = policy(
      dir,
      `for round in 1 2; do i=0; while [ $i -lt 300 ]; do true < ${dir}/secret/f$i; ` +
        `i=$((i+1)); done 2>/dev/null; done; exit 0`,
      "/usr, /etc, /lib, /lib64, /bin",
    );
    const t = transcriptFile();
    const r = await withAudit(() => charter(["launch", p, "--transcript", t]));
    assert.equal(r.code, 0, r.stderr);
    const got = denials(t);
    assert.equal(got.length, 33);
    assert.ok(got.slice(0, 32).every((d) => d.key === "filesystem.read" && d.count === 2));
    assert.deepEqual(got[32], {
      ...got[32],
      what: "denials not itemized (too many distinct ones)",
      count: 2 * (300 - 32),
    });
  },
});

Deno.test({
  name: "denied: where audit is off or unreadable the details say so and nothing is recorded",
  ignore: !isRoot,
  async fn() {
    using dir = tempDir();
    const p = policy(dir, `echo x > ${dir}/in.txt`);
    const t = transcriptFile();
    const r = await withAudit(() => charter(["launch", p, "--transcript", t]), false);
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(denials(t), []);
    assert.deepEqual(
      [landlockDetails(t).denials, landlockDetails(t).denialsUnobserved],
      ["unobserved", "kernel audit is off"],
    );
    Deno.chmodSync(dir, 0o755);
    const t2 = transcriptFile();
    const nobody = await withAudit(() =>
      charter(["launch", p, "--transcript", t2, "--no-seal"], { unprivileged: true })
    );
    assert.equal(nobody.code, 2, nobody.stderr);
    assert.deepEqual(denials(t2), []);
    assert.equal(landlockDetails(t2).denials, "unobserved");
    assert.match(String(landlockDetails(t2).denialsUnobserved), /may not read the audit stream/);
  },
});

Deno.test({
  name: "denied: a path the child names cannot move or reorder the summary's line",
  ignore: !isRoot,
  async fn() {
    using dir = tempDir();
    Deno.mkdirSync(`${dir}/out`, { mode: 0o777 });
    Deno.chmodSync(`${dir}/out`, 0o777);
    const { key, pub } = await keygen(dir);
    // A directory the child may make, named with an escape, a newline, a right-to-left
    // override and a line separator; a device node in it is never granted, and the record
    // names the directory.
    const name = "a\\033[2K\\nb\\342\\200\\256c\\342\\200\\250d";
    const script = `d=$(printf '${dir}/out/${name}'); mkdir "$d"; mknod "$d/n" c 1 3; exit 4`;
    const p = writePolicy(
      dir,
      "p.yaml",
      `version: 1
name: denied
target: { exe: /bin/sh, argv: [sh, -c, ${JSON.stringify(script)}] }
env: { set: { PATH: /usr/bin:/bin } }
filesystem:
  view: host
  read: [/usr, /etc, /lib, /lib64, /bin, ${dir}]
  exec: [/bin/sh, /usr/bin/mkdir, /usr/bin/mknod]
  write: [${dir}/out, /dev/null]
`,
    );
    const plan = await compile(p, key, dir);
    const t = transcriptFile();
    const r = await withAudit(() => charter(["launch", plan, "--trust", pub, "--transcript", t]));
    assert.equal(r.code, 4, r.stderr);
    // (mkdir and mknod also read /proc, which the view does not grant.)
    const got = denials(t).filter((d) => String(d.what).startsWith("fs.make_char"));
    assert.deepEqual(got.map((d) => [d.what, d.key]), [
      [`fs.make_char ${dir}/out/a?[2K?b?c?d`, "none (device nodes are never granted)"],
    ]);
    assert.match(
      r.stderr,
      new RegExp(
        `^charter: denied fs\\.make_char ${dir}/out/a\\?\\[2K\\?b\\?c\\?d \\(landlock\\)`,
        "m",
      ),
    );
    const v = await charter(["transcript", "verify", t, "--plan", plan, "--trust", pub]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  },
});
