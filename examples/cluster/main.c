/*
 * main.c: the cluster example's command line, and the two helpers both
 * roles use for their IPC lines (cluster.h describes the protocol).
 *
 *   cluster [--workers N] [--port P] [--mode shared|round-robin|reuseport]
 *           [--host 127.0.0.1] [--status-port S] [--drain-ms MS]
 *           [--restart-ms MIN MAX RESET] [--ready-ms MS]
 *
 * --workers defaults to the processors this process may use
 * (ax_available_parallelism()). The primary prints "listening on
 * HOST:PORT" and "status on HOST:S" once every worker is ready; tests and
 * scripts wait for those lines. A worker that is not ready within
 * --ready-ms (default 10 s) is killed, and counts as one that died.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

static const char *const mode_names[] = {
    [MODE_SHARED] = "shared",
    [MODE_ROUND_ROBIN] = "round-robin",
    [MODE_REUSEPORT] = "reuseport",
};

const char *cluster_mode_name(enum cluster_mode mode) {
  return mode_names[mode];
}

static bool parse_mode(const char *text, enum cluster_mode *mode) {
  for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
    if (strcmp(text, mode_names[i]) == 0) {
      *mode = (enum cluster_mode)i;
      return true;
    }
  }
  return false;
}

/* Cut @p data into lines; call @p line_cb with each whole one, without
 * its '\n'. False if a line does not fit. */
bool cluster_lines_feed(struct cluster_lines *lines, const char *data,
                        size_t len, void (*line_cb)(void *arg, char *line),
                        void *arg) {
  for (size_t i = 0; i < len; i++) {
    if (data[i] != '\n') {
      if (lines->len + 1 >= sizeof(lines->data))
        return false;
      lines->data[lines->len++] = data[i];
      continue;
    }
    lines->data[lines->len] = '\0';
    lines->len = 0;
    line_cb(arg, lines->data);
  }
  return true;
}

/* One line in flight: the request and its bytes, freed when written. */
struct line_write {
  ax_write_t req;                /* The write. */
  char text[CLUSTER_LINE_BYTES]; /* What it writes. */
};

static void line_written(ax_write_t *req, int status) {
  (void)status; /* A peer gone is noticed by its reader (and its exit). */
  free(ax_container_of(req, struct line_write, req));
}

/* Write @p text and a '\n', with @p handle (or NULL) beside it. */
int cluster_send_line(ax_stream_t *stream, ax_stream_t *handle,
                      const char *text) {
  size_t len = strlen(text);
  struct line_write *w = malloc(sizeof(*w));
  if (w == NULL)
    return AX_ENOMEM;
  if (len + 1 > sizeof(w->text)) {
    free(w);
    return AX_EINVAL;
  }
  memcpy(w->text, text, len);
  w->text[len] = '\n';
  ax_buf_t buf = ax_buf_init(w->text, len + 1);
  int rc = ax_write2(&w->req, stream, &buf, 1, handle, line_written);
  if (rc != 0)
    free(w);
  return rc;
}

static int usage(void) {
  fprintf(stderr,
          "usage: cluster [--workers N] [--port 8080] "
          "[--mode shared|round-robin|reuseport]\n"
          "         [--host 127.0.0.1] [--status-port 0] [--drain-ms 5000]\n"
          "         [--restart-ms MIN MAX RESET] [--ready-ms 10000]\n");
  return 2;
}

/* A whole decimal number within [min, max]. */
static bool parse_number(const char *text, uint64_t min, uint64_t max,
                         uint64_t *value) {
  char *end;
  if (text == NULL || text[0] < '0' || text[0] > '9')
    return false;
  unsigned long long v = strtoull(text, &end, 10);
  if (*end != '\0' || v < min || v > max)
    return false;
  *value = v;
  return true;
}

/* The three numbers of --restart-ms, the first no more than the second. */
static bool parse_restart(char **argv, struct cluster_options *o) {
  const uint64_t hour_ms = 3600 * 1000;
  return parse_number(argv[0], 1, hour_ms, &o->restart_min_ms) &&
         parse_number(argv[1], o->restart_min_ms, hour_ms,
                      &o->restart_max_ms) &&
         parse_number(argv[2], 0, hour_ms, &o->restart_reset_ms);
}

/* One option and its value; false on anything unknown or out of range.
 * *used says how many arguments it took. */
static bool parse_option(char **argv, int left, struct cluster_options *o,
                         bool *worker, int *used) {
  const char *name = argv[0], *value = left > 1 ? argv[1] : NULL;
  uint64_t v = 0;
  *used = 2;
  if (value == NULL)
    return false;
  if (strcmp(name, "--worker") == 0) {
    *worker = true;
    return parse_mode(value, &o->mode);
  }
  if (strcmp(name, "--mode") == 0)
    return parse_mode(value, &o->mode);
  if (strcmp(name, "--host") == 0) {
    o->host = value;
    return true;
  }
  if (strcmp(name, "--restart-ms") == 0) {
    *used = 4;
    return left >= 4 && parse_restart(argv + 1, o);
  }
  if (strcmp(name, "--workers") == 0 &&
      parse_number(value, 1, CLUSTER_MAX_WORKERS, &v))
    o->workers = (unsigned int)v;
  else if (strcmp(name, "--port") == 0 && parse_number(value, 0, 65535, &v))
    o->port = (int)v;
  else if (strcmp(name, "--status-port") == 0 &&
           parse_number(value, 0, 65535, &v))
    o->status_port = (int)v;
  else if (strcmp(name, "--drain-ms") == 0 &&
           parse_number(value, 1, 3600 * 1000, &v))
    o->drain_ms = v;
  else if (strcmp(name, "--ready-ms") == 0 &&
           parse_number(value, 1, 3600 * 1000, &v))
    o->ready_ms = v;
  else
    return false;
  return true;
}

int main(int argc, char **argv) {
  struct cluster_options options = {
      .mode = MODE_SHARED,
      .host = "127.0.0.1",
      .port = 8080,
      .workers = ax_available_parallelism(),
      .drain_ms = 5000,
      .ready_ms = 10000,
      .restart_min_ms = 1000,
      .restart_max_ms = 30000,
      .restart_reset_ms = 10000,
  };
  bool worker = false;
  for (int i = 1, used = 0; i < argc; i += used) {
    if (!parse_option(argv + i, argc - i, &options, &worker, &used))
      return usage();
  }
  if (options.workers > CLUSTER_MAX_WORKERS)
    options.workers = CLUSTER_MAX_WORKERS;
  return worker ? worker_main(&options) : primary_main(&options);
}
