/*
 * unix/inotify.c: file change watches on Linux, with inotify(7).
 *
 * A loop has one inotify descriptor, opened with its first watch and
 * closed with its last, read through the loop's descriptor poll (an
 * ax__io_t, so that every backend carries it). The kernel gives one watch
 * descriptor per inode: handles on the same file, by one path or by
 * several, share one watch, which keeps the list of its handles and is
 * taken down when the last one stops.
 *
 * inotify watches one directory, not a tree: AX_FS_EVENT_RECURSIVE is
 * refused (docs/fs-events.md says why no walk is made instead). Events the
 * kernel dropped when its queue overflowed (IN_Q_OVERFLOW) are not
 * reported: nothing names what was lost.
 */
#include <errno.h>
#include <stdalign.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "../fs-event.h"
#include "internal.h"

const bool ax__fs_event_recursive = false;
const bool ax__fs_event_names_children = true;

enum {
  /* What a watch asks the kernel for: every change of the file or of the
   * names in the directory, and the watched path's own end. */
  INOTIFY_MASK = IN_ATTRIB | IN_CREATE | IN_MODIFY | IN_DELETE |
                 IN_DELETE_SELF | IN_MOVE_SELF | IN_MOVED_FROM | IN_MOVED_TO,
  /* The events that are changes of a file's contents or attributes; the
   * rest of INOTIFY_MASK are names that came or went. */
  INOTIFY_CHANGE = IN_ATTRIB | IN_MODIFY,
  /* Bytes per read(2): room for many events with short names, and one
   * with the longest name (NAME_MAX) there is. */
  INOTIFY_BUF_BYTES = 4096,
  /* Reads per wakeup, so that a directory that changes without a pause
   * cannot hold the loop; the rest waits for the next iteration. */
  INOTIFY_READS = 16,
};

/* One watch descriptor and the handles it serves. */
struct inotify_watch {
  struct ax__queue node;    /* In the loop's list of watches. */
  struct ax__queue handles; /* The handles, by priv.node. */
  int wd;                   /* The kernel's; -1 once it dropped it. */
  unsigned int iterating;   /* Handles are being called: keep the watch. */
};

/* The loop's inotify descriptor (loop->priv.platform.fs_events). */
struct inotify_state {
  ax__io_t io;              /* The descriptor, read when readable. */
  struct ax__queue watches; /* Every watch, by node. */
  bool dispatching;         /* Events are being delivered: keep the state. */
};

static struct inotify_state *inotify_state_of(ax_loop_t *loop) {
  return loop->priv.platform.fs_events;
}

static void inotify_state_free(ax_loop_t *loop, struct inotify_state *state) {
  ax__io_stop(loop, &state->io, state->io.events);
  ax__close_fd(state->io.fd);
  ax__free(state);
  loop->priv.platform.fs_events = NULL;
}

static struct inotify_watch *inotify_find(struct inotify_state *state, int wd) {
  for (struct ax__queue *q = state->watches.next; q != &state->watches;
       q = q->next) {
    struct inotify_watch *watch = ax_container_of(q, struct inotify_watch,
                                                  node);
    if (watch->wd == wd)
      return watch;
  }
  return NULL;
}

/* Take down a watch that serves no handle, unless its handles are being
 * called (inotify_deliver does it then), and the state with its last
 * watch, unless events are being delivered (inotify_io_cb does it). */
static void inotify_watch_release(ax_loop_t *loop, struct inotify_state *state,
                                  struct inotify_watch *watch) {
  if (!ax__queue_empty(&watch->handles) || watch->iterating != 0)
    return;
  if (watch->wd >= 0)
    inotify_rm_watch(state->io.fd, watch->wd);
  ax__queue_remove(&watch->node);
  ax__free(watch);
  if (ax__queue_empty(&state->watches) && !state->dispatching)
    inotify_state_free(loop, state);
}

