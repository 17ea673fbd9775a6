/*
 * unix/signal.c: the POSIX part of signal handles (src/signal-registry.h):
 * the process's handler, installed with sigaction(2), and a wakeup
 * descriptor per loop that watches signals.
 *
 * The handler does what a handler may: it marks the signal caught in every
 * loop's group (atomics) and writes to each such loop's descriptor, which
 * the loop's backend watches like any other. So a signal wakes every loop
 * that watches it, on whatever thread the kernel ran the handler, also a
 * loop blocked in its wait (the wait's EINTR is retried and finds the
 * descriptor readable).
 *
 * The descriptor is the same kind as the async wakeup channel (an eventfd
 * on Linux, a pipe elsewhere: ax__wakeup_channel_open), but a separate one,
 * so that async handles and signals do not need to look at each other.
 *
 * Linux's signalfd is not used: it only receives signals that are blocked
 * in every thread of the process, which a library cannot arrange for
 * threads it did not start, and it takes each signal from one reader only,
 * where several loops must all see it.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "../signal-registry.h"
#include "internal.h"

_Static_assert(
    NSIG - 1 <= AX__SIGNAL_MAX,
    "signal-registry.h: a signal number does not fit the registry's bits");

/* How many wakeups one read drains from a pipe. An eventfd hands over its
 * whole counter in one read. */
enum { SIGNAL_DRAIN_WAKEUPS = 16 };

/* A loop's group with its wakeup descriptor. */
struct signal_channel {
  struct ax__signal_group group; /* The portable part; first. */
  ax__io_t io;                   /* The read end, as the backend watches it. */
  int write_fd;                  /* The write end (the same for an eventfd). */
};

/* What each installed handler replaced, restored when the last handle of
 * the signal stops. Under the registry's lock (signal.c). */
static struct sigaction signal_previous[AX__SIGNAL_MAX + 1];

static void signal_handler(int signum) {
  int saved_errno = errno;
  ax__signal_deliver(signum);
  errno = saved_errno;
}

int ax__signal_check(int signum) {
  if (signum <= 0 || signum >= NSIG || signum == SIGKILL || signum == SIGSTOP)
    return AX_EINVAL;
  return 0;
}

/* SA_RESTART: system calls the signal interrupts elsewhere in the program
 * resume instead of failing with EINTR. The mask blocks every signal while
 * the handler runs; it is a few instructions long. */
int ax__signal_install(int signum) {
  struct sigaction action;
  memset(&action, 0, sizeof(action));
  action.sa_handler = signal_handler;
  action.sa_flags = SA_RESTART;
  sigfillset(&action.sa_mask);
  /* Fails with EINVAL for the signals the C library keeps for itself
   * (glibc's 32 and 33). */
  if (sigaction(signum, &action, &signal_previous[signum]) != 0)
    return ax_translate_sys_error(errno);
  return 0;
}

void ax__signal_restore(int signum) {
  /* Cannot fail: the number was accepted by ax__signal_install(). */
  (void)sigaction(signum, &signal_previous[signum], NULL);
}

/* Empty the descriptor, then dispatch: in that order, so that a signal
 * caught after the read writes again and wakes the loop once more. */
static void signal_io_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                         intptr_t events) {
  (void)loop;
  (void)op;
  (void)events;
  uint64_t buf[SIGNAL_DRAIN_WAKEUPS];
  ssize_t n;
  /* Until a short read shows it empty (EAGAIN: it already was). */
  do {
    n = ax__sys.read(io->fd, buf, sizeof(buf));
  } while (n == (ssize_t)sizeof(buf) || (n < 0 && errno == EINTR));
  ax__signal_dispatch(&ax_container_of(io, struct signal_channel, io)->group);
}

static void signal_channel_close(int read_fd, int write_fd) {
  ax__close_fd(read_fd);
  if (write_fd != read_fd)
    ax__close_fd(write_fd);
}

int ax__signal_group_create(ax_loop_t *loop, struct ax__signal_group **group) {
  struct signal_channel *channel = ax__malloc(sizeof(*channel));
  if (channel == NULL)
    return AX_ENOMEM;
  int fds[2];
  int err = ax__wakeup_channel_open(fds);
  if (err != 0)
    goto out_free;
  ax__io_init(&channel->io, signal_io_cb, fds[0]);
  err = ax__io_start(loop, &channel->io, AX__IO_READ);
  if (err != 0)
    goto out_close;
  channel->write_fd = fds[1];
  *group = &channel->group;
  return 0;

out_close:
  signal_channel_close(fds[0], fds[1]);
out_free:
  ax__free(channel);
  return err;
}

void ax__signal_group_destroy(struct ax__signal_group *group) {
  struct signal_channel *channel = ax_container_of(group, struct signal_channel,
                                                   group);
  ax__io_stop(group->loop, &channel->io, AX__IO_READ);
  signal_channel_close(channel->io.fd, channel->write_fd);
  ax__free(channel);
}

void ax__signal_group_wake(struct ax__signal_group *group) {
  struct signal_channel *channel = ax_container_of(group, struct signal_channel,
                                                   group);
  int saved_errno = errno;
  /* Eight bytes, as an eventfd requires. EAGAIN: the counter or the pipe
   * is full, so the loop has a wakeup to read already. */
  uint64_t one = 1;
  while (ax__sys.write(channel->write_fd, &one, sizeof(one)) < 0 &&
         errno == EINTR)
    continue;
  errno = saved_errno;
}

/* In a child of fork(2): the channel is the parent's open file, so a
 * signal caught in the child would wake the parent's loop, and the
 * parent's reads would take the child's wakeups. Replace it with one of
 * the child's own, then wake the loop once: a signal caught before the
 * fork may have written to the old one only. */
static int signal_group_fork(struct ax__signal_group *group) {
  struct signal_channel *channel = ax_container_of(group, struct signal_channel,
                                                   group);
  int fds[2];
  int err = ax__wakeup_channel_open(fds);
  if (err != 0)
    return err;
  ax__io_stop(group->loop, &channel->io, AX__IO_READ);
  signal_channel_close(channel->io.fd, channel->write_fd);
  ax__io_init(&channel->io, signal_io_cb, fds[0]);
  channel->write_fd = fds[1];
  err = ax__io_start(group->loop, &channel->io, AX__IO_READ);
  if (err != 0)
    return err;
  ax__signal_group_wake(group);
  return 0;
}

int ax__signal_loop_fork(ax_loop_t *loop) {
  return ax__signal_group_apply(loop, signal_group_fork);
}
