/*
 * backend.h: the contract between the portable core and a backend.
 *
 * A backend is the one piece that talks to the kernel's waiting mechanism
 * (epoll, poll(2), kqueue, IOCP, io_uring). The core submits operations and
 * the backend reports each one's completion by calling a callback on the
 * loop thread, from inside dispatch(). Completion kernels (IOCP, io_uring)
 * implement the operations natively; readiness kernels (epoll, kqueue,
 * poll(2)) share one emulation of them (src/unix/readiness.c): try the
 * system call at once, and on EAGAIN watch the descriptor and complete from
 * the readiness event. The stream engine above (src/stream.c, listen.c,
 * tcp.c) is written once against these operations.
 *
 *   core (stream.c)        backend                     kernel
 *   ----------------       -------                     ------
 *   recv_start(sock) ----> readiness: watch readable   epoll_ctl / kevent
 *                          IOCP: zero-byte WSARecv      (posted)
 *   cb(RECV, 0)     <----- readable / packet          <- data arrives
 *   read(buf)       ----------------------------------> read / WSARecv
 *   send(sock, bufs) ----> readiness: sendmsg now       sendmsg
 *                          IOCP: overlapped WSASend
 *     returns n taken now; if fewer than offered, the send stays in flight:
 *   cb(SEND, n)     <----- writable (n = 0) / packet (n = bytes)
 *
 * The operations on a socket (an ax__sock_t, declared per platform in
 * axle/unix.h and axle/win.h) and what each completion carries:
 *
 *   RECV     multishot, recv_start until recv_stop. Completes each time
 *            the socket has something to read: data, the peer's end, or
 *            an error. result 0: read now, with ax__sock_read(), until it
 *            says AX_EAGAIN. io_uring: a multishot receive into the
 *            loop's ring of provided buffers completes with result > 0,
 *            the bytes the backend holds in ring buffers, which the
 *            engine copies into the user's buffer with recv_copy (that
 *            hands the ring buffer back), until it says AX_EAGAIN; an
 *            idle connection still holds no buffer.
 *   SEND     one at a time per socket. send() takes what the kernel takes
 *            at once and returns that count (or an error: the operation is
 *            then over). If the count is less than offered, the operation
 *            stays in flight and completes later: result n >= 0 more bytes
 *            taken (IOCP and io_uring: the rest of the vector; readiness:
 *            0, "writable now, send again") or an error. The vector is read
 *            during the call only (IOCP's WSASend captures it; io_uring
 *            will copy it into a send slot of its own), the bytes stay
 *            valid until completion. send_copy() (io_uring only) starts
 *            the same operation from a copy of the bytes the backend owns,
 *            for ax_try_write(), so that a small write rides in the next
 *            wait's system call instead of making one of its own.
 *   CONNECT  connect() returns 0 (connected at once), AX__OP_PENDING (a
 *            CONNECT completion follows with 0 or an error), or an error.
 *   ACCEPT   multishot, accept_start until accept_stop. Completes once per
 *            connection, result the new socket (ax_os_sock_t, made
 *            non-blocking, close-on-exec, and ready for the stream), or an
 *            error that stops accepting for now (out of descriptors or
 *            memory: AX_EMFILE, AX_ENFILE, AX_ENOMEM, AX_ENOBUFS); errors
 *            that concern one connection only are skipped. A burst is
 *            bounded per wakeup. After a completion the backend checks
 *            that accepting is still on before it delivers another.
 *   CLOSE    sock_close() cancels every operation of the socket and closes
 *            it. Returns 0 when nothing more will be delivered (readiness),
 *            or AX__OP_PENDING: operations the kernel still owns end
 *            first, delivering nothing (the engine completes a closed
 *            stream's requests itself; an accepted socket is closed), then
 *            a CLOSE completion says the socket's memory is free (IOCP:
 *            every packet dequeued). io_uring returns 0: its completions
 *            name the owner's generation, not the socket's memory, and
 *            those that come after the close are dropped.
 *   POLL     a descriptor's readiness, for ax_poll_t and the wakeup
 *            channel (POSIX): io_start / io_stop below; result the
 *            AX__IO_* bits that are ready.
 *
 * Completions never run inside the call that submits an operation: a
 * backend that finishes one at once either returns the result (send,
 * connect) or defers the callback to the pending phase. Every callback may
 * close the socket's handle; the backend touches nothing of the socket
 * after a callback but what the contract above says it checks.
 *
 * io_uring (src/unix/io_uring.c, io_uring-sock.c) maps the operations one
 * to one: RECV to a multishot IORING_OP_RECV with a buffer ring, SEND to
 * IORING_OP_SENDMSG, CONNECT to IORING_OP_CONNECT, ACCEPT to a multishot
 * IORING_OP_ACCEPT, CLOSE to IORING_OP_ASYNC_CANCEL of the socket's
 * operations then close(2), POLL to IORING_OP_POLL_ADD; submissions queue
 * SQEs that the next wait submits in the same io_uring_enter, so an
 * iteration makes one system call.
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

/* The operations of the contract (see the top of this file): what a
 * completion callback's op argument says completed. */
