/*
 * test_backend.c: the backend contract (src/backend.h) and the Linux
 * backends behind it, seen from inside the library.
 *
 * - fd watchers (ax__io_t) on pipes and socketpairs: read and write
 *   readiness, stopping another watcher or itself from a callback, restarting
 *   from a callback, hundreds of descriptors at once, more ready descriptors
 *   than one wait delivers, a peer that goes away;
 * - the choice of backend and the fallback when the preferred one cannot
 *   start, by options and by the AX_BACKEND environment variable;
 * - system call failures injected through the tables of unix/internal.h and
 *   unix/linux.h: EINTR, a broken wait, EMFILE, ENOMEM, ENOSYS;
 * - the pending phase the core offers to deferred completions.
 *
 * Each test's own loop runs on the backend AX_BACKEND names (meson runs the
 * program once per backend); the backend-choice tests open further loops
 * beside it, and the tests of one backend's system call check
 * ax_backend_name() and skip on the other. A teardown puts the syscall
 * tables and AX_BACKEND back after each test, so a failed assertion cannot
 * leak an injected failure into the next test.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#include "backend.h"
#include "unix/internal.h"
#include "unix/linux.h"

/* The bound on every wait: a ref'd timer this long keeps io tests' loops
 * alive and fails them, rather than hang them, if an fd is never reported.
 * Never reached when the library works. */
enum { SAFETY_NET_MS = 10000 };

/* ---- Restoring what tests change ---- */

static char *saved_ax_backend; /* AX_BACKEND as meson set it, or NULL. */

static int save_environment(void **state) {
  (void)state;
  const char *value = getenv("AX_BACKEND");
  saved_ax_backend = value != NULL ? strdup(value) : NULL;
  return 0;
}

static void restore_ax_backend(void) {
  if (saved_ax_backend != NULL)
    setenv("AX_BACKEND", saved_ax_backend, 1);
  else
    unsetenv("AX_BACKEND");
}

static void restore_syscalls(void) {
  ax__sys = ax__sys_default;
  ax__linux_sys = ax__linux_sys_default;
}

/* Per-test teardown: also runs after a failed assertion. */
static int restore_all(void **state) {
  (void)state;
  restore_syscalls();
  restore_ax_backend();
  return 0;
}

static int free_environment(void **state) {
  (void)state;
  free(saved_ax_backend);
  return 0;
}

/* ---- A loop for fd watchers ---- */

/*
 * Watchers are not handles and do not keep a loop alive, so a referenced
 * timer does: ax_run(AX_RUN_ONCE) then blocks until an fd is ready (or the
 * timer fires, which fails the test), and AX_RUN_NOWAIT still polls.
 */
struct io_loop {
  ax_loop_t loop;   /* The loop under test. */
  ax_timer_t guard; /* Referenced safety net. */
};

static void guard_cb(ax_timer_t *timer) {
  (void)timer;
  fail_msg("no descriptor became ready within the safety net");
}

static void io_loop_open(struct io_loop *il) {
  test_loop_open(&il->loop);
  assert_int_equal(ax_timer_init(&il->loop, &il->guard), 0);
  assert_int_equal(ax_timer_start(&il->guard, guard_cb, SAFETY_NET_MS, 0), 0);
}

static void io_loop_close(struct io_loop *il) {
  assert_int_equal(ax_close(&il->guard.handle, NULL), 0);
  test_loop_close(&il->loop);
}

static void run_once(struct io_loop *il) {
  assert_int_equal(ax_run(&il->loop, AX_RUN_ONCE), 0);
}

static void run_nowait(struct io_loop *il) {
  assert_int_equal(ax_run(&il->loop, AX_RUN_NOWAIT), 0);
}

static void make_pipe(int fds[2]) {
  assert_int_equal(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
}

static void make_socketpair(int fds[2]) {
  assert_int_equal(
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds),
      0);
}

static void close_pair(int fds[2]) {
  for (int i = 0; i < 2; i++) {
    if (fds[i] >= 0)
      close(fds[i]);
    fds[i] = -1;
  }
}

static void write_byte(int fd) {
  assert_int_equal(write(fd, "x", 1), 1);
}

static void read_byte(int fd) {
  char buf[2];
  assert_int_equal(read(fd, buf, sizeof(buf)), 1);
}

/* A watcher that records what it was told and does nothing else. */
struct watcher {
  ax__io_t io;         /* The operation under test. */
  int calls;           /* Completions delivered. */
  unsigned int events; /* Events of the last one. */
};

static void watcher_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                       intptr_t result) {
  (void)op;
  unsigned int events = (unsigned int)result;
  (void)loop;
  struct watcher *w = ax_container_of(io, struct watcher, io);
  w->calls++;
  w->events = events;
}

static void watcher_start(ax_loop_t *loop, struct watcher *w, int fd,
                          ax__io_cb cb, unsigned int events) {
  memset(w, 0, sizeof(*w));
  ax__io_init(&w->io, cb, fd);
  assert_int_equal(ax__io_start(loop, &w->io, events), 0);
  assert_int_equal(w->io.events, events);
}

static void watcher_stop(ax_loop_t *loop, struct watcher *w) {
  assert_int_equal(ax__io_stop(loop, &w->io, AX__IO_READ | AX__IO_WRITE), 0);
  assert_int_equal(w->io.events, 0);
}

/* ---- Readiness ---- */

static void test_io_readable(void **state) {
  (void)state;
  struct io_loop il;
  int pipe_fds[2], pair[2];
  struct watcher from_pipe, from_pair;
  io_loop_open(&il);
  make_pipe(pipe_fds);
  make_socketpair(pair);
  watcher_start(&il.loop, &from_pipe, pipe_fds[0], watcher_cb, AX__IO_READ);
  watcher_start(&il.loop, &from_pair, pair[0], watcher_cb, AX__IO_READ);
  run_nowait(&il);
  assert_int_equal(from_pipe.calls + from_pair.calls, 0);

  write_byte(pipe_fds[1]);
  write_byte(pair[1]);
  /* Both were ready before the wait: one wait reports both. */
  run_once(&il);
  assert_int_equal(from_pipe.calls, 1);
  assert_int_equal(from_pipe.events, AX__IO_READ);
  assert_int_equal(from_pair.calls, 1);
  assert_int_equal(from_pair.events, AX__IO_READ);
  /* Multishot and level-triggered: unread data is reported again. */
  run_nowait(&il);
  assert_int_equal(from_pipe.calls, 2);
  assert_int_equal(from_pair.calls, 2);
  /* Once read, it is not. */
  read_byte(pipe_fds[0]);
  read_byte(pair[0]);
  run_nowait(&il);
  assert_int_equal(from_pipe.calls, 2);
  assert_int_equal(from_pair.calls, 2);

  watcher_stop(&il.loop, &from_pipe);
  watcher_stop(&il.loop, &from_pair);
  close_pair(pipe_fds);
  close_pair(pair);
  io_loop_close(&il);
}

