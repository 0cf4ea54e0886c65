//! What the cloned child runs, from clone3's return to execveat.
//!
//! The child is a copy of a multi-threaded process in which only the cloning thread
//! exists, so this module makes raw system calls only (through [`crate::sys`]): no
//! allocation, no locks, no std I/O, no panics, and it never returns: it ends in
//! `execveat` or `exit_group`. Everything it reads was built by the parent before clone3
//! ([`crate::prepare`]). Signals are all blocked from clone3 until the signals primitive.

use crate::plan::Step;
use crate::progress::Message;
use crate::sys;
use libc::{c_char, c_int, c_uint};
use std::ffi::CStr;

/// The child's instructions, borrowed from the parent's prepared buffers.
pub struct ChildSpec<'a> {
    /// The schedule, ending in [`Step::Exec`].
    pub steps: &'a [Step],
    /// `target.cwd`.
    pub cwd: &'a CStr,
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
    /// Every fd ≥ 3 that stays open through the fd scrub, ascending: `keep`, the exe fd
    /// and the progress pipe.
    pub open_fds: &'a [c_int],
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

fn apply(spec: &ChildSpec<'_>, step: Step) -> Result<(), sys::Errno> {
    match step {
        Step::Cwd => sys::chdir(spec.cwd),
        Step::Signals => reset_signals(),
        // envp was built by the parent from the plan's env only; nothing to do here.
        Step::Env => Ok(()),
        Step::Fds => scrub_fds(spec),
        Step::NoNewPrivs => sys::set_no_new_privs(),
        Step::Exec => Ok(()),
    }
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
    send(spec, Message::PhaseDone(Step::Exec.phase()));
    send(spec, Message::ReadyToExec);
    // SAFETY: argv and envp point to NULL-terminated arrays of NUL-terminated strings that
    // the parent built before clone3; they live in this process's copy of its memory.
    let errno = unsafe { sys::execveat(spec.exe_fd, spec.argv, spec.envp) };
    fault(spec, Step::Exec, errno)
}
