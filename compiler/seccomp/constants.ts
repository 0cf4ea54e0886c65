/**
 * Named constants for seccomp argument values and errno actions: the Linux errno list,
 * socket families and types, `CLONE_*`, `O_*` (which differ between x86_64 and aarch64),
 * `PR_*`, `F_*`, signals, `PROT_*`/`MAP_*`, tty ioctls such as `TIOCSTI`, and a few more.
 * Values are from the kernel's uapi headers (`include/uapi/asm-generic/errno*.h`,
 * `include/linux/socket.h`, `include/uapi/linux/sched.h`, `include/uapi/asm-generic/fcntl.h`
 * and `arch/arm64/include/uapi/asm/fcntl.h`, `include/uapi/linux/prctl.h`,
 * `include/uapi/asm-generic/ioctls.h`, ...); the tests check them against Python's
 * `errno`, `socket`, `os`, `signal`, `fcntl`, `mmap` and `termios` modules.
 *
 * @module
 */
import { closest } from "../../policy/suggest.ts";
import type { SeccompArch } from "./arch.ts";
import { SeccompCompileError } from "./errors.ts";

/** Linux errno values (the same on x86_64 and aarch64), canonical names first. */
export const ERRNOS: Readonly<Record<string, number>> = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  ENOTBLK: 15,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  EPIPE: 32,
  EDOM: 33,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOLCK: 37,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENOMSG: 42,
  EIDRM: 43,
  ECHRNG: 44,
  EL2NSYNC: 45,
  EL3HLT: 46,
  EL3RST: 47,
  ELNRNG: 48,
  EUNATCH: 49,
  ENOCSI: 50,
  EL2HLT: 51,
  EBADE: 52,
  EBADR: 53,
  EXFULL: 54,
  ENOANO: 55,
  EBADRQC: 56,
  EBADSLT: 57,
  EBFONT: 59,
  ENOSTR: 60,
  ENODATA: 61,
  ETIME: 62,
  ENOSR: 63,
  ENONET: 64,
  ENOPKG: 65,
  EREMOTE: 66,
  ENOLINK: 67,
  EADV: 68,
  ESRMNT: 69,
  ECOMM: 70,
  EPROTO: 71,
  EMULTIHOP: 72,
  EDOTDOT: 73,
  EBADMSG: 74,
  EOVERFLOW: 75,
  ENOTUNIQ: 76,
  EBADFD: 77,
  EREMCHG: 78,
  ELIBACC: 79,
  ELIBBAD: 80,
  ELIBSCN: 81,
  ELIBMAX: 82,
  ELIBEXEC: 83,
  EILSEQ: 84,
  ERESTART: 85,
  ESTRPIPE: 86,
  EUSERS: 87,
  ENOTSOCK: 88,
  EDESTADDRREQ: 89,
  EMSGSIZE: 90,
  EPROTOTYPE: 91,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  ESOCKTNOSUPPORT: 94,
  EOPNOTSUPP: 95,
  EPFNOSUPPORT: 96,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ENETRESET: 102,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ESHUTDOWN: 108,
  ETOOMANYREFS: 109,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTDOWN: 112,
  EHOSTUNREACH: 113,
  EALREADY: 114,
  EINPROGRESS: 115,
  ESTALE: 116,
  EUCLEAN: 117,
  ENOTNAM: 118,
  ENAVAIL: 119,
  EISNAM: 120,
  EREMOTEIO: 121,
  EDQUOT: 122,
  ENOMEDIUM: 123,
  EMEDIUMTYPE: 124,
  ECANCELED: 125,
  ENOKEY: 126,
  EKEYEXPIRED: 127,
  EKEYREVOKED: 128,
  EKEYREJECTED: 129,
  EOWNERDEAD: 130,
  ENOTRECOVERABLE: 131,
  ERFKILL: 132,
  EHWPOISON: 133,
  // Aliases.
  EWOULDBLOCK: 11,
  EDEADLOCK: 35,
  ENOTSUP: 95,
};

/** errno number → canonical name. */
export const ERRNO_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(ERRNOS).reverse().map(([name, value]) => [value, name]),
);

