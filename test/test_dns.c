/*
 * test_dns.c: the DNS requests: ax_getaddrinfo() and ax_getnameinfo(),
 * asynchronous on the pool and synchronous without a callback; numeric and
 * named hosts and services, names that cannot resolve, invalid arguments,
 * the copies a request keeps, reuse from the callback, and cancelling
 * lookups held in the queue.
 *
 * The machine running the suite may have no network and no name server:
 * the names looked up are "localhost" (from the hosts file), numeric
 * addresses, and a name under .invalid, which RFC 6761 reserves so that it
 * never resolves. Lookups that must stay queued are held behind user jobs
 * that wait on a semaphore: no test depends on how long anything takes.
 */
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif /* _WIN32 */

#include "test.h"

static ax_thread_t loop_thread;

/* What a getaddrinfo callback saw. */
struct gai_result {
  ax_getaddrinfo_t req;      /* The request. */
  int calls;                 /* Callback calls. */
  int status;                /* The status it got. */
  struct addrinfo *addrinfo; /* The list it got. */
  int on_loop;               /* It ran on the loop thread. */
};

/* What a getnameinfo callback saw. */
struct gni_result {
  ax_getnameinfo_t req; /* The request. */
  int calls;            /* Callback calls. */
  int status;           /* The status it got. */
  const char *host;     /* The host it got. */
  const char *service;  /* The service it got. */
};

static void gai_cb(ax_getaddrinfo_t *req, int status,
                   struct addrinfo *addrinfo) {
  struct gai_result *r = ax_container_of(req, struct gai_result, req);
  ax_thread_t self = ax_thread_self();
  r->calls++;
  r->status = status;
  r->addrinfo = addrinfo;
  r->on_loop = ax_thread_equal(&self, &loop_thread);
}

static void gni_cb(ax_getnameinfo_t *req, int status, const char *host,
                   const char *service) {
  struct gni_result *r = ax_container_of(req, struct gni_result, req);
  r->calls++;
  r->status = status;
  r->host = host;
  r->service = service;
}

static void open_loop(ax_loop_t *loop) {
  loop_thread = ax_thread_self();
  test_loop_open(loop);
}

static int is_eai_error(int err) {
  return err <= AX_EAI_AGAIN && err >= AX_EAI_UNKNOWN;
}

static struct addrinfo make_hints(int family, int socktype, int flags) {
  struct addrinfo hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = family;
  hints.ai_socktype = socktype;
  hints.ai_flags = flags;
  return hints;
}

static struct sockaddr_in loopback_v4(unsigned short port) {
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sin;
}

/* Every entry is an IPv4 or IPv6 address; IPv4 ones are 127.0.0.1 and
 * carry the port. Returns the number of entries. */
static int check_loopback_list(const struct addrinfo *list,
                               unsigned short port) {
  int n = 0;
  for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next, n++) {
    assert_true(ai->ai_family == AF_INET || ai->ai_family == AF_INET6);
    assert_non_null(ai->ai_addr);
    if (ai->ai_family != AF_INET)
      continue;
    const struct sockaddr_in *sin = (const void *)ai->ai_addr;
    assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
    assert_int_equal(ntohs(sin->sin_port), port);
  }
  return n;
}

