/*
 * test_stream.c: the promises a stream makes about the user's bytes and
 * about fairness, each tested where it is easiest to break: a write made
 * while older ones wait goes out after them; a shutdown waits for the
 * queue; a connection the callback leaves untaken is held, not lost or
 * replaced; a peer that floods reads, or a flood of connections, starves
 * neither a timer nor another connection; and the water marks are
 * reported exactly at their bounds.
 *
 * These tests guard the stream engine through its public API alone, so
 * that they hold for any engine behind it (test_tcp.c covers the API's
 * surface). Portable: axle's API and the system's address types only
 * (support/net.h). Every wait is bounded (tcp_run_until), loops are
 * counted in iterations, and no test asserts a timing.
 */
#include <stdlib.h>
#include <string.h>

#include "tcp.h"

/* ---- Reading and checking the test pattern ---- */

/* Reads a stream, checking each byte against the test pattern as it
 * arrives, so that a reordered block fails the test where it shows. */
struct pattern_reader {
  size_t received;     /* Bytes read so far, all of them checked. */
  int eof;             /* AX_EOF seen. */
  size_t at_eof;       /* received when AX_EOF came. */
  int error;           /* An error other than EOF, or 0. */
  char buf[64 * 1024]; /* What the alloc callback hands out. */
};

static void pattern_alloc_cb(ax_handle_t *handle, size_t suggested,
                             ax_buf_t *buf) {
  struct pattern_reader *r = handle->data;
  (void)suggested;
  *buf = ax_buf_init(r->buf, sizeof(r->buf));
}

/* Account for one read callback; returns the bytes it brought (0 for
 * none, EOF or an error). */
static size_t pattern_take(struct pattern_reader *r, ptrdiff_t nread,
                           const ax_buf_t *buf) {
  if (nread == AX_EOF) {
    r->eof++;
    r->at_eof = r->received;
    return 0;
  }
  if (nread < 0) {
    r->error = (int)nread;
    return 0;
  }
  for (ptrdiff_t i = 0; i < nread; i++) {
    if (buf->base[i] != tcp_pattern_byte(r->received + (size_t)i))
      fail_msg("byte %lu arrived out of order",
               (unsigned long)(r->received + (size_t)i));
  }
  r->received += (size_t)nread;
  return (size_t)nread;
}

static void pattern_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                            const ax_buf_t *buf) {
  pattern_take(stream->handle.data, nread, buf);
}

/* A buffer holding the pattern from offset 0 to len. */
static char *pattern_new(size_t len) {
  char *data = malloc(len);
  assert_non_null(data);
  tcp_pattern_fill(data, 0, len);
  return data;
}

/* Callbacks of requests, counted, with the first error. */
struct req_log {
  int calls;  /* Callbacks run. */
  int errors; /* Callbacks with an error. */
  int status; /* The first error, or 0. */
};

static void req_log_add(struct req_log *log, int status) {
  log->calls++;
  if (status != 0 && log->errors++ == 0)
    log->status = status;
}

static void log_write_cb(ax_write_t *req, int status) {
  req_log_add(req->req.data, status);
}

/* ---- A write made while older ones wait goes out after them ---- */

enum {
  /* The first write, made behind a full kernel: it waits. */
  BEHIND_FIRST_BYTES = 1024 * 1024,
  /* The writes made from the reader's callbacks, while it still waits. */
  BEHIND_LATER_BYTES = 16 * 1024,
  BEHIND_LATER_WRITES = 64,
  /* Room for what the kernel takes first (a few MiB on Linux loopback). */
  BEHIND_DATA_BYTES = 32 * 1024 * 1024,
};

/* The writer's side of the test. */
struct behind {
  struct tcp_pair pair;     /* client writes, server reads. */
  struct pattern_reader in; /* The server's reading. */
  char *data;               /* The pattern, from byte 0. */
  size_t written;           /* Pattern bytes handed to the stream. */
  int later;                /* Later writes made. */
  int later_behind;         /* Of those, made while bytes were queued. */
  struct req_log wrote;     /* The writes' callbacks. */
  ax_write_t first;         /* The first write. */
  ax_write_t reqs[BEHIND_LATER_WRITES]; /* The later writes. */
};

/* Each read frees room in the kernel: write more at once. A stream that
 * sent these bytes now, ahead of the ones still queued, would reorder
 * the stream exactly here. */
static void behind_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                           const ax_buf_t *buf) {
  struct behind *b = ax_container_of(stream, struct behind, pair.server.stream);
  if (pattern_take(&b->in, nread, buf) == 0 || b->later == BEHIND_LATER_WRITES)
    return;
  ax_stream_t *client = &b->pair.client.stream;
  if (ax_stream_get_write_queue_size(client) > 0)
    b->later_behind++;
  ax_write_t *req = &b->reqs[b->later++];
  req->req.data = &b->wrote;
  ax_buf_t out = ax_buf_init(b->data + b->written, BEHIND_LATER_BYTES);
  b->written += BEHIND_LATER_BYTES;
  assert_int_equal(ax_write(req, client, &out, 1, log_write_cb), 0);
}

static void test_stream_write_behind_queue(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct behind *b = calloc(1, sizeof(*b));
  assert_non_null(b);
  assert_int_equal(tcp_pair_open(&loop, &b->pair, "127.0.0.1"), 0);
  b->data = pattern_new(BEHIND_DATA_BYTES);
  ax_stream_t *client = &b->pair.client.stream;
  char chunk[16384];
  tcp_fill_kernel(client, chunk, sizeof(chunk), &b->written);
  assert_true(b->written + BEHIND_FIRST_BYTES +
                  BEHIND_LATER_WRITES * BEHIND_LATER_BYTES <=
              BEHIND_DATA_BYTES);
  b->first.req.data = &b->wrote;
  ax_buf_t first = ax_buf_init(b->data + b->written, BEHIND_FIRST_BYTES);
  b->written += BEHIND_FIRST_BYTES;
  assert_int_equal(ax_write(&b->first, client, &first, 1, log_write_cb), 0);
  assert_true(ax_stream_get_write_queue_size(client) > 0);

  b->pair.server.stream.handle.data = &b->in;
  assert_int_equal(
      ax_read_start(&b->pair.server.stream, pattern_alloc_cb, behind_read_cb),
      0);
  tcp_run_until(&loop, &b->wrote.calls, 1 + BEHIND_LATER_WRITES);
  assert_int_equal(b->wrote.errors, 0);
  tcp_run_until_size(&loop, &b->in.received, b->written);
  assert_int_equal(b->in.received, b->written);
  /* The case under test happened: writes were made behind queued bytes. */
  assert_true(b->later_behind > 0);

  tcp_pair_close(&b->pair);
  free(b->data);
  free(b);
  test_loop_close(&loop);
}

