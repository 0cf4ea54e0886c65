/**
 * The scrub phase through the real CLI and shim: resource limits, capabilities, ids,
 * the parent-death signal and cgroup placement, with what the transcript records for each
 * (TIOCSTI and setsid: terminal_test.ts).
 */
import assert from "node:assert/strict";
import { launchUntilReady, readTranscript, tempDir } from "./helpers.ts";
import {
  compiled,
  dead,
  eventually,
  last,
  launch,
  launchStatement,
  phase,
  probe,
  shellPolicy,
} from "./probes/probe.ts";

const AS_NOBODY = { unprivileged: true } as const;
const NO_NAMESPACES =
  "user: { namespace: false }\nnamespaces: { pid: false, net: false, ipc: false }\n";
const CAPS = "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status";

/** `/proc/self/status` capability lines as { CapEff: bigint, ... }. */
function capabilityLines(lines: string[]): Record<string, bigint> {
  return Object.fromEntries(
    lines.filter((l) => l.startsWith("Cap")).map((l) => {
      const [k, v] = l.split(":\t");
      return [k, BigInt(`0x${v}`)];
    }),
  );
}

for (const [who, options] of [["root", {}], ["unprivileged", AS_NOBODY]] as const) {
  Deno.test(`rlimits (${who}): RLIMIT_NOFILE is enforced (EMFILE), soft = hard`, async () => {
    using dir = tempDir();
    const r = await launch(
      String(dir),
      shellPolicy(`ulimit -Sn; ulimit -Hn; exec ${probe()} nofile`, "limits: { nofile: 16 }\n"),
      options,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, ["16", "16", "13 EMFILE"]);
    const scrub = phase(r.records, 3);
    assert.equal(scrub.result, "applied");
    assert.deepEqual(scrub.details.rlimits, { NOFILE: 16 });
  });
}

Deno.test("capabilities (root): capabilities: [] leaves every set empty", async () => {
  using dir = tempDir();
  const r = await launch(String(dir), shellPolicy(CAPS, "capabilities: []\n"));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(capabilityLines(r.lines), {
    CapInh: 0n,
    CapPrm: 0n,
    CapEff: 0n,
    CapBnd: 0n,
    CapAmb: 0n,
  });
  const caps = phase(r.records, 3).details.capabilities as Record<string, unknown>;
  assert.deepEqual(caps.bounding, []);
  assert.deepEqual(caps.effective, []);
});

Deno.test("capabilities (root): a kept capability is all that remains (control: the probe sees real sets)", async () => {
  using dir = tempDir();
  const r = await launch(String(dir), shellPolicy(CAPS, "capabilities: [sys_admin]\n"));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(capabilityLines(r.lines).CapEff, 1n << 21n);
  assert.equal(capabilityLines(r.lines).CapBnd, 1n << 21n);
});

Deno.test("ids + capabilities (root): switch to 65534 keeping CAP_NET_BIND_SERVICE as ambient", async () => {
  using dir = tempDir();
  const bit = 1n << 10n;
  const r = await launch(
    String(dir),
    shellPolicy(
      `id -u; id -g; id -G; ${CAPS}`,
      "user: { namespace: false, uid: 65534, gid: 65534 }\ncapabilities: [net_bind_service]\n",
    ),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.lines.slice(0, 3), ["65534", "65534", "65534"]);
  assert.deepEqual(capabilityLines(r.lines), {
    CapInh: bit,
    CapPrm: bit,
    CapEff: bit,
    CapBnd: bit,
    CapAmb: bit,
  });
  const scrub = phase(r.records, 3).details;
  assert.deepEqual(scrub.ids, { uid: 65534, gid: 65534, groups: [] });
  assert.deepEqual((scrub.capabilities as Record<string, unknown>).ambient, [
    "CAP_NET_BIND_SERVICE",
  ]);
});

Deno.test("ids (unprivileged): a plan that switches to another uid is refused before any child", async () => {
  using dir = tempDir();
  // The policy checker already rejects this for non-root compilers; the plan is compiled
  // by root and launched by uid 65534.
  const plan = await compiled(
    String(dir),
    shellPolicy(
      "exit 0",
      "user: { namespace: false, host_root: true, uid: 0 }\nnamespaces: { pid: false, net: false, ipc: false }\n",
    ),
  );
  const r = await launchStatement(String(dir), plan, plan.statement, "ids", AS_NOBODY);
  assert.equal(r.code, 125, r.stderr);
  assert.equal(last(r.records).reason, "kernel_unsupported");
  assert.match(String(last(r.records).detail), /needs CAP_SET(UID|GID)/);
});

