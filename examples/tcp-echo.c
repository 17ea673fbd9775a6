/* tcp-echo.c [PORT]: a minimal TCP echo server on 127.0.0.1, the one to
 * copy (docs/tcp.md walks through it; echo-server.c is it tuned for load).
 * PORT is 7000 by default; 0 picks a free one. */
#include <stdio.h>
#include <stdlib.h>
#if defined(_WIN32)
#include <winsock2.h> /* struct sockaddr_in, ntohs() */
#else
#include <arpa/inet.h>  /* ntohs() */
#include <netinet/in.h> /* struct sockaddr_in */
#endif
#include <axle.h>

struct echo {             /* one per read; on_written or on_shutdown frees it */
  char data[64 * 1024];   /* first: the read buffer's address is the echo's */
  ax_write_t write;       /* sends the bytes back */
  ax_shutdown_t shutdown; /* at the end of input: the echoes, then close */
};

static void on_close(ax_handle_t *handle) {
  free(handle); /* the ax_tcp_t that on_connection allocated */
}

static void on_alloc(ax_handle_t *handle, size_t size, ax_buf_t *buf) {
  struct echo *echo = malloc(sizeof(*echo)); /* NULL: the read fails */
  *buf = ax_buf_init(echo ? echo->data : NULL, echo ? sizeof(echo->data) : 0);
  (void)handle, (void)size;
}

static void on_written(ax_write_t *req, int status) {
  free(ax_container_of(req, struct echo, write)); /* errors reach on_read */
  (void)status;
}

static void on_shutdown(ax_shutdown_t *req, int status) {
  ax_close(&req->handle->handle, on_close); /* every echo has gone out */
  free(ax_container_of(req, struct echo, shutdown));
  (void)status;
}

static void on_read(ax_stream_t *stream, ptrdiff_t nread, const ax_buf_t *buf) {
  struct echo *echo = (struct echo *)buf->base; /* NULL if on_alloc failed */
  ax_buf_t out = ax_buf_init(buf->base, nread > 0 ? (size_t)nread : 0);
  if (nread > 0 && ax_write(&echo->write, stream, &out, 1, on_written) == 0)
    return; /* on_written frees echo */
  if (nread == AX_EOF && ax_shutdown(&echo->shutdown, stream, on_shutdown) == 0)
    return; /* on_shutdown frees echo and closes */
  free(echo);
  if (nread != 0) /* an error, or a write or shutdown that failed */
    ax_close(&stream->handle, on_close);
}

static void on_connection(ax_stream_t *server, int status) {
  ax_tcp_t *conn = status == 0 ? malloc(sizeof(*conn)) : NULL;
  if (conn == NULL)
    return; /* status < 0: axle retries; no memory: the client waits */
  ax_tcp_init(server->handle.loop, conn);
  if (ax_accept(server, &conn->stream) != 0 ||
      ax_read_start(&conn->stream, on_alloc, on_read) != 0)
    ax_close(&conn->stream.handle, on_close);
}

int main(int argc, char **argv) {
  ax_loop_t loop;
  ax_tcp_t server;
  struct sockaddr_in addr;
  int len = sizeof(addr), port = argc > 1 ? atoi(argv[1]) : 7000, err;
  if ((err = ax_loop_init(&loop)) || (err = ax_tcp_init(&loop, &server)) ||
      (err = ax_ip4_addr("127.0.0.1", port, &addr)) ||
      (err = ax_tcp_bind(&server, (struct sockaddr *)&addr, 0)) ||
      (err = ax_listen(&server.stream, 128, on_connection)) ||
      (err = ax_tcp_getsockname(&server, (struct sockaddr *)&addr, &len))) {
    fprintf(stderr, "tcp-echo: %s\n", ax_strerror(err));
    return 1;
  }
  printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  fflush(stdout); /* a test waits for that line on a pipe */
  return ax_run(&loop, AX_RUN_DEFAULT) == 0 ? 0 : 1; /* runs until killed */
}
