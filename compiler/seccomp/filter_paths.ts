/**
 * Exact symbolic analysis of seccomp programs: every feasible path from the first
 * instruction to a `ret`, with the conjunction of word constraints that leads there.
 * Since a program is deterministic and its jumps only go forward, the paths partition the
 * whole input space (every arch, every syscall number, every argument value), so they say
 * exactly what the program returns for any input.
 *
 * The analysis is exact for the **reviewable subset**, which is what `codegen.ts` emits and
 * what the shim accepts (`rust-shim/src/seccomp.rs` checks the same rules):
 * - the kernel's own rules (`verifyFilter`): 1–4096 instructions, jumps inside the
 *   program, aligned loads inside `seccomp_data`, a `ret` last;
 * - only `ld [k]` (32-bit word of `seccomp_data`), `and #k`, `jeq/jgt/jge/jset #k`,
 *   `ja` and `ret #k`: A is then always one input word under a mask (or the constant 0
 *   it starts as).
 *
 * Feasible paths can in principle be exponential in the program's length, so the analysis
 * stops at {@link MAX_FILTER_PATHS} and says so ({@link FilterTooComplexError}): the review
 * then fails rather than show less than the program does, and the compiler refuses to emit
 * such a program.
 *
 * @module
 */
import {
  BPF_ABS,
  BPF_ALU,
  BPF_AND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_RET,
  BPF_W,
  type SockFilter,
} from "./bpf.ts";
import { BpfVerifyError, verifyFilter } from "./bpf_interpreter.ts";
import { satisfiable, type WordAtom, type WordOp } from "./word_constraint.ts";

/** The most feasible paths the analysis follows before it gives up. */
export const MAX_FILTER_PATHS = 16384;

/** Raised when a program has more feasible paths than the analysis follows. */
export class FilterTooComplexError extends Error {
  /** Creates the error. */
  constructor() {
    super(
      `The seccomp program has more than ${MAX_FILTER_PATHS} feasible paths; it cannot be reviewed exactly`,
    );
    this.name = "FilterTooComplexError";
  }
}

/** Opcodes of the reviewable subset. */
export const REVIEWABLE_OPCODES = {
  ldAbs: BPF_LD | BPF_W | BPF_ABS,
  andK: BPF_ALU | BPF_AND | BPF_K,
  jeqK: BPF_JMP | BPF_JEQ | BPF_K,
  jgtK: BPF_JMP | BPF_JGT | BPF_K,
  jgeK: BPF_JMP | BPF_JGE | BPF_K,
  jsetK: BPF_JMP | BPF_JSET | BPF_K,
  ja: BPF_JMP | BPF_JA,
  retK: BPF_RET | BPF_K,
} as const;

const JUMP_OPS: ReadonlyMap<number, WordOp> = new Map([
  [REVIEWABLE_OPCODES.jeqK, "eq"],
  [REVIEWABLE_OPCODES.jgtK, "gt"],
  [REVIEWABLE_OPCODES.jgeK, "ge"],
  [REVIEWABLE_OPCODES.jsetK, "set"],
]);

/** One feasible path: the constraints on the input that lead to a `ret`, and its value. */
export interface FilterPath {
  /** The conjunction of word constraints (each satisfiable together). */
  atoms: WordAtom[];
  /** The filter's return value on this path. */
  ret: number;
}

/**
 * Checks that a program follows the kernel's rules and lies in the reviewable subset;
 * throws {@link BpfVerifyError} naming the first instruction that does not.
 *
 * @example
 * ```ts
 * import { checkReviewable } from "./filter_paths.ts";
 * checkReviewable([{ code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }]); // ok
 * ```
 */
export function checkReviewable(program: readonly SockFilter[]): void {
  verifyFilter(program);
  const allowed = new Set<number>(Object.values(REVIEWABLE_OPCODES));
  program.forEach((ins, pc) => {
    if (!allowed.has(ins.code)) {
      throw new BpfVerifyError(
        `Opcode 0x${
          ins.code.toString(16).padStart(2, "0")
        } is outside the reviewable subset (ld [k], and #k, jeq/jgt/jge/jset #k, ja, ret #k)`,
        pc,
      );
    }
  });
}

