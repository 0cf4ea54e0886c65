/**
 * The classic BPF interpreter: the kernel's verifier rules for seccomp filters, and
 * execution (every allowed instruction, instruction counts).
 */
import assert from "node:assert/strict";
import {
  BpfVerifyError,
  createFilterRunner,
  runFilter,
  seccompDataWords,
  traceFilter,
  verifyFilter,
} from "../compiler/seccomp/bpf_interpreter.ts";
import {
  BPF_A,
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_B,
  BPF_DIV,
  BPF_H,
  BPF_IMM,
  BPF_IND,
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
  BPF_MEM,
  BPF_MISC,
  BPF_MOD,
  BPF_MSH,
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
  decodeProgram,
  encodeProgram,
  jump,
  type SockFilter,
  stmt,
} from "../compiler/seccomp/bpf.ts";

const RET_ALLOW = stmt(BPF_RET | BPF_K, 0x7fff0000);
const LD = (k: number) => stmt(BPF_LD | BPF_W | BPF_ABS, k);

function rejects(program: SockFilter[], pattern: RegExp) {
  assert.throws(() => verifyFilter(program), (e) => {
    assert.ok(e instanceof BpfVerifyError, String(e));
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("a minimal valid program runs", () => {
  verifyFilter([RET_ALLOW]);
  assert.deepEqual(runFilter([RET_ALLOW], { nr: 0, arch: 0 }), { ret: 0x7fff0000, executed: 1 });
});

Deno.test("the verifier rejects empty and oversized programs", () => {
  rejects([], /empty/);
  rejects(Array.from({ length: 4097 }, () => RET_ALLOW), /4097 instructions/);
  verifyFilter(Array.from({ length: 4096 }, () => RET_ALLOW));
});

Deno.test("the verifier rejects a program whose last instruction is not ret", () => {
  rejects([LD(0)], /last instruction is not a ret/);
  rejects([RET_ALLOW, LD(0)], /last instruction is not a ret/);
});

Deno.test("the verifier rejects jumps out of the program and backward jumps", () => {
  // Conditional offsets are unsigned 8-bit: they can only go forward; beyond the end fails.
  rejects([LD(0), jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 1, 0), RET_ALLOW], /leaves the program/);
  rejects([LD(0), jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 5), RET_ALLOW], /leaves the program/);
  // `ja` takes a 32-bit offset; 0xffffffff would be a jump back by one as a signed number.
  rejects([stmt(BPF_JMP | BPF_JA, 0xffffffff), RET_ALLOW], /leaves the program/);
  rejects([stmt(BPF_JMP | BPF_JA, 1), RET_ALLOW], /leaves the program/);
  verifyFilter([stmt(BPF_JMP | BPF_JA, 0), RET_ALLOW]);
});

Deno.test("the verifier rejects unaligned and out-of-range seccomp_data loads", () => {
  rejects([LD(2), RET_ALLOW], /offset 2 is not an aligned 32-bit word/);
  rejects([LD(64), RET_ALLOW], /offset 64/);
  rejects([LD(0xfffffffc), RET_ALLOW], /offset/);
  verifyFilter([LD(60), RET_ALLOW]);
});

Deno.test("the verifier rejects instructions seccomp does not allow", () => {
  const banned = [
    BPF_LD | BPF_H | BPF_ABS,
    BPF_LD | BPF_B | BPF_ABS,
    BPF_LD | BPF_W | BPF_IND,
    BPF_LDX | BPF_B | BPF_MSH,
    BPF_ALU | BPF_MOD | BPF_K,
    BPF_ALU | BPF_MOD | BPF_X,
    0xff,
  ];
  for (const code of banned) rejects([stmt(code, 0), RET_ALLOW], /not allowed in seccomp/);
});

Deno.test("the verifier rejects division by zero, wide shifts and bad scratch memory", () => {
  rejects([stmt(BPF_ALU | BPF_DIV | BPF_K, 0), RET_ALLOW], /Division by the constant 0/);
  rejects([stmt(BPF_ALU | BPF_LSH | BPF_K, 32), RET_ALLOW], /Shift by 32/);
  rejects([stmt(BPF_ST, 16), RET_ALLOW], /word 16 does not exist/);
  rejects([stmt(BPF_LD | BPF_MEM, 3), RET_ALLOW], /word 3 is read before it is written/);
  // Written on one path only: still rejected.
  rejects(
    [
      LD(0),
      jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1),
      stmt(BPF_ST, 3),
      stmt(BPF_LD | BPF_MEM, 3),
      RET_ALLOW,
    ],
    /word 3 is read before it is written/,
  );
  verifyFilter([stmt(BPF_ST, 3), stmt(BPF_LD | BPF_MEM, 3), RET_ALLOW]);
});

