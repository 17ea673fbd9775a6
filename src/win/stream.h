/*
 * win/stream.h: what the Windows stream files share.
 *
 * stream.c holds what every stream does over a connected socket: the
 * zero-byte read, writes, shutdown, water marks, and the close that waits
 * for the kernel. tcp.c makes and configures the sockets (bind, connect,
 * options); tcp-listen.c is the listener (AcceptEx); winsock.c starts
 * Winsock and finds its extension functions; inet.c converts addresses.
 *
 * Every overlapped call a stream makes goes through ax__stream_posted(),
 * which counts the operation while its packet is due (priv.ops, and the
 * loop's io_count), or says that it completed at once: a socket with
 * FILE_SKIP_COMPLETION_PORT_ON_SUCCESS queues no packet for an operation
 * that succeeds inside the call, and the stream finishes that operation in
 * the pending phase instead (ax__stream_defer). Every packet handler
 * begins with ax__stream_op_done().
 */
#ifndef AX_WIN_STREAM_H
#define AX_WIN_STREAM_H

#include "internal.h"

#include <mswsock.h>
#include <ws2tcpip.h>

/* Stream flags, in the handle's priv_flags above the AX__HANDLE_* bits. */
enum {
  AX__STREAM_READING = 1u << 8,       /* ax_read_start(), not stopped. */
  AX__STREAM_READ_POSTED = 1u << 9,   /* The zero-byte read is in flight. */
  AX__STREAM_READ_READY = 1u << 10,   /* It completed at once: read later. */
  AX__STREAM_CONNECTING = 1u << 11,   /* A ConnectEx is in flight. */
  AX__STREAM_CONNECTED = 1u << 12,    /* A connection: read and write. */
  AX__STREAM_LISTENING = 1u << 13,    /* ax_listen() succeeded. */
  AX__STREAM_BOUND = 1u << 14,        /* The socket has a local address. */
  AX__STREAM_SHUTTING = 1u << 15,     /* ax_shutdown() was called. */
  AX__STREAM_EOF = 1u << 16,          /* The peer's end of stream was read. */
  AX__STREAM_IPV6 = 1u << 17,         /* The socket is AF_INET6. */
  AX__STREAM_SKIP_PACKETS = 1u << 18, /* Success at once queues no packet. */
  AX__STREAM_PARKED = 1u << 19,       /* Closed, waiting for ops to end. */
  AX__STREAM_NODELAY = 1u << 20,      /* TCP_NODELAY, for the next socket. */
};

/* A write, connect or accept in flight, until its packet says otherwise. */
enum { AX__IN_FLIGHT = 1 };

/* Accepts a listener keeps posted. Each holds a socket made in advance;
 * a packet that reports one accepted connection lets the loop hand it out
 * and post the next. See tcp-listen.c for the choice. */
enum { AX__ACCEPTS_POSTED = 32 };

/* Room for one address in AcceptEx's output: the largest address of a TCP
 * socket (sockaddr_in6), plus the 16 bytes the function requires. */
enum { AX__ACCEPT_ADDR_BYTES = sizeof(struct sockaddr_in6) + 16 };

/* What an accept slot holds. */
enum {
  AX__SLOT_IDLE = 0,   /* No socket, nothing posted. */
  AX__SLOT_POSTED = 1, /* An AcceptEx is in flight. */
  AX__SLOT_READY = 2,  /* A connection waits for ax_accept(). */
};

/* One posted AcceptEx. */
struct ax__accept_slot {
  ax__io_t io;                        /* The AcceptEx in flight. */
  struct ax__stream_ext *ext;         /* The listener's state. */
  struct ax__accept_slot *next_ready; /* In the listener's ready queue. */
  SOCKET socket;                      /* Accepted into; INVALID_SOCKET. */
  int state;                          /* AX__SLOT_*. */
  char addresses[2 * AX__ACCEPT_ADDR_BYTES]; /* AcceptEx's output. */
};

/* Stream state few streams need: the listener's and the water marks. */
struct ax__stream_ext {
  ax_stream_t *stream;                /* The owner. */
  ax_connection_cb connection_cb;     /* Listening: the callback. */
  struct ax__accept_slot *slots;      /* Listening: AX__ACCEPTS_POSTED. */
  struct ax__accept_slot *ready_head; /* Accepted, oldest first. */
  struct ax__accept_slot *ready_tail; /* Accepted, newest. */
  ax_timer_t backoff;                 /* Out of sockets: retry later. */
  uint64_t backoff_ms;                /* The next pause; doubles. */
  int backoff_open;                   /* backoff is initialised. */
  int backoff_reported;               /* This pause was reported. */
  int accept_error;                   /* To report, or 0. */
  ax_water_cb water_cb;               /* NULL: no water marks. */
  size_t low_bytes;                   /* Report "below" at or under. */
  size_t high_bytes;                  /* Report "above" at or over. */
  int above;                          /* The last report was "above". */
};

/* winsock.c: the extension functions of the Microsoft provider, found once
 * by ax__winsock_init(), which also starts Winsock. */
struct ax__winsock {
  LPFN_ACCEPTEX accept_ex;   /* AcceptEx. */
  LPFN_CONNECTEX connect_ex; /* ConnectEx. */
};
extern struct ax__winsock ax__winsock;
int ax__winsock_init(void);

/* The Winsock calls that tests make fail (out of sockets, for one). */
typedef SOCKET WSAAPI ax__win_socket_fn(int af, int type, int protocol,
                                        LPWSAPROTOCOL_INFOW info, GROUP g,
                                        DWORD flags);
struct ax__win_sock_calls {
  ax__win_socket_fn *wsa_socket; /* Makes a socket: WSASocketW. */
};
extern struct ax__win_sock_calls ax__win_sock;
extern const struct ax__win_sock_calls ax__win_sock_default;

/* stream.c */
void ax__stream_init(ax_loop_t *loop, ax_stream_t *stream);
int ax__stream_attach(ax_stream_t *stream, SOCKET socket);
int ax__stream_posted(ax_stream_t *stream, BOOL succeeded);
void ax__stream_op_done(ax_stream_t *stream);
void ax__stream_defer(ax_stream_t *stream);
void ax__stream_connected(ax_stream_t *stream, int status);
int ax__stream_io_status(ax_stream_t *stream, ax__io_t *io);
struct ax__stream_ext *ax__stream_ext(ax_stream_t *stream);
int ax__stream_socket_error(void);

/* tcp.c */
SOCKET ax__tcp_socket(int family, int *err);
int ax__tcp_set_nodelay(SOCKET socket, bool enable);
void ax__tcp_connect_finish(ax_stream_t *stream);

/* tcp-listen.c */
void ax__listen_dispatch(ax_stream_t *stream);
void ax__listen_close(ax_stream_t *stream);
void ax__listen_free(struct ax__stream_ext *ext);

static inline SOCKET ax__stream_socket(const ax_stream_t *stream) {
  return (SOCKET)stream->priv.socket;
}

static inline int ax__stream_has(const ax_stream_t *stream,
                                 unsigned int flags) {
  return (stream->handle.priv_flags & flags) != 0;
}

static inline ax_loop_t *ax__stream_loop(const ax_stream_t *stream) {
  return stream->handle.loop;
}

#endif /* AX_WIN_STREAM_H */
