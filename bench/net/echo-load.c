/*
 * bench/net/echo-load.c: a load generator for echo servers.
 *
 * It is written on raw epoll and non-blocking sockets, not on axle or
 * libuv, so that it favours neither of the two servers it measures
 * (examples/echo-server.c and bench/net/echo-uv.c). It talks to
 * 127.0.0.1 only, and every mode is bounded in count and in time.
 *
 *   echo-load pingpong --port P [--count N | --seconds T] [--size S]
 *       One connection, N round trips of an S-byte message (or as many
 *       as T seconds allow).
 *   echo-load echo --port P [--connections C] [--size S]
 *                  [--seconds T | --count N]
 *       C connections, each keeping one S-byte message in flight, for T
 *       seconds or until N messages came back in all.
 *   echo-load idle --port P [--connections C]
 *       Open C connections, send one byte on each and wait for its echo,
 *       then print "ready" and hold them until standard input ends or
 *       SIGINT/SIGTERM arrives (or --hold-s passes); then send one more
 *       byte on every connection and count the ones that answer.
 *   echo-load stall --port P [--connections C] [--size S]
 *       Open C connections as idle does, then send S-byte chunks on each
 *       without ever reading the echoes, until no connection has taken a
 *       byte for a second (the server stopped reading: its answers fill
 *       this side's receive buffers, its write queues and then its own
 *       receive buffers). Print "ready" and hold them as idle does; then
 *       report the bytes sent.
 *
 * Common options: --timeout-s (the limit of every phase, default 60) and
 * --server-pid PID, which makes the tool read the server's CPU time
 * (utime + stime from /proc/PID/stat) at the start and the end of the
 * measured phase, so that connecting is not counted in it. It reports
 * the user and system parts as well.
 *
 * Each mode prints one line of key=value pairs on standard output, which
 * scripts/bench-net.sh reads. Exit status: 0 when every connection did
 * what was asked of it, 1 otherwise, 2 for bad arguments.
 *
 * Linux only (epoll); bench/net/meson.build builds it only there.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
  /* Connections being opened at once. Kept well under the kernel's accept
   * queue (somaxconn, 4096 by default) so that no handshake is dropped
   * and retried a second later, which would measure the retry timer. */
  OPEN_WINDOW = 256,
  MAX_EVENTS = 512,          /* Events taken per epoll_wait. */
  MAX_CONNECTIONS = 60000,   /* About the ephemeral port range. */
  MAX_SIZE_BYTES = 1 << 20,  /* The largest message. */
  DEFAULT_TIMEOUT_S = 60,    /* The limit of each phase. */
  DEFAULT_PINGPONG = 100000, /* Round trips when no --count is given. */
  DEFAULT_ECHO_SECONDS = 5,  /* Echo run length when no limit is given. */
  DEFAULT_SIZE_BYTES = 32,   /* A small message. */
  DEFAULT_CONNECTIONS = 50,  /* For echo and idle. */
  DEFAULT_PORT = 7000,       /* As examples/echo-server.c. */
  WAIT_SLICE_MS = 100,       /* epoll_wait timeout, to check deadlines. */
  NS_PER_S = 1000000000,     /* Nanoseconds per second. */
  NS_PER_MS = 1000000,       /* Nanoseconds per millisecond. */
};

/* Where one connection is in its life. */
enum conn_state {
  CONN_CLOSED = 0, /* Not opened yet. */
  CONN_CONNECTING, /* connect() in progress. */
  CONN_FIRST,      /* Sent its first byte, waiting for the echo. */
  CONN_READY,      /* Open and answered; idle or exchanging messages. */
  CONN_FAILED,     /* Refused, reset or closed by the server. */
};

/* One client connection. */
struct conn {
  int fd;                /* The socket, or -1. */
  enum conn_state state; /* See above. */
  size_t sent;           /* Bytes of the current message written. */
  size_t received;       /* Bytes of the current message echoed. */
  bool want_out;         /* EPOLLOUT is registered: a write was partial. */
};

