/*
 * axle/unix.h: the POSIX side of the public structs.
 *
 * Included by axle.h only. It declares the POSIX part of the private
 * regions: the descriptor-poll operation and the loop's backend and wakeup
 * channel; and the one public type whose layout is the system's, ax_buf_t.
 * Nothing else here is API: the layout may change in any release before
 * 1.0.
 */
#ifndef AXLE_UNIX_H
#define AXLE_UNIX_H

#ifndef AXLE_H
#error "include <axle.h>, not <axle/unix.h>"
#endif /* AXLE_H */

/**
 * A buffer: a pointer and a length, laid out as POSIX's struct iovec, so
 * that vectors of them go to readv(2) and writev(2) as they are. Fill it
 * with ax_buf_init() or by its names; do not rely on the field order.
 */
typedef struct ax_buf_s {
  char *base; /**< The first byte. */
  size_t len; /**< The number of bytes. */
} ax_buf_t;

/** @cond AX_PRIVATE */

typedef struct ax__io_s ax__io_t;

/*
 * Called on the loop thread when an fd the backend watches is ready. events
 * holds AX__IO_* bits (see src/backend.h).
 */
typedef void (*ax__io_cb)(ax_loop_t *loop, ax__io_t *io, unsigned int events);

/* One file descriptor watched by the loop's backend: a multishot poll op. */
struct ax__io_s {
  ax__io_cb cb;        /* Called with the ready events. */
  int fd;              /* The descriptor; -1 when unused. */
  unsigned int events; /* Interest the backend has registered now. */
  int backend_slot;    /* Backend-private index (poll: pollfd slot). */
};

/* The POSIX part of the private region of ax_loop_t. */
struct ax__loop_platform {
  const struct ax__backend *backend; /* The backend in use. */
  void *backend_data;                /* The backend's own state. */
  ax__io_t async_io;                 /* Read end of the wakeup channel. */
  int async_wfd;                     /* Write end (same fd for an eventfd). */
  unsigned int io_count;             /* ax__io_t started with the backend. */
};

/** @endcond */

#endif /* AXLE_UNIX_H */
