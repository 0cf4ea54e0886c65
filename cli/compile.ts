/**
 * `charter compile`: check, compile and sign a policy into plan.dsse.json.
 *
 * @module
 */
import { compilePlan } from "../compiler/compile.ts";
import { readSigningKey } from "../crypto/keys.ts";
import { loadPolicy } from "../policy/load.ts";
import { parseCommand, sourceDate, stringFlag, UsageError } from "./args.ts";
import type { Command } from "./command.ts";

/** The compile command. */
export const compileCommand: Command = {
  name: "compile",
  help: `Usage: charter compile POLICY -o plan.dsse.json --key signing.key [options]

Checks the policy, hashes its target, lowers it to a LinuxLaunchPlan v1 and signs it as a
DSSE envelope. The same inputs give byte-identical output.

Options:
  -o, --out FILE         where to write the plan (required)
  --key FILE             Ed25519 private key (PKCS#8 PEM) to sign with (required)
  --source-date DATE     compiledOn: seconds since the epoch or RFC 3339
                         (default: SOURCE_DATE_EPOCH, else now)
  --not-after DATE       the shim refuses the plan after this instant
  -h, --help             show this help`,
  async run(argv) {
    const args = parseCommand(argv, {
      out: { type: "string", short: "o" },
      key: { type: "string" },
      "source-date": { type: "string" },
      "not-after": { type: "string" },
    });
    if (args.help) return console.log(this.help), 0;
    if (args.positionals.length !== 1) {
      throw new UsageError("compile takes exactly one policy; see --help");
    }
    const out = stringFlag(args.values, "out", true)!;
    const key = await readSigningKey(stringFlag(args.values, "key", true)!);
    const notAfterText = stringFlag(args.values, "not-after");
    const plan = await compilePlan(await loadPolicy(args.positionals[0]), key, {
      compiledOn: sourceDate(stringFlag(args.values, "source-date")),
      notAfter: notAfterText === undefined ? undefined : sourceDate(notAfterText, undefined),
    });
    await Deno.writeFile(out, plan.envelopeBytes);
    return 0;
  },
};
