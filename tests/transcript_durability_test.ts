/**
 * The target never runs unless its evidence is complete: a transcript that cannot be
 * written stops the launch before the exec (126, the target never ran) and leaves no torn
 * line; once the target runs, its records fit. The transcript path never follows a link.
 * Streams without storage (/dev/null, FIFOs, pipes) are fine destinations.
 */
import assert from "node:assert/strict";
import {
  charter,
  charterArgv,
  launcherEnv,
  type RunOptions,
  shellQuote,
  shPolicy,
  tempDir,
  writePolicy,
} from "./helpers.ts";

/** Mounts a tmpfs of `size` on a new directory of `dir`; unmounted by the returned dispose. */
function smallDisk(dir: string, size: string): string & Disposable {
  const mnt = `${dir}/disk`;
  Deno.mkdirSync(mnt);
  const mount = new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", mnt],
  })
    .outputSync();
  if (!mount.success) throw new Error(`mount failed: ${new TextDecoder().decode(mount.stderr)}`);
  return Object.assign(new String(mnt) as string, {
    [Symbol.dispose]: () => {
      new Deno.Command("umount", { args: [mnt] }).outputSync();
    },
  }) as string & Disposable;
}

/** Bytes free on the file system of `path`. */
function available(path: string): number {
  const df = new Deno.Command("df", { args: ["--output=avail", "-B1", path] }).outputSync();
  return Number(new TextDecoder().decode(df.stdout).trim().split("\n")[1]);
}

Deno.test("a full disk: whenever a launch exits 126 its target never ran, and no line is torn", async () => {
  using dir = tempDir();
  using disk = smallDisk(String(dir), "256k");
  const transcript = `${disk}/t.jsonl`;
  Deno.writeFileSync(transcript, new Uint8Array());
  const outcomes: string[] = [];
  for (let run = 0; run < 20; run++) {
    // Leave 0–126 KiB free: the disk fills at the first record, in the middle of the
    // launch, at the reservation of ready_to_exec (96 KiB), or not at all.
    Deno.writeFileSync(`${disk}/filler`, new Uint8Array());
    const free = (run % 10) * 14336;
    Deno.writeFileSync(
      `${disk}/filler`,
      new Uint8Array(Math.max(0, available(String(disk)) - free)),
    );
    const marker = `${dir}/ran-${run}`;
    const policy = writePolicy(String(dir), `p${run}.yaml`, shPolicy(`: > ${marker}; exit 0`));
    const before = Deno.statSync(transcript).size;
    const r = await charter(["launch", policy, "--no-seal", "--transcript", transcript]);
    let ran = true;
    try {
      Deno.statSync(marker);
    } catch {
      ran = false;
    }
    // Every line of the file is whole: LF-terminated JSON.
    const text = Deno.readTextFileSync(transcript);
    assert.ok(text === "" || text.endsWith("\n"), `run ${run}: a torn last line`);
    const records = text.split("\n").slice(0, -1).map((l) => JSON.parse(l));
    const mine = records.slice(text.slice(0, before).split("\n").length - 1);
    outcomes.push(`${r.code}:${mine.at(-1)?.event ?? "nothing"}`);
    if (r.code === 126) {
      assert.equal(ran, false, `run ${run}: exit 126, but the target ran: ${r.stderr}`);
      assert.match(r.stderr, /setup failed at transcript \(errno 28\)/);
      assert.ok(!mine.some((m) => m.event === "exec_succeeded"), `run ${run}`);
    } else {
      assert.equal(r.code, 0, `run ${run}: ${r.stderr}`);
      assert.equal(ran, true, `run ${run}: exit 0 without the target running`);
      // A launch whose target ran has its whole transcript, through child_exited.
      assert.equal(mine.at(-1)?.event, "child_exited", `run ${run}`);
    }
  }
  console.log(`exit code:last record of each run: ${outcomes.join(" ")}`);
  assert.ok(outcomes.some((o) => o.startsWith("0:")), `no launch succeeded: ${outcomes}`);
  const failedAt = new Set(outcomes.filter((o) => o.startsWith("126:")));
  assert.ok(failedAt.size >= 2, `the disk filled at fewer than two places: ${outcomes}`);
});

