/*
 * unix/backends-linux-kqueue.c: the backends of Linux when meson's
 * kqueue_linux option builds kqueue.c on libkqueue, most preferred first.
 * The same as backends-linux.c, with kqueue last: it is there to be tested
 * (AX_BACKEND=kqueue), never to be chosen by default or as a fallback
 * before poll(2), which needs no library in user space.
 */
#include "internal.h"

extern const struct ax__backend ax__backend_epoll;
extern const struct ax__backend ax__backend_io_uring;
extern const struct ax__backend ax__backend_poll;
extern const struct ax__backend ax__backend_sim;
extern const struct ax__backend ax__backend_kqueue;

const struct ax__backend *const ax__backends[] = {
    &ax__backend_epoll,
    &ax__backend_poll,
    &ax__backend_io_uring,
    &ax__backend_kqueue,
    &ax__backend_sim, /* Only by name (named_only): for tests. */
    NULL,
};
