/**
 * `charter schema`: write the generated JSON Schema of the policy language.
 *
 * @module
 */
import { policyJsonSchema } from "../policy/json_schema.ts";
import { parseCommand, stringFlag } from "./args.ts";
import type { Command } from "./command.ts";

/** Where the schema is committed. */
export const POLICY_SCHEMA_PATH: URL = new URL("../schema/policy.schema.json", import.meta.url);

/** The schema command. */
export const schemaCommand: Command = {
  name: "schema",
  summary: "write schema/policy.schema.json (draft-07, for editors)",
  help: `Usage: charter schema [-o FILE]

Writes the JSON Schema of the policy language (default: schema/policy.schema.json in
this repository). Point yaml-language-server at it with a first line of
# yaml-language-server: $schema=../schema/policy.schema.json

Options:
  -o, --out FILE   where to write ("-" for stdout)
  -h, --help       show this help`,
  async run(argv) {
    const args = parseCommand(argv, { out: { type: "string", short: "o" } });
    if (args.help) return console.log(this.help), 0;
    const text = JSON.stringify(policyJsonSchema(), null, 2) + "\n";
    const out = stringFlag(args.values, "out");
    if (out === "-") console.log(text.trimEnd());
    else await Deno.writeTextFile(out ?? POLICY_SCHEMA_PATH, text);
    return 0;
  },
};
