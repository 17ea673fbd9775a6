/*
 * pool.h: a pool of TCP connections to one upstream, on one axle loop.
 *
 * A caller asks for a connection with pool_acquire() and gives it back
 * with pool_release(). In between the connection is the caller's alone:
 * it writes a request, reads the answer with its own callbacks
 * (pool_read_start()), and says on release whether the connection is
 * still good. The pool keeps what it
 * is given back open (idle) for the next caller, up to a limit in number
 * and in time, and keeps a few open even when nobody asks. When all
 * max_size connections are in use, callers wait in a bounded queue, first
 * come first served, each for at most wait_timeout_ms.
 *
 * The pool reads every connection from its connect to its close, and
 * passes what arrives to the holder's callbacks while it has some: a
 * connection changes hands without a system call (no read stop and
 * start, which are an epoll_ctl each).
 *
 * A connection is never handed out broken, as far as the pool can know:
 * while idle it is read (an upstream that closes it, or sends anything
 * unasked, closes it here and it is replaced), and one released as bad is
 * closed, never reused. A connection can still die between the last
 * check and the caller's write; examples/pool/kv-client.c shows the
 * answer: retry once, on another connection, when a reused connection
 * fails before any byte of its answer came.
 *
 * Everything runs on the loop's thread. The pool allocates one struct per
 * connection and nothing per acquire: a waiter lives in the caller's
 * memory. docs/pooling.md tells how the pool works and how to size it.
 */
#ifndef AXLE_EXAMPLE_POOL_H
#define AXLE_EXAMPLE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#endif /* _WIN32 */

#include <axle.h>

enum {
  /** The most connections a pool may have (pool_options.max_size). */
  POOL_MAX_SIZE = 4096,
  /** The most callers that may wait (pool_options.max_waiters). */
  POOL_MAX_WAITERS = 1 << 20,
};

struct pool;
struct pool_conn;
struct pool_waiter;

/**
 * An acquire is over: @p conn is the caller's until pool_release(), and
 * @p status is 0; or @p conn is NULL and @p status says why:
 * AX_ETIMEDOUT (waited wait_timeout_ms), AX_ECANCELED (the pool closed),
 * or the error of a connect made for this caller (AX_ECONNREFUSED...).
 * The callback may run inside pool_acquire(), when an idle connection is
 * there to take.
 */
typedef void (*pool_acquire_cb)(struct pool_waiter *waiter,
                                struct pool_conn *conn, int status);

/** The pool is closed: every connection's handle is closed and freed. */
typedef void (*pool_close_cb)(struct pool *pool);

/** How a pool behaves. Zero fields take the defaults named. */
struct pool_options {
  const char *host;            /**< The upstream's IP address (text). */
  int port;                    /**< Its port. */
  unsigned int max_size;       /**< Connections at most (default 16). */
  unsigned int min_idle;       /**< Idle ones kept open (<= max_size). */
  uint64_t idle_timeout_ms;    /**< Close an idle one after (30000). */
  unsigned int max_waiters;    /**< Callers queued at most (1024). */
  uint64_t wait_timeout_ms;    /**< A caller waits at most (5000). */
  uint64_t connect_timeout_ms; /**< A connect takes at most (2000). */
  bool single_use;             /**< Close every connection when it is
                                    released: a connect per acquire, for
                                    comparison (benchmarks). */
};

/** Counts, for a /metrics page or a test. */
struct pool_metrics {
  unsigned int in_use;     /**< Connections held by callers now. */
  unsigned int idle;       /**< Open and waiting to be acquired now. */
  unsigned int connecting; /**< Connects in progress now. */
  unsigned int waiting;    /**< Callers queued now. */
  uint64_t created;        /**< Connects that succeeded, ever. */
  uint64_t failed;         /**< Connects that failed, and connections
                                released as bad or found dead. */
  uint64_t closed;         /**< Connections closed for any reason. */
  uint64_t acquired;       /**< Acquires that got a connection. */
  uint64_t timed_out;      /**< Waiters that got AX_ETIMEDOUT. */
  uint64_t rejected;       /**< pool_acquire() calls refused (queue full). */
};

/** A caller waiting for a connection: the caller's memory, untouched by
 * the caller from pool_acquire() until its callback runs. */
struct pool_waiter {
  struct pool_waiter *next; /**< Private: the queue. */
  struct pool_waiter *prev; /**< Private: the queue. */
  pool_acquire_cb cb;       /**< Private: the callback. */
  uint64_t deadline_ms;     /**< Private: ax_now() after which it fails. */
  void *data;               /**< The caller's. */
};

