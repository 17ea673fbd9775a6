/*
 * test_alloc_faults.c: every allocation axle makes may fail. Each scenario
 * runs once per allocation it makes, with that one refused (through
 * ax__alloc_refuse, the hook the simulation backend injects ENOMEM with),
 * until a run makes no more: each call must then return AX_ENOMEM or its
 * callback say so, exactly once, and the loop must close with every
 * handle closed and every allocation returned (test_loop_close).
 *
 * Each scenario stops at its first AX_ENOMEM, closes what it opened, and
 * removes what it made. The sweep runs on any backend; the allocations
 * of pool threads count too, in whatever order they come.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "tcp.h"

enum {
  /* No scenario allocates more often than this. */
  SWEEP_MAX_ALLOCATIONS = 200,
  /* The buffers of a vectored write: more than any request keeps inline,
   * so that the vector is copied into an allocation. */
  SWEEP_BUFS = 8,
};

/* The sweep's state, shared with the hook (pool threads call it). */
static unsigned long sweep_allocations; /* Allocations since armed. */
static unsigned long sweep_refuse_at;   /* The one refused. */
static bool sweep_refused;              /* Whether it came. */
static char sweep_dir[64];              /* A scratch directory. */

static bool sweep_refuse(void) {
  unsigned long n = __atomic_fetch_add(&sweep_allocations, 1, __ATOMIC_RELAXED);
  if (n != sweep_refuse_at)
    return false;
  __atomic_store_n(&sweep_refused, true, __ATOMIC_RELAXED);
  return true;
}

/* Run scenario with the n-th allocation refused, for n = 0, 1, ... until
 * a run makes fewer than n + 1. */
static void sweep(const char *name, void (*scenario)(ax_loop_t *loop)) {
  for (unsigned long n = 0; n < SWEEP_MAX_ALLOCATIONS; n++) {
    ax_loop_t loop;
    test_loop_open(&loop);
    __atomic_store_n(&sweep_allocations, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&sweep_refuse_at, n, __ATOMIC_RELAXED);
    __atomic_store_n(&sweep_refused, false, __ATOMIC_RELAXED);
    __atomic_store_n(&ax__alloc_refuse, sweep_refuse, __ATOMIC_RELEASE);
    print_message("%s: allocation %lu refused\n", name, n);
    scenario(&loop);
    /* Pool work may still allocate: the loop has no request left, so
     * none is queued. */
    __atomic_store_n(&ax__alloc_refuse, NULL, __ATOMIC_RELEASE);
    test_loop_close(&loop);
    if (!__atomic_load_n(&sweep_refused, __ATOMIC_RELAXED)) {
      print_message("%s: %lu allocations, each refused once (%lu made)\n", name,
                    n, __atomic_load_n(&sweep_allocations, __ATOMIC_RELAXED));
      return;
    }
  }
  fail_msg("%s: more than %d allocations", name, SWEEP_MAX_ALLOCATIONS);
}

/* Run until *done (never blocking for long: tcp_run_until() keeps a
 * ticking timer), then check that it came once. */
static void sweep_run_until(ax_loop_t *loop, const int *done) {
  tcp_run_until(loop, done, 1);
  assert_int_equal(*done, 1);
}

/* 0 or AX_ENOMEM: nothing else may come of a refused allocation. */
static bool sweep_ok(int64_t result) {
  if (result == AX_ENOMEM)
    return false;
  if (result < 0)
    fail_msg("unexpected %s", ax_err_name((int)result));
  return true;
}

/* ---- The file system: on the pool, with callbacks ---- */

static void fs_done(ax_fs_t *req) {
  (*(int *)req->req.data)++;
}

/* Finish an fs request started with err: its result, once its callback
 * ran (exactly once); the request is cleaned up, unless keep and it
 * succeeded. */
static int64_t fs_finish(ax_loop_t *loop, ax_fs_t *req, int err, int *done,
                         bool keep) {
  if (err != 0) {
    /* No callback will come; what the request copied waits for cleanup,
     * as after any failed start. */
    assert_int_equal(*done, 0);
    ax_fs_req_cleanup(req);
    return err;
  }
  sweep_run_until(loop, done);
  int64_t result = req->result;
  if (!keep || result < 0)
    ax_fs_req_cleanup(req);
  return result;
}

static void sweep_path(char *out, size_t size, const char *name) {
  (void)snprintf(out, size, "%s/%s", sweep_dir, name);
}

