/**
 * The learn evaluator and proposal writer over recorded-access fixtures: the plan is
 * compiled from a real policy; its real seccomp program runs in the BPF interpreter.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { buildStatement } from "../compiler/compile.ts";
import { compileSeccomp, decodeProgram, runFilter } from "../compiler/seccomp/mod.ts";
import { learnParts, learnPlan } from "../compiler/learn_filter.ts";
import { grantsOf } from "../audit/grants.ts";
import { loadPolicy } from "../policy/load.ts";
import { accessesOf, type SyscallRecord } from "../learn/access.ts";
import { createEvaluator, type Grant } from "../learn/evaluate.ts";
import { proposeGrants, writeProposal } from "../learn/propose.ts";
import { fromBase64 } from "../crypto/digest.ts";
import { tempDir, writePolicy } from "./helpers.ts";

const X86 = 0xc000003e;
const AT_FDCWD = "18446744073709551516";
const nr: Record<string, number> = {
  openat: 257,
  connect: 42,
  io_uring_setup: 425,
  mkdirat: 258,
  execve: 59,
  socket: 41,
  ptrace: 101,
  newfstatat: 262,
};

function record(name: string, args: (string | number)[], extra: Partial<SyscallRecord> = {}) {
  const six = [...args.map(String), "0", "0", "0", "0", "0", "0"].slice(0, 6);
  return { pid: 7, arch: X86, nr: nr[name], args: six, ...extra };
}

/**
 * The plan of a policy, in the host's tree: these cases evaluate Landlock and seccomp alone
 * (the listed view, the default, is given explicitly where a case is about it).
 */
async function planOf(dir: string, yaml: string) {
  const host = yaml.includes("filesystem: {")
    ? yaml.replace("filesystem: {", "filesystem: { view: host,")
    : yaml.includes("filesystem:\n")
    ? yaml.replace("filesystem:\n", "filesystem:\n  view: host\n")
    : `${yaml}filesystem: { view: host }\n`;
  const loaded = await loadPolicy(writePolicy(dir, "p.yaml", host), { typeCheck: false });
  return (await buildStatement(loaded, { compiledOn: new Date(0) })).predicate;
}

const skip = Deno.build.arch !== "x86_64";

Deno.test({
  name: "learn evaluator: every kind of denial names the key that allows it",
  ignore: skip,
  async fn() {
    using dir = tempDir();
    Deno.mkdirSync(`${dir}/in`);
    Deno.mkdirSync(`${dir}/out`);
    Deno.writeTextFileSync(`${dir}/in/data`, "x");
    const plan = await planOf(
      String(dir),
      `version: 1\nname: x\ntarget: { exe: /bin/true }\nfilesystem:\n  read: [/usr, ${dir}/in]\n  write: [${dir}/out]\n` +
        `network: { connect_tcp: [80] }\nsyscalls:\n  default: { errno: EPERM }\n  allow: ["@system-service"]\n`,
    );
    const evaluator = createEvaluator(plan);
    const lines = (r: SyscallRecord) =>
      accessesOf(r).flatMap((a) => evaluator.evaluate(a)).map((d) => d.line);
    const O_WRONLY_CREAT = 0o101;
    // Reading the input and writing the output are allowed.
    assert.deepEqual(lines(record("openat", [AT_FDCWD, 0, 0], { paths: [`${dir}/in/data`] })), []);
    assert.deepEqual(
      lines(record("openat", [AT_FDCWD, 0, O_WRONLY_CREAT], { paths: [`${dir}/out/new`] })),
      [],
    );
    // Writing the input directory is not: a write right on the file, a create in the dir.
    assert.deepEqual(
      lines(record("openat", [AT_FDCWD, 0, O_WRONLY_CREAT], { paths: [`${dir}/in/data`] })),
      [`write ${dir}/in/data → filesystem.write`, `create ${dir}/in/data → filesystem.write`],
    );
    // A directory above the work dirs is not readable.
    assert.deepEqual(lines(record("openat", [AT_FDCWD, 0, 0o200000], { paths: [String(dir)] })), [
      `list ${dir} → filesystem.read`,
    ]);
    assert.deepEqual(lines(record("execve", [0], { paths: [`${dir}/in/data`] })), [
      `exec ${dir}/in/data → filesystem.exec`,
    ]);
    assert.deepEqual(
      lines(record("connect", [3, 0, 16], { sockaddr: { family: 2, port: 5432 } })),
      [
        "connect tcp 5432 → network.connect_tcp",
      ],
    );
    assert.deepEqual(
      lines(record("connect", [3, 0, 16], { sockaddr: { family: 2, port: 80 } })),
      [],
    );
    // The baseline's denials need unsafe_allow; a syscall outside the allow list needs syscalls.
    assert.deepEqual(lines(record("io_uring_setup", [8, 0])), [
      "io_uring_setup → syscalls.unsafe_allow",
    ]);
    assert.deepEqual(lines(record("socket", [2, 2, 0])), ["socket udp → network.protocols"]);
    const narrow = createEvaluator(
      await planOf(
        String(dir),
        "version: 1\nname: x\ntarget: { exe: /bin/true }\nsyscalls:\n  default: { errno: EPERM }\n  allow: [read, write, exit_group, execveat]\n",
      ),
    );
    const denied = accessesOf(record("mkdirat", [AT_FDCWD, 0, 0o755], { paths: ["/tmp/z"] }))
      .flatMap((a) => narrow.evaluate(a));
    assert.deepEqual(denied.map((d) => d.line), [
      "mkdirat → syscalls",
      "create /tmp/z → filesystem.write",
    ]);
  },
});

