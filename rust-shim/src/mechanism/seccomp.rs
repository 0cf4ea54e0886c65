//! seccomp (`linux.confine.seccomp.v1` with the plan's `seccomp` section): the plan's
//! classic-BPF program, checked against its digest in the parent and installed by the
//! child with `seccomp(SECCOMP_SET_MODE_FILTER)` as the last step before exec.
//!
//! Denials are recorded where the kernel has user notification: the child installs the
//! program with every `SECCOMP_RET_ERRNO` return turned into `SECCOMP_RET_USER_NOTIF`
//! ([`errno_to_notify`]) and a listener, which a thread of the child hands to the
//! launcher; the launcher's recorder ([`denials`]) answers each notification with the
//! errno the signed program returns for it and counts it.

mod denials;

#[cfg(test)]
pub use denials::largest_records;
pub use denials::Recorder;

use crate::digest::{is_sha256_hex, sha256_hex};
use crate::error::Refusal;
use crate::seccomp_notify::{self, RET_ACTION, RET_ERRNO, RET_USER_NOTIF};
use crate::section::invalid;
use crate::step::Enforce;
use crate::sys;
use libc::{c_int, c_uint, c_void};
use serde::Deserialize;
use serde_json::{json, Value};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

/// The top-level `seccomp` section, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeccompSection {
    /// Enforcement.
    pub enforce: Enforce,
    /// The program bytes (`struct sock_filter[]`, host order); length a multiple of 8.
    pub program: Vec<u8>,
    /// Its expected sha256 (checked at launch: `digest_mismatch`).
    pub sha256: String,
    /// seccomp filter flags.
    pub flags: u32,
}

/// The plan's `seccomp` section as it is written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawSeccomp {
    enforce: Enforce,
    bpf_b64: String,
    sha256: String,
    instructions: u64,
    flags: Vec<String>,
}

/// `SECCOMP_FILTER_FLAG_LOG`.
pub const FLAG_LOG: c_uint = 1 << 1;
/// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`.
pub const FLAG_SPEC_ALLOW: c_uint = 1 << 2;

/// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` (Linux 5.19+).
const FLAG_WAIT_KILLABLE_RECV: c_uint = 1 << 5;

/// Plan flag names and their values.
pub const FLAGS: [(&str, c_uint); 2] = [("log", FLAG_LOG), ("spec_allow", FLAG_SPEC_ALLOW)];

/// The most instructions a classic-BPF program may have (`BPF_MAXINSNS`).
pub const MAX_INSTRUCTIONS: usize = 4096;

/// `sizeof(struct seccomp_data)`.
const SECCOMP_DATA_SIZE: u32 = 64;

/// The opcodes of the reviewable subset: what compiler/seccomp/codegen.ts emits.
const LD_W_ABS: u16 = 0x20;
const ALU_AND_K: u16 = 0x54;
const JMP_JA: u16 = 0x05;
const JMP_JEQ_K: u16 = 0x15;
const JMP_JGT_K: u16 = 0x25;
const JMP_JGE_K: u16 = 0x35;
const JMP_JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;

/// Checks a program (`struct sock_filter[]` bytes) against the kernel's rules for seccomp
/// filters (`bpf_check_classic` and `seccomp_check_filter`: 1 to 4096 instructions, jumps
/// forward inside the program, aligned loads inside `seccomp_data`, a `ret` last) and
/// against the subset the review tools analyse exactly (compiler/seccomp/filter_paths.ts):
/// `ld [k]`, `and #k`, `jeq/jgt/jge/jset #k`, `ja`, `ret #k`. Anything else is refused
/// before a child exists.
pub fn check_program(bytes: &[u8]) -> Result<(), String> {
    let program = to_filter(bytes);
    let len = program.len();
    if len == 0 || len > MAX_INSTRUCTIONS || !bytes.len().is_multiple_of(8) {
        return Err(format!(
            "The seccomp program has {} bytes; it must be 1 to {MAX_INSTRUCTIONS} instructions of 8 bytes each",
            bytes.len()
        ));
    }
    for (pc, ins) in program.iter().enumerate() {
        let after = |offset: u64| pc as u64 + 1 + offset < len as u64;
        let ok = match ins.code {
            LD_W_ABS => ins.k < SECCOMP_DATA_SIZE && ins.k.is_multiple_of(4),
            ALU_AND_K | RET_K => true,
            JMP_JA => after(u64::from(ins.k)),
            JMP_JEQ_K | JMP_JGT_K | JMP_JGE_K | JMP_JSET_K => {
                after(u64::from(ins.jt)) && after(u64::from(ins.jf))
            }
            _ => false,
        };
        if !ok {
            return Err(format!(
                "The seccomp program's instruction {pc} (code {:#04x}, k {:#x}) is not one the kernel accepts in a seccomp filter or outside the reviewable subset (aligned ld [k] inside seccomp_data, and #k, jeq/jgt/jge/jset #k and ja inside the program, ret #k)",
                ins.code, ins.k
            ));
        }
    }
    if program[len - 1].code != RET_K {
        return Err("The seccomp program's last instruction is not a ret".to_string());
    }
    Ok(())
}

