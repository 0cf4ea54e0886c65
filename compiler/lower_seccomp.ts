/**
 * Lowering `syscalls:` to the plan's `seccomp` section: compile the classic-BPF program
 * for the plan's architecture, and turn compiler errors into located policy diagnostics.
 *
 * @module
 */
import { sha256Hex, toBase64 } from "../crypto/digest.ts";
import { PolicyError } from "../policy/diagnostic.ts";
import type { LoadedPolicy } from "../policy/load.ts";
import { provenanceKey } from "../policy/merge.ts";
import { enforcementOf } from "./lower.ts";
import type { LinuxLaunchPlan, PlanEnforcement, SeccompPlan } from "./plan.ts";
import {
  BASELINE_DENY,
  compileSeccomp,
  SeccompCompileError,
  type SeccompPolicy,
  SeccompProgramTooLargeError,
} from "./seccomp/mod.ts";

/** The seccomp policy a plan enforces: the policy's own, else the baseline deny list. */
export function seccompPolicyOf(loaded: LoadedPolicy): SeccompPolicy {
  const s = loaded.policy.syscalls;
  if (!s) return BASELINE_DENY;
  return {
    default: s.default ?? { errno: "EPERM" },
    ...(s.allow ? { allow: s.allow } : {}),
    ...(s.deny ? { deny: s.deny } : {}),
    ...(s.deny_action ? { deny_action: s.deny_action } : {}),
    ...(s.rules ? { rules: s.rules } : {}),
  };
}

/** Locates a path inside `syscalls:` (as the seccomp compiler reports it) in the policy files. */
function locate(loaded: LoadedPolicy, path: string | undefined) {
  // The seccomp compiler writes paths like `rules[0].args[1].value`.
  const segments = (path ?? "").replace(/\[(\d+)\]/g, ".$1").split(".").filter((s) => s !== "")
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const full = ["syscalls", ...segments];
  // A list item (allow.3) may come from any layer: its provenance is keyed by value.
  const parent = full.slice(0, -1);
  const index = full.at(-1);
  const list = typeof index === "number"
    ? (parent.reduce<unknown>(
      (v, k) => (v as Record<string | number, unknown>)?.[k],
      loaded.policy,
    ) as unknown[] | undefined)
    : undefined;
  const item = list?.[index as number];
  const where =
    (item !== undefined ? loaded.provenance.get(provenanceKey(parent, item)) : undefined) ??
      loaded.provenance.get(provenanceKey(full)) ??
      { file: loaded.source.file, ...loaded.source.locate(full) };
  return { ...where, path: full.join(".") };
}

/**
 * Compiles the policy's seccomp filter into the plan section, or undefined when seccomp
 * is off. clone3 fails with ENOSYS (libc falls back to clone, whose flags the filter can
 * inspect) unless the policy names clone3 itself.
 *
 * @example
 * ```ts ignore
 * import { lowerSeccomp } from "./lower_seccomp.ts";
 * const seccomp = await lowerSeccomp(loaded, "x86_64");
 * console.log(seccomp?.instructions);
 * ```
 */
export async function lowerSeccomp(
  loaded: LoadedPolicy,
  arch: LinuxLaunchPlan["arch"],
): Promise<SeccompPlan | undefined> {
  const enforce = enforcementOf(loaded.policy, "seccomp");
  if (enforce === "off") return undefined;
  const policy = seccompPolicyOf(loaded);
  const namesClone3 = [
    ...policy.allow ?? [],
    ...policy.deny ?? [],
    ...(policy.rules ?? []).map((r) => r.syscall),
  ]
    .includes("clone3");
  let bytes: Uint8Array;
  let instructions: number;
  try {
    const compiled = compileSeccomp(policy, arch, { clone3: namesClone3 ? "policy" : "enosys" });
    bytes = compiled.bytes;
    instructions = compiled.instructionCount;
  } catch (e) {
    if (e instanceof SeccompCompileError) {
      throw new PolicyError([{
        ...locate(loaded, e.path),
        message: e.message,
        ...(e.hint ? { hint: e.hint } : {}),
      }]);
    }
    if (e instanceof SeccompProgramTooLargeError) {
      throw new PolicyError([{
        ...locate(loaded, undefined),
        message: e.message,
        hint: "use @groups and fewer argument rules",
      }]);
    }
    throw e;
  }
  return {
    enforce: enforce as PlanEnforcement,
    bpfB64: toBase64(bytes),
    sha256: await sha256Hex(bytes),
    instructions,
    flags: [],
  };
}
