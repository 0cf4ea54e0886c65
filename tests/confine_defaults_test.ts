/**
 * The default policy (only version, name and target) and what no policy may give a
 * child: host root and access to the launcher. Each test is an escape a hostile child
 * tried on the earlier defaults, run for real as root and as uid 65534.
 */
import assert from "node:assert/strict";
import { charter, charterArgv, readTranscript, run, tempDir, writePolicy } from "./helpers.ts";
import {
  compiled,
  dead,
  DEEPEST_USERNS,
  last,
  launch,
  launchStatement,
  phase,
  PYTHON,
} from "./probes/probe.ts";

const AS_NOBODY = { unprivileged: true } as const;
const WHO = [["root", {}], ["unprivileged", AS_NOBODY]] as const;

/** A policy that runs `python3 -c SCRIPT`, plus `extra` YAML lines. */
function pythonPolicy(script: string, extra = ""): string {
  return `version: 1
name: py
target:
  exe: ${PYTHON}
  argv: [python3, -c, ${JSON.stringify(script)}]
${extra}`;
}

/** Python that prints, for each path, "ok" or the errno name of opening it with MODE. */
const OPEN_EACH = (paths: string[], mode: string) =>
  `import errno
for p in ${JSON.stringify(paths)}:
    try:
        open(p, ${JSON.stringify(mode)}).close(); print("ok")
    except OSError as e:
        print(errno.errorcode[e.errno])`;

