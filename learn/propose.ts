/**
 * The proposed policy of `charter learn -o`: the original YAML, untouched, plus the
 * fewest grants that allow what the recorded run was denied, each with a comment saying
 * which accesses it is for and how many times they happened.
 *
 * @module
 */
import { isSeq, parseDocument, type Scalar, type YAMLSeq } from "yaml";
import type { Denial, Grant } from "./evaluate.ts";
import { isUnder } from "../compiler/lower_view.ts";
import { isDirectory, parentOf, resolvedOnHost } from "./paths.ts";

/** One grant of the proposal, with the accesses that need it. */
export interface ProposedGrant {
  /** The key, e.g. `filesystem.write`. */
  key: NonNullable<Grant["key"]>;
  /** The list item added. */
  value: string | number;
  /** How many denied accesses it allows. */
  count: number;
  /** The distinct access lines it allows (`write /work/out/x`), in first-seen order. */
  accesses: string[];
}

/** A grant the proposal refuses to make, and why. */
export interface RefusedGrant {
  /** The key and value that would have been needed. */
  key: string;
  value: string | number;
  /** Why it is not granted. */
  reason: string;
}

/** The result of {@link proposeGrants}. */
export interface Proposal {
  /** Built-in profiles to extend, each with why. */
  profiles: { name: string; why: string }[];
  /** Grants to add. */
  grants: ProposedGrant[];
  /** Grants too wide to propose. */
  refused: RefusedGrant[];
}

/** A built-in profile, as far as the proposal needs it. */
export interface ProfileInfo {
  /** `builtin:NAME`. */
  name: string;
  /** Paths it makes readable. */
  read: string[];
  /** Paths it makes executable. */
  exec: string[];
  /** TCP ports it lets the child connect to. */
  connectTcp?: number[];
  /** Protocols it lets the child use (`network.protocols`). */
  protocols?: string[];
}

/** How many distinct needed grants a profile must cover to be proposed without running the target. */
const PROFILE_COVERS = 3;

/** True when `profile` grants `g` itself. */
function profileCovers(profile: ProfileInfo, g: Grant): boolean {
  const v = g.value;
  switch (g.key) {
    case "filesystem.read":
      return typeof v === "string" && profile.read.some((r) => isUnder(v, r));
    case "filesystem.exec":
      return typeof v === "string" && profile.exec.includes(v);
    case "network.connect_tcp":
      return typeof v === "number" && (profile.connectTcp ?? []).includes(v);
    case "network.protocols":
      return typeof v === "string" && (profile.protocols ?? []).includes(v);
    default:
      return false;
  }
}

/** Inputs besides the denials. */
export interface ProposeOptions {
  /** The target's executable (its resolution too): a profile that execs it is preferred. */
  targetExe: string[];
  /** Built-in profiles the policy does not already extend. */
  profiles: ProfileInfo[];
  /** Home directories of this host's users (never granted wholesale). */
  homes: string[];
  /** At least this many entries under one directory collapse into it (default 3). */
  collapseAt?: number;
  /**
   * List keys whose value is a default (`filesystem.read`, `filesystem.write`): a list of
   * the policy's own replaces the default, so a grant there brings `builtin:base` (the
   * same lists) along.
   */
  defaulted?: string[];
}

const FS_KEYS = new Set(["filesystem.read", "filesystem.write", "filesystem.exec"]);

/**
 * True when `needed` entries are at least half of what `dir` holds now (or it is gone: the
 * run made and removed it): only then is the directory no wider than what was needed.
 */
function mostOf(dir: string, needed: number): boolean {
  let entries = 0;
  try {
    for (const _ of Deno.readDirSync(dir)) if (++entries > 2 * needed) return false;
  } catch {
    return true;
  }
  return needed * 2 >= entries;
}

/**
 * Directories too wide to grant: `/`, every top-level directory (`/etc`, `/usr`, `/tmp`,
 * `/home`), and every user's home, whether named so or reached through `..` or a symlink
 * (the recorded path is the program's, which may be `/tmp/..` or a link it made to `/`; the
 * compiler grants what it resolves to).
 */
