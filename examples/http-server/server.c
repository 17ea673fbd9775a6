/*
 * server.c: the connections of the HTTP server example, from accept to
 * close. main.c starts one struct server per loop; routes.c answers.
 *
 * A connection moves through these states (enum conn_state):
 *
 *   NEW ---first byte---> HEAD ---head done---> BODY ---message done--+
 *    ^                     ^                                          |
 *    |        IDLE --------+        the route answers at once: IDLE <-+
 *    |                              the route answers later:   BUSY --+
 *    |                              the answer closes:       LINGER   |
 *   accept                          BUSY ---answer written---> IDLE <-+
 *
 * What memory it holds in each: only struct conn while NEW or IDLE; a
 * struct conn_input (a parser, and the bytes it must keep) while a
 * request spans reads or waits behind a BUSY one. Reads land in the
 * loop's one buffer unless bytes are kept, and then right after them,
 * which is how the parser's rule that a head be contiguous is kept.
 * Requests that arrive whole in one read are parsed by the loop's own
 * parser and never allocate.
 *
 * Output: every response produced while one read is parsed (pipelined
 * requests included) is appended to the loop's output buffer, which goes
 * out with one ax_try_write() at the end of that read; only what the
 * kernel does not take is copied and queued. A response reserves room
 * once and then writes its pieces; one that changes only with the Date
 * (routes.c's "/") is kept whole and copied (response_cached). An
 * asynchronous route (a file, /delay, /hash) stops parsing until it has
 * answered, so that answers stay in order; the bytes behind it wait in
 * conn_input.
 *
 * Timeouts: one timer per connection, whose meaning follows the state
 * (conn_update_timer): the header timeout runs from a request's first
 * byte to the end of its head and is not restarted by later bytes (so a
 * client that trickles a head gets 408 on time); the body timeout
 * between two reads of a body; the idle timeout between requests; the
 * send timeout while a response makes no progress.
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#endif /* _WIN32 */

enum {
  LISTEN_BACKLOG = 4096,          /* Linux's default somaxconn. */
  WRITE_HIGH_BYTES = 256 * 1024,  /* Stop reading at this much queued... */
  WRITE_LOW_BYTES = 64 * 1024,    /* ...and resume once drained to this. */
  INPUT_READ_BYTES = 4096,        /* Room to read after a kept head. */
  OUT_INITIAL_BYTES = 16 * 1024,  /* The output buffer's first size. */
  UINT64_DIGITS = 20,             /* The longest uint64_t in decimal. */
  LINGER_DISCARD_BYTES = 1 << 20, /* The most read and dropped at close. */
  MAX_REJECTING = 256,            /* 503s being written at once. */
};

/* Where a connection is; see the diagram at the top. */
enum conn_state {
  CONN_NEW,    /* Accepted; no byte of the first request yet. */
  CONN_IDLE,   /* Between requests (keep-alive). */
  CONN_HEAD,   /* Reading a request's head. */
  CONN_BODY,   /* Reading its body. */
  CONN_BUSY,   /* A route is answering; parsing waits. */
  CONN_LINGER, /* The last answer is written; what comes is dropped. */
  CONN_RESTART /* Not a state: conn_update_timer() restarts any timer. */
};

/* What a connection keeps between two reads. */
struct conn_input {
  struct http_parser parser; /* Its parser, mid-request. */
  size_t len;                /* Bytes kept at data. */
  size_t cap;                /* Room at data. */
  char data[];               /* A partial head (fed to the parser), or the
                                requests behind a BUSY one (not fed). */
};

/* The part of a response the kernel did not take, copied. */
struct pending_write {
  ax_write_t req; /* The queued write. */
  char data[];    /* Its bytes. */
};

static void conn_read(ax_stream_t *stream, ptrdiff_t nread,
                      const ax_buf_t *buf);
static void conn_settle(struct conn *c, int prev);

static struct conn *conn_of_stream(ax_stream_t *stream) {
  return ax_container_of(stream, struct conn, tcp.stream);
}

/* -- Closing -------------------------------------------------------- */

static void server_finish(struct server *s) {
  kv_routes_close(s);
  if (!ax_is_closing(&s->grace.handle))
    ax_close(&s->grace.handle, NULL);
}

static void conn_closed(ax_handle_t *handle) {
  struct conn *c = handle->data;
  if (--c->handles_open > 0)
    return;
  struct server *s = c->server;
  route_free(c);
  free(c->input);
  free(c);
  if (--s->connections == 0 && s->draining)
    server_finish(s);
}