Deno.test("capabilities (unprivileged): a user namespace keeps a capability through exec for uid 1000", async () => {
  using dir = tempDir();
  const bit = 1n << 10n;
  const r = await launch(
    String(dir),
    shellPolicy(
      CAPS,
      "user: { namespace: true, uid: 1000 }\ncapabilities: [CAP_NET_BIND_SERVICE]\n",
    ),
    AS_NOBODY,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(capabilityLines(r.lines), {
    CapInh: bit,
    CapPrm: bit,
    CapEff: bit,
    CapBnd: bit,
    CapAmb: bit,
  });
});

Deno.test("capabilities (unprivileged): without CAP_SETPCAP the bounding set stays and the record says so", async () => {
  using dir = tempDir();
  // Without a user namespace, where the child would hold CAP_SETPCAP.
  const r = await launch(
    String(dir),
    shellPolicy(CAPS, `capabilities: []\n${NO_NAMESPACES}`),
    AS_NOBODY,
  );
  assert.equal(r.code, 0, r.stderr);
  const caps = capabilityLines(r.lines);
  assert.equal(caps.CapEff | caps.CapPrm | caps.CapInh | caps.CapAmb, 0n);
  const record = phase(r.records, 3).details.capabilities as Record<string, unknown>;
  assert.match(String(record.bounding), /unchanged/);
});

/**
 * Starts a launcher whose child prints its pid (from the transcript when it runs in its
 * own pid namespace) and sleeps; SIGKILLs the launcher; reports whether the child died.
 */
async function childDiesWithLauncher(dir: string, extra: string): Promise<boolean> {
  const policy = `${dir}/p.yaml`;
  const transcript = `${dir}/t.jsonl`;
  Deno.writeTextFileSync(policy, shellPolicy("echo ready; exec sleep 30", extra));
  const { process: launcher, reader } = await launchUntilReady([
    "launch",
    policy,
    "--no-seal",
    "--transcript",
    transcript,
  ]);
  const created = readTranscript(transcript).find((r) => r.event === "child_created");
  const pid = Number(created?.pid);
  assert.ok(pid > 0 && !dead(pid));
  launcher.kill("SIGKILL");
  await launcher.status;
  reader.releaseLock();
  await launcher.stdout.cancel().catch(() => {});
  const died = await eventually(() => dead(pid), 2000);
  if (!died) Deno.kill(pid, "SIGKILL");
  return died;
}

Deno.test("pdeathsig: killing the launcher with SIGKILL kills the child under die_with_parent", async () => {
  using dir = tempDir();
  assert.ok(await childDiesWithLauncher(String(dir), "die_with_parent: true\n"));
});

Deno.test("pdeathsig: also for a child that is pid 1 of its own pid namespace", async () => {
  using dir = tempDir();
  assert.ok(
    await childDiesWithLauncher(
      String(dir),
      "die_with_parent: true\nuser: { namespace: true }\nnamespaces: { pid: true }\n",
    ),
  );
});

Deno.test("pdeathsig: without die_with_parent the child outlives a killed launcher (control)", async () => {
  using dir = tempDir();
  assert.ok(!(await childDiesWithLauncher(String(dir), "die_with_parent: false\n")));
});

Deno.test("cgroup: required limits on a host without the controllers are refused with kernel_unsupported", async () => {
  using dir = tempDir();
  const r = await launch(
    String(dir),
    shellPolicy("exit 0", "cgroup: { pids_max: 16 }\nenforce: { cgroup: required }\n"),
  );
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /kernel_unsupported/);
  const refused = last(r.records);
  assert.equal(refused.event, "setup_refused");
  assert.equal(refused.reason, "kernel_unsupported");
  assert.match(String(refused.detail), /pids/);
  assert.ok(!r.records.some((rec) => rec.event === "child_created"));
});

for (const [who, options] of [["root", {}], ["unprivileged", AS_NOBODY]] as const) {
  Deno.test(`cgroup (${who}): best_effort limits run and record degraded with the reason`, async () => {
    using dir = tempDir();
    const r = await launch(
      String(dir),
      shellPolicy("exit 3", "cgroup: { memory_max: 64MiB, pids_max: 16, cpu_max: 50% }\n"),
      options,
    );
    assert.equal(r.code, 3, r.stderr);
    const scrub = phase(r.records, 3);
    assert.equal(scrub.result, "degraded");
    const cgroup = scrub.details.cgroup as { skipped: string };
    assert.match(cgroup.skipped, /memory, pids, cpu are not available/);
  });
}

Deno.test("cgroup (root): without limits the child runs in its own cgroup, removed after exit", async () => {
  using dir = tempDir();
  const r = await launch(String(dir), shellPolicy("cat /proc/self/cgroup", "cgroup: {}\n"));
  assert.equal(r.code, 0, r.stderr);
  const scrub = phase(r.records, 3);
  assert.equal(scrub.result, "applied");
  const path = (scrub.details.cgroup as { path: string }).path;
  assert.match(path, /^\/charter-[0-9a-f]{32}$/);
  assert.ok(r.lines.includes(`0::${path}`), r.stdout);
  const mount = Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
    .find((l) => l.includes(" - cgroup2 "))!.split(" ")[4];
  assert.throws(() => Deno.statSync(`${mount}${path}`), Deno.errors.NotFound);
});

Deno.test("cgroup (unprivileged): without a writable cgroup best_effort records the skip", async () => {
  using dir = tempDir();
  const r = await launch(String(dir), shellPolicy("exit 0", "cgroup: {}\n"), AS_NOBODY);
  assert.equal(r.code, 0, r.stderr);
  const scrub = phase(r.records, 3);
  assert.equal(scrub.result, "degraded");
  assert.match((scrub.details.cgroup as { skipped: string }).skipped, /creating .* failed/);
});
