/**
 * Cross-checking a `phase_resolved` record against the plan: every detail the shim
 * reports (docs/plan-and-shim.md, `phase_resolved.details`) must be one the plan can
 * produce, with the values the plan fixes. A forged report (a Landlock ruleset for a plan
 * without Landlock, a seccomp filter of another size, an identity map the plan never
 * asked for) is a problem.
 *
 * @module
 */
import type { LinuxLaunchPlan, Primitive, ViewMount, ViewPlan } from "../compiler/plan.ts";
import { BPF_K, BPF_RET, decodeProgram } from "../compiler/seccomp/bpf.ts";
import {
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_USER_NOTIF,
} from "../compiler/seccomp/actions.ts";
import { fromBase64 } from "../crypto/digest.ts";

/** The launcher's ids, as its `launcher_started` record states them. */
export interface LauncherIds {
  /** uid. */
  uid: number;
  /** gid. */
  gid: number;
}

type Details = Record<string, unknown>;
type Check = (value: unknown) => string | undefined;

const isObject = (v: unknown): v is Details =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === "string");

function subset(v: unknown, allowed: readonly string[], what: string): string | undefined {
  if (!isStrings(v)) return `${what} is not a list of names`;
  const extra = v.filter((x) => !allowed.includes(x));
  return extra.length ? `${what} names ${extra.join(", ")}, which the plan does not` : undefined;
}

function sameSet(v: unknown, expected: readonly string[], what: string): string | undefined {
  return subset(v, expected, what) ??
    ((v as string[]).length === new Set(expected).size
      ? undefined
      : `${what} is ${JSON.stringify(v)}, the plan says ${JSON.stringify(expected)}`);
}

/** JSON text with object keys sorted, so that equal values compare equal. */
function canonical(v: unknown): string {
  return JSON.stringify(
    v,
    (_, x) =>
      isObject(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a < b ? -1 : 1)) : x,
  );
}

function equal(expected: unknown, what: string): Check {
  return (v) =>
    canonical(v) === canonical(expected)
      ? undefined
      : `${what} is ${JSON.stringify(v)}, the plan says ${JSON.stringify(expected)}`;
}

const skippedOnly: Check = (v) =>
  isObject(v) && Object.keys(v).length === 1 && typeof v.skipped === "string"
    ? undefined
    : "is not a {skipped: reason} report";

function find<I extends Primitive["id"]>(
  plan: LinuxLaunchPlan,
  id: I,
): Extract<Primitive, { id: I }> | undefined {
  return plan.schedule.find((p) => p.id === id) as Extract<Primitive, { id: I }> | undefined;
}

/** The detail keys a plan allows in a phase, each with its check; `required` must appear. */
interface PhaseSpec {
  checks: Record<string, Check>;
  required: string[];
}

/** The host id the shim gives a launcher's id 0 unless the plan keeps host root. */
const UNPRIVILEGED_ID = 65534;

/**
 * The host ids of the child, as the shim decides them: the launcher's, except that host
 * root is never lent without `linux.identity.host_root.v1` (65534 instead).
 *
 * @example
 * ```ts ignore
 * import { hostIds } from "./phase_details.ts";
 * console.log(hostIds(plan, { uid: 0, gid: 0 })); // { uid: 65534, gid: 65534 }
 * ```
 */
export function hostIds(plan: LinuxLaunchPlan, ids: LauncherIds): LauncherIds {
  const keep = find(plan, "linux.identity.host_root.v1") !== undefined;
  const host = (id: number) => id === 0 && !keep ? UNPRIVILEGED_ID : id;
  return { uid: host(ids.uid), gid: host(ids.gid) };
}

