/*
 * win/pipe.c: the Windows half of pipes (src/pipe.h). Named pipes on
 * IOCP are not built yet: every call says AX_ENOTSUP, so that the
 * portable half links and its checks run. The Windows work replaces this
 * file.
 */
#include "../pipe.h"
#include "internal.h"

int ax__pipe_sys_init(ax_pipe_t *pipe) {
  (void)pipe;
  return 0;
}

void ax__pipe_sys_close(ax_pipe_t *pipe) {
  (void)pipe;
}

int ax__pipe_sys_open(ax_pipe_t *pipe, ax_os_fd_t fd) {
  (void)pipe;
  (void)fd;
  return AX_ENOTSUP;
}

int ax__pipe_sys_adopt(ax_pipe_t *pipe, ax_os_sock_t sock) {
  (void)pipe;
  (void)sock;
  return AX_ENOTSUP;
}

int ax__pipe_sys_bind(ax_pipe_t *pipe, const char *name, size_t namelen) {
  (void)pipe;
  (void)name;
  (void)namelen;
  return AX_ENOTSUP;
}

int ax__pipe_sys_connect(ax_pipe_t *pipe, ax_connect_t *req, const char *name,
                         size_t namelen, ax_connect_cb connect_cb) {
  (void)pipe;
  (void)req;
  (void)name;
  (void)namelen;
  (void)connect_cb;
  return AX_ENOTSUP;
}

int ax__pipe_sys_name(const ax_pipe_t *pipe, char *buffer, size_t *size,
                      bool peer) {
  (void)pipe;
  (void)buffer;
  (void)size;
  (void)peer;
  return AX_ENOTSUP;
}

int ax__pipe_sys_chmod(ax_pipe_t *pipe, int mode) {
  (void)pipe;
  (void)mode;
  return AX_ENOTSUP;
}

int ax__pipe_sys_pipe(ax_os_fd_t fds[2], int read_flags, int write_flags) {
  (void)fds;
  (void)read_flags;
  (void)write_flags;
  return AX_ENOTSUP;
}

void ax__pipe_sys_discard(ax_os_sock_t sock) {
  (void)sock;
}
