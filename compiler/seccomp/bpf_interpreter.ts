/**
 * A classic BPF interpreter with the kernel's rules for seccomp filters
 * (`bpf_check_classic` and `seccomp_check_filter` in the kernel): 1–4096 instructions, only
 * the instructions seccomp allows, 32-bit aligned loads of `seccomp_data` below offset 64,
 * jumps forward and inside the program, scratch memory written before it is read, and a
 * `ret` as the last instruction. It runs a program on a `seccomp_data` and counts the
 * instructions executed.
 *
 * @module
 */
import { SECCOMP_DATA_SIZE } from "./arch.ts";
import {
  BPF_A,
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_DIV,
  BPF_IMM,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_LSH,
  BPF_MAXINSNS,
  BPF_MEM,
  BPF_MEMWORDS,
  BPF_MISC,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STX,
  BPF_SUB,
  BPF_TAX,
  BPF_TXA,
  BPF_W,
  BPF_X,
  BPF_XOR,
  type SockFilter,
} from "./bpf.ts";

/** The input of a seccomp filter (`struct seccomp_data`). */
export interface SeccompData {
  /** The syscall number (an int: -1 is 0xffffffff). */
  nr: number;
  /** The `AUDIT_ARCH_*` value. */
  arch: number;
  /** The instruction pointer (u64). */
  instructionPointer?: bigint;
  /** Up to six arguments (u64; negative values are taken as their 64-bit pattern). */
  args?: readonly (bigint | number)[];
}

/** The outcome of running a filter. */
export interface FilterResult {
  /** The filter's return value (u32). */
  ret: number;
  /** How many instructions ran, the final `ret` included. */
  executed: number;
}

/** Raised when a program breaks one of the kernel's rules for seccomp filters. */
export class BpfVerifyError extends Error {
  /** The offending instruction, when there is one. */
  readonly pc?: number;

  /** Creates the error with a description and the instruction index. */
  constructor(message: string, pc?: number) {
    super(pc === undefined ? message : `Instruction ${pc}: ${message}`);
    this.name = "BpfVerifyError";
    this.pc = pc;
  }
}

const ALU_OPS = [BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH];
const JUMP_OPS = [BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JSET];

/** The opcodes `seccomp_check_filter` lets through (besides `ld [k]`, checked apart). */
const SECCOMP_OPCODES: ReadonlySet<number> = new Set([
  BPF_LD | BPF_W | BPF_LEN,
  BPF_LDX | BPF_W | BPF_LEN,
  BPF_RET | BPF_K,
  BPF_RET | BPF_A,
  ...ALU_OPS.flatMap((op) => [BPF_ALU | op | BPF_K, BPF_ALU | op | BPF_X]),
  BPF_ALU | BPF_NEG,
  BPF_LD | BPF_IMM,
  BPF_LDX | BPF_IMM,
  BPF_MISC | BPF_TAX,
  BPF_MISC | BPF_TXA,
  BPF_LD | BPF_MEM,
  BPF_LDX | BPF_MEM,
  BPF_ST,
  BPF_STX,
  BPF_JMP | BPF_JA,
  ...JUMP_OPS.flatMap((op) => [BPF_JMP | op | BPF_K, BPF_JMP | op | BPF_X]),
]);

const LD_ABS = BPF_LD | BPF_W | BPF_ABS;
const cls = (code: number) => code & 0x07;
const isCondJump = (code: number) => cls(code) === BPF_JMP && (code & 0xf0) !== BPF_JA;

/**
 * Checks a program against the kernel's rules for seccomp filters; throws
 * {@link BpfVerifyError} naming the first broken rule.
 *
 * @example
 * ```ts
 * import { verifyFilter } from "./bpf_interpreter.ts";
 * verifyFilter([{ code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }]); // ok: a single "ret ALLOW"
 * ```
 */