/* The socket is closed here, so it stops counting against the limit here
 * too: a client that saw it close may connect again before the close
 * callbacks have run. */
static void conn_close_handles(struct conn *c) {
  struct config *cfg = c->server->config;
  if (c->req.route == ROUTE_REJECTED)
    atomic_fetch_sub(&cfg->rejecting, 1);
  else
    atomic_fetch_sub(&cfg->connections, 1);
  c->handles_open = 2;
  c->timer.handle.data = c;
  c->tcp.stream.handle.data = c;
  ax_close(&c->timer.handle, conn_closed);
  ax_close(&c->tcp.stream.handle, conn_closed);
}

/* Close without another word. A file or pool job that refers to the
 * connection (and to its socket: sendfile writes to it) holds the close
 * back until it completes, so that the descriptor is not reused under
 * it. */
void conn_abort(struct conn *c) {
  if (c->closing)
    return;
  c->closing = true;
  c->server->out_len = 0; /* Whatever this connection had built. */
  ax_read_stop(&c->tcp.stream);
  ax_timer_stop(&c->timer);
  if (c->pending == 0)
    conn_close_handles(c);
}

/* A pool request of a route completed: true if the connection is closing
 * and the route must stop there. */
bool conn_pending_end(struct conn *c) {
  c->pending--;
  if (!c->closing)
    return false;
  if (c->pending == 0)
    conn_close_handles(c);
  return true;
}

/* -- Output ----------------------------------------------------------- */

/* Room for @p len more bytes in the output buffer: where they go, or NULL.
 * A response checks once for all its pieces, then writes them with the
 * put functions below, which check nothing. */
static char *out_reserve(struct server *s, size_t len) {
  if (s->out_cap - s->out_len < len) {
    size_t cap = s->out_cap > 0 ? s->out_cap : OUT_INITIAL_BYTES;
    while (cap - s->out_len < len)
      cap *= 2;
    char *grown = realloc(s->out, cap);
    if (grown == NULL)
      return NULL;
    s->out = grown;
    s->out_cap = cap;
  }
  return s->out + s->out_len;
}

/* The reserved bytes up to @p end are written: they are output now. */
static void out_commit(struct server *s, const char *end) {
  s->out_len = (size_t)(end - s->out);
}

static bool out_put(struct server *s, const char *data, size_t len) {
  char *p = out_reserve(s, len);
  if (p == NULL)
    return false;
  memcpy(p, data, len);
  s->out_len += len;
  return true;
}

static bool out_str(struct server *s, const char *text) {
  return out_put(s, text, strlen(text));
}

static char *put(char *p, const char *data, size_t len) {
  memcpy(p, data, len);
  return p + len;
}

static char *put_str(char *p, const char *text) {
  return put(p, text, strlen(text));
}

static char *put_u64(char *p, uint64_t value) {
  char digits[UINT64_DIGITS];
  size_t n = 0;
  do {
    digits[sizeof(digits) - ++n] = (char)('0' + value % 10);
    value /= 10;
  } while (value > 0);
  return put(p, digits + sizeof(digits) - n, n);
}

static const char *status_reason(int status) {
  switch (status) {
  case 100:
    return "Continue";
  case 200:
    return "OK";
  case 206:
    return "Partial Content";
  case 304:
    return "Not Modified";
  case 400:
    return "Bad Request";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 412:
    return "Precondition Failed";
  case 413:
    return "Content Too Large";
  case 414:
    return "URI Too Long";
  case 416:
    return "Range Not Satisfiable";
  case 417:
    return "Expectation Failed";
  case 431:
    return "Request Header Fields Too Large";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Internal Server Error";
  }
}

/* The Date value changes once a second; making it costs a time() and a
 * conversion, so it is made at most once per second of loop time. */
static const char *server_date(struct server *s) {
  uint64_t second = ax_now(&s->loop) / 1000;
  if (s->date[0] == '\0' || second != s->date_second) {
    http_date_format((int64_t)time(NULL), s->date);
    s->date_second = second;
  }
  return s->date;
}

/* The status line and the fields every response has. @p length is
 * UINT64_MAX for none (304). Decides, once for all, whether the
 * connection closes after this response. */
