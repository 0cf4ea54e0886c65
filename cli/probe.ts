/**
 * `charter probe`: what this kernel and host offer, as the shim sees it.
 *
 * @module
 */
import { Shim } from "../ffi/shim.ts";
import { parseCommand } from "./args.ts";
import type { Command } from "./command.ts";

/** The probe command. */
export const probeCommand: Command = {
  name: "probe",
  help: `Usage: charter probe [--json]

Options:
  --json       print the report as JSON
  -h, --help   show this help`,
  run(argv) {
    const args = parseCommand(argv, { json: { type: "boolean" } });
    if (args.help) return Promise.resolve((console.log(this.help), 0));
    using shim = Shim.open();
    const report = shim.probe();
    if (args.values.json) console.log(JSON.stringify(report, null, 2));
    else {for (const [key, value] of Object.entries(report)) {
        console.log(`${key}: ${JSON.stringify(value)}`);
      }}
    return Promise.resolve(0);
  },
};
