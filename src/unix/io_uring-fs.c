/*
 * unix/io_uring-fs.c: the file system requests the io_uring backend runs
 * itself (the ax__fs_ops of backend.h), with no hop to a pool thread and
 * back: a read from the page cache completes inside the io_uring_enter
 * that submits it.
 *
 * A request the backend takes waits on a pending list until the loop's
 * next wait(), which writes it into the submission queue with everything
 * else the iteration queued; until then ax_cancel() takes it back (its
 * entry becomes a no-op whose completion reports AX_ECANCELED). Once in
 * the kernel it completes as it would have (AX_EBUSY to a cancel), as a
 * request a pool thread has begun does.
 *
 * Each request in flight has a slot, in pages that never move: the
 * kernel writes a statx answer into it, and its index is the request's
 * name in user_data (descriptor field), beside the kind AX__URING_FS.
 *
 * sendfile is a request of several entries, one at a time: a splice from
 * the input into a pipe, one from the pipe to the output, and again; the
 * slot keeps its progress, and the pipe goes back to a small set the loop
 * keeps. What the kernel cannot splice goes back to the pool (src/fs.c's
 * ax__fs_native_to_pool), which copies another way.
 *
 * Which operations run here is decided per operation (uring_fs_default):
 * only those the kernel has (probed at init) and that measured faster
 * than the pool (docs/backends.md, "Files"). Writes never do: io_uring
 * writes to a pipe whose reader is gone on the calling thread, which
 * raises SIGPIPE, and axle promises that none of its operations does (the
 * pool blocks it). Splices may: the kernel always runs them on its io-wq
 * threads, which block every signal. AX_URING_FS=none sends every request
 * to the pool, AX_URING_FS=all every one the kernel has, for measuring one
 * against the other.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"
#include "io_uring.h"

enum {
  URING_FS_PAGE_SHIFT = 6, /* 64 slots per page. */
  URING_FS_PAGE = 1 << URING_FS_PAGE_SHIFT,
  URING_FS_PAGES_MAX = 1 << 10, /* 65,536 requests in flight per loop. */
  /* A slot's state. */
  URING_FS_FREE = 0,
  URING_FS_PENDING,   /* On the pending list: not in the kernel yet. */
  URING_FS_CANCELLED, /* Taken back while pending: a no-op completes it. */
  URING_FS_KERNEL,    /* In the kernel. */
  /* The most one splice of sendfile asks for; the pipe takes what fits. */
  URING_FS_SPLICE_MAX = 1 << 30,
};

/* sendfile's progress. Its bytes go from the input into a pipe by one
 * splice, then from the pipe to the output by another, one step in the
 * kernel at a time: the result of each decides the next. */
struct uring_fs_splice {
  int pipe[2];       /* The pipe's read end and write end. */
  int64_t done;      /* Bytes written to the output. */
  int64_t in_offset; /* Where the next read of the input begins. */
  int64_t in_pipe;   /* Bytes in the pipe, not yet written out. */
  bool out_step;     /* The step queued or in the kernel writes out. */
};

/* One request the backend holds. */
struct ax__uring_fs_slot {
  ax_fs_t *req;       /* The request, or NULL when free. */
  uint32_t next_free; /* The next free slot, plus 1; 0: none. */
  uint32_t state;     /* URING_FS_*. */
  union {
    struct statx stx;              /* The stat family's answer. */
    struct uring_fs_splice splice; /* sendfile's progress. */
  } u;                             /* By the operation. */
};

/* The operations run here by default: those that measured faster than
 * the pool, per CPU-second, AX_URING_FS=all against none (bench/fs_axle.c
 * on io_uring; docs/backends.md and docs/performance.md). Every one the
 * backend can run did. */
