/*
 * unix/tty.c: terminals (ax_tty_t) on POSIX systems, and ax_guess_handle().
 *
 * A terminal rides the stream engine (src/stream.c) as a TCP connection
 * does, on the readiness emulation's operations (readiness.c) whatever
 * the backend: the engine reads with read(2), and sendmsg(2), which a
 * terminal refuses with ENOTSOCK, falls back to writev(2) (sock-os.h).
 * On io_uring, whose socket operations are the kernel's and want a
 * socket, the descriptor's readiness comes back as a plain poll
 * completion; tty_sock_cb turns it into the operations' completions as
 * the readiness backends do before they call the engine. docs/tty.md
 * says why this rather than a stream of its own.
 *
 * The handle opens the terminal anew by its name, so that O_NONBLOCK,
 * which the engine needs, stays on the handle's own open file and does
 * not surprise the shell that shares standard input. A pseudo-terminal's
 * master is duplicated instead: its name opens a new pseudo-terminal.
 *
 * Modes are termios settings. The first change of mode records the
 * settings before it, in the handle (to go back to normal, and at close)
 * and, for the first terminal of the process, in static memory that
 * ax_tty_reset_mode() reads from a signal handler: guarded by an atomic
 * flag, not a lock, so that a handler that interrupts a change finds the
 * flag taken and returns AX_EBUSY rather than deadlocking.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "sock.h"

/* What ax_tty_reset_mode() restores: the first terminal that left its
 * normal mode, while its handle is open. */
static atomic_int tty_reset_busy;        /* Taken while it changes. */
static int tty_reset_fd = -1;            /* Its descriptor, or -1. */
static struct termios tty_reset_termios; /* Its settings before. */

/* Take the reset record, or say it is taken (a signal handler that
 * interrupted its owner). */
static bool tty_reset_take(void) {
  return atomic_exchange(&tty_reset_busy, 1) == 0;
}

static void tty_reset_give(void) {
  atomic_store(&tty_reset_busy, 0);
}

/* Record fd's settings before its first change, unless a terminal is
 * recorded already. */
static void tty_reset_record(int fd, const struct termios *saved) {
  if (!tty_reset_take())
    return;
  if (tty_reset_fd < 0) {
    tty_reset_termios = *saved;
    tty_reset_fd = fd;
  }
  tty_reset_give();
}

/* fd closes: forget it if it is the recorded one. */
static void tty_reset_forget(int fd) {
  while (!tty_reset_take())
    ; /* Only a signal handler holds it, and briefly. */
  if (tty_reset_fd == fd)
    tty_reset_fd = -1;
  tty_reset_give();
}

int ax_tty_reset_mode(void) {
  int saved_errno = errno;
  if (!tty_reset_take())
    return AX_EBUSY;
  int err = 0;
  if (tty_reset_fd >= 0 &&
      tcsetattr(tty_reset_fd, TCSANOW, &tty_reset_termios) != 0)
    err = ax_translate_sys_error(errno);
  tty_reset_give();
  errno = saved_errno;
  return err;
}

/* The engine's completions, and on io_uring the readiness to turn into
 * them (see the top of this file). */
static void tty_sock_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                        intptr_t result) {
  ax_tty_t *tty = ax_container_of(io, ax_tty_t, stream.priv.sock);
  if (op == AX__OP_POLL) {
    if (io->ops != 0)
      ax__io_ready_ops(loop, io, (unsigned int)result);
    return;
  }
  tty->priv.engine_cb(loop, io, op, result);
}

/* Whether fd is a pseudo-terminal's master: only a master has a slave's
 * name to give (ptsname_r(), not ptsname(), whose static buffer two loops'
 * threads would share; only whether it answers is used). A master's own
 * name is the multiplexer (Linux, macOS: /dev/ptmx), whose opening makes a
 * new pseudo-terminal: it must never be reopened by name. */
static bool tty_is_master(int fd) {
  char name[PATH_MAX];
  int saved_errno = errno;
  bool master = ptsname_r(fd, name, sizeof(name)) == 0;
  errno = saved_errno;
  return master;
}

/* A descriptor of the handle's own on the terminal of fd, non-blocking and
 * close-on-exec: the terminal opened by its name, else (no name, or a
 * pseudo-terminal's master) a duplicate. */
static int tty_open(int fd, bool readable) {
  char name[PATH_MAX];
  if (!tty_is_master(fd) && ttyname_r(fd, name, sizeof(name)) == 0) {
    int flags = (readable ? O_RDWR : O_WRONLY) | O_NOCTTY | O_CLOEXEC |
                O_NONBLOCK;
    int own = ax__sys.open(name, flags);
    if (own >= 0)
      return own;
  }
  int own = ax__sys.fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0)
    return ax_translate_sys_error(errno);
  int err = ax__fd_set_nonblock(own);
  if (err != 0) {
    ax__close_fd(own);
    return err;
  }
  return own;
}

