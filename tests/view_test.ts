/**
 * The filesystem view (`linux.visibility.view.v1`) through the real CLI and shim, as root
 * and as uid 65534: plans compiled from a shell policy, given a hand-built `view` section
 * (VIEW_CONTRACT.md) and re-signed, then run under the real kernel.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { PlanStatement } from "../compiler/plan.ts";

/** One rule of the plan's `landlock.fs`. */
type LandlockRule = NonNullable<PlanStatement["predicate"]["landlock"]>["fs"][number];
import {
  compiled,
  type CompiledPlan,
  last,
  launchStatement,
  phase,
  probe,
  PYTHON,
  shellPolicy,
} from "./probes/probe.ts";

const AS_NOBODY = { unprivileged: true } as const;

/** One entry of the plan's `view.mounts` (VIEW_CONTRACT.md). */
export type ViewMount = Record<string, unknown> & { kind: string };

const RO = ["ro", "nosuid", "nodev"];
const NOEXEC = ["nosuid", "nodev", "noexec"];

/** A world-readable fixture directory under /var/tmp (the view replaces /tmp). */
function fixture(): string & Disposable {
  const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "charter-view-" });
  Deno.chmodSync(dir, 0o755);
  return Object.assign(new String(dir) as string, {
    [Symbol.dispose]: () => Deno.removeSync(dir, { recursive: true }),
  }) as string & Disposable;
}

/** The directory holding the probe executable, shown in the view at /opt/probe. */
function probeDir(): string {
  return probe().replace(/\/probe$/, "");
}

/** What every listed view of these tests holds: /usr, the merged-/usr links, /etc. */
function baseMounts(): ViewMount[] {
  return [
    { kind: "root", sizeBytes: 1 << 20, flags: RO },
    { kind: "symlink", target: "/bin", link: "usr/bin" },
    { kind: "symlink", target: "/lib", link: "usr/lib" },
    { kind: "symlink", target: "/lib64", link: "usr/lib64" },
    { kind: "bind", source: "/usr", target: "/usr", flags: RO },
    { kind: "bind", source: "/etc", target: "/etc", flags: [...RO, "noexec"] },
    { kind: "bind", source: probeDir(), target: "/opt/probe", flags: RO },
  ];
}

/** The plan with the view primitive before the cwd step, the section, and no Landlock. */
function withView(
  s: PlanStatement,
  view: { mode: string; enforce: string; mounts: ViewMount[] },
  keepLandlock = false,
): PlanStatement {
  const edited = structuredClone(s);
  const plan = edited.predicate as unknown as Record<string, unknown> & {
    schedule: { id: string; phase: number }[];
  };
  if (!keepLandlock) {
    plan.schedule = plan.schedule.filter((p) => p.id !== "linux.confine.landlock.v1");
    delete plan.landlock;
  }
  const at = plan.schedule.findIndex((p) => p.id === "linux.visibility.cwd.v1");
  plan.schedule.splice(at, 0, { id: "linux.visibility.view.v1", phase: 2 });
  plan.view = view;
  return edited;
}

/** Listens on a pathname UNIX socket every user may connect to. */
function listenUnix(path: string): Deno.Listener {
  const listener = Deno.listen({ transport: "unix", path });
  Deno.chmodSync(path, 0o777);
  return listener;
}

const P = "/opt/probe/probe";

/** Pathname UNIX sockets are allowed by the policy: the view alone must keep them out. */
const UNIX = "network: { protocols: [unix] }\n";

