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

/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`.
pub const FLAG_NEW_LISTENER: libc::c_uint = 1 << 3;
/// `SECCOMP_IOCTL_NOTIF_RECV`: `_IOWR('!', 0, struct seccomp_notif)`.
const NOTIF_RECV: libc::c_ulong = 0xc050_2100;
/// `SECCOMP_IOCTL_NOTIF_SEND`: `_IOWR('!', 1, struct seccomp_notif_resp)`.
const NOTIF_SEND: libc::c_ulong = 0xc018_2101;
/// `SECCOMP_IOCTL_NOTIF_ID_VALID`: `_IOW('!', 2, __u64)`.
const NOTIF_ID_VALID: libc::c_ulong = 0x4008_2102;
/// `SECCOMP_IOCTL_NOTIF_SET_FLAGS`: `_IOW('!', 4, __u64)`.
const NOTIF_SET_FLAGS: libc::c_ulong = 0x4008_2104;
/// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`.
const FLAG_SYNC_WAKE_UP: u64 = 1;
/// `SECCOMP_USER_NOTIF_FLAG_CONTINUE`.
const FLAG_CONTINUE: u32 = 1;
/// `AT_FDCWD`.
const AT_FDCWD: i32 = -100;
/// The longest path read from the child (`PATH_MAX`).
const PATH_MAX: usize = 4096;

/// `struct seccomp_data`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SeccompData {
    /// Syscall number.
    pub nr: i32,
    /// `AUDIT_ARCH_*`.
    pub arch: u32,
    /// Instruction pointer.
    pub instruction_pointer: u64,
    /// Arguments.
    pub args: [u64; 6],
}

/// `struct seccomp_notif`.
#[repr(C)]
#[derive(Debug, Default)]
struct Notif {
    id: u64,
    pid: u32,
    flags: u32,
    data: SeccompData,
}

