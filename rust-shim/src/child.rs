//! What the cloned child runs, from clone3's return to execveat.
//!
//! The child is a copy of a multi-threaded process in which only the cloning thread
//! exists, so this module makes raw system calls only (through [`crate::sys`]): no
//! allocation, no locks, no std I/O, no panics, and it never returns: it ends in
//! `execveat` or `exit_group`. Everything it reads was built by the parent before clone3
//! ([`crate::prepare`]). Signals are all blocked from clone3 until the signals primitive.

use crate::progress::Message;
use crate::step::Step;
use crate::sys;
use libc::{c_char, c_int, c_uint};

/// `linux.scrub.ids.v1` as the child applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdsSpec {
    /// uid (real, effective, saved).
    pub uid: u32,
    /// gid (real, effective, saved).
    pub gid: u32,
    /// `setgroups(0, NULL)` first (needs CAP_SETGID; skipped when there are none).
    pub clear_groups: bool,
    /// PR_SET_KEEPCAPS around setresuid, so that the capabilities primitive that follows
    /// still holds CAP_SETPCAP to drop the bounding set.
    pub keep_caps: bool,
}

/// `linux.scrub.capabilities.v1` as the child applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapsSpec {
    /// Capabilities kept (mask).
    pub keep: u64,
    /// The kernel's highest capability number.
    pub last_cap: u32,
    /// Drop the others from the bounding set (the child holds CAP_SETPCAP).
    pub drop_bounding: bool,
}

/// The child's instructions, borrowed from the parent's prepared buffers.
pub struct ChildSpec<'a> {
    /// The schedule, ending in [`Step::Exec`].
    pub steps: &'a [Step],
    /// `target.cwd`, opened by the parent without following symlinks (-1: no cwd step).
    pub cwd_fd: c_int,
    /// Sealed memfd copies of inputs that argv names as `/proc/self/fd/N`: they lose
    /// FD_CLOEXEC at exec.
    pub inputs: &'a [c_int],
    /// NULL-terminated argv.
    pub argv: *const *const c_char,
    /// NULL-terminated envp.
    pub envp: *const *const c_char,
    /// The verified target, opened O_RDONLY|O_CLOEXEC (≥ 3).
    pub exe_fd: c_int,
    /// The target starts with `#!`: the interpreter opens `/dev/fd/N`, so the fd must
    /// survive the exec.
    pub exe_is_script: bool,
    /// The write end of the progress pipe (close-on-exec, ≥ 3).
    pub progress_fd: c_int,
    /// The plan's kept fds (they lose FD_CLOEXEC).
    pub keep: &'a [c_int],
    /// Every fd ≥ 3 that stays open through the fd scrub, ascending: `keep`, the exe fd,
    /// the progress pipe, the Landlock ruleset and the rendezvous pipe's read end.
    pub open_fds: &'a [c_int],
    /// The flags clone3 created this child with (namespaces actually created).
    pub clone_flags: u64,
    /// Rendezvous pipe, read end: one byte = maps written (with a user namespace), one
    /// byte = the transcript is durable up to `ready_to_exec`; EOF = parent gone.
    pub go_read: c_int,
    /// Rendezvous pipe, write end: the child closes its copy first thing.
    pub go_write: c_int,
    /// Dumpable from clone3 until the id maps are written: the child inherits the
    /// launcher's non-dumpable state, under which an unprivileged launcher can neither
    /// write the maps nor read the namespaces; the child reports [`Message::Dumpable`].
    pub dumpable_for_maps: bool,
    /// The ids inside the user namespace, switched to once the maps are written: the
    /// child's host ids become the mapped ones (a root launcher's child would otherwise
    /// still be host uid 0, only shown as the overflow id).
    pub userns_ids: Option<IdsSpec>,
    /// Hostname (empty: none).
    pub hostname: &'a [u8],
    /// `(RLIMIT_*, value)`.
    pub rlimits: &'a [(c_uint, u64)],
    /// The launcher's pid, read before clone3.
    pub parent_pid: c_int,
    /// Parent-death signal (0: none).
    pub pdeathsig: c_int,
    /// ids to switch to.
    pub ids: Option<IdsSpec>,
    /// Capabilities to keep.
    pub caps: Option<CapsSpec>,
    /// The Landlock ruleset (-1: none).
    pub landlock_fd: c_int,
    /// The seccomp program and flags.
    pub seccomp: Option<(&'a sys::SockFprog, c_uint)>,
}

fn send(spec: &ChildSpec<'_>, message: Message) {
    if sys::write_all(spec.progress_fd, &message.encode()).is_err() {
        // The parent is gone or the pipe broke: nobody can be told, stop here.
        sys::exit_group(126);
    }
}

