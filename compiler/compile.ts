/**
 * Compiling a loaded policy into a signed LinuxLaunchPlan. Pure apart from reading the
 * target: no FFI, and the same inputs give byte-identical output.
 *
 * @module
 */
import canonicalize from "npm:canonicalize@5.1.0";
import { sha256Hex } from "../crypto/digest.ts";
import { type DsseEnvelope, signEnvelope } from "../crypto/dsse.ts";
import type { SigningKey } from "../crypto/keys.ts";
import type { LoadedPolicy } from "../policy/load.ts";
import { lowerLandlock, lowerSchedule, usesLandlock } from "./lower.ts";
import {
  type LandlockPlan,
  type LinuxLaunchPlan,
  PLAN_PREDICATE_TYPE,
  type PlanStatement,
  STATEMENT_TYPE,
} from "./plan.ts";
import { lowerSeccomp } from "./lower_seccomp.ts";
import { resolveTarget } from "./target.ts";
import { resolveInputs } from "./inputs.ts";
import { recordedResolution } from "./resolve_path.ts";
import { inputReadByPath, lowerView, viewGaps, viewLandlockRules } from "./lower_view.ts";
import { PolicyError } from "../policy/diagnostic.ts";

/** The compiler's name and version, recorded in every plan. */
export const COMPILER = { name: "charter", version: "0.1.0" } as const;

/** Options that are inputs of a compilation besides the policy. */
export interface CompileOptions {
  /** The `compiledOn` instant; pass a fixed one for reproducible plans. */
  compiledOn: Date;
  /** Optional expiry of the plan. */
  notAfter?: Date;
}

/** A compiled plan: the statement, its canonical bytes, and the signed envelope. */
export interface CompiledPlan {
  /** The in-toto Statement. */
  statement: PlanStatement;
  /** RFC 8785 bytes of the statement: the signed payload. */
  payload: Uint8Array;
  /** The signed DSSE envelope. */
  envelope: DsseEnvelope;
  /** The envelope as written to `plan.dsse.json`. */
  envelopeBytes: Uint8Array;
}

