/*
 * docs/snippets/tcp-accept.c: the wrapper of docs/tcp.md's accepting
 * fragment, for scripts/check-docs.sh: the callbacks it names (defined in
 * examples/tcp-echo.c), and unused functions allowed.
 */
#include <stdlib.h>

#include <axle.h>

#pragma GCC diagnostic ignored "-Wunused-function"

void on_alloc(ax_handle_t *handle, size_t size, ax_buf_t *buf);
void on_read(ax_stream_t *stream, ptrdiff_t nread, const ax_buf_t *buf);
void on_close(ax_handle_t *handle);

#include AX_SNIPPET
