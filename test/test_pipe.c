/*
 * test_pipe.c: pipe handles on POSIX, on every backend: a pair over
 * socketpair(2) and over ax_pipe(), a server bound to a path and one
 * bound to a Linux abstract name, listening and accepting, connecting and
 * its errors, a mebibyte through each kind with every byte checked,
 * names, permissions and every stream operation; then IPC: each kind of
 * handle passed and used on the other side, many in one read, and a pipe
 * closed with handles nobody took (no descriptor leaked); last, what a
 * libuv program relies on: bind and listen errors, connecting to a file,
 * closing while connecting, each side's names, unreferenced pipes, half
 * close, stopping and resuming reads, heavy traffic both ways over IPC,
 * empty writes, FIFOs, many clients and a full backlog.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tcp.h"

enum {
  /* Bytes of the large transfers. */
  PIPE_TEST_BIG_BYTES = 1024 * 1024,
  /* Bytes per write of the large transfers. */
  PIPE_TEST_CHUNK_BYTES = 64 * 1024,
};

/* One end of a pipe and what it read. */
struct end {
  ax_pipe_t pipe;
  char *data;    /* What was read, or NULL. */
  size_t len;    /* Bytes in data. */
  size_t cap;    /* Room in data. */
  int eof;       /* AX_EOF seen. */
  int error;     /* Another read error seen, or 0. */
  int reads;     /* Read callbacks with bytes. */
  int closed;    /* Close callback ran. */
  int accepted;  /* Handles accepted in the read callback (IPC). */
  bool take_all; /* IPC: accept every pending handle as it comes. */
};

static char read_buf[64 * 1024];

static void end_alloc(ax_handle_t *handle, size_t suggested, ax_buf_t *buf) {
  (void)handle;
  (void)suggested;
  buf->base = read_buf;
  buf->len = sizeof(read_buf);
}

static void end_append(struct end *end, const char *bytes, size_t len) {
  if (end->len + len > end->cap) {
    end->cap = (end->len + len) * 2;
    end->data = realloc(end->data, end->cap);
    assert_non_null(end->data);
  }
  memcpy(end->data + end->len, bytes, len);
  end->len += len;
}

static void end_read(ax_stream_t *stream, intptr_t n, const ax_buf_t *buf) {
  struct end *end = ax_container_of(stream, struct end, pipe.stream);
  if (n > 0) {
    end_append(end, buf->base, (size_t)n);
    end->reads++;
  } else if (n == AX_EOF) {
    end->eof++;
  } else if (n < 0) {
    end->error = (int)n;
  }
}

static void end_closed(ax_handle_t *handle) {
  struct end *end = ax_container_of(handle, struct end, pipe.stream.handle);
  end->closed++;
}

static void end_close(struct end *end) {
  if (!ax_is_closing(&end->pipe.stream.handle))
    ax_close(&end->pipe.stream.handle, end_closed);
}

static void end_free(struct end *end) {
  free(end->data);
  end->data = NULL;
}

struct fixture {
  ax_loop_t loop;
  struct test_guard guard;
};

static void fixture_open(struct fixture *fx) {
  memset(fx, 0, sizeof(*fx));
  test_loop_open(&fx->loop);
  test_guard_start(&fx->loop, &fx->guard);
}

static void fixture_close(struct fixture *fx) {
  assert_int_equal(ax_run(&fx->loop, AX_RUN_DEFAULT), 0);
  test_guard_close(&fx->guard);
  test_loop_close(&fx->loop);
}

/* A path for a socket file, unique to this process and call. */
static void pipe_test_path(char *path, size_t size) {
  static int serial;
  snprintf(path, size, "/tmp/axle-test-pipe-%ld-%d.sock", (long)getpid(),
           serial++);
  (void)unlink(path);
}

static int writes_done;
static int writes_failed;

static void write_cb(ax_write_t *req, int status) {
  (void)req;
  if (status == 0)
    writes_done++;
  else
    writes_failed = status;
}

static void write_text(ax_write_t *req, struct end *end, const char *text) {
  ax_buf_t buf = ax_buf_init((char *)(uintptr_t)text, strlen(text));
  assert_int_equal(ax_write(req, &end->pipe.stream, &buf, 1, write_cb), 0);
}

static void run_until_len(ax_loop_t *loop, struct end *end, size_t want) {
  tcp_run_until_size(loop, &end->len, want);
}

/* ---- Pairs ---- */

/* Two ends over socketpair(2), adopted with ax_pipe_open(). */
static void pair_open(ax_loop_t *loop, struct end *a, struct end *b, bool ipc) {
  int sv[2];
  memset(a, 0, sizeof(*a));
  memset(b, 0, sizeof(*b));
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  assert_int_equal(ax_pipe_init(loop, &a->pipe, ipc), 0);
  assert_int_equal(ax_pipe_init(loop, &b->pipe, ipc), 0);
  assert_int_equal(ax_pipe_open(&a->pipe, sv[0]), 0);
  assert_int_equal(ax_pipe_open(&b->pipe, sv[1]), 0);
}

static void test_pipe_socketpair(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  struct end a, b;
  pair_open(&fx.loop, &a, &b, false);
  assert_true(ax_is_readable(&a.pipe.stream));
  assert_true(ax_is_writable(&a.pipe.stream));
  assert_int_equal(ax_read_start(&b.pipe.stream, end_alloc, end_read), 0);
  assert_int_equal(ax_read_start(&a.pipe.stream, end_alloc, end_read), 0);
  ax_write_t w1, w2;
  writes_done = 0;
  write_text(&w1, &a, "hello, ");
  write_text(&w2, &b, "world");
  run_until_len(&fx.loop, &b, 7);
  run_until_len(&fx.loop, &a, 5);
  assert_memory_equal(b.data, "hello, ", 7);
  assert_memory_equal(a.data, "world", 5);
  /* Shutting a's side down ends b's reading. */
  ax_shutdown_t sd;
  assert_int_equal(ax_shutdown(&sd, &a.pipe.stream, NULL), 0);
  tcp_run_until(&fx.loop, &b.eof, 1);
  assert_int_equal(writes_done, 2);
  end_close(&a);
  end_close(&b);
  fixture_close(&fx);
  assert_int_equal(a.closed + b.closed, 2);
  end_free(&a);
  end_free(&b);
}

static void test_pipe_anonymous(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  ax_os_fd_t fds[2];
  assert_int_equal(ax_pipe(fds, AX_PIPE_NONBLOCK, 0), 0);
  assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
  assert_true(fcntl(fds[1], F_GETFD) & FD_CLOEXEC);
  assert_true(fcntl(fds[0], F_GETFL) & O_NONBLOCK);
  assert_false(fcntl(fds[1], F_GETFL) & O_NONBLOCK);
  struct end r, w;
  memset(&r, 0, sizeof(r));
  memset(&w, 0, sizeof(w));
  assert_int_equal(ax_pipe_init(&fx.loop, &r.pipe, false), 0);
  assert_int_equal(ax_pipe_init(&fx.loop, &w.pipe, false), 0);
  assert_int_equal(ax_pipe_open(&r.pipe, fds[0]), 0);
  assert_int_equal(ax_pipe_open(&w.pipe, fds[1]), 0);
  /* Each end goes one way only. */
  assert_false(ax_is_writable(&r.pipe.stream));
  assert_false(ax_is_readable(&w.pipe.stream));
  assert_int_equal(ax_read_start(&w.pipe.stream, end_alloc, end_read),
                   AX_ENOTCONN);
  ax_write_t req;
  ax_buf_t buf = ax_buf_init("x", 1);
  assert_int_equal(ax_write(&req, &r.pipe.stream, &buf, 1, write_cb), AX_EPIPE);
  assert_int_equal(ax_read_start(&r.pipe.stream, end_alloc, end_read), 0);
  writes_done = 0;
  write_text(&req, &w, "through a pipe");
  run_until_len(&fx.loop, &r, 14);
  assert_memory_equal(r.data, "through a pipe", 14);
  assert_int_equal(ax_try_write(&w.pipe.stream, &buf, 1), 1);
  run_until_len(&fx.loop, &r, 15);
  /* Closing the writer ends the reader. */
  end_close(&w);
  tcp_run_until(&fx.loop, &r.eof, 1);
  end_close(&r);
  fixture_close(&fx);
  assert_int_equal(writes_done, 1);
  end_free(&r);
  end_free(&w);
}

/* ---- A mebibyte ---- */

struct big_writer {
  char *bytes; /* The pattern, PIPE_TEST_BIG_BYTES. */
  ax_write_t reqs[PIPE_TEST_BIG_BYTES / PIPE_TEST_CHUNK_BYTES];
};

