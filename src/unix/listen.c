/*
 * unix/listen.c: listening streams: accepting connections in bounded
 * batches, and surviving the moment the process runs out of descriptors.
 *
 * A readable listener accepts up to LISTEN_ACCEPTS_PER_WAKEUP connections,
 * each handed to the connection callback, which takes it with ax_accept().
 * A connection the callback leaves untaken is held, and the listener stops
 * accepting until ax_accept() takes it: the user's way to hold new
 * connections off.
 *
 * Out of descriptors (EMFILE, ENFILE), a level-triggered listener would be
 * reported ready again at once, forever, with a connection it cannot
 * accept. So each loop keeps one descriptor in reserve (/dev/null, opened
 * with its first listener): the listener closes it, accepts the pending
 * connection with the freed number and closes that at once (the client sees
 * the connection closed, not a hang), then opens the reserve again. It then
 * reports the error to the connection callback, once per run of failures,
 * stops watching, and resumes after a back-off that doubles from
 * LISTEN_BACKOFF_MIN_MS to LISTEN_BACKOFF_MAX_MS while the failures go on.
 * Out of memory (ENOMEM, ENOBUFS), it pauses the same way, without the
 * reserve. Each pause counts in the loop's accept_paused metric.
 */
#include <errno.h>
#include <fcntl.h>

#include "stream.h"

enum {
  /* Connections accepted per wakeup, so that a flood of connections
   * cannot hold the loop. */
  LISTEN_ACCEPTS_PER_WAKEUP = 32,
  /* The back-off after running out of descriptors or memory. */
  LISTEN_BACKOFF_MIN_MS = 1,
  LISTEN_BACKOFF_MAX_MS = 1024,
};

static struct ax__stream_listen *listen_state(const ax_stream_t *stream) {
  assert(stream->priv.ext != NULL &&
         stream->priv.ext->kind == AX__STREAM_EXT_LISTEN &&
         "axle: a listening stream without listener state");
  return &stream->priv.ext->u.listen;
}

/* The reserve is open while the loop has listeners; it is -1 when it
 * could not be opened (out of descriptors already) and is retried. */
