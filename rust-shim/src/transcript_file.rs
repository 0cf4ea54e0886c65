//! The transcript's destination as a file descriptor: opening a path without following
//! symbolic links, and appending whole records to a regular file so that once the target
//! runs, the records it still needs always fit (DESIGN §5, §7).
//!
//! Parent-side only (never in the child). How a regular file stays completable:
//!
//! - Every append holds `flock(LOCK_EX)` (other charter launches appending to the same
//!   file wait), reads the size, reserves room with `fallocate(FALLOC_FL_KEEP_SIZE)` from
//!   the end of file, writes the record with one `write(2)`, and on a failed or short write
//!   truncates the file back to the size it had: no torn line is ever left.
//! - From `ready_to_exec` on, a launch holds a *slot*: an OFD write lock on one byte far
//!   beyond any file size. Every append reserves its own record plus
//!   [`POST_EXEC_RESERVE`] for each slot held (its own included). So the space past the
//!   end of file always covers every running target's remaining records, also when
//!   several launches append to one file; a launch that cannot reserve before exec never
//!   releases its child.
//! - A writer that is not charter can still consume the reservation: only charter's own
//!   appends are accounted for.

use crate::sys::{self, Errno};
use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};

/// Bytes reserved for the records a launch writes after its target started:
/// `exec_succeeded`, the `denied` records (bounded in number), `child_exited` and
/// `transcript_sealed` (a unit test checks that worst-case records fit twice over).
pub const POST_EXEC_RESERVE: u64 = 96 * 1024;

/// Where slot locks live: far beyond any real file size (OFD locks need no data there).
const SLOT_BASE: i64 = 1 << 61;
/// How many launches can hold a slot on one file at once.
const SLOT_COUNT: i64 = 1 << 20;

/// `struct open_how` of openat2(2).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;

/// An fd named by a path of the form `/dev/fd/N`, `/proc/self/fd/N`, `/dev/stdout` or
/// `/dev/stderr` (what `>(cmd)` and shells pass): the launcher's own fd N, used as is
/// instead of reopening it through /proc's magic link.
pub fn launcher_fd_path(path: &str) -> Option<RawFd> {
    match path {
        "/dev/stdout" => return Some(1),
        "/dev/stderr" => return Some(2),
        _ => {}
    }
    let number = path
        .strip_prefix("/dev/fd/")
        .or_else(|| path.strip_prefix("/proc/self/fd/"))?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse().ok()
}

/// Opens `path` for appending (created 0644) with `openat2(RESOLVE_NO_SYMLINKS)`: no
/// component of the path may be a symbolic link, so a link planted in the file's place or
/// in a directory on the way cannot redirect the launcher's writes. Opened with O_NONBLOCK
/// (cleared again once open): a FIFO nobody reads fails at once with ENXIO instead of
/// blocking the launch until a reader appears.
pub fn open_append(path: &str) -> Result<File, Errno> {
    let c_path = CString::new(path).map_err(|_| libc::EINVAL)?;
    let how = OpenHow {
        flags: (libc::O_WRONLY
            | libc::O_APPEND
            | libc::O_CREAT
            | libc::O_CLOEXEC
            | libc::O_NOCTTY
            | libc::O_NONBLOCK) as u64,
        mode: 0o644,
        resolve: RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    loop {
        // SAFETY: c_path is NUL-terminated and `how` is a live open_how of the size passed;
        // the kernel reads both during the call only.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                libc::AT_FDCWD,
                c_path.as_ptr(),
                std::ptr::addr_of!(how),
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd >= 0 {
            // SAFETY: openat2 returned a new fd that nothing else owns.
            let file = unsafe { File::from_raw_fd(fd as RawFd) };
            // Records are written whole with blocking writes (a FIFO's reader may be slow).
            let flags = sys::file_status_flags(file.as_raw_fd())?;
            sys::set_file_status_flags(file.as_raw_fd(), flags & !libc::O_NONBLOCK)?;
            return Ok(file);
        }
        match sys::errno() {
            libc::EINTR | libc::EAGAIN => continue,
            e => return Err(e),
        }
    }
}

/// `fstat(fd)`.
pub fn stat(fd: RawFd) -> Result<libc::stat, Errno> {
    // SAFETY: an all-zero stat is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: st is a live, writable stat for the duration of the call.
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return Err(sys::errno());
    }
    Ok(st)
}

