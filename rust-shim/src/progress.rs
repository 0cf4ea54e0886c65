//! The progress pipe between the cloned child and the parent.
//!
//! The child writes fixed-size 12-byte messages, each with one `write(2)` (atomic: smaller
//! than `PIPE_BUF`), as three native-endian 32-bit words `[kind, arg, errno]`:
//!
//! | kind | name            | arg                     | errno |
//! |------|-----------------|-------------------------|-------|
//! | 1    | phase done      | phase 1–5               | 0     |
//! | 2    | ready to exec   | 0                       | 0     |
//! | 3    | fault           | step code ([`Step::code`]) | errno |
//! | 4    | dumpable        | 0                       | 0     |
//! | 5    | path changed    | check number of the view | 0     |
//! | 6    | denials unrecorded | 0                    | errno |
//!
//! The write end is close-on-exec, so end of file after "ready to exec" means the exec
//! succeeded. Encoding allocates nothing and cannot panic (it runs in the child).

use crate::step::Step;

/// Bytes per message.
pub const MESSAGE_LEN: usize = 12;

const KIND_PHASE_DONE: u32 = 1;
const KIND_READY: u32 = 2;
const KIND_FAULT: u32 = 3;
const KIND_DUMPABLE: u32 = 4;
const KIND_PATH_CHANGED: u32 = 5;
const KIND_DENIALS_UNRECORDED: u32 = 6;

/// One message from the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// Every primitive of the phase is applied.
    PhaseDone(u8),
    /// All phases are done; execveat comes next.
    ReadyToExec,
    /// The child made itself dumpable so that an unprivileged launcher can write its id
    /// maps and read its namespaces (it inherits the launcher's non-dumpable state).
    Dumpable,
    /// A path of the filesystem view is another inode than the one the parent opened (a
    /// rename or symlink swapped it since); the child exits with 126.
    PathChanged(u32),
    /// The thread that hands the seccomp listener over could not start (the errno of
    /// clone): the child installs the plan's program as it is; no denial is recorded.
    DenialsUnrecorded(i32),
    /// A step failed; the child exits with 126 (127 for execveat `ENOENT`).
    Fault {
        /// The failed step.
        step: Step,
        /// Its errno.
        errno: i32,
    },
}

impl Message {
    /// The wire form.
    pub fn encode(self) -> [u8; MESSAGE_LEN] {
        let (kind, arg, errno) = match self {
            Message::PhaseDone(phase) => (KIND_PHASE_DONE, u32::from(phase), 0),
            Message::ReadyToExec => (KIND_READY, 0, 0),
            Message::Dumpable => (KIND_DUMPABLE, 0, 0),
            Message::PathChanged(check) => (KIND_PATH_CHANGED, check, 0),
            Message::Fault { step, errno } => (KIND_FAULT, step.code(), errno),
            Message::DenialsUnrecorded(errno) => (KIND_DENIALS_UNRECORDED, 0, errno),
        };
        let (k, a, e) = (kind.to_ne_bytes(), arg.to_ne_bytes(), errno.to_ne_bytes());
        [
            k[0], k[1], k[2], k[3], a[0], a[1], a[2], a[3], e[0], e[1], e[2], e[3],
        ]
    }

    /// Parses the wire form; `None` for anything the child never sends.
    pub fn decode(bytes: [u8; MESSAGE_LEN]) -> Option<Message> {
        let word = |i: usize| [bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]];
        let (kind, arg, errno) = (
            u32::from_ne_bytes(word(0)),
            u32::from_ne_bytes(word(4)),
            i32::from_ne_bytes(word(8)),
        );
        match (kind, arg, errno) {
            (KIND_PHASE_DONE, 1..=5, 0) => Some(Message::PhaseDone(arg as u8)),
            (KIND_READY, 0, 0) => Some(Message::ReadyToExec),
            (KIND_DUMPABLE, 0, 0) => Some(Message::Dumpable),
            (KIND_PATH_CHANGED, check, 0) => Some(Message::PathChanged(check)),
            (KIND_DENIALS_UNRECORDED, 0, errno) => Some(Message::DenialsUnrecorded(errno)),
            (KIND_FAULT, code, errno) => Some(Message::Fault {
                step: Step::from_code(code)?,
                errno,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_garbage_is_rejected() {
        for m in [
            Message::PhaseDone(1),
            Message::PhaseDone(5),
            Message::ReadyToExec,
            Message::Dumpable,
            Message::PathChanged(3),
            Message::DenialsUnrecorded(libc::EAGAIN),
            Message::Fault {
                step: Step::Exec,
                errno: libc::ENOENT,
            },
        ] {
            assert_eq!(Message::decode(m.encode()), Some(m));
        }
        assert_eq!(Message::decode(Message::PhaseDone(6).encode()), None);
        assert_eq!(Message::decode([0xff; MESSAGE_LEN]), None);
    }
}
