/*
 * test_poll_posix.c: poll handles on what only POSIX systems can poll:
 * pipes (readable, writable, the writer's hang-up as DISCONNECT), a
 * descriptor that is not open, and a descriptor closed while watched.
 * test_poll.c has the portable cases, on sockets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

/* A non-blocking pipe. */
static void pipe_pair(int fds[2]) {
  assert_int_equal(pipe(fds), 0);
  for (int i = 0; i < 2; i++)
    assert_int_equal(fcntl(fds[i], F_SETFL, O_NONBLOCK), 0);
}

/* What a callback saw. It stops the handle on its first call, and reads
 * what is readable. */
struct probe {
  ax_poll_t poll; /* The handle. */
  int fd;         /* Its descriptor. */
  int calls;      /* Callback calls. */
  int status;     /* The last status. */
  int events;     /* The last events. */
};

static void probe_cb(ax_poll_t *poll, int status, int events) {
  struct probe *p = ax_container_of(poll, struct probe, poll);
  p->calls++;
  p->status = status;
  p->events = events;
  assert_int_equal(ax_poll_stop(poll), 0);
}

static void probe_run(ax_loop_t *loop, struct probe *p, int fd, int events) {
  memset(p, 0, sizeof(*p));
  p->fd = fd;
  assert_int_equal(ax_poll_init(loop, &p->poll, fd), 0);
  assert_int_equal(ax_poll_start(&p->poll, events, probe_cb), 0);
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), 0);
  /* Closed, and its close phase run, before p is used again. */
  ax_close(&p->poll.handle, NULL);
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), 0);
}

static void test_poll_pipe(void **state) {
  (void)state;
  ax_loop_t loop;
  int fds[2];
  struct probe p;
  struct test_guard guard;
  test_loop_open(&loop);
  test_guard_start(&loop, &guard);
  pipe_pair(fds);
  /* The write end is writable at once. */
  probe_run(&loop, &p, fds[1], AX_POLL_WRITABLE);
  assert_int_equal(p.calls, 1);
  assert_int_equal(p.status, 0);
  assert_int_equal(p.events, AX_POLL_WRITABLE);
  /* The read end once a byte is in. */
  assert_int_equal(write(fds[1], "x", 1), 1);
  probe_run(&loop, &p, fds[0], AX_POLL_READABLE | AX_POLL_DISCONNECT);
  assert_int_equal(p.calls, 1);
  assert_int_equal(p.events, AX_POLL_READABLE);
  char byte;
  assert_int_equal(read(fds[0], &byte, 1), 1);
  /* The writer's close is a hang-up: DISCONNECT, and readable (EOF). */
  close(fds[1]);
  probe_run(&loop, &p, fds[0], AX_POLL_READABLE | AX_POLL_DISCONNECT);
  assert_int_equal(p.calls, 1);
  assert_int_equal(p.status, 0);
  assert_int_equal(p.events, AX_POLL_READABLE | AX_POLL_DISCONNECT);
  /* Asked alone, the hang-up is seen alone (POLLHUP, EPOLLHUP). kqueue
   * sees it only on the read filter, which DISCONNECT alone does not add. */
  if (strcmp(ax_backend_name(&loop), "kqueue") != 0) {
    probe_run(&loop, &p, fds[0], AX_POLL_DISCONNECT);
    assert_int_equal(p.calls, 1);
    assert_int_equal(p.events, AX_POLL_DISCONNECT);
  }
  close(fds[0]);
  test_guard_close(&guard);
  test_loop_close(&loop);
}

static void test_poll_not_open(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_poll_t poll;
  int fds[2];
  test_loop_open(&loop);
  pipe_pair(fds);
  close(fds[0]);
  close(fds[1]);
  assert_int_equal(ax_poll_init(&loop, &poll, fds[0]), AX_EBADF);
  assert_int_equal(ax_poll_init_socket(&loop, &poll, fds[1]), AX_EBADF);
  test_loop_close(&loop);
}

/* poll(2) reports a descriptor closed under the handle (POLLNVAL), which
 * the handle turns into AX_EBADF and a stop; epoll and kqueue forget it
 * silently (test_poll.c, docs/signals.md). */
static void test_poll_closed_under_handle(void **state) {
  (void)state;
  ax_loop_t loop;
  int fds[2];
  struct probe p;
  struct test_guard guard;
  test_loop_open(&loop);
  if (strcmp(ax_backend_name(&loop), "poll") != 0) {
    test_loop_close(&loop);
    test_skip("only poll(2) reports a descriptor closed under the handle "
              "(POLLNVAL)");
  }
  test_guard_start(&loop, &guard);
  pipe_pair(fds);
  memset(&p, 0, sizeof(p));
  assert_int_equal(ax_poll_init(&loop, &p.poll, fds[0]), 0);
  assert_int_equal(ax_poll_start(&p.poll, AX_POLL_READABLE, probe_cb), 0);
  close(fds[0]);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(p.calls, 1);
  assert_int_equal(p.status, AX_EBADF);
  assert_int_equal(p.events, 0);
  assert_false(ax_is_active(&p.poll.handle));
  ax_close(&p.poll.handle, NULL);
  close(fds[1]);
  test_guard_close(&guard);
  test_loop_close(&loop);
}

/* epoll refuses a regular file (AX_EPERM), and the handle stays stopped;
 * poll(2) reports it always ready, as POSIX says. (kqueue reports a file
 * readable only before its end: not asked here.) */
static void test_poll_regular_file(void **state) {
  (void)state;
  ax_loop_t loop;
  struct probe p;
  char path[] = "/tmp/axle-poll-XXXXXX";
  test_loop_open(&loop);
  bool epoll = strcmp(ax_backend_name(&loop), "epoll") == 0;
  if (!epoll && strcmp(ax_backend_name(&loop), "poll") != 0) {
    test_loop_close(&loop);
    test_skip("a regular file's readiness is asked of epoll and poll(2) "
              "only");
  }
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  unlink(path);
  memset(&p, 0, sizeof(p));
  assert_int_equal(ax_poll_init(&loop, &p.poll, fd), 0);
  int err = ax_poll_start(&p.poll, AX_POLL_READABLE, probe_cb);
  if (epoll) {
    assert_int_equal(err, AX_EPERM);
    assert_false(ax_is_active(&p.poll.handle));
  } else {
    assert_int_equal(err, 0);
    assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
    assert_int_equal(p.calls, 1);
    assert_int_equal(p.events, AX_POLL_READABLE);
  }
  ax_close(&p.poll.handle, NULL);
  close(fd);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_poll_pipe),
      cmocka_unit_test(test_poll_not_open),
      cmocka_unit_test(test_poll_closed_under_handle),
      cmocka_unit_test(test_poll_regular_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
