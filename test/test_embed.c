/*
 * test_embed.c: driving a loop from another one, and the accessors.
 *
 * The outside loop here is a plain poll(2) loop, as a GUI toolkit's or
 * another library's would be: wait on ax_backend_fd() for at most
 * ax_backend_timeout() milliseconds, then ax_run(loop, AX_RUN_NOWAIT).
 * A timer and a TCP echo round trip run that way, on every backend that
 * has a descriptor to offer (the others, poll(2), the simulation and
 * IOCP, must say AX_ENOTSUP). Then the default loop, the data and type
 * accessors, and the sizes. Run with the argument "shutdown", the program
 * checks ax_library_shutdown() instead: it is the last call a program
 * makes, so it has a process of its own (test/meson.build).
 */
#include <string.h>

#if !defined(_WIN32)
#include <poll.h>
#endif /* !_WIN32 */

#include "internal.h"
#include "tcp.h"

/* Iterations of the outside loop a test may take, and the longest one
 * wait may last: the bound on a test, not a measurement. */
enum { EMBED_MAX_TURNS = 10000, EMBED_MAX_WAIT_MS = 100 };

/* Whether the loop's backend offers a descriptor to wait on. */
static bool embed_backend_has_fd(const ax_loop_t *loop) {
  const char *name = ax_backend_name(loop);
  return strcmp(name, "epoll") == 0 || strcmp(name, "kqueue") == 0 ||
         strcmp(name, "io_uring") == 0;
}

/* One turn of the outside loop: wait for the backend's descriptor, as
 * long as the loop allows, then run what is ready without blocking. */
static void embed_turn(ax_loop_t *loop) {
  int timeout_ms = ax_backend_timeout(loop);
  assert_true(timeout_ms >= -1);
  if (timeout_ms < 0 || timeout_ms > EMBED_MAX_WAIT_MS)
    timeout_ms = EMBED_MAX_WAIT_MS;
#if defined(_WIN32)
  (void)timeout_ms;
  fail_msg("no backend descriptor to wait on under Windows");
#else
  struct pollfd pfd = {.fd = ax_backend_fd(loop), .events = POLLIN};
  assert_true(pfd.fd >= 0);
  int n = poll(&pfd, 1, timeout_ms);
  assert_true(n >= 0 || errno == EINTR);
#endif /* _WIN32 */
  assert_int_equal(ax_run(loop, AX_RUN_NOWAIT), 0);
}

/* Drive loop from outside until *counter reaches want. */
static void embed_drive_until(ax_loop_t *loop, const int *counter, int want) {
  for (int turn = 0; *counter < want; turn++) {
    assert_true(turn < EMBED_MAX_TURNS);
    embed_turn(loop);
  }
}

static void test_embed_backend_fd(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  int fd = ax_backend_fd(&loop);
  if (embed_backend_has_fd(&loop))
    assert_true(fd >= 0);
  else
    assert_int_equal(fd, AX_ENOTSUP);
  assert_int_equal(ax_backend_fd(NULL), AX_EINVAL);
  assert_int_equal(ax_backend_timeout(NULL), AX_EINVAL);
  test_loop_close(&loop);
  /* A closed loop is refused too. */
  assert_int_equal(ax_backend_fd(&loop), AX_EINVAL);
  assert_int_equal(ax_backend_timeout(&loop), AX_EINVAL);
}

static void embed_count_cb(ax_timer_t *timer) {
  (*(int *)timer->handle.data)++;
}

static void embed_idle_cb(ax_idle_t *idle) {
  (void)idle;
}

/* What the timeout says in each state: no limit when nothing would wake
 * the loop but I/O, the timer's delay when one runs, 0 with work due. */
