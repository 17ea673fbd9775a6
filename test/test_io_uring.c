/*
 * test_io_uring.c: the io_uring backend from inside (src/unix/io_uring.c,
 * io_uring-sock.c), where the rest of the suite only sees the API:
 *
 * - setup refused (ENOSYS, EPERM) and setup flags refused (EINVAL),
 *   injected through ax__uring_sys: the loop falls back visibly;
 * - the wait interrupted or failing, injected the same way;
 * - a ring far smaller than the work: more submissions than the SQ holds
 *   and more completions than the CQ holds in one wait;
 * - the shared buffer ring run dry by readers that take one byte at a time,
 *   then every byte delivered in order;
 * - a send the kernel cannot take whole (a short send), finished later;
 * - a stop racing a completion already collected in the same batch;
 * - sockets and polls closed with operations in flight;
 * - small try-writes copied into one send, closed while the kernel holds
 *   the copy, and failing after the peer's reset;
 * - accepting at the descriptor limit without a busy loop;
 * - file system requests run by the ring, not the pool: each operation's
 *   answer and errors, reads at the file position and of a pipe, cancels
 *   before and after the kernel has them, thousands in flight at once,
 *   and AX_URING_FS=none sending them back to the pool.
 *
 * The programs of the suite run once per backend; these tests run in the
 * io_uring suite and skip elsewhere, and skip where io_uring cannot start.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tcp.h"
#include "unix/io_uring.h"

static void restore_syscalls(void) {
  ax__uring_sys = ax__uring_sys_default;
}

/* Open the test's loop on io_uring, or skip where it does not run. */
static void uring_loop_open(ax_loop_t *loop) {
  const char *want = getenv("AX_BACKEND");
  if (want == NULL || strcmp(want, "io_uring") != 0)
    test_skip("the io_uring tests run in the io_uring suite");
  ax_loop_options_t options = {.backend = "io_uring",
                               .flags = AX_LOOP_BACKEND_STRICT};
  ax_loop_t probe;
  if (ax_loop_init_ex(&probe, &options) != 0)
    test_skip("io_uring cannot start here");
  assert_int_equal(ax_loop_close(&probe), 0);
  test_loop_open(loop);
}

static struct ax__uring *uring_of(ax_loop_t *loop) {
  return ax__uring_state(loop);
}

/* Run until the completions of closed sockets' cancelled operations are
 * reaped (each holds the loop's wait from being skipped). */
static void uring_reap_orphans(ax_loop_t *loop) {
  for (int i = 0; i < 100 && uring_of(loop)->orphans > 0; i++)
    assert_int_equal(ax_run(loop, AX_RUN_NOWAIT), 0);
}

/* ---- Setup refused ---- */

static int refuse_errno;
static int setup_calls;

static int refuse_setup(unsigned int entries, struct io_uring *ring,
                        struct io_uring_params *params) {
  (void)entries;
  (void)ring;
  (void)params;
  setup_calls++;
  return -refuse_errno;
}

/* A loop that asks for io_uring without STRICT gets epoll, and says why;
 * with STRICT, the error, and nothing left allocated. */
static void test_io_uring_fallback_when_refused(void **state) {
  (void)state;
  static const int refusals[] = {ENOSYS, EPERM};
  ax_loop_t loop, side;
  uring_loop_open(&loop);
  long allocations = test_live_allocations();
  ax__uring_sys.queue_init_params = refuse_setup;
  for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
    refuse_errno = refusals[i];
    setup_calls = 0;
    ax_loop_options_t options = {.backend = "io_uring", .flags = 0};
    assert_int_equal(ax_loop_init_ex(&side, &options), 0);
    assert_string_equal(ax_backend_name(&side), "epoll");
    assert_int_equal(ax_backend_fallback_error(&side), -refusals[i]);
    assert_int_equal(setup_calls, 1); /* Not retried with other flags. */
    assert_int_equal(ax_run(&side, AX_RUN_NOWAIT), 0);
    assert_int_equal(ax_loop_close(&side), 0);
    options.flags = AX_LOOP_BACKEND_STRICT;
    assert_int_equal(ax_loop_init_ex(&side, &options), -refusals[i]);
    assert_int_equal(test_live_allocations(), allocations);
  }
  restore_syscalls();
  test_loop_close(&loop);
}

/* A kernel that knows none of the setup flags (EINVAL) still gets a ring,
 * made without them. */
static int plain_setup(unsigned int entries, struct io_uring *ring,
                       struct io_uring_params *params) {
  setup_calls++;
  if (params->flags & ~(IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP))
    return -EINVAL;
  return ax__uring_sys_default.queue_init_params(entries, ring, params);
}

static void count_timer_cb(ax_timer_t *timer) {
  (*(int *)timer->handle.data)++;
}

static void test_io_uring_setup_flags_fall_back(void **state) {
  (void)state;
  ax_loop_t loop, side;
  uring_loop_open(&loop);
  ax__uring_sys.queue_init_params = plain_setup;
  setup_calls = 0;
  ax_loop_options_t options = {.backend = "io_uring",
                               .flags = AX_LOOP_BACKEND_STRICT};
  assert_int_equal(ax_loop_init_ex(&side, &options), 0);
  restore_syscalls();
  assert_int_equal(setup_calls, 3);
  ax_timer_t timer;
  int fired = 0;
  assert_int_equal(ax_timer_init(&side, &timer), 0);
  timer.handle.data = &fired;
  assert_int_equal(ax_timer_start(&timer, count_timer_cb, 1, 0), 0);
  assert_int_equal(ax_run(&side, AX_RUN_DEFAULT), 0);
  assert_int_equal(fired, 1);
  ax_close(&timer.handle, NULL);
  assert_int_equal(ax_run(&side, AX_RUN_DEFAULT), 0);
  assert_int_equal(ax_loop_close(&side), 0);
  test_loop_close(&loop);
}

