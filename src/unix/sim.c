/*
 * unix/sim.c: the simulation backend (Linux), chosen only by name
 * (AX_BACKEND=sim or the loop option), for tests: a seeded scheduler and a
 * virtual clock over real descriptors. sim-sys.c holds the world around
 * it (seed, clock, injected faults); docs/reliability.md says how to use
 * it.
 *
 * It is a readiness backend: it shares the socket operations of
 * readiness.c, and learns readiness from poll(2) with a zero timeout, so
 * real loopback sockets, pipes and files work. On top of that, per wakeup:
 *
 *   - the completions are shuffled, and now and then one is held back for
 *     a later wakeup (readiness is level-triggered: it is reported again),
 *     so the engine meets every order the kernel could produce;
 *   - when nothing is ready and the loop would sleep, the virtual clock
 *     jumps to the loop's next timer instead, so timer-heavy tests run at
 *     once and the same way every time. Work on the thread pool is real:
 *     while some is pending, the backend waits for real, in short slices.
 *     With no timer and no work, only the outside world (another thread, a
 *     child process) can wake the loop, and the backend waits for it. And
 *     while a socket has bytes in flight, each jump waits for a
 *     millisecond of real time first, for what the kernel's own timers
 *     move between sockets (delayed ACKs).
 *
 * The registry of descriptors is a plain array searched linearly: a test
 * watches a few dozen at most, and simple beats fast here.
 */
#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "sim.h"

enum {
  /* One completion in this many is held back for a later wakeup. */
  SIM_HOLD_BACK_ONE_IN = 8,
  /* The longest real wait while pool work is pending, so that the clock
   * and the timers keep moving. */
  SIM_REAL_WAIT_MS = 10,
  /* The real time the kernel gets before each jump of the clock. */
  SIM_GRACE_MS = 1,
};

/* A completion of the current batch; io NULL once stopped. */
struct sim_ready {
  ax__io_t *io;        /* Whose. */
  unsigned int events; /* The AX__IO_* bits ready. */
};

struct sim_state {
  ax__io_t **ios;          /* The started ios. */
  struct pollfd *fds;      /* What poll(2) is given, one per io. */
  struct sim_ready *batch; /* The wakeup's completions, shuffled. */
  int len;                 /* Started ios. */
  int cap;                 /* Room in ios, fds and batch. */
  int batch_len;           /* Completions in batch. */
  int batch_next;          /* The next one to deliver. */
  uint64_t rng;            /* This loop's stream of decisions. */
};

static struct sim_state *sim_state(const ax_loop_t *loop) {
  return loop->priv.platform.backend_data;
}

/* The simulator's own state comes from libc, not from axle's allocator:
 * it is the test's machinery, not the code under test, and an injected
 * ENOMEM (sim-sys.c) here would only make the loop fall back to another
 * backend. What grows with the engine's use (sim_grow) does come from
 * axle's allocator, so io_start's failure paths are exercised. */
static int sim_init(ax_loop_t *loop) {
  struct sim_state *st = calloc(1, sizeof(*st));
  if (st == NULL)
    return AX_ENOMEM;
  st->rng = ax__sim_enter();
  loop->priv.platform.backend_data = st;
  return 0;
}

static void sim_fini(ax_loop_t *loop) {
  struct sim_state *st = sim_state(loop);
  ax__free(st->ios);
  ax__free(st->fds);
  ax__free(st->batch);
  free(st);
  loop->priv.platform.backend_data = NULL;
  ax__sim_leave();
}

static int sim_grow(struct sim_state *st) {
  int cap = st->cap == 0 ? 16 : st->cap * 2;
  ax__io_t **ios = ax__realloc(st->ios, (size_t)cap * sizeof(ax__io_t *));
  if (ios != NULL)
    st->ios = ios;
  struct pollfd *fds = ax__realloc(st->fds, (size_t)cap * sizeof(*fds));
  if (fds != NULL)
    st->fds = fds;
  struct sim_ready *batch = ax__realloc(st->batch,
                                        (size_t)cap * sizeof(*batch));
  if (batch != NULL)
    st->batch = batch;
  if (ios == NULL || fds == NULL || batch == NULL)
    return AX_ENOMEM; /* What grew stays grown, which is harmless. */
  st->cap = cap;
  return 0;
}

static int sim_find(const struct sim_state *st, const ax__io_t *io) {
  for (int i = 0; i < st->len; i++) {
    if (st->ios[i] == io)
      return i;
  }
  return -1;
}

static int sim_io_start(ax_loop_t *loop, ax__io_t *io, unsigned int events) {
  struct sim_state *st = sim_state(loop);
  if (io->events == 0) {
    if (st->len == st->cap && sim_grow(st) != 0)
      return AX_ENOMEM;
    st->ios[st->len++] = io;
  }
  io->events = (unsigned short)events;
  return 0;
}

static void sim_io_stop(ax_loop_t *loop, ax__io_t *io) {
  struct sim_state *st = sim_state(loop);
  int i = sim_find(st, io);
  assert(i >= 0 && "axle: sim: io stopped that was not started");
  st->ios[i] = st->ios[--st->len];
  io->events = 0;
  for (int k = st->batch_next; k < st->batch_len; k++) {
    if (st->batch[k].io == io)
      st->batch[k].io = NULL;
  }
}

