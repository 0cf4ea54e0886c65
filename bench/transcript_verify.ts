/**
 * `charter transcript verify` on large files: a real sealed launch is replicated into
 * files of 1,000 and 100,000 launches (each with its own launch id, re-chained and
 * re-sealed with the same seal key, so every launch verifies), then verified once each
 * under /usr/bin/time for wall time and peak RSS. Memory should stay flat as the file
 * grows and time grow linearly.
 *
 * Usage: deno run -A bench/transcript_verify.ts [--launches 1000,100000]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { replicator } from "../tests/transcript_replica.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const { values } = parseArgs({
  args: Deno.args,
  options: { launches: { type: "string", default: "1000,100000" } },
});
const dir = Deno.makeTempDirSync({ prefix: "charter-verify-bench-" });
const cli = [Deno.execPath(), "run", "-A", "--quiet", `${root}/cli.ts`];
const replicas = await replicator(dir);

console.log("| launches | file size | verify time | peak RSS |");
console.log("| -------: | --------: | ----------: | -------: |");
for (const n of values.launches.split(",").map(Number)) {
  const file = `${dir}/t${n}.jsonl`;
  await replicas.write(file, n);
  const size = Deno.statSync(file).size;
  const timed = await new Deno.Command("/usr/bin/time", {
    args: [
      "-f",
      "%e %M",
      ...cli,
      "transcript",
      "verify",
      file,
      "--plan",
      replicas.plan,
      "--seal-key",
      replicas.sealPub,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(timed.stderr).trim().split("\n");
  if (timed.code !== 0) throw new Error(`verify failed: ${stderr.slice(0, 5).join("\n")}`);
  const [seconds, kib] = stderr.at(-1)!.split(" ").map(Number);
  console.log(
    `| ${n} | ${(size / 2 ** 20).toFixed(1)} MiB | ${seconds.toFixed(1)} s | ${
      (kib / 1024).toFixed(0)
    } MiB |`,
  );
  Deno.removeSync(file);
}
Deno.removeSync(dir, { recursive: true });
