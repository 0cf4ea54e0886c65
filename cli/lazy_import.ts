/**
 * Imports a module only when it is needed. Deno loads every module a literal `import("…")`
 * names when the program starts, so a literal dynamic import still costs its whole subgraph
 * at start-up; a computed specifier is loaded only when the call runs.
 *
 * @module
 */

/**
 * Imports the module at `url` when called. Give its type as `typeof import("…")`: type
 * positions are not loaded at run time.
 *
 * @example
 * ```ts ignore
 * import { importLazily } from "./lazy_import.ts";
 * const { checkCommand } = await importLazily<typeof import("./check.ts")>(
 *   new URL("./check.ts", import.meta.url),
 * );
 * ```
 */
export function importLazily<T>(url: URL): Promise<T> {
  return import(url.href);
}
