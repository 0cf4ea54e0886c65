//! Parsing and validating the signed payload: an in-toto Statement v1 whose predicate is a
//! LinuxLaunchPlan v1 (docs/plan-and-shim.md). Every object is parsed strictly (unknown
//! keys are `plan_invalid`); the result is a [`Plan`] whose strings are ready for the child.

use crate::digest::is_sha256_hex;
use crate::error::Refusal;
use crate::landlock;
use crate::rfc3339;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::ffi::CString;

/// The in-toto Statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// The predicate type of LinuxLaunchPlan v1.
pub const PREDICATE_TYPE: &str = "https://charter.dev/LinuxLaunchPlan/v1";

/// The architecture this shim was built for, as plans name it.
#[cfg(target_arch = "x86_64")]
pub const BUILD_ARCH: &str = "x86_64";
/// The architecture this shim was built for, as plans name it.
#[cfg(target_arch = "aarch64")]
pub const BUILD_ARCH: &str = "aarch64";
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("charter's shim supports x86_64 and aarch64 only");

/// The phase names, index = phase − 1.
pub const PHASE_NAMES: [&str; 5] = ["identity", "visibility", "scrub", "confine", "exec"];

/// A schedule primitive this shim knows. Parameters live in [`Plan`] (e.g. [`Plan::keep`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `linux.identity.host_root.v1`: the child may hold the launcher's own ids, host root
    /// included (without it, a root launcher's child runs as an unprivileged host id).
    HostRoot,
    /// `linux.identity.userns.v1`: a user namespace; the parent writes the id maps.
    UserNs,
    /// `linux.visibility.namespaces.v1`: net/pid/ipc/uts/cgroup namespaces.
    Namespaces,
    /// `linux.visibility.hostname.v1`: sethostname in the new UTS namespace.
    Hostname,
    /// `linux.visibility.cwd.v1`: chdir(target.cwd).
    Cwd,
    /// `linux.scrub.signals.v1`: default dispositions, empty mask.
    Signals,
    /// `linux.scrub.env.v1`: envp from `env` only.
    Env,
    /// `linux.scrub.fds.v1`: close all but 0, 1, 2 and `keep`.
    Fds,
    /// `linux.scrub.rlimits.v1`: prlimit64, soft = hard.
    Rlimits,
    /// `linux.scrub.cgroup.v1`: a child cgroup joined with CLONE_INTO_CGROUP.
    Cgroup,
    /// `linux.scrub.setsid.v1`: a new session without a controlling terminal.
    Setsid,
    /// `linux.scrub.pdeathsig.v1`: PR_SET_PDEATHSIG, then exit if the parent already died.
    Pdeathsig,
    /// `linux.scrub.ids.v1`: setgroups, setresgid, setresuid (without a user namespace).
    Ids,
    /// `linux.scrub.capabilities.v1`: every capability set reduced to `keep`.
    Capabilities,
    /// `linux.scrub.no_new_privs.v1`: PR_SET_NO_NEW_PRIVS.
    NoNewPrivs,
    /// `linux.confine.landlock.v1`: landlock_restrict_self with the prepared ruleset.
    Landlock,
    /// `linux.confine.seccomp.v1`: the plan's seccomp filter, last before exec.
    Seccomp,
    /// `linux.exec.execveat.v1`: execveat of the verified fd.
    Exec,
}

impl Step {
    /// Every known primitive, in the one order the shim runs them (and plans list them).
    pub const ALL: [Step; 18] = [
        Step::HostRoot,
        Step::UserNs,
        Step::Namespaces,
        Step::Hostname,
        Step::Cwd,
        Step::Signals,
        Step::Env,
        Step::Fds,
        Step::Rlimits,
        Step::Cgroup,
        Step::Setsid,
        Step::Pdeathsig,
        Step::Ids,
        Step::Capabilities,
        Step::NoNewPrivs,
        Step::Landlock,
        Step::Seccomp,
        Step::Exec,
    ];

    /// Primitives every plan must contain (the scrub cannot be dropped by editing a plan).
    const REQUIRED: [Step; 5] = [
        Step::Signals,
        Step::Env,
        Step::Fds,
        Step::NoNewPrivs,
        Step::Exec,
    ];

    /// The primitive id.
    pub fn id(self) -> &'static str {
        match self {
            Step::HostRoot => "linux.identity.host_root.v1",
            Step::UserNs => "linux.identity.userns.v1",
            Step::Namespaces => "linux.visibility.namespaces.v1",
            Step::Hostname => "linux.visibility.hostname.v1",
            Step::Cwd => "linux.visibility.cwd.v1",
            Step::Signals => "linux.scrub.signals.v1",
            Step::Env => "linux.scrub.env.v1",
            Step::Fds => "linux.scrub.fds.v1",
            Step::Rlimits => "linux.scrub.rlimits.v1",
            Step::Cgroup => "linux.scrub.cgroup.v1",
            Step::Setsid => "linux.scrub.setsid.v1",
            Step::Pdeathsig => "linux.scrub.pdeathsig.v1",
            Step::Ids => "linux.scrub.ids.v1",
            Step::Capabilities => "linux.scrub.capabilities.v1",
            Step::NoNewPrivs => "linux.scrub.no_new_privs.v1",
            Step::Landlock => "linux.confine.landlock.v1",
            Step::Seccomp => "linux.confine.seccomp.v1",
            Step::Exec => "linux.exec.execveat.v1",
        }
    }

    /// What the step does, for fault details.
    pub fn action(self) -> &'static str {
        match self {
            Step::HostRoot => "Keeping the launcher's ids",
            Step::UserNs => "Waiting for the user namespace's id maps",
            Step::Namespaces => "Bringing up loopback in the new network namespace",
            Step::Hostname => "Setting the hostname",
            Step::Cwd => "Changing to the plan's cwd",
            Step::Signals => "Resetting signal dispositions and the signal mask",
            Step::Env => "Building the environment",
            Step::Fds => "Closing the fds the plan does not keep",
            Step::Rlimits => "Setting resource limits",
            Step::Cgroup => "Joining the cgroup",
            Step::Setsid => "Starting a new session",
            Step::Pdeathsig => "Setting the parent-death signal",
            Step::Ids => "Switching user and group ids",
            Step::Capabilities => "Reducing capabilities",
            Step::NoNewPrivs => "Setting no_new_privs",
            Step::Landlock => "Enforcing the Landlock ruleset",
            Step::Seccomp => "Installing the seccomp filter",
            Step::Exec => "Executing the target",
        }
    }

    /// The phase the primitive belongs to (1–5).
    pub fn phase(self) -> u8 {
        match self {
            Step::HostRoot | Step::UserNs => 1,
            Step::Namespaces | Step::Hostname | Step::Cwd => 2,
            Step::Signals
            | Step::Env
            | Step::Fds
            | Step::Rlimits
            | Step::Cgroup
            | Step::Setsid
            | Step::Pdeathsig
            | Step::Ids
            | Step::Capabilities
            | Step::NoNewPrivs => 3,
            Step::Landlock | Step::Seccomp => 4,
            Step::Exec => 5,
        }
    }

    /// The step's code on the progress pipe.
    pub fn code(self) -> u32 {
        match self {
            Step::Cwd => 0,
            Step::Signals => 1,
            Step::Env => 2,
            Step::Fds => 3,
            Step::NoNewPrivs => 4,
            Step::Exec => 5,
            Step::UserNs => 6,
            Step::Namespaces => 7,
            Step::Hostname => 8,
            Step::Rlimits => 9,
            Step::Cgroup => 10,
            Step::Setsid => 11,
            Step::Pdeathsig => 12,
            Step::Ids => 13,
            Step::Capabilities => 14,
            Step::Landlock => 15,
            Step::Seccomp => 16,
            Step::HostRoot => 17,
        }
    }

    /// The step with a given progress-pipe code.
    pub fn from_code(code: u32) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.code() == code)
    }

    fn from_id(id: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.id() == id)
    }

    pub(crate) fn order(self) -> usize {
        Step::ALL
            .iter()
            .position(|&s| s == self)
            .unwrap_or(usize::MAX)
    }
}

