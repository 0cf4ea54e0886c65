import assert from "node:assert/strict";
import { charter, tempDir, writePolicy } from "./helpers.ts";

interface Expected {
  yaml: string;
  /** Each expected problem as "line:col: path: message prefix". */
  problems: string[];
  hint?: string;
}

const CASES: Record<string, Expected> = {
  "unknown top-level key, with the allowed keys": {
    yaml: "version: 1\nname: x\ntarget: { exe: /bin/true }\nextra: 1\n",
    problems: ["4:1: extra: unknown key"],
    hint: "allowed keys here: version, name, description, extends, target, env, fds, user,",
  },
  "misspelled key gets a did-you-mean": {
    yaml: "version: 1\nname: x\ntarget:\n  exe: /bin/true\n  agrv: [true]\n",
    problems: ["5:3: target.agrv: unknown key"],
    hint: 'did you mean "argv"?',
  },
  "relative exe": {
    yaml: "version: 1\nname: x\ntarget: { exe: bin/true }\n",
    problems: [
      '3:16: target.exe: not an absolute path (expected a path starting with /, got "bin/true")',
    ],
  },
  "missing target": {
    yaml: "version: 1\nname: x\n",
    problems: ["1:1: target: missing required key"],
  },
  "wrong version and bad name, both reported": {
    yaml: "version: 2\nname: Bad Name\ntarget: { exe: /bin/true }\n",
    problems: [
      "1:10: version: unsupported policy version (expected 1, got 2)",
      "2:7: name: not a valid policy name",
    ],
  },
  "fd below 3": {
    yaml: "version: 1\nname: x\ntarget: { exe: /bin/true }\nfds: { pass: [2] }\n",
    problems: ["4:15: fds.pass.0: fds 0, 1 and 2 are always kept"],
  },
  "env name with =": {
    yaml: 'version: 1\nname: x\ntarget: { exe: /bin/true }\nenv:\n  set: { "A=B": x }\n',
    problems: ["5:10: env.set.A=B: not an environment variable name"],
  },
  "env both set and passed": {
    yaml:
      "version: 1\nname: x\ntarget: { exe: /bin/true }\nenv:\n  set: { HOME: /tmp }\n  pass: [HOME]\n",
    problems: ["6:10: env.pass: HOME is both set and passed"],
  },
  "duplicate YAML key": {
    yaml: "version: 1\nname: x\nname: y\ntarget: { exe: /bin/true }\n",
    problems: ["3:1: duplicate key"],
  },
  "YAML syntax error": {
    yaml: "version: 1\nname: [x\n",
    problems: ["3:1: YAML syntax"],
  },
  "wrong type for argv": {
    yaml: "version: 1\nname: x\ntarget: { exe: /bin/true, argv: echo }\n",
    problems: ['3:33: target.argv: wrong type (expected a list, got "echo")'],
  },
  "misspelled unsafe_allow name": {
    yaml:
      "version: 1\nname: x\ntarget: { exe: /bin/true }\nsyscalls:\n  unsafe_allow: [kcmp, ptrcae]\n",
    problems: ['5:24: syscalls.unsafe_allow.1: "ptrcae" is not a baseline syscall'],
    hint: 'did you mean "ptrace"?',
  },
  "a rule that lets a baseline syscall run": {
    yaml:
      "version: 1\nname: x\ntarget: { exe: /bin/true }\nsyscalls:\n  default: allow\n  rules:\n    - { syscall: keyctl, action: allow }\n",
    problems: ["7:34: syscalls.rules.0.action: keyctl stays denied: this rule cannot let it run"],
    hint: "the baseline denies keyctl; only syscalls.unsafe_allow: [keyctl] lets it run",
  },
  "unknown network protocol": {
    yaml: "version: 1\nname: x\ntarget: { exe: /bin/true }\nnetwork: { protocols: [udp, mtpcp] }\n",
    problems: ['4:29: network.protocols.1: unknown protocol "mtpcp" (did you mean mptcp?)'],
  },
};

for (const [name, c] of Object.entries(CASES)) {
  Deno.test(`check reports ${name}`, async () => {
    using dir = tempDir();
    const file = writePolicy(String(dir), "p.yaml", c.yaml);
    const r = await charter(["check", file]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith(file));
    assert.equal(lines.length, c.problems.length, r.stderr);
    c.problems.forEach((p, i) =>
      assert.ok(lines[i].startsWith(`${file}:${p}`), `${lines[i]}\n!= ${p}`)
    );
    if (c.hint) assert.ok(r.stderr.includes(`hint: ${c.hint}`), r.stderr);
    assert.ok(!r.stderr.includes("    at "), "no stack trace");
  });
}

