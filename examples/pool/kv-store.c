/*
 * kv-store.c: the key-value server of kv-store.h.
 *
 * The data: a hash table of KV_TABLE_BUCKETS chains (FNV-1a of the key),
 * each entry one allocation holding its key and value. Bounded in keys
 * and bytes; a SET beyond either is answered "ERR full".
 *
 * A connection reads into a buffer of its own that grows as a request
 * needs (to one line and one value at most), parses every whole request
 * in it, appends each answer to an output buffer, and sends that with one
 * write per read: pipelined requests are answered in order, in few
 * writes. With delay_ms, the answers of a read wait on the connection's
 * timer, and reading waits with them, so the order holds.
 */
#include "kv-store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#endif /* _WIN32 */

enum {
  KV_IN_INITIAL_BYTES = 4096, /* A connection's first input buffer. */
  KV_IN_MAX_BYTES = KV_MAX_LINE_BYTES + KV_MAX_VALUE_BYTES + 1,
  KV_READ_MIN_BYTES = 1024, /* Grow the input below this much room. */
  KV_LISTEN_BACKLOG = 1024,
};

/* One key and its value. */
struct kv_entry {
  struct kv_entry *next; /* The chain. */
  uint32_t hash;         /* FNV-1a of the key. */
  uint32_t key_len;      /* Bytes of key at data. */
  uint32_t value_len;    /* Bytes of value after the key. */
  char data[];           /* The key, then the value. */
};

/* One client connection. */
struct kv_store_conn {
  ax_tcp_t tcp;               /* The socket. */
  ax_timer_t timer;           /* delay_ms's wait. */
  struct kv_store *store;     /* The owner. */
  struct kv_store_conn *next; /* store->conns. */
  struct kv_store_conn *prev; /* store->conns. */
  char *in;                   /* Bytes read and not yet parsed... */
  size_t in_len;              /* ...this many... */
  size_t in_cap;              /* ...in room for this many. */
  char *out;                  /* Answers not yet written... */
  size_t out_len;             /* ...this many... */
  size_t out_cap;             /* ...in room for this many. */
  unsigned int answered;      /* Requests answered. */
  unsigned int writes;        /* Writes in flight. */
  bool close_after_write;     /* Close once the writes are out. */
  bool closing;               /* Its handles are closing. */
  uint8_t handles_open;       /* tcp and timer. */
};

/* A batch of answers on its way out. */
struct kv_write {
  ax_write_t req;             /* The write. */
  struct kv_store_conn *conn; /* Its connection. */
  char data[];                /* The answers. */
};

/* -- The table ------------------------------------------------------ */

static uint32_t kv_hash(const char *key, size_t len) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)key[i];
    h *= 16777619u;
  }
  return h;
}

/* The link that points at the key's entry (or at the chain's end). */
static struct kv_entry **kv_find(struct kv_store *store, const char *key,
                                 size_t len, uint32_t hash) {
  struct kv_entry **link = &store->table[hash % KV_TABLE_BUCKETS];
  while (*link != NULL && ((*link)->hash != hash || (*link)->key_len != len ||
                           memcmp((*link)->data, key, len) != 0))
    link = &(*link)->next;
  return link;
}

static void kv_unlink(struct kv_store *store, struct kv_entry **link) {
  struct kv_entry *e = *link;
  *link = e->next;
  store->stored_bytes -= e->key_len + e->value_len;
  store->stats.keys--;
  free(e);
}

/* Store a value: false when the store is full or out of memory. */
static bool kv_set(struct kv_store *store, const char *key, size_t key_len,
                   const char *value, size_t value_len) {
  uint32_t hash = kv_hash(key, key_len);
  struct kv_entry **link = kv_find(store, key, key_len, hash);
  size_t old = *link != NULL ? (*link)->key_len + (*link)->value_len : 0;
  if (store->stored_bytes - old + key_len + value_len > KV_MAX_STORE_BYTES ||
      (*link == NULL && store->stats.keys >= KV_MAX_KEYS))
    return false;
  struct kv_entry *e = malloc(sizeof(*e) + key_len + value_len);
  if (e == NULL)
    return false;
  if (*link != NULL)
    kv_unlink(store, link);
  e->hash = hash;
  e->key_len = (uint32_t)key_len;
  e->value_len = (uint32_t)value_len;
  memcpy(e->data, key, key_len);
  memcpy(e->data + key_len, value, value_len);
  e->next = *link;
  *link = e;
  store->stored_bytes += key_len + value_len;
  store->stats.keys++;
  return true;
}

/* -- Answers --------------------------------------------------------- */