Deno.test({
  name: "learn evaluator: a port needs the network key when the child has its own net namespace",
  ignore: skip,
  async fn() {
    using dir = tempDir();
    const plan = await planOf(String(dir), "version: 1\nname: x\ntarget: { exe: /bin/true }\n");
    const denials = accessesOf(
      record("connect", [3, 0, 16], { sockaddr: { family: 10, port: 5432 } }),
    )
      .flatMap((a) => createEvaluator(plan).evaluate(a));
    assert.deepEqual(denials.map((d) => [d.mechanism, d.line]), [
      ["namespaces", "connect tcp 5432 → network.connect_tcp"],
    ]);
  },
});

Deno.test({
  name: "learn filter: denials notify, watched calls notify, allowed calls still run",
  ignore: skip,
  async fn() {
    using dir = tempDir();
    const plan = await planOf(
      String(dir),
      "version: 1\nname: x\ntarget: { exe: /bin/true }\nsyscalls:\n  default: { errno: EPERM }\n  allow: [read, write, exit_group, execveat, openat]\n",
    );
    const learn = learnParts(fromBase64(plan.seccomp!.bpfB64), "x86_64", []);
    const program = decodeProgram(learn.notify);
    const ret = (n: number) => runFilter(program, { nr: n, arch: X86 }).ret >>> 0;
    const NOTIFY = 0x7fc00000;
    assert.deepEqual(ret(0), 0x7fff0000); // read: allowed, not watched
    assert.deepEqual(ret(nr.openat), NOTIFY); // allowed but watched
    assert.deepEqual(ret(nr.mkdirat), NOTIFY); // denied by the policy
    assert.deepEqual(ret(nr.ptrace), NOTIFY); // denied by the baseline (the supervisor keeps it denied)
    assert.deepEqual(runFilter(program, { nr: 0, arch: 0x40000003 }).ret >>> 0, NOTIFY);
    // The baseline program the supervisor consults denies ptrace and lets mkdirat run.
    const baseline = decodeProgram(fromBase64(learn.section.baselineBpfB64));
    assert((runFilter(baseline, { nr: nr.ptrace, arch: X86 }).ret >>> 0) !== 0x7fff0000);
    assert.deepEqual(runFilter(baseline, { nr: nr.mkdirat, arch: X86 }).ret >>> 0, 0x7fff0000);
    assert(compileSeccomp({ default: "allow" }, "x86_64").program.length > 0);
  },
});

