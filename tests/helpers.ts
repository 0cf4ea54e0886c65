/**
 * Test helpers: run the real `charter` CLI as a subprocess (as root or as an
 * unprivileged user), write policies and keys into temporary directories.
 *
 * @module
 */
import { canonicalJson } from "../compiler/compile.ts";
import type { PlanStatement } from "../compiler/plan.ts";
import { signEnvelope } from "../crypto/dsse.ts";
import { parsePrivateKeyPem } from "../crypto/keys.ts";

/** The repository root. */
export const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** The result of a finished subprocess. */
export interface RunResult {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** How to run the CLI: which user, which environment, which working directory. */
export interface RunOptions {
  /** Run under `setpriv` as uid/gid 65534 (nobody) with no groups. */
  unprivileged?: boolean;
  /** Extra environment variables for the launcher. */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
}

const decoder = new TextDecoder();

/** Builds the argv that runs `charter ARGS` the requested way. */
export function charterArgv(args: string[], options: RunOptions = {}): string[] {
  const base = options.unprivileged ? unprivilegedTree() : { deno: Deno.execPath(), root: ROOT };
  const argv = [base.deno, "run", "-A", "--quiet", `${base.root}/cli.ts`, ...args];
  return options.unprivileged
    ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", ...argv]
    : argv;
}

/** Quotes an argv for a `bash -c` command line (arguments contain no single quotes). */
export function shellQuote(argv: string[]): string {
  return argv.map((a) => `'${a}'`).join(" ");
}

/** Runs `charter ARGS` to completion. */
export async function charter(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const [cmd, ...rest] = charterArgv(args, options);
  return await run(cmd, rest, options);
}

/** Runs a command to completion and collects its output. */
export async function run(
  cmd: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    env: { ...launcherEnv(options), ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    signal: out.signal,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/** Environment of the launcher process: DENO_DIR must be writable by whoever runs it. */
export function launcherEnv(options: RunOptions): Record<string, string> {
  return options.unprivileged ? { DENO_DIR: unprivilegedTree().denoDir, HOME: "/tmp" } : {};
}

let staged: { root: string; deno: string; denoDir: string } | undefined;

/**
 * A copy of the runtime tree (sources, lock file, built shim, deno binary) in a world
 * readable temporary directory, so uid 65534 can run it wherever the checkout lives.
 */
export function unprivilegedTree(): { root: string; deno: string; denoDir: string } {
  if (staged) return staged;
  const root = Deno.makeTempDirSync({ prefix: "charter-nobody-" });
  Deno.chmodSync(root, 0o755);
  const copy = (from: string, to: string) => {
    const r = new Deno.Command("cp", { args: ["-r", from, to] }).outputSync();
    if (!r.success) throw new Error(`cp ${from} ${to} failed: ${decoder.decode(r.stderr)}`);
  };
  for (
    const entry of [
      "cli.ts",
      "mod.ts",
      "deno.json",
      "deno.lock",
      "policy",
      "compiler",
      "crypto",
      "ffi",
      "audit",
      "cli",
      "learn",
      "examples",
    ]
  ) {
    copy(`${ROOT}/${entry}`, `${root}/${entry}`);
  }
  Deno.mkdirSync(`${root}/rust-shim/target/release`, { recursive: true });
  copy(`${ROOT}/rust-shim/target/release/libcharter_shim.so`, `${root}/rust-shim/target/release/`);
  copy(Deno.execPath(), `${root}/deno`);
  const denoDir = `${root}/.deno_dir`;
  Deno.mkdirSync(denoDir, { mode: 0o777 });
  Deno.chmodSync(denoDir, 0o777);
  new Deno.Command("chmod", { args: ["-R", "a+rX", root] }).outputSync();
  // Each copy holds a Deno binary (about 120 MB): left behind, test runs filled the disk.
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(root, { recursive: true });
    } catch { /* already gone */ }
  });
  staged = { root, deno: `${root}/deno`, denoDir };
  return staged;
}

/** A temporary directory every user can write to; removed by the returned dispose. */
export function tempDir(): string & Disposable {
  const dir = Deno.makeTempDirSync({ prefix: "charter-test-" });
  Deno.chmodSync(dir, 0o1777);
  return Object.assign(new String(dir) as string, {
    [Symbol.dispose]: () => Deno.removeSync(dir, { recursive: true }),
  }) as string & Disposable;
}

let transcripts: string | undefined;