/* ---- A shutdown waits for the queued writes ---- */

enum { SHUT_QUEUED_BYTES = 1024 * 1024, SHUT_DATA_BYTES = 32 * 1024 * 1024 };

/* The order of the callbacks of test_stream_shutdown_after_queue. */
struct shut_log {
  struct req_log wrote; /* The write's callback. */
  int shut_calls;       /* Shutdown callbacks run. */
  int shut_status;      /* The shutdown's status. */
  int writes_before;    /* Write callbacks run before the shutdown's. */
};

static void shut_cb(ax_shutdown_t *req, int status) {
  struct shut_log *log = req->req.data;
  log->shut_calls++;
  log->shut_status = status;
  log->writes_before = log->wrote.calls;
}

static void test_stream_shutdown_after_queue(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct tcp_pair pair;
  assert_int_equal(tcp_pair_open(&loop, &pair, "127.0.0.1"), 0);
  char *data = pattern_new(SHUT_DATA_BYTES);
  size_t written = 0;
  char chunk[16384];
  tcp_fill_kernel(&pair.client.stream, chunk, sizeof(chunk), &written);
  assert_true(written + SHUT_QUEUED_BYTES <= SHUT_DATA_BYTES);
  struct shut_log log = {0};
  ax_write_t write_req;
  write_req.req.data = &log.wrote;
  ax_buf_t buf = ax_buf_init(data + written, SHUT_QUEUED_BYTES);
  written += SHUT_QUEUED_BYTES;
  assert_int_equal(
      ax_write(&write_req, &pair.client.stream, &buf, 1, log_write_cb), 0);
  assert_true(ax_stream_get_write_queue_size(&pair.client.stream) > 0);
  /* Asked for while the write waits: the peer must read every byte of
   * it before the end of the stream. */
  ax_shutdown_t shutdown_req;
  shutdown_req.req.data = &log;
  assert_int_equal(ax_shutdown(&shutdown_req, &pair.client.stream, shut_cb), 0);
  assert_int_equal(log.shut_calls, 0);

  struct pattern_reader *in = calloc(1, sizeof(*in));
  assert_non_null(in);
  pair.server.stream.handle.data = in;
  assert_int_equal(
      ax_read_start(&pair.server.stream, pattern_alloc_cb, pattern_read_cb), 0);
  tcp_run_until(&loop, &in->eof, 1);
  assert_int_equal(in->error, 0);
  assert_int_equal(in->at_eof, written);
  tcp_run_until(&loop, &log.shut_calls, 1);
  assert_int_equal(log.wrote.calls, 1);
  assert_int_equal(log.wrote.errors, 0);
  assert_int_equal(log.shut_status, 0);
  assert_int_equal(log.writes_before, 1);

  tcp_pair_close(&pair);
  free(in);
  free(data);
  test_loop_close(&loop);
}

/* ---- A connection left untaken is held ---- */

enum { HELD_CLIENTS = 3 };

/* A listener whose callback takes nothing until told to, and the
 * clients, each of which sends its number once connected. */
struct held {
  ax_tcp_t listener;                   /* The listener. */
  bool taking;                         /* Whether the callback accepts. */
  int offered;                         /* Connection callbacks run. */
  int taken;                           /* Connections accepted. */
  ax_tcp_t servers[HELD_CLIENTS];      /* Accepted, in order. */
  char from[HELD_CLIENTS];             /* The number each one read. */
  int reads;                           /* Servers that read their number. */
  ax_tcp_t clients[HELD_CLIENTS];      /* The clients. */
  ax_connect_t connects[HELD_CLIENTS]; /* Their connects. */
  int connected;                       /* Connect callbacks run. */
  int closed;                          /* Close callbacks run. */
};

static void held_alloc_cb(ax_handle_t *handle, size_t suggested,
                          ax_buf_t *buf) {
  (void)suggested;
  *buf = ax_buf_init((char *)handle->data, 1);
}

static void held_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                         const ax_buf_t *buf) {
  (void)buf;
  struct held *h = stream->handle.loop->data;
  if (nread == 1) {
    h->reads++;
    assert_int_equal(ax_read_stop(stream), 0);
  }
}

static void held_take(struct held *h, ax_stream_t *server) {
  assert_true(h->taken < HELD_CLIENTS);
  ax_tcp_t *conn = &h->servers[h->taken];
  assert_int_equal(ax_tcp_init(server->handle.loop, conn), 0);
  conn->stream.handle.data = &h->from[h->taken];
  assert_int_equal(ax_accept(server, &conn->stream), 0);
  h->taken++;
  assert_int_equal(ax_read_start(&conn->stream, held_alloc_cb, held_read_cb),
                   0);
}

static void held_connection_cb(ax_stream_t *server, int status) {
  struct held *h = server->handle.loop->data;
  assert_int_equal(status, 0);
  h->offered++;
  if (h->taking)
    held_take(h, server);
}

static void held_connect_cb(ax_connect_t *req, int status) {
  struct held *h = req->handle->handle.loop->data;
  assert_int_equal(status, 0);
  int i = (int)(req - h->connects);
  char number = (char)('0' + i);
  ax_buf_t buf = ax_buf_init(&number, 1);
  assert_int_equal(ax_try_write(req->handle, &buf, 1), 1);
  h->connected++;
}

static void held_closed(ax_handle_t *handle) {
  ((struct held *)handle->loop->data)->closed++;
}

