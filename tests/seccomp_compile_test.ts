/**
 * The seccomp compiler: programs checked against an independent model of the policy
 * semantics for every syscall number and argument edge values, the program layout and
 * search tree, errors with hints, size limits, long jumps, the baseline, and the
 * disassembler.
 */
import assert from "node:assert/strict";
import {
  describeReturn,
  ENOSYS,
  retErrno,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_KILL_PROCESS,
} from "../compiler/seccomp/actions.ts";
import {
  auditArch,
  type SeccompArch,
  syscallNumber,
  syscallTable,
} from "../compiler/seccomp/arch.ts";
import { applyBaseline } from "../compiler/seccomp/apply_baseline.ts";
import { BASELINE } from "../compiler/seccomp/baseline.ts";
import { BPF_ABS, BPF_JA, BPF_JMP, BPF_LD, BPF_RET, BPF_W } from "../compiler/seccomp/bpf.ts";
import { createFilterRunner, traceFilter } from "../compiler/seccomp/bpf_interpreter.ts";
import { compileSeccomp } from "../compiler/seccomp/compile_seccomp.ts";
import { disassemble } from "../compiler/seccomp/disassemble.ts";
import { SeccompCompileError, SeccompProgramTooLargeError } from "../compiler/seccomp/errors.ts";
import { resolveSyscallNames } from "../compiler/seccomp/groups.ts";
import { socketRules } from "../compiler/seccomp/socket_rules.ts";
import type {
  CompileSeccompOptions,
  SeccompPolicy,
  SeccompRule,
} from "../compiler/seccomp/resolve_policy.ts";
import { MOBY_DEFAULT_ALLOWLIST } from "../bench/seccomp_moby_allowlist.ts";
import { argVectors, expectedReturn, probeNumbers } from "./seccomp_model.ts";

const ARCHES: SeccompArch[] = ["x86_64", "aarch64"];

/** Policies exercising every action, op, width, fall-through and group. */
/** A policy with the baseline (and socket rules for `protocols`) folded in, as lowering does. */
function withBaseline(
  policy: SeccompPolicy,
  protocols?: Parameters<typeof socketRules>[0],
): [SeccompPolicy, CompileSeccompOptions] {
  const combined = applyBaseline(policy, "x86_64", { rules: socketRules(protocols) });
  return [combined.policy, combined.options];
}

