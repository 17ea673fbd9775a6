/*
 * test_process_win.c: child processes on Windows (src/win/process.c),
 * with the child program support/win-child.c:
 *
 * - exit codes, and a program that is not there (an error of the spawn,
 *   no exit callback), a working directory that is not there;
 * - arguments that need quoting come back as they were, and verbatim
 *   ones as they were written;
 * - the environment given, and the working directory;
 * - standard input and output through pipes, and a descriptor above 2
 *   (the C runtime's block);
 * - ending a child (AX_ESRCH after), ax_kill() by pid, closing before the
 *   end;
 * - many children in a row, with no handle left behind.
 *
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#include "win/iocp-pipe.h"

enum { SPAWNS = 50, OUT_MAX = 512 };

/* ---- Through the Windows half ---- */

static int test_spawn(ax_loop_t *loop, ax_process_t *process,
                      const ax_process_options_t *options) {
  return ax_spawn(loop, process, options);
}

static void test_process_close(ax_process_t *process, ax_close_cb cb) {
  ax_close(&process->handle, cb);
}

static void test_pipe_init(ax_loop_t *loop, ax_pipe_t *pipe) {
  memset(pipe, 0, sizeof(*pipe));
  assert_int_equal(ax__stream_init(loop, &pipe->stream, AX_PIPE), 0);
  ax__win_pipe_init(pipe);
}

/* The child's path: win-child.exe beside this program. */
static const char *child_path(void) {
  static char path[MAX_PATH * 3];
  if (path[0] != '\0')
    return path;
  char self[MAX_PATH * 3];
  DWORD len = GetModuleFileNameA(NULL, self, sizeof(self));
  assert_true(len > 0 && len < sizeof(self));
  char *slash = strrchr(self, '\\');
  assert_non_null(slash);
  slash[1] = '\0';
  snprintf(path, sizeof(path), "%swin-child.exe", self);
  return path;
}

/* ---- A child and what it said ---- */

struct run {
  ax_process_t process; /* The child. */
  ax_pipe_t out;        /* Its standard output. */
  char text[OUT_MAX];   /* What it wrote. */
  size_t len;           /* Its length. */
  int64_t exit_status;  /* From the exit callback; -1 before. */
  int term_signal;      /* From the exit callback. */
  int exits;            /* Exit callbacks. */
  int closed;           /* Close callbacks. */
};

static void count_close_cb(ax_handle_t *handle) {
  (*(int *)handle->data)++;
}

static void run_exit_cb(ax_process_t *process, int64_t exit_status,
                        int term_signal) {
  struct run *run = ax_container_of(process, struct run, process);
  run->exit_status = exit_status;
  run->term_signal = term_signal;
  run->exits++;
  process->handle.data = &run->closed;
  test_process_close(process, count_close_cb);
}

static void run_alloc_cb(ax_handle_t *handle, size_t suggested, ax_buf_t *buf) {
  struct run *run = ax_container_of(handle, struct run, out.stream.handle);
  (void)suggested;
  *buf = ax_buf_init(run->text + run->len, sizeof(run->text) - run->len - 1);
}

static void run_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                        const ax_buf_t *buf) {
  (void)buf;
  struct run *run = ax_container_of(stream, struct run, out.stream);
  if (nread < 0) {
    assert_int_equal(nread, AX_EOF);
    stream->handle.data = &run->closed;
    ax_close(&stream->handle, count_close_cb);
    return;
  }
  run->len += (size_t)nread;
  run->text[run->len] = '\0';
}

/* Run the child with args (after the program's own name), its output
 * read into run->text, until it ends and its output closes. */
static void run_child(ax_loop_t *loop, struct run *run, char **args,
                      const ax_process_options_t *base) {
  memset(run, 0, sizeof(*run));
  run->exit_status = -1;
  test_pipe_init(loop, &run->out);
  ax_stdio_container_t stdio[3] = {
      {.flags = AX_STDIO_IGNORE},
      {.flags = AX_STDIO_CREATE_PIPE | AX_STDIO_WRITABLE,
       .data.stream = &run->out.stream},
      {.flags = AX_STDIO_INHERIT_FD, .data.fd = 2},
  };
  ax_process_options_t options = {0};
  if (base != NULL)
    options = *base;
  options.exit_cb = run_exit_cb;
  options.file = child_path();
  options.args = args;
  options.stdio = stdio;
  options.stdio_count = 3;
  assert_int_equal(test_spawn(loop, &run->process, &options), 0);
  assert_true(run->process.pid > 0);
  assert_int_equal(ax_read_start(&run->out.stream, run_alloc_cb, run_read_cb),
                   0);
  struct test_guard guard;
  test_guard_start(loop, &guard);
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), 0);
  test_guard_close(&guard);
  assert_int_equal(run->exits, 1);
  assert_int_equal(run->closed, 2);
}

/* ---- Tests ---- */

