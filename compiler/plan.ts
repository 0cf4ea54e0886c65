/**
 * The shape of a LinuxLaunchPlan v1 and of the in-toto Statement that carries it.
 * `docs/plan-and-shim.md` is the prose contract; the shim parses exactly these keys.
 *
 * @module
 */

/** The in-toto Statement type. */
export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";

/** The predicate type that names LinuxLaunchPlan v1. */
export const PLAN_PREDICATE_TYPE = "https://charter.dev/LinuxLaunchPlan/v1";

/** The phases of a launch, in order. */
export const PHASES = ["identity", "visibility", "scrub", "confine", "exec"] as const;

/** The name of a phase. */
export type PhaseName = typeof PHASES[number];

/** `required` refuses on a kernel that lacks the mechanism; `best_effort` records the gap. */
export type PlanEnforcement = "required" | "best_effort";

/** One schedule entry: a primitive the shim must apply, in phase order. */
export type Primitive =
  | {
    id: "linux.identity.userns.v1";
    phase: 1;
    uid?: number;
    gid?: number;
    enforce: PlanEnforcement;
  }
  | {
    id: "linux.visibility.namespaces.v1";
    phase: 2;
    net: boolean;
    pid: boolean;
    ipc: boolean;
    uts: boolean;
    cgroup: boolean;
    enforce: PlanEnforcement;
  }
  | { id: "linux.visibility.hostname.v1"; phase: 2; hostname: string }
  | { id: "linux.visibility.view.v1"; phase: 2 }
  | { id: "linux.visibility.cwd.v1"; phase: 2 }
  | { id: "linux.scrub.signals.v1"; phase: 3 }
  | { id: "linux.scrub.env.v1"; phase: 3 }
  | { id: "linux.scrub.fds.v1"; phase: 3; keep: number[] }
  | { id: "linux.scrub.rlimits.v1"; phase: 3; limits: { resource: RlimitName; value: number }[] }
  | {
    id: "linux.scrub.cgroup.v1";
    phase: 3;
    memoryMax?: number;
    pidsMax?: number;
    cpuMaxPercent?: number;
    enforce: PlanEnforcement;
  }
  | { id: "linux.scrub.setsid.v1"; phase: 3 }
  | { id: "linux.scrub.pdeathsig.v1"; phase: 3; signal: number }
  | { id: "linux.scrub.ids.v1"; phase: 3; uid: number; gid: number }
  | { id: "linux.identity.host_root.v1"; phase: 1 }
  | { id: "linux.scrub.capabilities.v1"; phase: 3; keep: string[] }
  | { id: "linux.scrub.no_new_privs.v1"; phase: 3 }
  | { id: "linux.confine.landlock.v1"; phase: 4 }
  | { id: "linux.confine.seccomp.v1"; phase: 4 }
  | { id: "linux.confine.learn.v1"; phase: 4 }
  | { id: "linux.exec.execveat.v1"; phase: 5 };

/** Resource names of `linux.scrub.rlimits.v1` (RLIMIT_ without the prefix). */
export type RlimitName =
  | "NOFILE"
  | "NPROC"
  | "AS"
  | "DATA"
  | "STACK"
  | "FSIZE"
  | "CORE"
  | "MEMLOCK"
  | "CPU";

/** Landlock filesystem access rights, by their uapi names without `LANDLOCK_ACCESS_FS_`. */
export type LandlockFsRight = typeof LANDLOCK_FS_RIGHTS[number];

/** Every filesystem right a plan may name (Landlock ABI 1–5), in uapi bit order. */
export const LANDLOCK_FS_RIGHTS = [
  "execute",
  "write_file",
  "read_file",
  "read_dir",
  "remove_dir",
  "remove_file",
  "make_char",
  "make_dir",
  "make_reg",
  "make_sock",
  "make_fifo",
  "make_block",
  "make_sym",
  "refer",
  "truncate",
  "ioctl_dev",
] as const;

