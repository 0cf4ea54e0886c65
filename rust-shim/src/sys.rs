//! Thin typed wrappers around the raw Linux system calls the shim makes.
//!
//! Every wrapper goes through `libc::syscall` (or, for the clock, the vDSO), returns the
//! kernel's errno as `Err(errno)`, allocates nothing and takes no lock, so the cloned child
//! may call any of them. Constants and struct layouts: `shared/reference/linux-facts.md`.

use libc::{c_char, c_int, c_long, c_uint};
use std::ffi::CStr;

/// A kernel error number (`ENOENT`, …), positive.
pub type Errno = i32;

/// `struct clone_args` (`include/uapi/linux/sched.h`), version 2: 88 bytes, all `u64`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct CloneArgs {
    /// `CLONE_*` flags.
    pub flags: u64,
    /// Where the kernel stores the pidfd (`CLONE_PIDFD`): a pointer to a `c_int`.
    pub pidfd: u64,
    /// Unused (`CLONE_CHILD_SETTID`).
    pub child_tid: u64,
    /// Unused (`CLONE_PARENT_SETTID`).
    pub parent_tid: u64,
    /// Signal sent to the parent when the child exits.
    pub exit_signal: u64,
    /// Unused: 0 means the child runs on a copy of the caller's stack, as after fork.
    pub stack: u64,
    /// Unused.
    pub stack_size: u64,
    /// Unused (`CLONE_SETTLS`).
    pub tls: u64,
    /// Unused.
    pub set_tid: u64,
    /// Unused.
    pub set_tid_size: u64,
    /// Unused (`CLONE_INTO_CGROUP`).
    pub cgroup: u64,
}

const _: () = assert!(std::mem::size_of::<CloneArgs>() == 88);

/// The kernel's `struct sigaction` (handler, flags, restorer, mask) on x86_64 and aarch64.
/// All zeros is `SIG_DFL` with no flags and an empty mask.
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// The kernel's signal set size in bytes (64 signals).
const SIGSET_SIZE: usize = 8;

/// The highest signal number on Linux (`_NSIG - 1`).
pub const MAX_SIGNAL: c_int = 64;

fn errno() -> Errno {
    // SAFETY: __errno_location returns the calling thread's errno slot; it is always valid
    // and is a plain TLS address computation (async-signal-safe, fine in the child).
    unsafe { *libc::__errno_location() }
}

fn check(ret: c_long) -> Result<c_long, Errno> {
    if ret < 0 {
        Err(errno())
    } else {
        Ok(ret)
    }
}

/// Reads into `buf`, retrying on `EINTR`; `Ok(0)` is end of file.
pub fn read(fd: c_int, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        // SAFETY: buf is a valid writable region of buf.len() bytes for the whole call.
        let ret = unsafe { libc::syscall(libc::SYS_read, fd, buf.as_mut_ptr(), buf.len()) };
        match check(ret) {
            Err(libc::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(n) => return Ok(n as usize),
        }
    }
}

