/**
 * Validation of parsed policies: schema problems and cross-key contradictions, every one
 * located in the source.
 *
 * @module
 */
import * as v from "valibot";
import type { Diagnostic } from "./diagnostic.ts";
import { PolicyError } from "./diagnostic.ts";
import { PolicySchema } from "./schema.ts";
import type { Policy } from "./types.ts";
import { closest } from "./suggest.ts";
import type { KeyPath, PolicySource } from "./yaml_source.ts";

/** The parts of a valibot schema object that describe nesting. */
interface AnySchema {
  entries?: Record<string, AnySchema>;
  wrapped?: AnySchema;
  item?: AnySchema;
  pipe?: readonly AnySchema[];
  value?: AnySchema;
}

/** Keys the schema knows at a path: candidates for did-you-mean hints. */
function knownKeysAt(schema: AnySchema, path: KeyPath): string[] {
  let node: AnySchema | undefined = schema;
  for (const segment of path) {
    node = unwrap(node);
    if (node?.entries) node = node.entries[String(segment)];
    else if (node?.item) node = node.item;
    else if (node?.value) node = node.value;
    else return [];
  }
  return Object.keys(unwrap(node)?.entries ?? {});
}

function unwrap(node: AnySchema | undefined): AnySchema | undefined {
  while (node && !node.entries && (node.wrapped || node.pipe)) {
    node = node.wrapped ?? node.pipe?.[0];
  }
  return node;
}

function defaultMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.type === "strict_object" && issue.expected === "never") return "unknown key";
  if (issue.received === "undefined") return `missing required key (expected ${issue.expected})`;
  return `wrong type (expected ${issue.expected}, got ${issue.received})`;
}

/** Turns one valibot issue into a located diagnostic. */
function toDiagnostic(issue: v.BaseIssue<unknown>, source: PolicySource): Diagnostic {
  const path: (string | number)[] = (issue.path ?? []).map((p) => p.key as string | number);
  const unknownKey = issue.type === "strict_object" && issue.expected === "never";
  const badRecordKey = (issue.path?.at(-1) as { origin?: string } | undefined)?.origin === "key";
  let hint: string | undefined;
  if (unknownKey) {
    const parent = path.slice(0, -1);
    const known = knownKeysAt(PolicySchema as unknown as AnySchema, parent);
    const guess = closest(String(path.at(-1)), known);
    hint = guess ? `did you mean "${guess}"?` : `allowed keys here: ${known.join(", ")}`;
  }
  return {
    file: source.file,
    ...source.locate(path, unknownKey || badRecordKey ? "key" : "value"),
    path: path.join("."),
    message: issue.message,
    hint,
  };
}

/** Contradictions between keys that the schema alone cannot see. */
function crossChecks(policy: Policy, source: PolicySource): Diagnostic[] {
  const found: Diagnostic[] = [];
  const at = (path: KeyPath, message: string, hint?: string) =>
    found.push({ file: source.file, ...source.locate(path), path: path.join("."), message, hint });
  const set = policy.env?.set ?? {};
  policy.env?.pass?.forEach((name, i) => {
    if (Object.hasOwn(set, name)) {
      at(
        ["env", "pass", i],
        `${name} is both set and passed`,
        "keep it in env.set or env.pass, not both",
      );
    }
  });
  const seen = new Set<number>();
  policy.fds?.pass?.forEach((fd, i) => {
    if (seen.has(fd)) {
      at(["fds", "pass", i], `fd ${fd} is listed twice`, "remove the repeated entry");
    }
    seen.add(fd);
  });
  return found;
}

/**
 * Validates a parsed policy; throws a {@link PolicyError} with every problem found.
 *
 * @example
 * ```ts
 * import { parseYamlPolicy } from "./yaml_source.ts";
 * import { validatePolicy } from "./validate.ts";
 * const { source } = parseYamlPolicy("version: 1\nname: hi\ntarget: { exe: /bin/echo }\n", "p.yaml");
 * const policy = validatePolicy(source!);
 * console.log(policy.target.exe); // "/bin/echo"
 * ```
 */
export function validatePolicy(source: PolicySource): Policy {
  const result = v.safeParse(PolicySchema, source.value, {
    abortEarly: false,
    message: defaultMessage,
  });
  if (!result.success) {
    const found = result.issues.map((issue) => toDiagnostic(issue, source));
    throw new PolicyError(found.sort((a, b) => a.line - b.line || a.col - b.col));
  }
  const problems = crossChecks(result.output, source);
  if (problems.length > 0) throw new PolicyError(problems);
  return result.output;
}
