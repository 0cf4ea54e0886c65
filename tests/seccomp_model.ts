/**
 * An independent model of what a seccomp policy means, evaluated directly on a
 * `seccomp_data` (no BPF), for checking compiled programs; and the argument edge values
 * the tests feed them. Its own check is tests/seccomp_model_test.ts.
 *
 * @module
 */
import {
  encodeAction,
  ENOSYS,
  isPermissive,
  retErrno,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_KILL_PROCESS,
} from "../compiler/seccomp/actions.ts";
import { auditArch, type SeccompArch, syscallName } from "../compiler/seccomp/arch.ts";
import { argWidth } from "../compiler/seccomp/arg_widths.ts";
import type { SeccompData } from "../compiler/seccomp/bpf_interpreter.ts";
import { resolveValue } from "../compiler/seccomp/constants.ts";
import { expandGroup } from "../compiler/seccomp/groups.ts";
import type {
  ArgCondition,
  CompileSeccompOptions,
  SeccompPolicy,
} from "../compiler/seccomp/resolve_policy.ts";

function names(list: string[] | undefined): Set<string> {
  return new Set((list ?? []).flatMap((n) => n.startsWith("@") ? expandGroup(n) : [n]));
}

function holds(c: ArgCondition, syscall: string, arch: SeccompArch, args: bigint[]): boolean {
  const width = argWidth(syscall, c.arg);
  const x = BigInt.asUintN(width, args[c.arg] ?? 0n);
  const v = BigInt.asUintN(width, resolveValue(c.value, arch));
  switch (c.op) {
    case "eq":
      return x === v;
    case "ne":
      return x !== v;
    case "lt":
      return x < v;
    case "le":
      return x <= v;
    case "gt":
      return x > v;
    case "ge":
      return x >= v;
    case "masked_eq":
      return (x & BigInt.asUintN(width, resolveValue(c.mask!, arch))) === v;
  }
}

/**
 * What the kernel should do with a syscall under a policy, per charter's semantics.
 */
export function expectedReturn(
  policy: SeccompPolicy,
  arch: SeccompArch,
  data: SeccompData,
  options: CompileSeccompOptions = {},
): number {
  if (data.arch >>> 0 !== auditArch(arch)) return SECCOMP_RET_KILL_PROCESS;
  const nr = data.nr >>> 0;
  if (arch === "x86_64" && nr >= 0x40000000 && nr !== 0xffffffff) return SECCOMP_RET_KILL_PROCESS;
  const name = syscallName(arch, nr);
  if (name === undefined) return retErrno(ENOSYS);
  if (name === "clone3" && (options.clone3 ?? "enosys") === "enosys") return retErrno(ENOSYS);
  const args = (data.args ?? []).map((a) => BigInt.asUintN(64, BigInt(a)));
  for (const rule of policy.rules ?? []) {
    if (rule.syscall !== name) continue;
    if ((rule.args ?? []).every((c) => holds(c, name, arch, args))) {
      return encodeAction(rule.action);
    }
  }
  const defaultRet = encodeAction(policy.default);
  if (names(policy.deny).has(name)) {
    if (policy.deny_action !== undefined) return encodeAction(policy.deny_action);
    return isPermissive(defaultRet) ? retErrno(1) : defaultRet;
  }
  if (names(policy.allow).has(name)) return SECCOMP_RET_ALLOW;
  return defaultRet;
}

const EDGES = [
  0n,
  1n,
  2n,
  1n << 31n,
  (1n << 32n) - 1n,
  1n << 32n,
  (1n << 32n) + 1n,
  1n << 63n,
  (1n << 64n) - 1n,
  0xffffffff80000000n, // INT_MIN sign-extended
];

/**
 * Edge values for one argument under some conditions: the fixed edges, plus each condition
 * value and its neighbours, with garbage in the upper half, and sign-extended.
 */
export function edgeValues(conditions: ArgCondition[], arch: SeccompArch): bigint[] {
  const values = new Set(EDGES);
  for (const c of conditions) {
    const v = BigInt.asUintN(64, resolveValue(c.value, arch));
    for (const x of [v, v + 1n, v - 1n, v | (1n << 32n), v | (0xdeadn << 40n)]) {
      values.add(BigInt.asUintN(64, x));
      values.add(BigInt.asUintN(64, BigInt.asIntN(32, x))); // as an int, sign-extended
    }
    if (c.mask !== undefined) {
      const m = BigInt.asUintN(64, resolveValue(c.mask, arch));
      values.add(m);
      values.add(m | v);
      values.add(~m & ((1n << 64n) - 1n));
    }
  }
  return [...values];
}

/**
 * Argument vectors for a syscall's rules: the cartesian product of the edge values of each
 * argument the rules mention (others 0).
 */
export function argVectors(conditions: ArgCondition[], arch: SeccompArch): bigint[][] {
  const used = [...new Set(conditions.map((c) => c.arg))].sort();
  let vectors: bigint[][] = [[0n, 0n, 0n, 0n, 0n, 0n]];
  for (const arg of used) {
    const values = edgeValues(conditions.filter((c) => c.arg === arg), arch);
    vectors = vectors.flatMap((v) =>
      values.map((x) => {
        const copy = [...v];
        copy[arg] = x;
        return copy;
      })
    );
  }
  return vectors;
}

/** Syscall numbers to probe: 0–1023, the x32 range, -1. */
export function probeNumbers(): number[] {
  const numbers = Array.from({ length: 1024 }, (_, i) => i);
  numbers.push(
    0x3fffffff,
    0x40000000,
    0x40000001,
    0x4000000d,
    0x40000200,
    0x7fffffff,
    0x80000000,
    0xfffffffe,
    0xffffffff,
  );
  return numbers;
}
