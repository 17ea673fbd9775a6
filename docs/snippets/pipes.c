/*
 * docs/snippets/pipes.c: the wrapper of docs/pipes.md's fragments, for
 * scripts/check-docs.sh. A fragment defines functions that nothing here
 * calls, so unused functions are not an error.
 */
#include <stdbool.h>
#include <string.h>

#include <axle.h>

#pragma GCC diagnostic ignored "-Wunused-function"

#include AX_SNIPPET
