import assert from "node:assert/strict";
import { readPlan } from "../audit/verify_plan.ts";
import { EnvelopeError } from "../crypto/dsse.ts";
import { readTrustedKeys } from "../crypto/keys.ts";
import {
  charter,
  charterArgv,
  compile,
  keygen,
  run,
  shPolicy,
  tempDir,
  writePolicy,
} from "./helpers.ts";

Deno.test("the same policy compiled twice gives identical bytes", async () => {
  using dir = tempDir();
  const { key } = await keygen(String(dir));
  const policy = writePolicy(String(dir), "p.yaml", shPolicy("exit 0"));
  const outs: Uint8Array[] = [];
  for (const name of ["a.json", "b.json"]) {
    const r = await charter(["compile", policy, "-o", `${dir}/${name}`, "--key", key], {
      env: { SOURCE_DATE_EPOCH: "1700000000" },
    });
    assert.equal(r.code, 0, r.stderr);
    outs.push(Deno.readFileSync(`${dir}/${name}`));
  }
  assert.deepEqual(outs[0], outs[1]);
  const statement = JSON.parse(new TextDecoder().decode(outs[0]));
  assert.equal(statement.payloadType, "application/vnd.in-toto+json");
});

Deno.test("the plan records the target digest, schedule and policy file digest", async () => {
  using dir = tempDir();
  const { key, pub } = await keygen(String(dir));
  const policy = writePolicy(String(dir), "p.yaml", shPolicy("exit 0", "fds: { pass: [9, 4] }\n"));
  const plan = await readPlan(
    Deno.readFileSync(await compile(policy, key, String(dir))),
    await readTrustedKeys([pub]),
  );
  const p = plan.statement.predicate;
  const sh = await crypto.subtle.digest("SHA-256", Deno.readFileSync("/bin/sh"));
  const hex = Array.from(new Uint8Array(sh), (b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(p.target.sha256, hex);
  assert.equal(plan.statement.subject[0].digest.sha256, hex);
  assert.deepEqual(p.schedule.find((s) => s.id === "linux.scrub.fds.v1"), {
    id: "linux.scrub.fds.v1",
    phase: 3,
    keep: [4, 9],
  });
  assert.equal(p.resolvedDependencies[0].name, "p.yaml");
  const policyDigest = await crypto.subtle.digest("SHA-256", Deno.readFileSync(policy));
  assert.equal(
    p.resolvedDependencies[0].digest.sha256,
    Array.from(new Uint8Array(policyDigest), (b) => b.toString(16).padStart(2, "0")).join(""),
  );
});

Deno.test("compile of a missing target is a located error", async () => {
  using dir = tempDir();
  const { key } = await keygen(String(dir));
  const policy = writePolicy(
    String(dir),
    "p.yaml",
    "version: 1\nname: x\ntarget:\n  exe: /nonexistent/prog\n",
  );
  const r = await charter(["compile", policy, "-o", `${dir}/plan.json`, "--key", key]);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr.split("\n")[0],
    `${policy}:4:8: target.exe: /nonexistent/prog does not exist`,
  );
  assert.ok(r.stderr.includes("hint:"));
});

Deno.test("a plan verifies only with its signer's key", async () => {
  using dir = tempDir();
  const { key, pub } = await keygen(String(dir));
  const other = await keygen(String(dir), "other");
  const plan = Deno.readFileSync(
    await compile(writePolicy(String(dir), "p.yaml", shPolicy("exit 0")), key, String(dir)),
  );
  await readPlan(plan, await readTrustedKeys([pub]));
  const otherKeys = await readTrustedKeys([other.pub]);
  await assert.rejects(
    () => readPlan(plan, otherKeys),
    (e) => e instanceof EnvelopeError && e.code === "signature_invalid",
  );
  const ok = await charter(["verify", `${dir}/plan.dsse.json`, "--trust", pub]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /\/bin\/sh \(sha256 [0-9a-f]{64}\)/);
  const bad = await charter(["verify", `${dir}/plan.dsse.json`, "--trust", other.pub]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /signature_invalid/);
});

Deno.test("an expired plan is refused by verify", async () => {
  using dir = tempDir();
  const { key, pub } = await keygen(String(dir));
  const plan = await compile(
    writePolicy(String(dir), "p.yaml", shPolicy("exit 0")),
    key,
    String(dir),
    ["--not-after", "2001-01-01T00:00:00Z"],
  );
  const r = await charter(["verify", plan, "--trust", pub]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /plan_expired/);
});

Deno.test("--trust takes a directory of public keys; any of them may have signed", async () => {
  using dir = tempDir();
  Deno.mkdirSync(`${dir}/keys`);
  const a = await keygen(`${dir}/keys`, "a");
  await keygen(`${dir}/keys`, "b");
  Deno.removeSync(a.key);
  const { key } = await keygen(String(dir), "signer");
  Deno.renameSync(`${dir}/signer.pub`, `${dir}/keys/signer.pub`);
  const plan = await compile(
    writePolicy(String(dir), "p.yaml", shPolicy("exit 4")),
    key,
    String(dir),
  );
  const v = await charter(["verify", plan, "--trust", `${dir}/keys`]);
  assert.equal(v.code, 0, v.stderr);
  const r = await charter(["launch", plan, "--trust", `${dir}/keys`]);
  assert.equal(r.code, 4, r.stderr);
  Deno.removeSync(`${dir}/keys/signer.pub`);
  assert.equal((await charter(["launch", plan, "--trust", `${dir}/keys`])).code, 125);
});

Deno.test("compile hashes a large target in bounded memory (512 MiB target, < 200 MB peak RSS)", async () => {
  using dir = tempDir();
  const exe = `${dir}/big`;
  // A sparse file: every byte is hashed, none is stored on disk.
  using file = Deno.openSync(exe, { write: true, create: true, mode: 0o755 });
  file.truncateSync(512 * 1024 * 1024);
  Deno.chmodSync(exe, 0o755);
  const { key } = await keygen(String(dir));
  Deno.writeTextFileSync(`${dir}/p.yaml`, `version: 1\nname: big\ntarget: { exe: ${exe} }\n`);
  const argv = charterArgv(["compile", `${dir}/p.yaml`, "-o", `${dir}/plan.json`, "--key", key]);
  // python3 reports the peak RSS of the finished child (KiB).
  const r = await run("python3", [
    "-c",
    "import resource, subprocess, sys; c = subprocess.run(sys.argv[1:]).returncode; " +
    "print(c, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
    ...argv,
  ]);
  const [code, maxRssKiB] = r.stdout.trim().split(" ").map(Number);
  assert.equal(code, 0, r.stderr);
  assert.ok(maxRssKiB < 200 * 1024, `peak RSS ${maxRssKiB} KiB`);
});

/** A minimal ELF executable of the given class and byte order with one PT_INTERP header. */
function elfWithInterp(interp: string, wide: boolean, little: boolean): Uint8Array {
  const path = new TextEncoder().encode(`${interp}\0`);
  const ehsize = wide ? 64 : 52;
  const phentsize = wide ? 56 : 32;
  const bytes = new Uint8Array(ehsize + phentsize + path.length);
  const view = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, wide ? 2 : 1, little ? 1 : 2, 1]);
  const word = (at: number, v: number) =>
    wide ? view.setBigUint64(at, BigInt(v), little) : view.setUint32(at, v, little);
  view.setUint16(16, 3, little); // ET_DYN
  word(wide ? 0x20 : 0x1c, ehsize); // e_phoff
  view.setUint16(wide ? 0x36 : 0x2a, phentsize, little);
  view.setUint16(wide ? 0x38 : 0x2c, 1, little);
  view.setUint32(ehsize, 3, little); // PT_INTERP
  word(ehsize + (wide ? 0x08 : 0x04), ehsize + phentsize); // p_offset
  word(ehsize + (wide ? 0x20 : 0x10), path.length); // p_filesz
  bytes.set(path, ehsize + phentsize);
  return bytes;
}

