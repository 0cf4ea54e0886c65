//! Parsing and validating the signed payload: an in-toto Statement v1 whose predicate is a
//! LinuxLaunchPlan v1 (docs/plan-and-shim.md). Every object is parsed strictly (unknown
//! keys are `plan_invalid`); the result is a [`Plan`] whose strings are ready for the child.

use crate::digest::is_sha256_hex;
use crate::error::Refusal;
use crate::rfc3339;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
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

/// The phase names, index = phase − 1.
pub const PHASE_NAMES: [&str; 5] = ["identity", "visibility", "scrub", "confine", "exec"];

/// A schedule primitive this shim knows. Parameters live in [`Plan`] (e.g. [`Plan::keep`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `linux.visibility.cwd.v1`: chdir(target.cwd).
    Cwd,
    /// `linux.scrub.signals.v1`: default dispositions, empty mask.
    Signals,
    /// `linux.scrub.env.v1`: envp from `env` only.
    Env,
    /// `linux.scrub.fds.v1`: close all but 0, 1, 2 and `keep`.
    Fds,
    /// `linux.scrub.no_new_privs.v1`: PR_SET_NO_NEW_PRIVS.
    NoNewPrivs,
    /// `linux.exec.execveat.v1`: execveat of the verified fd.
    Exec,
}

impl Step {
    /// Every known primitive; a step's index here is its code on the progress pipe.
    pub const ALL: [Step; 6] = [
        Step::Cwd,
        Step::Signals,
        Step::Env,
        Step::Fds,
        Step::NoNewPrivs,
        Step::Exec,
    ];

    /// Primitives every plan must contain (the scrub cannot be dropped by editing a plan).
    const REQUIRED: [Step; 5] = [
        Step::Signals,
        Step::Env,
        Step::Fds,
        Step::NoNewPrivs,
        Step::Exec,
    ];

    /// The primitive id.
    pub fn id(self) -> &'static str {
        match self {
            Step::Cwd => "linux.visibility.cwd.v1",
            Step::Signals => "linux.scrub.signals.v1",
            Step::Env => "linux.scrub.env.v1",
            Step::Fds => "linux.scrub.fds.v1",
            Step::NoNewPrivs => "linux.scrub.no_new_privs.v1",
            Step::Exec => "linux.exec.execveat.v1",
        }
    }

    /// What the step does, for fault details.
    pub fn action(self) -> &'static str {
        match self {
            Step::Cwd => "Changing to the plan's cwd",
            Step::Signals => "Resetting signal dispositions and the signal mask",
            Step::Env => "Building the environment",
            Step::Fds => "Closing the fds the plan does not keep",
            Step::NoNewPrivs => "Setting no_new_privs",
            Step::Exec => "Executing the target",
        }
    }

    /// The phase the primitive belongs to (1–5).
    pub fn phase(self) -> u8 {
        match self {
            Step::Cwd => 2,
            Step::Signals | Step::Env | Step::Fds | Step::NoNewPrivs => 3,
            Step::Exec => 5,
        }
    }

    /// The step's code on the progress pipe.
    pub fn code(self) -> u32 {
        match self {
            Step::Cwd => 0,
            Step::Signals => 1,
            Step::Env => 2,
            Step::Fds => 3,
            Step::NoNewPrivs => 4,
            Step::Exec => 5,
        }
    }

    /// The step with a given progress-pipe code.
    pub fn from_code(code: u32) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.code() == code)
    }

    fn from_id(id: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.id() == id)
    }
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
    pub cwd: CString,
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTarget {
    exe: String,
    sha256: String,
    argv: Vec<String>,
    cwd: String,
    extra_args: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnv {
    set: BTreeMap<String, String>,
    pass: Vec<String>,
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

/// A primitive without parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainEntry {
    #[serde(rename = "id")]
    _id: String,
    phase: u8,
}

/// `linux.scrub.fds.v1`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FdsEntry {
    #[serde(rename = "id")]
    _id: String,
    phase: u8,
    keep: Vec<i32>,
}

