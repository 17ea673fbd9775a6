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
 * How it serves it follows the axle server (examples/http-server/server.c)
 * choice for choice, so that a read costs both the same work:
 * - Reads land in one buffer per loop, handed out by the alloc callback,
 *   and requests that arrive whole in one read are parsed by one parser
 *   per loop: an idle connection holds no buffer and no parser. Only a
 *   read that ends inside a request gives the connection a struct
 *   conn_input (a parser, and the partial head), and the next read lands
 *   right after the kept bytes, because the parser needs a head
 *   contiguous (http-parser.h).
 * - Every request a read completes is answered into one output buffer per
 *   loop, and the answers go out in ONE write at the end of the read
 *   callback (pipelining: 16 requests in one read, one write of 16
 *   responses). The write is tried with uv_try_write(); only what the
 *   kernel did not take is copied and queued. (Should the output buffer
 *   fill up inside one read, it is written out and reused.)
 * - The Date header is formatted once per second of loop time. (The
 *   axle server also keeps its whole "/" response until the Date changes;
 *   this one formats each response, as a plain libuv server would, so
 *   that the comparison is against that. docs/performance.md says so.)
 * - One timer per connection, restarted after each read with the timeout
 *   the connection's state calls for: header (from a request's first
 *   byte), body (between reads of a body), idle (between requests).
 * - Keep-alive as the parser decides it. After a response that ends the
 *   connection, the write side is shut down once the queue drains and
 *   what the client still sends is read and dropped until it closes (a
 *   lingering close, so that unread bytes do not reset the connection
 *   before the client has the answer), for at most LINGER_TIMEOUT_MS.
 * - Backpressure as in bench/net/echo-uv.c: reading stops while more than
 *   WRITE_HIGH_BYTES wait in the write queue and resumes at
 *   WRITE_LOW_BYTES (libuv has no water-mark callback, so the queue size
 *   is checked after each write). Nagle is off.
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
  READ_BUFFER_BYTES = 64 * 1024,   /* The loop's one read buffer. */
  OUTPUT_BUFFER_BYTES = 64 * 1024, /* The loop's one response buffer. */
  INPUT_READ_BYTES = 4096,         /* Room to read after a kept head. */
  WRITE_HIGH_BYTES = 256 * 1024,   /* Stop reading at this much queued. */
  WRITE_LOW_BYTES = 64 * 1024,     /* Resume reading at this much. */
  LINGER_DISCARD_BYTES = 1 << 20,  /* The most read and dropped at close. */
  LISTEN_BACKLOG = 4096,           /* Linux's default somaxconn. */
  DEFAULT_PORT = 8080,             /* When --port is not given. */
  DATE_BYTES = 29,                 /* "Sun, 06 Nov 1994 08:49:37 GMT" */
  /* The longest response this file builds: headers, date and body. */
  RESPONSE_MAX_BYTES = 512,
};

/* Timeouts, in milliseconds of loop time: the axle server's defaults. */
static const uint64_t HEADER_TIMEOUT_MS = 10 * 1000; /* First byte to head. */
static const uint64_t BODY_TIMEOUT_MS = 10 * 1000;   /* Between body reads. */
static const uint64_t IDLE_TIMEOUT_MS = 30 * 1000;   /* Between requests. */
static const uint64_t LINGER_TIMEOUT_MS = 2 * 1000;  /* Reading at close. */

/* The server: one per process. */
struct server {
  uv_loop_t *loop;                  /* The loop. */
  uv_tcp_t listener;                /* The listening socket. */
  uv_signal_t sigint;               /* Clean shutdown on SIGINT. */
  uv_signal_t sigterm;              /* ... and on SIGTERM. */
  struct http_parser parser;        /* Parses the requests that fit one read. */
  bool parser_clean;                /* parser is between two requests. */
  uint64_t date_expires_ms;         /* Loop time at which date goes stale. */
  char date[DATE_BYTES + 1];        /* The Date header's value, IMF-fixdate. */
  size_t output_len;                /* Bytes of responses in output. */
  char output[OUTPUT_BUFFER_BYTES]; /* Responses of the current read. */
  char buffer[READ_BUFFER_BYTES];   /* Every read that keeps nothing. */
};

