//! Opening a regular file once and holding exactly the bytes that were hashed, so that what
//! was checked is what is used (executed, read by the target, or granted EXECUTE by
//! Landlock).
//!
//! Hashing a file through its fd proves nothing about later reads when someone else can
//! write the inode in place: they can change it between the hash and the exec. Such a file
//! is copied into a sealed memfd while it is hashed, and the copy is what the child uses.
//! Files only root and the launcher can write are hashed in place (no copy): they are the
//! common case (system binaries), and whoever can write them can also change the launcher.

use crate::digest::Hasher;
use crate::error::Refusal;
use crate::sys;
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

/// A file whose contents were hashed through the fd that is kept.
pub struct HashedFile {
    /// The open file (read to its end), or the sealed memfd copy.
    pub fd: OwnedFd,
    /// Lowercase hex sha256 of its contents.
    pub sha256: String,
    /// Its first two bytes (`#!` marks a script).
    pub head: Vec<u8>,
    /// Why the bytes were copied into a sealed memfd (who else could write the file), or
    /// `None` when `fd` is the file itself.
    pub copied: Option<String>,
}

/// Maps an open error of `path` to a refusal: a missing file is `TargetMissing` (exit 127)
/// with `missing_hint`, anything else `HandleUnavailable`.
fn open_error(path: &str, role: &str, missing_hint: &str, e: std::io::Error) -> Refusal {
    if e.kind() == ErrorKind::NotFound {
        Refusal::TargetMissing(format!("The {role} {path} does not exist; {missing_hint}"))
    } else {
        Refusal::HandleUnavailable(format!("The {role} {path} cannot be read: {e}"))
    }
}

/// Opens `path` (O_RDONLY|O_CLOEXEC, with O_NONBLOCK so that a FIFO put in its place cannot
/// stall the launch) and checks that it is a regular file.
pub fn open_regular(path: &str, role: &str, missing_hint: &str) -> Result<File, Refusal> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| open_error(path, role, missing_hint, e))?;
    check_regular(file, path, role)
}

/// `file` if it is a regular file.
pub fn check_regular(file: File, path: &str, role: &str) -> Result<File, Refusal> {
    let meta = file.metadata().map_err(|e| {
        Refusal::HandleUnavailable(format!("The {role} {path} cannot be examined: {e}"))
    })?;
    if !meta.is_file() {
        return Err(Refusal::HandleUnavailable(format!(
            "The {role} {path} is not a regular file"
        )));
    }
    Ok(file)
}

/// Who besides root and the launcher could write this inode in place: its owner, group or
/// other write bits, or a POSIX ACL (any ACL counts: its entries are not examined). `None`
/// when only root and the launcher can.
pub fn foreign_writer(file: &File) -> Option<String> {
    let meta = match file.metadata() {
        Ok(meta) => meta,
        Err(e) => return Some(format!("its owner cannot be read ({e})")),
    };
    foreign_writer_of(&meta, file.as_raw_fd(), false)
}

fn foreign_writer_of(meta: &std::fs::Metadata, fd: i32, sticky_ok: bool) -> Option<String> {
    let (launcher, _) = sys::effective_ids();
    let mode = meta.mode();
    if meta.uid() != 0 && meta.uid() != launcher {
        return Some(format!("it is owned by uid {}", meta.uid()));
    }
    // A sticky directory lets others add entries but not replace ours.
    if mode & 0o022 != 0 && !(sticky_ok && mode & 0o1000 != 0) {
        return Some(format!(
            "its mode {:o} lets group or others write",
            mode & 0o7777
        ));
    }
    match sys::xattr_size(fd, c"system.posix_acl_access") {
        Err(libc::ENODATA) | Err(libc::EOPNOTSUPP) => None,
        Ok(_) => Some("it has a POSIX ACL".to_string()),
        Err(e) => Some(format!(
            "its ACL cannot be read ({})",
            std::io::Error::from_raw_os_error(e)
        )),
    }
}

/// Who besides root and the launcher could change what `path` names when it is opened again
/// by that path: a foreign writer of `file` (opened from `path`), of a directory the
/// resolution of `path` looks a name up in (which could replace the entry), or the owner of
/// a symlink on the way. For files opened again by path after the launch checked them
/// (interpreters, inputs).
pub fn foreign_writer_on_path(file: &File, path: &str) -> Option<String> {
    foreign_writer(file).or_else(|| foreign_writer_on_resolution(path))
}