static const bool uring_fs_default[AX_FS_TYPE_MAX] = {
    [AX_FS_READ] = true,     [AX_FS_STAT] = true,    [AX_FS_LSTAT] = true,
    [AX_FS_FSTAT] = true,    [AX_FS_FSYNC] = true,   [AX_FS_FDATASYNC] = true,
    [AX_FS_OPEN] = true,     [AX_FS_CLOSE] = true,   [AX_FS_UNLINK] = true,
    [AX_FS_RMDIR] = true,    [AX_FS_MKDIR] = true,   [AX_FS_RENAME] = true,
    [AX_FS_LINK] = true,     [AX_FS_SYMLINK] = true, [AX_FS_FTRUNCATE] = true,
    [AX_FS_SENDFILE] = true,
};

/* IORING_OP_FTRUNCATE (Linux 6.9), which liburing 2.3's header predates:
 * the kernel's number, probed like the others. */
enum { URING_OP_FTRUNCATE = 55 };

/* The opcode each operation needs from the kernel. */
static const int uring_fs_opcode[AX_FS_TYPE_MAX] = {
    [AX_FS_READ] = IORING_OP_READV,
    [AX_FS_STAT] = IORING_OP_STATX,
    [AX_FS_LSTAT] = IORING_OP_STATX,
    [AX_FS_FSTAT] = IORING_OP_STATX,
    [AX_FS_FSYNC] = IORING_OP_FSYNC,
    [AX_FS_FDATASYNC] = IORING_OP_FSYNC,
    [AX_FS_OPEN] = IORING_OP_OPENAT,
    [AX_FS_CLOSE] = IORING_OP_CLOSE,
    [AX_FS_UNLINK] = IORING_OP_UNLINKAT,
    [AX_FS_RMDIR] = IORING_OP_UNLINKAT,
    [AX_FS_MKDIR] = IORING_OP_MKDIRAT,
    [AX_FS_RENAME] = IORING_OP_RENAMEAT,
    [AX_FS_LINK] = IORING_OP_LINKAT,
    [AX_FS_SYMLINK] = IORING_OP_SYMLINKAT,
    [AX_FS_FTRUNCATE] = URING_OP_FTRUNCATE,
    [AX_FS_SENDFILE] = IORING_OP_SPLICE,
};

static struct ax__uring_fs_slot *uring_fs_slot(struct ax__uring *st,
                                               uint32_t index) {
  return &st->fs_pages[index >> URING_FS_PAGE_SHIFT]
                      [index & (URING_FS_PAGE - 1)];
}

/* Make a page of free slots: false when out of memory or pages. Out of
 * line: once per 64 slots, and the taking of a slot stays small enough
 * to be inlined where it is called. */
__attribute__((noinline)) static bool uring_fs_page_add(struct ax__uring *st) {
  if (st->fs_npages == URING_FS_PAGES_MAX)
    return false;
  struct ax__uring_fs_slot *page = ax__calloc(URING_FS_PAGE,
                                              sizeof(struct ax__uring_fs_slot));
  if (page == NULL)
    return false;
  st->fs_pages[st->fs_npages] = page;
  uint32_t base = st->fs_npages++ << URING_FS_PAGE_SHIFT;
  for (uint32_t i = URING_FS_PAGE; i-- > 0;) {
    page[i].next_free = st->fs_free;
    st->fs_free = base + i + 1;
  }
  return true;
}

/* A free slot's index, making a page if none is free; -1 when out of
 * memory or slots. */
static int64_t uring_fs_slot_take(struct ax__uring *st) {
  if (st->fs_free == 0 && !uring_fs_page_add(st))
    return -1;
  uint32_t index = st->fs_free - 1;
  st->fs_free = uring_fs_slot(st, index)->next_free;
  return index;
}

static void uring_fs_slot_give(struct ax__uring *st, uint32_t index) {
  struct ax__uring_fs_slot *slot = uring_fs_slot(st, index);
  slot->req = NULL;
  slot->state = URING_FS_FREE;
  slot->next_free = st->fs_free;
  st->fs_free = index + 1;
}

