/**
 * The built-in profiles run their real programs under full enforcement (Landlock, seccomp,
 * namespaces), as root and unprivileged, and each still refuses what it does not grant.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { DEFAULT_READ } from "../policy/defaults.ts";
import { BUILTIN_PROFILES } from "../policy/load.ts";
import { charter, ROOT, run, tempDir, writePolicy } from "./helpers.ts";
import { CTRL_C, launch, ptySession } from "./probes/probe.ts";

Deno.test("builtin:base reads exactly the default read list", () => {
  const base = parse(Deno.readTextFileSync(`${ROOT}/policy/builtin/base.yaml`)) as {
    filesystem: { read: string[] };
  };
  assert.deepEqual(base.filesystem.read, [...DEFAULT_READ]);
});

Deno.test("every built-in profile is listed and passes check", async () => {
  const files = [...Deno.readDirSync(`${ROOT}/policy/builtin`)].map((e) => e.name).sort();
  assert.deepEqual(files, BUILTIN_PROFILES.map((n) => `${n}.yaml`));
  using dir = tempDir();
  for (const name of BUILTIN_PROFILES) {
    const p = writePolicy(
      String(dir),
      `${name}.yaml`,
      `version: 1\nname: p\nextends: [builtin:${name}]\ntarget: { exe: /bin/true }\n`,
    );
    const r = await charter(["check", p]);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
  }
});

/** A policy: `extends` one profile, runs exe with argv in cwd, plus extra YAML. */
function policy(profile: string, argv: string[], extra = ""): string {
  return `version: 1
name: profile-test
extends: [${profile}]
target:
  exe: ${argv[0]}
  argv: ${JSON.stringify([argv[0].split("/").at(-1), ...argv.slice(1)])}
${extra}`;
}

