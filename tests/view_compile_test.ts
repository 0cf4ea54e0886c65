/**
 * The filesystem view in the plan: compiled deterministically per the view contract
 * (root first, parents before children, symlinks on the way, the noexec rule), Landlock
 * rules for what exists only inside the view, and `explain`, `verify`, `diff` and
 * `transcript verify` all reading the same entries.
 */
import assert from "node:assert/strict";
import { diffPlans, grantsOf } from "../audit/grants.ts";
import { phaseDetailProblems } from "../audit/phase_details.ts";
import { childFileAccess } from "../cli/child_file_access.ts";
import { buildStatement, canonicalJson } from "../compiler/compile.ts";
import { isUnder } from "../compiler/lower_view.ts";
import type { LinuxLaunchPlan, ViewMount } from "../compiler/plan.ts";
import { DEFAULT_PROVENANCE, DEFAULT_VIEW } from "../policy/defaults.ts";
import { loadPolicy } from "../policy/load.ts";
import { charter, compile, keygen, tempDir, writePolicy } from "./helpers.ts";

const HEAD = "version: 1\nname: v\ntarget: { exe: /bin/true }\n";

async function planOf(dir: string, yaml: string, name = "p.yaml"): Promise<LinuxLaunchPlan> {
  const loaded = await loadPolicy(writePolicy(dir, name, HEAD + yaml));
  return (await buildStatement(loaded, { compiledOn: new Date(0) })).predicate;
}

function entry(plan: LinuxLaunchPlan, target: string): ViewMount | undefined {
  return plan.view?.mounts.find((m) => m.kind !== "root" && m.target === target);
}

/** A directory with `real/sub`, `link -> real` and `abs -> DIR/real`. */
function fixture(dir: string): void {
  Deno.mkdirSync(`${dir}/real/sub`, { recursive: true });
  Deno.symlinkSync("real", `${dir}/link`);
  Deno.symlinkSync(`${dir}/real`, `${dir}/abs`);
  Deno.mkdirSync(`${dir}/w`);
  Deno.mkdirSync(`${dir}/wx/bin`, { recursive: true });
  Deno.copyFileSync("/bin/true", `${dir}/wx/bin/tool`);
}

Deno.test("a listed view compiles to the same bytes twice, root first, parents before children", async () => {
  using dir = tempDir();
  fixture(String(dir));
  const yaml = `filesystem:
  view: listed
  read: [${dir}/link/sub, /usr/share/zoneinfo]
  write: [${dir}/w]
  files: { /etc/hosts: { content: "127.0.0.1 localhost\\n" } }
  mounts: [{ source: /usr/share, target: /data }]
`;
  const a = await planOf(String(dir), yaml);
  const b = await planOf(String(dir), yaml);
  assert.deepEqual(canonicalJson(a), canonicalJson(b));
  assert.ok(a.schedule.some((p) => p.id === "linux.visibility.view.v1"));
  const ids = a.schedule.map((p) => p.id);
  assert.ok(
    ids.indexOf("linux.visibility.namespaces.v1") < ids.indexOf("linux.visibility.view.v1"),
  );
  assert.ok(ids.indexOf("linux.visibility.view.v1") < ids.indexOf("linux.visibility.cwd.v1"));
  const mounts = a.view!.mounts;
  assert.equal(mounts[0].kind, "root");
  assert.ok(mounts.slice(1).every((m) => m.kind !== "root"));
  const targets = mounts.slice(1).map((m) => (m as { target: string }).target);
  targets.forEach((t, i) =>
    targets.slice(i + 1).forEach((later) =>
      assert.ok(!(isUnder(t, later) && t !== later), `${later} comes after ${t}, under it`)
    )
  );
  assert.equal(new Set(targets).size, targets.length, "one entry per target");
  assert.deepEqual((entry(a, "/tmp") as { flags: string[] }).flags, ["nosuid", "nodev", "noexec"]);
});