/// Walks the resolution of `path` as the kernel would (following symlinks, at most 40) and
/// names the first directory or symlink on the way that someone besides root and the
/// launcher could change: a directory others may write, whose entries they could rename or
/// replace, unless it is sticky and the entry on the path belongs to root or the launcher.
pub fn foreign_writer_on_resolution(path: &str) -> Option<String> {
    use std::path::{Component, Path, PathBuf};
    let mut pending: Vec<std::ffi::OsString> = Vec::new();
    let push_reversed = |pending: &mut Vec<_>, p: &Path| {
        let parts: Vec<_> = p
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_os_string()),
                Component::ParentDir => Some("..".into()),
                _ => None,
            })
            .collect();
        pending.extend(parts.into_iter().rev());
    };
    push_reversed(&mut pending, Path::new(path));
    let mut dir = PathBuf::from("/");
    let mut hops = 0;
    let examine = |p: &Path, sticky_ok: bool| -> Option<String> {
        let opened = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_NOFOLLOW)
            .open(p)
            .and_then(|f| Ok((f.metadata()?, f)));
        match opened {
            Ok((meta, f)) => foreign_writer_of(&meta, f.as_raw_fd(), sticky_ok),
            Err(e) => Some(format!("it cannot be examined ({e})")),
        }
        .map(|why| format!("{}: {why}", p.display()))
    };
    let (launcher, _) = sys::effective_ids();
    while let Some(name) = pending.pop() {
        if name == ".." {
            dir.pop();
            continue;
        }
        let entry = dir.join(&name);
        let Ok(meta) = std::fs::symlink_metadata(&entry) else {
            return Some(format!("{} cannot be examined", entry.display()));
        };
        // In a sticky directory only the entry's owner (and the directory's) can rename it.
        let entry_ours = meta.uid() == 0 || meta.uid() == launcher;
        if let Some(why) = examine(&dir, entry_ours) {
            return Some(why);
        }
        if !meta.file_type().is_symlink() {
            dir = entry;
            continue;
        }
        hops += 1;
        if hops > 40 || !entry_ours {
            return Some(format!(
                "the symlink {} is owned by uid {}",
                entry.display(),
                meta.uid()
            ));
        }
        let Ok(target) = std::fs::read_link(&entry) else {
            return Some(format!("the symlink {} cannot be read", entry.display()));
        };
        if target.is_absolute() {
            dir = PathBuf::from("/");
        }
        push_reversed(&mut pending, &target);
    }
    None
}

/// Hashes `file` through its own fd, from where it stands (a fresh open: the start).
pub fn hash_in_place(mut file: File, path: &str, role: &str) -> Result<HashedFile, Refusal> {
    let mut hasher = Hasher::start();
    let mut head = Vec::with_capacity(2);
    read_chunks(&mut file, path, role, |chunk| {
        hasher.update(chunk);
        take_head(&mut head, chunk);
        Ok(())
    })?;
    Ok(HashedFile {
        fd: OwnedFd::from(file),
        sha256: hasher.finish_hex(),
        head,
        copied: None,
    })
}

/// Copies `file` into a new memfd while hashing the bytes written, then seals the memfd
/// against any change: the copy holds exactly the hashed bytes, whatever happens to the
/// file afterwards. `why` says who else could write the file (recorded).
pub fn copy_sealed(
    mut file: File,
    path: &str,
    role: &str,
    why: String,
) -> Result<HashedFile, Refusal> {
    let fault = |what: &str, e: i32| {
        Refusal::HandleUnavailable(format!(
            "The {role} {path} is writable by others ({why}) and copying it into a sealed memfd failed at {what}: {}",
            std::io::Error::from_raw_os_error(e)
        ))
    };
    let name =
        CString::new(format!("charter-{role}")).map_err(|_| fault("naming", libc::EINVAL))?;
    let raw = sys::memfd_sealable(&name).map_err(|e| fault("memfd_create", e))?;
    // SAFETY: memfd_create just returned this fd; nothing else owns it.
    let memfd = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut hasher = Hasher::start();
    let mut head = Vec::with_capacity(2);
    read_chunks(&mut file, path, role, |chunk| {
        sys::write_all(memfd.as_raw_fd(), chunk).map_err(|e| fault("write", e))?;
        hasher.update(chunk);
        take_head(&mut head, chunk);
        Ok(())
    })?;
    sys::seal_contents(memfd.as_raw_fd()).map_err(|e| fault("F_ADD_SEALS", e))?;
    Ok(HashedFile {
        fd: memfd,
        sha256: hasher.finish_hex(),
        head,
        copied: Some(why),
    })
}

/// Hashes a file the child uses through the returned fd (the target): in place when only
/// root and the launcher can write it, otherwise as a sealed memfd copy.
pub fn pin(file: File, path: &str, role: &str) -> Result<HashedFile, Refusal> {
    match foreign_writer(&file) {
        None => hash_in_place(file, path, role),
        Some(why) => copy_sealed(file, path, role, why),
    }
}