static void big_send(struct big_writer *bw, ax_stream_t *stream) {
  bw->bytes = malloc(PIPE_TEST_BIG_BYTES);
  assert_non_null(bw->bytes);
  tcp_pattern_fill(bw->bytes, 0, PIPE_TEST_BIG_BYTES);
  for (size_t i = 0; i < PIPE_TEST_BIG_BYTES / PIPE_TEST_CHUNK_BYTES; i++) {
    ax_buf_t buf = ax_buf_init(bw->bytes + i * PIPE_TEST_CHUNK_BYTES,
                               PIPE_TEST_CHUNK_BYTES);
    assert_int_equal(ax_write(&bw->reqs[i], stream, &buf, 1, write_cb), 0);
  }
}

static void big_check(struct fixture *fx, struct end *from, struct end *to) {
  struct big_writer bw;
  writes_done = 0;
  writes_failed = 0;
  assert_int_equal(ax_read_start(&to->pipe.stream, end_alloc, end_read), 0);
  big_send(&bw, &from->pipe.stream);
  run_until_len(&fx->loop, to, PIPE_TEST_BIG_BYTES);
  tcp_run_until(&fx->loop, &writes_done,
                PIPE_TEST_BIG_BYTES / PIPE_TEST_CHUNK_BYTES);
  assert_int_equal(to->len, PIPE_TEST_BIG_BYTES);
  tcp_pattern_check(to->data, to->len);
  assert_int_equal(writes_failed, 0);
  assert_int_equal(ax_stream_get_write_queue_size(&from->pipe.stream), 0);
  free(bw.bytes);
}

static void test_pipe_megabyte(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  struct end a, b;
  pair_open(&fx.loop, &a, &b, false);
  big_check(&fx, &a, &b);
  end_close(&a);
  end_close(&b);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  end_free(&a);
  end_free(&b);

  ax_os_fd_t fds[2];
  assert_int_equal(ax_pipe(fds, 0, 0), 0);
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  assert_int_equal(ax_pipe_init(&fx.loop, &a.pipe, false), 0);
  assert_int_equal(ax_pipe_init(&fx.loop, &b.pipe, false), 0);
  assert_int_equal(ax_pipe_open(&a.pipe, fds[1]), 0);
  assert_int_equal(ax_pipe_open(&b.pipe, fds[0]), 0);
  big_check(&fx, &a, &b);
  end_close(&a);
  end_close(&b);
  fixture_close(&fx);
  end_free(&a);
  end_free(&b);
}

/* ---- A server on a name ---- */

struct server {
  ax_pipe_t listener;
  struct end conn; /* The connection accepted. */
  int accepted;
  int status; /* The connection callback's last status. */
};

static void server_connection(ax_stream_t *stream, int status) {
  struct server *s = ax_container_of(stream, struct server, listener.stream);
  s->status = status;
  if (status != 0)
    return;
  assert_int_equal(ax_pipe_init(stream->handle.loop, &s->conn.pipe, false), 0);
  assert_int_equal(ax_accept(stream, &s->conn.pipe.stream), 0);
  assert_int_equal(ax_read_start(&s->conn.pipe.stream, end_alloc, end_read), 0);
  s->accepted++;
}

static int connects_done;
static int connect_status;

static void connect_cb(ax_connect_t *req, int status) {
  (void)req;
  connect_status = status;
  connects_done++;
}

/* A server bound to name, a client connected to it, bytes both ways. */
static void name_round_trip(struct fixture *fx, const char *name,
                            size_t namelen) {
  struct server s;
  struct end client;
  memset(&s, 0, sizeof(s));
  memset(&client, 0, sizeof(client));
  assert_int_equal(ax_pipe_init(&fx->loop, &s.listener, false), 0);
  assert_int_equal(ax_pipe_bind(&s.listener, name, namelen, 0), 0);
  assert_int_equal(ax_pipe_bind(&s.listener, name, namelen, 0), AX_EBADF);
  assert_int_equal(ax_listen(&s.listener.stream, 16, server_connection), 0);
  char got[256];
  size_t size = sizeof(got);
  assert_int_equal(ax_pipe_getsockname(&s.listener, got, &size), 0);
  assert_int_equal(size, namelen);
  assert_memory_equal(got, name, namelen);

  ax_connect_t req;
  connects_done = 0;
  assert_int_equal(ax_pipe_init(&fx->loop, &client.pipe, false), 0);
  assert_int_equal(
      ax_pipe_connect(&req, &client.pipe, name, namelen, 0, connect_cb), 0);
  assert_int_equal(
      ax_pipe_connect(&req, &client.pipe, name, namelen, 0, connect_cb),
      AX_EALREADY);
  tcp_run_until(&fx->loop, &connects_done, 1);
  assert_int_equal(connect_status, 0);
  tcp_run_until(&fx->loop, &s.accepted, 1);
  size = sizeof(got);
  assert_int_equal(ax_pipe_getpeername(&client.pipe, got, &size), 0);
  assert_int_equal(size, namelen);
  assert_memory_equal(got, name, namelen);

  ax_write_t w1, w2;
  assert_int_equal(ax_read_start(&client.pipe.stream, end_alloc, end_read), 0);
  write_text(&w1, &client, "ping");
  write_text(&w2, &s.conn, "pong!");
  run_until_len(&fx->loop, &s.conn, 4);
  run_until_len(&fx->loop, &client, 5);
  assert_memory_equal(s.conn.data, "ping", 4);
  assert_memory_equal(client.data, "pong!", 5);
  ax_close(&s.listener.stream.handle, NULL);
  end_close(&client);
  tcp_run_until(&fx->loop, &s.conn.eof, 1);
  end_close(&s.conn);
  assert_int_equal(ax_run(&fx->loop, AX_RUN_DEFAULT), 0);
  end_free(&client);
  end_free(&s.conn);
}

static void test_pipe_path(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  char path[108];
  pipe_test_path(path, sizeof(path));
  name_round_trip(&fx, path, strlen(path));
  /* The server's socket file went with it. */
  struct stat st;
  assert_int_not_equal(stat(path, &st), 0);
  fixture_close(&fx);
}

static void test_pipe_abstract(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  char name[64];
  int len = snprintf(name, sizeof(name), "%caxle-test-%ld", 0, (long)getpid());
  ax_pipe_t probe;
  assert_int_equal(ax_pipe_init(&fx.loop, &probe, false), 0);
  int err = ax_pipe_bind(&probe, name, (size_t)len, 0);
  ax_close(&probe.stream.handle, NULL);
  if (err == AX_EINVAL) {
    fixture_close(&fx);
    test_skip("no abstract names on this system");
  }
  assert_int_equal(err, 0);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  name_round_trip(&fx, name, (size_t)len);
  fixture_close(&fx);
}

/* A connect that cannot succeed, reported to its callback. */
static void connect_expect(struct fixture *fx, const char *name, int want) {
  ax_pipe_t client;
  ax_connect_t req;
  connects_done = 0;
  assert_int_equal(ax_pipe_init(&fx->loop, &client, false), 0);
  assert_int_equal(
      ax_pipe_connect(&req, &client, name, strlen(name), 0, connect_cb), 0);
  tcp_run_until(&fx->loop, &connects_done, 1);
  assert_int_equal(connect_status, want);
  ax_close(&client.stream.handle, NULL);
  assert_int_equal(ax_run(&fx->loop, AX_RUN_DEFAULT), 0);
}

static void test_pipe_connect_errors(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  char path[108];
  pipe_test_path(path, sizeof(path));
  connect_expect(&fx, path, AX_ENOENT);
  /* Bound, not listening: refused. */
  ax_pipe_t bound;
  assert_int_equal(ax_pipe_init(&fx.loop, &bound, false), 0);
  assert_int_equal(ax_pipe_bind(&bound, path, strlen(path), 0), 0);
  connect_expect(&fx, path, AX_ECONNREFUSED);
  ax_close(&bound.stream.handle, NULL);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);

  /* Names the system cannot take, and bad arguments: errors at once. */
  char long_name[300];
  memset(long_name, 'a', sizeof(long_name));
  long_name[0] = '/';
  ax_pipe_t p;
  ax_connect_t req;
  assert_int_equal(ax_pipe_init(&fx.loop, &p, false), 0);
  assert_int_equal(ax_pipe_bind(&p, long_name, sizeof(long_name), 0),
                   AX_EINVAL);
  assert_int_equal(ax_pipe_bind(&p, "/tmp/a\0b", 8, 0), AX_EINVAL);
  assert_int_equal(ax_pipe_bind(&p, path, 0, 0), AX_EINVAL);
  assert_int_equal(ax_pipe_bind(&p, NULL, 4, 0), AX_EINVAL);
  assert_int_equal(ax_pipe_bind(&p, path, strlen(path), 0x100), AX_EINVAL);
  assert_int_equal(ax_pipe_connect(&req, &p, long_name, sizeof(long_name),
                                   AX_PIPE_NO_TRUNCATE, connect_cb),
                   AX_EINVAL);
  assert_int_equal(ax_pipe_connect(&req, &p, path, strlen(path), 0, NULL),
                   AX_EINVAL);
  assert_int_equal(ax_pipe_connect(NULL, &p, path, strlen(path), 0, connect_cb),
                   AX_EINVAL);
  char name[16];
  size_t size = sizeof(name);
  assert_int_equal(ax_pipe_getsockname(&p, name, &size), AX_EBADF);
  assert_int_equal(ax_pipe_chmod(&p, AX_PIPE_READABLE), AX_EBADF);
  assert_int_equal(ax_pipe_init(NULL, &p, false), AX_EINVAL);
  assert_int_equal(ax_pipe_open(NULL, 0), AX_EINVAL);
  assert_int_equal(ax_pipe_open(&p, -1), AX_EBADF);
  assert_int_equal(ax_pipe_open(&p, 4095), AX_EBADF);
  /* A datagram socket is no stream; a regular file neither. */
  int dgram = socket(AF_UNIX, SOCK_DGRAM, 0);
  assert_true(dgram >= 0);
  assert_int_equal(ax_pipe_open(&p, dgram), AX_ENOTSUP);
  close(dgram);
  int file = open("/dev/null", O_RDONLY);
  assert_int_equal(ax_pipe_open(&p, file), AX_ENOTSUP);
  close(file);
  assert_int_equal(ax_pipe(NULL, 0, 0), AX_EINVAL);
  ax_os_fd_t fds[2];
  assert_int_equal(ax_pipe(fds, 0x10, 0), AX_EINVAL);
  ax_close(&p.stream.handle, NULL);
  assert_int_equal(ax_pipe_bind(&p, path, strlen(path), 0), AX_EBADF);
  assert_int_equal(ax_pipe_connect(&req, &p, path, strlen(path), 0, connect_cb),
                   AX_EBADF);
  fixture_close(&fx);
}

