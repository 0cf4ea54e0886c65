/**
 * The syscall tables: generated files up to date, agreement with libseccomp's
 * `scmp_sys_resolver` (Debian package `seccomp`) for every name and number it knows, and
 * the v6.18 facts the tables must contain.
 */
import assert from "node:assert/strict";
import { generate } from "../scripts/gen_syscall_tables.ts";
import {
  maxSyscallNumber,
  type SeccompArch,
  syscallName,
  syscallNumber,
  syscallTable,
} from "../compiler/seccomp/arch.ts";
import { SYSTEMD_SYSCALL_GROUPS } from "../compiler/seccomp/syscall_groups_table.ts";

const ARCHES: SeccompArch[] = ["x86_64", "aarch64"];

/** Syscalls newer than libseccomp 2.5.4's tables (which end at 456, futex_requeue). */
const LIBSECCOMP_LAST_KNOWN = 456;
/** Older-numbered x86_64 syscalls libseccomp 2.5.4 does not know either. */
const NEWER_THAN_LIBSECCOMP = new Set(["uretprobe", "uprobe"]);

Deno.test("the generated tables match scripts/syscall-sources", () => {
  for (const [path, text] of generate()) {
    assert.equal(
      Deno.readTextFileSync(path),
      text,
      `${path} is stale: run scripts/gen_syscall_tables.ts`,
    );
  }
});

