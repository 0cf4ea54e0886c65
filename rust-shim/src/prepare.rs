//! Everything the child needs, built in the parent before clone3: the verified target fd
//! (opened once, hashed through that fd, executed through it), the inputs and argv, the
//! progress and rendezvous pipes and the fds that survive the scrub; and, in schedule
//! order, what each mechanism prepares (`crate::mechanism`: namespaces to create, the
//! cgroup to join, resource limits, ids and capabilities, the Landlock ruleset, the
//! seccomp program) and what each phase will report.
//!
//! Every decision that can be made before a child exists is made here, so that a plan the
//! host cannot honour is refused (`kernel_unsupported`) instead of failing after clone.

use crate::audit_stream;
use crate::caps;
use crate::child::ChildSpec;
use crate::error::{Failure, Refusal};
use crate::hashed_file::{self, HashedFile};
use crate::mechanism::identity::{self, UserMap};
use crate::mechanism::{
    capabilities, cgroup, cwd, landlock, learn, namespaces, rlimits, scrub, seccomp, view,
};
use crate::plan::{Input, Plan};
use crate::plan_path;
use crate::report::PhaseReports;
use crate::step::Step;
use crate::sys::{self, CapSets};
use libc::c_uint;
use serde_json::{json, Value};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

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
    launcher_caps: CapSets,
    parent_pid: i32,
    /// Host root, the user namespace and the ids.
    pub identity: identity::Prepared,
    /// The other namespaces and the hostname.
    pub namespaces: namespaces::Prepared,
    /// The filesystem view.
    pub view: view::Prepared,
    rlimits: Vec<(c_uint, u64)>,
    /// The cgroup to join.
    pub cgroup: cgroup::Prepared,
    pdeathsig: i32,
    capabilities: capabilities::Prepared,
    landlock: Option<OwnedFd>,
    landlock_flags: c_uint,
    landlock_in_view: Vec<landlock::InViewRule>,
    landlock_audit: Option<audit_stream::Opened>,
    seccomp: Option<seccomp::Program>,
    seccomp_observe: Option<seccomp::Observe>,
    learn: Option<learn::Prepared>,
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

