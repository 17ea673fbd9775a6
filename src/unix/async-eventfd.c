/*
 * unix/async-eventfd.c: the wakeup channel of Linux, one eventfd.
 *
 * An eventfd is a counter the kernel keeps: a signal adds to it, one read
 * returns and resets it, and the descriptor serves as both ends of the
 * channel. unix/async.c does the rest.
 */
#include <errno.h>
#include <sys/eventfd.h>

#include "internal.h"
#include "linux.h"

int ax__wakeup_channel_open(int fds[2]) {
  int fd = ax__linux_sys.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0)
    return ax_translate_sys_error(errno);
  fds[0] = fd;
  fds[1] = fd;
  return 0;
}
