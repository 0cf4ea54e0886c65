/**
 * Code generation for seccomp filters: the syscall-number ranges, the search tree over
 * them, and the argument checks in its leaves.
 *
 * Program layout:
 * ```
 *   ld  arch ; jeq AUDIT_ARCH_* else ret KILL_PROCESS
 *   ld  nr
 *   a search tree of jge over contiguous number ranges with the same outcome
 *   leaves: a pooled ret, or (for syscalls with rules) argument checks then rets
 * ```
 * The tree covers all 2^32 values of `nr`: numbers not in the syscall table return
 * ERRNO(ENOSYS), and on x86_64 the numbers with the x32 bit set (0x40000000–0xfffffffe)
 * return KILL_PROCESS, except 0xffffffff (-1, which the kernel treats as "no syscall"
 * and ptracers use to skip one), which returns ENOSYS like any other unknown number.
 * Arguments and the instruction pointer are loaded only inside leaves, so syscalls whose
 * leaf is a plain ret stay in the kernel's constant-action cache.
 *
 * The tree minimises the worst-case number of instructions executed (its depth plus the
 * leaf's own longest path), then their sum; with plain-ret leaves that is a balanced
 * binary search.
 *
 * @module
 */
import { ENOSYS, retErrno, SECCOMP_RET_KILL_PROCESS } from "./actions.ts";
import {
  argOffset,
  auditArch,
  maxSyscallNumber,
  SECCOMP_DATA_ARCH,
  SECCOMP_DATA_NR,
  X32_SYSCALL_BIT,
} from "./arch.ts";
import { Assembly, type JumpCond, type Label } from "./assemble.ts";
import type { SockFilter } from "./bpf.ts";
import type {
  ResolvedCondition,
  ResolvedPolicy,
  ResolvedRule,
  SyscallDecision,
} from "./resolve_policy.ts";

/** A contiguous range of syscall numbers with one outcome: a leaf of the search tree. */
export interface DispatchRange {
  /** First number (inclusive). */
  first: number;
  /** Last number (inclusive, at most 0xffffffff). */
  last: number;
  /** The return value when no rule applies (the only one for rule-less ranges). */
  ret: number;
  /** Argument rules (only on single-syscall ranges). */
  rules: ResolvedRule[];
  /** The syscall, for single-syscall ranges with rules. */
  syscall?: string;
}

/** The search tree over the ranges. */
export type SearchTree =
  | { kind: "leaf"; range: DispatchRange }
  | { kind: "node"; k: number; below: SearchTree; atOrAbove: SearchTree };

/** The generated program and facts about its shape. */
export interface GeneratedProgram {
  /** The instructions. */
  program: SockFilter[];
  /** The leaves of the search, in number order. */
  ranges: DispatchRange[];
  /** The search tree. */
  tree: SearchTree;
  /** The most `jge` comparisons on any path through the tree. */
  treeDepth: number;
}

const U32_MAX = 0xffffffff;

/**
 * Turns per-syscall decisions into the contiguous ranges that cover every 32-bit `nr`.
 *
 * @example
 * ```ts
 * import { buildRanges } from "./codegen.ts";
 * import { resolvePolicy } from "./resolve_policy.ts";
 * const ranges = buildRanges(resolvePolicy({ default: "allow" }, "aarch64"));
 * console.log(ranges.length > 1); // true: holes in the table return ENOSYS
 * ```
 */
export function buildRanges(policy: ResolvedPolicy): DispatchRange[] {
  const enosys = retErrno(ENOSYS);
  const byNumber = new Map<number, SyscallDecision>(policy.decisions.map((d) => [d.nr, d]));
  const ranges: DispatchRange[] = [];
  const add = (first: number, last: number, ret: number, decision?: SyscallDecision) => {
    const prev = ranges.at(-1);
    if (decision && decision.rules.length > 0) {
      ranges.push({ first, last, ret, rules: decision.rules, syscall: decision.name });
    } else if (prev && prev.rules.length === 0 && prev.ret === ret && prev.last + 1 === first) {
      prev.last = last;
    } else {
      ranges.push({ first, last, ret, rules: [] });
    }
  };
  const max = maxSyscallNumber(policy.arch);
  for (let nr = 0; nr <= max; nr++) {
    const decision = byNumber.get(nr);
    add(nr, nr, decision ? decision.ret : enosys, decision);
  }
  if (policy.arch === "x86_64") {
    add(max + 1, X32_SYSCALL_BIT - 1, enosys);
    add(X32_SYSCALL_BIT, U32_MAX - 1, SECCOMP_RET_KILL_PROCESS);
    add(U32_MAX, U32_MAX, enosys);
  } else {
    add(max + 1, U32_MAX, enosys);
  }
  return ranges;
}

