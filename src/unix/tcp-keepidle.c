/*
 * unix/tcp-keepidle.c: the keep-alive idle time where <netinet/tcp.h>
 * names it TCP_KEEPIDLE (Linux, FreeBSD, NetBSD, DragonFly). macOS calls
 * it TCP_KEEPALIVE (tcp-keepalive.c); meson asks the header which.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "sock.h"

int ax__sock_keepalive_delay(int fd, unsigned int delay_s) {
  return ax__sock_set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, (int)delay_s);
}
