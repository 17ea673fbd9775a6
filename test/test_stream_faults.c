/*
 * test_stream_faults.c: an echo server and its clients that must hold up
 * whatever the backend and the network do: short reads and writes, any
 * order of completions, spurious wake-ups, resets, failed accepts. It
 * runs on every backend, and in the suite "sim" with every kind of fault
 * the simulation backend injects (src/unix/sim-sys.c).
 *
 * What it asserts holds under any fault: every connect and write request
 * completes exactly once; what a client gets back is always a prefix of
 * what it sent (a lost, repeated or reordered byte shows); every client
 * ends, echoed in full or broken; every handle closes. Only where no
 * fault can be seen (any backend but sim with every fault on) must every
 * client be echoed in full.
 */
#include <stdlib.h>
#include <string.h>

#include "tcp.h"

enum {
  CLIENTS = 12,             /* Clients at once. */
  CLIENT_BYTES = 48 * 1024, /* Each sends this much, and wants it back. */
  WRITES_IN_FLIGHT = 3,     /* A client's writes at once. */
  CHUNK_MAX_BYTES = 5000,   /* The most one write carries. */
  SERVER_READ_BYTES = 4096, /* An echo connection's read buffer. */
  CLIENT_READ_BYTES = 3000, /* A client's read buffer. */
};

struct client {
  ax_tcp_t tcp;                        /* Connected to the server. */
  ax_connect_t connect;                /* Its connect. */
  ax_write_t writes[WRITES_IN_FLIGHT]; /* Its writes. */
  bool write_busy[WRITES_IN_FLIGHT];   /* writes[i] is in flight. */
  struct world *world;                 /* The test. */
  size_t sent;                         /* Bytes given to ax_write. */
  size_t received;                     /* Bytes echoed back so far. */
  uint32_t rng;                        /* Chooses the write sizes. */
  bool ended;                          /* Done or broken: closing. */
  char buf[CLIENT_READ_BYTES];         /* Reads land here. */
};

/* One accepted connection that echoes. */
struct echo {
  ax_tcp_t tcp;                /* The accepted socket. */
  struct world *world;         /* The test. */
  char buf[SERVER_READ_BYTES]; /* Reads land here. */
};

/* One echo write: a copy of what was read. */
struct echo_write {
  ax_write_t req; /* The request. */
  char data[];    /* The bytes. */
};

struct world {
  ax_loop_t loop;                 /* The loop. */
  ax_tcp_t listener;              /* The echo server. */
  int port;                       /* Its port. */
  struct client clients[CLIENTS]; /* The clients. */
  int connects;                   /* Connect callbacks run. */
  int writes;                     /* Client writes started... */
  int writes_done;                /* ...and completed. */
  int echoed;                     /* Clients echoed in full. */
  int broken;                     /* Clients whose connection broke. */
  int ended;                      /* echoed + broken. */
  int opened;                     /* Handles opened by the test. */
  int closed;                     /* Close callbacks run. */
  int accept_errors;              /* Connection callbacks with an error. */
};

static char pattern[CLIENT_BYTES];

static void client_closed(ax_handle_t *handle) {
  struct world *w = handle->loop->data;
  w->closed++;
}

static void echo_closed(ax_handle_t *handle) {
  struct world *w = handle->loop->data;
  w->closed++;
  free(handle->data);
}

/* ---- The echo server ---- */

static void echo_close(struct echo *e) {
  if (!ax_is_closing(&e->tcp.stream.handle))
    ax_close(&e->tcp.stream.handle, echo_closed);
}

static void echo_written(ax_write_t *req, int status) {
  struct echo_write *ew = ax_container_of(req, struct echo_write, req);
  struct echo *e = req->handle->handle.data;
  free(ew);
  if (status < 0)
    echo_close(e);
}

static void echo_alloc(ax_handle_t *handle, size_t suggested, ax_buf_t *buf) {
  struct echo *e = handle->data;
  (void)suggested;
  *buf = ax_buf_init(e->buf, sizeof(e->buf));
}

static void echo_read(ax_stream_t *stream, ptrdiff_t nread,
                      const ax_buf_t *buf) {
  struct echo *e = stream->handle.data;
  if (nread == 0)
    return;
  if (nread < 0) {
    echo_close(e);
    return;
  }
  struct echo_write *ew = malloc(sizeof(*ew) + (size_t)nread);
  assert_non_null(ew);
  memcpy(ew->data, buf->base, (size_t)nread);
  ax_buf_t out = ax_buf_init(ew->data, (size_t)nread);
  if (ax_write(&ew->req, stream, &out, 1, echo_written) != 0) {
    free(ew);
    echo_close(e);
  }
}

static void echo_connection(ax_stream_t *listener, int status) {
  struct world *w = listener->handle.loop->data;
  if (status < 0) {
    w->accept_errors++; /* Out of descriptors or memory: axle retries. */
    return;
  }
  struct echo *e = calloc(1, sizeof(*e));
  assert_non_null(e);
  e->world = w;
  assert_int_equal(ax_tcp_init(&w->loop, &e->tcp), 0);
  e->tcp.stream.handle.data = e;
  w->opened++;
  if (ax_accept(listener, &e->tcp.stream) != 0 ||
      ax_read_start(&e->tcp.stream, echo_alloc, echo_read) != 0)
    echo_close(e);
}

/* ---- The clients ---- */

static void client_end(struct client *c, bool broken) {
  if (c->ended)
    return;
  c->ended = true;
  c->world->ended++;
  if (broken)
    c->world->broken++;
  else
    c->world->echoed++;
  ax_close(&c->tcp.stream.handle, client_closed);
}

static void client_send(struct client *c);

