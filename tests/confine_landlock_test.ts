/**
 * Landlock through the real CLI and shim: filesystem read/write/execute, TCP ports and
 * signal scoping are enforced on a real kernel, as root and as uid 65534, and the
 * confine phase's transcript record says what was enforced.
 */
import assert from "node:assert/strict";
import { tempDir } from "./helpers.ts";
import {
  compiled,
  eventually,
  last,
  launch,
  launchStatement,
  phase,
  probe,
  probePolicy,
} from "./probes/probe.ts";

const AS_NOBODY = { unprivileged: true } as const;

/**
 * DIR/data/{allowed,sibling}.txt and an empty DIR/out, readable and writable by anyone
 * (so that only Landlock denies); DIR/data is sticky, as a plan path in a directory others
 * may rename entries of is refused.
 */
function layout(dir: string) {
  Deno.mkdirSync(`${dir}/data`, { mode: 0o777 });
  Deno.mkdirSync(`${dir}/out`, { mode: 0o777 });
  Deno.chmodSync(`${dir}/data`, 0o1777);
  Deno.chmodSync(`${dir}/out`, 0o777);
  for (const f of ["allowed.txt", "sibling.txt"]) {
    Deno.writeTextFileSync(`${dir}/data/${f}`, "data\n");
    Deno.chmodSync(`${dir}/data/${f}`, 0o666);
  }
}

function filesystemPolicy(dir: string, exec: string[] = []) {
  return probePolicy(
    [
      `read:${dir}/data/allowed.txt`,
      `read:${dir}/data/sibling.txt`,
      `write:${dir}/out/new.txt`,
      `write:${dir}/data/new.txt`,
      "exec:/usr/bin/true",
    ],
    `extends: [builtin:base]
filesystem:
  view: host # Landlock alone decides here (view_launch_test.ts covers the listed view)
  read: [${dir}/data/allowed.txt, ${dir}/nonexistent]
  write: [${dir}/out]
  exec: [${exec.join(", ")}]
`,
  );
}

for (const [who, options] of [["root", {}], ["unprivileged", AS_NOBODY]] as const) {
  Deno.test(`landlock (${who}): allowed file reads, its sibling is EACCES; writes outside write: fail; exec outside exec: fails`, async () => {
    using dir = tempDir();
    layout(String(dir));
    const r = await launch(String(dir), filesystemPolicy(String(dir)), options);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, ["ok", "EACCES", "ok", "EACCES", "EACCES"]);
    const confine = phase(r.records, 4);
    assert.equal(confine.result, "applied");
    const ll = confine.details.landlock as Record<string, unknown>;
    assert.equal(ll.abi, 7);
    assert.ok((ll.handledFs as string[]).includes("execute"));
    assert.ok((ll.fsRules as number) > 3);
    assert.deepEqual(ll.absentPaths, [`${dir}/nonexistent`]);
    assert.deepEqual(ll.handledNet, []);
    // The negative control: with the binary in exec:, the same exec works.
    const allowed = await launch(
      String(dir),
      filesystemPolicy(String(dir), ["/usr/bin/true"]),
      options,
      "q",
    );
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(allowed.lines[4], "ok");
  });

  Deno.test(`landlock (${who}): TCP connect to a listed loopback port works, an unlisted one is EACCES`, async () => {
    using dir = tempDir();
    using listed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    using other = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const [a, b] = [listed.addr.port, other.addr.port];
    const r = await launch(
      String(dir),
      probePolicy([`connect:${a}`, `connect:${b}`], `network: { connect_tcp: [${a}] }\n`),
      options,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, ["ok", "EACCES"]);
    const ll = phase(r.records, 4).details.landlock as Record<string, unknown>;
    assert.deepEqual(ll.handledNet, ["bind_tcp", "connect_tcp"]);
    assert.equal(ll.netRules, 1);
    // Without a network: section (and out of the default net namespace) the unlisted port
    // is reachable.
    const open = await launch(
      String(dir),
      probePolicy([`connect:${b}`], "namespaces: { net: false }\n"),
      options,
      "q",
    );
    assert.deepEqual(open.lines, ["ok"]);
  });
}

/** Out of the default pid namespace, where host pids are not even visible. */
const HOST_PIDS = "namespaces: { pid: false }\n";

