/**
 * Hostile inputs to `charter check`: each gets a located error and exit 1, quickly, with
 * no stack trace, a short message that never echoes a file's contents or a huge value,
 * and bounded memory (the CLI runs with a 256 MiB V8 heap limit here).
 */
import assert from "node:assert/strict";
import { ROOT, tempDir } from "./helpers.ts";

const TARGET = "target: { exe: /bin/true }\n";
const nested = (open: string, close: string, depth: number) =>
  open.repeat(depth) + "1" + close.repeat(depth);

/** name → [file contents or a special, what the message must say]. */
const CASES: Record<string, [string | ((dir: string) => string), RegExp]> = {
  "alias bomb": [
    "version: 1\nname: x\n" + TARGET + "a: &a [x, x, x, x, x, x, x, x, x]\n" +
    "bcdefghi".split("").map((c, i) => {
      const prev = i === 0 ? "a" : "bcdefghi"[i - 1];
      return `${c}: &${c} [${Array(9).fill(`*${prev}`).join(", ")}]\n`;
    }).join(""),
    /:\d+:\d+: YAML aliases expand to too many values/,
  ],
  "deep flow nesting": [
    "version: 1\nname: x\n" + TARGET + "x: " + nested("[", "]", 100_000) + "\n",
    /:4:\d+: YAML nesting is too deep/,
  ],
  "deep map nesting": [
    "version: 1\nname: x\n" + TARGET + "x: " + nested("{a: ", "}", 50_000) + "\n",
    /:4:\d+: YAML nesting is too deep/,
  ],
  "huge numbers": [
    "version: 1e400\nname: x\n" + TARGET + "limits: { nofile: 1" + "0".repeat(400) + " }\n",
    /:1:10: version: unsupported policy version \(expected 1, got Infinity\)/,
  ],
  "NUL bytes": ["version: 1\nname: x\0y\n" + TARGET, /:2:7: name: .*\\u0000/],
  "binary junk": [
    (dir) => {
      Deno.writeFileSync(`${dir}/p.yaml`, Uint8Array.from({ length: 4096 }, (_, i) => i * 7 % 256));
      return `${dir}/p.yaml`;
    },
    /:1:1: .* is not UTF-8 text/,
  ],
  "a file over the size limit": [
    "version: 1\nname: x\n" + TARGET + "# padding\n".repeat(1_000_000),
    /:1:1: cannot read .* \(it is larger than 8 MiB, the limit for this file\)/,
  ],
  "a 5 MB value": [
    `version: 1\nname: "${"A".repeat(5_000_000)}"\n` + TARGET,
    /:2:7: name: .*"AAAA[A]*…" \(5000000 characters\)/,
  ],
  "extends /dev/zero": [
    `version: 1\nname: x\nextends: [/dev/zero]\n` + TARGET,
    /:3:\d+: extends\.0: cannot read \/dev\/zero \(it is a character device, not a regular file\)/,
  ],
  "extends /dev/urandom": [
    `version: 1\nname: x\nextends: [/dev/urandom]\n` + TARGET,
    /extends\.0: cannot read \/dev\/urandom \(it is a character device/,
  ],
  "extends a FIFO": [
    (dir) => {
      new Deno.Command("mkfifo", { args: [`${dir}/fifo.yaml`] }).outputSync();
      Deno.writeTextFileSync(
        `${dir}/p.yaml`,
        `version: 1\nname: x\nextends: [fifo.yaml]\n` + TARGET,
      );
      return `${dir}/p.yaml`;
    },
    /extends\.0: cannot read .*fifo\.yaml \(it is a FIFO, not a regular file\)/,
  ],
  "extends /proc/self/environ": [
    `version: 1\nname: x\nextends: [/proc/self/environ]\n` + TARGET,
    /extends\.0: cannot read \/proc\/self\/environ \(.*pseudo-file\)/,
  ],
};

for (const [name, [input, expected]] of Object.entries(CASES)) {
  Deno.test(`hostile input: ${name} gets a located error, no trace, no hang`, async () => {
    using dir = tempDir();
    const file = typeof input === "function" ? input(dir) : `${dir}/p.yaml`;
    if (typeof input === "string") Deno.writeTextFileSync(file, input);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        "--v8-flags=--max-old-space-size=256",
        `${ROOT}/cli.ts`,
        "check",
        file,
      ],
      stdin: "null",
      env: { SECRET_CANARY: "canary-in-the-environment" },
      signal: AbortSignal.timeout(60_000),
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, stderr.slice(0, 2000));
    assert.match(stderr, expected);
    assert.doesNotMatch(stderr, /^\s+at /m, "a stack trace");
    assert.doesNotMatch(stderr, /canary-in-the-environment/, "a file's contents were echoed");
    assert.ok(stderr.length < 2000, `${stderr.length} bytes of diagnostics`);
  });
}
