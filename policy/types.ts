/**
 * The public types of policies. `schema.ts` checks at compile time that its valibot
 * schema infers exactly these types, so the documentation cannot drift from the
 * validator. {@link PolicyInput} is what authors write; {@link Policy} is the validated
 * result, with sizes, durations and percentages turned into numbers.
 *
 * @module
 */
import type { NetworkProtocol } from "./network_protocols.ts";

/** What a syscall gets: allowed, killed, trapped, logged, or failed with an errno. */
export type SyscallAction =
  | "allow"
  | "kill"
  | "kill_process"
  | "trap"
  | "log"
  | { errno: string | number };

/** One condition on a syscall argument; `value` and `mask` may be constant names. */
export interface SyscallArgCondition {
  /** Argument index, 0 to 5. */
  arg: number;
  /** Comparison; `masked_eq` compares `(arg & mask) == value`. */
  op: "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "masked_eq";
  /** The value compared with, a number or a constant name such as `AF_NETLINK`. */
  value: number | string;
  /** The mask for `masked_eq`. */
  mask?: number | string;
}

/** A syscall with argument conditions (all must hold) and the action when they do. */
export interface SyscallRule {
  /** Syscall name. */
  syscall: string;
  /** Conditions, all of which must hold. */
  args?: SyscallArgCondition[];
  /** The action when they hold. */
  action: SyscallAction;
}

/** How strictly a mechanism is enforced when the kernel lacks it. */
export type Enforcement = "required" | "best_effort" | "off";

/** The parts of a policy that are the same before and after validation. */
export interface PolicyCommon {
  /** The policy language version; always 1. */
  version: 1;
  /** A short name: lowercase letters, digits, `.`, `_`, `-`. */
  name: string;
  /** What the policy is for. */
  description?: string;
  /** Policies merged before this one: relative files or `builtin:NAME`. */
  extends?: string[];
  /**
   * This file may set `enforce.MECHANISM: off` although a file it extends has rules of
   * that mechanism (which `off` then drops); without it that is an error.
   */
  override?: boolean;
  /** The program to run. */
  target: {
    /** Absolute path of the executable; hashed at compile time, verified at launch. */
    exe: string;
    /** argv including argv[0]; defaults to the exe's file name. */
    argv?: string[];
    /** Working directory of the child; defaults to `/`. */
    cwd?: string;
    /** Whether `launch … -- args` may append to argv; defaults to false. */
    extra_args?: boolean;
    /**
     * Other files the target runs (scripts named in argv): hashed at compile time and
     * pinned at launch like the exe.
     */
    inputs?: string[];
  };
  /** The child's environment: nothing but `set` and `pass` reaches it. */
  env?: {
    /** Variables set to fixed values. */
    set?: { [name: string]: string };
    /** Variables copied from the launcher's environment when present there. */
    pass?: string[];
  };
  /** File descriptors kept open beyond 0, 1 and 2. */
  fds?: {
    /** Descriptor numbers, each at least 3. */
    pass?: number[];
  };
  /**
   * User namespace and the ids inside it. One of `uid` and `gid` alone stands for both.
   * `host_root: true` lets the child hold the launcher's own ids, host root included;
   * without it a root launcher's child runs as the unprivileged host id 65534.
   */
  user?: { namespace?: boolean; host_root?: boolean; uid?: number; gid?: number };
  /** New namespaces for the child. */
  namespaces?: { net?: boolean; pid?: boolean; ipc?: boolean; uts?: boolean; cgroup?: boolean };
  /** Hostname inside a new UTS namespace. */
  hostname?: string;
  /**
   * Landlock TCP rules (ports not listed are denied) and the other protocols the child may
   * use (seccomp socket() rules; TCP is always allowed once `network` is present).
   */
  network?: { connect_tcp?: number[]; bind_tcp?: number[]; protocols?: NetworkProtocol[] };
  /** Landlock scopes. */
  scope?: { signals?: boolean; abstract_unix?: boolean };
  /** The seccomp filter. */
  syscalls?: {
    /** What syscalls neither allowed nor denied get (default `{ errno: EPERM }`). */
    default?: SyscallAction;
    /** What denied syscalls get (default: `default`, or EPERM when that lets them run). */
    deny_action?: SyscallAction;
    allow?: string[];
    deny?: string[];
    rules?: SyscallRule[];
    /** Baseline syscalls re-enabled by name (nested namespaces, ptrace, io_uring, ...). */
    unsafe_allow?: string[];
  };
  /** Capabilities kept; default none. */
  capabilities?: string[];
  /**
   * Grants of the layers before this file (the files it extends) that this file takes
   * away: each item must be granted by them, exactly as written there.
   */
  remove?: PolicyRemove;
  /** Kill the child when the launcher dies. */
  die_with_parent?: boolean;
  /** Start the child in a new session (no TIOCSTI into the launcher's terminal). */
  new_session?: boolean;
  /** Enforcement level per mechanism. */
  enforce?: {
    landlock?: Enforcement;
    seccomp?: Enforcement;
    namespaces?: Enforcement;
    cgroup?: Enforcement;
  };
}