/**
 * Generates the whole filter program for a resolved policy.
 *
 * @example
 * ```ts
 * import { generateProgram } from "./codegen.ts";
 * import { resolvePolicy } from "./resolve_policy.ts";
 * const { program } = generateProgram(resolvePolicy({ default: "allow" }, "x86_64"));
 * console.log(program[0]); // { code: 32, jt: 0, jf: 0, k: 4 } (ld arch)
 * ```
 */
export function generateProgram(policy: ResolvedPolicy): GeneratedProgram {
  const ranges = buildRanges(policy);
  const asm = new Assembly();
  const costs = ranges.map((r) => leafCost(r));
  const tree = buildTree(ranges, costs);

  asm.emit({ op: "ld", offset: SECCOMP_DATA_ARCH });
  const loadNr = asm.label();
  asm.emit({
    op: "jmp",
    cond: "jeq",
    k: auditArch(policy.arch),
    jt: loadNr,
    jf: asm.retLabel(SECCOMP_RET_KILL_PROCESS),
  });
  asm.bind(loadNr);
  asm.emit({ op: "ld", offset: SECCOMP_DATA_NR });
  emitTree(asm, tree);
  return { program: asm.assemble(), ranges, tree, treeDepth: depth(tree) };
}

function depth(tree: SearchTree): number {
  return tree.kind === "leaf" ? 0 : 1 + Math.max(depth(tree.below), depth(tree.atOrAbove));
}

/** Instructions executed in a leaf on its longest path (a plain ret: 1). */
function leafCost(range: DispatchRange): number {
  if (range.rules.length === 0) return 1;
  const asm = new Assembly();
  const entry = emitRules(asm, range);
  const items = [...asm.items];
  // Longest path in the DAG of items from the entry label to any ret.
  const position = new Map<Label, number>();
  let n = 0;
  const code: typeof items = [];
  for (const item of items) {
    if (item.op === "label") position.set(item.label, n);
    else {
      code.push(item);
      n++;
    }
  }
  const longest = new Array<number>(code.length + 1).fill(0);
  const at = (label: Label) =>
    asm.retValue(label) !== undefined ? 1 : longest[position.get(label)!];
  for (let i = code.length - 1; i >= 0; i--) {
    const item = code[i];
    longest[i] = item.op === "jmp"
      ? 1 + Math.max(at(item.jt), at(item.jf))
      : item.op === "ja"
      ? 1 + at(item.target)
      : item.op === "ret"
      ? 1
      : 1 + longest[i + 1];
  }
  return at(entry);
}

interface Cost {
  worst: number;
  total: number;
  split: number;
}

/**
 * Builds the search tree that minimises (worst, total) executed instructions, where a
 * leaf at depth d with cost c executes d + c. Exact interval dynamic programming up to
 * 400 ranges, a balanced split beyond.
 */
function buildTree(ranges: DispatchRange[], costs: number[]): SearchTree {
  const n = ranges.length;
  if (n > 400) return balanced(ranges, 0, n);
  const best: Cost[][] = Array.from({ length: n }, () => new Array<Cost>(n));
  for (let i = 0; i < n; i++) best[i][i] = { worst: costs[i], total: costs[i], split: -1 };
  for (let len = 2; len <= n; len++) {
    for (let i = 0; i + len - 1 < n; i++) {
      const j = i + len - 1;
      let choice: Cost | undefined;
      for (let k = i + 1; k <= j; k++) {
        const left = best[i][k - 1];
        const right = best[k][j];
        const worst = 1 + Math.max(left.worst, right.worst);
        const total = left.total + right.total + len;
        if (
          !choice || worst < choice.worst || (worst === choice.worst && total < choice.total)
        ) {
          choice = { worst, total, split: k };
        }
      }
      best[i][j] = choice!;
    }
  }
  const make = (i: number, j: number): SearchTree => {
    if (i === j) return { kind: "leaf", range: ranges[i] };
    const k = best[i][j].split;
    return { kind: "node", k: ranges[k].first, below: make(i, k - 1), atOrAbove: make(k, j) };
  };
  return make(0, n - 1);
}

function balanced(ranges: DispatchRange[], from: number, to: number): SearchTree {
  if (to - from === 1) return { kind: "leaf", range: ranges[from] };
  const mid = from + Math.floor((to - from) / 2);
  return {
    kind: "node",
    k: ranges[mid].first,
    below: balanced(ranges, from, mid),
    atOrAbove: balanced(ranges, mid, to),
  };
}

