/*
 * unix/sock-linux.c: sockets on Linux, which creates and accepts them
 * non-blocking and close-on-exec in one call each (SOCK_NONBLOCK,
 * SOCK_CLOEXEC, accept4; for pipes pipe2 and MSG_CMSG_CLOEXEC), and keeps
 * SIGPIPE away per call: every send passes MSG_NOSIGNAL, so a write to a
 * connection the peer reset returns EPIPE instead of killing the process.
 * sock-bsd.c is the other way.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/socket.h>

#include "sock.h"

const int ax__sock_send_flags = MSG_NOSIGNAL;
const int ax__sock_recv_flags = MSG_CMSG_CLOEXEC;
const bool ax__sock_abstract_names = true;

/* MSG_NOSIGNAL on every send does it. */
int ax__sock_nosigpipe(int fd) {
  (void)fd;
  return 0;
}

int ax__sock_pipe(int fds[2]) {
  return pipe2(fds, O_CLOEXEC) == 0 ? 0 : ax_translate_sys_error(errno);
}

int ax__sys_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  return accept4(fd, addr, len, flags);
}

int ax__sock_create(int domain) {
  int fd = ax__sys.socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          0);
  return fd >= 0 ? fd : ax_translate_sys_error(errno);
}

int ax__sock_accept(int listen_fd) {
  int fd = ax__sys.accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  return fd >= 0 ? fd : ax_translate_sys_error(errno);
}

int ax__sock_adopt(int fd) {
  int err = ax__fd_set_nonblock(fd);
  return err != 0 ? err : ax__fd_set_cloexec(fd);
}
