/*
 * unix/kqueue-vnode.c: file change watches on macOS and the BSDs, with
 * kqueue's EVFILT_VNODE.
 *
 * A loop has one kqueue of its own for its watches, opened with the first
 * and closed with the last, and read through the loop's descriptor poll
 * (a kqueue is readable while it holds events), so that the watches run
 * on whichever backend the loop has, kqueue or poll(2). Each started
 * handle opens its path (O_EVTONLY on macOS, which keeps a volume
 * unmountable; O_RDONLY elsewhere) and registers the descriptor's vnode
 * filter, edge-triggered (EV_CLEAR).
 *
 * What a vnode filter cannot say is which name in a directory changed:
 * a change in a watched directory is reported under the directory's own
 * name (docs/fs-events.md). Nor does it watch a tree: AX_FS_EVENT_RECURSIVE
 * is refused here, macOS included, where FSEvents could (not used: it
 * needs CoreServices and a thread of its own).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../fs-event.h"
#include "bsd.h"

const bool ax__fs_event_recursive = false;
const bool ax__fs_event_names_children = false;

/* kqueue-vnode-darwin.c, kqueue-vnode-bsd.c: how a watched path is opened. */
extern const int ax__kqueue_vnode_open_flags;

enum {
  /* What a watch asks for: writes, growth and attribute changes of a
   * file (names added or removed, for a directory), and the path's end. */
  VNODE_NOTES = NOTE_DELETE | NOTE_WRITE | NOTE_EXTEND | NOTE_ATTRIB |
                NOTE_RENAME | NOTE_REVOKE,
  /* Events read per kevent() call, and calls per wakeup: a bound, so that
   * busy files cannot hold the loop; the rest waits in the kqueue. */
  VNODE_EVENTS = 64,
  VNODE_READS = 4,
};

/* One handle's watch. */
struct vnode_watch {
  struct ax__queue node; /* In the state's list of dead watches. */
  ax_fs_event_t *handle; /* The owner; NULL once stopped. */
  int fd;                /* The watched path, open. */
  bool dir;              /* The path is a directory. */
};

/* The loop's kqueue of watches (loop->priv.platform.fs_events). */
struct vnode_state {
  ax__io_t io;           /* The kqueue, read when readable. */
  unsigned int watches;  /* Watches registered. */
  bool dispatching;      /* Events are being delivered: keep the state. */
  struct ax__queue dead; /* Stopped while dispatching: freed after. */
};

static void vnode_state_free(ax_loop_t *loop, struct vnode_state *state) {
  ax__io_stop(loop, &state->io, state->io.events);
  ax__close_fd(state->io.fd);
  ax__free(state);
  loop->priv.platform.fs_events = NULL;
}

/* The AX_FS_EVENT_* bits of a vnode event's notes. */
static int vnode_events(const struct vnode_watch *watch, unsigned int notes) {
  int events = 0;
  if (notes & (NOTE_DELETE | NOTE_RENAME | NOTE_REVOKE))
    events |= AX_FS_EVENT_RENAME;
  if (notes & NOTE_ATTRIB)
    events |= AX_FS_EVENT_CHANGE;
  /* A directory is written when a name in it comes or goes. */
  if (notes & (NOTE_WRITE | NOTE_EXTEND))
    events |= watch->dir ? AX_FS_EVENT_RENAME : AX_FS_EVENT_CHANGE;
  return events;
}

static void vnode_deliver(const struct kevent *event) {
  struct vnode_watch *watch = (struct vnode_watch *)event->udata;
  ax_fs_event_t *handle = watch->handle;
  if (handle == NULL)
    return; /* Stopped by an earlier callback of this batch. */
  int events = vnode_events(watch, (unsigned int)event->fflags);
  if (events != 0)
    ax__fs_event_report(handle, ax__fs_event_basename(handle->priv.path),
                        events, 0);
}

