/**
 * The resolution of a plan path recorded at compile time: the symlink-free path it leads
 * to, when that differs from the path itself. The shim opens the recorded resolution
 * without following symlinks, so a symlink that appears after compiling is refused
 * (`path_changed`) instead of followed.
 *
 * @module
 */

/**
 * The canonical, symlink-free form of an absolute path, or undefined when the path is
 * already canonical. A path that does not exist (yet) keeps its missing tail under the
 * resolution of its deepest existing ancestor; one that cannot be examined is left as it
 * is (the shim then opens it as written, refusing any symlink on the way).
 *
 * @example
 * ```ts
 * import { recordedResolution } from "./resolve_path.ts";
 * console.log(recordedResolution("/")); // undefined
 * ```
 */
export function recordedResolution(path: string): string | undefined {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  const missing: string[] = [];
  while (true) {
    const head = "/" + parts.join("/");
    try {
      const real = Deno.realPathSync(head);
      const resolved = [real === "/" ? "" : real, ...missing].join("/") || "/";
      return resolved === path ? undefined : resolved;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) || parts.length === 0) return undefined;
      missing.unshift(parts.pop()!);
    }
  }
}
