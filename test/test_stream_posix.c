/*
 * test_stream_posix.c: the stream promises of test_stream.c that only a
 * POSIX test can arrange: a connection closed by another's callback in
 * the same wakeup gets nothing more (both made ready first, with poll(2)
 * on their descriptors); TCP_NODELAY chosen before the socket existed is
 * on the socket that connect or accept makes (getsockopt on ax_fileno's
 * descriptor); a connect interrupted by a signal still connects; and
 * accept's errors that concern one connection do not stop the listener.
 * System calls fail on demand through the syscall table (ax__sys).
 *
 * Like test_stream.c, these test the public API and the syscall table
 * only, so that they hold for any stream engine behind them.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "tcp.h"
#include "unix/internal.h"

static void restore_syscalls(void) {
  ax__sys = ax__sys_default;
}

/* The handle's descriptor. */
static int stream_fd(const ax_tcp_t *tcp) {
  ax_os_fd_t fd;
  assert_int_equal(ax_fileno(&tcp->stream.handle, &fd), 0);
  return fd;
}

/* ---- Closed by a callback of the same wakeup ---- */

/* Two connections, both reset by their peers; the callback of whichever
 * reads first closes the other. */
struct batch {
  struct tcp_pair pairs[2]; /* Server sides read, clients are closed. */
  int reads[2];             /* Read callbacks of each server. */
  int allocs[2];            /* Alloc callbacks of each server. */
  char buf[64];             /* What both read into. */
};

static int batch_index(const struct batch *b, const ax_stream_t *stream) {
  return stream == &b->pairs[0].server.stream ? 0 : 1;
}

static void batch_alloc_cb(ax_handle_t *handle, size_t suggested,
                           ax_buf_t *buf) {
  struct batch *b = handle->loop->data;
  (void)suggested;
  b->allocs[batch_index(b, (ax_stream_t *)handle)]++;
  *buf = ax_buf_init(b->buf, sizeof(b->buf));
}

static void batch_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                          const ax_buf_t *buf) {
  struct batch *b = stream->handle.loop->data;
  (void)buf;
  int i = batch_index(b, stream);
  b->reads[i]++;
  assert_true(nread < 0); /* The reset, or the end before it. */
  ax_tcp_t *other = &b->pairs[1 - i].server;
  if (!ax_is_closing(&other->stream.handle))
    assert_int_equal(ax_close(&other->stream.handle, tcp_pair_server_closed),
                     0);
}

/* Wait (bounded) until both servers' descriptors are readable, so that
 * the loop's next wakeup collects both. */
static void batch_wait_ready(struct batch *b) {
  struct pollfd fds[2];
  for (int i = 0; i < 2; i++) {
    fds[i].fd = stream_fd(&b->pairs[i].server);
    fds[i].events = POLLIN;
  }
  for (int tries = 0; tries < TCP_TEST_WAIT_MS / 10; tries++) {
    fds[0].revents = fds[1].revents = 0;
    assert_true(poll(fds, 2, 10) >= 0);
    if ((fds[0].revents & POLLIN) && (fds[1].revents & POLLIN))
      return;
  }
  fail_msg("the peers' ends did not arrive");
}

/* Whether the loop's backend waits for readiness and collects a batch of
 * it before any callback runs: then the batch holds exactly one event per
 * ready descriptor, and nothing else. */
static bool batch_readiness_backend(const ax_loop_t *loop) {
  const char *name = ax_backend_name(loop);
  return strcmp(name, "epoll") == 0 || strcmp(name, "poll") == 0 ||
         strcmp(name, "kqueue") == 0;
}

/* The closed connection gets no callback, and the backend delivers
 * nothing to it either: a delivery to a stopped operation is the bug,
 * even where the stream happens to ignore it (and a use after free where
 * its memory is gone). The loop's event count tells deliveries; it is
 * exact on the readiness backends, where nothing but the two ends can be
 * in the batch (a completion backend may also count the cancellation of
 * the closed one's read). */
