//! Landlock's denial records, read from the kernel audit stream.
//!
//! Landlock ABI 7 logs each denial of a domain to audit (`AUDIT_LANDLOCK_ACCESS`, with the
//! domain's `AUDIT_LANDLOCK_DOMAIN` "allocated" record in the same event the first time),
//! and `LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON` keeps logging after the target's exec.
//! The kernel emits nothing while audit is off, and reading the stream (the
//! `AUDIT_NLGRP_READLOG` multicast group) needs `CAP_AUDIT_READ`; [`open`] says which of
//! these stands in the way. The launcher opens the reader before clone3, so no record is
//! missed, and learns the child's domain id from the "allocated" record that names the
//! child's pid (the task that called `landlock_restrict_self`). Only kernel-made records
//! count (sender port 0, the two Landlock record types): a process can write user records to
//! audit, never these. Strings the child controls (paths, names) are quoted or hex-encoded
//! by the kernel, so they cannot forge a field.
//!
//! Records reach the group asynchronously (kauditd), so once the child is reaped the reader
//! writes one `AUDIT_USER` record of its own and reads until that record comes back: the
//! audit queue is first in, first out, so every denial the child caused before it ended has
//! been read by then (bounded by [`DRAIN_TIMEOUT_MS`]).

use crate::digest::from_hex;
use crate::sys::Errno;
use std::collections::VecDeque;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// `NETLINK_AUDIT`.
const NETLINK_AUDIT: libc::c_int = 9;
/// `AUDIT_NLGRP_READLOG`: the read-only multicast group (bit 0 of `nl_groups`).
const NLGRP_READLOG: u32 = 1;
/// `AUDIT_GET`.
const AUDIT_GET: u16 = 1000;
/// `AUDIT_USER`: a userspace message, used as the drain barrier.
const AUDIT_USER: u16 = 1005;
/// `AUDIT_LANDLOCK_ACCESS`.
const LANDLOCK_ACCESS: u16 = 1423;
/// `AUDIT_LANDLOCK_DOMAIN`.
const LANDLOCK_DOMAIN: u16 = 1424;
/// `NLMSG_ERROR`.
const NLMSG_ERROR: u16 = 2;
/// `NLM_F_REQUEST`.
const NLM_F_REQUEST: u16 = 1;
/// Length of `struct nlmsghdr`.
const NLMSG_HDRLEN: usize = 16;
/// The longest the launcher waits for its barrier record after the child ended.
pub const DRAIN_TIMEOUT_MS: i32 = 250;
/// The reader socket's receive buffer.
const RCVBUF_BYTES: libc::c_int = 8 << 20;
/// Access records kept while the child's domain id is not known yet.
const PENDING_MAX: usize = 64;

/// Why Landlock's denials cannot be read on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unobservable {
    /// Audit is off (`AUDIT_GET`: enabled 0): the kernel logs nothing.
    AuditOff,
    /// The launcher may not ask audit's state or join the read group (no
    /// `CAP_AUDIT_CONTROL`/`CAP_AUDIT_READ` in the initial namespaces): the errno.
    NotPermitted(Errno),
    /// Another failure talking to audit: the errno.
    Failed(Errno),
}

impl Unobservable {
    /// The reason as recorded in the Landlock phase details.
    pub fn reason(&self) -> String {
        match self {
            Unobservable::AuditOff => "kernel audit is off".into(),
            Unobservable::NotPermitted(e) => {
                format!("the launcher may not read the audit stream (errno {e})")
            }
            Unobservable::Failed(e) => format!("the audit stream failed (errno {e})"),
        }
    }
}

/// One Landlock denial of the child's domain, as the kernel logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The denied rights, e.g. `["fs.write_file"]`, `["net.connect_tcp"]`.
    pub blockers: Vec<String>,
    /// What was denied: the path (`fs.*`; a directory for `make_*`/`remove_*`), the port
    /// (`net.*`) or the other process (`scope.*`), as the record names it.
    pub object: String,
}

/// One kernel audit record: its type and `key=value` fields (values unquoted/decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    kind: u16,
    fields: Vec<(String, String)>,
}

