//! Everything the child needs, built in the parent before clone3: the verified target fd
//! (opened once, hashed through that fd, executed through it), argv/envp arrays, the cwd,
//! the fds that survive the scrub, the progress pipe, and what each phase will report.

use crate::child::ChildSpec;
use crate::digest::Hasher;
use crate::error::{Failure, Refusal};
use crate::plan::{Plan, Step, PHASE_NAMES};
use crate::sys;
use serde_json::{json, Map, Value};
use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;

/// The fault step of creating the progress pipe.
const PIPE_STEP: &str = "pipe";

/// Owned C strings and the NULL-terminated pointer array execveat takes.
struct CStringArray {
    _owned: Vec<CString>,
    ptrs: Vec<*const libc::c_char>,
}

impl CStringArray {
    fn new(owned: Vec<CString>) -> CStringArray {
        let mut ptrs: Vec<*const libc::c_char> = owned.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        CStringArray {
            _owned: owned,
            ptrs,
        }
    }
}

/// A prepared launch.
pub struct Prepared {
    exe: OwnedFd,
    /// SHA-256 of the target, recomputed through the fd.
    pub exe_sha256: String,
    exe_is_script: bool,
    argv: CStringArray,
    envp: CStringArray,
    cwd: CString,
    steps: Vec<Step>,
    keep: Vec<RawFd>,
    open_fds: Vec<RawFd>,
    progress_read: OwnedFd,
    progress_write: OwnedFd,
    phases: PhaseReports,
}

/// The `phase_resolved` result and details of phases 1–5, from what was prepared.
pub struct PhaseReports([(&'static str, Value); 5]);

impl PhaseReports {
    /// The `phase_resolved` fields of a phase (1–5).
    pub fn fields(&self, phase: u8) -> Vec<(&'static str, Value)> {
        let index = usize::from(phase.clamp(1, 5) - 1);
        let (result, details) = &self.0[index];
        vec![
            ("phase", json!(phase)),
            ("name", json!(PHASE_NAMES[index])),
            ("result", json!(result)),
            ("details", details.clone()),
        ]
    }
}

/// Moves a fresh fd above 0–2 (they may be closed in the launcher): fds 0–2 belong to
/// the child's stdio.
fn above_stdio(fd: OwnedFd) -> Result<OwnedFd, sys::Errno> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    let moved = sys::dup_cloexec_at_least(fd.as_raw_fd(), 3)?;
    // SAFETY: moved is a new fd that F_DUPFD_CLOEXEC just returned; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(moved) })
}

/// Opens the target (O_RDONLY|O_CLOEXEC, and O_NONBLOCK so that a FIFO put in its place
/// cannot stall the launch) and hashes it through the same fd; returns the fd, the digest
/// and whether it starts with `#!`.
fn open_target(path: &str) -> Result<(OwnedFd, String, bool), Refusal> {
    let unavailable = |e: std::io::Error| {
        if e.kind() == ErrorKind::NotFound {
            Refusal::TargetMissing(format!(
                "The target {path} does not exist; install it or fix the policy's target.exe"
            ))
        } else {
            Refusal::HandleUnavailable(format!(
                "The target {path} cannot be opened for reading: {e}"
            ))
        }
    };
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(unavailable)?;
    if !file.metadata().map_err(unavailable)?.is_file() {
        return Err(Refusal::HandleUnavailable(format!(
            "The target {path} is not a regular file; name the executable itself"
        )));
    }
    let mut hasher = Hasher::start();
    let mut head = Vec::with_capacity(2);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(unavailable(e)),
        };
        let chunk = &buf[..n];
        let wanted = 2usize.saturating_sub(head.len()).min(n);
        head.extend_from_slice(&chunk[..wanted]);
        hasher.update(chunk);
    }
    let fd = above_stdio(OwnedFd::from(file)).map_err(|e| {
        Refusal::HandleUnavailable(format!(
            "The target {path} cannot be kept open: {}",
            std::io::Error::from_raw_os_error(e)
        ))
    })?;
    Ok((fd, hasher.finish_hex(), head == b"#!"))
}

/// Checks that each kept fd is open in the launcher and is not the transcript.
fn check_keep(keep: &[RawFd], transcript_fd: Option<RawFd>) -> Result<(), Refusal> {
    for &fd in keep {
        if Some(fd) == transcript_fd {
            return Err(Refusal::HandleUnavailable(format!(
                "fd {fd} is kept for the child but is the transcript; the child must not write the transcript"
            )));
        }
        if sys::fd_flags(fd).is_err() {
            return Err(Refusal::HandleUnavailable(format!(
                "fd {fd} (fds.pass) is not open in the launcher; open it before launching or remove it from the policy"
            )));
        }
    }
    Ok(())
}

/// The child's environment: `env.set`, then each `env.pass` name present in the
/// launcher's environment. Returns the entries and the passed and absent names.
fn build_env(plan: &Plan) -> (Vec<CString>, Vec<String>, Vec<String>) {
    let mut entries: Vec<CString> = plan
        .env_set
        .iter()
        .map(|(_, entry)| entry.clone())
        .collect();
    let (mut passed, mut absent) = (Vec::new(), Vec::new());
    for name in &plan.env_pass {
        let entry = std::env::var_os(name).and_then(|value| {
            let mut bytes = format!("{name}=").into_bytes();
            bytes.extend_from_slice(value.as_bytes());
            CString::new(bytes).ok()
        });
        match entry {
            Some(entry) => {
                entries.push(entry);
                passed.push(name.clone());
            }
            None => absent.push(name.clone()),
        }
    }
    (entries, passed, absent)
}

