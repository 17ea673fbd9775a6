/*
 * unix/io_uring.c: the io_uring backend (Linux 5.19 and later), which
 * completes the contract's operations natively (backend.h).
 *
 * Submitting an operation only fills a submission queue entry. wait()
 * hands every entry the iteration queued to the kernel and waits for
 * completions in one io_uring_enter (with the timer deadline as its
 * timeout), copies up to AX__MAX_EVENTS_PER_WAIT of them into a batch,
 * and dispatch() delivers the batch. A completion names its operation by
 * descriptor, owner generation and kind (unix/io_uring.h), so one whose
 * owner stopped meanwhile is recognised and dropped, even when it waits in
 * the batch being dispatched.
 *
 * This file also holds the descriptor table, the ready list (what the
 * backend holds for an owner that could not take it: ring buffers kept
 * while a reader was stopped, connections while a listener was), and the
 * descriptor polls: ax_poll_t and the wakeup channel. The socket
 * operations are in io_uring-sock.c.
 *
 * At init the ring is asked for the flags that cut its cost where the
 * kernel has them (DEFER_TASKRUN and SINGLE_ISSUER: completions are
 * processed only when the loop enters the kernel, by the loop's thread;
 * COOP_TASKRUN otherwise), falling back flag set by flag set on EINVAL,
 * and the opcodes the backend uses are probed. ENOSYS (no io_uring) and
 * EPERM (io_uring_disabled, seccomp) are returned as they are, so that the
 * loop falls back to epoll visibly.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io_uring.h"

enum {
  /* Submission queue entries: more in one iteration cost one extra
   * io_uring_enter each time the queue fills. */
  URING_SQ_ENTRIES = 256,
  /* Completion queue entries. More completions than this in one wait are
   * kept by the kernel (IORING_FEAT_NODROP) until the next. */
  URING_CQ_ENTRIES = 4096,
  /* Descriptors per page of the table. */
  URING_PAGE_SHIFT = 10,
  URING_PAGE = 1 << URING_PAGE_SHIFT,
  /* Ready-list entries made at a time. */
  URING_READY_MIN = 16,
  /* The kernel's io-wq workers for unbounded work, per CPU the loop may
   * run on (uring_iowq_cap). */
  URING_IOWQ_UNBOUNDED_PER_CPU = 4,
};

static int uring_sys_wait(struct io_uring *ring, struct io_uring_cqe **cqe,
                          unsigned int wait_nr, struct __kernel_timespec *ts) {
  return io_uring_submit_and_wait_timeout(ring, cqe, wait_nr, ts, NULL);
}

#define AX__URING_SYSCALLS_DEFAULT                                             \
  {                                                                            \
    .queue_init_params = io_uring_queue_init_params,                           \
    .submit_and_wait_timeout = uring_sys_wait,                                 \
    .submit_and_get_events = io_uring_submit_and_get_events,                   \
  }

/* A server holds one entry per connection. */
_Static_assert(sizeof(struct ax__uring_fd) <= 24,
               "axle: an io_uring descriptor entry grew");
_Static_assert(AX_EOF >= INT16_MIN, "axle: AX_EOF must fit a held end");

const struct ax__uring_syscalls ax__uring_sys_default =
    AX__URING_SYSCALLS_DEFAULT;

struct ax__uring_syscalls ax__uring_sys = AX__URING_SYSCALLS_DEFAULT;

/* ---- The descriptor table ---- */

struct ax__uring_fd *ax__uring_find(struct ax__uring *st, int fd) {
  uint32_t page = (uint32_t)fd >> URING_PAGE_SHIFT;
  if (fd < 0 || page >= st->npages || st->pages[page] == NULL)
    return NULL;
  return &st->pages[page][fd & (URING_PAGE - 1)];
}

/* The entry of fd, making its page. NULL when out of memory. */
static struct ax__uring_fd *uring_grow(struct ax__uring *st, int fd) {
  uint32_t page = (uint32_t)fd >> URING_PAGE_SHIFT;
  if (page >= st->npages) {
    uint32_t npages = page + 1 > 2 * st->npages ? page + 1 : 2 * st->npages;
    struct ax__uring_fd **pages = ax__realloc(
        st->pages, npages * sizeof(struct ax__uring_fd *));
    if (pages == NULL)
      return NULL;
    memset(pages + st->npages, 0,
           (npages - st->npages) * sizeof(struct ax__uring_fd *));
    st->pages = pages;
    st->npages = npages;
  }
  if (st->pages[page] == NULL)
    st->pages[page] = ax__calloc(URING_PAGE, sizeof(struct ax__uring_fd));
  return ax__uring_find(st, fd);
}