Deno.test("every allowed instruction computes like the kernel", () => {
  const program: SockFilter[] = [
    LD(16), // A = args[0].lo = 100
    stmt(BPF_ALU | BPF_ADD | BPF_K, 5), // 105
    stmt(BPF_ALU | BPF_SUB | BPF_K, 10), // 95
    stmt(BPF_ALU | BPF_MUL | BPF_K, 3), // 285
    stmt(BPF_ALU | BPF_DIV | BPF_K, 2), // 142
    stmt(BPF_ALU | BPF_OR | BPF_K, 0x100), // 398
    stmt(BPF_ALU | BPF_AND | BPF_K, 0xff), // 142
    stmt(BPF_ALU | BPF_XOR | BPF_K, 1), // 143
    stmt(BPF_ALU | BPF_LSH | BPF_K, 4), // 2288
    stmt(BPF_ALU | BPF_RSH | BPF_K, 1), // 1144
    stmt(BPF_MISC | BPF_TAX, 0), // X = 1144
    stmt(BPF_LD | BPF_IMM, 6), // A = 6
    stmt(BPF_ALU | BPF_ADD | BPF_X, 0), // 1150
    stmt(BPF_ST, 0), // M[0] = 1150
    stmt(BPF_ALU | BPF_NEG, 0), // -1150
    stmt(BPF_ALU | BPF_NEG, 0), // 1150
    stmt(BPF_LDX | BPF_IMM, 50), // X = 50
    stmt(BPF_STX, 1), // M[1] = 50
    stmt(BPF_LD | BPF_MEM, 1), // A = 50
    stmt(BPF_LDX | BPF_MEM, 0), // X = 1150
    stmt(BPF_MISC | BPF_TXA, 0), // A = 1150
    stmt(BPF_LD | BPF_W | BPF_LEN, 0), // A = 64
    stmt(BPF_LDX | BPF_W | BPF_LEN, 0), // X = 64
    jump(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 5), // A == X
    jump(BPF_JMP | BPF_JGT | BPF_K, 63, 0, 4), // 64 > 63
    jump(BPF_JMP | BPF_JGE | BPF_K, 64, 0, 3), // 64 >= 64
    jump(BPF_JMP | BPF_JSET | BPF_K, 0x40, 0, 2), // 64 & 0x40
    stmt(BPF_LD | BPF_MEM, 0), // A = 1150
    stmt(BPF_RET | BPF_A, 0),
    stmt(BPF_RET | BPF_K, 0),
  ];
  const r = runFilter(program, { nr: 0, arch: 0, args: [100] });
  assert.deepEqual(r, { ret: 1150, executed: 29 });
  // Unsigned comparisons and X as operand.
  const cmp = [
    LD(16),
    stmt(BPF_LDX | BPF_IMM, 0x80000000),
    jump(BPF_JMP | BPF_JGT | BPF_X, 0, 0, 1),
    stmt(BPF_RET | BPF_K, 1),
    stmt(BPF_RET | BPF_K, 2),
  ];
  assert.equal(runFilter(cmp, { nr: 0, arch: 0, args: [0xffffffff] }).ret, 1);
  assert.equal(runFilter(cmp, { nr: 0, arch: 0, args: [5] }).ret, 2);
  // Division by X = 0 ends the program with 0, as in the kernel.
  const div = [stmt(BPF_ALU | BPF_DIV | BPF_X, 0), RET_ALLOW];
  assert.deepEqual(runFilter(div, { nr: 0, arch: 0 }), { ret: 0, executed: 1 });
});

Deno.test("seccomp_data layout: nr, arch, ip and both words of each argument", () => {
  const words = seccompDataWords({
    nr: -1,
    arch: 0xc00000b7,
    instructionPointer: 0x1122334455667788n,
    args: [-1, 1n << 32n, 0, 0, 0, 7],
  });
  assert.deepEqual(
    [...words],
    [
      0xffffffff,
      0xc00000b7,
      0x55667788,
      0x11223344,
      0xffffffff,
      0xffffffff,
      0,
      1,
      0,
      0,
      0,
      0,
      0,
      0,
      7,
      0,
    ],
  );
  const run = createFilterRunner([LD(12), stmt(BPF_RET | BPF_A, 0)]);
  assert.equal(run({ nr: 0, arch: 0, instructionPointer: 5n << 32n }).ret, 5);
});

Deno.test("traces list the instructions executed; bytes round-trip", () => {
  const program = [LD(0), jump(BPF_JMP | BPF_JEQ | BPF_K, 7, 1, 0), RET_ALLOW, stmt(6, 0)];
  assert.deepEqual(traceFilter(program, { nr: 7, arch: 0 }), [0, 1, 3]);
  assert.deepEqual(traceFilter(program, { nr: 8, arch: 0 }), [0, 1, 2]);
  assert.deepEqual(decodeProgram(encodeProgram(program)), program);
  assert.equal(encodeProgram(program).length, 32);
  // The byte layout of struct sock_filter: u16 code, u8 jt, u8 jf, u32 k, little-endian.
  assert.deepEqual(
    [...encodeProgram([jump(0x15, 0xc000003e, 1, 2)])],
    [0x15, 0x00, 0x01, 0x02, 0x3e, 0x00, 0x00, 0xc0],
  );
  assert.equal(BPF_A, 0x10);
  assert.equal(BPF_TXA | BPF_MISC, 0x87);
  assert.equal(BPF_TAX | BPF_MISC, 0x07);
  assert.equal(BPF_NEG | BPF_ALU, 0x84);
  assert.equal(BPF_JGE | BPF_JMP, 0x35);
  assert.equal(BPF_JGT | BPF_JMP, 0x25);
  assert.equal(BPF_JSET | BPF_JMP, 0x45);
  assert.equal(BPF_LSH | BPF_RSH | BPF_X, 0x78);
  assert.equal(BPF_IMM, 0);
});
