/**
 * Exact comparison of two reviewable seccomp programs: every region of the input space
 * (arch, syscall number, argument words) where they return different values, found by
 * intersecting the feasible paths of one with those of the other.
 *
 * @module
 */
import type { SeccompData } from "./bpf_interpreter.ts";
import type { FilterPath } from "./filter_paths.ts";
import { satisfiable, smallestSolution, type WordAtom } from "./word_constraint.ts";

/** A region where two programs differ: the inputs that satisfy `atoms`. */
export interface FilterDifference {
  /** The region: the conjunction of both paths' constraints (satisfiable). */
  atoms: WordAtom[];
  /** What the first program returns there. */
  before: number;
  /** What the second program returns there. */
  after: number;
}

/**
 * Every region where `after` returns something other than `before`. The regions are
 * disjoint, and together they are exactly the inputs where the two programs differ.
 *
 * @example
 * ```ts
 * import { compareFilters } from "./filter_compare.ts";
 * import { filterPaths } from "./filter_paths.ts";
 * const ret = (k: number) => [{ code: 0x06, jt: 0, jf: 0, k }];
 * const d = compareFilters(filterPaths(ret(0x50001)), filterPaths(ret(0x7fff0000)));
 * console.log(d.length, d[0].atoms.length); // 1 0
 * ```
 */
export function compareFilters(before: FilterPath[], after: FilterPath[]): FilterDifference[] {
  const boxes = (paths: FilterPath[]) => paths.map((p) => [box(p.atoms, 0), box(p.atoms, 1)]);
  const beforeBoxes = boxes(before);
  const afterBoxes = boxes(after);
  const out: FilterDifference[] = [];
  before.forEach((p, i) => {
    after.forEach((q, j) => {
      if (p.ret === q.ret) return;
      const [nrA, archA] = beforeBoxes[i];
      const [nrB, archB] = afterBoxes[j];
      if (nrA[1] < nrB[0] || nrB[1] < nrA[0] || archA[1] < archB[0] || archB[1] < archA[0]) {
        return;
      }
      const atoms = [...p.atoms, ...q.atoms];
      if (conjunctionSatisfiable(p.atoms, q.atoms)) {
        out.push({ atoms, before: p.ret, after: q.ret });
      }
    });
  });
  return out;
}

/** Whether two satisfiable conjunctions are satisfiable together (word by word). */
function conjunctionSatisfiable(a: WordAtom[], b: WordAtom[]): boolean {
  const shared = new Set(a.map((x) => x.word).filter((w) => b.some((y) => y.word === w)));
  for (const word of shared) {
    if (!satisfiable([...a, ...b].filter((x) => x.word === word))) return false;
  }
  return true;
}

/** A cheap bound [lo, hi] of one word from its whole-word comparisons. */
function box(atoms: WordAtom[], word: number): [number, number] {
  let lo = 0;
  let hi = 0xffffffff;
  for (const a of atoms) {
    if (a.word !== word || a.mask >>> 0 !== 0xffffffff || a.op === "set") continue;
    if (a.op === "eq" && a.holds) [lo, hi] = [Math.max(lo, a.k), Math.min(hi, a.k)];
    else if (a.op === "gt") a.holds ? (lo = Math.max(lo, a.k + 1)) : (hi = Math.min(hi, a.k));
    else if (a.op === "ge") a.holds ? (lo = Math.max(lo, a.k)) : (hi = Math.min(hi, a.k - 1));
  }
  return [lo, hi];
}

/**
 * One input in a region (the smallest value of each constrained word, 0 elsewhere).
 *
 * @example
 * ```ts
 * import { witnessOf } from "./filter_compare.ts";
 * const w = witnessOf([{ word: 0, mask: 0xffffffff, op: "gt", k: 9, holds: true }]);
 * console.log(w.nr); // 10
 * ```
 */
export function witnessOf(atoms: WordAtom[]): Required<SeccompData> {
  const words = new Array<number>(16).fill(0);
  for (const word of new Set(atoms.map((a) => a.word))) {
    const value = smallestSolution(atoms.filter((a) => a.word === word));
    if (value === undefined) throw new Error(`Word ${word} of the region is unsatisfiable`);
    words[word] = value;
  }
  const u64 = (lo: number, hi: number) => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  return {
    nr: words[0],
    arch: words[1],
    instructionPointer: u64(words[2], words[3]),
    args: Array.from({ length: 6 }, (_, i) => u64(words[4 + 2 * i], words[5 + 2 * i])),
  };
}
