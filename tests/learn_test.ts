/**
 * `charter learn` end to end, real programs under the real kernel: a Python script that
 * reads one directory, writes another from threads and from a child process (cp), and
 * connects to a local TCP port. The policy without grants fails; learn names every missing
 * grant; the proposal passes check, runs the script under full enforcement, and is tight.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { charter, charterArgv, run, type RunOptions, tempDir, writePolicy } from "./helpers.ts";

const SCRIPT = `import os, socket, sys, threading
mode, src, dst, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
data = open(os.path.join(src, "data.txt")).read()
if mode in ("all", "write"):
    def writer(i):
        with open(os.path.join(dst, f"part{i}.txt"), "w") as f:
            f.write(data)
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    if os.system(f"/bin/cp {src}/data.txt {dst}/copy.txt") != 0:
        sys.exit(3)
if mode in ("all", "connect"):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"hi")
    s.close()
print("done")
`;

interface Work {
  dir: string;
  input: string;
  output: string;
  policy: string;
}

function setUp(dir: string): Work {
  const input = `${dir}/work/in`;
  const output = `${dir}/work/out`;
  Deno.mkdirSync(input, { recursive: true, mode: 0o755 });
  Deno.mkdirSync(output, { mode: 0o777 });
  Deno.chmodSync(`${dir}/work`, 0o755);
  Deno.chmodSync(input, 0o755);
  Deno.chmodSync(output, 0o777);
  Deno.writeTextFileSync(`${input}/data.txt`, "payload\n", { mode: 0o644 });
  Deno.writeTextFileSync(`${dir}/app.py`, SCRIPT, { mode: 0o644 });
  const policy = writePolicy(
    dir,
    "app.yaml",
    `version: 1\nname: app\nextends: [builtin:python]\ntarget:\n  exe: /usr/bin/python3\n` +
      `  argv: [python3, ${dir}/app.py]\n  inputs: [${dir}/app.py]\n  extra_args: true\n` +
      HOST_VIEW,
  );
  return { dir, input, output, policy };
}

/** A TCP listener on a free local port that collects what each connection sends. */
function listener() {
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received: string[] = [];
  const done = (async () => {
    for await (const conn of server) {
      const buf = new Uint8Array(16);
      const n = await conn.read(buf);
      received.push(new TextDecoder().decode(buf.subarray(0, n ?? 0)));
      conn.close();
    }
  })();
  return {
    port: (server.addr as Deno.NetAddr).port,
    received,
    async [Symbol.asyncDispose]() {
      server.close();
      await done.catch(() => {});
    },
  };
}

function args(w: Work, mode: string, port: number): string[] {
  return ["--", mode, w.input, w.output, String(port)];
}

/** Every filesystem path a proposal grants, by key. */
function grants(file: string): Record<string, string[]> {
  const doc = parse(Deno.readTextFileSync(file)) as {
    filesystem?: Record<string, string[]>;
  };
  return doc.filesystem ?? {};
}

