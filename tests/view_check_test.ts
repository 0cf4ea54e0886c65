/**
 * `check` gives located errors for every filesystem-view rule (file:line:col, key path,
 * message, hint), with no stack trace.
 */
import assert from "node:assert/strict";
import { charter, tempDir, writePolicy } from "./helpers.ts";

const HEAD = "version: 1\nname: x\ntarget: { exe: /bin/true }\n";

interface Case {
  /** The policy text after HEAD (line 4 on); `DIR` is replaced by a temporary directory. */
  yaml: string;
  /** Each expected problem as "line:col: path: message prefix". */
  problems: string[];
  hint?: string;
}

const CASES: Record<string, Case> = {
  "a relative files target": {
    yaml: "filesystem:\n  view: listed\n  files: { etc/hosts: { content: x } }\n",
    problems: ["6:12: filesystem.files.etc/hosts: not an absolute path"],
  },
  "a non-normalized mounts target, with the normalized form": {
    yaml: "filesystem:\n  view: listed\n  mounts: [{ source: /usr, target: /data/../srv/ }]\n",
    problems: [
      '6:36: filesystem.mounts.0.target: not a normalized path (expected no "//", ".", ".." or trailing "/", got "/data/../srv/"; did you mean "/srv"?)',
    ],
  },
  "a non-normalized hide entry": {
    yaml: "filesystem:\n  view: host\n  hide: [/run//docker.sock]\n",
    problems: ["6:10: filesystem.hide.0: not a normalized path"],
  },
  "hide under a listed view": {
    yaml: "filesystem:\n  view: listed\n  hide: [/run]\n",
    problems: ["6:10: filesystem.hide: hide is for view: host"],
    hint: "remove it from hide, or set filesystem.view: host",
  },
  "listed-only keys under a host view": {
    yaml:
      "filesystem:\n  view: host\n  tmp: 1MiB\n  files: { /etc/x: { content: x } }\n  mounts: [{ source: /usr, target: /data }]\n",
    problems: [
      "6:8: filesystem.tmp: tmp needs view: listed",
      "7:10: filesystem.files: files needs view: listed",
      "8:11: filesystem.mounts: mounts needs view: listed",
    ],
    hint: "set filesystem.view: listed, or remove it",
  },
  "proc without a pid namespace": {
    yaml: "namespaces: { pid: false }\nfilesystem: { view: listed, proc: true }\n",
    problems: ["5:35: filesystem.proc: proc needs a pid namespace"],
    hint: "add namespaces: { pid: true }, or set proc: false",
  },
  "a mounts source that does not exist": {
    yaml:
      "filesystem:\n  view: listed\n  mounts:\n    - { source: /nonexistent-charter-source, target: /data }\n",
    problems: [
      "7:7: filesystem.mounts: mounts.0.source /nonexistent-charter-source does not exist",
    ],
  },
  "two mounts at one target": {
    yaml:
      "filesystem:\n  view: listed\n  mounts:\n    - { source: /usr, target: /data }\n    - { source: /etc, target: /data }\n",
    problems: [
      "8:7: filesystem.mounts: the mount of /etc and the mount of /usr are both at /data in the view",
    ],
  },
  "a files target at a mounts target": {
    yaml:
      "filesystem:\n  view: listed\n  mounts: [{ source: /usr, target: /data }]\n  files: { /data: { content: x } }\n",
    problems: ["7:30: filesystem.files./data.content: the file /data and the mount of /usr"],
  },
  "a listed path at the private /tmp": {
    yaml: "filesystem:\n  view: listed\n  read: [/tmp]\n",
    problems: ["6:10: filesystem.read: filesystem.read /tmp and the private /tmp are both at /tmp"],
    hint: "keep one of them (with tmp, proc or dev, set that key to false or none)",
  },
  "a files target under a writable listed directory": {
    yaml: "filesystem:\n  view: listed\n  write: [DIR]\n  files: { DIR/x: { content: x } }\n",
    problems: ["7:"],
  },
  "a files target under a writable mount": {
    yaml:
      "filesystem:\n  view: listed\n  mounts: [{ source: DIR, target: /data, write: true }]\n  files: { /data/x: { content: x } }\n",
    problems: [
      "7:32: filesystem.files./data/x.content: the file /data/x is at /data/x, under the mount of",
    ],
    hint: "choose a target outside writable directories",
  },
  "a mounts target under /proc or /dev": {
    yaml:
      "filesystem:\n  view: listed\n  mounts:\n    - { source: /usr, target: /proc/sys }\n    - { source: /usr, target: /dev/shm }\n",
    problems: [
      "7:7: filesystem.mounts: the mount of /usr is at /proc/sys, under /proc",
      "8:7: filesystem.mounts: the mount of /usr is at /dev/shm, under /dev",
    ],
  },
  "a files target under a symlink the view recreates": {
    yaml:
      "filesystem:\n  view: listed\n  read: [DIR/link/sub]\n  files: { DIR/link/x: { content: x } }\n",
    problems: ["7:"],
    hint: "name the target by its resolved path",
  },
  "a mounts target at the view's root": {
    yaml: "filesystem:\n  view: listed\n  mounts: [{ source: /usr, target: / }]\n",
    problems: ["6:12: filesystem.mounts: the mount of /usr would show the host's whole tree"],
  },
  "the host's root listed in a listed view": {
    yaml: "filesystem:\n  view: listed\n  read: [/]\n",
    problems: ["6:10: filesystem.read: filesystem.read / would show the host's whole tree"],
    hint: "use filesystem.view: host for that, or list the directories the child needs",
  },
  "a listed path under a mounts target": {
    yaml:
      "filesystem:\n  view: listed\n  read: [/usr/share/doc]\n  mounts: [{ source: /etc, target: /usr/share }]\n",
    problems: [
      "6:10: filesystem.read: filesystem.read /usr/share/doc is at /usr/share/doc, under the mount of /etc at /usr/share",
    ],
  },
  "a listed path through a symlink under a mounts target": {
    yaml:
      "filesystem:\n  view: listed\n  read: [DIR/link/sub]\n  mounts: [{ source: /etc, target: DIR }]\n",
    problems: [
      "6:10: filesystem.read: filesystem.read DIR/link/sub goes through the symlink DIR/link",
      "6:10: filesystem.read: filesystem.read DIR/link/sub is at DIR/real/sub, under the mount",
    ],
  },
  "a files target missing from a read-only listed directory": {
    yaml: "filesystem:\n  view: listed\n  read: [DIR]\n  files: { DIR/absent: { content: x } }\n",
    problems: ["7:"],
    hint: "choose a target that exists there, or outside it",
  },
  "a cwd outside the view": {
    yaml: "filesystem:\n  view: listed\n",
    problems: ["3:"],
    hint:
      "add it (or a directory above it) to filesystem.read or filesystem.write, or use /tmp or /",
  },
};

