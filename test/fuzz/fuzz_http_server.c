/*
 * fuzz_http_server.c: a libFuzzer target for the HTTP server example's
 * connection handling (examples/http-server/server.c, routes.c), past the
 * parser: one server loop on the simulation backend (src/unix/sim.c), and
 * up to CLIENTS real loopback clients that the input drives.
 * scripts/fuzz.sh builds it (clang -fsanitize=fuzzer,address,undefined,
 * over an axle built the same way) and runs it.
 *
 * An input is a header and then operations. The header: 8 bytes of sim
 * seed (so the server side's split points, completion order and injected
 * faults come from the input and replay with it), a fault rate (per
 * mille, 0..100), and flags (bit 0: every kind of fault, not only the
 * transient ones). Each operation is a byte and its arguments: connect a
 * client; send it raw bytes; send it a well-formed request of a few
 * routes; reset it; shut its sending side; run the loop a few times
 * without waiting; let virtual time pass (the server's timers fire); read
 * what a client received.
 *
 * Checked, by abort() (libFuzzer reports the input), besides what ASan
 * and UBSan see:
 *   - with transient faults only, a client that sent nothing but
 *     well-formed requests, and neither reset nor shut down, gets one
 *     answer per request (none may be lost, whatever the split or order);
 *   - the server drains: after server_drain() the loop runs out, and
 *     ax_loop_close() finds no handle left (no connection, timer or
 *     request forgotten);
 *   - memory is returned (libFuzzer's leak check, per input).
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"
#include "unix/sim.h"

enum {
  CLIENTS = 4,           /* Clients one input may open at once. */
  SETTLE_ROUNDS = 64,    /* Steps of virtual time to let answers come. */
  SETTLE_STEP_MS = 100,  /* One such step. */
  ADVANCE_MAX_RUNS = 64, /* Loop runs per ADVANCE, at most. */
  RESPONSE_TAIL = 8,     /* Bytes kept to find "HTTP/1.1" across reads. */
  CLIENT_READ_BYTES = 65536,
};

/* The operations, by the input's byte modulo OP_COUNT. */
enum {
  OP_CONNECT,
  OP_SEND,
  OP_REQUEST,
  OP_RESET,
  OP_SHUTDOWN,
  OP_RUN,
  OP_ADVANCE,
  OP_READ,
  OP_COUNT,
};

/* Well-formed requests (OP_REQUEST): each gets exactly one answer. */
static const char *const requests[] = {
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /delay?ms=30 HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /hash?n=1000 HTTP/1.1\r\nHost: a\r\n\r\n",
    "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    "GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "GET /static/big HTTP/1.1\r\nHost: a\r\n\r\n",
    "HEAD /static/big HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /static/small HTTP/1.1\r\nHost: a\r\n\r\n",
};

/* The static files: big is larger than a loopback socket's buffer, so
 * that sendfile comes back short (the sim also shortens it at random)
 * and the route must go on from where it stopped. */
enum { STATIC_BIG_BYTES = 1 << 20, STATIC_SMALL_BYTES = 100 };
static char static_dir[64];
static char static_root[PATH_MAX];

/* A client: a plain non-blocking socket, outside axle and the sim. */
struct client {
  int fd;                   /* -1 when none. */
  bool clean;               /* Only well-formed requests sent, nothing else. */
  bool ended;               /* The server closed or reset the connection. */
  unsigned requests;        /* Well-formed requests sent. */
  unsigned answers;         /* Status lines received. */
  char tail[RESPONSE_TAIL]; /* The last bytes received. */
  size_t tail_len;          /* Bytes in tail. */
};

/* The input being read. */
struct input {
  const uint8_t *data; /* The next byte. */
  size_t left;         /* Bytes left. */
};

static struct server server;
static struct config config;
static struct client clients[CLIENTS];
static char client_buf[CLIENT_READ_BYTES];

static uint8_t input_byte(struct input *in) {
  if (in->left == 0)
    return 0;
  in->left--;
  return *in->data++;
}

/* ---- Clients ---- */

static void client_open(void) {
  for (int i = 0; i < CLIENTS; i++) {
    struct client *c = &clients[i];
    if (c->fd >= 0)
      continue;
    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0)
      abort(); /* The harness itself is out of descriptors. */
    struct sockaddr_in addr;
    ax_ip4_addr(config.host, config.port, &addr);
    /* No Nagle wait: the sim backend sees the server's bytes in flight,
     * not the clients'. */
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 &&
        errno != EINPROGRESS)
      c->ended = true;
    c->clean = true;
    return;
  }
}