static void test_embed_timeout_values(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  /* Nothing keeps the loop alive: nothing to wait for. */
  assert_int_equal(ax_backend_timeout(&loop), 0);
  ax_timer_t timer;
  int fired = 0;
  assert_int_equal(ax_timer_init(&loop, &timer), 0);
  timer.handle.data = &fired;
  assert_int_equal(ax_timer_start(&timer, embed_count_cb, 60000, 0), 0);
  int timeout_ms = ax_backend_timeout(&loop);
  assert_true(timeout_ms > 0 && timeout_ms <= 60000);
  ax_idle_t idle;
  assert_int_equal(ax_idle_init(&loop, &idle), 0);
  assert_int_equal(ax_idle_start(&idle, embed_idle_cb), 0);
  assert_int_equal(ax_backend_timeout(&loop), 0);
  assert_int_equal(ax_idle_stop(&idle), 0);
  assert_int_equal(ax_timer_stop(&timer), 0);
  /* Handles closing: their callbacks are due. */
  ax_close(&idle.handle, NULL);
  ax_close(&timer.handle, NULL);
  assert_int_equal(ax_backend_timeout(&loop), 0);
  assert_int_equal(fired, 0);
  test_loop_close(&loop);
}

static void test_embed_timer(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  if (!embed_backend_has_fd(&loop)) {
    test_loop_close(&loop);
    test_skip("the backend has no descriptor to wait on");
    return;
  }
  ax_timer_t timer;
  int fired = 0;
  assert_int_equal(ax_timer_init(&loop, &timer), 0);
  timer.handle.data = &fired;
  assert_int_equal(ax_timer_start(&timer, embed_count_cb, 20, 5), 0);
  embed_drive_until(&loop, &fired, 3);
  ax_close(&timer.handle, NULL);
  test_loop_close(&loop);
}

/* An echo server and its client, both on the embedded loop. */
struct embed_echo {
  ax_tcp_t listener;    /* Accepts one connection. */
  ax_tcp_t server;      /* Echoes what it reads. */
  ax_tcp_t client;      /* Sends "ping", reads it back. */
  ax_connect_t connect; /* The client's connect. */
  ax_write_t client_write;
  ax_write_t server_write;
  char server_buf[64]; /* What the server read, then wrote back. */
  char client_buf[64]; /* What the client read. */
  size_t client_len;   /* Bytes of it. */
  int done;            /* 1 once the client has the whole echo. */
  int closed;          /* Close callbacks run. */
};

static const char embed_ping[] = "ping";

static void embed_alloc(ax_handle_t *handle, size_t suggested, ax_buf_t *buf) {
  (void)suggested;
  struct embed_echo *e = handle->data;
  if (handle == &e->server.stream.handle)
    *buf = ax_buf_init(e->server_buf, sizeof(e->server_buf));
  else
    *buf = ax_buf_init(e->client_buf + e->client_len,
                       sizeof(e->client_buf) - e->client_len);
}

static void embed_written(ax_write_t *req, int status) {
  (void)req;
  assert_int_equal(status, 0);
}

static void embed_server_read(ax_stream_t *stream, ptrdiff_t nread,
                              const ax_buf_t *buf) {
  struct embed_echo *e = stream->handle.data;
  if (nread <= 0) {
    assert_true(nread == 0 || nread == AX_EOF);
    return;
  }
  ax_buf_t out = ax_buf_init(buf->base, (size_t)nread);
  assert_int_equal(ax_write(&e->server_write, stream, &out, 1, embed_written),
                   0);
}

static void embed_client_read(ax_stream_t *stream, ptrdiff_t nread,
                              const ax_buf_t *buf) {
  (void)buf;
  struct embed_echo *e = stream->handle.data;
  assert_true(nread >= 0);
  e->client_len += (size_t)nread;
  if (e->client_len == strlen(embed_ping)) {
    assert_memory_equal(e->client_buf, embed_ping, e->client_len);
    e->done = 1;
  }
}