void ax__uring_fs_init(struct ax__uring *st, struct io_uring_probe *probe) {
  const char *policy = getenv("AX_URING_FS");
  bool all = policy != NULL && strcmp(policy, "all") == 0;
  bool none = policy != NULL && strcmp(policy, "none") == 0;
  st->fs_pages = ax__calloc(URING_FS_PAGES_MAX,
                            sizeof(struct ax__uring_fs_slot *));
  for (int type = 0; type < AX_FS_TYPE_MAX && st->fs_pages != NULL; type++) {
    int op = uring_fs_opcode[type];
    st->fs_native[type] = op != 0 && !none && (all || uring_fs_default[type]) &&
                          io_uring_opcode_supported(probe, op);
  }
  ax__queue_init(&st->fs_pending);
}

void ax__uring_fs_fini(struct ax__uring *st) {
  while (st->fs_npipes > 0) {
    st->fs_npipes--;
    ax__close_fd(st->fs_pipes[st->fs_npipes][0]);
    ax__close_fd(st->fs_pipes[st->fs_npipes][1]);
  }
  for (uint32_t i = 0; i < st->fs_npages; i++)
    ax__free(st->fs_pages[i]);
  ax__free(st->fs_pages);
}

/* The slot index a request holds, kept in its work's t.queued_ns while the
 * backend has it (the pool's field, unused on this path). */
static uint32_t uring_fs_index(const ax_fs_t *req) {
  return (uint32_t)req->priv.work.t.queued_ns;
}

/* A pipe for a sendfile: a kept one, or a new one. false when none can be
 * made (out of descriptors, say): the pool, which needs none, runs it. */
static bool uring_fs_pipe_take(struct ax__uring *st, int pipe_fds[2]) {
  if (st->fs_npipes == 0)
    return pipe2(pipe_fds, O_CLOEXEC) == 0;
  st->fs_npipes--;
  pipe_fds[0] = st->fs_pipes[st->fs_npipes][0];
  pipe_fds[1] = st->fs_pipes[st->fs_npipes][1];
  return true;
}

/* Give a sendfile's pipe back: kept for the next if it is empty and
 * there is room, else closed (bytes a failed write left in it must not
 * reach another request's output). */
static void uring_fs_pipe_give(struct ax__uring *st, const int pipe_fds[2],
                               bool empty) {
  if (empty && st->fs_npipes < AX__URING_FS_PIPES) {
    st->fs_pipes[st->fs_npipes][0] = pipe_fds[0];
    st->fs_pipes[st->fs_npipes][1] = pipe_fds[1];
    st->fs_npipes++;
    return;
  }
  ax__close_fd(pipe_fds[0]);
  ax__close_fd(pipe_fds[1]);
}

/* Put a request's next entry on the pending list, for the next wait. */
static void uring_fs_queue(struct ax__uring *st, ax_fs_t *req, uint32_t index) {
  req->priv.work.t.queued_ns = (uint64_t)index;
  ax__queue_insert_tail(&st->fs_pending, &req->priv.work.node);
}

/* Hold req in slot index until its completion: pending until the next
 * wait hands it to the kernel. */
static void uring_fs_hold(ax_loop_t *loop, struct ax__uring *st, ax_fs_t *req,
                          uint32_t index) {
  struct ax__uring_fs_slot *slot = uring_fs_slot(st, index);
  slot->req = req;
  slot->state = URING_FS_PENDING;
  uring_fs_queue(st, req, index);
  st->fs_ops++;
  ax__uring_busy(loop);
}

/* sendfile's start: a pipe, a slot, and a first step that reads from the
 * input. AX_ENOSYS leaves it to the pool: one of 0 bytes, which the pool
 * answers without looking at the descriptors (a splice would check them),
 * or one with no descriptor for a pipe. Out of line, as the rest of
 * sendfile's path: the stats and reads around it are many more, and keep
 * their own path short. */
