/*
 * unix/udp-mmsg-none.c: one datagram per system call, where the system
 * has no recvmmsg(2) and sendmmsg(2) in a form axle uses (macOS; the BSDs
 * for now). Receiving never batches (ax__udp_batch_supported() is false);
 * a batch of sends is sendmsg(2) in a loop.
 */
#include <errno.h>
#include <sys/socket.h>

#include "udp-mmsg.h"

bool ax__udp_batch_supported(void) {
  return false;
}

int ax__udp_recv_batch(int fd, struct msghdr *hdrs, unsigned int *lens,
                       unsigned int count) {
  (void)fd;
  (void)hdrs;
  (void)lens;
  (void)count;
  return AX_ENOSYS;
}

int ax__udp_send_batch(int fd, struct msghdr *hdrs, unsigned int count) {
  unsigned int sent = 0;
  while (sent < count) {
    ssize_t n = ax__sys.sendmsg(fd, &hdrs[sent], ax__sock_send_flags);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return sent > 0 ? (int)sent : ax_translate_sys_error(errno);
    sent++;
  }
  return (int)sent;
}