/**
 * Formats an instant as RFC 3339 UTC with whole seconds (`2026-01-02T03:04:05Z`).
 *
 * @example
 * ```ts
 * import { rfc3339 } from "./compile.ts";
 * console.log(rfc3339(new Date(0))); // "1970-01-01T00:00:00Z"
 * ```
 */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Encodes a value as RFC 8785 (JCS) canonical JSON bytes.
 *
 * @example
 * ```ts
 * import { canonicalJson } from "./compile.ts";
 * console.log(new TextDecoder().decode(canonicalJson({ b: 1, a: [true] }))); // '{"a":[true],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): Uint8Array {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError("Value has no JSON representation");
  return new TextEncoder().encode(text);
}

function dependencyName(path: string, mainPath: string): string {
  const dir = mainPath.includes("/") ? mainPath.slice(0, mainPath.lastIndexOf("/") + 1) : "";
  return path.startsWith(dir) ? path.slice(dir.length) : path;
}

/**
 * Records the compile-time resolution of each host path of a ruleset (not the implied ones:
 * their digests pin them; not the view's own: they are no host paths).
 */
function withResolutions(landlock: LandlockPlan): LandlockPlan {
  const fs = landlock.fs.map((rule) => {
    const resolved = rule.implied || rule.inView ? undefined : recordedResolution(rule.path);
    return resolved ? { ...rule, resolved } : rule;
  });
  return { ...landlock, fs };
}

/**
 * Builds the plan statement for a loaded policy (reads and hashes the target).
 *
 * @example
 * ```ts ignore
 * import { buildStatement } from "./compile.ts";
 * import { loadPolicy } from "../policy/load.ts";
 * const statement = await buildStatement(await loadPolicy("examples/hello.yaml"), {
 *   compiledOn: new Date(0),
 * });
 * ```
 */
export async function buildStatement(
  loaded: LoadedPolicy,
  options: CompileOptions,
): Promise<PlanStatement> {
  const { policy, files, source } = loaded;
  const target = await resolveTarget(policy.target.exe, source);
  const exeName = target.exe.slice(target.exe.lastIndexOf("/") + 1);
  const arch = Deno.build.arch;
  // Every plan gets a filter with the baseline; the policy's own rules unless seccomp is off.
  // The shim clears FD_CLOEXEC (fcntl) after the filter for a script's fd and input copies.
  const passesFds = target.script || (policy.target.inputs ?? []).length > 0;
  const seccomp = await lowerSeccomp(loaded, arch, passesFds);
  const inputs = await resolveInputs(policy.target.inputs ?? [], source);
  const cwd = policy.target.cwd ?? "/";
  const cwdResolved = recordedResolution(cwd);
  const interpreters = target.execChain.filter((e) => e.implied === "interpreter")
    .map(({ path, sha256 }) => ({ path, sha256 }));
  const gaps = viewGaps(policy, target.script);
  if (gaps.length > 0) {
    throw new PolicyError(gaps.map((g) => ({
      file: source.file,
      ...source.locate(g.path),
      path: g.path.join("."),
      message: g.message,
      hint: g.hint,
    })));
  }
  const view = lowerView(policy, {
    // The exe runs from the fd the shim verified; the kernel opens interpreters by path.
    exec: target.execChain.filter((e) => e.implied === "interpreter").map((e) => e.path),
    read: (policy.target.inputs ?? []).filter(inputReadByPath),
  });
  let landlock: LandlockPlan | undefined;
  if (usesLandlock(policy)) {
    landlock = lowerLandlock(policy, target.execChain);
    // Without filesystem rules nothing is handled: a rule would only narrow nothing.
    if (landlock.handledFs.length > 0) landlock.fs.push(...viewLandlockRules(policy, view));
    landlock = withResolutions(landlock);
  }
  const plan: LinuxLaunchPlan = {
    planVersion: 1,
    arch,
    target: {
      exe: target.exe,
      sha256: target.sha256,
      argv: policy.target.argv ?? [exeName],
      cwd,
      ...(cwdResolved ? { cwdResolved } : {}),
      extraArgs: policy.target.extra_args ?? false,
      ...(inputs.length > 0 ? { inputs } : {}),
      ...(interpreters.length > 0 ? { interpreters } : {}),
    },
    env: { set: policy.env?.set ?? {}, pass: [...new Set(policy.env?.pass ?? [])].sort() },
    schedule: lowerSchedule(policy, { seccomp: true, view: view !== undefined }),
    ...(view ? { view } : {}),
    ...(landlock ? { landlock } : {}),
    seccomp,
    resolvedDependencies: await Promise.all(files.map(async (f) => ({
      name: dependencyName(f.path, files[0].path),
      digest: { sha256: await sha256Hex(f.bytes) },
    }))),
    compiler: { ...COMPILER },
    compiledOn: rfc3339(options.compiledOn),
    ...(options.notAfter ? { notAfter: rfc3339(options.notAfter) } : {}),
  };
  return planStatement(plan);
}

/**
 * The in-toto statement of a plan: its target's exe and digest as the subject.
 *
 * @example
 * ```ts ignore
 * import { planStatement } from "./compile.ts";
 * const statement = planStatement(plan);
 * console.log(statement.subject[0].name === plan.target.exe); // true
 * ```
 */
export function planStatement(plan: LinuxLaunchPlan): PlanStatement {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: plan.target.exe, digest: { sha256: plan.target.sha256 } }],
    predicateType: PLAN_PREDICATE_TYPE,
    predicate: plan,
  };
}

/**
 * Compiles and signs a loaded policy into a plan.
 *
 * @example
 * ```ts ignore
 * import { compilePlan } from "./compile.ts";
 * import { loadPolicy } from "../policy/load.ts";
 * import { generateSigningKey } from "../crypto/keys.ts";
 * const plan = await compilePlan(await loadPolicy("examples/hello.yaml"), await generateSigningKey(), {
 *   compiledOn: new Date(),
 * });
 * await Deno.writeFile("plan.dsse.json", plan.envelopeBytes);
 * ```
 */
export async function compilePlan(
  loaded: LoadedPolicy,
  key: SigningKey,
  options: CompileOptions,
): Promise<CompiledPlan> {
  const statement = await buildStatement(loaded, options);
  const payload = canonicalJson(statement);
  const envelope = await signEnvelope(payload, key);
  const envelopeBytes = new TextEncoder().encode(JSON.stringify(envelope, null, 2) + "\n");
  return { statement, payload, envelope, envelopeBytes };
}
