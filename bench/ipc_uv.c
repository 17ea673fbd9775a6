/*
 * bench/ipc_uv.c: handles passed over an IPC pipe, on libuv: the ipc_*
 * workload of bench.h, written as ipc_axle.c is. One loop on a thread of
 * its own sends a TCP listener n times with one byte each (uv_write2()),
 * BENCH_IPC_WINDOW writes in flight; the other loop accepts each handle
 * it receives into a new uv_tcp_t and closes it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "bench.h"

struct ipc_sender {
  uv_loop_t loop;
  uv_pipe_t pipe;
  uv_tcp_t listener;     /* The handle sent. */
  uv_async_t done_async; /* The receiver is done: close everything. */
  uv_write_t reqs[BENCH_IPC_WINDOW];
  uint64_t left; /* Writes not yet started. */
  uint64_t done; /* Write callbacks run. */
  uint64_t n;
  int error;
};

struct ipc_receiver {
  uv_loop_t loop;
  uv_pipe_t pipe;
  uint64_t accepted;
  uint64_t n;
  int error;
};

static char ipc_byte = 'h';

static void ipc_sender_write_cb(uv_write_t *req, int status);

static void ipc_sender_next(struct ipc_sender *s, uv_write_t *req) {
  uv_buf_t buf = uv_buf_init(&ipc_byte, 1);
  s->left--;
  if (uv_write2(req, (uv_stream_t *)&s->pipe, &buf, 1,
                (uv_stream_t *)&s->listener, ipc_sender_write_cb) != 0)
    s->error = 1;
}

static void ipc_sender_write_cb(uv_write_t *req, int status) {
  struct ipc_sender *s = req->handle->data;
  if (status != 0)
    s->error = 1;
  s->done++;
  if (s->left > 0 && s->error == 0)
    ipc_sender_next(s, req);
}

/* The sender closes once told, as in ipc_axle.c. */
static void ipc_sender_done(uv_async_t *async) {
  struct ipc_sender *s = async->data;
  uv_close((uv_handle_t *)&s->pipe, NULL);
  uv_close((uv_handle_t *)&s->listener, NULL);
  uv_close((uv_handle_t *)async, NULL);
}

static void *ipc_sender_thread(void *arg) {
  struct ipc_sender *s = arg;
  for (unsigned int i = 0; i < BENCH_IPC_WINDOW && s->left > 0; i++)
    ipc_sender_next(s, &s->reqs[i]);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  return NULL;
}

static void ipc_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  static char bytes[64 * 1024];
  (void)handle;
  (void)suggested;
  buf->base = bytes;
  buf->len = sizeof(bytes);
}

static void ipc_free_cb(uv_handle_t *handle) {
  free(handle);
}

static void ipc_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;
  struct ipc_receiver *r = stream->data;
  if (nread < 0) {
    r->error = 1;
    uv_close((uv_handle_t *)stream, NULL);
    return;
  }
  while (uv_pipe_pending_count(&r->pipe) > 0) {
    uv_tcp_t *tcp = malloc(sizeof(*tcp));
    if (tcp == NULL || uv_pipe_pending_type(&r->pipe) != UV_TCP ||
        uv_tcp_init(&r->loop, tcp) != 0 ||
        uv_accept(stream, (uv_stream_t *)tcp) != 0) {
      r->error = 1;
      free(tcp);
      uv_close((uv_handle_t *)stream, NULL);
      return;
    }
    uv_close((uv_handle_t *)tcp, ipc_free_cb);
    r->accepted++;
  }
  if (r->accepted == r->n)
    uv_close((uv_handle_t *)stream, NULL);
}

static void ipc_unused_connection(uv_stream_t *stream, int status) {
  (void)stream;
  (void)status;
}

/* Both loops, the pipe's two ends on a socket pair, and the listener on
 * 127.0.0.1. 0 or -1. */
static int ipc_setup(struct ipc_sender *s, struct ipc_receiver *r) {
  int sv[2];
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(0x7f000001);
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return -1;
  if (uv_loop_init(&s->loop) != 0 || uv_loop_init(&r->loop) != 0 ||
      uv_pipe_init(&s->loop, &s->pipe, 1) != 0 ||
      uv_pipe_init(&r->loop, &r->pipe, 1) != 0 ||
      uv_pipe_open(&s->pipe, sv[0]) != 0 ||
      uv_pipe_open(&r->pipe, sv[1]) != 0 ||
      uv_tcp_init(&s->loop, &s->listener) != 0 ||
      uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0) != 0 ||
      uv_listen((uv_stream_t *)&s->listener, 16, ipc_unused_connection) != 0 ||
      uv_async_init(&s->loop, &s->done_async, ipc_sender_done) != 0)
    return -1;
  s->done_async.data = s;
  s->pipe.data = s;
  r->pipe.data = r;
  return 0;
}

void bench_uv_ipc_handles(uint64_t n, struct bench_result *res) {
  static struct ipc_sender s;
  static struct ipc_receiver r;
  memset(&s, 0, sizeof(s));
  memset(&r, 0, sizeof(r));
  if (ipc_setup(&s, &r) != 0) {
    res->error = 1;
    return;
  }
  s.n = s.left = n;
  r.n = n;
  pthread_t t;
  double cpu = bench_cpu_now(), wall = bench_wall_now();
  uv_read_start((uv_stream_t *)&r.pipe, ipc_alloc, ipc_read);
  pthread_create(&t, NULL, ipc_sender_thread, &s);
  uv_run(&r.loop, UV_RUN_DEFAULT);
  uv_async_send(&s.done_async);
  pthread_join(t, NULL);
  res->cpu_s = bench_cpu_now() - cpu;
  res->wall_s = bench_wall_now() - wall;
  res->ops = r.accepted;
  res->error = s.error || r.error;
  uv_loop_close(&s.loop);
  uv_loop_close(&r.loop);
}
