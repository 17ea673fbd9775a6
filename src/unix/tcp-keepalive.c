/*
 * unix/tcp-keepalive.c: the keep-alive idle time where <netinet/tcp.h>
 * names it TCP_KEEPALIVE (macOS). tcp-keepidle.c has the other name.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "sock.h"

int ax__sock_keepalive_delay(int fd, unsigned int delay_s) {
  return ax__sock_set_int(fd, IPPROTO_TCP, TCP_KEEPALIVE, (int)delay_s);
}
