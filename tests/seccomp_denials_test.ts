/**
 * Denials on normal launches, for real: the shim notifies the launcher of every call the
 * seccomp filter fails with an errno, the launcher answers with exactly that errno, and
 * the launch writes bounded `denied` records and prints what would allow them. The
 * target never holds the listener, and forged records do not verify.
 */
import assert from "node:assert/strict";
import { readPlan } from "../audit/verify_plan.ts";
import { type PlanFacts, verifyTranscript } from "../audit/verify_transcript.ts";
import { type SeccompArch, syscallNumber } from "../compiler/seccomp/mod.ts";
import { denialSummary, SUMMARY_LINES } from "../cli/denial_summary.ts";
import { charter, rechain, shPolicy, tempDir, writePolicy } from "./helpers.ts";
import { compiled, launchStatement, phase, probePolicy } from "./probes/probe.ts";

const AS_NOBODY = { unprivileged: true } as const;

/** io_uring_setup: 425 on x86_64 and aarch64; the baseline denies it with EPERM. */
const IO_URING_SETUP = 425;

const BASE = "extends: [builtin:base]\n";

/** Compiles and launches the probe with `actions`; the result and the plan's facts. */
async function launchProbe(dir: string, actions: string[], options = {}, extra = "") {
  const plan = await compiled(dir, probePolicy(actions, BASE + extra));
  const r = await launchStatement(dir, plan, plan.statement, "run", options);
  const read = await readPlan(Deno.readFileSync(`${dir}/run.dsse.json`));
  const facts: PlanFacts = { payload: read.payload, plan: read.statement.predicate };
  return { ...r, facts };
}

const denied = (records: Record<string, unknown>[]) => records.filter((r) => r.event === "denied");

const lines = (records: Record<string, unknown>[]) => records.map((r) => JSON.stringify(r));

/** What verification finds wrong with a launch's transcript, written back as JSON Lines. */
async function problems(r: Awaited<ReturnType<typeof launchProbe>>) {
  const bytes = new TextEncoder().encode(lines(r.records).map((l) => l + "\n").join(""));
  return (await verifyTranscript(bytes, r.facts)).problems;
}

for (const [who, options] of [["root", {}], ["unprivileged", AS_NOBODY]] as const) {
  Deno.test(`seccomp denials (${who}): recorded, answered with the plan's errno, summarised`, async () => {
    using dir = tempDir();
    const r = await launchProbe(
      String(dir),
      ["io_uring", "seccomp_fds", "exit:3"],
      options,
    );
    assert.equal(r.code, 3, r.stderr);
    // Exactly the errno the plan's program returns; no listener among the target's fds.
    assert.deepEqual(r.lines, ["EPERM", "0"]);
    assert.deepEqual(phase(r.records, 4).details.seccomp, {
      ...(phase(r.records, 4).details.seccomp as object),
      denials: { recorded: true },
    });
    const io = denied(r.records).find((d) => d.nr === IO_URING_SETUP);
    assert.ok(io, JSON.stringify(denied(r.records)));
    assert.deepEqual(
      { mechanism: io.mechanism, key: io.key, arch: io.arch, errno: io.errno, count: io.count },
      { mechanism: "seccomp", key: "syscalls", arch: Deno.build.arch, errno: 1, count: 1 },
    );
    assert.match(
      r.stderr,
      /^charter: denied io_uring_setup \(seccomp, EPERM\) → allow with syscalls\.unsafe_allow: io_uring_setup$/m,
    );
    assert.doesNotMatch(r.stderr, /charter learn/);
    assert.deepEqual(await problems(r), []);
  });
}

Deno.test("seccomp denials: transcript verify passes a sealed launch with denials", async () => {
  using dir = tempDir();
  const plan = await compiled(String(dir), probePolicy(["io_uring", "exit:3"], BASE));
  const t = `${dir}/t.jsonl`;
  const launched = await charter([
    "launch",
    plan.plan,
    "--trust",
    plan.pub,
    "--transcript",
    t,
    "--transcript-key",
    plan.key,
  ]);
  assert.equal(launched.code, 3, launched.stderr);
  assert.match(Deno.readTextFileSync(t), /"event":"denied".*\n.*"event":"child_exited"/);
  const verified = await charter([
    "transcript",
    "verify",
    t,
    "--plan",
    plan.plan,
    "--trust",
    plan.pub,
    "--seal-key",
    plan.pub,
  ]);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  assert.match(verified.stdout + verified.stderr, /ok, \d+ records, exited with code 3/);
});

