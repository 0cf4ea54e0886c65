/**
 * Reading what `explain`, `diff` and `verify` compare: a policy (compiled, unsigned) or a
 * signed plan.
 *
 * @module
 */
import { readPlan } from "../audit/verify_plan.ts";
import { buildStatement } from "../compiler/compile.ts";
import { seccompPolicyOf } from "../compiler/lower_seccomp.ts";
import type { LinuxLaunchPlan } from "../compiler/plan.ts";
import { compileSeccomp } from "../compiler/seccomp/mod.ts";
import type { TrustedKey } from "../crypto/keys.ts";
import type { ProvenanceMap } from "../policy/merge.ts";
import { loadPolicy } from "../policy/load.ts";
import { FILE_SIZE_LIMIT, FileReadError, readRegularFile } from "../policy/read_file.ts";
import type { Removal } from "../policy/remove.ts";
import { UsageError } from "./args.ts";
import { inputFileError, readInputFile } from "./input_file.ts";

/** A plan body, with the policy provenance when it was compiled from a policy here. */
export interface PlanInput {
  /** The plan body. */
  plan: LinuxLaunchPlan;
  /** Where each policy value came from; absent for a signed plan. */
  provenance?: ProvenanceMap;
  /** What the policy's `remove` keys took away; absent for a signed plan. */
  removals?: Removal[];
  /** Syscall names the policy uses (directly or through groups) that this arch lacks. */
  absentSyscalls?: string[];
}

/**
 * Reads a plan file (`.json`, verified when keys are given) or compiles a policy. A path
 * that is no file but reads `REV:PATH` (`main:policies/app.yaml`) is read from that git
 * revision with `git show`, and so is every file it extends by a relative path.
 *
 * @example
 * ```ts ignore
 * import { readPlanInput } from "./plan_input.ts";
 * const { plan, provenance } = await readPlanInput("examples/hello.yaml");
 * ```
 */
export async function readPlanInput(path: string, trusted?: TrustedKey[]): Promise<PlanInput> {
  const revision = await gitRevisionOf(path);
  // Files on disk go through the defensive reader (a FIFO or /dev/zero in `extends` is
  // refused, not read), as `check` and `compile` read them.
  const readFile = revision ? gitReader(revision) : readRegularFile;
  if (path.endsWith(".json")) {
    const bytes = revision
      ? await readFile(path).catch((e) => Promise.reject(inputFileError(path, e)))
      : readInputFile(path);
    return { plan: (await readPlan(bytes, trusted)).statement.predicate };
  }
  if (revision && path.endsWith(".ts")) {
    throw new UsageError(`${path}: TypeScript policies cannot be read from a git revision`);
  }
  const loaded = await loadPolicy(path, { readFile });
  const statement = await buildStatement(loaded, { compiledOn: new Date(0) });
  const { absent } = compileSeccomp(seccompPolicyOf(loaded), statement.predicate.arch);
  return {
    plan: statement.predicate,
    provenance: loaded.provenance,
    removals: loaded.removals,
    absentSyscalls: absent,
  };
}

/** The revision of a `REV:PATH` argument that names no file, or undefined. */
async function gitRevisionOf(path: string): Promise<string | undefined> {
  const match = /^([^:/][^:]*):([^:]+)$/.exec(path);
  if (!match) return undefined;
  try {
    await Deno.lstat(path);
    return undefined; // a file with a colon in its name
  } catch {
    return match[1];
  }
}

/**
 * Reads files of a git revision: `REV:PATH` and paths relative to the repository root
 * (what `extends` resolves to) through `git show`, at most {@linkcode FILE_SIZE_LIMIT}
 * bytes as on disk (a huge committed file is refused, not read whole); absolute paths
 * from the disk.
 */
function gitReader(revision: string): (path: string) => Promise<Uint8Array> {
  return async (path) => {
    if (path.startsWith("/")) return await readRegularFile(path);
    const file = path.startsWith(`${revision}:`) ? path.slice(revision.length + 1) : path;
    const git = new Deno.Command("git", {
      args: ["show", `${revision}:${file}`],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of git.stdout) {
      size += chunk.length;
      if (size > FILE_SIZE_LIMIT) {
        git.kill();
        await git.status;
        throw new FileReadError(
          `it is larger than ${FILE_SIZE_LIMIT / (1024 * 1024)} MiB, the limit for this file`,
        );
      }
      chunks.push(chunk);
    }
    // Quoted as Deno quotes a path, so that the command's sentence names it.
    if (!(await git.status).success) throw new Deno.errors.NotFound(`git show '${path}'`);
    const bytes = new Uint8Array(size);
    chunks.reduce((at, chunk) => (bytes.set(chunk, at), at + chunk.length), 0);
    return bytes;
  };
}
