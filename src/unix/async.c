/*
 * unix/async.c: the loop's wakeup channel on POSIX systems.
 *
 * The channel is a pair of descriptors made by the platform's
 * ax__wakeup_channel_open(): one eventfd serving as both ends on Linux
 * (async-eventfd.c), a pipe elsewhere (async-pipe.c). Everything else is the
 * same for both and lives here. The channel is opened when the first async
 * handle is initialised, so a loop that never needs waking from another
 * thread holds no descriptor for it. Any thread signals by writing to the
 * write end; the loop, woken by the read end, drains it, then runs the async
 * handles that were sent to.
 */
#include <errno.h>
#include <stdint.h>

#include "internal.h"

/* How many signals one read drains from a pipe. An eventfd hands over its
 * whole counter in one read, whatever the buffer's size beyond 8 bytes. */
enum { ASYNC_DRAIN_SIGNALS = 16 };

static void async_io_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                        intptr_t events) {
  (void)op;
  (void)events;
  uint64_t buf[ASYNC_DRAIN_SIGNALS];
  ssize_t n;
  /* Read until a short read shows the channel empty (EAGAIN: it already
   * was). Bounded by the pipe's capacity: a signal that finds the pipe full
   * writes nothing. Nothing else can fail on a valid channel. */
  do {
    n = ax__sys.read(io->fd, buf, sizeof(buf));
  } while (n == (ssize_t)sizeof(buf) || (n < 0 && errno == EINTR));
  ax__async_dispatch(loop);
}

/* Close both ends, or the one descriptor of an eventfd once. */
static void async_close_channel(int read_fd, int write_fd) {
  ax__close_fd(read_fd);
  if (write_fd != read_fd)
    ax__close_fd(write_fd);
}

/* Make the loop's channel of a pair just opened, read through its io; on
 * failure the pair is closed and the loop has no channel. */
static int async_channel_start(ax_loop_t *loop, const int fds[2]) {
  ax__io_t *io = &loop->priv.platform.async_io;
  ax__io_init(io, async_io_cb, fds[0]);
  int err = ax__io_start(loop, io, AX__IO_READ);
  if (err != 0) {
    async_close_channel(fds[0], fds[1]);
    io->fd = -1;
    return err;
  }
  loop->priv.platform.async_wfd = fds[1];
  return 0;
}

int ax__wakeup_open(ax_loop_t *loop) {
  if (loop->priv.platform.async_io.fd >= 0)
    return 0;
  int fds[2];
  int err = ax__wakeup_channel_open(fds);
  return err != 0 ? err : async_channel_start(loop, fds);
}

void ax__wakeup_close(ax_loop_t *loop) {
  ax__io_t *io = &loop->priv.platform.async_io;
  if (io->fd < 0)
    return;
  ax__io_stop(loop, io, AX__IO_READ);
  async_close_channel(io->fd, loop->priv.platform.async_wfd);
  io->fd = -1;
  loop->priv.platform.async_wfd = -1;
}

void ax__wakeup_signal(ax_loop_t *loop) {
  /* ax_async_send() may run in a signal handler: leave errno as it was. */
  int saved_errno = errno;
  /* Eight bytes, the size an eventfd requires; a pipe takes a write this
   * small whole or not at all. EAGAIN means an eventfd counter about to
   * overflow or a full pipe, and then a wakeup is already pending, which is
   * all a signal has to guarantee. */
  uint64_t one = 1;
  while (ax__sys.write(loop->priv.platform.async_wfd, &one, sizeof(one)) < 0 &&
         errno == EINTR)
    continue;
  errno = saved_errno;
}

/* In a child of fork(2): the channel is the parent's open file, so a send
 * in the child would wake the parent, and a worker's completion would be
 * read by whichever process reads first. Replace it with one of the
 * child's own, and wake the loop once: sends and completions before the
 * fork may have written to the old one only. */
int ax__wakeup_fork(ax_loop_t *loop) {
  if (loop->priv.platform.async_io.fd < 0)
    return 0;
  /* The new channel first: if it cannot be made, the loop keeps the old
   * one, shared but working, and the caller may try again. */
  int fds[2];
  int err = ax__wakeup_channel_open(fds);
  if (err != 0)
    return err;
  ax__wakeup_close(loop);
  err = async_channel_start(loop, fds);
  if (err == 0)
    ax__wakeup_signal(loop);
  return err;
}
