/*
 * test_tty.c: terminal handles on a pseudo-terminal: what the
 * handle writes is read from the master, what the master writes is read
 * through the handle, in line mode and in raw mode; raw mode changes the
 * termios settings and normal mode, close and ax_tty_reset_mode() put them
 * back; a size set on the master is reported; ax_guess_handle() tells
 * terminals, pipes, files and sockets apart; and the errors of each call.
 * Then what a libuv program relies on: empty and large writes, descriptors
 * that are not terminals, modes left alone or set twice, two terminals
 * and the reset, a terminal that hangs up under a reader (either side),
 * a closed handle, and the kinds
 * ax_guess_handle() tells as uv_guess_handle() does.
 * POSIX only: Windows has no terminal handle yet. The pseudo-terminal is
 * made with posix_openpt(), which every POSIX system has in its C library
 * and headers, rather than openpty(), whose header and library differ per
 * system (and which the macOS SDK that zig cc carries lacks).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "test.h"

/* A loop, a pseudo-terminal and a handle on its slave side. */
struct fixture {
  ax_loop_t loop;
  struct test_guard guard;
  int master;      /* The master side: the "terminal emulator". */
  int slave;       /* The slave side: what the program's stdin would be. */
  ax_tty_t tty;    /* The handle, on the slave. */
  char got[256];   /* What the handle read. */
  size_t got_len;  /* Bytes in got. */
  int writes_done; /* Write callbacks with status 0. */
};

/* A pseudo-terminal: its master and slave sides. */
static void pty_open(int *master, int *slave) {
  *master = posix_openpt(O_RDWR | O_NOCTTY);
  assert_true(*master >= 0);
  assert_int_equal(grantpt(*master), 0);
  assert_int_equal(unlockpt(*master), 0);
  const char *name = ptsname(*master);
  assert_non_null(name);
  *slave = open(name, O_RDWR | O_NOCTTY);
  assert_true(*slave >= 0);
}

static void fixture_open(struct fixture *fx) {
  memset(fx, 0, sizeof(*fx));
  test_loop_open(&fx->loop);
  test_guard_start(&fx->loop, &fx->guard);
  pty_open(&fx->master, &fx->slave);
  assert_int_equal(ax_tty_init(&fx->loop, &fx->tty, fx->slave, true), 0);
}

static void fixture_close(struct fixture *fx) {
  ax_close(&fx->tty.stream.handle, NULL);
  assert_int_equal(ax_run(&fx->loop, AX_RUN_DEFAULT), 0);
  close(fx->slave);
  close(fx->master);
  test_guard_close(&fx->guard);
  test_loop_close(&fx->loop);
}

