/*
 * test_pipe_win.c: named pipes as streams on IOCP, where Windows differs
 * (src/win/iocp-pipe.c, src/win/pipe.c):
 *
 * - names: the \\.\pipe\ prefix, lengths, NUL bytes, the name read back;
 * - connecting to no pipe (AX_ENOENT, from the callback);
 * - a server's instances: more clients at once than instances posted,
 *   each accepted; a client of a busy pipe waits for an instance on a
 *   pool thread, and closing it meanwhile cancels its connect;
 * - 1 MiB through a pipe in both directions, the bytes checked, and the
 *   end seen when the peer closes;
 * - ax_pipe()'s pair: an overlapped end adopted, a synchronous one
 *   refused (AX_ENOTSUP);
 * - closing with a read and a write in flight.
 * - IPC: a TCP listener written over an IPC pipe, accepted on the other
 *   side and listening there, with a connection made to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp.h"
#include "test.h"

#include "win/iocp-pipe.h"

enum {
  MIB = 1024 * 1024,
  CHUNK_BYTES = 64 * 1024,
  CLIENTS = 6,
};

/* ---- Shorthands ---- */

static void test_pipe_init(ax_loop_t *loop, ax_pipe_t *pipe) {
  assert_int_equal(ax_pipe_init(loop, pipe, false), 0);
}

static int test_pipe_bind(ax_pipe_t *pipe, const char *name) {
  return ax_pipe_bind(pipe, name, strlen(name), 0);
}

static int test_pipe_connect(ax_connect_t *req, ax_pipe_t *pipe,
                             const char *name, ax_connect_cb cb) {
  return ax_pipe_connect(req, pipe, name, strlen(name), 0, cb);
}

/* A name of this test's own, so that runs in parallel do not meet. */
static void test_pipe_name(char *name, size_t size, const char *what) {
  snprintf(name, size, "\\\\.\\pipe\\axle-test-%lu-%s",
           (unsigned long)GetCurrentProcessId(), what);
}

/* ---- Callbacks ---- */

static void count_close_cb(ax_handle_t *handle) {
  (*(int *)handle->data)++;
}

static void connect_status_cb(ax_connect_t *req, int status) {
  *(int *)req->req.data = status;
}

static void big_alloc_cb(ax_handle_t *handle, size_t suggested, ax_buf_t *buf) {
  static char buffer[CHUNK_BYTES];
  (void)handle;
  (void)suggested;
  *buf = ax_buf_init(buffer, sizeof(buffer));
}

/* ---- Names ---- */

static void test_pipe_win_names(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_pipe_t pipe;
  test_pipe_init(&loop, &pipe);
  assert_int_equal(test_pipe_bind(&pipe, "axle"), AX_EINVAL);
  assert_int_equal(test_pipe_bind(&pipe, "\\\\.\\pipe\\"), AX_EINVAL);
  assert_int_equal(ax_pipe_bind(&pipe, "\\\\.\\pipe\\a\0b", 12, 0), AX_EINVAL);
  assert_int_equal(ax_pipe_bind(&pipe, NULL, 3, 0), AX_EINVAL);
  char long_name[400];
  memset(long_name, 'x', sizeof(long_name) - 1);
  memcpy(long_name, "\\\\.\\pipe\\", 9);
  long_name[sizeof(long_name) - 1] = '\0';
  assert_int_equal(test_pipe_bind(&pipe, long_name), AX_EINVAL);
  char name[96];
  test_pipe_name(name, sizeof(name), "names");
  assert_int_equal(test_pipe_bind(&pipe, name), 0);
  char back[96];
  size_t size = sizeof(back);
  assert_int_equal(ax_pipe_getsockname(&pipe, back, &size), 0);
  assert_int_equal(size, strlen(name));
  assert_string_equal(back, name);
  size = 4;
  assert_int_equal(ax_pipe_getsockname(&pipe, back, &size), AX_ENOBUFS);
  assert_int_equal(size, strlen(name) + 1);
  int closed = 0;
  pipe.stream.handle.data = &closed;
  ax_close(&pipe.stream.handle, count_close_cb);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(closed, 1);
  test_loop_close(&loop);
}