static void test_io_writable(void **state) {
  (void)state;
  struct io_loop il;
  int pipe_fds[2], pair[2];
  struct watcher to_pipe, both;
  io_loop_open(&il);
  make_pipe(pipe_fds);
  make_socketpair(pair);
  watcher_start(&il.loop, &to_pipe, pipe_fds[1], watcher_cb, AX__IO_WRITE);
  watcher_start(&il.loop, &both, pair[0], watcher_cb,
                AX__IO_READ | AX__IO_WRITE);
  run_once(&il);
  assert_int_equal(to_pipe.calls, 1);
  assert_int_equal(to_pipe.events, AX__IO_WRITE);
  /* Nothing to read yet: only the write bit. */
  assert_int_equal(both.calls, 1);
  assert_int_equal(both.events, AX__IO_WRITE);

  write_byte(pair[1]);
  run_nowait(&il);
  assert_int_equal(both.calls, 2);
  assert_int_equal(both.events, AX__IO_READ | AX__IO_WRITE);

  /* Narrowing the interest leaves the rest registered. */
  assert_int_equal(ax__io_stop(&il.loop, &both.io, AX__IO_WRITE), 0);
  assert_int_equal(both.io.events, AX__IO_READ);
  run_nowait(&il);
  assert_int_equal(both.calls, 3);
  assert_int_equal(both.events, AX__IO_READ);

  watcher_stop(&il.loop, &to_pipe);
  watcher_stop(&il.loop, &both);
  close_pair(pipe_fds);
  close_pair(pair);
  io_loop_close(&il);
}

/* ---- Stopping and restarting from callbacks ---- */

/*
 * Two watchers, both readable before the wait, so their events arrive in one
 * batch. Whichever runs first stops the other and frees its memory, as the
 * contract allows: the backend must neither call it nor touch it (ASan would
 * see the latter).
 */
struct rival {
  ax__io_t io;           /* Watches one pipe's read end. */
  struct rivals *rivals; /* The pair it belongs to. */
  int index;             /* 0 or 1 in rivals->members. */
};

struct rivals {
  struct rival *members[2]; /* Heap-allocated; NULL once freed. */
  int calls;                /* Completions delivered to either. */
};

static void rival_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                     intptr_t result) {
  (void)op;
  unsigned int events = (unsigned int)result;
  (void)events;
  struct rival *self = ax_container_of(io, struct rival, io);
  struct rivals *rivals = self->rivals;
  rivals->calls++;
  struct rival *other = rivals->members[1 - self->index];
  if (other == NULL)
    return;
  ax__io_stop(loop, &other->io, AX__IO_READ);
  rivals->members[1 - self->index] = NULL;
  free(other);
}

static void test_io_stop_other_in_same_batch(void **state) {
  (void)state;
  struct io_loop il;
  struct rivals rivals = {{NULL, NULL}, 0};
  int pipes[2][2];
  io_loop_open(&il);
  for (int i = 0; i < 2; i++) {
    make_pipe(pipes[i]);
    struct rival *r = malloc(sizeof(*r));
    assert_non_null(r);
    r->rivals = &rivals;
    r->index = i;
    ax__io_init(&r->io, rival_cb, pipes[i][0]);
    assert_int_equal(ax__io_start(&il.loop, &r->io, AX__IO_READ), 0);
    rivals.members[i] = r;
    write_byte(pipes[i][1]);
  }
  run_once(&il);
  assert_int_equal(rivals.calls, 1);
  /* The survivor is still watched and still reported. */
  run_nowait(&il);
  assert_int_equal(rivals.calls, 2);
  for (int i = 0; i < 2; i++) {
    if (rivals.members[i] == NULL)
      continue;
    ax__io_stop(&il.loop, &rivals.members[i]->io, AX__IO_READ);
    free(rivals.members[i]);
  }
  close_pair(pipes[0]);
  close_pair(pipes[1]);
  io_loop_close(&il);
}

static void stop_self_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                         intptr_t result) {
  watcher_cb(loop, io, op, result);
  assert_int_equal(ax__io_stop(loop, io, AX__IO_READ), 0);
  assert_int_equal(io->events, 0);
}

static void test_io_stop_self_in_callback(void **state) {
  (void)state;
  struct io_loop il;
  int fds[2];
  struct watcher w;
  io_loop_open(&il);
  make_pipe(fds);
  watcher_start(&il.loop, &w, fds[0], stop_self_cb, AX__IO_READ);
  write_byte(fds[1]);
  run_once(&il);
  assert_int_equal(w.calls, 1);
  /* The byte is still unread, but nobody watches it any more. */
  run_nowait(&il);
  assert_int_equal(w.calls, 1);
  /* Started again from outside, it is reported again. */
  assert_int_equal(ax__io_start(&il.loop, &w.io, AX__IO_READ), 0);
  run_nowait(&il);
  assert_int_equal(w.calls, 2);
  assert_int_equal(w.io.events, 0);
  close_pair(fds);
  io_loop_close(&il);
}

/* Stop, then start again with the other interest bit: the new registration
 * must not be reported in the batch that is being dispatched. */
static void switch_to_write_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                               intptr_t result) {
  unsigned int events = (unsigned int)result;
  watcher_cb(loop, io, op, result);
  if (events & AX__IO_READ) {
    assert_int_equal(ax__io_stop(loop, io, AX__IO_READ), 0);
    assert_int_equal(ax__io_start(loop, io, AX__IO_WRITE), 0);
  }
}

/* Stop and start again with the same interest. */
static void restart_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                       intptr_t result) {
  watcher_cb(loop, io, op, result);
  assert_int_equal(ax__io_stop(loop, io, AX__IO_READ), 0);
  assert_int_equal(ax__io_start(loop, io, AX__IO_READ), 0);
}

static void test_io_restart_in_callback(void **state) {
  (void)state;
  struct io_loop il;
  int pipe_fds[2], pair[2];
  struct watcher same, switched;
  io_loop_open(&il);
  make_pipe(pipe_fds);
  make_socketpair(pair);
  watcher_start(&il.loop, &same, pipe_fds[0], restart_cb, AX__IO_READ);
  watcher_start(&il.loop, &switched, pair[0], switch_to_write_cb, AX__IO_READ);
  write_byte(pipe_fds[1]);
  write_byte(pair[1]);
  run_once(&il);
  assert_int_equal(same.calls, 1);
  assert_int_equal(switched.calls, 1);
  assert_int_equal(switched.events, AX__IO_READ);
  /* Next iteration: the same interest is reported again, the new one is
   * what the switched watcher gets. */
  run_nowait(&il);
  assert_int_equal(same.calls, 2);
  assert_int_equal(same.events, AX__IO_READ);
  assert_int_equal(switched.calls, 2);
  assert_int_equal(switched.events, AX__IO_WRITE);
  watcher_stop(&il.loop, &same);
  watcher_stop(&il.loop, &switched);
  close_pair(pipe_fds);
  close_pair(pair);
  io_loop_close(&il);
}

