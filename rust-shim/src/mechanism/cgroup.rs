//! cgroup v2 placement: a child cgroup of the launcher's own cgroup with the plan's
//! limits, joined by the child atomically with `CLONE_INTO_CGROUP`, removed after the
//! child was reaped. Everything happens in the parent; the child makes no cgroup call.
//!
//! The launcher's cgroup is the `0::/path` line of `/proc/self/cgroup` under the cgroup2
//! mount of `/proc/self/mountinfo`. The controllers the limits need must be listed in its
//! `cgroup.controllers`; the shim enables them in its `cgroup.subtree_control` when they
//! are not yet (which the kernel refuses with EBUSY when the launcher's cgroup is not the
//! root and holds processes: run the launcher in a delegated cgroup whose subtree_control
//! already enables them).

use crate::error::{unsupported, Failure};
use crate::report::PhaseReports;
use crate::section::strict;
use crate::step::Enforce;
use crate::sys;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::fs::{self, File, OpenOptions};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `linux.scrub.cgroup.v1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CgroupParams {
    /// `memory.max`, bytes.
    pub memory_max: Option<u64>,
    /// `pids.max`.
    pub pids_max: Option<u64>,
    /// `cpu.max` as a percentage of one CPU (> 0).
    pub cpu_max_percent: Option<f64>,
    /// Enforcement.
    pub enforce: Enforce,
}

/// `linux.scrub.cgroup.v1`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CgroupEntry {
    #[serde(rename = "id")]
    _id: String,
    #[serde(rename = "phase")]
    _phase: u8,
    memory_max: Option<u64>,
    pids_max: Option<u64>,
    cpu_max_percent: Option<f64>,
    enforce: Enforce,
}

/// Parses a `linux.scrub.cgroup.v1` entry.
pub fn parse(json: &str) -> Result<CgroupParams, String> {
    let e: CgroupEntry = strict(json)?;
    if e.cpu_max_percent
        .is_some_and(|p| !(p.is_finite() && p > 0.0))
    {
        return Err("cpuMaxPercent must be more than 0".into());
    }
    Ok(CgroupParams {
        memory_max: e.memory_max,
        pids_max: e.pids_max,
        cpu_max_percent: e.cpu_max_percent,
        enforce: e.enforce,
    })
}

/// `cpu.max` period, microseconds.
const CPU_PERIOD_US: u64 = 100_000;
/// The smallest quota the kernel takes, microseconds.
const CPU_MIN_QUOTA_US: u64 = 1_000;

/// The cgroup v2 hierarchy as this process sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// Where cgroup2 is mounted.
    pub mount: PathBuf,
    /// The launcher's cgroup, relative to the hierarchy root (`/` for the root).
    pub own: String,
    /// The launcher's cgroup directory.
    pub dir: PathBuf,
}

/// Finds the cgroup2 mount point in mountinfo text: `(mount point, mount root)`.
fn cgroup2_mount(mountinfo: &str) -> Option<(String, String)> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let fstype = right.split_whitespace().next()?;
        if fstype != "cgroup2" {
            return None;
        }
        let fields: Vec<&str> = left.split_whitespace().collect();
        Some((unescape(fields.get(4)?), unescape(fields.get(3)?)))
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|_| bytes[i] == b'\\')
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u8::from_str_radix(d, 8).ok());
        match octal {
            Some(v) => {
                out.push(v);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `0::` path of `/proc/self/cgroup` text.
fn own_cgroup(proc_cgroup: &str) -> Option<String> {
    proc_cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(str::to_string)
}

/// Locates the hierarchy and the launcher's cgroup in it, or says why it cannot.
pub fn hierarchy() -> Result<Hierarchy, String> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("/proc/self/mountinfo cannot be read ({e})"))?;
    let (mount, root) =
        cgroup2_mount(&mountinfo).ok_or("no cgroup v2 hierarchy is mounted".to_string())?;
    let proc_cgroup = fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| format!("/proc/self/cgroup cannot be read ({e})"))?;
    let own = own_cgroup(&proc_cgroup)
        .ok_or("this process is in no cgroup v2 cgroup (/proc/self/cgroup has no 0:: line)")?;
    let relative = if root == "/" {
        own.clone()
    } else {
        own.strip_prefix(&root)
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            .map(str::to_string)
            .ok_or(format!(
                "the launcher's cgroup {own} is outside the cgroup2 mount at {mount} (root {root})"
            ))?
    };
    let dir = Path::new(&mount).join(relative.trim_start_matches('/'));
    Ok(Hierarchy {
        mount: PathBuf::from(mount),
        own,
        dir,
    })
}

fn words(path: &Path) -> Result<Vec<String>, String> {
    fs::read_to_string(path)
        .map(|t| t.split_whitespace().map(str::to_string).collect())
        .map_err(|e| format!("{} cannot be read ({e})", path.display()))
}

/// The controllers available to the launcher's cgroup (`cgroup.controllers`).
pub fn controllers(h: &Hierarchy) -> Result<Vec<String>, String> {
    words(&h.dir.join("cgroup.controllers"))
}

/// The controllers the limits of `params` need.
pub fn needed(params: &CgroupParams) -> Vec<&'static str> {
    let mut out = Vec::new();
    if params.memory_max.is_some() {
        out.push("memory");
    }
    if params.pids_max.is_some() {
        out.push("pids");
    }
    if params.cpu_max_percent.is_some() {
        out.push("cpu");
    }
    out
}

/// `cpu.max` for a percentage of one CPU: quota and period in microseconds.
pub fn cpu_max(percent: f64) -> String {
    let quota = ((percent * CPU_PERIOD_US as f64 / 100.0).round() as u64).max(CPU_MIN_QUOTA_US);
    format!("{quota} {CPU_PERIOD_US}")
}

/// A cgroup the shim created; removed when dropped (once, without waiting) or by
/// [`Leaf::remove`] (waiting for dying tasks).
#[derive(Debug)]
pub struct Leaf {
    /// The directory.
    pub path: PathBuf,
}

impl Leaf {
    /// Removes the cgroup, retrying for up to a second while exiting tasks keep it busy.
    pub fn remove(&self) {
        for _ in 0..200 {
            match fs::remove_dir(&self.path) {
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                _ => return,
            }
        }
    }
}

impl Drop for Leaf {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.path);
    }
}

/// A created cgroup: the leaf, an fd of its directory for `CLONE_INTO_CGROUP`, and the
/// scrub phase's `details.cgroup`.
#[derive(Debug)]
pub struct Placement {
    /// The cgroup (removed on drop).
    pub leaf: Leaf,
    /// `O_RDONLY|O_DIRECTORY|O_CLOEXEC` fd of it.
    pub fd: OwnedFd,
    /// What was set up.
    pub details: Value,
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text)
        .map_err(|e| format!("writing {text:?} to {} failed ({e})", path.display()))
}

/// Creates the launch's cgroup `charter-<launch id>` under the launcher's cgroup with the
/// limits of `params`; `Err` says why the host cannot.
pub fn create(params: &CgroupParams, launch_id: &str) -> Result<Placement, String> {
    let h = hierarchy()?;
    let need = needed(params);
    let available = controllers(&h)?;
    let missing: Vec<&str> = need
        .iter()
        .copied()
        .filter(|c| !available.iter().any(|a| a == c))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "the cgroup v2 controllers {} are not available to the launcher's cgroup {} (it has: {}); they are bound to cgroup v1 or not delegated",
            missing.join(", "),
            h.own,
            if available.is_empty() { "none".to_string() } else { available.join(" ") }
        ));
    }
    let enabled = words(&h.dir.join("cgroup.subtree_control"))?;
    let to_enable: Vec<String> = need
        .iter()
        .filter(|c| !enabled.iter().any(|e| e == *c))
        .map(|c| format!("+{c}"))
        .collect();
    if !to_enable.is_empty() {
        write(&h.dir.join("cgroup.subtree_control"), &to_enable.join(" "))?;
    }
    let path = h.dir.join(format!("charter-{launch_id}"));
    fs::DirBuilder::new()
        .mode(0o755)
        .create(&path)
        .map_err(|e| format!("creating {} failed ({e})", path.display()))?;
    let leaf = Leaf { path };
    let mut details = Map::new();
    let relative = format!("{}/charter-{launch_id}", h.own.trim_end_matches('/'));
    details.insert("path".into(), json!(relative));
    if let Some(bytes) = params.memory_max {
        write(&leaf.path.join("memory.max"), &bytes.to_string())?;
        details.insert("memoryMax".into(), json!(bytes));
    }
    if let Some(count) = params.pids_max {
        write(&leaf.path.join("pids.max"), &count.to_string())?;
        details.insert("pidsMax".into(), json!(count));
    }
    if let Some(percent) = params.cpu_max_percent {
        let value = cpu_max(percent);
        write(&leaf.path.join("cpu.max"), &value)?;
        details.insert("cpuMax".into(), json!(value));
    }
    let dir: File = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(&leaf.path)
        .map_err(|e| format!("opening {} failed ({e})", leaf.path.display()))?;
    let fd = sys::above_stdio(OwnedFd::from(dir))
        .map_err(|e| format!("moving the cgroup fd failed (errno {e})"))?;
    Ok(Placement {
        leaf,
        fd,
        details: Value::Object(details),
    })
}

/// The launch's cgroup as prepared: the placement clone3 joins (none when there is
/// none, or best_effort gave it up).
#[derive(Debug, Default)]
pub struct Prepared {
    /// The created cgroup.
    pub placement: Option<Placement>,
    /// The cgroup may not be given up if clone3 cannot join it.
    pub required: bool,
}

/// Creates the cgroup of `params` for launch `launch_id`: refuses when `required` and the
/// host cannot, records what `best_effort` gives up.
pub fn prepare(
    params: Option<&CgroupParams>,
    launch_id: &str,
    reports: &mut PhaseReports,
) -> Result<Prepared, Failure> {
    let Some(params) = params else {
        return Ok(Prepared::default());
    };
    let required = params.enforce == Enforce::Required;
    let placement = match create(params, launch_id) {
        Ok(placement) => {
            reports.insert(3, "cgroup", placement.details.clone());
            Some(placement)
        }
        Err(reason) if required => {
            return Err(unsupported(format!(
                "The plan requires a cgroup v2 with limits, but {reason}; run the launcher where those controllers are delegated, or set enforce.cgroup: best_effort"
            )))
        }
        Err(reason) => {
            skip(&reason, reports);
            None
        }
    };
    Ok(Prepared {
        placement,
        required,
    })
}

fn skip(reason: &str, reports: &mut PhaseReports) {
    reports.record(3, "cgroup", json!({ "skipped": reason }), true);
}

impl Prepared {
    /// The `CLONE_INTO_CGROUP` fd, if any.
    pub fn fd(&self) -> Option<RawFd> {
        self.placement.as_ref().map(|c| c.fd.as_raw_fd())
    }

    /// Gives up the cgroup (best_effort, when clone3 cannot join it) and records why.
    pub fn give_up(&mut self, reason: &str, reports: &mut PhaseReports) {
        self.placement = None;
        skip(reason, reports);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cgroup2_mount_and_own_cgroup() {
        let mountinfo = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup2_mount(mountinfo),
            Some(("/sys/fs/cgroup/unified".into(), "/".into()))
        );
        let escaped = "41 31 0:38 /a /mnt/with\\040space rw - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup2_mount(escaped),
            Some(("/mnt/with space".into(), "/a".into()))
        );
        assert_eq!(cgroup2_mount("1 2 0:1 / / rw - ext4 /dev/x rw\n"), None);
        assert_eq!(
            own_cgroup("4:memory:/x\n0::/user.slice/a.scope\n").as_deref(),
            Some("/user.slice/a.scope")
        );
        assert_eq!(own_cgroup("4:memory:/x\n"), None);
    }

    #[test]
    fn cpu_percent_becomes_quota_and_period() {
        assert_eq!(cpu_max(50.0), "50000 100000");
        assert_eq!(cpu_max(200.0), "200000 100000");
        assert_eq!(cpu_max(12.5), "12500 100000");
        assert_eq!(cpu_max(0.1), "1000 100000");
    }

    #[test]
    fn missing_controllers_are_named() {
        // TOOLCHAIN.md: cgroup v2 here has only hugetlb.
        let params = CgroupParams {
            memory_max: None,
            pids_max: Some(8),
            cpu_max_percent: None,
            enforce: Enforce::Required,
        };
        let available = hierarchy()
            .and_then(|h| controllers(&h))
            .is_ok_and(|c| c.iter().any(|c| c == "pids"));
        if !available {
            let err = create(&params, "test").unwrap_err();
            assert!(err.contains("pids"), "{err}");
        }
    }
}
