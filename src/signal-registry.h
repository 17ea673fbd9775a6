/*
 * signal-registry.h: the contract between the portable part of ax_signal_t
 * (src/signal.c: the handles, the process-wide registry, dispatch) and the
 * platform's part (src/unix/signal.c: sigaction and a wakeup descriptor per
 * loop; src/win/signal.c: the console control handler and a completion
 * packet per loop).
 *
 * The registry is a list of groups, one per loop that has an active signal
 * handle. The platform's process-wide handler calls ax__signal_deliver(),
 * which walks the list with atomic loads only (it may run in a signal
 * handler, on any thread), marks the signal caught in every group that
 * watches it, and wakes those loops. Each loop then calls
 * ax__signal_dispatch() on its own thread. Everything else, starting and
 * stopping, runs on loop threads under the registry's mutex.
 */
#ifndef AX_SIGNAL_REGISTRY_H
#define AX_SIGNAL_REGISTRY_H

#include "internal.h"

/* The highest signal number the registry holds: one bit per signal in a
 * uint64_t (Linux has 64 signals, macOS and the BSDs 31 or 32). */
enum { AX__SIGNAL_MAX = 64 };

/*
 * One loop's part of the registry. The platform allocates it inside a
 * struct of its own, beside the channel that wakes the loop, and frees it
 * in ax__signal_group_destroy(); signal.c fills in these fields.
 */
struct ax__signal_group {
  ax_loop_t *loop;               /* The loop whose handles these are. */
  struct ax__signal_group *next; /* Next in the registry (__atomic). */
  struct ax__queue handles;      /* The active handles, in start order. */
  /* Active handles per signal number. watching follows these counts, not
   * the handles list, which dispatch takes apart while it walks it. */
  unsigned int watchers[AX__SIGNAL_MAX + 1];
  uint64_t watching;   /* Bit signum - 1 per watched signal (__atomic). */
  uint64_t pending;    /* Such bits caught, not yet dispatched. */
  unsigned int active; /* Active handles; freed when it is 0. */
  int dispatching;     /* In ax__signal_dispatch(): free after. */
};

/* ---- signal.c, for the platform ---- */

/*
 * Mark signum caught in every group that watches it, and wake their loops.
 * Async-signal-safe: atomics and ax__signal_group_wake() only. Returns
 * whether any loop watches the signal.
 */
bool ax__signal_deliver(int signum);

/* Run the callbacks of the signals caught for group. The platform calls it
 * on the loop's thread, after it emptied the channel that woke the loop;
 * the group may be freed before this returns. */
void ax__signal_dispatch(struct ax__signal_group *group);

/* Run fn on loop's group, under the registry's lock, if loop has one;
 * return what fn returned, or 0 (ax_loop_fork()). */
int ax__signal_group_apply(ax_loop_t *loop,
                           int (*fn)(struct ax__signal_group *group));

/* ---- The platform's part ---- */

/* Windows only (win/signal.c): what the console handler does with a
 * control event (CTRL_C_EVENT...), short of holding a close event: deliver
 * its signal, and return whether a loop watches it. Tests call it to
 * simulate an event, which they cannot make reliably (docs/signals.md). */
bool ax__signal_console_event(unsigned long ctrl_type);

/* 0 if signum can be watched here; AX_EINVAL for a number that is no
 * signal or cannot be caught; AX_ENOSYS for one this platform cannot
 * deliver. */
int ax__signal_check(int signum);

/* Replace the process's handling of signum with the platform's handler,
 * keeping what was there; and put it back. Called, with the registry
 * locked, when the first handle of any loop starts watching signum and
 * when the last one stops. */
int ax__signal_install(int signum);
void ax__signal_restore(int signum);

/* Make the group of loop, with its channel: 0, or an error (AX_ENOMEM,
 * AX_EMFILE) with nothing made. On the loop's thread, registry locked. */
int ax__signal_group_create(ax_loop_t *loop, struct ax__signal_group **group);

/* Release a group that is out of the registry, once no delivery can still
 * reach it. On the loop's thread, registry locked. */
void ax__signal_group_destroy(struct ax__signal_group *group);

/* Wake the group's loop: from ax__signal_deliver(), so async-signal-safe
 * and callable on any thread. errno and the last-error value survive. */
void ax__signal_group_wake(struct ax__signal_group *group);

#endif /* AX_SIGNAL_REGISTRY_H */