/* Where a connection is. */
enum conn_state {
  CONN_NEW,    /* Accepted; no byte of the first request yet. */
  CONN_IDLE,   /* Between requests (keep-alive). */
  CONN_HEAD,   /* Reading a request's head. */
  CONN_BODY,   /* Reading its body. */
  CONN_LINGER, /* The last answer is out or queued; input is dropped. */
};

/* What a request asked for, decided when its head is complete. */
enum route {
  ROUTE_HELLO,       /* GET or HEAD of "/". */
  ROUTE_NOT_ALLOWED, /* Another method on "/": 405. */
  ROUTE_NOT_FOUND,   /* Any other target: 404. */
};

/* What a connection keeps between two reads. */
struct conn_input {
  struct http_parser parser; /* Its parser, mid-request. */
  size_t len;                /* Bytes of a partial head at data. */
  size_t cap;                /* Room at data. */
  char data[];               /* The head so far, then room to read. */
};

/* One connection: while idle, only this. */
struct conn {
  uv_tcp_t tcp;             /* The socket. */
  uv_timer_t timer;         /* The timeout of the current state. */
  struct conn_input *input; /* A parser and a partial head, or NULL. */
  enum conn_state state;    /* See enum conn_state. */
  enum route route;         /* The current request's route. */
  size_t discarded;         /* Bytes dropped while lingering. */
  int handles_open;         /* tcp and timer, until both closed. */
  bool head_began;          /* This read began a head after an idle
                               wait: its header timeout starts. */
  bool head_only;           /* The current request is HEAD. */
  bool keep_alive;          /* The client allows another request. */
  bool http10;              /* HTTP/1.0: say "keep-alive" to keep. */
  bool paused;              /* Reading stopped for backpressure. */
  bool closing;             /* uv_close() has been called. */
};

/* The rest of a write the kernel did not take, copied. */
struct pending_write {
  uv_write_t req; /* The queued write. */
  char data[];    /* The bytes, req's buffer. */
};

static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void conn_closed(uv_handle_t *handle) {
  struct conn *c = handle->data;
  if (--c->handles_open > 0)
    return;
  free(c->input);
  free(c);
}

