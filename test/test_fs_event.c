/*
 * test_fs_event.c: file change handles on real files and directories:
 * a file created, written, renamed and deleted in a watched directory; a
 * watched file itself; two handles that share one watch, one stopping
 * inside the other's callback; a handle closed inside its callback;
 * getpath; and the errors of every call.
 *
 * Each test works in its own directory, made with ax_fs_mkdtemp() in the
 * working directory (meson's build tree), so that the runs on several
 * backends at once never meet. Only axle's API and standard C are used, so
 * the file runs under Wine too. Systems may merge or split the events of
 * one change, so a test waits for the event it needs among those that come,
 * never for a count; an unreferenced guard timer bounds each wait.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs-event.h"
#include "test.h"

enum { PATH_BYTES = 512, SEEN_MAX = 64, NAME_BYTES = 64 };

/* A handle and the events it saw. */
struct probe {
  ax_fs_event_t handle;             /* The handle. */
  int calls;                        /* Callback calls. */
  int seen;                         /* Events kept in names and events (at most
                                       SEEN_MAX). */
  char names[SEEN_MAX][NAME_BYTES]; /* Each event's file name ("" if
                                       none was given). */
  int events[SEEN_MAX];             /* Each event's AX_FS_EVENT_* bits. */
  int status;                       /* The last status. */
  bool stop_in_cb;                  /* Stop the handle in its callback. */
  bool close_in_cb;                 /* Close the handle in its callback. */
  ax_fs_event_t *stop_other;        /* Stop this handle in the callback. */
};

static void probe_cb(ax_fs_event_t *handle, const char *filename, int events,
                     int status) {
  struct probe *p = ax_container_of(handle, struct probe, handle);
  p->calls++;
  p->status = status;
  if (p->seen < SEEN_MAX) {
    snprintf(p->names[p->seen], NAME_BYTES, "%s",
             filename != NULL ? filename : "");
    p->events[p->seen] = events;
    p->seen++;
  }
  if (p->stop_in_cb)
    assert_int_equal(ax_fs_event_stop(handle), 0);
  if (p->close_in_cb)
    assert_int_equal(ax_close(&handle->handle, NULL), 0);
  if (p->stop_other != NULL) {
    assert_int_equal(ax_fs_event_stop(p->stop_other), 0);
    p->stop_other = NULL;
  }
}

/* Whether p saw an event with bits in mask for name. */
static bool probe_saw(const struct probe *p, const char *name, int mask) {
  for (int i = 0; i < p->seen; i++) {
    if (strcmp(p->names[i], name) == 0 && (p->events[i] & mask) != 0)
      return true;
  }
  return false;
}

static void probe_reset(struct probe *p) {
  p->calls = 0;
  p->seen = 0;
}

/* A test's loop, its directory and its guard. */
struct fixture {
  ax_loop_t loop;
  struct test_guard guard;
  char dir[PATH_BYTES];
};

static void fixture_open(struct fixture *fx) {
  ax_fs_t req;
  test_loop_open(&fx->loop);
  test_guard_start(&fx->loop, &fx->guard);
  assert_int_equal(ax_fs_mkdtemp(&fx->loop, &req, "ax-fsev-XXXXXX", NULL), 0);
  snprintf(fx->dir, sizeof(fx->dir), "%s", req.path);
  ax_fs_req_cleanup(&req);
}

/* dir/name into out. */
static void path_join(char *out, const char *dir, const char *name) {
  int len = snprintf(out, PATH_BYTES, "%s/%s", dir, name);
  assert_true(len > 0 && len < PATH_BYTES);
}