__attribute__((noinline)) static int uring_fs_splice_begin(ax_loop_t *loop,
                                                           struct ax__uring *st,
                                                           ax_fs_t *req) {
  int pipe_fds[2];
  if (req->priv.len == 0 || !uring_fs_pipe_take(st, pipe_fds))
    return AX_ENOSYS;
  int64_t index = uring_fs_slot_take(st);
  if (index < 0) {
    uring_fs_pipe_give(st, pipe_fds, true);
    return AX_ENOSYS;
  }
  struct uring_fs_splice *sp = &uring_fs_slot(st, (uint32_t)index)->u.splice;
  sp->pipe[0] = pipe_fds[0];
  sp->pipe[1] = pipe_fds[1];
  sp->done = 0;
  sp->in_offset = req->priv.offset;
  sp->in_pipe = 0;
  sp->out_step = false;
  uring_fs_hold(loop, st, req, (uint32_t)index);
  return 0;
}

static int uring_fs_start(ax_loop_t *loop, ax_fs_t *req) {
  struct ax__uring *st = ax__uring_state(loop);
  if ((unsigned int)req->fs_type >= AX_FS_TYPE_MAX ||
      !st->fs_native[req->fs_type])
    return AX_ENOSYS;
  if (req->fs_type == AX_FS_SENDFILE)
    return uring_fs_splice_begin(loop, st, req);
  int64_t index = uring_fs_slot_take(st);
  if (index < 0)
    return AX_ENOSYS; /* The pool can still run it. */
  uring_fs_hold(loop, st, req, (uint32_t)index);
  return 0;
}

static int uring_fs_cancel(ax_loop_t *loop, ax_fs_t *req) {
  struct ax__uring_fs_slot *slot = uring_fs_slot(ax__uring_state(loop),
                                                 uring_fs_index(req));
  if (slot->state != URING_FS_PENDING)
    return AX_EBUSY;
  slot->state = URING_FS_CANCELLED;
  return 0;
}

const struct ax__fs_ops ax__uring_fs_ops = {
    .start = uring_fs_start,
    .cancel = uring_fs_cancel,
};

/* What AT_* flags and path a statx of the request takes. */
static void uring_fs_prep_statx(struct io_uring_sqe *sqe, ax_fs_t *req,
                                struct ax__uring_fs_slot *slot) {
  struct ax__fs_statx_args a = ax__fs_statx_args(req);
  io_uring_prep_statx(sqe, a.dirfd, a.path, a.flags,
                      STATX_BASIC_STATS | STATX_BTIME, &slot->u.stx);
}

/* The operations on names: each the *at() form of the pool's call, from
 * the current directory, so that the kernel answers as it does there. The
 * paths are the request's copies, which live until its cleanup; the
 * kernel copies them when it takes the entry. */
static void uring_fs_prep_names(struct io_uring_sqe *sqe, ax_fs_t *req) {
  const struct ax__fs_private *p = &req->priv;
  switch (req->fs_type) {
  case AX_FS_UNLINK:
  case AX_FS_RMDIR:
    io_uring_prep_unlinkat(sqe, AT_FDCWD, req->path,
                           req->fs_type == AX_FS_RMDIR ? AT_REMOVEDIR : 0);
    break;
  case AX_FS_MKDIR:
    io_uring_prep_mkdirat(sqe, AT_FDCWD, req->path, (mode_t)p->mode);
    break;
  case AX_FS_RENAME:
    io_uring_prep_renameat(sqe, AT_FDCWD, req->path, AT_FDCWD, p->new_path, 0);
    break;
  case AX_FS_LINK:
    io_uring_prep_linkat(sqe, AT_FDCWD, req->path, AT_FDCWD, p->new_path, 0);
    break;
  default: /* AX_FS_SYMLINK: path is the target, new_path the link. */
    io_uring_prep_symlinkat(sqe, req->path, AT_FDCWD, p->new_path);
    break;
  }
}

/* sendfile's step: into the pipe from the input at the offset (whose own
 * position stays), or out of the pipe to the output at its position. */
