/**
 * `charter schema`: write the generated JSON Schemas (policy, plan, transcript record).
 *
 * @module
 */
import { generatedSchemas } from "../audit/json_schemas.ts";
import { parseCommand, stringFlag } from "./args.ts";
import type { Command } from "./command.ts";

/** Where the schemas are committed. */
export const SCHEMA_DIR: URL = new URL("../schema/", import.meta.url);

/** The schema command. */
export const schemaCommand: Command = {
  name: "schema",
  help: `Usage: charter schema [-o DIR]

Writes policy.schema.json, plan.schema.json and transcript-record.schema.json (draft-07)
into DIR (default: schema/ in this repository). Point yaml-language-server at the policy
schema with a first line of
# yaml-language-server: $schema=../schema/policy.schema.json

Options:
  -o, --out DIR    where to write
  -h, --help       show this help`,
  async run(argv) {
    const args = parseCommand(argv, { out: { type: "string", short: "o" } });
    if (args.help) return console.log(this.help), 0;
    const out = stringFlag(args.values, "out");
    const dir = out
      ? new URL(`file://${out.startsWith("/") ? out : `${Deno.cwd()}/${out}`}/`)
      : SCHEMA_DIR;
    for (const [name, schema] of Object.entries(generatedSchemas())) {
      await Deno.writeTextFile(new URL(name, dir), JSON.stringify(schema, null, 2) + "\n");
    }
    return 0;
  },
};
