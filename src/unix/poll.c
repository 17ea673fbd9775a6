/*
 * unix/poll.c: the poll(2) backend, for any POSIX system and as the fallback
 * when epoll or kqueue cannot start.
 *
 * The backend keeps a dense pollfd array and, beside it, the io of each
 * slot. A third array, indexed by descriptor, holds each started
 * descriptor's slot, so starting, changing and stopping are O(1) without a
 * field in the io: every stream pays for an io, and only this backend needs
 * a slot (4 bytes per descriptor number here, against 8 in each ax_tcp_t).
 * Stopping swaps the last slot into the hole, except while a batch is being
 * dispatched: then the slot is only marked empty (fd -1, which poll(2)
 * ignores) and the array is compacted after the batch, so the dispatch loop
 * never skips or repeats a slot.
 */
#include <limits.h>
#include <poll.h>
#include <unistd.h>

#include "internal.h"

struct poll_state {
  struct pollfd *fds; /* What poll(2) is given. */
  ax__io_t **ios;     /* The io of each slot, NULL for an emptied one. */
  int *slots;         /* By descriptor: the slot of a started io. */
  int len;            /* Slots in use (emptied ones included). */
  int cap;            /* Slots allocated. */
  int slots_len;      /* Descriptors slots covers: 0..slots_len-1. */
  int polled;         /* Slots the last wait polled. */
  int resume;         /* Slot the next dispatch starts at. */
  int dispatching;    /* Inside the dispatch loop. */
  int emptied;        /* Slots emptied while dispatching. */
  pid_t pid;          /* The process the loop runs in (poll_fork). */
};

enum { POLL_INITIAL_SLOTS = 64 };

static struct poll_state *poll_state(const ax_loop_t *loop) {
  return loop->priv.platform.backend_data;
}

static int poll_init(ax_loop_t *loop) {
  struct poll_state *st = ax__calloc(1, sizeof(*st));
  if (st == NULL)
    return AX_ENOMEM;
  st->pid = getpid();
  loop->priv.platform.backend_data = st;
  return 0;
}

static void poll_fini(ax_loop_t *loop) {
  struct poll_state *st = poll_state(loop);
  ax__free(st->fds);
  ax__free(st->ios);
  ax__free(st->slots);
  ax__free(st);
  loop->priv.platform.backend_data = NULL;
}

static int poll_grow(struct poll_state *st) {
  int cap = st->cap == 0 ? POLL_INITIAL_SLOTS : st->cap * 2;
  struct pollfd *fds = ax__realloc(st->fds, (size_t)cap * sizeof(*fds));
  if (fds == NULL)
    return AX_ENOMEM;
  st->fds = fds;
  /* An array of pointers: the element size is a pointer's. */
  ax__io_t **ios = ax__realloc(st->ios, (size_t)cap * sizeof(ax__io_t *));
  if (ios == NULL)
    return AX_ENOMEM; /* fds grew, which is harmless. */
  st->ios = ios;
  st->cap = cap;
  return 0;
}

/* Make slots cover descriptor fd. Entries of descriptors not started are
 * never read, so the new part is left as it is. */
static int poll_cover_fd(struct poll_state *st, int fd) {
  if (fd < st->slots_len)
    return 0;
  int len = st->slots_len == 0 ? POLL_INITIAL_SLOTS : st->slots_len;
  while (len <= fd)
    len = len > INT_MAX / 2 ? INT_MAX : len * 2;
  int *slots = ax__realloc(st->slots, (size_t)len * sizeof(*slots));
  if (slots == NULL)
    return AX_ENOMEM;
  st->slots = slots;
  st->slots_len = len;
  return 0;
}

static short poll_kernel_events(unsigned int events) {
  return (short)((events & AX__IO_READ ? POLLIN : 0) |
                 (events & AX__IO_WRITE ? POLLOUT : 0));
}

static int poll_io_start(ax_loop_t *loop, ax__io_t *io, unsigned int events) {
  struct poll_state *st = poll_state(loop);
  if (io->events == 0) {
    int err = poll_cover_fd(st, io->fd);
    if (err == 0 && st->len == st->cap)
      err = poll_grow(st);
    if (err != 0)
      return err;
    int i = st->len++;
    st->slots[io->fd] = i;
    st->ios[i] = io;
    st->fds[i].fd = io->fd;
    st->fds[i].revents = 0;
  }
  int i = st->slots[io->fd];
  assert(st->ios[i] == io && "axle: two operations on one descriptor");
  st->fds[i].events = poll_kernel_events(events);
  io->events = events;
  return 0;
}

