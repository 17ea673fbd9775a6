/*
 * process.c: child processes, the portable part: the checks of
 * ax_spawn()'s options, and the handle's life from spawn to exit. How a
 * child is started and how its end is noticed is each system's
 * (src/child.h lists what it provides: src/unix/process.c,
 * src/win/process.c).
 */
#include "child.h"

enum {
  /* The option flags axle knows. */
  PROCESS_FLAGS = AX_PROCESS_SETUID | AX_PROCESS_SETGID |
                  AX_PROCESS_WINDOWS_VERBATIM_ARGUMENTS | AX_PROCESS_DETACHED |
                  AX_PROCESS_WINDOWS_HIDE,
  /* What a pipe entry may add to AX_STDIO_CREATE_PIPE. */
  STDIO_PIPE_FLAGS = AX_STDIO_READABLE | AX_STDIO_WRITABLE,
};

/* The stream of a CREATE_PIPE or INHERIT_STREAM entry: open, and for a
 * pipe, an ax_pipe_t. Whether it has a descriptor (it must not for a new
 * pipe, it must to be inherited) is the system's to check. */
static int spawn_check_stream(const ax_stream_t *stream, bool pipe) {
  if (stream == NULL || ax__handle_is_closing(&stream->handle))
    return AX_EINVAL;
  if (pipe && stream->handle.type != AX_PIPE)
    return AX_EINVAL;
  return 0;
}

static int spawn_check_stdio(const ax_stdio_container_t *entry) {
  unsigned int flags = (unsigned int)entry->flags;
  switch (flags & ~(unsigned int)STDIO_PIPE_FLAGS) {
  case AX_STDIO_IGNORE:
    return flags == AX_STDIO_IGNORE ? 0 : AX_EINVAL;
  case AX_STDIO_CREATE_PIPE:
    return spawn_check_stream(entry->data.stream, true);
  case AX_STDIO_INHERIT_FD:
    return flags == AX_STDIO_INHERIT_FD && entry->data.fd >= 0 ? 0 : AX_EINVAL;
  case AX_STDIO_INHERIT_STREAM:
    if (flags != AX_STDIO_INHERIT_STREAM)
      return AX_EINVAL;
    return spawn_check_stream(entry->data.stream, false);
  default:
    return AX_EINVAL;
  }
}

/* Whether entry i's new pipe is also an earlier entry's: one pipe holds
 * one end, so the second would be refused only after the child started
 * (and was killed again). At most AX__PROCESS_STDIO_MAX squared over two
 * pointer comparisons, and only among CREATE_PIPE entries. */
static bool spawn_pipe_repeated(const ax_process_options_t *options, int i) {
  const ax_stdio_container_t *entry = &options->stdio[i];
  if (((unsigned int)entry->flags & AX_STDIO_CREATE_PIPE) == 0)
    return false;
  for (int j = 0; j < i; j++) {
    const ax_stdio_container_t *other = &options->stdio[j];
    if (((unsigned int)other->flags & AX_STDIO_CREATE_PIPE) != 0 &&
        other->data.stream == entry->data.stream)
      return true;
  }
  return false;
}

static int spawn_check(const ax_process_options_t *options) {
  if (options->file == NULL || options->file[0] == '\0' ||
      (options->flags & ~(unsigned int)PROCESS_FLAGS) != 0 ||
      options->stdio_count < 0 ||
      options->stdio_count > AX__PROCESS_STDIO_MAX ||
      (options->stdio_count > 0 && options->stdio == NULL))
    return AX_EINVAL;
  if (options->args != NULL && options->args[0] == NULL)
    return AX_EINVAL;
  for (int i = 0; i < options->stdio_count; i++) {
    int err = spawn_check_stdio(&options->stdio[i]);
    if (err != 0)
      return err;
    if (spawn_pipe_repeated(options, i))
      return AX_EINVAL;
  }
  return 0;
}

int ax_spawn(ax_loop_t *loop, ax_process_t *process,
             const ax_process_options_t *options) {
  if (process == NULL || options == NULL)
    return AX_EINVAL;
  int err = spawn_check(options);
  if (err != 0)
    return err;
  err = ax__handle_init(loop, &process->handle, AX_PROCESS);
  if (err != 0)
    return err;
  process->pid = 0;
  process->priv.exit_cb = options->exit_cb;
  process->priv.sys = NULL;
  ax__queue_init(&process->priv.node);
  err = ax__process_spawn(loop, process, options);
  if (err != 0) {
    ax__handle_init_undo(&process->handle);
    return err;
  }
  ax__handle_start(&process->handle);
  return 0;
}

void ax__process_exited(ax_process_t *process, int64_t exit_status,
                        int term_signal) {
  assert(process->priv.sys == NULL &&
         "axle: a process exit reported with its record still held");
  ax__handle_stop(&process->handle);
  if (process->priv.exit_cb != NULL)
    process->priv.exit_cb(process, exit_status, term_signal);
}

int ax_process_kill(ax_process_t *process, int signum) {
  if (process == NULL || process->handle.type != AX_PROCESS)
    return AX_EINVAL;
  /* Ended, or closed before it ended: its pid may be another's by now. */
  if (process->priv.sys == NULL)
    return AX_ESRCH;
  return ax__process_signal(process, signum);
}

int ax_kill(ax_pid_t pid, int signum) {
  return ax__process_kill(pid, signum);
}

ax_pid_t ax_process_get_pid(const ax_process_t *process) {
  return process != NULL ? process->pid : 0;
}

void ax__process_close(ax_handle_t *handle) {
  ax_process_t *process = (ax_process_t *)handle;
  if (process->priv.sys != NULL)
    ax__process_detach(process);
  process->priv.sys = NULL;
  ax__handle_stop(handle);
}
