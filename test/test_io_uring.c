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
 * - a poll, a receive and an accept that end while the submission queue
 *   is full and the kernel refuses the submit that would make room: each
 *   is armed again later, hears its next event once, and the loop does
 *   not spin while the kernel refuses (also with no memory for the ready
 *   list);
 * - file system requests run by the ring, not the pool: each operation's
 *   answer and errors, reads at the file position and of a pipe, cancels
 *   before and after the kernel has them, thousands in flight at once,
 *   and AX_URING_FS=none sending them back to the pool;
 * - sendfiles that wait in the kernel's io-wq workers, 4 times as many as
 *   the loop's cap on those workers: the cap holds, and all complete.
 *
 * The programs of the suite run once per backend; these tests run in the
 * io_uring suite and skip elsewhere, and skip where io_uring cannot start.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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
    assert_true(ax__uring_held(st, e) <= DRY_BYTES / AX__URING_BUF_BYTES);
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
  assert_int_equal(st->bufs_free, st->nbufs);
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
  assert_int_equal(st->bufs_free, st->nbufs);
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

/* ---- A re-arm that finds the ring full ---- */

/*
 * The kernel refuses submissions for a while, from the moment a wait
 * brings completions: the wait's hook first fills what is left of the
 * submission queue with no-ops that post nothing, so that whatever the
 * dispatch of those completions queues must submit to make room, and the
 * next jam.refusals submits and enters fail with EBUSY. An operation that
 * ends in that dispatch cannot be armed again then; the backend must arm
 * it later, not drop it, and must not spin while the kernel refuses.
 */
enum jam_state { JAM_OFF, JAM_ARMED, JAM_ON };

static struct {
  enum jam_state state; /* Off, waiting for completions, or refusing. */
  int refusals;         /* Submits and enters still to refuse. */
  int refused;          /* Refused so far. */
  int filled;           /* No-ops the jam queued. */
  int lifted;           /* 1 once the refusals ran out. */
  bool no_memory;       /* Refuse axle's allocations too while refusing. */
} jam;

static bool jam_alloc_refuse(void) {
  return jam.state == JAM_ON && jam.no_memory;
}

static int jam_refuse(void) {
  if (jam.state != JAM_ON)
    return 0;
  jam.refused++;
  if (--jam.refusals == 0) {
    jam.state = JAM_OFF;
    jam.lifted = 1;
  }
  return -EBUSY;
}

static void jam_fill(struct io_uring *ring) {
  if (jam.state != JAM_ARMED || io_uring_cq_ready(ring) == 0)
    return;
  struct io_uring_sqe *sqe;
  while ((sqe = io_uring_get_sqe(ring)) != NULL) {
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, ax__uring_data(0, 0, AX__URING_IGNORE));
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    jam.filled++;
  }
  jam.state = JAM_ON;
}

static int jam_wait(struct io_uring *ring, struct io_uring_cqe **cqe,
                    unsigned int wait_nr, struct __kernel_timespec *ts) {
  int err = jam_refuse();
  if (err != 0)
    return err;
  int ret = ax__uring_sys_default.submit_and_wait_timeout(ring, cqe, wait_nr,
                                                          ts);
  jam_fill(ring);
  return ret;
}

static int jam_get_events(struct io_uring *ring) {
  int err = jam_refuse();
  if (err != 0)
    return err;
  int ret = ax__uring_sys_default.submit_and_get_events(ring);
  jam_fill(ring);
  return ret;
}

/* Jam the ring after the next wait that brings completions. */
static void jam_start(int refusals) {
  memset(&jam, 0, sizeof(jam));
  jam.state = JAM_ARMED;
  jam.refusals = refusals;
  ax__uring_sys.submit_and_wait_timeout = jam_wait;
  ax__uring_sys.submit_and_get_events = jam_get_events;
  __atomic_store_n(&ax__alloc_refuse, jam_alloc_refuse, __ATOMIC_RELEASE);
}

/* Run until the refusals ran out; the iterations it took. */
static uint64_t jam_run_out(ax_loop_t *loop) {
  ax_metrics_t before, after;
  assert_int_equal(ax_loop_metrics(loop, &before), 0);
  tcp_run_until(loop, &jam.lifted, 1);
  assert_int_equal(ax_loop_metrics(loop, &after), 0);
  restore_syscalls();
  __atomic_store_n(&ax__alloc_refuse, NULL, __ATOMIC_RELEASE);
  assert_true(jam.filled > 0);
  return after.iterations - before.iterations;
}

/* A loop on a ring of 4 submission entries, quiet: nothing queued. */
static struct ax__uring *tiny_loop_open(ax_loop_t *loop) {
  uring_loop_open(loop);
  test_loop_close(loop);
  ax__uring_sys.queue_init_params = tiny_setup;
  test_loop_open(loop);
  restore_syscalls();
  struct ax__uring *st = uring_of(loop);
  assert_int_equal(st->ring.sq.ring_entries, 4);
  return st;
}

/* Let what the loop queued reach the kernel, and the completions of
 * setting up come back. */
static void uring_settle(ax_loop_t *loop) {
  for (int i = 0; i < 5; i++)
    assert_int_equal(ax_run(loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(io_uring_sq_ready(&uring_of(loop)->ring), 0);
}

/* The entry of a handle's descriptor. */
static struct ax__uring_fd *uring_entry(ax_loop_t *loop, ax_handle_t *handle,
                                        int *fd) {
  ax_os_fd_t os_fd;
  assert_int_equal(ax_fileno(handle, &os_fd), 0);
  *fd = os_fd;
  struct ax__uring_fd *e = ax__uring_find(uring_of(loop), os_fd);
  assert_non_null(e);
  return e;
}

enum { REARM_REFUSALS = 5 };

struct rearm_poll {
  ax_poll_t poll; /* Readable interest on fds[0]. */
  int fds[2];     /* A socket pair. */
  int calls;      /* Callbacks. */
  int empty;      /* Callbacks that found nothing to read. */
  size_t got;     /* Bytes read. */
};

static void rearm_poll_cb(ax_poll_t *poll, int status, int events) {
  struct rearm_poll *p = poll->handle.data;
  assert_int_equal(status, 0);
  assert_true(events & AX_POLL_READABLE);
  p->calls++;
  char buf[64];
  ssize_t n;
  size_t total = 0;
  while ((n = recv(p->fds[0], buf, sizeof(buf), MSG_DONTWAIT)) > 0)
    total += (size_t)n;
  if (total == 0)
    p->empty++;
  p->got += total;
}

/* Counts a writable socket's event and stops the poll, which would
 * otherwise hear it at every iteration. */
static void rearm_poll_writable_cb(ax_poll_t *poll, int status, int events) {
  struct rearm_poll *p = poll->handle.data;
  assert_int_equal(status, 0);
  assert_true(events & AX_POLL_WRITABLE);
  p->calls++;
  assert_int_equal(ax_poll_stop(poll), 0);
}

/* A poll handle on a socket pair's first end, started for reading, its
 * start in the kernel. */
static void rearm_poll_open(ax_loop_t *loop, struct rearm_poll *p) {
  memset(p, 0, sizeof(*p));
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p->fds), 0);
  assert_int_equal(ax_poll_init_socket(loop, &p->poll, p->fds[0]), 0);
  p->poll.handle.data = p;
  assert_int_equal(ax_poll_start(&p->poll, AX_POLL_READABLE, rearm_poll_cb), 0);
  uring_settle(loop);
}

