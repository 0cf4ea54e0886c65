/**
 * Compiled filters under the real kernel: tests/probes/filter_exec.c installs a program
 * with seccomp(2) and makes one raw syscall. The shim's own installation is tested in
 * tests/confine_*; this checks that what the compiler emits does what the policy says.
 */
import assert from "node:assert/strict";
import { compileSeccomp, type SeccompPolicy, syscallNumber } from "../compiler/seccomp/mod.ts";
import { ROOT, tempDir } from "./helpers.ts";

const arch = Deno.build.arch;
const dir = Deno.makeTempDirSync({ prefix: "charter-seccomp-" });
const probe = `${dir}/filter_exec`;
const built = new Deno.Command("cc", {
  args: ["-O2", "-o", probe, `${ROOT}/tests/probes/filter_exec.c`],
}).outputSync();
if (!built.success) throw new Error(new TextDecoder().decode(built.stderr));

const nr = (name: string) => {
  const n = syscallNumber(arch, name);
  if (n === undefined) throw new Error(`no ${name} on ${arch}`);
  return n;
};

/**
 * Installs the policy's filter (none for `null`) and makes one syscall; returns errno, or
 * the killing signal.
 */
async function call(policy: SeccompPolicy | null, number: number, ...args: number[]) {
  using tmp = tempDir();
  if (policy) Deno.writeFileSync(`${tmp}/prog.bpf`, compileSeccomp(policy, arch).bytes);
  const out = await new Deno.Command(probe, {
    args: [policy ? `${tmp}/prog.bpf` : "-", "syscall", String(number), ...args.map(String)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const m = /ret=(-?\d+) errno=(\d+)/.exec(text);
  return {
    signal: out.signal,
    ret: m ? Number(m[1]) : undefined,
    errno: m ? Number(m[2]) : undefined,
  };
}

const EPERM = 1, EACCES = 13, ENOSYS = 38;
const SERVICE: SeccompPolicy = { default: { errno: "EPERM" }, allow: ["@system-service"] };

Deno.test("an allowed syscall works under the filter", async () => {
  const r = await call(SERVICE, nr("getppid"));
  assert.equal(r.errno, 0);
  assert.ok(r.ret! > 0);
});

Deno.test("a denied syscall returns the configured errno", async () => {
  // Without a filter, ptrace(PTRACE_TRACEME) succeeds: the errno below is the filter's.
  assert.equal((await call(null, nr("ptrace"))).errno, 0);
  assert.equal((await call(SERVICE, nr("ptrace"))).errno, EPERM);
  const policy: SeccompPolicy = {
    default: "allow",
    deny: ["ptrace"],
    deny_action: { errno: "EACCES" },
  };
  assert.equal((await call(policy, nr("ptrace"))).errno, EACCES);
});

Deno.test("a killed syscall ends the process with SIGSYS", async () => {
  const r = await call(
    { default: "allow", deny: ["getppid"], deny_action: "kill_process" },
    nr("getppid"),
  );
  assert.equal(r.signal, "SIGSYS");
});

Deno.test("an unknown syscall number returns ENOSYS, a known denied one the policy's errno", async () => {
  assert.equal((await call(SERVICE, 1000)).errno, ENOSYS);
  // umount2(NULL) is EFAULT for root and EPERM otherwise without a filter; with it, EPERM.
  assert.equal((await call(SERVICE, nr("umount2"))).errno, EPERM);
  if (Deno.uid() === 0) assert.notEqual((await call(null, nr("umount2"))).errno, EPERM);
});

Deno.test("clone3 returns ENOSYS so libc falls back to clone", async () => {
  // Without a filter, clone3(NULL, 0) is EINVAL: the ENOSYS below is the filter's.
  assert.equal((await call(null, nr("clone3"))).errno, 22);
  assert.equal((await call({ default: "allow" }, nr("clone3"))).errno, ENOSYS);
});

Deno.test("an argument rule matches on the argument's value", async () => {
  const policy: SeccompPolicy = {
    default: "allow",
    rules: [{
      syscall: "socket",
      args: [{ arg: 0, op: "eq", value: "AF_NETLINK" }],
      action: { errno: "EACCES" },
    }],
  };
  assert.equal((await call(policy, nr("socket"), 16, 3)).errno, EACCES);
  const inet = await call(policy, nr("socket"), 2, 2);
  assert.equal(inet.errno, 0);
  assert.ok(inet.ret! >= 0);
  // int argument: garbage in the upper half is ignored, as the kernel ignores it.
  assert.equal((await call(policy, nr("socket"), 0x100000010, 3)).errno, EACCES);
});

Deno.test({
  name: "x32 syscall numbers are killed on x86_64",
  ignore: arch !== "x86_64",
  fn: async () => {
    const r = await call({ default: "allow" }, 0x40000000 | nr("getppid"));
    assert.equal(r.signal, "SIGSYS");
  },
});

globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
