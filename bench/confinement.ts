/**
 * What confinement costs the shim, measured side by side in one run:
 * - the shim's own time from the transcript (`monoNs` of launcher_started →
 *   exec_succeeded, median of N launches of `/bin/true`) for: the scrub only; + Landlock;
 *   + Landlock and seccomp; + Landlock, seccomp and user/pid/net namespaces; the default
 *   policy (only version, name and target); and, with `--before ROOT`, the default policy
 *   through another checkout's CLI and shim (the code before a change);
 * - next to it, the median wall time (hyperfine -N) of bare `/bin/true` and of bwrap with
 *   the default policy's namespaces:
 *   `bwrap --unshare-user --unshare-pid --unshare-ipc --unshare-net --die-with-parent
 *   --ro-bind / / /bin/true`.
 *
 * Usage: deno run -A bench/confinement.ts [--runs N] [--before ROOT]
 * Needs hyperfine and bubblewrap (apt-get install hyperfine bubblewrap) and a built shim.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { printTable, readHyperfine } from "./hyperfine_report.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "30" }, before: { type: "string" } },
});
const runs = Number(values.runs);
const deno = Deno.execPath();
const dir = Deno.makeTempDirSync({ prefix: "charter-bench-confine-" });
const cli = (tree: string) => ["run", "-A", "--quiet", `${tree}/cli.ts`];
const charter = cli(root);

async function run(
  cmd: string,
  args: string[],
): Promise<{ ok: boolean; out: string; err: string }> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder();
  return { ok: out.success, out: text.decode(out.stdout), err: text.decode(out.stderr) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const BASE = "version: 1\nname: bench\ntarget: { exe: /bin/true }\n";
const LANDLOCK = "extends: [builtin:base]\n";
const SECCOMP = 'syscalls:\n  default: allow\n  deny: ["@mount", "@module", ptrace]\n';
const NAMESPACES = "user: { namespace: true }\nnamespaces: { pid: true, net: true }\n";

// The default policy confines on every axis: the first rows turn each default off.
const NO_NAMESPACES =
  "user: { namespace: false }\nnamespaces: { pid: false, net: false, ipc: false }\ndie_with_parent: false\n";
const NO_SCOPES = "scope: { signals: false, abstract_unix: false }\n";
const NO_SECCOMP = "enforce: { seccomp: off }\n";
const NO_LANDLOCK = "enforce: { seccomp: off, landlock: off }\n";
const configs: [string, string][] = [
  ["scrub only", BASE + NO_NAMESPACES + NO_SCOPES + NO_LANDLOCK],
  ["+ Landlock", BASE + LANDLOCK + NO_NAMESPACES + NO_SCOPES + NO_SECCOMP],
  ["+ Landlock + seccomp", BASE + LANDLOCK + SECCOMP + NO_NAMESPACES + NO_SCOPES],
  ["+ Landlock + seccomp + user/pid/net ns", BASE + LANDLOCK + SECCOMP + NAMESPACES + NO_SCOPES],
  ["default policy (version, name, target)", BASE],
];

const keygen = await run(deno, [...charter, "keygen", "-o", `${dir}/k`]);
if (!keygen.ok) throw new Error(`keygen failed: ${keygen.err}`);

/** Compiles a policy with a tree's CLI; the plan path, or why it did not compile. */
async function compile(
  name: string,
  yaml: string,
  tree = root,
): Promise<string | { skipped: string }> {
  Deno.writeTextFileSync(`${dir}/${name}.yaml`, yaml);
  const plan = `${dir}/${name}.json`;
  const r = await run(deno, [
    ...cli(tree),
    "compile",
    `${dir}/${name}.yaml`,
    "-o",
    plan,
    "--key",
    `${dir}/k.key`,
  ]);
  return r.ok ? plan : { skipped: r.err.trim().split("\n")[0] };
}

/** Median shim time (ms) and what phase 4 enforced, over `runs` launches of `plan`. */
async function shimTime(plan: string, tree = root): Promise<{ ms: number; confine: string }> {
  const ns: number[] = [];
  let confine = "";
  for (let i = 0; i < runs; i++) {
    const t = `${dir}/t.jsonl`;
    try {
      Deno.removeSync(t);
    } catch { /* first run */ }
    const r = await run(deno, [
      ...cli(tree),
      "launch",
      plan,
      "--trust",
      `${dir}/k.pub`,
      "--transcript",
      t,
    ]);
    if (!r.ok) throw new Error(`launch of ${plan} failed: ${r.err}`);
    const records = Deno.readTextFileSync(t).trim().split("\n").map((l) => JSON.parse(l));
    const at = (event: string) => records.find((rec) => rec.event === event).monoNs;
    ns.push(at("exec_succeeded") - at("launcher_started"));
    const details = records.find((rec) => rec.event === "phase_resolved" && rec.phase === 4)
      .details;
    confine = Object.keys(details).join(" + ") || "-";
  }
  return { ms: median(ns) / 1e6, confine };
}

const rows: [string, string, string][] = [];
const trees: [string, string, string, string][] = configs.map(([name, yaml]) => [
  `charter shim: ${name}`,
  yaml,
  root,
  "",
]);
if (values.before) {
  trees.push(["charter shim before: default policy", BASE, values.before, ` (${values.before})`]);
}
for (const [index, [name, yaml, tree, note]] of trees.entries()) {
  const plan = await compile(`c${index}`, yaml, tree);
  if (typeof plan !== "string") {
    rows.push([name, "n/a", `policy did not compile: ${plan.skipped}`]);
    continue;
  }
  const { ms, confine } = await shimTime(plan, tree);
  rows.push([name, ms.toFixed(3), `transcript monoNs; confine: ${confine}${note}`]);
}

const bwrap =
  "bwrap --unshare-user --unshare-pid --unshare-ipc --unshare-net --die-with-parent --ro-bind / / /bin/true";
const hf = await run("hyperfine", [
  "--warmup",
  "3",
  "--runs",
  String(runs),
  "-N",
  "--export-json",
  `${dir}/h.json`,
  "-n",
  "/bin/true",
  "/bin/true",
  "-n",
  bwrap,
  bwrap,
]);
if (!hf.ok) throw new Error(`hyperfine failed: ${hf.err}`);
for (const r of readHyperfine(`${dir}/h.json`)) {
  rows.push([r.command, (r.median * 1000).toFixed(3), "wall time, hyperfine -N"]);
}
printTable(rows, runs);
Deno.removeSync(dir, { recursive: true });
