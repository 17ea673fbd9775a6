/*
 * win/tcp-listen.c: listening TCP streams on Windows, with AcceptEx.
 *
 * AcceptEx accepts into a socket made beforehand, and completes on the
 * port like any overlapped operation. A listener keeps AX__ACCEPTS_POSTED
 * of them posted, each in a slot of its own (struct ax__accept_slot). A
 * slot whose accept completed holds the connection until ax_accept() takes
 * it, inside the connection callback; the slot is then posted again. So a
 * wakeup hands out at most AX__ACCEPTS_POSTED connections per listener,
 * and a connection that arrives while the loop runs callbacks waits in the
 * kernel's backlog, not in a slot.
 *
 * Why 32: the slots are what the kernel can complete between two visits
 * of the loop, so they bound a burst the loop takes in one wakeup; each
 * costs an unconnected socket (a kernel object) and 100 bytes, which 32
 * keeps small for a server with a handful of listeners. An accept that
 * completes inside AcceptEx itself (a connection was already waiting) is
 * handed out in the pending phase, so fewer slots would cost a wakeup per
 * connection under load rather than correctness.
 *
 * Out of sockets. Windows has no per-process descriptor limit; making the
 * socket for a slot fails only when the system runs out of memory for
 * sockets (WSAENOBUFS) or a provider's own limit (WSAEMFILE). A connection
 * then simply waits in the backlog, as no accept is posted for it: unlike
 * POSIX, no reserve descriptor is needed to take it out and refuse it. The
 * listener reports the error once to the connection callback and tries
 * again after a pause that doubles up to a limit, without spinning.
 */
#include <string.h>

#include "stream.h"

/* The first and the longest pause after a failure to post accepts: the
 * same as POSIX's (src/unix/listen.c). */
enum { LISTEN_BACKOFF_FIRST_MS = 1, LISTEN_BACKOFF_MAX_MS = 1024 };

static void listen_accept_io_cb(ax_loop_t *loop, ax__io_t *io, size_t bytes);

static ax_stream_t *listen_stream(struct ax__accept_slot *slot) {
  return slot->ext->stream;
}

static void listen_slot_drop(struct ax__accept_slot *slot) {
  if (slot->socket != INVALID_SOCKET)
    closesocket(slot->socket);
  slot->socket = INVALID_SOCKET;
  slot->state = AX__SLOT_IDLE;
}

/* An accepted socket becomes a full one (getpeername, shutdown) and
 * waits in the ready queue. */
static void listen_slot_ready(struct ax__accept_slot *slot) {
  ax_stream_t *stream = listen_stream(slot);
  SOCKET listener = ax__stream_socket(stream);
  if (setsockopt(slot->socket, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
                 (const char *)&listener, sizeof(listener)) != 0) {
    listen_slot_drop(slot);
    return;
  }
  struct ax__stream_ext *ext = slot->ext;
  slot->state = AX__SLOT_READY;
  slot->next_ready = NULL;
  if (ext->ready_tail == NULL)
    ext->ready_head = slot;
  else
    ext->ready_tail->next_ready = slot;
  ext->ready_tail = slot;
}

/* Post one AcceptEx. Returns 0 or the error of making its socket or of
 * AcceptEx itself (the slot is then idle). */
static int listen_slot_post(struct ax__accept_slot *slot) {
  ax_stream_t *stream = listen_stream(slot);
  int family = ax__stream_has(stream, AX__STREAM_IPV6) ? AF_INET6 : AF_INET;
  int err;
  SOCKET socket = ax__tcp_socket(family, &err);
  if (socket == INVALID_SOCKET)
    return err;
  OVERLAPPED *overlapped = ax__io_overlapped(&slot->io);
  memset(overlapped, 0, sizeof(*overlapped));
  DWORD bytes = 0;
  BOOL ok = ax__winsock.accept_ex(ax__stream_socket(stream), socket,
                                  slot->addresses, 0, AX__ACCEPT_ADDR_BYTES,
                                  AX__ACCEPT_ADDR_BYTES, &bytes, overlapped);
  int posted = ax__stream_posted(stream, ok);
  if (posted < 0) {
    closesocket(socket);
    return posted;
  }
  slot->socket = socket;
  slot->state = AX__SLOT_POSTED;
  if (posted == 1) {
    listen_slot_ready(slot);
    ax__stream_defer(stream);
  }
  return 0;
}