/* One request of each kind that allocates, in order, until one fails. */
static void scenario_fs(ax_loop_t *loop) {
  ax_fs_t req;
  int done = 0;
  req.req.data = &done;
  char file[128], copy[128], link[128], tpl[128];
  sweep_path(file, sizeof(file), "file");
  sweep_path(copy, sizeof(copy), "copy");
  sweep_path(link, sizeof(link), "link");
  sweep_path(tpl, sizeof(tpl), "tmpXXXXXX");
  char bytes[SWEEP_BUFS][4];
  ax_buf_t bufs[SWEEP_BUFS];
  for (int i = 0; i < SWEEP_BUFS; i++) {
    memset(bytes[i], 'a' + i, sizeof(bytes[i]));
    bufs[i] = ax_buf_init(bytes[i], sizeof(bytes[i]));
  }
  int64_t fd = fs_finish(
      loop, &req,
      ax_fs_open(loop, &req, file, AX_FS_O_CREAT | AX_FS_O_RDWR, 0600, fs_done),
      &done, false);
  if (!sweep_ok(fd))
    goto out;
  done = 0;
  bool ok = sweep_ok(fs_finish(
      loop, &req,
      ax_fs_write(loop, &req, (ax_file_t)fd, bufs, SWEEP_BUFS, 0, fs_done),
      &done, false));
  if (ok) {
    done = 0;
    ok = sweep_ok(fs_finish(
        loop, &req,
        ax_fs_read(loop, &req, (ax_file_t)fd, bufs, SWEEP_BUFS, 0, fs_done),
        &done, false));
  }
  done = 0;
  assert_int_equal(fs_finish(loop, &req,
                             ax_fs_close(loop, &req, (ax_file_t)fd, fs_done),
                             &done, false),
                   0);
  if (!ok)
    goto out;
  done = 0;
  if (!sweep_ok(fs_finish(loop, &req,
                          ax_fs_statfs(loop, &req, sweep_dir, fs_done), &done,
                          false)))
    goto out;
  done = 0;
  if (!sweep_ok(fs_finish(loop, &req,
                          ax_fs_symlink(loop, &req, file, link, 0, fs_done),
                          &done, false)))
    goto out;
  done = 0;
  if (!sweep_ok(fs_finish(loop, &req, ax_fs_readlink(loop, &req, link, fs_done),
                          &done, false)))
    goto out;
  done = 0;
  if (!sweep_ok(fs_finish(loop, &req, ax_fs_realpath(loop, &req, link, fs_done),
                          &done, false)))
    goto out;
  done = 0;
  if (!sweep_ok(fs_finish(loop, &req,
                          ax_fs_copyfile(loop, &req, file, copy, 0, fs_done),
                          &done, false)))
    goto out;
  done = 0;
  int64_t n = fs_finish(loop, &req,
                        ax_fs_scandir(loop, &req, sweep_dir, 0, fs_done), &done,
                        true);
  if (n >= 0) {
    ax_dirent_t ent;
    int count = 0;
    while (ax_fs_scandir_next(&req, &ent) == 0)
      count++;
    assert_int_equal(count, n);
  }
  if (n >= 0)
    ax_fs_req_cleanup(&req);
  if (!sweep_ok(n))
    goto out;
  done = 0;
  if (!sweep_ok(fs_finish(loop, &req,
                          ax_fs_opendir(loop, &req, sweep_dir, fs_done), &done,
                          true)))
    goto out;
  ax_dir_t *dir = req.ptr;
  ax_fs_req_cleanup(&req);
  ax_dirent_t entries[2];
  dir->dirents = entries;
  dir->nentries = 2;
  for (;;) {
    done = 0;
    n = fs_finish(loop, &req, ax_fs_readdir(loop, &req, dir, fs_done), &done,
                  false);
    if (n <= 0)
      break;
  }
  done = 0;
  assert_int_equal(fs_finish(loop, &req,
                             ax_fs_closedir(loop, &req, dir, fs_done), &done,
                             false),
                   0);
  if (!sweep_ok(n))
    goto out;
  done = 0;
  if (!sweep_ok(fs_finish(loop, &req, ax_fs_mkdtemp(loop, &req, tpl, fs_done),
                          &done, true)))
    goto out;
  assert_int_equal(rmdir(req.path), 0);
  ax_fs_req_cleanup(&req);
out:
  (void)unlink(file);
  (void)unlink(copy);
  (void)unlink(link);
}