static void test_dns_invalid(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_getaddrinfo_t gai;
  ax_getnameinfo_t gni;
  struct sockaddr_in sin = loopback_v4(80);
  const struct sockaddr *sa = (const void *)&sin;
  static char long_name[AX_DNS_NAME_MAX + 2];
  open_loop(&loop);
  assert_int_equal(ax_getaddrinfo(NULL, &gai, "localhost", NULL, NULL, gai_cb),
                   AX_EINVAL);
  assert_int_equal(ax_getaddrinfo(&loop, NULL, "localhost", NULL, NULL, gai_cb),
                   AX_EINVAL);
  assert_int_equal(ax_getaddrinfo(&loop, &gai, NULL, NULL, NULL, gai_cb),
                   AX_EINVAL);
  assert_int_equal(ax_getaddrinfo(&loop, &gai, NULL, NULL, NULL, NULL),
                   AX_EINVAL);
  /* Names longer than the limit are refused before anything is copied. */
  memset(long_name, 'a', sizeof(long_name) - 1);
  assert_int_equal(ax_getaddrinfo(&loop, &gai, long_name, NULL, NULL, gai_cb),
                   AX_ENAMETOOLONG);
  assert_int_equal(ax_getaddrinfo(&loop, &gai, NULL, long_name, NULL, NULL),
                   AX_ENAMETOOLONG);
  assert_int_equal(ax_getnameinfo(NULL, &gni, sa, 0, gni_cb), AX_EINVAL);
  assert_int_equal(ax_getnameinfo(&loop, NULL, sa, 0, gni_cb), AX_EINVAL);
  assert_int_equal(ax_getnameinfo(&loop, &gni, NULL, 0, gni_cb), AX_EINVAL);
  /* An address of neither IP family cannot be looked up. */
  sin.sin_family = AF_UNSPEC;
  assert_int_equal(ax_getnameinfo(&loop, &gni, sa, 0, gni_cb), AX_EAI_FAMILY);
  ax_freeaddrinfo(NULL);
  assert_false(ax_loop_alive(&loop)); /* Nothing was queued. */
  test_loop_close(&loop);
}

static void test_dns_names(void **state) {
  (void)state;
  assert_string_equal(ax_req_type_name(AX_GETADDRINFO), "getaddrinfo");
  assert_string_equal(ax_req_type_name(AX_GETNAMEINFO), "getnameinfo");
  assert_string_equal(ax_err_name(AX_EAI_NONAME), "EAI_NONAME");
  assert_string_equal(ax_strerror(AX_EAI_NONAME), "unknown node or service");
  assert_string_equal(ax_err_name(AX_EAI_UNKNOWN), "EAI_UNKNOWN");
  /* The resolver's codes are apart from every negated errno value. */
  assert_true(is_eai_error(AX_EAI_OVERFLOW));
  assert_false(is_eai_error(AX_EINVAL));
  assert_false(is_eai_error(AX_EOF));
}

static void test_getaddrinfo_sync_localhost(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_getaddrinfo_t req;
  struct addrinfo hints = make_hints(AF_UNSPEC, SOCK_STREAM, 0);
  open_loop(&loop);
  assert_int_equal(ax_getaddrinfo(&loop, &req, "localhost", "80", &hints, NULL),
                   0);
  assert_non_null(req.addrinfo);
  assert_true(check_loopback_list(req.addrinfo, 80) >= 1);
  assert_int_equal(req.req.type, AX_GETADDRINFO);
  assert_ptr_equal(req.req.loop, &loop);
  /* Done when the call returned: nothing to cancel, nothing queued. */
  assert_int_equal(ax_cancel(&req.req), AX_EBUSY);
  assert_false(ax_loop_alive(&loop));
  ax_freeaddrinfo(req.addrinfo);
  test_loop_close(&loop);
}

static void test_getaddrinfo_async_localhost(void **state) {
  (void)state;
  ax_loop_t loop;
  struct gai_result r;
  char node[] = "localhost";
  char service[] = "80";
  struct addrinfo hints = make_hints(AF_INET, SOCK_STREAM, 0);
  memset(&r, 0, sizeof(r));
  open_loop(&loop);
  assert_int_equal(ax_getaddrinfo(&loop, &r.req, node, service, &hints, gai_cb),
                   0);
  /* The request copied its arguments: the caller's may change now. */
  memset(node, 'x', sizeof(node) - 1);
  memset(service, 'y', sizeof(service) - 1);
  memset(&hints, 0xff, sizeof(hints));
  assert_true(ax_loop_alive(&loop));
  assert_int_equal(ax_loop_close(&loop), AX_EBUSY);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.status, 0);
  assert_true(r.on_loop);
  assert_non_null(r.addrinfo);
  assert_ptr_equal(r.addrinfo, r.req.addrinfo);
  assert_true(check_loopback_list(r.addrinfo, 80) >= 1);
  assert_int_equal(r.addrinfo->ai_family, AF_INET); /* The hints held. */
  ax_freeaddrinfo(r.addrinfo);
  test_loop_close(&loop);
}