static void embed_connection(ax_stream_t *listener, int status) {
  assert_int_equal(status, 0);
  struct embed_echo *e = listener->handle.data;
  assert_int_equal(ax_tcp_init(listener->handle.loop, &e->server), 0);
  e->server.stream.handle.data = e;
  assert_int_equal(ax_accept(listener, &e->server.stream), 0);
  assert_int_equal(
      ax_read_start(&e->server.stream, embed_alloc, embed_server_read), 0);
}

static void embed_connected(ax_connect_t *req, int status) {
  assert_int_equal(status, 0);
  struct embed_echo *e = ax_container_of(req, struct embed_echo, connect);
  assert_int_equal(
      ax_read_start(&e->client.stream, embed_alloc, embed_client_read), 0);
  ax_buf_t out = ax_buf_init((char *)embed_ping, strlen(embed_ping));
  assert_int_equal(
      ax_write(&e->client_write, &e->client.stream, &out, 1, embed_written), 0);
}

static void embed_echo_closed(ax_handle_t *handle) {
  ((struct embed_echo *)handle->data)->closed++;
}

static void test_embed_tcp_echo(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  if (!embed_backend_has_fd(&loop)) {
    test_loop_close(&loop);
    test_skip("the backend has no descriptor to wait on");
    return;
  }
  struct embed_echo e;
  memset(&e, 0, sizeof(e));
  int port;
  assert_int_equal(
      tcp_test_listen(&loop, &e.listener, "127.0.0.1", embed_connection, &port),
      0);
  e.listener.stream.handle.data = &e;
  struct sockaddr_storage addr;
  tcp_test_addr("127.0.0.1", port, &addr);
  assert_int_equal(ax_tcp_init(&loop, &e.client), 0);
  e.client.stream.handle.data = &e;
  assert_int_equal(ax_tcp_connect(&e.connect, &e.client,
                                  (const struct sockaddr *)&addr,
                                  embed_connected),
                   0);
  embed_drive_until(&loop, &e.done, 1);
  ax_close(&e.client.stream.handle, embed_echo_closed);
  ax_close(&e.server.stream.handle, embed_echo_closed);
  ax_close(&e.listener.stream.handle, embed_echo_closed);
  embed_drive_until(&loop, &e.closed, 3);
  test_loop_close(&loop);
}

static void embed_work_cb(ax_work_t *work) {
  (void)work;
}

static void embed_after_work_cb(ax_work_t *work, int status) {
  assert_int_equal(status, 0);
  (*(int *)work->req.data)++;
}

/* Work queued outside ax_run() reaches the pool only in an iteration: the
 * timeout must say to run one now, not to wait for a wakeup that the pool
 * cannot send for a job it has not been given. Then the worker's wakeup
 * reaches the outer loop through the backend's descriptor. */
static void test_embed_work(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  if (!embed_backend_has_fd(&loop)) {
    test_loop_close(&loop);
    test_skip("the backend has no descriptor to wait on");
    return;
  }
  ax_work_t work;
  int done = 0;
  work.req.data = &done;
  assert_int_equal(
      ax_queue_work(&loop, &work, embed_work_cb, embed_after_work_cb), 0);
  assert_int_equal(ax_backend_timeout(&loop), 0);
  embed_drive_until(&loop, &done, 1);
  test_loop_close(&loop);
}

