/**
 * The bytes executed are the bytes hashed (issue 14): a writer of the target or of an input
 * who patches it right after the launcher read it (inotify IN_ACCESS) never gets the
 * patched bytes run, for a root and for an unprivileged launcher.
 */
import assert from "node:assert/strict";
import { readPlan } from "../audit/verify_plan.ts";
import {
  charter,
  compile,
  keygen,
  readTranscript,
  ROOT,
  type RunOptions,
  tempDir,
  writePolicy,
} from "./helpers.ts";

const decoder = new TextDecoder();

/** `setpriv` arguments that run a command as `uid` (same gid) with no groups. */
function asUser(uid: number): string[] {
  return ["setpriv", `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "--"];
}

/** The inotify racer (tests/probes/inotify_racer.py) running as `uid` against `file`. */
class Racer {
  #process: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reader: ReadableStreamDefaultReader<string>;
  #seen = "";

  constructor(dir: string, uid: number, file: string, patch: Uint8Array) {
    Deno.copyFileSync(`${ROOT}/tests/probes/inotify_racer.py`, `${dir}/racer.py`);
    Deno.writeFileSync(`${dir}/patch`, patch);
    Deno.chmodSync(`${dir}/racer.py`, 0o644);
    Deno.chmodSync(`${dir}/patch`, 0o644);
    const [cmd, ...args] = [
      ...asUser(uid),
      "/usr/bin/python3",
      `${dir}/racer.py`,
      file,
      `${dir}/patch`,
    ];
    this.#process = new Deno.Command(cmd, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    })
      .spawn();
    this.#writer = this.#process.stdin.getWriter();
    this.#reader = this.#process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }

  async #expect(line: string): Promise<void> {
    while (!this.#seen.includes(`${line}\n`)) {
      const { value, done } = await this.#reader.read();
      if (done) throw new Error(`the racer ended before printing ${line}`);
      this.#seen += value;
    }
    this.#seen = this.#seen.slice(this.#seen.indexOf(`${line}\n`) + line.length + 1);
  }

  /** Watches the file; resolves once the watch is in place. */
  async arm(): Promise<void> {
    await this.#writer.write(new TextEncoder().encode("arm\n"));
    await this.#expect("armed");
  }

  /** Resolves once the racer has patched the file after seeing it read (within 10 s). */
  async patched(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("the file was never read: no race")), 10_000);
    });
    try {
      await Promise.race([this.#expect("patched"), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#process.kill("SIGKILL");
    await this.#reader.cancel();
    await this.#writer.close().catch(() => {});
    await this.#process.status;
  }
}

/** Two files of the same length: `first` line, then `benign` or `evil` (space-padded). */
function scripts(evil: string, first: string, benign: string) {
  const width = Math.max(evil.length, benign.length);
  const file = (body: string) => new TextEncoder().encode(`${first}\n${body.padEnd(width)}\n`);
  return { benign: file(benign), evil: file(evil) };
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Compiles a plan for `policy`, then launches it `rounds` times while the racer (as
 * `writer`, the owner of `file`) patches `file` right after each read of it. Every launch
 * must run the benign bytes: exit 0, `benign` on stdout, no marker.
 */
async function race(options: {
  dir: string;
  writer: number;
  file: string;
  content: { benign: Uint8Array; evil: Uint8Array };
  policy: string;
  marker: string;
  rounds: number;
  launcher: RunOptions;
}) {
  const { dir, file, content, marker } = options;
  const { key, pub } = await keygen(dir);
  Deno.writeFileSync(file, content.benign);
  Deno.chownSync(file, options.writer, options.writer);
  Deno.chmodSync(file, 0o755);
  const plan = await compile(options.policy, key, dir);
  await using racer = new Racer(dir, options.writer, file, content.evil);
  for (let round = 0; round < options.rounds; round++) {
    Deno.writeFileSync(file, content.benign);
    await racer.arm();
    const transcript = `${dir}/t.jsonl`;
    const r = await charter(
      ["launch", plan, "--trust", pub, "--transcript", transcript],
      options.launcher,
    );
    await racer.patched();
    assert.ok(!exists(marker), `round ${round}: the patched program ran`);
    assert.equal(r.code, 0, `round ${round}: ${r.stderr}`);
    assert.equal(r.stdout.trim(), "benign", `round ${round}`);
    if (round === 0) {
      const handles = readTranscript(transcript).find((rec) => rec.event === "handles_verified");
      assert.match(JSON.stringify(handles), new RegExp(`owned by uid ${options.writer}`));
    }
    Deno.removeSync(transcript);
  }
  // The racer really won the file: the patched bytes are on disk now.
  assert.equal(decoder.decode(Deno.readFileSync(file)), decoder.decode(content.evil));
}

function targetRace(rounds: number, writer: number, launcher: RunOptions) {
  return async () => {
    using dir = tempDir();
    const marker = `${dir}/marker`;
    const target = `${dir}/target.sh`;
    await race({
      dir: String(dir),
      writer,
      file: target,
      content: scripts(`: > ${marker}`, "#!/bin/sh", "echo benign"),
      policy: writePolicy(
        String(dir),
        "p.yaml",
        `version: 1\nname: racer\ntarget: { exe: ${target}, argv: [target] }\n`,
      ),
      marker,
      rounds,
      launcher,
    });
  };
}

Deno.test(
  "a writer of the target who patches it after the hash read never runs: 100 tries, 0 wins",
  targetRace(100, 65534, {}),
);

Deno.test(
  "unprivileged launcher: a writer of the target who patches it after the hash read never runs",
  targetRace(50, 65533, { unprivileged: true }),
);

/** A policy running `python3 SCRIPT` with the script as an input. */
function pythonPolicy(dir: string, script: string, extra = ""): string {
  return writePolicy(
    dir,
    "p.yaml",
    `version: 1
name: py
target:
  exe: /usr/bin/python3
  argv: [python3, ${script}]
  inputs: [${script}]
env: { set: { PATH: /usr/bin:/bin } }
${extra}`,
  );
}

function inputRace(rounds: number, writer: number, launcher: RunOptions) {
  return async () => {
    using dir = tempDir();
    const marker = `${dir}/marker`;
    const script = `${dir}/wc.py`;
    await race({
      dir: String(dir),
      writer,
      file: script,
      content: scripts(`open("${marker}", "w")`, "#", 'print("benign")'),
      policy: pythonPolicy(String(dir), script),
      marker,
      rounds,
      launcher,
    });
  };
}

Deno.test(
  "a writer of an input who patches it after the hash read never runs: the pinned copy does",
  inputRace(20, 65534, {}),
);

Deno.test(
  "unprivileged launcher: a writer of an input who patches it never runs: the pinned copy does",
  inputRace(10, 65533, { unprivileged: true }),
);

Deno.test("an input modified after compile is refused (digest_mismatch) before any child exists", async () => {
  using dir = tempDir();
  const { key, pub } = await keygen(String(dir));
  const script = `${dir}/wc.py`;
  const marker = `${dir}/marker`;
  Deno.writeTextFileSync(script, 'print("benign")\n');
  const plan = await compile(pythonPolicy(String(dir), script), key, String(dir));
  Deno.writeTextFileSync(script, `open("${marker}", "w")\n`);
  for (const launcher of [{}, { unprivileged: true }]) {
    const t = `${dir}/t-${Object.keys(launcher).length}.jsonl`;
    const r = await charter(["launch", plan, "--trust", pub, "--transcript", t], launcher);
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, /digest_mismatch.*wc\.py/);
    assert.ok(!readTranscript(t).some((rec) => rec.event === "child_created"));
    assert.ok(!exists(marker));
  }
});

Deno.test("an input only root can write runs by its own path, uncopied", async () => {
  using dir = tempDir();
  const { key, pub } = await keygen(String(dir));
  const app = `${dir}/app`;
  Deno.mkdirSync(app, { mode: 0o755 });
  Deno.chmodSync(app, 0o755);
  const script = `${app}/wc.py`;
  Deno.writeTextFileSync(script, "import sys\nprint(sys.argv[0])\n", { mode: 0o644 });
  const plan = await compile(pythonPolicy(String(dir), script), key, String(dir));
  const t = `${dir}/t.jsonl`;
  const r = await charter(["launch", plan, "--trust", pub, "--transcript", t]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), script);
  const handles = readTranscript(t).find((rec) => rec.event === "handles_verified")!;
  const [input] = handles.inputs as Record<string, unknown>[];
  assert.equal(input.path, script);
  assert.equal(input.copied, undefined);
  assert.equal(handles.exeCopied, undefined, "a root-owned system binary is not copied");
  const v = await charter(["transcript", "verify", t, "--plan", plan, "--trust", pub]);
  assert.equal(v.code, 0, v.stderr);
});

Deno.test("a copied input's transcript verifies, and one naming another digest does not", async () => {
  using dir = tempDir();
  const { key, pub } = await keygen(String(dir));
  const script = `${dir}/wc.py`;
  Deno.writeTextFileSync(script, 'print("benign")\n');
  Deno.chownSync(script, 65534, 65534);
  const plan = await compile(pythonPolicy(String(dir), script), key, String(dir));
  const t = `${dir}/t.jsonl`;
  const r = await charter(["launch", plan, "--trust", pub, "--transcript", t]);
  assert.equal(r.code, 0, r.stderr);
  const verify = () => charter(["transcript", "verify", t, "--plan", plan, "--trust", pub]);
  assert.equal((await verify()).code, 0);
  const text = Deno.readTextFileSync(t);
  const sha = JSON.parse(text.split("\n")[2]).inputs[0].sha256;
  Deno.writeTextFileSync(t, text.replace(sha, "0".repeat(64)));
  const forged = await verify();
  assert.equal(forged.code, 1);
  assert.match(forged.stdout + forged.stderr, /inputs opened are not the plan's target\.inputs/);
});

Deno.test("a missing input is a compile error at target.inputs.N", async () => {
  using dir = tempDir();
  const { key } = await keygen(String(dir));
  const policy = pythonPolicy(String(dir), `${dir}/missing.py`);
  const r = await charter(["check", policy]);
  const c = await charter(["compile", policy, "-o", `${dir}/plan.json`, "--key", key]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(c.code, 1, c.stderr);
  assert.match(
    c.stderr,
    new RegExp(`^${policy}:\\d+:\\d+: target\\.inputs\\.0: ${dir}/missing\\.py does not exist`),
  );
});

Deno.test("an input others can write that argv does not name is refused: it cannot be pinned", async () => {
  using dir = tempDir();
  const { key, pub } = await keygen(String(dir));
  const script = `${dir}/lib.py`;
  Deno.writeTextFileSync(script, "x = 1\n");
  Deno.chownSync(script, 65534, 65534);
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    `version: 1\nname: py\ntarget: { exe: /usr/bin/python3, argv: [python3, -c, "1"], inputs: [${script}] }\n`,
  );
  const plan = await compile(policy, key, String(dir));
  const r = await charter(["launch", plan, "--trust", pub]);
  assert.equal(r.code, 125, r.stderr);
  assert.match(
    r.stderr,
    /handle_unavailable.*lib\.py can be changed by others, and argv does not name it/,
  );
});

/** A `#!` script run by a private copy of /bin/sh; a launch of it must never create the marker. */
async function interpreterCase(dir: string) {
  const { key, pub } = await keygen(dir);
  const shell = `${dir}/mysh`;
  Deno.copyFileSync("/bin/sh", shell);
  Deno.chmodSync(shell, 0o755);
  const script = `${dir}/script`;
  const marker = `${dir}/marker`;
  Deno.writeTextFileSync(script, `#!${shell}\n: > ${marker}\n`, { mode: 0o755 });
  const policy = writePolicy(
    dir,
    "p.yaml",
    // Without Landlock: the digest check must not depend on Landlock's implied rules.
    `version: 1\nname: interp\ntarget: { exe: ${script}, argv: [script] }\n` +
      "enforce: { landlock: off }\n",
  );
  const plan = await compile(policy, key, dir);
  const launch = () => charter(["launch", plan, "--trust", pub]);
  return { shell, marker, plan, launch };
}

Deno.test("an interpreter changed after compile is refused (digest_mismatch), with or without Landlock", async () => {
  using dir = tempDir();
  const c = await interpreterCase(String(dir));
  const { statement } = await readPlan(Deno.readFileSync(c.plan));
  assert.equal(statement.predicate.landlock, undefined, "this plan has no Landlock");
  assert.equal(statement.predicate.target.interpreters?.[0].path, c.shell);
  Deno.writeFileSync(c.shell, new Uint8Array([0]), { append: true });
  const r = await c.launch();
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /digest_mismatch.*interpreter .*mysh/);
  assert.ok(!exists(c.marker));
});

Deno.test("an interpreter others can write is refused: the kernel opens it again by path", async () => {
  using dir = tempDir();
  const c = await interpreterCase(String(dir));
  Deno.chownSync(c.shell, 65534, 65534);
  const r = await c.launch();
  assert.equal(r.code, 125, r.stderr);
  assert.match(
    r.stderr,
    /handle_unavailable.*mysh can be changed by others \(it is owned by uid 65534\)/,
  );
  assert.ok(!exists(c.marker));
});

Deno.test("a copied target runs under Landlock, which does not restrict memfds", async () => {
  using dir = tempDir();
  const { key, pub } = await keygen(String(dir));
  const target = `${dir}/target.sh`;
  Deno.writeTextFileSync(target, "#!/bin/sh\necho benign\n", { mode: 0o755 });
  // Owned by a third user: foreign to the root and to the unprivileged launcher.
  Deno.chownSync(target, 65533, 65533);
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    `version: 1
name: ll
target: { exe: ${target}, argv: [target] }
filesystem: { read: [/usr, /lib, /lib64, /bin] }
`,
  );
  const plan = await compile(policy, key, String(dir));
  for (const launcher of [{}, { unprivileged: true }]) {
    const t = `${dir}/t-${Object.keys(launcher).length}.jsonl`;
    const r = await charter(["launch", plan, "--trust", pub, "--transcript", t], launcher);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "benign\n");
    const records = readTranscript(t);
    const handles = records.find((rec) => rec.event === "handles_verified")!;
    assert.equal(handles.exeCopied, "it is owned by uid 65533");
    const confine = records.find((rec) => rec.event === "phase_resolved" && rec.phase === 4)!;
    assert.equal(confine.result, "applied", JSON.stringify(confine));
  }
});
