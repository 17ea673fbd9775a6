/*
 * threadpool.c: the worker threads that run blocking work, shared by every
 * loop of the process.
 *
 * A job queued on a loop waits on that loop's submission list until the loop
 * hands its list to the pool, once per poll phase and once at the end of an
 * iteration, under one lock. In the pool, jobs wait in three lanes, one
 * queue each. A general worker takes a file system job first, else the
 * older of the first DNS job and the first user job, a DNS job only while
 * fewer than half the workers run DNS (a lookup can block for seconds).
 * One reserve worker, started with the first file system job, takes file
 * system jobs only: user jobs may fill every general worker for as long as
 * they like, and file access still moves.
 *
 * One mutex guards the lanes and the worker counts. A finished job is
 * pushed onto its loop's done stack, and the loop is woken through its
 * wakeup channel only when the stack was empty: a burst of completions
 * costs one wakeup. The loop runs the completions from its async dispatch
 * (src/async.c), each exactly once. The worker pushes while it holds the
 * mutex it takes anyway for its next job, and wakes the loop once it lets
 * go of it: fork(2), whose prepare handler takes the mutex too, then finds
 * every job the parent's workers held either in a worker's slot or on a
 * done stack, never in both or neither (pool_atfork_child).
 *
 * Workers start with every asynchronous signal blocked
 * (ax__thread_create_worker): the user's handlers run on the user's
 * threads, and a job that writes to a pipe or socket whose reader left
 * (sendfile to a reset connection, a user job's write) gets EPIPE without
 * a SIGPIPE that would end the process.
 */
#include <stdlib.h>

#include "histogram.h"
#include "internal.h"

enum {
  POOL_DEFAULT_THREADS = 4,
  POOL_MAX_THREADS = 1024,
  POOL_SLOTS = POOL_MAX_THREADS + 1, /* The general workers and the reserve. */
};

/* The public lane numbers are the pool's own. */
_Static_assert((int)AX_LANE_FS == (int)AX__LANE_FS &&
                   (int)AX_LANE_DNS == (int)AX__LANE_DNS &&
                   (int)AX_LANE_USER == (int)AX__LANE_USER &&
                   (int)AX_LANE_MAX == (int)AX__LANES,
               "axle: the public lanes differ from the pool's");

/* A job's state. SUBMITTED: on its loop's list; QUEUED: in the pool's
 * queue; then RUNNING, and DONE or CANCELLED. */
enum {
  WORK_SUBMITTED = 1,
  WORK_QUEUED,
  WORK_RUNNING,
  WORK_DONE,
  WORK_CANCELLED
};
enum { SLOT_FREE = 0, SLOT_RUNNING, SLOT_EXITED };

struct pool_worker {
  ax_thread_t thread;   /* The worker's thread. */
  int state;            /* SLOT_*, under the pool mutex. */
  int reserve;          /* Takes file system jobs only. */
  struct ax__work *job; /* The job it runs, or NULL (for a fork's child). */
  ax_loop_t *wake;      /* A loop to wake once the mutex is let go, whose
                           done stack this worker found empty. */
};

static struct {
  ax_once_t once;                  /* Creates the locks below. */
  ax_mutex_t mutex;                /* Guards everything below. */
  ax_cond_t general_cond;          /* Idle general workers wait here. */
  ax_cond_t reserve_cond;          /* The idle reserve worker waits here. */
  ax__queue_t lanes[AX__LANES];    /* Queued jobs, one queue per lane. */
  unsigned int running[AX__LANES]; /* Jobs of each lane running now. */
  unsigned int size;               /* General workers wanted. */
  int size_from_api;               /* ax_threadpool_set_size() chose it. */
  unsigned int general;            /* General workers alive. */
  unsigned int general_idle;       /* Asleep, and not signalled yet. */
  unsigned int general_woken;      /* Signalled, not awake yet. */
  unsigned int to_exit;            /* General workers asked to exit. */
  int started;                     /* General workers started (__atomic). */
  int reserve_started;             /* Reserve worker started (__atomic). */
  int reserve_idle;                /* The reserve worker waits for a job. */
  int shutting_down;               /* The process exits (__atomic). */
  int released;      /* ax_library_shutdown() freed the locks (__atomic). */
  int locks_made;    /* The once made all three locks. */
  int fork_locked;   /* fork(2)'s prepare handler holds the mutex. */
  int fork_err;      /* A child's fresh locks could not be made (__atomic). */
  uint64_t enqueued; /* Jobs ever queued: the next order. */
  ax_pid_t pid;      /* The process the workers run in (pool_start). */
  /* In a child of fork(2): the jobs the parent's pool held, queued or
   * running, which no worker of the child will run; each loop's are
   * cancelled by its ax_loop_fork(). */
  ax__queue_t orphans;
  /* The parent's locks, which a thread that does not exist here may have
   * held: never used again, nor destroyed, but kept (reachable). */
  ax_mutex_t parent_mutex;
  ax_cond_t parent_conds[2];
  struct pool_worker workers[POOL_SLOTS]; /* Every worker ever started. */
} pool = {.once = AX_ONCE_INIT, .size = POOL_DEFAULT_THREADS};

