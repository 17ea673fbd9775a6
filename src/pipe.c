/*
 * pipe.c: pipes, the stream over a local socket or a named pipe.
 *
 * Not built yet: every call says AX_ENOSYS. The pipes work replaces this
 * file (see include/axle.h, group pipe).
 */
#include "stream.h"

int ax_pipe_init(ax_loop_t *loop, ax_pipe_t *pipe, bool ipc) {
  (void)loop;
  (void)pipe;
  (void)ipc;
  return AX_ENOSYS;
}

int ax_pipe_open(ax_pipe_t *pipe, ax_os_fd_t fd) {
  (void)pipe;
  (void)fd;
  return AX_ENOSYS;
}

int ax_pipe_bind(ax_pipe_t *pipe, const char *name, size_t namelen,
                 unsigned int flags) {
  (void)pipe;
  (void)name;
  (void)namelen;
  (void)flags;
  return AX_ENOSYS;
}

int ax_pipe_connect(ax_connect_t *req, ax_pipe_t *pipe, const char *name,
                    size_t namelen, unsigned int flags,
                    ax_connect_cb connect_cb) {
  (void)req;
  (void)pipe;
  (void)name;
  (void)namelen;
  (void)flags;
  (void)connect_cb;
  return AX_ENOSYS;
}

int ax_pipe_getsockname(const ax_pipe_t *pipe, char *buffer, size_t *size) {
  (void)pipe;
  (void)buffer;
  (void)size;
  return AX_ENOSYS;
}

int ax_pipe_getpeername(const ax_pipe_t *pipe, char *buffer, size_t *size) {
  (void)pipe;
  (void)buffer;
  (void)size;
  return AX_ENOSYS;
}

int ax_pipe_chmod(ax_pipe_t *pipe, int mode) {
  (void)pipe;
  (void)mode;
  return AX_ENOSYS;
}

void ax_pipe_pending_instances(ax_pipe_t *pipe, int count) {
  (void)pipe;
  (void)count;
}

int ax_pipe_pending_count(const ax_pipe_t *pipe) {
  (void)pipe;
  return 0;
}

ax_handle_type ax_pipe_pending_type(const ax_pipe_t *pipe) {
  (void)pipe;
  return AX_UNKNOWN_HANDLE;
}

int ax_write2(ax_write_t *req, ax_stream_t *stream, const ax_buf_t bufs[],
              unsigned int nbufs, ax_stream_t *send_handle,
              ax_write_cb write_cb) {
  if (send_handle == NULL)
    return ax_write(req, stream, bufs, nbufs, write_cb);
  return AX_ENOSYS;
}

int ax_pipe(ax_os_fd_t fds[2], int read_flags, int write_flags) {
  (void)fds;
  (void)read_flags;
  (void)write_flags;
  return AX_ENOSYS;
}

void ax__pipe_close(ax_handle_t *handle) {
  ax__stream_close(handle);
}