/* ---- The wait interrupted, or failing ---- */

static int wait_failures; /* Waits still to fail. */
static int wait_errno;    /* With this. */
static int wait_sleep_ms; /* After sleeping this long (the time passes). */

static int inject_wait(struct io_uring *ring, struct io_uring_cqe **cqe,
                       unsigned int wait_nr, struct __kernel_timespec *ts) {
  if (wait_failures > 0) {
    wait_failures--;
    struct timespec delay = {0, (long)wait_sleep_ms * 1000000L};
    while (nanosleep(&delay, &delay) != 0 && errno == EINTR)
      continue;
    return -wait_errno;
  }
  return ax__uring_sys_default.submit_and_wait_timeout(ring, cqe, wait_nr, ts);
}

static void inject_wait_failures(int failures, int err, int sleep_ms) {
  wait_failures = failures;
  wait_errno = err;
  wait_sleep_ms = sleep_ms;
  ax__uring_sys.submit_and_wait_timeout = inject_wait;
}

struct deadline {
  ax_timer_t timer; /* The one deadline the loop waits for. */
  ax_check_t check; /* Runs after each wait. */
  int checks;       /* Check callbacks run. */
  uint64_t due_ms;  /* The timer's due-in after the first wait. */
  int fired;        /* Timer callbacks run. */
};

static void deadline_check_cb(ax_check_t *check) {
  struct deadline *d = ax_container_of(check, struct deadline, check);
  if (d->checks++ == 0)
    d->due_ms = ax_timer_get_due_in(&d->timer);
}

static void deadline_timer_cb(ax_timer_t *timer) {
  struct deadline *d = ax_container_of(timer, struct deadline, timer);
  d->fired++;
  ax_check_stop(&d->check);
}

/* Interrupted twice after some of the time passed, the wait still ends
 * with the timer due: the retries wait for what is left, no less. */
static void test_io_uring_wait_eintr_keeps_deadline(void **state) {
  (void)state;
  ax_loop_t loop;
  struct deadline d;
  memset(&d, 0, sizeof(d));
  uring_loop_open(&loop);
  assert_int_equal(ax_timer_init(&loop, &d.timer), 0);
  assert_int_equal(ax_check_init(&loop, &d.check), 0);
  assert_int_equal(ax_check_start(&d.check, deadline_check_cb), 0);
  ax_update_time(&loop);
  assert_int_equal(ax_timer_start(&d.timer, deadline_timer_cb, 60, 0), 0);
  inject_wait_failures(2, EINTR, 10);
  int result = ax_run(&loop, AX_RUN_DEFAULT);
  int left = wait_failures;
  restore_syscalls();
  ax_close(&d.timer.handle, NULL);
  ax_close(&d.check.handle, NULL);
  test_loop_close(&loop);
  assert_int_equal(result, 0);
  assert_int_equal(d.fired, 1);
  assert_int_equal(left, 0);
  assert_int_equal(d.due_ms, 0);
}

static void never_fired_cb(ax_timer_t *timer) {
  (void)timer;
  fail_msg("the loop kept running after its wait broke");
}

/* A wait that fails for good ends ax_run() with the error; the loop stays
 * intact. */
static void test_io_uring_wait_failure_returns(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t timer;
  uring_loop_open(&loop);
  assert_int_equal(ax_timer_init(&loop, &timer), 0);
  assert_int_equal(ax_timer_start(&timer, never_fired_cb, 20000, 0), 0);
  inject_wait_failures(100, EBADF, 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), AX_EBADF);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), AX_EBADF);
  restore_syscalls();
  assert_true(ax_is_active(&timer.handle));
  ax_close(&timer.handle, NULL);
  test_loop_close(&loop);
}

/* ---- A ring smaller than the work ---- */

static int tiny_setup(unsigned int entries, struct io_uring *ring,
                      struct io_uring_params *params) {
  (void)entries;
  params->cq_entries = 8;
  return ax__uring_sys_default.queue_init_params(4, ring, params);
}

enum { TINY_POLLS = 64 };

struct tiny {
  ax_poll_t polls[TINY_POLLS]; /* Each on a writable socket. */
  int pairs[TINY_POLLS][2];    /* The sockets. */
  int calls[TINY_POLLS];       /* Callbacks of each. */
  int done;                    /* Polls called at least once. */
};

static void tiny_cb(ax_poll_t *poll, int status, int events) {
  struct tiny *t = poll->handle.data;
  int i = (int)(poll - t->polls);
  assert_int_equal(status, 0);
  assert_true(events & AX_POLL_WRITABLE);
  if (t->calls[i]++ == 0)
    t->done++;
  ax_poll_stop(poll);
}

/* 64 polls on a ring of 4 submission and 8 completion entries: the
 * submissions overflow the SQ (submitted early), the completions overflow
 * the CQ (kept by the kernel for the next waits), and each poll is called
 * exactly once. */
static void test_io_uring_more_completions_than_the_ring(void **state) {
  (void)state;
  ax_loop_t loop;
  uring_loop_open(&loop);
  test_loop_close(&loop);
  ax__uring_sys.queue_init_params = tiny_setup;
  test_loop_open(&loop);
  restore_syscalls();
  assert_string_equal(ax_backend_name(&loop), "io_uring");
  assert_int_equal(uring_of(&loop)->ring.cq.ring_entries, 8);
  struct tiny *t = calloc(1, sizeof(*t));
  assert_non_null(t);
  for (int i = 0; i < TINY_POLLS; i++) {
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, t->pairs[i]), 0);
    assert_int_equal(ax_poll_init_socket(&loop, &t->polls[i], t->pairs[i][0]),
                     0);
    t->polls[i].handle.data = t;
    assert_int_equal(ax_poll_start(&t->polls[i], AX_POLL_WRITABLE, tiny_cb), 0);
  }
  tcp_run_until(&loop, &t->done, TINY_POLLS);
  for (int i = 0; i < TINY_POLLS; i++) {
    assert_int_equal(t->calls[i], 1);
    ax_close(&t->polls[i].handle, NULL);
  }
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  for (int i = 0; i < TINY_POLLS; i++) {
    close(t->pairs[i][0]);
    close(t->pairs[i][1]);
  }
  free(t);
  test_loop_close(&loop);
}

