//! What the cloned child runs, from clone3's return to execveat: the phases in schedule
//! order, each step applied by the child-side function of the mechanism that owns it
//! (`crate::mechanism`), the progress reports and the exec.
//!
//! The child is a copy of a multi-threaded process in which only the cloning thread
//! exists, so this module and every mechanism's child-side function make raw system calls
//! only (through [`crate::sys`]): no allocation, no locks, no std I/O, no panics, and it
//! never returns: it ends in `execveat` or `exit_group`. Everything it reads was built by
//! the parent before clone3 (`prepare.rs`). Signals are all blocked from clone3 until the
//! signals primitive.

use crate::mechanism::capabilities::{self, CapsSpec};
use crate::mechanism::identity::{self, IdsSpec};
use crate::mechanism::landlock::InViewRule;
use crate::mechanism::view::{self, Broken};
use crate::mechanism::{cwd, landlock, learn, namespaces, rlimits, scrub, seccomp};
use crate::progress::Message;
use crate::step::Step;
use crate::sys;
use libc::{c_char, c_int, c_uint};

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
    /// The Landlock `restrict_self` flags.
    pub landlock_flags: libc::c_uint,
    /// Landlock rules on paths of the view, added once it is built.
    pub landlock_in_view: &'a [InViewRule],
    /// The filesystem view, when the child has its own mount namespace to build it in.
    pub view: Option<&'a view::Build>,
    /// The seccomp program and flags (the recording filter in learn mode).
    pub seccomp: Option<(&'a sys::SockFprog, c_uint)>,
    /// Recording denials: the program with its errno returns notified, and the handoff.
    pub seccomp_observe: Option<seccomp::ObserveSpec<'a>>,
    /// Learn mode: the socket the listener is sent over (-1: none).
    pub learn_fd: c_int,
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
        let result = match (step, spec.view) {
            (Step::View, Some(v)) => view::apply(v, created(spec, libc::CLONE_NEWPID)),
            (Step::Cwd, Some(v)) => enter_view_cwd(spec, v),
            _ => apply(spec, step).map_err(Broken::Errno),
        };
        match result {
            Ok(()) => {}
            Err(Broken::Errno(errno)) => fault(spec, step, errno),
            Err(Broken::Changed(check)) => {
                // A failed report changes nothing: exit either way.
                let _ = sys::write_all(spec.progress_fd, &Message::PathChanged(check).encode());
                sys::exit_group(126)
            }
        }
    }
    // Unreachable for a validated plan, whose schedule ends in execveat.
    fault(spec, Step::Exec, libc::ENOEXEC)
}

fn created(spec: &ChildSpec<'_>, flag: c_int) -> bool {
    spec.clone_flags & flag as u64 != 0
}

/// Applies one step through the mechanism that owns it.
fn apply(spec: &ChildSpec<'_>, step: Step) -> Result<(), sys::Errno> {
    match step {
        Step::UserNs if created(spec, libc::CLONE_NEWUSER) => {
            wait_for_release(spec)?;
            identity::enter_userns(spec.dumpable_for_maps, spec.userns_ids)
        }
        Step::Namespaces => namespaces::apply(spec.clone_flags),
        Step::Hostname => namespaces::apply_hostname(spec.clone_flags, spec.hostname),
        Step::Cwd => cwd::apply(spec.cwd_fd),
        Step::Signals => scrub::reset_signals(),
        // envp was built by the parent from the plan's env only; nothing to do here.
        Step::Env => Ok(()),
        Step::Fds => scrub::scrub_fds(spec.open_fds, spec.keep),
        Step::Rlimits => rlimits::apply(spec.rlimits),
        Step::Setsid => sys::setsid(),
        Step::Pdeathsig if spec.pdeathsig != 0 => scrub::parent_death_signal(
            spec.pdeathsig,
            spec.parent_pid,
            created(spec, libc::CLONE_NEWPID),
            spec.go_read,
        ),
        Step::Ids => spec.ids.map_or(Ok(()), identity::switch_ids),
        Step::Capabilities => spec.caps.map_or(Ok(()), capabilities::apply),
        Step::NoNewPrivs => sys::set_no_new_privs(),
        Step::Landlock => {
            let in_view = if spec.view.is_some() {
                spec.landlock_in_view
            } else {
                &[]
            };
            landlock::apply(spec.landlock_fd, spec.landlock_flags, in_view)
        }
        Step::Seccomp => match &spec.seccomp_observe {
            Some(observe) => match seccomp::start_handoff(observe) {
                Ok(()) => seccomp::apply_observed(observe),
                Err(errno) => {
                    send(spec, Message::DenialsUnrecorded(errno));
                    seccomp::apply(spec.seccomp)
                }
            },
            None => seccomp::apply(spec.seccomp),
        },
        Step::Learn => learn::apply(spec.seccomp, spec.learn_fd),
        // The cgroup was joined by clone3 (CLONE_INTO_CGROUP); a skipped user namespace or
        // pdeathsig (best_effort) has nothing to do; host root is decided by the parent
        // (the maps, or no fallback ids).
        // Without a mount namespace (best_effort gave it up) there is no view to build.
        Step::HostRoot
        | Step::UserNs
        | Step::View
        | Step::Cgroup
        | Step::Pdeathsig
        | Step::Exec => Ok(()),
    }
}

/// Blocks until the parent releases the child (one byte on the rendezvous pipe). End of
/// file: the parent gave up or died; exit quietly, the parent reports (or nobody is left
/// to tell).
/// `linux.visibility.cwd.v1` in a view: by path inside the new root, never through the
/// parent's fd (a directory outside the root would lead out of the view), which the child
/// then closes.
fn enter_view_cwd(spec: &ChildSpec<'_>, v: &view::Build) -> Result<(), Broken> {
    view::enter_cwd(v)?;
    if spec.cwd_fd >= 0 {
        sys::close(spec.cwd_fd)?;
    }
    Ok(())
}

fn wait_for_release(spec: &ChildSpec<'_>) -> Result<(), sys::Errno> {
    let mut byte = [0u8; 1];
    match sys::read(spec.go_read, &mut byte)? {
        0 => sys::exit_group(126),
        _ => Ok(()),
    }
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
