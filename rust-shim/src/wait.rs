//! Reaping a child through its pidfd and recording how it ended (`child_exited`), and
//! following its Landlock denials in the audit stream meanwhile.

use crate::audit_stream::{self, Reader};
use crate::mechanism::landlock;
use crate::sys::{self, Errno};
use crate::transcript::{mono_ns, Transcript};
use serde_json::json;
use std::os::fd::RawFd;

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// Shell form: the exit code, or 128 + the signal that killed it.
    pub status: i32,
    /// `Some(signal)` when a signal killed it, `None` when it exited.
    pub signal: Option<i32>,
    /// The exit code or signal number as the kernel reported it.
    pub value: i32,
    /// User CPU time, microseconds.
    pub user_us: i64,
    /// System CPU time, microseconds.
    pub system_us: i64,
    /// Peak resident set size, KiB.
    pub max_rss_kib: i64,
    /// CLOCK_MONOTONIC when it was reaped.
    pub reaped_mono_ns: u64,
}

fn micros(tv: libc::timeval) -> i64 {
    tv.tv_sec * 1_000_000 + tv.tv_usec
}

/// Blocks until the child exits and reaps it: `waitid(P_PIDFD, pidfd, …, WEXITED, &rusage)`.
pub fn reap(pidfd: RawFd) -> Result<Exit, Errno> {
    let (info, usage) = sys::wait_pidfd(pidfd)?;
    let reaped_mono_ns = mono_ns();
    // SAFETY: waitid(WEXITED) succeeded, so the kernel filled the SIGCHLD fields of info.
    let value = unsafe { info.si_status() };
    let signal = match info.si_code {
        libc::CLD_KILLED | libc::CLD_DUMPED => Some(value),
        _ => None,
    };
    Ok(Exit {
        status: if signal.is_some() { 128 + value } else { value },
        signal,
        value,
        user_us: micros(usage.ru_utime),
        system_us: micros(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss,
        reaped_mono_ns,
    })
}

/// Writes `child_exited` {code | signal, rusage, durationNs since `created_mono_ns`}. A
/// failed write stays in the transcript's error (reported by release).
pub fn record_exit(transcript: &mut Transcript, exit: &Exit, created_mono_ns: u64) {
    let how = if exit.signal.is_some() {
        "signal"
    } else {
        "code"
    };
    let rusage = json!({ "userUs": exit.user_us, "systemUs": exit.system_us, "maxRssKiB": exit.max_rss_kib });
    let duration = exit.reaped_mono_ns.saturating_sub(created_mono_ns);
    // The error is kept by the transcript and reported when it is released.
    let _ = transcript.record(
        "child_exited",
        &[
            (how, json!(exit.value)),
            ("rusage", rusage),
            ("durationNs", json!(duration)),
        ],
    );
}

/// Waits for the child to exit while following its Landlock denials in the audit stream,
/// then reaps it and reads the denials it caused before it ended (until the reader's
/// barrier record comes back, at most [`audit_stream::DRAIN_TIMEOUT_MS`]).
pub fn reap_following(
    pidfd: RawFd,
    reader: &mut Reader,
    launch_id: &str,
    denials: &mut landlock::Denials,
) -> Result<Exit, Errno> {
    loop {
        let ready = sys::poll_readable(&[pidfd, reader.fd()], -1)?;
        if ready[1] {
            for denial in reader.read_available().0 {
                denials.note(denial);
            }
        }
        if ready[0] {
            break;
        }
    }
    let exit = reap(pidfd)?;
    let drained = reader.send_barrier(launch_id);
    let deadline = mono_ns() + audit_stream::DRAIN_TIMEOUT_MS as u64 * 1_000_000;
    let barrier_seen = loop {
        let (read, barrier_seen) = reader.read_available();
        for denial in read {
            denials.note(denial);
        }
        let left_ms = deadline.saturating_sub(mono_ns()) / 1_000_000;
        if barrier_seen || !drained || left_ms == 0 {
            break barrier_seen;
        }
        sys::poll_readable(&[reader.fd()], left_ms as i32)?;
    };
    if !barrier_seen {
        denials.unconfirmed();
    }
    denials.dropped(reader.dropped_since_open());
    Ok(exit)
}
