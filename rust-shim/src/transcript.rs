//! The hash-chained transcript (DESIGN §7): one JSON object per line, sorted keys, each
//! record's `prev` the SHA-256 of the previous line. Only the parent writes it.

use crate::digest::{sha256_hex, to_hex, Hasher};
use crate::error::{Failure, Refusal};
use crate::request::Destination;
use crate::rfc3339;
use crate::seal::{SealFacts, Sealer};
use crate::sys::{self, Errno};
use crate::transcript_file::{self, Slot, Stage};
use crate::transcript_socket::SocketSink;
use serde_json::{Map, Value};
use std::fs::File;
use std::os::fd::AsRawFd;

/// The fault step of a transcript that cannot be written.
pub const STEP: &str = "transcript";

enum Sink {
    /// A file the shim opened (fsynced and closed on [`Transcript::finish`]).
    File(File),
    /// The launcher's fd, never closed by the shim.
    Fd(i32),
    /// A log daemon's socket the shim connected: one datagram per record.
    Socket(SocketSink),
    /// No destination: the chain is computed and the records dropped.
    Nowhere,
    /// After [`Transcript::finish`].
    Closed,
}

impl Sink {
    fn fd(&self) -> Option<i32> {
        match self {
            Sink::File(f) => Some(f.as_raw_fd()),
            Sink::Fd(fd) => Some(*fd),
            Sink::Socket(s) => Some(s.fd()),
            Sink::Nowhere | Sink::Closed => None,
        }
    }
}

/// A transcript being written.
pub struct Transcript {
    launch_id: String,
    seq: u64,
    prev: String,
    sink: Sink,
    error: Option<Errno>,
    /// sha256 of the plan payload: record 0's `prev`, and what a seal names.
    plan_sha256: String,
    /// Every byte of every line so far, LFs included (a seal's subject).
    written: Hasher,
    /// The last outcome-bearing record (child_exited, setup_refused, setup_faulted).
    outcome: Value,
    sealer: Option<Sealer>,
    /// The destination is a regular file: records are appended with reserved room
    /// ([`transcript_file::append`]) and fsync must succeed.
    regular: bool,
    /// Held from `ready_to_exec` on in a regular file: the room the records after the
    /// exec need.
    slot: Option<Slot>,
}

fn unopenable(path: &str, errno: Errno) -> Refusal {
    let why = match errno {
        libc::ENXIO => "it is a FIFO that no process is reading (charter does not wait for a reader); start the reader first, e.g. `cat FIFO > file &`".to_string(),
        libc::ELOOP => "a component of the path is a symbolic link, which charter never follows for a transcript (a planted link could redirect the launcher's writes); give the path without links".to_string(),
        e => format!("{}; check the path and its directory's permissions", std::io::Error::from_raw_os_error(e)),
    };
    Refusal::HandleUnavailable(format!(
        "The transcript file {path} cannot be opened for appending: {why}"
    ))
}

/// Opens a transcript path: the launcher's own fd for `/dev/fd/N` and the like, else the
/// file without following links, refused when it has other names (a hard link could make
/// the launcher append to a file it was never meant to touch).
fn open_path(path: &str) -> Result<Sink, Failure> {
    if let Some(fd) = transcript_file::launcher_fd_path(path) {
        return open_fd(fd);
    }
    let file = transcript_file::open_append(path).map_err(|e| unopenable(path, e))?;
    let st = transcript_file::stat(file.as_raw_fd()).map_err(|e| unopenable(path, e))?;
    if st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_nlink > 1 {
        return Err(Refusal::HandleUnavailable(format!(
            "The transcript file {path} has {} hard links; charter appends only to a file with one name (a planted link could make the launcher append to another file): remove the other names or choose a new file",
            st.st_nlink
        ))
        .into());
    }
    Ok(Sink::File(file))
}