/* Poll every started io for timeout_ms (real time) and collect what is
 * ready into the batch. Returns the count, or an error. */
static int sim_collect(struct sim_state *st, int timeout_ms) {
  st->batch_len = 0;
  st->batch_next = 0;
  for (int i = 0; i < st->len; i++) {
    st->fds[i].fd = st->ios[i]->fd;
    st->fds[i].events =
        (short)((st->ios[i]->events & AX__IO_READ ? POLLIN : 0) |
                (st->ios[i]->events & AX__IO_WRITE ? POLLOUT : 0));
    st->fds[i].revents = 0;
  }
  int n = ax__sys.poll(st->fds, (nfds_t)st->len, timeout_ms);
  if (n < 0)
    return errno == EINTR ? 0 : ax_translate_sys_error(errno);
  for (int i = 0; i < st->len && n > 0; i++) {
    unsigned int events = ax__poll_translate(st->fds[i].revents,
                                             st->ios[i]->events);
    if (events == 0)
      continue;
    st->batch[st->batch_len].io = st->ios[i];
    st->batch[st->batch_len].events = events;
    st->batch_len++;
  }
  return st->batch_len;
}

/* Shuffle the batch (Fisher-Yates), then hold some back: dropped from
 * this wakeup, they are reported again by the next poll. One stays, so
 * that a loop with work always makes progress. */
static void sim_shuffle(struct sim_state *st) {
  for (int i = st->batch_len - 1; i > 0; i--) {
    int j = (int)ax__sim_below(&st->rng, (uint64_t)i + 1);
    struct sim_ready tmp = st->batch[i];
    st->batch[i] = st->batch[j];
    st->batch[j] = tmp;
  }
  while (st->batch_len > 1 &&
         ax__sim_below(&st->rng, SIM_HOLD_BACK_ONE_IN) == 0)
    st->batch_len--;
  if (st->batch_len > AX__MAX_EVENTS_PER_WAIT)
    st->batch_len = AX__MAX_EVENTS_PER_WAIT;
}

/* Wait for real, at most slice_ms (-1: no limit). Virtual time passes at
 * least as fast. */
static int sim_wait_real(struct sim_state *st, int slice_ms) {
  uint64_t before_ns = ax__hrtime_ns();
  int n = sim_collect(st, slice_ms);
  uint64_t spent_ns = ax__hrtime_ns() - before_ns;
  ax__sim_clock_advance_to(ax__sim_now_ns() + spent_ns);
  return n;
}

/* Whether a watched socket has bytes the kernel has not sent or the peer
 * has not acknowledged: the kernel's own timers (a delayed ACK, Nagle's
 * wait: tens of ms) will move them, which no jump of ours would. */
static bool sim_kernel_busy(const struct sim_state *st) {
  for (int i = 0; i < st->len; i++) {
    int queued = 0;
    if (ioctl(st->ios[i]->fd, SIOCOUTQ, &queued) == 0 && queued > 0)
      return true;
  }
  return false;
}

/* Nothing is ready and the loop would wait timeout_ms. Jump the clock to
 * the deadline, unless only real time can help: pool work pending, or no
 * deadline at all. While the kernel still moves bytes of ours, it gets
 * SIM_GRACE_MS of real time before each jump. */
static int sim_idle(ax_loop_t *loop, struct sim_state *st, int timeout_ms) {
  if (ax__work_pending(loop) == 0 && timeout_ms > 0) {
    int n = sim_kernel_busy(st) ? sim_wait_real(st, SIM_GRACE_MS) : 0;
    if (n == 0)
      ax__sim_clock_advance_to(loop->priv.time_ns +
                               (uint64_t)timeout_ms * 1000000u);
    return n;
  }
  int slice_ms = timeout_ms;
  if (ax__work_pending(loop) != 0 &&
      (slice_ms < 0 || slice_ms > SIM_REAL_WAIT_MS))
    slice_ms = SIM_REAL_WAIT_MS;
  return sim_wait_real(st, slice_ms);
}

static int sim_wait(ax_loop_t *loop, int timeout_ms) {
  struct sim_state *st = sim_state(loop);
  int n = sim_collect(st, 0);
  if (n == 0 && timeout_ms != 0)
    n = sim_idle(loop, st, timeout_ms);
  if (n > 0)
    sim_shuffle(st);
  return n < 0 ? n : st->batch_len;
}

static int sim_dispatch(ax_loop_t *loop) {
  struct sim_state *st = sim_state(loop);
  int delivered = 0;
  while (st->batch_next < st->batch_len) {
    struct sim_ready *ready = &st->batch[st->batch_next++];
    if (ready->io == NULL)
      continue; /* Stopped by an earlier callback of this batch. */
    unsigned int events = ready->events & (ready->io->events | AX__IO_ERROR);
    if (events == 0)
      continue;
    ax__io_ready(loop, ready->io, events);
    delivered++;
  }
  st->batch_len = 0;
  st->batch_next = 0;
  return delivered;
}

const struct ax__backend ax__backend_sim = {
    .name = "sim",
    .named_only = true,
    .init = sim_init,
    .fini = sim_fini,
    .io_start = sim_io_start,
    .io_stop = sim_io_stop,
    .wait = sim_wait,
    .dispatch = sim_dispatch,
    .now_ns = ax__sim_now_ns,
    .sock = &ax__readiness_sock_ops,
};