struct ax__uring_fd *ax__uring_attach(struct ax__uring *st, ax__io_t *io,
                                      int *err) {
  struct ax__uring_fd *e = ax__uring_find(st, io->fd);
  if (e == NULL)
    e = uring_grow(st, io->fd);
  if (e == NULL) {
    *err = AX_ENOMEM;
    return NULL;
  }
  if (e->io != io && e->io != NULL) {
    *err = AX_EEXIST; /* As epoll says for a descriptor added twice. */
    return NULL;
  }
  e->io = io;
  return e;
}

static unsigned int uring_popcount(unsigned int bits) {
  return (unsigned int)__builtin_popcount(bits);
}

void ax__uring_reset(struct ax__uring *st, struct ax__uring_fd *e) {
  unsigned int live = uring_popcount(e->live);
  st->live_ops -= live;
  st->orphans += live;
  e->gen++;
  e->io = NULL;
  e->slot = 0;
  e->live = 0;
  e->cancel = 0;
  e->want = 0;
  e->flags = 0;
  memset(&e->u, 0, sizeof(e->u));
}

/* ---- Submissions ---- */

/* Enable a ring made disabled: its first submitter becomes the thread
 * that runs the loop (SINGLE_ISSUER binds the ring to one thread, and a
 * loop may be made on one thread and run on another). */
static int uring_enable(struct ax__uring *st) {
  if (st->enabled)
    return 0;
  /* A raw io_uring_register: Debian's liburing 2.3 declares
   * io_uring_enable_rings() but its library does not export it. */
  if (syscall(__NR_io_uring_register, st->ring.ring_fd,
              IORING_REGISTER_ENABLE_RINGS, NULL, 0) != 0)
    return ax_translate_sys_error(errno);
  st->enabled = true;
  return 0;
}

int ax__uring_submit(struct ax__uring *st) {
  int err = uring_enable(st);
  if (err != 0)
    return err;
  /* With GETEVENTS, so that the kernel also runs the work that completes
   * a cancelled operation (deferred to the loop's thread with
   * DEFER_TASKRUN) and lets go of its file now. The completions wait in
   * the queue for the next wait to collect. */
  int n;
  do {
    n = ax__uring_sys.submit_and_get_events(&st->ring);
  } while (n == -EINTR);
  return n < 0 ? n : 0;
}

struct io_uring_sqe *ax__uring_sqe(struct ax__uring *st) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(&st->ring);
  if (sqe != NULL)
    return sqe;
  /* Full: a burst of more operations in one iteration than the queue
   * holds costs one io_uring_enter here. */
  if (ax__uring_submit(st) != 0)
    return NULL;
  return io_uring_get_sqe(&st->ring);
}

struct io_uring_sqe *ax__uring_op(struct ax__uring *st, struct ax__uring_fd *e,
                                  int fd, unsigned kind) {
  struct io_uring_sqe *sqe = ax__uring_sqe(st);
  if (sqe == NULL)
    return NULL;
  /* The prep helpers leave user_data alone: set it first. */
  io_uring_sqe_set_data64(sqe, ax__uring_data(fd, e->gen, kind));
  assert(!(e->live & (1u << kind)) && "axle: an io_uring operation twice");
  e->live |= (uint8_t)(1u << kind);
  e->cancel &= (uint8_t) ~(1u << kind);
  st->live_ops++;
  return sqe;
}

void ax__uring_cancel(struct ax__uring *st, struct ax__uring_fd *e, int fd,
                      unsigned kind) {
  uint8_t bit = (uint8_t)(1u << kind);
  if (!(e->live & bit) || (e->cancel & bit))
    return;
  struct io_uring_sqe *sqe = ax__uring_sqe(st);
  if (sqe == NULL)
    return; /* The operation ends with its socket's close instead. */
  io_uring_prep_cancel64(sqe, ax__uring_data(fd, e->gen, kind), 0);
  io_uring_sqe_set_data64(sqe, ax__uring_data(fd, e->gen, AX__URING_IGNORE));
  /* The cancelled operation's own CQE reports the cancel. */
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  e->cancel |= bit;
}