Deno.test("a full disk shared by 12 parallel launches: every target that ran has its whole transcript", async () => {
  using dir = tempDir();
  // Room for the records of a few launches and their reservations, not of all twelve.
  using disk = smallDisk(String(dir), "160k");
  const transcript = `${disk}/t.jsonl`;
  const runs = await Promise.all(Array.from({ length: 12 }, (_, run) => {
    const marker = `${dir}/ran-${run}`;
    const policy = writePolicy(String(dir), `p${run}.yaml`, shPolicy(`: > ${marker}; sleep 0.5`));
    return charter(["launch", policy, "--no-seal", "--transcript", transcript]);
  }));
  const codes = runs.map((r) => r.code);
  for (const r of runs) assert.ok(r.code === 0 || r.code === 126, r.stderr);
  const ran = Array.from(Deno.readDirSync(String(dir))).filter((e) => e.name.startsWith("ran-"));
  const text = Deno.readTextFileSync(transcript);
  assert.ok(text === "" || text.endsWith("\n"), "a torn last line");
  const records = text.split("\n").slice(0, -1).map((l) => JSON.parse(l));
  const ended = new Set(records.filter((r) => r.event === "child_exited").map((r) => r.launchId));
  const started = records.filter((r) => r.event === "exec_succeeded").map((r) => r.launchId);
  console.log(`exit codes: ${codes.join(" ")}`);
  assert.ok(codes.includes(0) && codes.includes(126), `the disk did not fill part-way: ${codes}`);
  // A target ran exactly when its launch exited 0, and each of those launches is complete.
  assert.equal(ran.length, codes.filter((c) => c === 0).length, `targets ran: ${ran.length}`);
  assert.equal(started.length, ran.length);
  for (const id of started) assert.ok(ended.has(id), `launch ${id} ran but has no child_exited`);
});

Deno.test("--transcript never follows a symbolic link, in the file's place or on the way", async () => {
  using dir = tempDir();
  const policy = writePolicy(String(dir), "p.yaml", shPolicy("exit 0"));
  // A root file (0600) that a local user would like the root launcher to append to.
  const victim = `${dir}/victim`;
  Deno.writeTextFileSync(victim, "secret\n", { mode: 0o600 });
  Deno.symlinkSync(victim, `${dir}/t.jsonl`);
  Deno.symlinkSync(String(dir), `${dir}/via`);
  Deno.linkSync(victim, `${dir}/hard.jsonl`);
  for (const path of [`${dir}/t.jsonl`, `${dir}/via/fresh.jsonl`, `${dir}/hard.jsonl`]) {
    const r = await charter(["launch", policy, "--no-seal", "--transcript", path]);
    assert.equal(r.code, 125, `${path}: ${r.stderr}`);
    assert.match(r.stderr, /launch refused \(handle_unavailable\): The transcript file /);
    assert.match(r.stderr, /symbolic link|hard links/);
  }
  assert.equal(Deno.readTextFileSync(victim), "secret\n");
  assert.throws(() => Deno.lstatSync(`${dir}/fresh.jsonl`));
});