for (const [who, options] of WHO) {
  Deno.test(`defaults (${who}): echo, sh -c and python3 -c run under the default policy`, async () => {
    using dir = tempDir();
    for (
      const [exe, argv, out] of [
        ["/bin/echo", ["echo", "hi"], "hi"],
        ["/bin/sh", ["sh", "-c", "echo hi"], "hi"],
        [PYTHON, ["python3", "-c", "print(1)"], "1"],
      ]
    ) {
      const yaml = `version: 1\nname: d\ntarget: { exe: ${exe}, argv: ${JSON.stringify(argv)} }\n`;
      const r = await launch(String(dir), yaml, options);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, [out]);
      const identity = phase(r.records, 1).details.userNamespace as Record<string, string>;
      assert.match(identity.uidMap, / 65534 1$/, "the child's host uid is unprivileged");
      const ns = phase(r.records, 2).details.namespaces as Record<string, number>;
      assert.deepEqual(Object.keys(ns).sort(), ["ipc", "net", "pid"]);
      const confine = phase(r.records, 4).details.landlock as Record<string, unknown>;
      assert.ok(confine, "Landlock is enforced by default");
      assert.equal(phase(r.records, 3).details.pdeathsig, 9);
    }
  });

  Deno.test(`defaults (${who}): a setuid copy the child makes is not owned by root on the host`, async () => {
    using dir = tempDir();
    const noNamespaces =
      "user: { namespace: false }\nnamespaces: { pid: false, net: false, ipc: false }\n";
    for (const user of ["", noNamespaces]) {
      const copy = `${dir}/true-${user ? "nons" : "ns"}`;
      const script = `import shutil, os
shutil.copy("/usr/bin/true", ${JSON.stringify(copy)})
try:
    os.chmod(${JSON.stringify(copy)}, 0o4755); print("ok")
except PermissionError:
    print("EPERM")`;
      const r = await launch(
        String(dir),
        pythonPolicy(
          script,
          // Without a user namespace uid 65534 gets no mount namespace: the host's tree.
          `extends: [builtin:python]\n${user}filesystem: { ${
            user ? "view: host, " : ""
          }read: [/usr/bin/true], write: [${dir}] }\n`,
        ),
        options,
      );
      assert.equal(r.code, 0, r.stderr);
      // The baseline refuses the setuid bit; the copy is not root's either way.
      assert.deepEqual(r.lines, ["EPERM"]);
      const st = Deno.statSync(copy);
      assert.equal(st.mode! & 0o6000, 0);
      assert.equal(st.uid, 65534, `${copy} belongs to ${st.uid}`);
      assert.equal(st.gid, 65534);
    }
  });

  Deno.test(`defaults (${who}): the child cannot read the launcher's memory or environment`, async () => {
    using dir = tempDir();
    const script = `import errno
ppid = open("/proc/self/stat").read().rsplit(")", 1)[1].split()[1]
for f in ("mem", "environ"):
    try:
        open(f"/proc/{ppid}/{f}", "rb").close(); print("ok")
    except OSError as e:
        print(errno.errorcode[e.errno])`;
    const contained = "extends: [builtin:python]\nfilesystem: { read: [/proc] }\n";
    const r = await launch(String(dir), pythonPolicy(script, contained), options);
    assert.equal(r.code, 0, r.stderr);
    // The listed view's /proc is the child's pid namespace's: the launcher is not in it.
    assert.deepEqual(r.lines, ["ENOENT", "ENOENT"], contained);
    // The host's /proc (view: host): the launcher is there, and out of reach.
    const host = "extends: [builtin:python]\nfilesystem: { view: host, read: [/proc] }\n";
    const h = await launch(String(dir), pythonPolicy(script, host), options);
    assert.equal(h.code, 0, h.stderr);
    assert.deepEqual(h.lines, ["EACCES", "EACCES"], host);
    // No namespace and no Landlock domain (which denies ptrace access by itself): for an
    // unprivileged launcher the child has its uid, and only the launcher's non-dumpable
    // state stands between them. Such a child could write any transcript file of the
    // launcher's, so the transcript goes to the launcher's stderr.
    const bare =
      "user: { namespace: false }\nnamespaces: { pid: false, net: false, ipc: false }\n" +
      "enforce: { landlock: off }\nfilesystem: { view: host }\n";
    const policy = writePolicy(String(dir), "bare.yaml", pythonPolicy(script, bare));
    const b = await charter(["launch", policy, "--no-seal", "--transcript-fd", "2"], options);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(b.stdout.trim().split("\n"), ["EACCES", "EACCES"], bare);
  });

  Deno.test(`defaults (${who}): the child cannot signal a process of the launcher's uid`, async () => {
    using dir = tempDir();
    const argv = ["sleep", "97.25"];
    const sleeper = new Deno.Command(
      options === AS_NOBODY ? "setpriv" : argv[0],
      {
        args: options === AS_NOBODY
          ? ["--reuid=65534", "--regid=65534", "--clear-groups", "--", ...argv]
          : argv.slice(1),
        stdout: "null",
        stderr: "null",
      },
    ).spawn();
    try {
      const script = `import os, errno
try:
    os.kill(${sleeper.pid}, 15); print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])`;
      const r = await launch(String(dir), pythonPolicy(script), options);
      assert.equal(r.code, 0, r.stderr);
      assert.notEqual(r.lines[0], "ok");
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok(!dead(sleeper.pid), "the host process survived");
    } finally {
      sleeper.kill("SIGKILL");
      await sleeper.status;
    }
  });

  Deno.test(`defaults (${who}): no grandchild outlives the launch`, async () => {
    using dir = tempDir();
    const marker = who === "root" ? "313.125" : "314.125";
    const r = await launch(
      String(dir),
      `version: 1
name: bg
target: { exe: /bin/sh, argv: [sh, -c, "/usr/bin/sleep ${marker} & echo started"] }
filesystem: { exec: [/usr/bin/sleep] }
`,
      options,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, ["started"]);
    const left = () =>
      [...Deno.readDirSync("/proc")].filter((e) => /^\d+$/.test(e.name)).filter((e) => {
        try {
          return Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(marker);
        } catch {
          return false;
        }
      });
    const survivors = left();
    for (const e of survivors) Deno.kill(Number(e.name), "SIGKILL");
    assert.deepEqual(survivors.map((e) => e.name), []);
    assert.equal(phase(r.records, 2).details.descendants, undefined);
    // Without the pid namespace that gap is written down, not hidden.
    const uncontained = await launch(
      String(dir),
      "version: 1\nname: nopid\ntarget: { exe: /bin/true }\nnamespaces: { pid: false }\n",
      options,
      "nopid",
    );
    assert.equal(uncontained.code, 0, uncontained.stderr);
    assert.match(String(phase(uncontained.records, 2).details.descendants), /^not contained/);
  });

  Deno.test(`defaults (${who}): fds.pass of a runtime fd the launcher did not inherit is refused`, async () => {
    using dir = tempDir();
    // fd 3 of the launcher is one of Deno's own (close-on-exec, never inherited).
    const r = await launch(String(dir), pythonPolicy("print(1)", "fds: { pass: [3] }\n"), options);
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, /fd 3 \(fds\.pass\) was not inherited by the launcher/);
    assert.equal(last(r.records).reason, "handle_unavailable");
    assert.deepEqual(r.lines, []);
  });

  Deno.test(`defaults (${who}): uid without gid runs with gid = uid`, async () => {
    using dir = tempDir();
    const script = "import os; print(os.getuid(), os.getgid())";
    const r = await launch(String(dir), pythonPolicy(script, "user: { uid: 4242 }\n"), options);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, ["4242 4242"]);
    const identity = phase(r.records, 1).details.userNamespace as Record<string, string>;
    assert.equal(identity.gidMap, "4242 65534 1");
  });
}