/** The Landlock ruleset the `linux.confine.landlock.v1` primitive applies. */
export interface LandlockPlan {
  /** `required`: refuse when the kernel cannot handle every right; `best_effort`: degrade and record. */
  enforce: PlanEnforcement;
  /** Filesystem rights the ruleset handles (denied unless a rule allows them). */
  handledFs: LandlockFsRight[];
  /** Path rules; rights on a non-directory are narrowed to file rights by the shim. */
  fs: {
    path: string;
    access: LandlockFsRight[];
    implied?: "target" | "interpreter";
    sha256?: string;
    /** The symlink-free resolution of `path` at compile time, when it differs (not on implied rules). */
    resolved?: string;
    /**
     * A path that exists only in the filesystem view (its /tmp, /proc, /dev/pts, `files`):
     * the child opens it after the view is built; the parent does not.
     */
    inView?: true;
  }[];
  /** TCP rights the ruleset handles. */
  handledNet: ("bind_tcp" | "connect_tcp")[];
  /** Port rules. */
  net: { port: number; access: ("bind_tcp" | "connect_tcp")[] }[];
  /** Scopes (ABI 6). */
  scoped: ("abstract_unix_socket" | "signal")[];
}

/** Mount flags of a view entry, by their `MOUNT_ATTR_` names in lower case. */
export type MountFlag = "ro" | "nosuid" | "nodev" | "noexec";

/** Every mount flag, in the order a plan lists them. */
export const MOUNT_FLAGS: readonly MountFlag[] = ["ro", "nosuid", "nodev", "noexec"];

/** One entry of a filesystem view, applied in plan order (docs/plan-and-shim.md, _The view_). */
export type ViewMount =
  /** `listed` only, always first: the fresh tmpfs that becomes `/`, read-only at the end. */
  | { kind: "root"; sizeBytes: number; flags: MountFlag[] }
  /**
   * A host path shown in the view: `source` as the policy names it, `sourceResolved` its
   * symlink-free resolution at compile time when that differs; a recursive bind.
   */
  | { kind: "bind"; source: string; sourceResolved?: string; target: string; flags: MountFlag[] }
  /** A symlink the host has on the way to a listed path; `link` is its content, verbatim. */
  | { kind: "symlink"; target: string; link: string }
  /** A read-only file (mode 0444) with exactly this content (`files`). */
  | { kind: "file"; target: string; contentB64: string; flags: MountFlag[] }
  /** A private, empty tmpfs (mode 01777) of this size (`tmp`). */
  | { kind: "tmpfs"; target: string; sizeBytes: number; flags: MountFlag[] }
  /** A proc of the child's pid namespace (`proc`). */
  | { kind: "proc"; target: "/proc"; flags: MountFlag[] }
  /** A tmpfs /dev with the minimal devices, and with `devpts` a private devpts (`dev`). */
  | { kind: "dev"; target: "/dev"; devpts: boolean; flags: MountFlag[] }
  /** `host` only: `target` made inaccessible (`hide`). */
  | { kind: "hide"; target: string; flags: MountFlag[] };

/** The filesystem view the `linux.visibility.view.v1` primitive builds. */
export interface ViewPlan {
  /** `listed`: a fresh root holding only the entries; `host`: the host's tree with `hide` entries. */
  mode: "listed" | "host";
  /** `required`: refuse without mount namespaces; `best_effort`: fall back to the host's tree, recorded. */
  enforce: PlanEnforcement;
  /** The entries, applied in this order exactly: parents before children. */
  mounts: ViewMount[];
}

/** The seccomp filter the `linux.confine.seccomp.v1` primitive installs. */
export interface SeccompPlan {
  /** `required`: refuse when seccomp is unavailable; `best_effort`: record the gap. */
  enforce: PlanEnforcement;
  /** The classic-BPF program, `struct sock_filter[]` in host byte order, base64. */
  bpfB64: string;
  /** sha256 of the program bytes. */
  sha256: string;
  /** Number of instructions. */
  instructions: number;
  /** `seccomp(2)` filter flags by name: `log` (SECCOMP_FILTER_FLAG_LOG), `spec_allow`. */
  flags: ("log" | "spec_allow")[];
}