void ax__uring_done(struct ax__uring *st, struct ax__uring_fd *e,
                    unsigned kind) {
  uint8_t bit = (uint8_t)(1u << kind);
  if (e->live & bit)
    st->live_ops--;
  e->live &= (uint8_t)~bit;
  e->cancel &= (uint8_t)~bit;
}

void ax__uring_ready(struct ax__uring *st, struct ax__uring_fd *e, int fd) {
  if (e->flags & AX__URING_READY)
    return;
  if (st->ready_len == st->ready_cap) {
    uint32_t cap = st->ready_cap ? 2 * st->ready_cap : URING_READY_MIN;
    int *ready = ax__realloc(st->ready, cap * sizeof(*ready));
    if (ready == NULL) {
      /* Its owner may wait for nothing else (held bytes of a socket whose
       * receive stopped at its share, a re-arm put off): dispatch looks
       * through the table instead (uring_rearm_scan). */
      st->rearm_scan = true;
      return;
    }
    st->ready = ready;
    st->ready_cap = cap;
  }
  st->ready[st->ready_len++] = fd;
  e->flags |= AX__URING_READY;
}

/*
 * A multishot operation that ended (or an ax_poll_t's one-shot poll) is
 * armed again from its completion's handler. That needs a submission
 * entry; when the queue is full, ax__uring_sqe() submits it to make room,
 * and if the kernel refuses that submit, the entry is not there. Dropping
 * the re-arm would leave the descriptor deaf for good: a poll handle, a
 * reading connection or a listener that never hears again. So the entry
 * goes on the ready list, whose dispatch arms what its owner wants and the
 * kernel does not run (uring_ready_dispatch); should even the list be out
 * of memory, dispatch looks through the whole table (uring_rearm_scan).
 *
 * Why this cannot spin: the ready list makes the next wait not block, but
 * that wait still makes its one io_uring_enter, which submits the full
 * queue, and a dispatch delivers only what the list held when it began
 * (a re-arm that fails again waits for the next iteration, never for the
 * same dispatch). So each retry follows an enter that tried to drain the
 * queue. If that enter succeeds, the queue has room and the retry arms
 * the operation. If it fails, the wait reports its error (ENOMEM, EBADF,
 * a dead ring: ax_run() returns it) unless it is EBUSY or EAGAIN, which
 * the kernel answers only while it holds completions that overflowed the
 * completion queue (the same wait collects them, and the next enter can
 * flush the rest) or is short of memory for a request this instant. A
 * retry costs one iteration with one enter, not a loop of its own, and
 * nothing is delivered twice: the retry arms, it does not deliver.
 */
void ax__uring_rearm_later(struct ax__uring *st, struct ax__uring_fd *e,
                           int fd) {
  st->rearms_late++;
  ax__uring_ready(st, e, fd);
}

/* While the kernel holds operations that no started ax__io_t counts (the
 * socket operations, the orphans), or the ready list holds deliveries,
 * the loop must not skip its wait: count one io for all of them. */
void ax__uring_busy(ax_loop_t *loop) {
  struct ax__uring *st = ax__uring_state(loop);
  bool busy = st->live_ops + st->orphans + st->ready_len + st->fs_ops != 0 ||
              st->rearm_scan;
  if (busy == st->counted)
    return;
  st->counted = busy;
  if (busy)
    loop->priv.platform.io_count++;
  else
    loop->priv.platform.io_count--;
}

/* ---- Setup and probing ---- */

/*
 * Rings torn down so far, in the whole process. liburing maps a ring's
 * queues with system calls of its own, which ThreadSanitizer cannot see,
 * so when a loop on one thread gets the addresses of a ring another thread
 * just unmapped, their plain writes to the queues look like a race. Each
 * teardown adds to this (acquire-release) before unmapping, and each setup
 * reads it after mapping: every teardown that could have freed the
 * addresses then happens before the setup, as it does in the kernel.
 */
static unsigned long uring_teardowns;

