//! seccomp user notification, shared by learn mode (`mechanism::learn`) and the denial
//! recorder of normal launches (`mechanism::seccomp`): the kernel's structures and
//! ioctls, a filter installed with a listener, the listener handed over a socketpair
//! (SCM_RIGHTS), a loop that answers notifications, and the classic-BPF interpreter that
//! decides what a program returns for one `seccomp_data`.
//!
//! The child-side functions ([`install_with_listener`], [`send_fd`]) make raw syscalls
//! only and allocate nothing.

use crate::sys;
use libc::{c_int, c_uint};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`.
pub const FLAG_NEW_LISTENER: c_uint = 1 << 3;
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
pub const FLAG_CONTINUE: u32 = 1;

/// `SECCOMP_RET_ACTION_FULL`: the action bits of a filter's return value.
pub const RET_ACTION: u32 = 0xffff_0000;
/// `SECCOMP_RET_ERRNO`.
pub const RET_ERRNO: u32 = 0x0005_0000;
/// `SECCOMP_RET_USER_NOTIF`.
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
/// `SECCOMP_RET_LOG`.
pub const RET_LOG: u32 = 0x7ffc_0000;
/// `SECCOMP_RET_ALLOW`.
pub const RET_ALLOW: u32 = 0x7fff_0000;
/// What the interpreter returns outside the checked subset (never reached for a checked
/// program): `SECCOMP_RET_ERRNO | EPERM`.
const RET_OUTSIDE_SUBSET: u32 = 0x0005_0001;

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
pub struct Notif {
    /// The notification's id (answers name it).
    pub id: u64,
    /// The calling thread, in the listener's pid namespace.
    pub pid: u32,
    /// Unused (0).
    pub flags: u32,
    /// The call.
    pub data: SeccompData,
}

/// `struct seccomp_notif_resp`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct NotifResp {
    /// The notification answered.
    pub id: u64,
    /// The return value when `error` is 0.
    pub val: i64,
    /// `-errno`, or 0.
    pub error: i32,
    /// [`FLAG_CONTINUE`] or 0.
    pub flags: u32,
}

impl NotifResp {
    /// The answer to `notif` that fails the call with `-error` exactly as a filter's
    /// `SECCOMP_RET_ERRNO` would (an errno of 0 returns 0 without running the call).
    pub fn error(notif: &Notif, errno: i32) -> NotifResp {
        NotifResp {
            id: notif.id,
            error: -errno,
            ..NotifResp::default()
        }
    }
}

/// The errno a filter's `SECCOMP_RET_ERRNO | data` return makes a call fail with: the
/// kernel caps the data at `MAX_ERRNO`.
pub fn errno_of(ret: u32) -> i32 {
    (ret & 0xffff).min(4095) as i32
}

/// The name of an `AUDIT_ARCH_*` value (its hex form for one charter never compiles for).
pub fn arch_name(arch: u32) -> String {
    match arch {
        0xc000_003e => "x86_64".to_string(),
        0xc000_00b7 => "aarch64".to_string(),
        0x4000_0003 => "i386".to_string(),
        0x4000_0028 => "arm".to_string(),
        other => format!("{other:#x}"),
    }
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
            _ => return RET_OUTSIDE_SUBSET,
        };
    }
    RET_OUTSIDE_SUBSET
}

/// A socketpair (`SOCK_SEQPACKET`, close-on-exec) to hand a listener over:
/// `(parent's end, child's end)`.
pub fn socketpair() -> Result<(OwnedFd, OwnedFd), sys::Errno> {
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
        return Err(sys::errno());
    }
    // SAFETY: socketpair just returned these fds; nothing else owns them.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Child: installs `prog` with `SECCOMP_FILTER_FLAG_NEW_LISTENER` and returns the
/// listener (close-on-exec: the kernel creates it with `O_CLOEXEC`). Raw syscalls only.
pub fn install_with_listener(prog: &sys::SockFprog, flags: c_uint) -> Result<c_int, sys::Errno> {
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
        return Err(sys::errno());
    }
    Ok(listener as c_int)
}

/// Child: sends `fd` over `socket` with SCM_RIGHTS. Raw syscalls only; nothing allocated.
pub fn send_fd(socket: c_int, fd: c_int) -> Result<(), sys::Errno> {
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
        fd,
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
    if unsafe { libc::sendmsg(socket, &msg, libc::MSG_NOSIGNAL) } < 0 {
        return Err(sys::errno());
    }
    Ok(())
}

/// Receives one fd sent with SCM_RIGHTS (None: end of file, the child died first).
pub fn receive_fd(socket: RawFd) -> Option<OwnedFd> {
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

/// True while the notification's thread still waits in this syscall.
pub fn still_valid(listener: RawFd, id: u64) -> bool {
    // SAFETY: the ioctl reads one u64 from the pointer.
    unsafe { libc::ioctl(listener, NOTIF_ID_VALID, &id as *const u64) == 0 }
}

/// Serves `listener` until every process that holds its filter is gone: `answer` decides
/// each notification. The calling thread waits for every answer, so it is woken
/// synchronously on the caller's CPU (Linux 6.6+; older kernels keep the ordinary wakeup).
pub fn serve(listener: &OwnedFd, mut answer: impl FnMut(&Notif) -> NotifResp) {
    let fd = listener.as_raw_fd();
    // SAFETY: the ioctl reads one u64 flag word from its argument.
    unsafe { libc::ioctl(fd, NOTIF_SET_FLAGS, FLAG_SYNC_WAKE_UP) };
    loop {
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd, a live local.
        let ready = unsafe { libc::poll(&mut poll, 1, -1) };
        if ready < 0 {
            if sys::errno() == libc::EINTR {
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
        let mut resp = answer(&notif);
        // SAFETY: the kernel reads one struct seccomp_notif_resp of this layout.
        unsafe { libc::ioctl(fd, NOTIF_SEND, &mut resp as *mut NotifResp) };
    }
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
    fn errnos_are_capped_like_the_kernel_and_arches_named() {
        assert_eq!(errno_of(0x0005_0001), 1);
        assert_eq!(errno_of(0x0005_ffff), 4095);
        assert_eq!(arch_name(0xc000_003e), "x86_64");
        assert_eq!(arch_name(0x1234), "0x1234");
    }
}
