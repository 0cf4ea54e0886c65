/*
 * filter_exec: install a classic-BPF seccomp filter from a file, then either make one raw
 * syscall and report its result, or time a getppid loop.
 *
 *   filter_exec PROG.bpf syscall NR [ARG0 [ARG1]]   prints "ret=<r> errno=<e>"
 *   filter_exec PROG.bpf|- loop N [NR]              prints nanoseconds per syscall NR
 *                                                   (default getppid; no arguments)
 *
 * PROG.bpf holds struct sock_filter[] in host order (what charter's plans carry).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void install(const char *path) {
  static struct sock_filter prog[4096];
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  size_t n = fread(prog, sizeof prog[0], 4096, f);
  fclose(f);
  struct sock_fprog fprog = { .len = (unsigned short)n, .filter = prog };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { perror("no_new_privs"); exit(2); }
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) { perror("seccomp"); exit(2); }
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: see the source\n"); return 2; }
  if (strcmp(argv[1], "-") != 0) install(argv[1]);
  if (strcmp(argv[2], "syscall") == 0) {
    long nr = strtol(argv[3], NULL, 0);
    unsigned long a0 = argc > 4 ? strtoul(argv[4], NULL, 0) : 0;
    unsigned long a1 = argc > 5 ? strtoul(argv[5], NULL, 0) : 0;
    errno = 0;
    long r = syscall(nr, a0, a1, 0, 0, 0, 0);
    printf("ret=%ld errno=%d\n", r, r == -1 ? errno : 0);
    fflush(stdout);
    return 0;
  }
  long n = strtol(argv[3], NULL, 0);
  long loop_nr = argc > 4 ? strtol(argv[4], NULL, 0) : SYS_getppid;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < n; i++) syscall(loop_nr, 0, 0, 0, 0, 0, 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
  printf("%.1f\n", ns / n);
  return 0;
}