/* Make the ring with the most useful flags the kernel accepts. */
static int uring_setup(struct ax__uring *st) {
  static const unsigned int tries[] = {
      IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
          IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SINGLE_ISSUER |
          IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
      IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
          IORING_SETUP_TASKRUN_FLAG,
      0,
  };
  int err = AX_ENOSYS;
  for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
    struct io_uring_params params;
    memset(&params, 0, sizeof(params));
    params.flags = tries[i] | IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
    params.cq_entries = URING_CQ_ENTRIES;
    err = ax__uring_sys.queue_init_params(URING_SQ_ENTRIES, &st->ring, &params);
    if (err == 0) {
      st->enabled = !(tries[i] & IORING_SETUP_R_DISABLED);
      return 0;
    }
    /* EINVAL: a flag this kernel does not know. Anything else (ENOSYS,
     * EPERM, ENOMEM, EMFILE) is the kernel's answer to io_uring itself. */
    if (err != -EINVAL)
      break;
  }
  return ax_translate_sys_error(-err);
}

/* What the backend needs beyond the ring: one enter that waits with a
 * timeout (EXT_ARG), no lost completions (NODROP), entries read at submit
 * (SUBMIT_STABLE), and its opcodes. IORING_OP_SOCKET stands for Linux
 * 5.19, whose multishot accept and cancel by descriptor the probe cannot
 * show; multishot receive (6.0) falls back by itself (io_uring-sock.c). */
static int uring_probe(struct ax__uring *st) {
  static const int ops[] = {
      IORING_OP_POLL_ADD, IORING_OP_POLL_REMOVE, IORING_OP_ASYNC_CANCEL,
      IORING_OP_SENDMSG,  IORING_OP_CONNECT,     IORING_OP_ACCEPT,
      IORING_OP_RECV,     IORING_OP_SOCKET,
  };
  const unsigned int features = IORING_FEAT_EXT_ARG | IORING_FEAT_NODROP |
                                IORING_FEAT_SUBMIT_STABLE;
  if ((st->ring.features & features) != features)
    return AX_ENOSYS;
  struct io_uring_probe *probe = io_uring_get_probe_ring(&st->ring);
  if (probe == NULL)
    return AX_ENOSYS;
  bool ok = true;
  for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
    ok = ok && io_uring_opcode_supported(probe, ops[i]);
  if (ok)
    ax__uring_fs_init(st, probe);
  io_uring_free_probe(probe);
  return ok ? 0 : AX_ENOSYS;
}

/*
 * Work the kernel cannot finish at once goes to io-wq, the ring's pool of
 * kernel threads, in two classes: bounded (regular files and block
 * devices, which the kernel itself caps at min(SQ entries, 4 per CPU))
 * and unbounded (anything that may wait on someone else, with no cap but
 * RLIMIT_NPROC). Every SPLICE of ax_fs_sendfile (io_uring-fs.c) touches a
 * pipe, so each in flight takes an unbounded worker: 1,000 sendfiles at
 * once made 1,000 kernel threads. Unbounded workers are capped here at the
 * kernel's own figure for bounded ones, 4 per CPU the loop may run on:
 * a splice of cached pages is a copy, which more threads than CPUs do not
 * speed up, and 4 per CPU leaves room for splices that wait on a disk
 * read or a slow pipe while the rest go on; more requests wait in the
 * kernel's queue, as they wait for the pool elsewhere. The cap is the
 * thread's (io-wq belongs to the thread that submits, and serves all of
 * its rings); the kernel keeps it with the ring and applies it when the
 * loop's thread first submits. A kernel without the call (before 5.15)
 * refuses it, and keeps its own limit.
 */
static void uring_iowq_cap(struct ax__uring *st) {
  unsigned int values[2] = {
      0, /* Bounded: the kernel's own cap. */
      URING_IOWQ_UNBOUNDED_PER_CPU * ax_available_parallelism(),
  };
  (void)io_uring_register_iowq_max_workers(&st->ring, values);
}

static int uring_init(ax_loop_t *loop) {
  struct ax__uring *st = ax__calloc(1, sizeof(*st));
  if (st == NULL)
    return AX_ENOMEM;
  int err = uring_setup(st);
  if (err != 0)
    goto out_free;
  (void)__atomic_load_n(&uring_teardowns, __ATOMIC_ACQUIRE);
  err = uring_probe(st);
  if (err != 0)
    goto out_exit;
  st->bufs_ok = ax__uring_bufs_init(st);
  st->recv_limit = true; /* Until the kernel says otherwise. */
  uring_iowq_cap(st);
  loop->priv.platform.backend_data = st;
  return 0;
out_exit:
  __atomic_fetch_add(&uring_teardowns, 1, __ATOMIC_ACQ_REL);
  io_uring_queue_exit(&st->ring);
out_free:
  ax__free(st);
  return err;
}

