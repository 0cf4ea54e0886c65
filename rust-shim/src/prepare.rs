//! Everything the child needs, built in the parent before clone3: the verified target fd
//! (opened once, hashed through that fd, executed through it), argv/envp arrays, the cwd,
//! the fds that survive the scrub, the progress and rendezvous pipes, the namespaces to
//! create, the cgroup to join, the resource limits, ids and capabilities, the Landlock
//! ruleset and the seccomp program, and what each phase will report.
//!
//! Every decision that can be made before a child exists is made here, so that a plan the
//! host cannot honour is refused (`kernel_unsupported`) instead of failing after clone.

use crate::caps;
use crate::child::{CapsSpec, ChildSpec, IdsSpec};
use crate::error::{Failure, Refusal};
use crate::hashed_file::{self, HashedFile};
use crate::mechanism::{cgroup, landlock, seccomp};
use crate::plan::{Input, Plan};
use crate::plan_path;
use crate::step::{Enforce, Step, PHASE_NAMES};
use crate::sys::{self, CapSets};
use libc::c_uint;
use serde_json::{json, Map, Value};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

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

/// One phase's `phase_resolved` result and details.
#[derive(Default)]
struct PhaseReport {
    /// The plan has a primitive of this phase.
    present: bool,
    /// Less than the plan asked for is enforced.
    degraded: bool,
    details: Map<String, Value>,
}

/// The `phase_resolved` result and details of phases 1–5.
#[derive(Default)]
pub struct PhaseReports([PhaseReport; 5]);

impl PhaseReports {
    fn phase(&mut self, phase: u8) -> &mut PhaseReport {
        &mut self.0[usize::from(phase.clamp(1, 5) - 1)]
    }

    /// Sets `details[key]` of a phase.
    pub fn insert(&mut self, phase: u8, key: &str, value: Value) {
        self.phase(phase).details.insert(key.to_string(), value);
    }

    /// Marks a phase `degraded`.
    pub fn degrade(&mut self, phase: u8) {
        self.phase(phase).degraded = true;
    }

    /// The `phase_resolved` fields of a phase (1–5).
    pub fn fields(&self, phase: u8) -> Vec<(&'static str, Value)> {
        let index = usize::from(phase.clamp(1, 5) - 1);
        let report = &self.0[index];
        let result = match (report.present, report.degraded) {
            (false, _) => "not_required",
            (true, false) => "applied",
            (true, true) => "degraded",
        };
        vec![
            ("phase", json!(phase)),
            ("name", json!(PHASE_NAMES[index])),
            ("result", json!(result)),
            ("details", Value::Object(report.details.clone())),
        ]
    }
}

/// The host id a root launcher's child runs as (uid and gid) unless the plan has
/// `linux.identity.host_root.v1`: the overflow id `nobody`/`nogroup`, which owns nothing a
/// setuid bit or a group grant could lend (docs/decisions.md).
pub const UNPRIVILEGED_ID: u32 = 65534;

/// The user namespace's single-line id maps: inside id → a host id (the launcher's own,
/// or [`UNPRIVILEGED_ID`] for a root launcher).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserMap {
    /// uid inside.
    pub inside_uid: u32,
    /// gid inside.
    pub inside_gid: u32,
    /// The host uid.
    pub outside_uid: u32,
    /// The host gid.
    pub outside_gid: u32,
    /// `setgroups` stays allowed and the child drops its supplementary groups (a launcher
    /// with CAP_SETGID); otherwise `setgroups` is denied, as the kernel requires.
    pub clear_groups: bool,
}

impl UserMap {
    /// `uid_map` content.
    pub fn uid_line(&self) -> String {
        format!("{} {} 1", self.inside_uid, self.outside_uid)
    }

    /// `gid_map` content.
    pub fn gid_line(&self) -> String {
        format!("{} {} 1", self.inside_gid, self.outside_gid)
    }

    /// What the transcript says about supplementary groups.
    pub fn setgroups(&self) -> &'static str {
        if self.clear_groups {
            "cleared"
        } else {
            "deny"
        }
    }
}

/// A host id the child may hold: the launcher's own, or [`UNPRIVILEGED_ID`] in place of 0
/// unless the plan keeps host root.
fn host_id(id: u32, host_root: bool) -> u32 {
    if id == 0 && !host_root {
        UNPRIVILEGED_ID
    } else {
        id
    }
}

/// The namespaces to create, and which of them may be given up (best_effort).
#[derive(Debug, Clone, Copy, Default)]
pub struct Namespaces {
    /// The user namespace and its maps.
    pub user: Option<UserMap>,
    /// The user namespace must not be given up.
    pub user_required: bool,
    /// Other `CLONE_NEW*` flags.
    pub flags: u64,
    /// They must not be given up.
    pub flags_required: bool,
}

