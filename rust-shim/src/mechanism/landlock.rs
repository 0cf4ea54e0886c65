//! Landlock (`linux.confine.landlock.v1` with the plan's `landlock` section): right names
//! and values per ABI, parsing the section, the best-effort downgrade (linux-facts.md §1),
//! and the ruleset the parent builds before clone3. The child only calls
//! `landlock_restrict_self` on the ruleset fd.

mod denials;

#[cfg(test)]
pub use denials::largest_records;
pub use denials::Denials;

use crate::digest::is_sha256_hex;
use crate::error::{Failure, Refusal};
use crate::hashed_file::open_interpreter;
use crate::plan_path;
use crate::section::{check_resolved, invalid};
use crate::step::{Enforce, Step};
use crate::sys;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

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
    /// A path that exists only in the filesystem view (`inView`): the child opens it once
    /// the view is built.
    pub in_view: bool,
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

/// The plan's `landlock` section as it is written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawLandlock {
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
    #[serde(rename = "inView")]
    in_view: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetRule {
    port: u32,
    access: Vec<String>,
}

/// A named right: uapi name without the prefix, lowercase; its bit; the first ABI with it.
pub type Right = (&'static str, u64, i64);

/// `LANDLOCK_ACCESS_FS_READ_FILE`.
const READ_FILE: u64 = 1 << 2;

/// `LANDLOCK_ACCESS_FS_*`.
pub const FS_RIGHTS: [Right; 17] = [
    ("execute", 1 << 0, 1),
    ("write_file", 1 << 1, 1),
    ("read_file", 1 << 2, 1),
    ("read_dir", 1 << 3, 1),
    ("remove_dir", 1 << 4, 1),
    ("remove_file", 1 << 5, 1),
    ("make_char", 1 << 6, 1),
    ("make_dir", 1 << 7, 1),
    ("make_reg", 1 << 8, 1),
    ("make_sock", 1 << 9, 1),
    ("make_fifo", 1 << 10, 1),
    ("make_block", 1 << 11, 1),
    ("make_sym", 1 << 12, 1),
    ("refer", 1 << 13, 2),
    ("truncate", 1 << 14, 3),
    ("ioctl_dev", 1 << 15, 5),
    ("resolve_unix", 1 << 16, 9),
];

/// `LANDLOCK_ACCESS_NET_*` (ABI 4).
pub const NET_RIGHTS: [Right; 2] = [("bind_tcp", 1 << 0, 4), ("connect_tcp", 1 << 1, 4)];

/// `LANDLOCK_SCOPE_*` (ABI 6).
pub const SCOPES: [Right; 2] = [("abstract_unix_socket", 1 << 0, 6), ("signal", 1 << 1, 6)];

/// The rights a rule on a non-directory may carry (`ACCESS_FILE` in fs.c).
pub const ACCESS_FILE: u64 = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 14) | (1 << 15) | (1 << 16);

/// The mask of the rights in `table` named by `names`; `None` names the first unknown one.
pub fn mask_of(table: &[Right], names: &[String]) -> Result<u64, String> {
    let mut mask = 0;
    for name in names {
        let (_, bit, _) = table
            .iter()
            .find(|(n, _, _)| n == name)
            .ok_or_else(|| name.clone())?;
        mask |= bit;
    }
    Ok(mask)
}

/// The names of the rights of `table` in `mask`, in table order.
pub fn names_of(table: &[Right], mask: u64) -> Vec<&'static str> {
    table
        .iter()
        .filter(|(_, bit, _)| mask & bit != 0)
        .map(|(n, _, _)| *n)
        .collect()
}

/// The union of the rights of `table` that Landlock ABI `abi` knows (0 when `abi < 1`).
pub fn supported(table: &[Right], abi: i64) -> u64 {
    table
        .iter()
        .filter(|(_, _, since)| *since <= abi)
        .fold(0, |m, (_, bit, _)| m | bit)
}

/// What a ruleset handles once it is fitted to a kernel's ABI, and what had to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fitted {
    /// Handled filesystem rights.
    pub fs: u64,
    /// Handled TCP rights.
    pub net: u64,
    /// Scopes.
    pub scoped: u64,
    /// Requested filesystem rights this ABI lacks.
    pub dropped_fs: u64,
    /// Requested TCP rights this ABI lacks.
    pub dropped_net: u64,
    /// Requested scopes this ABI lacks.
    pub dropped_scoped: u64,
}

impl Fitted {
    /// Whether anything requested had to be dropped.
    pub fn lossy(&self) -> bool {
        self.dropped_fs | self.dropped_net | self.dropped_scoped != 0
    }

