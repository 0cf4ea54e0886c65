/**
 * Loading policies: read each file (YAML or TypeScript), follow `extends` (relative files
 * and `builtin:` profiles), validate every layer, merge, and check the result.
 *
 * @module
 */
import { applyDefaults } from "./defaults.ts";
import { type Diagnostic, PolicyError } from "./diagnostic.ts";
import { checkOverrides, dropOverridden } from "./override.ts";
import { mergeLayer, type ProvenanceMap } from "./merge.ts";
import { FileReadError, readRegularFile } from "./read_file.ts";
import { grantsOfRemoved, type Removal, removeGrants, stillGranted } from "./remove.ts";
import { closest } from "./suggest.ts";
import { importTsPolicy, typeCheckPolicy } from "./ts_source.ts";
import type { Policy } from "./types.ts";
import { checkMerged, type PolicyLayer, validateLayer } from "./validate.ts";
import { parseYamlPolicy, type PolicySource } from "./yaml_source.ts";

/** Names of the built-in profiles (`builtin:NAME`), shipped in `policy/builtin/`. */
export const BUILTIN_PROFILES: readonly string[] = [
  "base",
  "build",
  "git",
  "network-client",
  "node",
  "python",
  "shell",
];

/** A policy file's exact bytes, kept so the plan can record its digest. */
export interface PolicyFile {
  /** The path as the user named it, or `builtin:NAME`. */
  path: string;
  /** The bytes that were parsed. */
  bytes: Uint8Array;
}

/** A validated policy, the files it was read from, and where each rule came from. */
export interface LoadedPolicy {
  /** The validated, merged policy. */
  policy: Policy;
  /** Every file that contributed, the main policy first. */
  files: PolicyFile[];
  /** The main policy's source, to locate problems found after validation. */
  source: PolicySource;
  /** Where each effective value came from. */
  provenance: ProvenanceMap;
  /** What `remove` took away, in merge order, with where it was granted and removed. */
  removals: Removal[];
}

/** Options for {@link loadPolicy}. */
export interface LoadOptions {
  /** Type-check TypeScript policies with `deno check` first (default true). */
  typeCheck?: boolean;
  /**
   * Reads a policy file's bytes (default: a regular file under the size limit, see
   * `read_file.ts`); `diff` reads git revisions with it.
   */
  readFile?: (path: string) => Promise<Uint8Array>;
}

interface Layer {
  source: PolicySource;
  layer: PolicyLayer;
}

const BUILTIN_DIR = new URL("./builtin/", import.meta.url);

/** Reads a file's text, or says why it cannot be a policy. */
async function readPolicyFile(
  path: string,
  ref: string,
  readFile: (path: string) => Promise<Uint8Array> = (p) => readRegularFile(p),
): Promise<{ bytes: Uint8Array; text: string } | string> {
  let bytes: Uint8Array;
  try {
    bytes = path.startsWith("builtin:")
      ? await readRegularFile(new URL(`${path.slice(8)}.yaml`, BUILTIN_DIR))
      : await readFile(path);
  } catch (e) {
    if (e instanceof FileReadError) return `cannot read ${ref} (${e.reason})`;
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.IsADirectory) {
      return `cannot read ${ref} (it does not exist or is not a file)`;
    }
    if (e instanceof Deno.errors.PermissionDenied) return `cannot read ${ref} (permission denied)`;
    throw e;
  }
  try {
    return { bytes, text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    return `${ref} is not UTF-8 text`;
  }
}

/** Resolves an `extends` entry relative to the file that names it. */
function resolveRef(ref: string, from: string): string {
  if (ref.startsWith("builtin:") || ref.startsWith("/")) return ref;
  const dir = from.includes("/") ? from.slice(0, from.lastIndexOf("/") + 1) : "";
  return normalize(dir + ref);
}

function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "..") {
      if (out.length > 0 && out.at(-1) !== "..") out.pop();
      else out.push(part);
    } else if (part !== "." && (part !== "" || out.length === 0)) out.push(part);
  }
  return out.join("/");
}

/**
 * Reads and validates a policy with everything it extends. Every problem in every layer
 * is collected; any problem throws a {@link PolicyError} with all of them, located.
 *
 * @example
 * ```ts ignore
 * import { loadPolicy } from "./load.ts";
 * const { policy, provenance } = await loadPolicy("examples/hello.yaml");
 * console.log(policy.name);
 * ```
 */
