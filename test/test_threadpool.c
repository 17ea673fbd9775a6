/*
 * test_threadpool.c: the thread pool: jobs run off the loop thread and
 * complete on it, exactly once; cancel; resize under load; user jobs that
 * fill the pool do not starve file system jobs; four loops on four threads
 * share the pool; metrics; AX_THREADPOOL_SIZE (meson sets it to 3 here).
 *
 * The pool is process-wide, so the tests run in order against one pool.
 * Jobs that must stay busy wait on a semaphore the test posts: no test
 * depends on how long anything takes.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "net.h"
#include "test.h"

static ax_thread_t loop_thread;

struct job {
  ax_work_t work;    /* The request. */
  int ran_on_loop;   /* work_cb ran on the loop thread (must not). */
  int after_calls;   /* after_work_cb calls. */
  int status;        /* The status it got. */
  int after_on_loop; /* after_work_cb ran on the loop thread (must). */
  ax_sem_t *gate;    /* If set, work_cb waits for it. */
  int *counter;      /* If set, work_cb increments it atomically. */
};

static void job_work(ax_work_t *work) {
  struct job *j = ax_container_of(work, struct job, work);
  ax_thread_t self = ax_thread_self();
  j->ran_on_loop = ax_thread_equal(&self, &loop_thread);
  if (j->gate != NULL)
    ax_sem_wait(j->gate);
  if (j->counter != NULL)
    __atomic_add_fetch(j->counter, 1, __ATOMIC_RELAXED);
}

static void job_after(ax_work_t *work, int status) {
  struct job *j = ax_container_of(work, struct job, work);
  ax_thread_t self = ax_thread_self();
  j->after_on_loop = ax_thread_equal(&self, &loop_thread);
  j->after_calls++;
  j->status = status;
}

static bool refuse_every_allocation(void) {
  return true;
}

/* Registered first, before anything makes the pool's locks (which
 * allocate on POSIX): while allocations fail, a request fails with
 * AX_ENOMEM; once they work again, the locks are made. The first failure
 * used to be kept for the life of the process, the pool refusing every
 * request after it. Starts no worker, for the tests that follow. */
static void test_pool_locks_retried_after_enomem(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_work_t work;
  assert_int_equal(ax_loop_init(&loop), 0);
  __atomic_store_n(&ax__alloc_refuse, refuse_every_allocation,
                   __ATOMIC_RELEASE);
  int err = ax_queue_work(&loop, &work, job_work, job_after);
  __atomic_store_n(&ax__alloc_refuse, NULL, __ATOMIC_RELEASE);
  assert_int_equal(err, AX_ENOMEM);
  assert_false(ax_loop_alive(&loop));
  /* The size from AX_THREADPOOL_SIZE (3, from meson) is read only once
   * the locks exist: without them, the default (4) comes back. */
  assert_int_equal(ax_threadpool_get_size(), 3);
  assert_int_equal(ax_loop_close(&loop), 0);
}

/* Allocations the hook below lets through before it refuses every one. */
static int allocations_allowed;

static bool refuse_after_allowed(void) {
  return __atomic_sub_fetch(&allocations_allowed, 1, __ATOMIC_RELAXED) < 0;
}

/* Registered after test_pool_size_bounds (whose size the API chose, so
 * that the environment cannot restore it) and before any job starts the
 * pool. The first job's loop record is allocated; then no worker can
 * start: that job fails with AX_ENOMEM, and the size stays. It used to
 * drop to 0, and the next job started a pool of no worker and waited
 * forever. */
