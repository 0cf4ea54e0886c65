/**
 * Classic BPF (`struct sock_filter`) instructions: opcodes, the in-memory form and the
 * byte encoding the kernel takes (8 bytes per instruction: `u16 code, u8 jt, u8 jf, u32 k`,
 * little-endian, the host order of x86_64 and aarch64).
 *
 * @module
 */

/** One classic BPF instruction (`struct sock_filter`). */
export interface SockFilter {
  /** Opcode: class | size/operation | mode/source. */
  code: number;
  /** Forward offset taken when a conditional jump is true (0–255). */
  jt: number;
  /** Forward offset taken when a conditional jump is false (0–255). */
  jf: number;
  /** The constant operand (u32). */
  k: number;
}

/** Instruction classes (`BPF_CLASS`). */
export const BPF_LD = 0x00;
/** Load into X. */
export const BPF_LDX = 0x01;
/** Store A into scratch memory. */
export const BPF_ST = 0x02;
/** Store X into scratch memory. */
export const BPF_STX = 0x03;
/** Arithmetic on A. */
export const BPF_ALU = 0x04;
/** Jumps. */
export const BPF_JMP = 0x05;
/** Return. */
export const BPF_RET = 0x06;
/** Register transfers (TAX/TXA). */
export const BPF_MISC = 0x07;

/** Load size: 32-bit word (`BPF_SIZE`). */
export const BPF_W = 0x00;
/** Load size: 16-bit half word. */
export const BPF_H = 0x08;
/** Load size: byte. */
export const BPF_B = 0x10;

/** Load mode: immediate (`BPF_MODE`). */
export const BPF_IMM = 0x00;
/** Load mode: absolute offset into the input (seccomp_data). */
export const BPF_ABS = 0x20;
/** Load mode: offset relative to X. */
export const BPF_IND = 0x40;
/** Load mode: scratch memory. */
export const BPF_MEM = 0x60;
/** Load mode: input length. */
export const BPF_LEN = 0x80;
/** Load mode: IP header length (packet filters only). */
export const BPF_MSH = 0xa0;

/** ALU operations (`BPF_OP`). */
export const BPF_ADD = 0x00;
/** Subtract. */
export const BPF_SUB = 0x10;
/** Multiply. */
export const BPF_MUL = 0x20;
/** Divide. */
export const BPF_DIV = 0x30;
/** Bitwise or. */
export const BPF_OR = 0x40;
/** Bitwise and. */
export const BPF_AND = 0x50;
/** Shift left. */
export const BPF_LSH = 0x60;
/** Shift right. */
export const BPF_RSH = 0x70;
/** Negate. */
export const BPF_NEG = 0x80;
/** Modulo (not allowed in seccomp filters). */
export const BPF_MOD = 0x90;
/** Exclusive or. */
export const BPF_XOR = 0xa0;

/** Jump operations (`BPF_OP`): always. */
export const BPF_JA = 0x00;
/** Jump if A == operand. */
export const BPF_JEQ = 0x10;
/** Jump if A > operand (unsigned). */
export const BPF_JGT = 0x20;
/** Jump if A >= operand (unsigned). */
export const BPF_JGE = 0x30;
/** Jump if A & operand != 0. */
export const BPF_JSET = 0x40;

/** Operand source: the constant k (`BPF_SRC`). */
export const BPF_K = 0x00;
/** Operand source: register X. */
export const BPF_X = 0x08;
/** Return source: register A (`BPF_RVAL`). */
export const BPF_A = 0x10;

/** MISC operations: A → X. */
export const BPF_TAX = 0x00;
/** MISC operations: X → A. */
export const BPF_TXA = 0x80;

/** The most instructions a filter may have (`BPF_MAXINSNS`). */
export const BPF_MAXINSNS = 4096;
/** Scratch memory words (`BPF_MEMWORDS`). */
export const BPF_MEMWORDS = 16;
/** Bytes per encoded instruction. */
export const SOCK_FILTER_SIZE = 8;

/**
 * Builds a non-jump instruction (`BPF_STMT`).
 *
 * @example
 * ```ts
 * import { BPF_ABS, BPF_LD, BPF_W, stmt } from "./bpf.ts";
 * console.log(stmt(BPF_LD | BPF_W | BPF_ABS, 4)); // { code: 32, jt: 0, jf: 0, k: 4 }
 * ```
 */
export function stmt(code: number, k: number): SockFilter {
  return { code, jt: 0, jf: 0, k: k >>> 0 };
}

/**
 * Builds a jump instruction (`BPF_JUMP`).
 *
 * @example
 * ```ts
 * import { BPF_JEQ, BPF_JMP, BPF_K, jump } from "./bpf.ts";
 * console.log(jump(BPF_JMP | BPF_JEQ | BPF_K, 0xc000003e, 1, 0).code); // 21
 * ```
 */
export function jump(code: number, k: number, jt: number, jf: number): SockFilter {
  return { code, jt, jf, k: k >>> 0 };
}

/**
 * Encodes instructions as the kernel's `struct sock_filter[]` bytes (little-endian).
 *
 * @example
 * ```ts
 * import { encodeProgram } from "./bpf.ts";
 * const bytes = encodeProgram([{ code: 6, jt: 0, jf: 0, k: 0x7fff0000 }]);
 * console.log(bytes.length); // 8
 * ```
 */
export function encodeProgram(program: readonly SockFilter[]): Uint8Array {
  const bytes = new Uint8Array(program.length * SOCK_FILTER_SIZE);
  const view = new DataView(bytes.buffer);
  program.forEach((ins, i) => {
    const at = i * SOCK_FILTER_SIZE;
    view.setUint16(at, ins.code, true);
    view.setUint8(at + 2, ins.jt);
    view.setUint8(at + 3, ins.jf);
    view.setUint32(at + 4, ins.k >>> 0, true);
  });
  return bytes;
}

/** Raised when bytes are not a whole number of `struct sock_filter`s. */
export class BpfDecodeError extends Error {
  /** Creates the error with a description of the problem. */
  constructor(message: string) {
    super(message);
    this.name = "BpfDecodeError";
  }
}

/**
 * Decodes `struct sock_filter[]` bytes (little-endian) into instructions.
 *
 * @example
 * ```ts
 * import { decodeProgram, encodeProgram } from "./bpf.ts";
 * const program = [{ code: 6, jt: 0, jf: 0, k: 0x7fff0000 }];
 * console.log(decodeProgram(encodeProgram(program))[0].k === 0x7fff0000); // true
 * ```
 */
export function decodeProgram(bytes: Uint8Array): SockFilter[] {
  if (bytes.length % SOCK_FILTER_SIZE !== 0) {
    throw new BpfDecodeError(
      `Filter length ${bytes.length} is not a multiple of ${SOCK_FILTER_SIZE} bytes`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const program: SockFilter[] = [];
  for (let at = 0; at < bytes.length; at += SOCK_FILTER_SIZE) {
    program.push({
      code: view.getUint16(at, true),
      jt: view.getUint8(at + 2),
      jf: view.getUint8(at + 3),
      k: view.getUint32(at + 4, true),
    });
  }
  return program;
}