static void test_stream_posix_closed_in_same_wakeup(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct batch *b = calloc(1, sizeof(*b));
  assert_non_null(b);
  loop.data = b;
  for (int i = 0; i < 2; i++) {
    assert_int_equal(tcp_pair_open(&loop, &b->pairs[i], "127.0.0.1"), 0);
    assert_int_equal(ax_read_start(&b->pairs[i].server.stream, batch_alloc_cb,
                                   batch_read_cb),
                     0);
  }
  /* Reset, not merely ended: a hang-up that every backend reports even
   * for a descriptor it no longer watches for reading. */
  for (int i = 0; i < 2; i++)
    assert_int_equal(
        ax_tcp_close_reset(&b->pairs[i].client, tcp_pair_client_closed), 0);
  batch_wait_ready(b);
  ax_metrics_t before, after;
  assert_int_equal(ax_loop_metrics(&loop, &before), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_int_equal(ax_loop_metrics(&loop, &after), 0);
  assert_int_equal(b->reads[0] + b->reads[1], 1);
  int closed = b->reads[0] == 1 ? 1 : 0;
  assert_int_equal(b->allocs[closed], 0);
  if (batch_readiness_backend(&loop))
    assert_int_equal(after.events - before.events, 1);

  for (int i = 0; i < 2; i++)
    tcp_pair_close(&b->pairs[i]);
  assert_int_equal(b->reads[closed], 0);
  free(b);
  test_loop_close(&loop);
}

/* ---- A listener and its clients ---- */

/* A listener that accepts and reads, and clients that send a letter
 * once connected; the first of each may choose TCP_NODELAY before it
 * has a socket. */
struct link {
  bool nodelay;         /* The first client and server choose it. */
  ax_tcp_t listener;    /* Accepts every connection into servers[]. */
  ax_tcp_t servers[2];  /* Accepted, reading into got. */
  int accepted;         /* Connections accepted. */
  int errors;           /* Connection callbacks with an error. */
  int error;            /* The first such error. */
  ax_tcp_t clients[2];  /* The clients. */
  ax_connect_t reqs[2]; /* Their connects. */
  int connected;        /* Connect callbacks run. */
  int status;           /* The first connect error, or 0. */
  char got[16];         /* What the servers read. */
  size_t len;           /* Bytes of it. */
  int closed;           /* Close callbacks run. */
};

static void link_alloc_cb(ax_handle_t *handle, size_t suggested,
                          ax_buf_t *buf) {
  struct link *l = handle->loop->data;
  (void)suggested;
  *buf = ax_buf_init(l->got + l->len, sizeof(l->got) - l->len);
}

static void link_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                         const ax_buf_t *buf) {
  struct link *l = stream->handle.loop->data;
  (void)buf;
  if (nread > 0)
    l->len += (size_t)nread;
}

static void link_connection_cb(ax_stream_t *server, int status) {
  struct link *l = server->handle.loop->data;
  if (status != 0) {
    if (l->errors++ == 0)
      l->error = status;
    return;
  }
  assert_true(l->accepted < 2);
  ax_tcp_t *conn = &l->servers[l->accepted];
  assert_int_equal(ax_tcp_init(server->handle.loop, conn), 0);
  if (l->nodelay && l->accepted == 0)
    assert_int_equal(ax_tcp_nodelay(conn, true), 0);
  assert_int_equal(ax_accept(server, &conn->stream), 0);
  l->accepted++;
  assert_int_equal(ax_read_start(&conn->stream, link_alloc_cb, link_read_cb),
                   0);
}

/* Connected: send the client's letter. */
static void link_connect_cb(ax_connect_t *req, int status) {
  struct link *l = req->handle->handle.loop->data;
  if (status != 0 && l->status == 0)
    l->status = status;
  l->connected++;
  if (status == 0) {
    char letter = (char)('a' + (req - l->reqs));
    ax_buf_t buf = ax_buf_init(&letter, 1);
    assert_int_equal(ax_try_write(req->handle, &buf, 1), 1);
  }
}

static void link_closed(ax_handle_t *handle) {
  ((struct link *)handle->loop->data)->closed++;
}

static struct link *link_open(ax_loop_t *loop, int *port) {
  struct link *l = calloc(1, sizeof(*l));
  assert_non_null(l);
  loop->data = l;
  assert_int_equal(tcp_test_listen(loop, &l->listener, "127.0.0.1",
                                   link_connection_cb, port),
                   0);
  return l;
}

static void link_connect(ax_loop_t *loop, struct link *l, int i, int port) {
  struct sockaddr_storage addr;
  tcp_test_addr("127.0.0.1", port, &addr);
  assert_int_equal(ax_tcp_init(loop, &l->clients[i]), 0);
  if (l->nodelay && i == 0)
    assert_int_equal(ax_tcp_nodelay(&l->clients[i], true), 0);
  assert_int_equal(ax_tcp_connect(&l->reqs[i], &l->clients[i],
                                  (struct sockaddr *)&addr, link_connect_cb),
                   0);
}

