/*
 * test_handle.c: what all handles share: closing (once, in order, from any
 * callback), ref/unref and liveness, the state predicates, type names and
 * sizes, the descriptor under a handle and its socket buffers, and the
 * debug listings of a loop's handles.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "net.h"
#include "test.h"

static void test_handle_close_once(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t timer;
  int closed = 0;
  test_loop_open(&loop);
  assert_int_equal(ax_close(NULL, NULL), AX_EINVAL);
  ax_timer_init(&loop, &timer);
  timer.handle.data = &closed;
  assert_false(ax_is_closing(&timer.handle));
  assert_int_equal(ax_close(&timer.handle, test_count_close_cb), 0);
  assert_true(ax_is_closing(&timer.handle));
  /* Closing again, before or after the callback, is refused and does not
   * call the callback again. */
  assert_int_equal(ax_close(&timer.handle, test_count_close_cb), AX_EBADF);
  assert_int_equal(closed, 0); /* Not before the close phase. */
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(closed, 1);
  assert_true(ax_is_closing(&timer.handle));
  assert_int_equal(ax_close(&timer.handle, test_count_close_cb), AX_EBADF);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(closed, 1);
  test_loop_close(&loop);
}

enum { ORDER_N = 5 };

struct order {
  int seen[ORDER_N]; /* Indexes in the order their callbacks ran. */
  int len;           /* Callbacks so far. */
};

struct order_handle {
  ax_idle_t idle;      /* The handle. */
  int index;           /* Its position in the close order. */
  struct order *order; /* Where to record the callback. */
};

static void order_close_cb(ax_handle_t *handle) {
  struct order_handle *h = ax_container_of(handle, struct order_handle, idle);
  h->order->seen[h->order->len++] = h->index;
}

static void test_handle_close_order(void **state) {
  (void)state;
  ax_loop_t loop;
  struct order order = {{0}, 0};
  struct order_handle h[ORDER_N];
  test_loop_open(&loop);
  for (int i = 0; i < ORDER_N; i++) {
    ax_idle_init(&loop, &h[i].idle);
    h[i].index = i;
    h[i].order = &order;
  }
  /* Close callbacks run in the order ax_close was called. */
  int close_order[ORDER_N] = {3, 0, 4, 1, 2};
  for (int i = 0; i < ORDER_N; i++)
    ax_close(&h[close_order[i]].idle.handle, order_close_cb);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(order.len, ORDER_N);
  for (int i = 0; i < ORDER_N; i++)
    assert_int_equal(order.seen[i], close_order[i]);
  test_loop_close(&loop);
}

struct self_closer {
  ax_timer_t timer;     /* Closes itself from its callback. */
  ax_idle_t idle;       /* Closes itself from its callback. */
  ax_prepare_t prepare; /* Closes itself from its callback. */
  ax_check_t check;     /* Closes itself from its callback. */
  int calls;            /* Callbacks run, of any handle. */
  int closed;           /* Close callbacks run. */
};

static void self_close_cb(ax_handle_t *handle) {
  struct self_closer *s = handle->data;
  s->closed++;
}

static void self_timer_cb(ax_timer_t *h) {
  struct self_closer *s = h->handle.data;
  s->calls++;
  assert_int_equal(ax_close(&h->handle, self_close_cb), 0);
  /* Once closing, a handle cannot be restarted. */
  assert_int_equal(ax_timer_start(h, self_timer_cb, 0, 0), AX_EBADF);
}

static void self_idle_cb(ax_idle_t *h) {
  struct self_closer *s = h->handle.data;
  s->calls++;
  assert_int_equal(ax_close(&h->handle, self_close_cb), 0);
  assert_int_equal(ax_idle_start(h, self_idle_cb), AX_EBADF);
}

static void self_prepare_cb(ax_prepare_t *h) {
  struct self_closer *s = h->handle.data;
  s->calls++;
  assert_int_equal(ax_close(&h->handle, self_close_cb), 0);
  assert_int_equal(ax_prepare_start(h, self_prepare_cb), AX_EBADF);
}

