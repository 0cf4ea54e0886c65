//! The plan envelope and the sequencing of its sections: parses the signed payload (an
//! in-toto Statement v1 whose predicate is a LinuxLaunchPlan v1, docs/plan-and-shim.md),
//! checks the envelope-level fields (types, version, arch, subject, target, times), reads
//! the schedule and hands each primitive's entry and each top-level section to the
//! mechanism that owns it (`crate::mechanism`), then checks what sections say about each
//! other. Every object is parsed strictly (unknown keys are `plan_invalid`).

use crate::digest::is_sha256_hex;
use crate::error::Refusal;
use crate::mechanism::capabilities;
use crate::mechanism::cgroup::{self, CgroupParams};
use crate::mechanism::identity::{self, UserNsParams};
use crate::mechanism::landlock::{self, LandlockSection, RawLandlock};
use crate::mechanism::learn::{self, LearnSection, RawLearn};
use crate::mechanism::namespaces::{self, NamespaceParams};
use crate::mechanism::rlimits::{self, Rlimit};
use crate::mechanism::scrub::{self, EnvSet, RawEnv};
use crate::mechanism::seccomp::{self, RawSeccomp, SeccompSection};
use crate::mechanism::view;
use crate::rfc3339;
use crate::section::{c_string, check_resolved, invalid, strict, PlainEntry};
use crate::step::Step;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::ffi::CString;

/// The in-toto Statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// The predicate type of LinuxLaunchPlan v1.
pub const PREDICATE_TYPE: &str = "https://charter.dev/LinuxLaunchPlan/v1";

/// The architecture this shim was built for, as plans name it.
#[cfg(target_arch = "x86_64")]
pub const BUILD_ARCH: &str = "x86_64";
/// The architecture this shim was built for, as plans name it.
#[cfg(target_arch = "aarch64")]
pub const BUILD_ARCH: &str = "aarch64";
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("charter's shim supports x86_64 and aarch64 only");

/// One of `target.inputs`: a file the target runs besides the exe (a script in argv).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Absolute path, as the policy and argv name it.
    pub path: String,
    /// Expected lowercase hex sha256.
    pub sha256: String,
    /// The recorded symlink-free resolution, when `path` went through a symlink.
    pub resolved: Option<String>,
}

/// A verified, validated plan, in the form the launch needs.
#[derive(Debug)]
pub struct Plan {
    /// Absolute path of the target.
    pub exe: String,
    /// Expected lowercase hex SHA-256 of the target.
    pub sha256: String,
    /// argv from the plan.
    pub argv: Vec<CString>,
    /// The working directory (`target.cwd`).
    pub cwd: String,
    /// The recorded resolution of the cwd (`target.cwdResolved`).
    pub cwd_resolved: Option<String>,
    /// `target.inputs`.
    pub inputs: Vec<Input>,
    /// `target.interpreters`: the ELF interpreter and `#!` interpreters the kernel opens by
    /// path to run the target, as (path, sha256), in chain order.
    pub interpreters: Vec<(String, String)>,
    /// Whether the request may append arguments.
    pub extra_args: bool,
    /// `env.set` as (name, `NAME=VALUE`), sorted by name.
    pub env_set: EnvSet,
    /// `env.pass` names.
    pub env_pass: Vec<String>,
    /// The schedule, in order.
    pub steps: Vec<Step>,
    /// fds kept open for the child (`linux.scrub.fds.v1` `keep`), ascending, each ≥ 3.
    pub keep: Vec<i32>,
    /// The primitives' parameters.
    pub params: Params,
}

/// Parameters of the schedule's primitives (`None`: the primitive is absent).
#[derive(Debug, Default)]
pub struct Params {
    /// `linux.identity.userns.v1`.
    pub userns: Option<UserNsParams>,
    /// `linux.visibility.namespaces.v1`.
    pub namespaces: Option<NamespaceParams>,
    /// `linux.visibility.hostname.v1`.
    pub hostname: Option<CString>,
    /// `linux.scrub.rlimits.v1`.
    pub rlimits: Vec<Rlimit>,
    /// `linux.scrub.cgroup.v1`.
    pub cgroup: Option<CgroupParams>,
    /// `linux.scrub.pdeathsig.v1`.
    pub pdeathsig: Option<i32>,
    /// `linux.scrub.ids.v1`: (uid, gid).
    pub ids: Option<(u32, u32)>,
    /// `linux.scrub.capabilities.v1`: capability numbers kept.
    pub capabilities: Option<Vec<u32>>,
    /// `landlock` with `linux.confine.landlock.v1`.
    pub landlock: Option<LandlockSection>,
    /// `seccomp` with `linux.confine.seccomp.v1` (or the recording filter with
    /// `linux.confine.learn.v1`).
    pub seccomp: Option<SeccompSection>,
    /// `view` with `linux.visibility.view.v1`.
    pub view: Option<view::Section>,
    /// `learn` with `linux.confine.learn.v1`.
    pub learn: Option<LearnSection>,
}

