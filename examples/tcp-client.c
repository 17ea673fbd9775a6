/*
 * tcp-client.c: the client side of examples/tcp-echo.c. It connects to
 * an echo server, sends a message, shuts its write side (the server then
 * sees the end of input), reads the echo until the server closes, and
 * checks that the echo is the message.
 *
 * Usage: tcp-client HOST PORT [MESSAGE]  (HOST is an IPv4 address such as
 * 127.0.0.1; MESSAGE defaults to "hello, axle"). Exits 0 when the echo
 * matched. The requests (connect, write, shutdown) live in one struct
 * with the handle, so that nothing is allocated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <winsock2.h> /* struct sockaddr_in */
#else
#include <netinet/in.h> /* struct sockaddr_in */
#endif                  /* _WIN32 */

#include <axle.h>

enum { REPLY_BYTES = 64 * 1024 }; /* the longest echo it takes */

struct client {
  ax_tcp_t tcp;            /* the connection */
  ax_connect_t connect;    /* its connect request */
  ax_write_t write;        /* sends the message */
  ax_shutdown_t shutdown;  /* then shuts the write side */
  const char *message;     /* what to send */
  size_t received;         /* bytes of reply so far */
  int status;              /* the exit status: 1 until the echo matched */
  char reply[REPLY_BYTES]; /* the echo */
};

/* Print a failure and close; ax_run() then returns. */
static void client_fail(struct client *c, const char *what, int err) {
  fprintf(stderr, "tcp-client: %s: %s\n", what, ax_strerror(err));
  if (!ax_is_closing(&c->tcp.stream.handle))
    ax_close(&c->tcp.stream.handle, NULL);
}

/* Reads land in the rest of the reply buffer; when it is full, the
 * zero-length buffer makes the read fail with AX_ENOBUFS. */
static void on_alloc(ax_handle_t *handle, size_t size, ax_buf_t *buf) {
  struct client *c = handle->data;
  (void)size;
  *buf = ax_buf_init(c->reply + c->received, REPLY_BYTES - c->received);
}

static void on_read(ax_stream_t *stream, ptrdiff_t nread, const ax_buf_t *buf) {
  struct client *c = stream->handle.data;
  (void)buf; /* always inside c->reply */
  if (nread >= 0) {
    c->received += (size_t)nread;
    return;
  }
  if (nread != AX_EOF) {
    client_fail(c, "read", (int)nread);
    return;
  }
  /* The server closed after echoing everything: compare. */
  size_t len = strlen(c->message);
  if (c->received == len && memcmp(c->reply, c->message, len) == 0) {
    printf("echoed: %.*s\n", (int)c->received, c->reply);
    c->status = 0;
  } else {
    fprintf(stderr, "tcp-client: the echo differs: %lu bytes for %lu\n",
            (unsigned long)c->received, (unsigned long)len);
  }
  ax_close(&stream->handle, NULL);
}

static void on_written(ax_write_t *req, int status) {
  if (status != 0)
    client_fail(req->handle->handle.data, "write", status);
}

static void on_shutdown(ax_shutdown_t *req, int status) {
  if (status != 0)
    client_fail(req->handle->handle.data, "shutdown", status);
}

/* Connected: send the message, say it is all, and read the echo. The
 * write and the shutdown are queued in order; the buffer (the message)
 * stays valid until the write's callback. */
static void on_connect(ax_connect_t *req, int status) {
  struct client *c = req->handle->handle.data;
  ax_stream_t *stream = &c->tcp.stream;
  int err;
  if (status != 0) {
    client_fail(c, "connect", status);
    return;
  }
  ax_buf_t buf = ax_buf_init((char *)c->message, strlen(c->message));
  if ((err = ax_write(&c->write, stream, &buf, 1, on_written)) != 0 ||
      (err = ax_shutdown(&c->shutdown, stream, on_shutdown)) != 0 ||
      (err = ax_read_start(stream, on_alloc, on_read)) != 0)
    client_fail(c, "start", err);
}

int main(int argc, char **argv) {
  static struct client c; /* static: the reply buffer is 64 KiB */
  ax_loop_t loop;
  struct sockaddr_in addr;
  int err;

  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: tcp-client HOST PORT [MESSAGE]\n");
    return 2;
  }
  c.message = argc == 4 ? argv[3] : "hello, axle";
  c.status = 1;
  err = ax_ip4_addr(argv[1], atoi(argv[2]), &addr);
  if (err != 0) {
    fprintf(stderr, "tcp-client: %s:%s: %s\n", argv[1], argv[2],
            ax_strerror(err));
    return 2;
  }
  if ((err = ax_loop_init(&loop)) != 0) {
    fprintf(stderr, "tcp-client: ax_loop_init: %s\n", ax_strerror(err));
    return 1;
  }
  ax_tcp_init(&loop, &c.tcp);
  c.tcp.stream.handle.data = &c;
  err = ax_tcp_connect(&c.connect, &c.tcp, (struct sockaddr *)&addr,
                       on_connect);
  if (err != 0)
    client_fail(&c, "connect", err);

  ax_run(&loop, AX_RUN_DEFAULT); /* until the handle is closed */
  err = ax_loop_close(&loop);
  if (err != 0) {
    fprintf(stderr, "tcp-client: ax_loop_close: %s\n", ax_strerror(err));
    return 1;
  }
  return c.status;
}
