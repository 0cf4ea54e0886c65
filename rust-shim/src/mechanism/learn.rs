//! Learn mode (`linux.confine.learn.v1` with the plan's `learn` section; `charter learn`).
//!
//! In learn mode the child installs the plan's recording filter (compiler/learn_filter.ts:
//! the policy's program with every denial turned into `SECCOMP_RET_USER_NOTIF`, and the
//! path- and address-taking calls notified too) with `SECCOMP_FILTER_FLAG_NEW_LISTENER`,
//! and hands the listener to the launcher over a socketpair (SCM_RIGHTS). A thread of the
//! launcher runs [`supervise`]: for each notification it reads the path and address
//! arguments from `/proc/TID/mem`, checks the notification is still valid (the thread may
//! have died and its id been reused), resolves relative paths against the thread's cwd or
//! dirfd, writes one JSON line, and answers. It only records: the answer is CONTINUE (the
//! kernel then runs the call as if unfiltered, reading the arguments itself, so a racing
//! thread that rewrites them changes what runs, not what a check decided), unless the
//! baseline program denies the call, which then fails with the baseline's errno as under
//! any policy. The filter is inherited, so children and threads are followed.

use crate::b64;
use crate::error::Refusal;
use crate::report::PhaseReports;
use crate::seccomp_notify::{
    self, errno_of, receive_fd, run_filter, serve, still_valid, Notif, NotifResp, FLAG_CONTINUE,
    RET_ACTION, RET_ALLOW, RET_ERRNO, RET_LOG,
};
use crate::section::invalid;
use crate::sys;
use libc::{c_int, c_uint};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileExt, OpenOptionsExt};

/// `AT_FDCWD`.
const AT_FDCWD: i32 = -100;
/// The longest path read from the child (`PATH_MAX`).
const PATH_MAX: usize = 4096;

/// Where one watched syscall keeps its path and address arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// `(path argument, dirfd argument)`; no dirfd: relative to the cwd.
    pub paths: Vec<(usize, Option<usize>)>,
    /// `(sockaddr argument, length argument)`.
    pub sockaddr: Option<(usize, usize)>,
}

/// The plan's `learn` section, decoded: what the supervisor needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnSection {
    /// The baseline alone (`struct sock_filter[]` bytes, host order, checked by the plan
    /// parser like the seccomp program): what it denies stays denied.
    pub baseline: Vec<u8>,
    /// Watched syscalls by number.
    pub watch: HashMap<i32, Watch>,
    /// The fd number the child sends the listener from; the recording filter lets sendmsg
    /// on this fd through unrecorded (it must not wait for a supervisor it is creating).
    pub socket_fd: c_int,
}

/// The plan's `learn` section as it is written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawLearn {
    baseline_bpf_b64: String,
    watch: Vec<RawWatch>,
    socket_fd: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWatch {
    nr: i64,
    paths: Vec<Vec<i64>>,
    sockaddr: Option<Vec<i64>>,
}

/// Parses the `learn` section strictly: argument indices 0–5 (a dirfd may be -1: none),
/// each syscall number once, the socket fd above stdio.
pub fn parse(raw: RawLearn) -> Result<LearnSection, Refusal> {
    let baseline = b64::decode(&raw.baseline_bpf_b64)
        .ok_or_else(|| invalid("The learn baseline program is not padded standard base64"))?;
    let arg = |v: i64| (0..6).contains(&v).then_some(v as usize);
    let bad = |what: &str| invalid(format!("The learn section's watch list has {what}"));
    let mut watch = HashMap::new();
    for w in raw.watch {
        let nr = i32::try_from(w.nr).map_err(|_| bad("a syscall number out of range"))?;
        let mut paths = Vec::new();
        for p in w.paths {
            let [path, dirfd] = p[..] else {
                return Err(bad("a path entry that is not [path, dirfd]"));
            };
            let dirfd = match dirfd {
                -1 => None,
                d => Some(arg(d).ok_or_else(|| bad("a dirfd argument outside 0-5"))?),
            };
            paths.push((
                arg(path).ok_or_else(|| bad("a path argument outside 0-5"))?,
                dirfd,
            ));
        }
        let sockaddr = match w.sockaddr.as_deref() {
            None => None,
            Some(&[addr, len]) => Some((
                arg(addr).ok_or_else(|| bad("a sockaddr argument outside 0-5"))?,
                arg(len).ok_or_else(|| bad("a length argument outside 0-5"))?,
            )),
            Some(_) => return Err(bad("a sockaddr entry that is not [addr, len]")),
        };
        if watch.insert(nr, Watch { paths, sockaddr }).is_some() {
            return Err(bad(&format!("syscall {nr} twice")));
        }
    }
    let socket_fd = c_int::try_from(raw.socket_fd)
        .ok()
        .filter(|&fd| fd > 2)
        .ok_or_else(|| invalid("The learn section's socketFd must be an fd number above 2"))?;
    Ok(LearnSection {
        baseline,
        watch,
        socket_fd,
    })
}

