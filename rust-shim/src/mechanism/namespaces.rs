//! Namespaces (phase 2, visibility): `linux.visibility.namespaces.v1` (net, pid, ipc, uts
//! and cgroup namespaces, created by clone3; loopback brought up in a new network
//! namespace) and `linux.visibility.hostname.v1` (sethostname in the new UTS namespace).

use crate::section::strict;
use crate::step::Enforce;
use serde::Deserialize;
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