export function verifyFilter(program: readonly SockFilter[]): void {
  const len = program.length;
  if (len === 0) throw new BpfVerifyError("The program is empty");
  if (len > BPF_MAXINSNS) {
    throw new BpfVerifyError(`The program has ${len} instructions, more than ${BPF_MAXINSNS}`);
  }
  program.forEach((ins, pc) => {
    const { code, k } = ins;
    if (code === LD_ABS) {
      if (k >= SECCOMP_DATA_SIZE || (k & 3) !== 0) {
        throw new BpfVerifyError(
          `Load from offset ${k} is not an aligned 32-bit word of seccomp_data`,
          pc,
        );
      }
    } else if (!SECCOMP_OPCODES.has(code)) {
      throw new BpfVerifyError(
        `Opcode 0x${code.toString(16).padStart(2, "0")} is not allowed in seccomp filters`,
        pc,
      );
    }
    if (code === (BPF_ALU | BPF_DIV | BPF_K) && k === 0) {
      throw new BpfVerifyError("Division by the constant 0", pc);
    }
    if ((code === (BPF_ALU | BPF_LSH | BPF_K) || code === (BPF_ALU | BPF_RSH | BPF_K)) && k >= 32) {
      throw new BpfVerifyError(`Shift by ${k} bits`, pc);
    }
    if (
      (code === (BPF_LD | BPF_MEM) || code === (BPF_LDX | BPF_MEM) || code === BPF_ST ||
        code === BPF_STX) && k >= BPF_MEMWORDS
    ) {
      throw new BpfVerifyError(`Scratch memory word ${k} does not exist`, pc);
    }
    if (code === (BPF_JMP | BPF_JA)) {
      if (k >= len - pc - 1) throw new BpfVerifyError(`Jump by ${k} leaves the program`, pc);
    } else if (isCondJump(code)) {
      if (pc + ins.jt + 1 >= len || pc + ins.jf + 1 >= len) {
        throw new BpfVerifyError(`Jump (true +${ins.jt}, false +${ins.jf}) leaves the program`, pc);
      }
    }
  });
  if (cls(program[len - 1].code) !== BPF_RET) {
    throw new BpfVerifyError("The last instruction is not a ret", len - 1);
  }
  checkLoadsAndStores(program);
}

/** Scratch memory must be written on every path before it is read (kernel semantics). */
function checkLoadsAndStores(program: readonly SockFilter[]) {
  const masks = new Array<number>(program.length).fill(0xffff);
  let valid = 0;
  program.forEach((ins, pc) => {
    valid &= masks[pc];
    const { code, k } = ins;
    if (code === BPF_ST || code === BPF_STX) {
      valid |= 1 << k;
    } else if (code === (BPF_LD | BPF_MEM) || code === (BPF_LDX | BPF_MEM)) {
      if ((valid & (1 << k)) === 0) {
        throw new BpfVerifyError(`Scratch memory word ${k} is read before it is written`, pc);
      }
    } else if (code === (BPF_JMP | BPF_JA)) {
      masks[pc + 1 + k] &= valid;
      valid = 0xffff;
    } else if (isCondJump(code)) {
      masks[pc + 1 + ins.jt] &= valid;
      masks[pc + 1 + ins.jf] &= valid;
      valid = 0xffff;
    }
  });
}

/**
 * Lays out a `seccomp_data` as the 16 little-endian 32-bit words filters load.
 *
 * @example
 * ```ts
 * import { seccompDataWords } from "./bpf_interpreter.ts";
 * const words = seccompDataWords({ nr: -1, arch: 0xc000003e, args: [1n << 32n] });
 * console.log(words[0], words[4], words[5]); // 4294967295 0 1
 * ```
 */
export function seccompDataWords(data: SeccompData): Uint32Array {
  const words = new Uint32Array(SECCOMP_DATA_SIZE / 4);
  words[0] = data.nr >>> 0;
  words[1] = data.arch >>> 0;
  const u64 = (v: bigint | number, at: number) => {
    const x = BigInt.asUintN(64, BigInt(v));
    words[at] = Number(x & 0xffffffffn);
    words[at + 1] = Number(x >> 32n);
  };
  u64(data.instructionPointer ?? 0n, 2);
  (data.args ?? []).slice(0, 6).forEach((a, i) => u64(a, 4 + 2 * i));
  return words;
}

/**
 * Verifies a program once and returns a function that runs it on `seccomp_data` inputs.
 *
 * @example
 * ```ts
 * import { compileSeccomp } from "./compile_seccomp.ts";
 * import { createFilterRunner } from "./bpf_interpreter.ts";
 * const run = createFilterRunner(compileSeccomp({ default: "allow" }, "x86_64").program);
 * console.log(run({ nr: 0, arch: 0xc000003e }).ret.toString(16)); // "7fff0000"
 * ```
 */
export function createFilterRunner(
  program: readonly SockFilter[],
): (data: SeccompData) => FilterResult {
  verifyFilter(program);
  const code = Uint16Array.from(program, (i) => i.code);
  const jt = Uint8Array.from(program, (i) => i.jt);
  const jf = Uint8Array.from(program, (i) => i.jf);
  const ks = Uint32Array.from(program, (i) => i.k >>> 0);
  return (data) => execute(code, jt, jf, ks, seccompDataWords(data));
}