/**
 * A fresh path for a transcript file outside /tmp, in a directory every user can create
 * files in (removed when the test process ends). The shell policies let the child write
 * /tmp, and `launch` refuses a transcript file the child could write (docs/decisions.md).
 *
 * @example
 * ```ts ignore
 * const t = transcriptFile();
 * await charter(["launch", policy, "--transcript", t]);
 * ```
 */
export function transcriptFile(): string {
  if (transcripts === undefined) {
    const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "charter-transcripts-" });
    Deno.chmodSync(dir, 0o1777);
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    transcripts = dir;
  }
  return `${transcripts}/${crypto.randomUUID()}.jsonl`;
}

/** Writes a policy file (YAML text) into a directory and returns its path. */
export function writePolicy(dir: string, name: string, yaml: string): string {
  const path = `${dir}/${name}`;
  Deno.writeTextFileSync(path, yaml);
  return path;
}

/**
 * What shell scripts that test another mechanism need from the filesystem: read and run
 * anything, write the test directories. It replaces the default filesystem rules
 * explicitly (those are tested in confine_defaults_test.ts and confine_landlock_test.ts).
 */
export const SHELL_FILESYSTEM =
  "filesystem: { view: host, read: [/], exec: [/], write: [/tmp, /dev] }\n";

/** A policy that runs `/bin/sh -c SCRIPT` with a small fixed environment. */
export function shPolicy(script: string, extra = ""): string {
  return `version: 1
name: sh-test
target:
  exe: /bin/sh
  argv: [sh, -c, ${JSON.stringify(script)}]
  cwd: /
${SHELL_FILESYSTEM}env:
  set: { PATH: /usr/bin:/bin }
${extra}`;
}

/** Creates a key pair in `dir` with `charter keygen`; returns the two paths. */
export async function keygen(dir: string, name = "signer"): Promise<{ key: string; pub: string }> {
  const r = await charter(["keygen", "-o", `${dir}/${name}`]);
  if (r.code !== 0) throw new Error(`keygen failed: ${r.stderr}`);
  return { key: `${dir}/${name}.key`, pub: `${dir}/${name}.pub` };
}

/** Compiles a policy into `dir/plan.dsse.json` with the CLI; returns the plan path. */
export async function compile(
  policy: string,
  key: string,
  dir: string,
  extra: string[] = [],
): Promise<string> {
  const out = `${dir}/plan.dsse.json`;
  const r = await charter(["compile", policy, "-o", out, "--key", key, ...extra]);
  if (r.code !== 0) throw new Error(`compile failed: ${r.stderr}`);
  return out;
}

/** Re-signs an edited statement with a key file, as an attacker holding the key could. */
export async function signStatement(
  statement: PlanStatement,
  keyPath: string,
): Promise<Uint8Array> {
  const key = await parsePrivateKeyPem(Deno.readTextFileSync(keyPath), keyPath);
  const envelope = await signEnvelope(canonicalJson(statement), key);
  return new TextEncoder().encode(JSON.stringify(envelope));
}

/** Reads a transcript file as parsed records. */
export function readTranscript(path: string): Record<string, unknown>[] {
  return Deno.readTextFileSync(path).split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

/** A launcher running in the background whose child has printed a line `ready`. */
export interface ReadyLauncher {
  /** The launcher process. */
  process: Deno.ChildProcess;
  /** Reads the rest of its stdout. */
  reader: ReadableStreamDefaultReader<string>;
  /** What it printed so far. */
  seen: string;
}

/** Starts `charter ARGS` in the background and waits until its child prints `ready`. */
export async function launchUntilReady(
  args: string[],
  options: RunOptions = {},
): Promise<ReadyLauncher> {
  const [cmd, ...rest] = charterArgv(args, options);
  const process = new Deno.Command(cmd, {
    args: rest,
    env: { ...launcherEnv(options), ...options.env },
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the child never became ready (printed ${JSON.stringify(seen)})`);
    seen += value;
  }
  return { process, reader, seen };
}

/**
 * Re-chains edited transcript lines as a forger without any key can: each `prev` becomes
 * the sha256 of the line before it. Returns the JSON Lines text.
 */
export async function rechain(lines: string[]): Promise<string> {
  let prev = lines[0].match(/"prev":"([0-9a-f]{64})"/)![1];
  const out: string[] = [];
  for (const line of lines) {
    const l = line.replace(/"prev":"[0-9a-f]{64}"/, `"prev":"${prev}"`);
    out.push(l);
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(l)),
    );
    prev = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  return out.map((l) => l + "\n").join("");
}