/* Room for @p len more answer bytes: false when out of memory. */
static bool out_reserve(struct kv_store_conn *c, size_t len) {
  if (c->out_cap - c->out_len >= len)
    return true;
  size_t cap = c->out_cap != 0 ? c->out_cap : KV_IN_INITIAL_BYTES;
  while (cap - c->out_len < len)
    cap *= 2;
  char *out = realloc(c->out, cap);
  if (out == NULL)
    return false;
  c->out = out;
  c->out_cap = cap;
  return true;
}

static bool out_put(struct kv_store_conn *c, const char *data, size_t len) {
  if (!out_reserve(c, len))
    return false;
  memcpy(c->out + c->out_len, data, len);
  c->out_len += len;
  return true;
}

static bool out_str(struct kv_store_conn *c, const char *text) {
  return out_put(c, text, strlen(text));
}

/* "ERR reason\n"; @p fatal closes the connection after it. */
static bool answer_error(struct kv_store_conn *c, const char *reason,
                         bool fatal) {
  c->store->stats.errors++;
  if (fatal)
    c->close_after_write = true;
  return out_str(c, "ERR ") && out_str(c, reason) && out_str(c, "\n");
}

static bool answer_get(struct kv_store_conn *c, const char *key, size_t len) {
  struct kv_entry *e = *kv_find(c->store, key, len, kv_hash(key, len));
  if (e == NULL)
    return out_str(c, "NOTFOUND\n");
  char head[32];
  int n = snprintf(head, sizeof(head), "VALUE %u\n", (unsigned)e->value_len);
  if (!out_reserve(c, (size_t)n + e->value_len + 1))
    return false;
  out_put(c, head, (size_t)n);
  out_put(c, e->data + e->key_len, e->value_len);
  return out_put(c, "\n", 1);
}

static bool answer_del(struct kv_store_conn *c, const char *key, size_t len) {
  struct kv_entry **link = kv_find(c->store, key, len, kv_hash(key, len));
  if (*link == NULL)
    return out_str(c, "NOTFOUND\n");
  kv_unlink(c->store, link);
  return out_str(c, "DELETED\n");
}

/* -- Requests -------------------------------------------------------- */

/* A request line cut at its spaces. */
struct kv_line {
  const char *word[4]; /* The command, the key, the length; NULL if not. */
  size_t len[4];       /* Their lengths. */
  size_t words;        /* How many (more than 3 is an error). */
};

static void line_split(const char *p, size_t len, struct kv_line *line) {
  memset(line, 0, sizeof(*line));
  size_t i = 0;
  while (i < len && line->words < 4) {
    size_t start = i;
    while (i < len && p[i] != ' ')
      i++;
    line->word[line->words] = p + start;
    line->len[line->words] = i - start;
    line->words++;
    if (i < len)
      i++; /* The space; an empty word follows two in a row. */
  }
}

static bool word_is(const struct kv_line *line, size_t i, const char *text) {
  return line->len[i] == strlen(text) &&
         memcmp(line->word[i], text, line->len[i]) == 0;
}

static bool key_valid(const char *key, size_t len) {
  if (len == 0 || len > KV_MAX_KEY_BYTES)
    return false;
  for (size_t i = 0; i < len; i++)
    if (key[i] <= ' ' || key[i] > '~')
      return false;
  return true;
}

/* SET's length: decimal, at most KV_MAX_VALUE_BYTES; -1 if not. */
static long value_length(const char *p, size_t len) {
  if (len == 0 || len > 8)
    return -1;
  long v = 0;
  for (size_t i = 0; i < len; i++) {
    if (p[i] < '0' || p[i] > '9')
      return -1;
    v = v * 10 + (p[i] - '0');
  }
  return v <= KV_MAX_VALUE_BYTES ? v : -1;
}

/* A SET whose line is read: store the value once it is all there. The
 * bytes the request takes, 0 to wait for more, or -1 after an error that
 * closes. */
static long request_set(struct kv_store_conn *c, const char *in,
                        const struct kv_line *line, size_t line_bytes,
                        size_t avail) {
  long n = line->words == 3 ? value_length(line->word[2], line->len[2]) : -1;
  if (n < 0)
    return answer_error(c, "bad length", true), -1;
  size_t need = line_bytes + (size_t)n + 1;
  if (avail < need)
    return 0;
  const char *value = in + line_bytes;
  if (value[n] != '\n')
    return answer_error(c, "value not followed by newline", true), -1;
  bool ok;
  if (!key_valid(line->word[1], line->len[1]))
    ok = answer_error(c, "bad key", false);
  else if (!kv_set(c->store, line->word[1], line->len[1], value, (size_t)n))
    ok = answer_error(c, "full", false);
  else
    ok = out_str(c, "OK\n");
  return ok ? (long)need : -1;
}

/* The request at @p in: the bytes it took, 0 if it is not all there
 * yet, -1 if the connection must close after the answers. */
