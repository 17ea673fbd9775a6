/*
 * test/support/tcp.c: the listener, pair and loop helpers of tcp.h.
 */
#include <string.h>

#include "tcp.h"

void tcp_test_addr(const char *ip, int port, struct sockaddr_storage *addr) {
  memset(addr, 0, sizeof(*addr));
  if (strchr(ip, ':') != NULL)
    assert_int_equal(ax_ip6_addr(ip, port, (struct sockaddr_in6 *)addr), 0);
  else
    assert_int_equal(ax_ip4_addr(ip, port, (struct sockaddr_in *)addr), 0);
}

/* The port of a bound handle. */
static int tcp_test_port(const ax_tcp_t *tcp) {
  struct sockaddr_storage name;
  int len = (int)sizeof(name);
  assert_int_equal(ax_tcp_getsockname(tcp, (struct sockaddr *)&name, &len), 0);
  if (name.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)&name)->sin6_port);
  return ntohs(((struct sockaddr_in *)&name)->sin_port);
}

int tcp_test_listen(ax_loop_t *loop, ax_tcp_t *listener, const char *ip,
                    ax_connection_cb cb, int *port) {
  struct sockaddr_storage addr;
  tcp_test_addr(ip, 0, &addr);
  assert_int_equal(ax_tcp_init(loop, listener), 0);
  int err = ax_tcp_bind(listener, (struct sockaddr *)&addr, 0);
  if (err != 0)
    return err;
  assert_int_equal(ax_listen(&listener->stream, 128, cb), 0);
  *port = tcp_test_port(listener);
  return 0;
}

static void tcp_run_tick(ax_timer_t *timer) {
  (void)timer;
}

static void tcp_run_closed(ax_handle_t *handle) {
  *(int *)handle->data = 1;
}

/* Run until done(arg) holds, bounded as tcp.h says. */
static void tcp_run_while(ax_loop_t *loop, int (*done)(const void *arg),
                          const void *arg) {
  /* A repeating timer bounds each wait; unreferenced, it keeps nothing
   * alive that the test did not start. */
  ax_timer_t tick;
  int tick_closed = 0;
  assert_int_equal(ax_timer_init(loop, &tick), 0);
  tick.handle.data = &tick_closed;
  assert_int_equal(ax_timer_start(&tick, tcp_run_tick, 50, 50), 0);
  ax_unref(&tick.handle);
  uint64_t start_ns = ax_hrtime();
  while (!done(arg)) {
    if (ax_hrtime() - start_ns > (uint64_t)TCP_TEST_WAIT_MS * 1000000u)
      fail_msg("waited %d ms for something that did not happen",
               TCP_TEST_WAIT_MS);
    assert_int_equal(ax_run(loop, AX_RUN_ONCE), 0);
  }
  assert_int_equal(ax_close(&tick.handle, tcp_run_closed), 0);
  while (!tick_closed)
    assert_int_equal(ax_run(loop, AX_RUN_NOWAIT), 0);
}

/* What tcp_run_until() waits for. */
struct tcp_wait_int {
  const int *counter; /* The counter watched. */
  int want;           /* Its goal. */
};

static int tcp_int_reached(const void *arg) {
  const struct tcp_wait_int *w = arg;
  return *w->counter >= w->want;
}

void tcp_run_until(ax_loop_t *loop, const int *counter, int want) {
  struct tcp_wait_int w = {counter, want};
  tcp_run_while(loop, tcp_int_reached, &w);
}

/* What tcp_run_until_size() waits for. */
struct tcp_wait_size {
  const size_t *value; /* The count watched. */
  size_t want;         /* Its goal. */
};

static int tcp_size_reached(const void *arg) {
  const struct tcp_wait_size *w = arg;
  return *w->value >= w->want;
}

void tcp_run_until_size(ax_loop_t *loop, const size_t *value, size_t want) {
  struct tcp_wait_size w = {value, want};
  tcp_run_while(loop, tcp_size_reached, &w);
}

