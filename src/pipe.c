/*
 * pipe.c: pipes, the stream over a local socket (POSIX) or a named pipe
 * (Windows): the checks of each public call, the queue of handles
 * received over an IPC pipe, and taking them with ax_accept(). What
 * touches the system is its half (src/pipe.h: src/unix/pipe.c,
 * src/win/pipe.c); the stream is the engine's (src/stream.c).
 *
 * Handles travel with bytes (ax_write2()): the engine sends a write that
 * carries one at the head of a send of its own, and sets the handle on
 * the pipe just before (ax__pipe_send_attach()), for the system's send to
 * put beside the first byte. The receiving side's system queues what
 * arrives here, in order; ax_pipe_pending_count() and
 * ax_pipe_pending_type() read the queue, and ax_accept() takes from it.
 * Closing the pipe closes what nobody took.
 */
#include <string.h>

#include "pipe.h"

enum {
  /* Received handles queued at first; the queue doubles when full. */
  PIPE_IPC_QUEUE_MIN = 8,
};

int ax_pipe_init(ax_loop_t *loop, ax_pipe_t *pipe, bool ipc) {
  if (loop == NULL || pipe == NULL)
    return AX_EINVAL;
  struct ax__pipe_ipc *state = NULL;
  if (ipc) {
    state = ax__calloc(1, sizeof(*state));
    if (state == NULL)
      return AX_ENOMEM;
  }
  int err = ax__stream_init(loop, &pipe->stream, AX_PIPE);
  if (err != 0) {
    ax__free(state);
    return err;
  }
  pipe->priv.ipc = state;
  pipe->priv.sys = NULL;
  err = ax__pipe_sys_init(pipe);
  if (err != 0) {
    ax__free(state);
    ax__handle_init_undo(&pipe->stream.handle);
  }
  return err;
}

/* A pipe that can be given a socket: 0, AX_EINVAL or AX_EBADF. */
static int pipe_check_unopened(const ax_pipe_t *pipe) {
  if (pipe == NULL)
    return AX_EINVAL;
  if (ax__stream_closing(&pipe->stream) ||
      ax__sock_is_open(&pipe->stream.priv.sock))
    return AX_EBADF;
  return 0;
}

int ax_pipe_open(ax_pipe_t *pipe, ax_os_fd_t fd) {
  int err = pipe_check_unopened(pipe);
  if (err != 0)
    return err;
  return ax__pipe_sys_open(pipe, fd);
}

static int pipe_check_name(const char *name, size_t namelen,
                           unsigned int flags) {
  if (name == NULL || namelen == 0 || (flags & ~AX_PIPE_NO_TRUNCATE) != 0)
    return AX_EINVAL;
  return 0;
}

int ax_pipe_bind(ax_pipe_t *pipe, const char *name, size_t namelen,
                 unsigned int flags) {
  int err = pipe_check_name(name, namelen, flags);
  if (err == 0)
    err = pipe_check_unopened(pipe);
  if (err != 0)
    return err;
  return ax__pipe_sys_bind(pipe, name, namelen);
}

int ax_pipe_connect(ax_connect_t *req, ax_pipe_t *pipe, const char *name,
                    size_t namelen, unsigned int flags,
                    ax_connect_cb connect_cb) {
  if (req == NULL || pipe == NULL || connect_cb == NULL)
    return AX_EINVAL;
  int err = pipe_check_name(name, namelen, flags);
  if (err != 0)
    return err;
  const ax_stream_t *stream = &pipe->stream;
  if (ax__stream_closing(stream))
    return AX_EBADF;
  if (ax__stream_has(stream, AX__STREAM_CONNECTING))
    return AX_EALREADY;
  if (ax__stream_has(stream, AX__STREAM_CONNECTED))
    return AX_EISCONN;
  if (ax__stream_has(stream, AX__STREAM_LISTENING))
    return AX_EINVAL;
  return ax__pipe_sys_connect(pipe, req, name, namelen, connect_cb);
}