/* Per loop: finished jobs waiting for the loop thread, as a lock-free
 * stack that workers push onto and the loop takes whole. A push that finds
 * the stack empty wakes the loop; one that finds it non-empty knows a wakeup
 * is already due, since the loop has not taken the stack yet. */
struct loop_work {
  ax__queue_t submitted;  /* Queued jobs not handed to the pool yet. */
  struct ax__queue *done; /* Top of the stack, linked by next (__atomic). */
  unsigned int jobs;      /* Jobs queued or running (loop thread only). */
  int posting;            /* Workers inside pool_post_done (__atomic). */
  /* Per lane, the completed jobs' queue waits and run times: recorded
   * and read on the loop thread only, from times the workers measured. */
  ax_histogram_t wait[AX__LANES];
  ax_histogram_t run[AX__LANES];
};

/* Read without the mutex by loops queueing their first job, so atomic. */
static int pool_is_started(void) {
  return __atomic_load_n(&pool.started, __ATOMIC_ACQUIRE);
}

static int pool_reserve_is_started(void) {
  return __atomic_load_n(&pool.reserve_started, __ATOMIC_ACQUIRE);
}

/* In a child of fork(2): the error that keeps its pool from running. */
static int pool_fork_err(void) {
  return __atomic_load_n(&pool.fork_err, __ATOMIC_ACQUIRE);
}

static void pool_atfork_prepare(void);
static void pool_atfork_parent(void);
static void pool_atfork_child(void);

/* Make the locks, or none of them: a failure (an allocation, on POSIX)
 * leaves the pool as it was, and the next request tries again. */
static int pool_init_once(void) {
  int err = ax_mutex_init(&pool.mutex);
  if (err != 0)
    return err;
  err = ax_cond_init(&pool.general_cond);
  if (err != 0)
    goto out_destroy_mutex;
  err = ax_cond_init(&pool.reserve_cond);
  if (err != 0)
    goto out_destroy_general;
  pool.locks_made = 1;
  for (int i = 0; i < AX__LANES; i++)
    ax__queue_init(&pool.lanes[i]);
  ax__queue_init(&pool.orphans);
  /* Should this fail (out of memory), ax_loop_fork() resets the pool in a
   * child instead, as far as it can without the prepare handler. */
  (void)ax__thread_atfork(pool_atfork_prepare, pool_atfork_parent,
                          pool_atfork_child);
  return 0;

out_destroy_general:
  ax_cond_destroy(&pool.general_cond);
out_destroy_mutex:
  ax_mutex_destroy(&pool.mutex);
  return err;
}

static unsigned int pool_dns_cap(void) {
  return pool.size < 2 ? 1 : pool.size / 2;
}

/* The oldest job of a queue that is not empty. */
static struct ax__work *pool_head(ax__queue_t *q) {
  return ax_container_of(ax__queue_head(q), struct ax__work, node);
}

/*
 * The next job this worker may take, off its queue; NULL if none. File
 * system jobs come first. DNS and user jobs run in the order they were
 * queued, as in libuv: a lookup queued behind user jobs waits for them
 * rather than jumping ahead, so it can still be cancelled while it waits
 * (ax_cancel() takes only a job no worker has taken). No job waits for one
 * queued after it, so neither kind starves the other, and the DNS cap
 * keeps slow lookups from filling the pool.
 */
static struct ax__work *pool_take(const struct pool_worker *self) {
  ax__queue_t *q = &pool.lanes[AX__LANE_FS];
  if (ax__queue_empty(q)) {
    if (self->reserve)
      return NULL;
    ax__queue_t *user = &pool.lanes[AX__LANE_USER];
    ax__queue_t *dns = &pool.lanes[AX__LANE_DNS];
    q = user;
    /* The cap only when there is a lookup: user jobs alone skip it. */
    if (!ax__queue_empty(dns) && pool.running[AX__LANE_DNS] < pool_dns_cap() &&
        (ax__queue_empty(user) ||
         pool_head(dns)->u.order < pool_head(user)->u.order))
      q = dns;
    if (ax__queue_empty(q))
      return NULL;
  }
  struct ax__work *w = pool_head(q);
  ax__queue_remove(&w->node);
  return w;
}

