/**
 * Checks of the filesystem view that no single key can show: keys that need the other
 * view mode, two entries at one target, a mount point the shim would have to create in a
 * host directory, a `mounts` source that does not exist, /proc without a pid namespace,
 * a working directory the view does not show.
 *
 * @module
 */
import { hasOwnDev, isUnder, providedByView } from "../compiler/lower_view.ts";
import { exists, recordedResolution, symlinksOnTheWay } from "../compiler/resolve_path.ts";
import type { Policy } from "./types.ts";
import type { KeyPath } from "./yaml_source.ts";

/** Reports one problem at the policy value `path` (a list `item` of it). */
export type Report = (path: KeyPath, item: unknown, message: string, hint?: string) => void;

/** One entry of a listed view, where the policy says it. */
interface Placed {
  target: string;
  what: string;
  path: KeyPath;
  item?: unknown;
  /** A bind of a host directory the child may write. */
  writable?: boolean;
  /** A bind of a host path (its content is the host's). */
  host?: boolean;
}

/**
 * Reports every problem of the merged policy's filesystem view.
 *
 * @example
 * ```ts
 * import { checkView } from "./check_view.ts";
 * const problems: string[] = [];
 * checkView(
 *   { version: 1, name: "x", target: { exe: "/bin/true" }, filesystem: { view: "listed", hide: ["/run"] } },
 *   (_path, _item, message) => problems.push(message),
 * );
 * console.log(problems[0]); // "hide is for view: host (a listed view shows only what the policy names)"
 * ```
 */
export function checkView(policy: Policy, report: Report): void {
  const fs = policy.filesystem ?? {};
  const view = fs.view ?? "host";
  if (view === "host") {
    const listedOnly: [keyof typeof fs, boolean][] = [
      ["files", Object.keys(fs.files ?? {}).length > 0],
      ["mounts", (fs.mounts ?? []).length > 0],
      ["tmp", typeof fs.tmp === "number"],
      ["proc", fs.proc === true],
      ["dev", hasOwnDev(fs)],
    ];
    for (const [key, set] of listedOnly) {
      if (!set) continue;
      report(
        ["filesystem", key],
        undefined,
        `${key} needs view: listed (the host's tree has no place for it)`,
        "set filesystem.view: listed, or remove it",
      );
    }
    return;
  }
  for (const path of fs.hide ?? []) {
    report(
      ["filesystem", "hide"],
      path,
      "hide is for view: host (a listed view shows only what the policy names)",
      "remove it from hide, or set filesystem.view: host",
    );
  }
  if (fs.proc && !policy.namespaces?.pid) {
    report(
      ["filesystem", "proc"],
      undefined,
      "proc needs a pid namespace (a /proc of the host's pids shows every host process)",
      "add namespaces: { pid: true }, or set proc: false",
    );
  }
  const symlinks = new Map<string, string>();
  const placed = placedEntries(policy, symlinks, report);
  checkOverlaps(placed, symlinks, report);
  for (const p of placed.filter((p) => p.target === "/")) {
    report(
      p.path,
      p.item,
      `${p.what} would show the host's whole tree at the view's root`,
      "use filesystem.view: host for that, or list the directories the child needs",
    );
  }
  for (const [index, m] of (fs.mounts ?? []).entries()) {
    if (!exists(m.source)) {
      report(
        ["filesystem", "mounts"],
        m,
        `mounts.${index}.source ${m.source} does not exist`,
        "create it first, or fix the path",
      );
    }
  }
  const cwd = policy.target?.cwd ?? "/";
  const resolved = recordedResolution(cwd) ?? cwd;
  // The view's cwd is a host directory bound at its own path (the shim compares it with the
  // host's), a `mounts` target, the private /tmp, or the root: all exist when the child starts.
  const shown = cwd === "/" || (cwd === "/tmp" && typeof fs.tmp === "number") ||
    placed.some((p) =>
      p.host && (p.path[1] === "mounts" ? isUnder(cwd, p.target) : isUnder(resolved, p.target))
    );
  if (!shown) {
    report(
      ["target", "cwd"],
      undefined,
      `cwd ${cwd} is outside the view (it would not exist when the child starts)`,
      "add it (or a directory above it) to filesystem.read or filesystem.write, or use /tmp or /",
    );
  }
}

/**
 * The entries of a listed view with a target, in policy terms: the view's own first, then
 * `files`, `mounts` and the lists, so that a clash is reported at what the policy added.
 * Collects the symlinks the view recreates, and reports one that would lie under a mount.
 */
