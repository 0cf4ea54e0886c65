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
  const interval = intervalSolution(atoms);
  return interval !== null ? interval : searchBits(atoms);
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

/**
 * Fast path when every atom compares the whole word (no mask, no `set`): the solutions are
 * an interval minus excluded points. Returns null when the fast path does not apply.
 */
function intervalSolution(atoms: readonly WordAtom[]): number | undefined | null {
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
  for (let v = lo; v <= hi; v++) if (!excluded.has(v)) return v;
  return undefined;
}

/** Per-atom state while walking down the bits. */
const EQUAL = 0;
const ABOVE = 1;
const BELOW = 2;

/**
 * Depth-first search over bits 31..0, smallest value first, with the failing
 * (bit, states) pairs remembered: exact for any mix of masks and comparisons.
 */
function searchBits(atoms: readonly WordAtom[]): number | undefined {
  const n = atoms.length;
  const masks = atoms.map((a) => a.mask >>> 0);
  // An equality whose constant has bits outside the mask never holds: such a bit compares
  // a masked 0 with a 1.
  const ks = atoms.map((a) => (a.op === "set" ? a.k & a.mask : a.k) >>> 0);
  const dead = new Set<string>();
  const accepts = (states: Uint8Array) =>
    atoms.every((a, i) => {
      const s = states[i];
      const r = a.op === "eq"
        ? s === EQUAL
        : a.op === "gt"
        ? s === ABOVE
        : a.op === "ge"
        ? s !== BELOW
        : s === ABOVE; // set: ABOVE means "a tested bit is set"
      return r === a.holds;
    });
  // Whether an atom can still end up satisfied from this state.
  const alive = (i: number, s: number) => {
    const a = atoms[i];
    if (a.op === "eq") return a.holds ? s === EQUAL : true;
    if (a.op === "gt") return a.holds ? s !== BELOW : s !== ABOVE;
    if (a.op === "ge") return a.holds ? s !== BELOW : s !== ABOVE;
    return a.holds ? true : s !== ABOVE;
  };
  const walk = (bit: number, states: Uint8Array, prefix: number): number | undefined => {
    if (bit < 0) return accepts(states) ? prefix >>> 0 : undefined;
    const key = `${bit}:${states.join("")}`;
    if (dead.has(key)) return undefined;
    for (const x of [0, 1]) {
      const next = new Uint8Array(n);
      let ok = true;
      for (let i = 0; i < n && ok; i++) {
        const m = (masks[i] >>> bit) & 1;
        const y = x & m;
        const kb = (ks[i] >>> bit) & 1;
        let s = states[i];
        if (atoms[i].op === "set") {
          if (y === 1 && kb === 1) s = ABOVE;
        } else if (s === EQUAL && y !== kb) {
          s = y > kb ? ABOVE : BELOW;
        }
        next[i] = s;
        ok = alive(i, s);
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
