/**
 * The invalid-policy corpus: every file under tests/corpus/invalid/ must fail with exactly
 * the diagnostics recorded in expected.json (location, key path, message and hint).
 */
import assert from "node:assert/strict";
import { formatDiagnostic, loadPolicy, PolicyError } from "../mod.ts";

const dir = new URL("./corpus/invalid/", import.meta.url).pathname;
const expected: Record<string, string[]> = JSON.parse(Deno.readTextFileSync(`${dir}expected.json`));
const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".yaml"))
  .sort();

Deno.test("the corpus has at least 40 invalid policies, each with expectations", () => {
  assert.ok(files.length >= 40, `only ${files.length} files`);
  assert.deepEqual(files, Object.keys(expected).sort());
});

for (const name of files) {
  Deno.test(`invalid policy ${name} gives its exact diagnostics`, async () => {
    const error = await loadPolicy(`${dir}${name}`).then(() => undefined, (e) => e);
    assert.ok(error instanceof PolicyError, `${name} was accepted (or failed otherwise: ${error})`);
    const got = error.diagnostics.map((d) =>
      formatDiagnostic(d).replaceAll(dir, "CORPUS/").replace(/^CORPUS\//, "")
    );
    assert.deepEqual(got, expected[name]);
  });
}
