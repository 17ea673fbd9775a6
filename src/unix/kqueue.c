/*
 * unix/kqueue.c: the kqueue backend (macOS and the BSDs), the default there.
 *
 * An io owns up to two kernel filters on its descriptor, EVFILT_READ and
 * EVFILT_WRITE, both level-triggered and both carrying the io's pointer. A
 * change of interest is one kevent() call that adds or deletes the filters
 * that changed; one kevent() per iteration collects at most
 * AX__MAX_EVENTS_PER_WAIT events.
 *
 * kqueue reports the two filters of a descriptor as two events. The wait
 * merges them into one batch entry per io, so that an io gets one call with
 * its whole mask, as under epoll, and the core's view of an iteration is the
 * same on every backend. A table indexed by descriptor holds each
 * descriptor's entry in the current batch: merging finds it in O(1), and
 * io_stop clears it in O(1) so that a stopped (perhaps freed) io is never
 * called. The table lives here rather than as a field of every io because
 * every stream pays for its io, and only this backend and poll(2) need it.
 *
 * A second table, by descriptor too, holds each started io: a child of
 * fork(2) does not inherit a kqueue at all, so ax_loop_fork() makes a new
 * one and adds every io's filters again from it.
 */
#include <errno.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include "bsd.h"
#include "internal.h"

enum { KQUEUE_INITIAL_SLOTS = 64 };

/* One io's share of the last wait. */
struct kqueue_ready {
  ax__io_t *io;        /* NULL once stopped by an earlier callback. */
  unsigned int events; /* AX__IO_* bits of its kernel events, merged. */
};

struct kqueue_state {
  int kqfd;       /* The kqueue. */
  int batch_len;  /* Entries of the batch being dispatched. */
  int batch_next; /* Index of the next one to dispatch. */
  int *slots;     /* By descriptor: its entry in the batch, if it has one. */
  int slots_len;  /* Descriptors slots and ios cover: 0..slots_len-1. */
  ax__io_t **ios; /* By descriptor: the io started on it, or NULL. */
  pid_t pid;      /* The process kqfd was made in (kqueue_fork). */
  struct kevent events[AX__MAX_EVENTS_PER_WAIT];      /* The last wait's. */
  struct kqueue_ready batch[AX__MAX_EVENTS_PER_WAIT]; /* Merged per io. */
};

static struct kqueue_state *kqueue_state(const ax_loop_t *loop) {
  return loop->priv.platform.backend_data;
}

static int kqueue_init(ax_loop_t *loop) {
  struct kqueue_state *st = ax__malloc(sizeof(*st));
  if (st == NULL)
    return AX_ENOMEM;
  int err;
  st->kqfd = ax__bsd_sys.kqueue();
  if (st->kqfd < 0) {
    err = ax_translate_sys_error(errno);
    goto out_free_state;
  }
  /* kqueue() takes no flags on macOS. A child does not inherit a kqueue
   * across fork(), but a program that execs keeps it unless told. */
  err = ax__fd_set_cloexec(st->kqfd);
  if (err != 0)
    goto out_close_kqueue;
  st->batch_len = 0;
  st->batch_next = 0;
  st->slots = NULL;
  st->slots_len = 0;
  st->ios = NULL;
  st->pid = getpid();
  loop->priv.platform.backend_data = st;
  return 0;

out_close_kqueue:
  ax__close_fd(st->kqfd);
out_free_state:
  ax__free(st);
  return err;
}

static void kqueue_fini(ax_loop_t *loop) {
  struct kqueue_state *st = kqueue_state(loop);
  ax__close_fd(st->kqfd);
  ax__free(st->slots);
  ax__free(st->ios);
  ax__free(st);
  loop->priv.platform.backend_data = NULL;
}

/* Make slots cover descriptor fd. New entries are -1: no entry, so a
 * merge never trusts memory it did not write. */
static int kqueue_cover_fd(struct kqueue_state *st, int fd) {
  if (fd < st->slots_len)
    return 0;
  int len = st->slots_len == 0 ? KQUEUE_INITIAL_SLOTS : st->slots_len;
  while (len <= fd)
    len = len > INT_MAX / 2 ? INT_MAX : len * 2;
  int *slots = ax__realloc(st->slots, (size_t)len * sizeof(*slots));
  if (slots == NULL)
    return AX_ENOMEM;
  st->slots = slots;
  /* An array of pointers: the element size is a pointer's. */
  ax__io_t **ios = ax__realloc(st->ios, (size_t)len * sizeof(ax__io_t *));
  if (ios == NULL)
    return AX_ENOMEM; /* slots grew, which is harmless. */
  st->ios = ios;
  for (int i = st->slots_len; i < len; i++) {
    slots[i] = -1;
    ios[i] = NULL;
  }
  st->slots_len = len;
  return 0;
}

