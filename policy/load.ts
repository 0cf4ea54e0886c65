/**
 * Loading policy files: read, parse, validate.
 *
 * @module
 */
import { PolicyError } from "./diagnostic.ts";
import type { Policy } from "./types.ts";
import { validatePolicy } from "./validate.ts";
import { parseYamlPolicy, type PolicySource } from "./yaml_source.ts";

/** A policy file's exact bytes, kept so the plan can record its digest. */
export interface PolicyFile {
  /** The path as the user named it. */
  path: string;
  /** The bytes that were parsed. */
  bytes: Uint8Array;
}

/** A validated policy and the files it was read from. */
export interface LoadedPolicy {
  /** The validated policy. */
  policy: Policy;
  /** Every file that contributed, the main policy first. */
  files: PolicyFile[];
  /** The main policy's source, to locate problems found after validation. */
  source: PolicySource;
}

/**
 * Reads and validates a YAML policy file. Problems throw a {@link PolicyError} whose
 * diagnostics locate each one.
 *
 * @example
 * ```ts ignore
 * import { loadPolicy } from "./load.ts";
 * const { policy } = await loadPolicy("examples/hello.yaml");
 * console.log(policy.name);
 * ```
 */
export async function loadPolicy(path: string): Promise<LoadedPolicy> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.IsADirectory)) throw e;
    throw new PolicyError([{
      file: path,
      line: 1,
      col: 1,
      path: "",
      message: "cannot read the policy file (it does not exist or is not a file)",
      hint: "check the path",
    }]);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new PolicyError([{ file: path, line: 1, col: 1, path: "", message: "not UTF-8 text" }]);
  }
  const parsed = parseYamlPolicy(text, path);
  if (!parsed.source) throw new PolicyError(parsed.diagnostics);
  return {
    policy: validatePolicy(parsed.source),
    files: [{ path, bytes }],
    source: parsed.source,
  };
}
