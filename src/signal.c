/*
 * signal.c: signal handles, the portable part: the handle API, the
 * process-wide registry of loops that watch signals, and dispatch on each
 * loop. The platform installs the process's handler and wakes loops
 * (signal-registry.h lists what it provides).
 *
 * The registry's list of groups (one per loop with an active handle) is
 * changed only under the registry's mutex, and read by deliveries without
 * it: a delivery may run in a signal handler, which must not lock. So links
 * are published with atomic stores, and a group taken out of the list is
 * freed only once no delivery is in progress: each delivery counts itself
 * in registry.delivering, and removal waits for that count to drop to zero
 * after the unlink. A delivery is a few loads and one write(2) or one
 * posted packet, so the wait is short; it cannot deadlock when a signal
 * interrupts the waiting thread itself, as the handler then runs to its end
 * on top of the wait.
 *
 * Loads and stores of the list and the count are sequentially consistent:
 * a delivery that begins after the remover read a zero count must see the
 * unlink, and that is what the single total order guarantees.
 */
#include <string.h>

#include "signal-registry.h"

enum {
  SIGNAL_ONESHOT = 1u << 0, /* priv.flags: stop after the first delivery. */
};

static struct {
  ax_once_t once;  /* Makes the mutex (again, until that succeeds). */
  ax_mutex_t lock; /* Guards all below but what is marked __atomic. */
  /* The groups, newest first (__atomic). */
  struct ax__signal_group *groups;
  /* Deliveries in progress (__atomic). */
  unsigned int delivering;
  /* Active handles per signal number, over all loops. */
  unsigned int watchers[AX__SIGNAL_MAX + 1];
} registry = {.once = AX_ONCE_INIT};

static uint64_t signal_bit(int signum) {
  return (uint64_t)1 << (signum - 1);
}

/* The mutex is made once per process and never destroyed: a handle may be
 * started on any thread at any time. (On POSIX systems it is allocated
 * through axle's allocator; tests account for that one allocation.) */
static int registry_init_once(void) {
  return ax_mutex_init(&registry.lock);
}

static int registry_init(void) {
  return ax__once_try(&registry.once, registry_init_once);
}

static struct ax__signal_group *registry_find(const ax_loop_t *loop) {
  struct ax__signal_group *group = registry.groups;
  while (group != NULL && group->loop != loop)
    group = group->next;
  return group;
}

/* Run fn on loop's group, under the registry's lock, if loop has one:
 * fn's result, or 0. For the platform's fork (ax_loop_fork()), which
 * replaces the group's channel in a child. */
int ax__signal_group_apply(ax_loop_t *loop,
                           int (*fn)(struct ax__signal_group *group)) {
  /* No group was ever made: nothing to lock, and no mutex to make. */
  if (__atomic_load_n(&registry.groups, __ATOMIC_SEQ_CST) == NULL)
    return 0;
  ax_mutex_lock(&registry.lock);
  struct ax__signal_group *group = registry_find(loop);
  int err = group != NULL ? fn(group) : 0;
  ax_mutex_unlock(&registry.lock);
  return err;
}

/* Make loop's group and publish it; its fields are set before the store
 * that makes it reachable. */
static int registry_add(ax_loop_t *loop, struct ax__signal_group **out) {
  struct ax__signal_group *group;
  int err = ax__signal_group_create(loop, &group);
  if (err != 0)
    return err;
  group->loop = loop;
  ax__queue_init(&group->handles);
  memset(group->watchers, 0, sizeof(group->watchers));
  group->watching = 0;
  group->pending = 0;
  group->active = 0;
  group->dispatching = 0;
  group->next = registry.groups;
  __atomic_store_n(&registry.groups, group, __ATOMIC_SEQ_CST);
  *out = group;
  return 0;
}

/* Unlink a group, wait out the deliveries that may still hold it, and
 * hand it to the platform to free. */
static void registry_remove(struct ax__signal_group *group) {
  struct ax__signal_group **link = &registry.groups;
  while (*link != group)
    link = &(*link)->next;
  __atomic_store_n(link, group->next, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&registry.delivering, __ATOMIC_SEQ_CST) != 0)
    ax__thread_yield();
  ax__signal_group_destroy(group);
}

bool ax__signal_deliver(int signum) {
  if (signum <= 0 || signum > AX__SIGNAL_MAX)
    return false;
  uint64_t bit = signal_bit(signum);
  bool watched = false;
  __atomic_add_fetch(&registry.delivering, 1, __ATOMIC_SEQ_CST);
  struct ax__signal_group *group = __atomic_load_n(&registry.groups,
                                                   __ATOMIC_SEQ_CST);
  while (group != NULL) {
    if (__atomic_load_n(&group->watching, __ATOMIC_SEQ_CST) & bit) {
      __atomic_fetch_or(&group->pending, bit, __ATOMIC_SEQ_CST);
      ax__signal_group_wake(group);
      watched = true;
    }
    group = __atomic_load_n(&group->next, __ATOMIC_SEQ_CST);
  }
  __atomic_sub_fetch(&registry.delivering, 1, __ATOMIC_SEQ_CST);
  return watched;
}

/* Count signal in or out of its group's watchers, and tell deliveries
 * when the group gains or loses a signal. A count, rather than a walk of
 * the handles: while dispatch runs, the handles not yet called sit in its
 * snapshot, out of group->handles, and a walk would miss their signals
 * (a handle stopped by a callback then silenced its neighbours). */
