/*
 * win/process.c: the Windows part of child processes (src/child.h).
 *
 * Not built yet: a spawn says AX_ENOTSUP. The Windows processes work
 * replaces this file (CreateProcess, and the process handle's wait posted
 * to the loop's port).
 */
#include "../child.h"

int ax__process_spawn(ax_loop_t *loop, ax_process_t *process,
                      const ax_process_options_t *options) {
  (void)loop;
  (void)process;
  (void)options;
  return AX_ENOTSUP;
}

int ax__process_signal(ax_process_t *process, int signum) {
  (void)process;
  (void)signum;
  return AX_ENOTSUP;
}

int ax__process_kill(ax_pid_t pid, int signum) {
  (void)pid;
  (void)signum;
  return AX_ENOTSUP;
}

void ax__process_detach(ax_process_t *process) {
  (void)process;
}

void ax__process_loop_close(ax_loop_t *loop) {
  (void)loop;
}