function tooWide(path: string, homes: ReadonlySet<string>): string | undefined {
  const resolved = resolvedOnHost(path);
  const named = resolved === path ? "" : ` (${path} resolves to ${resolved})`;
  for (const p of new Set([path, resolved])) {
    if (p === "/") return `it is the whole filesystem${named}`;
    if (/^\/proc\/(self|thread-self|\d+)(\/|$)/.test(p)) {
      return "a per-process /proc path names another process in the launcher; no path rule grants it";
    }
    if (p.lastIndexOf("/") === 0 && isDirectory(p)) return `it is a top-level directory${named}`;
    if (homes.has(p)) return `it is a user's home directory${named}`;
  }
  return undefined;
}

/**
 * Turns denials into the fewest grants: one per key and value, entries under one directory
 * collapsed into it when there are at least `collapseAt` of them, they are at least half
 * of what it holds, and the directory is not too wide, values covered by another proposed directory dropped, and built-in profiles
 * preferred where one execs the target (its read and exec paths then need no grant).
 *
 * @example
 * ```ts
 * import { proposeGrants } from "./propose.ts";
 * const denial = (path: string) => ({
 *   access: { kind: "path", op: "write", path, rights: ["write_file"], at: path },
 *   mechanism: "landlock",
 *   grant: { key: "filesystem.write", value: path },
 *   line: `write ${path} → filesystem.write`,
 * }) as const;
 * const p = proposeGrants(["/w/out/a", "/w/out/b", "/w/out/c"].map(denial), {
 *   targetExe: [], profiles: [], homes: [],
 * });
 * console.log(p.grants.map((g) => g.value)); // ["/w/out"]
 * ```
 */
export function proposeGrants(denials: readonly Denial[], options: ProposeOptions): Proposal {
  const collapseAt = options.collapseAt ?? 3;
  // Each home as named and as resolved, once: every candidate directory is checked against them.
  const homes = new Set(options.homes.flatMap((h) => [h, resolvedOnHost(h)]));
  // A profile that runs the target, or one that grants several distinct needed things
  // (network-client: the port, the resolver's files and protocols).
  const needed = new Map(denials.map((d) => [`${d.grant.key} ${d.grant.value}`, d.grant]));
  const profiles = options.profiles.filter((p) =>
    p.exec.some((e) => options.targetExe.includes(e)) ||
    [...needed.values()].filter((g) => profileCovers(p, g)).length >= PROFILE_COVERS
  );
  const coveredByProfile = (g: Grant) => profiles.some((p) => profileCovers(p, g));

  const byKey = new Map<string, Map<string | number, ProposedGrant>>();
  for (const d of denials) {
    const { key, value } = d.grant;
    if (value === undefined || coveredByProfile(d.grant)) continue;
    const values = byKey.get(key) ?? new Map();
    byKey.set(key, values);
    const grant = values.get(value) ?? { key, value, count: 0, accesses: [] };
    values.set(value, grant);
    grant.count += d.times ?? 1;
    const what = d.line.slice(0, d.line.lastIndexOf(" → "));
    if (!grant.accesses.includes(what)) grant.accesses.push(what);
  }

  const grants: ProposedGrant[] = [];
  const refused: RefusedGrant[] = [];
  for (const [key, values] of byKey) {
    const fs = FS_KEYS.has(key);
    const allowed = [...values.values()].filter((g) => {
      const reason = key === "syscalls.unsafe_allow"
        ? "the baseline denies it under every policy; lift it by hand only after review"
        : fs
        ? tooWide(String(g.value), homes)
        : undefined;
      if (reason) refused.push({ key, value: g.value, reason });
      return reason === undefined;
    });
    grants.push(...(fs ? collapse(allowed, collapseAt, homes) : allowed));
  }
  const chosen = profiles.map((p) => ({
    name: p.name,
    why: p.exec.some((e) => options.targetExe.includes(e))
      ? "it runs the target; its paths need no grant of their own"
      : "it grants several of the accesses this run needed (a reviewed profile)",
  }));
  const replaced = (options.defaulted ?? []).filter((k) => grants.some((g) => g.key === k));
  if (replaced.length > 0 && !chosen.some((p) => p.name === "builtin:base")) {
    chosen.push({
      name: "builtin:base",
      why: `the default ${replaced.join(" and ")}, which this file's own list would replace`,
    });
  }
  return { profiles: chosen, grants, refused };
}

