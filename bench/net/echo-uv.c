/*
 * bench/net/echo-uv.c: examples/echo-server.c written on libuv, so that
 * scripts/bench-net.sh can compare the two servers doing the same thing.
 *
 * The behaviour matches the axle server choice for choice: one read
 * buffer per loop, handed out by the alloc callback, so an idle
 * connection holds no buffer; a write is tried with uv_try_write() and
 * only the rest is copied and queued with uv_write(); reading stops while
 * more than WRITE_HIGH_BYTES wait in the write queue and resumes once it
 * drains to WRITE_LOW_BYTES (libuv has no water-mark callback, so the
 * queue size is checked after each write); Nagle is off on every
 * connection; SIGINT or SIGTERM closes everything and exits 0. Each
 * connection allocates its uv_tcp_t and nothing else while idle.
 *
 * Usage: echo-uv [--host 127.0.0.1] [--port 7000]   (--port 0: any)
 * Prints "listening on HOST:PORT" once it accepts connections.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

enum {
  READ_BUFFER_BYTES = 64 * 1024, /* The loop's one read buffer. */
  WRITE_HIGH_BYTES = 64 * 1024,  /* Stop reading at this much queued. */
  WRITE_LOW_BYTES = 16 * 1024,   /* Resume reading at this much. */
  LISTEN_BACKLOG = 4096,         /* Linux's default somaxconn. */
  DEFAULT_PORT = 7000,           /* As examples/echo-server.c. */
};

/* The server: one per process. */
struct server {
  uv_loop_t *loop;                /* The loop. */
  uv_tcp_t listener;              /* The listening socket. */
  uv_signal_t sigint;             /* Clean shutdown on SIGINT. */
  uv_signal_t sigterm;            /* ... and on SIGTERM. */
  char buffer[READ_BUFFER_BYTES]; /* Every read lands here. */
};

/* The rest of a write the kernel did not take, copied. */
struct pending_write {
  uv_write_t req; /* The queued write. */
  char data[];    /* The bytes, req's buffer. */
};

/* A connection's data field: NULL while reading, this while paused. */
static char paused_marker;

static void conn_close_cb(uv_handle_t *handle) {
  free(handle);
}

static void conn_alloc(uv_handle_t *handle, size_t suggested_size,
                       uv_buf_t *buf) {
  struct server *s = handle->loop->data;
  (void)suggested_size;
  *buf = uv_buf_init(s->buffer, sizeof(s->buffer));
}

static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void conn_write_done(uv_write_t *req, int status) {
  uv_stream_t *stream = req->handle;
  free(req);
  if (status != 0 || uv_is_closing((uv_handle_t *)stream))
    return;
  if (stream->data == &paused_marker &&
      uv_stream_get_write_queue_size(stream) <= WRITE_LOW_BYTES) {
    stream->data = NULL;
    uv_read_start(stream, conn_alloc, conn_read);
  }
}

/* Queue bytes the kernel did not take, from the shared buffer into a
 * copy of their own. */
static int conn_queue(uv_stream_t *stream, const char *data, size_t len) {
  struct pending_write *w = malloc(sizeof(*w) + len);
  if (w == NULL)
    return UV_ENOMEM;
  memcpy(w->data, data, len);
  uv_buf_t buf = uv_buf_init(w->data, (unsigned int)len);
  int rc = uv_write(&w->req, stream, &buf, 1, conn_write_done);
  if (rc != 0) {
    free(w);
    return rc;
  }
  if (uv_stream_get_write_queue_size(stream) >= WRITE_HIGH_BYTES) {
    stream->data = &paused_marker;
    uv_read_stop(stream);
  }
  return 0;
}

/* Echo: try the write at once, queue only the rest. */
static int conn_echo(uv_stream_t *stream, const char *data, size_t len) {
  size_t done = 0;
  if (uv_stream_get_write_queue_size(stream) == 0) {
    uv_buf_t buf = uv_buf_init((char *)data, (unsigned int)len);
    int n = uv_try_write(stream, &buf, 1);
    if (n < 0 && n != UV_EAGAIN)
      return n;
    done = n > 0 ? (size_t)n : 0;
  }
  return done == len ? 0 : conn_queue(stream, data + done, len - done);
}