/* ---- IPC ---- */

/* Descriptors open in this process now. */
static int open_fd_count(void) {
  int count = 0;
  for (int fd = 0; fd < 4096; fd++) {
    if (fcntl(fd, F_GETFD) >= 0)
      count++;
  }
  return count;
}

/* Whether descriptors counted before and after tell a leak: not on
 * libkqueue, which opens and closes descriptors of its own as filters
 * come and go (docs/backends.md). */
static void expect_fd_count(ax_loop_t *loop, int before) {
  if (test_links_libkqueue() && strcmp(ax_backend_name(loop), "kqueue") == 0)
    return;
  assert_int_equal(open_fd_count(), before);
}

/* Send one byte with handle over from's IPC pipe. */
static void send_handle(ax_write_t *req, struct end *from,
                        ax_stream_t *handle) {
  ax_buf_t buf = ax_buf_init("h", 1);
  assert_int_equal(
      ax_write2(req, &from->pipe.stream, &buf, 1, handle, write_cb), 0);
}

static int tcp_accepted;
static ax_tcp_t tcp_accepted_conn;

static void passed_listener_connection(ax_stream_t *stream, int status) {
  assert_int_equal(status, 0);
  assert_int_equal(ax_tcp_init(stream->handle.loop, &tcp_accepted_conn), 0);
  assert_int_equal(ax_accept(stream, &tcp_accepted_conn.stream), 0);
  tcp_accepted++;
}

static void unused_connection(ax_stream_t *stream, int status) {
  (void)stream;
  (void)status;
  fail_msg("the sender's listener accepted a connection");
}

/* A TCP listener passed, listened on by the receiver, and a connection
 * accepted on it there. */
static void test_pipe_ipc_tcp_listener(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  struct end a, b;
  pair_open(&fx.loop, &a, &b, true);
  ax_tcp_t listener;
  int port;
  assert_int_equal(tcp_test_listen(&fx.loop, &listener, "127.0.0.1",
                                   unused_connection, &port),
                   0);
  ax_write_t req;
  writes_done = 0;
  send_handle(&req, &a, &listener.stream);
  assert_int_equal(ax_read_start(&b.pipe.stream, end_alloc, end_read), 0);
  run_until_len(&fx.loop, &b, 1);
  tcp_run_until(&fx.loop, &writes_done, 1);
  assert_int_equal(ax_pipe_pending_count(&b.pipe), 1);
  assert_int_equal(ax_pipe_pending_type(&b.pipe), AX_TCP);
  /* The wrong type stays first in the queue. */
  ax_pipe_t wrong;
  assert_int_equal(ax_pipe_init(&fx.loop, &wrong, false), 0);
  assert_int_equal(ax_accept(&b.pipe.stream, &wrong.stream), AX_EINVAL);
  ax_close(&wrong.stream.handle, NULL);
  ax_tcp_t passed;
  assert_int_equal(ax_tcp_init(&fx.loop, &passed), 0);
  assert_int_equal(ax_accept(&b.pipe.stream, &passed.stream), 0);
  assert_int_equal(ax_pipe_pending_count(&b.pipe), 0);
  assert_int_equal(ax_pipe_pending_type(&b.pipe), AX_UNKNOWN_HANDLE);
  assert_int_equal(ax_accept(&b.pipe.stream, &passed.stream), AX_EBUSY);
  /* The sender lets go of its copy; the receiver's listens. */
  ax_close(&listener.stream.handle, NULL);
  assert_int_equal(ax_listen(&passed.stream, 16, passed_listener_connection),
                   0);
  ax_tcp_t client;
  ax_connect_t connect;
  struct sockaddr_storage addr;
  tcp_test_addr("127.0.0.1", port, &addr);
  tcp_accepted = 0;
  connects_done = 0;
  assert_int_equal(ax_tcp_init(&fx.loop, &client), 0);
  assert_int_equal(
      ax_tcp_connect(&connect, &client, (struct sockaddr *)&addr, connect_cb),
      0);
  tcp_run_until(&fx.loop, &connects_done, 1);
  assert_int_equal(connect_status, 0);
  tcp_run_until(&fx.loop, &tcp_accepted, 1);
  ax_close(&client.stream.handle, NULL);
  ax_close(&tcp_accepted_conn.stream.handle, NULL);
  ax_close(&passed.stream.handle, NULL);
  end_close(&a);
  end_close(&b);
  fixture_close(&fx);
  end_free(&a);
  end_free(&b);
}

/* A TCP connection passed, with bytes both ways through the copy. */
struct tcp_reader {
  ax_tcp_t tcp;
  char got[16];
  size_t len;
};

static void tcp_reader_read(ax_stream_t *stream, intptr_t n,
                            const ax_buf_t *buf) {
  struct tcp_reader *r = ax_container_of(stream, struct tcp_reader, tcp.stream);
  if (n > 0 && r->len + (size_t)n <= sizeof(r->got)) {
    memcpy(r->got + r->len, buf->base, (size_t)n);
    r->len += (size_t)n;
  }
}

static void test_pipe_ipc_tcp_connection(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  struct tcp_pair pair;
  assert_int_equal(tcp_pair_open(&fx.loop, &pair, "127.0.0.1"), 0);
  struct end a, b;
  pair_open(&fx.loop, &a, &b, true);
  ax_write_t req;
  writes_done = 0;
  send_handle(&req, &a, &pair.server.stream);
  assert_int_equal(ax_read_start(&b.pipe.stream, end_alloc, end_read), 0);
  run_until_len(&fx.loop, &b, 1);
  tcp_run_until(&fx.loop, &writes_done, 1);
  assert_int_equal(ax_pipe_pending_type(&b.pipe), AX_TCP);
  struct tcp_reader r;
  memset(&r, 0, sizeof(r));
  assert_int_equal(ax_tcp_init(&fx.loop, &r.tcp), 0);
  assert_int_equal(ax_accept(&b.pipe.stream, &r.tcp.stream), 0);
  assert_true(ax_is_writable(&r.tcp.stream));
  /* The sender closes its copy; the connection lives on in the other. */
  ax_close(&pair.server.stream.handle, tcp_pair_server_closed);
  assert_int_equal(ax_read_start(&r.tcp.stream, end_alloc, tcp_reader_read), 0);
  ax_buf_t buf = ax_buf_init("abc", 3);
  ax_write_t w1;
  assert_int_equal(ax_write(&w1, &pair.client.stream, &buf, 1, write_cb), 0);
  tcp_run_until_size(&fx.loop, &r.len, 3);
  assert_memory_equal(r.got, "abc", 3);
  ax_close(&r.tcp.stream.handle, NULL);
  end_close(&a);
  end_close(&b);
  tcp_pair_close(&pair);
  fixture_close(&fx);
  end_free(&a);
  end_free(&b);
}

