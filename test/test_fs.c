/*
 * test_fs.c: the file system requests against real files, on every
 * platform: each operation synchronously (no callback) and on the pool,
 * its success and its error paths; invalid arguments; the copies a queued
 * request keeps; cleanup; cancel; four loops sharing the pool; and user
 * jobs that fill the pool without starving file access.
 *
 * Each test works in its own directory, made with ax_fs_mkdtemp() in the
 * working directory (meson's build tree) and removed at the end, so that
 * the runs on several backends at once never meet. Only axle's API and
 * standard C are used, so the same file runs under Wine; what only POSIX
 * systems do (symbolic links, owners, every mode bit, EACCES, FIFOs) is in
 * test_fs_posix.c. No test depends on how long anything takes: jobs that
 * must stay busy wait on a semaphore.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test.h"

/* Room for any path the tests build. */
enum { PATH_BYTES = 512 };

static ax_thread_t loop_thread;

/* One request and what its callback saw. */
struct call {
  ax_fs_t req; /* The request. */
  int calls;   /* Callback calls. */
  int on_loop; /* The callback ran on the loop thread. */
  int used;    /* req has been through an ax_fs_* call. */
};

/* A test's loop and its directory. */
struct fixture {
  ax_loop_t loop;       /* The loop, opened with test_loop_open(). */
  char dir[PATH_BYTES]; /* The test's own directory. */
  struct call c;        /* A request to reuse. */
};

static void call_cb(ax_fs_t *req) {
  struct call *c = ax_container_of(req, struct call, req);
  ax_thread_t self = ax_thread_self();
  c->calls++;
  c->on_loop = ax_thread_equal(&self, &loop_thread);
}

/* The callback for a mode: NULL runs the request synchronously. */
static ax_fs_cb mode_cb(int async) {
  return async ? call_cb : NULL;
}

/* The request of c, ready for another call: the last one cleaned up. */
static ax_fs_t *call_req(struct call *c) {
  if (c->used)
    ax_fs_req_cleanup(&c->req);
  c->used = 1;
  c->calls = 0;
  c->on_loop = 0;
  return &c->req;
}

/*
 * Finish a request that an ax_fs_* call returned rc for, and return its
 * result. Synchronous: the call returned the outcome, and no callback ran.
 * Asynchronous: it was queued, keeps the loop alive, and its callback runs
 * once, on the loop thread.
 */
static int64_t call_finish(ax_loop_t *loop, struct call *c, int async, int rc) {
  if (!async) {
    assert_int_equal(rc, c->req.result < 0 ? c->req.result : 0);
    assert_int_equal(c->calls, 0);
    return c->req.result;
  }
  assert_int_equal(rc, 0);
  assert_true(ax_loop_alive(loop));
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(c->calls, 1);
  assert_true(c->on_loop);
  return c->req.result;
}

static void path_join(char out[PATH_BYTES], const char *dir, const char *name) {
  int n = snprintf(out, PATH_BYTES, "%s/%s", dir, name);
  assert_true(n > 0 && n < PATH_BYTES);
}

/* Remove a directory and everything in it, with axle's own calls. */
static void remove_tree(ax_loop_t *loop, const char *dir) {
  ax_fs_t req;
  ax_dirent_t ent;
  char path[PATH_BYTES];
  assert_true(ax_fs_scandir(loop, &req, dir, 0, NULL) == 0);
  while (ax_fs_scandir_next(&req, &ent) == 0) {
    ax_fs_t sub;
    path_join(path, dir, ent.name);
    if (ent.type == AX_DIRENT_DIR) {
      remove_tree(loop, path);
      continue;
    }
    ax_fs_chmod(loop, &sub, path, 0644, NULL); /* Windows: read-only stays */
    assert_int_equal(ax_fs_unlink(loop, &sub, path, NULL), 0);
    ax_fs_req_cleanup(&sub);
  }
  ax_fs_req_cleanup(&req);
  assert_int_equal(ax_fs_rmdir(loop, &req, dir, NULL), 0);
  ax_fs_req_cleanup(&req);
}

static void fixture_open(struct fixture *fx) {
  memset(fx, 0, sizeof(*fx));
  loop_thread = ax_thread_self();
  test_loop_open(&fx->loop);
  ax_fs_t req;
  assert_int_equal(ax_fs_mkdtemp(&fx->loop, &req, "ax-fs-XXXXXX", NULL), 0);
  assert_int_equal(snprintf(fx->dir, sizeof(fx->dir), "%s", req.path), 12);
  ax_fs_req_cleanup(&req);
}

static void fixture_close(struct fixture *fx) {
  if (fx->c.used)
    ax_fs_req_cleanup(&fx->c.req);
  remove_tree(&fx->loop, fx->dir);
  test_loop_close(&fx->loop);
}

/* Write a whole file synchronously: create or truncate it. */
static void write_file(ax_loop_t *loop, const char *path, const char *data,
                       size_t len) {
  ax_fs_t req;
  ax_buf_t buf = ax_buf_init((char *)data, len);
  int flags = AX_FS_O_WRONLY | AX_FS_O_CREAT | AX_FS_O_TRUNC;
  assert_int_equal(ax_fs_open(loop, &req, path, flags, 0644, NULL), 0);
  ax_file_t fd = (ax_file_t)req.result;
  ax_fs_req_cleanup(&req);
  if (len > 0) {
    assert_int_equal(ax_fs_write(loop, &req, fd, &buf, 1, -1, NULL), 0);
    assert_int_equal(req.result, (int64_t)len);
    ax_fs_req_cleanup(&req);
  }
  assert_int_equal(ax_fs_close(loop, &req, fd, NULL), 0);
  ax_fs_req_cleanup(&req);
}

/* Read up to cap bytes of a file synchronously; returns the count. */
static size_t read_file(ax_loop_t *loop, const char *path, char *out,
                        size_t cap) {
  ax_fs_t req;
  ax_buf_t buf = ax_buf_init(out, cap);
  assert_int_equal(ax_fs_open(loop, &req, path, AX_FS_O_RDONLY, 0, NULL), 0);
  ax_file_t fd = (ax_file_t)req.result;
  ax_fs_req_cleanup(&req);
  assert_int_equal(ax_fs_read(loop, &req, fd, &buf, 1, 0, NULL), 0);
  size_t n = (size_t)req.result;
  ax_fs_req_cleanup(&req);
  assert_int_equal(ax_fs_close(loop, &req, fd, NULL), 0);
  ax_fs_req_cleanup(&req);
  return n;
}

/* The result of a synchronous stat of path (its statbuf in *st). */
static int stat_path(ax_loop_t *loop, const char *path, ax_stat_t *st) {
  ax_fs_t req;
  int rc = ax_fs_stat(loop, &req, path, NULL);
  if (st != NULL)
    *st = req.statbuf;
  ax_fs_req_cleanup(&req);
  return rc;
}

