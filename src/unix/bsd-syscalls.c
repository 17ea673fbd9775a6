/*
 * unix/bsd-syscalls.c: the table of kqueue system calls (unix/bsd.h).
 */
#include "bsd.h"

/* The counts convert to whatever type the system's kevent() takes. */
static int bsd_kevent(int kq, const struct kevent *changes, int change_count,
                      struct kevent *events, int event_count,
                      const struct timespec *timeout) {
  return kevent(kq, changes, change_count, events, event_count, timeout);
}

const struct ax__bsd_syscalls ax__bsd_sys_default = {
    .kqueue = kqueue,
    .kevent = bsd_kevent,
};

struct ax__bsd_syscalls ax__bsd_sys = {
    .kqueue = kqueue,
    .kevent = bsd_kevent,
};
