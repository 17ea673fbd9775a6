/*
 * stream.c: streams on this platform. Being written: until then the close
 * hooks do nothing, as no stream can be opened.
 */
#include "internal.h"

void ax__stream_close(ax_stream_t *stream) {
  (void)stream;
}

void ax__stream_closed(ax_stream_t *stream) {
  (void)stream;
}