type Constants = Readonly<Record<string, bigint>>;

const big = (record: Record<string, number | bigint>): Constants =>
  Object.fromEntries(Object.entries(record).map(([k, v]) => [k, BigInt(v)]));

/** Constants with the same value on x86_64 and aarch64. */
const COMMON: Constants = big({
  // Address families (include/linux/socket.h).
  AF_UNSPEC: 0,
  AF_UNIX: 1,
  AF_LOCAL: 1,
  AF_INET: 2,
  AF_AX25: 3,
  AF_IPX: 4,
  AF_APPLETALK: 5,
  AF_NETROM: 6,
  AF_BRIDGE: 7,
  AF_ATMPVC: 8,
  AF_X25: 9,
  AF_INET6: 10,
  AF_ROSE: 11,
  AF_DECnet: 12,
  AF_NETBEUI: 13,
  AF_SECURITY: 14,
  AF_KEY: 15,
  AF_NETLINK: 16,
  AF_ROUTE: 16,
  AF_PACKET: 17,
  AF_ASH: 18,
  AF_ECONET: 19,
  AF_ATMSVC: 20,
  AF_RDS: 21,
  AF_SNA: 22,
  AF_IRDA: 23,
  AF_PPPOX: 24,
  AF_WANPIPE: 25,
  AF_LLC: 26,
  AF_IB: 27,
  AF_MPLS: 28,
  AF_CAN: 29,
  AF_TIPC: 30,
  AF_BLUETOOTH: 31,
  AF_IUCV: 32,
  AF_RXRPC: 33,
  AF_ISDN: 34,
  AF_PHONET: 35,
  AF_IEEE802154: 36,
  AF_CAIF: 37,
  AF_ALG: 38,
  AF_NFC: 39,
  AF_VSOCK: 40,
  AF_KCM: 41,
  AF_QIPCRTR: 42,
  AF_SMC: 43,
  AF_XDP: 44,
  AF_MCTP: 45,
  // Socket types and type flags (include/linux/net.h, asm-generic/fcntl.h).
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_RAW: 3,
  SOCK_RDM: 4,
  SOCK_SEQPACKET: 5,
  SOCK_DCCP: 6,
  SOCK_PACKET: 10,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,
  // Socket option levels and protocols (include/linux/socket.h, uapi/linux/in.h).
  SOL_SOCKET: 1,
  SOL_IP: 0,
  SOL_TCP: 6,
  SOL_UDP: 17,
  SOL_IPV6: 41,
  SOL_RAW: 255,
  SOL_NETLINK: 270,
  SOL_ALG: 279,
  IPPROTO_IP: 0,
  IPPROTO_ICMP: 1,
  IPPROTO_IGMP: 2,
  IPPROTO_TCP: 6,
  IPPROTO_UDP: 17,
  IPPROTO_IPV6: 41,
  IPPROTO_GRE: 47,
  IPPROTO_ICMPV6: 58,
  IPPROTO_SCTP: 132,
  IPPROTO_UDPLITE: 136,
  IPPROTO_RAW: 255,
  IPPROTO_MPTCP: 262,
  // Netlink protocols (uapi/linux/netlink.h).
  NETLINK_ROUTE: 0,
  NETLINK_USERSOCK: 2,
  NETLINK_FIREWALL: 3,
  NETLINK_SOCK_DIAG: 4,
  NETLINK_NFLOG: 5,
  NETLINK_XFRM: 6,
  NETLINK_SELINUX: 7,
  NETLINK_ISCSI: 8,
  NETLINK_AUDIT: 9,
  NETLINK_FIB_LOOKUP: 10,
  NETLINK_CONNECTOR: 11,
  NETLINK_NETFILTER: 12,
  NETLINK_IP6_FW: 13,
  NETLINK_DNRTMSG: 14,
  NETLINK_KOBJECT_UEVENT: 15,
  NETLINK_GENERIC: 16,
  NETLINK_SCSITRANSPORT: 18,
  NETLINK_ECRYPTFS: 19,
  NETLINK_RDMA: 20,
  NETLINK_CRYPTO: 21,
  NETLINK_SMC: 22,
  // clone/unshare flags (uapi/linux/sched.h).
  CSIGNAL: 0x000000ff,
  CLONE_NEWTIME: 0x00000080,
  CLONE_VM: 0x00000100,
  CLONE_FS: 0x00000200,
  CLONE_FILES: 0x00000400,
  CLONE_SIGHAND: 0x00000800,
  CLONE_PIDFD: 0x00001000,
  CLONE_PTRACE: 0x00002000,
  CLONE_VFORK: 0x00004000,
  CLONE_PARENT: 0x00008000,
  CLONE_THREAD: 0x00010000,
  CLONE_NEWNS: 0x00020000,
  CLONE_SYSVSEM: 0x00040000,
  CLONE_SETTLS: 0x00080000,
  CLONE_PARENT_SETTID: 0x00100000,
  CLONE_CHILD_CLEARTID: 0x00200000,
  CLONE_DETACHED: 0x00400000,
  CLONE_UNTRACED: 0x00800000,
  CLONE_CHILD_SETTID: 0x01000000,
  CLONE_NEWCGROUP: 0x02000000,
  CLONE_NEWUTS: 0x04000000,
  CLONE_NEWIPC: 0x08000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,
  CLONE_IO: 0x80000000,
  CLONE_CLEAR_SIGHAND: 1n << 32n,
  CLONE_INTO_CGROUP: 1n << 33n,
  // open flags that are the same on both (asm-generic/fcntl.h).
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_ACCMODE: 3,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_NOCTTY: 0o400,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  O_NONBLOCK: 0o4000,
  O_NDELAY: 0o4000,
  O_DSYNC: 0o10000,
  FASYNC: 0o20000,
  O_ASYNC: 0o20000,
  O_NOATIME: 0o1000000,
  O_CLOEXEC: 0o2000000,
  O_SYNC: 0o4010000,
  O_PATH: 0o10000000,
  // *at flags (uapi/linux/fcntl.h).
  AT_FDCWD: -100,
  AT_SYMLINK_NOFOLLOW: 0x100,
  AT_REMOVEDIR: 0x200,
  AT_EACCESS: 0x200,
  AT_SYMLINK_FOLLOW: 0x400,
  AT_NO_AUTOMOUNT: 0x800,
  AT_EMPTY_PATH: 0x1000,
  AT_RECURSIVE: 0x8000,
  // fcntl commands (asm-generic/fcntl.h, uapi/linux/fcntl.h).
  F_DUPFD: 0,
  F_GETFD: 1,
  F_SETFD: 2,
  F_GETFL: 3,
  F_SETFL: 4,
  F_GETLK: 5,
  F_SETLK: 6,
  F_SETLKW: 7,
  F_SETOWN: 8,
  F_GETOWN: 9,
  F_SETSIG: 10,
  F_GETSIG: 11,
  F_SETOWN_EX: 15,
  F_GETOWN_EX: 16,
  F_GETOWNER_UIDS: 17,
  F_OFD_GETLK: 36,
  F_OFD_SETLK: 37,
  F_OFD_SETLKW: 38,
  F_SETLEASE: 1024,
  F_GETLEASE: 1025,
  F_NOTIFY: 1026,
  F_DUPFD_QUERY: 1027,
  F_CREATED_QUERY: 1028,
  F_DUPFD_CLOEXEC: 1030,
  F_SETPIPE_SZ: 1031,
  F_GETPIPE_SZ: 1032,
  F_ADD_SEALS: 1033,
  F_GET_SEALS: 1034,
  F_GET_RW_HINT: 1035,
  F_SET_RW_HINT: 1036,
  F_GET_FILE_RW_HINT: 1037,
  F_SET_FILE_RW_HINT: 1038,
  FD_CLOEXEC: 1,
  // prctl options (uapi/linux/prctl.h).
  PR_SET_PDEATHSIG: 1,
  PR_GET_PDEATHSIG: 2,
  PR_GET_DUMPABLE: 3,
  PR_SET_DUMPABLE: 4,
  PR_GET_UNALIGN: 5,
  PR_SET_UNALIGN: 6,
  PR_GET_KEEPCAPS: 7,
  PR_SET_KEEPCAPS: 8,
  PR_GET_FPEMU: 9,
  PR_SET_FPEMU: 10,
  PR_GET_FPEXC: 11,
  PR_SET_FPEXC: 12,
  PR_GET_TIMING: 13,
  PR_SET_TIMING: 14,
  PR_SET_NAME: 15,
  PR_GET_NAME: 16,
  PR_GET_ENDIAN: 19,
  PR_SET_ENDIAN: 20,
  PR_GET_SECCOMP: 21,
  PR_SET_SECCOMP: 22,
  PR_CAPBSET_READ: 23,
  PR_CAPBSET_DROP: 24,
  PR_GET_TSC: 25,
  PR_SET_TSC: 26,
  PR_GET_SECUREBITS: 27,
  PR_SET_SECUREBITS: 28,
  PR_SET_TIMERSLACK: 29,
  PR_GET_TIMERSLACK: 30,
  PR_TASK_PERF_EVENTS_DISABLE: 31,
  PR_TASK_PERF_EVENTS_ENABLE: 32,
  PR_MCE_KILL: 33,
  PR_MCE_KILL_GET: 34,
  PR_SET_MM: 35,
  PR_SET_CHILD_SUBREAPER: 36,
  PR_GET_CHILD_SUBREAPER: 37,
  PR_SET_NO_NEW_PRIVS: 38,
  PR_GET_NO_NEW_PRIVS: 39,
  PR_GET_TID_ADDRESS: 40,
  PR_SET_THP_DISABLE: 41,
  PR_GET_THP_DISABLE: 42,
  PR_MPX_ENABLE_MANAGEMENT: 43,
  PR_MPX_DISABLE_MANAGEMENT: 44,
  PR_SET_FP_MODE: 45,
  PR_GET_FP_MODE: 46,
  PR_CAP_AMBIENT: 47,
  PR_SVE_SET_VL: 50,
  PR_SVE_GET_VL: 51,
  PR_GET_SPECULATION_CTRL: 52,
  PR_SET_SPECULATION_CTRL: 53,
  PR_PAC_RESET_KEYS: 54,
  PR_SET_TAGGED_ADDR_CTRL: 55,
  PR_GET_TAGGED_ADDR_CTRL: 56,
  PR_SET_IO_FLUSHER: 57,
  PR_GET_IO_FLUSHER: 58,
  PR_SET_SYSCALL_USER_DISPATCH: 59,
  PR_PAC_SET_ENABLED_KEYS: 60,
  PR_PAC_GET_ENABLED_KEYS: 61,
  PR_SCHED_CORE: 62,
  PR_SME_SET_VL: 63,
  PR_SME_GET_VL: 64,
  PR_SET_MDWE: 65,
  PR_GET_MDWE: 66,
  PR_SET_MEMORY_MERGE: 67,
  PR_GET_MEMORY_MERGE: 68,
  PR_RISCV_V_SET_CONTROL: 69,
  PR_RISCV_V_GET_CONTROL: 70,
  PR_RISCV_SET_ICACHE_FLUSH_CTX: 71,
  PR_PPC_GET_DEXCR: 72,
  PR_PPC_SET_DEXCR: 73,
  PR_GET_SHADOW_STACK_STATUS: 74,
  PR_SET_SHADOW_STACK_STATUS: 75,
  PR_LOCK_SHADOW_STACK_STATUS: 76,
  PR_TIMER_CREATE_RESTORE_IDS: 77,
  PR_FUTEX_HASH: 78,
  PR_SET_VMA: 0x53564d41,
  PR_SET_PTRACER: 0x59616d61,
  PR_CAP_AMBIENT_IS_SET: 1,
  PR_CAP_AMBIENT_RAISE: 2,
  PR_CAP_AMBIENT_LOWER: 3,
  PR_CAP_AMBIENT_CLEAR_ALL: 4,
  // Signals (the same numbers on x86_64 and arm64).
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGIOT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPOLL: 29,
  SIGPWR: 30,
  SIGSYS: 31,
  // Memory protection and mapping flags (asm-generic/mman-common.h, x86/arm64 mman.h).
  PROT_NONE: 0,
  PROT_READ: 1,
  PROT_WRITE: 2,
  PROT_EXEC: 4,
  PROT_SEM: 8,
  PROT_GROWSDOWN: 0x01000000,
  PROT_GROWSUP: 0x02000000,
  MAP_SHARED: 0x01,
  MAP_PRIVATE: 0x02,
  MAP_SHARED_VALIDATE: 0x03,
  MAP_FIXED: 0x10,
  MAP_ANONYMOUS: 0x20,
  MAP_ANON: 0x20,
  MAP_GROWSDOWN: 0x0100,
  MAP_DENYWRITE: 0x0800,
  MAP_EXECUTABLE: 0x1000,
  MAP_LOCKED: 0x2000,
  MAP_NORESERVE: 0x4000,
  MAP_POPULATE: 0x8000,
  MAP_NONBLOCK: 0x10000,
  MAP_STACK: 0x20000,
  MAP_HUGETLB: 0x40000,
  MAP_SYNC: 0x80000,
  MAP_FIXED_NOREPLACE: 0x100000,
  // tty ioctls (asm-generic/ioctls.h; x86_64 and arm64 use these).
  TCGETS: 0x5401,
  TCSETS: 0x5402,
  TCSETSW: 0x5403,
  TCSETSF: 0x5404,
  TIOCEXCL: 0x540c,
  TIOCNXCL: 0x540d,
  TIOCSCTTY: 0x540e,
  TIOCGPGRP: 0x540f,
  TIOCSPGRP: 0x5410,
  TIOCOUTQ: 0x5411,
  TIOCSTI: 0x5412,
  TIOCGWINSZ: 0x5413,
  TIOCSWINSZ: 0x5414,
  FIONREAD: 0x541b,
  TIOCINQ: 0x541b,
  TIOCLINUX: 0x541c,
  TIOCCONS: 0x541d,
  FIONBIO: 0x5421,
  TIOCNOTTY: 0x5422,
  TIOCSETD: 0x5423,
  TIOCGETD: 0x5424,
  FIONCLEX: 0x5450,
  FIOCLEX: 0x5451,
  FIOASYNC: 0x5452,
  // personality (uapi/linux/personality.h).
  PER_LINUX: 0x0000,
  PER_LINUX32: 0x0008,
  UNAME26: 0x0020000,
  ADDR_NO_RANDOMIZE: 0x0040000,
  FDPIC_FUNCPTRS: 0x0080000,
  MMAP_PAGE_ZERO: 0x0100000,
  ADDR_COMPAT_LAYOUT: 0x0200000,
  READ_IMPLIES_EXEC: 0x0400000,
  ADDR_LIMIT_32BIT: 0x0800000,
  SHORT_INODE: 0x1000000,
  WHOLE_SECONDS: 0x2000000,
  STICKY_TIMEOUTS: 0x4000000,
  ADDR_LIMIT_3GB: 0x8000000,
  PER_QUERY: 0xffffffff,
  // seccomp(2) operations (uapi/linux/seccomp.h).
  SECCOMP_SET_MODE_STRICT: 0,
  SECCOMP_SET_MODE_FILTER: 1,
  SECCOMP_GET_ACTION_AVAIL: 2,
  SECCOMP_GET_NOTIF_SIZES: 3,
  // Misc.
  EFD_CLOEXEC: 0o2000000,
  EFD_NONBLOCK: 0o4000,
  MFD_CLOEXEC: 1,
  MFD_ALLOW_SEALING: 2,
  MFD_HUGETLB: 4,
  MFD_NOEXEC_SEAL: 8,
  MFD_EXEC: 0x10,
});

