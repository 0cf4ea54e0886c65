/**
 * Constraints on one 32-bit word of `seccomp_data`, of the form `(word & mask) op k` or its
 * negation, and an exact decision procedure for a conjunction of them: a search over the
 * word's bits from the most significant down, where every atom tracks whether the masked
 * prefix is still equal to, already above or already below its constant.
 *
 * @module
 */

/** The comparisons classic BPF jumps make: `jeq`, `jgt`, `jge`, `jset`. */
export type WordOp = "eq" | "gt" | "ge" | "set";

/** `(word & mask) op k` when `holds`, its negation otherwise. */
export interface WordAtom {
  /** Which 32-bit word of `seccomp_data` (offset / 4: 0 nr, 1 arch, 2–3 ip, 4–15 args). */
  word: number;
  /** The mask applied to the word (u32; 0xffffffff for a plain load). */
  mask: number;
  /** The comparison. */
  op: WordOp;
  /** The constant (u32; for `set`, the bits tested, already masked). */
  k: number;
  /** False for the negation (the jump's false branch). */
  holds: boolean;
}

const FULL = 0xffffffff;

/**
 * Whether one value satisfies an atom.
 *
 * @example
 * ```ts
 * import { atomHolds } from "./word_constraint.ts";
 * console.log(atomHolds({ word: 0, mask: 0xff, op: "eq", k: 3, holds: true }, 0x103)); // true
 * ```
 */
export function atomHolds(atom: WordAtom, value: number): boolean {
  const a = (value & atom.mask) >>> 0;
  const k = atom.k >>> 0;
  const result = atom.op === "eq"
    ? a === k
    : atom.op === "gt"
    ? a > k
    : atom.op === "ge"
    ? a >= k
    : (a & k) !== 0;
  return result === atom.holds;
}

/**
 * The smallest value that satisfies every atom (all on one word), or undefined when there
 * is none.
 *
 * @example
 * ```ts
 * import { smallestSolution } from "./word_constraint.ts";
 * const atoms = [
 *   { word: 4, mask: 0xffffffff, op: "gt" as const, k: 10, holds: true },
 *   { word: 4, mask: 0x1, op: "set" as const, k: 1, holds: false },
 * ];
 * console.log(smallestSolution(atoms)); // 12
 * ```
 */
export function smallestSolution(atoms: readonly WordAtom[]): number | undefined {
  // Atoms that only fix bits (a masked equality, no tested bit set, one tested bit set)
  // become two masks; the rest go to the interval fast path or the bit search.
  let ones = 0;
  let zeros = 0;
  const rest: WordAtom[] = [];
  for (const a of atoms) {
    const m = a.mask >>> 0;
    const k = a.k >>> 0;
    const bits = (k & m) >>> 0;
    if (a.op === "set" && !a.holds) zeros |= bits;
    else if (a.op === "set" && bits !== 0 && (bits & (bits - 1)) === 0) ones |= bits;
    else if (a.op === "eq" && a.holds) {
      if (((k & ~m) >>> 0) !== 0) return undefined;
      ones |= k;
      zeros |= m & ~k;
    } else rest.push(a);
  }
  if ((ones & zeros) !== 0) return undefined;
  if (rest.length === 0) return ones >>> 0;
  if (ones === 0 && zeros === 0) {
    const interval = intervalSolution(rest);
    if (interval !== null) return interval;
  }
  return searchBits(rest, ones >>> 0, zeros >>> 0);
}

/**
 * Whether some value satisfies every atom (all on one word).
 *
 * @example
 * ```ts
 * import { satisfiable } from "./word_constraint.ts";
 * console.log(satisfiable([
 *   { word: 0, mask: 0xffffffff, op: "ge", k: 5, holds: true },
 *   { word: 0, mask: 0xffffffff, op: "gt", k: 4, holds: false },
 * ])); // false
 * ```
 */
export function satisfiable(atoms: readonly WordAtom[]): boolean {
  return smallestSolution(atoms) !== undefined;
}

/** The solutions of whole-word comparisons: `lo..hi` without the `excluded` values. */
export interface WordInterval {
  /** The smallest value allowed (may exceed `hi`: no solution). */
  lo: number;
  /** The largest value allowed. */
  hi: number;
  /** Values inside the interval that are not solutions. */
  excluded: Set<number>;
}

/**
 * The solutions of atoms that all compare the whole word (no mask, no `set`) as an
 * interval minus points, or null when some atom does not.
 *
 * @example
 * ```ts
 * import { wordInterval } from "./word_constraint.ts";
 * const i = wordInterval([{ word: 0, mask: 0xffffffff, op: "ge", k: 4, holds: true }]);
 * console.log(i?.lo, i?.hi); // 4 4294967295
 * ```
 */