/* ---- Many descriptors ---- */

/*
 * More pipes than the poll backend's first table (64 slots), so that it grows
 * twice. Every third watcher is stopped before anything is ready, from
 * outside a dispatch: poll(2) then fills each hole with its last slot, and
 * the moved watchers must still be found. The others read their byte and
 * stop themselves during the dispatch (marked, then compacted). Finally the
 * stopped ones start again in fresh slots.
 */
enum { MANY_PIPES = 256, MANY_MAX_RUNS = 16 };

struct many;

struct many_pipe {
  ax__io_t io;       /* Watches fds[0]. */
  int fds[2];        /* The pipe. */
  int calls;         /* Completions delivered. */
  struct many *many; /* The set it belongs to. */
};

struct many {
  struct many_pipe pipes[MANY_PIPES]; /* Every pipe of the test. */
  int delivered;                      /* Completions over all of them. */
};

static void many_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                    intptr_t result) {
  (void)op;
  unsigned int events = (unsigned int)result;
  struct many_pipe *p = ax_container_of(io, struct many_pipe, io);
  assert_int_equal(events, AX__IO_READ);
  read_byte(p->fds[0]);
  p->calls++;
  p->many->delivered++;
  assert_int_equal(ax__io_stop(loop, io, AX__IO_READ), 0);
}

/* Whether the process may hold this many pipes (and a few descriptors
 * more), raising the soft limit if the hard one allows. */
static bool fd_limit_allows(int pipes) {
  struct rlimit limit;
  rlim_t need = 2 * (rlim_t)pipes + 64;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur >= need)
    return true;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < need)
    return false;
  limit.rlim_cur = need;
  return setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

/* Run until want completions in all, a bounded number of times. */
static void many_run_until(struct io_loop *il, struct many *m, int want) {
  for (int i = 0; i < MANY_MAX_RUNS && m->delivered < want; i++)
    run_once(il);
  assert_int_equal(m->delivered, want);
}

static void many_start(struct io_loop *il, struct many_pipe *p) {
  assert_int_equal(ax__io_start(&il->loop, &p->io, AX__IO_READ), 0);
}

static bool many_stopped_first(int i) {
  return i % 3 == 0;
}

static void test_io_many_pipes(void **state) {
  (void)state;
  struct io_loop il;
  struct many *m = calloc(1, sizeof(*m));
  assert_non_null(m);
  assert_true(fd_limit_allows(MANY_PIPES));
  io_loop_open(&il);
  int stopped = 0;
  for (int i = 0; i < MANY_PIPES; i++) {
    struct many_pipe *p = &m->pipes[i];
    p->many = m;
    make_pipe(p->fds);
    ax__io_init(&p->io, many_cb, p->fds[0]);
    many_start(&il, p);
  }
  for (int i = 0; i < MANY_PIPES; i++) {
    if (!many_stopped_first(i))
      continue;
    assert_int_equal(ax__io_stop(&il.loop, &m->pipes[i].io, AX__IO_READ), 0);
    stopped++;
  }
  for (int i = 0; i < MANY_PIPES; i++)
    write_byte(m->pipes[i].fds[1]);

  many_run_until(&il, m, MANY_PIPES - stopped);
  for (int i = 0; i < MANY_PIPES; i++)
    assert_int_equal(m->pipes[i].calls, many_stopped_first(i) ? 0 : 1);

  for (int i = 0; i < MANY_PIPES; i++) {
    if (many_stopped_first(i))
      many_start(&il, &m->pipes[i]);
  }
  many_run_until(&il, m, MANY_PIPES);
  /* Every byte was read once, every watcher stopped: nothing more. */
  run_nowait(&il);
  assert_int_equal(m->delivered, MANY_PIPES);
  for (int i = 0; i < MANY_PIPES; i++) {
    assert_int_equal(m->pipes[i].calls, 1);
    assert_int_equal(m->pipes[i].io.events, 0);
    close_pair(m->pipes[i].fds);
  }
  io_loop_close(&il);
  free(m);
}

/*
 * More descriptors ready than one wait may deliver: the poll phase stops at
 * AX__MAX_EVENTS_PER_WAIT, and the next one must go on with those left over
 * rather than serve the same first ones again. Nobody reads, so every pipe
 * stays ready: a backend that always starts from the same end starves the
 * rest for good. (epoll_wait(2) documents this round robin; the poll(2)
 * backend has to provide it itself.)
 */
enum { FLOOD_PIPES = AX__MAX_EVENTS_PER_WAIT + 64 };

struct flood_pipe {
  ax__io_t io;    /* Watches fds[0]; never drains it. */
  int fds[2];     /* The pipe, with one byte in it. */
  int calls;      /* Completions delivered. */
  int *delivered; /* The count over all pipes. */
};

static void flood_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                     intptr_t result) {
  (void)op;
  unsigned int events = (unsigned int)result;
  (void)loop;
  (void)events;
  struct flood_pipe *p = ax_container_of(io, struct flood_pipe, io);
  p->calls++;
  (*p->delivered)++;
}

static void flood_open(struct io_loop *il, struct flood_pipe *pipes,
                       int *delivered) {
  for (int i = 0; i < FLOOD_PIPES; i++) {
    struct flood_pipe *p = &pipes[i];
    p->delivered = delivered;
    make_pipe(p->fds);
    write_byte(p->fds[1]);
    ax__io_init(&p->io, flood_cb, p->fds[0]);
    assert_int_equal(ax__io_start(&il->loop, &p->io, AX__IO_READ), 0);
  }
}

static int flood_close(struct io_loop *il, struct flood_pipe *pipes) {
  int starved = 0;
  for (int i = 0; i < FLOOD_PIPES; i++) {
    if (pipes[i].calls == 0)
      starved++;
    ax__io_stop(&il->loop, &pipes[i].io, AX__IO_READ);
    close_pair(pipes[i].fds);
  }
  return starved;
}

/* libkqueue's kevent() returns at most this many events, whatever room it
 * is given (a kernel's kqueue fills the room). */
enum { LIBKQUEUE_MAX_EVENTS = 512 };

/* What one wait delivers when more is ready. kqueue here, on Linux, is
 * always libkqueue. */
static int flood_batch(ax_loop_t *loop) {
  if (strcmp(ax_backend_name(loop), "kqueue") == 0)
    return LIBKQUEUE_MAX_EVENTS;
  return AX__MAX_EVENTS_PER_WAIT;
}

