/*
 * test_kqueue.c: the kqueue backend and the pipe wakeup channel of macOS and
 * the BSDs, seen from inside the library. test_backend.c is the Linux
 * counterpart; this file reaches the BSD syscall table (unix/bsd.h) instead.
 *
 * - one callback per io with its whole mask, although kqueue reports the
 *   read and write filters of a descriptor as two events, limited to the
 *   interest the io has when it is delivered;
 * - an io stopped by an earlier callback of the same batch is not called;
 * - end of stream: disconnect without error when the writer went away,
 *   error when the reader of a pipe did;
 * - failures injected through ax__bsd_sys and ax__sys: kqueue() or fcntl()
 *   refused at init (fallback to poll), a change refused half-way (the old
 *   registration is restored), a stop whose first deletion is refused, EINTR
 *   and a broken wait, pipe() or fcntl() refused for the wakeup channel.
 *
 * Built only where meson builds kqueue.c: the BSDs, and Linux on libkqueue
 * (meson's kqueue_linux option). meson runs it once per backend: the tests
 * of kqueue itself skip on the others; those of the wakeup channel run on
 * every backend where the channel is the pipe, and skip on Linux, whose
 * channel is an eventfd. The backend is driven directly through its wait
 * and dispatch with no timeout, which needs no handle to keep the loop
 * alive.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"

#include "backend.h"
#include "unix/bsd.h"
#include "unix/internal.h"

/* Per-test teardown, also after a failed assertion: the real calls back. */
static int restore_tables(void **state) {
  (void)state;
  ax__sys = ax__sys_default;
  ax__bsd_sys = ax__bsd_sys_default;
  return 0;
}

/* Open the test's loop. On another backend than kqueue, close it again and
 * return false: the caller skips. */
static bool kqueue_loop_open(ax_loop_t *loop) {
  test_loop_open(loop);
  if (strcmp(ax_backend_name(loop), "kqueue") == 0)
    return true;
  test_loop_close(loop);
  return false;
}

/* One wait that does not block, then the delivery of what it collected.
 * Returns the wait's result: the entries collected, or its error. */
static int wait_and_dispatch(ax_loop_t *loop) {
  const struct ax__backend *backend = loop->priv.platform.backend;
  int n = backend->wait(loop, 0);
  if (n > 0)
    backend->dispatch(loop);
  return n;
}

static void socket_pair(int fds[2]) {
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
}

static void pipe_pair(int fds[2]) {
  assert_int_equal(pipe(fds), 0);
}

static void close_both(int fds[2]) {
  for (int i = 0; i < 2; i++) {
    if (fds[i] >= 0)
      close(fds[i]);
    fds[i] = -1;
  }
}

/* An io that records its completions, and may stop another io. */
struct probe {
  ax__io_t io;          /* The operation under test. */
  int calls;            /* Completions delivered. */
  unsigned int events;  /* Events of the last one. */
  struct probe *victim; /* Stopped by this probe's callback, if not NULL. */
};

static void probe_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                     intptr_t result) {
  (void)op;
  unsigned int events = (unsigned int)result;
  struct probe *p = ax_container_of(io, struct probe, io);
  p->calls++;
  p->events = events;
  if (p->victim != NULL)
    ax__io_stop(loop, &p->victim->io, AX__IO_READ | AX__IO_WRITE);
}

static void probe_init(struct probe *p, int fd) {
  memset(p, 0, sizeof(*p));
  ax__io_init(&p->io, probe_cb, fd);
}

static void probe_start(ax_loop_t *loop, struct probe *p, int fd,
                        unsigned int events) {
  probe_init(p, fd);
  assert_int_equal(ax__io_start(loop, &p->io, events), 0);
}

static void probe_stop(ax_loop_t *loop, struct probe *p) {
  assert_int_equal(ax__io_stop(loop, &p->io, AX__IO_READ | AX__IO_WRITE), 0);
  assert_int_equal(p->io.events, 0);
}

/* A kqueue loop, and a socket whose first end is readable (a byte waits)
 * and writable, with a probe for it that is not started yet. */
struct ready_socket {
  ax_loop_t loop; /* The test's loop, on kqueue. */
  int fds[2];     /* fds[0] is ready both ways. */
  struct probe p; /* For fds[0]. */
};

/* false (and nothing left open) when the loop is not on kqueue. */
static bool ready_socket_open(struct ready_socket *rs) {
  if (!kqueue_loop_open(&rs->loop))
    return false;
  socket_pair(rs->fds);
  assert_int_equal(write(rs->fds[1], "x", 1), 1);
  probe_init(&rs->p, rs->fds[0]);
  return true;
}