function identitySpec(plan: LinuxLaunchPlan, ids: LauncherIds): PhaseSpec {
  const checks: Record<string, Check> = {};
  const required: string[] = [];
  if (find(plan, "linux.identity.host_root.v1")) {
    checks.hostRoot = equal(true, "hostRoot");
    required.push("hostRoot");
  }
  const userns = find(plan, "linux.identity.userns.v1");
  if (!userns) return { checks, required };
  // One id given stands for both; none keeps the launcher's own inside.
  const host = hostIds(plan, ids);
  const uidMap = `${userns.uid ?? userns.gid ?? ids.uid} ${host.uid} 1`;
  const gidMap = `${userns.gid ?? userns.uid ?? ids.gid} ${host.gid} 1`;
  checks.userNamespace = (v) => {
    if (isObject(v) && "skipped" in v) {
      return userns.enforce === "best_effort"
        ? skippedOnly(v)
        : "a required user namespace is reported skipped";
    }
    // setgroups is denied, or (a launcher with CAP_SETGID) left allowed and the groups cleared.
    const ok = isObject(v) && Object.keys(v).length === 4 && v.uidMap === uidMap &&
      v.gidMap === gidMap && (v.setgroups === "deny" || v.setgroups === "cleared") &&
      (typeof v.inode === "number" || v.inode === null);
    return ok
      ? undefined
      : `userNamespace is ${JSON.stringify(v)}, the plan maps uid ${uidMap} and gid ${gidMap}`;
  };
  required.push("userNamespace");
  return { checks, required };
}

function visibilitySpec(plan: LinuxLaunchPlan): PhaseSpec {
  const ns = find(plan, "linux.visibility.namespaces.v1");
  const names = ns ? (["net", "pid", "ipc", "uts", "cgroup"] as const).filter((n) => ns[n]) : [];
  const hostname = find(plan, "linux.visibility.hostname.v1");
  const checks: Record<string, Check> = {};
  const required: string[] = [];
  if (ns) {
    checks.namespaces = (v) =>
      !isObject(v) ? "namespaces is not an object" : subset(Object.keys(v), names, "namespaces") ??
        (Object.values(v).every((i) => typeof i === "number" || i === null)
          ? undefined
          : "a namespace inode is not a number");
    if (ns.enforce === "best_effort") {
      checks.namespacesSkipped = (v) =>
        isObject(v) && typeof v.reason === "string"
          ? subset(v.namespaces, names, "namespacesSkipped.namespaces")
          : "namespacesSkipped is not {namespaces, reason}";
    }
    if (ns.net) checks.loopback = equal("up", "loopback");
  }
  if (hostname) {
    checks.hostname = equal(hostname.hostname, "hostname");
    if (ns?.enforce === "best_effort") {
      checks.hostnameSkipped = (v) =>
        typeof v === "string" ? undefined : "hostnameSkipped is not a reason";
    }
  }
  if (!ns?.pid || ns.enforce === "best_effort") {
    checks.descendants = (v) =>
      typeof v === "string" && v.startsWith("not contained")
        ? undefined
        : "descendants is not a 'not contained' statement";
  }
  if (plan.view && find(plan, "linux.visibility.view.v1")) {
    checks.view = viewCheck(plan.view);
    required.push("view");
    // A best_effort pid namespace given up: the view's /proc is left an empty directory.
    if (plan.view.enforce === "best_effort" && plan.view.mounts.some((m) => m.kind === "proc")) {
      checks.viewProcSkipped = (v) =>
        typeof v === "string" ? undefined : "viewProcSkipped is not a reason";
    }
  }
  if (find(plan, "linux.visibility.cwd.v1")) {
    // The shim opens the cwd by its recorded resolution and says what it opened.
    const opened = plan.target.cwdResolved ?? plan.target.cwd;
    checks.cwd = (v) =>
      isObject(v) && Object.keys(v).length === 4 && v.path === plan.target.cwd &&
        v.opened === opened && typeof v.dev === "number" && typeof v.ino === "number"
        ? undefined
        : `cwd is ${JSON.stringify(v)}, the plan opens ${JSON.stringify(opened)}`;
    required.push("cwd");
  }
  return { checks, required };
}

/** One item of `details.view.mounts` as the plan fixes it. */
function reportedMount(m: ViewMount): Details {
  switch (m.kind) {
    case "root":
      return { kind: m.kind, target: "/", flags: m.flags };
    case "bind":
      return { kind: m.kind, target: m.target, source: m.source, flags: m.flags };
    case "symlink":
      return { kind: m.kind, target: m.target, link: m.link };
    default:
      return { kind: m.kind, target: m.target, flags: m.flags };
  }
}

/**
 * `details.view`: every entry of the plan's view in plan order with exactly the plan's
 * flags, except host paths reported absent (skipped as Landlock skips them); or, for a
 * best_effort view, the fallback to the host's tree with the errno.
 */