static void test_io_more_ready_than_one_wait(void **state) {
  (void)state;
  struct io_loop il;
  int delivered = 0;
  if (!fd_limit_allows(FLOOD_PIPES))
    skip();
  struct flood_pipe *pipes = calloc(FLOOD_PIPES, sizeof(*pipes));
  assert_non_null(pipes);
  io_loop_open(&il);
  flood_open(&il, pipes, &delivered);
  int batch = flood_batch(&il.loop);
  /* Just enough waits for every pipe to be served once. */
  int waits = (FLOOD_PIPES + batch - 1) / batch;
  run_once(&il);
  int first_batch = delivered;
  for (int i = 1; i < waits; i++)
    run_once(&il);
  int all_batches = delivered;
  /* Clean up before judging, so that a failure leaves nothing open. */
  int starved = flood_close(&il, pipes);
  io_loop_close(&il);
  free(pipes);
  assert_int_equal(first_batch, batch);
  assert_int_equal(all_batches, waits * batch);
  assert_int_equal(starved, 0);
}

/* ---- A peer that goes away ---- */

/*
 * What the backends guarantee when the other end goes away: the reader is
 * told READ (its read then returns 0 or the error). epoll and poll(2) set
 * ERROR for a hang-up or a pending error; epoll asks for EPOLLRDHUP and so
 * must also report DISCONNECT; the poll(2) backend sticks to POSIX events,
 * without Linux's POLLRDHUP, so DISCONNECT is not required of it. kqueue's
 * EV_EOF on the read filter is the same for a hang-up and for the peer's
 * shutdown of its side: kqueue reports DISCONNECT, and ERROR only with a
 * pending error (docs/backends.md).
 */
static unsigned int peer_closed_bit(ax_loop_t *loop) {
  if (strcmp(ax_backend_name(loop), "kqueue") == 0)
    return AX__IO_DISCONNECT;
  return AX__IO_ERROR;
}

static void test_io_peer_closed(void **state) {
  (void)state;
  struct io_loop il;
  int pipe_fds[2], pair[2];
  struct watcher w;
  bool epoll = false;
  io_loop_open(&il);
  epoll = strcmp(ax_backend_name(&il.loop), "epoll") == 0;
  unsigned int hang_up = peer_closed_bit(&il.loop);

  /* A pipe whose writer closed: POLLHUP / EPOLLHUP. */
  make_pipe(pipe_fds);
  watcher_start(&il.loop, &w, pipe_fds[0], watcher_cb, AX__IO_READ);
  close(pipe_fds[1]);
  pipe_fds[1] = -1;
  run_once(&il);
  assert_int_equal(w.calls, 1);
  assert_true(w.events & AX__IO_READ);
  assert_true(w.events & hang_up);
  assert_false(w.events & AX__IO_WRITE);
  watcher_stop(&il.loop, &w);
  close_pair(pipe_fds);

  /* A pipe whose reader closed, watched for writing: EPOLLERR / POLLERR. */
  make_pipe(pipe_fds);
  watcher_start(&il.loop, &w, pipe_fds[1], watcher_cb, AX__IO_WRITE);
  close(pipe_fds[0]);
  pipe_fds[0] = -1;
  run_once(&il);
  assert_int_equal(w.calls, 1);
  assert_true(w.events & AX__IO_WRITE);
  assert_true(w.events & AX__IO_ERROR);
  assert_false(w.events & AX__IO_READ);
  watcher_stop(&il.loop, &w);
  close_pair(pipe_fds);

  /* A socket whose peer closed entirely. */
  make_socketpair(pair);
  watcher_start(&il.loop, &w, pair[0], watcher_cb, AX__IO_READ);
  close(pair[1]);
  pair[1] = -1;
  run_once(&il);
  assert_int_equal(w.calls, 1);
  assert_true(w.events & AX__IO_READ);
  assert_true(w.events & hang_up);
  if (epoll)
    assert_true(w.events & AX__IO_DISCONNECT);
  watcher_stop(&il.loop, &w);
  close_pair(pair);

  /* A socket whose peer only shut down writing: readable (EOF), no error. */
  make_socketpair(pair);
  watcher_start(&il.loop, &w, pair[0], watcher_cb, AX__IO_READ);
  assert_int_equal(shutdown(pair[1], SHUT_WR), 0);
  run_once(&il);
  assert_int_equal(w.calls, 1);
  assert_true(w.events & AX__IO_READ);
  assert_false(w.events & AX__IO_ERROR);
  if (epoll)
    assert_true(w.events & AX__IO_DISCONNECT);
  watcher_stop(&il.loop, &w);
  close_pair(pair);
  io_loop_close(&il);
}

/* ---- Choosing a backend ---- */

static int fail_epoll_create1(int flags) {
  (void)flags;
  errno = ENOSYS;
  return -1;
}

/* Init a second loop beside the test's own, which test_loop_open() opened
 * first so that the counting allocator is installed. */
