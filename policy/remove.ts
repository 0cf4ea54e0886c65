/**
 * `remove`: a layer takes away list items the layers before it granted (a port of
 * `builtin:network-client`, a path of `builtin:base`). Each removed item must be granted
 * by those layers exactly as written there, so a typo is an error instead of a no-op;
 * and a removal holds for every later layer: granting the item again is an error too.
 *
 * @module
 */
import { isUnder } from "../compiler/lower_view.ts";
import { type Diagnostic, quoteValue } from "./diagnostic.ts";
import { type Provenance, provenanceKey, type ProvenanceMap } from "./merge.ts";
import { closest } from "./suggest.ts";
import type { PolicyRemove } from "./types.ts";
import type { KeyPath, PolicySource } from "./yaml_source.ts";

/** One grant a layer took away, for `explain`. */
export interface Removal {
  /** The key the grant was listed under, dotted (`network.connect_tcp`). */
  key: string;
  /** The item taken away. */
  item: string | number;
  /** Where the removal is written. */
  removedAt: Provenance;
  /** Where the grant was made. */
  grantedAt: Provenance;
}

/** The lists `remove` applies to, in the order diagnostics and `explain` list them. */
const REMOVABLE: readonly KeyPath[] = [
  ["env", "pass"],
  ["fds", "pass"],
  ["filesystem", "read"],
  ["filesystem", "write"],
  ["filesystem", "exec"],
  ["network", "connect_tcp"],
  ["network", "bind_tcp"],
  ["network", "protocols"],
  ["syscalls", "allow"],
  ["syscalls", "unsafe_allow"],
  ["capabilities"],
];

function listAt(value: unknown, path: KeyPath): (string | number)[] {
  let here = value;
  for (const key of path) here = (here as Record<string, unknown> | undefined)?.[key];
  return Array.isArray(here) ? here : [];
}

function withList(
  value: Record<string, unknown>,
  path: KeyPath,
  list: unknown[],
): Record<string, unknown> {
  const [key, ...rest] = path;
  const inner = (value[key] ?? {}) as Record<string, unknown>;
  return { ...value, [key]: rest.length === 0 ? list : withList(inner, rest, list) };
}

/** Why an item to remove matches no grant, and what was probably meant. */
function notGranted(item: string | number, granted: (string | number)[], key: string): string {
  const text = granted.filter((g): g is string => typeof g === "string");
  const under = typeof item === "string" && text.find((g) => item.startsWith(`${g}/`));
  if (under) {
    return `${under} is granted as a whole: Landlock cannot take a path out of a granted ` +
      "directory; remove the directory and grant what is still needed";
  }
  const guess = typeof item === "string" ? closest(item, text) : undefined;
  if (guess) return `did you mean ${quoteValue(guess)}?`;
  return granted.length > 0
    ? `${key} granted before this file: ${granted.map(quoteValue).join(", ")}`
    : `no file this one extends grants ${key} (defaults cannot be removed: set the key instead)`;
}

/**
 * Applies one layer's `remove` to the policy merged from the layers before it: the items
 * leave the merged lists (an emptied list stays, empty, so no default refills it) and
 * their provenance, and each is recorded as a {@link Removal}.
 *
 * @example
 * ```ts
 * import { removeGrants } from "./remove.ts";
 * const source = { file: "app.yaml", value: {}, locate: () => ({ line: 3, col: 5 }) };
 * const provenance = new Map([['network.connect_tcp[80]', { file: "builtin:network-client", line: 19, col: 17 }]]);
 * const merged = { network: { connect_tcp: [80, 443] } };
 * const out = removeGrants(merged, { network: { connect_tcp: [80] } }, source, provenance);
 * console.log(out.merged.network); // { connect_tcp: [443] }
 * console.log(out.removals[0].grantedAt.file); // "builtin:network-client"
 * ```
 */
export function removeGrants(
  merged: Record<string, unknown>,
  remove: PolicyRemove | undefined,
  source: PolicySource,
  provenance: ProvenanceMap,
): { merged: Record<string, unknown>; removals: Removal[]; problems: Diagnostic[] } {
  const removals: Removal[] = [];
  const problems: Diagnostic[] = [];
  let out = merged;
  for (const path of REMOVABLE) {
    const items = listAt(remove, path);
    if (items.length === 0) continue;
    const key = path.join(".");
    let list = listAt(out, path);
    items.forEach((item, i) => {
      const where = ["remove", ...path, i];
      const removedAt = { file: source.file, ...source.locate(where) };
      if (!list.includes(item)) {
        problems.push({
          ...removedAt,
          path: where.join("."),
          message: `cannot remove ${key} ${quoteValue(item)}: the files this one extends ` +
            "do not grant it",
          hint: notGranted(item, list, key),
        });
        return;
      }
      list = list.filter((x) => x !== item);
      const grantKey = provenanceKey(path, item);
      removals.push({ key, item, removedAt, grantedAt: provenance.get(grantKey)! });
      provenance.delete(grantKey);
    });
    out = withList(out, path, list);
  }
  return { merged: out, removals, problems };
}

