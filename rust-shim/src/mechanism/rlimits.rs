//! Resource limits (`linux.scrub.rlimits.v1`): prlimit64 with soft = hard, each clamped in
//! the parent to the launcher's hard limit when it cannot raise it.

use crate::caps;
use crate::report::PhaseReports;
use crate::section::strict;
use crate::sys::{self, CapSets};
use libc::c_uint;
use serde::Deserialize;
use serde_json::{json, Map, Value};

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

/// Parses a `linux.scrub.rlimits.v1` entry.
pub fn parse(json: &str) -> Result<Vec<Rlimit>, String> {
    let e: RlimitsEntry = strict(json)?;
    let mut limits: Vec<Rlimit> = Vec::with_capacity(e.limits.len());
    for limit in e.limits {
        let (name, resource) = RLIMITS
            .iter()
            .find(|(n, _)| *n == limit.resource)
            .copied()
            .ok_or_else(|| format!("unknown resource {:?}", limit.resource))?;
        if limits.iter().any(|l| l.name == name) {
            return Err(format!("resource {name} is limited twice"));
        }
        limits.push(Rlimit {
            name,
            resource,
            value: limit.value,
        });
    }
    Ok(limits)
}

/// The resource limits as the child sets them, each clamped to the launcher's hard limit
/// when it cannot raise it: `(RLIMIT_*, value)`.
pub fn prepare(
    limits: &[Rlimit],
    launcher: &CapSets,
    reports: &mut PhaseReports,
) -> Vec<(c_uint, u64)> {
    let mut set = Map::new();
    let mut clamped = Map::new();
    let mut out = Vec::with_capacity(limits.len());
    for limit in limits {
        let mut value = limit.value;
        if !caps::has(launcher, caps::SYS_RESOURCE) {
            if let Ok((_, hard)) = sys::get_rlimit(limit.resource) {
                if value > hard {
                    clamped.insert(
                        limit.name.into(),
                        json!({ "requested": value, "hard": hard }),
                    );
                    value = hard;
                }
            }
        }
        set.insert(limit.name.into(), json!(value));
        out.push((limit.resource, value));
    }
    reports.insert(3, "rlimits", Value::Object(set));
    if !clamped.is_empty() {
        // Lower than asked (the launcher cannot raise its hard limit): stricter, not a gap.
        reports.insert(3, "rlimitsClamped", Value::Object(clamped));
    }
    out
}

/// Child: prlimit64 with soft = hard for each limit.
pub fn apply(limits: &[(c_uint, u64)]) -> Result<(), sys::Errno> {
    limits
        .iter()
        .try_for_each(|&(resource, value)| sys::set_rlimit(resource, value))
}
