/**
 * `charter diff`: the authority two policies or plans differ by, for PR review.
 *
 * @module
 */
import { diffPlans, type Grant } from "../audit/grants.ts";
import { parseCommand, UsageError } from "./args.ts";
import type { Command } from "./command.ts";
import { provenanceOf } from "./explain.ts";
import { readPlanInput } from "./plan_input.ts";

/** The diff command. */
export const diffCommand: Command = {
  name: "diff",
  help: `Usage: charter diff A B [--json]

Lists what B grants that A does not (new paths, ports, env, capabilities, dropped
namespaces or limits, syscalls newly allowed per arch and argument condition), and what
it takes away. Exit 0 when B grants nothing new, 1 when it does: usable as a CI gate on
policy changes. A and B are policies, plan files, or git revisions of them (REV:PATH, as
in main:policies/app.yaml).

Options:
  --json       machine-readable output, with where each item came from
  -h, --help   show this help`,
  async run(argv) {
    const args = parseCommand(argv, { json: { type: "boolean" } });
    if (args.help) return console.log(this.help), 0;
    if (args.positionals.length !== 2) {
      throw new UsageError("diff takes two policies or plans; see --help");
    }
    const [a, b] = await Promise.all(args.positionals.map((p) => readPlanInput(p)));
    const diff = diffPlans(a.plan, b.plan);
    if (args.values.json) {
      // Where B says it (a new grant, the line that dropped a restriction), else where A did.
      const locate = (g: Grant) => {
        const inB = provenanceOf(g, b.provenance);
        return { ...g, from: inB.length > 0 ? inB : provenanceOf(g, a.provenance) };
      };
      console.log(JSON.stringify(
        {
          added: diff.added.map(locate),
          removed: diff.removed.map(locate),
          changed: diff.changed.map(locate),
        },
        null,
        2,
      ));
    } else {
      for (const g of diff.added) {
        console.log(`+ ${g.mechanism}: ${g.restricts && !g.before ? "no longer " : ""}${g.text}`);
      }
      for (const g of diff.removed) {
        console.log(`- ${g.mechanism}: ${g.restricts && !g.before ? "now " : ""}${g.text}`);
      }
      for (const g of diff.changed) console.log(`~ ${g.mechanism}: ${g.text}`);
      if (diff.added.length === 0 && diff.removed.length === 0) {
        console.log("no difference in authority");
      }
    }
    return diff.added.length === 0 ? 0 : 1;
  },
};
