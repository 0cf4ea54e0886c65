//! charter's launch shim: verifies a signed LinuxLaunchPlan and runs it
//! (scrub → confine → exec), writing a hash-chained transcript. Called through Deno FFI
//! (`ffi.rs`); contract: shared/DESIGN.md §4–§7 and docs/plan-and-shim.md.
//!
//! # Module map
//!
//! Four layers; a module imports only modules of its own layer listed before it, or of a
//! layer below. No mechanism imports another mechanism.
//!
//! 1. Foundation: `sys` (raw syscalls, async-signal-safe), `step` (primitive ids, phases,
//!    fixed order, `Enforce`), `error` (refusal codes, faults), `digest`, `b64`,
//!    `rfc3339`, `caps` (capability names), `section` (helpers of section parsers),
//!    `report` (the `phase_resolved` details), `progress` (child → parent messages),
//!    `seccomp_notify` (seccomp user notification: listener, fd passing, the BPF
//!    interpreter), `tally` (bounded counts of distinct denials), `version`; support: `hashed_file`, `plan_path` (opening plan paths by their recorded
//!    resolution), `envelope`, `seal`, `request`, `transcript_file`, `transcript`,
//!    `audit_stream` (Landlock's denial records from the kernel audit stream).
//! 2. Mechanisms, `mechanism/*`: each owns its plan section's parsing (`parse*`), what the
//!    parent prepares before clone3 (`prepare*`: plain data, C strings, fds; refusals),
//!    what the child applies (`apply*`/named child functions: raw syscalls only), and its
//!    transcript details (recorded while preparing, `resolve`/`record_*` once clone3
//!    said what was created). `identity` (host root, user namespace and id maps, the ids
//!    step and a root launcher's fallback ids), `namespaces` (+ hostname), `cwd`, `scrub`
//!    (signals, env, fds, setsid, pdeathsig, no_new_privs), `rlimits`, `cgroup`,
//!    `capabilities`, `landlock`, `seccomp` (and the recorder of its denials), `view` (the filesystem view: a mount
//!    namespace built from the plan's `view` section), `learn` (the recording supervisor of
//!    `charter learn`).
//! 3. Sequencing: `plan` (envelope-level fields; schedule entries and top-level sections
//!    handed to their mechanism; checks across sections), `child` (the phases in the
//!    child, dispatching each step to its mechanism; the exec), `prepare` (target, inputs,
//!    argv, pipes, fds kept; each mechanism's prepare in schedule order; the child's spec),
//!    `spawn` (clone3 with best_effort fallbacks, id maps, following the child), `wait`
//!    (reaping, and the `denied` records of what the sandbox refused meanwhile).
//! 4. Top: `launch` (one launch end to end), `probe`, `ffi`.
//!
//! Adding a mechanism: a module in `mechanism/`, its `Step` in `step.rs`, and one line
//! each where `plan::parse_params` (or `plan::parse`, for a top-level section),
//! `prepare::prepare` and `child::apply` sequence the mechanisms, with the fields that
//! carry its parameters (`plan::Params`), prepared data (`prepare::Prepared`) and child
//! spec (`child::ChildSpec`).

mod audit_stream;
mod b64;
mod caps;
mod child;
mod digest;
mod envelope;
mod error;
pub mod ffi;
mod hashed_file;
mod launch;
mod mechanism;
mod plan;
mod plan_path;
mod prepare;
mod probe;
mod progress;
mod report;
mod request;
mod rfc3339;
mod seal;
mod seccomp_notify;
mod section;
mod spawn;
mod step;
mod sys;
mod tally;
mod transcript;
mod transcript_file;
mod transcript_socket;
mod version;
mod wait;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;
