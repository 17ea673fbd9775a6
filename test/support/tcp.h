/*
 * test/support/tcp.h: what the TCP tests share: a listener on a loopback
 * address and a free port, a connected pair of handles made through it,
 * and a bounded way to run a loop until something has happened.
 */
#ifndef AX_TEST_TCP_H
#define AX_TEST_TCP_H

#include "net.h"
#include "test.h"

/* Longest a test waits for anything before it fails. */
#define TCP_TEST_WAIT_MS 20000

/* Fill *addr from text ("127.0.0.1", "::1") and a port. */
void tcp_test_addr(const char *ip, int port, struct sockaddr_storage *addr);

/* Initialise *listener on loop, bind it to ip and port 0, listen, and
 * return the port the system chose in *port. Returns 0, or the error of
 * bind (the test may skip when ::1 is not configured). */
int tcp_test_listen(ax_loop_t *loop, ax_tcp_t *listener, const char *ip,
                    ax_connection_cb cb, int *port);

/* Run the loop an iteration at a time until *counter >= want. Fails the
 * test after TCP_TEST_WAIT_MS; never blocks longer than 50 ms at once. */
void tcp_run_until(ax_loop_t *loop, const int *counter, int want);

/* The same for a byte count. */
void tcp_run_until_size(ax_loop_t *loop, const size_t *value, size_t want);

/* Write with ax_try_write() until the kernel takes no more, so that what
 * is written next waits in the stream's queue. Copies chunk_len bytes from
 * chunk each time, or (pattern non-zero) fills them from
 * tcp_pattern_byte() at the running offset, starting at *offset. Returns
 * the bytes written. */
size_t tcp_fill_kernel(ax_stream_t *stream, char *chunk, size_t chunk_len,
                       size_t *offset);

/* The byte at offset i of the test pattern: not periodic at any power of
 * two, so that a lost, repeated or reordered block shows. */
char tcp_pattern_byte(size_t i);
void tcp_pattern_fill(char *buf, size_t offset, size_t len);
/* Fails the test unless buf holds the pattern from offset 0. */
void tcp_pattern_check(const char *buf, size_t len);

/* A client connected to a server handle on the same loop. */
struct tcp_pair {
  ax_loop_t *loop;      /* Their loop. */
  ax_tcp_t listener;    /* Closed once the server side is accepted. */
  ax_tcp_t client;      /* Connected with ax_tcp_connect(). */
  ax_tcp_t server;      /* Accepted with ax_accept(). */
  ax_connect_t connect; /* The client's connect request. */
  int port;             /* The listener's port. */
  int connected;        /* Connect callbacks run. */
  int accepted;         /* Connections accepted. */
  int closed;           /* Close callbacks run, of all three handles. */
};

/* Make a connected pair over ip. Returns 0, or the error of binding the
 * listener (so that a test can skip ::1 where it is missing). */
int tcp_pair_open(ax_loop_t *loop, struct tcp_pair *pair, const char *ip);

/* Close whichever of client and server is still open, and run the loop
 * until every close callback has run. */
void tcp_pair_close(struct tcp_pair *pair);

/* Close callbacks for the pair's handles, for tests that close them. */
void tcp_pair_client_closed(ax_handle_t *handle);
void tcp_pair_server_closed(ax_handle_t *handle);

#endif /* AX_TEST_TCP_H */
