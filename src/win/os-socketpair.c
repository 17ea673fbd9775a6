/*
 * win/os-socketpair.c: ax_socketpair() on Windows, which has no Unix
 * domain socket pairs: a TCP connection over the loopback, made through a
 * listener of its own that lives only for the call. Another local process
 * could connect to that listener first, so the accepted connection is
 * checked to be ours (its peer is our client's address) and a stranger's is
 * closed, a bounded number of times. The sockets are overlapped (for the
 * IOCP backend, ax_tcp_open()) and not inheritable.
 */
#include "sock.h"

enum {
  /* Strangers' connections refused before giving up: a local program
   * that races every call is an attack, not bad luck. */
  SOCKETPAIR_ACCEPT_TRIES = 8,
};

static SOCKET socketpair_socket(int protocol) {
  return WSASocketW(AF_INET, SOCK_STREAM, protocol, NULL, 0,
                    WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
}

/* Whether two IPv4 addresses are the same address and port. */
static bool socketpair_same(const struct sockaddr_in *a,
                            const struct sockaddr_in *b) {
  return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

/* Accept on listener the connection whose peer is client's address. */
static int socketpair_accept(SOCKET listener, SOCKET client, SOCKET *server) {
  struct sockaddr_in mine;
  int len = sizeof(mine);
  if (getsockname(client, (struct sockaddr *)&mine, &len) != 0)
    return ax_translate_sys_error(WSAGetLastError());
  for (int i = 0; i < SOCKETPAIR_ACCEPT_TRIES; i++) {
    struct sockaddr_in peer;
    len = sizeof(peer);
    SOCKET s = accept(listener, (struct sockaddr *)&peer, &len);
    if (s == INVALID_SOCKET)
      return ax_translate_sys_error(WSAGetLastError());
    if (socketpair_same(&peer, &mine)) {
      *server = s;
      return 0;
    }
    closesocket(s); /* A stranger's. */
  }
  return AX_ECONNREFUSED;
}

/* Make a connected pair through a loopback listener of its own. */
static int socketpair_connect(int protocol, SOCKET *a, SOCKET *b) {
  int err = 0;
  SOCKET listener = socketpair_socket(protocol);
  SOCKET client = INVALID_SOCKET;
  if (listener == INVALID_SOCKET)
    return ax_translate_sys_error(WSAGetLastError());
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int len = sizeof(addr);
  if (bind(listener, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
      getsockname(listener, (struct sockaddr *)&addr, &len) != 0 ||
      listen(listener, 1) != 0)
    goto out_error;
  client = socketpair_socket(protocol);
  if (client == INVALID_SOCKET ||
      connect(client, (struct sockaddr *)&addr, sizeof(addr)) != 0)
    goto out_error;
  err = socketpair_accept(listener, client, b);
  if (err != 0)
    goto out_close;
  *a = client;
  closesocket(listener);
  return 0;
out_error:
  err = ax_translate_sys_error(WSAGetLastError());
out_close:
  if (client != INVALID_SOCKET)
    closesocket(client);
  closesocket(listener);
  return err;
}

static int socketpair_nonblock(SOCKET s, int flags) {
  u_long on = 1;
  if ((flags & AX_PIPE_NONBLOCK) && ioctlsocket(s, FIONBIO, &on) != 0)
    return ax_translate_sys_error(WSAGetLastError());
  return 0;
}

int ax_socketpair(int type, int protocol, ax_os_sock_t socks[2], int flags0,
                  int flags1) {
  if (socks == NULL || (flags0 & ~AX_PIPE_NONBLOCK) != 0 ||
      (flags1 & ~AX_PIPE_NONBLOCK) != 0)
    return AX_EINVAL;
  /* A loopback connection can only emulate a stream pair. */
  if (type != SOCK_STREAM)
    return AX_ENOTSUP;
  int err = ax__winsock_init();
  if (err != 0)
    return err;
  SOCKET a = INVALID_SOCKET;
  SOCKET b = INVALID_SOCKET;
  err = socketpair_connect(protocol, &a, &b);
  if (err != 0)
    return err;
  /* An accepted socket takes its listener's flags, but say it anyway:
   * no child may inherit either end. */
  (void)SetHandleInformation((HANDLE)b, HANDLE_FLAG_INHERIT, 0);
  err = socketpair_nonblock(a, flags0);
  if (err == 0)
    err = socketpair_nonblock(b, flags1);
  if (err != 0) {
    closesocket(a);
    closesocket(b);
    return err;
  }
  socks[0] = (ax_os_sock_t)a;
  socks[1] = (ax_os_sock_t)b;
  return 0;
}
