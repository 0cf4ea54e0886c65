/**
 * Review R2: a transcript file the child cannot write, in a directory it can (a 0777
 * directory under the policy's `write`, shown by a writable bind of the view), was accepted;
 * the child unlinked it and put its own records at the path, so the file the launcher left
 * behind was the child's. `launch` now counts the directory too and refuses (125).
 */
import assert from "node:assert/strict";
import { charter, tempDir, writePolicy } from "./helpers.ts";

Deno.test("root: a transcript file the child could replace through its directory is refused (125)", async () => {
  using dir = tempDir();
  const w = `${dir}/w`;
  Deno.mkdirSync(w);
  Deno.chmodSync(w, 0o777);
  const transcript = `${w}/t.jsonl`;
  Deno.writeTextFileSync(transcript, "", { mode: 0o644 });
  const replace = `import os
os.unlink(${JSON.stringify(transcript)})
open(${JSON.stringify(transcript)}, "w").write("forged\\n")`;
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    `version: 1
name: replace
extends: [builtin:python]
target: { exe: /usr/bin/python3, argv: [python3, -c, ${JSON.stringify(replace)}] }
filesystem: { write: [${w}] }
`,
  );
  const r = await charter(["launch", policy, "--no-seal", "--transcript", transcript]);
  assert.equal(r.code, 125, r.stderr);
  assert.match(
    r.stderr,
    /could write the transcript file .*w\/t\.jsonl \(the child's uid 65534 may write its directory/,
  );
  assert.equal(Deno.readTextFileSync(transcript), "", "the child ran and replaced the file");
  // A sticky directory keeps root's file out of the child's reach: the launch runs, and the
  // child's unlink fails.
  Deno.chmodSync(w, 0o1777);
  const sticky = await charter(["launch", policy, "--no-seal", "--transcript", transcript]);
  assert.equal(sticky.code, 1, sticky.stderr);
  assert.match(sticky.stderr, /PermissionError/);
  assert.notEqual(Deno.readTextFileSync(transcript), "forged\n");
});

Deno.test("root: a transcript named by a relative path is judged in the launcher's cwd (125)", async () => {
  // Mend review: a path without a slash was judged as if it lay in `/`, so the same file
  // named relatively slipped past the refusal above.
  using dir = tempDir();
  const w = `${dir}/w`;
  Deno.mkdirSync(w);
  Deno.chmodSync(w, 0o777);
  Deno.writeTextFileSync(`${w}/t.jsonl`, "", { mode: 0o644 });
  const replace = `import os
os.unlink("t.jsonl")
open("t.jsonl", "w").write("forged\\n")`;
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    `version: 1
name: replace
extends: [builtin:python]
target: { exe: /usr/bin/python3, argv: [python3, -c, ${JSON.stringify(replace)}], cwd: ${w} }
filesystem: { write: [${w}] }
`,
  );
  const r = await charter(["launch", policy, "--no-seal", "--transcript", "t.jsonl"], { cwd: w });
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /could write the transcript file .*w\/t\.jsonl \(the child's uid 65534/);
  assert.equal(Deno.readTextFileSync(`${w}/t.jsonl`), "", "the child ran and replaced the file");
});