Deno.test({
  name: "learn proposal: minimal, collapsed where no wider than needed, never / or a home",
  ignore: skip,
  async fn() {
    using dir = tempDir();
    Deno.mkdirSync(`${dir}/out`);
    // Opening a missing file is no Landlock denial: the fixtures exist.
    for (const f of ["out/a", "out/b", "out/c", "in.txt"]) {
      Deno.writeTextFileSync(`${dir}/${f}`, "");
    }
    const plan = await planOf(String(dir), "version: 1\nname: x\ntarget: { exe: /bin/true }\n");
    const evaluator = createEvaluator(plan);
    const records = [
      ...["a", "b", "c", "a"].map((f) =>
        record("openat", [AT_FDCWD, 0, 0o1101], { paths: [`${dir}/out/${f}`] })
      ),
      record("openat", [AT_FDCWD, 0, 0], { paths: [`${dir}/in.txt`] }),
      record("openat", [AT_FDCWD, 0, 0o101], { paths: ["/rootfile"] }),
      record("openat", [AT_FDCWD, 0, 0o101], { paths: ["/home/u/.history"] }),
      record("connect", [3, 0, 16], { sockaddr: { family: 2, port: 5432 } }),
      record("connect", [3, 0, 16], { sockaddr: { family: 2, port: 5432 } }),
    ];
    const denials = records.flatMap((r) => accessesOf(r)).flatMap((a) => evaluator.evaluate(a));
    const proposal = proposeGrants(denials, { targetExe: [], profiles: [], homes: ["/home/u"] });
    const grants = proposal.grants.map((g) => `${g.key} ${g.value} ${g.count}`);
    assert.deepEqual(
      grants.sort(),
      [
        `filesystem.read ${dir}/in.txt 1`,
        `filesystem.write ${dir}/out 8`,
        "network.connect_tcp 5432 2",
      ].sort(),
    );
    assert.deepEqual(proposal.refused.map((r) => `${r.value}: ${r.reason}`), [
      "/: it is the whole filesystem",
      "/home/u: it is a user's home directory",
    ]);
    const yaml = writeProposal(
      "version: 1\nname: x # keep me\ntarget: { exe: /bin/true }\n",
      proposal,
    );
    assert(yaml.includes("name: x # keep me"), yaml);
    assert(yaml.includes("    - 5432 # learn: connect tcp 5432 (2×)"), yaml);
    // The proposal is a valid policy.
    const loaded = await loadPolicy(writePolicy(String(dir), "q.yaml", yaml), { typeCheck: false });
    assert.deepEqual(loaded.policy.network?.connect_tcp, [5432]);
  },
});

Deno.test("learn proposal: a built-in profile that runs the target replaces its grants", () => {
  const read = (path: string) =>
    ({
      access: { kind: "path", op: "read", path, rights: ["read_file"], at: path },
      mechanism: "landlock",
      grant: { key: "filesystem.read", value: path },
      line: `read ${path} → filesystem.read`,
    }) as const;
  const proposal = proposeGrants([read("/usr/lib/python3/x.py"), read("/data/in")], {
    targetExe: ["/usr/bin/python3"],
    profiles: [{ name: "builtin:python", read: ["/usr/lib/python3"], exec: ["/usr/bin/python3"] }],
    homes: [],
  });
  assert.deepEqual(proposal.profiles.map((p) => p.name), ["builtin:python"]);
  assert.deepEqual(proposal.grants.map((g) => g.value), ["/data/in"]);
  const yaml = writeProposal("version: 1\nname: x\ntarget: { exe: /usr/bin/python3 }\n", proposal);
  assert(yaml.includes("extends:\n  - builtin:python # learn:"), yaml);
});