/// Parses and checks the `seccomp` section ([`check_program`]).
pub fn parse(raw: RawSeccomp) -> Result<SeccompSection, Refusal> {
    let program = crate::b64::decode(&raw.bpf_b64)
        .ok_or_else(|| invalid("The seccomp program (bpfB64) is not padded standard base64"))?;
    let count = program.len() / 8;
    if program.len() % 8 != 0
        || !(1..=MAX_INSTRUCTIONS).contains(&count)
        || raw.instructions != count as u64
    {
        return Err(invalid(format!(
            "The seccomp program has {} bytes and claims {} instructions; it must be 1 to {} instructions of 8 bytes each",
            program.len(),
            raw.instructions,
            MAX_INSTRUCTIONS
        )));
    }
    check_program(&program).map_err(invalid)?;
    if !is_sha256_hex(&raw.sha256) {
        return Err(invalid("The seccomp sha256 is not lowercase hex SHA-256"));
    }
    let mut flags = 0;
    for name in &raw.flags {
        let (_, value) = FLAGS
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| invalid(format!("Unknown seccomp flag {name:?} (log or spec_allow)")))?;
        if flags & value != 0 {
            return Err(invalid(format!("The seccomp flag {name} is listed twice")));
        }
        flags |= value;
    }
    Ok(SeccompSection {
        enforce: raw.enforce,
        program,
        sha256: raw.sha256,
        flags,
    })
}

/// A verified program, ready for the child.
pub struct Program {
    /// The instructions (8-byte aligned, host byte order).
    filter: Vec<libc::sock_filter>,
    /// The `sock_fprog` that points into `filter`.
    fprog: sys::SockFprog,
    /// seccomp flags.
    pub flags: c_uint,
}

impl Program {
    fn new(bytes: &[u8], flags: c_uint) -> Program {
        let filter = to_filter(bytes);
        let fprog = sys::SockFprog {
            len: filter.len() as u16,
            filter: filter.as_ptr(),
        };
        Program {
            filter,
            fprog,
            flags,
        }
    }

    /// The program as the kernel takes it (valid while `self` lives).
    pub fn fprog(&self) -> &sys::SockFprog {
        &self.fprog
    }
}

/// The plan's program with every `SECCOMP_RET_ERRNO | e` return turned into
/// `SECCOMP_RET_USER_NOTIF`; nothing else changes (kills stay kills, allows stay allows).
pub fn errno_to_notify(program: &[u8]) -> Vec<u8> {
    let mut out = program.to_vec();
    for ins in out.chunks_exact_mut(8) {
        let code = u16::from_ne_bytes([ins[0], ins[1]]);
        let k = u32::from_ne_bytes([ins[4], ins[5], ins[6], ins[7]]);
        if code == RET_K && k & RET_ACTION == RET_ERRNO {
            ins[4..8].copy_from_slice(&RET_USER_NOTIF.to_ne_bytes());
        }
    }
    out
}

/// The stack of the child's handoff thread: it runs [`hand_off`] only.
const HANDOFF_STACK: usize = 64 * 1024;

/// What the child's main thread and its handoff thread share (`CLONE_VM`).
#[repr(C)]
#[derive(Debug)]
pub struct Handoff {
    /// The listener once the filter is installed; -1 before.
    listener: AtomicI32,
    /// The child's end of the socketpair to the launcher's recorder.
    socket: c_int,
}