static void listen_reserve_open(ax_loop_t *loop) {
  int *reserve = &loop->priv.platform.reserve_fd;
  if (*reserve < 0)
    *reserve = ax__sys.open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void listen_reserve_close(ax_loop_t *loop) {
  int *reserve = &loop->priv.platform.reserve_fd;
  if (*reserve >= 0)
    ax__close_fd(*reserve);
  *reserve = -1;
}

static bool listen_pause(ax_stream_t *stream, int err);

/* The back-off is over: watch the listener again. */
static void listen_resume(ax_timer_t *timer) {
  ax_stream_t *stream = timer->handle.data;
  struct ax__stream_listen *state = listen_state(stream);
  state->paused = false;
  listen_reserve_open(stream->handle.loop);
  if (state->accepted_fd >= 0)
    return; /* Waits for ax_accept() first. */
  int err = ax__io_start(stream->handle.loop, &stream->priv.io, AX__IO_READ);
  if (err != 0 && listen_pause(stream, err))
    state->cb(stream, err);
}

/* The timer that ends a pause is axle's, not the user's: it is kept off
 * the loop's handle list, so that ax_walk() never shows it, and unreferenced,
 * as the listener keeps the loop alive already. */
static void listen_timer_init(ax_stream_t *stream, ax_timer_t *timer) {
  ax_timer_init(stream->handle.loop, timer);
  ax__queue_remove(&timer->handle.priv.node);
  ax_unref(&timer->handle);
  timer->handle.data = stream;
}

/* Use the reserve descriptor to accept one pending connection and close
 * it: the client is told no, and the listener is no longer ready for a
 * connection it cannot take. */
static void listen_shed(ax_stream_t *stream) {
  ax_loop_t *loop = stream->handle.loop;
  if (loop->priv.platform.reserve_fd < 0)
    return;
  listen_reserve_close(loop);
  int fd = ax__sock_accept(stream->priv.io.fd);
  if (fd >= 0)
    ax__close_fd(fd);
  listen_reserve_open(loop);
}

/* Accepting failed for want of descriptors or memory: shed, and pause.
 * Returns whether to report err: once per run of failures. */
static bool listen_pause(ax_stream_t *stream, int err) {
  struct ax__stream_listen *state = listen_state(stream);
  ax_loop_t *loop = stream->handle.loop;
  if (err == AX_EMFILE || err == AX_ENFILE)
    listen_shed(stream);
  bool report = state->backoff_ms == 0;
  if (state->backoff_ms == 0)
    state->backoff_ms = LISTEN_BACKOFF_MIN_MS;
  else if (state->backoff_ms < LISTEN_BACKOFF_MAX_MS)
    state->backoff_ms *= 2;
  ax__io_stop(loop, &stream->priv.io, AX__IO_READ);
  ax_timer_start(&state->backoff, listen_resume, state->backoff_ms, 0);
  state->paused = true;
  loop->priv.accept_paused++;
  return report;
}

/* Errors of accept() that concern one connection, not the listener: the
 * kernel had queued it and it went away (ECONNABORTED), or Linux passed on
 * a pending network error of the new socket, which its accept(2) page asks
 * callers to treat as EAGAIN. */
static bool listen_error_transient(int err) {
  switch (err) {
  case AX_EINTR:
  case AX_ECONNABORTED:
  case AX_EPROTO:
  case AX_EPERM:
  case AX_ENETDOWN:
  case AX_ENETUNREACH:
  case AX_EHOSTUNREACH:
  case AX_ENOTSUP:
  case -ENOPROTOOPT:
  case -EHOSTDOWN:
    return true;
  default:
    return false;
  }
}

void ax__stream_listen_ready(ax_stream_t *stream) {
  struct ax__stream_listen *state = listen_state(stream);
  for (int i = 0; i < LISTEN_ACCEPTS_PER_WAKEUP; i++) {
    int fd = ax__sock_accept(stream->priv.io.fd);
    if (fd == AX_EAGAIN) {
      state->backoff_ms = 0;
      return;
    }
    if (fd < 0 && listen_error_transient(fd))
      continue;
    if (fd < 0) {
      if (listen_pause(stream, fd))
        state->cb(stream, fd);
      return;
    }
    state->backoff_ms = 0;
    state->accepted_fd = fd;
    state->cb(stream, 0);
    if (ax__stream_closing(stream))
      return;
    if (state->accepted_fd >= 0) {
      /* Not taken: hold it, and accept no more until it is. */
      ax__io_stop(stream->handle.loop, &stream->priv.io, AX__IO_READ);
      return;
    }
  }
}

/* Begin listening on a stream that is not yet listening. */
static int listen_begin(ax_stream_t *stream, struct ax__stream_ext *ext) {
  ax_loop_t *loop = stream->handle.loop;
  if (loop->priv.platform.listeners++ == 0) {
    loop->priv.platform.reserve_fd = -1;
    listen_reserve_open(loop);
  }
  int err = ax__io_start(loop, &stream->priv.io, AX__IO_READ);
  if (err != 0) {
    if (--loop->priv.platform.listeners == 0)
      listen_reserve_close(loop);
    return err;
  }
  ext->u.listen.paused = false;
  ext->u.listen.backoff_ms = 0;
  stream->handle.priv_flags |= AX__STREAM_LISTENING;
  ax__handle_start(&stream->handle);
  return 0;
}

/* The listener state, allocated and initialised on first use. */
static int listen_ext(ax_stream_t *stream, struct ax__stream_ext **out) {
  struct ax__stream_ext *ext = stream->priv.ext;
  if (ext != NULL) {
    *out = ext;
    return ext->kind == AX__STREAM_EXT_LISTEN ? 0 : AX_EINVAL;
  }
  ext = ax__calloc(1, sizeof(*ext));
  if (ext == NULL)
    return AX_ENOMEM;
  ext->kind = AX__STREAM_EXT_LISTEN;
  ext->u.listen.accepted_fd = -1;
  listen_timer_init(stream, &ext->u.listen.backoff);
  stream->priv.ext = ext;
  *out = ext;
  return 0;
}

static int listen_start(ax_stream_t *stream, int backlog, ax_connection_cb cb) {
  struct ax__stream_ext *ext;
  int err = listen_ext(stream, &ext);
  if (err != 0)
    return err;
  if (ax__sys.listen(stream->priv.io.fd, backlog) != 0)
    return ax_translate_sys_error(errno);
  ext->u.listen.cb = cb;
  if (stream->handle.priv_flags & AX__STREAM_LISTENING)
    return 0; /* Listening already: a new backlog and callback. */
  return listen_begin(stream, ext);
}

int ax_listen(ax_stream_t *stream, int backlog, ax_connection_cb cb) {
  if (stream == NULL || cb == NULL)
    return AX_EINVAL;
  if (ax__stream_closing(stream))
    return AX_EBADF;
  unsigned int busy = AX__STREAM_CONNECTED | AX__STREAM_CONNECTING |
                      AX__STREAM_READING;
  if (stream->priv.io.fd < 0 || (stream->handle.priv_flags & busy) != 0)
    return AX_EINVAL;
  return listen_start(stream, backlog, cb);
}

int ax_accept(ax_stream_t *server, ax_stream_t *client) {
  if (server == NULL || client == NULL || server == client ||
      server->handle.type != client->handle.type ||
      server->handle.loop != client->handle.loop ||
      !(server->handle.priv_flags & AX__STREAM_LISTENING))
    return AX_EINVAL;
  if (ax__stream_closing(client))
    return AX_EBADF;
  if (client->priv.io.fd >= 0)
    return AX_EBUSY;
  struct ax__stream_listen *state = listen_state(server);
  if (state->accepted_fd < 0)
    return AX_EAGAIN;
  int fd = state->accepted_fd;
  state->accepted_fd = -1;
  /* The options the client's user chose before it had a socket. If they
   * cannot be set, the connection is dropped: no other handle asked. */
  int err = ax__tcp_sock_options(client, fd);
  if (err == 0)
    ax__stream_open(client, fd, AX__STREAM_CONNECTED);
  else
    ax__close_fd(fd);
  if (!state->paused && server->priv.io.events == 0) {
    /* Held back until now (ax__stream_listen_ready). */
    int start_err = ax__io_start(server->handle.loop, &server->priv.io,
                                 AX__IO_READ);
    if (start_err != 0)
      (void)listen_pause(server, start_err); /* Retried, not reported here. */
  }
  return err;
}

void ax__stream_listen_close(ax_stream_t *stream) {
  struct ax__stream_listen *state = listen_state(stream);
  ax_loop_t *loop = stream->handle.loop;
  ax_timer_stop(&state->backoff);
  if (state->accepted_fd >= 0)
    ax__close_fd(state->accepted_fd);
  state->accepted_fd = -1;
  if (--loop->priv.platform.listeners == 0)
    listen_reserve_close(loop);
}
