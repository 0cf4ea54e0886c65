/**
 * Parallel launches appending to one transcript file: each record is one write, so the
 * launches interleave line by line, and `transcript verify` sorts them out by launchId.
 */
import assert from "node:assert/strict";
import {
  charterArgv,
  compile,
  keygen,
  launcherEnv,
  shPolicy,
  tempDir,
  writePolicy,
} from "./helpers.ts";

Deno.test("50 parallel launches into one file: 50 of 50 verify, sealed", async () => {
  using dir = tempDir();
  const { key, pub } = await keygen(String(dir));
  // The child runs as nobody, so the host seal key stays out of its reach; it sleeps so
  // that the launches overlap.
  const plan = await compile(
    writePolicy(
      String(dir),
      "p.yaml",
      shPolicy("sleep 0.3", "user: { namespace: false, uid: 65534, gid: 65534 }\n"),
    ),
    key,
    String(dir),
  );
  const t = `${dir}/t.jsonl`;
  const [cmd, ...args] = charterArgv(["launch", plan, "--trust", pub, "--transcript", t]);
  const runs = await Promise.all(
    Array.from(
      { length: 50 },
      () => new Deno.Command(cmd, { args, env: launcherEnv({}), stderr: "piped" }).output(),
    ),
  );
  for (const r of runs) assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  const ids = Deno.readTextFileSync(t).trim().split("\n").map((l) => JSON.parse(l).launchId);
  assert.equal(new Set(ids).size, 50);
  // The launches really interleave: some launch's records are not contiguous.
  const contiguous = [...new Set(ids)].every((id) =>
    ids.lastIndexOf(id) - ids.indexOf(id) + 1 === ids.filter((i) => i === id).length
  );
  assert.equal(contiguous, false, "the launches did not overlap; the test proves nothing");
  const [vcmd, ...vargs] = charterArgv(["transcript", "verify", t, "--plan", plan, "--trust", pub]);
  const v = await new Deno.Command(vcmd, {
    args: vargs,
    env: launcherEnv({}),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const out = new TextDecoder().decode(v.stdout);
  assert.equal(v.code, 0, new TextDecoder().decode(v.stderr));
  const ok = out.trim().split("\n").filter((l) =>
    /: ok, 13 records, exited with code 0; .*sealed by SHA256:/.test(l)
  );
  assert.equal(ok.length, 50, out);
});