for (const [who, options] of [["root", {}], ["unprivileged", { unprivileged: true }]] as const) {
  Deno.test(`learn (${who}): the proposal names every missing grant and runs under full enforcement`, async () => {
    using dir = tempDir();
    const w = setUp(String(dir));
    await using server = listener();
    const opts: RunOptions = options;

    // The policy as written cannot do the job.
    const before = await charter(
      ["launch", "--no-seal", w.policy, ...args(w, "all", server.port)],
      opts,
    );
    assert.notEqual(before.code, 0, before.stderr);
    // The denied read is not observable on a normal launch; a script's stderr stays the
    // child's own (the hint is for a terminal: the test below).
    assert.doesNotMatch(before.stderr, /charter learn/);

    const proposed = `${w.dir}/proposed.yaml`;
    const learned = await charter(
      ["learn", w.policy, "-o", proposed, ...args(w, "all", server.port)],
      opts,
    );
    assert.equal(learned.code, 1, learned.stderr);
    const lines = learned.stdout.split("\n");
    const has = (line: string) =>
      assert.ok(lines.some((l) => l.startsWith(line)), `${line}\n${learned.stdout}`);
    has(`read ${w.input}/data.txt → filesystem.read`);
    // The threads' writes and the child's (cp, through /bin/sh) are all followed.
    for (const i of [0, 1, 2]) has(`create ${w.output}/part${i}.txt → filesystem.write`);
    has(`create ${w.output}/copy.txt → filesystem.write`);
    has("exec /bin/sh → filesystem.exec");
    has("exec /bin/cp → filesystem.exec");
    has(`connect tcp ${server.port} → network.connect_tcp`);
    assert.match(learned.stderr, /wrote .*proposed\.yaml/);

    const check = await charter(["check", proposed], opts);
    assert.equal(check.code, 0, check.stderr);
    const run = await charter(
      ["launch", "--no-seal", proposed, ...args(w, "all", server.port)],
      opts,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "done\n");
    assert.equal(Deno.readTextFileSync(`${w.output}/copy.txt`), "payload\n");
    assert.equal(Deno.readTextFileSync(`${w.output}/part2.txt`), "payload\n");
    assert.ok(server.received.includes("hi"), JSON.stringify(server.received));

    // Tight: the output directory is writable, nothing above it, the input is read only.
    const fs = grants(proposed);
    assert.deepEqual(fs.write, [w.output]);
    for (const path of Object.values(fs).flat()) {
      assert.ok(
        !w.output.startsWith(path + "/") && path !== "/" && path !== String(dir),
        `${path} is above the work directories`,
      );
    }
    const swapped = await charter(
      ["launch", "--no-seal", proposed, "--", "write", w.input, w.input, String(server.port)],
      opts,
    );
    assert.notEqual(swapped.code, 0, "the input directory must not be writable");
    assert.match(swapped.stderr, /Permission denied/);
  });
}

Deno.test("learn: two runs merge into one proposal", async () => {
  using dir = tempDir();
  const w = setUp(String(dir));
  await using server = listener();
  const first = `${w.dir}/first.yaml`;
  const second = `${w.dir}/second.yaml`;
  const one = await charter(["learn", w.policy, "-o", first, ...args(w, "write", server.port)]);
  assert.equal(one.code, 1, one.stderr);
  assert.ok(!one.stdout.includes("connect tcp"), one.stdout);
  // The first proposal alone cannot connect.
  const partial = await charter(["launch", "--no-seal", first, ...args(w, "all", server.port)]);
  assert.notEqual(partial.code, 0);
  const two = await charter([
    "learn",
    w.policy,
    "--merge",
    first,
    "-o",
    second,
    ...args(w, "connect", server.port),
  ]);
  assert.equal(two.code, 1, two.stderr);
  // Judged against the first proposal: only what it lacks is reported.
  assert.ok(two.stdout.includes(`connect tcp ${server.port} → network.connect_tcp`), two.stdout);
  assert.ok(!two.stdout.includes("filesystem.write"), two.stdout);
  const text = Deno.readTextFileSync(second);
  assert.match(text, /out # learn: write .*part0\.txt/);
  assert.match(text, new RegExp(`- ${server.port} # learn: connect tcp ${server.port} \\(1×\\)`));
  const run = await charter(["launch", "--no-seal", second, ...args(w, "all", server.port)]);
  assert.equal(run.code, 0, run.stderr);
  // A third run of the merged policy has nothing left to report.
  const three = await charter(["learn", second, ...args(w, "all", server.port)]);
  assert.equal(three.code, 0, three.stdout + three.stderr);
  assert.equal(three.stdout, "done\n");
});

Deno.test("learn: the baseline stays denied while learning and is reported as unsafe_allow", async () => {
  using dir = tempDir();
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    `version: 1\nname: x\nextends: [builtin:python]\ntarget:\n  exe: /usr/bin/python3\n` +
      `  argv: [python3, -c, "import ctypes, os; l = ctypes.CDLL(None, use_errno=True); ` +
      `r = l.syscall(425, 8, 0); print(r, ctypes.get_errno())"]\n`,
  );
  const r = await charter(["learn", policy]);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stdout.includes("io_uring_setup → syscalls.unsafe_allow"), r.stdout);
  // The target saw the baseline's EPERM, not a working io_uring.
  assert.ok(r.stdout.startsWith("-1 1\n"), r.stdout);
});

/**
 * These runs learn what Landlock and seccomp deny in the host's tree, their work
 * directories under /tmp (which a listed view, the default, replaces by a private one).
 */
const HOST_VIEW = "filesystem: { view: host }\n";

