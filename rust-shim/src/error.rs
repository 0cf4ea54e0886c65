//! Why a launch did not start: refusals (nothing ran; stable codes of DESIGN §5) and setup
//! faults (a step failed, with its errno).

use crate::step::Step;
use serde_json::{json, Value};

/// A refusal: the launch was stopped before any child ran. Each variant is one stable
/// refusal code and carries a one-sentence detail saying what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `plan_invalid`: the envelope, the plan or the launch request is malformed.
    PlanInvalid(String),
    /// `signature_invalid`: no trusted key verifies the envelope.
    SignatureInvalid(String),
    /// `plan_expired`: the plan's `notAfter` has passed.
    PlanExpired(String),
    /// `arch_mismatch`: the plan was compiled for another architecture.
    ArchMismatch(String),
    /// `unknown_primitive`: the schedule names a primitive this shim does not know.
    UnknownPrimitive(String),
    /// `kernel_unsupported`: the kernel lacks something the plan requires.
    KernelUnsupported(String),
    /// `digest_mismatch`: the target's contents differ from the plan's digest.
    DigestMismatch(String),
    /// `handle_unavailable`: a path or fd the launch needs cannot be opened or used.
    HandleUnavailable(String),
    /// `handle_unavailable` for a target that does not exist: exit code 127, not 125.
    TargetMissing(String),
    /// `extra_args_forbidden`: arguments were appended but the plan does not allow it.
    ExtraArgsForbidden(String),
    /// `path_changed`: a path of the plan now resolves through a symlink or to another file
    /// than the resolution recorded at compile time.
    PathChanged(String),
}

impl Refusal {
    /// The stable refusal code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::PlanInvalid(_) => "plan_invalid",
            Refusal::SignatureInvalid(_) => "signature_invalid",
            Refusal::PlanExpired(_) => "plan_expired",
            Refusal::ArchMismatch(_) => "arch_mismatch",
            Refusal::UnknownPrimitive(_) => "unknown_primitive",
            Refusal::KernelUnsupported(_) => "kernel_unsupported",
            Refusal::DigestMismatch(_) => "digest_mismatch",
            Refusal::HandleUnavailable(_) | Refusal::TargetMissing(_) => "handle_unavailable",
            Refusal::ExtraArgsForbidden(_) => "extra_args_forbidden",
            Refusal::PathChanged(_) => "path_changed",
        }
    }

    /// The human-readable detail.
    pub fn detail(&self) -> &str {
        match self {
            Refusal::PlanInvalid(d)
            | Refusal::SignatureInvalid(d)
            | Refusal::PlanExpired(d)
            | Refusal::ArchMismatch(d)
            | Refusal::UnknownPrimitive(d)
            | Refusal::KernelUnsupported(d)
            | Refusal::DigestMismatch(d)
            | Refusal::HandleUnavailable(d)
            | Refusal::TargetMissing(d)
            | Refusal::ExtraArgsForbidden(d)
            | Refusal::PathChanged(d) => d,
        }
    }
}

/// A setup step that failed with an errno. `step` is a primitive id for steps of the
/// child, or a parent step: `transcript`, `pipe`, `clone3`, `signal_mask`, `progress`,
/// `waitid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// Which step failed.
    pub step: &'static str,
    /// The errno it failed with (0 when there is none, e.g. the child vanished).
    pub errno: i32,
}

impl Fault {
    /// A one-sentence description of the fault for the transcript and the outcome.
    pub fn describe(&self, what: &str) -> String {
        if self.errno == 0 {
            what.to_string()
        } else {
            format!("{what}: {}", std::io::Error::from_raw_os_error(self.errno))
        }
    }
}

/// Why `launch` returned no running child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Refused before any child ran.
    Refused(Refusal),
    /// A setup step failed.
    Faulted {
        /// The step and errno.
        fault: Fault,
        /// One sentence for people.
        detail: String,
    },
}

impl Failure {
    /// A fault with its description.
    pub fn fault(step: &'static str, errno: i32, what: &str) -> Failure {
        let fault = Fault { step, errno };
        Failure::Faulted {
            detail: fault.describe(what),
            fault,
        }
    }

    /// The exit code of `charter launch`: 125 refused, 126 setup fault, 127 target missing
    /// (refused as missing, or the exec itself found nothing: `ENOENT`).
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Refused(Refusal::TargetMissing(_)) => 127,
            Failure::Refused(_) => 125,
            Failure::Faulted { fault, .. }
                if fault.step == Step::Exec.id() && fault.errno == libc::ENOENT =>
            {
                127
            }
            Failure::Faulted { .. } => 126,
        }
    }

    /// The outcome JSON of `charter_launch` (docs/plan-and-shim.md).
    pub fn outcome(&self) -> Value {
        match self {
            Failure::Refused(r) => {
                json!({ "outcome": "refused", "reason": r.code(), "detail": r.detail() })
            }
            Failure::Faulted { fault, detail } => json!({
                "outcome": "faulted", "step": fault.step, "errno": fault.errno, "detail": detail,
            }),
        }
    }
}

/// A `kernel_unsupported` refusal as a [`Failure`].
pub fn unsupported(detail: String) -> Failure {
    Refusal::KernelUnsupported(detail).into()
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Failure {
        Failure::Refused(r)
    }
}
