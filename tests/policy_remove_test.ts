/**
 * `remove`: a layer takes away what a file it extends granted. The compiled plan lacks the
 * grant, the kernel refuses it, `explain` shows who granted and who removed it, and a typo
 * or a later re-grant is a located error.
 */
import assert from "node:assert/strict";
import { charter, compile, keygen, tempDir, writePolicy } from "./helpers.ts";
import { readPlan } from "../audit/verify_plan.ts";
import { launch, probePolicy } from "./probes/probe.ts";

const REMOVE_80 = `extends: [builtin:network-client]
remove:
  network: { connect_tcp: [80] }
`;
const NO_HTTP = `version: 1\nname: no-http\n${REMOVE_80}`;

/** Listens on 127.0.0.1 at each port (root may bind below 1024) until disposed. */
function listeners(ports: number[]): Disposable {
  const open = ports.map((port) => Deno.listen({ hostname: "127.0.0.1", port }));
  for (const l of open) {
    (async () => {
      for await (const conn of l) conn.close();
    })().catch(() => {});
  }
  return { [Symbol.dispose]: () => open.forEach((l) => l.close()) };
}

Deno.test("remove: the compiled plan has no rule for a removed port of builtin:network-client", async () => {
  using dir = tempDir();
  writePolicy(String(dir), "no-http.yaml", NO_HTTP);
  const main = writePolicy(
    String(dir),
    "app.yaml",
    "version: 1\nname: app\nextends: [./no-http.yaml]\ntarget: { exe: /bin/true }\n",
  );
  const { key } = await keygen(String(dir));
  const { statement } = await readPlan(Deno.readFileSync(await compile(main, key, String(dir))));
  const net = statement.predicate.landlock?.net ?? [];
  assert.deepEqual(net.map((r) => r.port), [443]);
});

for (const [who, options] of [["root", {}], ["unprivileged", { unprivileged: true }]] as const) {
  Deno.test(`remove (${who}): the kernel refuses a connect to the removed port and allows the kept one`, async () => {
    using dir = tempDir();
    using _ = listeners([80, 443]);
    const calls = ["connect:80", "connect:443"];
    const removed = await launch(String(dir), probePolicy(calls, REMOVE_80), options);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(removed.lines, ["EACCES", "ok"]);
    // The control: the profile itself grants both ports.
    const granted = await launch(
      String(dir),
      probePolicy(calls, "extends: [builtin:network-client]\n"),
      options,
    );
    assert.deepEqual(granted.lines, ["ok", "ok"], granted.stderr);
  });
}

Deno.test("remove: explain shows what was removed, where, and who granted it", async () => {
  using dir = tempDir();
  const main = writePolicy(String(dir), "p.yaml", `${NO_HTTP}target: { exe: /bin/true }\n`);
  const json = await charter(["explain", "--json", main]);
  assert.equal(json.code, 0, json.stderr);
  const { grants, removals } = JSON.parse(json.stdout);
  assert.deepEqual(removals, [{
    key: "network.connect_tcp",
    item: 80,
    removedAt: { file: main, line: 5, col: 28 },
    grantedAt: { file: "builtin:network-client", line: 18, col: 17 },
  }]);
  assert.ok(!grants.some((g: { key: string }) => g.key.includes(":80")), "a port 80 grant is left");
  const text = await charter(["explain", main]);
  assert.match(
    text.stdout,
    /^removed .*\n {2}network\.connect_tcp 80 +removed at .*p\.yaml:5:28, granted at builtin:network-client:18:17$/m,
  );
});

Deno.test("remove: an item no extended file grants is a located error with a hint", async () => {
  using dir = tempDir();
  const cases: [string, RegExp, RegExp][] = [
    // A typo of a granted path.
    [
      "filesystem: { read: [/etc/gia.conf] }",
      /:5:24: remove\.filesystem\.read\.0: cannot remove filesystem\.read "\/etc\/gia\.conf"/,
      /did you mean "\/etc\/gai\.conf"\?/,
    ],
    // A path inside a granted directory: Landlock has no exceptions.
    [
      "filesystem: { read: [/usr/lib/ssl] }",
      /:5:24: remove\.filesystem\.read\.0: cannot remove/,
      /\/usr\/lib is granted as a whole/,
    ],
    // A port no layer granted.
    [
      "network: { connect_tcp: [8080] }",
      /:5:28: remove\.network\.connect_tcp\.0: cannot remove network\.connect_tcp 8080/,
      /granted before this file: 80, 443/,
    ],
    // Defaults are not grants of a file: set the key instead.
    [
      "capabilities: [net_raw]",
      /:5:18: remove\.capabilities\.0: cannot remove capabilities "CAP_NET_RAW"/,
      /no file this one extends grants capabilities/,
    ],
  ];
  for (const [remove, error, hint] of cases) {
    const p = writePolicy(
      String(dir),
      "p.yaml",
      `version: 1\nname: p\nextends: [builtin:network-client]\nremove:\n  ${remove}\ntarget: { exe: /bin/true }\n`,
    );
    const r = await charter(["check", p]);
    assert.equal(r.code, 1, remove);
    assert.match(r.stderr, error, remove);
    assert.match(r.stderr, hint, remove);
  }
  const unknown = writePolicy(
    String(dir),
    "p.yaml",
    "version: 1\nname: p\nremove:\n  filesystem: { raed: [/etc] }\ntarget: { exe: /bin/true }\n",
  );
  const r = await charter(["check", unknown]);
  assert.match(r.stderr, /:4:17: remove\.filesystem\.raed: unknown key/);
  assert.match(r.stderr, /did you mean "read"\?/);
});

