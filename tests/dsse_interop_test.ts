/**
 * DSSE interoperability: an envelope re-encoded by an independent tool (Python's base64
 * module) the way the spec allows — URL-safe alphabet, no padding, no `keyid`, an extra
 * field — still verifies in TypeScript (`verify`) and in the shim (`launch`), while a
 * re-encoding that changes a signed byte is still refused.
 */
import assert from "node:assert/strict";
import { charter, compile, keygen, run, shPolicy, tempDir, writePolicy } from "./helpers.ts";

const REENCODE = `
import base64, json, sys
env = json.load(open(sys.argv[1]))
def url(text, flip):
    raw = bytearray(base64.b64decode(text, validate=True))
    if flip: raw[-1] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
flip = sys.argv[3] == "flip"
out = {"payloadType": env["payloadType"], "payload": url(env["payload"], flip),
       "signatures": [{"sig": url(s["sig"], False)} for s in env["signatures"]],
       "comment": "re-encoded by python3"}
json.dump(out, open(sys.argv[2], "w"))
`;

async function reencode(plan: string, out: string, mode: "same" | "flip") {
  const r = await run("python3", ["-c", REENCODE, plan, out, mode]);
  assert.equal(r.code, 0, r.stderr);
}

Deno.test("dsse: a URL-safe, unpadded, keyid-less envelope verifies and launches", async () => {
  using dir = tempDir();
  const { key, pub } = await keygen(dir);
  const plan = await compile(
    writePolicy(dir, "p.yaml", shPolicy("echo interop")),
    key,
    dir,
  );
  const other = `${dir}/reencoded.json`;
  await reencode(plan, other, "same");
  assert.notEqual(Deno.readTextFileSync(other), Deno.readTextFileSync(plan));
  const verified = await charter(["verify", other, "--trust", pub]);
  assert.equal(verified.code, 0, verified.stderr);
  const launched = await charter(["launch", other, "--trust", pub]);
  assert.equal(launched.code, 0, launched.stderr);
  assert.equal(launched.stdout, "interop\n");
});

Deno.test("dsse: a re-encoding that changes a signed byte is refused by verify and the shim", async () => {
  using dir = tempDir();
  const { key, pub } = await keygen(dir);
  const plan = await compile(writePolicy(dir, "p.yaml", shPolicy("echo never")), key, dir);
  const other = `${dir}/flipped.json`;
  await reencode(plan, other, "flip");
  const verified = await charter(["verify", other, "--trust", pub]);
  assert.equal(verified.code, 1, verified.stderr);
  const launched = await charter(["launch", other, "--trust", pub]);
  assert.equal(launched.code, 125);
  assert.match(launched.stderr, /signature_invalid|plan_invalid/);
  assert.doesNotMatch(launched.stdout, /never/);
});