/** Parses `key=value` lines. */
function fields(lines: string[]): Record<string, string> {
  return Object.fromEntries(
    lines.filter((l) => l.includes("=")).map((
      l,
    ) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

/** The statement without the user namespace (the defaults have one). */
function withoutUserNs(s: PlanStatement): PlanStatement {
  s.predicate.schedule = s.predicate.schedule.filter((p) => p.id !== "linux.identity.userns.v1");
  return s;
}

for (
  const [who, options, userns] of [
    ["root", {}, true],
    ["root, no user namespace", {}, false],
    ["unprivileged", AS_NOBODY, true],
  ] as const
) {
  const extra = `namespaces: { pid: true }\n${UNIX}`;
  const viewOf = (
    s: PlanStatement,
    view: Parameters<typeof withView>[1],
    keepLandlock = false,
  ) => {
    const edited = withView(s, view, keepLandlock);
    return userns ? edited : withoutUserNs(edited);
  };
  Deno.test(`view (${who}): the child sees exactly the listed view`, async () => {
    using dir = fixture();
    const w = `${dir}/w`;
    Deno.mkdirSync(w);
    Deno.chmodSync(w, 0o1777);
    Deno.writeTextFileSync(`${w}/marker`, "in-w\n");
    const sock = `${dir}/sock`;
    using _listener = listenUnix(sock);
    const marker = `charter-view-${crypto.randomUUID()}`;
    const script = [
      `echo work=$(test -e /work && echo present || echo absent)`,
      `echo root=$(${P} read:/root)`,
      `echo var=$(${P} read:/var/lib)`,
      `echo oldroot=$(${P} read:/oldroot)`,
      `echo usr-write=$(${P} write:/usr/${marker})`,
      `echo w-write=$(${P} write:${w}/out)`,
      `echo tmp-count=$(ls -A /tmp | wc -l)`,
      `echo tmp-write=$(${P} write:/tmp/${marker})`,
      `echo tmp-full=$(head -c 2000000 /dev/zero 2>&1 > /tmp/big | grep -c "No space")`,
      `echo pids=$(ls /proc | grep -E '^[0-9]+$' | tr '\\n' ' ')`,
      `echo dev=$(ls /dev | tr '\\n' ' ')`,
      `echo blockdevs=$(find /dev -type b | wc -l)`,
      `echo pts=$(ls /dev/pts)`,
      `echo fds=$(ls /proc/self/fd | tr '\\n' ' ')`,
      `echo file=$(cat /charter/motd)`,
      `echo file-write=$(${P} write:/charter/motd)`,
      `echo bin=$(readlink /bin)`,
      `echo sock=$(${P} unix:${sock})`,
      `echo cwd=$(pwd)`,
      `echo cwd-file=$(cat marker)`,
      `sed 's/^/mnt=/' /proc/self/mountinfo`,
    ].join("; ");
    const c = await compiled(String(dir), shellPolicy(script, extra));
    const mounts: ViewMount[] = [
      ...baseMounts(),
      { kind: "bind", source: w, target: w, flags: NOEXEC },
      {
        kind: "file",
        target: "/charter/motd",
        contentB64: btoa("hello view"),
        flags: [...RO, "noexec"],
      },
      { kind: "tmpfs", target: "/tmp", sizeBytes: 1 << 20, flags: NOEXEC },
      { kind: "proc", target: "/proc", flags: NOEXEC },
      { kind: "dev", target: "/dev", devpts: true, flags: ["nosuid", "noexec"] },
    ];
    const s = viewOf(c.statement, { mode: "listed", enforce: "required", mounts });
    s.predicate.target.cwd = w;
    const r = await launchStatement(String(dir), c, s, "view", options);
    assert.equal(r.code, 0, r.stderr + JSON.stringify(last(r.records)));
    const f = fields(r.lines);
    assert.equal(f.work, "absent");
    assert.equal(f.root, "ENOENT", "an unlisted path does not exist (not EACCES)");
    assert.equal(f.var, "ENOENT");
    assert.equal(f.oldroot, "ENOENT", "the old root is gone");
    assert.equal(f["usr-write"], "EROFS", "a read bind is read-only");
    assert.equal(f["w-write"], "ok");
    assert.equal(Deno.readTextFileSync(`${w}/out`), "x\n", "writes under write land on the host");
    assert.equal(f["tmp-count"], "0", "/tmp starts empty");
    assert.equal(f["tmp-write"], "ok", "/tmp is writable");
    assert.equal(f["tmp-full"], "1", "/tmp is size-limited (1 MiB here)");
    assert.throws(
      () => Deno.statSync(`/tmp/${marker}`),
      "/tmp is private: nothing reaches the host",
    );
    const pids = f.pids.trim().split(" ").map(Number);
    assert.ok(pids.includes(1) && pids.every((p) => p < 20), `only the sandbox's pids: ${f.pids}`);
    assert.equal(
      f.dev.trim(),
      "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero",
    );
    assert.equal(f.pts, "ptmx", "a private devpts instance");
    // No fd of the launcher's (a host directory would lead out of the view): ls's own
    // directory fd besides stdio.
    assert.equal(f.fds.trim(), "0 1 2 3");
    assert.equal(f.blockdevs, "0");
    assert.equal(f.file, "hello view");
    assert.equal(f["file-write"], "EROFS");
    assert.equal(f.bin, "usr/bin");
    assert.equal(f.sock, "ENOENT", "an unlisted pathname socket is unreachable");
    assert.equal(f.cwd, w);
    assert.equal(f["cwd-file"], "in-w");
    // Every mount of the view: nosuid; nodev except /dev's; / read-only; no host root.
    const mountinfo = r.lines.filter((l) => l.startsWith("mnt=")).map((l) => l.slice(4).split(" "));
    assert.ok(mountinfo.length > 5);
    for (const m of mountinfo) {
      const [point, opts] = [m[4], m[5].split(",")];
      assert.ok(opts.includes("nosuid"), `${point} ${opts}`);
      if (!point.startsWith("/dev")) assert.ok(opts.includes("nodev"), `${point} ${opts}`);
      assert.ok(!point.startsWith("/oldroot") && !point.startsWith("/newroot"), point);
    }
    const opts = (p: string) => mountinfo.find((m) => m[4] === p)?.[5].split(",") ?? [];
    assert.ok(opts("/").includes("ro"), "the root is read-only");
    assert.ok(opts("/usr").includes("ro"));
    assert.ok(opts("/opt/probe").includes("ro"), "a host path shown at another target, read-only");
    assert.ok(!opts(w).includes("ro") && opts(w).includes("noexec"));

    const visibility = phase(r.records, 2);
    assert.equal(visibility.result, "applied");
    const view = visibility.details.view as { mode: string; mounts: Record<string, unknown>[] };
    assert.equal(view.mode, "listed");
    assert.equal(view.mounts.length, mounts.length);
    assert.deepEqual(view.mounts[4], { kind: "bind", target: "/usr", source: "/usr", flags: RO });
    assert.deepEqual(view.mounts[1], { kind: "symlink", target: "/bin", link: "usr/bin" });
  });

  Deno.test(`view (${who}): hide makes a directory, a file and a pathname socket inaccessible`, async () => {
    using dir = fixture();
    const hidden = `${dir}/hidden`;
    Deno.mkdirSync(hidden);
    Deno.writeTextFileSync(`${hidden}/secret`, "secret\n");
    Deno.chmodSync(hidden, 0o755);
    Deno.chmodSync(`${hidden}/secret`, 0o644);
    const plain = `${dir}/plain`;
    Deno.writeTextFileSync(plain, "plain\n");
    Deno.chmodSync(plain, 0o644);
    const sock = `${dir}/sock`;
    const open = `${dir}/open`;
    using _a = listenUnix(sock);
    using _b = listenUnix(open);
    const script = [
      `echo secret=$(${probe()} read:${hidden}/secret)`,
      `echo list=$(ls ${hidden} 2>&1 >/dev/null | grep -c denied)`,
      `echo plain=$(${probe()} read:${plain})`,
      `echo sock=$(${probe()} unix:${sock})`,
      `echo open=$(${probe()} unix:${open})`,
    ].join("; ");
    const c = await compiled(String(dir), shellPolicy(script, extra));
    const hide = (target: string) => ({ kind: "hide", target, flags: [...RO, "noexec"] });
    const s = viewOf(c.statement, {
      mode: "host",
      enforce: "required",
      // Landlock stays: in the host's tree it is what keeps the child off the transcript.
      mounts: [hide(hidden), hide(plain), hide(sock)],
    }, true);
    const r = await launchStatement(String(dir), c, s, "hide", options);
    assert.equal(r.code, 0, r.stderr + JSON.stringify(last(r.records)));
    const f = fields(r.lines);
    assert.equal(f.secret, "EACCES", "the hidden directory is a tmpfs of mode 0000");
    assert.equal(f.list, "1", "and cannot even be listed");
    assert.equal(f.plain, "EACCES", "a hidden file is /dev/null on a nodev mount");
    assert.equal(f.sock, "ECONNREFUSED", "the hidden socket is /dev/null now");
    assert.equal(f.open, "ok", "a socket that is not hidden still connects (the probe works)");
  });

  Deno.test(`view (${who}): a file entry in a bound host tree covers the host's file; none is created or followed there`, async () => {
    using dir = fixture();
    const conf = `${dir}/etc`;
    Deno.mkdirSync(conf);
    Deno.chmodSync(conf, 0o777);
    Deno.writeTextFileSync(`${conf}/app.conf`, "host\n");
    Deno.chmodSync(`${conf}/app.conf`, 0o666);
    const c = await compiled(String(dir), shellPolicy(`cat ${conf}/app.conf`, extra));
    const file = (target: string) => ({
      kind: "file",
      target,
      contentB64: btoa("view\n"),
      flags: [...RO, "noexec"],
    });
    const view = (files: ViewMount[]) =>
      viewOf(c.statement, {
        mode: "listed",
        enforce: "required",
        mounts: [
          ...baseMounts(),
          { kind: "bind", source: conf, target: conf, flags: NOEXEC },
          ...files,
        ],
      });
    const r = await launchStatement(String(dir), c, view([file(`${conf}/app.conf`)]), "f", options);
    assert.equal(r.code, 0, r.stderr + JSON.stringify(last(r.records)));
    assert.deepEqual(r.lines, ["view"]);
    assert.equal(
      Deno.readTextFileSync(`${conf}/app.conf`),
      "host\n",
      "the host's file is untouched",
    );
    // No mount point in a host tree, or one behind a symlink: the shim creates nothing there
    // (it would write to the host, here a writable directory) and follows no symlink; the
    // launch is refused before any child exists.
    Deno.symlinkSync("/etc/passwd", `${conf}/link.conf`);
    for (const name of ["new.conf", "link.conf"]) {
      const r = await launchStatement(
        String(dir),
        c,
        view([file(`${conf}/${name}`)]),
        "m",
        options,
      );
      assert.equal(r.code, 125, r.stderr);
      assert.equal(last(r.records).reason, "handle_unavailable");
      assert.ok(!r.records.some((x) => x.event === "child_created"));
    }
    assert.throws(() => Deno.statSync(`${conf}/new.conf`), "nothing was created on the host");
  });

  Deno.test(`view (${who}): a bind source swapped for a symlink after compiling is path_changed`, async () => {
    using dir = fixture();
    const src = `${dir}/src`;
    Deno.mkdirSync(src);
    const c = await compiled(String(dir), shellPolicy("echo ran", extra));
    const s = viewOf(c.statement, {
      mode: "listed",
      enforce: "required",
      mounts: [...baseMounts(), { kind: "bind", source: src, target: "/data", flags: RO }],
    });
    // The attacker replaces the source by a symlink to something it wants shown.
    Deno.removeSync(src);
    Deno.symlinkSync("/root", src);
    const r = await launchStatement(String(dir), c, s, "swap", options);
    assert.equal(r.code, 125, r.stdout + r.stderr);
    assert.ok(!r.lines.includes("ran"));
    const refusal = last(r.records);
    assert.equal(refusal.event, "setup_refused");
    assert.equal(refusal.reason, "path_changed");
    assert.ok(
      !r.records.some((x) => x.event === "child_created"),
      "refused before any child exists",
    );
  });

  Deno.test(`view (${who}): a bind source in a directory others can rename in is path_changed`, async () => {
    using dir = fixture();
    Deno.mkdirSync(`${dir}/shared/src`, { recursive: true });
    Deno.chmodSync(`${dir}/shared`, 0o777);
    const c = await compiled(String(dir), shellPolicy("echo ran", extra));
    const s = viewOf(c.statement, {
      mode: "listed",
      enforce: "required",
      mounts: [...baseMounts(), {
        kind: "bind",
        source: `${dir}/shared/src`,
        target: "/data",
        flags: RO,
      }],
    });
    const r = await launchStatement(String(dir), c, s, "shared", options);
    assert.equal(r.code, 125, r.stdout + r.stderr);
    assert.equal(last(r.records).reason, "path_changed");
  });
}

Deno.test("view (root): a source swapped between the parent's check and the bind is path_changed from the child", async () => {
  using dir = fixture();
  // Two root-owned directories that a racer keeps exchanging (renameat2 RENAME_EXCHANGE):
  // no symlink and no foreign writer, so only the child's check after the bind can notice.
  for (const name of ["src", "other"]) {
    Deno.mkdirSync(`${dir}/${name}`);
    Deno.writeTextFileSync(`${dir}/${name}/marker`, `${name}\n`);
  }
  const racer = new Deno.Command(PYTHON, {
    args: [
      "-c",
      "import ctypes, sys\n" +
      "libc = ctypes.CDLL(None)\n" +
      "a, b = sys.argv[1].encode(), sys.argv[2].encode()\n" +
      "while True: libc.renameat2(-100, a, -100, b, 2)\n",
      `${dir}/src`,
      `${dir}/other`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const c = await compiled(String(dir), shellPolicy("cat /data/marker", UNIX));
    const s = withView(c.statement, {
      mode: "listed",
      enforce: "required",
      mounts: [...baseMounts(), { kind: "bind", source: `${dir}/src`, target: "/data", flags: RO }],
    });
    let fromChild = 0;
    for (let i = 0; i < 20 && fromChild === 0; i++) {
      const r = await launchStatement(String(dir), c, s, `race${i}`);
      assert.ok(r.code === 0 || r.code === 125, r.stderr);
      const created = r.records.some((x) => x.event === "child_created");
      if (r.code === 125 && created) {
        assert.equal(r.records.find((x) => x.event === "setup_refused")?.reason, "path_changed");
        assert.ok(!r.records.some((x) => x.event === "ready_to_exec"), "the target never ran");
        fromChild++;
      }
    }
    assert.ok(fromChild > 0, "the child's check after the bind caught a swap");
  } finally {
    racer.kill();
    await racer.status;
  }
});

Deno.test("view (unprivileged): without a user namespace, required refuses and best_effort falls back to the host", async () => {
  using dir = fixture();
  const c: CompiledPlan = await compiled(
    String(dir),
    shellPolicy("test -e /work && echo host-view"),
  );
  const view = (enforce: string) => {
    // Landlock stays: in the host's tree it is what keeps the child (uid 65534, like the
    // launcher) off the transcript file.
    const s = withView(c.statement, { mode: "listed", enforce, mounts: baseMounts() }, true);
    // The defaults' user namespace is what lets uid 65534 create a mount namespace.
    const unshared = ["linux.identity.userns.v1", "linux.visibility.namespaces.v1"];
    s.predicate.schedule = s.predicate.schedule.filter((p) => !unshared.includes(p.id));
    return s;
  };
  const refused = await launchStatement(String(dir), c, view("required"), "req", AS_NOBODY);
  assert.equal(refused.code, 125, refused.stderr);
  assert.equal(last(refused.records).reason, "kernel_unsupported");
  assert.ok(!refused.records.some((x) => x.event === "child_created"));

  const degraded = await launchStatement(String(dir), c, view("best_effort"), "be", AS_NOBODY);
  assert.equal(degraded.code, 0, degraded.stderr);
  assert.deepEqual(degraded.lines, ["host-view"]);
  const visibility = phase(degraded.records, 2);
  assert.equal(visibility.result, "degraded");
  assert.deepEqual(visibility.details.view, { mode: "host", requested: "listed", errno: 1 });
});

Deno.test("view (root): Landlock applies inside the view, with inView rules for the view's own paths", async () => {
  using dir = fixture();
  const w = `${dir}/w`;
  Deno.mkdirSync(w);
  const script =
    `echo tmp=$(${P} write:/tmp/x); echo w=$(${P} write:${w}/x); echo usr=$(${P} read:/usr/bin/env)`;
  const c = await compiled(String(dir), shellPolicy(script, "namespaces: { pid: true }\n"));
  const s = withView(c.statement, {
    mode: "listed",
    enforce: "required",
    mounts: [
      ...baseMounts(),
      { kind: "bind", source: w, target: w, flags: NOEXEC },
      { kind: "tmpfs", target: "/tmp", sizeBytes: 1 << 20, flags: NOEXEC },
    ],
  }, true);
  const read: LandlockRule["access"] = ["execute", "read_file", "read_dir"];
  // `inView` is the contract's key (VIEW_CONTRACT.md), not yet in the compiler's types.
  const inView = {
    path: "/tmp",
    access: ["read_file", "read_dir", "write_file", "make_reg"],
    inView: true,
  } as unknown as LandlockRule;
  s.predicate.landlock!.fs = [
    { path: "/usr", access: read },
    { path: probeDir(), access: read },
    inView,
  ];
  s.predicate.landlock!.handledFs = ["execute", "read_file", "read_dir", "write_file", "make_reg"];
  const r = await launchStatement(String(dir), c, s, "ll");
  assert.equal(r.code, 0, r.stderr + JSON.stringify(last(r.records)));
  const f = fields(r.lines);
  assert.equal(f.tmp, "ok", "the inView rule grants the view's /tmp");
  assert.equal(f.w, "EACCES", "a writable bind without a Landlock grant stays denied");
  assert.equal(f.usr, "ok");
});
