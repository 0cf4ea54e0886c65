/**
 * The policy language as a draft-07 JSON Schema, for editors (yaml-language-server).
 *
 * @module
 */
import { toJsonSchema } from "@valibot/to-json-schema";
import { PolicySchema } from "./schema.ts";

/**
 * Generates the JSON Schema of a policy file. Checks that JSON Schema cannot express (unit
 * parsing, capability names) are left to `charter check`.
 *
 * @example
 * ```ts
 * import { policyJsonSchema } from "./json_schema.ts";
 * console.log(policyJsonSchema().title); // "charter policy (v1)"
 * ```
 */
export function policyJsonSchema(): Record<string, unknown> {
  const schema = toJsonSchema(PolicySchema, { errorMode: "ignore" }) as Record<string, unknown>;
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://charter.dev/schema/policy.schema.json",
    title: "charter policy (v1)",
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== "$schema")),
  };
}
