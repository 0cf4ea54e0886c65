/**
 * Validation: each layer against the schema, then the merged policy for contradictions
 * between keys. Every problem is located in the file that caused it.
 *
 * @module
 */
import * as v from "npm:valibot@1.5.0";
import { type Diagnostic, quoteValue } from "./diagnostic.ts";
import { provenanceKey, type ProvenanceMap } from "./merge.ts";
import { checkView } from "./check_view.ts";
import { PolicySchema } from "./schema.ts";
import { closest } from "./suggest.ts";
import type { Policy } from "./types.ts";
import type { KeyPath, PolicySource } from "./yaml_source.ts";

/** A layer may leave out `target`; the merged policy may not. */
const LayerSchema = v.strictObject({
  ...PolicySchema.entries,
  target: v.optional(PolicySchema.entries.target),
});

/** The parts of a valibot schema object that describe nesting. */
interface AnySchema {
  entries?: Record<string, AnySchema>;
  wrapped?: AnySchema;
  item?: AnySchema;
  pipe?: readonly AnySchema[];
  value?: AnySchema;
}

/** Keys the schema knows at a path: candidates for did-you-mean hints. */
function knownKeysAt(path: KeyPath): string[] {
  let node: AnySchema | undefined = PolicySchema as unknown as AnySchema;
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

const TYPE_NAMES: Record<string, string> = {
  Array: "a list",
  Object: "a mapping",
  string: "a string",
  number: "a number",
  boolean: "true or false",
};

function defaultMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.type === "strict_object" && issue.expected === "never") return "unknown key";
  if (issue.received === "undefined") return "missing required key";
  const expected = (issue.expected ?? "").split(" | ").map((t) => TYPE_NAMES[t] ?? t).join(" or ");
  return `wrong type (expected ${expected}, got ${issue.received})`;
}

/** Turns one valibot issue into a located diagnostic. */
function toDiagnostic(issue: v.BaseIssue<unknown>, source: PolicySource): Diagnostic {
  const path: (string | number)[] = (issue.path ?? []).map((p) => p.key as string | number);
  const unknownKey = issue.type === "strict_object" && issue.expected === "never";
  const badRecordKey = (issue.path?.at(-1) as { origin?: string } | undefined)?.origin === "key";
  let hint: string | undefined;
  if (unknownKey) {
    const known = knownKeysAt(path.slice(0, -1));
    const guess = closest(String(path.at(-1)), known);
    hint = guess ? `did you mean "${guess}"?` : `allowed keys here: ${known.join(", ")}`;
  } else if (typeof issue.input === "boolean" && issue.expected?.includes("string")) {
    hint =
      `YAML reads ${issue.input} (and yes, no, on, off) as a boolean: quote it, "${issue.input}"`;
  }
  return {
    file: source.file,
    ...source.locate(path, unknownKey || badRecordKey ? "key" : "value"),
    path: path.join("."),
    message: issue.message,
    hint,
  };
}

/** A layer's validated value: a policy that may lack `target`. */
export type PolicyLayer = Omit<Policy, "target"> & { target?: Policy["target"] };

/**
 * Validates one layer (one file) against the schema; `target` may be left to other layers.
 *
 * @example
 * ```ts
 * import { parseYamlPolicy } from "./yaml_source.ts";
 * import { validateLayer } from "./validate.ts";
 * const { source } = parseYamlPolicy("version: 1\nname: base\n", "base.yaml");
 * const result = validateLayer(source!);
 * console.log("problems" in result); // false
 * ```
 */
export function validateLayer(
  source: PolicySource,
): { layer: PolicyLayer } | { problems: Diagnostic[] } {
  const value = source.value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const got = Array.isArray(value)
      ? "a list"
      : value == null
      ? "an empty document"
      : quoteValue(value);
    return {
      problems: [{
        file: source.file,
        ...source.locate([]),
        path: "",
        message: `a policy is a mapping of keys, got ${got}`,
        hint: "start with version: 1, name: …, target: { exe: … }",
      }],
    };
  }
  const result = v.safeParse(LayerSchema, source.value, {
    abortEarly: false,
    message: defaultMessage,
  });
  if (result.success) return { layer: result.output };
  return { problems: result.issues.map((issue) => toDiagnostic(issue, source)) };
}