/// Denial recording, prepared: the rewritten program, the handoff thread's stack and
/// shared word, and the socketpair.
pub struct Observe {
    notify: Program,
    handoff: Box<Handoff>,
    /// The handoff thread's stack, written only by that thread in the child's copy.
    _stack: Vec<u8>,
    /// Where it starts: it grows down from the end of the buffer, 16-byte aligned.
    stack_top: *mut c_void,
    child_end: OwnedFd,
    recorder: denials::Pending,
}

/// What the child needs to record denials (valid while the [`Observe`] lives).
#[derive(Clone, Copy)]
pub struct ObserveSpec<'a> {
    notify: &'a sys::SockFprog,
    flags: c_uint,
    handoff: &'a Handoff,
    stack_top: *mut c_void,
}

impl Observe {
    /// The child's end of the socketpair (kept through the fd scrub).
    pub fn child_fd(&self) -> c_int {
        self.child_end.as_raw_fd()
    }

    /// The child's view.
    pub fn spec(&self) -> ObserveSpec<'_> {
        ObserveSpec {
            notify: self.notify.fprog(),
            flags: self.notify.flags,
            handoff: &self.handoff,
            stack_top: self.stack_top,
        }
    }

    /// Once the child exists: the parent's copy of the child's end closes (so that the
    /// recorder sees end of file if the child never sends the listener) and the recorder
    /// starts; `own_pid_ns`: the child is init of a new pid namespace.
    pub fn start(self, own_pid_ns: bool) -> Recorder {
        drop(self.child_end);
        self.recorder.start(own_pid_ns)
    }
}

/// What the confine phase installs: the program (or nothing when skipped) and its report.
#[derive(Debug)]
pub struct Prepared {
    /// The program, or `None` when seccomp is unavailable and the plan allows that.
    pub program: Option<Program>,
    /// Denial recording, when the kernel has user notification.
    pub observe: Option<Observe>,
    /// `details.seccomp` of the confine phase.
    pub details: Value,
    /// Whether less than the plan asked for is installed.
    pub degraded: bool,
}

/// Whether the kernel has seccomp filter mode: `SECCOMP_GET_ACTION_AVAIL` for ALLOW.
pub fn filter_mode_available() -> bool {
    const SECCOMP_GET_ACTION_AVAIL: c_uint = 2;
    let allow: u32 = 0x7fff_0000;
    // SAFETY: the kernel reads one u32 action from the pointer; no other memory.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_GET_ACTION_AVAIL,
            0 as c_uint,
            &allow as *const u32,
        )
    };
    ret == 0
}

/// Whether the kernel knows filter flag `flag`: `SECCOMP_SET_MODE_FILTER` with a NULL
/// program fails with EFAULT for known flags and EINVAL for unknown ones, installing
/// nothing (the libseccomp probe).
pub fn flag_available(flag: c_uint) -> bool {
    const SECCOMP_SET_MODE_FILTER: c_uint = 1;
    // SAFETY: a NULL program makes the kernel fail before it installs anything.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flag,
            std::ptr::null::<sys::SockFprog>(),
        )
    };
    // SAFETY: errno of this thread, read right after the call.
    ret < 0 && unsafe { *libc::__errno_location() } == libc::EFAULT
}

/// The available return actions (`/proc/sys/kernel/seccomp/actions_avail`).
pub fn actions_available() -> Option<Vec<String>> {
    let text = std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail").ok()?;
    Some(text.split_whitespace().map(str::to_string).collect())
}

fn to_filter(bytes: &[u8]) -> Vec<libc::sock_filter> {
    bytes
        .chunks_exact(8)
        .map(|i| libc::sock_filter {
            code: u16::from_ne_bytes([i[0], i[1]]),
            jt: i[2],
            jf: i[3],
            k: u32::from_ne_bytes([i[4], i[5], i[6], i[7]]),
        })
        .collect()
}