/// `enforce` of a mechanism: refuse when the host cannot, or run and record the gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Enforce {
    /// Refuse with `kernel_unsupported` before any child exists.
    Required,
    /// Run, and record `degraded` with what was skipped.
    BestEffort,
}

/// `linux.identity.userns.v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserNsParams {
    /// The uid inside (default: the launcher's euid).
    pub uid: Option<u32>,
    /// The gid inside (default: the launcher's egid).
    pub gid: Option<u32>,
    /// Enforcement.
    pub enforce: Enforce,
}

/// `linux.visibility.namespaces.v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamespaceParams {
    /// A new network namespace (loopback up).
    pub net: bool,
    /// A new pid namespace (the target is its pid 1).
    pub pid: bool,
    /// A new IPC namespace.
    pub ipc: bool,
    /// A new UTS namespace.
    pub uts: bool,
    /// A new cgroup namespace.
    pub cgroup: bool,
    /// Enforcement.
    pub enforce: Enforce,
}

impl NamespaceParams {
    /// `(name, CLONE_NEW* flag, requested)` for each namespace.
    pub fn each(&self) -> [(&'static str, u64, bool); 5] {
        [
            ("net", libc::CLONE_NEWNET as u64, self.net),
            ("pid", libc::CLONE_NEWPID as u64, self.pid),
            ("ipc", libc::CLONE_NEWIPC as u64, self.ipc),
            ("uts", libc::CLONE_NEWUTS as u64, self.uts),
            ("cgroup", libc::CLONE_NEWCGROUP as u64, self.cgroup),
        ]
    }

    /// The clone flags of the requested namespaces.
    pub fn flags(&self) -> u64 {
        self.each()
            .iter()
            .filter(|(_, _, on)| *on)
            .fold(0, |f, (_, flag, _)| f | flag)
    }
}

/// `linux.scrub.cgroup.v1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CgroupParams {
    /// `memory.max`, bytes.
    pub memory_max: Option<u64>,
    /// `pids.max`.
    pub pids_max: Option<u64>,
    /// `cpu.max` as a percentage of one CPU (> 0).
    pub cpu_max_percent: Option<f64>,
    /// Enforcement.
    pub enforce: Enforce,
}

/// One resource limit of `linux.scrub.rlimits.v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    /// The plan's name (`NOFILE`).
    pub name: &'static str,
    /// `RLIMIT_*`.
    pub resource: u32,
    /// Soft and hard limit.
    pub value: u64,
}

/// Resource names of `linux.scrub.rlimits.v1` and their `RLIMIT_*` numbers.
pub const RLIMITS: [(&str, u32); 9] = [
    ("AS", 9),
    ("CORE", 4),
    ("CPU", 0),
    ("DATA", 2),
    ("FSIZE", 1),
    ("MEMLOCK", 8),
    ("NOFILE", 7),
    ("NPROC", 6),
    ("STACK", 3),
];

/// One filesystem rule of the `landlock` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsRule {
    /// Absolute path.
    pub path: String,
    /// Allowed rights (mask).
    pub access: u64,
    /// `target` or `interpreter` for implied grants.
    pub implied: Option<String>,
    /// Expected sha256 of the file (implied grants).
    pub sha256: Option<String>,
    /// The symlink-free resolution recorded at compile time, when `path` went through a
    /// symlink then (opened instead of `path`, see [`crate::plan_path`]).
    pub resolved: Option<String>,
}

/// One of `target.inputs`: a file the target runs besides the exe (a script in argv).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Absolute path, as the policy and argv name it.
    pub path: String,
    /// Expected lowercase hex sha256.
    pub sha256: String,
    /// The recorded symlink-free resolution, when `path` went through a symlink.
    pub resolved: Option<String>,
}

/// The top-level `landlock` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandlockSection {
    /// Enforcement.
    pub enforce: Enforce,
    /// Handled filesystem rights (mask).
    pub handled_fs: u64,
    /// Path rules.
    pub fs: Vec<FsRule>,
    /// Handled TCP rights (mask).
    pub handled_net: u64,
    /// Port rules: (port, rights).
    pub net: Vec<(u16, u64)>,
    /// Scopes (mask).
    pub scoped: u64,
}

/// The top-level `seccomp` section, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeccompSection {
    /// Enforcement.
    pub enforce: Enforce,
    /// The program bytes (`struct sock_filter[]`, host order); length a multiple of 8.
    pub program: Vec<u8>,
    /// Its expected sha256 (checked at launch: `digest_mismatch`).
    pub sha256: String,
    /// seccomp filter flags.
    pub flags: u32,
}

/// A verified, validated plan, in the form the launch needs.
#[derive(Debug)]
pub struct Plan {
    /// Absolute path of the target.
    pub exe: String,
    /// Expected lowercase hex SHA-256 of the target.
    pub sha256: String,
    /// argv from the plan.
    pub argv: Vec<CString>,
    /// The working directory (`target.cwd`).
    pub cwd: String,
    /// The recorded resolution of the cwd (`target.cwdResolved`).
    pub cwd_resolved: Option<String>,
    /// `target.inputs`.
    pub inputs: Vec<Input>,
    /// `target.interpreters`: the ELF interpreter and `#!` interpreters the kernel opens by
    /// path to run the target, as (path, sha256), in chain order.
    pub interpreters: Vec<(String, String)>,
    /// Whether the request may append arguments.
    pub extra_args: bool,
    /// `env.set` as (name, `NAME=VALUE`), sorted by name.
    pub env_set: EnvSet,
    /// `env.pass` names.
    pub env_pass: Vec<String>,
    /// The schedule, in order.
    pub steps: Vec<Step>,
    /// fds kept open for the child (`linux.scrub.fds.v1` `keep`), ascending, each ≥ 3.
    pub keep: Vec<i32>,
    /// The primitives' parameters.
    pub params: Params,
}

