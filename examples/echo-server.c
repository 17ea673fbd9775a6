/*
 * echo-server.c: a TCP echo server, the smallest server that shows how
 * axle is meant to be used under load.
 *
 * Every byte a client sends comes back to it. What makes it a model
 * rather than a toy:
 *
 * - Memory per connection is the ax_tcp_t and nothing else (112 bytes
 *   on 64-bit POSIX systems), taken from blocks of CONN_BLOCK_COUNT so
 *   that malloc's header is paid per block, not per connection. Reads land in
 * one buffer per loop, which the alloc callback hands out: a read callback has
 * echoed the bytes (or copied what could not go out) before the next read, so
 * one buffer serves every connection, and an idle connection holds none.
 * - A write is tried with ax_try_write() first; only what the kernel did
 *   not take is copied and queued with ax_write(). In the common case an
 *   echo costs no allocation and no copy.
 * - Backpressure: a client that sends without reading would make the
 *   queue grow without bound. Water marks stop reading from it while
 *   WRITE_HIGH_BYTES are queued and resume at WRITE_LOW_BYTES. They are
 *   set on the first queued write only, as they cost a small allocation
 *   that connections which never queue should not pay.
 * - --threads N runs N loops on N threads, each with its own listener on
 *   the same port (AX_TCP_REUSEPORT: the kernel spreads connections).
 * - SIGINT or SIGTERM stops it cleanly: every handle is closed, every
 *   loop closed, and the process exits 0.
 * - Out of descriptors (ulimit -n) or memory, axle refuses connections and
 *   retries by itself; the server says so on stderr, once per episode and
 *   loop, so that an operator can tell why clients are turned away.
 *
 * Usage: echo-server [--host 127.0.0.1] [--port 7000] [--threads N]
 * (--port 0 picks a free port.) It prints "listening on HOST:PORT" once
 * it accepts connections; tests and scripts wait for that line.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#endif /* _WIN32 */

#include <axle.h>

enum {
  READ_BUFFER_BYTES = 64 * 1024, /* Each loop's one read buffer. */
  WRITE_HIGH_BYTES = 64 * 1024,  /* Stop reading at this much queued... */
  WRITE_LOW_BYTES = 16 * 1024,   /* ...and resume once drained to this. */
  LISTEN_BACKLOG = 4096,         /* Linux's default somaxconn. */
  DEFAULT_PORT = 7000,           /* When --port is not given. */
  MAX_THREADS = 64,              /* --threads is at most this. */
  CONN_BLOCK_COUNT = 512,        /* Connections allocated at a time. */
};

/* Connections, allocated together. A block lives until its server ends;
 * a closed connection goes back to its server's free list for reuse. */
struct conn_block {
  struct conn_block *next;          /* The server's previous block. */
  ax_tcp_t conns[CONN_BLOCK_COUNT]; /* The connections. */
};

struct app;

/* One loop and its listener; --threads N makes N of them. */
struct server {
  ax_loop_t loop;                 /* This server's loop. */
  ax_tcp_t listener;              /* Its listening socket. */
  ax_async_t stop;                /* Threads 1..N-1: woken to shut down. */
  ax_thread_t thread;             /* Threads 1..N-1: the loop's thread. */
  struct app *app;                /* The whole program. */
  struct conn_block *blocks;      /* Every block of connections. */
  ax_tcp_t *free_conns;           /* Unused ones, linked through data. */
  char buffer[READ_BUFFER_BYTES]; /* Every read on this loop lands here. */
};

/* The program: the servers, and the signal handles on the first loop. */
struct app {
  const char *host;       /* The address to listen on. */
  int port;               /* The port; 0 until one is picked. */
  int threads;            /* How many servers. */
  struct server *servers; /* threads of them. */
  ax_signal_t sigint;     /* Stops everything, on servers[0]'s loop. */
  ax_signal_t sigterm;    /* Likewise. */
};

/* The rest of an echo the kernel did not take, copied. */
struct pending_write {
  ax_write_t req; /* The queued write. */
  char data[];    /* The bytes it writes. */
};

/* A connection's data field points here once it has water marks. */
static char water_marks_set;

static void conn_read(ax_stream_t *stream, ptrdiff_t nread,
                      const ax_buf_t *buf);