enum {
  AX__OP_POLL = 1,    /* result: the AX__IO_* bits ready (POSIX). */
  AX__OP_RECV = 2,    /* result: 0, read now; > 0, held; or an error. */
  AX__OP_SEND = 3,    /* result: more bytes taken (0: writable); or error. */
  AX__OP_CONNECT = 4, /* result: 0 or an error. */
  AX__OP_ACCEPT = 5,  /* result: the new socket, or an error. */
  AX__OP_CLOSE = 6,   /* result: 0; the socket's memory is free. */
};

/* What send(), connect() and sock_close() return for "in flight: a
 * completion follows". No error code has this value. */
#define AX__OP_PENDING INTPTR_MAX

/*
 * The socket operations of a backend (see the top of this file for each
 * one's completion). The socket's callback, set by ax__sock_init(),
 * receives the completions. The readiness backends share one table,
 * ax__readiness_sock_ops (src/unix/readiness.c).
 */
struct ax__sock_ops {
  /* Start receiving: RECV completions until recv_stop. 0 or an error. */
  int (*recv_start)(ax_loop_t *loop, ax__sock_t *sock);
  /* Stop receiving. No RECV completion follows, not even one collected. */
  void (*recv_stop)(ax_loop_t *loop, ax__sock_t *sock);
  /* Send what the kernel takes of bufs now: the count taken (in flight
   * until a SEND completion if less than offered), or an error. */
  intptr_t (*send)(ax_loop_t *loop, ax__sock_t *sock, const ax_buf_t *bufs,
                   unsigned int nbufs);
  /* For ax_try_write(): take a copy of bufs (total bytes, not 0) into
   * memory the backend owns, and send it as the socket's SEND, which
   * completes as any other (the count, or an error). Called only while
   * the socket has no send in flight, or while the one in flight is such
   * a copy, which the backend may add to if the kernel does not have it
   * yet. Returns total, or an error with nothing taken (too big, no room
   * left, out of memory). NULL where try_write calls the kernel itself:
   * a backend whose sends go out at once (readiness, IOCP). */
  intptr_t (*send_copy)(ax_loop_t *loop, ax__sock_t *sock, const ax_buf_t *bufs,
                        unsigned int nbufs, size_t total);
  /* Connect to addr (len bytes): 0, AX__OP_PENDING or an error. */
  intptr_t (*connect)(ax_loop_t *loop, ax__sock_t *sock,
                      const struct sockaddr *addr, int len);
  /* Start accepting on a listening socket: ACCEPT completions until
   * accept_stop. 0 or an error. */
  int (*accept_start)(ax_loop_t *loop, ax__sock_t *sock);
  /* Stop accepting. None is delivered until accept_start again: the
   * connections stay in the backlog (readiness) or in the backend's
   * posted accepts (IOCP). */
  void (*accept_stop)(ax_loop_t *loop, ax__sock_t *sock);
  /* Cancel everything and close the socket: 0 or AX__OP_PENDING. */
  intptr_t (*sock_close)(ax_loop_t *loop, ax__sock_t *sock);
  /* Copy into buf the bytes a RECV completion said the backend holds, or,
   * when it said "read now", read the socket: bytes, AX_EOF, an error, or
   * AX_EAGAIN with nothing left. NULL where the bytes always wait in the
   * socket: the engine then reads with ax__sock_read(). */
  intptr_t (*recv_copy)(ax_loop_t *loop, ax__sock_t *sock, const ax_buf_t *buf);
};

struct ax__backend {
  /* The name ax_backend_name() reports and AX_BACKEND selects. */
  const char *name;

  /* Chosen only by name, never as a default or a fallback (the
   * simulation backend, which is for tests). */
  bool named_only;

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

  /* The socket operations (below). */
  const struct ax__sock_ops *sock;

