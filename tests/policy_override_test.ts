/**
 * `enforce: off` in a later `extends` layer must not silently drop an earlier layer's
 * rules: it is an error with file:line:col unless that layer says `override: true`, and
 * `diff` shows what the override gives up.
 */
import assert from "node:assert/strict";
import { charter, tempDir, writePolicy } from "./helpers.ts";

const BASE = `version: 1
name: base
syscalls:
  default: allow
  deny: [getppid]
filesystem:
  read: [/usr]
`;

for (
  const [mechanism, rules] of [["seccomp", "syscalls"], ["landlock", "filesystem"]] as const
) {
  Deno.test(`override: enforce.${mechanism}: off under a layer with ${rules} rules is an error without override: true`, async () => {
    using dir = tempDir();
    writePolicy(String(dir), "base.yaml", BASE);
    const app = (override: string) =>
      `version: 1\nname: app\nextends: [base.yaml]\n${override}target: { exe: /bin/true }\nenforce:\n  ${mechanism}: off\n`;
    const refused = writePolicy(String(dir), "app.yaml", app(""));
    const r = await charter(["check", refused]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stderr,
      new RegExp(
        `^${refused}:6:\\d+: enforce\\.${mechanism}: switching ${mechanism} off drops the ${rules} rules of ${dir}/base\\.yaml\\n  hint: remove it, or add override: true`,
      ),
    );
    const allowed = writePolicy(String(dir), "app2.yaml", app("override: true\n"));
    assert.equal((await charter(["check", allowed])).code, 0);
    // diff shows what the override gave up, as authority added.
    const kept = writePolicy(
      String(dir),
      "kept.yaml",
      "version: 1\nname: app\nextends: [base.yaml]\ntarget: { exe: /bin/true }\n",
    );
    const d = await charter(["diff", kept, allowed]);
    assert.equal(d.code, 1, d.stdout + d.stderr);
    assert.match(d.stdout, /^\+ /m);
  });
}
