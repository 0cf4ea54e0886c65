/**
 * `charter check`: validate policies and print every problem, located.
 *
 * @module
 */
import { type Diagnostic, formatDiagnostic, PolicyError } from "../policy/diagnostic.ts";
import { lowerSeccomp } from "../compiler/lower_seccomp.ts";
import { loadPolicy } from "../policy/load.ts";
import { pathWarnings } from "../policy/path_warnings.ts";
import { parseCommand, UsageError } from "./args.ts";
import type { Command } from "./command.ts";

/** The check command. */
export const checkCommand: Command = {
  name: "check",
  help: `Usage: charter check POLICY... [--json] [--strict]

Parses and validates each policy and prints every problem as
file:line:col: key.path: message, with a hint where there is one. Paths the policy
names that do not exist on this host (a typo is otherwise skipped silently at launch)
and a missing target are reported as file:line:col: key.path: warning: message.
Exit 0 when all are valid (warnings alone do not fail), 1 when any has problems.

Options:
  --json       print the problems as a JSON array of objects (warnings carry
               "severity": "warning")
  --strict     treat warnings as problems: exit 1 when there is any
  -h, --help   show this help`,
  async run(argv) {
    const args = parseCommand(argv, { json: { type: "boolean" }, strict: { type: "boolean" } });
    if (args.help) return console.log(this.help), 0;
    if (args.positionals.length === 0) {
      throw new UsageError("check needs at least one policy; see --help");
    }
    const problems: Diagnostic[] = [];
    for (const file of args.positionals) {
      try {
        const loaded = await loadPolicy(file);
        // Syscall, group, errno and constant names are resolved by the seccomp compiler.
        await lowerSeccomp(loaded, Deno.build.arch);
        problems.push(...await pathWarnings(loaded));
      } catch (e) {
        if (!(e instanceof PolicyError)) throw e;
        problems.push(...e.diagnostics);
      }
    }
    if (args.values.json) console.log(JSON.stringify(problems, null, 2));
    else for (const d of problems) console.error(formatDiagnostic(d));
    const failing = args.values.strict
      ? problems
      : problems.filter((d) => d.severity !== "warning");
    return failing.length === 0 ? 0 : 1;
  },
};