function placedEntries(
  policy: Policy,
  symlinks: Map<string, string>,
  report: Report,
): Placed[] {
  const fs = policy.filesystem ?? {};
  const placed: Placed[] = [];
  if (typeof fs.tmp === "number") {
    placed.push({ target: "/tmp", what: "the private /tmp", path: ["filesystem", "tmp"] });
  }
  if (fs.proc) placed.push({ target: "/proc", what: "/proc", path: ["filesystem", "proc"] });
  if (hasOwnDev(fs)) {
    placed.push({ target: "/dev", what: "/dev", path: ["filesystem", "dev"] });
  }
  for (const m of fs.mounts ?? []) {
    placed.push({
      target: m.target,
      what: `the mount of ${m.source}`,
      path: ["filesystem", "mounts"],
      item: m,
      writable: m.write,
      host: true,
    });
  }
  for (const target of Object.keys(fs.files ?? {})) {
    placed.push({
      target,
      what: `the file ${target}`,
      path: ["filesystem", "files", target, "content"],
    });
  }
  const listed = new Map<string, Placed>();
  for (const key of ["read", "exec", "write"] as const) {
    for (const path of fs[key] ?? []) {
      const walk = symlinksOnTheWay(path);
      for (const s of walk.symlinks) {
        symlinks.set(s.target, s.link);
        // The view recreates the symlink; under a mount it would be inside another host tree.
        const mount = (fs.mounts ?? []).find((m) => isUnder(s.target, m.target));
        if (mount) {
          report(
            ["filesystem", key],
            path,
            `filesystem.${key} ${path} goes through the symlink ${s.target}, under the mount of ${mount.source} at ${mount.target}`,
            "list the path by its resolved name, or choose another mount target",
          );
        }
      }
      const target = walk.resolved;
      if (providedByView(fs, target)) continue;
      // One host path named by several lists is one bind, with the widest access.
      const seen = listed.get(target);
      const writable = key === "write" || (seen?.writable ?? false);
      const named = seen && seen.item === target ? seen : { path: ["filesystem", key], item: path };
      listed.set(target, {
        target,
        what: `${named.path.join(".")} ${named.item}`,
        path: named.path,
        item: named.item,
        writable,
        host: true,
      });
    }
  }
  placed.push(...listed.values());
  return placed;
}

/**
 * Two entries at one target; a `files` or `mounts` target at /, under a symlink the view
 * recreates, under /proc or /dev, or under a host directory the child may write (the shim
 * would create its mount point there, on the host), or missing from the read-only host
 * directory above it.
 */
function checkOverlaps(
  placed: Placed[],
  symlinks: Map<string, string>,
  report: Report,
): void {
  const at = (p: Placed, message: string, hint: string) => report(p.path, p.item, message, hint);
  for (const [i, p] of placed.entries()) {
    const twin = placed.slice(0, i).find((q) => q.target === p.target);
    if (twin) {
      at(
        p,
        `${p.what} and ${twin.what} are both at ${p.target} in the view`,
        "keep one of them (with tmp, proc or dev, set that key to false or none)",
      );
      continue;
    }
    const placedByPolicy = p.path[1] === "files" || p.path[1] === "mounts";
    if (!placedByPolicy) {
      // A host path shown where a mount shows another host tree: the two would be confused.
      const mount = placed.find((q) =>
        q.path[1] === "mounts" && q.target !== p.target && isUnder(p.target, q.target)
      );
      if (p.host && mount) {
        at(
          p,
          `${p.what} is at ${p.target}, under ${mount.what} at ${mount.target}`,
          "list the path inside the mount's source, or choose another mount target",
        );
      }
      continue;
    }
    if (p.target === "/") continue;
    // The shim builds the tree without following symlinks: a target under one has no place.
    const link = [...symlinks].find(([s]) => s !== p.target && isUnder(p.target, s));
    if (link) {
      at(
        p,
        `${p.what} is at ${p.target}, under ${link[0]}, which the view shows as a symlink (-> ${
          link[1]
        })`,
        "name the target by its resolved path",
      );
      continue;
    }
    for (const special of ["/proc", "/dev"]) {
      if (isUnder(p.target, special)) {
        at(
          p,
          `${p.what} is at ${p.target}, under ${special}`,
          `${special} is the kernel's: choose a target elsewhere`,
        );
      }
    }
    const above = placed.filter((q) =>
      q.host && q.target !== p.target && isUnder(p.target, q.target)
    )
      .sort((a, b) => b.target.length - a.target.length)[0];
    if (!above) continue;
    if (above.writable) {
      at(
        p,
        `${p.what} is at ${p.target}, under ${above.what}, which the child may write`,
        "choose a target outside writable directories (its mount point would be made on the host)",
      );
    } else if (above.path[1] !== "mounts" && !exists(p.target)) {
      at(
        p,
        `${p.what} is at ${p.target}, which does not exist in the read-only ${above.what}`,
        "choose a target that exists there, or outside it",
      );
    }
  }
}
