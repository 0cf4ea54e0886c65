//! Identity (phase 1, and the ids step of the scrub): which ids the child holds on the
//! host and inside. Owns `linux.identity.host_root.v1`, `linux.identity.userns.v1` (the
//! user namespace and its single-line id maps) and `linux.scrub.ids.v1`, and the fallback
//! that keeps a root launcher's child off host root: they are one decision.

use crate::caps;
use crate::error::{unsupported, Failure};
use crate::report::PhaseReports;
use crate::section::strict;
use crate::step::{Enforce, Step};
use crate::sys::{self, CapSets};
use serde::Deserialize;
use serde_json::{json, Value};

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

/// The host id a root launcher's child runs as (uid and gid) unless the plan has
/// `linux.identity.host_root.v1`: the overflow id `nobody`/`nogroup`, which owns nothing a
/// setuid bit or a group grant could lend (docs/decisions.md).
pub const UNPRIVILEGED_ID: u32 = 65534;

/// The user namespace's single-line id maps: inside id → a host id (the launcher's own,
/// or [`UNPRIVILEGED_ID`] for a root launcher).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserMap {
    /// uid inside.
    pub inside_uid: u32,
    /// gid inside.
    pub inside_gid: u32,
    /// The host uid.
    pub outside_uid: u32,
    /// The host gid.
    pub outside_gid: u32,
    /// `setgroups` stays allowed and the child drops its supplementary groups (a launcher
    /// with CAP_SETGID); otherwise `setgroups` is denied, as the kernel requires.
    pub clear_groups: bool,
}

impl UserMap {
    /// `uid_map` content.
    pub fn uid_line(&self) -> String {
        format!("{} {} 1", self.inside_uid, self.outside_uid)
    }

    /// `gid_map` content.
    pub fn gid_line(&self) -> String {
        format!("{} {} 1", self.inside_gid, self.outside_gid)
    }

    /// What the transcript says about supplementary groups.
    pub fn setgroups(&self) -> &'static str {
        if self.clear_groups {
            "cleared"
        } else {
            "deny"
        }
    }
}

/// The ids the child switches to, as it applies them (the ids step, or the user
/// namespace's ids once the maps are written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdsSpec {
    /// uid (real, effective, saved).
    pub uid: u32,
    /// gid (real, effective, saved).
    pub gid: u32,
    /// `setgroups(0, NULL)` first (needs CAP_SETGID; skipped when there are none).
    pub clear_groups: bool,
    /// PR_SET_KEEPCAPS around setresuid, so that the capabilities primitive that follows
    /// still holds CAP_SETPCAP to drop the bounding set.
    pub keep_caps: bool,
}

/// A host id the child may hold: the launcher's own, or [`UNPRIVILEGED_ID`] in place of 0
/// unless the plan keeps host root.
fn host_id(id: u32, host_root: bool) -> u32 {
    if id == 0 && !host_root {
        UNPRIVILEGED_ID
    } else {
        id
    }
}

/// Whether user namespaces are switched off on this host (`max_user_namespaces` 0).
fn user_namespaces_disabled() -> Option<String> {
    let max = std::fs::read_to_string("/proc/sys/user/max_user_namespaces").ok()?;
    (max.trim() == "0").then(|| {
        "user namespaces are disabled (/proc/sys/user/max_user_namespaces is 0)".to_string()
    })
}

/// The child's identity as prepared in the parent.
#[derive(Debug, Default)]
pub struct Prepared {
    /// The user namespace to create and its maps.
    pub user: Option<UserMap>,
    /// The user namespace must not be given up.
    pub user_required: bool,
    /// The plan's ids (`linux.scrub.ids.v1`).
    ids: Option<IdsSpec>,
    /// The ids a launcher holding host root switches to when no user namespace is created
    /// and the plan keeps neither its own ids nor host root.
    fallback_ids: Option<IdsSpec>,
}

