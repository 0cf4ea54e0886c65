/**
 * The default `listed` view under the real kernel and the real shim, as root and as uid
 * 65534: programs run with only what the policy names in their tree; unlisted paths (and
 * pathname UNIX sockets) do not exist; /tmp is private; writes under `write` land on the
 * host; `files` and `mounts` are exactly what the plan says; the transcript verifies.
 */
import assert from "node:assert/strict";
import { charter, readTranscript, tempDir, transcriptFile, writePolicy } from "./helpers.ts";

const WHO = [["root", {}], ["unprivileged", { unprivileged: true }]] as const;

/** The python script: prints one JSON object of what the child observed. */
const PROBE = `
import errno, json, os, socket, stat, sys
d = sys.argv[1]
out = {}
def err(f):
    try:
        f()
        return 0
    except OSError as e:
        return e.errno
out["statPasswd"] = err(lambda: os.stat("/etc/passwd"))
out["statHostDir"] = err(lambda: os.stat(d + "/unlisted"))
s = socket.socket(socket.AF_UNIX)
out["connect"] = err(lambda: s.connect(d + "/sock"))
out["tmp"] = sorted(os.listdir("/tmp"))
open("/tmp/scratch", "w").write("x")
out["tmpAfter"] = sorted(os.listdir("/tmp"))
open(d + "/out/written", "w").write("from the child")
out["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
out["dev"] = sorted(os.listdir("/dev"))
out["blockDevices"] = [n for n in os.listdir("/dev") if stat.S_ISBLK(os.lstat("/dev/" + n).st_mode)]
out["file"] = open("/etc/charter-file").read()
out["fileWrite"] = err(lambda: open("/etc/charter-file", "w"))
out["roMount"] = err(lambda: open("/data-ro/x", "w"))
open("/data-rw/x", "w").write("rw")
out["roMountRead"] = open("/data-ro/present").read()
print(json.dumps(out))
`;

for (const [who, options] of WHO) {
  Deno.test(`view (${who}): a default policy runs /bin/echo in the listed view`, async () => {
    using dir = tempDir();
    const policy = writePolicy(
      String(dir),
      "p.yaml",
      "version: 1\nname: echo\ntarget: { exe: /bin/echo, argv: [echo, hi] }\n",
    );
    const t = transcriptFile();
    const r = await charter(["launch", policy, "--no-seal", "--transcript", t], options);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hi\n");
    const phase2 = readTranscript(t).find((x) => x.event === "phase_resolved" && x.phase === 2);
    const view = (phase2?.details as { view: { mode: string; mounts: unknown[] } }).view;
    assert.equal(view.mode, "listed");
    const explained = await charter(["explain", policy]);
    assert.match(explained.stdout, /listed view: a private mount namespace .*<- default$/m);
  });

  Deno.test(`view (${who}): python3 sees only what the policy names`, async () => {
    using dir = tempDir();
    for (const sub of ["out", "unlisted", "ro", "rw"]) {
      Deno.mkdirSync(`${dir}/${sub}`);
      Deno.chmodSync(`${dir}/${sub}`, 0o777);
    }
    Deno.writeTextFileSync(`${dir}/ro/present`, "host file");
    const listener = Deno.listen({ transport: "unix", path: `${dir}/sock` });
    Deno.chmodSync(`${dir}/sock`, 0o777);
    try {
      const policy = writePolicy(
        String(dir),
        "p.yaml",
        `version: 1
name: py
target:
  exe: /usr/bin/python3
  argv: [python3, -c, ${JSON.stringify(PROBE)}, ${dir}]
network: { protocols: [unix] }
filesystem:
  view: listed
  read: [/usr/lib, /usr/lib64, /lib, /lib64, /etc/ld.so.cache]
  write: [/dev/null, ${dir}/out]
  files: { /etc/charter-file: { content: "exact\\ncontent" } }
  mounts:
    - { source: ${dir}/ro, target: /data-ro }
    - { source: ${dir}/rw, target: /data-rw, write: true }
`,
      );
      const t = transcriptFile();
      const plan = `${dir}/plan.json`;
      const r = await charter(
        ["launch", policy, "--no-seal", "--transcript", t, "--plan-out", plan],
        options,
      );
      assert.equal(r.code, 0, r.stderr);
      const seen = JSON.parse(r.stdout);
      // Unlisted: not there at all (ENOENT), not merely denied; the socket too, though the
      // policy allows UNIX sockets.
      assert.equal(seen.statPasswd, 2);
      assert.equal(seen.statHostDir, 2);
      assert.equal(seen.connect, 2);
      assert.deepEqual(seen.tmp, [`${dir}`.split("/")[2]]);
      assert.deepEqual(seen.tmpAfter, [`${dir}`.split("/")[2], "scratch"].sort());
      assert.equal(Deno.readTextFileSync(`${dir}/out/written`), "from the child");
      assert.ok(seen.pids.length <= 2 && seen.pids[0] === 1, `pids ${seen.pids}`);
      assert.deepEqual(seen.blockDevices, []);
      for (const d of ["null", "zero", "full", "random", "urandom", "tty"]) {
        assert.ok(seen.dev.includes(d), d);
      }
      assert.equal(seen.file, "exact\ncontent");
      assert.ok([13, 30].includes(seen.fileWrite), `file write: ${seen.fileWrite}`);
      assert.ok([13, 30].includes(seen.roMount), `ro mount write: ${seen.roMount}`);
      assert.equal(seen.roMountRead, "host file");
      assert.equal(Deno.readTextFileSync(`${dir}/rw/x`), "rw");
      // The private /tmp is gone: nothing of it reached the host's.
      assert.throws(() => Deno.statSync("/tmp/scratch"));
      const v = await charter(
        ["transcript", "verify", "--allow-unsealed", t, "--plan", plan],
        options,
      );
      assert.equal(v.code, 0, v.stderr + v.stdout);
    } finally {
      listener.close();
    }
  });
}