static long request_one(struct kv_store_conn *c, const char *in, size_t avail) {
  size_t scan = avail < KV_MAX_LINE_BYTES ? avail : KV_MAX_LINE_BYTES;
  const char *nl = memchr(in, '\n', scan);
  if (nl == NULL) {
    if (avail >= KV_MAX_LINE_BYTES)
      return answer_error(c, "line too long", true), -1;
    return 0;
  }
  size_t line_bytes = (size_t)(nl - in) + 1, len = line_bytes - 1;
  if (len > 0 && in[len - 1] == '\r')
    len--;
  struct kv_line line;
  line_split(in, len, &line);
  bool ok;
  if (line.words >= 1 && word_is(&line, 0, "SET"))
    return request_set(c, in, &line, line_bytes, avail);
  if (line.words == 1 && word_is(&line, 0, "PING"))
    ok = out_str(c, "PONG\n");
  else if (line.words == 0 ||
           (!word_is(&line, 0, "GET") && !word_is(&line, 0, "DEL")))
    ok = answer_error(c, "unknown command", false);
  else if (line.words != 2 || !key_valid(line.word[1], line.len[1]))
    ok = answer_error(c, "bad key", false);
  else if (word_is(&line, 0, "GET"))
    ok = answer_get(c, line.word[1], line.len[1]);
  else
    ok = answer_del(c, line.word[1], line.len[1]);
  return ok ? (long)line_bytes : -1;
}

/* -- Connections ----------------------------------------------------- */

static void conn_closed(ax_handle_t *handle) {
  struct kv_store_conn *c = handle->data;
  struct kv_store *store = c->store;
  if (--c->handles_open == 0) {
    free(c->in);
    free(c->out);
    free(c);
  }
  if (--store->handles == 0 && store->stopped_cb != NULL) {
    void (*cb)(struct kv_store *) = store->stopped_cb;
    store->stopped_cb = NULL;
    cb(store);
  }
}

static void conn_close(struct kv_store_conn *c) {
  struct kv_store *store = c->store;
  if (c->closing)
    return;
  c->closing = true;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    store->conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  store->stats.connections--;
  c->tcp.stream.handle.data = c;
  c->timer.handle.data = c;
  ax_close(&c->timer.handle, conn_closed);
  ax_close(&c->tcp.stream.handle, conn_closed);
}

static void conn_read(ax_stream_t *stream, ptrdiff_t nread,
                      const ax_buf_t *buf);

static void conn_written(ax_write_t *req, int status) {
  struct kv_write *w = ax_container_of(req, struct kv_write, req);
  struct kv_store_conn *c = w->conn;
  free(w);
  c->writes--;
  if (c->closing)
    return;
  if (status < 0 || (c->close_after_write && c->writes == 0))
    conn_close(c);
}

/* Send the answers gathered: one write, whose bytes are a copy the
 * connection's buffer need not keep. */
static void conn_flush(struct kv_store_conn *c) {
  if (c->out_len == 0) {
    if (c->close_after_write && c->writes == 0)
      conn_close(c);
    return;
  }
  struct kv_write *w = malloc(sizeof(*w) + c->out_len);
  if (w == NULL) {
    conn_close(c);
    return;
  }
  w->conn = c;
  memcpy(w->data, c->out, c->out_len);
  ax_buf_t buf = ax_buf_init(w->data, c->out_len);
  c->out_len = 0;
  if (ax_write(&w->req, &c->tcp.stream, &buf, 1, conn_written) != 0) {
    free(w);
    conn_close(c);
    return;
  }
  c->writes++;
}

static void conn_alloc(ax_handle_t *handle, size_t size, ax_buf_t *buf) {
  struct kv_store_conn *c = ax_container_of(handle, struct kv_store_conn,
                                            tcp.stream.handle);
  (void)size;
  if (c->in_cap - c->in_len < KV_READ_MIN_BYTES &&
      c->in_cap < KV_IN_MAX_BYTES) {
    size_t cap = c->in_cap != 0 ? c->in_cap * 2 : KV_IN_INITIAL_BYTES;
    cap = cap < KV_IN_MAX_BYTES ? cap : KV_IN_MAX_BYTES;
    char *in = realloc(c->in, cap);
    if (in != NULL) {
      c->in = in;
      c->in_cap = cap;
    }
  }
  *buf = ax_buf_init(c->in + c->in_len, c->in_cap - c->in_len);
}

static void conn_delay_done(ax_timer_t *timer) {
  struct kv_store_conn *c = ax_container_of(timer, struct kv_store_conn, timer);
  conn_flush(c);
  if (!c->closing && !c->close_after_write)
    ax_read_start(&c->tcp.stream, conn_alloc, conn_read);
}

