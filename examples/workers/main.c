/*
 * main.c: the worker-loops example (docs/workers.md). The HTTP server
 * example's connections and routes (../http-server/server.c, routes.c)
 * on one serving loop, with two routes of its own:
 *
 *   GET /hash?n=N   N rounds of the mixing function, computed by one of
 *                   --workers N threads, each running a loop of its own:
 *                   the request goes to a worker's message queue, the
 *                   answer comes back through the serving loop's queue
 *                   (ax_msgq_t both ways). With --hash pool, routes.c's
 *                   own /hash answers instead, on the thread pool.
 *   GET /metrics    the serving loop's delay (p50, p90, p99, max), the
 *                   thread pool's lanes (queue wait and run time), and
 *                   the jobs each worker ran; ?reset=1 empties the
 *                   histograms after answering.
 *
 * The serving loop measures its delay from the start. Whichever design
 * computes the hashes, "/" keeps being answered while they run: the
 * CPU work is on other threads, and /metrics shows what it costs the
 * serving loop.
 *
 * Workers are chosen in turn. A worker's queue has no capacity limit:
 * the HTTP server's --max-connections bounds the requests in flight
 * (one per connection), and so the messages. SIGINT or SIGTERM drains
 * the server; then each worker is told to stop by a message of its own,
 * and joined. It prints "listening on HOST:PORT" once it accepts
 * connections.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../http-server/server.h"

enum {
  MAX_WORKERS = 64,             /* --workers is at most this. */
  METRICS_BYTES = 4096,         /* Room for the /metrics text. */
  DEFAULT_WORKERS = 2,          /* When --workers is not given. */
  MAX_HASH_ROUNDS = 1000000000, /* Seconds of a core, not minutes. */
};

/* A /hash request on its way to a worker and back. */
struct hash_msg {
  ax_msg_t link;     /* In a worker's queue, then in the results'. */
  struct conn *conn; /* The connection it answers; NULL: stop. */
  uint64_t rounds;   /* How many. */
  uint64_t result;   /* The value after them. */
};

/* One worker thread and its loop. */
struct worker {
  ax_loop_t loop;       /* Its own loop. */
  ax_msgq_t inbox;      /* Requests from the serving loop. */
  ax_thread_t thread;   /* Where the loop runs. */
  struct hash_msg stop; /* The last message: close the inbox. */
  ax_msgq_t *results;   /* The serving loop's queue for answers. */
  uint64_t jobs;        /* Hashes computed (read after the join). */
  bool started;         /* The thread runs (for cleanup). */
};

/* The program. */
static struct {
  struct config config;       /* The HTTP server's settings. */
  struct server server;       /* The serving loop. */
  ax_msgq_t results;          /* Answers from the workers. */
  ax_signal_t sigint;         /* Drains the server. */
  ax_signal_t sigterm;        /* Likewise. */
  struct worker *workers;     /* --workers of them. */
  int worker_count;           /* How many. */
  int next;                   /* The worker the next job goes to. */
  bool pool;                  /* --hash pool: routes.c's /hash. */
  uint64_t sent[MAX_WORKERS]; /* Jobs sent to each (serving loop). */
} app;

/* -- The workers -------------------------------------------------------- */

/* On the worker's thread: compute, and post the answer back. A post to
 * the results queue cannot fail: it has no capacity and stays open until
 * every worker is joined. */
static void worker_on_msg(ax_msgq_t *inbox, ax_msg_t *link) {
  struct worker *w = ax_container_of(inbox, struct worker, inbox);
  struct hash_msg *m = ax_container_of(link, struct hash_msg, link);
  if (m->conn == NULL) {
    ax_close(&w->inbox.handle, NULL);
    return;
  }
  m->result = hash_rounds(m->rounds);
  w->jobs++;
  ax_msgq_post(w->results, &m->link);
}

static void worker_main(void *arg) {
  struct worker *w = arg;
  ax_run(&w->loop, AX_RUN_DEFAULT);
}

static int worker_start(struct worker *w, ax_msgq_t *results) {
  w->results = results;
  int rc = ax_loop_init(&w->loop);
  if (rc != 0)
    return rc;
  rc = ax_msgq_init(&w->loop, &w->inbox, worker_on_msg, NULL, 0);
  if (rc == 0) {
    rc = ax_thread_create(&w->thread, worker_main, w);
    if (rc != 0) {
      ax_close(&w->inbox.handle, NULL);
      ax_run(&w->loop, AX_RUN_DEFAULT);
    }
  }
  if (rc != 0) {
    ax_loop_close(&w->loop);
    return rc;
  }
  w->started = true;
  return 0;
}

/* Tell the worker to finish what it was sent and stop; join it. */
static void worker_stop(struct worker *w) {
  if (!w->started)
    return;
  w->stop.conn = NULL;
  ax_msgq_post(&w->inbox, &w->stop.link);
  ax_thread_join(&w->thread);
  ax_loop_close(&w->loop);
  w->started = false;
}