static void test_embed_accessors(void **state) {
  (void)state;
  ax_loop_t loop;
  int marker;
  test_loop_open(&loop);
  ax_loop_set_data(&loop, &marker);
  assert_ptr_equal(ax_loop_get_data(&loop), &marker);
  assert_ptr_equal(loop.data, &marker);
  ax_timer_t timer;
  assert_int_equal(ax_timer_init(&loop, &timer), 0);
  ax_handle_set_data(&timer.handle, &marker);
  assert_ptr_equal(ax_handle_get_data(&timer.handle), &marker);
  assert_ptr_equal(ax_handle_get_loop(&timer.handle), &loop);
  assert_int_equal(ax_handle_get_type(&timer.handle), AX_TIMER);
  assert_string_equal(ax_handle_type_name(ax_handle_get_type(&timer.handle)),
                      "timer");
  ax_random_t random_req;
  memset(&random_req, 0, sizeof(random_req));
  ax_req_set_data(&random_req.req, &marker);
  assert_ptr_equal(ax_req_get_data(&random_req.req), &marker);
  assert_int_equal(ax_req_get_type(&random_req.req), AX_UNKNOWN_REQ);
  /* NULL is answered, not dereferenced. */
  assert_null(ax_loop_get_data(NULL));
  assert_null(ax_handle_get_data(NULL));
  assert_null(ax_handle_get_loop(NULL));
  assert_int_equal(ax_handle_get_type(NULL), AX_UNKNOWN_HANDLE);
  assert_null(ax_req_get_data(NULL));
  assert_int_equal(ax_req_get_type(NULL), AX_UNKNOWN_REQ);
  ax_loop_set_data(NULL, &marker);
  ax_handle_set_data(NULL, &marker);
  ax_req_set_data(NULL, &marker);
  ax_close(&timer.handle, NULL);
  ax_loop_set_data(&loop, NULL);
  test_loop_close(&loop);
}

static void test_embed_sizes(void **state) {
  (void)state;
  assert_int_equal(ax_loop_size(), sizeof(ax_loop_t));
  assert_int_equal(ax_req_size(AX_WORK), sizeof(ax_work_t));
  assert_int_equal(ax_req_size(AX_GETADDRINFO), sizeof(ax_getaddrinfo_t));
  assert_int_equal(ax_req_size(AX_GETNAMEINFO), sizeof(ax_getnameinfo_t));
  assert_int_equal(ax_req_size(AX_FS), sizeof(ax_fs_t));
  assert_int_equal(ax_req_size(AX_WRITE), sizeof(ax_write_t));
  assert_int_equal(ax_req_size(AX_CONNECT), sizeof(ax_connect_t));
  assert_int_equal(ax_req_size(AX_SHUTDOWN), sizeof(ax_shutdown_t));
  assert_int_equal(ax_req_size(AX_RANDOM), sizeof(ax_random_t));
  assert_int_equal(ax_req_size(AX_UDP_SEND), sizeof(ax_udp_send_t));
  /* Every type has a size and a name: a new one cannot miss its row. */
  for (int type = AX_UNKNOWN_REQ + 1; type < AX_REQ_TYPE_MAX; type++) {
    assert_true(ax_req_size((ax_req_type)type) >= sizeof(ax_req_t));
    assert_string_not_equal(ax_req_type_name((ax_req_type)type), "unknown");
  }
  for (int type = AX_UNKNOWN_HANDLE + 1; type < AX_HANDLE_TYPE_MAX; type++) {
    assert_true(ax_handle_size((ax_handle_type)type) >= sizeof(ax_handle_t));
    assert_string_not_equal(ax_handle_type_name((ax_handle_type)type),
                            "unknown");
  }
  assert_int_equal(ax_req_size(AX_UNKNOWN_REQ), 0);
  assert_int_equal(ax_req_size(AX_REQ_TYPE_MAX), 0);
  assert_int_equal(ax_req_size((ax_req_type)-1), 0);
  /* Every valid type has a size and a name. */
  for (int t = AX_UNKNOWN_REQ + 1; t < AX_REQ_TYPE_MAX; t++) {
    assert_true(ax_req_size((ax_req_type)t) >= sizeof(ax_req_t));
    assert_string_not_equal(ax_req_type_name((ax_req_type)t), "unknown");
  }
  assert_string_equal(ax_req_type_name(AX_RANDOM), "random");
}

static bool refuse_every_allocation(void) {
  return true;
}

/* Registered first, before anything makes the default loop's lock (which
 * allocates on POSIX): while allocations fail there is no default loop;
 * once they work again, there is. The first failure used to be kept for
 * the life of the process, ax_default_loop() returning NULL ever after. */