static void test_pipe_win_connect_missing(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_pipe_t pipe;
  test_pipe_init(&loop, &pipe);
  char name[96];
  test_pipe_name(name, sizeof(name), "missing");
  ax_connect_t req;
  int status = 1;
  req.req.data = &status;
  assert_int_equal(test_pipe_connect(&req, &pipe, name, connect_status_cb), 0);
  assert_int_equal(status, 1); /* Never from inside the call. */
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(status, AX_ENOENT);
  int closed = 0;
  pipe.stream.handle.data = &closed;
  ax_close(&pipe.stream.handle, count_close_cb);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(closed, 1);
  test_loop_close(&loop);
}

/* ---- A server and its clients ---- */

struct server {
  ax_pipe_t pipe;           /* Listening. */
  ax_pipe_t peers[CLIENTS]; /* Accepted. */
  int accepted;             /* Peers taken. */
  int want;                 /* Peers to take before closing. */
  int closed;               /* Close callbacks. */
};

static void server_connection_cb(ax_stream_t *stream, int status) {
  assert_int_equal(status, 0);
  struct server *server = stream->handle.data;
  assert_true(server->accepted < CLIENTS);
  ax_pipe_t *peer = &server->peers[server->accepted];
  test_pipe_init(stream->handle.loop, peer);
  assert_int_equal(ax_accept(stream, &peer->stream), 0);
  peer->stream.handle.data = &server->closed;
  server->accepted++;
  if (server->accepted == server->want) {
    for (int i = 0; i < server->accepted; i++)
      ax_close(&server->peers[i].stream.handle, count_close_cb);
    stream->handle.data = &server->closed;
    ax_close(&stream->handle, count_close_cb);
  }
}

static void server_start(ax_loop_t *loop, struct server *server,
                         const char *name, int instances, int want) {
  memset(server, 0, sizeof(*server));
  test_pipe_init(loop, &server->pipe);
  assert_int_equal(test_pipe_bind(&server->pipe, name), 0);
  ax_pipe_pending_instances(&server->pipe, instances);
  server->want = want;
  server->pipe.stream.handle.data = server;
  assert_int_equal(ax_listen(&server->pipe.stream, 16, server_connection_cb),
                   0);
}

struct client {
  ax_pipe_t pipe;   /* Connecting. */
  ax_connect_t req; /* Its connect. */
  int status;       /* The connect's status; 1 until it comes. */
  int closed;       /* Close callbacks. */
};

static void client_connect_cb(ax_connect_t *req, int status) {
  struct client *client = req->req.data;
  client->status = status;
  client->pipe.stream.handle.data = &client->closed;
  ax_close(&client->pipe.stream.handle, count_close_cb);
}

static void client_start(ax_loop_t *loop, struct client *client,
                         const char *name) {
  memset(client, 0, sizeof(*client));
  test_pipe_init(loop, &client->pipe);
  client->status = 1;
  client->req.req.data = client;
  assert_int_equal(
      test_pipe_connect(&client->req, &client->pipe, name, client_connect_cb),
      0);
}

/* More clients at once than instances: those that find every instance
 * taken wait for one on a pool thread, and each is accepted. */
static void test_pipe_win_instances(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  char name[96];
  test_pipe_name(name, sizeof(name), "instances");
  struct server server;
  server_start(&loop, &server, name, 2, CLIENTS);
  struct client clients[CLIENTS];
  for (int i = 0; i < CLIENTS; i++)
    client_start(&loop, &clients[i], name);
  struct test_guard guard;
  test_guard_start(&loop, &guard);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  test_guard_close(&guard);
  assert_int_equal(server.accepted, CLIENTS);
  assert_int_equal(server.closed, CLIENTS + 1);
  for (int i = 0; i < CLIENTS; i++) {
    assert_int_equal(clients[i].status, 0);
    assert_int_equal(clients[i].closed, 1);
  }
  test_loop_close(&loop);
}

/* The connection is not taken: the listener holds it and stops
 * accepting, so no instance is left listening. */
static void busy_connection_cb(ax_stream_t *stream, int status) {
  assert_int_equal(status, 0);
  ax_stop(stream->handle.loop);
}

/* A pipe of one instance, taken: a second client waits, and closing it
 * while it waits cancels its connect and ends the wait. */