Deno.test("a listed path appears at its resolution, with the symlinks on the way recreated", async () => {
  using dir = tempDir();
  fixture(String(dir));
  const plan = await planOf(
    String(dir),
    `filesystem: { view: listed, read: [${dir}/link/sub, ${dir}/abs/sub] }\n`,
  );
  assert.deepEqual(entry(plan, `${dir}/link`), {
    kind: "symlink",
    target: `${dir}/link`,
    link: "real",
  });
  assert.deepEqual(entry(plan, `${dir}/abs`), {
    kind: "symlink",
    target: `${dir}/abs`,
    link: `${dir}/real`,
  });
  // Two names of one directory are one bind at the resolved path.
  const binds = plan.view!.mounts.filter((m) =>
    m.kind === "bind" && m.target === `${dir}/real/sub`
  );
  assert.equal(binds.length, 1);
  assert.deepEqual(binds[0], {
    kind: "bind",
    source: `${dir}/link/sub`,
    sourceResolved: `${dir}/real/sub`,
    target: `${dir}/real/sub`,
    flags: ["ro", "nosuid", "nodev"],
  });
  // The Landlock rule opens the same resolution.
  const rule = plan.landlock!.fs.find((r) => r.path === `${dir}/link/sub`);
  assert.equal(rule?.resolved, `${dir}/real/sub`);
  // A path that does not exist grants nothing and is not in the view; Landlock keeps its
  // rule (skipped at launch), and explain says the view leaves it out.
  Deno.symlinkSync("absent", `${dir}/dangling`);
  const absent = await planOf(
    String(dir),
    `filesystem: { view: listed, read: [${dir}/absent, ${dir}/dangling/x] }\n`,
  );
  assert.equal(entry(absent, `${dir}/absent`), undefined);
  assert.equal(entry(absent, `${dir}/dangling`), undefined, "no symlink towards nothing");
  assert.ok(absent.landlock!.fs.some((r) => r.path === `${dir}/absent`));
  assert.ok(
    grantsOf(absent).some((g) => g.text === `${dir}/absent: read_file, read_dir (not in the view)`),
  );
});

Deno.test("flags: nosuid everywhere, nodev but on /dev, noexec where nothing is executable", async () => {
  using dir = tempDir();
  fixture(String(dir));
  const plan = await planOf(
    String(dir),
    `filesystem:
  view: listed
  read: [${dir}/real]
  write: [${dir}/w, ${dir}/wx]
  exec: [${dir}/wx/bin/tool]
  dev: terminal
  files: { /etc/hosts: { content: x } }
  mounts: [{ source: ${dir}/w, target: /data, write: true }]
`,
  );
  const flagsOf = (t: string) => (entry(plan, t) as { flags: string[] }).flags;
  assert.deepEqual(flagsOf(`${dir}/real`), ["ro", "nosuid", "nodev"]);
  assert.deepEqual(flagsOf(`${dir}/w`), ["nosuid", "nodev", "noexec"]);
  assert.deepEqual(flagsOf(`${dir}/wx`), ["nosuid", "nodev"]);
  assert.deepEqual(flagsOf(`${dir}/wx/bin/tool`), ["ro", "nosuid", "nodev"]);
  assert.deepEqual(flagsOf("/data"), ["nosuid", "nodev", "noexec"]);
  assert.deepEqual(flagsOf("/etc/hosts"), ["ro", "nosuid", "nodev", "noexec"]);
  // The exec grant lies under /tmp (the test directory is there): no noexec on it.
  assert.deepEqual(flagsOf("/tmp"), ["nosuid", "nodev"]);
  assert.deepEqual(flagsOf("/proc"), ["nosuid", "nodev", "noexec"]);
  assert.deepEqual(entry(plan, "/dev"), {
    kind: "dev",
    target: "/dev",
    devpts: true,
    flags: ["ro", "nosuid", "noexec"],
  });
  assert.deepEqual(plan.view!.mounts[0], {
    kind: "root",
    sizeBytes: 1024 * 1024 + 64 * 1024,
    flags: ["ro", "nosuid", "nodev"],
  });
  // The view provides its own devices: the host's /dev/null is not bound over them.
  assert.equal(entry(plan, "/dev/null"), undefined);
  const file = entry(plan, "/etc/hosts") as { contentB64: string };
  assert.equal(atob(file.contentB64), "x");
});

