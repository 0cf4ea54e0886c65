/**
 * Differential tests against libseccomp: the same policies built by libseccomp (Debian's
 * python3-seccomp, optimize levels 1 and 2) and by charter, both programs run in charter's
 * interpreter, and their actions compared for every syscall number 0–1023, the x32 range,
 * -1, other architectures, and argument edge values for argument rules.
 *
 * Documented differences, and only these, are allowed:
 * - numbers that are not in the syscall table (holes, above the highest, and -1) get
 *   ERRNO(ENOSYS) from charter and the default action from libseccomp;
 * - syscalls libseccomp 2.5.4 does not know by name on aarch64 (newer than its tables)
 *   cannot be given to it: libseccomp applies the default, charter the policy (checked
 *   against the policy model instead).
 */
import assert from "node:assert/strict";
import {
  describeReturn,
  ENOSYS,
  retErrno,
  SECCOMP_RET_KILL_PROCESS,
} from "../compiler/seccomp/actions.ts";
import { auditArch, type SeccompArch, syscallName } from "../compiler/seccomp/arch.ts";
import { applyBaseline } from "../compiler/seccomp/apply_baseline.ts";
import { BASELINE } from "../compiler/seccomp/baseline.ts";
import { createFilterRunner } from "../compiler/seccomp/bpf_interpreter.ts";
import { socketRules } from "../compiler/seccomp/socket_rules.ts";
import { compileSeccomp } from "../compiler/seccomp/compile_seccomp.ts";
import type { SeccompPolicy } from "../compiler/seccomp/resolve_policy.ts";
import { buildWithLibseccomp, toLibseccompSpec } from "../bench/seccomp_libseccomp.ts";
import { MOBY_DEFAULT_ALLOWLIST } from "../bench/seccomp_moby_allowlist.ts";
import { argVectors, expectedReturn, probeNumbers } from "./seccomp_model.ts";

/**
 * The baseline without the rules libseccomp cannot express: `ne` on a 32-bit argument
 * (personality's persona list, the socket rules of `network.protocols`). The policy-model
 * test (seccomp_compile_test.ts) covers those, and the baseline under a default-deny policy,
 * whose argument rules fall through to an allow libseccomp cannot express.
 */
const TRANSLATABLE_BASELINE = {
  baseline: {
    deny: BASELINE.deny,
    rules: BASELINE.rules.filter((r) => r.args?.every((c) => c.op !== "ne")),
  },
  rules: socketRules(undefined),
};

const POLICIES: Record<string, SeccompPolicy> = {
  "moby allowlist, default EPERM": {
    default: { errno: "EPERM" },
    allow: [...MOBY_DEFAULT_ALLOWLIST],
  },
  "baseline": applyBaseline({ default: "allow" }, "x86_64", TRANSLATABLE_BASELINE).policy,
  "argument rules, default allow": {
    default: "allow",
    deny: ["@mount", "ptrace"],
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
        syscall: "socketpair",
        args: [{ arg: 0, op: "eq", value: "AF_UNIX" }, {
          arg: 1,
          op: "masked_eq",
          mask: 0xf,
          value: "SOCK_DGRAM",
        }],
        action: "trap",
      },
      {
        syscall: "ioctl",
        args: [{ arg: 1, op: "eq", value: "TIOCSTI" }],
        action: { errno: "EPERM" },
      },
      {
        syscall: "ioctl",
        args: [{ arg: 1, op: "eq", value: "TIOCLINUX" }],
        action: { errno: "EPERM" },
      },
      {
        syscall: "mmap",
        args: [{
          arg: 2,
          op: "masked_eq",
          mask: "PROT_WRITE|PROT_EXEC",
          value: "PROT_WRITE|PROT_EXEC",
        }],
        action: { errno: "EACCES" },
      },
      {
        syscall: "prctl",
        args: [{ arg: 0, op: "eq", value: "PR_SET_SECCOMP" }],
        action: { errno: "EPERM" },
      },
      { syscall: "personality", args: [{ arg: 0, op: "eq", value: 0xffffffff }], action: "log" },
      {
        syscall: "lseek",
        args: [{ arg: 1, op: "ge", value: 1n << 63n }],
        action: { errno: "EINVAL" },
      },
      {
        syscall: "pread64",
        args: [{ arg: 3, op: "gt", value: 1n << 40n }],
        action: { errno: "EFBIG" },
      },
      { syscall: "pwrite64", args: [{ arg: 2, op: "lt", value: 4096 }], action: "trap" },
      {
        syscall: "readv",
        args: [{ arg: 2, op: "le", value: (1n << 32n) + 3n }],
        action: { errno: "EIO" },
      },
      { syscall: "mremap", args: [{ arg: 4, op: "eq", value: -1 }], action: { errno: "ENOMEM" } },
      { syscall: "mremap", args: [{ arg: 3, op: "ne", value: 1n << 33n }], action: "trap" },
      {
        syscall: "madvise",
        args: [{ arg: 0, op: "masked_eq", mask: (1n << 40n) | 0xfffn, value: 1n << 40n }],
        action: { errno: "EBUSY" },
      },
      ...TRANSLATABLE_BASELINE.baseline.rules,
    ],
  },
  "kill_process default with allow rules": {
    default: "kill_process",
    allow: ["read", "write", "exit_group", "@signal", "brk"],
    rules: [
      { syscall: "socket", args: [{ arg: 0, op: "eq", value: "AF_UNIX" }], action: "allow" },
      { syscall: "socket", args: [{ arg: 0, op: "eq", value: "AF_INET6" }], action: "allow" },
      {
        syscall: "openat",
        args: [{ arg: 2, op: "masked_eq", mask: "O_ACCMODE", value: "O_RDONLY" }],
        action: "allow",
      },
      {
        syscall: "kill",
        args: [{ arg: 0, op: "eq", value: 0 }, { arg: 1, op: "eq", value: "SIGTERM" }],
        action: "allow",
      },
    ],
  },
  "trap, log and kill actions": {
    default: "trap",
    allow: ["@default", "@io-event"],
    deny: ["@mount", "@swap"],
    deny_action: "kill",
    rules: [
      { syscall: "openat", action: "log" },
      { syscall: "unlinkat", action: { errno: 4094 } },
      { syscall: "memfd_create", action: "kill_process" },
    ],
  },
};