fn open_fd(fd: i32) -> Result<Sink, Failure> {
    let writable = sys::file_status_flags(fd).map(|fl| fl & libc::O_ACCMODE != libc::O_RDONLY);
    if fd < 0 || writable != Ok(true) {
        return Err(Refusal::HandleUnavailable(format!(
            "The transcript fd {fd} is not an open, writable fd of the launcher"
        ))
        .into());
    }
    Ok(Sink::Fd(fd))
}

/// Flushes `fd` to stable storage. Only a regular file must succeed: devices, FIFOs and
/// pipes have no storage to flush (EINVAL, EOPNOTSUPP), and that is no failure.
fn sync(fd: i32, regular: bool) -> Result<(), Errno> {
    match sys::fsync(fd) {
        Err(libc::EINVAL | libc::EOPNOTSUPP) if !regular => Ok(()),
        other => other,
    }
}

/// Nanoseconds on CLOCK_MONOTONIC.
pub fn mono_ns() -> u64 {
    u64::try_from(sys::clock_ns(libc::CLOCK_MONOTONIC)).unwrap_or(0)
}

impl Transcript {
    /// Opens the destination and starts a chain whose record 0 has
    /// `prev = sha256(chain_start)` (the plan payload, or the envelope bytes when no
    /// payload could be decoded).
    pub fn open(
        dest: Option<&Destination>,
        chain_start: &[u8],
        sealer: Option<Sealer>,
    ) -> Result<Transcript, Failure> {
        let sink = match dest {
            None => Sink::Nowhere,
            Some(Destination::Path { path }) => open_path(path)?,
            Some(&Destination::Fd { fd }) => open_fd(fd)?,
            Some(Destination::Socket {
                socket,
                protocol,
                max_bytes,
            }) => Sink::Socket(SocketSink::connect(socket, *protocol, *max_bytes).map_err(
                |e| {
                    Refusal::HandleUnavailable(format!(
                        "The transcript socket {socket} cannot be connected: {}; is the log daemon running?",
                        std::io::Error::from_raw_os_error(e)
                    ))
                },
            )?),
        };
        let regular = match sink.fd() {
            Some(fd) => transcript_file::is_regular(fd).map_err(|e| {
                Failure::fault(STEP, e, "Reading the transcript destination's type failed")
            })?,
            None => false,
        };
        let mut id = [0u8; 16];
        sys::getrandom(&mut id).map_err(|e| {
            Failure::fault(STEP, e, "Reading random bytes for the launch id failed")
        })?;
        let plan_sha256 = sha256_hex(chain_start);
        Ok(Transcript {
            launch_id: to_hex(&id),
            seq: 0,
            prev: plan_sha256.clone(),
            sink,
            error: None,
            plan_sha256,
            written: Hasher::start(),
            outcome: Value::Null,
            sealer,
            regular,
            slot: None,
        })
    }

    /// The launch id (128-bit random, hex).
    pub fn launch_id(&self) -> &str {
        &self.launch_id
    }

    /// The fd the records go to, if any (the child must never be able to keep it).
    pub fn fd(&self) -> Option<i32> {
        self.sink.fd()
    }

    /// Appends one record with the common fields and `fields`. After a failed write the
    /// transcript is broken: this and every later record fail with the first errno.
    pub fn record(&mut self, event: &str, fields: &[(&str, Value)]) -> Result<(), Failure> {
        let stage = match self.slot {
            Some(_) => Stage::AfterExec,
            None => Stage::BeforeExec,
        };
        self.record_at(
            event,
            fields,
            sys::clock_ns(libc::CLOCK_REALTIME),
            mono_ns(),
            stage,
        )
    }