/* Count the status lines in what arrived, across read boundaries. */
static void client_count(struct client *c, const char *data, size_t len) {
  static const char mark[] = "HTTP/1.1 ";
  size_t mark_len = sizeof(mark) - 1;
  char joined[RESPONSE_TAIL + CLIENT_READ_BYTES];
  memcpy(joined, c->tail, c->tail_len);
  memcpy(joined + c->tail_len, data, len);
  size_t total = c->tail_len + len;
  /* memmem(), not a comparison at every byte: libFuzzer traces the
   * comparisons of this file too, which costs more than everything else
   * the target does once a megabyte of static file comes back. */
  const char *at = joined;
  const char *end = joined + total;
  while ((at = memmem(at, (size_t)(end - at), mark, mark_len)) != NULL) {
    if ((size_t)(at - joined) + mark_len > c->tail_len)
      c->answers++;
    at++;
  }
  c->tail_len = total < mark_len - 1 ? total : mark_len - 1;
  memcpy(c->tail, joined + total - c->tail_len, c->tail_len);
}

/* Read what arrived; notice the end. */
static void client_read(struct client *c) {
  while (c->fd >= 0 && !c->ended) {
    ssize_t n = recv(c->fd, client_buf, sizeof(client_buf), 0);
    if (n > 0) {
      client_count(c, client_buf, (size_t)n);
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR))
      c->ended = true;
    if (n < 0 && errno == EINTR)
      continue;
    return;
  }
}

static void clients_read(void) {
  for (int i = 0; i < CLIENTS; i++)
    client_read(&clients[i]);
}

static void client_send(struct client *c, const void *data, size_t len) {
  if (c->fd < 0 || len == 0)
    return;
  /* What the kernel does not take is dropped: the client is then no
   * longer one whose every request must be answered. */
  ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
  if (n < 0 || (size_t)n != len)
    c->clean = false;
}

/* A reset: a zero linger time makes close() send RST. */
static void client_reset(struct client *c) {
  if (c->fd < 0)
    return;
  struct linger linger = {1, 0};
  setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
  close(c->fd);
  c->fd = -1;
}

/* ---- The server's loop ---- */

/* Stop the run too: AX_RUN_ONCE runs the timers first and then polls,
 * which would block with nothing left to wait for. */
static void advance_fired(ax_timer_t *timer) {
  *(bool *)timer->handle.data = true;
  ax_stop(timer->handle.loop);
}

/* Let ms of virtual time pass: the sim jumps its clock to each timer in
 * turn while nothing else is ready. */
static void loop_advance(uint64_t ms) {
  ax_timer_t timer;
  bool fired = false;
  ax_timer_init(&server.loop, &timer);
  timer.handle.data = &fired;
  ax_timer_start(&timer, advance_fired, ms, 0);
  for (int i = 0; i < ADVANCE_MAX_RUNS && !fired; i++) {
    ax_run(&server.loop, AX_RUN_ONCE);
    clients_read();
  }
  ax_close(&timer.handle, NULL);
  ax_run(&server.loop, AX_RUN_NOWAIT); /* The close callback. */
}

static void op_run(struct input *in) {
  int runs = input_byte(in) % 8 + 1;
  for (int i = 0; i < runs; i++) {
    ax_run(&server.loop, AX_RUN_NOWAIT);
    clients_read();
  }
}

static void op_send(struct input *in) {
  struct client *c = &clients[input_byte(in) % CLIENTS];
  size_t len = (size_t)input_byte(in) + 1;
  if (len > in->left)
    len = in->left;
  client_send(c, in->data, len);
  c->clean = false;
  in->data += len;
  in->left -= len;
}

static void op_request(struct input *in) {
  struct client *c = &clients[input_byte(in) % CLIENTS];
  const char *req =
      requests[input_byte(in) % (sizeof(requests) / sizeof(requests[0]))];
  if (c->fd < 0)
    return;
  c->requests++;
  client_send(c, req, strlen(req));
}

static void op_apply(struct input *in, uint8_t op) {
  struct client *c;
  switch (op % OP_COUNT) {
  case OP_CONNECT:
    client_open();
    break;
  case OP_SEND:
    op_send(in);
    break;
  case OP_REQUEST:
    op_request(in);
    break;
  case OP_RESET:
    client_reset(&clients[input_byte(in) % CLIENTS]);
    break;
  case OP_SHUTDOWN:
    c = &clients[input_byte(in) % CLIENTS];
    if (c->fd >= 0)
      shutdown(c->fd, SHUT_WR);
    c->clean = false;
    break;
  case OP_RUN:
    op_run(in);
    break;
  case OP_ADVANCE:
    /* The server's timeouts may now end a connection between requests
     * (408, idle): its requests are no longer all owed an answer. */
    for (int i = 0; i < CLIENTS; i++)
      clients[i].clean = false;
    loop_advance((uint64_t)input_byte(in) << 6);
    break;
  default:
    client_read(&clients[input_byte(in) % CLIENTS]);
    break;
  }
}