static void test_pipe_win_busy(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  char name[96];
  test_pipe_name(name, sizeof(name), "busy");
  ax_pipe_t server;
  test_pipe_init(&loop, &server);
  assert_int_equal(test_pipe_bind(&server, name), 0);
  ax_pipe_pending_instances(&server, 1);
  assert_int_equal(ax_listen(&server.stream, 1, busy_connection_cb), 0);
  ax_pipe_t first;
  test_pipe_init(&loop, &first);
  ax_connect_t first_req;
  int first_status = 1;
  first_req.req.data = &first_status;
  assert_int_equal(
      test_pipe_connect(&first_req, &first, name, connect_status_cb), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0); /* Stopped. */
  assert_int_equal(first_status, 0);
  ax_pipe_t second;
  test_pipe_init(&loop, &second);
  ax_connect_t second_req;
  int second_status = 1;
  second_req.req.data = &second_status;
  assert_int_equal(
      test_pipe_connect(&second_req, &second, name, connect_status_cb), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(second_status, 1); /* Waiting for an instance. */
  int closed = 0;
  server.stream.handle.data = &closed;
  first.stream.handle.data = &closed;
  second.stream.handle.data = &closed;
  ax_close(&second.stream.handle, count_close_cb);
  ax_close(&server.stream.handle, count_close_cb);
  ax_close(&first.stream.handle, count_close_cb);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(closed, 3);
  assert_int_equal(second_status, AX_ECANCELED);
  test_loop_close(&loop);
}

/* ---- 1 MiB each way ---- */

struct flow {
  ax_pipe_t pipe;                       /* One end. */
  ax_write_t writes[MIB / CHUNK_BYTES]; /* Its writes. */
  char *out;                            /* What it sends. */
  size_t received; /* Bytes read, checked against the pattern. */
  size_t written;  /* Bytes whose write completed. */
  bool eof;        /* The peer's end was read. */
  int closed;      /* Close callbacks. */
};

static unsigned char pattern_byte(size_t at) {
  return (unsigned char)(at * 31u + (at >> 11));
}

static void flow_maybe_close(struct flow *flow) {
  if (flow->written == MIB && flow->received == MIB &&
      !ax_is_closing(&flow->pipe.stream.handle)) {
    flow->pipe.stream.handle.data = &flow->closed;
    ax_close(&flow->pipe.stream.handle, count_close_cb);
  }
}

static void flow_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                         const ax_buf_t *buf) {
  struct flow *flow = ax_container_of(stream, struct flow, pipe.stream);
  if (nread == AX_EOF) {
    flow->eof = true;
    return;
  }
  assert_true(nread >= 0);
  for (ptrdiff_t i = 0; i < nread; i++)
    assert_int_equal((unsigned char)buf->base[i],
                     pattern_byte(flow->received + (size_t)i));
  flow->received += (size_t)nread;
  flow_maybe_close(flow);
}

static void flow_write_cb(ax_write_t *req, int status) {
  assert_int_equal(status, 0);
  struct flow *flow = req->req.data;
  flow->written += CHUNK_BYTES;
  flow_maybe_close(flow);
}

static void flow_start(struct flow *flow) {
  flow->out = malloc(MIB);
  assert_non_null(flow->out);
  for (size_t i = 0; i < MIB; i++)
    flow->out[i] = (char)pattern_byte(i);
  assert_int_equal(
      ax_read_start(&flow->pipe.stream, big_alloc_cb, flow_read_cb), 0);
  for (size_t i = 0; i < MIB / CHUNK_BYTES; i++) {
    ax_buf_t buf = ax_buf_init(flow->out + i * CHUNK_BYTES, CHUNK_BYTES);
    flow->writes[i].req.data = flow;
    assert_int_equal(
        ax_write(&flow->writes[i], &flow->pipe.stream, &buf, 1, flow_write_cb),
        0);
  }
}

struct flow_pair {
  ax_pipe_t server;   /* Listening. */
  struct flow client; /* Connected. */
  struct flow peer;   /* Accepted. */
  int closed;         /* The listener's close. */
};

static void flow_connection_cb(ax_stream_t *stream, int status) {
  assert_int_equal(status, 0);
  struct flow_pair *pair = stream->handle.data;
  test_pipe_init(stream->handle.loop, &pair->peer.pipe);
  assert_int_equal(ax_accept(stream, &pair->peer.pipe.stream), 0);
  stream->handle.data = &pair->closed;
  ax_close(&stream->handle, count_close_cb);
  flow_start(&pair->peer);
}