static void uring_fini(ax_loop_t *loop) {
  struct ax__uring *st = ax__uring_state(loop);
  /* Exiting the ring cancels whatever it still holds. */
  __atomic_fetch_add(&uring_teardowns, 1, __ATOMIC_ACQ_REL);
  io_uring_queue_exit(&st->ring);
  ax__uring_bufs_fini(st);
  ax__uring_slots_fini(st);
  ax__uring_fs_fini(st);
  for (uint32_t i = 0; i < st->npages; i++)
    ax__free(st->pages[i]);
  ax__free(st->pages);
  ax__free(st->ready);
  ax__free(st);
  loop->priv.platform.backend_data = NULL;
}

/* ---- Descriptor polls ---- */

static unsigned int uring_poll_mask(unsigned int events) {
  return (events & AX__IO_READ ? POLLIN | POLLRDHUP : 0u) |
         (events & AX__IO_WRITE ? POLLOUT : 0u) |
         (events & AX__IO_DISCONNECT ? POLLRDHUP : 0u) |
         (events & AX__IO_PRIORITY ? POLLPRI : 0u);
}

static unsigned int uring_poll_translate(int res, unsigned int interest) {
  unsigned int revents = res < 0 ? POLLERR : (unsigned int)res;
  unsigned int events = 0;
  if (revents & POLLIN)
    events |= AX__IO_READ;
  if (revents & POLLPRI)
    events |= AX__IO_PRIORITY;
  if (revents & POLLOUT)
    events |= AX__IO_WRITE;
  if (revents & POLLRDHUP)
    events |= AX__IO_DISCONNECT | AX__IO_READ;
  /* As epoll.c: let the waiting operation discover the error itself. */
  if (revents & (POLLERR | POLLHUP | POLLNVAL))
    events |= AX__IO_ERROR | AX__IO_READ | AX__IO_WRITE;
  return events & (interest | AX__IO_DISCONNECT | AX__IO_ERROR);
}

/*
 * The wakeup channel is drained whole by each callback (unix/async.c), so
 * an edge is all it needs: its poll is multishot and stays in the kernel.
 * ax_poll_t promises level-triggered readiness, which a multishot poll
 * does not give (it completes on the descriptor's wakeups, not while the
 * level holds), so its poll is one-shot, armed again after each delivery;
 * the entry rides in the next iteration's io_uring_enter, at no system
 * call of its own.
 */
static bool uring_poll_multishot(const ax_loop_t *loop, const ax__io_t *io) {
  return io == &loop->priv.platform.async_io;
}

static int uring_poll_arm(ax_loop_t *loop, struct ax__uring_fd *e,
                          ax__io_t *io) {
  struct ax__uring *st = ax__uring_state(loop);
  struct io_uring_sqe *sqe = ax__uring_op(st, e, io->fd, AX__URING_POLL);
  if (sqe == NULL)
    return AX_ENOBUFS;
  e->flags &= (uint8_t)~AX__URING_UPDATE; /* Armed with the events now. */
  unsigned int mask = uring_poll_mask(io->events);
  if (uring_poll_multishot(loop, io))
    io_uring_prep_poll_multishot(sqe, io->fd, mask);
  else
    io_uring_prep_poll_add(sqe, io->fd, mask);
  return 0;
}

/* Change the events of the poll in the kernel, in place. If it completed
 * meanwhile, the update finds nothing, and the poll is armed again with
 * the new events after its delivery. If the ring cannot take the update
 * now (a full queue whose submit the kernel refused), the poll would keep
 * its old events until it fires, and forever if only the new ones come:
 * the update waits on the ready list instead, as a re-arm does
 * (ax__uring_rearm_later), and uring_ready_one sends it. */
