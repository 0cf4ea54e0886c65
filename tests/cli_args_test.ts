import assert from "node:assert/strict";
import { type OptionSpec, parseCommand, UsageError } from "../cli/args.ts";

const SPEC: OptionSpec = {
  out: { type: "string", short: "o" },
  trust: { type: "string", multiple: true },
  json: { type: "boolean" },
};

Deno.test("flags: long, short, --name=value, repeated, positionals and -- rest", () => {
  const a = parseCommand(
    [
      "p.yaml",
      "-o",
      "x",
      "--trust",
      "a.pub",
      "--trust=b.pub",
      "--json",
      "--",
      "--not-a-flag",
      "-o",
    ],
    SPEC,
  );
  assert.deepEqual(a.values, { out: "x", trust: ["a.pub", "b.pub"], json: true });
  assert.deepEqual(a.positionals, ["p.yaml"]);
  assert.deepEqual(a.rest, ["--not-a-flag", "-o"]);
  assert.equal(a.help, false);
});

Deno.test("a value may look like a flag or be empty, and - is a positional", () => {
  assert.equal(parseCommand(["--out", "-"], SPEC).values.out, "-");
  assert.equal(parseCommand(["--out=", "x"], SPEC).values.out, "");
  assert.equal(parseCommand(["--out=a=b"], SPEC).values.out, "a=b");
  assert.deepEqual(parseCommand(["-"], SPEC).positionals, ["-"]);
});

Deno.test("help is always known", () => {
  assert.equal(parseCommand(["-h"], SPEC).help, true);
  assert.equal(parseCommand(["x", "--help"], SPEC).help, true);
});

Deno.test("unknown flags, missing values and values on switches are usage errors", () => {
  for (
    const [argv, message] of [
      [["--ouput", "x"], /^unknown option --ouput; see --help$/],
      [["-x"], /^unknown option -x; see --help$/],
      [["--out"], /^--out needs a value; see --help$/],
      [["--json=yes"], /^--json takes no value; see --help$/],
    ] as const
  ) {
    assert.throws(
      () => parseCommand([...argv], SPEC),
      (e) => e instanceof UsageError && message.test(e.message),
    );
  }
});

Deno.test("start-up modules: cli.ts and the launch path import commands by computed URL", () => {
  // Deno loads the module a literal `import("…")` names (and its whole graph) when the
  // program starts, used or not: one literal import of a command made every launch read
  // the compiler (~70 modules). Type positions (`typeof import("…")`) are not loaded.
  for (const file of ["cli.ts", "cli/launch.ts"]) {
    const source = Deno.readTextFileSync(new URL(`../${file}`, import.meta.url));
    const literal = source.match(/(?<!typeof )\bimport\(\s*["'`]/g) ?? [];
    assert.deepEqual(literal, [], `${file} has a literal dynamic import`);
  }
});
