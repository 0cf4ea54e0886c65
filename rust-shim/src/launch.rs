//! One launch from envelope bytes to a running child, and the handle that waits for it,
//! signals it and releases it.
//!
//! Order (DESIGN §7): `launcher_started` → verify the signature, parse and check the plan →
//! `plan_verified` → open and hash the target → `handles_verified` → clone3 →
//! `child_created` → `phase_resolved` ×5 → `ready_to_exec` → `exec_succeeded`. A refusal
//! writes `setup_refused` and creates no child; a fault writes `setup_faulted`, and if a
//! child exists it is reaped and `child_exited` follows.

use crate::audit_stream::Reader;
use crate::envelope::{self, Envelope};
use crate::error::{Failure, Refusal};
use crate::mechanism::landlock;
use crate::mechanism::seccomp::Recorder;
use crate::plan;
use crate::prepare::prepare;
use crate::request::{self, Request};
use crate::spawn::{spawn, Child, SpawnError};
use crate::sys::{self, Errno};
use crate::transcript::Transcript;
use crate::version::shim;
use crate::wait::{reap, reap_following, record_exit};
use serde_json::{json, Value};
use std::os::fd::AsRawFd;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A running child and its transcript.
pub struct Launch {
    child: Child,
    launch_id: String,
    transcript: Mutex<Transcript>,
    status: Mutex<Option<i32>>,
    landlock: Mutex<LandlockDenials>,
}

/// Where a launch is with the child's Landlock denials.
enum LandlockDenials {
    /// The audit stream cannot be read here.
    Unobserved,
    /// The reader, until the first waiter takes it.
    Following(Reader),
    /// What the waiter tallied (empty while it waits).
    Tallied(landlock::Denials),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Verifies the plan in `envelope_bytes` as `request_bytes` asks and starts the child.
pub fn launch(envelope_bytes: &[u8], request_bytes: &[u8]) -> Result<Launch, Failure> {
    let request = request::parse(request_bytes)?;
    let envelope = envelope::parse(envelope_bytes);
    let chain_start = envelope.as_ref().map_or(envelope_bytes, Envelope::payload);
    let mut request = request;
    let mut transcript = Transcript::open(
        request.transcript.as_ref(),
        chain_start,
        request.sealer.take(),
    )?;
    let (uid, gid) = sys::ids();
    transcript.record(
        "launcher_started",
        &[
            ("pid", json!(std::process::id())),
            ("uid", json!(uid)),
            ("gid", json!(gid)),
            ("shim", shim()),
        ],
    )?;
    match start(&mut transcript, envelope, request) {
        Ok(mut child) => Ok(Launch {
            launch_id: transcript.launch_id().to_string(),
            landlock: Mutex::new(match child.landlock_audit.take() {
                Some(opened) => LandlockDenials::Following(Reader::new(opened, child.pid as u32)),
                None => LandlockDenials::Unobserved,
            }),
            child,
            transcript: Mutex::new(transcript),
            status: Mutex::new(None),
        }),
        Err(SpawnError { failure, child }) => {
            // If the transcript itself failed, these records fail too; the launch's
            // failure is what gets reported.
            let _ = match &failure {
                Failure::Refused(r) => transcript.record(
                    "setup_refused",
                    &[("reason", json!(r.code())), ("detail", json!(r.detail()))],
                ),
                Failure::Faulted { fault, detail } => transcript.record(
                    "setup_faulted",
                    &[
                        ("step", json!(fault.step)),
                        ("errno", json!(fault.errno)),
                        ("detail", json!(detail)),
                    ],
                ),
            };
            if let Some(child) = child {
                if let Ok(exit) = reap(child.pidfd.as_raw_fd()) {
                    record_exit(&mut transcript, &exit, child.created_mono_ns);
                }
                child.remove_cgroup();
            }
            let _ = transcript.seal();
            let _ = transcript.finish();
            Err(failure)
        }
    }
}

fn start(
    transcript: &mut Transcript,
    envelope: Result<Envelope, Refusal>,
    request: Request,
) -> Result<Child, SpawnError> {
    let verified = envelope?.verify(&request.trusted_keys)?;
    let plan = plan::parse(&verified.payload, sys::clock_ns(libc::CLOCK_REALTIME))?;
    plan.check_extra_args(&request.extra_args)?;
    transcript.record(
        "plan_verified",
        &[
            (
                "planSha256",
                json!(crate::digest::sha256_hex(&verified.payload)),
            ),
            ("keyid", json!(verified.keyid)),
        ],
    )?;
    let launch_id = transcript.launch_id().to_string();
    let prepared = prepare(
        &plan,
        request.extra_args,
        transcript.fd(),
        &launch_id,
        request.learn_records.as_deref(),
    )?;
    let mut handles = vec![
        ("exe", json!(plan.exe)),
        ("exeSha256", json!(prepared.exe_sha256)),
    ];
    handles.extend(prepared.handles.iter().cloned());
    transcript.record("handles_verified", &handles)?;
    spawn(prepared, transcript)
}

impl Launch {
    /// The outcome JSON of a successful `charter_launch`.
    pub fn outcome(&self) -> Value {
        json!({ "outcome": "running", "pid": self.child.pid, "launchId": self.launch_id })
    }