static int pipe_name(const ax_pipe_t *pipe, char *buffer, size_t *size,
                     bool peer) {
  if (pipe == NULL || buffer == NULL || size == NULL)
    return AX_EINVAL;
  if (ax__stream_closing(&pipe->stream) ||
      !ax__sock_is_open(&pipe->stream.priv.sock))
    return AX_EBADF;
  return ax__pipe_sys_name(pipe, buffer, size, peer);
}

int ax_pipe_getsockname(const ax_pipe_t *pipe, char *buffer, size_t *size) {
  return pipe_name(pipe, buffer, size, false);
}

int ax_pipe_getpeername(const ax_pipe_t *pipe, char *buffer, size_t *size) {
  return pipe_name(pipe, buffer, size, true);
}

int ax_pipe_chmod(ax_pipe_t *pipe, int mode) {
  if (pipe == NULL || mode == 0 ||
      (mode & ~(AX_PIPE_READABLE | AX_PIPE_WRITABLE)) != 0)
    return AX_EINVAL;
  if (ax__stream_closing(&pipe->stream) ||
      !ax__sock_is_open(&pipe->stream.priv.sock))
    return AX_EBADF;
  return ax__pipe_sys_chmod(pipe, mode);
}

/* Only Windows keeps server instances; its half reads the count from the
 * handle when it listens. */
void ax_pipe_pending_instances(ax_pipe_t *pipe, int count) {
  (void)pipe;
  (void)count;
}

int ax_pipe(ax_os_fd_t fds[2], int read_flags, int write_flags) {
  if (fds == NULL || (read_flags & ~AX_PIPE_NONBLOCK) != 0 ||
      (write_flags & ~AX_PIPE_NONBLOCK) != 0)
    return AX_EINVAL;
  return ax__pipe_sys_pipe(fds, read_flags, write_flags);
}

/* ---- Handles received over an IPC pipe ---- */

int ax_pipe_pending_count(const ax_pipe_t *pipe) {
  if (pipe == NULL || pipe->priv.ipc == NULL)
    return 0;
  return (int)pipe->priv.ipc->count;
}

ax_handle_type ax_pipe_pending_type(const ax_pipe_t *pipe) {
  if (ax_pipe_pending_count(pipe) == 0)
    return AX_UNKNOWN_HANDLE;
  const struct ax__pipe_ipc *ipc = pipe->priv.ipc;
  return ipc->queue[ipc->head].type;
}

/* Make room for one more, keeping the order. */
static int pipe_ipc_grow(struct ax__pipe_ipc *ipc) {
  unsigned int capacity = ipc->capacity == 0 ? PIPE_IPC_QUEUE_MIN
                                             : ipc->capacity * 2;
  struct ax__pipe_received *queue = ax__malloc((size_t)capacity *
                                               sizeof(*queue));
  if (queue == NULL)
    return AX_ENOMEM;
  for (unsigned int i = 0; i < ipc->count; i++)
    queue[i] = ipc->queue[(ipc->head + i) % ipc->capacity];
  ax__free(ipc->queue);
  ipc->queue = queue;
  ipc->head = 0;
  ipc->capacity = capacity;
  return 0;
}

int ax__pipe_ipc_push(ax_pipe_t *pipe, const struct ax__pipe_received *r) {
  struct ax__pipe_ipc *ipc = pipe->priv.ipc;
  if (ipc->count == ipc->capacity) {
    int err = pipe_ipc_grow(ipc);
    if (err != 0)
      return err;
  }
  ipc->queue[(ipc->head + ipc->count) % ipc->capacity] = *r;
  ipc->count++;
  return 0;
}

static struct ax__pipe_received pipe_ipc_pop(struct ax__pipe_ipc *ipc) {
  struct ax__pipe_received r = ipc->queue[ipc->head];
  ipc->head = (ipc->head + 1) % ipc->capacity;
  ipc->count--;
  return r;
}

/* Give client the received socket r: a TCP handle as a listener or a
 * connection, a pipe as its system's half decides. */