/// Whether `fd` is a regular file (space can be reserved, fsync must succeed).
pub fn is_regular(fd: RawFd) -> Result<bool, Errno> {
    stat(fd).map(|st| st.st_mode & libc::S_IFMT == libc::S_IFREG)
}

/// `flock(LOCK_EX)` held until dropped.
struct Exclusive(RawFd);

impl Exclusive {
    fn lock(fd: RawFd) -> Result<Exclusive, Errno> {
        loop {
            // SAFETY: flock takes no pointers.
            if unsafe { libc::flock(fd, libc::LOCK_EX) } == 0 {
                return Ok(Exclusive(fd));
            }
            match sys::errno() {
                libc::EINTR => continue,
                e => return Err(e),
            }
        }
    }
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        // SAFETY: flock takes no pointers; unlocking a lock this fd holds cannot fail.
        unsafe { libc::flock(self.0, libc::LOCK_UN) };
    }
}

fn ofd_lock(
    fd: RawFd,
    cmd: libc::c_int,
    kind: libc::c_short,
    start: i64,
    len: i64,
) -> Result<libc::flock, Errno> {
    // SAFETY: an all-zero flock is a valid value of this plain C struct.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = kind;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    lock.l_start = start;
    lock.l_len = len;
    // SAFETY: lock is a live, writable flock for the duration of the call.
    if unsafe { libc::fcntl(fd, cmd, &mut lock) } < 0 {
        return Err(sys::errno());
    }
    Ok(lock)
}

/// How many slots in `[start, end)` other open file descriptions hold (each query finds
/// one held slot; the two sides of it are counted the same way).
fn held_slots(fd: RawFd, start: i64, end: i64) -> Result<u64, Errno> {
    if start >= end {
        return Ok(0);
    }
    let found = ofd_lock(
        fd,
        libc::F_OFD_GETLK,
        libc::F_WRLCK as libc::c_short,
        start,
        end - start,
    )?;
    if found.l_type == libc::F_UNLCK as libc::c_short {
        return Ok(0);
    }
    let (lo, hi) = (
        found.l_start.max(start),
        (found.l_start + found.l_len.max(1)).min(end),
    );
    Ok(1 + held_slots(fd, start, lo)? + held_slots(fd, hi, end)?)
}

/// A launch's claim on post-exec space in a regular file (released by dropping it, or
/// when the file's open file description closes).
pub struct Slot {
    fd: RawFd,
    offset: i64,
}