function viewCheck(view: ViewPlan): Check {
  return (v) => {
    if (!isObject(v)) return "view is not an object";
    if ("requested" in v) {
      if (view.enforce !== "best_effort") return "a required view is reported not built";
      return Object.keys(v).length === 3 && v.mode === "host" && v.requested === view.mode &&
          typeof v.errno === "number"
        ? undefined
        : `view is ${JSON.stringify(v)}, not a {mode: "host", requested, errno} fallback`;
    }
    const keys = Object.keys(v).filter((k) => k !== "absentPaths");
    if (keys.length !== 2 || v.mode !== view.mode || !Array.isArray(v.mounts)) {
      return `view is not {mode: ${JSON.stringify(view.mode)}, mounts}`;
    }
    const absent = v.absentPaths ?? [];
    const hostPaths = view.mounts.flatMap((m) =>
      m.kind === "bind" ? [m.source] : m.kind === "hide" ? [m.target] : []
    );
    const wrongAbsent = subset(absent, hostPaths, "view.absentPaths");
    if (wrongAbsent) return wrongAbsent;
    const expected = view.mounts.filter((m) =>
      !(m.kind === "bind" && (absent as string[]).includes(m.source)) &&
      !(m.kind === "hide" && (absent as string[]).includes(m.target))
    ).map(reportedMount);
    const reported = v.mounts as unknown[];
    for (let i = 0; i < Math.max(expected.length, reported.length); i++) {
      if (canonical(reported[i]) !== canonical(expected[i])) {
        return `view.mounts.${i} is ${JSON.stringify(reported[i] ?? null)}, the plan says ${
          JSON.stringify(expected[i] ?? null)
        }`;
      }
    }
    return undefined;
  };
}

function scrubSpec(plan: LinuxLaunchPlan, launcher: LauncherIds): PhaseSpec {
  const checks: Record<string, Check> = {};
  const required: string[] = [];
  const need = (key: string, check: Check) => {
    checks[key] = check;
    required.push(key);
  };
  if (find(plan, "linux.scrub.signals.v1")) need("signals", equal("reset", "signals"));
  if (find(plan, "linux.scrub.env.v1")) {
    const pass = plan.env.pass;
    need("env", (v) => {
      if (!isObject(v)) return "env is not an object";
      const passed = v.passed as string[];
      const absent = v.absent as string[];
      return sameSet(v.set, Object.keys(plan.env.set), "env.set") ??
        subset(passed, pass, "env.passed") ?? subset(absent, pass, "env.absent") ??
        (passed.length + absent.length === pass.length &&
            passed.every((n) => !absent.includes(n))
          ? undefined
          : "env.passed and env.absent do not split the plan's env.pass");
    });
  }
  const fds = find(plan, "linux.scrub.fds.v1");
  if (fds) need("fds", equal({ kept: fds.keep }, "fds"));
  const rlimits = find(plan, "linux.scrub.rlimits.v1");
  if (rlimits) {
    const limit = new Map(rlimits.limits.map((l) => [l.resource as string, l.value]));
    const names = [...limit.keys()];
    need(
      "rlimits",
      (v) =>
        !isObject(v) ? "rlimits is not an object" : sameSet(Object.keys(v), names, "rlimits") ??
          Object.entries(v).map(([k, n]) =>
            typeof n === "number" && n <= limit.get(k)!
              ? undefined
              : `rlimits.${k} is ${n}, above the plan's ${limit.get(k)}`
          ).find((p) => p),
    );
    checks.rlimitsClamped = (v) =>
      isObject(v)
        ? subset(Object.keys(v), names, "rlimitsClamped")
        : "rlimitsClamped is not an object";
  }
  const cgroup = find(plan, "linux.scrub.cgroup.v1");
  if (cgroup) {
    need("cgroup", (v) => {
      if (isObject(v) && "skipped" in v) {
        return cgroup.enforce === "best_effort"
          ? skippedOnly(v)
          : "a required cgroup is reported skipped";
      }
      if (!isObject(v) || typeof v.path !== "string") return "cgroup has no path";
      return equal(cgroup.memoryMax, "cgroup.memoryMax")(v.memoryMax) ??
        equal(cgroup.pidsMax, "cgroup.pidsMax")(v.pidsMax) ??
        ((v.cpuMax === undefined) === (cgroup.cpuMaxPercent === undefined)
          ? undefined
          : "cgroup.cpuMax does not match the plan's cpuMaxPercent");
    });
  }
  if (find(plan, "linux.scrub.setsid.v1")) need("setsid", equal(true, "setsid"));
  const pdeathsig = find(plan, "linux.scrub.pdeathsig.v1");
  if (pdeathsig && pdeathsig.signal !== 0) need("pdeathsig", equal(pdeathsig.signal, "pdeathsig"));
  const ids = find(plan, "linux.scrub.ids.v1");
  if (ids) need("ids", equal({ uid: ids.uid, gid: ids.gid, groups: [] }, "ids"));
  const host = hostIds(plan, launcher);
  if (!ids && (host.uid !== launcher.uid || host.gid !== launcher.gid)) {
    // A launcher holding host root whose child got no user namespace: the shim switches
    // the child to the unprivileged ids itself, and says why.
    checks.ids = (v) =>
      isObject(v) && typeof v.reason === "string" &&
        canonical({ ...v, reason: "" }) ===
          canonical({ uid: host.uid, gid: host.gid, groups: [], reason: "" })
        ? undefined
        : `ids is ${JSON.stringify(v)}, the shim switches to ${host.uid}:${host.gid}`;
  }
  const caps = find(plan, "linux.scrub.capabilities.v1");
  if (caps) {
    checks.capabilities = (v) => {
      if (!isObject(v)) return "capabilities is not an object";
      const sets = ["effective", "permitted", "inheritable", "ambient", "notHeld"] as const;
      return sameSet(v.keep, caps.keep, "capabilities.keep") ??
        sets.map((s) => subset(v[s], caps.keep, `capabilities.${s}`)).find((p) => p) ??
        (typeof v.bounding === "string" && v.bounding.startsWith("unchanged")
          ? undefined
          : subset(v.bounding, caps.keep, "capabilities.bounding"));
    };
  }
  if (find(plan, "linux.scrub.no_new_privs.v1")) need("noNewPrivs", equal(true, "noNewPrivs"));
  return { checks, required };
}

