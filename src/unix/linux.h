/*
 * unix/linux.h: the Linux-only system calls, behind a table as in
 * unix/internal.h so that tests can make epoll or eventfd fail.
 */
#ifndef AX_UNIX_LINUX_H
#define AX_UNIX_LINUX_H

#include <sys/epoll.h>

#include "internal.h"

struct ax__linux_syscalls {
  int (*epoll_create1)(int flags);
  int (*epoll_ctl)(int epfd, int op, int fd, struct epoll_event *event);
  int (*epoll_wait)(int epfd, struct epoll_event *events, int max_events,
                    int timeout_ms);
  int (*eventfd)(unsigned int initval, int flags);
};

extern struct ax__linux_syscalls ax__linux_sys;
extern const struct ax__linux_syscalls ax__linux_sys_default;

#endif /* AX_UNIX_LINUX_H */
