/**
 * Large transcripts for tests and benchmarks: one real sealed launch, replicated under new
 * launch ids, re-chained and re-sealed with the same seal key, so every copy verifies.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import { signEnvelope } from "../crypto/dsse.ts";
import { parsePrivateKeyPem } from "../crypto/keys.ts";
import { charter } from "./helpers.ts";

/** Where the replicas' plan and seal key are, and how to write launches. */
export interface Replicator {
  /** The plan every launch chains to. */
  plan: string;
  /** The seal public key. */
  sealPub: string;
  /** Appends `count` launches, each under a new launch id, to `file`. */
  write(file: string, count: number): Promise<void>;
}

async function run(args: string[]): Promise<void> {
  const r = await charter(args);
  if (r.code !== 0) throw new Error(`charter ${args.join(" ")}: ${r.stderr}`);
}

/** Launches /bin/true once in `dir`, sealed with a key of its own, and replicates it. */
export async function replicator(dir: string): Promise<Replicator> {
  await run(["keygen", "-o", `${dir}/seal`]);
  Deno.writeTextFileSync(
    `${dir}/p.yaml`,
    "version: 1\nname: bench\ntarget: { exe: /bin/true }\nfilesystem: { view: host, read: [/], exec: [/] }\n",
  );
  const one = `${dir}/one.jsonl`;
  await run([
    "launch",
    `${dir}/p.yaml`,
    "--plan-out",
    `${dir}/plan.json`,
    "--transcript-key",
    `${dir}/seal.key`,
    "--transcript",
    one,
  ]);
  const template = Deno.readTextFileSync(one).trimEnd().split("\n");
  const templateId = JSON.parse(template[0]).launchId as string;
  const sealRecord = JSON.parse(template.at(-1)!);
  const statement = JSON.parse(atob(sealRecord.seal.payload));
  const key = await parsePrivateKeyPem(Deno.readTextFileSync(`${dir}/seal.key`), "seal.key");
  const encoder = new TextEncoder();
  const launch = async (): Promise<string> => {
    const id = randomBytes(16).toString("hex");
    let prev = JSON.parse(template[0]).prev as string;
    const written = createHash("sha256");
    const out: string[] = [];
    for (const line of template.slice(0, -1)) {
      const l = line.replaceAll(templateId, id)
        .replace(/"prev":"[0-9a-f]{64}"/, `"prev":"${prev}"`);
      out.push(l);
      written.update(l + "\n");
      prev = createHash("sha256").update(l).digest("hex");
    }
    const sealed = structuredClone(statement);
    sealed.subject[0].name = `transcript:${id}`;
    sealed.subject[0].digest.sha256 = written.digest("hex");
    sealed.predicate.launchId = id;
    sealed.predicate.head = prev;
    const envelope = await signEnvelope(encoder.encode(JSON.stringify(sealed)), key);
    out.push(JSON.stringify({ ...sealRecord, launchId: id, prev, seal: envelope }));
    return out.map((l) => l + "\n").join("");
  };
  return {
    plan: `${dir}/plan.json`,
    sealPub: `${dir}/seal.pub`,
    async write(file, count) {
      using out = Deno.openSync(file, { write: true, create: true, append: true });
      for (let i = 0; i < count; i++) out.writeSync(encoder.encode(await launch()));
    },
  };
}