static void listen_backoff_cb(ax_timer_t *timer);

/* The back-off timer lives in the listener's state, out of the loop's
 * list of handles (and unreferenced): it is the listener's own machinery,
 * which ax_walk() must not show and which closes with the listener. */
static void listen_backoff_start(struct ax__stream_ext *ext) {
  ax_loop_t *loop = ext->stream->handle.loop;
  if (!ext->backoff_open) {
    ax_timer_init(loop, &ext->backoff);
    ax__queue_remove(&ext->backoff.handle.priv.node);
    ax_unref(&ext->backoff.handle);
    ext->backoff_open = 1;
    ext->backoff_ms = LISTEN_BACKOFF_FIRST_MS;
  }
  ax_timer_start(&ext->backoff, listen_backoff_cb, ext->backoff_ms, 0);
  loop->priv.accept_paused++;
  if (ext->backoff_ms < LISTEN_BACKOFF_MAX_MS)
    ext->backoff_ms *= 2;
}

static int listen_paused(const struct ax__stream_ext *ext) {
  return ext->backoff_open && ax_is_active(&ext->backoff.handle);
}

/* Post every idle slot, unless paused. The first failure pauses the
 * listener and is reported once, from the pending phase. */
static void listen_post_idle(ax_stream_t *stream) {
  struct ax__stream_ext *ext = stream->priv.ext;
  if (listen_paused(ext) || ax__handle_is_closing(&stream->handle))
    return;
  for (unsigned int i = 0; i < AX__ACCEPTS_POSTED; i++) {
    struct ax__accept_slot *slot = &ext->slots[i];
    if (slot->state != AX__SLOT_IDLE)
      continue;
    int err = listen_slot_post(slot);
    if (err != 0) {
      if (!ext->backoff_reported) {
        ext->accept_error = err;
        ext->backoff_reported = 1;
        ax__stream_defer(stream);
      }
      listen_backoff_start(ext);
      return;
    }
  }
  ext->backoff_reported = 0;
  ext->backoff_ms = LISTEN_BACKOFF_FIRST_MS;
}

static void listen_backoff_cb(ax_timer_t *timer) {
  struct ax__stream_ext *ext = ax_container_of(timer, struct ax__stream_ext,
                                               backoff);
  listen_post_idle(ext->stream);
}

/* Hand out the accepted connections, oldest first, and the error that
 * paused the listener. One the callback did not take stays in its slot
 * and is offered again with the next connection. */
void ax__listen_dispatch(ax_stream_t *stream) {
  struct ax__stream_ext *ext = stream->priv.ext;
  if (ext->accept_error != 0) {
    int err = ext->accept_error;
    ext->accept_error = 0;
    ext->connection_cb(stream, err);
    if (ax__handle_is_closing(&stream->handle))
      return;
  }
  for (unsigned int i = 0; i < AX__ACCEPTS_POSTED; i++) {
    struct ax__accept_slot *head = ext->ready_head;
    if (head == NULL)
      break;
    ext->connection_cb(stream, 0);
    if (ax__handle_is_closing(&stream->handle))
      return;
    if (ext->ready_head == head)
      break;
  }
  listen_post_idle(stream);
}

static void listen_accept_io_cb(ax_loop_t *loop, ax__io_t *io, size_t bytes) {
  (void)loop;
  (void)bytes;
  struct ax__accept_slot *slot = ax_container_of(io, struct ax__accept_slot,
                                                 io);
  ax_stream_t *stream = listen_stream(slot);
  ax__stream_op_done(stream);
  if (ax__handle_is_closing(&stream->handle)) {
    listen_slot_drop(slot);
    return;
  }
  /* A connection reset before its accept completed fails only itself. */
  if (ax__stream_io_status(stream, io) != 0)
    listen_slot_drop(slot);
  else
    listen_slot_ready(slot);
  ax__listen_dispatch(stream);
}

static int listen_check(ax_stream_t *stream, ax_connection_cb connection_cb) {
  if (stream == NULL || connection_cb == NULL || stream->handle.type != AX_TCP)
    return AX_EINVAL;
  if (ax__handle_is_closing(&stream->handle))
    return AX_EBADF;
  if (!ax__stream_has(stream, AX__STREAM_BOUND) ||
      ax__stream_has(stream, AX__STREAM_CONNECTED | AX__STREAM_CONNECTING |
                                 AX__STREAM_READING))
    return AX_EINVAL;
  return 0;
}

