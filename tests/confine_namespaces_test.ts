/**
 * Identity and visibility through the real CLI and shim: a user namespace with mapped
 * ids, net/pid/uts/ipc/cgroup namespaces (loopback up, pid 1, hostname), as root and as
 * uid 65534, and the refusal or degradation when an unprivileged launcher asks for
 * namespaces without a user namespace.
 */
import assert from "node:assert/strict";
import { charter, tempDir, transcriptFile } from "./helpers.ts";
import { last, launch, phase, probe, probePolicy, shellPolicy } from "./probes/probe.ts";

const AS_NOBODY = { unprivileged: true } as const;

const ALL_NAMESPACES = `user: { namespace: true, uid: 1000, gid: 1000 }
namespaces: { net: true, pid: true, ipc: true, uts: true, cgroup: true }
hostname: sandbox
`;

// A root launcher's child is mapped to the unprivileged host id 65534, never to root, and
// loses root's supplementary groups; an unprivileged launcher's child keeps its own ids.
for (
  const [who, options, launcherUid, setgroups] of [
    ["root", {}, 0, "cleared"],
    ["unprivileged", AS_NOBODY, 65534, "deny"],
  ] as const
) {
  const outside = 65534;
  Deno.test(`namespaces (${who}): ids inside are mapped, pid is 1, the hostname is set, only lo exists and is UP`, async () => {
    using dir = tempDir();
    const script = "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; " +
      `echo pid=$$; cat /proc/sys/kernel/hostname; ${probe()} ifaces`;
    const r = await launch(String(dir), shellPolicy(script, ALL_NAMESPACES), options);
    assert.equal(r.code, 0, r.stderr);
    const [uid, gid, uidMap, gidMap, pid, hostname, ...ifaces] = r.lines;
    assert.deepEqual([uid, gid], ["1000", "1000"]);
    assert.deepEqual(uidMap.trim().split(/\s+/), ["1000", String(outside), "1"]);
    assert.deepEqual(gidMap.trim().split(/\s+/), ["1000", String(outside), "1"]);
    assert.equal(pid, "pid=1");
    assert.equal(hostname, "sandbox");
    assert.deepEqual(ifaces, ["lo UP"]);

    const identity = phase(r.records, 1);
    assert.equal(identity.result, "applied");
    assert.deepEqual(identity.details.userNamespace, {
      inode: (identity.details.userNamespace as { inode: number }).inode,
      uidMap: `1000 ${outside} 1`,
      gidMap: `1000 ${outside} 1`,
      setgroups,
    });
    const visibility = phase(r.records, 2);
    assert.equal(visibility.result, "applied");
    const ns = visibility.details.namespaces as Record<string, number>;
    assert.deepEqual(Object.keys(ns).sort(), ["cgroup", "ipc", "net", "pid", "uts"]);
    const own = Deno.statSync("/proc/self/ns/net").ino;
    assert.ok(Object.values(ns).every((ino) => typeof ino === "number" && ino !== own));
    assert.equal(visibility.details.hostname, "sandbox");
    assert.equal(visibility.details.loopback, "up");
  });

  Deno.test(`namespaces (${who}): loopback in the new net namespace carries TCP`, async () => {
    using dir = tempDir();
    const script = `${probe()} bind:4242 connect:4242`;
    const r = await launch(
      String(dir),
      shellPolicy(script, "user: { namespace: true }\nnamespaces: { net: true }\n"),
      options,
    );
    assert.equal(r.code, 0, r.stderr);
    // bind works on the (up) loopback; nothing listens, so connect is refused, not unreachable.
    assert.deepEqual(r.lines, ["ok", "ECONNREFUSED"]);
    // The default ids inside are the launcher's own.
    const identity = phase(r.records, 1).details.userNamespace as Record<string, string>;
    assert.equal(identity.uidMap, `${launcherUid} ${outside} 1`);
  });
}

Deno.test("namespaces (unprivileged): net/pid without a user namespace are refused with kernel_unsupported", async () => {
  using dir = tempDir();
  const r = await launch(
    String(dir),
    probePolicy(["getppid"], "user: { namespace: false }\nnamespaces: { net: true, pid: true }\n"),
    AS_NOBODY,
  );
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /kernel_unsupported/);
  assert.match(r.stderr, /user: \{ namespace: true \}/);
  assert.equal(last(r.records).reason, "kernel_unsupported");
  assert.ok(!r.records.some((rec) => rec.event === "child_created"));
});

Deno.test("namespaces (unprivileged): best_effort runs without them and records degraded", async () => {
  using dir = tempDir();
  const r = await launch(
    String(dir),
    shellPolicy(
      "echo pid=$$; cat /proc/sys/kernel/hostname",
      "user: { namespace: false }\nnamespaces: { net: true, uts: true, pid: false, ipc: false }\nhostname: sandbox\nenforce: { namespaces: best_effort }\n",
    ),
    AS_NOBODY,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.notEqual(r.lines[1], "sandbox");
  const visibility = phase(r.records, 2);
  assert.equal(visibility.result, "degraded");
  const skipped = visibility.details.namespacesSkipped as { namespaces: string[]; reason: string };
  assert.deepEqual(skipped.namespaces, ["net", "uts"]);
  assert.match(skipped.reason, /CAP_SYS_ADMIN/);
  assert.ok(visibility.details.hostnameSkipped);
  assert.equal(visibility.details.namespaces, undefined);
});

Deno.test("namespaces (root): net and pid work without a user namespace", async () => {
  using dir = tempDir();
  const r = await launch(
    String(dir),
    shellPolicy(
      `echo pid=$$; ${probe()} ifaces`,
      "user: { namespace: false }\nnamespaces: { net: true, pid: true }\n",
    ),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.lines, ["pid=1", "lo UP"]);
  assert.equal(phase(r.records, 1).result, "not_required");
});

Deno.test("namespaces: the transcript of a namespaced launch verifies", async () => {
  using dir = tempDir();
  const d = String(dir);
  const t = transcriptFile();
  await charter(["keygen", "-o", `${d}/k`]);
  Deno.writeTextFileSync(`${d}/p.yaml`, shellPolicy("exit 0", ALL_NAMESPACES));
  const c = await charter([
    "compile",
    `${d}/p.yaml`,
    "-o",
    `${d}/plan.dsse.json`,
    "--key",
    `${d}/k.key`,
  ]);
  assert.equal(c.code, 0, c.stderr);
  const r = await charter([
    "launch",
    `${d}/plan.dsse.json`,
    "--trust",
    `${d}/k.pub`,
    "--no-seal",
    "--transcript",
    t,
  ], AS_NOBODY);
  assert.equal(r.code, 0, r.stderr);
  const v = await charter([
    "transcript",
    "verify",
    "--allow-unsealed",
    t,
    "--plan",
    `${d}/plan.dsse.json`,
    "--trust",
    `${d}/k.pub`,
  ]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
});