static void uring_fs_prep_splice(struct io_uring_sqe *sqe, const ax_fs_t *req,
                                 const struct uring_fs_splice *sp) {
  if (sp->out_step) {
    io_uring_prep_splice(sqe, sp->pipe[0], -1, req->priv.out_file, -1,
                         (unsigned int)sp->in_pipe, 0);
    return;
  }
  int64_t want = req->priv.len - sp->done;
  if (want > URING_FS_SPLICE_MAX)
    want = URING_FS_SPLICE_MAX;
  io_uring_prep_splice(sqe, req->priv.file, sp->in_offset, sp->pipe[1], -1,
                       (unsigned int)want, 0);
}

/* Fill the entry of a request taken from the pending list. */
static void uring_fs_prep(struct io_uring_sqe *sqe, ax_fs_t *req,
                          struct ax__uring_fs_slot *slot) {
  const struct ax__fs_private *p = &req->priv;
  switch (slot->state == URING_FS_CANCELLED ? AX_FS_UNKNOWN : req->fs_type) {
  case AX_FS_READ:
    io_uring_prep_readv(sqe, p->file, (const struct iovec *)p->bufs, p->nbufs,
                        (uint64_t)p->offset); /* -1: the file position. */
    break;
  case AX_FS_STAT:
  case AX_FS_LSTAT:
  case AX_FS_FSTAT:
    uring_fs_prep_statx(sqe, req, slot);
    break;
  case AX_FS_FSYNC:
  case AX_FS_FDATASYNC:
    io_uring_prep_fsync(sqe, p->file,
                        req->fs_type == AX_FS_FDATASYNC ? IORING_FSYNC_DATASYNC
                                                        : 0);
    break;
  case AX_FS_OPEN:
    io_uring_prep_openat(sqe, AT_FDCWD, req->path, ax__fs_open_flags(p->flags),
                         (mode_t)p->mode);
    break;
  case AX_FS_CLOSE:
    io_uring_prep_close(sqe, p->file);
    break;
  case AX_FS_SENDFILE:
    uring_fs_prep_splice(sqe, req, &slot->u.splice);
    break;
  case AX_FS_FTRUNCATE:
    io_uring_prep_rw(URING_OP_FTRUNCATE, sqe, p->file, NULL, 0,
                     (uint64_t)p->len);
    break;
  case AX_FS_UNLINK:
  case AX_FS_RMDIR:
  case AX_FS_MKDIR:
  case AX_FS_RENAME:
  case AX_FS_LINK:
  case AX_FS_SYMLINK:
    uring_fs_prep_names(sqe, req);
    break;
  default:
    io_uring_prep_nop(sqe);
    break;
  }
}

void ax__uring_fs_flush(struct ax__uring *st) {
  while (!ax__queue_empty(&st->fs_pending)) {
    ax__queue_t *node = ax__queue_head(&st->fs_pending);
    ax_fs_t *req = ax_container_of(node, ax_fs_t, priv.work.node);
    uint32_t index = uring_fs_index(req);
    struct io_uring_sqe *sqe = ax__uring_sqe(st);
    if (sqe == NULL)
      return; /* The ring refused a submit: the next wait tries again. */
    ax__queue_remove(node);
    struct ax__uring_fs_slot *slot = uring_fs_slot(st, index);
    uring_fs_prep(sqe, req, slot);
    io_uring_sqe_set_data64(sqe, ax__uring_data((int)index, 0, AX__URING_FS));
    if (slot->state == URING_FS_PENDING)
      slot->state = URING_FS_KERNEL;
  }
}

/* The stat family's answer, from statx: as the pool's on Linux
 * (unix/fs-linux.c), field for field. */
static void uring_fs_stat_answer(ax_fs_t *req, const struct statx *stx) {
  ax__fs_statx_answer(&req->statbuf, stx);
  req->ptr = &req->statbuf;
}

/* What a sendfile does after a step. */
enum uring_fs_splice_next {
  URING_FS_SPLICE_AGAIN, /* Another step, queued. */
  URING_FS_SPLICE_DONE,  /* The answer: what was written, or the error. */
  URING_FS_SPLICE_POOL,  /* Over to the pool, which copies another way. */
};

