/*
 * main.c: the HTTP server example's command line, loops, threads and
 * signals. server.c runs the connections, routes.c answers them.
 *
 * --threads N runs N loops on N threads, each with its own listener on
 * the same port (AX_TCP_REUSEPORT, which Linux balances; where a system
 * cannot share a port, one loop serves alone, and says so). The
 * first loop owns the signal handles: SIGINT or SIGTERM drains every
 * loop (stop accepting, finish the requests in progress, close), and a
 * second one closes everything at once. The process exits 0 once every
 * loop has run out.
 *
 * It prints "listening on HOST:PORT" once it accepts connections; tests
 * and scripts wait for that line.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h" /* POOL_MAX_SIZE, for --kv-pool. */
#include "server.h"

enum {
  MAX_THREADS = 64,        /* --threads is at most this. */
  MIN_HEAD_BYTES = 256,    /* --max-head-bytes at least... */
  MAX_HEAD_BYTES = 1 << 20 /* ...and at most this. */
};

/* The program: settings, servers, and the signal handles. */
struct app {
  struct config config;   /* The settings every loop reads. */
  struct server *servers; /* config.threads of them. */
  ax_signal_t sigint;     /* Drains, on servers[0]'s loop. */
  ax_signal_t sigterm;    /* Likewise. */
  atomic_int stop_mode;   /* 0 running, 1 draining, 2 closing. */
};

static void app_stop_loop(struct app *app, struct server *s) {
  if (atomic_load(&app->stop_mode) >= 2)
    server_close(s);
  else
    server_drain(s);
}

static void on_stop(ax_async_t *stop) {
  struct server *s = ax_container_of(stop, struct server, stop);
  app_stop_loop(stop->handle.data, s);
}

/* The first signal drains, the second closes; each loop hears of it on
 * its own thread. */
static void on_signal(ax_signal_t *signal, int signum) {
  struct app *app = signal->handle.data;
  (void)signum;
  if (atomic_load(&app->stop_mode) < 2)
    atomic_fetch_add(&app->stop_mode, 1);
  for (int i = 1; i < app->config.threads; i++)
    ax_async_send(&app->servers[i].stop);
  app_stop_loop(app, &app->servers[0]);
}

static void server_thread(void *arg) {
  struct server *s = arg;
  ax_run(&s->loop, AX_RUN_DEFAULT);
}

/* The signal and stop handles stay open while the loops serve, but do
 * not keep a loop alive: a drained loop runs out by itself. The signal
 * handles come first, before any listener: a SIGINT that arrives once a
 * client can connect must find axle's handler, not the disposition the
 * process started with (a shell starts a background job with SIGINT
 * ignored, and then the signal would be gone without a trace). One that
 * arrives before the loop runs waits in the handle, and drains the
 * server in its first iteration. */
static int app_signals(struct app *app) {
  ax_loop_t *loop = &app->servers[0].loop;
  int rc = ax_signal_init(loop, &app->sigint);
  if (rc == 0)
    rc = ax_signal_init(loop, &app->sigterm);
  app->sigint.handle.data = app;
  app->sigterm.handle.data = app;
  if (rc == 0)
    rc = ax_signal_start(&app->sigint, SIGINT, on_signal);
  /* Windows delivers console events only: SIGINT (Ctrl+C) is one, and
   * SIGTERM is refused with AX_ENOSYS there; SIGINT alone then. */
  if (rc == 0)
    rc = ax_signal_start(&app->sigterm, SIGTERM, on_signal);
  if (rc == AX_ENOSYS)
    rc = 0;
  if (rc != 0)
    return rc;
  ax_unref(&app->sigint.handle);
  ax_unref(&app->sigterm.handle);
  return 0;
}

/* The other loops' stop handles, which the signals' callback sends to. */
static int app_stops(struct app *app) {
  int rc = 0;
  for (int i = 1; i < app->config.threads && rc == 0; i++) {
    struct server *s = &app->servers[i];
    rc = ax_async_init(&s->loop, &s->stop, on_stop);
    s->stop.handle.data = app;
    if (rc == 0)
      ax_unref(&s->stop.handle);
  }
  return rc;
}

