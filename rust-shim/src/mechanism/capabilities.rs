//! Capabilities (`linux.scrub.capabilities.v1`): every capability set reduced to the
//! plan's `keep`, the kept ones raised as ambient so that they survive the exec.

use crate::caps;
use crate::report::PhaseReports;
use crate::section::strict;
use crate::sys::{self, CapSets};
use serde::Deserialize;
use serde_json::json;

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

/// `linux.scrub.capabilities.v1` as the child applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapsSpec {
    /// Capabilities kept (mask).
    pub keep: u64,
    /// The kernel's highest capability number.
    pub last_cap: u32,
    /// Drop the others from the bounding set (the child holds CAP_SETPCAP).
    pub drop_bounding: bool,
}

/// The capability reduction as prepared; how it plays out depends on the clone flags.
#[derive(Debug)]
pub struct Prepared {
    /// Capabilities kept (mask); `None`: no capabilities primitive.
    keep: Option<u64>,
    /// The kernel's highest capability number.
    last_cap: u32,
}

/// Prepares keeping the capabilities `keep` (numbers), if the plan has the primitive.
pub fn prepare(keep: Option<&[u32]>) -> Prepared {
    Prepared {
        keep: keep.map(|keep| keep.iter().fold(0u64, |m, &c| m | caps::bit(c))),
        last_cap: caps::last_cap(),
    }
}

impl Prepared {
    /// The reduction with `clone_flags`, for a child that switches ids keeping (or not)
    /// CAP_SETPCAP (`keeps_setpcap`), launched by a launcher holding `launcher`.
    pub fn spec(
        &self,
        clone_flags: u64,
        keeps_setpcap: bool,
        launcher: &CapSets,
    ) -> Option<CapsSpec> {
        let keep = self.keep?;
        let in_userns = clone_flags & libc::CLONE_NEWUSER as u64 != 0;
        Some(CapsSpec {
            keep,
            last_cap: self.last_cap,
            drop_bounding: in_userns
                || (keeps_setpcap && launcher.permitted & caps::bit(caps::SETPCAP) != 0),
        })
    }

    /// Once the child exists with `clone_flags`: records the sets it ends with.
    pub fn resolve(
        &self,
        clone_flags: u64,
        keeps_setpcap: bool,
        launcher: &CapSets,
        reports: &mut PhaseReports,
    ) {
        let Some(spec) = self.spec(clone_flags, keeps_setpcap, launcher) else {
            return;
        };
        let in_userns = clone_flags & libc::CLONE_NEWUSER as u64 != 0;
        let known = caps::all_through(self.last_cap);
        let held = if in_userns {
            known
        } else {
            launcher.permitted & known
        };
        let kept = spec.keep & held;
        let bounding = if spec.drop_bounding {
            json!(caps::names(kept))
        } else {
            json!("unchanged (dropping needs CAP_SETPCAP, which the launcher lacks)")
        };
        reports.insert(
            3,
            "capabilities",
            json!({
                "keep": caps::names(spec.keep),
                "effective": caps::names(kept),
                "permitted": caps::names(kept),
                "inheritable": caps::names(kept),
                "ambient": caps::names(kept),
                "bounding": bounding,
                "notHeld": caps::names(spec.keep & !held),
            }),
        );
    }
}

/// Child: reduces every capability set to `keep`: regain the permitted set as effective
/// (a uid switch cleared it), drop the bounding set while CAP_SETPCAP is held, clear
/// ambient, set effective = permitted = inheritable = kept, and raise the kept ones as
/// ambient so that they survive the exec of a non-root target.
pub fn apply(spec: CapsSpec) -> Result<(), sys::Errno> {
    let current = sys::capget()?;
    if current.effective != current.permitted {
        sys::capset(CapSets {
            effective: current.permitted,
            ..current
        })?;
    }
    if spec.drop_bounding {
        for cap in 0..=spec.last_cap {
            if spec.keep & caps::bit(cap) == 0 {
                sys::capbset_drop(cap)?;
            }
        }
    }
    match sys::ambient_clear_all() {
        // Kernels before 4.3 have no ambient set.
        Err(libc::EINVAL) | Ok(()) => {}
        Err(e) => return Err(e),
    }
    let kept = spec.keep & current.permitted;
    sys::capset(CapSets {
        effective: kept,
        permitted: kept,
        inheritable: kept,
    })?;
    for cap in 0..=spec.last_cap {
        if kept & caps::bit(cap) != 0 {
            sys::ambient_raise(cap)?;
        }
    }
    Ok(())
}