static int pipe_ipc_adopt(ax_stream_t *client,
                          const struct ax__pipe_received *r) {
  if (client->handle.type == AX_PIPE)
    return ax__pipe_sys_adopt((ax_pipe_t *)client, r->sock);
  int err = ax__tcp_sock_options(client, r->sock);
  if (err != 0)
    return err;
  return ax__stream_open(client, r->sock,
                         r->listening ? 0u : AX__STREAM_CONNECTED);
}

int ax__pipe_ipc_accept(ax_stream_t *server, ax_stream_t *client) {
  struct ax__pipe_ipc *ipc = ((ax_pipe_t *)server)->priv.ipc;
  if (client == NULL || client == server)
    return AX_EINVAL;
  if (ax__stream_closing(server) || ax__stream_closing(client))
    return AX_EBADF;
  if (ax__sock_is_open(&client->priv.sock))
    return AX_EBUSY;
  if (ipc->count == 0)
    return AX_EAGAIN;
  ax_handle_type type = ipc->queue[ipc->head].type;
  if (type != AX_UNKNOWN_HANDLE && type != client->handle.type)
    return AX_EINVAL; /* Still first in the queue, for the right type. */
  struct ax__pipe_received r = pipe_ipc_pop(ipc);
  /* One nobody can take, or one the client could not adopt, is closed:
   * the queue moves on rather than sticking at it. */
  int err = type == AX_UNKNOWN_HANDLE ? AX_ENOTSUP : pipe_ipc_adopt(client, &r);
  if (err != 0)
    ax__pipe_sys_discard(r.sock);
  return err;
}

void ax__pipe_send_attach(ax_stream_t *stream, ax_stream_t *send_handle) {
  ((ax_pipe_t *)stream)->priv.ipc->send_handle = send_handle;
}

/* ---- Writing with a handle ---- */

static int pipe_write2_check(const ax_stream_t *stream, const ax_buf_t bufs[],
                             unsigned int nbufs,
                             const ax_stream_t *send_handle) {
  if (stream == NULL || stream->handle.type != AX_PIPE)
    return AX_EINVAL;
  if (ax__stream_closing(stream))
    return AX_EBADF;
  if (((const ax_pipe_t *)stream)->priv.ipc == NULL)
    return AX_EINVAL;
  if (send_handle->handle.type != AX_TCP && send_handle->handle.type != AX_PIPE)
    return AX_EINVAL;
  if (ax__stream_closing(send_handle))
    return AX_EBADF;
  if (!ax__sock_is_open(&send_handle->priv.sock))
    return AX_EINVAL;
  /* A handle rides on a byte: with none, it would not travel. */
  size_t total = 0;
  for (unsigned int i = 0; bufs != NULL && i < nbufs; i++)
    total += bufs[i].len;
  return total == 0 ? AX_EINVAL : 0;
}

int ax_write2(ax_write_t *req, ax_stream_t *stream, const ax_buf_t bufs[],
              unsigned int nbufs, ax_stream_t *send_handle,
              ax_write_cb write_cb) {
  if (send_handle == NULL)
    return ax_write(req, stream, bufs, nbufs, write_cb);
  int err = pipe_write2_check(stream, bufs, nbufs, send_handle);
  if (err != 0)
    return err;
  return ax__stream_write(req, stream, bufs, nbufs, send_handle, write_cb);
}

/* ---- Closing ---- */

/* Close the stream, then what was received and not taken. */
void ax__pipe_close(ax_handle_t *handle) {
  ax_pipe_t *pipe = (ax_pipe_t *)handle;
  ax__stream_close(handle);
  ax__pipe_sys_close(pipe);
  struct ax__pipe_ipc *ipc = pipe->priv.ipc;
  if (ipc == NULL)
    return;
  while (ipc->count > 0)
    ax__pipe_sys_discard(pipe_ipc_pop(ipc).sock);
  ax__free(ipc->queue);
  ax__free(ipc);
  pipe->priv.ipc = NULL;
}
