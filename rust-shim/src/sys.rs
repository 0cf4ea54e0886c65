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

/// The calling thread's errno (async-signal-safe).
pub fn errno() -> Errno {
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

/// `fcntl(fd, F_SETFL, flags)`: sets the file status flags (O_APPEND, O_NONBLOCK, ...).
pub fn set_file_status_flags(fd: c_int, flags: c_int) -> Result<(), Errno> {
    // SAFETY: F_SETFL takes an integer argument, no pointer.
    check(unsafe { libc::syscall(libc::SYS_fcntl, fd, libc::F_SETFL, flags) }).map(|_| ())
}

/// `fcntl(fd, F_DUPFD_CLOEXEC, min)`: a close-on-exec duplicate numbered at least `min`.
pub fn dup_cloexec_at_least(fd: c_int, min: c_int) -> Result<c_int, Errno> {
    // SAFETY: F_DUPFD_CLOEXEC takes an integer argument, no pointer.
    check(unsafe { libc::syscall(libc::SYS_fcntl, fd, libc::F_DUPFD_CLOEXEC, min) })
        .map(|v| v as c_int)
}

/// Moves a fresh fd above 0–2 (they may be closed in the launcher): fds 0–2 belong to
/// the child's stdio. For the parent only (it may allocate: the `OwnedFd` drop closes).
pub fn above_stdio(fd: std::os::fd::OwnedFd) -> Result<std::os::fd::OwnedFd, Errno> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    let moved = dup_cloexec_at_least(fd.as_raw_fd(), 3)?;
    // SAFETY: moved is a new fd that F_DUPFD_CLOEXEC just returned; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(moved) })
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
///
/// A seccomp filter installed by the child may deny exit_group (and exit) with an errno;
/// then the child ends itself with an undefined instruction: the synchronous SIGILL is
/// delivered with the default action even when blocked, and needs no system call.
pub fn exit_group(code: c_int) -> ! {
    // SAFETY: exit_group and exit take no pointers and do not return when allowed.
    unsafe {
        libc::syscall(libc::SYS_exit_group, code);
        libc::syscall(libc::SYS_exit, code);
    }
    trap()
}

/// Executes an undefined instruction (SIGILL): the end of a process that no system call
/// can end any more.
fn trap() -> ! {
    // SAFETY: the instruction only raises SIGILL in this thread; it touches no memory.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        std::arch::asm!("ud2", options(noreturn, nomem, nostack));
        #[cfg(target_arch = "aarch64")]
        std::arch::asm!("udf #0", options(noreturn, nomem, nostack));
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

// ---------------------------------------------------------------------------------------
// Confinement system calls (identity, visibility, scrub, confine). Same rules as above:
// raw syscalls, no allocation, errno as `Err`.

/// `CLONE_INTO_CGROUP` (5.7): `clone_args.cgroup` is a cgroup v2 directory fd.
pub const CLONE_INTO_CGROUP: u64 = 1 << 33;

/// A prctl with integer arguments.
fn prctl(option: c_int, a2: c_long, a3: c_long, a4: c_long, a5: c_long) -> Result<c_long, Errno> {
    // SAFETY: every prctl option the shim uses takes integer arguments only.
    check(unsafe { libc::syscall(libc::SYS_prctl, option, a2, a3, a4, a5) })
}

/// `getpid()`.
pub fn getpid() -> c_int {
    // SAFETY: getpid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_getpid) as c_int }
}

/// `getppid()`: 0 when the parent is in another pid namespace.
pub fn getppid() -> c_int {
    // SAFETY: getppid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_getppid) as c_int }
}

/// `close(fd)`.
pub fn close(fd: c_int) -> Result<(), Errno> {
    // SAFETY: close takes no pointers.
    check(unsafe { libc::syscall(libc::SYS_close, fd) }).map(drop)
}

/// `setsid()`.
pub fn setsid() -> Result<(), Errno> {
    // SAFETY: setsid takes no arguments.
    check(unsafe { libc::syscall(libc::SYS_setsid) }).map(drop)
}

/// `prctl(PR_SET_PDEATHSIG, sig)`.
pub fn set_pdeathsig(sig: c_int) -> Result<(), Errno> {
    prctl(libc::PR_SET_PDEATHSIG, c_long::from(sig), 0, 0, 0).map(drop)
}

/// `prctl(PR_SET_DUMPABLE, on)`: whether processes of the same uid may ptrace this one or
/// open its `/proc/PID/{mem,environ,…}`, and who owns those files.
pub fn set_dumpable(on: bool) -> Result<(), Errno> {
    prctl(libc::PR_SET_DUMPABLE, c_long::from(on), 0, 0, 0).map(drop)
}

/// `prctl(PR_SET_KEEPCAPS, on)`.
pub fn set_keepcaps(on: bool) -> Result<(), Errno> {
    prctl(libc::PR_SET_KEEPCAPS, c_long::from(on), 0, 0, 0).map(drop)
}

/// `prctl(PR_CAPBSET_DROP, cap)`.
pub fn capbset_drop(cap: u32) -> Result<(), Errno> {
    prctl(libc::PR_CAPBSET_DROP, c_long::from(cap), 0, 0, 0).map(drop)
}

/// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)`.
pub fn ambient_clear_all() -> Result<(), Errno> {
    const PR_CAP_AMBIENT_CLEAR_ALL: c_long = 4;
    prctl(libc::PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0).map(drop)
}

/// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0)`.
pub fn ambient_raise(cap: u32) -> Result<(), Errno> {
    const PR_CAP_AMBIENT_RAISE: c_long = 2;
    prctl(
        libc::PR_CAP_AMBIENT,
        PR_CAP_AMBIENT_RAISE,
        c_long::from(cap),
        0,
        0,
    )
    .map(drop)
}

/// `_LINUX_CAPABILITY_VERSION_3`.
const CAP_VERSION_3: u32 = 0x2008_0522;

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

/// `struct __user_cap_data_struct`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The three capability sets of a thread as 64-bit masks (bit N = capability N).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapSets {
    /// Effective.
    pub effective: u64,
    /// Permitted.
    pub permitted: u64,
    /// Inheritable.
    pub inheritable: u64,
}

/// `capget` of the calling thread.
pub fn capget() -> Result<CapSets, Errno> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and data are the v3 layouts (header + two data structs) the kernel
    // reads and fills for the call's duration.
    check(unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    })?;
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Ok(CapSets {
        effective: join(data[0].effective, data[1].effective),
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

/// `capset` of the calling thread.
pub fn capset(sets: CapSets) -> Result<(), Errno> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let split = |v: u64| (v as u32, (v >> 32) as u32);
    let (e0, e1) = split(sets.effective);
    let (p0, p1) = split(sets.permitted);
    let (i0, i1) = split(sets.inheritable);
    let data = [
        CapData {
            effective: e0,
            permitted: p0,
            inheritable: i0,
        },
        CapData {
            effective: e1,
            permitted: p1,
            inheritable: i1,
        },
    ];
    // SAFETY: header and data are the v3 layouts the kernel reads for the call's duration.
    check(unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    })
    .map(drop)
}

