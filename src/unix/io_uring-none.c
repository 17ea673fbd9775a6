/*
 * unix/io_uring-none.c: the io_uring backend where axle was built without
 * liburing (src/unix/meson.build). It refuses to start, as a kernel
 * without io_uring would, so that AX_BACKEND=io_uring falls back to the
 * next backend visibly and the list of backends stays the same.
 */
#include "internal.h"

static int uring_none_init(ax_loop_t *loop) {
  (void)loop;
  return AX_ENOSYS;
}

const struct ax__backend ax__backend_io_uring = {
    .name = "io_uring",
    .init = uring_none_init,
};
