import assert from "node:assert/strict";
import { generatedSchemas } from "../audit/json_schemas.ts";
import { charter, ROOT, tempDir, writePolicy } from "./helpers.ts";

Deno.test("a TypeScript policy runs, and check type-checks it", async () => {
  const r = await charter(["launch", `${ROOT}/examples/hello.ts`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "hello from a TypeScript policy\n");
  using dir = tempDir();
  const bad = `${dir}/bad.ts`;
  Deno.writeTextFileSync(
    bad,
    `import { definePolicy } from "${ROOT}/mod.ts";
export default definePolicy({
  version: 1,
  name: "bad",
  target: { exe: "/bin/true", argv: "true" },
});
`,
  );
  const c = await charter(["check", bad]);
  assert.equal(c.code, 1);
  assert.match(
    c.stderr,
    new RegExp(
      `^${bad}:5:31: type error TS2322: Type 'string' is not assignable to type 'string\\[\\]'`,
    ),
  );
});

Deno.test("a TypeScript policy that type-checks is still validated at run time", async () => {
  using dir = tempDir();
  const file = `${dir}/p.ts`;
  Deno.writeTextFileSync(
    file,
    `import { definePolicy } from "${ROOT}/mod.ts";
export default definePolicy({
  version: 1,
  name: "rt",
  target: { exe: "bin/true" },
  limits: { as: "2 gigs" },
});
`,
  );
  const c = await charter(["check", file]);
  assert.equal(c.code, 1);
  const lines = c.stderr.trim().split("\n").filter((l) => l.startsWith(file));
  assert.deepEqual(lines.map((l) => l.split(": ").slice(0, 2).join(": ")), [
    `${file}:5:13: target.exe`,
    `${file}:6:13: limits.as`,
  ]);
});

Deno.test("explain shows where each effective rule came from across extends", async () => {
  using dir = tempDir();
  writePolicy(
    String(dir),
    "team.yaml",
    "version: 1\nname: team\nextends: [builtin:base]\nfilesystem:\n  write: [/var/tmp]\n",
  );
  const main = writePolicy(
    String(dir),
    "app.yaml",
    "version: 1\nname: app\nextends: [./team.yaml]\ntarget: { exe: /bin/true }\nlimits: { nofile: 64 }\n",
  );
  const r = await charter(["explain", "--json", main]);
  assert.equal(r.code, 0, r.stderr);
  const grants: { key: string; from: { file: string; line: number; col: number }[] }[] =
    JSON.parse(r.stdout).grants;
  const from = (key: string) =>
    grants.find((g) => g.key === key)?.from.map((p) => `${p.file}:${p.line}:${p.col}`);
  assert.deepEqual(from("filesystem:/var/tmp"), [`${dir}/team.yaml:5:11`]);
  assert.deepEqual(from("filesystem:/usr/lib"), ["builtin:base:9:7"]);
  assert.deepEqual(from("limits:NOFILE"), [`${main}:5:19`]);
  assert.deepEqual(from("target:exe"), [`${main}:4:16`]);
  const text = await charter(["explain", main]);
  assert.match(text.stdout, /\/var\/tmp: .*write_file.* {2,}<- .*team\.yaml:5:11/);
});

Deno.test("diff lists new authority and exits 1; less authority exits 0", async (t) => {
  using dir = tempDir();
  const base =
    "version: 1\nname: d\ntarget: { exe: /bin/true }\nnamespaces: { net: true }\nfilesystem: { read: [/usr] }\n";
  const a = writePolicy(String(dir), "a.yaml", base);
  const pairs: [string, string, number, string[]][] = [
    ["the same policy", base, 0, ["no difference in authority"]],
    ["write grant", base.replace("read: [/usr]", "read: [/usr], write: [/var/tmp]"), 1, [
      "+ filesystem: /var/tmp: write_file, read_file, read_dir, remove_dir",
      "+ view: /var/tmp: the host's /var/tmp, writable",
    ]],
    ["dropped net namespace", base.replace("net: true", "net: false"), 1, [
      "+ namespaces: no longer new net namespace (required)",
    ]],
    ["passed env", base + "env: { pass: [HOME] }\n", 1, ["+ env: HOME passed from the launcher"]],
    ["kept capability", base + "capabilities: [NET_BIND_SERVICE]\n", 1, [
      "+ capabilities: CAP_NET_BIND_SERVICE kept",
    ]],
    ["new limit only", base + "limits: { nofile: 10 }\n", 0, ["- limits: now RLIMIT_NOFILE = 10"]],
  ];
  for (const [name, text, code, expected] of pairs) {
    await t.step(name, async () => {
      const b = writePolicy(String(dir), "b.yaml", text);
      const r = await charter(["diff", a, b]);
      assert.equal(r.code, code, r.stdout + r.stderr);
      for (const line of expected) {
        assert.ok(
          r.stdout.split("\n").some((l) => l.startsWith(line)),
          `missing ${line} in\n${r.stdout}`,
        );
      }
    });
  }
});

Deno.test("schema/*.schema.json are up to date with their sources", () => {
  for (const [name, schema] of Object.entries(generatedSchemas())) {
    const committed = JSON.parse(Deno.readTextFileSync(`${ROOT}/schema/${name}`));
    assert.deepEqual(committed, schema, `schema/${name} is stale: run deno run -A cli.ts schema`);
  }
});

Deno.test("every example policy carries the schema comment or is TypeScript", () => {
  for (const e of Deno.readDirSync(`${ROOT}/examples`)) {
    if (!e.name.endsWith(".yaml")) continue;
    const first = Deno.readTextFileSync(`${ROOT}/examples/${e.name}`).split("\n")[0];
    assert.equal(first, "# yaml-language-server: $schema=../schema/policy.schema.json", e.name);
  }
});

Deno.test("diff names newly allowed syscalls; check resolves syscall names with hints", async () => {
  using dir = tempDir();
  const base =
    'version: 1\nname: s\ntarget: { exe: /bin/true }\nsyscalls:\n  default: { errno: EPERM }\n  allow: ["@system-service"]\n';
  const a = writePolicy(String(dir), "a.yaml", base);
  const b = writePolicy(
    String(dir),
    "b.yaml",
    base.replace('"@system-service"]', '"@system-service", mincore]'),
  );
  const r = await charter(["diff", a, b]);
  assert.equal(r.code, 1, r.stderr);
  const arch = Deno.build.arch;
  assert.ok(
    r.stdout.split("\n").includes(`+ syscalls: ${arch}: mincore: ERRNO(EPERM) → ALLOW`),
    r.stdout,
  );
  const back = await charter(["diff", b, a]);
  assert.equal(back.code, 0, "removing mincore grants nothing new");
  assert.ok(
    back.stdout.split("\n").includes(`- syscalls: ${arch}: mincore: ALLOW → ERRNO(EPERM)`),
    back.stdout,
  );
  // A baseline syscall runs only through unsafe_allow, and diff flags it.
  const unsafe = writePolicy(String(dir), "u.yaml", `${base}  unsafe_allow: [ptrace]\n`);
  const u = await charter(["diff", a, unsafe]);
  assert.equal(u.code, 1, u.stderr);
  assert.match(u.stdout, /^\+ syscalls: .*ptrace.*\(UNSAFE: past the baseline\)$/m);
  const allowed = writePolicy(
    String(dir),
    "p.yaml",
    base.replace('"@system-service"]', '"@system-service", ptrace]'),
  );
  const refused = await charter(["check", allowed]);
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /p\.yaml:6:30: syscalls\.allow\.1: ptrace stays denied.*\n {2}hint: .*unsafe_allow: \[ptrace\]/,
  );
  const typo = writePolicy(
    String(dir),
    "t.yaml",
    base.replace('"@system-service"]', '"@system-service", ptrce]'),
  );
  const c = await charter(["check", typo]);
  assert.equal(c.code, 1);
  assert.match(
    c.stderr,
    new RegExp(`^${typo}:6:30: syscalls\\.allow\\.1: .*ptrce.*\\n  hint: did you mean "ptrace"\\?`),
  );
});