for (const [name, c] of Object.entries(CASES)) {
  Deno.test(`check reports ${name}`, async () => {
    using dir = tempDir();
    const head = name === "a cwd outside the view"
      ? HEAD.replace("/bin/true }", `/bin/true, cwd: ${dir} }`)
      : HEAD;
    Deno.mkdirSync(`${dir}/real/sub`, { recursive: true });
    Deno.symlinkSync("real", `${dir}/link`);
    const file = writePolicy(String(dir), "p.yaml", head + c.yaml.replaceAll("DIR", String(dir)));
    const r = await charter(["check", file]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith(file));
    assert.equal(lines.length, c.problems.length, r.stderr);
    c.problems.map((p) => p.replaceAll("DIR", String(dir))).forEach((p, i) =>
      assert.ok(lines[i].startsWith(`${file}:${p}`), `${lines[i]}\n!= ${p}`)
    );
    if (c.hint) assert.ok(r.stderr.includes(`hint: ${c.hint}`), r.stderr);
    assert.ok(!r.stderr.includes("    at "), "no stack trace");
  });
}

Deno.test("check accepts a listed view whose entries nest properly", async () => {
  using dir = tempDir();
  Deno.mkdirSync(`${dir}/work/out`, { recursive: true });
  Deno.writeTextFileSync(`${dir}/work/hosts`, "");
  const file = writePolicy(
    String(dir),
    "p.yaml",
    `${HEAD.replace("/bin/true }", `/bin/true, cwd: ${dir}/work }`)}filesystem:
  view: listed
  read: [${dir}/work]
  write: [${dir}/work/out, /tmp/charter-out]
  files: { ${dir}/work/hosts: { content: "127.0.0.1 localhost\\n" } }
  mounts: [{ source: /usr/share, target: /data }]
`,
  );
  const r = await charter(["check", file]);
  assert.equal(r.code, 0, r.stderr);
  for (const cwd of ["/", "/tmp", "/data/doc"]) {
    const at = writePolicy(
      String(dir),
      "cwd.yaml",
      Deno.readTextFileSync(file).replace(`cwd: ${dir}/work }`, `cwd: ${cwd} }`),
    );
    const ok = await charter(["check", at]);
    assert.equal(ok.code, 0, `${cwd}: ${ok.stderr}`);
  }
});
