/*
 * bench/ipc_axle.c: handles passed over an IPC pipe, on axle: the ipc_*
 * workload of bench.h. One loop on a thread of its own sends a TCP
 * listener n times with one byte each (ax_write2()), BENCH_IPC_WINDOW
 * writes in flight; the other loop, on the calling thread, accepts each
 * handle it receives into a new ax_tcp_t and closes it: Node's
 * round-robin cluster hand-off, without the connection itself.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <axle.h>

#include "bench.h"

struct ipc_sender {
  ax_loop_t loop;
  ax_pipe_t pipe;
  ax_tcp_t listener;     /* The handle sent. */
  ax_async_t done_async; /* The receiver is done: close everything. */
  ax_write_t reqs[BENCH_IPC_WINDOW];
  uint64_t left; /* Writes not yet started. */
  uint64_t done; /* Write callbacks run. */
  uint64_t n;
  int error;
};

struct ipc_receiver {
  ax_loop_t loop;
  ax_pipe_t pipe;
  uint64_t accepted;
  uint64_t n;
  int error;
};

static char ipc_byte = 'h';

static void ipc_sender_write_cb(ax_write_t *req, int status);

static void ipc_sender_next(struct ipc_sender *s, ax_write_t *req) {
  ax_buf_t buf = ax_buf_init(&ipc_byte, 1);
  s->left--;
  if (ax_write2(req, &s->pipe.stream, &buf, 1, &s->listener.stream,
                ipc_sender_write_cb) != 0)
    s->error = 1;
}

static void ipc_sender_write_cb(ax_write_t *req, int status) {
  struct ipc_sender *s = req->handle->handle.data;
  if (status != 0)
    s->error = 1;
  s->done++;
  if (s->left > 0 && s->error == 0)
    ipc_sender_next(s, req);
}

/* Closing the pipe while handles are in flight would race the receiver's
 * last reads with its end of file: the sender closes once told. */
static void ipc_sender_done(ax_async_t *async) {
  struct ipc_sender *s = ax_container_of(async, struct ipc_sender, done_async);
  ax_close(&s->pipe.stream.handle, NULL);
  ax_close(&s->listener.stream.handle, NULL);
  ax_close(&async->handle, NULL);
}

static void *ipc_sender_thread(void *arg) {
  struct ipc_sender *s = arg;
  for (unsigned int i = 0; i < BENCH_IPC_WINDOW && s->left > 0; i++)
    ipc_sender_next(s, &s->reqs[i]);
  ax_run(&s->loop, AX_RUN_DEFAULT);
  return NULL;
}

static void ipc_alloc(ax_handle_t *handle, size_t suggested, ax_buf_t *buf) {
  static char bytes[64 * 1024];
  (void)handle;
  (void)suggested;
  buf->base = bytes;
  buf->len = sizeof(bytes);
}

static void ipc_free_cb(ax_handle_t *handle) {
  free(handle);
}

static void ipc_read(ax_stream_t *stream, intptr_t nread, const ax_buf_t *buf) {
  (void)buf;
  struct ipc_receiver *r = stream->handle.data;
  if (nread < 0) {
    r->error = 1;
    ax_close(&stream->handle, NULL);
    return;
  }
  while (ax_pipe_pending_count(&r->pipe) > 0) {
    ax_tcp_t *tcp = malloc(sizeof(*tcp));
    if (tcp == NULL || ax_pipe_pending_type(&r->pipe) != AX_TCP ||
        ax_tcp_init(&r->loop, tcp) != 0 ||
        ax_accept(stream, &tcp->stream) != 0) {
      r->error = 1;
      free(tcp);
      ax_close(&stream->handle, NULL);
      return;
    }
    ax_close(&tcp->stream.handle, ipc_free_cb);
    r->accepted++;
  }
  if (r->accepted == r->n)
    ax_close(&stream->handle, NULL);
}

static void ipc_unused_connection(ax_stream_t *stream, int status) {
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
  if (ax_loop_init(&s->loop) != 0 || ax_loop_init(&r->loop) != 0 ||
      ax_pipe_init(&s->loop, &s->pipe, true) != 0 ||
      ax_pipe_init(&r->loop, &r->pipe, true) != 0 ||
      ax_pipe_open(&s->pipe, sv[0]) != 0 ||
      ax_pipe_open(&r->pipe, sv[1]) != 0 ||
      ax_tcp_init(&s->loop, &s->listener) != 0 ||
      ax_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0) != 0 ||
      ax_listen(&s->listener.stream, 16, ipc_unused_connection) != 0 ||
      ax_async_init(&s->loop, &s->done_async, ipc_sender_done) != 0)
    return -1;
  s->pipe.stream.handle.data = s;
  r->pipe.stream.handle.data = r;
  return 0;
}

void bench_axle_ipc_handles(uint64_t n, struct bench_result *res) {
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
  ax_read_start(&r.pipe.stream, ipc_alloc, ipc_read);
  pthread_create(&t, NULL, ipc_sender_thread, &s);
  ax_run(&r.loop, AX_RUN_DEFAULT);
  ax_async_send(&s.done_async);
  pthread_join(t, NULL);
  res->cpu_s = bench_cpu_now() - cpu;
  res->wall_s = bench_wall_now() - wall;
  res->ops = r.accepted;
  res->error = s.error || r.error;
  ax_loop_close(&s.loop);
  ax_loop_close(&r.loop);
}
