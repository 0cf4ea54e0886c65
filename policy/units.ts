/**
 * Quantities with units in policies: sizes (`512MiB`), durations (`30s`) and
 * percentages (`50%`). Each parser returns a whole number or an error message.
 *
 * @module
 */
import { quoteValue } from "./diagnostic.ts";

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  K: 1024,
  KiB: 1024,
  M: 1024 ** 2,
  MiB: 1024 ** 2,
  G: 1024 ** 3,
  GiB: 1024 ** 3,
  T: 1024 ** 4,
  TiB: 1024 ** 4,
  kB: 1000,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
  TB: 1000 ** 4,
};

const DURATION_UNITS: Record<string, number> = { "": 1, s: 1, m: 60, min: 60, h: 3600 };

/** A parsed quantity, or why it could not be parsed. */
export type Parsed = { value: number } | { error: string };

function withUnit(
  input: string | number,
  units: Record<string, number>,
  what: string,
  example: string,
): Parsed {
  if (typeof input === "number") {
    return Number.isSafeInteger(input) && input >= 0
      ? { value: input }
      : { error: `expected a non-negative whole number or ${example}` };
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(input);
  const factor = match ? units[match[2]] : undefined;
  if (!match || factor === undefined) {
    return {
      error: `not a ${what} (expected a number with one of ${
        Object.keys(units).filter((u) => u).join(", ")
      }, like ${example})`,
    };
  }
  const value = Number(match[1]) * factor;
  if (!Number.isInteger(value) || !Number.isSafeInteger(value)) {
    return {
      error: `${what} ${quoteValue(input)} is not a whole number of ${
        what === "size" ? "bytes" : "seconds"
      } or too large`,
    };
  }
  return { value };
}

/**
 * Parses a size in bytes: a plain number, or a number with a binary (`KiB`, `MiB`,
 * `GiB`, `TiB`, or `K`, `M`, `G`, `T`) or decimal (`kB`, `MB`, `GB`, `TB`) unit.
 *
 * @example
 * ```ts
 * import { parseSize } from "./units.ts";
 * console.log(parseSize("512MiB")); // { value: 536870912 }
 * ```
 */
export function parseSize(input: string | number): Parsed {
  return withUnit(input, SIZE_UNITS, "size", '"512MiB"');
}

/**
 * Parses a duration in whole seconds: a plain number, or with `s`, `m`/`min`, `h`.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./units.ts";
 * console.log(parseDuration("5m")); // { value: 300 }
 * ```
 */
export function parseDuration(input: string | number): Parsed {
  return withUnit(input, DURATION_UNITS, "duration", '"30s"');
}

/**
 * Parses a CPU share as a percentage of one CPU (`50%`, `200%` for two CPUs).
 *
 * @example
 * ```ts
 * import { parsePercent } from "./units.ts";
 * console.log(parsePercent("50%")); // { value: 50 }
 * ```
 */
export function parsePercent(input: string): Parsed {
  const match = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(input);
  if (!match) return { error: 'not a percentage (expected a number followed by %, like "50%")' };
  const value = Number(match[1]);
  return value > 0 ? { value } : { error: "a CPU share must be more than 0%" };
}
