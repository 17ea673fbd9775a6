/*
 * kv-client.c: one request through the pool (kv-client.h).
 *
 * An attempt: acquire a connection, start reading it, write the request
 * (its line, and SET's value straight from the caller's memory), start
 * the timeout on the connection's timer. It ends once, in
 * call_attempt_end(): with the whole answer (the connection goes back
 * reusable unless bytes came beyond the answer), or with an error (it
 * goes back broken, and the pool closes it). The call finishes once the
 * attempt has ended and the write's callback has run, so that no
 * callback ever reaches a call that is over.
 */
#include "kv-client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  KV_REPLY_HEAD_BYTES = 64, /* "VALUE n\n" and the others fit. */
  /* "ERR reason\n" at most: the first line of any answer fits here. */
  KV_REPLY_LINE_BYTES = KV_CALL_INLINE_BYTES,
};

static void call_acquired(struct pool_waiter *waiter, struct pool_conn *conn,
                          int status);

static void call_finish(struct kv_call *call, int status) {
  char *reply = call->reply;
  call->reply = NULL;
  call->cb(call, status);
  if (reply != call->inline_reply)
    free(reply);
}

/* The attempt and its write are both over: retry, or finish. A retry
 * goes only where the request surely did not take effect: a connection
 * that had served before failed before any byte of an answer. */
static void call_settle(struct kv_call *call) {
  if (!call->attempt_over || call->writing)
    return;
  int status = call->attempt_status;
  bool stale = call->reused && call->reply_len == 0 &&
               (status == AX_ECONNRESET || status == AX_EPIPE ||
                status == AX_ECONNABORTED);
  if (status != 0 && stale && call->attempts == 1) {
    call->attempts++;
    int rc = pool_acquire(call->pool, &call->waiter, call_acquired);
    if (rc != 0)
      call_finish(call, rc);
    return;
  }
  call_finish(call, status);
}

static void call_attempt_end(struct kv_call *call, int status, bool reusable) {
  if (call->attempt_over)
    return;
  call->attempt_over = true;
  call->attempt_status = status;
  struct pool_conn *conn = call->conn;
  call->conn = NULL;
  pool_release(conn, reusable);
  call_settle(call);
}

static void call_written(ax_write_t *req, int status) {
  struct kv_call *call = ax_container_of(req, struct kv_call, write);
  call->writing = false;
  if (status < 0 && !call->attempt_over)
    call_attempt_end(call, status, false);
  else
    call_settle(call);
}

static void call_timeout(ax_timer_t *timer) {
  struct pool_conn *conn = ax_container_of(timer, struct pool_conn, timer);
  call_attempt_end(conn->data, AX_ETIMEDOUT, false);
}

/* The answer's length from its first line, once that is in: 0 while it
 * is not, or an error. Sets found and value. */
static long reply_head(struct kv_call *call) {
  const char *r = call->reply;
  const char *nl = memchr(r, '\n', call->reply_len);
  if (nl == NULL)
    return call->reply_len >= KV_REPLY_LINE_BYTES ? AX_EPROTO : 0;
  size_t line = (size_t)(nl - r) + 1;
  call->found = true;
  if ((line == 3 && memcmp(r, "OK\n", 3) == 0) ||
      (line == 8 && memcmp(r, "DELETED\n", 8) == 0))
    return (long)line;
  if (line == 9 && memcmp(r, "NOTFOUND\n", 9) == 0) {
    call->found = false;
    return (long)line;
  }
  if (line >= 4 && memcmp(r, "ERR ", 4) == 0)
    return AX_EINVAL;
  if (line < 8 || line > KV_REPLY_HEAD_BYTES || memcmp(r, "VALUE ", 6) != 0)
    return AX_EPROTO;
  long n = 0;
  for (size_t i = 6; i < line - 1; i++) {
    if (r[i] < '0' || r[i] > '9' || n > KV_MAX_VALUE_BYTES)
      return AX_EPROTO;
    n = n * 10 + (r[i] - '0');
  }
  if (n > KV_MAX_VALUE_BYTES)
    return AX_EPROTO;
  call->value_len = (size_t)n;
  call->value_at = line;
  return (long)(line + (size_t)n + 1);
}

/* Room for the answer: the inline buffer, then the heap, as it grows. */
static void call_alloc(ax_handle_t *handle, size_t size, ax_buf_t *buf) {
  struct pool_conn *conn = ax_container_of(handle, struct pool_conn,
                                           tcp.stream.handle);
  struct kv_call *call = conn->data;
  (void)size;
  /* Until its first line is in, an answer is read into the inline
   * buffer; then the buffer grows to the answer's length at once. */
  size_t want = call->reply_want != 0 ? call->reply_want : call->reply_cap;
  if (want > call->reply_cap) {
    char *p = call->reply == call->inline_reply ? NULL : call->reply;
    char *grown = realloc(p, want);
    if (grown != NULL) {
      if (p == NULL)
        memcpy(grown, call->reply, call->reply_len);
      call->reply = grown;
      call->reply_cap = want;
    }
  }
  *buf = ax_buf_init(call->reply + call->reply_len,
                     call->reply_cap - call->reply_len);
}

