/*
 * worker.c: one worker of the cluster example: a loop that serves the
 * HTTP server example's routes (examples/http-server/server.c), on
 *
 *   shared       the listener the primary sends ("l\n" and the handle),
 *                the same one to every worker;
 *   round-robin  each connection the primary sends ("c\n" and the handle);
 *   reuseport    the listener the primary sends, its slot's own socket
 *                of the port's AX_TCP_REUSEPORT group.
 *
 * It says "ready" over its IPC pipe (descriptor 3) once it serves, and
 * "requests N" a few times a second while its count changes. On "stop",
 * on SIGINT or SIGTERM, or when the primary goes away (the pipe's end),
 * it drains: its listener closes at once, every open connection gets one
 * more answer, with "Connection: close", and the worker exits when the
 * last one has gone or after --drain-ms. A connection that is idle when
 * the drain begins is kept for its next request rather than closed:
 * closing it would race with a request the client may be sending that
 * moment, which would fail. That is what makes a rolling restart lose no
 * request.
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../http-server/server.h"
#include "cluster.h"

enum {
  REPORT_MS = 200, /* How often the request count is sent, if it moved. */
};

/* The worker: its server (and loop), and the pipe to the primary. */
struct worker {
  struct server server; /* The loop, its listener, connections. */
  struct config config; /* The routes' settings. */
  const struct cluster_options *options; /* The command line. */
  ax_pipe_t ipc;                         /* To the primary; carries handles. */
  ax_timer_t report;                     /* Sends the request count. */
  ax_signal_t sigint;                    /* Drains. */
  ax_signal_t sigterm;                   /* Drains. */
  ax_signal_t sighup;                    /* Ignored: SIGHUP is the primary's. */
  uint64_t reported;                     /* The count last sent. */
  bool serving;                          /* Said "ready". */
  bool stopping;                         /* Draining. */
  bool failed;                           /* Stopped by an error: exit 1. */
  struct cluster_lines lines;            /* What the primary says. */
  char in[256];                          /* The pipe's read buffer. */
};

static void worker_close_handle(ax_handle_t *handle) {
  if (!ax_is_closing(handle))
    ax_close(handle, NULL);
}

/* Drain: no more listening or reading from the primary; the server
 * closes its listener and lets its connections finish. The pipe stays
 * open, unreferenced, for the last count (worker_main). */
static void worker_stop(struct worker *w) {
  if (w->stopping)
    return;
  w->stopping = true;
  worker_close_handle(&w->report.handle);
  worker_close_handle(&w->sigint.handle);
  worker_close_handle(&w->sigterm.handle);
  worker_close_handle(&w->sighup.handle);
  if (!ax_is_closing(&w->ipc.stream.handle)) {
    ax_read_stop(&w->ipc.stream);
    ax_unref(&w->ipc.stream.handle);
  }
  server_drain(&w->server);
}

/* Says "ready" to the primary. CLUSTER_NEVER_READY in the environment
 * (cluster-check.sh's hook) keeps it silent, so that the primary's
 * --ready-ms kill can be tested without racing a fast worker. */
static void worker_ready(struct worker *w) {
  w->serving = true;
  if (getenv("CLUSTER_NEVER_READY") != NULL)
    return;
  if (cluster_send_line(&w->ipc.stream, NULL, "ready") != 0)
    worker_stop(w);
}

static void worker_send_count(struct worker *w) {
  char line[CLUSTER_LINE_BYTES];
  w->reported = w->server.requests;
  snprintf(line, sizeof(line), "requests %llu",
           (unsigned long long)w->reported);
  cluster_send_line(&w->ipc.stream, NULL, line);
}

static void worker_report(ax_timer_t *timer) {
  struct worker *w = ax_container_of(timer, struct worker, report);
  if (w->server.requests != w->reported)
    worker_send_count(w);
}

static void worker_on_signal(ax_signal_t *signal, int signum) {
  if (signum != SIGHUP)
    worker_stop(signal->handle.data);
}

/* The listener of a shared or reuseport worker: received, then accepted
 * on. */
static int worker_take_listener(struct worker *w) {
  int rc = ax_accept(&w->ipc.stream, &w->server.listener.stream);
  if (rc == 0)
    rc = server_serve(&w->server);
  if (rc == 0)
    worker_ready(w);
  return rc;
}

/* Take every handle that came with the bytes just read: the listener
 * (shared and reuseport, once) or connections (round-robin). */