    /// Whether the fitted ruleset handles anything at all.
    pub fn handles_anything(&self) -> bool {
        self.fs | self.net | self.scoped != 0
    }

    /// The dropped rights by kind, for details and refusals.
    pub fn dropped_json(&self) -> Value {
        json!({
            "fs": names_of(&FS_RIGHTS, self.dropped_fs),
            "net": names_of(&NET_RIGHTS, self.dropped_net),
            "scoped": names_of(&SCOPES, self.dropped_scoped),
        })
    }

    fn dropped_list(&self) -> String {
        [
            names_of(&FS_RIGHTS, self.dropped_fs),
            names_of(&NET_RIGHTS, self.dropped_net),
            names_of(&SCOPES, self.dropped_scoped),
        ]
        .concat()
        .join(", ")
    }
}

/// The best-effort downgrade of linux-facts.md §1: keep the requested rights that ABI
/// `abi` knows (none when `abi < 1`: Landlock unavailable), TCP rights only from ABI 4,
/// scopes only from ABI 6.
pub fn fit(abi: i64, fs: u64, net: u64, scoped: u64) -> Fitted {
    let (fs_ok, net_ok, scoped_ok) = (
        supported(&FS_RIGHTS, abi),
        supported(&NET_RIGHTS, abi),
        supported(&SCOPES, abi),
    );
    Fitted {
        fs: fs & fs_ok,
        net: net & net_ok,
        scoped: scoped & scoped_ok,
        dropped_fs: fs & !fs_ok,
        dropped_net: net & !net_ok,
        dropped_scoped: scoped & !scoped_ok,
    }
}

/// The rights a rule keeps: those the ruleset handles, and on a non-directory only the
/// file rights. 0 means the rule grants nothing and is left out (the kernel says ENOMSG).
pub fn rule_rights(allowed: u64, handled: u64, is_dir: bool) -> u64 {
    let kept = allowed & handled;
    if is_dir {
        kept
    } else {
        kept & ACCESS_FILE
    }
}

fn names_mask(table: &[Right], names: &[String], what: &str) -> Result<u64, Refusal> {
    let mut seen: Vec<&String> = Vec::new();
    for name in names {
        if seen.contains(&name) {
            return Err(invalid(format!(
                "The landlock section lists {what} {name} twice"
            )));
        }
        seen.push(name);
    }
    mask_of(table, names).map_err(|name| {
        invalid(format!(
            "The landlock section has an unknown {what} {name:?}"
        ))
    })
}