static void uring_poll_update(ax_loop_t *loop, struct ax__uring_fd *e,
                              ax__io_t *io) {
  struct ax__uring *st = ax__uring_state(loop);
  struct io_uring_sqe *sqe = ax__uring_sqe(st);
  if (sqe == NULL) {
    e->flags |= AX__URING_UPDATE;
    ax__uring_rearm_later(st, e, io->fd);
    return;
  }
  e->flags &= (uint8_t)~AX__URING_UPDATE;
  uint64_t data = ax__uring_data(io->fd, e->gen, AX__URING_POLL);
  /* No new user_data (0): with it but without IORING_POLL_UPDATE_USER_DATA
   * the kernel refuses the update (EINVAL), and that refusal comes back
   * only in the ignored completion. */
  io_uring_prep_poll_update(sqe, data, 0, uring_poll_mask(io->events),
                            IORING_POLL_UPDATE_EVENTS);
  io_uring_sqe_set_data64(sqe,
                          ax__uring_data(io->fd, e->gen, AX__URING_IGNORE));
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

/* A bad descriptor is refused at once, as epoll_ctl does, rather than
 * reported later as an error event: one fcntl per start, not per event. */
static int uring_poll_check(int fd) {
  if (ax__sys.fcntl(fd, F_GETFD) < 0)
    return ax_translate_sys_error(errno);
  return 0;
}

static int uring_io_start(ax_loop_t *loop, ax__io_t *io, unsigned int events) {
  struct ax__uring *st = ax__uring_state(loop);
  bool fresh = io->events == 0;
  int err = fresh ? uring_poll_check(io->fd) : 0;
  struct ax__uring_fd *e = err == 0 ? ax__uring_attach(st, io, &err) : NULL;
  if (e == NULL)
    return err;
  unsigned int had = io->events;
  io->events = (unsigned short)events;
  e->want |= 1u << AX__URING_POLL;
  if (!(e->live & (1u << AX__URING_POLL)))
    err = uring_poll_arm(loop, e, io);
  else if (had != events && !uring_poll_multishot(loop, io))
    uring_poll_update(loop, e, io);
  if (err != 0) {
    io->events = (unsigned short)had;
    if (fresh)
      ax__uring_reset(st, e);
  }
  ax__uring_busy(loop);
  return err;
}

static void uring_io_stop(ax_loop_t *loop, ax__io_t *io) {
  struct ax__uring *st = ax__uring_state(loop);
  struct ax__uring_fd *e = ax__uring_find(st, io->fd);
  io->events = 0;
  if (e == NULL || e->io != io)
    return;
  bool live = e->live & (1u << AX__URING_POLL);
  ax__uring_cancel(st, e, io->fd, AX__URING_POLL);
  ax__uring_reset(st, e);
  /* The kernel's poll holds the open file: submit the cancel now, so that
   * a close of the descriptor right after really closes it. */
  if (live)
    (void)ax__uring_submit(st);
  ax__uring_busy(loop);
}

/* Arm the poll again if its owner wants it and the kernel does not run
 * it; if the ring cannot take it now, at the next dispatch. */
static void uring_poll_rearm(ax_loop_t *loop, struct ax__uring_fd *e) {
  if (!(e->want & (1u << AX__URING_POLL)) || (e->live & (1u << AX__URING_POLL)))
    return;
  if (uring_poll_arm(loop, e, e->io) != 0)
    ax__uring_rearm_later(ax__uring_state(loop), e, e->io->fd);
}

static void uring_poll_complete(ax_loop_t *loop, struct ax__uring_fd *e,
                                const struct ax__uring_cqe *cqe) {
  struct ax__uring *st = ax__uring_state(loop);
  if (!(cqe->flags & IORING_CQE_F_MORE))
    ax__uring_done(st, e, AX__URING_POLL);
  ax__io_t *io = e->io;
  uint32_t gen = e->gen;
  if (cqe->res != -ECANCELED && (e->want & (1u << AX__URING_POLL))) {
    unsigned int events = uring_poll_translate(cqe->res, io->events);
    if (events != 0)
      io->cb(loop, io, AX__OP_POLL, (intptr_t)events);
  }
  if (e->gen == gen)
    uring_poll_rearm(loop, e);
}

/* ---- Waiting ---- */

/* Whether a completion still concerns an owner; those of owners gone
 * release what they carry here. Cancels' and updates' are never wanted. */
static bool uring_relevant(struct ax__uring *st,
                           const struct ax__uring_cqe *cqe) {
  if ((cqe->user_data & 0xffu) == AX__URING_IGNORE)
    return false;
  if ((cqe->user_data & 0xffu) == AX__URING_FS)
    return true; /* Its slot holds its request until it completes. */
  struct ax__uring_fd *e = ax__uring_find(st, (int)(cqe->user_data >> 32));
  if (e != NULL && (e->gen & 0xffffffu) == ((cqe->user_data >> 8) & 0xffffffu))
    return true;
  ax__uring_orphan(st, cqe);
  return false;
}

/* Copy what the completion queue holds into the batch. */
static int uring_collect(struct ax__uring *st) {
  struct io_uring_cqe *cqe;
  unsigned int head;
  unsigned int seen = 0;
  int n = 0;
  io_uring_for_each_cqe(&st->ring, head, cqe) {
    if (n == AX__MAX_EVENTS_PER_WAIT)
      break;
    seen++;
    struct ax__uring_cqe copy = {cqe->user_data, cqe->res, cqe->flags};
    if (uring_relevant(st, &copy))
      st->batch[n++] = copy;
  }
  io_uring_cq_advance(&st->ring, seen);
  st->batch_len = n;
  st->batch_next = 0;
  return n;
}

/*
 * ThreadSanitizer runs a signal's handler only when the thread next calls
 * a function it intercepts, and liburing enters the kernel with raw
 * system calls it cannot see; with SA_RESTART the kernel even restarts the
 * interrupted wait by itself. So in a TSan build a wait with no limit
 * would hold the handler (and the wakeup it writes) forever: there each
 * enter waits at most a slice, and uring_wait reads the clock (an
 * intercepted call) before it waits on. Elsewhere a wait is one enter.
 */
enum { URING_WAIT_SLICE_NS = AX__UNDER_TSAN ? 50000000 : 0 };

/* One io_uring_enter that submits the queue and waits up to left_ns (-1:
 * no limit; 0: not at all, though completions are still processed). */
static int uring_enter(struct ax__uring *st, int64_t left_ns) {
  struct io_uring_cqe *cqe;
  if (URING_WAIT_SLICE_NS != 0 &&
      (left_ns < 0 || left_ns > URING_WAIT_SLICE_NS))
    left_ns = URING_WAIT_SLICE_NS;
  if (left_ns == 0)
    return ax__uring_sys.submit_and_get_events(&st->ring);
  if (left_ns < 0)
    return ax__uring_sys.submit_and_wait_timeout(&st->ring, &cqe, 1, NULL);
  struct __kernel_timespec ts = {.tv_sec = left_ns / 1000000000,
                                 .tv_nsec = left_ns % 1000000000};
  return ax__uring_sys.submit_and_wait_timeout(&st->ring, &cqe, 1, &ts);
}

static int uring_wait(ax_loop_t *loop, int timeout_ms) {
  struct ax__uring *st = ax__uring_state(loop);
  int err = uring_enable(st);
  if (err != 0)
    return err;
  if (st->ready_len > 0 || st->rearm_scan)
    timeout_ms = 0;
  ax__uring_fs_flush(st);
  uint64_t deadline_ns = ax__hrtime_ns() + (uint64_t)timeout_ms * 1000000u;
  int64_t left_ns = timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000000;
  for (;;) {
    int ret = uring_enter(st, left_ns);
    /* ETIME: the timeout passed; EINTR: a signal; EBUSY or EAGAIN: the
     * kernel holds overflowed completions, which the collect takes. */
    if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EBUSY &&
        ret != -EAGAIN)
      return ax_translate_sys_error(-ret);
    int n = uring_collect(st);
    ax__uring_busy(loop);
    /* The scan counts as one: the loop dispatches only when wait says
     * there is something to. */
    if (n > 0 || left_ns == 0 || st->ready_len > 0 || st->rearm_scan)
      return n + (int)st->ready_len + (st->rearm_scan ? 1 : 0);
    /* Only dropped completions, or an early return: wait on, for no less
     * than the time asked (AX_RUN_ONCE relies on it). */
    if (left_ns > 0) {
      uint64_t now_ns = ax__hrtime_ns();
      if (now_ns >= deadline_ns)
        return 0;
      left_ns = (int64_t)(deadline_ns - now_ns);
    } else if (URING_WAIT_SLICE_NS != 0)
      (void)ax__hrtime_ns(); /* A pending signal's handler runs here. */
  }
}