/* Call every handle of a watch. A callback may stop or close any handle,
 * this one's watch included: each handle is moved back to the watch's
 * list before it is called, and one stopped meanwhile is off both. */
static void inotify_deliver(ax_loop_t *loop, struct inotify_state *state,
                            const struct inotify_event *event) {
  struct inotify_watch *watch = inotify_find(state, event->wd);
  if (watch == NULL)
    return;
  if (event->mask & IN_IGNORED) {
    /* The kernel dropped the watch (its file is gone): the handles stay
     * started, as the path's end was reported already, but there is no
     * descriptor to remove any more. */
    watch->wd = -1;
    return;
  }
  int events = 0;
  if (event->mask & INOTIFY_CHANGE)
    events |= AX_FS_EVENT_CHANGE;
  if (event->mask & (INOTIFY_MASK & ~INOTIFY_CHANGE))
    events |= AX_FS_EVENT_RENAME;
  if (events == 0)
    return;
  struct ax__queue todo;
  ax__queue_move(&watch->handles, &todo);
  watch->iterating++;
  while (!ax__queue_empty(&todo)) {
    struct ax__queue *node = ax__queue_head(&todo);
    ax__queue_remove(node);
    ax__queue_insert_tail(&watch->handles, node);
    ax_fs_event_t *handle = ax_container_of(node, ax_fs_event_t, priv.node);
    const char *name = event->len > 0
                           ? event->name
                           : ax__fs_event_basename(handle->priv.path);
    ax__fs_event_report(handle, name, events, 0);
  }
  watch->iterating--;
  inotify_watch_release(loop, state, watch);
}

/* Deliver the events of one read. */
static void inotify_deliver_all(ax_loop_t *loop, struct inotify_state *state,
                                const char *buf, size_t len) {
  size_t at = 0;
  while (at + sizeof(struct inotify_event) <= len) {
    const struct inotify_event *event = (const void *)(buf + at);
    inotify_deliver(loop, state, event);
    at += sizeof(struct inotify_event) + event->len;
  }
}

static void inotify_io_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                          intptr_t result) {
  (void)op;
  (void)result;
  struct inotify_state *state = ax_container_of(io, struct inotify_state, io);
  alignas(struct inotify_event) char buf[INOTIFY_BUF_BYTES];
  state->dispatching = true;
  for (int i = 0; i < INOTIFY_READS && !ax__queue_empty(&state->watches);) {
    ssize_t n = ax__sys.read(io->fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break; /* EAGAIN: all read. */
    inotify_deliver_all(loop, state, buf, (size_t)n);
    i++;
  }
  state->dispatching = false;
  if (ax__queue_empty(&state->watches))
    inotify_state_free(loop, state);
}

/* The loop's inotify state, opened with its first watch. NULL with *err
 * set if the kernel or the allocator refused. */
static struct inotify_state *inotify_state_open(ax_loop_t *loop, int *err) {
  struct inotify_state *state = inotify_state_of(loop);
  if (state != NULL)
    return state;
  state = ax__calloc(1, sizeof(*state));
  if (state == NULL) {
    *err = AX_ENOMEM;
    return NULL;
  }
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    *err = ax_translate_sys_error(errno);
    ax__free(state);
    return NULL;
  }
  ax__io_init(&state->io, inotify_io_cb, fd);
  ax__queue_init(&state->watches);
  *err = ax__io_start(loop, &state->io, AX__IO_READ);
  if (*err != 0) {
    ax__close_fd(fd);
    ax__free(state);
    return NULL;
  }
  loop->priv.platform.fs_events = state;
  return state;
}

/* The watch of path: the one its inode has already, or a new one. NULL
 * with *err set if the kernel or the allocator refused. */