Deno.test("defaults (root): the child cannot read root's 0600 file or open /etc/shadow for writing", async () => {
  using dir = tempDir();
  const secret = `${dir}/secret`;
  Deno.writeTextFileSync(secret, "root only\n", { mode: 0o600 });
  // Landlock grants both paths: only the child's unprivileged host identity refuses them.
  for (const user of ["", "user: { namespace: false }\n"]) {
    const r = await launch(
      String(dir),
      pythonPolicy(
        OPEN_EACH([secret], "r") + "\n" +
          OPEN_EACH(["/etc/shadow"], "a"),
        `extends: [builtin:python]\n${user}filesystem: { read: [${secret}], write: [/etc/shadow] }\n`,
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, ["EACCES", "EACCES"], user || "user namespace");
  }
});

Deno.test("defaults (root): user.host_root keeps host root, and explain flags it as authority", async () => {
  using dir = tempDir();
  const policy = `${dir}/root.yaml`;
  Deno.writeTextFileSync(
    policy,
    pythonPolicy("import os; print(os.getuid())", "user: { host_root: true }\n"),
  );
  const explained = await charter(["explain", policy]);
  assert.equal(explained.code, 0, explained.stderr);
  assert.match(explained.stdout, /host root included\s+<- .*root\.yaml:6:/);
  const r = await launch(
    String(dir),
    pythonPolicy("import os; print(os.getuid())", "user: { host_root: true }\n"),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.lines, ["0"]);
  assert.equal((phase(r.records, 1).details.userNamespace as { uidMap: string }).uidMap, "0 0 1");
});

Deno.test("defaults (root): a hand-made plan that switches to uid 0 without host_root is refused", async () => {
  using dir = tempDir();
  const c = await compiled(
    String(dir),
    pythonPolicy("print(1)", "user: { namespace: false, uid: 1000 }\n"),
  );
  const statement = structuredClone(c.statement);
  for (const p of statement.predicate.schedule) {
    if (p.id === "linux.scrub.ids.v1") p.uid = 0;
  }
  const r = await launchStatement(String(dir), c, statement, "uid0");
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /host_root/);
  assert.equal(last(r.records).reason, "plan_invalid");
});

Deno.test("defaults: a capability kept without a user namespace needs user.host_root", async () => {
  using dir = tempDir();
  const setuid = "import os; os.setresuid(0, 0, 0); print(os.getuid())";
  const policy = `${dir}/caps.yaml`;
  const host = "user: { namespace: false }\ncapabilities: [CAP_NET_BIND_SERVICE, CAP_SETUID]\n";
  Deno.writeTextFileSync(policy, pythonPolicy(setuid, host));
  const checked = await charter(["check", policy]);
  assert.equal(checked.code, 1, checked.stderr);
  assert.match(
    checked.stderr,
    /caps\.yaml:7:\d+: capabilities: CAP_SETUID without a user namespace/,
  );
  assert.match(checked.stderr, /host_root: true/);
  // Said out loud, it is host authority in explain.
  const granted = host.replace("namespace: false", "namespace: false, host_root: true");
  Deno.writeTextFileSync(policy, pythonPolicy(setuid, granted));
  const explained = await charter(["explain", policy]);
  assert.equal(explained.code, 0, explained.stderr);
  assert.match(explained.stdout, /CAP_SETUID kept on the host \(host authority\)/);
  // And it is: the child becomes host uid 0.
  const r = await launch(String(dir), pythonPolicy(setuid, granted));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.lines, ["0"]);
});

for (const [who, options] of [["root", {}], ["unprivileged", { unprivileged: true }]] as const) {
  Deno.test(`defaults (${who}): a hand-made plan keeping CAP_SETUID without a user namespace is refused`, async () => {
    using dir = tempDir();
    const c = await compiled(
      String(dir),
      pythonPolicy(
        "print(1)",
        "user: { namespace: false }\nnamespaces: { pid: false, net: false, ipc: false }\n" +
          "capabilities: [CAP_NET_BIND_SERVICE]\nfilesystem: { view: host }\n",
      ),
    );
    // The control: the plan as compiled runs.
    const r = await launchStatement(String(dir), c, c.statement, "bind", options);
    assert.equal(r.code, 0, r.stderr);
    const statement = structuredClone(c.statement);
    for (const p of statement.predicate.schedule) {
      if (p.id === "linux.scrub.capabilities.v1") p.keep = ["CAP_NET_BIND_SERVICE", "CAP_SETUID"];
    }
    const refused = await launchStatement(String(dir), c, statement, "setuid", options);
    assert.equal(refused.code, 125, refused.stderr);
    assert.match(refused.stderr, /CAP_SETUID without a user namespace/);
    assert.equal(last(refused.records).reason, "plan_invalid");
    assert.equal(refused.records.some((r) => r.event === "child_created"), false);
  });
}

