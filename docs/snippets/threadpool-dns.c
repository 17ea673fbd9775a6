/*
 * docs/snippets/threadpool-dns.c: the wrapper of docs/threadpool.md's DNS
 * fragment, for scripts/check-docs.sh: the POSIX feature macro that
 * <netdb.h> needs under -std=c11, the application's own connection and
 * function it names, and unused functions allowed (nothing here calls
 * the fragment's).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>

#include <axle.h>

#pragma GCC diagnostic ignored "-Wunused-function"

/* The application's. */
struct conn {
  ax_getaddrinfo_t lookup; /* The connection's name lookup. */
};
void try_address(struct conn *conn, const struct sockaddr *addr);

#include AX_SNIPPET
