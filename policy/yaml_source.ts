/**
 * YAML policy sources: parsing with positions, so every problem can be located.
 *
 * @module
 */
import { isMap, isSeq, LineCounter, parseDocument, visit } from "npm:yaml@2.9.1";
import type { Diagnostic } from "./diagnostic.ts";

/** A key path into a policy document. */
export type KeyPath = readonly (string | number)[];

/** A parsed policy document that can say where any key path is. */
export interface PolicySource {
  /** The file as the user named it. */
  file: string;
  /** The plain value of the document. */
  value: unknown;
  /**
   * Locates a key path: the key itself when `at` is `"key"` (for unknown keys), else its
   * value; the closest existing ancestor when the path does not exist.
   */
  locate(path: KeyPath, at?: "key" | "value"): { line: number; col: number };
}

/** The result of parsing: a source, or the YAML problems that prevented one. */
export type ParseResult = { source: PolicySource; diagnostics: [] } | {
  source?: undefined;
  diagnostics: Diagnostic[];
};

/**
 * Parses YAML text; duplicate keys and syntax errors come back as located diagnostics.
 *
 * @example
 * ```ts
 * import { parseYamlPolicy } from "./yaml_source.ts";
 * const { source } = parseYamlPolicy("version: 1\nname: x\n", "p.yaml");
 * console.log(source?.locate(["name"])); // { line: 2, col: 7 }
 * ```
 */
export function parseYamlPolicy(text: string, file: string): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const pos = (offset: number) => lineCounter.linePos(offset);
  if (doc.errors.length > 0) {
    return {
      diagnostics: doc.errors.map((e) => ({
        file,
        ...pos(e.pos[0]),
        path: "",
        message: yamlMessage(e.code, e.message),
        hint: e.code === "DUPLICATE_KEY" ? "remove or merge the repeated key" : undefined,
      })),
    };
  }
  const locate = (path: KeyPath, at: "key" | "value" = "value") => {
    let node: unknown = doc.contents;
    let offset = (doc.contents?.range?.[0]) ?? 0;
    for (const [i, segment] of path.entries()) {
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => (p.key as { value?: unknown })?.value === segment);
        if (!pair) break;
        const keyRange = (pair.key as { range?: number[] })?.range;
        const valueRange = (pair.value as { range?: number[] } | null)?.range;
        offset = (last && at === "key" ? keyRange?.[0] : valueRange?.[0] ?? keyRange?.[0]) ??
          offset;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === "number" && node.items[segment]) {
        node = node.items[segment];
        offset = (node as { range?: number[] }).range?.[0] ?? offset;
      } else {
        break;
      }
    }
    return pos(offset);
  };
  let value: unknown;
  try {
    // The yaml package refuses aliases that expand past 100 nodes (an alias bomb), and a
    // document nested deeper than the stack can hold ends in a RangeError.
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    if (!(e instanceof ReferenceError || e instanceof RangeError)) throw e;
    return {
      diagnostics: [{
        file,
        ...pos(firstAlias(doc) ?? 0),
        path: "",
        message: e instanceof ReferenceError
          ? "YAML aliases expand to too many values (expected a policy, got an alias bomb)"
          : "YAML nesting is too deep",
        hint: "write the values out, or use extends: to share policy parts",
      }],
    };
  }
  return { source: { file, value, locate }, diagnostics: [] };
}

/** The offset of the document's first alias (`*name`), if it has one. */
function firstAlias(doc: ReturnType<typeof parseDocument>): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_, node) {
      offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
}

function yamlMessage(code: string, message: string): string {
  const first = message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
  if (code === "DUPLICATE_KEY") return "duplicate key: map keys must be unique";
  // The parser recurses per nesting level; a stack overflow is input nested too deep.
  if (first.includes("Maximum call stack size exceeded")) return "YAML nesting is too deep";
  return `YAML syntax: ${first}`;
}