Deno.test("the interpreter of a 32-bit or big-endian ELF is pinned like any other", async () => {
  using dir = tempDir();
  const { key } = await keygen(String(dir));
  for (const [name, wide, little] of [["elf32", false, true], ["elf64be", true, false]] as const) {
    const exe = `${dir}/${name}`;
    Deno.writeFileSync(exe, elfWithInterp("/bin/sh", wide, little), { mode: 0o755 });
    Deno.chmodSync(exe, 0o755);
    const policy = writePolicy(
      String(dir),
      `${name}.yaml`,
      `version: 1\nname: e\ntarget: { exe: ${exe} }\n`,
    );
    const plan = await compile(policy, key, String(dir));
    const { statement } = await readPlan(Deno.readFileSync(plan));
    // /bin/sh, then its own ld.so.
    assert.equal(statement.predicate.target.interpreters?.[0].path, "/bin/sh", name);
  }
});

Deno.test("a #! line is read as the kernel reads it: a form feed is part of the name", async () => {
  using dir = tempDir();
  const { key } = await keygen(String(dir));
  const odd = `${dir}/odd.sh`;
  Deno.writeTextFileSync(odd, "#!\f/bin/sh\necho hi\n", { mode: 0o755 });
  Deno.chmodSync(odd, 0o755);
  const policy = writePolicy(
    String(dir),
    "odd.yaml",
    `version: 1\nname: o\ntarget: { exe: ${odd} }\n`,
  );
  const r = await charter(["compile", policy, "-o", `${dir}/o.json`, "--key", key]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /target\.exe: .*names a relative interpreter \\f\/bin\/sh|relative interpreter/,
  );
  // Spaces and tabs before the name are skipped, as the kernel does.
  const spaced = `${dir}/spaced.sh`;
  Deno.writeTextFileSync(spaced, "#! \t/bin/sh -e\necho hi\n", { mode: 0o755 });
  Deno.chmodSync(spaced, 0o755);
  const ok = writePolicy(
    String(dir),
    "spaced.yaml",
    `version: 1\nname: s\ntarget: { exe: ${spaced} }\n`,
  );
  const plan = await compile(ok, key, String(dir));
  const { statement } = await readPlan(Deno.readFileSync(plan));
  assert.equal(statement.predicate.target.interpreters?.[0].path, "/bin/sh");
});
