/*
 * unix/syscalls.c: the table of POSIX system calls the loop makes (see
 * unix/internal.h), and small helpers around them.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

/* The calls that take an address, with plain struct sockaddr pointers:
 * glibc declares them with a transparent union under _GNU_SOURCE. */
static int sys_bind(int fd, const struct sockaddr *addr, socklen_t len) {
  return bind(fd, addr, len);
}

static int sys_connect(int fd, const struct sockaddr *addr, socklen_t len) {
  return connect(fd, addr, len);
}

static int sys_getsockname(int fd, struct sockaddr *addr, socklen_t *len) {
  return getsockname(fd, addr, len);
}

static int sys_getpeername(int fd, struct sockaddr *addr, socklen_t *len) {
  return getpeername(fd, addr, len);
}

#define AX__SYSCALLS_DEFAULT                                                   \
  {                                                                            \
    .poll = poll, .read = read, .write = write, .close = close, .pipe = pipe,  \
    .fcntl = fcntl, .open = open, .socket = socket, .bind = sys_bind,          \
    .listen = listen, .accept4 = ax__sys_accept4, .connect = sys_connect,      \
    .sendmsg = sendmsg, .shutdown = shutdown, .getsockopt = getsockopt,        \
    .setsockopt = setsockopt, .getsockname = sys_getsockname,                  \
    .getpeername = sys_getpeername,                                            \
  }

const struct ax__syscalls ax__sys_default = AX__SYSCALLS_DEFAULT;

struct ax__syscalls ax__sys = AX__SYSCALLS_DEFAULT;

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

int ax__fd_pair_set_cloexec(int fds[2]) {
  int err = ax__fd_set_cloexec(fds[0]);
  if (err == 0)
    err = ax__fd_set_cloexec(fds[1]);
  if (err != 0) {
    ax__close_fd(fds[0]);
    ax__close_fd(fds[1]);
  }
  return err;
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
