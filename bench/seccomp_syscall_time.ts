/**
 * Per-syscall cost of a seccomp filter under the real kernel: a getppid loop with no
 * filter, with libseccomp's filter (optimize 1 and 2) and with charter's, all for moby's
 * default allowlist. Each program is installed by tests/probes/filter_exec.c; the median
 * of several runs is printed, as ns per call and as overhead over no filter.
 *
 * getppid sits near the end of libseccomp's optimize=1 list, so it shows that layout's
 * worst case.
 *
 * Run: `deno run -A bench/seccomp_syscall_time.ts [--calls N] [--runs R]` (x86_64 or
 * aarch64; needs cc and Debian's python3-seccomp).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { encodeProgram } from "../compiler/seccomp/bpf.ts";
import { syscallNumber } from "../compiler/seccomp/arch.ts";
import { compileSeccomp } from "../compiler/seccomp/compile_seccomp.ts";
import { buildWithLibseccomp, toLibseccompSpec } from "./seccomp_libseccomp.ts";
import { MOBY_DEFAULT_ALLOWLIST } from "./seccomp_moby_allowlist.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    calls: { type: "string", default: "2000000" },
    runs: { type: "string", default: "7" },
  },
});
const arch = Deno.build.arch;
const root = new URL("..", import.meta.url).pathname;
const dir = Deno.makeTempDirSync({ prefix: "charter-seccomp-bench-" });
const probe = `${dir}/filter_exec`;
const built = new Deno.Command("cc", {
  args: ["-O2", "-o", probe, `${root}tests/probes/filter_exec.c`],
}).outputSync();
if (!built.success) throw new Error(new TextDecoder().decode(built.stderr));

const compiled = compileSeccomp(
  { default: { errno: "EPERM" }, allow: [...MOBY_DEFAULT_ALLOWLIST] },
  arch,
);
const [opt1, opt2] = await buildWithLibseccomp([
  toLibseccompSpec(compiled, 1),
  toLibseccompSpec(compiled, 2),
]);
const filters: [string, Uint8Array | null, number][] = [
  ["no filter", null, 0],
  ["libseccomp optimize=1", encodeProgram(opt1.program), opt1.program.length],
  ["libseccomp optimize=2", encodeProgram(opt2.program), opt2.program.length],
  ["charter", compiled.bytes, compiled.instructionCount],
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
filters.forEach(([, bytes], i) => bytes && Deno.writeFileSync(`${dir}/${i}.bpf`, bytes));

/** ns per call of one syscall under each filter, median of the runs. */
function measure(number: number): [string, number, number][] {
  return filters.map(([name, bytes, size], i) => {
    const samples: number[] = [];
    for (let r = 0; r < Number(values.runs); r++) {
      const args = [bytes ? `${dir}/${i}.bpf` : "-", "loop", values.calls!, String(number)];
      const out = new Deno.Command(probe, { args }).outputSync();
      samples.push(Number(new TextDecoder().decode(out.stdout)));
    }
    return [name, size, median(samples)];
  });
}

// getppid is allowed: the kernel's constant-action cache skips the program entirely.
// reboot (invalid magic: EINVAL without a filter, harmless) is denied: the program runs.
for (const [syscall, kind] of [["getppid", "allowed"], ["reboot", "denied"]]) {
  const results = measure(syscallNumber(arch, syscall)!);
  const base = results[0][2];
  console.log(
    `\n${syscall} (${kind}), moby allowlist on ${arch}, median of ${values.runs} x ${values.calls} calls`,
  );
  console.log("filter                   insns   ns/call   overhead");
  for (const [name, size, ns] of results) {
    const cells = [
      String(size).padStart(5),
      ns.toFixed(1).padStart(9),
      (ns - base).toFixed(1).padStart(9),
    ];
    console.log(`${name.padEnd(24)} ${cells.join(" ")}`);
  }
}
Deno.removeSync(dir, { recursive: true });