/** `O_*` values that differ between the architectures (asm-generic vs arm64 fcntl.h). */
const ARCH_SPECIFIC: Record<SeccompArch, Constants> = {
  x86_64: big({
    O_DIRECT: 0o40000,
    O_LARGEFILE: 0o100000,
    O_DIRECTORY: 0o200000,
    O_NOFOLLOW: 0o400000,
    O_TMPFILE: 0o20000000 | 0o200000,
  }),
  aarch64: big({
    O_DIRECTORY: 0o40000,
    O_NOFOLLOW: 0o100000,
    O_DIRECT: 0o200000,
    O_LARGEFILE: 0o400000,
    O_TMPFILE: 0o20000000 | 0o40000,
  }),
};

/**
 * The named argument constants of an architecture (errno names are separate: see
 * {@link ERRNOS}).
 *
 * @example
 * ```ts
 * import { argumentConstants } from "./constants.ts";
 * console.log(argumentConstants("aarch64").get("O_DIRECTORY")); // 16384n
 * ```
 */
export function argumentConstants(arch: SeccompArch): ReadonlyMap<string, bigint> {
  return new Map([...Object.entries(COMMON), ...Object.entries(ARCH_SPECIFIC[arch])]);
}

/**
 * The errno number of an errno name; unknown names are errors with a did-you-mean hint.
 *
 * @example
 * ```ts
 * import { errnoNumber } from "./constants.ts";
 * console.log(errnoNumber("EACCES")); // 13
 * ```
 */
