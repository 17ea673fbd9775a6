/*
 * test_udp.c: UDP handles with real datagrams on 127.0.0.1 (and ::1 where
 * the machine has it): argument errors, a send and its echo with the
 * sender's address, IPv6 with IPV6ONLY, truncation, connect and
 * disconnect, the ICMP error a connected socket meets at a closed port,
 * sends queued while the kernel refuses them (injected EAGAIN) and
 * cancelled by close, batches (recvmmsg) and their buffer hand-back,
 * closing and stopping inside a callback, the options, and 100,000
 * datagrams through one loop with and without batching.
 *
 * It runs on Windows too (IOCP, under Wine), but for the two tests that
 * inject EAGAIN through the POSIX syscall table.
 *
 * Datagrams may be lost, even on loopback when a receive buffer is full:
 * the load test keeps a bounded window in flight and refills it when it
 * stalls, and every run is under the safety net of a guard timer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#define closesocket close
#endif /* _WIN32 */

#include "test.h"
#if !defined(_WIN32)
#include "unix/internal.h"
#endif /* _WIN32 */

/* A UDP handle and what its callbacks saw. */
struct peer {
  ax_udp_t udp;
  char buf[2048];          /* What alloc_cb hands out (single reads). */
  size_t alloc_len;        /* How much of it alloc_cb offers. */
  int datagrams;           /* Datagrams received. */
  int empty;               /* Callbacks with 0 bytes and no address. */
  int errors;              /* Callbacks with an error. */
  int last_error;          /* The last such error. */
  ptrdiff_t last_nread;    /* Bytes of the last datagram. */
  unsigned int last_flags; /* Its flags. */
  char last_data[64];      /* Its first bytes, NUL-terminated. */
  struct sockaddr_storage last_from; /* Its sender. */
  bool echo;            /* Send each datagram back with try_send. */
  bool stop_after_one;  /* recv_stop in the first datagram's callback. */
  bool close_after_one; /* ax_close in the first datagram's callback. */
  int closed;           /* Close callbacks. */
};

static void peer_alloc_cb(ax_handle_t *handle, size_t suggested,
                          ax_buf_t *buf) {
  (void)suggested;
  struct peer *p = ax_container_of(handle, struct peer, udp.handle);
  *buf = ax_buf_init(p->buf, p->alloc_len);
}

static void peer_recv_cb(ax_udp_t *udp, ptrdiff_t nread, const ax_buf_t *buf,
                         const struct sockaddr *addr, unsigned int flags) {
  struct peer *p = ax_container_of(udp, struct peer, udp);
  if (nread < 0) {
    p->errors++;
    p->last_error = (int)nread;
    return;
  }
  if (addr == NULL) {
    assert_int_equal(nread, 0);
    p->empty++;
    return;
  }
  p->datagrams++;
  p->last_nread = nread;
  p->last_flags = flags;
  size_t n = (size_t)nread < sizeof(p->last_data) - 1
                 ? (size_t)nread
                 : sizeof(p->last_data) - 1;
  memcpy(p->last_data, buf->base, n);
  p->last_data[n] = '\0';
  memcpy(&p->last_from, addr,
         addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                     : sizeof(struct sockaddr_in));
  if (p->echo) {
    ax_buf_t reply = ax_buf_init(buf->base, (size_t)nread);
    assert_int_equal(ax_udp_try_send(udp, &reply, 1, addr), (int)nread);
  }
  if (p->stop_after_one)
    assert_int_equal(ax_udp_recv_stop(udp), 0);
  if (p->close_after_one)
    assert_int_equal(ax_close(&udp->handle, test_count_close_cb), 0);
}

static void peer_init(ax_loop_t *loop, struct peer *p, unsigned int flags) {
  memset(p, 0, sizeof(*p));
  p->alloc_len = sizeof(p->buf);
  assert_int_equal(ax_udp_init_ex(loop, &p->udp, flags), 0);
  p->udp.handle.data = &p->closed;
}

/* Bind p to 127.0.0.1 on a port of the system's choosing; *addr is it. */
static void peer_bind4(struct peer *p, struct sockaddr_in *addr) {
  assert_int_equal(ax_ip4_addr("127.0.0.1", 0, addr), 0);
  assert_int_equal(ax_udp_bind(&p->udp, (struct sockaddr *)addr, 0), 0);
  int len = (int)sizeof(*addr);
  assert_int_equal(ax_udp_getsockname(&p->udp, (struct sockaddr *)addr, &len),
                   0);
  assert_int_equal(len, (int)sizeof(*addr));
  assert_int_not_equal(ntohs(addr->sin_port), 0);
}

static void peer_recv(struct peer *p) {
  assert_int_equal(ax_udp_recv_start(&p->udp, peer_alloc_cb, peer_recv_cb), 0);
}

static void peer_close(struct peer *p) {
  if (!ax_is_closing(&p->udp.handle))
    assert_int_equal(ax_close(&p->udp.handle, test_count_close_cb), 0);
}

/* Run until cond(arg) holds, under a safety net: the handles stay open,
 * so the net's timer is closed with a run that does not wait. */
static bool run_until_net_fired;

static void run_until_net_cb(ax_timer_t *timer) {
  run_until_net_fired = true;
  ax_stop(timer->handle.loop);
}

static void run_until(ax_loop_t *loop, bool (*cond)(void *), void *arg) {
  ax_timer_t net;
  run_until_net_fired = false;
  assert_int_equal(ax_timer_init(loop, &net), 0);
  assert_int_equal(
      ax_timer_start(&net, run_until_net_cb, TEST_SAFETY_NET_MS, 0), 0);
  ax_unref(&net.handle);
  /* A turn that does not wait first: what completed inside a call (IOCP)
   * is delivered from the pending phase, and a run that waits would wait
   * for more after it. */
  ax_run(loop, AX_RUN_NOWAIT);
  for (int i = 0; i < 100000 && !cond(arg) && !run_until_net_fired; i++)
    ax_run(loop, AX_RUN_ONCE);
  assert_int_equal(ax_close(&net.handle, NULL), 0);
  ax_run(loop, AX_RUN_NOWAIT);
  assert_false(run_until_net_fired);
  assert_true(cond(arg));
}

static bool has_datagram(void *arg) {
  return ((struct peer *)arg)->datagrams > 0;
}

/* What a send callback saw. */
struct sent {
  ax_udp_send_t req;
  int status; /* 1 until the callback runs. */
  int *order; /* Where to record the order of callbacks, or NULL. */
  int *next;  /* The next order number. */
};

static void sent_cb(ax_udp_send_t *req, int status) {
  struct sent *s = ax_container_of(req, struct sent, req);
  assert_int_equal(s->status, 1);
  s->status = status;
  if (s->order != NULL)
    *s->order = (*s->next)++;
}

static void sent_init(struct sent *s) {
  memset(s, 0, sizeof(*s));
  s->status = 1;
}

static void test_udp_invalid(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_udp_t udp;
  assert_int_equal(ax_udp_init(NULL, &udp), AX_EINVAL);
  assert_int_equal(ax_udp_init_ex(&loop, &udp, 0x8000), AX_EINVAL);
  assert_int_equal(ax_udp_init(&loop, &udp), 0);
  struct sockaddr_in addr;
  assert_int_equal(ax_ip4_addr("127.0.0.1", 9, &addr), 0);
  struct sockaddr unspec;
  memset(&unspec, 0, sizeof(unspec));
  unspec.sa_family = AF_UNIX;
  assert_int_equal(ax_udp_bind(&udp, NULL, 0), AX_EINVAL);
  assert_int_equal(ax_udp_bind(&udp, (struct sockaddr *)&addr, 0x80),
                   AX_EINVAL);
  assert_int_equal(ax_udp_bind(&udp, &unspec, 0), AX_EAFNOSUPPORT);
  assert_int_equal(ax_udp_bind(&udp, (struct sockaddr *)&addr, AX_UDP_IPV6ONLY),
                   AX_EINVAL);
  assert_int_equal(ax_udp_connect(NULL, NULL), AX_EINVAL);
  assert_int_equal(ax_udp_connect(&udp, NULL), AX_ENOTCONN);
  assert_int_equal(ax_udp_connect(&udp, &unspec), AX_EAFNOSUPPORT);
  char byte = 'x';
  ax_buf_t buf = ax_buf_init(&byte, 1);
  struct sent s;
  sent_init(&s);
  assert_int_equal(ax_udp_send(&s.req, &udp, &buf, 1, NULL, sent_cb),
                   AX_ENOTCONN);
  assert_int_equal(ax_udp_send(NULL, &udp, &buf, 1, NULL, sent_cb), AX_EINVAL);
  assert_int_equal(
      ax_udp_send(&s.req, &udp, &buf, 1, (struct sockaddr *)&addr, NULL),
      AX_EINVAL);
  assert_int_equal(
      ax_udp_send(&s.req, &udp, NULL, 1, (struct sockaddr *)&addr, sent_cb),
      AX_EINVAL);
  assert_int_equal(ax_udp_try_send(&udp, &buf, 1, NULL), AX_ENOTCONN);
  assert_int_equal(ax_udp_recv_start(&udp, NULL, peer_recv_cb), AX_EINVAL);
  assert_int_equal(ax_udp_recv_stop(NULL), AX_EINVAL);
  assert_int_equal(ax_udp_recv_stop(&udp), 0);
  /* Options need a socket; names too. */
  assert_int_equal(ax_udp_set_broadcast(&udp, true), AX_EBADF);
  assert_int_equal(ax_udp_set_ttl(&udp, 0), AX_EINVAL);
  assert_int_equal(ax_udp_set_ttl(&udp, 256), AX_EINVAL);
  assert_int_equal(ax_udp_set_multicast_ttl(&udp, -1), AX_EINVAL);
  assert_int_equal(ax_udp_set_multicast_loop(NULL, true), AX_EINVAL);
  assert_int_equal(ax_udp_set_membership(&udp, NULL, NULL, AX_JOIN_GROUP),
                   AX_EINVAL);
  struct sockaddr_storage name;
  int len = (int)sizeof(name);
  assert_int_equal(ax_udp_getsockname(&udp, (struct sockaddr *)&name, &len),
                   AX_EBADF);
  assert_false(ax_is_active(&udp.handle));
  assert_int_equal(ax_udp_get_send_queue_count(NULL), 0);
  assert_int_equal(ax_udp_get_send_queue_size(&udp), 0);
  assert_string_equal(ax_handle_type_name(AX_UDP), "udp");
  assert_string_equal(ax_req_type_name(AX_UDP_SEND), "udp_send");
  assert_int_equal(ax_handle_size(AX_UDP), sizeof(ax_udp_t));
  int closed = 0;
  udp.handle.data = &closed;
  assert_int_equal(ax_close(&udp.handle, test_count_close_cb), 0);
  /* A closing handle refuses everything. */
  assert_int_equal(ax_udp_bind(&udp, (struct sockaddr *)&addr, 0), AX_EBADF);
  assert_int_equal(
      ax_udp_send(&s.req, &udp, &buf, 1, (struct sockaddr *)&addr, sent_cb),
      AX_EBADF);
  assert_int_equal(ax_udp_recv_start(&udp, peer_alloc_cb, peer_recv_cb),
                   AX_EBADF);
  assert_int_equal(ax_udp_open(&udp, 0), AX_EBADF);
  test_loop_close(&loop);
  assert_int_equal(closed, 1);
  assert_int_equal(s.status, 1);
}