/** The `learn` section of a `charter learn` plan (see compiler/learn_filter.ts). */
export interface LearnSection {
  /** The baseline alone (base64 `struct sock_filter[]`): what it denies stays denied. */
  baselineBpfB64: string;
  /** Per watched syscall number: path arguments `[path, dirfd or -1]` and `[sockaddr, len]`. */
  watch: { nr: number; paths: number[][]; sockaddr?: number[] }[];
  /** The fd the child sends the listener from; the recording filter lets sendmsg on it pass. */
  socketFd: number;
}

/** A digest-bearing reference, in in-toto ResourceDescriptor form. */
export interface ResourceDescriptor {
  /** The resource's name (a path). */
  name: string;
  /** Its digests. */
  digest: { sha256: string };
}

/** One of `target.inputs`: a file the target runs besides the exe, pinned like it. */
export interface PlanInput {
  /** Absolute path, as the policy (and argv) name it. */
  path: string;
  /** sha256 of its contents at compile time. */
  sha256: string;
  /** The symlink-free resolution of `path` at compile time, when it differs. */
  resolved?: string;
}

/** The plan body: the `predicate` of the Statement. */
export interface LinuxLaunchPlan {
  /** Always 1. */
  planVersion: 1;
  /** AUDIT_ARCH name of the architecture the plan was compiled for. */
  arch: "x86_64" | "aarch64";
  /** The program and how to start it. */
  target: {
    exe: string;
    sha256: string;
    argv: string[];
    cwd: string;
    /** The symlink-free resolution of `cwd` at compile time, when it differs. */
    cwdResolved?: string;
    extraArgs: boolean;
    /** `target.inputs` with their digests (absent when there are none). */
    inputs?: PlanInput[];
    /**
     * The interpreters the kernel opens by path to run the target (PT_INTERP, `#!`), in
     * chain order, with their digests (absent for a static executable).
     */
    interpreters?: { path: string; sha256: string }[];
  };
  /** The child's environment: `set` values and `pass` names, nothing else. */
  env: { set: Record<string, string>; pass: string[] };
  /** Primitives in non-decreasing phase order. */
  schedule: Primitive[];
  /** The filesystem view, when the schedule has `linux.visibility.view.v1`. */
  view?: ViewPlan;
  /** The Landlock ruleset, when the schedule has `linux.confine.landlock.v1`. */
  landlock?: LandlockPlan;
  /**
   * The seccomp filter, when the schedule has `linux.confine.seccomp.v1`; with
   * `linux.confine.learn.v1` (`charter learn`), the recording filter.
   */
  seccomp?: SeccompPlan;
  /** What the learn supervisor needs, with `linux.confine.learn.v1` only. */
  learn?: LearnSection;
  /** Every policy file that contributed, with its digest. */
  resolvedDependencies: ResourceDescriptor[];
  /** The compiler that produced the plan. */
  compiler: { name: string; version: string };
  /** When the plan was compiled, RFC 3339 UTC. */
  compiledOn: string;
  /** After this instant the shim refuses the plan, RFC 3339 UTC. */
  notAfter?: string;
}

/** The in-toto Statement v1 that is the DSSE payload. */
export interface PlanStatement {
  /** {@link STATEMENT_TYPE}. */
  _type: typeof STATEMENT_TYPE;
  /** The target executable with its digest. */
  subject: ResourceDescriptor[];
  /** {@link PLAN_PREDICATE_TYPE}. */
  predicateType: typeof PLAN_PREDICATE_TYPE;
  /** The plan body. */
  predicate: LinuxLaunchPlan;
}