/// Prepares a launch of a verified plan with the request's extra arguments.
pub fn prepare(
    plan: &Plan,
    extra_args: Vec<CString>,
    transcript_fd: Option<RawFd>,
    launch_id: &str,
    learn_records: Option<&str>,
) -> Result<Prepared, Failure> {
    scrub::check_keep(&plan.keep, transcript_fd)?;
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
    let mut reports = PhaseReports::default();
    let cwd = if plan.steps.contains(&Step::Cwd) {
        Some(cwd::prepare(
            &plan.cwd,
            plan.cwd_resolved.as_deref(),
            &mut reports,
        )?)
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
    for &step in &plan.steps {
        reports.mark_present(step.phase());
    }

    // The mechanisms, in schedule order.
    let params = &plan.params;
    let host_root = plan.steps.contains(&Step::HostRoot);
    let mut identity = identity::prepare_userns(
        params.userns,
        host_root,
        params.host_capability(),
        &launcher,
        &mut reports,
    )?;
    let namespaces = namespaces::prepare(
        params.namespaces,
        params.hostname.as_ref(),
        identity.user.is_some(),
        &launcher,
        &mut reports,
    )?;
    let view = view::prepare(
        params.view.as_ref(),
        cwd.as_ref().map(|fd| {
            let resolved = plan.cwd_resolved.as_deref().unwrap_or(&plan.cwd);
            (plan.cwd.as_str(), resolved, fd.as_raw_fd())
        }),
        identity.user.is_some(),
        caps::has(&launcher, caps::SYS_ADMIN),
        &mut reports,
    )?;
    let rlimits = if plan.steps.contains(&Step::Rlimits) {
        rlimits::prepare(&params.rlimits, &launcher, &mut reports)
    } else {
        Vec::new()
    };
    let cgroup = cgroup::prepare(params.cgroup.as_ref(), launch_id, &mut reports)?;
    let scrub = scrub::prepare(
        &plan.steps,
        &plan.env_set,
        &plan.env_pass,
        &plan.keep,
        params.pdeathsig,
        &mut reports,
    );
    let needs_ids_step = identity.prepare_ids(
        params.ids,
        host_root,
        params.capabilities.is_some(),
        &launcher,
        &mut reports,
    )?;
    let mut steps = plan.steps.clone();
    if needs_ids_step {
        // The child switches to the fallback ids at the ids step; the shim adds it (a
        // no-op in a user namespace, where the maps already made the ids unprivileged).
        let at = steps.partition_point(|s| s.order() < Step::Ids.order());
        steps.insert(at, Step::Ids);
    }
    let capabilities = capabilities::prepare(params.capabilities.as_deref());
    let mut landlock_in_view = Vec::new();
    let mut landlock_flags = 0;
    let mut landlock_audit = None;
    let landlock = match &params.landlock {
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
            let mut details = prepared.details;
            if prepared.ruleset.is_some() {
                landlock_audit = follow_landlock_denials(abi, &mut details);
            }
            reports.record(4, "landlock", details, prepared.degraded);
            landlock_in_view = prepared.in_view;
            landlock_flags = prepared.restrict_flags;
            prepared.ruleset
        }
        None => None,
    };
    let (seccomp, seccomp_observe) = match &params.seccomp {
        Some(section) => {
            // Learn mode installs its recording filter from this section: no denials.
            let record_denials = plan.steps.contains(&Step::Seccomp);
            let prepared = seccomp::prepare(section, record_denials)?;
            reports.record(4, "seccomp", prepared.details, prepared.degraded);
            (prepared.program, prepared.observe)
        }
        None => (None, None),
    };
    let learn = match &params.learn {
        Some(section) => Some(learn::prepare(section, learn_records, &mut reports)?),
        None => None,
    };
    reports.insert(5, "script", json!(exe_is_script));

    let argv = CStringArray::new(plan_argv.into_iter().chain(extra_args).collect());
    let pipe_fault = |e| Failure::fault(PIPE_STEP, e, "Creating the progress pipe failed");
    let (progress_read, progress_write) = pipe().map_err(pipe_fault)?;
    // The rendezvous pipe: the parent releases the child after the id maps and again
    // after `ready_to_exec` is durable; its end of file tells the child the parent is gone.
    let go =
        pipe().map_err(|e| Failure::fault(PIPE_STEP, e, "Creating the rendezvous pipe failed"))?;
    // fds the child keeps through the fd scrub besides the plan's: the target, the
    // progress pipe, the cwd, the input copies, the ruleset and the rendezvous pipe's read
    // end, the sockets that hand a seccomp listener over (all close-on-exec; the input
    // copies lose it at exec).
    let mut own: Vec<RawFd> = vec![exe.as_raw_fd(), progress_write.as_raw_fd()];
    own.extend(cwd.as_ref().map(|fd| fd.as_raw_fd()));
    own.extend(input_fds.iter().map(|fd| fd.as_raw_fd()));
    own.extend(landlock.as_ref().map(|fd| fd.as_raw_fd()));
    own.extend(learn.as_ref().map(learn::Prepared::child_fd));
    own.extend(seccomp_observe.as_ref().map(seccomp::Observe::child_fd));
    own.push(go.0.as_raw_fd());
    let others = [
        Some(progress_read.as_raw_fd()),
        Some(go.1.as_raw_fd()),
        cgroup.placement.as_ref().map(|c| c.fd.as_raw_fd()),
        landlock_audit.as_ref().map(audit_stream::Opened::raw_fd),
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
    Ok(Prepared {
        exe,
        exe_sha256,
        handles,
        exe_is_script,
        argv,
        envp: CStringArray::new(scrub.env),
        cwd,
        input_raw: input_fds.iter().map(|fd| fd.as_raw_fd()).collect(),
        _input_copies: input_fds,
        steps,
        keep: plan.keep.clone(),
        open_fds,
        progress_read,
        progress_write,
        go,
        launcher_caps: launcher,
        parent_pid: sys::getpid(),
        identity,
        namespaces,
        view,
        rlimits,
        cgroup,
        pdeathsig: scrub.pdeathsig,
        capabilities,
        landlock,
        landlock_flags,
        landlock_in_view,
        landlock_audit,
        seccomp,
        seccomp_observe,
        learn,
        reports,
    })
}

/// Opens the audit reader that follows the child's Landlock denials (before clone3, so
/// none is missed) and says in the phase details whether they are recorded: `denials` is
/// `recorded`, or `unobserved` with the reason in `denialsUnobserved`.
fn follow_landlock_denials(abi: i64, details: &mut Value) -> Option<audit_stream::Opened> {
    let reader = if abi < 7 {
        Err(format!(
            "Landlock ABI {abi} does not log denials (ABI 7 does)"
        ))
    } else {
        audit_stream::open().map_err(|why| why.reason())
    };
    match &reader {
        Ok(_) => details["denials"] = json!("recorded"),
        Err(why) => {
            details["denials"] = json!("unobserved");
            details["denialsUnobserved"] = json!(why);
        }
    }
    reader.ok()
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
    /// What each check of the view names (`path_changed` details).
    pub view_checked: Vec<String>,
    /// Learn mode: the supervisor to start.
    pub learn: Option<learn::Supervisor>,
    /// Recording seccomp denials: the recorder to start.
    pub denials: Option<seccomp::Observe>,
    /// The audit stream reader that follows the child's Landlock denials.
    pub landlock_audit: Option<audit_stream::Opened>,
}

impl ParentSide {
    /// Records the namespaces the child `pid` was created in, with their inodes and the
    /// user namespace's maps (the child must be readable: see `dumpable_for_maps`).
    pub fn record_namespaces(&mut self, clone_flags: u64, pid: i32) {
        namespaces::record_created(clone_flags, pid, &mut self.reports);
        if let Some(map) = &self.user_map {
            let inode = namespaces::ns_inode(pid, "user");
            identity::record_user_namespace(map, inode, &mut self.reports);
        }
    }
}

impl Prepared {
    /// Whether the child switches ids keeping CAP_SETPCAP (or switches none).
    fn keeps_setpcap(&self, clone_flags: u64) -> bool {
        self.identity
            .ids_for(clone_flags)
            .is_none_or(|ids| ids.keep_caps)
    }

    /// Whether the launcher can create namespaces other than a user namespace by itself.
    pub fn can_create_namespaces_alone(&self) -> bool {
        caps::has(&self.launcher_caps, caps::SYS_ADMIN)
    }

    /// Gives up the view for the host's (best_effort, when clone3 refused the mount
    /// namespace with `errno`) and records it.
    pub fn give_up_view(&mut self, errno: sys::Errno) {
        self.view.give_up(errno, &mut self.reports);
    }

    /// Gives up the cgroup (best_effort, when clone3 cannot join it) and records why.
    pub fn drop_cgroup(&mut self, reason: &str) {
        self.cgroup.give_up(reason, &mut self.reports);
    }

    /// Records the namespaces best_effort gave up because clone3 refused them.
    pub fn record_skipped_namespaces(&mut self, user: bool, flags: u64, reason: &str) {
        if user {
            identity::record_skipped(reason, &mut self.reports);
        }
        if flags != 0 {
            namespaces::record_refused(flags, reason, &mut self.reports);
        }
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
            hostname: &self.namespaces.hostname,
            rlimits: &self.rlimits,
            parent_pid: self.parent_pid,
            pdeathsig: self.pdeathsig,
            dumpable_for_maps: self
                .identity
                .dumpable_for_maps(clone_flags, &self.launcher_caps),
            userns_ids: self.identity.userns_ids(),
            ids: self.identity.ids_for(clone_flags),
            caps: self.capabilities.spec(
                clone_flags,
                self.keeps_setpcap(clone_flags),
                &self.launcher_caps,
            ),
            landlock_fd: self.landlock.as_ref().map_or(-1, |fd| fd.as_raw_fd()),
            landlock_flags: self.landlock_flags,
            landlock_in_view: &self.landlock_in_view,
            view: self
                .view
                .build
                .as_ref()
                .filter(|_| clone_flags & libc::CLONE_NEWNS as u64 != 0),
            seccomp: self.seccomp.as_ref().map(|p| (p.fprog(), p.flags)),
            seccomp_observe: self.seccomp_observe.as_ref().map(seccomp::Observe::spec),
            learn_fd: self.learn.as_ref().map_or(-1, learn::Prepared::child_fd),
        }
    }

    /// Once the child exists with `clone_flags`: records what was created, closes
    /// and frees everything the parent no longer needs (in particular the pipes' ends the
    /// child uses, so that end of file means the child's copy closed), and returns what
    /// the parent keeps.
    pub fn into_parent_side(mut self, clone_flags: u64) -> ParentSide {
        self.namespaces.resolve(clone_flags, &mut self.reports);
        self.view.resolve(clone_flags, &mut self.reports);
        self.capabilities.resolve(
            clone_flags,
            self.keeps_setpcap(clone_flags),
            &self.launcher_caps,
            &mut self.reports,
        );
        let user_map = self.identity.resolve(clone_flags, &mut self.reports);
        ParentSide {
            view_checked: self.view.checked(),
            dumpable_for_maps: self
                .identity
                .dumpable_for_maps(clone_flags, &self.launcher_caps),
            progress_read: self.progress_read,
            go_write: self.go.1,
            reports: self.reports,
            cgroup: self.cgroup.placement.map(|c| c.leaf),
            user_map,
            learn: self.learn.map(learn::Prepared::into_supervisor),
            denials: self.seccomp_observe,
            landlock_audit: self.landlock_audit,
        }
    }
}
