/*
 * pool.c: the connection pool of pool.h.
 *
 * A connection is in one state at a time (enum pool_conn_state), and on
 * the idle list while POOL_IDLE. Two timers serve the whole pool: one for
 * the first waiter's deadline (waiters queue in arrival order, and all
 * wait the same time, so the first is always the next to expire), one
 * for maintenance: the oldest idle connection's expiry, and the retry of
 * min_idle after a failed connect. Each connection has a timer of its
 * own for its connect's deadline, which its holder may use afterwards.
 *
 * Why idle connections are read: a TCP connection the upstream closed
 * looks open until someone reads the end of it. Reading while idle costs
 * nothing until bytes (or the end) arrive, and then tells at once that
 * the connection must go, before a caller could be given it.
 *
 * Why connects back off: min_idle asks for connections whether or not
 * anyone waits, so with the upstream down it would reconnect in a tight
 * loop. After a failed connect, min_idle waits (POOL_RETRY_MIN_MS,
 * doubling to POOL_RETRY_MAX_MS); connects that a waiter asked for do
 * not wait, and their failure goes to a waiter, so callers learn fast.
 */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

enum {
  POOL_DEFAULT_MAX_SIZE = 16,
  POOL_DEFAULT_IDLE_MS = 30000,
  POOL_DEFAULT_WAITERS = 1024,
  POOL_DEFAULT_WAIT_MS = 5000,
  POOL_DEFAULT_CONNECT_MS = 2000,
  POOL_RETRY_MIN_MS = 50,   /* min_idle's first wait after a failure... */
  POOL_RETRY_MAX_MS = 2000, /* ...doubling up to this. */
};

/* Where a connection is. */
enum pool_conn_state {
  POOL_CONNECTING, /* The connect is in progress. */
  POOL_IDLE,       /* On the idle list, read for its end. */
  POOL_IN_USE,     /* A holder has it. */
  POOL_CLOSING,    /* Its handles are closing. */
};

static void pool_maintain(struct pool *pool);
static void pool_serve(struct pool *pool);

/* -- Lists ------------------------------------------------------------ */

static void list_push(struct pool_list *list, struct pool_conn *conn) {
  conn->next = NULL;
  conn->prev = list->tail;
  if (list->tail != NULL)
    list->tail->next = conn;
  else
    list->head = conn;
  list->tail = conn;
}

static void list_remove(struct pool_list *list, struct pool_conn *conn) {
  if (conn->prev != NULL)
    conn->prev->next = conn->next;
  else
    list->head = conn->next;
  if (conn->next != NULL)
    conn->next->prev = conn->prev;
  else
    list->tail = conn->prev;
  conn->next = conn->prev = NULL;
}

static void idle_push(struct pool *pool, struct pool_conn *conn) {
  list_push(&pool->idle, conn);
  pool->metrics.idle++;
}

static void idle_remove(struct pool *pool, struct pool_conn *conn) {
  list_remove(&pool->idle, conn);
  pool->metrics.idle--;
}

static void connecting_push(struct pool *pool, struct pool_conn *conn) {
  list_push(&pool->connecting, conn);
  pool->metrics.connecting++;
}

static void connecting_remove(struct pool *pool, struct pool_conn *conn) {
  list_remove(&pool->connecting, conn);
  pool->metrics.connecting--;
}

static void waiter_push(struct pool *pool, struct pool_waiter *w) {
  w->next = NULL;
  w->prev = pool->wait_tail;
  if (pool->wait_tail != NULL)
    pool->wait_tail->next = w;
  else
    pool->wait_head = w;
  pool->wait_tail = w;
  pool->metrics.waiting++;
}

static struct pool_waiter *waiter_pop(struct pool *pool) {
  struct pool_waiter *w = pool->wait_head;
  if (w == NULL)
    return NULL;
  pool->wait_head = w->next;
  if (pool->wait_head != NULL)
    pool->wait_head->prev = NULL;
  else
    pool->wait_tail = NULL;
  w->next = w->prev = NULL;
  pool->metrics.waiting--;
  return w;
}

