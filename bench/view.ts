/**
 * What the filesystem view costs the shim, side by side in one run:
 * - the shim's own time from the transcript (`monoNs` of launcher_started → exec_succeeded,
 *   median of N launches of `/bin/true` under the default policy) without a view, and with
 *   a listed view of 10 and of 200 read-only binds (plus /usr, the merged-/usr symlinks, a
 *   tmpfs /tmp, /proc and a minimal /dev);
 * - next to it, the median wall time (hyperfine -N) of bwrap with the same binds, proc, dev
 *   and tmpfs and the same user and pid namespaces.
 *
 * Each plan is compiled from a policy: `view: host` for the row without a view, and for the
 * others `filesystem.read` of /usr plus the binds (the compiler adds the merged-/usr
 * symlinks on the way to /bin/true and its loader, the default tmp, proc and dev). The
 * binds are the first directories under /usr/share (depth ≤ 2, sorted).
 *
 * Usage: deno run -A bench/view.ts [--runs N]
 * Needs hyperfine and bubblewrap (apt-get install hyperfine bubblewrap) and a built shim.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { printTable, readHyperfine } from "./hyperfine_report.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "30" } },
});
const runs = Number(values.runs);
const deno = Deno.execPath();
const dir = Deno.makeTempDirSync({ prefix: "charter-bench-view-" });
const charter = ["run", "-A", "--quiet", `${root}/cli.ts`];

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; err: string }> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  return { ok: out.success, err: new TextDecoder().decode(out.stderr) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The first `n` directories under /usr/share, depth ≤ 2, sorted (parents first). */
function shareDirs(n: number): string[] {
  const found: string[] = [];
  const walk = (path: string, depth: number) => {
    const names = [...Deno.readDirSync(path)].filter((e) => e.isDirectory).map((e) => e.name);
    for (const name of names.sort()) {
      if (found.length === n) return;
      found.push(`${path}/${name}`);
      if (depth < 2) walk(`${path}/${name}`, depth + 1);
    }
  };
  walk("/usr/share", 1);
  if (found.length < n) throw new Error(`only ${found.length} directories under /usr/share`);
  return found;
}

const LINKS = [["/bin", "usr/bin"], ["/lib", "usr/lib"], ["/lib64", "usr/lib64"]];
/** The same view as bwrap arguments, with the default policy's user and pid namespaces. */
function bwrap(binds: string[]): string {
  return [
    "bwrap --unshare-user --unshare-pid --die-with-parent --ro-bind /usr /usr",
    ...LINKS.map(([target, link]) => `--symlink ${link} ${target}`),
    ...binds.map((path) => `--ro-bind ${path} ${path}`),
    "--tmpfs /tmp --proc /proc --dev /dev /bin/true",
  ].join(" ");
}

const keygen = await run(deno, [...charter, "keygen", "-o", `${dir}/k`]);
if (!keygen.ok) throw new Error(`keygen failed: ${keygen.err}`);
/** Compiles `policy` (YAML) into a plan signed with the bench key; its path. */
async function compile(name: string, policy: string): Promise<string> {
  Deno.writeTextFileSync(`${dir}/${name}.yaml`, policy);
  const path = `${dir}/${name}.json`;
  const r = await run(deno, [
    ...charter,
    "compile",
    `${dir}/${name}.yaml`,
    "-o",
    path,
    "--key",
    `${dir}/k.key`,
  ]);
  if (!r.ok) throw new Error(`compile of ${name} failed: ${r.err}`);
  return path;
}

const HEAD = "version: 1\nname: bench\ntarget: { exe: /bin/true }\n";

/**
 * Median shim time (ms) over `runs` launches of `plan`. (Per-phase deltas would mislead:
 * the child runs ahead of the parent's records until it waits for release before exec.)
 */
async function shimTime(plan: string): Promise<string> {
  const ns: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = `${dir}/t.jsonl`;
    try {
      Deno.removeSync(t);
    } catch { /* first run */ }
    const r = await run(deno, [
      ...charter,
      "launch",
      plan,
      "--trust",
      `${dir}/k.pub`,
      "--no-seal",
      "--transcript",
      t,
    ]);
    if (!r.ok) throw new Error(`launch of ${plan} failed: ${r.err}`);
    const records = Deno.readTextFileSync(t).trim().split("\n").map((l) => JSON.parse(l));
    const at = (event: string) => records.find((rec) => rec.event === event).monoNs;
    ns.push(at("exec_succeeded") - at("launcher_started"));
  }
  return (median(ns) / 1e6).toFixed(3);
}

const rows: [string, string, string][] = [];
rows.push([
  "charter shim: default policy, no view",
  await shimTime(await compile("base", `${HEAD}filesystem: { view: host }\n`)),
  "transcript monoNs",
]);
const sizes = [10, 200];
for (const n of sizes) {
  const read = ["/usr", ...shareDirs(n)].map((path) => `    - ${path}\n`).join("");
  const plan = await compile(`v${n}`, `${HEAD}filesystem:\n  read:\n${read}`);
  rows.push([
    `charter shim: view of ${n} binds`,
    await shimTime(plan),
    "transcript monoNs",
  ]);
}
const hyperfineArgs = [
  "--warmup",
  "3",
  "--runs",
  String(runs),
  "-N",
  "--export-json",
  `${dir}/h.json`,
];
for (const n of sizes) hyperfineArgs.push("-n", `bwrap: view of ${n} binds`, bwrap(shareDirs(n)));
const hf = await run("hyperfine", hyperfineArgs);
if (!hf.ok) throw new Error(`hyperfine failed: ${hf.err}`);
for (const r of readHyperfine(`${dir}/h.json`)) {
  rows.push([r.command, (r.median * 1000).toFixed(3), "wall time, hyperfine -N"]);
}
printTable(rows, runs);
Deno.removeSync(dir, { recursive: true });