static void call_read(ax_stream_t *stream, ptrdiff_t nread,
                      const ax_buf_t *buf) {
  struct pool_conn *conn = ax_container_of(stream, struct pool_conn, tcp);
  struct kv_call *call = conn->data;
  (void)buf;
  if (nread == 0)
    return;
  if (nread < 0) {
    call_attempt_end(call, nread == AX_EOF ? AX_ECONNRESET : (int)nread, false);
    return;
  }
  call->reply_len += (size_t)nread;
  if (call->reply_want == 0) {
    long want = reply_head(call);
    if (want < 0) {
      call_attempt_end(call, (int)want, false);
      return;
    }
    call->reply_want = (size_t)want;
  }
  if (call->reply_want == 0 || call->reply_len < call->reply_want)
    return;
  if (call->value_at != 0)
    call->value = call->reply + call->value_at;
  if (call->reply[call->reply_want - 1] != '\n') {
    call_attempt_end(call, AX_EPROTO, false);
    return;
  }
  /* Bytes beyond the answer were never asked for: the connection is out
   * of step, so it goes back broken, though this answer stands. */
  call_attempt_end(call, 0, call->reply_len == call->reply_want);
}

static void call_acquired(struct pool_waiter *waiter, struct pool_conn *conn,
                          int status) {
  static char newline[] = "\n";
  struct kv_call *call = ax_container_of(waiter, struct kv_call, waiter);
  if (status != 0) {
    call_finish(call, status);
    return;
  }
  call->conn = conn;
  conn->data = call;
  call->reused = conn->uses > 0;
  call->attempt_over = false;
  if (call->reply != NULL && call->reply != call->inline_reply)
    free(call->reply); /* A retry's: the first attempt grew it. */
  call->reply = call->inline_reply;
  call->reply_cap = sizeof(call->inline_reply);
  call->reply_len = call->reply_want = call->value_len = call->value_at = 0;
  call->value = NULL;
  ax_buf_t bufs[3] = {ax_buf_init(call->head, call->head_len)};
  unsigned int nbufs = 1;
  if (call->send_value != NULL) {
    bufs[1] = ax_buf_init((char *)call->send_value, call->send_value_len);
    bufs[2] = ax_buf_init(newline, 1);
    nbufs = 3;
  }
  int rc = pool_read_start(conn, call_alloc, call_read);
  if (rc == 0)
    rc = ax_write(&call->write, &conn->tcp.stream, bufs, nbufs, call_written);
  if (rc != 0) {
    call_attempt_end(call, rc, false);
    return;
  }
  call->writing = true;
  ax_timer_start(&conn->timer, call_timeout, call->timeout_ms, 0);
}

int kv_call_start(struct kv_call *call, struct pool *pool, enum kv_op op,
                  const char *key, size_t key_len, const char *value,
                  size_t value_len, uint64_t timeout_ms, kv_call_cb cb) {
  static const char *const names[] = {"GET", "SET", "DEL"};
  if (call == NULL || pool == NULL || cb == NULL || key == NULL ||
      key_len == 0 || key_len > KV_MAX_KEY_BYTES || (unsigned)op > KV_DEL ||
      (op == KV_SET && value == NULL && value_len != 0) ||
      value_len > KV_MAX_VALUE_BYTES)
    return AX_EINVAL;
  for (size_t i = 0; i < key_len; i++)
    if (key[i] <= ' ' || key[i] > '~')
      return AX_EINVAL;
  call->pool = pool;
  call->cb = cb;
  call->timeout_ms = timeout_ms;
  call->attempts = 1;
  call->writing = false;
  call->found = false;
  call->value = NULL;
  call->value_len = 0;
  call->reply = NULL;
  call->reply_len = 0;
  call->send_value = op == KV_SET ? (value != NULL ? value : "") : NULL;
  call->send_value_len = op == KV_SET ? value_len : 0;
  int n = op == KV_SET
              ? snprintf(call->head, sizeof(call->head), "%s %.*s %zu\n",
                         names[op], (int)key_len, key, value_len)
              : snprintf(call->head, sizeof(call->head), "%s %.*s\n", names[op],
                         (int)key_len, key);
  call->head_len = (size_t)n;
  int rc = pool_acquire(pool, &call->waiter, call_acquired);
  if (rc != 0)
    call_finish(call, rc);
  return 0;
}