Deno.test("every unknown syscall, group, errno and constant name is reported in one run", async () => {
  using dir = tempDir();
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    `version: 1
name: multi
target: { exe: /bin/true }
syscalls:
  default: { errno: EPRM }
  allow: ["@system-service", ptrce, "@mout"]
  deny: [mount, kexec_lod]
  rules:
    - { syscall: sockt, args: [{ arg: 0, op: eq, value: AF_NETLNK }], action: { errno: EACCESS } }
`,
  );
  const r = await charter(["check", "--json", policy]);
  assert.equal(r.code, 1);
  const found = JSON.parse(r.stdout).map((
    d: { line: number; col: number; path: string; hint: string },
  ) => `${d.line}:${d.col} ${d.path} ${d.hint}`);
  assert.deepEqual(found, [
    '5:21 syscalls.default.errno did you mean "EPERM"?',
    '6:30 syscalls.allow.1 did you mean "ptrace"?',
    '6:37 syscalls.allow.2 did you mean "@mount"?',
    '7:17 syscalls.deny.1 did you mean "kexec_load"?',
    '9:18 syscalls.rules.0.syscall did you mean "socket"?',
    '9:57 syscalls.rules.0.args.0.value did you mean "AF_NETLINK"?',
    '9:88 syscalls.rules.0.action.errno did you mean "EACCES"?',
  ]);
});