/* Push a finished or cancelled job onto its loop's done stack: its loop,
 * which must then be woken with pool_wake_loop(), if the stack was empty;
 * else NULL. Once the push lands, the loop may run the job's callback
 * (woken by anything), finish, and close: the loop's posting count, which
 * the wakeup ends, keeps ax_loop_close() from freeing the channel and the
 * loop's record while the wakeup is due. The job may be freed by its owner
 * from the push on. */
static ax_loop_t *pool_push_done(struct ax__work *w) {
  ax_loop_t *loop = w->loop;
  struct loop_work *lw = loop->priv.work;
  __atomic_fetch_add(&lw->posting, 1, __ATOMIC_ACQUIRE);
  struct ax__queue *top = __atomic_load_n(&lw->done, __ATOMIC_RELAXED);
  do
    w->node.next = top;
  while (!__atomic_compare_exchange_n(&lw->done, &top, &w->node, true,
                                      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
  if (top == NULL)
    return loop;
  __atomic_fetch_sub(&lw->posting, 1, __ATOMIC_RELEASE);
  return NULL;
}

/* Wake a loop that pool_push_done() returned, and end its posting. */
static void pool_wake_loop(ax_loop_t *loop) {
  struct loop_work *lw = loop->priv.work;
  ax__wakeup_signal(loop);
  __atomic_fetch_sub(&lw->posting, 1, __ATOMIC_RELEASE);
}

/* Hand a finished or cancelled job to its loop, waking the loop if it had
 * nothing waiting. */
static void pool_post_done(struct ax__work *w) {
  ax_loop_t *loop = pool_push_done(w);
  if (loop != NULL)
    pool_wake_loop(loop);
}

/* Whether this worker should leave: the process exits, or the pool shrank
 * and not enough general workers have left yet. */
static int pool_should_exit(const struct pool_worker *self) {
  return pool.shutting_down || (!self->reserve && pool.to_exit > 0);
}

/* Sleep until a job or an exit request may be there. Idle counts only
 * workers nobody has signalled yet: a burst of jobs then wakes as many
 * workers as are asleep, not one signal per job. Mutex held. */
static void pool_sleep(struct pool_worker *self) {
  if (self->reserve) {
    pool.reserve_idle = 1;
    ax_cond_wait(&pool.reserve_cond, &pool.mutex);
    pool.reserve_idle = 0;
    return;
  }
  pool.general_idle++;
  ax_cond_wait(&pool.general_cond, &pool.mutex);
  if (pool.general_woken > 0)
    pool.general_woken--; /* The signaller already counted us awake. */
  else
    pool.general_idle--; /* Woken by a broadcast or spuriously. */
}

/* Take the loop this worker's last push left to wake: NULL if none. */
static ax_loop_t *pool_take_wake(struct pool_worker *self) {
  ax_loop_t *loop = self->wake;
  self->wake = NULL;
  return loop;
}

/* Wait for a job; NULL means exit. Called and returns with the mutex held.
 * A loop left to wake is woken before the worker sleeps, still holding the
 * mutex: with no job queued, only that loop's next flush wants it, and the
 * loop takes longer to wake than this worker to reach its wait. */
static struct ax__work *pool_wait_job(struct pool_worker *self) {
  for (;;) {
    if (pool_should_exit(self))
      return NULL;
    struct ax__work *w = pool_take(self);
    if (w != NULL)
      return w;
    if (self->wake != NULL)
      pool_wake_loop(pool_take_wake(self));
    pool_sleep(self);
  }
}

/* Run one job with the mutex released, then hand it to its loop. Called
 * and returns with the mutex held. The slot names the job from the moment
 * it leaves its queue until it is on its loop's done stack: both under the
 * mutex, so that a fork(2) sees one or the other. The loop is woken after
 * the mutex is let go (here, for the next job, or in pool_wait_job). */
static void pool_run_job(struct pool_worker *self, struct ax__work *w) {
  int lane = w->lane;
  __atomic_store_n(&w->state, WORK_RUNNING, __ATOMIC_RELAXED);
  pool.running[lane]++;
  self->job = w;
  ax_loop_t *wake = pool_take_wake(self);
  ax_mutex_unlock(&pool.mutex);
  if (wake != NULL)
    pool_wake_loop(wake);
  uint64_t start_ns = ax__hrtime_ns();
  w->u.wait_ns = start_ns - w->t.queued_ns;
  w->work(w);
  /* Read by the loop thread after the done stack's release and acquire:
   * the worker writes the job's times, the loop records them. */
  w->t.run_ns = ax__hrtime_ns() - start_ns;
  /* Only ax__work_cancel() reads the state concurrently, and it acts on
   * QUEUED alone, which a running job never returns to. */
  __atomic_store_n(&w->state, WORK_DONE, __ATOMIC_RELAXED);
  ax_mutex_lock(&pool.mutex);
  self->job = NULL;
  pool.running[lane]--;
  /* Once the process exits, the loop that queued the job may be gone
   * (a main() that returned): its completion is dropped. */
  if (!__atomic_load_n(&pool.shutting_down, __ATOMIC_ACQUIRE))
    self->wake = pool_push_done(w);
}

static void pool_worker_main(void *arg) {
  struct pool_worker *self = arg;
  ax_mutex_lock(&pool.mutex);
  for (;;) {
    struct ax__work *w = pool_wait_job(self);
    if (w == NULL)
      break;
    pool_run_job(self, w);
  }
  if (!self->reserve) {
    if (pool.to_exit > 0)
      pool.to_exit--;
    pool.general--;
  }
  self->state = SLOT_EXITED;
  ax_loop_t *wake = pool_take_wake(self);
  ax_mutex_unlock(&pool.mutex);
  /* Once the process exits, the loop may be gone (see pool_run_job). */
  if (wake != NULL && !__atomic_load_n(&pool.shutting_down, __ATOMIC_ACQUIRE))
    pool_wake_loop(wake);
}

/* Join a worker that has exited, freeing its slot. Mutex held; the worker
 * no longer needs it. */
static void pool_reap(struct pool_worker *slot) {
  if (slot->state != SLOT_EXITED)
    return;
  ax_thread_join(&slot->thread);
  slot->state = SLOT_FREE;
}

/* Start one worker in a free slot. Mutex held. */
static int pool_spawn(int reserve) {
  for (int i = 0; i < POOL_SLOTS; i++) {
    struct pool_worker *slot = &pool.workers[i];
    pool_reap(slot);
    if (slot->state != SLOT_FREE)
      continue;
    slot->reserve = reserve;
    slot->state = SLOT_RUNNING;
    int err = ax__thread_create_worker(&slot->thread, pool_worker_main, slot);
    if (err != 0) {
      slot->state = SLOT_FREE;
      return err;
    }
    if (!reserve)
      pool.general++;
    return 0;
  }
  return AX_EAGAIN; /* Every slot runs a worker: cannot happen. */
}

/* Make the number of general workers match pool.size. Mutex held. */
static int pool_resize_locked(void) {
  unsigned int staying = pool.general - pool.to_exit;
  if (staying > pool.size) {
    pool.to_exit += staying - pool.size;
    ax_cond_broadcast(&pool.general_cond);
    return 0;
  }
  unsigned int missing = pool.size - staying;
  unsigned int recalled = missing < pool.to_exit ? missing : pool.to_exit;
  pool.to_exit -= recalled;
  for (missing -= recalled; missing > 0; missing--) {
    int err = pool_spawn(0);
    if (err != 0) {
      /* Run with the workers there are: the DNS cap follows the size, and
       * must not let lookups take every worker that actually exists. */
      pool.size = pool.general - pool.to_exit;
      return err;
    }
  }
  return 0;
}

/* The size from AX_THREADPOOL_SIZE, unless the API chose one. */
static void pool_read_env(void) {
  const char *env = getenv("AX_THREADPOOL_SIZE");
  if (pool.size_from_api || env == NULL || env[0] == '\0')
    return;
  char *end;
  unsigned long n = strtoul(env, &end, 10);
  if (*end == '\0' && n >= 1 && n <= POOL_MAX_THREADS)
    pool.size = (unsigned int)n;
}

/* Start the general workers with the first job. Mutex held. When not
 * one can start (out of memory or threads), the job fails and the size
 * wanted stays, for the next job to try again: a size of 0 would start
 * the pool with no worker, and every job after would wait forever. */
static int pool_start(void) {
  pool_read_env();
  unsigned int wanted = pool.size;
  int err = pool_resize_locked();
  if (err != 0 && pool.general == 0) {
    pool.size = wanted;
    return err;
  }
  /* Some workers started: run with those rather than fail every job. */
  pool.size = pool.general;
  pool.pid = ax_os_getpid();
  __atomic_store_n(&pool.started, 1, __ATOMIC_RELEASE);
  return 0;
}

static int pool_init(void) {
  /* After ax_library_shutdown() the locks are gone: refuse, rather than
   * lock freed memory. */
  if (__atomic_load_n(&pool.released, __ATOMIC_ACQUIRE))
    return AX_EINVAL;
  /* A child of fork(2) whose fresh locks could not be made. */
  if (pool_fork_err() != 0)
    return pool_fork_err();
  return ax__once_try(&pool.once, pool_init_once);
}

/* Allocate the loop's done stack and open its wakeup channel, once. */
static int work_loop_init(ax_loop_t *loop) {
  if (loop->priv.work != NULL)
    return 0;
  int err = ax__wakeup_open(loop);
  if (err != 0)
    return err;
  struct loop_work *lw = ax__calloc(1, sizeof(*lw));
  if (lw == NULL)
    return AX_ENOMEM;
  ax__queue_init(&lw->submitted);
  loop->priv.work = lw;
  return 0;
}

/* Put a job on its lane's queue, at its place in the pool's order. Mutex
 * held. */
static void pool_enqueue(struct ax__work *w, uint64_t order) {
  w->u.order = order;
  __atomic_store_n(&w->state, WORK_QUEUED, __ATOMIC_RELAXED);
  ax__queue_insert_tail(&pool.lanes[w->lane], &w->node);
}

/* Wake workers for jobs just queued: one general worker per job while any
 * sleeps, and the reserve worker when file system jobs are left over.
 * Mutex held. */
static void pool_wake(unsigned int jobs, int fs_jobs) {
  for (; jobs > 0 && pool.general_idle > 0; jobs--) {
    pool.general_idle--;
    pool.general_woken++;
    ax_cond_signal(&pool.general_cond);
  }
  if (jobs > 0 && fs_jobs && pool.reserve_idle)
    ax_cond_signal(&pool.reserve_cond);
}

/* Start the pool (and the reserve worker, for a file system job) if it is
 * not running yet, so that a failure is reported to the caller who queues
 * the job rather than lost later. */
static int pool_ensure_started(int lane) {
  int err = 0;
  ax_mutex_lock(&pool.mutex);
  if (!pool_is_started())
    err = pool_start();
  /* Without a reserve worker, file system jobs still run on the general
   * workers, only without the guarantee: not worth failing the job. */
  if (err == 0 && lane == AX__LANE_FS && !pool_reserve_is_started())
    __atomic_store_n(&pool.reserve_started, pool_spawn(1) == 0,
                     __ATOMIC_RELEASE);
  ax_mutex_unlock(&pool.mutex);
  return err;
}

/*
 * Queue a job. It first goes on the loop's own submission list, without a
 * lock; the loop hands the whole list to the pool under one lock before it
 * polls and at the end of each iteration (ax__work_flush). A callback that
 * queues a thousand jobs so takes the pool's lock once, not a thousand
 * times against the workers.
 */
int ax__work_submit(ax_loop_t *loop, struct ax__work *w, int lane) {
  int err = pool_init();
  if (err == 0)
    err = work_loop_init(loop);
  if (err == 0 && (!pool_is_started() ||
                   (lane == AX__LANE_FS && !pool_reserve_is_started())))
    err = pool_ensure_started(lane);
  if (err != 0)
    return err;
  struct loop_work *lw = loop->priv.work;
  w->loop = loop;
  w->lane = lane;
  w->t.queued_ns = loop->priv.time_ns;
  __atomic_store_n(&w->state, WORK_SUBMITTED, __ATOMIC_RELAXED);
  ax__queue_insert_tail(&lw->submitted, &w->node);
  loop->priv.active_reqs++;
  lw->jobs++;
  return 0;
}

/* Hand the loop's submitted jobs to the pool under one lock. */
void ax__work_flush(ax_loop_t *loop) {
  struct loop_work *lw = loop->priv.work;
  if (lw == NULL || ax__queue_empty(&lw->submitted))
    return;
  unsigned int jobs = 0;
  int fs_jobs = 0;
  ax_mutex_lock(&pool.mutex);
  while (!ax__queue_empty(&lw->submitted)) {
    ax__queue_t *node = ax__queue_head(&lw->submitted);
    ax__queue_remove(node);
    struct ax__work *w = ax_container_of(node, struct ax__work, node);
    fs_jobs |= w->lane == AX__LANE_FS;
    pool_enqueue(w, pool.enqueued + jobs);
    jobs++;
  }
  pool.enqueued += jobs;
  pool_wake(jobs, fs_jobs);
  ax_mutex_unlock(&pool.mutex);
}

/* Cancel a job still on the loop's list (no lock) or in the pool's queue. */
int ax__work_cancel(struct ax__work *w) {
  int cancelled = 0;
  int state = __atomic_load_n(&w->state, __ATOMIC_RELAXED);
  if (state == WORK_SUBMITTED) {
    ax__queue_remove(&w->node);
    cancelled = 1;
  } else if (state == WORK_QUEUED) {
    /* Only a job the pool holds needs its lock: one that never reached
     * the pool (its queueing failed) may not even have a pool to lock. */
    ax_mutex_lock(&pool.mutex);
    if (__atomic_load_n(&w->state, __ATOMIC_RELAXED) == WORK_QUEUED) {
      ax__queue_remove(&w->node);
      cancelled = 1;
    }
    ax_mutex_unlock(&pool.mutex);
  }
  if (!cancelled)
    return AX_EBUSY;
  __atomic_store_n(&w->state, WORK_CANCELLED, __ATOMIC_RELAXED);
  pool_post_done(w);
  return 0;
}

/* Run the completions that reached the loop before this call, each once,
 * in the order they finished. Those arriving meanwhile wake the loop
 * again. */
void ax__work_dispatch(ax_loop_t *loop) {
  struct loop_work *lw = loop->priv.work;
  if (lw == NULL)
    return;
  struct ax__queue *top = __atomic_exchange_n(&lw->done, NULL,
                                              __ATOMIC_ACQUIRE);
  /* The stack holds the newest first: reverse it into finishing order. */
  struct ax__queue *first = NULL;
  while (top != NULL) {
    struct ax__queue *next = top->next;
    top->next = first;
    first = top;
    top = next;
  }
  while (first != NULL) {
    struct ax__work *w = ax_container_of(first, struct ax__work, node);
    first = first->next;
    int status = __atomic_load_n(&w->state, __ATOMIC_RELAXED) == WORK_DONE
                     ? 0
                     : AX_ECANCELED;
    loop->priv.active_reqs--;
    lw->jobs--;
    loop->priv.work_completed++;
    if (status == 0) {
      loop->priv.work_wait_ns += w->u.wait_ns;
      ax__histogram_add(&lw->wait[w->lane], w->u.wait_ns);
      ax__histogram_add(&lw->run[w->lane], w->t.run_ns);
    }
    w->done(w, status);
  }
}

unsigned int ax__work_pending(const ax_loop_t *loop) {
  const struct loop_work *lw = loop->priv.work;
  return lw != NULL ? lw->jobs : 0;
}

bool ax__work_unflushed(const ax_loop_t *loop) {
  const struct loop_work *lw = loop->priv.work;
  return lw != NULL && !ax__queue_empty(&lw->submitted);
}

int ax_loop_lane_metrics(const ax_loop_t *loop, ax_lane lane,
                         ax_histogram_t *wait, ax_histogram_t *run) {
  if (loop == NULL || loop->priv.state != AX__LOOP_READY ||
      (unsigned int)lane >= AX_LANE_MAX)
    return AX_EINVAL;
  const struct loop_work *lw = loop->priv.work;
  if (wait != NULL) {
    if (lw != NULL)
      *wait = lw->wait[lane];
    else
      ax_histogram_reset(wait);
  }
  if (run != NULL) {
    if (lw != NULL)
      *run = lw->run[lane];
    else
      ax_histogram_reset(run);
  }
  return 0;
}

int ax_loop_lane_metrics_reset(ax_loop_t *loop) {
  if (loop == NULL || loop->priv.state != AX__LOOP_READY)
    return AX_EINVAL;
  struct loop_work *lw = loop->priv.work;
  for (int lane = 0; lane < AX__LANES && lw != NULL; lane++) {
    ax_histogram_reset(&lw->wait[lane]);
    ax_histogram_reset(&lw->run[lane]);
  }
  return 0;
}

/* Make fresh locks for a child of fork(2): the parent's may be held by
 * threads the child does not have, and a condition variable may count
 * waiters that are not there. Fails only out of memory. */
static int pool_fork_locks(void) {
  ax_mutex_t mutex;
  ax_cond_t general_cond;
  ax_cond_t reserve_cond;
  int err = ax_mutex_init(&mutex);
  if (err != 0)
    return err;
  err = ax_cond_init(&general_cond);
  if (err != 0)
    goto out_destroy_mutex;
  err = ax_cond_init(&reserve_cond);
  if (err != 0)
    goto out_destroy_general;
  pool.parent_mutex = pool.mutex;
  pool.parent_conds[0] = pool.general_cond;
  pool.parent_conds[1] = pool.reserve_cond;
  pool.mutex = mutex;
  pool.general_cond = general_cond;
  pool.reserve_cond = reserve_cond;
  return 0;

out_destroy_general:
  ax_cond_destroy(&general_cond);
out_destroy_mutex:
  ax_mutex_destroy(&mutex);
  return err;
}

/* In a child of fork(2), once: no worker exists here, so the pool starts
 * afresh with the next job, and what the parent's pool held, queued or
 * running, becomes orphans. The child is one thread now: no lock. A job
 * that a slot names has not reached its loop's done stack (pool_run_job);
 * one that has is left there and completes in the child, its results
 * copied with the rest of the memory. */
static int pool_fork(void) {
  for (int lane = 0; lane < AX__LANES; lane++) {
    while (!ax__queue_empty(&pool.lanes[lane])) {
      ax__queue_t *node = ax__queue_head(&pool.lanes[lane]);
      ax__queue_remove(node);
      ax__queue_insert_tail(&pool.orphans, node);
    }
    pool.running[lane] = 0;
  }
  for (int i = 0; i < POOL_SLOTS; i++) {
    struct pool_worker *slot = &pool.workers[i];
    /* A running job is on no queue: its node is free to link. */
    if (slot->state == SLOT_RUNNING && slot->job != NULL)
      ax__queue_insert_tail(&pool.orphans, &slot->job->node);
    slot->job = NULL;
    slot->wake = NULL; /* ax__work_loop_fork() wakes every loop it forks. */
    slot->state = SLOT_FREE; /* Its thread is the parent's: never joined. */
  }
  pool.general = 0;
  pool.general_idle = 0;
  pool.general_woken = 0;
  pool.to_exit = 0;
  pool.reserve_idle = 0;
  __atomic_store_n(&pool.started, 0, __ATOMIC_RELEASE);
  __atomic_store_n(&pool.reserve_started, 0, __ATOMIC_RELEASE);
  return pool_fork_locks();
}

/* fork(2)'s handlers, registered with the pool's locks. Before the fork,
 * take the mutex: no worker is then between a job's queue, its slot and
 * its done stack, and the parent's queues are whole. After it, the parent
 * lets go; the child, whose copy of the mutex is held by a thread it does
 * not have, resets the pool with fresh locks, so that a job queued on any
 * loop there (a new one, or one passed to ax_loop_fork()) runs on workers
 * of its own. Out of memory for those locks, the pool refuses every job in
 * the child with that error (pool_init). */
static void pool_atfork_prepare(void) {
  if (!pool.locks_made || __atomic_load_n(&pool.released, __ATOMIC_ACQUIRE))
    return;
  ax_mutex_lock(&pool.mutex);
  pool.fork_locked = 1;
}

static void pool_atfork_parent(void) {
  if (!pool.fork_locked)
    return;
  pool.fork_locked = 0;
  ax_mutex_unlock(&pool.mutex);
}

static void pool_atfork_child(void) {
  if (!pool.fork_locked)
    return;
  pool.fork_locked = 0;
  __atomic_store_n(&pool.fork_err, pool_fork(), __ATOMIC_RELEASE);
}

/* ax_loop_fork(): reset the pool if this process is a child that has not
 * yet, then end the loop's jobs that the parent's workers hold: they run
 * (or ran) there, and complete here with AX_ECANCELED. Jobs on the loop's
 * own list were never handed over and run in the child. */
int ax__work_loop_fork(ax_loop_t *loop) {
  /* Without the fork handlers (pthread_atfork failed), the reset is done
   * here, by the first loop forked. */
  if (pool_fork_err() == 0 && pool_is_started() && pool.pid != ax_os_getpid())
    __atomic_store_n(&pool.fork_err, pool_fork(), __ATOMIC_RELEASE);
  if (pool_fork_err() != 0)
    return pool_fork_err();
  struct loop_work *lw = loop->priv.work;
  if (lw == NULL || !pool.locks_made)
    return 0;
  /* A worker of the parent may have pushed a job without waking the loop
   * yet: its count ends here, and the loop is woken for what its stack
   * holds. */
  __atomic_store_n(&lw->posting, 0, __ATOMIC_RELAXED);
  if (__atomic_load_n(&lw->done, __ATOMIC_ACQUIRE) != NULL)
    ax__wakeup_signal(loop);
  ax__queue_t *node = ax__queue_head(&pool.orphans);
  while (node != &pool.orphans) {
    ax__queue_t *next = node->next;
    struct ax__work *w = ax_container_of(node, struct ax__work, node);
    if (w->loop == loop) {
      ax__queue_remove(node);
      /* A job that finished before the fork has its results in the
       * child's memory too: it completes as done. */
      if (__atomic_load_n(&w->state, __ATOMIC_RELAXED) != WORK_DONE)
        __atomic_store_n(&w->state, WORK_CANCELLED, __ATOMIC_RELAXED);
      pool_post_done(w);
    }
    node = next;
  }
  return 0;
}

/* Release the loop's done queue; no job of the loop is in flight. */
void ax__work_loop_close(ax_loop_t *loop) {
  struct loop_work *lw = loop->priv.work;
  if (lw == NULL)
    return;
  /* A worker may still be signalling a completion the loop has already
   * run: wait it out, a few instructions at most. */
  while (__atomic_load_n(&lw->posting, __ATOMIC_ACQUIRE) != 0)
    ax__thread_yield();
  ax__free(lw);
  loop->priv.work = NULL;
}

int ax_threadpool_set_size(unsigned int threads) {
  if (threads < 1 || threads > POOL_MAX_THREADS)
    return AX_EINVAL;
  int err = pool_init();
  if (err != 0)
    return err;
  ax_mutex_lock(&pool.mutex);
  pool.size = threads;
  pool.size_from_api = 1;
  if (pool_is_started())
    err = pool_resize_locked();
  ax_mutex_unlock(&pool.mutex);
  return err;
}

unsigned int ax_threadpool_get_size(void) {
  if (pool_init() != 0)
    return pool.size;
  ax_mutex_lock(&pool.mutex);
  pool_read_env();
  unsigned int size = pool.size;
  ax_mutex_unlock(&pool.mutex);
  return size;
}

/* At process exit: workers finish the job they run and leave; queued jobs
 * are dropped with the loops that wanted them. */
void ax__threadpool_shutdown(void) {
  if (__atomic_load_n(&pool.released, __ATOMIC_ACQUIRE) || pool_fork_err() != 0)
    return;
  if (!pool_is_started() && !pool_reserve_is_started())
    return;
  ax_mutex_lock(&pool.mutex);
  __atomic_store_n(&pool.shutting_down, 1, __ATOMIC_RELEASE);
  ax_cond_broadcast(&pool.general_cond);
  ax_cond_broadcast(&pool.reserve_cond);
  for (int i = 0; i < POOL_SLOTS; i++) {
    struct pool_worker *slot = &pool.workers[i];
    if (slot->state == SLOT_FREE)
      continue;
    /* Joining needs the worker to take the mutex once more. */
    ax_mutex_unlock(&pool.mutex);
    ax_thread_join(&slot->thread);
    ax_mutex_lock(&pool.mutex);
    slot->state = SLOT_FREE;
  }
  ax_mutex_unlock(&pool.mutex);
}

/* ax_library_shutdown(), which calls this once: join the workers as at
 * exit, then free the locks. The destructor that runs at exit afterwards
 * finds nothing to do. */
void ax__threadpool_release(void) {
  ax__threadpool_shutdown();
  __atomic_store_n(&pool.released, 1, __ATOMIC_RELEASE);
  if (!pool.locks_made || pool_fork_err() != 0)
    return;
  ax_cond_destroy(&pool.reserve_cond);
  ax_cond_destroy(&pool.general_cond);
  ax_mutex_destroy(&pool.mutex);
}

static void user_work(struct ax__work *w) {
  ax_work_t *work = ax_container_of(w, ax_work_t, priv.work);
  work->priv.work_cb(work);
}

static void user_done(struct ax__work *w, int status) {
  ax_work_t *work = ax_container_of(w, ax_work_t, priv.work);
  if (work->priv.after_work_cb != NULL)
    work->priv.after_work_cb(work, status);
}

int ax_queue_work(ax_loop_t *loop, ax_work_t *work, ax_work_cb work_cb,
                  ax_after_work_cb after_work_cb) {
  if (loop == NULL || work == NULL || work_cb == NULL)
    return AX_EINVAL;
  work->req.loop = loop;
  work->req.type = AX_WORK;
  work->priv.work_cb = work_cb;
  work->priv.after_work_cb = after_work_cb;
  work->priv.work.work = user_work;
  work->priv.work.done = user_done;
  /* Not queued until submit says so: ax_cancel() of a request whose
   * queueing failed then finds nothing to cancel. */
  work->priv.work.state = 0;
  return ax__work_submit(loop, &work->priv.work, AX__LANE_USER);
}

/* ax_cancel() of a work request (req.c). */
int ax__work_req_cancel(ax_req_t *req) {
  return ax__work_cancel(&((ax_work_t *)req)->priv.work);
}