/* -- The routes --------------------------------------------------------- */

/* On the serving loop: a worker's answer. */
static void results_on_msg(ax_msgq_t *results, ax_msg_t *link) {
  struct hash_msg *m = ax_container_of(link, struct hash_msg, link);
  struct conn *c = m->conn;
  (void)results;
  if (conn_pending_end(c))
    return; /* The client left; the connection freed the job. */
  char text[64];
  snprintf(text, sizeof(text), "%016llx\n", (unsigned long long)m->result);
  if (!response_text(c, 200, text)) {
    conn_abort(c);
    return;
  }
  conn_async_end(c); /* Frees the job. */
}

static bool slice_equals(struct http_slice s, const char *text) {
  return s.len == strlen(text) && memcmp(s.data, text, s.len) == 0;
}

/* "?n=DIGITS" (the whole query): its value, or false. */
static bool query_rounds(struct http_slice query, uint64_t *rounds) {
  if (query.len < 4 || query.len > 3 + 18 || memcmp(query.data, "?n=", 3))
    return false;
  uint64_t v = 0;
  for (size_t i = 3; i < query.len; i++) {
    if (query.data[i] < '0' || query.data[i] > '9')
      return false;
    v = v * 10 + (uint64_t)(query.data[i] - '0');
  }
  *rounds = v;
  return v <= MAX_HASH_ROUNDS;
}

/* The request's arg: 1 for /metrics, 2 for /metrics?reset=1, 3 + rounds
 * for /hash. */
enum { ARG_METRICS = 1, ARG_METRICS_RESET = 2, ARG_HASH = 3 };

static int extra_match(struct conn *c, struct http_slice path,
                       struct http_slice query) {
  if (slice_equals(path, "/metrics")) {
    if (query.len == 0)
      c->req.arg = ARG_METRICS;
    else if (slice_equals(query, "?reset=1"))
      c->req.arg = ARG_METRICS_RESET;
    else
      return 400;
    return 0;
  }
  if (app.pool || !slice_equals(path, "/hash"))
    return -1;
  uint64_t rounds;
  if (!query_rounds(query, &rounds))
    return 400;
  c->req.arg = ARG_HASH + rounds;
  return 0;
}

static void hash_send(struct conn *c) {
  struct hash_msg *m = calloc(1, sizeof(*m));
  int w = app.next;
  app.next = (app.next + 1) % app.worker_count;
  int rc = AX_ENOMEM;
  if (m != NULL) {
    m->conn = c;
    m->rounds = c->req.arg - ARG_HASH;
    c->req.job = m; /* Before the post: the answer may come at once. */
    c->pending++;
    rc = ax_msgq_post(&app.workers[w].inbox, &m->link);
    if (rc != 0)
      c->pending--;
  }
  if (rc == 0) {
    app.sent[w]++;
    return;
  }
  if (!response_text(c, 503, "Service Unavailable\n"))
    conn_abort(c);
  else
    conn_async_end(c);
}

/* "name count p50 p90 p99 max" of one histogram, in nanoseconds. */
static size_t metrics_line(char *out, size_t room, const char *name,
                           const ax_histogram_t *h) {
  int n = snprintf(out, room, "%-16s %10llu %12llu %12llu %12llu %12llu\n",
                   name, (unsigned long long)h->count,
                   (unsigned long long)ax_histogram_percentile(h, 50),
                   (unsigned long long)ax_histogram_percentile(h, 90),
                   (unsigned long long)ax_histogram_percentile(h, 99),
                   (unsigned long long)h->max_ns);
  return n > 0 && (size_t)n < room ? (size_t)n : 0;
}

static void metrics_respond(struct conn *c) {
  static const char *const lanes[AX_LANE_MAX] = {"fs", "dns", "user"};
  ax_loop_t *loop = &c->server->loop;
  char text[METRICS_BYTES];
  char name[32];
  ax_histogram_t h, run;
  size_t len = (size_t)snprintf(
      text, sizeof(text),
      "# hash on %s; times in ns\n%-16s %10s %12s %12s "
      "%12s %12s\n",
      app.pool ? "the thread pool" : "worker loops", "histogram", "count",
      "p50", "p90", "p99", "max");
  ax_loop_delay(loop, &h);
  len += metrics_line(text + len, sizeof(text) - len, "loop_delay", &h);
  for (int lane = 0; lane < AX_LANE_MAX; lane++) {
    ax_loop_lane_metrics(loop, (ax_lane)lane, &h, &run);
    snprintf(name, sizeof(name), "pool_%s_wait", lanes[lane]);
    len += metrics_line(text + len, sizeof(text) - len, name, &h);
    snprintf(name, sizeof(name), "pool_%s_run", lanes[lane]);
    len += metrics_line(text + len, sizeof(text) - len, name, &run);
  }
  for (int i = 0; i < app.worker_count && len < sizeof(text); i++)
    len += (size_t)snprintf(text + len, sizeof(text) - len,
                            "worker_%d_jobs %llu\n", i,
                            (unsigned long long)app.sent[i]);
  if (c->req.arg == ARG_METRICS_RESET) {
    ax_loop_delay_reset(loop);
    ax_loop_lane_metrics_reset(loop);
  }
  if (!response_text(c, 200, text))
    conn_abort(c);
}