/* What the command line asked for. */
struct options {
  const char *mode;   /* "pingpong", "echo", "idle" or "stall". */
  int port;           /* The server's port on 127.0.0.1. */
  size_t connections; /* How many connections. */
  size_t size_bytes;  /* The message size. */
  uint64_t count;     /* Messages in all; 0 for no count limit. */
  uint64_t seconds;   /* Echo run length; 0 for no time limit. */
  uint64_t timeout_s; /* The limit of each phase. */
  uint64_t hold_s;    /* Idle: the longest hold. */
  long server_pid;    /* Whose CPU time to read, or 0. */
};

/* The state of one run. */
struct load {
  struct options opt;      /* The command line. */
  int ep;                  /* The epoll descriptor. */
  struct sockaddr_in addr; /* 127.0.0.1:port. */
  struct conn *conns;      /* opt.connections of them. */
  char *msg;               /* The message sent, opt.size_bytes long. */
  char *scratch;           /* Where echoes are read to. */
  size_t ready;            /* Connections in CONN_READY. */
  size_t failed;           /* Connections in CONN_FAILED. */
  uint64_t messages;       /* Messages echoed in the measured phase. */
  uint64_t deadline_ns;    /* When the current phase gives up. */
  int port_low;            /* The ephemeral port range, from /proc. */
  int port_high;           /* Its last port. */
  int port_next;           /* The next local port to try. */
};

static volatile sig_atomic_t stop_requested;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* A process's CPU time in seconds, all its threads. */
struct cpu_times {
  double user_s;   /* utime. */
  double system_s; /* stime. */
};

/* Read the server's CPU time; false when it cannot be read. The command
 * name in field 2 may hold spaces and parentheses, so the fields are
 * counted from the last ')'. */
static bool server_cpu(long pid, struct cpu_times *t) {
  char path[64], text[1024];
  if (pid <= 0)
    return false;
  snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return false;
  size_t n = fread(text, 1, sizeof(text) - 1, f);
  fclose(f);
  text[n] = '\0';
  char *p = strrchr(text, ')');
  unsigned long long utime, stime;
  /* After ')': state (field 3) ... utime is field 14, stime field 15. */
  if (p == NULL || sscanf(p + 1,
                          " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u"
                          " %llu %llu",
                          &utime, &stime) != 2)
    return false;
  double tick = (double)sysconf(_SC_CLK_TCK);
  t->user_s = (double)utime / tick;
  t->system_s = (double)stime / tick;
  return true;
}

static int epoll_set(struct load *l, size_t index, int op, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.u64 = index};
  return epoll_ctl(l->ep, op, l->conns[index].fd, &ev);
}

static void conn_fail(struct load *l, struct conn *c) {
  if (c->state == CONN_READY)
    l->ready--;
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  c->state = CONN_FAILED;
  l->failed++;
}

/* Write what is left of the current message. Returns false when the
 * connection failed. A partial write registers EPOLLOUT until done. */
static bool conn_send(struct load *l, size_t index) {
  struct conn *c = &l->conns[index];
  while (c->sent < l->opt.size_bytes) {
    ssize_t n = send(c->fd, l->msg + c->sent, l->opt.size_bytes - c->sent,
                     MSG_NOSIGNAL);
    if (n > 0) {
      c->sent += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN) {
      if (!c->want_out &&
          epoll_set(l, index, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT) != 0)
        break;
      c->want_out = true;
      return true;
    }
    break;
  }
  if (c->sent < l->opt.size_bytes) {
    conn_fail(l, c);
    return false;
  }
  if (c->want_out && epoll_set(l, index, EPOLL_CTL_MOD, EPOLLIN) != 0) {
    conn_fail(l, c);
    return false;
  }
  c->want_out = false;
  return true;
}

/* Read the range connect() takes local ports from. Without the file
 * (not Linux's /proc), the kernel's default range. */
static void load_port_range(struct load *l) {
  FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
  l->port_low = 32768;
  l->port_high = 60999;
  if (f != NULL) {
    if (fscanf(f, "%d %d", &l->port_low, &l->port_high) != 2 ||
        l->port_low < 1024 || l->port_high <= l->port_low) {
      l->port_low = 32768;
      l->port_high = 60999;
    }
    fclose(f);
  }
  l->port_next = l->port_low;
}

/* Bind a client socket to the next free local port of the ephemeral
 * range. Left to connect(), Linux hands out the even ports of the range
 * first and, once those are taken (about 14,000 connections), scans all
 * of them again before every odd one: 19,000 connections then take half
 * a minute of system time. Walking the range here costs one bind each. */
