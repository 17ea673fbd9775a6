/*
 * unix/os-socketpair.h: what ax_socketpair() (os-socketpair.c) asks of the
 * system's variant, which meson chooses by whether <sys/socket.h> has
 * SOCK_CLOEXEC (os-socketpair-cloexec.c, else os-socketpair-fcntl.c).
 */
#ifndef AX_UNIX_OS_SOCKETPAIR_H
#define AX_UNIX_OS_SOCKETPAIR_H

/* socketpair(AF_UNIX, type, protocol) with both ends close-on-exec.
 * 0, or an error with nothing left open. */
int ax__os_socketpair_cloexec(int type, int protocol, int fds[2]);

#endif /* AX_UNIX_OS_SOCKETPAIR_H */
