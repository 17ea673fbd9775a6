/*
 * docs/snippets/loop-fork.c: the wrapper of docs/loop.md's fragment on
 * ax_loop_fork(), for scripts/check-docs.sh: the fragment is the body of a
 * function that has a loop and forks.
 */
#define _POSIX_C_SOURCE 200809L /* fork() and pid_t under -std=c11. */

#include <sys/types.h>
#include <unistd.h>

#include <axle.h>

void snippet_fork_worker(ax_loop_t *loop);

void snippet_fork_worker(ax_loop_t *loop) {
#include AX_SNIPPET
}