fn invalid(detail: impl Into<String>) -> Refusal {
    Refusal::PlanInvalid(detail.into())
}

fn c_string(what: &str, value: &str) -> Result<CString, Refusal> {
    CString::new(value).map_err(|_| invalid(format!("The plan's {what} contains a NUL byte")))
}

fn env_name_ok(name: &str) -> bool {
    !name.is_empty() && !name.contains('=') && !name.contains('\0')
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
    let (steps, keep) = parse_schedule(&plan.schedule)?;
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
    let cwd = c_string("cwd", &target.cwd)?;
    let argv = target
        .argv
        .iter()
        .map(|a| c_string("argv", a))
        .collect::<Result<Vec<_>, _>>()?;
    let (env_set, env_pass) = parse_env(plan.env)?;
    Ok(Plan {
        exe: target.exe,
        sha256: target.sha256,
        argv,
        cwd,
        extra_args: target.extra_args,
        env_set,
        env_pass,
        steps,
        keep,
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

/// `env.set` as (name, `NAME=VALUE`).
type EnvSet = Vec<(String, CString)>;

fn parse_env(env: RawEnv) -> Result<(EnvSet, Vec<String>), Refusal> {
    let mut set = Vec::with_capacity(env.set.len());
    for (name, value) in env.set {
        if !env_name_ok(&name) {
            return Err(invalid(format!(
                "The plan's env.set has an invalid name {name:?}"
            )));
        }
        let entry = c_string("env.set", &format!("{name}={value}"))?;
        set.push((name, entry));
    }
    let mut pass: Vec<String> = Vec::with_capacity(env.pass.len());
    for name in env.pass {
        if !env_name_ok(&name) {
            return Err(invalid(format!(
                "The plan's env.pass has an invalid name {name:?}"
            )));
        }
        if pass.contains(&name) || set.iter().any(|(n, _)| *n == name) {
            return Err(invalid(format!(
                "The plan's env names {name} twice (in env.set or env.pass)"
            )));
        }
        pass.push(name);
    }
    Ok((set, pass))
}

fn parse_schedule(entries: &[Box<RawValue>]) -> Result<(Vec<Step>, Vec<i32>), Refusal> {
    let mut steps: Vec<Step> = Vec::with_capacity(entries.len());
    let mut keep = Vec::new();
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
        let bad =
            |e: serde_json::Error| invalid(format!("Schedule entry {index} ({}): {e}", step.id()));
        let phase = match step {
            Step::Fds => {
                let entry: FdsEntry = serde_json::from_str(json).map_err(bad)?;
                keep = entry.keep;
                entry.phase
            }
            _ => serde_json::from_str::<PlainEntry>(json).map_err(bad)?.phase,
        };
        if phase != step.phase() {
            return Err(invalid(format!(
                "Schedule entry {index} ({}) says phase {phase}, it belongs to phase {}",
                step.id(),
                step.phase()
            )));
        }
        if steps.last().is_some_and(|prev| prev.phase() > phase) {
            return Err(invalid(format!(
                "Schedule entry {index} ({}) is out of phase order",
                step.id()
            )));
        }
        if steps.contains(&step) {
            return Err(invalid(format!(
                "Schedule entry {index} repeats {}",
                step.id()
            )));
        }
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
    if keep.first().is_some_and(|&fd| fd < 3) || keep.windows(2).any(|w| w[0] >= w[1]) {
        return Err(invalid(
            "linux.scrub.fds.v1 keep must list fds of at least 3 in ascending order, each once",
        ));
    }
    Ok((steps, keep))
}

#[cfg(test)]
mod tests {
    use super::*;
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
        schedule.insert(
            5,
            json!({ "id": "linux.confine.landlock.v1", "phase": 4, "rules": [] }),
        );
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
}
