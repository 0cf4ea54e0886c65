//! Resource limits (`linux.scrub.rlimits.v1`): prlimit64 with soft = hard, each clamped in
//! the parent to the launcher's hard limit when it cannot raise it.

use crate::section::strict;
use serde::Deserialize;

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
