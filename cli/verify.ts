/**
 * `charter verify`: verify a signed plan and print what it grants.
 *
 * @module
 */
import { readPlan } from "../audit/verify_plan.ts";
import { grantsOf } from "../audit/grants.ts";
import { readTrustedKeys } from "../crypto/keys.ts";
import { printGrants } from "./explain.ts";
import { listFlag, parseCommand, UsageError } from "./args.ts";
import type { Command } from "./command.ts";
import { readInputFile } from "./input_file.ts";

/** The verify command. */
export const verifyCommand: Command = {
  name: "verify",
  help: `Usage: charter verify plan.dsse.json --trust PUB...

Verifies the envelope's signature against the trusted keys, the statement's shape and
notAfter, then prints the plan's grants. Exit 0 when valid, 1 otherwise.

Options:
  --trust FILE|DIR    trusted public key(s); repeatable (required)
  -h, --help          show this help`,
  async run(argv) {
    const args = parseCommand(argv, { trust: { type: "string", multiple: true } });
    if (args.help) return console.log(this.help), 0;
    if (args.positionals.length !== 1) throw new UsageError("verify takes one plan; see --help");
    const trust = listFlag(args.values, "trust");
    if (trust.length === 0) {
      throw new UsageError("verify needs --trust with the signer's public key");
    }
    const plan = await readPlan(
      readInputFile(args.positionals[0]),
      await readTrustedKeys(trust),
    );
    const p = plan.statement.predicate;
    // Before "plan ok": a program the review cannot follow fails the verification.
    const grants = grantsOf(p);
    console.log(`plan ok: signed by ${plan.verifiedBy?.keyid}`);
    console.log(
      `compiled on ${p.compiledOn} by ${p.compiler.name} ${p.compiler.version}${
        p.notAfter ? `; not after ${p.notAfter}` : ""
      }`,
    );
    console.log(
      `policy files: ${
        p.resolvedDependencies.map((d) => `${d.name} (sha256 ${d.digest.sha256})`).join(", ")
      }\n`,
    );
    printGrants(grants.map((g) => ({ ...g, from: [] })));
    return 0;
  },
};
