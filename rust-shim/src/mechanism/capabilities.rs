//! Capabilities (`linux.scrub.capabilities.v1`): every capability set reduced to the
//! plan's `keep`, the kept ones raised as ambient so that they survive the exec.

use crate::caps;
use crate::section::strict;
use serde::Deserialize;

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

/// Parses a `linux.scrub.capabilities.v1` entry: the capability numbers kept.
pub fn parse(json: &str) -> Result<Vec<u32>, String> {
    let e: CapabilitiesEntry = strict(json)?;
    let mut numbers = Vec::with_capacity(e.keep.len());
    for name in &e.keep {
        let n = caps::number(name).ok_or_else(|| {
            format!("unknown capability {name:?} (names look like CAP_NET_BIND_SERVICE)")
        })?;
        if numbers.contains(&n) {
            return Err(format!("capability {name} is listed twice"));
        }
        numbers.push(n);
    }
    Ok(numbers)
}

/// A kept capability other than `CAP_NET_BIND_SERVICE`: without a user namespace it acts
/// on the host (CAP_SETUID: uid 0; CAP_CHOWN + CAP_FOWNER: a root-owned setuid file), so
/// it needs `linux.identity.host_root.v1`.
pub fn host_capability(keep: &[u32]) -> Option<u32> {
    keep.iter().copied().find(|&c| c != caps::NET_BIND_SERVICE)
}
