/**
 * How `charter check` and `charter compile` grow with a policy's size, in one run: 1k, 2.5k,
 * 5k and 10k filesystem paths, and `extends` chains of 250, 500 and 1,000 files. Linear
 * growth shows as a constant time per path (or per level) across the rows.
 *
 * Usage: deno run -A bench/check_scaling.ts [--runs N]
 * Needs hyperfine (apt-get install hyperfine).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { readHyperfine } from "./hyperfine_report.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "5" } },
});
const dir = Deno.makeTempDirSync({ prefix: "charter-scale-" });
const charter = `${Deno.execPath()} run -A --quiet ${root}/cli.ts`;

const rows: [string, number, string][] = [];
for (const n of [1000, 2500, 5000, 10000]) {
  const paths = Array.from({ length: n }, (_, i) => `    - /srv/data/dir${i}/file${i}\n`);
  const file = `${dir}/paths${n}.yaml`;
  Deno.writeTextFileSync(
    file,
    `version: 1\nname: x\ntarget: { exe: /bin/true }\nfilesystem:\n  read:\n${paths.join("")}`,
  );
  rows.push([`check, ${n} paths`, n, `${charter} check ${file}`]);
}
for (const n of [250, 500, 1000]) {
  const chain = `${dir}/chain${n}`;
  Deno.mkdirSync(chain);
  for (let i = 0; i < n; i++) {
    const next = i < n - 1 ? `extends: [l${i + 1}.yaml]\n` : "";
    const target = i === 0 ? "target: { exe: /bin/true }\n" : "";
    Deno.writeTextFileSync(
      `${chain}/l${i}.yaml`,
      `version: 1\nname: l${i}\n${next}${target}filesystem:\n  read: [/srv/l${i}]\n`,
    );
  }
  rows.push([`check, extends chain of ${n}`, n, `${charter} check ${chain}/l0.yaml`]);
}

const out = await new Deno.Command("hyperfine", {
  args: [
    "--warmup",
    "1",
    "--runs",
    values.runs,
    "-N",
    "--export-json",
    `${dir}/h.json`,
    ...rows.flatMap(([name, , cmd]) => ["-n", name, cmd]),
  ],
  stdout: "null",
  stderr: "inherit",
}).output();
if (!out.success) throw new Error("hyperfine failed");
const results = readHyperfine(`${dir}/h.json`);
const floor = results[0].median - (results[1].median - results[0].median) / 1.5;
console.log(`median over ${values.runs} runs; "per item" excludes the fixed start-up cost`);
for (const [i, r] of results.entries()) {
  const n = rows[i][1];
  console.log(
    `  ${r.command.padEnd(30)} ${(r.median * 1000).toFixed(0).padStart(6)} ms  ${
      ((r.median - floor) * 1e6 / n).toFixed(1).padStart(7)
    } µs per item`,
  );
}
Deno.removeSync(dir, { recursive: true });
