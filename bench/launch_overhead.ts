/**
 * Launch overhead, measured side by side in one run:
 * - median wall time (hyperfine) of bare `/bin/true`, `bwrap --ro-bind / / /bin/true`,
 *   a one-line `deno run` (the launcher's own start-up floor),
 *   `deno run -A cli.ts launch plan.dsse.json` for `/bin/true`, and the same through the
 *   `./charter` wrapper (its freshness check is the difference);
 * - the shim's own time from the transcript: `monoNs` of launcher_started → exec_succeeded;
 * - the ratio issue 13 sets a goal for (≤ 1.5): `launch` over the one-line `deno run`, of
 *   the median and the fastest wall time and of the CPU time (user + system, which a
 *   machine shared with other work disturbs least), all from the same hyperfine run; and the
 *   median of per-round ratios with the two alternating, one pair per round, which load that
 *   changes during the run cannot favour either way.
 *
 * Usage: deno run -A bench/launch_overhead.ts [--runs N]
 * Needs hyperfine and bubblewrap (apt-get install hyperfine bubblewrap).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { readHyperfine } from "./hyperfine_report.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "50" } },
});
const runs = Number(values.runs);
const deno = Deno.execPath();
const dir = Deno.makeTempDirSync({ prefix: "charter-bench-" });
// Every row uses the module cache `./charter` uses, so the rows differ only in themselves.
Deno.env.set("DENO_DIR", Deno.env.get("DENO_DIR") ?? `${root}/.deno_dir`);

async function sh(cmd: string, args: string[], quiet = false): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stderr: quiet ? "null" : "inherit" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed`);
  return new TextDecoder().decode(out.stdout);
}

const charter = [deno, "run", "-A", "--quiet", `${root}/cli.ts`];
await sh(charter[0], [...charter.slice(1), "keygen", "-o", `${dir}/k`]);
Deno.writeTextFileSync(
  `${dir}/true.yaml`,
  "version: 1\nname: bench-true\ntarget: { exe: /bin/true }\n",
);
await sh(charter[0], [
  ...charter.slice(1),
  "compile",
  `${dir}/true.yaml`,
  "-o",
  `${dir}/plan.json`,
  "--key",
  `${dir}/k.key`,
]);
Deno.writeTextFileSync(`${dir}/noop.ts`, "Deno.exit(0);\n");

const launch = `${charter.join(" ")} launch ${dir}/plan.json --trust ${dir}/k.pub`;
const oneLiner = `${deno} run --quiet ${dir}/noop.ts`;
const commands: [string, string][] = [
  ["/bin/true", "/bin/true"],
  ["bwrap --ro-bind / / /bin/true", "bwrap --ro-bind / / /bin/true"],
  ["deno run (one-line script)", oneLiner],
  ["charter launch plan (/bin/true)", launch],
  [
    "./charter launch plan (/bin/true)",
    `${root}/charter launch ${dir}/plan.json --trust ${dir}/k.pub`,
  ],
];
await sh("hyperfine", [
  "--warmup",
  "3",
  "--runs",
  String(runs),
  "-N",
  "--export-json",
  `${dir}/h.json`,
  ...commands.flatMap(([name, cmd]) => ["-n", name, cmd]),
]);
const results = readHyperfine(`${dir}/h.json`);

// One-liner and launch alternating, one pair per round.
const pairRatios: number[] = [];
for (let i = 0; i < runs; i++) {
  const pair = ["-N", "--runs", "1", "--style", "none", "--export-json", `${dir}/pair.json`];
  await sh("hyperfine", [...pair, "-n", "one-liner", oneLiner, "-n", "launch", launch], true);
  const [one, launched] = readHyperfine(`${dir}/pair.json`);
  pairRatios.push(launched.mean / one.mean);
}

// The shim's own share: launcher_started → exec_succeeded, and → child_exited.
const shimNs: number[] = [];
const totalNs: number[] = [];
for (let i = 0; i < runs; i++) {
  const t = `${dir}/t${i}.jsonl`;
  await sh(charter[0], [
    ...charter.slice(1),
    "launch",
    `${dir}/plan.json`,
    "--trust",
    `${dir}/k.pub`,
    "--transcript",
    t,
  ]);
  const records = Deno.readTextFileSync(t).trim().split("\n").map((l) => JSON.parse(l));
  const at = (event: string) => records.find((r) => r.event === event).monoNs;
  shimNs.push(at("exec_succeeded") - at("launcher_started"));
  totalNs.push(at("child_exited") - at("launcher_started"));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`\nwall time over ${runs} runs (hyperfine -N, one run): median, fastest; CPU mean`);
for (const r of results) {
  const ms = (s: number) => `${(s * 1000).toFixed(2)} ms`.padStart(10);
  console.log(`  ${r.command.padEnd(34)} ${ms(r.median)} ${ms(r.min)} ${ms(r.user + r.system)}`);
}
const row = (name: string) => results.find((r) => r.command === name)!;
const [oneLinerRow, launchRow] = [
  row("deno run (one-line script)"),
  row("charter launch plan (/bin/true)"),
];
const ratio = (f: (r: typeof launchRow) => number) => (f(launchRow) / f(oneLinerRow)).toFixed(2);
console.log(
  `launch / one-liner (goal <= 1.5): median ${ratio((r) => r.median)}x, fastest ${
    ratio((r) => r.min)
  }x, CPU ${ratio((r) => r.user + r.system)}x; alternating pairs, median of ${runs} ratios ${
    median(pairRatios).toFixed(2)
  }x`,
);
console.log(
  `shim, launcher_started -> exec_succeeded (median): ${(median(shimNs) / 1e6).toFixed(3)} ms`,
);
console.log(
  `shim, launcher_started -> child_exited   (median): ${(median(totalNs) / 1e6).toFixed(3)} ms`,
);
Deno.removeSync(dir, { recursive: true });
