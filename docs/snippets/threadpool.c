/*
 * docs/snippets/threadpool.c: the wrapper of docs/threadpool.md's work
 * fragment, for scripts/check-docs.sh: the application's own functions
 * it names, and unused functions allowed (nothing here calls the
 * fragment's).
 */
#include <stddef.h>
#include <stdint.h>

#include <axle.h>

#pragma GCC diagnostic ignored "-Wunused-function"

/* The application's. */
struct job;
uint64_t expensive_hash(const char *data, size_t len);
void free_job(struct job *job);
void send_digest(struct job *job);

#include AX_SNIPPET