/// Parameters of the schedule's primitives (`None`: the primitive is absent).
#[derive(Debug, Default)]
pub struct Params {
    /// `linux.identity.userns.v1`.
    pub userns: Option<UserNsParams>,
    /// `linux.visibility.namespaces.v1`.
    pub namespaces: Option<NamespaceParams>,
    /// `linux.visibility.hostname.v1`.
    pub hostname: Option<CString>,
    /// `linux.scrub.rlimits.v1`.
    pub rlimits: Vec<Rlimit>,
    /// `linux.scrub.cgroup.v1`.
    pub cgroup: Option<CgroupParams>,
    /// `linux.scrub.pdeathsig.v1`.
    pub pdeathsig: Option<i32>,
    /// `linux.scrub.ids.v1`: (uid, gid).
    pub ids: Option<(u32, u32)>,
    /// `linux.scrub.capabilities.v1`: capability numbers kept.
    pub capabilities: Option<Vec<u32>>,
    /// `landlock` with `linux.confine.landlock.v1`.
    pub landlock: Option<LandlockSection>,
    /// `seccomp` with `linux.confine.seccomp.v1`.
    pub seccomp: Option<SeccompSection>,
}

impl Params {
    /// A kept capability other than `CAP_NET_BIND_SERVICE`: without a user namespace it acts
    /// on the host (CAP_SETUID: uid 0; CAP_CHOWN + CAP_FOWNER: a root-owned setuid file), so
    /// it needs `linux.identity.host_root.v1`.
    pub fn host_capability(&self) -> Option<u32> {
        self.capabilities
            .iter()
            .flatten()
            .copied()
            .find(|&c| c != crate::caps::NET_BIND_SERVICE)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatement {
    #[serde(rename = "_type")]
    type_: String,
    subject: Vec<RawDescriptor>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: RawPlan,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDescriptor {
    name: String,
    digest: RawDigest,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDigest {
    sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPlan {
    plan_version: u64,
    arch: String,
    target: RawTarget,
    env: RawEnv,
    schedule: Vec<Box<RawValue>>,
    resolved_dependencies: Vec<RawDescriptor>,
    #[serde(rename = "compiler")]
    _compiler: RawCompiler,
    compiled_on: String,
    not_after: Option<String>,
    landlock: Option<RawLandlock>,
    seccomp: Option<RawSeccomp>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawLandlock {
    enforce: Enforce,
    handled_fs: Vec<String>,
    fs: Vec<RawFsRule>,
    handled_net: Vec<String>,
    net: Vec<RawNetRule>,
    scoped: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFsRule {
    path: String,
    access: Vec<String>,
    implied: Option<String>,
    sha256: Option<String>,
    resolved: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetRule {
    port: u32,
    access: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSeccomp {
    enforce: Enforce,
    bpf_b64: String,
    sha256: String,
    instructions: u64,
    flags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTarget {
    exe: String,
    sha256: String,
    argv: Vec<String>,
    cwd: String,
    cwd_resolved: Option<String>,
    extra_args: bool,
    inputs: Option<Vec<RawInput>>,
    interpreters: Option<Vec<RawInterpreter>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInterpreter {
    path: String,
    sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInput {
    path: String,
    sha256: String,
    resolved: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnv {
    set: BTreeMap<String, String>,
    pass: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCompiler {
    #[serde(rename = "name")]
    _name: String,
    #[serde(rename = "version")]
    _version: String,
}

/// Only the `id` of a schedule entry, read before the entry is parsed strictly.
#[derive(Deserialize)]
struct EntryId {
    id: String,
}

/// The phase of a schedule entry, read before the entry is parsed strictly.
#[derive(Deserialize)]
struct EntryPhase {
    phase: u8,
}

/// A primitive without parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainEntry {
    #[serde(rename = "id")]
    _id: String,
    #[serde(rename = "phase")]
    _phase: u8,
}

/// `linux.scrub.fds.v1`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FdsEntry {
    #[serde(rename = "id")]
    _id: String,
    #[serde(rename = "phase")]
    _phase: u8,
    keep: Vec<i32>,
}

/// `linux.identity.userns.v1`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserNsEntry {
    #[serde(rename = "id")]
    _id: String,
    #[serde(rename = "phase")]
    _phase: u8,
    uid: Option<u32>,
    gid: Option<u32>,
    enforce: Enforce,
}

/// `linux.visibility.namespaces.v1`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamespacesEntry {
    #[serde(rename = "id")]
    _id: String,
    #[serde(rename = "phase")]
    _phase: u8,
    net: bool,
    pid: bool,
    ipc: bool,
    uts: bool,
    cgroup: bool,
    enforce: Enforce,
}

/// `linux.visibility.hostname.v1`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostnameEntry {
    #[serde(rename = "id")]
    _id: String,
    #[serde(rename = "phase")]
    _phase: u8,
    hostname: String,
}

/// `linux.scrub.rlimits.v1`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RlimitsEntry {
    #[serde(rename = "id")]
    _id: String,
    #[serde(rename = "phase")]
    _phase: u8,
    limits: Vec<RawLimit>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimit {
    resource: String,
    value: u64,
}

/// `linux.scrub.cgroup.v1`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CgroupEntry {
    #[serde(rename = "id")]
    _id: String,
    #[serde(rename = "phase")]
    _phase: u8,
    memory_max: Option<u64>,
    pids_max: Option<u64>,
    cpu_max_percent: Option<f64>,
    enforce: Enforce,
}

/// `linux.scrub.pdeathsig.v1`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PdeathsigEntry {
    #[serde(rename = "id")]
    _id: String,
    #[serde(rename = "phase")]
    _phase: u8,
    signal: i32,
}

/// `linux.scrub.ids.v1`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdsEntry {
    #[serde(rename = "id")]
    _id: String,
    #[serde(rename = "phase")]
    _phase: u8,
    uid: u32,
    gid: u32,
}

/// `linux.scrub.capabilities.v1`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilitiesEntry {
    #[serde(rename = "id")]
    _id: String,
    #[serde(rename = "phase")]
    _phase: u8,
    keep: Vec<String>,
}

fn invalid(detail: impl Into<String>) -> Refusal {
    Refusal::PlanInvalid(detail.into())
}

fn c_string(what: &str, value: &str) -> Result<CString, Refusal> {
    CString::new(value).map_err(|_| invalid(format!("The plan's {what} contains a NUL byte")))
}

fn env_name_ok(name: &str) -> bool {
    !name.is_empty() && !name.contains('=') && !name.contains('\0')
}

/// Parses the verified payload and checks it against this shim and host: structure,
/// statement and predicate types, planVersion, arch, the schedule, expiry at `now_ns`
/// (nanoseconds since the Unix epoch).
pub fn parse(payload: &[u8], now_ns: i128) -> Result<Plan, Refusal> {
    let statement: RawStatement = serde_json::from_slice(payload).map_err(|e| {
        invalid(format!("The plan is not a LinuxLaunchPlan v1 statement ({e}); recompile it with this charter version"))
    })?;
    if statement.type_ != STATEMENT_TYPE || statement.predicate_type != PREDICATE_TYPE {
        return Err(invalid(format!(
            "The payload is a {} statement of predicate type {}, expected {STATEMENT_TYPE} with {PREDICATE_TYPE}",
            statement.type_, statement.predicate_type
        )));
    }
    let plan = statement.predicate;
    if plan.plan_version != 1 {
        return Err(invalid(format!(
            "The plan has planVersion {}, this shim understands 1 only; use a matching charter version",
            plan.plan_version
        )));
    }
    if plan.arch != BUILD_ARCH {
        return Err(Refusal::ArchMismatch(format!(
            "The plan was compiled for {}, this machine is {BUILD_ARCH}; compile the policy on (or for) this architecture",
            plan.arch
        )));
    }
    check_target(&statement.subject, &plan.target)?;
    check_times(&plan, now_ns)?;
    for dep in &plan.resolved_dependencies {
        if !is_sha256_hex(&dep.digest.sha256) {
            return Err(invalid(format!(
                "The digest of dependency {} is not lowercase hex SHA-256",
                dep.name
            )));
        }
    }
    let (steps, keep, mut params) = parse_schedule(&plan.schedule)?;
    match (steps.contains(&Step::Landlock), plan.landlock) {
        (true, Some(raw)) => params.landlock = Some(parse_landlock(raw, &plan.target)?),
        (false, None) => {}
        _ => {
            return Err(invalid(
                "The plan has linux.confine.landlock.v1 without a landlock section or the other way round",
            ))
        }
    }
    match (steps.contains(&Step::Seccomp), plan.seccomp) {
        (true, Some(raw)) => params.seccomp = Some(parse_seccomp(raw)?),
        (false, None) => {}
        _ => {
            return Err(invalid(
                "The plan has linux.confine.seccomp.v1 without a seccomp section or the other way round",
            ))
        }
    }
    let target = plan.target;
    if target.argv.is_empty() {
        return Err(invalid(
            "The plan's argv is empty; it needs at least the program name",
        ));
    }
    if !target.cwd.starts_with('/') {
        return Err(invalid(format!(
            "The plan's cwd {} is not an absolute path",
            target.cwd
        )));
    }
    c_string("cwd", &target.cwd)?;
    check_resolved("cwd", &target.cwd, target.cwd_resolved.as_deref())?;
    let inputs = parse_inputs(target.inputs.unwrap_or_default())?;
    let mut interpreters = Vec::new();
    for interp in target.interpreters.unwrap_or_default() {
        if !interp.path.starts_with('/') || !is_sha256_hex(&interp.sha256) {
            return Err(invalid(format!(
                "The interpreter {} must be an absolute path with a lowercase hex sha256",
                interp.path
            )));
        }
        c_string("interpreter", &interp.path)?;
        interpreters.push((interp.path, interp.sha256));
    }
    let argv = target
        .argv
        .iter()
        .map(|a| c_string("argv", a))
        .collect::<Result<Vec<_>, _>>()?;
    let (env_set, env_pass) = parse_env(plan.env)?;
    Ok(Plan {
        exe: target.exe,
        sha256: target.sha256,
        argv,
        cwd: target.cwd,
        cwd_resolved: target.cwd_resolved,
        inputs,
        interpreters,
        extra_args: target.extra_args,
        env_set,
        env_pass,
        steps,
        keep,
        params,
    })
}

impl Plan {
    /// Refuses appended arguments unless the plan allows them.
    pub fn check_extra_args(&self, extra: &[CString]) -> Result<(), Refusal> {
        if !self.extra_args && !extra.is_empty() {
            return Err(Refusal::ExtraArgsForbidden(format!(
                "The plan for {} does not allow extra arguments ({} given); set target.extra_args: true in the policy and recompile",
                self.exe,
                extra.len()
            )));
        }
        Ok(())
    }
}

fn check_target(subject: &[RawDescriptor], target: &RawTarget) -> Result<(), Refusal> {
    if !target.exe.starts_with('/') {
        return Err(invalid(format!(
            "The plan's target {} is not an absolute path",
            target.exe
        )));
    }
    c_string("target path", &target.exe)?;
    if !is_sha256_hex(&target.sha256) {
        return Err(invalid(
            "The plan's target.sha256 is not lowercase hex SHA-256",
        ));
    }
    match subject {
        [only] if only.name == target.exe && only.digest.sha256 == target.sha256 => Ok(()),
        _ => Err(invalid(
            "The statement's subject must be exactly the target with the target's sha256",
        )),
    }
}

/// A recorded resolution must be an absolute path other than the path itself.
fn check_resolved(what: &str, path: &str, resolved: Option<&str>) -> Result<(), Refusal> {
    match resolved {
        Some(r) if !r.starts_with('/') || r == path => Err(invalid(format!(
            "The {what} {path} has the resolution {r:?}; it must be another absolute path"
        ))),
        Some(r) => c_string(what, r).map(drop),
        None => Ok(()),
    }
}

fn parse_inputs(raw: Vec<RawInput>) -> Result<Vec<Input>, Refusal> {
    let mut inputs: Vec<Input> = Vec::with_capacity(raw.len());
    for input in raw {
        if !input.path.starts_with('/') || !is_sha256_hex(&input.sha256) {
            return Err(invalid(format!(
                "The input {} must be an absolute path with a lowercase hex sha256",
                input.path
            )));
        }
        c_string("input", &input.path)?;
        check_resolved("input", &input.path, input.resolved.as_deref())?;
        if inputs.iter().any(|i| i.path == input.path) {
            return Err(invalid(format!("The input {} is listed twice", input.path)));
        }
        inputs.push(Input {
            path: input.path,
            sha256: input.sha256,
            resolved: input.resolved,
        });
    }
    Ok(inputs)
}

fn check_times(plan: &RawPlan, now_ns: i128) -> Result<(), Refusal> {
    if rfc3339::parse(&plan.compiled_on).is_none() {
        return Err(invalid(format!(
            "The plan's compiledOn {:?} is not an RFC 3339 UTC time",
            plan.compiled_on
        )));
    }
    if let Some(not_after) = &plan.not_after {
        let limit = rfc3339::parse(not_after).ok_or_else(|| {
            invalid(format!(
                "The plan's notAfter {not_after:?} is not an RFC 3339 UTC time"
            ))
        })?;
        if now_ns > limit {
            return Err(Refusal::PlanExpired(format!(
                "The plan expired at {not_after}; recompile and re-sign it"
            )));
        }
    }
    Ok(())
}

/// `env.set` as (name, `NAME=VALUE`).
type EnvSet = Vec<(String, CString)>;

fn parse_env(env: RawEnv) -> Result<(EnvSet, Vec<String>), Refusal> {
    let mut set = Vec::with_capacity(env.set.len());
    for (name, value) in env.set {
        if !env_name_ok(&name) {
            return Err(invalid(format!(
                "The plan's env.set has an invalid name {name:?}"
            )));
        }
        let entry = c_string("env.set", &format!("{name}={value}"))?;
        set.push((name, entry));
    }
    let mut pass: Vec<String> = Vec::with_capacity(env.pass.len());
    for name in env.pass {
        if !env_name_ok(&name) {
            return Err(invalid(format!(
                "The plan's env.pass has an invalid name {name:?}"
            )));
        }
        if pass.contains(&name) || set.iter().any(|(n, _)| *n == name) {
            return Err(invalid(format!(
                "The plan's env names {name} twice (in env.set or env.pass)"
            )));
        }
        pass.push(name);
    }
    Ok((set, pass))
}

/// An id that can name a user or group: `(uid_t)-1` means "unchanged" to the kernel.
fn check_id(what: &str, id: u32) -> Result<u32, Refusal> {
    if id == u32::MAX {
        return Err(invalid(format!(
            "The plan's {what} 4294967295 is not a valid id"
        )));
    }
    Ok(id)
}

/// Reads one entry's parameters into `params`.
fn parse_params(
    step: Step,
    json: &str,
    params: &mut Params,
    keep: &mut Vec<i32>,
) -> Result<(), String> {
    fn strict<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }
    let refusal = |r: Refusal| r.detail().to_string();
    match step {
        Step::Fds => *keep = strict::<FdsEntry>(json)?.keep,
        Step::UserNs => {
            let e: UserNsEntry = strict(json)?;
            params.userns = Some(UserNsParams {
                uid: e
                    .uid
                    .map(|u| check_id("user namespace uid", u))
                    .transpose()
                    .map_err(refusal)?,
                gid: e
                    .gid
                    .map(|g| check_id("user namespace gid", g))
                    .transpose()
                    .map_err(refusal)?,
                enforce: e.enforce,
            });
        }
        Step::Namespaces => {
            let e: NamespacesEntry = strict(json)?;
            params.namespaces = Some(NamespaceParams {
                net: e.net,
                pid: e.pid,
                ipc: e.ipc,
                uts: e.uts,
                cgroup: e.cgroup,
                enforce: e.enforce,
            });
        }
        Step::Hostname => {
            let e: HostnameEntry = strict(json)?;
            if e.hostname.is_empty() || e.hostname.len() > 64 {
                return Err("hostname must have 1 to 64 bytes".into());
            }
            params.hostname = Some(
                CString::new(e.hostname).map_err(|_| "hostname contains a NUL byte".to_string())?,
            );
        }
        Step::Rlimits => {
            let e: RlimitsEntry = strict(json)?;
            for limit in e.limits {
                let (name, resource) = RLIMITS
                    .iter()
                    .find(|(n, _)| *n == limit.resource)
                    .copied()
                    .ok_or_else(|| format!("unknown resource {:?}", limit.resource))?;
                if params.rlimits.iter().any(|l| l.name == name) {
                    return Err(format!("resource {name} is limited twice"));
                }
                params.rlimits.push(Rlimit {
                    name,
                    resource,
                    value: limit.value,
                });
            }
        }
        Step::Cgroup => {
            let e: CgroupEntry = strict(json)?;
            if e.cpu_max_percent
                .is_some_and(|p| !(p.is_finite() && p > 0.0))
            {
                return Err("cpuMaxPercent must be more than 0".into());
            }
            params.cgroup = Some(CgroupParams {
                memory_max: e.memory_max,
                pids_max: e.pids_max,
                cpu_max_percent: e.cpu_max_percent,
                enforce: e.enforce,
            });
        }
        Step::Pdeathsig => {
            let e: PdeathsigEntry = strict(json)?;
            if !(1..=crate::sys::MAX_SIGNAL).contains(&e.signal) {
                return Err(format!("signal {} is not a signal number (1-64)", e.signal));
            }
            params.pdeathsig = Some(e.signal);
        }
        Step::Ids => {
            let e: IdsEntry = strict(json)?;
            params.ids = Some((
                check_id("uid", e.uid).map_err(refusal)?,
                check_id("gid", e.gid).map_err(refusal)?,
            ));
        }
        Step::Capabilities => {
            let e: CapabilitiesEntry = strict(json)?;
            let mut numbers = Vec::with_capacity(e.keep.len());
            for name in &e.keep {
                let n = crate::caps::number(name).ok_or_else(|| {
                    format!("unknown capability {name:?} (names look like CAP_NET_BIND_SERVICE)")
                })?;
                if numbers.contains(&n) {
                    return Err(format!("capability {name} is listed twice"));
                }
                numbers.push(n);
            }
            params.capabilities = Some(numbers);
        }
        Step::HostRoot
        | Step::Cwd
        | Step::Signals
        | Step::Env
        | Step::Setsid
        | Step::NoNewPrivs
        | Step::Landlock
        | Step::Seccomp
        | Step::Exec => {
            strict::<PlainEntry>(json)?;
        }
    }
    Ok(())
}

fn parse_schedule(entries: &[Box<RawValue>]) -> Result<(Vec<Step>, Vec<i32>, Params), Refusal> {
    let mut steps: Vec<Step> = Vec::with_capacity(entries.len());
    let mut keep = Vec::new();
    let mut params = Params::default();
    for (index, raw) in entries.iter().enumerate() {
        let json = raw.get();
        let id: EntryId = serde_json::from_str(json)
            .map_err(|e| invalid(format!("Schedule entry {index} has no primitive id ({e})")))?;
        let step = Step::from_id(&id.id).ok_or_else(|| {
            Refusal::UnknownPrimitive(format!(
                "Schedule entry {index} is {}, which this shim does not know; update the shim or compile for this version",
                id.id
            ))
        })?;
        let bad = |e: String| invalid(format!("Schedule entry {index} ({}): {e}", step.id()));
        let phase = serde_json::from_str::<EntryPhase>(json)
            .map_err(|e| bad(e.to_string()))?
            .phase;
        if phase != step.phase() {
            return Err(invalid(format!(
                "Schedule entry {index} ({}) says phase {phase}, it belongs to phase {}",
                step.id(),
                step.phase()
            )));
        }
        if steps.contains(&step) {
            return Err(invalid(format!(
                "Schedule entry {index} repeats {}",
                step.id()
            )));
        }
        if steps.last().is_some_and(|prev| prev.phase() > phase) {
            return Err(invalid(format!(
                "Schedule entry {index} ({}) is out of phase order",
                step.id()
            )));
        }
        if let Some(prev) = steps.last().filter(|prev| prev.order() > step.order()) {
            return Err(invalid(format!(
                "Schedule entry {index} ({}) must come before {} (the shim's fixed order within a phase; see docs/plan-and-shim.md)",
                step.id(),
                prev.id()
            )));
        }
        parse_params(step, json, &mut params, &mut keep).map_err(bad)?;
        steps.push(step);
    }
    if let Some(missing) = Step::REQUIRED.iter().find(|s| !steps.contains(s)) {
        return Err(invalid(format!(
            "The schedule lacks {}, which every plan must contain",
            missing.id()
        )));
    }
    if steps.last() != Some(&Step::Exec) {
        return Err(invalid("The schedule must end with linux.exec.execveat.v1"));
    }
    if keep.first().is_some_and(|&fd| fd < 3) || keep.windows(2).any(|w| w[0] >= w[1]) {
        return Err(invalid(
            "linux.scrub.fds.v1 keep must list fds of at least 3 in ascending order, each once",
        ));
    }
    if params.hostname.is_some() && !params.namespaces.is_some_and(|n| n.uts) {
        return Err(invalid(
            "linux.visibility.hostname.v1 needs a UTS namespace (namespaces.uts) in the same plan",
        ));
    }
    if params.ids.is_some_and(|(uid, gid)| uid == 0 || gid == 0) && !steps.contains(&Step::HostRoot)
    {
        return Err(invalid(
            "linux.scrub.ids.v1 switches to uid or gid 0, which is host root; a plan that means it also has linux.identity.host_root.v1",
        ));
    }
    if let Some(cap) = params.host_capability() {
        if params.userns.is_none() && !steps.contains(&Step::HostRoot) {
            return Err(invalid(format!(
                "linux.scrub.capabilities.v1 keeps {} without a user namespace, which is host authority; a plan that means it also has linux.identity.host_root.v1",
                crate::caps::names(crate::caps::bit(cap)).join("")
            )));
        }
    }
    if params.ids.is_some() && params.userns.is_some() {
        return Err(invalid(
            "linux.scrub.ids.v1 is for launches without a user namespace; with linux.identity.userns.v1 the ids are its uid and gid",
        ));
    }
    Ok((steps, keep, params))
}

fn names_mask(table: &[landlock::Right], names: &[String], what: &str) -> Result<u64, Refusal> {
    let mut seen: Vec<&String> = Vec::new();
    for name in names {
        if seen.contains(&name) {
            return Err(invalid(format!(
                "The landlock section lists {what} {name} twice"
            )));
        }
        seen.push(name);
    }
    landlock::mask_of(table, names).map_err(|name| {
        invalid(format!(
            "The landlock section has an unknown {what} {name:?}"
        ))
    })
}

fn parse_landlock(raw: RawLandlock, target: &RawTarget) -> Result<LandlockSection, Refusal> {
    let handled_fs = names_mask(&landlock::FS_RIGHTS, &raw.handled_fs, "filesystem right")?;
    let handled_net = names_mask(&landlock::NET_RIGHTS, &raw.handled_net, "network right")?;
    let scoped = names_mask(&landlock::SCOPES, &raw.scoped, "scope")?;
    if handled_fs | handled_net | scoped == 0 {
        return Err(invalid(
            "The landlock section handles no right and no scope; leave linux.confine.landlock.v1 out instead",
        ));
    }
    let mut fs = Vec::with_capacity(raw.fs.len());
    for rule in raw.fs {
        if !rule.path.starts_with('/') || rule.path.contains('\0') {
            return Err(invalid(format!(
                "The landlock path {:?} is not an absolute path",
                rule.path
            )));
        }
        let access = names_mask(&landlock::FS_RIGHTS, &rule.access, "filesystem right")?;
        if access == 0 || access & !handled_fs != 0 {
            return Err(invalid(format!(
                "The landlock rule for {} must allow at least one right, all of them in handledFs",
                rule.path
            )));
        }
        match (rule.implied.as_deref(), &rule.sha256) {
            (None, None) => {}
            (Some("target" | "interpreter") | None, Some(sha)) if is_sha256_hex(sha) => {}
            _ => {
                return Err(invalid(format!(
                    "The landlock rule for {} must be implied as target or interpreter with a lowercase hex sha256",
                    rule.path
                )))
            }
        }
        if rule.implied.as_deref() == Some("target")
            && (rule.path != target.exe || rule.sha256.as_deref() != Some(&target.sha256))
        {
            return Err(invalid(format!(
                "The landlock rule for {} is implied by the target but names another file or digest",
                rule.path
            )));
        }
        if rule.implied.is_some() && rule.resolved.is_some() {
            return Err(invalid(format!(
                "The implied landlock rule for {} has a resolution; implied files are pinned by digest",
                rule.path
            )));
        }
        check_resolved("landlock path", &rule.path, rule.resolved.as_deref())?;
        fs.push(FsRule {
            path: rule.path,
            access,
            implied: rule.implied,
            sha256: rule.sha256,
            resolved: rule.resolved,
        });
    }
    let mut net = Vec::with_capacity(raw.net.len());
    for rule in raw.net {
        let port = u16::try_from(rule.port)
            .map_err(|_| invalid(format!("The landlock port {} is above 65535", rule.port)))?;
        let access = names_mask(&landlock::NET_RIGHTS, &rule.access, "network right")?;
        if access == 0 || access & !handled_net != 0 {
            return Err(invalid(format!(
                "The landlock rule for port {port} must allow at least one right, all of them in handledNet"
            )));
        }
        net.push((port, access));
    }
    Ok(LandlockSection {
        enforce: raw.enforce,
        handled_fs,
        fs,
        handled_net,
        net,
        scoped,
    })
}

fn parse_seccomp(raw: RawSeccomp) -> Result<SeccompSection, Refusal> {
    let program = crate::b64::decode(&raw.bpf_b64)
        .ok_or_else(|| invalid("The seccomp program (bpfB64) is not padded standard base64"))?;
    let count = program.len() / 8;
    if program.len() % 8 != 0
        || !(1..=crate::seccomp::MAX_INSTRUCTIONS).contains(&count)
        || raw.instructions != count as u64
    {
        return Err(invalid(format!(
            "The seccomp program has {} bytes and claims {} instructions; it must be 1 to {} instructions of 8 bytes each",
            program.len(),
            raw.instructions,
            crate::seccomp::MAX_INSTRUCTIONS
        )));
    }
    crate::seccomp::check_program(&program).map_err(invalid)?;
    if !is_sha256_hex(&raw.sha256) {
        return Err(invalid("The seccomp sha256 is not lowercase hex SHA-256"));
    }
    let mut flags = 0;
    for name in &raw.flags {
        let (_, value) = crate::seccomp::FLAGS
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| invalid(format!("Unknown seccomp flag {name:?} (log or spec_allow)")))?;
        if flags & value != 0 {
            return Err(invalid(format!("The seccomp flag {name} is listed twice")));
        }
        flags |= value;
    }
    Ok(SeccompSection {
        enforce: raw.enforce,
        program,
        sha256: raw.sha256,
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{statement, NOW_NS};
    use serde_json::{json, Value};

    fn parse_value(v: &Value) -> Result<Plan, Refusal> {
        parse(&serde_json::to_vec(v).unwrap(), NOW_NS)
    }

    fn sh_statement() -> Value {
        statement("/bin/sh", &"ab".repeat(32), &["sh", "-c", "exit 7"])
    }

    fn code(r: Result<Plan, Refusal>) -> &'static str {
        r.map(|_| "ok").unwrap_or_else(|e| e.code())
    }

    #[test]
    fn accepts_a_compiler_shaped_plan() {
        let plan = parse_value(&sh_statement()).unwrap();
        assert_eq!(plan.exe, "/bin/sh");
        assert_eq!(
            plan.steps,
            [
                Step::Cwd,
                Step::Signals,
                Step::Env,
                Step::Fds,
                Step::NoNewPrivs,
                Step::Exec
            ]
        );
        assert_eq!(plan.argv.len(), 3);
        assert_eq!(plan.env_set[0].1.to_str().unwrap(), "A=1");
    }

    #[test]
    fn refuses_unknown_fields_everywhere() {
        for pointer in [
            "",
            "/predicate",
            "/predicate/target",
            "/predicate/env",
            "/subject/0",
            "/predicate/schedule/3",
        ] {
            let mut v = sh_statement();
            v.pointer_mut(pointer)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .insert("extra".into(), json!(1));
            assert_eq!(
                code(parse_value(&v)),
                "plan_invalid",
                "extra key at {pointer:?}"
            );
        }
    }

    #[test]
    fn refuses_unknown_primitives_with_their_own_code() {
        let mut v = sh_statement();
        let schedule = v
            .pointer_mut("/predicate/schedule")
            .unwrap()
            .as_array_mut()
            .unwrap();
        schedule.insert(5, json!({ "id": "linux.confine.teleport.v1", "phase": 4 }));
        assert_eq!(code(parse_value(&v)), "unknown_primitive");
    }

    #[test]
    fn refuses_bad_schedules() {
        type Edit = fn(&mut Vec<Value>);
        let cases: [(&str, Edit); 6] = [
            ("out of order", |s| s.swap(0, 1)),
            ("wrong phase", |s| s[0]["phase"] = json!(3)),
            ("duplicate", |s| s.insert(1, s[1].clone())),
            ("missing no_new_privs", |s| {
                s.remove(4);
            }),
            ("missing execveat", |s| {
                s.pop();
            }),
            ("keep below 3", |s| s[3]["keep"] = json!([2])),
        ];
        for (name, edit) in cases {
            let mut v = sh_statement();
            edit(
                v.pointer_mut("/predicate/schedule")
                    .unwrap()
                    .as_array_mut()
                    .unwrap(),
            );
            assert_eq!(code(parse_value(&v)), "plan_invalid", "{name}");
        }
    }

    #[test]
    fn checks_arch_expiry_subject_and_version() {
        let other = if BUILD_ARCH == "x86_64" {
            "aarch64"
        } else {
            "x86_64"
        };
        let edits: [(&str, Value, &str); 6] = [
            ("/predicate/arch", json!(other), "arch_mismatch"),
            ("/predicate/planVersion", json!(2), "plan_invalid"),
            (
                "/subject/0/digest/sha256",
                json!("cd".repeat(32)),
                "plan_invalid",
            ),
            ("/predicate/target/cwd", json!("tmp"), "plan_invalid"),
            ("/predicate/target/argv", json!([]), "plan_invalid"),
            ("/predicate/compiledOn", json!("yesterday"), "plan_invalid"),
        ];
        for (pointer, value, expected) in edits {
            let mut v = sh_statement();
            *v.pointer_mut(pointer).unwrap() = value;
            assert_eq!(code(parse_value(&v)), expected, "{pointer}");
        }
        let mut v = sh_statement();
        v["predicate"]["notAfter"] = json!("2020-01-01T00:00:00Z");
        assert_eq!(code(parse_value(&v)), "plan_expired");
        v["predicate"]["notAfter"] = json!("2999-01-01T00:00:00Z");
        assert_eq!(code(parse_value(&v)), "ok");
    }

    #[test]
    fn refuses_env_names_twice_and_extra_args_when_not_allowed() {
        let mut v = sh_statement();
        v["predicate"]["env"]["pass"] = json!(["A"]);
        assert_eq!(code(parse_value(&v)), "plan_invalid");
        let plan = parse_value(&sh_statement()).unwrap();
        assert!(plan.check_extra_args(&[]).is_ok());
        let extra = [CString::new("x").unwrap()];
        assert_eq!(
            plan.check_extra_args(&extra).unwrap_err().code(),
            "extra_args_forbidden"
        );
    }

    /// The shell statement with every primitive of the contract and both sections.
    fn full_statement() -> Value {
        let mut v = sh_statement();
        let exe_sha = v["predicate"]["target"]["sha256"].clone();
        v["predicate"]["schedule"] = json!([
            { "id": "linux.identity.userns.v1", "phase": 1, "uid": 1000, "enforce": "required" },
            { "id": "linux.visibility.namespaces.v1", "phase": 2, "net": true, "pid": true,
              "ipc": false, "uts": true, "cgroup": false, "enforce": "best_effort" },
            { "id": "linux.visibility.hostname.v1", "phase": 2, "hostname": "box" },
            { "id": "linux.visibility.cwd.v1", "phase": 2 },
            { "id": "linux.scrub.signals.v1", "phase": 3 },
            { "id": "linux.scrub.env.v1", "phase": 3 },
            { "id": "linux.scrub.fds.v1", "phase": 3, "keep": [] },
            { "id": "linux.scrub.rlimits.v1", "phase": 3,
              "limits": [{ "resource": "NOFILE", "value": 64 }, { "resource": "CORE", "value": 0 }] },
            { "id": "linux.scrub.cgroup.v1", "phase": 3, "pidsMax": 16, "cpuMaxPercent": 12.5,
              "enforce": "best_effort" },
            { "id": "linux.scrub.setsid.v1", "phase": 3 },
            { "id": "linux.scrub.pdeathsig.v1", "phase": 3, "signal": 9 },
            { "id": "linux.scrub.capabilities.v1", "phase": 3, "keep": ["CAP_NET_BIND_SERVICE"] },
            { "id": "linux.scrub.no_new_privs.v1", "phase": 3 },
            { "id": "linux.confine.landlock.v1", "phase": 4 },
            { "id": "linux.confine.seccomp.v1", "phase": 4 },
            { "id": "linux.exec.execveat.v1", "phase": 5 },
        ]);
        v["predicate"]["landlock"] = json!({
            "enforce": "required",
            "handledFs": ["execute", "read_file", "read_dir"],
            "fs": [
                { "path": "/usr", "access": ["read_file", "read_dir"] },
                { "path": "/bin/sh", "access": ["execute", "read_file"], "implied": "target",
                  "sha256": exe_sha },
            ],
            "handledNet": ["connect_tcp"],
            "net": [{ "port": 443, "access": ["connect_tcp"] }],
            "scoped": ["signal"],
        });
        // ret ALLOW
        v["predicate"]["seccomp"] = json!({
            "enforce": "required", "bpfB64": "BgAAAAAA/38=",
            "sha256": crate::digest::sha256_hex(&[6, 0, 0, 0, 0, 0, 0xff, 0x7f]),
            "instructions": 1, "flags": ["log"],
        });
        v
    }

    #[test]
    fn keeps_host_capabilities_only_with_host_root() {
        let with = |userns: bool, host_root: bool, keep: &[&str]| {
            let mut v = full_statement();
            let schedule = v["predicate"]["schedule"].as_array_mut().unwrap();
            schedule[11]["keep"] = json!(keep);
            if !userns {
                schedule.remove(0);
            }
            if host_root {
                schedule.insert(
                    0,
                    json!({ "id": "linux.identity.host_root.v1", "phase": 1 }),
                );
            }
            code(parse_value(&v))
        };
        let setuid = ["CAP_NET_BIND_SERVICE", "CAP_SETUID"];
        assert_eq!(with(false, false, &setuid), "plan_invalid");
        assert_eq!(with(false, false, &["CAP_CHOWN"]), "plan_invalid");
        assert_eq!(with(false, false, &["CAP_NET_BIND_SERVICE"]), "ok");
        assert_eq!(with(false, true, &setuid), "ok");
        assert_eq!(with(true, false, &setuid), "ok");
    }

    #[test]
    fn parses_every_primitive_and_both_sections() {
        let plan = parse_value(&full_statement()).unwrap();
        assert_eq!(plan.steps.len(), 16);
        let p = &plan.params;
        assert_eq!(
            p.userns,
            Some(UserNsParams {
                uid: Some(1000),
                gid: None,
                enforce: Enforce::Required
            })
        );
        let ns = p.namespaces.unwrap();
        assert_eq!(
            ns.flags(),
            (libc::CLONE_NEWNET | libc::CLONE_NEWPID | libc::CLONE_NEWUTS) as u64
        );
        assert_eq!(ns.enforce, Enforce::BestEffort);
        assert_eq!(p.hostname.as_deref().unwrap().to_str(), Ok("box"));
        assert_eq!(
            p.rlimits
                .iter()
                .map(|l| (l.name, l.resource, l.value))
                .collect::<Vec<_>>(),
            [("NOFILE", 7, 64), ("CORE", 4, 0)]
        );
        let cg = p.cgroup.unwrap();
        assert_eq!(
            (cg.pids_max, cg.cpu_max_percent, cg.memory_max),
            (Some(16), Some(12.5), None)
        );
        assert_eq!(p.pdeathsig, Some(9));
        assert_eq!(p.capabilities, Some(vec![10]));
        let ll = p.landlock.as_ref().unwrap();
        assert_eq!(ll.handled_fs, 0b1101);
        assert_eq!((ll.handled_net, ll.scoped), (2, 2));
        assert_eq!(ll.net, [(443, 2)]);
        assert_eq!(ll.fs[1].implied.as_deref(), Some("target"));
        let sc = p.seccomp.as_ref().unwrap();
        assert_eq!(sc.program.len(), 8);
        assert_eq!(sc.flags, crate::seccomp::FLAG_LOG);
    }

    #[test]
    fn refuses_inconsistent_primitive_parameters() {
        type Edit = fn(&mut Value);
        let cases: [(&str, Edit); 18] = [
            ("unknown userns param", |v| {
                v["predicate"]["schedule"][0]["extra"] = json!(1)
            }),
            ("uid -1", |v| {
                v["predicate"]["schedule"][0]["uid"] = json!(4294967295u32)
            }),
            ("bad enforce", |v| {
                v["predicate"]["schedule"][0]["enforce"] = json!("maybe")
            }),
            ("hostname without uts", |v| {
                v["predicate"]["schedule"][1]["uts"] = json!(false)
            }),
            ("long hostname", |v| {
                v["predicate"]["schedule"][2]["hostname"] = json!("x".repeat(65))
            }),
            ("unknown rlimit", |v| {
                v["predicate"]["schedule"][7]["limits"][0]["resource"] = json!("RSS")
            }),
            ("fractional rlimit", |v| {
                v["predicate"]["schedule"][7]["limits"][0]["value"] = json!(1.5)
            }),
            ("zero cpu", |v| {
                v["predicate"]["schedule"][8]["cpuMaxPercent"] = json!(0)
            }),
            ("signal 0", |v| {
                v["predicate"]["schedule"][10]["signal"] = json!(0)
            }),
            ("lowercase cap", |v| {
                v["predicate"]["schedule"][11]["keep"] = json!(["net_admin"])
            }),
            ("landlock missing", |v| {
                v["predicate"].as_object_mut().unwrap().remove("landlock");
            }),
            ("unknown right", |v| {
                v["predicate"]["landlock"]["handledFs"][0] = json!("fly")
            }),
            ("unhandled right", |v| {
                v["predicate"]["landlock"]["fs"][0]["access"] = json!(["write_file"])
            }),
            ("target impostor", |v| {
                v["predicate"]["landlock"]["fs"][1]["path"] = json!("/bin/dash")
            }),
            ("port too big", |v| {
                v["predicate"]["landlock"]["net"][0]["port"] = json!(65536)
            }),
            ("seccomp count", |v| {
                v["predicate"]["seccomp"]["instructions"] = json!(2)
            }),
            ("seccomp flag", |v| {
                v["predicate"]["seccomp"]["flags"] = json!(["tsync"])
            }),
            ("seccomp ret A", |v| {
                // ret A: the kernel accepts it, the review cannot follow it.
                v["predicate"]["seccomp"]["bpfB64"] = json!("FgAAAAAAAAA=")
            }),
        ];
        for (name, edit) in cases {
            let mut v = full_statement();
            edit(&mut v);
            assert_eq!(code(parse_value(&v)), "plan_invalid", "{name}");
        }
    }

    #[test]
    fn parses_inputs_and_recorded_resolutions_strictly() {
        let mut v = full_statement();
        v["predicate"]["target"]["cwdResolved"] = json!("/usr/lib");
        v["predicate"]["target"]["inputs"] =
            json!([{ "path": "/srv/wc.py", "sha256": "cd".repeat(32), "resolved": "/data/wc.py" }]);
        v["predicate"]["landlock"]["fs"][0]["resolved"] = json!("/opt/usr");
        let plan = parse_value(&v).unwrap();
        assert_eq!(plan.cwd_resolved.as_deref(), Some("/usr/lib"));
        assert_eq!(plan.inputs[0].resolved.as_deref(), Some("/data/wc.py"));
        let ll = plan.params.landlock.unwrap();
        assert_eq!(ll.fs[0].resolved.as_deref(), Some("/opt/usr"));

        type Edit = fn(&mut Value);
        let cases: [(&str, Edit); 7] = [
            ("unknown input key", |v| {
                v["predicate"]["target"]["inputs"][0]["mode"] = json!(1)
            }),
            ("input without digest", |v| {
                v["predicate"]["target"]["inputs"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("sha256");
            }),
            ("relative input", |v| {
                v["predicate"]["target"]["inputs"][0]["path"] = json!("wc.py")
            }),
            ("input twice", |v| {
                let first = v["predicate"]["target"]["inputs"][0].clone();
                v["predicate"]["target"]["inputs"]
                    .as_array_mut()
                    .unwrap()
                    .push(first);
            }),
            ("relative cwd resolution", |v| {
                v["predicate"]["target"]["cwdResolved"] = json!("usr")
            }),
            ("resolution equal to the path", |v| {
                v["predicate"]["landlock"]["fs"][0]["resolved"] = json!("/usr")
            }),
            ("resolution on an implied rule", |v| {
                v["predicate"]["landlock"]["fs"][1]["resolved"] = json!("/usr/bin/dash")
            }),
        ];
        for (name, edit) in cases {
            let mut v = full_statement();
            v["predicate"]["target"]["inputs"] =
                json!([{ "path": "/srv/wc.py", "sha256": "cd".repeat(32) }]);
            edit(&mut v);
            assert_eq!(code(parse_value(&v)), "plan_invalid", "{name}");
        }
    }

    #[test]
    fn runs_primitives_in_one_fixed_order() {
        let mut v = full_statement();
        let schedule = v["predicate"]["schedule"].as_array_mut().unwrap();
        // capabilities before setsid: same phase, against the fixed order.
        schedule.swap(9, 11);
        assert_eq!(code(parse_value(&v)), "plan_invalid");
        let mut v = full_statement();
        let schedule = v["predicate"]["schedule"].as_array_mut().unwrap();
        schedule.swap(13, 14); // seccomp before landlock
        assert_eq!(code(parse_value(&v)), "plan_invalid");
        let mut v = full_statement();
        v["predicate"]["schedule"].as_array_mut().unwrap().insert(
            12,
            json!({ "id": "linux.scrub.ids.v1", "phase": 3, "uid": 1, "gid": 1 }),
        );
        assert_eq!(
            code(parse_value(&v)),
            "plan_invalid",
            "ids with a user namespace"
        );
    }
}
