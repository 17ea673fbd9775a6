/*
 * backend.h: the contract between the portable core and a backend.
 *
 * A backend is the one piece that talks to the kernel's waiting mechanism
 * (epoll, poll(2), kqueue, IOCP, io_uring). The core submits operations and
 * the backend reports their completions by calling the operation's callback
 * on the loop thread, from inside wait(). The contract is completion-shaped so
 * that completion kernels (IOCP, io_uring) implement it natively and
 * readiness kernels (epoll, kqueue, poll) emulate it; the code above it is
 * written once.
 *
 * The operations so far:
 *   - poll an fd (POSIX): a multishot operation, ax__io_t (axle/unix.h).
 *     Once started with an interest set it completes each time the
 *     descriptor is ready for part of that set, until stopped. The loop's
 *     wakeup channel (async handles) is such an operation on an eventfd.
 *   - a completion (Windows): ax__io_t (axle/win.h) is an OVERLAPPED and a
 *     callback, completed once per packet the completion port hands back.
 *     The wakeup channel is a packet other threads post to the port. There
 *     is no fd polling on Windows (yet): io_start refuses with AX_ENOSYS.
 * POSIX streams (src/unix/stream.c, listen.c) are built on the fd-poll
 * operation: a stream watches its socket for exactly what it waits for and
 * tries the system call (accept, read, sendmsg, the end of a connect) when
 * the descriptor is ready. That is the emulation of completions this
 * contract was shaped for, written once above the three readiness backends
 * rather than inside each. On Windows, streams hand each operation to the
 * kernel as an overlapped request (zero-byte WSARecv, WSASend, ConnectEx,
 * AcceptEx) whose packet the IOCP backend dispatches (src/win/stream.c).
 *
 * Backends are listed in preference order by the platform (ax__backends, in
 * src/unix/backends-linux.c for Linux, src/win/backends-win.c for Windows).
 * ax_loop_init() tries them in turn.
 */
#ifndef AX_BACKEND_H
#define AX_BACKEND_H

#include "internal.h"

/* Readiness bits of an ax__io_t, both interest and result. */
enum {
  AX__IO_READ = 1u << 0,  /* Readable, or a peer closed its side. */
  AX__IO_WRITE = 1u << 1, /* Writable. */
  /* The peer shut down writing. A result wherever the backend can tell;
   * an interest only where io_extra has it (see there). */
  AX__IO_DISCONNECT = 1u << 2,
  AX__IO_ERROR = 1u << 3, /* An error or hang-up is pending (result only). */
  /* Priority or out-of-band data: interest and result, where io_extra
   * has it. */
  AX__IO_PRIORITY = 1u << 4,
};

struct ax__backend {
  /* The name ax_backend_name() reports and AX_BACKEND selects. */
  const char *name;

  /*
   * Interest bits io_start watches beyond AX__IO_READ and AX__IO_WRITE, 0
   * for none. AX__IO_DISCONNECT: the peer's shutdown is watched on its own,
   * without readability (epoll's EPOLLRDHUP). AX__IO_PRIORITY: priority
   * data is watched and reported (EPOLLPRI). A backend is given these bits
   * only by callers that checked this set (ax_poll_t, unix/poll-watch.c),
   * except AX__IO_DISCONNECT, which any backend must accept and may
   * ignore: it then reports only the hang-ups it sees anyway (poll(2)'s
   * POLLHUP, as AX__IO_ERROR).
   */
  unsigned int io_extra;

  /*
   * Create the backend's kernel object and state, and store the state in
   * loop->priv.platform.backend_data. Return 0, or an error (AX_ENOSYS for a
   * kernel without the mechanism, AX_EPERM under a seccomp filter, AX_EMFILE,
   * AX_ENOMEM) after releasing whatever it created: the loop then tries the
   * next backend.
   */
  int (*init)(ax_loop_t *loop);

  /* Release everything init created. No operation is started any more. */
  void (*fini)(ax_loop_t *loop);

  /*
   * Start polling io->fd for the AX__IO_READ/AX__IO_WRITE bits in events (not
   * zero), or change the set of an io already started. io->events holds the
   * set registered before the call (0 if none); the backend updates it on
   * success. Return 0 or the kernel's error (AX_EPERM for a regular file
   * under epoll, AX_EBADF, AX_ENOMEM); on error nothing changed.
   * Windows (IOCP): AX_ENOSYS, always; nothing is started.
   */
  int (*io_start)(ax_loop_t *loop, ax__io_t *io, unsigned int events);

  /*
   * Stop polling io entirely and set io->events to 0. After this returns, no
   * completion is delivered for io, not even one the current wait() already
   * collected: io_stop may be called from inside a completion callback, for
   * this io or another, and the io's memory may be freed right after.
   * Callers stop an io before they close its descriptor: a registration
   * can outlive a close while another descriptor shares the open file.
   * Windows (IOCP): does nothing, as io_start never starts anything.
   */
  void (*io_stop)(ax_loop_t *loop, ax__io_t *io);

  /*
   * Block until completions are ready or timeout_ms passes (-1: no limit,
   * 0: do not block), retrying EINTR with the time that is left, and collect
   * at most AX__MAX_EVENTS_PER_WAIT of them. Return how many were collected,
   * or a negative error for a failure of the mechanism itself. The core
   * reads the clock next, so callbacks see the time they were woken at.
   * A wait that times out must not end before timeout_ms has passed by
   * ax__hrtime_ns(): AX_RUN_ONCE relies on its timer being due then.
   */
  int (*wait)(ax_loop_t *loop, int timeout_ms);

  /*
   * Deliver what the last wait() collected by calling each operation's
   * callback, skipping operations stopped meanwhile (POSIX; on Windows a
   * completion always belongs to an operation still in flight, so none is
   * skipped). Return the number delivered.
   */
  int (*dispatch)(ax_loop_t *loop);
};

/* The backends of this platform, most preferred first, NULL-terminated. */
extern const struct ax__backend *const ax__backends[];

/* Core wrappers that call the backend only when the interest set changes.
 * POSIX only (src/unix/core.c): Windows has no fd polling yet. */
void ax__io_init(ax__io_t *io, ax__io_cb cb, int fd);
int ax__io_start(ax_loop_t *loop, ax__io_t *io, unsigned int events);
int ax__io_stop(ax_loop_t *loop, ax__io_t *io, unsigned int events);

/* Whether any operation is started: with none, and nothing to wait for,
 * the poll phase skips the backend's wait and its system call. Each
 * platform's core.c counts its own operations (Windows: the wakeup channel
 * once an async handle opened it). */
bool ax__io_any(const ax_loop_t *loop);

#endif /* AX_BACKEND_H */