static bool conn_bind(struct load *l, int fd) {
  int span = l->port_high - l->port_low + 1;
  struct sockaddr_in local = l->addr;
  for (int tries = 0; tries < span; tries++) {
    local.sin_port = htons((uint16_t)l->port_next);
    l->port_next = l->port_next == l->port_high ? l->port_low
                                                : l->port_next + 1;
    if (bind(fd, (struct sockaddr *)&local, sizeof(local)) == 0)
      return true;
    if (errno != EADDRINUSE)
      return false;
  }
  return false;
}

/* Start connecting connection @p index. */
static void conn_start(struct load *l, size_t index) {
  struct conn *c = &l->conns[index];
  int one = 1;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    perror("echo-load: socket");
    conn_fail(l, c);
    return;
  }
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  c->state = CONN_CONNECTING;
  if (!conn_bind(l, c->fd)) {
    perror("echo-load: bind");
    conn_fail(l, c);
    return;
  }
  int rc = connect(c->fd, (struct sockaddr *)&l->addr, sizeof(l->addr));
  if (rc != 0 && errno != EINPROGRESS) {
    perror("echo-load: connect");
    conn_fail(l, c);
    return;
  }
  if (epoll_set(l, index, EPOLL_CTL_ADD, EPOLLOUT) != 0)
    conn_fail(l, c);
}

/* The socket became writable while connecting: send the first byte. */
static void conn_connected(struct load *l, size_t index) {
  struct conn *c = &l->conns[index];
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0 ||
      send(c->fd, "x", 1, MSG_NOSIGNAL) != 1 ||
      epoll_set(l, index, EPOLL_CTL_MOD, EPOLLIN) != 0) {
    conn_fail(l, c);
    return;
  }
  c->state = CONN_FIRST;
}

/* Read one byte: the answer to a one-byte message. Returns 1 when it
 * came, 0 when nothing is there yet (a spurious wakeup), -1 when the
 * connection ended or failed. */