impl Record {
    fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn socket() -> Result<OwnedFd, Errno> {
    // SAFETY: socket takes integers only; a non-negative result is a new fd we own.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            NETLINK_AUDIT,
        )
    };
    if fd < 0 {
        return Err(crate::sys::errno());
    }
    // SAFETY: fd was just returned by socket and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn send(fd: RawFd, kind: u16, payload: &[u8]) -> Result<(), Errno> {
    let len = NLMSG_HDRLEN + payload.len();
    let mut msg = Vec::with_capacity(len);
    msg.extend_from_slice(&(len as u32).to_ne_bytes());
    msg.extend_from_slice(&kind.to_ne_bytes());
    msg.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(payload);
    // SAFETY: an all-zero sockaddr_nl is valid; it addresses the kernel (nl_pid 0).
    let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as u16;
    // SAFETY: msg and kernel are valid for the lengths given for the whole call.
    let sent = unsafe {
        libc::sendto(
            fd,
            msg.as_ptr().cast(),
            msg.len(),
            0,
            (&kernel as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        )
    };
    if sent < 0 {
        Err(crate::sys::errno())
    } else {
        Ok(())
    }
}

/// Receives one datagram into `buf`: `Ok((len, sender port))`, or the errno (`EAGAIN`:
/// nothing queued; `ENOBUFS`: the socket's buffer overflowed and records were dropped).
fn receive(fd: RawFd, buf: &mut [u8]) -> Result<(usize, u32), Errno> {
    // SAFETY: an all-zero sockaddr_nl is valid storage for recvfrom to fill.
    let mut from: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    let mut from_len = std::mem::size_of::<libc::sockaddr_nl>() as u32;
    // SAFETY: buf and from are valid writable regions of the lengths given.
    let n = unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
            (&mut from as *mut libc::sockaddr_nl).cast(),
            &mut from_len,
        )
    };
    if n < 0 {
        Err(crate::sys::errno())
    } else {
        Ok((n as usize, from.nl_pid))
    }
}

/// The netlink messages of one datagram: (type, payload).
fn messages(datagram: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + NLMSG_HDRLEN <= datagram.len() {
        let len = u32::from_ne_bytes(datagram[at..at + 4].try_into().unwrap()) as usize;
        let kind = u16::from_ne_bytes(datagram[at + 4..at + 6].try_into().unwrap());
        if len < NLMSG_HDRLEN || at + len > datagram.len() {
            // Audit's multicast records carry a length that may not count the text's end;
            // take the rest of the datagram.
            out.push((kind, &datagram[at + NLMSG_HDRLEN..]));
            break;
        }
        out.push((kind, &datagram[at + NLMSG_HDRLEN..at + len]));
        at += (len + 3) & !3;
    }
    out
}

/// What `AUDIT_GET` says.
#[derive(Debug, Clone, Copy)]
struct Status {
    enabled: bool,
    /// Records audit dropped since boot (a full backlog drops Landlock's records).
    lost: u32,
}

/// Asks audit for its state (`AUDIT_GET`, needs `CAP_AUDIT_CONTROL`).
fn status() -> Result<Status, Unobservable> {
    let fd = socket().map_err(Unobservable::Failed)?;
    send(fd.as_raw_fd(), AUDIT_GET, &[]).map_err(Unobservable::Failed)?;
    let mut buf = [0u8; 8192];
    // SAFETY: buf is a valid writable region for the whole call; a blocking read of the
    // kernel's one reply (AUDIT_GET is answered synchronously).
    let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(Unobservable::Failed(crate::sys::errno()));
    }
    for (kind, payload) in messages(&buf[..n as usize]) {
        match kind {
            // EPERM without CAP_AUDIT_CONTROL; ECONNREFUSED outside the initial pid namespace.
            NLMSG_ERROR if payload.len() >= 4 => {
                let err = i32::from_ne_bytes(payload[..4].try_into().unwrap());
                if err < 0 {
                    return Err(Unobservable::NotPermitted(-err));
                }
            }
            // struct audit_status { mask, enabled, failure, pid, rate_limit, backlog_limit,
            // lost, … }
            AUDIT_GET if payload.len() >= 28 => {
                let field =
                    |i: usize| u32::from_ne_bytes(payload[i * 4..i * 4 + 4].try_into().unwrap());
                return Ok(Status {
                    enabled: field(1) != 0,
                    lost: field(6),
                });
            }
            _ => {}
        }
    }
    Err(Unobservable::Failed(libc::EPROTO))
}

/// The audit stream's read-only group, joined, and audit's lost count then.
#[derive(Debug)]
pub struct Opened {
    fd: OwnedFd,
    lost: u32,
}

