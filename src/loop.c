/*
 * loop.c: the loop's life (init, close) and one iteration.
 *
 * One iteration runs these phases, each over a bounded set:
 *
 *   update time -> timers -> pending -> idle -> prepare -> poll -> check
 *   -> close callbacks
 *
 * Timers run only those due when the phase began; idle, prepare, check,
 * pending and close phases run the handles queued when the phase began;
 * the poll phase delivers at most AX__MAX_EVENTS_PER_WAIT completions. So a
 * callback that re-arms itself waits for the next iteration, and no source
 * can starve the others. The backend is chosen here, from ax__backends.
 *
 * Also here: what lets another loop drive this one (the backend's
 * descriptor and timeout), the process's default loop, the accessors of
 * the fields every loop, handle and request has, and the release of the
 * library's global state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "internal.h"
#include "child.h"

/* Whether loop is one that ax_loop_init() made and ax_loop_close() has not
 * closed: what the loop's accessors check before they touch it, as a
 * zeroed or closed loop has no lists and no backend. */
static bool loop_ready(const ax_loop_t *loop) {
  return loop != NULL && loop->priv.state == AX__LOOP_READY;
}

static const struct ax__backend *loop_find_backend(const char *name) {
  for (size_t i = 0; ax__backends[i] != NULL; i++) {
    if (strcmp(ax__backends[i]->name, name) == 0)
      return ax__backends[i];
  }
  return NULL;
}

/* Start the first backend that agrees to, beginning with preferred (which
 * may be NULL). The first failure is kept as the fallback error. */
static int loop_start_backend(ax_loop_t *loop,
                              const struct ax__backend *preferred,
                              unsigned int flags) {
  int first_error = 0;
  if (preferred != NULL) {
    int err = preferred->init(loop);
    if (err == 0) {
      loop->priv.platform.backend = preferred;
      return 0;
    }
    if (flags & AX_LOOP_BACKEND_STRICT)
      return err;
    first_error = err;
  }
  /* The error of the last backend tried: the preferred one's, when it was
   * the platform's only one (Windows has IOCP alone). */
  int err = first_error != 0 ? first_error : AX_ENOSYS;
  for (size_t i = 0; ax__backends[i] != NULL; i++) {
    if (ax__backends[i] == preferred || ax__backends[i]->named_only)
      continue;
    err = ax__backends[i]->init(loop);
    if (err == 0) {
      loop->priv.platform.backend = ax__backends[i];
      loop->priv.fallback_error = first_error;
      return 0;
    }
    if (first_error == 0)
      first_error = err;
  }
  return err;
}

/* The backend the options or AX_BACKEND ask for. An unknown name in options
 * is the caller's error; an unknown name in the environment is an operator's
 * typo, reported once the loop knows which backend it runs instead. */
static int loop_preferred_backend(const ax_loop_options_t *options,
                                  const struct ax__backend **preferred,
                                  const char **env_name) {
  *preferred = NULL;
  *env_name = NULL;
  if (options != NULL && options->backend != NULL) {
    *preferred = loop_find_backend(options->backend);
    return *preferred != NULL ? 0 : AX_EINVAL;
  }
  const char *env = getenv("AX_BACKEND");
  if (env == NULL || env[0] == '\0')
    return 0;
  *env_name = env;
  *preferred = loop_find_backend(env);
  return 0;
}

/* An operator who named a backend in AX_BACKEND and did not get it is told
 * so, on stderr: the one place a library may speak up unasked, because the
 * alternative is a silent misconfiguration. */
static void loop_report_env_fallback(const ax_loop_t *loop,
                                     const struct ax__backend *preferred,
                                     const char *env_name) {
  const char *running = loop->priv.platform.backend->name;
  if (preferred == NULL)
    (void)fprintf(stderr,
                  "axle: AX_BACKEND=%s is not a backend here, using %s\n",
                  env_name, running);
  else if (loop->priv.fallback_error != 0)
    (void)fprintf(stderr, "axle: AX_BACKEND=%s cannot start (%s), using %s\n",
                  env_name, ax_err_name(loop->priv.fallback_error), running);
}