/* ---- TCP: listen, connect, accept, a vectored write, water marks ---- */

struct tcp_world {
  ax_tcp_t listener;    /* The server. */
  ax_tcp_t client;      /* Connects. */
  ax_tcp_t accepted;    /* The server's end. */
  ax_connect_t connect; /* The client's connect. */
  ax_write_t write;     /* Its vectored write. */
  int opened;           /* Handles initialised. */
  int closed;           /* Close callbacks run. */
  int connected;        /* Connect callbacks... */
  int connect_status;   /* ...and the status of the last. */
  int written;          /* Write callbacks... */
  int write_status;     /* ...and the status of the last. */
  int connections;      /* Connection callbacks. */
  bool has_accepted;    /* accepted is initialised. */
  size_t received;      /* Bytes the server read. */
  int read_error;       /* The server's read error, if any. */
  char buf[64];         /* The server reads here. */
};

static void tcp_world_closed(ax_handle_t *handle) {
  ((struct tcp_world *)handle->loop->data)->closed++;
}

static void tcp_world_alloc(ax_handle_t *handle, size_t suggested,
                            ax_buf_t *buf) {
  struct tcp_world *w = handle->loop->data;
  (void)suggested;
  *buf = ax_buf_init(w->buf, sizeof(w->buf));
}

static void tcp_world_read(ax_stream_t *stream, ptrdiff_t nread,
                           const ax_buf_t *buf) {
  struct tcp_world *w = stream->handle.loop->data;
  (void)buf;
  if (nread > 0)
    w->received += (size_t)nread;
  else if (nread < 0)
    w->read_error = (int)nread;
}

static void tcp_world_connection(ax_stream_t *server, int status) {
  struct tcp_world *w = server->handle.loop->data;
  w->connections++;
  if (status != 0 || w->has_accepted)
    return;
  if (!sweep_ok(ax_tcp_init(server->handle.loop, &w->accepted)))
    return;
  w->has_accepted = true;
  w->opened++;
  assert_int_equal(ax_accept(server, &w->accepted.stream), 0);
  (void)sweep_ok(
      ax_read_start(&w->accepted.stream, tcp_world_alloc, tcp_world_read));
}

static void tcp_world_connected(ax_connect_t *req, int status) {
  struct tcp_world *w = req->handle->handle.loop->data;
  w->connect_status = status; /* AX_ENOMEM where a backend allocates. */
  w->connected++;
}

static void tcp_world_written(ax_write_t *req, int status) {
  struct tcp_world *w = req->handle->handle.loop->data;
  w->write_status = status;
  w->written++;
}

static void tcp_world_water(ax_stream_t *stream, bool above) {
  (void)stream;
  (void)above;
}

static void scenario_tcp(ax_loop_t *loop) {
  struct tcp_world w;
  memset(&w, 0, sizeof(w));
  loop->data = &w;
  struct sockaddr_storage addr;
  tcp_test_addr("127.0.0.1", 0, &addr);
  assert_int_equal(ax_tcp_init(loop, &w.listener), 0);
  w.opened++;
  assert_int_equal(ax_tcp_bind(&w.listener, (struct sockaddr *)&addr, 0), 0);
  if (!sweep_ok(ax_listen(&w.listener.stream, 8, tcp_world_connection)))
    goto out;
  int len = (int)sizeof(addr);
  assert_int_equal(
      ax_tcp_getsockname(&w.listener, (struct sockaddr *)&addr, &len), 0);
  assert_int_equal(ax_tcp_init(loop, &w.client), 0);
  w.opened++;
  if (!sweep_ok(ax_stream_set_water_marks(&w.client.stream, 1, 1024,
                                          tcp_world_water)))
    goto out;
  if (!sweep_ok(ax_tcp_connect(&w.connect, &w.client, (struct sockaddr *)&addr,
                               tcp_world_connected)))
    goto out;
  sweep_run_until(loop, &w.connected);
  if (!sweep_ok(w.connect_status))
    goto out;
  char bytes[SWEEP_BUFS] = "abcdefg";
  ax_buf_t bufs[SWEEP_BUFS];
  for (int i = 0; i < SWEEP_BUFS; i++)
    bufs[i] = ax_buf_init(bytes + i, 1);
  if (!sweep_ok(ax_write(&w.write, &w.client.stream, bufs, SWEEP_BUFS,
                         tcp_world_written)))
    goto out;
  sweep_run_until(loop, &w.written);
  if (!sweep_ok(w.write_status))
    goto out;
  sweep_run_until(loop, &w.connections);
  if (w.has_accepted && w.read_error == 0)
    tcp_run_until_size(loop, &w.received, SWEEP_BUFS);
out:
  ax_close(&w.listener.stream.handle, tcp_world_closed);
  if (w.opened > 1)
    ax_close(&w.client.stream.handle, tcp_world_closed);
  if (w.has_accepted)
    ax_close(&w.accepted.stream.handle, tcp_world_closed);
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(w.closed, w.opened);
  loop->data = NULL;
}