/* A connection for server s: from the free list, refilled a block at a
 * time. NULL when out of memory. */
static ax_tcp_t *conn_new(struct server *s) {
  if (s->free_conns == NULL) {
    struct conn_block *block = malloc(sizeof(*block));
    if (block == NULL)
      return NULL;
    block->next = s->blocks;
    s->blocks = block;
    for (int i = CONN_BLOCK_COUNT - 1; i >= 0; i--) {
      block->conns[i].stream.handle.data = s->free_conns;
      s->free_conns = &block->conns[i];
    }
  }
  ax_tcp_t *conn = s->free_conns;
  s->free_conns = conn->stream.handle.data;
  return conn;
}

/* Once closed, a connection's memory is free for the next one. */
static void conn_close_cb(ax_handle_t *handle) {
  struct server *s = handle->loop->data;
  handle->data = s->free_conns;
  s->free_conns = ax_container_of(handle, ax_tcp_t, stream.handle);
}

/* After the server's loop is closed: its connections' memory. */
static void server_free_conns(struct server *s) {
  while (s->blocks != NULL) {
    struct conn_block *next = s->blocks->next;
    free(s->blocks);
    s->blocks = next;
  }
  s->free_conns = NULL;
}

static void conn_close(ax_stream_t *stream) {
  ax_close(&stream->handle, conn_close_cb);
}

/* Every read of every connection of a loop gets the loop's buffer. */
static void conn_alloc(ax_handle_t *handle, size_t suggested_size,
                       ax_buf_t *buf) {
  struct server *s = handle->loop->data;
  (void)suggested_size;
  *buf = ax_buf_init(s->buffer, sizeof(s->buffer));
}

static void conn_water(ax_stream_t *stream, bool above) {
  if (above)
    ax_read_stop(stream);
  else if (ax_is_readable(stream))
    ax_read_start(stream, conn_alloc, conn_read);
}

static void conn_write_done(ax_write_t *req, int status) {
  (void)status; /* A failed write: the read side sees the error too. */
  free(ax_container_of(req, struct pending_write, req));
}

/* Copy and queue what the kernel did not take. The bytes are in the
 * loop's shared buffer, which the next read reuses. */
static int conn_queue(ax_stream_t *stream, const char *data, size_t len) {
  if (stream->handle.data != &water_marks_set) {
    int rc = ax_stream_set_water_marks(stream, WRITE_LOW_BYTES,
                                       WRITE_HIGH_BYTES, conn_water);
    if (rc != 0)
      return rc;
    stream->handle.data = &water_marks_set;
  }
  struct pending_write *w = malloc(sizeof(*w) + len);
  if (w == NULL)
    return AX_ENOMEM;
  memcpy(w->data, data, len);
  ax_buf_t buf = ax_buf_init(w->data, len);
  int rc = ax_write(&w->req, stream, &buf, 1, conn_write_done);
  if (rc != 0)
    free(w);
  return rc;
}

/* Echo: write at once what the kernel takes, queue only the rest. While
 * earlier bytes are queued, ax_try_write() refuses (order comes first)
 * and everything goes to the queue. */
static int conn_echo(ax_stream_t *stream, char *data, size_t len) {
  ax_buf_t buf = ax_buf_init(data, len);
  int n = ax_try_write(stream, &buf, 1);
  if (n < 0 && n != AX_EAGAIN)
    return n;
  size_t done = n > 0 ? (size_t)n : 0;
  return done == len ? 0 : conn_queue(stream, data + done, len - done);
}

static void conn_shutdown_done(ax_shutdown_t *req, int status) {
  (void)status;
  conn_close(req->handle);
  free(req);
}

/* The client will send no more: close now, or once its echoes are out.
 * The shutdown request is allocated only in the second case. */
static void conn_end(ax_stream_t *stream) {
  ax_shutdown_t *req = NULL;
  if (ax_stream_get_write_queue_size(stream) > 0)
    req = malloc(sizeof(*req));
  if (req == NULL || ax_shutdown(req, stream, conn_shutdown_done) != 0) {
    free(req);
    conn_close(stream);
  }
}

static void conn_read(ax_stream_t *stream, ptrdiff_t nread,
                      const ax_buf_t *buf) {
  if (nread > 0) {
    if (conn_echo(stream, buf->base, (size_t)nread) != 0)
      conn_close(stream);
  } else if (nread == AX_EOF) {
    ax_read_stop(stream);
    conn_end(stream);
  } else if (nread < 0) {
    conn_close(stream);
  }
}

