/**
 * `charter diff`: the authority two policies or plans differ by, for PR review.
 *
 * @module
 */
import { diffGrants, grantsOf } from "../audit/grants.ts";
import { parseCommand, UsageError } from "./args.ts";
import type { Command } from "./command.ts";
import { readPlanInput } from "./plan_input.ts";

/** The diff command. */
export const diffCommand: Command = {
  name: "diff",
  help: `Usage: charter diff A B [--json]

Lists what B grants that A does not (new paths, ports, env, capabilities, dropped
namespaces or limits), and what it takes away. Exit 0 when B grants nothing new, 1 when
it does: usable as a CI gate on policy changes.

Options:
  --json       machine-readable output
  -h, --help   show this help`,
  async run(argv) {
    const args = parseCommand(argv, { json: { type: "boolean" } });
    if (args.help) return console.log(this.help), 0;
    if (args.positionals.length !== 2) {
      throw new UsageError("diff takes two policies or plans; see --help");
    }
    const [a, b] = await Promise.all(args.positionals.map((p) => readPlanInput(p)));
    const diff = diffGrants(grantsOf(a.plan), grantsOf(b.plan));
    if (args.values.json) {
      console.log(JSON.stringify(diff, null, 2));
    } else {
      for (const g of diff.added) {
        console.log(`+ ${g.mechanism}: ${g.restricts ? "no longer " : ""}${g.text}`);
      }
      for (const g of diff.removed) {
        console.log(`- ${g.mechanism}: ${g.restricts ? "now " : ""}${g.text}`);
      }
      for (const g of diff.changed) console.log(`~ ${g.mechanism}: ${g.text}`);
      if (diff.added.length === 0 && diff.removed.length === 0) {
        console.log("no difference in authority");
      }
    }
    return diff.added.length === 0 ? 0 : 1;
  },
};
