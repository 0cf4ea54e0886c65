import assert from "node:assert/strict";
import { readPlan } from "../audit/verify_plan.ts";
import type { PlanStatement } from "../compiler/plan.ts";
import {
  decodeProgram,
  encodeProgram,
  SECCOMP_RET_ALLOW,
  type SockFilter,
} from "../compiler/seccomp/mod.ts";
import { fromBase64, sha256Hex, toBase64 } from "../crypto/digest.ts";
import {
  charter,
  compile,
  keygen,
  readTranscript,
  type RunOptions,
  signStatement,
  tempDir,
  writePolicy,
} from "./helpers.ts";

const ARCH = Deno.build.arch;

/** A policy with Landlock filesystem and network rules and a rule that blocks UDP sockets. */
function netPolicy(marker: string, udpRule = true): string {
  return `version: 1
name: review
target:
  exe: /bin/sh
  argv: [sh, -c, ": > ${marker}"]
  cwd: /
env:
  set: { PATH: /usr/bin:/bin }
filesystem:
  view: host # this test reviews Landlock and seccomp alone
  read: [/usr, /lib, /lib64, /etc]
  write: [/tmp]
network:
  connect_tcp: [443]
  protocols: [udp] # so that the rule below is what keeps datagram sockets out
syscalls:
  default: allow
${
    udpRule
      ? `  rules:
    - syscall: socket
      args: [{ arg: 1, op: masked_eq, mask: 0xf, value: SOCK_DGRAM }]
      action: { errno: EACCES }
`
      : ""
  }`;
}

/** Compiles the policy and signs it; returns the plan's path, statement and keys. */
async function signedPlan(dir: string, udpRule = true, marker = `${dir}/marker`) {
  const { key, pub } = await keygen(dir);
  const policy = writePolicy(dir, "p.yaml", netPolicy(marker, udpRule));
  const plan = await compile(policy, key, dir);
  const { statement } = await readPlan(Deno.readFileSync(plan));
  return { key, pub, marker, plan, statement };
}

/** Re-signs an edited copy of the statement with the signer's key, as `b.dsse.json`. */
async function resigned(
  dir: string,
  p: { key: string; statement: PlanStatement },
  edit: (s: PlanStatement) => void | Promise<void>,
): Promise<string> {
  const statement = structuredClone(p.statement);
  await edit(statement);
  const path = `${dir}/b.dsse.json`;
  Deno.writeFileSync(path, await signStatement(statement, p.key));
  return path;
}

/** Puts a program into a statement's seccomp section, with its digest and length. */
async function setProgram(s: PlanStatement, program: SockFilter[]) {
  const bytes = encodeProgram(program);
  s.predicate.seccomp!.bpfB64 = toBase64(bytes);
  s.predicate.seccomp!.sha256 = await sha256Hex(bytes);
  s.predicate.seccomp!.instructions = program.length;
}

/** The program of a statement. */
const programOf = (s: PlanStatement) => decodeProgram(fromBase64(s.predicate.seccomp!.bpfB64));

/** Runs `diff A B`, expects exit 1 with every line. */
async function assertWidens(a: string, b: string, lines: string[]) {
  const r = await charter(["diff", a, b]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  for (const line of lines) {
    assert.ok(r.stdout.split("\n").includes(line), `missing ${line} in\n${r.stdout}`);
  }
}

Deno.test("(a) a re-signed plan whose Landlock handles only reading is added authority", async () => {
  using dir = tempDir();
  const p = await signedPlan(String(dir));
  const read = ["execute", "read_file", "read_dir"] as const;
  const b = await resigned(String(dir), p, (s) => {
    const ll = s.predicate.landlock!;
    ll.handledFs = [...read];
    ll.fs = ll.fs
      .map((r) => ({
        ...r,
        access: r.access.filter((x) => (read as readonly string[]).includes(x)),
      }))
      .filter((r) => r.access.length > 0);
  });
  await assertWidens(p.plan, b, [
    "+ filesystem: write_file anywhere (not handled by Landlock)",
    "+ filesystem: make_reg anywhere (not handled by Landlock)",
  ]);
  // verify shows the same: the plan is valid, and its grants say so.
  const v = await charter(["verify", b, "--trust", p.pub]);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /write_file anywhere \(not handled by Landlock\)/);
});