impl Params {
    /// A kept capability that acts on the host without a user namespace
    /// ([`capabilities::host_capability`]).
    pub fn host_capability(&self) -> Option<u32> {
        self.capabilities
            .as_deref()
            .and_then(capabilities::host_capability)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatement {
    #[serde(rename = "_type")]
    type_: String,
    subject: Vec<RawDescriptor>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: RawPlan,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDescriptor {
    name: String,
    digest: RawDigest,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDigest {
    sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPlan {
    plan_version: u64,
    arch: String,
    target: RawTarget,
    env: RawEnv,
    schedule: Vec<Box<RawValue>>,
    resolved_dependencies: Vec<RawDescriptor>,
    #[serde(rename = "compiler")]
    _compiler: RawCompiler,
    compiled_on: String,
    not_after: Option<String>,
    landlock: Option<RawLandlock>,
    seccomp: Option<RawSeccomp>,
    view: Option<Box<RawValue>>,
    learn: Option<RawLearn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTarget {
    exe: String,
    sha256: String,
    argv: Vec<String>,
    cwd: String,
    cwd_resolved: Option<String>,
    extra_args: bool,
    inputs: Option<Vec<RawInput>>,
    interpreters: Option<Vec<RawInterpreter>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInterpreter {
    path: String,
    sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInput {
    path: String,
    sha256: String,
    resolved: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCompiler {
    #[serde(rename = "name")]
    _name: String,
    #[serde(rename = "version")]
    _version: String,
}

/// Only the `id` of a schedule entry, read before the entry is parsed strictly.
#[derive(Deserialize)]
struct EntryId {
    id: String,
}

/// The phase of a schedule entry, read before the entry is parsed strictly.
#[derive(Deserialize)]
struct EntryPhase {
    phase: u8,
}

/// Parses the verified payload and checks it against this shim and host: structure,
/// statement and predicate types, planVersion, arch, the schedule, expiry at `now_ns`
/// (nanoseconds since the Unix epoch).
pub fn parse(payload: &[u8], now_ns: i128) -> Result<Plan, Refusal> {
    let statement: RawStatement = serde_json::from_slice(payload).map_err(|e| {
        invalid(format!("The plan is not a LinuxLaunchPlan v1 statement ({e}); recompile it with this charter version"))
    })?;
    if statement.type_ != STATEMENT_TYPE || statement.predicate_type != PREDICATE_TYPE {
        return Err(invalid(format!(
            "The payload is a {} statement of predicate type {}, expected {STATEMENT_TYPE} with {PREDICATE_TYPE}",
            statement.type_, statement.predicate_type
        )));
    }
    let plan = statement.predicate;
    if plan.plan_version != 1 {
        return Err(invalid(format!(
            "The plan has planVersion {}, this shim understands 1 only; use a matching charter version",
            plan.plan_version
        )));
    }
    if plan.arch != BUILD_ARCH {
        return Err(Refusal::ArchMismatch(format!(
            "The plan was compiled for {}, this machine is {BUILD_ARCH}; compile the policy on (or for) this architecture",
            plan.arch
        )));
    }
    check_target(&statement.subject, &plan.target)?;
    check_times(&plan, now_ns)?;
    for dep in &plan.resolved_dependencies {
        if !is_sha256_hex(&dep.digest.sha256) {
            return Err(invalid(format!(
                "The digest of dependency {} is not lowercase hex SHA-256",
                dep.name
            )));
        }
    }
    let (steps, keep, mut params) = parse_schedule(&plan.schedule)?;
    match (steps.contains(&Step::Landlock), plan.landlock) {
        (true, Some(raw)) => params.landlock = Some(landlock::parse(raw, &plan.target.exe, &plan.target.sha256)?),
        (false, None) => {}
        _ => {
            return Err(invalid(
                "The plan has linux.confine.landlock.v1 without a landlock section or the other way round",
            ))
        }
    }
    // A learn plan installs its recording filter from the seccomp section instead.
    let learning = steps.contains(&Step::Learn);
    if learning && steps.contains(&Step::Seccomp) {
        return Err(invalid(
            "The plan has both linux.confine.seccomp.v1 and linux.confine.learn.v1; a learn plan records in place of the filter",
        ));
    }
    match (steps.contains(&Step::Seccomp) || learning, plan.seccomp) {
        (true, Some(raw)) => params.seccomp = Some(seccomp::parse(raw)?),
        (false, None) => {}
        _ => {
            return Err(invalid(
                "The plan has linux.confine.seccomp.v1 (or learn.v1) without a seccomp section or the other way round",
            ))
        }
    }
    match (steps.contains(&Step::View), plan.view) {
        (true, Some(raw)) => params.view = Some(view::parse(raw.get())?),
        (false, None) => {}
        _ => return Err(invalid(
            "The plan has linux.visibility.view.v1 without a view section or the other way round",
        )),
    }
    let in_view = params
        .landlock
        .iter()
        .flat_map(|l| &l.fs)
        .find(|r| r.in_view);
    if let Some(rule) = in_view.filter(|_| params.view.is_none()) {
        return Err(invalid(format!(
            "The landlock rule for {} is inView, but the plan has no filesystem view",
            rule.path
        )));
    }
    match (learning, plan.learn) {
        (true, Some(raw)) => {
            let section = learn::parse(raw)?;
            // The supervisor runs the baseline program: the same rules as the filter's.
            seccomp::check_program(&section.baseline).map_err(invalid)?;
            params.learn = Some(section);
        }
        (false, None) => {}
        _ => return Err(invalid(
            "The plan has linux.confine.learn.v1 without a learn section or the other way round",
        )),
    }
    let target = plan.target;
    if target.argv.is_empty() {
        return Err(invalid(
            "The plan's argv is empty; it needs at least the program name",
        ));
    }
    if !target.cwd.starts_with('/') {
        return Err(invalid(format!(
            "The plan's cwd {} is not an absolute path",
            target.cwd
        )));
    }
    c_string("cwd", &target.cwd)?;
    check_resolved("cwd", &target.cwd, target.cwd_resolved.as_deref())?;
    let inputs = parse_inputs(target.inputs.unwrap_or_default())?;
    let mut interpreters = Vec::new();
    for interp in target.interpreters.unwrap_or_default() {
        if !interp.path.starts_with('/') || !is_sha256_hex(&interp.sha256) {
            return Err(invalid(format!(
                "The interpreter {} must be an absolute path with a lowercase hex sha256",
                interp.path
            )));
        }
        c_string("interpreter", &interp.path)?;
        interpreters.push((interp.path, interp.sha256));
    }
    let argv = target
        .argv
        .iter()
        .map(|a| c_string("argv", a))
        .collect::<Result<Vec<_>, _>>()?;
    let (env_set, env_pass) = scrub::parse_env(plan.env)?;
    Ok(Plan {
        exe: target.exe,
        sha256: target.sha256,
        argv,
        cwd: target.cwd,
        cwd_resolved: target.cwd_resolved,
        inputs,
        interpreters,
        extra_args: target.extra_args,
        env_set,
        env_pass,
        steps,
        keep,
        params,
    })
}

impl Plan {
    /// Refuses appended arguments unless the plan allows them.
    pub fn check_extra_args(&self, extra: &[CString]) -> Result<(), Refusal> {
        if !self.extra_args && !extra.is_empty() {
            return Err(Refusal::ExtraArgsForbidden(format!(
                "The plan for {} does not allow extra arguments ({} given); set target.extra_args: true in the policy and recompile",
                self.exe,
                extra.len()
            )));
        }
        Ok(())
    }
}

fn check_target(subject: &[RawDescriptor], target: &RawTarget) -> Result<(), Refusal> {
    if !target.exe.starts_with('/') {
        return Err(invalid(format!(
            "The plan's target {} is not an absolute path",
            target.exe
        )));
    }
    c_string("target path", &target.exe)?;
    if !is_sha256_hex(&target.sha256) {
        return Err(invalid(
            "The plan's target.sha256 is not lowercase hex SHA-256",
        ));
    }
    match subject {
        [only] if only.name == target.exe && only.digest.sha256 == target.sha256 => Ok(()),
        _ => Err(invalid(
            "The statement's subject must be exactly the target with the target's sha256",
        )),
    }
}

fn parse_inputs(raw: Vec<RawInput>) -> Result<Vec<Input>, Refusal> {
    let mut inputs: Vec<Input> = Vec::with_capacity(raw.len());
    for input in raw {
        if !input.path.starts_with('/') || !is_sha256_hex(&input.sha256) {
            return Err(invalid(format!(
                "The input {} must be an absolute path with a lowercase hex sha256",
                input.path
            )));
        }
        c_string("input", &input.path)?;
        check_resolved("input", &input.path, input.resolved.as_deref())?;
        if inputs.iter().any(|i| i.path == input.path) {
            return Err(invalid(format!("The input {} is listed twice", input.path)));
        }
        inputs.push(Input {
            path: input.path,
            sha256: input.sha256,
            resolved: input.resolved,
        });
    }
    Ok(inputs)
}

fn check_times(plan: &RawPlan, now_ns: i128) -> Result<(), Refusal> {
    if rfc3339::parse(&plan.compiled_on).is_none() {
        return Err(invalid(format!(
            "The plan's compiledOn {:?} is not an RFC 3339 UTC time",
            plan.compiled_on
        )));
    }
    if let Some(not_after) = &plan.not_after {
        let limit = rfc3339::parse(not_after).ok_or_else(|| {
            invalid(format!(
                "The plan's notAfter {not_after:?} is not an RFC 3339 UTC time"
            ))
        })?;
        if now_ns > limit {
            return Err(Refusal::PlanExpired(format!(
                "The plan expired at {not_after}; recompile and re-sign it"
            )));
        }
    }
    Ok(())
}

/// Hands one schedule entry to the mechanism that owns its primitive, into `params`.
fn parse_params(
    step: Step,
    json: &str,
    params: &mut Params,
    keep: &mut Vec<i32>,
) -> Result<(), String> {
    match step {
        Step::Fds => *keep = scrub::parse_fds(json)?,
        Step::UserNs => params.userns = Some(identity::parse_userns(json)?),
        Step::Namespaces => params.namespaces = Some(namespaces::parse(json)?),
        Step::Hostname => params.hostname = Some(namespaces::parse_hostname(json)?),
        Step::Rlimits => params.rlimits = rlimits::parse(json)?,
        Step::Cgroup => params.cgroup = Some(cgroup::parse(json)?),
        Step::Pdeathsig => params.pdeathsig = Some(scrub::parse_pdeathsig(json)?),
        Step::Ids => params.ids = Some(identity::parse_ids(json)?),
        Step::Capabilities => params.capabilities = Some(capabilities::parse(json)?),
        Step::HostRoot
        | Step::View
        | Step::Cwd
        | Step::Signals
        | Step::Env
        | Step::Setsid
        | Step::NoNewPrivs
        | Step::Landlock
        | Step::Seccomp
        | Step::Learn
        | Step::Exec => {
            strict::<PlainEntry>(json)?;
        }
    }
    Ok(())
}

fn parse_schedule(entries: &[Box<RawValue>]) -> Result<(Vec<Step>, Vec<i32>, Params), Refusal> {
    let mut steps: Vec<Step> = Vec::with_capacity(entries.len());
    let mut keep = Vec::new();
    let mut params = Params::default();
    for (index, raw) in entries.iter().enumerate() {
        let json = raw.get();
        let id: EntryId = serde_json::from_str(json)
            .map_err(|e| invalid(format!("Schedule entry {index} has no primitive id ({e})")))?;
        let step = Step::from_id(&id.id).ok_or_else(|| {
            Refusal::UnknownPrimitive(format!(
                "Schedule entry {index} is {}, which this shim does not know; update the shim or compile for this version",
                id.id
            ))
        })?;
        let bad = |e: String| invalid(format!("Schedule entry {index} ({}): {e}", step.id()));
        let phase = serde_json::from_str::<EntryPhase>(json)
            .map_err(|e| bad(e.to_string()))?
            .phase;
        if phase != step.phase() {
            return Err(invalid(format!(
                "Schedule entry {index} ({}) says phase {phase}, it belongs to phase {}",
                step.id(),
                step.phase()
            )));
        }
        if steps.contains(&step) {
            return Err(invalid(format!(
                "Schedule entry {index} repeats {}",
                step.id()
            )));
        }
        if steps.last().is_some_and(|prev| prev.phase() > phase) {
            return Err(invalid(format!(
                "Schedule entry {index} ({}) is out of phase order",
                step.id()
            )));
        }
        if let Some(prev) = steps.last().filter(|prev| prev.order() > step.order()) {
            return Err(invalid(format!(
                "Schedule entry {index} ({}) must come before {} (the shim's fixed order within a phase; see docs/plan-and-shim.md)",
                step.id(),
                prev.id()
            )));
        }
        parse_params(step, json, &mut params, &mut keep).map_err(bad)?;
        steps.push(step);
    }
    if let Some(missing) = Step::REQUIRED.iter().find(|s| !steps.contains(s)) {
        return Err(invalid(format!(
            "The schedule lacks {}, which every plan must contain",
            missing.id()
        )));
    }
    if steps.last() != Some(&Step::Exec) {
        return Err(invalid("The schedule must end with linux.exec.execveat.v1"));
    }
    scrub::check_keep_order(&keep)?;
    if params.hostname.is_some() && !params.namespaces.is_some_and(|n| n.uts) {
        return Err(invalid(
            "linux.visibility.hostname.v1 needs a UTS namespace (namespaces.uts) in the same plan",
        ));
    }
    if params.ids.is_some_and(|(uid, gid)| uid == 0 || gid == 0) && !steps.contains(&Step::HostRoot)
    {
        return Err(invalid(
            "linux.scrub.ids.v1 switches to uid or gid 0, which is host root; a plan that means it also has linux.identity.host_root.v1",
        ));
    }
    if let Some(cap) = params.host_capability() {
        if params.userns.is_none() && !steps.contains(&Step::HostRoot) {
            return Err(invalid(format!(
                "linux.scrub.capabilities.v1 keeps {} without a user namespace, which is host authority; a plan that means it also has linux.identity.host_root.v1",
                crate::caps::names(crate::caps::bit(cap)).join("")
            )));
        }
    }
    if params.ids.is_some() && params.userns.is_some() {
        return Err(invalid(
            "linux.scrub.ids.v1 is for launches without a user namespace; with linux.identity.userns.v1 the ids are its uid and gid",
        ));
    }
    Ok((steps, keep, params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::Enforce;
    use crate::testutil::{statement, NOW_NS};
    use serde_json::{json, Value};

    fn parse_value(v: &Value) -> Result<Plan, Refusal> {
        parse(&serde_json::to_vec(v).unwrap(), NOW_NS)
    }

    fn sh_statement() -> Value {
        statement("/bin/sh", &"ab".repeat(32), &["sh", "-c", "exit 7"])
    }

    fn code(r: Result<Plan, Refusal>) -> &'static str {
        r.map(|_| "ok").unwrap_or_else(|e| e.code())
    }

    #[test]
    fn accepts_a_compiler_shaped_plan() {
        let plan = parse_value(&sh_statement()).unwrap();
        assert_eq!(plan.exe, "/bin/sh");
        assert_eq!(
            plan.steps,
            [
                Step::Cwd,
                Step::Signals,
                Step::Env,
                Step::Fds,
                Step::NoNewPrivs,
                Step::Exec
            ]
        );
        assert_eq!(plan.argv.len(), 3);
        assert_eq!(plan.env_set[0].1.to_str().unwrap(), "A=1");
    }

    #[test]
    fn refuses_unknown_fields_everywhere() {
        for pointer in [
            "",
            "/predicate",
            "/predicate/target",
            "/predicate/env",
            "/subject/0",
            "/predicate/schedule/3",
        ] {
            let mut v = sh_statement();
            v.pointer_mut(pointer)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .insert("extra".into(), json!(1));
            assert_eq!(
                code(parse_value(&v)),
                "plan_invalid",
                "extra key at {pointer:?}"
            );
        }
    }

    #[test]
    fn refuses_unknown_primitives_with_their_own_code() {
        let mut v = sh_statement();
        let schedule = v
            .pointer_mut("/predicate/schedule")
            .unwrap()
            .as_array_mut()
            .unwrap();
        schedule.insert(5, json!({ "id": "linux.confine.teleport.v1", "phase": 4 }));
        assert_eq!(code(parse_value(&v)), "unknown_primitive");
    }

    #[test]
    fn refuses_bad_schedules() {
        type Edit = fn(&mut Vec<Value>);
        let cases: [(&str, Edit); 6] = [
            ("out of order", |s| s.swap(0, 1)),
            ("wrong phase", |s| s[0]["phase"] = json!(3)),
            ("duplicate", |s| s.insert(1, s[1].clone())),
            ("missing no_new_privs", |s| {
                s.remove(4);
            }),
            ("missing execveat", |s| {
                s.pop();
            }),
            ("keep below 3", |s| s[3]["keep"] = json!([2])),
        ];
        for (name, edit) in cases {
            let mut v = sh_statement();
            edit(
                v.pointer_mut("/predicate/schedule")
                    .unwrap()
                    .as_array_mut()
                    .unwrap(),
            );
            assert_eq!(code(parse_value(&v)), "plan_invalid", "{name}");
        }
    }

    #[test]
    fn checks_arch_expiry_subject_and_version() {
        let other = if BUILD_ARCH == "x86_64" {
            "aarch64"
        } else {
            "x86_64"
        };
        let edits: [(&str, Value, &str); 6] = [
            ("/predicate/arch", json!(other), "arch_mismatch"),
            ("/predicate/planVersion", json!(2), "plan_invalid"),
            (
                "/subject/0/digest/sha256",
                json!("cd".repeat(32)),
                "plan_invalid",
            ),
            ("/predicate/target/cwd", json!("tmp"), "plan_invalid"),
            ("/predicate/target/argv", json!([]), "plan_invalid"),
            ("/predicate/compiledOn", json!("yesterday"), "plan_invalid"),
        ];
        for (pointer, value, expected) in edits {
            let mut v = sh_statement();
            *v.pointer_mut(pointer).unwrap() = value;
            assert_eq!(code(parse_value(&v)), expected, "{pointer}");
        }
        let mut v = sh_statement();
        v["predicate"]["notAfter"] = json!("2020-01-01T00:00:00Z");
        assert_eq!(code(parse_value(&v)), "plan_expired");
        v["predicate"]["notAfter"] = json!("2999-01-01T00:00:00Z");
        assert_eq!(code(parse_value(&v)), "ok");
    }

    #[test]
    fn refuses_env_names_twice_and_extra_args_when_not_allowed() {
        let mut v = sh_statement();
        v["predicate"]["env"]["pass"] = json!(["A"]);
        assert_eq!(code(parse_value(&v)), "plan_invalid");
        let plan = parse_value(&sh_statement()).unwrap();
        assert!(plan.check_extra_args(&[]).is_ok());
        let extra = [CString::new("x").unwrap()];
        assert_eq!(
            plan.check_extra_args(&extra).unwrap_err().code(),
            "extra_args_forbidden"
        );
    }

    /// The shell statement with every primitive of the contract and both sections.
    fn full_statement() -> Value {
        let mut v = sh_statement();
        let exe_sha = v["predicate"]["target"]["sha256"].clone();
        v["predicate"]["schedule"] = json!([
            { "id": "linux.identity.userns.v1", "phase": 1, "uid": 1000, "enforce": "required" },
            { "id": "linux.visibility.namespaces.v1", "phase": 2, "net": true, "pid": true,
              "ipc": false, "uts": true, "cgroup": false, "enforce": "best_effort" },
            { "id": "linux.visibility.hostname.v1", "phase": 2, "hostname": "box" },
            { "id": "linux.visibility.cwd.v1", "phase": 2 },
            { "id": "linux.scrub.signals.v1", "phase": 3 },
            { "id": "linux.scrub.env.v1", "phase": 3 },
            { "id": "linux.scrub.fds.v1", "phase": 3, "keep": [] },
            { "id": "linux.scrub.rlimits.v1", "phase": 3,
              "limits": [{ "resource": "NOFILE", "value": 64 }, { "resource": "CORE", "value": 0 }] },
            { "id": "linux.scrub.cgroup.v1", "phase": 3, "pidsMax": 16, "cpuMaxPercent": 12.5,
              "enforce": "best_effort" },
            { "id": "linux.scrub.setsid.v1", "phase": 3 },
            { "id": "linux.scrub.pdeathsig.v1", "phase": 3, "signal": 9 },
            { "id": "linux.scrub.capabilities.v1", "phase": 3, "keep": ["CAP_NET_BIND_SERVICE"] },
            { "id": "linux.scrub.no_new_privs.v1", "phase": 3 },
            { "id": "linux.confine.landlock.v1", "phase": 4 },
            { "id": "linux.confine.seccomp.v1", "phase": 4 },
            { "id": "linux.exec.execveat.v1", "phase": 5 },
        ]);
        v["predicate"]["landlock"] = json!({
            "enforce": "required",
            "handledFs": ["execute", "read_file", "read_dir"],
            "fs": [
                { "path": "/usr", "access": ["read_file", "read_dir"] },
                { "path": "/bin/sh", "access": ["execute", "read_file"], "implied": "target",
                  "sha256": exe_sha },
            ],
            "handledNet": ["connect_tcp"],
            "net": [{ "port": 443, "access": ["connect_tcp"] }],
            "scoped": ["signal"],
        });
        // ret ALLOW
        v["predicate"]["seccomp"] = json!({
            "enforce": "required", "bpfB64": "BgAAAAAA/38=",
            "sha256": crate::digest::sha256_hex(&[6, 0, 0, 0, 0, 0, 0xff, 0x7f]),
            "instructions": 1, "flags": ["log"],
        });
        v
    }

    #[test]
    fn keeps_host_capabilities_only_with_host_root() {
        let with = |userns: bool, host_root: bool, keep: &[&str]| {
            let mut v = full_statement();
            let schedule = v["predicate"]["schedule"].as_array_mut().unwrap();
            schedule[11]["keep"] = json!(keep);
            if !userns {
                schedule.remove(0);
            }
            if host_root {
                schedule.insert(
                    0,
                    json!({ "id": "linux.identity.host_root.v1", "phase": 1 }),
                );
            }
            code(parse_value(&v))
        };
        let setuid = ["CAP_NET_BIND_SERVICE", "CAP_SETUID"];
        assert_eq!(with(false, false, &setuid), "plan_invalid");
        assert_eq!(with(false, false, &["CAP_CHOWN"]), "plan_invalid");
        assert_eq!(with(false, false, &["CAP_NET_BIND_SERVICE"]), "ok");
        assert_eq!(with(false, true, &setuid), "ok");
        assert_eq!(with(true, false, &setuid), "ok");
    }

    #[test]
    fn parses_every_primitive_and_both_sections() {
        let plan = parse_value(&full_statement()).unwrap();
        assert_eq!(plan.steps.len(), 16);
        let p = &plan.params;
        assert_eq!(
            p.userns,
            Some(UserNsParams {
                uid: Some(1000),
                gid: None,
                enforce: Enforce::Required
            })
        );
        let ns = p.namespaces.unwrap();
        assert_eq!(
            ns.flags(),
            (libc::CLONE_NEWNET | libc::CLONE_NEWPID | libc::CLONE_NEWUTS) as u64
        );
        assert_eq!(ns.enforce, Enforce::BestEffort);
        assert_eq!(p.hostname.as_deref().unwrap().to_str(), Ok("box"));
        assert_eq!(
            p.rlimits
                .iter()
                .map(|l| (l.name, l.resource, l.value))
                .collect::<Vec<_>>(),
            [("NOFILE", 7, 64), ("CORE", 4, 0)]
        );
        let cg = p.cgroup.unwrap();
        assert_eq!(
            (cg.pids_max, cg.cpu_max_percent, cg.memory_max),
            (Some(16), Some(12.5), None)
        );
        assert_eq!(p.pdeathsig, Some(9));
        assert_eq!(p.capabilities, Some(vec![10]));
        let ll = p.landlock.as_ref().unwrap();
        assert_eq!(ll.handled_fs, 0b1101);
        assert_eq!((ll.handled_net, ll.scoped), (2, 2));
        assert_eq!(ll.net, [(443, 2)]);
        assert_eq!(ll.fs[1].implied.as_deref(), Some("target"));
        let sc = p.seccomp.as_ref().unwrap();
        assert_eq!(sc.program.len(), 8);
        assert_eq!(sc.flags, seccomp::FLAG_LOG);
    }

    #[test]
    fn refuses_inconsistent_primitive_parameters() {
        type Edit = fn(&mut Value);
        let cases: [(&str, Edit); 18] = [
            ("unknown userns param", |v| {
                v["predicate"]["schedule"][0]["extra"] = json!(1)
            }),
            ("uid -1", |v| {
                v["predicate"]["schedule"][0]["uid"] = json!(4294967295u32)
            }),
            ("bad enforce", |v| {
                v["predicate"]["schedule"][0]["enforce"] = json!("maybe")
            }),
            ("hostname without uts", |v| {
                v["predicate"]["schedule"][1]["uts"] = json!(false)
            }),
            ("long hostname", |v| {
                v["predicate"]["schedule"][2]["hostname"] = json!("x".repeat(65))
            }),
            ("unknown rlimit", |v| {
                v["predicate"]["schedule"][7]["limits"][0]["resource"] = json!("RSS")
            }),
            ("fractional rlimit", |v| {
                v["predicate"]["schedule"][7]["limits"][0]["value"] = json!(1.5)
            }),
            ("zero cpu", |v| {
                v["predicate"]["schedule"][8]["cpuMaxPercent"] = json!(0)
            }),
            ("signal 0", |v| {
                v["predicate"]["schedule"][10]["signal"] = json!(0)
            }),
            ("lowercase cap", |v| {
                v["predicate"]["schedule"][11]["keep"] = json!(["net_admin"])
            }),
            ("landlock missing", |v| {
                v["predicate"].as_object_mut().unwrap().remove("landlock");
            }),
            ("unknown right", |v| {
                v["predicate"]["landlock"]["handledFs"][0] = json!("fly")
            }),
            ("unhandled right", |v| {
                v["predicate"]["landlock"]["fs"][0]["access"] = json!(["write_file"])
            }),
            ("target impostor", |v| {
                v["predicate"]["landlock"]["fs"][1]["path"] = json!("/bin/dash")
            }),
            ("port too big", |v| {
                v["predicate"]["landlock"]["net"][0]["port"] = json!(65536)
            }),
            ("seccomp count", |v| {
                v["predicate"]["seccomp"]["instructions"] = json!(2)
            }),
            ("seccomp flag", |v| {
                v["predicate"]["seccomp"]["flags"] = json!(["tsync"])
            }),
            ("seccomp ret A", |v| {
                // ret A: the kernel accepts it, the review cannot follow it.
                v["predicate"]["seccomp"]["bpfB64"] = json!("FgAAAAAAAAA=")
            }),
        ];
        for (name, edit) in cases {
            let mut v = full_statement();
            edit(&mut v);
            assert_eq!(code(parse_value(&v)), "plan_invalid", "{name}");
        }
    }

    #[test]
    fn parses_inputs_and_recorded_resolutions_strictly() {
        let mut v = full_statement();
        v["predicate"]["target"]["cwdResolved"] = json!("/usr/lib");
        v["predicate"]["target"]["inputs"] =
            json!([{ "path": "/srv/wc.py", "sha256": "cd".repeat(32), "resolved": "/data/wc.py" }]);
        v["predicate"]["landlock"]["fs"][0]["resolved"] = json!("/opt/usr");
        let plan = parse_value(&v).unwrap();
        assert_eq!(plan.cwd_resolved.as_deref(), Some("/usr/lib"));
        assert_eq!(plan.inputs[0].resolved.as_deref(), Some("/data/wc.py"));
        let ll = plan.params.landlock.unwrap();
        assert_eq!(ll.fs[0].resolved.as_deref(), Some("/opt/usr"));

        type Edit = fn(&mut Value);
        let cases: [(&str, Edit); 7] = [
            ("unknown input key", |v| {
                v["predicate"]["target"]["inputs"][0]["mode"] = json!(1)
            }),
            ("input without digest", |v| {
                v["predicate"]["target"]["inputs"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("sha256");
            }),
            ("relative input", |v| {
                v["predicate"]["target"]["inputs"][0]["path"] = json!("wc.py")
            }),
            ("input twice", |v| {
                let first = v["predicate"]["target"]["inputs"][0].clone();
                v["predicate"]["target"]["inputs"]
                    .as_array_mut()
                    .unwrap()
                    .push(first);
            }),
            ("relative cwd resolution", |v| {
                v["predicate"]["target"]["cwdResolved"] = json!("usr")
            }),
            ("resolution equal to the path", |v| {
                v["predicate"]["landlock"]["fs"][0]["resolved"] = json!("/usr")
            }),
            ("resolution on an implied rule", |v| {
                v["predicate"]["landlock"]["fs"][1]["resolved"] = json!("/usr/bin/dash")
            }),
        ];
        for (name, edit) in cases {
            let mut v = full_statement();
            v["predicate"]["target"]["inputs"] =
                json!([{ "path": "/srv/wc.py", "sha256": "cd".repeat(32) }]);
            edit(&mut v);
            assert_eq!(code(parse_value(&v)), "plan_invalid", "{name}");
        }
    }

    #[test]
    fn runs_primitives_in_one_fixed_order() {
        let mut v = full_statement();
        let schedule = v["predicate"]["schedule"].as_array_mut().unwrap();
        // capabilities before setsid: same phase, against the fixed order.
        schedule.swap(9, 11);
        assert_eq!(code(parse_value(&v)), "plan_invalid");
        let mut v = full_statement();
        let schedule = v["predicate"]["schedule"].as_array_mut().unwrap();
        schedule.swap(13, 14); // seccomp before landlock
        assert_eq!(code(parse_value(&v)), "plan_invalid");
        let mut v = full_statement();
        v["predicate"]["schedule"].as_array_mut().unwrap().insert(
            12,
            json!({ "id": "linux.scrub.ids.v1", "phase": 3, "uid": 1, "gid": 1 }),
        );
        assert_eq!(
            code(parse_value(&v)),
            "plan_invalid",
            "ids with a user namespace"
        );
    }

    /// The full statement turned into a learn plan: the recording step in place of
    /// Landlock and seccomp, the seccomp section (the recording filter) and a learn section.
    fn learn_statement() -> Value {
        let mut v = full_statement();
        let schedule = v["predicate"]["schedule"].as_array_mut().unwrap();
        schedule.retain(|e| e["id"] != "linux.confine.landlock.v1");
        for entry in schedule.iter_mut() {
            if entry["id"] == "linux.confine.seccomp.v1" {
                entry["id"] = json!("linux.confine.learn.v1");
            }
        }
        v["predicate"].as_object_mut().unwrap().remove("landlock");
        v["predicate"]["learn"] = json!({
            "baselineBpfB64": "BgAAAAAA/38=",
            "watch": [{ "nr": 257, "paths": [[1, 0]] }, { "nr": 42, "paths": [], "sockaddr": [1, 2] }],
            "socketFd": 1000,
        });
        v
    }

    #[test]
    fn parses_learn_plans_and_refuses_inconsistent_ones() {
        let plan = parse_value(&learn_statement()).unwrap();
        let section = plan.params.learn.as_ref().unwrap();
        assert_eq!(section.socket_fd, 1000);
        assert_eq!(section.watch[&257].paths, [(1, Some(0))]);
        assert_eq!(section.watch[&42].sockaddr, Some((1, 2)));
        assert!(plan.params.seccomp.is_some());
        type Edit = fn(&mut Value);
        let broken: [(&str, Edit); 7] = [
            ("no learn section", |v| {
                v["predicate"].as_object_mut().unwrap().remove("learn");
            }),
            ("learn section without the step", |v| {
                let s = v["predicate"]["schedule"].as_array_mut().unwrap();
                for e in s.iter_mut().filter(|e| e["id"] == "linux.confine.learn.v1") {
                    e["id"] = json!("linux.confine.seccomp.v1");
                }
            }),
            ("learn and seccomp both", |v| {
                let s = v["predicate"]["schedule"].as_array_mut().unwrap();
                let at = s.len() - 1;
                s.insert(
                    at - 1,
                    json!({ "id": "linux.confine.seccomp.v1", "phase": 4 }),
                );
            }),
            ("an argument index past 5", |v| {
                v["predicate"]["learn"]["watch"][0]["paths"] = json!([[6, 0]]);
            }),
            ("a syscall twice", |v| {
                v["predicate"]["learn"]["watch"][1]["nr"] = json!(257);
            }),
            ("the socket on stdio", |v| {
                v["predicate"]["learn"]["socketFd"] = json!(2);
            }),
            ("a baseline outside the reviewable subset", |v| {
                // ret A
                v["predicate"]["learn"]["baselineBpfB64"] = json!("FgAAAAAAAAA=");
            }),
        ];
        for (what, edit) in broken {
            let mut v = learn_statement();
            edit(&mut v);
            assert_eq!(code(parse_value(&v)), "plan_invalid", "{what}");
        }
    }

    #[test]
    fn ties_the_view_primitive_section_and_in_view_rules_together() {
        let with_view = |primitive: bool, section: bool, rule: Value| {
            let mut v = full_statement();
            if primitive {
                v["predicate"]["schedule"]
                    .as_array_mut()
                    .unwrap()
                    .insert(3, json!({ "id": "linux.visibility.view.v1", "phase": 2 }));
            }
            if section {
                v["predicate"]["view"] = json!({ "mode": "listed", "enforce": "required",
                    "mounts": [{ "kind": "root", "sizeBytes": 4096, "flags": ["ro", "nosuid", "nodev"] }] });
            }
            v["predicate"]["landlock"]["fs"]
                .as_array_mut()
                .unwrap()
                .push(rule);
            code(parse_value(&v))
        };
        let tmp = json!({ "path": "/tmp", "access": ["read_file"], "inView": true });
        assert_eq!(with_view(true, true, tmp.clone()), "ok");
        assert_eq!(
            with_view(true, false, tmp.clone()),
            "plan_invalid",
            "no section"
        );
        assert_eq!(
            with_view(false, true, tmp.clone()),
            "plan_invalid",
            "no primitive"
        );
        assert_eq!(
            with_view(false, false, tmp),
            "plan_invalid",
            "inView without a view"
        );
        let resolved = json!({ "path": "/tmp", "access": ["read_file"], "inView": true,
            "resolved": "/private/tmp" });
        assert_eq!(
            with_view(true, true, resolved),
            "plan_invalid",
            "inView and resolved"
        );
        let plan = {
            let mut v = full_statement();
            v["predicate"]["schedule"]
                .as_array_mut()
                .unwrap()
                .insert(3, json!({ "id": "linux.visibility.view.v1", "phase": 2 }));
            v["predicate"]["view"] = json!({ "mode": "host", "enforce": "best_effort",
                "mounts": [{ "kind": "hide", "target": "/run", "flags": ["ro", "nosuid", "nodev"] }] });
            parse_value(&v).unwrap()
        };
        assert!(plan.steps.contains(&Step::View) && plan.params.view.is_some());
    }
}
