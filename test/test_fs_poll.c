/*
 * test_fs_poll.c: stat-polling handles on real files: a file that grows,
 * vanishes (reported once) and comes back; a path missing from the start;
 * a restart on another path while a stat is in flight; stop and close
 * inside the callback and while a stat runs; getpath; and the errors of
 * every call.
 *
 * Each test works in its own directory, made with ax_fs_mkdtemp() in the
 * working directory, and uses only axle's API and standard C, so that it
 * runs under Wine too. A change is made only after the baseline stat is
 * known to be taken (a probe counts the stats through the handle's own
 * answers), and every wait is bounded by an unreferenced guard timer.
 */
#include <stdio.h>
#include <string.h>

#include "test.h"

enum { PATH_BYTES = 512, INTERVAL_MS = 5 };

struct probe {
  ax_fs_poll_t handle; /* The handle. */
  int calls;           /* Callback calls. */
  int status;          /* The last status. */
  ax_stat_t prev;      /* The last prev. */
  ax_stat_t curr;      /* The last curr. */
  bool stop_in_cb;     /* Stop the handle in its callback. */
  bool close_in_cb;    /* Close the handle in its callback. */
};

static void probe_cb(ax_fs_poll_t *handle, int status, const ax_stat_t *prev,
                     const ax_stat_t *curr) {
  struct probe *p = ax_container_of(handle, struct probe, handle);
  assert_non_null(prev);
  assert_non_null(curr);
  p->calls++;
  p->status = status;
  p->prev = *prev;
  p->curr = *curr;
  if (p->stop_in_cb)
    assert_int_equal(ax_fs_poll_stop(handle), 0);
  if (p->close_in_cb)
    assert_int_equal(ax_close(&handle->handle, NULL), 0);
}

struct fixture {
  ax_loop_t loop;
  struct test_guard guard;
  char dir[PATH_BYTES];
  char file[PATH_BYTES]; /* dir/a */
};

static void fixture_open(struct fixture *fx) {
  ax_fs_t req;
  test_loop_open(&fx->loop);
  test_guard_start(&fx->loop, &fx->guard);
  assert_int_equal(ax_fs_mkdtemp(&fx->loop, &req, "ax-fspoll-XXXXXX", NULL), 0);
  snprintf(fx->dir, sizeof(fx->dir), "%s", req.path);
  ax_fs_req_cleanup(&req);
  int len = snprintf(fx->file, sizeof(fx->file), "%s/a", fx->dir);
  assert_true(len > 0 && len < PATH_BYTES);
}

static void fixture_close(struct fixture *fx) {
  ax_fs_t req;
  /* Let the tests' closes finish first: a stat still in flight may hold the
   * file open, and Windows keeps an open file's name (and so the directory)
   * until the last handle on it closes. The guard is unreferenced and bounds
   * the wait. */
  assert_int_equal(ax_run(&fx->loop, AX_RUN_DEFAULT), 0);
  assert_false(fx->guard.fired);
  ax_fs_unlink(&fx->loop, &req, fx->file, NULL);
  ax_fs_req_cleanup(&req);
  assert_int_equal(ax_fs_rmdir(&fx->loop, &req, fx->dir, NULL), 0);
  ax_fs_req_cleanup(&req);
  test_guard_close(&fx->guard);
  test_loop_close(&fx->loop);
}

/* Append text to the fixture's file, creating it. */
static void file_append(struct fixture *fx, const char *text) {
  ax_fs_t req;
  assert_int_equal(ax_fs_open(&fx->loop, &req, fx->file,
                              AX_FS_O_WRONLY | AX_FS_O_CREAT | AX_FS_O_APPEND,
                              0644, NULL),
                   0);
  ax_file_t file = (ax_file_t)req.result;
  ax_fs_req_cleanup(&req);
  ax_buf_t buf = ax_buf_init((char *)text, strlen(text));
  assert_int_equal(ax_fs_write(&fx->loop, &req, file, &buf, 1, -1, NULL), 0);
  ax_fs_req_cleanup(&req);
  assert_int_equal(ax_fs_close(&fx->loop, &req, file, NULL), 0);
  ax_fs_req_cleanup(&req);
}