impl Opened {
    /// The socket's fd (the launcher keeps it out of the child).
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Opens a reader of the audit stream's read-only group, or says why Landlock's denials
/// cannot be observed here.
pub fn open() -> Result<Opened, Unobservable> {
    let status = status()?;
    if !status.enabled {
        return Err(Unobservable::AuditOff);
    }
    let fd = socket().map_err(Unobservable::Failed)?;
    // SAFETY: an all-zero sockaddr_nl is valid; we set the family and the group.
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as u16;
    addr.nl_groups = NLGRP_READLOG;
    // SAFETY: addr is a valid sockaddr_nl of the length given.
    let ret = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        )
    };
    if ret < 0 {
        return Err(match crate::sys::errno() {
            e @ (libc::EPERM | libc::EACCES) => Unobservable::NotPermitted(e),
            e => Unobservable::Failed(e),
        });
    }
    // A burst of denials must not overflow the socket while the launcher is busy: as much
    // buffer as the launcher may have (FORCE needs CAP_NET_ADMIN, which a reader with
    // CAP_AUDIT_READ usually has; overflows are counted either way).
    let size: libc::c_int = RCVBUF_BYTES;
    for option in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: size is a valid c_int for the length given.
        let ret = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as u32,
            )
        };
        if ret == 0 {
            break;
        }
    }
    Ok(Opened {
        fd,
        lost: status.lost,
    })
}

/// Splits one record's text, `audit(SECONDS:SERIAL): k=v k="v" …`, into its fields.
/// Quoted values are unquoted; the kernel hex-encodes strings it cannot quote safely,
/// and those are decoded for `path`, `name`, `exe`, `comm` and `ocomm`.
fn parse_fields(text: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(text);
    let body = match text.find("): ") {
        Some(at) => &text[at + 3..],
        None => return Vec::new(),
    };
    body.trim_end_matches(['\0', '\n'])
        .split(' ')
        .filter_map(|field| field.split_once('='))
        .map(|(key, value)| {
            let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(quoted) => quoted.to_string(),
                None if matches!(key, "path" | "name" | "exe" | "comm" | "ocomm") => {
                    hex_decode(value).unwrap_or_else(|| value.to_string())
                }
                None => value.to_string(),
            };
            (key.to_string(), value)
        })
        .collect()
}

fn hex_decode(text: &str) -> Option<String> {
    from_hex(text).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// What a denial record names as its object.
fn object(record: &Record) -> String {
    let get = |k: &str| record.get(k).map(str::to_string);
    get("path")
        .or_else(|| get("name"))
        .or_else(|| get("dest").map(|p| format!("port {p}")))
        .or_else(|| get("lport").map(|p| format!("port {p}")))
        .or_else(|| get("src").map(|p| format!("port {p}")))
        .or_else(|| get("opid").map(|p| format!("pid {p}")))
        .unwrap_or_default()
}

/// Who created the child's domain, as its "allocated" record must name it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Creator {
    pid: String,
    /// The child's host uid (`None`: unknown, not compared).
    uid: Option<String>,
    /// The launcher's executable: the child ran it until its exec (`None`: unknown).
    exe: Option<String>,
}

impl Creator {
    /// Whether an "allocated" record names this creator. The pid alone could name a domain
    /// another user created under the same pid before it was reused for the child; the uid
    /// and executable must match too.
    fn made(&self, record: &Record) -> bool {
        record.get("status") == Some("allocated")
            && record.get("pid") == Some(self.pid.as_str())
            && self
                .uid
                .as_deref()
                .is_none_or(|uid| record.get("uid") == Some(uid))
            && self
                .exe
                .as_deref()
                .is_none_or(|exe| record.get("exe") == Some(exe))
    }
}

/// The real uid in `/proc/PID/status` (as the launcher's user namespace sees it).
fn uid_of(pid: u32) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1).map(str::to_string)
}

/// Follows the stream for one child: finds its domain and collects its denials.
pub struct Reader {
    fd: OwnedFd,
    lost_at_open: u32,
    creator: Creator,
    domain: Option<String>,
    /// Access records seen before the child's domain was known: (domain, denial).
    pending: VecDeque<(String, Denial)>,
    barrier: Option<String>,
    /// Times the socket's buffer overflowed (the kernel dropped records for it).
    overruns: u32,
    buf: Vec<u8>,
}