/* Close the handle, the pair and the loop; no table scan may be left. */
static void rearm_poll_close(ax_loop_t *loop, struct rearm_poll *p) {
  ax_close(&p->poll.handle, NULL);
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), 0);
  close(p->fds[0]);
  close(p->fds[1]);
  assert_false(uring_of(loop)->rearm_scan);
  test_loop_close(loop);
}

/* An ax_poll_t's poll is one-shot: each delivery ends it. Its re-arm
 * meets a full queue whose submit the kernel refuses 5 times in a row:
 * the loop does not spin meanwhile (each iteration entered the kernel and
 * was refused), and once the kernel takes submissions the poll hears the
 * next byte, once. With no_memory, the ready list cannot grow to take the
 * re-arm either, and the table is searched instead. */
static void rearm_poll_run(bool no_memory) {
  ax_loop_t loop;
  struct ax__uring *st = tiny_loop_open(&loop);
  struct rearm_poll p;
  rearm_poll_open(&loop, &p);
  assert_int_equal(send(p.fds[1], "a", 1, 0), 1);
  jam_start(REARM_REFUSALS);
  jam.no_memory = no_memory;
  uint64_t iterations = jam_run_out(&loop);
  assert_int_equal(p.calls, 1);
  assert_true(st->rearms_late > 0);
  assert_true(iterations <= REARM_REFUSALS);
  assert_true(no_memory ? st->ready_cap == 0 : st->ready_cap > 0);
  assert_int_equal(send(p.fds[1], "b", 1, 0), 1);
  tcp_run_until(&loop, &p.calls, 2);
  for (int i = 0; i < 5; i++)
    assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(p.calls, 2);
  assert_int_equal(p.empty, 0);
  assert_int_equal(p.got, 2);
  rearm_poll_close(&loop, &p);
}

static void test_io_uring_rearm_poll_ring_full(void **state) {
  (void)state;
  rearm_poll_run(false);
}

static void test_io_uring_rearm_poll_no_memory(void **state) {
  (void)state;
  rearm_poll_run(true);
}

/* The jam, at once: the queue is filled and the next refusals submits
 * and enters are refused, without waiting for completions. */
static void jam_now(struct ax__uring *st, int refusals) {
  jam_start(refusals);
  jam.state = JAM_ON;
  struct io_uring_sqe *sqe;
  while ((sqe = io_uring_get_sqe(&st->ring)) != NULL) {
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, ax__uring_data(0, 0, AX__URING_IGNORE));
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    jam.filled++;
  }
}

/* A poll handle that waits for reading is told to wait for writing too
 * while the queue is full and the kernel refuses its submit: the update
 * cannot be queued then, and must not be lost (the poll would wait for
 * reading alone, and a socket that is only writable would never be
 * heard). It reaches the kernel once it takes submissions again. */
static void test_io_uring_rearm_poll_update_ring_full(void **state) {
  (void)state;
  ax_loop_t loop;
  struct ax__uring *st = tiny_loop_open(&loop);
  struct rearm_poll p;
  rearm_poll_open(&loop, &p);
  jam_now(st, REARM_REFUSALS);
  assert_int_equal(ax_poll_start(&p.poll, AX_POLL_READABLE | AX_POLL_WRITABLE,
                                 rearm_poll_writable_cb),
                   0);
  assert_true(st->rearms_late > 0);
  uint64_t iterations = jam_run_out(&loop);
  assert_true(iterations <= REARM_REFUSALS);
  tcp_run_until(&loop, &p.calls, 1);
  assert_int_equal(p.calls, 1);
  assert_int_equal(p.got, 0);
  rearm_poll_close(&loop, &p);
}

/* A reading connection's multishot receive ends (cancelled from inside,
 * as the backend does when the socket holds its share of the ring) and
 * its re-arm meets the jam: the bytes that arrive after it are read, each
 * once, in order. */
static void test_io_uring_rearm_recv_ring_full(void **state) {
  (void)state;
  enum { BYTES = 3000 };
  ax_loop_t loop;
  struct ax__uring *st = tiny_loop_open(&loop);
  struct tcp_pair pair;
  assert_int_equal(tcp_pair_open(&loop, &pair, "127.0.0.1"), 0);
  struct reader r;
  reader_start(&r, &pair.server.stream);
  uring_settle(&loop);
  int fd;
  struct ax__uring_fd *e = uring_entry(&loop, &pair.server.stream.handle, &fd);
  unsigned int kind = e->live & (1u << AX__URING_RECV) ? AX__URING_RECV
                                                       : AX__URING_RPOLL;
  assert_true(e->live & (1u << kind));
  ax__uring_cancel(st, e, fd, kind);
  jam_start(REARM_REFUSALS);
  (void)jam_run_out(&loop);
  assert_true(st->rearms_late > 0);
  assert_int_equal(r.got, 0);
  ax_write_t req;
  int counts[2] = {0, 0};
  char *data;
  write_pattern(&pair.client.stream, &req, BYTES, counts, &data);
  tcp_run_until_size(&loop, &r.got, BYTES);
  tcp_run_until(&loop, &counts[0], 1);
  for (int i = 0; i < 5; i++)
    assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(r.got, BYTES);
  assert_int_equal(r.ended, 0);
  assert_int_equal(counts[1], 0);
  tcp_pair_close(&pair);
  free(r.buf);
  free(data);
  test_loop_close(&loop);
}

/* A listener's multishot accept ends and its re-arm meets the jam: the
 * next client is accepted, once. */
