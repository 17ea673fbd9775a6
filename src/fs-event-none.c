/*
 * fs-event-none.c: file change watches where axle has no watcher for the
 * system yet: ax_fs_event_start() says AX_ENOSYS. ax_fs_poll_t, which
 * needs nothing of the system, works everywhere.
 */
#include "fs-event.h"

const bool ax__fs_event_recursive = false;

int ax__fs_event_watch(ax_fs_event_t *handle) {
  (void)handle;
  return AX_ENOSYS;
}

void ax__fs_event_unwatch(ax_fs_event_t *handle) {
  (void)handle;
}
