/*
 * unix/backends-linux.c: the backends of Linux, most preferred first.
 * epoll is the default; poll(2) is the fallback when epoll cannot start.
 * io_uring comes last: chosen by name (AX_BACKEND=io_uring) until the
 * benchmarks make it the default (docs/backends.md).
 */
#include "internal.h"

extern const struct ax__backend ax__backend_epoll;
extern const struct ax__backend ax__backend_io_uring;
extern const struct ax__backend ax__backend_poll;
extern const struct ax__backend ax__backend_sim;

const struct ax__backend *const ax__backends[] = {
    &ax__backend_epoll,
    &ax__backend_poll,
    &ax__backend_io_uring,
    &ax__backend_sim, /* Only by name (named_only): for tests. */
    NULL,
};