static void test_process_win_exit(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct run run;
  char *args[] = {"win-child", "exit", "7", NULL};
  run_child(&loop, &run, args, NULL);
  assert_int_equal(run.exit_status, 7);
  assert_int_equal(run.term_signal, 0);
  assert_int_equal(run.len, 0);
  test_loop_close(&loop);
}

static void never_exit_cb(ax_process_t *process, int64_t status, int sig) {
  (void)process;
  fail_msg("an exit callback for a child that never started (%lld, %d)",
           (long long)status, sig);
}

static void test_process_win_errors(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_process_t process;
  ax_process_options_t options = {.exit_cb = never_exit_cb,
                                  .file = "axle-no-such-program"};
  assert_int_equal(test_spawn(&loop, &process, &options), AX_ENOENT);
  options.file = "C:\\axle\\no\\such\\program.exe";
  assert_int_equal(test_spawn(&loop, &process, &options), AX_ENOENT);
  options.file = child_path();
  options.cwd = "C:\\axle-no-such-directory";
  assert_int_equal(test_spawn(&loop, &process, &options), AX_ENOENT);
  options.cwd = child_path(); /* A file. */
  assert_int_equal(test_spawn(&loop, &process, &options), AX_ENOTDIR);
  options.cwd = NULL;
  options.flags = AX_PROCESS_SETUID;
  assert_int_equal(test_spawn(&loop, &process, &options), AX_ENOTSUP);
  options.flags = 0;
  options.stdio_count = -1;
  assert_int_equal(test_spawn(&loop, &process, &options), AX_EINVAL);
  ax_stdio_container_t bad = {.flags = AX_STDIO_CREATE_PIPE,
                              .data.stream = NULL};
  options.stdio = &bad;
  options.stdio_count = 1;
  assert_int_equal(test_spawn(&loop, &process, &options), AX_EINVAL);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  test_loop_close(&loop);
}

static void test_process_win_args(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct run run;
  char *args[] = {"win-child",  "args",        "plain", "two words", "",
                  "say \"hi\"", "back\\slash", "end\\", "q\\\"",     NULL};
  run_child(&loop, &run, args, NULL);
  assert_int_equal(run.exit_status, 0);
  assert_string_equal(run.text, "plain\ntwo words\n\nsay \"hi\"\n"
                                "back\\slash\nend\\\nq\\\"\n");
  /* Verbatim: the words as written, split by the child's own rules. */
  ax_process_options_t verbatim = {
      .flags = AX_PROCESS_WINDOWS_VERBATIM_ARGUMENTS};
  char *raw[] = {"win-child", "args", "\"a b\"", "c", NULL};
  run_child(&loop, &run, raw, &verbatim);
  assert_string_equal(run.text, "a b\nc\n");
  test_loop_close(&loop);
}

static void test_process_win_env_cwd(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  /* SYSTEMROOT too: Windows programs need it to start. */
  char root[MAX_PATH + 16] = "SYSTEMROOT=C:\\windows";
  char value[MAX_PATH];
  if (GetEnvironmentVariableA("SYSTEMROOT", value, sizeof(value)) > 0)
    snprintf(root, sizeof(root), "SYSTEMROOT=%s", value);
  char *env[] = {"ZZ_LAST=z", "AXLE_TEST_VAR=yes", root, NULL};
  ax_process_options_t options = {.env = env};
  struct run run;
  char *args[] = {"win-child", "env", "AXLE_TEST_VAR", NULL};
  run_child(&loop, &run, args, &options);
  assert_string_equal(run.text, "yes");
  char *unset[] = {"win-child", "env", "PATHEXT_AXLE_UNSET", NULL};
  run_child(&loop, &run, unset, &options);
  assert_string_equal(run.text, "(unset)");
  char dir[MAX_PATH];
  assert_true(GetWindowsDirectoryA(dir, sizeof(dir)) > 0);
  options = (ax_process_options_t){.cwd = dir};
  char *cwd[] = {"win-child", "cwd", NULL};
  run_child(&loop, &run, cwd, &options);
  assert_true(_stricmp(run.text, dir) == 0);
  test_loop_close(&loop);
}

/* ---- Standard input, and a descriptor above 2 ---- */

struct echo {
  struct run run;   /* The child and its output. */
  ax_pipe_t in;     /* Its standard input. */
  ax_write_t write; /* What is written to it. */
};

static void echo_write_cb(ax_write_t *req, int status) {
  assert_int_equal(status, 0);
  struct echo *echo = req->req.data;
  /* A pipe has no half-close: the child sees the end at the close. */
  echo->in.stream.handle.data = &echo->run.closed;
  ax_close(&echo->in.stream.handle, count_close_cb);
}

