/*
 * server.h: what the three parts of the HTTP server example share.
 *
 * main.c reads the command line into struct config, makes one struct
 * server (a loop, its listener, its buffers) per thread and handles the
 * signals. server.c owns the connections: accepting, reading and parsing
 * (http-parser.c), the timeouts and limits, and writing responses.
 * routes.c decides what each request gets: the hello text, an upload's
 * digest, a file from the static directory, a delayed answer, or a hash
 * computed on the thread pool. http-date.c formats and parses HTTP dates.
 * docs/http-server.md describes the design as a whole.
 */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <axle.h>

#include "http-parser.h"

enum {
  /* The port when --port is not given. */
  DEFAULT_PORT = 8080,
  /* Each loop's read buffer: what one read of any connection lands in. */
  SERVER_READ_BYTES = 64 * 1024,
  /* Room for one formatted HTTP date, "Sun, 06 Nov 1994 08:49:37 GMT". */
  HTTP_DATE_BYTES = 30,
  /* The longest response struct response_cache keeps. */
  RESPONSE_CACHE_BYTES = 256,
};

/* A whole response kept for reuse (response_cached): the same bytes for
 * every request until the Date value changes. */
struct response_cache {
  uint64_t date_second;            /* server.date_second when it was made. */
  size_t len;                      /* Bytes in data; 0 until made. */
  char data[RESPONSE_CACHE_BYTES]; /* The status line to the body. */
};

/* Settings from the command line: read-only once the loops run, and
 * shared by all of them. */
struct config {
  const char *host;             /* The address to listen on. */
  int port;                     /* Its port; 0 picks a free one. */
  int threads;                  /* Loops, one per thread. */
  const char *static_dir;       /* --static, or NULL: no /static/. */
  char *static_root;            /* Its canonical path (realpath). */
  size_t static_root_len;       /* strlen(static_root). */
  struct http_limits limits;    /* Head, target, fields and body. */
  uint64_t header_timeout_ms;   /* First byte to end of head: 408. */
  uint64_t body_timeout_ms;     /* Between two reads of a body: 408. */
  uint64_t idle_timeout_ms;     /* Keep-alive wait for a request. */
  uint64_t send_timeout_ms;     /* A response making no progress. */
  uint64_t linger_timeout_ms;   /* Reading after a final response. */
  uint64_t shutdown_timeout_ms; /* Graceful shutdown's last word. */
  unsigned int max_connections; /* Open connections, all loops. */
  uint64_t max_delay_ms;        /* The most /delay?ms= takes. */
  uint64_t max_hash_rounds;     /* The most /hash?n= takes. */
  bool sendfile;                /* Files with sendfile, or read+write. */
  const char *kv_host;          /* --kv's address, or NULL: no /kv/. */
  int kv_port;                  /* --kv's port. */
  unsigned int kv_pool;         /* --kv-pool: per loop; 0 per request. */
  atomic_uint connections;      /* Open connections now, all loops. */
  atomic_uint rejecting;        /* Connections being told 503. */
};

/* One loop and everything it shares between its connections. */
struct server {
  ax_loop_t loop;               /* This server's loop; data points here. */
  ax_tcp_t listener;            /* Its listening socket. */
  ax_async_t stop;              /* Woken by the signal loop to drain. */
  ax_timer_t grace;             /* Graceful shutdown's deadline. */
  ax_thread_t thread;           /* Loops after the first: their thread. */
  struct config *config;        /* The settings. */
  bool draining;                /* Shutting down: no new requests. */
  bool keep_idle;               /* Draining keeps idle connections for one
                                   last request until the grace ends
                                   (examples/cluster's rolling restart). */
  uint64_t requests;            /* Requests answered on this loop. */
  bool initialised;             /* The loop is open (for cleanup). */
  unsigned int connections;     /* Connections open on this loop. */
  struct http_parser parser;    /* Parses requests that fit one read. */
  bool parser_clean;            /* parser is between two requests. */
  char *out;                    /* Responses of one read, then one write. */
  size_t out_len;               /* Bytes in out. */
  size_t out_cap;               /* Its size. */
  char date[HTTP_DATE_BYTES];   /* The Date value, refreshed each second. */
  uint64_t date_second;         /* ax_now() / 1000 when it was made. */
  struct response_cache hello;  /* routes.c's answer to "/". */
  struct kv_routes *kv;         /* kv-routes.c's pool, or NULL. */
  char read[SERVER_READ_BYTES]; /* Every read that keeps nothing. */
};

/* Where a request goes; set from its head. */
enum route {
  ROUTE_NONE,     /* Nothing matches: 404. */
  ROUTE_HELLO,    /* "/": the benchmark's plain text. */
  ROUTE_UPLOAD,   /* "/upload": the body's size and digest. */
  ROUTE_STATIC,   /* "/static/...": a file. */
  ROUTE_DELAY,    /* "/delay?ms=N": answered by a timer. */
  ROUTE_HASH,     /* "/hash?n=N": work on the thread pool. */
  ROUTE_KV,       /* "/kv/KEY": kv-routes.c, through the pool. */
  ROUTE_REJECTED, /* Not a request: the 503 of a connection too many. */
  ROUTE_EXTRA,    /* A path of the program's own (struct route_extra). */
};