/* Close the clients started and the servers accepted, and the listener. */
static void link_close(ax_loop_t *loop, struct link *l, int clients) {
  for (int i = 0; i < clients; i++)
    assert_int_equal(ax_close(&l->clients[i].stream.handle, link_closed), 0);
  for (int i = 0; i < l->accepted; i++)
    assert_int_equal(ax_close(&l->servers[i].stream.handle, link_closed), 0);
  assert_int_equal(ax_close(&l->listener.stream.handle, link_closed), 0);
  tcp_run_until(loop, &l->closed, clients + l->accepted + 1);
  free(l);
}

/* ---- Options chosen before the socket existed ---- */

static bool nodelay_on(const ax_tcp_t *tcp) {
  int value = 0;
  socklen_t len = sizeof(value);
  assert_int_equal(
      getsockopt(stream_fd(tcp), IPPROTO_TCP, TCP_NODELAY, &value, &len), 0);
  return value != 0;
}

/* The socket connect makes and the one accept hands over both carry the
 * option; the handles that did not choose it do not (so the system's
 * default is not what the test sees). One at a time, so that the
 * accepted handles are known by order. */
static void test_stream_posix_nodelay_before_socket(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  int port;
  struct link *l = link_open(&loop, &port);
  l->nodelay = true;
  for (int i = 0; i < 2; i++) {
    link_connect(&loop, l, i, port);
    tcp_run_until(&loop, &l->connected, i + 1);
    tcp_run_until(&loop, &l->accepted, i + 1);
  }
  assert_int_equal(l->status, 0);
  assert_true(nodelay_on(&l->clients[0]));
  assert_true(nodelay_on(&l->servers[0]));
  assert_false(nodelay_on(&l->clients[1]));
  assert_false(nodelay_on(&l->servers[1]));
  link_close(&loop, l, 2);
  test_loop_close(&loop);
}

/* ---- A connect interrupted by a signal ---- */

static int connect_interrupted;

/* The connect goes on in the kernel, but the call reports EINTR, as
 * POSIX allows when a signal arrives during a blocking connect. */
static int interrupted_connect(int fd, const struct sockaddr *addr,
                               socklen_t len) {
  int r = ax__sys_default.connect(fd, addr, len);
  if (r == 0 || errno == EINPROGRESS) {
    connect_interrupted++;
    errno = EINTR;
    return -1;
  }
  return r;
}

/* Interrupted, the connect still goes on in the kernel: the stream must
 * wait for it as for one in progress, and report success. */
static void test_stream_posix_connect_eintr(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  test_skip_on_io_uring(&loop);
  int port;
  struct link *l = link_open(&loop, &port);
  ax__sys.connect = interrupted_connect;
  connect_interrupted = 0;
  link_connect(&loop, l, 0, port);
  restore_syscalls();
  assert_int_equal(connect_interrupted, 1);
  tcp_run_until(&loop, &l->connected, 1);
  assert_int_equal(l->status, 0);
  tcp_run_until(&loop, &l->accepted, 1);
  tcp_run_until_size(&loop, &l->len, 1);
  assert_memory_equal(l->got, "a", 1);
  link_close(&loop, l, 1);
  test_loop_close(&loop);
}

/* ---- accept's errors that concern one connection ---- */

/* What accept fails with before it succeeds: the errors a connection
 * that went away (ECONNABORTED), a network error pending on the new
 * socket (Linux passes those on, and asks callers to retry), a firewall
 * (EPERM) or a signal bring. */
static const int transient_errnos[] = {ECONNABORTED, EPROTO,      EPERM,
                                       ENETDOWN,     ENETUNREACH, EHOSTUNREACH,
                                       EHOSTDOWN,    ENOPROTOOPT, EINTR};
enum { TRANSIENT_COUNT = sizeof(transient_errnos) / sizeof(int) };
static int transient_next;

static int transient_accept4(int fd, struct sockaddr *addr, socklen_t *len,
                             int flags) {
  if (transient_next < TRANSIENT_COUNT) {
    errno = transient_errnos[transient_next++];
    return -1;
  }
  return ax__sys_default.accept4(fd, addr, len, flags);
}

