/*
 * child.h: the contract between the portable part of child processes
 * (src/process.c: argument checks, the handle's life) and each system's
 * part (src/unix/process.c: fork or vfork, exec, a pidfd or SIGCHLD;
 * src/win/process.c: CreateProcess and a wait on the process handle).
 *
 * process.c checks the options, initialises the handle (type AX_PROCESS,
 * not yet active) and calls ax__process_spawn(). From a successful spawn
 * until the exit is reported, process->priv.sys is the system's record of
 * the child; the system calls ax__process_exited() once, on the loop
 * thread, when the child has ended and has been reaped, after it released
 * that record. If the handle is closed first, ax__process_detach() tells
 * the system to stop reporting to it; the system still reaps the child
 * when it ends (POSIX: as long as the loop lives), and never calls
 * ax__process_exited() for it.
 */
#ifndef AX_PROCESS_H
#define AX_PROCESS_H

#include "internal.h"

/* Most entries ax_process_options_t::stdio may have: the child closes
 * every descriptor past them, and a limit keeps the plan small. */
enum { AX__PROCESS_STDIO_MAX = 1024 };

/* ---- The system's part ---- */

/*
 * Start the child options describe (checked already: file set,
 * 0 <= stdio_count <= AX__PROCESS_STDIO_MAX, each stdio entry's flags
 * known and its stream or fd present, no unknown option flags) for
 * process, whose handle is initialised. On success: process->pid and
 * process->priv.sys are set, every AX_STDIO_CREATE_PIPE stream has its
 * end of the new pipe, and the exit is watched. On failure (the error of
 * exec, chdir, setuid, or of making the pipes): no child is left running
 * or unreaped, no descriptor or memory is left, and the streams are as
 * they were.
 */
int ax__process_spawn(ax_loop_t *loop, ax_process_t *process,
                      const ax_process_options_t *options);

/* Send signum to the running child of process (priv.sys set). */
int ax__process_signal(ax_process_t *process, int signum);

/* Send signum to any process. */
int ax__process_kill(ax_pid_t pid, int signum);

/* The handle of a running child closes: forget it, keep reaping. */
void ax__process_detach(ax_process_t *process);

/* ax_loop_close(): release whatever the system still holds for the
 * loop's children whose handles were closed before they ended. */
void ax__process_loop_close(ax_loop_t *loop);

/* ---- process.c, for the system ---- */

/*
 * The child of process has ended and been reaped (exit_status 0..255 and
 * term_signal 0, or exit_status 0 and the signal that ended it): the
 * handle stops (the loop is no longer kept alive by it) and its exit
 * callback runs. priv.sys is released and set to NULL by the system
 * before this call.
 */
void ax__process_exited(ax_process_t *process, int64_t exit_status,
                        int term_signal);

#endif /* AX_PROCESS_H */
