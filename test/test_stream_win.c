/*
 * test_stream_win.c: the stream promises of test_stream.c that need
 * Winsock to check: TCP_NODELAY chosen before the socket existed is on
 * the socket that connect or accept makes (getsockopt on the SOCKET that
 * ax_fileno() returns). test_stream_posix.c checks the same on POSIX.
 *
 * Like test_stream.c, this tests the public API only, so that it holds
 * for any stream engine behind it.
 */
#include <stdlib.h>

#include "tcp.h"

/* A listener whose first accepted handle chooses TCP_NODELAY before it
 * has a socket, and clients, the first of which chooses it before its
 * connect. */
struct nodelay {
  ax_tcp_t listener;    /* Without the option itself. */
  ax_tcp_t servers[2];  /* Accepted, in order. */
  int accepted;         /* Connections accepted. */
  ax_tcp_t clients[2];  /* The first chose the option before connecting. */
  ax_connect_t reqs[2]; /* Their connects. */
  int connected;        /* Connect callbacks run. */
  int closed;           /* Close callbacks run. */
};

static bool nodelay_on(const ax_tcp_t *tcp) {
  ax_os_fd_t fd;
  assert_int_equal(ax_fileno(&tcp->stream.handle, &fd), 0);
  int value = 0;
  int len = (int)sizeof(value);
  assert_int_equal(getsockopt((SOCKET)(uintptr_t)fd, IPPROTO_TCP, TCP_NODELAY,
                              (char *)&value, &len),
                   0);
  return value != 0;
}

static void nodelay_connection_cb(ax_stream_t *server, int status) {
  struct nodelay *n = server->handle.loop->data;
  assert_int_equal(status, 0);
  assert_true(n->accepted < 2);
  ax_tcp_t *conn = &n->servers[n->accepted];
  assert_int_equal(ax_tcp_init(server->handle.loop, conn), 0);
  if (n->accepted == 0)
    assert_int_equal(ax_tcp_nodelay(conn, true), 0);
  assert_int_equal(ax_accept(server, &conn->stream), 0);
  n->accepted++;
}

static void nodelay_connect_cb(ax_connect_t *req, int status) {
  struct nodelay *n = req->handle->handle.loop->data;
  assert_int_equal(status, 0);
  n->connected++;
}

static void nodelay_closed(ax_handle_t *handle) {
  ((struct nodelay *)handle->loop->data)->closed++;
}

/* One client at a time, so that the accepted handles are known by
 * order; the handles that did not choose the option must not have it
 * (so the system's default is not what the test sees). */
static void test_stream_win_nodelay_before_socket(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct nodelay *n = calloc(1, sizeof(*n));
  assert_non_null(n);
  loop.data = n;
  int port;
  assert_int_equal(tcp_test_listen(&loop, &n->listener, "127.0.0.1",
                                   nodelay_connection_cb, &port),
                   0);
  struct sockaddr_storage addr;
  tcp_test_addr("127.0.0.1", port, &addr);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(ax_tcp_init(&loop, &n->clients[i]), 0);
    if (i == 0)
      assert_int_equal(ax_tcp_nodelay(&n->clients[i], true), 0);
    assert_int_equal(ax_tcp_connect(&n->reqs[i], &n->clients[i],
                                    (struct sockaddr *)&addr,
                                    nodelay_connect_cb),
                     0);
    tcp_run_until(&loop, &n->connected, i + 1);
    tcp_run_until(&loop, &n->accepted, i + 1);
  }
  assert_true(nodelay_on(&n->clients[0]));
  assert_true(nodelay_on(&n->servers[0]));
  assert_false(nodelay_on(&n->clients[1]));
  assert_false(nodelay_on(&n->servers[1]));

  for (int i = 0; i < 2; i++) {
    assert_int_equal(ax_close(&n->clients[i].stream.handle, nodelay_closed), 0);
    assert_int_equal(ax_close(&n->servers[i].stream.handle, nodelay_closed), 0);
  }
  assert_int_equal(ax_close(&n->listener.stream.handle, nodelay_closed), 0);
  tcp_run_until(&loop, &n->closed, 5);
  free(n);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stream_win_nodelay_before_socket),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
