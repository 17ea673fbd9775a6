/*
 * test_poll.c: poll handles on sockets, on every platform: argument errors,
 * readability (level-triggered), writability, a change of events while
 * started, stopping and closing in the callback, DISCONNECT when the peer
 * closes, priority (out-of-band) data, and a socket closed under the
 * handle. The sockets are TCP pairs made through a listener on 127.0.0.1,
 * the one kind of pair Windows has. test_poll_posix.c adds what only POSIX
 * descriptors do (pipes).
 *
 * What differs by backend is asked of the backend by name: PRIORITIZED and
 * DISCONNECT on its own need epoll or IOCP (AFD), and a descriptor closed
 * while watched is noticed by poll(2) and AFD but silently forgotten by
 * epoll and kqueue (docs/signals.md).
 */
#include <string.h>

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
typedef int sock_len_t;
#else
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
typedef socklen_t sock_len_t;
#define closesocket close
#endif /* _WIN32 */

#include "test.h"

static void set_nonblocking(ax_os_sock_t sock) {
#if defined(_WIN32)
  u_long one = 1;
  assert_int_equal(ioctlsocket(sock, FIONBIO, &one), 0);
#else
  int flags = fcntl(sock, F_GETFL);
  assert_int_equal(fcntl(sock, F_SETFL, flags | O_NONBLOCK), 0);
#endif /* _WIN32 */
}

/* A connected TCP pair on 127.0.0.1, both ends non-blocking. */
static void socket_pair(ax_os_sock_t pair[2]) {
  struct sockaddr_in addr;
  sock_len_t len = sizeof(addr);
  ax_os_sock_t listener = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(listener != (ax_os_sock_t)-1);
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
  assert_int_equal(listen(listener, 1), 0);
  assert_int_equal(getsockname(listener, (struct sockaddr *)&addr, &len), 0);
  pair[0] = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(pair[0] != (ax_os_sock_t)-1);
  assert_int_equal(connect(pair[0], (struct sockaddr *)&addr, sizeof(addr)), 0);
  pair[1] = accept(listener, NULL, NULL);
  assert_true(pair[1] != (ax_os_sock_t)-1);
  closesocket(listener);
  set_nonblocking(pair[0]);
  set_nonblocking(pair[1]);
}

static void send_byte(ax_os_sock_t sock, char byte, int flags) {
  assert_int_equal(send(sock, &byte, 1, flags), 1);
}

/* Read what is there: the count (0 at the end of the stream), or -1 when
 * nothing is (or an error). */
static int recv_some(ax_os_sock_t sock, int flags) {
  char buf[64];
  return (int)recv(sock, buf, sizeof(buf), flags);
}

static bool backend_is(ax_loop_t *loop, const char *name) {
  return strcmp(ax_backend_name(loop), name) == 0;
}

/* What a poll callback saw, and what it should do. */
struct probe {
  ax_poll_t poll;     /* The handle. */
  ax_os_sock_t sock;  /* Its socket. */
  int calls;          /* Callback calls. */
  int status;         /* The last status. */
  int events;         /* The last events. */
  int seen;           /* Every event seen, or-ed. */
  int closes;         /* Close callback calls. */
  int stop_after;     /* Stop once this many calls were made (0: never). */
  struct probe *peer; /* A handle the callback closes, or NULL. */
};

static void probe_init(ax_loop_t *loop, struct probe *p, ax_os_sock_t sock) {
  memset(p, 0, sizeof(*p));
  p->sock = sock;
  assert_int_equal(ax_poll_init_socket(loop, &p->poll, sock), 0);
  p->poll.handle.data = p;
}

static void probe_close_cb(ax_handle_t *handle) {
  ((struct probe *)handle->data)->closes++;
}

static void probe_close(struct probe *p) {
  assert_int_equal(ax_close(&p->poll.handle, probe_close_cb), 0);
}

static void probe_cb(ax_poll_t *poll, int status, int events) {
  struct probe *p = poll->handle.data;
  p->calls++;
  p->status = status;
  p->events = events;
  p->seen |= events;
  if (p->stop_after != 0 && p->calls >= p->stop_after)
    assert_int_equal(ax_poll_stop(poll), 0);
}