/* None is reported, none pauses the listener, and both connections are
 * accepted: the one that met the errors and the one after. */
static void test_stream_posix_accept_transient_errors(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  test_skip_on_io_uring(&loop);
  int port;
  struct link *l = link_open(&loop, &port);
  ax__sys.accept4 = transient_accept4;
  transient_next = 0;
  link_connect(&loop, l, 0, port);
  tcp_run_until(&loop, &l->accepted, 1);
  assert_int_equal(transient_next, TRANSIENT_COUNT);
  restore_syscalls();
  link_connect(&loop, l, 1, port);
  tcp_run_until(&loop, &l->accepted, 2);
  tcp_run_until(&loop, &l->connected, 2);
  tcp_run_until_size(&loop, &l->len, 2);
  assert_int_equal(l->errors, 0);
  assert_int_equal(l->status, 0);
  ax_metrics_t metrics;
  assert_int_equal(ax_loop_metrics(&loop, &metrics), 0);
  assert_int_equal(metrics.accept_paused, 0);
  link_close(&loop, l, 2);
  test_loop_close(&loop);
}

/* ---- A SEND that completes with an error ---- */

struct send_error {
  ax_write_t reqs[2]; /* Two writes queued behind a full kernel. */
  int calls[2];       /* Callbacks of each. */
  int status[2];      /* Their last status. */
};

static void send_error_write_cb(ax_write_t *req, int status) {
  struct send_error *e = req->req.data;
  int i = req == &e->reqs[0] ? 0 : 1;
  e->calls[i]++;
  e->status[i] = status;
}

/* A completion backend (io_uring, IOCP) reports a failed send as the
 * SEND operation's result; the readiness emulation never does, so the
 * completion is made here by hand. Every queued write must fail once,
 * with that error: none may complete twice, or with 0. */
static void test_stream_posix_send_completes_with_error(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct tcp_pair pair;
  assert_int_equal(tcp_pair_open(&loop, &pair, "127.0.0.1"), 0);
  ax_stream_t *client = &pair.client.stream;
  static char chunk[65536];
  tcp_fill_kernel(client, chunk, sizeof(chunk), NULL);
  static struct send_error e;
  ax_buf_t buf = ax_buf_init(chunk, sizeof(chunk));
  for (int i = 0; i < 2; i++) {
    e.reqs[i].req.data = &e;
    assert_int_equal(ax_write(&e.reqs[i], client, &buf, 1, send_error_write_cb),
                     0);
  }
  /* The first write went to the kernel in part or not at all: a SEND is
   * in flight. Complete it with a reset. */
  assert_true(ax_stream_get_write_queue_size(client) > 0);
  client->priv.sock.cb(&loop, &client->priv.sock, AX__OP_SEND, AX_ECONNRESET);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(e.calls[i], 1);
    assert_int_equal(e.status[i], AX_ECONNRESET);
  }
  assert_int_equal(ax_stream_get_write_queue_size(client), 0);
  tcp_pair_close(&pair);
  test_loop_close(&loop);
}

/* ---- A flood of reads is cut at its bound, and reads stop when short ---- */

enum {
  /* The engine's STREAM_READS_PER_WAKEUP (src/stream.c). */
  WAKEUP_READS = 32,
  /* Small buffers, so that many full reads wait in the kernel; the total
   * is not a multiple of them, so that the last read is a short one. */
  WAKEUP_BUF_BYTES = 16,
  WAKEUP_TOTAL_BYTES = 4096 + 5,
};

struct wakeup {
  struct tcp_pair pair;         /* client writes, server reads. */
  char out[WAKEUP_TOTAL_BYTES]; /* What the client writes. */
  char in[WAKEUP_BUF_BYTES];    /* What the server reads into. */
  int wrote;                    /* Write callbacks. */
  size_t received;              /* Bytes read. */
  int reads;                    /* Read callbacks with bytes. */
  int empty_reads;              /* Read callbacks with 0 bytes. */
};

static void wakeup_alloc_cb(ax_handle_t *handle, size_t suggested,
                            ax_buf_t *buf) {
  struct wakeup *w = handle->data;
  (void)suggested;
  *buf = ax_buf_init(w->in, sizeof(w->in));
}

