/* timed OUT CMD...: runs CMD (standard streams as given) and writes to OUT
 * one line: its wall time in nanoseconds and its peak RSS in KiB (ru_maxrss,
 * as GNU time's %M); exits with CMD's status (128 + N for signal N).
 *
 * The clock runs from just before the fork to the return of wait4, so no
 * shell's forks and no timer's own start count. On a VM whose forks and
 * page faults are dear, `t=$(date +%s%N)` around `/usr/bin/time CMD` added
 * ~30 ms to every step (the same for both tools, which bent the ratio of
 * every short row towards 1). C, not Python: a child carries its parent's
 * peak RSS into its own until it execs, and Python's (~10 MiB) would be the
 * floor of every reading. Compiled by bench/lib.sh (measure_cmd). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: timed OUT CMD...\n");
    return 2;
  }
  long long t0 = now_ns();
  pid_t pid = fork();
  if (pid < 0) {
    perror("timed: fork");
    return 2;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    fprintf(stderr, "timed: cannot run %s: %s\n", argv[2], strerror(errno));
    _exit(127);
  }
  int status = 0;
  struct rusage usage;
  if (wait4(pid, &status, 0, &usage) < 0) {
    perror("timed: wait4");
    return 2;
  }
  long long t1 = now_ns();
  FILE* out = fopen(argv[1], "w");
  if (!out || fprintf(out, "%lld %ld\n", t1 - t0, usage.ru_maxrss) < 0 || fclose(out) != 0) {
    perror(argv[1]);
    return 2;
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
