/**
 * Lowering `syscalls:` to the plan's `seccomp` section: compile the classic-BPF program
 * for the plan's architecture, and turn compiler errors into located policy diagnostics.
 *
 * @module
 */
import { sha256Hex, toBase64 } from "../crypto/digest.ts";
import { type Diagnostic, PolicyError, quoteValue } from "../policy/diagnostic.ts";
import type { LoadedPolicy } from "../policy/load.ts";
import { provenanceKey } from "../policy/merge.ts";
import { enforcementOf } from "./lower.ts";
import type { LinuxLaunchPlan, PlanEnforcement, SeccompPlan } from "./plan.ts";
import {
  applyBaseline,
  auditArch,
  checkUnsafeAllowName,
  compileSeccomp,
  createFilterRunner,
  errnoNumber,
  metadataRules,
  networkRules,
  resolveSyscallNames,
  resolveValue,
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_LOG,
  SeccompCompileError,
  type SeccompPolicy,
  SeccompProgramTooLargeError,
  syscallNumber,
} from "./seccomp/mod.ts";

/**
 * The policy's own seccomp section; without one (or with only `unsafe_allow`) everything
 * is allowed but the baseline, which {@link lowerSeccomp} adds to every filter.
 */
export function seccompPolicyOf(loaded: LoadedPolicy): SeccompPolicy {
  const { unsafe_allow: _, ...s } = loaded.policy.syscalls ?? {};
  if (Object.keys(s).length === 0) return { default: "allow" };
  return {
    default: s.default ?? { errno: "EPERM" },
    ...(s.allow ? { allow: s.allow } : {}),
    ...(s.deny ? { deny: s.deny } : {}),
    ...(s.deny_action ? { deny_action: s.deny_action } : {}),
    ...(s.rules ? { rules: s.rules } : {}),
  };
}

/** Locates a path inside `syscalls:` (as the seccomp compiler reports it) in the policy files. */
function locate(loaded: LoadedPolicy, path: string | undefined) {
  // The seccomp compiler writes paths like `rules[0].args[1].value`.
  const segments = (path ?? "").replace(/\[(\d+)\]/g, ".$1").split(".").filter((s) => s !== "")
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const full = ["syscalls", ...segments];
  // A list item (allow.3) may come from any layer: its provenance is keyed by value.
  const parent = full.slice(0, -1);
  const index = full.at(-1);
  const list = typeof index === "number"
    ? (parent.reduce<unknown>(
      (v, k) => (v as Record<string | number, unknown>)?.[k],
      loaded.policy,
    ) as unknown[] | undefined)
    : undefined;
  const item = list?.[index as number];
  const where =
    (item !== undefined ? loaded.provenance.get(provenanceKey(parent, item)) : undefined) ??
      loaded.provenance.get(provenanceKey(full)) ??
      { file: loaded.source.file, ...loaded.source.locate(full) };
  return { ...where, path: full.join(".") };
}

/**
 * `remove: { syscalls: { allow: [...] } }` items that take nothing away: the filter still
 * allows every syscall they name (through a group left in `allow`, or `default: allow`).
 * Located at the removal, like the filesystem case in `policy/remove.ts`.
 */
function idleSyscallRemovals(
  loaded: LoadedPolicy,
  policy: SeccompPolicy,
  arch: LinuxLaunchPlan["arch"],
): Diagnostic[] {
  const names = (list: readonly string[]) => {
    try {
      return resolveSyscallNames(list, arch).syscalls;
    } catch (e) {
      if (e instanceof SeccompCompileError) return []; // reported where it is granted
      throw e;
    }
  };
  const allow = policy.allow ?? [];
  const allowed = new Set(names(allow));
  return loaded.removals.filter((r) => r.key === "syscalls.allow").flatMap((r) => {
    const removed = names([String(r.item)]);
    const by = policy.default === "allow"
      ? ["syscalls.default allow"]
      : allow.filter((a) => names([a]).some((s) => removed.includes(s)));
    if (
      removed.length === 0 || (policy.default !== "allow" && !removed.every((s) => allowed.has(s)))
    ) {
      return [];
    }
    return [{
      ...r.removedAt,
      path: "remove.syscalls.allow",
      message: `removing syscalls.allow ${quoteValue(r.item)} takes nothing away: ${
        by.join(", ")
      } still allow${by.length === 1 ? "s" : ""} it`,
      hint: "deny it instead (syscalls.deny), which wins over every allow",
    }];
  });
}

/**
 * Every unknown syscall, group, errno or constant name in the policy, each checked on its
 * own, so that one run reports all of them (the compiler stops at the first).
 */
