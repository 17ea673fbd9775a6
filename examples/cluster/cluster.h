/*
 * cluster.h: what the two halves of the cluster example share.
 *
 * One program, two roles. Run as `cluster --workers N --port P --mode M`
 * it is the primary (primary.c): it starts N copies of itself as workers,
 * each with an IPC pipe as its descriptor 3, restarts the ones that die,
 * replaces them one by one on SIGHUP, stops them all on SIGINT or
 * SIGTERM, and reports their status. Run as `cluster --worker M ...` (by
 * the primary, never by hand) it is a worker (worker.c): one loop serving
 * the HTTP server example's routes (examples/http-server/) on a listener
 * or connections the primary hands it, or on a listener of its own.
 *
 * The two talk in lines of text over the IPC pipe:
 *
 *   primary -> worker   "l\n" + a listener    (shared: accept on it)
 *                       "c\n" + a connection  (round-robin: serve it)
 *                       "stop\n"              (drain and exit)
 *   worker -> primary   "ready\n"             (accepting now)
 *                       "requests N\n"        (answered so far)
 *
 * docs/cluster.md describes the modes and when each wins.
 */
#ifndef CLUSTER_H
#define CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include <axle.h>

/* How connections reach the workers. */
enum cluster_mode {
  MODE_SHARED,      /* The primary's listener, accepted on by every worker. */
  MODE_ROUND_ROBIN, /* The primary accepts and hands each one on in turn. */
  MODE_REUSEPORT    /* Each worker's own listener on the port (SO_REUSEPORT). */
};

enum {
  CLUSTER_MAX_WORKERS = 256, /* --workers is at most this. */
  CLUSTER_IPC_FD = 3,        /* The worker's end of its IPC pipe. */
  CLUSTER_LINE_BYTES = 64,   /* The longest IPC line. */
};

/* What the command line says; the worker's copy comes from the primary. */
struct cluster_options {
  enum cluster_mode mode;    /* --mode. */
  const char *host;          /* --host: the address to listen on. */
  int port;                  /* --port; 0 picks a free one. */
  int status_port;           /* --status-port (primary); 0 picks one. */
  unsigned int workers;      /* --workers (primary). */
  uint64_t drain_ms;         /* --drain-ms: a draining worker's grace. */
  uint64_t ready_ms;         /* --ready-ms: a new worker's time to be ready. */
  uint64_t restart_min_ms;   /* First back-off before a restart... */
  uint64_t restart_max_ms;   /* ...doubling up to this... */
  uint64_t restart_reset_ms; /* ...and back to the first after this up. */
};

/* The lines of a byte stream, cut at '\n' into a fixed buffer; a line
 * longer than the buffer is an error of the peer. */
struct cluster_lines {
  char data[CLUSTER_LINE_BYTES]; /* The line so far. */
  unsigned int len;              /* Bytes in data. */
};

/* main.c */
const char *cluster_mode_name(enum cluster_mode mode);
bool cluster_lines_feed(struct cluster_lines *lines, const char *data,
                        size_t len, void (*line_cb)(void *arg, char *line),
                        void *arg);
int cluster_send_line(ax_stream_t *stream, ax_stream_t *handle,
                      const char *text);

/* primary.c and worker.c: each role's whole life; the exit status. */
int primary_main(const struct cluster_options *options);
int worker_main(const struct cluster_options *options);

#endif /* CLUSTER_H */