fn fault(spec: &ChildSpec<'_>, step: Step, errno: c_int) -> ! {
    // A failed report changes nothing: exit either way.
    let _ = sys::write_all(spec.progress_fd, &Message::Fault { step, errno }.encode());
    sys::exit_group(if step == Step::Exec && errno == libc::ENOENT {
        127
    } else {
        126
    })
}

/// Runs the schedule and execs the target. Never returns.
pub fn run(spec: &ChildSpec<'_>) -> ! {
    // Only the parent may hold the write end: its end of file means the parent is gone.
    let _ = sys::close(spec.go_write);
    if spec.dumpable_for_maps {
        if let Err(errno) = sys::set_dumpable(true) {
            fault(spec, Step::UserNs, errno);
        }
        send(spec, Message::Dumpable);
    }
    let mut reported: u8 = 0;
    for &step in spec.steps {
        while reported + 1 < step.phase() {
            reported += 1;
            send(spec, Message::PhaseDone(reported));
        }
        if step == Step::Exec {
            exec(spec);
        }
        if let Err(errno) = apply(spec, step) {
            fault(spec, step, errno);
        }
    }
    // Unreachable for a validated plan, whose schedule ends in execveat.
    fault(spec, Step::Exec, libc::ENOEXEC)
}

fn created(spec: &ChildSpec<'_>, flag: c_int) -> bool {
    spec.clone_flags & flag as u64 != 0
}

fn apply(spec: &ChildSpec<'_>, step: Step) -> Result<(), sys::Errno> {
    match step {
        Step::UserNs if created(spec, libc::CLONE_NEWUSER) => wait_for_maps(spec),
        Step::Namespaces if created(spec, libc::CLONE_NEWNET) => sys::loopback_up(),
        Step::Hostname if created(spec, libc::CLONE_NEWUTS) && !spec.hostname.is_empty() => {
            sys::sethostname(spec.hostname)
        }
        Step::Cwd => sys::fchdir(spec.cwd_fd),
        Step::Signals => reset_signals(),
        // envp was built by the parent from the plan's env only; nothing to do here.
        Step::Env => Ok(()),
        Step::Fds => scrub_fds(spec),
        Step::Rlimits => spec
            .rlimits
            .iter()
            .try_for_each(|&(resource, value)| sys::set_rlimit(resource, value)),
        Step::Setsid => sys::setsid(),
        Step::Pdeathsig if spec.pdeathsig != 0 => parent_death_signal(spec),
        Step::Ids => match spec.ids {
            Some(ids) => switch_ids(ids),
            None => Ok(()),
        },
        Step::Capabilities => match spec.caps {
            Some(caps) => reduce_capabilities(caps),
            None => Ok(()),
        },
        Step::NoNewPrivs => sys::set_no_new_privs(),
        Step::Landlock if spec.landlock_fd >= 0 => sys::landlock_restrict_self(spec.landlock_fd),
        Step::Seccomp => match spec.seccomp {
            // SAFETY: the program points into the parent's prepared buffer, which this
            // process has a copy of; it stays valid until exec.
            Some((prog, flags)) => unsafe { sys::seccomp_set_filter(prog, flags) },
            None => Ok(()),
        },
        // The cgroup was joined by clone3 (CLONE_INTO_CGROUP); skipped namespaces,
        // Landlock or pdeathsig (best_effort) have nothing to do; host root is decided by
        // the parent (the maps, or no fallback ids).
        Step::HostRoot
        | Step::UserNs
        | Step::Namespaces
        | Step::Hostname
        | Step::Cgroup
        | Step::Pdeathsig
        | Step::Landlock
        | Step::Exec => Ok(()),
    }
}

/// Blocks until the parent wrote the id maps (one byte), then is non-dumpable again (this
/// process still holds a copy of the launcher's memory) and switches to the ids inside
/// (for a privileged launcher, without its supplementary groups).
fn wait_for_maps(spec: &ChildSpec<'_>) -> Result<(), sys::Errno> {
    wait_for_release(spec)?;
    if spec.dumpable_for_maps {
        sys::set_dumpable(false)?;
    }
    spec.userns_ids.map_or(Ok(()), switch_ids)
}

/// Blocks until the parent releases the child (one byte on the rendezvous pipe). End of
/// file: the parent gave up or died; exit quietly, the parent reports (or nobody is left
/// to tell).
fn wait_for_release(spec: &ChildSpec<'_>) -> Result<(), sys::Errno> {
    let mut byte = [0u8; 1];
    match sys::read(spec.go_read, &mut byte)? {
        0 => sys::exit_group(126),
        _ => Ok(()),
    }
}

