//! The scrub steps of phase 3 that need no module of their own: signals
//! (`linux.scrub.signals.v1`), the environment (`linux.scrub.env.v1`, from the plan's `env`
//! section), fds (`linux.scrub.fds.v1`), `linux.scrub.setsid.v1`,
//! `linux.scrub.pdeathsig.v1` and `linux.scrub.no_new_privs.v1`.

use crate::error::Refusal;
use crate::report::PhaseReports;
use crate::section::{c_string, invalid, strict};
use crate::step::Step;
use crate::sys;
use libc::{c_int, c_uint};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;

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

/// The plan's `env` section.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnv {
    set: BTreeMap<String, String>,
    pass: Vec<String>,
}

/// `env.set` as (name, `NAME=VALUE`).
pub type EnvSet = Vec<(String, CString)>;

/// Parses a `linux.scrub.fds.v1` entry: the kept fds, as listed (checked by
/// [`check_keep_order`] once the schedule is read).
pub fn parse_fds(json: &str) -> Result<Vec<i32>, String> {
    Ok(strict::<FdsEntry>(json)?.keep)
}

/// The kept fds must be at least 3, ascending, each once.
pub fn check_keep_order(keep: &[i32]) -> Result<(), Refusal> {
    if keep.first().is_some_and(|&fd| fd < 3) || keep.windows(2).any(|w| w[0] >= w[1]) {
        return Err(invalid(
            "linux.scrub.fds.v1 keep must list fds of at least 3 in ascending order, each once",
        ));
    }
    Ok(())
}

/// Parses a `linux.scrub.pdeathsig.v1` entry: the signal number.
pub fn parse_pdeathsig(json: &str) -> Result<i32, String> {
    let e: PdeathsigEntry = strict(json)?;
    if !(1..=sys::MAX_SIGNAL).contains(&e.signal) {
        return Err(format!("signal {} is not a signal number (1-64)", e.signal));
    }
    Ok(e.signal)
}

fn env_name_ok(name: &str) -> bool {
    !name.is_empty() && !name.contains('=') && !name.contains('\0')
}

