/**
 * What pinning the target costs: the shim's own time (transcript `monoNs` of
 * launcher_started → exec_succeeded, median of N launches) for a 1 MB and a 100 MB target
 * (`/bin/true` padded with zeros), hashed in place (owned by root: no copy) and copied into
 * a sealed memfd (owned by uid 65534, which could write it during the launch).
 *
 * Usage: deno run -A bench/pinning.ts [--runs N]   (as root, with a built shim)
 *
 * @module
 */
import { parseArgs } from "node:util";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "15" } },
});
const runs = Number(values.runs);
const deno = Deno.execPath();
const dir = Deno.makeTempDirSync({ prefix: "charter-bench-pinning-" });
const charter = ["run", "-A", "--quiet", `${root}/cli.ts`];

async function run(args: string[]): Promise<string> {
  const out = await new Deno.Command(deno, {
    args: [...charter, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(`charter ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await run(["keygen", "-o", `${dir}/k`]);
const rows: [string, number, string][] = [];
for (const [label, size] of [["1 MB", 1 << 20], ["100 MB", 100 << 20]] as const) {
  const exe = `${dir}/true-${size}`;
  const bytes = new Uint8Array(size);
  bytes.set(Deno.readFileSync("/bin/true"));
  Deno.writeFileSync(exe, bytes, { mode: 0o755 });
  Deno.writeTextFileSync(`${dir}/p.yaml`, `version: 1\nname: bench\ntarget: { exe: ${exe} }\n`);
  const plan = `${dir}/plan-${size}.json`;
  await run(["compile", `${dir}/p.yaml`, "-o", plan, "--key", `${dir}/k.key`]);
  for (const [owner, how] of [[0, "hashed in place"], [65534, "sealed memfd copy"]] as const) {
    Deno.chownSync(exe, owner, owner);
    const ns: number[] = [];
    let copied: unknown;
    for (let i = 0; i < runs; i++) {
      const t = `${dir}/t.jsonl`;
      await run(["launch", plan, "--trust", `${dir}/k.pub`, "--transcript", t]);
      const records = Deno.readTextFileSync(t).trim().split("\n").map((l) => JSON.parse(l));
      Deno.removeSync(t);
      const at = (event: string) => records.find((rec) => rec.event === event).monoNs;
      ns.push(at("exec_succeeded") - at("launcher_started"));
      copied = records.find((rec) => rec.event === "handles_verified").exeCopied;
    }
    if ((copied !== undefined) !== (owner !== 0)) {
      throw new Error(`unexpected copy state: ${copied}`);
    }
    rows.push([`${label} target, ${how}`, median(ns) / 1e6, `median of ${runs}`]);
  }
}

console.log(`\nshim time (launcher_started → exec_succeeded), ${new Date().toISOString()}\n`);
const width = Math.max(...rows.map((r) => r[0].length));
for (const [what, ms, how] of rows) {
  console.log(`${what.padEnd(width)}  ${ms.toFixed(3).padStart(9)} ms  ${how}`);
}
Deno.removeSync(dir, { recursive: true });