bool response_head(struct conn *c, int status, const char *type,
                   uint64_t length) {
  struct server *s = c->server;
  struct request *q = &c->req;
  q->close = q->close || !q->keep_alive || s->draining;
  const char *reason = status_reason(status);
  const char *date = server_date(s);
  size_t type_len = type != NULL ? strlen(type) : 0;
  /* At most every piece below, each number at its longest. */
  size_t most = sizeof("HTTP/1.1  \r\nServer: axle\r\nDate: \r\n") +
                sizeof("Content-Type: \r\nContent-Length: \r\n") +
                sizeof("Connection: keep-alive\r\n") + 2 * UINT64_DIGITS +
                strlen(reason) + strlen(date) + type_len;
  char *p = out_reserve(s, most);
  if (p == NULL)
    return false;
  p = put_str(p, "HTTP/1.1 ");
  p = put_u64(p, (uint64_t)status);
  p = put_str(p, " ");
  p = put_str(p, reason);
  p = put_str(p, "\r\nServer: axle\r\nDate: ");
  p = put_str(p, date);
  p = put_str(p, "\r\n");
  if (type != NULL) {
    p = put_str(p, "Content-Type: ");
    p = put(p, type, type_len);
    p = put_str(p, "\r\n");
  }
  if (length != UINT64_MAX) {
    p = put_str(p, "Content-Length: ");
    p = put_u64(p, length);
    p = put_str(p, "\r\n");
  }
  if (q->close)
    p = put_str(p, "Connection: close\r\n");
  else if (q->http10)
    p = put_str(p, "Connection: keep-alive\r\n");
  out_commit(s, p);
  return true;
}

bool response_field(struct conn *c, const char *name, const char *value) {
  struct server *s = c->server;
  size_t name_len = strlen(name), value_len = strlen(value);
  char *p = out_reserve(s, name_len + value_len + sizeof(": \r\n"));
  if (p == NULL)
    return false;
  p = put(p, name, name_len);
  p = put_str(p, ": ");
  p = put(p, value, value_len);
  p = put_str(p, "\r\n");
  out_commit(s, p);
  return true;
}

bool response_end(struct conn *c) {
  return out_str(c->server, "\r\n");
}

/* A response that differs from one request to the next only in its
 * Date: made by @p make once, kept, and then copied whole until the Date
 * changes (once a second). Only the usual form is kept, the one for a
 * keep-alive HTTP/1.1 GET; HEAD, HTTP/1.0, a closing answer and a draining
 * server change its fields, and get one made afresh. */
bool response_cached(struct conn *c, struct response_cache *cache,
                     bool (*make)(struct conn *c)) {
  struct server *s = c->server;
  const struct request *q = &c->req;
  if (q->head || q->http10 || q->close || !q->keep_alive || s->draining)
    return make(c);
  server_date(s); /* Refreshed first, so that it is the one compared. */
  if (cache->len > 0 && cache->date_second == s->date_second)
    return out_put(s, cache->data, cache->len);
  size_t start = s->out_len;
  if (!make(c))
    return false;
  size_t len = s->out_len - start;
  cache->len = len <= sizeof(cache->data) ? len : 0; /* Else not kept. */
  memcpy(cache->data, s->out + start, cache->len);
  cache->date_second = s->date_second;
  return true;
}

/* The body, unless the request was HEAD. */
bool response_body(struct conn *c, const char *data, size_t len) {
  return c->req.head || out_put(c->server, data, len);
}

/* A whole short response with a text body. */
bool response_text(struct conn *c, int status, const char *text) {
  size_t len = strlen(text);
  return response_head(c, status, "text/plain; charset=utf-8", len) &&
         response_end(c) && response_body(c, text, len);
}

static void conn_write_done(ax_write_t *req, int status) {
  struct conn *c = conn_of_stream(req->handle);
  free(ax_container_of(req, struct pending_write, req));
  if (c->closing || status == AX_ECANCELED)
    return;
  if (status < 0) {
    conn_abort(c);
    return;
  }
  if (c->waiting_drain && ax_stream_get_write_queue_size(&c->tcp.stream) == 0) {
    c->waiting_drain = false;
    route_drained(c);
  }
}

static void conn_update_timer(struct conn *c, int prev);
static void conn_update_reading(struct conn *c);
static void conn_resume(struct conn *c, int prev);

/* Backpressure: a client that sends requests faster than it reads the
 * answers stops being read while WRITE_HIGH_BYTES wait for it. A route
 * that is answering keeps its own timer; a lingering connection only
 * reads again. */
static void conn_water(ax_stream_t *stream, bool above) {
  struct conn *c = conn_of_stream(stream);
  c->water_above = above;
  if (above || c->state == CONN_LINGER) {
    conn_update_reading(c);
    conn_update_timer(c, CONN_RESTART);
  } else if (c->state != CONN_BUSY) {
    conn_resume(c, CONN_RESTART);
  }
}