static bool both_done(void *arg) {
  struct peer *p = arg;
  return p[0].datagrams > 0 && p[1].datagrams > 0;
}

/* A datagram out and its echo back, with each side's address. */
static void test_udp_echo(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[2]; /* server, client */
  peer_init(&loop, &p[0], 0);
  peer_init(&loop, &p[1], 0);
  struct sockaddr_in server;
  peer_bind4(&p[0], &server);
  p[0].echo = true;
  peer_recv(&p[0]);
  assert_true(ax_is_active(&p[0].udp.handle));
  char hello[] = "hello";
  ax_buf_t bufs[2] = {ax_buf_init(hello, 3), ax_buf_init(hello + 3, 2)};
  struct sent s;
  sent_init(&s);
  assert_int_equal(ax_udp_send(&s.req, &p[1].udp, bufs, 2,
                               (struct sockaddr *)&server, sent_cb),
                   0);
  assert_int_equal(s.status, 1); /* Never inside the call. */
  assert_ptr_equal(s.req.handle, &p[1].udp);
  assert_int_equal(s.req.req.type, AX_UDP_SEND);
  peer_recv(&p[1]); /* The first send bound the client already. */
  run_until(&loop, both_done, p);
  assert_int_equal(s.status, 0);
  assert_int_equal(p[0].last_nread, 5);
  assert_string_equal(p[0].last_data, "hello");
  assert_int_equal(p[0].last_flags, 0);
  assert_string_equal(p[1].last_data, "hello");
  /* The client saw the server's address; the server the client's. */
  struct sockaddr_in *from = (struct sockaddr_in *)&p[1].last_from;
  assert_int_equal(from->sin_port, server.sin_port);
  struct sockaddr_in client;
  int len = (int)sizeof(client);
  assert_int_equal(
      ax_udp_getsockname(&p[1].udp, (struct sockaddr *)&client, &len), 0);
  from = (struct sockaddr_in *)&p[0].last_from;
  assert_int_equal(from->sin_port, client.sin_port);
  ax_os_fd_t fd;
  assert_int_equal(ax_fileno(&p[0].udp.handle, &fd), 0);
  peer_close(&p[0]);
  peer_close(&p[1]);
  test_loop_close(&loop);
  assert_int_equal(p[0].closed + p[1].closed, 2);
}

/* An empty datagram is a datagram: 0 bytes, with an address. */
static void test_udp_empty_datagram(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[2];
  peer_init(&loop, &p[0], 0);
  peer_init(&loop, &p[1], 0);
  struct sockaddr_in server;
  peer_bind4(&p[0], &server);
  peer_recv(&p[0]);
  assert_int_equal(
      ax_udp_try_send(&p[1].udp, NULL, 0, (struct sockaddr *)&server), 0);
  run_until(&loop, has_datagram, &p[0]);
  assert_int_equal(p[0].last_nread, 0);
  peer_close(&p[0]);
  peer_close(&p[1]);
  test_loop_close(&loop);
}

/* IPv6 on ::1, with IPV6ONLY; skipped where the machine has no ::1. */
static void test_udp_ipv6(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[2];
  peer_init(&loop, &p[0], 0);
  peer_init(&loop, &p[1], 0);
  struct sockaddr_in6 server;
  assert_int_equal(ax_ip6_addr("::1", 0, &server), 0);
  int err = ax_udp_bind(&p[0].udp, (struct sockaddr *)&server,
                        AX_UDP_IPV6ONLY | AX_UDP_REUSEADDR);
  if (err == AX_EADDRNOTAVAIL || err == AX_EAFNOSUPPORT) {
    peer_close(&p[0]);
    peer_close(&p[1]);
    test_loop_close(&loop);
    test_skip("no IPv6 loopback here");
    return;
  }
  assert_int_equal(err, 0);
  int len = (int)sizeof(server);
  assert_int_equal(
      ax_udp_getsockname(&p[0].udp, (struct sockaddr *)&server, &len), 0);
  peer_recv(&p[0]);
  char text[] = "six";
  ax_buf_t buf = ax_buf_init(text, 3);
  assert_int_equal(
      ax_udp_try_send(&p[1].udp, &buf, 1, (struct sockaddr *)&server), 3);
  run_until(&loop, has_datagram, &p[0]);
  assert_string_equal(p[0].last_data, "six");
  assert_int_equal(p[0].last_from.ss_family, AF_INET6);
  /* The handle is an IPv6 one: its options are IPv6's. */
  assert_int_equal(ax_udp_set_ttl(&p[0].udp, 9), 0);
  assert_int_equal(ax_udp_set_multicast_ttl(&p[0].udp, 2), 0);
  assert_int_equal(ax_udp_set_multicast_loop(&p[0].udp, false), 0);
  peer_close(&p[0]);
  peer_close(&p[1]);
  test_loop_close(&loop);
}

/* A datagram longer than the buffer: cut, and flagged. */
static void test_udp_truncated(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[2];
  peer_init(&loop, &p[0], 0);
  peer_init(&loop, &p[1], 0);
  p[0].alloc_len = 8;
  struct sockaddr_in server;
  peer_bind4(&p[0], &server);
  peer_recv(&p[0]);
  char text[] = "0123456789abcdef0123456789abcdef";
  ax_buf_t buf = ax_buf_init(text, 32);
  assert_int_equal(
      ax_udp_try_send(&p[1].udp, &buf, 1, (struct sockaddr *)&server), 32);
  run_until(&loop, has_datagram, &p[0]);
  assert_int_equal(p[0].last_nread, 8);
  assert_true(p[0].last_flags & AX_UDP_PARTIAL);
  assert_string_equal(p[0].last_data, "01234567");
  peer_close(&p[0]);
  peer_close(&p[1]);
  test_loop_close(&loop);
}

/* Connect, send without an address, read the peer's name, disconnect. */
static void test_udp_connect(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[2];
  peer_init(&loop, &p[0], 0);
  peer_init(&loop, &p[1], 0);
  struct sockaddr_in server;
  peer_bind4(&p[0], &server);
  peer_recv(&p[0]);
  assert_int_equal(ax_udp_connect(&p[1].udp, (struct sockaddr *)&server), 0);
  assert_int_equal(ax_udp_connect(&p[1].udp, (struct sockaddr *)&server),
                   AX_EISCONN);
  struct sockaddr_in peer;
  int len = (int)sizeof(peer);
  assert_int_equal(
      ax_udp_getpeername(&p[1].udp, (struct sockaddr *)&peer, &len), 0);
  assert_int_equal(peer.sin_port, server.sin_port);
  char text[] = "conn";
  ax_buf_t buf = ax_buf_init(text, 4);
  struct sent s;
  sent_init(&s);
  assert_int_equal(ax_udp_send(&s.req, &p[1].udp, &buf, 1,
                               (struct sockaddr *)&server, sent_cb),
                   AX_EISCONN);
  assert_int_equal(ax_udp_send(&s.req, &p[1].udp, &buf, 1, NULL, sent_cb), 0);
  run_until(&loop, has_datagram, &p[0]);
  assert_int_equal(s.status, 0);
  assert_string_equal(p[0].last_data, "conn");
  assert_int_equal(ax_udp_connect(&p[1].udp, NULL), 0);
  assert_int_equal(ax_udp_connect(&p[1].udp, NULL), AX_ENOTCONN);
  len = (int)sizeof(peer);
  assert_int_equal(
      ax_udp_getpeername(&p[1].udp, (struct sockaddr *)&peer, &len),
      AX_ENOTCONN);
  assert_int_equal(ax_udp_try_send(&p[1].udp, &buf, 1, NULL), AX_ENOTCONN);
  peer_close(&p[0]);
  peer_close(&p[1]);
  test_loop_close(&loop);
}

