//! What this kernel offers, as the shim sees it (`charter_probe`).

use crate::plan::BUILD_ARCH;
use crate::sys;
use crate::version::{shim, ABI_VERSION};
use serde_json::{json, Value};

/// The probe report: arch, kernel release, Landlock ABI (0 when unavailable), whether
/// clone3, close_range and pidfds work, the user-namespace limit (null when unreadable),
/// and whether seccomp is built in.
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
    }
}