/* ---- Streams: readers and writers ---- */

/* A server side that collects what it reads, checking the pattern. */
struct reader {
  ax_stream_t *stream; /* The server side. */
  size_t got;          /* Bytes read. */
  size_t small_bytes;  /* The alloc size while small. */
  int ended;           /* EOF or errors read. */
  int reads;           /* Read callbacks with data. */
  char *buf;           /* Where reads go. */
};

enum { READER_BUF = 65536 };

static void reader_alloc_cb(ax_handle_t *handle, size_t suggested,
                            ax_buf_t *buf) {
  struct reader *r = handle->data;
  (void)suggested;
  *buf = ax_buf_init(r->buf, r->small_bytes ? r->small_bytes : READER_BUF);
}

static void reader_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                           const ax_buf_t *buf) {
  struct reader *r = stream->handle.data;
  if (nread < 0) {
    r->ended++;
    return;
  }
  for (ptrdiff_t i = 0; i < nread; i++)
    assert_int_equal(buf->base[i], tcp_pattern_byte(r->got + (size_t)i));
  r->got += (size_t)nread;
  if (nread > 0)
    r->reads++;
}

static void reader_start(struct reader *r, ax_stream_t *stream) {
  memset(r, 0, sizeof(*r));
  r->stream = stream;
  r->buf = malloc(READER_BUF);
  assert_non_null(r->buf);
  stream->handle.data = r;
  assert_int_equal(ax_read_start(stream, reader_alloc_cb, reader_read_cb), 0);
}

static void count_write_cb(ax_write_t *req, int status) {
  int *counts = req->req.data;
  counts[0]++;
  counts[1] = status;
}

/* Write len pattern bytes from a new buffer (*out, to free). */
static void write_pattern(ax_stream_t *stream, ax_write_t *req, size_t len,
                          int counts[2], char **out) {
  char *data = malloc(len);
  assert_non_null(data);
  tcp_pattern_fill(data, 0, len);
  ax_buf_t buf = ax_buf_init(data, len);
  req->req.data = counts;
  assert_int_equal(ax_write(req, stream, &buf, 1, count_write_cb), 0);
  *out = data;
}

enum { DRY_PAIRS = 70, DRY_BYTES = 65536 };

struct dry {
  struct tcp_pair pairs[DRY_PAIRS]; /* Clients write, servers read. */
  struct reader readers[DRY_PAIRS]; /* One per server. */
  ax_write_t writes[DRY_PAIRS];     /* One per client. */
  int counts[DRY_PAIRS][2];         /* Write callbacks, statuses. */
  char *data[DRY_PAIRS];            /* What each client wrote. */
};

static int dry_open(ax_loop_t *loop, struct dry *d) {
  for (int i = 0; i < DRY_PAIRS; i++) {
    assert_int_equal(tcp_pair_open(loop, &d->pairs[i], "127.0.0.1"), 0);
    reader_start(&d->readers[i], &d->pairs[i].server.stream);
    d->readers[i].small_bytes = 1;
    write_pattern(&d->pairs[i].client.stream, &d->writes[i], DRY_BYTES,
                  d->counts[i], &d->data[i]);
  }
  return 0;
}

/* 70 readers that take one byte at a time hold up to 16 ring buffers
 * each: more than the ring's 1,024. The receives that find it empty wait
 * by poll and read themselves; once the readers take whole buffers again,
 * every byte arrives, in order, and the ring is whole again. */
static void test_io_uring_buffer_ring_full(void **state) {
  (void)state;
  ax_loop_t loop;
  uring_loop_open(&loop);
  struct dry *d = calloc(1, sizeof(*d));
  assert_non_null(d);
  dry_open(&loop, d);
  struct ax__uring *st = uring_of(&loop);
  for (int i = 0; i < 200 && st->starvations == 0; i++)
    assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_true(st->starvations > 0);
  /* Each stalled reader holds a bounded number of ring buffers. */
  for (int i = 0; i < DRY_PAIRS; i++) {
    ax_os_fd_t fd;
    assert_int_equal(ax_fileno(&d->pairs[i].server.stream.handle, &fd), 0);
    struct ax__uring_fd *e = ax__uring_find(st, fd);
    assert_non_null(e);
    assert_true(e->u.recv.count <= DRY_BYTES / AX__URING_BUF_BYTES);
    d->readers[i].small_bytes = 0;
  }
  for (int i = 0; i < DRY_PAIRS; i++) {
    tcp_run_until_size(&loop, &d->readers[i].got, DRY_BYTES);
    tcp_run_until(&loop, &d->counts[i][0], 1);
    assert_int_equal(d->counts[i][1], 0);
  }
  for (int i = 0; i < DRY_PAIRS; i++) {
    tcp_pair_close(&d->pairs[i]);
    free(d->readers[i].buf);
    free(d->data[i]);
  }
  uring_reap_orphans(&loop);
  assert_int_equal(st->bufs_free, AX__URING_BUFS);
  free(d);
  test_loop_close(&loop);
}

enum { BIG = 8 * 1024 * 1024 };

/* Write BIG bytes from the client to a server that does not read, and
 * check that after a few iterations the write is still in flight. */