/// A prepared launch.
pub struct Prepared {
    exe: OwnedFd,
    /// SHA-256 of the target, recomputed through the fd.
    pub exe_sha256: String,
    /// The `handles_verified` fields besides the exe and its digest: the interpreters
    /// verified (`interpreters`), why the target was copied into a sealed memfd
    /// (`exeCopied`), and the inputs as opened (`inputs`).
    pub handles: Vec<(&'static str, Value)>,
    exe_is_script: bool,
    argv: CStringArray,
    envp: CStringArray,
    cwd: Option<OwnedFd>,
    /// Owns the input copies of `input_raw` until the child exists.
    _input_copies: Vec<OwnedFd>,
    input_raw: Vec<RawFd>,
    steps: Vec<Step>,
    keep: Vec<RawFd>,
    open_fds: Vec<RawFd>,
    progress_read: OwnedFd,
    progress_write: OwnedFd,
    go: (OwnedFd, OwnedFd),
    /// Namespaces to create.
    pub namespaces: Namespaces,
    hostname: Vec<u8>,
    rlimits: Vec<(c_uint, u64)>,
    cgroup: Option<cgroup::Placement>,
    /// The cgroup may be given up if clone3 cannot join it.
    pub cgroup_required: bool,
    pdeathsig: i32,
    parent_pid: i32,
    ids: Option<IdsSpec>,
    /// The ids a launcher holding host root switches to when no user namespace is created
    /// and the plan keeps neither its own ids nor host root.
    fallback_ids: Option<IdsSpec>,
    caps_keep: Option<u64>,
    launcher_caps: CapSets,
    last_cap: u32,
    landlock: Option<OwnedFd>,
    seccomp: Option<seccomp::Program>,
    reports: PhaseReports,
}

/// Opens the target and pins its bytes ([`hashed_file::pin`]): the fd that will be
/// executed holds exactly the hashed bytes.
fn open_target(path: &str) -> Result<HashedFile, Refusal> {
    let file =
        hashed_file::open_regular(path, "target", "install it or fix the policy's target.exe")?;
    let mut hashed = hashed_file::pin(file, path, "target")?;
    hashed.fd = keep_open(hashed.fd, "target", path)?;
    Ok(hashed)
}

fn keep_open(fd: OwnedFd, role: &str, path: &str) -> Result<OwnedFd, Refusal> {
    sys::above_stdio(fd).map_err(|e| {
        Refusal::HandleUnavailable(format!(
            "The {role} {path} cannot be kept open: {}",
            std::io::Error::from_raw_os_error(e)
        ))
    })
}

/// Opens the cwd by its recorded resolution (`path_changed` when a symlink appeared); the
/// child `fchdir`s to this fd.
fn open_cwd(plan: &Plan) -> Result<(OwnedFd, Value), Refusal> {
    let flags = libc::O_PATH | libc::O_DIRECTORY;
    let opened =
        plan_path::open_unredirectable("cwd", &plan.cwd, plan.cwd_resolved.as_deref(), flags)?
            .ok_or_else(|| {
                Refusal::HandleUnavailable(format!(
                    "The cwd {} does not exist; create it or change target.cwd",
                    plan.cwd
                ))
            })?;
    let details = opened.describe(&plan.cwd);
    Ok((OwnedFd::from(opened.file), details))
}

/// An input opened by its recorded resolution and checked against its digest: `Some(fd)`
/// of a sealed memfd copy when others could change the file before the target reads it.
fn open_input(input: &Input) -> Result<(Option<OwnedFd>, Value), Refusal> {
    let hint = "restore it or remove it from target.inputs";
    let opened = plan_path::open(
        "input",
        &input.path,
        input.resolved.as_deref(),
        libc::O_RDONLY | libc::O_NONBLOCK,
    )?
    .ok_or_else(|| {
        Refusal::TargetMissing(format!("The input {} does not exist; {hint}", input.path))
    })?;
    let mut details = opened.describe(&input.path);
    let file = hashed_file::check_regular(opened.file, &input.path, "input")?;
    // The target opens the input again by path: a writer of the file or of a directory
    // on its path could change it in between, so then the target reads a copy instead.
    let hashed = match hashed_file::foreign_writer_on_path(&file, &input.path) {
        None => hashed_file::hash_in_place(file, &input.path, "input")?,
        Some(why) => hashed_file::copy_sealed(file, &input.path, "input", why)?,
    };
    if hashed.sha256 != input.sha256 {
        return Err(Refusal::DigestMismatch(format!(
            "The input {} has sha256 {}, the plan expects {}; it changed since the plan was compiled: recompile and re-sign the plan",
            input.path, hashed.sha256, input.sha256
        )));
    }
    details["sha256"] = json!(hashed.sha256);
    let Some(why) = hashed.copied else {
        return Ok((None, details));
    };
    details["copied"] = json!(why);
    Ok((Some(keep_open(hashed.fd, "input", &input.path)?), details))
}

/// Replaces each argv item naming a copied input by `/proc/self/fd/N` of its memfd; an
/// input that argv does not name cannot be redirected and is refused.
fn redirect_inputs(argv: &mut [CString], copies: &[(&Input, RawFd)]) -> Result<(), Refusal> {
    for (input, fd) in copies {
        let names = |a: &CString| {
            let a = a.as_bytes();
            a == input.path.as_bytes() || input.resolved.as_ref().is_some_and(|r| a == r.as_bytes())
        };
        // A formatted number holds no NUL byte: the error cannot happen.
        let copy = CString::new(format!("/proc/self/fd/{fd}"))
            .map_err(|_| Refusal::HandleUnavailable("An fd path contains a NUL byte".into()))?;
        let mut found = false;
        for item in argv.iter_mut().skip(1).filter(|a| names(a)) {
            *item = copy.clone();
            found = true;
        }
        if !found {
            return Err(Refusal::HandleUnavailable(format!(
                "The input {} can be changed by others, and argv does not name it, so the target cannot be given the pinned copy; make it writable only by root and the launcher, or name it in target.argv",
                input.path
            )));
        }
    }
    Ok(())
}

/// Checks that each kept fd is open in the launcher, was inherited by it, and is not the
/// transcript. An fd inherited across exec cannot carry FD_CLOEXEC; one that does was
/// opened by the launcher's runtime for itself (Deno's epoll, eventfds, cache databases).
fn check_keep(keep: &[RawFd], transcript_fd: Option<RawFd>) -> Result<(), Refusal> {
    for &fd in keep {
        if Some(fd) == transcript_fd {
            return Err(Refusal::HandleUnavailable(format!(
                "fd {fd} is kept for the child but is the transcript; the child must not write the transcript"
            )));
        }
        match sys::fd_flags(fd) {
            Err(_) => return Err(Refusal::HandleUnavailable(format!(
                "fd {fd} (fds.pass) is not open in the launcher; open it before launching or remove it from the policy"
            ))),
            Ok(flags) if flags & libc::FD_CLOEXEC != 0 => return Err(Refusal::HandleUnavailable(format!(
                "fd {fd} (fds.pass) was not inherited by the launcher (it is close-on-exec: the launcher opened it for itself); pass only fds the launcher was started with, e.g. `3<file charter launch …`"
            ))),
            Ok(_) => {}
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

fn pipe() -> Result<(OwnedFd, OwnedFd), sys::Errno> {
    let [read_end, write_end] = sys::pipe_cloexec()?;
    // SAFETY: pipe2 just returned these two fds; nothing else owns them.
    let (read_end, write_end) = unsafe {
        (
            OwnedFd::from_raw_fd(read_end),
            OwnedFd::from_raw_fd(write_end),
        )
    };
    Ok((sys::above_stdio(read_end)?, sys::above_stdio(write_end)?))
}

fn has(sets: &CapSets, cap: u32) -> bool {
    sets.effective & caps::bit(cap) != 0
}

fn unsupported(detail: String) -> Failure {
    Refusal::KernelUnsupported(detail).into()
}

/// Whether user namespaces are switched off on this host (`max_user_namespaces` 0).
fn user_namespaces_disabled() -> Option<String> {
    let max = std::fs::read_to_string("/proc/sys/user/max_user_namespaces").ok()?;
    (max.trim() == "0").then(|| {
        "user namespaces are disabled (/proc/sys/user/max_user_namespaces is 0)".to_string()
    })
}

/// Decides the namespaces (identity and visibility): refuses what `required` cannot have,
/// records what `best_effort` gives up.
fn plan_namespaces(
    plan: &Plan,
    launcher: &CapSets,
    reports: &mut PhaseReports,
) -> Result<(Namespaces, Vec<u8>), Failure> {
    let mut ns = Namespaces::default();
    let (euid, egid) = sys::effective_ids();
    let host_root = plan.steps.contains(&Step::HostRoot);
    if let Some(user) = plan.params.userns {
        reports.phase(1).present = true;
        ns.user_required = user.enforce == Enforce::Required;
        match user_namespaces_disabled() {
            Some(reason) if ns.user_required => {
                return Err(unsupported(format!(
                    "The plan requires a user namespace, but {reason}; enable them or set enforce.namespaces: best_effort"
                )))
            }
            Some(reason) => {
                if let Some(cap) = plan.params.host_capability().filter(|_| !host_root) {
                    return Err(unsupported(format!(
                        "The plan keeps {} in a user namespace, but {reason}; on the host it would be host authority, which the plan does not grant (linux.identity.host_root.v1)",
                        caps::names(caps::bit(cap)).join("")
                    )));
                }
                reports.insert(1, "userNamespace", json!({ "skipped": reason }));
                reports.degrade(1);
            }
            None => {
                // One id given stands for both: `uid: 65534` alone must not run as gid 0.
                ns.user = Some(UserMap {
                    inside_uid: user.uid.or(user.gid).unwrap_or(euid),
                    inside_gid: user.gid.or(user.uid).unwrap_or(egid),
                    outside_uid: host_id(euid, host_root),
                    outside_gid: host_id(egid, host_root),
                    clear_groups: !host_root && has(launcher, caps::SETGID),
                })
            }
        }
    }
    let mut hostname = Vec::new();
    if let Some(params) = plan.params.namespaces {
        reports.phase(2).present = true;
        ns.flags = params.flags();
        ns.flags_required = params.enforce == Enforce::Required;
        if ns.flags != 0 && ns.user.is_none() && !has(launcher, caps::SYS_ADMIN) {
            let names: Vec<&str> = params
                .each()
                .iter()
                .filter(|(_, _, on)| *on)
                .map(|(n, _, _)| *n)
                .collect();
            let reason = format!(
                "creating {} namespaces needs CAP_SYS_ADMIN, which this launcher (uid {euid}) lacks, and the plan has no user namespace",
                names.join(", ")
            );
            if ns.flags_required {
                return Err(unsupported(format!(
                    "The plan requires new namespaces, but {reason}; add `user: {{ namespace: true }}` to the policy (or set enforce.namespaces: best_effort)"
                )));
            }
            reports.insert(
                2,
                "namespacesSkipped",
                json!({ "namespaces": names, "reason": reason }),
            );
            reports.degrade(2);
            ns.flags = 0;
        }
    }
    if let Some(name) = &plan.params.hostname {
        reports.phase(2).present = true;
        hostname = name.as_bytes().to_vec();
    }
    Ok((ns, hostname))
}

/// The resource limits, each clamped to the launcher's hard limit when it cannot raise it.
fn plan_rlimits(plan: &Plan, launcher: &CapSets, reports: &mut PhaseReports) -> Vec<(c_uint, u64)> {
    if !plan.steps.contains(&Step::Rlimits) {
        return Vec::new();
    }
    let mut set = Map::new();
    let mut clamped = Map::new();
    let mut out = Vec::with_capacity(plan.params.rlimits.len());
    for limit in &plan.params.rlimits {
        let mut value = limit.value;
        if !has(launcher, caps::SYS_RESOURCE) {
            if let Ok((_, hard)) = sys::get_rlimit(limit.resource) {
                if value > hard {
                    clamped.insert(
                        limit.name.into(),
                        json!({ "requested": value, "hard": hard }),
                    );
                    value = hard;
                }
            }
        }
        set.insert(limit.name.into(), json!(value));
        out.push((limit.resource, value));
    }
    reports.insert(3, "rlimits", Value::Object(set));
    if !clamped.is_empty() {
        // Lower than asked (the launcher cannot raise its hard limit): stricter, not a gap.
        reports.insert(3, "rlimitsClamped", Value::Object(clamped));
    }
    out
}

/// `linux.scrub.ids.v1`: refuses when the launcher cannot switch to those ids.
fn plan_ids(
    plan: &Plan,
    launcher: &CapSets,
    reports: &mut PhaseReports,
) -> Result<Option<IdsSpec>, Failure> {
    let Some((uid, gid)) = plan.params.ids else {
        return Ok(None);
    };
    let spec = ids_spec(uid, gid, plan, launcher)?;
    reports.insert(3, "ids", json!({ "uid": uid, "gid": gid, "groups": [] }));
    Ok(Some(spec))
}

/// The ids a launcher that holds uid or gid 0 (real, effective or saved) switches its
/// child to when no user namespace is created: [`UNPRIVILEGED_ID`] in place of 0. None
/// for a plan with its own ids or with `linux.identity.host_root.v1`.
fn plan_fallback_ids(plan: &Plan, launcher: &CapSets) -> Result<Option<IdsSpec>, Failure> {
    let (u, g) = sys::res_ids();
    let root = u.contains(&0) || g.contains(&0);
    if plan.params.ids.is_some() || plan.steps.contains(&Step::HostRoot) || !root {
        return Ok(None);
    }
    let pick = |ids: [u32; 3]| {
        if ids.contains(&0) {
            UNPRIVILEGED_ID
        } else {
            ids[1]
        }
    };
    ids_spec(pick(u), pick(g), plan, launcher).map(Some)
}

/// Checks that the launcher can switch to `uid` and `gid` and drop its groups.
fn ids_spec(uid: u32, gid: u32, plan: &Plan, launcher: &CapSets) -> Result<IdsSpec, Failure> {
    let (u, g) = sys::res_ids();
    let groups = sys::group_count().unwrap_or(usize::MAX);
    let clear_groups = has(launcher, caps::SETGID);
    let lacking = if !clear_groups && groups != 0 {
        Some("CAP_SETGID (to drop supplementary groups)")
    } else if !has(launcher, caps::SETGID) && !g.contains(&gid) {
        Some("CAP_SETGID")
    } else if !has(launcher, caps::SETUID) && !u.contains(&uid) {
        Some("CAP_SETUID")
    } else {
        None
    };
    if let Some(cap) = lacking {
        return Err(unsupported(format!(
            "Switching to uid {uid} gid {gid} needs {cap}, which this launcher (uid {}) lacks; launch as root or use `user: {{ namespace: true }}` instead",
            u[1]
        )));
    }
    Ok(IdsSpec {
        uid,
        gid,
        clear_groups,
        keep_caps: plan.params.capabilities.is_some(),
    })
}

/// Prepares a launch of a verified plan with the request's extra arguments.
pub fn prepare(
    plan: &Plan,
    extra_args: Vec<CString>,
    transcript_fd: Option<RawFd>,
    launch_id: &str,
) -> Result<Prepared, Failure> {
    check_keep(&plan.keep, transcript_fd)?;
    let target = open_target(&plan.exe)?;
    let (exe, exe_sha256, exe_is_script) = (target.fd, target.sha256, target.head == b"#!");
    if exe_sha256 != plan.sha256 {
        return Err(Refusal::DigestMismatch(format!(
            "The target {} has sha256 {exe_sha256}, the plan expects {}; it changed since the plan was compiled: recompile and re-sign the plan",
            plan.exe, plan.sha256
        ))
        .into());
    }
    let mut interpreters = Vec::with_capacity(plan.interpreters.len());
    for (path, sha256) in &plan.interpreters {
        let file = hashed_file::open_interpreter(path, sha256)?;
        interpreters.push((path.clone(), sha256.clone(), file));
    }
    let mut handles = Vec::new();
    if !plan.interpreters.is_empty() {
        let verified: Vec<Value> = plan
            .interpreters
            .iter()
            .map(|(path, sha256)| json!({ "path": path, "sha256": sha256 }))
            .collect();
        handles.push(("interpreters", json!(verified)));
    }
    if let Some(why) = &target.copied {
        handles.push(("exeCopied", json!(why)));
    }
    let mut input_fds = Vec::new();
    let mut copies = Vec::new();
    let mut input_details = Vec::new();
    for input in &plan.inputs {
        let (copy, details) = open_input(input)?;
        if let Some(fd) = copy {
            copies.push((input, fd.as_raw_fd()));
            input_fds.push(fd);
        }
        input_details.push(details);
    }
    if !plan.inputs.is_empty() {
        handles.push(("inputs", json!(input_details)));
    }
    let mut plan_argv = plan.argv.clone();
    redirect_inputs(&mut plan_argv, &copies)?;
    let cwd = if plan.steps.contains(&Step::Cwd) {
        Some(open_cwd(plan)?)
    } else {
        None
    };
    if !sys::has_close_range() {
        return Err(Refusal::KernelUnsupported(
            "This kernel lacks close_range (Linux 5.9+), which the fd scrub needs; upgrade the kernel".to_string(),
        )
        .into());
    }
    let launcher = sys::capget().unwrap_or_default();
    let mut reports = PhaseReports::default();
    for &step in &plan.steps {
        reports.phase(step.phase()).present = true;
    }

    let (namespaces, hostname) = plan_namespaces(plan, &launcher, &mut reports)?;
    let rlimits = plan_rlimits(plan, &launcher, &mut reports);
    let mut cgroup = None;
    let mut cgroup_required = false;
    if let Some(params) = &plan.params.cgroup {
        cgroup_required = params.enforce == Enforce::Required;
        match cgroup::create(params, launch_id) {
            Ok(placement) => {
                reports.insert(3, "cgroup", placement.details.clone());
                cgroup = Some(placement);
            }
            Err(reason) if cgroup_required => {
                return Err(unsupported(format!(
                    "The plan requires a cgroup v2 with limits, but {reason}; run the launcher where those controllers are delegated, or set enforce.cgroup: best_effort"
                )))
            }
            Err(reason) => {
                reports.insert(3, "cgroup", json!({ "skipped": reason }));
                reports.degrade(3);
            }
        }
    }
    let pdeathsig = plan.params.pdeathsig.unwrap_or(0);
    if pdeathsig != 0 {
        reports.insert(3, "pdeathsig", json!(pdeathsig));
    }
    if plan.steps.contains(&Step::Setsid) {
        reports.insert(3, "setsid", json!(true));
    }
    let ids = plan_ids(plan, &launcher, &mut reports)?;
    let fallback_ids = plan_fallback_ids(plan, &launcher)?;
    let mut steps = plan.steps.clone();
    if fallback_ids.is_some() {
        // The child switches ids at the plan's ids step; the shim adds it (a no-op in a
        // user namespace, where the maps already made the ids unprivileged).
        let at = steps.partition_point(|s| s.order() < Step::Ids.order());
        steps.insert(at, Step::Ids);
    }
    let last_cap = caps::last_cap();
    let caps_keep = plan
        .params
        .capabilities
        .as_ref()
        .map(|keep| keep.iter().fold(0u64, |m, &c| m | caps::bit(c)));

    let landlock = match &plan.params.landlock {
        Some(section) => {
            let abi = sys::landlock_abi().unwrap_or(0);
            let exe_pinned = target.copied.is_some();
            let copied_inputs: Vec<&str> = copies.iter().map(|(i, _)| i.path.as_str()).collect();
            let prepared = landlock::prepare(
                section,
                abi,
                &plan.exe,
                &exe,
                exe_pinned,
                &interpreters,
                &copied_inputs,
            )?;
            reports.insert(4, "landlock", prepared.details);
            if prepared.degraded {
                reports.degrade(4);
            }
            prepared.ruleset
        }
        None => None,
    };
    let seccomp = match &plan.params.seccomp {
        Some(section) => {
            let prepared = seccomp::prepare(section)?;
            reports.insert(4, "seccomp", prepared.details);
            if prepared.degraded {
                reports.degrade(4);
            }
            prepared.program
        }
        None => None,
    };

    let argv = CStringArray::new(plan_argv.into_iter().chain(extra_args).collect());
    let (env, passed, absent) = build_env(plan);
    let pipe_fault = |e| Failure::fault(PIPE_STEP, e, "Creating the progress pipe failed");
    let (progress_read, progress_write) = pipe().map_err(pipe_fault)?;
    // The rendezvous pipe: the parent releases the child after the id maps and again
    // after `ready_to_exec` is durable; its end of file tells the child the parent is gone.
    let go =
        pipe().map_err(|e| Failure::fault(PIPE_STEP, e, "Creating the rendezvous pipe failed"))?;
    // fds the child keeps through the fd scrub besides the plan's: the target, the
    // progress pipe, the cwd, the input copies, the ruleset and the rendezvous pipe's read
    // end (all close-on-exec; the input copies lose it at exec).
    let mut own: Vec<RawFd> = vec![exe.as_raw_fd(), progress_write.as_raw_fd()];
    own.extend(cwd.as_ref().map(|(fd, _)| fd.as_raw_fd()));
    own.extend(input_fds.iter().map(|fd| fd.as_raw_fd()));
    own.extend(landlock.as_ref().map(|fd| fd.as_raw_fd()));
    own.push(go.0.as_raw_fd());
    let others = [
        Some(progress_read.as_raw_fd()),
        Some(go.1.as_raw_fd()),
        cgroup.as_ref().map(|c| c.fd.as_raw_fd()),
    ];
    let mine = own.iter().copied().chain(others.into_iter().flatten());
    if let Some(fd) = mine.into_iter().find(|fd| plan.keep.contains(fd)) {
        return Err(Refusal::HandleUnavailable(format!(
            "fd {fd} (fds.pass) was closed while the launch was prepared; keep it open until the launch"
        ))
        .into());
    }
    let mut open_fds: Vec<RawFd> = plan.keep.iter().copied().chain(own).collect();
    open_fds.sort_unstable();

    let set_names: Vec<&str> = plan.env_set.iter().map(|(name, _)| name.as_str()).collect();
    for &step in &plan.steps {
        match step {
            Step::HostRoot => reports.insert(1, "hostRoot", json!(true)),
            Step::Cwd => reports.insert(
                2,
                "cwd",
                cwd.as_ref().map_or(Value::Null, |(_, d)| d.clone()),
            ),
            Step::Signals => reports.insert(3, "signals", json!("reset")),
            Step::Env => reports.insert(
                3,
                "env",
                json!({ "set": set_names, "passed": passed, "absent": absent }),
            ),
            Step::Fds => reports.insert(3, "fds", json!({ "kept": plan.keep })),
            Step::NoNewPrivs => reports.insert(3, "noNewPrivs", json!(true)),
            Step::Exec => reports.insert(5, "script", json!(exe_is_script)),
            _ => {}
        }
    }
    Ok(Prepared {
        exe,
        exe_sha256,
        handles,
        exe_is_script,
        argv,
        envp: CStringArray::new(env),
        cwd: cwd.map(|(fd, _)| fd),
        input_raw: input_fds.iter().map(|fd| fd.as_raw_fd()).collect(),
        _input_copies: input_fds,
        steps,
        keep: plan.keep.clone(),
        open_fds,
        progress_read,
        progress_write,
        go,
        namespaces,
        hostname,
        rlimits,
        cgroup,
        cgroup_required,
        pdeathsig,
        parent_pid: sys::getpid(),
        ids,
        fallback_ids,
        caps_keep,
        launcher_caps: launcher,
        last_cap,
        landlock,
        seccomp,
        reports,
    })
}

/// What the parent keeps once the child exists.
pub struct ParentSide {
    /// The progress pipe's read end.
    pub progress_read: OwnedFd,
    /// The rendezvous pipe's write end: one byte releases the child, closing it aborts.
    pub go_write: OwnedFd,
    /// The phase reports.
    pub reports: PhaseReports,
    /// The cgroup, removed after the child was reaped.
    pub cgroup: Option<cgroup::Leaf>,
    /// The user namespace's maps, when one was created.
    pub user_map: Option<UserMap>,
    /// The child reports [`crate::progress::Message::Dumpable`] before the parent may
    /// touch its `/proc` files.
    pub dumpable_for_maps: bool,
}

impl ParentSide {
    /// Records the namespaces the child `pid` was created in, with their inodes and the
    /// user namespace's maps (the child must be readable: see `dumpable_for_maps`).
    pub fn record_namespaces(&mut self, clone_flags: u64, pid: i32) {
        let created: Map<String, Value> = NS_FILES
            .iter()
            .filter(|(_, flag)| clone_flags & flag != 0)
            .map(|(name, _)| (name.to_string(), json!(ns_inode(pid, name))))
            .collect();
        if !created.is_empty() {
            self.reports.insert(2, "namespaces", Value::Object(created));
        }
        if let Some(user) = self.user_map {
            self.reports.insert(
                1,
                "userNamespace",
                json!({
                    "inode": ns_inode(pid, "user"),
                    "uidMap": user.uid_line(),
                    "gidMap": user.gid_line(),
                    "setgroups": user.setgroups(),
                }),
            );
        }
    }
}

impl Prepared {
    /// The ids the child switches to with `clone_flags`: the plan's, or outside a user
    /// namespace the fallback that keeps a root launcher's child off host root.
    fn ids_for(&self, clone_flags: u64) -> Option<IdsSpec> {
        let in_userns = clone_flags & libc::CLONE_NEWUSER as u64 != 0;
        self.ids.or(self.fallback_ids.filter(|_| !in_userns))
    }

    /// Whether the child must make itself dumpable until its maps are written: the
    /// launcher is non-dumpable, so its child's `/proc` files belong to root, and this
    /// launcher cannot write or read them without CAP_DAC_OVERRIDE and CAP_SYS_PTRACE.
    fn dumpable_for_maps(&self, clone_flags: u64) -> bool {
        clone_flags & libc::CLONE_NEWUSER as u64 != 0
            && !(has(&self.launcher_caps, caps::DAC_OVERRIDE)
                && has(&self.launcher_caps, caps::SYS_PTRACE))
    }

    /// The capability reduction as it plays out with `clone_flags`.
    fn caps_spec(&self, clone_flags: u64) -> Option<CapsSpec> {
        let keep = self.caps_keep?;
        let in_userns = clone_flags & libc::CLONE_NEWUSER as u64 != 0;
        let keeps_setpcap = self.ids_for(clone_flags).is_none_or(|ids| ids.keep_caps);
        Some(CapsSpec {
            keep,
            last_cap: self.last_cap,
            drop_bounding: in_userns
                || (keeps_setpcap && self.launcher_caps.permitted & caps::bit(caps::SETPCAP) != 0),
        })
    }

    /// Whether the launcher can create namespaces other than a user namespace by itself.
    pub fn can_create_namespaces_alone(&self) -> bool {
        has(&self.launcher_caps, caps::SYS_ADMIN)
    }

    /// Whether the launch has a cgroup to join.
    pub fn has_cgroup(&self) -> bool {
        self.cgroup.is_some()
    }

    /// Gives up the cgroup (best_effort, when clone3 cannot join it) and records why.
    pub fn drop_cgroup(&mut self, reason: String) {
        self.cgroup = None;
        self.reports
            .insert(3, "cgroup", json!({ "skipped": reason }));
        self.reports.degrade(3);
    }

    /// Records the namespaces best_effort gave up because clone3 refused them.
    pub fn record_skipped_namespaces(&mut self, user: bool, flags: u64, reason: &str) {
        if user {
            self.reports
                .insert(1, "userNamespace", json!({ "skipped": reason }));
            self.reports.degrade(1);
        }
        if flags != 0 {
            let names: Vec<&str> = NS_FILES
                .iter()
                .filter(|(_, flag)| flags & flag != 0)
                .map(|(n, _)| *n)
                .collect();
            self.reports.insert(
                2,
                "namespacesSkipped",
                json!({ "namespaces": names, "reason": reason }),
            );
            self.reports.degrade(2);
        }
    }

    /// The `CLONE_INTO_CGROUP` fd, if any.
    pub fn cgroup_fd(&self) -> Option<RawFd> {
        self.cgroup.as_ref().map(|c| c.fd.as_raw_fd())
    }

    /// The child's view of this launch with `clone_flags` (valid while `self` lives).
    pub fn child_spec(&self, clone_flags: u64) -> ChildSpec<'_> {
        ChildSpec {
            steps: &self.steps,
            cwd_fd: self.cwd.as_ref().map_or(-1, |fd| fd.as_raw_fd()),
            inputs: &self.input_raw,
            argv: self.argv.ptrs.as_ptr(),
            envp: self.envp.ptrs.as_ptr(),
            exe_fd: self.exe.as_raw_fd(),
            exe_is_script: self.exe_is_script,
            progress_fd: self.progress_write.as_raw_fd(),
            keep: &self.keep,
            open_fds: &self.open_fds,
            clone_flags,
            go_read: self.go.0.as_raw_fd(),
            go_write: self.go.1.as_raw_fd(),
            hostname: &self.hostname,
            rlimits: &self.rlimits,
            parent_pid: self.parent_pid,
            pdeathsig: self.pdeathsig,
            dumpable_for_maps: self.dumpable_for_maps(clone_flags),
            userns_ids: self.namespaces.user.map(|u| IdsSpec {
                uid: u.inside_uid,
                gid: u.inside_gid,
                clear_groups: u.clear_groups,
                // The capabilities primitive still needs CAP_SETPCAP in the namespace.
                keep_caps: true,
            }),
            ids: self.ids_for(clone_flags),
            caps: self.caps_spec(clone_flags),
            landlock_fd: self.landlock.as_ref().map_or(-1, |fd| fd.as_raw_fd()),
            seccomp: self.seccomp.as_ref().map(|p| (p.fprog(), p.flags)),
        }
    }

    /// Once the child `pid` exists with `clone_flags`: records what was created, closes
    /// and frees everything the parent no longer needs (in particular the pipes' ends the
    /// child uses, so that end of file means the child's copy closed), and returns what
    /// the parent keeps.
    pub fn into_parent_side(mut self, clone_flags: u64) -> ParentSide {
        self.resolve_visibility(clone_flags);
        self.resolve_capabilities(clone_flags);
        if let (Some(ids), None) = (self.ids_for(clone_flags), self.ids) {
            self.reports.insert(
                3,
                "ids",
                json!({ "uid": ids.uid, "gid": ids.gid, "groups": [], "reason": "the launcher holds host root, the plan does not keep it (linux.identity.host_root.v1) and no user namespace was created" }),
            );
        }
        let user_map = self
            .namespaces
            .user
            .filter(|_| clone_flags & libc::CLONE_NEWUSER as u64 != 0);
        ParentSide {
            dumpable_for_maps: self.dumpable_for_maps(clone_flags),
            progress_read: self.progress_read,
            go_write: self.go.1,
            reports: self.reports,
            cgroup: self.cgroup.map(|c| c.leaf),
            user_map,
        }
    }

    fn resolve_visibility(&mut self, clone_flags: u64) {
        if clone_flags & libc::CLONE_NEWPID as u64 == 0 {
            // Only a pid namespace takes the child's descendants down with it (there is no
            // subreaper or cgroup sweep yet): say so instead of implying they are gone.
            self.reports.insert(
                2,
                "descendants",
                json!("not contained: without a pid namespace, processes the child starts may outlive the launch"),
            );
        }
        if clone_flags & libc::CLONE_NEWNET as u64 != 0 {
            self.reports.insert(2, "loopback", json!("up"));
        }
        if !self.hostname.is_empty() {
            if clone_flags & libc::CLONE_NEWUTS as u64 != 0 {
                let name = String::from_utf8_lossy(&self.hostname).into_owned();
                self.reports.insert(2, "hostname", json!(name));
            } else {
                self.reports
                    .insert(2, "hostnameSkipped", json!("no UTS namespace was created"));
                self.reports.degrade(2);
            }
        }
    }

    fn resolve_capabilities(&mut self, clone_flags: u64) {
        let Some(spec) = self.caps_spec(clone_flags) else {
            return;
        };
        let in_userns = clone_flags & libc::CLONE_NEWUSER as u64 != 0;
        let known = caps::all_through(self.last_cap);
        let held = if in_userns {
            known
        } else {
            self.launcher_caps.permitted & known
        };
        let kept = spec.keep & held;
        let bounding = if spec.drop_bounding {
            json!(caps::names(kept))
        } else {
            json!("unchanged (dropping needs CAP_SETPCAP, which the launcher lacks)")
        };
        self.reports.insert(
            3,
            "capabilities",
            json!({
                "keep": caps::names(spec.keep),
                "effective": caps::names(kept),
                "permitted": caps::names(kept),
                "inheritable": caps::names(kept),
                "ambient": caps::names(kept),
                "bounding": bounding,
                "notHeld": caps::names(spec.keep & !held),
            }),
        );
    }
}

/// Namespace files under `/proc/PID/ns` and their clone flags (user is reported with
/// the identity phase).
const NS_FILES: [(&str, u64); 5] = [
    ("net", libc::CLONE_NEWNET as u64),
    ("pid", libc::CLONE_NEWPID as u64),
    ("ipc", libc::CLONE_NEWIPC as u64),
    ("uts", libc::CLONE_NEWUTS as u64),
    ("cgroup", libc::CLONE_NEWCGROUP as u64),
];

/// The inode number of `/proc/PID/ns/NAME` (null when it cannot be read).
fn ns_inode(pid: i32, name: &str) -> Value {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}/ns/{name}"))
        .map(|m| json!(m.ino()))
        .unwrap_or(Value::Null)
}