/* A pipe passed: the receiver's copy writes to the original's peer. */
static void test_pipe_ipc_pipe(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  struct end a, b;
  pair_open(&fx.loop, &a, &b, true);
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ax_pipe_t original;
  assert_int_equal(ax_pipe_init(&fx.loop, &original, false), 0);
  assert_int_equal(ax_pipe_open(&original, sv[0]), 0);
  ax_write_t req;
  writes_done = 0;
  send_handle(&req, &a, &original.stream);
  assert_int_equal(ax_read_start(&b.pipe.stream, end_alloc, end_read), 0);
  run_until_len(&fx.loop, &b, 1);
  assert_int_equal(ax_pipe_pending_type(&b.pipe), AX_PIPE);
  struct end copy;
  memset(&copy, 0, sizeof(copy));
  assert_int_equal(ax_pipe_init(&fx.loop, &copy.pipe, false), 0);
  assert_int_equal(ax_accept(&b.pipe.stream, &copy.pipe.stream), 0);
  ax_close(&original.stream.handle, NULL);
  ax_write_t w;
  write_text(&w, &copy, "via copy");
  tcp_run_until(&fx.loop, &writes_done, 2);
  char got[8];
  assert_int_equal(read(sv[1], got, sizeof(got)), 8);
  assert_memory_equal(got, "via copy", 8);
  close(sv[1]);
  end_close(&copy);
  end_close(&a);
  end_close(&b);
  fixture_close(&fx);
  end_free(&a);
  end_free(&b);
  end_free(&copy);
}

enum { PIPE_TEST_MANY = 40 };

/* Many handles, queued in order; three of them in one message. */
static void test_pipe_ipc_many(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  int before = open_fd_count();
  struct end a, b;
  pair_open(&fx.loop, &a, &b, true);
  int sv[PIPE_TEST_MANY][2];
  ax_pipe_t originals[PIPE_TEST_MANY];
  ax_write_t reqs[PIPE_TEST_MANY];
  writes_done = 0;
  for (int i = 0; i < PIPE_TEST_MANY; i++) {
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
    assert_int_equal(ax_pipe_init(&fx.loop, &originals[i], false), 0);
    assert_int_equal(ax_pipe_open(&originals[i], sv[i][0]), 0);
    send_handle(&reqs[i], &a, &originals[i].stream);
  }
  /* Three descriptors in one message, written beside the pipe. */
  int extra[3];
  for (int i = 0; i < 3; i++)
    extra[i] = sv[i][1];
  union {
    struct cmsghdr align;
    char bytes[CMSG_SPACE(sizeof(extra))];
  } control;
  memset(&control, 0, sizeof(control));
  struct iovec iov = {.iov_base = "m", .iov_len = 1};
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = control.bytes,
                       .msg_controllen = sizeof(control.bytes)};
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(extra));
  memcpy(CMSG_DATA(cmsg), extra, sizeof(extra));
  tcp_run_until(&fx.loop, &writes_done, PIPE_TEST_MANY);
  assert_int_equal(sendmsg(a.pipe.stream.priv.sock.fd, &msg, 0), 1);
  /* The end comes after them all, in a read of its own. */
  ax_shutdown_t sd;
  assert_int_equal(ax_shutdown(&sd, &a.pipe.stream, NULL), 0);
  assert_int_equal(ax_read_start(&b.pipe.stream, end_alloc, end_read), 0);
  tcp_run_until(&fx.loop, &b.eof, 1);
  assert_int_equal(b.len, PIPE_TEST_MANY + 1);
  assert_true(b.reads < PIPE_TEST_MANY); /* Several handles per read. */
  assert_int_equal(ax_pipe_pending_count(&b.pipe), PIPE_TEST_MANY + 3);
  /* In order: each copy is the same socket as its original. */
  static ax_pipe_t copies[PIPE_TEST_MANY + 3];
  for (int i = 0; i < PIPE_TEST_MANY + 3; i++) {
    ax_pipe_t *copy = &copies[i];
    assert_int_equal(ax_pipe_pending_type(&b.pipe), AX_PIPE);
    assert_int_equal(ax_pipe_init(&fx.loop, copy, false), 0);
    assert_int_equal(ax_accept(&b.pipe.stream, &copy->stream), 0);
    int fd = copy->stream.priv.sock.fd;
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    struct stat got, want;
    assert_int_equal(fstat(fd, &got), 0);
    int orig = i < PIPE_TEST_MANY ? sv[i][0] : extra[i - PIPE_TEST_MANY];
    assert_int_equal(fstat(orig, &want), 0);
    assert_int_equal(got.st_ino, want.st_ino);
    ax_close(&copy->stream.handle, NULL);
  }
  assert_int_equal(ax_pipe_pending_count(&b.pipe), 0);
  for (int i = 0; i < PIPE_TEST_MANY; i++) {
    ax_close(&originals[i].stream.handle, NULL);
    close(sv[i][1]);
  }
  end_close(&a);
  end_close(&b);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  expect_fd_count(&fx.loop, before);
  fixture_close(&fx);
  end_free(&a);
  end_free(&b);
}

/* Closing a pipe with handles nobody took closes them: no descriptor
 * outlives the test. */
static void test_pipe_ipc_close_pending(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  int before = open_fd_count();
  struct end a, b;
  pair_open(&fx.loop, &a, &b, true);
  ax_tcp_t listener;
  int port;
  assert_int_equal(tcp_test_listen(&fx.loop, &listener, "127.0.0.1",
                                   unused_connection, &port),
                   0);
  ax_write_t reqs[10];
  writes_done = 0;
  for (int i = 0; i < 10; i++)
    send_handle(&reqs[i], &a, &listener.stream);
  assert_int_equal(ax_read_start(&b.pipe.stream, end_alloc, end_read), 0);
  run_until_len(&fx.loop, &b, 10);
  assert_int_equal(ax_pipe_pending_count(&b.pipe), 10);
  ax_close(&listener.stream.handle, NULL);
  end_close(&a);
  end_close(&b);
  assert_int_equal(ax_pipe_pending_count(&b.pipe), 0);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  expect_fd_count(&fx.loop, before);
  fixture_close(&fx);
  end_free(&a);
  end_free(&b);
}

/* A write with a handle that the kernel takes in parts: the handle goes
 * once, with the first part, and every byte arrives; then a write with a
 * handle queued behind it, and one cancelled by closing, leak nothing. */
static void test_pipe_ipc_partial(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  int before = open_fd_count();
  struct end a, b;
  pair_open(&fx.loop, &a, &b, true);
  ax_tcp_t listener;
  int port;
  assert_int_equal(tcp_test_listen(&fx.loop, &listener, "127.0.0.1",
                                   unused_connection, &port),
                   0);
  char *bytes = malloc(PIPE_TEST_BIG_BYTES);
  assert_non_null(bytes);
  tcp_pattern_fill(bytes, 0, PIPE_TEST_BIG_BYTES);
  ax_buf_t big = ax_buf_init(bytes, PIPE_TEST_BIG_BYTES);
  ax_write_t w1, w2;
  writes_done = 0;
  assert_int_equal(
      ax_write2(&w1, &a.pipe.stream, &big, 1, &listener.stream, write_cb), 0);
  assert_true(ax_stream_get_write_queue_size(&a.pipe.stream) > 0);
  send_handle(&w2, &a, &listener.stream);
  assert_int_equal(ax_read_start(&b.pipe.stream, end_alloc, end_read), 0);
  run_until_len(&fx.loop, &b, PIPE_TEST_BIG_BYTES + 1);
  tcp_run_until(&fx.loop, &writes_done, 2);
  tcp_pattern_check(b.data, PIPE_TEST_BIG_BYTES);
  assert_int_equal(b.data[PIPE_TEST_BIG_BYTES], 'h');
  assert_int_equal(ax_pipe_pending_count(&b.pipe), 2);

  /* Queued behind bytes the peer does not read, then cancelled. */
  static char chunk[4096];
  size_t offset = 0;
  (void)tcp_fill_kernel(&a.pipe.stream, chunk, sizeof(chunk), &offset);
  writes_failed = 0;
  send_handle(&w1, &a, &listener.stream);
  end_close(&a);
  (void)ax_run(&fx.loop, AX_RUN_NOWAIT);
  assert_int_equal(writes_failed, AX_ECANCELED);
  ax_close(&listener.stream.handle, NULL);
  end_close(&b);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  expect_fd_count(&fx.loop, before);
  fixture_close(&fx);
  free(bytes);
  end_free(&a);
  end_free(&b);
}