const POLICIES: Record<string, [SeccompPolicy, CompileSeccompOptions?]> = {
  "system-service with argument rules": [{
    default: { errno: "EPERM" },
    allow: ["@system-service", "mmap", "clone"],
    deny: ["@mount", "ptrace", "@swap"],
    rules: [
      {
        syscall: "socket",
        args: [{ arg: 0, op: "eq", value: "AF_NETLINK" }],
        action: { errno: "EACCES" },
      },
      {
        syscall: "socket",
        args: [{ arg: 0, op: "eq", value: "AF_PACKET" }],
        action: "kill_process",
      },
      {
        syscall: "socket",
        args: [{ arg: 1, op: "masked_eq", mask: 0xf, value: "SOCK_RAW" }],
        action: "trap",
      },
      {
        syscall: "ioctl",
        args: [{ arg: 1, op: "eq", value: "TIOCSTI" }],
        action: { errno: "EPERM" },
      },
      {
        syscall: "ioctl",
        args: [{ arg: 1, op: "masked_eq", mask: 0xff00, value: 0x5400 }],
        action: "log",
      },
      {
        syscall: "mmap",
        args: [{
          arg: 2,
          op: "masked_eq",
          mask: "PROT_WRITE|PROT_EXEC",
          value: "PROT_WRITE|PROT_EXEC",
        }],
        action: "trap",
      },
      {
        syscall: "prctl",
        args: [{ arg: 0, op: "eq", value: "PR_SET_SECCOMP" }],
        action: { errno: "EPERM" },
      },
      {
        syscall: "prctl",
        args: [{ arg: 0, op: "ge", value: "PR_SET_VMA" }],
        action: { errno: "EINVAL" },
      },
      {
        syscall: "personality",
        args: [{ arg: 0, op: "ne", value: 0 }, { arg: 0, op: "ne", value: "PER_LINUX32" }],
        action: { errno: "EPERM" },
      },
      { syscall: "kill", args: [{ arg: 1, op: "lt", value: "SIGHUP" }], action: { errno: 22 } },
      {
        syscall: "kill",
        args: [{ arg: 1, op: "le", value: "SIGKILL" }, { arg: 0, op: "gt", value: 1 }],
        action: "kill",
      },
      {
        syscall: "lseek",
        args: [{ arg: 1, op: "ge", value: 1n << 63n }],
        action: { errno: "EINVAL" },
      },
      {
        syscall: "lseek",
        args: [{ arg: 1, op: "gt", value: 0xffffffff }, { arg: 2, op: "eq", value: 2 }],
        action: { errno: "ESPIPE" },
      },
      { syscall: "pread64", args: [{ arg: 3, op: "le", value: 4096 }], action: { errno: "EIO" } },
      {
        syscall: "pread64",
        args: [{ arg: 3, op: "lt", value: (1n << 40n) + 7n }],
        action: { errno: "EFBIG" },
      },
      { syscall: "pwrite64", args: [{ arg: 2, op: "ne", value: 1n << 32n }], action: "log" },
      {
        syscall: "mremap",
        args: [{ arg: 3, op: "masked_eq", mask: (1n << 36n) | 3n, value: (1n << 36n) | 1n }],
        action: { errno: "EAGAIN" },
      },
      { syscall: "mremap", args: [{ arg: 4, op: "eq", value: -1 }], action: { errno: "ENOMEM" } },
      {
        syscall: "mremap",
        args: [{ arg: 4, op: "gt", value: 0 }, { arg: 4, op: "lt", value: 1n << 33n }],
        action: "trap",
      },
      {
        syscall: "mremap",
        args: [{ arg: 1, op: "le", value: (1n << 32n) + 9n }, {
          arg: 2,
          op: "gt",
          value: 1n << 32n,
        }],
        action: { errno: "E2BIG" },
      },
      { syscall: "ioctl", args: [{ arg: 2, op: "ge", value: 0 }], action: "log" },
      { syscall: "ioctl", args: [{ arg: 1, op: "lt", value: 0 }], action: "trap" },
      {
        syscall: "fcntl",
        args: [{ arg: 2, op: "masked_eq", mask: 0, value: 0 }],
        action: { errno: "EBADF" },
      },
      ...BASELINE.rules,
    ],
  }],
  "baseline": withBaseline({ default: "allow" }),
  "system-service under the baseline, network with udp": withBaseline(
    { default: { errno: "EPERM" }, allow: ["@system-service", "execveat"] },
    ["udp", "netlink_route"],
  ),
  "kill_process default, allow rules": [{
    default: "kill_process",
    allow: ["read", "write", "exit_group", "@signal"],
    rules: [
      { syscall: "socket", args: [{ arg: 0, op: "eq", value: "AF_UNIX" }], action: "allow" },
      {
        syscall: "socket",
        args: [{ arg: 0, op: "eq", value: "AF_INET" }, {
          arg: 1,
          op: "masked_eq",
          mask: 0xf,
          value: "SOCK_STREAM",
        }],
        action: "allow",
      },
      {
        syscall: "openat",
        args: [{ arg: 2, op: "masked_eq", mask: "O_ACCMODE", value: "O_RDONLY" }],
        action: "allow",
      },
      { syscall: "openat", action: { errno: "EROFS" } },
      { syscall: "openat", args: [{ arg: 2, op: "eq", value: 1 }], action: "allow" }, // unreachable
    ],
  }],
  "trap default, kill deny, clone3 by policy": [
    {
      default: "trap",
      allow: ["@default", "@file-system", "clone3", "@io-event"],
      deny: ["@file-system"],
      deny_action: "kill",
      rules: [{
        syscall: "clone3",
        args: [{ arg: 1, op: "gt", value: 88 }],
        action: { errno: "E2BIG" },
      }],
    },
    { clone3: "policy" },
  ],
  "log default": [{ default: "log", deny: ["@privileged"], allow: ["@privileged"] }],
};