/** Emits the tree (A holds nr) in pre-order; returns the label of its entry. */
function emitTree(asm: Assembly, tree: SearchTree): Label {
  if (tree.kind === "leaf") {
    if (tree.range.rules.length === 0) return asm.retLabel(tree.range.ret);
    return emitRules(asm, tree.range);
  }
  const entry = asm.label();
  asm.bind(entry);
  const jump = { op: "jmp" as const, cond: "jge" as const, k: tree.k, jt: -1, jf: -1 };
  asm.emit(jump);
  jump.jf = emitTree(asm, tree.below);
  jump.jt = emitTree(asm, tree.atOrAbove);
  return entry;
}

/** A rule ready for emission: conditions, or a test of any of some bits of one word. */
type Block =
  | { kind: "all"; conditions: ResolvedCondition[]; ret: number }
  | { kind: "bits"; offset: number; bits: number; ret: number };

/**
 * Which `seccomp_data` word A holds (its offset), when every path to a point agrees;
 * undefined when unknown. Lets consecutive checks of the same word skip the reload.
 */
type Acc = number | undefined;

/** What A holds where a check succeeds (`t`) and where it fails (`f`). */
interface Exits {
  t: Acc;
  f: Acc;
}

/** Emits a leaf's rules in order, falling through to the range's ret; returns the entry. */
function emitRules(asm: Assembly, range: DispatchRange): Label {
  const blocks: Block[] = [];
  for (const rule of range.rules) {
    const conditions = simplify(rule.conditions);
    if (conditions === undefined) continue; // can never hold
    const bit = conditions.length === 1 ? singleBit(conditions[0]) : undefined;
    const prev = blocks.at(-1);
    if (bit && prev?.kind === "bits" && prev.offset === bit.offset && prev.ret === rule.ret) {
      prev.bits = (prev.bits | bit.bits) >>> 0; // consecutive "bit set" rules: one jset
    } else if (bit) {
      blocks.push({ kind: "bits", ...bit, ret: rule.ret });
    } else {
      blocks.push({ kind: "all", conditions, ret: rule.ret });
    }
    if (conditions.length === 0) break; // always holds: later rules are unreachable
  }
  const unconditional = (b: Block) => b.kind === "all" && b.conditions.length === 0;
  const entries = blocks.map((b) => unconditional(b) ? asm.retLabel(b.ret) : asm.label());
  const fallback = asm.retLabel(range.ret);
  // The leaf is entered from the search tree with A = nr; each later block only from the
  // failures of the block before it.
  let acc: Acc = SECCOMP_DATA_NR;
  blocks.forEach((block, i) => {
    if (unconditional(block)) return;
    const onFail = entries[i + 1] ?? fallback;
    asm.bind(entries[i]);
    if (block.kind === "bits") {
      load(asm, acc, block.offset);
      jmp(asm, "jset", block.bits, asm.retLabel(block.ret), onFail);
      acc = block.offset;
    } else {
      acc = emitConditions(asm, acc, block.conditions, asm.retLabel(block.ret), onFail);
    }
  });
  return entries[0] ?? fallback;
}

/** Loads a word into A unless A already holds it. */
function load(asm: Assembly, acc: Acc, offset: number) {
  if (acc !== offset) asm.emit({ op: "ld", offset });
}

/** A `masked_eq` whose mask and value are the same single bit: "this bit is set". */
function singleBit(c: ResolvedCondition): { offset: number; bits: number } | undefined {
  if (c.op !== "masked_eq" || c.value !== c.mask) return undefined;
  const m = c.mask;
  if (m === 0n || (m & (m - 1n)) !== 0n) return undefined;
  return m > 0xffffffffn
    ? { offset: argOffset(c.arg, true), bits: Number(m >> 32n) }
    : { offset: argOffset(c.arg, false), bits: Number(m) };
}

/**
 * Drops conditions that always hold; returns undefined when one can never hold.
 *
 * @example
 * ```ts ignore
 * simplify([{ arg: 0, width: 32, op: "ge", value: 0n, mask: 0xffffffffn }]); // []
 * ```
 */
function simplify(conditions: ResolvedCondition[]): ResolvedCondition[] | undefined {
  const out: ResolvedCondition[] = [];
  for (const c of conditions) {
    const all = (1n << BigInt(c.width)) - 1n;
    const always = (c.op === "ge" && c.value === 0n) || (c.op === "le" && c.value === all) ||
      (c.op === "masked_eq" && c.mask === 0n);
    const never = (c.op === "lt" && c.value === 0n) || (c.op === "gt" && c.value === all);
    if (never) return undefined;
    if (!always) out.push(c);
  }
  return out;
}

/**
 * Emits the AND of (non-empty) conditions: success goes to `onTrue`, failure to `onFalse`.
 * Returns what A holds on every failure path.
 */