/**
 * Checks a merged policy for what no single key can show: a missing target, a key that
 * needs another, the same thing granted twice in contradictory ways. Problems are
 * located at the layer that contributed the offending value.
 *
 * @example
 * ```ts ignore
 * import { checkMerged } from "./validate.ts";
 * const problems = checkMerged(merged, provenance, mainSource);
 * ```
 */
export function checkMerged(
  policy: PolicyLayer,
  provenance: ProvenanceMap,
  main: PolicySource,
): Diagnostic[] {
  const found: Diagnostic[] = [];
  const at = (path: KeyPath, item: unknown, message: string, hint?: string) => {
    const where = provenance.get(provenanceKey(path, item)) ??
      { file: main.file, ...main.locate(path) };
    found.push({ ...where, path: path.join("."), message, hint });
  };
  if (!policy.target) {
    at(
      ["target"],
      undefined,
      "missing required key (no layer sets target)",
      "add target: { exe: /absolute/path }",
    );
  }
  const set = policy.env?.set ?? {};
  for (const name of policy.env?.pass ?? []) {
    if (Object.hasOwn(set, name)) {
      at(
        ["env", "pass"],
        name,
        `${name} is both set and passed`,
        "keep it in env.set or env.pass, not both",
      );
    }
  }
  if (policy.hostname !== undefined && !policy.namespaces?.uts) {
    at(
      ["hostname"],
      undefined,
      "hostname needs a new UTS namespace",
      "add namespaces: { uts: true }",
    );
  }
  const ports = [...policy.network?.connect_tcp ?? [], ...policy.network?.bind_tcp ?? []];
  if (ports.length > 0 && policy.enforce?.landlock === "off") {
    at(
      ["enforce", "landlock"],
      undefined,
      "network ports are Landlock rules, but Landlock is off",
      "remove network: or enforce Landlock",
    );
  }
  const fsRules = [policy.filesystem?.read, policy.filesystem?.write, policy.filesystem?.exec].some(
    (l) => l?.length,
  );
  // A listed view shows the lists: they mean something without Landlock too.
  if (fsRules && policy.enforce?.landlock === "off" && policy.filesystem?.view !== "listed") {
    at(
      ["enforce", "landlock"],
      undefined,
      "filesystem rules are Landlock rules, but Landlock is off (and the view is host)",
      "remove the filesystem lists, enforce Landlock, or use view: listed",
    );
  }
  const idsSet = policy.user?.uid !== undefined || policy.user?.gid !== undefined;
  if (idsSet && !policy.user?.namespace && Deno.uid() !== 0) {
    at(
      ["user", policy.user?.uid !== undefined ? "uid" : "gid"],
      undefined,
      "switching uid/gid without a user namespace needs root",
      "add user: { namespace: true }",
    );
  }
  const hostIds = [policy.user?.uid, policy.user?.gid];
  if (!policy.user?.namespace && hostIds.includes(0) && !policy.user?.host_root) {
    at(
      ["user", policy.user?.uid === 0 ? "uid" : "gid"],
      undefined,
      "uid or gid 0 without a user namespace is host root",
      "use a user namespace (user: { namespace: true }), or say user: { host_root: true } if the child must be root",
    );
  }
  // Without a user namespace a kept capability acts on the host: CAP_SETUID becomes uid 0,
  // CAP_CHOWN + CAP_FOWNER a root-owned setuid file. Binding a low port is the exception.
  if (!policy.user?.namespace && !policy.user?.host_root) {
    for (const cap of policy.capabilities ?? []) {
      if (cap === "CAP_NET_BIND_SERVICE") continue;
      at(
        ["capabilities"],
        cap,
        `${cap} without a user namespace is host authority`,
        "use a user namespace (user: { namespace: true }), or say user: { host_root: true } if the child must hold it on the host",
      );
    }
  }
  if (policy.target) checkView(policy as Policy, at);
  if (policy.cgroup && policy.enforce?.cgroup === "off") {
    at(
      ["enforce", "cgroup"],
      undefined,
      "cgroup limits are set, but cgroup enforcement is off",
      "remove cgroup: or enforce it",
    );
  }
  return found;
}