Deno.test("the view provides /proc and /dev itself; the exe runs from its fd; a copied input is not shown", async () => {
  using dir = tempDir();
  Deno.writeTextFileSync(`${dir}/own.py`, "");
  Deno.chmodSync(`${dir}/own.py`, 0o644);
  Deno.writeTextFileSync(`${dir}/shared.py`, "");
  Deno.chmodSync(`${dir}/shared.py`, 0o666);
  const loaded = await loadPolicy(writePolicy(
    String(dir),
    "p.yaml",
    `version: 1
name: v
target: { exe: /bin/true, inputs: [${dir}/own.py, ${dir}/shared.py] }
filesystem: { view: listed, read: [/proc, /proc/self/status, /dev, /dev/null, /usr/lib] }
`,
  ));
  const plan = (await buildStatement(loaded, { compiledOn: new Date(0) })).predicate;
  const sources = plan.view!.mounts.flatMap((m) => m.kind === "bind" ? [m.source] : []);
  assert.deepEqual(sources.sort(), [`${dir}/own.py`, "/usr/lib"].sort());
  // What the shim copies (others can write it) reaches the target as /proc/self/fd/N.
  assert.ok(!sources.includes(`${dir}/shared.py`));
  assert.ok(!sources.includes("/bin/true"), "the exe runs from the fd the shim verified");
  assert.deepEqual(entry(plan, "/proc")?.kind, "proc");
  assert.deepEqual(entry(plan, "/dev")?.kind, "dev");
});

Deno.test("Landlock rules for what exists only in the view, and for mounted host paths", async () => {
  using dir = tempDir();
  fixture(String(dir));
  const plan = await planOf(
    String(dir),
    `filesystem:
  view: listed
  dev: terminal
  files: { /etc/hosts: { content: x } }
  mounts: [{ source: ${dir}/w, target: /data, write: true }, { source: ${dir}/real, target: /ro }]
`,
  );
  const rule = (path: string, inView?: true) =>
    plan.landlock!.fs.find((r) => r.path === path && r.inView === inView);
  assert.ok(rule("/tmp", true)?.access.includes("make_reg"));
  assert.deepEqual(rule("/proc", true)?.access, ["read_file", "read_dir"]);
  assert.deepEqual(rule("/etc/hosts", true)?.access, ["read_file"]);
  assert.deepEqual(rule("/dev/pts", true)?.access, [
    "write_file",
    "read_file",
    "read_dir",
    "ioctl_dev",
  ]);
  assert.deepEqual(rule("/dev", true)?.access, ["read_dir"]);
  assert.deepEqual(rule("/dev/zero", true)?.access, ["write_file", "read_file"]);
  assert.deepEqual(rule("/dev/urandom", true)?.access, ["read_file"]);
  assert.ok(rule(`${dir}/w`)?.access.includes("write_file"));
  assert.deepEqual(rule(`${dir}/real`)?.access, ["read_file", "read_dir"]);
  // A rule in the view has no host resolution: the shim does not open it in the parent.
  assert.ok(plan.landlock!.fs.filter((r) => r.inView).every((r) => r.resolved === undefined));
});

Deno.test("a listed view's defaults: 64 MiB tmp, /proc with a pid namespace, minimal /dev", async () => {
  using dir = tempDir();
  const loaded = await loadPolicy(
    writePolicy(String(dir), "p.yaml", `${HEAD}filesystem: { view: listed }\n`),
  );
  const fs = loaded.policy.filesystem!;
  assert.equal(fs.tmp, 64 * 1024 * 1024);
  assert.equal(fs.proc, true);
  assert.equal(fs.dev, "minimal");
  for (const key of ["filesystem.tmp", "filesystem.proc", "filesystem.dev"]) {
    assert.deepEqual(loaded.provenance.get(key), DEFAULT_PROVENANCE, key);
  }
  const noPid = await loadPolicy(
    writePolicy(
      String(dir),
      "q.yaml",
      `${HEAD}namespaces: { pid: false }\nfilesystem: { view: listed }\n`,
    ),
  );
  assert.equal(noPid.policy.filesystem!.proc, false);
  // No view key: the one default switch decides.
  const plain = await loadPolicy(writePolicy(String(dir), "r.yaml", HEAD));
  assert.equal(plain.policy.filesystem!.view, DEFAULT_VIEW);
  assert.deepEqual(plain.provenance.get("filesystem.view"), DEFAULT_PROVENANCE);
});

