/*
 * unix/syscalls.c: the table of POSIX system calls the loop makes (see
 * unix/internal.h), and small helpers around them.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

const struct ax__syscalls ax__sys_default = {
    .poll = poll,
    .read = read,
    .write = write,
    .close = close,
    .pipe = pipe,
    .fcntl = fcntl,
};

struct ax__syscalls ax__sys = {
    .poll = poll,
    .read = read,
    .write = write,
    .close = close,
    .pipe = pipe,
    .fcntl = fcntl,
};

void ax__close_fd(int fd) {
  int saved = errno;
  /* Not retried on EINTR: on Linux the descriptor is released anyway, and a
   * retry could close a descriptor another thread just opened. */
  ax__sys.close(fd);
  errno = saved;
}

int ax__fd_set_cloexec(int fd) {
  /* FD_CLOEXEC is the only descriptor flag: no need to read the others. */
  if (ax__sys.fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
    return ax_translate_sys_error(errno);
  return 0;
}

int ax__fd_set_nonblock(int fd) {
  int flags = ax__sys.fcntl(fd, F_GETFL);
  if (flags < 0 || ax__sys.fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    return ax_translate_sys_error(errno);
  return 0;
}

int ax__wait_retry(int (*wait_once)(void *ctx, int timeout_ms), void *ctx,
                   int timeout_ms) {
  uint64_t start_ns = timeout_ms > 0 ? ax__hrtime_ns() : 0;
  int left_ms = timeout_ms;
  for (;;) {
    int n = wait_once(ctx, left_ms);
    if (n >= 0)
      return n;
    if (errno != EINTR)
      return ax_translate_sys_error(errno);
    if (timeout_ms > 0) {
      /* Round the time spent down, so the retry never ends early. */
      uint64_t spent_ms = (ax__hrtime_ns() - start_ns) / 1000000u;
      left_ms = spent_ms >= (uint64_t)timeout_ms ? 0
                                                 : timeout_ms - (int)spent_ms;
    }
  }
}