int ax_tty_init(ax_loop_t *loop, ax_tty_t *tty, int fd, bool readable) {
  if (loop == NULL || tty == NULL || fd < 0)
    return AX_EINVAL;
  if (ax__sys.fcntl(fd, F_GETFD) < 0)
    return ax_translate_sys_error(errno);
  if (!isatty(fd))
    return AX_EINVAL;
  int err = ax__stream_init(loop, &tty->stream, AX_TTY);
  if (err != 0)
    return err;
  int own = tty_open(fd, readable);
  tty->stream.handle.priv_flags |= AX__STREAM_OWN_OPS;
  unsigned int flags = AX__STREAM_CONNECTED;
  if (!readable)
    flags |= AX__STREAM_READ_EOF;
  err = own < 0 ? own : ax__stream_open(&tty->stream, own, flags);
  if (err != 0) {
    if (own >= 0)
      ax__close_fd(own);
    ax__handle_init_undo(&tty->stream.handle);
    return err;
  }
  tty->priv.engine_cb = tty->stream.priv.sock.cb;
  tty->stream.priv.sock.cb = tty_sock_cb;
  tty->priv.saved = NULL;
  tty->priv.mode = AX_TTY_MODE_NORMAL;
  return 0;
}

/* Raw input: each byte as it comes, nothing echoed, edited, translated or
 * turned into a signal; 8-bit characters. Output processing stays. */
static void tty_make_raw(struct termios *t) {
  t->c_iflag &= ~(tcflag_t)(BRKINT | ICRNL | INLCR | IGNCR | INPCK | ISTRIP |
                            IXON | PARMRK);
  t->c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | IEXTEN | ISIG);
  t->c_cflag = (t->c_cflag & ~(tcflag_t)(CSIZE | PARENB)) | CS8;
  t->c_cc[VMIN] = 1;
  t->c_cc[VTIME] = 0;
}

static int tty_setattr(int fd, const struct termios *t) {
  int r;
  do {
    r = tcsetattr(fd, TCSADRAIN, t);
  } while (r != 0 && errno == EINTR);
  return r == 0 ? 0 : ax_translate_sys_error(errno);
}

int ax_tty_set_mode(ax_tty_t *tty, ax_tty_mode mode) {
  if (tty == NULL || (unsigned int)mode > AX_TTY_MODE_RAW_VT)
    return AX_EINVAL;
  if (ax__handle_is_closing(&tty->stream.handle))
    return AX_EBADF;
  if ((int)mode == tty->priv.mode)
    return 0;
  int fd = tty->stream.priv.sock.fd;
  struct termios *saved = tty->priv.saved;
  if (saved == NULL) {
    saved = ax__malloc(sizeof(*saved));
    if (saved == NULL)
      return AX_ENOMEM;
    if (tcgetattr(fd, saved) != 0) {
      int err = ax_translate_sys_error(errno);
      ax__free(saved);
      return err;
    }
    tty->priv.saved = saved;
    tty_reset_record(fd, saved);
  }
  struct termios t = *saved;
  if (mode != AX_TTY_MODE_NORMAL)
    tty_make_raw(&t);
  int err = tty_setattr(fd, &t);
  if (err == 0)
    tty->priv.mode = (int)mode;
  return err;
}

int ax_tty_get_winsize(ax_tty_t *tty, int *width, int *height) {
  if (tty == NULL || width == NULL || height == NULL)
    return AX_EINVAL;
  if (ax__handle_is_closing(&tty->stream.handle))
    return AX_EBADF;
  struct winsize ws;
  int r;
  do {
    r = ioctl(tty->stream.priv.sock.fd, TIOCGWINSZ, &ws);
  } while (r != 0 && errno == EINTR);
  if (r != 0)
    return ax_translate_sys_error(errno);
  *width = ws.ws_col;
  *height = ws.ws_row;
  return 0;
}

/* Put the settings back if the mode was changed, forget the reset record,
 * and close the stream (its descriptor is the handle's own). */
void ax__tty_close(ax_handle_t *handle) {
  ax_tty_t *tty = (ax_tty_t *)handle;
  int fd = tty->stream.priv.sock.fd;
  if (tty->priv.saved != NULL) {
    if (tty->priv.mode != AX_TTY_MODE_NORMAL)
      (void)tty_setattr(fd, tty->priv.saved);
    tty_reset_forget(fd);
    ax__free(tty->priv.saved);
    tty->priv.saved = NULL;
  }
  ax__stream_close(handle);
}

/* A socket's kind, from its type and family. */
static ax_guess tty_guess_socket(int fd) {
  int type = 0;
  socklen_t len = sizeof(type);
  struct sockaddr_storage addr;
  socklen_t addr_len = sizeof(addr);
  if (ax__sys.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
      ax__sys.getsockname(fd, (struct sockaddr *)&addr, &addr_len) != 0)
    return AX_GUESS_UNKNOWN;
  if (addr.ss_family == AF_UNIX)
    return type == SOCK_STREAM ? AX_GUESS_PIPE : AX_GUESS_UNKNOWN;
  if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6)
    return AX_GUESS_UNKNOWN;
  if (type == SOCK_STREAM)
    return AX_GUESS_TCP;
  return type == SOCK_DGRAM ? AX_GUESS_UDP : AX_GUESS_UNKNOWN;
}

ax_guess ax_guess_handle(int fd) {
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0)
    return AX_GUESS_UNKNOWN;
  if (isatty(fd))
    return AX_GUESS_TTY;
  if (S_ISREG(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
    return AX_GUESS_FILE;
  if (S_ISFIFO(st.st_mode))
    return AX_GUESS_PIPE;
  if (S_ISSOCK(st.st_mode))
    return tty_guess_socket(fd);
  return AX_GUESS_UNKNOWN;
}