/* What every test but the first starts with: a loop with a safety net, a
 * socket pair, and a probe on the first socket. */
struct fixture {
  ax_loop_t loop;          /* The loop. */
  struct test_guard guard; /* Its safety net. */
  ax_os_sock_t pair[2];    /* The sockets; -1 once a test closed one. */
  struct probe p;          /* A poll handle on pair[0]. */
};

static void fixture_open(struct fixture *f) {
  test_loop_open(&f->loop);
  test_guard_start(&f->loop, &f->guard);
  socket_pair(f->pair);
  probe_init(&f->loop, &f->p, f->pair[0]);
}

static void fixture_close_socket(struct fixture *f, int i) {
  closesocket(f->pair[i]);
  f->pair[i] = (ax_os_sock_t)-1;
}

/* Close what is left open, run the closes, and check the loop is clean. */
static void fixture_close(struct fixture *f) {
  if (!ax_is_closing(&f->p.poll.handle))
    probe_close(&f->p);
  test_guard_close(&f->guard);
  assert_int_equal(f->p.closes, 1);
  for (int i = 0; i < 2; i++) {
    if (f->pair[i] != (ax_os_sock_t)-1)
      fixture_close_socket(f, i);
  }
  test_loop_close(&f->loop);
}

/* Run until nothing is active, and check that the net was not needed. */
static void fixture_run(struct fixture *f) {
  assert_int_equal(ax_run(&f->loop, AX_RUN_DEFAULT), 0);
  assert_false(f->guard.fired);
}

static void test_poll_invalid(void **state) {
  (void)state;
  struct fixture f;
  ax_poll_t other;
  ax_loop_t *loop = &f.loop;
  ax_poll_t *poll = &f.p.poll;
  fixture_open(&f);
  assert_int_equal(ax_poll_init(NULL, &other, 0), AX_EINVAL);
  assert_int_equal(ax_poll_init(loop, NULL, 0), AX_EINVAL);
  assert_int_equal(ax_poll_init_socket(NULL, &other, f.pair[0]), AX_EINVAL);
  assert_int_equal(ax_poll_init_socket(loop, NULL, f.pair[0]), AX_EINVAL);
  assert_int_equal(ax_poll_init_socket(loop, &other, (ax_os_sock_t)-1),
                   AX_EINVAL);
#if defined(_WIN32)
  /* A C runtime descriptor cannot be polled on Windows. */
  assert_int_equal(ax_poll_init(loop, &other, 0), AX_ENOTSUP);
#else
  assert_int_equal(ax_poll_init(loop, &other, -1), AX_EINVAL);
#endif /* _WIN32 */
  assert_int_equal(ax_poll_start(NULL, AX_POLL_READABLE, probe_cb), AX_EINVAL);
  assert_int_equal(ax_poll_start(poll, AX_POLL_READABLE, NULL), AX_EINVAL);
  assert_int_equal(ax_poll_start(poll, 0, probe_cb), AX_EINVAL);
  assert_int_equal(ax_poll_start(poll, 16, probe_cb), AX_EINVAL);
  assert_int_equal(ax_poll_start(poll, -1, probe_cb), AX_EINVAL);
  assert_false(ax_is_active(&poll->handle));
  assert_int_equal(ax_poll_stop(NULL), AX_EINVAL);
  /* Stopping a stopped handle is fine. */
  assert_int_equal(ax_poll_stop(poll), 0);
  assert_int_equal(ax_poll_stop(poll), 0);
  assert_string_equal(ax_handle_type_name(AX_POLL), "poll");
  probe_close(&f.p);
  assert_int_equal(ax_poll_start(poll, AX_POLL_READABLE, probe_cb), AX_EBADF);
  fixture_close(&f);
}

