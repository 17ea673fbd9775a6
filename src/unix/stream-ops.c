/*
 * stream-ops.c: the operations of POSIX streams that are no socket of the
 * backend's kind (stream.h, AX__STREAM_OWN_OPS). A terminal is no socket:
 * whatever the backend, it takes the readiness emulation (readiness.c),
 * which reads with read(2) and writes with writev(2) where sendmsg(2)
 * says ENOTSOCK (sock-os.h). A pipe that is no socket (pipe(2), a FIFO)
 * takes the same; an IPC pipe takes the emulation with its own send and
 * receive, which carry descriptors (unix/pipe.c).
 */
#include "sock.h"

const struct ax__sock_ops *ax__stream_own_ops(const ax_stream_t *stream) {
  if (stream->handle.type == AX_PIPE)
    return ax__pipe_own_ops((const ax_pipe_t *)stream);
  return &ax__readiness_sock_ops;
}
