/*
 * win/stream-ops.c: the operations of Windows streams that are no socket
 * (stream.h, AX__STREAM_OWN_OPS): a pipe is a named pipe's HANDLE, whose
 * operations are iocp-pipe.c's. Terminals say AX_ENOTSUP (tty.c) and
 * never get here.
 */
#include "../stream.h"
#include "iocp-pipe.h"

const struct ax__sock_ops *ax__stream_own_ops(const ax_stream_t *stream) {
  if (stream->handle.type == AX_PIPE)
    return &ax__iocp_pipe_ops;
  return &ax__iocp_sock_ops;
}