/// Checks the program's digest and the kernel's support, and lays the program out for
/// the child; with `record_denials` (a normal launch, not learn mode's recording filter)
/// also what recording its denials takes, where the kernel allows it.
pub fn prepare(section: &SeccompSection, record_denials: bool) -> Result<Prepared, Refusal> {
    let actual = sha256_hex(&section.program);
    if actual != section.sha256 {
        return Err(Refusal::DigestMismatch(format!(
            "The plan's seccomp program has sha256 {actual}, the plan says {}; the plan is corrupt: recompile and re-sign it",
            section.sha256
        )));
    }
    let instructions = section.program.len() / 8;
    let mut details = serde_json::Map::new();
    details.insert("seccompSha256".into(), json!(actual));
    details.insert("instructions".into(), json!(instructions));
    let required = section.enforce == Enforce::Required;
    if !filter_mode_available() {
        if required {
            return Err(Refusal::KernelUnsupported(
                "The plan requires a seccomp filter and this kernel has no seccomp filter mode; use a kernel with CONFIG_SECCOMP_FILTER or set enforce.seccomp: best_effort".to_string(),
            ));
        }
        details.insert("flags".into(), json!([]));
        details.insert(
            "skipped".into(),
            json!("this kernel has no seccomp filter mode"),
        );
        return Ok(Prepared {
            program: None,
            observe: None,
            details: serde_json::Value::Object(details),
            degraded: true,
        });
    }
    let (mut flags, mut names, mut dropped) = (0, Vec::new(), Vec::new());
    for (name, value) in FLAGS {
        if section.flags & value == 0 {
            continue;
        }
        if flag_available(value) {
            flags |= value;
            names.push(name);
        } else if required {
            return Err(Refusal::KernelUnsupported(format!(
                "The plan's seccomp filter flag {name} is unknown to this kernel; upgrade the kernel or set enforce.seccomp: best_effort"
            )));
        } else {
            dropped.push(name);
        }
    }
    details.insert("flags".into(), json!(names));
    let degraded = !dropped.is_empty();
    if degraded {
        details.insert("droppedFlags".into(), json!(dropped));
    }
    let observe = match (record_denials, why_unobserved(&section.program)) {
        (false, _) => None,
        (true, None) => {
            details.insert("denials".into(), json!({ "recorded": true }));
            Some(prepare_observe(section, flags)?)
        }
        (true, Some(why)) => {
            details.insert("denials".into(), json!({ "recorded": false, "why": why }));
            None
        }
    };
    Ok(Prepared {
        program: Some(Program::new(&section.program, flags)),
        observe,
        details: Value::Object(details),
        degraded,
    })
}

/// Why this launch's denials cannot be recorded (None: they can).
fn why_unobserved(program: &[u8]) -> Option<&'static str> {
    let has = |action: &str| actions_available().is_some_and(|a| a.iter().any(|n| n == action));
    if !has("user_notif") {
        return Some("this kernel has no seccomp user notification");
    }
    let returns = to_filter(program)
        .into_iter()
        .filter(|i| i.code == RET_K)
        .map(|i| i.k & RET_ACTION)
        .collect::<Vec<_>>();
    if returns.contains(&RET_USER_NOTIF) {
        // Its own notifications fail with ENOSYS (no listener); recording would answer them.
        return Some("the program returns SECCOMP_RET_USER_NOTIF itself");
    }
    if !returns.contains(&RET_ERRNO) {
        return Some("the program has no errno returns");
    }
    None
}

fn prepare_observe(section: &SeccompSection, flags: c_uint) -> Result<Observe, Refusal> {
    let unavailable = |what: &str, e: sys::Errno| {
        Refusal::HandleUnavailable(format!(
            "{what} for recording seccomp denials failed: {}",
            std::io::Error::from_raw_os_error(e)
        ))
    };
    // The kernel knows the flag only together with NEW_LISTENER.
    let with_listener = seccomp_notify::FLAG_NEW_LISTENER | FLAG_WAIT_KILLABLE_RECV;
    let killable = match flag_available(with_listener) {
        true => FLAG_WAIT_KILLABLE_RECV,
        false => 0,
    };
    let (parent_end, child_end) =
        seccomp_notify::socketpair().map_err(|e| unavailable("Creating the socketpair", e))?;
    let child_end =
        sys::above_stdio(child_end).map_err(|e| unavailable("Moving the socket above stdio", e))?;
    let mut stack = vec![0u8; HANDOFF_STACK];
    let end = stack.as_mut_ptr().wrapping_add(HANDOFF_STACK);
    let stack_top = end.wrapping_sub(end as usize % 16).cast::<c_void>();
    Ok(Observe {
        // Once the launcher has received a notification, only a fatal signal interrupts the
        // call's wait for the answer: another would fail it with EINTR (or restart it)
        // where the plan's program returns its errno.
        notify: Program::new(&errno_to_notify(&section.program), flags | killable),
        handoff: Box::new(Handoff {
            listener: AtomicI32::new(-1),
            socket: child_end.as_raw_fd(),
        }),
        _stack: stack,
        stack_top,
        child_end,
        recorder: denials::Pending::new(parent_end, section.program.clone()),
    })
}

