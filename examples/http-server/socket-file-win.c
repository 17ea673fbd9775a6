/*
 * socket-file-win.c: on Windows a socket is no C runtime descriptor, and
 * ax_fs_sendfile() copies between descriptors only, so files go out
 * through reads and stream writes there (routes.c).
 */
#include "server.h"

int socket_file(struct conn *c, ax_file_t *file) {
  (void)c;
  (void)file;
  return AX_ENOTSUP;
}