/* What ax_write2() and the IPC accept refuse. */
static void test_pipe_ipc_errors(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  struct end a, b, plain1, plain2;
  pair_open(&fx.loop, &a, &b, true);
  pair_open(&fx.loop, &plain1, &plain2, false);
  ax_write_t req;
  ax_buf_t buf = ax_buf_init("x", 1);
  ax_buf_t empty = ax_buf_init("", 0);
  /* Not an IPC pipe; no handle is a plain write. */
  assert_int_equal(ax_write2(&req, &plain1.pipe.stream, &buf, 1,
                             &plain2.pipe.stream, write_cb),
                   AX_EINVAL);
  ax_tcp_t unopened;
  assert_int_equal(ax_tcp_init(&fx.loop, &unopened), 0);
  assert_int_equal(
      ax_write2(&req, &a.pipe.stream, &buf, 1, &unopened.stream, write_cb),
      AX_EINVAL);
  assert_int_equal(
      ax_write2(&req, &a.pipe.stream, &empty, 1, &plain1.pipe.stream, write_cb),
      AX_EINVAL);
  ax_close(&plain2.pipe.stream.handle, NULL);
  assert_int_equal(
      ax_write2(&req, &a.pipe.stream, &buf, 1, &plain2.pipe.stream, write_cb),
      AX_EBADF);
  /* Nothing received: nothing to accept. */
  assert_int_equal(ax_pipe_pending_count(&b.pipe), 0);
  assert_int_equal(ax_pipe_pending_count(NULL), 0);
  assert_int_equal(ax_pipe_pending_count(&plain1.pipe), 0);
  assert_int_equal(ax_accept(&b.pipe.stream, &unopened.stream), AX_EAGAIN);
  assert_int_equal(ax_accept(&b.pipe.stream, NULL), AX_EINVAL);
  ax_close(&unopened.stream.handle, NULL);
  end_close(&plain1);
  end_close(&a);
  end_close(&b);
  fixture_close(&fx);
}

/* The reader goes away while a large write is queued: the writes fail,
 * the process lives. */
static void test_pipe_peer_dies(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  for (int kind = 0; kind < 2; kind++) {
    int fds[2];
    if (kind == 0)
      assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    else
      assert_int_equal(ax_pipe(fds, 0, 0), 0);
    int reader = kind == 0 ? fds[1] : fds[0];
    int writer = kind == 0 ? fds[0] : fds[1];
    struct end w;
    memset(&w, 0, sizeof(w));
    assert_int_equal(ax_pipe_init(&fx.loop, &w.pipe, false), 0);
    assert_int_equal(ax_pipe_open(&w.pipe, writer), 0);
    struct big_writer bw;
    writes_done = 0;
    writes_failed = 0;
    big_send(&bw, &w.pipe.stream);
    assert_true(ax_stream_get_write_queue_size(&w.pipe.stream) > 0);
    /* io_uring sends from the loop's next wait. */
    struct pollfd pfd = {.fd = reader, .events = POLLIN};
    for (int i = 0; i < 1000 && poll(&pfd, 1, 10) == 0; i++)
      (void)ax_run(&fx.loop, AX_RUN_NOWAIT);
    char some[4096];
    assert_true(read(reader, some, sizeof(some)) > 0);
    close(reader);
    for (int i = 0; i < 1000 && writes_failed == 0; i++)
      (void)ax_run(&fx.loop, AX_RUN_ONCE);
    assert_true(writes_failed == AX_EPIPE || writes_failed == AX_ECONNRESET);
    end_close(&w);
    assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
    free(bw.bytes);
  }
  fixture_close(&fx);
}

/* Names into buffers too small, permissions of the socket file. */
static void test_pipe_names_and_mode(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  char path[108];
  pipe_test_path(path, sizeof(path));
  size_t len = strlen(path);
  ax_pipe_t server;
  assert_int_equal(ax_pipe_init(&fx.loop, &server, false), 0);
  char got[128];
  size_t size = sizeof(got);
  assert_int_equal(ax_pipe_getsockname(&server, got, &size), AX_EBADF);
  assert_int_equal(ax_pipe_bind(&server, path, len, 0), 0);
  /* Too small by the NUL: how much is needed, NUL and all. */
  size = len;
  assert_int_equal(ax_pipe_getsockname(&server, got, &size), AX_ENOBUFS);
  assert_int_equal(size, len + 1);
  assert_int_equal(ax_pipe_getsockname(&server, got, &size), 0);
  assert_int_equal(size, len);
  assert_string_equal(got, path);
  assert_int_equal(ax_pipe_getsockname(&server, NULL, &size), AX_EINVAL);
  assert_int_equal(ax_pipe_getsockname(&server, got, NULL), AX_EINVAL);
  /* Not connected: no peer. */
  size = sizeof(got);
  assert_int_equal(ax_pipe_getpeername(&server, got, &size), AX_ENOTCONN);

  /* Permissions: bits are added, never taken away. */
  struct stat st;
  assert_int_equal(chmod(path, 0600), 0);
  assert_int_equal(ax_pipe_chmod(&server, AX_PIPE_READABLE), 0);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0644);
  assert_int_equal(ax_pipe_chmod(&server, AX_PIPE_WRITABLE), 0);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0666);
  assert_int_equal(ax_pipe_chmod(&server, AX_PIPE_READABLE | AX_PIPE_WRITABLE),
                   0);
  assert_int_equal(ax_pipe_chmod(&server, 0), AX_EINVAL);
  assert_int_equal(ax_pipe_chmod(&server, 4), AX_EINVAL);
  assert_int_equal(ax_pipe_chmod(NULL, AX_PIPE_READABLE), AX_EINVAL);

  /* A pair has no names: empty, NUL-terminated. */
  struct end a, b;
  pair_open(&fx.loop, &a, &b, false);
  size = sizeof(got);
  got[0] = 'x';
  assert_int_equal(ax_pipe_getpeername(&a.pipe, got, &size), 0);
  assert_int_equal(size, 0);
  assert_int_equal(got[0], '\0');
  assert_int_equal(ax_pipe_chmod(&a.pipe, AX_PIPE_READABLE), AX_EBADF);
  end_close(&a);
  end_close(&b);
  ax_close(&server.stream.handle, NULL);
  fixture_close(&fx);
}

/* The stream operations a pipe shares with TCP: try-write, water marks,
 * listening twice, and a pipe that cannot listen. */
static int water_above;
static int water_below;

static void water_cb(ax_stream_t *stream, bool above) {
  (void)stream;
  if (above)
    water_above++;
  else
    water_below++;
}

static void test_pipe_stream_ops(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  for (int kind = 0; kind < 2; kind++) {
    struct end a, b;
    if (kind == 0) {
      pair_open(&fx.loop, &a, &b, false);
    } else {
      ax_os_fd_t fds[2];
      memset(&a, 0, sizeof(a));
      memset(&b, 0, sizeof(b));
      assert_int_equal(ax_pipe(fds, 0, 0), 0);
      assert_int_equal(ax_pipe_init(&fx.loop, &a.pipe, false), 0);
      assert_int_equal(ax_pipe_init(&fx.loop, &b.pipe, false), 0);
      assert_int_equal(ax_pipe_open(&a.pipe, fds[1]), 0);
      assert_int_equal(ax_pipe_open(&b.pipe, fds[0]), 0);
    }
    water_above = 0;
    water_below = 0;
    assert_int_equal(
        ax_stream_set_water_marks(&a.pipe.stream, 1024, 64 * 1024, water_cb),
        0);
    /* Fill the kernel with try-writes, then queue past the high mark. */
    static char chunk[4096];
    size_t offset = 0;
    size_t in_kernel = tcp_fill_kernel(&a.pipe.stream, chunk, sizeof(chunk),
                                       &offset);
    assert_true(in_kernel > 0);
    ax_buf_t one = ax_buf_init(chunk, 1);
    assert_int_equal(ax_try_write(&a.pipe.stream, &one, 1), AX_EAGAIN);
    struct big_writer bw;
    writes_done = 0;
    big_send(&bw, &a.pipe.stream);
    assert_int_equal(water_above, 1);
    assert_int_equal(ax_try_write(&a.pipe.stream, &one, 1), AX_EAGAIN);
    assert_int_equal(ax_read_start(&b.pipe.stream, end_alloc, end_read), 0);
    run_until_len(&fx.loop, &b, in_kernel + PIPE_TEST_BIG_BYTES);
    tcp_run_until(&fx.loop, &writes_done,
                  PIPE_TEST_BIG_BYTES / PIPE_TEST_CHUNK_BYTES);
    assert_int_equal(water_below, 1);
    tcp_pattern_check(b.data + in_kernel, PIPE_TEST_BIG_BYTES);
    /* A connected pipe does not listen. */
    assert_int_equal(ax_listen(&a.pipe.stream, 4, server_connection),
                     AX_EINVAL);
    free(bw.bytes);
    end_close(&a);
    end_close(&b);
    assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
    end_free(&a);
    end_free(&b);
  }
  fixture_close(&fx);
}

/* ---- Behaviours a libuv program relies on ---- */

/* Open listener on loop, bound to path and listening with backlog. */
static void pipe_listen(ax_loop_t *loop, ax_pipe_t *listener, const char *path,
                        int backlog, ax_connection_cb connection_cb) {
  assert_int_equal(ax_pipe_init(loop, listener, false), 0);
  assert_int_equal(ax_pipe_bind(listener, path, strlen(path), 0), 0);
  assert_int_equal(ax_listen(&listener->stream, backlog, connection_cb), 0);
}

/* Connect a new client to path, where s listens, and run until the
 * connect succeeded and s accepted it. */