Deno.test("explain names the syscalls a policy uses that this arch does not have", async () => {
  using dir = tempDir();
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    'version: 1\nname: a\ntarget: { exe: /bin/true }\nsyscalls:\n  default: { errno: EPERM }\n  allow: ["@system-service", cacheflush]\n',
  );
  const r = await charter(["explain", "--json", policy]);
  assert.equal(r.code, 0, r.stderr);
  const { absentSyscalls } = JSON.parse(r.stdout);
  // cacheflush exists on 32-bit arm and others, on neither x86_64 nor aarch64.
  assert.ok(absentSyscalls.includes("cacheflush"), absentSyscalls.join(", "));
  assert.ok(!absentSyscalls.includes("read"));
  const text = await charter(["explain", policy]);
  const header =
    `not syscalls on ${Deno.build.arch} (named by the policy or its groups; match nothing)\n`;
  const section = text.stdout.split(header)[1]?.split("\n\n")[0];
  assert.ok(section?.includes("cacheflush"), text.stdout);
});

Deno.test("argv merges as one value: order and repeats kept, a later layer replaces it", async () => {
  using dir = tempDir();
  writePolicy(
    String(dir),
    "base.yaml",
    "version: 1\nname: base\ntarget: { exe: /bin/echo, argv: [echo, base] }\n",
  );
  const main = writePolicy(
    String(dir),
    "p.yaml",
    "version: 1\nname: p\nextends: [./base.yaml]\ntarget: { exe: /bin/echo, argv: [echo, a, b, a] }\n",
  );
  const r = await charter(["launch", main]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "a b a\n");
});