function nameErrors(
  policy: SeccompPolicy,
  unsafeAllow: string[],
  arch: LinuxLaunchPlan["arch"],
): SeccompCompileError[] {
  const errors: SeccompCompileError[] = [];
  // `path` replaces the error's own, which for a one-name check ends in a meaningless [0].
  const attempt = (check: () => unknown, path?: string) => {
    try {
      check();
    } catch (e) {
      if (!(e instanceof SeccompCompileError)) throw e;
      errors.push(path ? new SeccompCompileError(e.message, { path, hint: e.hint }) : e);
    }
  };
  const errno = (action: SeccompPolicy["default"] | undefined, path: string) => {
    if (action && typeof action === "object" && typeof action.errno === "string") {
      attempt(() => errnoNumber(action.errno as string, `${path}.errno`));
    }
  };
  for (const list of ["allow", "deny"] as const) {
    policy[list]?.forEach((name, i) =>
      attempt(() => resolveSyscallNames([name], arch), `${list}[${i}]`)
    );
  }
  unsafeAllow.forEach((name, i) => attempt(() => checkUnsafeAllowName(name, `unsafe_allow[${i}]`)));
  errno(policy.default, "default");
  errno(policy.deny_action, "deny_action");
  policy.rules?.forEach((rule, i) => {
    attempt(() => resolveSyscallNames([rule.syscall], arch), `rules[${i}].syscall`);
    errno(rule.action, `rules[${i}].action`);
    rule.args?.forEach((arg, j) => {
      attempt(() => resolveValue(arg.value, arch, `rules[${i}].args[${j}].value`));
      if (arg.mask !== undefined) {
        attempt(() => resolveValue(arg.mask!, arch, `rules[${i}].args[${j}].mask`));
      }
    });
  });
  return errors;
}

/**
 * Syscalls the shim itself makes after installing the filter: its last progress report
 * (write), waiting for the launcher's release once the transcript is durable (read), the
 * exec, and exiting when the exec fails; a script's fd and the sealed copies of inputs lose
 * FD_CLOEXEC.
 */
const SHIM_NEEDS = ["write", "read", "execveat", "exit_group"];
const SCRIPT_NEEDS = ["fcntl"];

/** The syscalls the shim needs that a program does not let through. */
function blockedForShim(
  program: Parameters<typeof createFilterRunner>[0],
  arch: LinuxLaunchPlan["arch"],
  script: boolean,
): string[] {
  const run = createFilterRunner(program);
  return [...SHIM_NEEDS, ...(script ? SCRIPT_NEEDS : [])].filter((name) => {
    const ret = run({ nr: syscallNumber(arch, name)!, arch: auditArch(arch) }).ret;
    const action = (ret & SECCOMP_RET_ACTION_FULL) >>> 0;
    return action !== SECCOMP_RET_ALLOW && action !== SECCOMP_RET_LOG;
  });
}

/**
 * Compiles the policy's seccomp filter, with the baseline and the network rules of its
 * `network` key folded in, into the plan section. `enforce.seccomp: off` leaves out the
 * policy's own `syscalls:` rules, not the baseline (DESIGN §3: only `unsafe_allow` lifts a
 * baseline syscall), which is then installed as required.
 * clone3 fails with ENOSYS (libc falls back to clone, whose flags the filter can inspect)
 * unless `syscalls.unsafe_allow` names it.
 *
 * @example
 * ```ts ignore
 * import { lowerSeccomp } from "./lower_seccomp.ts";
 * const seccomp = await lowerSeccomp(loaded, "x86_64");
 * console.log(seccomp?.instructions);
 * ```
 */
export async function lowerSeccomp(
  loaded: LoadedPolicy,
  arch: LinuxLaunchPlan["arch"],
  script = false,
): Promise<SeccompPlan> {
  const enforce = enforcementOf(loaded.policy, "seccomp");
  const policy: SeccompPolicy = enforce === "off" ? { default: "allow" } : seccompPolicyOf(loaded);
  const unsafeAllow = loaded.policy.syscalls?.unsafe_allow ?? [];
  const unknown = nameErrors(policy, unsafeAllow, arch);
  if (unknown.length > 0) {
    const found = unknown.map((e) => ({
      ...locate(loaded, e.path),
      message: e.message,
      ...(e.hint ? { hint: e.hint } : {}),
    }));
    throw new PolicyError(found.sort((a, b) => a.line - b.line || a.col - b.col));
  }
  const idle = idleSyscallRemovals(loaded, policy, arch);
  if (idle.length > 0) throw new PolicyError(idle);
  let compiled: ReturnType<typeof compileSeccomp>;
  try {
    const landlockFs = loaded.policy.filesystem !== undefined &&
      enforcementOf(loaded.policy, "landlock") !== "off";
    const combined = applyBaseline(policy, arch, {
      unsafeAllow,
      rules: [
        ...networkRules(loaded.policy.network),
        ...metadataRules(landlockFs, loaded.policy.filesystem?.write),
      ],
    });
    compiled = compileSeccomp(combined.policy, arch, combined.options);
  } catch (e) {
    if (e instanceof SeccompCompileError) {
      throw new PolicyError([{
        ...locate(loaded, e.path),
        message: e.message,
        ...(e.hint ? { hint: e.hint } : {}),
      }]);
    }
    if (e instanceof SeccompProgramTooLargeError) {
      throw new PolicyError([{
        ...locate(loaded, undefined),
        message: e.message,
        hint: "use @groups and fewer argument rules",
      }]);
    }
    throw e;
  }
  const blocked = blockedForShim(compiled.program, arch, script);
  if (blocked.length > 0) {
    throw new PolicyError([{
      ...locate(loaded, undefined),
      message: `the filter blocks ${
        blocked.join(", ")
      }, which the launch itself needs after installing it`,
      hint: `allow ${blocked.join(", ")} (or a group that has them, such as @system-service)`,
    }]);
  }
  return {
    enforce: enforce === "off" ? "required" : enforce as PlanEnforcement,
    bpfB64: toBase64(compiled.bytes),
    sha256: await sha256Hex(compiled.bytes),
    instructions: compiled.instructionCount,
    flags: [],
  };
}