int ax_loop_init_ex(ax_loop_t *loop, const ax_loop_options_t *options) {
  if (loop == NULL)
    return AX_EINVAL;
  if (options != NULL && (options->flags & ~AX_LOOP_BACKEND_STRICT) != 0)
    return AX_EINVAL;
  const struct ax__backend *preferred;
  const char *env_name;
  int err = loop_preferred_backend(options, &preferred, &env_name);
  if (err != 0)
    return err;

  void *data = loop->data;
  memset(loop, 0, sizeof(*loop));
  loop->data = data;
  ax__queue_init(&loop->priv.handles);
  ax__queue_init(&loop->priv.closing);
  ax__queue_init(&loop->priv.idle_handles);
  ax__queue_init(&loop->priv.prepare_handles);
  ax__queue_init(&loop->priv.check_handles);
  ax__queue_init(&loop->priv.pending);
  ax__queue_init(&loop->priv.async_handles);
  ax__wakeup_init(loop);

  err = loop_start_backend(loop, preferred,
                           options != NULL ? options->flags : 0);
  if (err != 0)
    return err;
  if (env_name != NULL)
    loop_report_env_fallback(loop, preferred, env_name);
  ax__update_time(loop);
  loop->priv.state = AX__LOOP_READY;
  return 0;
}

int ax_loop_init(ax_loop_t *loop) {
  return ax_loop_init_ex(loop, NULL);
}

int ax_loop_close(ax_loop_t *loop) {
  if (!loop_ready(loop))
    return AX_EINVAL;
  if (loop->priv.running || !ax__queue_empty(&loop->priv.handles) ||
      !ax__queue_empty(&loop->priv.closing) || loop->priv.active_reqs != 0)
    return AX_EBUSY;
  ax__work_loop_close(loop);
  ax__process_loop_close(loop);
  ax__loop_delay_free(loop);
  ax__wakeup_close(loop);
  loop->priv.platform.backend->fini(loop);
  void *data = loop->data;
  memset(loop, 0, sizeof(*loop));
  loop->data = data;
  loop->priv.state = AX__LOOP_CLOSED;
  return 0;
}

/*
 * After fork(2), in the child. The backend makes its kernel object anew
 * and registers every started io again, and the wakeup and signal
 * channels are replaced (all three are open files the child shares with
 * the parent); then the pool starts afresh. The order matters: until the
 * backend has its own object, a change of interest would reach the
 * parent's. In the process that made the loop (no fork since), the
 * backend sees that it is no child and does nothing: replacing the wakeup
 * channel there would race with the threads that signal it.
 */
int ax_loop_fork(ax_loop_t *loop) {
  if (!loop_ready(loop))
    return AX_EINVAL;
  if (loop->priv.running)
    return AX_EBUSY;
  const struct ax__backend *backend = loop->priv.platform.backend;
  if (backend->fork == NULL)
    return AX_ENOSYS;
  int err = backend->fork(loop);
  int work_err = ax__work_loop_fork(loop);
  return err != 0 ? err : work_err;
}

static bool loop_alive(const ax_loop_t *loop) {
  return loop->priv.active_handles > 0 || loop->priv.active_reqs > 0 ||
         !ax__queue_empty(&loop->priv.pending) ||
         !ax__queue_empty(&loop->priv.closing);
}

bool ax_loop_alive(const ax_loop_t *loop) {
  return loop_ready(loop) && loop_alive(loop);
}

/* How long the poll phase may block: not at all if anything is ready to run
 * without I/O, else until the next timer, else without limit. */
static int loop_poll_timeout_ms(const ax_loop_t *loop, ax_run_mode mode) {
  if (mode == AX_RUN_NOWAIT || loop->priv.stop_flag || !loop_alive(loop) ||
      !ax__queue_empty(&loop->priv.idle_handles) ||
      !ax__queue_empty(&loop->priv.pending) ||
      !ax__queue_empty(&loop->priv.closing))
    return 0;
  return ax__next_timeout_ms(loop);
}

/* The poll phase: wait, take the time, deliver. The clock reads serve both
 * the loop's cached time and the idle-time metric. */
