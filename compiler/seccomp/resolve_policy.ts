/**
 * The seccomp section of a policy (`syscalls:`), and its resolution for one architecture
 * into a decision per syscall: names and groups resolved, constants and actions encoded,
 * argument conditions normalised to the argument's width, contradictions refused.
 *
 * Semantics:
 * - a syscall in `deny` gets `deny_action`; otherwise one in `allow` is allowed; any other
 *   syscall gets `default`. Deny beats allow.
 * - `rules` for a syscall are checked in order, the first whose conditions all hold decides;
 *   when none holds, the syscall's allow/deny/default action applies.
 * - `deny_action` defaults to `default` when that is neither `allow` nor `log`, else to
 *   `{ errno: EPERM }`.
 * - clone3 passes its flags in memory, where a filter cannot read them; unless the
 *   `clone3: "policy"` option is given it fails with ENOSYS, so libc falls back to clone,
 *   whose flags rules can check.
 *
 * @module
 */
import {
  encodeAction,
  ENOSYS,
  isPermissive,
  retErrno,
  SECCOMP_RET_ALLOW,
  type SeccompAction,
} from "./actions.ts";
import { type SeccompArch, syscallNumber, syscallTable } from "./arch.ts";
import { type ArgWidth, argWidth } from "./arg_widths.ts";
import { resolveValue } from "./constants.ts";
import { SeccompCompileError } from "./errors.ts";
import { checkSyscallName, resolveSyscallNames } from "./groups.ts";
import { closest } from "../../policy/suggest.ts";

/** Comparison operators of argument conditions (unsigned, on the argument's width). */
export type ArgOp = "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "masked_eq";

/** Every {@link ArgOp}. */
export const ARG_OPS: readonly ArgOp[] = ["eq", "ne", "lt", "le", "gt", "ge", "masked_eq"];

/** One condition on a syscall argument, as written in a policy. */
export interface ArgCondition {
  /** Argument index, 0–5. */
  arg: number;
  /** How to compare. `masked_eq` tests `(arg & mask) == value`. */
  op: ArgOp;
  /** A number, bigint, or constant names / integer literals joined by `|`. */
  value: number | bigint | string;
  /** The mask of `masked_eq` (same forms as `value`). */
  mask?: number | bigint | string;
}

/** An argument rule: when all `args` conditions hold, `action` applies. */
export interface SeccompRule {
  /** The syscall name. */
  syscall: string;
  /** Conditions, all of which must hold (none: the rule always applies). */
  args?: ArgCondition[];
  /** What happens when the conditions hold. */
  action: SeccompAction;
}

/** The `syscalls:` section of a policy. */
export interface SeccompPolicy {
  /** What happens to syscalls that are neither allowed nor denied. */
  default: SeccompAction;
  /** Syscall and `@group` names that are allowed. */
  allow?: string[];
  /** Syscall and `@group` names that are denied; deny beats allow. */
  deny?: string[];
  /** What happens to denied syscalls (see the module documentation for the default). */
  deny_action?: SeccompAction;
  /** Argument rules, checked in order per syscall before its allow/deny/default action. */
  rules?: SeccompRule[];
}

/** Compiler options that are not part of the policy. */
export interface CompileSeccompOptions {
  /**
   * `"enosys"` (default): clone3 fails with ENOSYS so libc falls back to clone, whose flags
   * a filter can inspect; use it whenever namespace creation by the sandboxed program is
   * not allowed. `"policy"`: clone3 is treated like any other syscall.
   */
  clone3?: "enosys" | "policy";
}

/** A condition normalised for code generation. */
export interface ResolvedCondition {
  /** Argument index, 0–5. */
  arg: number;
  /** 32: compare the low word only; 64: compare both words. */
  width: ArgWidth;
  /** The comparison. */
  op: ArgOp;
  /** The operand, unsigned, below 2^width. */
  value: bigint;
  /** The mask (all ones of the width unless `masked_eq`). */
  mask: bigint;
}

/** A rule normalised for code generation. */
export interface ResolvedRule {
  /** Conditions, all of which must hold. */
  conditions: ResolvedCondition[];
  /** The filter return value when they hold. */
  ret: number;
  /** Index of the rule in the policy's `rules`. */
  index: number;
}

/** Why a syscall gets its base action. */
export type DecisionReason = "allow" | "deny" | "default" | "clone3";

/** What the filter does with one syscall. */
export interface SyscallDecision {
  /** The syscall name. */
  name: string;
  /** Its number on the architecture. */
  nr: number;
  /** The return value when no rule applies. */
  ret: number;
  /** Why it gets that return value. */
  reason: DecisionReason;
  /** Argument rules, in order. */
  rules: ResolvedRule[];
}