static void test_process_win_stdin(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct echo echo;
  memset(&echo, 0, sizeof(echo));
  test_pipe_init(&loop, &echo.in);
  test_pipe_init(&loop, &echo.run.out);
  ax_stdio_container_t stdio[3] = {
      {.flags = AX_STDIO_CREATE_PIPE | AX_STDIO_READABLE,
       .data.stream = &echo.in.stream},
      {.flags = AX_STDIO_CREATE_PIPE | AX_STDIO_WRITABLE,
       .data.stream = &echo.run.out.stream},
      {.flags = AX_STDIO_IGNORE},
  };
  char *args[] = {"win-child", "echo", NULL};
  ax_process_options_t options = {.exit_cb = run_exit_cb,
                                  .file = child_path(),
                                  .args = args,
                                  .stdio = stdio,
                                  .stdio_count = 3};
  assert_int_equal(test_spawn(&loop, &echo.run.process, &options), 0);
  assert_int_equal(
      ax_read_start(&echo.run.out.stream, run_alloc_cb, run_read_cb), 0);
  ax_buf_t buf = ax_buf_init("hello, child", 12);
  echo.write.req.data = &echo;
  assert_int_equal(
      ax_write(&echo.write, &echo.in.stream, &buf, 1, echo_write_cb), 0);
  struct test_guard guard;
  test_guard_start(&loop, &guard);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  test_guard_close(&guard);
  assert_int_equal(echo.run.exit_status, 0);
  assert_int_equal(echo.run.closed, 3);
  assert_string_equal(echo.run.text, "hello, child");
  test_loop_close(&loop);
}

static void test_process_win_fd3(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct run run;
  memset(&run, 0, sizeof(run));
  test_pipe_init(&loop, &run.out);
  ax_stdio_container_t stdio[4] = {
      {.flags = AX_STDIO_IGNORE},
      {.flags = AX_STDIO_IGNORE},
      {.flags = AX_STDIO_IGNORE},
      {.flags = AX_STDIO_CREATE_PIPE | AX_STDIO_WRITABLE,
       .data.stream = &run.out.stream},
  };
  char *args[] = {"win-child", "fd", "3", "three", NULL};
  ax_process_options_t options = {.exit_cb = run_exit_cb,
                                  .file = child_path(),
                                  .args = args,
                                  .stdio = stdio,
                                  .stdio_count = 4};
  assert_int_equal(test_spawn(&loop, &run.process, &options), 0);
  assert_int_equal(ax_read_start(&run.out.stream, run_alloc_cb, run_read_cb),
                   0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(run.exit_status, 0);
  assert_string_equal(run.text, "three");
  test_loop_close(&loop);
}

/* ---- Ending children ---- */

static void test_process_win_kill(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct run run;
  memset(&run, 0, sizeof(run));
  run.exit_status = -1;
  char *args[] = {"win-child", "sleep", "30000", NULL};
  ax_process_options_t options = {
      .exit_cb = run_exit_cb, .file = child_path(), .args = args};
  assert_int_equal(test_spawn(&loop, &run.process, &options), 0);
  assert_int_equal(ax_kill(run.process.pid, 0), 0);
  assert_int_equal(ax_process_kill(&run.process, 0), 0);
  assert_int_equal(ax_process_kill(&run.process, -1), AX_EINVAL);
  assert_int_equal(ax_process_kill(&run.process, SIGTERM), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(run.exits, 1);
  assert_int_equal(run.term_signal, SIGTERM);
  assert_int_equal(run.exit_status, 1);
  assert_int_equal(run.closed, 1);
  test_loop_close(&loop);
}

/* Closed before its end: no exit callback; ax_kill() by pid ends it. */
static void test_process_win_close_early(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_process_t process;
  char *args[] = {"win-child", "sleep", "30000", NULL};
  ax_process_options_t options = {
      .exit_cb = never_exit_cb, .file = child_path(), .args = args};
  assert_int_equal(test_spawn(&loop, &process, &options), 0);
  ax_pid_t pid = process.pid;
  int closed = 0;
  process.handle.data = &closed;
  test_process_close(&process, count_close_cb);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(closed, 1);
  assert_int_equal(ax_kill(pid, 9), 0);
  assert_int_equal(ax_kill(0, 0), AX_EINVAL);
  test_loop_close(&loop);
}

/* ---- Many ---- */

static void test_process_win_many(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  DWORD before = 0;
  assert_true(GetProcessHandleCount(GetCurrentProcess(), &before));
  char *args[] = {"win-child", "exit", "3", NULL};
  for (int i = 0; i < SPAWNS; i++) {
    struct run run;
    run_child(&loop, &run, args, NULL);
    assert_int_equal(run.exit_status, 3);
  }
  DWORD after = 0;
  assert_true(GetProcessHandleCount(GetCurrentProcess(), &after));
  /* A few for the pool's threads, not one per child. */
  assert_true(after <= before + 8);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_process_win_exit),
      cmocka_unit_test(test_process_win_errors),
      cmocka_unit_test(test_process_win_args),
      cmocka_unit_test(test_process_win_env_cwd),
      cmocka_unit_test(test_process_win_stdin),
      cmocka_unit_test(test_process_win_fd3),
      cmocka_unit_test(test_process_win_kill),
      cmocka_unit_test(test_process_win_close_early),
      cmocka_unit_test(test_process_win_many),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
