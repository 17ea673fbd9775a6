/*
 * win/inet.c: IPv4 and IPv6 addresses to and from text, with Winsock's
 * inet_pton() and inet_ntop() (Windows Vista and later).
 *
 * An IPv6 zone ("fe80::1%4") is the interface's index: Windows names its
 * interfaces by index (or by a LUID, which no address text carries), so a
 * zone that is not a decimal number is refused.
 */
#include <stdlib.h>
#include <string.h>

#include <ws2tcpip.h>

#include "sock.h"

/* Longest address text with its terminator: INET6_ADDRSTRLEN is 65 in
 * Windows' headers (room for a zone), 46 without one. */
enum { INET_TEXT_BYTES = 46 };

static int inet_port_ok(int port) {
  return port >= 0 && port <= 65535;
}

int ax_ip4_addr(const char *ip, int port, struct sockaddr_in *addr) {
  if (ip == NULL || addr == NULL || !inet_port_ok(port))
    return AX_EINVAL;
  memset(addr, 0, sizeof(*addr));
  addr->sin_family = AF_INET;
  addr->sin_port = htons((u_short)port);
  if (inet_pton(AF_INET, ip, &addr->sin_addr) != 1)
    return AX_EINVAL;
  return 0;
}

/* The zone after '%': a decimal interface index that fits a ULONG (not 0,
 * which names no interface). */
static int inet_zone(const char *zone, ULONG *scope_id) {
  if (zone[0] < '0' || zone[0] > '9')
    return AX_EINVAL;
  char *end;
  unsigned long long value = strtoull(zone, &end, 10);
  if (*end != '\0' || value == 0 || value > 0xffffffffu)
    return AX_EINVAL;
  *scope_id = (ULONG)value;
  return 0;
}

int ax_ip6_addr(const char *ip, int port, struct sockaddr_in6 *addr) {
  if (ip == NULL || addr == NULL || !inet_port_ok(port))
    return AX_EINVAL;
  memset(addr, 0, sizeof(*addr));
  addr->sin6_family = AF_INET6;
  addr->sin6_port = htons((u_short)port);
  char text[INET_TEXT_BYTES];
  const char *zone;
  if (ax__ip6_split(ip, text, sizeof(text), &zone) != 0 ||
      inet_pton(AF_INET6, text, &addr->sin6_addr) != 1)
    return AX_EINVAL;
  if (zone != NULL)
    return inet_zone(zone, &addr->sin6_scope_id);
  return 0;
}

int ax_ip_name(const struct sockaddr *addr, char *dst, size_t size) {
  if (addr == NULL || dst == NULL)
    return AX_EINVAL;
  char text[INET_TEXT_BYTES];
  const void *src;
  if (addr->sa_family == AF_INET)
    src = &((const struct sockaddr_in *)addr)->sin_addr;
  else if (addr->sa_family == AF_INET6)
    src = &((const struct sockaddr_in6 *)addr)->sin6_addr;
  else
    return AX_EAFNOSUPPORT;
  if (inet_ntop(addr->sa_family, src, text, sizeof(text)) == NULL)
    return ax_translate_sys_error(WSAGetLastError());
  size_t len = strlen(text);
  if (len >= size)
    return AX_ENOSPC;
  memcpy(dst, text, len + 1);
  return 0;
}