    /// Writes `ready_to_exec` and makes every record so far durable; in a regular file it
    /// also reserves the room the records after the exec need. Only after this succeeded
    /// may the child exec: from then on its transcript can always be finished.
    pub fn record_ready_to_exec(&mut self) -> Result<(), Failure> {
        let fd = self.sink.fd();
        if let (Some(fd), true) = (fd, self.regular) {
            let slot = transcript_file::Slot::claim(fd).map_err(|errno| self.fail(errno))?;
            self.slot = Some(slot);
        }
        let stamped = (sys::clock_ns(libc::CLOCK_REALTIME), mono_ns());
        let written = self.record_at("ready_to_exec", &[], stamped.0, stamped.1, Stage::Releasing);
        let synced = written.and_then(|()| match fd {
            Some(fd) => sync(fd, self.regular).map_err(|errno| self.fail(errno)),
            None => Ok(()),
        });
        if synced.is_err() {
            self.slot = None;
        }
        synced
    }

    /// Marks the transcript broken with `errno` (every later record fails with it).
    fn fail(&mut self, errno: Errno) -> Failure {
        self.error.get_or_insert(errno);
        Failure::fault(STEP, errno, "Writing the transcript failed")
    }

    /// Writes one record stamped with the given clocks (a seal signs its own stamps).
    fn record_at(
        &mut self,
        event: &str,
        fields: &[(&str, Value)],
        realtime_ns: i128,
        mono: u64,
        stage: Stage,
    ) -> Result<(), Failure> {
        let failed = |errno| Failure::fault(STEP, errno, "Writing the transcript failed");
        if let Some(errno) = self.error {
            return Err(failed(errno));
        }
        let mut map: Map<String, Value> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        map.insert("v".into(), 1.into());
        map.insert("launchId".into(), self.launch_id.clone().into());
        map.insert("seq".into(), self.seq.into());
        let time = rfc3339::format_micros(realtime_ns);
        map.insert("time".into(), time.clone().into());
        map.insert("monoNs".into(), mono.into());
        map.insert("event".into(), event.into());
        map.insert("prev".into(), self.prev.clone().into());
        if matches!(event, "child_exited" | "setup_refused" | "setup_faulted") {
            let mut outcome = Map::new();
            outcome.insert("event".into(), event.into());
            for key in ["code", "signal", "reason", "step", "errno"] {
                if let Some(value) = map.get(key) {
                    outcome.insert(key.into(), value.clone());
                }
            }
            self.outcome = Value::Object(outcome);
        }
        let mut line = serde_json::to_vec(&Value::Object(map)).map_err(|_| failed(libc::EINVAL))?;
        self.prev = sha256_hex(&line);
        self.seq += 1;
        line.push(b'\n');
        self.written.update(&line);
        let written = match (&self.sink, self.sink.fd()) {
            (Sink::Socket(s), _) => {
                let body = &line[..line.len() - 1];
                s.send(&s.frame(body, event, &time, &self.launch_id, self.seq - 1))
            }
            (_, Some(fd)) if self.regular => transcript_file::append(fd, &line, stage),
            (_, Some(fd)) => sys::write_all(fd, &line),
            (Sink::Closed, None) => Err(libc::EBADF),
            (_, None) => Ok(()),
        };
        written.map_err(|errno| self.fail(errno))
    }

    /// Ends the transcript: a file is fsynced and closed, a launcher fd is left open.
    /// Reports the first write or sync failure of the whole transcript.
    /// Appends `transcript_sealed` when the launcher gave a seal key: a signed statement
    /// of everything written so far. Call it once, after the launch's last record.
    pub fn seal(&mut self) -> Result<(), Failure> {
        let Some(sealer) = &self.sealer else {
            return Ok(());
        };
        let (realtime_ns, mono) = (sys::clock_ns(libc::CLOCK_REALTIME), mono_ns());
        let envelope = sealer.seal(&SealFacts {
            sealed_time: &rfc3339::format_micros(realtime_ns),
            sealed_mono_ns: mono,
            launch_id: &self.launch_id,
            plan_sha256: &self.plan_sha256,
            records: self.seq,
            head: &self.prev,
            transcript_sha256: &self.written.current_hex(),
            outcome: self.outcome.clone(),
        });
        let stage = match self.slot {
            Some(_) => Stage::AfterExec,
            None => Stage::BeforeExec,
        };
        self.record_at(
            "transcript_sealed",
            &[("seal", envelope)],
            realtime_ns,
            mono,
            stage,
        )
    }

