/*
 * fs-copy.c: copy one file with file system requests.
 *
 * Usage: fs-copy SOURCE DEST  (DEST is created or truncated). Exits 0
 * once every byte is copied and both files are closed.
 *
 * Each step is an asynchronous request that runs on a thread-pool worker;
 * its callback, back on the loop thread, starts the next step: open the
 * source, open the destination, then read a chunk and write it until a
 * read returns 0 (the end of the file), then close both. One request is
 * in flight at a time, so one ax_fs_t serves them all: each callback reads
 * the outcome (`result`, < 0 for an error), calls ax_fs_req_cleanup() and
 * only then starts the next request with it. examples/cat.c does the same
 * with two reads in flight.
 */
#include <stdio.h>

#include <axle.h>

enum { CHUNK_BYTES = 64 * 1024 };

struct copy {
  ax_loop_t loop;          /* the loop the callbacks run on */
  ax_fs_t req;             /* the one request in flight */
  const char *from;        /* the source's path */
  const char *to;          /* the destination's path */
  ax_file_t src;           /* the source, once open; else -1 */
  ax_file_t dst;           /* the destination, once open; else -1 */
  int64_t offset;          /* where the next read starts */
  size_t chunk_len;        /* bytes in chunk */
  size_t chunk_done;       /* of those, bytes written */
  int status;              /* the exit status: 1 once something failed */
  char chunk[CHUNK_BYTES]; /* the bytes between a read and its write */
};

static void copy_close_next(struct copy *c);
static void copy_read(struct copy *c);

/* Take the outcome of the request that just finished and release it.
 * Returns the result; an error is reported, and closing starts. */
static int64_t copy_outcome(struct copy *c, const char *what) {
  int64_t result = c->req.result;
  ax_fs_req_cleanup(&c->req);
  if (result < 0) {
    fprintf(stderr, "fs-copy: %s: %s\n", what, ax_strerror((int)result));
    c->status = 1;
    copy_close_next(c);
  }
  return result;
}

static void on_closed(ax_fs_t *req) {
  struct copy *c = req->req.data;
  if (copy_outcome(c, "close") >= 0) /* on an error, it closes the next */
    copy_close_next(c);
}

/* Close the destination, then the source; once both are, ax_run()
 * returns, as nothing is left in flight. */
static void copy_close_next(struct copy *c) {
  ax_file_t *file = c->dst >= 0 ? &c->dst : c->src >= 0 ? &c->src : NULL;
  if (file == NULL)
    return;
  ax_file_t fd = *file;
  *file = -1;
  int err = ax_fs_close(&c->loop, &c->req, fd, on_closed);
  if (err != 0) {
    fprintf(stderr, "fs-copy: close: %s\n", ax_strerror(err));
    c->status = 1;
    copy_close_next(c);
  }
}

/* A request that could not even be queued: report, clean up, close. */
static void copy_not_queued(struct copy *c, const char *what, int err) {
  c->req.result = err;
  copy_outcome(c, what);
}

static void on_written(ax_fs_t *req) {
  struct copy *c = req->req.data;
  int64_t n = copy_outcome(c, c->to);
  if (n < 0)
    return;
  c->chunk_done += (size_t)n;
  if (c->chunk_done < c->chunk_len) { /* a short write: write the rest */
    ax_buf_t buf = ax_buf_init(c->chunk + c->chunk_done,
                               c->chunk_len - c->chunk_done);
    int err = ax_fs_write(&c->loop, &c->req, c->dst, &buf, 1, -1, on_written);
    if (err != 0)
      copy_not_queued(c, c->to, err);
    return;
  }
  copy_read(c);
}

static void on_read(ax_fs_t *req) {
  struct copy *c = req->req.data;
  int64_t n = copy_outcome(c, c->from);
  if (n < 0)
    return;
  if (n == 0) { /* the end of the source: done */
    copy_close_next(c);
    return;
  }
  c->offset += n;
  c->chunk_len = (size_t)n;
  c->chunk_done = 0;
  ax_buf_t buf = ax_buf_init(c->chunk, c->chunk_len);
  int err = ax_fs_write(&c->loop, &c->req, c->dst, &buf, 1, -1, on_written);
  if (err != 0)
    copy_not_queued(c, c->to, err);
}

/* Read the next chunk at its offset. The buffer must stay valid until the
 * callback: it is part of struct copy. */
static void copy_read(struct copy *c) {
  ax_buf_t buf = ax_buf_init(c->chunk, sizeof(c->chunk));
  int err = ax_fs_read(&c->loop, &c->req, c->src, &buf, 1, c->offset, on_read);
  if (err != 0)
    copy_not_queued(c, c->from, err);
}

static void on_dst_open(ax_fs_t *req) {
  struct copy *c = req->req.data;
  int64_t fd = copy_outcome(c, c->to);
  if (fd < 0)
    return;
  c->dst = (ax_file_t)fd;
  copy_read(c);
}

static void on_src_open(ax_fs_t *req) {
  struct copy *c = req->req.data;
  int64_t fd = copy_outcome(c, c->from);
  if (fd < 0)
    return;
  c->src = (ax_file_t)fd;
  int err = ax_fs_open(&c->loop, &c->req, c->to,
                       AX_FS_O_WRONLY | AX_FS_O_CREAT | AX_FS_O_TRUNC, 0644,
                       on_dst_open);
  if (err != 0)
    copy_not_queued(c, c->to, err);
}

int main(int argc, char **argv) {
  static struct copy c; /* static: the chunk is 64 KiB */
  if (argc != 3) {
    fprintf(stderr, "usage: fs-copy SOURCE DEST\n");
    return 2;
  }
  c.from = argv[1];
  c.to = argv[2];
  c.src = -1;
  c.dst = -1;
  int err = ax_loop_init(&c.loop);
  if (err != 0) {
    fprintf(stderr, "fs-copy: ax_loop_init: %s\n", ax_strerror(err));
    return 1;
  }
  c.req.req.data = &c;
  err = ax_fs_open(&c.loop, &c.req, c.from, AX_FS_O_RDONLY, 0, on_src_open);
  if (err != 0)
    copy_not_queued(&c, c.from, err);

  ax_run(&c.loop, AX_RUN_DEFAULT); /* until nothing is in flight */
  err = ax_loop_close(&c.loop);
  if (err != 0) {
    fprintf(stderr, "fs-copy: ax_loop_close: %s\n", ax_strerror(err));
    return 1;
  }
  return c.status;
}