/* Parse and answer every whole request in the input. */
static void conn_parse(struct kv_store_conn *c) {
  struct kv_store *store = c->store;
  size_t used = 0;
  while (!c->close_after_write) {
    long took = request_one(c, c->in + used, c->in_len - used);
    if (took <= 0) {
      if (took < 0)
        c->close_after_write = true;
      break;
    }
    used += (size_t)took;
    store->stats.requests++;
    c->answered++;
    if (store->options.close_after != 0 &&
        c->answered >= store->options.close_after)
      c->close_after_write = true;
  }
  /* What is left is the start of a request: to the front, once. */
  memmove(c->in, c->in + used, c->in_len - used);
  c->in_len -= used;
}

static void conn_read(ax_stream_t *stream, ptrdiff_t nread,
                      const ax_buf_t *buf) {
  struct kv_store_conn *c = ax_container_of(stream, struct kv_store_conn, tcp);
  (void)buf;
  if (nread == 0)
    return;
  if (nread < 0) {
    conn_close(c); /* The end, an error, or a request over the limit. */
    return;
  }
  c->in_len += (size_t)nread;
  conn_parse(c);
  if (c->close_after_write)
    ax_read_stop(&c->tcp.stream);
  if (c->store->options.delay_ms != 0 && c->out_len > 0) {
    ax_read_stop(&c->tcp.stream);
    ax_timer_start(&c->timer, conn_delay_done, c->store->options.delay_ms, 0);
    return;
  }
  conn_flush(c);
}

static void store_on_connection(ax_stream_t *listener, int status) {
  struct kv_store *store = listener->handle.data;
  if (status != 0)
    return;
  struct kv_store_conn *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return;
  c->store = store;
  ax_tcp_init(store->loop, &c->tcp);
  ax_timer_init(store->loop, &c->timer);
  c->handles_open = 2;
  store->handles += 2;
  c->next = store->conns;
  if (c->next != NULL)
    c->next->prev = c;
  store->conns = c;
  store->stats.connections++;
  store->stats.accepted++;
  if (ax_accept(listener, &c->tcp.stream) != 0 ||
      ax_read_start(&c->tcp.stream, conn_alloc, conn_read) != 0) {
    conn_close(c);
    return;
  }
  ax_tcp_nodelay(&c->tcp, true);
}

/* -- The store ------------------------------------------------------- */

int kv_store_init(ax_loop_t *loop, struct kv_store *store,
                  const struct kv_store_options *options) {
  memset(store, 0, sizeof(*store));
  store->loop = loop;
  store->options = *options;
  store->table = calloc(KV_TABLE_BUCKETS, sizeof(*store->table));
  return store->table != NULL ? 0 : AX_ENOMEM;
}

int kv_store_listen(struct kv_store *store) {
  struct sockaddr_storage addr;
  int len = sizeof(addr);
  const char *host = store->options.host != NULL ? store->options.host
                                                 : "127.0.0.1";
  if (store->listening)
    return AX_EALREADY;
  int rc = ax_tcp_init(store->loop, &store->listener);
  if (rc != 0)
    return rc;
  store->listening = true;
  store->handles++;
  store->listener.stream.handle.data = store;
  rc = ax_ip4_addr(host, store->options.port, (struct sockaddr_in *)&addr);
  if (rc == 0)
    rc = ax_tcp_bind(&store->listener, (struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = ax_listen(&store->listener.stream, KV_LISTEN_BACKLOG,
                   store_on_connection);
  if (rc == 0)
    rc = ax_tcp_getsockname(&store->listener, (struct sockaddr *)&addr, &len);
  if (rc == 0) {
    const unsigned char *p =
        (const unsigned char *)&((struct sockaddr_in *)&addr)->sin_port;
    store->options.port = p[0] << 8 | p[1];
  }
  if (rc != 0)
    kv_store_stop(store, NULL);
  return rc;
}

void kv_store_drop_all(struct kv_store *store) {
  while (store->conns != NULL)
    conn_close(store->conns);
}

static void store_listener_closed(ax_handle_t *handle) {
  struct kv_store *store = handle->data;
  if (--store->handles == 0 && store->stopped_cb != NULL) {
    void (*cb)(struct kv_store *) = store->stopped_cb;
    store->stopped_cb = NULL;
    cb(store);
  }
}

void kv_store_stop(struct kv_store *store,
                   void (*stopped_cb)(struct kv_store *store)) {
  store->stopped_cb = stopped_cb;
  if (store->listening) {
    store->listening = false;
    ax_close(&store->listener.stream.handle, store_listener_closed);
  }
  kv_store_drop_all(store);
  if (store->handles == 0 && stopped_cb != NULL) {
    store->stopped_cb = NULL;
    stopped_cb(store);
  }
}

void kv_store_free(struct kv_store *store) {
  if (store->table == NULL)
    return;
  for (size_t i = 0; i < KV_TABLE_BUCKETS; i++)
    while (store->table[i] != NULL)
      kv_unlink(store, &store->table[i]);
  free(store->table);
  store->table = NULL;
}
