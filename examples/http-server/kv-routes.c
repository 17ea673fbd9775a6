/*
 * kv-routes.c: the HTTP server example's /kv routes, answered by a
 * key-value server (examples/kv-server.c) through a connection pool
 * (examples/pool/). docs/pooling.md tells the story.
 *
 *   GET  /kv/KEY   the value (200, application/octet-stream), or 404
 *   PUT  /kv/KEY   store the body as the value (200 "stored")
 *
 * HEAD works as GET does. KEY is taken as sent (no percent-decoding):
 * 1..250 visible characters, else 400; a body over the key-value
 * server's limit is 413. When the upstream cannot answer: 503 when the
 * pool's queue is full, 504 when a connection or an answer took too
 * long, 502 for anything else it did wrong (refused, closed, nonsense).
 *
 * One pool per loop (each loop is a thread of its own, and a pool
 * belongs to one loop): --kv-pool N connections at most per loop, or
 * with --kv-pool 0 a new connection for every request, closed after it,
 * which is what the benchmark compares against (scripts/bench-kv.sh).
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv-client.h"

enum {
  KV_PER_REQUEST_MAX = 1024,   /* Connections at once with --kv-pool 0. */
  KV_ANSWER_TIMEOUT_MS = 5000, /* An answer's wait. */
  KV_WAIT_TIMEOUT_MS = 5000,   /* A connection's wait. */
  KV_MAX_WAITERS = 4096,       /* Requests queued for a connection. */
};

/* A loop's pool. */
struct kv_routes {
  struct pool pool; /* Connections to the upstream. */
  bool closing;     /* pool_close() was called. */
};

/* A /kv request, from its head to its answer. */
struct kv_job {
  struct kv_call call;        /* The request upstream. */
  struct conn *conn;          /* The HTTP connection it answers. */
  char *value;                /* PUT's body so far. */
  size_t value_len;           /* Its bytes. */
  size_t value_cap;           /* Its room. */
  int status;                 /* The call's status, when it ended early. */
  bool starting;              /* Inside kv_call_start(). */
  bool ended_early;           /* The call ended inside kv_call_start(). */
  size_t key_len;             /* Bytes of key. */
  char key[KV_MAX_KEY_BYTES]; /* The key. */
};

/* -- The pool ---------------------------------------------------------- */

int kv_routes_init(struct server *s) {
  const struct config *cfg = s->config;
  s->kv = NULL;
  if (cfg->kv_host == NULL)
    return 0;
  struct kv_routes *kv = calloc(1, sizeof(*kv));
  if (kv == NULL)
    return AX_ENOMEM;
  struct pool_options o = {
      .host = cfg->kv_host,
      .port = cfg->kv_port,
      .max_size = cfg->kv_pool != 0 ? cfg->kv_pool : KV_PER_REQUEST_MAX,
      .single_use = cfg->kv_pool == 0,
      .max_waiters = KV_MAX_WAITERS,
      .wait_timeout_ms = KV_WAIT_TIMEOUT_MS,
  };
  int rc = pool_init(&s->loop, &kv->pool, &o);
  if (rc != 0) {
    free(kv);
    return rc;
  }
  s->kv = kv;
  return 0;
}

static void kv_routes_closed(struct pool *pool) {
  free(ax_container_of(pool, struct kv_routes, pool));
}

/* The loop is winding down: idle connections close now, those in use as
 * their requests end; then the pool frees itself. */
void kv_routes_close(struct server *s) {
  if (s->kv == NULL || s->kv->closing)
    return;
  s->kv->closing = true;
  pool_close(&s->kv->pool, kv_routes_closed);
  s->kv = NULL;
}

bool kv_routes_owns(const struct server *s, const ax_handle_t *handle) {
  return s->kv != NULL && pool_owns(&s->kv->pool, handle);
}

/* -- The head and the body -------------------------------------------- */

