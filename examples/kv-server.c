/*
 * kv-server.c: a small in-memory key-value server, the "database" that
 * the HTTP server example's /kv routes reach through a connection pool
 * (examples/pool/, docs/pooling.md). The server itself is
 * examples/pool/kv-store.c; this is its command line and its signals.
 *
 * Usage: kv-server [--host 127.0.0.1] [--port 7379] [--close-after N]
 *                  [--delay-ms MS]
 *
 * The protocol (kv-store.h): "GET key", "SET key n" + n bytes, "DEL
 * key", "PING", one request per line, answered in order. --close-after N
 * closes each connection after N answers and --delay-ms holds every
 * answer, so that tests and benchmarks can make the upstream misbehave;
 * SIGUSR1 drops every open connection at once (where the system has
 * it). SIGINT or SIGTERM stops the server. It prints "listening on
 * HOST:PORT" once it accepts connections.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <axle.h>

#include "pool/kv-store.h"

enum { KV_DEFAULT_PORT = 7379 };

/* The program: the store and its signal handles. */
struct app {
  ax_loop_t loop;        /* The one loop. */
  struct kv_store store; /* The server. */
  ax_signal_t sigint;    /* Stops. */
  ax_signal_t sigterm;   /* Stops. */
  ax_signal_t sigusr1;   /* Drops every connection. */
};

static void close_if_open(ax_handle_t *handle, void *arg) {
  (void)arg;
  if (!ax_is_closing(handle))
    ax_close(handle, NULL);
}

static void on_signal(ax_signal_t *signal, int signum) {
  struct app *app = signal->handle.data;
  if (signum != SIGINT && signum != SIGTERM) {
    kv_store_drop_all(&app->store);
    return;
  }
  kv_store_stop(&app->store, NULL);
  ax_walk(&app->loop, close_if_open, NULL);
}

static int usage(void) {
  fprintf(stderr, "usage: kv-server [--host 127.0.0.1] [--port 7379] "
                  "[--close-after N] [--delay-ms MS]\n");
  return 2;
}

/* A whole decimal number within [0, max]. */
static bool parse_number(const char *text, unsigned long max,
                         unsigned long *value) {
  char *end;
  if (text == NULL || text[0] < '0' || text[0] > '9')
    return false;
  unsigned long v = strtoul(text, &end, 10);
  if (*end != '\0' || v > max)
    return false;
  *value = v;
  return true;
}

static bool parse_args(int argc, char **argv, struct kv_store_options *o) {
  for (int i = 1; i < argc; i += 2) {
    const char *name = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
    unsigned long v = 0;
    if (strcmp(name, "--host") == 0 && value != NULL)
      o->host = value;
    else if (strcmp(name, "--port") == 0 && parse_number(value, 65535, &v))
      o->port = (int)v;
    else if (strcmp(name, "--close-after") == 0 &&
             parse_number(value, 1000000000ul, &v))
      o->close_after = (unsigned int)v;
    else if (strcmp(name, "--delay-ms") == 0 &&
             parse_number(value, 3600000ul, &v))
      o->delay_ms = v;
    else
      return false;
  }
  return true;
}

/* SIGUSR1 is POSIX's; where there is none (Windows), only the stop. */
static int app_signals(struct app *app) {
  ax_signal_t *handles[] = {&app->sigint, &app->sigterm, &app->sigusr1};
  const int signums[] = {
    SIGINT,
    SIGTERM,
#if defined(SIGUSR1)
    SIGUSR1
#else
    0
#endif /* SIGUSR1 */
  };
  for (int i = 0; i < 3; i++) {
    int rc = ax_signal_init(&app->loop, handles[i]);
    if (rc != 0)
      return rc;
    handles[i]->handle.data = app;
    rc = signums[i] != 0 ? ax_signal_start(handles[i], signums[i], on_signal)
                         : 0;
    if (rc != 0 && rc != AX_ENOSYS)
      return rc;
    ax_unref(&handles[i]->handle);
  }
  return 0;
}

int main(int argc, char **argv) {
  struct kv_store_options options = {.host = "127.0.0.1",
                                     .port = KV_DEFAULT_PORT};
  if (!parse_args(argc, argv, &options))
    return usage();
  struct app *app = calloc(1, sizeof(*app));
  if (app == NULL)
    return 1;
  int rc = ax_loop_init(&app->loop);
  if (rc != 0) {
    fprintf(stderr, "kv-server: loop: %s\n", ax_strerror(rc));
    free(app);
    return 1;
  }
  rc = kv_store_init(&app->loop, &app->store, &options);
  if (rc == 0)
    rc = kv_store_listen(&app->store);
  if (rc == 0)
    rc = app_signals(app);
  if (rc == 0) {
    printf("listening on %s:%d\n", options.host, app->store.options.port);
    fflush(stdout);
  } else {
    fprintf(stderr, "kv-server: %s:%d: %s\n", options.host, options.port,
            ax_strerror(rc));
    kv_store_stop(&app->store, NULL);
    ax_walk(&app->loop, close_if_open, NULL);
  }
  ax_run(&app->loop, AX_RUN_DEFAULT);
  ax_walk(&app->loop, close_if_open, NULL);
  ax_run(&app->loop, AX_RUN_DEFAULT);
  ax_loop_close(&app->loop);
  kv_store_free(&app->store);
  free(app);
  return rc == 0 ? 0 : 1;
}
