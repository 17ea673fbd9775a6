/*
 * win/sock.h: the Windows socket details beneath the stream engine.
 *
 * The stream engine (src/stream.c, listen.c) is the same as on POSIX;
 * Windows supplies what differs. iocp-sock.c carries out the contract's
 * socket operations (src/backend.h) on the completion port: a zero-byte
 * WSARecv, an overlapped WSASend, ConnectEx, AcceptEx, and the close that
 * waits for the kernel. sock.c holds the per-system half of src/stream.h
 * (reads and try-writes without an OVERLAPPED, shutdown, listen) and makes
 * sockets; tcp.c the TCP calls (binding, ConnectEx's preparation,
 * options); winsock.c starts Winsock and finds AcceptEx and ConnectEx;
 * inet.c converts addresses.
 */
#ifndef AX_WIN_SOCK_H
#define AX_WIN_SOCK_H

#include "../stream.h"
#include "internal.h"

#include <mswsock.h>
#include <ws2tcpip.h>

/* ax__sock_t flags. */
enum {
  AX__WIN_SOCK_IPV6 = 1u << 0,           /* AF_INET6; else AF_INET. */
  AX__WIN_SOCK_SKIP = 1u << 1,           /* Success at once: no packet. */
  AX__WIN_SOCK_RECV_ARMED = 1u << 2,     /* recv_start, not yet stopped. */
  AX__WIN_SOCK_RECV_POSTED = 1u << 3,    /* The zero-byte read is posted. */
  AX__WIN_SOCK_RECV_DUE = 1u << 4,       /* It completed at once: RECV due
                                            from the pending phase. */
  AX__WIN_SOCK_SEND_POSTED = 1u << 5,    /* A WSASend is the kernel's. */
  AX__WIN_SOCK_CONNECT_POSTED = 1u << 6, /* A ConnectEx is the kernel's. */
  AX__WIN_SOCK_ACCEPT_ARMED = 1u << 7,   /* accept_start, not yet stopped. */
  AX__WIN_SOCK_CLOSING = 1u << 8,        /* sock_close was called. */
  /* A datagram socket (src/win/udp.c): the zero-byte read peeks, as one
   * that did not would take the datagram and drop it. */
  AX__WIN_SOCK_DGRAM = 1u << 9,
  /* A named pipe's HANDLE, not a SOCKET (iocp-pipe.c): sock.c routes the
   * engine's calls to the pipe's. */
  AX__WIN_SOCK_PIPE = 1u << 10,
  /* A pipe whose connect waits for a free instance on a pool thread: no
   * handle yet, but open for closing, which must wait for the thread. */
  AX__WIN_SOCK_PIPE_WAIT = 1u << 11,
  /* A console's HANDLE (tty.c): a try-write writes it as a write does. */
  AX__WIN_SOCK_CONSOLE = 1u << 12,
};

/* tty-stream.c: write to a console at once, as its SEND does: the bytes
 * taken (all of them) or an error. */
intptr_t ax__win_tty_try_send(ax__sock_t *sock, const ax_buf_t *bufs,
                              unsigned int nbufs);

/* Stream flags of Windows', above the engine's own (src/stream.h). */
enum {
  /* The socket has a local address: ConnectEx needs one, and binding
   * twice is refused. */
  AX__STREAM_BOUND = 1u << AX__STREAM_SYSTEM_SHIFT,
};

/* AcceptEx calls a listener keeps posted (iocp-sock.c says why 32). */
enum { AX__ACCEPTS_POSTED = 32 };

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

/* sock.c: the last Winsock error, as an axle code. */
int ax__win_sock_error(void);
/* sock.c: a TCP socket of family, overlapped and not inheritable, or
 * INVALID_SOCKET with *err set. */
SOCKET ax__win_socket(int family, int *err);

/* iocp-sock.c: send one datagram to addr (len bytes) on a datagram
 * socket, as the contract's send does a stream's bytes: the count taken
 * at once, 0 when in flight (a SEND completion follows), or an error. */
intptr_t ax__iocp_send_to(ax_loop_t *loop, ax__sock_t *sock,
                          const ax_buf_t *bufs, unsigned int nbufs,
                          const struct sockaddr *addr, int len);

static inline SOCKET ax__win_sock_handle(const ax__sock_t *sock) {
  return (SOCKET)sock->socket;
}

#endif /* AX_WIN_SOCK_H */