function check(name: string, policy: SeccompPolicy, options: CompileSeccompOptions | undefined) {
  for (const arch of ARCHES) {
    const compiled = compileSeccomp(policy, arch, options);
    const run = createFilterRunner(compiled.program);
    const audit = auditArch(arch);
    let probes = 0;
    const expect = (nr: number, archValue: number, args: bigint[] = []) => {
      const data = { nr, arch: archValue, args };
      const got = run(data).ret;
      const want = expectedReturn(policy, arch, data, options);
      probes++;
      if (got !== want) {
        assert.fail(
          `${name} on ${arch}: nr ${nr} arch 0x${archValue.toString(16)} args ` +
            `[${args.map((a) => "0x" + a.toString(16))}]: got ${describeReturn(got)}, ` +
            `want ${describeReturn(want)}`,
        );
      }
    };
    for (const nr of probeNumbers()) {
      expect(nr, audit);
      expect(nr, 0);
      expect(nr, arch === "x86_64" ? auditArch("aarch64") : auditArch("x86_64"));
    }
    for (const syscall of new Set((policy.rules ?? []).map((r) => r.syscall))) {
      const nr = syscallNumber(arch, syscall);
      if (nr === undefined) continue;
      const conditions = (policy.rules ?? []).filter((r) => r.syscall === syscall)
        .flatMap((r) => r.args ?? []);
      for (const args of argVectors(conditions, arch)) expect(nr, audit, args);
    }
    assert.ok(probes > 3000);
  }
}

for (const [name, [policy, options]] of Object.entries(POLICIES)) {
  Deno.test(`the program means what the policy says: ${name}`, () => check(name, policy, options));
}

Deno.test("layout: arch check, nr load, and no argument loads outside rule leaves", () => {
  for (const arch of ARCHES) {
    const [policy] = POLICIES["system-service with argument rules"];
    const compiled = compileSeccomp(policy, arch);
    const p = compiled.program;
    assert.deepEqual(p[0], { code: BPF_LD | BPF_W | BPF_ABS, jt: 0, jf: 0, k: 4 });
    assert.equal(p[1].code, 0x15);
    assert.equal(p[1].k, auditArch(arch));
    assert.deepEqual(p[2], { code: BPF_LD | BPF_W | BPF_ABS, jt: 0, jf: 0, k: 0 });
    const withRules = new Set(compiled.syscalls.filter((s) => s.rules.length > 0).map((s) => s.nr));
    for (const nr of [...probeNumbers()]) {
      const trace = traceFilter(p, { nr, arch: auditArch(arch) });
      const loads = trace.filter((pc) => p[pc].code === (BPF_LD | BPF_W | BPF_ABS)).map((pc) =>
        p[pc].k
      );
      if (withRules.has(nr)) {
        assert.ok(
          loads.slice(2).every((k) => k >= 16),
          `nr ${nr} loads only arguments in its leaf`,
        );
      } else {
        // Only arch and nr: the kernel can cache the action of this syscall.
        assert.deepEqual(loads, [4, 0], `nr ${nr} loads ${loads}`);
      }
    }
  }
});

Deno.test("the ranges cover every 32-bit number; the tree is balanced", () => {
  for (const arch of ARCHES) {
    const compiled = compileSeccomp(
      { default: { errno: "EPERM" }, allow: [...MOBY_DEFAULT_ALLOWLIST] },
      arch,
    );
    const { ranges } = compiled;
    assert.equal(ranges[0].first, 0);
    assert.equal(ranges.at(-1)!.last, 0xffffffff);
    for (let i = 1; i < ranges.length; i++) {
      assert.equal(ranges[i].first, ranges[i - 1].last + 1);
      assert.notEqual(ranges[i].ret, ranges[i - 1].ret, "adjacent ranges are merged");
    }
    assert.equal(compiled.treeDepth, Math.ceil(Math.log2(ranges.length)));
    const run = createFilterRunner(compiled.program);
    let worst = 0;
    for (const nr of probeNumbers()) {
      worst = Math.max(worst, run({ nr, arch: auditArch(arch) }).executed);
    }
    // ld arch, jeq arch, ld nr, the comparisons, ret.
    assert.equal(worst, 3 + compiled.treeDepth + 1);
    assert.ok(worst <= 12, `worst case ${worst}`);
    assert.ok(compiled.instructionCount < 100, `${compiled.instructionCount} instructions`);
  }
});

