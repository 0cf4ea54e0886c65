/**
 * Merging `extends` layers: scalars of later layers win, lists are unioned, maps merge
 * key by key. Every merged value remembers the layer and position it came from.
 *
 * @module
 */
import type { KeyPath, PolicySource } from "./yaml_source.ts";

/** Where an effective rule came from. */
export interface Provenance {
  /** The policy file (or `builtin:NAME`). */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
}

/**
 * Provenance of every effective value, keyed by {@link provenanceKey}: scalars by key
 * path, list items by key path plus the item's JSON.
 */
export type ProvenanceMap = Map<string, Provenance>;

/**
 * The provenance key of a value: its dotted path, and for list items the item's JSON.
 *
 * @example
 * ```ts
 * import { provenanceKey } from "./merge.ts";
 * console.log(provenanceKey(["filesystem", "read"], "/usr")); // 'filesystem.read["/usr"]'
 * ```
 */
export function provenanceKey(path: KeyPath, item?: unknown): string {
  return path.join(".") + (item === undefined ? "" : `[${JSON.stringify(item)}]`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Merges one layer (a plain, validated-shape object) into an accumulated policy value,
 * recording provenance for what the layer contributed.
 *
 * @example
 * ```ts
 * import { mergeLayer } from "./merge.ts";
 * const provenance = new Map();
 * const locate = () => ({ line: 1, col: 1 });
 * const base = mergeLayer({}, { filesystem: { read: ["/usr"] } }, { file: "a", value: {}, locate }, provenance);
 * const merged = mergeLayer(base, { filesystem: { read: ["/etc"] } }, { file: "b", value: {}, locate }, provenance);
 * console.log(merged.filesystem); // { read: ["/usr", "/etc"] }
 * ```
 */
export function mergeLayer(
  into: Record<string, unknown>,
  layer: Record<string, unknown>,
  source: PolicySource,
  provenance: ProvenanceMap,
): Record<string, unknown> {
  const merge = (a: unknown, b: unknown, path: (string | number)[]): unknown => {
    if (Array.isArray(b) && !isWholeValue(path)) {
      const out = Array.isArray(a) ? [...a] : [];
      const listKey = provenanceKey(path);
      if (!provenance.has(listKey)) {
        provenance.set(listKey, { file: source.file, ...source.locate(path) });
      }
      // A set of the items' JSON keeps the union linear in the list's length.
      const seen = new Set(out.map((x) => JSON.stringify(x)));
      b.forEach((item, i) => {
        const key = provenanceKey(path, item);
        const json = JSON.stringify(item);
        if (!seen.has(json)) {
          seen.add(json);
          out.push(item);
        }
        if (!provenance.has(key)) {
          provenance.set(key, { file: source.file, ...source.locate([...path, i]) });
        }
      });
      return out;
    }
    if (isPlainObject(b) && !isWholeValue(path)) {
      const out: Record<string, unknown> = isPlainObject(a) ? { ...a } : {};
      for (const [k, v] of Object.entries(b)) out[k] = merge(out[k], v, [...path, k]);
      return out;
    }
    provenance.set(provenanceKey(path), { file: source.file, ...source.locate(path) });
    return b;
  };
  return merge(into, layer, []) as Record<string, unknown>;
}

/**
 * Values a later layer replaces whole instead of merging: argv (order and repeats
 * matter) and `{ errno: … }` actions (one action, not a map of settings).
 */
const WHOLE_VALUES = new Set(["target.argv", "syscalls.default", "syscalls.deny_action"]);

function isWholeValue(path: (string | number)[]): boolean {
  return WHOLE_VALUES.has(path.join("."));
}