/** One connection. */
struct pool_conn {
  ax_tcp_t tcp;           /**< The socket; the holder reads and writes it. */
  ax_timer_t timer;       /**< The connect's timeout; the holder's to use
                               while it holds the connection. */
  void *data;             /**< The holder's, while it holds it (the
                               handles' own data is the pool's). */
  uint64_t uses;          /**< Times handed out before this one. */
  struct pool *pool;      /**< Private: the owner. */
  struct pool_conn *next; /**< Private: the list of its state. */
  struct pool_conn *prev; /**< Private: the list of its state. */
  ax_connect_t connect;   /**< Private: the connect request. */
  uint64_t idle_since_ms; /**< Private: ax_now() when it became idle. */
  uint8_t state;          /**< Private: enum pool_conn_state (pool.c). */
  uint8_t handles_open;   /**< Private: tcp and timer, until both close. */
  bool reading;           /**< Private: the stream reads (until its end
                               or an error). */
  bool spoiled;           /**< Private: bytes came that nobody read. */
  ax_alloc_cb alloc_cb;   /**< Private: the holder's, or NULL. */
  ax_read_cb read_cb;     /**< Private: the holder's, or NULL. */
  char idle_byte[16];     /**< Private: where an idle read lands. */
};

/** Connections in one state, in order. */
struct pool_list {
  struct pool_conn *head; /**< The first, or NULL. */
  struct pool_conn *tail; /**< The last, or NULL. */
};

/** A pool. Its fields are private; read them with pool_get_metrics(). */
struct pool {
  ax_loop_t *loop;             /**< The loop it runs on. */
  struct pool_options options; /**< With the defaults filled in. */
  union {
    struct sockaddr_in v4;       /**< The upstream, IPv4... */
    struct sockaddr_in6 v6;      /**< ...or IPv6. */
  } addr;                        /**< Parsed from options.host. */
  ax_timer_t wait_timer;         /**< The first waiter's deadline. */
  ax_timer_t idle_timer;         /**< The oldest idle one's deadline. */
  struct pool_list idle;         /**< Idle, oldest first, newest last
                                      (taken first). */
  struct pool_list connecting;   /**< Connects in progress. */
  struct pool_waiter *wait_head; /**< Waiting, first come first. */
  struct pool_waiter *wait_tail; /**< The last to come. */
  unsigned int open;             /**< Connections not yet closing. */
  uint64_t retry_ms;             /**< min_idle's wait after a failed
                                      connect; 0 after a success. */
  uint64_t retry_at_ms;          /**< No connect for min_idle before. */
  unsigned int handles;          /**< Handles not yet closed (incl. 2
                                      timers). */
  struct pool_metrics metrics;   /**< The counts. */
  bool closing;                  /**< pool_close() was called. */
  pool_close_cb close_cb;        /**< Its callback. */
  void *data;                    /**< The user's. */
};

/**
 * Initialise @p pool on @p loop; opens min_idle connections.
 * @return 0; AX_EINVAL for a bad address, a max_size outside
 *         1..POOL_MAX_SIZE, min_idle above max_size or max_waiters above
 *         POOL_MAX_WAITERS; an error of ax_timer_init().
 */
int pool_init(ax_loop_t *loop, struct pool *pool,
              const struct pool_options *options);

/**
 * Ask for a connection: an idle one at once (the callback runs inside
 * this call), else a new one if fewer than max_size are open, else a
 * place in the queue.
 * @return 0 once the callback is sure to run; AX_EAGAIN when the queue
 *         is full (the callback will not run); AX_ECANCELED if the pool
 *         is closing; AX_EINVAL for NULL arguments.
 */
int pool_acquire(struct pool *pool, struct pool_waiter *waiter,
                 pool_acquire_cb cb);

/**
 * Read the connection with the holder's callbacks, in place of
 * ax_read_start() (the pool's reading goes on underneath). Call it
 * before the upstream can answer, that is before writing: bytes that
 * arrive while the holder reads nothing are dropped, and the connection
 * is closed on release.
 * @return 0; AX_EINVAL unless @p conn is held; or the error that ended
 *         the connection's reading (it is then to be released broken).
 */
int pool_read_start(struct pool_conn *conn, ax_alloc_cb alloc_cb,
                    ax_read_cb read_cb);

/** Stop passing what arrives to the holder (pool_release() does too). */
void pool_read_stop(struct pool_conn *conn);

/**
 * Give a connection back. The holder must say whether it is @p reusable: false
 * after any error, a timeout, or an answer not read to its end. A reusable
 * connection goes to the first waiter, or becomes idle; another is closed (and
 * replaced, if waiters or min_idle need it). Writes of the holder still queued
 * are completed by the stream as usual (cancelled if it closes).
 */
void pool_release(struct pool_conn *conn, bool reusable);

/**
 * Close the pool: every waiter gets AX_ECANCELED, idle connections close
 * now, connections in use close when released. @p close_cb runs once all
 * are closed; the pool's memory may be reused from then on.
 */
void pool_close(struct pool *pool, pool_close_cb close_cb);

/**
 * Whether @p handle is one of the pool's (a connection's socket or
 * timer): for a program that walks its loop's handles (ax_walk()) and
 * must leave the pool's alone. The pool keeps each connection's handles'
 * data pointing at the connection: a holder must not change it.
 */
bool pool_owns(const struct pool *pool, const ax_handle_t *handle);

/** The counts now. */
void pool_get_metrics(const struct pool *pool, struct pool_metrics *metrics);

#endif /* AXLE_EXAMPLE_POOL_H */
