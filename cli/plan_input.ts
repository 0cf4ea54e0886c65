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

/** A plan body, with the policy provenance when it was compiled from a policy here. */
export interface PlanInput {
  /** The plan body. */
  plan: LinuxLaunchPlan;
  /** Where each policy value came from; absent for a signed plan. */
  provenance?: ProvenanceMap;
  /** Syscall names the policy uses (directly or through groups) that this arch lacks. */
  absentSyscalls?: string[];
}

/**
 * Reads a plan file (`.json`, verified when keys are given) or compiles a policy.
 *
 * @example
 * ```ts ignore
 * import { readPlanInput } from "./plan_input.ts";
 * const { plan, provenance } = await readPlanInput("examples/hello.yaml");
 * ```
 */
export async function readPlanInput(path: string, trusted?: TrustedKey[]): Promise<PlanInput> {
  if (path.endsWith(".json")) {
    return { plan: (await readPlan(await Deno.readFile(path), trusted)).statement.predicate };
  }
  const loaded = await loadPolicy(path);
  const statement = await buildStatement(loaded, { compiledOn: new Date(0) });
  const { absent } = compileSeccomp(seccompPolicyOf(loaded), statement.predicate.arch);
  return { plan: statement.predicate, provenance: loaded.provenance, absentSyscalls: absent };
}
