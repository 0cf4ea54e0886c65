/**
 * What editors need in the policy JSON Schema beyond its shape: a description of every key,
 * read from the key table of docs/policy-language.md (the one copy of that text), `enum`s of
 * the names charter knows (capabilities, syscalls and `@groups`, errno names, built-in
 * profiles), so values complete, and the rules between keys `charter check` enforces that
 * JSON Schema can state, so editors flag them too.
 *
 * @module
 */
import { CAPABILITIES } from "../policy/capabilities.ts";
import { BUILTIN_PROFILES } from "../policy/load.ts";
import { ERRNOS } from "../compiler/seccomp/constants.ts";
import { groupNames, knownSyscallNames } from "../compiler/seccomp/groups.ts";

type Schema = Record<string, unknown> & {
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  additionalProperties?: boolean | Schema;
};

/** One key of the documentation table. */
export interface KeyDoc {
  /** The row's type column. */
  type: string;
  /** The row's default column. */
  default: string;
  /** The row's meaning column. */
  meaning: string;
}

/** Expands a key cell: `` `a.b` ``, `` `a`, `b` `` and `` `a.{x,y}` `` name several keys. */
function keysOf(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].flatMap(([, key]) => {
    const brace = /^(.*)\{([^}]+)\}(.*)$/.exec(key);
    return brace ? brace[2].split(",").map((k) => `${brace[1]}${k.trim()}${brace[3]}`) : [key];
  });
}

/**
 * Reads the key table of docs/policy-language.md: key path (`target.exe`) → its row.
 *
 * @example
 * ```ts
 * import { policyKeyDocs } from "./policy_schema_docs.ts";
 * const docs = policyKeyDocs("| key | type | default | meaning |\n| - | - | - | - |\n| `name` | string | required | a short name |\n");
 * console.log(docs.get("name")?.meaning); // a short name
 * ```
 */
export function policyKeyDocs(markdown: string): Map<string, KeyDoc> {
  const docs = new Map<string, KeyDoc>();
  for (const line of markdown.split("\n")) {
    // Cells are split on | not escaped as \|.
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim().replaceAll("\\|", "|"));
    if (cells.length !== 4 || !cells[0].startsWith("`")) continue;
    const [key, type, def, meaning] = cells;
    for (const path of keysOf(key)) docs.set(path, { type, default: def, meaning });
  }
  return docs;
}

/** Plain text for hovers that do not render markdown. */
function plain(text: string): string {
  return text.replaceAll("`", "");
}

function describe(schema: Schema, doc: KeyDoc) {
  const def = doc.default === "—" ? "" : ` Default: ${doc.default}.`;
  schema.description = plain(`${doc.meaning}.${def}`);
  schema.markdownDescription = `${doc.meaning}.\n\nType: ${doc.type}.${def}`;
}

/**
 * The capability names as `capabilities:` takes them: CAP_ optional, any case. The enum
 * completes; the pattern (case spelled out: JSON Schema regexes take no flags) accepts
 * every spelling `check` accepts.
 */
function capabilitySchema(): Schema {
  const short = CAPABILITIES.map((c) => c.slice(4));
  const anyCase = (w: string) =>
    [...w].map((c) => /[a-z]/i.test(c) ? `[${c.toUpperCase()}${c.toLowerCase()}]` : c).join("");
  return {
    type: "string",
    anyOf: [
      { enum: [...CAPABILITIES, ...short.map((s) => s.toLowerCase())] },
      { pattern: `^(?:${anyCase("CAP_")})?(?:${short.map(anyCase).join("|")})$` },
    ],
  };
}

/** Syscall names and `@group`s. */
function syscallNameSchema(groups: boolean): Schema {
  return { type: "string", enum: [...knownSyscallNames(), ...(groups ? groupNames() : [])] };
}

/** An action's `{ errno }`: a name charter knows or a number. */
function withErrnoNames(action: Schema | undefined) {
  const errno = action?.anyOf?.find((a) => a.properties?.errno)?.properties?.errno;
  const name = errno?.anyOf?.find((a) => a.type === "string");
  if (name) name.enum = Object.keys(ERRNOS);
}

