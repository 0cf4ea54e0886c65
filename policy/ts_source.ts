/**
 * TypeScript policy sources: `export default definePolicy({...})`, type-checked with
 * `deno check` and located by scanning the source text for keys.
 *
 * @module
 */
import type { Diagnostic } from "./diagnostic.ts";
import type { KeyPath, PolicySource } from "./yaml_source.ts";

/**
 * Type-checks a TypeScript policy with `deno check`; type errors come back as located
 * diagnostics.
 *
 * @example
 * ```ts ignore
 * import { typeCheckPolicy } from "./ts_source.ts";
 * const problems = await typeCheckPolicy("policy.ts");
 * ```
 */
export async function typeCheckPolicy(file: string): Promise<Diagnostic[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", file],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) return [];
  const text = new TextDecoder().decode(out.stderr);
  const found: Diagnostic[] = [];
  // deno prints "TS2322 [ERROR]: message ... \n    at file:///path:line:col".
  const re =
    /(TS\d+) \[ERROR\]: ([^\n]+)(?:\n(?! {4}at )[^\n]*)*\n {4}at (?:file:\/\/)?([^\n]+):(\d+):(\d+)/g;
  for (const m of text.matchAll(re)) {
    found.push({
      file,
      line: Number(m[4]),
      col: Number(m[5]),
      path: "",
      message: `type error ${m[1]}: ${m[2]}`,
    });
  }
  return found.length > 0 ? found : [{
    file,
    line: 1,
    col: 1,
    path: "",
    message: `deno check failed: ${text.trim().split("\n")[0]}`,
  }];
}

/**
 * Imports a TypeScript policy module and wraps its default export as a source.
 *
 * @example
 * ```ts ignore
 * import { importTsPolicy } from "./ts_source.ts";
 * const source = await importTsPolicy("policy.ts");
 * ```
 */
export async function importTsPolicy(file: string): Promise<PolicySource | Diagnostic[]> {
  const text = await Deno.readTextFile(file);
  const url = new URL(file, `file://${Deno.cwd()}/`).href;
  let mod: { default?: unknown };
  try {
    mod = await import(url);
  } catch (e) {
    return [{
      file,
      line: 1,
      col: 1,
      path: "",
      message: `the policy module failed to load: ${(e as Error).message.split("\n")[0]}`,
    }];
  }
  if (mod.default === undefined) {
    return [{
      file,
      line: 1,
      col: 1,
      path: "",
      message: "the module has no default export",
      hint: "write export default definePolicy({ ... })",
    }];
  }
  return { file, value: structuredClone(mod.default), locate: (path) => locateInText(text, path) };
}

/**
 * Finds a key path in TypeScript source by scanning for each key in turn, after the
 * previous one: exact for ordinary object literals, the best available otherwise.
 */
function locateInText(text: string, path: KeyPath): { line: number; col: number } {
  let offset = Math.max(0, text.search(/definePolicy\s*\(|export\s+default/));
  for (const segment of path) {
    if (typeof segment === "number") {
      const open = text.indexOf("[", offset);
      if (open < 0) break;
      let at = open + 1;
      for (let i = 0; i < segment; i++) {
        const comma = text.indexOf(",", at);
        if (comma < 0) break;
        at = comma + 1;
      }
      offset = at + (text.slice(at).match(/^\s*/)?.[0].length ?? 0);
      continue;
    }
    const re = new RegExp(`["']?${segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}["']?\\s*:`, "g");
    re.lastIndex = offset;
    const m = re.exec(text);
    if (!m) break;
    offset = m.index;
  }
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, col: before.at(-1)!.length + 1 };
}
