/*
 * handle.c: what every handle shares: registration with the loop, the
 * active/ref accounting that decides whether the loop is alive, and closing.
 *
 * A handle is in loop->handles from init until ax_close(), then in
 * loop->closing until its close callback has run in the close phase. The loop
 * counts handles that are both active and referenced; ax_loop_alive() reads
 * that count. Also here: the socket buffer sizes of the handles that have
 * sockets, and the debug listings of a loop's handles.
 */
#include <inttypes.h>
#include <stdio.h>

#include "internal.h"

enum {
  /* How many of the loop's handles an init looks through for the one it
   * is given (AX__CHECKED builds): the closing ones, then the open ones
   * from the newest. That is where a handle initialised twice by mistake
   * is met in practice (a struct reused before its close callback ran, a
   * handle initialised again soon after its first init); a walk of every
   * handle would make accepting n connections cost n * n / 2 steps. Every
   * init pays for the steps, in the builds most users run (meson's release
   * keeps assertions): 128 made an init cost three times what it did
   * (callgrind, timers started and fired); 8 costs a few percent. */
  HANDLE_INIT_CHECK_MAX = 8,
};

/* Whether handle is among the loop's closing handles or its newest open
 * ones. Only the loop's lists are read, never the handle's memory, which
 * may hold anything before its first init. */
static bool handle_init_is_listed(const ax_loop_t *loop,
                                  const ax_handle_t *handle) {
  const ax__queue_t *target = &handle->priv.node;
  const ax__queue_t *lists[] = {&loop->priv.closing, &loop->priv.handles};
  unsigned int budget = HANDLE_INIT_CHECK_MAX;
  for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
    for (const ax__queue_t *node = lists[i]->prev;
         node != lists[i] && budget > 0; node = node->prev, budget--) {
      if (node == target)
        return true;
    }
  }
  return false;
}

/* A handle whose init failed: of no type, and closed, so that ax_close()
 * refuses it (AX_EINVAL) and every start function sees it closed. */
static void handle_init_failed(ax_handle_t *handle, ax_loop_t *loop) {
  handle->loop = loop;
  handle->type = AX_UNKNOWN_HANDLE;
  handle->priv_flags = AX__HANDLE_CLOSED;
  handle->priv.close_cb = NULL;
  ax__queue_init(&handle->priv.node);
}

int ax__handle_init(ax_loop_t *loop, ax_handle_t *handle, ax_handle_type type) {
  /* A zeroed or closed loop has no lists to join: refused, not asserted,
   * as a release build would crash on them instead. */
  if (loop == NULL || loop->priv.state != AX__LOOP_READY) {
    handle_init_failed(handle, loop);
    return AX_EINVAL;
  }
  if (AX__CHECKED && handle_init_is_listed(loop, handle))
    return AX_EBUSY;
  handle->loop = loop;
  handle->type = type;
  handle->priv.close_cb = NULL;
  handle->priv_flags = AX__HANDLE_REF;
  ax__queue_insert_tail(&loop->priv.handles, &handle->priv.node);
  return 0;
}

void ax__handle_init_undo(ax_handle_t *handle) {
  ax__queue_remove(&handle->priv.node);
  handle_init_failed(handle, handle->loop);
}

void ax__handle_start(ax_handle_t *handle) {
  unsigned int flags = handle->priv_flags;
  if (flags & AX__HANDLE_ACTIVE)
    return;
  handle->priv_flags = flags | AX__HANDLE_ACTIVE;
  if (flags & AX__HANDLE_REF)
    handle->loop->priv.active_handles++;
}

void ax__handle_stop(ax_handle_t *handle) {
  unsigned int flags = handle->priv_flags;
  if (!(flags & AX__HANDLE_ACTIVE))
    return;
  handle->priv_flags = flags & ~AX__HANDLE_ACTIVE;
  if (flags & AX__HANDLE_REF)
    handle->loop->priv.active_handles--;
}

/* The accessors below take NULL as no handle: a branch, on paths that are
 * not hot, where a crash would be the alternative. */
void ax_ref(ax_handle_t *handle) {
  if (handle == NULL)
    return;
  unsigned int flags = handle->priv_flags;
  if (flags & AX__HANDLE_REF)
    return;
  handle->priv_flags = flags | AX__HANDLE_REF;
  if (flags & AX__HANDLE_ACTIVE)
    handle->loop->priv.active_handles++;
}