static void file_remove(struct fixture *fx) {
  ax_fs_t req;
  assert_int_equal(ax_fs_unlink(&fx->loop, &req, fx->file, NULL), 0);
  ax_fs_req_cleanup(&req);
}

/* Run until p has been called calls times, or the guard fires. */
static void wait_calls(struct fixture *fx, struct probe *p, int calls) {
  while (p->calls < calls && !fx->guard.fired)
    ax_run(&fx->loop, AX_RUN_ONCE);
  assert_false(fx->guard.fired);
}

/* Run until the handle has taken n more stats: the baseline, or a quiet
 * stretch in which a change would have been seen. The stats are counted
 * through the handle's own busy flag, which each answer clears. */
static void wait_stats(struct fixture *fx, struct probe *p, int n) {
  for (int seen = 0; seen < n && !fx->guard.fired;) {
    bool was_busy = p->handle.priv.busy;
    ax_run(&fx->loop, AX_RUN_ONCE);
    if (was_busy && !p->handle.priv.busy)
      seen++;
  }
  assert_false(fx->guard.fired);
}

static void probe_start(struct fixture *fx, struct probe *p, const char *path) {
  memset(p, 0, sizeof(*p));
  assert_int_equal(ax_fs_poll_init(&fx->loop, &p->handle), 0);
  assert_int_equal(ax_fs_poll_start(&p->handle, path, INTERVAL_MS, probe_cb),
                   0);
  assert_true(ax_is_active(&p->handle.handle));
}

/* Set path's access and modification times, in seconds. */
static void file_utime(struct fixture *fx, const char *path, double atime,
                       double mtime) {
  ax_fs_t req;
  assert_int_equal(ax_fs_utime(&fx->loop, &req, path, atime, mtime, NULL), 0);
  ax_fs_req_cleanup(&req);
}

/* out, PATH_BYTES long, is the path of name in the fixture's directory. */
static void fixture_path(struct fixture *fx, char *out, const char *name) {
  int len = snprintf(out, PATH_BYTES, "%s/%s", fx->dir, name);
  assert_true(len > 0 && len < PATH_BYTES);
}

/* A file grows, vanishes and comes back. */
static void test_fs_poll_change(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  fixture_open(&fx);
  file_append(&fx, "one");
  probe_start(&fx, &p, fx.file);
  wait_stats(&fx, &p, 1);
  assert_int_equal(p.calls, 0); /* The baseline is not a change. */
  file_append(&fx, "two");
  wait_calls(&fx, &p, 1);
  assert_int_equal(p.status, 0);
  assert_int_equal(p.prev.size, 3);
  assert_int_equal(p.curr.size, 6);
  /* Gone: reported once, with curr zeroed, however many stats follow. */
  file_remove(&fx);
  wait_calls(&fx, &p, 2);
  assert_int_equal(p.status, AX_ENOENT);
  assert_int_equal(p.prev.size, 6);
  assert_int_equal(p.curr.size, 0);
  assert_int_equal(p.curr.mode, 0);
  wait_stats(&fx, &p, 3);
  assert_int_equal(p.calls, 2);
  /* Back: reported with prev zeroed. */
  file_append(&fx, "three");
  wait_calls(&fx, &p, 3);
  assert_int_equal(p.status, 0);
  assert_int_equal(p.prev.mode, 0);
  assert_int_equal(p.curr.size, 5);
  ax_close(&p.handle.handle, NULL);
  fixture_close(&fx);
}

/* A path missing from the start is reported once. */
static void test_fs_poll_missing(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  fixture_open(&fx);
  probe_start(&fx, &p, fx.file);
  wait_calls(&fx, &p, 1);
  assert_int_equal(p.status, AX_ENOENT);
  wait_stats(&fx, &p, 3);
  assert_int_equal(p.calls, 1);
  ax_close(&p.handle.handle, NULL);
  fixture_close(&fx);
}