static int conn_read_byte(struct conn *c) {
  char byte;
  ssize_t n;
  do {
    n = recv(c->fd, &byte, 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n == 1)
    return 1;
  return n < 0 && errno == EAGAIN ? 0 : -1;
}

/* An event in the open phase. A connection that is already open should
 * hear nothing: data or an end from the server there is a failure. */
static void load_open_event(struct load *l, size_t index, uint32_t events) {
  struct conn *c = &l->conns[index];
  int got;
  switch (c->state) {
  case CONN_CONNECTING:
    if (events & EPOLLOUT)
      conn_connected(l, index);
    else
      conn_fail(l, c);
    break;
  case CONN_FIRST:
    got = conn_read_byte(c);
    if (got > 0) {
      c->state = CONN_READY;
      l->ready++;
    } else if (got < 0) {
      conn_fail(l, c);
    }
    break;
  case CONN_READY:
    conn_fail(l, c);
    break;
  default:
    break;
  }
}

/* Wait for events until the phase's deadline. Returns the count, 0 on a
 * quiet slice, -1 when the deadline passed or epoll failed. */
static int load_wait(struct load *l, struct epoll_event *events) {
  if (now_ns() >= l->deadline_ns)
    return -1;
  int n = epoll_wait(l->ep, events, MAX_EVENTS, WAIT_SLICE_MS);
  if (n < 0 && errno == EINTR)
    return 0;
  return n;
}

/* Open every connection, at most OPEN_WINDOW at a time, and have each one
 * answer a one-byte message. Returns true when all of them did. */
static bool load_open(struct load *l) {
  struct epoll_event events[MAX_EVENTS];
  size_t next = 0;
  l->deadline_ns = now_ns() + l->opt.timeout_s * NS_PER_S;
  while (l->ready + l->failed < l->opt.connections) {
    while (next < l->opt.connections &&
           next - l->ready - l->failed < OPEN_WINDOW)
      conn_start(l, next++);
    int n = load_wait(l, events);
    if (n < 0)
      break;
    for (int i = 0; i < n; i++)
      load_open_event(l, (size_t)events[i].data.u64, events[i].events);
  }
  return l->ready == l->opt.connections;
}

/* Data arrived on a connection in the message phase. Returns true when
 * it completed a message. */
static bool conn_receive(struct load *l, size_t index) {
  struct conn *c = &l->conns[index];
  size_t want = l->opt.size_bytes - c->received;
  ssize_t n;
  do {
    n = recv(c->fd, l->scratch, want, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN)
    return false;
  if (n <= 0) {
    conn_fail(l, c);
    return false;
  }
  c->received += (size_t)n;
  if (c->received < l->opt.size_bytes)
    return false;
  c->received = 0;
  c->sent = 0;
  return true;
}

static bool load_messages_done(const struct load *l, uint64_t end_ns) {
  if (l->opt.count != 0 && l->messages >= l->opt.count)
    return true;
  if (end_ns != 0 && now_ns() >= end_ns)
    return true;
  return l->ready == 0;
}

/* One connection's events in the message phase. */
static void load_message_event(struct load *l, const struct epoll_event *ev,
                               bool stopping) {
  size_t index = (size_t)ev->data.u64;
  struct conn *c = &l->conns[index];
  if (c->state != CONN_READY)
    return;
  if ((ev->events & EPOLLOUT) && !conn_send(l, index))
    return;
  if ((ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP)) &&
      conn_receive(l, index)) {
    l->messages++;
    if (!stopping)
      conn_send(l, index);
  }
}

/* Every connection keeps one message in flight until the count or the
 * time is reached. Returns the seconds it took. */
static double load_messages(struct load *l) {
  struct epoll_event events[MAX_EVENTS];
  uint64_t start = now_ns();
  uint64_t end = l->opt.seconds ? start + l->opt.seconds * NS_PER_S : 0;
  l->deadline_ns = start + l->opt.timeout_s * NS_PER_S;
  for (size_t i = 0; i < l->opt.connections; i++)
    if (l->conns[i].state == CONN_READY)
      conn_send(l, i);
  while (!load_messages_done(l, end)) {
    int n = load_wait(l, events);
    if (n < 0)
      break;
    for (int i = 0; i < n; i++)
      load_message_event(l, &events[i], load_messages_done(l, end));
  }
  return (double)(now_ns() - start) / NS_PER_S;
}

static void print_rate(const struct load *l, double seconds,
                       const struct cpu_times *t0, const struct cpu_times *t1) {
  double rate = seconds > 0 ? (double)l->messages / seconds : 0;
  printf("mode=%s connections=%zu size=%zu messages=%llu seconds=%.3f "
         "per_s=%.0f",
         l->opt.mode, l->opt.connections, l->opt.size_bytes,
         (unsigned long long)l->messages, seconds, rate);
  if (t0 != NULL && t1 != NULL) {
    double user = t1->user_s - t0->user_s;
    double system = t1->system_s - t0->system_s;
    double cpu = user + system;
    printf(" server_cpu_s=%.3f server_user_s=%.3f server_system_s=%.3f"
           " per_server_cpu_s=%.0f",
           cpu, user, system, cpu > 0 ? (double)l->messages / cpu : 0);
  }
  printf(" failed=%zu\n", l->failed);
}

static void on_stop_signal(int signum) {
  (void)signum;
  stop_requested = 1;
}

/* Hold the connections until standard input ends, a signal arrives or
 * the hold limit passes. Signals interrupt poll() (no SA_RESTART). */
static void idle_hold(const struct load *l) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_stop_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  printf("ready connections=%zu\n", l->ready);
  fflush(stdout);
  uint64_t end = now_ns() + l->opt.hold_s * NS_PER_S;
  char buf[256];
  while (!stop_requested && now_ns() < end) {
    struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
    int n = poll(&pfd, 1, WAIT_SLICE_MS);
    if (n > 0 && read(STDIN_FILENO, buf, sizeof(buf)) <= 0)
      break;
  }
}