static void client_connect_accepted(struct fixture *fx, struct server *s,
                                    struct end *client, const char *path) {
  memset(client, 0, sizeof(*client));
  ax_connect_t req;
  connects_done = 0;
  assert_int_equal(ax_pipe_init(&fx->loop, &client->pipe, false), 0);
  assert_int_equal(
      ax_pipe_connect(&req, &client->pipe, path, strlen(path), 0, connect_cb),
      0);
  tcp_run_until(&fx->loop, &connects_done, 1);
  assert_int_equal(connect_status, 0);
  tcp_run_until(&fx->loop, &s->accepted, 1);
}

/* Binding and listening as libuv's tests try them: a name in use, a
 * directory that does not exist, listening unbound or after a failed
 * bind, binding a listener again. */
static void test_pipe_bind_errors(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  char path[108];
  pipe_test_path(path, sizeof(path));
  ax_pipe_t first, second, unbound, lost;
  assert_int_equal(ax_pipe_init(&fx.loop, &first, false), 0);
  assert_int_equal(ax_pipe_init(&fx.loop, &second, false), 0);
  assert_int_equal(ax_pipe_init(&fx.loop, &unbound, false), 0);
  assert_int_equal(ax_pipe_init(&fx.loop, &lost, false), 0);
  assert_int_equal(ax_pipe_bind(&first, path, strlen(path), 0), 0);
  assert_int_equal(ax_pipe_bind(&second, path, strlen(path), 0), AX_EADDRINUSE);
  assert_int_equal(ax_listen(&first.stream, 16, server_connection), 0);
  assert_int_equal(ax_listen(&second.stream, 16, server_connection), AX_EINVAL);
  assert_int_equal(ax_pipe_bind(&first, path, strlen(path), 0), AX_EBADF);
  assert_int_equal(ax_listen(&unbound.stream, 16, server_connection),
                   AX_EINVAL);
  /* libuv says UV_EACCES here; axle passes the system's word on. */
  const char *nowhere = "/nonexistent/axle/dir/socket";
  assert_int_equal(ax_pipe_bind(&lost, nowhere, strlen(nowhere), 0), AX_ENOENT);
  /* Still unbound after the failure: another name works. */
  char other[108];
  pipe_test_path(other, sizeof(other));
  assert_int_equal(ax_pipe_bind(&lost, other, strlen(other), 0), 0);
  ax_close(&first.stream.handle, NULL);
  ax_close(&second.stream.handle, NULL);
  ax_close(&unbound.stream.handle, NULL);
  ax_close(&lost.stream.handle, NULL);
  fixture_close(&fx);
  struct stat st;
  assert_int_not_equal(stat(path, &st), 0);
  assert_int_not_equal(stat(other, &st), 0);
}

/* A name that is a regular file, not a socket: refused, as in libuv. */
static void test_pipe_connect_to_file(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  char path[108];
  pipe_test_path(path, sizeof(path));
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  close(fd);
  connect_expect(&fx, path, AX_ECONNREFUSED);
  assert_int_equal(unlink(path), 0);
  fixture_close(&fx);
}

/* Closed while connecting: the connect callback runs once, before the
 * close callback, with the connect's result or AX_ECANCELED. */
static int order_connect;
static int order_close;
static int order_serial;

static void order_connect_cb(ax_connect_t *req, int status) {
  (void)req;
  assert_true(status == 0 || status == AX_ECANCELED || status == AX_ENOENT);
  order_connect = ++order_serial;
}

static void order_close_cb(ax_handle_t *handle) {
  (void)handle;
  order_close = ++order_serial;
}

static void test_pipe_close_while_connecting(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  char path[108];
  pipe_test_path(path, sizeof(path));
  struct server s;
  memset(&s, 0, sizeof(s));
  pipe_listen(&fx.loop, &s.listener, path, 16, server_connection);
  char missing[108];
  pipe_test_path(missing, sizeof(missing));
  const char *names[] = {path, missing};
  for (size_t i = 0; i < 2; i++) {
    ax_pipe_t client;
    ax_connect_t req;
    order_connect = order_close = order_serial = 0;
    assert_int_equal(ax_pipe_init(&fx.loop, &client, false), 0);
    assert_int_equal(ax_pipe_connect(&req, &client, names[i], strlen(names[i]),
                                     0, order_connect_cb),
                     0);
    assert_int_equal(ax_close(&client.stream.handle, order_close_cb), 0);
    assert_int_equal(order_connect, 0); /* Never from inside the call. */
    tcp_run_until(&fx.loop, &order_close, 1);
    assert_int_equal(order_connect, 1);
    assert_int_equal(order_close, 2);
  }
  /* A connection the server may have accepted before the close. */
  assert_int_equal(ax_run(&fx.loop, AX_RUN_NOWAIT), 0);
  if (s.accepted > 0)
    end_close(&s.conn);
  ax_close(&s.listener.stream.handle, NULL);
  fixture_close(&fx);
  end_free(&s.conn);
}

/* The names each side of a connection reports: the client, never bound,
 * has an empty name and the server's as its peer; the accepted side has
 * the server's name and an empty peer. */
static void test_pipe_connection_names(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  char path[108];
  pipe_test_path(path, sizeof(path));
  struct server s;
  memset(&s, 0, sizeof(s));
  pipe_listen(&fx.loop, &s.listener, path, 16, server_connection);
  struct end client;
  client_connect_accepted(&fx, &s, &client, path);
  char got[256];
  size_t size = sizeof(got);
  assert_int_equal(ax_pipe_getsockname(&client.pipe, got, &size), 0);
  assert_int_equal(size, 0);
  size = sizeof(got);
  assert_int_equal(ax_pipe_getpeername(&client.pipe, got, &size), 0);
  assert_int_equal(size, strlen(path));
  assert_memory_equal(got, path, size);
  size = sizeof(got);
  assert_int_equal(ax_pipe_getsockname(&s.conn.pipe, got, &size), 0);
  assert_int_equal(size, strlen(path));
  assert_memory_equal(got, path, size);
  size = sizeof(got);
  assert_int_equal(ax_pipe_getpeername(&s.conn.pipe, got, &size), 0);
  assert_int_equal(size, 0);
  /* A socketpair's ends have no names either. */
  struct end a, b;
  pair_open(&fx.loop, &a, &b, false);
  size = sizeof(got);
  assert_int_equal(ax_pipe_getsockname(&a.pipe, got, &size), 0);
  assert_int_equal(size, 0);
  end_close(&a);
  end_close(&b);
  end_close(&client);
  end_close(&s.conn);
  ax_close(&s.listener.stream.handle, NULL);
  fixture_close(&fx);
  end_free(&client);
  end_free(&s.conn);
}

/* Unreferenced pipes, listening or reading, do not keep the loop alive;
 * a connect in flight on an unreferenced pipe does, until it completes. */
static void free_close_cb(ax_handle_t *handle) {
  free(handle);
}

/* Accepts and closes at once: nothing left to keep the loop alive. */
static int accepted_and_closed;

static void accept_and_close(ax_stream_t *stream, int status) {
  assert_int_equal(status, 0);
  ax_pipe_t *conn = malloc(sizeof(*conn));
  assert_non_null(conn);
  assert_int_equal(ax_pipe_init(stream->handle.loop, conn, false), 0);
  assert_int_equal(ax_accept(stream, &conn->stream), 0);
  ax_close(&conn->stream.handle, free_close_cb);
  accepted_and_closed++;
}

static void test_pipe_unref(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  char path[108];
  pipe_test_path(path, sizeof(path));
  ax_pipe_t listener;
  pipe_listen(&fx.loop, &listener, path, 16, accept_and_close);
  ax_unref(&listener.stream.handle);
  assert_false(ax_loop_alive(&fx.loop));
  struct end a, b;
  pair_open(&fx.loop, &a, &b, false);
  assert_int_equal(ax_read_start(&a.pipe.stream, end_alloc, end_read), 0);
  ax_unref(&a.pipe.stream.handle);
  assert_false(ax_loop_alive(&fx.loop));
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  struct end client;
  memset(&client, 0, sizeof(client));
  ax_connect_t req;
  connects_done = 0;
  assert_int_equal(ax_pipe_init(&fx.loop, &client.pipe, false), 0);
  ax_unref(&client.pipe.stream.handle);
  assert_int_equal(
      ax_pipe_connect(&req, &client.pipe, path, strlen(path), 0, connect_cb),
      0);
  assert_true(ax_loop_alive(&fx.loop));
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(connects_done, 1);
  assert_int_equal(connect_status, 0);
  end_close(&client);
  end_close(&a);
  end_close(&b);
  ax_close(&listener.stream.handle, NULL);
  fixture_close(&fx);
  end_free(&a);
  end_free(&client);
}

/* A half close: after a's shutdown, b reads its end and can still write
 * back, and a still reads that. */
static int shutdowns_done;