/* Deliver what a ready entry holds, and arm again what its owner wants
 * and the kernel does not run. A descriptor poll holds nothing: its
 * events were delivered before its re-arm was put off. */
static void uring_ready_one(ax_loop_t *loop, struct ax__uring_fd *e, int fd) {
  if ((e->flags & AX__URING_UPDATE) && (e->live & (1u << AX__URING_POLL)))
    uring_poll_update(loop, e, e->io);
  else if (e->want & (1u << AX__URING_POLL))
    uring_poll_rearm(loop, e);
  else
    ax__uring_sock_ready(loop, e, fd);
}

/* Deliver what the ready list held when dispatch began. */
static int uring_ready_dispatch(ax_loop_t *loop, struct ax__uring *st) {
  uint32_t len = st->ready_len;
  for (uint32_t i = 0; i < len; i++) {
    int fd = st->ready[i];
    struct ax__uring_fd *e = ax__uring_find(st, fd);
    if (e == NULL || !(e->flags & AX__URING_READY))
      continue;
    e->flags &= (uint8_t)~AX__URING_READY;
    uring_ready_one(loop, e, fd);
  }
  /* What callbacks made ready meanwhile waits for the next iteration. An
   * empty list may have no array yet: memmove() wants a pointer even for
   * no bytes. */
  if (st->ready_len > len)
    memmove(st->ready, st->ready + len, (st->ready_len - len) * sizeof(int));
  st->ready_len -= len;
  return (int)len;
}