static void close_if_open(ax_handle_t *handle, void *arg) {
  (void)arg;
  if (!ax_is_closing(handle))
    ax_close(handle, NULL);
}

/* Close what is left on every loop (the unreferenced handles, or all of
 * them after a failed start), run the close callbacks, close the loops. */
static int app_close_loops(struct app *app) {
  int rc = 0;
  for (int i = 0; i < app->config.threads; i++) {
    struct server *s = &app->servers[i];
    if (!s->initialised)
      continue;
    server_close(s);
    ax_walk(&s->loop, close_if_open, NULL);
    ax_run(&s->loop, AX_RUN_DEFAULT);
    if (ax_loop_close(&s->loop) != 0)
      rc = AX_EBUSY;
    free(s->out);
  }
  return rc;
}

/* Run the first loop here and the others on threads of their own, until
 * a signal drains them all. */
static int app_run(struct app *app) {
  int started = 1, rc = 0;
  for (; started < app->config.threads && rc == 0; started++)
    rc = ax_thread_create(&app->servers[started].thread, server_thread,
                          &app->servers[started]);
  if (rc != 0) {
    fprintf(stderr, "http-server: thread: %s\n", ax_strerror(rc));
    started--;
    on_signal(&app->sigint, SIGINT);
  }
  ax_run(&app->servers[0].loop, AX_RUN_DEFAULT);
  for (int i = 1; i < started; i++)
    ax_thread_join(&app->servers[i].thread);
  int close_rc = app_close_loops(app);
  return rc != 0 ? rc : close_rc;
}

static int usage(void) {
  fprintf(stderr,
          "usage: http-server [--host 127.0.0.1] [--port 8080] [--threads N]\n"
          "         [--static DIR] [--sendfile on|off]\n"
          "         [--max-connections N] [--max-head-bytes N]\n"
          "         [--max-target-bytes N] [--max-headers N]\n"
          "         [--max-body-bytes N] [--header-timeout MS]\n"
          "         [--body-timeout MS] [--idle-timeout MS]\n"
          "         [--send-timeout MS] [--shutdown-timeout MS]\n"
          "         [--kv HOST:PORT] [--kv-pool N]\n");
  return 2;
}

/* A whole decimal number within [min, max]. */
static bool parse_number(const char *text, uint64_t min, uint64_t max,
                         uint64_t *value) {
  char *end;
  if (text[0] < '0' || text[0] > '9')
    return false;
  unsigned long long v = strtoull(text, &end, 10);
  if (*end != '\0' || v < min || v > max)
    return false;
  *value = v;
  return true;
}

/* The options that take a number. */
enum option {
  OPT_PORT,
  OPT_THREADS,
  OPT_MAX_CONNECTIONS,
  OPT_MAX_HEAD_BYTES,
  OPT_MAX_TARGET_BYTES,
  OPT_MAX_HEADERS,
  OPT_MAX_BODY_BYTES,
  OPT_HEADER_TIMEOUT,
  OPT_BODY_TIMEOUT,
  OPT_IDLE_TIMEOUT,
  OPT_SEND_TIMEOUT,
  OPT_SHUTDOWN_TIMEOUT,
  OPT_COUNT
};