/* What the current request asked for, kept from its head (whose bytes
 * may be gone by the time the response is made). */
struct request {
  uint64_t arg;    /* delay's ms, hash's rounds, upload's byte count. */
  uint64_t digest; /* upload: FNV-1a of the body so far. */
  void *job;       /* A route's allocation (a file's), or NULL. */
  uint16_t status; /* An answer decided at the head (404...), or 0. */
  uint8_t route;   /* enum route. */
  bool head;       /* HEAD: headers only. */
  bool keep_alive; /* The client allows another request. */
  bool http10;     /* HTTP/1.0: "Connection: keep-alive" to keep. */
  bool close;      /* Close after the response, whatever was asked. */
  bool options;    /* OPTIONS: the route's Allow, nothing else. */
};

/* A connection. Small on purpose: tens of thousands may be open and idle
 * at once, and an idle one holds only this (no buffer, no parser). */
struct conn {
  ax_tcp_t tcp;             /* The socket; first, for container_of. */
  ax_timer_t timer;         /* Timeouts, and /delay's wait. */
  struct server *server;    /* The loop's server. */
  struct conn_input *input; /* A parser and kept bytes, or NULL. */
  struct request req;       /* The request being read or answered. */
  uint8_t state;            /* enum conn_state (server.c). */
  uint8_t handles_open;     /* tcp and timer, until both closed. */
  bool reading;             /* ax_read_start() is in effect. */
  bool water_above;         /* The write queue is past its mark. */
  bool water_marks;         /* Water marks are set. */
  bool peer_done;           /* The client shut its side (EOF). */
  bool closing;             /* Close once pending reaches 0. */
  bool waiting_drain;       /* A route waits for the queue to empty. */
  bool head_began;          /* A head began: its timeout starts. */
  bool responding;          /* In route_respond(), called by the parse. */
  uint16_t pending;         /* Pool requests that refer to us. */
};

/* server.c: the loop side. */
void server_config_defaults(struct config *cfg);
int server_init(struct server *s, struct config *config);
int server_listen(struct server *s);
int server_serve(struct server *s);
void server_accept(ax_stream_t *source);
void server_drain(struct server *s);
void server_close(struct server *s);

/* server.c: building responses, for routes.c. Responses are appended to
 * the loop's output buffer and go out in one write per read, or at the
 * end of an asynchronous step (conn_flush). */
bool response_head(struct conn *c, int status, const char *type,
                   uint64_t length);
bool response_field(struct conn *c, const char *name, const char *value);
bool response_end(struct conn *c);
bool response_body(struct conn *c, const char *data, size_t len);
bool response_text(struct conn *c, int status, const char *text);
bool response_cached(struct conn *c, struct response_cache *cache,
                     bool (*make)(struct conn *c));
int conn_flush(struct conn *c);
void conn_async_begin(struct conn *c);
void conn_async_end(struct conn *c);
void conn_progress(struct conn *c);
void conn_abort(struct conn *c);
bool conn_pending_end(struct conn *c);
void conn_wait_drain(struct conn *c);

/* routes.c: what each request gets. */
void route_head(struct conn *c, const struct http_request *r);
void route_body(struct conn *c, struct http_slice body);
void route_respond(struct conn *c);
void route_drained(struct conn *c);
void route_free(struct conn *c);

/* routes.c: more paths, for a program that links routes.c with a main of
 * its own (examples/workers/). match is asked first, for every path:
 * -1 leaves the path to routes.c, else the request is the program's, and
 * 0 or a status (404, 400...) is the answer to its head; respond then
 * answers as route_respond() does (at once, or between conn_async_begin()
 * and conn_async_end()). A job kept in c->req.job is freed with free().
 * NULL, the default: none. */
struct route_extra {
  int (*match)(struct conn *c, struct http_slice path, struct http_slice query);
  void (*respond)(struct conn *c);
};
extern const struct route_extra *route_extra;

/* routes.c: /hash's work, @p rounds of a mixing function. */
uint64_t hash_rounds(uint64_t rounds);

/* kv-routes.c: /kv/KEY, answered by a key-value server through a
 * connection pool, one per loop (docs/pooling.md). */
int kv_routes_init(struct server *s);
void kv_routes_close(struct server *s);
bool kv_routes_owns(const struct server *s, const ax_handle_t *handle);
int kv_route_head(struct conn *c, struct http_slice key);
void kv_route_body(struct conn *c, struct http_slice body);
void kv_route_respond(struct conn *c);
void kv_route_free(struct conn *c);

/* socket-file-*.c: the socket as a descriptor ax_fs_sendfile() can write
 * to; AX_ENOTSUP where there is none (Windows). */
int socket_file(struct conn *c, ax_file_t *file);

/* http-date.c: IMF-fixdate out; the three HTTP-date forms in. */
void http_date_format(int64_t seconds, char out[HTTP_DATE_BYTES]);
bool http_date_parse(const char *text, size_t len, int64_t *seconds);

#endif /* HTTP_SERVER_H */