static void client_written(ax_write_t *req, int status) {
  struct client *c = req->handle->handle.data;
  c->world->writes_done++;
  c->write_busy[req - c->writes] = false;
  if (status < 0)
    client_end(c, true);
  else if (!c->ended)
    client_send(c);
}

/* Keep WRITES_IN_FLIGHT writes of random sizes going until all is sent. */
static void client_send(struct client *c) {
  for (int i = 0; i < WRITES_IN_FLIGHT && c->sent < CLIENT_BYTES; i++) {
    if (c->write_busy[i])
      continue;
    c->rng = c->rng * 1103515245u + 12345u;
    size_t len = 1 + (c->rng >> 8) % CHUNK_MAX_BYTES;
    if (len > CLIENT_BYTES - c->sent)
      len = CLIENT_BYTES - c->sent;
    ax_buf_t buf = ax_buf_init(pattern + c->sent, len);
    int err = ax_write(&c->writes[i], &c->tcp.stream, &buf, 1, client_written);
    if (err != 0) {
      client_end(c, true);
      return;
    }
    c->write_busy[i] = true;
    c->world->writes++;
    c->sent += len;
  }
}

static void client_alloc(ax_handle_t *handle, size_t suggested, ax_buf_t *buf) {
  struct client *c = handle->data;
  (void)suggested;
  *buf = ax_buf_init(c->buf, sizeof(c->buf));
}

/* What comes back must be the next bytes of what was sent. */
static void client_read(ax_stream_t *stream, ptrdiff_t nread,
                        const ax_buf_t *buf) {
  struct client *c = stream->handle.data;
  if (nread == 0)
    return;
  if (nread < 0) {
    client_end(c, true);
    return;
  }
  assert_true(c->received + (size_t)nread <= c->sent);
  assert_memory_equal(buf->base, pattern + c->received, (size_t)nread);
  c->received += (size_t)nread;
  if (c->received == CLIENT_BYTES)
    client_end(c, false);
}

static void client_connected(ax_connect_t *req, int status) {
  struct client *c = req->handle->handle.data;
  c->world->connects++;
  if (status < 0 ||
      ax_read_start(&c->tcp.stream, client_alloc, client_read) != 0) {
    client_end(c, true);
    return;
  }
  client_send(c);
}

static void client_start(struct world *w, struct client *c, int index) {
  struct sockaddr_storage addr;
  tcp_test_addr("127.0.0.1", w->port, &addr);
  c->world = w;
  c->rng = (uint32_t)index * 2654435761u + 1;
  assert_int_equal(ax_tcp_init(&w->loop, &c->tcp), 0);
  c->tcp.stream.handle.data = c;
  w->opened++;
  int err = ax_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&addr,
                           client_connected);
  if (err != 0) {
    w->connects++; /* No callback will come: count it here. */
    client_end(c, true);
  }
}

/* ---- The test ---- */

/* Whether AX_SIM_FAULTS names this kind: a word of its list. */
static bool faults_name(const char *faults, const char *kind) {
  size_t len = strlen(kind);
  for (const char *word = faults; word != NULL && *word != '\0';) {
    size_t word_len = strcspn(word, ",");
    if (word_len == len && strncmp(word, kind, len) == 0)
      return true;
    word += word_len + (word[word_len] == ',');
  }
  return false;
}

/* Whether the backend may break connections on purpose: the sim backend
 * with faults of every kind (its default) or failing allocations, at a
 * rate above 0. */
static bool faults_visible(ax_loop_t *loop) {
  const char *faults = getenv("AX_SIM_FAULTS");
  const char *rate = getenv("AX_SIM_FAULT_RATE");
  return strcmp(ax_backend_name(loop), "sim") == 0 &&
         (faults == NULL || faults_name(faults, "all") ||
          faults_name(faults, "enomem")) &&
         (rate == NULL || strcmp(rate, "0") != 0);
}

/* Listen, again while an allocation fails (AX_ENOMEM leaves the listener
 * as it was), a bounded number of times. */
static void echo_listen(struct world *w) {
  struct sockaddr_storage addr;
  tcp_test_addr("127.0.0.1", 0, &addr);
  assert_int_equal(ax_tcp_init(&w->loop, &w->listener), 0);
  assert_int_equal(ax_tcp_bind(&w->listener, (struct sockaddr *)&addr, 0), 0);
  int err = AX_ENOMEM;
  for (int i = 0; i < 100 && err == AX_ENOMEM; i++)
    err = ax_listen(&w->listener.stream, 128, echo_connection);
  assert_int_equal(err, 0);
  struct sockaddr_in name;
  int len = (int)sizeof(name);
  assert_int_equal(
      ax_tcp_getsockname(&w->listener, (struct sockaddr *)&name, &len), 0);
  w->port = ntohs(name.sin_port);
}

static void test_stream_faults_echo(void **state) {
  (void)state;
  struct world *w = calloc(1, sizeof(*w));
  assert_non_null(w);
  tcp_pattern_fill(pattern, 0, sizeof(pattern));
  test_loop_open(&w->loop);
  w->loop.data = w;
  echo_listen(w);
  for (int i = 0; i < CLIENTS; i++)
    client_start(w, &w->clients[i], i);
  tcp_run_until(&w->loop, &w->ended, CLIENTS);
  assert_int_equal(w->connects, CLIENTS);
  if (!faults_visible(&w->loop))
    assert_int_equal(w->echoed, CLIENTS);
  /* Every echo connection sees its client's end and closes. */
  tcp_run_until(&w->loop, &w->closed, w->opened);
  assert_int_equal(w->writes_done, w->writes);
  ax_close(&w->listener.stream.handle, NULL);
  assert_int_equal(ax_run(&w->loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(w->closed, w->opened);
  test_loop_close(&w->loop);
  free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stream_faults_echo),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