static void config_set(struct config *cfg, enum option option, uint64_t v) {
  switch (option) {
  case OPT_PORT:
    cfg->port = (int)v;
    break;
  case OPT_THREADS:
    cfg->threads = (int)v;
    break;
  case OPT_MAX_CONNECTIONS:
    cfg->max_connections = (unsigned int)v;
    break;
  case OPT_MAX_HEAD_BYTES:
    cfg->limits.max_head_bytes = (size_t)v;
    break;
  case OPT_MAX_TARGET_BYTES:
    cfg->limits.max_target_bytes = (size_t)v;
    break;
  case OPT_MAX_HEADERS:
    cfg->limits.max_headers = (size_t)v;
    break;
  case OPT_MAX_BODY_BYTES:
    cfg->limits.max_body_bytes = v;
    break;
  case OPT_HEADER_TIMEOUT:
    cfg->header_timeout_ms = v;
    break;
  case OPT_BODY_TIMEOUT:
    cfg->body_timeout_ms = v;
    break;
  case OPT_IDLE_TIMEOUT:
    cfg->idle_timeout_ms = v;
    break;
  case OPT_SEND_TIMEOUT:
    cfg->send_timeout_ms = v;
    break;
  default:
    cfg->shutdown_timeout_ms = v;
    break;
  }
}

/* A numeric option: its name, bounds and value. Timeouts are at most a
 * day; the head's bounds keep the parser's offsets in 32 bits. */
static bool parse_numeric(struct config *cfg, const char *name,
                          const char *text) {
  const uint64_t day_ms = (uint64_t)24 * 3600 * 1000;
  static const struct {
    const char *name;
    uint64_t min, max;
  } options[OPT_COUNT] = {
      [OPT_PORT] = {"--port", 0, 65535},
      [OPT_THREADS] = {"--threads", 1, MAX_THREADS},
      [OPT_MAX_CONNECTIONS] = {"--max-connections", 1, 1000000},
      [OPT_MAX_HEAD_BYTES] = {"--max-head-bytes", MIN_HEAD_BYTES,
                              MAX_HEAD_BYTES},
      [OPT_MAX_TARGET_BYTES] = {"--max-target-bytes", 16, MAX_HEAD_BYTES},
      [OPT_MAX_HEADERS] = {"--max-headers", 1, HTTP_PARSER_MAX_HEADERS},
      [OPT_MAX_BODY_BYTES] = {"--max-body-bytes", 0, UINT64_MAX >> 2},
      [OPT_HEADER_TIMEOUT] = {"--header-timeout", 1, 0},
      [OPT_BODY_TIMEOUT] = {"--body-timeout", 1, 0},
      [OPT_IDLE_TIMEOUT] = {"--idle-timeout", 1, 0},
      [OPT_SEND_TIMEOUT] = {"--send-timeout", 1, 0},
      [OPT_SHUTDOWN_TIMEOUT] = {"--shutdown-timeout", 1, 0},
  };
  for (int i = 0; i < OPT_COUNT; i++) {
    if (strcmp(name, options[i].name) != 0)
      continue;
    uint64_t v, max = options[i].max != 0 ? options[i].max : day_ms;
    if (!parse_number(text, options[i].min, max, &v))
      return false;
    config_set(cfg, (enum option)i, v);
    return true;
  }
  return false;
}

/* --kv HOST:PORT: the key-value server of /kv/ (kv-routes.c). */
static bool parse_kv(struct config *cfg, const char *value) {
  const char *colon = strrchr(value, ':');
  uint64_t port;
  static char host[64];
  size_t len = colon != NULL ? (size_t)(colon - value) : 0;
  if (len == 0 || len >= sizeof(host) ||
      !parse_number(colon + 1, 1, 65535, &port))
    return false;
  memcpy(host, value, len);
  host[len] = '\0';
  cfg->kv_host = host;
  cfg->kv_port = (int)port;
  return true;
}