static void shutdown_cb(ax_shutdown_t *req, int status) {
  (void)req;
  assert_int_equal(status, 0);
  shutdowns_done++;
}

static void test_pipe_half_close(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  struct end a, b;
  pair_open(&fx.loop, &a, &b, false);
  assert_int_equal(ax_read_start(&a.pipe.stream, end_alloc, end_read), 0);
  assert_int_equal(ax_read_start(&b.pipe.stream, end_alloc, end_read), 0);
  ax_write_t w1, w2;
  writes_done = 0;
  write_text(&w1, &a, "last words");
  ax_shutdown_t sd;
  shutdowns_done = 0;
  assert_int_equal(ax_shutdown(&sd, &a.pipe.stream, shutdown_cb), 0);
  assert_false(ax_is_writable(&a.pipe.stream));
  tcp_run_until(&fx.loop, &b.eof, 1);
  assert_int_equal(b.len, 10);
  assert_memory_equal(b.data, "last words", 10);
  tcp_run_until(&fx.loop, &shutdowns_done, 1);
  write_text(&w2, &b, "a reply");
  run_until_len(&fx.loop, &a, 7);
  assert_memory_equal(a.data, "a reply", 7);
  assert_int_equal(a.eof, 0);
  end_close(&b);
  tcp_run_until(&fx.loop, &a.eof, 1);
  end_close(&a);
  fixture_close(&fx);
  assert_int_equal(writes_done, 2);
  end_free(&a);
  end_free(&b);
}

/* Reading stopped in the read callback: nothing more is read, and what
 * the peer wrote meanwhile comes once reading starts again. */
static void stop_after_read(ax_stream_t *stream, intptr_t n,
                            const ax_buf_t *buf) {
  end_read(stream, n, buf);
  if (n > 0)
    assert_int_equal(ax_read_stop(stream), 0);
}

static void test_pipe_read_stop_resume(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  struct end a, b;
  pair_open(&fx.loop, &a, &b, false);
  assert_int_equal(ax_read_start(&b.pipe.stream, end_alloc, stop_after_read),
                   0);
  ax_write_t w1, w2;
  writes_done = 0;
  write_text(&w1, &a, "one");
  run_until_len(&fx.loop, &b, 3);
  assert_int_equal(b.reads, 1); /* One read, then stopped. */
  write_text(&w2, &a, "two");
  tcp_run_until(&fx.loop, &writes_done, 2);
  for (int i = 0; i < 5; i++)
    assert_int_equal(ax_run(&fx.loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(b.len, 3);
  assert_int_equal(b.reads, 1);
  assert_int_equal(ax_read_start(&b.pipe.stream, end_alloc, end_read), 0);
  run_until_len(&fx.loop, &b, 6);
  assert_memory_equal(b.data, "onetwo", 6);
  assert_int_equal(ax_read_stop(&b.pipe.stream), 0);
  assert_int_equal(ax_read_stop(&b.pipe.stream), 0); /* Idempotent. */
  end_close(&a);
  end_close(&b);
  fixture_close(&fx);
  end_free(&a);
  end_free(&b);
}

/* A mebibyte each way at once over an IPC pipe, neither side reading
 * before both have queued everything (libuv's
 * ipc_heavy_traffic_deadlock_bug). */
static void test_pipe_ipc_both_ways(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  struct end a, b;
  pair_open(&fx.loop, &a, &b, true);
  struct big_writer to_b, to_a;
  writes_done = 0;
  writes_failed = 0;
  big_send(&to_b, &a.pipe.stream);
  big_send(&to_a, &b.pipe.stream);
  assert_int_equal(ax_read_start(&a.pipe.stream, end_alloc, end_read), 0);
  assert_int_equal(ax_read_start(&b.pipe.stream, end_alloc, end_read), 0);
  run_until_len(&fx.loop, &a, PIPE_TEST_BIG_BYTES);
  run_until_len(&fx.loop, &b, PIPE_TEST_BIG_BYTES);
  tcp_run_until(&fx.loop, &writes_done,
                2 * (PIPE_TEST_BIG_BYTES / PIPE_TEST_CHUNK_BYTES));
  assert_int_equal(writes_failed, 0);
  tcp_pattern_check(a.data, a.len);
  tcp_pattern_check(b.data, b.len);
  assert_int_equal(ax_pipe_pending_count(&a.pipe), 0);
  assert_int_equal(ax_pipe_pending_count(&b.pipe), 0);
  free(to_a.bytes);
  free(to_b.bytes);
  end_close(&a);
  end_close(&b);
  fixture_close(&fx);
  end_free(&a);
  end_free(&b);
}

/* An empty write over an IPC pipe without a handle completes with 0, as
 * libuv's ipc_send_zero expects; the peer reads nothing from it. */
static void test_pipe_ipc_empty_write(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  struct end a, b;
  pair_open(&fx.loop, &a, &b, true);
  assert_int_equal(ax_read_start(&b.pipe.stream, end_alloc, end_read), 0);
  ax_write_t w1, w2;
  ax_buf_t empty = ax_buf_init("", 0);
  writes_done = 0;
  writes_failed = 0;
  assert_int_equal(ax_write2(&w1, &a.pipe.stream, &empty, 1, NULL, write_cb),
                   0);
  write_text(&w2, &a, "after");
  run_until_len(&fx.loop, &b, 5);
  tcp_run_until(&fx.loop, &writes_done, 2);
  assert_int_equal(writes_failed, 0);
  assert_memory_equal(b.data, "after", 5);
  assert_int_equal(ax_pipe_pending_count(&b.pipe), 0);
  end_close(&a);
  end_close(&b);
  fixture_close(&fx);
  end_free(&b);
}

/* A FIFO adopted with ax_pipe_open(): what is written to it is read. */
static void test_pipe_open_fifo(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  char path[108];
  pipe_test_path(path, sizeof(path));
  assert_int_equal(mkfifo(path, 0600), 0);
  int reader = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  assert_true(reader >= 0);
  int writer = open(path, O_WRONLY | O_CLOEXEC);
  assert_true(writer >= 0);
  assert_int_equal(ax_guess_handle(reader), AX_GUESS_PIPE);
  struct end r;
  memset(&r, 0, sizeof(r));
  assert_int_equal(ax_pipe_init(&fx.loop, &r.pipe, false), 0);
  assert_int_equal(ax_pipe_open(&r.pipe, reader), 0);
  assert_true(ax_is_readable(&r.pipe.stream));
  assert_false(ax_is_writable(&r.pipe.stream));
  assert_int_equal(ax_read_start(&r.pipe.stream, end_alloc, end_read), 0);
  assert_int_equal(write(writer, "fifo", 4), 4);
  run_until_len(&fx.loop, &r, 4);
  assert_memory_equal(r.data, "fifo", 4);
  close(writer);
  tcp_run_until(&fx.loop, &r.eof, 1);
  end_close(&r);
  fixture_close(&fx);
  assert_int_equal(unlink(path), 0);
  end_free(&r);
}

/* Many clients at once on one named server: each accepted, each gets
 * its own bytes back. */
enum { MANY_CLIENTS = 32 };

struct many_server {
  ax_pipe_t listener;
  struct end conns[MANY_CLIENTS];
  int accepted;
};

static void many_connection(ax_stream_t *stream, int status) {
  struct many_server *s = ax_container_of(stream, struct many_server,
                                          listener.stream);
  assert_int_equal(status, 0);
  assert_true(s->accepted < MANY_CLIENTS);
  struct end *conn = &s->conns[s->accepted++];
  memset(conn, 0, sizeof(*conn));
  assert_int_equal(ax_pipe_init(stream->handle.loop, &conn->pipe, false), 0);
  assert_int_equal(ax_accept(stream, &conn->pipe.stream), 0);
  assert_int_equal(ax_read_start(&conn->pipe.stream, end_alloc, end_read), 0);
}

static void test_pipe_many_clients(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  char path[108];
  pipe_test_path(path, sizeof(path));
  static struct many_server s;
  memset(&s, 0, sizeof(s));
  pipe_listen(&fx.loop, &s.listener, path, 128, many_connection);
  static struct end clients[MANY_CLIENTS];
  static ax_connect_t reqs[MANY_CLIENTS];
  static ax_write_t writes[MANY_CLIENTS];
  connects_done = 0;
  for (int i = 0; i < MANY_CLIENTS; i++) {
    memset(&clients[i], 0, sizeof(clients[i]));
    assert_int_equal(ax_pipe_init(&fx.loop, &clients[i].pipe, false), 0);
    assert_int_equal(ax_pipe_connect(&reqs[i], &clients[i].pipe, path,
                                     strlen(path), 0, connect_cb),
                     0);
  }
  tcp_run_until(&fx.loop, &connects_done, MANY_CLIENTS);
  tcp_run_until(&fx.loop, &s.accepted, MANY_CLIENTS);
  writes_done = 0;
  for (int i = 0; i < MANY_CLIENTS; i++)
    write_text(&writes[i], &clients[i], "0123456789");
  size_t total = 0;
  for (int round = 0; round < 1000 && total < 10 * MANY_CLIENTS; round++) {
    assert_int_equal(ax_run(&fx.loop, AX_RUN_ONCE), 0);
    total = 0;
    for (int i = 0; i < MANY_CLIENTS; i++)
      total += s.conns[i].len;
  }
  assert_int_equal(total, 10 * MANY_CLIENTS);
  for (int i = 0; i < MANY_CLIENTS; i++) {
    assert_memory_equal(s.conns[i].data, "0123456789", 10);
    end_close(&clients[i]);
    end_close(&s.conns[i]);
  }
  ax_close(&s.listener.stream.handle, NULL);
  fixture_close(&fx);
  for (int i = 0; i < MANY_CLIENTS; i++)
    end_free(&s.conns[i]);
}

/* A bound pipe passed over IPC (as libuv's ipc_send_recv_pipe does):
 * the receiver listens on its copy and accepts a client of the name.
 * The name is the binder's, as in libuv: when the sender's handle
 * closes, the socket file goes, and the name finds nothing (AX_ENOENT),
 * while the connection made before goes on. */
static void test_pipe_ipc_bound_pipe(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  char path[108];
  pipe_test_path(path, sizeof(path));
  struct end a, b;
  pair_open(&fx.loop, &a, &b, true);
  ax_pipe_t original;
  assert_int_equal(ax_pipe_init(&fx.loop, &original, false), 0);
  assert_int_equal(ax_pipe_bind(&original, path, strlen(path), 0), 0);
  ax_write_t req;
  writes_done = 0;
  send_handle(&req, &a, &original.stream);
  assert_int_equal(ax_read_start(&b.pipe.stream, end_alloc, end_read), 0);
  run_until_len(&fx.loop, &b, 1);
  assert_int_equal(ax_pipe_pending_type(&b.pipe), AX_PIPE);
  struct server s;
  memset(&s, 0, sizeof(s));
  assert_int_equal(ax_pipe_init(&fx.loop, &s.listener, false), 0);
  assert_int_equal(ax_accept(&b.pipe.stream, &s.listener.stream), 0);
  assert_int_equal(ax_listen(&s.listener.stream, 16, server_connection), 0);
  char got[256];
  size_t size = sizeof(got);
  assert_int_equal(ax_pipe_getsockname(&s.listener, got, &size), 0);
  assert_int_equal(size, strlen(path));
  assert_memory_equal(got, path, size);
  struct end client;
  client_connect_accepted(&fx, &s, &client, path);
  ax_close(&original.stream.handle, NULL);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_NOWAIT), 0);
  struct stat st;
  assert_int_not_equal(stat(path, &st), 0);
  /* connect_expect() runs the loop to its end, which the listener
   * would never reach: connect by hand. */
  ax_pipe_t late;
  ax_connect_t late_req;
  connects_done = 0;
  assert_int_equal(ax_pipe_init(&fx.loop, &late, false), 0);
  assert_int_equal(
      ax_pipe_connect(&late_req, &late, path, strlen(path), 0, connect_cb), 0);
  tcp_run_until(&fx.loop, &connects_done, 1);
  assert_int_equal(connect_status, AX_ENOENT);
  ax_close(&late.stream.handle, NULL);
  ax_write_t w;
  write_text(&w, &client, "still here");
  run_until_len(&fx.loop, &s.conn, 10);
  assert_memory_equal(s.conn.data, "still here", 10);
  end_close(&client);
  end_close(&s.conn);
  ax_close(&s.listener.stream.handle, NULL);
  end_close(&a);
  end_close(&b);
  fixture_close(&fx);
  end_free(&a);
  end_free(&b);
  end_free(&client);
  end_free(&s.conn);
}

