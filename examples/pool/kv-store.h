/*
 * kv-store.h: the key-value server of examples/kv-server.c, as a part a
 * program (or a test) runs on a loop of its own choosing.
 *
 * The protocol is lines of text, one request after another on a
 * connection; requests may be pipelined and are answered in order:
 *
 *   GET key\n            VALUE n\n<n bytes>\n   or  NOTFOUND\n
 *   SET key n\n<n bytes>\n                      OK\n
 *   DEL key\n            DELETED\n              or  NOTFOUND\n
 *   PING\n               PONG\n
 *
 * A key is 1..KV_MAX_KEY_BYTES visible ASCII characters (no space or
 * control byte); a value 0..KV_MAX_VALUE_BYTES bytes of anything. A
 * request that is understood but refused (an unknown command, a bad key)
 * is answered "ERR reason\n" and the connection goes on. One whose
 * framing cannot be trusted (a line over KV_MAX_LINE_BYTES, a SET whose
 * length is missing or too large, a value not followed by "\n") is
 * answered "ERR reason\n" and the connection is closed after it.
 */
#ifndef AXLE_EXAMPLE_KV_STORE_H
#define AXLE_EXAMPLE_KV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <axle.h>

enum {
  KV_MAX_KEY_BYTES = 250,         /* The longest key. */
  KV_MAX_VALUE_BYTES = 1 << 20,   /* The longest value. */
  KV_MAX_LINE_BYTES = 512,        /* The longest request line with "\n". */
  KV_MAX_KEYS = 1 << 20,          /* Keys stored at most. */
  KV_MAX_STORE_BYTES = 256 << 20, /* Keys and values stored at most. */
  KV_TABLE_BUCKETS = 1 << 16,     /* The hash table's size (fixed). */
};

struct kv_entry;
struct kv_store_conn;

/** How a store serves. */
struct kv_store_options {
  const char *host;         /* The address to listen on. */
  int port;                 /* Its port; 0 picks a free one. */
  unsigned int close_after; /* Close each connection after this many
                               answers (0: never): a test's misbehaviour. */
  uint64_t delay_ms;        /* Hold each batch of answers this long. */
};

/** The store's counts. */
struct kv_store_stats {
  unsigned int connections; /* Open now. */
  uint64_t accepted;        /* Connections ever. */
  uint64_t requests;        /* Requests answered ever. */
  uint64_t errors;          /* "ERR" answers ever. */
  unsigned int keys;        /* Keys stored now. */
};

/** The store: its table, its listener, its connections. */
struct kv_store {
  ax_loop_t *loop;                            /* Its loop. */
  struct kv_store_options options;            /* As given; port as bound. */
  ax_tcp_t listener;                          /* Open while listening. */
  bool listening;                             /* listener is open. */
  struct kv_store_conn *conns;                /* Open connections. */
  unsigned int handles;                       /* Handles not yet closed. */
  void (*stopped_cb)(struct kv_store *store); /* kv_store_stop()'s. */
  struct kv_entry **table;                    /* KV_TABLE_BUCKETS chains. */
  size_t stored_bytes;                        /* Keys and values stored. */
  struct kv_store_stats stats;                /* The counts. */
  void *data;                                 /* The user's. */
};

/** Set up an empty store on @p loop. @return 0 or AX_ENOMEM. */
int kv_store_init(ax_loop_t *loop, struct kv_store *store,
                  const struct kv_store_options *options);

/** Listen on options.host and options.port (after the first call, the
 * port bound then): again after kv_store_stop(), to restart.
 * @return 0, or the error of ax_tcp_bind() or ax_listen(). */
int kv_store_listen(struct kv_store *store);

/** Close every connection now, answered or not (a crash, as the clients
 * see it); go on listening. */
void kv_store_drop_all(struct kv_store *store);

/** Stop listening and close every connection; @p stopped_cb (or NULL)
 * runs once all their handles are closed. The data stays. */
void kv_store_stop(struct kv_store *store,
                   void (*stopped_cb)(struct kv_store *store));

/** Free the data of a stopped store. */
void kv_store_free(struct kv_store *store);

#endif /* AXLE_EXAMPLE_KV_STORE_H */