export function wordInterval(atoms: readonly WordAtom[]): WordInterval | null {
  let lo = 0;
  let hi = FULL;
  const excluded = new Set<number>();
  for (const a of atoms) {
    if (a.mask >>> 0 !== FULL || a.op === "set") return null;
    const k = a.k >>> 0;
    if (a.op === "eq") {
      if (a.holds) {
        lo = Math.max(lo, k);
        hi = Math.min(hi, k);
      } else excluded.add(k);
    } else if (a.op === "gt") {
      if (a.holds) lo = Math.max(lo, k + 1);
      else hi = Math.min(hi, k);
    } else if (a.holds) lo = Math.max(lo, k);
    else hi = Math.min(hi, k - 1);
  }
  return { lo, hi, excluded };
}

/** Fast path for whole-word comparisons; null when it does not apply. */
function intervalSolution(atoms: readonly WordAtom[]): number | undefined | null {
  const interval = wordInterval(atoms);
  if (!interval) return null;
  for (let v = interval.lo; v <= interval.hi; v++) if (!interval.excluded.has(v)) return v;
  return undefined;
}

/**
 * Depth-first search over bits 31..0, smallest value first. Each atom is pending (its
 * masked prefix still equals its constant, or no tested bit is set yet) or done (satisfied
 * whatever the lower bits are); a bit that makes an atom fail prunes the branch, and so does
 * a pending atom that needs a lower bit no lower bit can give. Failing (bit, done atoms)
 * pairs are remembered. Bits in `ones` and `zeros` are fixed. Exact for any mix of masks
 * and comparisons.
 */
function searchBits(atoms: readonly WordAtom[], ones: number, zeros: number): number | undefined {
  const n = atoms.length;
  const masks = atoms.map((a) => a.mask >>> 0);
  // For `set`, only the masked bits are tested. For a comparison, a constant bit outside the
  // mask compares with a masked 0 (so such an equality never holds).
  const ks = atoms.map((a) => (a.op === "set" ? a.k & a.mask : a.k) >>> 0);
  // Whether the atom fails when it ends pending (the masked word equal to k, or no bit set).
  const needsDone = atoms.map((a) =>
    a.op === "set" || a.op === "gt" ? a.holds : a.op === "eq" || a.op === "ge" ? !a.holds : false
  );
  // The bits at which a pending atom can become done.
  const doneBits = atoms.map((a, i) => {
    const m = masks[i];
    const k = ks[i];
    if (a.op === "set") return a.holds ? k : 0;
    if (a.op === "eq") return a.holds ? 0 : (m | k) >>> 0;
    // Only `gt` and negated `ge` need to end done: y > k needs a mask bit where k is 0,
    // y < k a bit where k is 1.
    return a.op === "gt" ? (m & ~k) >>> 0 : k;
  });
  /** The atom's next state at a bit: PENDING, DONE or FAILED. */
  const step = (i: number, y: number, kb: number): number => {
    const a = atoms[i];
    if (a.op === "set") return y & kb ? (a.holds ? DONE : FAILED) : PENDING;
    if (y === kb) return PENDING;
    if (a.op === "eq") return a.holds ? FAILED : DONE;
    // gt/ge hold when the first differing bit is above; their negations when it is below.
    return (y > kb) === a.holds ? DONE : FAILED;
  };
  const dead = new Set<string>();
  const walk = (bit: number, done: Uint8Array, prefix: number): number | undefined => {
    if (bit < 0) return prefix >>> 0;
    const key = `${bit}:${done.join("")}`;
    if (dead.has(key)) return undefined;
    const lower = bit === 0 ? 0 : 0xffffffff >>> (32 - bit);
    for (const x of [0, 1]) {
      if (((x ? zeros : ones) >>> bit) & 1) continue; // a fixed bit
      const next = done.slice();
      let ok = true;
      for (let i = 0; i < n && ok; i++) {
        if (done[i] === DONE) continue;
        const s = step(i, x & (masks[i] >>> bit) & 1, (ks[i] >>> bit) & 1);
        next[i] = s;
        ok = s !== FAILED && (s === DONE || !needsDone[i] || (doneBits[i] & lower) !== 0);
      }
      if (!ok) continue;
      const found = walk(bit - 1, next, prefix | (x << bit));
      if (found !== undefined) return found;
    }
    dead.add(key);
    return undefined;
  };
  return walk(31, new Uint8Array(n), 0);
}

const PENDING = 0;
const DONE = 1;
const FAILED = 2;