static void flow_connect_cb(ax_connect_t *req, int status) {
  assert_int_equal(status, 0);
  flow_start(req->req.data);
}

static void test_pipe_win_mib(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  char name[96];
  test_pipe_name(name, sizeof(name), "mib");
  struct flow_pair *pair = calloc(1, sizeof(*pair));
  assert_non_null(pair);
  test_pipe_init(&loop, &pair->server);
  assert_int_equal(test_pipe_bind(&pair->server, name), 0);
  pair->server.stream.handle.data = pair;
  assert_int_equal(ax_listen(&pair->server.stream, 4, flow_connection_cb), 0);
  test_pipe_init(&loop, &pair->client.pipe);
  ax_connect_t req;
  req.req.data = &pair->client;
  assert_int_equal(
      test_pipe_connect(&req, &pair->client.pipe, name, flow_connect_cb), 0);
  struct test_guard guard;
  test_guard_start(&loop, &guard);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  test_guard_close(&guard);
  assert_int_equal(pair->closed, 1);
  assert_int_equal(pair->client.received, MIB);
  assert_int_equal(pair->peer.received, MIB);
  assert_int_equal(pair->client.closed, 1);
  assert_int_equal(pair->peer.closed, 1);
  free(pair->client.out);
  free(pair->peer.out);
  free(pair);
  test_loop_close(&loop);
}

/* ---- ax_pipe()'s pair, adopted ---- */

struct reader {
  ax_pipe_t pipe; /* The read end. */
  char got[16];   /* What came. */
  size_t len;     /* Its length. */
  bool eof;       /* The end came. */
};

static void reader_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                           const ax_buf_t *buf) {
  struct reader *reader = ax_container_of(stream, struct reader, pipe.stream);
  if (nread == AX_EOF) {
    reader->eof = true;
    ax_close(&stream->handle, NULL);
    return;
  }
  assert_true(nread >= 0);
  assert_true(reader->len + (size_t)nread <= sizeof(reader->got));
  memcpy(reader->got + reader->len, buf->base, (size_t)nread);
  reader->len += (size_t)nread;
}

static void test_pipe_win_pair(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_os_fd_t fds[2];
  /* A synchronous read end is refused: it would block the loop. */
  assert_int_equal(ax_pipe(fds, 0, 0), 0);
  struct reader reader;
  memset(&reader, 0, sizeof(reader));
  test_pipe_init(&loop, &reader.pipe);
  assert_int_equal(ax_pipe_open(&reader.pipe, fds[0]), AX_ENOTSUP);
  CloseHandle(fds[0]);
  CloseHandle(fds[1]);
  /* An overlapped one works; the writer stays synchronous. */
  assert_int_equal(ax_pipe(fds, AX_PIPE_NONBLOCK, 0), 0);
  assert_int_equal(ax_pipe_open(&reader.pipe, fds[0]), 0);
  assert_int_equal(
      ax_read_start(&reader.pipe.stream, big_alloc_cb, reader_read_cb), 0);
  DWORD wrote = 0;
  assert_true(WriteFile(fds[1], "hello", 5, &wrote, NULL));
  assert_int_equal(wrote, 5);
  CloseHandle(fds[1]);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_true(reader.eof);
  assert_int_equal(reader.len, 5);
  assert_memory_equal(reader.got, "hello", 5);
  test_loop_close(&loop);
}

/* ---- Closing with operations in flight ---- */

struct inflight {
  int writes_cancelled; /* Writes that said AX_ECANCELED. */
  int closed;           /* Close callbacks. */
};

static void inflight_write_cb(ax_write_t *req, int status) {
  struct inflight *inflight = req->req.data;
  assert_int_equal(status, AX_ECANCELED);
  assert_int_equal(inflight->closed, 0);
  inflight->writes_cancelled++;
}

static void ignore_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                           const ax_buf_t *buf) {
  (void)stream;
  (void)nread;
  (void)buf;
}

