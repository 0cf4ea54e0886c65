import assert from "node:assert/strict";
import { authorityRank } from "../compiler/seccomp/actions.ts";
import {
  compileSeccomp,
  createFilterRunner,
  retErrno,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  type SockFilter,
} from "../compiler/seccomp/mod.ts";
import { type SeccompData, seccompDataWords } from "../compiler/seccomp/bpf_interpreter.ts";
import { compareFilters, witnessOf } from "../compiler/seccomp/filter_compare.ts";
import {
  checkReviewable,
  filterPaths,
  FilterTooComplexError,
  MAX_FILTER_PATHS,
} from "../compiler/seccomp/filter_paths.ts";
import {
  atomHolds,
  smallestSolution,
  type WordAtom,
  type WordOp,
} from "../compiler/seccomp/word_constraint.ts";
import type { SeccompPolicy } from "../compiler/seccomp/resolve_policy.ts";
import { diffPlans } from "../audit/grants.ts";
import type { LinuxLaunchPlan } from "../compiler/plan.ts";
import { encodeProgram } from "../compiler/seccomp/bpf.ts";
import { toBase64 } from "../crypto/digest.ts";
import { readPlanInput } from "../cli/plan_input.ts";
import { ROOT } from "./helpers.ts";

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (n: number) => Math.floor(next() * n),
    u32: () => Math.floor(next() * 4294967296) >>> 0,
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)],
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof rng>;

const OPS: readonly WordOp[] = ["eq", "gt", "ge", "set"];
const I386 = 0x40000003;
const X86_64 = 0xc000003e;
const AARCH64 = 0xc00000b7;
const RETS = [
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_LOG,
  retErrno(1),
  retErrno(38),
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_TRAP,
  SECCOMP_RET_TRACE,
  0x12345678, // unknown: the kernel kills the process
];
const CONSTANTS = [
  0,
  1,
  2,
  3,
  16,
  39,
  40,
  41,
  0xff,
  0x40000000,
  0x80000000,
  0xfffffffe,
  0xffffffff,
];
const MASKS = [0x1, 0x3, 0xf0, 0xff, 0x10, 0x80000000, 0xffff0000, 0xffffffff];

Deno.test("the word solver agrees with brute force over boundary values", () => {
  const r = rng(7);
  let checked = 0;
  for (let round = 0; round < 3000; round++) {
    const atoms: WordAtom[] = Array.from({ length: 1 + r.int(4) }, () => ({
      word: 4,
      mask: r.chance(0.5) ? 0xffffffff : r.pick(MASKS),
      op: r.pick(OPS),
      k: r.chance(0.8) ? r.pick(CONSTANTS) : r.u32(),
      holds: r.chance(0.5),
    }));
    const solution = smallestSolution(atoms);
    const candidates = new Set<number>([0, 0xffffffff]);
    for (const a of atoms) {
      for (const v of [a.k - 1, a.k, a.k + 1, a.mask, ~a.mask, a.k | ~a.mask, a.k & a.mask]) {
        candidates.add(v >>> 0);
      }
    }
    for (let i = 0; i < 64; i++) candidates.add(r.u32());
    for (let v = 0; v < 512; v++) candidates.add(v);
    const brute = [...candidates].filter((v) => atoms.every((a) => atomHolds(a, v)));
    if (solution === undefined) {
      assert.deepEqual(brute, [], `no solution claimed for ${JSON.stringify(atoms)}`);
    } else {
      assert.ok(atoms.every((a) => atomHolds(a, solution)), JSON.stringify(atoms));
      // The smallest: no candidate below it satisfies the atoms.
      assert.ok(brute.every((v) => v >= solution), JSON.stringify({ atoms, solution }));
    }
    checked += candidates.size;
  }
  assert.ok(checked > 1_000_000);
});