  /* The file system requests the backend runs itself (below), or NULL:
   * every one goes to the thread pool. */
  const struct ax__fs_ops *fs;

  /*
   * The loop's clock in nanoseconds, for a backend that keeps its own (the
   * simulation backend's virtual time), or NULL for the system's monotonic
   * clock (ax__hrtime_ns). Read wherever the loop takes the time, so that
   * timers and the poll timeout follow it.
   */
  uint64_t (*now_ns)(void);

  /*
   * The descriptor an outside loop may wait on for this loop
   * (ax_backend_fd()): readable while completions wait to be collected.
   * NULL where the backend has none (poll(2), the simulation, IOCP): the
   * loop then answers AX_ENOTSUP.
   */
  int (*embed_fd)(const ax_loop_t *loop);

  /*
   * Whether the backend holds operations it has not handed to the kernel
   * yet, or completions collected and not delivered: an outside loop
   * waiting on embed_fd would not be woken for those, so
   * ax_backend_timeout() answers 0 while this says true. NULL for a
   * backend that hands each operation over as it is made (epoll, kqueue).
   */
  bool (*embed_busy)(const ax_loop_t *loop);

  /*
   * In the child of a fork(2), for ax_loop_fork(): replace what the child
   * shares with the parent (the kernel object, the wakeup channels) with
   * its own, and register again with it every io started before. Must not
   * touch the parent's kernel object but to close the child's descriptor
   * of it: anything else would change the parent's loop too. Return 0, or
   * the first error of a descriptor the new object refused (the others
   * are registered). NULL where fork(2) does not exist or the backend
   * cannot be carried into a child: ax_loop_fork() answers AX_ENOSYS.
   */
  int (*fork)(ax_loop_t *loop);
};

/*
 * File system requests run by the backend instead of the pool (io_uring:
 * no thread hop). Optional, and per operation: what the backend does not
 * run, or refuses, goes to the pool as on any other backend.
 */
struct ax__fs_ops {
  /*
   * Take req, whose callback is set and whose paths are copied, if the
   * backend runs its operation: return 0, and later complete it once
   * through ax__fs_native_done() from dispatch(). Return AX_ENOSYS to leave
   * it to the pool, which then runs it; no other error.
   */
  int (*start)(ax_loop_t *loop, ax_fs_t *req);
  /*
   * Cancel a request start() took, if it has not reached the kernel yet:
   * return 0, and its completion reports AX_ECANCELED; or AX_EBUSY, and
   * it completes as it would have.
   */
  int (*cancel)(ax_loop_t *loop, ax_fs_t *req);
};

/* The lane of a request a backend took (ax__fs_ops), in req->priv.work. */
enum { AX__LANE_NATIVE = -1 };

/* Complete a request the backend ran, on the loop thread: result is its
 * answer (a count, a descriptor, 0, or an error; the stat family's
 * statbuf filled before), AX_ECANCELED if it was cancelled (src/fs.c). */
void ax__fs_native_done(ax_fs_t *req, int64_t result);

/* Hand a request the backend took, and has nothing of in the kernel any
 * more, to the pool after all: for an operation the kernel refused in a
 * way the pool's own code recovers from (sendfile's splice to a file
 * opened for appending). If the pool cannot take it, it completes with
 * that error (src/fs.c). */
void ax__fs_native_to_pool(ax_fs_t *req);

/* The loop's clock: the backend's own, or the system's. One load and one
 * branch that always goes the same way for a given loop. */
static inline uint64_t ax__loop_clock_ns(const ax_loop_t *loop) {
  uint64_t (*now_ns)(void) = loop->priv.platform.backend->now_ns;
  return now_ns == NULL ? ax__hrtime_ns() : now_ns();
}

static inline void ax__update_time(ax_loop_t *loop) {
  loop->priv.time_ns = ax__loop_clock_ns(loop);
}

/* The backends of this platform, most preferred first, NULL-terminated. */
extern const struct ax__backend *const ax__backends[];

/* The backend of a loop. */
static inline const struct ax__backend *ax__backend(const ax_loop_t *loop) {
  return loop->priv.platform.backend;
}

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

/* The backend-independent half of a backend's fork (POSIX only,
 * src/unix/core.c): after the backend made its kernel object anew, give
 * the child its own wakeup channel, signal channel and file watches
 * (Linux's inotify instance). 0 or an error. */
int ax__unix_loop_fork(ax_loop_t *loop);

#endif /* AX_BACKEND_H */
