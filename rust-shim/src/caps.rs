//! Linux capability names and numbers (`include/uapi/linux/capability.h`), and which of
//! them a set holds. The capabilities primitive itself is `mechanism::capabilities`.

use crate::sys::CapSets;

/// Capability names by number, through `CAP_CHECKPOINT_RESTORE` (40). The kernel's own
/// highest number is read from `/proc/sys/kernel/cap_last_cap` at launch.
pub const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// `CAP_DAC_OVERRIDE`: writes a non-dumpable child's root-owned `/proc/PID/uid_map`.
pub const DAC_OVERRIDE: u32 = 1;
/// `CAP_SETGID`.
pub const SETGID: u32 = 6;
/// `CAP_SETUID`.
pub const SETUID: u32 = 7;
/// `CAP_SETPCAP`: needed to drop capabilities from the bounding set.
pub const SETPCAP: u32 = 8;
/// `CAP_NET_BIND_SERVICE`: the one capability a plan keeps without a user namespace and
/// without `linux.identity.host_root.v1`.
pub const NET_BIND_SERVICE: u32 = 10;
/// `CAP_SYS_PTRACE`: reads a non-dumpable child's `/proc/PID/ns`.
pub const SYS_PTRACE: u32 = 19;
/// `CAP_SYS_ADMIN`: needed to create namespaces other than user namespaces.
pub const SYS_ADMIN: u32 = 21;
/// `CAP_SYS_RESOURCE`: needed to raise a hard resource limit.
pub const SYS_RESOURCE: u32 = 24;

/// The number of a capability name (`CAP_NET_ADMIN` → 12).
pub fn number(name: &str) -> Option<u32> {
    NAMES.iter().position(|&n| n == name).map(|n| n as u32)
}

/// The names of the capabilities in `mask`, by number.
pub fn names(mask: u64) -> Vec<&'static str> {
    (0..64u32)
        .filter(|&c| mask & bit(c) != 0)
        .map(|c| NAMES.get(c as usize).copied().unwrap_or("CAP_UNKNOWN"))
        .collect()
}

/// The mask bit of capability `cap`.
pub fn bit(cap: u32) -> u64 {
    1u64.checked_shl(cap).unwrap_or(0)
}

/// All capabilities up to and including `last`.
pub fn all_through(last: u32) -> u64 {
    if last >= 63 {
        u64::MAX
    } else {
        (1u64 << (last + 1)) - 1
    }
}

/// Whether `sets` holds capability `cap` as effective.
pub fn has(sets: &CapSets, cap: u32) -> bool {
    sets.effective & bit(cap) != 0
}

/// The kernel's highest capability number (`/proc/sys/kernel/cap_last_cap`), or the
/// highest this shim knows when the file cannot be read.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
        .filter(|&n| n < 64)
        .unwrap_or(NAMES.len() as u32 - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip() {
        assert_eq!(number("CAP_NET_BIND_SERVICE"), Some(10));
        assert_eq!(number("CAP_CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(number("net_bind_service"), None);
        assert_eq!(
            names(bit(10) | bit(21)),
            ["CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"]
        );
        assert_eq!(all_through(40), 0x1ff_ffff_ffff);
        assert_eq!(all_through(63), u64::MAX);
    }
}