/* Started again on another path while the first stat is in flight: the
 * first answer is dropped, and the new path is polled. */
static void test_fs_poll_restart(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  char missing[PATH_BYTES];
  fixture_open(&fx);
  fixture_path(&fx, missing, "missing");
  file_append(&fx, "one");
  probe_start(&fx, &p, missing);
  assert_true(p.handle.priv.busy);
  assert_int_equal(ax_fs_poll_start(&p.handle, fx.file, INTERVAL_MS, probe_cb),
                   0);
  /* The missing path's AX_ENOENT never comes: the file is the baseline. */
  wait_stats(&fx, &p, 3);
  assert_int_equal(p.calls, 0);
  file_append(&fx, "two");
  wait_calls(&fx, &p, 1);
  assert_int_equal(p.status, 0);
  assert_int_equal(p.curr.size, 6);
  ax_close(&p.handle.handle, NULL);
  fixture_close(&fx);
}

/* Stopped in its callback, it is called no more; closed in it, it closes;
 * closed while a stat runs, the close waits for it. */
static void test_fs_poll_stop_close(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p, q, r;
  int closed = 0;
  fixture_open(&fx);
  probe_start(&fx, &p, fx.file);
  probe_start(&fx, &q, fx.file);
  p.stop_in_cb = true;
  q.close_in_cb = true;
  wait_calls(&fx, &p, 1);
  wait_calls(&fx, &q, 1);
  assert_false(ax_is_active(&p.handle.handle));
  assert_true(ax_is_closing(&q.handle.handle));
  file_append(&fx, "one");
  ax_run(&fx.loop, AX_RUN_NOWAIT);
  assert_int_equal(p.calls, 1);
  assert_int_equal(ax_fs_poll_stop(&p.handle), 0);
  ax_close(&p.handle.handle, NULL);
  probe_start(&fx, &r, fx.file);
  assert_true(r.handle.priv.busy);
  r.handle.handle.data = &closed;
  ax_close(&r.handle.handle, test_count_close_cb);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(closed, 1);
  assert_int_equal(r.calls, 0);
  fixture_close(&fx);
}

static void test_fs_poll_getpath(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  char buf[PATH_BYTES];
  size_t size = sizeof(buf);
  fixture_open(&fx);
  memset(&p, 0, sizeof(p));
  assert_int_equal(ax_fs_poll_init(&fx.loop, &p.handle), 0);
  assert_int_equal(ax_fs_poll_getpath(&p.handle, buf, &size), AX_EINVAL);
  assert_int_equal(ax_fs_poll_start(&p.handle, fx.file, 1000, probe_cb), 0);
  size_t len = strlen(fx.file);
  size = 1;
  assert_int_equal(ax_fs_poll_getpath(&p.handle, buf, &size), AX_ENOBUFS);
  assert_int_equal(size, len + 1);
  assert_int_equal(ax_fs_poll_getpath(&p.handle, buf, &size), 0);
  assert_int_equal(size, len);
  assert_string_equal(buf, fx.file);
  assert_int_equal(ax_fs_poll_getpath(NULL, buf, &size), AX_EINVAL);
  ax_close(&p.handle.handle, NULL);
  fixture_close(&fx);
}