/**
 * Adds descriptions, enums and cross-key rules to the generated policy schema, in place.
 * Every property gets a description: its documentation row, or for a section without a
 * row of its own, the list of its keys. Throws when a key has neither, so a key added to
 * the language without documentation fails `charter schema` and its test.
 *
 * @example
 * ```ts ignore
 * import { annotatePolicySchema } from "./policy_schema_docs.ts";
 * annotatePolicySchema(schema, Deno.readTextFileSync("docs/policy-language.md"));
 * ```
 */
export function annotatePolicySchema(schema: Schema, markdown: string): void {
  const docs = policyKeyDocs(markdown);
  const visit = (node: Schema, path: string[], entryOf?: { key: string; doc: KeyDoc }) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const keyPath = [...path, key];
      const doc = docs.get(keyPath.join("."));
      visit(child, keyPath, entryOf);
      // Entries of a list (syscalls.rules, its args) are documented by the list's row.
      const list = doc ? { key: keyPath.join("."), doc } : entryOf;
      if (child.items?.properties && list) visit(child.items, [...keyPath, "[]"], list);
      if (doc) describe(child, doc);
      else if (entryOf) {
        child.description = plain(`A key of each ${entryOf.key} entry: ${entryOf.doc.meaning}.`);
        child.markdownDescription =
          `A key of each \`${entryOf.key}\` entry: ${entryOf.doc.meaning}.`;
      } else if (child.properties) {
        const keys = Object.keys(child.properties).map((k) => `${key}.${k}`).join(", ");
        child.description = `The ${key} section: ${keys}.`;
        child.markdownDescription = `The \`${key}\` section: ${
          Object.keys(child.properties).map((k) => `\`${key}.${k}\``).join(", ")
        }.`;
      } else throw new Error(`docs/policy-language.md does not document ${keyPath.join(".")}`);
    }
  };
  visit(schema, []);

  const props = schema.properties!;
  const capabilities = props.capabilities;
  capabilities.items = { ...capabilitySchema() };
  props.extends.items = {
    type: "string",
    minLength: 1,
    anyOf: [
      { enum: BUILTIN_PROFILES.map((p) => `builtin:${p}`) },
      { not: { pattern: "^builtin:" } },
    ],
  };
  const syscalls = props.syscalls.properties!;
  syscalls.allow.items = syscallNameSchema(true);
  syscalls.deny.items = syscallNameSchema(true);
  syscalls.unsafe_allow.items = syscallNameSchema(false);
  const rule = syscalls.rules.items!.properties!;
  rule.syscall = { ...rule.syscall, ...syscallNameSchema(false) };
  withErrnoNames(syscalls.default);
  withErrnoNames(syscalls.deny_action);
  withErrnoNames(rule.action);
  // `remove` takes the same names as the keys it takes them from.
  const remove = props.remove.properties!;
  remove.capabilities.items = { ...capabilitySchema() };
  remove.syscalls.properties!.allow.items = syscallNameSchema(true);
  remove.syscalls.properties!.unsafe_allow.items = syscallNameSchema(false);
  const cpuMax = props.cgroup.properties!.cpu_max;
  cpuMax.pattern = "^\\s*\\d+(?:\\.\\d+)?\\s*%\\s*$";

  // Rules between keys (policy/validate.ts checkMerged) that hold within one file. Layers
  // merged by `extends` are checked by `charter check` only.
  const off = (mechanism: string) => ({
    required: ["enforce"],
    properties: {
      enforce: { required: [mechanism], properties: { [mechanism]: { const: "off" } } },
    },
  });
  const empty = { type: "array", maxItems: 0 };
  schema.allOf = [
    {
      // hostname needs a new UTS namespace.
      if: { required: ["hostname"] },
      then: {
        required: ["namespaces"],
        properties: { namespaces: { required: ["uts"], properties: { uts: { const: true } } } },
      },
    },
    {
      // Filesystem and network ports are Landlock rules: not with Landlock off (the lists
      // still say what a listed view, the default, shows).
      if: off("landlock"),
      then: {
        properties: {
          filesystem: {
            if: { required: ["view"], properties: { view: { const: "host" } } },
            then: { properties: { read: empty, write: empty, exec: empty } },
          },
          network: { properties: { connect_tcp: empty, bind_tcp: empty } },
        },
      },
    },
    {
      // cgroup limits need cgroup enforcement.
      if: off("cgroup"),
      then: { not: { required: ["cgroup"] } },
    },
  ];
}