static void test_pipe_win_close_inflight(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  HANDLE ends[2];
  assert_int_equal(ax__win_pipe_pair(ends, PIPE_ACCESS_DUPLEX, true,
                                     GENERIC_READ | GENERIC_WRITE, true, false),
                   0);
  ax_pipe_t pipe;
  test_pipe_init(&loop, &pipe);
  assert_int_equal(ax_pipe_open(&pipe, ends[0]), 0);
  assert_int_equal(ax_read_start(&pipe.stream, big_alloc_cb, ignore_read_cb),
                   0);
  /* More than the pipe buffers, and no one reads: the write stays in
   * flight. */
  char *big = calloc(1, 4 * AX__PIPE_BUFFER_BYTES);
  assert_non_null(big);
  struct inflight inflight = {0};
  ax_write_t write;
  write.req.data = &inflight;
  ax_buf_t buf = ax_buf_init(big, 4 * AX__PIPE_BUFFER_BYTES);
  assert_int_equal(ax_write(&write, &pipe.stream, &buf, 1, inflight_write_cb),
                   0);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_true(ax_stream_get_write_queue_size(&pipe.stream) > 0);
  pipe.stream.handle.data = &inflight.closed;
  ax_close(&pipe.stream.handle, count_close_cb);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(inflight.writes_cancelled, 1);
  assert_int_equal(inflight.closed, 1);
  CloseHandle(ends[1]);
  free(big);
  test_loop_close(&loop);
}

/* ---- A TCP listener over an IPC pipe ---- */

struct ipc {
  ax_loop_t *loop;       /* The loop. */
  ax_pipe_t server;      /* Listening pipe. */
  ax_pipe_t peer;        /* Accepted IPC pipe: receives. */
  ax_pipe_t client;      /* Connected IPC pipe: sends. */
  ax_tcp_t original;     /* The listener sent. */
  ax_tcp_t received;     /* The listener received. */
  ax_tcp_t conn;         /* A connection it accepted. */
  ax_tcp_t dialer;       /* The connection's other end. */
  ax_connect_t pipe_req; /* The pipe's connect. */
  ax_connect_t tcp_req;  /* The TCP connect. */
  ax_write_t write;      /* The write that sends the listener. */
  int port;              /* The listener's port. */
  int ready;             /* Original closed + received listening. */
  int accepted;          /* Connections the received listener took. */
  int closed;            /* Close callbacks. */
  bool wine;             /* The listener came, but Wine cannot adopt it. */
};

static void ipc_never_cb(ax_stream_t *stream, int status) {
  (void)stream;
  fail_msg("the original listener accepted (%d)", status);
}

static void ipc_close_all(struct ipc *ipc) {
  ax_handle_t *handles[] = {
      &ipc->server.stream.handle, &ipc->peer.stream.handle,
      &ipc->client.stream.handle, &ipc->received.stream.handle,
      &ipc->conn.stream.handle,   &ipc->dialer.stream.handle};
  for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++) {
    handles[i]->data = &ipc->closed;
    ax_close(handles[i], count_close_cb);
  }
}

static void ipc_conn_cb(ax_stream_t *stream, int status) {
  assert_int_equal(status, 0);
  struct ipc *ipc = stream->handle.data;
  assert_int_equal(ax_tcp_init(ipc->loop, &ipc->conn), 0);
  assert_int_equal(ax_accept(stream, &ipc->conn.stream), 0);
  ipc->accepted++;
  ipc_close_all(ipc);
}

static void ipc_dial_cb(ax_connect_t *req, int status) {
  (void)req;
  assert_int_equal(status, 0);
}

static void ipc_maybe_dial(struct ipc *ipc) {
  if (++ipc->ready < 2)
    return;
  struct sockaddr_storage addr;
  tcp_test_addr("127.0.0.1", ipc->port, &addr);
  assert_int_equal(ax_tcp_init(ipc->loop, &ipc->dialer), 0);
  assert_int_equal(ax_tcp_connect(&ipc->tcp_req, &ipc->dialer,
                                  (const struct sockaddr *)&addr, ipc_dial_cb),
                   0);
}

static void ipc_original_closed(ax_handle_t *handle) {
  struct ipc *ipc = handle->data;
  if (!ipc->wine)
    ipc_maybe_dial(ipc);
}

