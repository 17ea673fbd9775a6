/*
 * signal.c: ax_signal_t on this platform. Being written: until then the
 * close hook does nothing, as no signal handle can be started.
 */
#include "internal.h"

void ax__signal_close(ax_signal_t *signal) {
  (void)signal;
}