static void side_loop_expect(ax_loop_t *loop, const ax_loop_options_t *options,
                             const char *backend, int fallback_error) {
  memset(loop, 0xa5, sizeof(*loop));
  assert_int_equal(ax_loop_init_ex(loop, options), 0);
  assert_string_equal(ax_backend_name(loop), backend);
  assert_int_equal(ax_backend_fallback_error(loop), fallback_error);
  /* A loop on the fallback backend runs. */
  assert_int_equal(ax_run(loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(ax_loop_close(loop), 0);
}

static void test_backend_fallback_when_epoll_refused(void **state) {
  (void)state;
  ax_loop_t loop, side;
  test_loop_open(&loop);
  long allocations = test_live_allocations();
  ax__linux_sys.epoll_create1 = fail_epoll_create1;

  /* The default path: no option, no environment. */
  unsetenv("AX_BACKEND");
  side_loop_expect(&side, NULL, "poll", AX_ENOSYS);
  /* Named by options, without STRICT: falls back too. */
  ax_loop_options_t options = {.backend = "epoll", .flags = 0};
  side_loop_expect(&side, &options, "poll", AX_ENOSYS);
  /* Named by the environment: falls back, with a line on stderr. */
  setenv("AX_BACKEND", "epoll", 1);
  side_loop_expect(&side, NULL, "poll", AX_ENOSYS);
  /* poll(2) asked for first is no fallback. */
  options.backend = "poll";
  options.flags = AX_LOOP_BACKEND_STRICT;
  side_loop_expect(&side, &options, "poll", 0);

  /* STRICT: the error of the backend named, and nothing left behind. */
  options.backend = "epoll";
  memset(&side, 0, sizeof(side));
  assert_int_equal(ax_loop_init_ex(&side, &options), AX_ENOSYS);
  assert_int_equal(test_live_allocations(), allocations);

  restore_syscalls();
  restore_ax_backend();
  test_loop_close(&loop);
}

static void test_backend_options_invalid(void **state) {
  (void)state;
  ax_loop_t loop, side;
  test_loop_open(&loop);
  ax_loop_options_t options = {.backend = "no-such-backend", .flags = 0};
  assert_int_equal(ax_loop_init_ex(&side, &options), AX_EINVAL);
  options.backend = NULL;
  options.flags = 1u << 1;
  assert_int_equal(ax_loop_init_ex(&side, &options), AX_EINVAL);
  options.flags = AX_LOOP_BACKEND_STRICT | (1u << 31);
  assert_int_equal(ax_loop_init_ex(&side, &options), AX_EINVAL);
  options.flags = 0;
  assert_int_equal(ax_loop_init_ex(NULL, &options), AX_EINVAL);
  /* Each backend of this platform can be named and starts as itself. */
  for (size_t i = 0; ax__backends[i] != NULL; i++) {
    options.backend = ax__backends[i]->name;
    options.flags = AX_LOOP_BACKEND_STRICT;
    side_loop_expect(&side, &options, ax__backends[i]->name, 0);
  }
  test_loop_close(&loop);
}

static void test_backend_env_unknown_uses_default(void **state) {
  (void)state;
  ax_loop_t loop, side;
  test_loop_open(&loop);
  /* An operator's typo: reported on stderr, not an error. */
  setenv("AX_BACKEND", "no-such-backend", 1);
  side_loop_expect(&side, NULL, ax__backends[0]->name, 0);
  /* Set but empty means unset. */
  setenv("AX_BACKEND", "", 1);
  side_loop_expect(&side, NULL, ax__backends[0]->name, 0);
  /* Options win over the environment. */
  ax_loop_options_t options = {.backend = "poll", .flags = 0};
  setenv("AX_BACKEND", "epoll", 1);
  side_loop_expect(&side, &options, "poll", 0);
  options.backend = "epoll";
  setenv("AX_BACKEND", "poll", 1);
  side_loop_expect(&side, &options, "epoll", 0);
  restore_ax_backend();
  test_loop_close(&loop);
}

/* ---- Injected failures of the wait ---- */

static int wait_calls;    /* Calls of the injected wait. */
static int wait_failures; /* Calls that still fail. */
static int wait_errno;    /* The errno they fail with. */
static int wait_sleep_ms; /* How long a failing call takes first. */

/* Fail the call: as a signal would, after some of the wait has passed. */
static int wait_fail(void) {
  wait_failures--;
  if (wait_sleep_ms > 0) {
    struct timespec delay = {0, (long)wait_sleep_ms * 1000000L};
    while (nanosleep(&delay, &delay) != 0 && errno == EINTR)
      continue;
  }
  errno = wait_errno;
  return -1;
}

static int inject_epoll_wait(int epfd, struct epoll_event *events,
                             int max_events, int timeout_ms) {
  wait_calls++;
  if (wait_failures > 0)
    return wait_fail();
  return ax__linux_sys_default.epoll_wait(epfd, events, max_events, timeout_ms);
}

static int inject_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms) {
  wait_calls++;
  if (wait_failures > 0)
    return wait_fail();
  return ax__sys_default.poll(fds, nfds, timeout_ms);
}

/* Make the next `failures` waits of the loop's backend fail with err. */
static void inject_wait_failures(ax_loop_t *loop, int failures, int err) {
  wait_calls = 0;
  wait_sleep_ms = 0;
  wait_failures = failures;
  wait_errno = err;
  if (strcmp(ax_backend_name(loop), "epoll") == 0)
    ax__linux_sys.epoll_wait = inject_epoll_wait;
  else
    ax__sys.poll = inject_poll;
}

/* Open the test's loop for a test that injects failures into its wait. The
 * injection reaches epoll and poll(2) through the tables this file
 * includes; kqueue's wait is injected through unix/bsd.h, which only
 * test_kqueue.c includes (test_kqueue_wait_failures), and io_uring's through
 * unix/io_uring.h (test_io_uring.c), so skip there. */
static void wait_loop_open(ax_loop_t *loop) {
  test_loop_open(loop);
  if (strcmp(ax_backend_name(loop), "kqueue") != 0 &&
      strcmp(ax_backend_name(loop), "io_uring") != 0)
    return;
  test_loop_close(loop);
  test_skip("kqueue's and io_uring's wait failures are injected by "
            "test_kqueue.c and test_io_uring.c, through tables this test "
            "does not include");
}

static void count_timer_cb(ax_timer_t *timer) {
  (*(int *)timer->handle.data)++;
}

static void test_backend_wait_retries_eintr(void **state) {
  (void)state;
  enum { INTERRUPTIONS = 3 };
  ax_loop_t loop;
  ax_timer_t timer;
  int fired = 0;
  wait_loop_open(&loop);
  assert_int_equal(ax_timer_init(&loop, &timer), 0);
  timer.handle.data = &fired;
  assert_int_equal(ax_timer_start(&timer, count_timer_cb, 20, 0), 0);
  inject_wait_failures(&loop, INTERRUPTIONS, EINTR);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(fired, 1);
  /* Every interruption was met and retried. */
  assert_int_equal(wait_failures, 0);
  assert_true(wait_calls > INTERRUPTIONS);
  restore_syscalls();
  ax_close(&timer.handle, NULL);
  test_loop_close(&loop);
}

/*
 * Interruptions that come after part of the wait has passed: the retried
 * wait must last the time that is left, no less, so that the loop wakes
 * with its timer due. A check handle runs right after the wait and sees the
 * loop's time as the wait left it. (A wait cut short would not fire the
 * timer early, the timer phase sees to that, but it costs an empty
 * iteration, and it breaks the backend contract.)
 */
struct deadline_probe {
  ax_timer_t timer;         /* The one deadline the loop waits for. */
  ax_check_t check;         /* Runs after each wait. */
  int checks;               /* Check callbacks run. */
  uint64_t first_due_in_ms; /* The timer's due-in after the first wait. */
  int fired;                /* Timer callbacks run. */
};

static void probe_check_cb(ax_check_t *check) {
  struct deadline_probe *p = ax_container_of(check, struct deadline_probe,
                                             check);
  if (p->checks++ == 0)
    p->first_due_in_ms = ax_timer_get_due_in(&p->timer);
}

static void probe_timer_cb(ax_timer_t *timer) {
  struct deadline_probe *p = ax_container_of(timer, struct deadline_probe,
                                             timer);
  p->fired++;
  ax_check_stop(&p->check);
}

static void test_backend_wait_eintr_keeps_deadline(void **state) {
  (void)state;
  enum { TIMEOUT_MS = 60, INTERRUPTIONS = 2, INTERRUPT_AFTER_MS = 10 };
  ax_loop_t loop;
  struct deadline_probe p;
  memset(&p, 0, sizeof(p));
  wait_loop_open(&loop);
  assert_int_equal(ax_timer_init(&loop, &p.timer), 0);
  assert_int_equal(ax_check_init(&loop, &p.check), 0);
  assert_int_equal(ax_check_start(&p.check, probe_check_cb), 0);
  ax_update_time(&loop);
  assert_int_equal(ax_timer_start(&p.timer, probe_timer_cb, TIMEOUT_MS, 0), 0);
  inject_wait_failures(&loop, INTERRUPTIONS, EINTR);
  wait_sleep_ms = INTERRUPT_AFTER_MS;
  int run_result = ax_run(&loop, AX_RUN_DEFAULT);
  int failures_left = wait_failures;
  /* Clean up before judging, so that a failure here leaves no open loop to
   * fail the tests after it. */
  restore_syscalls();
  ax_close(&p.timer.handle, NULL);
  ax_close(&p.check.handle, NULL);
  test_loop_close(&loop);
  assert_int_equal(run_result, 0);
  assert_int_equal(p.fired, 1);
  assert_int_equal(failures_left, 0);
  /* The first wait, interrupted twice, ended with the timer due. */
  assert_int_equal(p.first_due_in_ms, 0);
}

static void never_fired_cb(ax_timer_t *timer) {
  (void)timer;
  fail_msg("the loop kept running after its wait broke");
}

/*
 * A wait that keeps failing (its descriptor closed behind the loop's back)
 * must end ax_run() with the error. The injection stops after a bounded
 * number of failures, so a loop that spun instead would go on to wait for
 * real, meet the timer, and fail the test rather than hang it.
 */
static void test_backend_wait_failure_returns(void **state) {
  (void)state;
  enum { MAX_FAILURES = 100 };
  ax_loop_t loop;
  ax_timer_t timer;
  wait_loop_open(&loop);
  assert_int_equal(ax_timer_init(&loop, &timer), 0);
  assert_int_equal(ax_timer_start(&timer, never_fired_cb, SAFETY_NET_MS, 0), 0);
  inject_wait_failures(&loop, MAX_FAILURES, EBADF);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), AX_EBADF);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), AX_EBADF);
  assert_true(wait_failures > 0);
  /* The loop is intact: the timer still runs, and closes cleanly. */
  assert_true(ax_loop_alive(&loop));
  assert_true(ax_is_active(&timer.handle));
  restore_syscalls();
  ax_close(&timer.handle, NULL);
  test_loop_close(&loop);
}