void ax_unref(ax_handle_t *handle) {
  if (handle == NULL)
    return;
  unsigned int flags = handle->priv_flags;
  if (!(flags & AX__HANDLE_REF))
    return;
  handle->priv_flags = flags & ~AX__HANDLE_REF;
  if (flags & AX__HANDLE_ACTIVE)
    handle->loop->priv.active_handles--;
}

bool ax_has_ref(const ax_handle_t *handle) {
  return handle != NULL && (handle->priv_flags & AX__HANDLE_REF) != 0;
}

bool ax_is_active(const ax_handle_t *handle) {
  return handle != NULL && ax__handle_is_active(handle);
}

bool ax_is_closing(const ax_handle_t *handle) {
  return handle != NULL && ax__handle_is_closing(handle);
}

/*
 * Each handle type's row: its name and size, and what closing it takes:
 * close stops whatever the type runs, in ax_close(), so that no callback
 * but the close callback follows; closed, where a type has one, runs in the
 * close phase just before the close callback (a stream completes its
 * requests there). A new handle type is a new row.
 */
struct handle_type {
  const char *name;                    /* ax_handle_type_name(). */
  size_t size;                         /* ax_handle_size(). */
  void (*close)(ax_handle_t *handle);  /* In ax_close(). */
  void (*closed)(ax_handle_t *handle); /* In the close phase, or NULL. */
};

static const struct handle_type handle_types[AX_HANDLE_TYPE_MAX] = {
    [AX_UNKNOWN_HANDLE] = {"unknown", 0, NULL, NULL},
    [AX_ASYNC] = {"async", sizeof(ax_async_t), ax__async_close,
                  ax__async_closed},
    [AX_CHECK] = {"check", sizeof(ax_check_t), ax__phase_close, NULL},
    [AX_IDLE] = {"idle", sizeof(ax_idle_t), ax__phase_close, NULL},
    [AX_PREPARE] = {"prepare", sizeof(ax_prepare_t), ax__phase_close, NULL},
    [AX_TIMER] = {"timer", sizeof(ax_timer_t), ax__timer_close, NULL},
    [AX_TCP] = {"tcp", sizeof(ax_tcp_t), ax__stream_close, ax__stream_closed},
    [AX_POLL] = {"poll", sizeof(ax_poll_t), ax__poll_close, NULL},
    [AX_SIGNAL] = {"signal", sizeof(ax_signal_t), ax__signal_close, NULL},
    [AX_MSGQ] = {"msgq", sizeof(ax_msgq_t), ax__async_close, ax__msgq_closed},
    [AX_FS_EVENT] = {"fs_event", sizeof(ax_fs_event_t), ax__fs_event_close,
                     NULL},
    [AX_FS_POLL] = {"fs_poll", sizeof(ax_fs_poll_t), ax__fs_poll_close, NULL},
    [AX_TTY] = {"tty", sizeof(ax_tty_t), ax__tty_close, ax__stream_closed},
    [AX_UDP] = {"udp", sizeof(ax_udp_t), ax__udp_close, ax__udp_closed},
    [AX_PIPE] = {"pipe", sizeof(ax_pipe_t), ax__pipe_close, ax__stream_closed},
    [AX_PROCESS] = {"process", sizeof(ax_process_t), ax__process_close, NULL},
};

int ax_close(ax_handle_t *handle, ax_close_cb close_cb) {
  /* A handle whose init failed has no type (handle_init_failed), nor has
   * zeroed memory: not a handle, rather than an assertion below. */
  if (handle == NULL || handle->type <= AX_UNKNOWN_HANDLE ||
      handle->type >= AX_HANDLE_TYPE_MAX)
    return AX_EINVAL;
  if (ax__handle_is_closing(handle))
    return AX_EBADF;
  handle_types[handle->type].close(handle);
  ax__handle_stop(handle);
  handle->priv_flags |= AX__HANDLE_CLOSING;
  handle->priv.close_cb = close_cb;
  /* One that waits for the backend stays on the list of handles, where
   * ax_walk() shows it (closing) and ax_loop_close() finds it, until
   * ax__handle_close_resume(). */
  if (handle->priv_flags & AX__HANDLE_CLOSE_WAIT)
    return 0;
  ax__queue_remove(&handle->priv.node);
  ax__queue_insert_tail(&handle->loop->priv.closing, &handle->priv.node);
  return 0;
}

