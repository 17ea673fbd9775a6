/*
 * bench/udp/udp-echo-uv.c: examples/udp-echo.c's server written on libuv,
 * for scripts/bench-udp.sh to run side by side with axle's.
 *
 * The same program in libuv's terms, each library used its best way: one
 * receive buffer, lent by the alloc callback (with --batch, UV_UDP_RECVMMSG
 * and a buffer of as many 64 KiB slots as axle's batch suggests); every
 * echo tried with uv_udp_try_send(), no request and no copy, and only one
 * the kernel refuses copied and queued with uv_udp_send(). libuv has no
 * way to batch the sends of a receive batch: uv_udp_send() tries each one
 * at once.
 *
 *   udp-echo-uv [--port 7001] [--batch]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

enum {
  SLOT_BYTES = 65536, /* libuv's datagram slot in a recvmmsg buffer. */
  BATCH_SLOTS = 32,   /* As many slots as axle's batch suggests. */
};

static uv_loop_t *loop;
static uv_udp_t udp;
static uv_signal_t sigint, sigterm;
static char *buffer;
static size_t buffer_len;

struct echo {
  uv_udp_send_t req;
  char data[];
};

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(buffer, (unsigned int)buffer_len);
}

static void on_sent(uv_udp_send_t *req, int status) {
  (void)status;
  free(req);
}

static void on_datagram(uv_udp_t *handle, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *from, unsigned flags) {
  if (nread <= 0 || from == NULL || (flags & UV_UDP_PARTIAL))
    return;
  uv_buf_t out = uv_buf_init(buf->base, (unsigned int)nread);
  if (uv_udp_try_send(handle, &out, 1, from) != UV_EAGAIN)
    return;
  struct echo *echo = malloc(sizeof(*echo) + (size_t)nread);
  if (echo == NULL)
    return;
  memcpy(echo->data, buf->base, (size_t)nread);
  out = uv_buf_init(echo->data, (unsigned int)nread);
  if (uv_udp_send(&echo->req, handle, &out, 1, from, on_sent) != 0)
    free(echo);
}

static void on_signal(uv_signal_t *signal, int signum) {
  (void)signal;
  (void)signum;
  uv_udp_recv_stop(&udp);
  uv_close((uv_handle_t *)&udp, NULL);
  uv_close((uv_handle_t *)&sigint, NULL);
  uv_close((uv_handle_t *)&sigterm, NULL);
}

int main(int argc, char **argv) {
  int port = 7001;
  unsigned int flags = AF_INET;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--batch") == 0)
      flags |= UV_UDP_RECVMMSG;
    else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
      port = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: udp-echo-uv [--port P] [--batch]\n");
      return 2;
    }
  }
  buffer_len = (flags & UV_UDP_RECVMMSG) ? (size_t)SLOT_BYTES * BATCH_SLOTS
                                         : (size_t)SLOT_BYTES;
  buffer = malloc(buffer_len);
  loop = uv_default_loop();
  struct sockaddr_in addr;
  int err = uv_ip4_addr("127.0.0.1", port, &addr);
  if (err == 0)
    err = uv_udp_init_ex(loop, &udp, flags);
  if (err == 0)
    err = uv_udp_bind(&udp, (struct sockaddr *)&addr, 0);
  if (err == 0)
    err = uv_udp_recv_start(&udp, on_alloc, on_datagram);
  int len = (int)sizeof(addr);
  if (err == 0)
    err = uv_udp_getsockname(&udp, (struct sockaddr *)&addr, &len);
  if (err != 0 || buffer == NULL) {
    fprintf(stderr, "udp-echo-uv: %s\n", uv_strerror(err));
    return 1;
  }
  printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  fflush(stdout);
  uv_signal_init(loop, &sigint);
  uv_signal_init(loop, &sigterm);
  uv_signal_start(&sigint, on_signal, SIGINT);
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  free(buffer);
  return 0;
}