static void test_getaddrinfo_numeric_v4(void **state) {
  (void)state;
  ax_loop_t loop;
  struct gai_result r;
  ax_getaddrinfo_t sync_req;
  struct addrinfo hints = make_hints(AF_INET, SOCK_STREAM, AI_NUMERICHOST);
  memset(&r, 0, sizeof(r));
  open_loop(&loop);
  assert_int_equal(
      ax_getaddrinfo(&loop, &r.req, "127.0.0.1", "8080", &hints, gai_cb), 0);
  assert_int_equal(
      ax_getaddrinfo(&loop, &sync_req, "127.0.0.1", "8080", &hints, NULL), 0);
  assert_int_equal(check_loopback_list(sync_req.addrinfo, 8080), 1);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.status, 0);
  assert_int_equal(check_loopback_list(r.addrinfo, 8080), 1);
  assert_int_equal(r.addrinfo->ai_socktype, SOCK_STREAM);
  ax_freeaddrinfo(r.addrinfo);
  ax_freeaddrinfo(sync_req.addrinfo);
  test_loop_close(&loop);
}

static void test_getaddrinfo_numeric_v6(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_getaddrinfo_t req;
  struct addrinfo hints = make_hints(AF_INET6, SOCK_DGRAM, AI_NUMERICHOST);
  open_loop(&loop);
  int err = ax_getaddrinfo(&loop, &req, "::1", "53", &hints, NULL);
  if (err == AX_EAI_FAMILY || err == AX_EAI_NONAME) {
    test_loop_close(&loop);
    skip(); /* A system built without IPv6. */
  }
  assert_int_equal(err, 0);
  assert_non_null(req.addrinfo);
  assert_int_equal(req.addrinfo->ai_family, AF_INET6);
  const struct sockaddr_in6 *sin6 = (const void *)req.addrinfo->ai_addr;
  static const unsigned char loopback[16] = {[15] = 1};
  assert_memory_equal(sin6->sin6_addr.s6_addr, loopback, 16);
  assert_int_equal(ntohs(sin6->sin6_port), 53);
  ax_freeaddrinfo(req.addrinfo);
  test_loop_close(&loop);
}

static void test_getaddrinfo_service_only(void **state) {
  (void)state;
  ax_loop_t loop;
  struct gai_result r;
  struct addrinfo hints = make_hints(AF_INET, SOCK_STREAM, AI_PASSIVE);
  memset(&r, 0, sizeof(r));
  open_loop(&loop);
  /* No node, a passive lookup: the wildcard address, port 80. */
  assert_int_equal(ax_getaddrinfo(&loop, &r.req, NULL, "80", &hints, gai_cb),
                   0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(r.status, 0);
  assert_non_null(r.addrinfo);
  const struct sockaddr_in *sin = (const void *)r.addrinfo->ai_addr;
  assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_ANY);
  assert_int_equal(ntohs(sin->sin_port), 80);
  ax_freeaddrinfo(r.addrinfo);
  test_loop_close(&loop);
}