/* "--name value" pairs; false on anything else. */
static bool parse_args(int argc, char **argv, struct config *cfg) {
  bool ok_kv = true;
  uint64_t kv_pool;
  for (int i = 1; i < argc && ok_kv; i += 2) {
    const char *name = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (value == NULL)
      return false;
    if (strcmp(name, "--host") == 0)
      cfg->host = value;
    else if (strcmp(name, "--static") == 0)
      cfg->static_dir = value;
    else if (strcmp(name, "--kv") == 0)
      ok_kv = parse_kv(cfg, value);
    else if (strcmp(name, "--kv-pool") == 0 &&
             parse_number(value, 0, POOL_MAX_SIZE, &kv_pool))
      cfg->kv_pool = (unsigned int)kv_pool;
    else if (strcmp(name, "--sendfile") == 0 &&
             (strcmp(value, "on") == 0 || strcmp(value, "off") == 0))
      cfg->sendfile = strcmp(value, "on") == 0;
    else if (!parse_numeric(cfg, name, value))
      return false;
  }
  return ok_kv && cfg->limits.max_target_bytes <= cfg->limits.max_head_bytes;
}

/* The static directory's canonical path, which every file's must begin
 * with (routes.c). Resolved once, here, synchronously. */
static int config_static_root(struct config *cfg, ax_loop_t *loop) {
  if (cfg->static_dir == NULL)
    return 0;
  ax_fs_t req;
  int rc = ax_fs_realpath(loop, &req, cfg->static_dir, NULL);
  if (rc == 0) {
    cfg->static_root_len = strlen(req.ptr);
    cfg->static_root = malloc(cfg->static_root_len + 1);
    if (cfg->static_root == NULL)
      rc = AX_ENOMEM;
    else
      memcpy(cfg->static_root, req.ptr, cfg->static_root_len + 1);
  }
  ax_fs_req_cleanup(&req);
  return rc;
}

/* The first loop, the static directory and the first listener; then the
 * other loops. Where listeners cannot share a port (AX_TCP_REUSEPORT is
 * AX_ENOTSUP: Windows), one loop accepts and serves everything. */
static int app_start(struct app *app) {
  struct config *cfg = &app->config;
  int rc = server_init(&app->servers[0], cfg);
  if (rc == 0)
    rc = config_static_root(cfg, &app->servers[0].loop);
  if (rc != 0 && cfg->static_dir != NULL && cfg->static_root == NULL) {
    fprintf(stderr, "http-server: %s: %s\n", cfg->static_dir, ax_strerror(rc));
    return rc;
  }
  if (rc == 0)
    rc = app_signals(app);
  if (rc == 0)
    rc = server_listen(&app->servers[0]);
  if (rc == AX_ENOTSUP && cfg->threads > 1) {
    fprintf(stderr,
            "http-server: listeners cannot share a port here: "
            "one loop instead of %d\n",
            cfg->threads);
    cfg->threads = 1;
    rc = server_listen(&app->servers[0]);
  }
  for (int i = 1; i < cfg->threads && rc == 0; i++) {
    rc = server_init(&app->servers[i], cfg);
    if (rc == 0)
      rc = server_listen(&app->servers[i]);
  }
  if (rc == 0)
    rc = app_stops(app);
  if (rc != 0)
    fprintf(stderr, "http-server: %s:%d: %s\n", cfg->host, cfg->port,
            ax_strerror(rc));
  return rc;
}

int main(int argc, char **argv) {
  struct app *app = calloc(1, sizeof(*app));
  if (app == NULL)
    return 1;
  server_config_defaults(&app->config);
  if (!parse_args(argc, argv, &app->config)) {
    free(app);
    return usage();
  }
  /* Each server holds its read buffer and parser: the heap, not the
   * stack. */
  app->servers = calloc((size_t)app->config.threads, sizeof(*app->servers));
  int rc = app->servers != NULL ? app_start(app) : AX_ENOMEM;
  if (rc == 0) {
    printf("listening on %s:%d\n", app->config.host, app->config.port);
    printf("%d thread(s), %s backend, static files: %s\n", app->config.threads,
           ax_backend_name(&app->servers[0].loop),
           app->config.static_root != NULL ? app->config.static_root
                                           : "(none)");
    fflush(stdout);
    rc = app_run(app);
  } else if (app->servers != NULL) {
    app_close_loops(app);
  }
  free(app->config.static_root);
  free(app->servers);
  free(app);
  return rc == 0 ? 0 : 1;
}