/* -- Closing ---------------------------------------------------------- */

static void pool_handle_closed(struct pool *pool) {
  if (--pool->handles == 0 && pool->closing && pool->close_cb != NULL)
    pool->close_cb(pool);
}

static void conn_closed(ax_handle_t *handle) {
  struct pool_conn *conn = handle->data;
  struct pool *pool = conn->pool;
  if (--conn->handles_open == 0)
    free(conn);
  pool_handle_closed(pool);
}

/* Close a connection in any state but closing; @p failed counts it. */
static void conn_close(struct pool_conn *conn, bool failed) {
  struct pool *pool = conn->pool;
  if (conn->state == POOL_CLOSING)
    return;
  if (conn->state == POOL_IDLE)
    idle_remove(pool, conn);
  else if (conn->state == POOL_IN_USE)
    pool->metrics.in_use--;
  else
    connecting_remove(pool, conn);
  conn->state = POOL_CLOSING;
  pool->open--;
  pool->metrics.closed++;
  if (failed)
    pool->metrics.failed++;
  ax_close(&conn->timer.handle, conn_closed);
  ax_close(&conn->tcp.stream.handle, conn_closed);
}

static void pool_timer_closed(ax_handle_t *handle) {
  pool_handle_closed(handle->data);
}

/* -- Handing out ------------------------------------------------------ */

static void conn_give(struct pool_conn *conn, struct pool_waiter *w) {
  struct pool *pool = conn->pool;
  conn->data = NULL;
  pool->metrics.acquired++;
  w->cb(w, conn, 0);
}

/* Reads land in the holder's buffer while it reads, else in a few bytes
 * of the connection's own. */
static void conn_alloc(ax_handle_t *handle, size_t size, ax_buf_t *buf) {
  struct pool_conn *conn = ax_container_of(handle, struct pool_conn,
                                           tcp.stream.handle);
  if (conn->state == POOL_IN_USE && conn->alloc_cb != NULL) {
    conn->alloc_cb(handle, size, buf);
    return;
  }
  *buf = ax_buf_init(conn->idle_byte, sizeof(conn->idle_byte));
}

/* What arrives goes to the holder while it reads. Anything read while
 * idle means the connection is over: the end (the upstream closed it),
 * an error, or bytes nobody asked for. */
static void conn_read(ax_stream_t *stream, ptrdiff_t nread,
                      const ax_buf_t *buf) {
  struct pool_conn *conn = ax_container_of(stream, struct pool_conn, tcp);
  if (nread < 0)
    conn->reading = false; /* The stream stopped by itself. */
  if (conn->state == POOL_IN_USE) {
    if (conn->read_cb != NULL)
      conn->read_cb(stream, nread, buf);
    else if (nread != 0)
      conn->spoiled = true; /* Closed on release. */
    return;
  }
  if (nread == 0 || conn->state != POOL_IDLE)
    return;
  struct pool *pool = conn->pool;
  conn_close(conn, true);
  pool_maintain(pool);
}

/* A connection nobody waits for: idle, read for its end, until it
 * expires. */
static void conn_make_idle(struct pool_conn *conn) {
  struct pool *pool = conn->pool;
  conn->state = POOL_IDLE;
  conn->idle_since_ms = ax_now(pool->loop);
  idle_push(pool, conn);
  if (!ax_is_active(&pool->idle_timer.handle))
    pool_maintain(pool);
}

/* A connection free for use: to the first waiter, else idle. */
static void conn_ready(struct pool_conn *conn) {
  struct pool *pool = conn->pool;
  struct pool_waiter *w = waiter_pop(pool);
  if (w == NULL) {
    conn_make_idle(conn);
    return;
  }
  if (pool->wait_head == NULL)
    ax_timer_stop(&pool->wait_timer);
  conn->state = POOL_IN_USE;
  pool->metrics.in_use++;
  conn_give(conn, w);
}

