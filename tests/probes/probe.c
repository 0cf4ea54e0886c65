/*
 * probe: small actions a confinement test runs inside the sandbox, one result line each.
 *
 *   probe ACTION...   where ACTION is read:PATH | write:PATH | exec:PATH | connect:PORT
 *                     | bind:PORT | kill:PID:SIG | tiocsti | nofile | getppid | ifaces
 *                     | unshare | io_uring | keyctl | add_key | process_vm_readv | kcmp
 *                     | socket:FAMILY:TYPE:PROTOCOL | unix:PATH | dgram:PATH
 *                     | tfo:PORT | listen | chmod:PATH | creat:PATH | mknod:PATH
 *                     | openat2:PATH | prlimit:WHO | nice:WHO | nice_pgrp | ioprio:WHO
 *
 * WHO is `self` (pid 0) or `other` (a child the probe forks, of the same uid).
 *
 * (One argv element per action: charter's policy merge unions lists, so a policy's argv
 * must not repeat an element.)
 * A result is "ok" or the errno name (EACCES, EPERM, ...); `nofile` prints how many fds
 * it could open and the errno that stopped it; `getppid` the pid or the errno; `ifaces`
 * one "NAME UP|DOWN" line per network interface of the probe's network namespace.
 * Built by the tests with `cc` into a temporary directory (tests/confine_*_test.ts).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *name(int e) {
  switch (e) {
  case 0: return "ok";
  case EACCES: return "EACCES";
  case EPERM: return "EPERM";
  case ENOENT: return "ENOENT";
  case EMFILE: return "EMFILE";
  case ECONNREFUSED: return "ECONNREFUSED";
  case EXDEV: return "EXDEV";
  case ENOSYS: return "ENOSYS";
  case EINVAL: return "EINVAL";
  case EIO: return "EIO";
  case ENOTTY: return "ENOTTY";
  case ESRCH: return "ESRCH";
  case EADDRINUSE: return "EADDRINUSE";
  case EROFS: return "EROFS";
  case ENETUNREACH: return "ENETUNREACH";
  case EAFNOSUPPORT: return "EAFNOSUPPORT";
  case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
  case EOPNOTSUPP: return "EOPNOTSUPP";
  case EBUSY: return "EBUSY";
  default: {
    static char buf[16];
    snprintf(buf, sizeof buf, "E%d", e);
    return buf;
  }
  }
}

static int do_read(const char *path) {
  char buf[64];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int r = read(fd, buf, sizeof buf) < 0 ? errno : 0;
  close(fd);
  return r;
}

static int do_write(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  int r = write(fd, "x\n", 2) < 0 ? errno : 0;
  close(fd);
  return r;
}

/* fork + execve; the child reports the exec's errno through a close-on-exec pipe. */
static int do_exec(const char *path) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return errno;
  pid_t pid = fork();
  if (pid < 0) return errno;
  if (pid == 0) {
    char *argv[] = {(char *)path, NULL};
    char *envp[] = {NULL};
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, 1);
    execve(path, argv, envp);
    int e = errno;
    (void)!write(p[1], &e, sizeof e);
    _exit(127);
  }
  close(p[1]);
  int e = 0;
  if (read(p[0], &e, sizeof e) != sizeof e) e = 0;
  close(p[0]);
  waitpid(pid, NULL, 0);
  return e;
}

static int tcp(int port, int do_bind) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int r = (do_bind ? bind(fd, (void *)&a, sizeof a) : connect(fd, (void *)&a, sizeof a)) < 0
              ? errno
              : 0;
  close(fd);
  return r;
}

/* Nested namespaces: a user namespace gives every capability in a fresh network namespace. */
static int do_unshare(void) { return unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0 ? errno : 0; }

