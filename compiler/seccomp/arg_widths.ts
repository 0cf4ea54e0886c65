/**
 * Which syscall arguments are 32-bit for argument rules.
 *
 * `seccomp_data.args[i]` is always 64 bits, but when the kernel's `SYSCALL_DEFINE` declares
 * an argument as `int`, `unsigned int`, `pid_t`, `uid_t`, `umode_t`, ... the syscall
 * wrapper truncates it to the low 32 bits (or fewer), and the upper half of the register
 * can hold anything: garbage, or the sign extension of a negative `int`. A rule that
 * compared the full 64 bits of such an argument could be bypassed by setting upper bits
 * (`ioctl(fd, TIOCSTI | 1 << 32, ...)` still runs TIOCSTI), so rules on these arguments
 * compare only the low word. Every other argument (pointers, `long`, `size_t`, `loff_t`)
 * is compared in full, both halves.
 *
 * A few arguments are declared `unsigned long` but only their low 32 bits matter, and
 * those are listed as 32-bit too: `clone`'s flags (the kernel takes
 * `lower_32_bits(clone_flags)`), `mmap`'s prot/flags/fd (upper bits are ignored or the fd
 * is truncated to `unsigned int`), and `mprotect`'s prot and `unshare`'s flags (upper bits give
 * EINVAL).
 *
 * Signatures from the kernel's `SYSCALL_DEFINEn` declarations; the same on x86_64 and
 * aarch64 (both LP64). Syscalls not listed have all-64-bit arguments.
 *
 * @module
 */

/** How many bits of a syscall argument the kernel looks at, as far as rules care. */
export type ArgWidth = 32 | 64;

const I = 32 as const;
const L = 64 as const;