static void big_write_in_flight(ax_loop_t *loop, struct tcp_pair *pair,
                                ax_write_t *req, int counts[2], char **data) {
  write_pattern(&pair->client.stream, req, BIG, counts, data);
  for (int i = 0; i < 5; i++)
    assert_int_equal(ax_run(loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(counts[0], 0);
  assert_true(ax_stream_get_write_queue_size(&pair->client.stream) > 0);
}

/* A write of 8 MiB to a peer that does not read: the kernel takes part,
 * the rest stays in flight, and finishes once the peer reads. */
static void test_io_uring_short_send(void **state) {
  (void)state;
  ax_loop_t loop;
  uring_loop_open(&loop);
  struct tcp_pair pair;
  assert_int_equal(tcp_pair_open(&loop, &pair, "127.0.0.1"), 0);
  ax_write_t req;
  int counts[2] = {0, 0};
  char *data;
  big_write_in_flight(&loop, &pair, &req, counts, &data);
  struct reader r;
  reader_start(&r, &pair.server.stream);
  tcp_run_until_size(&loop, &r.got, BIG);
  tcp_run_until(&loop, &counts[0], 1);
  assert_int_equal(counts[1], 0);
  assert_int_equal(ax_stream_get_write_queue_size(&pair.client.stream), 0);
  tcp_pair_close(&pair);
  free(r.buf);
  free(data);
  test_loop_close(&loop);
}

/* ---- Stops racing completions ---- */

/* Two servers with data in the same wakeup: whichever reads first stops
 * the other, whose completion is already in the batch and must not be
 * delivered. Started again, the other gets every byte. */
struct race {
  struct tcp_pair pairs[2]; /* Both have data waiting. */
  struct reader readers[2]; /* Their readers. */
  int first;                /* The one that read first, or -1. */
  int late;                 /* Reads of the other after its stop. */
};

static struct race *racing;

static void race_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                         const ax_buf_t *buf) {
  int me = stream == &racing->pairs[0].server.stream ? 0 : 1;
  reader_read_cb(stream, nread, buf);
  if (racing->first < 0) {
    racing->first = me;
    assert_int_equal(ax_read_stop(&racing->pairs[1 - me].server.stream), 0);
  } else if (me != racing->first) {
    racing->late++;
  }
}

static void test_io_uring_stop_racing_completion(void **state) {
  (void)state;
  enum { BYTES = 1000 };
  ax_loop_t loop;
  uring_loop_open(&loop);
  struct race *r = calloc(1, sizeof(*r));
  assert_non_null(r);
  racing = r;
  r->first = -1;
  char data[BYTES];
  tcp_pattern_fill(data, 0, BYTES);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(tcp_pair_open(&loop, &r->pairs[i], "127.0.0.1"), 0);
    ax_buf_t buf = ax_buf_init(data, BYTES);
    assert_int_equal(ax_try_write(&r->pairs[i].client.stream, &buf, 1), BYTES);
  }
  /* Both receives start in one iteration and find data at once. */
  for (int i = 0; i < 2; i++) {
    reader_start(&r->readers[i], &r->pairs[i].server.stream);
    ax_read_stop(&r->pairs[i].server.stream);
    assert_int_equal(ax_read_start(&r->pairs[i].server.stream, reader_alloc_cb,
                                   race_read_cb),
                     0);
  }
  for (int i = 0; i < 20 && r->first < 0; i++)
    assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_true(r->first >= 0);
  for (int i = 0; i < 5; i++)
    assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(r->late, 0);
  int other = 1 - r->first;
  assert_int_equal(ax_read_start(&r->pairs[other].server.stream,
                                 reader_alloc_cb, reader_read_cb),
                   0);
  tcp_run_until_size(&loop, &r->readers[other].got, BYTES);
  for (int i = 0; i < 2; i++) {
    tcp_pair_close(&r->pairs[i]);
    free(r->readers[i].buf);
  }
  free(r);
  test_loop_close(&loop);
}

/* Two polls ready in the same wakeup: the first stops the other. */
struct poll_race {
  ax_poll_t polls[2]; /* Both on writable sockets. */
  int calls[2];       /* Callbacks of each. */
};

static void poll_race_cb(ax_poll_t *poll, int status, int events) {
  struct poll_race *p = poll->handle.data;
  int me = poll == &p->polls[0] ? 0 : 1;
  (void)status;
  (void)events;
  p->calls[me]++;
  ax_poll_stop(&p->polls[0]);
  ax_poll_stop(&p->polls[1]);
}

static void test_io_uring_poll_stop_racing_completion(void **state) {
  (void)state;
  ax_loop_t loop;
  uring_loop_open(&loop);
  struct poll_race p;
  memset(&p, 0, sizeof(p));
  int fds[2][2];
  for (int i = 0; i < 2; i++) {
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds[i]), 0);
    assert_int_equal(ax_poll_init_socket(&loop, &p.polls[i], fds[i][0]), 0);
    p.polls[i].handle.data = &p;
    assert_int_equal(ax_poll_start(&p.polls[i], AX_POLL_WRITABLE, poll_race_cb),
                     0);
  }
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(p.calls[0] + p.calls[1], 1);
  for (int i = 0; i < 2; i++) {
    ax_close(&p.polls[i].handle, NULL);
    close(fds[i][0]);
    close(fds[i][1]);
  }
  test_loop_close(&loop);
}

/* ---- Closed with operations in flight ---- */

/* A client reading, with 8 MiB in flight to a peer that does not read,
 * is closed: the write completes with AX_ECANCELED, the close callback
 * runs, nothing leaks, and the peer sees the connection end. */