/// `setgroups(0, NULL)`: no supplementary groups.
pub fn clear_groups() -> Result<(), Errno> {
    // SAFETY: with size 0 the kernel reads no list.
    check(unsafe { libc::syscall(libc::SYS_setgroups, 0usize, std::ptr::null::<u32>()) }).map(drop)
}

/// `setresgid(gid, gid, gid)`.
pub fn setresgid(gid: u32) -> Result<(), Errno> {
    // SAFETY: setresgid takes integers only.
    check(unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) }).map(drop)
}

/// `setresuid(uid, uid, uid)`.
pub fn setresuid(uid: u32) -> Result<(), Errno> {
    // SAFETY: setresuid takes integers only.
    check(unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) }).map(drop)
}

/// The launcher's effective user and group ids.
pub fn effective_ids() -> (u32, u32) {
    // SAFETY: geteuid and getegid cannot fail and touch no memory.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

/// The real, effective and saved user ids, then the same for groups.
pub fn res_ids() -> ([u32; 3], [u32; 3]) {
    let (mut u, mut g) = ([0u32; 3], [0u32; 3]);
    // SAFETY: each pointer is a valid, writable u32 for the call.
    unsafe {
        libc::syscall(
            libc::SYS_getresuid,
            &mut u[0] as *mut u32,
            &mut u[1] as *mut u32,
            &mut u[2] as *mut u32,
        );
        libc::syscall(
            libc::SYS_getresgid,
            &mut g[0] as *mut u32,
            &mut g[1] as *mut u32,
            &mut g[2] as *mut u32,
        );
    }
    (u, g)
}

/// The number of supplementary groups of the calling thread.
pub fn group_count() -> Result<usize, Errno> {
    // SAFETY: with size 0 the kernel only returns the count and writes nothing.
    check(unsafe { libc::syscall(libc::SYS_getgroups, 0 as c_int, std::ptr::null_mut::<u32>()) })
        .map(|n| n as usize)
}

/// `sethostname(name, len)`.
pub fn sethostname(name: &[u8]) -> Result<(), Errno> {
    // SAFETY: name is a valid readable region of name.len() bytes for the call.
    check(unsafe { libc::syscall(libc::SYS_sethostname, name.as_ptr(), name.len()) }).map(drop)
}

/// `prlimit64(0, resource, {value, value}, NULL)`: soft = hard = value.
pub fn set_rlimit(resource: c_uint, value: u64) -> Result<(), Errno> {
    let limit: [u64; 2] = [value, value];
    // SAFETY: limit is a valid struct rlimit64 {cur, max} for the call; old is NULL.
    check(unsafe {
        libc::syscall(
            libc::SYS_prlimit64,
            0 as c_int,
            resource,
            limit.as_ptr(),
            std::ptr::null_mut::<u64>(),
        )
    })
    .map(drop)
}

/// Brings the loopback interface up in the current network namespace:
/// `SIOCGIFFLAGS`, then `SIOCSIFFLAGS` with `IFF_UP` on an `AF_INET` datagram socket.
pub fn loopback_up() -> Result<(), Errno> {
    const SIOCGIFFLAGS: c_long = 0x8913;
    const SIOCSIFFLAGS: c_long = 0x8914;
    // struct ifreq: 16 bytes of name, then the union (ifr_flags is a short at offset 16).
    let mut ifr = [0u8; 40];
    ifr[0] = b'l';
    ifr[1] = b'o';
    // SAFETY: socket takes integers only.
    let fd = check(unsafe {
        libc::syscall(
            libc::SYS_socket,
            libc::AF_INET,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            0,
        )
    })? as c_int;
    // SAFETY: ifr is a valid, writable 40-byte struct ifreq for both calls.
    let result =
        check(unsafe { libc::syscall(libc::SYS_ioctl, fd, SIOCGIFFLAGS, ifr.as_mut_ptr()) })
            .and_then(|_| {
                let flags = u16::from_ne_bytes([ifr[16], ifr[17]]) | libc::IFF_UP as u16;
                let bytes = flags.to_ne_bytes();
                ifr[16] = bytes[0];
                ifr[17] = bytes[1];
                // SAFETY: as above.
                check(unsafe { libc::syscall(libc::SYS_ioctl, fd, SIOCSIFFLAGS, ifr.as_mut_ptr()) })
            });
    let _ = close(fd);
    result.map(drop)
}

/// Whether the other end of a pipe (read end `fd`) has hung up: `ppoll` with a zero timeout.
pub fn pipe_hung_up(fd: c_int) -> Result<bool, Errno> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: pfd is one valid pollfd and zero a valid timespec for the call; no sigmask.
    check(unsafe {
        libc::syscall(
            libc::SYS_ppoll,
            &mut pfd as *mut libc::pollfd,
            1 as libc::c_ulong,
            &zero as *const libc::timespec,
            std::ptr::null::<u64>(),
            SIGSET_SIZE,
        )
    })?;
    Ok(pfd.revents & libc::POLLHUP != 0)
}

