/**
 * seccomp through the real CLI and shim: a hand-built classic-BPF program in a re-signed
 * plan is installed as the last step before exec and returns its errno in the child; a
 * wrong digest or length is refused before any child exists; a policy's `syscalls:`
 * compiles into a filter that the shim installs.
 */
import assert from "node:assert/strict";
import type { PlanStatement } from "../compiler/plan.ts";
import { sha256Hex } from "../crypto/digest.ts";
import { tempDir } from "./helpers.ts";
import { compiled, last, launch, launchStatement, phase, probePolicy } from "./probes/probe.ts";

const AS_NOBODY = { unprivileged: true } as const;

/** AUDIT_ARCH and getppid's number on this machine. */
const ARCH = Deno.build.arch === "x86_64"
  ? { audit: 0xc000003e, getppid: 110, read: 0 }
  : { audit: 0xc00000b7, getppid: 173, read: 63 };

/** One `struct sock_filter` (little-endian, as on x86_64 and aarch64). */
function insn(code: number, jt: number, jf: number, k: number): number[] {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint16(0, code, true);
  v.setUint8(2, jt);
  v.setUint8(3, jf);
  v.setUint32(4, k >>> 0, true);
  return [...b];
}

/** Allow everything on this arch except getppid, which fails with EPERM. */
const PROGRAM = new Uint8Array([
  ...insn(0x20, 0, 0, 4), // ld [4] (arch)
  ...insn(0x15, 1, 0, ARCH.audit), // jeq arch, +1
  ...insn(0x06, 0, 0, 0x80000000), // ret KILL_PROCESS
  ...insn(0x20, 0, 0, 0), // ld [0] (nr)
  ...insn(0x15, 0, 1, ARCH.getppid), // jeq getppid, 0, +1
  ...insn(0x06, 0, 0, 0x00050000 | 1), // ret ERRNO(EPERM)
  ...insn(0x06, 0, 0, 0x7fff0000), // ret ALLOW
]);

function b64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** The compiled statement with the program added as its seccomp section. */
async function withSeccomp(
  statement: PlanStatement,
  edit: (s: NonNullable<PlanStatement["predicate"]["seccomp"]>) => void = () => {},
): Promise<PlanStatement> {
  const out = structuredClone(statement);
  const plan = out.predicate;
  plan.seccomp = {
    enforce: "required",
    bpfB64: b64(PROGRAM),
    sha256: await sha256Hex(PROGRAM),
    instructions: PROGRAM.length / 8,
    flags: ["log"],
  };
  edit(plan.seccomp);
  plan.schedule = plan.schedule.filter((p) => p.id !== "linux.confine.seccomp.v1");
  plan.schedule.splice(plan.schedule.length - 1, 0, { id: "linux.confine.seccomp.v1", phase: 4 });
  return out;
}

/** The probe's libraries and the file it reads (the default policy grants only the libraries). */
const READ_HOSTNAME = "extends: [builtin:base]\nfilesystem: { read: [/etc/hostname] }\n";

for (const [who, options] of [["root", {}], ["unprivileged", AS_NOBODY]] as const) {
  Deno.test(`seccomp (${who}): a hand-built filter makes getppid fail with EPERM in the child`, async () => {
    using dir = tempDir();
    const plan = await compiled(
      String(dir),
      probePolicy(["getppid", "read:/etc/hostname"], READ_HOSTNAME),
    );
    const control = await launchStatement(String(dir), plan, plan.statement, "plain", options);
    assert.equal(control.code, 0, control.stderr);
    assert.match(control.lines[0], /^\d+$/);
    const r = await launchStatement(
      String(dir),
      plan,
      await withSeccomp(plan.statement),
      "bpf",
      options,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, ["EPERM", "ok"]);
    const confine = phase(r.records, 4);
    assert.equal(confine.result, "applied");
    assert.deepEqual(confine.details.seccomp, {
      seccompSha256: await sha256Hex(PROGRAM),
      instructions: 7,
      flags: ["log"],
      denials: { recorded: true },
    });
    // The launcher answered the notified call with the program's errno, and recorded it.
    const events = r.records.map((rec) => rec.event);
    const denied = r.records.filter((rec) => rec.event === "denied");
    assert.deepEqual(
      denied.map(({ mechanism, key, arch, nr, errno, count }) => ({
        mechanism,
        key,
        arch,
        nr,
        errno,
        count,
      })),
      [{
        mechanism: "seccomp",
        key: "syscalls",
        arch: Deno.build.arch,
        nr: ARCH.getppid,
        errno: 1,
        count: 1,
      }],
    );
    assert.deepEqual(events.slice(-3), ["exec_succeeded", "denied", "child_exited"]);
  });
}

Deno.test("seccomp: a program whose sha256 differs is refused with digest_mismatch", async () => {
  using dir = tempDir();
  const plan = await compiled(String(dir), probePolicy(["getppid"]));
  const statement = await withSeccomp(plan.statement, (s) => (s.sha256 = "ab".repeat(32)));
  const r = await launchStatement(String(dir), plan, statement, "bad");
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /digest_mismatch/);
  assert.equal(last(r.records).reason, "digest_mismatch");
  assert.ok(!r.records.some((rec) => rec.event === "child_created"));
});

