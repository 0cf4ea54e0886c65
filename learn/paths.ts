/**
 * Path helpers of learn mode: lexical forms of recorded paths, and what the host has at a
 * path now (the recorder saw the path; what it is, is read afterwards on the host).
 *
 * @module
 */

/**
 * Drops `.` and empty segments (`a/./b`, `a//b`, a trailing `/`), which never change what
 * a path names; `..` stays, since a symlink before it decides where it leads.
 *
 * @example
 * ```ts
 * import { normalizePath } from "./paths.ts";
 * console.log(normalizePath("/src/.git/./refs/")); // "/src/.git/refs"
 * ```
 */
export function normalizePath(path: string): string {
  const parts = path.split("/").filter((s) => s !== "" && s !== ".");
  return "/" + parts.join("/");
}

/**
 * The parent directory of an absolute path (`/` for `/x`).
 *
 * @example
 * ```ts
 * import { parentOf } from "./paths.ts";
 * console.log(parentOf("/work/out/x"), parentOf("/x")); // "/work/out" "/"
 * ```
 */
export function parentOf(path: string): string {
  const cut = path.lastIndexOf("/");
  return cut <= 0 ? "/" : path.slice(0, cut);
}

/**
 * What `path` names on this host now, as the compiler opens it: symlinks and `..` resolved
 * (realpath); a tail that does not exist is kept, with its `..` taken lexically.
 *
 * @example
 * ```ts
 * import { resolvedOnHost } from "./paths.ts";
 * console.log(resolvedOnHost("/tmp/.."), resolvedOnHost("/no/such/../path")); // "/" "/no/path"
 * ```
 */
export function resolvedOnHost(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    if (path === "/") return path;
  }
  const cut = path.lastIndexOf("/");
  const parent = resolvedOnHost(cut <= 0 ? "/" : path.slice(0, cut));
  const tail = path.slice(cut + 1);
  if (tail === "..") return parentOf(parent);
  return `${parent === "/" ? "" : parent}/${tail}`;
}

/**
 * True when `path` is a directory on this host now (following symlinks).
 *
 * @example
 * ```ts
 * import { isDirectory } from "./paths.ts";
 * console.log(isDirectory("/"), isDirectory("/no/such/path")); // true false
 * ```
 */
export function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}