static void held_connect(ax_loop_t *loop, struct held *h, int i, int port) {
  struct sockaddr_storage addr;
  tcp_test_addr("127.0.0.1", port, &addr);
  assert_int_equal(ax_tcp_init(loop, &h->clients[i]), 0);
  assert_int_equal(ax_tcp_connect(&h->connects[i], &h->clients[i],
                                  (struct sockaddr *)&addr, held_connect_cb),
                   0);
}

static void held_close_all(ax_loop_t *loop, struct held *h) {
  for (int i = 0; i < HELD_CLIENTS; i++)
    assert_int_equal(ax_close(&h->clients[i].stream.handle, held_closed), 0);
  for (int i = 0; i < h->taken; i++)
    assert_int_equal(ax_close(&h->servers[i].stream.handle, held_closed), 0);
  assert_int_equal(ax_close(&h->listener.stream.handle, held_closed), 0);
  tcp_run_until(loop, &h->closed, 2 * HELD_CLIENTS + 1);
}

/* The first connection is left untaken; two more connect meanwhile. A
 * later ax_accept() must return the first one, not a newer one in its
 * place, and not nothing; the other two follow. */
static void test_stream_untaken_connection_held(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct held *h = calloc(1, sizeof(*h));
  assert_non_null(h);
  loop.data = h;
  int port;
  assert_int_equal(tcp_test_listen(&loop, &h->listener, "127.0.0.1",
                                   held_connection_cb, &port),
                   0);
  held_connect(&loop, h, 0, port);
  tcp_run_until(&loop, &h->offered, 1);
  for (int i = 1; i < HELD_CLIENTS; i++)
    held_connect(&loop, h, i, port);
  /* The kernel completes their connects without an accept. A few more
   * iterations give the listener every chance to take them. */
  tcp_run_until(&loop, &h->connected, HELD_CLIENTS);
  for (int i = 0; i < 8; i++)
    assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(h->taken, 0);

  /* The one taken now is the first client's. */
  h->taking = true;
  held_take(h, &h->listener.stream);
  tcp_run_until(&loop, &h->reads, 1);
  assert_int_equal(h->from[0], '0');
  tcp_run_until(&loop, &h->taken, HELD_CLIENTS);
  tcp_run_until(&loop, &h->reads, HELD_CLIENTS);
  /* The later two come in the kernel's order, which need not be the
   * order of their connects (AcceptEx may complete them either way). */
  assert_int_equal(h->from[0], '0');
  assert_true(h->from[1] != h->from[2]);
  for (int i = 1; i < HELD_CLIENTS; i++)
    assert_true(h->from[i] == '1' || h->from[i] == '2');
  ax_tcp_t extra;
  assert_int_equal(ax_tcp_init(&loop, &extra), 0);
  assert_int_equal(ax_accept(&h->listener.stream, &extra.stream), AX_EAGAIN);
  assert_int_equal(ax_close(&extra.stream.handle, NULL), 0);

  held_close_all(&loop, h);
  free(h);
  test_loop_close(&loop);
}

/* ---- A flood of reads starves nobody ---- */

enum {
  /* Reads in one iteration beyond which the flood has taken the loop:
   * far above any sane bound per wakeup, far below "until it stops". */
  FLOOD_READS_LIMIT = 1024,
  /* Iterations within which the others must have had their turn. */
  FLOOD_ITERATIONS_LIMIT = 8,
  /* The flood's read buffer: small, so that every read fills it while
   * the kernel holds more, and a stream that reads "while the buffer
   * comes back full" would never stop. */
  FLOOD_READ_BYTES = 1024,
};

/* A peer that sends as fast as its stream reads (the client writes more
 * from every read callback of the server), a quiet connection with one
 * byte to read, and a timer due at the next iteration. */
struct flood {
  struct tcp_pair loud;       /* client floods server. */
  struct tcp_pair quiet;      /* client sent one byte to server. */
  ax_timer_t timer;           /* Started from the flood's first read. */
  ax_prepare_t prepare;       /* Counts iterations. */
  int iterations;             /* Iterations since the flood began. */
  int reads_this_iteration;   /* The flood's reads in this iteration. */
  int flood_reads;            /* The flood's reads in all. */
  int timer_fired;            /* The timer's callbacks. */
  int timer_iteration;        /* The iteration it fired in. */
  int quiet_read;             /* The quiet connection's reads. */
  int quiet_iteration;        /* The iteration it read in. */
  int closed;                 /* Close callbacks of timer and prepare. */
  char chunk[16384];          /* What the flood sends. */
  char buf[FLOOD_READ_BYTES]; /* What both servers read into. */
};

static void flood_alloc_cb(ax_handle_t *handle, size_t suggested,
                           ax_buf_t *buf) {
  struct flood *f = handle->loop->data;
  (void)suggested;
  *buf = ax_buf_init(f->buf, sizeof(f->buf));
}

static void flood_timer_cb(ax_timer_t *timer) {
  struct flood *f = timer->handle.loop->data;
  f->timer_fired++;
  f->timer_iteration = f->iterations;
}

static void flood_prepare_cb(ax_prepare_t *prepare) {
  struct flood *f = prepare->handle.loop->data;
  f->iterations++;
  f->reads_this_iteration = 0;
}

/* The flood goes on until the others have had their turn. */
static bool flood_done(const struct flood *f) {
  return f->timer_fired > 0 && f->quiet_read > 0;
}

static void flood_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                          const ax_buf_t *buf) {
  struct flood *f = stream->handle.loop->data;
  (void)buf;
  if (nread <= 0)
    return;
  if (f->flood_reads++ == 0)
    assert_int_equal(ax_timer_start(&f->timer, flood_timer_cb, 0, 0), 0);
  if (++f->reads_this_iteration > FLOOD_READS_LIMIT)
    fail_msg("%d reads of one peer in one iteration: the loop is starved",
             f->reads_this_iteration);
  if (!flood_done(f))
    tcp_fill_kernel(&f->loud.client.stream, f->chunk, sizeof(f->chunk), NULL);
}

static void quiet_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                          const ax_buf_t *buf) {
  struct flood *f = stream->handle.loop->data;
  (void)buf;
  if (nread > 0 && f->quiet_read++ == 0)
    f->quiet_iteration = f->iterations;
}

