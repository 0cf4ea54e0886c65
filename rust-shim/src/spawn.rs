//! Creating the child with clone3 and following its progress until the exec succeeded.

use crate::child::{self, ChildSpec};
use crate::error::{Failure, Refusal};
use crate::plan::Step;
use crate::prepare::{PhaseReports, Prepared};
use crate::progress::{Message, MESSAGE_LEN};
use crate::sys::{self, CloneArgs};
use crate::transcript::{mono_ns, Transcript};
use serde_json::json;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A child whose exec succeeded (or, in a [`SpawnError`], one that must be reaped).
#[derive(Debug)]
pub struct Child {
    /// Its pid (in the launcher's pid namespace).
    pub pid: i32,
    /// Its pidfd (close-on-exec).
    pub pidfd: OwnedFd,
    /// CLOCK_MONOTONIC right after clone3 returned.
    pub created_mono_ns: u64,
}

/// A failed launch, and the child to reap if one was created.
#[derive(Debug)]
pub struct SpawnError {
    /// What went wrong.
    pub failure: Failure,
    /// The child, if clone3 had created one.
    pub child: Option<Child>,
}

impl From<Failure> for SpawnError {
    fn from(failure: Failure) -> SpawnError {
        SpawnError {
            failure,
            child: None,
        }
    }
}

impl From<Refusal> for SpawnError {
    fn from(refusal: Refusal) -> SpawnError {
        Failure::Refused(refusal).into()
    }
}

/// clone3 with `CLONE_PIDFD` and `SIGCHLD`, all signals blocked in the calling thread
/// around it so that no handler of the launcher ever runs in the child. Returns in the
/// parent only; the child runs [`child::run`].
fn clone_child(spec: &ChildSpec<'_>) -> Result<(i32, OwnedFd), Failure> {
    let mut pidfd: libc::c_int = -1;
    let mut args = CloneArgs {
        flags: libc::CLONE_PIDFD as u64,
        pidfd: std::ptr::addr_of_mut!(pidfd) as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    let saved = sys::set_signal_mask(!0)
        .map_err(|e| Failure::fault("signal_mask", e, "Blocking signals around clone3 failed"))?;
    // SAFETY: no CLONE_VM: the child gets a copy of this address space and runs only
    // child::run, which makes raw syscalls over buffers prepared before this call and ends
    // in execveat or exit_group, never returning here. args.pidfd points to a live c_int.
    let result = unsafe { sys::clone3(&mut args) };
    if result == Ok(0) {
        child::run(spec);
    }
    // Restoring the mask that was just read back cannot fail.
    let _ = sys::set_signal_mask(saved);
    match result {
        // SAFETY: the kernel stored a new pidfd (close-on-exec) that nothing else owns.
        Ok(pid) => Ok((pid, unsafe { OwnedFd::from_raw_fd(pidfd) })),
        Err(libc::ENOSYS) => Err(Refusal::KernelUnsupported(
            "This kernel lacks clone3 (Linux 5.3+), which charter needs; upgrade the kernel"
                .to_string(),
        )
        .into()),
        Err(e) => Err(Failure::fault(
            "clone3",
            e,
            "Creating the child with clone3 failed",
        )),
    }
}

/// Reads one message; `Ok(None)` at end of file.
fn read_message(fd: &OwnedFd) -> Result<Option<Message>, Failure> {
    let mut buf = [0u8; MESSAGE_LEN];
    let mut got = 0;
    while got < MESSAGE_LEN {
        let n = sys::read(fd.as_raw_fd(), &mut buf[got..])
            .map_err(|e| Failure::fault("progress", e, "Reading the child's progress failed"))?;
        if n == 0 {
            return match got {
                0 => Ok(None),
                _ => Err(Failure::fault(
                    "progress",
                    libc::EPROTO,
                    "The child's progress report was cut short",
                )),
            };
        }
        got += n;
    }
    Message::decode(buf).map(Some).ok_or_else(|| {
        Failure::fault(
            "progress",
            libc::EPROTO,
            "The child sent an unknown progress message",
        )
    })
}

/// How following the child ended badly.
enum Stop {
    /// The child reported a fault and exits by itself.
    ChildFault(Failure),
    /// The parent gives up (transcript or protocol failure): the child must be killed.
    Abort(Failure),
}

/// Turns the child's progress into `phase_resolved`, `ready_to_exec` and `exec_succeeded`.
fn follow(
    progress: &OwnedFd,
    phases: &PhaseReports,
    transcript: &mut Transcript,
) -> Result<(), Stop> {
    let mut next_phase: u8 = 1;
    let mut ready = false;
    loop {
        match read_message(progress).map_err(Stop::Abort)? {
            None if ready => {
                return transcript
                    .record("exec_succeeded", &[])
                    .map_err(Stop::Abort)
            }
            None => {
                let what = "The child ended during setup without reporting a fault";
                return Err(Stop::ChildFault(Failure::fault("progress", 0, what)));
            }
            Some(Message::Fault { step, errno }) => {
                let what = match step {
                    Step::Exec if ready => "Executing the target failed".to_string(),
                    _ => format!("{} failed", step.action()),
                };
                return Err(Stop::ChildFault(Failure::fault(step.id(), errno, &what)));
            }
            Some(Message::PhaseDone(phase)) if phase == next_phase && !ready => {
                transcript
                    .record("phase_resolved", &phases.fields(phase))
                    .map_err(Stop::Abort)?;
                next_phase += 1;
            }
            Some(Message::ReadyToExec) if next_phase == 6 && !ready => {
                transcript
                    .record("ready_to_exec", &[])
                    .map_err(Stop::Abort)?;
                ready = true;
            }
            Some(_) => {
                let what = "The child reported its phases out of order";
                return Err(Stop::Abort(Failure::fault("progress", libc::EPROTO, what)));
            }
        }
    }
}

/// Creates the child, records `child_created`, and follows it until its exec succeeded.
pub fn spawn(prepared: Prepared, transcript: &mut Transcript) -> Result<Child, SpawnError> {
    let (pid, pidfd) = clone_child(&prepared.child_spec())?;
    let child = Child {
        pid,
        pidfd,
        created_mono_ns: mono_ns(),
    };
    // The child has its own copies; the parent keeps only the read end and the reports.
    let (progress_read, phases) = prepared.into_parent_side();
    let result = transcript
        .record("child_created", &[("pid", json!(pid))])
        .map_err(Stop::Abort)
        .and_then(|()| follow(&progress_read, &phases, transcript));
    match result {
        Ok(()) => Ok(child),
        Err(Stop::ChildFault(failure)) => Err(SpawnError {
            failure,
            child: Some(child),
        }),
        Err(Stop::Abort(failure)) => {
            // Killing a child that already exited is harmless (ESRCH or a zombie).
            let _ = sys::pidfd_send_signal(child.pidfd.as_raw_fd(), libc::SIGKILL);
            Err(SpawnError {
                failure,
                child: Some(child),
            })
        }
    }
}
