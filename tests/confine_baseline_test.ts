/**
 * The baseline and `network.protocols` on the real kernel, as root and unprivileged: what
 * a child could do to escape or reach past its policy fails with the filter's errno, also
 * when the policy allows `@system-service`; each control shows the same call working
 * without the filter (or with the protocol named), so the tests can fail.
 */
import assert from "node:assert/strict";
import { tempDir } from "./helpers.ts";
import { launch, probePolicy, PYTHON } from "./probes/probe.ts";

const SYSTEM_SERVICE = `syscalls:
  default: { errno: EPERM }
  allow: ["@system-service", execveat]
`;
const SECCOMP_OFF = "enforce: { seccomp: off }\n";
const ESCAPES = ["unshare", "io_uring", "keyctl", "add_key", "process_vm_readv", "kcmp"];
const ESCAPES_ALLOWED =
  "syscalls: { unsafe_allow: [unshare, io_uring_setup, keyctl, add_key, process_vm_readv, kcmp] }\n";

const AF_INET = 2, SOCK_STREAM = 1, SOCK_DGRAM = 2, IPPROTO_MPTCP = 262;
const MPTCP = `socket:${AF_INET}:${SOCK_STREAM}:${IPPROTO_MPTCP}`;
const UDP = `socket:${AF_INET}:${SOCK_DGRAM}:0`;
const TCP = `socket:${AF_INET}:${SOCK_STREAM}:0`;