/** A policy resolved for one architecture. */
export interface ResolvedPolicy {
  /** The architecture. */
  arch: SeccompArch;
  /** Return value of `default`. */
  defaultRet: number;
  /** Return value of `deny_action`. */
  denyRet: number;
  /** One decision per syscall of the architecture, in number order. */
  decisions: SyscallDecision[];
  /** Names in the policy (directly or via groups) that this architecture does not have. */
  absent: string[];
}

const EPERM = 1;

/**
 * Resolves a policy for an architecture, refusing unknown names, malformed conditions and
 * contradictions with a {@link SeccompCompileError} that carries the key path and a hint.
 *
 * @example
 * ```ts
 * import { resolvePolicy } from "./resolve_policy.ts";
 * const r = resolvePolicy({ default: { errno: "EPERM" }, allow: ["read"] }, "x86_64");
 * console.log(r.decisions.find((d) => d.name === "read")?.reason); // "allow"
 * ```
 */
export function resolvePolicy(
  policy: SeccompPolicy,
  arch: SeccompArch,
  options: CompileSeccompOptions = {},
): ResolvedPolicy {
  if (typeof policy !== "object" || policy === null) {
    throw new SeccompCompileError("The syscalls section is not an object");
  }
  checkKeys(policy, ["default", "allow", "deny", "deny_action", "rules"], "");
  if (policy.default === undefined) {
    throw new SeccompCompileError("The syscalls section has no default action", {
      path: "default",
      hint: "add default: { errno: EPERM } (or allow, kill_process, ...)",
    });
  }
  const clone3 = options.clone3 ?? "enosys";
  if (clone3 !== "enosys" && clone3 !== "policy") {
    throw new SeccompCompileError(`Unknown clone3 option ${JSON.stringify(clone3)}`, {
      hint: 'use "enosys" or "policy"',
    });
  }
  const defaultRet = encodeAction(policy.default, "default");
  const denyRet = policy.deny_action !== undefined
    ? encodeAction(policy.deny_action, "deny_action")
    : isPermissive(defaultRet)
    ? retErrno(EPERM)
    : defaultRet;
  if (isPermissive(denyRet)) {
    throw new SeccompCompileError("deny_action lets denied syscalls run", {
      path: "deny_action",
      hint: "use an errno, trap, kill or kill_process",
    });
  }
  const allow = resolveSyscallNames(nameList(policy.allow, "allow"), arch, "allow");
  const deny = resolveSyscallNames(nameList(policy.deny, "deny"), arch, "deny");
  const absent = new Set([...allow.absent, ...deny.absent]);
  const allowed = new Set(allow.syscalls);
  const denied = new Set(deny.syscalls);

  const decisions = new Map<string, SyscallDecision>();
  for (const [name, nr] of syscallTable(arch)) {
    const [ret, reason]: [number, DecisionReason] = clone3 === "enosys" && name === "clone3"
      ? [retErrno(ENOSYS), "clone3"]
      : denied.has(name)
      ? [denyRet, "deny"]
      : allowed.has(name)
      ? [SECCOMP_RET_ALLOW, "allow"]
      : [defaultRet, "default"];
    decisions.set(name, { name, nr, ret, reason, rules: [] });
  }

  const rules = policy.rules ?? [];
  if (!Array.isArray(rules)) {
    throw new SeccompCompileError("rules is not a list", { path: "rules" });
  }
  rules.forEach((rule, index) => {
    const path = `rules[${index}]`;
    const resolved = resolveRule(rule, index, arch, path);
    if (resolved === undefined) {
      absent.add(rule.syscall);
      return;
    }
    const decision = decisions.get(rule.syscall)!;
    if (decision.reason === "clone3") {
      throw new SeccompCompileError("clone3 rules cannot see its flags", {
        path: `${path}.syscall`,
        hint: 'clone3 fails with ENOSYS unless compiled with the clone3: "policy" option ' +
          "(syscalls.unsafe_allow: [clone3] in a policy); write rules for clone instead",
      });
    }
    if (decision.reason === "deny" && isPermissive(resolved.ret)) {
      throw new SeccompCompileError(`${rule.syscall} is denied, but this rule lets it run`, {
        path: `${path}.action`,
        hint: `remove ${rule.syscall} from deny (or the group that denies it), or drop the rule`,
      });
    }
    decision.rules.push(resolved);
  });

  return {
    arch,
    defaultRet,
    denyRet,
    decisions: [...decisions.values()].sort((a, b) => a.nr - b.nr),
    absent: [...absent].sort(),
  };
}

function nameList(value: unknown, path: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new SeccompCompileError(`${path} is not a list of syscall or group names`, { path });
  }
  return value;
}