/* Copy and queue what the kernel did not take. Water marks cost a small
 * allocation: only connections that queue get them. */
static int conn_queue(struct conn *c, const char *data, size_t len) {
  if (!c->water_marks) {
    int rc = ax_stream_set_water_marks(&c->tcp.stream, WRITE_LOW_BYTES,
                                       WRITE_HIGH_BYTES, conn_water);
    if (rc != 0)
      return rc;
    c->water_marks = true;
  }
  struct pending_write *w = malloc(sizeof(*w) + len);
  if (w == NULL)
    return AX_ENOMEM;
  memcpy(w->data, data, len);
  ax_buf_t buf = ax_buf_init(w->data, len);
  int rc = ax_write(&w->req, &c->tcp.stream, &buf, 1, conn_write_done);
  if (rc != 0)
    free(w);
  return rc;
}

/* Send what was built for this connection: one system call when the
 * kernel takes it all, which is the usual case. */
int conn_flush(struct conn *c) {
  struct server *s = c->server;
  size_t len = s->out_len;
  s->out_len = 0;
  if (len == 0 || c->closing)
    return 0;
  ax_buf_t buf = ax_buf_init(s->out, len);
  int n = ax_try_write(&c->tcp.stream, &buf, 1);
  if (n < 0 && n != AX_EAGAIN)
    return n;
  size_t done = n > 0 ? (size_t)n : 0;
  return done == len ? 0 : conn_queue(c, s->out + done, len - done);
}

/* A route that writes from its own memory after what was flushed (a
 * file's sendfile) waits for the queue to empty: route_drained(). An
 * empty write marks the end, so that a callback says when: what
 * ax_try_write() took may still be on its way to the kernel without a
 * write of ours (io_uring sends it with the loop's next system call). */
void conn_wait_drain(struct conn *c) {
  if (ax_stream_get_write_queue_size(&c->tcp.stream) == 0) {
    route_drained(c);
    return;
  }
  c->waiting_drain = true;
  if (conn_queue(c, c->server->out, 0) != 0)
    conn_abort(c);
}

/* -- Timers and reading ------------------------------------------------ */

static void conn_timeout(ax_timer_t *timer) {
  struct conn *c = ax_container_of(timer, struct conn, timer);
  int prev = c->state;
  if (c->water_above || (prev != CONN_HEAD && prev != CONN_BODY)) {
    conn_abort(c); /* Idle, not reading our answers, or lingering. */
    return;
  }
  /* A head or body that is too slow: say so, then close. */
  c->req.close = true;
  if (!response_text(c, 408, "Request Timeout\n")) {
    conn_abort(c);
    return;
  }
  c->state = CONN_LINGER;
  conn_settle(c, prev);
}

static void conn_timer_start(struct conn *c, uint64_t timeout_ms) {
  ax_timer_start(&c->timer, conn_timeout, timeout_ms, 0);
}

/* What the timer means follows the state; see the top of the file. */
static void conn_update_timer(struct conn *c, int prev) {
  const struct config *cfg = c->server->config;
  bool head_began = c->head_began;
  c->head_began = false;
  if (c->state == CONN_BUSY)
    return; /* The route's: /delay's wait, a file's progress. */
  if (c->water_above) {
    conn_timer_start(c, cfg->send_timeout_ms);
    return;
  }
  switch (c->state) {
  case CONN_IDLE:
    conn_timer_start(c, cfg->idle_timeout_ms);
    break;
  case CONN_HEAD: /* From the request's first byte (or the accept). */
    if (head_began || prev == CONN_RESTART)
      conn_timer_start(c, cfg->header_timeout_ms);
    break;
  case CONN_BODY: /* Between two reads. */
    conn_timer_start(c, cfg->body_timeout_ms);
    break;
  case CONN_LINGER: /* Until the last answer is out; conn_shutdown_done. */
    if (prev != CONN_LINGER && prev != CONN_RESTART)
      conn_timer_start(c, cfg->send_timeout_ms);
    break;
  default: /* NEW: set at accept. */
    break;
  }
}

static void conn_alloc(ax_handle_t *handle, size_t suggested_size,
                       ax_buf_t *buf) {
  struct conn *c = conn_of_stream((ax_stream_t *)handle);
  struct conn_input *in = c->input;
  (void)suggested_size;
  if (in != NULL && in->len > 0)
    *buf = ax_buf_init(in->data + in->len, in->cap - in->len);
  else
    *buf = ax_buf_init(c->server->read, SERVER_READ_BYTES);
}