/// Writes all of `buf`, retrying on `EINTR` and short writes.
pub fn write_all(fd: c_int, mut buf: &[u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        // SAFETY: buf is a valid readable region of buf.len() bytes for the whole call.
        let ret = unsafe { libc::syscall(libc::SYS_write, fd, buf.as_ptr(), buf.len()) };
        match check(ret) {
            Err(libc::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(0) => return Err(libc::EIO),
            Ok(n) => buf = buf.get(n as usize..).unwrap_or_default(),
        }
    }
    Ok(())
}

/// `fsync(fd)`.
pub fn fsync(fd: c_int) -> Result<(), Errno> {
    // SAFETY: fsync takes no pointers; a bad fd is reported as EBADF.
    check(unsafe { libc::syscall(libc::SYS_fsync, fd) }).map(drop)
}

/// `chdir(path)`.
pub fn chdir(path: &CStr) -> Result<(), Errno> {
    // SAFETY: path is a valid NUL-terminated string that outlives the call.
    check(unsafe { libc::syscall(libc::SYS_chdir, path.as_ptr()) }).map(drop)
}

/// `fcntl(fd, F_GETFD)`: the fd flags, or `EBADF` when `fd` is not open.
pub fn fd_flags(fd: c_int) -> Result<c_int, Errno> {
    // SAFETY: F_GETFD takes no pointer argument.
    check(unsafe { libc::syscall(libc::SYS_fcntl, fd, libc::F_GETFD) }).map(|v| v as c_int)
}

/// `fcntl(fd, F_SETFD, flags)`; `flags = 0` clears `FD_CLOEXEC`.
pub fn set_fd_flags(fd: c_int, flags: c_int) -> Result<(), Errno> {
    // SAFETY: F_SETFD takes an integer argument, no pointer.
    check(unsafe { libc::syscall(libc::SYS_fcntl, fd, libc::F_SETFD, flags) }).map(drop)
}

/// `fcntl(fd, F_GETFL)`: the file status flags and access mode.
pub fn file_status_flags(fd: c_int) -> Result<c_int, Errno> {
    // SAFETY: F_GETFL takes no pointer argument.
    check(unsafe { libc::syscall(libc::SYS_fcntl, fd, libc::F_GETFL) }).map(|v| v as c_int)
}

/// `fcntl(fd, F_DUPFD_CLOEXEC, min)`: a close-on-exec duplicate numbered at least `min`.
pub fn dup_cloexec_at_least(fd: c_int, min: c_int) -> Result<c_int, Errno> {
    // SAFETY: F_DUPFD_CLOEXEC takes an integer argument, no pointer.
    check(unsafe { libc::syscall(libc::SYS_fcntl, fd, libc::F_DUPFD_CLOEXEC, min) })
        .map(|v| v as c_int)
}

/// `pipe2(O_CLOEXEC)`: `[read end, write end]`.
pub fn pipe_cloexec() -> Result<[c_int; 2], Errno> {
    let mut fds: [c_int; 2] = [-1, -1];
    // SAFETY: fds is a valid array of two c_int that the kernel fills in.
    check(unsafe { libc::syscall(libc::SYS_pipe2, fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    Ok(fds)
}

/// `close_range(first, last, 0)`: closes every open fd in `first..=last`.
pub fn close_range(first: c_uint, last: c_uint) -> Result<(), Errno> {
    // SAFETY: close_range takes no pointers.
    check(unsafe { libc::syscall(libc::SYS_close_range, first, last, 0 as c_uint) }).map(drop)
}

/// `prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)`.
pub fn set_no_new_privs() -> Result<(), Errno> {
    let (one, zero): (c_long, c_long) = (1, 0);
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
    check(unsafe {
        libc::syscall(
            libc::SYS_prctl,
            libc::PR_SET_NO_NEW_PRIVS,
            one,
            zero,
            zero,
            zero,
        )
    })
    .map(drop)
}

/// `prctl(PR_GET_SECCOMP)`: the calling thread's seccomp mode (0 none, 1 strict, 2 filter).
pub fn seccomp_mode() -> Result<c_long, Errno> {
    let zero: c_long = 0;
    // SAFETY: PR_GET_SECCOMP takes no pointer arguments.
    check(unsafe {
        libc::syscall(
            libc::SYS_prctl,
            libc::PR_GET_SECCOMP,
            zero,
            zero,
            zero,
            zero,
        )
    })
}

/// `rt_sigaction(sig, SIG_DFL)` with no flags and an empty handler mask.
pub fn reset_signal(sig: c_int) -> Result<(), Errno> {
    let action = KernelSigaction {
        handler: 0,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    let no_old: *mut KernelSigaction = std::ptr::null_mut();
    // SAFETY: action is a valid kernel sigaction for the call's duration; the old action
    // pointer is NULL, which the kernel accepts; SIGSET_SIZE matches the kernel's sigset.
    check(unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            &action as *const KernelSigaction,
            no_old,
            SIGSET_SIZE,
        )
    })
    .map(drop)
}

/// `rt_sigprocmask(SIG_SETMASK, mask)` for the calling thread; returns the previous mask.
pub fn set_signal_mask(mask: u64) -> Result<u64, Errno> {
    let mut old: u64 = 0;
    // SAFETY: both pointers are valid u64 signal sets (8 bytes = SIGSET_SIZE) for the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &mask as *const u64,
            &mut old as *mut u64,
            SIGSET_SIZE,
        )
    })?;
    Ok(old)
}

/// `clone3(args, sizeof args)`: `Ok(0)` in the child, `Ok(pid)` in the parent.
///
/// # Safety
/// Without `CLONE_VM` the child runs on a copy of the caller's address space and stack, in
/// which no other thread exists: it may only make async-signal-safe calls (no allocation,
/// no locks, no unwinding) and must end in `execveat` or [`exit_group`], never return
/// into the caller's frames. Any pointer stored in `args` must be valid for the call.
pub unsafe fn clone3(args: &mut CloneArgs) -> Result<c_int, Errno> {
    // SAFETY: args is a valid clone_args of the size passed; the caller upholds the rules
    // for the child and for the pointers inside args.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    check(ret).map(|pid| pid as c_int)
}

