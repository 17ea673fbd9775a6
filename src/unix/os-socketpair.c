/*
 * unix/os-socketpair.c: ax_socketpair() on POSIX: a Unix domain socket
 * pair, close-on-exec from birth where the system lets socketpair() say so
 * (os-socketpair-cloexec.c) or just after (os-socketpair-fcntl.c), then
 * each end non-blocking as its flags ask.
 */
#include <sys/socket.h>

#include "internal.h"
#include "os-socketpair.h"

int ax_socketpair(int type, int protocol, ax_os_sock_t socks[2], int flags0,
                  int flags1) {
  if (socks == NULL || (flags0 & ~AX_PIPE_NONBLOCK) != 0 ||
      (flags1 & ~AX_PIPE_NONBLOCK) != 0)
    return AX_EINVAL;
  int fds[2];
  int err = ax__os_socketpair_cloexec(type, protocol, fds);
  if (err != 0)
    return err;
  if (flags0 & AX_PIPE_NONBLOCK)
    err = ax__fd_set_nonblock(fds[0]);
  if (err == 0 && (flags1 & AX_PIPE_NONBLOCK))
    err = ax__fd_set_nonblock(fds[1]);
  if (err != 0) {
    ax__close_fd(fds[0]);
    ax__close_fd(fds[1]);
    return err;
  }
  socks[0] = fds[0];
  socks[1] = fds[1];
  return 0;
}