/* Read while a request can be taken in (or dropped, lingering): not
 * while a route answers, nor while answers pile up unread. */
static void conn_update_reading(struct conn *c) {
  bool want = !c->closing && !c->peer_done && !c->water_above &&
              c->state != CONN_BUSY;
  if (want && !c->reading)
    want = ax_read_start(&c->tcp.stream, conn_alloc, conn_read) == 0;
  else if (!want && c->reading)
    ax_read_stop(&c->tcp.stream);
  c->reading = want;
}

/* -- Parsing -------------------------------------------------------- */

/* The parser for the next bytes: the connection's own mid-request,
 * else the loop's, clean. */
static struct http_parser *conn_parser(struct conn *c) {
  struct server *s = c->server;
  if (c->input != NULL)
    return &c->input->parser;
  if (!s->parser_clean) {
    http_parser_init(&s->parser, &s->config->limits);
    s->parser_clean = true;
  }
  return &s->parser;
}

/* The request is answered: the next one may begin, or the connection
 * winds down. */
static void conn_request_done(struct conn *c) {
  bool close = c->req.close;
  route_free(c);
  memset(&c->req, 0, sizeof(c->req));
  c->state = close ? CONN_LINGER : CONN_IDLE;
  c->server->requests++;
}

static void conn_head_done(struct conn *c, const struct http_request *r) {
  c->state = CONN_BODY;
  route_head(c, r);
  if (!r->expect_continue || r->framing == HTTP_FRAMING_NONE)
    return;
  /* The client waits for a word before it sends the body. When the
   * answer is known already, that answer is the word, and the body is
   * never read: the connection closes after it. */
  if (c->req.status != 0) {
    c->req.close = true;
    route_respond(c);
    conn_request_done(c);
  } else if (!out_str(c->server, "HTTP/1.1 100 Continue\r\n\r\n")) {
    conn_abort(c);
  }
}

static void conn_event(struct conn *c, struct http_parser *p,
                       enum http_parse_result event) {
  switch (event) {
  case HTTP_PARSE_HEADERS_DONE:
    conn_head_done(c, &p->request);
    break;
  case HTTP_PARSE_BODY_CHUNK:
    route_body(c, p->body);
    break;
  case HTTP_PARSE_MESSAGE_DONE:
    c->responding = true;
    route_respond(c);
    c->responding = false;
    if (c->state != CONN_BUSY)
      conn_request_done(c);
    break;
  case HTTP_PARSE_ERROR:
    c->req.close = true;
    if (!response_text(c, p->error_status, p->error_reason)) {
      conn_abort(c);
      return;
    }
    conn_request_done(c);
    break;
  default:
    break;
  }
}

/* Keep @p len bytes at @p src in the connection's input (moving them to
 * its front), with @p room bytes free after them to read into. */
static bool conn_keep_bytes(struct conn *c, const struct http_parser *p,
                            const char *src, size_t len, size_t room) {
  struct conn_input *in = c->input;
  if (in == NULL || in->cap < len + room) {
    size_t cap = in != NULL && in->cap * 2 > len + room ? in->cap * 2
                                                        : len + room;
    bool inside = in != NULL && src >= in->data && src <= in->data + in->len;
    size_t src_off = inside ? (size_t)(src - in->data) : 0;
    struct conn_input *grown = realloc(in, sizeof(*grown) + cap);
    if (grown == NULL)
      return false;
    if (in == NULL)
      grown->parser = *p; /* No pointers inside: a copy is a move. */
    in = grown;
    in->cap = cap;
    c->input = in;
    if (inside)
      src = in->data + src_off;
  }
  if (len > 0)
    memmove(in->data, src, len);
  in->len = len;
  return true;
}

/* After parsing: keep what the next read or the resumption needs. */
static void conn_keep(struct conn *c, struct http_parser *p, char *data,
                      size_t len, size_t start, size_t off) {
  struct server *s = c->server;
  bool ok = true;
  if (p == &s->parser)
    s->parser_clean = c->state == CONN_IDLE || c->state == CONN_BUSY;
  if (c->closing)
    return;
  if (c->state == CONN_HEAD) /* The head so far, and room for more. */
    ok = conn_keep_bytes(c, p, data + start, len - start, INPUT_READ_BYTES);
  else if (c->state == CONN_BODY) /* The parser only. */
    ok = conn_keep_bytes(c, p, NULL, 0, 0);
  else if (c->state == CONN_BUSY && off < len) /* Requests behind it. */
    ok = conn_keep_bytes(c, p, data + off, len - off, 0);
  else {
    free(c->input);
    c->input = NULL;
  }
  if (!ok)
    conn_abort(c);
}