static void test_fs_invalid_paths_and_files(void **state) {
  (void)state;
  struct fixture fx;
  ax_fs_t req;
  fixture_open(&fx);
  ax_loop_t *loop = &fx.loop;
  assert_int_equal(ax_fs_stat(NULL, &req, "x", call_cb), AX_EINVAL);
  assert_int_equal(req.result, AX_EINVAL);
  ax_fs_req_cleanup(&req); /* safe after an argument error */
  assert_int_equal(ax_fs_stat(loop, NULL, "x", call_cb), AX_EINVAL);
  assert_int_equal(ax_fs_stat(loop, &req, NULL, call_cb), AX_EINVAL);
  assert_int_equal(ax_fs_open(loop, &req, NULL, 0, 0, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_unlink(loop, &req, NULL, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_rename(loop, &req, "a", NULL, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_rename(loop, &req, NULL, "b", NULL), AX_EINVAL);
  assert_int_equal(ax_fs_link(loop, &req, "a", NULL, call_cb), AX_EINVAL);
  assert_int_equal(ax_fs_symlink(loop, &req, "a", NULL, 0, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_copyfile(loop, &req, "a", NULL, 0, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_readdir(loop, &req, NULL, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_closedir(loop, &req, NULL, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_closedir(NULL, &req, NULL, NULL), AX_EINVAL);
  /* Negative descriptors name no file. */
  assert_int_equal(ax_fs_close(loop, &req, -1, NULL), AX_EBADF);
  assert_int_equal(ax_fs_fstat(loop, &req, -1, call_cb), AX_EBADF);
  assert_int_equal(ax_fs_fsync(loop, &req, -2, NULL), AX_EBADF);
  assert_int_equal(ax_fs_fdatasync(loop, &req, -1, NULL), AX_EBADF);
  assert_int_equal(ax_fs_ftruncate(loop, &req, -1, 0, NULL), AX_EBADF);
  assert_int_equal(ax_fs_futime(loop, &req, -1, 0, 0, NULL), AX_EBADF);
  assert_int_equal(ax_fs_fchmod(loop, &req, -1, 0644, NULL), AX_EBADF);
  assert_int_equal(ax_fs_fchown(loop, &req, -1, 0, 0, NULL), AX_EBADF);
  assert_int_equal(ax_fs_sendfile(loop, &req, 1, -1, 0, 1, NULL), AX_EBADF);
  assert_int_equal(ax_fs_sendfile(loop, &req, -1, 0, 0, 1, NULL), AX_EBADF);
  assert_int_equal(req.result, AX_EBADF);
  /* Nothing was queued: the loop has nothing to do. */
  assert_false(ax_loop_alive(loop));
  fixture_close(&fx);
}

static void test_fs_invalid_flags(void **state) {
  (void)state;
  struct fixture fx;
  ax_fs_t req;
  fixture_open(&fx);
  ax_loop_t *loop = &fx.loop;
  const char *d = fx.dir;
  assert_int_equal(ax_fs_open(loop, &req, d, 0x10000, 0, NULL), AX_EINVAL);
  assert_int_equal(
      ax_fs_open(loop, &req, d, AX_FS_O_WRONLY | AX_FS_O_RDWR, 0, NULL),
      AX_EINVAL);
  assert_int_equal(ax_fs_open(loop, &req, d, 0, 010000, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_open(loop, &req, d, 0, -1, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_mkdir(loop, &req, d, 0200000, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_chmod(loop, &req, d, -5, call_cb), AX_EINVAL);
  assert_int_equal(ax_fs_fchmod(loop, &req, 0, 070000, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_access(loop, &req, d, 8, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_access(loop, &req, d, -1, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_copyfile(loop, &req, d, d, 8, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_symlink(loop, &req, d, d, 4, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_scandir(loop, &req, d, 1, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_ftruncate(loop, &req, 0, -1, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_sendfile(loop, &req, 1, 0, -1, 1, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_sendfile(loop, &req, 1, 0, 0, -1, NULL), AX_EINVAL);
  /* Times: not a number, infinite, or beyond what every system stores. */
  double nan = strtod("nan", NULL);
  double inf = strtod("inf", NULL);
  assert_int_equal(ax_fs_utime(loop, &req, d, nan, 0, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_utime(loop, &req, d, 0, inf, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_futime(loop, &req, 0, -inf, 0, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_lutime(loop, &req, d, 1e12, 0, NULL), AX_EINVAL);
  /* Templates must end in six X. */
  assert_int_equal(ax_fs_mkdtemp(loop, &req, "ax-XXXXX", NULL), AX_EINVAL);
  assert_int_equal(ax_fs_mkdtemp(loop, &req, "XXXXXXa", call_cb), AX_EINVAL);
  assert_int_equal(ax_fs_mkstemp(loop, &req, "", NULL), AX_EINVAL);
  assert_int_equal(ax_fs_mkstemp(loop, &req, NULL, NULL), AX_EINVAL);
  assert_false(ax_loop_alive(loop));
  fixture_close(&fx);
}

static void test_fs_invalid_bufs(void **state) {
  (void)state;
  struct fixture fx;
  ax_fs_t req;
  static ax_buf_t bufs[1025];
  char byte;
  fixture_open(&fx);
  ax_loop_t *loop = &fx.loop;
  for (size_t i = 0; i < 1025; i++)
    bufs[i] = ax_buf_init(&byte, 1);
  assert_int_equal(ax_fs_read(loop, &req, 0, NULL, 1, 0, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_read(loop, &req, 0, bufs, 0, 0, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_write(loop, &req, 0, bufs, 1025, 0, call_cb),
                   AX_EINVAL);
  assert_int_equal(ax_fs_write(loop, &req, 0, bufs, 1, -2, NULL), AX_EINVAL);
  bufs[3] = ax_buf_init(NULL, 4);
  assert_int_equal(ax_fs_read(loop, &req, 0, bufs, 4, 0, NULL), AX_EINVAL);
  ax_fs_req_cleanup(&req);
  /* A NULL buffer of no bytes is fine: it reads nothing. */
  bufs[3] = ax_buf_init(NULL, 0);
  assert_int_equal(ax_buf_init(NULL, 0).len, 0);
  assert_null(ax_buf_init(NULL, 0).base);
  assert_false(ax_loop_alive(loop));
  fixture_close(&fx);
}

static void test_fs_req_type_and_cleanup(void **state) {
  (void)state;
  struct fixture fx;
  ax_fs_t req;
  ax_dirent_t ent;
  fixture_open(&fx);
  assert_string_equal(ax_req_type_name(AX_FS), "fs");
  assert_int_equal(ax_fs_stat(&fx.loop, &req, fx.dir, NULL), 0);
  assert_int_equal(req.req.type, AX_FS);
  assert_int_equal(req.fs_type, AX_FS_STAT);
  assert_ptr_equal(req.req.loop, &fx.loop);
  assert_ptr_equal(req.ptr, &req.statbuf);
  assert_string_equal(req.path, fx.dir);
  /* Not a scandir request: no entries to take. */
  assert_int_equal(ax_fs_scandir_next(&req, &ent), AX_EINVAL);
  assert_int_equal(ax_fs_scandir_next(NULL, &ent), AX_EINVAL);
  /* A synchronous request is over: nothing to cancel. */
  assert_int_equal(ax_cancel(&req.req), AX_EBUSY);
  ax_fs_req_cleanup(&req);
  ax_fs_req_cleanup(&req);
  assert_null(req.path);
  ax_fs_req_cleanup(NULL);
  fixture_close(&fx);
}

static void check_open_close(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  int create = AX_FS_O_RDWR | AX_FS_O_CREAT | AX_FS_O_EXCL;
  path_join(path, fx->dir, async ? "async" : "sync");
  int64_t fd = call_finish(
      loop, c, async,
      ax_fs_open(loop, call_req(c), path, create, 0644, mode_cb(async)));
  assert_true(fd >= 0);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_open(loop, call_req(c), path, create, 0644,
                                          mode_cb(async))),
                   AX_EEXIST);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_close(loop, call_req(c), (ax_file_t)fd,
                                           mode_cb(async))),
                   0);
  /* Closed: the descriptor is gone. */
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_fstat(loop, call_req(c), (ax_file_t)fd,
                                           mode_cb(async))),
                   AX_EBADF);
  path_join(path, fx->dir, "missing");
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_open(loop, call_req(c), path,
                                          AX_FS_O_RDONLY, 0, mode_cb(async))),
                   AX_ENOENT);
  /* A directory cannot be opened for writing. */
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_open(loop, call_req(c), fx->dir,
                                          AX_FS_O_WRONLY, 0, mode_cb(async))),
                   AX_EISDIR);
}

static void test_fs_open_close(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_open_close(&fx, 0);
  check_open_close(&fx, 1);
  fixture_close(&fx);
}

static void check_read_write(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  char got[32];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(path, fx->dir, "rw");
  int flags = AX_FS_O_RDWR | AX_FS_O_CREAT | AX_FS_O_TRUNC;
  int64_t fd = call_finish(
      loop, c, async,
      ax_fs_open(loop, call_req(c), path, flags, 0644, mode_cb(async)));
  assert_true(fd >= 0);
  ax_file_t f = (ax_file_t)fd;
  ax_buf_t buf = ax_buf_init("hello, world", 12);
  /* At the current position, which advances. */
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_write(loop, call_req(c), f, &buf, 1, -1,
                                           mode_cb(async))),
                   12);
  buf = ax_buf_init("!", 1);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_write(loop, call_req(c), f, &buf, 1, -1,
                                           mode_cb(async))),
                   1);
  /* At an offset: the position stays. */
  buf = ax_buf_init("J", 1);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_write(loop, call_req(c), f, &buf, 1, 7,
                                           mode_cb(async))),
                   1);
  memset(got, 0, sizeof(got));
  buf = ax_buf_init(got, 5);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_read(loop, call_req(c), f, &buf, 1, 7, mode_cb(async))),
      5);
  assert_memory_equal(got, "Jorld", 5);
  /* The current position is at the end: nothing more to read. */
  buf = ax_buf_init(got, sizeof(got));
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_read(loop, call_req(c), f, &buf, 1, -1,
                                          mode_cb(async))),
                   0);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_read(loop, call_req(c), f, &buf, 1, 0, mode_cb(async))),
      13);
  assert_memory_equal(got, "hello, Jorld!", 13);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_close(loop, call_req(c), f, mode_cb(async))),
      0);
}

static void test_fs_read_write(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_read_write(&fx, 0);
  check_read_write(&fx, 1);
  fixture_close(&fx);
}

enum { VEC_BUFS = 9, VEC_LEN = 7 };

/* Write VEC_BUFS buffers in one request (more than the request keeps
 * inline), the caller's array overwritten before the request runs; read
 * them back into as many buffers. */
static void check_vectored(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  char out[VEC_BUFS][VEC_LEN];
  char in[VEC_BUFS][VEC_LEN];
  ax_buf_t bufs[VEC_BUFS];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(path, fx->dir, "vec");
  int flags = AX_FS_O_RDWR | AX_FS_O_CREAT | AX_FS_O_TRUNC;
  assert_int_equal(ax_fs_open(loop, call_req(c), path, flags, 0644, NULL), 0);
  ax_file_t f = (ax_file_t)c->req.result;
  for (int i = 0; i < VEC_BUFS; i++) {
    memset(out[i], 'a' + i, VEC_LEN);
    bufs[i] = ax_buf_init(out[i], VEC_LEN);
  }
  int rc = ax_fs_write(loop, call_req(c), f, bufs, VEC_BUFS, 3, mode_cb(async));
  memset(bufs, 0, sizeof(bufs)); /* the request has its own copy */
  assert_int_equal(call_finish(loop, c, async, rc), VEC_BUFS * VEC_LEN);
  memset(in, 0, sizeof(in));
  for (int i = 0; i < VEC_BUFS; i++)
    bufs[i] = ax_buf_init(in[i], VEC_LEN);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_read(loop, call_req(c), f, bufs, VEC_BUFS,
                                          3, mode_cb(async))),
                   VEC_BUFS * VEC_LEN);
  assert_memory_equal(in, out, sizeof(in));
  assert_int_equal(ax_fs_close(loop, call_req(c), f, NULL), 0);
}

static void test_fs_vectored(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_vectored(&fx, 0);
  check_vectored(&fx, 1);
  fixture_close(&fx);
}

static void check_stat(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  char missing[PATH_BYTES];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(path, fx->dir, "st");
  write_file(loop, path, "12345", 5);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_stat(loop, call_req(c), path, mode_cb(async))),
      0);
  assert_ptr_equal(c->req.ptr, &c->req.statbuf);
  assert_int_equal(c->req.statbuf.size, 5);
  assert_int_equal(c->req.statbuf.mode & AX_S_IFMT, AX_S_IFREG);
  assert_true(c->req.statbuf.nlink >= 1);
  assert_true(c->req.statbuf.mtim.sec > 0);
  assert_string_equal(c->req.path, path);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_lstat(loop, call_req(c), fx->dir, mode_cb(async))),
      0);
  assert_int_equal(c->req.statbuf.mode & AX_S_IFMT, AX_S_IFDIR);
  path_join(missing, fx->dir, "nothing-here");
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_stat(loop, call_req(c), missing, mode_cb(async))),
      AX_ENOENT);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_lstat(loop, call_req(c), missing, mode_cb(async))),
      AX_ENOENT);
  assert_int_equal(ax_fs_open(loop, call_req(c), path, 0, 0, NULL), 0);
  ax_file_t f = (ax_file_t)c->req.result;
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_fstat(loop, call_req(c), f, mode_cb(async))),
      0);
  assert_int_equal(c->req.statbuf.size, 5);
  assert_int_equal(ax_fs_close(loop, call_req(c), f, NULL), 0);
  assert_int_equal(ax_fs_unlink(loop, call_req(c), path, NULL), 0);
}

static void test_fs_stat(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_stat(&fx, 0);
  check_stat(&fx, 1);
  fixture_close(&fx);
}

static void check_statfs(struct fixture *fx, int async) {
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_statfs(loop, call_req(c), fx->dir, mode_cb(async))),
      0);
  const ax_statfs_t *sfs = c->req.ptr;
  assert_non_null(sfs);
  assert_true(sfs->bsize > 0);
  assert_true(sfs->blocks > 0);
  assert_true(sfs->bfree <= sfs->blocks);
  assert_true(sfs->bavail <= sfs->blocks);
  char missing[PATH_BYTES];
  path_join(missing, fx->dir, "no/such");
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_statfs(loop, call_req(c), missing, mode_cb(async))),
      AX_ENOENT);
  assert_null(c->req.ptr);
}

static void test_fs_statfs(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_statfs(&fx, 0);
  check_statfs(&fx, 1);
  fixture_close(&fx);
}

static void check_truncate_sync(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(path, fx->dir, "trunc");
  write_file(loop, path, "0123456789", 10);
  assert_int_equal(ax_fs_open(loop, call_req(c), path, AX_FS_O_RDWR, 0, NULL),
                   0);
  ax_file_t f = (ax_file_t)c->req.result;
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_ftruncate(loop, call_req(c), f, 3, mode_cb(async))),
      0);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_fsync(loop, call_req(c), f, mode_cb(async))),
      0);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_ftruncate(loop, call_req(c), f, 4096, mode_cb(async))),
      0);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_fdatasync(loop, call_req(c), f, mode_cb(async))),
      0);
  assert_int_equal(ax_fs_fstat(loop, call_req(c), f, NULL), 0);
  assert_int_equal(c->req.statbuf.size, 4096);
  assert_int_equal(ax_fs_ftruncate(loop, call_req(c), f, 3, NULL), 0);
  assert_int_equal(ax_fs_close(loop, call_req(c), f, NULL), 0);
  /* A closed descriptor cannot be flushed or truncated. */
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_fsync(loop, call_req(c), f, mode_cb(async))),
      AX_EBADF);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_ftruncate(loop, call_req(c), f, 0, mode_cb(async))),
      AX_EBADF);
  char got[16];
  assert_int_equal(read_file(loop, path, got, sizeof(got)), 3);
  assert_memory_equal(got, "012", 3);
}

static void test_fs_ftruncate_fsync(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_truncate_sync(&fx, 0);
  check_truncate_sync(&fx, 1);
  fixture_close(&fx);
}

/* The modification time of path, in whole seconds and nanoseconds. */
static ax_timespec_t mtime_of(ax_loop_t *loop, const char *path) {
  ax_stat_t st;
  assert_int_equal(stat_path(loop, path, &st), 0);
  return st.mtim;
}

