//! charter's launch shim: verifies a signed LinuxLaunchPlan and runs it
//! (scrub → confine → exec), writing a hash-chained transcript. Called through Deno FFI
//! (`ffi.rs`); contract: shared/DESIGN.md §4–§7 and docs/plan-and-shim.md.

mod b64;
mod caps;
mod cgroup;
mod child;
mod digest;
mod envelope;
mod error;
pub mod ffi;
mod hashed_file;
mod landlock;
mod launch;
mod plan;
mod plan_path;
mod prepare;
mod probe;
mod progress;
mod request;
mod rfc3339;
mod seal;
mod seccomp;
mod spawn;
mod sys;
mod transcript;
mod transcript_file;
mod transcript_socket;
mod version;
mod wait;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;