for (const [who, options] of [["root", {}], ["unprivileged", { unprivileged: true }]] as const) {
  Deno.test(`baseline (${who}): nested namespaces, io_uring, keyrings, process_vm_readv and kcmp fail under @system-service`, async () => {
    using dir = tempDir();
    for (const extra of ["", SYSTEM_SERVICE]) {
      const r = await launch(String(dir), probePolicy(ESCAPES, extra), options);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, ESCAPES.map(() => "EPERM"), `policy: ${extra || "(none)"}`);
    }
    // The control: taken out of the baseline, each call works on this kernel.
    const open = await launch(String(dir), probePolicy(ESCAPES, ESCAPES_ALLOWED), options);
    assert.equal(open.code, 0, open.stderr);
    assert.deepEqual(open.lines, ESCAPES.map(() => "ok"));
  });

  Deno.test(`baseline (${who}): enforce.seccomp: off drops the policy's own rules, not the baseline`, async () => {
    using dir = tempDir();
    const own = "syscalls: { default: allow, deny: [getppid] }\n";
    const filtered = await launch(String(dir), probePolicy(["getppid", ...ESCAPES], own), options);
    assert.equal(filtered.code, 0, filtered.stderr);
    assert.deepEqual(filtered.lines, ["EPERM", ...ESCAPES.map(() => "EPERM")]);
    const off = await launch(
      String(dir),
      probePolicy(["getppid", ...ESCAPES], own + SECCOMP_OFF),
      options,
    );
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.lines[0], /^\d+$/);
    assert.deepEqual(off.lines.slice(1), ESCAPES.map(() => "EPERM"));
    // Only unsafe_allow lifts a baseline syscall, with seccomp off too.
    const lifted = await launch(
      String(dir),
      probePolicy(ESCAPES, SECCOMP_OFF + ESCAPES_ALLOWED),
      options,
    );
    assert.deepEqual(lifted.lines, ESCAPES.map(() => "ok"), lifted.stderr);
  });

  Deno.test(`baseline (${who}): unsafe_allow re-enables one named syscall, no more`, async () => {
    using dir = tempDir();
    const r = await launch(
      String(dir),
      probePolicy(["kcmp", "keyctl"], `${SYSTEM_SERVICE}  unsafe_allow: [kcmp]\n`),
      options,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, ["ok", "EPERM"]);
  });

  Deno.test(`baseline (${who}): the child cannot leave a setuid or setgid file`, async () => {
    using dir = tempDir();
    const ways = ["chmod", "creat", "mknod", "openat2"];
    const made = (sub: string) => ways.map((way) => `${dir}/${sub}/${way}`);
    const actions = (sub: string) => {
      Deno.mkdirSync(`${dir}/${sub}`, { mode: 0o777 });
      Deno.chmodSync(`${dir}/${sub}`, 0o777);
      return ways.map((way, i) => `${way}:${made(sub)[i]}`);
    };
    const setId = (path: string) => {
      try {
        return (Deno.statSync(path).mode! & 0o6000) !== 0;
      } catch {
        return false;
      }
    };
    const write = `filesystem: { write: [${dir}] }\n`;
    const r = await launch(String(dir), probePolicy(actions("denied"), write), options);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, ["EPERM", "EPERM", "EPERM", "ENOSYS"]);
    assert.deepEqual(made("denied").filter(setId), []);
    // The control: with the calls taken out of the baseline, each one leaves such a file.
    const unsafe =
      `${write}syscalls: { unsafe_allow: [chmod, fchmodat, open, openat, mknod, mknodat, openat2] }\n`;
    const open = await launch(String(dir), probePolicy(actions("allowed"), unsafe), options);
    assert.deepEqual(open.lines, ["ok", "ok", "ok", "ok"], open.stderr);
    assert.deepEqual(made("allowed").filter(setId), made("allowed").slice(0, 3));
  });

  Deno.test(`baseline (${who}): limits and priorities of other processes stay out of reach`, async () => {
    using dir = tempDir();
    const calls = [
      "prlimit:self",
      "prlimit:other",
      "nice:self",
      "nice:other",
      "nice_pgrp",
      "ioprio:self",
      "ioprio:other",
    ];
    // Without a pid namespace the other process could be the launcher itself.
    for (const extra of ["", "namespaces: { pid: false }\n"]) {
      const r = await launch(String(dir), probePolicy(calls, extra), options);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, ["ok", "EPERM", "ok", "EPERM", "EPERM", "ok", "EPERM"], extra);
    }
    // The control: taken out of the baseline, each call works on a process of the same uid.
    const unsafe = "syscalls: { unsafe_allow: [prlimit64, setpriority, ioprio_set] }\n";
    const open = await launch(String(dir), probePolicy(calls, unsafe), options);
    assert.deepEqual(open.lines, calls.map(() => "ok"), open.stderr);
  });

  Deno.test(`network (${who}): a TCP Fast Open send does not reach an unlisted port`, async () => {
    using dir = tempDir();
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr as Deno.NetAddr;
    let accepted = 0;
    const accepting = (async () => {
      for await (const conn of listener) {
        accepted++;
        conn.close();
      }
    })();
    try {
      const calls = [`connect:${port}`, `tfo:${port}`];
      for (const ports of [[1], [1, port]]) {
        const extra = `network: { connect_tcp: [${ports.join(", ")}] }\n`;
        const r = await launch(String(dir), probePolicy(calls, extra), options);
        assert.equal(r.code, 0, r.stderr);
        const connect = ports.includes(port) ? "ok" : "EACCES";
        assert.deepEqual(r.lines, [connect, "EOPNOTSUPP"], extra);
      }
      assert.equal(accepted, 1, "only the listed port's connect() got through");
      // The control: without a network key (and its rules) the same send reaches the listener.
      const open = await launch(
        String(dir),
        probePolicy([`tfo:${port}`], "namespaces: { net: false }\n"),
        options,
      );
      assert.deepEqual(open.lines, ["ok"], open.stderr);
    } finally {
      listener.close();
      await accepting.catch(() => {});
    }
  });

  Deno.test(`network (${who}): listen() without bind_tcp fails, also on an unbound socket`, async () => {
    using dir = tempDir();
    const expect = [
      ["network: { connect_tcp: [80] }\n", "EACCES"],
      ["extends: [builtin:network-client]\n", "EACCES"],
      // Documented gaps: bind_tcp or a listening protocol lets listen() run, and the kernel's
      // ephemeral bind of an unbound socket is not a Landlock bind.
      ["network: { bind_tcp: [1] }\n", "ok"],
      ["network: { protocols: [unix] }\n", "ok"],
    ];
    for (const [extra, result] of expect) {
      const r = await launch(String(dir), probePolicy(["listen"], extra), options);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, [result], extra);
    }
  });

  Deno.test(`network.protocols (${who}): MPTCP and UDP fail under connect_tcp unless named`, async () => {
    using dir = tempDir();
    const tight = await launch(
      String(dir),
      probePolicy([TCP, MPTCP, UDP], "network: { connect_tcp: [80] }\n"),
      options,
    );
    assert.equal(tight.code, 0, tight.stderr);
    assert.deepEqual(tight.lines, ["ok", "EPROTONOSUPPORT", "EPROTONOSUPPORT"]);
    const named = await launch(
      String(dir),
      probePolicy([TCP, MPTCP, UDP], "network: { connect_tcp: [80], protocols: [udp, mptcp] }\n"),
      options,
    );
    assert.equal(named.code, 0, named.stderr);
    assert.deepEqual(named.lines, ["ok", "ok", "ok"]);
  });

  Deno.test(`network.protocols (${who}): builtin:network-client keeps the sockets name resolution uses`, async () => {
    using dir = tempDir();
    const AF_NETLINK = 16, SOCK_RAW = 3, NETLINK_ROUTE = 0, NETLINK_NETFILTER = 12;
    const r = await launch(
      String(dir),
      probePolicy([
        UDP,
        `socket:${AF_NETLINK}:${SOCK_RAW}:${NETLINK_ROUTE}`,
        `socket:${AF_NETLINK}:${SOCK_RAW}:${NETLINK_NETFILTER}`,
        MPTCP,
      ], "extends: [builtin:network-client]\n"),
      options,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, ["ok", "ok", "EPROTONOSUPPORT", "EPROTONOSUPPORT"]);
  });

  Deno.test(`network.protocols (${who}): a root-owned pathname UNIX socket outside every rule is unreachable`, async () => {
    using dir = tempDir();
    // A root daemon's socket (docker.sock, D-Bus): root-owned, connectable by anyone.
    const home = Deno.makeTempDirSync({ prefix: "charter-daemon-" });
    Deno.chmodSync(home, 0o755);
    const path = `${home}/daemon.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    Deno.chmodSync(path, 0o777);
    const accepting = (async () => {
      for await (const conn of listener) conn.close();
    })();
    try {
      const connect = `unix:${path}`;
      for (const extra of ["", "network: { connect_tcp: [80] }\n", SYSTEM_SERVICE, SECCOMP_OFF]) {
        const r = await launch(String(dir), probePolicy([connect], extra), options);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.lines, ["EAFNOSUPPORT"], `policy: ${extra || "(none)"}`);
      }
      // Naming unix: the default listed view does not show the socket at all.
      const unix = "network: { protocols: [unix] }\n";
      const listed = await launch(String(dir), probePolicy([connect], unix), options);
      assert.deepEqual(listed.lines, ["ENOENT"], listed.stderr);
      // The control: in the host's tree, naming unix reaches the listener.
      const named = await launch(
        String(dir),
        probePolicy([connect], `${unix}filesystem: { view: host }\n`),
        options,
      );
      assert.deepEqual(named.lines, ["ok"], named.stderr);
    } finally {
      listener.close();
      await accepting.catch(() => {});
      Deno.removeSync(home, { recursive: true });
    }
  });

  Deno.test(`network.protocols (${who}): a datagram socketpair cannot send to a host datagram socket`, async () => {
    using dir = tempDir();
    // A root daemon's datagram socket (/dev/log, journald, a notify socket).
    const home = Deno.makeTempDirSync({ prefix: "charter-daemon-" });
    Deno.chmodSync(home, 0o755);
    const path = `${home}/log.sock`;
    const daemon = new Deno.Command(PYTHON, {
      args: [
        "-c",
        "import os, socket, sys; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); " +
        "s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777); print(flush=True); " +
        "[s.recv(16) for _ in iter(int, 1)]",
        path,
      ],
      stdout: "piped",
    }).spawn();
    await daemon.stdout.getReader().read();
    try {
      for (const extra of ["", "network: { connect_tcp: [80] }\n"]) {
        const r = await launch(String(dir), probePolicy([`dgram:${path}`], extra), options);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.lines, ["EPROTONOSUPPORT"], `policy: ${extra || "(none)"}`);
      }
      // Naming unix: the default listed view does not show the socket at all.
      const unix = "network: { protocols: [unix] }\n";
      const listed = await launch(String(dir), probePolicy([`dgram:${path}`], unix), options);
      assert.deepEqual(listed.lines, ["ENOENT"], listed.stderr);
      // The control: in the host's tree, naming unix reaches the daemon.
      const named = await launch(
        String(dir),
        probePolicy([`dgram:${path}`], `${unix}filesystem: { view: host }\n`),
        options,
      );
      assert.deepEqual(named.lines, ["ok"], named.stderr);
    } finally {
      daemon.kill("SIGKILL");
      await daemon.status;
      Deno.removeSync(home, { recursive: true });
    }
  });
}