static void check_utime(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(path, fx->dir, "times");
  write_file(loop, path, "t", 1);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_utime(loop, call_req(c), path, 1000000000.5,
                              1234567890.25, mode_cb(async))),
      0);
  ax_timespec_t m = mtime_of(loop, path);
  assert_int_equal(m.sec, 1234567890);
  assert_true(m.nsec >= 249999000 && m.nsec <= 250001000);
  assert_int_equal(ax_fs_stat(loop, call_req(c), path, NULL), 0);
  assert_int_equal(c->req.statbuf.atim.sec, 1000000000);
  assert_int_equal(ax_fs_open(loop, call_req(c), path, AX_FS_O_RDWR, 0, NULL),
                   0);
  ax_file_t f = (ax_file_t)c->req.result;
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_futime(loop, call_req(c), f, 1500000000,
                                            1500000001.75, mode_cb(async))),
                   0);
  assert_int_equal(ax_fs_close(loop, call_req(c), f, NULL), 0);
  m = mtime_of(loop, path);
  assert_int_equal(m.sec, 1500000001);
  assert_true(m.nsec >= 749999000 && m.nsec <= 750001000);
  /* On a file that is not a link, lutime is utime. */
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_lutime(loop, call_req(c), path, 3, 4, mode_cb(async))),
      0);
  assert_int_equal(mtime_of(loop, path).sec, 4);
  char missing[PATH_BYTES];
  path_join(missing, fx->dir, "missing");
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_utime(loop, call_req(c), missing, 1, 1,
                                           mode_cb(async))),
                   AX_ENOENT);
}

static void test_fs_utime(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_utime(&fx, 0);
  check_utime(&fx, 1);
  fixture_close(&fx);
}

/* The write bit is what every system can set; the others are POSIX's
 * (test_fs_posix.c). */
static void check_access_chmod(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  ax_stat_t st;
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(path, fx->dir, "mode");
  write_file(loop, path, "m", 1);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_access(loop, call_req(c), path, AX_FS_F_OK,
                                            mode_cb(async))),
                   0);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_access(loop, call_req(c), path, AX_FS_R_OK,
                                            mode_cb(async))),
                   0);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_chmod(loop, call_req(c), path, 0444, mode_cb(async))),
      0);
  assert_int_equal(stat_path(loop, path, &st), 0);
  assert_int_equal(st.mode & 0222, 0);
  assert_int_equal(ax_fs_open(loop, call_req(c), path, 0, 0, NULL), 0);
  ax_file_t f = (ax_file_t)c->req.result;
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_fchmod(loop, call_req(c), f, 0644, mode_cb(async))),
      0);
  assert_int_equal(ax_fs_close(loop, call_req(c), f, NULL), 0);
  assert_int_equal(stat_path(loop, path, &st), 0);
  assert_int_equal(st.mode & 0200, 0200);
  char missing[PATH_BYTES];
  path_join(missing, fx->dir, "missing");
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_access(loop, call_req(c), missing,
                                            AX_FS_F_OK, mode_cb(async))),
                   AX_ENOENT);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_chmod(loop, call_req(c), missing, 0644,
                                           mode_cb(async))),
                   AX_ENOENT);
  assert_int_equal(ax_fs_unlink(loop, call_req(c), path, NULL), 0);
}

static void test_fs_access_chmod(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_access_chmod(&fx, 0);
  check_access_chmod(&fx, 1);
  fixture_close(&fx);
}

static void check_dirs(struct fixture *fx, int async) {
  char sub[PATH_BYTES];
  char file[PATH_BYTES];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(sub, fx->dir, "sub");
  path_join(file, sub, "file");
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_mkdir(loop, call_req(c), sub, 0755, mode_cb(async))),
      0);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_mkdir(loop, call_req(c), sub, 0755, mode_cb(async))),
      AX_EEXIST);
  write_file(loop, file, "f", 1);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_rmdir(loop, call_req(c), sub, mode_cb(async))),
      AX_ENOTEMPTY);
  /* Through a file, as if it were a directory. */
  char below_file[PATH_BYTES];
  path_join(below_file, file, "x");
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_scandir(loop, call_req(c), file, 0, mode_cb(async))),
      AX_ENOTDIR);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_opendir(loop, call_req(c), file, mode_cb(async))),
      AX_ENOTDIR);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_unlink(loop, call_req(c), file, mode_cb(async))),
      0);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_unlink(loop, call_req(c), file, mode_cb(async))),
      AX_ENOENT);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_rmdir(loop, call_req(c), sub, mode_cb(async))),
      0);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_rmdir(loop, call_req(c), sub, mode_cb(async))),
      AX_ENOENT);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_mkdir(loop, call_req(c), below_file, 0755,
                                           mode_cb(async))),
                   AX_ENOENT);
}

static void test_fs_dirs(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_dirs(&fx, 0);
  check_dirs(&fx, 1);
  fixture_close(&fx);
}

static void check_temp(struct fixture *fx, int async) {
  char tpl[PATH_BYTES];
  char first[PATH_BYTES];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(tpl, fx->dir, "tmp-XXXXXX");
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_mkdtemp(loop, call_req(c), tpl, mode_cb(async))),
      0);
  /* The caller's template is left alone; the name made is in path. */
  assert_non_null(strstr(tpl, "XXXXXX"));
  assert_int_equal(strlen(c->req.path), strlen(tpl));
  assert_null(strstr(c->req.path, "XXXXXX"));
  snprintf(first, sizeof(first), "%s", c->req.path);
  ax_stat_t st;
  assert_int_equal(stat_path(loop, first, &st), 0);
  assert_int_equal(st.mode & AX_S_IFMT, AX_S_IFDIR);
  int64_t fd = call_finish(
      loop, c, async, ax_fs_mkstemp(loop, call_req(c), tpl, mode_cb(async)));
  assert_true(fd >= 0);
  assert_int_equal(fd, c->req.result);
  assert_string_not_equal(c->req.path, first);
  ax_file_t f = (ax_file_t)fd;
  ax_buf_t buf = ax_buf_init("temp", 4);
  assert_int_equal(ax_fs_write(loop, call_req(c), f, &buf, 1, -1, NULL), 0);
  assert_int_equal(c->req.result, 4);
  assert_int_equal(ax_fs_close(loop, call_req(c), f, NULL), 0);
  char missing_dir[PATH_BYTES];
  path_join(missing_dir, fx->dir, "no/tmp-XXXXXX");
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_mkdtemp(loop, call_req(c), missing_dir,
                                             mode_cb(async))),
                   AX_ENOENT);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_mkstemp(loop, call_req(c), missing_dir,
                                             mode_cb(async))),
                   AX_ENOENT);
}

static void test_fs_mkdtemp_mkstemp(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_temp(&fx, 0);
  check_temp(&fx, 1);
  fixture_close(&fx);
}

static void check_rename(struct fixture *fx, int async) {
  char a[PATH_BYTES];
  char b[PATH_BYTES];
  char got[8];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(a, fx->dir, "a");
  path_join(b, fx->dir, "b");
  write_file(loop, a, "A", 1);
  write_file(loop, b, "B", 1);
  /* Over an existing file, which is replaced. */
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_rename(loop, call_req(c), a, b, mode_cb(async))),
      0);
  assert_int_equal(stat_path(loop, a, NULL), AX_ENOENT);
  assert_int_equal(read_file(loop, b, got, sizeof(got)), 1);
  assert_int_equal(got[0], 'A');
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_rename(loop, call_req(c), a, b, mode_cb(async))),
      AX_ENOENT);
  assert_int_equal(ax_fs_unlink(loop, call_req(c), b, NULL), 0);
}

static void test_fs_rename(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_rename(&fx, 0);
  check_rename(&fx, 1);
  fixture_close(&fx);
}

enum { SCAN_FILES = 5 };

/* Make SCAN_FILES files f0..f4 and a directory d in dir. */
static void make_listing(ax_loop_t *loop, const char *dir) {
  char path[PATH_BYTES];
  char name[8];
  ax_fs_t req;
  for (int i = 0; i < SCAN_FILES; i++) {
    snprintf(name, sizeof(name), "f%d", i);
    path_join(path, dir, name);
    write_file(loop, path, name, 2);
  }
  path_join(path, dir, "d");
  assert_int_equal(ax_fs_mkdir(loop, &req, path, 0755, NULL), 0);
  ax_fs_req_cleanup(&req);
}

/* Record an entry of the listing make_listing() made, once each; the
 * order is the system's. Returns the entry's slot: 0..4 files, 5 d. */
static int listing_slot(const ax_dirent_t *ent, int seen[SCAN_FILES + 1]) {
  int slot;
  if (strcmp(ent->name, "d") == 0) {
    slot = SCAN_FILES;
    assert_true(ent->type == AX_DIRENT_DIR || ent->type == AX_DIRENT_UNKNOWN);
  } else {
    assert_int_equal(ent->name[0], 'f');
    assert_int_equal(strlen(ent->name), 2);
    slot = ent->name[1] - '0';
    assert_true(slot >= 0 && slot < SCAN_FILES);
    assert_true(ent->type == AX_DIRENT_FILE || ent->type == AX_DIRENT_UNKNOWN);
  }
  assert_int_equal(seen[slot], 0);
  seen[slot] = 1;
  return slot;
}

static void check_scandir(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  int seen[SCAN_FILES + 1] = {0};
  ax_dirent_t ent;
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(path, fx->dir, async ? "scan-a" : "scan-s");
  assert_int_equal(ax_fs_mkdir(loop, call_req(c), path, 0755, NULL), 0);
  make_listing(loop, path);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_scandir(loop, call_req(c), path, 0, mode_cb(async))),
      SCAN_FILES + 1);
  for (int i = 0; i < SCAN_FILES + 1; i++) {
    assert_int_equal(ax_fs_scandir_next(&c->req, &ent), 0);
    listing_slot(&ent, seen);
  }
  assert_int_equal(ax_fs_scandir_next(&c->req, &ent), AX_EOF);
  assert_int_equal(ax_fs_scandir_next(&c->req, &ent), AX_EOF);
  ax_fs_req_cleanup(&c->req);
  ax_fs_req_cleanup(&c->req); /* twice is fine */
  /* An empty directory has no entries, not even "." and "..". */
  char empty[PATH_BYTES];
  path_join(empty, path, "d");
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_scandir(loop, call_req(c), empty, 0, mode_cb(async))),
      0);
  assert_int_equal(ax_fs_scandir_next(&c->req, &ent), AX_EOF);
  path_join(path, fx->dir, "missing");
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_scandir(loop, call_req(c), path, 0, mode_cb(async))),
      AX_ENOENT);
  assert_int_equal(ax_fs_scandir_next(&c->req, &ent), AX_ENOENT);
}

static void test_fs_scandir(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_scandir(&fx, 0);
  check_scandir(&fx, 1);
  fixture_close(&fx);
}

/* Read a directory stream two entries at a time until its end. */
static void read_listing(struct fixture *fx, ax_dir_t *dir, int async) {
  ax_dirent_t ents[2];
  int seen[SCAN_FILES + 1] = {0};
  int total = 0;
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  dir->dirents = ents;
  dir->nentries = 2;
  for (int rounds = 0; rounds < 10; rounds++) {
    int64_t n = call_finish(
        loop, c, async, ax_fs_readdir(loop, call_req(c), dir, mode_cb(async)));
    assert_true(n >= 0 && n <= 2);
    if (n == 0)
      break;
    for (int64_t i = 0; i < n; i++)
      listing_slot(&ents[i], seen);
    total += (int)n;
    ax_fs_req_cleanup(&c->req); /* before the next readdir of dir */
  }
  assert_int_equal(total, SCAN_FILES + 1);
}