/* -- Connecting ------------------------------------------------------- */

static void conn_connected(ax_connect_t *req, int status) {
  struct pool_conn *conn = ax_container_of(req, struct pool_conn, connect);
  struct pool *pool = conn->pool;
  if (conn->state == POOL_CLOSING)
    return; /* Timed out or the pool closed: already counted. */
  ax_timer_stop(&conn->timer);
  if (status != 0) {
    conn_close(conn, true);
    pool->retry_ms = pool->retry_ms == 0 ? POOL_RETRY_MIN_MS
                                         : pool->retry_ms * 2;
    if (pool->retry_ms > POOL_RETRY_MAX_MS)
      pool->retry_ms = POOL_RETRY_MAX_MS;
    pool->retry_at_ms = ax_now(pool->loop) + pool->retry_ms;
    /* The connect was made for a waiter, or for min_idle; either way the
     * first waiter learns of the failure now rather than at its
     * timeout. */
    struct pool_waiter *w = waiter_pop(pool);
    if (w != NULL)
      w->cb(w, NULL, status);
    pool_serve(pool);
    pool_maintain(pool);
    return;
  }
  pool->retry_ms = 0;
  connecting_remove(pool, conn);
  pool->metrics.created++;
  ax_tcp_nodelay(&conn->tcp, true); /* Requests go out whole. */
  if (ax_read_start(&conn->tcp.stream, conn_alloc, conn_read) != 0) {
    conn->state = POOL_IN_USE; /* For conn_close()'s counts. */
    pool->metrics.in_use++;
    conn_close(conn, true);
    pool_serve(pool);
    return;
  }
  conn->reading = true;
  conn_ready(conn);
}

static void conn_connect_timeout(ax_timer_t *timer) {
  struct pool_conn *conn = ax_container_of(timer, struct pool_conn, timer);
  struct pool *pool = conn->pool;
  conn_close(conn, true);
  struct pool_waiter *w = waiter_pop(pool);
  if (w != NULL)
    w->cb(w, NULL, AX_ETIMEDOUT);
  pool_serve(pool);
}

/* Open one more connection; false if it could not even start. */
static bool pool_connect(struct pool *pool) {
  struct pool_conn *conn = calloc(1, sizeof(*conn));
  if (conn == NULL)
    return false;
  conn->pool = pool;
  ax_tcp_init(pool->loop, &conn->tcp);
  ax_timer_init(pool->loop, &conn->timer);
  conn->tcp.stream.handle.data = conn; /* For conn_closed(), pool_owns(). */
  conn->timer.handle.data = conn;
  conn->handles_open = 2;
  pool->handles += 2;
  pool->open++;
  connecting_push(pool, conn);
  conn->state = POOL_CONNECTING;
  int rc = ax_tcp_connect(&conn->connect, &conn->tcp,
                          (const struct sockaddr *)&pool->addr, conn_connected);
  if (rc != 0) {
    conn_close(conn, true);
    return false;
  }
  ax_timer_start(&conn->timer, conn_connect_timeout,
                 pool->options.connect_timeout_ms, 0);
  return true;
}

/* Start the connects the waiters need: one per waiter beyond those in
 * progress, as far as max_size allows. A connect that cannot start fails
 * the first waiter at once. */
static void pool_serve(struct pool *pool) {
  while (!pool->closing && pool->metrics.waiting > pool->metrics.connecting &&
         pool->open < pool->options.max_size) {
    if (pool_connect(pool))
      continue;
    struct pool_waiter *w = waiter_pop(pool);
    if (w != NULL)
      w->cb(w, NULL, AX_ENOMEM);
  }
}

/* -- Timers ----------------------------------------------------------- */

