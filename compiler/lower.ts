/**
 * Lowering a validated policy to the shim's phase schedule and the Landlock ruleset.
 *
 * @module
 */
import type { Policy } from "../policy/types.ts";
import {
  LANDLOCK_FS_RIGHTS,
  type LandlockFsRight,
  type LandlockPlan,
  type PlanEnforcement,
  type Primitive,
  type RlimitName,
} from "./plan.ts";

/** Rights of `filesystem.read`: read files and list directories. */
export const READ_RIGHTS: LandlockFsRight[] = ["read_file", "read_dir"];

/** Rights of `filesystem.write`: read, create, change and remove (no device nodes). */
export const WRITE_RIGHTS: LandlockFsRight[] = [
  ...READ_RIGHTS,
  "write_file",
  "truncate",
  "remove_dir",
  "remove_file",
  "make_dir",
  "make_reg",
  "make_sock",
  "make_fifo",
  "make_sym",
  "refer",
  "ioctl_dev",
];

/** Rights of `filesystem.exec`: execute and read (scripts are read by their interpreter). */
export const EXEC_RIGHTS: LandlockFsRight[] = ["execute", "read_file"];

/** Every filesystem right the compiler knows: all handled, so all denied by default. */
export const ALL_FS_RIGHTS: LandlockFsRight[] = [...LANDLOCK_FS_RIGHTS];

const RLIMITS: [keyof NonNullable<Policy["limits"]>, RlimitName][] = [
  ["as", "AS"],
  ["core", "CORE"],
  ["cpu", "CPU"],
  ["data", "DATA"],
  ["fsize", "FSIZE"],
  ["memlock", "MEMLOCK"],
  ["nofile", "NOFILE"],
  ["nproc", "NPROC"],
  ["stack", "STACK"],
];

/** A file the target needs EXECUTE on, with its digest. */
export interface ImpliedExec {
  /** Absolute path. */
  path: string;
  /** Why it is granted. */
  implied: "target" | "interpreter";
  /** sha256 of its contents at compile time. */
  sha256: string;
}

/** The effective enforcement level of a mechanism (DESIGN §3 defaults). */
export function enforcementOf(
  policy: Policy,
  mechanism: keyof NonNullable<Policy["enforce"]>,
): PlanEnforcement | "off" {
  const defaults = {
    landlock: "required",
    seccomp: "required",
    namespaces: "required",
    cgroup: "best_effort",
  } as const;
  return policy.enforce?.[mechanism] ?? defaults[mechanism];
}

/** True when the policy asks for any Landlock rule or scope. */
export function usesLandlock(policy: Policy): boolean {
  const { filesystem: fs, network: net, scope } = policy;
  return enforcementOf(policy, "landlock") !== "off" &&
    (fs !== undefined || net !== undefined || scope?.signals === true ||
      scope?.abstract_unix === true);
}

/**
 * Builds the Landlock ruleset: the policy's paths with their rights, the implied EXECUTE
 * grants for the target and its interpreters, ports and scopes.
 *
 * @example
 * ```ts
 * import { lowerLandlock } from "./lower.ts";
 * const ruleset = lowerLandlock(
 *   { version: 1, name: "x", target: { exe: "/bin/true" }, filesystem: { read: ["/usr"] } },
 *   [],
 * );
 * console.log(ruleset.fs[0]); // { path: "/usr", access: ["read_file", "read_dir"] }
 * ```
 */
export function lowerLandlock(policy: Policy, implied: ImpliedExec[]): LandlockPlan {
  const rights = new Map<string, Set<LandlockFsRight>>();
  const grant = (paths: string[] | undefined, access: LandlockFsRight[]) => {
    for (const path of paths ?? []) {
      const set = rights.get(path) ?? new Set();
      access.forEach((r) => set.add(r));
      rights.set(path, set);
    }
  };
  grant(policy.filesystem?.read, READ_RIGHTS);
  // The target reads its inputs by path (unless the shim hands it a pinned copy).
  grant(policy.target.inputs, ["read_file"]);
  grant(policy.filesystem?.write, WRITE_RIGHTS);
  grant(policy.filesystem?.exec, EXEC_RIGHTS);
  const order = (set: Set<LandlockFsRight>) => ALL_FS_RIGHTS.filter((r) => set.has(r));
  const fs: LandlockPlan["fs"] = [...rights].map(([path, set]) => ({ path, access: order(set) }));
  for (const exe of implied) {
    fs.push({ path: exe.path, access: EXEC_RIGHTS, implied: exe.implied, sha256: exe.sha256 });
  }

  const ports = new Map<number, Set<"bind_tcp" | "connect_tcp">>();
  const port = (list: number[] | undefined, right: "bind_tcp" | "connect_tcp") =>
    list?.forEach((p) => ports.set(p, (ports.get(p) ?? new Set()).add(right)));
  port(policy.network?.bind_tcp, "bind_tcp");
  port(policy.network?.connect_tcp, "connect_tcp");
  const netRights = ["bind_tcp", "connect_tcp"] as const;
  return {
    enforce: enforcementOf(policy, "landlock") as PlanEnforcement,
    handledFs: policy.filesystem !== undefined ? ALL_FS_RIGHTS : [],
    fs: policy.filesystem !== undefined ? fs : [],
    handledNet: policy.network !== undefined ? [...netRights] : [],
    net: [...ports].sort(([a], [b]) => a - b).map(([p, set]) => ({
      port: p,
      access: netRights.filter((r) => set.has(r)),
    })),
    scoped: [
      ...(policy.scope?.abstract_unix ? ["abstract_unix_socket" as const] : []),
      ...(policy.scope?.signals ? ["signal" as const] : []),
    ],
  };
}