static int loop_poll(ax_loop_t *loop, int timeout_ms) {
  const struct ax__backend *backend = loop->priv.platform.backend;
  if (timeout_ms <= 0 && !ax__io_any(loop)) {
    /* Nothing is watched, so nothing could become ready: skip the system
     * call. With no timer either (a loop kept alive by prepare or check
     * handles alone) an unbounded wait would never end. */
    ax__update_time(loop);
    if (loop->priv.delay != NULL)
      ax__loop_delay_note(loop, loop->priv.time_ns);
    return 0;
  }
  /* A wait that cannot block needs no start time: one clock read, unless
   * the loop's delay is measured (metrics.c), which needs it too. */
  struct ax__loop_delay *delay = loop->priv.delay;
  uint64_t before_ns = 0;
  if (delay != NULL) {
    before_ns = ax__loop_clock_ns(loop);
    ax__loop_delay_note(loop, before_ns);
  } else if (timeout_ms != 0) {
    before_ns = ax__loop_clock_ns(loop);
  }
  int n = backend->wait(loop, timeout_ms);
  ax__update_time(loop);
  if (delay != NULL)
    delay->resumed_ns = loop->priv.time_ns;
  if (timeout_ms != 0)
    loop->priv.poll_wait_ns += loop->priv.time_ns - before_ns;
  if (n < 0)
    return n;
  if (n == 0)
    return 0;
  n = backend->dispatch(loop);
  loop->priv.events += (uint64_t)n;
  if (timeout_ms != 0)
    loop->priv.events_waiting += (uint64_t)n;
  return 0;
}

/* The pending phase: completions deferred by the code that produced them,
 * in the order they were deferred. Those deferred while it runs wait for
 * the next iteration. */
static void loop_run_pending(ax_loop_t *loop) {
  ax__queue_t ready;
  ax__queue_move(&loop->priv.pending, &ready);
  while (!ax__queue_empty(&ready)) {
    ax__queue_t *node = ax__queue_head(&ready);
    ax__queue_remove(node);
    ax__pending_t *pending = ax_container_of(node, ax__pending_t, node);
    pending->cb(loop, pending);
  }
}

void ax__pending_push(ax_loop_t *loop, ax__pending_t *pending) {
  assert(ax__queue_empty(&pending->node) && "axle: completion deferred twice");
  ax__queue_insert_tail(&loop->priv.pending, &pending->node);
}

/*
 * One iteration. A failure of the backend's wait itself (its descriptor
 * closed behind the loop's back, say) ends the iteration and is returned
 * by ax_run(), so that a broken loop reports instead of spinning.
 *
 * AX_RUN_ONCE promises progress, and timers due now are progress: then the
 * iteration runs as AX_RUN_NOWAIT does, its wait not blocking. Else the
 * wait may block, and if it ends on a timer's timeout, a second timer
 * phase runs that timer in this call. With a blocking wait and a second
 * phase after timers had run, a repeating timer far behind would run at
 * the start, wait for its next slot and run again: twice in one iteration
 * (libuv keeps a regression test against exactly that).
 */
static inline int loop_iterate(ax_loop_t *loop, ax_run_mode mode) {
  ax__update_time(loop);
  if (mode == AX_RUN_ONCE && ax__timers_due(loop))
    mode = AX_RUN_NOWAIT;
  ax__run_timers(loop);
  loop_run_pending(loop);
  ax__run_idle(loop);
  ax__run_prepare(loop);
  ax__work_flush_if_used(loop);
  int err = loop_poll(loop, loop_poll_timeout_ms(loop, mode));
  ax__run_check(loop);
  ax__run_closing_handles(loop);
  ax__work_flush_if_used(loop);
  if (mode == AX_RUN_ONCE)
    ax__run_timers(loop);
  loop->priv.iterations++;
  return err;
}

int ax_run(ax_loop_t *loop, ax_run_mode mode) {
  if (!loop_ready(loop))
    return AX_EINVAL;
  if (mode != AX_RUN_DEFAULT && mode != AX_RUN_ONCE && mode != AX_RUN_NOWAIT)
    return AX_EINVAL;
  if (loop->priv.running)
    return AX_EBUSY;
  loop->priv.running = 1;
  if (!loop_alive(loop))
    ax__update_time(loop);
  /* The time between two runs is the caller's, not the loop's delay. */
  if (loop->priv.delay != NULL)
    ax__loop_delay_resume(loop);
  int err = 0;
  if (mode == AX_RUN_ONCE) {
    /* A call of its own, with the mode known to the compiler, so that
     * the other modes' iterations pay nothing for what only ONCE does. */
    if (loop_alive(loop) && !loop->priv.stop_flag)
      err = loop_iterate(loop, AX_RUN_ONCE);
  } else {
    while (err == 0 && loop_alive(loop) && !loop->priv.stop_flag) {
      err = loop_iterate(loop, mode);
      if (mode != AX_RUN_DEFAULT)
        break;
    }
  }
  if (loop->priv.delay != NULL)
    ax__loop_delay_pause(loop);
  loop->priv.stop_flag = 0;
  loop->priv.running = 0;
  return err;
}

void ax_stop(ax_loop_t *loop) {
  if (loop_ready(loop))
    loop->priv.stop_flag = 1;
}