static void test_io_uring_rearm_accept_ring_full(void **state) {
  (void)state;
  ax_loop_t loop;
  struct ax__uring *st = tiny_loop_open(&loop);
  ax_tcp_t listener;
  struct limit l = {0, 0};
  int port;
  assert_int_equal(tcp_test_listen(&loop, &listener, "127.0.0.1",
                                   limit_connection_cb, &port),
                   0);
  listener.stream.handle.data = &l;
  uring_settle(&loop);
  int fd;
  struct ax__uring_fd *e = uring_entry(&loop, &listener.stream.handle, &fd);
  assert_true(e->live & (1u << AX__URING_ACCEPT));
  ax__uring_cancel(st, e, fd, AX__URING_ACCEPT);
  jam_start(REARM_REFUSALS);
  (void)jam_run_out(&loop);
  assert_true(st->rearms_late > 0);
  struct sockaddr_storage addr;
  tcp_test_addr("127.0.0.1", port, &addr);
  int client = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(client >= 0);
  assert_int_equal(
      connect(client, (struct sockaddr *)&addr, sizeof(struct sockaddr_in)), 0);
  tcp_run_until(&loop, &l.accepted, 1);
  for (int i = 0; i < 5; i++)
    assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(l.accepted, 1);
  assert_int_equal(l.errors, 0);
  close(client);
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

/* ---- The buffer ring grows; stalled readers stay capped ---- */

/* The ring buffers the server socket of stream holds, counted along its
 * list (each at most once, every one a buffer the ring made). */
static unsigned int uring_held(ax_loop_t *loop, ax_stream_t *stream) {
  struct ax__uring *st = uring_of(loop);
  ax_os_fd_t fd;
  assert_int_equal(ax_fileno(&stream->handle, &fd), 0);
  struct ax__uring_fd *e = ax__uring_find(st, fd);
  assert_non_null(e);
  unsigned int held = 0;
  for (unsigned int b = e->u.recv.head; b != 0; b = st->bufs[b - 1].next) {
    assert_true(b <= st->nbufs);
    held++;
    assert_true(held <= st->nbufs);
  }
  assert_int_equal(held, ax__uring_held(st, e)); /* The head's count. */
  return held;
}

/* Skip where the ring of provided buffers is not used (before 6.0). */
static void uring_need_bufs(ax_loop_t *loop) {
  if (!uring_of(loop)->bufs_ok) {
    test_loop_close(loop);
    test_skip("no buffer ring on this kernel");
  }
}

enum { GROW_PAIRS = 150, GROW_BYTES = 32768 };

struct grow {
  struct tcp_pair pairs[GROW_PAIRS]; /* Clients write, servers read. */
  struct reader readers[GROW_PAIRS]; /* One per server. */
  ax_write_t writes[GROW_PAIRS];     /* One per client. */
  int counts[GROW_PAIRS][2];         /* Write callbacks, statuses. */
  char *data[GROW_PAIRS];            /* What each client wrote. */
};

/* 150 connections receive 32 KiB each at once, far more than the 64
 * buffers the ring starts with: it grows by doubling, never past its cap,
 * no socket holds more than its share, every byte arrives in order, and
 * every buffer is back in the ring once the sockets are closed. */
static void test_io_uring_buffer_ring_grows(void **state) {
  (void)state;
  ax_loop_t loop;
  uring_loop_open(&loop);
  uring_need_bufs(&loop);
  struct ax__uring *st = uring_of(&loop);
  assert_int_equal(st->nbufs, AX__URING_BUFS_MIN);
  assert_int_equal(st->bufs_free, AX__URING_BUFS_MIN);
  struct grow *g = calloc(1, sizeof(*g));
  assert_non_null(g);
  for (int i = 0; i < GROW_PAIRS; i++) {
    assert_int_equal(tcp_pair_open(&loop, &g->pairs[i], "127.0.0.1"), 0);
    reader_start(&g->readers[i], &g->pairs[i].server.stream);
  }
  assert_int_equal(st->grows, 0); /* Connecting received nothing. */
  for (int i = 0; i < GROW_PAIRS; i++)
    write_pattern(&g->pairs[i].client.stream, &g->writes[i], GROW_BYTES,
                  g->counts[i], &g->data[i]);
  for (int i = 0; i < GROW_PAIRS; i++) {
    tcp_run_until_size(&loop, &g->readers[i].got, GROW_BYTES);
    tcp_run_until(&loop, &g->counts[i][0], 1);
    assert_int_equal(g->counts[i][1], 0);
    assert_int_equal(g->readers[i].ended, 0);
    assert_true(uring_held(&loop, &g->pairs[i].server.stream) <=
                AX__URING_HELD_MAX);
  }
  assert_true(st->grows > 0);
  assert_true(st->nbufs > AX__URING_BUFS_MIN);
  assert_true(st->nbufs <= AX__URING_BUFS);
  assert_int_equal(st->nbufs & (st->nbufs - 1), 0); /* Doubled each time. */
  for (int i = 0; i < GROW_PAIRS; i++) {
    assert_int_equal(g->readers[i].got, GROW_BYTES);
    tcp_pair_close(&g->pairs[i]);
    free(g->readers[i].buf);
    free(g->data[i]);
  }
  uring_reap_orphans(&loop);
  assert_int_equal(st->bufs_free, st->nbufs);
  free(g);
  test_loop_close(&loop);
}

enum { STALL_PAIRS = 100, STALL_BYTES = 256 * 1024 };

struct stall {
  struct tcp_pair pairs[STALL_PAIRS]; /* Clients write, servers stall. */
  struct reader readers[STALL_PAIRS]; /* One per server. */
  ax_write_t writes[STALL_PAIRS];     /* One per client. */
  int counts[STALL_PAIRS][2];         /* Write callbacks, statuses. */
  char *data[STALL_PAIRS];            /* What each client wrote. */
  int stopped;                        /* Readers that stopped. */
};

static struct stall *stalling;

/* Read once, then stop, as a server does whose peer does not read what
 * it answers (the echo server's water marks). */
static void stall_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                          const ax_buf_t *buf) {
  reader_read_cb(stream, nread, buf);
  if (nread > 0) {
    assert_int_equal(ax_read_stop(stream), 0);
    stalling->stopped++;
  }
}

/* 100 readers stop after their first read while their peers go on
 * sending 256 KiB each: each holds at most AX__URING_HELD_MAX ring
 * buffers, the ring stays within its cap and accounts for every buffer,
 * and once they read again every byte arrives, in order. */