static void check_readdir(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(path, fx->dir, async ? "dir-a" : "dir-s");
  assert_int_equal(ax_fs_mkdir(loop, call_req(c), path, 0755, NULL), 0);
  make_listing(loop, path);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_opendir(loop, call_req(c), path, mode_cb(async))),
      0);
  ax_dir_t *dir = c->req.ptr;
  assert_non_null(dir);
  ax_fs_req_cleanup(&c->req); /* the stream is not the request's */
  read_listing(fx, dir, async);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_closedir(loop, call_req(c), dir, mode_cb(async))),
      0);
  path_join(path, fx->dir, "missing");
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_opendir(loop, call_req(c), path, mode_cb(async))),
      AX_ENOENT);
  assert_null(c->req.ptr);
  /* No room for entries: nothing to read into. */
  ax_dir_t empty;
  memset(&empty, 0, sizeof(empty));
  assert_int_equal(ax_fs_readdir(loop, call_req(c), &empty, NULL), AX_EINVAL);
  /* Room, but no stream: not one ax_fs_opendir() made. */
  ax_dirent_t ent;
  empty.dirents = &ent;
  empty.nentries = 1;
  assert_int_equal(ax_fs_readdir(loop, call_req(c), &empty, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_closedir(loop, call_req(c), &empty, NULL), AX_EINVAL);
}

static void test_fs_readdir(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_readdir(&fx, 0);
  check_readdir(&fx, 1);
  fixture_close(&fx);
}

/* Contents of n bytes that differ at every position, roughly. */
static void fill_pattern(char *buf, size_t n, unsigned int seed) {
  for (size_t i = 0; i < n; i++)
    buf[i] = (char)((i * 31u + seed) % 251u);
}

enum { BIG_BYTES = 200 * 1024 + 17 };

static void check_copyfile(struct fixture *fx, int async) {
  static char data[BIG_BYTES];
  static char got[BIG_BYTES + 1];
  char src[PATH_BYTES];
  char dst[PATH_BYTES];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(src, fx->dir, "src");
  path_join(dst, fx->dir, "dst");
  fill_pattern(data, sizeof(data), (unsigned int)async);
  write_file(loop, src, data, sizeof(data));
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_copyfile(loop, call_req(c), src, dst, 0,
                                              mode_cb(async))),
                   0);
  assert_int_equal(read_file(loop, dst, got, sizeof(got)), sizeof(data));
  assert_memory_equal(got, data, sizeof(data));
  /* EXCL: the destination exists, and is left as it was. */
  write_file(loop, dst, "keep", 4);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_copyfile(loop, call_req(c), src, dst,
                                 AX_FS_COPYFILE_EXCL, mode_cb(async))),
      AX_EEXIST);
  assert_int_equal(read_file(loop, dst, got, sizeof(got)), 4);
  /* Without EXCL it is replaced; a clone is tried first if asked for. */
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_copyfile(loop, call_req(c), src, dst,
                                 AX_FS_COPYFILE_FICLONE, mode_cb(async))),
      0);
  assert_int_equal(read_file(loop, dst, got, sizeof(got)), sizeof(data));
  assert_memory_equal(got, data, sizeof(data));
  /* A file copied onto itself keeps its contents (POSIX systems report
   * success, test_fs_posix.c; Windows may refuse). */
  call_finish(loop, c, async,
              ax_fs_copyfile(loop, call_req(c), src, src, 0, mode_cb(async)));
  assert_int_equal(read_file(loop, src, got, sizeof(got)), sizeof(data));
  assert_memory_equal(got, data, sizeof(data));
  path_join(src, fx->dir, "missing");
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_copyfile(loop, call_req(c), src, dst, 0,
                                              mode_cb(async))),
                   AX_ENOENT);
  assert_int_equal(ax_fs_unlink(loop, call_req(c), dst, NULL), 0);
}

static void test_fs_copyfile(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_copyfile(&fx, 0);
  check_copyfile(&fx, 1);
  fixture_close(&fx);
}

/* A forced clone succeeds or says the file system cannot clone; either
 * way no half-made destination is left. A read-only source gives a
 * read-only copy. */
static void test_fs_copyfile_clone_and_mode(void **state) {
  (void)state;
  struct fixture fx;
  char src[PATH_BYTES];
  char dst[PATH_BYTES];
  ax_stat_t st;
  fixture_open(&fx);
  ax_loop_t *loop = &fx.loop;
  struct call *c = &fx.c;
  path_join(src, fx.dir, "src");
  path_join(dst, fx.dir, "dst");
  write_file(loop, src, "clone me", 8);
  int rc = ax_fs_copyfile(loop, call_req(c), src, dst,
                          AX_FS_COPYFILE_FICLONE_FORCE, NULL);
  assert_true(rc == 0 || rc == AX_ENOTSUP);
  assert_int_equal(stat_path(loop, dst, &st), rc == 0 ? 0 : AX_ENOENT);
  assert_int_equal(ax_fs_chmod(loop, call_req(c), src, 0444, NULL), 0);
  assert_int_equal(ax_fs_copyfile(loop, call_req(c), src, dst, 0, NULL), 0);
  assert_int_equal(stat_path(loop, dst, &st), 0);
  assert_int_equal(st.mode & 0222, 0);
  assert_int_equal(st.size, 8);
  fixture_close(&fx);
}

static void check_link(struct fixture *fx, int async) {
  char a[PATH_BYTES];
  char b[PATH_BYTES];
  ax_stat_t st;
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(a, fx->dir, "a");
  path_join(b, fx->dir, "b");
  write_file(loop, a, "linked", 6);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_link(loop, call_req(c), a, b, mode_cb(async))),
      0);
  assert_int_equal(stat_path(loop, a, &st), 0);
  assert_int_equal(st.nlink, 2);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_link(loop, call_req(c), a, b, mode_cb(async))),
      AX_EEXIST);
  assert_int_equal(ax_fs_unlink(loop, call_req(c), a, NULL), 0);
  assert_int_equal(stat_path(loop, b, &st), 0);
  assert_int_equal(st.nlink, 1);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_link(loop, call_req(c), a, b, mode_cb(async))),
      AX_ENOENT);
  assert_int_equal(ax_fs_unlink(loop, call_req(c), b, NULL), 0);
}

static void test_fs_link(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_link(&fx, 0);
  check_link(&fx, 1);
  fixture_close(&fx);
}

static void check_realpath(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  char canonical[PATH_BYTES];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_realpath(loop, call_req(c), fx->dir, mode_cb(async))),
      0);
  assert_non_null(c->req.ptr);
  snprintf(canonical, sizeof(canonical), "%s", (const char *)c->req.ptr);
  /* Absolute, and ending in the directory's own name. */
  size_t len = strlen(canonical);
  size_t dir_len = strlen(fx->dir);
  assert_true(len > dir_len);
  assert_string_equal(canonical + len - dir_len, fx->dir);
  path_join(path, fx->dir, "sub");
  assert_int_equal(ax_fs_mkdir(loop, call_req(c), path, 0755, NULL), 0);
  path_join(path, fx->dir, "sub/./../sub/..");
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_realpath(loop, call_req(c), path, mode_cb(async))),
      0);
  assert_string_equal(c->req.ptr, canonical);
  path_join(path, fx->dir, "missing");
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_realpath(loop, call_req(c), path, mode_cb(async))),
      AX_ENOENT);
  assert_null(c->req.ptr);
  path_join(path, fx->dir, "sub");
  assert_int_equal(ax_fs_rmdir(loop, call_req(c), path, NULL), 0);
}

static void test_fs_realpath(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_realpath(&fx, 0);
  check_realpath(&fx, 1);
  fixture_close(&fx);
}

static void check_sendfile(struct fixture *fx, int async) {
  static char data[BIG_BYTES];
  static char got[BIG_BYTES];
  char src[PATH_BYTES];
  char dst[PATH_BYTES];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(src, fx->dir, "send-src");
  path_join(dst, fx->dir, "send-dst");
  fill_pattern(data, sizeof(data), 7);
  write_file(loop, src, data, sizeof(data));
  assert_int_equal(ax_fs_open(loop, call_req(c), src, 0, 0, NULL), 0);
  ax_file_t in = (ax_file_t)c->req.result;
  int flags = AX_FS_O_WRONLY | AX_FS_O_CREAT | AX_FS_O_TRUNC;
  assert_int_equal(ax_fs_open(loop, call_req(c), dst, flags, 0644, NULL), 0);
  ax_file_t out = (ax_file_t)c->req.result;
  /* The output's position moves; the input is read from the offset. */
  int64_t left = BIG_BYTES - 100;
  int64_t done = 0;
  for (int rounds = 0; done < left && rounds < 100; rounds++) {
    int64_t n = call_finish(loop, c, async,
                            ax_fs_sendfile(loop, call_req(c), out, in,
                                           100 + done, left - done,
                                           mode_cb(async)));
    assert_true(n > 0);
    done += n;
  }
  assert_int_equal(done, left);
  /* At the end of the input, nothing more. */
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_sendfile(loop, call_req(c), out, in,
                                              BIG_BYTES, 10, mode_cb(async))),
                   0);
  assert_int_equal(ax_fs_close(loop, call_req(c), in, NULL), 0);
  assert_int_equal(ax_fs_close(loop, call_req(c), out, NULL), 0);
  assert_int_equal(read_file(loop, dst, got, sizeof(got)), left);
  assert_memory_equal(got, data + 100, (size_t)left);
  /* A closed descriptor cannot be sent from. */
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_sendfile(loop, call_req(c), out, in, 0, 10,
                                              mode_cb(async))),
                   AX_EBADF);
}

static void test_fs_sendfile(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_sendfile(&fx, 0);
  check_sendfile(&fx, 1);
  fixture_close(&fx);
}

/* A queued request copies its paths: the caller's may change at once. */
static void test_fs_async_copies_paths(void **state) {
  (void)state;
  struct fixture fx;
  char from[PATH_BYTES];
  char to[PATH_BYTES];
  char expect[PATH_BYTES];
  fixture_open(&fx);
  ax_loop_t *loop = &fx.loop;
  struct call *c = &fx.c;
  path_join(from, fx.dir, "from");
  path_join(to, fx.dir, "to");
  path_join(expect, fx.dir, "to");
  write_file(loop, from, "x", 1);
  assert_int_equal(ax_fs_rename(loop, call_req(c), from, to, call_cb), 0);
  memset(from, 'z', sizeof(from) - 1);
  memset(to, 'z', sizeof(to) - 1);
  assert_int_equal(call_finish(loop, c, 1, 0), 0);
  assert_string_equal(c->req.path + strlen(fx.dir), "/from");
  assert_int_equal(stat_path(loop, expect, NULL), 0);
  fixture_close(&fx);
}

/* Each completion starts the next step with the same request, after
 * cleaning it up: open, write, close, stat, unlink. */
struct chain {
  struct call c;         /* The request, reused. */
  char path[PATH_BYTES]; /* The file. */
  ax_file_t file;        /* Its descriptor once open. */
  int step;              /* Steps done. */
  int64_t size;          /* What stat said. */
};

static void chain_cb(ax_fs_t *req) {
  struct chain *ch = ax_container_of(req, struct chain, c.req);
  ax_loop_t *loop = req->req.loop;
  ax_buf_t buf = ax_buf_init("chained", 7);
  assert_true(req->result >= 0);
  switch (ch->step++) {
  case 0:
    ch->file = (ax_file_t)req->result;
    assert_int_equal(
        ax_fs_write(loop, call_req(&ch->c), ch->file, &buf, 1, 0, chain_cb), 0);
    break;
  case 1:
    assert_int_equal(req->result, 7);
    assert_int_equal(ax_fs_close(loop, call_req(&ch->c), ch->file, chain_cb),
                     0);
    break;
  case 2:
    assert_int_equal(ax_fs_stat(loop, call_req(&ch->c), ch->path, chain_cb), 0);
    break;
  case 3:
    ch->size = (int64_t)req->statbuf.size;
    assert_int_equal(ax_fs_unlink(loop, call_req(&ch->c), ch->path, chain_cb),
                     0);
    break;
  default:
    break;
  }
}

