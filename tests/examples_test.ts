/** Every example policy runs, as root and as an unprivileged user, and does what it says. */
import assert from "node:assert/strict";
import { charter, ROOT } from "./helpers.ts";

const EXPECTED: Record<string, string> = {
  "hello.yaml": "hello from hello, confined by charter\n",
  "hello.ts": "hello from a TypeScript policy\n",
  "locked-down.yaml":
    "uid=1000 gid=1000 host=sandbox pid=1\nwrite /etc: denied\nwrite /tmp: allowed\n",
  "python.yaml": /^\{"python": "3\.\d+\.\d+", "confined": true\}\n$/.source,
};

const examples = [...Deno.readDirSync(`${ROOT}/examples`)].map((e) => e.name).sort();

Deno.test("every example has an expected output here", () => {
  assert.deepEqual(examples, Object.keys(EXPECTED).sort());
});

for (const name of examples) {
  for (const [who, options] of [["root", {}], ["unprivileged", { unprivileged: true }]] as const) {
    Deno.test(`example ${name} runs (${who})`, async () => {
      const r = await charter(["launch", `${ROOT}/examples/${name}`], options);
      assert.equal(r.code, 0, r.stderr);
      const expected = EXPECTED[name];
      if (expected.startsWith("^")) assert.match(r.stdout, new RegExp(expected));
      else assert.equal(r.stdout, expected);
    });
  }
}

// The README's first command, through the ./charter wrapper itself: for root, and for a
// user who can neither run cargo nor write the checkout or root's Deno cache.
for (
  const [who, prefix] of [
    ["root", []],
    ["unprivileged", ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]],
  ] as const
) {
  Deno.test(`README: ./charter launch examples/hello.yaml (${who})`, async () => {
    const argv = [...prefix, `${ROOT}/charter`, "launch", "examples/hello.yaml"];
    const out = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      cwd: ROOT,
      // No cargo on PATH, HOME not writable by nobody, no DENO_DIR: what a user has.
      env: { PATH: "/usr/bin:/bin", HOME: "/root" },
      clearEnv: true,
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.equal(new TextDecoder().decode(out.stdout), EXPECTED["hello.yaml"]);
  });
}
