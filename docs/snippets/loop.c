/*
 * docs/snippets/loop.c: the wrapper of docs/loop.md's fragments, for
 * scripts/check-docs.sh: the application's own callback they name, and
 * unused functions allowed (nothing here calls the fragment's).
 */
#include <stdio.h>

#include <axle.h>

#pragma GCC diagnostic ignored "-Wunused-function"

/* The application's: what a wakeup does. */
void on_wakeup(ax_async_t *async);

#include AX_SNIPPET
