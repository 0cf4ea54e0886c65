/**
 * Located problems in policies, and the error that carries all of them.
 *
 * @module
 */

/** One problem in a policy, located in its source file. */
export interface Diagnostic {
  /** The policy file, as the user named it. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
  /** The key path, dotted (`target.argv.0`); empty for the document itself. */
  path: string;
  /** What is wrong, with what was expected and what was found. */
  message: string;
  /** A did-you-mean or how-to-fix hint, when there is one. */
  hint?: string;
  /** `warning` for a problem that does not make the policy invalid; absent for errors. */
  severity?: "warning";
}

/** How much of a value a diagnostic quotes. */
const QUOTE_LIMIT = 200;

/**
 * Quotes a value for a diagnostic as JSON, cut to a short prefix: a message names what
 * it found without echoing a huge value or a file's contents back.
 *
 * @example
 * ```ts
 * import { quoteValue } from "./diagnostic.ts";
 * console.log(quoteValue("ab")); // '"ab"'
 * console.log(quoteValue("a".repeat(1000)).endsWith('…" (1000 characters)')); // true
 * ```
 */
export function quoteValue(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  const text = typeof value === "string" ? value : undefined;
  if (text !== undefined && text.length > QUOTE_LIMIT) {
    return `${
      JSON.stringify(text.slice(0, QUOTE_LIMIT - 1))?.slice(0, -1)
    }…" (${text.length} characters)`;
  }
  const json = JSON.stringify(value);
  if (json === undefined) return String(value);
  return json.length > QUOTE_LIMIT
    ? `${json.slice(0, QUOTE_LIMIT)}… (${json.length} characters)`
    : json;
}

/**
 * Formats a diagnostic as `file:line:col: key.path: message` (`… key.path: warning:
 * message` for a warning), with the hint on a second line.
 *
 * @example
 * ```ts
 * import { formatDiagnostic } from "./diagnostic.ts";
 * const text = formatDiagnostic({ file: "p.yaml", line: 3, col: 5, path: "target.exe", message: "x" });
 * console.log(text); // "p.yaml:3:5: target.exe: x"
 * const warning = formatDiagnostic({ file: "p.yaml", line: 3, col: 5, path: "target.exe", message: "x", severity: "warning" });
 * console.log(warning); // "p.yaml:3:5: target.exe: warning: x"
 * ```
 */
export function formatDiagnostic(d: Diagnostic): string {
  const kind = d.severity === "warning" ? "warning: " : "";
  const where = `${d.file}:${d.line}:${d.col}: ${d.path ? d.path + ": " : ""}${kind}${d.message}`;
  return d.hint ? `${where}\n  hint: ${d.hint}` : where;
}

/** Raised when a policy has problems; carries every problem found, not only the first. */
export class PolicyError extends Error {
  /** Creates the error from at least one diagnostic. */
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join("\n"));
    this.name = "PolicyError";
  }
}
