/** Every example policy runs, as root and as an unprivileged user, and does what it says. */
import assert from "node:assert/strict";
import { charter, ROOT, unprivilegedTree } from "./helpers.ts";

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
      // uid 65534 reads the examples of the staged tree: the checkout may be out of its reach.
      const root = who === "root" ? ROOT : unprivilegedTree().root;
      const r = await charter(["launch", `${root}/examples/${name}`], options);
      assert.equal(r.code, 0, r.stderr);
      const expected = EXPECTED[name];
      if (expected.startsWith("^")) assert.match(r.stdout, new RegExp(expected));
      else assert.equal(r.stdout, expected);
    });
  }
}

// The README's first command, through the ./charter wrapper itself: for root, and for a
// user who can neither run cargo nor write the checkout or root's Deno cache.
const NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"];

/**
 * A checkout uid 65534 can reach: this one when it can, else a world-readable copy of it
 * (the built shim, Deno and its cache included, as root left them; no cargo artifacts).
 */
function checkoutForNobody(): string {
  const reach = new Deno.Command(NOBODY[0], {
    args: [...NOBODY.slice(1), "test", "-r", `${ROOT}/cli.ts`],
  }).outputSync();
  if (reach.success) return ROOT;
  const copy = Deno.makeTempDirSync({ prefix: "charter-checkout-" });
  const tar = new Deno.Command("sh", {
    args: [
      "-c",
      `tar -C "$1" --exclude=./.git --exclude=./rust-shim/target -cf - . | tar -C "$2" -xpf - &&
       mkdir -p "$2/rust-shim/target/release" &&
       cp -p "$1/rust-shim/target/release/libcharter_shim.so" "$2/rust-shim/target/release/" &&
       link=$(readlink "$2/.tools/bin/deno" || true) &&
       case $link in "$1"/*) ln -sf "$2\${link#"$1"}" "$2/.tools/bin/deno" ;; esac &&
       chmod -R a+rX "$2"`,
      "sh",
      ROOT,
      copy,
    ],
  }).outputSync();
  if (!tar.success) throw new Error(new TextDecoder().decode(tar.stderr));
  return copy;
}

for (const [who, prefix] of [["root", []], ["unprivileged", NOBODY]] as const) {
  Deno.test(`README: ./charter launch examples/hello.yaml (${who})`, async () => {
    const root = who === "root" ? ROOT : checkoutForNobody();
    const argv = [...prefix, `${root}/charter`, "launch", "examples/hello.yaml"];
    const out = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      cwd: root,
      // No cargo on PATH, HOME not writable by nobody, no DENO_DIR: what a user has.
      env: { PATH: "/usr/bin:/bin", HOME: "/root" },
      clearEnv: true,
      stdin: "null",
    }).output();
    if (root !== ROOT) Deno.removeSync(root, { recursive: true });
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.equal(new TextDecoder().decode(out.stdout), EXPECTED["hello.yaml"]);
  });
}
