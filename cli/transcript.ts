/**
 * `charter transcript verify`: check a transcript against its plan, without the shim.
 *
 * @module
 */
import { readPlan } from "../audit/verify_plan.ts";
import { verifyTranscript } from "../audit/verify_transcript.ts";
import { readTrustedKeys } from "../crypto/keys.ts";
import { listFlag, parseCommand, stringFlag, UsageError } from "./args.ts";
import type { Command } from "./command.ts";

/** The transcript verify command. */
export const transcriptVerifyCommand: Command = {
  name: "transcript verify",
  summary: "verify a launch transcript against its plan",
  help: `Usage: charter transcript verify TRANSCRIPT.jsonl --plan plan.dsse.json [--trust PUB...]

Checks the hash chain (record 0 chains to the plan payload's sha256), seq, one launchId,
the order of events, and the digests the shim measured against the plan. With --trust,
the plan's signature is verified too. Prints one line per problem; exit 1 if any.

Options:
  --plan FILE         the plan the transcript claims to have launched (required)
  --trust FILE|DIR    verify the plan's signature with these public keys; repeatable
  -h, --help          show this help`,
  async run(argv) {
    const args = parseCommand(argv, {
      plan: { type: "string" },
      trust: { type: "string", multiple: true },
    });
    if (args.help) return console.log(this.help), 0;
    if (args.positionals.length !== 1) {
      throw new UsageError("transcript verify takes one transcript file; see --help");
    }
    const trustPaths = listFlag(args.values, "trust");
    const trusted = trustPaths.length > 0 ? await readTrustedKeys(trustPaths) : undefined;
    const plan = await readPlan(
      await Deno.readFile(stringFlag(args.values, "plan", true)!),
      trusted,
    );
    const file = args.positionals[0];
    const report = await verifyTranscript(await Deno.readFile(file), {
      payload: plan.payload,
      plan: plan.statement.predicate,
      trustedKeyIds: trusted?.map((k) => k.keyid),
    });
    for (const p of report.problems) console.error(`${file}:${p.line}: ${p.rule}: ${p.message}`);
    if (report.ok) {
      const signed = plan.verifiedBy
        ? `signed by ${plan.verifiedBy.keyid}`
        : "signature not checked (no --trust)";
      console.log(`${file}: ok, ${report.records} records, ${report.outcome}; plan ${signed}`);
    }
    return report.ok ? 0 : 1;
  },
};