/**
 * Verifies and runs a program on one `seccomp_data`, returning the index of every
 * instruction executed, in order.
 *
 * @example
 * ```ts
 * import { traceFilter } from "./bpf_interpreter.ts";
 * const program = [{ code: 0x20, jt: 0, jf: 0, k: 0 }, { code: 0x16, jt: 0, jf: 0, k: 0 }];
 * console.log(traceFilter(program, { nr: 7, arch: 0 })); // [0, 1]
 * ```
 */
export function traceFilter(program: readonly SockFilter[], data: SeccompData): number[] {
  verifyFilter(program);
  const trace: number[] = [];
  execute(
    Uint16Array.from(program, (i) => i.code),
    Uint8Array.from(program, (i) => i.jt),
    Uint8Array.from(program, (i) => i.jf),
    Uint32Array.from(program, (i) => i.k >>> 0),
    seccompDataWords(data),
    trace,
  );
  return trace;
}

/**
 * Verifies and runs a program on one `seccomp_data`.
 *
 * @example
 * ```ts
 * import { runFilter } from "./bpf_interpreter.ts";
 * const r = runFilter([{ code: 0x06, jt: 0, jf: 0, k: 0x00050001 }], { nr: 0, arch: 0 });
 * console.log(r.ret.toString(16), r.executed); // "50001" 1
 * ```
 */
export function runFilter(program: readonly SockFilter[], data: SeccompData): FilterResult {
  return createFilterRunner(program)(data);
}

function execute(
  code: Uint16Array,
  jt: Uint8Array,
  jf: Uint8Array,
  ks: Uint32Array,
  data: Uint32Array,
  trace?: number[],
): FilterResult {
  const mem = new Uint32Array(BPF_MEMWORDS);
  let a = 0;
  let x = 0;
  let pc = 0;
  let executed = 0;
  for (;;) {
    const op = code[pc];
    const k = ks[pc];
    executed++;
    trace?.push(pc);
    switch (op) {
      case LD_ABS:
        a = data[k >>> 2];
        break;
      case BPF_LD | BPF_W | BPF_LEN:
        a = SECCOMP_DATA_SIZE;
        break;
      case BPF_LDX | BPF_W | BPF_LEN:
        x = SECCOMP_DATA_SIZE;
        break;
      case BPF_LD | BPF_IMM:
        a = k;
        break;
      case BPF_LDX | BPF_IMM:
        x = k;
        break;
      case BPF_LD | BPF_MEM:
        a = mem[k];
        break;
      case BPF_LDX | BPF_MEM:
        x = mem[k];
        break;
      case BPF_ST:
        mem[k] = a;
        break;
      case BPF_STX:
        mem[k] = x;
        break;
      case BPF_MISC | BPF_TAX:
        x = a;
        break;
      case BPF_MISC | BPF_TXA:
        a = x;
        break;
      case BPF_ALU | BPF_NEG:
        a = -a >>> 0;
        break;
      case BPF_RET | BPF_K:
        return { ret: k, executed };
      case BPF_RET | BPF_A:
        return { ret: a >>> 0, executed };
      case BPF_JMP | BPF_JA:
        pc += k;
        break;
      default: {
        const operand = (op & BPF_X) !== 0 ? x : k;
        if (cls(op) === BPF_ALU) {
          const result = alu(op & 0xf0, a, operand);
          if (result === undefined) return { ret: 0, executed }; // division by X = 0
          a = result;
        } else {
          let taken: boolean;
          switch (op & 0xf0) {
            case BPF_JEQ:
              taken = a === operand;
              break;
            case BPF_JGT:
              taken = a > operand;
              break;
            case BPF_JGE:
              taken = a >= operand;
              break;
            default:
              taken = (a & operand) !== 0;
          }
          pc += taken ? jt[pc] : jf[pc];
        }
      }
    }
    pc++;
  }
}

function alu(op: number, a: number, b: number): number | undefined {
  switch (op) {
    case BPF_ADD:
      return (a + b) >>> 0;
    case BPF_SUB:
      return (a - b) >>> 0;
    case BPF_MUL:
      return Math.imul(a, b) >>> 0;
    case BPF_DIV:
      return b === 0 ? undefined : Math.floor(a / b) >>> 0;
    case BPF_AND:
      return (a & b) >>> 0;
    case BPF_OR:
      return (a | b) >>> 0;
    case BPF_XOR:
      return (a ^ b) >>> 0;
    case BPF_LSH:
      return (a << (b & 31)) >>> 0;
    case BPF_RSH:
      return a >>> (b & 31);
  }
  throw new Error(`Unknown ALU operation 0x${op.toString(16)}`);
}
