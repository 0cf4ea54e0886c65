//! The scrub steps of phase 3 that need no module of their own: signals
//! (`linux.scrub.signals.v1`), the environment (`linux.scrub.env.v1`, from the plan's `env`
//! section), fds (`linux.scrub.fds.v1`), `linux.scrub.setsid.v1`,
//! `linux.scrub.pdeathsig.v1` and `linux.scrub.no_new_privs.v1`.

use crate::error::Refusal;
use crate::section::{c_string, invalid, strict};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ffi::CString;

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
    if !(1..=crate::sys::MAX_SIGNAL).contains(&e.signal) {
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