/** What A holds: word `word` under `mask`, or (word -1) the constant 0 it starts as. */
interface Accumulator {
  word: number;
  mask: number;
}

/**
 * Every feasible path of a reviewable program (checked with {@link checkReviewable});
 * throws {@link FilterTooComplexError} beyond {@link MAX_FILTER_PATHS} of them.
 *
 * @example
 * ```ts
 * import { filterPaths } from "./filter_paths.ts";
 * const program = [
 *   { code: 0x20, jt: 0, jf: 0, k: 0 },          // ld nr
 *   { code: 0x15, jt: 0, jf: 1, k: 39 },         // jeq 39
 *   { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }, // ret ALLOW
 *   { code: 0x06, jt: 0, jf: 0, k: 0x00050001 }, // ret ERRNO(EPERM)
 * ];
 * console.log(filterPaths(program).map((p) => p.ret.toString(16))); // ["7fff0000", "50001"]
 * ```
 */
export function filterPaths(program: readonly SockFilter[]): FilterPath[] {
  checkReviewable(program);
  return pathsWithin(program, []);
}

/**
 * The feasible paths of a reviewable program for the inputs that satisfy `given` (a
 * satisfiable conjunction); each path's atoms include `given`. Expects a program that passed
 * {@link checkReviewable}.
 *
 * @example
 * ```ts
 * import { pathsWithin } from "./filter_paths.ts";
 * const program = [
 *   { code: 0x20, jt: 0, jf: 0, k: 0 },          // ld nr
 *   { code: 0x15, jt: 0, jf: 1, k: 39 },         // jeq 39
 *   { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }, // ret ALLOW
 *   { code: 0x06, jt: 0, jf: 0, k: 0x00050001 }, // ret ERRNO(EPERM)
 * ];
 * const nr39 = { word: 0, mask: 0xffffffff, op: "eq" as const, k: 39, holds: true };
 * console.log(pathsWithin(program, [nr39]).length); // 1
 * ```
 */
export function pathsWithin(program: readonly SockFilter[], given: WordAtom[]): FilterPath[] {
  const out: FilterPath[] = [];
  const walk = (pc: number, a: Accumulator, atoms: WordAtom[]): void => {
    for (;;) {
      const { code, jt, jf, k } = program[pc];
      if (code === REVIEWABLE_OPCODES.retK) {
        if (out.length === MAX_FILTER_PATHS) throw new FilterTooComplexError();
        out.push({ atoms, ret: k >>> 0 });
        return;
      }
      if (code === REVIEWABLE_OPCODES.ldAbs) {
        a = { word: k >>> 2, mask: 0xffffffff };
        pc++;
      } else if (code === REVIEWABLE_OPCODES.andK) {
        a = { word: a.word, mask: (a.mask & k) >>> 0 };
        pc++;
      } else if (code === REVIEWABLE_OPCODES.ja) {
        pc += 1 + k;
      } else {
        const op = JUMP_OPS.get(code)!;
        if (jt === jf) {
          pc += 1 + jt;
          continue;
        }
        if (a.word < 0 || a.mask === 0) {
          // A is a constant 0: the jump is decided.
          const taken = op === "eq" ? k === 0 : op === "ge" ? k === 0 : false;
          pc += 1 + (taken ? jt : jf);
          continue;
        }
        const branch = (holds: boolean) => {
          const atom: WordAtom = { word: a.word, mask: a.mask, op, k: k >>> 0, holds };
          const same = atoms.filter((x) => x.word === a.word);
          if (same.some((x) => sameAtom(x, atom))) return atoms;
          return satisfiable([...same, atom]) ? [...atoms, atom] : undefined;
        };
        const onTrue = branch(true);
        const onFalse = branch(false);
        if (onTrue && onFalse) {
          walk(pc + 1 + jt, a, onTrue);
          pc += 1 + jf;
          atoms = onFalse;
        } else {
          pc += 1 + (onTrue ? jt : jf);
          atoms = onTrue ?? onFalse!;
        }
      }
    }
  };
  walk(0, { word: -1, mask: 0xffffffff }, given);
  return out;
}

function sameAtom(x: WordAtom, y: WordAtom): boolean {
  return x.word === y.word && x.mask === y.mask && x.op === y.op && x.k === y.k &&
    x.holds === y.holds;
}