static int worker_take_handles(struct worker *w) {
  while (ax_pipe_pending_count(&w->ipc) > 0) {
    if (ax_pipe_pending_type(&w->ipc) != AX_TCP)
      return AX_EINVAL; /* Not from our primary. */
    if (w->options->mode != MODE_ROUND_ROBIN && !w->serving) {
      int rc = worker_take_listener(w);
      if (rc != 0)
        return rc;
    } else {
      server_accept(&w->ipc.stream);
    }
  }
  return 0;
}

static void worker_line(void *arg, char *line) {
  if (strcmp(line, "stop") == 0)
    worker_stop(arg);
}

static void worker_alloc(ax_handle_t *handle, size_t suggested_size,
                         ax_buf_t *buf) {
  struct worker *w = ax_container_of(handle, struct worker, ipc.stream.handle);
  (void)suggested_size;
  *buf = ax_buf_init(w->in, sizeof(w->in));
}

/* Handles first, then lines: a "stop" comes after the connections the
 * primary sent before it, and they are served. */
static void worker_read(ax_stream_t *stream, ptrdiff_t nread,
                        const ax_buf_t *buf) {
  struct worker *w = ax_container_of(stream, struct worker, ipc.stream);
  int rc = nread < 0 ? (int)nread : worker_take_handles(w);
  if (rc == 0 &&
      !cluster_lines_feed(&w->lines, buf->base, (size_t)nread, worker_line, w))
    rc = AX_EINVAL;
  if (rc == 0)
    return;
  if (rc != AX_EOF) {
    fprintf(stderr, "cluster: worker %lld: IPC: %s\n",
            (long long)ax_os_getpid(), ax_strerror(rc));
    w->failed = true;
  }
  worker_stop(w); /* The primary is gone, or speaks nonsense. */
}

static int worker_signals(struct worker *w) {
  ax_loop_t *loop = &w->server.loop;
  ax_signal_t *signals[] = {&w->sigint, &w->sigterm, &w->sighup};
  const int numbers[] = {SIGINT, SIGTERM, SIGHUP};
  int rc = 0;
  for (int i = 0; i < 3 && rc == 0; i++) {
    rc = ax_signal_init(loop, signals[i]);
    if (rc != 0)
      break;
    signals[i]->handle.data = w;
    ax_unref(&signals[i]->handle);
    rc = ax_signal_start(signals[i], numbers[i], worker_on_signal);
  }
  return rc;
}

/* The loop, the pipe, the signals and the report timer; the listener or
 * the connections come from the primary. */
static int worker_start(struct worker *w) {
  server_config_defaults(&w->config);
  w->config.host = w->options->host;
  w->config.port = w->options->port;
  w->config.shutdown_timeout_ms = w->options->drain_ms;
  int rc = server_init(&w->server, &w->config);
  if (rc != 0)
    return rc;
  w->server.keep_idle = true;
  rc = ax_pipe_init(&w->server.loop, &w->ipc, true);
  if (rc == 0)
    rc = ax_pipe_open(&w->ipc, CLUSTER_IPC_FD);
  if (rc == 0)
    rc = ax_read_start(&w->ipc.stream, worker_alloc, worker_read);
  if (rc == 0)
    rc = worker_signals(w);
  if (rc == 0)
    rc = ax_timer_init(&w->server.loop, &w->report);
  if (rc == 0) {
    ax_unref(&w->report.handle);
    rc = ax_timer_start(&w->report, worker_report, REPORT_MS, REPORT_MS);
  }
  if (rc == 0 && w->options->mode == MODE_ROUND_ROBIN)
    worker_ready(w);
  return rc;
}

static void worker_close_one(ax_handle_t *handle, void *arg) {
  (void)arg;
  worker_close_handle(handle);
}

/* Serve until drained; then send the last count and close everything. */
int worker_main(const struct cluster_options *options) {
  struct worker *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return 1;
  w->options = options;
  int rc = worker_start(w);
  if (rc != 0) {
    fprintf(stderr, "cluster: worker %lld: %s\n", (long long)ax_os_getpid(),
            ax_strerror(rc));
    worker_stop(w);
  }
  if (w->server.initialised) {
    ax_run(&w->server.loop, AX_RUN_DEFAULT);
    worker_send_count(w);
    ax_run(&w->server.loop, AX_RUN_DEFAULT); /* The write. */
    server_close(&w->server);
    ax_walk(&w->server.loop, worker_close_one, NULL);
    ax_run(&w->server.loop, AX_RUN_DEFAULT);
    if (ax_loop_close(&w->server.loop) != 0 && rc == 0)
      rc = AX_EBUSY;
  }
  rc = rc == 0 && w->failed ? AX_EINVAL : rc;
  free(w->server.out);
  free(w);
  return rc == 0 ? 0 : 1;
}