Deno.test("/dev/null, a FIFO and a pipe (>(cat)) are transcript destinations that exit 0", async (t) => {
  using dir = tempDir();
  const policy = writePolicy(String(dir), "p.yaml", shPolicy("exit 0"));
  await t.step("/dev/null", async () => {
    const r = await charter(["launch", policy, "--no-seal", "--transcript", "/dev/null"]);
    assert.equal(r.code, 0, r.stderr);
  });
  await t.step("a FIFO", async () => {
    const fifo = `${dir}/fifo`;
    new Deno.Command("mkfifo", { args: [fifo] }).outputSync();
    const reader = new Deno.Command("cat", { args: [fifo], stdout: "piped" }).spawn();
    const r = await charter(["launch", policy, "--no-seal", "--transcript", fifo]);
    const seen = new TextDecoder().decode((await reader.output()).stdout);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(seen.trim().split("\n").map((l) => JSON.parse(l).event).at(-1), "child_exited");
  });
  await t.step(">(cat)", async () => {
    const launch = shellQuote(charterArgv(["launch", policy, "--no-seal", "--transcript"]));
    const r = await new Deno.Command("bash", {
      args: ["-c", `${launch} >(cat > ${dir}/piped)`],
      env: launcherEnv({}),
      stderr: "piped",
    }).output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    // The process substitution's reader may still be writing.
    for (
      let i = 0;
      i < 50 && !Deno.readTextFileSync(`${dir}/piped`).includes("child_exited");
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.match(Deno.readTextFileSync(`${dir}/piped`), /"event":"child_exited"/);
  });
});

for (const [who, launcher] of [["root", {}], ["unprivileged", { unprivileged: true }]] as const) {
  Deno.test(`${who}: a FIFO nobody reads is refused at once (125), and the target never runs`, async () => {
    using dir = tempDir();
    const marker = `${dir}/marker`;
    const policy = writePolicy(String(dir), "p.yaml", shPolicy(`: > ${marker}`));
    const fifo = `${dir}/fifo`;
    new Deno.Command("mkfifo", { args: ["-m", "666", fifo] }).outputSync();
    const options: RunOptions = launcher;
    const [cmd, ...args] = charterArgv(
      ["launch", policy, "--no-seal", "--transcript", fifo],
      options,
    );
    // Blocking in open(2) until a reader appears would hang here: the timeout kills it.
    const r = await new Deno.Command(cmd, {
      args,
      env: launcherEnv(options),
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(20_000),
    }).output();
    const stderr = new TextDecoder().decode(r.stderr);
    assert.equal(r.signal, null, "the launch hung on the FIFO");
    assert.equal(r.code, 125, stderr);
    assert.match(
      stderr,
      /launch refused \(handle_unavailable\): The transcript file .*FIFO that no process is reading/,
    );
    assert.throws(() => Deno.statSync(marker), "the target ran");
  });
}

/** A policy whose child may write DIR/w only, and leaves DIR/w/ran. */
function writeTreePolicy(dir: string): string {
  return writePolicy(
    dir,
    "w.yaml",
    `version: 1
name: write-tree
target: { exe: /bin/sh, argv: [sh, -c, ": > ${dir}/w/ran"], cwd: / }
env: { set: { PATH: /usr/bin:/bin } }
filesystem:
  read: [/usr, /bin, /lib, /lib64, /etc]
  write: [${dir}/w]
`,
  );
}

Deno.test("unprivileged: a transcript file in the child's write tree is refused (125) before the target runs", async () => {
  using dir = tempDir();
  Deno.mkdirSync(`${dir}/w`, { mode: 0o777 });
  Deno.chmodSync(`${dir}/w`, 0o1777);
  const policy = writeTreePolicy(String(dir));
  const options: RunOptions = { unprivileged: true };
  // The child runs as the launcher's uid, owns the file the launcher creates, and its
  // Landlock rules grant writing there: it could punch a hole in the room reserved for
  // the records after the exec, fill the disk, or rewrite the records.
  const inside = `${dir}/w/t.jsonl`;
  const r = await charter(["launch", policy, "--no-seal", "--transcript", inside], options);
  assert.equal(r.code, 125, r.stderr);
  assert.match(
    r.stderr,
    /launch refused: the child could write the transcript file .*w\/t\.jsonl \(the child runs as uid 65534, the transcript file's owner, and the Landlock rule for .*\/w grants write_file/,
  );
  assert.match(r.stderr, /write the transcript outside the policy's write tree/);
  assert.throws(() => Deno.statSync(`${dir}/w/ran`), "the target ran");
  // The same launch with the transcript outside the write tree runs.
  const outside = `${dir}/t.jsonl`;
  const ok = await charter(["launch", policy, "--no-seal", "--transcript", outside], options);
  assert.equal(ok.code, 0, ok.stderr);
  Deno.statSync(`${dir}/w/ran`);
});

Deno.test("root: a transcript file in the write tree is refused only when the child (uid 65534) may write it", async () => {
  using dir = tempDir();
  Deno.mkdirSync(`${dir}/w`, { mode: 0o777 });
  Deno.chmodSync(`${dir}/w`, 0o1777);
  const policy = writeTreePolicy(String(dir));
  const t = `${dir}/w/t.jsonl`;
  Deno.writeTextFileSync(t, "");
  Deno.chmodSync(t, 0o666);
  const r = await charter(["launch", policy, "--no-seal", "--transcript", t]);
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /its mode 666 lets group or others write it/);
  assert.throws(() => Deno.statSync(`${dir}/w/ran`), "the target ran");
  // Root's 0644 file: the child, uid 65534 without capabilities, cannot open it to write.
  Deno.chmodSync(t, 0o644);
  const ok = await charter(["launch", policy, "--no-seal", "--transcript", t]);
  assert.equal(ok.code, 0, ok.stderr);
  Deno.statSync(`${dir}/w/ran`);
});
