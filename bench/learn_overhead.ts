/**
 * The cost of one intercepted syscall in `charter learn`, next to `strace -f` on the same
 * program: a Python loop of open("/dev/null") + close, timed by the program itself, run
 * plain, under `strace -f -o /dev/null`, under `charter launch` (enforced, nothing
 * intercepted) and under `charter learn` (each open stops for the supervisor; close does
 * not). Prints microseconds per loop iteration, the median of the runs.
 *
 * Usage: deno run -A bench/learn_overhead.ts [--runs N] [--iterations N]
 *
 * @module
 */
import { parseArgs } from "node:util";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "3" },
    iterations: { type: "string", default: "20000" },
  },
});
const dir = Deno.makeTempDirSync({ prefix: "charter-learn-bench-" });
Deno.chmodSync(dir, 0o755);
const script = `${dir}/loop.py`;
Deno.writeTextFileSync(
  script,
  `import os, sys, time\nn = int(sys.argv[1])\nt = time.perf_counter()\nfor i in range(n):\n` +
    `    os.close(os.open("/dev/null", os.O_RDONLY))\n` +
    `print(f"us {(time.perf_counter() - t) / n * 1e6:.2f}", file=sys.stderr)\n`,
  { mode: 0o644 },
);
const policy = `${dir}/loop.yaml`;
Deno.writeTextFileSync(
  policy,
  `version: 1\nname: loop\nextends: [builtin:python]\ntarget:\n  exe: /usr/bin/python3\n` +
    `  argv: [python3, ${script}]\n  inputs: [${script}]\n  extra_args: true\n`,
);
const n = values.iterations;
const charter = [Deno.execPath(), "run", "-A", "--quiet", `${root}/cli.ts`];
const ways: [string, string[]][] = [
  ["plain", ["/usr/bin/python3", script, n]],
  ["strace -f", ["strace", "-f", "-o", "/dev/null", "/usr/bin/python3", script, n]],
  ["charter launch", [...charter, "launch", "--no-seal", policy, "--", n]],
  ["charter learn", [...charter, "learn", policy, "--", n]],
];
for (const [name, argv] of ways) {
  const times: number[] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    const out = new Deno.Command(argv[0], { args: argv.slice(1), stdout: "null", stderr: "piped" })
      .outputSync();
    const us = /us ([0-9.]+)/.exec(new TextDecoder().decode(out.stderr))?.[1];
    if (us === undefined) throw new Error(`${name} printed no timing`);
    times.push(Number(us));
  }
  times.sort((a, b) => a - b);
  console.log(`${name.padEnd(16)} ${times[times.length >> 1].toFixed(1)} µs per open+close`);
}
Deno.removeSync(dir, { recursive: true });
