//! Opening a regular file once and hashing it through that fd, so that what was checked
//! is exactly what is used (executed, or granted EXECUTE by Landlock).

use crate::digest::Hasher;
use crate::error::Refusal;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::os::unix::fs::OpenOptionsExt;

/// A file opened O_RDONLY|O_CLOEXEC and hashed through its fd.
pub struct HashedFile {
    /// The open file (read to its end).
    pub file: File,
    /// Lowercase hex sha256 of its contents.
    pub sha256: String,
    /// Its first two bytes (`#!` marks a script).
    pub head: Vec<u8>,
}

/// Opens `path` (with O_NONBLOCK, so that a FIFO put in its place cannot stall the launch),
/// checks that it is a regular file, and hashes it. `role` names it in messages ("target",
/// "interpreter"); `missing_hint` says what to do when it does not exist, which is a
/// `TargetMissing` refusal (exit 127).
pub fn open_hashed(path: &str, role: &str, missing_hint: &str) -> Result<HashedFile, Refusal> {
    let unavailable = |e: std::io::Error| {
        if e.kind() == ErrorKind::NotFound {
            Refusal::TargetMissing(format!("The {role} {path} does not exist; {missing_hint}"))
        } else {
            Refusal::HandleUnavailable(format!("The {role} {path} cannot be read: {e}"))
        }
    };
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(unavailable)?;
    if !file.metadata().map_err(unavailable)?.is_file() {
        return Err(Refusal::HandleUnavailable(format!(
            "The {role} {path} is not a regular file"
        )));
    }
    let mut hasher = Hasher::start();
    let mut head = Vec::with_capacity(2);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(unavailable(e)),
        };
        let wanted = 2usize.saturating_sub(head.len()).min(n);
        head.extend_from_slice(&buf[..wanted]);
        hasher.update(&buf[..n]);
    }
    Ok(HashedFile {
        file,
        sha256: hasher.finish_hex(),
        head,
    })
}
