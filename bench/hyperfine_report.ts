/**
 * What the benches share: reading hyperfine's `--export-json` results, and printing rows of
 * (what, milliseconds, how) as one aligned table.
 *
 * @module
 */

/** One command's row of hyperfine's JSON export (seconds). */
export interface HyperfineResult {
  command: string;
  mean: number;
  median: number;
  min: number;
  user: number;
  system: number;
}

/**
 * The results hyperfine wrote with `--export-json PATH`.
 *
 * @example
 * ```ts ignore
 * import { readHyperfine } from "./hyperfine_report.ts";
 * for (const r of readHyperfine("/tmp/h.json")) console.log(r.command, r.median);
 * ```
 */
export function readHyperfine(path: string): HyperfineResult[] {
  return JSON.parse(Deno.readTextFileSync(path)).results as HyperfineResult[];
}

/**
 * Prints `rows` (what, milliseconds as text, how) as a table under a line saying how many
 * runs each median is of.
 *
 * @example
 * ```ts ignore
 * import { printTable } from "./hyperfine_report.ts";
 * printTable([["bwrap", "4.630", "wall time, hyperfine -N"]], 30);
 * ```
 */
export function printTable(rows: [string, string, string][], runs: number): void {
  console.log(`\nmedian of ${runs} runs, one run, ${new Date().toISOString()}\n`);
  const width = Math.max(...rows.map((r) => r[0].length));
  const howWidth = Math.max(...rows.map((r) => r[2].length));
  console.log(`${"what".padEnd(width)}  ${"ms".padStart(8)}  how`);
  console.log(`${"-".repeat(width)}  ${"-".repeat(8)}  ${"-".repeat(howWidth)}`);
  for (const [what, ms, how] of rows) {
    console.log(`${what.padEnd(width)}  ${ms.padStart(8)}  ${how}`);
  }
}
