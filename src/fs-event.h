/*
 * fs-event.h: what the portable half of ax_fs_event_t (fs-event.c) asks of
 * each system's watcher: src/unix/inotify.c on Linux, src/unix/kqueue-vnode.c
 * on macOS and the BSDs, src/win/fs-event.c on Windows.
 *
 * fs-event.c checks the arguments, keeps the path and the callback, and
 * runs the handle's active state; the system's file watches the path and
 * calls ax__fs_event_report() for each change it reads.
 */
#ifndef AX_FS_EVENT_H
#define AX_FS_EVENT_H

#include "internal.h"

/* Whether the system watches a tree (AX_FS_EVENT_RECURSIVE). */
extern const bool ax__fs_event_recursive;
/* Whether a change in a watched directory is reported under the name of
 * what changed in it (inotify, Windows), rather than under the
 * directory's own (kqueue). The tests read it. */
extern const bool ax__fs_event_names_children;

/* Start watching handle->priv.path (set, with flags) for handle on its
 * loop, keeping what the system needs in handle->priv.impl. 0, or the
 * system's error with nothing left started. */
int ax__fs_event_watch(ax_fs_event_t *handle);

/* Stop what ax__fs_event_watch() started. Nothing is reported for the
 * handle afterwards, not even a change already read. */
void ax__fs_event_unwatch(ax_fs_event_t *handle);

/* In a child of fork(2) (ax_loop_fork(), POSIX, after the backend made its
 * kernel object anew): give the loop's watches a kernel object the parent
 * does not share, where the system needs one. 0, or the first error; a
 * watch that could not be made again reports nothing more. */
int ax__fs_event_loop_fork(ax_loop_t *loop);

/* Report a change to a started handle (fs-event.c). status < 0 is an
 * error that ends the watch: the handle is stopped before its callback.
 * The callback may stop or close any handle. */
void ax__fs_event_report(ax_fs_event_t *handle, const char *filename,
                         int events, int status);

/* The last component of a path, for a watched file's own events: a
 * pointer into path (fs-event.c). */
const char *ax__fs_event_basename(const char *path);

/* Copy path into buffer as ax_fs_event_getpath() says (fs-event.c; the
 * poll handle's getpath shares it). */
int ax__fs_path_copy(const char *path, char *buffer, size_t *size);

#endif /* AX_FS_EVENT_H */
