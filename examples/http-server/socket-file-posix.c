/*
 * socket-file-posix.c: on POSIX systems a socket is a file descriptor, so
 * ax_fs_sendfile() can write to the one under a connection (routes.c).
 */
#include "server.h"

int socket_file(struct conn *c, ax_file_t *file) {
  ax_os_fd_t fd;
  int rc = ax_fileno(&c->tcp.stream.handle, &fd);
  if (rc == 0)
    *file = fd;
  return rc;
}