static void flood_closed(ax_handle_t *handle) {
  ((struct flood *)handle->loop->data)->closed++;
}

static void flood_start(ax_loop_t *loop, struct flood *f) {
  assert_int_equal(tcp_pair_open(loop, &f->loud, "127.0.0.1"), 0);
  assert_int_equal(tcp_pair_open(loop, &f->quiet, "127.0.0.1"), 0);
  assert_int_equal(ax_timer_init(loop, &f->timer), 0);
  assert_int_equal(ax_prepare_init(loop, &f->prepare), 0);
  assert_int_equal(ax_prepare_start(&f->prepare, flood_prepare_cb), 0);
  memset(f->chunk, 'f', sizeof(f->chunk));
  tcp_fill_kernel(&f->loud.client.stream, f->chunk, sizeof(f->chunk), NULL);
  char byte = 'q';
  ax_buf_t buf = ax_buf_init(&byte, 1);
  assert_int_equal(ax_try_write(&f->quiet.client.stream, &buf, 1), 1);
  assert_int_equal(
      ax_read_start(&f->loud.server.stream, flood_alloc_cb, flood_read_cb), 0);
  assert_int_equal(
      ax_read_start(&f->quiet.server.stream, flood_alloc_cb, quiet_read_cb), 0);
}

static void test_stream_read_flood_fair(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct flood *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  loop.data = f;
  flood_start(&loop, f);
  for (int i = 0; i < FLOOD_ITERATIONS_LIMIT && !flood_done(f); i++)
    assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_true(f->flood_reads > 0);
  assert_int_equal(f->timer_fired, 1);
  assert_true(f->quiet_read > 0);
  assert_true(f->timer_iteration <= FLOOD_ITERATIONS_LIMIT);
  assert_true(f->quiet_iteration <= FLOOD_ITERATIONS_LIMIT);

  assert_int_equal(ax_close(&f->timer.handle, flood_closed), 0);
  assert_int_equal(ax_close(&f->prepare.handle, flood_closed), 0);
  tcp_run_until(&loop, &f->closed, 2);
  tcp_pair_close(&f->loud);
  tcp_pair_close(&f->quiet);
  free(f);
  test_loop_close(&loop);
}

/* ---- A flood of connections starves nobody ---- */

enum {
  /* Connections the flood makes in all: each one accepted makes the
   * next, so that the listener always has one waiting. More than a
   * sane batch per wakeup, few enough for any descriptor limit. */
  STORM_CONNECTIONS = 100,
};

/* A listener whose every accepted connection brings another client. */
struct storm {
  ax_tcp_t listener;                        /* The listener. */
  int port;                                 /* Its port. */
  ax_tcp_t clients[STORM_CONNECTIONS];      /* The flood's clients. */
  ax_connect_t connects[STORM_CONNECTIONS]; /* Their connects. */
  int started;                              /* Clients started. */
  ax_tcp_t servers[STORM_CONNECTIONS];      /* Accepted. */
  int accepted;                             /* Connections accepted. */
  int connected;                            /* Connect callbacks run. */
  ax_timer_t timer;                         /* Started by the first. */
  int timer_fired;                          /* Its callbacks. */
  int accepted_at_timer;                    /* accepted when it fired. */
  int closed;                               /* Close callbacks run. */
};

static void storm_connect_cb(ax_connect_t *req, int status) {
  struct storm *s = req->handle->handle.loop->data;
  assert_int_equal(status, 0);
  s->connected++;
}

static void storm_client_start(ax_loop_t *loop, struct storm *s) {
  struct sockaddr_storage addr;
  tcp_test_addr("127.0.0.1", s->port, &addr);
  int i = s->started++;
  assert_int_equal(ax_tcp_init(loop, &s->clients[i]), 0);
  assert_int_equal(ax_tcp_connect(&s->connects[i], &s->clients[i],
                                  (struct sockaddr *)&addr, storm_connect_cb),
                   0);
}

static void storm_timer_cb(ax_timer_t *timer) {
  struct storm *s = timer->handle.loop->data;
  s->timer_fired++;
  s->accepted_at_timer = s->accepted;
}

static void storm_connection_cb(ax_stream_t *server, int status) {
  ax_loop_t *loop = server->handle.loop;
  struct storm *s = loop->data;
  assert_int_equal(status, 0);
  assert_true(s->accepted < STORM_CONNECTIONS);
  ax_tcp_t *conn = &s->servers[s->accepted];
  assert_int_equal(ax_tcp_init(loop, conn), 0);
  assert_int_equal(ax_accept(server, &conn->stream), 0);
  if (s->accepted++ == 0)
    assert_int_equal(ax_timer_start(&s->timer, storm_timer_cb, 0, 0), 0);
  if (s->started < STORM_CONNECTIONS)
    storm_client_start(loop, s);
}

static void storm_closed(ax_handle_t *handle) {
  ((struct storm *)handle->loop->data)->closed++;
}

/* The timer, due from the first accept on, fires while the flood goes
 * on: the listener took a bounded batch, not everything there was. */
static void test_stream_accept_flood_fair(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct storm *s = calloc(1, sizeof(*s));
  assert_non_null(s);
  loop.data = s;
  assert_int_equal(tcp_test_listen(&loop, &s->listener, "127.0.0.1",
                                   storm_connection_cb, &s->port),
                   0);
  assert_int_equal(ax_timer_init(&loop, &s->timer), 0);
  /* A few clients at once, so that the first wakeup finds a backlog. */
  for (int i = 0; i < 4; i++)
    storm_client_start(&loop, s);
  tcp_run_until(&loop, &s->timer_fired, 1);
  assert_true(s->accepted_at_timer < STORM_CONNECTIONS);
  tcp_run_until(&loop, &s->accepted, STORM_CONNECTIONS);
  tcp_run_until(&loop, &s->connected, STORM_CONNECTIONS);

  for (int i = 0; i < STORM_CONNECTIONS; i++) {
    assert_int_equal(ax_close(&s->clients[i].stream.handle, storm_closed), 0);
    assert_int_equal(ax_close(&s->servers[i].stream.handle, storm_closed), 0);
  }
  assert_int_equal(ax_close(&s->timer.handle, storm_closed), 0);
  assert_int_equal(ax_close(&s->listener.stream.handle, storm_closed), 0);
  tcp_run_until(&loop, &s->closed, 2 * STORM_CONNECTIONS + 2);
  free(s);
  test_loop_close(&loop);
}