static void test_pool_first_workers_fail(void **state) {
  (void)state;
  loop_thread = ax_thread_self();
  ax_loop_t loop;
  test_loop_open(&loop);
  struct job j;
  memset(&j, 0, sizeof(j));
  __atomic_store_n(&allocations_allowed, 1, __ATOMIC_RELAXED);
  __atomic_store_n(&ax__alloc_refuse, refuse_after_allowed, __ATOMIC_RELEASE);
  int err = ax_queue_work(&loop, &j.work, job_work, job_after);
  __atomic_store_n(&ax__alloc_refuse, NULL, __ATOMIC_RELEASE);
  assert_int_equal(err, AX_ENOMEM);
  assert_int_equal(ax_threadpool_get_size(), 3);
  struct test_guard guard;
  test_guard_start(&loop, &guard);
  assert_int_equal(ax_queue_work(&loop, &j.work, job_work, job_after), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(j.after_calls, 1);
  assert_int_equal(j.status, 0);
  test_guard_close(&guard);
  test_loop_close(&loop);
}

static void test_pool_env_size(void **state) {
  (void)state;
  /* Before anything set a size, AX_THREADPOOL_SIZE (3, from meson) does. */
  assert_int_equal(ax_threadpool_get_size(), 3);
}

static void test_pool_invalid(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_work_t work;
  test_loop_open(&loop);
  assert_int_equal(ax_queue_work(NULL, &work, job_work, job_after), AX_EINVAL);
  assert_int_equal(ax_queue_work(&loop, NULL, job_work, job_after), AX_EINVAL);
  assert_int_equal(ax_queue_work(&loop, &work, NULL, job_after), AX_EINVAL);
  assert_int_equal(ax_cancel(NULL), AX_EINVAL);
  assert_int_equal(ax_threadpool_set_size(0), AX_EINVAL);
  assert_int_equal(ax_threadpool_set_size(1025), AX_EINVAL);
  assert_int_equal(ax_threadpool_get_size(), 3);
  assert_string_equal(ax_req_type_name(AX_WORK), "work");
  assert_string_equal(ax_req_type_name(AX_REQ_TYPE_MAX), "unknown");
  assert_false(ax_loop_alive(&loop));
  test_loop_close(&loop);
}

enum { MANY = 500 };

static void test_pool_many_jobs(void **state) {
  (void)state;
  ax_loop_t loop;
  static struct job jobs[MANY];
  int counter = 0;
  memset(jobs, 0, sizeof(jobs));
  test_loop_open(&loop);
  for (int i = 0; i < MANY; i++) {
    jobs[i].counter = &counter;
    assert_int_equal(ax_queue_work(&loop, &jobs[i].work, job_work, job_after),
                     0);
  }
  assert_true(ax_loop_alive(&loop)); /* Requests keep the loop alive. */
  assert_int_equal(ax_loop_close(&loop), AX_EBUSY);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(counter, MANY);
  for (int i = 0; i < MANY; i++) {
    assert_int_equal(jobs[i].after_calls, 1);
    assert_int_equal(jobs[i].status, 0);
    assert_false(jobs[i].ran_on_loop);
    assert_true(jobs[i].after_on_loop);
    assert_int_equal(jobs[i].work.req.type, AX_WORK);
    assert_ptr_equal(jobs[i].work.req.loop, &loop);
  }
  ax_metrics_t m;
  ax_loop_metrics(&loop, &m);
  assert_int_equal(m.work_completed, MANY);
  assert_int_equal(m.work_pending, 0);
  test_loop_close(&loop);
}

static void test_pool_null_after_cb(void **state) {
  (void)state;
  ax_loop_t loop;
  struct job j;
  int counter = 0;
  memset(&j, 0, sizeof(j));
  j.counter = &counter;
  test_loop_open(&loop);
  assert_int_equal(ax_queue_work(&loop, &j.work, job_work, NULL), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(counter, 1);
  test_loop_close(&loop);
}

enum { CANCELLED = 20 };

static void test_pool_cancel(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_sem_t gate;
  static struct job blockers[3];
  static struct job queued[CANCELLED];
  test_loop_open(&loop);
  memset(blockers, 0, sizeof(blockers));
  memset(queued, 0, sizeof(queued));
  assert_int_equal(ax_sem_init(&gate, 0), 0);
  /* Three jobs hold the three workers; the rest stay queued. */
  for (int i = 0; i < 3; i++) {
    blockers[i].gate = &gate;
    assert_int_equal(
        ax_queue_work(&loop, &blockers[i].work, job_work, job_after), 0);
  }
  for (int i = 0; i < CANCELLED; i++)
    assert_int_equal(ax_queue_work(&loop, &queued[i].work, job_work, job_after),
                     0);
  ax_metrics_t m;
  ax_loop_metrics(&loop, &m);
  assert_int_equal(m.work_pending, 3 + CANCELLED);
  /* Half are cancelled while still on the loop's own list, half after
   * the loop handed them to the pool (a NOWAIT iteration flushes it). */
  for (int i = 0; i < CANCELLED / 2; i++)
    assert_int_equal(ax_cancel(&queued[i].work.req), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  for (int i = CANCELLED / 2; i < CANCELLED; i++)
    assert_int_equal(ax_cancel(&queued[i].work.req), 0);
  /* Cancelled once is enough; they complete in a later iteration. */
  assert_int_equal(ax_cancel(&queued[CANCELLED - 1].work.req), AX_EBUSY);
  assert_int_equal(queued[CANCELLED - 1].after_calls, 0);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  for (int i = 0; i < CANCELLED; i++) {
    assert_int_equal(queued[i].after_calls, 1);
    assert_int_equal(queued[i].status, AX_ECANCELED);
  }
  for (int i = 0; i < 3; i++)
    ax_sem_post(&gate);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(blockers[i].status, 0);
    /* Done jobs cannot be cancelled. */
    assert_int_equal(ax_cancel(&blockers[i].work.req), AX_EBUSY);
  }
  ax_sem_destroy(&gate);
  test_loop_close(&loop);
}

enum { RESIZE_JOBS = 200 };

static void test_pool_resize_under_load(void **state) {
  (void)state;
  ax_loop_t loop;
  static struct job jobs[RESIZE_JOBS];
  int counter = 0;
  memset(jobs, 0, sizeof(jobs));
  test_loop_open(&loop);
  for (int i = 0; i < RESIZE_JOBS; i++) {
    jobs[i].counter = &counter;
    assert_int_equal(ax_queue_work(&loop, &jobs[i].work, job_work, job_after),
                     0);
    /* Grow and shrink while jobs run. */
    if (i == 50)
      assert_int_equal(ax_threadpool_set_size(8), 0);
    if (i == 100)
      assert_int_equal(ax_threadpool_set_size(1), 0);
    if (i == 150)
      assert_int_equal(ax_threadpool_set_size(5), 0);
  }
  assert_int_equal(ax_threadpool_get_size(), 5);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(counter, RESIZE_JOBS);
  for (int i = 0; i < RESIZE_JOBS; i++)
    assert_int_equal(jobs[i].after_calls, 1);
  assert_int_equal(ax_threadpool_set_size(2), 0);
  test_loop_close(&loop);
}

struct fs_job {
  struct ax__work work; /* A file-system-lane job. */
  int done;             /* Its completion ran. */
  ax_sem_t *release;    /* Posted from the completion: frees the blockers. */
  int blockers;         /* How many user jobs to release. */
};

static void fs_job_work(struct ax__work *w) {
  (void)w;
}

static void fs_job_done(struct ax__work *w, int status) {
  struct fs_job *f = ax_container_of(w, struct fs_job, work);
  assert_int_equal(status, 0);
  f->done = 1;
  for (int i = 0; i < f->blockers; i++)
    ax_sem_post(f->release);
}

static void test_pool_user_jobs_do_not_starve_fs(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_sem_t gate;
  static struct job blockers[6];
  struct fs_job f;
  test_loop_open(&loop);
  memset(blockers, 0, sizeof(blockers));
  memset(&f, 0, sizeof(f));
  assert_int_equal(ax_sem_init(&gate, 0), 0);
  /* Two general workers, six user jobs that block until the file system
   * job has completed: only the reserve worker can run it. */
  assert_int_equal(ax_threadpool_set_size(2), 0);
  for (int i = 0; i < 6; i++) {
    blockers[i].gate = &gate;
    assert_int_equal(
        ax_queue_work(&loop, &blockers[i].work, job_work, job_after), 0);
  }
  f.work.work = fs_job_work;
  f.work.done = fs_job_done;
  f.release = &gate;
  f.blockers = 6;
  assert_int_equal(ax__work_submit(&loop, &f.work, AX__LANE_FS), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_true(f.done);
  for (int i = 0; i < 6; i++)
    assert_int_equal(blockers[i].status, 0);
  ax_sem_destroy(&gate);
  test_loop_close(&loop);
}

enum { LOOPS = 4, JOBS_PER_LOOP = 200 };

struct loop_thread {
  ax_loop_t loop;                 /* Its own loop. */
  struct job jobs[JOBS_PER_LOOP]; /* Its jobs. */
  int counter;                    /* Work callbacks run for it. */
  int after_calls;                /* Completions seen on its loop. */
  int result;                     /* 0 if everything checked out. */
};

static void loop_thread_after(ax_work_t *work, int status) {
  struct job *j = ax_container_of(work, struct job, work);
  struct loop_thread *lt = work->req.data;
  (void)j;
  if (status == 0)
    lt->after_calls++;
}

static void loop_thread_main(void *arg) {
  struct loop_thread *lt = arg;
  lt->result = ax_loop_init(&lt->loop);
  for (int i = 0; lt->result == 0 && i < JOBS_PER_LOOP; i++) {
    lt->jobs[i].counter = &lt->counter;
    lt->jobs[i].work.req.data = lt;
    lt->result = ax_queue_work(&lt->loop, &lt->jobs[i].work, job_work,
                               loop_thread_after);
  }
  if (lt->result == 0)
    lt->result = ax_run(&lt->loop, AX_RUN_DEFAULT);
  if (lt->result == 0)
    lt->result = ax_loop_close(&lt->loop);
}

static void test_pool_shared_by_four_loops(void **state) {
  (void)state;
  static struct loop_thread lts[LOOPS];
  ax_thread_t threads[LOOPS];
  ax_loop_t loop;
  test_loop_open(&loop); /* counts the memory of the four loops too */
  memset(lts, 0, sizeof(lts));
  assert_int_equal(ax_threadpool_set_size(4), 0);
  for (int i = 0; i < LOOPS; i++)
    assert_int_equal(ax_thread_create(&threads[i], loop_thread_main, &lts[i]),
                     0);
  for (int i = 0; i < LOOPS; i++) {
    assert_int_equal(ax_thread_join(&threads[i]), 0);
    assert_int_equal(lts[i].result, 0);
    assert_int_equal(lts[i].counter, JOBS_PER_LOOP);
    assert_int_equal(lts[i].after_calls, JOBS_PER_LOOP);
  }
  test_loop_close(&loop);
}

static void test_pool_metrics_wait_time(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_sem_t gate;
  struct job blocker, waiter;
  test_loop_open(&loop);
  memset(&blocker, 0, sizeof(blocker));
  memset(&waiter, 0, sizeof(waiter));
  assert_int_equal(ax_sem_init(&gate, 0), 0);
  assert_int_equal(ax_threadpool_set_size(1), 0);
  /* With one worker held, the second job waits in the queue until the
   * test releases the first: its waiting time is counted. */
  blocker.gate = &gate;
  assert_int_equal(ax_queue_work(&loop, &blocker.work, job_work, job_after), 0);
  assert_int_equal(ax_queue_work(&loop, &waiter.work, job_work, job_after), 0);
  ax_sem_post(&gate);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  ax_metrics_t m;
  ax_loop_metrics(&loop, &m);
  assert_int_equal(m.work_completed, 2);
  assert_true(m.work_wait_ns > 0);
  ax_sem_destroy(&gate);
  assert_int_equal(ax_threadpool_set_size(3), 0);
  test_loop_close(&loop);
}

static int group_setup(void **state) {
  (void)state;
  loop_thread = ax_thread_self();
  return 0;
}

/* ---- The DNS lane's cap: half the pool ---- */

enum {
  DNS_POOL_SIZE = 4,
  DNS_CAP = DNS_POOL_SIZE / 2,
  DNS_JOBS = DNS_POOL_SIZE,
  /* How long a job waits for the others at most: a guard against a bug
   * that would otherwise deadlock the test, never a measurement. */
  DNS_GUARD_NS = 5000000000ull,
};

static int dns_running; /* DNS-lane jobs running now. */
static int dns_most;    /* The most that ever ran at once. */
static int dns_started; /* DNS-lane jobs started. */
static int dns_release; /* Set by the probe: DNS jobs may end. */

struct lane_job {
  struct ax__work work; /* The job. */
  int done;             /* Its completion ran. */
};

/* Wait, bounded, until *flag reaches want; returns whether it did. */
static int lane_wait(const int *flag, int want) {
  uint64_t start = ax_hrtime();
  while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) < want) {
    if (ax_hrtime() - start > DNS_GUARD_NS)
      return 0;
    ax__thread_yield();
  }
  return 1;
}

static void dns_lane_work(struct ax__work *w) {
  (void)w;
  int now = __atomic_add_fetch(&dns_running, 1, __ATOMIC_ACQ_REL);
  int most = __atomic_load_n(&dns_most, __ATOMIC_ACQUIRE);
  while (now > most &&
         !__atomic_compare_exchange_n(&dns_most, &most, now, 0,
                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    continue;
  __atomic_add_fetch(&dns_started, 1, __ATOMIC_ACQ_REL);
  (void)lane_wait(&dns_release, 1);
  __atomic_sub_fetch(&dns_running, 1, __ATOMIC_ACQ_REL);
}

/* A user job, run by a worker the DNS lane may not take: once the DNS
 * jobs fill their cap, it lets them end. */
static void dns_probe_work(struct ax__work *w) {
  (void)w;
  (void)lane_wait(&dns_started, DNS_CAP);
  __atomic_store_n(&dns_release, 1, __ATOMIC_RELEASE);
}

static void lane_job_done(struct ax__work *w, int status) {
  assert_int_equal(status, 0);
  ax_container_of(w, struct lane_job, work)->done = 1;
}

/* As many lookups as workers: at most half the workers run them at once,
 * and the rest are left for the other lanes, here a user job. */
static void test_pool_dns_lane_capped_at_half(void **state) {
  (void)state;
  ax_loop_t loop;
  static struct lane_job dns[DNS_JOBS];
  static struct lane_job probe;
  test_loop_open(&loop);
  memset(dns, 0, sizeof(dns));
  memset(&probe, 0, sizeof(probe));
  dns_running = dns_most = dns_started = dns_release = 0;
  assert_int_equal(ax_threadpool_set_size(DNS_POOL_SIZE), 0);
  for (int i = 0; i < DNS_JOBS; i++) {
    dns[i].work.work = dns_lane_work;
    dns[i].work.done = lane_job_done;
    assert_int_equal(ax__work_submit(&loop, &dns[i].work, AX__LANE_DNS), 0);
  }
  probe.work.work = dns_probe_work;
  probe.work.done = lane_job_done;
  assert_int_equal(ax__work_submit(&loop, &probe.work, AX__LANE_USER), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  for (int i = 0; i < DNS_JOBS; i++)
    assert_true(dns[i].done);
  assert_true(probe.done);
  assert_int_equal(dns_most, DNS_CAP);
  test_loop_close(&loop);
}

/* ---- The size's bounds: 1024 is a size, 1025 is not ---- */

/* Registered right after test_pool_env_size, before any job starts the
 * pool, so that the largest size costs no threads. The environment is
 * set with putenv(), which POSIX and the Windows C runtime both have. */
static void test_pool_size_bounds(void **state) {
  (void)state;
  static char env_max[] = "AX_THREADPOOL_SIZE=1024";
  static char env_default[] = "AX_THREADPOOL_SIZE=3";
  assert_int_equal(putenv(env_max), 0);
  assert_int_equal(ax_threadpool_get_size(), 1024);
  assert_int_equal(putenv(env_default), 0);
  assert_int_equal(ax_threadpool_get_size(), 3);

  assert_int_equal(ax_threadpool_set_size(1024), 0);
  assert_int_equal(ax_threadpool_get_size(), 1024);
  assert_int_equal(ax_threadpool_set_size(1025), AX_EINVAL);
  assert_int_equal(ax_threadpool_get_size(), 1024);
  assert_int_equal(ax_threadpool_set_size(3), 0);
}

/* ---- What a libuv program relies on ---- */

enum { ORDER_JOBS = 8 };

struct ordered {
  ax_work_t works[ORDER_JOBS]; /* Queued in index order. */
  int seen[ORDER_JOBS];        /* Indexes in after-work order. */
  int len;                     /* After-work callbacks so far. */
};

static void ordered_work(ax_work_t *work) {
  (void)work;
}

static void ordered_after(ax_work_t *work, int status) {
  struct ordered *o = work->req.data;
  assert_int_equal(status, 0);
  o->seen[o->len++] = (int)(work - o->works);
}

/* One worker: jobs run in the order they were queued, and their after-work
 * callbacks come back on the loop in that order, each once. */
static void test_pool_libuv_after_work_order(void **state) {
  (void)state;
  ax_loop_t loop;
  static struct ordered o;
  memset(&o, 0, sizeof(o));
  assert_int_equal(ax_threadpool_set_size(1), 0);
  test_loop_open(&loop);
  for (int i = 0; i < ORDER_JOBS; i++) {
    o.works[i].req.data = &o;
    assert_int_equal(
        ax_queue_work(&loop, &o.works[i], ordered_work, ordered_after), 0);
  }
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(o.len, ORDER_JOBS);
  for (int i = 0; i < ORDER_JOBS; i++)
    assert_int_equal(o.seen[i], i);
  assert_int_equal(ax_threadpool_set_size(3), 0);
  test_loop_close(&loop);
}

struct cancelled {
  int work_status; /* The work's after-work status, 1 until called. */
  int name_status; /* The getnameinfo's status, 1 until called. */
  int work_calls;  /* After-work callbacks. */
  int name_calls;  /* getnameinfo callbacks. */
  int name_null;   /* Its host and service were both NULL. */
};

static void cancelled_work(ax_work_t *work) {
  (void)work;
  fail_msg("a cancelled job ran");
}

static void cancelled_after(ax_work_t *work, int status) {
  struct cancelled *c = work->req.data;
  c->work_calls++;
  c->work_status = status;
}

static void cancelled_name_cb(ax_getnameinfo_t *req, int status,
                              const char *host, const char *service) {
  struct cancelled *c = req->req.data;
  c->name_calls++;
  c->name_status = status;
  c->name_null = host == NULL && service == NULL;
}

/* Cancelled while queued, as libuv's threadpool_cancel tests do it: a user
 * job and a DNS lookup behind jobs that fill every worker. Each completes
 * once, with AX_ECANCELED, in a later iteration (never inside ax_cancel);
 * a second cancel is AX_EBUSY. */
static void test_pool_libuv_cancel_kinds(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_sem_t gate;
  static struct job blockers[3];
  memset(blockers, 0, sizeof(blockers));
  test_loop_open(&loop);
  assert_int_equal(ax_sem_init(&gate, 0), 0);
  for (int i = 0; i < 3; i++) {
    blockers[i].gate = &gate;
    assert_int_equal(
        ax_queue_work(&loop, &blockers[i].work, job_work, job_after), 0);
  }
  struct cancelled c = {.work_status = 1, .name_status = 1};
  ax_work_t work;
  ax_getnameinfo_t name;
  work.req.data = name.req.data = &c;
  struct sockaddr_in sin;
  assert_int_equal(ax_ip4_addr("127.0.0.1", 80, &sin), 0);
  assert_int_equal(ax_queue_work(&loop, &work, cancelled_work, cancelled_after),
                   0);
  assert_int_equal(ax_getnameinfo(&loop, &name, (struct sockaddr *)&sin, 0,
                                  cancelled_name_cb),
                   0);
  assert_int_equal(ax_cancel(&work.req), 0);
  assert_int_equal(ax_cancel(&name.req), 0);
  assert_int_equal(ax_cancel(&work.req), AX_EBUSY);
  assert_int_equal(c.work_calls + c.name_calls, 0);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(c.work_calls, 1);
  assert_int_equal(c.work_status, AX_ECANCELED);
  assert_int_equal(c.name_calls, 1);
  assert_int_equal(c.name_status, AX_ECANCELED);
  assert_true(c.name_null);
  for (int i = 0; i < 3; i++)
    ax_sem_post(&gate);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(c.work_calls, 1);
  assert_int_equal(c.name_calls, 1);
  ax_sem_destroy(&gate);
  test_loop_close(&loop);
}

struct finished {
  ax_work_t work;  /* The job. */
  atomic_int ran;  /* Set by the worker when the job is over. */
  int after_calls; /* After-work callbacks. */
  int status;      /* The status it got. */
};

static void finished_work(ax_work_t *work) {
  struct finished *f = ax_container_of(work, struct finished, work);
  atomic_store(&f->ran, 1);
}

static void finished_after(ax_work_t *work, int status) {
  struct finished *f = ax_container_of(work, struct finished, work);
  f->after_calls++;
  f->status = status;
}

/* A job that a worker has finished, whose after-work callback the loop has
 * not run yet, can no longer be cancelled: AX_EBUSY, and the callback
 * still says 0 (its work was done), as in libuv. */
static void test_pool_libuv_cancel_finished_job(void **state) {
  (void)state;
  ax_loop_t loop;
  static struct finished f;
  memset(&f, 0, sizeof(f));
  test_loop_open(&loop);
  assert_int_equal(ax_queue_work(&loop, &f.work, finished_work, finished_after),
                   0);
  /* The loop hands the job to the pool in its next iteration. */
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  uint64_t start_ns = ax_hrtime();
  while (!atomic_load(&f.ran)) {
    assert_true(ax_hrtime() - start_ns < 20000000000u);
    ax_sleep(1);
  }
  assert_int_equal(ax_cancel(&f.work.req), AX_EBUSY);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(f.after_calls, 1);
  assert_int_equal(f.status, 0);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pool_locks_retried_after_enomem),
      cmocka_unit_test(test_pool_env_size),
      cmocka_unit_test(test_pool_size_bounds),
      cmocka_unit_test(test_pool_first_workers_fail),
      cmocka_unit_test(test_pool_invalid),
      cmocka_unit_test(test_pool_many_jobs),
      cmocka_unit_test(test_pool_null_after_cb),
      cmocka_unit_test(test_pool_cancel),
      cmocka_unit_test(test_pool_resize_under_load),
      cmocka_unit_test(test_pool_user_jobs_do_not_starve_fs),
      cmocka_unit_test(test_pool_shared_by_four_loops),
      cmocka_unit_test(test_pool_metrics_wait_time),
      cmocka_unit_test(test_pool_dns_lane_capped_at_half),
      cmocka_unit_test(test_pool_libuv_after_work_order),
      cmocka_unit_test(test_pool_libuv_cancel_kinds),
      cmocka_unit_test(test_pool_libuv_cancel_finished_job),
  };
  return cmocka_run_group_tests(tests, group_setup, NULL);
}
