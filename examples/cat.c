/*
 * cat.c: cat(1) written on axle's file system requests alone.
 *
 *   cat FILE...          copy each FILE, in order, to standard output
 *   cat -o OUT FILE...   copy them into OUT instead (created or truncated)
 *
 * A FILE named "-" is standard input, read from its current position and
 * not closed.
 *
 * Every step is an asynchronous request whose callback starts the next:
 * open a file, fstat it, read it in 64 KiB chunks, write each chunk to the
 * output with ax_fs_write(), close the file, go on with the next one. The
 * loop thread never blocks; the system calls run on the thread pool.
 *
 * A regular file is read at explicit offsets with two chunks in flight, so
 * that the next chunk is being read while the last one is written; the
 * writes still go out one at a time, in order. Anything else (a pipe, a
 * terminal) has no offsets and is read at its current position, one chunk
 * at a time. A short read of a regular file ends it.
 *
 * A file that cannot be opened or read is reported and skipped, as cat(1)
 * does, after what was read of it before the error is written; a failed
 * write stops the program. The exit status is 0 only if everything was
 * copied. Every request is cleaned up (ax_fs_req_cleanup()) as soon as its
 * outcome has been read.
 */
#include <stdio.h>
#include <string.h>

#include <axle.h>

enum {
  CHUNK_BYTES = 64 * 1024, /* One read. */
  CHUNKS = 2,              /* Chunks in memory: the most reads in flight. */
  STDIN_FILE = 0,          /* Standard input's descriptor, everywhere. */
  STDOUT_FILE = 1,         /* Standard output's descriptor, everywhere. */
  OUT_MODE = 0644,         /* Permission bits of a file -o creates. */
};

/* What a chunk's memory holds now. */
enum { CHUNK_FREE = 0, CHUNK_READING, CHUNK_FULL, CHUNK_WRITING };

struct chunk {
  ax_fs_t read;          /* Its read request. */
  uint64_t seq;          /* Which chunk of the file: 0, 1, 2, ... */
  size_t len;            /* Bytes it holds, once read. */
  int state;             /* CHUNK_*. */
  char buf[CHUNK_BYTES]; /* The data. */
};

struct cat {
  ax_loop_t loop;       /* The one loop. */
  char **paths;         /* The files to copy, in order. */
  int npaths;           /* How many. */
  int next_path;        /* The next one to open. */
  const char *out_path; /* -o OUT, or NULL for standard output. */
  ax_file_t out;        /* Where the data goes. */
  int status;           /* The exit status: 1 once anything failed. */
  int stopped;          /* A write failed: copy nothing more. */
  ax_fs_t step;         /* The open, fstat or close under way. */
  ax_fs_t write;        /* The write under way. */
  /* The file being copied. */
  const char *path;    /* Its name. */
  ax_file_t in;        /* Its descriptor. */
  int positional;      /* A regular file: read at offsets, CHUNKS at once. */
  int at_end;          /* No more reads: its end, or an error. */
  uint64_t end_seq;    /* With at_end: the first chunk not to write. */
  uint64_t next_read;  /* The next chunk to read. */
  uint64_t next_write; /* The next chunk to write. */
  unsigned int reads;  /* Reads in flight. */
  int writing;         /* Whether a write is in flight. */
  int closing;         /* Whether its close has been started. */
  size_t written;      /* Bytes of the chunk being written already out. */
  struct chunk chunks[CHUNKS]; /* Chunk i lives in chunks[i % CHUNKS]. */
};

static void cat_next_file(struct cat *c);
static void cat_pump(struct cat *c);

/* Whether the file being copied is standard input ("-"). */
static int cat_in_is_stdin(const struct cat *c) {
  return strcmp(c->path, "-") == 0;
}

static const char *cat_out_name(const struct cat *c) {
  return c->out_path != NULL ? c->out_path : "standard output";
}

/* Report a failure on a file; the program will exit with status 1. */
static void cat_report(struct cat *c, const char *name, const char *what,
                       int err) {
  fprintf(stderr, "cat: %s: %s: %s\n", name, what, ax_strerror(err));
  c->status = 1;
}

/* No chunk from seq on is written: drop those already read. */
static void cat_end_at(struct cat *c, uint64_t seq) {
  if (c->at_end && c->end_seq <= seq)
    return;
  c->at_end = 1;
  c->end_seq = seq;
  for (int i = 0; i < CHUNKS; i++) {
    struct chunk *ch = &c->chunks[i];
    if (ch->state == CHUNK_FULL && ch->seq >= seq)
      ch->state = CHUNK_FREE;
  }
}