/* Called in every callback that measures time: no check but in builds
 * with assertions (the header documents the precondition). A NULL check
 * returning 0 would only hide the bug behind a clock that stands still. */
uint64_t ax_now(const ax_loop_t *loop) {
  assert(loop != NULL && "axle: ax_now() on a NULL loop");
  return loop->priv.time_ns / 1000000u;
}

void ax_update_time(ax_loop_t *loop) {
  if (loop_ready(loop))
    ax__update_time(loop);
}

uint64_t (*ax__hrtime_override)(void);

uint64_t ax_hrtime(void) {
  uint64_t (*now_ns)(void) = __atomic_load_n(&ax__hrtime_override,
                                             __ATOMIC_ACQUIRE);
  return now_ns == NULL ? ax__hrtime_ns() : now_ns();
}

/* Mark every handle of a list as due to be met by the walk. */
static void loop_walk_mark(ax__queue_t *list) {
  for (ax__queue_t *node = ax__queue_head(list); node != list;
       node = node->next)
    ax_container_of(node, ax_handle_t, priv.node)->priv_flags |=
        AX__HANDLE_WALK_DUE;
}

/* Walk one snapshot, putting each handle back into live before its
 * callback, which may close it, or another handle, and so move it to the
 * closing list. Only handles still due are met: one made during the walk
 * never is, one closed before its turn is met from the closing list. */
static void loop_walk_list(ax__queue_t *snapshot, ax__queue_t *live,
                           ax_walk_cb walk_cb, void *arg) {
  while (!ax__queue_empty(snapshot)) {
    ax__queue_t *node = ax__queue_head(snapshot);
    ax__queue_remove(node);
    ax__queue_insert_tail(live, node);
    ax_handle_t *handle = ax_container_of(node, ax_handle_t, priv.node);
    if (!(handle->priv_flags & AX__HANDLE_WALK_DUE))
      continue;
    handle->priv_flags &= ~(unsigned int)AX__HANDLE_WALK_DUE;
    walk_cb(handle, arg);
  }
}

/* libuv lets the callback close any handle, and so does axle: closing
 * moves a handle from the open list, maybe out of the snapshot before its
 * turn, to the closing list, which is walked once more at the end for
 * those. What the last pass's callbacks close was met already. */
void ax_walk(ax_loop_t *loop, ax_walk_cb walk_cb, void *arg) {
  if (!loop_ready(loop) || walk_cb == NULL)
    return;
  /* Both snapshots first, so that a handle closed by the callback is not
   * met again in the closing list. */
  ax__queue_t open_handles;
  ax__queue_t closing_handles;
  ax__queue_move(&loop->priv.handles, &open_handles);
  ax__queue_move(&loop->priv.closing, &closing_handles);
  loop_walk_mark(&open_handles);
  loop_walk_mark(&closing_handles);
  loop_walk_list(&closing_handles, &loop->priv.closing, walk_cb, arg);
  loop_walk_list(&open_handles, &loop->priv.handles, walk_cb, arg);
  ax__queue_move(&loop->priv.closing, &closing_handles);
  loop_walk_list(&closing_handles, &loop->priv.closing, walk_cb, arg);
}

int ax_loop_set_resource_cb(ax_loop_t *loop, ax_resource_cb resource_cb) {
  if (!loop_ready(loop))
    return AX_EINVAL;
  loop->priv.resource_cb = resource_cb;
  return 0;
}

/* An episode ends only after a quiet period, not at the first accept that
 * succeeds: a server at its descriptor limit with connections closing
 * accepts one connection per descriptor freed and fails at the next, and
 * an episode per freed descriptor would put a line in the operator's log
 * for each. */
void ax__loop_report_resource(ax_handle_t *handle, int err) {
  assert(handle != NULL && err < 0 &&
         "axle: a resource shortage reported without a handle or error");
  ax_loop_t *loop = handle->loop;
  uint64_t now_ns = loop->priv.time_ns;
  uint64_t quiet_ns = (uint64_t)AX__RESOURCE_QUIET_MS * 1000000u;
  bool ongoing = loop->priv.resource_shortages > 0 &&
                 now_ns - loop->priv.resource_last_ns < quiet_ns;
  loop->priv.resource_last_ns = now_ns;
  if (ongoing)
    return;
  loop->priv.resource_shortages++;
  if (loop->priv.resource_cb != NULL)
    loop->priv.resource_cb(handle, err);
}

const char *ax_backend_name(const ax_loop_t *loop) {
  return loop_ready(loop) ? loop->priv.platform.backend->name : NULL;
}