Deno.test("seccomp: a wrong instruction count or an empty program is plan_invalid", async () => {
  using dir = tempDir();
  const plan = await compiled(String(dir), probePolicy(["getppid"]));
  for (
    const [name, edit] of [
      ["count", (s: { instructions: number }) => (s.instructions = 6)],
      ["empty", (s: { bpfB64: string; instructions: number }) => {
        s.bpfB64 = "";
        s.instructions = 0;
      }],
    ] as const
  ) {
    const r = await launchStatement(
      String(dir),
      plan,
      await withSeccomp(plan.statement, edit),
      name,
    );
    assert.equal(r.code, 125, `${name}: ${r.stderr}`);
    assert.equal(last(r.records).reason, "plan_invalid", name);
  }
});

Deno.test("seccomp: a plan with the filter before no_new_privs is plan_invalid", async () => {
  using dir = tempDir();
  const plan = await compiled(String(dir), probePolicy(["getppid"]));
  const statement = await withSeccomp(plan.statement);
  const schedule = statement.predicate.schedule;
  const entry = schedule.splice(schedule.findIndex((p) => p.id === "linux.confine.seccomp.v1"), 1);
  schedule.splice(1, 0, ...entry);
  const r = await launchStatement(String(dir), plan, statement, "early");
  assert.equal(r.code, 125, r.stderr);
  assert.equal(last(r.records).reason, "plan_invalid");
});

Deno.test("seccomp: a policy's syscalls: section compiles into a filter the shim installs", async () => {
  using dir = tempDir();
  const r = await launch(
    String(dir),
    probePolicy(
      ["getppid", "read:/etc/hostname"],
      `${READ_HOSTNAME}syscalls:\n  default: allow\n  deny: [getppid]\n`,
    ),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.lines, ["EPERM", "ok"]);
  const seccomp = phase(r.records, 4).details.seccomp as Record<string, unknown>;
  assert.match(String(seccomp.seccompSha256), /^[0-9a-f]{64}$/);
  assert.ok((seccomp.instructions as number) > 7);
});

Deno.test("seccomp: a filter that denies the shim's own last steps is refused by the compiler", async () => {
  using dir = tempDir();
  const r = await launch(
    String(dir),
    probePolicy(["getppid"], "syscalls:\n  default: { errno: EPERM }\n"),
  );
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /syscalls: the filter blocks write, read, execveat, exit_group/);
});

Deno.test("seccomp: a signed plan whose filter denies the shim's last steps ends the setup, it does not hang", async () => {
  using dir = tempDir();
  const plan = await compiled(String(dir), probePolicy(["getppid"]));
  // Deny everything on this arch: the compiler never emits this, a hand-made plan can.
  const denyAll = new Uint8Array([
    ...insn(0x20, 0, 0, 4),
    ...insn(0x15, 1, 0, ARCH.audit),
    ...insn(0x06, 0, 0, 0x80000000),
    ...insn(0x06, 0, 0, 0x00050000 | 1),
  ]);
  const statement = await withSeccomp(plan.statement);
  statement.predicate.seccomp = {
    enforce: "required",
    bpfB64: b64(denyAll),
    sha256: await sha256Hex(denyAll),
    instructions: denyAll.length / 8,
    flags: [],
  };
  const r = await launchStatement(String(dir), plan, statement, "deny-all");
  assert.equal(r.code, 126, r.stderr);
  assert.match(r.stderr, /seccomp filter/);
  assert.equal(last(r.records).event, "child_exited");
});

Deno.test("seccomp: a signed plan whose filter denies read: the child cannot wait for its release, so the target never runs", async () => {
  using dir = tempDir();
  const plan = await compiled(String(dir), probePolicy(["getppid"]));
  // Allow everything but read (EPERM): the compiler never emits this, a hand-made plan can.
  const denyRead = new Uint8Array([
    ...insn(0x20, 0, 0, 4),
    ...insn(0x15, 1, 0, ARCH.audit),
    ...insn(0x06, 0, 0, 0x80000000),
    ...insn(0x20, 0, 0, 0),
    ...insn(0x15, 0, 1, ARCH.read),
    ...insn(0x06, 0, 0, 0x00050000 | 1),
    ...insn(0x06, 0, 0, 0x7fff0000),
  ]);
  const statement = await withSeccomp(plan.statement);
  statement.predicate.seccomp = {
    enforce: "required",
    bpfB64: b64(denyRead),
    sha256: await sha256Hex(denyRead),
    instructions: denyRead.length / 8,
    flags: [],
  };
  const r = await launchStatement(String(dir), plan, statement, "deny-read");
  assert.equal(r.code, 126, r.stderr);
  assert.equal(r.stdout, "", "the target ran");
  assert.ok(!r.records.some((x) => x.event === "exec_succeeded"), JSON.stringify(r.records));
  assert.equal(last(r.records).event, "child_exited");
});

Deno.test("seccomp: a syscall denied with kill_process ends the launch with 159 (128 + SIGSYS)", async () => {
  using dir = tempDir();
  const r = await launch(
    String(dir),
    probePolicy(
      ["getppid"],
      "syscalls:\n  default: allow\n  deny: [getppid]\n  deny_action: kill_process\n",
    ),
  );
  assert.equal(r.code, 159, r.stderr);
  const exited = last(r.records);
  assert.equal(exited.event, "child_exited");
  assert.equal(exited.signal, 31);
});