static void self_check_cb(ax_check_t *h) {
  struct self_closer *s = h->handle.data;
  s->calls++;
  assert_int_equal(ax_close(&h->handle, self_close_cb), 0);
  assert_int_equal(ax_check_start(h, self_check_cb), AX_EBADF);
}

static void test_handle_close_inside_callback(void **state) {
  (void)state;
  ax_loop_t loop;
  struct self_closer s;
  memset(&s, 0, sizeof(s));
  test_loop_open(&loop);
  ax_timer_init(&loop, &s.timer);
  ax_idle_init(&loop, &s.idle);
  ax_prepare_init(&loop, &s.prepare);
  ax_check_init(&loop, &s.check);
  s.timer.handle.data = s.idle.handle.data = &s;
  s.prepare.handle.data = s.check.handle.data = &s;
  ax_timer_start(&s.timer, self_timer_cb, 0, 1);
  ax_idle_start(&s.idle, self_idle_cb);
  ax_prepare_start(&s.prepare, self_prepare_cb);
  ax_check_start(&s.check, self_check_cb);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  /* Each ran exactly once: closing stopped it, repeat or not. */
  assert_int_equal(s.calls, 4);
  assert_int_equal(s.closed, 4);
  test_loop_close(&loop);
}

struct closes_other {
  ax_idle_t first;  /* Closes second from its callback. */
  ax_idle_t second; /* Must never run. */
  int second_runs;  /* Calls of second's callback. */
};

static void closes_other_second_cb(ax_idle_t *idle) {
  struct closes_other *c = ax_container_of(idle, struct closes_other, second);
  c->second_runs++;
}

static void closes_other_first_cb(ax_idle_t *idle) {
  struct closes_other *c = ax_container_of(idle, struct closes_other, first);
  ax_close(&c->second.handle, NULL);
  ax_close(&c->first.handle, NULL);
}

static void test_handle_close_other_before_its_turn(void **state) {
  (void)state;
  ax_loop_t loop;
  struct closes_other c;
  memset(&c, 0, sizeof(c));
  test_loop_open(&loop);
  ax_idle_init(&loop, &c.first);
  ax_idle_init(&loop, &c.second);
  ax_idle_start(&c.first, closes_other_first_cb);
  ax_idle_start(&c.second, closes_other_second_cb);
  /* second is due after first in the same phase; closed first, it must
   * not run. */
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(c.second_runs, 0);
  test_loop_close(&loop);
}

static void noop_timer_cb(ax_timer_t *timer) {
  (void)timer;
}

static void noop_idle_cb(ax_idle_t *idle) {
  (void)idle;
}

static void test_handle_ref_unref(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t timer;
  ax_idle_t idle;
  test_loop_open(&loop);
  ax_timer_init(&loop, &timer);
  ax_idle_init(&loop, &idle);
  /* Initialised but not started: referenced, inactive, loop not alive. */
  assert_true(ax_has_ref(&timer.handle));
  assert_false(ax_is_active(&timer.handle));
  assert_false(ax_loop_alive(&loop));

  ax_timer_start(&timer, noop_timer_cb, 60000, 0);
  assert_true(ax_is_active(&timer.handle));
  assert_true(ax_loop_alive(&loop));
  /* An unreferenced active handle does not keep the loop alive, and unref
   * is idempotent: twice is the same as once. */
  ax_unref(&timer.handle);
  ax_unref(&timer.handle);
  assert_false(ax_has_ref(&timer.handle));
  assert_false(ax_loop_alive(&loop));
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0); /* Returns at once. */
  assert_true(ax_is_active(&timer.handle));
  ax_ref(&timer.handle);
  ax_ref(&timer.handle);
  assert_true(ax_loop_alive(&loop));

  /* Unref before start: starting later still does not keep it alive. */
  ax_unref(&idle.handle);
  ax_idle_start(&idle, noop_idle_cb);
  ax_timer_stop(&timer);
  assert_true(ax_is_active(&idle.handle));
  assert_false(ax_loop_alive(&loop));
  ax_idle_stop(&idle);
  ax_ref(&idle.handle);
  assert_false(ax_loop_alive(&loop));

  ax_close(&timer.handle, NULL);
  ax_close(&idle.handle, NULL);
  test_loop_close(&loop);
}