/**
 * What is wrong with `seccomp.denials` (whether the shim records the filter's denials):
 * a normal launch says `{recorded: true}`, or `{recorded: false, why}`; a learn launch,
 * whose recording filter replaces the plan's, and a skipped filter say nothing (nor did
 * shims before denials were recorded).
 */
function denialsProblem(
  value: unknown,
  plan: LinuxLaunchPlan,
  skipped: boolean,
): string | undefined {
  const learning = plan.schedule.some((p) => p.id === "linux.confine.learn.v1");
  if (learning || skipped) {
    return value === undefined
      ? undefined
      : "seccomp.denials is reported for a learn launch or a skipped filter";
  }
  // Absent in transcripts of shims that did not record denials yet: none were recorded.
  if (value === undefined) return undefined;
  if (!isObject(value)) return "seccomp.denials is not an object";
  const ok = value.recorded === true
    ? Object.keys(value).length === 1
    : value.recorded === false && typeof value.why === "string" &&
      Object.keys(value).length === 2;
  if (!ok) return `seccomp.denials is ${JSON.stringify(value)}, not {recorded} or {why}`;
  // The shim records only a program with errno returns and no notify returns of its own.
  const returns = new Set(
    decodeProgram(fromBase64(plan.seccomp!.bpfB64))
      .filter((ins) => ins.code === (BPF_RET | BPF_K))
      .map((ins) => (ins.k & SECCOMP_RET_ACTION_FULL) >>> 0),
  );
  const recordable = returns.has(SECCOMP_RET_ERRNO) && !returns.has(SECCOMP_RET_USER_NOTIF);
  return value.recorded === true && !recordable
    ? "seccomp.denials says recorded, but the shim records no program without errno returns or with notify returns of its own"
    : undefined;
}

