/*
 * unix/process-bsd.c: what macOS and the BSDs give child processes
 * (unix/spawn-os.h): fork, a close per descriptor, close-on-exec set after
 * the descriptor is made (macOS has neither pipe2 nor SOCK_CLOEXEC), and
 * no pidfds, so exits are noticed through SIGCHLD.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "spawn-os.h"

pid_t ax__spawn_start(struct ax__spawn_plan *plan, bool share_memory) {
  (void)share_memory;
  pid_t pid = fork();
  if (pid == 0)
    ax__spawn_child(plan);
  return pid;
}

void ax__spawn_close_from(int first, int keep_fd, int fd_limit) {
  for (int fd = first; fd < fd_limit; fd++) {
    if (fd != keep_fd)
      (void)close(fd);
  }
}

/* Another thread's fork between the two calls would inherit the
 * descriptors: the window the missing flags leave. */
static int spawn_cloexec(int fds[2]) {
  for (int i = 0; i < 2; i++) {
    if (fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0) {
      int saved = errno;
      (void)close(fds[0]);
      (void)close(fds[1]);
      errno = saved;
      return -1;
    }
  }
  return 0;
}

int ax__spawn_pipe(int fds[2]) {
  if (pipe(fds) != 0)
    return -1;
  return spawn_cloexec(fds);
}

int ax__spawn_socketpair(int fds[2]) {
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
    return -1;
  return spawn_cloexec(fds);
}

int ax__spawn_pidfd_open(pid_t pid) {
  (void)pid;
  return AX_ENOSYS;
}