/* ---- Injected failures of the wakeup channel and of registration ---- */

static int eventfd_made = -1;   /* The last eventfd the table created. */
static int eventfd_closed = -1; /* Set when that descriptor is closed. */

static int fail_eventfd(unsigned int initval, int flags) {
  (void)initval;
  (void)flags;
  errno = EMFILE;
  return -1;
}

static int record_eventfd(unsigned int initval, int flags) {
  eventfd_made = ax__linux_sys_default.eventfd(initval, flags);
  return eventfd_made;
}

static int record_close(int fd) {
  if (fd == eventfd_made)
    eventfd_closed = fd;
  return ax__sys_default.close(fd);
}

static int epoll_ctl_fail_op = -1; /* The op that fails with ENOMEM. */

static int inject_epoll_ctl(int epfd, int op, int fd,
                            struct epoll_event *event) {
  if (op == epoll_ctl_fail_op) {
    errno = ENOMEM;
    return -1;
  }
  return ax__linux_sys_default.epoll_ctl(epfd, op, fd, event);
}

static void async_count_cb(ax_async_t *async) {
  (*(int *)async->handle.data)++;
}

/* After a refused ax_async_init(), a working one, to show the loop is fine. */
static void async_works(ax_loop_t *loop) {
  ax_async_t async;
  int calls = 0;
  assert_int_equal(ax_async_init(loop, &async, async_count_cb), 0);
  async.handle.data = &calls;
  assert_int_equal(ax_async_send(&async), 0);
  assert_int_equal(ax_run(loop, AX_RUN_ONCE), 0);
  assert_int_equal(calls, 1);
  assert_int_equal(ax_close(&async.handle, NULL), 0);
  assert_int_equal(ax_run(loop, AX_RUN_NOWAIT), 0);
}

static void test_backend_eventfd_failure(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_async_t async;
  test_loop_open(&loop);
  long allocations = test_live_allocations();
  ax__linux_sys.eventfd = fail_eventfd;
  assert_int_equal(ax_async_init(&loop, &async, async_count_cb), AX_EMFILE);
  assert_int_equal(test_count_handles(&loop), 0);
  assert_false(ax_loop_alive(&loop));
  assert_int_equal(test_live_allocations(), allocations);
  restore_syscalls();
  async_works(&loop);
  test_loop_close(&loop);
}

/* epoll only: the eventfd is made, its registration refused; the eventfd
 * must be closed again, and a later init must start from scratch. */
static void test_backend_eventfd_registration_failure(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_async_t async;
  test_loop_open(&loop);
  if (strcmp(ax_backend_name(&loop), "epoll") != 0) {
    test_loop_close(&loop);
    test_skip("only epoll registers the eventfd with a call this test can "
              "refuse (epoll_ctl)");
  }
  eventfd_made = -1;
  eventfd_closed = -1;
  ax__linux_sys.eventfd = record_eventfd;
  ax__linux_sys.epoll_ctl = inject_epoll_ctl;
  ax__sys.close = record_close;
  epoll_ctl_fail_op = EPOLL_CTL_ADD;
  assert_int_equal(ax_async_init(&loop, &async, async_count_cb), AX_ENOMEM);
  assert_true(eventfd_made >= 0);
  assert_int_equal(eventfd_closed, eventfd_made);
  assert_int_equal(test_count_handles(&loop), 0);
  restore_syscalls();
  async_works(&loop);
  test_loop_close(&loop);
}

/* epoll only: poll(2) registers in memory, with nothing for the kernel to
 * refuse. */
static void test_backend_epoll_ctl_failure(void **state) {
  (void)state;
  ax_loop_t loop;
  int fds[2];
  struct watcher w;
  test_loop_open(&loop);
  if (strcmp(ax_backend_name(&loop), "epoll") != 0) {
    test_loop_close(&loop);
    test_skip("epoll_ctl is epoll's; test_kqueue.c refuses kqueue's "
              "changes");
  }
  make_socketpair(fds);
  memset(&w, 0, sizeof(w));
  ax__io_init(&w.io, watcher_cb, fds[0]);
  ax__linux_sys.epoll_ctl = inject_epoll_ctl;

  /* A refused start leaves the io unregistered... */
  epoll_ctl_fail_op = EPOLL_CTL_ADD;
  assert_int_equal(ax__io_start(&loop, &w.io, AX__IO_READ), AX_ENOMEM);
  assert_int_equal(w.io.events, 0);
  epoll_ctl_fail_op = -1;
  assert_int_equal(ax__io_start(&loop, &w.io, AX__IO_READ), 0);

  /* ...a refused change leaves the set as it was... */
  epoll_ctl_fail_op = EPOLL_CTL_MOD;
  assert_int_equal(ax__io_start(&loop, &w.io, AX__IO_WRITE), AX_ENOMEM);
  assert_int_equal(w.io.events, AX__IO_READ);
  epoll_ctl_fail_op = -1;
  assert_int_equal(ax__io_start(&loop, &w.io, AX__IO_WRITE), 0);
  assert_int_equal(w.io.events, AX__IO_READ | AX__IO_WRITE);

  /* ...and a refused narrowing is done by deleting and adding anew. */
  epoll_ctl_fail_op = EPOLL_CTL_MOD;
  assert_int_equal(ax__io_stop(&loop, &w.io, AX__IO_WRITE), 0);
  assert_int_equal(w.io.events, AX__IO_READ);
  restore_syscalls();

  watcher_stop(&loop, &w);
  close_pair(fds);
  test_loop_close(&loop);
}