Deno.test("(b) a re-signed plan whose Landlock no longer handles connect is added authority", async () => {
  using dir = tempDir();
  const p = await signedPlan(String(dir));
  const b = await resigned(String(dir), p, (s) => {
    const ll = s.predicate.landlock!;
    ll.handledNet = ["bind_tcp"];
    ll.net = [];
  });
  await assertWidens(p.plan, b, [
    "+ network: connect_tcp on every TCP port (not handled by Landlock)",
  ]);
});

Deno.test("(c) an i386 prefix that allows every int 0x80 syscall is added authority", async () => {
  using dir = tempDir();
  const p = await signedPlan(String(dir));
  const b = await resigned(String(dir), p, (s) =>
    setProgram(s, [
      { code: 0x20, jt: 0, jf: 0, k: 4 }, // ld arch
      { code: 0x15, jt: 0, jf: 1, k: 0x40000003 }, // jeq AUDIT_ARCH_I386
      { code: 0x06, jt: 0, jf: 0, k: SECCOMP_RET_ALLOW },
      ...programOf(s),
    ]));
  await assertWidens(p.plan, b, ["+ syscalls: i386: every syscall: KILL_PROCESS → ALLOW"]);
  const explain = await charter(["explain", b]);
  assert.match(
    explain.stdout,
    /i386: 0 syscalls may run\n {4}otherwise ALLOW: every syscall number/,
  );
});

Deno.test("removing the argument rule that blocked UDP sockets is added authority", async () => {
  using dir = tempDir();
  Deno.mkdirSync(`${dir}/a`);
  Deno.mkdirSync(`${dir}/b`);
  const withRule = await signedPlan(`${dir}/a`, true, `${dir}/marker`);
  const without = await signedPlan(`${dir}/b`, false, `${dir}/marker`);
  const r = await charter(["diff", withRule.plan, without.plan]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    new RegExp(
      `^\\+ syscalls: ${ARCH}: socket when .*\\(arg1\\.lo & 0xf\\) == 2 \\(SOCK_DGRAM\\).*: ERRNO\\(EACCES\\) → ALLOW$`,
      "m",
    ),
  );
  const back = await charter(["diff", without.plan, withRule.plan]);
  assert.equal(back.code, 0, back.stdout);
  assert.match(
    back.stdout,
    new RegExp(
      `^- syscalls: ${ARCH}: socket when .*\\(arg1\\.lo & 0xf\\) == 2 \\(SOCK_DGRAM\\).*: ALLOW → ERRNO\\(EACCES\\)$`,
      "m",
    ),
  );
});

Deno.test("a changed program with the same decisions is information only", async () => {
  using dir = tempDir();
  const p = await signedPlan(String(dir));
  // The same decisions through one more instruction: ja +0 first.
  const b = await resigned(
    String(dir),
    p,
    (s) => setProgram(s, [{ code: 0x05, jt: 0, jf: 0, k: 0 }, ...programOf(s)]),
  );
  const r = await charter(["diff", p.plan, b]);
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /^~ syscalls: program of \d+ instructions/m);
  assert.match(r.stdout, /no difference in authority/);
});

/** Launches a plan and asserts exit 125 with plan_invalid before any child existed. */
async function assertRefusedBeforeChild(
  dir: string,
  plan: string,
  pub: string,
  marker: string,
  options: RunOptions = {},
) {
  const transcript = `${dir}/t.jsonl`;
  const r = await charter(["launch", plan, "--trust", pub, "--transcript", transcript], options);
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /plan_invalid/);
  const records = readTranscript(transcript);
  assert.equal(records.find((rec) => rec.event === "setup_refused")?.reason, "plan_invalid");
  assert.ok(!records.some((rec) => rec.event === "child_created"));
  assert.throws(() => Deno.statSync(marker), "the target ran");
}

