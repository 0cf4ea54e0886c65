/**
 * A readable listing of a seccomp program, in the style of libseccomp's
 * `scmp_bpf_disasm`: one line per instruction with its raw fields and a decoded form, jump
 * targets as absolute line numbers, loads named after the `seccomp_data` field, constants
 * compared with the syscall number named after the syscall, and return values named after
 * the action (`ERRNO(EPERM)`, `KILL_PROCESS`, ...).
 *
 * @module
 */
import { describeReturn } from "./actions.ts";
import { archOfAuditArch, type SeccompArch, syscallName } from "./arch.ts";
import {
  BPF_A,
  BPF_ABS,
  BPF_ALU,
  BPF_IMM,
  BPF_JA,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_MEM,
  BPF_MISC,
  BPF_RET,
  BPF_ST,
  BPF_STX,
  BPF_TXA,
  BPF_W,
  BPF_X,
  decodeProgram,
  type SockFilter,
} from "./bpf.ts";

/** Options of {@link disassemble}. */
export interface DisassembleOptions {
  /** Name syscall numbers after this architecture's table (default: the arch the program checks for). */
  arch?: SeccompArch;
}

const ALU_NAMES: Record<number, string> = {
  0x00: "add",
  0x10: "sub",
  0x20: "mul",
  0x30: "div",
  0x40: "or",
  0x50: "and",
  0x60: "lsh",
  0x70: "rsh",
  0x80: "neg",
  0x90: "mod",
  0xa0: "xor",
};
const JUMP_NAMES: Record<number, string> = { 0x10: "jeq", 0x20: "jgt", 0x30: "jge", 0x40: "jset" };

/** What A holds, as far as a straight-line analysis can tell. */
type Source = "nr" | "arch" | "other";

/**
 * Disassembles a program (instructions or `struct sock_filter[]` bytes) into a listing.
 *
 * @example
 * ```ts
 * import { compileSeccomp } from "./compile_seccomp.ts";
 * import { disassemble } from "./disassemble.ts";
 * const text = disassemble(compileSeccomp({ default: "allow", deny: ["ptrace"] }, "x86_64").program);
 * console.log(text.includes("ptrace")); // true
 * ```
 */
export function disassemble(
  program: readonly SockFilter[] | Uint8Array,
  options: DisassembleOptions = {},
): string {
  const insns = program instanceof Uint8Array ? decodeProgram(program) : program;
  const sources = analyse(insns);
  let arch = options.arch;
  const width = Math.max(4, String(insns.length).length);
  const line = (n: number) => String(n).padStart(width, "0");
  const hex = (n: number, digits: number) => "0x" + (n >>> 0).toString(16).padStart(digits, "0");
  const out = [
    ` ${"line".padStart(width)}  OP   JT   JF   K`,
    "=".repeat(width + 30),
  ];
  insns.forEach((ins, pc) => {
    const { code, jt, jf, k } = ins;
    if (arch === undefined && sources[pc] === "arch" && isJump(code)) arch = archOfAuditArch(k);
    const raw = ` ${line(pc)}: ${hex(code, 2)} ${hex(jt, 2)} ${hex(jf, 2)} ${hex(k, 8)}`;
    out.push(`${raw}   ${decode(ins, pc, sources[pc], arch, line)}`);
  });
  return out.join("\n") + "\n";
}

function isJump(code: number): boolean {
  return (code & 0x07) === BPF_JMP && (code & 0xf0) !== BPF_JA;
}