static void test_io_uring_stalled_readers_capped(void **state) {
  (void)state;
  ax_loop_t loop;
  uring_loop_open(&loop);
  uring_need_bufs(&loop);
  struct ax__uring *st = uring_of(&loop);
  struct stall *s = calloc(1, sizeof(*s));
  assert_non_null(s);
  stalling = s;
  for (int i = 0; i < STALL_PAIRS; i++) {
    ax_stream_t *server = &s->pairs[i].server.stream;
    assert_int_equal(tcp_pair_open(&loop, &s->pairs[i], "127.0.0.1"), 0);
    reader_start(&s->readers[i], server);
    assert_int_equal(ax_read_stop(server), 0);
    assert_int_equal(ax_read_start(server, reader_alloc_cb, stall_read_cb), 0);
    write_pattern(&s->pairs[i].client.stream, &s->writes[i], STALL_BYTES,
                  s->counts[i], &s->data[i]);
  }
  tcp_run_until(&loop, &s->stopped, STALL_PAIRS);
  /* Let the cancels land and what the kernel filled meanwhile arrive. */
  for (int i = 0; i < 20; i++)
    assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  unsigned int held = 0;
  for (int i = 0; i < STALL_PAIRS; i++) {
    unsigned int mine = uring_held(&loop, &s->pairs[i].server.stream);
    assert_true(mine <= AX__URING_HELD_MAX);
    held += mine;
  }
  assert_true(st->nbufs <= AX__URING_BUFS);
  assert_int_equal(held + st->bufs_free, st->nbufs);
  for (int i = 0; i < STALL_PAIRS; i++)
    assert_int_equal(ax_read_start(&s->pairs[i].server.stream, reader_alloc_cb,
                                   reader_read_cb),
                     0);
  for (int i = 0; i < STALL_PAIRS; i++) {
    tcp_run_until_size(&loop, &s->readers[i].got, STALL_BYTES);
    tcp_run_until(&loop, &s->counts[i][0], 1);
    assert_int_equal(s->counts[i][1], 0);
  }
  for (int i = 0; i < STALL_PAIRS; i++) {
    assert_int_equal(s->readers[i].got, STALL_BYTES);
    tcp_pair_close(&s->pairs[i]);
    free(s->readers[i].buf);
    free(s->data[i]);
  }
  uring_reap_orphans(&loop);
  assert_int_equal(st->bufs_free, st->nbufs);
  stalling = NULL;
  free(s);
  test_loop_close(&loop);
}

/* ---- File system requests on names, and ftruncate ---- */

/* The operations on names and ftruncate run natively with
 * AX_URING_FS=all, each where the kernel has its opcode; here each is run
 * once in the ring and once in the pool, on the same steps from the same
 * start, and the two must answer alike, errors included. */
enum { FS_NAMES_STEPS = 32 };

/* One run of the steps: each answer, and what the files looked like. */
struct fs_names_run {
  int64_t results[FS_NAMES_STEPS];
  int steps;
  uint64_t size_after_truncate; /* f's size after the ftruncate steps. */
  uint64_t dir_mode;            /* d's permission bits as mkdir made them. */
  char link_target[16];         /* What s points at. */
  uint64_t work_completed;      /* Requests the pool ran. */
  int native_steps;             /* Steps the policy sent to the ring. */
};

/* A loop on io_uring with AX_URING_FS=policy (NULL: unset, the default). */
static void fs_names_loop_open(ax_loop_t *loop, const char *policy) {
  if (policy != NULL)
    assert_int_equal(setenv("AX_URING_FS", policy, 1), 0);
  uring_loop_open(loop);
  assert_int_equal(unsetenv("AX_URING_FS"), 0);
}

/* Run one step, record its answer, and count it as native if the loop
 * sends its type to the ring. */
static void fs_names_step(ax_loop_t *loop, struct fs_call *c,
                          struct fs_names_run *run) {
  assert_true(run->steps < FS_NAMES_STEPS);
  if (uring_of(loop)->fs_native[c->req.fs_type])
    run->native_steps++;
  run->results[run->steps++] = fs_wait(loop, c);
  ax_fs_req_cleanup(&c->req);
}

/* The paths of the steps, in the place's directory. */
struct fs_names_paths {
  char d[128], d2[128], g[128], h[128], s[128], missing[128], deep[128];
};

static void fs_names_paths_make(const struct fs_place *p,
                                struct fs_names_paths *n) {
  snprintf(n->d, sizeof(n->d), "%s/d", p->dir);
  snprintf(n->d2, sizeof(n->d2), "%s/d/e", p->dir);
  snprintf(n->g, sizeof(n->g), "%s/g", p->dir);
  snprintf(n->h, sizeof(n->h), "%s/h", p->dir);
  snprintf(n->s, sizeof(n->s), "%s/s", p->dir);
  snprintf(n->missing, sizeof(n->missing), "%s/missing", p->dir);
  snprintf(n->deep, sizeof(n->deep), "%s/missing/x", p->dir);
}

/* mkdir, rename, link and symlink, each once right and once wrong. */
static void fs_names_make(ax_loop_t *loop, const struct fs_place *p,
                          const struct fs_names_paths *n,
                          struct fs_names_run *run) {
  struct fs_call c = {0};
  assert_int_equal(ax_fs_mkdir(loop, &c.req, n->d, 0750, fs_call_cb), 0);
  fs_names_step(loop, &c, run);
  struct stat st;
  assert_int_equal(stat(n->d, &st), 0);
  run->dir_mode = st.st_mode & 07777;
  assert_int_equal(ax_fs_mkdir(loop, &c.req, n->d, 0750, fs_call_cb), 0);
  fs_names_step(loop, &c, run);
  assert_int_equal(ax_fs_mkdir(loop, &c.req, n->deep, 0750, fs_call_cb), 0);
  fs_names_step(loop, &c, run);
  assert_int_equal(ax_fs_rename(loop, &c.req, p->file, n->g, fs_call_cb), 0);
  fs_names_step(loop, &c, run);
  assert_int_equal(ax_fs_rename(loop, &c.req, n->missing, n->h, fs_call_cb), 0);
  fs_names_step(loop, &c, run);
  assert_int_equal(ax_fs_rename(loop, &c.req, n->g, n->d, fs_call_cb), 0);
  fs_names_step(loop, &c, run);
  assert_int_equal(ax_fs_link(loop, &c.req, n->g, n->h, fs_call_cb), 0);
  fs_names_step(loop, &c, run);
  assert_int_equal(ax_fs_link(loop, &c.req, n->g, n->h, fs_call_cb), 0);
  fs_names_step(loop, &c, run);
  assert_int_equal(ax_fs_link(loop, &c.req, n->d, n->missing, fs_call_cb), 0);
  fs_names_step(loop, &c, run);
  assert_int_equal(ax_fs_symlink(loop, &c.req, "g", n->s, 0, fs_call_cb), 0);
  fs_names_step(loop, &c, run);
  assert_int_equal(ax_fs_symlink(loop, &c.req, "g", n->s, 0, fs_call_cb), 0);
  fs_names_step(loop, &c, run);
  ssize_t len = readlink(n->s, run->link_target, sizeof(run->link_target) - 1);
  assert_true(len > 0);
  run->link_target[len] = '\0';
}

