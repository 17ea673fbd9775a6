/*
 * bench/fs_axle.c: the file system workloads of bench.h on axle.
 *
 * A run keeps in_flight requests going: each completion checks its result,
 * cleans its request up and starts the next request on the same memory,
 * until n have been started. Every request goes where the loop's backend
 * sends it: the thread pool's file system lane, or on io_uring the ring
 * itself for the operations it runs (AX_URING_FS, docs/backends.md).
 *
 * The churn workloads run a slot per request in flight, each alternating
 * between an operation on names (or a file's size) and its undoing.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <axle.h>

#include "bench.h"

struct fs_run {
  ax_loop_t loop;                    /* The loop the requests complete on. */
  ax_fs_t reqs[BENCH_MAX_IN_FLIGHT]; /* One per request in flight. */
  char *bufs[BENCH_MAX_IN_FLIGHT];   /* Read: one buffer per request. */
  ax_file_t file;                    /* Read, sendfile: the file, open. */
  int null_fd;                       /* sendfile: /dev/null, open. */
  uint64_t n;                        /* Requests to start in all. */
  uint64_t started;                  /* Requests started so far. */
  uint64_t completed;                /* Requests that did what they should. */
  int error;                         /* Set when one did not. */
};

typedef void (*fs_start_fn)(struct fs_run *r, ax_fs_t *req);

/* Start the first in_flight requests, run the loop until the last one
 * completes, and time that. */
static void fs_run_timed(struct fs_run *r, unsigned int in_flight,
                         fs_start_fn start, struct bench_result *res) {
  double cpu = bench_cpu_now(), wall = bench_wall_now();
  for (unsigned int i = 0; i < in_flight && r->started < r->n; i++)
    start(r, &r->reqs[i]);
  int err = ax_run(&r->loop, AX_RUN_DEFAULT);
  res->cpu_s = bench_cpu_now() - cpu;
  res->wall_s = bench_wall_now() - wall;
  res->ops = r->completed;
  res->error = err != 0 || r->error;
}

/* Count a completion that did what it should, and start the next request
 * unless every one has been started or one failed. */
static void fs_next(struct fs_run *r, ax_fs_t *req, int ok, fs_start_fn start) {
  if (ok)
    r->completed++;
  else
    r->error = 1;
  ax_fs_req_cleanup(req);
  if (r->started < r->n && !r->error)
    start(r, req);
}

static void stat_start(struct fs_run *r, ax_fs_t *req);

static void stat_done(ax_fs_t *req) {
  fs_next(req->req.data, req, req->result == 0, stat_start);
}

static void stat_start(struct fs_run *r, ax_fs_t *req) {
  r->started++;
  if (ax_fs_stat(&r->loop, req, bench_files.stat_path, stat_done) != 0)
    r->error = 1;
  req->req.data = r;
}

void bench_axle_fs_stat(uint64_t n, unsigned int in_flight,
                        struct bench_result *res) {
  static struct fs_run r;
  memset(&r, 0, sizeof(r));
  r.n = n;
  res->error = in_flight == 0 || in_flight > BENCH_MAX_IN_FLIGHT ||
               ax_loop_init(&r.loop) != 0;
  if (res->error)
    return;
  fs_run_timed(&r, in_flight, stat_start, res);
  ax_loop_close(&r.loop);
}

static void read_start(struct fs_run *r, ax_fs_t *req);

static void read_done(ax_fs_t *req) {
  fs_next(req->req.data, req, req->result == BENCH_READ_BYTES, read_start);
}

static void read_start(struct fs_run *r, ax_fs_t *req) {
  ax_buf_t buf = ax_buf_init(r->bufs[req - r->reqs], BENCH_READ_BYTES);
  int64_t offset = bench_read_offset(r->started++);
  if (ax_fs_read(&r->loop, req, r->file, &buf, 1, offset, read_done) != 0)
    r->error = 1;
  req->req.data = r;
}

/* Open the file and allocate the buffers, outside the timed part. */
static int read_setup(struct fs_run *r, unsigned int in_flight) {
  for (unsigned int i = 0; i < in_flight; i++) {
    r->bufs[i] = malloc(BENCH_READ_BYTES);
    if (r->bufs[i] == NULL)
      return -1;
  }
  ax_fs_t req;
  int err = ax_fs_open(&r->loop, &req, bench_files.read_path, AX_FS_O_RDONLY, 0,
                       NULL);
  r->file = (ax_file_t)req.result;
  ax_fs_req_cleanup(&req);
  return err < 0 ? err : 0;
}

static void read_teardown(struct fs_run *r, unsigned int in_flight) {
  if (r->file >= 0) {
    ax_fs_t req;
    ax_fs_close(&r->loop, &req, r->file, NULL);
    ax_fs_req_cleanup(&req);
  }
  for (unsigned int i = 0; i < in_flight; i++)
    free(r->bufs[i]);
}