/* The batch entry of io, or -1 if it has none in the batch left to
 * dispatch. */
static int kqueue_entry(const struct kqueue_state *st, const ax__io_t *io,
                        int from) {
  int slot = st->slots[io->fd];
  if (slot < from || slot >= st->batch_len || st->batch[slot].io != io)
    return -1;
  return slot;
}

/* Append to changes one entry per filter of bits, with flags (EV_ADD or
 * EV_DELETE). Returns the number of entries. The increments stay outside
 * EV_SET: older BSDs' macro evaluates its first argument more than once. */
static int kqueue_changes(struct kevent *changes, ax__io_t *io,
                          unsigned int bits, unsigned short flags) {
  int n = 0;
  if (bits & AX__IO_READ) {
    EV_SET(&changes[n], io->fd, EVFILT_READ, flags, 0, 0, io);
    n++;
  }
  if (bits & AX__IO_WRITE) {
    EV_SET(&changes[n], io->fd, EVFILT_WRITE, flags, 0, 0, io);
    n++;
  }
  return n;
}

/* Apply changes, with no room for events: the kernel then stops at the
 * first change that fails and returns its error, and the changes before it
 * stay applied. */
static int kqueue_apply(const struct kqueue_state *st,
                        const struct kevent *changes, int count) {
  if (count == 0)
    return 0;
  if (ax__bsd_sys.kevent(st->kqfd, changes, count, NULL, 0, NULL) != 0)
    return ax_translate_sys_error(errno);
  return 0;
}

static int kqueue_io_start(ax_loop_t *loop, ax__io_t *io, unsigned int events) {
  struct kqueue_state *st = kqueue_state(loop);
  struct kevent changes[2];
  int err = kqueue_cover_fd(st, io->fd);
  if (err != 0)
    return err;
  /* Additions first. If the call fails, only the first change can have been
   * applied; when it is an addition, deleting it again restores the old
   * state, and a deletion needs no memory that could be missing. */
  int n = kqueue_changes(changes, io, events & ~io->events, EV_ADD);
  n += kqueue_changes(changes + n, io, io->events & ~events, EV_DELETE);
  err = kqueue_apply(st, changes, n);
  if (err != 0) {
    if (n == 2 && (changes[0].flags & EV_ADD)) {
      changes[0].flags = EV_DELETE;
      /* Fails with ENOENT when it was the addition that failed. */
      (void)kqueue_apply(st, changes, 1);
    }
    return err;
  }
  io->events = events;
  st->ios[io->fd] = io;
  return 0;
}

static void kqueue_io_stop(ax_loop_t *loop, ax__io_t *io) {
  struct kqueue_state *st = kqueue_state(loop);
  struct kevent changes[2];
  int n = kqueue_changes(changes, io, io->events, EV_DELETE);
  /* Fails only if the descriptor was closed first, which deleted its
   * filters already. The kernel stops at the first change it refuses, so
   * the second deletion is tried on its own: no filter may outlive the io
   * whose pointer it carries. */
  if (kqueue_apply(st, changes, n) != 0 && n == 2)
    (void)kqueue_apply(st, &changes[1], 1);
  io->events = 0;
  if (st->ios[io->fd] == io)
    st->ios[io->fd] = NULL;
  int slot = kqueue_entry(st, io, st->batch_next);
  if (slot >= 0)
    st->batch[slot].io = NULL;
}

/* The result bits of one kernel event. */
static unsigned int kqueue_translate(const struct kevent *ev) {
  if (ev->flags & EV_ERROR) {
    /* The kernel could not keep the filter (data holds its errno). Let
     * whichever operation is waiting discover the error itself, as its own
     * system call would report it. */
    return AX__IO_ERROR | AX__IO_READ | AX__IO_WRITE;
  }
  if (ev->filter == EVFILT_WRITE) {
    /* EOF on the write filter: the reading side is gone (EPIPE). */
    return AX__IO_WRITE | (ev->flags & EV_EOF ? AX__IO_ERROR : 0u);
  }
  unsigned int events = AX__IO_READ;
  if (ev->flags & EV_EOF) {
    events |= AX__IO_DISCONNECT;
    /* A socket's pending error comes with EOF in fflags (ECONNRESET). */
    if (ev->fflags != 0)
      events |= AX__IO_ERROR | AX__IO_WRITE;
  }
  return events;
}

/* Add one kernel event to the batch: to its io's entry if the io has one
 * already (its other filter came first), else to a new entry. */