/* Send one byte on every open connection and count the answers. */
static size_t idle_check(struct load *l) {
  struct epoll_event events[MAX_EVENTS];
  size_t asked = 0, answered = 0, failed_before = l->failed;
  for (size_t i = 0; i < l->opt.connections; i++) {
    struct conn *c = &l->conns[i];
    if (c->state == CONN_READY && send(c->fd, "y", 1, MSG_NOSIGNAL) == 1) {
      c->state = CONN_FIRST;
      asked++;
    }
  }
  l->deadline_ns = now_ns() + l->opt.timeout_s * NS_PER_S;
  while (answered + (l->failed - failed_before) < asked) {
    int n = load_wait(l, events);
    if (n < 0)
      break;
    for (int i = 0; i < n; i++) {
      struct conn *c = &l->conns[events[i].data.u64];
      int got = c->state == CONN_FIRST ? conn_read_byte(c) : 0;
      if (got > 0) {
        c->state = CONN_READY;
        answered++;
      } else if (got < 0) {
        conn_fail(l, c);
      }
    }
  }
  return answered;
}

enum {
  STALL_QUIET_NS = NS_PER_S, /* No progress this long: the server stalled. */
  STALL_PAUSE_MS = 20,       /* Between two passes over the connections. */
};

/* Send on connection c until the kernel takes no more: the bytes sent, or
 * -1 when the connection failed. */
static long long stall_send(struct load *l, struct conn *c) {
  long long sent = 0;
  for (;;) {
    ssize_t n = send(c->fd, l->msg, l->opt.size_bytes,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return sent;
    return -1;
  }
}

/* Fill every connection until none takes a byte for STALL_QUIET_NS, or
 * the phase's limit passes. Returns the bytes sent in all. */
static unsigned long long stall_fill(struct load *l) {
  unsigned long long total = 0;
  uint64_t start = now_ns();
  uint64_t quiet_since = start;
  l->deadline_ns = start + l->opt.timeout_s * NS_PER_S;
  while (now_ns() - quiet_since < STALL_QUIET_NS && now_ns() < l->deadline_ns) {
    for (size_t i = 0; i < l->opt.connections; i++) {
      struct conn *c = &l->conns[i];
      if (c->state != CONN_READY)
        continue;
      long long sent = stall_send(l, c);
      if (sent < 0) {
        conn_fail(l, c);
      } else if (sent > 0) {
        total += (unsigned long long)sent;
        quiet_since = now_ns();
      }
    }
    poll(NULL, 0, STALL_PAUSE_MS);
  }
  return total;
}

static int run_stall(struct load *l) {
  bool opened = load_open(l);
  if (!opened)
    fprintf(stderr, "echo-load: %zu of %zu connections failed to open\n",
            l->failed, l->opt.connections);
  unsigned long long sent = stall_fill(l);
  idle_hold(l);
  printf("mode=stall connections=%zu opened=%zu sent=%llu failed=%zu\n",
         l->opt.connections, l->opt.connections - l->failed, sent, l->failed);
  return opened && l->failed == 0 ? 0 : 1;
}

/* Close every connection with a reset (SO_LINGER of 0) rather than a
 * FIN: an orderly close from this side would leave each client port in
 * TIME_WAIT for a minute, and the next run's connect() would then search
 * a port range that is mostly taken (tens of seconds of system time for
 * 19,000 connections). */
static void load_close_all(struct load *l) {
  struct linger reset = {.l_onoff = 1, .l_linger = 0};
  for (size_t i = 0; i < l->opt.connections; i++) {
    struct conn *c = &l->conns[i];
    if (c->fd < 0)
      continue;
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    close(c->fd);
    c->fd = -1;
  }
}

static int run_idle(struct load *l) {
  bool opened = load_open(l);
  if (!opened)
    fprintf(stderr, "echo-load: %zu of %zu connections failed to open\n",
            l->failed, l->opt.connections);
  idle_hold(l);
  size_t answered = idle_check(l);
  printf("mode=idle connections=%zu opened=%zu answered=%zu\n",
         l->opt.connections, l->opt.connections - l->failed, answered);
  return opened && answered == l->opt.connections ? 0 : 1;
}

static int run_messages(struct load *l) {
  if (!load_open(l)) {
    fprintf(stderr, "echo-load: %zu of %zu connections failed to open\n",
            l->failed, l->opt.connections);
    return 1;
  }
  struct cpu_times t0, t1;
  bool have_cpu = server_cpu(l->opt.server_pid, &t0);
  double seconds = load_messages(l);
  have_cpu = have_cpu && server_cpu(l->opt.server_pid, &t1);
  print_rate(l, seconds, have_cpu ? &t0 : NULL, have_cpu ? &t1 : NULL);
  if (l->opt.count != 0 && l->messages < l->opt.count)
    return 1;
  return l->failed == 0 ? 0 : 1;
}

static int usage(void) {
  fprintf(stderr,
          "usage: echo-load pingpong|echo|idle|stall [--port P]\n"
          "         [--connections C]\n"
          "         [--size S] [--count N] [--seconds T] [--timeout-s T]\n"
          "         [--hold-s T] [--server-pid PID]\n");
  return 2;
}

/* Parse "--name value" pairs. Returns false on anything unknown. */
static bool parse_options(int argc, char **argv, struct options *o) {
  if (argc < 2)
    return false;
  o->mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const char *name = argv[i];
    unsigned long long v = strtoull(argv[i + 1], NULL, 10);
    if (strcmp(name, "--port") == 0)
      o->port = (int)v;
    else if (strcmp(name, "--connections") == 0)
      o->connections = (size_t)v;
    else if (strcmp(name, "--size") == 0)
      o->size_bytes = (size_t)v;
    else if (strcmp(name, "--count") == 0)
      o->count = v;
    else if (strcmp(name, "--seconds") == 0)
      o->seconds = v;
    else if (strcmp(name, "--timeout-s") == 0)
      o->timeout_s = v;
    else if (strcmp(name, "--hold-s") == 0)
      o->hold_s = v;
    else if (strcmp(name, "--server-pid") == 0)
      o->server_pid = (long)v;
    else
      return false;
  }
  return argc % 2 == 0;
}

