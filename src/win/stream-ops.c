/*
 * win/stream-ops.c: the operations of Windows streams that are no socket
 * (stream.h, AX__STREAM_OWN_OPS). None opens yet: terminals say
 * AX_ENOTSUP (tty.c), so every stream is a socket on IOCP.
 */
#include "../stream.h"
#include "internal.h"

const struct ax__sock_ops *ax__stream_own_ops(const ax_stream_t *stream) {
  (void)stream;
  return &ax__iocp_sock_ops;
}