static void wakeup_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                           const ax_buf_t *buf) {
  struct wakeup *w = stream->handle.data;
  (void)buf;
  assert_true(nread >= 0);
  if (nread == 0) {
    w->empty_reads++;
    return;
  }
  w->reads++;
  w->received += (size_t)nread;
}

static void wakeup_write_cb(ax_write_t *req, int status) {
  assert_int_equal(status, 0);
  (*(int *)req->req.data)++;
}

/* A peer whose bytes fill many buffers gets STREAM_READS_PER_WAKEUP reads
 * in one wakeup, not one more, so that it cannot hold the loop; and a
 * read that comes back short (the kernel has nothing more) is the last
 * of its wakeup: reading again would only find EAGAIN, a callback with
 * nothing. Checked on the readiness backends, whose reads are the
 * kernel's: the sim backend splits reads on purpose, and a completion
 * backend may deliver several RECV completions in one wakeup, each with
 * its own bound. */
static void test_stream_posix_reads_per_wakeup(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct wakeup *w = calloc(1, sizeof(*w));
  assert_non_null(w);
  assert_int_equal(tcp_pair_open(&loop, &w->pair, "127.0.0.1"), 0);
  tcp_pattern_fill(w->out, 0, sizeof(w->out));
  ax_write_t req;
  req.req.data = &w->wrote;
  ax_buf_t buf = ax_buf_init(w->out, sizeof(w->out));
  assert_int_equal(
      ax_write(&req, &w->pair.client.stream, &buf, 1, wakeup_write_cb), 0);
  tcp_run_until(&loop, &w->wrote, 1);
  /* Wait (bounded) until the bytes are readable, so that the next wakeup
   * finds them. */
  struct pollfd fd = {.fd = stream_fd(&w->pair.server), .events = POLLIN};
  assert_true(poll(&fd, 1, TCP_TEST_WAIT_MS) == 1);

  w->pair.server.stream.handle.data = w;
  assert_int_equal(
      ax_read_start(&w->pair.server.stream, wakeup_alloc_cb, wakeup_read_cb),
      0);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  if (batch_readiness_backend(&loop))
    assert_int_equal(w->reads, WAKEUP_READS);
  tcp_run_until_size(&loop, &w->received, WAKEUP_TOTAL_BYTES);
  if (batch_readiness_backend(&loop))
    assert_int_equal(w->empty_reads, 0);
  tcp_pair_close(&w->pair);
  free(w);
  test_loop_close(&loop);
}

/* ---- One flush makes a bounded number of sends ---- */

enum {
  /* The engine's STREAM_SENDS_PER_FLUSH and STREAM_IOV_MAX (src/stream.c). */
  FLUSH_SENDS = 8,
  FLUSH_IOV_MAX = 1024,
  /* Queued while connecting: more one-byte buffers than one flush sends. */
  FLUSH_WRITES = 10,
  FLUSH_BYTES = FLUSH_WRITES * FLUSH_IOV_MAX,
};

/* sendmsg() calls on the descriptor watched. */
static int flush_fd = -1;
static int flush_sends;

static ssize_t flush_counting_sendmsg(int fd, const struct msghdr *msg,
                                      int flags) {
  if (fd == flush_fd)
    flush_sends++;
  return ax__sys_default.sendmsg(fd, msg, flags);
}

struct flush {
  struct tcp_pair pair;                       /* client writes. */
  char data[FLUSH_BYTES];                     /* What it writes. */
  ax_buf_t bufs[FLUSH_WRITES][FLUSH_IOV_MAX]; /* One byte each. */
  ax_write_t reqs[FLUSH_WRITES];              /* Queued while connecting. */
  int wrote;                                  /* Write callbacks. */
  int connected;                              /* Connect callbacks. */
  int sends_at_connect; /* flush_sends in that iteration. */
  ax_check_t check;     /* Takes that count. */
  char in[4096];        /* The server's reads. */
  size_t received;      /* Bytes the server read. */
};

static void flush_connect_cb(ax_connect_t *req, int status) {
  struct flush *f = ax_container_of(req, struct flush, pair.connect);
  assert_int_equal(status, 0);
  f->connected++;
}

/* After the poll of each iteration: the sends made by the iteration in
 * which the connect completed, whose flush sent the queue. */
static void flush_check_cb(ax_check_t *check) {
  struct flush *f = ax_container_of(check, struct flush, check);
  if (f->connected == 0)
    return;
  f->sends_at_connect = flush_sends;
  ax_check_stop(check);
}