/* The loop ran short of descriptors or memory: its listener refuses
 * connections, pauses and resumes by itself, and axle calls this once per
 * episode. Only the operator can raise the limit: tell them. */
static void on_resource(ax_handle_t *handle, int err) {
  struct server *s = handle->loop->data;
  fprintf(stderr,
          "echo-server: loop %d: refusing connections: %s (%s); "
          "retrying\n",
          (int)(s - s->app->servers), ax_err_name(err), ax_strerror(err));
}

static void on_connection(ax_stream_t *listener, int status) {
  if (status != 0)
    return; /* Out of descriptors: on_resource() has said so. */
  ax_tcp_t *conn = conn_new(listener->handle.loop->data);
  if (conn == NULL)
    return; /* The connection waits in the kernel for the next try. */
  ax_tcp_init(listener->handle.loop, conn);
  conn->stream.handle.data = NULL;
  if (ax_accept(listener, &conn->stream) != 0) {
    conn_close(&conn->stream);
    return;
  }
  /* Echoes are small and answered at once: Nagle would hold them back. */
  ax_tcp_nodelay(conn, true);
  if (ax_read_start(&conn->stream, conn_alloc, conn_read) != 0)
    conn_close(&conn->stream);
}

/* Close one handle of a loop that is shutting down. The connections go
 * back to the free list; everything else lives in struct server or app. */
static void server_close_one(ax_handle_t *handle, void *arg) {
  struct server *s = arg;
  if (ax_is_closing(handle))
    return;
  bool conn = handle->type == AX_TCP && handle != &s->listener.stream.handle;
  ax_close(handle, conn ? conn_close_cb : NULL);
}

/* Stop accepting, close every connection; the loop then runs out. */
static void server_shutdown(struct server *s) {
  ax_walk(&s->loop, server_close_one, s);
}

static void on_stop(ax_async_t *stop) {
  server_shutdown(ax_container_of(stop, struct server, stop));
}

/* The first loop receives the signals and tells the others. */
static void on_signal(ax_signal_t *signal, int signum) {
  struct app *app = signal->handle.data;
  (void)signum;
  for (int i = 1; i < app->threads; i++)
    ax_async_send(&app->servers[i].stop);
  server_shutdown(&app->servers[0]);
}

static void server_thread(void *arg) {
  struct server *s = arg;
  ax_run(&s->loop, AX_RUN_DEFAULT);
}

/* The port of an address, read byte by byte in network order (ntohs()
 * would need the socket library linked on Windows for one call). */
static int port_of(const struct sockaddr_in *addr) {
  const unsigned char *p = (const unsigned char *)&addr->sin_port;
  return p[0] << 8 | p[1];
}

/* Listen on the app's address; the first server to bind to port 0 picks
 * the port the others share. */
static int server_listen(struct server *s, struct app *app) {
  struct sockaddr_storage addr;
  int len = sizeof(addr);
  unsigned int flags = app->threads > 1 ? AX_TCP_REUSEPORT : 0;
  int rc = ax_ip4_addr(app->host, app->port, (struct sockaddr_in *)&addr);
  if (rc == 0)
    rc = ax_tcp_init(&s->loop, &s->listener);
  if (rc != 0)
    return rc;
  rc = ax_tcp_bind(&s->listener, (struct sockaddr *)&addr, flags);
  if (rc == 0)
    rc = ax_listen(&s->listener.stream, LISTEN_BACKLOG, on_connection);
  if (rc == 0)
    rc = ax_tcp_getsockname(&s->listener, (struct sockaddr *)&addr, &len);
  if (rc == 0)
    app->port = port_of((const struct sockaddr_in *)&addr);
  return rc;
}

/* Set up server @p i: its loop, its listener, and on threads after the
 * first its stop handle. Everything is ready before any thread runs. */
static int server_init(struct app *app, int i) {
  struct server *s = &app->servers[i];
  int rc = ax_loop_init(&s->loop);
  if (rc != 0)
    return rc;
  s->app = app; /* Marks the loop as initialised, for app_close_loops. */
  s->loop.data = s;
  ax_loop_set_resource_cb(&s->loop, on_resource);
  rc = server_listen(s, app);
  if (rc == 0 && i > 0)
    rc = ax_async_init(&s->loop, &s->stop, on_stop);
  return rc;
}

