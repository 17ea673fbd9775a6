/*
 * stream.h: what the stream engine's files share.
 *
 * stream.c holds the stream itself: reading, the write queue, shutdown,
 * connecting, closing, and the completion callback that drives them. It is
 * written once, over the socket operations of the backend contract
 * (backend.h). listen.c holds listening and accepting. tcp.c holds what is
 * TCP's and portable. What differs per system is below the line "Per
 * system": making, adopting and configuring sockets, a read and a
 * try-write without an operation, shutdown, and the listener's reserve
 * (src/unix/sock.c and tcp.c; src/win/sock.c, iocp-sock.c and tcp.c).
 */
#ifndef AX_STREAM_H
#define AX_STREAM_H

#include <stdbool.h>

#include "backend.h"

/*
 * Stream state bits, in handle.priv_flags above the AX__HANDLE_* bits.
 * A stream is connected from a successful connect, an accept or the
 * adoption of a connected socket on, and stays so; its two directions then
 * end separately (READ_EOF, SHUTDOWN). Bits from AX__STREAM_SYSTEM_SHIFT
 * up are the system's own (src/win/sock.h).
 */
enum {
  AX__STREAM_CONNECTED = 1u << 8,  /* Connected (never cleared). */
  AX__STREAM_CONNECTING = 1u << 9, /* A connect is in progress. */
  AX__STREAM_LISTENING = 1u << 10, /* ax_listen() succeeded. */
  AX__STREAM_READING = 1u << 11,   /* Between read_start and read_stop. */
  AX__STREAM_READ_EOF = 1u << 12,  /* The peer will send nothing more. */
  AX__STREAM_SHUTDOWN = 1u << 13,  /* ax_shutdown() was accepted. */
  AX__STREAM_NODELAY = 1u << 14,   /* TCP_NODELAY, for the next socket. */
  AX__STREAM_SENDING = 1u << 15,   /* A SEND operation is in flight. */
  /* The stream runs on operations of its own, not its backend's socket
   * operations (ax__stream_own_ops()). */
  AX__STREAM_OWN_OPS = 1u << 16,
  /* The SEND in flight is a copy the backend took for ax_try_write()
   * (send_copy): no request holds its bytes. */
  AX__STREAM_SEND_COPY = 1u << 17,
  /* A send or a read failed: ax_try_write() calls the kernel, which
   * reports the error, instead of taking a copy to fail later. */
  AX__STREAM_COPY_OFF = 1u << 18,
  AX__STREAM_SYSTEM_SHIFT = 19,
};

/* What struct ax__stream_ext holds: nothing in its union yet (an ext made
 * for keepalive_s alone), a listener's state, or a connection's. */
enum {
  AX__STREAM_EXT_NONE = 0,
  AX__STREAM_EXT_LISTEN = 1,
  AX__STREAM_EXT_WATER = 2,
};