Deno.test("a host view gets a view only to hide paths; enforce.namespaces off gets none", async () => {
  using dir = tempDir();
  const hide = await planOf(
    String(dir),
    "filesystem: { view: host, hide: [/run/charter-absent.sock] }\n",
  );
  assert.deepEqual(hide.view, {
    mode: "host",
    enforce: "required",
    mounts: [{
      kind: "hide",
      target: "/run/charter-absent.sock",
      flags: ["ro", "nosuid", "nodev", "noexec"],
    }],
  });
  const host = await planOf(String(dir), "filesystem: { view: host }\n");
  assert.equal(host.view, undefined);
  assert.ok(!host.schedule.some((p) => p.id === "linux.visibility.view.v1"));
  const off = await planOf(
    String(dir),
    "filesystem: { view: listed }\nenforce: { namespaces: off }\n",
  );
  assert.equal(off.view, undefined);
  const best = await planOf(
    String(dir),
    "filesystem: { view: listed }\nenforce: { namespaces: best_effort }\n",
  );
  assert.equal(best.view?.enforce, "best_effort");
});

Deno.test("diff reports view changes as newly allowed or denied", async () => {
  using dir = tempDir();
  fixture(String(dir));
  const base = `filesystem:\n  view: listed\n  read: [${dir}/real]\n`;
  const before = await planOf(
    String(dir),
    `${base}  mounts: [{ source: ${dir}/w, target: /data }]\n`,
    "a.yaml",
  );
  const added = (after: LinuxLaunchPlan) =>
    diffPlans(before, after).added.filter((g) => g.mechanism === "view").map((g) => g.text);
  const removed = (after: LinuxLaunchPlan) =>
    diffPlans(before, after).removed.filter((g) => g.mechanism === "view").map((g) => g.text);

  const visible = await planOf(
    String(dir),
    `${
      base.replace("/real]", "/real, /etc/hostname]")
    }  mounts: [{ source: ${dir}/w, target: /data }]\n`,
    "b.yaml",
  );
  assert.deepEqual(added(visible), [
    "/etc/hostname: the host's /etc/hostname, read-only (ro,nosuid,nodev)",
  ]);
  assert.deepEqual(removed(visible), []);

  const writable = await planOf(
    String(dir),
    `${base}  mounts: [{ source: ${dir}/w, target: /data, write: true }]\n`,
    "c.yaml",
  );
  assert.equal(added(writable).length, 1);
  assert.match(added(writable)[0], /^\/data: .*read-only \(ro,nosuid,nodev\) → .*writable/);

  const host = await planOf(String(dir), "filesystem: { view: host }\n", "d.yaml");
  assert.ok(added(host).includes("the host's whole tree is visible (no filesystem view)"));
  assert.ok(added(host).some((t) => t.startsWith("listed view")), "the listed view is lost");
  assert.ok(diffPlans(host, before).removed.some((g) => g.key === "view:*"));

  const hidden = await planOf(String(dir), "filesystem: { view: host, hide: [/run] }\n", "e.yaml");
  const unhidden = diffPlans(hidden, host).added.map((g) => g.key);
  assert.ok(unhidden.includes("view:hide:/run"));
  assert.ok(unhidden.includes("view:namespace"));

  // The CLI says the same, and fails the gate.
  const r = await charter(["diff", `${dir}/a.yaml`, `${dir}/c.yaml`]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^\+ view: \/data: /m);
});

