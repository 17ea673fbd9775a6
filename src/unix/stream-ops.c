/*
 * stream-ops.c: the operations of POSIX streams that are no socket of the
 * backend's kind (stream.h, AX__STREAM_OWN_OPS). A terminal is no socket:
 * whatever the backend, it takes the readiness emulation (readiness.c),
 * which reads with read(2) and writes with writev(2) where sendmsg(2)
 * says ENOTSOCK (sock-os.h).
 */
#include "../stream.h"
#include "internal.h"

const struct ax__sock_ops *ax__stream_own_ops(const ax_stream_t *stream) {
  (void)stream;
  return &ax__readiness_sock_ops;
}