/** A random program of the reviewable subset: a forward DAG of loads, masks, jumps, rets. */
function randomProgram(r: Rng): SockFilter[] {
  const n = 6 + r.int(22);
  const rets = 1 + r.int(3);
  const program: SockFilter[] = [];
  for (let pc = 0; pc < n; pc++) {
    const room = n - pc - 2; // furthest forward offset that stays inside the program
    if (pc >= n - rets) {
      program.push({ code: 0x06, jt: 0, jf: 0, k: r.pick(RETS) });
    } else if (pc === 0 || r.chance(0.25)) {
      // Mostly arch and nr, then argument words (low and high) of args 0–1.
      const word = r.pick([1, 1, 0, 0, 0, 4, 5, 6, 7, 2]);
      program.push({ code: 0x20, jt: 0, jf: 0, k: word * 4 });
    } else if (r.chance(0.08)) {
      program.push({ code: 0x54, jt: 0, jf: 0, k: r.pick(MASKS) });
    } else if (r.chance(0.05) && room >= 0) {
      program.push({ code: 0x05, jt: 0, jf: 0, k: r.int(room + 1) });
    } else if (r.chance(0.1)) {
      program.push({ code: 0x06, jt: 0, jf: 0, k: r.pick(RETS) });
    } else {
      const code = r.pick([0x15, 0x25, 0x35, 0x45]);
      const k = r.chance(0.3) ? r.pick([X86_64, I386, AARCH64]) : r.pick(CONSTANTS);
      program.push({ code, jt: r.int(room + 1), jf: r.int(room + 1), k });
    }
  }
  return program;
}

/** A mutation: one field of one instruction, or the i386 prefix of attack (c). */
function mutate(r: Rng, program: SockFilter[]): SockFilter[] {
  const out = program.map((i) => ({ ...i }));
  const pc = r.int(out.length);
  const ins = out[pc];
  switch (r.int(5)) {
    case 0:
      if (ins.code === 0x06) ins.k = r.pick(RETS);
      else ins.k = r.chance(0.5) ? r.pick(CONSTANTS) : (ins.k + (r.chance(0.5) ? 1 : -1)) >>> 0;
      break;
    case 1:
      if ((ins.code & 0x07) === 0x05 && ins.code !== 0x05) {
        ins.code = r.pick([0x15, 0x25, 0x35, 0x45]);
      } else ins.k = r.pick(CONSTANTS);
      break;
    case 2:
      if (ins.code !== 0x05 && (ins.code & 0x07) === 0x05) {
        [ins.jt, ins.jf] = [ins.jf, ins.jt];
      } else out[out.length - 1].k = r.pick(RETS);
      break;
    case 3: {
      const rets = out.filter((i) => i.code === 0x06);
      r.pick(rets).k = r.pick(RETS);
      break;
    }
    default:
      // ld arch; jeq I386 → ret ALLOW; then the old program.
      return [
        { code: 0x20, jt: 0, jf: 0, k: 4 },
        { code: 0x15, jt: 0, jf: 1, k: I386 },
        { code: 0x06, jt: 0, jf: 0, k: SECCOMP_RET_ALLOW },
        ...out,
      ];
  }
  return out;
}

/** Boundary values per word: every constant ±1, 0, all ones, the mask bits, random values. */
function boundaryValues(r: Rng, programs: SockFilter[][]): number[] {
  const values = new Set<number>([0, 1, 0xffffffff, X86_64, I386, AARCH64]);
  for (const p of programs) {
    for (const { k } of p) {
      for (const v of [k - 1, k, k + 1, k & -k, ~k, k & 0x7fffffff]) values.add(v >>> 0);
    }
  }
  for (let i = 0; i < 4; i++) values.add(r.u32());
  return [...values];
}

interface PairStats {
  points: number;
  widening: number;
}

/** The example plan with another seccomp program (digest left as is: diff does not check it). */
function withProgram(plan: LinuxLaunchPlan, program: SockFilter[]): LinuxLaunchPlan {
  const seccomp = plan.seccomp!;
  return {
    ...plan,
    seccomp: { ...seccomp, bpfB64: toBase64(encodeProgram(program)), instructions: program.length },
  };
}