/* ---- The water marks' exact bounds ---- */

/* The water callbacks: 1 for above, 0 for below, with the queue size. */
struct water {
  int calls;       /* Callbacks run. */
  int above[4];    /* Their arguments. */
  size_t size[4];  /* The queue size each saw. */
  size_t drained;  /* Bytes the peer read. */
  char buf[65536]; /* What the peer reads into. */
};

static void water_cb(ax_stream_t *stream, bool above) {
  struct water *w = stream->handle.data;
  assert_true(w->calls < 4);
  w->size[w->calls] = ax_stream_get_write_queue_size(stream);
  w->above[w->calls++] = above;
}

static void water_alloc_cb(ax_handle_t *handle, size_t suggested,
                           ax_buf_t *buf) {
  struct water *w = handle->data;
  (void)suggested;
  *buf = ax_buf_init(w->buf, sizeof(w->buf));
}

static void water_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                          const ax_buf_t *buf) {
  (void)buf;
  if (nread > 0)
    ((struct water *)stream->handle.data)->drained += (size_t)nread;
}

/* "Above" exactly when the queue reaches the high mark (not one byte
 * later); "below" exactly when it drains to the low mark, here 0 (not
 * never). Writes behind queued bytes are queued whole, so the queue's
 * size after each is known to the byte. */
static void test_stream_water_mark_bounds(void **state) {
  (void)state;
  enum { FIRST = 65536, STEP = 1000 };
  ax_loop_t loop;
  test_loop_open(&loop);
  struct tcp_pair pair;
  assert_int_equal(tcp_pair_open(&loop, &pair, "127.0.0.1"), 0);
  ax_stream_t *client = &pair.client.stream;
  struct water *w = calloc(1, sizeof(*w));
  assert_non_null(w);
  client->handle.data = w;
  static char data[FIRST];
  size_t in_kernel = tcp_fill_kernel(client, data, sizeof(data), NULL);
  struct req_log wrote = {0};
  ax_write_t reqs[3];
  for (int i = 0; i < 3; i++)
    reqs[i].req.data = &wrote;
  ax_buf_t first = ax_buf_init(data, FIRST);
  assert_int_equal(ax_write(&reqs[0], client, &first, 1, log_write_cb), 0);
  size_t queued = ax_stream_get_write_queue_size(client);
  assert_true(queued > 0);
  size_t high = queued + 2 * STEP;
  assert_int_equal(ax_stream_set_water_marks(client, 0, high, water_cb), 0);

  /* One byte short of the mark: nothing. Then exactly at it: "above". */
  ax_buf_t short_buf = ax_buf_init(data, 2 * STEP - 1);
  assert_int_equal(ax_write(&reqs[1], client, &short_buf, 1, log_write_cb), 0);
  assert_int_equal(ax_stream_get_write_queue_size(client), high - 1);
  assert_int_equal(w->calls, 0);
  ax_buf_t one = ax_buf_init(data, 1);
  assert_int_equal(ax_write(&reqs[2], client, &one, 1, log_write_cb), 0);
  assert_int_equal(ax_stream_get_write_queue_size(client), high);
  assert_int_equal(w->calls, 1);
  assert_int_equal(w->above[0], 1);
  assert_int_equal(w->size[0], high);

  /* Drained to 0, the low mark: "below". */
  pair.server.stream.handle.data = w;
  assert_int_equal(
      ax_read_start(&pair.server.stream, water_alloc_cb, water_read_cb), 0);
  tcp_run_until(&loop, &wrote.calls, 3);
  assert_int_equal(wrote.errors, 0);
  assert_int_equal(ax_stream_get_write_queue_size(client), 0);
  assert_int_equal(w->calls, 2);
  assert_int_equal(w->above[1], 0);
  assert_int_equal(w->size[1], 0);
  tcp_run_until_size(&loop, &w->drained, in_kernel + FIRST + 2 * STEP);

  tcp_pair_close(&pair);
  free(w);
  test_loop_close(&loop);
}

/* ---- Write and shutdown with no callback ---- */

enum { QUIET_BYTES = 100 * 1000, QUIET_WRITES = 3 };

/* As in libuv, a NULL callback is allowed: the requests complete, the
 * bytes go out in order and the shutdown still ends the stream, and
 * nothing is called. Writes queued behind a full kernel test the path
 * through the queue too, and one more pair closed with a write still
 * queued tests the cancelling path. */
static void test_stream_write_shutdown_no_callback(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct tcp_pair pair;
  assert_int_equal(tcp_pair_open(&loop, &pair, "127.0.0.1"), 0);
  ax_stream_t *client = &pair.client.stream;
  char *data = pattern_new(32 * 1024 * 1024);
  size_t written = 0;
  char chunk[16384];
  tcp_fill_kernel(client, chunk, sizeof(chunk), &written);
  assert_true(written + QUIET_WRITES * QUIET_BYTES <= 32 * 1024 * 1024);
  ax_write_t reqs[QUIET_WRITES];
  for (int i = 0; i < QUIET_WRITES; i++) {
    ax_buf_t buf = ax_buf_init(data + written, QUIET_BYTES);
    written += QUIET_BYTES;
    assert_int_equal(ax_write(&reqs[i], client, &buf, 1, NULL), 0);
  }
  assert_true(ax_stream_get_write_queue_size(client) > 0);
  ax_shutdown_t shutdown_req;
  assert_int_equal(ax_shutdown(&shutdown_req, client, NULL), 0);

  struct pattern_reader *in = calloc(1, sizeof(*in));
  assert_non_null(in);
  pair.server.stream.handle.data = in;
  assert_int_equal(
      ax_read_start(&pair.server.stream, pattern_alloc_cb, pattern_read_cb), 0);
  tcp_run_until(&loop, &in->eof, 1);
  assert_int_equal(in->error, 0);
  assert_int_equal(in->at_eof, written);
  assert_int_equal(ax_stream_get_write_queue_size(client), 0);
  tcp_pair_close(&pair);

  /* Closed with a write queued: cancelled, with nothing to call. */
  assert_int_equal(tcp_pair_open(&loop, &pair, "127.0.0.1"), 0);
  tcp_fill_kernel(client, chunk, sizeof(chunk), NULL);
  ax_buf_t buf = ax_buf_init(data, QUIET_BYTES);
  assert_int_equal(ax_write(&reqs[0], client, &buf, 1, NULL), 0);
  assert_true(ax_stream_get_write_queue_size(client) > 0);
  tcp_pair_close(&pair);

  /* A NULL request or stream is still refused. */
  assert_int_equal(ax_write(NULL, client, &buf, 1, NULL), AX_EINVAL);
  assert_int_equal(ax_shutdown(&shutdown_req, NULL, NULL), AX_EINVAL);
  free(in);
  free(data);
  test_loop_close(&loop);
}

