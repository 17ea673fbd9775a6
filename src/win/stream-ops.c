/*
 * win/stream-ops.c: the operations of Windows streams that are no socket
 * (stream.h, AX__STREAM_OWN_OPS), by the stream's type: a console runs on
 * its own (tty-stream.c); every other stream is a socket on IOCP.
 */
#include "tty.h"

const struct ax__sock_ops *ax__stream_own_ops(const ax_stream_t *stream) {
  switch (stream->handle.type) {
  case AX_TTY:
    return &ax__win_tty_ops;
  default:
    return &ax__iocp_sock_ops;
  }
}
