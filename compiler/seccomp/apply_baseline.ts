/**
 * Combining a policy's `syscalls:` with the baseline so that the baseline's denials win:
 * baseline syscalls the policy would let run join its `deny` list, and the baseline's
 * deny-only argument rules go before the policy's own rules of the same syscall. Only
 * `syscalls.unsafe_allow` takes a syscall out of the baseline.
 *
 * @module
 */
import { encodeAction, isPermissive } from "./actions.ts";
import { type SeccompArch, syscallNumber } from "./arch.ts";
import { resolveValue } from "./constants.ts";
import { BASELINE, type SeccompBaseline } from "./baseline.ts";
import { SeccompCompileError } from "./errors.ts";
import { expandGroup, resolveSyscallNames } from "./groups.ts";
import {
  type CompileSeccompOptions,
  resolvePolicy,
  type SeccompPolicy,
  type SeccompRule,
} from "./resolve_policy.ts";
import { closest } from "../../policy/suggest.ts";

/** What goes into the baseline beyond {@link BASELINE}. */
export interface BaselineOptions {
  /** Baseline syscalls the policy re-enables (`syscalls.unsafe_allow`). */
  unsafeAllow?: readonly string[];
  /** More deny-only rules that stay whatever the policy allows (the network protocol rules). */
  rules?: readonly SeccompRule[];
  /** The baseline (default {@link BASELINE}). */
  baseline?: SeccompBaseline;
}

/** A policy with the baseline folded in, ready for `compileSeccomp`. */
export interface PolicyWithBaseline {
  /** The combined policy. */
  policy: SeccompPolicy;
  /** The compiler options it needs (clone3 stays ENOSYS unless unsafe_allow names it). */
  options: CompileSeccompOptions;
}

/**
 * The syscall names `syscalls.unsafe_allow` accepts: every syscall the baseline denies or
 * restricts by argument, on any architecture, and clone3.
 *
 * @example
 * ```ts
 * import { unsafeAllowNames } from "./apply_baseline.ts";
 * console.log(unsafeAllowNames().includes("ptrace")); // true
 * ```
 */
export function unsafeAllowNames(baseline: SeccompBaseline = BASELINE): string[] {
  const names = new Set<string>(["clone3"]);
  for (const name of baseline.deny) {
    for (const member of name.startsWith("@") ? expandGroup(name) : [name]) names.add(member);
  }
  for (const rule of baseline.rules) names.add(rule.syscall);
  return [...names].sort();
}

/**
 * Returns the name if `syscalls.unsafe_allow` accepts it (see {@link unsafeAllowNames});
 * otherwise throws a {@link SeccompCompileError} at `path` with a did-you-mean hint.
 *
 * @example
 * ```ts
 * import { checkUnsafeAllowName } from "./apply_baseline.ts";
 * console.log(checkUnsafeAllowName("kcmp", "unsafe_allow[0]")); // "kcmp"
 * ```
 */
export function checkUnsafeAllowName(
  name: string,
  path: string,
  baseline: SeccompBaseline = BASELINE,
): string {
  const accepted = unsafeAllowNames(baseline);
  if (accepted.includes(name)) return name;
  const hint = closest(name, accepted);
  throw new SeccompCompileError(`${JSON.stringify(name)} is not a baseline syscall`, {
    path,
    hint: hint
      ? `did you mean "${hint}"?`
      : "unsafe_allow names syscalls the baseline denies; allow the others under allow",
  });
}

/**
 * Folds the baseline into a policy; the syscalls of `unsafe_allow` are allowed (unless the
 * policy's own `deny` names them). Throws a {@link SeccompCompileError} whose path is
 * inside the policy's `syscalls:` when the policy names a baseline syscall in `allow` or
 * lets one run by a rule (naming it in `unsafe_allow` is the only way), or names something
 * else in `unsafe_allow`.
 *
 * @example
 * ```ts
 * import { applyBaseline } from "./apply_baseline.ts";
 * const { policy } = applyBaseline({ default: "allow" }, "x86_64");
 * console.log(policy.deny?.includes("ptrace")); // true
 * ```
 */
