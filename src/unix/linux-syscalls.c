/*
 * unix/linux-syscalls.c: the table of Linux-only system calls (unix/linux.h).
 */
#include <sys/eventfd.h>

#include "linux.h"

const struct ax__linux_syscalls ax__linux_sys_default = {
    .epoll_create1 = epoll_create1,
    .epoll_ctl = epoll_ctl,
    .epoll_wait = epoll_wait,
    .eventfd = eventfd,
};

struct ax__linux_syscalls ax__linux_sys = {
    .epoll_create1 = epoll_create1,
    .epoll_ctl = epoll_ctl,
    .epoll_wait = epoll_wait,
    .eventfd = eventfd,
};
