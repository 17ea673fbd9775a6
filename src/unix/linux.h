/*
 * unix/linux.h: the Linux-only system calls, behind a table as in
 * unix/internal.h so that tests can make epoll or eventfd fail.
 */
#ifndef AX_UNIX_LINUX_H
#define AX_UNIX_LINUX_H

#include <sys/epoll.h>

#include "internal.h"

struct ax__linux_syscalls {
  int (*epoll_create1)(int flags); /* epoll_create1(2) */
  /* epoll_ctl(2) */
  int (*epoll_ctl)(int epfd, int op, int fd, struct epoll_event *event);
  /* epoll_wait(2) */
  int (*epoll_wait)(int epfd, struct epoll_event *events, int max_events,
                    int timeout_ms);
  int (*eventfd)(unsigned int initval, int flags); /* eventfd(2) */
};

extern struct ax__linux_syscalls ax__linux_sys;
extern const struct ax__linux_syscalls ax__linux_sys_default;

#endif /* AX_UNIX_LINUX_H */
