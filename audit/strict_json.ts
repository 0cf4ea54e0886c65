/**
 * Strict JSON for evidence: a parser that rejects what `JSON.parse` silently accepts
 * and a second reader could interpret differently, namely duplicate keys and lone
 * surrogates in strings.
 *
 * @module
 */

const LITERAL = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;
// deno-lint-ignore no-control-regex
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/** Raised for text that is not strict JSON; `offset` is where the problem is. */
export class StrictJsonError extends Error {
  /** Creates the error for the problem at `offset` (0-based, in UTF-16 units). */
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = "StrictJsonError";
  }
}

/**
 * Parses JSON text like `JSON.parse`, but throws on duplicate object keys and lone
 * surrogates.
 *
 * @example
 * ```ts
 * import { parseStrictJson } from "./strict_json.ts";
 * console.log(parseStrictJson('{"a":1}')); // { a: 1 }
 * try {
 *   parseStrictJson('{"a":1,"a":2}');
 * } catch (e) {
 *   console.log((e as Error).message); // 'duplicate key "a"'
 * }
 * ```
 */
export function parseStrictJson(text: string): unknown {
  let i = 0;
  const fail = (message: string): never => {
    throw new StrictJsonError(message, i);
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === "{") return object();
    if (c === "[") return array();
    if (c === '"') return string();
    LITERAL.lastIndex = i;
    const m = LITERAL.exec(text);
    if (!m) return fail(`unexpected ${c === undefined ? "end of text" : JSON.stringify(c)}`);
    i += m[0].length;
    return JSON.parse(m[0]);
  };
  const string = (): string => {
    STRING.lastIndex = i;
    const m = STRING.exec(text);
    if (!m) return fail("malformed string");
    const s: string = JSON.parse(m[0]);
    if (!s.isWellFormed()) fail("string with a lone surrogate");
    i += m[0].length;
    return s;
  };
  const object = (): Record<string, unknown> => {
    i++;
    const out: Record<string, unknown> = Object.create(null);
    ws();
    if (text[i] === "}") return i++, { ...out };
    for (;;) {
      ws();
      if (text[i] !== '"') fail("expected a key");
      const at = i;
      const key = string();
      if (Object.hasOwn(out, key)) {
        throw new StrictJsonError(`duplicate key ${JSON.stringify(key)}`, at);
      }
      ws();
      if (text[i++] !== ":") fail("expected ':'");
      out[key] = value();
      ws();
      if (text[i] === ",") i++;
      else if (text[i] === "}") return i++, { ...out };
      else fail("expected ',' or '}'");
    }
  };
  const array = (): unknown[] => {
    i++;
    const out: unknown[] = [];
    ws();
    if (text[i] === "]") return i++, out;
    for (;;) {
      out.push(value());
      ws();
      if (text[i] === ",") i++;
      else if (text[i] === "]") return i++, out;
      else fail("expected ',' or ']'");
    }
  };
  const result = value();
  ws();
  if (i < text.length) fail("text after the JSON value");
  return result;
}