Deno.test("explain and verify show the view, each entry with its flags and provenance", async () => {
  using dir = tempDir();
  fixture(String(dir));
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    `${HEAD}filesystem:
  view: listed
  read: [${dir}/link/sub]
  files: { /etc/hosts: { content: "127.0.0.1 localhost\\n" } }
  mounts: [{ source: ${dir}/w, target: /data }]
`,
  );
  const explained = await charter(["explain", policy]);
  assert.equal(explained.code, 0, explained.stderr);
  const p = policy.replaceAll(".", "\\.");
  for (
    const line of [
      /^ {2}listed view: a private mount namespace .*\(required\)\s+<- .*p\.yaml:5:9$/m,
      new RegExp(`^  ${dir}/link -> real \\(a symlink, as on the host\\)$`, "m"),
      new RegExp(
        `^  ${dir}/real/sub: the host's ${dir}/link/sub \\(opened as ${dir}/real/sub, no symlinks\\), read-only \\(ro,nosuid,nodev\\)\\s+<- ${p}:6:10$`,
        "m",
      ),
      new RegExp(
        `^  /data: the host's ${dir}/w, read-only \\(ro,nosuid,nodev\\)\\s+<- ${p}:8:12$`,
        "m",
      ),
      /^ {2}\/etc\/hosts: a file of 20 bytes, "127\.0\.0\.1 localhost\\n" \(ro,nosuid,nodev,noexec\)\s+<- .*:7:/m,
      /^ {2}\/tmp: a private tmpfs of 67108864 bytes, empty at launch \(nosuid,nodev,noexec\)\s+<- default$/m,
      /^ {2}\/proc: the child's pid namespace \(nosuid,nodev,noexec\)\s+<- default$/m,
      /^ {2}\/dev: null, zero, full, random, urandom, tty \(ro,nosuid,noexec\)\s+<- default$/m,
      /^ {2}\/tmp: .* \(in the view\)/m,
    ]
  ) {
    assert.match(explained.stdout, line);
  }
  const { key, pub } = await keygen(String(dir));
  const plan = await compile(policy, key, String(dir));
  const verified = await charter(["verify", plan, "--trust", pub]);
  assert.equal(verified.code, 0, verified.stderr);
  const fromPlan = grantsOf(
    JSON.parse(
      new TextDecoder().decode(
        Uint8Array.from(
          atob(JSON.parse(Deno.readTextFileSync(plan)).payload),
          (c) => c.charCodeAt(0),
        ),
      ),
    ).predicate,
  ).filter((g) => g.mechanism === "view");
  assert.ok(fromPlan.length > 5);
  for (const g of fromPlan) assert.ok(verified.stdout.includes(g.text), g.text);
});

/** `details.view` as the contract says the shim reports it for this plan. */
function honestView(plan: LinuxLaunchPlan): Record<string, unknown> {
  return {
    mode: plan.view!.mode,
    mounts: plan.view!.mounts.map((m) =>
      m.kind === "root"
        ? { kind: "root", target: "/", flags: m.flags }
        : m.kind === "symlink"
        ? { kind: m.kind, target: m.target, link: m.link }
        : m.kind === "bind"
        ? { kind: m.kind, target: m.target, source: m.source, flags: m.flags }
        : { kind: m.kind, target: m.target, flags: m.flags }
    ),
  };
}

Deno.test("transcript verify: the phase 2 view report must equal the plan's entries", async () => {
  using dir = tempDir();
  fixture(String(dir));
  const plan = await planOf(
    String(dir),
    `filesystem: { view: listed, read: [${dir}/link/sub, ${dir}/w] }\n`,
  );
  const ids = { uid: 0, gid: 0 };
  const cwd = { path: "/", opened: "/", dev: 1, ino: 2 };
  const problems = (view: unknown, result = "applied") =>
    phaseDetailProblems(
      { phase: 2, result, details: { namespaces: {}, view, cwd } },
      plan,
      ids,
    ).filter((p) => p.includes("view"));
  const honest = honestView(plan);
  assert.deepEqual(problems(honest), []);
  const mounts = honest.mounts as Record<string, unknown>[];
  // A host path gone since compiling may be reported absent (as Landlock reports it) and left out.
  const withoutAbsent = mounts.filter((m) => m.source !== `${dir}/w`);
  assert.equal(withoutAbsent.length, mounts.length - 1);
  assert.deepEqual(problems({ ...honest, mounts: withoutAbsent, absentPaths: [`${dir}/w`] }), []);

  const forged: [string, unknown, RegExp][] = [
    ["an extra mount", {
      ...honest,
      mounts: [...mounts, {
        kind: "bind",
        target: "/etc",
        source: "/etc",
        flags: ["ro", "nosuid", "nodev"],
      }],
    }, /view\.mounts\.\d+ is \{"kind":"bind","target":"\/etc"/],
    ["a missing mount", { ...honest, mounts: mounts.slice(0, -1) }, /view\.mounts\.\d+ is null/],
    [
      "a missing flag",
      {
        ...honest,
        mounts: mounts.map((m) => m.kind === "tmpfs" ? { ...m, flags: ["nosuid", "nodev"] } : m),
      },
      /"flags":\["nosuid","nodev"\]\}, the plan says .*"noexec"/,
    ],
    ["another mode", { ...honest, mode: "host" }, /view is not \{mode: "listed", mounts\}/],
    ["a mount left out without saying so", { ...honest, mounts: withoutAbsent }, /view\.mounts/],
    [
      "a present path called absent",
      { ...honest, absentPaths: ["/etc"] },
      /absentPaths names \/etc/,
    ],
    [
      "a required view reported as not built",
      { mode: "host", requested: "listed", errno: 1 },
      /a required view/,
    ],
  ];
  for (const [what, view, expected] of forged) {
    const found = problems(view);
    assert.ok(found.some((p) => expected.test(p)), `${what}: ${found.join("; ")}`);
  }
  // A /proc left out is a best_effort gap only.
  const procSkipped = (p: LinuxLaunchPlan) =>
    phaseDetailProblems(
      {
        phase: 2,
        result: "degraded",
        details: { namespaces: {}, view: honestView(p), cwd, viewProcSkipped: "no pid namespace" },
      },
      p,
      ids,
    ).filter((x) => x.includes("view") || x.includes("degraded"));
  assert.match(procSkipped(plan).join(), /viewProcSkipped is not something/);
  const best = await planOf(
    String(dir),
    "filesystem: { view: listed }\nenforce: { namespaces: best_effort }\n",
    "best.yaml",
  );
  assert.deepEqual(procSkipped(best), []);
  assert.deepEqual(
    phaseDetailProblems(
      { phase: 2, result: "applied", details: { namespaces: {}, cwd } },
      plan,
      ids,
    )
      .filter((p) => p.includes("view")),
    ["details.view is missing"],
  );
});