/* ---- Writes queued while connecting go out in order, and all of them ---- */

enum {
  /* Writes made before the connection exists: more one-byte buffers than
   * STREAM_SENDS_PER_FLUSH (8) sends of IOV_MAX (1024) can carry in one
   * flush, few bytes enough for the kernel to take them all at once. */
  EARLY_WRITES = 12,
  EARLY_BUFS = 1024,
  /* The write the connect callback makes, behind all of those. */
  EARLY_LATE_BYTES = 4096,
  EARLY_TOTAL_BYTES = EARLY_WRITES * EARLY_BUFS + EARLY_LATE_BYTES,
};

struct early {
  struct tcp_pair pair;                    /* client writes, server reads. */
  struct pattern_reader in;                /* The server's reading. */
  char data[EARLY_TOTAL_BYTES];            /* The pattern, from byte 0. */
  ax_buf_t bufs[EARLY_WRITES][EARLY_BUFS]; /* One byte each. */
  ax_write_t reqs[EARLY_WRITES]; /* The writes made before connecting. */
  ax_write_t late;               /* The connect callback's write. */
  struct req_log wrote;          /* Every write's callback. */
};

static void early_listener_closed(ax_handle_t *handle) {
  ax_container_of(handle, struct tcp_pair, listener.stream.handle)->closed++;
}

static void early_connection_cb(ax_stream_t *listener, int status) {
  struct early *e = listener->handle.data;
  assert_int_equal(status, 0);
  assert_int_equal(ax_tcp_init(e->pair.loop, &e->pair.server), 0);
  assert_int_equal(ax_accept(listener, &e->pair.server.stream), 0);
  e->pair.server.stream.handle.data = &e->in;
  assert_int_equal(
      ax_read_start(&e->pair.server.stream, pattern_alloc_cb, pattern_read_cb),
      0);
  e->pair.accepted++;
  assert_int_equal(ax_close(&listener->handle, early_listener_closed), 0);
}

/* Connected, with every early write still queued: the write made here
 * must go out after them. */
static void early_connect_cb(ax_connect_t *req, int status) {
  struct early *e = ax_container_of(req, struct early, pair.connect);
  assert_int_equal(status, 0);
  e->pair.connected++;
  size_t offset = (size_t)EARLY_WRITES * EARLY_BUFS;
  ax_buf_t buf = ax_buf_init(e->data + offset, EARLY_LATE_BYTES);
  e->late.req.data = &e->wrote;
  assert_int_equal(
      ax_write(&e->late, &e->pair.client.stream, &buf, 1, log_write_cb), 0);
}

static void test_stream_writes_queued_while_connecting(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct early *e = calloc(1, sizeof(*e));
  assert_non_null(e);
  e->pair.loop = &loop;
  tcp_pattern_fill(e->data, 0, sizeof(e->data));
  e->pair.listener.stream.handle.data = e;
  assert_int_equal(tcp_test_listen(&loop, &e->pair.listener, "127.0.0.1",
                                   early_connection_cb, &e->pair.port),
                   0);
  e->pair.listener.stream.handle.data = e;
  struct sockaddr_storage addr;
  tcp_test_addr("127.0.0.1", e->pair.port, &addr);
  assert_int_equal(ax_tcp_init(&loop, &e->pair.client), 0);
  assert_int_equal(ax_tcp_connect(&e->pair.connect, &e->pair.client,
                                  (struct sockaddr *)&addr, early_connect_cb),
                   0);
  for (int i = 0; i < EARLY_WRITES; i++) {
    for (int j = 0; j < EARLY_BUFS; j++)
      e->bufs[i][j] = ax_buf_init(e->data + i * EARLY_BUFS + j, 1);
    e->reqs[i].req.data = &e->wrote;
    assert_int_equal(ax_write(&e->reqs[i], &e->pair.client.stream, e->bufs[i],
                              EARLY_BUFS, log_write_cb),
                     0);
  }
  /* Every byte, in order (the reader checks each), and every write's
   * callback: none left behind by a flush that stopped at its bound. */
  tcp_run_until_size(&loop, &e->in.received, EARLY_TOTAL_BYTES);
  tcp_run_until(&loop, &e->wrote.calls, EARLY_WRITES + 1);
  assert_int_equal(e->wrote.errors, 0);
  assert_int_equal(ax_stream_get_write_queue_size(&e->pair.client.stream), 0);
  tcp_pair_close(&e->pair);
  free(e);
  test_loop_close(&loop);
}

/* ---- ax_try_write() never jumps the queue ---- */

/* Each read frees room in the kernel while the client's queue still
 * holds bytes: a try-write that sent now would put its byte ahead of
 * them. It must say AX_EAGAIN instead. */
static void try_behind_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                               const ax_buf_t *buf) {
  struct behind *b = ax_container_of(stream, struct behind, pair.server.stream);
  if (pattern_take(&b->in, nread, buf) == 0)
    return;
  ax_stream_t *client = &b->pair.client.stream;
  if (ax_stream_get_write_queue_size(client) == 0)
    return;
  b->later_behind++;
  char byte = tcp_pattern_byte(b->written);
  ax_buf_t out = ax_buf_init(&byte, 1);
  assert_int_equal(ax_try_write(client, &out, 1), AX_EAGAIN);
}

