/*
 * docs/snippets/signals.c: the wrapper of docs/signals.md's fragments, for
 * scripts/check-docs.sh: the application's own library they name, and
 * unused functions allowed (nothing here calls the fragment's).
 */
#include <axle.h>

#pragma GCC diagnostic ignored "-Wunused-function"

/* The application's: a library that does its own reads on its socket. */
struct my_library;
void my_library_read(struct my_library *library);

#include AX_SNIPPET