/// Waits up to `timeout_ms` (-1: no limit) until one of `fds` is readable (or hung up);
/// the result says which. `EINTR` returns none ready. Parent only.
pub fn poll_readable(fds: &[c_int], timeout_ms: c_int) -> Result<Vec<bool>, Errno> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: pfds is a valid array of pfds.len() pollfds for the whole call.
    let ret = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
    match check(ret as c_long) {
        Err(libc::EINTR) => Ok(vec![false; fds.len()]),
        Err(e) => Err(e),
        Ok(_) => Ok(pfds.iter().map(|p| p.revents != 0).collect()),
    }
}

/// `struct landlock_ruleset_attr` (24 bytes, ABI 6+; zero fields work on every ABI).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct LandlockRulesetAttr {
    /// Handled filesystem rights.
    pub handled_access_fs: u64,
    /// Handled network rights (ABI 4+).
    pub handled_access_net: u64,
    /// Scopes (ABI 6+).
    pub scoped: u64,
}

/// `struct landlock_path_beneath_attr` (packed, 12 bytes).
#[repr(C, packed)]
struct LandlockPathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// `struct landlock_net_port_attr` (16 bytes).
#[repr(C)]
struct LandlockNetPortAttr {
    allowed_access: u64,
    port: u64,
}

const _: () = assert!(std::mem::size_of::<LandlockRulesetAttr>() == 24);
const _: () = assert!(std::mem::size_of::<LandlockPathBeneathAttr>() == 12);
const _: () = assert!(std::mem::size_of::<LandlockNetPortAttr>() == 16);

