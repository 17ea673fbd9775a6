/*
 * udp-echo.c: a UDP echo server, and a load mode that measures it.
 *
 * Every datagram that arrives goes back to its sender. What it shows:
 *
 * - Receiving into a buffer the alloc callback lends: one per server,
 *   as each datagram is answered (or copied) before the next is read.
 * - --batch (AX_UDP_RECVMMSG): on Linux many datagrams are read per
 *   system call into one large buffer, and the echoes sent from their
 *   callbacks leave together, many per sendmmsg(2). The buffer is lent
 *   until a callback without AX_UDP_MORE hands it back.
 * - Without --batch, an echo is tried with ax_udp_try_send(): no request,
 *   no copy. Only what the kernel cannot take now is copied and queued
 *   with ax_udp_send(), as it is always in batch mode.
 * - SIGINT or SIGTERM stops it cleanly.
 *
 * Usage:
 *   udp-echo [--port 7001] [--batch]            the server, on 127.0.0.1
 *   udp-echo --load N --port P [--size 64] [--window 64]
 *       send N datagrams of --size bytes to the server, keeping --window
 *       of them in flight (one more per echo), and count the echoes. A
 *       datagram lost is replaced after a second without progress; the
 *       load gives up after 10 such seconds in a row.
 * (--port 0 picks a free port.) The server prints "listening on
 * 127.0.0.1:PORT" once it receives; the load prints "sent=N echoed=M".
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#endif /* _WIN32 */

#include <axle.h>

enum {
  DEFAULT_PORT = 7001,
  MAX_DATAGRAM_BYTES = 65536, /* The largest UDP payload, rounded up. */
  STALL_MS = 1000,            /* Load: refill the window after this. */
  STALLS_MAX = 10,            /* Load: give up after this many in a row. */
  WINDOW_MAX = 4096,          /* Load: --window is at most this. */
};

struct app {
  ax_loop_t loop;
  ax_udp_t udp;
  ax_signal_t sigint, sigterm;
  ax_timer_t stall;        /* Load: the window's watchdog. */
  struct sockaddr_in peer; /* Load: the server. */
  char *buffer;            /* Lent to the handle by alloc_cb. */
  size_t buffer_len;       /* Its size. */
  char *payload;           /* Load: what each datagram carries. */
  size_t size;             /* Load: its length. */
  long total, sent, echoed, echoed_before;
  int stalls;
};

/* An echo that had to wait: the request and a copy of the datagram. */
struct echo {
  ax_udp_send_t req;
  size_t len;
  char data[];
};

static void on_alloc(ax_handle_t *handle, size_t suggested, ax_buf_t *buf) {
  struct app *app = handle->data;
  if (app->buffer == NULL) { /* Once: batch mode suggests a large one. */
    app->buffer = malloc(suggested);
    app->buffer_len = app->buffer != NULL ? suggested : 0;
  }
  *buf = ax_buf_init(app->buffer, app->buffer_len);
}

static void on_echo_sent(ax_udp_send_t *req, int status) {
  (void)status; /* A datagram may be lost anyway: nothing to do. */
  free(ax_container_of(req, struct echo, req));
}

static void echo_queue(ax_udp_t *udp, const char *data, size_t len,
                       const struct sockaddr *to) {
  struct echo *echo = malloc(sizeof(*echo) + len);
  if (echo == NULL)
    return; /* Out of memory: drop it, as the network may. */
  memcpy(echo->data, data, len);
  ax_buf_t buf = ax_buf_init(echo->data, len);
  if (ax_udp_send(&echo->req, udp, &buf, 1, to, on_echo_sent) != 0)
    free(echo);
}

static void on_datagram(ax_udp_t *udp, ptrdiff_t nread, const ax_buf_t *buf,
                        const struct sockaddr *from, unsigned int flags) {
  if (nread < 0)
    fprintf(stderr, "udp-echo: receive: %s\n", ax_strerror((int)nread));
  if (nread < 0 || from == NULL || (flags & AX_UDP_PARTIAL))
    return; /* An error, a buffer handed back, or a datagram cut short. */
  if (ax_udp_using_recvmmsg(udp)) {
    echo_queue(udp, buf->base, (size_t)nread, from); /* Leaves batched. */
    return;
  }
  ax_buf_t out = ax_buf_init(buf->base, (size_t)nread);
  if (ax_udp_try_send(udp, &out, 1, from) == AX_EAGAIN)
    echo_queue(udp, buf->base, (size_t)nread, from);
}

/* ---- Load mode ---- */

static void load_send(struct app *app) {
  if (app->sent >= app->total)
    return;
  ax_buf_t buf = ax_buf_init(app->payload, app->size);
  if (ax_udp_try_send(&app->udp, &buf, 1, (struct sockaddr *)&app->peer) >= 0)
    app->sent++;
}

static void load_stop(struct app *app) {
  ax_udp_recv_stop(&app->udp);
  ax_timer_stop(&app->stall);
}

