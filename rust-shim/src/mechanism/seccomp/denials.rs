//! The launcher's side of recording seccomp denials on a normal launch: a thread receives
//! the listener the child's handoff thread sends, answers every notification with what
//! the signed program returns for it (run on the notification's values only: nothing is
//! read from the child's memory), and tallies the denials, bounded whatever the child
//! does. The launch writes them as `denied` records before `child_exited`.

use crate::seccomp_notify::{
    arch_name, errno_of, receive_fd, run_filter, serve, NotifResp, RET_ACTION, RET_ERRNO,
};
use crate::tally::{Tally, DISTINCT_MAX};
use serde_json::{json, Value};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How long the launch waits, once its child was reaped, for the last process holding the
/// filter to go when the child was init of its own pid namespace (the kernel has killed
/// the others by then; this only covers their release).
const SETTLE_PID_NS: Duration = Duration::from_secs(2);

/// One distinct denial.
#[derive(Debug, Clone)]
struct Denial {
    arch: u32,
    nr: i32,
    errno: i32,
    /// The program returned something other than an errno for a call its rewritten form
    /// notified (cannot happen for a checked rewrite; answered with EPERM).
    unexpected: bool,
    /// The arguments of the first occurrence (values; what the filter saw).
    args: [u64; 6],
}

/// Whether the listener reached the launcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listener {
    Pending,
    Held,
    Missing,
}

#[derive(Debug)]
struct Log {
    listener: Listener,
    /// Distinct (arch, syscall, errno), itemized up to [`DISTINCT_MAX`].
    denials: Tally<Denial>,
    /// The child told the launcher it installed the program as it is.
    unrecorded: bool,
    /// No process holds the filter any more.
    done: bool,
}

impl Log {
    fn new() -> Log {
        Log {
            listener: Listener::Pending,
            denials: Tally::default(),
            unrecorded: false,
            done: false,
        }
    }

    fn note(&mut self, arch: u32, nr: i32, errno: i32, unexpected: bool, args: [u64; 6]) {
        self.denials.note(
            |d| d.arch == arch && d.nr == nr && d.errno == errno,
            || Denial {
                arch,
                nr,
                errno,
                unexpected,
                args,
            },
        );
    }
}

type Shared = Arc<(Mutex<Log>, Condvar)>;

fn lock(shared: &Shared) -> MutexGuard<'_, Log> {
    shared.0.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The recorder before the child exists: the launcher's end of the socketpair and the
/// signed program.
#[derive(Debug)]
pub struct Pending {
    parent_end: OwnedFd,
    program: Vec<u8>,
}

impl Pending {
    /// The launcher's end and the signed program (checked by the plan parser).
    pub fn new(parent_end: OwnedFd, program: Vec<u8>) -> Pending {
        Pending {
            parent_end,
            program,
        }
    }

    /// Starts the recorder's thread: it receives the listener, then serves it until no
    /// process holds the filter.
    pub fn start(self, own_pid_ns: bool) -> Recorder {
        let shared: Shared = Arc::new((Mutex::new(Log::new()), Condvar::new()));
        let theirs = Arc::clone(&shared);
        std::thread::spawn(move || {
            let Pending {
                parent_end,
                program,
            } = self;
            let listener = receive_fd(parent_end.as_raw_fd());
            drop(parent_end);
            lock(&theirs).listener = match listener {
                Some(_) => Listener::Held,
                None => Listener::Missing,
            };
            theirs.1.notify_all();
            if let Some(listener) = listener {
                serve(&listener, |notif| {
                    let data = &notif.data;
                    let ret = run_filter(&program, data);
                    let (errno, unexpected) = match ret & RET_ACTION {
                        RET_ERRNO => (errno_of(ret), false),
                        _ => (libc::EPERM, true),
                    };
                    lock(&theirs).note(data.arch, data.nr, errno, unexpected, data.args);
                    NotifResp::error(notif, errno)
                });
            }
            lock(&theirs).done = true;
            theirs.1.notify_all();
        });
        Recorder { shared, own_pid_ns }
    }
}

/// A running recorder, shared by the launch's threads.
#[derive(Debug)]
pub struct Recorder {
    shared: Shared,
    own_pid_ns: bool,
}

impl Recorder {
    /// The child installed the program as it is (its handoff thread could not start):
    /// nothing will be recorded.
    pub fn unrecorded(&self) {
        lock(&self.shared).unrecorded = true;
    }