Deno.test("a signed program the kernel would reject is refused before any child (125)", async (t) => {
  const cases: [string, SockFilter[]][] = [
    ["a jump past the end", [{ code: 0x15, jt: 5, jf: 0, k: 0 }, { code: 6, jt: 0, jf: 0, k: 0 }]],
    ["an unaligned load", [{ code: 0x20, jt: 0, jf: 0, k: 2 }, {
      code: 6,
      jt: 0,
      jf: 0,
      k: SECCOMP_RET_ALLOW,
    }]],
    ["no ret last", [{ code: 6, jt: 0, jf: 0, k: SECCOMP_RET_ALLOW }, {
      code: 0x20,
      jt: 0,
      jf: 0,
      k: 0,
    }]],
    // The kernel accepts ret A, but the review could not say what it returns.
    ["ret A (outside the reviewable subset)", [{ code: 0x16, jt: 0, jf: 0, k: 0 }]],
  ];
  for (const [name, program] of cases) {
    await t.step(name, async () => {
      using dir = tempDir();
      const p = await signedPlan(String(dir));
      const b = await resigned(String(dir), p, (s) => setProgram(s, program));
      await assertRefusedBeforeChild(String(dir), b, p.pub, p.marker);
      const v = await charter(["verify", b, "--trust", p.pub]);
      assert.equal(v.code, 1, v.stdout);
      assert.match(v.stderr, /seccomp program/);
    });
  }
});

Deno.test("for reviewers: a limit change is one line, opening the network is added authority", async (t) => {
  using dir = tempDir();
  const base =
    "version: 1\nname: r\ntarget: { exe: /bin/true }\nnamespaces: { net: true }\nlimits: { nofile: 64 }\nnetwork: { connect_tcp: [443] }\n";
  const a = writePolicy(String(dir), "a.yaml", base);
  const cases: [string, string, number, string[]][] = [
    ["raised limit", base.replace("nofile: 64", "nofile: 128"), 1, [
      "+ limits: RLIMIT_NOFILE = 64 → 128",
    ]],
    ["lowered limit", base.replace("nofile: 64", "nofile: 32"), 0, [
      "- limits: RLIMIT_NOFILE = 64 → 32",
    ]],
    ["new port", base.replace("[443]", "[443, 80]"), 1, ["+ network: TCP 80: connect_tcp"]],
    [
      "no network rules, no net namespace",
      // Without `network`, the default is a net namespace: dropping it takes saying so.
      base.replace("namespaces: { net: true }\n", "namespaces: { net: false }\n")
        .replace("network: { connect_tcp: [443] }\n", ""),
      1,
      [
        "+ namespaces: no longer new net namespace (required)",
        "+ network: every TCP port (no Landlock network rules)",
      ],
    ],
  ];
  for (const [name, text, code, lines] of cases) {
    await t.step(name, async () => {
      const b = writePolicy(String(dir), "b.yaml", text);
      const r = await charter(["diff", a, b]);
      assert.equal(r.code, code, r.stdout + r.stderr);
      for (const line of lines) {
        assert.ok(r.stdout.split("\n").includes(line), `missing ${line} in\n${r.stdout}`);
      }
    });
  }
});

