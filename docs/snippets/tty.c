/*
 * docs/snippets/tty.c: the wrapper of docs/tty.md's fragments, for
 * scripts/check-docs.sh. A fragment defines functions that nothing here
 * calls, so unused functions are not an error.
 */
#include <stdbool.h>
#include <stdlib.h>

#include <axle.h>

#pragma GCC diagnostic ignored "-Wunused-function"

#include AX_SNIPPET