Deno.test("learn proposal: a list that replaces a default brings builtin:base; /proc/self is refused", () => {
  const read = (path: string) =>
    ({
      access: { kind: "path", op: "read", path, rights: ["read_file"], at: path },
      mechanism: "landlock",
      grant: { key: "filesystem.read", value: path },
      line: `read ${path} → filesystem.read`,
    }) as const;
  const proposal = proposeGrants([read("/data/in"), read("/proc/self/maps")], {
    targetExe: [],
    profiles: [],
    homes: [],
    defaulted: ["filesystem.read", "filesystem.write"],
  });
  assert.deepEqual(proposal.profiles.map((p) => p.name), ["builtin:base"]);
  assert.match(proposal.profiles[0].why, /default filesystem\.read, which/);
  assert.deepEqual(proposal.grants.map((g) => g.value), ["/data/in"]);
  assert.deepEqual(proposal.refused.map((r) => r.value), ["/proc/self/maps"]);
});

Deno.test({
  name: "learn evaluator: exec of a #! script needs execute on its interpreter too",
  ignore: skip,
  async fn() {
    using dir = tempDir();
    Deno.writeTextFileSync(`${dir}/hook.sh`, "#!/bin/sh\necho hi\n", { mode: 0o755 });
    const plan = await planOf(
      String(dir),
      `version: 1\nname: x\ntarget: { exe: /bin/true }\nfilesystem:\n  exec: [${dir}/hook.sh]\n`,
    );
    const denials = accessesOf(record("execve", [0], { paths: [`${dir}/hook.sh`] }))
      .flatMap((a) => createEvaluator(plan).evaluate(a));
    assert.deepEqual(denials.map((d) => [d.line, d.grant.value]), [
      [`exec /bin/sh (interpreter of ${dir}/hook.sh) → filesystem.exec`, "/bin/sh"],
    ]);
  },
});

Deno.test({
  name:
    "learn plan: Landlock and the filter are replaced, and verify/explain say it is a learn plan",
  ignore: skip,
  async fn() {
    using dir = tempDir();
    const plan = await planOf(
      String(dir),
      "version: 1\nname: x\ntarget: { exe: /bin/true }\nfilesystem: { write: [/tmp] }\n",
    );
    const learning = await learnPlan(plan, []);
    const ids = learning.schedule.map((p) => p.id);
    assert.ok(ids.includes("linux.confine.learn.v1") && !ids.includes("linux.confine.seccomp.v1"));
    assert.ok(!ids.includes("linux.confine.landlock.v1") && learning.landlock === undefined);
    assert.equal(learning.learn?.socketFd, 1000);
    const texts = grantsOf(learning).map((g) => g.text);
    assert.ok(
      texts.some((t) => t.startsWith("learn mode (charter learn): no Landlock")),
      texts.join("\n"),
    );
    assert.ok(texts.includes("whole filesystem (no Landlock filesystem rules)"));
  },
});

Deno.test("learn proposal: a profile that grants several needed things is preferred (network-client)", () => {
  const denial = (key: Grant["key"], value: string | number) =>
    ({
      access: { kind: "tcp", op: "connect", port: 0 },
      mechanism: "landlock",
      grant: { key, value },
      line: `x ${value} → ${key}`,
    }) as const;
  const networkClient = {
    name: "builtin:network-client",
    read: ["/etc/ssl", "/etc/resolv.conf"],
    exec: [],
    connectTcp: [80, 443],
    protocols: ["udp"],
  };
  const needs = [
    denial("network.connect_tcp", 443),
    denial("filesystem.read", "/etc/resolv.conf"),
    denial("filesystem.read", "/etc/ssl/certs/ca.pem"),
    denial("filesystem.read", "/data/in"),
  ];
  const chosen = proposeGrants(needs, { targetExe: [], profiles: [networkClient], homes: [] });
  assert.deepEqual(chosen.profiles.map((p) => p.name), ["builtin:network-client"]);
  assert.deepEqual(chosen.grants.map((g) => g.value), ["/data/in"]);
  // Covering two needed things is not enough: the grants stay explicit.
  const two = proposeGrants(needs.slice(0, 2), {
    targetExe: [],
    profiles: [networkClient],
    homes: [],
  });
  assert.deepEqual(two.profiles, []);
  assert.equal(two.grants.length, 2);
});

