/**
 * Transcript streams: `--transcript -` is JSON Lines on stdout and nothing else; a real
 * rsyslogd and a real systemd-journald (in a journal namespace of its own) get one whole
 * message per record, and what they wrote verifies (chain and seal). A record larger than
 * the receiver keeps whole stops the launch before the target runs.
 */
import assert from "node:assert/strict";
import {
  charter,
  charterArgv,
  run,
  shellQuote,
  shPolicy,
  tempDir,
  transcriptFile,
  writePolicy,
} from "./helpers.ts";

/** A policy whose child writes to both of its streams and leaves a marker. */
function noisy(dir: string): string {
  return writePolicy(
    dir,
    "p.yaml",
    shPolicy(`echo child-out; echo child-err >&2; : > ${dir}/ran; exit 4`),
  );
}

/** Waits until `check` holds, for at most 10 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(check(), `timed out waiting for ${what}`);
}

function text(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

async function verify(dir: string, transcript: string) {
  const r = await charter(["transcript", "verify", transcript, "--plan", `${dir}/plan.json`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /launch [0-9a-f]{32}: ok, 13 records, exited with code 4; .*sealed by SHA256:/,
  );
}

Deno.test("--transcript - writes only JSON Lines to stdout; the child's stdout goes to stderr", async () => {
  using dir = tempDir();
  const r = await charter([
    "launch",
    noisy(String(dir)),
    "--plan-out",
    `${dir}/plan.json`,
    "--transcript",
    "-",
  ]);
  assert.equal(r.code, 4, r.stderr);
  const lines = r.stdout.split("\n");
  assert.equal(lines.pop(), "");
  // Every line of stdout is a record; the child's output is all on stderr.
  for (const line of lines) assert.equal(JSON.parse(line).v, 1, line);
  assert.deepEqual(r.stderr.split("\n").filter((l) => l), ["child-out", "child-err"]);
  Deno.writeTextFileSync(`${dir}/t.jsonl`, r.stdout);
  await verify(String(dir), `${dir}/t.jsonl`);
});

Deno.test("--transcript - with stdout and stderr one file is refused: the child's output would mix in", async () => {
  using dir = tempDir();
  const argv = charterArgv(["launch", noisy(String(dir)), "--no-seal", "--transcript", "-"]);
  const r = await run("sh", ["-c", `${shellQuote(argv)} > ${dir}/out 2>&1`]);
  assert.equal(r.code, 125);
  assert.match(Deno.readTextFileSync(`${dir}/out`), /stdout and stderr are the same file/);
  assert.throws(() => Deno.statSync(`${dir}/ran`), "the target ran");
});

Deno.test("--transcript - as an unprivileged launcher: stdout is the records only", async () => {
  using dir = tempDir();
  Deno.chmodSync(String(dir), 0o777);
  const r = await charter(
    ["launch", noisy(String(dir)), "--no-seal", "--transcript", "-"],
    { unprivileged: true },
  );
  assert.equal(r.code, 4, r.stderr);
  const events = r.stdout.trimEnd().split("\n").map((line) => JSON.parse(line).event);
  assert.deepEqual([events[0], events.at(-1)], ["launcher_started", "child_exited"]);
  assert.deepEqual(r.stderr.split("\n").filter((l) => l), ["child-out", "child-err"]);
});

Deno.test("--transcript-fd N writes to an inherited fd", async () => {
  using dir = tempDir();
  const r = await charter([
    "launch",
    noisy(String(dir)),
    "--no-seal",
    "--transcript-fd",
    "2",
  ]);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /"event":"child_exited"/);
  const flags = await charter(["launch", "p.yaml", "--transcript-fd", "2", "--control-fd", "2"]);
  assert.equal(flags.code, 125);
  assert.match(flags.stderr, /give one of --transcript, --transcript-fd, --control-fd/);
});

/** Starts rsyslogd on a private socket; its messages' text goes to `out`, one per line. */
function rsyslog(dir: string): { socket: string; out: string } & AsyncDisposable {
  const socket = `${dir}/log`;
  const out = `${dir}/syslog.out`;
  Deno.writeTextFileSync(
    `${dir}/rsyslog.conf`,
    `global(maxMessageSize="65536" workDirectory="${dir}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="${socket}" UseSpecialParser="off" ParseHostname="on")
template(name="text" type="string" string="%msg%\\n")
*.* action(type="omfile" file="${out}" template="text")
`,
  );
  const daemon = new Deno.Command("rsyslogd", {
    args: ["-n", "-f", `${dir}/rsyslog.conf`, "-i", `${dir}/rsyslogd.pid`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  return {
    socket,
    out,
    async [Symbol.asyncDispose]() {
      daemon.kill("SIGTERM");
      await daemon.status;
    },
  };
}

Deno.test("a real rsyslogd receives one whole message per record, and what it wrote verifies", async () => {
  using dir = tempDir();
  await using daemon = rsyslog(String(dir));
  await until(() => existsSocket(daemon.socket), "rsyslogd");
  const r = await charter([
    "launch",
    noisy(String(dir)),
    "--plan-out",
    `${dir}/plan.json`,
    "--transcript",
    `syslog:${daemon.socket}`,
  ]);
  assert.equal(r.code, 4, r.stderr);
  await until(() => text(daemon.out).includes('"transcript_sealed"'), "the seal in rsyslog");
  await verify(String(dir), daemon.out);
});

Deno.test("a record larger than the receiver keeps whole stops the launch before the exec", async () => {
  using dir = tempDir();
  await using daemon = rsyslog(String(dir));
  await until(() => existsSocket(daemon.socket), "rsyslogd");
  const r = await charter([
    "launch",
    noisy(String(dir)),
    "--transcript",
    `syslog:${daemon.socket}`,
    "--transcript-max-bytes",
    "600",
  ]);
  assert.equal(r.code, 126, r.stderr);
  assert.match(r.stderr, /setup failed at transcript \(errno 90\)/);
  assert.throws(() => Deno.statSync(`${dir}/ran`), "the target ran");
});

Deno.test("a launch to a socket nobody listens on is refused before any child", async () => {
  using dir = tempDir();
  const r = await charter(["launch", noisy(String(dir)), "--transcript", `syslog:${dir}/none`]);
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /transcript socket .* cannot be connected/);
  assert.throws(() => Deno.statSync(`${dir}/ran`));
});

/** A real systemd-journald in a journal namespace of its own (sockets under /run/systemd). */
function journald(): { namespace: string; socket: string } & AsyncDisposable {
  const namespace = `charter-test-${crypto.randomUUID().slice(0, 8)}`;
  const daemon = new Deno.Command("/lib/systemd/systemd-journald", {
    args: [namespace],
    stdout: "null",
    stderr: "null",
  }).spawn();
  return {
    namespace,
    socket: `/run/systemd/journal.${namespace}/socket`,
    async [Symbol.asyncDispose]() {
      daemon.kill("SIGTERM");
      await daemon.status;
      Deno.removeSync(`/run/systemd/journal.${namespace}`, { recursive: true });
      // Its files: volatile, or persistent where /var/log/journal exists.
      for (const store of ["/run/log/journal", "/var/log/journal"]) {
        const entries = (() => {
          try {
            return [...Deno.readDirSync(store)];
          } catch {
            return [];
          }
        })();
        for (const e of entries.filter((e) => e.name.endsWith(`.${namespace}`))) {
          Deno.removeSync(`${store}/${e.name}`, { recursive: true });
        }
      }
    },
  };
}

Deno.test("a real journald keeps one entry per record with its fields, and the messages verify", async () => {
  using dir = tempDir();
  await using journal = journald();
  await until(() => existsSocket(journal.socket), "journald");
  const r = await charter([
    "launch",
    noisy(String(dir)),
    "--plan-out",
    `${dir}/plan.json`,
    "--transcript",
    `journald:${journal.socket}`,
  ]);
  assert.equal(r.code, 4, r.stderr);
  const read = () =>
    new Deno.Command("journalctl", {
      args: [`--namespace=${journal.namespace}`, "-t", "charter", "-o", "json", "--no-pager"],
    }).outputSync();
  let entries: Record<string, string>[] = [];
  await until(() => {
    const out = new TextDecoder().decode(read().stdout).trim();
    entries = out ? out.split("\n").map((l) => JSON.parse(l)) : [];
    return entries.some((e) => e.CHARTER_EVENT === "transcript_sealed");
  }, "the seal in the journal");
  for (const e of entries) {
    const record = JSON.parse(e.MESSAGE);
    assert.equal(e.CHARTER_SEQ, String(record.seq));
    assert.equal(e.CHARTER_EVENT, record.event);
    assert.equal(e.CHARTER_LAUNCH_ID, record.launchId);
    assert.equal(e.SYSLOG_FACILITY, "10");
  }
  Deno.writeTextFileSync(`${dir}/t.jsonl`, entries.map((e) => e.MESSAGE + "\n").join(""));
  await verify(String(dir), `${dir}/t.jsonl`);
});

function existsSocket(path: string): boolean {
  try {
    return Deno.statSync(path).isSocket === true;
  } catch {
    return false;
  }
}

Deno.test("a child's deeply nested line in the syslog stream is reported, not a verifier crash", async () => {
  // Attack: any local writer to the log socket (the child here) adds a message of 9,000
  // `[`. The strict JSON parser recursed once per bracket and overflowed the stack:
  // `transcript verify` and `export` died with an uncaught RangeError, so a stream with one
  // such line could not be verified at all.
  using dir = tempDir();
  await using daemon = rsyslog(String(dir));
  await until(() => existsSocket(daemon.socket), "rsyslogd");
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    shPolicy(
      `logger -u ${daemon.socket} -d -S 20000 "$(printf %9000s | tr ' ' '[')"; exit 4`,
      "network: { protocols: [unix] }\n",
    ),
  );
  const r = await charter([
    "launch",
    policy,
    "--plan-out",
    `${dir}/plan.json`,
    "--transcript",
    `syslog:${daemon.socket}`,
  ]);
  assert.equal(r.code, 4, r.stderr);
  await until(() => text(daemon.out).includes('"transcript_sealed"'), "the seal in rsyslog");
  assert.ok(text(daemon.out).includes("[".repeat(9000)), "the child's message was logged");
  for (const command of ["verify", "export"]) {
    const args = command === "verify" ? ["--plan", `${dir}/plan.json`] : ["--format", "ocsf"];
    const v = await charter(["transcript", command, daemon.out, ...args]);
    assert.equal(v.code, 1, v.stderr);
    assert.doesNotMatch(v.stderr, /RangeError| {4}at /);
    assert.match(
      v.stdout + v.stderr,
      /:\d+: (json: )?the line is not strict JSON \(nested deeper than 64 levels/,
    );
  }
});

Deno.test("a stream redirected to a file the child could write is refused like --transcript FILE", async () => {
  // Attack: \`launch --transcript - >> FILE\` (or --transcript-fd N with N>>FILE) where the
  // policy lets the child write FILE. Only --transcript FILE was checked: through stdout
  // the child (uid 65534, the file's owner, with a Landlock write rule on its directory)
  // appended a line of its own among the records, and could as well truncate them away.
  using dir = tempDir();
  const writable = transcriptFile().replace(/\.jsonl$/, "");
  Deno.mkdirSync(writable, { mode: 0o755 });
  Deno.chownSync(writable, 65534, 65534);
  const out = `${writable}/t.jsonl`;
  // The launcher's own file (it runs as 65534), which its shell appends to.
  Deno.writeTextFileSync(out, "");
  Deno.chownSync(out, 65534, 65534);
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    `version: 1\nname: x\nextends: [builtin:base]\ntarget:\n  exe: /bin/sh\n` +
      `  argv: [sh, -c, "echo '{}' >> ${out}; echo ran"]\n  cwd: /\n` +
      `filesystem: { write: [${writable}] }\n`,
  );
  for (const [how, redirect] of [["-", `>> ${out}`], ["fd", `7>> ${out}`]]) {
    const flag = how === "-" ? ["--transcript", "-"] : ["--transcript-fd", "7"];
    const argv = charterArgv(["launch", policy, ...flag], { unprivileged: true });
    const r = await run("bash", ["-c", `${shellQuote(argv)} ${redirect}`], { unprivileged: true });
    assert.equal(r.code, 125, r.stdout + r.stderr);
    assert.match(r.stderr, /launch refused: the child could write the transcript file .*t\.jsonl/);
    assert.doesNotMatch(r.stdout + r.stderr, /^ran$/m);
  }
  assert.ok(!text(out).includes("{}"), text(out));
});

Deno.test({
  // NOT FIXED (review R1): journald rate-limits per systemd unit (RateLimitBurst 10,000 per
  // 30 s, scaled up with free disk space: 37,500 here), and the child is in the launcher's
  // unit (a sub-cgroup too). A child allowed unix sockets floods the journal, and journald
  // silently drops the launcher's child_exited and seal: the launch exits 0 and says
  // nothing; `transcript verify` reports the launch unsealed and incomplete. The shim cannot
  // see the drop (the send succeeds). Reproduced with this test's journald in a journal
  // namespace and the launcher in a cgroup named like a unit (cgroup v1 name=systemd and
  // the unified hierarchy). Ignored: it moves a process into a new host cgroup, and it fails
  // until the launcher can keep its records out of the child's rate-limit bucket (or docs
  // tell users to set LogRateLimitIntervalSec=0 on the launcher's unit).
  name: "a child flooding the journal cannot make journald drop the launcher's seal",
  ignore: true,
  async fn() {
    using dir = tempDir();
    await using journal = journald();
    await until(() => existsSocket(journal.socket), "journald");
    const unit = `charter-r1-${crypto.randomUUID().slice(0, 8)}.service`;
    const cgroups = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"].map((h) => `${h}/${unit}`);
    cgroups.forEach((c) => Deno.mkdirSync(c));
    const policy = writePolicy(
      String(dir),
      "p.yaml",
      `version: 1\nname: flood\nextends: [builtin:python]\ntarget:\n  exe: /usr/bin/python3\n` +
        `  argv: [python3, -c, "import socket\\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\\n` +
        `s.connect('${journal.socket}')\\nfor i in range(60000): s.send(b'MESSAGE=m\\\\n')"]\n` +
        "network: { protocols: [unix] }\n",
    );
    const argv = charterArgv([
      "launch",
      policy,
      "--plan-out",
      `${dir}/plan.json`,
      "--transcript",
      `journald:${journal.socket}`,
    ]);
    const enter = cgroups.map((c) => `echo $$ > ${c}/cgroup.procs`).join("; ");
    const r = await run("bash", ["-c", `${enter}; exec ${shellQuote(argv)}`]);
    cgroups.forEach((c) => Deno.removeSync(c));
    assert.equal(r.code, 0, r.stderr);
    await new Promise((ok) => setTimeout(ok, 2000));
    const out = new Deno.Command("journalctl", {
      args: [`--namespace=${journal.namespace}`, "-t", "charter", "-o", "cat", "--no-pager"],
    }).outputSync();
    Deno.writeFileSync(`${dir}/t.jsonl`, out.stdout);
    assert.match(new TextDecoder().decode(out.stdout), /"transcript_sealed"/);
  },
});

Deno.test({
  // NOT FIXED (review R1): `--transcript-fd 1` (or 2, documented as the old `--transcript -`)
  // hands the child the very fd the records go to, as its stdout (stderr): the child's
  // output, and any line it makes look like a record, lands among the records. Issue 12
  // asks for a stream never mixed with other text. Refusing fds 0-2 (or moving them aside
  // as `-` does) changes a documented behaviour that other tests rely on, so it is left to
  // the owners of the transcript destination.
  name: "--transcript-fd 1 does not mix the child's stdout into the records",
  ignore: true,
  async fn() {
    using dir = tempDir();
    const r = await charter(["launch", noisy(String(dir)), "--no-seal", "--transcript-fd", "1"]);
    for (const line of r.stdout.trim().split("\n")) {
      assert.equal(JSON.parse(line).v, 1, line);
    }
  },
});