/* The ready list could not grow to take an entry: treat every entry whose
 * owner wants something as ready. Each delivers only what it holds and
 * arms only what the kernel does not run, so the others cost a look. Rare
 * (out of memory) and bounded by the table; callbacks may add pages, so
 * each descriptor is looked up afresh. */
static void uring_rearm_scan(ax_loop_t *loop, struct ax__uring *st) {
  st->rearm_scan = false;
  uint32_t fds = st->npages << URING_PAGE_SHIFT;
  for (uint32_t fd = 0; fd < fds; fd++) {
    struct ax__uring_fd *e = ax__uring_find(st, (int)fd);
    if (e != NULL && e->io != NULL && e->want != 0)
      uring_ready_one(loop, e, (int)fd);
  }
}

static int uring_dispatch(ax_loop_t *loop) {
  struct ax__uring *st = ax__uring_state(loop);
  int delivered = 0;
  st->seq++;
  while (st->batch_next < st->batch_len) {
    const struct ax__uring_cqe *cqe = &st->batch[st->batch_next++];
    if (!uring_relevant(st, cqe))
      continue; /* Its owner stopped in an earlier callback. */
    int fd = (int)(cqe->user_data >> 32);
    struct ax__uring_fd *e = ax__uring_find(st, fd);
    if ((cqe->user_data & 0xffu) == AX__URING_FS)
      ax__uring_fs_complete(loop, cqe);
    else if ((cqe->user_data & 0xffu) == AX__URING_POLL)
      uring_poll_complete(loop, e, cqe);
    else
      ax__uring_sock_complete(loop, e, fd, cqe);
    delivered++;
  }
  st->batch_len = 0;
  st->batch_next = 0;
  delivered += uring_ready_dispatch(loop, st);
  if (st->rearm_scan)
    uring_rearm_scan(loop, st);
  ax__uring_busy(loop);
  return delivered;
}

/* The ring's descriptor polls readable while completions are queued. */
static int uring_embed_fd(const ax_loop_t *loop) {
  return ax__uring_state(loop)->ring.ring_fd;
}

/* Operations queued in the submission ring reach the kernel only in the
 * next wait, and the ready list is delivered without the kernel: an
 * outside loop waiting on the descriptor would wait for neither. */
static bool uring_embed_busy(const ax_loop_t *loop) {
  struct ax__uring *st = ax__uring_state(loop);
  return io_uring_sq_ready(&st->ring) > 0 || st->ready_len > 0 ||
         !ax__queue_empty(&st->fs_pending);
}

const struct ax__backend ax__backend_io_uring = {
    .name = "io_uring",
    .io_extra = AX__IO_DISCONNECT | AX__IO_PRIORITY,
    .init = uring_init,
    .fini = uring_fini,
    .io_start = uring_io_start,
    .io_stop = uring_io_stop,
    .wait = uring_wait,
    .dispatch = uring_dispatch,
    .sock = &ax__uring_sock_ops,
    .fs = &ax__uring_fs_ops,
    .embed_fd = uring_embed_fd,
    .embed_busy = uring_embed_busy,
};
