/**
 * Generated JSON Schemas (draft-07) of everything charter writes for other tools: policies,
 * plan statements and transcript records. `charter schema` writes them to `schema/`.
 *
 * @module
 */
import { toJsonSchema } from "npm:@valibot/to-json-schema@1.8.0";
import type * as v from "npm:valibot@1.5.0";
import { PlanStatementSchema } from "../compiler/plan_schema.ts";
import { PolicySchema } from "../policy/schema.ts";
import { TranscriptRecordSchema } from "./transcript_schema.ts";
import { annotatePolicySchema } from "./policy_schema_docs.ts";

function draft07(schema: v.GenericSchema, name: string, title: string): Record<string, unknown> {
  const body = toJsonSchema(schema, { errorMode: "ignore" }) as Record<string, unknown>;
  delete body.$schema;
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: `https://charter.dev/schema/${name}`,
    title,
    ...body,
  };
}

/** The policy schema, with the documentation, enums and cross-key rules editors use. */
function policySchema(): Record<string, unknown> {
  const schema = draft07(PolicySchema, "policy.schema.json", "charter policy (v1)");
  annotatePolicySchema(
    schema,
    Deno.readTextFileSync(new URL("../docs/policy-language.md", import.meta.url)),
  );
  return schema;
}

/**
 * Every generated schema by its file name under `schema/`.
 *
 * @example
 * ```ts
 * import { generatedSchemas } from "./json_schemas.ts";
 * console.log(Object.keys(generatedSchemas()));
 * // ["policy.schema.json", "plan.schema.json", "transcript-record.schema.json"]
 * ```
 */
export function generatedSchemas(): Record<string, Record<string, unknown>> {
  return {
    "policy.schema.json": policySchema(),
    "plan.schema.json": draft07(
      PlanStatementSchema,
      "plan.schema.json",
      "charter LinuxLaunchPlan v1 in-toto Statement",
    ),
    "transcript-record.schema.json": draft07(
      TranscriptRecordSchema,
      "transcript-record.schema.json",
      "charter transcript record (v1)",
    ),
  };
}
