/*
 * docs/snippets/lane-metrics.c: the wrapper of docs/threadpool.md's lane
 * histograms fragment, for scripts/check-docs.sh: a function of the
 * application's that has a loop, where the fragment's statements go.
 */
#include <stdio.h>

#include <axle.h>

void print_lanes(ax_loop_t *loop);

void print_lanes(ax_loop_t *loop) {
#include AX_SNIPPET
}