int ax_backend_fallback_error(const ax_loop_t *loop) {
  return loop_ready(loop) ? loop->priv.fallback_error : AX_EINVAL;
}

/* ---- Embedding ---- */

int ax_backend_fd(const ax_loop_t *loop) {
  if (!loop_ready(loop))
    return AX_EINVAL;
  const struct ax__backend *backend = loop->priv.platform.backend;
  return backend->embed_fd != NULL ? backend->embed_fd(loop) : AX_ENOTSUP;
}

/* What the loop's own poll phase would wait, as if run in the default
 * mode; and 0 while something is held back that no descriptor will
 * signal: operations the backend has not handed to the kernel, and jobs
 * queued outside ax_run() that the pool has not been given (an iteration
 * hands them over before it polls; an outside loop would wait for them
 * forever). */
int ax_backend_timeout(const ax_loop_t *loop) {
  if (!loop_ready(loop))
    return AX_EINVAL;
  const struct ax__backend *backend = loop->priv.platform.backend;
  if (backend->embed_busy != NULL && backend->embed_busy(loop))
    return 0;
  if (ax__work_unflushed(loop))
    return 0;
  return loop_poll_timeout_ms(loop, AX_RUN_DEFAULT);
}

/* The default loop and the mutex that guards its creation. The mutex is
 * made once (ax_once) and released by ax_library_shutdown(). */
static struct {
  ax_once_t once;  /* Makes the mutex (again, until that succeeds). */
  ax_mutex_t lock; /* Guards loop's initialisation. */
  bool shut_down;  /* ax_library_shutdown() ran (under lock). */
  ax_loop_t loop;  /* The loop; READY once made. */
} default_loop = {.once = AX_ONCE_INIT};

static int default_loop_init_once(void) {
  return ax_mutex_init(&default_loop.lock);
}

ax_loop_t *ax_default_loop(void) {
  if (ax__once_try(&default_loop.once, default_loop_init_once) != 0)
    return NULL;
  ax_mutex_lock(&default_loop.lock);
  ax_loop_t *loop = &default_loop.loop;
  /* After ax_library_shutdown() there is no default loop to make. */
  if (default_loop.shut_down || (!loop_ready(loop) && ax_loop_init(loop) != 0))
    loop = NULL;
  ax_mutex_unlock(&default_loop.lock);
  return loop;
}

void ax_library_shutdown(void) {
  if (ax__once_try(&default_loop.once, default_loop_init_once) != 0)
    return;
  ax_mutex_lock(&default_loop.lock);
  bool again = default_loop.shut_down;
  default_loop.shut_down = true;
  /* An idle default loop the program did not close is closed here; a
   * busy one is left as it is (its handles are the program's). */
  if (!again && loop_ready(&default_loop.loop))
    (void)ax_loop_close(&default_loop.loop);
  ax_mutex_unlock(&default_loop.lock);
  if (again)
    return;
  ax__threadpool_release();
  /* The mutex stays: a late ax_default_loop() from a careless thread
   * then gets NULL instead of locking freed memory. Its memory is the
   * one global allocation left, released with the process. */
}

/* ---- Accessors ---- */

size_t ax_loop_size(void) {
  return sizeof(ax_loop_t);
}

/* A new request type adds its row here and in req.c's table. */
void *ax_loop_get_data(const ax_loop_t *loop) {
  return loop != NULL ? loop->data : NULL;
}

void ax_loop_set_data(ax_loop_t *loop, void *data) {
  if (loop != NULL)
    loop->data = data;
}

void *ax_handle_get_data(const ax_handle_t *handle) {
  return handle != NULL ? handle->data : NULL;
}

void ax_handle_set_data(ax_handle_t *handle, void *data) {
  if (handle != NULL)
    handle->data = data;
}

ax_loop_t *ax_handle_get_loop(const ax_handle_t *handle) {
  return handle != NULL ? handle->loop : NULL;
}

ax_handle_type ax_handle_get_type(const ax_handle_t *handle) {
  return handle != NULL ? handle->type : AX_UNKNOWN_HANDLE;
}

void *ax_req_get_data(const ax_req_t *req) {
  return req != NULL ? req->data : NULL;
}

void ax_req_set_data(ax_req_t *req, void *data) {
  if (req != NULL)
    req->data = data;
}

ax_req_type ax_req_get_type(const ax_req_t *req) {
  return req != NULL ? req->type : AX_UNKNOWN_REQ;
}
