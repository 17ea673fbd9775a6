/*
 * unix/fs-sigpipe-wait.c: ax__fs_sigpipe_take() (unix/fs.h) where there is
 * no sigtimedwait(2): macOS and OpenBSD, and the other BSDs with them.
 * Linux has its own in fs-linux.c.
 */
#include <signal.h>

#include "fs.h"

/* sigwait(3) returns at once: the caller saw the signal pending for this
 * thread, where the kernel raised it at the thread that wrote. */
void ax__fs_sigpipe_take(void) {
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  int signum;
  (void)sigwait(&pipe_only, &signum);
}