/// Parses the `landlock` section; an implied `target` rule must name `exe` with `exe_sha256`.
pub fn parse(raw: RawLandlock, exe: &str, exe_sha256: &str) -> Result<LandlockSection, Refusal> {
    let handled_fs = names_mask(&FS_RIGHTS, &raw.handled_fs, "filesystem right")?;
    let handled_net = names_mask(&NET_RIGHTS, &raw.handled_net, "network right")?;
    let scoped = names_mask(&SCOPES, &raw.scoped, "scope")?;
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
        let access = names_mask(&FS_RIGHTS, &rule.access, "filesystem right")?;
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
            && (rule.path != exe || rule.sha256.as_deref() != Some(exe_sha256))
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
        let in_view = rule.in_view.unwrap_or(false);
        if in_view && (rule.implied.is_some() || rule.resolved.is_some()) {
            return Err(invalid(format!(
                "The landlock rule for {} is inView and implied or resolved; a view path is opened in the view only",
                rule.path
            )));
        }
        fs.push(FsRule {
            path: rule.path,
            access,
            implied: rule.implied,
            sha256: rule.sha256,
            resolved: rule.resolved,
            in_view,
        });
    }
    let mut net = Vec::with_capacity(raw.net.len());
    for rule in raw.net {
        let port = u16::try_from(rule.port)
            .map_err(|_| invalid(format!("The landlock port {} is above 65535", rule.port)))?;
        let access = names_mask(&NET_RIGHTS, &rule.access, "network right")?;
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

/// A `landlock.fs` rule on a path that exists only in the filesystem view (`inView`):
/// the child opens it once the view is built and adds it to the ruleset
/// ([`add_in_view_rules`]).
#[derive(Debug)]
pub struct InViewRule {
    /// The path in the view.
    pub path: CString,
    /// Its rights when it is a directory (0: none left, no rule).
    pub dir_rights: u64,
    /// Its rights otherwise.
    pub file_rights: u64,
}

/// Child: adds the `inView` rules to `ruleset` (raw syscalls only), each path opened
/// `O_PATH | O_NOFOLLOW`, its rights picked by its type, closed again.
fn add_in_view_rules(ruleset: libc::c_int, rules: &[InViewRule]) -> Result<(), sys::Errno> {
    for rule in rules {
        let fd = sys::open_at(&rule.path, libc::O_PATH | libc::O_NOFOLLOW, 0)?;
        let added = sys::stat_id(fd, c"", libc::AT_EMPTY_PATH).and_then(|(_, _, mode)| {
            let rights = if mode & libc::S_IFMT == libc::S_IFDIR {
                rule.dir_rights
            } else {
                rule.file_rights
            };
            match rights {
                0 => Ok(()),
                r => sys::landlock_add_path_rule(ruleset, fd, r),
            }
        });
        sys::close(fd)?;
        added?;
    }
    Ok(())
}

/// The ruleset built for the child, and what the confine phase reports about it.
pub struct Prepared {
    /// The ruleset fd (close-on-exec), or `None` when nothing can be enforced.
    pub ruleset: Option<OwnedFd>,
    /// The `inView` rules the child adds once the view is built.
    pub in_view: Vec<InViewRule>,
    /// `details.landlock` of the confine phase.
    pub details: Value,
    /// Whether less than the plan asked for is enforced.
    pub degraded: bool,
    /// The `landlock_restrict_self` flags.
    pub restrict_flags: libc::c_uint,
}

/// `LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON` (ABI 7): keep logging denials to audit after
/// the target's exec (by default only the shim's own code before exec would be logged).
const LOG_NEW_EXEC_ON: libc::c_uint = 1 << 1;

/// The `restrict_self` flags for ABI `abi`: the target's denials are logged where the
/// kernel can (ABI 7); an older kernel refuses unknown flags.
pub fn restrict_flags(abi: i64) -> libc::c_uint {
    if abi >= 7 {
        LOG_NEW_EXEC_ON
    } else {
        0
    }
}

fn fault(errno: i32, what: &str) -> Failure {
    Failure::fault(Step::Landlock.id(), errno, what)
}

/// Builds the ruleset of `section` for Landlock ABI `abi` (< 1: unavailable). The target's
/// own rule uses `exe_fd`, the fd that was hashed and will be executed; a sealed memfd copy
/// (`exe_copied`) gets no rule: Landlock does not restrict memfds (and refuses rules on them).
/// Implied interpreter rules use the files `interpreters` already verified (path, sha256).
/// Every other rule path must be one only root and the launcher can redirect
/// ([`plan_path::open_unredirectable`]), except the read_file-only rule of an input in
/// `copied_inputs`: others can write it, and the target reads its pinned copy instead.
pub fn prepare(
    section: &LandlockSection,
    abi: i64,
    exe_path: &str,
    exe_fd: &OwnedFd,
    exe_copied: bool,
    interpreters: &[(String, String, File)],
    copied_inputs: &[&str],
) -> Result<Prepared, Failure> {
    let fitted = fit(abi, section.handled_fs, section.handled_net, section.scoped);
    if section.enforce == Enforce::Required && fitted.lossy() {
        let have = if abi < 1 {
            "has no Landlock".to_string()
        } else {
            format!("has Landlock ABI {abi}")
        };
        return Err(Refusal::KernelUnsupported(format!(
            "The plan requires Landlock rights this kernel cannot enforce ({}): it {have}; upgrade the kernel or set enforce.landlock: best_effort",
            fitted.dropped_list()
        ))
        .into());
    }
    let mut details = Map::new();
    details.insert("abi".into(), json!(abi.max(0)));
    details.insert("handledFs".into(), json!(names_of(&FS_RIGHTS, fitted.fs)));
    details.insert(
        "handledNet".into(),
        json!(names_of(&NET_RIGHTS, fitted.net)),
    );
    details.insert("scoped".into(), json!(names_of(&SCOPES, fitted.scoped)));
    if fitted.lossy() {
        details.insert("droppedRights".into(), fitted.dropped_json());
    }
    // The ruleset is only an fd: creating it first lets each path be opened, added and
    // closed in turn, so a plan of any size needs two fds, not one per path. (A refusal
    // below still comes before any child exists.)
    let ruleset = if fitted.handles_anything() {
        let attr = sys::LandlockRulesetAttr {
            handled_access_fs: fitted.fs,
            handled_access_net: fitted.net,
            scoped: fitted.scoped,
        };
        let raw = sys::landlock_create_ruleset(&attr)
            .map_err(|e| fault(e, "Creating the Landlock ruleset failed"))?;
        // SAFETY: landlock_create_ruleset just returned this fd; nothing else owns it.
        Some(
            sys::above_stdio(unsafe { OwnedFd::from_raw_fd(raw) })
                .map_err(|e| fault(e, "Moving the Landlock ruleset fd failed"))?,
        )
    } else {
        None
    };
    let mut fs_rules = 0u32;
    let mut add = |fd: i32, allowed: u64, is_dir: bool, what: &str| -> Result<(), Failure> {
        let Some(ruleset) = &ruleset else {
            return Ok(());
        };
        let rights = rule_rights(allowed, fitted.fs, is_dir);
        if rights == 0 {
            return Ok(());
        }
        sys::landlock_add_path_rule(ruleset.as_raw_fd(), fd, rights)
            .map_err(|e| fault(e, &format!("Adding the Landlock rule for {what} failed")))?;
        fs_rules += 1;
        Ok(())
    };
    let mut absent: Vec<&str> = Vec::new();
    let mut paths: Vec<Value> = Vec::new();
    let mut exe_rights = 0u64;
    let mut in_view = Vec::new();
    for (index, rule) in section.fs.iter().enumerate() {
        if rule.in_view {
            let path = CString::new(rule.path.as_str()).map_err(|_| {
                invalid(format!(
                    "The landlock path {:?} contains a NUL byte",
                    rule.path
                ))
            })?;
            in_view.push(InViewRule {
                path,
                dir_rights: rule_rights(rule.access, fitted.fs, true),
                file_rights: rule_rights(rule.access, fitted.fs, false),
            });
            continue;
        }
        if rule.path == exe_path && rule.sha256.is_some() {
            exe_rights |= rule.access;
            continue;
        }
        let file = match &rule.sha256 {
            Some(sha) => match interpreters
                .iter()
                .find(|(p, s, _)| *p == rule.path && s == sha)
            {
                Some((_, _, file)) => file.try_clone().map_err(|e| {
                    fault(
                        e.raw_os_error().unwrap_or(libc::EIO),
                        "Duplicating an interpreter fd failed",
                    )
                })?,
                None => open_interpreter(&rule.path, sha)?,
            },
            None => {
                let copied_input =
                    rule.access == READ_FILE && copied_inputs.contains(&rule.path.as_str());
                let open = if copied_input {
                    plan_path::open
                } else {
                    plan_path::open_unredirectable
                };
                let path = open(
                    "Landlock path",
                    &rule.path,
                    rule.resolved.as_deref(),
                    libc::O_PATH,
                )?;
                if let Some(p) = path.as_ref().filter(|_| copied_input) {
                    // A rule on a file grants that file only; a directory swapped in
                    // would grant everything beneath it.
                    if !p.file.metadata().is_ok_and(|m| m.is_file()) {
                        return Err(Refusal::PathChanged(format!(
                            "The input {} is no longer a regular file; restore it or recompile and re-sign the plan",
                            rule.path
                        ))
                        .into());
                    }
                }
                match path {
                    Some(p) => {
                        paths.push(p.describe(&rule.path));
                        p.file
                    }
                    None => {
                        absent.push(&rule.path);
                        continue;
                    }
                }
            }
        };
        let is_dir = file
            .metadata()
            .map_err(|e| fault(e.raw_os_error().unwrap_or(libc::EIO), "fstat failed"))?
            .is_dir();
        add(
            file.as_raw_fd(),
            rule.access,
            is_dir,
            &format!("rule {index}"),
        )?;
        // `file` closes here: one path fd at a time.
    }
    if exe_rights != 0 && !exe_copied {
        add(exe_fd.as_raw_fd(), exe_rights, false, exe_path)?;
    }
    details.insert("absentPaths".into(), json!(absent));
    details.insert("paths".into(), json!(paths));
    let in_view_paths: Vec<&str> = section
        .fs
        .iter()
        .filter(|r| r.in_view)
        .map(|r| r.path.as_str())
        .collect();
    if !in_view_paths.is_empty() {
        details.insert("inViewPaths".into(), json!(in_view_paths));
    }
    let Some(ruleset) = ruleset else {
        details.insert("fsRules".into(), json!(0));
        details.insert("netRules".into(), json!(0));
        details.insert(
            "skipped".into(),
            json!(if abi < 1 {
                "this kernel has no Landlock"
            } else {
                "this kernel's Landlock ABI handles none of the requested rights"
            }),
        );
        return Ok(Prepared {
            ruleset: None,
            in_view: Vec::new(),
            details: Value::Object(details),
            degraded: true,
            restrict_flags: 0,
        });
    };
    let mut net_rules = 0u32;
    for &(port, access) in &section.net {
        let rights = access & fitted.net;
        if rights == 0 {
            continue;
        }
        sys::landlock_add_net_rule(ruleset.as_raw_fd(), port, rights).map_err(|e| {
            fault(
                e,
                &format!("Adding the Landlock rule for TCP port {port} failed"),
            )
        })?;
        net_rules += 1;
    }
    details.insert("fsRules".into(), json!(fs_rules));
    details.insert("netRules".into(), json!(net_rules));
    Ok(Prepared {
        ruleset: Some(ruleset),
        in_view,
        details: Value::Object(details),
        degraded: fitted.lossy(),
        restrict_flags: restrict_flags(abi),
    })
}

/// Child: enforces the prepared ruleset (`-1`: none, best_effort had nothing to enforce)
/// with the prepared `restrict_self` flags, after adding the `inView` rules (empty when no
/// view was built).
pub fn apply(
    ruleset_fd: libc::c_int,
    flags: libc::c_uint,
    in_view: &[InViewRule],
) -> Result<(), sys::Errno> {
    if ruleset_fd >= 0 {
        add_in_view_rules(ruleset_fd, in_view)?;
        sys::landlock_restrict_self(ruleset_fd, flags)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_FS_ABI5: u64 = (1 << 16) - 1;

    #[test]
    fn fitting_to_older_abis_drops_exactly_the_newer_rights() {
        let net = 3;
        let scoped = 3;
        let now = fit(7, ALL_FS_ABI5, net, scoped);
        assert!(!now.lossy());
        assert_eq!((now.fs, now.net, now.scoped), (ALL_FS_ABI5, 3, 3));

        let abi3 = fit(3, ALL_FS_ABI5, net, scoped);
        assert_eq!(names_of(&FS_RIGHTS, abi3.dropped_fs), ["ioctl_dev"]);
        assert_eq!(abi3.fs, ALL_FS_ABI5 & !(1 << 15));
        assert_eq!((abi3.net, abi3.dropped_net), (0, 3));
        assert_eq!((abi3.scoped, abi3.dropped_scoped), (0, 3));
        assert!(abi3.lossy() && abi3.handles_anything());

        let abi1 = fit(1, ALL_FS_ABI5, 0, 0);
        assert_eq!(
            names_of(&FS_RIGHTS, abi1.dropped_fs),
            ["refer", "truncate", "ioctl_dev"]
        );
        let abi5 = fit(5, ALL_FS_ABI5, net, scoped);
        assert_eq!((abi5.dropped_fs, abi5.dropped_net), (0, 0));
        assert_eq!(
            names_of(&SCOPES, abi5.dropped_scoped),
            ["abstract_unix_socket", "signal"]
        );

        let none = fit(-1, ALL_FS_ABI5, net, scoped);
        assert!(!none.handles_anything() && none.lossy());
        assert_eq!(none.dropped_fs, ALL_FS_ABI5);
        // resolve_unix needs ABI 9.
        assert_eq!(fit(7, 1 << 16, 0, 0).dropped_fs, 1 << 16);
        assert_eq!(fit(9, 1 << 16, 0, 0).dropped_fs, 0);
    }

    #[test]
    fn rules_narrow_to_handled_and_file_rights() {
        let read = (1 << 2) | (1 << 3); // read_file | read_dir
        assert_eq!(rule_rights(read, ALL_FS_ABI5, true), read);
        assert_eq!(rule_rights(read, ALL_FS_ABI5, false), 1 << 2);
        assert_eq!(
            rule_rights(1 << 3, ALL_FS_ABI5, false),
            0,
            "read_dir only on a file"
        );
        assert_eq!(
            rule_rights((1 << 15) | 1, 1, false),
            1,
            "unhandled rights go"
        );
    }

    #[test]
    fn right_names_round_trip() {
        let names = vec!["execute".to_string(), "ioctl_dev".to_string()];
        let mask = mask_of(&FS_RIGHTS, &names).unwrap();
        assert_eq!(mask, 1 | (1 << 15));
        assert_eq!(names_of(&FS_RIGHTS, mask), ["execute", "ioctl_dev"]);
        assert_eq!(
            mask_of(&FS_RIGHTS, &["fly".to_string()]).unwrap_err(),
            "fly"
        );
        assert_eq!(supported(&FS_RIGHTS, 0), 0);
    }
}