/// Parses the `env` section: `env.set` and the `env.pass` names.
pub fn parse_env(env: RawEnv) -> Result<(EnvSet, Vec<String>), Refusal> {
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

/// Checks that each kept fd is open in the launcher, was inherited by it, and is not the
/// transcript. An fd inherited across exec cannot carry FD_CLOEXEC; one that does was
/// opened by the launcher's runtime for itself (Deno's epoll, eventfds, cache databases).
pub fn check_keep(keep: &[RawFd], transcript_fd: Option<RawFd>) -> Result<(), Refusal> {
    for &fd in keep {
        if Some(fd) == transcript_fd {
            return Err(Refusal::HandleUnavailable(format!(
                "fd {fd} is kept for the child but is the transcript; the child must not write the transcript"
            )));
        }
        match sys::fd_flags(fd) {
            Err(_) => return Err(Refusal::HandleUnavailable(format!(
                "fd {fd} (fds.pass) is not open in the launcher; open it before launching or remove it from the policy"
            ))),
            Ok(flags) if flags & libc::FD_CLOEXEC != 0 => return Err(Refusal::HandleUnavailable(format!(
                "fd {fd} (fds.pass) was not inherited by the launcher (it is close-on-exec: the launcher opened it for itself); pass only fds the launcher was started with, e.g. `3<file charter launch …`"
            ))),
            Ok(_) => {}
        }
    }
    Ok(())
}

/// The child's environment: `env.set`, then each `env.pass` name present in the
/// launcher's environment. Returns the entries and the passed and absent names.
fn build_env(set: &EnvSet, pass: &[String]) -> (Vec<CString>, Vec<String>, Vec<String>) {
    let mut entries: Vec<CString> = set.iter().map(|(_, entry)| entry.clone()).collect();
    let (mut passed, mut absent) = (Vec::new(), Vec::new());
    for name in pass {
        let entry = std::env::var_os(name).and_then(|value| {
            let mut bytes = format!("{name}=").into_bytes();
            bytes.extend_from_slice(value.as_bytes());
            CString::new(bytes).ok()
        });
        match entry {
            Some(entry) => {
                entries.push(entry);
                passed.push(name.clone());
            }
            None => absent.push(name.clone()),
        }
    }
    (entries, passed, absent)
}

/// The scrub steps as prepared.
pub struct Prepared {
    /// The child's environment entries (`NAME=VALUE`).
    pub env: Vec<CString>,
    /// Parent-death signal (0: none).
    pub pdeathsig: c_int,
}

/// Builds the environment from `env_set` and `env_pass` and records what each scrub step
/// of `steps` does (`keep`: the fds kept; `pdeathsig`: the parent-death signal).
pub fn prepare(
    steps: &[Step],
    env_set: &EnvSet,
    env_pass: &[String],
    keep: &[RawFd],
    pdeathsig: Option<c_int>,
    reports: &mut PhaseReports,
) -> Prepared {
    let (env, passed, absent) = build_env(env_set, env_pass);
    let set_names: Vec<&str> = env_set.iter().map(|(name, _)| name.as_str()).collect();
    let pdeathsig = pdeathsig.unwrap_or(0);
    if pdeathsig != 0 {
        reports.insert(3, "pdeathsig", json!(pdeathsig));
    }
    for &step in steps {
        match step {
            Step::Signals => reports.insert(3, "signals", json!("reset")),
            Step::Env => reports.insert(
                3,
                "env",
                json!({ "set": set_names, "passed": passed, "absent": absent }),
            ),
            Step::Fds => reports.insert(3, "fds", json!({ "kept": keep })),
            Step::Setsid => reports.insert(3, "setsid", json!(true)),
            Step::NoNewPrivs => reports.insert(3, "noNewPrivs", json!(true)),
            _ => {}
        }
    }
    Prepared { env, pdeathsig }
}

/// Child, `linux.scrub.signals.v1`: every disposition to SIG_DFL (the launcher may ignore
/// SIGPIPE or have handlers), then an empty mask (the parent blocked everything around
/// clone3).
pub fn reset_signals() -> Result<(), sys::Errno> {
    for sig in 1..=sys::MAX_SIGNAL {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            sys::reset_signal(sig)?;
        }
    }
    sys::set_signal_mask(0).map(drop)
}

/// Child, `linux.scrub.fds.v1`: closes every fd ≥ 3 not in `open_fds` (ascending) with
/// close_range over the gaps, then clears FD_CLOEXEC on the plan's kept fds.
pub fn scrub_fds(open_fds: &[c_int], keep: &[c_int]) -> Result<(), sys::Errno> {
    let mut next: c_uint = 3;
    for &fd in open_fds {
        let fd = fd as c_uint;
        if fd > next {
            sys::close_range(next, fd - 1)?;
        }
        next = fd.saturating_add(1);
    }
    sys::close_range(next, c_uint::MAX)?;
    for &fd in keep {
        sys::set_fd_flags(fd, 0)?;
    }
    Ok(())
}

/// Child, `linux.scrub.pdeathsig.v1`: PR_SET_PDEATHSIG with `signal`, then exits if the
/// parent died before it took effect: `getppid()` differs from `parent_pid` (saved before
/// clone3), or, in a new pid namespace (`new_pid_ns`, where `getppid()` is 0), the
/// rendezvous pipe `go_read` has no writer left.
pub fn parent_death_signal(
    signal: c_int,
    parent_pid: c_int,
    new_pid_ns: bool,
    go_read: c_int,
) -> Result<(), sys::Errno> {
    sys::set_pdeathsig(signal)?;
    let gone = if new_pid_ns {
        sys::pipe_hung_up(go_read)?
    } else {
        sys::getppid() != parent_pid
    };
    if gone {
        sys::exit_group(128 + signal);
    }
    Ok(())
}
