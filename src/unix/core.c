/*
 * unix/core.c: the POSIX pieces of the core: the monotonic clock, error
 * translation, the wakeup channel's closed state, and the fd-poll
 * operation's bookkeeping in front of the backend (only changes of the
 * interest set reach the kernel), and what every backend's fork shares.
 */
#include <time.h>

#include "../fs-event.h"
#include "internal.h"

uint64_t ax__hrtime_ns(void) {
  struct timespec ts;
  /* CLOCK_MONOTONIC is read through the vDSO on Linux: no system call. It
   * cannot fail with a valid clock id and pointer. */
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Every POSIX wakeup channel (an eventfd on Linux, a pipe elsewhere) is
 * closed while its descriptors are -1, so this is shared rather than
 * written once per channel. */
void ax__wakeup_init(ax_loop_t *loop) {
  loop->priv.platform.async_io.fd = -1;
  loop->priv.platform.async_wfd = -1;
}

int ax_translate_sys_error(int sys_error) {
  return sys_error <= 0 ? sys_error : -sys_error;
}

void ax__io_init(ax__io_t *io, ax__io_cb cb, int fd) {
  io->cb = cb;
  io->fd = fd;
  io->events = 0;
  io->ops = 0;
}

int ax__io_start(ax_loop_t *loop, ax__io_t *io, unsigned int events) {
  assert(io->fd >= 0 && "axle: polling a negative descriptor");
  unsigned int had = io->events;
  unsigned int want = had | events;
  if (want == had)
    return 0;
  int err = loop->priv.platform.backend->io_start(loop, io, want);
  if (err == 0 && had == 0)
    loop->priv.platform.io_count++;
  return err;
}

/* Stop io with the backend entirely. */
static void io_stop_all(ax_loop_t *loop, ax__io_t *io) {
  loop->priv.platform.backend->io_stop(loop, io);
  loop->priv.platform.io_count--;
}

bool ax__io_any(const ax_loop_t *loop) {
  return loop->priv.platform.io_count != 0;
}

int ax__io_stop(ax_loop_t *loop, ax__io_t *io, unsigned int events) {
  const struct ax__backend *backend = loop->priv.platform.backend;
  unsigned int want = io->events & ~events;
  if (want == io->events)
    return 0;
  if (want != 0 && backend->io_start(loop, io, want) == 0)
    return 0;
  /* Nothing left to watch; or the kernel would not narrow the set (ENOMEM),
   * so drop it and register the rest anew, reporting a second refusal. */
  io_stop_all(loop, io);
  return want != 0 ? ax__io_start(loop, io, want) : 0;
}

int ax__unix_loop_fork(ax_loop_t *loop) {
  int err = ax__wakeup_fork(loop);
  int signal_err = ax__signal_loop_fork(loop);
  int watch_err = ax__fs_event_loop_fork(loop);
  if (err == 0)
    err = signal_err;
  return err != 0 ? err : watch_err;
}
