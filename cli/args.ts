/**
 * Command-line parsing shared by every command: strict flags, `--help`, usage errors.
 *
 * @module
 */

/** Raised for a command line that does not parse; exit code 2. */
export class UsageError extends Error {
  /** Creates the error; the message says what is wrong. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** One flag of a command: a string value or a boolean switch. */
export interface OptionDef {
  /** `string` takes a value (`--out x`, `--out=x`); `boolean` does not. */
  type: "string" | "boolean";
  /** A one-letter alias (`-o`). */
  short?: string;
  /** May be given several times; the value is then a list. */
  multiple?: boolean;
}

/** Options of one command, by long name. */
export type OptionSpec = Record<string, OptionDef>;

/** A parsed command line. */
export interface ParsedArgs {
  /** Flag values by name. */
  values: Record<string, string | boolean | string[] | undefined>;
  /** Positional arguments before `--`. */
  positionals: string[];
  /** Arguments after `--`. */
  rest: string[];
  /** True when `--help` was given (the caller prints its help and exits 0). */
  help: boolean;
}

/**
 * Parses a command's arguments strictly: an unknown flag, a missing value and a value
 * given to a switch are usage errors; `-h`/`--help` is always known. A small parser of
 * our own: loading node:util's costs every command ~4 ms of start-up.
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
  const spec: OptionSpec = { ...options, help: { type: "boolean", short: "h" } };
  const byShort = new Map(
    Object.entries(spec).flatMap(([name, def]) => (def.short ? [[def.short, name]] : [])),
  );
  const values: ParsedArgs["values"] = {};
  const positionals: string[] = [];
  for (let i = 0; i < head.length; i++) {
    const token = head[i];
    const long = /^--([^=]+)(?:=([\s\S]*))?$/.exec(token);
    const short = /^-([^-])$/.exec(token);
    if (!long && !short) {
      positionals.push(token);
      continue;
    }
    const name = long ? long[1] : byShort.get(short![1]);
    const def = name === undefined ? undefined : spec[name];
    if (name === undefined || def === undefined) {
      throw new UsageError(`unknown option ${token.split("=")[0]}; see --help`);
    }
    let value: string | true;
    if (def.type === "boolean") {
      if (long?.[2] !== undefined) throw new UsageError(`--${name} takes no value; see --help`);
      value = true;
    } else if (long?.[2] !== undefined) {
      value = long[2];
    } else if (i + 1 < head.length) {
      value = head[++i];
    } else {
      throw new UsageError(`--${name} needs a value; see --help`);
    }
    if (def.multiple) {
      values[name] = [...(values[name] as string[] | undefined) ?? [], String(value)];
    } else values[name] = value;
  }
  const { help, ...others } = values;
  return { values: others, positionals, rest, help: help === true };
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