/* Readable data that nobody reads is reported in every iteration. */
static void test_poll_readable_level_triggered(void **state) {
  (void)state;
  struct fixture f;
  fixture_open(&f);
  f.p.stop_after = 3;
  assert_int_equal(ax_poll_start(&f.p.poll, AX_POLL_READABLE, probe_cb), 0);
  assert_true(ax_is_active(&f.p.poll.handle));
  /* Nothing to read yet. */
  assert_int_equal(ax_run(&f.loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(f.p.calls, 0);
  send_byte(f.pair[1], 'x', 0);
  fixture_run(&f);
  assert_int_equal(f.p.calls, 3);
  assert_int_equal(f.p.status, 0);
  assert_int_equal(f.p.events, AX_POLL_READABLE);
  assert_false(ax_is_active(&f.p.poll.handle));
  /* Started again, it reports the byte still there. */
  f.p.stop_after = 4;
  assert_int_equal(ax_poll_start(&f.p.poll, AX_POLL_READABLE, probe_cb), 0);
  fixture_run(&f);
  assert_int_equal(f.p.calls, 4);
  assert_int_equal(recv_some(f.pair[0], 0), 1);
  fixture_close(&f);
}

static void test_poll_writable_stop_in_callback(void **state) {
  (void)state;
  struct fixture f;
  fixture_open(&f);
  f.p.stop_after = 1;
  assert_int_equal(ax_poll_start(&f.p.poll, AX_POLL_WRITABLE, probe_cb), 0);
  fixture_run(&f);
  assert_int_equal(f.p.calls, 1);
  assert_int_equal(f.p.events, AX_POLL_WRITABLE);
  assert_false(ax_is_active(&f.p.poll.handle));
  /* Stopped means no more calls, however many iterations run. */
  for (int i = 0; i < 3; i++)
    assert_int_equal(ax_run(&f.loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(f.p.calls, 1);
  fixture_close(&f);
}

/* Writable first; the callback then asks for readability only and sends
 * the byte that makes the socket readable. */
static void change_cb(ax_poll_t *poll, int status, int events) {
  struct probe *p = poll->handle.data;
  p->calls++;
  p->status = status;
  if (p->calls == 1) {
    assert_int_equal(events, AX_POLL_WRITABLE);
    assert_int_equal(ax_poll_start(poll, AX_POLL_READABLE, change_cb), 0);
    send_byte(p->peer->sock, 'y', 0);
    return;
  }
  assert_int_equal(events, AX_POLL_READABLE);
  assert_int_equal(recv_some(p->sock, 0), 1);
  assert_int_equal(ax_poll_stop(poll), 0);
}

static void test_poll_change_events(void **state) {
  (void)state;
  struct fixture f;
  struct probe peer;
  fixture_open(&f);
  memset(&peer, 0, sizeof(peer));
  peer.sock = f.pair[1];
  f.p.peer = &peer;
  assert_int_equal(ax_poll_start(&f.p.poll, AX_POLL_READABLE, change_cb), 0);
  assert_int_equal(ax_run(&f.loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(f.p.calls, 0);
  /* Changed while started, from outside a callback. */
  assert_int_equal(ax_poll_start(&f.p.poll, AX_POLL_WRITABLE, change_cb), 0);
  fixture_run(&f);
  assert_int_equal(f.p.calls, 2);
  assert_int_equal(f.p.status, 0);
  fixture_close(&f);
}

/* Widened while started, from outside a callback: a quiet socket polled
 * for reading is then polled for writing too, and must be heard as
 * writable. (On io_uring, a widening is an update of the poll the kernel
 * holds; one it refused went unnoticed, and the poll waited for reading
 * alone.) */
static void test_poll_widen_events(void **state) {
  (void)state;
  struct fixture f;
  fixture_open(&f);
  f.p.stop_after = 1;
  assert_int_equal(ax_poll_start(&f.p.poll, AX_POLL_READABLE, probe_cb), 0);
  for (int i = 0; i < 3; i++)
    assert_int_equal(ax_run(&f.loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(f.p.calls, 0);
  assert_int_equal(
      ax_poll_start(&f.p.poll, AX_POLL_READABLE | AX_POLL_WRITABLE, probe_cb),
      0);
  fixture_run(&f);
  assert_int_equal(f.p.calls, 1);
  assert_int_equal(f.p.events, AX_POLL_WRITABLE);
  fixture_close(&f);
}

/* Whichever of the two handles runs first closes itself and the other. */
static void close_both_cb(ax_poll_t *poll, int status, int events) {
  struct probe *p = poll->handle.data;
  probe_cb(poll, status, events);
  probe_close(p);
  probe_close(p->peer);
}

static void test_poll_close_in_callback(void **state) {
  (void)state;
  struct fixture f;
  struct probe b;
  fixture_open(&f);
  probe_init(&f.loop, &b, f.pair[1]);
  f.p.peer = &b;
  b.peer = &f.p;
  /* Both writable at once, very likely in one batch. */
  assert_int_equal(ax_poll_start(&f.p.poll, AX_POLL_WRITABLE, close_both_cb),
                   0);
  assert_int_equal(ax_poll_start(&b.poll, AX_POLL_WRITABLE, close_both_cb), 0);
  fixture_run(&f);
  assert_int_equal(f.p.calls + b.calls, 1);
  assert_int_equal(b.closes, 1);
  fixture_close(&f);
}

/* Read what arrives; close the handle once the peer's end is reported. */
static void disconnect_cb(ax_poll_t *poll, int status, int events) {
  struct probe *p = poll->handle.data;
  probe_cb(poll, status, events);
  if (events & AX_POLL_READABLE) {
    int n;
    while ((n = recv_some(p->sock, 0)) > 0)
      continue;
  }
  if (status != 0 || (events & AX_POLL_DISCONNECT))
    probe_close(p);
}

/* With readability: reported on every backend, after the data. */
static void test_poll_disconnect(void **state) {
  (void)state;
  struct fixture f;
  fixture_open(&f);
  assert_int_equal(ax_poll_start(&f.p.poll,
                                 AX_POLL_READABLE | AX_POLL_DISCONNECT,
                                 disconnect_cb),
                   0);
  send_byte(f.pair[1], 'a', 0);
  fixture_close_socket(&f, 1);
  fixture_run(&f);
  assert_int_equal(f.p.status, 0);
  assert_true(f.p.seen & AX_POLL_DISCONNECT);
  assert_true(f.p.seen & AX_POLL_READABLE);
  assert_int_equal(recv_some(f.pair[0], 0), 0);
  fixture_close(&f);
}

/* On its own, where the backend watches it so (epoll, AFD). */
static void test_poll_disconnect_alone(void **state) {
  (void)state;
  struct fixture f;
  fixture_open(&f);
  if (!backend_is(&f.loop, "epoll") && !backend_is(&f.loop, "iocp") &&
      !backend_is(&f.loop, "io_uring")) {
    fixture_close(&f);
    test_skip("DISCONNECT alone is watched by epoll and io_uring (POLLRDHUP) "
              "and AFD only");
  }
  assert_int_equal(ax_poll_start(&f.p.poll, AX_POLL_DISCONNECT, disconnect_cb),
                   0);
  fixture_close_socket(&f, 1);
  fixture_run(&f);
  assert_int_equal(f.p.calls, 1);
  assert_int_equal(f.p.events, AX_POLL_DISCONNECT);
  fixture_close(&f);
}

/* Out-of-band data: PRIORITIZED, where the backend can watch it. */
static void test_poll_prioritized(void **state) {
  (void)state;
  struct fixture f;
  fixture_open(&f);
  f.p.stop_after = 1;
  int err = ax_poll_start(&f.p.poll, AX_POLL_PRIORITIZED, probe_cb);
  if (backend_is(&f.loop, "epoll") || backend_is(&f.loop, "iocp") ||
      backend_is(&f.loop, "io_uring")) {
    assert_int_equal(err, 0);
    send_byte(f.pair[1], '!', MSG_OOB);
    fixture_run(&f);
    assert_int_equal(f.p.calls, 1);
    assert_int_equal(f.p.events, AX_POLL_PRIORITIZED);
  } else {
    /* poll(2) and kqueue: refused, and nothing changed. */
    assert_int_equal(err, AX_ENOTSUP);
    assert_false(ax_is_active(&f.p.poll.handle));
  }
  fixture_close(&f);
}

/* A socket closed before the start: refused by the start, or reported to
 * the callback as AX_EBADF with the handle stopped, by backend. */
static void test_poll_closed_before_start(void **state) {
  (void)state;
  struct fixture f;
  fixture_open(&f);
  fixture_close_socket(&f, 0);
  int err = ax_poll_start(&f.p.poll, AX_POLL_READABLE, probe_cb);
  if (err == 0) {
    fixture_run(&f);
    assert_int_equal(f.p.calls, 1);
    assert_int_equal(f.p.status, AX_EBADF);
    assert_int_equal(f.p.events, 0);
  } else {
    assert_int_equal(err, AX_EBADF);
  }
  assert_false(ax_is_active(&f.p.poll.handle));
  fixture_close(&f);
}

/*
 * A socket closed while watched: AFD and poll(2) report it (AX_EBADF, and
 * the handle stops); epoll and kqueue forget the descriptor without a word,
 * which is why a handle must be closed before its descriptor.
 *
 * kqueue would not pass either, natively or on libkqueue. A kernel's
 * kqueue deletes every filter of a descriptor when close(2) releases that
 * descriptor number (FreeBSD's and macOS's knote_fdclose), even while
 * another descriptor shares the open file, and queues no event for the
 * deletion: the handle is never called. libkqueue, over epoll, is silent in
 * the same way (its knote outlives the descriptor; its BUGS.md says so).
 * Either way only the test's safety net would end the run.
 */
static void test_poll_closed_while_started(void **state) {
  (void)state;
  struct fixture f;
  fixture_open(&f);
  if (backend_is(&f.loop, "epoll") || backend_is(&f.loop, "kqueue") ||
      backend_is(&f.loop, "io_uring")) {
    fixture_close(&f);
    test_skip("epoll and kqueue drop a closed descriptor's registration "
              "without an event, and io_uring's poll holds the open file: "
              "nothing can report the close");
  }
  assert_int_equal(ax_poll_start(&f.p.poll, AX_POLL_READABLE, probe_cb), 0);
  /* One iteration, so that the poll is in flight (AFD) or registered. */
  assert_int_equal(ax_run(&f.loop, AX_RUN_NOWAIT), 0);
  fixture_close_socket(&f, 0);
  fixture_run(&f);
  assert_int_equal(f.p.calls, 1);
  assert_int_equal(f.p.status, AX_EBADF);
  assert_false(ax_is_active(&f.p.poll.handle));
  fixture_close(&f);
}

/* Closing with a poll in flight (AFD: a cancelled ioctl still to complete)
 * leaves nothing behind once the loop has run. */
static void test_poll_close_while_waiting(void **state) {
  (void)state;
  struct fixture f;
  fixture_open(&f);
  assert_int_equal(ax_poll_start(&f.p.poll, AX_POLL_READABLE, probe_cb), 0);
  assert_int_equal(ax_run(&f.loop, AX_RUN_NOWAIT), 0);
  probe_close(&f.p);
  fixture_run(&f);
  assert_int_equal(f.p.calls, 0);
  fixture_close(&f);
}

static int setup_sockets(void **state) {
  (void)state;
#if defined(_WIN32)
  WSADATA data;
  return WSAStartup(MAKEWORD(2, 2), &data);
#else
  return 0;
#endif /* _WIN32 */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_poll_invalid),
      cmocka_unit_test(test_poll_readable_level_triggered),
      cmocka_unit_test(test_poll_writable_stop_in_callback),
      cmocka_unit_test(test_poll_change_events),
      cmocka_unit_test(test_poll_widen_events),
      cmocka_unit_test(test_poll_close_in_callback),
      cmocka_unit_test(test_poll_disconnect),
      cmocka_unit_test(test_poll_disconnect_alone),
      cmocka_unit_test(test_poll_prioritized),
      cmocka_unit_test(test_poll_closed_before_start),
      cmocka_unit_test(test_poll_closed_while_started),
      cmocka_unit_test(test_poll_close_while_waiting),
  };
  return cmocka_run_group_tests(tests, setup_sockets, NULL);
}
