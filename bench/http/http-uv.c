/*
 * bench/http/http-uv.c: the plaintext route of the HTTP server example
 * (examples/http-server) written on libuv, so that scripts/bench-http.sh
 * can compare the two servers doing the same work. Both parse with the
 * example's own parser, examples/http-server/http-parser.c, compiled in.
 *
 * What it serves: GET or HEAD of "/" answers "Hello, World!" as text/plain
 * with Date and Server headers; any other target is 404, any other method
 * on "/" is 405; a request the parser rejects gets the parser's status
 * (400 for malformed syntax) and the connection is closed after it.
 *
 * How it serves it, per read:
 * - Reads land in one buffer per loop, handed out by the alloc callback, so
 *   an idle connection holds no buffer. A read that ends inside a request
 *   head copies that partial head into a buffer of the connection's own,
 *   and the next read lands right after it, because the parser needs the
 *   whole head contiguous (http-parser.h); the buffer is freed once the
 *   head is complete.
 * - Every request a read completes is answered into one output buffer per
 *   loop, and the answers go out in ONE write at the end of the read
 *   callback (pipelining: 16 requests in one read, one write of 16
 *   responses). The write is tried with uv_try_write(); only what the
 *   kernel did not take is copied and queued. (Should the output buffer
 *   fill up inside one read, it is written out and reused.)
 * - The Date header is formatted once per second of loop time, not per
 *   response.
 * - Keep-alive as the parser decides it (HTTP/1.1 unless "Connection:
 *   close", HTTP/1.0 with "Connection: keep-alive"). After a response that
 *   ends the connection the rest of the read is dropped, the write side
 *   shut down once the queue drains, and the connection closed.
 * - Backpressure as in bench/net/echo-uv.c: reading stops while more than
 *   WRITE_HIGH_BYTES wait in the write queue and resumes at
 *   WRITE_LOW_BYTES. Nagle is off.
 *
 * Usage: http-uv [--host 127.0.0.1] [--port 8080] [--threads 1]
 * (--port 0: any free port; --threads is accepted for the script's sake
 * and must be 1.) Prints "listening on HOST:PORT" once it accepts
 * connections; SIGINT or SIGTERM closes everything and exits 0.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "http-parser.h"

enum {
  READ_BUFFER_BYTES = 64 * 1024,  /* The loop's one read buffer. */
  OUTPUT_BUFFER_BYTES = 64 * 1024, /* The loop's one response buffer. */
  /* A connection's partial head plus room to read the rest of it: the
   * parser refuses heads over HTTP_PARSER_DEFAULT_HEAD_BYTES, so a kept
   * head leaves at least that much room. */
  HEAD_BUFFER_BYTES = 2 * HTTP_PARSER_DEFAULT_HEAD_BYTES,
  WRITE_HIGH_BYTES = 64 * 1024, /* Stop reading at this much queued. */
  WRITE_LOW_BYTES = 16 * 1024,  /* Resume reading at this much. */
  LISTEN_BACKLOG = 4096,        /* Linux's default somaxconn. */
  DEFAULT_PORT = 8080,          /* When --port is not given. */
  DATE_BYTES = 29,              /* "Sun, 06 Nov 1994 08:49:37 GMT" */
  /* The longest response this file builds: headers, date and body. */
  RESPONSE_MAX_BYTES = 512,
};

/* The server: one per process. */
struct server {
  uv_loop_t *loop;                /* The loop. */
  uv_tcp_t listener;              /* The listening socket. */
  uv_signal_t sigint;             /* Clean shutdown on SIGINT. */
  uv_signal_t sigterm;            /* ... and on SIGTERM. */
  uint64_t date_expires_ms;       /* Loop time at which date goes stale. */
  char date[DATE_BYTES + 1];      /* The Date header's value, IMF-fixdate. */
  size_t output_len;              /* Bytes of responses in output. */
  char output[OUTPUT_BUFFER_BYTES]; /* Responses of the current read. */
  char buffer[READ_BUFFER_BYTES]; /* Every read lands here (but see head). */
};

/* What a request asked for, decided when its head is complete. */
enum route {
  ROUTE_HELLO,       /* GET or HEAD of "/". */
  ROUTE_NOT_ALLOWED, /* Another method on "/": 405. */
  ROUTE_NOT_FOUND,   /* Any other target: 404. */
};

/* A request head that a read ended inside of, kept for the next read. */
struct head {
  size_t len;                   /* Bytes of the head in data. */
  char data[HEAD_BUFFER_BYTES]; /* The head, then room for the next read. */
};

/* One connection. The TCP handle comes first: a handle pointer is a
 * connection pointer. */
struct conn {
  uv_tcp_t tcp;              /* The socket. */
  struct head *head;         /* A partial head between reads, or NULL. */
  enum route route;          /* The current request's route. */
  bool head_only;            /* The current request is HEAD. */
  bool closing;              /* A response ended the connection. */
  bool paused;               /* Reading stopped for backpressure. */
  struct http_parser parser; /* The request parser. */
};

