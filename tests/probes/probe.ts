/**
 * Shared pieces of the confinement tests (tests/confine_*_test.ts): the probe program
 * (probe.c, compiled once per test run with `cc`), policies that run it, launching a
 * policy through the real CLI with a transcript, and re-signing edited plans.
 *
 * @module
 */
import { readPlan } from "../../audit/verify_plan.ts";
import type { PlanStatement } from "../../compiler/plan.ts";
import {
  charter,
  charterArgv,
  compile,
  keygen,
  launcherEnv,
  readTranscript,
  type RunOptions,
  type RunResult,
  SHELL_FILESYSTEM,
  signStatement,
  transcriptFile,
} from "../helpers.ts";

const here = new URL(".", import.meta.url).pathname;

/** Debian's python3 (not the pyenv one on PATH, which lives under /root). */
export const PYTHON = "/usr/bin/python3";

/** tests/probes/pty_session.py. */
export const PTY_SESSION = `${here}pty_session.py`;

/** A step of pty_session.py: wait for output matching a regex, type text, or pause. */
export type PtyStep = { expect: string } | { send: string } | { sleep: number };

/** What pty_session.py reports (see its docstring). */
export interface PtySession {
  status: number | null;
  output: string;
  pendingInput: number;
  failedStep: number | null;
}

/** Ctrl-C, as typed at a terminal. */
export const CTRL_C = "\u0003";

/** Launches POLICY (YAML text, written to DIR/p.yaml) on a fresh pty and drives it through STEPS. */
export async function ptySession(
  dir: string,
  yaml: string,
  steps: PtyStep[],
  options: RunOptions = {},
): Promise<PtySession> {
  const policy = `${dir}/p.yaml`;
  Deno.writeTextFileSync(policy, yaml);
  const out = await new Deno.Command(PYTHON, {
    args: [PTY_SESSION, JSON.stringify(steps), ...charterArgv(["launch", policy], options)],
    env: { ...launcherEnv(options), TERM: "dumb" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  if (out.code !== 0) throw new Error(`pty_session.py failed: ${text.decode(out.stderr)}`);
  return JSON.parse(text.decode(out.stdout));
}

/** tests/probes/deepest_userns.py. */
export const DEEPEST_USERNS = `${here}deepest_userns.py`;

let built: string | undefined;

/**
 * The probe executable: compiled from probe.c into a world-readable temporary
 * directory, so that uid 65534 can run it too.
 */
export function probe(): string {
  if (built) return built;
  const dir = Deno.makeTempDirSync({ prefix: "charter-probe-" });
  Deno.chmodSync(dir, 0o755);
  const out = new Deno.Command("cc", {
    args: ["-O1", "-Wall", "-o", `${dir}/probe`, `${here}probe.c`],
  }).outputSync();
  if (!out.success) {
    throw new Error(`cc probe.c failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  built = `${dir}/probe`;
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* already gone */ }
  });
  return built;
}

/**
 * A policy that runs the probe with `actions` (`read:PATH`, `connect:PORT`, ...; see
 * probe.c), plus `extra` YAML lines.
 */
export function probePolicy(actions: string[], extra = ""): string {
  const argv = ["probe", ...actions].map((a) => JSON.stringify(a)).join(", ");
  return `version: 1
name: probe
target:
  exe: ${probe()}
  argv: [${argv}]
${extra}`;
}

/** A policy that runs `/bin/sh -c SCRIPT`, plus `extra` YAML lines. */
export function shellPolicy(script: string, extra = ""): string {
  return `version: 1
name: sh
target:
  exe: /bin/sh
  argv: [sh, -c, ${JSON.stringify(script)}]
${SHELL_FILESYSTEM}env:
  set: { PATH: /usr/sbin:/usr/bin:/bin }
${extra}`;
}

/** A finished launch: the CLI's result, its stdout lines and the transcript records. */
export interface Launched extends RunResult {
  lines: string[];
  records: Record<string, unknown>[];
}

/**
 * Writes `yaml` to DIR/NAME.yaml and launches it with a transcript outside the child's
 * write tree ({@link transcriptFile}).
 */
export async function launch(
  dir: string,
  yaml: string,
  options: RunOptions = {},
  name = "p",
): Promise<Launched> {
  const policy = `${dir}/${name}.yaml`;
  const transcript = transcriptFile();
  Deno.writeTextFileSync(policy, yaml);
  const r = await charter(["launch", policy, "--no-seal", "--transcript", transcript], options);
  let records: Record<string, unknown>[] = [];
  try {
    records = readTranscript(transcript);
  } catch { /* no transcript */ }
  return { ...r, lines: r.stdout.split("\n").filter((l) => l !== ""), records };
}

/** The `phase_resolved` record of a phase. */
export function phase(records: Record<string, unknown>[], n: number): {
  result: string;
  details: Record<string, unknown>;
} {
  const record = records.find((r) => r.event === "phase_resolved" && r.phase === n);
  if (!record) throw new Error(`no phase_resolved ${n} in ${JSON.stringify(records)}`);
  return record as { result: string; details: Record<string, unknown> };
}

/** The last record (a refusal, a fault or child_exited). */
export function last(records: Record<string, unknown>[]): Record<string, unknown> {
  return records.at(-1) ?? {};
}

/** A compiled plan in DIR with its key pair and decoded statement. */
export interface CompiledPlan {
  key: string;
  pub: string;
  plan: string;
  statement: PlanStatement;
}

/** Compiles `yaml` into DIR/plan.dsse.json with a fresh key; returns the statement too. */
export async function compiled(dir: string, yaml: string): Promise<CompiledPlan> {
  const { key, pub } = await keygen(dir);
  Deno.writeTextFileSync(`${dir}/p.yaml`, yaml);
  const plan = await compile(`${dir}/p.yaml`, key, dir);
  const { statement } = await readPlan(Deno.readFileSync(plan));
  return { key, pub, plan, statement };
}

/** Signs an edited statement with the plan's key and launches it as a plan file. */
export async function launchStatement(
  dir: string,
  compiled: CompiledPlan,
  statement: PlanStatement,
  name: string,
  options: RunOptions = {},
): Promise<Launched> {
  const path = `${dir}/${name}.dsse.json`;
  Deno.writeFileSync(path, await signStatement(statement, compiled.key));
  const transcript = transcriptFile();
  const r = await charter(
    ["launch", path, "--trust", compiled.pub, "--no-seal", "--transcript", transcript],
    options,
  );
  let records: Record<string, unknown>[] = [];
  try {
    records = readTranscript(transcript);
  } catch { /* no transcript */ }
  return { ...r, lines: r.stdout.split("\n").filter((l) => l !== ""), records };
}

/** Whether process `pid` is gone or a zombie (it can no longer run). */
export function dead(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** Waits up to `ms` for `check` to hold. */
export async function eventually(check: () => boolean, ms = 3000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}
