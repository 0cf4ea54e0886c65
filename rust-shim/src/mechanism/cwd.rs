//! The working directory (`linux.visibility.cwd.v1`): the parent opens `target.cwd` by its
//! recorded resolution (`path_changed` when a symlink appeared), the child `fchdir`s to
//! that fd.

use crate::error::Refusal;
use crate::plan_path;
use crate::report::PhaseReports;
use crate::sys;
use std::os::fd::OwnedFd;

/// Opens the cwd `path` (recorded resolution `resolved`) and records what was opened.
pub fn prepare(
    path: &str,
    resolved: Option<&str>,
    reports: &mut PhaseReports,
) -> Result<OwnedFd, Refusal> {
    let flags = libc::O_PATH | libc::O_DIRECTORY;
    let opened =
        plan_path::open_unredirectable("cwd", path, resolved, flags)?.ok_or_else(|| {
            Refusal::HandleUnavailable(format!(
                "The cwd {path} does not exist; create it or change target.cwd"
            ))
        })?;
    reports.insert(2, "cwd", opened.describe(path));
    Ok(OwnedFd::from(opened.file))
}

/// Child: `fchdir` to the prepared fd.
pub fn apply(fd: libc::c_int) -> Result<(), sys::Errno> {
    sys::fchdir(fd)
}