/* Fill in the defaults of a mode and check the limits. */
static bool check_options(struct options *o) {
  bool pingpong = strcmp(o->mode, "pingpong") == 0;
  if (pingpong) {
    o->connections = 1;
    if (o->count == 0 && o->seconds == 0)
      o->count = DEFAULT_PINGPONG;
  } else if (strcmp(o->mode, "echo") == 0) {
    if (o->count == 0 && o->seconds == 0)
      o->seconds = DEFAULT_ECHO_SECONDS;
  } else if (strcmp(o->mode, "idle") != 0 && strcmp(o->mode, "stall") != 0) {
    return false;
  }
  if (o->hold_s == 0)
    o->hold_s = o->timeout_s;
  return o->port > 0 && o->port < 65536 && o->connections > 0 &&
         o->connections <= MAX_CONNECTIONS && o->size_bytes > 0 &&
         o->size_bytes <= MAX_SIZE_BYTES && o->timeout_s > 0;
}

static bool load_init(struct load *l) {
  l->addr.sin_family = AF_INET;
  l->addr.sin_port = htons((uint16_t)l->opt.port);
  l->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  load_port_range(l);
  l->ep = epoll_create1(EPOLL_CLOEXEC);
  l->conns = calloc(l->opt.connections, sizeof(*l->conns));
  l->msg = malloc(l->opt.size_bytes);
  l->scratch = malloc(l->opt.size_bytes);
  if (l->ep < 0 || l->conns == NULL || l->msg == NULL || l->scratch == NULL)
    return false;
  for (size_t i = 0; i < l->opt.size_bytes; i++)
    l->msg[i] = (char)('a' + i % 26);
  for (size_t i = 0; i < l->opt.connections; i++)
    l->conns[i].fd = -1;
  return true;
}

int main(int argc, char **argv) {
  struct load l = {
      .opt = {.port = DEFAULT_PORT,
              .connections = DEFAULT_CONNECTIONS,
              .size_bytes = DEFAULT_SIZE_BYTES,
              .timeout_s = DEFAULT_TIMEOUT_S},
  };
  if (!parse_options(argc, argv, &l.opt) || !check_options(&l.opt))
    return usage();
  if (!load_init(&l)) {
    perror("echo-load");
    return 1;
  }
  int rc;
  if (strcmp(l.opt.mode, "idle") == 0)
    rc = run_idle(&l);
  else if (strcmp(l.opt.mode, "stall") == 0)
    rc = run_stall(&l);
  else
    rc = run_messages(&l);
  load_close_all(&l);
  return rc;
}