function decode(
  ins: SockFilter,
  pc: number,
  a: Source,
  arch: SeccompArch | undefined,
  line: (n: number) => string,
): string {
  const { code, jt, jf, k } = ins;
  const cls = code & 0x07;
  switch (cls) {
    case BPF_LD:
    case BPF_LDX: {
      const reg = cls === BPF_LD ? "ld " : "ldx";
      const mode = code & 0xe0;
      if (code === (BPF_LD | BPF_W | BPF_ABS)) return `ld  $data[${k}]${fieldName(k)}`;
      if (mode === BPF_LEN && (code & 0x18) === BPF_W) return `${reg} #len`;
      if (mode === BPF_IMM) return `${reg} ${k}`;
      if (mode === BPF_MEM) return `${reg} $temp[${k}]`;
      return `${reg} ??? (unsupported mode)`;
    }
    case BPF_ST:
      return `st  $temp[${k}]`;
    case BPF_STX:
      return `stx $temp[${k}]`;
    case BPF_ALU: {
      const name = ALU_NAMES[code & 0xf0] ?? "???";
      if ((code & 0xf0) === 0x80) return "neg";
      return (code & BPF_X) ? `${name} X` : `${name} ${hexOrDec(k)}`;
    }
    case BPF_JMP: {
      if ((code & 0xf0) === BPF_JA) return `jmp ${line(pc + 1 + k)}`;
      const name = JUMP_NAMES[code & 0xf0] ?? "j???";
      const operand = (code & BPF_X) ? "X" : `${k}${constantName(k, a, arch)}`;
      return `${name} ${operand} true:${line(pc + 1 + jt)} false:${line(pc + 1 + jf)}`;
    }
    case BPF_RET:
      if ((code & 0x18) === BPF_A) return "ret A";
      if ((code & 0x18) === BPF_K) return `ret ${describeReturn(k)}`;
      return "ret ???";
    case BPF_MISC:
      return (code & 0xf8) === BPF_TXA ? "txa" : "tax";
  }
  return "???";
}

function hexOrDec(k: number): string {
  return k > 9 ? `0x${(k >>> 0).toString(16)}` : String(k);
}

function fieldName(k: number): string {
  if (k === 0) return "  ; nr";
  if (k === 4) return "  ; arch";
  if (k === 8 || k === 12) return `  ; instruction_pointer.${k === 8 ? "lo" : "hi"}`;
  if (k >= 16 && k < 64) return `  ; args[${(k - 16) >> 3}].${(k & 4) ? "hi" : "lo"}`;
  return "";
}

function constantName(k: number, a: Source, arch: SeccompArch | undefined): string {
  if (a === "arch") {
    const name = archOfAuditArch(k);
    return name ? ` (AUDIT_ARCH_${name.toUpperCase()})` : "";
  }
  if (a === "nr") {
    if (k === 0x40000000) return " (x32 bit)";
    const name = arch ? syscallName(arch, k) : undefined;
    return name ? ` (${name})` : "";
  }
  return k > 9 ? ` (0x${(k >>> 0).toString(16)})` : "";
}

/** For each instruction: what A holds when it runs, merged over all paths reaching it. */
function analyse(insns: readonly SockFilter[]): Source[] {
  const incoming: (Source | undefined)[] = new Array(insns.length).fill(undefined);
  const merge = (at: number, s: Source) => {
    if (at >= insns.length) return;
    const cur = incoming[at];
    incoming[at] = cur === undefined || cur === s ? s : "other";
  };
  incoming[0] = "other";
  const result: Source[] = [];
  insns.forEach((ins, pc) => {
    const before = incoming[pc] ?? "other";
    result.push(before);
    const { code, k } = ins;
    const cls = code & 0x07;
    let after: Source = before;
    if (cls === BPF_LD) {
      after = code === (BPF_LD | BPF_W | BPF_ABS) && k === 0
        ? "nr"
        : code === (BPF_LD | BPF_W | BPF_ABS) && k === 4
        ? "arch"
        : "other";
    } else if (cls === BPF_ALU || (cls === BPF_MISC && (code & 0xf8) === BPF_TXA)) {
      after = "other";
    }
    if (cls === BPF_RET) return;
    if (cls === BPF_JMP) {
      if ((code & 0xf0) === BPF_JA) merge(pc + 1 + k, after);
      else {
        merge(pc + 1 + ins.jt, after);
        merge(pc + 1 + ins.jf, after);
      }
      return;
    }
    merge(pc + 1, after);
  });
  return result;
}
