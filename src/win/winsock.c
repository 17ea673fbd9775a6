/*
 * win/winsock.c: Winsock, started once per process for the streams, and
 * the extension functions they need.
 *
 * WSAStartup() is reference-counted, so this once and the resolver's
 * (win/dns.c) may both call it; WSACleanup() is never called, as the
 * process may use Winsock until it exits. AcceptEx and ConnectEx are not
 * exported by any DLL in a form that works for every provider: Winsock
 * hands out their addresses (SIO_GET_EXTENSION_FUNCTION_POINTER). The
 * addresses are those of the Microsoft TCP provider, the same for IPv4
 * and IPv6 sockets, so they are asked for once, on a socket made only for
 * that. The table of Winsock calls that tests replace is here too.
 */
#include "sock.h"

struct ax__winsock ax__winsock;

/* The real functions, for tests to restore the table from. */
const struct ax__win_sock_calls ax__win_sock_default = {
    .wsa_socket = WSASocketW,
};

/* What the streams call; a copy of the above that tests may change. */
struct ax__win_sock_calls ax__win_sock = {
    .wsa_socket = WSASocketW,
};

static ax_once_t winsock_once = AX_ONCE_INIT;
/* The first failure, translated, or 0. Written once under the once. */
static int winsock_error;

static int winsock_find(SOCKET socket, GUID guid, void *fn, size_t fn_size) {
  DWORD bytes = 0;
  if (WSAIoctl(socket, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof(guid),
               fn, (DWORD)fn_size, &bytes, NULL, NULL) != 0)
    return ax_translate_sys_error(WSAGetLastError());
  return 0;
}

/* A machine may have IPv4 or IPv6 alone: either family's socket will do. */
static int winsock_find_all(void) {
  SOCKET socket = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                             WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (socket == INVALID_SOCKET)
    socket = WSASocketW(AF_INET6, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                        WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (socket == INVALID_SOCKET)
    return ax_translate_sys_error(WSAGetLastError());
  GUID accept_guid = WSAID_ACCEPTEX;
  GUID connect_guid = WSAID_CONNECTEX;
  int err = winsock_find(socket, accept_guid, &ax__winsock.accept_ex,
                         sizeof(ax__winsock.accept_ex));
  if (err == 0)
    err = winsock_find(socket, connect_guid, &ax__winsock.connect_ex,
                       sizeof(ax__winsock.connect_ex));
  closesocket(socket);
  return err;
}

static void winsock_run(void) {
  WSADATA data;
  /* 2.2: the version every Windows since 98 has. */
  int err = WSAStartup(MAKEWORD(2, 2), &data);
  if (err != 0) {
    winsock_error = ax_translate_sys_error(err);
    return;
  }
  winsock_error = winsock_find_all();
}

int ax__winsock_init(void) {
  ax_once(&winsock_once, winsock_run);
  return winsock_error;
}