Deno.test("explain says per protocol what restricts it", async () => {
  using dir = tempDir();
  const texts = async (yaml: string) => {
    const r = await charter(["explain", "--json", writePolicy(String(dir), "p.yaml", yaml)]);
    assert.equal(r.code, 0, r.stderr);
    const grants: { key: string; text: string; from: { line: number }[] }[] =
      JSON.parse(r.stdout).grants;
    return Object.fromEntries(
      grants.filter((g) => g.key.startsWith("network:protocol/")).map((g) => [
        g.key.slice("network:protocol/".length),
        g,
      ]),
    );
  };
  const head = "version: 1\nname: n\ntarget: { exe: /bin/true }\n";
  const net = await texts(`${head}network: { connect_tcp: [443], protocols: [udp] }\n`);
  assert.equal(net.tcp.text, "tcp: allowed, restricted by Landlock TCP port rules");
  assert.equal(net.udp.text, "udp: allowed, unrestricted");
  assert.equal(net.udp.from[0]?.line, 4);
  assert.equal(
    net.mptcp.text,
    "mptcp: denied by the seccomp socket rule (ERRNO(EPROTONOSUPPORT))",
  );
  assert.equal(net.unix.text, "unix: denied by the seccomp socket rule (ERRNO(EAFNOSUPPORT))");
  // With unix named, listen() runs, and the ephemeral port of an unbound socket is not checked.
  const unix = await texts(`${head}network: { connect_tcp: [443], protocols: [unix] }\n`);
  assert.equal(
    unix.tcp.text,
    "tcp: allowed, restricted by Landlock TCP port rules (but listen() on an unbound socket takes any ephemeral port)",
  );
  const isolated = await texts(`${head}namespaces: { net: true }\n`);
  assert.equal(isolated.udp.text, "udp: allowed, restricted by the new net namespace");
  assert.equal(isolated.unix.text, "unix: denied by the seccomp socket rule (ERRNO(EAFNOSUPPORT))");
  assert.equal(
    isolated.vsock.text,
    "vsock: denied by the seccomp socket rule (ERRNO(EAFNOSUPPORT))",
  );
  // enforce.seccomp: off keeps the baseline and its socket rules.
  const unfiltered = await texts(`${head}namespaces: { net: true }\nenforce: { seccomp: off }\n`);
  assert.equal(
    unfiltered.unix.text,
    "unix: denied by the seccomp socket rule (ERRNO(EAFNOSUPPORT))",
  );
});

Deno.test("explain flags terminal injection when neither the filter nor a new session stops it", async () => {
  using dir = tempDir();
  const head = "version: 1\nname: t\ntarget: { exe: /bin/true }\n";
  const injects = async (extra: string) => {
    const r = await charter([
      "explain",
      "--json",
      writePolicy(String(dir), "p.yaml", head + extra),
    ]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).grants.some((g: { key: string }) => g.key === "process:tiocsti");
  };
  assert.equal(await injects(""), false);
  // seccomp off keeps the baseline, which filters TIOCSTI.
  assert.equal(await injects("enforce: { seccomp: off }\n"), false);
  assert.equal(await injects("syscalls: { unsafe_allow: [ioctl] }\n"), true);
  assert.equal(await injects("syscalls: { unsafe_allow: [ioctl] }\nnew_session: true\n"), false);
});

Deno.test("diff shows a newly named protocol as new authority", async () => {
  using dir = tempDir();
  const head = "version: 1\nname: d\ntarget: { exe: /bin/true }\n";
  const tcp = writePolicy(String(dir), "a.yaml", `${head}network: { connect_tcp: [80] }\n`);
  const udp = writePolicy(
    String(dir),
    "b.yaml",
    `${head}network: { connect_tcp: [80], protocols: [udp] }\n`,
  );
  const r = await charter(["diff", tcp, udp]);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stdout.split("\n");
  // The exact analysis names the socket() calls that now run; the protocol line says why.
  assert.ok(
    lines.some((l) => /^\+ syscalls: .*socket when .*SOCK_DGRAM.*→ ALLOW$/.test(l)),
    r.stdout,
  );
  assert.ok(
    lines.includes(
      "~ network: udp: denied by the seccomp socket rule (ERRNO(EPROTONOSUPPORT)) → allowed, unrestricted",
    ),
    r.stdout,
  );
  assert.ok(!lines.some((l) => /^\+ .*(MPTCP|AF_UNIX)/.test(l)), r.stdout);
  const back = await charter(["diff", udp, tcp]);
  assert.equal(back.code, 0, back.stdout);
});