    pub fn finish(&mut self) -> Result<(), Errno> {
        if let Some(fd) = self.sink.fd() {
            if let Err(errno) = sync(fd, self.regular) {
                self.error.get_or_insert(errno);
            }
        }
        // The slot's lock goes before a file the shim opened is closed.
        self.slot = None;
        if let (Some(fd), true) = (self.sink.fd(), self.regular) {
            transcript_file::trim(fd);
        }
        self.sink = Sink::Closed;
        self.error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_chain_and_sort_keys() {
        let path =
            std::env::temp_dir().join(format!("charter-transcript-{}.jsonl", std::process::id()));
        let dest = Destination::Path {
            path: path.to_str().unwrap().into(),
        };
        let mut t = Transcript::open(Some(&dest), b"payload", None).unwrap();
        t.record("launcher_started", &[("pid", json!(1))]).unwrap();
        t.record("ready_to_exec", &[]).unwrap();
        t.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].starts_with(r#"{"event":"launcher_started","launchId":""#),
            "{}",
            lines[0]
        );
        let first: Value = serde_json::from_str(lines[0]).unwrap();
        let second: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(first["prev"], sha256_hex(b"payload"));
        assert_eq!(second["prev"], sha256_hex(lines[0].as_bytes()));
        assert_eq!(
            (first["seq"].as_u64(), second["seq"].as_u64()),
            (Some(0), Some(1))
        );
        assert_eq!(first["launchId"].as_str().unwrap().len(), 32);
        assert_eq!(first["launchId"], second["launchId"]);
        assert!(
            t.record("late", &[]).is_err(),
            "a finished transcript takes no records"
        );
    }

    fn temp_path(name: &str) -> String {
        std::env::temp_dir()
            .join(format!("charter-{name}-{}.jsonl", std::process::id()))
            .to_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_records_after_exec_fit_the_reservation_at_their_largest() {
        use ring::rand::SystemRandom;
        use ring::signature::Ed25519KeyPair;
        let path = temp_path("reserve");
        let der = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let sealer = Sealer::from_pkcs8(der.as_ref()).unwrap();
        let dest = Destination::Path { path: path.clone() };
        let mut t = Transcript::open(Some(&dest), b"payload", Some(sealer)).unwrap();
        // Many records before: only their count and head reach the seal.
        for _ in 0..1000 {
            t.record("phase_resolved", &[("phase", json!(1))]).unwrap();
        }
        t.record_ready_to_exec().unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        t.record("exec_succeeded", &[]).unwrap();
        let seccomp = crate::mechanism::seccomp::largest_records();
        for fields in seccomp
            .into_iter()
            .chain(crate::mechanism::landlock::largest_records())
        {
            t.record("denied", &fields).unwrap();
        }
        let max = json!(u64::MAX);
        t.record(
            "child_exited",
            &[
                ("signal", json!(i32::MIN)),
                (
                    "rusage",
                    json!({ "userUs": i64::MIN, "systemUs": i64::MIN, "maxRssKiB": i64::MIN }),
                ),
                ("durationNs", max),
            ],
        )
        .unwrap();
        t.seal().unwrap();
        t.finish().unwrap();
        let after = std::fs::metadata(&path).unwrap().len();
        std::fs::remove_file(&path).unwrap();
        assert!(
            after - before < transcript_file::POST_EXEC_RESERVE / 2,
            "{} bytes after exec",
            after - before
        );
    }

    #[test]
    fn refuses_fds_that_cannot_take_records() {
        let bad = Transcript::open(Some(&Destination::Fd { fd: 1_000_000 }), b"", None);
        assert!(matches!(
            bad,
            Err(Failure::Refused(Refusal::HandleUnavailable(_)))
        ));
    }
}
