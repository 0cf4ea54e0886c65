//! Reaping a child through its pidfd and recording how it ended (`child_exited`), and
//! the `denied` records of what the sandbox refused while it ran.

use crate::audit_stream::{self, Denial, Reader};
use crate::mechanism::landlock;
use crate::sys::{self, Errno};
use crate::transcript::{mono_ns, Transcript};
use serde_json::{json, Value};
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

/// Writes the `denied` records, then `child_exited` {code | signal, rusage, durationNs
/// since `created_mono_ns`}. A failed write stays in the transcript's error (reported by
/// release).
pub fn record_exit(
    transcript: &mut Transcript,
    exit: &Exit,
    created_mono_ns: u64,
    denied: &DeniedLog,
) {
    let how = if exit.signal.is_some() {
        "signal"
    } else {
        "code"
    };
    let rusage = json!({ "userUs": exit.user_us, "systemUs": exit.system_us, "maxRssKiB": exit.max_rss_kib });
    let duration = exit.reaped_mono_ns.saturating_sub(created_mono_ns);
    // The error is kept by the transcript and reported when it is released.
    denied.write(transcript);
    let _ = transcript.record(
        "child_exited",
        &[
            (how, json!(exit.value)),
            ("rusage", rusage),
            ("durationNs", json!(duration)),
        ],
    );
}

/// The most distinct Landlock denials a launch itemizes; the others are counted in one
/// record. With seccomp's as many, a launch stays well under the 100 `denied` records
/// transcript verification accepts.
pub const DENIED_DISTINCT_MAX: usize = 32;
/// The longest object (path) a `denied` record quotes, in bytes; longer ones are cut at a
/// character boundary and end in `…`, and characters that would mislead a terminal show as `?` (the records
/// after exec must fit the transcript's reservation, and a terminal shows the summary).
const OBJECT_MAX: usize = 160;