/* ---- One input ---- */

static void config_init(void) {
  memset(&config, 0, sizeof(config));
  config.host = "127.0.0.1";
  config.threads = 1;
  config.limits.max_head_bytes = 2048;
  config.limits.max_target_bytes = 512;
  config.limits.max_headers = 16;
  config.limits.max_body_bytes = 4096;
  config.header_timeout_ms = 1000;
  config.body_timeout_ms = 1000;
  config.idle_timeout_ms = 3000;
  config.send_timeout_ms = 3000;
  config.linger_timeout_ms = 500;
  config.shutdown_timeout_ms = 2000;
  config.max_connections = 1000;
  config.max_delay_ms = 1000;
  config.max_hash_rounds = 100000;
  config.static_dir = static_dir;
  config.static_root = static_root;
  config.static_root_len = strlen(static_root);
  config.sendfile = true;
  atomic_init(&config.connections, 0);
  atomic_init(&config.rejecting, 0);
}

/* Let every answer due arrive: virtual time passes in steps while the
 * clients read. Then, with transient faults only, check that every
 * client that kept to well-formed requests got each one answered. */
static void check_answers(bool faults_visible) {
  for (int round = 0; round < SETTLE_ROUNDS; round++)
    loop_advance(SETTLE_STEP_MS);
  if (faults_visible)
    return;
  for (int i = 0; i < CLIENTS; i++) {
    struct client *c = &clients[i];
    if (c->fd < 0 || !c->clean || c->answers == c->requests)
      continue;
    fprintf(stderr, "client %d: %u requests, %u answers%s\n", i, c->requests,
            c->answers, c->ended ? ", closed" : "");
    abort();
  }
}

/* Drain the server: the loop must run out and close with no handle. */
static void server_finish_input(void) {
  server_drain(&server);
  if (ax_run(&server.loop, AX_RUN_DEFAULT) != 0 ||
      ax_loop_close(&server.loop) != 0) {
    fprintf(stderr, "the server did not drain\n");
    abort();
  }
  for (int i = 0; i < CLIENTS; i++)
    client_reset(&clients[i]);
  free(server.out);
}

/* Open the server on a loopback address of its own, 127.1.x.y, one per
 * input in turn. Every connection the server closes first leaves its
 * address and port in TIME_WAIT for a minute, and the fuzzer makes
 * hundreds a second: on one address, new ports would run out, and the
 * same port would meet its old connections' TIME_WAIT (a client's SYN
 * then waits a second for its retransmission). */
static void server_open(void) {
  static char host[32];
  static unsigned int next;
  next = next % 65000 + 1;
  snprintf(host, sizeof(host), "127.1.%u.%u", next >> 8, next & 255);
  config.host = host;
  memset(&server, 0, sizeof(server));
  int rc = server_init(&server, &config);
  if (rc == 0)
    rc = server_listen(&server);
  if (rc != 0) {
    fprintf(stderr, "the server did not start: %s\n", ax_err_name(rc));
    abort();
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A file of len bytes of 'a' (no status line inside) in static_dir. */
static void static_file(const char *name, size_t len) {
  char path[128];
  snprintf(path, sizeof(path), "%s/%s", static_dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL)
    abort();
  for (size_t i = 0; i < len; i++)
    putc('a', f);
  if (fclose(f) != 0)
    abort();
}

/* The static directory, made once and removed at exit. SIGPIPE keeps its
 * default action: no operation of axle's may raise it (issue 11, item
 * 1: a sendfile on a pool thread to a reset connection once did), and the
 * clients send with MSG_NOSIGNAL. */
static void static_remove(void) {
  char path[128];
  snprintf(path, sizeof(path), "%s/big", static_dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/small", static_dir);
  unlink(path);
  rmdir(static_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  setenv("AX_BACKEND", "sim", 1);
  snprintf(static_dir, sizeof(static_dir), "/tmp/axle-fuzz-XXXXXX");
  if (mkdtemp(static_dir) == NULL || realpath(static_dir, static_root) == NULL)
    abort();
  static_file("big", STATIC_BIG_BYTES);
  static_file("small", STATIC_SMALL_BYTES);
  atexit(static_remove);
  for (int i = 0; i < CLIENTS; i++)
    clients[i].fd = -1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct input in = {data, size};
  uint64_t seed = 0;
  for (int i = 0; i < 8; i++)
    seed = seed << 8 | input_byte(&in);
  unsigned int rate = input_byte(&in) % 101;
  bool all = (input_byte(&in) & 1) != 0;
  ax__sim_set(seed, rate, all);
  config_init();
  server_open();
  while (in.left > 0)
    op_apply(&in, input_byte(&in));
  check_answers(all && rate > 0);
  server_finish_input();
  return 0;
}