/* Read from the master until want bytes came, or a second passed. */
static size_t master_read(struct fixture *fx, char *buf, size_t want) {
  size_t got = 0;
  while (got < want) {
    struct pollfd pfd = {.fd = fx->master, .events = POLLIN};
    if (poll(&pfd, 1, 1000) != 1)
      break;
    ssize_t n = read(fx->master, buf + got, want - got);
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  return got;
}

static void write_cb(ax_write_t *req, int status) {
  struct fixture *fx = req->handle->handle.data;
  assert_int_equal(status, 0);
  fx->writes_done++;
}

static void alloc_cb(ax_handle_t *handle, size_t suggested, ax_buf_t *buf) {
  (void)suggested;
  struct fixture *fx = handle->data;
  *buf = ax_buf_init(fx->got + fx->got_len, sizeof(fx->got) - fx->got_len);
}

static void read_cb(ax_stream_t *stream, ptrdiff_t nread, const ax_buf_t *buf) {
  (void)buf;
  struct fixture *fx = stream->handle.data;
  assert_true(nread >= 0);
  fx->got_len += (size_t)nread;
}

/* Run until the handle has read want bytes. */
static void wait_read(struct fixture *fx, size_t want) {
  while (fx->got_len < want && !fx->guard.fired)
    ax_run(&fx->loop, AX_RUN_ONCE);
  assert_false(fx->guard.fired);
}

/* A write through the handle, a try-write too, reach the master. */
static void test_tty_write(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  fx.tty.stream.handle.data = &fx;
  ax_write_t req;
  ax_buf_t buf = ax_buf_init("hello", 5);
  assert_int_equal(ax_write(&req, &fx.tty.stream, &buf, 1, write_cb), 0);
  while (fx.writes_done == 0 && !fx.guard.fired)
    ax_run(&fx.loop, AX_RUN_ONCE);
  assert_int_equal(fx.writes_done, 1);
  buf = ax_buf_init(" you", 4);
  assert_int_equal(ax_try_write(&fx.tty.stream, &buf, 1), 4);
  char out[16] = {0};
  assert_int_equal(master_read(&fx, out, 9), 9);
  assert_memory_equal(out, "hello you", 9);
  assert_true(ax_is_writable(&fx.tty.stream));
  fixture_close(&fx);
}

/* In line mode a line arrives whole; in raw mode each byte as typed. */
static void test_tty_read(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  fx.tty.stream.handle.data = &fx;
  assert_int_equal(ax_read_start(&fx.tty.stream, alloc_cb, read_cb), 0);
  assert_int_equal(write(fx.master, "line\n", 5), 5);
  wait_read(&fx, 5);
  assert_memory_equal(fx.got, "line\n", 5);
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_RAW), 0);
  fx.got_len = 0;
  assert_int_equal(write(fx.master, "x", 1), 1);
  wait_read(&fx, 1);
  assert_int_equal(fx.got[0], 'x');
  assert_int_equal(ax_read_stop(&fx.tty.stream), 0);
  fixture_close(&fx);
}

/* Raw mode turns line editing, echo and signals off; normal mode, the
 * close and ax_tty_reset_mode() put the settings back. */
static void test_tty_modes(void **state) {
  (void)state;
  struct fixture fx;
  struct termios before, now;
  fixture_open(&fx);
  assert_int_equal(tcgetattr(fx.slave, &before), 0);
  assert_true(before.c_lflag & ICANON);
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_RAW), 0);
  assert_int_equal(tcgetattr(fx.slave, &now), 0);
  assert_false(now.c_lflag & (ICANON | ECHO | ISIG | IEXTEN));
  assert_false(now.c_iflag & (ICRNL | IXON));
  assert_int_equal(now.c_cflag & CSIZE, CS8);
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_NORMAL), 0);
  assert_int_equal(tcgetattr(fx.slave, &now), 0);
  assert_int_equal(now.c_lflag, before.c_lflag);
  assert_int_equal(now.c_iflag, before.c_iflag);
  /* RAW_VT is raw on POSIX. */
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_RAW_VT), 0);
  assert_int_equal(tcgetattr(fx.slave, &now), 0);
  assert_false(now.c_lflag & ICANON);
  /* What a program's exit does. */
  assert_int_equal(ax_tty_reset_mode(), 0);
  assert_int_equal(tcgetattr(fx.slave, &now), 0);
  assert_int_equal(now.c_lflag, before.c_lflag);
  /* Closing a raw handle puts the settings back too. */
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_RAW), 0);
  ax_close(&fx.tty.stream.handle, NULL);
  assert_int_equal(tcgetattr(fx.slave, &now), 0);
  assert_int_equal(now.c_lflag, before.c_lflag);
  /* With no terminal left raw, a reset does nothing. */
  assert_int_equal(ax_tty_reset_mode(), 0);
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_RAW), AX_EBADF);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  close(fx.slave);
  close(fx.master);
  test_guard_close(&fx.guard);
  test_loop_close(&fx.loop);
}