static void on_echo(ax_udp_t *udp, ptrdiff_t nread, const ax_buf_t *buf,
                    const struct sockaddr *from, unsigned int flags) {
  (void)nread;
  (void)buf;
  (void)flags;
  struct app *app = udp->handle.data;
  if (from == NULL)
    return;
  if (++app->echoed >= app->total)
    load_stop(app);
  else
    load_send(app);
}

static void on_stall(ax_timer_t *timer) {
  struct app *app = ax_container_of(timer, struct app, stall);
  if (app->echoed != app->echoed_before) {
    app->echoed_before = app->echoed;
    app->stalls = 0;
    return;
  }
  if (++app->stalls >= STALLS_MAX) {
    load_stop(app);
    return;
  }
  /* Lost on the way: as many new datagrams as could be missing. */
  long missing = app->sent - app->echoed;
  app->total += missing; /* Count the echoes, not the attempts. */
  for (long i = 0; i < missing; i++)
    load_send(app);
}

static int load_start(struct app *app, long window) {
  int err = ax_udp_recv_start(&app->udp, on_alloc, on_echo);
  if (err == 0)
    err = ax_timer_start(&app->stall, on_stall, STALL_MS, STALL_MS);
  for (long i = 0; err == 0 && i < window; i++)
    load_send(app);
  return err;
}

/* ---- Both ---- */

static void on_signal(ax_signal_t *signal, int signum) {
  (void)signum;
  struct app *app = signal->handle.data;
  ax_udp_recv_stop(&app->udp);
  ax_signal_stop(&app->sigint);
  ax_signal_stop(&app->sigterm);
  ax_timer_stop(&app->stall);
}

static void close_all(ax_handle_t *handle, void *arg) {
  (void)arg;
  if (!ax_is_closing(handle))
    ax_close(handle, NULL);
}

static int serve(struct app *app, int port) {
  struct sockaddr_in addr;
  int len = (int)sizeof(addr);
  int err = ax_ip4_addr("127.0.0.1", port, &addr);
  if (err == 0)
    err = ax_udp_bind(&app->udp, (struct sockaddr *)&addr, 0);
  if (err == 0)
    err = ax_udp_recv_start(&app->udp, on_alloc, on_datagram);
  if (err == 0)
    err = ax_udp_getsockname(&app->udp, (struct sockaddr *)&addr, &len);
  if (err == 0) {
    printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
  }
  return err;
}

int main(int argc, char **argv) {
  static struct app app;
  int port = DEFAULT_PORT;
  long window = 64;
  unsigned int flags = 0;
  app.size = 64;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--batch") == 0)
      flags |= AX_UDP_RECVMMSG;
    else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
      port = atoi(argv[++i]);
    else if (strcmp(argv[i], "--load") == 0 && i + 1 < argc)
      app.total = atol(argv[++i]);
    else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
      app.size = (size_t)atol(argv[++i]);
    else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc)
      window = atol(argv[++i]);
    else {
      fprintf(stderr, "usage: udp-echo [--port P] [--batch] "
                      "[--load N [--size S] [--window W]]\n");
      return 2;
    }
  }
  if (port < 0 || port > 65535 || app.total < 0 || app.size < 1 ||
      app.size > MAX_DATAGRAM_BYTES - 1 || window < 1 || window > WINDOW_MAX) {
    fprintf(stderr, "udp-echo: an argument is out of range\n");
    return 2;
  }
  if (ax_loop_init(&app.loop) != 0 ||
      ax_udp_init_ex(&app.loop, &app.udp, flags) != 0)
    return 1;
  app.udp.handle.data = &app;
  ax_timer_init(&app.loop, &app.stall);
  ax_signal_init(&app.loop, &app.sigint);
  ax_signal_init(&app.loop, &app.sigterm);
  app.sigint.handle.data = app.sigterm.handle.data = &app;
  ax_signal_start(&app.sigint, SIGINT, on_signal);
  ax_signal_start(&app.sigterm, SIGTERM, on_signal);
  int err;
  if (app.total > 0) {
    app.payload = calloc(1, app.size);
    err = ax_ip4_addr("127.0.0.1", port, &app.peer);
    if (err == 0)
      err = app.payload != NULL ? load_start(&app, window) : AX_ENOMEM;
  } else {
    err = serve(&app, port);
  }
  if (err == 0) {
    ax_unref(&app.sigint.handle); /* The work, not the signals, keeps it. */
    ax_unref(&app.sigterm.handle);
    err = ax_run(&app.loop, AX_RUN_DEFAULT);
  }
  if (err != 0)
    fprintf(stderr, "udp-echo: %s\n", ax_strerror(err));
  if (app.total > 0)
    printf("sent=%ld echoed=%ld\n", app.sent, app.echoed);
  ax_walk(&app.loop, close_all, NULL);
  ax_run(&app.loop, AX_RUN_DEFAULT);
  ax_loop_close(&app.loop);
  free(app.buffer);
  free(app.payload);
  return err != 0 || (app.total > 0 && app.echoed < app.total) ? 1 : 0;
}