static void flush_listener_closed(ax_handle_t *handle) {
  ax_container_of(handle, struct tcp_pair, listener.stream.handle)->closed++;
}

static void flush_accept_cb(ax_stream_t *listener, int status) {
  struct flush *f = ax_container_of(listener, struct flush,
                                    pair.listener.stream);
  assert_int_equal(status, 0);
  assert_int_equal(ax_tcp_init(listener->handle.loop, &f->pair.server), 0);
  assert_int_equal(ax_accept(listener, &f->pair.server.stream), 0);
  f->pair.accepted++;
  assert_int_equal(ax_close(&listener->handle, flush_listener_closed), 0);
}

static void flush_alloc_cb(ax_handle_t *handle, size_t suggested,
                           ax_buf_t *buf) {
  struct flush *f = handle->data;
  (void)suggested;
  *buf = ax_buf_init(f->in, sizeof(f->in));
}

static void flush_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                          const ax_buf_t *buf) {
  struct flush *f = stream->handle.data;
  (void)buf;
  if (nread > 0)
    f->received += (size_t)nread;
}

static void flush_write_cb(ax_write_t *req, int status) {
  assert_int_equal(status, 0);
  (*(int *)req->req.data)++;
}

/* Writes queued while connecting go out once connected: STREAM_SENDS_PER
 * _FLUSH sends in that iteration, however much the kernel would take, so
 * that one stream cannot hold the loop; the rest in later iterations,
 * every byte of it. Counted on the readiness backends, whose sends are
 * the kernel's whole answers (the sim backend splits them). */
static void test_stream_posix_sends_per_flush(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct flush *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  f->pair.loop = &loop;
  assert_int_equal(tcp_test_listen(&loop, &f->pair.listener, "127.0.0.1",
                                   flush_accept_cb, &f->pair.port),
                   0);
  assert_int_equal(ax_check_init(&loop, &f->check), 0);
  assert_int_equal(ax_check_start(&f->check, flush_check_cb), 0);
  struct sockaddr_storage addr;
  tcp_test_addr("127.0.0.1", f->pair.port, &addr);
  assert_int_equal(ax_tcp_init(&loop, &f->pair.client), 0);
  flush_sends = 0;
  ax__sys.sendmsg = flush_counting_sendmsg;
  assert_int_equal(ax_tcp_connect(&f->pair.connect, &f->pair.client,
                                  (struct sockaddr *)&addr, flush_connect_cb),
                   0);
  flush_fd = stream_fd(&f->pair.client);
  for (int i = 0; i < FLUSH_WRITES; i++) {
    for (int j = 0; j < FLUSH_IOV_MAX; j++)
      f->bufs[i][j] = ax_buf_init(f->data + i * FLUSH_IOV_MAX + j, 1);
    f->reqs[i].req.data = &f->wrote;
    assert_int_equal(ax_write(&f->reqs[i], &f->pair.client.stream, f->bufs[i],
                              FLUSH_IOV_MAX, flush_write_cb),
                     0);
  }
  tcp_run_until(&loop, &f->pair.accepted, 1);
  f->pair.server.stream.handle.data = f;
  assert_int_equal(
      ax_read_start(&f->pair.server.stream, flush_alloc_cb, flush_read_cb), 0);
  tcp_run_until(&loop, &f->wrote, FLUSH_WRITES);
  tcp_run_until_size(&loop, &f->received, FLUSH_BYTES);
  restore_syscalls();
  flush_fd = -1;
  if (batch_readiness_backend(&loop)) {
    assert_int_equal(f->sends_at_connect, FLUSH_SENDS);
    assert_int_equal(flush_sends, FLUSH_WRITES);
  }
  assert_int_equal(ax_close(&f->check.handle, NULL), 0);
  tcp_pair_close(&f->pair);
  free(f);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stream_posix_closed_in_same_wakeup),
      cmocka_unit_test(test_stream_posix_nodelay_before_socket),
      cmocka_unit_test(test_stream_posix_connect_eintr),
      cmocka_unit_test(test_stream_posix_accept_transient_errors),
      cmocka_unit_test(test_stream_posix_send_completes_with_error),
      cmocka_unit_test(test_stream_posix_reads_per_wakeup),
      cmocka_unit_test(test_stream_posix_sends_per_flush),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