/// Reads a NUL-terminated string at `addr` of the process's memory (None: unreadable).
fn read_string(mem: &File, addr: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 256];
    while out.len() < PATH_MAX {
        let n = mem.read_at(&mut chunk, addr + out.len() as u64).ok()?;
        if n == 0 {
            return None;
        }
        if let Some(end) = chunk[..n].iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..end]);
            return Some(out);
        }
        out.extend_from_slice(&chunk[..n]);
    }
    None
}

fn readlink(path: &str) -> Option<String> {
    std::fs::read_link(path)
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Resolves a path argument the way the kernel starts its walk: absolute as is, relative
/// against the dirfd's path or the thread's cwd.
fn resolve(pid: u32, raw: &[u8], dirfd: Option<i32>) -> Option<String> {
    let text = String::from_utf8_lossy(raw).into_owned();
    if text.starts_with('/') {
        return Some(text);
    }
    let base = match dirfd {
        Some(fd) if fd != AT_FDCWD => readlink(&format!("/proc/{pid}/fd/{fd}"))?,
        _ => readlink(&format!("/proc/{pid}/cwd"))?,
    };
    if text.is_empty() {
        return Some(base);
    }
    Some(format!("{}/{text}", base.trim_end_matches('/')))
}

/// Decodes a `struct sockaddr`: family, and the port (inet) or path (pathname UNIX).
fn sockaddr(bytes: &[u8]) -> Option<Value> {
    let family = u16::from_ne_bytes([*bytes.first()?, *bytes.get(1)?]);
    match i32::from(family) {
        libc::AF_INET | libc::AF_INET6 => {
            let port = u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]);
            Some(json!({ "family": family, "port": port }))
        }
        libc::AF_UNIX => {
            let path = bytes.get(2..).unwrap_or_default();
            // Abstract sockets (a leading NUL) have no path: Landlock scopes decide on them.
            if path.first().is_none_or(|&b| b == 0) {
                return Some(json!({ "family": family }));
            }
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            Some(json!({ "family": family, "path": String::from_utf8_lossy(&path[..end]) }))
        }
        _ => Some(json!({ "family": family })),
    }
}

