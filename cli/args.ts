/**
 * Command-line parsing shared by every command: strict flags, `--help`, usage errors.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Raised for a command line that does not parse; exit code 2. */
export class UsageError extends Error {
  /** Creates the error; the message says what is wrong. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Options of one command, in node:util parseArgs form. */
export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** A parsed command line. */
export interface ParsedArgs {
  /** Flag values by name. */
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  /** Positional arguments before `--`. */
  positionals: string[];
  /** Arguments after `--`. */
  rest: string[];
  /** True when `--help` was given (the caller prints its help and exits 0). */
  help: boolean;
}

/**
 * Parses a command's arguments strictly; unknown flags are usage errors.
 *
 * @example
 * ```ts
 * import { parseCommand } from "./args.ts";
 * const args = parseCommand(["-o", "k", "x"], { out: { type: "string", short: "o" } });
 * console.log(args.values.out, args.positionals); // "k" ["x"]
 * ```
 */
export function parseCommand(argv: string[], options: OptionSpec): ParsedArgs {
  const dashdash = argv.indexOf("--");
  const head = dashdash < 0 ? argv : argv.slice(0, dashdash);
  const rest = dashdash < 0 ? [] : argv.slice(dashdash + 1);
  try {
    const { values, positionals } = parseArgs({
      args: head,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
    const { help, ...others } = { ...values };
    return { values: others, positionals, rest, help: help === true };
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/\.$/, "")}; see --help`);
  }
}

/**
 * Reads a string flag; throws a usage error when required and missing.
 *
 * @example
 * ```ts
 * import { stringFlag } from "./args.ts";
 * console.log(stringFlag({ out: "x" }, "out")); // "x"
 * ```
 */
export function stringFlag(
  values: ParsedArgs["values"],
  name: string,
  required = false,
): string | undefined {
  const value = values[name];
  if (typeof value === "string") return value;
  if (required) throw new UsageError(`--${name} is required; see --help`);
  return undefined;
}

/**
 * Reads a repeatable string flag as a list.
 *
 * @example
 * ```ts
 * import { listFlag } from "./args.ts";
 * console.log(listFlag({ trust: ["a", "b"] }, "trust")); // ["a", "b"]
 * ```
 */
export function listFlag(values: ParsedArgs["values"], name: string): string[] {
  const value = values[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === "string");
}

/**
 * Parses a `--source-date` value (seconds since the epoch, or RFC 3339), falling back to
 * `SOURCE_DATE_EPOCH`, then to now.
 *
 * @example
 * ```ts
 * import { sourceDate } from "./args.ts";
 * console.log(sourceDate("0").toISOString()); // "1970-01-01T00:00:00.000Z"
 * ```
 */
export function sourceDate(
  flag: string | undefined,
  env = Deno.env.get("SOURCE_DATE_EPOCH"),
): Date {
  const text = flag ?? env;
  if (text === undefined) return new Date();
  const date = /^\d+$/.test(text) ? new Date(Number(text) * 1000) : new Date(text);
  if (Number.isNaN(date.getTime())) {
    throw new UsageError(
      `${JSON.stringify(text)} is not a date: give seconds since the epoch or RFC 3339`,
    );
  }
  return date;
}