static int do_io_uring(void) {
  long params[30] = {0}; /* struct io_uring_params is 120 bytes */
  long fd = syscall(SYS_io_uring_setup, 1, params);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

/* How many of this process's fds are seccomp listeners ("anon_inode:seccomp notify"). */
static int seccomp_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    char path[300], target[256];
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t len = readlink(path, target, sizeof target - 1);
    if (len < 0) continue;
    target[len] = 0;
    if (strstr(target, "seccomp")) n++;
  }
  closedir(d);
  return n;
}

/* COUNT io_uring_setup calls (each with other arguments); the errno of the last. */
static int flood(long count) {
  int err = 0;
  for (long i = 0; i < count; i++) {
    long params[30] = {0};
    err = syscall(SYS_io_uring_setup, 1 + (i & 1023), params) < 0 ? errno : 0;
  }
  return err;
}

/* COUNT distinct syscall numbers from 1000 up, none of which exist: the errno of the last. */
static int spray(long count) {
  int err = 0;
  for (long i = 0; i < count; i++) err = syscall(1000 + i, i) < 0 ? errno : 0;
  return err;
}

/* Nanoseconds per io_uring_setup call over COUNT calls. */
static long time_denied(long count) {
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  flood(count);
  clock_gettime(CLOCK_MONOTONIC, &b);
  return ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec)) / (count ? count : 1);
}

/* Adds a filter of its own that fails io_uring_setup with EPERM: an errno return outranks
   any notification of an older filter, so the call then fails without a round trip. With
   SECCOMP_FILTER_FLAG_NEW_LISTENER it asks for a listener of its own too. */
static int self_filter(unsigned flags) {
  struct sock_filter insns[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_io_uring_setup, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { sizeof insns / sizeof insns[0], insns };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return errno;
  long ret = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (ret < 0) return errno;
  if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) close(ret);
  return 0;
}

/* KEYCTL_GET_KEYRING_ID (0) of the user keyring (-4), creating it: no privilege needed. */
static int do_keyctl(void) { return syscall(SYS_keyctl, 0, -4, 1) < 0 ? errno : 0; }

/* A "user" key in the process keyring (-2). */
static int do_add_key(void) {
  return syscall(SYS_add_key, "user", "probe", "secret", 6, -2) < 0 ? errno : 0;
}

/* Reads this process's own memory: the launcher's, when the filter lets it through. */
static int do_process_vm_readv(void) {
  char src[8] = "abcdefg", dst[8];
  struct iovec local = {dst, sizeof dst}, remote = {src, sizeof src};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) < 0 ? errno : 0;
}

/* KCMP_FILE (0) of stdin with itself. */
static int do_kcmp(void) {
  return syscall(SYS_kcmp, getpid(), getpid(), 0, 0, 0) < 0 ? errno : 0;
}

static int do_socket(const char *arg) {
  int family = 0, type = 0, protocol = 0;
  sscanf(arg, "%d:%d:%d", &family, &type, &protocol);
  int fd = socket(family, type, protocol);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

static int do_unix(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strncpy(a.sun_path, path, sizeof a.sun_path - 1);
  int r = connect(fd, (void *)&a, sizeof a) < 0 ? errno : 0;
  close(fd);
  return r;
}

/* A datagram socketpair, then sendto() a pathname socket outside the pair. */
static int do_dgram(const char *path) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0) return errno;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strncpy(a.sun_path, path, sizeof a.sun_path - 1);
  int r = sendto(sv[0], "x", 1, 0, (void *)&a, sizeof a) < 0 ? errno : 0;
  close(sv[0]);
  close(sv[1]);
  return r;
}

/* A TCP Fast Open send to 127.0.0.1:PORT: it connects without connect(). */
static int do_tfo(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int r = sendto(fd, "x", 1, MSG_FASTOPEN, (void *)&a, sizeof a) < 0 ? errno : 0;
  close(fd);
  return r;
}

/* listen() on a socket never bound: the kernel binds an ephemeral port. */
static int do_listen(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int r = listen(fd, 1) < 0 ? errno : 0;
  close(fd);
  return r;
}

