/*
 * axle/unix.h: the POSIX side of the public structs.
 *
 * Included by axle.h only. It declares the POSIX part of the private
 * regions: the descriptor the backend watches (which is also a stream's
 * socket), the loop's backend and wakeup channel; and the one public type
 * whose layout is the system's, ax_buf_t. The stream and its requests are
 * the same on every system (axle.h). Nothing else here is API: the layout
 * may change in any release before 1.0.
 */
/**
 * @file axle/unix.h
 * The POSIX layout of ax_buf_t, and ax_os_sock_t and ax_os_fd_t as POSIX
 * knows them. Included by axle.h; include <axle.h>, never this file.
 */
#ifndef AXLE_UNIX_H
#define AXLE_UNIX_H

#ifndef AXLE_H
#error "include <axle.h>, not <axle/unix.h>"
#endif /* AXLE_H */

/**
 * @ingroup buf
 * @headerfile axle.h <axle.h>
 * A buffer: a pointer and a length. On POSIX it is laid out as struct
 * iovec, so that vectors of them go to readv(2) and writev(2) as they are.
 * Fill it with ax_buf_init() or by its names; do not rely on the field
 * order, which differs on Windows.
 */
struct ax_buf_s {
  char *base; /**< The first byte. */
  size_t len; /**< POSIX: the number of bytes. */
};

/** @ingroup tcp
 * A socket as the system knows it: on POSIX, a file descriptor (an int).
 * ax_tcp_open() and ax_poll_init_socket() take one. */
typedef int ax_os_sock_t;
/** @ingroup tcp
 * A descriptor as the system knows it: on POSIX, a file descriptor (an
 * int). ax_fileno() gives a TCP or poll handle's descriptor in one. */
typedef int ax_os_fd_t;

/** @cond AX_PRIVATE */

typedef struct ax__io_s ax__io_t;
/* A socket the backend carries operations on (src/backend.h): on POSIX, a
 * descriptor the backend watches. */
typedef struct ax__io_s ax__sock_t;

/*
 * Called on the loop thread when an operation on io completes: op is an
 * AX__OP_* value and result its outcome (src/backend.h). For a plain
 * descriptor poll, op is AX__OP_POLL and result the AX__IO_* bits ready.
 */
typedef void (*ax__io_cb)(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                          intptr_t result);
/* The same callback, as the socket operations name it. */
typedef ax__io_cb ax__sock_cb;

/* One file descriptor watched by the loop's backend. Every stream embeds
 * one, so it holds nothing a backend could keep for itself: poll(2) and
 * kqueue find an io's slot by its descriptor. */
struct ax__io_s {
  ax__io_cb cb;          /* Called with each completion. */
  int fd;                /* The descriptor; -1 when unused. */
  unsigned short events; /* Interest the backend has registered now. */
  unsigned short ops;    /* Socket operations emulated (readiness.c). */
};

/* The POSIX part of the private region of ax_loop_t. */
struct ax__loop_platform {
  const struct ax__backend *backend; /* The backend in use. */
  void *backend_data;                /* The backend's own state. */
  ax__io_t async_io;                 /* Read end of the wakeup channel. */
  int async_wfd;                     /* Write end (same fd for an eventfd). */
  unsigned int io_count;             /* ax__io_t started with the backend. */
  unsigned int listeners;            /* Listening sockets (sock.c). */
  void *fs_events;                   /* File watches (inotify.c), or NULL. */
  void *processes;                   /* Children (unix/process.c), or NULL. */
  int reserve_fd; /* Kept for accepting when out of descriptors: open, or -1,
                     while listeners > 0; meaningless otherwise. */
};

/* The POSIX part of the private region of ax_poll_t. */
struct ax__poll_private {
  ax__io_t io;        /* The descriptor, as the backend watches it. */
  ax_poll_cb cb;      /* The callback. */
  unsigned int flags; /* AX_POLL_* bits asked for, and poll-watch.c's own. */
};

/* The POSIX part of the private region of ax_signal_t (src/signal.c). */
struct ax__signal_private {
  struct ax__queue node; /* In its loop's signal group while active. */
  ax_signal_cb cb;       /* The callback. */
  unsigned int flags;    /* One-shot. */
};

/* The POSIX part of the private region of ax_udp_t (src/unix/udp.c). */
struct ax__udp_platform {
  ax__io_t io; /* The socket, as the backend watches it; fd -1 if none. */
};

/** @endcond */

#endif /* AXLE_UNIX_H */