/// `landlock_create_ruleset(attr, sizeof attr, 0)`: a new ruleset fd (O_CLOEXEC).
pub fn landlock_create_ruleset(attr: &LandlockRulesetAttr) -> Result<c_int, Errno> {
    // SAFETY: attr is a valid 24-byte ruleset attr for the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            attr as *const LandlockRulesetAttr,
            std::mem::size_of::<LandlockRulesetAttr>(),
            0 as c_uint,
        )
    })
    .map(|fd| fd as c_int)
}

/// `landlock_add_rule(ruleset, LANDLOCK_RULE_PATH_BENEATH, {allowed, parent_fd}, 0)`.
pub fn landlock_add_path_rule(ruleset: c_int, parent_fd: c_int, allowed: u64) -> Result<(), Errno> {
    const LANDLOCK_RULE_PATH_BENEATH: c_int = 1;
    let attr = LandlockPathBeneathAttr {
        allowed_access: allowed,
        parent_fd,
    };
    // SAFETY: attr is a valid packed path-beneath attr for the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_landlock_add_rule,
            ruleset,
            LANDLOCK_RULE_PATH_BENEATH,
            &attr as *const LandlockPathBeneathAttr,
            0 as c_uint,
        )
    })
    .map(drop)
}

/// `landlock_add_rule(ruleset, LANDLOCK_RULE_NET_PORT, {allowed, port}, 0)`.
pub fn landlock_add_net_rule(ruleset: c_int, port: u16, allowed: u64) -> Result<(), Errno> {
    const LANDLOCK_RULE_NET_PORT: c_int = 2;
    let attr = LandlockNetPortAttr {
        allowed_access: allowed,
        port: u64::from(port),
    };
    // SAFETY: attr is a valid net-port attr for the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_landlock_add_rule,
            ruleset,
            LANDLOCK_RULE_NET_PORT,
            &attr as *const LandlockNetPortAttr,
            0 as c_uint,
        )
    })
    .map(drop)
}

/// `landlock_restrict_self(ruleset, flags)`: restricts the calling thread (and its children).
pub fn landlock_restrict_self(ruleset: c_int, flags: c_uint) -> Result<(), Errno> {
    // SAFETY: restrict_self takes integers only.
    check(unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset, flags) }).map(drop)
}

