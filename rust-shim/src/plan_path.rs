//! Opening a path of the plan (a Landlock rule, the cwd, an input) the way it was resolved
//! at compile time: the compiler records the symlink-free resolution of each path that
//! went through a symlink (`resolved`), and the shim opens that resolution with
//! `RESOLVE_NO_SYMLINKS`. A symlink that appeared since (anywhere on the path) is refused
//! with `path_changed` instead of being followed; so is a policy path that no longer leads
//! to the recorded resolution (e.g. `/lib` that is no longer a link to `/usr/lib`).
//!
//! Inode numbers from compile time would mean nothing on the launching host (plans are
//! compiled in CI); the recorded resolution does. What was opened, with its device and
//! inode at launch, goes to the transcript.

use crate::error::Refusal;
use crate::hashed_file;
use crate::sys;
use serde_json::{json, Value};
use std::ffi::CString;
use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

/// A plan path opened through its recorded resolution.
pub struct Opened {
    /// The open file.
    pub file: File,
    /// The path that was opened (the recorded resolution, or the path itself).
    pub opened: String,
    /// `st_dev` at launch.
    pub dev: u64,
    /// `st_ino` at launch.
    pub ino: u64,
}

impl Opened {
    /// `{path, opened, dev, ino}` for the transcript.
    pub fn describe(&self, path: &str) -> Value {
        json!({ "path": path, "opened": self.opened, "dev": self.dev, "ino": self.ino })
    }
}

fn changed(what: &str, path: &str, how: String) -> Refusal {
    Refusal::PathChanged(format!(
        "The {what} {path} {how}; restore it or recompile and re-sign the plan"
    ))
}

/// Like [`open`], and also `path_changed` when someone besides root and the launcher could
/// rename or replace a directory entry on the opened path (a directory they may write that
/// is not sticky, or sticky with an entry on the path they own): they could have swapped
/// another file in under the same name (a read-only dir for a writable one) with no symlink
/// involved, and compile time recorded no inode to compare. For paths the child uses by
/// their inode (Landlock rules, the cwd); inputs are copied instead.
pub fn open_unredirectable(
    what: &str,
    path: &str,
    resolved: Option<&str>,
    flags: i32,
) -> Result<Option<Opened>, Refusal> {
    let Some(opened) = open(what, path, resolved, flags)? else {
        return Ok(None);
    };
    // Checked after the open: a chain of directories only root and the launcher can change
    // cannot have been changed in between either.
    if let Some(why) = hashed_file::foreign_writer_on_resolution(&opened.opened) {
        return Err(Refusal::PathChanged(format!(
            "The {what} {path} may name another file than the one compiled: others can rename entries on its path ({why}); make its directories writable only by root and the launcher (or sticky, with the entries on the path owned by them)"
        )));
    }
    Ok(Some(opened))
}

/// Opens the plan path `path` (recorded resolution `resolved`, if it went through a symlink
/// at compile time) with `flags`, following no symlink. `Ok(None)` when it does not exist;
/// `path_changed` when a symlink is now on the way or `path` leads elsewhere.
pub fn open(
    what: &str,
    path: &str,
    resolved: Option<&str>,
    flags: i32,
) -> Result<Option<Opened>, Refusal> {
    let target = resolved.unwrap_or(path);
    let c_path = CString::new(target)
        .map_err(|_| Refusal::PlanInvalid(format!("The {what} {path} contains a NUL byte")))?;
    let raw = match sys::open_no_symlinks(&c_path, flags) {
        Ok(fd) => fd,
        Err(libc::ENOENT) | Err(libc::ENOTDIR) => return Ok(None),
        Err(libc::ELOOP) => {
            let how = match resolved {
                Some(r) => format!(
                    "(recorded as {r}) now resolves through a symlink that was not there when the plan was compiled"
                ),
                None => "now resolves through a symlink that was not there when the plan was compiled"
                    .to_string(),
            };
            return Err(changed(what, path, how));
        }
        Err(libc::ENOSYS) => {
            return Err(Refusal::KernelUnsupported(format!(
                "This kernel lacks openat2 (Linux 5.6+), which opening the {what} {path} without following symlinks needs; upgrade the kernel"
            )))
        }
        Err(e) => {
            return Err(Refusal::HandleUnavailable(format!(
                "The {what} {path} cannot be opened: {}; make it reachable for the launching user or remove it from the policy",
                std::io::Error::from_raw_os_error(e)
            )))
        }
    };
    // SAFETY: openat2 just returned this fd; nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let fd = sys::above_stdio(fd).map_err(|e| {
        Refusal::HandleUnavailable(format!(
            "The {what} {path} cannot be kept open: {}",
            std::io::Error::from_raw_os_error(e)
        ))
    })?;
    let file = File::from(fd);
    let meta = file.metadata().map_err(|e| {
        Refusal::HandleUnavailable(format!("The {what} {path} cannot be examined: {e}"))
    })?;
    if resolved.is_some_and(|r| r != path) {
        // The policy's own path must still lead to the recorded resolution.
        match std::fs::metadata(path) {
            Ok(m) if (m.dev(), m.ino()) == (meta.dev(), meta.ino()) => {}
            Ok(_) => {
                return Err(changed(
                    what,
                    path,
                    format!(
                        "no longer leads to {target}, its resolution when the plan was compiled"
                    ),
                ))
            }
            Err(e) => {
                return Err(changed(
                    what,
                    path,
                    format!("(recorded as {target}) cannot be resolved any more ({e})"),
                ))
            }
        }
    }
    Ok(Some(Opened {
        file,
        opened: target.to_string(),
        dev: meta.dev(),
        ino: meta.ino(),
    }))
}