Deno.test("landlock: scope.signals makes kill of a process outside the sandbox EPERM", async () => {
  using dir = tempDir();
  // The child's host uid is 65534 (root launchers never give it root): so is the sleeper's.
  const sleeper = new Deno.Command("setpriv", {
    args: ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "sleep", "30"],
  }).spawn();
  try {
    const scoped = await launch(
      String(dir),
      probePolicy([`kill:${sleeper.pid}:15`], `scope: { signals: true }\n${HOST_PIDS}`),
    );
    assert.equal(scoped.code, 0, scoped.stderr);
    assert.deepEqual(scoped.lines, ["EPERM"]);
    const ll = phase(scoped.records, 4).details.landlock as Record<string, unknown>;
    assert.deepEqual(ll.scoped, ["abstract_unix_socket", "signal"]);
    // The control: the same kill without the scope succeeds.
    const unscoped = await launch(
      String(dir),
      probePolicy([`kill:${sleeper.pid}:15`], `scope: { signals: false }\n${HOST_PIDS}`),
      {},
      "q",
    );
    assert.deepEqual(unscoped.lines, ["ok"]);
    assert.ok(await eventually(() => sleeper.status !== undefined));
    assert.equal((await sleeper.status).signal, "SIGTERM");
  } finally {
    try {
      sleeper.kill();
    } catch { /* already gone */ }
    await sleeper.status;
  }
});

Deno.test("landlock: an implied interpreter whose digest changed is refused with digest_mismatch", async () => {
  using dir = tempDir();
  const plan = await compiled(String(dir), probePolicy([], "extends: [builtin:base]\n"));
  const statement = structuredClone(plan.statement);
  const rules = statement.predicate.landlock!.fs;
  const interpreter = rules.find((r) => r.implied === "interpreter");
  assert.ok(interpreter, "the probe is dynamically linked, so ld.so is implied");
  interpreter.sha256 = "00".repeat(32);
  const r = await launchStatement(String(dir), plan, statement, "tampered");
  assert.equal(r.code, 125, r.stderr);
  assert.equal(last(r.records).reason, "digest_mismatch");
  assert.ok(!r.records.some((rec) => rec.event === "child_created"));
});

Deno.test("landlock: a rule granting a right the ruleset does not handle is plan_invalid", async () => {
  using dir = tempDir();
  const plan = await compiled(String(dir), probePolicy([], "extends: [builtin:base]\n"));
  const statement = structuredClone(plan.statement);
  statement.predicate.landlock!.handledFs = ["read_file"];
  const r = await launchStatement(String(dir), plan, statement, "narrow");
  assert.equal(r.code, 125, r.stderr);
  assert.equal(last(r.records).reason, "plan_invalid");
  assert.ok(probe());
});

Deno.test("landlock: 3,000 path rules under `ulimit -n 128`: one path fd at a time", async () => {
  using dir = tempDir();
  const dirs = Array.from({ length: 3000 }, (_, i) => `${dir}/d${i}`);
  for (const d of dirs) Deno.mkdirSync(d);
  Deno.writeTextFileSync(`${dirs.at(-1)}/last.txt`, "last\n");
  Deno.chmodSync(`${dirs.at(-1)}/last.txt`, 0o644);
  const policy = `${dir}/p.yaml`;
  Deno.writeTextFileSync(
    policy,
    `version: 1
name: many
target: { exe: /bin/cat, argv: [cat, ${dirs.at(-1)}/last.txt] }
filesystem:
  read:
${dirs.map((d) => `    - ${d}\n`).join("")}    - /usr/lib
    - /lib
    - /lib64
    - /etc/ld.so.cache
`,
  );
  const { charterArgv, run } = await import("./helpers.ts");
  const argv = charterArgv(["launch", policy, "--no-seal", "--transcript", `${dir}/t.jsonl`]);
  const r = await run("sh", ["-c", 'ulimit -n 128 && exec "$@"', "sh", ...argv]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "last\n");
  const records = Deno.readTextFileSync(`${dir}/t.jsonl`).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  const confine = records.find((rec) => rec.event === "phase_resolved" && rec.phase === 4);
  assert.ok(
    confine.details.landlock.fsRules >= 3000,
    JSON.stringify(confine.details.landlock.fsRules),
  );
});