static void test_fs_poll_errors(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  fixture_open(&fx);
  memset(&p, 0, sizeof(p));
  assert_int_equal(ax_fs_poll_init(NULL, &p.handle), AX_EINVAL);
  assert_int_equal(ax_fs_poll_stop(&p.handle), 0);
  assert_int_equal(ax_fs_poll_init(&fx.loop, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_poll_init(&fx.loop, &p.handle), 0);
  assert_int_equal(ax_fs_poll_start(NULL, fx.file, 1, probe_cb), AX_EINVAL);
  assert_int_equal(ax_fs_poll_start(&p.handle, NULL, 1, probe_cb), AX_EINVAL);
  assert_int_equal(ax_fs_poll_start(&p.handle, "", 1, probe_cb), AX_EINVAL);
  assert_int_equal(ax_fs_poll_start(&p.handle, fx.file, 0, probe_cb),
                   AX_EINVAL);
  assert_int_equal(ax_fs_poll_start(&p.handle, fx.file, 1, NULL), AX_EINVAL);
  assert_false(ax_is_active(&p.handle.handle));
  assert_int_equal(ax_fs_poll_stop(NULL), AX_EINVAL);
  ax_close(&p.handle.handle, NULL);
  assert_int_equal(ax_fs_poll_start(&p.handle, fx.file, 1, probe_cb), AX_EBADF);
  assert_string_equal(ax_handle_type_name(AX_FS_POLL), "fs_poll");
  assert_int_equal(ax_handle_size(AX_FS_POLL), sizeof(ax_fs_poll_t));
  fixture_close(&fx);
}

/* ---- libuv's fs_poll tests, ported ---- */

/* Only the modification time changes (same size, same inode): reported,
 * with both times. */
static void test_fs_poll_mtime_only(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  fixture_open(&fx);
  file_append(&fx, "one");
  file_utime(&fx, fx.file, 1000, 1000);
  probe_start(&fx, &p, fx.file);
  wait_stats(&fx, &p, 1);
  assert_int_equal(p.calls, 0);
  file_utime(&fx, fx.file, 1000, 2000);
  wait_calls(&fx, &p, 1);
  assert_int_equal(p.status, 0);
  assert_int_equal(p.prev.mtim.sec, 1000);
  assert_int_equal(p.curr.mtim.sec, 2000);
  assert_int_equal(p.prev.size, p.curr.size);
  assert_int_equal(p.prev.ino, p.curr.ino);
  ax_close(&p.handle.handle, NULL);
  fixture_close(&fx);
}

/* The file replaced by another of the same size and times (a rename over
 * it): the inode tells, and the change is reported. */
static void test_fs_poll_replaced(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  char other[PATH_BYTES];
  ax_fs_t req;
  fixture_open(&fx);
  fixture_path(&fx, other, "b");
  file_append(&fx, "one");
  file_utime(&fx, fx.file, 1000, 1000);
  assert_int_equal(ax_fs_copyfile(&fx.loop, &req, fx.file, other, 0, NULL), 0);
  ax_fs_req_cleanup(&req);
  file_utime(&fx, other, 1000, 1000);
  probe_start(&fx, &p, fx.file);
  wait_stats(&fx, &p, 1);
  assert_int_equal(ax_fs_rename(&fx.loop, &req, other, fx.file, NULL), 0);
  ax_fs_req_cleanup(&req);
  wait_calls(&fx, &p, 1);
  assert_int_equal(p.status, 0);
  assert_true(p.prev.ino != p.curr.ino);
  assert_int_equal(p.prev.size, p.curr.size);
  assert_int_equal(p.prev.mtim.sec, p.curr.mtim.sec);
  ax_close(&p.handle.handle, NULL);
  fixture_close(&fx);
}

/* A directory polled: a name made in it changes it. */
static void test_fs_poll_directory(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  fixture_open(&fx);
  probe_start(&fx, &p, fx.dir);
  wait_stats(&fx, &p, 1);
  assert_int_equal(p.calls, 0);
  file_append(&fx, "one");
  wait_calls(&fx, &p, 1);
  assert_int_equal(p.status, 0);
  assert_int_equal(p.curr.mode & AX_S_IFMT, AX_S_IFDIR);
  ax_close(&p.handle.handle, NULL);
  fixture_close(&fx);
}

/* libuv's fs_poll_ref: unreferenced, a polling handle lets the run end
 * (once its stat in flight is answered); it is still active, and after a
 * stop its getpath is AX_EINVAL. */
static void test_fs_poll_unref(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  char buf[PATH_BYTES];
  size_t size = sizeof(buf);
  fixture_open(&fx);
  file_append(&fx, "one");
  probe_start(&fx, &p, fx.file);
  ax_unref(&p.handle.handle);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  assert_false(fx.guard.fired);
  assert_true(ax_is_active(&p.handle.handle));
  assert_int_equal(p.calls, 0);
  assert_int_equal(ax_fs_poll_stop(&p.handle), 0);
  assert_false(ax_is_active(&p.handle.handle));
  assert_int_equal(ax_fs_poll_getpath(&p.handle, buf, &size), AX_EINVAL);
  ax_close(&p.handle.handle, NULL);
  fixture_close(&fx);
}

/* Started again from its callback, on the same path: the next answer is
 * a new baseline, not a change, and the one after that is. */
static void restart_cb(ax_fs_poll_t *handle, int status, const ax_stat_t *prev,
                       const ax_stat_t *curr) {
  probe_cb(handle, status, prev, curr);
  char path[PATH_BYTES];
  size_t size = sizeof(path);
  assert_int_equal(ax_fs_poll_getpath(handle, path, &size), 0);
  assert_int_equal(ax_fs_poll_start(handle, path, INTERVAL_MS, restart_cb), 0);
}

static void test_fs_poll_restart_in_cb(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  fixture_open(&fx);
  file_append(&fx, "one");
  memset(&p, 0, sizeof(p));
  assert_int_equal(ax_fs_poll_init(&fx.loop, &p.handle), 0);
  assert_int_equal(
      ax_fs_poll_start(&p.handle, fx.file, INTERVAL_MS, restart_cb), 0);
  wait_stats(&fx, &p, 1);
  file_append(&fx, "two");
  wait_calls(&fx, &p, 1);
  assert_int_equal(p.curr.size, 6);
  wait_stats(&fx, &p, 2);
  assert_int_equal(p.calls, 1);
  file_append(&fx, "three");
  wait_calls(&fx, &p, 2);
  assert_int_equal(p.prev.size, 6);
  assert_int_equal(p.curr.size, 11);
  ax_close(&p.handle.handle, NULL);
  fixture_close(&fx);
}

/* libuv's fs_poll_close_request_multi_start_stop: started and stopped
 * again and again while its first stat is in flight, then closed: the
 * close waits for that stat, runs once, and nothing is reported or left
 * behind. */
static void test_fs_poll_start_stop_many(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  int closed = 0;
  fixture_open(&fx);
  file_append(&fx, "one");
  probe_start(&fx, &p, fx.file);
  for (int i = 0; i < 10; i++) {
    assert_int_equal(ax_fs_poll_stop(&p.handle), 0);
    assert_int_equal(
        ax_fs_poll_start(&p.handle, fx.file, INTERVAL_MS, probe_cb), 0);
  }
  assert_int_equal(ax_fs_poll_stop(&p.handle), 0);
  p.handle.handle.data = &closed;
  assert_int_equal(ax_close(&p.handle.handle, test_count_close_cb), 0);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(closed, 1);
  assert_int_equal(p.calls, 0);
  fixture_close(&fx);
}

/* The pool makes its locks once per process and keeps them: have it make
 * them before any test counts what axle allocates. */
static int pool_locks_setup(void **state) {
  (void)state;
  return ax_threadpool_get_size() > 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fs_poll_change),
      cmocka_unit_test(test_fs_poll_missing),
      cmocka_unit_test(test_fs_poll_restart),
      cmocka_unit_test(test_fs_poll_stop_close),
      cmocka_unit_test(test_fs_poll_getpath),
      cmocka_unit_test(test_fs_poll_errors),
      cmocka_unit_test(test_fs_poll_mtime_only),
      cmocka_unit_test(test_fs_poll_replaced),
      cmocka_unit_test(test_fs_poll_directory),
      cmocka_unit_test(test_fs_poll_unref),
      cmocka_unit_test(test_fs_poll_restart_in_cb),
      cmocka_unit_test(test_fs_poll_start_stop_many),
  };
  return cmocka_run_group_tests(tests, pool_locks_setup, NULL);
}