static void ready_socket_close(struct ready_socket *rs) {
  if (rs->p.io.events != 0)
    probe_stop(&rs->loop, &rs->p);
  close_both(rs->fds);
  test_loop_close(&rs->loop);
}

/* ---- Delivery ---- */

static void test_kqueue_one_call_per_io(void **state) {
  (void)state;
  struct ready_socket rs;
  if (!ready_socket_open(&rs))
    skip();
  ax_loop_t *loop = &rs.loop;
  assert_int_equal(ax__io_start(loop, &rs.p.io, AX__IO_READ | AX__IO_WRITE), 0);
  /* Readable and writable: two kernel events, one entry, one call. */
  assert_int_equal(wait_and_dispatch(loop), 1);
  assert_int_equal(rs.p.calls, 1);
  assert_int_equal(rs.p.events, AX__IO_READ | AX__IO_WRITE);
  /* Interest narrowed between the wait and the delivery: only the rest. */
  const struct ax__backend *backend = loop->priv.platform.backend;
  assert_int_equal(backend->wait(loop, 0), 1);
  assert_int_equal(ax__io_stop(loop, &rs.p.io, AX__IO_WRITE), 0);
  assert_int_equal(backend->dispatch(loop), 1);
  assert_int_equal(rs.p.events, AX__IO_READ);
  ready_socket_close(&rs);
}

static void test_kqueue_stop_other_in_batch(void **state) {
  (void)state;
  ax_loop_t loop;
  int a[2], b[2];
  struct probe pa, pb;
  if (!kqueue_loop_open(&loop))
    skip();
  socket_pair(a);
  socket_pair(b);
  probe_start(&loop, &pa, a[0], AX__IO_READ | AX__IO_WRITE);
  probe_start(&loop, &pb, b[0], AX__IO_READ | AX__IO_WRITE);
  pa.victim = &pb;
  pb.victim = &pa;
  /* End of stream on both: DISCONNECT would pass even the empty interest of
   * a stopped io, so only clearing its batch entry keeps it from a call. */
  assert_int_equal(shutdown(a[1], SHUT_WR), 0);
  assert_int_equal(shutdown(b[1], SHUT_WR), 0);
  /* Both are ready in one batch; whichever runs first stops the other. */
  assert_int_equal(wait_and_dispatch(&loop), 2);
  assert_int_equal(pa.calls + pb.calls, 1);
  probe_stop(&loop, pa.calls == 1 ? &pa : &pb);
  close_both(a);
  close_both(b);
  test_loop_close(&loop);
}

/* Start a probe for events on fd, end the stream by closing end_fd or by
 * shutting its writing side down, and expect one call with want. */
static void expect_end(ax_loop_t *loop, int fd, unsigned int events, int end_fd,
                       bool shut_down, unsigned int want) {
  struct probe p;
  probe_start(loop, &p, fd, events);
  if (shut_down)
    assert_int_equal(shutdown(end_fd, SHUT_WR), 0);
  else
    close(end_fd);
  assert_int_equal(wait_and_dispatch(loop), 1);
  assert_int_equal(p.calls, 1);
  assert_int_equal(p.events, want);
  probe_stop(loop, &p);
}

static void test_kqueue_end_of_stream(void **state) {
  (void)state;
  ax_loop_t loop;
  int fds[2];
  if (!kqueue_loop_open(&loop))
    skip();
  /* The writer of a pipe closed (EV_EOF on the read filter). */
  pipe_pair(fds);
  expect_end(&loop, fds[0], AX__IO_READ, fds[1], false,
             AX__IO_READ | AX__IO_DISCONNECT);
  fds[1] = -1;
  close_both(fds);
  /* The peer of a socket shut down writing: the same, and no error. */
  socket_pair(fds);
  expect_end(&loop, fds[0], AX__IO_READ, fds[1], true,
             AX__IO_READ | AX__IO_DISCONNECT);
  close_both(fds);
  /* The reader of a pipe closed (EV_EOF on the write filter): EPIPE. */
  pipe_pair(fds);
  expect_end(&loop, fds[1], AX__IO_WRITE, fds[0], false,
             AX__IO_WRITE | AX__IO_ERROR);
  fds[0] = -1;
  close_both(fds);
  test_loop_close(&loop);
}

/* ---- Injected failures of the kqueue ---- */

static int refuse_kqueue(void) {
  errno = EMFILE;
  return -1;
}

static int refuse_fcntl(int fd, int cmd, ...) {
  (void)fd;
  (void)cmd;
  errno = EINVAL;
  return -1;
}

/* The backend a loop falls back to when kqueue refuses to start: the
 * platform's first other one (poll(2) on the BSDs, epoll on Linux). */