static void test_handle_type_names_and_sizes(void **state) {
  (void)state;
  assert_string_equal(ax_handle_type_name(AX_TIMER), "timer");
  assert_string_equal(ax_handle_type_name(AX_IDLE), "idle");
  assert_string_equal(ax_handle_type_name(AX_PREPARE), "prepare");
  assert_string_equal(ax_handle_type_name(AX_CHECK), "check");
  assert_string_equal(ax_handle_type_name(AX_ASYNC), "async");
  assert_string_equal(ax_handle_type_name(AX_UNKNOWN_HANDLE), "unknown");
  assert_string_equal(ax_handle_type_name(AX_HANDLE_TYPE_MAX), "unknown");
  assert_string_equal(ax_handle_type_name((ax_handle_type)-3), "unknown");
  assert_int_equal(ax_handle_size(AX_TIMER), sizeof(ax_timer_t));
  assert_int_equal(ax_handle_size(AX_ASYNC), sizeof(ax_async_t));
  assert_int_equal(ax_handle_size(AX_IDLE), sizeof(ax_idle_t));
  assert_int_equal(ax_handle_size(AX_UNKNOWN_HANDLE), 0);
  assert_int_equal(ax_handle_size(AX_HANDLE_TYPE_MAX), 0);
}

static void test_handle_struct_sizes(void **state) {
  (void)state;
  /* The ABI is not frozen before 1.0, but sizes change only on purpose:
   * update these pins together with a note in the change. Memory per
   * handle matters (design.md: small handles, many connections). */
  if (sizeof(void *) != 8)
    skip();
  assert_int_equal(sizeof(ax_handle_t), 48);
  assert_int_equal(sizeof(ax_timer_t), 104);
  assert_int_equal(sizeof(ax_idle_t), 72);
  assert_int_equal(sizeof(ax_prepare_t), 72);
  assert_int_equal(sizeof(ax_check_t), 72);
  assert_int_equal(sizeof(ax_async_t), 80);
  /* The handle part comes first, so a cast works as well as &x.handle. */
  ax_timer_t timer;
  assert_ptr_equal((ax_handle_t *)&timer, &timer.handle);
}

static void test_handle_init_invalid(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t timer;
  ax_idle_t idle;
  ax_prepare_t prepare;
  ax_check_t check;
  test_loop_open(&loop);
  assert_int_equal(ax_timer_init(NULL, &timer), AX_EINVAL);
  assert_int_equal(ax_timer_init(&loop, NULL), AX_EINVAL);
  assert_int_equal(ax_idle_init(NULL, &idle), AX_EINVAL);
  assert_int_equal(ax_idle_init(&loop, NULL), AX_EINVAL);
  assert_int_equal(ax_prepare_init(NULL, &prepare), AX_EINVAL);
  assert_int_equal(ax_prepare_init(&loop, NULL), AX_EINVAL);
  assert_int_equal(ax_check_init(NULL, &check), AX_EINVAL);
  assert_int_equal(ax_check_init(&loop, NULL), AX_EINVAL);
  /* Nothing was registered by the failed calls. */
  assert_int_equal(test_count_handles(&loop), 0);
  test_loop_close(&loop);
}

/* ---- What a libuv program relies on ---- */

static void fire_count_cb(ax_timer_t *timer) {
  (*(int *)timer->handle.data)++;
}

/* ax_is_active follows the handle's state as uv_is_active does: a one-shot
 * timer is inactive once it fired, a repeating one stays active; an async
 * is active from init; ax_close makes any handle inactive at once. */