static struct ax__accept_slot *listen_slots_new(struct ax__stream_ext *ext) {
  struct ax__accept_slot *slots = ax__calloc(AX__ACCEPTS_POSTED,
                                             sizeof(*slots));
  if (slots == NULL)
    return NULL;
  for (unsigned int i = 0; i < AX__ACCEPTS_POSTED; i++) {
    slots[i].io.cb = listen_accept_io_cb;
    slots[i].ext = ext;
    slots[i].socket = INVALID_SOCKET;
  }
  return slots;
}

/* Listening already: a new backlog and callback. */
static int listen_again(ax_stream_t *stream, int backlog,
                        ax_connection_cb connection_cb) {
  if (listen(ax__stream_socket(stream), backlog) != 0)
    return ax__stream_socket_error();
  stream->priv.ext->connection_cb = connection_cb;
  return 0;
}

int ax_listen(ax_stream_t *stream, int backlog,
              ax_connection_cb connection_cb) {
  if (stream != NULL && connection_cb != NULL &&
      ax__stream_has(stream, AX__STREAM_LISTENING))
    return listen_again(stream, backlog, connection_cb);
  int err = listen_check(stream, connection_cb);
  if (err != 0)
    return err;
  struct ax__stream_ext *ext = ax__stream_ext(stream);
  struct ax__accept_slot *slots = ext ? listen_slots_new(ext) : NULL;
  if (slots == NULL)
    return AX_ENOMEM;
  if (listen(ax__stream_socket(stream), backlog) != 0) {
    ax__free(slots);
    return ax__stream_socket_error();
  }
  ext->slots = slots;
  ext->connection_cb = connection_cb;
  stream->handle.priv_flags |= AX__STREAM_LISTENING;
  ax__handle_start(&stream->handle);
  listen_post_idle(stream);
  return 0;
}

static int accept_check(ax_stream_t *server, ax_stream_t *client) {
  if (server == NULL || client == NULL || server == client ||
      client->handle.type != AX_TCP ||
      client->handle.loop != server->handle.loop ||
      !ax__stream_has(server, AX__STREAM_LISTENING))
    return AX_EINVAL;
  if (ax__handle_is_closing(&server->handle) ||
      ax__handle_is_closing(&client->handle))
    return AX_EBADF;
  if (client->priv.socket != INVALID_SOCKET)
    return AX_EBUSY;
  return 0;
}

int ax_accept(ax_stream_t *server, ax_stream_t *client) {
  int err = accept_check(server, client);
  if (err != 0)
    return err;
  struct ax__stream_ext *ext = server->priv.ext;
  struct ax__accept_slot *slot = ext->ready_head;
  if (slot == NULL)
    return AX_EAGAIN;
  ext->ready_head = slot->next_ready;
  if (ext->ready_head == NULL)
    ext->ready_tail = NULL;
  SOCKET socket = slot->socket;
  slot->socket = INVALID_SOCKET;
  slot->state = AX__SLOT_IDLE;
  err = ax__stream_attach(client, socket);
  if (err != 0) {
    closesocket(socket);
  } else {
    unsigned int family = server->handle.priv_flags & AX__STREAM_IPV6;
    client->handle.priv_flags |= family | AX__STREAM_BOUND |
                                 AX__STREAM_CONNECTED;
  }
  listen_post_idle(server);
  /* Others are ready: offer them from the pending phase, in case this
   * call came after the connection callback, which offers no more. */
  if (ext->ready_head != NULL)
    ax__stream_defer(server);
  return err;
}

/* In ax_close(): the connections not taken are refused (their sockets
 * closed); the sockets of accepts in flight are closed when their
 * cancelled packets arrive. */
void ax__listen_close(ax_stream_t *stream) {
  struct ax__stream_ext *ext = stream->priv.ext;
  if (ext->backoff_open)
    ax_timer_stop(&ext->backoff);
  for (unsigned int i = 0; i < AX__ACCEPTS_POSTED; i++) {
    if (ext->slots[i].state == AX__SLOT_READY)
      listen_slot_drop(&ext->slots[i]);
  }
  ext->ready_head = NULL;
  ext->ready_tail = NULL;
}

/* In the close phase, every packet in: nothing refers to ext any more. */
void ax__listen_free(struct ax__stream_ext *ext) {
  ax__free(ext->slots);
  ax__free(ext);
}