static void test_tty_winsize(void **state) {
  (void)state;
  struct fixture fx;
  int width = 0, height = 0;
  fixture_open(&fx);
  struct winsize ws = {.ws_row = 24, .ws_col = 80};
  assert_int_equal(ioctl(fx.master, TIOCSWINSZ, &ws), 0);
  assert_int_equal(ax_tty_get_winsize(&fx.tty, &width, &height), 0);
  assert_int_equal(width, 80);
  assert_int_equal(height, 24);
  ws.ws_row = 50;
  ws.ws_col = 132;
  assert_int_equal(ioctl(fx.master, TIOCSWINSZ, &ws), 0);
  assert_int_equal(ax_tty_get_winsize(&fx.tty, &width, &height), 0);
  assert_int_equal(width, 132);
  assert_int_equal(height, 50);
  assert_int_equal(ax_tty_get_winsize(NULL, &width, &height), AX_EINVAL);
  assert_int_equal(ax_tty_get_winsize(&fx.tty, NULL, &height), AX_EINVAL);
  fixture_close(&fx);
}

/* A handle that only writes refuses to read; the caller's descriptor is
 * its own to close, before or after the handle. */
static void test_tty_write_only(void **state) {
  (void)state;
  struct fixture fx;
  ax_tty_t out;
  fixture_open(&fx);
  fx.tty.stream.handle.data = &fx;
  int fd = dup(fx.slave);
  assert_true(fd >= 0);
  assert_int_equal(ax_tty_init(&fx.loop, &out, fd, false), 0);
  close(fd);
  assert_int_equal(ax_read_start(&out.stream, alloc_cb, read_cb), AX_ENOTCONN);
  assert_false(ax_is_readable(&out.stream));
  ax_buf_t buf = ax_buf_init("ok", 2);
  assert_int_equal(ax_try_write(&out.stream, &buf, 1), 2);
  char got[2];
  assert_int_equal(master_read(&fx, got, 2), 2);
  assert_memory_equal(got, "ok", 2);
  ax_close(&out.stream.handle, NULL);
  fixture_close(&fx);
}

static void test_tty_errors(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_tty_t tty;
  int fds[2];
  test_loop_open(&loop);
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(ax_tty_init(NULL, &tty, 0, true), AX_EINVAL);
  assert_int_equal(ax_tty_init(&loop, NULL, 0, true), AX_EINVAL);
  assert_int_equal(ax_tty_init(&loop, &tty, -1, true), AX_EINVAL);
  assert_int_equal(ax_tty_init(&loop, &tty, fds[0], true), AX_EINVAL);
  close(fds[1]);
  assert_int_equal(ax_tty_init(&loop, &tty, fds[1], true), AX_EBADF);
  close(fds[0]);
  assert_int_equal(ax_tty_set_mode(NULL, AX_TTY_MODE_RAW), AX_EINVAL);
  assert_string_equal(ax_handle_type_name(AX_TTY), "tty");
  assert_int_equal(ax_handle_size(AX_TTY), sizeof(ax_tty_t));
  test_loop_close(&loop);
}

static void test_tty_bad_mode(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  assert_int_equal(ax_tty_set_mode(&fx.tty, (ax_tty_mode)7), AX_EINVAL);
  assert_int_equal(ax_tty_set_mode(&fx.tty, (ax_tty_mode)-1), AX_EINVAL);
  fixture_close(&fx);
}

static void test_guess_handle(void **state) {
  (void)state;
  int master, slave, fds[2], pair[2];
  pty_open(&master, &slave);
  assert_int_equal(ax_guess_handle(slave), AX_GUESS_TTY);
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(ax_guess_handle(fds[0]), AX_GUESS_PIPE);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  assert_int_equal(ax_guess_handle(pair[0]), AX_GUESS_PIPE);
  int tcp = socket(AF_INET, SOCK_STREAM, 0);
  int udp = socket(AF_INET, SOCK_DGRAM, 0);
  assert_int_equal(ax_guess_handle(tcp), AX_GUESS_TCP);
  assert_int_equal(ax_guess_handle(udp), AX_GUESS_UDP);
  int file = open("/dev/null", O_RDONLY);
  assert_int_equal(ax_guess_handle(file), AX_GUESS_FILE);
  assert_int_equal(ax_guess_handle(-1), AX_GUESS_UNKNOWN);
  close(file);
  assert_int_equal(ax_guess_handle(file), AX_GUESS_UNKNOWN);
  close(tcp);
  close(udp);
  close(pair[0]);
  close(pair[1]);
  close(fds[0]);
  close(fds[1]);
  close(slave);
  close(master);
}