/// The handoff thread of the child: created before the filter is installed (so it is
/// not under it: filters are per thread without TSYNC), it waits for the listener, sends
/// it to the launcher and closes both, then ends. The main thread makes no syscall for
/// the handoff, so one its filter denies cannot keep the listener from the launcher: it
/// waits, as a notified call does, until the launcher holds the listener and answers.
/// Raw syscalls only; nothing allocated.
extern "C" fn hand_off(arg: *mut c_void) -> c_int {
    // SAFETY: arg is the Handoff the main thread passed to clone; it lives in this shared
    // address space until exec, which ends this thread too.
    let handoff = unsafe { &*(arg as *const Handoff) };
    let listener = loop {
        let fd = handoff.listener.load(Ordering::Acquire);
        if fd >= 0 {
            break fd;
        }
        // SAFETY: sched_yield takes no arguments.
        unsafe { libc::syscall(libc::SYS_sched_yield) };
    };
    // A failed send closes the socket all the same: the launcher sees end of file and
    // refuses to release the child to exec.
    let _ = seccomp_notify::send_fd(handoff.socket, listener);
    let _ = sys::close(listener);
    let _ = sys::close(handoff.socket);
    0
}

/// Child: starts the handoff thread (sharing memory, fds and signal handlers, as a
/// thread). Its errno when it cannot be created (RLIMIT_NPROC): the child then closes
/// the socket and installs the plan's program as it is ([`apply`]).
pub fn start_handoff(spec: &ObserveSpec<'_>) -> Result<(), sys::Errno> {
    let flags = libc::CLONE_VM
        | libc::CLONE_FS
        | libc::CLONE_FILES
        | libc::CLONE_SIGHAND
        | libc::CLONE_THREAD
        | libc::CLONE_SYSVSEM;
    // SAFETY: the stack is a buffer of the parent's prepared data (this process's copy),
    // used by the new thread only; hand_off touches nothing but the Handoff it is given,
    // which outlives it (until exec).
    let tid = unsafe {
        libc::clone(
            hand_off,
            spec.stack_top,
            flags,
            spec.handoff as *const Handoff as *mut c_void,
        )
    };
    if tid < 0 {
        let errno = sys::errno();
        let _ = sys::close(spec.handoff.socket);
        return Err(errno);
    }
    Ok(())
}

/// Child: installs the rewritten program with a listener and hands the listener to the
/// handoff thread ([`start_handoff`] first). Raw syscalls only.
pub fn apply_observed(spec: &ObserveSpec<'_>) -> Result<(), sys::Errno> {
    let listener = seccomp_notify::install_with_listener(spec.notify, spec.flags)?;
    spec.handoff.listener.store(listener, Ordering::Release);
    Ok(())
}

/// Child: installs the prepared program with its flags (`None`: best_effort skipped it).
pub fn apply(program: Option<(&sys::SockFprog, c_uint)>) -> Result<(), sys::Errno> {
    match program {
        // SAFETY: the program points into the parent's prepared buffer, which this
        // process has a copy of; it stays valid until exec.
        Some((prog, flags)) => unsafe { sys::seccomp_set_filter(prog, flags) },
        None => Ok(()),
    }
}

