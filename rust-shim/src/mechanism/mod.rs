//! The mechanisms, one module each. A module owns its plan section's parsing, what the
//! parent prepares before clone3, what the child applies, and its transcript report; it
//! uses only the foundation below it (see the module map in `lib.rs`).

pub mod capabilities;
pub mod cgroup;
pub mod cwd;
pub mod identity;
pub mod landlock;
pub mod learn;
pub mod namespaces;
pub mod rlimits;
pub mod scrub;
pub mod seccomp;
pub mod view;
