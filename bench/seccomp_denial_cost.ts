/**
 * The cost of one denied syscall on a normal launch, before and after denials are recorded,
 * side by side in one launch: the probe (tests/probes/probe.c) times a loop of
 * io_uring_setup calls, which builtin:base denies with EPERM, first as the launch runs them
 * (a notification answered by the launcher), then after adding a filter of its own that fails
 * the call with EPERM (an errno return outranks the notification: the plain in-kernel cost).
 * Prints nanoseconds per denied call, the median of the runs.
 *
 * Usage: deno run -A bench/seccomp_denial_cost.ts [--runs N] [--iterations N]
 *
 * @module
 */
import { parseArgs } from "node:util";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "5" },
    iterations: { type: "string", default: "10000" },
  },
});
const dir = Deno.makeTempDirSync({ prefix: "charter-denial-bench-" });
Deno.chmodSync(dir, 0o755);
const built = new Deno.Command("cc", {
  args: ["-O1", "-o", `${dir}/probe`, `${root}/tests/probes/probe.c`],
}).outputSync();
if (!built.success) throw new Error(new TextDecoder().decode(built.stderr));
const n = values.iterations;
const policy = `${dir}/p.yaml`;
Deno.writeTextFileSync(
  policy,
  `version: 1\nname: bench\nextends: [builtin:base]\ntarget:\n  exe: ${dir}/probe\n` +
    `  argv: [probe, "time_denied:${n}", self_errno, "time_denied:${n}"]\n`,
);
const recorded: number[] = [];
const plain: number[] = [];
for (let i = 0; i < Number(values.runs); i++) {
  const out = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${root}/cli.ts`, "launch", "--no-seal", policy],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  const [after, ok, before] = new TextDecoder().decode(out.stdout).trim().split("\n");
  if (ok !== "ok") throw new Error(`the probe could not add its filter: ${ok}`);
  recorded.push(Number(after));
  plain.push(Number(before));
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
console.log(`plain SECCOMP_RET_ERRNO        ${median(plain)} ns per denied call`);
console.log(`recorded (notify round trip)   ${median(recorded)} ns per denied call`);
Deno.removeSync(dir, { recursive: true });
