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
 * transient ones; bit 1: the clients stop reading when the server starts
 * to drain, so that its grace timer must end what is stuck). Each
 * operation is a byte and its arguments: connect a client; send it raw
 * bytes; send it a well-formed request of a few routes; reset it; shut
 * its sending side; run the loop a few times without waiting; let
 * virtual time pass (the server's timers fire); read what a client
 * received. Besides, the clients read whatever arrived each time the
 * loop is about to poll (a prepare handle), as a real client would.
 *
 * Checked, by abort() (libFuzzer reports the input), besides what ASan
 * and UBSan see:
 *   - with transient faults only, a client that sent nothing but
 *     well-formed requests, and neither reset nor shut down, gets one
 *     answer per request (none may be lost, whatever the split or order);
 *     with allocations refused too (AX_SIM_FAULTS=...,enomem), it may get
 *     fewer on a connection the server closed, never more;
 *   - the server drains: after server_drain() the loop runs out, and
 *     ax_loop_close() finds no handle left (no connection, timer or
 *     request forgotten);
 *   - memory is returned (libFuzzer's leak check, per input).
 *
 * Speed (docs/reliability.md has the figures): an input costs what its
 * operations need and little more. The loop settles only while an
 * answer is owed; the clients' small socket buffers let a 128 KiB file
 * stand for a large one; a client that reads the end of its connection
 * acknowledges it at once, so that the sim backend never waits for the
 * kernel's delayed ACK before it moves its clock.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"
#include "unix/sim.h"

enum {
  CLIENTS = 4,           /* Clients one input may open at once. */
  SETTLE_ROUNDS = 64,    /* Steps of virtual time with no answer, at most. */
  SETTLE_STEP_MS = 100,  /* One such step. */
  ADVANCE_MAX_RUNS = 64, /* Loop runs per ADVANCE, at most. */
  RESPONSE_TAIL = 8,     /* Bytes kept to find "HTTP/1.1" across reads. */
  CLIENT_READ_BYTES = 65536,
  /* The clients' receive buffer and the server's send buffer (the kernel
   * doubles both): a few KiB, so that a file of a few times that fills
   * them, as a large file fills a real network's. */
  SOCKET_BUFFER_BYTES = 8192,
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

/* The static files: big is larger than the sockets' buffers together
 * (SOCKET_BUFFER_BYTES) and than the route's read-and-write chunk (64
 * KiB), so that sendfile comes back short for real (the sim also
 * shortens it at random), the next chunk goes through the stream, and
 * sendfile takes over again after it. */
enum { STATIC_BIG_BYTES = 128 << 10, STATIC_SMALL_BYTES = 100 };
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
static bool enomem_injected; /* AX_SIM_FAULTS names enomem. */
static struct config config;
static struct client clients[CLIENTS];
static char client_buf[CLIENT_READ_BYTES];
/* Runs clients_read() before each poll of the server's loop; unreferenced,
 * so that the drain's ax_run() still ends when the server's handles do. */
static ax_prepare_t reader;

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
    /* Before connect(), which fixes the window's scale. */
    int size = SOCKET_BUFFER_BYTES;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
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

/* Acknowledge at once what was read. The kernel would delay the ACK
 * (always after a FIN, which puts it in delayed-ACK mode, and after
 * small segments once the connection looks interactive), and while the
 * server's socket has bytes unacknowledged, the sim backend waits a
 * millisecond of real time before each jump of its clock. */
static void client_ack(struct client *c) {
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/* Read what arrived; notice the end. A read that does not fill the
 * buffer took all there was: the next call reads on, without a read
 * that fails with EAGAIN now. */
static void client_read(struct client *c) {
  bool got = false;
  while (c->fd >= 0 && !c->ended) {
    ssize_t n = recv(c->fd, client_buf, sizeof(client_buf), 0);
    if (n > 0) {
      client_count(c, client_buf, (size_t)n);
      got = true;
      if ((size_t)n < sizeof(client_buf))
        break;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0 || errno != EAGAIN)
      c->ended = got = true;
    break;
  }
  if (got)
    client_ack(c);
}

/* Read every client that has something: one poll(2) for all of them,
 * rather than a read of each that mostly finds nothing. */
static void clients_read(void) {
  struct pollfd fds[CLIENTS];
  struct client *which[CLIENTS];
  nfds_t count = 0;
  for (int i = 0; i < CLIENTS; i++) {
    if (clients[i].fd < 0 || clients[i].ended)
      continue;
    fds[count].fd = clients[i].fd;
    fds[count].events = POLLIN;
    fds[count].revents = 0;
    which[count++] = &clients[i];
  }
  if (count == 0 || poll(fds, count, 0) <= 0)
    return;
  for (nfds_t i = 0; i < count; i++) {
    if (fds[i].revents != 0)
      client_read(which[i]);
  }
}

static void reader_run(ax_prepare_t *prepare) {
  (void)prepare;
  clients_read();
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
  for (int i = 0; i < ADVANCE_MAX_RUNS && !fired; i++)
    ax_run(&server.loop, AX_RUN_ONCE);
  ax_close(&timer.handle, NULL);
  ax_run(&server.loop, AX_RUN_NOWAIT); /* The close callback. */
}

static void op_run(struct input *in) {
  int runs = input_byte(in) % 8 + 1;
  for (int i = 0; i < runs; i++)
    ax_run(&server.loop, AX_RUN_NOWAIT);
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

/* Answers received by every client so far. */
static unsigned int clients_answers(void) {
  unsigned int answers = 0;
  for (int i = 0; i < CLIENTS; i++)
    answers += clients[i].answers;
  return answers;
}

/* Whether a client that kept to well-formed requests still waits for
 * an answer. */
static bool clients_owed(void) {
  for (int i = 0; i < CLIENTS; i++) {
    const struct client *c = &clients[i];
    if (c->fd >= 0 && c->clean && !c->ended && c->answers < c->requests)
      return true;
  }
  return false;
}

static void settle_stepped(ax_timer_t *timer) {
  (*(unsigned int *)timer->handle.data)++;
  ax_stop(timer->handle.loop);
}

/* Let every answer due arrive: the loop runs (the clients reading before
 * each poll) while some answer is owed, until SETTLE_ROUNDS steps of
 * virtual time pass with no answer; a step also bounds each jump of the
 * clock. Without an answer, not with a deadline for all of them: answers
 * to pipelined requests come one after the other, and two hundred
 * /delay?ms=30 need six seconds. Then, with transient faults only, check
 * that every client that kept to well-formed requests got each one
 * answered. Nothing is owed with every kind of fault: the drain does the
 * rest. */
/* Let the answers owed come, in steps of virtual time. */
static void settle_answers(void) {
  ax_timer_t step;
  unsigned int steps = 0;
  unsigned int answers = clients_answers();
  ax_timer_init(&server.loop, &step);
  step.handle.data = &steps;
  ax_timer_start(&step, settle_stepped, SETTLE_STEP_MS, SETTLE_STEP_MS);
  while (steps < SETTLE_ROUNDS && clients_owed()) {
    ax_run(&server.loop, AX_RUN_ONCE);
    if (clients_answers() != answers) {
      answers = clients_answers();
      steps = 0;
    }
  }
  ax_close(&step.handle, NULL);
  ax_run(&server.loop, AX_RUN_NOWAIT); /* The close callback. */
}

/* With transient faults only, every client that kept to well-formed
 * requests has one answer per request. A refused allocation (enomem) may
 * end a connection before its answers, so fewer on a closed connection
 * pass then; more answers than requests never do. */
static void check_answers(bool faults_visible) {
  if (faults_visible)
    return;
  if (clients_owed())
    settle_answers();
  for (int i = 0; i < CLIENTS; i++) {
    struct client *c = &clients[i];
    if (c->fd < 0 || !c->clean || c->answers == c->requests)
      continue;
    if (enomem_injected && c->ended && c->answers < c->requests)
      continue;
    fprintf(stderr, "client %d: %u requests, %u answers%s\n", i, c->requests,
            c->answers, c->ended ? ", closed" : "");
    abort();
  }
}

/* Drain the server: the loop must run out and close with no handle. The
 * clients go on reading (and acknowledging the server's end), unless the
 * input said they stop. */
static void server_finish_input(bool stall) {
  if (stall)
    ax_prepare_stop(&reader);
  server_drain(&server);
  int rc = ax_run(&server.loop, AX_RUN_DEFAULT);
  ax_close(&reader.handle, NULL);
  if (rc == 0)
    rc = ax_run(&server.loop, AX_RUN_NOWAIT); /* The reader's close. */
  if (rc != 0 || ax_loop_close(&server.loop) != 0) {
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
static void server_close_all(ax_handle_t *handle, void *arg) {
  (void)arg;
  if (!ax_is_closing(handle))
    ax_close(handle, NULL);
}

/* A start that failed with AX_ENOMEM (the sim refuses allocations when
 * AX_SIM_FAULTS names enomem): close what was made, as the example's
 * main() does, and check that nothing is left. */
static void server_abandon(void) {
  if (server.initialised) {
    server_close(&server);
    ax_walk(&server.loop, server_close_all, NULL);
    ax_run(&server.loop, AX_RUN_DEFAULT);
    if (ax_loop_close(&server.loop) != 0) {
      fprintf(stderr, "a server that failed to start left handles\n");
      abort();
    }
  }
  free(server.out);
}

/* Whether the server started; only an injected AX_ENOMEM may stop it. */
static bool server_open(void) {
  static char host[32];
  static unsigned int next;
  next = next % 65000 + 1;
  snprintf(host, sizeof(host), "127.1.%u.%u", next >> 8, next & 255);
  config.host = host;
  memset(&server, 0, sizeof(server));
  int rc = server_init(&server, &config);
  if (rc == 0)
    rc = server_listen(&server);
  /* Accepted sockets inherit the listener's send buffer. */
  ax_os_fd_t fd;
  int size = SOCKET_BUFFER_BYTES;
  if (rc == 0)
    rc = ax_fileno(&server.listener.stream.handle, &fd);
  if (rc == 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)))
    rc = AX_EINVAL;
  if (rc == 0)
    rc = ax_prepare_init(&server.loop, &reader);
  if (rc == 0)
    rc = ax_prepare_start(&reader, reader_run);
  if (rc == 0)
    ax_unref(&reader.handle);
  if (rc == AX_ENOMEM) {
    server_abandon();
    return false;
  }
  if (rc != 0) {
    fprintf(stderr, "the server did not start: %s\n", ax_err_name(rc));
    abort();
  }
  return true;
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
  const char *faults = getenv("AX_SIM_FAULTS");
  enomem_injected = faults != NULL && strstr(faults, "enomem") != NULL;
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
  uint8_t flags = input_byte(&in);
  bool all = (flags & 1) != 0;
  ax__sim_set(seed, rate, all);
  config_init();
  if (!server_open())
    return 0; /* Refused an allocation, and cleaned up: nothing to drive. */
  while (in.left > 0)
    op_apply(&in, input_byte(&in));
  check_answers(all && rate > 0);
  server_finish_input((flags & 2) != 0);
  return 0;
}