static void test_stream_try_write_behind_queue(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct behind *b = calloc(1, sizeof(*b));
  assert_non_null(b);
  assert_int_equal(tcp_pair_open(&loop, &b->pair, "127.0.0.1"), 0);
  b->data = pattern_new(BEHIND_DATA_BYTES);
  ax_stream_t *client = &b->pair.client.stream;
  char chunk[16384];
  tcp_fill_kernel(client, chunk, sizeof(chunk), &b->written);
  assert_true(b->written + BEHIND_FIRST_BYTES <= BEHIND_DATA_BYTES);
  b->first.req.data = &b->wrote;
  ax_buf_t first = ax_buf_init(b->data + b->written, BEHIND_FIRST_BYTES);
  b->written += BEHIND_FIRST_BYTES;
  assert_int_equal(ax_write(&b->first, client, &first, 1, log_write_cb), 0);
  assert_true(ax_stream_get_write_queue_size(client) > 0);

  b->pair.server.stream.handle.data = &b->in;
  assert_int_equal(ax_read_start(&b->pair.server.stream, pattern_alloc_cb,
                                 try_behind_read_cb),
                   0);
  tcp_run_until(&loop, &b->wrote.calls, 1);
  assert_int_equal(b->wrote.errors, 0);
  tcp_run_until_size(&loop, &b->in.received, b->written);
  assert_int_equal(b->in.received, b->written);
  assert_true(b->later_behind > 0);

  tcp_pair_close(&b->pair);
  free(b->data);
  free(b);
  test_loop_close(&loop);
}

/* ---- Small try-writes keep their order, whatever the backend ---- */

/* On io_uring a small try-write is copied and sent with the loop's next
 * system call; elsewhere the kernel takes it at once. Either way, the
 * bytes arrive in the order they were given, writes queued after them
 * wait for them, and so does a shutdown. */
enum {
  TRY_MSG_BYTES = 16, /* One small message. */
  TRY_MSGS = 300,     /* Of them, made in one go: past one copy's room. */
  TRY_TAIL_BYTES = 100 * 1000, /* The write queued behind. */
};

struct try_order {
  struct tcp_pair pair;          /* client writes, server reads. */
  struct pattern_reader in;      /* The server's reading. */
  char *data;                    /* The pattern, from byte 0. */
  ax_write_t reqs[TRY_MSGS + 1]; /* What try_write did not take. */
  struct req_log wrote;          /* Their callbacks. */
  struct shut_log shut;          /* The shutdown's callback. */
};

/* Write len bytes of the pattern from offset from: try first, and queue
 * what the try did not take. A try made while bytes wait in the queue
 * must take nothing (order comes first): the reader checks the order. */
static void try_order_write(struct try_order *t, size_t from, size_t len,
                            int *queued) {
  ax_stream_t *client = &t->pair.client.stream;
  ax_buf_t buf = ax_buf_init(t->data + from, len);
  int n = ax_try_write(client, &buf, 1);
  if (n == (int)len)
    return;
  assert_true(n == AX_EAGAIN || (n >= 0 && n < (int)len));
  size_t done = n > 0 ? (size_t)n : 0;
  ax_buf_t rest = ax_buf_init(t->data + from + done, len - done);
  ax_write_t *req = &t->reqs[(*queued)++];
  req->req.data = &t->wrote;
  assert_int_equal(ax_write(req, client, &rest, 1, log_write_cb), 0);
}

static void test_stream_try_write_small_in_order(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct try_order *t = calloc(1, sizeof(*t));
  assert_non_null(t);
  assert_int_equal(tcp_pair_open(&loop, &t->pair, "127.0.0.1"), 0);
  size_t total = TRY_MSGS * TRY_MSG_BYTES;
  t->data = pattern_new(total);
  int queued = 0;
  for (size_t i = 0; i < TRY_MSGS; i++)
    try_order_write(t, i * TRY_MSG_BYTES, TRY_MSG_BYTES, &queued);
  t->pair.server.stream.handle.data = &t->in;
  assert_int_equal(
      ax_read_start(&t->pair.server.stream, pattern_alloc_cb, pattern_read_cb),
      0);
  tcp_run_until_size(&loop, &t->in.received, total);
  tcp_run_until(&loop, &t->wrote.calls, queued);
  assert_int_equal(t->wrote.errors, 0);
  assert_int_equal(t->in.received, total);
  assert_int_equal(ax_stream_get_write_queue_size(&t->pair.client.stream), 0);
  tcp_pair_close(&t->pair);
  free(t->data);
  free(t);
  test_loop_close(&loop);
}

/* A try-write, then a write, then a shutdown, in one go: the peer reads
 * both in order and then the end; the write's callback runs before the
 * shutdown's, both without error. */
static void test_stream_try_write_write_shutdown(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct try_order *t = calloc(1, sizeof(*t));
  assert_non_null(t);
  assert_int_equal(tcp_pair_open(&loop, &t->pair, "127.0.0.1"), 0);
  ax_stream_t *client = &t->pair.client.stream;
  size_t total = TRY_MSG_BYTES + TRY_TAIL_BYTES;
  t->data = pattern_new(total);
  ax_buf_t head = ax_buf_init(t->data, TRY_MSG_BYTES);
  int queued = 0;
  t->wrote = (struct req_log){0};
  try_order_write(t, 0, TRY_MSG_BYTES, &queued); /* Queues what it left. */
  ax_buf_t tail = ax_buf_init(t->data + TRY_MSG_BYTES, TRY_TAIL_BYTES);
  t->reqs[queued].req.data = &t->shut.wrote;
  assert_int_equal(ax_write(&t->reqs[queued], client, &tail, 1, log_write_cb),
                   0);
  ax_shutdown_t shutdown_req;
  shutdown_req.req.data = &t->shut;
  assert_int_equal(ax_shutdown(&shutdown_req, client, shut_cb), 0);
  /* After the shutdown, nothing more: not even a try. */
  assert_int_equal(ax_try_write(client, &head, 1), AX_EPIPE);
  t->pair.server.stream.handle.data = &t->in;
  assert_int_equal(
      ax_read_start(&t->pair.server.stream, pattern_alloc_cb, pattern_read_cb),
      0);
  tcp_run_until(&loop, &t->in.eof, 1);
  assert_int_equal(t->in.at_eof, total);
  assert_int_equal(t->in.error, 0);
  tcp_run_until(&loop, &t->shut.shut_calls, 1);
  assert_int_equal(t->shut.shut_status, 0);
  assert_int_equal(t->wrote.calls, queued);
  assert_int_equal(t->wrote.errors, 0);
  assert_int_equal(t->shut.wrote.calls, 1);
  assert_int_equal(t->shut.wrote.errors, 0);
  assert_int_equal(t->shut.writes_before, 1);
  tcp_pair_close(&t->pair);
  free(t->data);
  free(t);
  test_loop_close(&loop);
}

