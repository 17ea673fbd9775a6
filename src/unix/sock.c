/*
 * unix/sock.c: the per-system half of the stream engine on POSIX
 * (src/stream.h): a stream's socket is a descriptor the backend watches,
 * read with read(2) and written with sendmsg(2) when no operation is
 * wanted; and the reserve descriptor a loop keeps while it listens.
 *
 * Out of descriptors (EMFILE, ENFILE), a level-triggered listener would be
 * reported ready again at once, forever, with a connection it cannot
 * accept. So each loop keeps one descriptor in reserve (/dev/null, opened
 * with its first listener): the listener closes it, accepts the pending
 * connection with the freed number and closes that at once (the client sees
 * the connection closed, not a hang), then opens the reserve again.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include "fs.h"
#include "sock.h"

void ax__sock_init(ax__sock_t *sock, ax__sock_cb cb) {
  ax__io_init(sock, cb, -1);
  sock->ops = 0;
}

/* Nothing to register yet: the backend learns of the descriptor when an
 * operation first waits on it. */
int ax__sock_attach(ax_loop_t *loop, ax__sock_t *sock, ax_os_sock_t s) {
  (void)loop;
  sock->fd = s;
  return 0;
}

static bool sock_sigpipe_pending(void) {
  sigset_t pending;
  return sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
}

/* As unix/fs.c guards a write: SIGPIPE blocked for the call, and one it
 * raised taken off the thread, unless one was pending before (not the
 * call's to take). Two system calls more per write, paid by terminals
 * and pipes only, which are no sockets (sockets pass MSG_NOSIGNAL). */
intptr_t ax__sock_writev(int fd, const ax_buf_t *bufs, unsigned int nbufs) {
  sigset_t pipe_only, old;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  (void)pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  bool was_blocked = sigismember(&old, SIGPIPE) == 1;
  bool was_pending = was_blocked && sock_sigpipe_pending();
  intptr_t result;
  for (;;) {
    ssize_t n = writev(fd, (const struct iovec *)(const void *)bufs,
                       (int)nbufs);
    result = n >= 0 ? n : ax_translate_sys_error(errno);
    if (n >= 0 || errno != EINTR)
      break;
  }
  if (result == AX_EPIPE && !was_pending && sock_sigpipe_pending())
    ax__fs_sigpipe_take();
  if (!was_blocked)
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
  return result;
}

/* Trimmed to what one result can count (sock-os.h). */
intptr_t ax__sock_try_send_capped(ax__sock_t *sock, const ax_buf_t *bufs,
                                  unsigned int nbufs) {
  ax_buf_t iov[AX_WRITE_MAX_BUFS];
  size_t total = 0;
  unsigned int count = 0;
  for (unsigned int i = 0; i < nbufs && total < AX__SOCK_IO_MAX_BYTES; i++) {
    size_t room = (size_t)AX__SOCK_IO_MAX_BYTES - total;
    iov[count] = bufs[i];
    if (iov[count].len > room)
      iov[count].len = room;
    total += iov[count].len;
    count++;
  }
  return ax__sock_sendmsg(sock->fd, iov, count);
}

int ax__sock_shutdown(ax__sock_t *sock) {
  if (ax__sys.shutdown(sock->fd, SHUT_WR) != 0)
    return ax_translate_sys_error(errno);
  return 0;
}

/* ---- Listening and the reserve descriptor ---- */

/* The reserve is open while the loop has listeners; it is -1 when it
 * could not be opened (out of descriptors already) and is retried. */
void ax__sock_reserve_open(ax_loop_t *loop) {
  int *reserve = &loop->priv.platform.reserve_fd;
  if (loop->priv.platform.listeners > 0 && *reserve < 0)
    *reserve = ax__sys.open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void sock_reserve_close(ax_loop_t *loop) {
  int *reserve = &loop->priv.platform.reserve_fd;
  if (*reserve >= 0)
    ax__close_fd(*reserve);
  *reserve = -1;
}

int ax__sock_listen(ax__sock_t *sock, int backlog) {
  if (ax__sys.listen(sock->fd, backlog) != 0)
    return ax_translate_sys_error(errno);
  return 0;
}

void ax__sock_listener_add(ax_loop_t *loop) {
  if (loop->priv.platform.listeners++ == 0) {
    loop->priv.platform.reserve_fd = -1;
    ax__sock_reserve_open(loop);
  }
}

void ax__sock_listener_remove(ax_loop_t *loop) {
  if (--loop->priv.platform.listeners == 0)
    sock_reserve_close(loop);
}

void ax__sock_shed(ax_loop_t *loop, int listen_fd) {
  ax__sock_reserve_open(loop);
  if (loop->priv.platform.reserve_fd < 0)
    return;
  sock_reserve_close(loop);
  int fd = ax__sock_accept(listen_fd);
  if (fd >= 0)
    ax__close_fd(fd);
  ax__sock_reserve_open(loop);
}

void ax__sock_discard(ax_os_sock_t s) {
  ax__close_fd(s);
}