static bool conn_parsing(const struct conn *c) {
  return !c->closing && !c->water_above && c->state != CONN_BUSY &&
         c->state != CONN_LINGER;
}

/* Parse data[fed..len) (data[0..fed) is a head the parser has seen) and
 * answer each request, until the bytes run out or parsing must wait. */
static void conn_consume(struct conn *c, char *data, size_t len, size_t fed) {
  struct http_parser *p = conn_parser(c);
  size_t off = fed, start = 0;
  while (conn_parsing(c)) {
    size_t used;
    enum http_parse_result event = http_parser_feed(p, data + off, len - off,
                                                    &used);
    off += used;
    if (used > 0 && (c->state == CONN_NEW || c->state == CONN_IDLE)) {
      c->head_began = c->state == CONN_IDLE; /* NEW's runs from accept. */
      c->state = CONN_HEAD;
    }
    if (event == HTTP_PARSE_NEED_MORE)
      break;
    conn_event(c, p, event);
    if (event == HTTP_PARSE_MESSAGE_DONE)
      start = off;
  }
  conn_keep(c, p, data, len, start, off);
}

/* -- After each step ---------------------------------------------------- */

static void conn_shutdown_done(ax_shutdown_t *req, int status) {
  struct conn *c = conn_of_stream(req->handle);
  free(req);
  if (c->closing)
    return;
  if (status < 0 || c->peer_done)
    conn_abort(c);
  else
    conn_timer_start(c, c->server->config->linger_timeout_ms);
}

/* The last answer is on its way: shut our side once it is out, and read
 * what the client still sends until it closes too, so that closing with
 * unread bytes does not reset the connection and destroy the answer
 * before the client has read it. */
static void conn_shutdown(struct conn *c) {
  free(c->input);
  c->input = NULL;
  ax_shutdown_t *req = malloc(sizeof(*req));
  if (req == NULL || ax_shutdown(req, &c->tcp.stream, conn_shutdown_done)) {
    free(req);
    conn_abort(c);
  }
}

/* After reading, resuming or answering: send what was built, then let
 * the state decide the timer, the reading, and whether to close. */
static void conn_settle(struct conn *c, int prev) {
  if (c->closing)
    return;
  if (conn_flush(c) != 0) {
    conn_abort(c);
    return;
  }
  bool between = c->state == CONN_NEW || c->state == CONN_IDLE;
  bool drained = c->server->draining && !c->server->keep_idle;
  if (between && (c->peer_done || drained)) {
    if (ax_stream_get_write_queue_size(&c->tcp.stream) == 0) {
      conn_abort(c); /* Nothing asked, nothing owed. */
      return;
    }
    c->state = CONN_LINGER; /* Once the answers are out. */
  }
  if (c->state == CONN_LINGER && prev != CONN_LINGER)
    conn_shutdown(c);
  if (c->closing)
    return;
  conn_update_timer(c, prev);
  conn_update_reading(c);
}

/* Parse the requests kept behind an answered one (unless answers wait
 * to be read), then settle: send, time, read. */
static void conn_resume(struct conn *c, int prev) {
  struct conn_input *in = c->input;
  if (!c->closing && !c->water_above && c->state == CONN_IDLE && in != NULL &&
      in->len > 0)
    conn_consume(c, in->data, in->len, 0);
  conn_settle(c, prev);
}

static void conn_read_end(struct conn *c, ptrdiff_t err) {
  c->reading = false;
  if (err != AX_EOF || (c->state != CONN_NEW && c->state != CONN_IDLE &&
                        c->state != CONN_LINGER)) {
    conn_abort(c); /* A reset, or a request cut short. */
    return;
  }
  c->peer_done = true;
  if (c->state == CONN_LINGER)
    conn_abort(c);
  else
    conn_settle(c, c->state);
}

static void conn_read(ax_stream_t *stream, ptrdiff_t nread,
                      const ax_buf_t *buf) {
  struct conn *c = conn_of_stream(stream);
  if (nread < 0) {
    conn_read_end(c, nread);
    return;
  }
  if (nread == 0 || c->closing)
    return;
  int prev = c->state;
  if (prev == CONN_LINGER) { /* Dropped, up to a limit. */
    c->req.arg += (uint64_t)nread;
    if (c->req.arg > LINGER_DISCARD_BYTES)
      conn_abort(c);
    return;
  }
  struct conn_input *in = c->input;
  if (in != NULL && in->len > 0) { /* Read right after a kept head. */
    size_t fed = in->len;
    in->len += (size_t)nread;
    conn_consume(c, in->data, in->len, fed);
  } else {
    conn_consume(c, buf->base, (size_t)nread, 0);
  }
  conn_settle(c, prev);
}

