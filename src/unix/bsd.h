/*
 * unix/bsd.h: the system calls only kqueue systems have (macOS, FreeBSD,
 * OpenBSD, NetBSD, DragonFly), behind a table as in unix/internal.h so that
 * tests can make kqueue or kevent fail.
 */
#ifndef AX_UNIX_BSD_H
#define AX_UNIX_BSD_H

#include <sys/types.h>

#include <sys/event.h>
#include <sys/time.h>

#include "internal.h"

struct ax__bsd_syscalls {
  int (*kqueue)(void);
  /* kevent(2) with int counts. NetBSD declares them size_t, so the default
   * entry is a wrapper rather than kevent itself (bsd-syscalls.c). */
  int (*kevent)(int kq, const struct kevent *changes, int change_count,
                struct kevent *events, int event_count,
                const struct timespec *timeout);
};

/* The table in use; tests may overwrite entries and must restore them. */
extern struct ax__bsd_syscalls ax__bsd_sys;
/* The real system calls, for restoring ax__bsd_sys. */
extern const struct ax__bsd_syscalls ax__bsd_sys_default;

#endif /* AX_UNIX_BSD_H */