Deno.test("unknown numbers get ENOSYS, x32 numbers and other arches KILL_PROCESS", () => {
  const compiled = compileSeccomp({ default: "allow" }, "x86_64");
  const run = createFilterRunner(compiled.program);
  const x86 = auditArch("x86_64");
  assert.equal(run({ nr: 0, arch: x86 }).ret, SECCOMP_RET_ALLOW);
  for (const nr of [335 + 2, 400, 470, 1000, 0x3fffffff, -1]) {
    assert.equal(run({ nr, arch: x86 }).ret, retErrno(ENOSYS), `nr ${nr}`);
  }
  for (const nr of [0x40000000, 0x40000000 + 1, 0x40000200, 0xfffffffe]) {
    assert.equal(run({ nr, arch: x86 }).ret, SECCOMP_RET_KILL_PROCESS, `nr ${nr}`);
  }
  assert.equal(run({ nr: 0, arch: auditArch("aarch64") }).ret, SECCOMP_RET_KILL_PROCESS);
  assert.equal(run({ nr: 0, arch: 0x40000003 }).ret, SECCOMP_RET_KILL_PROCESS); // i386
  assert.equal(run({ nr: 435, arch: x86 }).ret, retErrno(ENOSYS), "clone3");
  const arm = createFilterRunner(compileSeccomp({ default: "allow" }, "aarch64").program);
  assert.equal(arm({ nr: 0x40000000, arch: auditArch("aarch64") }).ret, retErrno(ENOSYS));
  assert.equal(arm({ nr: 2, arch: auditArch("aarch64") }).ret, SECCOMP_RET_ALLOW);
  assert.equal(arm({ nr: 244, arch: auditArch("aarch64") }).ret, retErrno(ENOSYS)); // hole
});

Deno.test("deny beats allow; deny_action defaults", () => {
  const r = (policy: SeccompPolicy, name: string) =>
    compileSeccomp(policy, "x86_64").syscalls.find((s) => s.name === name)!;
  assert.equal(
    r({ default: "allow", allow: ["chmod"], deny: ["@chown", "chmod"] }, "chmod").ret,
    retErrno(1),
  );
  assert.equal(r({ default: { errno: "EACCES" }, deny: ["chmod"] }, "chmod").ret, retErrno(13));
  assert.equal(r({ default: "log", deny: ["chmod"] }, "chmod").ret, retErrno(1));
  assert.equal(r({ default: "allow", deny: ["chmod"], deny_action: "trap" }, "chmod").ret, 0x30000);
  assert.equal(r({ default: "allow", deny: ["chmod"] }, "chmod").reason, "deny");
});

function compileError(
  policy: unknown,
  arch: SeccompArch = "x86_64",
  options?: CompileSeccompOptions,
): SeccompCompileError {
  try {
    compileSeccomp(policy as SeccompPolicy, arch, options);
  } catch (e) {
    assert.ok(e instanceof SeccompCompileError, String(e));
    return e;
  }
  assert.fail("no error");
}