/* A connected socket whose peer's port is closed: the kernel's ICMP
 * answer comes back as ECONNREFUSED, to a receive or to a later send. */
struct refused {
  struct peer p;
  ax_timer_t timer;
  struct sent sends[16];
  int sent;
};

static int refused_status(struct refused *r) {
  if (r->p.last_error != 0)
    return r->p.last_error;
  for (int i = 0; i < r->sent; i++) {
    if (r->sends[i].status < 0)
      return r->sends[i].status;
  }
  return 0;
}

static void refused_timer_cb(ax_timer_t *timer) {
  struct refused *r = ax_container_of(timer, struct refused, timer);
  if (refused_status(r) != 0 || r->sent == 16) {
    ax_timer_stop(timer);
    return;
  }
  static char byte = 'r';
  ax_buf_t buf = ax_buf_init(&byte, 1);
  struct sent *s = &r->sends[r->sent++];
  sent_init(s);
  assert_int_equal(ax_udp_send(&s->req, &r->p.udp, &buf, 1, NULL, sent_cb), 0);
}

static bool refused_done(void *arg) {
  struct refused *r = arg;
  return refused_status(r) != 0 || !ax_is_active(&r->timer.handle);
}

static void test_udp_connection_refused(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  /* libkqueue reports a socket's pending error by reading SO_ERROR, which
   * clears it: neither the receive nor the next send can see it then. A
   * kernel's kqueue leaves it for them. */
  test_skip_on_libkqueue(&loop, "libkqueue consumes the socket's pending "
                                "error (SO_ERROR) before axle can read it");
  struct refused r;
  memset(&r, 0, sizeof(r));
  /* A port that was free a moment ago, and is closed now. */
  struct peer gone;
  peer_init(&loop, &gone, 0);
  struct sockaddr_in addr;
  peer_bind4(&gone, &addr);
  peer_close(&gone);
  peer_init(&loop, &r.p, 0);
  assert_int_equal(ax_udp_connect(&r.p.udp, (struct sockaddr *)&addr), 0);
  peer_recv(&r.p);
  assert_int_equal(ax_timer_init(&loop, &r.timer), 0);
  assert_int_equal(ax_timer_start(&r.timer, refused_timer_cb, 0, 20), 0);
  run_until(&loop, refused_done, &r);
  assert_int_equal(refused_status(&r), AX_ECONNREFUSED);
  assert_int_equal(ax_close(&r.timer.handle, NULL), 0);
  peer_close(&r.p);
  test_loop_close(&loop);
  for (int i = 0; i < r.sent; i++)
    assert_int_not_equal(r.sends[i].status, 1);
}

/* The send queue, with sendmsg(2) made to say EAGAIN through the syscall
 * table: POSIX only. */
#if !defined(_WIN32)
/* sendmsg(2) that says the kernel has no room. */
static ssize_t sendmsg_eagain(int fd, const struct msghdr *msg, int flags) {
  (void)fd;
  (void)msg;
  (void)flags;
  errno = EAGAIN;
  return -1;
}

static bool all_sent(void *arg) {
  struct sent *s = arg;
  return s[0].status != 1 && s[1].status != 1 && s[2].status != 1;
}

static bool three_datagrams(void *arg) {
  return ((struct peer *)arg)->datagrams >= 3;
}

/* Sends the kernel refuses queue, counted, and leave in order once it
 * takes them again. */
static void test_udp_send_queue(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[2];
  peer_init(&loop, &p[0], 0);
  peer_init(&loop, &p[1], 0);
  struct sockaddr_in server;
  peer_bind4(&p[0], &server);
  peer_recv(&p[0]);
  char text[] = "abcdef";
  ax_buf_t bufs[3] = {ax_buf_init(text, 1), ax_buf_init(text + 1, 2),
                      ax_buf_init(text + 3, 3)};
  struct sent s[3];
  int order[3];
  int next = 0;
  ax__sys.sendmsg = sendmsg_eagain;
  for (int i = 0; i < 3; i++) {
    sent_init(&s[i]);
    s[i].order = &order[i];
    s[i].next = &next;
    assert_int_equal(ax_udp_send(&s[i].req, &p[1].udp, &bufs[i], 1,
                                 (struct sockaddr *)&server, sent_cb),
                     0);
  }
  assert_int_equal(ax_udp_get_send_queue_count(&p[1].udp), 3);
  assert_int_equal(ax_udp_get_send_queue_size(&p[1].udp), 6);
  assert_int_equal(
      ax_udp_try_send(&p[1].udp, bufs, 1, (struct sockaddr *)&server),
      AX_EAGAIN);
  ax_run(&loop, AX_RUN_NOWAIT);
  assert_int_equal(s[0].status, 1);
  ax__sys.sendmsg = ax__sys_default.sendmsg;
  run_until(&loop, all_sent, s);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(s[i].status, 0);
    assert_int_equal(order[i], i);
  }
  assert_int_equal(ax_udp_get_send_queue_count(&p[1].udp), 0);
  assert_int_equal(ax_udp_get_send_queue_size(&p[1].udp), 0);
  run_until(&loop, three_datagrams, &p[0]);
  assert_string_equal(p[0].last_data, "def");
  peer_close(&p[0]);
  peer_close(&p[1]);
  test_loop_close(&loop);
}

/* Closing completes the queued sends with ECANCELED, and one already
 * over with its own status, before the close callback. */
struct close_order {
  struct sent s[3];
  int closed_with[3]; /* Each send's status when the close callback ran. */
};

static void close_order_cb(ax_handle_t *handle) {
  struct close_order *c = handle->data;
  for (int i = 0; i < 3; i++)
    c->closed_with[i] = c->s[i].status;
}

static void test_udp_close_cancels(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_udp_t udp;
  assert_int_equal(ax_udp_init(&loop, &udp), 0);
  struct sockaddr_in addr;
  assert_int_equal(ax_ip4_addr("127.0.0.1", 9, &addr), 0);
  struct close_order c;
  memset(&c, 0, sizeof(c));
  char byte = 'c';
  ax_buf_t buf = ax_buf_init(&byte, 1);
  ax_buf_t many[6];
  for (int i = 0; i < 6; i++)
    many[i] = buf;
  for (int i = 0; i < 3; i++)
    sent_init(&c.s[i]);
  /* The first leaves at once; its callback is still due at the close. */
  assert_int_equal(ax_udp_send(&c.s[0].req, &udp, &buf, 1,
                               (struct sockaddr *)&addr, sent_cb),
                   0);
  ax__sys.sendmsg = sendmsg_eagain;
  assert_int_equal(ax_udp_send(&c.s[1].req, &udp, &buf, 1,
                               (struct sockaddr *)&addr, sent_cb),
                   0);
  /* More buffers than a request keeps inline: an allocation, released. */
  assert_int_equal(ax_udp_send(&c.s[2].req, &udp, many, 6,
                               (struct sockaddr *)&addr, sent_cb),
                   0);
  ax__sys.sendmsg = ax__sys_default.sendmsg;
  assert_int_equal(ax_udp_get_send_queue_count(&udp), 2);
  udp.handle.data = &c;
  assert_int_equal(ax_close(&udp.handle, close_order_cb), 0);
  test_loop_close(&loop);
  assert_int_equal(c.closed_with[0], 0);
  assert_int_equal(c.closed_with[1], AX_ECANCELED);
  assert_int_equal(c.closed_with[2], AX_ECANCELED);
}

#endif /* _WIN32 */

/* Stopping and closing inside the receive callback. */
static void test_udp_stop_close_in_callback(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[3]; /* stops, closes, sender */
  for (int i = 0; i < 3; i++)
    peer_init(&loop, &p[i], i < 2 ? AX_UDP_RECVMMSG : 0);
  struct sockaddr_in addr[2];
  peer_bind4(&p[0], &addr[0]);
  peer_bind4(&p[1], &addr[1]);
  p[0].stop_after_one = true;
  p[1].close_after_one = true;
  peer_recv(&p[0]);
  peer_recv(&p[1]);
  char byte = 'z';
  ax_buf_t buf = ax_buf_init(&byte, 1);
  for (int i = 0; i < 4; i++) {
    for (int j = 0; j < 2; j++)
      assert_int_equal(
          ax_udp_try_send(&p[2].udp, &buf, 1, (struct sockaddr *)&addr[j]), 1);
  }
  run_until(&loop, both_done, p);
  for (int i = 0; i < 4; i++)
    ax_run(&loop, AX_RUN_NOWAIT);
  assert_int_equal(p[0].datagrams, 1);
  assert_int_equal(p[1].datagrams, 1);
  assert_false(ax_is_active(&p[0].udp.handle));
  assert_int_equal(p[1].closed, 1);
  peer_close(&p[0]);
  peer_close(&p[2]);
  test_loop_close(&loop);
}

