/**
 * `charter check`: validate policies and print every problem, located.
 *
 * @module
 */
import { type Diagnostic, formatDiagnostic, PolicyError } from "../policy/diagnostic.ts";
import { lowerSeccomp } from "../compiler/lower_seccomp.ts";
import { loadPolicy } from "../policy/load.ts";
import { parseCommand, UsageError } from "./args.ts";
import type { Command } from "./command.ts";

/** The check command. */
export const checkCommand: Command = {
  name: "check",
  help: `Usage: charter check POLICY... [--json]

Parses and validates each policy and prints every problem as
file:line:col: key.path: message, with a hint where there is one. Exit 0 when all are
valid, 1 when any has problems.

Options:
  --json       print the problems as a JSON array of objects
  -h, --help   show this help`,
  async run(argv) {
    const args = parseCommand(argv, { json: { type: "boolean" } });
    if (args.help) return console.log(this.help), 0;
    if (args.positionals.length === 0) {
      throw new UsageError("check needs at least one policy; see --help");
    }
    const problems: Diagnostic[] = [];
    for (const file of args.positionals) {
      try {
        // Syscall, group, errno and constant names are resolved by the seccomp compiler.
        await lowerSeccomp(await loadPolicy(file), Deno.build.arch);
      } catch (e) {
        if (!(e instanceof PolicyError)) throw e;
        problems.push(...e.diagnostics);
      }
    }
    if (args.values.json) console.log(JSON.stringify(problems, null, 2));
    else for (const d of problems) console.error(formatDiagnostic(d));
    return problems.length === 0 ? 0 : 1;
  },
};