int kv_route_head(struct conn *c, struct http_slice key) {
  if (c->server->kv == NULL)
    return 404; /* No --kv: there is no such route. */
  if (key.len == 0 || key.len > KV_MAX_KEY_BYTES)
    return 400;
  for (size_t i = 0; i < key.len; i++)
    if (key.data[i] <= ' ' || key.data[i] > '~')
      return 400;
  struct kv_job *job = calloc(1, sizeof(*job));
  if (job == NULL)
    return 503;
  job->conn = c;
  job->key_len = key.len;
  memcpy(job->key, key.data, key.len);
  c->req.job = job;
  return 0;
}

void kv_route_body(struct conn *c, struct http_slice body) {
  struct kv_job *job = c->req.job;
  if (job == NULL || c->req.status != 0 || body.len == 0)
    return;
  if (job->value_len + body.len > KV_MAX_VALUE_BYTES) {
    c->req.status = 413; /* The rest is read and dropped. */
    return;
  }
  if (job->value_len + body.len > job->value_cap) {
    size_t cap = job->value_cap != 0 ? job->value_cap : 4096;
    while (cap < job->value_len + body.len)
      cap *= 2;
    char *grown = realloc(job->value, cap);
    if (grown == NULL) {
      c->req.status = 503;
      return;
    }
    job->value = grown;
    job->value_cap = cap;
  }
  memcpy(job->value + job->value_len, body.data, body.len);
  job->value_len += body.len;
}

/* -- The answer -------------------------------------------------------- */

static int kv_error_status(int err) {
  if (err == AX_EAGAIN)
    return 503;
  return err == AX_ETIMEDOUT ? 504 : 502;
}

static bool kv_answer(struct conn *c, struct kv_call *call, int status,
                      bool put) {
  char text[64];
  if (status != 0) {
    snprintf(text, sizeof(text), "upstream: %s\n", ax_err_name(status));
    return response_text(c, kv_error_status(status), text);
  }
  if (put)
    return response_text(c, 200, "stored\n");
  if (!call->found)
    return response_text(c, 404, "404\n");
  return response_head(c, 200, "application/octet-stream", call->value_len) &&
         response_end(c) && response_body(c, call->value, call->value_len);
}

static void kv_finish(struct kv_job *job, int status) {
  struct conn *c = job->conn;
  if (conn_pending_end(c))
    return;
  if (!kv_answer(c, &job->call, status, c->req.arg != 0)) {
    conn_abort(c);
    return;
  }
  conn_async_end(c); /* Frees the job. */
}

static void kv_called(struct kv_call *call, int status) {
  struct kv_job *job = ax_container_of(call, struct kv_job, call);
  if (job->starting) {
    job->ended_early = true; /* Answered from kv_route_respond(). */
    job->status = status;
    return;
  }
  kv_finish(job, status);
}

/* A call that ended inside kv_call_start() is answered on the next turn
 * of the loop, from the connection's timer, so that the route is
 * asynchronous as server.c expects. */
static void kv_deferred(ax_timer_t *timer) {
  struct conn *c = ax_container_of(timer, struct conn, timer);
  struct kv_job *job = c->req.job;
  c->pending++; /* As kv_finish() expects of a call that ended. */
  kv_finish(job, job->status);
}

void kv_route_respond(struct conn *c) {
  struct kv_job *job = c->req.job;
  bool put = c->req.arg != 0; /* routes.c marks a PUT so. */
  c->pending++;
  job->starting = true;
  int rc = kv_call_start(&job->call, &c->server->kv->pool,
                         put ? KV_SET : KV_GET, job->key, job->key_len,
                         job->value, job->value_len, KV_ANSWER_TIMEOUT_MS,
                         kv_called);
  job->starting = false;
  if (rc != 0) {
    job->ended_early = true;
    job->status = rc;
  }
  if (!job->ended_early)
    return;
  /* Nothing is pending now: a connection aborted before the timer fires
   * (which stops it) closes at once and frees the job. */
  c->pending--;
  ax_timer_start(&c->timer, kv_deferred, 0, 0);
}

void kv_route_free(struct conn *c) {
  struct kv_job *job = c->req.job;
  free(job->value);
  free(job);
}