/// PR_SET_PDEATHSIG, then exits if the parent died before it took effect: `getppid()`
/// differs from the pid saved before clone3, or, in a new pid namespace (where
/// `getppid()` is 0), the rendezvous pipe has no writer left.
fn parent_death_signal(spec: &ChildSpec<'_>) -> Result<(), sys::Errno> {
    sys::set_pdeathsig(spec.pdeathsig)?;
    let gone = if created(spec, libc::CLONE_NEWPID) {
        sys::pipe_hung_up(spec.go_read)?
    } else {
        sys::getppid() != spec.parent_pid
    };
    if gone {
        sys::exit_group(128 + spec.pdeathsig);
    }
    Ok(())
}

/// setgroups([]) → setresgid → (KEEPCAPS) → setresuid (linux-facts.md §4).
fn switch_ids(ids: IdsSpec) -> Result<(), sys::Errno> {
    if ids.clear_groups {
        sys::clear_groups()?;
    }
    sys::setresgid(ids.gid)?;
    if ids.keep_caps {
        sys::set_keepcaps(true)?;
    }
    sys::setresuid(ids.uid)
}

/// Reduces every capability set to `keep`: regain the permitted set as effective (a uid
/// switch cleared it), drop the bounding set while CAP_SETPCAP is held, clear ambient,
/// set effective = permitted = inheritable = kept, and raise the kept ones as ambient so
/// that they survive the exec of a non-root target.
fn reduce_capabilities(caps: CapsSpec) -> Result<(), sys::Errno> {
    let current = sys::capget()?;
    if current.effective != current.permitted {
        sys::capset(sys::CapSets {
            effective: current.permitted,
            ..current
        })?;
    }
    if caps.drop_bounding {
        for cap in 0..=caps.last_cap {
            if caps.keep & crate::caps::bit(cap) == 0 {
                sys::capbset_drop(cap)?;
            }
        }
    }
    match sys::ambient_clear_all() {
        // Kernels before 4.3 have no ambient set.
        Err(libc::EINVAL) | Ok(()) => {}
        Err(e) => return Err(e),
    }
    let kept = caps.keep & current.permitted;
    sys::capset(sys::CapSets {
        effective: kept,
        permitted: kept,
        inheritable: kept,
    })?;
    for cap in 0..=caps.last_cap {
        if kept & crate::caps::bit(cap) != 0 {
            sys::ambient_raise(cap)?;
        }
    }
    Ok(())
}

/// Every disposition to SIG_DFL (the launcher may ignore SIGPIPE or have handlers), then
/// an empty mask (the parent blocked everything around clone3).
fn reset_signals() -> Result<(), sys::Errno> {
    for sig in 1..=sys::MAX_SIGNAL {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            sys::reset_signal(sig)?;
        }
    }
    sys::set_signal_mask(0).map(drop)
}

/// Closes every fd ≥ 3 not in `open_fds` with close_range over the gaps, then clears
/// FD_CLOEXEC on the plan's kept fds.
fn scrub_fds(spec: &ChildSpec<'_>) -> Result<(), sys::Errno> {
    let mut next: c_uint = 3;
    for &fd in spec.open_fds {
        let fd = fd as c_uint;
        if fd > next {
            sys::close_range(next, fd - 1)?;
        }
        next = fd.saturating_add(1);
    }
    sys::close_range(next, c_uint::MAX)?;
    for &fd in spec.keep {
        sys::set_fd_flags(fd, 0)?;
    }
    Ok(())
}

fn exec(spec: &ChildSpec<'_>) -> ! {
    if spec.exe_is_script {
        if let Err(errno) = sys::set_fd_flags(spec.exe_fd, 0) {
            fault(spec, Step::Exec, errno);
        }
    }
    for &fd in spec.inputs {
        if let Err(errno) = sys::set_fd_flags(fd, 0) {
            fault(spec, Step::Exec, errno);
        }
    }
    send(spec, Message::PhaseDone(Step::Exec.phase()));
    send(spec, Message::ReadyToExec);
    // The target runs only once its evidence is durable (DESIGN §5): the parent releases
    // the child after writing and syncing `ready_to_exec`. A filter that denies read ends
    // the launch here, never in an exec without evidence.
    if let Err(errno) = wait_for_release(spec) {
        fault(spec, Step::Exec, errno);
    }
    // SAFETY: argv and envp point to NULL-terminated arrays of NUL-terminated strings that
    // the parent built before clone3; they live in this process's copy of its memory.
    let errno = unsafe { sys::execveat(spec.exe_fd, spec.argv, spec.envp) };
    fault(spec, Step::Exec, errno)
}
