/*
 * docs/snippets/fs-events.c: the wrapper of docs/fs-events.md's fragments, for
 * scripts/check-docs.sh. A fragment defines functions that nothing here
 * calls, so unused functions are not an error.
 */
#include <stdio.h>

#include <axle.h>

#pragma GCC diagnostic ignored "-Wunused-function"

#include AX_SNIPPET