fn phase_reports(
    plan: &Plan,
    passed: Vec<String>,
    absent: Vec<String>,
    is_script: bool,
) -> PhaseReports {
    let set_names: Vec<&str> = plan.env_set.iter().map(|(name, _)| name.as_str()).collect();
    let mut details: [Map<String, Value>; 5] = Default::default();
    let mut present = [false; 5];
    for &step in &plan.steps {
        let phase = usize::from(step.phase() - 1);
        present[phase] = true;
        let (key, value) = match step {
            Step::Cwd => ("cwd", json!(plan.cwd.to_string_lossy())),
            Step::Signals => ("signals", json!("reset")),
            Step::Env => (
                "env",
                json!({ "set": set_names, "passed": passed, "absent": absent }),
            ),
            Step::Fds => ("fds", json!({ "kept": plan.keep })),
            Step::NoNewPrivs => ("noNewPrivs", json!(true)),
            Step::Exec => ("script", json!(is_script)),
        };
        details[phase].insert(key.to_string(), value);
    }
    PhaseReports(std::array::from_fn(|i| {
        let result = if present[i] {
            "applied"
        } else {
            "not_required"
        };
        (result, Value::Object(std::mem::take(&mut details[i])))
    }))
}

/// Prepares a launch of a verified plan with the request's extra arguments.
pub fn prepare(
    plan: &Plan,
    extra_args: Vec<CString>,
    transcript_fd: Option<RawFd>,
) -> Result<Prepared, Failure> {
    check_keep(&plan.keep, transcript_fd)?;
    let (exe, exe_sha256, exe_is_script) = open_target(&plan.exe)?;
    if exe_sha256 != plan.sha256 {
        return Err(Refusal::DigestMismatch(format!(
            "The target {} has sha256 {exe_sha256}, the plan expects {}; it changed since the plan was compiled: recompile and re-sign the plan",
            plan.exe, plan.sha256
        ))
        .into());
    }
    if !sys::has_close_range() {
        return Err(Refusal::KernelUnsupported(
            "This kernel lacks close_range (Linux 5.9+), which the fd scrub needs; upgrade the kernel".to_string(),
        )
        .into());
    }
    let argv = CStringArray::new(plan.argv.iter().cloned().chain(extra_args).collect());
    let (env, passed, absent) = build_env(plan);
    let pipe_fault = |e| Failure::fault(PIPE_STEP, e, "Creating the progress pipe failed");
    let [read_end, write_end] = sys::pipe_cloexec().map_err(pipe_fault)?;
    // SAFETY: pipe2 just returned these two fds; nothing else owns them.
    let (read_end, write_end) = unsafe {
        (
            OwnedFd::from_raw_fd(read_end),
            OwnedFd::from_raw_fd(write_end),
        )
    };
    let progress_read = above_stdio(read_end).map_err(pipe_fault)?;
    let progress_write = above_stdio(write_end).map_err(pipe_fault)?;
    let own = [
        exe.as_raw_fd(),
        progress_write.as_raw_fd(),
        progress_read.as_raw_fd(),
    ];
    if let Some(fd) = own.iter().find(|fd| plan.keep.contains(fd)) {
        return Err(Refusal::HandleUnavailable(format!(
            "fd {fd} (fds.pass) was closed while the launch was prepared; keep it open until the launch"
        ))
        .into());
    }
    let mut open_fds: Vec<RawFd> = plan
        .keep
        .iter()
        .copied()
        .chain(own[..2].iter().copied())
        .collect();
    open_fds.sort_unstable();
    Ok(Prepared {
        exe,
        exe_sha256,
        exe_is_script,
        argv,
        envp: CStringArray::new(env),
        cwd: plan.cwd.clone(),
        steps: plan.steps.clone(),
        keep: plan.keep.clone(),
        open_fds,
        progress_read,
        progress_write,
        phases: phase_reports(plan, passed, absent, exe_is_script),
    })
}

impl Prepared {
    /// The child's view of this launch (valid while `self` lives).
    pub fn child_spec(&self) -> ChildSpec<'_> {
        ChildSpec {
            steps: &self.steps,
            cwd: self.cwd.as_c_str(),
            argv: self.argv.ptrs.as_ptr(),
            envp: self.envp.ptrs.as_ptr(),
            exe_fd: self.exe.as_raw_fd(),
            exe_is_script: self.exe_is_script,
            progress_fd: self.progress_write.as_raw_fd(),
            keep: &self.keep,
            open_fds: &self.open_fds,
        }
    }

    /// What the parent keeps once the child exists: the progress pipe's read end and the
    /// phase reports. Everything else is closed and freed now; in particular the pipe's
    /// write end, so that end of file means the child's copy closed.
    pub fn into_parent_side(self) -> (OwnedFd, PhaseReports) {
        (self.progress_read, self.phases)
    }
}
