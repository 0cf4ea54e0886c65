/**
 * Named constants: checked against Python's view of this machine's C headers (errno,
 * socket, os, signal, fcntl, mmap, termios on x86_64), the aarch64 differences, and the
 * did-you-mean hints for unknown names.
 */
import assert from "node:assert/strict";
import {
  argumentConstants,
  ERRNO_NAMES,
  errnoNumber,
  ERRNOS,
  resolveValue,
} from "../compiler/seccomp/constants.ts";
import { SeccompCompileError } from "../compiler/seccomp/errors.ts";

const PY = `
import errno, fcntl, json, mmap, os, signal, socket, termios
out = {"errno": {name: getattr(errno, name) for name in dir(errno) if name.startswith("E")}}
consts = {}
for mod, prefixes in [(socket, ("AF_", "SOCK_", "SOL_SOCKET", "IPPROTO_")),
                      (os, ("O_",)), (fcntl, ("F_", "FD_CLOEXEC")), (mmap, ("PROT_", "MAP_")),
                      (termios, ("TIOC", "FIO", "TCGETS", "TCSETS")), (socket, ("NETLINK_",))]:
    for name in dir(mod):
        if name.startswith(prefixes) and isinstance(getattr(mod, name), int):
            consts[name] = getattr(mod, name)
for sig in signal.Signals:
    consts[sig.name] = int(sig)
out["consts"] = consts
print(json.dumps(out))
`;

async function pythonConstants(): Promise<
  { errno: Record<string, number>; consts: Record<string, number> }
> {
  const out = await new Deno.Command("/usr/bin/python3", { args: ["-c", PY], stdout: "piped" })
    .output();
  assert.equal(out.code, 0);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test({
  name: "errno names and argument constants agree with this machine's C headers",
  ignore: Deno.build.arch !== "x86_64",
  fn: async () => {
    const py = await pythonConstants();
    let errnos = 0;
    for (const [name, value] of Object.entries(py.errno)) {
      assert.equal(ERRNOS[name], value, name);
      errnos++;
    }
    assert.ok(errnos >= 130, `${errnos} errno names compared`);
    const ours = argumentConstants("x86_64");
    // glibc defines O_LARGEFILE as 0 on 64-bit; the kernel's value is the uapi one.
    const skip = new Set(["O_LARGEFILE", "SIGRTMIN", "SIGRTMAX"]);
    let compared = 0;
    for (const [name, value] of Object.entries(py.consts)) {
      if (skip.has(name) || !ours.has(name)) continue;
      assert.equal(ours.get(name), BigInt(value), name);
      compared++;
    }
    assert.ok(compared >= 120, `only ${compared} constants compared`);
  },
});

Deno.test("the full Linux errno list is there, with canonical names for numbers", () => {
  for (let n = 1; n <= 133; n++) {
    if (n === 41 || n === 58) continue; // unused numbers
    assert.ok(ERRNO_NAMES.has(n), `errno ${n}`);
  }
  assert.equal(ERRNO_NAMES.get(11), "EAGAIN");
  assert.equal(ERRNO_NAMES.get(95), "EOPNOTSUPP");
  assert.equal(errnoNumber("EWOULDBLOCK"), 11);
  assert.equal(errnoNumber("ENOSYS"), 38);
  assert.equal(errnoNumber("EHWPOISON"), 133);
});

Deno.test("O_ flags differ between x86_64 and aarch64 where the kernel says so", () => {
  const x86 = argumentConstants("x86_64");
  const arm = argumentConstants("aarch64");
  assert.equal(x86.get("O_DIRECTORY"), 0x10000n);
  assert.equal(arm.get("O_DIRECTORY"), 0x4000n);
  assert.equal(x86.get("O_NOFOLLOW"), 0x20000n);
  assert.equal(arm.get("O_NOFOLLOW"), 0x8000n);
  assert.equal(arm.get("O_DIRECT"), 0o200000n);
  for (const name of ["O_CLOEXEC", "O_PATH", "O_NONBLOCK"]) {
    assert.equal(x86.get(name), arm.get(name), name);
  }
  assert.equal(x86.get("O_CLOEXEC"), 0x80000n);
  assert.equal(x86.get("O_PATH"), 0o10000000n);
  assert.equal(resolveValue("O_RDONLY|O_DIRECTORY", "aarch64"), 0x4000n);
});

Deno.test("constants of linux-facts.md", () => {
  const c = argumentConstants("x86_64");
  const facts: [string, bigint][] = [
    ["CLONE_NEWNS", 0x00020000n],
    ["CLONE_NEWCGROUP", 0x02000000n],
    ["CLONE_NEWUTS", 0x04000000n],
    ["CLONE_NEWIPC", 0x08000000n],
    ["CLONE_NEWUSER", 0x10000000n],
    ["CLONE_NEWPID", 0x20000000n],
    ["CLONE_NEWNET", 0x40000000n],
    ["CLONE_NEWTIME", 0x80n],
    ["CLONE_PIDFD", 0x1000n],
    ["CLONE_INTO_CGROUP", 1n << 33n],
    ["CLONE_CLEAR_SIGHAND", 1n << 32n],
    ["PR_SET_PDEATHSIG", 1n],
    ["PR_SET_NO_NEW_PRIVS", 38n],
    ["PR_CAP_AMBIENT", 47n],
    ["PR_CAPBSET_DROP", 24n],
    ["SIGCHLD", 17n],
    ["TIOCSTI", 0x5412n],
    ["AF_NETLINK", 16n],
    ["AT_EMPTY_PATH", 0x1000n],
  ];
  for (const [name, value] of facts) assert.equal(c.get(name), value, name);
});

Deno.test("values: literals, negatives and names joined by |", () => {
  assert.equal(resolveValue(42, "x86_64"), 42n);
  assert.equal(resolveValue(1n << 63n, "x86_64"), 1n << 63n);
  assert.equal(resolveValue("0x10 | 0o1 | 0b10", "x86_64"), 0x13n);
  assert.equal(resolveValue("-1", "x86_64"), -1n);
  assert.equal(resolveValue("AT_FDCWD", "x86_64"), -100n);
  assert.equal(resolveValue("SOCK_STREAM|SOCK_CLOEXEC", "x86_64"), 0x80001n);
  assert.throws(() => resolveValue(2 ** 60, "x86_64"), SeccompCompileError);
  assert.throws(() => resolveValue("", "x86_64"), SeccompCompileError);
});

Deno.test("unknown names are errors with did-you-mean hints", () => {
  const hint = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof SeccompCompileError, String(e));
      return e.hint;
    }
    assert.fail("no error");
  };
  assert.equal(hint(() => errnoNumber("EPREM")), 'did you mean "EPERM"?');
  assert.equal(hint(() => errnoNumber("eacces")), 'did you mean "EACCES"?');
  assert.equal(hint(() => resolveValue("AF_NETLNK", "x86_64")), 'did you mean "AF_NETLINK"?');
  assert.equal(hint(() => resolveValue("o_cloexec", "x86_64")), 'did you mean "O_CLOEXEC"?');
  assert.equal(
    hint(() => resolveValue("CLONE_NEWUSR|CLONE_NEWNET", "x86_64")),
    'did you mean "CLONE_NEWUSER"?',
  );
  assert.throws(() => errnoNumber("EWHATEVER"), /Unknown errno name "EWHATEVER"/);
});