/** The list-valued grants `remove` can take away, shaped like the keys that grant them. */
export interface PolicyRemove {
  /** Variable names no longer passed. */
  env?: { pass?: string[] };
  /** Descriptors no longer kept. */
  fds?: { pass?: number[] };
  /** Paths no longer granted (the exact path a layer listed; no carving out of a directory). */
  filesystem?: { read?: string[]; write?: string[]; exec?: string[] };
  /** Ports and protocols no longer allowed. */
  network?: { connect_tcp?: number[]; bind_tcp?: number[]; protocols?: NetworkProtocol[] };
  /** Syscall names or groups no longer allowed (as a layer listed them). */
  syscalls?: { allow?: string[]; unsafe_allow?: string[] };
  /** Capabilities no longer kept. */
  capabilities?: string[];
}

/**
 * What the child sees (`view`, `tmp`, `proc`, `dev`, `files`, `mounts`, `hide`: a mount
 * namespace) and touches (`read`, `write`, `exec`: Landlock, which also decide what a
 * `listed` view shows). The parts that are the same as written and as validated.
 */
export interface FilesystemCommon {
  /**
   * `listed`: a private mount namespace whose tree holds only the paths this policy names,
   * read-only unless under `write`; `host`: the host's tree, Landlock alone decides.
   */
  view?: "listed" | "host";
  /** Paths the child may read (files and directory listings). */
  read?: string[];
  /** Paths the child may read, create, change and remove. */
  write?: string[];
  /** Paths the child may execute (and read). */
  exec?: string[];
  /** A fresh /proc of the child's pid namespace (`listed` only). */
  proc?: boolean;
  /** `minimal`: null zero full random urandom tty; `terminal`: also a private devpts; `none`. */
  dev?: "minimal" | "terminal" | "none";
  /** Read-only files that exist only in the view, by absolute target (`listed` only). */
  files?: { [target: string]: { content: string } };
  /** View `host` only: paths made inaccessible. */
  hide?: string[];
}

/** The filesystem keys as validated. */
export interface Filesystem extends FilesystemCommon {
  /** A private, empty, writable /tmp of this many bytes, or false for none. */
  tmp?: false | number;
  /** Host paths shown at another target (`listed` only); read-only unless `write`. */
  mounts?: { source: string; target: string; write: boolean }[];
}

/** The filesystem keys as written. */
export interface FilesystemInput extends FilesystemCommon {
  /** A private, empty, writable /tmp of this size (`"64MiB"`), or false for none. */
  tmp?: false | number | string;
  /** Host paths shown at another target (`listed` only); read-only unless `write: true`. */
  mounts?: { source: string; target: string; write?: boolean }[];
}

/** Resource limits as validated: counts, bytes and seconds. */
export interface Limits {
  /** Open file descriptors (RLIMIT_NOFILE). */
  nofile?: number;
  /** Processes and threads of the real uid (RLIMIT_NPROC). */
  nproc?: number;
  /** Address space in bytes (RLIMIT_AS). */
  as?: number;
  /** Data segment in bytes (RLIMIT_DATA). */
  data?: number;
  /** Stack in bytes (RLIMIT_STACK). */
  stack?: number;
  /** Largest file the child may write, in bytes (RLIMIT_FSIZE). */
  fsize?: number;
  /** Core dump size in bytes (RLIMIT_CORE). */
  core?: number;
  /** Locked memory in bytes (RLIMIT_MEMLOCK). */
  memlock?: number;
  /** CPU time in seconds (RLIMIT_CPU). */
  cpu?: number;
}

/** Resource limits as written: sizes may be `"2GiB"`, durations `"30s"`. */
export interface LimitsInput {
  /** Open file descriptors (RLIMIT_NOFILE). */
  nofile?: number;
  /** Processes and threads of the real uid (RLIMIT_NPROC). */
  nproc?: number;
  /** Address space in bytes (RLIMIT_AS). */
  as?: number | string;
  /** Data segment in bytes (RLIMIT_DATA). */
  data?: number | string;
  /** Stack in bytes (RLIMIT_STACK). */
  stack?: number | string;
  /** Largest file the child may write, in bytes (RLIMIT_FSIZE). */
  fsize?: number | string;
  /** Core dump size in bytes (RLIMIT_CORE). */
  core?: number | string;
  /** Locked memory in bytes (RLIMIT_MEMLOCK). */
  memlock?: number | string;
  /** CPU time in seconds (RLIMIT_CPU). */
  cpu?: number | string;
}

/** cgroup v2 limits as validated: bytes, a count, and percent of one CPU. */
export interface CgroupLimits {
  /** memory.max in bytes. */
  memory_max?: number;
  /** pids.max: tasks in the cgroup. */
  pids_max?: number;
  /** cpu.max as percent of one CPU. */
  cpu_max?: number;
}

/** cgroup v2 limits as written. */
export interface CgroupLimitsInput {
  /** memory.max in bytes. */
  memory_max?: number | string;
  /** pids.max: tasks in the cgroup. */
  pids_max?: number;
  /** cpu.max as percent of one CPU. */
  cpu_max?: string;
}

/** A validated policy (language v1). */
export interface Policy extends PolicyCommon {
  /** The filesystem view and Landlock filesystem rules. */
  filesystem?: Filesystem;
  /** Resource limits (soft = hard). */
  limits?: Limits;
  /** cgroup v2 limits. */
  cgroup?: CgroupLimits;
}

/** A policy as written, the parameter type of `definePolicy`. */
export interface PolicyInput extends PolicyCommon {
  /** The filesystem view and Landlock filesystem rules. */
  filesystem?: FilesystemInput;
  /** Resource limits (soft = hard). */
  limits?: LimitsInput;
  /** cgroup v2 limits. */
  cgroup?: CgroupLimitsInput;
}