static void test_handle_active_follows_state(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t once, repeat;
  ax_idle_t idle;
  int fired = 0;
  test_loop_open(&loop);
  ax_timer_init(&loop, &once);
  ax_timer_init(&loop, &repeat);
  ax_idle_init(&loop, &idle);
  once.handle.data = repeat.handle.data = &fired;
  ax_timer_start(&once, fire_count_cb, 0, 0);
  ax_timer_start(&repeat, fire_count_cb, 0, 3600u * 1000u);
  assert_true(ax_is_active(&once.handle));
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(fired, 2);
  assert_false(ax_is_active(&once.handle));
  assert_true(ax_is_active(&repeat.handle));
  ax_idle_start(&idle, noop_idle_cb);
  assert_true(ax_is_active(&idle.handle));
  ax_close(&repeat.handle, NULL);
  ax_close(&idle.handle, NULL);
  assert_false(ax_is_active(&repeat.handle));
  assert_false(ax_is_active(&idle.handle));
  assert_true(ax_is_closing(&idle.handle));
  assert_false(ax_is_closing(&once.handle));
  ax_close(&once.handle, NULL);
  test_loop_close(&loop);
}

/* A closing handle keeps the loop alive until its close callback has run,
 * referenced or not (libuv's closing_handles do the same); ref and unref
 * on it change its flag and nothing else. */
static void test_handle_closing_keeps_loop_alive(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_idle_t idle;
  int closed = 0;
  test_loop_open(&loop);
  ax_idle_init(&loop, &idle);
  idle.handle.data = &closed;
  ax_unref(&idle.handle);
  assert_false(ax_loop_alive(&loop));
  assert_int_equal(ax_close(&idle.handle, test_count_close_cb), 0);
  assert_true(ax_loop_alive(&loop));
  ax_ref(&idle.handle);
  assert_true(ax_has_ref(&idle.handle));
  ax_unref(&idle.handle);
  assert_false(ax_has_ref(&idle.handle));
  assert_true(ax_loop_alive(&loop));
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(closed, 1);
  assert_false(ax_loop_alive(&loop));
  test_loop_close(&loop);
}

struct close_chain {
  ax_idle_t first;   /* Its close callback closes second. */
  ax_idle_t second;  /* Closed from first's close callback. */
  int first_closed;  /* first's close callbacks. */
  int second_closed; /* second's close callbacks. */
  int again;         /* ax_close(first) from its own close callback. */
};

static void close_chain_second_cb(ax_handle_t *handle) {
  ax_container_of(handle, struct close_chain, second.handle)->second_closed++;
}

static void close_chain_first_cb(ax_handle_t *handle) {
  struct close_chain *c = ax_container_of(handle, struct close_chain,
                                          first.handle);
  c->first_closed++;
  c->again = ax_close(handle, close_chain_first_cb);
  assert_int_equal(ax_close(&c->second.handle, close_chain_second_cb), 0);
}

/* A handle closed from another's close callback gets its own callback in
 * the same run, not lost; a close callback closing its own handle again is
 * refused. */