/* A try-write, then the stream closed at once, in the same callback: the
 * close callback runs, nothing is left behind (the leak check), and the
 * peer sees the connection end after no more than the bytes tried. */
static void test_stream_try_write_then_close(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct try_order *t = calloc(1, sizeof(*t));
  assert_non_null(t);
  assert_int_equal(tcp_pair_open(&loop, &t->pair, "127.0.0.1"), 0);
  ax_stream_t *client = &t->pair.client.stream;
  t->data = pattern_new(TRY_MSG_BYTES);
  ax_buf_t head = ax_buf_init(t->data, TRY_MSG_BYTES);
  int n = ax_try_write(client, &head, 1);
  assert_true(n == AX_EAGAIN || (n >= 0 && n <= TRY_MSG_BYTES));
  assert_int_equal(ax_close(&client->handle, tcp_pair_client_closed), 0);
  assert_int_equal(ax_try_write(client, &head, 1), AX_EBADF);
  t->pair.server.stream.handle.data = &t->in;
  assert_int_equal(
      ax_read_start(&t->pair.server.stream, pattern_alloc_cb, pattern_read_cb),
      0);
  tcp_run_until(&loop, &t->pair.closed, 1);
  tcp_run_until(&loop, &t->in.eof, 1);
  assert_true(t->in.at_eof <= (n > 0 ? (size_t)n : 0));
  tcp_pair_close(&t->pair);
  free(t->data);
  free(t);
  test_loop_close(&loop);
}

/* ---- Closing a listener ends the connection it held ---- */

struct held_end {
  ax_tcp_t listener;    /* Takes nothing. */
  int offered;          /* Connection callbacks run. */
  ax_tcp_t client;      /* Reads until the end. */
  ax_connect_t connect; /* Its connect. */
  int connected;        /* Connect callbacks run. */
  int ended;            /* Read callbacks with AX_EOF or an error. */
  char buf[64];         /* What the client reads into. */
  int closed;           /* Close callbacks run. */
};

static void held_end_connection_cb(ax_stream_t *listener, int status) {
  struct held_end *h = listener->handle.loop->data;
  assert_int_equal(status, 0);
  h->offered++;
}

static void held_end_connect_cb(ax_connect_t *req, int status) {
  struct held_end *h = req->handle->handle.loop->data;
  assert_int_equal(status, 0);
  h->connected++;
}

static void held_end_alloc_cb(ax_handle_t *handle, size_t suggested,
                              ax_buf_t *buf) {
  struct held_end *h = handle->loop->data;
  (void)suggested;
  *buf = ax_buf_init(h->buf, sizeof(h->buf));
}

static void held_end_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                             const ax_buf_t *buf) {
  struct held_end *h = stream->handle.loop->data;
  (void)buf;
  if (nread < 0)
    h->ended++;
}

static void held_end_closed(ax_handle_t *handle) {
  ((struct held_end *)handle->loop->data)->closed++;
}

/* The connection the listener held for ax_accept() is closed with it:
 * its peer sees the end, and no descriptor stays behind. */
static void test_stream_listener_close_ends_held(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct held_end *h = calloc(1, sizeof(*h));
  assert_non_null(h);
  loop.data = h;
  int port;
  assert_int_equal(tcp_test_listen(&loop, &h->listener, "127.0.0.1",
                                   held_end_connection_cb, &port),
                   0);
  struct sockaddr_storage addr;
  tcp_test_addr("127.0.0.1", port, &addr);
  assert_int_equal(ax_tcp_init(&loop, &h->client), 0);
  assert_int_equal(ax_tcp_connect(&h->connect, &h->client,
                                  (struct sockaddr *)&addr,
                                  held_end_connect_cb),
                   0);
  tcp_run_until(&loop, &h->connected, 1);
  tcp_run_until(&loop, &h->offered, 1);
  assert_int_equal(
      ax_read_start(&h->client.stream, held_end_alloc_cb, held_end_read_cb), 0);
  assert_int_equal(ax_close(&h->listener.stream.handle, held_end_closed), 0);
  tcp_run_until(&loop, &h->ended, 1);
  assert_int_equal(ax_close(&h->client.stream.handle, held_end_closed), 0);
  tcp_run_until(&loop, &h->closed, 2);
  free(h);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stream_write_behind_queue),
      cmocka_unit_test(test_stream_shutdown_after_queue),
      cmocka_unit_test(test_stream_untaken_connection_held),
      cmocka_unit_test(test_stream_read_flood_fair),
      cmocka_unit_test(test_stream_accept_flood_fair),
      cmocka_unit_test(test_stream_water_mark_bounds),
      cmocka_unit_test(test_stream_write_shutdown_no_callback),
      cmocka_unit_test(test_stream_writes_queued_while_connecting),
      cmocka_unit_test(test_stream_try_write_behind_queue),
      cmocka_unit_test(test_stream_try_write_small_in_order),
      cmocka_unit_test(test_stream_try_write_write_shutdown),
      cmocka_unit_test(test_stream_try_write_then_close),
      cmocka_unit_test(test_stream_listener_close_ends_held),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
