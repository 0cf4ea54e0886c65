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
import { createHash, randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { signEnvelope } from "../crypto/dsse.ts";
import { parsePrivateKeyPem } from "../crypto/keys.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const { values } = parseArgs({
  args: Deno.args,
  options: { launches: { type: "string", default: "1000,100000" } },
});
const dir = Deno.makeTempDirSync({ prefix: "charter-verify-bench-" });
const cli = [Deno.execPath(), "run", "-A", "--quiet", `${root}/cli.ts`];

async function charter(args: string[]): Promise<string> {
  const out = await new Deno.Command(cli[0], { args: [...cli.slice(1), ...args] }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`charter ${args.join(" ")}: ${text}`);
  return text;
}

await charter(["keygen", "-o", `${dir}/seal`]);
Deno.writeTextFileSync(
  `${dir}/p.yaml`,
  "version: 1\nname: bench\ntarget: { exe: /bin/true }\n" +
    "filesystem: { read: [/], exec: [/] }\n",
);
await charter([
  "launch",
  `${dir}/p.yaml`,
  "--plan-out",
  `${dir}/plan.json`,
  "--transcript-key",
  `${dir}/seal.key`,
  "--transcript",
  `${dir}/one.jsonl`,
]);
const template = Deno.readTextFileSync(`${dir}/one.jsonl`).trimEnd().split("\n");
const templateId = JSON.parse(template[0]).launchId as string;
const sealRecord = JSON.parse(template.at(-1)!);
const statement = JSON.parse(atob(sealRecord.seal.payload));
const key = await parsePrivateKeyPem(Deno.readTextFileSync(`${dir}/seal.key`), "seal.key");
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const encoder = new TextEncoder();

/** One launch of the template under a new id: re-chained, and re-sealed with the key. */
async function launch(): Promise<string> {
  const id = randomBytes(16).toString("hex");
  let prev = JSON.parse(template[0]).prev as string;
  const written = createHash("sha256");
  const out: string[] = [];
  for (const line of template.slice(0, -1)) {
    const l = line.replaceAll(templateId, id).replace(/"prev":"[0-9a-f]{64}"/, `"prev":"${prev}"`);
    out.push(l);
    written.update(l + "\n");
    prev = sha256(l);
  }
  const sealed = structuredClone(statement);
  sealed.subject[0].name = `transcript:${id}`;
  sealed.subject[0].digest.sha256 = written.digest("hex");
  sealed.predicate.launchId = id;
  sealed.predicate.head = prev;
  const envelope = await signEnvelope(encoder.encode(JSON.stringify(sealed)), key);
  out.push(JSON.stringify({ ...sealRecord, launchId: id, prev, seal: envelope }));
  return out.map((l) => l + "\n").join("");
}

console.log("| launches | file size | verify time | peak RSS |");
console.log("| -------: | --------: | ----------: | -------: |");
for (const n of values.launches.split(",").map(Number)) {
  const file = `${dir}/t${n}.jsonl`;
  using out = Deno.openSync(file, { write: true, create: true, truncate: true });
  for (let i = 0; i < n; i++) out.writeSync(encoder.encode(await launch()));
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
      `${dir}/plan.json`,
      "--seal-key",
      `${dir}/seal.pub`,
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