/// Decides the user namespace (`userns`; `host_root`: the plan has
/// `linux.identity.host_root.v1`): refuses what `required` cannot have, records what
/// `best_effort` gives up. `host_capability`: a kept capability that would act on the
/// host if the user namespace were given up.
pub fn prepare_userns(
    userns: Option<UserNsParams>,
    host_root: bool,
    host_capability: Option<u32>,
    launcher: &CapSets,
    reports: &mut PhaseReports,
) -> Result<Prepared, Failure> {
    let mut prepared = Prepared::default();
    if host_root {
        reports.insert(1, "hostRoot", json!(true));
    }
    let Some(user) = userns else {
        return Ok(prepared);
    };
    let (euid, egid) = sys::effective_ids();
    prepared.user_required = user.enforce == Enforce::Required;
    match user_namespaces_disabled() {
        Some(reason) if prepared.user_required => {
            return Err(unsupported(format!(
                "The plan requires a user namespace, but {reason}; enable them or set enforce.namespaces: best_effort"
            )))
        }
        Some(reason) => {
            if let Some(cap) = host_capability.filter(|_| !host_root) {
                return Err(unsupported(format!(
                    "The plan keeps {} in a user namespace, but {reason}; on the host it would be host authority, which the plan does not grant (linux.identity.host_root.v1)",
                    caps::names(caps::bit(cap)).join("")
                )));
            }
            reports.record(1, "userNamespace", json!({ "skipped": reason }), true);
        }
        None => {
            // One id given stands for both: `uid: 65534` alone must not run as gid 0.
            prepared.user = Some(UserMap {
                inside_uid: user.uid.or(user.gid).unwrap_or(euid),
                inside_gid: user.gid.or(user.uid).unwrap_or(egid),
                outside_uid: host_id(euid, host_root),
                outside_gid: host_id(egid, host_root),
                clear_groups: !host_root && caps::has(launcher, caps::SETGID),
            })
        }
    }
    Ok(prepared)
}

impl Prepared {
    /// `linux.scrub.ids.v1` (`ids`), and the fallback ids of a root launcher: refuses when
    /// the launcher cannot switch to them. `keep_caps`: the plan has the capabilities
    /// primitive, which runs after the switch. Returns whether the schedule needs an ids
    /// step the plan lacks (for the fallback).
    pub fn prepare_ids(
        &mut self,
        ids: Option<(u32, u32)>,
        host_root: bool,
        keep_caps: bool,
        launcher: &CapSets,
        reports: &mut PhaseReports,
    ) -> Result<bool, Failure> {
        if let Some((uid, gid)) = ids {
            self.ids = Some(ids_spec(uid, gid, keep_caps, launcher)?);
            reports.insert(3, "ids", json!({ "uid": uid, "gid": gid, "groups": [] }));
        }
        self.fallback_ids = fallback_ids(ids.is_some() || host_root, keep_caps, launcher)?;
        Ok(self.fallback_ids.is_some())
    }

    /// The ids the child switches to with `clone_flags`: the plan's, or outside a user
    /// namespace the fallback that keeps a root launcher's child off host root.
    pub fn ids_for(&self, clone_flags: u64) -> Option<IdsSpec> {
        let in_userns = clone_flags & libc::CLONE_NEWUSER as u64 != 0;
        self.ids.or(self.fallback_ids.filter(|_| !in_userns))
    }

    /// The ids inside the user namespace, switched to once the maps are written.
    pub fn userns_ids(&self) -> Option<IdsSpec> {
        self.user.map(|u| IdsSpec {
            uid: u.inside_uid,
            gid: u.inside_gid,
            clear_groups: u.clear_groups,
            // The capabilities primitive still needs CAP_SETPCAP in the namespace.
            keep_caps: true,
        })
    }

    /// Whether the child must make itself dumpable until its maps are written: the
    /// launcher is non-dumpable, so its child's `/proc` files belong to root, and this
    /// launcher cannot write or read them without CAP_DAC_OVERRIDE and CAP_SYS_PTRACE.
    pub fn dumpable_for_maps(&self, clone_flags: u64, launcher: &CapSets) -> bool {
        clone_flags & libc::CLONE_NEWUSER as u64 != 0
            && !(caps::has(launcher, caps::DAC_OVERRIDE) && caps::has(launcher, caps::SYS_PTRACE))
    }

    /// Once the child exists with `clone_flags`: records the fallback ids it switches to,
    /// and returns the maps to write when a user namespace was created.
    pub fn resolve(&self, clone_flags: u64, reports: &mut PhaseReports) -> Option<UserMap> {
        if let (Some(ids), None) = (self.ids_for(clone_flags), self.ids) {
            reports.insert(
                3,
                "ids",
                json!({ "uid": ids.uid, "gid": ids.gid, "groups": [], "reason": "the launcher holds host root, the plan does not keep it (linux.identity.host_root.v1) and no user namespace was created" }),
            );
        }
        self.user
            .filter(|_| clone_flags & libc::CLONE_NEWUSER as u64 != 0)
    }
}

