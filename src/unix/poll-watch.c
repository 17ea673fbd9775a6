/*
 * unix/poll-watch.c: ax_poll_t on POSIX systems, the readiness of a
 * descriptor that the caller reads and writes itself.
 *
 * A poll handle is one ax__io_t (src/backend.h) on the caller's descriptor.
 * The backend reports readiness level-triggered; this file turns its
 * AX__IO_* bits into the AX_POLL_* bits the caller asked for. What can be
 * watched depends on the backend (docs/signals.md has the table):
 *   - epoll watches all four, DISCONNECT (EPOLLRDHUP) and PRIORITIZED
 *     (EPOLLPRI) each on its own;
 *   - poll(2) and kqueue watch readability and writability. A hang-up they
 *     report (POLLHUP, EV_EOF) is DISCONNECT, and on a stream socket whose
 *     readability is watched, the peer's orderly end is found by peeking
 *     one byte when it is readable. PRIORITIZED is refused (AX_ENOTSUP).
 * An error or hang-up pending on the descriptor is reported as every event
 * asked for, so that the caller's own read or write meets the error; the
 * socket's pending error (SO_ERROR) is left for the caller to read, as the
 * result of a non-blocking connect is. Only a descriptor that is no longer
 * open ends the watch, with AX_EBADF.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>

#include "internal.h"

enum {
  /* Every AX_POLL_* bit: the low bits of priv.flags. */
  POLL_EVENTS = AX_POLL_READABLE | AX_POLL_WRITABLE | AX_POLL_DISCONNECT |
                AX_POLL_PRIORITIZED,
  /* priv.flags: whether the descriptor is a stream socket is known... */
  POLL_TYPE_KNOWN = 1u << 8,
  /* ...and it is one, so that a peek can tell the end of its stream. */
  POLL_STREAM = 1u << 9,
};

/* The backend's interest for a set of AX_POLL_* bits. */
static unsigned int poll_io_bits(unsigned int events) {
  return (events & AX_POLL_READABLE ? AX__IO_READ : 0u) |
         (events & AX_POLL_WRITABLE ? AX__IO_WRITE : 0u) |
         (events & AX_POLL_DISCONNECT ? AX__IO_DISCONNECT : 0u) |
         (events & AX_POLL_PRIORITIZED ? AX__IO_PRIORITY : 0u);
}

/* The AX_POLL_* bits of a backend result. */
static unsigned int poll_events(unsigned int bits) {
  return (bits & AX__IO_READ ? AX_POLL_READABLE : 0u) |
         (bits & AX__IO_WRITE ? AX_POLL_WRITABLE : 0u) |
         (bits & AX__IO_DISCONNECT ? AX_POLL_DISCONNECT : 0u) |
         (bits & AX__IO_PRIORITY ? AX_POLL_PRIORITIZED : 0u);
}

/* Whether the end of the stream has arrived on a readable descriptor, for
 * a backend that does not say so itself. One recv(2) that takes nothing
 * off the socket; a datagram socket's empty datagram would look the same,
 * so only stream sockets are asked (their type is looked up once). */