/* ---- Behaviours a libuv program relies on ---- */

/* An empty write completes with 0 and puts nothing on the terminal; an
 * empty try-write writes 0 bytes (libuv's tty_empty_write). */
static void test_tty_empty_write(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  fx.tty.stream.handle.data = &fx;
  ax_write_t req;
  ax_buf_t empty = ax_buf_init("", 0);
  assert_int_equal(ax_write(&req, &fx.tty.stream, &empty, 1, write_cb), 0);
  while (fx.writes_done == 0 && !fx.guard.fired)
    ax_run(&fx.loop, AX_RUN_ONCE);
  assert_int_equal(fx.writes_done, 1);
  assert_int_equal(ax_try_write(&fx.tty.stream, &empty, 1), 0);
  struct pollfd pfd = {.fd = fx.master, .events = POLLIN};
  assert_int_equal(poll(&pfd, 1, 0), 0);
  fixture_close(&fx);
}

/* More than a terminal buffers at once (libuv's tty_large_write): the
 * write is queued and finished as the master reads, every byte in order. */
static void test_tty_large_write(void **state) {
  (void)state;
  enum { BYTES = 256 * 1024 };
  struct fixture fx;
  fixture_open(&fx);
  fx.tty.stream.handle.data = &fx;
  char *data = malloc(BYTES);
  char *got = malloc(BYTES);
  assert_non_null(data);
  assert_non_null(got);
  for (size_t i = 0; i < BYTES; i++)
    data[i] = (char)('a' + i % 26); /* No newline: output is not changed. */
  ax_write_t req;
  ax_buf_t buf = ax_buf_init(data, BYTES);
  assert_int_equal(ax_write(&req, &fx.tty.stream, &buf, 1, write_cb), 0);
  assert_true(ax_stream_get_write_queue_size(&fx.tty.stream) > 0);
  assert_int_equal(fcntl(fx.master, F_SETFL, O_NONBLOCK), 0);
  size_t len = 0;
  while ((len < BYTES || fx.writes_done == 0) && !fx.guard.fired) {
    ssize_t n = read(fx.master, got + len, BYTES - len);
    if (n > 0)
      len += (size_t)n;
    ax_run(&fx.loop, n > 0 ? AX_RUN_NOWAIT : AX_RUN_ONCE);
  }
  assert_false(fx.guard.fired);
  assert_int_equal(len, BYTES);
  assert_int_equal(fx.writes_done, 1);
  assert_memory_equal(got, data, BYTES);
  assert_int_equal(ax_stream_get_write_queue_size(&fx.tty.stream), 0);
  free(data);
  free(got);
  fixture_close(&fx);
}

/* Descriptors that are not terminals (libuv's tty_file): AX_EINVAL, and
 * nothing is opened. */
static void test_tty_not_a_terminal(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_tty_t tty;
  test_loop_open(&loop);
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  assert_true(null_fd >= 0);
  assert_int_equal(ax_tty_init(&loop, &tty, null_fd, true), AX_EINVAL);
  assert_int_equal(ax_tty_init(&loop, &tty, null_fd, false), AX_EINVAL);
  close(null_fd);
  char path[] = "/tmp/axle-tty-file-XXXXXX";
  int file = mkstemp(path);
  assert_true(file >= 0);
  assert_int_equal(ax_tty_init(&loop, &tty, file, false), AX_EINVAL);
  close(file);
  unlink(path);
  int sock = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(sock >= 0);
  assert_int_equal(ax_tty_init(&loop, &tty, sock, true), AX_EINVAL);
  close(sock);
  assert_int_equal(test_count_handles(&loop), 0);
  test_loop_close(&loop);
}

/* A terminal never made raw: setting normal mode and a reset change
 * nothing. */