/* Create dir/name with the given contents (or append to it). */
static void file_write(struct fixture *fx, const char *name, const char *text) {
  char path[PATH_BYTES];
  ax_fs_t req;
  path_join(path, fx->dir, name);
  assert_int_equal(ax_fs_open(&fx->loop, &req, path,
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

static void file_rename(struct fixture *fx, const char *from, const char *to) {
  char a[PATH_BYTES], b[PATH_BYTES];
  ax_fs_t req;
  path_join(a, fx->dir, from);
  path_join(b, fx->dir, to);
  assert_int_equal(ax_fs_rename(&fx->loop, &req, a, b, NULL), 0);
  ax_fs_req_cleanup(&req);
}

static void file_unlink(struct fixture *fx, const char *name) {
  char path[PATH_BYTES];
  ax_fs_t req;
  path_join(path, fx->dir, name);
  assert_int_equal(ax_fs_unlink(&fx->loop, &req, path, NULL), 0);
  ax_fs_req_cleanup(&req);
}

/* The name a change of dir/name is reported under: its own, or where the
 * system cannot say (kqueue), the watched directory's. */
static const char *child(const struct fixture *fx, const char *name) {
  return ax__fs_event_names_children ? name : fx->dir;
}

/* Run the loop until p saw name with mask, or the guard fires. */
static void wait_for(struct fixture *fx, struct probe *p, const char *name,
                     int mask) {
  while (!probe_saw(p, name, mask) && !fx->guard.fired)
    ax_run(&fx->loop, AX_RUN_ONCE);
  assert_false(fx->guard.fired);
}

/* Remove the directory (the names the tests use may be left in it). */
static void fixture_close(struct fixture *fx) {
  static const char *const names[] = {"a", "b", "c", "sub"};
  /* Let the tests' closes finish first: until then Windows may hold the
   * watched directory open. The unreferenced guard bounds the wait. */
  assert_int_equal(ax_run(&fx->loop, AX_RUN_DEFAULT), 0);
  assert_false(fx->guard.fired);
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    char path[PATH_BYTES];
    ax_fs_t req;
    path_join(path, fx->dir, names[i]);
    ax_fs_unlink(&fx->loop, &req, path, NULL);
    ax_fs_req_cleanup(&req);
    ax_fs_rmdir(&fx->loop, &req, path, NULL);
    ax_fs_req_cleanup(&req);
  }
  ax_fs_t req;
  assert_int_equal(ax_fs_rmdir(&fx->loop, &req, fx->dir, NULL), 0);
  ax_fs_req_cleanup(&req);
  test_guard_close(&fx->guard);
  test_loop_close(&fx->loop);
}

static void probe_start(struct fixture *fx, struct probe *p, const char *path) {
  memset(p, 0, sizeof(*p));
  assert_int_equal(ax_fs_event_init(&fx->loop, &p->handle), 0);
  assert_int_equal(ax_fs_event_start(&p->handle, path, 0, probe_cb), 0);
  assert_true(ax_is_active(&p->handle.handle));
}

/* Write the file name ("one") in the fixture's directory; path is its
 * full path, PATH_BYTES long. */
static void file_made(struct fixture *fx, char *path, const char *name) {
  file_write(fx, name, "one");
  path_join(path, fx->dir, name);
}

/* Make the file name, as file_made(), and start p on it. */
static void probe_file(struct fixture *fx, struct probe *p, char *path,
                       const char *name) {
  file_made(fx, path, name);
  probe_start(fx, p, path);
}

/* Close p, its close callback counted in *closed. */
static void probe_close_counted(struct probe *p, int *closed) {
  p->handle.handle.data = closed;
  assert_int_equal(ax_close(&p->handle.handle, test_count_close_cb), 0);
}

/* Create, write, rename and delete a file in a watched directory. */
static void test_fs_event_directory(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  fixture_open(&fx);
  probe_start(&fx, &p, fx.dir);
  file_write(&fx, "a", "one");
  wait_for(&fx, &p, child(&fx, "a"), AX_FS_EVENT_RENAME);
  /* A write to a file in it: kqueue sees only the names of a directory. */
  if (ax__fs_event_names_children) {
    probe_reset(&p);
    file_write(&fx, "a", "two");
    wait_for(&fx, &p, "a", AX_FS_EVENT_CHANGE);
  }
  probe_reset(&p);
  file_rename(&fx, "a", "b");
  wait_for(&fx, &p, child(&fx, "b"), AX_FS_EVENT_RENAME);
  assert_int_equal(p.status, 0);
  probe_reset(&p);
  file_unlink(&fx, "b");
  wait_for(&fx, &p, child(&fx, "b"), AX_FS_EVENT_RENAME);
  /* A directory made and removed in it is a name too. */
  char sub[PATH_BYTES];
  ax_fs_t req;
  path_join(sub, fx.dir, "sub");
  probe_reset(&p);
  assert_int_equal(ax_fs_mkdir(&fx.loop, &req, sub, 0755, NULL), 0);
  ax_fs_req_cleanup(&req);
  wait_for(&fx, &p, child(&fx, "sub"), AX_FS_EVENT_RENAME);
  probe_reset(&p);
  assert_int_equal(ax_fs_rmdir(&fx.loop, &req, sub, NULL), 0);
  ax_fs_req_cleanup(&req);
  wait_for(&fx, &p, child(&fx, "sub"), AX_FS_EVENT_RENAME);
  ax_close(&p.handle.handle, NULL);
  fixture_close(&fx);
}

/* A watched file reports its own changes under its own name. */
static void test_fs_event_file(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  char path[PATH_BYTES];
  fixture_open(&fx);
  probe_file(&fx, &p, path, "a");
  file_write(&fx, "a", "two");
  wait_for(&fx, &p, "a", AX_FS_EVENT_CHANGE);
  assert_int_equal(p.status, 0);
  /* Stopped, it reports nothing more; started again, it does. */
  assert_int_equal(ax_fs_event_stop(&p.handle), 0);
  assert_int_equal(ax_fs_event_stop(&p.handle), 0);
  assert_false(ax_is_active(&p.handle.handle));
  probe_reset(&p);
  file_write(&fx, "a", "three");
  ax_run(&fx.loop, AX_RUN_NOWAIT);
  assert_int_equal(p.calls, 0);
  assert_int_equal(ax_fs_event_start(&p.handle, path, 0, probe_cb), 0);
  file_write(&fx, "a", "four");
  wait_for(&fx, &p, "a", AX_FS_EVENT_CHANGE);
  ax_close(&p.handle.handle, NULL);
  fixture_close(&fx);
}

/* Two handles on one directory: both hear a change; one stops the other
 * from inside its callback, and then only it hears the next. */
static void test_fs_event_shared(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p1, p2;
  fixture_open(&fx);
  probe_start(&fx, &p1, fx.dir);
  probe_start(&fx, &p2, fx.dir);
  file_write(&fx, "a", "one");
  wait_for(&fx, &p1, child(&fx, "a"), AX_FS_EVENT_RENAME);
  wait_for(&fx, &p2, child(&fx, "a"), AX_FS_EVENT_RENAME);
  p1.stop_other = &p2.handle;
  p2.stop_other = &p1.handle;
  probe_reset(&p1);
  probe_reset(&p2);
  file_write(&fx, "b", "one");
  while (p1.calls + p2.calls == 0 && !fx.guard.fired)
    ax_run(&fx.loop, AX_RUN_ONCE);
  assert_false(fx.guard.fired);
  ax_run(&fx.loop, AX_RUN_NOWAIT);
  /* Whichever ran first stopped the other before its turn. */
  assert_true((p1.calls == 0) != (p2.calls == 0));
  struct probe *live = p1.calls != 0 ? &p1 : &p2;
  struct probe *stopped = p1.calls != 0 ? &p2 : &p1;
  assert_false(ax_is_active(&stopped->handle.handle));
  live->stop_other = NULL;
  probe_reset(live);
  file_write(&fx, "c", "one");
  wait_for(&fx, live, child(&fx, "c"), AX_FS_EVENT_RENAME);
  assert_int_equal(stopped->calls, 0);
  ax_close(&p1.handle.handle, NULL);
  ax_close(&p2.handle.handle, NULL);
  fixture_close(&fx);
}

/* A handle closed, or stopped, in its callback hears nothing more. */
static void test_fs_event_close_in_cb(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p, q;
  fixture_open(&fx);
  probe_start(&fx, &p, fx.dir);
  probe_start(&fx, &q, fx.dir);
  p.close_in_cb = true;
  q.stop_in_cb = true;
  file_write(&fx, "a", "one");
  file_write(&fx, "b", "one");
  while ((p.calls == 0 || q.calls == 0) && !fx.guard.fired)
    ax_run(&fx.loop, AX_RUN_ONCE);
  assert_false(fx.guard.fired);
  ax_run(&fx.loop, AX_RUN_NOWAIT);
  assert_int_equal(p.calls, 1);
  assert_int_equal(q.calls, 1);
  assert_true(ax_is_closing(&p.handle.handle));
  assert_false(ax_is_active(&q.handle.handle));
  ax_close(&q.handle.handle, NULL);
  fixture_close(&fx);
}

/* A tree, where the system watches one: a file made in a subdirectory is
 * reported by its name below the watched directory. */
static void test_fs_event_recursive(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  char sub[PATH_BYTES];
  ax_fs_t req;
  fixture_open(&fx);
  path_join(sub, fx.dir, "sub");
  assert_int_equal(ax_fs_mkdir(&fx.loop, &req, sub, 0755, NULL), 0);
  ax_fs_req_cleanup(&req);
  memset(&p, 0, sizeof(p));
  assert_int_equal(ax_fs_event_init(&fx.loop, &p.handle), 0);
  int err = ax_fs_event_start(&p.handle, fx.dir, AX_FS_EVENT_RECURSIVE,
                              probe_cb);
  if (err == AX_ENOTSUP) {
    ax_close(&p.handle.handle, NULL);
    fixture_close(&fx);
    test_skip("this system's watcher cannot watch a tree (inotify, kqueue)");
    return;
  }
  assert_int_equal(err, 0);
  if (getenv("AX_TEST_WINE") != NULL) {
    ax_close(&p.handle.handle, NULL);
    fixture_close(&fx);
    test_skip("Wine's ReadDirectoryChangesW takes bWatchSubtree but reports "
              "nothing below the watched directory (Wine 8.0)");
    return;
  }
  file_write(&fx, "sub/a", "one");
  /* Windows names it with its own separator. */
  while (!probe_saw(&p, "sub/a", AX_FS_EVENT_RENAME) &&
         !probe_saw(&p, "sub\\a", AX_FS_EVENT_RENAME) && !fx.guard.fired)
    ax_run(&fx.loop, AX_RUN_ONCE);
  assert_false(fx.guard.fired);
  file_unlink(&fx, "sub/a");
  ax_close(&p.handle.handle, NULL);
  fixture_close(&fx);
}

static void test_fs_event_getpath(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  char buf[PATH_BYTES];
  size_t size = sizeof(buf);
  fixture_open(&fx);
  memset(&p, 0, sizeof(p));
  assert_int_equal(ax_fs_event_init(&fx.loop, &p.handle), 0);
  assert_int_equal(ax_fs_event_getpath(&p.handle, buf, &size), AX_EINVAL);
  assert_int_equal(ax_fs_event_start(&p.handle, fx.dir, 0, probe_cb), 0);
  size_t len = strlen(fx.dir);
  size = len;
  assert_int_equal(ax_fs_event_getpath(&p.handle, buf, &size), AX_ENOBUFS);
  assert_int_equal(size, len + 1);
  assert_int_equal(ax_fs_event_getpath(&p.handle, buf, &size), 0);
  assert_int_equal(size, len);
  assert_string_equal(buf, fx.dir);
  assert_int_equal(ax_fs_event_getpath(NULL, buf, &size), AX_EINVAL);
  assert_int_equal(ax_fs_event_getpath(&p.handle, NULL, &size), AX_EINVAL);
  assert_int_equal(ax_fs_event_getpath(&p.handle, buf, NULL), AX_EINVAL);
  ax_close(&p.handle.handle, NULL);
  fixture_close(&fx);
}

static void test_fs_event_errors(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  char path[PATH_BYTES];
  fixture_open(&fx);
  memset(&p, 0, sizeof(p));
  assert_int_equal(ax_fs_event_init(NULL, &p.handle), AX_EINVAL);
  assert_int_equal(ax_fs_event_init(&fx.loop, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_event_init(&fx.loop, &p.handle), 0);
  assert_int_equal(ax_fs_event_start(NULL, fx.dir, 0, probe_cb), AX_EINVAL);
  assert_int_equal(ax_fs_event_start(&p.handle, NULL, 0, probe_cb), AX_EINVAL);
  assert_int_equal(ax_fs_event_start(&p.handle, "", 0, probe_cb), AX_EINVAL);
  assert_int_equal(ax_fs_event_start(&p.handle, fx.dir, 0, NULL), AX_EINVAL);
  assert_int_equal(ax_fs_event_start(&p.handle, fx.dir, 0x100, probe_cb),
                   AX_EINVAL);
  path_join(path, fx.dir, "missing");
  assert_int_equal(ax_fs_event_start(&p.handle, path, 0, probe_cb), AX_ENOENT);
  assert_false(ax_is_active(&p.handle.handle));
  /* A tree: watched where the system can, refused where it cannot. */
  int err = ax_fs_event_start(&p.handle, fx.dir, AX_FS_EVENT_RECURSIVE,
                              probe_cb);
  assert_true(err == 0 || err == AX_ENOTSUP);
  assert_int_equal(ax_fs_event_stop(NULL), AX_EINVAL);
  ax_close(&p.handle.handle, NULL);
  assert_int_equal(ax_fs_event_start(&p.handle, fx.dir, 0, probe_cb), AX_EBADF);
  assert_string_equal(ax_handle_type_name(AX_FS_EVENT), "fs_event");
  assert_int_equal(ax_handle_size(AX_FS_EVENT), sizeof(ax_fs_event_t));
  fixture_close(&fx);
}

/* ---- libuv's fs_event tests, ported ---- */

/* A watched file renamed away and back, then deleted: each is reported
 * under the watched file's own name (inotify and kqueue follow the file,
 * Windows its name: the name comes back, so both see every step), and the
 * handle stays started after them. */
static void test_fs_event_file_renamed_deleted(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  char path[PATH_BYTES];
  fixture_open(&fx);
  probe_file(&fx, &p, path, "a");
  file_rename(&fx, "a", "b");
  wait_for(&fx, &p, "a", AX_FS_EVENT_RENAME);
  assert_int_equal(p.status, 0);
  probe_reset(&p);
  file_rename(&fx, "b", "a");
  wait_for(&fx, &p, "a", AX_FS_EVENT_RENAME);
  probe_reset(&p);
  file_unlink(&fx, "a");
  wait_for(&fx, &p, "a", AX_FS_EVENT_RENAME | AX_FS_EVENT_CHANGE);
  assert_true(ax_is_active(&p.handle.handle));
  ax_close(&p.handle.handle, NULL);
  fixture_close(&fx);
}

/* A watched file's neighbours are not its changes, not even one whose
 * name begins with the file's (libuv's fs_event_watch_file_exact_path):
 * only the file is reported, under its name. */
static void test_fs_event_file_not_siblings(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  char path[PATH_BYTES];
  fixture_open(&fx);
  probe_file(&fx, &p, path, "a");
  file_write(&fx, "b", "one");
  file_write(&fx, "ab", "one");
  file_write(&fx, "a", "two");
  wait_for(&fx, &p, "a", AX_FS_EVENT_CHANGE);
  for (int i = 0; i < p.seen; i++)
    assert_string_equal(p.names[i], "a");
  file_unlink(&fx, "ab");
  ax_close(&p.handle.handle, NULL);
  fixture_close(&fx);
}

/* Started again on another directory, a handle reports that one's
 * changes and no more the first's; getpath says the new path. */
static void test_fs_event_restart_moves(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p;
  char sub[PATH_BYTES];
  char buf[PATH_BYTES];
  size_t size = sizeof(buf);
  ax_fs_t req;
  fixture_open(&fx);
  path_join(sub, fx.dir, "sub");
  assert_int_equal(ax_fs_mkdir(&fx.loop, &req, sub, 0755, NULL), 0);
  ax_fs_req_cleanup(&req);
  probe_start(&fx, &p, fx.dir);
  assert_int_equal(ax_fs_event_start(&p.handle, sub, 0, probe_cb), 0);
  assert_int_equal(ax_fs_event_getpath(&p.handle, buf, &size), 0);
  assert_string_equal(buf, sub);
  file_write(&fx, "a", "outside");
  file_write(&fx, "sub/c", "inside");
  wait_for(&fx, &p, child(&fx, "c"), AX_FS_EVENT_RENAME);
  assert_false(probe_saw(&p, "a", AX_FS_EVENT_RENAME | AX_FS_EVENT_CHANGE));
  file_unlink(&fx, "sub/c");
  /* Closed before sub is removed: Windows keeps a watched directory open. */
  ax_close(&p.handle.handle, NULL);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  fixture_close(&fx);
}

/* A handle closed while a change waits to be read hears nothing of it;
 * its close callback runs once; another handle on the same directory
 * still hears the change. */
static void test_fs_event_close_with_pending(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p, q;
  int closed = 0;
  fixture_open(&fx);
  probe_start(&fx, &p, fx.dir);
  probe_start(&fx, &q, fx.dir);
  file_write(&fx, "a", "one");
  probe_close_counted(&p, &closed);
  wait_for(&fx, &q, child(&fx, "a"), AX_FS_EVENT_RENAME);
  ax_run(&fx.loop, AX_RUN_NOWAIT);
  assert_int_equal(closed, 1);
  assert_int_equal(p.calls, 0);
  ax_close(&q.handle.handle, NULL);
  fixture_close(&fx);
}

/* Closed at once after its start, or never started, a handle closes
 * cleanly; unreferenced, a started one does not keep the loop running. */
static void test_fs_event_close_at_once(void **state) {
  (void)state;
  struct fixture fx;
  struct probe p, q, r;
  int closed = 0;
  fixture_open(&fx);
  probe_start(&fx, &p, fx.dir);
  probe_close_counted(&p, &closed);
  memset(&q, 0, sizeof(q));
  assert_int_equal(ax_fs_event_init(&fx.loop, &q.handle), 0);
  probe_close_counted(&q, &closed);
  probe_start(&fx, &r, fx.dir);
  ax_unref(&r.handle.handle);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  assert_false(fx.guard.fired);
  assert_int_equal(closed, 2);
  assert_int_equal(p.calls + q.calls, 0);
  assert_true(ax_is_active(&r.handle.handle));
  assert_int_equal(ax_fs_event_stop(&r.handle), 0);
  size_t size = PATH_BYTES;
  char buf[PATH_BYTES];
  assert_int_equal(ax_fs_event_getpath(&r.handle, buf, &size), AX_EINVAL);
  ax_close(&r.handle.handle, NULL);
  fixture_close(&fx);
}

/* A callback that stops or closes its handle first, and only then reads
 * the name it was given: the name is valid for the whole call, as the
 * header promises, also where it is the watched file's own (a copy the
 * stop would free). */
struct late_reader {
  ax_fs_event_t handle;  /* The handle. */
  bool close;            /* Close rather than stop. */
  int calls;             /* Callback calls. */
  char name[NAME_BYTES]; /* The name, read after the stop or close. */
};

static void late_reader_cb(ax_fs_event_t *handle, const char *filename,
                           int events, int status) {
  struct late_reader *lr = ax_container_of(handle, struct late_reader, handle);
  (void)events;
  assert_int_equal(status, 0);
  if (lr->close)
    assert_int_equal(ax_close(&handle->handle, NULL), 0);
  else
    assert_int_equal(ax_fs_event_stop(handle), 0);
  lr->calls++;
  snprintf(lr->name, sizeof(lr->name), "%s", filename != NULL ? filename : "");
}

static void test_fs_event_name_outlives_stop(void **state) {
  (void)state;
  struct fixture fx;
  struct late_reader lr[2];
  char path[PATH_BYTES];
  fixture_open(&fx);
  file_made(&fx, path, "a");
  memset(lr, 0, sizeof(lr));
  lr[1].close = true;
  for (int i = 0; i < 2; i++) {
    assert_int_equal(ax_fs_event_init(&fx.loop, &lr[i].handle), 0);
    assert_int_equal(ax_fs_event_start(&lr[i].handle, path, 0, late_reader_cb),
                     0);
  }
  file_write(&fx, "a", "two");
  while ((lr[0].calls == 0 || lr[1].calls == 0) && !fx.guard.fired)
    ax_run(&fx.loop, AX_RUN_ONCE);
  assert_false(fx.guard.fired);
  ax_run(&fx.loop, AX_RUN_NOWAIT);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(lr[i].calls, 1);
    assert_string_equal(lr[i].name, "a");
  }
  ax_close(&lr[0].handle.handle, NULL);
  fixture_close(&fx);
}

/* A handle started again from its own callback, on the same directory:
 * each later change is still reported, once per event the system gives. */
struct restarter {
  struct probe p;  /* The handle and what it saw. */
  const char *dir; /* Where to start again. */
};

static void restarter_cb(ax_fs_event_t *handle, const char *filename,
                         int events, int status) {
  struct restarter *r = ax_container_of(handle, struct restarter, p.handle);
  probe_cb(handle, filename, events, status);
  assert_int_equal(ax_fs_event_start(handle, r->dir, 0, restarter_cb), 0);
}

static void test_fs_event_restart_in_cb(void **state) {
  (void)state;
  struct fixture fx;
  struct restarter r;
  fixture_open(&fx);
  memset(&r, 0, sizeof(r));
  r.dir = fx.dir;
  assert_int_equal(ax_fs_event_init(&fx.loop, &r.p.handle), 0);
  assert_int_equal(ax_fs_event_start(&r.p.handle, fx.dir, 0, restarter_cb), 0);
  file_write(&fx, "a", "one");
  wait_for(&fx, &r.p, child(&fx, "a"), AX_FS_EVENT_RENAME);
  file_write(&fx, "b", "one");
  wait_for(&fx, &r.p, child(&fx, "b"), AX_FS_EVENT_RENAME);
  assert_true(ax_is_active(&r.p.handle.handle));
  ax_close(&r.p.handle.handle, NULL);
  fixture_close(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fs_event_directory),
      cmocka_unit_test(test_fs_event_file),
      cmocka_unit_test(test_fs_event_shared),
      cmocka_unit_test(test_fs_event_close_in_cb),
      cmocka_unit_test(test_fs_event_recursive),
      cmocka_unit_test(test_fs_event_getpath),
      cmocka_unit_test(test_fs_event_errors),
      cmocka_unit_test(test_fs_event_file_renamed_deleted),
      cmocka_unit_test(test_fs_event_file_not_siblings),
      cmocka_unit_test(test_fs_event_restart_moves),
      cmocka_unit_test(test_fs_event_close_with_pending),
      cmocka_unit_test(test_fs_event_close_at_once),
      cmocka_unit_test(test_fs_event_name_outlives_stop),
      cmocka_unit_test(test_fs_event_restart_in_cb),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
