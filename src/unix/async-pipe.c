/*
 * unix/async-pipe.c: the wakeup channel where there is no eventfd (macOS
 * and the BSDs), a pipe.
 *
 * Both ends are non-blocking: a signal must never block (a full pipe already
 * holds a pending wakeup), and the loop drains the read end until it is
 * empty. unix/async.c does the rest.
 */
#include <errno.h>

#include "internal.h"

/* Make fd close-on-exec and non-blocking. */
static int pipe_set_flags(int fd) {
  int err = ax__fd_set_cloexec(fd);
  return err != 0 ? err : ax__fd_set_nonblock(fd);
}

int ax__wakeup_channel_open(int fds[2]) {
  /* pipe(), not pipe2(): macOS has no pipe2(), so the flags are set after.
   * A thread that forks and execs in between can leak both ends into that
   * child; only pipe2() would close that window, where it exists. */
  if (ax__sys.pipe(fds) != 0)
    return ax_translate_sys_error(errno);
  int err = pipe_set_flags(fds[0]);
  if (err == 0)
    err = pipe_set_flags(fds[1]);
  if (err != 0) {
    ax__close_fd(fds[0]);
    ax__close_fd(fds[1]);
  }
  return err;
}