impl Reader {
    /// Follows the stream opened by [`open`] for the child `child_pid` (call once it runs
    /// the target: its uid is read from `/proc`).
    pub fn new(opened: Opened, child_pid: u32) -> Reader {
        let exe = std::env::current_exe().ok();
        Reader::following(
            opened,
            Creator {
                pid: child_pid.to_string(),
                uid: uid_of(child_pid),
                exe: exe.and_then(|p| p.to_str().map(str::to_string)),
            },
        )
    }

    fn following(opened: Opened, creator: Creator) -> Reader {
        Reader {
            fd: opened.fd,
            lost_at_open: opened.lost,
            creator,
            domain: None,
            pending: VecDeque::new(),
            barrier: None,
            overruns: 0,
            buf: vec![0u8; 16384],
        }
    }

    /// The fd to poll for readability.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Reads what is queued without blocking; returns the child's denials found. Returns
    /// `true` in `.1` once the barrier record sent by [`Reader::send_barrier`] came back.
    pub fn read_available(&mut self) -> (Vec<Denial>, bool) {
        let mut found = Vec::new();
        let mut barrier_seen = false;
        loop {
            let (n, sender) = match receive(self.fd.as_raw_fd(), &mut self.buf) {
                Ok(received) => received,
                Err(libc::ENOBUFS) => {
                    self.overruns += 1;
                    continue;
                }
                Err(libc::EINTR) => continue,
                Err(_) => break,
            };
            if sender != 0 {
                continue;
            }
            let records: Vec<Record> = messages(&self.buf[..n])
                .into_iter()
                .map(|(kind, text)| Record {
                    kind,
                    fields: parse_fields(text),
                })
                .collect();
            for record in records {
                barrier_seen |= self.consider(record, &mut found);
            }
        }
        (found, barrier_seen)
    }

    /// Takes one record into account; `true` when it is the barrier.
    fn consider(&mut self, record: Record, found: &mut Vec<Denial>) -> bool {
        match record.kind {
            LANDLOCK_DOMAIN => {
                let ours = self.domain.is_none() && self.creator.made(&record);
                if let (true, Some(id)) = (ours, record.get("domain")) {
                    self.domain = Some(id.to_string());
                    let pending = std::mem::take(&mut self.pending);
                    found.extend(
                        pending
                            .into_iter()
                            .filter(|(d, _)| d == id)
                            .map(|(_, denial)| denial),
                    );
                }
                false
            }
            LANDLOCK_ACCESS => {
                let (Some(domain), Some(blockers)) = (record.get("domain"), record.get("blockers"))
                else {
                    return false;
                };
                let denial = Denial {
                    blockers: blockers.split(',').map(str::to_string).collect(),
                    object: object(&record),
                };
                match &self.domain {
                    Some(ours) if ours == domain => found.push(denial),
                    Some(_) => {}
                    None => {
                        if self.pending.len() == PENDING_MAX {
                            self.pending.pop_front();
                        }
                        self.pending.push_back((domain.to_string(), denial));
                    }
                }
                false
            }
            AUDIT_USER => match (&self.barrier, record.get("msg")) {
                (Some(marker), Some(msg)) => msg == format!("'{marker}'"),
                _ => false,
            },
            _ => false,
        }
    }

    /// How often records were dropped since the reader was opened: records audit dropped
    /// (its backlog was full; any process's) plus overflows of the reader's own buffer.
    /// The child's denials may be among them.
    pub fn dropped_since_open(&self) -> u32 {
        let lost = status().map_or(0, |now| now.lost.wrapping_sub(self.lost_at_open));
        lost.saturating_add(self.overruns)
    }

    /// Writes the barrier record (`AUDIT_USER`, needs `CAP_AUDIT_WRITE`) naming `launch_id`.
    /// `false` when it could not be written (then read what is queued and stop).
    pub fn send_barrier(&mut self, launch_id: &str) -> bool {
        // One token (the kernel keeps the text as given; fields split at spaces), sent with
        // its NUL (the kernel drops the message's last byte).
        let marker = format!("charter-launch-{launch_id}-child-ended");
        let text = format!("{marker}\0");
        let ok = send(self.fd.as_raw_fd(), AUDIT_USER, text.as_bytes()).is_ok();
        self.barrier = ok.then_some(marker);
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u16, text: &str) -> Record {
        Record {
            kind,
            fields: parse_fields(text.as_bytes()),
        }
    }

    fn reader(child_pid: u32) -> Reader {
        let (a, _b) = std::os::unix::net::UnixDatagram::pair().unwrap();
        let opened = Opened {
            fd: OwnedFd::from(a),
            lost: 0,
        };
        let creator = Creator {
            pid: child_pid.to_string(),
            uid: Some("0".into()),
            exe: Some("/tmp/ll/ll".into()),
        };
        Reader::following(opened, creator)
    }