impl std::fmt::Debug for Observe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Observe({:?}, socket {})",
            self.notify, self.handoff.socket
        )
    }
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Program({} instructions)", self.filter.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_kernel_has_filter_mode_and_both_flags() {
        assert!(filter_mode_available());
        assert!(flag_available(FLAG_LOG));
        assert!(flag_available(FLAG_SPEC_ALLOW));
        assert!(!flag_available(1 << 30));
        assert!(flag_available(
            seccomp_notify::FLAG_NEW_LISTENER | FLAG_WAIT_KILLABLE_RECV
        ));
        assert!(actions_available().unwrap().contains(&"errno".to_string()));
    }

    fn bytes(program: &[(u16, u8, u8, u32)]) -> Vec<u8> {
        program
            .iter()
            .flat_map(|&(code, jt, jf, k)| {
                let mut b = code.to_ne_bytes().to_vec();
                b.extend([jt, jf]);
                b.extend(k.to_ne_bytes());
                b
            })
            .collect()
    }

    #[test]
    fn accepts_the_reviewable_subset_and_refuses_what_the_kernel_or_the_review_would_not() {
        let allow = (RET_K, 0, 0, 0x7fff_0000);
        let ok = [
            (LD_W_ABS, 0, 0, 4),
            (JMP_JEQ_K, 0, 3, 0xc000_003e),
            (LD_W_ABS, 0, 0, 16),
            (ALU_AND_K, 0, 0, 0xff),
            (JMP_JSET_K, 1, 0, 1),
            allow,
            (RET_K, 0, 0, 0x0005_0001),
        ];
        assert_eq!(check_program(&bytes(&ok)), Ok(()));
        let refused: [&[(u16, u8, u8, u32)]; 9] = [
            &[],
            &[(LD_W_ABS, 0, 0, 64), allow],     // outside seccomp_data
            &[(LD_W_ABS, 0, 0, 2), allow],      // unaligned
            &[(0x00, 0, 0, 7), allow],          // ld #imm: kernel ok, not reviewable
            &[(0x28, 0, 0, 0), allow],          // ld half word: the kernel refuses
            &[(JMP_JEQ_K, 1, 0, 0), allow],     // jump past the end
            &[(JMP_JA, 0, 0, u32::MAX), allow], // ja past the end
            &[allow, (LD_W_ABS, 0, 0, 0)],      // no ret last
            &[(0x16, 0, 0, 0)],                 // ret A
        ];
        for program in refused {
            assert!(check_program(&bytes(program)).is_err(), "{program:?}");
        }
        assert!(check_program(&vec![0u8; 8 * (MAX_INSTRUCTIONS + 1)]).is_err());
    }

    #[test]
    fn the_rewrite_notifies_errno_returns_only() {
        let program = bytes(&[
            (LD_W_ABS, 0, 0, 0),
            (JMP_JEQ_K, 0, 1, 0x0005_0001), // a compare whose constant looks like ERRNO
            (RET_K, 0, 0, 0x0005_000d),     // errno(EACCES)
            (RET_K, 0, 0, 0x8000_0000),     // kill process
            (RET_K, 0, 0, 0x7ffc_0000),     // log
            (RET_K, 0, 0, 0x7fff_0000),     // allow
        ]);
        let expected = bytes(&[
            (LD_W_ABS, 0, 0, 0),
            (JMP_JEQ_K, 0, 1, 0x0005_0001),
            (RET_K, 0, 0, RET_USER_NOTIF),
            (RET_K, 0, 0, 0x8000_0000),
            (RET_K, 0, 0, 0x7ffc_0000),
            (RET_K, 0, 0, 0x7fff_0000),
        ]);
        assert_eq!(errno_to_notify(&program), expected);
        assert_eq!(
            why_unobserved(&expected),
            Some("the program returns SECCOMP_RET_USER_NOTIF itself")
        );
        let allow_only = bytes(&[(RET_K, 0, 0, 0x7fff_0000)]);
        assert_eq!(
            why_unobserved(&allow_only),
            Some("the program has no errno returns")
        );
        assert_eq!(why_unobserved(&program), None);
    }

    #[test]
    fn programs_are_laid_out_in_host_order_and_digests_checked() {
        // ret ALLOW
        let allow = [0x06u8, 0, 0, 0, 0, 0, 0xff, 0x7f];
        let mut section = SeccompSection {
            enforce: Enforce::Required,
            program: allow.to_vec(),
            sha256: sha256_hex(&allow),
            flags: FLAG_LOG,
        };
        let prepared = prepare(&section, false).unwrap();
        let program = prepared.program.unwrap();
        assert_eq!(program.fprog().len, 1);
        assert_eq!(program.filter[0].code, 6);
        assert_eq!(program.filter[0].k, 0x7fff_0000);
        assert_eq!(program.flags, FLAG_LOG);
        assert_eq!(prepared.details["flags"], json!(["log"]));
        assert_eq!(prepared.details["instructions"], 1);
        section.sha256 = "00".repeat(32);
        assert_eq!(
            prepare(&section, false).unwrap_err().code(),
            "digest_mismatch"
        );
    }
}