export async function loadPolicy(path: string, options: LoadOptions = {}): Promise<LoadedPolicy> {
  const problems: Diagnostic[] = [];
  const files: PolicyFile[] = [];
  const layers: Layer[] = [];

  const visit = async (
    file: string,
    chain: string[],
    named?: { source: PolicySource; index: number },
  ) => {
    const here = named
      ? {
        file: named.source.file,
        ...named.source.locate(["extends", named.index]),
        path: `extends.${named.index}`,
      }
      : { file, line: 1, col: 1, path: "" };
    if (chain.includes(file)) {
      problems.push({
        ...here,
        message: `extends cycle: ${[...chain, file].join(" -> ")}`,
        hint: "remove one of the extends entries",
      });
      return;
    }
    if (file.startsWith("builtin:") && !BUILTIN_PROFILES.includes(file.slice(8))) {
      const guess = closest(file.slice(8), BUILTIN_PROFILES);
      problems.push({
        ...here,
        message: `unknown built-in profile ${file}`,
        hint: guess
          ? `did you mean "builtin:${guess}"?`
          : `built-in profiles: ${BUILTIN_PROFILES.join(", ")}`,
      });
      return;
    }
    const read = await readPolicyFile(file, file, options.readFile);
    if (typeof read === "string") {
      problems.push({
        ...here,
        message: read,
        hint: named ? "fix the extends entry" : "check the path",
      });
      return;
    }
    let source: PolicySource;
    if (file.endsWith(".ts")) {
      if (options.typeCheck !== false) {
        const typeErrors = await typeCheckPolicy(file);
        if (typeErrors.length > 0) return void problems.push(...typeErrors);
      }
      const imported = await importTsPolicy(file);
      if (Array.isArray(imported)) return void problems.push(...imported);
      source = imported;
    } else {
      const parsed = parseYamlPolicy(read.text, file);
      if (!parsed.source) return void problems.push(...parsed.diagnostics);
      source = parsed.source;
    }
    files.push({ path: file, bytes: read.bytes });
    const validated = validateLayer(source);
    if ("problems" in validated) return void problems.push(...validated.problems);
    const parents = validated.layer.extends ?? [];
    for (const [index, ref] of parents.entries()) {
      await visit(resolveRef(ref, file), [...chain, file], { source, index });
    }
    layers.push({ source, layer: validated.layer });
  };

  await visit(path, []);
  const main = layers.at(-1);
  if (problems.length > 0 || !main) throw new PolicyError(sortProblems(problems));

  // A file reached twice (builtin:base under two profiles) is merged once, where it is
  // first reached: merging it again would undo what the files between changed.
  const merging = layers.filter((l, i) =>
    layers.findIndex((m) => m.source.file === l.source.file) === i
  );
  const overrides = checkOverrides(merging);
  if (overrides.length > 0) throw new PolicyError(sortProblems(overrides));
  const provenance: ProvenanceMap = new Map();
  const removals: Removal[] = [];
  let merged: Record<string, unknown> = {};
  for (const { source, layer } of merging) {
    const { extends: _, override: __, remove, ...rules } = layer;
    const removed = removeGrants(dropOverridden(merged, layer), remove, source, provenance);
    removals.push(...removed.removals);
    problems.push(...removed.problems, ...grantsOfRemoved(rules, source, removals));
    merged = mergeLayer(removed.merged, rules, source, provenance);
  }
  problems.push(...stillGranted(merged, removals, provenance));
  if (problems.length > 0) throw new PolicyError(sortProblems(problems));
  merged = applyDefaults(merged, provenance);
  // name, version and description describe the main file, not the merge.
  merged = { ...merged, version: 1, name: main.layer.name, description: main.layer.description };
  if (main.layer.description === undefined) delete merged.description;
  const policy = merged as unknown as PolicyLayer;
  const mergedProblems = checkMerged(policy, provenance, main.source);
  if (mergedProblems.length > 0) throw new PolicyError(sortProblems(mergedProblems));
  files.reverse();
  const mainIndex = files.findIndex((f) => f.path === path);
  files.unshift(...files.splice(mainIndex, 1));
  return { policy: policy as Policy, files, source: main.source, provenance, removals };
}

function sortProblems(problems: Diagnostic[]): Diagnostic[] {
  return problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}