    // Records as this kernel (6.18) wrote them for a denied `echo x > /tmp/ll/out`.
    const ACCESS: &str = "audit(1796012699.217:339): domain=1543ffb2f blockers=fs.make_reg path=\"/tmp/ll\" dev=\"vda\" ino=2515072";
    const ALLOCATED: &str = "audit(1796012699.217:339): domain=1543ffb2f status=allocated mode=enforcing pid=15841 uid=0 exe=\"/tmp/ll/ll\" comm=\"ll\"";

    #[test]
    fn fields_are_unquoted_and_hex_decoded() {
        let r = record(LANDLOCK_ACCESS, ACCESS);
        assert_eq!(r.get("blockers"), Some("fs.make_reg"));
        assert_eq!(r.get("path"), Some("/tmp/ll"));
        let r = record(
            LANDLOCK_ACCESS,
            "audit(1.2:3): domain=1 blockers=fs.write_file path=2F746D702F6120622271 dev=\"vda\"",
        );
        // A name with a space and a quote comes hex-encoded and cannot add a field.
        assert_eq!(r.get("path"), Some("/tmp/a b\"q"));
        assert_eq!(r.get("dev"), Some("vda"));
    }

    #[test]
    fn the_childs_domain_is_found_by_pid_and_only_its_denials_count() {
        let mut r = reader(15841);
        let mut found = Vec::new();
        // The access record comes before the allocation in the same event.
        r.consider(record(LANDLOCK_ACCESS, ACCESS), &mut found);
        assert!(found.is_empty());
        r.consider(record(LANDLOCK_DOMAIN, ALLOCATED), &mut found);
        assert_eq!(
            found,
            vec![Denial {
                blockers: vec!["fs.make_reg".into()],
                object: "/tmp/ll".into()
            }]
        );
        // Another domain (another process, or one the child nested) does not count.
        let other = "audit(1.1:340): domain=99 blockers=net.connect_tcp daddr=127.0.0.1 dest=5432";
        r.consider(record(LANDLOCK_ACCESS, other), &mut found);
        assert_eq!(found.len(), 1);
        let ours =
            "audit(1.1:341): domain=1543ffb2f blockers=net.connect_tcp daddr=127.0.0.1 dest=5432";
        r.consider(record(LANDLOCK_ACCESS, ours), &mut found);
        assert_eq!(found[1].object, "port 5432");
    }

    #[test]
    fn another_pids_domain_is_not_taken_and_pending_records_are_bounded() {
        let mut r = reader(1);
        let mut found = Vec::new();
        for _ in 0..PENDING_MAX * 3 {
            r.consider(record(LANDLOCK_ACCESS, ACCESS), &mut found);
        }
        assert_eq!(r.pending.len(), PENDING_MAX);
        r.consider(record(LANDLOCK_DOMAIN, ALLOCATED), &mut found);
        assert!(found.is_empty() && r.domain.is_none());
    }

    #[test]
    fn a_domain_another_user_or_program_made_under_the_childs_pid_is_not_taken() {
        for forged in [
            ALLOCATED.replace("uid=0", "uid=1000"),
            ALLOCATED.replace("exe=\"/tmp/ll/ll\"", "exe=\"/tmp/evil\""),
        ] {
            let mut r = reader(15841);
            let mut found = Vec::new();
            r.consider(record(LANDLOCK_ACCESS, ACCESS), &mut found);
            r.consider(record(LANDLOCK_DOMAIN, &forged), &mut found);
            assert!(found.is_empty() && r.domain.is_none(), "{forged}");
        }
    }

    #[test]
    fn the_barrier_is_recognised_only_with_its_own_text() {
        let mut r = reader(1);
        let mut found = Vec::new();
        r.barrier = Some("charter-launch-L-child-ended".into());
        let user = |msg: &str| {
            record(
                AUDIT_USER,
                &format!("audit(1.1:9): pid=1 uid=0 auid=4294967295 ses=4294967295 msg='{msg}'"),
            )
        };
        assert!(!r.consider(user("charter-launch-M-child-ended"), &mut found));
        assert!(!r.consider(user("charter-launch-L-child-ended x"), &mut found));
        assert!(r.consider(user("charter-launch-L-child-ended"), &mut found));
    }
}
