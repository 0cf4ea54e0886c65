/**
 * The policy schema in a real editor backend: yaml-language-server, driven over LSP
 * (stdio, JSON-RPC), resolves the `$schema` modeline of a policy and shows the key table's
 * documentation on hover and in key completion, and completes capability names as values.
 */
import assert from "node:assert/strict";
import { ROOT, tempDir } from "./helpers.ts";

const SERVER = "npm:yaml-language-server@2.0.0";

// deno-lint-ignore no-explicit-any -- LSP messages are read field by field
type Message = Record<string, any>;

/** A minimal LSP client over a child's stdio: requests, notifications, server requests. */
class LspClient implements AsyncDisposable {
  readonly #server: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pending = new Map<number, (message: Message) => void>();
  readonly #reading: Promise<void>;
  #id = 0;

  constructor() {
    this.#server = new Deno.Command(Deno.execPath(), {
      // No lock or config of ours: the server is a test peer, not a dependency of charter.
      args: ["run", "-A", "--quiet", "--no-lock", "--no-config", SERVER, "--stdio"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#writer = this.#server.stdin.getWriter();
    this.#reading = this.#read();
  }

  async #read() {
    const decoder = new TextDecoder();
    let buffer = new Uint8Array();
    for await (const chunk of this.#server.stdout) {
      const joined = new Uint8Array(buffer.length + chunk.length);
      joined.set(buffer);
      joined.set(chunk, buffer.length);
      buffer = joined;
      for (;;) {
        const end = buffer.findIndex((_, i) =>
          buffer[i] === 13 && buffer[i + 1] === 10 && buffer[i + 2] === 13 && buffer[i + 3] === 10
        );
        if (end < 0) break;
        const length = Number(
          /Content-Length: (\d+)/i.exec(decoder.decode(buffer.slice(0, end)))![1],
        );
        if (buffer.length < end + 4 + length) break;
        const message = JSON.parse(decoder.decode(buffer.slice(end + 4, end + 4 + length)));
        buffer = buffer.slice(end + 4 + length);
        if (message.method && message.id !== undefined) {
          // The server asks for settings: none beyond the defaults.
          const result = message.method === "workspace/configuration"
            ? message.params.items.map(() => null)
            : null;
          await this.#send({ id: message.id, result });
        } else if (message.id !== undefined) {
          this.#pending.get(message.id)?.(message);
          this.#pending.delete(message.id);
        }
      }
    }
  }

  #send(message: Message): Promise<void> {
    const body = new TextEncoder().encode(JSON.stringify({ jsonrpc: "2.0", ...message }));
    const head = new TextEncoder().encode(`Content-Length: ${body.length}\r\n\r\n`);
    return this.#writer.write(new Uint8Array([...head, ...body]));
  }

  notify(method: string, params: unknown): Promise<void> {
    return this.#send({ method, params });
  }

  async request(method: string, params: unknown): Promise<Message> {
    const id = ++this.#id;
    const answered = new Promise<Message>((resolve) => this.#pending.set(id, resolve));
    await this.#send({ id, method, params });
    const message = await answered;
    assert.equal(message.error, undefined, JSON.stringify(message.error));
    return message.result;
  }

  async [Symbol.asyncDispose]() {
    await this.#writer.close().catch(() => {});
    this.#server.kill();
    await this.#server.status;
    await this.#reading.catch(() => {});
  }
}

Deno.test("yaml-language-server shows the key docs on hover and completes capabilities", async () => {
  using dir = tempDir();
  await using lsp = new LspClient();
  await lsp.request("initialize", {
    processId: null,
    rootUri: null,
    capabilities: {
      textDocument: {
        hover: { contentFormat: ["markdown", "plaintext"] },
        completion: { completionItem: { documentationFormat: ["markdown", "plaintext"] } },
      },
    },
  });
  await lsp.notify("initialized", {});
  const uri = `file://${dir}/p.yaml`;
  const text = [
    `# yaml-language-server: $schema=file://${ROOT}/schema/policy.schema.json`,
    "version: 1",
    "name: p",
    "target:",
    "  exe: /bin/true",
    "user: { namespace: true }",
    "capabilities:",
    "  - ",
    "",
  ].join("\n");
  await lsp.notify("textDocument/didOpen", {
    textDocument: { uri, languageId: "yaml", version: 1, text },
  });
  const at = (line: number, character: number) => ({
    textDocument: { uri },
    position: { line, character },
  });
  // Hover on `exe`: the row of target.exe in docs/policy-language.md.
  const hover = await lsp.request("textDocument/hover", at(4, 3));
  assert.match(hover.contents.value, /hashed at compile time, re-hashed at launch/);
  // Key completion inside target: each key with its documentation.
  const keys = await lsp.request("textDocument/completion", at(4, 2));
  const argv = keys.items.find((i: Message) => i.label === "argv");
  assert.match(argv.documentation.value, /argv including argv\[0\]/);
  // Value completion in the capabilities list: the capability names.
  const values = await lsp.request("textDocument/completion", at(7, 4));
  const labels = values.items.map((i: Message) => i.label);
  assert.ok(labels.includes("CAP_NET_BIND_SERVICE"), labels.slice(0, 10).join(", "));
  assert.ok(labels.includes("CAP_SYS_ADMIN"));
});