/* Move the last slot into slot i. */
static void poll_fill_hole(struct poll_state *st, int i) {
  int last = --st->len;
  if (i == last)
    return;
  st->fds[i] = st->fds[last];
  st->ios[i] = st->ios[last];
  st->slots[st->fds[i].fd] = i;
}

static void poll_io_stop(ax_loop_t *loop, ax__io_t *io) {
  struct poll_state *st = poll_state(loop);
  int i = st->slots[io->fd];
  assert(i < st->len && st->ios[i] == io &&
         "axle: io stopped on a descriptor it was not started on");
  io->events = 0;
  if (st->dispatching) {
    st->fds[i].fd = -1;
    st->fds[i].revents = 0;
    st->ios[i] = NULL;
    st->emptied++;
    return;
  }
  poll_fill_hole(st, i);
}

/* After a batch: drop the slots emptied during it, from the end down so
 * every slot moved into a hole is a live one. */
static void poll_compact(struct poll_state *st) {
  for (int i = st->len - 1; i >= 0 && st->emptied > 0; i--) {
    if (st->ios[i] != NULL)
      continue;
    st->emptied--;
    poll_fill_hole(st, i);
  }
}

/* poll(2)'s answer in the backend's bits: an error or hang-up wakes
 * whichever operation waits. The sim backend reads poll(2) too. */
unsigned int ax__poll_translate(short revents, unsigned int interest) {
  unsigned int events = 0;
  if (revents & (POLLIN | POLLPRI))
    events |= AX__IO_READ;
  if (revents & POLLOUT)
    events |= AX__IO_WRITE;
  if (revents & (POLLERR | POLLHUP | POLLNVAL))
    events |= AX__IO_ERROR | AX__IO_READ | AX__IO_WRITE;
  return events & (interest | AX__IO_ERROR);
}

static int poll_wait_once(void *ctx, int timeout_ms) {
  struct poll_state *st = ctx;
  return ax__sys.poll(st->fds, (nfds_t)st->len, timeout_ms);
}

static int poll_wait_collect(ax_loop_t *loop, int timeout_ms) {
  struct poll_state *st = poll_state(loop);
  int ready = ax__wait_retry(poll_wait_once, st, timeout_ms);
  st->polled = ready > 0 ? st->len : 0;
  return ready;
}

/* Deliver at most AX__MAX_EVENTS_PER_WAIT completions, starting where the
 * previous batch stopped: when more descriptors are ready than one batch
 * takes, the ones at the front of the array must not be served every time
 * while those at the back starve. */
static int poll_dispatch(ax_loop_t *loop) {
  struct poll_state *st = poll_state(loop);
  int delivered = 0;
  int polled = st->polled; /* Slots added by callbacks were not polled. */
  int first = st->resume < polled ? st->resume : 0;
  st->dispatching = 1;
  for (int k = 0; k < polled && delivered < AX__MAX_EVENTS_PER_WAIT; k++) {
    int i = (first + k) % polled;
    ax__io_t *io = st->ios[i];
    short revents = st->fds[i].revents;
    if (io == NULL || revents == 0)
      continue;
    st->fds[i].revents = 0;
    unsigned int events = ax__poll_translate(revents, io->events);
    if (events == 0)
      continue;
    st->resume = i + 1;
    ax__io_ready(loop, io, events);
    delivered++;
  }
  st->dispatching = 0;
  st->polled = 0;
  poll_compact(st);
  return delivered;
}

/* poll(2) keeps no kernel object: its array serves the child as it is,
 * and only the wakeup channels are the parent's. */
static int poll_fork(ax_loop_t *loop) {
  struct poll_state *st = poll_state(loop);
  if (st->pid == getpid())
    return 0; /* Not a child since: nothing is shared. */
  int err = ax__unix_loop_fork(loop);
  if (err == 0)
    st->pid = getpid(); /* Else a second call tries again. */
  return err;
}

const struct ax__backend ax__backend_poll = {
    .name = "poll",
    .init = poll_init,
    .fini = poll_fini,
    .io_start = poll_io_start,
    .io_stop = poll_io_stop,
    .wait = poll_wait_collect,
    .dispatch = poll_dispatch,
    .sock = &ax__readiness_sock_ops,
    .fork = poll_fork,
};