static void test_fs_reuse_in_callback(void **state) {
  (void)state;
  struct fixture fx;
  struct chain ch;
  fixture_open(&fx);
  memset(&ch, 0, sizeof(ch));
  path_join(ch.path, fx.dir, "chain");
  int flags = AX_FS_O_WRONLY | AX_FS_O_CREAT;
  assert_int_equal(
      ax_fs_open(&fx.loop, call_req(&ch.c), ch.path, flags, 0600, chain_cb), 0);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(ch.step, 5);
  assert_int_equal(ch.size, 7);
  ax_fs_req_cleanup(&ch.c.req);
  fixture_close(&fx);
}

enum { CANCEL_REQS = 16 };

/* Requests queued and not yet handed to a worker can be cancelled: the
 * cancelled one completes once, with AX_ECANCELED, the others normally. */
static void test_fs_cancel(void **state) {
  (void)state;
  struct fixture fx;
  static struct call calls[CANCEL_REQS];
  fixture_open(&fx);
  memset(calls, 0, sizeof(calls));
  for (int i = 0; i < CANCEL_REQS; i++)
    assert_int_equal(ax_fs_stat(&fx.loop, call_req(&calls[i]), fx.dir, call_cb),
                     0);
  int cancelled = -1;
  for (int i = CANCEL_REQS - 1; i >= 0 && cancelled < 0; i--) {
    int rc = ax_cancel(&calls[i].req.req);
    if (rc == 0)
      cancelled = i;
    else
      assert_int_equal(rc, AX_EBUSY);
  }
  assert_true(cancelled >= 0);
  assert_int_equal(ax_cancel(&calls[cancelled].req.req), AX_EBUSY);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  for (int i = 0; i < CANCEL_REQS; i++) {
    assert_int_equal(calls[i].calls, 1);
    assert_int_equal(calls[i].req.result, i == cancelled ? AX_ECANCELED : 0);
    /* Over: nothing left to cancel. */
    assert_int_equal(ax_cancel(&calls[i].req.req), AX_EBUSY);
    ax_fs_req_cleanup(&calls[i].req);
  }
  fixture_close(&fx);
}

enum { LOOPS = 4, LOOP_WRITES = 64, SLOT_BYTES = 8 };

/* One of four threads, each with its own loop, sharing the pool. */
struct loop_thread {
  ax_loop_t loop;                     /* Its own loop. */
  char path[PATH_BYTES];              /* Its own file. */
  struct call calls[LOOP_WRITES];     /* Its requests. */
  char data[LOOP_WRITES][SLOT_BYTES]; /* What it writes and reads back. */
  int completions;                    /* Callbacks that saw success. */
  int result;                         /* 0 if everything checked out. */
};

static void loop_thread_cb(ax_fs_t *req) {
  struct loop_thread *lt = req->req.data;
  if (req->result >= 0)
    lt->completions++;
}

/* Queue one write (or read) per slot of the file, then run the loop. */
static int loop_thread_pass(struct loop_thread *lt, ax_file_t f, int reading) {
  for (int i = 0; i < LOOP_WRITES; i++) {
    ax_fs_t *req = &lt->calls[i].req;
    ax_buf_t buf = ax_buf_init(lt->data[i], SLOT_BYTES);
    if (lt->calls[i].used)
      ax_fs_req_cleanup(req);
    lt->calls[i].used = 1;
    req->req.data = lt;
    int64_t offset = (int64_t)i * SLOT_BYTES;
    int rc = reading ? ax_fs_read(&lt->loop, req, f, &buf, 1, offset,
                                  loop_thread_cb)
                     : ax_fs_write(&lt->loop, req, f, &buf, 1, offset,
                                   loop_thread_cb);
    if (rc != 0)
      return rc;
  }
  return ax_run(&lt->loop, AX_RUN_DEFAULT);
}

static int loop_thread_work(struct loop_thread *lt) {
  ax_fs_t req;
  int flags = AX_FS_O_RDWR | AX_FS_O_CREAT | AX_FS_O_TRUNC;
  int rc = ax_fs_open(&lt->loop, &req, lt->path, flags, 0644, NULL);
  ax_file_t f = (ax_file_t)req.result;
  ax_fs_req_cleanup(&req);
  if (rc != 0)
    return rc;
  for (int i = 0; i < LOOP_WRITES; i++)
    fill_pattern(lt->data[i], SLOT_BYTES, (unsigned int)i);
  rc = loop_thread_pass(lt, f, 0);
  memset(lt->data, 0, sizeof(lt->data));
  if (rc == 0)
    rc = loop_thread_pass(lt, f, 1);
  for (int i = 0; i < LOOP_WRITES; i++) {
    char want[SLOT_BYTES];
    fill_pattern(want, SLOT_BYTES, (unsigned int)i);
    if (rc == 0 && memcmp(want, lt->data[i], SLOT_BYTES) != 0)
      rc = AX_EIO;
    ax_fs_req_cleanup(&lt->calls[i].req);
  }
  ax_fs_close(&lt->loop, &req, f, NULL);
  ax_fs_unlink(&lt->loop, &req, lt->path, NULL);
  return rc;
}

static void loop_thread_main(void *arg) {
  struct loop_thread *lt = arg;
  lt->result = ax_loop_init(&lt->loop);
  if (lt->result != 0)
    return;
  lt->result = loop_thread_work(lt);
  int rc = ax_loop_close(&lt->loop);
  if (lt->result == 0)
    lt->result = rc;
}

static void test_fs_four_loops(void **state) {
  (void)state;
  static struct loop_thread lts[LOOPS];
  ax_thread_t threads[LOOPS];
  struct fixture fx;
  fixture_open(&fx); /* counts the four loops' memory too */
  memset(lts, 0, sizeof(lts));
  for (int i = 0; i < LOOPS; i++) {
    char name[16];
    snprintf(name, sizeof(name), "loop%d", i);
    path_join(lts[i].path, fx.dir, name);
    assert_int_equal(ax_thread_create(&threads[i], loop_thread_main, &lts[i]),
                     0);
  }
  for (int i = 0; i < LOOPS; i++) {
    assert_int_equal(ax_thread_join(&threads[i]), 0);
    assert_int_equal(lts[i].result, 0);
    assert_int_equal(lts[i].completions, 2 * LOOP_WRITES);
  }
  fixture_close(&fx);
}

enum { BLOCKERS = 6 };

/* A user job that holds its worker until the semaphore is posted. */
struct blocker {
  ax_work_t work; /* The request. */
  ax_sem_t *gate; /* Waited on by the job. */
  int status;     /* What the after-callback got. */
  int after;      /* After-callback calls. */
};

static void blocker_work(ax_work_t *work) {
  struct blocker *b = ax_container_of(work, struct blocker, work);
  ax_sem_wait(b->gate);
}

static void blocker_after(ax_work_t *work, int status) {
  struct blocker *b = ax_container_of(work, struct blocker, work);
  b->after++;
  b->status = status;
}

/* The file system request's callback frees the user jobs. */
static void starve_cb(ax_fs_t *req) {
  ax_sem_t *gate = req->req.data;
  call_cb(req);
  for (int i = 0; i < BLOCKERS; i++)
    ax_sem_post(gate);
}

/* User jobs fill every general worker and wait for a file system request
 * to complete first: only the file system lane's own worker can run it. */
static void test_fs_not_starved_by_user_jobs(void **state) {
  (void)state;
  struct fixture fx;
  static struct blocker blockers[BLOCKERS];
  ax_sem_t gate;
  fixture_open(&fx);
  memset(blockers, 0, sizeof(blockers));
  assert_int_equal(ax_sem_init(&gate, 0), 0);
  assert_int_equal(ax_threadpool_set_size(2), 0);
  for (int i = 0; i < BLOCKERS; i++) {
    blockers[i].gate = &gate;
    assert_int_equal(
        ax_queue_work(&fx.loop, &blockers[i].work, blocker_work, blocker_after),
        0);
  }
  /* Let the workers take the user jobs before the request is queued. */
  assert_int_equal(ax_run(&fx.loop, AX_RUN_NOWAIT), 0);
  ax_fs_t *req = call_req(&fx.c);
  req->req.data = &gate;
  assert_int_equal(ax_fs_stat(&fx.loop, req, fx.dir, starve_cb), 0);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(fx.c.calls, 1);
  assert_int_equal(fx.c.req.result, 0);
  for (int i = 0; i < BLOCKERS; i++) {
    assert_int_equal(blockers[i].after, 1);
    assert_int_equal(blockers[i].status, 0);
  }
  ax_sem_destroy(&gate);
  assert_int_equal(ax_threadpool_set_size(4), 0);
  fixture_close(&fx);
}

enum { MANY_REQS = 300 };

/* Many requests in flight at once, all completing exactly once. */
static void test_fs_many_requests(void **state) {
  (void)state;
  struct fixture fx;
  static struct call calls[MANY_REQS];
  fixture_open(&fx);
  memset(calls, 0, sizeof(calls));
  for (int i = 0; i < MANY_REQS; i++) {
    ax_fs_t *req = call_req(&calls[i]);
    int rc = i % 2 ? ax_fs_stat(&fx.loop, req, fx.dir, call_cb)
                   : ax_fs_access(&fx.loop, req, fx.dir, AX_FS_F_OK, call_cb);
    assert_int_equal(rc, 0);
  }
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  for (int i = 0; i < MANY_REQS; i++) {
    assert_int_equal(calls[i].calls, 1);
    assert_true(calls[i].on_loop);
    assert_int_equal(calls[i].req.result, 0);
    ax_fs_req_cleanup(&calls[i].req);
  }
  fixture_close(&fx);
}

/* The pool makes its locks once per process and keeps them: have it make
 * them before any test counts what axle allocates. */
static int pool_locks_setup(void **state) {
  (void)state;
  return ax_threadpool_get_size() > 0 ? 0 : -1;
}

/* ---- libuv's habits: cleanup forgets ptr, scandir's error, utime's
 * special times ---- */

/* After the cleanup, ptr is NULL whatever it pointed at (as in libuv): the
 * stat family's statbuf, the ax_dir_t of opendir (which stays open and
 * valid for the caller who kept it). */
static void check_cleanup_forgets_ptr(struct fixture *fx, int async) {
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_stat(loop, call_req(c), fx->dir, mode_cb(async))),
      0);
  assert_ptr_equal(c->req.ptr, &c->req.statbuf);
  ax_fs_req_cleanup(&c->req);
  assert_null(c->req.ptr);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_opendir(loop, call_req(c), fx->dir, mode_cb(async))),
      0);
  ax_dir_t *dir = c->req.ptr;
  assert_non_null(dir);
  ax_fs_req_cleanup(&c->req);
  assert_null(c->req.ptr);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_closedir(loop, call_req(c), dir, mode_cb(async))),
      0);
}

static void test_fs_cleanup_forgets_ptr(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_cleanup_forgets_ptr(&fx, 0);
  check_cleanup_forgets_ptr(&fx, 1);
  fixture_close(&fx);
}

/* A failed scandir's next entry is its error, as in libuv, every time it
 * is asked; a request of another type is still refused. */
static void check_scandir_failure_next(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  ax_dirent_t ent;
  path_join(path, fx->dir, "scan-missing");
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_scandir(loop, call_req(c), path, 0, mode_cb(async))),
      AX_ENOENT);
  assert_int_equal(ax_fs_scandir_next(&c->req, &ent), AX_ENOENT);
  assert_int_equal(ax_fs_scandir_next(&c->req, &ent), AX_ENOENT);
  path_join(path, fx->dir, "scan-file");
  write_file(loop, path, "f", 1);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_scandir(loop, call_req(c), path, 0, mode_cb(async))),
      AX_ENOTDIR);
  assert_int_equal(ax_fs_scandir_next(&c->req, &ent), AX_ENOTDIR);
  assert_int_equal(ax_fs_scandir_next(NULL, &ent), AX_EINVAL);
  assert_int_equal(ax_fs_scandir_next(&c->req, NULL), AX_EINVAL);
}