const TEMPLATE = (await readPlanInput(`${ROOT}/examples/hello.yaml`)).plan;

/**
 * Checks diff's regions against brute force on one pair: every point where the programs
 * differ lies in a region that says so (so a widening point always yields a widening
 * region), and every region's witness really differs as the region says. Then checks
 * `diffPlans`, what `charter diff` prints and exits by: added syscall authority exactly
 * when brute force or a region finds a widening.
 */
function checkPair(r: Rng, before: SockFilter[], after: SockFilter[], args: number): PairStats {
  const regions = compareFilters(before, after);
  const runA = createFilterRunner(before);
  const runB = createFilterRunner(after);
  for (const region of regions) {
    const w = witnessOf(region.atoms);
    assert.equal(runA(w).ret, region.before, "witness of a region: first program");
    assert.equal(runB(w).ret, region.after, "witness of a region: second program");
  }
  const values = boundaryValues(r, [before, after]);
  let points = 0;
  let widening = 0;
  for (const arch of values) {
    for (const nr of values) {
      for (let i = 0; i < args; i++) {
        const data: SeccompData = {
          nr,
          arch,
          instructionPointer: BigInt(r.pick(values)),
          args: [0, 1].map((_) => (BigInt(r.pick(values)) << 32n) | BigInt(r.pick(values))),
        };
        points++;
        const a = runA(data).ret;
        const b = runB(data).ret;
        if (a === b) continue;
        const words = seccompDataWords(data);
        const region = regions.find((g) => g.atoms.every((x) => atomHolds(x, words[x.word])));
        assert.ok(region, `no region holds the differing point ${JSON.stringify(data, big)}`);
        assert.equal(region.before, a);
        assert.equal(region.after, b);
        if (authorityRank(b) > authorityRank(a)) widening++;
      }
    }
  }
  // Diff's verdict (added authority) is exactly "some region widens".
  const verdict = regions.some((g) => authorityRank(g.after) > authorityRank(g.before));
  if (widening > 0) assert.ok(verdict, "brute force widens, diff does not");
  const { added } = diffPlans(withProgram(TEMPLATE, before), withProgram(TEMPLATE, after));
  assert.equal(added.some((g) => g.mechanism === "syscalls"), verdict, "diffPlans' verdict");
  return { points, widening };
}

const big = (_: string, v: unknown) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v);

Deno.test("diff's regions match brute force on random programs and mutations", () => {
  const r = rng(2024);
  let pairs = 0;
  let points = 0;
  let widening = 0;
  while (pairs < 200) {
    const before = randomProgram(r);
    const after = mutate(r, before);
    try {
      checkReviewable(before);
      checkReviewable(after);
    } catch {
      continue; // a mutation left the subset (a jump made too long)
    }
    const stats = checkPair(r, before, after, 2);
    pairs++;
    points += stats.points;
    widening += stats.widening;
  }
  console.log(`random programs: ${pairs} pairs, ${points} points, ${widening} widening points`);
  assert.ok(widening > 0, "the generator never widened: the property is untested");
});

/** A random policy: allow/deny lists and argument rules with every operator. */
function randomPolicy(r: Rng): SeccompPolicy {
  const names = ["read", "write", "openat", "socket", "clone", "ioctl", "mmap", "kill", "prctl"];
  const action = () =>
    r.pick(["allow", "kill_process", "trap", "log", { errno: "EPERM" }, { errno: 13 }] as const);
  const rules = Array.from({ length: r.int(4) }, () => ({
    syscall: r.pick(["socket", "clone", "ioctl", "prctl", "kill", "mmap"]),
    args: Array.from({ length: 1 + r.int(2) }, () => {
      const op = r.pick(["eq", "ne", "lt", "le", "gt", "ge", "masked_eq"] as const);
      const value = r.pick([0, 1, 2, 10, 0x5401, 0x10000000]);
      return op === "masked_eq"
        ? { arg: r.int(3), op, value: value & 0xff, mask: r.pick([0xff, 0xf, 0x10000000]) }
        : { arg: r.int(3), op, value };
    }),
    action: action(),
  }));
  return {
    default: r.pick([{ errno: "EPERM" }, "allow", "kill_process"] as const),
    allow: names.filter(() => r.chance(0.5)),
    deny: names.filter(() => r.chance(0.15)),
    rules,
  };
}