Deno.test("check --json gives the same problems as objects", async () => {
  using dir = tempDir();
  const file = writePolicy(
    String(dir),
    "p.yaml",
    "version: 1\nname: x\ntarget: { exe: /bin/true, cwdd: / }\n",
  );
  const r = await charter(["check", "--json", file]);
  assert.equal(r.code, 1);
  assert.deepEqual(JSON.parse(r.stdout), [{
    file,
    line: 3,
    col: 27,
    path: "target.cwdd",
    message: "unknown key",
    hint: 'did you mean "cwd"?',
  }]);
});

Deno.test("every example policy and the valid corpus pass check", async () => {
  const files = ["../examples", "./corpus/valid"].flatMap((d) =>
    Array.from(Deno.readDirSync(new URL(d, import.meta.url)))
      .filter((e) => e.name.endsWith(".yaml") || e.name.endsWith(".ts"))
      .map((e) => new URL(`${d}/${e.name}`, import.meta.url).pathname)
  );
  assert.ok(files.length > 0);
  const r = await charter(["check", ...files]);
  assert.equal(r.code, 0, r.stderr);
});

Deno.test("usage errors exit 2 with one sentence", async () => {
  const r = await charter(["check"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^charter: check needs at least one policy; see --help\n$/);
  const unknown = await charter(["frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
});

Deno.test("the README's example policy passes check", async () => {
  using dir = tempDir();
  const readme = Deno.readTextFileSync(new URL("../README.md", import.meta.url));
  const policy = /## A policy\n\n```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(policy, "the README has a yaml block under '## A policy'");
  const r = await charter(["check", writePolicy(String(dir), "readme.yaml", policy)]);
  assert.equal(r.code, 0, r.stderr);
});

Deno.test("missing files are one sentence with a hint, not an OS error", async () => {
  using dir = tempDir();
  const launch = await charter(["launch", `${dir}/nope.json`, "--trust", `${dir}/nope.pub`]);
  assert.equal(launch.code, 125);
  assert.equal(
    launch.stderr,
    `charter: Key file ${dir}/nope.pub does not exist; check the path, or create keys with "charter keygen -o NAME"\n`,
  );
  const transcript = await charter([
    "transcript",
    "verify",
    "--allow-unsealed",
    `${dir}/t.jsonl`,
    "--plan",
    `${dir}/p.json`,
  ]);
  assert.equal(transcript.code, 1);
  assert.equal(transcript.stderr, `charter: ${dir}/p.json does not exist; check the path\n`);
});

Deno.test("check warns about a missing path, located, and fails only with --strict", async () => {
  using dir = tempDir();
  const out = `${dir}/out`;
  Deno.mkdirSync(out);
  const file = writePolicy(
    String(dir),
    "p.yaml",
    `version: 1\nname: x\ntarget: { exe: /bin/true }\nfilesystem:\n  read: [/usr]\n  write: [${out}, ${dir}/outt]\n`,
  );
  const r = await charter(["check", file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stderr,
    `${file}:6:${
      11 + out.length + 2
    }: filesystem.write: warning: ${dir}/outt does not exist on this host; the rule is skipped at launch\n` +
      "  hint: check the path for a typo, or remove the entry\n",
  );
  const strict = await charter(["check", "--strict", file]);
  assert.equal(strict.code, 1, strict.stderr);
  assert.equal(strict.stderr, r.stderr);
  const json = await charter(["check", "--json", file]);
  assert.equal(json.code, 0);
  assert.equal(JSON.parse(json.stdout)[0].severity, "warning");
});

Deno.test("check warns about a missing target; built-in and default paths are not warned about", async () => {
  using dir = tempDir();
  const file = writePolicy(
    String(dir),
    "p.yaml",
    "version: 1\nname: x\nextends: [builtin:base]\ntarget: { exe: /usr/bin/no-such-tool }\nfilesystem: { read: [/usr/lib/no-such-dir] }\n",
  );
  const r = await charter(["check", file]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.split("\n").filter((l) => l.startsWith(file));
  assert.deepEqual(lines, [
    `${file}:4:16: target.exe: warning: the target /usr/bin/no-such-tool does not exist on this host`,
    `${file}:5:22: filesystem.read: warning: /usr/lib/no-such-dir does not exist on this host; the rule is skipped at launch`,
  ]);
  assert.equal((await charter(["check", "--strict", file])).code, 1);
});