void bench_axle_fs_read(uint64_t n, unsigned int in_flight,
                        struct bench_result *res) {
  static struct fs_run r;
  memset(&r, 0, sizeof(r));
  r.n = n;
  r.file = -1;
  res->error = in_flight == 0 || in_flight > BENCH_MAX_IN_FLIGHT ||
               ax_loop_init(&r.loop) != 0;
  if (res->error)
    return;
  res->error = read_setup(&r, in_flight) != 0;
  if (!res->error)
    fs_run_timed(&r, in_flight, read_start, res);
  read_teardown(&r, in_flight);
  ax_loop_close(&r.loop);
}

static void sendfile_start(struct fs_run *r, ax_fs_t *req);

static void sendfile_done(ax_fs_t *req) {
  fs_next(req->req.data, req, req->result == BENCH_READ_BYTES, sendfile_start);
}

static void sendfile_start(struct fs_run *r, ax_fs_t *req) {
  int64_t offset = bench_read_offset(r->started++);
  if (ax_fs_sendfile(&r->loop, req, r->null_fd, r->file, offset,
                     BENCH_READ_BYTES, sendfile_done) != 0)
    r->error = 1;
  req->req.data = r;
}

void bench_axle_fs_sendfile(uint64_t n, unsigned int in_flight,
                            struct bench_result *res) {
  static struct fs_run r;
  memset(&r, 0, sizeof(r));
  r.n = n;
  r.file = -1;
  r.null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  res->error = in_flight == 0 || in_flight > BENCH_MAX_IN_FLIGHT ||
               r.null_fd < 0 || ax_loop_init(&r.loop) != 0;
  if (res->error) {
    if (r.null_fd >= 0)
      close(r.null_fd);
    return;
  }
  /* read_setup's buffers go unused: the file is what is needed. */
  res->error = read_setup(&r, 0) != 0;
  if (!res->error)
    fs_run_timed(&r, in_flight, sendfile_start, res);
  read_teardown(&r, 0);
  ax_loop_close(&r.loop);
  close(r.null_fd);
}

/* A churn run: the requests of struct fs_run, the names and files of
 * bench_churn, and how many operations each slot has started. */
struct fs_churn_run {
  struct fs_run r;                         /* The requests and the counts. */
  struct bench_churn names;                /* Each slot's names and file. */
  unsigned int steps[BENCH_MAX_IN_FLIGHT]; /* Operations per slot. */
  enum bench_churn_kind kind;              /* What the slots do. */
};

static void churn_start(struct fs_run *r, ax_fs_t *req);

static void churn_done(ax_fs_t *req) {
  fs_next(req->req.data, req, req->result == 0, churn_start);
}

/* A slot's next operation: the even ones make, the odd ones undo. */
static void churn_start(struct fs_run *r, ax_fs_t *req) {
  struct fs_churn_run *c = (struct fs_churn_run *)r;
  size_t k = (size_t)(req - r->reqs);
  bool undo = (c->steps[k]++ & 1) != 0;
  const char *a = c->names.paths[k][0], *b = c->names.paths[k][1];
  int err;
  r->started++;
  switch (c->kind) {
  case BENCH_CHURN_MKDIR:
    err = undo ? ax_fs_rmdir(&r->loop, req, a, churn_done)
               : ax_fs_mkdir(&r->loop, req, a, 0700, churn_done);
    break;
  case BENCH_CHURN_RENAME:
    err = ax_fs_rename(&r->loop, req, undo ? b : a, undo ? a : b, churn_done);
    break;
  case BENCH_CHURN_LINK:
    err = undo
              ? ax_fs_unlink(&r->loop, req, a, churn_done)
              : ax_fs_link(&r->loop, req, bench_files.stat_path, a, churn_done);
    break;
  case BENCH_CHURN_SYMLINK:
    err = undo ? ax_fs_unlink(&r->loop, req, a, churn_done)
               : ax_fs_symlink(&r->loop, req, bench_files.stat_path, a, 0,
                               churn_done);
    break;
  default:
    err = ax_fs_ftruncate(&r->loop, req, c->names.fds[k],
                          undo ? 0 : BENCH_TRUNCATE_BYTES, churn_done);
    break;
  }
  if (err != 0)
    r->error = 1;
  req->req.data = r;
}

void bench_axle_fs_churn(enum bench_churn_kind kind, uint64_t n,
                         unsigned int in_flight, struct bench_result *res) {
  static struct fs_churn_run c;
  memset(&c, 0, sizeof(c));
  c.r.n = n;
  c.kind = kind;
  res->error = in_flight == 0 || in_flight > BENCH_MAX_IN_FLIGHT ||
               bench_churn_setup(&c.names, kind, in_flight) != 0;
  if (res->error)
    return;
  res->error = ax_loop_init(&c.r.loop) != 0;
  if (!res->error) {
    fs_run_timed(&c.r, in_flight, churn_start, res);
    ax_loop_close(&c.r.loop);
  }
  bench_churn_teardown(&c.names, in_flight);
}
