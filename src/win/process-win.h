/*
 * win/process-win.h: child processes on Windows (process.c), the calls
 * the portable src/process.c makes.
 */
#ifndef AX_WIN_PROCESS_WIN_H
#define AX_WIN_PROCESS_WIN_H

#include "internal.h"

/* Start the child of options for process, whose handle is initialised
 * (and exit_cb set) by the caller: 0, and the handle is active until the
 * exit callback; or the error, with nothing started. */
int ax__win_process_spawn(ax_loop_t *loop, ax_process_t *process,
                          const ax_process_options_t *options);
/* The handle closes: stop watching (the child runs on). */
void ax__win_process_close(ax_process_t *process);
/* ax_process_kill() and ax_kill(). */
int ax__win_process_kill(ax_process_t *process, int signum);
int ax__win_kill(ax_pid_t pid, int signum);

#endif /* AX_WIN_PROCESS_WIN_H */