    /// Waits for the child to exit, writes `child_exited`, and returns its status in shell
    /// form. Later calls return the same status. Blocks only this launch's waiters.
    pub fn wait(&self) -> Result<i32, Errno> {
        let mut status = lock(&self.status);
        if let Some(s) = *status {
            return Ok(s);
        }
        let pidfd = self.child.pidfd.as_raw_fd();
        let following = {
            let mut landlock = lock(&self.landlock);
            match std::mem::replace(&mut *landlock, LandlockDenials::Unobserved) {
                LandlockDenials::Following(reader) => {
                    *landlock = LandlockDenials::Tallied(landlock::Denials::default());
                    Some(reader)
                }
                other => {
                    *landlock = other;
                    None
                }
            }
        };
        let (exit, landlock_denials) = match following {
            Some(mut reader) => {
                let mut denials = landlock::Denials::default();
                let exit = reap_following(pidfd, &mut reader, &self.launch_id, &mut denials)?;
                (exit, Some(denials))
            }
            None => (reap(pidfd)?, None),
        };
        self.child.remove_cgroup();
        if let Some(recorder) = &self.child.denials {
            recorder.settle();
        }
        let mut transcript = lock(&self.transcript);
        let seccomp = self.child.denials.iter().flat_map(Recorder::records);
        for fields in seccomp.chain(landlock_denials.iter().flat_map(landlock::Denials::records)) {
            // A failed write stays in the transcript's error, reported by release.
            let _ = transcript.record("denied", &fields);
        }
        record_exit(&mut transcript, &exit, self.child.created_mono_ns);
        if let Some(denials) = landlock_denials {
            *lock(&self.landlock) = LandlockDenials::Tallied(denials);
        }
        // A failed write stays in the transcript's error, reported by release.
        let _ = transcript.seal();
        *status = Some(exit.status);
        Ok(exit.status)
    }

    /// The denials recorded: the seccomp recorder's so far (`Recorder::summary`; with
    /// `recorded: false` and none when there is no recorder) and, in `landlock`, those the
    /// audit stream showed (`landlock::Denials::summary`, complete once the child was
    /// reaped; null when not observed). Null when this launch records neither.
    pub fn denials(&self) -> Value {
        let landlock = match &*lock(&self.landlock) {
            LandlockDenials::Unobserved => Value::Null,
            LandlockDenials::Following(_) => json!([]),
            LandlockDenials::Tallied(denials) => denials.summary(),
        };
        let mut report = match &self.child.denials {
            Some(recorder) => recorder.summary(),
            None if landlock.is_null() => return Value::Null,
            None => json!({ "recorded": false, "denials": [], "omitted": 0 }),
        };
        report["landlock"] = landlock;
        report
    }

    /// Sends `sig` through the pidfd (`ESRCH` once the child was reaped).
    pub fn signal(&self, sig: i32) -> Result<(), Errno> {
        sys::pidfd_send_signal(self.child.pidfd.as_raw_fd(), sig)
    }

    /// Ends the transcript (fsync and close for a file). Reports the first write or sync
    /// failure of the transcript. The pidfd closes when the last user of the launch is
    /// done with it.
    pub fn release(&self) -> Result<(), Errno> {
        lock(&self.transcript).finish()
    }
}