Deno.test("remove: a later file cannot grant a removed item again; a file reached twice is merged once", async () => {
  using dir = tempDir();
  writePolicy(String(dir), "no-http.yaml", NO_HTTP);
  const regrant = writePolicy(
    String(dir),
    "regrant.yaml",
    "version: 1\nname: r\nextends: [./no-http.yaml]\nnetwork: { connect_tcp: [8080, 80] }\ntarget: { exe: /bin/true }\n",
  );
  const r = await charter(["check", regrant]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /regrant\.yaml:4:32: network\.connect_tcp\.1: grants network\.connect_tcp 80 again, which .*no-http\.yaml:5:28 removed/,
  );
  // The same file granting what it removes.
  const same = writePolicy(
    String(dir),
    "same.yaml",
    `${NO_HTTP}network: { connect_tcp: [80] }\ntarget: { exe: /bin/true }\n`,
  );
  assert.match(
    (await charter(["check", same])).stderr,
    /same\.yaml:6:26: .*grants network\.connect_tcp 80 again/,
  );
  // builtin:network-client, reached again through a second extends entry, is not merged a
  // second time: the removal holds and no error arises from the profile.
  const diamond = writePolicy(
    String(dir),
    "diamond.yaml",
    "version: 1\nname: d\nextends: [./no-http.yaml, builtin:network-client, builtin:python]\ntarget: { exe: /bin/true }\n",
  );
  const d = await charter(["explain", "--json", diamond]);
  assert.equal(d.code, 0, d.stderr);
  const keys = JSON.parse(d.stdout).grants.map((g: { key: string }) => g.key);
  assert.ok(keys.some((k: string) => k.includes("443")), keys.join(" "));
  assert.ok(!keys.some((k: string) => /\b80\b/.test(k)), keys.join(" "));
});

Deno.test("remove: a removed path the policy still grants (same path in another list, or a directory above) is an error", async () => {
  using dir = tempDir();
  const cases: [string, RegExp][] = [
    [
      "remove:\n  filesystem: { read: [/etc/hosts] }\nfilesystem: { read: [/etc] }\n",
      /:5:24: remove\.filesystem\.read: removing filesystem\.read "\/etc\/hosts" takes nothing away: filesystem\.read "\/etc" still grants it \(.*p\.yaml:6:22\)\n {2}hint: Landlock cannot take a path out of a granted directory/,
    ],
    [
      "remove:\n  filesystem: { read: [/dev/null] }\n",
      /:5:24: remove\.filesystem\.read: removing filesystem\.read "\/dev\/null" takes nothing away: filesystem\.write "\/dev\/null" still grants it \(builtin:base:21:11\)\n {2}hint: remove it from filesystem\.write as well/,
    ],
  ];
  for (const [rules, error] of cases) {
    const p = writePolicy(
      String(dir),
      "p.yaml",
      `version: 1\nname: p\nextends: [builtin:network-client]\n${rules}target: { exe: /bin/true }\n`,
    );
    const r = await charter(["check", p]);
    assert.equal(r.code, 1, rules);
    assert.match(r.stderr, error, rules);
  }
  // TCP comes with any network key: removing the protocol name takes nothing away.
  writePolicy(String(dir), "tcp.yaml", "version: 1\nname: t\nnetwork: { protocols: [tcp, udp] }\n");
  const tcp = writePolicy(
    String(dir),
    "p.yaml",
    "version: 1\nname: p\nextends: [./tcp.yaml]\nremove:\n  network: { protocols: [tcp] }\ntarget: { exe: /bin/true }\n",
  );
  assert.match(
    (await charter(["check", tcp])).stderr,
    /p\.yaml:5:26: remove\.network\.protocols: removing network\.protocols "tcp" takes nothing away/,
  );
  // Removing both takes the access away.
  const both = writePolicy(
    String(dir),
    "p.yaml",
    "version: 1\nname: p\nextends: [builtin:network-client]\nremove:\n  filesystem: { read: [/dev/null], write: [/dev/null] }\ntarget: { exe: /bin/true }\n",
  );
  const r = await charter(["check", both]);
  assert.equal(r.code, 0, r.stderr);
});

Deno.test("remove: a syscall a group left in allow still allows is an error; one only it allowed is removed", async () => {
  using dir = tempDir();
  writePolicy(
    String(dir),
    "base.yaml",
    'version: 1\nname: b\nsyscalls:\n  allow: ["@system-service", read, "@pkey"]\n',
  );
  const idle = writePolicy(
    String(dir),
    "idle.yaml",
    "version: 1\nname: s\nextends: [./base.yaml]\nremove:\n  syscalls: { allow: [read] }\ntarget: { exe: /bin/true }\n",
  );
  const r = await charter(["check", idle]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /idle\.yaml:5:23: remove\.syscalls\.allow: removing syscalls\.allow "read" takes nothing away: @system-service still allows it/,
  );
  // @pkey's syscalls are in no other allowed group: removing it takes them out of the filter.
  const mayRun = async (remove: string) => {
    const p = writePolicy(
      String(dir),
      "p.yaml",
      `version: 1\nname: s\nextends: [./base.yaml]\n${remove}target: { exe: /bin/true }\n`,
    );
    const out = await charter(["explain", "--json", p]);
    assert.equal(out.code, 0, out.stderr);
    const grants: { key: string; text: string; restricts?: boolean; analysed?: boolean }[] =
      JSON.parse(out.stdout).grants;
    return grants.filter((g) => g.analysed && !g.restricts).map((g) => g.text);
  };
  assert.ok((await mayRun("")).includes("pkey_alloc"), "the control allows pkey_alloc");
  const removed = await mayRun('remove:\n  syscalls: { allow: ["@pkey"] }\n');
  assert.ok(!removed.includes("pkey_alloc"), removed.join(" "));
  assert.ok(removed.includes("read"));
});