static const char *kqueue_fallback_name(void) {
  for (size_t i = 0; ax__backends[i] != NULL; i++) {
    if (strcmp(ax__backends[i]->name, "kqueue") != 0)
      return ax__backends[i]->name;
  }
  fail_msg("no backend besides kqueue");
  return NULL;
}

static void test_kqueue_init_failure(void **state) {
  (void)state;
  ax_loop_t loop, side;
  test_loop_open(&loop);
  long allocations = test_live_allocations();
  ax_loop_options_t options = {.backend = "kqueue", .flags = 0};
  ax__bsd_sys.kqueue = refuse_kqueue;
  memset(&side, 0xa5, sizeof(side));
  assert_int_equal(ax_loop_init_ex(&side, &options), 0);
  assert_string_equal(ax_backend_name(&side), kqueue_fallback_name());
  assert_int_equal(ax_backend_fallback_error(&side), AX_EMFILE);
  assert_int_equal(ax_loop_close(&side), 0);
  /* STRICT: the error, and nothing left behind. */
  options.flags = AX_LOOP_BACKEND_STRICT;
  assert_int_equal(ax_loop_init_ex(&side, &options), AX_EMFILE);
  /* The kqueue is made but cannot be made close-on-exec. */
  ax__bsd_sys.kqueue = ax__bsd_sys_default.kqueue;
  ax__sys.fcntl = refuse_fcntl;
  assert_int_equal(ax_loop_init_ex(&side, &options), AX_EINVAL);
  assert_int_equal(test_live_allocations(), allocations);
  restore_tables(NULL);
  test_loop_close(&loop);
}

static int refusals; /* Calls the injected kevent refused. */

/* What the kernel does when the second change of a call fails: the first
 * stays applied, and the call fails. */
static int refuse_second_change(int kq, const struct kevent *changes,
                                int change_count, struct kevent *events,
                                int event_count,
                                const struct timespec *timeout) {
  if (change_count != 2)
    return ax__bsd_sys_default.kevent(kq, changes, change_count, events,
                                      event_count, timeout);
  refusals++;
  if (ax__bsd_sys_default.kevent(kq, changes, 1, NULL, 0, NULL) != 0)
    return -1;
  errno = ENOMEM;
  return -1;
}

static void test_kqueue_start_refused_half_way(void **state) {
  (void)state;
  struct ready_socket rs;
  if (!ready_socket_open(&rs))
    skip();
  ax__io_t *io = &rs.p.io;
  refusals = 0;
  ax__bsd_sys.kevent = refuse_second_change;
  assert_int_equal(ax__io_start(&rs.loop, io, AX__IO_READ | AX__IO_WRITE),
                   AX_ENOMEM);
  assert_int_equal(refusals, 1);
  assert_int_equal(io->events, 0);
  restore_tables(NULL);
  /* The read filter the refused call added is gone again: the descriptor
   * is readable, yet the wait collects nothing. */
  assert_int_equal(wait_and_dispatch(&rs.loop), 0);
  /* A later start works as if nothing had happened. */
  assert_int_equal(ax__io_start(&rs.loop, io, AX__IO_READ | AX__IO_WRITE), 0);
  assert_int_equal(wait_and_dispatch(&rs.loop), 1);
  assert_int_equal(rs.p.events, AX__IO_READ | AX__IO_WRITE);
  ready_socket_close(&rs);
}

/* What the kernel does when the first deletion of a call fails (the filter
 * is missing): it applies nothing after it. Made true by deleting the first
 * filter for real. */
static int refuse_first_deletion(int kq, const struct kevent *changes,
                                 int change_count, struct kevent *events,
                                 int event_count,
                                 const struct timespec *timeout) {
  if (change_count != 2 || !(changes[0].flags & EV_DELETE))
    return ax__bsd_sys_default.kevent(kq, changes, change_count, events,
                                      event_count, timeout);
  refusals++;
  (void)ax__bsd_sys_default.kevent(kq, changes, 1, NULL, 0, NULL);
  errno = ENOENT;
  return -1;
}

static void test_kqueue_stop_refused_half_way(void **state) {
  (void)state;
  struct ready_socket rs;
  if (!ready_socket_open(&rs))
    skip();
  assert_int_equal(ax__io_start(&rs.loop, &rs.p.io, AX__IO_READ | AX__IO_WRITE),
                   0);
  refusals = 0;
  ax__bsd_sys.kevent = refuse_first_deletion;
  probe_stop(&rs.loop, &rs.p);
  assert_int_equal(refusals, 1);
  restore_tables(NULL);
  /* The write filter was deleted on its own: nothing is collected. */
  assert_int_equal(wait_and_dispatch(&rs.loop), 0);
  ready_socket_close(&rs);
}

static int wait_calls;    /* Waits the injected kevent saw. */
static int wait_failures; /* Waits that still fail. */
static int wait_errno;    /* The errno they fail with. */