static void test_handle_close_from_close_callback(void **state) {
  (void)state;
  ax_loop_t loop;
  struct close_chain c;
  memset(&c, 0, sizeof(c));
  test_loop_open(&loop);
  ax_idle_init(&loop, &c.first);
  ax_idle_init(&loop, &c.second);
  ax_idle_start(&c.second, noop_idle_cb);
  assert_int_equal(ax_close(&c.first.handle, close_chain_first_cb), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(c.first_closed, 1);
  assert_int_equal(c.second_closed, 1);
  assert_int_equal(c.again, AX_EBADF);
  test_loop_close(&loop);
}

/* A TCP handle bound to 127.0.0.1 and a free port, with its socket. */
static void bound_tcp(ax_loop_t *loop, ax_tcp_t *tcp) {
  struct sockaddr_in addr;
  assert_int_equal(ax_tcp_init(loop, tcp), 0);
  assert_int_equal(ax_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(ax_tcp_bind(tcp, (const struct sockaddr *)&addr, 0), 0);
}

/* ax_fileno() on every kind of handle that has a descriptor, before it
 * has one, and after it closes; and on kinds that never have one. */
static void test_handle_fileno_every_type(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_tcp_t fresh, tcp;
  ax_udp_t udp;
  ax_pipe_t reader, writer;
  ax_timer_t timer;
  ax_os_fd_t fd, fds[2];
  int closed = 0;
  test_loop_open(&loop);
  assert_int_equal(ax_tcp_init(&loop, &fresh), 0);
  fresh.stream.handle.data = &closed;
  assert_int_equal(ax_fileno(&fresh.stream.handle, &fd), AX_EBADF);
  assert_int_equal(ax_fileno(NULL, &fd), AX_EINVAL);
  assert_int_equal(ax_fileno(&fresh.stream.handle, NULL), AX_EINVAL);
  assert_int_equal(ax_close(&fresh.stream.handle, test_count_close_cb), 0);
  bound_tcp(&loop, &tcp);
  tcp.stream.handle.data = &closed;
  assert_int_equal(ax_fileno(&tcp.stream.handle, &fd), 0);

  struct sockaddr_in addr;
  assert_int_equal(ax_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(ax_udp_init(&loop, &udp), 0);
  udp.handle.data = &closed;
  assert_int_equal(ax_udp_bind(&udp, (const struct sockaddr *)&addr, 0), 0);
  assert_int_equal(ax_fileno(&udp.handle, &fd), 0);

  /* Pipes: each end gives the descriptor it was opened on. */
  assert_int_equal(ax_pipe(fds, AX_PIPE_NONBLOCK, AX_PIPE_NONBLOCK), 0);
  assert_int_equal(ax_pipe_init(&loop, &reader, false), 0);
  assert_int_equal(ax_pipe_init(&loop, &writer, false), 0);
  reader.stream.handle.data = &closed;
  writer.stream.handle.data = &closed;
  assert_int_equal(ax_fileno(&reader.stream.handle, &fd), AX_EBADF);
  assert_int_equal(ax_pipe_open(&reader, fds[0]), 0);
  assert_int_equal(ax_pipe_open(&writer, fds[1]), 0);
  assert_int_equal(ax_fileno(&reader.stream.handle, &fd), 0);
  assert_true(fd == fds[0]);
  assert_int_equal(ax_fileno(&writer.stream.handle, &fd), 0);
  assert_true(fd == fds[1]);

  assert_int_equal(ax_timer_init(&loop, &timer), 0);
  timer.handle.data = &closed;
  assert_int_equal(ax_fileno(&timer.handle, &fd), AX_EINVAL);

  ax_handle_t *handles[] = {&tcp.stream.handle, &udp.handle,
                            &reader.stream.handle, &writer.stream.handle,
                            &timer.handle};
  for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++) {
    assert_int_equal(ax_close(handles[i], test_count_close_cb), 0);
    int want = handles[i]->type == AX_TIMER ? AX_EINVAL : AX_EBADF;
    assert_int_equal(ax_fileno(handles[i], &fd), want);
  }
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(closed, 6);
  test_loop_close(&loop);
}

/* Reads, then sets, one socket buffer of handle: the size read back is at
 * least the size asked (Linux doubles it), and the call leaves the asked
 * size in place. */
static void buffer_size_round_trip(ax_handle_t *handle,
                                   int (*size)(ax_handle_t *, int *)) {
  int value = 0;
  assert_int_equal(size(handle, &value), 0);
  assert_true(value > 0);
  int asked = value * 2 + 4096;
  value = asked;
  assert_int_equal(size(handle, &value), 0);
  assert_int_equal(value, asked);
  value = 0;
  assert_int_equal(size(handle, &value), 0);
  assert_true(value >= asked);
}

/* The send and receive buffers of TCP and UDP sockets, the refusals of
 * handles without sockets, and of bad arguments. */
static void test_handle_socket_buffer_sizes(void **state) {
  (void)state;
  int (*sizes[])(ax_handle_t *, int *) = {ax_send_buffer_size,
                                          ax_recv_buffer_size};
  ax_loop_t loop;
  ax_tcp_t tcp, fresh;
  ax_udp_t udp;
  ax_pipe_t reader, writer;
  ax_timer_t timer;
  ax_os_fd_t fds[2];
  int closed = 0;
  test_loop_open(&loop);
  bound_tcp(&loop, &tcp);
  assert_int_equal(ax_tcp_init(&loop, &fresh), 0);
  struct sockaddr_in addr;
  assert_int_equal(ax_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(ax_udp_init(&loop, &udp), 0);
  assert_int_equal(ax_udp_bind(&udp, (const struct sockaddr *)&addr, 0), 0);
  assert_int_equal(ax_pipe(fds, AX_PIPE_NONBLOCK, AX_PIPE_NONBLOCK), 0);
  assert_int_equal(ax_pipe_init(&loop, &reader, false), 0);
  assert_int_equal(ax_pipe_init(&loop, &writer, false), 0);
  assert_int_equal(ax_pipe_open(&reader, fds[0]), 0);
  assert_int_equal(ax_pipe_open(&writer, fds[1]), 0);
  assert_int_equal(ax_timer_init(&loop, &timer), 0);

  for (size_t i = 0; i < 2; i++) {
    int value = 0;
    buffer_size_round_trip(&tcp.stream.handle, sizes[i]);
    buffer_size_round_trip(&udp.handle, sizes[i]);
    assert_int_equal(sizes[i](&fresh.stream.handle, &value), AX_EBADF);
    assert_int_equal(sizes[i](&timer.handle, &value), AX_EINVAL);
    assert_int_equal(sizes[i](NULL, &value), AX_EINVAL);
    assert_int_equal(sizes[i](&tcp.stream.handle, NULL), AX_EINVAL);
    value = -1;
    assert_int_equal(sizes[i](&tcp.stream.handle, &value), AX_EINVAL);
    assert_int_equal(value, -1);
    /* ax_pipe() gives a pipe, not a socket, on POSIX; Windows pipes have
     * no socket buffers at all. */
    value = 0;
    int rc = sizes[i](&reader.stream.handle, &value);
#if defined(_WIN32)
    assert_int_equal(rc, AX_ENOTSUP);
#else
    assert_true(rc == AX_ENOTSOCK || (rc == 0 && value > 0));
#endif
  }

  ax_handle_t *handles[] = {&tcp.stream.handle,    &fresh.stream.handle,
                            &udp.handle,           &reader.stream.handle,
                            &writer.stream.handle, &timer.handle};
  for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++) {
    handles[i]->data = &closed;
    assert_int_equal(ax_close(handles[i], test_count_close_cb), 0);
  }
  int value = 0;
  assert_int_equal(ax_send_buffer_size(&tcp.stream.handle, &value), AX_EBADF);
  assert_int_equal(ax_recv_buffer_size(&udp.handle, &value), AX_EBADF);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(closed, 6);
  test_loop_close(&loop);
}

enum { PRINT_OUT = 4096 };

/* Callbacks for handles that are started but never run in the test. */
static void handle_print_timer_cb(ax_timer_t *timer) {
  (void)timer;
}

static void handle_print_check_cb(ax_check_t *check) {
  (void)check;
}

/* Run print on loop into a temporary file, and read back what it wrote. */
static void handle_print_capture(int (*print)(ax_loop_t *, FILE *),
                                 ax_loop_t *loop, char *out, size_t out_size) {
  char dir[1024];
  size_t size = sizeof(dir);
  assert_int_equal(ax_os_tmpdir(dir, &size), 0);
  char path[1100];
  (void)snprintf(path, sizeof(path), "%s/axle-print-%d.txt", dir,
                 (int)ax_os_getpid());
  FILE *file = fopen(path, "w+");
  assert_non_null(file);
  assert_int_equal(print(loop, file), 0);
  rewind(file);
  size_t n = fread(out, 1, out_size - 1, file);
  out[n] = '\0';
  assert_int_equal(fclose(file), 0);
  assert_int_equal(remove(path), 0);
}

/* The line the listings give for handle, with the flag columns given. */
static void handle_print_line(char *line, size_t line_size, const char *flags,
                              const ax_handle_t *handle) {
  (void)snprintf(line, line_size, "[%s] %-8s 0x%" PRIxPTR "\n", flags,
                 ax_handle_type_name(handle->type), (uintptr_t)handle);
}

static void handle_print_expect(const char *out, const char *flags,
                                const ax_handle_t *handle, bool listed) {
  char line[128];
  handle_print_line(line, sizeof(line), flags, handle);
  if (listed)
    assert_non_null(strstr(out, line));
  else
    assert_null(strstr(out, line));
}

static void test_handle_print(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t timer;
  ax_idle_t idle;
  ax_check_t check;
  char out[PRINT_OUT];
  test_loop_open(&loop);
  /* A new loop lists nothing: it keeps no handles of its own there. */
  handle_print_capture(ax_print_all_handles, &loop, out, sizeof(out));
  assert_string_equal(out, "");
  ax_timer_init(&loop, &timer);
  ax_idle_init(&loop, &idle);
  ax_check_init(&loop, &check);
  assert_int_equal(ax_timer_start(&timer, handle_print_timer_cb, 60000, 0), 0);
  assert_int_equal(ax_check_start(&check, handle_print_check_cb), 0);
  ax_unref(&check.handle);
  /* Referenced and active; referenced only; active only. */
  handle_print_capture(ax_print_all_handles, &loop, out, sizeof(out));
  handle_print_expect(out, "RA-", &timer.handle, true);
  handle_print_expect(out, "R--", &idle.handle, true);
  handle_print_expect(out, "-A-", &check.handle, true);
  /* The active listing leaves the idle handle out. */
  handle_print_capture(ax_print_active_handles, &loop, out, sizeof(out));
  handle_print_expect(out, "RA-", &timer.handle, true);
  handle_print_expect(out, "R--", &idle.handle, false);
  handle_print_expect(out, "-A-", &check.handle, true);
  /* Closing: stopped, and marked, until the close phase. */
  assert_int_equal(ax_close(&idle.handle, NULL), 0);
  handle_print_capture(ax_print_all_handles, &loop, out, sizeof(out));
  handle_print_expect(out, "R-C", &idle.handle, true);
  ax_close(&timer.handle, NULL);
  ax_close(&check.handle, NULL);
  test_loop_close(&loop);
}

static void test_handle_print_errors(void **state) {
  (void)state;
  assert_int_equal(ax_print_all_handles(NULL, stderr), AX_EINVAL);
  assert_int_equal(ax_print_active_handles(NULL, stderr), AX_EINVAL);
  ax_loop_t never;
  memset(&never, 0, sizeof(never)); /* Not initialised. */
  assert_int_equal(ax_print_all_handles(&never, stderr), AX_EINVAL);
  ax_loop_t loop;
  ax_timer_t timer;
  test_loop_open(&loop);
  ax_timer_init(&loop, &timer);
  /* NULL is stderr. */
  assert_int_equal(ax_print_all_handles(&loop, NULL), 0);
  /* A stream that cannot be written: AX_EIO, not a crash. */
  char dir[1024];
  size_t size = sizeof(dir);
  assert_int_equal(ax_os_tmpdir(dir, &size), 0);
  char path[1100];
  (void)snprintf(path, sizeof(path), "%s/axle-print-ro-%d.txt", dir,
                 (int)ax_os_getpid());
  FILE *file = fopen(path, "w");
  assert_non_null(file);
  assert_int_equal(fclose(file), 0);
  file = fopen(path, "r");
  assert_non_null(file);
  assert_int_equal(ax_print_all_handles(&loop, file), AX_EIO);
  /* msvcrt keeps the failed bytes buffered, and fails their flush at
   * close too: the close's answer is the C runtime's affair. */
  (void)fclose(file);
  assert_int_equal(remove(path), 0);
  ax_close(&timer.handle, NULL);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handle_close_once),
      cmocka_unit_test(test_handle_close_order),
      cmocka_unit_test(test_handle_close_inside_callback),
      cmocka_unit_test(test_handle_close_other_before_its_turn),
      cmocka_unit_test(test_handle_ref_unref),
      cmocka_unit_test(test_handle_type_names_and_sizes),
      cmocka_unit_test(test_handle_struct_sizes),
      cmocka_unit_test(test_handle_init_invalid),
      cmocka_unit_test(test_handle_active_follows_state),
      cmocka_unit_test(test_handle_closing_keeps_loop_alive),
      cmocka_unit_test(test_handle_close_from_close_callback),
      cmocka_unit_test(test_handle_fileno_every_type),
      cmocka_unit_test(test_handle_socket_buffer_sizes),
      cmocka_unit_test(test_handle_print),
      cmocka_unit_test(test_handle_print_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