static void on_read(ax_fs_t *req) {
  struct chunk *ch = ax_container_of(req, struct chunk, read);
  struct cat *c = req->req.data;
  int64_t result = req->result;
  ax_fs_req_cleanup(req);
  c->reads--;
  ch->state = CHUNK_FREE;
  if (c->stopped || (c->at_end && ch->seq >= c->end_seq)) {
    /* Read past the end that another chunk found: dropped. */
  } else if (result < 0) {
    cat_report(c, c->path, "read", (int)result);
    cat_end_at(c, ch->seq);
  } else if (result == 0) {
    cat_end_at(c, ch->seq);
  } else {
    ch->len = (size_t)result;
    ch->state = CHUNK_FULL;
    if (c->positional && ch->len < CHUNK_BYTES)
      cat_end_at(c, ch->seq + 1);
  }
  cat_pump(c);
}

/* Read the next chunk into ch, a free one. */
static void cat_read(struct cat *c, struct chunk *ch) {
  ch->seq = c->next_read++;
  int64_t offset = c->positional ? (int64_t)(ch->seq * CHUNK_BYTES) : -1;
  ax_buf_t buf = ax_buf_init(ch->buf, sizeof(ch->buf));
  ch->read.req.data = c;
  int err = ax_fs_read(&c->loop, &ch->read, c->in, &buf, 1, offset, on_read);
  if (err != 0) {
    ax_fs_req_cleanup(&ch->read);
    cat_report(c, c->path, "read", err);
    cat_end_at(c, ch->seq);
    return;
  }
  ch->state = CHUNK_READING;
  c->reads++;
}

static void cat_write_rest(struct cat *c, struct chunk *ch);

static void on_write(ax_fs_t *req) {
  struct cat *c = ax_container_of(req, struct cat, write);
  struct chunk *ch = &c->chunks[c->next_write % CHUNKS];
  int64_t result = req->result;
  ax_fs_req_cleanup(req);
  if (result <= 0) {
    /* A write that takes nothing would be retried forever: an error. */
    cat_report(c, cat_out_name(c), "write", result < 0 ? (int)result : AX_EIO);
    c->stopped = 1;
  } else {
    c->written += (size_t)result;
    if (c->written < ch->len) {
      cat_write_rest(c, ch); /* A partial write, as a pipe may take. */
      return;
    }
  }
  ch->state = CHUNK_FREE;
  c->next_write++;
  c->writing = 0;
  cat_pump(c);
}

/* Write what is left of ch at the output's current position. */
static void cat_write_rest(struct cat *c, struct chunk *ch) {
  ax_buf_t buf = ax_buf_init(ch->buf + c->written, ch->len - c->written);
  int err = ax_fs_write(&c->loop, &c->write, c->out, &buf, 1, -1, on_write);
  if (err != 0) {
    ax_fs_req_cleanup(&c->write);
    cat_report(c, cat_out_name(c), "write", err);
    c->stopped = 1;
    ch->state = CHUNK_FREE;
    c->writing = 0;
  }
}

static void on_close_in(ax_fs_t *req) {
  struct cat *c = ax_container_of(req, struct cat, step);
  if (req->result < 0)
    cat_report(c, c->path, "close", (int)req->result);
  ax_fs_req_cleanup(req);
  cat_next_file(c);
}

/* Close the file being copied (not standard input), then go on with the
 * next one. */
static void cat_close_in(struct cat *c) {
  c->closing = 1;
  if (cat_in_is_stdin(c)) {
    cat_next_file(c);
    return;
  }
  int err = ax_fs_close(&c->loop, &c->step, c->in, on_close_in);
  if (err != 0) {
    ax_fs_req_cleanup(&c->step);
    cat_report(c, c->path, "close", err);
    cat_next_file(c);
  }
}

/* Start what can start: the next write, then reads into free chunks. Once
 * the file is done and nothing is in flight, close it. */
static void cat_pump(struct cat *c) {
  struct chunk *next = &c->chunks[c->next_write % CHUNKS];
  if (!c->writing && !c->stopped && next->state == CHUNK_FULL &&
      next->seq == c->next_write) {
    next->state = CHUNK_WRITING;
    c->writing = 1;
    c->written = 0;
    cat_write_rest(c, next);
  }
  unsigned int most_reads = c->positional ? CHUNKS : 1;
  while (!c->at_end && !c->stopped && c->reads < most_reads) {
    struct chunk *ch = &c->chunks[c->next_read % CHUNKS];
    if (ch->state != CHUNK_FREE)
      break;
    cat_read(c, ch);
  }
  int done = c->stopped || (c->at_end && c->next_write >= c->end_seq);
  if (done && c->reads == 0 && !c->writing && !c->closing)
    cat_close_in(c);
}