static void pool_wait_expired(ax_timer_t *timer) {
  struct pool *pool = ax_container_of(timer, struct pool, wait_timer);
  uint64_t now = ax_now(pool->loop);
  while (pool->wait_head != NULL && pool->wait_head->deadline_ms <= now) {
    struct pool_waiter *w = waiter_pop(pool);
    pool->metrics.timed_out++;
    w->cb(w, NULL, AX_ETIMEDOUT);
  }
  if (pool->wait_head != NULL && !pool->closing)
    ax_timer_start(&pool->wait_timer, pool_wait_expired,
                   pool->wait_head->deadline_ms - now, 0);
}

static void pool_maintain_timer(ax_timer_t *timer) {
  pool_maintain(ax_container_of(timer, struct pool, idle_timer));
}

/* Close idle connections past idle_timeout_ms (keeping min_idle), open
 * connections up to min_idle (unless backing off), and set the timer for
 * the next of these. */
static void pool_maintain(struct pool *pool) {
  if (pool->closing)
    return;
  uint64_t now = ax_now(pool->loop), next = UINT64_MAX;
  const struct pool_options *o = &pool->options;
  while (pool->idle.head != NULL && pool->metrics.idle > o->min_idle) {
    uint64_t expiry = pool->idle.head->idle_since_ms + o->idle_timeout_ms;
    if (expiry > now) {
      next = expiry;
      break;
    }
    conn_close(pool->idle.head, false);
  }
  while (pool->metrics.idle + pool->metrics.connecting < o->min_idle &&
         pool->open < o->max_size) {
    if (now < pool->retry_at_ms) {
      next = next < pool->retry_at_ms ? next : pool->retry_at_ms;
      break;
    }
    if (!pool_connect(pool))
      break;
  }
  if (next == UINT64_MAX)
    ax_timer_stop(&pool->idle_timer);
  else
    ax_timer_start(&pool->idle_timer, pool_maintain_timer, next - now, 0);
}

/* -- The API ---------------------------------------------------------- */

static void pool_defaults(struct pool_options *o) {
  if (o->max_size == 0)
    o->max_size = POOL_DEFAULT_MAX_SIZE;
  if (o->idle_timeout_ms == 0)
    o->idle_timeout_ms = POOL_DEFAULT_IDLE_MS;
  if (o->max_waiters == 0)
    o->max_waiters = POOL_DEFAULT_WAITERS;
  if (o->wait_timeout_ms == 0)
    o->wait_timeout_ms = POOL_DEFAULT_WAIT_MS;
  if (o->connect_timeout_ms == 0)
    o->connect_timeout_ms = POOL_DEFAULT_CONNECT_MS;
}

int pool_init(ax_loop_t *loop, struct pool *pool,
              const struct pool_options *options) {
  if (loop == NULL || pool == NULL || options == NULL || options->host == NULL)
    return AX_EINVAL;
  memset(pool, 0, sizeof(*pool));
  pool->loop = loop;
  pool->options = *options;
  pool_defaults(&pool->options);
  const struct pool_options *o = &pool->options;
  if (o->max_size > POOL_MAX_SIZE || o->min_idle > o->max_size ||
      o->max_waiters > POOL_MAX_WAITERS || o->port <= 0 || o->port > 65535)
    return AX_EINVAL;
  if (ax_ip4_addr(o->host, o->port, &pool->addr.v4) != 0 &&
      ax_ip6_addr(o->host, o->port, &pool->addr.v6) != 0)
    return AX_EINVAL;
  int rc = ax_timer_init(loop, &pool->wait_timer);
  if (rc != 0)
    return rc;
  rc = ax_timer_init(loop, &pool->idle_timer);
  if (rc != 0) {
    ax_close(&pool->wait_timer.handle, NULL);
    return rc;
  }
  pool->wait_timer.handle.data = pool;
  pool->idle_timer.handle.data = pool;
  pool->handles = 2;
  pool_maintain(pool);
  return 0;
}

