/*
 * unix/udp-mmsg-linux.c: many datagrams per system call, with Linux's
 * recvmmsg(2) and sendmmsg(2) (udp-mmsg-none.c is the other way). The
 * caller's headers are copied into struct mmsghdr here, so that the UDP
 * code (udp.c) keeps to POSIX's struct msghdr.
 */
#include <errno.h>
#include <sys/socket.h>

#include "udp-mmsg.h"

bool ax__udp_batch_supported(void) {
  return true;
}

int ax__udp_recv_batch(int fd, struct msghdr *hdrs, unsigned int *lens,
                       unsigned int count) {
  struct mmsghdr msgs[AX__UDP_BATCH_MAX];
  if (count > AX__UDP_BATCH_MAX)
    count = AX__UDP_BATCH_MAX;
  for (unsigned int i = 0; i < count; i++) {
    msgs[i].msg_hdr = hdrs[i];
    msgs[i].msg_len = 0;
  }
  int n;
  do {
    n = recvmmsg(fd, msgs, count, 0, NULL);
  } while (n < 0 && errno == EINTR);
  if (n < 0)
    return ax_translate_sys_error(errno);
  for (int i = 0; i < n; i++) {
    hdrs[i].msg_flags = msgs[i].msg_hdr.msg_flags;
    hdrs[i].msg_namelen = msgs[i].msg_hdr.msg_namelen;
    lens[i] = msgs[i].msg_len;
  }
  return n;
}

int ax__udp_send_batch(int fd, struct msghdr *hdrs, unsigned int count) {
  struct mmsghdr msgs[AX__UDP_BATCH_MAX];
  if (count > AX__UDP_BATCH_MAX)
    count = AX__UDP_BATCH_MAX;
  for (unsigned int i = 0; i < count; i++) {
    msgs[i].msg_hdr = hdrs[i];
    msgs[i].msg_len = 0;
  }
  int n;
  do {
    n = sendmmsg(fd, msgs, count, ax__sock_send_flags);
  } while (n < 0 && errno == EINTR);
  return n >= 0 ? n : ax_translate_sys_error(errno);
}
