//! The schedule's vocabulary: the primitives this shim knows ([`Step`]: id, phase, fixed
//! order, progress-pipe code), the phase names, and a mechanism's `enforce`. Every layer
//! uses it; it uses nothing of the shim's own.

use serde::Deserialize;

/// The phase names, index = phase − 1.
pub const PHASE_NAMES: [&str; 5] = ["identity", "visibility", "scrub", "confine", "exec"];

/// A schedule primitive this shim knows. Its parameters are parsed by the mechanism module
/// that owns it (`crate::mechanism`).
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
    /// `linux.visibility.view.v1`: the filesystem view (the `view` section).
    View,
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
    /// `linux.confine.learn.v1`: the recording filter of `charter learn` in place of
    /// Landlock and the seccomp filter, its listener sent to the launcher's supervisor.
    Learn,
    /// `linux.exec.execveat.v1`: execveat of the verified fd.
    Exec,
}

impl Step {
    /// Every known primitive, in the one order the shim runs them (and plans list them).
    pub const ALL: [Step; 20] = [
        Step::HostRoot,
        Step::UserNs,
        Step::Namespaces,
        Step::Hostname,
        Step::View,
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
        Step::Learn,
        Step::Exec,
    ];

    /// Primitives every plan must contain (the scrub cannot be dropped by editing a plan).
    pub const REQUIRED: [Step; 5] = [
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
            Step::View => "linux.visibility.view.v1",
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
            Step::Learn => "linux.confine.learn.v1",
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
            Step::View => "Building the filesystem view",
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
            Step::Learn => "Installing the recording filter",
            Step::Exec => "Executing the target",
        }
    }

    /// The phase the primitive belongs to (1–5).
    pub fn phase(self) -> u8 {
        match self {
            Step::HostRoot | Step::UserNs => 1,
            Step::Namespaces | Step::Hostname | Step::View | Step::Cwd => 2,
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
            Step::Landlock | Step::Seccomp | Step::Learn => 4,
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
            Step::View => 18,
            Step::Learn => 19,
        }
    }

    /// The step with a given progress-pipe code.
    pub fn from_code(code: u32) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The step with a given primitive id.
    pub fn from_id(id: &str) -> Option<Step> {
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
