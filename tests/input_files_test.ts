/**
 * Files named on the command line that are not regular files (a FIFO, a device) are
 * refused with one sentence and without reading: no hang, no memory growth. `check` had
 * this for policies and `extends`; plans, keys and `explain`'s policies now have it too.
 *
 * @module
 */
import assert from "node:assert/strict";
import { charter, charterArgv, tempDir, writePolicy } from "./helpers.ts";

/** Runs `charter ARGS`, killed after 20 s: a hang fails the test instead of stalling it. */
async function charterWithin(
  args: string[],
  cwd?: string,
): Promise<{ code: number; stderr: string }> {
  const [cmd, ...rest] = charterArgv(args);
  const out = await new Deno.Command(cmd, {
    args: rest,
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("a FIFO or a device named as a plan, a key or in extends is refused, not read", async () => {
  using dir = tempDir();
  const fifo = `${dir}/plan.json`;
  const mkfifo = await new Deno.Command("mkfifo", { args: [fifo, `${dir}/k.pub`] }).output();
  assert.ok(mkfifo.success);
  const keys = await charter(["keygen", "-o", `${dir}/signer`]);
  assert.equal(keys.code, 0, keys.stderr);
  const extendsZero = writePolicy(
    String(dir),
    "p.yaml",
    "version: 1\nname: x\nextends: [/dev/zero]\ntarget: { exe: /bin/true }\n",
  );
  const cases: [string[], number, RegExp][] = [
    [
      ["launch", fifo, "--trust", `${dir}/signer.pub`],
      125,
      /cannot read .*plan\.json: it is a FIFO/,
    ],
    [["verify", fifo, "--trust", `${dir}/signer.pub`], 1, /cannot read .*plan\.json: it is a FIFO/],
    [["explain", fifo], 1, /cannot read .*plan\.json: it is a FIFO/],
    [
      ["transcript", "verify", "/dev/null", "--plan", "/dev/zero"],
      1,
      /cannot read \/dev\/zero: it is a character device/,
    ],
    [
      ["launch", `${dir}/x.json`, "--trust", `${dir}/k.pub`],
      125,
      /Key file .*k\.pub is not a regular file/,
    ],
    [
      ["launch", `${dir}/x.json`, "--trust", "/dev/zero"],
      125,
      /Key file \/dev\/zero is not a regular file/,
    ],
    [
      ["launch", `${dir}/x.json`, "--trust", "/proc/self/environ"],
      125,
      /Key file \/proc\/self\/environ is not a regular file/,
    ],
    [
      ["launch", `${dir}/signer.pub/plan.json`, "--trust", `${dir}/signer.pub`],
      125,
      /signer\.pub\/plan\.json does not exist/,
    ],
    [
      ["verify", `${dir}/signer.pub`, "--trust", `${dir}/signer.pub/k.pub`],
      1,
      /signer\.pub\/k\.pub does not exist/,
    ],
    [
      ["explain", extendsZero],
      1,
      /p\.yaml:3:\d+: extends\.0: cannot read \/dev\/zero \(it is a character device/,
    ],
  ];
  for (const [args, code, message] of cases) {
    // Each would block on the FIFO or read /dev/zero forever: the timeout is the failure.
    const r = await charterWithin(args);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  }
});

Deno.test("a file read from a git revision is bounded as on disk: a huge committed one is refused", async () => {
  using dir = tempDir();
  const git = (...args: string[]) =>
    new Deno.Command("git", {
      args: ["-c", "user.email=t@example.org", "-c", "user.name=t", ...args],
      cwd: String(dir),
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  // 9 MiB of comment: valid YAML, over the 8 MiB a policy or plan on disk may have.
  const huge = `# ${"x".repeat(9 * 1024 * 1024)}\n`;
  Deno.writeTextFileSync(`${dir}/big.yaml`, huge);
  Deno.writeTextFileSync(`${dir}/big.json`, huge);
  writePolicy(
    String(dir),
    "app.yaml",
    "version: 1\nname: app\nextends: [./big.yaml]\ntarget: { exe: /bin/true }\n",
  );
  assert.ok(git("init", "-q") && git("add", ".") && git("commit", "-qm", "one"));
  const cases: [string, RegExp][] = [
    ["HEAD:big.yaml", /cannot read HEAD:big\.yaml \(it is larger than 8 MiB/],
    ["HEAD:app.yaml", /extends\.0: cannot read big\.yaml \(it is larger than 8 MiB/],
    ["HEAD:big.json", /^charter: cannot read HEAD:big\.json: it is larger than 8 MiB/],
    ["HEAD:nope.json", /^charter: HEAD:nope\.json does not exist; check the path/],
  ];
  for (const [input, message] of cases) {
    const r = await charterWithin(["explain", input], String(dir));
    assert.equal(r.code, 1, `${input}: ${r.stderr}`);
    assert.match(r.stderr, message, input);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  }
});

Deno.test("a transcript that never ends a line (/dev/zero) is refused at a bounded length", async () => {
  // It was read into one line without end: gigabytes within seconds, then the timeout.
  const r = await charterWithin(["transcript", "export", "--format", "ocsf", "/dev/zero"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^charter: \/dev\/zero:1: the line is longer than 64 MiB/);
});
