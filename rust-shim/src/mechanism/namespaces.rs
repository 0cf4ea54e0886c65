//! Namespaces (phase 2, visibility): `linux.visibility.namespaces.v1` (net, pid, ipc, uts
//! and cgroup namespaces, created by clone3; loopback brought up in a new network
//! namespace) and `linux.visibility.hostname.v1` (sethostname in the new UTS namespace).

use crate::caps;
use crate::error::{unsupported, Failure};
use crate::report::PhaseReports;
use crate::section::strict;
use crate::step::Enforce;
use crate::sys::{self, CapSets};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::ffi::CString;

/// `linux.visibility.namespaces.v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamespaceParams {
    /// A new network namespace (loopback up).
    pub net: bool,
    /// A new pid namespace (the target is its pid 1).
    pub pid: bool,
    /// A new IPC namespace.
    pub ipc: bool,
    /// A new UTS namespace.
    pub uts: bool,
    /// A new cgroup namespace.
    pub cgroup: bool,
    /// Enforcement.
    pub enforce: Enforce,
}

impl NamespaceParams {
    /// `(name, CLONE_NEW* flag, requested)` for each namespace.
    pub fn each(&self) -> [(&'static str, u64, bool); 5] {
        [
            ("net", libc::CLONE_NEWNET as u64, self.net),
            ("pid", libc::CLONE_NEWPID as u64, self.pid),
            ("ipc", libc::CLONE_NEWIPC as u64, self.ipc),
            ("uts", libc::CLONE_NEWUTS as u64, self.uts),
            ("cgroup", libc::CLONE_NEWCGROUP as u64, self.cgroup),
        ]
    }

    /// The clone flags of the requested namespaces.
    pub fn flags(&self) -> u64 {
        self.each()
            .iter()
            .filter(|(_, _, on)| *on)
            .fold(0, |f, (_, flag, _)| f | flag)
    }
}

/// `linux.visibility.namespaces.v1`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamespacesEntry {
    #[serde(rename = "id")]
    _id: String,
    #[serde(rename = "phase")]
    _phase: u8,
    net: bool,
    pid: bool,
    ipc: bool,
    uts: bool,
    cgroup: bool,
    enforce: Enforce,
}

/// `linux.visibility.hostname.v1`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostnameEntry {
    #[serde(rename = "id")]
    _id: String,
    #[serde(rename = "phase")]
    _phase: u8,
    hostname: String,
}

/// Parses a `linux.visibility.namespaces.v1` entry.
pub fn parse(json: &str) -> Result<NamespaceParams, String> {
    let e: NamespacesEntry = strict(json)?;
    Ok(NamespaceParams {
        net: e.net,
        pid: e.pid,
        ipc: e.ipc,
        uts: e.uts,
        cgroup: e.cgroup,
        enforce: e.enforce,
    })
}

/// Parses a `linux.visibility.hostname.v1` entry.
pub fn parse_hostname(json: &str) -> Result<CString, String> {
    let e: HostnameEntry = strict(json)?;
    if e.hostname.is_empty() || e.hostname.len() > 64 {
        return Err("hostname must have 1 to 64 bytes".into());
    }
    CString::new(e.hostname).map_err(|_| "hostname contains a NUL byte".to_string())
}

/// The namespaces besides the user namespace, and the hostname, as prepared.
#[derive(Debug, Default)]
pub struct Prepared {
    /// `CLONE_NEW*` flags to create.
    pub flags: u64,
    /// They must not be given up.
    pub flags_required: bool,
    /// Hostname (empty: none).
    pub hostname: Vec<u8>,
}

/// Decides the namespaces of `params` and the hostname: refuses what `required` cannot
/// have, records what `best_effort` gives up. `user_ns`: a user namespace will be
/// created (it lets an unprivileged launcher create the others).
pub fn prepare(
    params: Option<NamespaceParams>,
    hostname: Option<&CString>,
    user_ns: bool,
    launcher: &CapSets,
    reports: &mut PhaseReports,
) -> Result<Prepared, Failure> {
    let mut prepared = Prepared::default();
    if let Some(params) = params {
        prepared.flags = params.flags();
        prepared.flags_required = params.enforce == Enforce::Required;
        if prepared.flags != 0 && !user_ns && !caps::has(launcher, caps::SYS_ADMIN) {
            let names: Vec<&str> = params
                .each()
                .iter()
                .filter(|(_, _, on)| *on)
                .map(|(n, _, _)| *n)
                .collect();
            let (euid, _) = sys::effective_ids();
            let reason = format!(
                "creating {} namespaces needs CAP_SYS_ADMIN, which this launcher (uid {euid}) lacks, and the plan has no user namespace",
                names.join(", ")
            );
            if prepared.flags_required {
                return Err(unsupported(format!(
                    "The plan requires new namespaces, but {reason}; add `user: {{ namespace: true }}` to the policy (or set enforce.namespaces: best_effort)"
                )));
            }
            record_skipped(&names, &reason, reports);
            prepared.flags = 0;
        }
    }
    if let Some(name) = hostname {
        prepared.hostname = name.as_bytes().to_vec();
    }
    Ok(prepared)
}

