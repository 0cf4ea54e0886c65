/**
 * Resolving the target executable at compile time: it must exist, be a regular
 * executable file, and its digest goes into the plan.
 *
 * @module
 */
import { sha256Hex } from "../crypto/digest.ts";
import { PolicyError } from "../policy/diagnostic.ts";
import type { PolicySource } from "../policy/yaml_source.ts";

/** The executable as the plan records it. */
export interface ResolvedTarget {
  /** Absolute path. */
  exe: string;
  /** Lowercase hex sha256 of its contents. */
  sha256: string;
}

/**
 * Reads and hashes the target executable; problems are located at `target.exe`.
 *
 * @example
 * ```ts ignore
 * import { resolveTarget } from "./target.ts";
 * const target = await resolveTarget("/bin/true", source);
 * console.log(target.sha256.length); // 64
 * ```
 */
export async function resolveTarget(exe: string, source: PolicySource): Promise<ResolvedTarget> {
  const fail = (message: string, hint: string): never => {
    throw new PolicyError([{
      file: source.file,
      ...source.locate(["target", "exe"]),
      path: "target.exe",
      message,
      hint,
    }]);
  };
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(exe);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return fail(
        `${exe} does not exist`,
        "install the program or fix the path (try: command -v NAME)",
      );
    }
    if (e instanceof Deno.errors.PermissionDenied) {
      return fail(
        `${exe} cannot be read by this user`,
        "compile as a user that can read the program",
      );
    }
    throw e;
  }
  if (!info.isFile) return fail(`${exe} is not a regular file`, "name the executable itself");
  if (((info.mode ?? 0) & 0o111) === 0) {
    return fail(`${exe} is not executable (mode ${(info.mode ?? 0).toString(8)})`, "chmod +x it");
  }
  return { exe, sha256: await sha256Hex(await Deno.readFile(exe)) };
}
