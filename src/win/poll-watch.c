/*
 * poll-watch.c: ax_poll_t on this platform. Being written: until then the
 * close hook does nothing, as no poll handle can be started.
 */
#include "internal.h"

void ax__poll_close(ax_poll_t *poll) {
  (void)poll;
}
