/*
 * unix/process-linux.c: what Linux gives child processes (unix/spawn-os.h):
 * clone(CLONE_VM | CLONE_VFORK), close_range(2) (Linux 5.9) and pidfds
 * (pidfd_open(2), Linux 5.3).
 *
 * CLONE_VM | CLONE_VFORK is vfork with a stack of the child's own: the
 * child borrows the parent's memory and the parent waits until the child
 * has called exec or _exit, so no page table is copied (glibc's
 * posix_spawn does the same). Its own stack spares the child vfork's
 * sharing of the parent's frames, which the C standard does not allow
 * the child to return through or assign in.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spawn-os.h"

/* Some C libraries of the kernels axle supports lack the numbers. */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif /* SYS_pidfd_open */
#ifndef SYS_close_range
#define SYS_close_range 436
#endif /* SYS_close_range */

/* The child's stack while it shares the parent's memory: its frames are
 * ax__spawn_child()'s few locals and the C library's exec. */
enum { SPAWN_STACK_BYTES = 64 * 1024 };

static int spawn_child_entry(void *plan) {
  ax__spawn_child(plan);
}

pid_t ax__spawn_start(struct ax__spawn_plan *plan, bool share_memory) {
  if (!share_memory) {
    pid_t pid = fork();
    if (pid == 0)
      ax__spawn_child(plan);
    return pid;
  }
  char *stack = ax__malloc(SPAWN_STACK_BYTES);
  if (stack == NULL) {
    errno = ENOMEM;
    return -1;
  }
  /* The stack grows down on every architecture axle builds for; malloc's
   * alignment and the size keep its top 16-byte aligned. */
  pid_t pid = clone(spawn_child_entry, stack + SPAWN_STACK_BYTES,
                    CLONE_VM | CLONE_VFORK | SIGCHLD, plan);
  int saved_errno = errno;
  ax__free(stack);
  errno = saved_errno;
  return pid;
}

/* Without close_range (before Linux 5.9, or refused by seccomp), one
 * close per possible descriptor, up to the limit. */
static void spawn_close_range(int first, int last, int fd_limit) {
  if (first > last)
    return;
  if (syscall(SYS_close_range, (unsigned int)first, (unsigned int)last, 0) == 0)
    return;
  for (int fd = first; fd <= last && fd < fd_limit; fd++)
    (void)close(fd);
}

void ax__spawn_close_from(int first, int keep_fd, int fd_limit) {
  if (keep_fd >= first) {
    spawn_close_range(first, keep_fd - 1, fd_limit);
    first = keep_fd + 1;
  }
  spawn_close_range(first, ~0u >> 1, fd_limit);
}

int ax__spawn_pipe(int fds[2]) {
  return pipe2(fds, O_CLOEXEC);
}

int ax__spawn_socketpair(int fds[2]) {
  return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
}

int ax__spawn_pidfd_open(pid_t pid) {
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0)
    return ax_translate_sys_error(errno);
  return (int)fd;
}