/* The rest of a write the kernel did not take, copied. */
struct pending_write {
  uv_write_t req; /* The queued write. */
  char data[];    /* The bytes, req's buffer. */
};

static void conn_close_cb(uv_handle_t *handle) {
  struct conn *c = (struct conn *)handle;
  free(c->head);
  free(c);
}

static void conn_close(struct conn *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
}

static void conn_alloc(uv_handle_t *handle, size_t suggested_size,
                       uv_buf_t *buf) {
  struct conn *c = (struct conn *)handle;
  struct server *s = handle->loop->data;
  (void)suggested_size;
  if (c->head != NULL)
    *buf = uv_buf_init(c->head->data + c->head->len,
                       (unsigned int)(HEAD_BUFFER_BYTES - c->head->len));
  else
    *buf = uv_buf_init(s->buffer, sizeof(s->buffer));
}

static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void conn_write_done(uv_write_t *req, int status) {
  struct conn *c = (struct conn *)req->handle;
  free(req);
  if (status != 0 || uv_is_closing((uv_handle_t *)&c->tcp))
    return;
  if (c->paused && !c->closing &&
      uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) <=
          WRITE_LOW_BYTES) {
    c->paused = false;
    uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
  }
}

/* Queue bytes the kernel did not take, copied out of the loop's buffer. */
static int conn_queue(struct conn *c, const char *data, size_t len) {
  uv_stream_t *stream = (uv_stream_t *)&c->tcp;
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
  if (!c->paused &&
      uv_stream_get_write_queue_size(stream) >= WRITE_HIGH_BYTES) {
    c->paused = true;
    uv_read_stop(stream);
  }
  return 0;
}

/* Send the responses gathered in the loop's output buffer: one write,
 * tried at once; only the rest is queued. */
static int conn_flush(struct conn *c, struct server *s) {
  size_t len = s->output_len, done = 0;
  s->output_len = 0;
  if (len == 0)
    return 0;
  uv_stream_t *stream = (uv_stream_t *)&c->tcp;
  if (uv_stream_get_write_queue_size(stream) == 0) {
    uv_buf_t buf = uv_buf_init(s->output, (unsigned int)len);
    int n = uv_try_write(stream, &buf, 1);
    if (n < 0 && n != UV_EAGAIN)
      return n;
    done = n > 0 ? (size_t)n : 0;
  }
  return done == len ? 0 : conn_queue(c, s->output + done, len - done);
}

