/*
 * bench/udp/udp-load.c: a load generator for UDP echo servers.
 *
 * Written on raw Linux sockets (recvmmsg, sendmmsg, poll), not on axle or
 * libuv, so that it favours neither of the servers it measures
 * (examples/udp-echo.c and bench/udp/udp-echo-uv.c). It talks to
 * 127.0.0.1 only and is bounded in time.
 *
 *   udp-load --port P [--size 64] [--window 64] [--seconds 5]
 *            [--server-pid PID]
 *
 * It keeps --window datagrams of --size bytes in flight from one socket,
 * sending as many new ones as came back, for --seconds. A window that
 * makes no progress for STALL_MS is taken as lost and sent again (a
 * datagram dropped by a full receive buffer). With --server-pid it reads
 * the server's CPU time at the start and the end (its run time from
 * /proc/PID/schedstat, in nanoseconds; utime + stime of /proc/PID/stat,
 * in clock ticks, where schedstat is missing, and for the user/system
 * split), and reports echoes per server CPU-second.
 *
 * Prints one line of key=value pairs, which scripts/bench-udp.sh reads.
 * Exit status 0 when some echoes came back, 1 otherwise, 2 for bad
 * arguments.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
  BATCH = 64,             /* Datagrams per sendmmsg / recvmmsg. */
  WINDOW_MAX = 1024,      /* --window is at most this. */
  SIZE_MAX_BYTES = 65000, /* --size is at most this. */
  STALL_MS = 200,         /* No echo for this long: the window is lost. */
  SECONDS_MAX = 600,      /* --seconds is at most this. */
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The server's CPU time in seconds (user, system); false if unreadable.
 * Fields are counted from the last ')', as the name may hold spaces. */
static bool server_cpu(long pid, double *user_s, double *system_s) {
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
  if (p == NULL || sscanf(p + 1,
                          " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u"
                          " %llu %llu",
                          &utime, &stime) != 2)
    return false;
  double tick = (double)sysconf(_SC_CLK_TCK);
  *user_s = (double)utime / tick;
  *system_s = (double)stime / tick;
  return true;
}

struct load {
  int fd;
  size_t size;
  long window;
  long inflight;
  long echoed;
  long lost;
  char *out;            /* The payload every datagram carries. */
  char in[BATCH][2048]; /* Where echoes land (cut to 2 KiB). */
};

/* Send up to count datagrams: how many left. */
static long load_send(struct load *l, long count) {
  struct mmsghdr msgs[BATCH];
  struct iovec iov = {l->out, l->size};
  long sent = 0;
  while (sent < count) {
    int n = (int)(count - sent < BATCH ? count - sent : BATCH);
    memset(msgs, 0, sizeof(msgs[0]) * (size_t)n);
    for (int i = 0; i < n; i++) {
      msgs[i].msg_hdr.msg_iov = &iov;
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(l->fd, msgs, (unsigned int)n, MSG_DONTWAIT);
    if (r <= 0)
      break;
    sent += r;
  }
  return sent;
}

/* Take every echo waiting: how many. */
static long load_recv(struct load *l) {
  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH];
  long got = 0;
  for (;;) {
    memset(msgs, 0, sizeof(msgs));
    for (int i = 0; i < BATCH; i++) {
      iovs[i].iov_base = l->in[i];
      iovs[i].iov_len = sizeof(l->in[i]);
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int r = recvmmsg(l->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (r <= 0)
      break;
    got += r;
  }
  return got;
}

static void load_run(struct load *l, double seconds) {
  uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);
  uint64_t last_progress = now_ns();
  struct pollfd pfd = {l->fd, POLLIN, 0};
  for (uint64_t now = now_ns(); now < end; now = now_ns()) {
    if (l->inflight < l->window)
      l->inflight += load_send(l, l->window - l->inflight);
    (void)poll(&pfd, 1, 5);
    long got = load_recv(l);
    if (got > 0) {
      l->echoed += got;
      l->inflight -= got < l->inflight ? got : l->inflight;
      last_progress = now_ns();
    } else if (now_ns() - last_progress > (uint64_t)STALL_MS * 1000000u) {
      l->lost += l->inflight;
      l->inflight = 0;
      last_progress = now_ns();
    }
  }
}

/* The server's time on a CPU in seconds, to the nanosecond: the first
 * field of /proc/PID/schedstat (its main thread, which is all of a
 * single-threaded server). /proc/PID/stat counts in clock ticks, too
 * coarse for a server that sleeps most of the time on a busy machine. */
static bool server_run_s(long pid, double *run_s) {
  char path[64];
  unsigned long long ns;
  if (pid <= 0)
    return false;
  snprintf(path, sizeof(path), "/proc/%ld/schedstat", pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return false;
  bool ok = fscanf(f, "%llu", &ns) == 1;
  fclose(f);
  *run_s = (double)ns / 1e9;
  return ok;
}

int main(int argc, char **argv) {
  static struct load l;
  int port = 0;
  long pid = 0;
  double seconds = 5;
  l.size = 64;
  l.window = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--port") == 0)
      port = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--size") == 0)
      l.size = (size_t)atol(argv[i + 1]);
    else if (strcmp(argv[i], "--window") == 0)
      l.window = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--seconds") == 0)
      seconds = atof(argv[i + 1]);
    else if (strcmp(argv[i], "--server-pid") == 0)
      pid = atol(argv[i + 1]);
    else
      port = -1;
  }
  if (port <= 0 || port > 65535 || l.size < 1 || l.size > SIZE_MAX_BYTES ||
      l.window < 1 || l.window > WINDOW_MAX || !(seconds > 0) ||
      seconds > SECONDS_MAX) {
    fprintf(stderr, "usage: udp-load --port P [--size S] [--window W] "
                    "[--seconds T] [--server-pid PID]\n");
    return 2;
  }
  l.out = calloc(1, l.size);
  l.fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (l.out == NULL || l.fd < 0 ||
      connect(l.fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
    perror("udp-load");
    return 1;
  }
  double user0 = 0, sys0 = 0, user1 = 0, sys1 = 0, run0 = 0, run1 = 0;
  bool cpu = server_cpu(pid, &user0, &sys0);
  bool run = server_run_s(pid, &run0);
  uint64_t start = now_ns();
  load_run(&l, seconds);
  double elapsed = (double)(now_ns() - start) / 1e9;
  cpu = cpu && server_cpu(pid, &user1, &sys1);
  run = run && server_run_s(pid, &run1);
  double server_s = run ? run1 - run0 : (user1 - user0) + (sys1 - sys0);
  printf("echoed=%ld lost=%ld seconds=%.2f per_s=%.0f", l.echoed, l.lost,
         elapsed, (double)l.echoed / elapsed);
  if (cpu && server_s > 0)
    printf(" per_server_cpu_s=%.0f server_user_s=%.2f server_system_s=%.2f",
           (double)l.echoed / server_s, user1 - user0, sys1 - sys0);
  printf("\n");
  close(l.fd);
  free(l.out);
  return l.echoed > 0 ? 0 : 1;
}