static void vnode_io_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                        intptr_t result) {
  (void)op;
  (void)result;
  struct vnode_state *state = ax_container_of(io, struct vnode_state, io);
  static const struct timespec zero;
  struct kevent events[VNODE_EVENTS];
  state->dispatching = true;
  for (int i = 0; i < VNODE_READS && state->watches > 0; i++) {
    int n = ax__bsd_sys.kevent(io->fd, NULL, 0, events, VNODE_EVENTS, &zero);
    for (int j = 0; j < n; j++)
      vnode_deliver(&events[j]);
    if (n < VNODE_EVENTS)
      break;
  }
  state->dispatching = false;
  while (!ax__queue_empty(&state->dead)) {
    struct ax__queue *node = ax__queue_head(&state->dead);
    ax__queue_remove(node);
    ax__free(ax_container_of(node, struct vnode_watch, node));
  }
  if (state->watches == 0)
    vnode_state_free(loop, state);
}

/* The loop's kqueue of watches, opened with its first watch. NULL with
 * *err set if the kernel or the allocator refused. */
static struct vnode_state *vnode_state_open(ax_loop_t *loop, int *err) {
  struct vnode_state *state = loop->priv.platform.fs_events;
  if (state != NULL)
    return state;
  state = ax__calloc(1, sizeof(*state));
  if (state == NULL) {
    *err = AX_ENOMEM;
    return NULL;
  }
  int kq = ax__bsd_sys.kqueue();
  if (kq < 0) {
    *err = ax_translate_sys_error(errno);
    ax__free(state);
    return NULL;
  }
  *err = ax__fd_set_cloexec(kq);
  ax__io_init(&state->io, vnode_io_cb, kq);
  ax__queue_init(&state->dead);
  if (*err == 0)
    *err = ax__io_start(loop, &state->io, AX__IO_READ);
  if (*err != 0) {
    ax__close_fd(kq);
    ax__free(state);
    return NULL;
  }
  loop->priv.platform.fs_events = state;
  return state;
}

/* Open and register one path's watch: 0 or an error. */
static int vnode_watch_open(struct vnode_state *state,
                            struct vnode_watch *watch, const char *path) {
  watch->fd = ax__sys.open(path, ax__kqueue_vnode_open_flags | O_CLOEXEC);
  if (watch->fd < 0)
    return ax_translate_sys_error(errno);
  struct stat st;
  struct kevent change;
  EV_SET(&change, watch->fd, EVFILT_VNODE, EV_ADD | EV_CLEAR, VNODE_NOTES, 0,
         watch);
  if (fstat(watch->fd, &st) != 0 ||
      ax__bsd_sys.kevent(state->io.fd, &change, 1, NULL, 0, NULL) != 0) {
    int err = ax_translate_sys_error(errno);
    ax__close_fd(watch->fd);
    return err;
  }
  watch->dir = S_ISDIR(st.st_mode);
  return 0;
}

int ax__fs_event_watch(ax_fs_event_t *handle) {
  ax_loop_t *loop = handle->handle.loop;
  int err = 0;
  struct vnode_state *state = vnode_state_open(loop, &err);
  if (state == NULL)
    return err;
  struct vnode_watch *watch = ax__calloc(1, sizeof(*watch));
  err = watch == NULL ? AX_ENOMEM
                      : vnode_watch_open(state, watch, handle->priv.path);
  if (err != 0) {
    ax__free(watch);
    if (state->watches == 0 && !state->dispatching)
      vnode_state_free(loop, state);
    return err;
  }
  ax__queue_init(&watch->node);
  watch->handle = handle;
  handle->priv.impl = watch;
  state->watches++;
  return 0;
}

/* The watched files' descriptors are inherited, but the kqueue that
 * holds their filters is not (the BSDs and macOS close it in the child):
 * not carried over yet, docs/loop.md says so. */
int ax__fs_event_loop_fork(ax_loop_t *loop) {
  (void)loop;
  return 0;
}

void ax__fs_event_unwatch(ax_fs_event_t *handle) {
  struct vnode_watch *watch = handle->priv.impl;
  if (watch == NULL)
    return;
  ax_loop_t *loop = handle->handle.loop;
  struct vnode_state *state = loop->priv.platform.fs_events;
  handle->priv.impl = NULL;
  /* Closing the descriptor removes its filter from the kqueue. */
  ax__close_fd(watch->fd);
  watch->handle = NULL;
  state->watches--;
  if (state->dispatching) {
    /* Events of this batch may still point at it. */
    ax__queue_insert_tail(&state->dead, &watch->node);
    return;
  }
  ax__free(watch);
  if (state->watches == 0)
    vnode_state_free(loop, state);
}