Deno.test("errors name the key and give did-you-mean hints", () => {
  const cases: [unknown, string, RegExp, string | RegExp | undefined][] = [
    [
      { default: "allow", allow: ["read", "opne"] },
      "allow[1]",
      /Unknown syscall "opne"/,
      'did you mean "open"?',
    ],
    [
      { default: "allow", deny: ["@mout"] },
      "deny[0]",
      /Unknown syscall group "@mout"/,
      'did you mean "@mount"?',
    ],
    [
      { default: "allow", deny: ["@sytem-service"] },
      "deny[0]",
      /group/,
      'did you mean "@system-service"?',
    ],
    [
      { default: { errno: "EPREM" } },
      "default.errno",
      /Unknown errno name/,
      'did you mean "EPERM"?',
    ],
    [{ default: "alow" }, "default", /Unknown seccomp action/, /use allow, kill/],
    [{ default: { trace: 1 } }, "default", /trace action is not supported/, /no tracer/],
    [{ default: "allow", alow: [] }, "alow", /Unknown key "alow"/, 'did you mean "allow"?'],
    [{ allow: [] }, "default", /no default action/, /add default/],
    [
      { default: "allow", rules: [{ syscall: "sockte", action: "allow" }] },
      "rules[0].syscall",
      /Unknown syscall "sockte"/,
      'did you mean "socket"?',
    ],
    [
      {
        default: "allow",
        rules: [{ syscall: "socket", args: [{ arg: 0, op: "eqq", value: 1 }], action: "allow" }],
      },
      "rules[0].args[0].op",
      /Unknown comparison/,
      'did you mean "eq"?',
    ],
    [
      {
        default: "allow",
        rules: [{ syscall: "socket", args: [{ arg: 6, op: "eq", value: 1 }], action: "allow" }],
      },
      "rules[0].args[0].arg",
      /not 0 to 5/,
      undefined,
    ],
    [
      {
        default: "allow",
        rules: [{
          syscall: "socket",
          args: [{ arg: 0, op: "eq", value: "AF_NETLNK" }],
          action: "allow",
        }],
      },
      "rules[0].args[0].value",
      /Unknown constant "AF_NETLNK"/,
      'did you mean "AF_NETLINK"?',
    ],
    [
      {
        default: "allow",
        rules: [{
          syscall: "socket",
          args: [{ arg: 0, op: "eq", value: 1n << 32n }],
          action: "allow",
        }],
      },
      "rules[0].args[0].value",
      /does not fit this 32-bit argument/,
      /low 32 bits/,
    ],
    [
      {
        default: "allow",
        rules: [{
          syscall: "socket",
          args: [{ arg: 0, op: "masked_eq", value: 1 }],
          action: "allow",
        }],
      },
      "rules[0].args[0].mask",
      /needs a mask/,
      undefined,
    ],
    [
      {
        default: "allow",
        rules: [{
          syscall: "socket",
          args: [{ arg: 0, op: "eq", value: 1, mask: 1 }],
          action: "allow",
        }],
      },
      "rules[0].args[0].mask",
      /only goes with masked_eq/,
      undefined,
    ],
    [
      {
        default: "allow",
        rules: [{
          syscall: "socket",
          args: [{ arg: 0, op: "masked_eq", mask: 1, value: 3 }],
          action: "allow",
        }],
      },
      "rules[0].args[0].value",
      /can never hold/,
      undefined,
    ],
    [
      { default: "allow", rules: [{ syscall: "@network-io", action: "allow" }] },
      "rules[0].syscall",
      /one syscall, not a group/,
      /one rule per syscall/,
    ],
    [
      { default: "allow", deny: ["ptrace"], rules: [{ syscall: "ptrace", action: "allow" }] },
      "rules[0].action",
      /ptrace is denied, but this rule lets it run/,
      /remove ptrace from deny/,
    ],
    [
      { default: "allow", rules: [{ syscall: "clone3", action: "allow" }] },
      "rules[0].syscall",
      /clone3 rules cannot see its flags/,
      /clone3: "policy"/,
    ],
    [
      { default: "allow", deny: ["read"], deny_action: "log" },
      "deny_action",
      /lets denied syscalls run/,
      undefined,
    ],
    [{ default: "allow", rules: [{ syscall: "read" }] }, "rules[0].action", /no action/, undefined],
  ];
  for (const [policy, path, message, hint] of cases) {
    const e = compileError(policy);
    assert.equal(e.path, path, `${e.message}`);
    assert.match(e.message, message);
    if (hint instanceof RegExp) assert.match(e.hint ?? "", hint, e.message);
    else if (hint !== undefined) assert.equal(e.hint, hint, e.message);
    assert.ok(!e.message.endsWith("."), "no final period");
    assert.equal(e.name, "SeccompCompileError");
  }
  assert.match(
    compileError({ default: "allow" }, "riscv64" as SeccompArch).message,
    /Unsupported architecture/,
  );
});

