/*
 * docs/snippets/tcp-listen.c: the wrapper of docs/tcp.md's listening
 * fragment, for scripts/check-docs.sh: the connection callback it names,
 * and unused functions allowed (nothing here calls the fragment's).
 */
#include <axle.h>

#pragma GCC diagnostic ignored "-Wunused-function"

void on_connection(ax_stream_t *server, int status);

#include AX_SNIPPET