/* -- Routes' side --------------------------------------------------- */

/* A route will answer later: stop parsing, reading and timing. */
void conn_async_begin(struct conn *c) {
  c->state = CONN_BUSY;
  ax_timer_stop(&c->timer);
  conn_update_reading(c);
}

/* The route's answer has been built: go on with the requests behind. A
 * route that ends inside route_respond() (its start failed, and it
 * answered at once) only leaves CONN_BUSY: the parse that called it goes
 * on itself. Resuming here would parse the requests behind from within
 * that parse, twice, and answer one request twice. */
void conn_async_end(struct conn *c) {
  if (c->responding) {
    c->state = CONN_BODY;
    return;
  }
  conn_request_done(c);
  conn_resume(c, CONN_BUSY);
}

/* The route's answer is making progress: restart the send timeout. */
void conn_progress(struct conn *c) {
  conn_timer_start(c, c->server->config->send_timeout_ms);
}

/* -- Accepting ------------------------------------------------------- */

/* Over the connection limit: a 503 and a lingering close, unless even
 * those are too many, which are closed at once. */
static void conn_reject(struct conn *c) {
  struct config *cfg = c->server->config;
  atomic_fetch_sub(&cfg->connections, 1);
  atomic_fetch_add(&cfg->rejecting, 1);
  c->req.route = ROUTE_REJECTED;
  if (atomic_load(&cfg->rejecting) > MAX_REJECTING ||
      !response_text(c, 503, "Service Unavailable\n")) {
    conn_abort(c);
    return;
  }
  c->state = CONN_LINGER;
  conn_settle(c, CONN_NEW);
}

/* The loop ran short of descriptors or memory: its listener refuses
 * connections, pauses and resumes by itself, and axle calls this once per
 * episode. Only the operator can raise the limit: tell them. */
static void server_on_resource(ax_handle_t *handle, int err) {
  (void)handle;
  fprintf(stderr, "http-server: refusing connections: %s (%s); retrying\n",
          ax_err_name(err), ax_strerror(err));
}

static void server_on_connection(ax_stream_t *listener, int status) {
  struct server *s = listener->handle.loop->data;
  if (status != 0)
    return; /* Out of descriptors: server_on_resource() has said so. */
  struct conn *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return; /* The connection waits in the kernel for the next try. */
  c->server = s;
  ax_tcp_init(&s->loop, &c->tcp);
  ax_timer_init(&s->loop, &c->timer);
  s->connections++;
  atomic_fetch_add(&s->config->connections, 1);
  if (ax_accept(listener, &c->tcp.stream) != 0) {
    c->closing = true;
    conn_close_handles(c);
    return;
  }
  if (atomic_load(&s->config->connections) > s->config->max_connections) {
    conn_reject(c);
    return;
  }
  /* Answers are written whole: Nagle's wait would only delay them. */
  ax_tcp_nodelay(&c->tcp, true);
  c->state = CONN_NEW;
  conn_timer_start(c, s->config->header_timeout_ms);
  conn_update_reading(c);
  if (c->reading == false)
    conn_abort(c);
}

/* -- The server ------------------------------------------------------- */

/* The settings before the command line changes any. */
void server_config_defaults(struct config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->host = "127.0.0.1";
  cfg->port = DEFAULT_PORT;
  cfg->threads = 1;
  cfg->limits.max_head_bytes = HTTP_PARSER_DEFAULT_HEAD_BYTES;
  cfg->limits.max_target_bytes = HTTP_PARSER_DEFAULT_TARGET_BYTES;
  cfg->limits.max_headers = HTTP_PARSER_DEFAULT_HEADERS;
  cfg->limits.max_body_bytes = HTTP_PARSER_DEFAULT_BODY_BYTES;
  cfg->header_timeout_ms = 10000;
  cfg->body_timeout_ms = 10000;
  cfg->idle_timeout_ms = 30000;
  cfg->send_timeout_ms = 30000;
  cfg->linger_timeout_ms = 2000;
  cfg->shutdown_timeout_ms = 10000;
  cfg->max_connections = 10000;
  cfg->max_delay_ms = 60000;
  cfg->max_hash_rounds = 1000000000u; /* Seconds of a core, not minutes. */
  cfg->sendfile = true;
  cfg->kv_pool = 16;
  atomic_init(&cfg->connections, 0);
  atomic_init(&cfg->rejecting, 0);
}

