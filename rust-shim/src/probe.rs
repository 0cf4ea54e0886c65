//! What this kernel offers, as the shim sees it (`charter_probe`).

use crate::caps;
use crate::mechanism::cgroup;
use crate::mechanism::seccomp;
use crate::plan::BUILD_ARCH;
use crate::sys::{self, CloneArgs};
use crate::version::{shim, ABI_VERSION};
use serde_json::{json, Value};
use std::os::fd::{FromRawFd, OwnedFd};

/// Whether this process can create a child with the `CLONE_NEW*` flags in `flags`: a
/// throwaway clone3 child that exits at once and is reaped.
fn can_clone(flags: u64) -> bool {
    let mut pidfd: libc::c_int = -1;
    let mut args = CloneArgs {
        flags: flags | libc::CLONE_PIDFD as u64,
        pidfd: std::ptr::addr_of_mut!(pidfd) as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    let Ok(saved) = sys::set_signal_mask(!0) else {
        return false;
    };
    // SAFETY: no CLONE_VM; the child only calls exit_group, with every signal blocked.
    let result = unsafe { sys::clone3(&mut args) };
    if result == Ok(0) {
        sys::exit_group(0);
    }
    let _ = sys::set_signal_mask(saved);
    match result {
        Ok(_) => {
            // SAFETY: the kernel stored a new pidfd that nothing else owns.
            let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
            let _ = sys::wait_pidfd(std::os::fd::AsRawFd::as_raw_fd(&pidfd));
            true
        }
        Err(_) => false,
    }
}

/// Which namespaces this user can create: each together with a user namespace (as a
/// plan with `user.namespace` does), and whether a network namespace works without one
/// (that needs CAP_SYS_ADMIN).
fn namespaces() -> Value {
    let user = libc::CLONE_NEWUSER as u64;
    let kinds = [
        ("net", libc::CLONE_NEWNET),
        ("pid", libc::CLONE_NEWPID),
        ("ipc", libc::CLONE_NEWIPC),
        ("uts", libc::CLONE_NEWUTS),
        ("cgroup", libc::CLONE_NEWCGROUP),
        ("mnt", libc::CLONE_NEWNS),
    ];
    let user_ok = can_clone(user);
    let mut out = serde_json::Map::new();
    out.insert("user".into(), json!(user_ok));
    for (name, flag) in kinds {
        out.insert(name.into(), json!(can_clone(user | flag as u64)));
    }
    out.insert(
        "withoutUserNamespace".into(),
        json!(can_clone(libc::CLONE_NEWNET as u64)),
    );
    Value::Object(out)
}

fn cgroup_report() -> Value {
    match cgroup::hierarchy() {
        Err(reason) => json!({ "v2": false, "reason": reason }),
        Ok(h) => {
            let controllers = cgroup::controllers(&h).unwrap_or_default();
            let writable = std::ffi::CString::new(h.dir.as_os_str().as_encoded_bytes())
                .map(|dir| {
                    // SAFETY: dir is a valid C string; access only reads it.
                    unsafe { libc::access(dir.as_ptr(), libc::W_OK) == 0 }
                })
                .unwrap_or(false);
            json!({
                "v2": true,
                "mount": h.mount,
                "path": h.own,
                "controllers": controllers,
                "writable": writable,
            })
        }
    }
}

/// The probe report: arch, kernel release, Landlock ABI (0 when unavailable), seccomp
/// (filter mode, return actions, filter flags), which namespaces this user can create
/// (mnt: the filesystem view, which also needs mount_setattr),
/// the cgroup v2 hierarchy and the controllers available to the launcher's cgroup,
/// whether clone3, close_range and pidfds work, the user-namespace limit (null when
/// unreadable), and the highest capability number.
pub fn report() -> Value {
    let user_namespaces = std::fs::read_to_string("/proc/sys/user/max_user_namespaces")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok());
    json!({
        "arch": BUILD_ARCH,
        "kernelRelease": sys::kernel_release().ok(),
        "landlockAbi": sys::landlock_abi().unwrap_or(0),
        "clone3": sys::has_clone3(),
        "closeRange": sys::has_close_range(),
        "pidfd": sys::has_pidfd_send_signal(),
        "userNamespaces": user_namespaces,
        "seccomp": sys::seccomp_mode().is_ok(),
        "seccompFilter": seccomp::filter_mode_available(),
        "seccompActions": seccomp::actions_available(),
        "seccompFlags": {
            "log": seccomp::flag_available(seccomp::FLAG_LOG),
            "spec_allow": seccomp::flag_available(seccomp::FLAG_SPEC_ALLOW),
        },
        "namespaces": namespaces(),
        "mountSetattr": sys::has_mount_setattr(),
        "cgroup": cgroup_report(),
        "capLastCap": caps::last_cap(),
        "shim": { "abi": ABI_VERSION, "build": shim() },
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_kernel_has_what_the_shim_needs() {
        let report = super::report();
        assert_eq!(report["clone3"], true);
        assert_eq!(report["closeRange"], true);
        assert_eq!(report["pidfd"], true);
        assert!(report["kernelRelease"]
            .as_str()
            .is_some_and(|r| !r.is_empty()));
        assert!(report["landlockAbi"].as_i64().is_some());
        assert_eq!(report["seccompFilter"], true);
        assert_eq!(report["namespaces"]["user"], true);
        assert_eq!(report["namespaces"]["net"], true);
        assert_eq!(report["namespaces"]["mnt"], true);
        assert_eq!(report["mountSetattr"], true);
        assert_eq!(report["cgroup"]["v2"], true);
    }
}
