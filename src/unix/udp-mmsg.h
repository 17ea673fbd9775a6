/*
 * unix/udp-mmsg.h: datagrams in batches, for the UDP code (udp.c). Linux
 * has recvmmsg(2) and sendmmsg(2) (udp-mmsg-linux.c); elsewhere a batch of
 * sends is a loop and receiving is not batched (udp-mmsg-none.c). meson
 * chooses the file.
 */
#ifndef AX_UNIX_UDP_MMSG_H
#define AX_UNIX_UDP_MMSG_H

#include <sys/socket.h>

#include "../udp.h"
#include "sock.h"

/* Datagrams per batch, received or sent: the headers live on the stack. */
enum { AX__UDP_BATCH_MAX = 32 };

/* Receive up to count datagrams (at most AX__UDP_BATCH_MAX) into hdrs
 * without waiting: how many arrived, with each one's length in lens and
 * its msg_flags and msg_namelen in hdrs; AX_EAGAIN; or an error. */
int ax__udp_recv_batch(int fd, struct msghdr *hdrs, unsigned int *lens,
                       unsigned int count);

/* Send up to count datagrams (at most AX__UDP_BATCH_MAX) without waiting:
 * how many left (>= 1), or the error of the first (AX_EAGAIN). */
int ax__udp_send_batch(int fd, struct msghdr *hdrs, unsigned int count);

#endif /* AX_UNIX_UDP_MMSG_H */