/** Runs scmp_sys_resolver for every query in one shell; returns query → answer. */
async function resolveAll(arch: SeccompArch, queries: string[]): Promise<Map<string, string>> {
  const script = [
    "command -v scmp_sys_resolver >/dev/null ||",
    '  { echo "scmp_sys_resolver not found: install the Debian package seccomp" >&2; exit 3; }',
    'for q in "$@"; do printf "%s\\t%s\\n" "$q" "$(scmp_sys_resolver -a "$ARCH" "$q")"; done',
  ].join("\n");
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("bash", {
      args: ["-c", script, "resolve", ...queries],
      env: { ARCH: arch },
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    throw new Error(`Cannot run scmp_sys_resolver (install Debian's "seccomp" package): ${e}`);
  }
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const answers = new Map(
    text.trimEnd().split("\n").map((line) => line.split("\t") as [string, string]),
  );
  assert.equal(answers.size, queries.length, "scmp_sys_resolver answered every query");
  return answers;
}

for (const arch of ARCHES) {
  Deno.test(`${arch}: the table agrees with scmp_sys_resolver`, async () => {
    const names = new Set<string>([
      ...syscallTable("x86_64").keys(),
      ...syscallTable("aarch64").keys(),
      ...Object.values(SYSTEMD_SYSCALL_GROUPS).flat().filter((m) => !m.startsWith("@")),
    ]);
    const numbers = Array.from({ length: 1024 }, (_, i) => String(i));
    const answers = await resolveAll(arch, [...names, ...numbers]);

    let checkedNames = 0;
    for (const name of names) {
      const answer = Number(answers.get(name));
      const ours = syscallNumber(arch, name);
      if (answer >= 0) {
        assert.equal(ours, answer, `${arch} ${name}: libseccomp says ${answer}`);
        checkedNames++;
      } else if (answer < -1) {
        // libseccomp knows the name but not on this architecture.
        assert.equal(ours, undefined, `${arch} ${name}: libseccomp says it does not exist here`);
      } else if (ours !== undefined) {
        // libseccomp does not know the name at all: only newer syscalls may be missing.
        assert.ok(
          ours > LIBSECCOMP_LAST_KNOWN || NEWER_THAN_LIBSECCOMP.has(name),
          `${arch} ${name} (${ours}) is unknown to libseccomp yet not newer than its tables`,
        );
      }
    }
    assert.ok(checkedNames > 250, `only ${checkedNames} names checked`);

    for (const nr of numbers) {
      const answer = answers.get(nr)!;
      if (answer === "UNKNOWN") continue;
      assert.equal(syscallName(arch, Number(nr)), answer, `${arch} number ${nr}`);
    }
  });
}

Deno.test("the tables hold the Linux v6.18 numbers", () => {
  for (const arch of ARCHES) {
    assert.equal(syscallNumber(arch, "file_getattr"), 468);
    assert.equal(syscallNumber(arch, "file_setattr"), 469);
    assert.equal(syscallNumber(arch, "open_tree_attr"), 467);
    assert.equal(syscallNumber(arch, "setxattrat"), 463);
    assert.equal(syscallNumber(arch, "mseal"), 462);
    assert.equal(maxSyscallNumber(arch), 469);
    assert.equal(syscallNumber(arch, "landlock_create_ruleset"), 444);
    assert.equal(syscallNumber(arch, "clone3"), 435);
    assert.equal(syscallNumber(arch, "listns"), undefined); // 470 arrived in v6.19
  }
  // linux-facts.md §0.
  const facts: [string, number, number][] = [
    ["execveat", 322, 281],
    ["waitid", 247, 95],
    ["unshare", 272, 97],
    ["prctl", 157, 167],
    ["setsid", 112, 157],
    ["socket", 41, 198],
    ["ioctl", 16, 29],
    ["openat", 257, 56],
    ["mount", 165, 40],
    ["pivot_root", 155, 41],
    ["prlimit64", 302, 261],
    ["setrlimit", 160, 164],
  ];
  for (const [name, x86, arm] of facts) {
    assert.equal(syscallNumber("x86_64", name), x86, name);
    assert.equal(syscallNumber("aarch64", name), arm, name);
  }
  for (const name of ["open", "dup2", "pipe", "fork", "stat"]) {
    assert.equal(syscallNumber("aarch64", name), undefined, `aarch64 has no ${name}`);
  }
  // arm64's ABI selection: renameat, rlimit and memfd_secret rows are in, 32-bit rows out.
  assert.equal(syscallNumber("aarch64", "renameat"), 38);
  assert.equal(syscallNumber("aarch64", "getrlimit"), 163);
  assert.equal(syscallNumber("aarch64", "memfd_secret"), 447);
  assert.equal(syscallNumber("aarch64", "fcntl64"), undefined);
  assert.equal(syscallNumber("aarch64", "clock_gettime64"), undefined);
  // x86_64: the x32 rows (512-547) are out; the upstream name of 185 is "security".
  assert.equal(syscallName("x86_64", 512), undefined);
  assert.equal(syscallNumber("x86_64", "security"), 185);
  assert.equal(syscallNumber("x86_64", "rt_sigaction"), 13);
});

function kernelAtLeast(major: number, minor: number): boolean {
  const [a, b] = Deno.osRelease().split(/[.-]/).map(Number);
  return a > major || (a === major && b >= minor);
}

Deno.test({
  name: "the running x86_64 kernel has syscalls 463-469 and not 470",
  ignore: Deno.build.arch !== "x86_64" || !kernelAtLeast(6, 18) ||
    kernelAtLeast(6, 19),
  fn: async () => {
    // Every call gets invalid fds/pointers, so it fails without doing anything; the point
    // is that it fails with something other than ENOSYS.
    const script = `
import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
for nr in map(int, sys.argv[1:]):
    ctypes.set_errno(0)
    r = libc.syscall(nr, -1, 0, 0, 0, 0, 0)
    print(nr, errno.errorcode.get(ctypes.get_errno(), "OK") if r < 0 else "OK")
`;
    const numbers = [463, 464, 465, 466, 467, 468, 469, 470];
    const out = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", script, ...numbers.map(String)],
      stdout: "piped",
    }).output();
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    const result = new Map(lines.map((l) => l.split(" ") as [string, string]));
    for (const nr of numbers.slice(0, -1)) {
      assert.notEqual(result.get(String(nr)), "ENOSYS", `syscall ${nr} exists on this kernel`);
    }
    assert.equal(result.get("470"), "ENOSYS");
  },
});