static void test_io_uring_close_in_flight(void **state) {
  (void)state;
  ax_loop_t loop;
  uring_loop_open(&loop);
  struct tcp_pair pair;
  assert_int_equal(tcp_pair_open(&loop, &pair, "127.0.0.1"), 0);
  struct reader mine;
  reader_start(&mine, &pair.client.stream);
  ax_write_t req;
  int counts[2] = {0, 0};
  char *data;
  big_write_in_flight(&loop, &pair, &req, counts, &data);
  struct ax__uring *st = uring_of(&loop);
  assert_true(st->live_ops >= 2); /* The receive and the send. */
  assert_int_equal(ax_close(&pair.client.stream.handle, tcp_pair_client_closed),
                   0);
  struct reader peer;
  reader_start(&peer, &pair.server.stream);
  tcp_run_until(&loop, &counts[0], 1);
  assert_int_equal(counts[1], AX_ECANCELED);
  tcp_run_until(&loop, &peer.ended, 1);
  assert_true(peer.got < BIG);
  tcp_pair_close(&pair);
  uring_reap_orphans(&loop);
  assert_int_equal(st->orphans, 0);
  assert_int_equal(st->bufs_free, AX__URING_BUFS);
  free(mine.buf);
  free(peer.buf);
  free(data);
  test_loop_close(&loop);
}

/* ---- Copied try-writes ---- */

/* Small try-writes made in one go are copied into one send, which the
 * next wait hands to the kernel: each returns its length, the queue's size
 * counts them until the kernel has them, and the copy's buffer goes back
 * to the loop's free list. */
static void test_io_uring_try_write_copied(void **state) {
  (void)state;
  enum { MSG = 16, MSGS = 100 };
  ax_loop_t loop;
  uring_loop_open(&loop);
  struct tcp_pair pair;
  assert_int_equal(tcp_pair_open(&loop, &pair, "127.0.0.1"), 0);
  ax_stream_t *client = &pair.client.stream;
  struct ax__uring *st = uring_of(&loop);
  unsigned int live = st->live_ops;
  char data[MSG * MSGS];
  tcp_pattern_fill(data, 0, sizeof(data));
  for (int i = 0; i < MSGS; i++) {
    ax_buf_t buf = ax_buf_init(data + i * MSG, MSG);
    assert_int_equal(ax_try_write(client, &buf, 1), MSG);
  }
  assert_int_equal(st->live_ops, live + 1); /* One send for them all. */
  assert_int_equal(ax_stream_get_write_queue_size(client), sizeof(data));
  struct reader r;
  reader_start(&r, &pair.server.stream);
  tcp_run_until_size(&loop, &r.got, sizeof(data));
  assert_int_equal(ax_stream_get_write_queue_size(client), 0);
  assert_int_equal(st->copies_kept, 1);
  tcp_pair_close(&pair);
  free(r.buf);
  test_loop_close(&loop);
}

/* Fill the kernel's buffers of a socket behind axle's back, so that a
 * copied send stays in flight (a try-write of axle's would make the next
 * ones skip the copy). */
static void fill_behind(ax_stream_t *stream) {
  ax_os_fd_t fd;
  assert_int_equal(ax_fileno(&stream->handle, &fd), 0);
  static char chunk[65536];
  for (int i = 0; i < 100000; i++) {
    if (send(fd, chunk, sizeof(chunk), MSG_DONTWAIT) < 0) {
      assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
      return;
    }
  }
  fail_msg("the kernel took everything");
}

/* A copied send the kernel cannot take yet, and the stream closed: the
 * close callback runs, the kernel gives the copy back (cancelled), and
 * its slot and buffer are free: nothing leaks. */
static void test_io_uring_try_write_close_in_flight(void **state) {
  (void)state;
  ax_loop_t loop;
  uring_loop_open(&loop);
  struct tcp_pair pair;
  assert_int_equal(tcp_pair_open(&loop, &pair, "127.0.0.1"), 0);
  ax_stream_t *client = &pair.client.stream;
  fill_behind(client);
  char data[100];
  tcp_pattern_fill(data, 0, sizeof(data));
  ax_buf_t buf = ax_buf_init(data, sizeof(data));
  assert_int_equal(ax_try_write(client, &buf, 1), (int)sizeof(data));
  for (int i = 0; i < 5; i++)
    assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  /* In the kernel, waiting for room: no more copies, no jumping it. */
  assert_int_equal(ax_stream_get_write_queue_size(client), sizeof(data));
  assert_int_equal(ax_try_write(client, &buf, 1), AX_EAGAIN);
  struct ax__uring *st = uring_of(&loop);
  assert_int_equal(ax_close(&client->handle, tcp_pair_client_closed), 0);
  assert_true(st->orphan_slots != 0); /* The copy waits for the kernel. */
  tcp_run_until(&loop, &pair.closed, 1);
  uring_reap_orphans(&loop);
  assert_int_equal(st->orphans, 0);
  assert_int_equal(st->orphan_slots, 0);
  assert_int_equal(st->copies_kept, 1);
  tcp_pair_close(&pair);
  test_loop_close(&loop);
}

/* The peer resets the connection, then a try-write is copied: the copy's
 * send fails, and so does the write queued behind it, with the reset; the
 * next try-write says the error at once, and nothing crashes or leaks. */