static void test_embed_default_loop_after_enomem(void **state) {
  (void)state;
  __atomic_store_n(&ax__alloc_refuse, refuse_every_allocation,
                   __ATOMIC_RELEASE);
  ax_loop_t *loop = ax_default_loop();
  __atomic_store_n(&ax__alloc_refuse, NULL, __ATOMIC_RELEASE);
  assert_null(loop);
  loop = ax_default_loop();
  assert_non_null(loop);
  assert_int_equal(ax_loop_close(loop), 0);
}

/* Threads racing for the default loop all get the same one. */
enum { EMBED_THREADS = 4 };

static void embed_default_thread(void *arg) {
  *(ax_loop_t **)arg = ax_default_loop();
}

static void test_embed_default_loop(void **state) {
  (void)state;
  ax_thread_t threads[EMBED_THREADS];
  ax_loop_t *seen[EMBED_THREADS];
  for (int i = 0; i < EMBED_THREADS; i++)
    assert_int_equal(
        ax_thread_create(&threads[i], embed_default_thread, &seen[i]), 0);
  for (int i = 0; i < EMBED_THREADS; i++)
    assert_int_equal(ax_thread_join(&threads[i]), 0);
  ax_loop_t *loop = ax_default_loop();
  assert_non_null(loop);
  for (int i = 0; i < EMBED_THREADS; i++)
    assert_ptr_equal(seen[i], loop);
  /* It is a loop like another: a timer runs on it. */
  ax_timer_t timer;
  int fired = 0;
  assert_int_equal(ax_timer_init(loop, &timer), 0);
  timer.handle.data = &fired;
  assert_int_equal(ax_timer_start(&timer, embed_count_cb, 1, 0), 0);
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(fired, 1);
  ax_close(&timer.handle, NULL);
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(ax_loop_close(loop), 0);
  /* Closed, it is made again on the next call. */
  assert_ptr_equal(ax_default_loop(), loop);
  assert_true(ax_backend_name(loop) != NULL);
  assert_int_equal(ax_loop_close(loop), 0);
}

/* ---- ax_library_shutdown(), in a process of its own ---- */

static void test_embed_library_shutdown(void **state) {
  (void)state;
  /* The pool and the default loop are in use first, so that there is
   * something to release. */
  ax_loop_t *loop = ax_default_loop();
  assert_non_null(loop);
  ax_work_t work;
  int done = 0;
  work.req.data = &done;
  assert_int_equal(
      ax_queue_work(loop, &work, embed_work_cb, embed_after_work_cb), 0);
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(done, 1);
  /* The default loop is left open: the shutdown closes an idle one. */
  ax_library_shutdown();
  assert_int_equal(ax_backend_name(loop), NULL);
  /* After it nothing starts again, and a second call does nothing. */
  assert_null(ax_default_loop());
  ax_loop_t other;
  assert_int_equal(ax_loop_init(&other), 0);
  assert_int_equal(
      ax_queue_work(&other, &work, embed_work_cb, embed_after_work_cb),
      AX_EINVAL);
  assert_int_equal(ax_loop_close(&other), 0);
  ax_library_shutdown();
}

/* The pool's locks are made once per process, with the first job: made
 * here, so that no test's allocation count includes them. */
static int embed_group_setup(void **state) {
  (void)state;
  (void)ax_threadpool_get_size();
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "shutdown") == 0) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embed_library_shutdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_embed_default_loop_after_enomem),
      cmocka_unit_test(test_embed_backend_fd),
      cmocka_unit_test(test_embed_timeout_values),
      cmocka_unit_test(test_embed_timer),
      cmocka_unit_test(test_embed_tcp_echo),
      cmocka_unit_test(test_embed_work),
      cmocka_unit_test(test_embed_accessors),
      cmocka_unit_test(test_embed_sizes),
      cmocka_unit_test(test_embed_default_loop),
  };
  return cmocka_run_group_tests(tests, embed_group_setup, NULL);
}