Deno.test({
  name: "learn: a node script; the proposal keeps the default libraries (builtin:base) and runs",
  ignore: !exists("/usr/bin/node"),
  async fn() {
    using dir = tempDir();
    const w = setUp(String(dir));
    Deno.writeTextFileSync(
      `${w.dir}/app.js`,
      `const fs = require("fs");\nconst [src, dst] = process.argv.slice(2);\n` +
        `fs.writeFileSync(dst + "/result.txt", fs.readFileSync(src + "/data.txt", "utf8").toUpperCase());\n` +
        `console.log("node done");\n`,
      { mode: 0o644 },
    );
    const policy = writePolicy(
      w.dir,
      "node.yaml",
      `version: 1\nname: node-app\ntarget:\n  exe: /usr/bin/node\n  argv: [node, ${w.dir}/app.js, ${w.input}, ${w.output}]\n` +
        `  inputs: [${w.dir}/app.js]\n${HOST_VIEW}`,
    );
    const before = await charter(["launch", "--no-seal", policy]);
    assert.notEqual(before.code, 0);
    const proposed = `${w.dir}/node-proposed.yaml`;
    const learned = await charter(["learn", policy, "-o", proposed]);
    assert.equal(learned.code, 1, learned.stderr);
    assert.ok(
      learned.stdout.includes(`create ${w.output}/result.txt → filesystem.write`),
      learned.stdout,
    );
    assert.ok(
      learned.stdout.includes(`read ${w.input}/data.txt → filesystem.read`),
      learned.stdout,
    );
    assert.match(
      Deno.readTextFileSync(proposed),
      /- builtin:base # learn: the default filesystem\.read/,
    );
    assert.equal((await charter(["check", proposed])).code, 0);
    const run = await charter(["launch", "--no-seal", proposed]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(Deno.readTextFileSync(`${w.output}/result.txt`), "PAYLOAD\n");
    assert.deepEqual(grants(proposed).write, [w.output]);
  },
});

function clean(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "learn: git clone of a local repository (unprivileged launcher)",
  ignore: !exists("/usr/bin/git"),
  async fn() {
    using dir = tempDir();
    const src = `${dir}/src`;
    const dst = `${dir}/dst`;
    const git = (args: string[]) =>
      new Deno.Command("git", {
        args,
        env: {
          GIT_AUTHOR_NAME: "a",
          GIT_AUTHOR_EMAIL: "a@b",
          GIT_COMMITTER_NAME: "a",
          GIT_COMMITTER_EMAIL: "a@b",
        },
      }).outputSync();
    assert.ok(git(["init", "-q", src]).success);
    Deno.writeTextFileSync(`${src}/file.txt`, "content\n");
    assert.ok(git(["-C", src, "add", "file.txt"]).success);
    assert.ok(git(["-C", src, "commit", "-qm", "one"]).success);
    Deno.mkdirSync(dst, { mode: 0o777 });
    // The repository belongs to the launcher (nobody): git refuses others' repositories.
    new Deno.Command("chown", { args: ["-R", "65534:65534", src, dst] }).outputSync();
    const policy = writePolicy(
      String(dir),
      "git.yaml",
      `version: 1\nname: git-clone\ntarget:\n  exe: /usr/bin/git\n  argv: [git, clone, -q, ${src}, ${dst}/clone]\n` +
        `  cwd: ${dst}\nenv:\n  set: { HOME: ${dst}, PATH: /usr/bin:/bin }\n${HOST_VIEW}`,
    );
    const opts = { unprivileged: true } as const;
    assert.notEqual((await charter(["launch", "--no-seal", policy], opts)).code, 0);
    clean(`${dst}/clone`);
    const proposed = `${dir}/git-proposed.yaml`;
    const learned = await charter(["learn", policy, "-o", proposed], opts);
    assert.equal(learned.code, 1, learned.stderr);
    assert.ok(learned.stdout.includes("exec /usr/lib/git-core/git-upload-pack"), learned.stdout);
    assert.ok(learned.stdout.includes(`create ${dst}/clone → filesystem.write`), learned.stdout);
    clean(`${dst}/clone`);
    assert.equal((await charter(["check", proposed], opts)).code, 0);
    const run = await charter(["launch", "--no-seal", proposed], opts);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(Deno.readTextFileSync(`${dst}/clone/file.txt`), "content\n");
    const fs = grants(proposed);
    // The source is read, never written; the destination directory is the only write grant.
    assert.deepEqual(fs.write, [dst]);
    assert.ok(fs.read.every((p) => p !== String(dir) && p !== "/tmp"), fs.read.join(" "));
    console.log(`git proposal: ${Deno.readTextFileSync(proposed).split("\n").length - 1} lines`);
  },
});

