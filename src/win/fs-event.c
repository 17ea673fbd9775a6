/*
 * win/fs-event.c: file change watches on Windows, with
 * ReadDirectoryChangesW.
 *
 * Each started handle opens the directory it watches (for a file, the
 * file's directory, whose changes are then filtered by the file's name),
 * associates it with the loop's completion port, and keeps one overlapped
 * ReadDirectoryChangesW in flight on it: its completion delivers the
 * changes the buffer holds and submits the next. A tree is watched when
 * asked (AX_FS_EVENT_RECURSIVE); names below the directory are then
 * reported as Windows gives them, with backslashes.
 *
 * The watch's memory (struct fs_event_watch) is an allocation of its own:
 * stopping cancels the read in flight (CancelIoEx) and leaves the watch to
 * the loop, as a request in flight, until the cancelled read completes, so
 * that the handle's memory is the caller's again at once. A read that
 * completes with no bytes means the changes overflowed the buffer: that is
 * reported as a change of unknown names (filename NULL).
 */
#include <string.h>
#include <wchar.h>

#include "../fs-event.h"
#include "fs-internal.h"

const bool ax__fs_event_recursive = true;
const bool ax__fs_event_names_children = true;

enum {
  /* Bytes of changes one read holds: many short names, and the longest
   * path Windows gives. Changes beyond it are reported as an overflow. */
  FS_EVENT_BUF_BYTES = 16384,
  /* What is watched: names of files and directories (created, deleted,
   * renamed), sizes, attributes and writes. */
  FS_EVENT_FILTER = FILE_NOTIFY_CHANGE_FILE_NAME | FILE_NOTIFY_CHANGE_DIR_NAME |
                    FILE_NOTIFY_CHANGE_ATTRIBUTES | FILE_NOTIFY_CHANGE_SIZE |
                    FILE_NOTIFY_CHANGE_LAST_WRITE,
};

struct fs_event_watch {
  ax__io_t io;           /* The read in flight: its OVERLAPPED. */
  HANDLE dir;            /* The directory, associated with the port. */
  ax_fs_event_t *handle; /* The owner; NULL once stopped. */
  WCHAR *file;           /* The watched file's name, or NULL for a
                            directory. */
  BOOL recursive;        /* Watch the tree. */
  bool in_flight;        /* A read is in flight. */
  bool delivering;       /* Its changes are being reported: keep it. */
  DWORD buf[FS_EVENT_BUF_BYTES / sizeof(DWORD)]; /* The changes, DWORD-
                                                    aligned as required. */
};

static void fs_event_watch_free(struct fs_event_watch *watch) {
  if (watch->dir != INVALID_HANDLE_VALUE)
    CloseHandle(watch->dir);
  ax__free(watch->file);
  ax__free(watch);
}

static int fs_event_submit(ax_loop_t *loop, struct fs_event_watch *watch) {
  memset(&watch->io.overlapped, 0, sizeof(watch->io.overlapped));
  if (!ReadDirectoryChangesW(watch->dir, watch->buf, sizeof(watch->buf),
                             watch->recursive, FS_EVENT_FILTER, NULL,
                             ax__io_overlapped(&watch->io), NULL))
    return ax_translate_sys_error((int)GetLastError());
  watch->in_flight = true;
  loop->priv.platform.io_count++;
  return 0;
}

/* The kind of change of a FILE_ACTION_* value. */
static int fs_event_kind(DWORD action) {
  return action == FILE_ACTION_MODIFIED ? AX_FS_EVENT_CHANGE
                                        : AX_FS_EVENT_RENAME;
}

/* Whether a change names the watched file (every change does, for a
 * directory). Windows compares names without case. */
static bool fs_event_wanted(const struct fs_event_watch *watch,
                            const FILE_NOTIFY_INFORMATION *info) {
  if (watch->file == NULL)
    return true;
  int len = (int)(info->FileNameLength / sizeof(WCHAR));
  return CompareStringOrdinal(info->FileName, len, watch->file, -1, TRUE) ==
         CSTR_EQUAL;
}

/* Deliver one change; false once the handle was stopped by its callback. */
static bool fs_event_deliver_one(struct fs_event_watch *watch,
                                 const FILE_NOTIFY_INFORMATION *info) {
  ax_fs_event_t *handle = watch->handle;
  char *name = NULL;
  int err = ax__win_fs_utf8(info->FileName,
                            (int)(info->FileNameLength / sizeof(WCHAR)), &name);
  if (err != 0) {
    ax__fs_event_report(handle, NULL, 0, err);
    return false;
  }
  ax__fs_event_report(handle, name, fs_event_kind(info->Action), 0);
  ax__free(name);
  return watch->handle == handle;
}

/* Deliver the changes of bytes of the buffer. */
static bool fs_event_deliver(struct fs_event_watch *watch, DWORD bytes) {
  if (bytes == 0) {
    /* Overflow: something changed, but not what. */
    ax_fs_event_t *handle = watch->handle;
    ax__fs_event_report(handle, NULL, AX_FS_EVENT_RENAME | AX_FS_EVENT_CHANGE,
                        0);
    return watch->handle == handle;
  }
  const char *at = (const char *)watch->buf;
  for (;;) {
    const FILE_NOTIFY_INFORMATION *info = (const void *)at;
    if (fs_event_wanted(watch, info) && !fs_event_deliver_one(watch, info))
      return false;
    if (info->NextEntryOffset == 0)
      return true;
    at += info->NextEntryOffset;
  }
}