int pool_acquire(struct pool *pool, struct pool_waiter *waiter,
                 pool_acquire_cb cb) {
  if (pool == NULL || waiter == NULL || cb == NULL)
    return AX_EINVAL;
  if (pool->closing)
    return AX_ECANCELED;
  waiter->cb = cb;
  struct pool_conn *conn = pool->idle.tail;
  if (conn != NULL) {
    /* The newest idle one: the oldest are left to expire. */
    idle_remove(pool, conn);
    conn->state = POOL_IN_USE;
    pool->metrics.in_use++;
    conn_give(conn, waiter);
    pool_maintain(pool);
    return 0;
  }
  if (pool->metrics.waiting >= pool->options.max_waiters) {
    pool->metrics.rejected++;
    return AX_EAGAIN;
  }
  waiter->deadline_ms = ax_now(pool->loop) + pool->options.wait_timeout_ms;
  waiter_push(pool, waiter);
  if (!ax_is_active(&pool->wait_timer.handle))
    ax_timer_start(&pool->wait_timer, pool_wait_expired,
                   pool->options.wait_timeout_ms, 0);
  pool_serve(pool);
  return 0;
}

void pool_release(struct pool_conn *conn, bool reusable) {
  struct pool *pool = conn->pool;
  if (conn->state != POOL_IN_USE)
    return;
  conn->uses++;
  conn->data = NULL;
  conn->alloc_cb = NULL;
  conn->read_cb = NULL;
  ax_timer_stop(&conn->timer);
  if (!reusable || pool->options.single_use || pool->closing ||
      !conn->reading || conn->spoiled) {
    conn_close(conn, !pool->closing && !(reusable && pool->options.single_use));
    pool_serve(pool);
    pool_maintain(pool);
    return;
  }
  pool->metrics.in_use--;
  conn_ready(conn); /* To the first waiter, or idle. */
}

int pool_read_start(struct pool_conn *conn, ax_alloc_cb alloc_cb,
                    ax_read_cb read_cb) {
  if (conn == NULL || conn->state != POOL_IN_USE || alloc_cb == NULL ||
      read_cb == NULL)
    return AX_EINVAL;
  if (!conn->reading)
    return AX_ECONNRESET;
  conn->alloc_cb = alloc_cb;
  conn->read_cb = read_cb;
  return 0;
}

void pool_read_stop(struct pool_conn *conn) {
  conn->alloc_cb = NULL;
  conn->read_cb = NULL;
}

void pool_close(struct pool *pool, pool_close_cb close_cb) {
  if (pool->closing)
    return;
  pool->closing = true;
  pool->close_cb = close_cb;
  struct pool_waiter *w;
  while ((w = waiter_pop(pool)) != NULL)
    w->cb(w, NULL, AX_ECANCELED);
  while (pool->idle.head != NULL)
    conn_close(pool->idle.head, false);
  /* Their connects end in conn_connected() with AX_ECANCELED, ignored. */
  while (pool->connecting.head != NULL)
    conn_close(pool->connecting.head, false);
  /* Connections in use close as they come back (pool_release()). */
  ax_close(&pool->wait_timer.handle, pool_timer_closed);
  ax_close(&pool->idle_timer.handle, pool_timer_closed);
}

bool pool_owns(const struct pool *pool, const ax_handle_t *handle) {
  if (handle->type != AX_TCP && handle->type != AX_TIMER)
    return false;
  if (handle == &pool->wait_timer.handle || handle == &pool->idle_timer.handle)
    return true;
  const struct pool_conn *conn = handle->data;
  return conn != NULL && conn->pool == pool &&
         (handle == &conn->tcp.stream.handle || handle == &conn->timer.handle);
}

void pool_get_metrics(const struct pool *pool, struct pool_metrics *metrics) {
  *metrics = pool->metrics;
}