static void test_fs_scandir_failure_next(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_scandir_failure_next(&fx, 0);
  check_scandir_failure_next(&fx, 1);
  fixture_close(&fx);
}

/* The times of path, access and modification. */
static void times_of(ax_loop_t *loop, const char *path, ax_timespec_t *atim,
                     ax_timespec_t *mtim) {
  ax_stat_t st;
  assert_int_equal(stat_path(loop, path, &st), 0);
  *atim = st.atim;
  *mtim = st.mtim;
}

/* A time set to "now": between the wall clock's readings before and
 * after, with a second of slack either side for file systems that store
 * coarse times and for the rounding of time(). Not a timing: the file's
 * time is compared with the clock, not a duration measured. */
static void assert_about_now(ax_timespec_t t, time_t before, time_t after) {
  assert_true(t.sec >= (int64_t)before - 2);
  assert_true(t.sec <= (int64_t)after + 2);
}

static void check_utime_now_omit(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  ax_timespec_t atim;
  ax_timespec_t mtim;
  path_join(path, fx->dir, async ? "special-a" : "special-s");
  write_file(loop, path, "t", 1);
  assert_int_equal(ax_fs_utime(loop, call_req(c), path, 1000, 2000, NULL), 0);

  /* OMIT keeps a time; the other one is set. */
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_utime(loop, call_req(c), path, AX_FS_UTIME_OMIT, 3000,
                              mode_cb(async))),
      0);
  times_of(loop, path, &atim, &mtim);
  assert_int_equal(atim.sec, 1000);
  assert_int_equal(mtim.sec, 3000);

  /* NOW is the current time, OMIT still keeps the other. */
  time_t before = time(NULL);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_utime(loop, call_req(c), path, AX_FS_UTIME_NOW,
                              AX_FS_UTIME_OMIT, mode_cb(async))),
      0);
  time_t after = time(NULL);
  times_of(loop, path, &atim, &mtim);
  assert_about_now(atim, before, after);
  assert_int_equal(mtim.sec, 3000);

  /* The same through a descriptor: both NOW. */
  assert_int_equal(ax_fs_open(loop, call_req(c), path, AX_FS_O_RDWR, 0, NULL),
                   0);
  ax_file_t f = (ax_file_t)c->req.result;
  before = time(NULL);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_futime(loop, call_req(c), f, AX_FS_UTIME_NOW,
                               AX_FS_UTIME_NOW, mode_cb(async))),
      0);
  after = time(NULL);
  assert_int_equal(ax_fs_close(loop, call_req(c), f, NULL), 0);
  times_of(loop, path, &atim, &mtim);
  assert_about_now(atim, before, after);
  assert_about_now(mtim, before, after);

  /* lutime, both OMIT: nothing changes; then one time of its own. */
  assert_int_equal(ax_fs_utime(loop, call_req(c), path, 1000, 2000, NULL), 0);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_lutime(loop, call_req(c), path, AX_FS_UTIME_OMIT,
                               AX_FS_UTIME_OMIT, mode_cb(async))),
      0);
  times_of(loop, path, &atim, &mtim);
  assert_int_equal(atim.sec, 1000);
  assert_int_equal(mtim.sec, 2000);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_lutime(loop, call_req(c), path, 4000,
                                            AX_FS_UTIME_OMIT, mode_cb(async))),
                   0);
  times_of(loop, path, &atim, &mtim);
  assert_int_equal(atim.sec, 4000);
  assert_int_equal(mtim.sec, 2000);

  /* Times near the special values are still out of range; -1 and -2,
   * libuv's special values, are ordinary times here. */
  assert_int_equal(
      ax_fs_utime(loop, call_req(c), path, AX_FS_UTIME_NOW + 1e6, 0, NULL),
      AX_EINVAL);
  assert_int_equal(
      ax_fs_utime(loop, call_req(c), path, 0, AX_FS_UTIME_OMIT * 2, NULL),
      AX_EINVAL);
  assert_int_equal(ax_fs_utime(loop, call_req(c), path, 1000, -1, NULL), 0);
  times_of(loop, path, &atim, &mtim);
  assert_int_equal(mtim.sec, -1);
}

static void test_fs_utime_now_omit(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_utime_now_omit(&fx, 0);
  check_utime_now_omit(&fx, 1);
  fixture_close(&fx);
}

/* The most buffers a request takes, 1024, are taken: one byte each, all
 * written. */
static void test_fs_max_bufs(void **state) {
  (void)state;
  struct fixture fx;
  ax_fs_t req;
  enum { MAX_BUFS = 1024 };
  static ax_buf_t bufs[MAX_BUFS];
  static char data[MAX_BUFS];
  static char back[MAX_BUFS + 1];
  char path[PATH_BYTES];
  fixture_open(&fx);
  ax_loop_t *loop = &fx.loop;
  for (size_t i = 0; i < MAX_BUFS; i++) {
    data[i] = (char)('a' + i % 26);
    bufs[i] = ax_buf_init(&data[i], 1);
  }
  path_join(path, fx.dir, "max-bufs");
  int flags = AX_FS_O_WRONLY | AX_FS_O_CREAT | AX_FS_O_TRUNC;
  assert_int_equal(ax_fs_open(loop, &req, path, flags, 0644, NULL), 0);
  ax_file_t fd = (ax_file_t)req.result;
  ax_fs_req_cleanup(&req);
  assert_int_equal(ax_fs_write(loop, &req, fd, bufs, MAX_BUFS, 0, NULL), 0);
  assert_int_equal(req.result, MAX_BUFS);
  ax_fs_req_cleanup(&req);
  assert_int_equal(ax_fs_close(loop, &req, fd, NULL), 0);
  ax_fs_req_cleanup(&req);
  assert_int_equal(read_file(loop, path, back, sizeof(back)), MAX_BUFS);
  assert_memory_equal(back, data, MAX_BUFS);
  fixture_close(&fx);
}

/* ---- A libuv program's habits, ported from libuv's own fs tests: open
 * flags, positions, empty and short transfers, vectors, the stat fields,
 * times before 1970, truncation, copies, sendfile's positions, large
 * directories ---- */

/* O_CREAT alone opens a file that exists as it is; O_TRUNC empties it;
 * O_CREAT | O_EXCL refuses a directory as it refuses a file. */
static void check_open_trunc(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  char got[16];
  ax_stat_t st;
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(path, fx->dir, async ? "trunc-a" : "trunc-s");
  write_file(loop, path, "0123456789", 10);
  int64_t fd = call_finish(loop, c, async,
                           ax_fs_open(loop, call_req(c), path,
                                      AX_FS_O_RDWR | AX_FS_O_CREAT, 0644,
                                      mode_cb(async)));
  assert_true(fd >= 0);
  assert_int_equal(ax_fs_close(loop, call_req(c), (ax_file_t)fd, NULL), 0);
  assert_int_equal(read_file(loop, path, got, sizeof(got)), 10);
  fd = call_finish(loop, c, async,
                   ax_fs_open(loop, call_req(c), path,
                              AX_FS_O_WRONLY | AX_FS_O_TRUNC, 0,
                              mode_cb(async)));
  assert_true(fd >= 0);
  assert_int_equal(ax_fs_fstat(loop, call_req(c), (ax_file_t)fd, NULL), 0);
  assert_int_equal(c->req.statbuf.size, 0);
  assert_int_equal(ax_fs_close(loop, call_req(c), (ax_file_t)fd, NULL), 0);
  assert_int_equal(stat_path(loop, path, &st), 0);
  assert_int_equal(st.size, 0);
  int excl = AX_FS_O_RDWR | AX_FS_O_CREAT | AX_FS_O_EXCL;
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_open(loop, call_req(c), fx->dir, excl,
                                          0644, mode_cb(async))),
                   AX_EEXIST);
}

static void test_fs_open_trunc(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_open_trunc(&fx, 0);
  check_open_trunc(&fx, 1);
  fixture_close(&fx);
}

/* O_APPEND: a write at the current position goes to the end, wherever a
 * read left the position. */
static void check_open_append(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  char got[16];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(path, fx->dir, async ? "append-a" : "append-s");
  write_file(loop, path, "abc", 3);
  int flags = AX_FS_O_RDWR | AX_FS_O_APPEND;
  int64_t fd = call_finish(
      loop, c, async,
      ax_fs_open(loop, call_req(c), path, flags, 0, mode_cb(async)));
  assert_true(fd >= 0);
  ax_file_t f = (ax_file_t)fd;
  ax_buf_t buf = ax_buf_init(got, 2);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_read(loop, call_req(c), f, &buf, 1, -1,
                                          mode_cb(async))),
                   2);
  buf = ax_buf_init("XY", 2);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_write(loop, call_req(c), f, &buf, 1, -1,
                                           mode_cb(async))),
                   2);
  assert_int_equal(ax_fs_close(loop, call_req(c), f, NULL), 0);
  assert_int_equal(read_file(loop, path, got, sizeof(got)), 5);
  assert_memory_equal(got, "abcXY", 5);
}

static void test_fs_open_append(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_open_append(&fx, 0);
  check_open_append(&fx, 1);
  fixture_close(&fx);
}

/* O_DIRECTORY opens a directory for reading (fstat says so); read on it
 * is refused. */
static void check_open_directory(struct fixture *fx, int async) {
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  int64_t fd = call_finish(loop, c, async,
                           ax_fs_open(loop, call_req(c), fx->dir,
                                      AX_FS_O_RDONLY | AX_FS_O_DIRECTORY, 0,
                                      mode_cb(async)));
  assert_true(fd >= 0);
  ax_file_t f = (ax_file_t)fd;
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_fstat(loop, call_req(c), f, mode_cb(async))),
      0);
  assert_int_equal(c->req.statbuf.mode & AX_S_IFMT, AX_S_IFDIR);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_close(loop, call_req(c), f, mode_cb(async))),
      0);
}

static void test_fs_open_directory(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_open_directory(&fx, 0);
  check_open_directory(&fx, 1);
  fixture_close(&fx);
}

/* Reads and writes of no bytes: 0, nothing moved, the file unchanged; a
 * buffer of no bytes among others is skipped. */
static void check_zero_bytes(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  char got[8];
  ax_stat_t st;
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(path, fx->dir, async ? "zero-a" : "zero-s");
  write_file(loop, path, "data", 4);
  assert_int_equal(ax_fs_open(loop, call_req(c), path, AX_FS_O_RDWR, 0, NULL),
                   0);
  ax_file_t f = (ax_file_t)c->req.result;
  ax_buf_t empty = ax_buf_init(got, 0);
  ax_buf_t none = ax_buf_init(NULL, 0);
  for (int64_t offset = -1; offset <= 2; offset += 3) {
    assert_int_equal(call_finish(loop, c, async,
                                 ax_fs_read(loop, call_req(c), f, &empty, 1,
                                            offset, mode_cb(async))),
                     0);
    assert_int_equal(call_finish(loop, c, async,
                                 ax_fs_read(loop, call_req(c), f, &none, 1,
                                            offset, mode_cb(async))),
                     0);
    assert_int_equal(call_finish(loop, c, async,
                                 ax_fs_write(loop, call_req(c), f, &none, 1,
                                             offset, mode_cb(async))),
                     0);
  }
  ax_buf_t two[2] = {ax_buf_init(NULL, 0), ax_buf_init(got, 2)};
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_read(loop, call_req(c), f, two, 2, 1, mode_cb(async))),
      2);
  assert_memory_equal(got, "at", 2);
  /* The position never moved: a read at it starts at the beginning. */
  ax_buf_t one = ax_buf_init(got, 1);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_read(loop, call_req(c), f, &one, 1, -1,
                                          mode_cb(async))),
                   1);
  assert_int_equal(got[0], 'd');
  assert_int_equal(ax_fs_close(loop, call_req(c), f, NULL), 0);
  assert_int_equal(stat_path(loop, path, &st), 0);
  assert_int_equal(st.size, 4);
}