export function errnoNumber(name: string, path = "errno"): number {
  const value = Object.hasOwn(ERRNOS, name) ? ERRNOS[name] : undefined;
  if (value !== undefined) return value;
  const upper = Object.hasOwn(ERRNOS, name.toUpperCase()) ? name.toUpperCase() : undefined;
  const hint = upper ?? closest(name, Object.keys(ERRNOS));
  throw new SeccompCompileError(`Unknown errno name "${name}"`, {
    path,
    hint: hint ? `did you mean "${hint}"?` : "use an errno name such as EPERM, or a number",
  });
}

/**
 * Resolves an argument value: a number, a bigint, or a string of constant names and integer
 * literals (decimal, `0x` hex, `0o` octal, optionally negative) joined by `|`. The result
 * is the 64-bit two's-complement pattern as an unsigned bigint when `negative` values are
 * given; range checks against the argument's width happen in the compiler.
 *
 * @example
 * ```ts
 * import { resolveValue } from "./constants.ts";
 * console.log(resolveValue("CLONE_NEWUSER|CLONE_NEWNET", "x86_64")); // 1342177280n
 * ```
 */
export function resolveValue(
  value: number | bigint | string,
  arch: SeccompArch,
  path = "value",
): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new SeccompCompileError(`Value ${value} is not a safe integer`, {
        path,
        hint: "write large values as a bigint or a hex string",
      });
    }
    return BigInt(value);
  }
  if (typeof value !== "string" || value.trim() === "") {
    throw new SeccompCompileError(`Value ${JSON.stringify(value)} is not a number or a name`, {
      path,
    });
  }
  const constants = argumentConstants(arch);
  let result = 0n;
  for (const part of value.split("|").map((p) => p.trim())) {
    result |= resolveTerm(part, constants, arch, path);
  }
  return result;
}

function resolveTerm(
  term: string,
  constants: ReadonlyMap<string, bigint>,
  arch: SeccompArch,
  path: string,
): bigint {
  const literal = /^(-?)(0x[0-9a-f]+|0o[0-7]+|0b[01]+|\d+)$/i.exec(term);
  if (literal) {
    const magnitude = BigInt(literal[2].toLowerCase());
    return literal[1] === "-" ? -magnitude : magnitude;
  }
  const value = constants.get(term);
  if (value !== undefined) return value;
  const other = arch === "x86_64" ? "aarch64" : "x86_64";
  const hint = constants.has(term.toUpperCase())
    ? term.toUpperCase()
    : closest(term, constants.keys());
  throw new SeccompCompileError(`Unknown constant "${term}" on ${arch}`, {
    path,
    hint: hint
      ? `did you mean "${hint}"?`
      : argumentConstants(other).has(term)
      ? `${term} exists only on ${other}`
      : "write the value as a number",
  });
}