/* Each makes PATH a setuid/setgid file its own way. */
static int do_chmod(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
  if (fd < 0) return errno;
  close(fd);
  return chmod(path, 06755) < 0 ? errno : 0;
}

static int do_creat(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 04755);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

static int do_mknod(const char *path) {
  return mknod(path, S_IFREG | 02755, 0) < 0 ? errno : 0;
}

static int do_openat2(const char *path) {
  struct {
    unsigned long long flags, mode, resolve;
  } how = {O_WRONLY | O_CREAT | O_CLOEXEC, 0644, 0};
  long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

/* The pid a WHO argument names: 0 for `self`, or a forked child that waits to be killed. */
static pid_t target(const char *who, pid_t *child) {
  *child = 0;
  if (strcmp(who, "other")) return 0;
  *child = fork();
  if (*child == 0) {
    pause();
    _exit(0);
  }
  return *child;
}

static int release(pid_t child, int r) {
  if (child > 0) {
    kill(child, SIGKILL);
    waitpid(child, 0, 0);
  }
  return r;
}

static int do_prlimit(const char *who) {
  pid_t child, pid = target(who, &child);
  struct rlimit l;
  if (getrlimit(RLIMIT_CPU, &l) < 0) return release(child, errno);
  return release(child, prlimit(pid, RLIMIT_CPU, &l, 0) < 0 ? errno : 0);
}

static int do_nice(const char *who) {
  pid_t child, pid = target(who, &child);
  return release(child, setpriority(PRIO_PROCESS, pid, 1) < 0 ? errno : 0);
}

/* PRIO_PGRP of a child in its own process group: who is not 0 and which not PRIO_PROCESS. */
static int do_nice_pgrp(void) {
  pid_t child = fork();
  if (child == 0) {
    setpgid(0, 0);
    pause();
    _exit(0);
  }
  setpgid(child, child);
  return release(child, setpriority(PRIO_PGRP, child, 1) < 0 ? errno : 0);
}

static int do_ioprio(const char *who) {
  pid_t child, pid = target(who, &child);
  /* IOPRIO_WHO_PROCESS, class best-effort (2) level 7. */
  return release(child, syscall(SYS_ioprio_set, 1, pid, (2 << 13) | 7) < 0 ? errno : 0);
}

static void ifaces(void) {
  FILE *f = fopen("/proc/net/dev", "r");
  if (!f) {
    printf("%s\n", name(errno));
    return;
  }
  char line[512];
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  for (int n = 0; fgets(line, sizeof line, f); n++) {
    if (n < 2) continue;
    char *colon = strchr(line, ':');
    if (!colon) continue;
    *colon = 0;
    char *ifname = line + strspn(line, " ");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
      printf("%s %s\n", ifname, name(errno));
    else
      printf("%s %s\n", ifname, (ifr.ifr_flags & IFF_UP) ? "UP" : "DOWN");
  }
  fclose(f);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    char *cmd = argv[i];
    char *arg = strchr(cmd, ':');
    if (arg) *arg++ = 0;
    else arg = "";
    if (!strcmp(cmd, "read")) printf("%s\n", name(do_read(arg)));
    else if (!strcmp(cmd, "write")) printf("%s\n", name(do_write(arg)));
    else if (!strcmp(cmd, "exec")) printf("%s\n", name(do_exec(arg)));
    else if (!strcmp(cmd, "connect")) printf("%s\n", name(tcp(atoi(arg), 0)));
    else if (!strcmp(cmd, "bind")) printf("%s\n", name(tcp(atoi(arg), 1)));
    else if (!strcmp(cmd, "kill")) {
      char *sig = strchr(arg, ':');
      int r = kill(atoi(arg), sig ? atoi(sig + 1) : SIGTERM) < 0 ? errno : 0;
      printf("%s\n", name(r));
    } else if (!strcmp(cmd, "tiocsti")) {
      /* A whole command line, so that it would run in the shell the terminal returns to. */
      int r = 0;
      for (const char *c = "true injected\n"; *c && !r; c++) r = ioctl(0, TIOCSTI, c) < 0 ? errno : 0;
      printf("%s\n", name(r));
    } else if (!strcmp(cmd, "nofile")) {
      int n = 0;
      while (open("/dev/null", O_RDONLY) >= 0) n++;
      printf("%d %s\n", n, name(errno));
    } else if (!strcmp(cmd, "getppid")) {
      long r = syscall(SYS_getppid);
      if (r < 0) printf("%s\n", name(errno));
      else printf("%ld\n", r);
    } else if (!strcmp(cmd, "ifaces")) ifaces();
    else if (!strcmp(cmd, "unshare")) printf("%s\n", name(do_unshare()));
    else if (!strcmp(cmd, "io_uring")) printf("%s\n", name(do_io_uring()));
    else if (!strcmp(cmd, "keyctl")) printf("%s\n", name(do_keyctl()));
    else if (!strcmp(cmd, "add_key")) printf("%s\n", name(do_add_key()));
    else if (!strcmp(cmd, "process_vm_readv")) printf("%s\n", name(do_process_vm_readv()));
    else if (!strcmp(cmd, "kcmp")) printf("%s\n", name(do_kcmp()));
    else if (!strcmp(cmd, "socket")) printf("%s\n", name(do_socket(arg)));
    else if (!strcmp(cmd, "unix")) printf("%s\n", name(do_unix(arg)));
    else if (!strcmp(cmd, "dgram")) printf("%s\n", name(do_dgram(arg)));
    else if (!strcmp(cmd, "tfo")) printf("%s\n", name(do_tfo(atoi(arg))));
    else if (!strcmp(cmd, "listen")) printf("%s\n", name(do_listen()));
    else if (!strcmp(cmd, "chmod")) printf("%s\n", name(do_chmod(arg)));
    else if (!strcmp(cmd, "creat")) printf("%s\n", name(do_creat(arg)));
    else if (!strcmp(cmd, "mknod")) printf("%s\n", name(do_mknod(arg)));
    else if (!strcmp(cmd, "openat2")) printf("%s\n", name(do_openat2(arg)));
    else if (!strcmp(cmd, "prlimit")) printf("%s\n", name(do_prlimit(arg)));
    else if (!strcmp(cmd, "nice")) printf("%s\n", name(do_nice(arg)));
    else if (!strcmp(cmd, "nice_pgrp")) printf("%s\n", name(do_nice_pgrp()));
    else if (!strcmp(cmd, "ioprio")) printf("%s\n", name(do_ioprio(arg)));
    else if (!strcmp(cmd, "seccomp_fds")) printf("%d\n", seccomp_fds());
    else if (!strcmp(cmd, "flood")) printf("%s\n", name(flood(atol(arg))));
    else if (!strcmp(cmd, "spray")) printf("%s\n", name(spray(atol(arg))));
    /* syscall number ARG as the kernel's int (-1: the number seccomp_data holds as -1) */
    else if (!strcmp(cmd, "nr")) printf("%s\n", name(syscall(atol(arg)) < 0 ? errno : 0));
    else if (!strcmp(cmd, "time_denied")) printf("%ld\n", time_denied(atol(arg)));
    else if (!strcmp(cmd, "self_errno")) printf("%s\n", name(self_filter(0)));
    else if (!strcmp(cmd, "self_listener"))
      printf("%s\n", name(self_filter(SECCOMP_FILTER_FLAG_NEW_LISTENER)));
    else if (!strcmp(cmd, "exit")) return atoi(arg);
    else {
      fprintf(stderr, "probe: unknown action %s\n", cmd);
      return 2;
    }
    fflush(stdout);
  }
  return 0;
}