static void ipc_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                        const ax_buf_t *buf) {
  (void)buf;
  struct ipc *ipc = ax_container_of(stream, struct ipc, peer.stream);
  if (nread <= 0)
    return;
  assert_int_equal(nread, 1);
  assert_int_equal(ax_pipe_pending_count(&ipc->peer), 1);
  assert_int_equal(ax_pipe_pending_type(&ipc->peer), AX_TCP);
  assert_int_equal(ax_tcp_init(ipc->loop, &ipc->received), 0);
  int err = ax_accept(stream, &ipc->received.stream);
  assert_int_equal(ax_pipe_pending_count(&ipc->peer), 0);
  if (err == AX_EINVAL && getenv("AX_TEST_WINE") != NULL) {
    /* Wine (8.0) can neither put the received socket, the sender's
     * kernel object, on a second port, nor move it there
     * (FileReplaceCompletionInformation): what came is checked, not
     * used. */
    ipc->wine = true;
    ax_handle_t *handles[] = {
        &ipc->server.stream.handle, &ipc->peer.stream.handle,
        &ipc->client.stream.handle, &ipc->received.stream.handle};
    for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++) {
      handles[i]->data = &ipc->closed;
      ax_close(handles[i], count_close_cb);
    }
    return;
  }
  assert_int_equal(err, 0);
  ipc->received.stream.handle.data = ipc;
  assert_int_equal(ax_listen(&ipc->received.stream, 8, ipc_conn_cb), 0);
  ipc_maybe_dial(ipc);
}

static void ipc_peer_cb(ax_stream_t *stream, int status) {
  assert_int_equal(status, 0);
  struct ipc *ipc = stream->handle.data;
  assert_int_equal(ax_pipe_init(ipc->loop, &ipc->peer, true), 0);
  assert_int_equal(ax_accept(stream, &ipc->peer.stream), 0);
  assert_int_equal(ax_read_start(&ipc->peer.stream, big_alloc_cb, ipc_read_cb),
                   0);
}

static void ipc_written_cb(ax_write_t *req, int status) {
  assert_int_equal(status, 0);
  struct ipc *ipc = req->req.data;
  ipc->original.stream.handle.data = ipc;
  ax_close(&ipc->original.stream.handle, ipc_original_closed);
}

static void ipc_connected_cb(ax_connect_t *req, int status) {
  assert_int_equal(status, 0);
  struct ipc *ipc = req->req.data;
  ax_buf_t buf = ax_buf_init("L", 1);
  ipc->write.req.data = ipc;
  assert_int_equal(ax_write2(&ipc->write, &ipc->client.stream, &buf, 1,
                             &ipc->original.stream, ipc_written_cb),
                   0);
}

static void test_pipe_win_ipc_listener(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct ipc *ipc = calloc(1, sizeof(*ipc));
  assert_non_null(ipc);
  ipc->loop = &loop;
  char name[96];
  test_pipe_name(name, sizeof(name), "ipc");
  assert_int_equal(tcp_test_listen(&loop, &ipc->original, "127.0.0.1",
                                   ipc_never_cb, &ipc->port),
                   0);
  assert_int_equal(ax_pipe_init(&loop, &ipc->server, true), 0);
  assert_int_equal(test_pipe_bind(&ipc->server, name), 0);
  ipc->server.stream.handle.data = ipc;
  assert_int_equal(ax_listen(&ipc->server.stream, 4, ipc_peer_cb), 0);
  assert_int_equal(ax_pipe_init(&loop, &ipc->client, true), 0);
  ipc->pipe_req.req.data = ipc;
  assert_int_equal(
      test_pipe_connect(&ipc->pipe_req, &ipc->client, name, ipc_connected_cb),
      0);
  struct test_guard guard;
  test_guard_start(&loop, &guard);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  test_guard_close(&guard);
  assert_int_equal(ipc->accepted, ipc->wine ? 0 : 1);
  assert_int_equal(ipc->closed, ipc->wine ? 4 : 6);
  free(ipc);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pipe_win_names),
      cmocka_unit_test(test_pipe_win_connect_missing),
      cmocka_unit_test(test_pipe_win_instances),
      cmocka_unit_test(test_pipe_win_busy),
      cmocka_unit_test(test_pipe_win_mib),
      cmocka_unit_test(test_pipe_win_pair),
      cmocka_unit_test(test_pipe_win_close_inflight),
      cmocka_unit_test(test_pipe_win_ipc_listener),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
