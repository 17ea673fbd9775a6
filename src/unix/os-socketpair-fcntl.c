/*
 * unix/os-socketpair-fcntl.c: a socket pair made close-on-exec just after
 * socketpair(), where it takes no SOCK_CLOEXEC (macOS). A child forked by
 * another thread in between could inherit it, as with every descriptor
 * on macOS (ax_spawn() closes what it does not pass on in the child).
 */
#include <errno.h>
#include <sys/socket.h>

#include "internal.h"
#include "os-socketpair.h"

int ax__os_socketpair_cloexec(int type, int protocol, int fds[2]) {
  if (socketpair(AF_UNIX, type, protocol, fds) != 0)
    return ax_translate_sys_error(errno);
  return ax__fd_pair_set_cloexec(fds);
}