/* Take a step's result res and choose the next step. As the pool's
 * sendfile, it stops at the end of the input, after len bytes, or at an
 * error; bytes written before an error are the answer. The pool copies
 * through a buffer where the kernel cannot splice these two (EINVAL: an
 * output opened for appending, an input that is a directory), so the
 * request goes there, while nothing has been written. */
static enum uring_fs_splice_next uring_fs_splice_next(
    struct uring_fs_splice *sp, int64_t len, int32_t res) {
  if (res < 0)
    return res == -EINVAL && sp->done == 0 ? URING_FS_SPLICE_POOL
                                           : URING_FS_SPLICE_DONE;
  if (res == 0) /* The input's end; or an output that took nothing. */
    return URING_FS_SPLICE_DONE;
  if (!sp->out_step) {
    sp->in_pipe = res;
    sp->in_offset += res;
    sp->out_step = true;
    return URING_FS_SPLICE_AGAIN;
  }
  sp->done += res;
  sp->in_pipe -= res;
  if (sp->in_pipe > 0) /* A short write: the rest of the pipe next. */
    return URING_FS_SPLICE_AGAIN;
  sp->out_step = false;
  return sp->done < len ? URING_FS_SPLICE_AGAIN : URING_FS_SPLICE_DONE;
}

/* A sendfile step completed: queue the next, or end the request with
 * what was written, or the error, or hand it to the pool. Out of line, as
 * uring_fs_splice_begin. */
__attribute__((noinline)) static void uring_fs_splice_complete(
    struct ax__uring *st, uint32_t index, struct ax__uring_fs_slot *slot,
    int32_t res) {
  ax_fs_t *req = slot->req;
  struct uring_fs_splice *sp = &slot->u.splice;
  enum uring_fs_splice_next next = URING_FS_SPLICE_DONE;
  if (slot->state != URING_FS_CANCELLED)
    next = uring_fs_splice_next(sp, req->priv.len, res);
  if (next == URING_FS_SPLICE_AGAIN) {
    uring_fs_queue(st, req, index);
    return;
  }
  uring_fs_pipe_give(st, sp->pipe, sp->in_pipe == 0);
  int64_t result = sp->done;
  if (slot->state == URING_FS_CANCELLED)
    result = AX_ECANCELED;
  else if (sp->done == 0 && res < 0)
    result = ax_translate_sys_error(-res);
  uring_fs_slot_give(st, index);
  st->fs_ops--;
  if (next == URING_FS_SPLICE_POOL)
    ax__fs_native_to_pool(req);
  else
    ax__fs_native_done(req, result);
}

void ax__uring_fs_complete(ax_loop_t *loop, const struct ax__uring_cqe *cqe) {
  struct ax__uring *st = ax__uring_state(loop);
  uint32_t index = (uint32_t)(cqe->user_data >> 32);
  struct ax__uring_fs_slot *slot = uring_fs_slot(st, index);
  ax_fs_t *req = slot->req;
  if (req->fs_type == AX_FS_SENDFILE) {
    uring_fs_splice_complete(st, index, slot, cqe->res);
    return;
  }
  int64_t result = cqe->res;
  if (slot->state == URING_FS_CANCELLED)
    result = AX_ECANCELED;
  else if (result < 0)
    result = ax_translate_sys_error((int)-result);
  else if (req->fs_type == AX_FS_STAT || req->fs_type == AX_FS_LSTAT ||
           req->fs_type == AX_FS_FSTAT)
    uring_fs_stat_answer(req, &slot->u.stx);
  /* As the pool's close: an interrupted close (EINTR, or EINPROGRESS
   * where a flush was cut short) closed the descriptor all the same. */
  if (req->fs_type == AX_FS_CLOSE &&
      (cqe->res == -EINTR || cqe->res == -EINPROGRESS))
    result = 0;
  uring_fs_slot_give(st, index);
  st->fs_ops--;
  ax__fs_native_done(req, result);
}