Deno.test("defaults: explain shows every default with the provenance default", async () => {
  using dir = tempDir();
  const policy = `${dir}/d.yaml`;
  Deno.writeTextFileSync(policy, "version: 1\nname: d\ntarget: { exe: /bin/echo }\n");
  const r = await charter(["explain", policy]);
  assert.equal(r.code, 0, r.stderr);
  for (
    const line of [
      /new user namespace.*<- default$/m,
      /new pid namespace.*<- default$/m,
      /new ipc namespace.*<- default$/m,
      /new net namespace.*<- default$/m,
      /\/usr\/lib: read_file, read_dir\s+<- default$/m,
      /\/dev\/null: write_file.*<- default$/m,
      /killed \(signal 9\) when the launcher dies\s+<- default$/m,
    ]
  ) {
    assert.match(r.stdout, line);
  }
});

Deno.test("defaults (root): where no user namespace can be created, required refuses and best_effort records the gap", async () => {
  using dir = tempDir();
  const echo = "version: 1\nname: nouserns\ntarget: { exe: /bin/echo, argv: [echo, hi] }\n";
  // The launcher runs in the deepest user namespace the kernel allows: its clone3 with
  // CLONE_NEWUSER fails for real.
  const launchDeepest = async (yaml: string, name: string) => {
    Deno.writeTextFileSync(`${dir}/${name}.yaml`, yaml);
    const transcript = `${dir}/${name}.jsonl`;
    const r = await run(PYTHON, [
      DEEPEST_USERNS,
      ...charterArgv(["launch", `${dir}/${name}.yaml`, "--transcript", transcript]),
    ]);
    return { ...r, records: readTranscript(transcript) };
  };
  const refused = await launchDeepest(echo, "required");
  assert.equal(refused.code, 125, refused.stderr);
  // The refusal, then the seal.
  const refusal = refused.records.find((r) => r.event === "setup_refused");
  assert.equal(refusal?.reason, "kernel_unsupported");
  assert.match(String(refusal?.detail), /requires a user namespace/);
  assert.equal(last(refused.records).event, "transcript_sealed");
  assert.ok(!refused.records.some((r) => r.event === "child_created"));

  const degraded = await launchDeepest(
    `${echo}enforce: { namespaces: best_effort }\n`,
    "best_effort",
  );
  assert.equal(degraded.code, 0, degraded.stderr);
  assert.equal(degraded.stdout, "hi\n");
  const identity = phase(degraded.records, 1);
  assert.equal(identity.result, "degraded");
  assert.match(JSON.stringify(identity.details.userNamespace), /skipped/);
  // Still never root: without the user namespace the child is switched to 65534. The
  // launcher (root of its namespace) still gives it pid, ipc and net namespaces.
  const ids = phase(degraded.records, 3).details.ids as Record<string, number>;
  assert.deepEqual([ids.uid, ids.gid], [65534, 65534]);
  const visibility = phase(degraded.records, 2);
  assert.deepEqual(Object.keys(visibility.details.namespaces as object).sort(), [
    "ipc",
    "net",
    "pid",
  ]);
  assert.equal(visibility.details.descendants, undefined);
});

for (const [who, options] of WHO) {
  Deno.test(`defaults (${who}): the child cannot change the metadata of files it may not write`, async () => {
    using dir = tempDir();
    // The launcher's own private file: the child runs as the launcher's uid when unprivileged.
    const secret = `${dir}/id_rsa`;
    Deno.writeTextFileSync(secret, "key\n", { mode: 0o600 });
    Deno.chmodSync(secret, 0o600);
    if (options === AS_NOBODY) Deno.chownSync(secret, 65534, 65534);
    const script = `import errno, os
for name, call in [("chmod", lambda: os.chmod(${JSON.stringify(secret)}, 0o777)),
                   ("utime", lambda: os.utime(${JSON.stringify(secret)}, (0, 0))),
                   ("setxattr", lambda: os.setxattr(${JSON.stringify(secret)}, "user.x", b"1")),
                   ("chown", lambda: os.chown(${JSON.stringify(secret)}, -1, os.getgid()))]:
    try:
        call(); print(name, "ok")
    except OSError as e:
        print(name, errno.errorcode[e.errno])`;
    const r = await launch(String(dir), pythonPolicy(script), options);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, ["chmod EPERM", "utime EPERM", "setxattr EPERM", "chown EPERM"]);
    assert.equal(Deno.statSync(secret).mode! & 0o777, 0o600);
    // With a write grant the calls are the policy's to allow (its own output files).
    const out = `${dir}/out`;
    Deno.mkdirSync(out);
    Deno.chmodSync(out, 0o777);
    const own = `import os
p = ${JSON.stringify(`${out}/f`)}
open(p, "w").close(); os.chmod(p, 0o640); print(oct(os.stat(p).st_mode & 0o777))`;
    const w = await launch(
      String(dir),
      pythonPolicy(own, `filesystem: { write: [${out}] }\n`),
      options,
      "w",
    );
    assert.equal(w.code, 0, w.stderr);
    assert.deepEqual(w.lines, ["0o640"]);
  });
}