for (const [who, options] of [["root", {}], ["unprivileged", { unprivileged: true }]] as const) {
  Deno.test(`builtin:python (${who}): python3 computes, imports json and ssl; other files stay out`, async () => {
    using dir = tempDir();
    const script =
      "import json, ssl; print(json.dumps({'v': 6 * 7}), ssl.OPENSSL_VERSION.split()[0])\n" +
      "try:\n  open('/etc/hostname')\nexcept OSError as e:\n  print(type(e).__name__)";
    const r = await launch(
      String(dir),
      policy("builtin:python", ["/usr/bin/python3", "-c", script]),
      options,
    );
    assert.equal(r.code, 0, r.stderr);
    // The listed view (the default) leaves unlisted paths out: ENOENT, not EACCES.
    assert.deepEqual(r.lines, ['{"v": 42} OpenSSL', "FileNotFoundError"]);
  });

  Deno.test(`builtin:node (${who}): node runs a script file and its crypto; other files stay out`, async () => {
    using dir = tempDir();
    const script = `${dir}/main.js`;
    Deno.writeTextFileSync(
      script,
      `const h = require("crypto").createHash("sha256").update("abc").digest("hex");
console.log(6 * 7, h.slice(0, 8));
try { require("fs").readFileSync("/etc/hostname"); } catch (e) { console.log(e.code); }
`,
    );
    const r = await launch(
      String(dir),
      policy("builtin:node", ["/usr/bin/node", script], `  inputs: [${script}]\n`),
      options,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, ["42 ba7816bf", "ENOENT"]);
  });

  Deno.test(`builtin:shell (${who}): interactive bash with coreutils and job control on a pty`, async () => {
    using dir = tempDir();
    const prompt = { expect: "sh> " };
    const s = await ptySession(
      String(dir),
      policy(
        "builtin:shell",
        ["/bin/bash", "--norc", "--noprofile", "-i"],
        'env:\n  set: { PS1: "sh> " }\n',
      ),
      [
        prompt,
        { send: "seq 1 9 | sort -r | head -3 | tr '\\n' , ; echo\n" },
        { expect: "9,8,7," },
        prompt,
        { send: "sleep 30 &\n" },
        prompt,
        { send: "jobs\n" },
        { expect: "Running\\s+sleep 30" },
        prompt,
        { send: "sleep 30\n" },
        { sleep: 1 },
        { send: CTRL_C },
        prompt,
        { send: "kill %1; cat /etc/hostname || echo cat-$((6*7))\n" },
        { expect: "No such file or directory" },
        { expect: "cat-42" },
        prompt,
        // Not in the profile: git is on PATH but may not run.
        { send: "git --version || echo no-git\n" },
        { expect: "no-git" },
        { send: "exit 3\n" },
      ],
      options,
    );
    assert.equal(s.failedStep, null, s.output);
    assert.equal(s.status, 3, s.output);
  });

  Deno.test(`builtin:build (${who}): make and cc build and run a C program in the granted directory`, async () => {
    using dir = tempDir();
    Deno.writeTextFileSync(
      `${dir}/hello.c`,
      '#include <stdio.h>\n#include <string.h>\nint main(void) { printf("%zu-%d\\n", strlen("build"), 6 * 7); return 0; }\n',
    );
    Deno.writeTextFileSync(
      `${dir}/Makefile`,
      "hello: hello.c\n\t$(CC) -O1 -o $@ hello.c\nrun: hello\n\t./hello\n\tcat /etc/hostname || echo no-hostname\n",
    );
    // The profile grants the toolchain; the user's policy names the build directory (write,
    // and exec to run what it built). gcc's temporary files go to the view's private /tmp.
    const extra = `  cwd: ${dir}
filesystem: { write: [${dir}], exec: [${dir}] }
`;
    const r = await launch(
      String(dir),
      policy("builtin:build", ["/usr/bin/make", "-s", "run"], extra),
      options,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, ["5-42", "no-hostname"]);
    assert.ok(Deno.statSync(`${dir}/hello`).isFile, "the binary landed in the build directory");
  });

  Deno.test(`builtin:git (${who}): init, commit, log and clone of a local repository in a work directory`, async () => {
    using dir = tempDir();
    using origin = tempDir();
    // A repository on the host, granted read-only. It belongs to root, not to the child's
    // host id, so git's safe.directory check wants it named in a global config: the user's
    // policy provides one (GIT_CONFIG_GLOBAL), with the committer's name.
    const git = (...args: string[]) => run("git", ["-C", String(origin), ...args]);
    await git("init", "-q");
    Deno.writeTextFileSync(`${origin}/README`, "origin\n");
    await git("add", "README");
    await git(
      "-c",
      "user.name=host",
      "-c",
      "user.email=h@example.org",
      "commit",
      "-qm",
      "from-host",
    );
    new Deno.Command("chmod", { args: ["-R", "a+rX", String(origin)] }).outputSync();
    const config = `${dir}/gitconfig`;
    Deno.writeTextFileSync(
      config,
      `[safe]\n\tdirectory = ${origin}/.git\n[user]\n\tname = sandbox\n\temail = s@example.org\n`,
    );
    const work = `${dir}/work`;
    Deno.mkdirSync(work, { mode: 0o777 });
    Deno.chmodSync(work, 0o777);
    const script = [
      "git init -q mine",
      "echo one > mine/a",
      "git -C mine add a",
      "git -C mine commit -qm first-commit",
      "git -C mine log --format=%s:%an",
      `git clone -q ${origin} copy`,
      "git -C copy log --format=%s",
      "git -C copy show HEAD:README",
    ].join(" && ") +
      // The origin is readable only: a commit there fails.
      `; git -C ${origin} commit -q --allow-empty -m x 2>/dev/null || echo origin-read-only`;
    const extra = `  cwd: ${work}
filesystem: { read: [${origin}, ${config}], write: [${work}] }
env: { set: { GIT_CONFIG_GLOBAL: ${config} } }
`;
    const r = await launch(
      String(dir),
      policy("builtin:git", ["/bin/sh", "-ec", script], extra),
      options,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, ["first-commit:sandbox", "from-host", "origin", "origin-read-only"]);
  });

  Deno.test(`builtin:network-client (${who}): resolves through /etc/hosts, connects to 443, loads the CA store`, async () => {
    using dir = tempDir();
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 443 });
    const serving = (async () => {
      for await (const conn of listener) {
        await conn.write(new TextEncoder().encode("hello"));
        conn.close();
      }
    })().catch(() => {});
    try {
      const script = [
        "import socket, ssl",
        "print(socket.getaddrinfo('localhost', 443, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])",
        "s = socket.create_connection(('localhost', 443)); print(s.recv(16).decode())",
        "c = ssl.create_default_context(cafile=ssl.get_default_verify_paths().openssl_cafile)",
        "print(c.cert_store_stats()['x509_ca'] > 10)",
        "try:\n  socket.create_connection(('localhost', 22))\nexcept PermissionError:\n  print('port 22 denied')",
      ].join("\n");
      const r = await launch(
        String(dir),
        policy("builtin:network-client, builtin:python", ["/usr/bin/python3", "-c", script]),
        options,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, ["127.0.0.1", "hello", "True", "port 22 denied"]);
    } finally {
      listener.close();
      await serving;
    }
  });
}