static void test_tty_normal_untouched(void **state) {
  (void)state;
  struct fixture fx;
  struct termios before, now;
  fixture_open(&fx);
  assert_int_equal(tcgetattr(fx.slave, &before), 0);
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_NORMAL), 0);
  assert_int_equal(ax_tty_reset_mode(), 0);
  assert_int_equal(tcgetattr(fx.slave, &now), 0);
  assert_int_equal(now.c_lflag, before.c_lflag);
  assert_int_equal(now.c_iflag, before.c_iflag);
  assert_int_equal(now.c_oflag, before.c_oflag);
  /* Raw twice, normal once: the settings of before the first change. */
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_RAW), 0);
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_RAW), 0);
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_NORMAL), 0);
  assert_int_equal(tcgetattr(fx.slave, &now), 0);
  assert_int_equal(now.c_lflag, before.c_lflag);
  fixture_close(&fx);
}

/* Two terminals made raw: each close puts its own back; a reset puts
 * back the first one to leave normal mode (as libuv's uv_tty_reset_mode
 * does), and leaves the other alone. */
static void test_tty_two_terminals(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  int master2, slave2;
  pty_open(&master2, &slave2);
  ax_tty_t second;
  assert_int_equal(ax_tty_init(&fx.loop, &second, slave2, true), 0);
  struct termios before1, before2, now;
  assert_int_equal(tcgetattr(fx.slave, &before1), 0);
  assert_int_equal(tcgetattr(slave2, &before2), 0);
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_RAW), 0);
  assert_int_equal(ax_tty_set_mode(&second, AX_TTY_MODE_RAW), 0);
  assert_int_equal(ax_tty_reset_mode(), 0);
  assert_int_equal(tcgetattr(fx.slave, &now), 0);
  assert_int_equal(now.c_lflag, before1.c_lflag);
  assert_int_equal(tcgetattr(slave2, &now), 0);
  assert_false(now.c_lflag & ICANON);
  ax_close(&second.stream.handle, NULL);
  assert_int_equal(tcgetattr(slave2, &now), 0);
  assert_int_equal(now.c_lflag, before2.c_lflag);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  close(slave2);
  close(master2);
  fixture_close(&fx);
}

/* The terminal goes away under a reading handle (the master closes, as
 * when a terminal window shuts): the read callback gets AX_EOF once, as
 * in libuv (the slave reads 0), and the loop does not spin on the dead
 * descriptor. */
static int hangup_errors;
static int hangup_status;

static void hangup_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                           const ax_buf_t *buf) {
  (void)buf;
  struct fixture *fx = stream->handle.data;
  if (nread > 0)
    fx->got_len += (size_t)nread;
  if (nread < 0) {
    hangup_errors++;
    hangup_status = (int)nread;
    ax_close(&stream->handle, NULL);
  }
}

static void test_tty_hangup(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  fx.tty.stream.handle.data = &fx;
  hangup_errors = 0;
  assert_int_equal(ax_read_start(&fx.tty.stream, alloc_cb, hangup_read_cb), 0);
  assert_int_equal(close(fx.master), 0);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  assert_false(fx.guard.fired);
  assert_int_equal(hangup_errors, 1);
  assert_int_equal(hangup_status, AX_EOF);
  close(fx.slave);
  test_guard_close(&fx.guard);
  test_loop_close(&fx.loop);
}

/* The other way round, as a terminal emulator reads: a handle on the
 * master, whose slave writes and closes. What was written arrives, then
 * the end (Linux's read says EIO), once, as in libuv; no spin. */
