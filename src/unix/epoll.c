/*
 * unix/epoll.c: the epoll backend (Linux), the default there.
 *
 * Level-triggered, one epoll_ctl per change of an fd's interest set, one
 * epoll_wait per iteration returning at most AX__MAX_EVENTS_PER_WAIT events.
 * Each event carries its ax__io_t pointer; when a callback stops an io whose
 * event is still waiting in the current batch, io_stop clears that entry so
 * the stopped (perhaps freed) io is never called.
 *
 * A table indexed by descriptor holds each started io, for one reason: the
 * child of a fork(2) shares the parent's epoll instance, so ax_loop_fork()
 * makes a new one and registers every io again, and only this table knows
 * them all. It costs a store beside each epoll_ctl that adds or deletes,
 * and 8 bytes per descriptor number; kept here rather than as a list
 * through the io because every stream pays for its io.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "internal.h"
#include "linux.h"

struct epoll_state {
  int epfd;          /* The epoll instance. */
  int batch_len;     /* Events of the batch being dispatched. */
  int batch_next;    /* Index of the next one to dispatch. */
  ax__io_t ***pages; /* By descriptor, in pages of EPOLL_PAGE: the io
                        started on it, or NULL; a page NULL until used. */
  int npages;        /* Entries in pages. */
  pid_t pid;         /* The process epfd was made in (epoll_fork). */
  struct epoll_event batch[AX__MAX_EVENTS_PER_WAIT]; /* The last wait's. */
};

static struct epoll_state *epoll_state(const ax_loop_t *loop) {
  return loop->priv.platform.backend_data;
}

static int epoll_init(ax_loop_t *loop) {
  struct epoll_state *st = ax__malloc(sizeof(*st));
  if (st == NULL)
    return AX_ENOMEM;
  st->epfd = ax__linux_sys.epoll_create1(EPOLL_CLOEXEC);
  if (st->epfd < 0) {
    int err = ax_translate_sys_error(errno);
    ax__free(st);
    return err;
  }
  st->batch_len = 0;
  st->batch_next = 0;
  st->pages = NULL;
  st->npages = 0;
  st->pid = getpid();
  loop->priv.platform.backend_data = st;
  return 0;
}

static void epoll_fini(ax_loop_t *loop) {
  struct epoll_state *st = epoll_state(loop);
  ax__close_fd(st->epfd);
  for (int i = 0; i < st->npages; i++)
    ax__free(st->pages[i]);
  ax__free(st->pages);
  ax__free(st);
  loop->priv.platform.backend_data = NULL;
}

/* The table is paged so that it grows without copying: a server holding
 * N connections pays 8 bytes for each, in pages it touches once (a table
 * reallocated as it grew left each old copy's pages behind in the heap). */
enum { EPOLL_PAGE = 1024 };

/* The slot of descriptor fd, its page made if make is true (NULL if the
 * page is missing, or cannot be made). */
static ax__io_t **epoll_slot(struct epoll_state *st, int fd, bool make) {
  int page = fd / EPOLL_PAGE;
  if (page >= st->npages) {
    if (!make)
      return NULL;
    int n = st->npages == 0 ? 8 : st->npages;
    while (n <= page)
      n = n > INT_MAX / 2 ? INT_MAX : n * 2;
    ax__io_t ***pages = ax__realloc(st->pages, (size_t)n * sizeof(*pages));
    if (pages == NULL)
      return NULL;
    for (int i = st->npages; i < n; i++)
      pages[i] = NULL;
    st->pages = pages;
    st->npages = n;
  }
  if (st->pages[page] == NULL) {
    if (!make)
      return NULL;
    st->pages[page] = ax__calloc(EPOLL_PAGE, sizeof(ax__io_t *));
    if (st->pages[page] == NULL)
      return NULL;
  }
  return &st->pages[page][fd % EPOLL_PAGE];
}

static int epoll_io_start(ax_loop_t *loop, ax__io_t *io, unsigned int events) {
  struct epoll_event ev = {0};
  ev.events = (events & AX__IO_READ ? EPOLLIN | EPOLLRDHUP : 0u) |
              (events & AX__IO_WRITE ? EPOLLOUT : 0u) |
              (events & AX__IO_DISCONNECT ? EPOLLRDHUP : 0u) |
              (events & AX__IO_PRIORITY ? EPOLLPRI : 0u);
  ev.data.ptr = io;
  struct epoll_state *st = epoll_state(loop);
  ax__io_t **slot = epoll_slot(st, io->fd, true);
  if (slot == NULL)
    return AX_ENOMEM;
  int op = io->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (ax__linux_sys.epoll_ctl(st->epfd, op, io->fd, &ev) != 0)
    return ax_translate_sys_error(errno);
  *slot = io;
  io->events = events;
  return 0;
}

