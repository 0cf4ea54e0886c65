//! Transcript records sent to a local log daemon, one datagram per record and never split:
//! RFC 5424 syslog over a Unix datagram socket (`/dev/log`), or the systemd journal's
//! native protocol (`/run/systemd/journal/socket`). A record that does not fit the limit
//! is an error (EMSGSIZE) like a failed write: a receiver that truncated it would break
//! the chain, so the launch stops instead (before the exec: the target never runs).

use crate::sys::{self, Errno};
use serde::Deserialize;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The framing a log daemon expects.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// RFC 5424 over a Unix datagram socket.
    Syslog,
    /// The systemd journal's native protocol (`FIELD=value` lines).
    Journald,
}

/// syslog facility authpriv (10): security records, readable by root only on most systems.
const FACILITY_AUTHPRIV: u32 = 10;

impl Protocol {
    /// The largest message sent unless the launcher says otherwise: rsyslog's default
    /// `$MaxMessageSize` (it truncates longer ones), and for the journal, which keeps a
    /// datagram whole, what fits the default socket buffer with room to spare.
    fn default_max_bytes(self) -> usize {
        match self {
            Protocol::Syslog => 8192,
            Protocol::Journald => 128 * 1024,
        }
    }
}

/// A connected Unix datagram socket and how to frame records for it.
pub struct SocketSink {
    fd: OwnedFd,
    protocol: Protocol,
    max_bytes: usize,
    hostname: String,
    pid: u32,
}

fn hostname() -> String {
    // SAFETY: utsname is plain data; uname fills it and takes no other pointer.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uts is a valid, writable utsname for the whole call.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return "-".into();
    }
    let bytes: Vec<u8> = uts
        .nodename
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    // RFC 5424 HOSTNAME is 1*255 PRINTUSASCII; anything else is "-" (NILVALUE).
    match String::from_utf8(bytes) {
        Ok(h) if !h.is_empty() && h.len() <= 255 && h.bytes().all(|b| (33..=126).contains(&b)) => h,
        _ => "-".into(),
    }
}

impl SocketSink {
    /// Connects a close-on-exec Unix datagram socket to `path`.
    pub fn connect(
        path: &str,
        protocol: Protocol,
        max_bytes: Option<usize>,
    ) -> Result<SocketSink, Errno> {
        let mut addr: libc::sockaddr_un = {
            // SAFETY: sockaddr_un is plain data; all zeroes is a valid value.
            unsafe { std::mem::zeroed() }
        };
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let bytes = path.as_bytes();
        if bytes.is_empty() || bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
            return Err(libc::ENAMETOOLONG);
        }
        for (dst, &src) in addr.sun_path.iter_mut().zip(bytes) {
            *dst = src as libc::c_char;
        }
        // SAFETY: socket takes no pointers.
        let raw = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(sys::errno());
        }
        // SAFETY: raw is a socket fd just returned to us and owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        // SAFETY: addr is a valid sockaddr_un of `len` bytes for the whole call.
        if unsafe {
            libc::connect(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_un).cast(),
                len,
            )
        } != 0
        {
            return Err(sys::errno());
        }
        Ok(SocketSink {
            fd,
            protocol,
            max_bytes: max_bytes.unwrap_or(protocol.default_max_bytes()),
            hostname: hostname(),
            pid: std::process::id(),
        })
    }

    /// The socket's fd (the child must never keep it).
    pub fn fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// Frames one record (its line without the LF) for the daemon.
    pub fn frame(
        &self,
        line: &[u8],
        event: &str,
        time: &str,
        launch_id: &str,
        seq: u64,
    ) -> Vec<u8> {
        let severity = if matches!(event, "setup_refused" | "setup_faulted") {
            4
        } else {
            6
        };
        match self.protocol {
            Protocol::Syslog => {
                let pri = FACILITY_AUTHPRIV * 8 + severity;
                let mut out = format!(
                    "<{pri}>1 {time} {} charter {} {event} - ",
                    self.hostname, self.pid
                )
                .into_bytes();
                out.extend_from_slice(line);
                out
            }
            Protocol::Journald => {
                let mut out = format!(
                    "PRIORITY={severity}\nSYSLOG_FACILITY={FACILITY_AUTHPRIV}\nSYSLOG_IDENTIFIER=charter\nSYSLOG_PID={}\nCHARTER_LAUNCH_ID={launch_id}\nCHARTER_SEQ={seq}\nCHARTER_EVENT={event}\nMESSAGE=",
                    self.pid
                )
                .into_bytes();
                // A JSON line holds no LF, so the simple FIELD=value form carries it whole.
                out.extend_from_slice(line);
                out.push(b'\n');
                out
            }
        }
    }

    /// Sends one framed record as one datagram, whole or not at all.
    pub fn send(&self, framed: &[u8]) -> Result<(), Errno> {
        if framed.len() > self.max_bytes {
            return Err(libc::EMSGSIZE);
        }
        loop {
            // SAFETY: framed is a valid readable region of framed.len() bytes for the call.
            let n =
                unsafe { libc::send(self.fd.as_raw_fd(), framed.as_ptr().cast(), framed.len(), 0) };
            if n >= 0 {
                // A datagram is sent whole or fails.
                return Ok(());
            }
            match sys::errno() {
                libc::EINTR => continue,
                e => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn one_datagram_per_record_and_oversized_records_refused() {
        let dir = std::env::temp_dir().join(format!("charter-sock-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let rx = UnixDatagram::bind(&dir).unwrap();
        let path = dir.to_str().unwrap();
        let sink = SocketSink::connect(path, Protocol::Syslog, Some(200)).unwrap();
        let framed = sink.frame(
            br#"{"a":1}"#,
            "child_created",
            "2026-01-01T00:00:00Z",
            "ab",
            3,
        );
        sink.send(&framed).unwrap();
        let mut buf = [0u8; 512];
        let n = rx.recv(&mut buf).unwrap();
        let got = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(got.starts_with("<86>1 2026-01-01T00:00:00Z "), "{got}");
        assert!(got.ends_with(r#" child_created - {"a":1}"#), "{got}");
        assert_eq!(sink.send(&[b'x'; 201]), Err(libc::EMSGSIZE));
        let journal = SocketSink::connect(path, Protocol::Journald, None).unwrap();
        journal
            .send(&journal.frame(b"{}", "setup_refused", "t", "ab", 1))
            .unwrap();
        let n = rx.recv(&mut buf).unwrap();
        let got = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(
            got.starts_with("PRIORITY=4\n") && got.ends_with("\nMESSAGE={}\n"),
            "{got}"
        );
        assert!(got.contains("\nCHARTER_SEQ=1\n"), "{got}");
        let _ = std::fs::remove_file(&dir);
    }
}