function confineSpec(plan: LinuxLaunchPlan): PhaseSpec {
  const checks: Record<string, Check> = {};
  const required: string[] = [];
  const landlock = plan.landlock;
  if (landlock) {
    required.push("landlock");
    checks.landlock = (v) => {
      if (!isObject(v)) return "landlock is not an object";
      const lossy = "droppedRights" in v || "skipped" in v;
      if (lossy && landlock.enforce !== "best_effort") {
        return "a required Landlock ruleset is reported degraded";
      }
      const compare = lossy ? subset : sameSet;
      const fsRules = v.fsRules as number, netRules = v.netRules as number;
      return compare(v.handledFs, landlock.handledFs, "landlock.handledFs") ??
        compare(v.handledNet, landlock.handledNet, "landlock.handledNet") ??
        compare(v.scoped, landlock.scoped, "landlock.scoped") ??
        subset(v.absentPaths, landlock.fs.map((r) => r.path), "landlock.absentPaths") ??
        (typeof v.abi === "number" && fsRules <= landlock.fs.length &&
            netRules <= landlock.net.length
          ? undefined
          : "landlock.abi, fsRules or netRules is not what the plan allows") ??
        (v.denials === undefined || v.denials === "recorded" ||
            (v.denials === "unobserved" && typeof v.denialsUnobserved === "string")
          ? undefined
          : "landlock.denials is neither recorded nor unobserved with a reason") ??
        // The kernel logs denials from ABI 7 on, and a skipped ruleset has none to log.
        (v.denials === "recorded" && (v.abi as number) < 7 ||
            v.denials !== undefined && "skipped" in v
          ? `landlock.denials is ${v.denials} for ABI ${v.abi}${
            "skipped" in v ? ", skipped" : ""
          }, which logs none`
          : undefined);
    };
  }
  const seccomp = plan.seccomp;
  if (seccomp) {
    required.push("seccomp");
    checks.seccomp = (v) => {
      if (!isObject(v)) return "seccomp is not an object";
      const lossy = "droppedFlags" in v || "skipped" in v;
      if (lossy && seccomp.enforce !== "best_effort") {
        return "a required seccomp filter is reported degraded";
      }
      return equal(seccomp.sha256, "seccomp.seccompSha256")(v.seccompSha256) ??
        equal(seccomp.instructions, "seccomp.instructions")(v.instructions) ??
        (lossy ? subset : sameSet)(v.flags, seccomp.flags, "seccomp.flags") ??
        denialsProblem(v.denials, plan, "skipped" in v);
    };
  }
  return { checks, required };
}

function execSpec(): PhaseSpec {
  return {
    checks: { script: (v) => (typeof v === "boolean" ? undefined : "script is not a boolean") },
    required: ["script"],
  };
}

/** Whether any mechanism of the phase may give something up (`enforce: best_effort`). */
function mayDegrade(plan: LinuxLaunchPlan, phase: number): boolean {
  const sections = phase === 4 ? [plan.landlock, plan.seccomp] : phase === 2 ? [plan.view] : [];
  return sections.some((s) => s?.enforce === "best_effort") ||
    plan.schedule.some((p) => p.phase === phase && "enforce" in p && p.enforce === "best_effort");
}

/**
 * What is wrong with a `phase_resolved` record's `result` and `details`, measured
 * against the plan and the launcher's ids.
 *
 * @example
 * ```ts ignore
 * import { phaseDetailProblems } from "./phase_details.ts";
 * for (const p of phaseDetailProblems(record, plan, { uid: 0, gid: 0 })) console.error(p);
 * ```
 */
export function phaseDetailProblems(
  record: { phase: number; result: string; details: Details },
  plan: LinuxLaunchPlan,
  ids: LauncherIds,
): string[] {
  const { phase, result, details } = record;
  const present = plan.schedule.some((p) => p.phase === phase);
  const spec = [
    identitySpec(plan, ids),
    visibilitySpec(plan),
    scrubSpec(plan, ids),
    confineSpec(plan),
    execSpec(),
  ][
    phase - 1
  ];
  const problems: string[] = [];
  if (!present) {
    if (result !== "not_required") {
      problems.push(`result is ${result}, but the plan has no primitive of this phase`);
    }
  } else if (result === "not_required") {
    problems.push("result is not_required, but the plan has primitives of this phase");
  } else if (result === "degraded" && !mayDegrade(plan, phase)) {
    problems.push("result is degraded, but every mechanism of this phase is required");
  }
  for (const [key, value] of Object.entries(details)) {
    const check = spec.checks[key];
    if (!check) {
      problems.push(`details.${key} is not something this plan's phase ${phase} can report`);
      continue;
    }
    const problem = check(value);
    if (problem) problems.push(problem.startsWith("is ") ? `details.${key} ${problem}` : problem);
  }
  for (const key of spec.required) {
    if (!(key in details)) problems.push(`details.${key} is missing`);
  }
  return problems;
}
