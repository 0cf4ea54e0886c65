import assert from "node:assert/strict";
import {
  charter,
  charterArgv,
  compile,
  keygen,
  launcherEnv,
  launchUntilReady,
  readTranscript,
  shellQuote,
  shPolicy,
  tempDir,
  writePolicy,
} from "./helpers.ts";

Deno.test("hello example runs and its stdout arrives", async () => {
  const r = await charter(["launch", new URL("../examples/hello.yaml", import.meta.url).pathname]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "hello from hello, confined by charter\n");
});

Deno.test("the child's exit code becomes the launcher's", async () => {
  using dir = tempDir();
  const r = await charter(["launch", writePolicy(String(dir), "p.yaml", shPolicy("exit 7"))]);
  assert.equal(r.code, 7, r.stderr);
});

Deno.test("a child killed by SIGTERM gives 143", async () => {
  using dir = tempDir();
  const r = await charter([
    "launch",
    // Outside a pid namespace: pid 1 of one ignores signals it has no handler for.
    writePolicy(String(dir), "p.yaml", shPolicy("kill -TERM $$", "namespaces: { pid: false }\n")),
  ]);
  assert.equal(r.code, 143, r.stderr);
});

Deno.test("SIGINT, SIGTERM and SIGHUP sent to the launcher reach the child", async (t) => {
  for (const [name, number] of [["SIGINT", 2], ["SIGTERM", 15], ["SIGHUP", 1]] as const) {
    await t.step(name, async () => {
      using dir = tempDir();
      const script = `trap 'echo got ${name}; exit 42' ${
        name.slice(3)
      }; echo ready; while :; do sleep 0.05; done`;
      const launched = await launchUntilReady([
        "launch",
        writePolicy(String(dir), "p.yaml", shPolicy(script)),
      ]);
      const { process: child, reader } = launched;
      let seen = launched.seen;
      child.kill(name);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += value;
      }
      const status = await child.status;
      assert.equal(status.code, 42, `signal ${number} was not forwarded`);
      assert.ok(seen.includes(`got ${name}`), seen);
    });
  }
});

Deno.test("only env.set and present env.pass variables reach the child", async () => {
  using dir = tempDir();
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    shPolicy("env | sort", "  pass: [PASSED_VAR, ABSENT_VAR]\n"),
  );
  const r = await charter(["launch", policy], {
    env: { PASSED_VAR: "kept", SECRET_TOKEN: "leak" },
  });
  assert.equal(r.code, 0, r.stderr);
  const vars = r.stdout.trim().split("\n").filter((l) =>
    !l.startsWith("PWD=") && !l.startsWith("SHLVL=") && !l.startsWith("_=")
  );
  assert.deepEqual(vars, ["PASSED_VAR=kept", "PATH=/usr/bin:/bin"]);
});