Deno.test("diff --json says where each item came from; diff reads git revisions", async () => {
  using dir = tempDir();
  const git = (...args: string[]) =>
    new Deno.Command("git", {
      args: ["-c", "user.email=t@example.org", "-c", "user.name=t", ...args],
      cwd: String(dir),
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  writePolicy(String(dir), "team.yaml", "version: 1\nname: team\nfilesystem: { read: [/usr] }\n");
  writePolicy(
    String(dir),
    "app.yaml",
    "version: 1\nname: app\nextends: [./team.yaml]\ntarget: { exe: /bin/true }\n",
  );
  assert.ok(git("init", "-q") && git("add", ".") && git("commit", "-qm", "one"));
  writePolicy(
    String(dir),
    "team.yaml",
    "version: 1\nname: team\nfilesystem: { read: [/usr], write: [/srv] }\n",
  );
  const r = await charter(["diff", "--json", "HEAD:app.yaml", "app.yaml"], { cwd: String(dir) });
  assert.equal(r.code, 1, r.stderr);
  const added: { key: string; from: { file: string; line: number }[] }[] =
    JSON.parse(r.stdout).added;
  const srv = added.find((g) => g.key === "filesystem:/srv");
  const line =
    Deno.readTextFileSync(`${dir}/team.yaml`).split("\n").findIndex((l) => l.includes("/srv")) + 1;
  assert.deepEqual(srv?.from.map((p) => `${p.file}:${p.line}`), [`team.yaml:${line}`]);
  const same = await charter(["diff", "HEAD:app.yaml", "HEAD:app.yaml"], { cwd: String(dir) });
  assert.equal(same.code, 0, same.stderr);
  const missing = await charter(["diff", "HEAD:nope.yaml", "app.yaml"], { cwd: String(dir) });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read HEAD:nope\.yaml/);
});

Deno.test("a plan compiled from another working directory is byte-identical", async () => {
  using dir = tempDir();
  Deno.mkdirSync(`${dir}/policies`);
  const { key } = await keygen(String(dir));
  writePolicy(
    `${dir}/policies`,
    "base.yaml",
    "version: 1\nname: b\nfilesystem: { read: [/usr] }\n",
  );
  writePolicy(
    `${dir}/policies`,
    "app.yaml",
    "version: 1\nname: app\nextends: [./base.yaml]\ntarget: { exe: /bin/true }\n",
  );
  const from = (cwd: string, policy: string, out: string) =>
    charter(["compile", policy, "-o", out, "--key", key, "--source-date", "0"], { cwd });
  assert.equal((await from(String(dir), "policies/app.yaml", `${dir}/a.json`)).code, 0);
  assert.equal((await from(`${dir}/policies`, "app.yaml", `${dir}/b.json`)).code, 0);
  assert.equal((await from("/", `${dir}/policies/app.yaml`, `${dir}/c.json`)).code, 0);
  const a = Deno.readFileSync(`${dir}/a.json`);
  assert.deepEqual(Deno.readFileSync(`${dir}/b.json`), a);
  assert.deepEqual(Deno.readFileSync(`${dir}/c.json`), a);
});

Deno.test("a grant on the target's own path is compared apart from the implied one", async () => {
  using dir = tempDir();
  const base =
    "version: 1\nname: t\ntarget: { exe: /usr/bin/true }\nfilesystem: { read: [/usr/bin/true] }\n";
  const a = writePolicy(String(dir), "a.yaml", base);
  const b = writePolicy(String(dir), "b.yaml", base.replace("read:", "write:"));
  const r = await charter(["diff", a, b]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^\+ filesystem: \/usr\/bin\/true: read_file, read_dir → .*write_file/m);
});

Deno.test("unprivileged: a signed program the kernel would reject is refused before any child", async () => {
  using dir = tempDir();
  const p = await signedPlan(String(dir));
  const b = await resigned(
    String(dir),
    p,
    (s) => setProgram(s, [{ code: 0x15, jt: 5, jf: 0, k: 0 }, { code: 6, jt: 0, jf: 0, k: 0 }]),
  );
  await assertRefusedBeforeChild(String(dir), b, p.pub, p.marker, { unprivileged: true });
});

Deno.test("a signed program too complex to review makes diff and verify fail, not pass", async () => {
  using dir = tempDir();
  const p = await signedPlan(String(dir));
  // 15 tests of distinct bits of arg0, both ways on: 2^15 feasible paths, all ALLOW.
  const chain = [
    { code: 0x20, jt: 0, jf: 0, k: 16 },
    ...Array.from({ length: 15 }, (_, i) => [
      { code: 0x45, jt: 1, jf: 0, k: 1 << i },
      { code: 0x05, jt: 0, jf: 0, k: 0 },
    ]).flat(),
    { code: 0x06, jt: 0, jf: 0, k: SECCOMP_RET_ALLOW },
  ];
  const b = await resigned(String(dir), p, (s) => setProgram(s, chain));
  const d = await charter(["diff", p.plan, b]);
  assert.equal(d.code, 1, d.stdout);
  assert.match(d.stderr, /cannot be reviewed exactly/);
  assert.doesNotMatch(d.stderr, /\n\s+at /, "no stack trace");
  const v = await charter(["verify", b, "--trust", p.pub]);
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stderr, /cannot be reviewed exactly/);
  assert.doesNotMatch(v.stdout, /plan ok/);
});