/// The ids a launcher that holds uid or gid 0 (real, effective or saved) switches its
/// child to when no user namespace is created: [`UNPRIVILEGED_ID`] in place of 0. None
/// when the plan has its own ids or keeps host root (`exempt`).
fn fallback_ids(
    exempt: bool,
    keep_caps: bool,
    launcher: &CapSets,
) -> Result<Option<IdsSpec>, Failure> {
    let (u, g) = sys::res_ids();
    let root = u.contains(&0) || g.contains(&0);
    if exempt || !root {
        return Ok(None);
    }
    let pick = |ids: [u32; 3]| {
        if ids.contains(&0) {
            UNPRIVILEGED_ID
        } else {
            ids[1]
        }
    };
    ids_spec(pick(u), pick(g), keep_caps, launcher).map(Some)
}

/// Checks that the launcher can switch to `uid` and `gid` and drop its groups.
fn ids_spec(uid: u32, gid: u32, keep_caps: bool, launcher: &CapSets) -> Result<IdsSpec, Failure> {
    let (u, g) = sys::res_ids();
    let groups = sys::group_count().unwrap_or(usize::MAX);
    let clear_groups = caps::has(launcher, caps::SETGID);
    let lacking = if !clear_groups && groups != 0 {
        Some("CAP_SETGID (to drop supplementary groups)")
    } else if !caps::has(launcher, caps::SETGID) && !g.contains(&gid) {
        Some("CAP_SETGID")
    } else if !caps::has(launcher, caps::SETUID) && !u.contains(&uid) {
        Some("CAP_SETUID")
    } else {
        None
    };
    if let Some(cap) = lacking {
        return Err(unsupported(format!(
            "Switching to uid {uid} gid {gid} needs {cap}, which this launcher (uid {}) lacks; launch as root or use `user: {{ namespace: true }}` instead",
            u[1]
        )));
    }
    Ok(IdsSpec {
        uid,
        gid,
        clear_groups,
        keep_caps,
    })
}

/// Records the user namespace the child was created in: its inode and maps.
pub fn record_user_namespace(map: &UserMap, inode: Value, reports: &mut PhaseReports) {
    reports.insert(
        1,
        "userNamespace",
        json!({
            "inode": inode,
            "uidMap": map.uid_line(),
            "gidMap": map.gid_line(),
            "setgroups": map.setgroups(),
        }),
    );
}

/// Records that best_effort gave up the user namespace because clone3 refused it.
pub fn record_skipped(reason: &str, reports: &mut PhaseReports) {
    reports.record(1, "userNamespace", json!({ "skipped": reason }), true);
}

/// Writes the user namespace's `setgroups` (deny), `gid_map` and `uid_map` of child `pid`.
pub fn write_maps(pid: i32, map: &UserMap) -> Result<(), Failure> {
    let write = |file: &str, text: String| {
        std::fs::write(format!("/proc/{pid}/{file}"), text).map_err(|e| {
            Failure::fault(
                Step::UserNs.id(),
                e.raw_os_error().unwrap_or(libc::EIO),
                &format!("Writing /proc/{pid}/{file} failed"),
            )
        })
    };
    if !map.clear_groups {
        write("setgroups", "deny".to_string())?;
    }
    write("gid_map", format!("{}\n", map.gid_line()))?;
    write("uid_map", format!("{}\n", map.uid_line()))
}

/// Child: once the parent wrote the maps, non-dumpable again (this process still holds a
/// copy of the launcher's memory) and the ids inside (for a privileged launcher, without
/// its supplementary groups).
pub fn enter_userns(dumpable_for_maps: bool, ids: Option<IdsSpec>) -> Result<(), sys::Errno> {
    if dumpable_for_maps {
        sys::set_dumpable(false)?;
    }
    ids.map_or(Ok(()), switch_ids)
}

/// Child: setgroups([]) → setresgid → (KEEPCAPS) → setresuid (linux-facts.md §4).
pub fn switch_ids(ids: IdsSpec) -> Result<(), sys::Errno> {
    if ids.clear_groups {
        sys::clear_groups()?;
    }
    sys::setresgid(ids.gid)?;
    if ids.keep_caps {
        sys::set_keepcaps(true)?;
    }
    sys::setresuid(ids.uid)
}