static struct inotify_watch *inotify_watch_get(struct inotify_state *state,
                                               const char *path, int *err) {
  int wd = inotify_add_watch(state->io.fd, path, INOTIFY_MASK);
  if (wd < 0) {
    *err = ax_translate_sys_error(errno);
    return NULL;
  }
  struct inotify_watch *watch = inotify_find(state, wd);
  if (watch != NULL)
    return watch;
  watch = ax__calloc(1, sizeof(*watch));
  if (watch == NULL) {
    inotify_rm_watch(state->io.fd, wd);
    *err = AX_ENOMEM;
    return NULL;
  }
  watch->wd = wd;
  ax__queue_init(&watch->handles);
  ax__queue_insert_tail(&state->watches, &watch->node);
  return watch;
}

int ax__fs_event_watch(ax_fs_event_t *handle) {
  ax_loop_t *loop = handle->handle.loop;
  int err = 0;
  struct inotify_state *state = inotify_state_open(loop, &err);
  if (state == NULL)
    return err;
  struct inotify_watch *watch = inotify_watch_get(state, handle->priv.path,
                                                  &err);
  if (watch == NULL) {
    if (ax__queue_empty(&state->watches) && !state->dispatching)
      inotify_state_free(loop, state);
    return err;
  }
  ax__queue_insert_tail(&watch->handles, &handle->priv.node);
  handle->priv.impl = watch;
  return 0;
}

/*
 * After fork(2), the child's inotify descriptor is the parent's instance:
 * a watch the child removed would be gone for the parent too, and each
 * event would reach whichever process read it first. The child gets an
 * instance of its own, with every watch added again by the path of the
 * first handle it serves. Watch numbers start again in the new instance,
 * so every watch is marked first (-2: to add) and found among those added
 * only; two watches whose paths now name one inode become one.
 */
int ax__fs_event_loop_fork(ax_loop_t *loop) {
  struct inotify_state *state = inotify_state_of(loop);
  if (state == NULL)
    return 0;
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0)
    return ax_translate_sys_error(errno);
  ax__io_stop(loop, &state->io, state->io.events);
  ax__close_fd(state->io.fd); /* The child's copy: the parent keeps its. */
  ax__io_init(&state->io, inotify_io_cb, fd);
  int first_err = ax__io_start(loop, &state->io, AX__IO_READ);
  struct ax__queue *q;
  for (q = state->watches.next; q != &state->watches; q = q->next) {
    struct inotify_watch *watch = ax_container_of(q, struct inotify_watch,
                                                  node);
    watch->wd = watch->wd >= 0 ? -2 : -1;
  }
  for (q = state->watches.next; q != &state->watches;) {
    struct inotify_watch *watch = ax_container_of(q, struct inotify_watch,
                                                  node);
    q = q->next;
    if (watch->wd != -2)
      continue; /* Its file was gone already: it stays quiet. */
    ax_fs_event_t *first = ax_container_of(ax__queue_head(&watch->handles),
                                           ax_fs_event_t, priv.node);
    int wd = inotify_add_watch(fd, first->priv.path, INOTIFY_MASK);
    if (wd < 0) {
      watch->wd = -1;
      if (first_err == 0)
        first_err = ax_translate_sys_error(errno);
      continue;
    }
    struct inotify_watch *same = inotify_find(state, wd);
    watch->wd = wd;
    if (same == NULL)
      continue;
    /* Merge into the watch that has the inode already. */
    while (!ax__queue_empty(&watch->handles)) {
      struct ax__queue *node = ax__queue_head(&watch->handles);
      ax__queue_remove(node);
      ax__queue_insert_tail(&same->handles, node);
      ax_container_of(node, ax_fs_event_t, priv.node)->priv.impl = same;
    }
    ax__queue_remove(&watch->node);
    ax__free(watch);
  }
  return first_err;
}

void ax__fs_event_unwatch(ax_fs_event_t *handle) {
  struct inotify_watch *watch = handle->priv.impl;
  if (watch == NULL)
    return;
  ax_loop_t *loop = handle->handle.loop;
  ax__queue_remove(&handle->priv.node);
  handle->priv.impl = NULL;
  inotify_watch_release(loop, inotify_state_of(loop), watch);
}