Deno.test("seccomp denials: a target that succeeds gets its records but no summary", async () => {
  using dir = tempDir();
  // The cost of recording: a listener of the target's own is refused (one per filter chain).
  const r = await launchProbe(String(dir), ["io_uring", "self_listener"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.lines, ["EPERM", "EBUSY"]);
  assert.equal(denied(r.records).length, 1);
  assert.doesNotMatch(r.stderr, /denied/);
});

Deno.test("seccomp denials: the transcript stays bounded whatever the target does", async () => {
  using dir = tempDir();
  // 100 000 denied calls with changing arguments, then 3 000 distinct unknown numbers.
  const r = await launchProbe(String(dir), ["flood:100000", "spray:3000", "exit:1"]);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(r.lines, ["EPERM", "ENOSYS"]);
  const records = denied(r.records);
  assert.equal(records.length, 33);
  assert.equal(records[0].nr, IO_URING_SETUP);
  assert.equal(records[0].count, 100000);
  // 31 distinct unknown numbers itemised (ENOSYS, as the filter says), the rest counted.
  assert.ok(records.slice(1, 32).every((d) => d.errno === 38 && d.count === 1));
  assert.equal(records[32].nr, undefined);
  assert.equal(records[32].count, 3000 - 31);
  assert.ok(r.records.length < 60, `${r.records.length} records`);
  // Unknown numbers are not something a key allows: one line, and the count of the rest.
  const summary = r.stderr.split("\n").filter((l) => l.startsWith("charter: "));
  assert.deepEqual(summary.length, 2, r.stderr);
  assert.match(
    summary[1],
    /^charter: and 2969 denials beyond those itemised; see the transcript's denied records$/,
  );
  assert.deepEqual(await problems(r), []);
});

Deno.test("seccomp denials: without the handoff thread (nproc 1) the program runs as it is", async () => {
  using dir = tempDir();
  const r = await launchProbe(String(dir), ["io_uring", "exit:3"], {}, "limits: { nproc: 1 }\n");
  assert.equal(r.code, 3, r.stderr);
  assert.deepEqual(r.lines, ["EPERM"]);
  const { denials } = phase(r.records, 4).details.seccomp as { denials: Record<string, unknown> };
  assert.equal(denials.recorded, false);
  assert.match(String(denials.why), /could not start the thread .*Resource temporarily/);
  assert.deepEqual(denied(r.records), []);
  assert.deepEqual(await problems(r), []);
});

Deno.test("seccomp denials: a descendant that outlives the child does not hold up the launch", async () => {
  // Without a pid namespace the background sleep keeps the filter alive after the shell
  // exits: the launch writes what was recorded by then and returns; the recorder keeps
  // answering the sleep while the launcher lives.
  using dir = tempDir();
  for (const pid of [false, true]) {
    const policy = writePolicy(
      String(dir),
      `p${pid}.yaml`,
      shPolicy("sleep 5 >/dev/null 2>&1 & exit 3", `namespaces: { pid: ${pid} }\n`),
    );
    const started = performance.now();
    const r = await charter(["launch", "--no-seal", policy]);
    assert.equal(r.code, 3, r.stderr);
    assert.ok(performance.now() - started < 1800, `pid namespace ${pid}: the launch waited`);
  }
});

Deno.test("seccomp denials: the summary lists ten denials, the key for each, and counts the rest", async () => {
  using dir = tempDir();
  const { statement } = await compiled(String(dir), probePolicy([], BASE));
  const arch = Deno.build.arch as SeccompArch;
  const names = [
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "keyctl",
    "add_key",
    "request_key",
    "kexec_load",
    "init_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
  ];
  const denials = names.map((name) => ({
    arch,
    nr: syscallNumber(arch, name)!,
    errno: 1,
    count: 2,
    args: ["0", "0", "0", "0", "0", "0"],
  }));
  // A number no table knows fails with ENOSYS as on an older kernel: no key allows it.
  denials.push({ arch, nr: 4000, errno: 38, count: 1, args: ["0", "0", "0", "0", "0", "0"] });
  const lines = denialSummary(
    { recorded: true, denials, omitted: 5, landlock: null },
    statement.predicate,
  );
  assert.equal(lines.length, SUMMARY_LINES + 1);
  assert.equal(
    lines[0],
    "denied io_uring_setup (seccomp, EPERM, 2 times) → allow with syscalls.unsafe_allow: io_uring_setup",
  );
  assert.ok(lines.slice(0, SUMMARY_LINES).every((l) => l.includes("→ allow with syscalls.")));
  assert.equal(
    lines[SUMMARY_LINES],
    "and 2 more denials and 5 denials beyond those itemised; see the transcript's denied records",
  );
});

Deno.test("seccomp denials: a call numbered -1 is recorded and the transcript still verifies", async () => {
  using dir = tempDir();
  // seccomp_data.nr is an int: a target choosing -1 must not make its launch's evidence fail.
  const r = await launchProbe(String(dir), ["nr:-1", "exit:3"]);
  assert.equal(r.code, 3, r.stderr);
  assert.deepEqual(r.lines, ["ENOSYS"]);
  const minus = denied(r.records).find((d) => d.nr === -1);
  assert.ok(minus, JSON.stringify(denied(r.records)));
  assert.equal(minus.errno, 38);
  assert.deepEqual(await problems(r), []);
});

Deno.test("seccomp denials: forged denied records out of place do not verify", async () => {
  using dir = tempDir();
  const r = await launchProbe(String(dir), ["io_uring"]);
  const real = lines(r.records);
  const at = real.findIndex((l) => l.includes('"event":"denied"'));
  const exec = real.findIndex((l) => l.includes('"event":"exec_succeeded"'));
  const rules = async (edited: string[]) =>
    (await verifyTranscript(new TextEncoder().encode(await rechain(edited)), r.facts)).problems
      .map((p) => p.rule);
  const renumber = (ls: string[]) => ls.map((l, i) => l.replace(/"seq":\d+/, `"seq":${i}`));
  // Before the exec.
  const early = [...real.slice(0, exec), real[at], ...real.slice(exec, at), ...real.slice(at + 1)];
  assert.ok((await rules(renumber(early))).includes("order"));
  // After the exit.
  const late = [...real.slice(0, at), ...real.slice(at + 1), real[at]];
  assert.ok((await rules(renumber(late))).includes("order"));
  // In a launch whose confine phase says seccomp denials are not recorded.
  const confine = real.findIndex((l) => l.includes('"phase":4'));
  const unrecorded = real.with(
    confine,
    real[confine].replace('"denials":{"recorded":true}', '"denials":{"recorded":false,"why":"x"}'),
  );
  assert.notEqual(unrecorded[confine], real[confine]);
  assert.deepEqual(await rules(unrecorded), ["denied"]);
  // A confine phase that says something else of denials.
  const odd = real.with(
    confine,
    real[confine].replace('"denials":{"recorded":true}', '"denials":{"recorded":"yes"}'),
  );
  assert.deepEqual(await rules(odd), ["details", "denied"]);
  // A confine phase that says nothing of denials (as shims before recording did).
  const silent = real.with(confine, real[confine].replace('"denials":{"recorded":true},', ""));
  assert.notEqual(silent[confine], real[confine]);
  assert.deepEqual(await rules(silent), ["denied"]);
  // A Landlock record in a launch whose confine phase says Landlock's were not observed.
  const landlockUnobserved = real[confine]
    .replace('"denials":"recorded"', '"denials":"unobserved","denialsUnobserved":"x"');
  assert.match(landlockUnobserved, /"landlock":\{[^]*"denials":"unobserved"/);
  const forged = (what: string) =>
    real[at]
      .replace('"mechanism":"seccomp"', '"mechanism":"landlock"')
      .replace(/"what":"[^"]*"/, `"what":${JSON.stringify(what)}`);
  const landlock = real.with(confine, landlockUnobserved).with(at, forged("fs.write_file /x"));
  assert.deepEqual(await rules(landlock), ["denied"]);
  // A seccomp record of a call the program allows (read), or fails with another errno.
  const read = syscallNumber(Deno.build.arch as SeccompArch, "read")!;
  for (const [from, to] of [[/"nr":\d+/, `"nr":${read}`], [/"errno":\d+/, '"errno":13']] as const) {
    const odd = real.with(at, real[at].replace(from, to));
    assert.notEqual(odd[at], real[at]);
    assert.deepEqual(await rules(odd), ["denied"], to);
  }
  // A seccomp record whose what the shim would never write: a terminal escape, or huge.
  for (const what of ["syscall 425 (x86_64)\u001b[2J", "x".repeat(1025)]) {
    const odd = real.with(at, real[at].replace(/"what":"[^"]*"/, `"what":${JSON.stringify(what)}`));
    assert.deepEqual(await rules(odd), ["denied"], what);
  }
});
