/**
 * Resolving `target.inputs` at compile time: each must be a readable regular file; its
 * digest and, when it went through a symlink, its resolution go into the plan, and the
 * shim pins those bytes at launch like the exe's.
 *
 * @module
 */
import { sha256File } from "../crypto/digest.ts";
import { PolicyError } from "../policy/diagnostic.ts";
import type { PolicySource } from "../policy/yaml_source.ts";
import type { PlanInput } from "./plan.ts";
import { recordedResolution } from "./resolve_path.ts";

/**
 * Reads and hashes each input; problems are located at `target.inputs.N`.
 *
 * @example
 * ```ts ignore
 * import { resolveInputs } from "./inputs.ts";
 * const inputs = await resolveInputs(["/srv/app/wc.py"], source);
 * console.log(inputs[0].sha256);
 * ```
 */
export async function resolveInputs(paths: string[], source: PolicySource): Promise<PlanInput[]> {
  const inputs: PlanInput[] = [];
  for (const [index, path] of [...new Set(paths)].entries()) {
    const fail = (message: string, hint: string): never => {
      throw new PolicyError([{
        file: source.file,
        ...source.locate(["target", "inputs", String(index)]),
        path: `target.inputs.${index}`,
        message,
        hint,
      }]);
    };
    let sha256: string;
    try {
      if (!Deno.statSync(path).isFile) {
        fail(`${path} is not a regular file`, "name the file itself");
      }
      ({ sha256 } = await sha256File(path));
    } catch (e) {
      if (e instanceof PolicyError) throw e;
      if (e instanceof Deno.errors.NotFound) {
        return fail(`${path} does not exist`, "create the file or fix the path");
      }
      if (e instanceof Deno.errors.PermissionDenied) {
        return fail(`${path} cannot be read by this user`, "compile as a user that can read it");
      }
      throw e;
    }
    const resolved = recordedResolution(path);
    inputs.push({ path, sha256, ...(resolved ? { resolved } : {}) });
  }
  return inputs;
}