/// Whether the kernel has clone3 (5.3+): a too-small size gives `EINVAL`, not `ENOSYS`.
pub fn has_clone3() -> bool {
    // SAFETY: with size 0 the kernel rejects the call before reading the NULL pointer.
    let ret = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null_mut::<CloneArgs>(), 0usize) };
    check(ret) != Err(libc::ENOSYS)
}

/// Whether the kernel has close_range (5.9+): closing the empty range `[~0, ~0]` is a no-op.
pub fn has_close_range() -> bool {
    close_range(c_uint::MAX, c_uint::MAX) != Err(libc::ENOSYS)
}

/// Whether the kernel has pidfd_send_signal (5.1+): fd -1 gives `EBADF`, not `ENOSYS`.
pub fn has_pidfd_send_signal() -> bool {
    pidfd_send_signal(-1, 0) != Err(libc::ENOSYS)
}

/// `execveat(fd, "", argv, envp, AT_EMPTY_PATH)`; returns only on failure, with the errno.
///
/// # Safety
/// `argv` and `envp` must point to NULL-terminated arrays of pointers to NUL-terminated
/// strings that stay valid for the call.
pub unsafe fn execveat(fd: c_int, argv: *const *const c_char, envp: *const *const c_char) -> Errno {
    let empty = c"";
    // SAFETY: the path is a valid empty C string; the caller guarantees argv and envp.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd,
            empty.as_ptr(),
            argv,
            envp,
            libc::AT_EMPTY_PATH,
        )
    };
    match check(ret) {
        Err(e) => e,
        Ok(_) => libc::EINVAL,
    }
}

/// `exit_group(code)`: ends the whole process at once, running no destructors or atexit
/// handlers (the only correct way out of the cloned child).
pub fn exit_group(code: c_int) -> ! {
    loop {
        // SAFETY: exit_group takes no pointers and does not return.
        unsafe { libc::syscall(libc::SYS_exit_group, code) };
    }
}

/// `waitid(P_PIDFD, pidfd, &info, WEXITED, &usage)`, retrying on `EINTR`.
pub fn wait_pidfd(pidfd: c_int) -> Result<(libc::siginfo_t, libc::rusage), Errno> {
    // SAFETY: siginfo_t and rusage are plain C structs for which all zeros is valid.
    let (mut info, mut usage): (libc::siginfo_t, libc::rusage) = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: info and usage are valid, writable structs of the kernel's layout.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_waitid,
                libc::P_PIDFD,
                pidfd,
                &mut info as *mut libc::siginfo_t,
                libc::WEXITED,
                &mut usage as *mut libc::rusage,
            )
        };
        match check(ret) {
            Err(libc::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(_) => return Ok((info, usage)),
        }
    }
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)`.
pub fn pidfd_send_signal(pidfd: c_int, sig: c_int) -> Result<(), Errno> {
    let (no_info, flags): (*const libc::siginfo_t, c_uint) = (std::ptr::null(), 0);
    // SAFETY: a NULL siginfo is allowed (the kernel builds a SI_USER one); flags must be 0.
    check(unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd, sig, no_info, flags) })
        .map(drop)
}

/// Fills `buf` from the kernel's random pool (`getrandom(2)`, blocking until seeded).
pub fn getrandom(buf: &mut [u8]) -> Result<(), Errno> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = buf.get_mut(filled..).unwrap_or_default();
        // SAFETY: rest is a valid writable region of rest.len() bytes for the call.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_getrandom,
                rest.as_mut_ptr(),
                rest.len(),
                0 as c_uint,
            )
        };
        match check(ret) {
            Err(libc::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(n) => filled += n as usize,
        }
    }
    Ok(())
}

/// `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`: the Landlock ABI.
pub fn landlock_abi() -> Result<c_long, Errno> {
    const LANDLOCK_CREATE_RULESET_VERSION: c_uint = 1;
    // SAFETY: with the VERSION flag the kernel requires attr = NULL and size = 0 and reads
    // no memory.
    check(unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    })
}

/// Nanoseconds on `clock` (`CLOCK_REALTIME` since the epoch, `CLOCK_MONOTONIC` since boot).
pub fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to fill; both clocks always exist on Linux, so the
    // call cannot fail and ts stays zero only in theory.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

/// The launcher's real user and group ids.
pub fn ids() -> (u32, u32) {
    // SAFETY: getuid and getgid cannot fail and touch no memory.
    unsafe { (libc::getuid(), libc::getgid()) }
}

/// The kernel release (`uname -r`).
pub fn kernel_release() -> Result<String, Errno> {
    // SAFETY: utsname is a plain C struct of char arrays; all zeros is valid.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uts is a valid, writable utsname for the call.
    check(unsafe { libc::syscall(libc::SYS_uname, &mut uts as *mut libc::utsname) })?;
    let bytes: Vec<u8> = uts
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
