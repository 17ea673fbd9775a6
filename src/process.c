/*
 * process.c: child processes.
 *
 * Not built yet: every call says AX_ENOSYS. The processes work replaces
 * this file (see include/axle.h, group process).
 */
#include "internal.h"

int ax_spawn(ax_loop_t *loop, ax_process_t *process,
             const ax_process_options_t *options) {
  (void)loop;
  (void)process;
  (void)options;
  return AX_ENOSYS;
}

int ax_process_kill(ax_process_t *process, int signum) {
  (void)process;
  (void)signum;
  return AX_ENOSYS;
}

int ax_kill(ax_pid_t pid, int signum) {
  (void)pid;
  (void)signum;
  return AX_ENOSYS;
}

ax_pid_t ax_process_get_pid(const ax_process_t *process) {
  return process != NULL ? process->pid : 0;
}

void ax__process_close(ax_handle_t *handle) {
  (void)handle;
}
