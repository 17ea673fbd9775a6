/*
 * docs/snippets/process.c: the wrapper of docs/process.md's fragment, for
 * scripts/check-docs.sh: the application's exit callback it names, and
 * unused functions allowed (nothing here calls the fragment's).
 */
#include <axle.h>
#include <string.h>

#pragma GCC diagnostic ignored "-Wunused-function"

/* The application's. */
void on_filter_exit(ax_process_t *process, int64_t exit_status,
                    int term_signal);

#include AX_SNIPPET
