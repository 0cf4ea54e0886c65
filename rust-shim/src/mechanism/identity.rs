//! Identity (phase 1, and the ids step of the scrub): which ids the child holds on the
//! host and inside. Owns `linux.identity.host_root.v1`, `linux.identity.userns.v1` (the
//! user namespace and its single-line id maps) and `linux.scrub.ids.v1`, and the fallback
//! that keeps a root launcher's child off host root: they are one decision.

use crate::section::strict;
use crate::step::Enforce;
use serde::Deserialize;

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

/// An id that can name a user or group: `(uid_t)-1` means "unchanged" to the kernel.
fn check_id(what: &str, id: u32) -> Result<u32, String> {
    if id == u32::MAX {
        return Err(format!("The plan's {what} 4294967295 is not a valid id"));
    }
    Ok(id)
}

/// Parses a `linux.identity.userns.v1` entry.
pub fn parse_userns(json: &str) -> Result<UserNsParams, String> {
    let e: UserNsEntry = strict(json)?;
    Ok(UserNsParams {
        uid: e
            .uid
            .map(|u| check_id("user namespace uid", u))
            .transpose()?,
        gid: e
            .gid
            .map(|g| check_id("user namespace gid", g))
            .transpose()?,
        enforce: e.enforce,
    })
}

/// Parses a `linux.scrub.ids.v1` entry: (uid, gid).
pub fn parse_ids(json: &str) -> Result<(u32, u32), String> {
    let e: IdsEntry = strict(json)?;
    Ok((check_id("uid", e.uid)?, check_id("gid", e.gid)?))
}
