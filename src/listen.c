/*
 * listen.c: listening streams, over the backend's ACCEPT operation.
 *
 * The backend delivers accepted connections one completion each, in
 * bounded bursts (backend.h). Each is handed to the connection callback,
 * which takes it with ax_accept(). A connection the callback leaves
 * untaken is held, and the listener stops accepting until ax_accept()
 * takes it: the user's way to hold new connections off.
 *
 * An ACCEPT that fails for want of descriptors or memory (the backend has
 * already shed the pending connection where that is needed, see
 * src/unix/sock.c) pauses the listener: it stops accepting, reports the
 * error to the connection callback once per run of failures, and resumes
 * after a back-off that doubles from LISTEN_BACKOFF_MIN_MS to
 * LISTEN_BACKOFF_MAX_MS while the failures go on. Each pause counts in the
 * loop's accept_paused metric, and is reported to the loop, which tells
 * the application once per episode (ax_loop_set_resource_cb()).
 */
#include "pipe.h"

enum {
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

/* Start the ACCEPT operation unless it runs. 0 or the backend's error. */
static int listen_accept_start(ax_stream_t *stream) {
  struct ax__stream_listen *state = listen_state(stream);
  if (state->accepting)
    return 0;
  int err = ax__stream_ops(stream)->accept_start(stream->handle.loop,
                                                 &stream->priv.sock);
  state->accepting = err == 0;
  return err;
}

static void listen_accept_stop(ax_stream_t *stream) {
  struct ax__stream_listen *state = listen_state(stream);
  if (!state->accepting)
    return;
  ax__stream_ops(stream)->accept_stop(stream->handle.loop, &stream->priv.sock);
  state->accepting = false;
}

static bool listen_pause(ax_stream_t *stream, int err);

/* The back-off is over: accept again, unless a connection waits for
 * ax_accept() first. */
static void listen_resume(ax_timer_t *timer) {
  ax_stream_t *stream = timer->handle.data;
  struct ax__stream_listen *state = listen_state(stream);
  state->paused = false;
  if (state->has_held)
    return;
  int err = listen_accept_start(stream);
  if (err != 0 && listen_pause(stream, err))
    state->cb(stream, err);
}

/* The timer that ends a pause is axle's, not the user's: it is kept off
 * the loop's handle list, so that ax_walk() never shows it, and
 * unreferenced, as the listener keeps the loop alive already. */
static void listen_timer_init(ax_stream_t *stream, ax_timer_t *timer) {
  ax_timer_init(stream->handle.loop, timer);
  ax__queue_remove(&timer->handle.priv.node);
  ax_unref(&timer->handle);
  timer->handle.data = stream;
}

/* Accepting failed for want of descriptors or memory: pause, and tell
 * the loop, whose resource callback may close the stream. Returns whether
 * to report err to the connection callback: once per run of failures, and
 * not on a stream closed meanwhile. */
static bool listen_pause(ax_stream_t *stream, int err) {
  struct ax__stream_listen *state = listen_state(stream);
  bool report = state->backoff_ms == 0;
  if (state->backoff_ms == 0)
    state->backoff_ms = LISTEN_BACKOFF_MIN_MS;
  else if (state->backoff_ms < LISTEN_BACKOFF_MAX_MS)
    state->backoff_ms *= 2;
  listen_accept_stop(stream);
  ax_timer_start(&state->backoff, listen_resume, state->backoff_ms, 0);
  state->paused = true;
  stream->handle.loop->priv.accept_paused++;
  ax__loop_report_resource(&stream->handle, err);
  return report && !ax__stream_closing(stream);
}

/* An ACCEPT completion: a new socket (result >= 0) or an error. */
void ax__stream_accepted(ax_stream_t *stream, intptr_t result) {
  if (ax__stream_closing(stream) ||
      !ax__stream_has(stream, AX__STREAM_LISTENING)) {
    if (result >= 0)
      ax__sock_discard((ax_os_sock_t)result);
    return;
  }
  struct ax__stream_listen *state = listen_state(stream);
  if (result < 0) {
    if (listen_pause(stream, (int)result))
      state->cb(stream, (int)result);
    return;
  }
  assert(!state->has_held && "axle: a connection accepted while one is held");
  state->backoff_ms = 0;
  state->held = (ax_os_sock_t)result;
  state->has_held = true;
  state->cb(stream, 0);
  /* Not taken: hold it, and accept no more until it is. */
  if (!ax__stream_closing(stream) && state->has_held)
    listen_accept_stop(stream);
}

/* The listener state, allocated and initialised on first use; an ext
 * that holds only the keep-alive delay (kind NONE) becomes a listener's. */
static int listen_ext(ax_stream_t *stream, struct ax__stream_ext **out) {
  struct ax__stream_ext *ext = stream->priv.ext;
  if (ext != NULL && ext->kind != AX__STREAM_EXT_NONE) {
    *out = ext;
    return ext->kind == AX__STREAM_EXT_LISTEN ? 0 : AX_EINVAL;
  }
  int err = ax__stream_ext_get(stream, &ext);
  if (err != 0)
    return err;
  ext->kind = AX__STREAM_EXT_LISTEN;
  listen_timer_init(stream, &ext->u.listen.backoff);
  *out = ext;
  return 0;
}

/* Begin listening on a stream that is not yet listening. */
static int listen_begin(ax_stream_t *stream, struct ax__stream_ext *ext) {
  ax__sock_listener_add(stream->handle.loop);
  ext->u.listen.paused = false;
  ext->u.listen.backoff_ms = 0;
  int err = listen_accept_start(stream);
  if (err != 0) {
    ax__sock_listener_remove(stream->handle.loop);
    return err;
  }
  stream->handle.priv_flags |= AX__STREAM_LISTENING;
  ax__handle_start(&stream->handle);
  return 0;
}

static int listen_start(ax_stream_t *stream, int backlog, ax_connection_cb cb) {
  struct ax__stream_ext *ext;
  int err = listen_ext(stream, &ext);
  if (err == 0)
    err = ax__sock_listen(&stream->priv.sock, backlog);
  if (err != 0)
    return err;
  ext->u.listen.cb = cb;
  if (ax__stream_has(stream, AX__STREAM_LISTENING))
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
  if (!ax__sock_is_open(&stream->priv.sock) || ax__stream_has(stream, busy))
    return AX_EINVAL;
  return listen_start(stream, backlog, cb);
}

static int accept_check(const ax_stream_t *server, const ax_stream_t *client) {
  if (server == NULL || client == NULL || server == client ||
      server->handle.type != client->handle.type ||
      server->handle.loop != client->handle.loop ||
      !ax__stream_has(server, AX__STREAM_LISTENING))
    return AX_EINVAL;
  if (ax__stream_closing(client))
    return AX_EBADF;
  if (ax__sock_is_open(&client->priv.sock))
    return AX_EBUSY;
  return 0;
}

/* An IPC pipe that is not listening hands out the handles it received
 * (src/pipe.c); a listening one accepts connections like any listener. */
static bool accept_is_ipc(const ax_stream_t *server) {
  return server != NULL && server->handle.type == AX_PIPE &&
         ((const ax_pipe_t *)server)->priv.ipc != NULL &&
         !ax__stream_has(server, AX__STREAM_LISTENING);
}

int ax_accept(ax_stream_t *server, ax_stream_t *client) {
  if (accept_is_ipc(server))
    return ax__pipe_ipc_accept(server, client);
  int err = accept_check(server, client);
  if (err != 0)
    return err;
  struct ax__stream_listen *state = listen_state(server);
  if (!state->has_held)
    return AX_EAGAIN;
  ax_os_sock_t sock = state->held;
  state->has_held = false;
  /* The options the client's user chose before it had a socket. If they
   * cannot be set, the connection is dropped: no other handle asked. */
  err = ax__tcp_sock_options(client, sock);
  if (err == 0)
    err = ax__stream_open(client, sock, AX__STREAM_CONNECTED);
  if (err != 0)
    ax__sock_discard(sock);
  if (!state->paused) {
    /* Held back until now (ax__stream_accepted). */
    int start_err = listen_accept_start(server);
    if (start_err != 0)
      (void)listen_pause(server, start_err); /* Retried, not reported here. */
  }
  return err;
}

void ax__stream_listen_close(ax_stream_t *stream) {
  struct ax__stream_listen *state = listen_state(stream);
  ax_timer_stop(&state->backoff);
  listen_accept_stop(stream);
  if (state->has_held)
    ax__sock_discard(state->held);
  state->has_held = false;
  ax__sock_listener_remove(stream->handle.loop);
}