Deno.test("names an architecture lacks are dropped and reported", () => {
  const arm = compileSeccomp(
    {
      default: { errno: "EPERM" },
      allow: ["@default", "open", "read"],
      rules: [{ syscall: "dup2", action: "kill" }],
    },
    "aarch64",
  );
  for (const name of ["open", "dup2", "mmap2", "riscv_flush_icache", "arch_prctl", "time"]) {
    assert.ok(arm.absent.includes(name), `${name} reported absent on aarch64`);
  }
  assert.ok(!arm.absent.includes("read"));
  const x86 = compileSeccomp({ default: "allow", allow: ["open", "@default"] }, "x86_64");
  assert.ok(!x86.absent.includes("open"));
  assert.ok(x86.absent.includes("mmap2"));
  const r = resolveSyscallNames(["@swap", "open", "read", "@swap"], "aarch64");
  assert.deepEqual(r, { syscalls: ["swapoff", "swapon", "read"], absent: ["open"] });
  // Nested groups expand: @system-service includes @default, which includes @sandbox.
  const nested = resolveSyscallNames(["@system-service"], "x86_64").syscalls;
  for (const name of ["landlock_restrict_self", "getpid", "epoll_wait", "setresuid"]) {
    assert.ok(nested.includes(name), name);
  }
});

