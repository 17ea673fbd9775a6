/*
 * unix/os-socketpair-cloexec.c: a socket pair close-on-exec from birth,
 * with SOCK_CLOEXEC (Linux, the BSDs but macOS), so that a child started
 * by another thread meanwhile never inherits it.
 */
#include <errno.h>
#include <sys/socket.h>

#include "internal.h"
#include "os-socketpair.h"

int ax__os_socketpair_cloexec(int type, int protocol, int fds[2]) {
  if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, protocol, fds) != 0)
    return ax_translate_sys_error(errno);
  return 0;
}