/// The `denied` records of one launch, bounded whatever the child does: the launcher tallies
/// each distinct (mechanism, what, key) while the child runs, at most
/// [`DENIED_DISTINCT_MAX`] of them, and [`DeniedLog::write`] writes one record per
/// distinct denial with its `count` once the child has ended, plus one record counting
/// the rest per mechanism (transcript verification accepts at most 100 `denied` records).
#[derive(Debug, Default, Clone)]
pub struct DeniedLog {
    /// (mechanism, what, key) → count, in the order first seen.
    tally: Vec<((&'static str, String, &'static str), u64)>,
    /// mechanism → denials past the limit.
    not_itemized: Vec<(&'static str, u64)>,
    /// mechanism → records dropped while the child ran.
    lost: Vec<(&'static str, u64)>,
    /// Mechanisms whose source was not read to its end.
    unconfirmed: Vec<&'static str>,
}

impl DeniedLog {
    /// Counts one denial.
    pub fn tally(&mut self, mechanism: &'static str, what: String, key: &'static str) {
        let id = (mechanism, what, key);
        if let Some((_, count)) = self.tally.iter_mut().find(|(seen, _)| *seen == id) {
            *count += 1;
        } else if self.tally.len() < DENIED_DISTINCT_MAX {
            self.tally.push((id, 1));
        } else if let Some((_, count)) = self.not_itemized.iter_mut().find(|(m, _)| *m == mechanism)
        {
            *count += 1;
        } else {
            self.not_itemized.push((mechanism, 1));
        }
    }

    /// Notes that `count` records of `mechanism`'s source were dropped while the child ran
    /// (a full audit backlog or reader buffer): the child's denials may be among them.
    pub fn tally_lost(&mut self, mechanism: &'static str, count: u32) {
        self.lost.push((mechanism, u64::from(count)));
    }

    /// The tallied denials as `[{mechanism, what, key, count}]`, the records' fields (what
    /// `charter_denials` reports for the launcher's summary).
    pub fn summary(&self) -> Value {
        Value::Array(
            self.entries()
                .map(|(mechanism, what, key, count)| {
                    json!({ "mechanism": mechanism, "what": what, "key": key, "count": count })
                })
                .collect(),
        )
    }

    /// Every record's (mechanism, what, key, count): the distinct denials, then the counts
    /// of the rest and of what was dropped.
    fn entries(&self) -> impl Iterator<Item = (&'static str, &str, &'static str, u64)> {
        let itemized = self
            .tally
            .iter()
            .map(|((m, what, key), n)| (*m, what.as_str(), *key, *n));
        let rest = self
            .not_itemized
            .iter()
            .map(|(m, n)| (*m, "denials not itemized (too many distinct ones)", "", *n));
        let lost = self.lost.iter().map(|(m, n)| {
            (*m, "audit records dropped while the child ran (a full audit backlog or reader buffer; denials may be among them)", "", *n)
        });
        let unconfirmed = self.unconfirmed.iter().map(|m| {
            (*m, "audit records possibly unread (the launcher's barrier record did not come back within 250 ms; denials may be missing)", "", 1)
        });
        itemized.chain(rest).chain(lost).chain(unconfirmed)
    }

    /// Notes that `mechanism`'s source was not read to its end: records of the child's last
    /// moments may be missing (the audit barrier did not come back in time).
    pub fn tally_unconfirmed(&mut self, mechanism: &'static str) {
        self.unconfirmed.push(mechanism);
    }

    /// The `denied` records' fields.
    fn records(&self) -> Vec<Vec<(&'static str, Value)>> {
        self.entries()
            .map(|(mechanism, what, key, count)| {
                vec![
                    ("mechanism", json!(mechanism)),
                    ("what", json!(what)),
                    ("key", json!(key)),
                    ("count", json!(count)),
                ]
            })
            .collect()
    }

    /// Writes the `denied` records (call once the child has ended, before `child_exited`).
    /// A failed write stays in the transcript's error.
    pub fn write(&self, transcript: &mut Transcript) {
        for fields in self.records() {
            let _ = transcript.record("denied", &fields);
        }
    }
}

/// Whether a character of a path would move or reorder what a terminal shows rather than
/// show itself: control characters, and the invisible format characters of Unicode
/// (bidirectional overrides and isolates, zero-width ones, line and paragraph separators).
fn misleads_a_terminal(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}')
}

/// Counts one Landlock denial from the audit stream: `what` is the denied rights as the
/// kernel names them and the object (`fs.write_file /work/x`, `net.connect_tcp port 5432`).
fn tally_landlock(log: &mut DeniedLog, denial: Denial) {
    let key = denial
        .blockers
        .first()
        .map_or("", |b| landlock::key_granting(b));
    let mut object: String = denial
        .object
        .chars()
        .map(|c| if misleads_a_terminal(c) { '?' } else { c })
        .collect();
    if object.len() > OBJECT_MAX {
        let mut cut = OBJECT_MAX;
        while !object.is_char_boundary(cut) {
            cut -= 1;
        }
        object.truncate(cut);
        object.push('…');
    }
    let what = format!("{} {}", denial.blockers.join(","), object);
    log.tally("landlock", what, key);
}

/// Waits for the child to exit while following its Landlock denials in the audit stream,
/// then reaps it and reads the denials it caused before it ended (until the reader's
/// barrier record comes back, at most [`audit_stream::DRAIN_TIMEOUT_MS`]).
pub fn reap_following(
    pidfd: RawFd,
    reader: &mut Reader,
    launch_id: &str,
    log: &mut DeniedLog,
) -> Result<Exit, Errno> {
    loop {
        let ready = sys::poll_readable(&[pidfd, reader.fd()], -1)?;
        if ready[1] {
            for denial in reader.read_available().0 {
                tally_landlock(log, denial);
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
        let (denials, barrier_seen) = reader.read_available();
        for denial in denials {
            tally_landlock(log, denial);
        }
        let left_ms = deadline.saturating_sub(mono_ns()) / 1_000_000;
        if barrier_seen || !drained || left_ms == 0 {
            break barrier_seen;
        }
        sys::poll_readable(&[reader.fd()], left_ms as i32)?;
    };
    if !barrier_seen {
        log.tally_unconfirmed("landlock");
    }
    let dropped = reader.dropped_since_open();
    if dropped > 0 {
        log.tally_lost("landlock", dropped);
    }
    Ok(exit)
}

/// The largest `denied` records Landlock can add to a launch: every distinct denial at its
/// longest, the count of the rest and of what was dropped (for the transcript's
/// reservation after the exec).
#[cfg(test)]
pub fn largest_landlock_records() -> Vec<Vec<(&'static str, Value)>> {
    let mut log = DeniedLog::default();
    for i in 0..=DENIED_DISTINCT_MAX {
        let denial = Denial {
            blockers: [
                "fs.write_file",
                "fs.make_reg",
                "fs.remove_file",
                "fs.truncate",
            ]
            .map(str::to_string)
            .to_vec(),
            // A backslash is the longest byte in JSON (`\\`) that is not a control.
            object: format!("/{i}{}", "\\".repeat(4096)),
        };
        tally_landlock(&mut log, denial);
    }
    log.tally_lost("landlock", u32::MAX);
    log.tally_unconfirmed("landlock");
    log.records()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tally_itemizes_distinct_denials_then_counts_the_rest_and_what_may_be_missing() {
        let mut log = DeniedLog::default();
        for i in 0..DENIED_DISTINCT_MAX + 10 {
            for _ in 0..2 {
                log.tally("landlock", format!("fs.read_file /x{i}"), "filesystem.read");
            }
        }
        log.tally_lost("landlock", 7);
        log.tally_unconfirmed("landlock");
        let entries: Vec<_> = log.entries().collect();
        assert_eq!(entries.len(), DENIED_DISTINCT_MAX + 3);
        assert_eq!(
            entries[0],
            ("landlock", "fs.read_file /x0", "filesystem.read", 2)
        );
        let tail: Vec<u64> = entries[DENIED_DISTINCT_MAX..].iter().map(|e| e.3).collect();
        assert_eq!(tail, [20, 7, 1]);
        assert!(entries[DENIED_DISTINCT_MAX + 2]
            .1
            .contains("possibly unread"));
    }

    #[test]
    fn a_denials_object_is_cut_and_its_control_characters_shown_as_question_marks() {
        let mut log = DeniedLog::default();
        let denial = Denial {
            blockers: vec!["fs.write_file".into()],
            object: format!("/a\n\u{1b}[2J{}", "é".repeat(200)),
        };
        tally_landlock(&mut log, denial);
        let (_, what, key, _) = log.entries().next().unwrap();
        assert_eq!(key, "filesystem.write");
        assert!(what.starts_with("fs.write_file /a??[2J"));
        assert!(what.ends_with('…') && what.len() <= "fs.write_file ".len() + OBJECT_MAX + 3);
    }
}