/* A listening Unix socket made by the caller, adopted with
 * ax_pipe_open(): ax_listen() accepts on it (libuv's uv_pipe_open of a
 * listening descriptor). */
static void test_pipe_open_listening_socket(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  char path[108];
  pipe_test_path(path, sizeof(path));
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path, strlen(path) + 1);
  assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  assert_int_equal(listen(fd, 16), 0);
  struct server s;
  memset(&s, 0, sizeof(s));
  assert_int_equal(ax_pipe_init(&fx.loop, &s.listener, false), 0);
  assert_int_equal(ax_pipe_open(&s.listener, fd), 0);
  assert_int_equal(ax_listen(&s.listener.stream, 16, server_connection), 0);
  struct end client;
  client_connect_accepted(&fx, &s, &client, path);
  end_close(&client);
  end_close(&s.conn);
  ax_close(&s.listener.stream.handle, NULL);
  fixture_close(&fx);
  /* Adopted, not bound by the handle: the file is the caller's. */
  assert_int_equal(unlink(path), 0);
  end_free(&client);
  end_free(&s.conn);
}

/* Connections past a full backlog, before the server accepts any: on
 * Linux the kernel refuses them at once (EAGAIN), and on the readiness
 * backends each such connect callback says AX_EAGAIN, as libuv's does;
 * nothing is retried. io_uring's connect, done in the kernel, waits for
 * room instead, so there every client connects once the server accepts
 * (docs/coming-from-libuv.md). */
static int backlog_ok;
static int backlog_again;

static void backlog_connect_cb(ax_connect_t *req, int status) {
  (void)req;
  if (status == 0)
    backlog_ok++;
  else if (status == AX_EAGAIN)
    backlog_again++;
  else
    fail_msg("connect: %s", ax_err_name(status));
}

static void test_pipe_backlog_full(void **state) {
  (void)state;
#if !defined(__linux__)
  test_skip("only Linux refuses a Unix socket connect with EAGAIN");
#endif
  struct fixture fx;
  fixture_open(&fx);
  char path[108];
  pipe_test_path(path, sizeof(path));
  ax_pipe_t listener;
  pipe_listen(&fx.loop, &listener, path, 2, accept_and_close);
  enum { CLIENTS = 8 };
  ax_pipe_t clients[CLIENTS];
  ax_connect_t reqs[CLIENTS];
  backlog_ok = backlog_again = 0;
  for (int i = 0; i < CLIENTS; i++) {
    assert_int_equal(ax_pipe_init(&fx.loop, &clients[i], false), 0);
    assert_int_equal(ax_pipe_connect(&reqs[i], &clients[i], path, strlen(path),
                                     0, backlog_connect_cb),
                     0);
  }
  int done = 0;
  while (done < CLIENTS && !fx.guard.fired) {
    assert_int_equal(ax_run(&fx.loop, AX_RUN_ONCE), 0);
    done = backlog_ok + backlog_again;
  }
  assert_int_equal(done, CLIENTS);
  if (strcmp(ax_backend_name(&fx.loop), "io_uring") == 0) {
    assert_int_equal(backlog_ok, CLIENTS);
  } else {
    assert_true(backlog_ok >= 1);
    assert_true(backlog_again >= 1);
  }
  for (int i = 0; i < CLIENTS; i++)
    ax_close(&clients[i].stream.handle, NULL);
  ax_close(&listener.stream.handle, NULL);
  fixture_close(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pipe_socketpair),
      cmocka_unit_test(test_pipe_anonymous),
      cmocka_unit_test(test_pipe_megabyte),
      cmocka_unit_test(test_pipe_path),
      cmocka_unit_test(test_pipe_abstract),
      cmocka_unit_test(test_pipe_connect_errors),
      cmocka_unit_test(test_pipe_names_and_mode),
      cmocka_unit_test(test_pipe_stream_ops),
      cmocka_unit_test(test_pipe_ipc_tcp_listener),
      cmocka_unit_test(test_pipe_ipc_tcp_connection),
      cmocka_unit_test(test_pipe_ipc_pipe),
      cmocka_unit_test(test_pipe_ipc_many),
      cmocka_unit_test(test_pipe_ipc_close_pending),
      cmocka_unit_test(test_pipe_ipc_partial),
      cmocka_unit_test(test_pipe_ipc_errors),
      cmocka_unit_test(test_pipe_peer_dies),
      cmocka_unit_test(test_pipe_bind_errors),
      cmocka_unit_test(test_pipe_connect_to_file),
      cmocka_unit_test(test_pipe_close_while_connecting),
      cmocka_unit_test(test_pipe_connection_names),
      cmocka_unit_test(test_pipe_unref),
      cmocka_unit_test(test_pipe_half_close),
      cmocka_unit_test(test_pipe_read_stop_resume),
      cmocka_unit_test(test_pipe_ipc_both_ways),
      cmocka_unit_test(test_pipe_ipc_empty_write),
      cmocka_unit_test(test_pipe_open_fifo),
      cmocka_unit_test(test_pipe_many_clients),
      cmocka_unit_test(test_pipe_backlog_full),
      cmocka_unit_test(test_pipe_ipc_bound_pipe),
      cmocka_unit_test(test_pipe_open_listening_socket),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
