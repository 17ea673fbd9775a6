/*
 * win/iocp.c: the IOCP backend (Windows), the only one there.
 *
 * One I/O completion port per loop. Whatever completes on the port, real
 * I/O or a packet another thread posted (the async wakeup, win/async.c),
 * comes back as its OVERLAPPED pointer and the completion key of the
 * handle it was made on. A socket's key is its ax__sock_t, and its packets
 * go to the socket operations (win/iocp-sock.c); every other packet has
 * the key 0 and belongs to an ax__io_t (axle/win.h), an OVERLAPPED and a
 * callback, which dispatch finds around the OVERLAPPED.
 * One GetQueuedCompletionStatusEx per iteration collects at most
 * AX__MAX_EVENTS_PER_WAIT packets; the rest stay queued in the port for the
 * next iteration, in order.
 *
 * A completion is never skipped: an operation in flight belongs to the
 * kernel until its packet is dequeued, and cancelling one (CancelIoEx) makes
 * it complete with ERROR_OPERATION_ABORTED rather than vanish. So there is
 * nothing like epoll's "stopped while in the batch" to handle here.
 *
 * Descriptor polling, the contract's io_start/io_stop, is POSIX-shaped and
 * has no Windows counterpart: streams run on the socket operations, and
 * poll handles poll sockets through the AFD driver (win/poll-watch.c).
 */
#include "internal.h"

_Static_assert(sizeof(union ax__overlapped) == sizeof(OVERLAPPED),
               "axle/win.h: ax__overlapped must be as large as OVERLAPPED");
_Static_assert(_Alignof(union ax__overlapped) == _Alignof(OVERLAPPED),
               "axle/win.h: ax__overlapped must be aligned as OVERLAPPED");

enum { NS_PER_MS = 1000000 };

struct iocp_state {
  ULONG batch_len;  /* Packets the last wait collected. */
  ULONG batch_next; /* Index of the next one to dispatch. */
  OVERLAPPED_ENTRY batch[AX__MAX_EVENTS_PER_WAIT]; /* The last wait's. */
};

static struct iocp_state *iocp_state(const ax_loop_t *loop) {
  return loop->priv.platform.backend_data;
}

/* The batch lives in the state, allocated once, so that a wait allocates
 * nothing. The port is the platform's too (the wakeup posts to it), so it
 * is kept in the loop's platform region rather than in the state. */
static int iocp_init(ax_loop_t *loop) {
  struct iocp_state *st = ax__malloc(sizeof(*st));
  if (st == NULL)
    return AX_ENOMEM;
  /* One concurrent thread: only the loop's thread ever dequeues. */
  HANDLE port = ax__win_sys.create_io_completion_port(INVALID_HANDLE_VALUE,
                                                      NULL, 0, 1);
  if (port == NULL) {
    int err = ax_translate_sys_error((int)GetLastError());
    ax__free(st);
    return err;
  }
  st->batch_len = 0;
  st->batch_next = 0;
  loop->priv.platform.backend_data = st;
  loop->priv.platform.iocp = port;
  return 0;
}

/* Closing the port discards packets still queued in it, such as a wakeup
 * posted after the last iteration: they point into the loop, which is
 * about to be zeroed, and must never be dequeued. */
static void iocp_fini(ax_loop_t *loop) {
  ax__win_sys.close_handle(loop->priv.platform.iocp);
  ax__free(iocp_state(loop));
  loop->priv.platform.iocp = NULL;
  loop->priv.platform.backend_data = NULL;
}

/* Windows has no descriptor polling yet (see the top of this file). */
static int iocp_io_start(ax_loop_t *loop, ax__io_t *io, unsigned int events) {
  (void)loop;
  (void)io;
  (void)events;
  return AX_ENOSYS;
}

/* Nothing was started, so nothing is stopped. */
static void iocp_io_stop(ax_loop_t *loop, ax__io_t *io) {
  (void)loop;
  (void)io;
}