char tcp_pattern_byte(size_t i) {
  return (char)((i * 7 + i / 251) & 0xff);
}

void tcp_pattern_fill(char *buf, size_t offset, size_t len) {
  for (size_t i = 0; i < len; i++)
    buf[i] = tcp_pattern_byte(offset + i);
}

void tcp_pattern_check(const char *buf, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (buf[i] != tcp_pattern_byte(i))
      fail_msg("byte %lu of %lu is wrong", (unsigned long)i,
               (unsigned long)len);
  }
}

size_t tcp_fill_kernel(ax_stream_t *stream, char *chunk, size_t chunk_len,
                       size_t *offset) {
  size_t total = 0;
  for (;;) {
    if (offset != NULL)
      tcp_pattern_fill(chunk, *offset, chunk_len);
    ax_buf_t buf = ax_buf_init(chunk, chunk_len);
    int n = ax_try_write(stream, &buf, 1);
    if (n == AX_EAGAIN)
      return total;
    assert_true(n > 0);
    total += (size_t)n;
    if (offset != NULL)
      *offset += (size_t)n;
  }
}

static void pair_connect_cb(ax_connect_t *req, int status) {
  struct tcp_pair *pair = ax_container_of(req, struct tcp_pair, connect);
  assert_int_equal(status, 0);
  pair->connected++;
}

static void pair_listener_closed(ax_handle_t *handle) {
  ax_container_of(handle, struct tcp_pair, listener.stream.handle)->closed++;
}

void tcp_pair_client_closed(ax_handle_t *handle) {
  ax_container_of(handle, struct tcp_pair, client.stream.handle)->closed++;
}

void tcp_pair_server_closed(ax_handle_t *handle) {
  ax_container_of(handle, struct tcp_pair, server.stream.handle)->closed++;
}

static void pair_connection_cb(ax_stream_t *listener, int status) {
  struct tcp_pair *pair = ax_container_of(listener, struct tcp_pair,
                                          listener.stream);
  assert_int_equal(status, 0);
  assert_int_equal(ax_tcp_init(pair->loop, &pair->server), 0);
  assert_int_equal(ax_accept(listener, &pair->server.stream), 0);
  pair->accepted++;
  assert_int_equal(ax_close(&listener->handle, pair_listener_closed), 0);
}

int tcp_pair_open(ax_loop_t *loop, struct tcp_pair *pair, const char *ip) {
  memset(pair, 0, sizeof(*pair));
  pair->loop = loop;
  int err = tcp_test_listen(loop, &pair->listener, ip, pair_connection_cb,
                            &pair->port);
  if (err != 0) {
    assert_int_equal(ax_close(&pair->listener.stream.handle, NULL), 0);
    assert_int_equal(ax_run(loop, AX_RUN_NOWAIT), 0);
    return err;
  }
  struct sockaddr_storage addr;
  tcp_test_addr(ip, pair->port, &addr);
  assert_int_equal(ax_tcp_init(loop, &pair->client), 0);
  assert_int_equal(ax_tcp_connect(&pair->connect, &pair->client,
                                  (struct sockaddr *)&addr, pair_connect_cb),
                   0);
  tcp_run_until(loop, &pair->connected, 1);
  tcp_run_until(loop, &pair->accepted, 1);
  tcp_run_until(loop, &pair->closed, 1);
  return 0;
}

void tcp_pair_close(struct tcp_pair *pair) {
  if (!ax_is_closing(&pair->client.stream.handle))
    assert_int_equal(
        ax_close(&pair->client.stream.handle, tcp_pair_client_closed), 0);
  if (!ax_is_closing(&pair->server.stream.handle))
    assert_int_equal(
        ax_close(&pair->server.stream.handle, tcp_pair_server_closed), 0);
  tcp_run_until(pair->loop, &pair->closed, 3);
}