Deno.test("fds not in fds.pass are closed in the child; passed ones stay open", async () => {
  using dir = tempDir();
  const probe = "i=3; while [ $i -le 64 ]; do [ -e /proc/self/fd/$i ] && echo $i; i=$((i+1)); done";
  const policy = writePolicy(String(dir), "p.yaml", shPolicy(probe, "fds: { pass: [7] }\n"));
  const launcher = shellQuote(charterArgv(["launch", policy]));
  // The launcher inherits 7 and 8 (no CLOEXEC) plus its own runtime fds; only 7 may reach the child.
  const r = await new Deno.Command("bash", {
    args: ["-c", `exec 7</etc/hostname 8</etc/hostname; exec ${launcher}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(r.stdout);
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  assert.deepEqual(out.trim().split("\n"), ["7"]);
});

Deno.test("a passed fd that the launcher does not have is refused", async () => {
  using dir = tempDir();
  const r = await charter([
    "launch",
    writePolicy(String(dir), "p.yaml", shPolicy("exit 0", "fds: { pass: [77] }\n")),
  ]);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /handle_unavailable/);
});

Deno.test("extra args are appended only when the policy allows them", async () => {
  using dir = tempDir();
  const allowed = writePolicy(
    String(dir),
    "a.yaml",
    `version: 1
name: extra
target: { exe: /usr/bin/printf, argv: [printf, "%s|"], extra_args: true }
`,
  );
  const r = await charter(["launch", allowed, "--", "a b", "c"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "a b|c|");
  const denied = await charter([
    "launch",
    writePolicy(String(dir), "d.yaml", shPolicy("exit 0")),
    "--",
    "x",
  ]);
  assert.equal(denied.code, 125);
  assert.match(denied.stderr, /extra_args_forbidden/);
});

Deno.test("the child runs in target.cwd", async () => {
  using dir = tempDir();
  const r = await charter([
    "launch",
    writePolicy(String(dir), "p.yaml", shPolicy("pwd").replace("cwd: /", "cwd: /usr/lib")),
  ]);
  assert.equal(r.stdout, "/usr/lib\n");
});

Deno.test("a target missing at launch exits 127 and nothing runs", async () => {
  using dir = tempDir();
  const { key, pub } = await keygen(String(dir));
  Deno.copyFileSync("/bin/true", `${dir}/prog`);
  const plan = await compile(
    writePolicy(String(dir), "p.yaml", `version: 1\nname: x\ntarget: { exe: ${dir}/prog }\n`),
    key,
    String(dir),
  );
  Deno.removeSync(`${dir}/prog`);
  const r = await charter([
    "launch",
    plan,
    "--trust",
    pub,
    "--no-seal",
    "--transcript",
    `${dir}/t.jsonl`,
  ]);
  assert.equal(r.code, 127, r.stderr);
  const records = readTranscript(`${dir}/t.jsonl`);
  assert.equal(records.at(-1)?.event, "setup_refused");
  assert.equal(records.at(-1)?.reason, "handle_unavailable");
  assert.ok(!records.some((r) => r.event === "child_created"));
});

Deno.test("a launch writes the full event sequence of a successful run", async () => {
  using dir = tempDir();
  const r = await charter([
    "launch",
    writePolicy(String(dir), "p.yaml", shPolicy("exit 3")),
    "--no-seal",
    "--transcript",
    `${dir}/t.jsonl`,
  ]);
  assert.equal(r.code, 3);
  const records = readTranscript(`${dir}/t.jsonl`);
  assert.deepEqual(
    records.map((r) =>
      r.event === "phase_resolved" ? `phase_resolved:${r.phase}:${r.result}` : r.event
    ),
    [
      "launcher_started",
      "plan_verified",
      "handles_verified",
      "child_created",
      "phase_resolved:1:applied",
      "phase_resolved:2:applied",
      "phase_resolved:3:applied",
      "phase_resolved:4:applied",
      "phase_resolved:5:applied",
      "ready_to_exec",
      "exec_succeeded",
      "child_exited",
    ],
  );
  assert.equal(records.at(-1)?.code, 3);
  assert.ok(records.every((r, i) => r.seq === i && r.launchId === records[0].launchId));
});

Deno.test("the transcript can go to an inherited control fd", async () => {
  using dir = tempDir();
  const policy = writePolicy(String(dir), "p.yaml", shPolicy("exit 0"));
  const launcher = shellQuote(charterArgv(["launch", policy, "--no-seal", "--control-fd", "9"]));
  const r = await new Deno.Command("bash", {
    args: ["-c", `exec 9>${dir}/t.jsonl; exec ${launcher}`],
    env: launcherEnv({}),
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  assert.equal(readTranscript(`${dir}/t.jsonl`).at(-1)?.event, "child_exited");
});

Deno.test("a SIGTERM at any moment of the launch never leaves an orphaned child", async () => {
  using dir = tempDir();
  // A unique duration, so the exec'd sleep can be found by its own command line.
  const tag = `sleep 29.${Math.floor(Math.random() * 1e9)}`;
  const policy = writePolicy(String(dir), "p.yaml", shPolicy(`exec ${tag}`));
  const [cmd, ...args] = charterArgv(["launch", policy]);
  // Sweep the signal in small steps across start-up and the ~1 ms launch itself, where a
  // launcher without a listener yet would die and leave the child running.
  for (let delay = 10; delay <= 70; delay += 0.5) {
    const launcher = new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).spawn();
    await new Promise((r) => setTimeout(r, delay));
    launcher.kill("SIGTERM");
    await launcher.status;
  }
  await new Promise((r) => setTimeout(r, 100));
  const left = await new Deno.Command("pgrep", { args: ["-f", tag], stdout: "piped" }).output();
  const pids = new TextDecoder().decode(left.stdout).trim();
  if (pids) await new Deno.Command("pkill", { args: ["-f", tag] }).output();
  assert.equal(pids, "", "a child outlived its launcher");
});

Deno.test("a policy that only lets the child read /proc has no capabilities, no_new_privs and a filter", async () => {
  using dir = tempDir();
  // The default policy denies /proc; builtin:base with /proc keeps the rest default.
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    `version: 1\nname: minimal\nextends: [builtin:base]\nfilesystem: { read: [/proc] }\ntarget: { exe: /bin/grep, argv: [grep, -E, "^(Cap(Eff|Prm|Bnd|Amb)|NoNewPrivs|Seccomp):", /proc/self/status] }\n`,
  );
  const r = await charter(["launch", policy, "--no-seal", "--transcript", `${dir}/t.jsonl`], {
    env: { SECRET: "x" },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n").map((l) => l.replace(/\s+/g, " ")), [
    "CapPrm: 0000000000000000",
    "CapEff: 0000000000000000",
    "CapBnd: 0000000000000000",
    "CapAmb: 0000000000000000",
    "NoNewPrivs: 1",
    "Seccomp: 2",
  ]);
  const confine = readTranscript(`${dir}/t.jsonl`).find((x) =>
    x.event === "phase_resolved" && x.phase === 4
  );
  assert.equal(confine?.result, "applied");
});

Deno.test("PID 1 of a pid namespace ignores a forwarded SIGTERM; a second one kills it (137)", async () => {
  using dir = tempDir();
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    shPolicy(
      "echo ready; while :; do sleep 0.05; done",
      "user: { namespace: true }\nnamespaces: { pid: true }\n",
    ),
  );
  const { process: launcher, reader } = await launchUntilReady(["launch", policy]);
  launcher.kill("SIGTERM");
  const first = await Promise.race([
    launcher.status,
    new Promise((r) => setTimeout(() => r("running"), 300)),
  ]);
  assert.equal(first, "running", "pid 1 has no SIGTERM handler: the first SIGTERM must not end it");
  launcher.kill("SIGTERM");
  assert.equal((await launcher.status).code, 137);
  await reader.cancel();
});

Deno.test("a refusal whose message exceeds 64 KiB reaches the user whole", async () => {
  using dir = tempDir();
  const policy = writePolicy(String(dir), "p.yaml", shPolicy("exit 0"));
  // A transcript path of 80 000 bytes: the shim cannot open it and names it in full.
  const path = `${dir}/${"d/".repeat(40_000)}t.jsonl`;
  const r = await charter(["launch", policy, "--no-seal", "--transcript", path]);
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /launch refused \(handle_unavailable\): The transcript file /);
  assert.ok(r.stderr.includes(path), "the path is cut short");
  assert.doesNotMatch(r.stderr, /SyntaxError/);
});