/* ---- The pending phase ---- */

/*
 * Deferred completions run in the order they were pushed, in the pending
 * phase: after timers, before idle handles. One pushed while the phase runs
 * waits for the next iteration, which is what bounds the phase.
 */
enum { ORDER_LOG_MAX = 16 };

struct order {
  ax_timer_t timer; /* Due at once: logs 'T'. */
  ax_idle_t idle;   /* Logs 'I'. */
  struct order_pending {
    ax__pending_t pending;     /* The deferred completion. */
    struct order *order;       /* Back to the test's state. */
    char name;                 /* What it logs. */
  } a, b, c;                   /* a pushes c when it runs. */
  char log[ORDER_LOG_MAX + 1]; /* What ran, in order. */
  int len;                     /* Characters in log. */
};

static void order_log(struct order *o, char name) {
  assert_true(o->len < ORDER_LOG_MAX);
  o->log[o->len++] = name;
  o->log[o->len] = '\0';
}

static void order_pending_cb(ax_loop_t *loop, ax__pending_t *pending) {
  struct order_pending *p = ax_container_of(pending, struct order_pending,
                                            pending);
  order_log(p->order, p->name);
  if (p == &p->order->a)
    ax__pending_push(loop, &p->order->c.pending);
}

static void order_timer_cb(ax_timer_t *timer) {
  order_log(ax_container_of(timer, struct order, timer), 'T');
}

static void order_idle_cb(ax_idle_t *idle) {
  order_log(ax_container_of(idle, struct order, idle), 'I');
}

static void order_pending_init(struct order *o, struct order_pending *p,
                               char name) {
  ax__queue_init(&p->pending.node);
  p->pending.cb = order_pending_cb;
  p->order = o;
  p->name = name;
}

static void test_backend_pending_phase(void **state) {
  (void)state;
  ax_loop_t loop;
  struct order o;
  memset(&o, 0, sizeof(o));
  test_loop_open(&loop);
  order_pending_init(&o, &o.a, 'A');
  order_pending_init(&o, &o.b, 'B');
  order_pending_init(&o, &o.c, 'C');
  ax__pending_push(&loop, &o.a.pending);
  ax__pending_push(&loop, &o.b.pending);
  /* Deferred work alone keeps the loop alive. */
  assert_true(ax_loop_alive(&loop));
  ax_timer_init(&loop, &o.timer);
  assert_int_equal(ax_timer_start(&o.timer, order_timer_cb, 0, 0), 0);
  ax_idle_init(&loop, &o.idle);
  assert_int_equal(ax_idle_start(&o.idle, order_idle_cb), 0);

  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_string_equal(o.log, "TABI");
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_string_equal(o.log, "TABICI");
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_string_equal(o.log, "TABICII");

  ax_close(&o.timer.handle, NULL);
  ax_close(&o.idle.handle, NULL);
  test_loop_close(&loop);
}

/* ---- A pool worker signalling a loop that is closing ---- */

/* The worker's signal is held inside write() until the test lets it go,
 * and the descriptor it finally writes to is recorded. */
static struct {
  ax_thread_t loop_thread; /* Writes from this thread pass straight on. */
  ax_sem_t in_write;       /* Posted when a worker's write is held. */
  ax_sem_t release;        /* Lets the held write go on. */
  int held;                /* A worker's write was held already. */
  int fd_written;          /* The descriptor the held write used. */
  ssize_t written;         /* What the held write returned. */
} slow_signal;

static ssize_t slow_signal_write(int fd, const void *buf, size_t len) {
  ax_thread_t self = ax_thread_self();
  if (!ax_thread_equal(&self, &slow_signal.loop_thread) && !slow_signal.held) {
    slow_signal.held = 1;
    ax_sem_post(&slow_signal.in_write);
    ax_sem_wait(&slow_signal.release);
    slow_signal.fd_written = fd;
    slow_signal.written = ax__sys_default.write(fd, buf, len);
    return slow_signal.written;
  }
  return ax__sys_default.write(fd, buf, len);
}

static void nothing_work(ax_work_t *work) {
  (void)work;
}

static void count_after_work(ax_work_t *work, int status) {
  assert_int_equal(status, 0);
  (*(int *)work->req.data)++;
}

static void close_self_async(ax_async_t *async) {
  ax_close(&async->handle, NULL);
}

static void release_later(void *arg) {
  (void)arg;
  struct timespec pause = {0, 20 * 1000000};
  nanosleep(&pause, NULL);
  ax_sem_post(&slow_signal.release);
}

/*
 * A worker pushes a finished job, then signals the loop. If the loop is
 * woken by something else in between, it runs the job's callback, has
 * nothing left, and may be closed while the worker is still signalling:
 * ax_loop_close() must wait for that signal, not free the channel under it.
 */
static void test_backend_close_waits_for_pool_signal(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_work_t work;
  ax_async_t wake;
  ax_thread_t releaser;
  int after_calls = 0;
  /* The pool's own locks live as long as the process: make them before
   * the allocation count starts. */
  (void)ax_threadpool_get_size();
  test_loop_open(&loop);
  memset(&slow_signal, 0, sizeof(slow_signal));
  slow_signal.loop_thread = ax_thread_self();
  slow_signal.fd_written = -2;
  assert_int_equal(ax_sem_init(&slow_signal.in_write, 0), 0);
  assert_int_equal(ax_sem_init(&slow_signal.release, 0), 0);
  ax__sys.write = slow_signal_write;
  work.req.data = &after_calls;
  assert_int_equal(ax_queue_work(&loop, &work, nothing_work, count_after_work),
                   0);
  int channel_fd = loop.priv.platform.async_wfd;
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0); /* hands the job over */
  ax_sem_wait(&slow_signal.in_write); /* the worker pushed, then stopped */
  /* Something else wakes the loop: the job's callback runs. */
  assert_int_equal(ax_async_init(&loop, &wake, close_self_async), 0);
  ax_async_send(&wake);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(after_calls, 1);
  assert_int_equal(ax_thread_create(&releaser, release_later, NULL), 0);
  assert_int_equal(ax_loop_close(&loop), 0);
  assert_int_equal(ax_thread_join(&releaser), 0);
  /* The held signal went to the loop's own channel, and it was still open
   * (a closed one fails with EBADF, or reaches whatever reused the fd). */
  assert_int_equal(slow_signal.fd_written, channel_fd);
  assert_int_equal(slow_signal.written, 8);
  ax__sys.write = ax__sys_default.write;
  ax_sem_destroy(&slow_signal.in_write);
  ax_sem_destroy(&slow_signal.release);
  assert_int_equal(test_live_allocations(), 0);
}

