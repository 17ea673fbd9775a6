/*
 * docs/snippets/tcp-read.c: the wrapper of docs/tcp.md's reading
 * fragment, for scripts/check-docs.sh: the callbacks it names (defined in
 * examples/tcp-echo.c), and unused functions allowed.
 */
#include <stdlib.h>

#include <axle.h>

#pragma GCC diagnostic ignored "-Wunused-function"

void on_written(ax_write_t *req, int status);
void on_shutdown(ax_shutdown_t *req, int status);
void on_close(ax_handle_t *handle);

#include AX_SNIPPET
