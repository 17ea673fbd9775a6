/*
 * unix/async.c: the loop's wakeup channel on Linux, an eventfd.
 *
 * Opened when the first async handle is initialised, so a loop that never
 * needs waking from another thread holds no descriptor for it. Any thread
 * signals by adding to the counter; the loop reads (and so resets) it, then
 * runs the async handles that were sent to.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>

#include "internal.h"
#include "linux.h"

static void async_io_cb(ax_loop_t *loop, ax__io_t *io, unsigned int events) {
  (void)events;
  uint64_t count;
  /* The counter is drained in one read. EAGAIN means another wake already
   * drained it; nothing else can fail on a valid eventfd. */
  while (ax__sys.read(io->fd, &count, sizeof(count)) < 0 && errno == EINTR)
    continue;
  ax__async_dispatch(loop);
}

int ax__wakeup_open(ax_loop_t *loop) {
  ax__io_t *io = &loop->priv.platform.async_io;
  if (io->fd >= 0)
    return 0;
  int fd = ax__linux_sys.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0)
    return ax_translate_sys_error(errno);
  ax__io_init(io, async_io_cb, fd);
  int err = ax__io_start(loop, io, AX__IO_READ);
  if (err != 0) {
    ax__close_fd(fd);
    io->fd = -1;
    return err;
  }
  loop->priv.platform.async_wfd = fd;
  return 0;
}

void ax__wakeup_close(ax_loop_t *loop) {
  ax__io_t *io = &loop->priv.platform.async_io;
  if (io->fd < 0)
    return;
  ax__io_stop(loop, io, AX__IO_READ);
  ax__close_fd(io->fd);
  io->fd = -1;
  loop->priv.platform.async_wfd = -1;
}

void ax__wakeup_signal(ax_loop_t *loop) {
  /* ax_async_send() may run in a signal handler: leave errno as it was. */
  int saved_errno = errno;
  uint64_t one = 1;
  /* EAGAIN only if the counter is about to overflow, and then a wakeup is
   * already pending, which is all a signal has to guarantee. */
  while (ax__sys.write(loop->priv.platform.async_wfd, &one, sizeof(one)) < 0 &&
         errno == EINTR)
    continue;
  errno = saved_errno;
}
