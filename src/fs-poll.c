/*
 * fs-poll.c: ax_fs_poll_t, a file watched by asking for its ax_stat_t at
 * an interval. The same on every system: it is made of a timer and a stat
 * request on the thread pool's file system lane.
 *
 * One stat is in flight at a time; the timer waits out the interval after
 * it, so a slow file system (a network share) delays the next stat rather
 * than piling them up. The timer is axle's, not the user's: kept off the
 * loop's list of handles (ax_walk() never shows it) and unreferenced, as
 * the poll handle keeps the loop alive itself.
 *
 * A stat in flight cannot be taken back from a worker that runs it. Stop
 * marks it stale, and its answer is dropped; close waits for it
 * (ax__handle_close_wait), so that the handle's memory, which holds the
 * request, is not given back to the user while a worker may write to it.
 */
#include <string.h>

#include "fs-event.h"

static int fs_poll_stat(ax_fs_poll_t *handle);
static void fs_poll_timer_cb(ax_timer_t *timer);

int ax_fs_poll_init(ax_loop_t *loop, ax_fs_poll_t *handle) {
  if (handle == NULL)
    return AX_EINVAL;
  int err = ax__handle_init(loop, &handle->handle, AX_FS_POLL);
  if (err == AX_EBUSY)
    return err; /* Open already: its fields are in use. */
  /* Also after AX_EINVAL, so that stop finds nothing to stop. */
  handle->priv.cb = NULL;
  handle->priv.path = NULL;
  handle->priv.interval_ms = 0;
  handle->priv.prev_status = 1;
  handle->priv.busy = false;
  handle->priv.stale = false;
  if (err != 0)
    return err;
  ax_timer_init(loop, &handle->priv.timer);
  ax__queue_remove(&handle->priv.timer.handle.priv.node);
  ax_unref(&handle->priv.timer.handle);
  handle->priv.timer.handle.data = handle;
  return 0;
}

/* Whether two answers differ in what a change of the file changes: the
 * access time is left out, as reading the file would count. */
static bool fs_poll_same(const ax_stat_t *a, const ax_stat_t *b) {
  return a->dev == b->dev && a->ino == b->ino && a->mode == b->mode &&
         a->nlink == b->nlink && a->uid == b->uid && a->gid == b->gid &&
         a->rdev == b->rdev && a->size == b->size && a->flags == b->flags &&
         a->gen == b->gen && a->mtim.sec == b->mtim.sec &&
         a->mtim.nsec == b->mtim.nsec && a->ctim.sec == b->ctim.sec &&
         a->ctim.nsec == b->ctim.nsec && a->birthtim.sec == b->birthtim.sec &&
         a->birthtim.nsec == b->birthtim.nsec;
}

/* Compare an answer with the one before, and call back if it differs.
 * The timer is armed first, so that the callback may stop, restart or
 * close the handle and nothing here touches it afterwards. */
static void fs_poll_compare(ax_fs_poll_t *handle, int status,
                            const ax_stat_t *curr) {
  static const ax_stat_t zero;
  ax_stat_t prev = handle->priv.prev;
  int prev_status = handle->priv.prev_status;
  handle->priv.prev = status == 0 ? *curr : zero;
  handle->priv.prev_status = status;
  ax_timer_start(&handle->priv.timer, fs_poll_timer_cb,
                 handle->priv.interval_ms, 0);
  bool changed;
  if (status != 0)
    changed = status != prev_status; /* Each new error, once. */
  else if (prev_status == 1)
    changed = false; /* The baseline. */
  else
    changed = prev_status != 0 || !fs_poll_same(&prev, curr);
  if (changed)
    handle->priv.cb(handle, status, &prev, status == 0 ? curr : &zero);
}

static void fs_poll_stat_cb(ax_fs_t *req) {
  ax_fs_poll_t *handle = ax_container_of(req, ax_fs_poll_t, priv.req);
  int status = req->result < 0 ? (int)req->result : 0;
  ax_stat_t curr = req->statbuf;
  bool stale = handle->priv.stale;
  ax_fs_req_cleanup(req);
  handle->priv.busy = false;
  handle->priv.stale = false;
  if (ax__handle_is_closing(&handle->handle)) {
    ax__handle_close_resume(&handle->handle);
    return;
  }
  if (handle->priv.path == NULL)
    return; /* Stopped. */
  if (stale) {
    /* Started again meanwhile, maybe on another path: ask anew. */
    int err = fs_poll_stat(handle);
    if (err != 0)
      fs_poll_compare(handle, err, NULL);
    return;
  }
  fs_poll_compare(handle, status, &curr);
}

/* Queue a stat: 0, or the pool's refusal (out of memory). */
static int fs_poll_stat(ax_fs_poll_t *handle) {
  int err = ax_fs_stat(handle->handle.loop, &handle->priv.req,
                       handle->priv.path, fs_poll_stat_cb);
  if (err != 0) {
    ax_fs_req_cleanup(&handle->priv.req);
    return err;
  }
  handle->priv.busy = true;
  return 0;
}

/* The interval is over: stat again. A refusal is reported as the stat's
 * answer would be, and tried again after the interval. */
static void fs_poll_timer_cb(ax_timer_t *timer) {
  ax_fs_poll_t *handle = timer->handle.data;
  int err = fs_poll_stat(handle);
  if (err != 0)
    fs_poll_compare(handle, err, NULL);
}

int ax_fs_poll_start(ax_fs_poll_t *handle, const char *path,
                     unsigned int interval_ms, ax_fs_poll_cb poll_cb) {
  if (handle == NULL || path == NULL || path[0] == '\0' || interval_ms == 0 ||
      poll_cb == NULL)
    return AX_EINVAL;
  if (ax__handle_is_closing(&handle->handle))
    return AX_EBADF;
  size_t len = strlen(path) + 1;
  char *copy = ax__malloc(len);
  if (copy == NULL)
    return AX_ENOMEM;
  memcpy(copy, path, len);
  ax_fs_poll_stop(handle);
  handle->priv.path = copy;
  handle->priv.cb = poll_cb;
  handle->priv.interval_ms = interval_ms;
  handle->priv.prev_status = 1;
  /* A stat of the previous start still runs: its answer will ask anew. */
  if (!handle->priv.busy) {
    int err = fs_poll_stat(handle);
    if (err != 0) {
      handle->priv.path = NULL;
      ax__free(copy);
      return err;
    }
  }
  ax__handle_start(&handle->handle);
  return 0;
}

int ax_fs_poll_stop(ax_fs_poll_t *handle) {
  if (handle == NULL)
    return AX_EINVAL;
  if (handle->priv.path == NULL)
    return 0;
  ax_timer_stop(&handle->priv.timer);
  if (handle->priv.busy) {
    handle->priv.stale = true;
    ax_cancel(&handle->priv.req.req);
  }
  ax__free(handle->priv.path);
  handle->priv.path = NULL;
  ax__handle_stop(&handle->handle);
  return 0;
}

void ax__fs_poll_close(ax_handle_t *handle) {
  ax_fs_poll_t *poll = (ax_fs_poll_t *)handle;
  ax_fs_poll_stop(poll);
  if (poll->priv.busy)
    ax__handle_close_wait(handle);
}

int ax_fs_poll_getpath(const ax_fs_poll_t *handle, char *buffer, size_t *size) {
  if (handle == NULL)
    return AX_EINVAL;
  return ax__fs_path_copy(handle->priv.path, buffer, size);
}