impl Slot {
    /// Takes the lowest free slot of the file.
    pub fn claim(fd: RawFd) -> Result<Slot, Errno> {
        for offset in SLOT_BASE..SLOT_BASE + SLOT_COUNT {
            match ofd_lock(
                fd,
                libc::F_OFD_SETLK,
                libc::F_WRLCK as libc::c_short,
                offset,
                1,
            ) {
                Ok(_) => return Ok(Slot { fd, offset }),
                Err(libc::EAGAIN | libc::EACCES) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(libc::EUSERS)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // Unlocking cannot fail for a lock this description holds; if the fd is already
        // closed the lock went with it.
        let _ = ofd_lock(
            self.fd,
            libc::F_OFD_SETLK,
            libc::F_UNLCK as libc::c_short,
            self.offset,
            1,
        );
    }
}

/// Where a launch stands when it appends a record to a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Before `ready_to_exec`: the record must fit besides every slot's reservation.
    BeforeExec,
    /// `ready_to_exec`: the launch holds a slot whose room must be reserved now.
    Releasing,
    /// After the exec: written on the slot's reservation.
    AfterExec,
}

/// Appends `line` to the regular file `fd` as one `write(2)`, with room reserved first for
/// it and for every slot held, this launch's included (see the module comment). After the
/// exec a failed reservation does not stop the write: the slot's room was reserved when
/// it was claimed. A failed or short write is truncated away.
pub fn append(fd: RawFd, line: &[u8], stage: Stage) -> Result<(), Errno> {
    let _lock = Exclusive::lock(fd)?;
    let size = stat(fd)?.st_size;
    // A slot held by this launch is counted by `held_slots` only for other descriptions.
    let own = u64::from(stage != Stage::BeforeExec);
    let slots = held_slots(fd, SLOT_BASE, SLOT_BASE + SLOT_COUNT)? + own;
    let reserve = (line.len() as u64).saturating_add(slots.saturating_mul(POST_EXEC_RESERVE));
    let len = i64::try_from(reserve).map_err(|_| libc::EFBIG)?;
    // SAFETY: fallocate takes no pointers.
    if unsafe { libc::fallocate(fd, libc::FALLOC_FL_KEEP_SIZE, size, len) } < 0
        && stage != Stage::AfterExec
    {
        // Also EOPNOTSUPP: a file system that cannot reserve gives no guarantee.
        return Err(sys::errno());
    }
    // SAFETY: line is a valid readable region of line.len() bytes for the whole call.
    let written = unsafe { libc::write(fd, line.as_ptr().cast(), line.len()) };
    let failure = match written {
        n if n < 0 => sys::errno(),
        n if n as usize == line.len() => return Ok(()),
        _ => libc::ENOSPC,
    };
    // Under the lock no other charter launch appended since `size` was read.
    // SAFETY: ftruncate takes no pointers.
    unsafe { libc::ftruncate(fd, size) };
    Err(failure)
}

/// Gives back the room reserved past the end of file once no other launch holds a slot
/// (the last launch to finish trims what earlier ones left). Best effort: an untrimmed
/// reservation only costs space.
pub fn trim(fd: RawFd) {
    let Ok(_lock) = Exclusive::lock(fd) else {
        return;
    };
    if held_slots(fd, SLOT_BASE, SLOT_BASE + SLOT_COUNT) != Ok(0) {
        return;
    }
    if let Ok(st) = stat(fd) {
        // Truncating to the same size frees what was allocated past the end of file.
        // SAFETY: ftruncate takes no pointers.
        unsafe { libc::ftruncate(fd, st.st_size) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launcher_fd_paths_are_recognised_and_nothing_else() {
        assert_eq!(launcher_fd_path("/dev/fd/63"), Some(63));
        assert_eq!(launcher_fd_path("/proc/self/fd/9"), Some(9));
        assert_eq!(launcher_fd_path("/dev/stderr"), Some(2));
        for other in [
            "/dev/fd/",
            "/dev/fd/6a",
            "/dev/fd/../x",
            "/proc/1/fd/3",
            "t.jsonl",
        ] {
            assert_eq!(launcher_fd_path(other), None, "{other}");
        }
    }

    #[test]
    fn slots_are_counted_across_open_file_descriptions() {
        let path = std::env::temp_dir().join(format!("charter-slots-{}", std::process::id()));
        let path = path.to_str().unwrap();
        let (a, b, c) = (
            open_append(path).unwrap(),
            open_append(path).unwrap(),
            open_append(path).unwrap(),
        );
        let count = |f: &File| {
            held_slots(
                std::os::fd::AsRawFd::as_raw_fd(f),
                SLOT_BASE,
                SLOT_BASE + SLOT_COUNT,
            )
            .unwrap()
        };
        assert_eq!(count(&a), 0);
        let slot_b = Slot::claim(std::os::fd::AsRawFd::as_raw_fd(&b)).unwrap();
        let _slot_c = Slot::claim(std::os::fd::AsRawFd::as_raw_fd(&c)).unwrap();
        assert_eq!(
            (count(&a), count(&b)),
            (2, 1),
            "a description does not count its own slot"
        );
        drop(slot_b);
        assert_eq!(count(&a), 1);
        std::fs::remove_file(path).unwrap();
    }
}