/// `struct seccomp_notif_resp`.
#[repr(C)]
#[derive(Debug, Default)]
struct NotifResp {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

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

/// Runs a program of the reviewable subset (`struct sock_filter[]` bytes, checked by the
/// plan parser before a child exists) on one `seccomp_data`, as the kernel would.
pub fn run_filter(program: &[u8], data: &SeccompData) -> u32 {
    let word = |k: u32| -> u32 {
        let args = |i: usize, hi: bool| {
            let v = data.args[i];
            if hi {
                (v >> 32) as u32
            } else {
                v as u32
            }
        };
        match k {
            0 => data.nr as u32,
            4 => data.arch,
            8 => data.instruction_pointer as u32,
            12 => (data.instruction_pointer >> 32) as u32,
            16..=63 => args(((k - 16) / 8) as usize, (k - 16) % 8 == 4),
            _ => 0,
        }
    };
    let (mut a, mut pc) = (0u32, 0usize);
    while let Some(b) = program.get(pc * 8..pc * 8 + 8) {
        let ins = libc::sock_filter {
            code: u16::from_ne_bytes([b[0], b[1]]),
            jt: b[2],
            jf: b[3],
            k: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        };
        let jump = |cond: bool| 1 + usize::from(if cond { ins.jt } else { ins.jf });
        pc += match ins.code {
            0x20 => {
                a = word(ins.k);
                1
            }
            0x54 => {
                a &= ins.k;
                1
            }
            0x05 => 1 + ins.k as usize,
            0x15 => jump(a == ins.k),
            0x25 => jump(a > ins.k),
            0x35 => jump(a >= ins.k),
            0x45 => jump(a & ins.k != 0),
            0x06 => return ins.k,
            // Outside the checked subset: deny (never reached for a checked program).
            _ => return 0x0005_0001,
        };
    }
    0x0005_0001
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

/// True while the notification's thread still waits in this syscall.
fn still_valid(listener: RawFd, id: u64) -> bool {
    // SAFETY: the ioctl reads one u64 from the pointer.
    unsafe { libc::ioctl(listener, NOTIF_ID_VALID, &id as *const u64) == 0 }
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
    let action = ret & 0xffff_0000;
    let mut resp = NotifResp {
        id: notif.id,
        ..NotifResp::default()
    };
    match action {
        0x7fff_0000 | 0x7ffc_0000 => resp.flags = FLAG_CONTINUE,
        0x0005_0000 => resp.error = -((ret & 0xffff) as i32),
        _ => {
            // Only while the thread still waits here does its id name it (not a reuse).
            if still_valid(listener, notif.id) {
                // SAFETY: kill takes a pid and a signal; no memory is passed.
                unsafe { libc::kill(notif.pid as libc::pid_t, libc::SIGKILL) };
            }
            resp.error = -libc::EPERM;
        }
    }
    resp
}

/// Serves the listener until every process that holds the filter is gone, writing one
/// JSON line per notification to `out`.
fn supervise(listener: OwnedFd, spec: &LearnSection, mut out: File) {
    let fd = listener.as_raw_fd();
    // The child waits for every answer: wake this thread synchronously, on the child's CPU
    // (Linux 6.6+; older kernels keep the ordinary wakeup).
    // SAFETY: the ioctl reads one u64 flag word from its argument.
    unsafe { libc::ioctl(fd, NOTIF_SET_FLAGS, FLAG_SYNC_WAKE_UP) };
    let mut mems = MemFiles::new();
    loop {
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd, a live local.
        let ready = unsafe { libc::poll(&mut poll, 1, -1) };
        if ready < 0 {
            // SAFETY: errno of this thread, read right after the call.
            if unsafe { *libc::__errno_location() } == libc::EINTR {
                continue;
            }
            return;
        }
        if poll.revents & libc::POLLIN == 0 {
            // POLLHUP: no process holds the filter any more.
            return;
        }
        let mut notif = Notif::default();
        // SAFETY: the kernel writes one zeroed struct seccomp_notif of this layout.
        if unsafe { libc::ioctl(fd, NOTIF_RECV, &mut notif as *mut Notif) } < 0 {
            // ENOENT: the thread was killed before we read it; go on.
            continue;
        }
        if let Some(line) = record(fd, &notif, spec, &mut mems) {
            // A failed write loses a record, never the child's progress.
            let _ = writeln!(out, "{line}");
        }
        let mut resp = answer(fd, &notif, spec);
        // SAFETY: the kernel reads one struct seccomp_notif_resp of this layout.
        unsafe { libc::ioctl(fd, NOTIF_SEND, &mut resp as *mut NotifResp) };
    }
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
    let mut fds = [0 as c_int; 2];
    // SAFETY: socketpair writes two fds into the two-element array.
    let ret = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if ret < 0 {
        return Err(unavailable(
            "Creating the socketpair",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: socketpair just returned these fds; nothing else owns them.
    let (parent_end, first) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
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

/// Receives one fd sent with SCM_RIGHTS (None: end of file, the child died first).
fn receive_fd(socket: RawFd) -> Option<OwnedFd> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut control = [0u64; 4];
    // SAFETY: an all-zero msghdr is valid (no name, no buffers); the fields are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: msg points to live buffers of the sizes it states.
    let n = unsafe { libc::recvmsg(socket, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n <= 0 {
        return None;
    }
    // SAFETY: msg was filled by recvmsg; CMSG_FIRSTHDR reads within msg_control.
    let cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    // SAFETY: cmsg is null or points into `control`, which holds one whole header.
    if cmsg.is_null() || unsafe { (*cmsg).cmsg_type } != libc::SCM_RIGHTS {
        return None;
    }
    // SAFETY: an SCM_RIGHTS message carries at least one int after its header.
    let fd = unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<c_int>()) };
    // SAFETY: the kernel installed this fd in our table for us.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
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
    const SECCOMP_SET_MODE_FILTER: c_uint = 1;
    // SAFETY: prog points into the parent's prepared buffer, which this process has a
    // copy of; it stays valid until exec. With NEW_LISTENER the result is an fd.
    let listener = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags | FLAG_NEW_LISTENER,
            prog as *const sys::SockFprog,
        )
    };
    if listener < 0 {
        // SAFETY: errno of this thread, read right after the call.
        return Err(unsafe { *libc::__errno_location() });
    }
    let listener = listener as c_int;
    #[repr(C)]
    struct Control {
        header: libc::cmsghdr,
        fd: c_int,
        pad: c_int,
    }
    let mut control = Control {
        header: libc::cmsghdr {
            // SAFETY: CMSG_LEN is arithmetic on its argument.
            cmsg_len: unsafe { libc::CMSG_LEN(std::mem::size_of::<c_int>() as u32) } as usize,
            cmsg_level: libc::SOL_SOCKET,
            cmsg_type: libc::SCM_RIGHTS,
        },
        fd: listener,
        pad: 0,
    };
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: an all-zero msghdr is valid (no name, no buffers); the fields are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = (&mut control as *mut Control).cast();
    msg.msg_controllen = std::mem::size_of::<Control>();
    // SAFETY: msg points to live stack buffers of the sizes it states.
    let sent = unsafe { libc::sendmsg(socket_fd, &msg, libc::MSG_NOSIGNAL) };
    // SAFETY: errno of this thread, read right after the call.
    let errno = unsafe { *libc::__errno_location() };
    let _ = sys::close(listener);
    let _ = sys::close(socket_fd);
    if sent < 0 {
        return Err(errno);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(code: u16, jt: u8, jf: u8, k: u32) -> Vec<u8> {
        let mut b = code.to_ne_bytes().to_vec();
        b.extend([jt, jf]);
        b.extend(k.to_ne_bytes());
        b
    }

    #[test]
    fn the_interpreter_runs_the_subset_like_the_kernel() {
        // ld nr; jeq 101 → errno(1); ld arg0 hi; and 0xff; jset 1 → errno(2); allow
        let program: Vec<u8> = [
            ins(0x20, 0, 0, 0),
            ins(0x15, 0, 1, 101),
            ins(0x06, 0, 0, 0x0005_0001),
            ins(0x20, 0, 0, 20),
            ins(0x54, 0, 0, 0xff),
            ins(0x45, 0, 1, 1),
            ins(0x06, 0, 0, 0x0005_0002),
            ins(0x06, 0, 0, 0x7fff_0000),
        ]
        .concat();
        let mut data = SeccompData {
            nr: 101,
            ..SeccompData::default()
        };
        assert_eq!(run_filter(&program, &data), 0x0005_0001);
        data.nr = 1;
        assert_eq!(run_filter(&program, &data), 0x7fff_0000);
        data.args[0] = 1 << 32;
        assert_eq!(run_filter(&program, &data), 0x0005_0002);
        let ja = [ins(0x05, 0, 0, 0), ins(0x06, 0, 0, 7)].concat();
        assert_eq!(run_filter(&ja, &data), 7);
    }

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