function checkKeys(object: object, keys: string[], path: string) {
  for (const key of Object.keys(object)) {
    if (!keys.includes(key)) {
      const hint = closest(key, keys);
      throw new SeccompCompileError(`Unknown key "${key}"`, {
        path: path === "" ? key : `${path}.${key}`,
        hint: hint ? `did you mean "${hint}"?` : `keys are ${keys.join(", ")}`,
      });
    }
  }
}

function resolveRule(
  rule: SeccompRule,
  index: number,
  arch: SeccompArch,
  path: string,
): ResolvedRule | undefined {
  if (typeof rule !== "object" || rule === null) {
    throw new SeccompCompileError("A rule is not an object", { path });
  }
  checkKeys(rule, ["syscall", "args", "action"], path);
  if (typeof rule.syscall !== "string") {
    throw new SeccompCompileError("The rule names no syscall", { path: `${path}.syscall` });
  }
  if (rule.syscall.startsWith("@")) {
    throw new SeccompCompileError("A rule applies to one syscall, not a group", {
      path: `${path}.syscall`,
      hint: "write one rule per syscall",
    });
  }
  // Validates the name (did-you-mean for typos) even when this architecture lacks it.
  checkSyscallName(rule.syscall, `${path}.syscall`);
  if (rule.action === undefined) {
    throw new SeccompCompileError("The rule has no action", { path: `${path}.action` });
  }
  const ret = encodeAction(rule.action, `${path}.action`);
  const args = rule.args ?? [];
  if (!Array.isArray(args)) {
    throw new SeccompCompileError("args is not a list", { path: `${path}.args` });
  }
  const conditions = args.map((c, i) =>
    resolveCondition(c, rule.syscall, arch, `${path}.args[${i}]`)
  );
  if (syscallNumber(arch, rule.syscall) === undefined) return undefined;
  return { conditions, ret, index };
}

function resolveCondition(
  condition: ArgCondition,
  syscall: string,
  arch: SeccompArch,
  path: string,
): ResolvedCondition {
  if (typeof condition !== "object" || condition === null) {
    throw new SeccompCompileError("An argument condition is not an object", { path });
  }
  checkKeys(condition, ["arg", "op", "value", "mask"], path);
  const { arg, op } = condition;
  if (!Number.isInteger(arg) || arg < 0 || arg > 5) {
    throw new SeccompCompileError(`Argument index ${JSON.stringify(arg)} is not 0 to 5`, {
      path: `${path}.arg`,
    });
  }
  if (!ARG_OPS.includes(op)) {
    const hint = typeof op === "string" ? closest(op, ARG_OPS) : undefined;
    throw new SeccompCompileError(`Unknown comparison ${JSON.stringify(op)}`, {
      path: `${path}.op`,
      hint: hint ? `did you mean "${hint}"?` : `use one of ${ARG_OPS.join(", ")}`,
    });
  }
  if (condition.value === undefined) {
    throw new SeccompCompileError("The condition has no value", { path: `${path}.value` });
  }
  const width = argWidth(syscall, arg);
  const value = fit(resolveValue(condition.value, arch, `${path}.value`), width, `${path}.value`);
  const all = (1n << BigInt(width)) - 1n;
  if (op !== "masked_eq") {
    if (condition.mask !== undefined) {
      throw new SeccompCompileError(`A mask only goes with masked_eq, not ${op}`, {
        path: `${path}.mask`,
      });
    }
    return { arg, width, op, value, mask: all };
  }
  if (condition.mask === undefined) {
    throw new SeccompCompileError("masked_eq needs a mask", { path: `${path}.mask` });
  }
  const mask = fit(resolveValue(condition.mask, arch, `${path}.mask`), width, `${path}.mask`);
  if ((value & ~mask) !== 0n) {
    throw new SeccompCompileError(
      `masked_eq can never hold: value 0x${value.toString(16)} has bits outside mask ` +
        `0x${mask.toString(16)}`,
      { path: `${path}.value` },
    );
  }
  return { arg, width, op, value, mask };
}

/** Checks that a value fits a width (as signed or unsigned) and returns it unsigned. */
function fit(value: bigint, width: ArgWidth, path: string): bigint {
  const bits = BigInt(width);
  const min = -(1n << (bits - 1n));
  const max = (1n << bits) - 1n;
  if (value < min || value > max) {
    throw new SeccompCompileError(
      `Value ${value} does not fit this ${width}-bit argument`,
      {
        path,
        hint: width === 32
          ? "the kernel reads only the low 32 bits of this argument"
          : "arguments are 64-bit",
      },
    );
  }
  return BigInt.asUintN(width, value);
}