const ARCHES: SeccompArch[] = ["x86_64", "aarch64"];

interface Job {
  name: string;
  policy: SeccompPolicy;
  arch: SeccompArch;
  optimize: 1 | 2;
}

const jobs: Job[] = Object.entries(POLICIES).flatMap(([name, policy]) =>
  ARCHES.flatMap((arch) => ([1, 2] as const).map((optimize) => ({ name, policy, arch, optimize })))
);

let built: Awaited<ReturnType<typeof buildWithLibseccomp>> | undefined;
async function libseccompFilters() {
  built ??= await buildWithLibseccomp(
    jobs.map((j) => toLibseccompSpec(compileSeccomp(j.policy, j.arch), j.optimize)),
  );
  return built;
}

for (const [i, job] of jobs.entries()) {
  Deno.test(`same actions as libseccomp optimize=${job.optimize} on ${job.arch}: ${job.name}`, async () => {
    const theirs = (await libseccompFilters())[i];
    const compiled = compileSeccomp(job.policy, job.arch);
    const ours = createFilterRunner(compiled.program);
    const lib = createFilterRunner(theirs.program);
    const audit = auditArch(job.arch);
    const skipped = new Set(theirs.skipped);
    const enosys = retErrno(ENOSYS);
    let compared = 0;
    let documented = 0;

    const probe = (nr: number, arch: number, args: bigint[] = []) => {
      const data = { nr, arch, args };
      const a = ours(data).ret;
      const b = lib(data).ret;
      const where = `nr ${nr} (${syscallName(job.arch, nr >>> 0) ?? "?"}) arch 0x${
        arch.toString(16)
      } args [${args.map((x) => "0x" + x.toString(16))}]`;
      const name = arch === audit ? syscallName(job.arch, nr >>> 0) : undefined;
      const x32 = job.arch === "x86_64" && nr >>> 0 >= 0x40000000 && nr >>> 0 !== 0xffffffff;
      if (arch === audit && name === undefined && !x32) {
        // Not a syscall: charter says ENOSYS, libseccomp applies its default.
        assert.equal(a, enosys, `charter: ${where}`);
        assert.equal(b, compiled.defaultRet, `libseccomp: ${where}`);
        documented++;
      } else if (name !== undefined && skipped.has(name)) {
        assert.equal(a, expectedReturn(job.policy, job.arch, data), `charter: ${where}`);
        assert.equal(b, compiled.defaultRet, `libseccomp: ${where}`);
        documented++;
      } else {
        if (a !== b) {
          assert.fail(`${where}: charter ${describeReturn(a)}, libseccomp ${describeReturn(b)}`);
        }
        compared++;
      }
    };

    for (const nr of probeNumbers()) {
      probe(nr, audit);
      probe(nr, job.arch === "x86_64" ? auditArch("aarch64") : auditArch("x86_64"));
    }
    for (const syscall of new Set((job.policy.rules ?? []).map((r) => r.syscall))) {
      const decision = compiled.syscalls.find((s) => s.name === syscall);
      if (!decision) continue;
      const conditions = (job.policy.rules ?? []).filter((r) => r.syscall === syscall)
        .flatMap((r) => r.args ?? []);
      for (const args of argVectors(conditions, job.arch)) probe(decision.nr, audit, args);
    }
    assert.ok(compared > 1000, `${compared} probes compared`);
    assert.ok(documented > 0);
    // Wrong architecture and x32 numbers kill the process in both.
    assert.equal(lib({ nr: 0, arch: 0 }).ret, SECCOMP_RET_KILL_PROCESS);
  });
}

Deno.test("libseccomp skips only syscalls newer than its tables", async () => {
  const filters = await libseccompFilters();
  for (const [i, job] of jobs.entries()) {
    for (const name of filters[i].skipped) {
      assert.equal(job.arch, "aarch64", `${name} skipped on ${job.arch}`);
      const nr = compileSeccomp(job.policy, job.arch).syscalls.find((s) => s.name === name)!.nr;
      assert.ok(nr > 456, `${name} (${nr}) skipped`);
    }
  }
});