/* When setting up failed part way: close whatever was opened, on every
 * loop that was initialised, and the loops themselves. */
static void app_close_loops(struct app *app) {
  for (int i = 0; i < app->threads; i++) {
    struct server *s = &app->servers[i];
    if (s->app == NULL)
      continue;
    server_shutdown(s);
    ax_run(&s->loop, AX_RUN_DEFAULT);
    ax_loop_close(&s->loop);
    server_free_conns(s);
  }
}

static int app_signals(struct app *app) {
  ax_loop_t *loop = &app->servers[0].loop;
  int rc = ax_signal_init(loop, &app->sigint);
  if (rc == 0)
    rc = ax_signal_init(loop, &app->sigterm);
  app->sigint.handle.data = app;
  app->sigterm.handle.data = app;
  if (rc == 0)
    rc = ax_signal_start(&app->sigint, SIGINT, on_signal);
  if (rc == 0)
    rc = ax_signal_start(&app->sigterm, SIGTERM, on_signal);
  /* Windows has no SIGTERM to catch (a console's close event arrives as
   * SIGHUP there): Ctrl+C alone stops the server. */
  if (rc == AX_ENOSYS)
    rc = 0;
  return rc;
}

/* Run the first loop here and the others on threads of their own, until
 * a signal stops them all; then close every loop. */
static int app_run(struct app *app) {
  int started = 1, rc = 0;
  for (; started < app->threads && rc == 0; started++)
    rc = ax_thread_create(&app->servers[started].thread, server_thread,
                          &app->servers[started]);
  if (rc != 0) {
    fprintf(stderr, "echo-server: thread: %s\n", ax_strerror(rc));
    started--;
    on_signal(&app->sigint, SIGINT);
  }
  ax_run(&app->servers[0].loop, AX_RUN_DEFAULT);
  for (int i = 1; i < started; i++)
    ax_thread_join(&app->servers[i].thread);
  /* Loops whose thread could not start: their stop was sent; run them
   * here so that they close their handles. */
  for (int i = started; i < app->threads; i++)
    ax_run(&app->servers[i].loop, AX_RUN_DEFAULT);
  for (int i = 0; i < app->threads; i++) {
    if (ax_loop_close(&app->servers[i].loop) != 0 && rc == 0)
      rc = AX_EBUSY;
    server_free_conns(&app->servers[i]);
  }
  return rc;
}

static int usage(void) {
  fprintf(stderr, "usage: echo-server [--host 127.0.0.1] [--port 7000] "
                  "[--threads N]\n");
  return 2;
}

/* "--name value" pairs; false on anything else. */
static bool parse_args(int argc, char **argv, struct app *app) {
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 == argc)
      return false;
    if (strcmp(argv[i], "--host") == 0)
      app->host = argv[i + 1];
    else if (strcmp(argv[i], "--port") == 0)
      app->port = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--threads") == 0)
      app->threads = atoi(argv[i + 1]);
    else
      return false;
  }
  return app->port >= 0 && app->port <= 65535 && app->threads >= 1 &&
         app->threads <= MAX_THREADS;
}

int main(int argc, char **argv) {
  struct app app = {.host = "127.0.0.1", .port = DEFAULT_PORT, .threads = 1};
  if (!parse_args(argc, argv, &app))
    return usage();
  /* Each server holds its read buffer: allocate them, not the stack. */
  app.servers = calloc((size_t)app.threads, sizeof(*app.servers));
  if (app.servers == NULL)
    return 1;
  int rc = 0;
  for (int i = 0; i < app.threads && rc == 0; i++)
    rc = server_init(&app, i);
  if (rc == 0)
    rc = app_signals(&app);
  if (rc != 0) {
    fprintf(stderr, "echo-server: %s:%d: %s\n", app.host, app.port,
            ax_strerror(rc));
    app_close_loops(&app);
    free(app.servers);
    return 1;
  }
  printf("listening on %s:%d\n", app.host, app.port);
  fflush(stdout);
  rc = app_run(&app);
  free(app.servers);
  return rc == 0 ? 0 : 1;
}