/// `struct sock_fprog`: the length and address of a classic-BPF program.
#[repr(C)]
pub struct SockFprog {
    /// Number of instructions.
    pub len: u16,
    /// The instructions (`struct sock_filter[len]`).
    pub filter: *const libc::sock_filter,
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)`.
///
/// # Safety
/// `prog.filter` must point to `prog.len` instructions that stay valid for the call.
pub unsafe fn seccomp_set_filter(prog: &SockFprog, flags: c_uint) -> Result<(), Errno> {
    const SECCOMP_SET_MODE_FILTER: c_uint = 1;
    // SAFETY: prog is a valid sock_fprog; the caller guarantees the instructions.
    check(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags,
            prog as *const SockFprog,
        )
    })
    .map(drop)
}

/// `prlimit64(0, resource, NULL, &old)`: the current (soft, hard) limit.
pub fn get_rlimit(resource: c_uint) -> Result<(u64, u64), Errno> {
    let mut old: [u64; 2] = [0, 0];
    // SAFETY: old is a valid, writable struct rlimit64 for the call; new is NULL.
    check(unsafe {
        libc::syscall(
            libc::SYS_prlimit64,
            0 as c_int,
            resource,
            std::ptr::null::<u64>(),
            old.as_mut_ptr(),
        )
    })?;
    Ok((old[0], old[1]))
}

/// `struct open_how` of openat2(2).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const _: () = assert!(std::mem::size_of::<OpenHow>() == 24);

/// `RESOLVE_NO_SYMLINKS`: no symlink (and no magic link) in any component.
const RESOLVE_NO_SYMLINKS: u64 = 0x04;

/// `openat2(AT_FDCWD, path, {flags | O_CLOEXEC, 0, RESOLVE_NO_SYMLINKS})`: `ELOOP` when a
/// component of `path` is a symlink; `ENOSYS` before Linux 5.6.
pub fn open_no_symlinks(path: &CStr, flags: c_int) -> Result<c_int, Errno> {
    /// openat2 has number 437 on every architecture (the generic table).
    const SYS_OPENAT2: c_long = 437;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: RESOLVE_NO_SYMLINKS,
    };
    // SAFETY: path is a valid NUL-terminated string and how a valid open_how of the size
    // passed; both outlive the call.
    check(unsafe {
        libc::syscall(
            SYS_OPENAT2,
            libc::AT_FDCWD,
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    })
    .map(|fd| fd as c_int)
}

/// `fchdir(fd)`.
pub fn fchdir(fd: c_int) -> Result<(), Errno> {
    // SAFETY: fchdir takes no pointers; a bad fd is reported as EBADF.
    check(unsafe { libc::syscall(libc::SYS_fchdir, fd) }).map(drop)
}

/// `MFD_EXEC` (Linux 6.3): the memfd stays executable whatever `vm.memfd_noexec` says.
const MFD_EXEC: c_uint = 0x10;

/// `memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC)`, without `MFD_EXEC` on
/// kernels that do not know it (`EINVAL`).
pub fn memfd_sealable(name: &CStr) -> Result<c_int, Errno> {
    let base = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    let create = |flags: c_uint| {
        // SAFETY: name is a valid NUL-terminated string that outlives the call.
        check(unsafe { libc::syscall(libc::SYS_memfd_create, name.as_ptr(), flags) })
            .map(|fd| fd as c_int)
    };
    match create(base | MFD_EXEC) {
        Err(libc::EINVAL) => create(base),
        other => other,
    }
}

/// Seals a memfd against every change of its contents and of its seals:
/// `F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`.
pub fn seal_contents(fd: c_int) -> Result<(), Errno> {
    let seals = libc::F_SEAL_WRITE | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
    // SAFETY: F_ADD_SEALS takes an integer argument, no pointer.
    check(unsafe { libc::syscall(libc::SYS_fcntl, fd, libc::F_ADD_SEALS, seals) }).map(drop)
}

/// The size of the extended attribute `name` of the file open as `fd` (also an `O_PATH`
/// fd, through its `/proc/self/fd` link); `ENODATA` when it has none.
pub fn xattr_size(fd: c_int, name: &CStr) -> Result<usize, Errno> {
    let link = std::ffi::CString::new(format!("/proc/self/fd/{fd}")).map_err(|_| libc::EINVAL)?;
    // SAFETY: both strings are valid and NUL-terminated; a NULL buffer of size 0 asks only
    // for the size.
    check(unsafe {
        libc::syscall(
            libc::SYS_getxattr,
            link.as_ptr(),
            name.as_ptr(),
            std::ptr::null_mut::<libc::c_void>(),
            0usize,
        )
    })
    .map(|n| n as usize)
}

/// `mount(source, target, fstype, flags, data)`; `None` passes NULL.
pub fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> Result<(), Errno> {
    let ptr = |s: Option<&CStr>| s.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: every pointer is NULL or a valid NUL-terminated string outliving the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount,
            ptr(source),
            target.as_ptr(),
            ptr(fstype),
            flags,
            ptr(data),
        )
    })
    .map(drop)
}

/// `umount2(target, flags)`.
pub fn umount2(target: &CStr, flags: c_int) -> Result<(), Errno> {
    // SAFETY: target is a valid NUL-terminated string outliving the call.
    check(unsafe { libc::syscall(libc::SYS_umount2, target.as_ptr(), flags) }).map(drop)
}

/// `pivot_root(new_root, put_old)`.
pub fn pivot_root(new_root: &CStr, put_old: &CStr) -> Result<(), Errno> {
    // SAFETY: both are valid NUL-terminated strings outliving the call.
    check(unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) })
        .map(drop)
}

/// `struct mount_attr` (`MOUNT_ATTR_SIZE_VER0`, 32 bytes).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const _: () = assert!(std::mem::size_of::<MountAttr>() == 32);

/// `AT_RECURSIVE`: mount_setattr on the whole mount tree.
pub const AT_RECURSIVE: c_uint = 0x8000;

/// `mount_setattr(AT_FDCWD, path, flags, {attr_set, 0, 0, 0})` (Linux 5.12): sets
/// `MOUNT_ATTR_*` bits on the mount at `path` (`AT_RECURSIVE`: and every mount below it).
pub fn mount_setattr(path: &CStr, flags: c_uint, attr_set: u64) -> Result<(), Errno> {
    let attr = MountAttr {
        attr_set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: path is a valid NUL-terminated string and attr a valid mount_attr of the
    // size passed; both outlive the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}

/// Whether this kernel has mount_setattr: a call with an invalid fd says `EBADF`, a
/// kernel without it `ENOSYS`.
pub fn has_mount_setattr() -> bool {
    // SAFETY: NULL path and attr with size 0: the kernel rejects the call before reading.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            -1 as c_int,
            std::ptr::null::<c_char>(),
            0 as c_uint,
            std::ptr::null::<MountAttr>(),
            0usize,
        )
    };
    check(ret) != Err(libc::ENOSYS)
}

/// `mkdirat(AT_FDCWD, path, mode)`.
pub fn mkdir(path: &CStr, mode: u32) -> Result<(), Errno> {
    // SAFETY: path is a valid NUL-terminated string outliving the call.
    check(unsafe { libc::syscall(libc::SYS_mkdirat, libc::AT_FDCWD, path.as_ptr(), mode) })
        .map(drop)
}

/// `mknodat(AT_FDCWD, path, S_IFREG | mode, 0)`: an empty regular file (no fd needed).
pub fn make_empty_file(path: &CStr, mode: u32) -> Result<(), Errno> {
    // SAFETY: path is a valid NUL-terminated string outliving the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_mknodat,
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::S_IFREG | mode,
            0 as libc::dev_t,
        )
    })
    .map(drop)
}

/// `symlinkat(link, AT_FDCWD, path)`: `path` becomes a symlink with content `link`.
pub fn symlink(link: &CStr, path: &CStr) -> Result<(), Errno> {
    // SAFETY: both are valid NUL-terminated strings outliving the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_symlinkat,
            link.as_ptr(),
            libc::AT_FDCWD,
            path.as_ptr(),
        )
    })
    .map(drop)
}

/// `openat(AT_FDCWD, path, flags | O_CLOEXEC, mode)`: a new fd.
pub fn open_at(path: &CStr, flags: c_int, mode: u32) -> Result<c_int, Errno> {
    // SAFETY: path is a valid NUL-terminated string outliving the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            path.as_ptr(),
            flags | libc::O_CLOEXEC,
            mode,
        )
    })
    .map(|fd| fd as c_int)
}

/// `chdir(path)`.
pub fn chdir(path: &CStr) -> Result<(), Errno> {
    // SAFETY: path is a valid NUL-terminated string outliving the call.
    check(unsafe { libc::syscall(libc::SYS_chdir, path.as_ptr()) }).map(drop)
}

/// `umask(mask)`: returns the previous mask.
pub fn umask(mask: u32) -> u32 {
    // SAFETY: umask takes an integer and cannot fail.
    unsafe { libc::syscall(libc::SYS_umask, mask) as u32 }
}

/// `(st_dev, st_ino, st_mode)` of `path` relative to `dir` (`AT_FDCWD` or an fd) with
/// `flags` (`AT_SYMLINK_NOFOLLOW`, `AT_EMPTY_PATH`): `newfstatat`.
pub fn stat_id(dir: c_int, path: &CStr, flags: c_int) -> Result<(u64, u64, u32), Errno> {
    // SAFETY: an all-zero struct stat is valid plain data.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: path is a valid NUL-terminated string and st a writable struct stat; both
    // outlive the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_newfstatat,
            dir,
            path.as_ptr(),
            &mut st as *mut libc::stat,
            flags,
        )
    })?;
    Ok((st.st_dev, st.st_ino, st.st_mode))
}