Deno.test({
  name: "learn plan: a listed view is left out (the run sees the host tree), a host view stays",
  ignore: skip,
  async fn() {
    using dir = tempDir();
    const plan = await planOf(String(dir), "version: 1\nname: x\ntarget: { exe: /bin/true }\n");
    // The view section as VIEW_CONTRACT.md fixes it (the compiler's own lands with issue 10).
    const at = plan.schedule.findIndex((p) => p.id === "linux.visibility.cwd.v1");
    const withView = (mode: string) =>
      ({
        ...plan,
        schedule: [
          ...plan.schedule.slice(0, at),
          { id: "linux.visibility.view.v1", phase: 2 },
          ...plan.schedule.slice(at),
        ],
        view: { mode, enforce: "required", mounts: [] },
      }) as unknown as typeof plan;
    const listed = await learnPlan(withView("listed"), []) as typeof plan & { view?: unknown };
    assert.ok(!listed.schedule.some((p) => (p.id as string) === "linux.visibility.view.v1"));
    assert.equal(listed.view, undefined);
    const host = await learnPlan(withView("host"), []) as typeof plan & { view?: unknown };
    assert.ok(host.schedule.some((p) => (p.id as string) === "linux.visibility.view.v1"));
    assert.deepEqual(host.view, { mode: "host", enforce: "required", mounts: [] });
  },
});

Deno.test("learn proposal: a recorded path cannot inject YAML (a program names what it likes)", () => {
  const evil = "/tmp/x\nfilesystem:\n  write: [/]\n# ";
  const text = writeProposal("version: 1\nname: x\ntarget: { exe: /bin/true }\n", {
    profiles: [],
    grants: [{ key: "filesystem.read", value: evil, count: 1, accesses: [`read ${evil}`] }],
    refused: [],
  });
  assert.deepEqual(parse(text), {
    version: 1,
    name: "x",
    target: { exe: "/bin/true" },
    filesystem: { read: [evil] },
  });
});

Deno.test({
  name:
    "learn evaluator: under a listed view a lookup (stat) of a path it does not show needs a grant",
  ignore: skip,
  async fn() {
    using dir = tempDir();
    const plan = await planOf(String(dir), "version: 1\nname: x\ntarget: { exe: /bin/true }\n");
    const listed = {
      ...plan,
      view: {
        mode: "listed",
        enforce: "required",
        mounts: [
          { kind: "root", target: "/", sizeBytes: 1, flags: [] },
          { kind: "bind", source: "/usr", target: "/usr", flags: [] },
          { kind: "tmpfs", target: "/tmp", sizeBytes: 1, flags: [] },
        ],
      },
    } as unknown as typeof plan;
    const AT_EMPTY_PATH = 0x1000;
    const lookups = (p: typeof plan, path: string, flags = 0) =>
      accessesOf(record("newfstatat", [AT_FDCWD, 0, 0, flags], { paths: [path] }))
        .flatMap((a) => createEvaluator(p).evaluate(a)).map((d) => d.line);
    assert.deepEqual(lookups(listed, "/etc/hostname"), ["lookup /etc/hostname → filesystem.read"]);
    assert.deepEqual(lookups(listed, "/usr/lib"), []); // shown
    assert.deepEqual(lookups(listed, "/"), []); // a directory on the way to an entry
    assert.deepEqual(lookups(listed, "/etc/no-such-file"), []); // ENOENT anyway
    assert.deepEqual(lookups(listed, "/etc/hostname", AT_EMPTY_PATH), []); // fstat(fd)
    assert.deepEqual(lookups(plan, "/etc/hostname"), []); // no view: Landlock does not check stat
  },
});