static void test_getaddrinfo_bad_service(void **state) {
  (void)state;
  ax_loop_t loop;
  struct gai_result r;
  ax_getaddrinfo_t sync_req;
  struct addrinfo hints = make_hints(AF_INET, SOCK_STREAM, 0);
  memset(&r, 0, sizeof(r));
  open_loop(&loop);
  assert_int_equal(ax_getaddrinfo(&loop, &r.req, "127.0.0.1",
                                  "no-such-service-axle", &hints, gai_cb),
                   0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(r.calls, 1);
  /* glibc and Winsock say EAI_SERVICE; some BSD resolvers EAI_NONAME. */
  assert_true(r.status == AX_EAI_SERVICE || r.status == AX_EAI_NONAME);
  assert_null(r.addrinfo);
  int err = ax_getaddrinfo(&loop, &sync_req, "127.0.0.1",
                           "no-such-service-axle", &hints, NULL);
  assert_int_equal(err, r.status);
  assert_null(sync_req.addrinfo);
  test_loop_close(&loop);
}

static void test_getaddrinfo_unresolvable(void **state) {
  (void)state;
  ax_loop_t loop;
  struct gai_result r;
  ax_getaddrinfo_t sync_req;
  memset(&r, 0, sizeof(r));
  open_loop(&loop);
  assert_int_equal(
      ax_getaddrinfo(&loop, &r.req, "nonexistent.invalid", NULL, NULL, gai_cb),
      0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(r.calls, 1);
  /* EAI_NONAME, or EAI_AGAIN where a name server cannot be reached: a
   * resolver error either way, and no list. */
  assert_true(is_eai_error(r.status));
  assert_string_not_equal(ax_err_name(r.status), "UNKNOWN");
  assert_null(r.addrinfo);
  int err = ax_getaddrinfo(&loop, &sync_req, "nonexistent.invalid", NULL, NULL,
                           NULL);
  assert_true(is_eai_error(err));
  assert_null(sync_req.addrinfo);
  test_loop_close(&loop);
}

static void test_getnameinfo_numeric(void **state) {
  (void)state;
  ax_loop_t loop;
  struct gni_result r;
  ax_getnameinfo_t sync_req;
  struct sockaddr_in sin = loopback_v4(80);
  int flags = NI_NUMERICHOST | NI_NUMERICSERV;
  memset(&r, 0, sizeof(r));
  open_loop(&loop);
  assert_int_equal(
      ax_getnameinfo(&loop, &sync_req, (const void *)&sin, flags, NULL), 0);
  assert_string_equal(sync_req.host, "127.0.0.1");
  assert_string_equal(sync_req.service, "80");
  assert_int_equal(ax_cancel(&sync_req.req), AX_EBUSY);
  assert_int_equal(
      ax_getnameinfo(&loop, &r.req, (const void *)&sin, flags, gni_cb), 0);
  memset(&sin, 0, sizeof(sin)); /* The request holds its own copy. */
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.status, 0);
  assert_ptr_equal(r.host, r.req.host);
  assert_ptr_equal(r.service, r.req.service);
  assert_string_equal(r.host, "127.0.0.1");
  assert_string_equal(r.service, "80");
  assert_int_equal(r.req.req.type, AX_GETNAMEINFO);
  test_loop_close(&loop);
}

/* A chain of lookups through one request, each queued from the callback of
 * the one before: the request is free again when its callback runs. */
struct chain {
  struct gai_result r; /* The request, reused. */
  int links;           /* Lookups completed. */
};

enum { CHAIN_LINKS = 3 };

static void chain_cb(ax_getaddrinfo_t *req, int status,
                     struct addrinfo *addrinfo) {
  struct chain *c = ax_container_of(req, struct chain, r.req);
  assert_int_equal(status, 0);
  assert_int_equal(check_loopback_list(addrinfo, 0), 1);
  ax_freeaddrinfo(addrinfo);
  if (++c->links == CHAIN_LINKS)
    return;
  struct addrinfo hints = make_hints(AF_INET, SOCK_STREAM, AI_NUMERICHOST);
  assert_int_equal(
      ax_getaddrinfo(req->req.loop, req, "127.0.0.1", NULL, &hints, chain_cb),
      0);
}

static void test_getaddrinfo_reuse_from_callback(void **state) {
  (void)state;
  ax_loop_t loop;
  struct chain c;
  struct addrinfo hints = make_hints(AF_INET, SOCK_STREAM, AI_NUMERICHOST);
  memset(&c, 0, sizeof(c));
  open_loop(&loop);
  assert_int_equal(
      ax_getaddrinfo(&loop, &c.r.req, "127.0.0.1", NULL, &hints, chain_cb), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(c.links, CHAIN_LINKS);
  test_loop_close(&loop);
}

enum { MANY = 64 };

static void test_dns_many_in_flight(void **state) {
  (void)state;
  ax_loop_t loop;
  static struct gai_result gais[MANY];
  static struct gni_result gnis[MANY];
  struct addrinfo hints = make_hints(AF_INET, SOCK_STREAM, AI_NUMERICHOST);
  struct sockaddr_in sin = loopback_v4(443);
  int flags = NI_NUMERICHOST | NI_NUMERICSERV;
  memset(gais, 0, sizeof(gais));
  memset(gnis, 0, sizeof(gnis));
  open_loop(&loop);
  for (int i = 0; i < MANY; i++) {
    assert_int_equal(
        ax_getaddrinfo(&loop, &gais[i].req, "127.0.0.1", "443", &hints, gai_cb),
        0);
    assert_int_equal(
        ax_getnameinfo(&loop, &gnis[i].req, (const void *)&sin, flags, gni_cb),
        0);
  }
  ax_metrics_t m;
  ax_loop_metrics(&loop, &m);
  assert_int_equal(m.work_pending, 2 * MANY);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  for (int i = 0; i < MANY; i++) {
    assert_int_equal(gais[i].calls, 1);
    assert_int_equal(gais[i].status, 0);
    assert_int_equal(check_loopback_list(gais[i].addrinfo, 443), 1);
    ax_freeaddrinfo(gais[i].addrinfo);
    assert_int_equal(gnis[i].calls, 1);
    assert_string_equal(gnis[i].host, "127.0.0.1");
    assert_string_equal(gnis[i].service, "443");
  }
  test_loop_close(&loop);
}

/* A user job that holds a general worker until the test posts its gate. */
struct blocker {
  ax_work_t work;    /* The request. */
  ax_sem_t *gate;    /* Waited on by the work callback. */
  ax_sem_t *started; /* Posted when the work callback begins. */
  int status;        /* Its completion status. */
};

static void blocker_work(ax_work_t *work) {
  struct blocker *b = ax_container_of(work, struct blocker, work);
  ax_sem_post(b->started);
  ax_sem_wait(b->gate);
}

static void blocker_after(ax_work_t *work, int status) {
  struct blocker *b = ax_container_of(work, struct blocker, work);
  b->status = status;
}

enum { POOL_SIZE = 2 };

/* Fill every general worker with a blocker, and wait until each runs. */
static void hold_pool(ax_loop_t *loop, struct blocker *blockers, ax_sem_t *gate,
                      ax_sem_t *started) {
  assert_int_equal(ax_threadpool_set_size(POOL_SIZE), 0);
  for (int i = 0; i < POOL_SIZE; i++) {
    blockers[i].gate = gate;
    blockers[i].started = started;
    blockers[i].status = 1;
    assert_int_equal(
        ax_queue_work(loop, &blockers[i].work, blocker_work, blocker_after), 0);
  }
  assert_int_equal(ax_run(loop, AX_RUN_NOWAIT), 0); /* Hands them over. */
  for (int i = 0; i < POOL_SIZE; i++)
    ax_sem_wait(started);
}

/* Lookups queued behind held workers are cancelled: one still on the
 * loop's own list, two in the pool's DNS lane; one more is left to run
 * once the workers are free. */
static void test_dns_cancel_queued(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_sem_t gate, started;
  struct blocker blockers[POOL_SIZE];
  static struct gai_result gais[3];
  struct gni_result gni;
  struct sockaddr_in sin = loopback_v4(80);
  struct addrinfo hints = make_hints(AF_INET, SOCK_STREAM, AI_NUMERICHOST);
  memset(gais, 0, sizeof(gais));
  memset(&gni, 0, sizeof(gni));
  open_loop(&loop);
  assert_int_equal(ax_sem_init(&gate, 0), 0);
  assert_int_equal(ax_sem_init(&started, 0), 0);
  hold_pool(&loop, blockers, &gate, &started);
  for (int i = 0; i < 3; i++)
    assert_int_equal(
        ax_getaddrinfo(&loop, &gais[i].req, "127.0.0.1", "80", &hints, gai_cb),
        0);
  assert_int_equal(
      ax_getnameinfo(&loop, &gni.req, (const void *)&sin, 0, gni_cb), 0);
  assert_int_equal(ax_cancel(&gais[0].req.req), 0); /* On the loop's list. */
  assert_int_equal(gais[0].calls, 0); /* It completes from the loop. */
  /* This iteration hands the others to the pool, and completes the first. */
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(gais[0].calls, 1);
  assert_int_equal(ax_cancel(&gais[1].req.req), 0); /* In the DNS lane. */
  assert_int_equal(ax_cancel(&gni.req.req), 0);
  assert_int_equal(ax_cancel(&gni.req.req), AX_EBUSY); /* Once is enough. */
  assert_int_equal(gais[1].calls, 0);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(gais[i].calls, 1);
    assert_int_equal(gais[i].status, AX_ECANCELED);
    assert_null(gais[i].addrinfo);
  }
  assert_int_equal(gni.calls, 1);
  assert_int_equal(gni.status, AX_ECANCELED);
  assert_null(gni.host);
  assert_null(gni.service);
  assert_int_equal(gais[2].calls, 0); /* Still queued behind the blockers. */
  for (int i = 0; i < POOL_SIZE; i++)
    ax_sem_post(&gate);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(gais[2].calls, 1);
  assert_int_equal(gais[2].status, 0);
  assert_int_equal(ax_cancel(&gais[2].req.req), AX_EBUSY); /* Done. */
  ax_freeaddrinfo(gais[2].addrinfo);
  for (int i = 0; i < POOL_SIZE; i++)
    assert_int_equal(blockers[i].status, 0);
  ax_sem_destroy(&gate);
  ax_sem_destroy(&started);
  test_loop_close(&loop);
}

/* Lookups queued in the same iteration as user jobs that fill the pool,
 * and after them, wait behind them, as in libuv, rather than jumping the
 * queue: so ax_cancel() still finds them queued once the workers have
 * taken the user jobs. When the DNS lane ran first, a worker took the
 * lookups before the second user job, and cancelling them came too late
 * (AX_EBUSY). */
static void test_dns_cancel_behind_user_jobs(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_sem_t gate, started;
  struct blocker blockers[POOL_SIZE];
  struct gai_result gai;
  struct gni_result gni;
  struct sockaddr_in sin = loopback_v4(80);
  struct addrinfo hints = make_hints(AF_INET, SOCK_STREAM, AI_NUMERICHOST);
  memset(&gai, 0, sizeof(gai));
  memset(&gni, 0, sizeof(gni));
  open_loop(&loop);
  assert_int_equal(ax_sem_init(&gate, 0), 0);
  assert_int_equal(ax_sem_init(&started, 0), 0);
  assert_int_equal(ax_threadpool_set_size(POOL_SIZE), 0);
  for (int i = 0; i < POOL_SIZE; i++) {
    blockers[i].gate = &gate;
    blockers[i].started = &started;
    blockers[i].status = 1;
    assert_int_equal(
        ax_queue_work(&loop, &blockers[i].work, blocker_work, blocker_after),
        0);
  }
  assert_int_equal(
      ax_getaddrinfo(&loop, &gai.req, "127.0.0.1", "80", &hints, gai_cb), 0);
  assert_int_equal(
      ax_getnameinfo(&loop, &gni.req, (const void *)&sin, 0, gni_cb), 0);
  /* One iteration hands all four to the pool at once; then every worker
   * holds a user job, and the lookups wait in the pool's queue. */
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  for (int i = 0; i < POOL_SIZE; i++)
    ax_sem_wait(&started);
  assert_int_equal(ax_cancel(&gai.req.req), 0);
  assert_int_equal(ax_cancel(&gni.req.req), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_int_equal(gai.calls, 1);
  assert_int_equal(gai.status, AX_ECANCELED);
  assert_null(gai.addrinfo);
  assert_int_equal(gni.calls, 1);
  assert_int_equal(gni.status, AX_ECANCELED);
  for (int i = 0; i < POOL_SIZE; i++)
    ax_sem_post(&gate);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  for (int i = 0; i < POOL_SIZE; i++)
    assert_int_equal(blockers[i].status, 0);
  ax_sem_destroy(&gate);
  ax_sem_destroy(&started);
  test_loop_close(&loop);
}

/* A name of exactly AX_DNS_NAME_MAX bytes is within the limit: it is
 * looked up (and not found), not refused as too long. */
static void test_dns_name_at_limit(void **state) {
  (void)state;
  ax_loop_t loop;
  struct gai_result r;
  static char name[AX_DNS_NAME_MAX + 1];
  static const char tld[] = ".invalid";
  memset(&r, 0, sizeof(r));
  memset(name, 'a', AX_DNS_NAME_MAX - (sizeof(tld) - 1));
  memcpy(name + AX_DNS_NAME_MAX - (sizeof(tld) - 1), tld, sizeof(tld));
  assert_int_equal(strlen(name), AX_DNS_NAME_MAX);
  open_loop(&loop);
  assert_int_equal(ax_getaddrinfo(&loop, &r.req, name, NULL, NULL, gai_cb), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(r.calls, 1);
  assert_true(r.status != 0);
  assert_null(r.addrinfo);
  test_loop_close(&loop);
}

/* ---- What a libuv program relies on ---- */

/* The resolver's own errors, the same synchronously and on the pool, with
 * no list to free and no network needed: a name where AI_NUMERICHOST wants
 * a number, a socket type and a family the resolver does not know. */
static void test_dns_resolver_errors(void **state) {
  (void)state;
  ax_loop_t loop;
  open_loop(&loop);
  struct {
    struct addrinfo hints; /* What is asked. */
    int expected;          /* What the resolver says. */
  } cases[] = {
      {make_hints(AF_INET, SOCK_STREAM, AI_NUMERICHOST), AX_EAI_NONAME},
      {make_hints(AF_INET, 12345, 0), AX_EAI_SOCKTYPE},
      {make_hints(12345, SOCK_STREAM, 0), AX_EAI_FAMILY},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    ax_getaddrinfo_t sync_req;
    assert_int_equal(ax_getaddrinfo(&loop, &sync_req, "localhost", NULL,
                                    &cases[i].hints, NULL),
                     cases[i].expected);
    assert_null(sync_req.addrinfo);
    struct gai_result r;
    memset(&r, 0, sizeof(r));
    assert_int_equal(ax_getaddrinfo(&loop, &r.req, "localhost", NULL,
                                    &cases[i].hints, gai_cb),
                     0);
    assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, cases[i].expected);
    assert_null(r.addrinfo);
    assert_true(r.on_loop);
  }
  test_loop_close(&loop);
}

/* ---- What a libuv program relies on: DNS, a second round ----
 *
 * libuv's getaddrinfo_fail, getaddrinfo_basic and getnameinfo_basic_ip6
 * tests, the resolver's own errors for bad hints, and the callback-stack
 * rule, through axle's API. */

/* Whether the test is inside an axle call, and callbacks run meanwhile. */
static bool dns_in_call;
static int dns_inside;

static void stack_gai_cb(ax_getaddrinfo_t *req, int status,
                         struct addrinfo *addrinfo) {
  dns_inside += dns_in_call;
  gai_cb(req, status, addrinfo);
}

static void stack_gni_cb(ax_getnameinfo_t *req, int status, const char *host,
                         const char *service) {
  dns_inside += dns_in_call;
  gni_cb(req, status, host, service);
}

/* A lookup answered without the network (numeric) or refused by the
 * resolver at once still completes from the loop, on the loop thread,
 * never inside the call that queued it (libuv's callback_stack rule). */
static void test_dns_libuv_no_callback_inside_calls(void **state) {
  (void)state;
  ax_loop_t loop;
  struct gai_result numeric, refused;
  struct gni_result name;
  struct addrinfo hints = make_hints(AF_INET, SOCK_STREAM, AI_NUMERICHOST);
  struct sockaddr_in sin = loopback_v4(7);
  memset(&numeric, 0, sizeof(numeric));
  memset(&refused, 0, sizeof(refused));
  memset(&name, 0, sizeof(name));
  open_loop(&loop);
  dns_inside = 0;
  dns_in_call = true;
  assert_int_equal(ax_getaddrinfo(&loop, &numeric.req, "127.0.0.1", "7", &hints,
                                  stack_gai_cb),
                   0);
  assert_int_equal(ax_getaddrinfo(&loop, &refused.req, "not numeric", NULL,
                                  &hints, stack_gai_cb),
                   0);
  assert_int_equal(ax_getnameinfo(&loop, &name.req, (const void *)&sin,
                                  NI_NUMERICHOST | NI_NUMERICSERV,
                                  stack_gni_cb),
                   0);
  dns_in_call = false;
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(dns_inside, 0);
  assert_int_equal(numeric.calls, 1);
  assert_int_equal(numeric.status, 0);
  assert_true(numeric.on_loop);
  assert_int_equal(check_loopback_list(numeric.addrinfo, 7), 1);
  ax_freeaddrinfo(numeric.addrinfo);
  assert_int_equal(refused.calls, 1);
  assert_int_equal(refused.status, AX_EAI_NONAME);
  assert_null(refused.addrinfo);
  assert_int_equal(name.calls, 1);
  assert_int_equal(name.status, 0);
  assert_string_equal(name.host, "127.0.0.1");
  assert_string_equal(name.service, "7");
  test_loop_close(&loop);
}

/* Two refusals test_dns_resolver_errors leaves out, with their AX_EAI_*
 * names, synchronously and from the pool: an unknown flag, and a service
 * name where only a port number is allowed. */
static void test_dns_libuv_resolver_refusals(void **state) {
  (void)state;
  ax_loop_t loop;
  open_loop(&loop);
  struct {
    struct addrinfo hints; /* What is asked. */
    const char *service;   /* With this service. */
    int expected;          /* What the resolver says. */
  } cases[] = {
      {make_hints(AF_INET, SOCK_STREAM, 0x40000000), NULL, AX_EAI_BADFLAGS},
      {make_hints(AF_INET, SOCK_STREAM, AI_NUMERICSERV), "http", AX_EAI_NONAME},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    /* Wine's getaddrinfo takes unknown flags without a word. */
    if (cases[i].expected == AX_EAI_BADFLAGS && getenv("AX_TEST_WINE") != NULL)
      continue;
    ax_getaddrinfo_t sync_req;
    assert_int_equal(ax_getaddrinfo(&loop, &sync_req, "127.0.0.1",
                                    cases[i].service, &cases[i].hints, NULL),
                     cases[i].expected);
    assert_null(sync_req.addrinfo);
    struct gai_result r;
    memset(&r, 0, sizeof(r));
    assert_int_equal(ax_getaddrinfo(&loop, &r.req, "127.0.0.1",
                                    cases[i].service, &cases[i].hints, gai_cb),
                     0);
    assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, cases[i].expected);
    assert_null(r.addrinfo);
  }
  test_loop_close(&loop);
}

/* The numeric name of an IPv6 address and its port, synchronously and
 * from the pool (libuv's getnameinfo_basic_ip6); the scope of a
 * link-local address comes back with it. */
static void test_dns_libuv_getnameinfo_ip6(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_getnameinfo_t sync_req;
  struct gni_result r;
  struct sockaddr_in6 sin6;
  int flags = NI_NUMERICHOST | NI_NUMERICSERV;
  memset(&r, 0, sizeof(r));
  open_loop(&loop);
  assert_int_equal(ax_ip6_addr("::1", 443, &sin6), 0);
  assert_int_equal(
      ax_getnameinfo(&loop, &sync_req, (const void *)&sin6, flags, NULL), 0);
  assert_string_equal(sync_req.host, "::1");
  assert_string_equal(sync_req.service, "443");
  assert_int_equal(
      ax_getnameinfo(&loop, &r.req, (const void *)&sin6, flags, gni_cb), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.status, 0);
  assert_string_equal(r.host, "::1");
  assert_string_equal(r.service, "443");
  assert_int_equal(ax_ip6_addr("fe80::1%1", 80, &sin6), 0);
  assert_int_equal(
      ax_getnameinfo(&loop, &sync_req, (const void *)&sin6, flags, NULL), 0);
  assert_true(strncmp(sync_req.host, "fe80::1%", 8) == 0);
  test_loop_close(&loop);
}

int main(void) {
  /* The pool's locks live as long as the process: have them made now,
   * before the first test counts allocations (test_loop_open()). */
  (void)ax_threadpool_get_size();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dns_invalid),
      cmocka_unit_test(test_dns_names),
      cmocka_unit_test(test_getaddrinfo_sync_localhost),
      cmocka_unit_test(test_getaddrinfo_async_localhost),
      cmocka_unit_test(test_getaddrinfo_numeric_v4),
      cmocka_unit_test(test_getaddrinfo_numeric_v6),
      cmocka_unit_test(test_getaddrinfo_service_only),
      cmocka_unit_test(test_getaddrinfo_bad_service),
      cmocka_unit_test(test_getaddrinfo_unresolvable),
      cmocka_unit_test(test_getnameinfo_numeric),
      cmocka_unit_test(test_getaddrinfo_reuse_from_callback),
      cmocka_unit_test(test_dns_many_in_flight),
      cmocka_unit_test(test_dns_cancel_queued),
      cmocka_unit_test(test_dns_cancel_behind_user_jobs),
      cmocka_unit_test(test_dns_name_at_limit),
      cmocka_unit_test(test_dns_resolver_errors),
      cmocka_unit_test(test_dns_libuv_no_callback_inside_calls),
      cmocka_unit_test(test_dns_libuv_resolver_refusals),
      cmocka_unit_test(test_dns_libuv_getnameinfo_ip6),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
