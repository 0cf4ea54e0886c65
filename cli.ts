/**
 * The `charter` command line: `deno run -A cli.ts <command> [options]`.
 *
 * @module
 */
import { checkCommand } from "./cli/check.ts";
import { type Command, printError } from "./cli/command.ts";
import { compileCommand } from "./cli/compile.ts";
import { diffCommand } from "./cli/diff.ts";
import { explainCommand } from "./cli/explain.ts";
import { keygenCommand } from "./cli/keygen.ts";
import { launchCommand } from "./cli/launch.ts";
import { probeCommand } from "./cli/probe.ts";
import { schemaCommand } from "./cli/schema.ts";
import { transcriptExportCommand, transcriptVerifyCommand } from "./cli/transcript.ts";
import { verifyCommand } from "./cli/verify.ts";
import { UsageError } from "./cli/args.ts";
import { EnvelopeError } from "./crypto/dsse.ts";
import { KeyError } from "./crypto/keys.ts";
import { ShimUnavailableError } from "./ffi/shim.ts";
import { formatDiagnostic, PolicyError } from "./policy/diagnostic.ts";

const COMMANDS: Command[] = [
  checkCommand,
  compileCommand,
  launchCommand,
  verifyCommand,
  explainCommand,
  diffCommand,
  keygenCommand,
  transcriptVerifyCommand,
  transcriptExportCommand,
  probeCommand,
  schemaCommand,
];

const HELP = `Usage: charter <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(19)} ${c.summary}`).join("\n")}

Run "charter <command> --help" for a command's options.`;

/** Finds the command named by the leading words of argv. */
function findCommand(argv: string[]): [Command, string[]] | undefined {
  for (const command of COMMANDS) {
    const words = command.name.split(" ");
    if (words.every((w, i) => argv[i] === w)) return [command, argv.slice(words.length)];
  }
  return undefined;
}

/**
 * Runs the command line; resolves to the exit code. User mistakes print one sentence
 * (or located diagnostics) and never a stack trace.
 *
 * @example
 * ```ts ignore
 * import { main } from "./cli.ts";
 * Deno.exit(await main(["check", "examples/hello.yaml"]));
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    console.log(HELP);
    return argv.length === 0 ? 2 : 0;
  }
  const found = findCommand(argv);
  if (!found) {
    printError(`unknown command "${argv.join(" ")}"; see charter --help`);
    return 2;
  }
  const [command, rest] = found;
  // launch follows docker run: every failure of the launcher itself is 125.
  const failed = command === launchCommand ? 125 : 1;
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      printError(e.message);
      return command === launchCommand ? 125 : 2;
    }
    if (e instanceof PolicyError) {
      for (const d of e.diagnostics) console.error(formatDiagnostic(d));
      return failed;
    }
    if (e instanceof EnvelopeError) {
      printError(`${e.code}: ${e.message}`);
      return failed;
    }
    if (e instanceof KeyError || e instanceof ShimUnavailableError) {
      printError(e.message);
      return failed;
    }
    if (
      e instanceof Deno.errors.NotFound || e instanceof Deno.errors.AlreadyExists ||
      e instanceof Deno.errors.PermissionDenied
    ) {
      printError(e.message);
      return failed;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