    /// Whether nothing is recorded for this launch.
    pub fn is_unrecorded(&self) -> bool {
        lock(&self.shared).unrecorded
    }

    /// Blocks until the listener reached the launcher or never will (the child closed
    /// its end: it died, or its handoff failed); true when the launcher holds it. The
    /// child must not exec otherwise: its filter's notifications would fail with ENOSYS.
    pub fn await_listener(&self) -> bool {
        let mut log = lock(&self.shared);
        while log.listener == Listener::Pending {
            log = self
                .shared
                .1
                .wait(log)
                .unwrap_or_else(PoisonError::into_inner);
        }
        log.listener == Listener::Held
    }

    /// Once the child was reaped: waits (bounded) for the recorder to finish when the
    /// child was init of its own pid namespace, whose other processes died with it.
    /// Without one, descendants may outlive the launch: the thread keeps answering them
    /// while the launcher lives, and what they are denied later is not in the transcript.
    pub fn settle(&self) {
        if !self.own_pid_ns {
            return;
        }
        let log = lock(&self.shared);
        // The timeout only bounds the wait; what was recorded is written either way.
        let _ = self
            .shared
            .1
            .wait_timeout_while(log, SETTLE_PID_NS, |l| !l.done && !l.unrecorded);
    }

    /// The `denied` records' fields, in order of first occurrence, and one more for the
    /// denials beyond [`DISTINCT_MAX`] distinct ones.
    pub fn records(&self) -> Vec<Vec<(&'static str, Value)>> {
        let log = lock(&self.shared);
        let mut out: Vec<Vec<(&'static str, Value)>> = log
            .denials
            .items()
            .iter()
            .map(|(d, count)| {
                let arch = arch_name(d.arch);
                let what = match d.unexpected {
                    false => format!("syscall {} ({arch})", d.nr),
                    true => format!(
                        "syscall {} ({arch}), which the program does not fail with an errno",
                        d.nr
                    ),
                };
                vec![
                    ("mechanism", json!("seccomp")),
                    ("what", json!(what)),
                    ("key", json!("syscalls")),
                    ("count", json!(count)),
                    ("arch", json!(arch)),
                    ("nr", json!(d.nr)),
                    ("errno", json!(d.errno)),
                ]
            })
            .collect();
        if log.denials.omitted() > 0 {
            out.push(vec![
                ("mechanism", json!("seccomp")),
                (
                    "what",
                    json!(format!(
                        "syscalls beyond the first {DISTINCT_MAX} distinct denials"
                    )),
                ),
                ("key", json!("syscalls")),
                ("count", json!(log.denials.omitted())),
            ]);
        }
        out
    }

    /// The denials for the launcher's summary: `{recorded, denials: [{arch, nr, errno,
    /// count, args}], omitted}` (arguments as decimal strings: they are 64-bit).
    pub fn summary(&self) -> Value {
        let log = lock(&self.shared);
        let denials: Vec<Value> = log
            .denials
            .items()
            .iter()
            .map(|(d, count)| {
                let args: Vec<String> = d.args.iter().map(u64::to_string).collect();
                json!({
                    "arch": arch_name(d.arch),
                    "nr": d.nr,
                    "errno": d.errno,
                    "count": count,
                    "args": args,
                })
            })
            .collect();
        json!({
            "recorded": !log.unrecorded,
            "denials": denials,
            "omitted": log.denials.omitted(),
        })
    }
}

/// The largest `denied` records a launch can write: every distinct denial at its longest,
/// and the count of the rest (for the transcript's reservation after the exec).
#[cfg(test)]
pub fn largest_records() -> Vec<Vec<(&'static str, Value)>> {
    let mut log = Log::new();
    for i in 0..=DISTINCT_MAX {
        log.note(u32::MAX, i32::MIN + i as i32, 4095, true, [u64::MAX; 6]);
    }
    log.denials.saturate();
    let recorder = Recorder {
        shared: Arc::new((Mutex::new(log), Condvar::new())),
        own_pid_ns: false,
    };
    recorder.records()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_errno_for_the_same_call_is_another_denial() {
        let mut log = Log::new();
        log.note(0xc000_003e, 7, 1, false, [0; 6]);
        log.note(0xc000_003e, 7, 13, false, [0; 6]);
        log.note(0xc000_003e, 7, 1, false, [1; 6]);
        let counts: Vec<(i32, u64)> = log
            .denials
            .items()
            .iter()
            .map(|(d, n)| (d.errno, *n))
            .collect();
        assert_eq!(counts, [(1, 2), (13, 1)]);
    }
}