function emitConditions(
  asm: Assembly,
  acc: Acc,
  conditions: ResolvedCondition[],
  onTrue: Label,
  onFalse: Label,
): Acc {
  const failures: Acc[] = [];
  conditions.forEach((c, i) => {
    const next = i + 1 < conditions.length ? asm.label() : onTrue;
    const exits = emitCondition(asm, acc, c, next, onFalse);
    failures.push(exits.f);
    acc = exits.t;
    if (next !== onTrue) asm.bind(next);
  });
  return failures.every((f) => f === failures[0]) ? failures[0] : undefined;
}

const jmp = (asm: Assembly, cond: JumpCond, k: number, jt: Label, jf: Label) =>
  asm.emit({ op: "jmp", cond, k: k >>> 0, jt, jf });

/** Emits one condition (never trivially true: see simplify). */
function emitCondition(
  asm: Assembly,
  acc: Acc,
  c: ResolvedCondition,
  T: Label,
  F: Label,
): Exits {
  const lo = Number(c.value & 0xffffffffn);
  const hi = Number(c.value >> 32n);
  const mlo = Number(c.mask & 0xffffffffn);
  const mhi = Number(c.mask >> 32n);
  const loWord = argOffset(c.arg, false);
  const hiWord = argOffset(c.arg, true);
  if (c.op === "masked_eq") {
    if (c.width === 32 || mhi === 0) return emitMaskedWord(asm, acc, loWord, mlo, lo, T, F);
    if (mlo === 0) return emitMaskedWord(asm, acc, hiWord, mhi, hi, T, F);
    const lowPart = asm.label();
    const high = emitMaskedWord(asm, acc, hiWord, mhi, hi, lowPart, F);
    asm.bind(lowPart);
    const low = emitMaskedWord(asm, high.t, loWord, mlo, lo, T, F);
    return { t: low.t, f: high.f === low.f ? low.f : undefined };
  }
  if (c.width === 32) {
    load(asm, acc, loWord);
    compareWord(asm, c.op, lo, T, F);
    return { t: loWord, f: loWord };
  }
  // 64-bit: decide on the high word, and on the low word when the high words are equal.
  load(asm, acc, hiWord);
  const low = asm.label();
  switch (c.op) {
    case "eq":
      jmp(asm, "jeq", hi, low, F);
      break;
    case "ne":
      jmp(asm, "jeq", hi, low, T);
      break;
    case "gt":
    case "ge":
      orderedHigh(asm, hi, T, F, low);
      break;
    case "lt":
    case "le":
      orderedHigh(asm, hi, F, T, low);
      break;
  }
  asm.bind(low);
  asm.emit({ op: "ld", offset: loWord });
  compareWord(asm, c.op, lo, T, F);
  // Paths leave from the high-word check (A = high word) and the low-word check.
  return { t: c.op === "eq" ? loWord : undefined, f: c.op === "ne" ? loWord : undefined };
}

/** High word of an ordered comparison: above → `above`, below → `below`, equal → `equal`. */
function orderedHigh(asm: Assembly, hi: number, above: Label, below: Label, equal: Label) {
  if (hi === 0) {
    // Not above 0 means equal to 0.
    jmp(asm, "jgt", 0, above, equal);
    return;
  }
  const check = asm.label();
  jmp(asm, "jgt", hi, above, check);
  asm.bind(check);
  jmp(asm, "jeq", hi, equal, below);
}

/** Compares A (one 32-bit word) with k. */
function compareWord(asm: Assembly, op: string, k: number, T: Label, F: Label) {
  switch (op) {
    case "eq":
      return jmp(asm, "jeq", k, T, F);
    case "ne":
      return jmp(asm, "jeq", k, F, T);
    case "gt":
      return jmp(asm, "jgt", k, T, F);
    case "ge":
      return jmp(asm, "jge", k, T, F);
    case "lt":
      return jmp(asm, "jge", k, F, T);
    case "le":
      return jmp(asm, "jgt", k, F, T);
  }
  throw new Error(`Unknown comparison ${op}`);
}

/** `(word & mask) == value` for one word (mask ≠ 0). */
function emitMaskedWord(
  asm: Assembly,
  acc: Acc,
  offset: number,
  mask: number,
  value: number,
  T: Label,
  F: Label,
): Exits {
  load(asm, acc, offset);
  if (value === 0) {
    jmp(asm, "jset", mask, F, T);
  } else if (value === mask && (mask & (mask - 1)) === 0) {
    jmp(asm, "jset", mask, T, F);
  } else if (mask >>> 0 === 0xffffffff) {
    jmp(asm, "jeq", value, T, F);
  } else {
    asm.emit({ op: "and", k: mask });
    jmp(asm, "jeq", value, T, F);
    return { t: undefined, f: undefined }; // A now holds word & mask
  }
  return { t: offset, f: offset };
}