static void on_fstat(ax_fs_t *req) {
  struct cat *c = ax_container_of(req, struct cat, step);
  int64_t result = req->result;
  /* Standard input is read from where it stands, even when it is a file
   * (a shell may have read part of it already). */
  c->positional = (req->statbuf.mode & AX_S_IFMT) == AX_S_IFREG &&
                  !cat_in_is_stdin(c);
  ax_fs_req_cleanup(req);
  if (result < 0) {
    cat_report(c, c->path, "fstat", (int)result);
    cat_end_at(c, 0);
  }
  cat_pump(c);
}

/* Ask what the open file is: a regular file is read at offsets. */
static void cat_fstat_in(struct cat *c) {
  int err = ax_fs_fstat(&c->loop, &c->step, c->in, on_fstat);
  if (err != 0) {
    ax_fs_req_cleanup(&c->step);
    cat_report(c, c->path, "fstat", err);
    cat_close_in(c);
  }
}

static void on_open_in(ax_fs_t *req) {
  struct cat *c = ax_container_of(req, struct cat, step);
  int64_t result = req->result;
  ax_fs_req_cleanup(req);
  if (result < 0) {
    cat_report(c, c->path, "open", (int)result);
    cat_next_file(c);
    return;
  }
  c->in = (ax_file_t)result;
  cat_fstat_in(c);
}

static void on_close_out(ax_fs_t *req) {
  struct cat *c = ax_container_of(req, struct cat, step);
  if (req->result < 0)
    cat_report(c, cat_out_name(c), "close", (int)req->result);
  ax_fs_req_cleanup(req);
}

/* After the last file: close OUT (not standard output); the loop then has
 * nothing left and ax_run() returns. */
static void cat_finish(struct cat *c) {
  if (c->out_path == NULL)
    return;
  int err = ax_fs_close(&c->loop, &c->step, c->out, on_close_out);
  if (err != 0) {
    ax_fs_req_cleanup(&c->step);
    cat_report(c, cat_out_name(c), "close", err);
  }
}

/* Open the next file, or finish. */
static void cat_next_file(struct cat *c) {
  if (c->stopped || c->next_path == c->npaths) {
    cat_finish(c);
    return;
  }
  c->path = c->paths[c->next_path++];
  c->in = -1;
  c->positional = 0;
  c->at_end = 0;
  c->end_seq = 0;
  c->next_read = 0;
  c->next_write = 0;
  c->closing = 0;
  if (cat_in_is_stdin(c)) {
    c->in = STDIN_FILE;
    cat_fstat_in(c);
    return;
  }
  int err = ax_fs_open(&c->loop, &c->step, c->path, AX_FS_O_RDONLY, 0,
                       on_open_in);
  if (err != 0) {
    ax_fs_req_cleanup(&c->step);
    cat_report(c, c->path, "open", err);
    cat_next_file(c);
  }
}

static void on_open_out(ax_fs_t *req) {
  struct cat *c = ax_container_of(req, struct cat, step);
  int64_t result = req->result;
  ax_fs_req_cleanup(req);
  if (result < 0) {
    cat_report(c, c->out_path, "open", (int)result);
    return; /* Nothing to write into: nothing is read. */
  }
  c->out = (ax_file_t)result;
  cat_next_file(c);
}

static int usage(const char *argv0) {
  fprintf(stderr,
          "usage: %s FILE...          copy the files to standard output\n"
          "       %s -o OUT FILE...   copy them into OUT\n"
          "A FILE named - is standard input.\n",
          argv0, argv0);
  return 2;
}

int main(int argc, char **argv) {
  /* Over 128 KiB: static rather than on the stack. */
  static struct cat c;
  int first = 1;
  if (argc > 2 && strcmp(argv[1], "-o") == 0) {
    c.out_path = argv[2];
    first = 3;
  }
  if (first >= argc)
    return usage(argv[0]);
  c.paths = argv + first;
  c.npaths = argc - first;
  c.out = STDOUT_FILE;
  int err = ax_loop_init(&c.loop);
  if (err != 0) {
    fprintf(stderr, "cat: loop: %s\n", ax_strerror(err));
    return 1;
  }
  if (c.out_path == NULL) {
    cat_next_file(&c);
  } else {
    int flags = AX_FS_O_WRONLY | AX_FS_O_CREAT | AX_FS_O_TRUNC;
    err = ax_fs_open(&c.loop, &c.step, c.out_path, flags, OUT_MODE,
                     on_open_out);
    if (err != 0) {
      ax_fs_req_cleanup(&c.step);
      cat_report(&c, c.out_path, "open", err);
    }
  }
  err = ax_run(&c.loop, AX_RUN_DEFAULT);
  if (err == 0)
    err = ax_loop_close(&c.loop);
  if (err != 0) {
    fprintf(stderr, "cat: loop: %s\n", ax_strerror(err));
    c.status = 1;
  }
  return c.status;
}