/* One GetQueuedCompletionStatusEx: the packets collected, 0 when it timed
 * out, or the translated error of a broken port. */
static int iocp_wait_once(struct iocp_state *st, HANDLE port, DWORD wait_ms) {
  ULONG removed = 0;
  if (ax__win_sys.get_queued_completion_status_ex(
          port, st->batch, AX__MAX_EVENTS_PER_WAIT, &removed, wait_ms, FALSE))
    return (int)removed;
  DWORD err = GetLastError();
  return err == WAIT_TIMEOUT ? 0 : ax_translate_sys_error((int)err);
}

/* Whole milliseconds from now to deadline_ns, rounded up so that a wait of
 * that length does not end before it; 0 once the deadline has passed. */
static DWORD iocp_ms_until(uint64_t deadline_ns) {
  uint64_t now_ns = ax__hrtime_ns();
  if (now_ns >= deadline_ns)
    return 0;
  uint64_t left_ns = deadline_ns - now_ns;
  return (DWORD)(left_ns / NS_PER_MS + (left_ns % NS_PER_MS != 0));
}

/*
 * Wait for packets. Windows measures a wait's timeout in ticks of the
 * system timer (15.6 ms unless some process raised its resolution), and a
 * wait can time out a little before the time asked: the loop would then wake
 * before its next timer is due, and AX_RUN_ONCE would return without
 * running it. So a timeout is checked against the performance counter, and
 * the wait resumes for what is left. Each round waits at least 1 ms and the
 * rounds end at the deadline, so this cannot spin. The system timer's
 * resolution is left alone (no timeBeginPeriod): waking late by up to a
 * tick is allowed, and raising it costs power for the whole machine on
 * older Windows; an application that wants finer timers can raise it.
 */
static int iocp_wait(ax_loop_t *loop, int timeout_ms) {
  struct iocp_state *st = iocp_state(loop);
  HANDLE port = loop->priv.platform.iocp;
  uint64_t deadline_ns = 0;
  DWORD wait_ms = timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms;
  if (timeout_ms > 0)
    deadline_ns = ax__hrtime_ns() + (uint64_t)timeout_ms * NS_PER_MS;
  int n;
  for (;;) {
    n = iocp_wait_once(st, port, wait_ms);
    if (n != 0 || timeout_ms == 0)
      break;
    if (timeout_ms > 0) {
      wait_ms = iocp_ms_until(deadline_ns);
      if (wait_ms == 0)
        break;
    }
    /* timeout_ms < 0: an empty return from an endless wait; wait again. */
  }
  st->batch_len = n > 0 ? (ULONG)n : 0;
  st->batch_next = 0;
  return n;
}

/* Deliver the collected packets in the order the port queued them. */
static int iocp_dispatch(ax_loop_t *loop) {
  struct iocp_state *st = iocp_state(loop);
  int delivered = 0;
  while (st->batch_next < st->batch_len) {
    OVERLAPPED_ENTRY *entry = &st->batch[st->batch_next++];
    if (entry->lpOverlapped == NULL)
      continue; /* Not a packet of axle's: every one it posts has one. */
    if (entry->lpCompletionKey != 0) {
      ax__iocp_sock_packet(loop, (ax__sock_t *)entry->lpCompletionKey,
                           entry->lpOverlapped,
                           entry->dwNumberOfBytesTransferred);
    } else {
      ax__io_t *io = ax__io_of(entry->lpOverlapped);
      io->cb(loop, io, entry->dwNumberOfBytesTransferred);
    }
    delivered++;
  }
  st->batch_len = 0;
  st->batch_next = 0;
  return delivered;
}

const struct ax__backend ax__backend_iocp = {
    .name = "iocp",
    .init = iocp_init,
    .fini = iocp_fini,
    .io_start = iocp_io_start,
    .io_stop = iocp_io_stop,
    .wait = iocp_wait,
    .dispatch = iocp_dispatch,
    .sock = &ax__iocp_sock_ops,
};