/**
 * Builds the ordered list of primitives for a policy. The scrub primitives are always
 * present: a policy cannot opt out of env and fd scrubbing or no_new_privs.
 *
 * @example
 * ```ts
 * import { lowerSchedule } from "./lower.ts";
 * const schedule = lowerSchedule({ version: 1, name: "x", target: { exe: "/bin/true" } });
 * console.log(schedule.at(-1)?.id); // "linux.exec.execveat.v1"
 * ```
 */
export function lowerSchedule(
  policy: Policy,
  sections: { seccomp?: boolean; view?: boolean } = {},
): Primitive[] {
  const schedule: Primitive[] = [];
  const namespaces = enforcementOf(policy, "namespaces");
  if (policy.user?.host_root) schedule.push({ id: "linux.identity.host_root.v1", phase: 1 });
  // One id given stands for both: `uid: 65534` alone must not run as gid 0.
  const uid = policy.user?.uid ?? policy.user?.gid;
  const gid = policy.user?.gid ?? policy.user?.uid;
  if (policy.user?.namespace && namespaces !== "off") {
    schedule.push({
      id: "linux.identity.userns.v1",
      phase: 1,
      ...(uid !== undefined ? { uid } : {}),
      ...(gid !== undefined ? { gid } : {}),
      enforce: namespaces,
    });
  }
  const ns = policy.namespaces ?? {};
  if ((ns.net || ns.pid || ns.ipc || ns.uts || ns.cgroup) && namespaces !== "off") {
    schedule.push({
      id: "linux.visibility.namespaces.v1",
      phase: 2,
      net: ns.net ?? false,
      pid: ns.pid ?? false,
      ipc: ns.ipc ?? false,
      uts: ns.uts ?? false,
      cgroup: ns.cgroup ?? false,
      enforce: namespaces,
    });
  }
  if (policy.hostname !== undefined) {
    schedule.push({ id: "linux.visibility.hostname.v1", phase: 2, hostname: policy.hostname });
  }
  if (sections.view) schedule.push({ id: "linux.visibility.view.v1", phase: 2 });
  schedule.push({ id: "linux.visibility.cwd.v1", phase: 2 });
  schedule.push({ id: "linux.scrub.signals.v1", phase: 3 }, { id: "linux.scrub.env.v1", phase: 3 });
  schedule.push({
    id: "linux.scrub.fds.v1",
    phase: 3,
    keep: [...new Set(policy.fds?.pass ?? [])].sort((a, b) => a - b),
  });
  const limits = RLIMITS.flatMap(([key, resource]) => {
    const value = policy.limits?.[key];
    return value === undefined ? [] : [{ resource, value }];
  });
  if (limits.length > 0) schedule.push({ id: "linux.scrub.rlimits.v1", phase: 3, limits });
  const cgroup = enforcementOf(policy, "cgroup");
  if (policy.cgroup && cgroup !== "off") {
    schedule.push({
      id: "linux.scrub.cgroup.v1",
      phase: 3,
      ...(policy.cgroup.memory_max !== undefined ? { memoryMax: policy.cgroup.memory_max } : {}),
      ...(policy.cgroup.pids_max !== undefined ? { pidsMax: policy.cgroup.pids_max } : {}),
      ...(policy.cgroup.cpu_max !== undefined ? { cpuMaxPercent: policy.cgroup.cpu_max } : {}),
      enforce: cgroup,
    });
  }
  if (policy.new_session) schedule.push({ id: "linux.scrub.setsid.v1", phase: 3 });
  if (policy.die_with_parent) {
    schedule.push({ id: "linux.scrub.pdeathsig.v1", phase: 3, signal: 9 });
  }
  if (!policy.user?.namespace && uid !== undefined && gid !== undefined) {
    schedule.push({ id: "linux.scrub.ids.v1", phase: 3, uid, gid });
  }
  // No capabilities unless the policy keeps some (DESIGN §3: deny by default).
  const keep = [...new Set(policy.capabilities ?? [])].sort();
  schedule.push({ id: "linux.scrub.capabilities.v1", phase: 3, keep });
  schedule.push({ id: "linux.scrub.no_new_privs.v1", phase: 3 });
  if (usesLandlock(policy)) schedule.push({ id: "linux.confine.landlock.v1", phase: 4 });
  // Seccomp is always the last step before exec: nothing after it needs a syscall it denies.
  if (sections.seccomp) schedule.push({ id: "linux.confine.seccomp.v1", phase: 4 });
  schedule.push({ id: "linux.exec.execveat.v1", phase: 5 });
  return schedule;
}