static void kqueue_merge(struct kqueue_state *st, const struct kevent *ev) {
  /* A cast, not an assignment: udata is an intptr_t on older NetBSD. */
  ax__io_t *io = (ax__io_t *)ev->udata;
  int slot = kqueue_entry(st, io, 0);
  if (slot < 0) {
    slot = st->batch_len++;
    st->batch[slot].io = io;
    st->batch[slot].events = 0;
    st->slots[io->fd] = slot;
  }
  st->batch[slot].events |= kqueue_translate(ev);
}

static int kqueue_wait_once(void *ctx, int timeout_ms) {
  struct kqueue_state *st = ctx;
  struct timespec timeout;
  timeout.tv_sec = timeout_ms / 1000;
  timeout.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
  return ax__bsd_sys.kevent(st->kqfd, NULL, 0, st->events,
                            AX__MAX_EVENTS_PER_WAIT,
                            timeout_ms < 0 ? NULL : &timeout);
}

static int kqueue_wait_collect(ax_loop_t *loop, int timeout_ms) {
  struct kqueue_state *st = kqueue_state(loop);
  int n = ax__wait_retry(kqueue_wait_once, st, timeout_ms);
  st->batch_len = 0;
  st->batch_next = 0;
  for (int i = 0; i < n; i++)
    kqueue_merge(st, &st->events[i]);
  return n < 0 ? n : st->batch_len;
}

static int kqueue_dispatch(ax_loop_t *loop) {
  struct kqueue_state *st = kqueue_state(loop);
  int delivered = 0;
  while (st->batch_next < st->batch_len) {
    struct kqueue_ready *ready = &st->batch[st->batch_next++];
    ax__io_t *io = ready->io;
    if (io == NULL)
      continue; /* Stopped by an earlier callback of this batch. */
    /* Limited to the interest now: an earlier callback may have narrowed
     * it since the wait. */
    unsigned int events = ready->events &
                          (io->events | AX__IO_DISCONNECT | AX__IO_ERROR);
    if (events == 0)
      continue;
    ax__io_ready(loop, io, events);
    delivered++;
  }
  st->batch_len = 0;
  st->batch_next = 0;
  return delivered;
}

/* A kqueue descriptor is readable while events are pending on it (the
 * kernel's and libkqueue's alike): what lets another loop wait on this
 * one. */
static int kqueue_embed_fd(const ax_loop_t *loop) {
  return kqueue_state(loop)->kqfd;
}

/* In a child of fork(2): a new kqueue, with every io's filters added again
 * from the table. The parent's kqueue was not inherited (the BSDs and
 * macOS close it in the child; libkqueue's is the parent's emulation), so
 * nothing of it is used: its descriptor number is only closed, unless the
 * new kqueue took that very number. */
static int kqueue_fork(ax_loop_t *loop) {
  struct kqueue_state *st = kqueue_state(loop);
  if (st->pid == getpid())
    return 0; /* Not a child since the kqueue was made. */
  int kqfd = ax__bsd_sys.kqueue();
  if (kqfd < 0)
    return ax_translate_sys_error(errno);
  int err = ax__fd_set_cloexec(kqfd);
  if (err != 0) {
    ax__close_fd(kqfd);
    return err;
  }
  if (st->kqfd != kqfd)
    ax__close_fd(st->kqfd);
  st->kqfd = kqfd;
  st->batch_len = 0;
  st->batch_next = 0;
  int first_error = 0;
  for (int fd = 0; fd < st->slots_len; fd++) {
    ax__io_t *io = st->ios[fd];
    if (io == NULL)
      continue;
    unsigned int events = io->events;
    io->events = 0;
    err = kqueue_io_start(loop, io, events);
    if (err != 0) {
      /* Left as registered, so that its owner's stop stays balanced. */
      io->events = (unsigned short)events;
      if (first_error == 0)
        first_error = err;
    }
  }
  err = ax__unix_loop_fork(loop);
  /* Done with, unless a channel could not be replaced: then a second
   * call does it all again. */
  if (err == 0)
    st->pid = getpid();
  return first_error != 0 ? first_error : err;
}

const struct ax__backend ax__backend_kqueue = {
    .name = "kqueue",
    .init = kqueue_init,
    .fini = kqueue_fini,
    .io_start = kqueue_io_start,
    .io_stop = kqueue_io_stop,
    .wait = kqueue_wait_collect,
    .dispatch = kqueue_dispatch,
    .sock = &ax__readiness_sock_ops,
    .embed_fd = kqueue_embed_fd,
    .fork = kqueue_fork,
};