/** syscall name → width of each argument (missing trailing arguments are 64-bit). */
export const ARG_WIDTHS: Readonly<Record<string, readonly ArgWidth[]>> = {
  // Sockets.
  socket: [I, I, I],
  socketpair: [I, I, I, L],
  bind: [I, L, I],
  connect: [I, L, I],
  listen: [I, I],
  accept: [I, L, L],
  accept4: [I, L, L, I],
  getsockname: [I, L, L],
  getpeername: [I, L, L],
  sendto: [I, L, L, I, L, I],
  recvfrom: [I, L, L, I, L, L],
  sendmsg: [I, L, I],
  recvmsg: [I, L, I],
  sendmmsg: [I, L, I, I],
  recvmmsg: [I, L, I, I, L],
  setsockopt: [I, I, I, L, I],
  getsockopt: [I, I, I, L, L],
  shutdown: [I, I],
  // Processes, namespaces, signals.
  clone: [I, L, L, L, L],
  clone3: [L, L],
  unshare: [I],
  setns: [I, I],
  kill: [I, I],
  tkill: [I, I],
  tgkill: [I, I, I],
  rt_sigqueueinfo: [I, I, L],
  rt_tgsigqueueinfo: [I, I, I, L],
  rt_sigaction: [I, L, L, L],
  rt_sigprocmask: [I, L, L, L],
  pidfd_open: [I, I],
  pidfd_send_signal: [I, I, L, I],
  pidfd_getfd: [I, I, I],
  prctl: [I, L, L, L, L],
  arch_prctl: [I, L],
  personality: [I],
  ptrace: [L, I, L, L],
  wait4: [I, L, I, L],
  waitid: [I, I, L, I, L],
  exit: [I],
  exit_group: [I],
  setpgid: [I, I],
  getpgid: [I],
  getsid: [I],
  setuid: [I],
  setgid: [I],
  setreuid: [I, I],
  setregid: [I, I],
  setresuid: [I, I, I],
  setresgid: [I, I, I],
  setfsuid: [I],
  setfsgid: [I],
  setgroups: [I, L],
  getgroups: [I, L],
  setpriority: [I, I, I],
  getpriority: [I, I],
  sched_setaffinity: [I, I, L],
  sched_getaffinity: [I, I, L],
  sched_setscheduler: [I, I, L],
  sched_setparam: [I, L],
  sched_getparam: [I, L],
  sched_getscheduler: [I],
  sched_setattr: [I, L, I],
  sched_getattr: [I, L, I, I],
  ioprio_set: [I, I, I],
  ioprio_get: [I, I],
  prlimit64: [I, I, L, L],
  setrlimit: [I, L],
  getrlimit: [I, L],
  getrusage: [I, L],
  kcmp: [I, I, I, L, L],
  process_vm_readv: [I, L, L, L, L, L],
  process_vm_writev: [I, L, L, L, L, L],
  process_madvise: [I, L, L, I, I],
  seccomp: [I, I, L],
  membarrier: [I, I, I],
  rseq: [L, I, I, I],
  // Memory.
  mmap: [L, L, I, I, I, L],
  mprotect: [L, L, I],
  pkey_mprotect: [L, L, I, I],
  pkey_alloc: [L, L],
  pkey_free: [I],
  madvise: [L, L, I],
  msync: [L, L, I],
  mlock2: [L, L, I],
  mlockall: [I],
  memfd_create: [L, I],
  memfd_secret: [I],
  userfaultfd: [I],
  // Files and descriptors.
  ioctl: [I, I, L],
  fcntl: [I, I, L],
  flock: [I, I],
  close: [I],
  close_range: [I, I, I],
  dup: [I],
  dup2: [I, I],
  dup3: [I, I, I],
  read: [I, L, L],
  write: [I, L, L],
  readv: [L, L, L],
  writev: [L, L, L],
  pread64: [I, L, L, L],
  pwrite64: [I, L, L, L],
  lseek: [I, L, I],
  open: [L, I, I],
  openat: [I, L, I, I],
  openat2: [I, L, L, L],
  creat: [L, I],
  access: [L, I],
  faccessat: [I, L, I],
  faccessat2: [I, L, I, I],
  chmod: [L, I],
  fchmod: [I, I],
  fchmodat: [I, L, I],
  fchmodat2: [I, L, I, I],
  chown: [L, I, I],
  lchown: [L, I, I],
  fchown: [I, I, I],
  fchownat: [I, L, I, I, I],
  mknod: [L, I, I],
  mknodat: [I, L, I, I],
  mkdir: [L, I],
  mkdirat: [I, L, I],
  unlinkat: [I, L, I],
  renameat: [I, L, I, L],
  renameat2: [I, L, I, L, I],
  linkat: [I, L, I, L, I],
  symlinkat: [L, I, L],
  readlinkat: [I, L, L, I],
  newfstatat: [I, L, L, I],
  fstat: [I, L],
  statx: [I, L, I, I, L],
  fchdir: [I],
  umask: [I],
  ftruncate: [I, L],
  fallocate: [I, I, L, L],
  fadvise64: [I, L, L, I],
  readahead: [I, L, L],
  fsync: [I],
  fdatasync: [I],
  syncfs: [I],
  sync_file_range: [I, L, L, I],
  getdents64: [I, L, I],
  getdents: [I, L, I],
  pipe2: [L, I],
  eventfd2: [I, I],
  eventfd: [I],
  epoll_create1: [I],
  epoll_create: [I],
  epoll_ctl: [I, I, I, L],
  epoll_wait: [I, L, I, I],
  epoll_pwait: [I, L, I, I, L, L],
  inotify_init1: [I],
  inotify_add_watch: [I, L, I],
  inotify_rm_watch: [I, I],
  fanotify_init: [I, I],
  fanotify_mark: [I, I, L, I, L],
  timerfd_create: [I, I],
  signalfd4: [I, L, L, I],
  signalfd: [I, L, L],
  poll: [L, I, I],
  splice: [I, L, I, L, L, I],
  tee: [I, I, L, I],
  vmsplice: [I, L, L, I],
  copy_file_range: [I, L, I, L, L, I],
  sendfile: [I, I, L, L],
  getrandom: [L, L, I],
  name_to_handle_at: [I, L, L, L, I],
  open_by_handle_at: [I, L, I],
  execve: [L, L, L],
  execveat: [I, L, L, L, I],
  fsetxattr: [I, L, L, L, I],
  setxattr: [L, L, L, L, I],
  lsetxattr: [L, L, L, L, I],
  fgetxattr: [I, L, L, L],
  flistxattr: [I, L, L],
  fremovexattr: [I, L],
  // Landlock and io_uring.
  landlock_create_ruleset: [L, L, I],
  landlock_add_rule: [I, I, L, I],
  landlock_restrict_self: [I, I],
  io_uring_setup: [I, L],
  io_uring_enter: [I, I, I, I, L, L],
  io_uring_register: [I, I, L, I],
  // Mounts and the system.
  mount: [L, L, L, L, L],
  umount2: [L, I],
  open_tree: [I, L, I],
  move_mount: [I, L, I, L, I],
  fsopen: [L, I],
  fsconfig: [I, I, L, L, I],
  fsmount: [I, I, I],
  fspick: [I, L, I],
  mount_setattr: [I, L, I, L, L],
  swapon: [L, I],
  reboot: [I, I, I, L],
  syslog: [I, L, I],
  quotactl: [I, L, I, L],
  init_module: [L, L, L],
  finit_module: [I, L, I],
  delete_module: [L, I],
  sethostname: [L, I],
  setdomainname: [L, I],
  bpf: [I, L, I],
  perf_event_open: [L, I, I, I, L],
  keyctl: [I, L, L, L, L],
  add_key: [L, L, L, L, I],
  request_key: [L, L, L, I],
  // SysV IPC, timers.
  msgget: [I, I],
  msgctl: [I, I, L],
  msgsnd: [I, L, L, I],
  msgrcv: [I, L, L, L, I],
  semget: [I, I, I],
  semctl: [I, I, I, L],
  semop: [I, L, I],
  shmget: [I, L, I],
  shmctl: [I, I, L],
  shmat: [I, L, I],
  futex: [L, I, I, L, L, I],
  timer_create: [I, L, L],
  clock_gettime: [I, L],
  clock_settime: [I, L],
  clock_getres: [I, L],
  clock_nanosleep: [I, I, L, L],
  getitimer: [I, L],
  setitimer: [I, L, L],
  alarm: [I],
};

/**
 * The width of argument `index` (0–5) of a syscall: 32 when the kernel uses only its low
 * word, otherwise 64.
 *
 * @example
 * ```ts
 * import { argWidth } from "./arg_widths.ts";
 * console.log(argWidth("ioctl", 1), argWidth("ioctl", 2), argWidth("unknown", 0)); // 32 64 64
 * ```
 */
export function argWidth(syscall: string, index: number): ArgWidth {
  const widths = Object.hasOwn(ARG_WIDTHS, syscall) ? ARG_WIDTHS[syscall] : undefined;
  return widths?.[index] ?? 64;
}
