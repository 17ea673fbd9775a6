/*
 * kv-client.h: one request to the key-value server (kv-store.h) through
 * a connection pool (pool.h): acquire, write, read the answer, release.
 *
 * A call fails rather than hangs: the wait for a connection is bounded by
 * the pool, and the answer by the call's timeout. A call retries once,
 * on another connection, when a connection it reused fails before a byte
 * of the answer came: the upstream closed it while it sat idle, and the
 * request never reached anyone (GET, SET and DEL may be sent twice
 * anyway: sent again, each has the same effect).
 */
#ifndef AXLE_EXAMPLE_KV_CLIENT_H
#define AXLE_EXAMPLE_KV_CLIENT_H

#include "kv-store.h"
#include "pool.h"

/** What a call asks. */
enum kv_op {
  KV_GET, /**< The value of a key. */
  KV_SET, /**< Store a value. */
  KV_DEL, /**< Delete a key. */
};

enum {
  /** The inline part of a call's answer buffer: a short value needs no
   * allocation. */
  KV_CALL_INLINE_BYTES = 512,
};

struct kv_call;

/**
 * A call is over. @p status is 0 when the server answered: call->found
 * then says whether the key was there (GET, DEL; always true for SET),
 * and a GET's value is call->value (call->value_len bytes, valid until
 * this callback returns). Otherwise an error: AX_ETIMEDOUT (no answer
 * in time, or no connection in time), AX_EAGAIN (the pool's queue is
 * full), AX_ECONNREFUSED and the like (no connection could be made),
 * AX_ECONNRESET (the upstream closed the connection without an answer),
 * AX_EPROTO (the answer made no sense), AX_EINVAL (the server answered
 * "ERR"), AX_ECANCELED (the pool closed).
 */
typedef void (*kv_call_cb)(struct kv_call *call, int status);

/** One request; the caller's memory, untouched until the callback. */
struct kv_call {
  struct pool_waiter waiter;    /**< Private: the pool's. */
  struct pool *pool;            /**< The pool. */
  struct pool_conn *conn;       /**< Private: the connection held. */
  ax_write_t write;             /**< Private: the request going out. */
  kv_call_cb cb;                /**< Private: the callback. */
  uint64_t timeout_ms;          /**< Private: the answer's deadline. */
  const char *send_value;       /**< Private: SET's value (the caller's). */
  size_t send_value_len;        /**< Private: its length. */
  size_t head_len;              /**< Private: bytes in head. */
  char *reply;                  /**< Private: the answer so far. */
  size_t reply_len;             /**< Private: its bytes. */
  size_t reply_cap;             /**< Private: its room. */
  size_t reply_want;            /**< Private: its whole length, once known. */
  size_t value_at;              /**< Private: where a VALUE's bytes begin. */
  int attempt_status;           /**< Private: how the attempt ended. */
  uint8_t attempts;             /**< Private: 1, or 2 after a retry. */
  bool reused;                  /**< Private: the attempt's connection had
                                     served before. */
  bool writing;                 /**< Private: the write's callback is due. */
  bool attempt_over;            /**< Private: the attempt has ended. */
  bool found;                   /**< The key was there. */
  const char *value;            /**< GET's value, in the callback. */
  size_t value_len;             /**< Its length. */
  void *data;                   /**< The caller's. */
  char head[KV_MAX_LINE_BYTES]; /**< Private: the request line. */
  char inline_reply[KV_CALL_INLINE_BYTES]; /**< Private: an answer's
                                                 head, a short one whole. */
};

/**
 * Send one request through @p pool. @p key is 1..KV_MAX_KEY_BYTES
 * visible characters; @p value (SET only, up to KV_MAX_VALUE_BYTES) must
 * stay valid until the callback. @p timeout_ms bounds each attempt's wait
 * for its answer. The callback may run inside this call (a refused
 * connection, for instance).
 * @return 0 once the callback is sure to run; AX_EINVAL for a bad key or
 *         value; otherwise the callback gets the error.
 */
int kv_call_start(struct kv_call *call, struct pool *pool, enum kv_op op,
                  const char *key, size_t key_len, const char *value,
                  size_t value_len, uint64_t timeout_ms, kv_call_cb cb);

#endif /* AXLE_EXAMPLE_KV_CLIENT_H */