int server_init(struct server *s, struct config *config) {
  int rc = ax_loop_init(&s->loop);
  if (rc != 0)
    return rc;
  s->initialised = true;
  s->config = config;
  s->loop.data = s;
  ax_loop_set_resource_cb(&s->loop, server_on_resource);
  http_parser_init(&s->parser, &config->limits);
  s->parser_clean = true;
  rc = ax_timer_init(&s->loop, &s->grace);
  if (rc == 0)
    rc = ax_tcp_init(&s->loop, &s->listener);
  if (rc == 0)
    rc = kv_routes_init(s);
  return rc;
}

/* The port of an address, read byte by byte in network order (ntohs()
 * would need the socket library linked on Windows for one call). */
static int port_of(const struct sockaddr_in *addr) {
  const unsigned char *p = (const unsigned char *)&addr->sin_port;
  return p[0] << 8 | p[1];
}

/* Listen on the configured address; the first server to bind port 0
 * picks the port the others share. */
int server_listen(struct server *s) {
  struct config *cfg = s->config;
  struct sockaddr_storage addr;
  int len = sizeof(addr);
  unsigned int flags = cfg->threads > 1 ? AX_TCP_REUSEPORT : 0;
  int rc = ax_ip4_addr(cfg->host, cfg->port, (struct sockaddr_in *)&addr);
  if (rc == 0)
    rc = ax_tcp_bind(&s->listener, (struct sockaddr *)&addr, flags);
  if (rc == 0)
    rc = ax_listen(&s->listener.stream, LISTEN_BACKLOG, server_on_connection);
  if (rc == 0)
    rc = ax_tcp_getsockname(&s->listener, (struct sockaddr *)&addr, &len);
  if (rc == 0)
    cfg->port = port_of((const struct sockaddr_in *)&addr);
  return rc;
}

/* For a program that hands the server its listener (examples/cluster):
 * s->listener has a socket already (bound here, or received over an IPC
 * pipe); accept on it. */
int server_serve(struct server *s) {
  return ax_listen(&s->listener.stream, LISTEN_BACKLOG, server_on_connection);
}

/* Serve one connection that waits on @p source: a listener, or an IPC
 * pipe that received it (examples/cluster's round-robin mode). */
void server_accept(ax_stream_t *source) {
  server_on_connection(source, 0); /* Its loop's data is the server. */
}

static bool server_is_conn(struct server *s, ax_handle_t *handle) {
  return handle->type == AX_TCP && handle != &s->listener.stream.handle &&
         !ax_is_closing(handle) && !kv_routes_owns(s, handle);
}

/* Graceful shutdown, step by step: a connection between requests closes
 * now (once what it was sent is out); one in a request finishes it, and
 * its answer says "Connection: close". */
static void server_drain_one(ax_handle_t *handle, void *arg) {
  struct server *s = arg;
  if (!server_is_conn(s, handle))
    return;
  struct conn *c = conn_of_stream((ax_stream_t *)handle);
  if (c->state == CONN_NEW || c->state == CONN_IDLE)
    conn_settle(c, c->state);
}

static void server_grace_over(ax_timer_t *timer) {
  server_close(ax_container_of(timer, struct server, grace));
}

/* Stop accepting and let the connections finish; after
 * shutdown_timeout_ms, close whatever is left. The loop then runs out. */
void server_drain(struct server *s) {
  if (s->draining)
    return;
  s->draining = true;
  if (!ax_is_closing(&s->listener.stream.handle))
    ax_close(&s->listener.stream.handle, NULL);
  ax_walk(&s->loop, server_drain_one, s);
  if (s->connections == 0)
    server_finish(s);
  else
    ax_timer_start(&s->grace, server_grace_over, s->config->shutdown_timeout_ms,
                   0);
}

static void server_close_one(ax_handle_t *handle, void *arg) {
  struct server *s = arg;
  if (server_is_conn(s, handle))
    conn_abort(conn_of_stream((ax_stream_t *)handle));
}

/* Close every connection now (the grace is over, or a second signal). */
void server_close(struct server *s) {
  s->draining = true;
  if (!ax_is_closing(&s->listener.stream.handle))
    ax_close(&s->listener.stream.handle, NULL);
  ax_walk(&s->loop, server_close_one, s);
  if (s->connections == 0)
    server_finish(s);
}