fn record_skipped(names: &[&str], reason: &str, reports: &mut PhaseReports) {
    reports.record(
        2,
        "namespacesSkipped",
        json!({ "namespaces": names, "reason": reason }),
        true,
    );
}

/// Namespace files under `/proc/PID/ns` and their clone flags (user is reported with
/// the identity phase).
const NS_FILES: [(&str, u64); 5] = [
    ("net", libc::CLONE_NEWNET as u64),
    ("pid", libc::CLONE_NEWPID as u64),
    ("ipc", libc::CLONE_NEWIPC as u64),
    ("uts", libc::CLONE_NEWUTS as u64),
    ("cgroup", libc::CLONE_NEWCGROUP as u64),
];

/// The inode number of `/proc/PID/ns/NAME` (null when it cannot be read).
pub fn ns_inode(pid: i32, name: &str) -> Value {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}/ns/{name}"))
        .map(|m| json!(m.ino()))
        .unwrap_or(Value::Null)
}

/// Records that best_effort gave up the namespaces of `flags` because clone3 refused them.
pub fn record_refused(flags: u64, reason: &str, reports: &mut PhaseReports) {
    let names: Vec<&str> = NS_FILES
        .iter()
        .filter(|(_, flag)| flags & flag != 0)
        .map(|(n, _)| *n)
        .collect();
    record_skipped(&names, reason, reports);
}

/// Records the namespaces the child `pid` was created in (`clone_flags`), with their
/// inodes (the child must be readable).
pub fn record_created(clone_flags: u64, pid: i32, reports: &mut PhaseReports) {
    let created: Map<String, Value> = NS_FILES
        .iter()
        .filter(|(_, flag)| clone_flags & flag != 0)
        .map(|(name, _)| (name.to_string(), json!(ns_inode(pid, name))))
        .collect();
    if !created.is_empty() {
        reports.insert(2, "namespaces", Value::Object(created));
    }
}

impl Prepared {
    /// Once the child exists with `clone_flags`: records what the visibility phase gives
    /// (loopback, hostname) and what it cannot (descendants, a hostname without UTS).
    pub fn resolve(&self, clone_flags: u64, reports: &mut PhaseReports) {
        if clone_flags & libc::CLONE_NEWPID as u64 == 0 {
            // Only a pid namespace takes the child's descendants down with it (there is no
            // subreaper or cgroup sweep yet): say so instead of implying they are gone.
            reports.insert(
                2,
                "descendants",
                json!("not contained: without a pid namespace, processes the child starts may outlive the launch"),
            );
        }
        if clone_flags & libc::CLONE_NEWNET as u64 != 0 {
            reports.insert(2, "loopback", json!("up"));
        }
        if !self.hostname.is_empty() {
            if clone_flags & libc::CLONE_NEWUTS as u64 != 0 {
                let name = String::from_utf8_lossy(&self.hostname).into_owned();
                reports.insert(2, "hostname", json!(name));
            } else {
                reports.record(
                    2,
                    "hostnameSkipped",
                    json!("no UTS namespace was created"),
                    true,
                );
            }
        }
    }
}

/// Child, `linux.visibility.namespaces.v1`: loopback up in a new network namespace.
pub fn apply(clone_flags: u64) -> Result<(), sys::Errno> {
    if clone_flags & libc::CLONE_NEWNET as u64 != 0 {
        sys::loopback_up()
    } else {
        Ok(())
    }
}

/// Child, `linux.visibility.hostname.v1`: sethostname in a new UTS namespace.
pub fn apply_hostname(clone_flags: u64, hostname: &[u8]) -> Result<(), sys::Errno> {
    if clone_flags & libc::CLONE_NEWUTS as u64 != 0 && !hostname.is_empty() {
        sys::sethostname(hostname)
    } else {
        Ok(())
    }
}