/* The Date header's value, reformatted when the second it names is over. */
static const char *server_date(struct server *s) {
  uint64_t now_ms = uv_now(s->loop);
  if (now_ms >= s->date_expires_ms) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(s->date, sizeof(s->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    s->date_expires_ms = now_ms + 1000 - (uint64_t)(ts.tv_nsec / 1000000);
  }
  return s->date;
}

static char *append(char *p, const char *text, size_t len) {
  memcpy(p, text, len);
  return p + len;
}

/* Append a NUL-terminated text (the compiler folds strlen of a literal). */
static inline char *append_text(char *p, const char *text) {
  return append(p, text, strlen(text));
}

/* Append one response to the loop's output buffer, writing the buffer out
 * first if it has no room left. */
static int conn_respond(struct conn *c, struct server *s, const char *status,
                        const char *body, size_t body_len) {
  if (OUTPUT_BUFFER_BYTES - s->output_len < RESPONSE_MAX_BYTES) {
    int rc = conn_flush(c, s);
    if (rc != 0)
      return rc;
  }
  char *p = s->output + s->output_len;
  p = append_text(p, "HTTP/1.1 ");
  p = append_text(p, status);
  p = append_text(p, "\r\nServer: axle\r\nDate: ");
  p = append(p, server_date(s), DATE_BYTES);
  p = append_text(p, "\r\nContent-Type: text/plain\r\nContent-Length: ");
  p += snprintf(p, 24, "%zu", body_len);
  if (c->closing)
    p = append_text(p, "\r\nConnection: close");
  else if (c->parser.request.version_minor == 0)
    p = append_text(p, "\r\nConnection: keep-alive");
  p = append_text(p, "\r\n\r\n");
  if (!c->head_only)
    p = append(p, body, body_len);
  s->output_len = (size_t)(p - s->output);
  return 0;
}

static const char hello_body[] = "Hello, World!";

/* Answer the request whose MESSAGE_DONE just came. */
static int conn_answer(struct conn *c, struct server *s) {
  c->closing = !c->parser.request.keep_alive;
  switch (c->route) {
  case ROUTE_HELLO:
    return conn_respond(c, s, "200 OK", hello_body, sizeof(hello_body) - 1);
  case ROUTE_NOT_ALLOWED:
    return conn_respond(c, s, "405 Method Not Allowed", "", 0);
  case ROUTE_NOT_FOUND:
  default:
    return conn_respond(c, s, "404 Not Found", "", 0);
  }
}

/* The head is complete: decide what the request gets. */
static void conn_route(struct conn *c) {
  const struct http_request *r = &c->parser.request;
  bool root = r->target.len == 1 && r->target.data[0] == '/';
  c->head_only = r->method_id == HTTP_METHOD_HEAD;
  if (!root)
    c->route = ROUTE_NOT_FOUND;
  else if (r->method_id == HTTP_METHOD_GET || c->head_only)
    c->route = ROUTE_HELLO;
  else
    c->route = ROUTE_NOT_ALLOWED;
}

/* The reason phrase of a status the parser can report. */
static const char *status_phrase(int status) {
  switch (status) {
  case 413:
    return "Content Too Large";
  case 414:
    return "URI Too Long";
  case 417:
    return "Expectation Failed";
  case 431:
    return "Request Header Fields Too Large";
  case 501:
    return "Not Implemented";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Bad Request";
  }
}

/* The parser refused the request: answer its status, with its reason as
 * the body, then close. */
static int conn_reject(struct conn *c, struct server *s) {
  char status[64];
  c->closing = true;
  c->head_only = false;
  snprintf(status, sizeof(status), "%d %s", c->parser.error_status,
           status_phrase(c->parser.error_status));
  return conn_respond(c, s, status, c->parser.error_reason,
                      strlen(c->parser.error_reason));
}

/* Keep the bytes of a request head the read ended inside of, from start
 * to end, at the front of the connection's own head buffer. */
static int conn_keep_head(struct conn *c, const char *start, const char *end) {
  size_t len = (size_t)(end - start);
  if (c->head == NULL) {
    c->head = malloc(sizeof(*c->head));
    if (c->head == NULL)
      return UV_ENOMEM;
  }
  memmove(c->head->data, start, len);
  c->head->len = len;
  return 0;
}

/* Feed one read to the parser and answer every request it completes.
 * data[0..len) are the new bytes; start is where the current request
 * began (before data when a partial head was kept). */
static int conn_parse(struct conn *c, struct server *s, const char *start,
                      const char *data, size_t len) {
  size_t off = 0;
  int rc = 0;
  while (rc == 0 && !c->closing) {
    size_t used = 0;
    enum http_parse_result r =
        http_parser_feed(&c->parser, data + off, len - off, &used);
    off += used;
    if (r == HTTP_PARSE_NEED_MORE)
      break;
    if (r == HTTP_PARSE_HEADERS_DONE) {
      conn_route(c);
      start = NULL; /* The head is no longer needed. */
    } else if (r == HTTP_PARSE_MESSAGE_DONE) {
      rc = conn_answer(c, s);
      start = data + off; /* The next request begins here. */
    } else if (r == HTTP_PARSE_ERROR) {
      rc = conn_reject(c, s);
    }
  }
  if (rc != 0 || c->closing || start == NULL || start == data + len) {
    free(c->head);
    c->head = NULL;
    return rc;
  }
  if (c->head != NULL && start == c->head->data) {
    c->head->len += len; /* The head grew in place. */
    return 0;
  }
  return conn_keep_head(c, start, data + len);
}

static void conn_shutdown_done(uv_shutdown_t *req, int status) {
  (void)status;
  conn_close((struct conn *)req->handle);
  free(req);
}

/* The last response is written or queued: shut the write side down once
 * the queue drains, then close. */
static void conn_end(struct conn *c) {
  uv_shutdown_t *req = malloc(sizeof(*req));
  uv_read_stop((uv_stream_t *)&c->tcp);
  if (req == NULL ||
      uv_shutdown(req, (uv_stream_t *)&c->tcp, conn_shutdown_done) != 0) {
    free(req);
    conn_close(c);
  }
}

static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  struct conn *c = (struct conn *)stream;
  struct server *s = stream->loop->data;
  if (nread == 0)
    return;
  if (nread < 0) {
    conn_close(c); /* EOF or an error: nothing is owed to a gone peer. */
    return;
  }
  const char *start = c->head != NULL ? c->head->data : buf->base;
  int rc = conn_parse(c, s, start, buf->base, (size_t)nread);
  if (rc == 0)
    rc = conn_flush(c, s);
  s->output_len = 0;
  if (rc != 0)
    conn_close(c);
  else if (c->closing)
    conn_end(c);
}

static void on_connection(uv_stream_t *listener, int status) {
  if (status != 0)
    return; /* Out of descriptors, say: the next connection may do. */
  struct conn *c = malloc(sizeof(*c));
  if (c == NULL)
    return;
  uv_tcp_init(listener->loop, &c->tcp);
  c->head = NULL;
  c->closing = false;
  c->paused = false;
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c);
    return;
  }
  http_parser_init(&c->parser, NULL);
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
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
    fprintf(stderr, "http-uv: %s:%d: %s\n", host, port, uv_strerror(rc));
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
  int threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--host") == 0)
      host = argv[i + 1];
    else if (strcmp(argv[i], "--port") == 0)
      port = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--threads") == 0)
      threads = atoi(argv[i + 1]);
  }
  if (argc % 2 == 0 || threads != 1) {
    fprintf(stderr, "usage: http-uv [--host H] [--port P] [--threads 1]\n");
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