static void test_fs_zero_bytes(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_zero_bytes(&fx, 0);
  check_zero_bytes(&fx, 1);
  fixture_close(&fx);
}

/* A vectored read longer than the file fills the buffers in order and
 * says how much; at the current position it moves the position past all
 * it read; vectored writes at the position likewise. */
static void check_vectored_short(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  char in[3][4];
  char got[16];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(path, fx->dir, async ? "vshort-a" : "vshort-s");
  write_file(loop, path, "0123456789", 10);
  assert_int_equal(ax_fs_open(loop, call_req(c), path, AX_FS_O_RDWR, 0, NULL),
                   0);
  ax_file_t f = (ax_file_t)c->req.result;
  ax_buf_t bufs[3];
  for (int i = 0; i < 3; i++)
    bufs[i] = ax_buf_init(in[i], 4);
  memset(in, '.', sizeof(in));
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_read(loop, call_req(c), f, bufs, 3, -1,
                                          mode_cb(async))),
                   10);
  assert_memory_equal(in, "0123456789..", 12);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_read(loop, call_req(c), f, bufs, 3, -1,
                                          mode_cb(async))),
                   0);
  memset(in, '.', sizeof(in));
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_read(loop, call_req(c), f, bufs, 3, 3, mode_cb(async))),
      7);
  assert_memory_equal(in, "3456789.....", 12);
  /* The position is at the end: vectored writes there append, in order. */
  ax_buf_t out[3] = {ax_buf_init("ab", 2), ax_buf_init("", 0),
                     ax_buf_init("cde", 3)};
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_write(loop, call_req(c), f, out, 3, -1,
                                           mode_cb(async))),
                   5);
  out[0] = ax_buf_init("f", 1);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_write(loop, call_req(c), f, out, 1, -1,
                                           mode_cb(async))),
                   1);
  assert_int_equal(ax_fs_close(loop, call_req(c), f, NULL), 0);
  assert_int_equal(read_file(loop, path, got, sizeof(got)), 16);
  assert_memory_equal(got, "0123456789abcdef", 16);
}

static void test_fs_vectored_short(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_vectored_short(&fx, 0);
  check_vectored_short(&fx, 1);
  fixture_close(&fx);
}

/* The fields two stats of one unchanged file must agree on. The access
 * time is left out: a system may update it on its own. */
static void assert_same_stat(const ax_stat_t *a, const ax_stat_t *b) {
  assert_int_equal(a->dev, b->dev);
  assert_int_equal(a->ino, b->ino);
  assert_int_equal(a->mode, b->mode);
  assert_int_equal(a->nlink, b->nlink);
  assert_int_equal(a->uid, b->uid);
  assert_int_equal(a->gid, b->gid);
  assert_int_equal(a->rdev, b->rdev);
  assert_int_equal(a->size, b->size);
  assert_int_equal(a->blksize, b->blksize);
  assert_int_equal(a->blocks, b->blocks);
  assert_int_equal(a->flags, b->flags);
  assert_int_equal(a->gen, b->gen);
  assert_int_equal(a->mtim.sec, b->mtim.sec);
  assert_int_equal(a->mtim.nsec, b->mtim.nsec);
  assert_int_equal(a->ctim.sec, b->ctim.sec);
  assert_int_equal(a->ctim.nsec, b->ctim.nsec);
  assert_int_equal(a->birthtim.sec, b->birthtim.sec);
  assert_int_equal(a->birthtim.nsec, b->birthtim.nsec);
}

/* stat, lstat and fstat of one file, synchronous and on the loop (where
 * io_uring answers some itself), describe it the same, field by field. */
static void test_fs_stat_fields_agree(void **state) {
  (void)state;
  struct fixture fx;
  char path[PATH_BYTES];
  ax_stat_t seen[6];
  fixture_open(&fx);
  ax_loop_t *loop = &fx.loop;
  struct call *c = &fx.c;
  path_join(path, fx.dir, "fields");
  write_file(loop, path, "12345678", 8);
  assert_int_equal(ax_fs_open(loop, call_req(c), path, AX_FS_O_RDONLY, 0, NULL),
                   0);
  ax_file_t f = (ax_file_t)c->req.result;
  for (int async = 0; async < 2; async++) {
    ax_stat_t *st = &seen[async * 3];
    assert_int_equal(
        call_finish(loop, c, async,
                    ax_fs_stat(loop, call_req(c), path, mode_cb(async))),
        0);
    st[0] = c->req.statbuf;
    assert_int_equal(
        call_finish(loop, c, async,
                    ax_fs_lstat(loop, call_req(c), path, mode_cb(async))),
        0);
    st[1] = c->req.statbuf;
    assert_int_equal(
        call_finish(loop, c, async,
                    ax_fs_fstat(loop, call_req(c), f, mode_cb(async))),
        0);
    st[2] = c->req.statbuf;
  }
  assert_int_equal(ax_fs_close(loop, call_req(c), f, NULL), 0);
  for (int i = 1; i < 6; i++)
    assert_same_stat(&seen[0], &seen[i]);
  assert_int_equal(seen[0].size, 8);
  assert_int_equal(seen[0].mode & AX_S_IFMT, AX_S_IFREG);
  assert_int_equal(seen[0].nlink, 1);
  assert_true(seen[0].blksize > 0);
  assert_true(seen[0].mtim.nsec >= 0 && seen[0].mtim.nsec < 1000000000);
  assert_true(seen[0].ctim.sec > 0);
  /* A directory: its own type, and at least one link. */
  assert_int_equal(stat_path(loop, fx.dir, &seen[0]), 0);
  assert_int_equal(seen[0].mode & AX_S_IFMT, AX_S_IFDIR);
  assert_true(seen[0].nlink >= 1);
  fixture_close(&fx);
}

/* Times before 1970 with a fraction round down to the second before, as
 * libuv's fs_utime_round has it: -14245440.25 is 0.75 s into
 * -14245441. */
static void check_utime_before_1970(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  ax_timespec_t atim;
  ax_timespec_t mtim;
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(path, fx->dir, async ? "old-a" : "old-s");
  write_file(loop, path, "t", 1);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_utime(loop, call_req(c), path, -14245440.25,
                              -14245440.25, mode_cb(async))),
      0);
  times_of(loop, path, &atim, &mtim);
  assert_int_equal(mtim.sec, -14245441);
  assert_true(mtim.nsec >= 749999000 && mtim.nsec <= 750001000);
  assert_int_equal(atim.sec, -14245441);
  assert_int_equal(ax_fs_open(loop, call_req(c), path, AX_FS_O_RDWR, 0, NULL),
                   0);
  ax_file_t f = (ax_file_t)c->req.result;
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_futime(loop, call_req(c), f, -0.5, -1.5,
                                            mode_cb(async))),
                   0);
  assert_int_equal(ax_fs_close(loop, call_req(c), f, NULL), 0);
  times_of(loop, path, &atim, &mtim);
  assert_int_equal(mtim.sec, -2);
  assert_true(mtim.nsec >= 499999000 && mtim.nsec <= 500001000);
  assert_int_equal(atim.sec, -1);
}

static void test_fs_utime_before_1970(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_utime_before_1970(&fx, 0);
  check_utime_before_1970(&fx, 1);
  fixture_close(&fx);
}

/* A file grown by ftruncate reads as zeros past its old end; shrunk, it
 * reads nothing there. */
static void check_truncate_contents(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  char got[64];
  static const char zeros[56];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(path, fx->dir, async ? "grow-a" : "grow-s");
  write_file(loop, path, "12345678", 8);
  assert_int_equal(ax_fs_open(loop, call_req(c), path, AX_FS_O_RDWR, 0, NULL),
                   0);
  ax_file_t f = (ax_file_t)c->req.result;
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_ftruncate(loop, call_req(c), f, 64, mode_cb(async))),
      0);
  memset(got, 'x', sizeof(got));
  ax_buf_t buf = ax_buf_init(got, sizeof(got));
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_read(loop, call_req(c), f, &buf, 1, 0, mode_cb(async))),
      64);
  assert_memory_equal(got, "12345678", 8);
  assert_memory_equal(got + 8, zeros, sizeof(zeros));
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_ftruncate(loop, call_req(c), f, 2, mode_cb(async))),
      0);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_read(loop, call_req(c), f, &buf, 1, 8, mode_cb(async))),
      0);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_read(loop, call_req(c), f, &buf, 1, 0, mode_cb(async))),
      2);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_ftruncate(loop, call_req(c), f, 0, mode_cb(async))),
      0);
  assert_int_equal(ax_fs_fstat(loop, call_req(c), f, NULL), 0);
  assert_int_equal(c->req.statbuf.size, 0);
  assert_int_equal(ax_fs_close(loop, call_req(c), f, NULL), 0);
}

static void test_fs_ftruncate_contents(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_truncate_contents(&fx, 0);
  check_truncate_contents(&fx, 1);
  fixture_close(&fx);
}

/* libuv's fs_copyfile: an empty file copies; a destination longer than
 * the source is cut to it; the copy has the source's size and mode; a
 * missing source leaves no destination behind. */
static void check_copyfile_sizes(struct fixture *fx, int async) {
  char src[PATH_BYTES];
  char dst[PATH_BYTES];
  char got[16];
  ax_stat_t from;
  ax_stat_t to;
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(src, fx->dir, "src");
  path_join(dst, fx->dir, "dst");
  write_file(loop, src, "", 0);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_copyfile(loop, call_req(c), src, dst, 0,
                                              mode_cb(async))),
                   0);
  assert_int_equal(stat_path(loop, dst, &to), 0);
  assert_int_equal(to.size, 0);
  write_file(loop, dst, "a longer destination", 20);
  write_file(loop, src, "short", 5);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_copyfile(loop, call_req(c), src, dst, 0,
                                              mode_cb(async))),
                   0);
  assert_int_equal(read_file(loop, dst, got, sizeof(got)), 5);
  assert_memory_equal(got, "short", 5);
  assert_int_equal(stat_path(loop, src, &from), 0);
  assert_int_equal(stat_path(loop, dst, &to), 0);
  assert_int_equal(to.size, from.size);
  assert_int_equal(to.mode, from.mode);
  assert_int_equal(ax_fs_unlink(loop, call_req(c), dst, NULL), 0);
  assert_int_equal(ax_fs_unlink(loop, call_req(c), src, NULL), 0);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_copyfile(loop, call_req(c), src, dst, 0,
                                              mode_cb(async))),
                   AX_ENOENT);
  assert_int_equal(stat_path(loop, dst, NULL), AX_ENOENT);
}

static void test_fs_copyfile_sizes(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_copyfile_sizes(&fx, 0);
  check_copyfile_sizes(&fx, 1);
  fixture_close(&fx);
}

/* Send len bytes from offset, again and again after short counts (a
 * socket, or the simulation backend, may take fewer), until they are all
 * sent or one request sends nothing; the total sent. */
static int64_t sendfile_all(ax_loop_t *loop, struct call *c, int async,
                            ax_file_t out, ax_file_t in, int64_t offset,
                            int64_t len) {
  int64_t total = 0;
  for (int rounds = 0; total < len && rounds < 100; rounds++) {
    int64_t n = call_finish(loop, c, async,
                            ax_fs_sendfile(loop, call_req(c), out, in,
                                           offset + total, len - total,
                                           mode_cb(async)));
    assert_true(n >= 0);
    if (n == 0)
      break;
    total += n;
  }
  return total;
}

/* sendfile reads the input at the offset given and leaves the input's
 * own position alone; a length past the input's end moves what there is;
 * an offset past it, or a length of 0, moves nothing. */
