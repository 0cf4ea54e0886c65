/**
 * The `charter` command line: `deno run -A cli.ts <command> [options]`.
 *
 * @module
 */
import type { Command } from "./cli/command.ts";
import { printError } from "./cli/command.ts";
import { importLazily } from "./cli/lazy_import.ts";
import { UsageError } from "./cli/args.ts";
import { EnvelopeError } from "./crypto/dsse.ts";
import { KeyError } from "./crypto/keys.ts";
import { ShimUnavailableError } from "./ffi/shim.ts";
import { StateDirError } from "./cli/state_dir.ts";
import { formatDiagnostic, PolicyError } from "./policy/diagnostic.ts";

/** A command as the dispatcher knows it: loaded only when it runs, to keep start-up small. */
interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

const COMMANDS: CommandEntry[] = [
  {
    name: "check",
    summary: "validate policies; print every problem as file:line:col",
    load: async () =>
      (await importLazily<typeof import("./cli/check.ts")>(
        new URL("./cli/check.ts", import.meta.url),
      ))
        .checkCommand,
  },
  {
    name: "compile",
    summary: "compile and sign a policy into a plan",
    load: async () =>
      (await importLazily<typeof import("./cli/compile.ts")>(
        new URL("./cli/compile.ts", import.meta.url),
      ))
        .compileCommand,
  },
  {
    name: "launch",
    summary: "verify a plan (or compile a policy) and run it confined",
    load: async () =>
      (await importLazily<typeof import("./cli/launch.ts")>(
        new URL("./cli/launch.ts", import.meta.url),
      ))
        .launchCommand,
  },
  {
    name: "learn",
    summary: "run the target recording what the policy would deny; propose the grants",
    load: async () =>
      (await importLazily<typeof import("./cli/learn.ts")>(
        new URL("./cli/learn.ts", import.meta.url),
      ))
        .learnCommand,
  },
  {
    name: "verify",
    summary: "verify a plan's signature and print what it grants",
    load: async () =>
      (await importLazily<typeof import("./cli/verify.ts")>(
        new URL("./cli/verify.ts", import.meta.url),
      ))
        .verifyCommand,
  },
  {
    name: "explain",
    summary: "show the effective policy, each rule with where it came from",
    load: async () =>
      (await importLazily<typeof import("./cli/explain.ts")>(
        new URL("./cli/explain.ts", import.meta.url),
      ))
        .explainCommand,
  },
  {
    name: "diff",
    summary: "authority added and removed between two policies or plans",
    load: async () =>
      (await importLazily<typeof import("./cli/diff.ts")>(
        new URL("./cli/diff.ts", import.meta.url),
      ))
        .diffCommand,
  },
  {
    name: "keygen",
    summary: "create an Ed25519 signing key pair",
    load: async () =>
      (await importLazily<typeof import("./cli/keygen.ts")>(
        new URL("./cli/keygen.ts", import.meta.url),
      ))
        .keygenCommand,
  },
  {
    name: "transcript verify",
    summary: "verify a launch transcript against its plan",
    load: async () =>
      (await importLazily<typeof import("./cli/transcript.ts")>(
        new URL("./cli/transcript.ts", import.meta.url),
      ))
        .transcriptVerifyCommand,
  },
  {
    name: "transcript export",
    summary: "export a transcript as OCSF Process Activity events",
    load: async () =>
      (await importLazily<typeof import("./cli/transcript.ts")>(
        new URL("./cli/transcript.ts", import.meta.url),
      ))
        .transcriptExportCommand,
  },
  {
    name: "probe",
    summary: "report what this kernel offers (Landlock ABI, namespaces, clone3, ...)",
    load: async () =>
      (await importLazily<typeof import("./cli/probe.ts")>(
        new URL("./cli/probe.ts", import.meta.url),
      ))
        .probeCommand,
  },
  {
    name: "schema",
    summary: "write schema/*.schema.json (policy, plan, transcript record; draft-07)",
    load: async () =>
      (await importLazily<typeof import("./cli/schema.ts")>(
        new URL("./cli/schema.ts", import.meta.url),
      ))
        .schemaCommand,
  },
];

const HELP = `Usage: charter <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(19)} ${c.summary}`).join("\n")}

Run "charter <command> --help" for a command's options.`;

/** Finds the command named by the leading words of argv. */
function findCommand(argv: string[]): [CommandEntry, string[]] | undefined {
  for (const command of COMMANDS) {
    const words = command.name.split(" ");
    if (words.every((w, i) => argv[i] === w)) return [command, argv.slice(words.length)];
  }
  return undefined;
}

/** A file the user named that cannot be read or written, said as one sentence with a hint. */
function fileErrorSentence(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  // Deno's messages end in: `readfile 'PATH'`, `open 'PATH'`, …
  const path = /'([^']*)'\s*$/.exec(e.message)?.[1] ?? "a file";
  if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
    return `${path} does not exist; check the path`;
  }
  if (e instanceof Deno.errors.PermissionDenied) return `${path} cannot be accessed by this user`;
  if (e instanceof Deno.errors.AlreadyExists) {
    return `${path} already exists; remove it or choose another name`;
  }
  if (e instanceof Deno.errors.IsADirectory) return `${path} is a directory; name a file`;
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
  const [entry, rest] = found;
  // launch follows docker run: every failure of the launcher itself is 125.
  const isLaunch = entry.name === "launch";
  const failed = isLaunch ? 125 : 1;
  try {
    return await (await entry.load()).run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      printError(e.message);
      return isLaunch ? 125 : 2;
    }
    if (e instanceof PolicyError) {
      for (const d of e.diagnostics) console.error(formatDiagnostic(d));
      return failed;
    }
    if (e instanceof EnvelopeError) {
      printError(`${e.code}: ${e.message}`);
      return failed;
    }
    if (
      e instanceof KeyError || e instanceof ShimUnavailableError || e instanceof StateDirError ||
      // By name: importing their modules here would load them for every command.
      (e instanceof Error && (e.name === "FilterTooComplexError" || e.name === "InputFileError"))
    ) {
      printError(e.message);
      return failed;
    }
    const fileProblem = fileErrorSentence(e);
    if (fileProblem) {
      printError(fileProblem);
      return failed;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
