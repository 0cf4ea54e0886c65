/**
 * The view's /dev is read-only (review R2): a tmpfs of its own without a size limit and
 * without nodev, it let a child whose Landlock domain did not cover it (enforce.landlock:
 * off, or best_effort on a kernel without Landlock) fill memory through /dev/shm past the
 * size limit of /tmp, and create files among the device nodes. The devices stay usable.
 */
import assert from "node:assert/strict";
import { charter, tempDir, writePolicy } from "./helpers.ts";

const WHO = [["root", {}], ["unprivileged", { unprivileged: true }]] as const;

const PROBE = `
import errno
def attempt(path):
    try:
        open(path, "w").write("x")
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
print(attempt("/dev/shm/fill"), attempt("/dev/new"), attempt("/dev/null"))
`;

for (const [who, options] of WHO) {
  Deno.test(`view /dev (${who}): read-only without Landlock, its devices still writable`, async () => {
    using dir = tempDir();
    const policy = writePolicy(
      String(dir),
      "p.yaml",
      `version: 1
name: dev
target: { exe: /usr/bin/python3, argv: [python3, -c, ${JSON.stringify(PROBE)}] }
enforce: { landlock: off }
`,
    );
    const r = await charter(["launch", policy, "--no-seal"], options);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "EROFS EROFS ok\n");
    const explained = await charter(["explain", policy]);
    assert.match(explained.stdout, /\/dev: .*\(ro,nosuid,noexec\)/);
  });
}
