/**
 * Exact comparison of two reviewable seccomp programs: every region of the input space
 * (arch, syscall number, argument words) where they return different values, found by
 * intersecting the feasible paths of one with those of the other.
 *
 * @module
 */
import type { SockFilter } from "./bpf.ts";
import type { SeccompData } from "./bpf_interpreter.ts";
import {
  checkReviewable,
  filterPaths,
  FilterTooComplexError,
  MAX_FILTER_PATHS,
  pathsWithin,
} from "./filter_paths.ts";
import { smallestSolution, type WordAtom } from "./word_constraint.ts";

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
 * Every region where `after` returns something other than `before` (two reviewable
 * programs, checked here). The regions are disjoint, and together they are exactly the
 * inputs where the two programs differ: each feasible path of `before` is followed through
 * `after` restricted to that path's inputs.
 *
 * @example
 * ```ts
 * import { compareFilters } from "./filter_compare.ts";
 * const ret = (k: number) => [{ code: 0x06, jt: 0, jf: 0, k }];
 * const d = compareFilters(ret(0x50001), ret(0x7fff0000));
 * console.log(d.length, d[0].atoms.length); // 1 0
 * ```
 */
export function compareFilters(
  before: readonly SockFilter[],
  after: readonly SockFilter[],
): FilterDifference[] {
  checkReviewable(after);
  const out: FilterDifference[] = [];
  let regions = 0;
  for (const p of filterPaths(before)) {
    for (const q of pathsWithin(after, p.atoms)) {
      // The product of two programs can have more regions than either: bound it too.
      if (++regions > 4 * MAX_FILTER_PATHS) throw new FilterTooComplexError();
      if (q.ret !== p.ret) out.push({ atoms: q.atoms, before: p.ret, after: q.ret });
    }
  }
  return out;
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
