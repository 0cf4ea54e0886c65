//! Creating the child with clone3 and following its progress until the exec succeeded.

use crate::child::{self, ChildSpec};
use crate::error::{Failure, Refusal};
use crate::mechanism::seccomp::Recorder;
use crate::mechanism::{cgroup, identity, learn};
use crate::prepare::Prepared;
use crate::progress::{Message, MESSAGE_LEN};
use crate::report::PhaseReports;
use crate::step::Step;
use crate::sys::{self, CloneArgs, Errno};
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
    /// The cgroup it was placed in, removed once it was reaped.
    pub cgroup: Option<cgroup::Leaf>,
    /// The recorder of its seccomp denials.
    pub denials: Option<Recorder>,
    /// The audit stream reader that follows its Landlock denials.
    pub landlock_audit: Option<crate::audit_stream::Opened>,
}

impl Child {
    /// Removes the child's cgroup (call after reaping it).
    pub fn remove_cgroup(&self) {
        if let Some(leaf) = &self.cgroup {
            leaf.remove();
        }
    }
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

/// Every signal blocked in the calling thread while it lives (around clone3, so that no
/// handler of the launcher ever runs in the child); the previous mask restored on drop.
struct SignalsBlocked(u64);

impl SignalsBlocked {
    fn new() -> Result<SignalsBlocked, Failure> {
        sys::set_signal_mask(!0)
            .map(SignalsBlocked)
            .map_err(|e| Failure::fault("signal_mask", e, "Blocking signals around clone3 failed"))
    }
}

impl Drop for SignalsBlocked {
    fn drop(&mut self) {
        // Restoring the mask that was just read back cannot fail.
        let _ = sys::set_signal_mask(self.0);
    }
}

/// clone3 with `CLONE_PIDFD`, `SIGCHLD` and the spec's `clone_flags` (namespaces), and
/// `CLONE_INTO_CGROUP` with `cgroup_fd`. Call with every signal blocked
/// ([`SignalsBlocked`]). Returns in the parent only (the errno when clone3 failed); the
/// child runs [`child::run`].
fn clone_child(spec: &ChildSpec<'_>, cgroup_fd: Option<i32>) -> Result<(i32, OwnedFd), Errno> {
    let mut pidfd: libc::c_int = -1;
    let mut args = CloneArgs {
        flags: libc::CLONE_PIDFD as u64 | spec.clone_flags,
        pidfd: std::ptr::addr_of_mut!(pidfd) as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    if let Some(fd) = cgroup_fd {
        args.flags |= sys::CLONE_INTO_CGROUP;
        args.cgroup = fd as u64;
    }
    // SAFETY: no CLONE_VM: the child gets a copy of this address space and runs only
    // child::run, which makes raw syscalls over buffers prepared before this call and ends
    // in execveat or exit_group, never returning here. args.pidfd points to a live c_int.
    let result = unsafe { sys::clone3(&mut args) };
    if result == Ok(0) {
        child::run(spec);
    }
    // SAFETY: the kernel stored a new pidfd (close-on-exec) that nothing else owns.
    result.map(|pid| (pid, unsafe { OwnedFd::from_raw_fd(pidfd) }))
}

/// errnos with which clone3 says the host will not create a namespace or join a cgroup
/// for this caller (permissions, limits, kernel configuration).
fn host_refused(errno: Errno) -> bool {
    matches!(
        errno,
        libc::EPERM
            | libc::EACCES
            | libc::ENOSPC
            | libc::EUSERS
            | libc::EINVAL
            | libc::EBUSY
            | libc::EOPNOTSUPP
    )
}

fn errno_text(errno: Errno) -> String {
    std::io::Error::from_raw_os_error(errno).to_string()
}

/// Creates the child. When clone3 refuses namespaces or the cgroup, gives up the
/// best_effort ones (recording why) and tries again; refuses (`kernel_unsupported`, no
/// child exists) when what is left is required. Returns the pid, the pidfd and the
/// namespace flags the child was created with.
fn create_child(prepared: &mut Prepared) -> Result<(i32, OwnedFd, u64), Failure> {
    let user_required = prepared.identity.user_required;
    let flags_required = prepared.namespaces.flags_required;
    let user_flag = libc::CLONE_NEWUSER as u64;
    let mut user = prepared.identity.user.is_some();
    let mut flags = prepared.namespaces.flags;
    let _blocked = SignalsBlocked::new()?;
    loop {
        let clone_flags = flags | prepared.view.flag() | if user { user_flag } else { 0 };
        let result = clone_child(&prepared.child_spec(clone_flags), prepared.cgroup.fd());
        let errno = match result {
            Ok((pid, pidfd)) => return Ok((pid, pidfd, clone_flags)),
            Err(libc::ENOSYS) => return Err(Refusal::KernelUnsupported(
                "This kernel lacks clone3 (Linux 5.3+), which charter needs; upgrade the kernel"
                    .to_string(),
            )
            .into()),
            Err(e) if !host_refused(e) => {
                return Err(Failure::fault(
                    "clone3",
                    e,
                    "Creating the child with clone3 failed",
                ))
            }
            Err(e) => e,
        };
        let reason = format!("clone3 refused it: {}", errno_text(errno));
        // Give up what best_effort allows, namespaces first, then the cgroup. A launcher
        // that can create the other namespaces by itself gives up the user namespace alone
        // first: its pid namespace still takes the child's descendants down with it.
        let drop_user = user && !user_required;
        let alone = drop_user && prepared.can_create_namespaces_alone();
        let drop_flags = flags != 0 && !flags_required && !alone;
        let drop_view = prepared.view.flag() != 0 && !prepared.view.required && !alone;
        if drop_view {
            prepared.give_up_view(errno);
        }
        if drop_flags || drop_user {
            prepared.record_skipped_namespaces(
                drop_user,
                if drop_flags { flags } else { 0 },
                &reason,
            );
            if drop_flags {
                flags = 0;
            }
            if drop_user {
                user = false;
            }
            continue;
        }
        if drop_view {
            continue;
        }
        if prepared.cgroup.placement.is_some() && !prepared.cgroup.required {
            prepared.drop_cgroup(&format!("joining it failed: {reason}"));
            continue;
        }
        let mut wanted = Vec::new();
        if user {
            wanted.push("a user namespace".to_string());
        }
        if flags != 0 {
            wanted.push("new namespaces".to_string());
        }
        if prepared.view.flag() != 0 {
            wanted.push("a mount namespace (the filesystem view)".to_string());
        }
        if prepared.cgroup.placement.is_some() {
            wanted.push("a cgroup".to_string());
        }
        if wanted.is_empty() {
            return Err(Failure::fault(
                "clone3",
                errno,
                "Creating the child with clone3 failed",
            ));
        }
        return Err(Refusal::KernelUnsupported(format!(
            "The plan requires {}, but this host refused to create them for this launcher (clone3: {}); check the host's namespace and cgroup settings, or set the mechanism's enforce to best_effort",
            wanted.join(" and "),
            errno_text(errno)
        ))
        .into());
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

/// Waits for the child's [`Message::Dumpable`], its first message when it has one.
fn expect_dumpable(progress: &OwnedFd) -> Result<(), Stop> {
    match read_message(progress).map_err(Stop::Abort)? {
        Some(Message::Dumpable) => Ok(()),
        Some(Message::Fault { step, errno }) => Err(Stop::ChildFault(Failure::fault(
            step.id(),
            errno,
            &format!("{} failed", step.action()),
        ))),
        None => Err(Stop::ChildFault(Failure::fault(
            "progress",
            0,
            "The child ended during setup without reporting a fault",
        ))),
        Some(_) => Err(Stop::Abort(Failure::fault(
            "progress",
            libc::EPROTO,
            "The child reported its phases out of order",
        ))),
    }
}

/// How following the child ended badly.
enum Stop {
    /// The child reported a fault and exits by itself.
    ChildFault(Failure),
    /// The parent gives up (transcript or protocol failure): the child must be killed.
    Abort(Failure),
}

/// Turns the child's progress into `phase_resolved`, `ready_to_exec` and `exec_succeeded`;
/// releases the child to exec (a byte on `go`) once `ready_to_exec` is durable.
fn follow(
    progress: &OwnedFd,
    go: &OwnedFd,
    phases: &mut PhaseReports,
    view_checked: &[String],
    denials: Option<&Recorder>,
    transcript: &mut Transcript,
) -> Result<(), Stop> {
    let confined = phases
        .fields(4)
        .iter()
        .any(|(k, v)| *k == "details" && v.get("seccomp").is_some());
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
                let what = if confined && next_phase >= 4 {
                    "The child ended during setup without reporting a fault (does the seccomp filter allow write, read, exit_group and execveat?)"
                } else {
                    "The child ended during setup without reporting a fault"
                };
                return Err(Stop::ChildFault(Failure::fault("progress", 0, what)));
            }
            Some(Message::Fault { step, errno }) => {
                let what = match step {
                    Step::Exec if ready => "Executing the target failed".to_string(),
                    _ => format!("{} failed", step.action()),
                };
                return Err(Stop::ChildFault(Failure::fault(step.id(), errno, &what)));
            }
            Some(Message::PathChanged(check)) if !ready => {
                let what = view_checked
                    .get(check as usize)
                    .map_or("path of the filesystem view", String::as_str);
                return Err(Stop::ChildFault(Failure::Refused(Refusal::PathChanged(format!(
                    "The {what} is another file than the one the launcher opened: it was renamed or replaced by a symlink since; restore it or recompile and re-sign the plan"
                )))));
            }
            Some(Message::PhaseDone(phase)) if phase == next_phase && !ready => {
                transcript
                    .record("phase_resolved", &phases.fields(phase))
                    .map_err(Stop::Abort)?;
                next_phase += 1;
            }
            Some(Message::DenialsUnrecorded(errno)) if next_phase == 4 && !ready => {
                let Some(recorder) = denials else {
                    let what = "The child reported unrecorded denials without a recorder";
                    return Err(Stop::Abort(Failure::fault("progress", libc::EPROTO, what)));
                };
                recorder.unrecorded();
                let why = format!(
                    "the child could not start the thread that hands the listener over: {}",
                    errno_text(errno)
                );
                let denials = json!({ "recorded": false, "why": why });
                phases.insert_field(4, "seccomp", "denials", denials);
            }
            Some(Message::ReadyToExec) if next_phase == 6 && !ready => {
                // With its errno returns notified, the target may run only while the
                // launcher holds the listener: without one they would fail with ENOSYS.
                if let Some(recorder) = denials.filter(|r| !r.is_unrecorded()) {
                    if !recorder.await_listener() {
                        let what = "The seccomp listener did not reach the launcher";
                        let step = Step::Seccomp.id();
                        return Err(Stop::Abort(Failure::fault(step, libc::EPROTO, what)));
                    }
                }
                transcript.record_ready_to_exec().map_err(Stop::Abort)?;
                sys::write_all(go.as_raw_fd(), b"1").map_err(|e| {
                    Stop::Abort(Failure::fault(
                        "progress",
                        e,
                        "Releasing the child to exec failed",
                    ))
                })?;
                ready = true;
            }
            Some(_) => {
                let what = "The child reported its phases out of order";
                return Err(Stop::Abort(Failure::fault("progress", libc::EPROTO, what)));
            }
        }
    }
}

/// Creates the child, records `child_created`, writes the user namespace's maps and
/// releases the child, and follows it until its exec succeeded.
pub fn spawn(mut prepared: Prepared, transcript: &mut Transcript) -> Result<Child, SpawnError> {
    // The launcher stays non-dumpable from here on, for good: no child of any launch, at
    // any uid, may ptrace it or open its /proc/PID/{mem,environ} (docs/decisions.md).
    sys::set_dumpable(false)
        .map_err(|e| Failure::fault("dumpable", e, "Making the launcher non-dumpable failed"))?;
    let (pid, pidfd, clone_flags) = create_child(&mut prepared)?;
    let created_mono_ns = mono_ns();
    // The child has its own copies; the parent keeps the read end, the rendezvous write
    // end and the reports.
    let mut parent = prepared.into_parent_side(clone_flags);
    if let Some(supervisor) = parent.learn.take() {
        learn::start(supervisor);
    }
    let own_pid_ns = clone_flags & libc::CLONE_NEWPID as u64 != 0;
    let denials = parent.denials.take().map(|o| o.start(own_pid_ns));
    let user_map = parent.user_map;
    let child = Child {
        pid,
        pidfd,
        created_mono_ns,
        cgroup: parent.cgroup.take(),
        denials,
        landlock_audit: parent.landlock_audit.take(),
    };
    let result = transcript
        .record("child_created", &[("pid", json!(pid))])
        .map_err(Stop::Abort)
        .and_then(|()| match parent.dumpable_for_maps {
            true => expect_dumpable(&parent.progress_read),
            false => Ok(()),
        })
        .and_then(|()| {
            parent.record_namespaces(clone_flags, pid);
            match &user_map {
                Some(map) => identity::write_maps(pid, map),
                None => Ok(()),
            }
            .and_then(|()| match &user_map {
                Some(_) => sys::write_all(parent.go_write.as_raw_fd(), b"1").map_err(|e| {
                    Failure::fault(Step::UserNs.id(), e, "Releasing the child failed")
                }),
                None => Ok(()),
            })
            .map_err(Stop::Abort)
        })
        .and_then(|()| {
            follow(
                &parent.progress_read,
                &parent.go_write,
                &mut parent.reports,
                &parent.view_checked,
                child.denials.as_ref(),
                transcript,
            )
        });
    // The rendezvous pipe stays open until here: its end of file tells a child in a new
    // pid namespace that the parent died before PR_SET_PDEATHSIG took effect.
    drop(parent.go_write);
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