Deno.test("diff's regions match brute force on compiled policies and their mutations", () => {
  const r = rng(99);
  let pairs = 0;
  let points = 0;
  let widening = 0;
  for (let round = 0; round < 40; round++) {
    const policy = randomPolicy(r);
    const changed = structuredClone(policy);
    switch (r.int(3)) {
      case 0:
        changed.rules?.splice(r.int(changed.rules.length), 1); // a rule removed
        break;
      case 1:
        changed.allow = [...(changed.allow ?? []), r.pick(["socket", "ptrace", "kill"])];
        break;
      default:
        changed.default = r.pick([{ errno: "ENOSYS" }, "allow", "trap"] as const);
    }
    for (const arch of ["x86_64", "aarch64"] as const) {
      let a: SockFilter[];
      let b: SockFilter[];
      try {
        a = compileSeccomp(policy, arch).program;
        b = compileSeccomp(changed, arch).program;
      } catch {
        continue; // a random rule the compiler refuses (out of range for the argument)
      }
      const stats = checkPair(r, a, b, 1);
      pairs++;
      points += stats.points;
      widening += stats.widening;
    }
  }
  console.log(`compiled policies: ${pairs} pairs, ${points} points, ${widening} widening points`);
  assert.ok(pairs > 40 && widening > 0);
});

Deno.test("programs outside the reviewable subset are refused; the analysis is bounded", () => {
  const allow = { code: 0x06, jt: 0, jf: 0, k: SECCOMP_RET_ALLOW };
  assert.throws(() => checkReviewable([{ code: 0x00, jt: 0, jf: 0, k: 1 }, allow]), /subset/);
  assert.throws(() => checkReviewable([{ code: 0x16, jt: 0, jf: 0, k: 0 }]), /subset/);
  assert.throws(() => checkReviewable([{ code: 0x15, jt: 1, jf: 0, k: 0 }, allow]), /leaves/);
  // n tests of distinct bits, both ways on to the next: 2^n feasible paths.
  const chain = (n: number) => [
    { code: 0x20, jt: 0, jf: 0, k: 16 },
    ...Array.from({ length: n }, (_, i) => [
      { code: 0x45, jt: 1, jf: 0, k: 1 << i },
      { code: 0x05, jt: 0, jf: 0, k: 0 },
    ]).flat(),
    allow,
  ];
  assert.equal(MAX_FILTER_PATHS, 2 ** 14);
  assert.equal(filterPaths(chain(14)).length, MAX_FILTER_PATHS);
  checkReviewable(chain(15)); // the shim accepts it…
  assert.throws(() => filterPaths(chain(15)), FilterTooComplexError); // …the review says it cannot
});

Deno.test("the compiler refuses a policy whose program is too complex to review", () => {
  // Rules whose conditions fail independently: 2^n feasible paths.
  const rules = Array.from({ length: 16 }, (_, i) => ({
    syscall: "socket",
    args: [
      { arg: 0, op: "masked_eq" as const, mask: 1 << i, value: 1 << i },
      { arg: 1, op: "masked_eq" as const, mask: 1 << i, value: 1 << i },
    ],
    action: "allow" as const,
  }));
  assert.throws(
    () => compileSeccomp({ default: { errno: "EPERM" }, rules }, "x86_64"),
    /feasible paths/,
  );
  // The same rules on one argument value each: few feasible paths, compiled.
  const few = rules.map((r, i) => ({
    ...r,
    args: [{ arg: 0, op: "eq" as const, value: i }, { arg: 1, op: "eq" as const, value: i }],
  }));
  compileSeccomp({ default: { errno: "EPERM" }, rules: few }, "x86_64");
});