void ax__handle_close_wait(ax_handle_t *handle) {
  handle->priv_flags |= AX__HANDLE_CLOSE_WAIT;
  handle->loop->priv.active_reqs++;
}

void ax__handle_close_resume(ax_handle_t *handle) {
  assert((handle->priv_flags & AX__HANDLE_CLOSE_WAIT) &&
         "axle: a close resumed that did not wait");
  handle->priv_flags &= ~AX__HANDLE_CLOSE_WAIT;
  handle->loop->priv.active_reqs--;
  ax__queue_remove(&handle->priv.node);
  ax__queue_insert_tail(&handle->loop->priv.closing, &handle->priv.node);
}

/* The close phase: the handles closed before it began, in close order.
 * A handle is off every loop list before its callback runs, so the callback
 * may free or reuse its memory. */
void ax__run_closing_handles(ax_loop_t *loop) {
  ax__queue_t closing;
  ax__queue_move(&loop->priv.closing, &closing);
  while (!ax__queue_empty(&closing)) {
    ax__queue_t *node = ax__queue_head(&closing);
    ax__queue_remove(node);
    ax_handle_t *handle = ax_container_of(node, ax_handle_t, priv.node);
    handle->priv_flags |= AX__HANDLE_CLOSED;
    void (*closed)(ax_handle_t *) = handle_types[handle->type].closed;
    if (closed != NULL)
      closed(handle);
    if (handle->priv.close_cb != NULL)
      handle->priv.close_cb(handle);
  }
}

const char *ax_handle_type_name(ax_handle_type type) {
  if ((unsigned int)type >= AX_HANDLE_TYPE_MAX)
    return "unknown";
  return handle_types[type].name;
}

size_t ax_handle_size(ax_handle_type type) {
  if ((unsigned int)type >= AX_HANDLE_TYPE_MAX)
    return 0;
  return handle_types[type].size;
}

/* The socket buffers of TCP, UDP and pipe handles: the checks every system
 * shares, then the system's own call. */
static int handle_buffer_size(ax_handle_t *handle, int *value, bool send) {
  if (handle == NULL || value == NULL || *value < 0)
    return AX_EINVAL;
  if (handle->type != AX_TCP && handle->type != AX_UDP &&
      handle->type != AX_PIPE)
    return AX_EINVAL;
  ax_os_fd_t fd;
  int rc = ax_fileno(handle, &fd);
  if (rc != 0)
    return rc;
  return ax__sock_buffer_size(handle->type, fd, send, value);
}

int ax_send_buffer_size(ax_handle_t *handle, int *value) {
  return handle_buffer_size(handle, value, true);
}

int ax_recv_buffer_size(ax_handle_t *handle, int *value) {
  return handle_buffer_size(handle, value, false);
}

/* ---- Debug listings: ax_print_all_handles(), ax_print_active_handles() ----
 */

/* Print the handles of one list, all or the active ones; false if a write
 * failed. */
static bool handle_print_list(const ax__queue_t *list, bool only_active,
                              FILE *stream) {
  for (const ax__queue_t *node = list->next; node != list; node = node->next) {
    const ax_handle_t *handle = ax_container_of(node, ax_handle_t, priv.node);
    unsigned int flags = handle->priv_flags;
    if (only_active && !(flags & AX__HANDLE_ACTIVE))
      continue;
    int rc = fprintf(stream, "[%c%c%c] %-8s 0x%" PRIxPTR "\n",
                     (flags & AX__HANDLE_REF) ? 'R' : '-',
                     (flags & AX__HANDLE_ACTIVE) ? 'A' : '-',
                     ax__handle_is_closing(handle) ? 'C' : '-',
                     ax_handle_type_name(handle->type), (uintptr_t)handle);
    if (rc < 0)
      return false;
  }
  return true;
}

static int handle_print(ax_loop_t *loop, FILE *stream, bool only_active) {
  if (loop == NULL || loop->priv.state != AX__LOOP_READY)
    return AX_EINVAL;
  if (stream == NULL)
    stream = stderr;
  if (!handle_print_list(&loop->priv.handles, only_active, stream) ||
      !handle_print_list(&loop->priv.closing, only_active, stream) ||
      fflush(stream) != 0 || ferror(stream))
    return AX_EIO;
  return 0;
}

int ax_print_all_handles(ax_loop_t *loop, FILE *stream) {
  return handle_print(loop, stream, false);
}

int ax_print_active_handles(ax_loop_t *loop, FILE *stream) {
  return handle_print(loop, stream, true);
}