/* A listener's state (listen.c). */
struct ax__stream_listen {
  ax_connection_cb cb; /* The connection callback. */
  ax_timer_t backoff;  /* Resumes accepting after a pause; unlisted. */
  uint32_t backoff_ms; /* The last pause; 0 outside a run of failures. */
  ax_os_sock_t held;   /* Accepted, not yet taken by ax_accept(). */
  bool has_held;       /* held is a connection. */
  bool accepting;      /* The ACCEPT operation is started. */
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
 * listener or a connection, never both, so the two share the memory. The
 * keep-alive delay chosen before a TCP handle has a socket may come first,
 * before the stream has either role (kind NONE): listen_ext() and
 * ax_stream_set_water_marks() then give it one. */
struct ax__stream_ext {
  int kind; /* AX__STREAM_EXT_NONE, _LISTEN or _WATER. */
  /* Keep-alive's idle delay for the socket a TCP handle gets later, in
   * seconds; 0 leaves keep-alive off (ax_tcp_keepalive()). */
  unsigned int keepalive_s;
  union {
    struct ax__stream_listen listen; /* kind LISTEN. */
    struct ax__stream_water water;   /* kind WATER. */
  } u;                               /* Selected by kind. */
};

static inline bool ax__stream_has(const ax_stream_t *stream,
                                  unsigned int flags) {
  return (stream->handle.priv_flags & flags) != 0;
}

static inline bool ax__stream_closing(const ax_stream_t *stream) {
  return ax__handle_is_closing(&stream->handle);
}

/* The operations of a stream that is no socket of the backend's kind,
 * by its type (src/unix/stream-ops.c, src/win/stream-ops.c): a terminal
 * takes the readiness emulation's whatever the backend (it is no socket),
 * and so do POSIX pipes that are not sockets or that carry descriptors;
 * Windows' named pipes take their own. Such a stream has
 * AX__STREAM_OWN_OPS. */
const struct ax__sock_ops *ax__stream_own_ops(const ax_stream_t *stream);

static inline const struct ax__sock_ops *ax__stream_ops(
    const ax_stream_t *stream) {
  if (ax__stream_has(stream, AX__STREAM_OWN_OPS))
    return ax__stream_own_ops(stream);
  return ax__backend(stream->handle.loop)->sock;
}

/* stream.c */
/* 0, or ax__handle_init()'s error. */
int ax__stream_init(ax_loop_t *loop, ax_stream_t *stream, ax_handle_type type);
/* The stream's ext, allocated (kind NONE, zeroed) if it has none yet.
 * 0, or AX_ENOMEM with nothing changed. */
int ax__stream_ext_get(ax_stream_t *stream, struct ax__stream_ext **out);
/* Give the stream a socket; flags are AX__STREAM_* bits to set. 0, or an
 * error with the socket left to the caller. */
int ax__stream_open(ax_stream_t *stream, ax_os_sock_t sock, unsigned int flags);
/* ax_write(), with send_handle (or NULL) to go with the first byte
 * (ax_write2(), whose checks are made). */
int ax__stream_write(ax_write_t *req, ax_stream_t *stream,
                     const ax_buf_t bufs[], unsigned int nbufs,
                     ax_stream_t *send_handle, ax_write_cb write_cb);
/* The engine's completion callback, which ax__stream_init() gives the
 * socket: a system that puts a callback of its own before it (a stream on
 * the readiness emulation under io_uring) passes completions on here. */
void ax__stream_sock_cb(ax_loop_t *loop, ax__sock_t *sock, unsigned int op,
                        intptr_t result);
/* Start connecting the stream's socket to addr. */
int ax__stream_connect(ax_stream_t *stream, ax_connect_t *req,
                       const struct sockaddr *addr, int len,
                       ax_connect_cb connect_cb);

/* listen.c */
void ax__stream_accepted(ax_stream_t *stream, intptr_t result);
void ax__stream_listen_close(ax_stream_t *stream);

/* ---- Per system ---- */

/* The calls made for every message, inline (src/unix/sock-os.h, and
 * src/win/sock-os.h; meson's include path picks the system's):
 *   bool ax__sock_is_open(const ax__sock_t *sock);
 *   ax_os_sock_t ax__sock_os(const ax__sock_t *sock);
 *   Read without waiting: bytes (> 0), AX_EOF, AX_EAGAIN, or an error.
 *   intptr_t ax__sock_read(ax__sock_t *sock, const ax_buf_t *buf);
 *   Send without waiting and without an operation: bytes, or an error
 *   (AX_EAGAIN when the kernel takes nothing).
 *   intptr_t ax__sock_try_send(ax__sock_t *sock, const ax_buf_t *bufs,
 *                              unsigned int nbufs);
 */
#include "sock-os.h"

/* Set up sock with no socket yet; cb receives its completions. */
void ax__sock_init(ax__sock_t *sock, ax__sock_cb cb);
/* Make s the socket of sock, on loop's backend. 0 or an error; s is the
 * caller's to close on error. */
int ax__sock_attach(ax_loop_t *loop, ax__sock_t *sock, ax_os_sock_t s);
/* Shut down the sending side: 0 or an error. */
int ax__sock_shutdown(ax__sock_t *sock);
/* listen() on the socket (again: a new backlog): 0 or an error. */
int ax__sock_listen(ax__sock_t *sock, int backlog);
/* A listener begins or ends on loop: what the loop keeps for its
 * listeners (POSIX: the reserve descriptor) follows their count. */
void ax__sock_listener_add(ax_loop_t *loop);
void ax__sock_listener_remove(ax_loop_t *loop);
/* Close a socket that was never attached (an accepted one not taken). */
void ax__sock_discard(ax_os_sock_t s);

/* tcp.c: apply to s, the socket a TCP stream is about to get (made,
 * adopted or accepted), the options chosen while it had none
 * (ax_tcp_nodelay(), ax_tcp_keepalive()). 0 or the system's error. */
int ax__tcp_sock_options(const ax_stream_t *stream, ax_os_sock_t s);
/* tcp.c: the socket of an open TCP handle: 0, AX_EINVAL or AX_EBADF. */
int ax__tcp_socket_of(const ax_tcp_t *tcp, ax_os_sock_t *s);
/* tcp.c: split "address%zone" into the address (copied to text, of size
 * bytes) and the zone (NULL without one). 0, or AX_EINVAL if too long. */
int ax__ip6_split(const char *ip, char *text, size_t size, const char **zone);

/* tcp.c: the length of an IPv4 or IPv6 address, and its family where
 * family is not NULL; 0 for any other family. */
int ax__tcp_addr_len(const struct sockaddr *addr, int *family);

/* TCP, per system (src/unix/tcp.c, src/win/tcp.c). */
/* Whatever the system needs before its first socket (Winsock). */
int ax__tcp_system_init(void);
/* Make the socket of a handle that has none, for family, with the options
 * chosen before (ax__tcp_sock_options()): 0 or the system's error. */
int ax__tcp_socket_make(ax_tcp_t *tcp, int family);
/* Make ready to connect over family: a socket made if there is none
 * (and bound to any address, where the system needs that). */
int ax__tcp_connect_prepare(ax_tcp_t *tcp, int family);
int ax__tcp_set_nodelay(ax_os_sock_t s, bool enable);
/* Keep-alive on s, probing after delay_s idle seconds, or off (delay_s
 * unused): 0 or the system's error. delay_s is at most
 * ax__tcp_keepalive_max_s, the longest the system's call can express. */
int ax__tcp_set_keepalive(ax_os_sock_t s, bool enable, unsigned int delay_s);
extern const unsigned int ax__tcp_keepalive_max_s;
/* getsockname() (peer false) or getpeername(), with an int length. */
int ax__tcp_name(ax_os_sock_t s, struct sockaddr *name, int *namelen,
                 bool peer);
/* A zero linger time, so that closing sends a reset: 0 or an error (a
 * system that refuses it because nothing is left to reset says 0). */
int ax__tcp_linger_zero(ax_os_sock_t s);

#endif /* AX_STREAM_H */