static bool poll_peek_end(ax_poll_t *poll) {
  int fd = poll->priv.io.fd;
  if (!(poll->priv.flags & POLL_TYPE_KNOWN)) {
    int type = 0;
    socklen_t len = sizeof(type);
    /* Fails with ENOTSOCK for a pipe or a terminal: never peek at it. */
    if (ax__sys.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
        type == SOCK_STREAM)
      poll->priv.flags |= POLL_STREAM;
    poll->priv.flags |= POLL_TYPE_KNOWN;
  }
  if (!(poll->priv.flags & POLL_STREAM))
    return false;
  char byte;
  ssize_t n;
  do {
    n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  return n == 0;
}

/* Set the backend's interest to exactly want (not 0): narrow, then widen,
 * one call each only where the set loses or gains bits. */
static int poll_io_set(ax_loop_t *loop, ax__io_t *io, unsigned int want) {
  unsigned int had = io->events;
  int err = 0;
  if ((had & ~want) != 0)
    err = ax__io_stop(loop, io, had & ~want);
  if (err == 0 && (want & ~io->events) != 0)
    err = ax__io_start(loop, io, want);
  return err;
}

static void poll_stop(ax_poll_t *poll) {
  ax__io_t *io = &poll->priv.io;
  ax__io_stop(poll->handle.loop, io, io->events);
  poll->priv.flags &= ~(unsigned int)POLL_EVENTS;
  ax__handle_stop(&poll->handle);
}

/* What to report for a backend result, from the events asked for. */
static unsigned int poll_result(ax_poll_t *poll, unsigned int bits) {
  unsigned int asked = poll->priv.flags & POLL_EVENTS;
  if (bits & AX__IO_ERROR)
    return asked; /* Let the caller's own I/O find the error. */
  unsigned int events = poll_events(bits) & asked;
  const struct ax__backend *backend = poll->handle.loop->priv.platform.backend;
  if ((asked & AX_POLL_DISCONNECT) && (events & AX_POLL_READABLE) &&
      !(events & AX_POLL_DISCONNECT) &&
      !(backend->io_extra & AX__IO_DISCONNECT) && poll_peek_end(poll))
    events |= AX_POLL_DISCONNECT;
  return events;
}

/* The backend's completion. The callback may stop or close the handle, or
 * start it with other events: nothing here touches it afterwards. */
static void poll_io_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                       intptr_t result) {
  (void)loop;
  (void)op;
  unsigned int bits = (unsigned int)result;
  ax_poll_t *poll = ax_container_of(io, ax_poll_t, priv.io);
  assert(ax__handle_is_active(&poll->handle) &&
         "axle: readiness for a stopped poll handle");
  if ((bits & AX__IO_ERROR) && ax__sys.fcntl(io->fd, F_GETFD) < 0 &&
      errno == EBADF) {
    /* Closed under the handle (poll(2) says POLLNVAL): stop, or the
     * backend would report it again in every iteration. */
    poll_stop(poll);
    poll->priv.cb(poll, AX_EBADF, 0);
    return;
  }
  unsigned int events = poll_result(poll, bits);
  if (events != 0)
    poll->priv.cb(poll, 0, (int)events);
}

int ax_poll_init(ax_loop_t *loop, ax_poll_t *poll, int fd) {
  if (loop == NULL || poll == NULL || fd < 0)
    return AX_EINVAL;
  int err = ax__handle_init(loop, &poll->handle, AX_POLL);
  if (err != 0)
    return err;
  if (ax__sys.fcntl(fd, F_GETFD) < 0) {
    err = ax_translate_sys_error(errno);
    ax__handle_init_undo(&poll->handle);
    return err;
  }
  ax__io_init(&poll->priv.io, poll_io_cb, fd);
  poll->priv.cb = NULL;
  poll->priv.flags = 0;
  return 0;
}

int ax_poll_init_socket(ax_loop_t *loop, ax_poll_t *poll, ax_os_sock_t sock) {
  return ax_poll_init(loop, poll, sock);
}

int ax_poll_start(ax_poll_t *poll, int events, ax_poll_cb poll_cb) {
  if (poll == NULL || poll_cb == NULL || events <= 0 ||
      (events & ~POLL_EVENTS) != 0)
    return AX_EINVAL;
  if (ax__handle_is_closing(&poll->handle))
    return AX_EBADF;
  ax_loop_t *loop = poll->handle.loop;
  unsigned int want = poll_io_bits((unsigned int)events);
  /* DISCONNECT goes to every backend (each reports what it can see);
   * PRIORITIZED only to one that watches it. */
  if ((want & AX__IO_PRIORITY & ~loop->priv.platform.backend->io_extra) != 0)
    return AX_ENOTSUP;
  int err = poll_io_set(loop, &poll->priv.io, want);
  if (err != 0) {
    poll_stop(poll);
    return err;
  }
  poll->priv.cb = poll_cb;
  poll->priv.flags = (poll->priv.flags & ~(unsigned int)POLL_EVENTS) |
                     (unsigned int)events;
  ax__handle_start(&poll->handle);
  return 0;
}

int ax_poll_stop(ax_poll_t *poll) {
  if (poll == NULL)
    return AX_EINVAL;
  poll_stop(poll);
  return 0;
}

void ax__poll_close(ax_handle_t *handle) {
  ax_poll_t *poll = (ax_poll_t *)handle;
  poll_stop(poll);
}