static void group_count(struct ax__signal_group *group, int signum,
                        bool watch) {
  uint64_t bit = signal_bit(signum);
  if (watch) {
    if (group->watchers[signum]++ == 0)
      __atomic_fetch_or(&group->watching, bit, __ATOMIC_SEQ_CST);
  } else if (--group->watchers[signum] == 0) {
    __atomic_fetch_and(&group->watching, ~bit, __ATOMIC_SEQ_CST);
  }
}

/* Take signal out of its group, and free the group when it was the last
 * handle (after dispatch, if it is dispatching). Registry locked. */
static void group_leave(struct ax__signal_group *group, ax_signal_t *signal) {
  ax__queue_remove(&signal->priv.node);
  group->active--;
  group_count(group, signal->signum, false);
  if (group->active == 0 && !group->dispatching)
    registry_remove(group);
}

/* Put signal in its loop's group (made if needed) and have the process's
 * handler watch signum. Registry locked; signal->signum is set. */
static int signal_watch(ax_signal_t *signal) {
  ax_loop_t *loop = signal->handle.loop;
  int signum = signal->signum;
  struct ax__signal_group *group = registry_find(loop);
  if (group == NULL) {
    int err = registry_add(loop, &group);
    if (err != 0)
      return err;
  }
  /* The group watches before the handler is installed, so that a signal
   * arriving in between is not lost. */
  ax__queue_insert_tail(&group->handles, &signal->priv.node);
  group->active++;
  group_count(group, signum, true);
  if (registry.watchers[signum] == 0) {
    int err = ax__signal_install(signum);
    if (err != 0) {
      group_leave(group, signal);
      return err;
    }
  }
  registry.watchers[signum]++;
  return 0;
}

/* The opposite of signal_watch(). Registry locked. */
static void signal_unwatch(ax_signal_t *signal) {
  int signum = signal->signum;
  if (--registry.watchers[signum] == 0)
    ax__signal_restore(signum);
  group_leave(registry_find(signal->handle.loop), signal);
}

int ax_signal_init(ax_loop_t *loop, ax_signal_t *signal) {
  if (loop == NULL || signal == NULL)
    return AX_EINVAL;
  int err = ax__handle_init(loop, &signal->handle, AX_SIGNAL);
  if (err != 0)
    return err;
  signal->signum = 0;
  ax__queue_init(&signal->priv.node);
  signal->priv.cb = NULL;
  signal->priv.flags = 0;
  return 0;
}

static int signal_start(ax_signal_t *signal, int signum, ax_signal_cb cb,
                        unsigned int flags) {
  if (signal == NULL || cb == NULL)
    return AX_EINVAL;
  int err = ax__signal_check(signum);
  if (err != 0)
    return err;
  if (ax__handle_is_closing(&signal->handle))
    return AX_EBADF;
  if (ax__handle_is_active(&signal->handle) && signal->signum == signum) {
    signal->priv.cb = cb;
    signal->priv.flags = flags;
    return 0;
  }
  err = registry_init();
  if (err != 0)
    return err;
  ax_signal_stop(signal);
  ax_mutex_lock(&registry.lock);
  signal->signum = signum;
  err = signal_watch(signal);
  ax_mutex_unlock(&registry.lock);
  if (err != 0) {
    signal->signum = 0;
    return err;
  }
  signal->priv.cb = cb;
  signal->priv.flags = flags;
  ax__handle_start(&signal->handle);
  return 0;
}

int ax_signal_start(ax_signal_t *signal, int signum, ax_signal_cb signal_cb) {
  return signal_start(signal, signum, signal_cb, 0);
}

int ax_signal_start_oneshot(ax_signal_t *signal, int signum,
                            ax_signal_cb signal_cb) {
  return signal_start(signal, signum, signal_cb, SIGNAL_ONESHOT);
}

int ax_signal_stop(ax_signal_t *signal) {
  if (signal == NULL)
    return AX_EINVAL;
  if (!ax__handle_is_active(&signal->handle))
    return 0;
  ax_mutex_lock(&registry.lock);
  signal_unwatch(signal);
  ax_mutex_unlock(&registry.lock);
  signal->signum = 0;
  ax__handle_stop(&signal->handle);
  return 0;
}

void ax__signal_close(ax_handle_t *handle) {
  ax_signal_t *signal = (ax_signal_t *)handle;
  ax_signal_stop(signal);
}

/*
 * Call every active handle whose signal was caught, once per wakeup however
 * often the signal came. Handles started by a callback wait for the next
 * wakeup (the snapshot); a callback may stop or close any handle, and a
 * one-shot handle is stopped before its callback runs, so the callback may
 * start it again. The group outlives the walk even when its last handle
 * stops during it.
 */
void ax__signal_dispatch(struct ax__signal_group *group) {
  uint64_t caught = __atomic_exchange_n(&group->pending, 0, __ATOMIC_SEQ_CST);
  if (caught == 0)
    return;
  struct ax__queue snapshot;
  group->dispatching = 1;
  ax__queue_move(&group->handles, &snapshot);
  while (!ax__queue_empty(&snapshot)) {
    struct ax__queue *node = ax__queue_head(&snapshot);
    ax__queue_remove(node);
    ax__queue_insert_tail(&group->handles, node);
    ax_signal_t *signal = ax_container_of(node, ax_signal_t, priv.node);
    int signum = signal->signum;
    if (!(caught & signal_bit(signum)))
      continue;
    ax_signal_cb cb = signal->priv.cb;
    if (signal->priv.flags & SIGNAL_ONESHOT)
      ax_signal_stop(signal);
    cb(signal, signum);
  }
  group->dispatching = 0;
  if (group->active == 0) {
    ax_mutex_lock(&registry.lock);
    registry_remove(group);
    ax_mutex_unlock(&registry.lock);
  }
}