/* ---- UDP: a vectored send ---- */

static void udp_sent(ax_udp_send_t *req, int status) {
  (void)sweep_ok(status);
  (*(int *)req->req.data)++;
}

static void scenario_udp(ax_loop_t *loop) {
  ax_udp_t udp;
  int closed = 0;
  assert_int_equal(ax_udp_init(loop, &udp), 0);
  udp.handle.data = &closed;
  struct sockaddr_storage addr;
  tcp_test_addr("127.0.0.1", 9, &addr); /* discard: nothing need listen. */
  char bytes[SWEEP_BUFS] = "abcdefg";
  ax_buf_t bufs[SWEEP_BUFS];
  for (int i = 0; i < SWEEP_BUFS; i++)
    bufs[i] = ax_buf_init(bytes + i, 1);
  ax_udp_send_t req;
  int sent = 0;
  req.req.data = &sent;
  if (sweep_ok(ax_udp_send(&req, &udp, bufs, SWEEP_BUFS,
                           (struct sockaddr *)&addr, udp_sent)))
    sweep_run_until(loop, &sent);
  ax_close(&udp.handle, test_count_close_cb);
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(closed, 1);
}

/* ---- The pool: a user's job, a DNS lookup ---- */

static void work_nothing(ax_work_t *work) {
  (void)work;
}

static void work_after(ax_work_t *work, int status) {
  assert_int_equal(status, 0);
  (*(int *)work->req.data)++;
}

static void dns_done(ax_getaddrinfo_t *req, int status,
                     struct addrinfo *addrinfo) {
  if (status != AX_ENOMEM)
    assert_int_equal(status, 0);
  ax_freeaddrinfo(addrinfo);
  (*(int *)req->req.data)++;
}

static void scenario_pool(ax_loop_t *loop) {
  ax_work_t work;
  int done = 0;
  work.req.data = &done;
  if (!sweep_ok(ax_queue_work(loop, &work, work_nothing, work_after)))
    return;
  sweep_run_until(loop, &done);
  ax_getaddrinfo_t req;
  done = 0;
  req.req.data = &done;
  if (!sweep_ok(ax_getaddrinfo(loop, &req, "127.0.0.1", "80", NULL, dns_done)))
    return;
  sweep_run_until(loop, &done);
}

/* ---- Signals, file watches, loop delay, pipes, a child ---- */

static void signal_seen(ax_signal_t *signal, int signum) {
  (void)signum;
  (*(int *)signal->handle.data)++;
  ax_signal_stop(signal);
}

static void scenario_signal(ax_loop_t *loop) {
  ax_signal_t sig;
  int seen = 0;
  assert_int_equal(ax_signal_init(loop, &sig), 0);
  sig.handle.data = &seen;
  if (sweep_ok(ax_signal_start(&sig, SIGUSR1, signal_seen))) {
    assert_int_equal(raise(SIGUSR1), 0);
    sweep_run_until(loop, &seen);
  }
  int closed = 0;
  sig.handle.data = &closed;
  ax_close(&sig.handle, test_count_close_cb);
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(closed, 1);
}

static void fs_event_seen(ax_fs_event_t *handle, const char *filename,
                          int events, int status) {
  (void)handle;
  (void)filename;
  (void)events;
  (void)status;
}

static void fs_poll_seen(ax_fs_poll_t *handle, int status,
                         const ax_stat_t *prev, const ax_stat_t *curr) {
  (void)handle;
  (void)status;
  (void)prev;
  (void)curr;
}

static void exited(ax_process_t *process, int64_t exit_status,
                   int term_signal) {
  (void)exit_status;
  (void)term_signal;
  (*(int *)process->handle.data)++;
}