/**
 * Grants in `layer` of items an earlier layer (or this one) removed: errors, located at
 * the grant. A removal is not undone silently by a file merged after it.
 *
 * @example
 * ```ts
 * import { grantsOfRemoved } from "./remove.ts";
 * const source = { file: "app.yaml", value: {}, locate: () => ({ line: 7, col: 18 }) };
 * const removed = [{
 *   key: "network.connect_tcp", item: 80,
 *   removedAt: { file: "no-http.yaml", line: 4, col: 20 },
 *   grantedAt: { file: "builtin:network-client", line: 19, col: 17 },
 * }];
 * const problems = grantsOfRemoved({ network: { connect_tcp: [80] } }, source, removed);
 * console.log(problems[0].message); // "grants network.connect_tcp 80 again, which no-http.yaml:4:20 removed"
 * ```
 */
export function grantsOfRemoved(
  layer: Record<string, unknown>,
  source: PolicySource,
  removals: readonly Removal[],
): Diagnostic[] {
  return removals.flatMap((r) => {
    const path = r.key.split(".");
    const index = listAt(layer, path).indexOf(r.item);
    if (index < 0) return [];
    const at = r.removedAt;
    return [{
      file: source.file,
      ...source.locate([...path, index]),
      path: `${r.key}.${index}`,
      message:
        `grants ${r.key} ${quoteValue(r.item)} again, which ${at.file}:${at.line}:${at.col} ` +
        "removed",
      hint: "a removal holds for every file merged after it: drop the removal, or this grant",
    }];
  });
}

/** The lists whose grants still give a removed path's access: read comes with write and exec. */
const STILL_GRANTED_BY: Record<string, readonly string[]> = {
  "filesystem.read": ["read", "write", "exec"],
  "filesystem.write": ["write"],
  "filesystem.exec": ["exec"],
};

/**
 * Removals the merged policy still grants: a path through the same path in another list or
 * a directory above it in any list (Landlock rules apply to whole trees), and the `tcp`
 * protocol (always allowed with `network`). The removal would not take the access away,
 * so it is an error located at the removal.
 *
 * @example
 * ```ts
 * import { stillGranted } from "./remove.ts";
 * const removed = [{
 *   key: "filesystem.read", item: "/etc/hosts",
 *   removedAt: { file: "app.yaml", line: 5, col: 24 },
 *   grantedAt: { file: "builtin:network-client", line: 12, col: 7 },
 * }];
 * const merged = { filesystem: { read: ["/etc"] } };
 * console.log(stillGranted(merged, removed, new Map())[0].message);
 * // "removing filesystem.read \"/etc/hosts\" takes nothing away: filesystem.read \"/etc\" still grants it"
 * ```
 */
export function stillGranted(
  merged: Record<string, unknown>,
  removals: readonly Removal[],
  provenance: ProvenanceMap,
): Diagnostic[] {
  return removals.flatMap((r) => {
    if (r.key === "network.protocols" && r.item === "tcp") {
      return [{
        ...r.removedAt,
        path: `remove.${r.key}`,
        message: 'removing network.protocols "tcp" takes nothing away: TCP is allowed whenever ' +
          "the policy has network (Landlock decides its ports)",
        hint: "remove the ports from network.connect_tcp and network.bind_tcp instead",
      }];
    }
    const lists = STILL_GRANTED_BY[r.key];
    if (!lists || typeof r.item !== "string") return [];
    const removed = r.item;
    for (const list of lists) {
      const path = ["filesystem", list];
      const cover = listAt(merged, path).find((g) => typeof g === "string" && isUnder(removed, g));
      if (cover === undefined) continue;
      const at = provenance.get(provenanceKey(path, cover));
      const where = at ? ` (${at.file}:${at.line}:${at.col})` : "";
      return [{
        ...r.removedAt,
        path: `remove.${r.key}`,
        message: `removing ${r.key} ${quoteValue(removed)} takes nothing away: ` +
          `filesystem.${list} ${quoteValue(cover)} still grants it${where}`,
        hint: cover === removed
          ? `remove it from filesystem.${list} as well`
          : "Landlock cannot take a path out of a granted directory: remove the directory " +
            "and grant what is still needed",
      }];
    }
    return [];
  });
}