/* ftruncate: shorter, longer, on a descriptor that cannot (read-only, a
 * pipe) and on one closed. */
static void fs_names_truncate(ax_loop_t *loop, const struct fs_names_paths *n,
                              struct fs_names_run *run) {
  struct fs_call c = {0};
  int rw = open(n->g, O_RDWR | O_CLOEXEC);
  int ro = open(n->g, O_RDONLY | O_CLOEXEC);
  int fds[2];
  assert_true(rw >= 0 && ro >= 0);
  assert_int_equal(pipe(fds), 0);
  const struct {
    int fd;
    int64_t len;
  } cases[] = {{rw, 3}, {rw, 1 << 20}, {rw, 7}, {ro, 1}, {fds[0], 0}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    assert_int_equal(
        ax_fs_ftruncate(loop, &c.req, cases[i].fd, cases[i].len, fs_call_cb),
        0);
    fs_names_step(loop, &c, run);
  }
  struct stat st;
  assert_int_equal(fstat(rw, &st), 0);
  run->size_after_truncate = (uint64_t)st.st_size;
  assert_int_equal(close(rw), 0);
  assert_int_equal(close(ro), 0);
  assert_int_equal(close(fds[0]), 0);
  assert_int_equal(close(fds[1]), 0);
  assert_int_equal(ax_fs_ftruncate(loop, &c.req, rw, 0, fs_call_cb), 0);
  fs_names_step(loop, &c, run);
}

/* unlink and rmdir, right and wrong, leaving the place as it was made. */
static void fs_names_remove(ax_loop_t *loop, const struct fs_place *p,
                            const struct fs_names_paths *n,
                            struct fs_names_run *run) {
  struct fs_call c = {0};
  assert_int_equal(mkdir(n->d2, 0700), 0);
  const struct {
    bool rmdir;
    const char *path;
  } cases[] = {{false, n->s}, {false, n->d}, {false, n->missing}, {true, n->g},
               {true, n->d},  {true, n->d2}, {true, n->d},        {true, n->d},
               {false, n->h}, {false, n->h}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    if (cases[i].rmdir)
      assert_int_equal(ax_fs_rmdir(loop, &c.req, cases[i].path, fs_call_cb), 0);
    else
      assert_int_equal(ax_fs_unlink(loop, &c.req, cases[i].path, fs_call_cb),
                       0);
    fs_names_step(loop, &c, run);
  }
  assert_int_equal(rename(n->g, p->file), 0);
}

static void fs_names_run(const char *policy, struct fs_names_run *run) {
  ax_loop_t loop;
  fs_names_loop_open(&loop, policy);
  struct fs_place place;
  fs_place_make(&place);
  struct fs_names_paths n;
  fs_names_paths_make(&place, &n);
  memset(run, 0, sizeof(*run));
  fs_names_make(&loop, &place, &n, run);
  fs_names_truncate(&loop, &n, run);
  fs_names_remove(&loop, &place, &n, run);
  ax_metrics_t metrics;
  assert_int_equal(ax_loop_metrics(&loop, &metrics), 0);
  run->work_completed = metrics.work_completed;
  assert_int_equal(uring_of(&loop)->fs_ops, 0);
  fs_place_remove(&place);
  test_loop_close(&loop);
}

static void test_io_uring_fs_names_as_pool(void **state) {
  (void)state;
  struct fs_names_run ring, pool, by_default;
  fs_names_run("all", &ring);
  fs_names_run("none", &pool);
  /* Each measured faster in the ring, so each runs there by default. */
  fs_names_run(NULL, &by_default);
  assert_int_equal(by_default.native_steps, ring.native_steps);
  /* mkdir, rename, link and symlink; ftruncate; unlink and rmdir. */
  static const int64_t want[] = {0, AX_EEXIST, AX_ENOENT, 0, AX_ENOENT,
                                 AX_EISDIR, 0, AX_EEXIST, AX_EPERM, 0,
                                 AX_EEXIST,
                                 /* ftruncate */
                                 0, 0, 0, AX_EINVAL, AX_EINVAL, AX_EBADF,
                                 /* unlink and rmdir */
                                 0, AX_EISDIR, AX_ENOENT, AX_ENOTDIR,
                                 AX_ENOTEMPTY, 0, 0, AX_ENOENT, 0, AX_ENOENT};
  enum { WANT = sizeof(want) / sizeof(want[0]) };
  assert_int_equal(ring.steps, WANT);
  assert_int_equal(pool.steps, WANT);
  for (int i = 0; i < WANT; i++) {
    if (ring.results[i] != want[i] || pool.results[i] != want[i])
      fail_msg("step %d: ring %lld, pool %lld, want %lld", i,
               (long long)ring.results[i], (long long)pool.results[i],
               (long long)want[i]);
  }
  assert_int_equal(ring.size_after_truncate, 7);
  assert_int_equal(pool.size_after_truncate, 7);
  assert_int_equal(ring.dir_mode, pool.dir_mode);
  assert_string_equal(ring.link_target, "g");
  assert_string_equal(pool.link_target, "g");
  /* Everything ran in the ring that the kernel has (all of it from Linux
   * 6.9), the rest in the pool; with "none", all in the pool. */
  assert_true(ring.native_steps >= WANT - 6);
  assert_int_equal(ring.work_completed, (uint64_t)(WANT - ring.native_steps));
  assert_int_equal(pool.native_steps, 0);
  assert_int_equal(pool.work_completed, WANT);
}

/* ---- sendfile as two splices through a pipe ---- */

/* The input of the sendfile cases: more bytes than a pipe holds, so that
 * a request takes many steps. */
enum { SF_BYTES = 3 * 1024 * 1024 + 123 };

static char sf_byte(int64_t i) {
  return (char)('a' + i * 7 % 26);
}

/* A directory with the input "in" and room for an output "out". */
struct sf_place {
  char dir[64];
  char in[96];
  char out[96];
};