/* Deliver a completed read, and read again if the handle is still on. */
static void fs_event_read_done(ax_loop_t *loop, struct fs_event_watch *watch) {
  DWORD got = 0;
  if (!GetOverlappedResult(watch->dir, ax__io_overlapped(&watch->io), &got,
                           FALSE)) {
    ax__fs_event_report(watch->handle, NULL, 0,
                        ax_translate_sys_error((int)GetLastError()));
    return;
  }
  if (!fs_event_deliver(watch, got))
    return;
  int err = fs_event_submit(loop, watch);
  if (err != 0)
    ax__fs_event_report(watch->handle, NULL, 0, err);
}

/* A read completed. The callbacks may stop, restart or close the handle:
 * the watch stays allocated while they run (delivering), and is read
 * again only while it is still the handle's. */
static void fs_event_io_cb(ax_loop_t *loop, ax__io_t *io, size_t bytes) {
  (void)bytes;
  struct fs_event_watch *watch = ax_container_of(io, struct fs_event_watch, io);
  watch->in_flight = false;
  loop->priv.platform.io_count--;
  if (watch->handle == NULL) {
    /* The cancelled read of a stopped watch: the last thing it waited for. */
    loop->priv.active_reqs--;
    fs_event_watch_free(watch);
    return;
  }
  watch->delivering = true;
  fs_event_read_done(loop, watch);
  watch->delivering = false;
  if (watch->handle == NULL)
    fs_event_watch_free(watch); /* Stopped by a callback. */
}

/* Open what a path's watch reads: the directory itself, or the directory
 * of a file and the file's name. */
static int fs_event_open(struct fs_event_watch *watch, const char *path) {
  WCHAR *wide = NULL;
  int err = ax__win_fs_wide(path, &wide);
  if (err != 0)
    return err;
  DWORD attributes = GetFileAttributesW(wide);
  if (attributes == INVALID_FILE_ATTRIBUTES) {
    err = ax_translate_sys_error((int)GetLastError());
    ax__free(wide);
    return err;
  }
  if (!(attributes & FILE_ATTRIBUTE_DIRECTORY)) {
    /* A file: watch its directory ("." without one), keep its name. */
    WCHAR *sep = NULL;
    for (WCHAR *p = wide; *p != L'\0'; p++) {
      if (*p == L'\\' || *p == L'/')
        sep = p;
    }
    size_t name_len = wcslen(sep != NULL ? sep + 1 : wide) + 1;
    watch->file = ax__malloc(name_len * sizeof(WCHAR));
    if (watch->file == NULL) {
      ax__free(wide);
      return AX_ENOMEM;
    }
    memcpy(watch->file, sep != NULL ? sep + 1 : wide, name_len * sizeof(WCHAR));
    if (sep != NULL)
      sep[sep == wide ? 1 : 0] = L'\0'; /* "\\file" keeps its root. */
    else
      wcscpy(wide, L".");
  }
  watch->dir = CreateFileW(
      wide, FILE_LIST_DIRECTORY,
      FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
      OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OVERLAPPED, NULL);
  err = watch->dir == INVALID_HANDLE_VALUE
            ? ax_translate_sys_error((int)GetLastError())
            : 0;
  ax__free(wide);
  return err;
}

int ax__fs_event_watch(ax_fs_event_t *handle) {
  ax_loop_t *loop = handle->handle.loop;
  struct fs_event_watch *watch = ax__calloc(1, sizeof(*watch));
  if (watch == NULL)
    return AX_ENOMEM;
  watch->dir = INVALID_HANDLE_VALUE;
  watch->io.cb = fs_event_io_cb;
  watch->recursive = (handle->priv.flags & AX_FS_EVENT_RECURSIVE) != 0;
  int err = fs_event_open(watch, handle->priv.path);
  /* Key 0: the port hands the packet to watch->io (win/iocp.c). */
  if (err == 0 && CreateIoCompletionPort(watch->dir, loop->priv.platform.iocp,
                                         0, 0) == NULL)
    err = ax_translate_sys_error((int)GetLastError());
  if (err == 0)
    err = fs_event_submit(loop, watch);
  if (err != 0) {
    fs_event_watch_free(watch);
    return err;
  }
  watch->handle = handle;
  handle->priv.impl = watch;
  return 0;
}

void ax__fs_event_unwatch(ax_fs_event_t *handle) {
  struct fs_event_watch *watch = handle->priv.impl;
  if (watch == NULL)
    return;
  handle->priv.impl = NULL;
  watch->handle = NULL;
  if (watch->delivering)
    return; /* fs_event_io_cb frees it once the callbacks are over. */
  if (!watch->in_flight) {
    fs_event_watch_free(watch);
    return;
  }
  /* Fails with ERROR_NOT_FOUND when the read is over already: its packet
   * is on its way either way. */
  (void)CancelIoEx(watch->dir, ax__io_overlapped(&watch->io));
  handle->handle.loop->priv.active_reqs++;
}
