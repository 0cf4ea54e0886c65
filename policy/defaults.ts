/**
 * The defaults layer (DESIGN §3, "deny by default, usable by default"): what a policy
 * with only `version`, `name` and `target` gets. Each default fills one value that no
 * layer set, so any policy can change it explicitly, and its provenance is
 * {@link DEFAULT_PROVENANCE}, which `explain` shows as `default`.
 *
 * @module
 */
import { type Provenance, provenanceKey, type ProvenanceMap } from "./merge.ts";
import type { KeyPath } from "./yaml_source.ts";

/** The provenance of a value no policy file set. */
export const DEFAULT_PROVENANCE: Provenance = { file: "default", line: 0, col: 0 };

/**
 * System libraries, the loader cache, locale and time zone data: what `/bin/echo`,
 * `sh -c` and `python3 -c` need to start. The same list as `builtin:base`'s
 * `filesystem.read` (a test keeps them equal).
 */
export const DEFAULT_READ: readonly string[] = [
  "/usr/lib",
  "/usr/lib64",
  "/lib",
  "/lib64",
  "/etc/ld.so.cache",
  "/etc/localtime",
  "/usr/share/zoneinfo",
  "/usr/share/locale",
  "/usr/lib/locale",
  "/dev/null",
  "/dev/urandom",
];

/** Discarding output is no authority: every program expects to write /dev/null. */
export const DEFAULT_WRITE: readonly string[] = ["/dev/null"];

/**
 * The filesystem view a policy gets when no layer sets `filesystem.view`. The one switch
 * between the host's tree and a `listed` view by default (DESIGN §3: `listed`).
 */
export const DEFAULT_VIEW: "listed" | "host" = "listed";

/** The size of the private /tmp of a `listed` view: 64 MiB. */
export const DEFAULT_TMP_BYTES = 64 * 1024 * 1024;

function get(value: Record<string, unknown>, path: KeyPath): unknown {
  let here: unknown = value;
  for (const key of path) {
    if (typeof here !== "object" || here === null) return undefined;
    here = (here as Record<string | number, unknown>)[key];
  }
  return here;
}

function set(value: Record<string, unknown>, path: KeyPath, leaf: unknown): void {
  let here = value;
  for (const key of path.slice(0, -1)) {
    const next = here[key];
    here = here[key] = typeof next === "object" && next !== null ? { ...next } : {};
  }
  here[path.at(-1)!] = leaf;
}

/**
 * Fills every default the merged policy leaves unset, recording each with
 * {@link DEFAULT_PROVENANCE}. Landlock defaults (filesystem lists, scopes) are skipped when
 * `enforce.landlock` is `off`, but for the lists of a `listed` view, which show them; the net namespace is skipped when the policy has a
 * `network` key (its TCP rules then decide). A `listed` view gets a private /tmp, a /proc
 * when the child has its own pid namespace, and a minimal /dev.
 *
 * @example
 * ```ts
 * import { applyDefaults } from "./defaults.ts";
 * const provenance = new Map();
 * const policy = applyDefaults({ version: 1, name: "x", target: { exe: "/bin/true" } }, provenance);
 * console.log((policy.user as { namespace: boolean }).namespace); // true
 * console.log(provenance.get("user.namespace")?.file); // "default"
 * ```
 */
export function applyDefaults(
  merged: Record<string, unknown>,
  provenance: ProvenanceMap,
): Record<string, unknown> {
  const out = structuredClone(merged);
  const fill = (path: KeyPath, value: unknown) => {
    if (get(out, path) !== undefined) return;
    set(out, path, value);
    for (let i = 1; i <= path.length; i++) {
      const key = provenanceKey(path.slice(0, i));
      if (i === path.length || !provenance.has(key)) provenance.set(key, DEFAULT_PROVENANCE);
    }
    if (Array.isArray(value)) {
      for (const item of value) provenance.set(provenanceKey(path, item), DEFAULT_PROVENANCE);
    }
  };
  fill(["user", "namespace"], true);
  fill(["namespaces", "pid"], true);
  fill(["namespaces", "ipc"], true);
  if (out.network === undefined) fill(["namespaces", "net"], true);
  fill(["filesystem", "view"], DEFAULT_VIEW);
  const landlock = get(out, ["enforce", "landlock"]) !== "off";
  // The lists also say what a listed view shows: without Landlock they still fill it.
  if (landlock || get(out, ["filesystem", "view"]) === "listed") {
    fill(["filesystem", "read"], [...DEFAULT_READ]);
    fill(["filesystem", "write"], [...DEFAULT_WRITE]);
  }
  if (landlock) {
    fill(["scope", "signals"], true);
    fill(["scope", "abstract_unix"], true);
  }
  // tmp, proc and dev only exist in a listed view; under `host` setting them is an error.
  if (get(out, ["filesystem", "view"]) === "listed") {
    fill(["filesystem", "tmp"], DEFAULT_TMP_BYTES);
    fill(["filesystem", "proc"], get(out, ["namespaces", "pid"]) === true);
    fill(["filesystem", "dev"], "minimal");
  }
  fill(["die_with_parent"], true);
  return out;
}