export function applyBaseline(
  policy: SeccompPolicy,
  arch: SeccompArch,
  options: BaselineOptions = {},
): PolicyWithBaseline {
  const baseline = options.baseline ?? BASELINE;
  const unsafe = new Set(
    (options.unsafeAllow ?? []).map((name, i) =>
      checkUnsafeAllowName(name, `unsafe_allow[${i}]`, baseline)
    ),
  );
  const compileOptions: CompileSeccompOptions = {
    clone3: unsafe.has("clone3") ? "policy" : "enosys",
  };
  const denied = new Set(
    resolveSyscallNames(baseline.deny, arch).syscalls.filter((name) => !unsafe.has(name)),
  );
  // Resolving first validates the policy's shape; it also tells which syscalls may run,
  // the only ones the baseline needs to cover.
  const resolved = resolvePolicy(policy, arch, compileOptions);
  const unsafeHint = (name: string) =>
    `the baseline denies ${name}; only syscalls.unsafe_allow: [${name}] lets it run`;
  // clone3 is the baseline's too (ENOSYS, see resolve_policy.ts), though not in its deny list.
  const refused = unsafe.has("clone3") ? denied : new Set([...denied, "clone3"]);
  policy.allow?.forEach((name, i) => {
    if (refused.has(name)) {
      throw new SeccompCompileError(`${name} stays denied: allow does not re-enable it`, {
        path: `allow[${i}]`,
        hint: unsafeHint(name),
      });
    }
  });
  policy.rules?.forEach((rule, i) => {
    if (denied.has(rule.syscall) && isPermissive(encodeAction(rule.action, `rules[${i}].action`))) {
      throw new SeccompCompileError(`${rule.syscall} stays denied: this rule cannot let it run`, {
        path: `rules[${i}].action`,
        hint: unsafeHint(rule.syscall),
      });
    }
  });
  const mayRun = new Set(
    resolved.decisions.filter((d) =>
      isPermissive(d.ret) || d.rules.some((r) => isPermissive(r.ret))
    )
      .map((d) => d.name),
  );
  const deny = [...denied].filter((name) => mayRun.has(name));
  const rules = [...baseline.rules.filter((r) => !unsafe.has(r.syscall)), ...options.rules ?? []]
    .filter((r) => mayRun.has(r.syscall));
  return {
    policy: {
      ...policy,
      ...(unsafe.size > 0 ? { allow: [...policy.allow ?? [], ...unsafe] } : {}),
      ...(deny.length > 0 ? { deny: [...policy.deny ?? [], ...deny] } : {}),
      ...(rules.length > 0 ? { rules: [...rules, ...policy.rules ?? []] } : {}),
    },
    options: compileOptions,
  };
}

/** A syscall with arguments that the baseline denies. */
export interface BaselineProbe {
  /** The syscall name. */
  syscall: string;
  /** Its six arguments. */
  args: bigint[];
}

/**
 * One call per baseline syscall that the baseline denies (for rule-restricted syscalls,
 * arguments that meet the rule), so that `explain` and `diff` can find, in a compiled
 * program, what `unsafe_allow` re-enabled.
 *
 * @example
 * ```ts
 * import { baselineProbes } from "./apply_baseline.ts";
 * const tiocsti = baselineProbes("x86_64").find((p) => p.syscall === "ioctl");
 * console.log(tiocsti?.args[1]); // 21522n
 * ```
 */
export function baselineProbes(arch: SeccompArch, baseline = BASELINE): BaselineProbe[] {
  const named = ["clone3", ...resolveSyscallNames(baseline.deny, arch).syscalls].map((syscall) => ({
    syscall,
    args: Array<bigint>(6).fill(0n),
  }));
  const ruled = baseline.rules.filter((r) => syscallNumber(arch, r.syscall) !== undefined).map(
    (rule) => {
      const args = Array<bigint>(6).fill(0n);
      for (const c of rule.args ?? []) {
        if (c.op === "eq" || c.op === "masked_eq") args[c.arg] = resolveValue(c.value, arch);
      }
      // `ne` conditions: the smallest value none of them names.
      const excluded = new Set(
        (rule.args ?? []).filter((c) => c.op === "ne").map((c) => resolveValue(c.value, arch)),
      );
      for (const c of rule.args ?? []) {
        if (c.op !== "ne") continue;
        let v = 0n;
        while (excluded.has(v)) v++;
        args[c.arg] = v;
      }
      return { syscall: rule.syscall, args };
    },
  );
  return [...named, ...ruled];
}