Deno.test("learn: a child that shares the launcher's uid cannot forge records", async () => {
  using dir = tempDir();
  const forged = JSON.stringify({
    pid: 1,
    arch: 0xc000003e,
    nr: 257,
    args: ["18446744073709551516", "0", String(0o101), "0", "0", "0"],
    paths: [`${dir}/forged-by-the-child`],
  });
  // Unconfined while learning, as the same uid as an unprivileged launcher: it looks for
  // the records file in the launcher's temporary directory and appends to it.
  const script =
    `for f in /tmp/charter-learn-*/*; do echo '${forged}' >> "$f" && echo appended "$f"; done; true`;
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    `version: 1\nname: x\ntarget:\n  exe: /bin/sh\n  argv: [sh, -c, "${
      script.replaceAll('"', '\\"')
    }"]\n`,
  );
  const r = await charter(["learn", policy], { unprivileged: true });
  assert.ok(!r.stdout.includes("appended"), r.stdout);
  assert.ok(!r.stdout.includes("forged-by-the-child"), r.stdout);
});

Deno.test({
  name: "learn: make + gcc; exec grants name the tools, not /usr/bin",
  ignore: !exists("/usr/bin/make") || !exists("/usr/bin/gcc"),
  async fn() {
    using dir = tempDir();
    const proj = `${dir}/proj`;
    Deno.mkdirSync(proj, { mode: 0o777 });
    Deno.chmodSync(proj, 0o777);
    Deno.writeTextFileSync(
      `${proj}/hello.c`,
      '#include <stdio.h>\nint main(void) { puts("built"); return 0; }\n',
    );
    Deno.writeTextFileSync(`${proj}/Makefile`, "hello: hello.c\n\tgcc -o hello hello.c\n");
    // gcc's temporary files go where the policy says (a private /tmp comes with the view).
    const policy = writePolicy(
      String(dir),
      "make.yaml",
      `version: 1\nname: build\ntarget:\n  exe: /usr/bin/make\n  argv: [make, -C, ${proj}]\n  cwd: ${proj}\n` +
        `env:\n  set: { PATH: /usr/bin:/bin, TMPDIR: ${proj} }\n${HOST_VIEW}`,
    );
    assert.notEqual((await charter(["launch", "--no-seal", policy])).code, 0);
    const proposed = `${dir}/make-proposed.yaml`;
    const learned = await charter(["learn", policy, "-o", proposed]);
    assert.equal(learned.code, 1, learned.stderr);
    assert.ok(learned.stdout.includes("exec /usr/bin/gcc → filesystem.exec"), learned.stdout);
    assert.ok(learned.stdout.includes(`create ${proj}/hello → filesystem.write`), learned.stdout);
    Deno.removeSync(`${proj}/hello`);
    const run = await charter(["launch", "--no-seal", proposed]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      new TextDecoder().decode(new Deno.Command(`${proj}/hello`).outputSync().stdout),
      "built\n",
    );
    const fs = grants(proposed);
    // gcc is granted by name, or by builtin:build, which the proposal prefers where it covers it.
    const extended: string[] = parse(Deno.readTextFileSync(proposed)).extends ?? [];
    assert.ok(
      fs.exec.includes("/usr/bin/gcc") || extended.includes("builtin:build"),
      fs.exec.join(" "),
    );
    assert.ok(!fs.exec.includes("/usr/bin"), fs.exec.join(" "));
    assert.deepEqual(fs.write, [proj]);
    console.log(`make proposal: ${Deno.readTextFileSync(proposed).split("\n").length - 1} lines`);
  },
});

Deno.test("launch: a target the seccomp filter kills is told apart by its SIGSYS", async () => {
  using dir = tempDir();
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    "version: 1\nname: x\ntarget: { exe: /bin/true }\n" +
      "syscalls:\n  default: kill_process\n  allow: [read, write, execveat, exit_group]\n",
  );
  const r = await charter(["launch", "--no-seal", policy]);
  assert.equal(r.code, 128 + 31, r.stderr);
  assert.match(
    r.stderr,
    /the target was killed by SIGSYS, the signal of a seccomp kill.*"charter learn /,
  );
});

