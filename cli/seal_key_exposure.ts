/**
 * Could the child of a plan read the seal key? A child that can read it can forge the
 * seal, so `launch` refuses to seal with such a key (docs/decisions.md). Derived from the
 * plan the shim enforces: the child's host uid and capabilities, and its Landlock rules.
 *
 * @module
 */
import type { LinuxLaunchPlan } from "../compiler/plan.ts";

/** What the decision needs to know about the key and the host. */
export interface KeyFacts {
  /** The key file's path. */
  path: string;
  /** Its owner (the key is private: mode 0600, checked before). */
  owner: number;
  /** The launcher's effective uid. */
  launcherUid: number;
  /** The kernel's Landlock ABI (0: none); asked only for a best_effort ruleset. */
  landlockAbi: () => number;
}

/** Capabilities that read any file or the launcher's memory despite the key's mode. */
const READS_ANYTHING = [
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_SYS_PTRACE",
  "CAP_SYS_ADMIN",
];

/** Rights on a directory above the key that still give no way to its bytes. */
const HARMLESS_ABOVE = new Set(["read_dir", "execute"]);

function realPath(path: string): string | undefined {
  try {
    return Deno.realPathSync(path);
  } catch {
    return undefined;
  }
}

function covers(rule: string, key: string): boolean {
  return rule === "/" || key === rule || key.startsWith(`${rule}/`);
}

/**
 * Why the child of `plan` could read the key file (or the launcher's memory, which holds
 * the key during the launch), or undefined when it cannot. The child's host uid is the
 * launcher's (with or without a user namespace) unless `linux.scrub.ids.v1` switches it,
 * and never 0 without `linux.identity.host_root.v1` (the shim runs it as 65534 then).
 * A child that is not the key's owner, not uid 0 and keeps none of
 * {@link READS_ANYTHING} cannot read a 0600 file; otherwise only a Landlock ruleset that
 * handles `read_file` and grants nothing but `read_dir`/`execute` on the key's path and
 * the directories above it keeps it out (Landlock also forbids ptrace of the launcher).
 *
 * @example
 * ```ts ignore
 * import { sealKeyExposure } from "./seal_key_exposure.ts";
 * const why = sealKeyExposure(plan, { path, owner: 0, launcherUid: 0, landlockAbi: () => 7 });
 * if (why) throw new Error(why);
 * ```
 */
export function sealKeyExposure(plan: LinuxLaunchPlan, key: KeyFacts): string | undefined {
  const ids = plan.schedule.find((p) => p.id === "linux.scrub.ids.v1");
  const hostRoot = plan.schedule.some((p) => p.id === "linux.identity.host_root.v1");
  // The shim never lends host uid 0 without host_root: it runs the child as 65534 instead.
  const launcherUid = key.launcherUid === 0 && !hostRoot ? 65534 : key.launcherUid;
  const childUid = ids?.id === "linux.scrub.ids.v1" ? ids.uid : launcherUid;
  const caps = plan.schedule.find((p) => p.id === "linux.scrub.capabilities.v1");
  const kept = caps?.id === "linux.scrub.capabilities.v1"
    ? caps.keep.filter((c) => READS_ANYTHING.includes(c))
    : READS_ANYTHING;
  if (childUid !== key.owner && childUid !== 0 && kept.length === 0) return undefined;
  const who = childUid === key.owner
    ? `the child runs as uid ${childUid}, the key's owner`
    : childUid === 0
    ? "the child runs as uid 0"
    : `the child keeps ${kept.join(", ")}`;
  const landlock = plan.landlock;
  if (!landlock || !landlock.handledFs.includes("read_file")) {
    return `${who}, and the plan has no Landlock filesystem rules that would keep it out`;
  }
  if (landlock.enforce === "best_effort" && key.landlockAbi() < 1) {
    return `${who}, and this kernel has no Landlock to apply the plan's best_effort rules`;
  }
  const keyPath = realPath(key.path) ?? key.path;
  for (const rule of landlock.fs) {
    const rulePath = realPath(rule.path);
    if (rulePath === undefined || !covers(rulePath, keyPath)) continue;
    const opening = rule.access.filter((a) => !HARMLESS_ABOVE.has(a));
    if (opening.length > 0) {
      return `${who}, and the Landlock rule for ${rule.path} grants ${opening.join(", ")} on it`;
    }
  }
  return undefined;
}