static void epoll_io_stop(ax_loop_t *loop, ax__io_t *io) {
  struct epoll_state *st = epoll_state(loop);
  /* Fails if the fd was closed first. Closing removes a registration only
   * when no other descriptor (dup, fork) shares the open file, so users of
   * the contract stop an io before closing its fd (backend.h). */
  ax__linux_sys.epoll_ctl(st->epfd, EPOLL_CTL_DEL, io->fd, NULL);
  ax__io_t **slot = epoll_slot(st, io->fd, false);
  if (slot != NULL && *slot == io)
    *slot = NULL;
  io->events = 0;
  for (int i = st->batch_next; i < st->batch_len; i++) {
    if (st->batch[i].data.ptr == io)
      st->batch[i].data.ptr = NULL;
  }
}

static unsigned int epoll_translate(uint32_t kernel_events,
                                    unsigned int interest) {
  unsigned int events = 0;
  if (kernel_events & EPOLLIN)
    events |= AX__IO_READ;
  if (kernel_events & EPOLLPRI)
    events |= AX__IO_PRIORITY;
  if (kernel_events & EPOLLOUT)
    events |= AX__IO_WRITE;
  if (kernel_events & EPOLLRDHUP)
    events |= AX__IO_DISCONNECT | AX__IO_READ;
  if (kernel_events & (EPOLLERR | EPOLLHUP)) {
    /* Let whichever operation is waiting discover the error itself, the way
     * a read or write on the descriptor would report it. */
    events |= AX__IO_ERROR | AX__IO_READ | AX__IO_WRITE;
  }
  return events & (interest | AX__IO_DISCONNECT | AX__IO_ERROR);
}

static int epoll_wait_once(void *ctx, int timeout_ms) {
  struct epoll_state *st = ctx;
  return ax__linux_sys.epoll_wait(st->epfd, st->batch, AX__MAX_EVENTS_PER_WAIT,
                                  timeout_ms);
}

static int epoll_wait_collect(ax_loop_t *loop, int timeout_ms) {
  struct epoll_state *st = epoll_state(loop);
  int n = ax__wait_retry(epoll_wait_once, st, timeout_ms);
  st->batch_len = n > 0 ? n : 0;
  st->batch_next = 0;
  return n;
}

static int epoll_dispatch(ax_loop_t *loop) {
  struct epoll_state *st = epoll_state(loop);
  int delivered = 0;
  while (st->batch_next < st->batch_len) {
    struct epoll_event *ev = &st->batch[st->batch_next++];
    ax__io_t *io = ev->data.ptr;
    if (io == NULL)
      continue; /* Stopped by an earlier callback of this batch. */
    unsigned int events = epoll_translate(ev->events, io->events);
    if (events == 0)
      continue;
    ax__io_ready(loop, io, events);
    delivered++;
  }
  st->batch_len = 0;
  st->batch_next = 0;
  return delivered;
}

/* An epoll descriptor is itself readable while any of its descriptors is
 * ready: what lets another loop wait on this one. */
static int epoll_embed_fd(const ax_loop_t *loop) {
  return epoll_state(loop)->epfd;
}

/* In a child of fork(2): a new epoll instance, and every io of the table
 * registered with it as it was. The parent's instance is left alone: the
 * child only closes its own descriptor of it (an EPOLL_CTL_DEL there would
 * stop the parent's descriptors too, as they are the same open files). */
static int epoll_fork(ax_loop_t *loop) {
  struct epoll_state *st = epoll_state(loop);
  /* Not a child since the instance was made: nothing is shared. */
  if (st->pid == getpid())
    return 0;
  int epfd = ax__linux_sys.epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0)
    return ax_translate_sys_error(errno);
  ax__close_fd(st->epfd);
  st->epfd = epfd;
  st->batch_len = 0;
  st->batch_next = 0;
  int first_error = 0;
  for (int fd = 0; fd / EPOLL_PAGE < st->npages; fd++) {
    ax__io_t **slot = epoll_slot(st, fd, false);
    ax__io_t *io = slot != NULL ? *slot : NULL;
    if (io == NULL)
      continue;
    unsigned int events = io->events;
    io->events = 0;
    int err = epoll_io_start(loop, io, events);
    if (err != 0) {
      /* Left as registered, so that its owner's stop stays balanced; it
       * is never reported ready. */
      io->events = (unsigned short)events;
      if (first_error == 0)
        first_error = err;
    }
  }
  int err = ax__unix_loop_fork(loop);
  /* Done with, unless a channel could not be replaced: then a second
   * call does it all again. */
  if (err == 0)
    st->pid = getpid();
  return first_error != 0 ? first_error : err;
}

const struct ax__backend ax__backend_epoll = {
    .name = "epoll",
    .io_extra = AX__IO_DISCONNECT | AX__IO_PRIORITY,
    .init = epoll_init,
    .fini = epoll_fini,
    .io_start = epoll_io_start,
    .io_stop = epoll_io_stop,
    .wait = epoll_wait_collect,
    .dispatch = epoll_dispatch,
    .sock = &ax__readiness_sock_ops,
    .embed_fd = epoll_embed_fd,
    .fork = epoll_fork,
};
