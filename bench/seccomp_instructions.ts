/**
 * Benchmark: size and instructions executed per syscall of seccomp filters for moby's
 * default allowlist (default action EPERM), charter's compiler next to libseccomp with
 * optimize=1 (priority-ordered list) and optimize=2 (binary tree), on x86_64 and aarch64.
 * Every program runs in charter's BPF interpreter for each syscall number 0–1023.
 * Targets: fewer instructions than libseccomp optimize=1, and at most 12 in the worst case.
 * Then the filters lowering builds, with the baseline and socket rules folded in (charter
 * only: libseccomp cannot express their 32-bit `ne` conditions).
 *
 * Run: `deno run -A bench/seccomp_instructions.ts` (needs Debian's python3-seccomp).
 *
 * @module
 */
import { auditArch, type SeccompArch, syscallName } from "../compiler/seccomp/arch.ts";
import { createFilterRunner } from "../compiler/seccomp/bpf_interpreter.ts";
import type { SockFilter } from "../compiler/seccomp/bpf.ts";
import { applyBaseline } from "../compiler/seccomp/apply_baseline.ts";
import { compileSeccomp } from "../compiler/seccomp/compile_seccomp.ts";
import type { SeccompPolicy } from "../compiler/seccomp/resolve_policy.ts";
import { networkRules } from "../compiler/seccomp/network_rules.ts";
import { buildWithLibseccomp, toLibseccompSpec } from "./seccomp_libseccomp.ts";
import { MOBY_DEFAULT_ALLOWLIST } from "./seccomp_moby_allowlist.ts";

/** Measurements of one filter. */
export interface FilterStats {
  /** Which compiler built it. */
  compiler: string;
  /** The architecture. */
  arch: SeccompArch;
  /** Instructions in the program. */
  size: number;
  /** Most instructions executed for any number 0–1023. */
  worst: number;
  /** Median over numbers 0–1023. */
  median: number;
  /** Median over the numbers that are syscalls. */
  medianKnown: number;
  /** Mean over numbers 0–1023. */
  mean: number;
}

const NUMBERS = 1024;

/**
 * Measures a program: size and instructions executed for each syscall number 0–1023.
 *
 * @example
 * ```ts ignore
 * import { measure } from "./seccomp_instructions.ts";
 * const stats = measure("charter", "x86_64", program);
 * ```
 */
export function measure(compiler: string, arch: SeccompArch, program: SockFilter[]): FilterStats {
  const run = createFilterRunner(program);
  const all: number[] = [];
  const known: number[] = [];
  for (let nr = 0; nr < NUMBERS; nr++) {
    const { executed } = run({ nr, arch: auditArch(arch) });
    all.push(executed);
    if (syscallName(arch, nr) !== undefined) known.push(executed);
  }
  return {
    compiler,
    arch,
    size: program.length,
    worst: Math.max(...all),
    median: median(all),
    medianKnown: median(known),
    mean: all.reduce((a, b) => a + b, 0) / all.length,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Policies as lowering compiles them: `syscalls:` and `network` (undefined: no `network`). */
const LOWERED: [string, SeccompPolicy, Parameters<typeof networkRules>[0]][] = [
  ["baseline (no syscalls:)", { default: "allow" }, undefined],
  [
    "@system-service + baseline",
    { default: { errno: "EPERM" }, allow: ["@system-service", "execveat"] },
    undefined,
  ],
  ["baseline + network [tcp]", { default: "allow" }, {}],
  ["baseline + network [udp, netlink_route]", { default: "allow" }, {
    protocols: ["udp", "netlink_route"],
  }],
];

/**
 * Builds the three filters for both architectures and measures them, then the lowered
 * policies with the baseline.
 *
 * @example
 * ```ts ignore
 * import { runBenchmark } from "./seccomp_instructions.ts";
 * console.table(await runBenchmark());
 * ```
 */
export async function runBenchmark(): Promise<FilterStats[]> {
  const stats: FilterStats[] = [];
  for (const arch of ["x86_64", "aarch64"] as const) {
    const compiled = compileSeccomp(
      { default: { errno: "EPERM" }, allow: [...MOBY_DEFAULT_ALLOWLIST] },
      arch,
    );
    const [opt1, opt2] = await buildWithLibseccomp([
      toLibseccompSpec(compiled, 1),
      toLibseccompSpec(compiled, 2),
    ]);
    stats.push(
      measure("charter", arch, compiled.program),
      measure("libseccomp optimize=1", arch, opt1.program),
      measure("libseccomp optimize=2", arch, opt2.program),
    );
  }
  for (const arch of ["x86_64", "aarch64"] as const) {
    for (const [label, policy, network] of LOWERED) {
      const lowered = applyBaseline(policy, arch, { rules: networkRules(network) });
      const program = compileSeccomp(lowered.policy, arch, lowered.options).program;
      stats.push(measure(`charter: ${label}`, arch, program));
    }
  }
  return stats;
}

if (import.meta.main) {
  const stats = await runBenchmark();
  const header = ["arch", "compiler", "size", "worst", "median", "median (syscalls)", "mean"];
  const rows = stats.map((s) => [
    s.arch,
    s.compiler,
    String(s.size),
    String(s.worst),
    String(s.median),
    String(s.medianKnown),
    s.mean.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(
    `moby default allowlist (${MOBY_DEFAULT_ALLOWLIST.length} names), default ERRNO(EPERM);`,
  );
  console.log(`instructions executed per syscall number 0-${NUMBERS - 1}\n`);
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(row));
  let ok = true;
  for (const arch of ["x86_64", "aarch64"]) {
    const ours = stats.find((s) => s.arch === arch && s.compiler === "charter")!;
    const opt1 = stats.find((s) => s.arch === arch && s.compiler === "libseccomp optimize=1")!;
    const beats = ours.size < opt1.size && ours.worst < opt1.worst &&
      ours.median < opt1.median;
    const within = ours.worst <= 12;
    console.log(
      `\n${arch}: fewer instructions than libseccomp optimize=1: ${beats ? "yes" : "NO"}; ` +
        `worst case ${ours.worst} <= 12: ${within ? "yes" : "NO"}`,
    );
    ok &&= beats && within;
  }
  if (!ok) Deno.exit(1);
}