/// The socket type (`SO_TYPE`) of the thread's fd, through a duplicate taken with
/// pidfd_getfd (None when the launcher may not: the record then says nothing of it).
fn socket_type(pid: u32, fd: i32) -> Option<i32> {
    const PIDFD_THREAD: libc::c_uint = libc::O_EXCL as libc::c_uint;
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, PIDFD_THREAD) };
    if pidfd < 0 {
        return None;
    }
    // SAFETY: the fd was just returned to us and is owned here.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) };
    // SAFETY: pidfd_getfd takes a pidfd, a target fd number and flags; returns a new fd.
    let dup = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
    if dup < 0 {
        return None;
    }
    // SAFETY: the fd was just returned to us and is owned here.
    let dup = unsafe { OwnedFd::from_raw_fd(dup as RawFd) };
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: value and len point to live locals of the sizes the kernel writes.
    let ret = unsafe {
        libc::getsockopt(
            dup.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    (ret == 0).then_some(value)
}

/// The record of one notification (None: the thread is gone; nothing trustworthy to say).
/// Open `/proc/TID/mem` files by thread id: opening one per notification costs more than
/// the rest of the record. A cached file reads nothing once its thread has exec'd or died
/// (it holds the old address space), so a failed read is retried on a fresh open.
type MemFiles = HashMap<u32, File>;

/// The most `/proc/TID/mem` files kept open at once.
const MEM_FILES_KEPT: usize = 64;

/// The thread's memory, freshly opened when `fresh` (or not cached yet).
fn mem_of(mems: &mut MemFiles, pid: u32, fresh: bool) -> Option<&File> {
    if fresh || !mems.contains_key(&pid) {
        mems.remove(&pid);
        // A build runs thousands of short processes: keep the launcher's fds bounded.
        if mems.len() >= MEM_FILES_KEPT {
            mems.clear();
        }
        mems.insert(pid, File::open(format!("/proc/{pid}/mem")).ok()?);
    }
    mems.get(&pid)
}

fn record(
    listener: RawFd,
    notif: &Notif,
    spec: &LearnSection,
    mems: &mut MemFiles,
) -> Option<Value> {
    let data = &notif.data;
    let mut out = serde_json::Map::new();
    out.insert("pid".into(), json!(notif.pid));
    out.insert("arch".into(), json!(data.arch));
    out.insert("nr".into(), json!(data.nr));
    let args: Vec<String> = data.args.iter().map(u64::to_string).collect();
    out.insert("args".into(), json!(args));
    if let Some(watch) = spec.watch.get(&data.nr) {
        let mut read_path = |arg: usize| {
            let cached =
                mem_of(mems, notif.pid, false).and_then(|m| read_string(m, data.args[arg]));
            cached.or_else(|| read_string(mem_of(mems, notif.pid, true)?, data.args[arg]))
        };
        let mut paths: Vec<Option<String>> = Vec::new();
        for &(arg, dirfd) in &watch.paths {
            let raw = read_path(arg);
            paths.push(
                raw.and_then(|raw| resolve(notif.pid, &raw, dirfd.map(|d| data.args[d] as i32))),
            );
        }
        let mem = mem_of(mems, notif.pid, false);
        if !paths.is_empty() {
            out.insert("paths".into(), json!(paths));
        }
        if let (Some((addr, len)), Some(mem)) = (watch.sockaddr, mem) {
            let len = (data.args[len] as usize).min(128);
            let mut buf = vec![0u8; len];
            if mem.read_exact_at(&mut buf, data.args[addr]).is_ok() {
                if let Some(addr) = sockaddr(&buf) {
                    out.insert("sockaddr".into(), addr);
                }
            }
            if let Some(kind) = socket_type(notif.pid, data.args[0] as i32) {
                out.insert("sockType".into(), json!(kind));
            }
        }
        // What was read may belong to another process if the thread died meanwhile.
        if !still_valid(listener, notif.id) {
            return None;
        }
    }
    Some(Value::Object(out))
}

/// The answer: CONTINUE, or the baseline's errno (a baseline kill kills the process).
fn answer(listener: RawFd, notif: &Notif, spec: &LearnSection) -> NotifResp {
    let ret = run_filter(&spec.baseline, &notif.data);
    match ret & RET_ACTION {
        RET_ALLOW | RET_LOG => NotifResp {
            id: notif.id,
            flags: FLAG_CONTINUE,
            ..NotifResp::default()
        },
        RET_ERRNO => NotifResp::error(notif, errno_of(ret)),
        _ => {
            // Only while the thread still waits here does its id name it (not a reuse).
            if still_valid(listener, notif.id) {
                // SAFETY: kill takes a pid and a signal; no memory is passed.
                unsafe { libc::kill(notif.pid as libc::pid_t, libc::SIGKILL) };
            }
            NotifResp::error(notif, libc::EPERM)
        }
    }
}

/// Serves the listener until every process that holds the filter is gone, writing one
/// JSON line per notification to `out`.
fn supervise(listener: OwnedFd, spec: &LearnSection, mut out: File) {
    let fd = listener.as_raw_fd();
    let mut mems = MemFiles::new();
    serve(&listener, |notif| {
        if let Some(line) = record(fd, notif, spec, &mut mems) {
            // A failed write loses a record, never the child's progress.
            let _ = writeln!(out, "{line}");
        }
        answer(fd, notif, spec)
    });
}

/// What the parent prepares: the socketpair (the child's end at the plan's fd number) and
/// the records file.
#[derive(Debug)]
pub struct Prepared {
    child_end: OwnedFd,
    supervisor: Supervisor,
}

/// The parent's side: started once the child exists.
#[derive(Debug)]
pub struct Supervisor {
    parent_end: OwnedFd,
    records: File,
    section: LearnSection,
}

impl Prepared {
    /// The child's end of the socketpair (kept through the fd scrub).
    pub fn child_fd(&self) -> RawFd {
        self.child_end.as_raw_fd()
    }

    /// Once the child exists: the parent's copy of the child's end closes (so that the
    /// supervisor sees end of file if the child dies before sending the listener).
    pub fn into_supervisor(self) -> Supervisor {
        self.supervisor
    }
}

/// Parent: creates the socketpair with the child's end at exactly `section.socket_fd` (the
/// recording filter names that number), and opens the records file (created 0600,
/// truncated, not through a symlink).
pub fn prepare(
    section: &LearnSection,
    records: Option<&str>,
    reports: &mut PhaseReports,
) -> Result<Prepared, Refusal> {
    let path = records.ok_or_else(|| {
        invalid("The plan is a learn plan (linux.confine.learn.v1); the launch request must name learn.records")
    })?;
    let unavailable = |what: &str, e: std::io::Error| {
        Refusal::HandleUnavailable(format!("{what} for learn mode failed: {e}"))
    };
    let (parent_end, first) = seccomp_notify::socketpair().map_err(|e| {
        unavailable(
            "Creating the socketpair",
            std::io::Error::from_raw_os_error(e),
        )
    })?;
    // F_DUPFD_CLOEXEC takes the lowest free number from socket_fd up: exactly it, or refuse.
    // SAFETY: fcntl duplicates an fd we own; the result is a new fd or -1.
    let dup = unsafe { libc::fcntl(first.as_raw_fd(), libc::F_DUPFD_CLOEXEC, section.socket_fd) };
    if dup < 0 {
        return Err(unavailable(
            "Placing the socket at the plan's fd",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: fcntl just returned this fd; nothing else owns it.
    let child_end = unsafe { OwnedFd::from_raw_fd(dup) };
    if dup != section.socket_fd {
        return Err(Refusal::HandleUnavailable(format!(
            "fd {} is in use in the launcher, so the learn socket cannot take it; recompile the learn plan",
            section.socket_fd
        )));
    }
    let records = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| unavailable(&format!("Opening the records file {path}"), e))?;
    // No record may be written by anyone else: in learn mode the child is not confined and
    // may share the launcher's uid. The launcher reads through the handle it opened first.
    std::fs::remove_file(path)
        .map_err(|e| unavailable(&format!("Unlinking the records file {path}"), e))?;
    reports.record(
        4,
        "learn",
        json!({ "recording": true, "watched": section.watch.len() }),
        false,
    );
    Ok(Prepared {
        child_end,
        supervisor: Supervisor {
            parent_end,
            records,
            section: section.clone(),
        },
    })
}

/// Parent, once the child exists: a thread receives the listener and serves it until
/// every process holding the filter is gone. Records go to the records file only.
pub fn start(supervisor: Supervisor) {
    std::thread::spawn(move || {
        let Supervisor {
            parent_end,
            records,
            section,
        } = supervisor;
        if let Some(listener) = receive_fd(parent_end.as_raw_fd()) {
            drop(parent_end);
            supervise(listener, &section, records);
        }
    });
}

/// Child: installs the recording filter with a listener, sends the listener to the
/// parent over `socket_fd` and closes both. Raw syscalls only; nothing allocated.
pub fn apply(
    program: Option<(&sys::SockFprog, c_uint)>,
    socket_fd: c_int,
) -> Result<(), sys::Errno> {
    let Some((prog, flags)) = program else {
        return Err(libc::EINVAL);
    };
    let listener = seccomp_notify::install_with_listener(prog, flags)?;
    let sent = seccomp_notify::send_fd(socket_fd, listener);
    let _ = sys::close(listener);
    let _ = sys::close(socket_fd);
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddrs_decode_ports_and_paths() {
        let inet = [2u8, 0, 0x15, 0x38, 127, 0, 0, 1];
        assert_eq!(sockaddr(&inet), Some(json!({"family": 2, "port": 5432})));
        let mut unix = vec![1u8, 0];
        unix.extend(b"/run/x.sock\0junk");
        assert_eq!(
            sockaddr(&unix),
            Some(json!({"family": 1, "path": "/run/x.sock"}))
        );
        assert_eq!(sockaddr(&[1u8, 0, 0, b'a']), Some(json!({"family": 1})));
        assert_eq!(sockaddr(&[2u8]), None);
    }

    #[test]
    fn relative_paths_resolve_against_the_cwd_and_dirfds() {
        let pid = std::process::id();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(resolve(pid, b"/abs", None).unwrap(), "/abs");
        assert_eq!(
            resolve(pid, b"x/y", Some(AT_FDCWD)).unwrap(),
            format!("{}/x/y", cwd.display())
        );
        let dir = File::open("/usr").unwrap();
        assert_eq!(
            resolve(pid, b"lib", Some(dir.as_raw_fd())).unwrap(),
            "/usr/lib"
        );
        let mem = File::open("/proc/self/mem").unwrap();
        let text = b"hello\0";
        assert_eq!(
            read_string(&mem, text.as_ptr() as u64).unwrap(),
            b"hello".to_vec()
        );
    }
}