static void test_io_uring_try_write_after_reset(void **state) {
  (void)state;
  ax_loop_t loop;
  uring_loop_open(&loop);
  struct tcp_pair pair;
  assert_int_equal(tcp_pair_open(&loop, &pair, "127.0.0.1"), 0);
  ax_stream_t *client = &pair.client.stream;
  assert_int_equal(ax_tcp_close_reset(&pair.server, tcp_pair_server_closed), 0);
  tcp_run_until(&loop, &pair.closed, 1);
  char data[100];
  tcp_pattern_fill(data, 0, sizeof(data));
  ax_buf_t buf = ax_buf_init(data, sizeof(data));
  assert_int_equal(ax_try_write(client, &buf, 1), (int)sizeof(data));
  ax_write_t req;
  int counts[2] = {0, 0};
  req.req.data = counts;
  assert_int_equal(ax_write(&req, client, &buf, 1, count_write_cb), 0);
  tcp_run_until(&loop, &counts[0], 1);
  assert_true(counts[1] == AX_ECONNRESET || counts[1] == AX_EPIPE);
  assert_int_equal(ax_stream_get_write_queue_size(client), 0);
  int n = ax_try_write(client, &buf, 1);
  assert_true(n == AX_ECONNRESET || n == AX_EPIPE);
  tcp_pair_close(&pair);
  test_loop_close(&loop);
}

/* A poll stopped and its socket closed at once: the kernel's poll let go
 * of the open file, so the peer sees the end. */
static void never_poll_cb(ax_poll_t *poll, int status, int events) {
  (void)poll;
  (void)status;
  (void)events;
  fail_msg("a stopped poll was called");
}