static void scenario_handles(ax_loop_t *loop) {
  int closed = 0;
  int opened = 0;
  ax_fs_event_t event;
  ax_fs_poll_t poll;
  ax_pipe_t pipe;
  ax_process_t process;
  assert_int_equal(ax_fs_event_init(loop, &event), 0);
  event.handle.data = &closed;
  opened++;
  if (!sweep_ok(ax_fs_event_start(&event, sweep_dir, 0, fs_event_seen)))
    goto out;
  assert_int_equal(ax_fs_poll_init(loop, &poll), 0);
  poll.handle.data = &closed;
  opened++;
  if (!sweep_ok(ax_fs_poll_start(&poll, sweep_dir, 5, fs_poll_seen)))
    goto out;
  for (int i = 0; i < 3; i++)
    ax_run(loop, AX_RUN_NOWAIT);
  if (!sweep_ok(ax_loop_delay_start(loop)))
    goto out;
  if (!sweep_ok(ax_pipe_init(loop, &pipe, true)))
    goto out;
  pipe.stream.handle.data = &closed;
  opened++;
  char name[128];
  sweep_path(name, sizeof(name), "sock");
  if (!sweep_ok(ax_pipe_bind(&pipe, name, strlen(name), 0)))
    goto out;
  char *args[] = {"true", NULL};
  ax_process_options_t options;
  memset(&options, 0, sizeof(options));
  options.file = "true";
  options.args = args;
  options.exit_cb = exited;
  int exits = 0;
  process.handle.data = &exits;
  int err = ax_spawn(loop, &process, &options);
  if (err == AX_ENOENT)
    goto out; /* No true(1) here. */
  if (!sweep_ok(err))
    goto out;
  opened++;
  sweep_run_until(loop, &exits);
  process.handle.data = &closed;
out:
  if (opened > 3)
    ax_close(&process.handle, test_count_close_cb);
  if (opened > 2)
    ax_close(&pipe.stream.handle, test_count_close_cb);
  if (opened > 1)
    ax_close(&poll.handle, test_count_close_cb);
  ax_close(&event.handle, test_count_close_cb);
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(closed, opened);
  (void)unlink(name);
}

static void test_alloc_faults_fs(void **state) {
  (void)state;
  sweep("fs", scenario_fs);
}

static void test_alloc_faults_tcp(void **state) {
  (void)state;
  sweep("tcp", scenario_tcp);
}

static void test_alloc_faults_udp(void **state) {
  (void)state;
  sweep("udp", scenario_udp);
}

static void test_alloc_faults_pool(void **state) {
  (void)state;
  sweep("pool", scenario_pool);
}

static void test_alloc_faults_signal(void **state) {
  (void)state;
  sweep("signal", scenario_signal);
}

static void test_alloc_faults_handles(void **state) {
  (void)state;
  sweep("handles", scenario_handles);
}

static void setup_signal_cb(ax_signal_t *signal, int signum) {
  (void)signal;
  (void)signum;
}

/* The pool's and the signal registry's locks are made once per process
 * and kept (test_threadpool.c and test_signal.c check that their first
 * making may fail): make them before any sweep counts allocations. */
static int sweep_setup_locks(void) {
  ax_loop_t loop;
  ax_signal_t signal;
  if (ax_threadpool_get_size() == 0 || ax_loop_init(&loop) != 0 ||
      ax_signal_init(&loop, &signal) != 0 ||
      ax_signal_start(&signal, SIGUSR2, setup_signal_cb) != 0)
    return -1;
  ax_close(&signal.handle, NULL);
  if (ax_run(&loop, AX_RUN_DEFAULT) != 0)
    return -1;
  return ax_loop_close(&loop);
}

static int sweep_setup(void **state) {
  (void)state;
  if (sweep_setup_locks() != 0)
    return -1;
  const char *tmp = getenv("TMPDIR");
  (void)snprintf(sweep_dir, sizeof(sweep_dir), "%s/axle-alloc-XXXXXX",
                 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
  return mkdtemp(sweep_dir) != NULL ? 0 : -1;
}

static int sweep_teardown(void **state) {
  (void)state;
  return rmdir(sweep_dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alloc_faults_fs),
      cmocka_unit_test(test_alloc_faults_tcp),
      cmocka_unit_test(test_alloc_faults_udp),
      cmocka_unit_test(test_alloc_faults_pool),
      cmocka_unit_test(test_alloc_faults_signal),
      cmocka_unit_test(test_alloc_faults_handles),
  };
  return cmocka_run_group_tests(tests, sweep_setup, sweep_teardown);
}