/* ---- poll(2): a slot emptied during a batch is reclaimed ---- */

/* The descriptors of the last poll(2) call. */
static nfds_t polled_nfds;

static int counting_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms) {
  polled_nfds = nfds;
  return ax__sys_default.poll(fds, nfds, timeout_ms);
}

/* Watch a readable pipe for one wakeup; returns how many descriptors
 * the backend gave poll(2). */
static nfds_t poll_count_slots(struct io_loop *il) {
  int fds[2];
  struct watcher w;
  make_pipe(fds);
  write_byte(fds[1]);
  watcher_start(&il->loop, &w, fds[0], watcher_cb, AX__IO_READ);
  polled_nfds = 0;
  run_once(il);
  assert_int_equal(w.calls, 1);
  watcher_stop(&il->loop, &w);
  close_pair(fds);
  return polled_nfds;
}

/* The poll backend empties the slot of an io stopped during its dispatch
 * and compacts it after the batch: the array poll(2) gets is as long as
 * before, whichever of two rivals stopped the other. A slot left behind
 * would grow the array by one for every such stop, and moving it later
 * would index the descriptor table with its -1. */
static void test_io_stop_in_batch_reclaims_slot(void **state) {
  (void)state;
  struct io_loop il;
  io_loop_open(&il);
  if (strcmp(ax_backend_name(&il.loop), "poll") != 0) {
    io_loop_close(&il);
    skip();
  }
  ax__sys.poll = counting_poll;
  nfds_t before = poll_count_slots(&il);
  assert_true(before > 0);
  for (int round = 0; round < 2; round++) {
    struct rivals rivals = {{NULL, NULL}, 0};
    int pipes[2][2];
    for (int i = 0; i < 2; i++) {
      make_pipe(pipes[i]);
      struct rival *r = malloc(sizeof(*r));
      assert_non_null(r);
      r->rivals = &rivals;
      r->index = i;
      ax__io_init(&r->io, rival_cb, pipes[i][0]);
      assert_int_equal(ax__io_start(&il.loop, &r->io, AX__IO_READ), 0);
      rivals.members[i] = r;
      write_byte(pipes[i][1]);
    }
    run_once(&il);
    assert_int_equal(rivals.calls, 1);
    for (int i = 0; i < 2; i++) {
      if (rivals.members[i] == NULL)
        continue;
      ax__io_stop(&il.loop, &rivals.members[i]->io, AX__IO_READ);
      free(rivals.members[i]);
    }
    close_pair(pipes[0]);
    close_pair(pipes[1]);
    assert_int_equal(poll_count_slots(&il), before);
  }
  restore_syscalls();
  io_loop_close(&il);
}

/* ---- A stopped io gets nothing more from the batch, hang-ups included ---- */

/* Two watchers whose pipes both hung up; whichever is told first stops
 * the other. Neither is freed, so that a delivery to the stopped one is
 * counted rather than a use after free that only ASan would see. */
struct hung {
  struct watcher w[2]; /* The two watchers. */
  int stopped[2];      /* Stopped by the other's callback. */
};

static void hung_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                    intptr_t result) {
  watcher_cb(loop, io, op, result);
  struct hung *h = loop->data;
  int self = io == &h->w[0].io ? 0 : 1;
  if (!h->stopped[self] && !h->stopped[1 - self]) {
    assert_int_equal(ax__io_stop(loop, &h->w[1 - self].io, AX__IO_READ), 0);
    h->stopped[1 - self] = 1;
  }
}

/* A hang-up is reported even for a descriptor no longer watched for
 * reading, so the stopped io's entry of the batch must be dropped, not
 * merely masked by its interest (which io_stop clears). */
static void test_io_stop_other_hung_up_in_same_batch(void **state) {
  (void)state;
  struct io_loop il;
  struct hung h;
  int pipes[2][2];
  io_loop_open(&il);
  memset(&h, 0, sizeof(h));
  il.loop.data = &h;
  for (int i = 0; i < 2; i++) {
    make_pipe(pipes[i]);
    watcher_start(&il.loop, &h.w[i], pipes[i][0], hung_cb, AX__IO_READ);
    close(pipes[i][1]);
    pipes[i][1] = -1;
  }
  run_once(&il);
  assert_int_equal(h.w[0].calls + h.w[1].calls, 1);
  for (int i = 0; i < 2; i++) {
    if (!h.stopped[i])
      watcher_stop(&il.loop, &h.w[i]);
    close_pair(pipes[i]);
  }
  io_loop_close(&il);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_io_readable, restore_all),
      cmocka_unit_test_teardown(test_io_writable, restore_all),
      cmocka_unit_test_teardown(test_io_stop_other_in_same_batch, restore_all),
      cmocka_unit_test_teardown(test_io_stop_self_in_callback, restore_all),
      cmocka_unit_test_teardown(test_io_restart_in_callback, restore_all),
      cmocka_unit_test_teardown(test_io_many_pipes, restore_all),
      cmocka_unit_test_teardown(test_io_more_ready_than_one_wait, restore_all),
      cmocka_unit_test_teardown(test_io_peer_closed, restore_all),
      cmocka_unit_test_teardown(test_backend_fallback_when_epoll_refused,
                                restore_all),
      cmocka_unit_test_teardown(test_backend_options_invalid, restore_all),
      cmocka_unit_test_teardown(test_backend_env_unknown_uses_default,
                                restore_all),
      cmocka_unit_test_teardown(test_backend_wait_retries_eintr, restore_all),
      cmocka_unit_test_teardown(test_backend_wait_eintr_keeps_deadline,
                                restore_all),
      cmocka_unit_test_teardown(test_backend_wait_failure_returns, restore_all),
      cmocka_unit_test_teardown(test_backend_eventfd_failure, restore_all),
      cmocka_unit_test_teardown(test_backend_eventfd_registration_failure,
                                restore_all),
      cmocka_unit_test_teardown(test_backend_epoll_ctl_failure, restore_all),
      cmocka_unit_test_teardown(test_backend_pending_phase, restore_all),
      cmocka_unit_test_teardown(test_backend_close_waits_for_pool_signal,
                                restore_all),
      cmocka_unit_test_teardown(test_io_stop_in_batch_reclaims_slot,
                                restore_all),
      cmocka_unit_test_teardown(test_io_stop_other_hung_up_in_same_batch,
                                restore_all),
  };
  return cmocka_run_group_tests(tests, save_environment, free_environment);
}
