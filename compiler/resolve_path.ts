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

/** A symlink met on the way to a path: where it is (a symlink-free path) and its content. */
export interface SymlinkOnTheWay {
  /** The symlink's own path, with every directory above it resolved. */
  target: string;
  /** Its content, verbatim. */
  link: string;
}

/** How many symlinks a resolution follows before giving up, as the kernel does (ELOOP). */
const MAX_SYMLINKS = 40;

/**
 * Resolves an absolute path component by component, like {@link recordedResolution}, and
 * lists every symlink met on the way, in the order met. A `listed` view recreates these
 * symlinks so that the path works inside it as on the host (`/lib` → `usr/lib`). A missing
 * or unreadable component keeps the rest of the path as written.
 *
 * @example
 * ```ts
 * import { symlinksOnTheWay } from "./resolve_path.ts";
 * console.log(symlinksOnTheWay("/").resolved); // "/"
 * ```
 */
export function symlinksOnTheWay(
  path: string,
): { resolved: string; symlinks: SymlinkOnTheWay[] } {
  const parts = (p: string) => p.split("/").filter((x) => x !== "" && x !== ".");
  const todo = parts(path);
  let done: string[] = [];
  const symlinks: SymlinkOnTheWay[] = [];
  let hops = 0;
  while (todo.length > 0) {
    const part = todo.shift()!;
    if (part === "..") {
      done.pop();
      continue;
    }
    const here = "/" + [...done, part].join("/");
    let isSymlink: boolean;
    try {
      isSymlink = Deno.lstatSync(here).isSymlink;
    } catch {
      done.push(part, ...todo);
      break;
    }
    if (!isSymlink) {
      done.push(part);
      continue;
    }
    if (++hops > MAX_SYMLINKS) return { resolved: path, symlinks };
    const link = Deno.readLinkSync(here);
    if (!symlinks.some((s) => s.target === here)) symlinks.push({ target: here, link });
    if (link.startsWith("/")) done = [];
    todo.unshift(...parts(link));
  }
  return { resolved: "/" + done.join("/"), symlinks };
}

/**
 * True when something is at `path` on this host now (following symlinks).
 *
 * @example
 * ```ts
 * import { exists } from "./resolve_path.ts";
 * console.log(exists("/"), exists("/no/such/path")); // true false
 * ```
 */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