Deno.test("programs over 4096 instructions are refused with a clear error", () => {
  const rules: SeccompRule[] = Array.from({ length: 2100 }, (_, i) => ({
    syscall: "ioctl",
    args: [{ arg: 1, op: "eq", value: 0x1000 + i }],
    action: { errno: 1 + (i % 100) },
  }));
  assert.throws(() => compileSeccomp({ default: "allow", rules }, "x86_64"), (e) => {
    assert.ok(e instanceof SeccompProgramTooLargeError);
    assert.ok(e.instructions > 4096);
    assert.equal(e.limit, 4096);
    assert.match(e.message, /more than the kernel's limit of 4096/);
    return true;
  });
});

Deno.test("long jumps: far targets get ret copies or ja, and still mean the same", () => {
  const rules: SeccompRule[] = [
    ...Array.from({ length: 300 }, (_, i): SeccompRule => ({
      syscall: "ioctl",
      args: [{ arg: 1, op: "eq", value: 0x2000 + 3 * i }],
      action: { errno: 1 + (i % 40) },
    })),
    ...Array.from({ length: 200 }, (_, i): SeccompRule => ({
      syscall: "setsockopt",
      args: [{ arg: 2, op: "eq", value: i }, { arg: 4, op: "gt", value: 100 + i }],
      action: i % 2 ? "trap" : { errno: "EINVAL" },
    })),
  ];
  const policy: SeccompPolicy = { default: { errno: "EPERM" }, allow: ["@system-service"], rules };
  for (const arch of ARCHES) {
    const compiled = compileSeccomp(policy, arch);
    assert.ok(compiled.instructionCount > 1000);
    const p = compiled.program;
    const rets = p.filter((i) => i.code === (BPF_RET | 0x00));
    const distinctRets = new Set(rets.map((i) => i.k));
    const jas = p.filter((i) => i.code === (BPF_JMP | BPF_JA));
    assert.ok(rets.length > distinctRets.size || jas.length > 0, "some jump was too long");
    const run = createFilterRunner(p);
    const audit = auditArch(arch);
    const ioctl = syscallNumber(arch, "ioctl")!;
    for (let i = 0; i < 300; i++) {
      const args = [0n, BigInt(0x2000 + 3 * i)];
      assert.equal(run({ nr: ioctl, arch: audit, args }).ret, retErrno(1 + (i % 40)));
    }
    const setsockopt = syscallNumber(arch, "setsockopt")!;
    for (const i of [0, 1, 57, 199]) {
      for (const optlen of [0n, BigInt(100 + i), BigInt(101 + i)]) {
        const data = { nr: setsockopt, arch: audit, args: [0n, 0n, BigInt(i), 0n, optlen] };
        assert.equal(run(data).ret, expectedReturn(policy, arch, data));
      }
    }
    for (const nr of probeNumbers()) {
      const data = { nr, arch: audit };
      assert.equal(run(data).ret, expectedReturn(policy, arch, data));
    }
  }
});

Deno.test("compiling is deterministic", () => {
  const [policy] = POLICIES["system-service with argument rules"];
  for (const arch of ARCHES) {
    assert.deepEqual(compileSeccomp(policy, arch).bytes, compileSeccomp(policy, arch).bytes);
  }
});

Deno.test("the baseline denies kernel administration and allows the rest", () => {
  for (const arch of ARCHES) {
    const { policy, options } = applyBaseline({ default: "allow" }, arch, {
      rules: socketRules(undefined),
    });
    const run = createFilterRunner(compileSeccomp(policy, arch, options).program);
    const audit = auditArch(arch);
    const ret = (name: string, args: bigint[] = []) =>
      run({ nr: syscallNumber(arch, name)!, arch: audit, args }).ret;
    for (
      const name of [
        "mount",
        "umount2",
        "pivot_root",
        "fsopen",
        "move_mount",
        "open_tree",
        "init_module",
        "reboot",
        "swapon",
        "ptrace",
        "bpf",
        "userfaultfd",
        "perf_event_open",
        "kexec_load",
        "kexec_file_load",
        "keyctl",
        "add_key",
        "request_key",
        "open_by_handle_at",
        "unshare",
        "setns",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "process_vm_readv",
        "process_vm_writev",
        "kcmp",
        "pidfd_getfd",
      ]
    ) {
      assert.equal(describeReturn(ret(name)), "ERRNO(EPERM)", `${arch} ${name}`);
    }
    for (const name of ["read", "openat", "clone", "execve", "futex", "socket", "ioctl"]) {
      assert.equal(ret(name), SECCOMP_RET_ALLOW, `${arch} ${name}`);
    }
    assert.equal(describeReturn(ret("clone3")), "ERRNO(ENOSYS)");
    assert.equal(ret("clone", [0x11n]), SECCOMP_RET_ALLOW);
    assert.equal(ret("clone", [0x10000000n]), retErrno(1)); // CLONE_NEWUSER
    assert.equal(ret("clone", [0x3d0f00n]), SECCOMP_RET_ALLOW); // threads
    // TIOCSTI and TIOCLINUX, also with garbage in the upper half of the 32-bit cmd.
    assert.equal(ret("ioctl", [0n, 0x5412n]), retErrno(1));
    assert.equal(ret("ioctl", [0n, 0x1_0000_541cn]), retErrno(1));
    assert.equal(ret("ioctl", [0n, 0x5401n]), SECCOMP_RET_ALLOW); // TCGETS
    for (const persona of [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn]) {
      assert.equal(ret("personality", [persona]), SECCOMP_RET_ALLOW, `persona ${persona}`);
    }
    assert.equal(ret("personality", [0x40000n]), retErrno(1)); // ADDR_NO_RANDOMIZE
    assert.equal(describeReturn(ret("socket", [1n, 1n, 0n])), "ERRNO(EAFNOSUPPORT)"); // AF_UNIX
    assert.equal(ret("socket", [2n, 2n, 0n]), SECCOMP_RET_ALLOW); // UDP: the net namespace's
    assert.equal(ret("socketpair", [1n, 1n, 0n]), SECCOMP_RET_ALLOW);
    // A datagram pair can still sendto() any pathname socket.
    assert.equal(describeReturn(ret("socketpair", [1n, 0x80002n, 0n])), "ERRNO(EPROTONOSUPPORT)");
  }
});

Deno.test("allowing a group never re-enables the baseline; unsafe_allow does, by name", () => {
  const sysService = { default: { errno: "EPERM" }, allow: ["@system-service", "execveat"] };
  for (const arch of ARCHES) {
    const audit = auditArch(arch);
    const runner = (unsafeAllow: string[] = []) => {
      const { policy, options } = applyBaseline(sysService, arch, { unsafeAllow });
      const run = createFilterRunner(compileSeccomp(policy, arch, options).program);
      return (name: string, args: bigint[] = []) =>
        describeReturn(run({ nr: syscallNumber(arch, name)!, arch: audit, args }).ret);
    };
    const ret = runner();
    for (const name of ["keyctl", "add_key", "io_uring_setup", "kcmp", "unshare", "userfaultfd"]) {
      assert.equal(ret(name), "ERRNO(EPERM)", `${arch} ${name}`);
    }
    assert.equal(ret("clone", [0x40000000n]), "ERRNO(EPERM)"); // CLONE_NEWNET
    assert.equal(ret("ioctl", [0n, 0x5412n]), "ERRNO(EPERM)");
    const unsafe = runner(["keyctl", "ioctl", "clone3"]);
    assert.equal(unsafe("keyctl"), "ALLOW");
    assert.equal(unsafe("add_key"), "ERRNO(EPERM)");
    assert.equal(unsafe("ioctl", [0n, 0x5412n]), "ALLOW");
    assert.equal(unsafe("clone3"), "ALLOW"); // @system-service has clone3
  }
  assert.throws(
    () => applyBaseline({ default: "allow", allow: ["read", "ptrace"] }, "x86_64"),
    (e: SeccompCompileError) =>
      e.path === "allow[1]" && /unsafe_allow: \[ptrace\]/.test(e.hint ?? ""),
  );
  assert.throws(
    () => applyBaseline({ default: "allow", allow: ["clone3"] }, "x86_64"),
    (e: SeccompCompileError) => e.path === "allow[0]",
  );
  assert.equal(
    applyBaseline({ default: "allow", allow: ["clone3"] }, "x86_64", { unsafeAllow: ["clone3"] })
      .options.clone3,
    "policy",
  );
  assert.throws(
    () =>
      applyBaseline({ default: "allow", rules: [{ syscall: "kcmp", action: "allow" }] }, "x86_64"),
    (e: SeccompCompileError) => e.path === "rules[0].action",
  );
  assert.throws(
    () => applyBaseline({ default: "allow" }, "x86_64", { unsafeAllow: ["read", "ptrcae"] }),
    (e: SeccompCompileError) => e.path === "unsafe_allow[0]" && !e.hint?.includes("did you mean"),
  );
  assert.throws(
    () => applyBaseline({ default: "allow" }, "x86_64", { unsafeAllow: ["ptrcae"] }),
    (e: SeccompCompileError) => e.path === "unsafe_allow[0]" && e.hint === 'did you mean "ptrace"?',
  );
});

Deno.test("the baseline denies every syscall moby's default profile denies a container without capabilities", () => {
  // moby allows these only with arguments (socket, clone, personality: see the rules) or
  // as ENOSYS (clone3); arch_prctl is in its per-arch list.
  const conditional = new Set(["socket", "clone", "personality", "clone3", "arch_prctl"]);
  const moby = new Set(MOBY_DEFAULT_ALLOWLIST);
  const { policy, options } = applyBaseline({ default: "allow" }, "x86_64");
  const run = createFilterRunner(compileSeccomp(policy, "x86_64", options).program);
  const audit = auditArch("x86_64");
  const allowedByUs = [...syscallTable("x86_64").keys()].filter((name) =>
    !moby.has(name) && !conditional.has(name) &&
    run({ nr: syscallNumber("x86_64", name)!, arch: audit }).ret === SECCOMP_RET_ALLOW
  );
  assert.deepEqual(allowedByUs, []);
});

Deno.test("the disassembler names syscalls, fields and actions", () => {
  const compiled = compileSeccomp(
    {
      default: { errno: "EPERM" },
      allow: ["read", "write"],
      rules: [{
        syscall: "socket",
        args: [{ arg: 0, op: "eq", value: "AF_UNIX" }],
        action: "allow",
      }],
    },
    "x86_64",
  );
  const text = disassemble(compiled.program);
  assert.equal(text, disassemble(compiled.bytes));
  const lines = text.trimEnd().split("\n");
  assert.equal(lines.length, compiled.instructionCount + 2);
  assert.match(lines[2], /^ 0000: 0x20 0x00 0x00 0x00000004 {3}ld {2}\$data\[4\] {2}; arch$/);
  assert.match(text, /jeq 3221225534 \(AUDIT_ARCH_X86_64\) true:0002 false:\d{4}/);
  assert.match(text, /ld {2}\$data\[0\] {2}; nr/);
  assert.match(text, /\(socket\)/);
  assert.match(text, /ld {2}\$data\[16\] {2}; args\[0\]\.lo/);
  assert.match(text, /ret ALLOW/);
  assert.match(text, /ret ERRNO\(EPERM\)/);
  assert.match(text, /ret ERRNO\(ENOSYS\)/);
  assert.match(text, /ret KILL_PROCESS/);
  assert.match(text, /\(x32 bit\)/);
  const arm = disassemble(compileSeccomp({ default: "allow", deny: ["mount"] }, "aarch64").program);
  assert.match(arm, /AUDIT_ARCH_AARCH64/);
  assert.match(arm, /\(mount\)/);
});