/// Opens and hashes an interpreter (named by PT_INTERP or `#!`) and checks it against the
/// plan's digest (`digest_mismatch`). The kernel opens it again by its path, so a copy
/// cannot take its place: one that someone besides root and the launcher can change (the
/// file, or a directory or symlink on its path) is refused.
pub fn open_interpreter(path: &str, expected: &str) -> Result<File, Refusal> {
    let file = open_regular(path, "interpreter", "reinstall it or recompile the plan")?;
    if let Some(why) = foreign_writer_on_path(&file, path) {
        return Err(Refusal::HandleUnavailable(format!(
            "The interpreter {path} can be changed by others ({why}); the kernel opens it again by path at exec, so its hash cannot be pinned: make it and its directories writable only by root"
        )));
    }
    let hashed = hash_in_place(file, path, "interpreter")?;
    if hashed.sha256 != expected {
        return Err(Refusal::DigestMismatch(format!(
            "The interpreter {path} has sha256 {}, the plan expects {expected}; it changed since the plan was compiled: recompile and re-sign the plan",
            hashed.sha256
        )));
    }
    Ok(File::from(hashed.fd))
}

fn take_head(head: &mut Vec<u8>, chunk: &[u8]) {
    let wanted = 2usize.saturating_sub(head.len()).min(chunk.len());
    head.extend_from_slice(&chunk[..wanted]);
}

/// Reads `file` to its end in 64 KiB chunks: a buffer that stays in cache. A 1 MiB one
/// cost every launch ~0.3 ms per file hashed, zeroing it and faulting its pages in.
fn read_chunks(
    file: &mut File,
    path: &str,
    role: &str,
    mut each: impl FnMut(&[u8]) -> Result<(), Refusal>,
) -> Result<(), Refusal> {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => each(&buf[..n])?,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Refusal::HandleUnavailable(format!(
                    "The {role} {path} cannot be read: {e}"
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, Write};
    use std::os::unix::fs::PermissionsExt;

    fn temp_file(name: &str, bytes: &[u8], mode: u32) -> (std::path::PathBuf, File) {
        let path =
            std::env::temp_dir().join(format!("charter-hashed-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let file = File::open(&path).unwrap();
        (path, file)
    }

    #[test]
    fn a_sealed_copy_holds_the_hashed_bytes_and_refuses_every_change() {
        let (path, file) = temp_file("copy", b"#!/bin/sh\necho hi\n", 0o644);
        let copy = copy_sealed(file, "x", "target", "test".into()).unwrap();
        std::fs::write(&path, b"#!/bin/sh\necho pwned\n").unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            copy.sha256,
            crate::digest::sha256_hex(b"#!/bin/sh\necho hi\n")
        );
        assert_eq!(copy.head, b"#!");
        let mut memfd = File::from(copy.fd);
        let mut content = String::new();
        memfd.rewind().unwrap();
        memfd.read_to_string(&mut content).unwrap();
        assert_eq!(content, "#!/bin/sh\necho hi\n");
        let err = memfd.write_all(b"x").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM), "F_SEAL_WRITE");
        assert!(memfd.set_len(1).is_err(), "F_SEAL_SHRINK");
    }

    #[test]
    fn group_or_other_write_bits_make_a_foreign_writer() {
        let (path, file) = temp_file("mode", b"x", 0o666);
        let why = foreign_writer(&file).unwrap();
        assert!(why.contains("mode 666"), "{why}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(foreign_writer(&file), None);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn the_resolution_walk_names_writable_directories_and_foreign_symlinks() {
        assert_eq!(foreign_writer_on_resolution("/usr/bin/env"), None);
        let base = std::env::temp_dir().join(format!("charter-walk-{}", std::process::id()));
        let open = base.join("open");
        std::fs::create_dir_all(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::write(open.join("f"), b"x").unwrap();
        let why = foreign_writer_on_resolution(open.join("f").to_str().unwrap()).unwrap();
        assert!(why.contains("mode 777"), "{why}");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let link = base.join("link");
        std::os::unix::fs::symlink(&open, &link).unwrap();
        assert_eq!(
            foreign_writer_on_resolution(link.join("f").to_str().unwrap()),
            None
        );
        if sys::effective_ids().0 == 0 {
            std::os::unix::fs::lchown(&link, Some(65534), None).unwrap();
            let why = foreign_writer_on_resolution(link.join("f").to_str().unwrap()).unwrap();
            assert!(why.contains("owned by uid 65534"), "{why}");
        }
        std::fs::remove_dir_all(&base).unwrap();
    }
}