static void test_io_uring_poll_closed_in_flight(void **state) {
  (void)state;
  ax_loop_t loop;
  uring_loop_open(&loop);
  int fds[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ax_poll_t poll;
  assert_int_equal(ax_poll_init_socket(&loop, &poll, fds[0]), 0);
  assert_int_equal(ax_poll_start(&poll, AX_POLL_READABLE, never_poll_cb), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  ax_close(&poll.handle, NULL);
  close(fds[0]);
  char byte;
  assert_int_equal(recv(fds[1], &byte, 1, MSG_DONTWAIT), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  close(fds[1]);
  test_loop_close(&loop);
}

/* ---- At the descriptor limit ---- */

struct limit {
  int errors;   /* Connection callbacks with an error. */
  int accepted; /* Connections accepted (and closed). */
};

static void limit_closed(ax_handle_t *handle) {
  free(handle);
}

static void limit_connection_cb(ax_stream_t *server, int status) {
  struct limit *l = server->handle.data;
  if (status != 0) {
    l->errors++;
    return;
  }
  ax_tcp_t *conn = malloc(sizeof(*conn));
  assert_non_null(conn);
  assert_int_equal(ax_tcp_init(server->handle.loop, conn), 0);
  assert_int_equal(ax_accept(server, &conn->stream), 0);
  l->accepted++;
  ax_close(&conn->stream.handle, limit_closed);
}

static int lowest_free_fd(void) {
  int fd = open("/dev/null", O_RDONLY);
  assert_true(fd >= 0);
  close(fd);
  return fd;
}

/* Out of descriptors, the multishot accept ends with EMFILE: the listener
 * reports it once and pauses with back-off, and the loop does not spin on
 * failed accepts while the limit holds (a few iterations per back-off,
 * not thousands). */
static void test_io_uring_emfile_no_busy_loop(void **state) {
  (void)state;
  struct rlimit saved;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
  ax_loop_t loop;
  uring_loop_open(&loop);
  ax_tcp_t listener;
  struct limit l = {0, 0};
  int port;
  assert_int_equal(tcp_test_listen(&loop, &listener, "127.0.0.1",
                                   limit_connection_cb, &port),
                   0);
  listener.stream.handle.data = &l;
  struct sockaddr_storage addr;
  tcp_test_addr("127.0.0.1", port, &addr);
  /* Clients from outside the loop, made before the limit. */
  int clients[4];
  for (int i = 0; i < 4; i++) {
    clients[i] = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(clients[i] >= 0);
  }
  struct rlimit tight = saved;
  tight.rlim_cur = (rlim_t)lowest_free_fd();
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
  for (int i = 0; i < 4; i++)
    assert_int_equal(connect(clients[i], (struct sockaddr *)&addr,
                             sizeof(struct sockaddr_in)),
                     0);
  tcp_run_until(&loop, &l.errors, 1);
  ax_metrics_t before, after;
  assert_int_equal(ax_loop_metrics(&loop, &before), 0);
  ax_timer_t timer;
  int fired = 0;
  assert_int_equal(ax_timer_init(&loop, &timer), 0);
  timer.handle.data = &fired;
  assert_int_equal(ax_timer_start(&timer, count_timer_cb, 200, 0), 0);
  tcp_run_until(&loop, &fired, 1);
  assert_int_equal(ax_loop_metrics(&loop, &after), 0);
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
  /* Back-off doubles from 1 ms: about 8 pauses in 200 ms. */
  assert_true(after.iterations - before.iterations < 100);
  assert_int_equal(l.errors, 1);
  /* Descriptors are back: a new client is accepted. */
  int late = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(late >= 0);
  assert_int_equal(
      connect(late, (struct sockaddr *)&addr, sizeof(struct sockaddr_in)), 0);
  tcp_run_until(&loop, &l.accepted, 1);
  close(late);
  for (int i = 0; i < 4; i++)
    close(clients[i]);
  ax_close(&timer.handle, NULL);
  ax_close(&listener.stream.handle, NULL);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  test_loop_close(&loop);
}

/* ---- File system requests ---- */

/* One request's outcome. */
struct fs_call {
  ax_fs_t req;
  int calls;
};

static void fs_call_cb(ax_fs_t *req) {
  ax_container_of(req, struct fs_call, req)->calls++;
}

/* Run the loop until call completed; its result. */
static int64_t fs_wait(ax_loop_t *loop, struct fs_call *call) {
  for (int i = 0; i < 1000 && call->calls == 0; i++)
    assert_int_equal(ax_run(loop, AX_RUN_ONCE) >= 0, 1);
  assert_int_equal(call->calls, 1);
  call->calls = 0;
  return call->req.result;
}

/* A directory with a 10-byte file "f" and a symbolic link "l" to it. */
struct fs_place {
  char dir[64];
  char file[96];
  char link[96];
};

static void fs_place_make(struct fs_place *p) {
  snprintf(p->dir, sizeof(p->dir), "/tmp/axle-uring-fs-XXXXXX");
  assert_non_null(mkdtemp(p->dir));
  snprintf(p->file, sizeof(p->file), "%s/f", p->dir);
  snprintf(p->link, sizeof(p->link), "%s/l", p->dir);
  int fd = open(p->file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "0123456789", 10), 10);
  assert_int_equal(close(fd), 0);
  assert_int_equal(symlink("f", p->link), 0);
}

static void fs_place_remove(struct fs_place *p) {
  assert_int_equal(unlink(p->link), 0);
  assert_int_equal(unlink(p->file), 0);
  assert_int_equal(rmdir(p->dir), 0);
}

/* Every operation the ring runs, with its answer as the pool gives it,
 * and none of them through the pool. */
static void test_io_uring_fs_native(void **state) {
  (void)state;
  ax_loop_t loop;
  uring_loop_open(&loop);
  struct fs_place place;
  fs_place_make(&place);
  struct fs_call c = {0};
  assert_int_equal(
      ax_fs_open(&loop, &c.req, place.file, AX_FS_O_RDWR, 0, fs_call_cb), 0);
  int64_t fd = fs_wait(&loop, &c);
  assert_true(fd >= 0);
  assert_true(fcntl((int)fd, F_GETFD) & FD_CLOEXEC);
  ax_fs_req_cleanup(&c.req);
  /* At an offset, then twice at the file position, which moves. */
  char got[8];
  ax_buf_t buf = ax_buf_init(got, 4);
  assert_int_equal(
      ax_fs_read(&loop, &c.req, (ax_file_t)fd, &buf, 1, 6, fs_call_cb), 0);
  assert_int_equal(fs_wait(&loop, &c), 4);
  assert_memory_equal(got, "6789", 4);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(
        ax_fs_read(&loop, &c.req, (ax_file_t)fd, &buf, 1, -1, fs_call_cb), 0);
    assert_int_equal(fs_wait(&loop, &c), 4);
    assert_memory_equal(got, i == 0 ? "0123" : "4567", 4);
  }
  assert_int_equal(ax_fs_fstat(&loop, &c.req, (ax_file_t)fd, fs_call_cb), 0);
  assert_int_equal(fs_wait(&loop, &c), 0);
  assert_ptr_equal(c.req.ptr, &c.req.statbuf);
  assert_int_equal(c.req.statbuf.size, 10);
  assert_true(S_ISREG(c.req.statbuf.mode));
  struct stat real;
  assert_int_equal(stat(place.file, &real), 0);
  assert_int_equal(c.req.statbuf.ino, real.st_ino);
  assert_int_equal(c.req.statbuf.dev, real.st_dev);
  assert_int_equal(c.req.statbuf.mtim.sec, real.st_mtim.tv_sec);
  assert_int_equal(c.req.statbuf.mtim.nsec, real.st_mtim.tv_nsec);
  assert_int_equal(ax_fs_stat(&loop, &c.req, place.link, fs_call_cb), 0);
  assert_int_equal(fs_wait(&loop, &c), 0);
  assert_true(S_ISREG(c.req.statbuf.mode));
  ax_fs_req_cleanup(&c.req);
  assert_int_equal(ax_fs_lstat(&loop, &c.req, place.link, fs_call_cb), 0);
  assert_int_equal(fs_wait(&loop, &c), 0);
  assert_true(S_ISLNK(c.req.statbuf.mode));
  ax_fs_req_cleanup(&c.req);
  assert_int_equal(ax_fs_fsync(&loop, &c.req, (ax_file_t)fd, fs_call_cb), 0);
  assert_int_equal(fs_wait(&loop, &c), 0);
  assert_int_equal(ax_fs_fdatasync(&loop, &c.req, (ax_file_t)fd, fs_call_cb),
                   0);
  assert_int_equal(fs_wait(&loop, &c), 0);
  assert_int_equal(ax_fs_close(&loop, &c.req, (ax_file_t)fd, fs_call_cb), 0);
  assert_int_equal(fs_wait(&loop, &c), 0);
  /* Errors: the kernel's, as the pool reports them. */
  assert_int_equal(ax_fs_close(&loop, &c.req, (ax_file_t)fd, fs_call_cb), 0);
  assert_int_equal(fs_wait(&loop, &c), AX_EBADF);
  assert_int_equal(
      ax_fs_read(&loop, &c.req, (ax_file_t)fd, &buf, 1, 0, fs_call_cb), 0);
  assert_int_equal(fs_wait(&loop, &c), AX_EBADF);
  char missing[128];
  snprintf(missing, sizeof(missing), "%s/missing", place.dir);
  assert_int_equal(ax_fs_stat(&loop, &c.req, missing, fs_call_cb), 0);
  assert_int_equal(fs_wait(&loop, &c), AX_ENOENT);
  assert_null(c.req.ptr);
  ax_fs_req_cleanup(&c.req);
  assert_int_equal(
      ax_fs_open(&loop, &c.req, missing, AX_FS_O_RDONLY, 0, fs_call_cb), 0);
  assert_int_equal(fs_wait(&loop, &c), AX_ENOENT);
  ax_fs_req_cleanup(&c.req);
  ax_metrics_t metrics;
  assert_int_equal(ax_loop_metrics(&loop, &metrics), 0);
  assert_int_equal(metrics.work_completed, 0);
  assert_int_equal(uring_of(&loop)->fs_ops, 0);
  fs_place_remove(&place);
  test_loop_close(&loop);
}

/* A read of an empty pipe waits in the kernel, holding no thread, and
 * completes when the pipe is written. */
static void test_io_uring_fs_read_pipe(void **state) {
  (void)state;
  ax_loop_t loop;
  uring_loop_open(&loop);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  struct fs_call c = {0};
  char byte = 0;
  ax_buf_t buf = ax_buf_init(&byte, 1);
  assert_int_equal(ax_fs_read(&loop, &c.req, fds[0], &buf, 1, -1, fs_call_cb),
                   0);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(c.calls, 0);
  assert_int_equal(write(fds[1], "p", 1), 1);
  assert_int_equal(fs_wait(&loop, &c), 1);
  assert_int_equal(byte, 'p');
  assert_int_equal(close(fds[0]), 0);
  assert_int_equal(close(fds[1]), 0);
  test_loop_close(&loop);
}

/* Cancelled before the loop hands it to the kernel: AX_ECANCELED, once.
 * Once the kernel has it: AX_EBUSY, and its own answer. */
static void test_io_uring_fs_cancel(void **state) {
  (void)state;
  ax_loop_t loop;
  uring_loop_open(&loop);
  struct fs_call c = {0};
  assert_int_equal(ax_fs_stat(&loop, &c.req, "/", fs_call_cb), 0);
  assert_int_equal(ax_cancel(&c.req.req), 0);
  assert_int_equal(ax_cancel(&c.req.req), AX_EBUSY);
  assert_int_equal(fs_wait(&loop, &c), AX_ECANCELED);
  assert_null(c.req.ptr);
  ax_fs_req_cleanup(&c.req);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  char byte = 0;
  ax_buf_t buf = ax_buf_init(&byte, 1);
  assert_int_equal(ax_fs_read(&loop, &c.req, fds[0], &buf, 1, -1, fs_call_cb),
                   0);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(c.calls, 0);
  assert_int_equal(ax_cancel(&c.req.req), AX_EBUSY);
  assert_int_equal(write(fds[1], "q", 1), 1);
  assert_int_equal(fs_wait(&loop, &c), 1);
  assert_int_equal(byte, 'q');
  assert_int_equal(close(fds[0]), 0);
  assert_int_equal(close(fds[1]), 0);
  test_loop_close(&loop);
}

/* More requests at once than the submission queue holds and than one
 * page of slots: every one completes, once. */
enum { FS_MANY = 3000 };

static void test_io_uring_fs_many_in_flight(void **state) {
  (void)state;
  ax_loop_t loop;
  uring_loop_open(&loop);
  struct fs_call *calls = calloc(FS_MANY, sizeof(*calls));
  assert_non_null(calls);
  for (int i = 0; i < FS_MANY; i++)
    assert_int_equal(ax_fs_stat(&loop, &calls[i].req, "/", fs_call_cb), 0);
  assert_int_equal(uring_of(&loop)->fs_ops, FS_MANY);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  for (int i = 0; i < FS_MANY; i++) {
    assert_int_equal(calls[i].calls, 1);
    assert_int_equal(calls[i].req.result, 0);
    assert_true(S_ISDIR(calls[i].req.statbuf.mode));
    ax_fs_req_cleanup(&calls[i].req);
  }
  assert_int_equal(uring_of(&loop)->fs_ops, 0);
  free(calls);
  test_loop_close(&loop);
}

/* AX_URING_FS=none: the same request goes through the pool. */
static void test_io_uring_fs_policy_none(void **state) {
  (void)state;
  assert_int_equal(setenv("AX_URING_FS", "none", 1), 0);
  ax_loop_t loop;
  uring_loop_open(&loop);
  assert_int_equal(unsetenv("AX_URING_FS"), 0);
  struct fs_call c = {0};
  assert_int_equal(ax_fs_stat(&loop, &c.req, "/", fs_call_cb), 0);
  assert_int_equal(fs_wait(&loop, &c), 0);
  ax_fs_req_cleanup(&c.req);
  ax_metrics_t metrics;
  assert_int_equal(ax_loop_metrics(&loop, &metrics), 0);
  assert_int_equal(metrics.work_completed, 1);
  test_loop_close(&loop);
}

/* The pool makes its locks once per process and keeps them: have it make
 * them before any test counts what axle allocates. */
static int pool_locks_setup(void **state) {
  (void)state;
  return ax_threadpool_get_size() > 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_io_uring_fallback_when_refused),
      cmocka_unit_test(test_io_uring_setup_flags_fall_back),
      cmocka_unit_test(test_io_uring_wait_eintr_keeps_deadline),
      cmocka_unit_test(test_io_uring_wait_failure_returns),
      cmocka_unit_test(test_io_uring_more_completions_than_the_ring),
      cmocka_unit_test(test_io_uring_buffer_ring_full),
      cmocka_unit_test(test_io_uring_short_send),
      cmocka_unit_test(test_io_uring_stop_racing_completion),
      cmocka_unit_test(test_io_uring_poll_stop_racing_completion),
      cmocka_unit_test(test_io_uring_close_in_flight),
      cmocka_unit_test(test_io_uring_try_write_copied),
      cmocka_unit_test(test_io_uring_try_write_close_in_flight),
      cmocka_unit_test(test_io_uring_try_write_after_reset),
      cmocka_unit_test(test_io_uring_poll_closed_in_flight),
      cmocka_unit_test(test_io_uring_emfile_no_busy_loop),
      cmocka_unit_test(test_io_uring_fs_native),
      cmocka_unit_test(test_io_uring_fs_read_pipe),
      cmocka_unit_test(test_io_uring_fs_cancel),
      cmocka_unit_test(test_io_uring_fs_many_in_flight),
      cmocka_unit_test(test_io_uring_fs_policy_none),
  };
  return cmocka_run_group_tests(tests, pool_locks_setup, NULL);
}