static void test_tty_master_hangup(void **state) {
  (void)state;
  struct fixture fx;
  memset(&fx, 0, sizeof(fx));
  test_loop_open(&fx.loop);
  test_guard_start(&fx.loop, &fx.guard);
  pty_open(&fx.master, &fx.slave);
  /* Before the fix the handle opened the master's name, /dev/ptmx: a new
   * pseudo-terminal nobody wrote to, and the run waited for nothing. */
  assert_int_equal(ax_tty_init(&fx.loop, &fx.tty, fx.master, true), 0);
  fx.tty.stream.handle.data = &fx;
  hangup_errors = 0;
  assert_int_equal(ax_read_start(&fx.tty.stream, alloc_cb, hangup_read_cb), 0);
  assert_int_equal(write(fx.slave, "bye", 3), 3);
  assert_int_equal(close(fx.slave), 0);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  assert_false(fx.guard.fired);
  assert_int_equal(hangup_errors, 1);
  /* Linux says EIO; the BSDs and macOS end the stream. */
  assert_true(hangup_status == AX_EIO || hangup_status == AX_EOF);
  assert_int_equal(fx.got_len, 3); /* What came before the hangup. */
  assert_memory_equal(fx.got, "bye", 3);
  close(fx.master);
  test_guard_close(&fx.guard);
  test_loop_close(&fx.loop);
}

/* What a closed terminal handle answers. */
static void test_tty_after_close(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  ax_close(&fx.tty.stream.handle, NULL);
  int width, height;
  assert_int_equal(ax_tty_get_winsize(&fx.tty, &width, &height), AX_EBADF);
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_NORMAL), AX_EBADF);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  close(fx.slave);
  close(fx.master);
  test_guard_close(&fx.guard);
  test_loop_close(&fx.loop);
}

/* What libuv's uv_guess_handle answers, kind by kind: a FIFO is a pipe,
 * a pseudo-terminal's master a terminal, an IPv6 TCP socket TCP; a
 * directory and a Unix datagram socket are none of the kinds. */
static void test_guess_handle_more(void **state) {
  (void)state;
  char path[] = "/tmp/axle-guess-XXXXXX";
  assert_non_null(mkdtemp(path));
  char fifo[64];
  snprintf(fifo, sizeof(fifo), "%s/fifo", path);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  int fifo_fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  assert_true(fifo_fd >= 0);
  assert_int_equal(ax_guess_handle(fifo_fd), AX_GUESS_PIPE);
  int dir = open(path, O_RDONLY | O_CLOEXEC);
  assert_true(dir >= 0);
  assert_int_equal(ax_guess_handle(dir), AX_GUESS_UNKNOWN);
  int master, slave;
  pty_open(&master, &slave);
  assert_int_equal(ax_guess_handle(master), AX_GUESS_TTY);
  int tcp6 = socket(AF_INET6, SOCK_STREAM, 0);
  if (tcp6 >= 0) {
    assert_int_equal(ax_guess_handle(tcp6), AX_GUESS_TCP);
    close(tcp6);
  }
  int udp6 = socket(AF_INET6, SOCK_DGRAM, 0);
  if (udp6 >= 0) {
    assert_int_equal(ax_guess_handle(udp6), AX_GUESS_UDP);
    close(udp6);
  }
  int unix_dgram = socket(AF_UNIX, SOCK_DGRAM, 0);
  assert_true(unix_dgram >= 0);
  assert_int_equal(ax_guess_handle(unix_dgram), AX_GUESS_UNKNOWN);
  close(unix_dgram);
  close(master);
  close(slave);
  close(dir);
  close(fifo_fd);
  unlink(fifo);
  rmdir(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tty_write),
      cmocka_unit_test(test_tty_read),
      cmocka_unit_test(test_tty_modes),
      cmocka_unit_test(test_tty_winsize),
      cmocka_unit_test(test_tty_write_only),
      cmocka_unit_test(test_tty_errors),
      cmocka_unit_test(test_tty_bad_mode),
      cmocka_unit_test(test_guess_handle),
      cmocka_unit_test(test_tty_empty_write),
      cmocka_unit_test(test_tty_large_write),
      cmocka_unit_test(test_tty_not_a_terminal),
      cmocka_unit_test(test_tty_normal_untouched),
      cmocka_unit_test(test_tty_two_terminals),
      cmocka_unit_test(test_tty_hangup),
      cmocka_unit_test(test_tty_master_hangup),
      cmocka_unit_test(test_tty_after_close),
      cmocka_unit_test(test_guess_handle_more),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