static void conn_close(struct conn *c) {
  if (c->closing)
    return;
  c->closing = true;
  c->handles_open = 2;
  uv_close((uv_handle_t *)&c->timer, conn_closed);
  uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void conn_alloc(uv_handle_t *handle, size_t suggested_size,
                       uv_buf_t *buf) {
  struct conn *c = handle->data;
  struct conn_input *in = c->input;
  (void)suggested_size;
  if (in != NULL && in->len > 0) {
    *buf = uv_buf_init(in->data + in->len, (unsigned int)(in->cap - in->len));
  } else {
    struct server *s = handle->loop->data;
    *buf = uv_buf_init(s->buffer, sizeof(s->buffer));
  }
}

/* -- Output ------------------------------------------------------------ */

static void conn_write_done(uv_write_t *req, int status) {
  struct conn *c = req->handle->data;
  free(req);
  if (status != 0 || c->closing)
    return;
  if (c->paused && uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) <=
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
  if (len == 0 || c->closing)
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

/* Append a number in decimal. */
static char *append_number(char *p, size_t value) {
  char digits[20];
  size_t n = 0;
  do {
    digits[sizeof(digits) - ++n] = (char)('0' + value % 10);
    value /= 10;
  } while (value > 0);
  return append(p, digits + sizeof(digits) - n, n);
}

/* Append one response to the loop's output buffer, writing the buffer out
 * first if it has no room left. status is "200 OK" and the like. */
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
  p = append_number(p, body_len);
  if (!c->keep_alive)
    p = append_text(p, "\r\nConnection: close");
  else if (c->http10)
    p = append_text(p, "\r\nConnection: keep-alive");
  p = append_text(p, "\r\n\r\n");
  if (!c->head_only)
    p = append(p, body, body_len);
  s->output_len = (size_t)(p - s->output);
  return 0;
}

/* -- Requests ---------------------------------------------------------- */

static const char hello_body[] = "Hello, World!";

/* The head is complete: decide what the request gets. */
static void conn_route(struct conn *c, const struct http_request *r) {
  bool root = r->target.len == 1 && r->target.data[0] == '/';
  c->head_only = r->method_id == HTTP_METHOD_HEAD;
  c->keep_alive = r->keep_alive;
  c->http10 = r->version_minor == 0;
  if (!root)
    c->route = ROUTE_NOT_FOUND;
  else if (r->method_id == HTTP_METHOD_GET || c->head_only)
    c->route = ROUTE_HELLO;
  else
    c->route = ROUTE_NOT_ALLOWED;
}

/* Answer the request whose MESSAGE_DONE just came. */
static int conn_answer(struct conn *c, struct server *s) {
  c->state = c->keep_alive ? CONN_IDLE : CONN_LINGER;
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
static int conn_reject(struct conn *c, struct server *s,
                       const struct http_parser *p) {
  char status[64];
  c->state = CONN_LINGER;
  c->keep_alive = false;
  c->head_only = false;
  snprintf(status, sizeof(status), "%d %s", p->error_status,
           status_phrase(p->error_status));
  return conn_respond(c, s, status, p->error_reason, strlen(p->error_reason));
}

/* The parser for the next bytes: the connection's own mid-request, else
 * the loop's, clean. */
static struct http_parser *conn_parser(struct conn *c, struct server *s) {
  if (c->input != NULL)
    return &c->input->parser;
  if (!s->parser_clean) {
    http_parser_init(&s->parser, NULL);
    s->parser_clean = true;
  }
  return &s->parser;
}

/* Keep len bytes at src at the front of the connection's input, with
 * room bytes free after them; the parser goes along when the input is
 * new. */
static int conn_keep_bytes(struct conn *c, const struct http_parser *p,
                           const char *src, size_t len, size_t room) {
  struct conn_input *in = c->input;
  if (in == NULL || in->cap < len + room) {
    size_t cap = in != NULL && in->cap * 2 > len + room ? in->cap * 2
                                                        : len + room;
    size_t src_off = in != NULL && src != NULL ? (size_t)(src - in->data) : 0;
    bool inside = in != NULL && src >= in->data && src <= in->data + in->len;
    struct conn_input *grown = realloc(in, sizeof(*grown) + cap);
    if (grown == NULL)
      return UV_ENOMEM;
    if (in == NULL)
      grown->parser = *p; /* Offsets only, no pointers: a copy moves it. */
    if (inside)
      src = grown->data + src_off;
    in = grown;
    in->cap = cap;
    c->input = in;
  }
  if (len > 0)
    memmove(in->data, src, len);
  in->len = len;
  return 0;
}

/* After parsing: keep what the next read needs. */
static int conn_keep(struct conn *c, struct server *s, struct http_parser *p,
                     const char *data, size_t len, size_t start) {
  if (p == &s->parser)
    s->parser_clean = c->state == CONN_IDLE;
  if (c->state == CONN_HEAD) /* The head so far, and room for more. */
    return conn_keep_bytes(c, p, data + start, len - start, INPUT_READ_BYTES);
  if (c->state == CONN_BODY) /* The parser only. */
    return conn_keep_bytes(c, p, NULL, 0, 0);
  free(c->input);
  c->input = NULL;
  return 0;
}

/* Parse data[fed..len) (data[0..fed) is a head the parser has seen) and
 * answer each request, until the bytes run out or the connection is to
 * close. */
static int conn_consume(struct conn *c, struct server *s, const char *data,
                        size_t len, size_t fed) {
  struct http_parser *p = conn_parser(c, s);
  size_t off = fed, start = 0;
  int rc = 0;
  while (rc == 0 && c->state != CONN_LINGER) {
    size_t used = 0;
    enum http_parse_result r = http_parser_feed(p, data + off, len - off,
                                                &used);
    off += used;
    if (used > 0 && (c->state == CONN_NEW || c->state == CONN_IDLE)) {
      c->head_began = c->state == CONN_IDLE; /* NEW's runs from accept. */
      c->state = CONN_HEAD;
    }
    if (r == HTTP_PARSE_NEED_MORE)
      break;
    if (r == HTTP_PARSE_HEADERS_DONE) {
      c->state = CONN_BODY;
      conn_route(c, &p->request);
    } else if (r == HTTP_PARSE_MESSAGE_DONE) {
      rc = conn_answer(c, s);
      start = off; /* The next request begins here. */
    } else if (r == HTTP_PARSE_ERROR) {
      rc = conn_reject(c, s, p);
    }
  }
  int kept = conn_keep(c, s, p, data, len, start);
  return rc != 0 ? rc : kept;
}

/* -- After each read ------------------------------------------------ */

static void conn_timeout(uv_timer_t *timer) {
  /* Too slow a head or body, an idle keep-alive, or the end of a linger:
   * close. (The axle server answers a slow head or body with 408 first;
   * no benchmark run comes near a timeout.) */
  conn_close(timer->data);
}

static void conn_shutdown_done(uv_shutdown_t *req, int status) {
  struct conn *c = req->handle->data;
  free(req);
  if (c->closing)
    return;
  if (status != 0)
    conn_close(c);
  else
    uv_timer_start(&c->timer, conn_timeout, LINGER_TIMEOUT_MS, 0);
}

/* The last answer is out or queued: shut our side once it is written,
 * and read what the client still sends until it closes. */
static void conn_linger(struct conn *c) {
  free(c->input);
  c->input = NULL;
  uv_shutdown_t *req = malloc(sizeof(*req));
  if (req == NULL ||
      uv_shutdown(req, (uv_stream_t *)&c->tcp, conn_shutdown_done) != 0) {
    free(req);
    conn_close(c);
  }
}

/* Restart the timer for the state a read left the connection in. */
static void conn_update_timer(struct conn *c) {
  bool head_began = c->head_began;
  c->head_began = false;
  switch (c->state) {
  case CONN_IDLE:
    uv_timer_start(&c->timer, conn_timeout, IDLE_TIMEOUT_MS, 0);
    break;
  case CONN_HEAD: /* From the head's first byte, not restarted by more. */
    if (head_began)
      uv_timer_start(&c->timer, conn_timeout, HEADER_TIMEOUT_MS, 0);
    break;
  case CONN_BODY:
    uv_timer_start(&c->timer, conn_timeout, BODY_TIMEOUT_MS, 0);
    break;
  default: /* NEW: set at accept. LINGER: once the shutdown is done. */
    break;
  }
}

static void conn_read_end(struct conn *c, ssize_t err) {
  if (err == UV_EOF && (c->state == CONN_NEW || c->state == CONN_IDLE) &&
      uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > 0) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->state = CONN_LINGER; /* Answers still queued: send them first. */
    conn_linger(c);
    return;
  }
  conn_close(c); /* Nothing owed, a reset, a request cut short, or the
                    end of a linger. */
}

static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  struct conn *c = stream->data;
  struct server *s = stream->loop->data;
  if (nread < 0) {
    conn_read_end(c, nread);
    return;
  }
  if (nread == 0 || c->closing)
    return;
  if (c->state == CONN_LINGER) { /* Dropped, up to a limit. */
    c->discarded += (size_t)nread;
    if (c->discarded > LINGER_DISCARD_BYTES)
      conn_close(c);
    return;
  }
  int rc;
  struct conn_input *in = c->input;
  if (in != NULL && in->len > 0) { /* Read right after a kept head. */
    size_t fed = in->len;
    in->len += (size_t)nread;
    rc = conn_consume(c, s, in->data, in->len, fed);
  } else {
    rc = conn_consume(c, s, buf->base, (size_t)nread, 0);
  }
  if (rc == 0)
    rc = conn_flush(c, s);
  s->output_len = 0;
  if (rc != 0)
    conn_close(c);
  else if (c->state == CONN_LINGER)
    conn_linger(c);
  else
    conn_update_timer(c);
}

static void on_connection(uv_stream_t *listener, int status) {
  if (status != 0)
    return; /* Out of descriptors, say: the next connection may do. */
  struct conn *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return;
  uv_tcp_init(listener->loop, &c->tcp);
  uv_timer_init(listener->loop, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  c->state = CONN_NEW;
  uv_timer_start(&c->timer, conn_timeout, HEADER_TIMEOUT_MS, 0);
  if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read) != 0)
    conn_close(c);
}

/* Close every handle: each connection closes its own two, the server's
 * own handles live in struct server. */
static void close_one(uv_handle_t *handle, void *arg) {
  struct server *s = arg;
  if (uv_is_closing(handle))
    return;
  bool own = handle == (uv_handle_t *)&s->listener ||
             handle == (uv_handle_t *)&s->sigint ||
             handle == (uv_handle_t *)&s->sigterm;
  if (own)
    uv_close(handle, NULL);
  else
    conn_close(handle->data);
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
  /* A write to a connection the client has reset must fail with EPIPE,
   * not kill the process: libuv leaves SIGPIPE to the program. */
  signal(SIGPIPE, SIG_IGN);
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