static int fail_waits(int kq, const struct kevent *changes, int change_count,
                      struct kevent *events, int event_count,
                      const struct timespec *timeout) {
  if (event_count > 0) {
    wait_calls++;
    if (wait_failures > 0) {
      wait_failures--;
      errno = wait_errno;
      return -1;
    }
  }
  return ax__bsd_sys_default.kevent(kq, changes, change_count, events,
                                    event_count, timeout);
}

static void test_kqueue_wait_failures(void **state) {
  (void)state;
  struct ready_socket rs;
  if (!ready_socket_open(&rs))
    skip();
  assert_int_equal(ax__io_start(&rs.loop, &rs.p.io, AX__IO_READ), 0);
  ax__bsd_sys.kevent = fail_waits;
  /* EINTR is retried. */
  wait_calls = 0;
  wait_failures = 3;
  wait_errno = EINTR;
  assert_int_equal(wait_and_dispatch(&rs.loop), 1);
  assert_int_equal(wait_calls, 4);
  assert_int_equal(rs.p.calls, 1);
  /* Any other failure is the wait's result (ax_run() returns it). */
  wait_failures = 1;
  wait_errno = EBADF;
  assert_int_equal(wait_and_dispatch(&rs.loop), AX_EBADF);
  restore_tables(NULL);
  ready_socket_close(&rs);
}

/* ---- The pipe wakeup channel (kqueue and poll) ---- */

static int refuse_pipe(int fds[2]) {
  (void)fds;
  errno = EMFILE;
  return -1;
}

static int pipe_made[2] = {-1, -1}; /* The last pipe the table made. */
static int pipe_ends_closed;        /* Of those, how many were closed. */

static int record_pipe(int fds[2]) {
  int r = ax__sys_default.pipe(fds);
  if (r == 0) {
    pipe_made[0] = fds[0];
    pipe_made[1] = fds[1];
  }
  return r;
}

static int record_close(int fd) {
  if (fd == pipe_made[0] || fd == pipe_made[1])
    pipe_ends_closed++;
  return ax__sys_default.close(fd);
}

static void async_count_cb(ax_async_t *async) {
  (*(int *)async->handle.data)++;
}

/* Whether the platform's wakeup channel is a pipe (async-pipe.c), asked
 * of the library itself: two descriptors, where an eventfd is one. */
static bool wakeup_channel_is_pipe(void) {
  int fds[2];
  assert_int_equal(ax__wakeup_channel_open(fds), 0);
  bool two_ends = fds[0] != fds[1];
  close(fds[0]);
  if (two_ends)
    close(fds[1]);
  return two_ends;
}

static void test_kqueue_wakeup_channel_failures(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_async_t async;
  int calls = 0;
  if (!wakeup_channel_is_pipe())
    test_skip("the wakeup channel is an eventfd here (Linux), not a pipe; "
              "test_backend.c injects its failures");
  test_loop_open(&loop);
  ax__sys.pipe = refuse_pipe;
  assert_int_equal(ax_async_init(&loop, &async, async_count_cb), AX_EMFILE);
  /* The pipe is made, its flags refused: both ends are closed again. */
  pipe_ends_closed = 0;
  ax__sys.pipe = record_pipe;
  ax__sys.close = record_close;
  ax__sys.fcntl = refuse_fcntl;
  assert_int_equal(ax_async_init(&loop, &async, async_count_cb), AX_EINVAL);
  assert_int_equal(pipe_ends_closed, 2);
  assert_int_equal(test_count_handles(&loop), 0);
  restore_tables(NULL);
  /* And then the channel works. */
  assert_int_equal(ax_async_init(&loop, &async, async_count_cb), 0);
  async.handle.data = &calls;
  assert_int_equal(ax_async_send(&async), 0);
  assert_int_equal(ax_async_send(&async), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_int_equal(calls, 1);
  assert_int_equal(ax_close(&async.handle, NULL), 0);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_kqueue_one_call_per_io, restore_tables),
      cmocka_unit_test_teardown(test_kqueue_stop_other_in_batch,
                                restore_tables),
      cmocka_unit_test_teardown(test_kqueue_end_of_stream, restore_tables),
      cmocka_unit_test_teardown(test_kqueue_init_failure, restore_tables),
      cmocka_unit_test_teardown(test_kqueue_start_refused_half_way,
                                restore_tables),
      cmocka_unit_test_teardown(test_kqueue_stop_refused_half_way,
                                restore_tables),
      cmocka_unit_test_teardown(test_kqueue_wait_failures, restore_tables),
      cmocka_unit_test_teardown(test_kqueue_wakeup_channel_failures,
                                restore_tables),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