static void sf_place_make(struct sf_place *p) {
  snprintf(p->dir, sizeof(p->dir), "/tmp/axle-uring-sf-XXXXXX");
  assert_non_null(mkdtemp(p->dir));
  snprintf(p->in, sizeof(p->in), "%s/in", p->dir);
  snprintf(p->out, sizeof(p->out), "%s/out", p->dir);
  char *bytes = malloc(SF_BYTES);
  assert_non_null(bytes);
  for (int64_t i = 0; i < SF_BYTES; i++)
    bytes[i] = sf_byte(i);
  int fd = open(p->in, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, bytes, SF_BYTES), SF_BYTES);
  assert_int_equal(close(fd), 0);
  free(bytes);
}

static void sf_place_remove(struct sf_place *p) {
  (void)unlink(p->out);
  assert_int_equal(unlink(p->in), 0);
  assert_int_equal(rmdir(p->dir), 0);
}

/* Whether the output holds exactly len bytes of the input from offset. */
static bool sf_out_matches(const struct sf_place *p, int64_t offset,
                           int64_t len) {
  int fd = open(p->out, O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  char *got = malloc(SF_BYTES + 1);
  assert_non_null(got);
  ssize_t n = read(fd, got, SF_BYTES + 1);
  assert_int_equal(close(fd), 0);
  bool same = n == len;
  for (int64_t i = 0; same && i < len; i++)
    same = got[i] == sf_byte(offset + i);
  free(got);
  return same;
}

/* What a case sends from, and to. */
enum sf_end {
  SF_FILE,     /* The input, or a new output file. */
  SF_APPEND,   /* An output opened for appending: splice refuses it. */
  SF_READONLY, /* An output opened for reading only. */
  SF_DIR,      /* The directory, as input. */
  SF_CLOSED,   /* A descriptor closed just before. */
};

struct sf_case {
  enum sf_end in, out;
  int64_t offset, len;
};

static const struct sf_case sf_cases[] = {
    {SF_FILE, SF_FILE, 0, SF_BYTES},
    {SF_FILE, SF_FILE, 1000, 70000},
    {SF_FILE, SF_FILE, SF_BYTES - 10, 100}, /* Past the end: short. */
    {SF_FILE, SF_FILE, SF_BYTES, 100},      /* At the end: 0. */
    {SF_FILE, SF_FILE, 5, 0},
    {SF_FILE, SF_APPEND, 7, 300000},
    {SF_FILE, SF_READONLY, 0, 10},
    {SF_DIR, SF_FILE, 0, 10},
    {SF_CLOSED, SF_FILE, 0, 10},
    {SF_FILE, SF_CLOSED, 0, 10},
};
enum { SF_CASES = sizeof(sf_cases) / sizeof(sf_cases[0]) };

/* Open a case's input, or its output as a new, empty file. */
static int sf_open_end(const struct sf_place *p, enum sf_end end, bool out) {
  int flags = O_RDONLY;
  if (out) {
    (void)unlink(p->out);
    flags |= O_CREAT;
  }
  if (out && end != SF_READONLY)
    flags = O_WRONLY | O_CREAT | (end == SF_APPEND ? O_APPEND : 0);
  int fd = open(end == SF_DIR ? p->dir
                : out         ? p->out
                              : p->in,
                flags | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  if (end == SF_CLOSED)
    assert_int_equal(close(fd), 0);
  return fd;
}

/* Each case's answer, and whether the output holds what it should. */
struct sf_run {
  int64_t results[SF_CASES];
  bool out_ok[SF_CASES];
  uint64_t work_completed;
};

static void sf_run(const char *policy, struct sf_run *run) {
  ax_loop_t loop;
  fs_names_loop_open(&loop, policy);
  struct sf_place place;
  sf_place_make(&place);
  for (int i = 0; i < SF_CASES; i++) {
    const struct sf_case *k = &sf_cases[i];
    int out = sf_open_end(&place, k->out, true);
    int in = sf_open_end(&place, k->in, false);
    struct fs_call c = {0};
    assert_int_equal(
        ax_fs_sendfile(&loop, &c.req, out, in, k->offset, k->len, fs_call_cb),
        0);
    run->results[i] = fs_wait(&loop, &c);
    ax_fs_req_cleanup(&c.req);
    int64_t sent = run->results[i] > 0 ? run->results[i] : 0;
    run->out_ok[i] = sf_out_matches(&place, k->offset, sent);
    if (k->in != SF_CLOSED)
      assert_int_equal(close(in), 0);
    if (k->out != SF_CLOSED)
      assert_int_equal(close(out), 0);
  }
  ax_metrics_t metrics;
  assert_int_equal(ax_loop_metrics(&loop, &metrics), 0);
  run->work_completed = metrics.work_completed;
  assert_int_equal(uring_of(&loop)->fs_ops, 0);
  assert_true(uring_of(&loop)->fs_npipes <= AX__URING_FS_PIPES);
  sf_place_remove(&place);
  test_loop_close(&loop);
}

/* Every case answers in the ring as in the pool, and writes the same. */
static void test_io_uring_fs_sendfile_as_pool(void **state) {
  (void)state;
  struct sf_run ring = {0}, pool = {0}, by_default = {0};
  sf_run("all", &ring);
  sf_run("none", &pool);
  sf_run(NULL, &by_default); /* Native by default, as it measured faster. */
  assert_int_equal(by_default.work_completed, 3);
  static const int64_t want[SF_CASES] = {SF_BYTES, 70000,   10,       0,
                                         0,        300000,  AX_EBADF, AX_EISDIR,
                                         AX_EBADF, AX_EBADF};
  for (int i = 0; i < SF_CASES; i++) {
    if (ring.results[i] != want[i] || pool.results[i] != want[i])
      fail_msg("case %d: ring %lld, pool %lld, want %lld", i,
               (long long)ring.results[i], (long long)pool.results[i],
               (long long)want[i]);
    if (!ring.out_ok[i] || !pool.out_ok[i])
      fail_msg("case %d: output in the ring %s, in the pool %s", i,
               ring.out_ok[i] ? "right" : "wrong",
               pool.out_ok[i] ? "right" : "wrong");
  }
  assert_int_equal(pool.work_completed, SF_CASES);
  /* The empty one, and the two the kernel cannot splice (appending, a
   * directory), went to the pool; the rest ran in the ring. */
  assert_int_equal(ring.work_completed, 3);
}

/* A sendfile to a pipe whose reader is gone: AX_EPIPE, and no SIGPIPE,
 * delivered or left pending, on the loop's thread. Its pipe, left with
 * bytes in it, is closed, not kept; the next request gets a clean one. */
static void test_io_uring_fs_sendfile_epipe(void **state) {
  (void)state;
  struct sigaction action;
  assert_int_equal(sigaction(SIGPIPE, NULL, &action), 0);
  assert_true(action.sa_handler == SIG_DFL);
  ax_loop_t loop;
  fs_names_loop_open(&loop, "all");
  struct sf_place place;
  sf_place_make(&place);
  int in = open(place.in, O_RDONLY | O_CLOEXEC);
  int fds[2];
  assert_true(in >= 0);
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(close(fds[0]), 0);
  struct fs_call c = {0};
  assert_int_equal(
      ax_fs_sendfile(&loop, &c.req, fds[1], in, 0, 4096, fs_call_cb), 0);
  assert_int_equal(fs_wait(&loop, &c), AX_EPIPE);
  ax_fs_req_cleanup(&c.req);
  assert_int_equal(uring_of(&loop)->fs_npipes, 0);
  sigset_t pending;
  assert_int_equal(sigpending(&pending), 0);
  assert_false(sigismember(&pending, SIGPIPE));
  int out = sf_open_end(&place, SF_FILE, true);
  assert_int_equal(ax_fs_sendfile(&loop, &c.req, out, in, 0, 4096, fs_call_cb),
                   0);
  assert_int_equal(fs_wait(&loop, &c), 4096);
  ax_fs_req_cleanup(&c.req);
  assert_true(sf_out_matches(&place, 0, 4096));
  assert_int_equal(uring_of(&loop)->fs_npipes, 1);
  ax_metrics_t metrics;
  assert_int_equal(ax_loop_metrics(&loop, &metrics), 0);
  assert_int_equal(metrics.work_completed, 0);
  assert_int_equal(close(out), 0);
  assert_int_equal(close(in), 0);
  assert_int_equal(close(fds[1]), 0);
  sf_place_remove(&place);
  test_loop_close(&loop);
}

static void sf_noop_work(ax_work_t *req) {
  (void)req;
}

static void sf_noop_after(ax_work_t *req, int status) {
  (void)req;
  assert_int_equal(status, 0);
}

/* Cancelled before the kernel has it: AX_ECANCELED, and its pipe kept.
 * With no descriptor left for a pipe, the pool runs it instead. */
static void test_io_uring_fs_sendfile_cancel_and_no_pipe(void **state) {
  (void)state;
  ax_loop_t loop;
  fs_names_loop_open(&loop, "all");
  struct sf_place place;
  sf_place_make(&place);
  int in = open(place.in, O_RDONLY | O_CLOEXEC);
  int out = sf_open_end(&place, SF_FILE, true);
  assert_true(in >= 0);
  struct fs_call c = {0};
  assert_int_equal(ax_fs_sendfile(&loop, &c.req, out, in, 0, 4096, fs_call_cb),
                   0);
  assert_int_equal(ax_cancel(&c.req.req), 0);
  assert_int_equal(fs_wait(&loop, &c), AX_ECANCELED);
  ax_fs_req_cleanup(&c.req);
  assert_int_equal(uring_of(&loop)->fs_npipes, 1);
  /* Start the loop's pool before the descriptors run out (its wakeup
   * needs one), then take every descriptor: the kept pipe first. */
  ax_work_t work;
  assert_int_equal(ax_queue_work(&loop, &work, sf_noop_work, sf_noop_after), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(ax_fs_sendfile(&loop, &c.req, out, in, 0, 100, fs_call_cb),
                   0);
  assert_int_equal(fs_wait(&loop, &c), 100);
  ax_fs_req_cleanup(&c.req);
  assert_int_equal(uring_of(&loop)->fs_npipes, 1);
  struct rlimit old;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
  struct rlimit tight = old;
  tight.rlim_cur = (rlim_t)lowest_free_fd();
  int kept[2];
  memcpy(kept, uring_of(&loop)->fs_pipes[0], sizeof(kept));
  uring_of(&loop)->fs_npipes = 0; /* The test closes it itself, below. */
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
  assert_int_equal(ax_fs_sendfile(&loop, &c.req, out, in, 100, 200, fs_call_cb),
                   0);
  assert_int_equal(fs_wait(&loop, &c), 200);
  ax_fs_req_cleanup(&c.req);
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
  assert_true(sf_out_matches(&place, 0, 300));
  ax_metrics_t metrics;
  assert_int_equal(ax_loop_metrics(&loop, &metrics), 0);
  assert_int_equal(metrics.work_completed, 2); /* The job, and the last. */
  assert_int_equal(close(kept[0]), 0);
  assert_int_equal(close(kept[1]), 0);
  assert_int_equal(close(out), 0);
  assert_int_equal(close(in), 0);
  sf_place_remove(&place);
  test_loop_close(&loop);
}

/* ---- The kernel's io-wq workers, capped ---- */

/* io-wq's limits for the calling thread: [0] bounded, [1] unbounded.
 * Zeros change nothing, and the kernel answers the limits in force. */
static void iowq_limits(ax_loop_t *loop, unsigned int limits[2]) {
  limits[0] = 0;
  limits[1] = 0;
  assert_int_equal(
      io_uring_register_iowq_max_workers(&uring_of(loop)->ring, limits), 0);
}

/* The process's io-wq workers now (threads named iou-wrk-TID). */
static unsigned int iowq_workers(void) {
  DIR *dir = opendir("/proc/self/task");
  assert_non_null(dir);
  unsigned int count = 0;
  struct dirent *d;
  while ((d = readdir(dir)) != NULL) {
    char path[300], comm[32] = "";
    snprintf(path, sizeof(path), "/proc/self/task/%s/comm", d->d_name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
      continue; /* ".", "..", or a thread that just left. */
    if (fgets(comm, sizeof(comm), f) != NULL &&
        strncmp(comm, "iou-wrk", 7) == 0)
      count++;
    fclose(f);
  }
  closedir(dir);
  return count;
}

/* Each sendfile of the test: twice what a pipe holds, into a pipe of its
 * own that the test reads only between iterations, so that each request's
 * last splice waits in an io-wq worker for the reader. */
enum { WIDE_BYTES = 2 * 65536, WIDE_STALL_ROUNDS = 200 };

struct wide {
  int n;                 /* Sendfiles. */
  struct fs_call *calls; /* One per sendfile. */
  int (*pipes)[2];       /* Each one's output: read end non-blocking. */
  size_t *got;           /* Bytes read from each. */
  int done;              /* Completed. */
  unsigned int peak;     /* The most io-wq workers seen. */
};

static int64_t wide_offset(int i) {
  return (int64_t)i * 4096 % (SF_BYTES - WIDE_BYTES);
}

static void wide_cb(ax_fs_t *req) {
  fs_call_cb(req);
}

/* Read what each pipe holds, checking it is the input at its offset. */
static void wide_read(struct wide *w) {
  static char buf[65536];
  for (int i = 0; i < w->n; i++) {
    ssize_t got;
    while ((got = read(w->pipes[i][0], buf, sizeof(buf))) > 0) {
      for (ssize_t k = 0; k < got; k++)
        assert_int_equal(buf[k],
                         sf_byte(wide_offset(i) + (int64_t)w->got[i] + k));
      w->got[i] += (size_t)got;
    }
    assert_true(got < 0 && errno == EAGAIN);
  }
}

/* 4 times the cap, as descriptors allow: each request takes 4 (its
 * output pipe, and the loop's pipe for its splices). */
static int wide_count(unsigned int cap) {
  struct rlimit limit;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &limit), 0);
  unsigned long want = 4ul * cap;
  if (limit.rlim_cur < 4 * want + 64 && limit.rlim_max != limit.rlim_cur) {
    limit.rlim_cur = limit.rlim_max < 4 * want + 64 ? limit.rlim_max
                                                    : 4 * want + 64;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &limit), 0);
  }
  if (limit.rlim_cur < 4 * want + 64)
    want = (limit.rlim_cur - 64) / 4;
  if (want <= cap)
    test_skip("too few descriptors for more sendfiles than the cap");
  return (int)want;
}

