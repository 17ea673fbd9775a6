/*
 * unix/sock-bsd.c: sockets on macOS and the BSDs. macOS has neither
 * SOCK_NONBLOCK nor accept4, so a socket is made or accepted first and
 * its flags set after, with fcntl (a thread that forks and executes a
 * program in between can leak the descriptor into it, as with pipes).
 * SIGPIPE is kept away per socket with SO_NOSIGPIPE, as MSG_NOSIGNAL is
 * missing on older macOS; sends pass no flag. sock-linux.c is the other
 * way.
 */
#include <errno.h>
#include <sys/socket.h>

#include "sock.h"

const int ax__sock_send_flags = 0;
/* MSG_CMSG_CLOEXEC is missing on macOS: pipe.c sets the flag on each
 * descriptor received, with the same window as above. */
const int ax__sock_recv_flags = 0;
/* Abstract names are Linux's. */
const bool ax__sock_abstract_names = false;

int ax__sock_nosigpipe(int fd) {
  return ax__sock_set_int(fd, SOL_SOCKET, SO_NOSIGPIPE, 1);
}

int ax__sock_pipe(int fds[2]) {
  if (ax__sys.pipe(fds) != 0)
    return ax_translate_sys_error(errno);
  return ax__fd_pair_set_cloexec(fds);
}

/* accept(2), which takes no flags: callers pass 0. */
int ax__sys_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  (void)flags;
  return accept(fd, addr, len);
}

int ax__sock_adopt(int fd) {
  int err = ax__fd_set_nonblock(fd);
  if (err == 0)
    err = ax__fd_set_cloexec(fd);
  if (err == 0)
    err = ax__sock_set_int(fd, SOL_SOCKET, SO_NOSIGPIPE, 1);
  return err;
}

/* A new descriptor (or an error) made ready for axle, or closed. */
static int sock_prepare(int fd) {
  if (fd < 0)
    return ax_translate_sys_error(errno);
  int err = ax__sock_adopt(fd);
  if (err != 0) {
    ax__close_fd(fd);
    return err;
  }
  return fd;
}

int ax__sock_create(int domain) {
  return sock_prepare(ax__sys.socket(domain, SOCK_STREAM, 0));
}

int ax__sock_accept(int listen_fd) {
  return sock_prepare(ax__sys.accept4(listen_fd, NULL, NULL, 0));
}
