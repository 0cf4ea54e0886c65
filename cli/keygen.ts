/**
 * `charter keygen -o NAME`: an Ed25519 key pair as NAME.key (0600) and NAME.pub.
 *
 * @module
 */
import { exportKeyPair, generateSigningKey } from "../crypto/keys.ts";
import { parseCommand, stringFlag } from "./args.ts";
import type { Command } from "./command.ts";

/** The keygen command. */
export const keygenCommand: Command = {
  name: "keygen",
  help: `Usage: charter keygen -o NAME

Writes NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub (SPKI PEM). Sign plans with the
.key file (compile --key); launchers trust the .pub file (launch --trust).

Options:
  -o, --out NAME   path prefix of the two files (required)
  -h, --help       show this help`,
  async run(argv) {
    const args = parseCommand(argv, { out: { type: "string", short: "o" } });
    if (args.help) return console.log(this.help), 0;
    const out = stringFlag(args.values, "out", true)!;
    const key = await generateSigningKey();
    const { privatePem, publicPem } = await exportKeyPair(key);
    await Deno.writeTextFile(`${out}.key`, privatePem, { mode: 0o600, createNew: true });
    await Deno.writeTextFile(`${out}.pub`, publicPem, { createNew: true });
    console.log(`${out}.key ${out}.pub ${key.publicKey.keyid}`);
    return 0;
  },
};
