/*
 * unix/spawn-os.h: how unix/process.c starts a child, and what each kernel
 * provides for it (unix/process-linux.c: clone as vfork, close_range,
 * pidfds;
 * unix/process-bsd.c: fork and a loop of close, no pidfds).
 *
 * The parent prepares everything the child needs in a plan before the
 * child exists, so that the child allocates nothing and calls only
 * async-signal-safe functions between fork (or vfork) and exec. With
 * vfork the child shares the parent's memory, and writes to the plan
 * only the descriptors it moves.
 */
#ifndef AX_UNIX_SPAWN_H
#define AX_UNIX_SPAWN_H

#include <sys/types.h>

#include "internal.h"

struct ax__spawn_plan {
  const char *file;   /* A path to exec, or a name to look up in search. */
  size_t file_len;    /* strlen(file). */
  char *const *argv;  /* The arguments, NULL-terminated. */
  char *const *envp;  /* The environment, NULL-terminated. */
  const char *search; /* The PATH to look file up in, or NULL for a path. */
  char *path_buf;     /* Room for the longest directory, '/', file, NUL. */
  const char *cwd;    /* The directory to change to, or NULL. */
  unsigned int flags; /* AX_PROCESS_* flags. */
  unsigned int uid;   /* With AX_PROCESS_SETUID. */
  unsigned int gid;   /* With AX_PROCESS_SETGID. */
  int stdio_count;    /* Slots 0 .. stdio_count - 1; past them, closed. */
  int *fds;           /* Per slot: the descriptor to give, or -1. */
  int error_fd;       /* Write end of the close-on-exec error pipe. */
  int fd_limit;       /* No descriptor is at or above it (RLIMIT_NOFILE). */
};

/* unix/process.c: the child's side, from fork to exec. Never returns: on
 * failure it writes the errno value to error_fd and exits with 127. */
_Noreturn void ax__spawn_child(struct ax__spawn_plan *plan);

/* ---- Per kernel ---- */

/* Start a child that runs ax__spawn_child(plan) (sharing the parent's
 * memory, as vfork, where the plan allows, else fork), with every signal
 * blocked by the caller. The child's pid, or -1 with errno set. share_memory
 * false forces fork: setuid and setgid must not run in a child that shares the
 * parent's memory (the C library's set*id calls signal every thread it knows
 * of). */
pid_t ax__spawn_start(struct ax__spawn_plan *plan, bool share_memory);

/* In the child: close every descriptor from first up, but keep_fd.
 * Async-signal-safe. */
void ax__spawn_close_from(int first, int keep_fd, int fd_limit);

/* A close-on-exec pipe (for errors) and socket pair (for stdio): 0 or -1
 * with errno set. */
int ax__spawn_pipe(int fds[2]);
int ax__spawn_socketpair(int fds[2]);

/* A descriptor that becomes readable when the child pid ends (a pidfd),
 * or an axle error: AX_ENOSYS where the kernel has none. */
int ax__spawn_pidfd_open(pid_t pid);

#endif /* AX_UNIX_SPAWN_H */