static void wide_open(struct wide *w, int n) {
  w->n = n;
  w->calls = calloc((size_t)n, sizeof(*w->calls));
  w->pipes = calloc((size_t)n, sizeof(*w->pipes));
  w->got = calloc((size_t)n, sizeof(*w->got));
  assert_true(w->calls != NULL && w->pipes != NULL && w->got != NULL);
  for (int i = 0; i < n; i++) {
    assert_int_equal(pipe2(w->pipes[i], O_CLOEXEC), 0);
    assert_int_equal(fcntl(w->pipes[i][0], F_SETFL, O_NONBLOCK), 0);
  }
}

static void wide_close(struct wide *w) {
  for (int i = 0; i < w->n; i++) {
    assert_int_equal(close(w->pipes[i][0]), 0);
    assert_int_equal(close(w->pipes[i][1]), 0);
  }
  free(w->calls);
  free(w->pipes);
  free(w->got);
}

/* The loop caps the kernel's unbounded io-wq workers at 4 per CPU, and a
 * sendfile's splices run there. 4 times as many sendfiles as the cap,
 * each into a pipe that fills, so that each holds its worker until the
 * test reads: the process never has more workers than the two caps
 * allow (without the cap, one per request), and every request completes,
 * whole, with the right bytes. */
static void test_io_uring_fs_sendfile_over_iowq_cap(void **state) {
  (void)state;
  int n = wide_count(4 * ax_available_parallelism());
  ax_loop_t loop;
  fs_names_loop_open(&loop, "all");
  struct sf_place place;
  sf_place_make(&place);
  int in = open(place.in, O_RDONLY | O_CLOEXEC);
  assert_true(in >= 0);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0); /* The thread's io-wq. */
  unsigned int limits[2];
  iowq_limits(&loop, limits);
  assert_int_equal(limits[1], 4 * ax_available_parallelism());
  struct wide w = {0};
  wide_open(&w, n);
  for (int i = 0; i < w.n; i++)
    assert_int_equal(ax_fs_sendfile(&loop, &w.calls[i].req, w.pipes[i][1], in,
                                    wide_offset(i), WIDE_BYTES, wide_cb),
                     0);
  uint64_t start_ns = ax_hrtime();
  for (int round = 0;; round++) {
    assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
    unsigned int workers = iowq_workers();
    if (workers > w.peak)
      w.peak = workers;
    /* Read nothing at first: every request that gets a worker fills its
     * pipe and waits there (without the cap, the kernel adds a worker
     * for the next each time one waits). */
    if (round >= WIDE_STALL_ROUNDS)
      wide_read(&w);
    w.done = 0;
    for (int i = 0; i < w.n; i++)
      w.done += w.calls[i].calls;
    if (w.done == w.n)
      break;
    if (ax_hrtime() - start_ns > (uint64_t)TCP_TEST_WAIT_MS * 1000000u)
      fail_msg("%d of %d sendfiles done", w.done, w.n);
    struct timespec nap = {0, 1000000};
    nanosleep(&nap, NULL);
  }
  wide_read(&w);
  for (int i = 0; i < w.n; i++) {
    assert_int_equal(w.calls[i].calls, 1);
    assert_int_equal(w.calls[i].req.result, WIDE_BYTES);
    assert_int_equal(w.got[i], WIDE_BYTES);
    ax_fs_req_cleanup(&w.calls[i].req);
  }
  print_message("%d sendfiles, io-wq caps %u and %u, at most %u workers\n", w.n,
                limits[0], limits[1], w.peak);
  assert_true(w.peak <= limits[0] + limits[1]);
  ax_metrics_t metrics;
  assert_int_equal(ax_loop_metrics(&loop, &metrics), 0);
  assert_int_equal(metrics.work_completed, 0); /* All in the ring. */
  wide_close(&w);
  assert_int_equal(close(in), 0);
  sf_place_remove(&place);
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
      cmocka_unit_test(test_io_uring_rearm_poll_ring_full),
      cmocka_unit_test(test_io_uring_rearm_poll_no_memory),
      cmocka_unit_test(test_io_uring_rearm_poll_update_ring_full),
      cmocka_unit_test(test_io_uring_rearm_recv_ring_full),
      cmocka_unit_test(test_io_uring_rearm_accept_ring_full),
      cmocka_unit_test(test_io_uring_fs_native),
      cmocka_unit_test(test_io_uring_fs_read_pipe),
      cmocka_unit_test(test_io_uring_fs_cancel),
      cmocka_unit_test(test_io_uring_fs_many_in_flight),
      cmocka_unit_test(test_io_uring_fs_policy_none),
      cmocka_unit_test(test_io_uring_buffer_ring_grows),
      cmocka_unit_test(test_io_uring_stalled_readers_capped),
      cmocka_unit_test(test_io_uring_fs_names_as_pool),
      cmocka_unit_test(test_io_uring_fs_sendfile_as_pool),
      cmocka_unit_test(test_io_uring_fs_sendfile_epipe),
      cmocka_unit_test(test_io_uring_fs_sendfile_cancel_and_no_pipe),
      cmocka_unit_test(test_io_uring_fs_sendfile_over_iowq_cap),
  };
  return cmocka_run_group_tests(tests, pool_locks_setup, NULL);
}
