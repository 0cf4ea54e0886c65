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

/**
 * The deepest nesting accepted: records nest a few levels; a line of thousands of `[`
 * (anyone may send one to a log stream) would otherwise overflow the parser's stack.
 */
const MAX_DEPTH = 64;

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
  let depth = 0;
  const nested = <T>(parse: () => T): T => {
    if (++depth > MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH} levels`);
    const out = parse();
    depth--;
    return out;
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === "{") return nested(object);
    if (c === "[") return nested(array);
    if (c === '"') return string();
    LITERAL.lastIndex = i;
    const m = LITERAL.exec(text);
    if (!m) return fail(`unexpected ${c === undefined ? "end of text" : JSON.stringify(c)}`);
    i += m[0].length;
    return JSON.parse(m[0]);
  };
  const string = (): string => {
    STRING.lastIndex = i;
    let m: RegExpExecArray | null;
    try {
      m = STRING.exec(text);
    } catch (e) {
      // V8's regexp backtracking stack: a string of millions of characters.
      if (!(e instanceof RangeError)) throw e;
      return fail("string too long to parse");
    }
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