static void extra_respond(struct conn *c) {
  if (c->req.arg >= ARG_HASH) {
    conn_async_begin(c);
    hash_send(c);
  } else {
    metrics_respond(c);
  }
}

static const struct route_extra extra = {extra_match, extra_respond};

/* -- The program -------------------------------------------------------- */

static void on_signal(ax_signal_t *signal, int signum) {
  (void)signal;
  (void)signum;
  server_drain(&app.server);
}

static int app_signals(ax_loop_t *loop) {
  int rc = ax_signal_init(loop, &app.sigint);
  if (rc == 0)
    rc = ax_signal_init(loop, &app.sigterm);
  if (rc == 0)
    rc = ax_signal_start(&app.sigint, SIGINT, on_signal);
  if (rc == 0)
    rc = ax_signal_start(&app.sigterm, SIGTERM, on_signal);
  if (rc == AX_ENOSYS) /* Windows: SIGINT (Ctrl+C) only. */
    rc = 0;
  if (rc == 0) {
    ax_unref(&app.sigint.handle);
    ax_unref(&app.sigterm.handle);
  }
  return rc;
}

static int usage(void) {
  fprintf(stderr, "usage: workers [--host 127.0.0.1] [--port 8080] "
                  "[--workers N] [--hash workers|pool]\n");
  return 2;
}

static bool parse_args(int argc, char **argv) {
  for (int i = 1; i < argc; i += 2) {
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;
    char *end = NULL;
    long n = value != NULL ? strtol(value, &end, 10) : -1;
    bool number = value != NULL && *value != '\0' && *end == '\0';
    if (value == NULL)
      return false;
    if (strcmp(argv[i], "--host") == 0)
      app.config.host = value;
    else if (strcmp(argv[i], "--port") == 0 && number && n >= 0 && n < 65536)
      app.config.port = (int)n;
    else if (strcmp(argv[i], "--workers") == 0 && number && n >= 1 &&
             n <= MAX_WORKERS)
      app.worker_count = (int)n;
    else if (strcmp(argv[i], "--hash") == 0 && strcmp(value, "pool") == 0)
      app.pool = true;
    else if (strcmp(argv[i], "--hash") != 0 || strcmp(value, "workers") != 0)
      return false;
  }
  return true;
}

static void close_if_open(ax_handle_t *handle, void *arg) {
  (void)arg;
  if (!ax_is_closing(handle))
    ax_close(handle, NULL);
}

/* The serving loop, its results queue and the workers. */
static int app_start(void) {
  ax_loop_t *loop = &app.server.loop;
  int rc = server_init(&app.server, &app.config);
  if (rc != 0)
    return rc;
  rc = ax_loop_delay_start(loop);
  if (rc == 0)
    rc = ax_msgq_init(loop, &app.results, results_on_msg, NULL, 0);
  if (rc == 0)
    ax_unref(&app.results.handle); /* Connections keep the loop alive. */
  for (int i = 0; i < app.worker_count && rc == 0; i++)
    rc = worker_start(&app.workers[i], &app.results);
  if (rc == 0)
    rc = app_signals(loop);
  if (rc == 0)
    rc = server_listen(&app.server);
  return rc;
}

/* After the serving loop ran out: the workers, then what is left. */
static int app_finish(void) {
  for (int i = 0; i < app.worker_count; i++)
    worker_stop(&app.workers[i]);
  if (!app.server.initialised)
    return 0;
  server_close(&app.server);
  ax_walk(&app.server.loop, close_if_open, NULL);
  ax_run(&app.server.loop, AX_RUN_DEFAULT);
  int rc = ax_loop_close(&app.server.loop);
  free(app.server.out);
  return rc;
}

int main(int argc, char **argv) {
  server_config_defaults(&app.config);
  app.worker_count = DEFAULT_WORKERS;
  if (!parse_args(argc, argv))
    return usage();
  app.workers = calloc((size_t)app.worker_count, sizeof(*app.workers));
  if (app.workers == NULL)
    return 1;
  route_extra = &extra;
  int rc = app_start();
  if (rc == 0) {
    printf("listening on %s:%d\n", app.config.host, app.config.port);
    printf("hash on %s, %d worker loop(s), %s backend\n",
           app.pool ? "the thread pool" : "worker loops", app.worker_count,
           ax_backend_name(&app.server.loop));
    fflush(stdout);
    rc = ax_run(&app.server.loop, AX_RUN_DEFAULT);
  } else {
    fprintf(stderr, "workers: %s:%d: %s\n", app.config.host, app.config.port,
            ax_strerror(rc));
  }
  int finish_rc = app_finish();
  free(app.workers);
  return rc == 0 && finish_rc == 0 ? 0 : 1;
}