/* Batches: every datagram's callback says MORE, and the whole buffer
 * comes back once, in a callback without it. */
struct batch {
  ax_udp_t udp;
  char *buffer;      /* The alloc callback's buffer, while lent. */
  size_t buffer_len; /* Its length. */
  int datagrams;     /* Datagrams received. */
  int handed_back;   /* Buffers handed back. */
  bool more_seen;    /* A callback with AX_UDP_MORE came. */
};

static void batch_alloc_cb(ax_handle_t *handle, size_t suggested,
                           ax_buf_t *buf) {
  struct batch *b = ax_container_of(handle, struct batch, udp.handle);
  assert_null(b->buffer);
  b->buffer = malloc(suggested);
  assert_non_null(b->buffer);
  b->buffer_len = suggested;
  *buf = ax_buf_init(b->buffer, suggested);
}

static void batch_recv_cb(ax_udp_t *udp, ptrdiff_t nread, const ax_buf_t *buf,
                          const struct sockaddr *addr, unsigned int flags) {
  struct batch *b = ax_container_of(udp, struct batch, udp);
  assert_true(nread >= 0);
  if (flags & AX_UDP_MORE) {
    b->more_seen = true;
    assert_non_null(addr);
    assert_true(buf->base >= b->buffer &&
                buf->base + buf->len <= b->buffer + b->buffer_len);
    assert_int_equal(nread, 5);
    assert_memory_equal(buf->base, "batch", 5);
    b->datagrams++;
    return;
  }
  if (addr != NULL)
    b->datagrams++;
  assert_ptr_equal(buf->base, b->buffer);
  free(b->buffer);
  b->buffer = NULL;
  b->handed_back++;
}

static bool batch_done(void *arg) {
  return ((struct batch *)arg)->datagrams >= 10;
}

