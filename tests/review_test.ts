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
  read: [/usr, /lib, /lib64, /etc]
  write: [/tmp]
network:
  connect_tcp: [443]
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
  await assertWidens(withRule.plan, without.plan, [
    `+ syscalls: ${ARCH}: socket when (arg1.lo & 0xf) == 2 (SOCK_DGRAM): ERRNO(EACCES) → ALLOW`,
  ]);
  const back = await charter(["diff", without.plan, withRule.plan]);
  assert.equal(back.code, 0, back.stdout);
  assert.ok(
    back.stdout.includes(
      `- syscalls: ${ARCH}: socket when (arg1.lo & 0xf) == 2 (SOCK_DGRAM): ALLOW → ERRNO(EACCES)`,
    ),
    back.stdout,
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
async function assertRefusedBeforeChild(dir: string, plan: string, pub: string, marker: string) {
  const transcript = `${dir}/t.jsonl`;
  const r = await charter(["launch", plan, "--trust", pub, "--transcript", transcript]);
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /plan_invalid/);
  const records = readTranscript(transcript);
  assert.equal(records.at(-1)?.reason, "plan_invalid");
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