Deno.test("compile: a script target or an input needs the view's /proc (and /dev for a script)", async () => {
  using dir = tempDir();
  Deno.writeTextFileSync(`${dir}/run.sh`, "#!/bin/sh\necho hi\n");
  Deno.chmodSync(`${dir}/run.sh`, 0o755);
  Deno.writeTextFileSync(`${dir}/in.txt`, "x");
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    `version: 1
name: s
target: { exe: ${dir}/run.sh, inputs: [${dir}/in.txt] }
filesystem: { view: listed, proc: false }
`,
  );
  const { key } = await keygen(String(dir));
  const r = await charter(["compile", policy, "-o", `${dir}/plan.json`, "--key", key]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`p\\.yaml:3:16: target\\.exe: a #! script runs as /dev/fd/N`));
  assert.match(r.stderr, /p\.yaml:3:\d+: target\.inputs: a copied input is handed over/);
  assert.ok(!r.stderr.includes("    at "));
  Deno.writeTextFileSync(
    policy,
    Deno.readTextFileSync(policy).replace("proc: false", "proc: true"),
  );
  const ok = await charter(["compile", policy, "-o", `${dir}/plan.json`, "--key", key]);
  assert.equal(ok.code, 0, ok.stderr);
});

Deno.test("launch: a file the required listed view does not show is out of the child's reach", async () => {
  using dir = tempDir();
  fixture(String(dir));
  const facts = {
    role: "transcript file",
    path: `${dir}/w/t.jsonl`,
    owner: 65534,
    mode: 0o644,
    launcherUid: 65534,
    landlockAbi: () => 0,
  };
  // No Landlock: only the view can keep the child (the file's owner) out.
  const plan = (fs: string, extra = "enforce: { landlock: off }\n") =>
    planOf(String(dir), `${extra}filesystem: ${fs}\n`);
  const why = async (fs: string, extra?: string) =>
    childFileAccess(await plan(fs, extra), facts, "write");
  assert.equal(await why("{ view: listed }"), undefined);
  assert.match(String(await why("{ view: host }")), /no Landlock filesystem rules/);
  // Shown writable (directly or above it), or the host's /proc with the launcher's fds.
  const shown = `{ view: listed, mounts: [{ source: ${dir}/w, target: /data, write: true }] }`;
  assert.ok(await why(shown));
  assert.equal(await why(shown.replace("write: true", "write: false")), undefined);
  assert.ok(
    await why("{ view: listed, proc: false, mounts: [{ source: /proc, target: /hostproc }] }"),
  );
  // best_effort may fall back to the host's tree; CAP_SYS_ADMIN could undo the mounts.
  assert.ok(await why("{ view: listed }", "enforce: { landlock: off, namespaces: best_effort }\n"));
  assert.ok(
    await why("{ view: listed }", "enforce: { landlock: off }\ncapabilities: [CAP_SYS_ADMIN]\n"),
  );
  const read = childFileAccess(
    await plan(`{ view: listed, mounts: [{ source: ${dir}/w, target: /data }] }`),
    facts,
    "read",
  );
  assert.ok(read, "a read-only mount still shows the file for reading");
});