static void test_udp_batch(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct batch b;
  memset(&b, 0, sizeof(b));
  assert_int_equal(ax_udp_init_ex(&loop, &b.udp, AX_UDP_RECVMMSG), 0);
  bool batching = ax_udp_using_recvmmsg(&b.udp);
  struct sockaddr_in addr;
  assert_int_equal(ax_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(ax_udp_bind(&b.udp, (struct sockaddr *)&addr, 0), 0);
  int len = (int)sizeof(addr);
  assert_int_equal(ax_udp_getsockname(&b.udp, (struct sockaddr *)&addr, &len),
                   0);
  struct peer sender;
  peer_init(&loop, &sender, 0);
  char text[] = "batch";
  ax_buf_t buf = ax_buf_init(text, 5);
  for (int i = 0; i < 10; i++)
    assert_int_equal(
        ax_udp_try_send(&sender.udp, &buf, 1, (struct sockaddr *)&addr), 5);
  assert_int_equal(ax_udp_recv_start(&b.udp, batch_alloc_cb, batch_recv_cb), 0);
  run_until(&loop, batch_done, &b);
  assert_int_equal(b.datagrams, 10);
  assert_int_equal(b.more_seen, batching);
  assert_true(b.handed_back >= 1);
  assert_null(b.buffer);
  assert_int_equal(ax_udp_recv_stop(&b.udp), 0);
  assert_int_equal(ax_close(&b.udp.handle, NULL), 0);
  peer_close(&sender);
  test_loop_close(&loop);
}

/* The options on a bound IPv4 socket; multicast membership where the
 * machine has a route for it. */
static void test_udp_options(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p;
  peer_init(&loop, &p, 0);
  struct sockaddr_in addr;
  assert_int_equal(ax_ip4_addr("0.0.0.0", 0, &addr), 0);
  assert_int_equal(
      ax_udp_bind(&p.udp, (struct sockaddr *)&addr, AX_UDP_REUSEADDR), 0);
  assert_int_equal(ax_udp_set_broadcast(&p.udp, true), 0);
  assert_int_equal(ax_udp_set_broadcast(&p.udp, false), 0);
  assert_int_equal(ax_udp_set_ttl(&p.udp, 64), 0);
  assert_int_equal(ax_udp_set_multicast_ttl(&p.udp, 1), 0);
  assert_int_equal(ax_udp_set_multicast_loop(&p.udp, true), 0);
  assert_int_equal(ax_udp_set_multicast_interface(&p.udp, "not an address"),
                   AX_EINVAL);
  assert_int_equal(ax_udp_set_multicast_interface(&p.udp, NULL), 0);
  assert_int_equal(ax_udp_set_membership(&p.udp, "1.2.3", NULL, AX_JOIN_GROUP),
                   AX_EINVAL);
  assert_int_equal(
      ax_udp_set_membership(&p.udp, "239.255.0.1", NULL, (ax_membership)7),
      AX_EINVAL);
  assert_int_equal(ax_udp_set_source_membership(&p.udp, "232.1.1.1", NULL, NULL,
                                                AX_JOIN_GROUP),
                   AX_EINVAL);
  int err = ax_udp_set_membership(&p.udp, "239.255.0.1", "127.0.0.1",
                                  AX_JOIN_GROUP);
  if (err == 0) {
    assert_int_equal(ax_udp_set_multicast_interface(&p.udp, "127.0.0.1"), 0);
    assert_int_equal(ax_udp_set_membership(&p.udp, "239.255.0.1", "127.0.0.1",
                                           AX_LEAVE_GROUP),
                     0);
    err = ax_udp_set_source_membership(&p.udp, "232.1.1.1", "127.0.0.1",
                                       "127.0.0.1", AX_JOIN_GROUP);
    assert_true(err == 0 || err == AX_ENOTSUP);
    if (err == 0)
      assert_int_equal(ax_udp_set_source_membership(&p.udp, "232.1.1.1",
                                                    "127.0.0.1", "127.0.0.1",
                                                    AX_LEAVE_GROUP),
                       0);
  } else {
    print_message("multicast membership refused here: %s\n", ax_err_name(err));
  }
  peer_close(&p);
  test_loop_close(&loop);
}

/* 100,000 datagrams through one loop: a client keeps a window in flight
 * to an echo server and sends one more per echo. A timer refills the
 * window if it stalls (a datagram lost). */
/* Under Wine (the Windows build's runner) every Winsock call goes through
 * wineserver, and a round trip costs milliseconds on a busy machine: the
 * Windows build sends fewer, so that the test fits its time. */
#if defined(_WIN32)
enum { LOAD_TOTAL = 1000 };
#else
enum { LOAD_TOTAL = 100000 };
#endif /* _WIN32 */

enum {
  LOAD_WINDOW = 64,
  /* The load's own safety net: longer than the guard's, as a machine
   * shared with other work (or a sanitizer build) may take seconds; less
   * than meson's 60 s for the whole program. */
  LOAD_NET_MS = 40000,
};

struct load {
  ax_udp_t server;
  ax_udp_t client;
  ax_timer_t stall;
  struct sockaddr_in server_addr;
  char server_buf[2048];
  char client_buf[2048];
  char *batch_buf;    /* The batched server's buffer, made once. */
  bool batch_lent;    /* It is lent to the handle. */
  int sent;           /* Datagrams the client sent. */
  int echoed;         /* Echoes the client received. */
  int echoed_at_tick; /* echoed at the last stall check. */
  int server_calls;   /* Datagrams the server saw. */
};

static void load_send(struct load *l) {
  static char payload[64];
  ax_buf_t buf = ax_buf_init(payload, sizeof(payload));
  int r = ax_udp_try_send(&l->client, &buf, 1,
                          (struct sockaddr *)&l->server_addr);
  assert_true(r == (int)sizeof(payload) || r == AX_EAGAIN || r == AX_ENOBUFS);
  if (r > 0)
    l->sent++;
}

static void load_server_alloc(ax_handle_t *handle, size_t suggested,
                              ax_buf_t *buf) {
  struct load *l = ax_container_of(handle, struct load, server.handle);
  if (ax_udp_using_recvmmsg(&l->server)) {
    /* One buffer, made once and lent again each time it comes back, as
     * a server would: a batch's buffer is large. */
    assert_false(l->batch_lent);
    if (l->batch_buf == NULL)
      l->batch_buf = malloc(suggested);
    assert_non_null(l->batch_buf);
    l->batch_lent = true;
    *buf = ax_buf_init(l->batch_buf, suggested);
    return;
  }
  *buf = ax_buf_init(l->server_buf, sizeof(l->server_buf));
}

static void load_echo_sent(ax_udp_send_t *req, int status) {
  assert_int_equal(status, 0);
  free(req);
}

static void load_server_recv(ax_udp_t *udp, ptrdiff_t nread,
                             const ax_buf_t *buf, const struct sockaddr *addr,
                             unsigned int flags) {
  struct load *l = ax_container_of(udp, struct load, server);
  assert_true(nread >= 0);
  if (addr != NULL) {
    l->server_calls++;
    /* A send with a request, so that batched echoes queue and leave
     * together; the bytes are a copy, as the buffer is lent. */
    struct {
      ax_udp_send_t req;
      char data[64];
    } *echo = malloc(sizeof(*echo));
    assert_non_null(echo);
    memcpy(echo->data, buf->base, (size_t)nread);
    ax_buf_t out = ax_buf_init(echo->data, (size_t)nread);
    assert_int_equal(
        ax_udp_send(&echo->req, udp, &out, 1, addr, load_echo_sent), 0);
  }
  if (!(flags & AX_UDP_MORE) && buf->base == l->batch_buf)
    l->batch_lent = false;
}

static void load_client_alloc(ax_handle_t *handle, size_t suggested,
                              ax_buf_t *buf) {
  (void)suggested;
  struct load *l = ax_container_of(handle, struct load, client.handle);
  *buf = ax_buf_init(l->client_buf, sizeof(l->client_buf));
}

static void load_finish(struct load *l) {
  ax_udp_recv_stop(&l->client);
  ax_udp_recv_stop(&l->server);
  ax_timer_stop(&l->stall);
}

static void load_client_recv(ax_udp_t *udp, ptrdiff_t nread,
                             const ax_buf_t *buf, const struct sockaddr *addr,
                             unsigned int flags) {
  (void)buf;
  (void)flags;
  struct load *l = ax_container_of(udp, struct load, client);
  assert_true(nread >= 0);
  if (addr == NULL)
    return;
  l->echoed++;
  if (l->echoed >= LOAD_TOTAL) {
    load_finish(l);
    return;
  }
  if (l->sent < LOAD_TOTAL + LOAD_WINDOW * 64)
    load_send(l);
}

static void load_stall_cb(ax_timer_t *timer) {
  struct load *l = ax_container_of(timer, struct load, stall);
  if (l->echoed == l->echoed_at_tick) {
    for (int i = 0; i < LOAD_WINDOW; i++)
      load_send(l);
  }
  l->echoed_at_tick = l->echoed;
}

static void load_run(unsigned int server_flags) {
  ax_loop_t loop;
  test_loop_open(&loop);
  struct load *l = calloc(1, sizeof(*l));
  assert_non_null(l);
  assert_int_equal(ax_udp_init_ex(&loop, &l->server, server_flags), 0);
  assert_int_equal(ax_udp_init(&loop, &l->client), 0);
  assert_int_equal(ax_ip4_addr("127.0.0.1", 0, &l->server_addr), 0);
  assert_int_equal(
      ax_udp_bind(&l->server, (struct sockaddr *)&l->server_addr, 0), 0);
  int len = (int)sizeof(l->server_addr);
  assert_int_equal(
      ax_udp_getsockname(&l->server, (struct sockaddr *)&l->server_addr, &len),
      0);
  assert_int_equal(
      ax_udp_recv_start(&l->server, load_server_alloc, load_server_recv), 0);
  for (int i = 0; i < LOAD_WINDOW; i++)
    load_send(l);
  assert_int_equal(
      ax_udp_recv_start(&l->client, load_client_alloc, load_client_recv), 0);
  assert_int_equal(ax_timer_init(&loop, &l->stall), 0);
  assert_int_equal(ax_timer_start(&l->stall, load_stall_cb, 100, 100), 0);
  ax_timer_t net;
  run_until_net_fired = false;
  assert_int_equal(ax_timer_init(&loop, &net), 0);
  assert_int_equal(ax_timer_start(&net, run_until_net_cb, LOAD_NET_MS, 0), 0);
  ax_unref(&net.handle);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(ax_close(&net.handle, NULL), 0);
  print_message("%d datagrams echoed (%d sent, %d seen by the server)\n",
                l->echoed, l->sent, l->server_calls);
  assert_false(run_until_net_fired);
  assert_true(l->echoed >= LOAD_TOTAL);
  assert_int_equal(ax_close(&l->server.handle, NULL), 0);
  assert_int_equal(ax_close(&l->client.handle, NULL), 0);
  assert_int_equal(ax_close(&l->stall.handle, NULL), 0);
  test_loop_close(&loop);
  free(l->batch_buf);
  free(l);
}

static void test_udp_load(void **state) {
  (void)state;
  load_run(0);
}

static void test_udp_load_batched(void **state) {
  (void)state;
  load_run(AX_UDP_RECVMMSG);
}

/* ax_udp_open: a datagram socket is adopted, anything else refused. */
static void test_udp_open(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_udp_t udp;
  assert_int_equal(ax_udp_init(&loop, &udp), 0);
  ax_os_sock_t stream = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(stream != (ax_os_sock_t)-1);
  assert_int_equal(ax_udp_open(&udp, stream), AX_EINVAL);
  closesocket(stream);
  ax_os_sock_t fd = socket(AF_INET, SOCK_DGRAM, 0);
  assert_true(fd != (ax_os_sock_t)-1);
  assert_int_equal(ax_udp_open(&udp, fd), 0);
  assert_int_equal(ax_udp_open(&udp, fd), AX_EBUSY);
  assert_int_equal(ax_udp_set_broadcast(&udp, true), 0);
  assert_int_equal(ax_close(&udp.handle, NULL), 0);
  test_loop_close(&loop);
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

/* ---- What a libuv program relies on ---- */

static bool has_two_datagrams(void *arg) {
  return ((struct peer *)arg)->datagrams > 1;
}

static bool has_error(void *arg) {
  return ((struct peer *)arg)->errors > 0;
}

static bool has_sent(void *arg) {
  return ((struct sent *)arg)->status != 1;
}

/* Binding twice, a port in use, receiving twice; the address rules of a
 * connected socket for try_send too (libuv's udp_connect). Without an
 * address on a socket that is not connected, libuv says UV_EDESTADDRREQ
 * and axle AX_ENOTCONN (docs/coming-from-libuv.md). */
static void test_udp_libuv_bind_and_address_rules(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[3];
  struct sockaddr_in server;
  peer_init(&loop, &p[0], 0);
  peer_bind4(&p[0], &server);
  assert_int_equal(ax_udp_bind(&p[0].udp, (struct sockaddr *)&server, 0),
                   AX_EINVAL);
  peer_recv(&p[0]);
  assert_int_equal(ax_udp_recv_start(&p[0].udp, peer_alloc_cb, peer_recv_cb),
                   AX_EALREADY);
  peer_init(&loop, &p[1], 0);
  assert_int_equal(ax_udp_bind(&p[1].udp, (struct sockaddr *)&server, 0),
                   AX_EADDRINUSE);

  peer_init(&loop, &p[2], 0);
  char text[] = "rule";
  ax_buf_t buf = ax_buf_init(text, 4);
  assert_int_equal(ax_udp_try_send(&p[2].udp, &buf, 1, NULL), AX_ENOTCONN);
  assert_int_equal(ax_udp_connect(&p[2].udp, (struct sockaddr *)&server), 0);
  assert_int_equal(
      ax_udp_try_send(&p[2].udp, &buf, 1, (struct sockaddr *)&server),
      AX_EISCONN);
  assert_int_equal(ax_udp_try_send(&p[2].udp, &buf, 1, NULL), 4);
  run_until(&loop, has_datagram, &p[0]);
  assert_string_equal(p[0].last_data, "rule");
  assert_int_equal(ax_udp_connect(&p[2].udp, NULL), 0);
  assert_int_equal(
      ax_udp_try_send(&p[2].udp, &buf, 1, (struct sockaddr *)&server), 4);
  run_until(&loop, has_two_datagrams, &p[0]);
  for (int i = 0; i < 3; i++)
    peer_close(&p[i]);
  test_loop_close(&loop);
}

/* The alloc callback declines once: AX_ENOBUFS, and receiving goes on by
 * itself, as in libuv (unlike a stream, docs/udp.md): the datagram comes
 * with the next buffer. */
static void test_udp_libuv_alloc_declined(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[2];
  struct sockaddr_in server;
  peer_init(&loop, &p[0], 0);
  peer_init(&loop, &p[1], 0);
  peer_bind4(&p[0], &server);
  p[0].alloc_len = 0;
  peer_recv(&p[0]);
  char text[] = "late";
  ax_buf_t buf = ax_buf_init(text, 4);
  assert_int_equal(
      ax_udp_try_send(&p[1].udp, &buf, 1, (struct sockaddr *)&server), 4);
  run_until(&loop, has_error, &p[0]);
  assert_int_equal(p[0].last_error, AX_ENOBUFS);
  assert_int_equal(p[0].datagrams, 0);
  assert_true(ax_is_active(&p[0].udp.handle));
  p[0].alloc_len = sizeof(p[0].buf);
  run_until(&loop, has_datagram, &p[0]);
  assert_string_equal(p[0].last_data, "late");
  peer_close(&p[0]);
  peer_close(&p[1]);
  test_loop_close(&loop);
}

/* A datagram larger than UDP allows: AX_EMSGSIZE, from try_send at once,
 * and from send in its callback, exactly once (libuv's
 * udp_dgram_too_big). */
static void test_udp_libuv_datagram_too_big(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p;
  struct sockaddr_in addr;
  peer_init(&loop, &p, 0);
  peer_bind4(&p, &addr);
  static char big[70000];
  ax_buf_t buf = ax_buf_init(big, sizeof(big));
  assert_int_equal(ax_udp_try_send(&p.udp, &buf, 1, (struct sockaddr *)&addr),
                   AX_EMSGSIZE);
  struct sent s;
  sent_init(&s);
  int rc = ax_udp_send(&s.req, &p.udp, &buf, 1, (struct sockaddr *)&addr,
                       sent_cb);
  assert_int_equal(rc, 0);
  run_until(&loop, has_sent, &s);
  assert_int_equal(s.status, AX_EMSGSIZE);
  assert_int_equal(ax_udp_get_send_queue_count(&p.udp), 0);
  peer_close(&p);
  test_loop_close(&loop);
}

/* References, as libuv's udp_ref tests have them: a receiving handle,
 * unreferenced, does not keep the loop alive; a send on it does, until its
 * callback has run. */
static void test_udp_libuv_unref_send_keeps_loop(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[2];
  struct sockaddr_in server;
  peer_init(&loop, &p[0], 0);
  peer_init(&loop, &p[1], 0);
  peer_bind4(&p[0], &server);
  peer_recv(&p[0]);
  ax_unref(&p[0].udp.handle);
  ax_unref(&p[1].udp.handle);
  assert_true(ax_is_active(&p[0].udp.handle));
  assert_false(ax_loop_alive(&loop));
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  char text[] = "unref";
  ax_buf_t buf = ax_buf_init(text, 5);
  struct sent s;
  sent_init(&s);
  assert_int_equal(ax_udp_send(&s.req, &p[1].udp, &buf, 1,
                               (struct sockaddr *)&server, sent_cb),
                   0);
  assert_true(ax_loop_alive(&loop));
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(s.status, 0);
  assert_false(ax_loop_alive(&loop));
  peer_close(&p[0]);
  peer_close(&p[1]);
  test_loop_close(&loop);
}

/* ---- What a libuv program relies on: UDP, a second round ----
 *
 * libuv's udp_send_immediate, udp_send_unreachable, udp_recv_in_a_row,
 * udp_ipv6_only and udp_dual_stack, udp_connect6, udp_multicast_ttl and
 * udp_multicast_join, udp_sendmmsg_error, udp_open_bound and
 * udp_open_connect, udp_reuseaddr, and the callback-stack rule, through
 * axle's API. */

/* Run the loop a few turns without waiting, for what may arrive late. */
static void settle_udp(ax_loop_t *loop) {
  for (int i = 0; i < 8; i++)
    ax_run(loop, AX_RUN_NOWAIT);
}

/* Close the handles of peers p[0..n) and run until their callbacks ran. */
static void peers_close(ax_loop_t *loop, struct peer *p, int n) {
  for (int i = 0; i < n; i++)
    peer_close(&p[i]);
  (void)loop;
}

/* Close p[0..n) and the loop, and mark the test skipped, for why. */
static void peers_skip(ax_loop_t *loop, struct peer *p, int n,
                       const char *why) {
  peers_close(loop, p, n);
  test_loop_close(loop);
  test_skip(why);
}

/* Open a server p[0], bound to 127.0.0.1 (*server is its address), and a
 * client p[1] that is not bound. */
static void peers_open(ax_loop_t *loop, struct peer *p,
                       struct sockaddr_in *server) {
  peer_init(loop, &p[0], 0);
  peer_init(loop, &p[1], 0);
  peer_bind4(&p[0], server);
}

/* Start a send of bufs[0..n) from p to addr (NULL: p's peer), recorded in
 * s; the call itself must succeed. */
static void peer_send(struct sent *s, struct peer *p, const ax_buf_t *bufs,
                      size_t n, const struct sockaddr *addr) {
  sent_init(s);
  assert_int_equal(ax_udp_send(&s->req, &p->udp, bufs, n, addr, sent_cb), 0);
}

/* The port of an IPv4 or IPv6 address, in host order. */
static int addr_port(const struct sockaddr *addr) {
  if (addr->sa_family == AF_INET6)
    return ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
  return ntohs(((const struct sockaddr_in *)addr)->sin_port);
}

/* p[1] is connected to server, where p[0] receives: its peer's name is
 * server's, a send that names an address is refused, and one that does
 * not arrives at p[0] as text. */
static void peers_exchange_connected(ax_loop_t *loop, struct peer *p,
                                     const struct sockaddr *server,
                                     const char *text) {
  struct sockaddr_storage peer;
  int len = (int)sizeof(peer);
  assert_int_equal(
      ax_udp_getpeername(&p[1].udp, (struct sockaddr *)&peer, &len), 0);
  assert_int_equal(peer.ss_family, server->sa_family);
  assert_int_equal(addr_port((struct sockaddr *)&peer), addr_port(server));
  char copy[64];
  size_t text_len = strlen(text);
  assert_true(text_len < sizeof(copy));
  memcpy(copy, text, text_len + 1);
  ax_buf_t buf = ax_buf_init(copy, text_len);
  assert_int_equal(ax_udp_try_send(&p[1].udp, &buf, 1, server), AX_EISCONN);
  struct sent s;
  peer_send(&s, &p[1], &buf, 1, NULL);
  run_until(loop, has_datagram, &p[0]);
  assert_int_equal(s.status, 0);
  assert_string_equal(p[0].last_data, text);
}

/* Sends from a handle that was never bound, one right after the other:
 * the first binds it, both arrive, and neither callback runs inside its
 * call (libuv's udp_send_immediate). */
static void test_udp_libuv_send_immediate(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[2];
  struct sockaddr_in server;
  peers_open(&loop, p, &server);
  peer_recv(&p[0]);
  char text[] = "one";
  ax_buf_t buf = ax_buf_init(text, 3);
  struct sent s[2];
  for (int i = 0; i < 2; i++) {
    peer_send(&s[i], &p[1], &buf, 1, (struct sockaddr *)&server);
    assert_int_equal(s[i].status, 1);
  }
  struct sockaddr_in name;
  int len = (int)sizeof(name);
  assert_int_equal(
      ax_udp_getsockname(&p[1].udp, (struct sockaddr *)&name, &len), 0);
  assert_int_not_equal(ntohs(name.sin_port), 0);
  run_until(&loop, has_two_datagrams, &p[0]);
  assert_int_equal(s[0].status, 0);
  assert_int_equal(s[1].status, 0);
  struct sockaddr_in *from = (struct sockaddr_in *)&p[0].last_from;
  assert_int_equal(from->sin_port, name.sin_port);
  peers_close(&loop, p, 2);
  test_loop_close(&loop);
}

/* A send to a port nobody listens on, from a socket that is not
 * connected: the send succeeds, and no error reaches the receive side, on
 * any system (Windows reports the ICMP answer to an unconnected socket
 * unless told not to; libuv's udp_send_unreachable). */
static void test_udp_libuv_send_unreachable(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[3]; /* echo server, client, a port closed again */
  struct sockaddr_in server, closed;
  peer_init(&loop, &p[0], 0);
  peer_init(&loop, &p[1], 0);
  peer_init(&loop, &p[2], 0);
  peer_bind4(&p[0], &server);
  peer_bind4(&p[2], &closed);
  peer_close(&p[2]);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(p[2].closed, 1);
  p[0].echo = true;
  peer_recv(&p[0]);
  peer_recv(&p[1]);
  char text[] = "lost";
  ax_buf_t buf = ax_buf_init(text, 4);
  struct sent s[2];
  peer_send(&s[0], &p[1], &buf, 1, (struct sockaddr *)&closed);
  run_until(&loop, has_sent, &s[0]);
  assert_int_equal(s[0].status, 0);
  settle_udp(&loop);
  /* The ICMP answer came back by now; the next exchange still works. */
  peer_send(&s[1], &p[1], &buf, 1, (struct sockaddr *)&server);
  run_until(&loop, has_datagram, &p[1]);
  assert_int_equal(s[1].status, 0);
  assert_string_equal(p[1].last_data, "lost");
  assert_int_equal(p[1].errors, 0);
  assert_true(ax_is_active(&p[1].udp.handle));
  peers_close(&loop, p, 2);
  test_loop_close(&loop);
}

/* A receiver that records the first byte of each datagram, in order. */
struct row {
  struct peer p; /* The receiver. */
  char seen[16]; /* First bytes, in arrival order. */
  int n;         /* Datagrams seen. */
};

static void row_recv_cb(ax_udp_t *udp, ptrdiff_t nread, const ax_buf_t *buf,
                        const struct sockaddr *addr, unsigned int flags) {
  struct row *r = ax_container_of(udp, struct row, p.udp);
  peer_recv_cb(udp, nread, buf, addr, flags);
  if (nread > 0 && addr != NULL && r->n < (int)sizeof(r->seen) - 1)
    r->seen[r->n++] = buf->base[0];
}

static bool row_done(void *arg) {
  return ((struct row *)arg)->n >= 10;
}

/* Ten datagrams waiting before receiving starts arrive, all ten, in
 * order, each whole (libuv's udp_recv_in_a_row). */
static void test_udp_libuv_recv_in_a_row(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct row r;
  memset(&r, 0, sizeof(r));
  struct peer sender;
  struct sockaddr_in server;
  peer_init(&loop, &r.p, 0);
  peer_init(&loop, &sender, 0);
  peer_bind4(&r.p, &server);
  char text[10];
  for (int i = 0; i < 10; i++) {
    text[i] = (char)('0' + i);
    ax_buf_t buf = ax_buf_init(&text[i], 1);
    assert_int_equal(
        ax_udp_try_send(&sender.udp, &buf, 1, (struct sockaddr *)&server), 1);
  }
  assert_int_equal(ax_udp_recv_start(&r.p.udp, peer_alloc_cb, row_recv_cb), 0);
  assert_int_equal(r.n, 0); /* Never inside the call. */
  run_until(&loop, row_done, &r);
  assert_string_equal(r.seen, "0123456789");
  assert_int_equal(r.p.errors, 0);
  assert_int_equal(r.p.last_nread, 1);
  peer_close(&r.p);
  peer_close(&sender);
  test_loop_close(&loop);
}

/* Bind "::" with flags, at port; false where the system has no IPv6. */
static bool bind_any6(struct peer *p, int port, unsigned int flags) {
  struct sockaddr_in6 addr;
  assert_int_equal(ax_ip6_addr("::", port, &addr), 0);
  int err = ax_udp_bind(&p->udp, (struct sockaddr *)&addr, flags);
  if (err == AX_EAFNOSUPPORT || err == AX_EADDRNOTAVAIL)
    return false;
  assert_int_equal(err, 0);
  return true;
}

static int udp_port(const ax_udp_t *udp) {
  struct sockaddr_storage name;
  int len = (int)sizeof(name);
  assert_int_equal(ax_udp_getsockname(udp, (struct sockaddr *)&name, &len), 0);
  return addr_port((struct sockaddr *)&name);
}

/* AX_UDP_IPV6ONLY: "::" with it leaves IPv4's port free for another
 * socket; without it, the socket takes IPv4's too, and an IPv4 sender
 * shows as a mapped address (libuv's udp_ipv6_only, udp_dual_stack). An
 * IPv6 socket is dual-stack unless asked, on every system. */
static void test_udp_libuv_ipv6_only(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[4]; /* v6only, v4 beside it, dual-stack, v4 sender */
  for (int i = 0; i < 4; i++)
    peer_init(&loop, &p[i], 0);
  if (!bind_any6(&p[0], 0, AX_UDP_IPV6ONLY)) {
    peers_skip(&loop, p, 4, "no IPv6 here");
    return;
  }
  struct sockaddr_in v4;
  int port = udp_port(&p[0].udp);
  assert_int_equal(ax_ip4_addr("127.0.0.1", port, &v4), 0);
  assert_int_equal(ax_udp_bind(&p[1].udp, (struct sockaddr *)&v4, 0), 0);

  assert_true(bind_any6(&p[2], 0, 0));
  port = udp_port(&p[2].udp);
  assert_int_equal(ax_ip4_addr("127.0.0.1", port, &v4), 0);
  peer_recv(&p[2]);
  assert_int_equal(ax_udp_bind(&p[3].udp, (struct sockaddr *)&v4, 0),
                   AX_EADDRINUSE);
  char text[] = "four";
  ax_buf_t buf = ax_buf_init(text, 4);
  assert_int_equal(ax_udp_try_send(&p[3].udp, &buf, 1, (struct sockaddr *)&v4),
                   4);
  run_until(&loop, has_datagram, &p[2]);
  assert_string_equal(p[2].last_data, "four");
  assert_int_equal(p[2].last_from.ss_family, AF_INET6);
  char name[64];
  assert_int_equal(
      ax_ip_name((struct sockaddr *)&p[2].last_from, name, sizeof(name)), 0);
  assert_string_equal(name, "::ffff:127.0.0.1");
  peers_close(&loop, p, 4);
  test_loop_close(&loop);
}

/* Connected over ::1: sends need no address, the peer's name is IPv6, an
 * address given is refused (libuv's udp_connect6); skipped without ::1. */
static void test_udp_libuv_connect6(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[2];
  peer_init(&loop, &p[0], 0);
  peer_init(&loop, &p[1], 0);
  struct sockaddr_in6 server;
  assert_int_equal(ax_ip6_addr("::1", 0, &server), 0);
  int err = ax_udp_bind(&p[0].udp, (struct sockaddr *)&server, 0);
  if (err == AX_EADDRNOTAVAIL || err == AX_EAFNOSUPPORT) {
    peers_skip(&loop, p, 2, "no IPv6 loopback here");
    return;
  }
  assert_int_equal(err, 0);
  int len = (int)sizeof(server);
  assert_int_equal(
      ax_udp_getsockname(&p[0].udp, (struct sockaddr *)&server, &len), 0);
  peer_recv(&p[0]);
  assert_int_equal(ax_udp_connect(&p[1].udp, (struct sockaddr *)&server), 0);
  assert_int_equal(server.sin6_family, AF_INET6);
  peers_exchange_connected(&loop, p, (struct sockaddr *)&server, "six");
  peers_close(&loop, p, 2);
  test_loop_close(&loop);
}

/* Multicast: the time-to-live's range (libuv's udp_multicast_ttl), then a
 * datagram to a group the socket joined comes back to it, and a group
 * left twice is an error (udp_multicast_join). The second half is skipped
 * where the machine has no multicast route. */
static void test_udp_libuv_multicast(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p;
  peer_init(&loop, &p, 0);
  struct sockaddr_in addr;
  assert_int_equal(ax_ip4_addr("0.0.0.0", 0, &addr), 0);
  assert_int_equal(ax_udp_bind(&p.udp, (struct sockaddr *)&addr, 0), 0);
  assert_int_equal(ax_udp_set_multicast_ttl(&p.udp, 0), 0);
  assert_int_equal(ax_udp_set_multicast_ttl(&p.udp, 255), 0);
  assert_int_equal(ax_udp_set_multicast_ttl(&p.udp, 256), AX_EINVAL);
  assert_int_equal(ax_udp_set_ttl(&p.udp, 1), 0);
  assert_int_equal(ax_udp_set_ttl(&p.udp, 255), 0);
  assert_int_equal(ax_udp_set_multicast_loop(&p.udp, true), 0);
  /* Not a group: refused by the system, as an error code. */
  assert_int_not_equal(
      ax_udp_set_membership(&p.udp, "127.0.0.1", NULL, AX_JOIN_GROUP), 0);
  int err = ax_udp_set_membership(&p.udp, "239.255.0.7", NULL, AX_JOIN_GROUP);
  if (err != 0) {
    print_message("multicast membership refused here: %s\n", ax_err_name(err));
    peer_close(&p);
    test_loop_close(&loop);
    return;
  }
  peer_recv(&p);
  struct sockaddr_in group;
  assert_int_equal(ax_ip4_addr("239.255.0.7", udp_port(&p.udp), &group), 0);
  char text[] = "group";
  ax_buf_t buf = ax_buf_init(text, 5);
  int sent = ax_udp_try_send(&p.udp, &buf, 1, (struct sockaddr *)&group);
  if (sent == 5) {
    run_until(&loop, has_datagram, &p);
    assert_string_equal(p.last_data, "group");
  } else {
    print_message("no route to the group here: %s\n", ax_err_name(sent));
  }
  assert_int_equal(
      ax_udp_set_membership(&p.udp, "239.255.0.7", NULL, AX_LEAVE_GROUP), 0);
  assert_int_not_equal(
      ax_udp_set_membership(&p.udp, "239.255.0.7", NULL, AX_LEAVE_GROUP), 0);
  peer_close(&p);
  test_loop_close(&loop);
}

static bool sixteen_sent(void *arg) {
  struct sent *s = arg;
  for (int i = 0; i < 16; i++) {
    if (s[i].status == 1)
      return false;
  }
  return true;
}

/* Sends queued on a connected socket whose peer is gone: every one
 * completes exactly once, with 0 or AX_ECONNREFUSED, and the queue
 * empties (libuv's udp_sendmmsg_error). */
static void test_udp_libuv_send_errors(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[2];
  struct sockaddr_in closed;
  peers_open(&loop, p, &closed);
  peer_close(&p[0]);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(ax_udp_connect(&p[1].udp, (struct sockaddr *)&closed), 0);
  char byte = 'e';
  ax_buf_t buf = ax_buf_init(&byte, 1);
  static struct sent s[16];
  int refused = 0;
  for (int i = 0; i < 16; i++)
    peer_send(&s[i], &p[1], &buf, 1, NULL);
  run_until(&loop, sixteen_sent, s);
  for (int i = 0; i < 16; i++) {
    assert_true(s[i].status == 0 || s[i].status == AX_ECONNREFUSED);
    refused += s[i].status != 0;
  }
  print_message("%d of 16 sends refused\n", refused);
  assert_int_equal(ax_udp_get_send_queue_count(&p[1].udp), 0);
  assert_int_equal(ax_udp_get_send_queue_size(&p[1].udp), 0);
  peer_close(&p[1]);
  test_loop_close(&loop);
}

/* Adopting a socket the program bound, or connected, itself: the handle
 * knows its name and its peer, receives, and sends without an address
 * (libuv's udp_open_bound, udp_open_connect). */
static void test_udp_libuv_open_bound_connected(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[2];
  peer_init(&loop, &p[0], 0);
  peer_init(&loop, &p[1], 0);
  struct sockaddr_in server;
  assert_int_equal(ax_ip4_addr("127.0.0.1", 0, &server), 0);
  ax_os_sock_t bound = socket(AF_INET, SOCK_DGRAM, 0);
  assert_true(bound != (ax_os_sock_t)-1);
  assert_int_equal(bind(bound, (struct sockaddr *)&server, sizeof(server)), 0);
  assert_int_equal(ax_udp_open(&p[0].udp, bound), 0);
  int port = udp_port(&p[0].udp);
  assert_int_not_equal(port, 0);
  assert_int_equal(ax_ip4_addr("127.0.0.1", port, &server), 0);
  peer_recv(&p[0]);

  ax_os_sock_t connected = socket(AF_INET, SOCK_DGRAM, 0);
  assert_true(connected != (ax_os_sock_t)-1);
  assert_int_equal(
      connect(connected, (struct sockaddr *)&server, sizeof(server)), 0);
  assert_int_equal(ax_udp_open(&p[1].udp, connected), 0);
  peers_exchange_connected(&loop, p, (struct sockaddr *)&server, "adopted");
  peers_close(&loop, p, 2);
  test_loop_close(&loop);
}

/* AX_UDP_REUSEADDR lets two handles bind one address and port (libuv's
 * udp_reuseaddr); without it on the second, AX_EADDRINUSE. */
static void test_udp_libuv_reuseaddr(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[3];
  for (int i = 0; i < 3; i++)
    peer_init(&loop, &p[i], 0);
  struct sockaddr_in addr;
  assert_int_equal(ax_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(
      ax_udp_bind(&p[0].udp, (struct sockaddr *)&addr, AX_UDP_REUSEADDR), 0);
  assert_int_equal(ax_ip4_addr("127.0.0.1", udp_port(&p[0].udp), &addr), 0);
  assert_int_equal(
      ax_udp_bind(&p[1].udp, (struct sockaddr *)&addr, AX_UDP_REUSEADDR), 0);
  assert_int_equal(udp_port(&p[1].udp), udp_port(&p[0].udp));
  assert_int_equal(ax_udp_bind(&p[2].udp, (struct sockaddr *)&addr, 0),
                   AX_EADDRINUSE);
  peers_close(&loop, p, 3);
  test_loop_close(&loop);
}

/* Counts callbacks made while a test is inside an axle call. */
static bool udp_in_call;
static int udp_inside;

static void stack_recv_cb(ax_udp_t *udp, ptrdiff_t nread, const ax_buf_t *buf,
                          const struct sockaddr *addr, unsigned int flags) {
  udp_inside += udp_in_call;
  peer_recv_cb(udp, nread, buf, addr, flags);
}

static void stack_sent_cb(ax_udp_send_t *req, int status) {
  udp_inside += udp_in_call;
  sent_cb(req, status);
}

static void stack_closed_cb(ax_handle_t *handle) {
  udp_inside += udp_in_call;
  test_count_close_cb(handle);
}

/* No callback from inside the call that caused it: a receive started
 * with a datagram waiting, a send the kernel takes at once, a send that
 * fails at once (too big), a close (libuv's callback_stack). */
static void test_udp_libuv_no_callback_inside_calls(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[2];
  struct sockaddr_in server;
  peers_open(&loop, p, &server);
  udp_inside = 0;
  char text[] = "stack";
  ax_buf_t buf = ax_buf_init(text, 5);
  struct sent s[2];
  sent_init(&s[0]);
  sent_init(&s[1]);
  udp_in_call = true;
  assert_int_equal(ax_udp_send(&s[0].req, &p[1].udp, &buf, 1,
                               (struct sockaddr *)&server, stack_sent_cb),
                   0);
  udp_in_call = false;
  run_until(&loop, has_sent, &s[0]);
  settle_udp(&loop);
  udp_in_call = true;
  assert_int_equal(ax_udp_recv_start(&p[0].udp, peer_alloc_cb, stack_recv_cb),
                   0);
  udp_in_call = false;
  run_until(&loop, has_datagram, &p[0]);
  static char big[70000];
  ax_buf_t too_big = ax_buf_init(big, sizeof(big));
  udp_in_call = true;
  assert_int_equal(ax_udp_send(&s[1].req, &p[1].udp, &too_big, 1,
                               (struct sockaddr *)&server, stack_sent_cb),
                   0);
  udp_in_call = false;
  run_until(&loop, has_sent, &s[1]);
  assert_int_equal(s[1].status, AX_EMSGSIZE);
  udp_in_call = true;
  assert_int_equal(ax_close(&p[0].udp.handle, stack_closed_cb), 0);
  assert_int_equal(ax_close(&p[1].udp.handle, stack_closed_cb), 0);
  udp_in_call = false;
  test_loop_close(&loop);
  assert_int_equal(p[0].closed + p[1].closed, 2);
  assert_int_equal(udp_inside, 0);
}

/* A datagram made of many buffers (more than a request keeps inline) and
 * an empty one sent with a request: each arrives as one datagram. */
static void test_udp_libuv_send_vectors(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[2];
  struct sockaddr_in server;
  peers_open(&loop, p, &server);
  peer_recv(&p[0]);
  char text[] = "abcdefghij";
  ax_buf_t bufs[10];
  for (int i = 0; i < 10; i++)
    bufs[i] = ax_buf_init(&text[i], 1);
  struct sent s[2];
  peer_send(&s[0], &p[1], bufs, 10, (struct sockaddr *)&server);
  run_until(&loop, has_datagram, &p[0]);
  assert_int_equal(p[0].last_nread, 10);
  assert_string_equal(p[0].last_data, "abcdefghij");
  peer_send(&s[1], &p[1], NULL, 0, (struct sockaddr *)&server);
  run_until(&loop, has_two_datagrams, &p[0]);
  assert_int_equal(p[0].last_nread, 0);
  assert_int_equal(s[0].status, 0);
  assert_int_equal(s[1].status, 0);
  peers_close(&loop, p, 2);
  test_loop_close(&loop);
}

/* Receiving stopped in the callback of a datagram, then started again: a
 * datagram sent meanwhile waits in the kernel, calls nothing, and comes
 * after the restart (libuv's udp_recv_stop and restart). */
static void test_udp_libuv_recv_stop_start(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct peer p[2];
  struct sockaddr_in server;
  peers_open(&loop, p, &server);
  p[0].stop_after_one = true;
  peer_recv(&p[0]);
  char first[] = "first";
  char second[] = "second";
  ax_buf_t buf = ax_buf_init(first, 5);
  assert_int_equal(
      ax_udp_try_send(&p[1].udp, &buf, 1, (struct sockaddr *)&server), 5);
  run_until(&loop, has_datagram, &p[0]);
  assert_false(ax_is_active(&p[0].udp.handle));
  buf = ax_buf_init(second, 6);
  assert_int_equal(
      ax_udp_try_send(&p[1].udp, &buf, 1, (struct sockaddr *)&server), 6);
  settle_udp(&loop);
  assert_int_equal(p[0].datagrams, 1);
  assert_string_equal(p[0].last_data, "first");
  p[0].stop_after_one = false;
  peer_recv(&p[0]);
  run_until(&loop, has_two_datagrams, &p[0]);
  assert_string_equal(p[0].last_data, "second");
  peers_close(&loop, p, 2);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_udp_invalid),
    cmocka_unit_test(test_udp_echo),
    cmocka_unit_test(test_udp_empty_datagram),
    cmocka_unit_test(test_udp_ipv6),
    cmocka_unit_test(test_udp_truncated),
    cmocka_unit_test(test_udp_connect),
    cmocka_unit_test(test_udp_connection_refused),
#if !defined(_WIN32)
    cmocka_unit_test(test_udp_send_queue),
    cmocka_unit_test(test_udp_close_cancels),
#endif /* _WIN32 */
    cmocka_unit_test(test_udp_stop_close_in_callback),
    cmocka_unit_test(test_udp_batch),
    cmocka_unit_test(test_udp_options),
    cmocka_unit_test(test_udp_open),
    cmocka_unit_test(test_udp_load),
    cmocka_unit_test(test_udp_load_batched),
    cmocka_unit_test(test_udp_libuv_bind_and_address_rules),
    cmocka_unit_test(test_udp_libuv_alloc_declined),
    cmocka_unit_test(test_udp_libuv_datagram_too_big),
    cmocka_unit_test(test_udp_libuv_unref_send_keeps_loop),
    cmocka_unit_test(test_udp_libuv_send_immediate),
    cmocka_unit_test(test_udp_libuv_send_unreachable),
    cmocka_unit_test(test_udp_libuv_recv_in_a_row),
    cmocka_unit_test(test_udp_libuv_ipv6_only),
    cmocka_unit_test(test_udp_libuv_connect6),
    cmocka_unit_test(test_udp_libuv_multicast),
    cmocka_unit_test(test_udp_libuv_send_errors),
    cmocka_unit_test(test_udp_libuv_open_bound_connected),
    cmocka_unit_test(test_udp_libuv_reuseaddr),
    cmocka_unit_test(test_udp_libuv_no_callback_inside_calls),
    cmocka_unit_test(test_udp_libuv_send_vectors),
    cmocka_unit_test(test_udp_libuv_recv_stop_start),
  };
  return cmocka_run_group_tests(tests, setup_sockets, NULL);
}
