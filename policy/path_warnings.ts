/**
 * Warnings about policy paths that do not exist on this host: a typo'd `filesystem.write`
 * entry is otherwise skipped silently at launch (Landlock cannot add a rule for a missing
 * path), and a missing `target.exe` only shows when the plan is compiled.
 *
 * @module
 */
import type { Diagnostic } from "./diagnostic.ts";
import { type Provenance, provenanceKey } from "./merge.ts";
import type { LoadedPolicy } from "./load.ts";
import type { KeyPath } from "./yaml_source.ts";

/** The list keys whose entries are host paths. */
const PATH_LISTS: readonly KeyPath[] = [
  ["filesystem", "read"],
  ["filesystem", "write"],
  ["filesystem", "exec"],
  ["target", "inputs"],
];

/** The scalar keys whose values are host paths. */
const PATH_SCALARS: readonly KeyPath[] = [["target", "exe"], ["target", "cwd"]];

/** True for a value the user wrote: not a default, not a built-in profile's. */
function userWritten(where: Provenance | undefined): where is Provenance {
  return where !== undefined && where.file !== "default" && !where.file.startsWith("builtin:");
}

/** True when `path` names nothing here (a dangling symlink names nothing either). */
async function missing(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return false;
  } catch (e) {
    return e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory;
  }
}

/**
 * Lists a warning, located where the user wrote it, for every host path of the policy
 * that does not exist here. Paths of built-in profiles and defaults are not the user's
 * typos (`/lib64` is absent on some systems by design) and are not reported.
 *
 * @example
 * ```ts ignore
 * import { loadPolicy } from "./load.ts";
 * import { pathWarnings } from "./path_warnings.ts";
 * const warnings = await pathWarnings(await loadPolicy("examples/hello.yaml"));
 * console.log(warnings.length); // 0
 * ```
 */
export async function pathWarnings(loaded: LoadedPolicy): Promise<Diagnostic[]> {
  const { policy, provenance } = loaded;
  const found: { path: KeyPath; value: string; where: Provenance }[] = [];
  for (const path of PATH_SCALARS) {
    const value = (policy as unknown as Record<string, Record<string, unknown>>)[path[0]]
      ?.[path[1]];
    const where = provenance.get(provenanceKey(path));
    if (typeof value === "string" && userWritten(where)) found.push({ path, value, where });
  }
  for (const path of PATH_LISTS) {
    const list = (policy as unknown as Record<string, Record<string, unknown>>)[path[0]]?.[path[1]];
    if (!Array.isArray(list)) continue;
    for (const value of list) {
      const where = provenance.get(provenanceKey(path, value));
      if (typeof value === "string" && userWritten(where)) {
        found.push({ path, value, where });
      }
    }
  }
  const warnings: Diagnostic[] = [];
  for (const { path, value, where } of found) {
    if (!(await missing(value))) continue;
    const isTarget = path[1] === "exe";
    warnings.push({
      file: where.file,
      line: where.line,
      col: where.col,
      path: path.join("."),
      severity: "warning",
      message: isTarget
        ? `the target ${value} does not exist on this host`
        : `${value} does not exist on this host; the rule is skipped at launch`,
      hint: isTarget
        ? "check the path (compile and launch refuse a missing target)"
        : "check the path for a typo, or remove the entry",
    });
  }
  return warnings;
}