static void conn_shutdown_done(uv_shutdown_t *req, int status) {
  (void)status;
  uv_close((uv_handle_t *)req->handle, conn_close_cb);
  free(req);
}

/* The peer is done sending: close now, or after the queued echoes. */
static void conn_end(uv_stream_t *stream) {
  uv_shutdown_t *req = NULL;
  if (uv_stream_get_write_queue_size(stream) > 0)
    req = malloc(sizeof(*req));
  if (req == NULL || uv_shutdown(req, stream, conn_shutdown_done) != 0) {
    free(req);
    uv_close((uv_handle_t *)stream, conn_close_cb);
  }
}

static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  if (nread > 0) {
    if (conn_echo(stream, buf->base, (size_t)nread) != 0)
      uv_close((uv_handle_t *)stream, conn_close_cb);
  } else if (nread == UV_EOF) {
    uv_read_stop(stream);
    conn_end(stream);
  } else if (nread < 0) {
    uv_close((uv_handle_t *)stream, conn_close_cb);
  }
}

static void on_connection(uv_stream_t *listener, int status) {
  if (status != 0)
    return; /* Out of descriptors, say: the next connection may do. */
  uv_tcp_t *conn = malloc(sizeof(*conn));
  if (conn == NULL)
    return;
  uv_tcp_init(listener->loop, conn);
  conn->data = NULL;
  if (uv_accept(listener, (uv_stream_t *)conn) != 0) {
    uv_close((uv_handle_t *)conn, conn_close_cb);
    return;
  }
  uv_tcp_nodelay(conn, 1);
  uv_read_start((uv_stream_t *)conn, conn_alloc, conn_read);
}

/* Close every handle: the connections free themselves, the server's own
 * handles live in struct server. */
static void close_one(uv_handle_t *handle, void *arg) {
  struct server *s = arg;
  if (uv_is_closing(handle))
    return;
  bool own = handle == (uv_handle_t *)&s->listener ||
             handle == (uv_handle_t *)&s->sigint ||
             handle == (uv_handle_t *)&s->sigterm;
  uv_close(handle, own ? NULL : conn_close_cb);
}

static void on_signal(uv_signal_t *signal, int signum) {
  (void)signum;
  uv_walk(signal->loop, close_one, signal->loop->data);
}

static int server_listen(struct server *s, const char *host, int port) {
  struct sockaddr_storage addr;
  int len = sizeof(addr);
  char name[64];
  int rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
  if (rc == 0)
    rc = uv_tcp_init(s->loop, &s->listener);
  if (rc == 0)
    rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&s->listener, LISTEN_BACKLOG, on_connection);
  if (rc == 0)
    rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&addr, &len);
  if (rc == 0)
    rc = uv_ip4_name((struct sockaddr_in *)&addr, name, sizeof(name));
  if (rc != 0) {
    fprintf(stderr, "echo-uv: %s:%d: %s\n", host, port, uv_strerror(rc));
    return rc;
  }
  printf("listening on %s:%d\n", name,
         ntohs(((struct sockaddr_in *)&addr)->sin_port));
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  int port = DEFAULT_PORT;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--host") == 0)
      host = argv[i + 1];
    else if (strcmp(argv[i], "--port") == 0)
      port = atoi(argv[i + 1]);
  }
  if (argc % 2 == 0) {
    fprintf(stderr, "usage: echo-uv [--host H] [--port P]\n");
    return 2;
  }
  static struct server s;
  s.loop = uv_default_loop();
  s.loop->data = &s;
  if (server_listen(&s, host, port) != 0)
    return 1;
  uv_signal_init(s.loop, &s.sigint);
  uv_signal_start(&s.sigint, on_signal, SIGINT);
  uv_signal_init(s.loop, &s.sigterm);
  uv_signal_start(&s.sigterm, on_signal, SIGTERM);
  uv_run(s.loop, UV_RUN_DEFAULT);
  return uv_loop_close(s.loop) == 0 ? 0 : 1;
}
