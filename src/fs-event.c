/*
 * fs-event.c: ax_fs_event_t, the part that is the same on every system.
 *
 * A file change handle holds a copy of its path and its callback; while
 * started, the system's watcher (src/fs-event.h lists them) holds
 * whatever watches the path, behind priv.impl, and reports each change
 * through ax__fs_event_report(). Stopping takes the watch down at once,
 * so a change read after a stop is never delivered.
 */
#include <string.h>

#include "fs-event.h"

int ax_fs_event_init(ax_loop_t *loop, ax_fs_event_t *handle) {
  if (handle == NULL)
    return AX_EINVAL;
  int err = ax__handle_init(loop, &handle->handle, AX_FS_EVENT);
  if (err == AX_EBUSY)
    return err; /* Open already: its fields are in use. */
  /* Also after AX_EINVAL, so that stop finds nothing to stop. */
  handle->priv.path = NULL;
  handle->priv.cb = NULL;
  handle->priv.impl = NULL;
  ax__queue_init(&handle->priv.node);
  handle->priv.flags = 0;
  return err;
}

static char *fs_event_strdup(const char *s) {
  size_t len = strlen(s) + 1;
  char *copy = ax__malloc(len);
  if (copy != NULL)
    memcpy(copy, s, len);
  return copy;
}

int ax_fs_event_start(ax_fs_event_t *handle, const char *path,
                      unsigned int flags, ax_fs_event_cb event_cb) {
  if (handle == NULL || path == NULL || path[0] == '\0' || event_cb == NULL ||
      (flags & ~(unsigned int)AX_FS_EVENT_RECURSIVE) != 0)
    return AX_EINVAL;
  if (ax__handle_is_closing(&handle->handle))
    return AX_EBADF;
  if ((flags & AX_FS_EVENT_RECURSIVE) && !ax__fs_event_recursive)
    return AX_ENOTSUP;
  char *copy = fs_event_strdup(path);
  if (copy == NULL)
    return AX_ENOMEM;
  ax_fs_event_stop(handle);
  handle->priv.path = copy;
  handle->priv.flags = flags;
  handle->priv.cb = event_cb;
  int err = ax__fs_event_watch(handle);
  if (err != 0) {
    handle->priv.path = NULL;
    ax__free(copy);
    return err;
  }
  ax__handle_start(&handle->handle);
  return 0;
}

int ax_fs_event_stop(ax_fs_event_t *handle) {
  if (handle == NULL)
    return AX_EINVAL;
  if (handle->priv.path == NULL)
    return 0;
  ax__fs_event_unwatch(handle);
  ax__free(handle->priv.path);
  handle->priv.path = NULL;
  ax__handle_stop(&handle->handle);
  return 0;
}

void ax__fs_event_close(ax_handle_t *handle) {
  ax_fs_event_stop((ax_fs_event_t *)handle);
}

/* Room for the name of a watched file's own change: one component of its
 * path, which every system limits to 255 bytes (NAME_MAX), or it would
 * have refused to watch it. */
enum { FS_EVENT_NAME_BYTES = 1024 };

void ax__fs_event_report(ax_fs_event_t *handle, const char *filename,
                         int events, int status) {
  assert(handle->priv.path != NULL &&
         "axle: a change reported to a stopped file event handle");
  ax_fs_event_cb cb = handle->priv.cb;
  /* The name of a watched file's own change points into the handle's copy
   * of the path (inotify, kqueue), which a stop or a close in the callback
   * frees: the callback gets a copy that lives for the whole call, as the
   * header promises. */
  char name[FS_EVENT_NAME_BYTES];
  uintptr_t at = (uintptr_t)filename;
  uintptr_t path = (uintptr_t)handle->priv.path;
  if (filename != NULL && at >= path &&
      at <= path + strlen(handle->priv.path)) {
    size_t len = strlen(filename);
    if (len >= sizeof(name))
      len = sizeof(name) - 1; /* Longer than any name a system watches. */
    memcpy(name, filename, len);
    name[len] = '\0';
    filename = name;
  }
  if (status < 0)
    ax_fs_event_stop(handle);
  cb(handle, filename, events, status);
}

const char *ax__fs_event_basename(const char *path) {
  const char *base = path;
  for (const char *p = path; *p != '\0'; p++) {
    /* A trailing separator does not begin a name: "dir/" is "dir/". */
    if ((*p == '/' || *p == '\\') && p[1] != '\0')
      base = p + 1;
  }
  return base;
}

int ax__fs_path_copy(const char *path, char *buffer, size_t *size) {
  if (path == NULL || buffer == NULL || size == NULL)
    return AX_EINVAL;
  size_t len = strlen(path);
  if (*size <= len) {
    *size = len + 1;
    return AX_ENOBUFS;
  }
  memcpy(buffer, path, len + 1);
  *size = len;
  return 0;
}

int ax_fs_event_getpath(const ax_fs_event_t *handle, char *buffer,
                        size_t *size) {
  if (handle == NULL)
    return AX_EINVAL;
  return ax__fs_path_copy(handle->priv.path, buffer, size);
}
