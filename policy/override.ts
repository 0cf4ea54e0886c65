/**
 * `enforce: off` across `extends` layers: a later file that switches a mechanism off
 * drops every rule an earlier file made with it (its deny list, its paths). That is an
 * error unless the later file says `override: true`, and then those rules are gone from
 * the merged policy (so `explain` and `diff` show them dropped).
 *
 * @module
 */
import type { Diagnostic } from "./diagnostic.ts";
import type { PolicyLayer } from "./validate.ts";
import type { PolicySource } from "./yaml_source.ts";

type Mechanism = keyof NonNullable<PolicyLayer["enforce"]>;

/** The keys whose rules each mechanism enforces. */
const RULE_KEYS: Record<Mechanism, (keyof PolicyLayer)[]> = {
  landlock: ["filesystem", "network", "scope"],
  seccomp: ["syscalls"],
  namespaces: ["user", "namespaces", "hostname"],
  cgroup: ["cgroup"],
};

/**
 * The merged policy so far without the rules of each mechanism `layer` switches off with
 * `override: true`.
 *
 * @example
 * ```ts
 * import { dropOverridden } from "./override.ts";
 * const merged = { syscalls: { deny: ["ptrace"] } };
 * const layer = { version: 1 as const, name: "a", override: true, enforce: { seccomp: "off" as const } };
 * console.log(dropOverridden(merged, layer)); // {}
 * ```
 */
export function dropOverridden(
  merged: Record<string, unknown>,
  layer: PolicyLayer,
): Record<string, unknown> {
  if (!layer.override) return merged;
  const out = { ...merged };
  for (const [mechanism, keys] of Object.entries(RULE_KEYS) as [Mechanism, string[]][]) {
    if (layer.enforce?.[mechanism] === "off") keys.forEach((k) => delete out[k]);
  }
  return out;
}

/**
 * Finds layers, in merge order, that switch off a mechanism an earlier layer has rules
 * for, without `override: true`.
 *
 * @example
 * ```ts
 * import { checkOverrides } from "./override.ts";
 * const source = (file: string) => ({ file, value: {}, locate: () => ({ line: 1, col: 1 }) });
 * const layers = [
 *   { source: source("base.yaml"), layer: { version: 1 as const, name: "b", syscalls: { deny: ["ptrace"] } } },
 *   { source: source("app.yaml"), layer: { version: 1 as const, name: "a", enforce: { seccomp: "off" as const } } },
 * ];
 * console.log(checkOverrides(layers)[0].message); // "switching seccomp off drops the syscalls rules of base.yaml"
 * ```
 */
export function checkOverrides(
  layers: { source: PolicySource; layer: PolicyLayer }[],
): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const ruledBy = new Map<Mechanism, { file: string; key: string }>();
  for (const { source, layer } of layers) {
    for (const [mechanism, keys] of Object.entries(RULE_KEYS) as [Mechanism, string[]][]) {
      const earlier = ruledBy.get(mechanism);
      if (layer.enforce?.[mechanism] === "off" && earlier && !layer.override) {
        problems.push({
          file: source.file,
          ...source.locate(["enforce", mechanism]),
          path: `enforce.${mechanism}`,
          message: `switching ${mechanism} off drops the ${earlier.key} rules of ${earlier.file}`,
          hint: "remove it, or add override: true to this file if dropping them is intended",
        });
      }
      const key = keys.find((k) => layer[k as keyof PolicyLayer] !== undefined);
      if (key && !ruledBy.has(mechanism)) ruledBy.set(mechanism, { file: source.file, key });
    }
  }
  return problems;
}