Deno.test("launch: at a terminal, a failed target's user is told to run charter learn", async () => {
  // The seccomp filter denied nothing (its denials are recorded), and Landlock reports its
  // denials only to the kernel's audit log: a person at a terminal is told which command
  // shows them. `script` gives the launcher a pty as stdin, stdout and stderr.
  using dir = tempDir();
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    "version: 1\nname: x\ntarget: { exe: /bin/false }\n",
  );
  const r = await run("script", [
    "-qec",
    charterArgv(["launch", "--no-seal", policy]).map((a) => `'${a}'`).join(" "),
    "/dev/null",
  ]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(
    r.stdout,
    /charter: the target exited with 1; the seccomp filter denied it nothing a policy key would allow; Landlock reports its denials only to the kernel.s audit log, which is off or unreadable here; a path missing from the filesystem view is never reported: "charter learn .*p\.yaml" runs it recording/,
  );
});

Deno.test("learn: a child cannot make the proposal grant / through .. or a symlink it made", async () => {
  // Attack: the recorded path is the program's own spelling. Listing `/tmp/..` or a symlink
  // to `/` the child made asked for filesystem.read of `/tmp/..` and `OUT/r`, which the
  // never-too-wide rule (a string compare with `/`) let through and the compiler opened as
  // `/`: the whole filesystem readable under full enforcement.
  using dir = tempDir();
  const out = `${dir}/out`;
  Deno.mkdirSync(out, { mode: 0o777 });
  Deno.chmodSync(out, 0o777);
  const script = `ls /tmp/.. >/dev/null; ln -s / ${out}/r; ls ${out}/r/ >/dev/null; ` +
    `for d in bin etc usr var; do ls ${out}/r/$d >/dev/null; done; true`;
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    `version: 1\nname: x\ntarget:\n  exe: /bin/sh\n  argv: [sh, -c, "${script}"]\n`,
  );
  const proposed = `${dir}/proposed.yaml`;
  const r = await charter(["learn", policy, "-o", proposed]);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stdout.includes(`list ${out}/r → filesystem.read`), r.stdout);
  assert.match(r.stderr, /not proposed: filesystem\.read \/tmp\/\.\. \(it is the whole filesystem/);
  assert.match(r.stderr, /not proposed: filesystem\.read .*\/out\/r \(it is the whole filesystem/);
  for (const path of Object.values(grants(proposed)).flat()) {
    const resolved = Deno.realPathSync(path);
    assert.ok(resolved.lastIndexOf("/") > 0, `${path} grants ${resolved}`);
  }
});

Deno.test("learn: a child naming a new path in every call cannot grow the launcher without bound", async () => {
  // Attack: every denial line a child makes distinct (create /usr/x0, /usr/x1, ...) was
  // kept until the end; at ~11,000 calls a second a hostile child grew the launcher by
  // ~1 KiB per call (114,000 calls: 216 MB) until it ran out of memory. Distinct lines are
  // now capped; the rest are counted.
  using dir = tempDir();
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    `version: 1\nname: x\nextends: [builtin:python]\ntarget:\n  exe: /usr/bin/python3\n` +
      `  argv: [python3, -c, "import os\\nfor n in range(25000):\\n  try: os.open('/usr/x%d' % n, os.O_CREAT | os.O_WRONLY)\\n  except OSError: pass"]\n`,
  );
  const r = await charter(["learn", policy]);
  assert.equal(r.code, 1, r.stderr);
  // One line per kept distinct denial.
  assert.equal(r.stdout.trimEnd().split("\n").length, 20_000);
  assert.match(r.stderr, /more than 20000 distinct denials: \d+ more were counted/);
});

Deno.test("learn: exec of a FIFO the child made does not hang the launcher", async () => {
  // Attack: the evaluator opened every exec'd path to look for its interpreter (ELF
  // PT_INTERP, #!). The child execs a FIFO it made (EACCES, but recorded); after the child
  // is gone the launcher opened the FIFO for reading and waited for a writer forever (as
  // root it would open any device the child names the same way).
  using dir = tempDir();
  const fifo = `${dir}/f`;
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    `version: 1\nname: x\ntarget:\n  exe: /bin/sh\n  argv: [sh, -c, "mkfifo ${fifo}; chmod 755 ${fifo}; ${fifo}; true"]\n`,
  );
  const r = await run("timeout", ["20", ...charterArgv(["learn", policy])]);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stdout.includes(`exec ${fifo} → filesystem.exec`), r.stdout);
});
