/*
 * unix/stream.h: what the POSIX stream files share.
 *
 * stream.c holds the stream itself: reading, the write queue, shutdown,
 * closing, and the io callback that drives them from readiness. listen.c
 * holds listening and accepting, with the back-off when the process runs
 * out of descriptors. tcp.c creates, binds and connects TCP sockets and
 * hands them to the stream. The few calls whose shape differs between
 * kernels (creating and accepting sockets that are non-blocking and
 * close-on-exec, keeping SIGPIPE away, keep-alive timing) live in the
 * files meson picks per system: sock-linux.c or sock-bsd.c, and
 * tcp-keepidle.c or tcp-keepalive.c.
 */
#ifndef AX_UNIX_STREAM_H
#define AX_UNIX_STREAM_H

#include <stdbool.h>
#include <sys/socket.h>

#include "internal.h"

/*
 * Stream state bits, in handle.priv_flags above the AX__HANDLE_* bits.
 * A stream is connected from a successful connect, an accept or the
 * adoption of a connected socket on, and stays so; its two directions then
 * end separately (READ_EOF, SHUTDOWN).
 */
enum {
  AX__STREAM_CONNECTED = 1u << 8,  /* Connected (never cleared). */
  AX__STREAM_CONNECTING = 1u << 9, /* A connect is in progress. */
  AX__STREAM_LISTENING = 1u << 10, /* ax_listen() succeeded. */
  AX__STREAM_READING = 1u << 11,   /* Between read_start and read_stop. */
  AX__STREAM_READ_EOF = 1u << 12,  /* The peer will send nothing more. */
  AX__STREAM_SHUTDOWN = 1u << 13,  /* ax_shutdown() was accepted. */
  AX__STREAM_NODELAY = 1u << 14,   /* TCP_NODELAY, for the next socket. */
};

/* What struct ax__stream_ext holds. */
enum { AX__STREAM_EXT_LISTEN = 1, AX__STREAM_EXT_WATER = 2 };

/* A listener's state (listen.c). */
struct ax__stream_listen {
  ax_connection_cb cb; /* The connection callback. */
  ax_timer_t backoff;  /* Resumes accepting after a pause; unlisted. */
  uint32_t backoff_ms; /* The last pause; 0 outside a run of failures. */
  int accepted_fd;     /* Accepted, not yet taken by ax_accept(), or -1. */
  bool paused;         /* Waiting for backoff to fire. */
};

/* A connection's water marks (stream.c). */
struct ax__stream_water {
  size_t low_bytes;  /* Report "below" at this queue size or less. */
  size_t high_bytes; /* Report "above" at this queue size or more. */
  ax_water_cb cb;    /* The callback; NULL turns reporting off. */
  bool above;        /* The last report was "above". */
};

/* State few streams need, allocated when first needed: a stream is a
 * listener or a connection, never both, so the two share the memory. */
struct ax__stream_ext {
  int kind; /* AX__STREAM_EXT_LISTEN or AX__STREAM_EXT_WATER. */
  union {
    struct ax__stream_listen listen; /* kind LISTEN. */
    struct ax__stream_water water;   /* kind WATER. */
  } u;                               /* Selected by kind. */
};

/* stream.c */
void ax__stream_init(ax_loop_t *loop, ax_stream_t *stream, ax_handle_type type);
/* Give the stream its socket; flags are AX__STREAM_* bits to set. */
void ax__stream_open(ax_stream_t *stream, int fd, unsigned int flags);
/* A connect was started (in_progress: wait for writability) or has its
 * result already (status, delivered from the pending phase). */
void ax__stream_connect_begin(ax_stream_t *stream, ax_connect_t *req,
                              bool in_progress, int status);
bool ax__stream_closing(const ax_stream_t *stream);

/* listen.c */
void ax__stream_listen_ready(ax_stream_t *stream);
void ax__stream_listen_close(ax_stream_t *stream);

/* tcp.c: apply to fd, the socket a TCP stream is about to get (made,
 * adopted or accepted), the options chosen while it had none
 * (ax_tcp_nodelay()). 0 or setsockopt's error. */
int ax__tcp_sock_options(const ax_stream_t *stream, int fd);

/* sock-linux.c, sock-bsd.c: sockets that are non-blocking, close-on-exec
 * and never raise SIGPIPE. Each returns a descriptor or an error. */
int ax__sock_create(int domain);
int ax__sock_accept(int listen_fd);
int ax__sock_adopt(int fd);
/* The flags of every sendmsg(): MSG_NOSIGNAL where the system has it. */
extern const int ax__sock_send_flags;

/* tcp-keepidle.c, tcp-keepalive.c: the idle time before the first probe. */
int ax__sock_keepalive_delay(int fd, unsigned int delay_s);

/* setsockopt() of an int, through the syscall table: 0 or an error. */
int ax__sock_set_int(int fd, int level, int name, int value);

#endif /* AX_UNIX_STREAM_H */