static void check_sendfile_positions(struct fixture *fx, int async) {
  char src[PATH_BYTES];
  char dst[PATH_BYTES];
  char got[16];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(src, fx->dir, async ? "sf-in-a" : "sf-in-s");
  path_join(dst, fx->dir, async ? "sf-out-a" : "sf-out-s");
  write_file(loop, src, "01234567", 8);
  assert_int_equal(ax_fs_open(loop, call_req(c), src, AX_FS_O_RDONLY, 0, NULL),
                   0);
  ax_file_t in = (ax_file_t)c->req.result;
  int flags = AX_FS_O_WRONLY | AX_FS_O_CREAT | AX_FS_O_TRUNC;
  assert_int_equal(ax_fs_open(loop, call_req(c), dst, flags, 0644, NULL), 0);
  ax_file_t out = (ax_file_t)c->req.result;
  assert_int_equal(sendfile_all(loop, c, async, out, in, 5, 100), 3);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_sendfile(loop, call_req(c), out, in, 9, 4,
                                              mode_cb(async))),
                   0);
  assert_int_equal(call_finish(loop, c, async,
                               ax_fs_sendfile(loop, call_req(c), out, in, 0, 0,
                                              mode_cb(async))),
                   0);
  assert_int_equal(sendfile_all(loop, c, async, out, in, 1, 2), 2);
  /* The input's position is still at its start. */
  ax_buf_t buf = ax_buf_init(got, 3);
  assert_int_equal(ax_fs_read(loop, call_req(c), in, &buf, 1, -1, NULL), 0);
  assert_int_equal(c->req.result, 3);
  assert_memory_equal(got, "012", 3);
  assert_int_equal(ax_fs_close(loop, call_req(c), in, NULL), 0);
  assert_int_equal(ax_fs_close(loop, call_req(c), out, NULL), 0);
  assert_int_equal(read_file(loop, dst, got, sizeof(got)), 5);
  assert_memory_equal(got, "56712", 5);
}

static void test_fs_sendfile_positions(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_sendfile_positions(&fx, 0);
  check_sendfile_positions(&fx, 1);
  fixture_close(&fx);
}

enum { LARGE_DIR_FILES = 600, LARGE_DIR_BATCH = 7 };

/* The index of a name "e<number>" of the large directory. */
static int large_dir_index(const char *name) {
  assert_int_equal(name[0], 'e');
  int i = atoi(name + 1);
  assert_true(i >= 0 && i < LARGE_DIR_FILES);
  return i;
}

/* A directory of 600 entries: scandir lists each once; readdir, seven at
 * a time, too, then reports its end again and again. */
static void check_large_dir(struct fixture *fx, int async) {
  static char seen[LARGE_DIR_FILES];
  char path[PATH_BYTES];
  char name[16];
  ax_dirent_t ent;
  ax_dirent_t ents[LARGE_DIR_BATCH];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  char dir[PATH_BYTES];
  path_join(dir, fx->dir, "large");
  if (!async) {
    assert_int_equal(ax_fs_mkdir(loop, call_req(c), dir, 0755, NULL), 0);
    for (int i = 0; i < LARGE_DIR_FILES; i++) {
      snprintf(name, sizeof(name), "e%d", i);
      path_join(path, dir, name);
      write_file(loop, path, "", 0);
    }
  }
  memset(seen, 0, sizeof(seen));
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_scandir(loop, call_req(c), dir, 0, mode_cb(async))),
      LARGE_DIR_FILES);
  while (ax_fs_scandir_next(&c->req, &ent) == 0) {
    int i = large_dir_index(ent.name);
    assert_int_equal(seen[i]++, 0);
  }
  assert_null(memchr(seen, 0, sizeof(seen)));
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_opendir(loop, call_req(c), dir, mode_cb(async))),
      0);
  ax_dir_t *stream = c->req.ptr;
  stream->dirents = ents;
  stream->nentries = LARGE_DIR_BATCH;
  int total = 0;
  for (int rounds = 0; rounds <= LARGE_DIR_FILES; rounds++) {
    int64_t n = call_finish(
        loop, c, async,
        ax_fs_readdir(loop, call_req(c), stream, mode_cb(async)));
    assert_true(n >= 0 && n <= LARGE_DIR_BATCH);
    if (n == 0)
      break;
    for (int64_t k = 0; k < n; k++)
      assert_int_equal(seen[large_dir_index(ents[k].name)]++, 1);
    total += (int)n;
  }
  assert_int_equal(total, LARGE_DIR_FILES);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_readdir(loop, call_req(c), stream, mode_cb(async))),
      0);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_closedir(loop, call_req(c), stream, mode_cb(async))),
      0);
}

static void test_fs_large_dir(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_large_dir(&fx, 0);
  check_large_dir(&fx, 1);
  fixture_close(&fx);
}

/* A stream closed without a read, and one of an empty directory, whose
 * first read is its end. */
static void check_opendir_empty(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  ax_dirent_t ents[2];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(path, fx->dir, async ? "empty-a" : "empty-s");
  assert_int_equal(ax_fs_mkdir(loop, call_req(c), path, 0755, NULL), 0);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_opendir(loop, call_req(c), path, mode_cb(async))),
      0);
  ax_dir_t *dir = c->req.ptr;
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_closedir(loop, call_req(c), dir, mode_cb(async))),
      0);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_opendir(loop, call_req(c), path, mode_cb(async))),
      0);
  dir = c->req.ptr;
  dir->dirents = ents;
  dir->nentries = 2;
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_readdir(loop, call_req(c), dir, mode_cb(async))),
      0);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_closedir(loop, call_req(c), dir, mode_cb(async))),
      0);
}

static void test_fs_opendir_empty(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_opendir_empty(&fx, 0);
  check_opendir_empty(&fx, 1);
  fixture_close(&fx);
}

/* libuv's fs_unlink_readonly: a read-only file can be removed (on
 * Windows too, where the attribute would refuse it). */
static void check_unlink_readonly(struct fixture *fx, int async) {
  char path[PATH_BYTES];
  struct call *c = &fx->c;
  ax_loop_t *loop = &fx->loop;
  path_join(path, fx->dir, async ? "ro-a" : "ro-s");
  write_file(loop, path, "r", 1);
  assert_int_equal(ax_fs_chmod(loop, call_req(c), path, 0444, NULL), 0);
  assert_int_equal(
      call_finish(loop, c, async,
                  ax_fs_unlink(loop, call_req(c), path, mode_cb(async))),
      0);
  assert_int_equal(stat_path(loop, path, NULL), AX_ENOENT);
}

static void test_fs_unlink_readonly(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  check_unlink_readonly(&fx, 0);
  check_unlink_readonly(&fx, 1);
  fixture_close(&fx);
}

/* Many requests of every shape a pool-bound program queues at once, and
 * all but the first few cancelled: each completes once, with its result
 * or AX_ECANCELED, and nothing they allocated is left (the fixture's
 * close counts it). */
enum { CANCEL_MIX = 64 };

static void test_fs_cancel_mixed(void **state) {
  (void)state;
  struct fixture fx;
  static struct call calls[CANCEL_MIX];
  char path[PATH_BYTES];
  char buf_bytes[4];
  fixture_open(&fx);
  ax_loop_t *loop = &fx.loop;
  memset(calls, 0, sizeof(calls));
  path_join(path, fx.dir, "mix");
  write_file(loop, path, "mix", 3);
  assert_int_equal(ax_fs_open(loop, call_req(&fx.c), path, 0, 0, NULL), 0);
  ax_file_t fd = (ax_file_t)fx.c.req.result;
  ax_buf_t buf = ax_buf_init(buf_bytes, sizeof(buf_bytes));
  for (int i = 0; i < CANCEL_MIX; i++) {
    ax_fs_t *req = call_req(&calls[i]);
    int rc = 0;
    switch (i % 4) {
    case 0:
      rc = ax_fs_scandir(loop, req, fx.dir, 0, call_cb);
      break;
    case 1:
      rc = ax_fs_realpath(loop, req, path, call_cb);
      break;
    case 2:
      rc = ax_fs_read(loop, req, fd, &buf, 1, 0, call_cb);
      break;
    default:
      rc = ax_fs_statfs(loop, req, fx.dir, call_cb);
      break;
    }
    assert_int_equal(rc, 0);
  }
  int cancelled = 0;
  for (int i = CANCEL_MIX - 1; i >= 0; i--) {
    int rc = ax_cancel(&calls[i].req.req);
    assert_true(rc == 0 || rc == AX_EBUSY);
    cancelled += rc == 0;
  }
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), 0);
  int saw_cancelled = 0;
  for (int i = 0; i < CANCEL_MIX; i++) {
    assert_int_equal(calls[i].calls, 1);
    if (calls[i].req.result == AX_ECANCELED) {
      saw_cancelled++;
      assert_null(calls[i].req.ptr);
    }
    ax_fs_req_cleanup(&calls[i].req);
  }
  assert_int_equal(saw_cancelled, cancelled);
  assert_int_equal(ax_fs_close(loop, call_req(&fx.c), fd, NULL), 0);
  fixture_close(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fs_invalid_paths_and_files),
      cmocka_unit_test(test_fs_invalid_flags),
      cmocka_unit_test(test_fs_invalid_bufs),
      cmocka_unit_test(test_fs_req_type_and_cleanup),
      cmocka_unit_test(test_fs_open_close),
      cmocka_unit_test(test_fs_read_write),
      cmocka_unit_test(test_fs_vectored),
      cmocka_unit_test(test_fs_stat),
      cmocka_unit_test(test_fs_statfs),
      cmocka_unit_test(test_fs_ftruncate_fsync),
      cmocka_unit_test(test_fs_utime),
      cmocka_unit_test(test_fs_access_chmod),
      cmocka_unit_test(test_fs_dirs),
      cmocka_unit_test(test_fs_mkdtemp_mkstemp),
      cmocka_unit_test(test_fs_rename),
      cmocka_unit_test(test_fs_scandir),
      cmocka_unit_test(test_fs_readdir),
      cmocka_unit_test(test_fs_copyfile),
      cmocka_unit_test(test_fs_copyfile_clone_and_mode),
      cmocka_unit_test(test_fs_link),
      cmocka_unit_test(test_fs_realpath),
      cmocka_unit_test(test_fs_sendfile),
      cmocka_unit_test(test_fs_async_copies_paths),
      cmocka_unit_test(test_fs_reuse_in_callback),
      cmocka_unit_test(test_fs_cancel),
      cmocka_unit_test(test_fs_four_loops),
      cmocka_unit_test(test_fs_not_starved_by_user_jobs),
      cmocka_unit_test(test_fs_many_requests),
      cmocka_unit_test(test_fs_cleanup_forgets_ptr),
      cmocka_unit_test(test_fs_scandir_failure_next),
      cmocka_unit_test(test_fs_utime_now_omit),
      cmocka_unit_test(test_fs_max_bufs),
      cmocka_unit_test(test_fs_open_trunc),
      cmocka_unit_test(test_fs_open_append),
      cmocka_unit_test(test_fs_open_directory),
      cmocka_unit_test(test_fs_zero_bytes),
      cmocka_unit_test(test_fs_vectored_short),
      cmocka_unit_test(test_fs_stat_fields_agree),
      cmocka_unit_test(test_fs_utime_before_1970),
      cmocka_unit_test(test_fs_ftruncate_contents),
      cmocka_unit_test(test_fs_copyfile_sizes),
      cmocka_unit_test(test_fs_sendfile_positions),
      cmocka_unit_test(test_fs_large_dir),
      cmocka_unit_test(test_fs_opendir_empty),
      cmocka_unit_test(test_fs_unlink_readonly),
      cmocka_unit_test(test_fs_cancel_mixed),
  };
  return cmocka_run_group_tests(tests, pool_locks_setup, NULL);
}
