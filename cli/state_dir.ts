/**
 * The launcher's per-host state directory (mode 0700), which holds the transcript seal
 * key: `/var/lib/charter` for root, `$XDG_STATE_HOME/charter` (default
 * `~/.local/state/charter`) for other users. `CHARTER_STATE_DIR` overrides both.
 *
 * @module
 */

/** Raised when the state directory cannot be used safely. */
export class StateDirError extends Error {
  /** Creates the error; the message says what is wrong and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "StateDirError";
  }
}

/**
 * The launcher's uid (charter runs on Linux, where Deno always knows it).
 *
 * @example
 * ```ts
 * import { launcherUid } from "./state_dir.ts";
 * console.log(launcherUid() >= 0); // true
 * ```
 */
export function launcherUid(): number {
  return Deno.uid() ?? -1;
}

/**
 * Where this user's state directory is (it may not exist yet).
 *
 * @example
 * ```ts
 * import { stateDirPath } from "./state_dir.ts";
 * console.log(stateDirPath().endsWith("charter")); // true
 * ```
 */
export function stateDirPath(): string {
  const override = Deno.env.get("CHARTER_STATE_DIR");
  if (override) return override;
  if (launcherUid() === 0) return "/var/lib/charter";
  const xdg = Deno.env.get("XDG_STATE_HOME");
  if (xdg?.startsWith("/")) return `${xdg}/charter`;
  const home = Deno.env.get("HOME");
  if (!home?.startsWith("/")) {
    throw new StateDirError(
      "Neither XDG_STATE_HOME nor HOME is an absolute path, so there is no state directory for the seal key; set one of them, or launch with --no-seal",
    );
  }
  return `${home}/.local/state/charter`;
}

/**
 * Checks that `path` is this user's own private entry: not a symbolic link, owned by the
 * launcher's uid, with no group or other permission bits, and (for a file) one name only.
 * Returns the path.
 *
 * @example
 * ```ts ignore
 * import { checkPrivate } from "./state_dir.ts";
 * checkPrivate("/var/lib/charter/seal.key", "file");
 * ```
 */
export function checkPrivate(path: string, kind: "directory" | "file"): string {
  const info = Deno.lstatSync(path);
  const problem = info.isSymlink
    ? "is a symbolic link"
    : kind === "directory" && !info.isDirectory
    ? "is not a directory"
    : kind === "file" && !info.isFile
    ? "is not a regular file"
    : info.uid !== launcherUid()
    ? `is owned by uid ${info.uid}, not by this launcher (uid ${launcherUid()})`
    : ((info.mode ?? 0) & 0o077) !== 0
    ? `has mode ${((info.mode ?? 0) & 0o777).toString(8)}, which lets other users in`
    : kind === "file" && info.nlink !== 1
    ? `has ${info.nlink} hard links`
    : undefined;
  if (problem) {
    throw new StateDirError(
      `${path} ${problem}; a seal key must be private to the launcher: fix or remove it (chmod ${
        kind === "directory" ? 700 : 600
      }), or launch with --no-seal`,
    );
  }
  return path;
}

/**
 * The state directory, created (0700, parents as needed) on first use and checked to be
 * private.
 *
 * @example
 * ```ts ignore
 * import { ensureStateDir } from "./state_dir.ts";
 * const dir = ensureStateDir();
 * ```
 */
export function ensureStateDir(): string {
  const dir = stateDirPath();
  const parent = dir.replace(/\/[^/]+\/?$/, "") || "/";
  try {
    Deno.mkdirSync(parent, { recursive: true });
    Deno.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) {
      throw new StateDirError(
        `The state directory ${dir} cannot be created (${
          (e as Error).message
        }); set XDG_STATE_HOME to a writable directory, or launch with --no-seal`,
      );
    }
  }
  checkPrivate(dir, "directory");
  return dir;
}