/** Merges grants under one directory into it where that is allowed, then drops covered ones. */
function collapse(
  list: ProposedGrant[],
  collapseAt: number,
  homes: ReadonlySet<string>,
): ProposedGrant[] {
  let merged = new Map<string, ProposedGrant>();
  const add = (into: Map<string, ProposedGrant>, value: string, g: ProposedGrant) => {
    const have = into.get(value);
    if (!have) return void into.set(value, { ...g, value, accesses: [...g.accesses] });
    have.count += g.count;
    have.accesses.push(...g.accesses.filter((a) => !have.accesses.includes(a)));
  };
  for (const g of list) add(merged, String(g.value), g);
  // Level by level: a directory with enough distinct entries granted takes their place,
  // and may then count as an entry of its own parent.
  for (let changed = true; changed;) {
    changed = false;
    const byParent = new Map<string, ProposedGrant[]>();
    for (const g of merged.values()) {
      const parent = parentOf(String(g.value));
      byParent.set(parent, [...byParent.get(parent) ?? [], g]);
    }
    const next = new Map<string, ProposedGrant>();
    for (const [parent, group] of byParent) {
      const wide = group.length >= collapseAt && !tooWide(parent, homes) &&
        mostOf(parent, group.length);
      changed ||= wide;
      for (const g of group) add(next, wide ? parent : String(g.value), g);
    }
    merged = next;
  }
  // A directory grant covers everything under it: fold those into it.
  const values = [...merged.keys()].sort((x, y) => x.length - y.length);
  for (const value of values) {
    const cover = values.find((d) => d !== value && merged.has(d) && isUnder(value, d));
    if (cover) add(merged, cover, merged.get(value)!), merged.delete(value);
  }
  return [...merged.values()].sort((x, y) => String(x.value).localeCompare(String(y.value)));
}

/** The comment of one grant: what it is for, and how often. */
function commentOf(g: ProposedGrant): string {
  const shown = g.accesses.slice(0, 3).join(", ");
  const more = g.accesses.length > 3 ? ` and ${g.accesses.length - 3} more` : "";
  return ` learn: ${shown}${more} (${g.count}×)`;
}

/** The policy key path of a grant key (`syscalls.allow` → ["syscalls", "allow"]). */
function keyPath(key: string): string[] {
  return key.split(".");
}

/**
 * Writes the proposal into the policy's YAML text: the original document with the
 * profiles added to `extends` and each grant appended to its list, commented. Existing
 * entries, comments and layout stay as they were.
 *
 * @example
 * ```ts
 * import { writeProposal } from "./propose.ts";
 * const text = writeProposal("version: 1\nname: x\ntarget: { exe: /bin/true }\n", {
 *   profiles: [],
 *   grants: [{ key: "network.connect_tcp", value: 5432, count: 2, accesses: ["connect tcp 5432"] }],
 *   refused: [],
 * });
 * console.log(text.includes("- 5432 # learn: connect tcp 5432 (2×)")); // true
 * ```
 */
export function writeProposal(text: string, proposal: Proposal): string {
  const doc = parseDocument(text);
  const seqAt = (path: string[]): YAMLSeq => {
    let node = doc.getIn(path, true);
    if (!isSeq(node)) {
      doc.setIn(path, doc.createNode([]));
      node = doc.getIn(path, true);
    }
    const seq = node as YAMLSeq;
    // Comments need block style.
    seq.flow = false;
    return seq;
  };
  if (proposal.profiles.length > 0) {
    const seq = seqAt(["extends"]);
    const present = new Set(seq.items.map((i) => (i as Scalar).value));
    for (const { name, why } of proposal.profiles) {
      if (present.has(name)) continue;
      const node = doc.createNode(name) as Scalar;
      node.comment = ` learn: ${why}`;
      // Earlier layers: profiles go first, so this file's own values still win.
      seq.items.unshift(node);
    }
  }
  for (const g of proposal.grants) {
    const seq = seqAt(keyPath(g.key));
    if (seq.items.some((i) => (i as Scalar).value === g.value)) continue;
    const node = doc.createNode(g.value) as Scalar;
    node.comment = commentOf(g);
    seq.items.push(node);
  }
  return doc.toString({ flowCollectionPadding: false });
}
