/*
 * test_process.c: child processes on POSIX systems: exit codes and
 * signals, killing, the environment, the working directory and PATH,
 * each kind of stdio entry and the descriptor shuffle, the signal state
 * a child starts with, detached children, the errors a spawn reports
 * itself (with no exit callback and no zombie), closing before the exit,
 * unreferenced handles, a thousand short-lived children with nothing
 * left behind, and a child of other code that the loop must not reap.
 *
 * The child is test/support/child.c (AX_TEST_CHILD names it). meson runs
 * this program twice per backend: once as it is (pidfds where Linux has
 * them) and once with AX_PROCESS_PIDFD=0, which makes the loop notice
 * exits through SIGCHLD.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

/* A child as a test follows it. */
struct child {
  ax_process_t process; /* The handle. */
  int exits;            /* Exit callbacks. */
  int64_t status;       /* The last one's exit status. */
  int signal;           /* The last one's signal. */
  bool keep_open;       /* Leave the handle open in the exit callback. */
};

static const char *child_path(void) {
  const char *path = getenv("AX_TEST_CHILD");
  assert_non_null(path);
  return path;
}

/* The directory of the test child, in dir; returns the child's name in
 * its path, from the slash before it. */
static const char *child_dir(char *dir, size_t size) {
  const char *path = child_path();
  const char *slash = strrchr(path, '/');
  assert_non_null(slash);
  snprintf(dir, size, "%.*s", (int)(slash - path), path);
  return slash;
}

/* Run the loop until nothing keeps it alive, then close it (checking
 * that no handle and no allocation is left). */
static void run_and_close(ax_loop_t *loop) {
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), 0);
  test_loop_close(loop);
}

static void child_exit_cb(ax_process_t *process, int64_t exit_status,
                          int term_signal) {
  struct child *c = ax_container_of(process, struct child, process);
  c->exits++;
  c->status = exit_status;
  c->signal = term_signal;
  if (!c->keep_open)
    ax_close(&process->handle, NULL);
}

/* Spawn the child program with mode and up to four more arguments
 * (NULL-terminated list in args, argv[0] and the mode prepended). */
static int child_spawn(ax_loop_t *loop, struct child *c, char **args,
                       ax_stdio_container_t *stdio, int stdio_count,
                       ax_process_options_t *extra) {
  char *argv[8];
  int n = 0;
  argv[n++] = (char *)child_path();
  for (int i = 0; args[i] != NULL && n < 7; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  ax_process_options_t options;
  if (extra != NULL)
    options = *extra;
  else
    memset(&options, 0, sizeof(options));
  options.exit_cb = child_exit_cb;
  if (options.file == NULL)
    options.file = child_path();
  options.args = argv;
  options.stdio = stdio;
  options.stdio_count = stdio_count;
  memset(c, 0, sizeof(*c) - sizeof(c->keep_open));
  c->signal = -1;
  c->status = -1;
  return ax_spawn(loop, &c->process, &options);
}

/* A close-on-exec pipe, whose write end a child gets as a slot. */
static void test_pipe(int fds[2]) {
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(fcntl(fds[0], F_SETFD, FD_CLOEXEC), 0);
  assert_int_equal(fcntl(fds[1], F_SETFD, FD_CLOEXEC), 0);
}

/* Read fd to its end into buf (NUL-terminated), then close it. */
static void read_all(int fd, char *buf, size_t size) {
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, buf + len, size - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    assert_true(n >= 0);
    if (n == 0)
      break;
    len += (size_t)n;
    assert_true(len < size - 1);
  }
  buf[len] = '\0';
  close(fd);
}

/* Run a child whose standard output is captured, to its exit; out holds
 * what it printed. */
static void run_captured(char **args, ax_process_options_t *extra,
                         struct child *c, char *out, size_t size) {
  ax_loop_t loop;
  test_loop_open(&loop);
  int fds[2];
  test_pipe(fds);
  ax_stdio_container_t stdio[3];
  stdio[0].flags = AX_STDIO_IGNORE;
  stdio[1].flags = AX_STDIO_INHERIT_FD;
  stdio[1].data.fd = fds[1];
  stdio[2].flags = AX_STDIO_INHERIT_FD;
  stdio[2].data.fd = 2;
  assert_int_equal(child_spawn(&loop, c, args, stdio, 3, extra), 0);
  close(fds[1]);
  run_and_close(&loop);
  read_all(fds[0], out, size);
  assert_int_equal(c->exits, 1);
}

/* No child of this process is left unreaped (zombie or running). */
static void assert_no_children(void) {
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
  assert_int_equal(errno, ECHILD);
}

static int count_open_fds(void) {
  int count = 0;
  for (int fd = 0; fd < 1024; fd++) {
    if (fcntl(fd, F_GETFD) >= 0)
      count++;
  }
  return count;
}

static void test_process_exit_code(void **state) {
  (void)state;
  ax_loop_t loop;
  struct child c;
  test_loop_open(&loop);
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"exit", "7", NULL}, NULL, 0, NULL), 0);
  assert_true(c.process.pid > 0);
  assert_int_equal(ax_process_get_pid(&c.process), c.process.pid);
  assert_true(ax_is_active(&c.process.handle));
  assert_true(ax_loop_alive(&loop));
  run_and_close(&loop);
  assert_int_equal(c.exits, 1);
  assert_int_equal(c.status, 7);
  assert_int_equal(c.signal, 0);
  assert_no_children();
}

static void test_process_term_signal(void **state) {
  (void)state;
  ax_loop_t loop;
  struct child c;
  test_loop_open(&loop);
  char num[16];
  snprintf(num, sizeof(num), "%d", SIGUSR1);
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"signal", num, NULL}, NULL, 0, NULL),
      0);
  run_and_close(&loop);
  assert_int_equal(c.exits, 1);
  assert_int_equal(c.status, 0);
  assert_int_equal(c.signal, SIGUSR1);
  assert_no_children();
}

/* Killed while it sleeps; after the exit, the pid is no longer its. */
static void test_process_kill(void **state) {
  (void)state;
  ax_loop_t loop;
  struct child c;
  test_loop_open(&loop);
  c.keep_open = true;
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"sleep", "20000", NULL}, NULL, 0, NULL),
      0);
  assert_int_equal(ax_process_kill(&c.process, 0), 0);
  assert_int_equal(ax_process_kill(&c.process, -1), AX_EINVAL);
  assert_int_equal(ax_process_kill(&c.process, SIGTERM), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(c.exits, 1);
  assert_int_equal(c.signal, SIGTERM);
  assert_false(ax_is_active(&c.process.handle));
  assert_int_equal(ax_process_kill(&c.process, SIGTERM), AX_ESRCH);
  assert_int_equal(ax_process_kill(NULL, SIGTERM), AX_EINVAL);
  ax_close(&c.process.handle, NULL);
  run_and_close(&loop);
  assert_int_equal(ax_kill(getpid(), 0), 0);
  assert_int_equal(ax_kill(c.process.pid, SIGTERM), AX_ESRCH);
  assert_no_children();
}

static void test_process_env_and_cwd(void **state) {
  (void)state;
  struct child c;
  char out[4096];
  ax_process_options_t options;
  memset(&options, 0, sizeof(options));
  char *env[] = {"AXLE_TEST_VALUE=forty two", NULL};
  options.env = env;
  run_captured((char *[]){"env", "AXLE_TEST_VALUE", NULL}, &options, &c, out,
               sizeof(out));
  assert_string_equal(out, "forty two");
  run_captured((char *[]){"env", "HOME", NULL}, &options, &c, out, sizeof(out));
  assert_string_equal(out, "(unset)");
  memset(&options, 0, sizeof(options));
  options.cwd = "/";
  run_captured((char *[]){"cwd", NULL}, &options, &c, out, sizeof(out));
  assert_string_equal(out, "/");
  assert_no_children();
}

/* A bare name is looked up in the child's PATH when its environment has
 * one; directories without the file, or not permitted, are skipped. */
static void test_process_path_lookup(void **state) {
  (void)state;
  char dir[4096];
  const char *slash = child_dir(dir, sizeof(dir));
  char env_path[8192];
  snprintf(env_path, sizeof(env_path), "PATH=/nonexistent::/etc/passwd:%s",
           dir);
  char *env[] = {env_path, NULL};
  ax_process_options_t options;
  memset(&options, 0, sizeof(options));
  options.env = env;
  options.file = slash + 1;
  struct child c;
  char out[4096];
  run_captured((char *[]){"env", "PATH", NULL}, &options, &c, out, sizeof(out));
  assert_string_equal(out, env_path + 5);
  assert_int_equal(c.status, 0);

  ax_loop_t loop;
  test_loop_open(&loop);
  env[0] = "PATH=/nonexistent:/etc";
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"exit", "0", NULL}, NULL, 0, &options),
      AX_ENOENT);
  run_and_close(&loop);
  assert_no_children();
}

/* Errors of exec, chdir and setuid come from ax_spawn itself: the handle
 * is not initialised, no exit callback runs and no child is left. */
static void test_process_spawn_errors(void **state) {
  (void)state;
  char dir[] = "/tmp/axle-process-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char plain[256];
  char garbage[256];
  snprintf(plain, sizeof(plain), "%s/plain", dir);
  snprintf(garbage, sizeof(garbage), "%s/garbage", dir);
  int fd = open(plain, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  assert_true(fd >= 0);
  close(fd);
  fd = open(garbage, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "\x01\x02\x03\x04 not a program\n", 20), 20);
  close(fd);

  struct {
    const char *file; /* NULL: the child program. */
    const char *cwd;
    int expected;
  } cases[] = {
      {"/nonexistent/program", NULL, AX_ENOENT},
      {"axle-no-such-program-anywhere", NULL, AX_ENOENT},
      {plain, NULL, AX_EACCES},
      {garbage, NULL, AX_ENOEXEC},
      {NULL, "/nonexistent/directory", AX_ENOENT},
      {NULL, plain, AX_ENOTDIR},
  };
  ax_loop_t loop;
  test_loop_open(&loop);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    ax_process_options_t options;
    memset(&options, 0, sizeof(options));
    options.file = cases[i].file;
    options.cwd = cases[i].cwd;
    struct child c;
    assert_int_equal(child_spawn(&loop, &c, (char *[]){"exit", "0", NULL}, NULL,
                                 0, &options),
                     cases[i].expected);
    assert_int_equal(test_count_handles(&loop), 0);
    assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
    assert_int_equal(c.exits, 0);
    assert_no_children();
  }
  run_and_close(&loop);
  unlink(plain);
  unlink(garbage);
  rmdir(dir);
}

/* A user id that is not one's own needs privilege: EPERM unprivileged;
 * as root, the child runs as that user. */
static void test_process_setuid(void **state) {
  (void)state;
  ax_process_options_t options;
  memset(&options, 0, sizeof(options));
  options.flags = AX_PROCESS_SETUID | AX_PROCESS_SETGID;
  options.uid = 65534;
  options.gid = 65534;
  struct child c;
  if (getuid() != 0) {
    ax_loop_t loop;
    test_loop_open(&loop);
    assert_int_equal(child_spawn(&loop, &c, (char *[]){"exit", "0", NULL}, NULL,
                                 0, &options),
                     AX_EPERM);
    run_and_close(&loop);
  } else {
    char out[64];
    run_captured((char *[]){"exit", "3", NULL}, &options, &c, out, sizeof(out));
    assert_int_equal(c.status, 3);
  }
  assert_no_children();
}

static void test_process_invalid(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_process_t process;
  ax_process_options_t options;
  memset(&options, 0, sizeof(options));
  options.file = child_path();
  assert_int_equal(ax_spawn(&loop, NULL, &options), AX_EINVAL);
  assert_int_equal(ax_spawn(&loop, &process, NULL), AX_EINVAL);
  assert_int_equal(ax_spawn(NULL, &process, &options), AX_EINVAL);
  options.file = "";
  assert_int_equal(ax_spawn(&loop, &process, &options), AX_EINVAL);
  options.file = NULL;
  assert_int_equal(ax_spawn(&loop, &process, &options), AX_EINVAL);
  options.file = child_path();
  options.flags = 0x1000;
  assert_int_equal(ax_spawn(&loop, &process, &options), AX_EINVAL);
  options.flags = 0;
  options.stdio_count = -1;
  assert_int_equal(ax_spawn(&loop, &process, &options), AX_EINVAL);
  options.stdio_count = 1;
  assert_int_equal(ax_spawn(&loop, &process, &options), AX_EINVAL);
  ax_stdio_container_t stdio[1];
  options.stdio = stdio;
  stdio[0].flags = AX_STDIO_CREATE_PIPE;
  stdio[0].data.stream = NULL;
  assert_int_equal(ax_spawn(&loop, &process, &options), AX_EINVAL);
  stdio[0].flags = AX_STDIO_INHERIT_FD;
  stdio[0].data.fd = -2;
  assert_int_equal(ax_spawn(&loop, &process, &options), AX_EINVAL);
  stdio[0].flags = AX_STDIO_INHERIT_FD | AX_STDIO_READABLE;
  stdio[0].data.fd = 0;
  assert_int_equal(ax_spawn(&loop, &process, &options), AX_EINVAL);
  stdio[0].flags = (ax_stdio_flags)0x40;
  assert_int_equal(ax_spawn(&loop, &process, &options), AX_EINVAL);
  stdio[0].flags = AX_STDIO_INHERIT_STREAM;
  stdio[0].data.stream = NULL;
  assert_int_equal(ax_spawn(&loop, &process, &options), AX_EINVAL);
  /* A TCP handle with no socket has nothing to inherit; and it is no
   * pipe to create. */
  ax_tcp_t tcp;
  assert_int_equal(ax_tcp_init(&loop, &tcp), 0);
  stdio[0].data.stream = &tcp.stream;
  assert_int_equal(ax_spawn(&loop, &process, &options), AX_EINVAL);
  stdio[0].flags = AX_STDIO_CREATE_PIPE;
  assert_int_equal(ax_spawn(&loop, &process, &options), AX_EINVAL);
  /* A descriptor that is not open: the child says EBADF. */
  stdio[0].flags = AX_STDIO_INHERIT_FD;
  stdio[0].data.fd = 1000;
  char *argv[] = {(char *)child_path(), "exit", "0", NULL};
  options.args = argv;
  assert_int_equal(ax_spawn(&loop, &process, &options), AX_EBADF);
  char *empty[] = {NULL};
  options.args = empty;
  assert_int_equal(ax_spawn(&loop, &process, &options), AX_EINVAL);
  ax_close(&tcp.stream.handle, NULL);
  assert_int_equal(ax_process_get_pid(NULL), 0);
  run_and_close(&loop);
  assert_no_children();
}

/* Slots whose sources are other slots' numbers (a swap), /dev/null for
 * ignored standard slots, ignored slots above 2 closed, and nothing past
 * stdio_count (a descriptor left open without close-on-exec) inherited. */
static void test_process_stdio_shuffle(void **state) {
  (void)state;
  int a[2];
  int b[2];
  int out[2];
  test_pipe(a);
  test_pipe(b);
  test_pipe(out);
  /* The write ends at 40 and 41, which the child's slots 41 and 40 take:
   * each source is the other's slot. */
  assert_int_equal(dup2(a[1], 40), 40);
  assert_int_equal(dup2(b[1], 41), 41);
  close(a[1]);
  close(b[1]);
  int stray = dup2(out[0], 60); /* Open, not close-on-exec. */
  assert_int_equal(stray, 60);
  ax_stdio_container_t stdio[42];
  for (int i = 0; i < 42; i++)
    stdio[i].flags = AX_STDIO_IGNORE;
  stdio[1].flags = AX_STDIO_INHERIT_FD;
  stdio[1].data.fd = out[1];
  stdio[40].flags = AX_STDIO_INHERIT_FD;
  stdio[40].data.fd = 41;
  stdio[41].flags = AX_STDIO_INHERIT_FD;
  stdio[41].data.fd = 40;

  ax_loop_t loop;
  struct child c;
  test_loop_open(&loop);
  assert_int_equal(child_spawn(&loop, &c,
                               (char *[]){"write", "40", "to-forty", "41",
                                          "to-forty-one", NULL},
                               stdio, 42, NULL),
                   0);
  struct child f;
  assert_int_equal(
      child_spawn(&loop, &f, (char *[]){"fds", NULL}, stdio, 42, NULL), 0);
  close(40);
  close(41);
  close(60);
  close(out[1]);
  run_and_close(&loop);
  assert_int_equal(c.status, 0);
  assert_int_equal(f.status, 0);
  char buf[4096];
  read_all(a[0], buf, sizeof(buf));
  assert_string_equal(buf, "to-forty-one"); /* a's end was at 40: slot 41. */
  read_all(b[0], buf, sizeof(buf));
  assert_string_equal(buf, "to-forty");
  read_all(out[0], buf, sizeof(buf));
  assert_string_equal(buf, "0:null 1 2:null 40 41");
  assert_no_children();
}

/* No stdio at all: 0, 1 and 2 are /dev/null, nothing else is open. */
static void test_process_stdio_none(void **state) {
  (void)state;
  struct child c;
  char out[4096];
  /* Only slot 1 is ours to read: the child checks it can write there. */
  run_captured((char *[]){"fds", NULL}, NULL, &c, out, sizeof(out));
  assert_string_equal(out, "0:null 1 2");
  ax_loop_t loop;
  test_loop_open(&loop);
  assert_int_equal(child_spawn(&loop, &c, (char *[]){"write", "1", "x", NULL},
                               NULL, 0, NULL),
                   0);
  run_and_close(&loop);
  assert_int_equal(c.status, 0); /* Written to /dev/null. */
  assert_no_children();
}

/* The child starts with no signal blocked and default dispositions, what
 * this process does with its own notwithstanding. */
static void test_process_signal_state(void **state) {
  (void)state;
  struct sigaction ignore;
  struct sigaction saved_action;
  memset(&ignore, 0, sizeof(ignore));
  ignore.sa_handler = SIG_IGN;
  assert_int_equal(sigaction(SIGPIPE, &ignore, &saved_action), 0);
  sigset_t block;
  sigset_t saved_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  assert_int_equal(sigprocmask(SIG_BLOCK, &block, &saved_mask), 0);
  struct child c;
  char out[64];
  run_captured((char *[]){"sigs", NULL}, NULL, &c, out, sizeof(out));
  assert_int_equal(sigprocmask(SIG_SETMASK, &saved_mask, NULL), 0);
  assert_int_equal(sigaction(SIGPIPE, &saved_action, NULL), 0);
  assert_string_equal(out, "clean");
  assert_no_children();
}

static void test_process_detached(void **state) {
  (void)state;
  struct child c;
  char out[64];
  run_captured((char *[]){"sid", NULL}, NULL, &c, out, sizeof(out));
  assert_string_equal(out, "member");
  ax_process_options_t options;
  memset(&options, 0, sizeof(options));
  options.flags = AX_PROCESS_DETACHED;
  run_captured((char *[]){"sid", NULL}, &options, &c, out, sizeof(out));
  assert_string_equal(out, "leader");
  assert_no_children();
}

/* An unreferenced handle does not keep the loop running; referenced
 * again, it does, until the exit. */
static void test_process_unref(void **state) {
  (void)state;
  ax_loop_t loop;
  struct child c;
  test_loop_open(&loop);
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"sleep", "20000", NULL}, NULL, 0, NULL),
      0);
  ax_unref(&c.process.handle);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(c.exits, 0);
  ax_ref(&c.process.handle);
  assert_int_equal(ax_process_kill(&c.process, SIGKILL), 0);
  run_and_close(&loop);
  assert_int_equal(c.exits, 1);
  assert_int_equal(c.signal, SIGKILL);
  assert_no_children();
}

/* Polls, 10 ms apart, for a pid to be reaped: a zombie still answers
 * kill(pid, 0), a reaped child does not. Bounded to 10 s. */
struct reap_wait {
  ax_timer_t timer; /* Repeating. */
  pid_t pid;        /* The child. */
  int polls;        /* Ticks so far. */
};

static void reap_wait_cb(ax_timer_t *timer) {
  struct reap_wait *w = ax_container_of(timer, struct reap_wait, timer);
  if (kill(w->pid, 0) != 0 || ++w->polls >= 1000)
    ax_close(&timer->handle, NULL);
}

/* A handle closed before its child ends: no exit callback, and the child
 * is reaped all the same when it ends, while the loop runs. A child still
 * running when the loop closes is let go (this process reaps it here). */
static void test_process_close_before_exit(void **state) {
  (void)state;
  ax_loop_t loop;
  struct child c;
  test_loop_open(&loop);
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"sleep", "50", NULL}, NULL, 0, NULL),
      0);
  struct reap_wait w = {.pid = c.process.pid};
  ax_close(&c.process.handle, NULL);
  assert_int_equal(ax_timer_init(&loop, &w.timer), 0);
  assert_int_equal(ax_timer_start(&w.timer, reap_wait_cb, 10, 10), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_true(w.polls < 1000);
  assert_int_equal(kill(w.pid, 0), -1);
  assert_int_equal(errno, ESRCH);
  assert_int_equal(c.exits, 0);
  assert_no_children();

  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"sleep", "20000", NULL}, NULL, 0, NULL),
      0);
  pid_t pid = c.process.pid;
  ax_close(&c.process.handle, NULL);
  run_and_close(&loop);
  assert_int_equal(c.exits, 0);
  assert_int_equal(kill(pid, SIGKILL), 0);
  assert_int_equal(waitpid(pid, NULL, 0), pid);
  assert_no_children();
}

/* Many short-lived children, up to 50 at a time: every one reported once,
 * no descriptor and no zombie left. */
enum { MANY_CHILDREN = 1000, MANY_AT_ONCE = 50 };

struct many {
  ax_loop_t *loop;
  struct child children[MANY_AT_ONCE];
  int started;  /* Spawned so far. */
  int exited;   /* Exit callbacks so far. */
  int failures; /* Wrong statuses. */
};

static void many_close_cb(ax_handle_t *handle);

static void many_exit_cb(ax_process_t *process, int64_t exit_status,
                         int term_signal) {
  struct many *m = process->handle.data;
  struct child *c = ax_container_of(process, struct child, process);
  m->exited++;
  if (exit_status != (c - m->children) % 2 || term_signal != 0)
    m->failures++;
  ax_close(&process->handle, many_close_cb);
}

/* /bin/true and /bin/false in turn (not the child program, which may be
 * built with sanitizers that take a while to start): statuses 0 and 1. */
static void many_spawn(struct many *m, struct child *c) {
  char *file = (c - m->children) % 2 == 0 ? "/bin/true" : "/bin/false";
  char *argv[] = {file, NULL};
  ax_process_options_t options;
  memset(&options, 0, sizeof(options));
  options.file = file;
  options.args = argv;
  options.exit_cb = many_exit_cb;
  if (ax_spawn(m->loop, &c->process, &options) != 0) {
    m->failures++;
    return;
  }
  c->process.handle.data = m;
  m->started++;
}

/* Each exit closes its handle; each close callback starts the next child
 * in the same struct, until MANY_CHILDREN have started. */
static void many_close_cb(ax_handle_t *handle) {
  struct many *m = handle->data;
  struct child *c = ax_container_of((ax_process_t *)handle, struct child,
                                    process);
  if (m->started < MANY_CHILDREN)
    many_spawn(m, c);
}

static void test_process_many_children(void **state) {
  (void)state;
  int fds_before = count_open_fds();
  ax_loop_t loop;
  test_loop_open(&loop);
  static struct many m;
  memset(&m, 0, sizeof(m));
  m.loop = &loop;
  for (int i = 0; i < MANY_AT_ONCE; i++)
    many_spawn(&m, &m.children[i]);
  /* libkqueue opens and closes descriptors of its own as filters come
   * and go: no count tells a leak there. */
  bool libkqueue = test_links_libkqueue() &&
                   strcmp(ax_backend_name(&loop), "kqueue") == 0;
  run_and_close(&loop);
  assert_int_equal(m.failures, 0);
  assert_int_equal(m.started, MANY_CHILDREN);
  assert_int_equal(m.exited, MANY_CHILDREN);
  if (!libkqueue)
    assert_int_equal(count_open_fds(), fds_before);
  assert_no_children();
}

/* A child killed while it writes to a pipe nobody reads. */
static void test_process_killed_mid_write(void **state) {
  (void)state;
  int fds[2];
  test_pipe(fds);
  ax_stdio_container_t stdio[2];
  stdio[0].flags = AX_STDIO_IGNORE;
  stdio[1].flags = AX_STDIO_INHERIT_FD;
  stdio[1].data.fd = fds[1];
  ax_loop_t loop;
  struct child c;
  test_loop_open(&loop);
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"spam", NULL}, stdio, 2, NULL), 0);
  close(fds[1]);
  char buf[4096];
  assert_true(read(fds[0], buf, sizeof(buf)) > 0); /* It writes. */
  assert_int_equal(ax_process_kill(&c.process, SIGKILL), 0);
  run_and_close(&loop);
  close(fds[0]);
  assert_int_equal(c.exits, 1);
  assert_int_equal(c.signal, SIGKILL);
  assert_no_children();
}

/* A child this process forked itself, as other code would: the loop
 * reaps its own children only, so its status is still there to read. */
static void test_process_foreign_child(void **state) {
  (void)state;
  pid_t foreign = fork();
  assert_true(foreign >= 0);
  if (foreign == 0)
    _exit(42);
  ax_loop_t loop;
  struct child c;
  test_loop_open(&loop);
  /* The foreign child ends first, most likely, and its SIGCHLD comes
   * while ours runs. */
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"sleep", "50", NULL}, NULL, 0, NULL),
      0);
  run_and_close(&loop);
  assert_int_equal(c.exits, 1);
  assert_int_equal(c.status, 0);
  int status = 0;
  assert_int_equal(waitpid(foreign, &status, 0), foreign);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 42);
  assert_no_children();
}

/* ---- Pipes ---- */

/* A pipe end read to EOF into a buffer. */
struct reader {
  ax_pipe_t pipe;  /* The parent's end. */
  char data[4096]; /* What came, NUL-terminated. */
  size_t len;      /* Its length. */
  int eof;         /* End-of-file seen. */
};

static void reader_alloc_cb(ax_handle_t *handle, size_t suggested_size,
                            ax_buf_t *buf) {
  (void)suggested_size;
  struct reader *r = ax_container_of((ax_pipe_t *)handle, struct reader, pipe);
  buf->base = r->data + r->len;
  buf->len = sizeof(r->data) - 1 - r->len;
}

static void reader_read_cb(ax_stream_t *stream, ssize_t nread,
                           const ax_buf_t *buf) {
  (void)buf;
  struct reader *r = ax_container_of((ax_pipe_t *)stream, struct reader, pipe);
  if (nread > 0) {
    r->len += (size_t)nread;
    r->data[r->len] = '\0';
  } else if (nread < 0) {
    r->eof++;
    ax_close(&stream->handle, NULL);
  }
}

/* The child echoes what it reads on a pipe to another: both directions,
 * and end of file each way. */
static void test_process_pipes_echo(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_pipe_t in;
  struct reader out;
  memset(&out, 0, sizeof(out));
  assert_int_equal(ax_pipe_init(&loop, &in, false), 0);
  assert_int_equal(ax_pipe_init(&loop, &out.pipe, false), 0);
  ax_stdio_container_t stdio[3];
  stdio[0].flags = AX_STDIO_CREATE_PIPE | AX_STDIO_READABLE;
  stdio[0].data.stream = &in.stream;
  stdio[1].flags = AX_STDIO_CREATE_PIPE | AX_STDIO_WRITABLE;
  stdio[1].data.stream = &out.pipe.stream;
  stdio[2].flags = AX_STDIO_INHERIT_FD;
  stdio[2].data.fd = 2;
  struct child c;
  int err = child_spawn(&loop, &c, (char *[]){"echo", NULL}, stdio, 3, NULL);
  assert_int_equal(err, 0);
  assert_int_equal(
      ax_read_start(&out.pipe.stream, reader_alloc_cb, reader_read_cb), 0);
  ax_write_t write_req;
  ax_buf_t buf = ax_buf_init((char *)"through the child", 17);
  assert_int_equal(ax_write(&write_req, &in.stream, &buf, 1, NULL), 0);
  ax_shutdown_t shutdown_req;
  assert_int_equal(ax_shutdown(&shutdown_req, &in.stream, NULL), 0);
  ax_close(&in.stream.handle, NULL);
  run_and_close(&loop);
  assert_int_equal(c.exits, 1);
  assert_int_equal(c.status, 0);
  assert_int_equal(out.eof, 1);
  assert_string_equal(out.data, "through the child");
  assert_no_children();
}

/* A child killed while it writes to a pipe the loop reads: the read ends,
 * the exit is reported. */
static void test_process_pipe_killed_mid_write(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct reader out;
  memset(&out, 0, sizeof(out));
  assert_int_equal(ax_pipe_init(&loop, &out.pipe, false), 0);
  ax_stdio_container_t stdio[2];
  stdio[0].flags = AX_STDIO_IGNORE;
  stdio[1].flags = AX_STDIO_CREATE_PIPE | AX_STDIO_WRITABLE;
  stdio[1].data.stream = &out.pipe.stream;
  struct child c;
  int err = child_spawn(&loop, &c, (char *[]){"spam", NULL}, stdio, 2, NULL);
  assert_int_equal(err, 0);
  /* Not read: the child fills the pipe and blocks in write. */
  assert_int_equal(ax_process_kill(&c.process, SIGKILL), 0);
  assert_int_equal(
      ax_read_start(&out.pipe.stream, reader_alloc_cb, reader_read_cb), 0);
  run_and_close(&loop);
  assert_int_equal(c.exits, 1);
  assert_int_equal(c.signal, SIGKILL);
  assert_int_equal(out.eof, 1);
  assert_no_children();
}

/* A pipe's own descriptor given to the child (INHERIT_STREAM): what the
 * child writes to its slot 1 arrives at the pipe's other end. */
static void test_process_inherit_stream(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_pipe_t pipe;
  assert_int_equal(ax_pipe_init(&loop, &pipe, false), 0);
  int fds[2];
  test_pipe(fds);
  assert_int_equal(ax_pipe_open(&pipe, fds[1]), 0);
  ax_stdio_container_t stdio[2];
  stdio[0].flags = AX_STDIO_IGNORE;
  stdio[1].flags = AX_STDIO_INHERIT_STREAM;
  stdio[1].data.stream = &pipe.stream;
  struct child c;
  assert_int_equal(child_spawn(&loop, &c,
                               (char *[]){"write", "1", "inherited", NULL},
                               stdio, 2, NULL),
                   0);
  ax_close(&pipe.stream.handle, NULL);
  run_and_close(&loop);
  char buf[64];
  read_all(fds[0], buf, sizeof(buf));
  assert_string_equal(buf, "inherited");
  assert_int_equal(c.status, 0);
  assert_no_children();
}

/* A pipe initialised for IPC gets a socket the child may pass handles
 * over, at whatever slot it names (here 3, both ways). */
static void test_process_ipc_pipe(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_pipe_t ipc;
  assert_int_equal(ax_pipe_init(&loop, &ipc, true), 0);
  int fds[2];
  test_pipe(fds);
  ax_stdio_container_t stdio[4];
  stdio[0].flags = AX_STDIO_IGNORE;
  stdio[1].flags = AX_STDIO_INHERIT_FD;
  stdio[1].data.fd = fds[1];
  stdio[2].flags = AX_STDIO_IGNORE;
  stdio[3].flags = AX_STDIO_CREATE_PIPE | AX_STDIO_READABLE | AX_STDIO_WRITABLE;
  stdio[3].data.stream = &ipc.stream;
  struct child c;
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"issock", "3", NULL}, stdio, 4, NULL),
      0);
  close(fds[1]);
  /* A pipe that has its descriptor cannot be given another. */
  struct child again;
  assert_int_equal(
      child_spawn(&loop, &again, (char *[]){"exit", "0", NULL}, stdio, 4, NULL),
      AX_EINVAL);
  ax_close(&ipc.stream.handle, NULL);
  run_and_close(&loop);
  char buf[64];
  read_all(fds[0], buf, sizeof(buf));
  assert_string_equal(buf, "socket");
  assert_no_children();
}

/* ---- Behaviours a libuv program relies on ---- */

/* A stdio slot for a new pipe the child writes and the parent reads. */
static void stdio_pipe_out(ax_stdio_container_t *slot, ax_pipe_t *pipe) {
  slot->flags = AX_STDIO_CREATE_PIPE | AX_STDIO_WRITABLE;
  slot->data.stream = &pipe->stream;
}

/* A stdio slot for a new pipe the parent writes and the child reads. */
static void stdio_pipe_in(ax_stdio_container_t *slot, ax_pipe_t *pipe) {
  slot->flags = AX_STDIO_CREATE_PIPE | AX_STDIO_READABLE;
  slot->data.stream = &pipe->stream;
}

/* A stdio slot for the parent's descriptor fd, as it is. */
static void stdio_fd(ax_stdio_container_t *slot, int fd) {
  slot->flags = AX_STDIO_INHERIT_FD;
  slot->data.fd = fd;
}

/* A reader with nothing read yet, its pipe open on loop. */
static void reader_open(ax_loop_t *loop, struct reader *r) {
  memset(r, 0, sizeof(*r));
  assert_int_equal(ax_pipe_init(loop, &r->pipe, false), 0);
}

static void reader_start(struct reader *r) {
  assert_int_equal(
      ax_read_start(&r->pipe.stream, reader_alloc_cb, reader_read_cb), 0);
}

/* The child's stdin from the new pipe in and its stdout to the new pipe
 * out, both opened on loop, in stdio[0] and stdio[1]. */
static void stdio_in_out(ax_loop_t *loop, ax_pipe_t *in, ax_pipe_t *out,
                         ax_stdio_container_t stdio[2]) {
  assert_int_equal(ax_pipe_init(loop, in, false), 0);
  assert_int_equal(ax_pipe_init(loop, out, false), 0);
  stdio_pipe_in(&stdio[0], in);
  stdio_pipe_out(&stdio[1], out);
}

/* Options that run the test child with argv (argv[0] its path). */
static void child_options(ax_process_options_t *options, char **argv,
                          ax_exit_cb exit_cb) {
  memset(options, 0, sizeof(*options));
  options->file = child_path();
  options->args = argv;
  options->exit_cb = exit_cb;
}

/* Arguments reach the child as they were given: spaces, an empty one,
 * quotes, tabs and shell characters are not interpreted. */
static void test_process_args_verbatim(void **state) {
  (void)state;
  struct child c;
  char out[4096];
  run_captured((char *[]){"args", "two words", "", "quo\"te'd", "tab\there",
                          "$HOME *", NULL},
               NULL, &c, out, sizeof(out));
  assert_string_equal(out, "two words||quo\"te'd|tab\there|$HOME *");
  assert_int_equal(c.status, 0);
  assert_no_children();
}

/* Many arguments, beyond any small fixed array. */
static void test_process_many_args(void **state) {
  (void)state;
  enum { COUNT = 300 };
  char *argv[COUNT + 3];
  argv[0] = (char *)child_path();
  argv[1] = "args";
  for (int i = 0; i < COUNT; i++)
    argv[2 + i] = "x";
  argv[COUNT + 2] = NULL;
  ax_loop_t loop;
  test_loop_open(&loop);
  int fds[2];
  test_pipe(fds);
  ax_stdio_container_t stdio[2];
  stdio[0].flags = AX_STDIO_IGNORE;
  stdio_fd(&stdio[1], fds[1]);
  ax_process_options_t options;
  child_options(&options, argv, child_exit_cb);
  options.stdio = stdio;
  options.stdio_count = 2;
  struct child c;
  memset(&c, 0, sizeof(c));
  assert_int_equal(ax_spawn(&loop, &c.process, &options), 0);
  close(fds[1]);
  run_and_close(&loop);
  char out[4096];
  read_all(fds[0], out, sizeof(out));
  assert_int_equal(strlen(out), 2 * COUNT - 1);
  for (int i = 0; i < COUNT; i++)
    assert_int_equal(out[2 * i], 'x');
  assert_int_equal(c.exits, 1);
  assert_int_equal(c.status, 0);
  assert_no_children();
}

/* The whole range of exit statuses: 1 and 255 come back as they were. */
static void test_process_exit_status_range(void **state) {
  (void)state;
  static const char *const statuses[] = {"1", "128", "255"};
  for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
    ax_loop_t loop;
    struct child c;
    test_loop_open(&loop);
    assert_int_equal(child_spawn(&loop, &c,
                                 (char *[]){"exit", (char *)statuses[i], NULL},
                                 NULL, 0, NULL),
                     0);
    run_and_close(&loop);
    assert_int_equal(c.exits, 1);
    assert_int_equal(c.status, atoi(statuses[i]));
    assert_int_equal(c.signal, 0);
  }
  assert_no_children();
}

/* env NULL: the child gets this process's environment, changes made with
 * setenv() included; an empty env: nothing at all. */
static void test_process_env_inherited_and_empty(void **state) {
  (void)state;
  assert_int_equal(setenv("AXLE_TEST_INHERITED", "from the parent", 1), 0);
  struct child c;
  char out[4096];
  run_captured((char *[]){"env", "AXLE_TEST_INHERITED", NULL}, NULL, &c, out,
               sizeof(out));
  assert_string_equal(out, "from the parent");
  ax_process_options_t options;
  memset(&options, 0, sizeof(options));
  char *empty[] = {NULL};
  options.env = empty;
  run_captured((char *[]){"env", "AXLE_TEST_INHERITED", NULL}, &options, &c,
               out, sizeof(out));
  assert_string_equal(out, "(unset)");
  run_captured((char *[]){"env", "PATH", NULL}, &options, &c, out, sizeof(out));
  assert_string_equal(out, "(unset)");
  assert_int_equal(unsetenv("AXLE_TEST_INHERITED"), 0);
  assert_no_children();
}

/* A working directory whose name has spaces. */
static void test_process_cwd_with_spaces(void **state) {
  (void)state;
  char dir[] = "/tmp/axle process cwd XXXXXX";
  assert_non_null(mkdtemp(dir));
  char real[4096];
  assert_non_null(realpath(dir, real));
  ax_process_options_t options;
  memset(&options, 0, sizeof(options));
  options.cwd = dir;
  struct child c;
  char out[4096];
  run_captured((char *[]){"cwd", NULL}, &options, &c, out, sizeof(out));
  assert_string_equal(out, real);
  assert_int_equal(rmdir(dir), 0);
  assert_no_children();
}

/* A pipe end read to EOF, counting bytes and checking the "bytes"
 * pattern at each offset. */
struct counter {
  ax_pipe_t pipe;  /* The parent's end. */
  char buf[65536]; /* Read into. */
  size_t len;      /* Bytes so far. */
  int bad;         /* Bytes that broke the pattern. */
  int eof;         /* AX_EOF seen. */
  int error;       /* Another read error, or 0. */
};

static void counter_alloc_cb(ax_handle_t *handle, size_t suggested_size,
                             ax_buf_t *buf) {
  (void)suggested_size;
  struct counter *k = ax_container_of((ax_pipe_t *)handle, struct counter,
                                      pipe);
  *buf = ax_buf_init(k->buf, sizeof(k->buf));
}

static void counter_read_cb(ax_stream_t *stream, ssize_t nread,
                            const ax_buf_t *buf) {
  struct counter *k = ax_container_of((ax_pipe_t *)stream, struct counter,
                                      pipe);
  for (ssize_t i = 0; i < nread; i++) {
    if (buf->base[i] != (char)('a' + (k->len + (size_t)i) % 26))
      k->bad++;
  }
  if (nread > 0)
    k->len += (size_t)nread;
  if (nread == AX_EOF)
    k->eof++;
  else if (nread < 0)
    k->error = (int)nread;
  if (nread < 0)
    ax_close(&stream->handle, NULL);
}

/* A child writes far more than a pipe holds (64 KiB on Linux) to a
 * CREATE_PIPE stdout and exits: every byte arrives, in order, then EOF;
 * the exit is reported once whichever comes first. */
static void test_process_stdout_larger_than_pipe(void **state) {
  (void)state;
  enum { BYTES = 1024 * 1024 };
  ax_loop_t loop;
  test_loop_open(&loop);
  static struct counter out;
  memset(&out, 0, sizeof(out));
  assert_int_equal(ax_pipe_init(&loop, &out.pipe, false), 0);
  ax_stdio_container_t stdio[2];
  stdio[0].flags = AX_STDIO_IGNORE;
  stdio_pipe_out(&stdio[1], &out.pipe);
  struct child c;
  char count[16];
  snprintf(count, sizeof(count), "%d", BYTES);
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"bytes", count, NULL}, stdio, 2, NULL),
      0);
  assert_int_equal(
      ax_read_start(&out.pipe.stream, counter_alloc_cb, counter_read_cb), 0);
  run_and_close(&loop);
  assert_int_equal(c.exits, 1);
  assert_int_equal(c.status, 0);
  assert_int_equal(out.len, BYTES);
  assert_int_equal(out.bad, 0);
  assert_int_equal(out.eof, 1);
  assert_int_equal(out.error, 0);
  assert_no_children();
}

/* The parent closes the child's stdin pipe at once, before writing
 * anything: the child reads EOF and ends normally. */
static void test_process_stdin_closed_at_once(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_pipe_t in;
  struct reader out;
  memset(&out, 0, sizeof(out));
  ax_stdio_container_t stdio[2];
  stdio_in_out(&loop, &in, &out.pipe, stdio);
  struct child c;
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"echo", NULL}, stdio, 2, NULL), 0);
  ax_close(&in.stream.handle, NULL);
  reader_start(&out);
  run_and_close(&loop);
  assert_int_equal(c.exits, 1);
  assert_int_equal(c.status, 0);
  assert_int_equal(out.eof, 1);
  assert_int_equal(out.len, 0);
  assert_no_children();
}

/* stdout and stderr as two pipes, each read to its own EOF; and both as
 * one descriptor (INHERIT_FD twice), where the writes arrive in order. */
static void test_process_stdout_and_stderr(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct reader out;
  struct reader err;
  reader_open(&loop, &out);
  reader_open(&loop, &err);
  ax_stdio_container_t stdio[3];
  stdio[0].flags = AX_STDIO_IGNORE;
  stdio_pipe_out(&stdio[1], &out.pipe);
  stdio_pipe_out(&stdio[2], &err.pipe);
  struct child c;
  assert_int_equal(
      child_spawn(&loop, &c,
                  (char *[]){"write", "1", "to out", "2", "to err", NULL},
                  stdio, 3, NULL),
      0);
  reader_start(&out);
  reader_start(&err);
  run_and_close(&loop);
  assert_string_equal(out.data, "to out");
  assert_string_equal(err.data, "to err");
  assert_int_equal(out.eof + err.eof, 2);
  assert_int_equal(c.status, 0);

  int fds[2];
  test_pipe(fds);
  test_loop_open(&loop);
  stdio_fd(&stdio[1], fds[1]);
  stdio_fd(&stdio[2], fds[1]);
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"write", "1", "out,", "2", "err", NULL},
                  stdio, 3, NULL),
      0);
  close(fds[1]);
  run_and_close(&loop);
  char buf[64];
  read_all(fds[0], buf, sizeof(buf));
  assert_string_equal(buf, "out,err");
  assert_no_children();
}

/* A CREATE_PIPE entry past the standard three, not for IPC: the child
 * writes to its descriptor 3 and the parent reads it. */
static void test_process_pipe_at_slot_3(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct reader extra;
  reader_open(&loop, &extra);
  ax_stdio_container_t stdio[4];
  for (int i = 0; i < 3; i++)
    stdio[i].flags = AX_STDIO_IGNORE;
  stdio_pipe_out(&stdio[3], &extra.pipe);
  struct child c;
  assert_int_equal(child_spawn(&loop, &c,
                               (char *[]){"write", "3", "on three", NULL},
                               stdio, 4, NULL),
                   0);
  reader_start(&extra);
  run_and_close(&loop);
  assert_string_equal(extra.data, "on three");
  assert_int_equal(extra.eof, 1);
  assert_int_equal(c.status, 0);
  assert_no_children();
}

/* No exit callback: the child runs, ends, is reaped, and the handle
 * stops being active, so the loop ends; the handle is then closed. */
static void test_process_no_exit_cb(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  char *argv[] = {(char *)child_path(), "exit", "3", NULL};
  ax_process_options_t options;
  child_options(&options, argv, NULL);
  ax_process_t process;
  assert_int_equal(ax_spawn(&loop, &process, &options), 0);
  assert_true(ax_is_active(&process.handle));
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_false(ax_is_active(&process.handle));
  assert_false(ax_loop_alive(&loop));
  assert_int_equal(ax_process_kill(&process, 0), AX_ESRCH);
  ax_close(&process.handle, NULL);
  run_and_close(&loop);
  assert_no_children();
}

/* Each exit callback spawns the next child, on another handle, and closes
 * its own: a chain of five, each reported once. */
struct chain {
  ax_loop_t *loop;
  struct child children[5];
  int next; /* The index of the next child to start. */
  int failures;
};

static void chain_exit_cb(ax_process_t *process, int64_t exit_status,
                          int term_signal);

static void chain_spawn(struct chain *chain) {
  struct child *c = &chain->children[chain->next];
  char status[4];
  snprintf(status, sizeof(status), "%d", chain->next);
  char *argv[] = {(char *)child_path(), "exit", status, NULL};
  ax_process_options_t options;
  child_options(&options, argv, chain_exit_cb);
  if (ax_spawn(chain->loop, &c->process, &options) != 0)
    chain->failures++;
  c->process.handle.data = chain;
  chain->next++;
}

static void chain_exit_cb(ax_process_t *process, int64_t exit_status,
                          int term_signal) {
  struct chain *chain = process->handle.data;
  struct child *c = ax_container_of(process, struct child, process);
  c->exits++;
  c->status = exit_status;
  c->signal = term_signal;
  ax_close(&process->handle, NULL);
  if (chain->next < 5)
    chain_spawn(chain);
}

static void test_process_spawn_from_exit_cb(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct chain chain;
  memset(&chain, 0, sizeof(chain));
  chain.loop = &loop;
  chain_spawn(&chain);
  run_and_close(&loop);
  assert_int_equal(chain.failures, 0);
  assert_int_equal(chain.next, 5);
  for (int i = 0; i < 5; i++) {
    assert_int_equal(chain.children[i].exits, 1);
    assert_int_equal(chain.children[i].status, i);
    assert_int_equal(chain.children[i].signal, 0);
  }
  assert_no_children();
}

/* Killed while it reads its stdin pipe and writes its stdout pipe: the
 * signal is reported, the output reaches EOF, the stdin pipe is closed
 * by its owner. */
static void test_process_kill_with_pipes(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_pipe_t in;
  struct reader out;
  memset(&out, 0, sizeof(out));
  ax_stdio_container_t stdio[2];
  stdio_in_out(&loop, &in, &out.pipe, stdio);
  struct child c;
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"echo", NULL}, stdio, 2, NULL), 0);
  reader_start(&out);
  assert_int_equal(ax_process_kill(&c.process, SIGTERM), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(c.exits, 1);
  assert_int_equal(c.signal, SIGTERM);
  assert_int_equal(out.eof, 1);
  /* The stdin pipe was never read or written: it kept nothing alive, and
   * is still open for its owner to close. */
  assert_false(ax_is_closing(&in.stream.handle));
  ax_close(&in.stream.handle, NULL);
  run_and_close(&loop);
  assert_no_children();
}

/* A signal number the system does not know: AX_EINVAL from both calls,
 * and the child goes on running. */
static void test_process_kill_bad_signal(void **state) {
  (void)state;
  ax_loop_t loop;
  struct child c;
  test_loop_open(&loop);
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"sleep", "20000", NULL}, NULL, 0, NULL),
      0);
  assert_int_equal(ax_process_kill(&c.process, 1000), AX_EINVAL);
  assert_int_equal(ax_kill(c.process.pid, 1000), AX_EINVAL);
  assert_int_equal(ax_kill(c.process.pid, -1), AX_EINVAL);
  assert_int_equal(ax_process_kill(&c.process, 0), 0);
  assert_int_equal(ax_kill(c.process.pid, SIGKILL), 0);
  run_and_close(&loop);
  assert_int_equal(c.exits, 1);
  assert_int_equal(c.signal, SIGKILL);
  assert_no_children();
}

/* A TCP listener's socket given to the child (INHERIT_STREAM), as a
 * server hands its port to a worker. */
static void test_process_inherit_tcp(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_tcp_t tcp;
  assert_int_equal(ax_tcp_init(&loop, &tcp), 0);
  struct sockaddr_in addr;
  assert_int_equal(ax_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(ax_tcp_bind(&tcp, (const struct sockaddr *)&addr, 0), 0);
  int fds[2];
  test_pipe(fds);
  ax_stdio_container_t stdio[4];
  stdio[0].flags = AX_STDIO_IGNORE;
  stdio_fd(&stdio[1], fds[1]);
  stdio[2].flags = AX_STDIO_IGNORE;
  stdio[3].flags = AX_STDIO_INHERIT_STREAM;
  stdio[3].data.stream = &tcp.stream;
  struct child c;
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"issock", "3", NULL}, stdio, 4, NULL),
      0);
  close(fds[1]);
  ax_close(&tcp.stream.handle, NULL);
  run_and_close(&loop);
  char buf[64];
  read_all(fds[0], buf, sizeof(buf));
  assert_string_equal(buf, "socket");
  assert_int_equal(c.status, 0);
  assert_no_children();
}

/* The program watches SIGCHLD itself, as some libuv programs do: its
 * handle is called, and the exit is still reported (with pidfds and
 * with the loop's own SIGCHLD handling alike). */
static int sigchld_calls;

static void sigchld_cb(ax_signal_t *signal, int signum) {
  (void)signal;
  assert_int_equal(signum, SIGCHLD);
  sigchld_calls++;
}

static void sigchld_exit_cb(ax_process_t *process, int64_t exit_status,
                            int term_signal) {
  child_exit_cb(process, exit_status, term_signal);
  ax_signal_t *signal = process->handle.data;
  ax_close(&signal->handle, NULL);
}

static void test_process_user_sigchld_handle(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_signal_t signal;
  assert_int_equal(ax_signal_init(&loop, &signal), 0);
  assert_int_equal(ax_signal_start(&signal, SIGCHLD, sigchld_cb), 0);
  sigchld_calls = 0;
  char *argv[] = {(char *)child_path(), "exit", "9", NULL};
  ax_process_options_t options;
  child_options(&options, argv, sigchld_exit_cb);
  struct child c;
  memset(&c, 0, sizeof(c));
  assert_int_equal(ax_spawn(&loop, &c.process, &options), 0);
  c.process.handle.data = &signal;
  run_and_close(&loop);
  assert_int_equal(c.exits, 1);
  assert_int_equal(c.status, 9);
  assert_no_children();
}

/* Whether a pipe has a descriptor. */
static bool pipe_has_fd(const ax_pipe_t *pipe) {
  ax_os_fd_t fd;
  return ax_fileno(&pipe->stream.handle, &fd) != AX_EBADF;
}

/* A spawn that fails (no such program) leaves its CREATE_PIPE streams as
 * they were, with no descriptor and none leaked: the same pipes serve
 * the next spawn. */
static void test_process_failed_spawn_keeps_pipes(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  int fds_before = count_open_fds();
  ax_pipe_t in;
  struct reader out;
  memset(&out, 0, sizeof(out));
  ax_stdio_container_t stdio[2];
  stdio_in_out(&loop, &in, &out.pipe, stdio);
  ax_process_options_t options;
  memset(&options, 0, sizeof(options));
  options.file = "/nonexistent/program";
  struct child c;
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"echo", NULL}, stdio, 2, &options),
      AX_ENOENT);
  /* libkqueue opens descriptors of its own when a filter is first used,
   * which the count would take for a leak. */
  if (!test_links_libkqueue())
    assert_int_equal(count_open_fds(), fds_before);
  assert_false(pipe_has_fd(&in));
  assert_false(pipe_has_fd(&out.pipe));
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"echo", NULL}, stdio, 2, NULL), 0);
  reader_start(&out);
  ax_write_t write_req;
  ax_buf_t buf = ax_buf_init((char *)"second try", 10);
  assert_int_equal(ax_write(&write_req, &in.stream, &buf, 1, NULL), 0);
  ax_close(&in.stream.handle, NULL);
  run_and_close(&loop);
  assert_string_equal(out.data, "second try");
  assert_int_equal(c.status, 0);
  assert_no_children();
}

/* One pipe named by two CREATE_PIPE entries cannot hold both ends: the
 * spawn is refused before any child starts, and the pipe is untouched. */
static void test_process_same_pipe_twice(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  int fds_before = count_open_fds();
  ax_pipe_t pipe;
  assert_int_equal(ax_pipe_init(&loop, &pipe, false), 0);
  ax_stdio_container_t stdio[3];
  stdio[0].flags = AX_STDIO_IGNORE;
  stdio_pipe_out(&stdio[1], &pipe);
  stdio_pipe_out(&stdio[2], &pipe);
  struct child c;
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"exit", "0", NULL}, stdio, 3, NULL),
      AX_EINVAL);
  assert_false(pipe_has_fd(&pipe));
  /* libkqueue opens descriptors of its own when a filter is first used. */
  if (!test_links_libkqueue())
    assert_int_equal(count_open_fds(), fds_before);
  assert_int_equal(test_count_handles(&loop), 1);
  ax_close(&pipe.stream.handle, NULL);
  run_and_close(&loop);
  assert_int_equal(c.exits, 0);
  assert_no_children();
}

/* A relative file with a slash is found from the child's working
 * directory, as libuv's execvp() after chdir() finds it. */
static void test_process_relative_file_and_cwd(void **state) {
  (void)state;
  char dir[4096];
  const char *slash = child_dir(dir, sizeof(dir));
  char file[4096];
  snprintf(file, sizeof(file), ".%s", slash);
  ax_process_options_t options;
  memset(&options, 0, sizeof(options));
  options.cwd = dir;
  options.file = file;
  struct child c;
  char out[4096];
  run_captured((char *[]){"cwd", NULL}, &options, &c, out, sizeof(out));
  assert_int_equal(c.status, 0);
  char real[4096];
  assert_non_null(realpath(dir, real));
  assert_string_equal(out, real);
  assert_no_children();
}

/* A detached child leads a process group of its own: ax_kill() with the
 * negated pid signals the whole group, as kill(2) and uv_kill() do. */
static void test_process_kill_group(void **state) {
  (void)state;
  ax_loop_t loop;
  struct child c;
  test_loop_open(&loop);
  ax_process_options_t options;
  memset(&options, 0, sizeof(options));
  options.flags = AX_PROCESS_DETACHED;
  assert_int_equal(child_spawn(&loop, &c, (char *[]){"sleep", "20000", NULL},
                               NULL, 0, &options),
                   0);
  assert_int_equal(ax_kill(-c.process.pid, 0), 0);
  assert_int_equal(ax_kill(-c.process.pid, SIGTERM), 0);
  run_and_close(&loop);
  assert_int_equal(c.exits, 1);
  assert_int_equal(c.signal, SIGTERM);
  assert_no_children();
}

/* A child stopped (SIGSTOP) and continued has not ended: no exit
 * callback until it really ends, with pidfds and SIGCHLD alike. */
struct stop_check {
  ax_timer_t timer; /* Ticks while the child is stopped. */
  struct child *c;  /* The child. */
  int ticks;        /* Ticks so far. */
  int exits_seen;   /* Exit callbacks seen while it was stopped. */
};

static void stop_check_cb(ax_timer_t *timer) {
  struct stop_check *s = ax_container_of(timer, struct stop_check, timer);
  s->ticks++;
  if (s->ticks == 1) {
    assert_int_equal(ax_process_kill(&s->c->process, SIGSTOP), 0);
    return;
  }
  if (s->ticks < 6)
    return; /* Several iterations with the child stopped. */
  s->exits_seen = s->c->exits;
  assert_int_equal(ax_process_kill(&s->c->process, SIGCONT), 0);
  assert_int_equal(ax_process_kill(&s->c->process, SIGKILL), 0);
  ax_close(&timer->handle, NULL);
}

static void test_process_stopped_is_not_ended(void **state) {
  (void)state;
  ax_loop_t loop;
  struct child c;
  test_loop_open(&loop);
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"sleep", "20000", NULL}, NULL, 0, NULL),
      0);
  struct stop_check s = {.c = &c};
  assert_int_equal(ax_timer_init(&loop, &s.timer), 0);
  assert_int_equal(ax_timer_start(&s.timer, stop_check_cb, 10, 10), 0);
  run_and_close(&loop);
  assert_int_equal(s.exits_seen, 0);
  assert_int_equal(c.exits, 1);
  assert_int_equal(c.signal, SIGKILL);
  assert_no_children();
}

/* A mebibyte through a child both ways at once: written to its stdin
 * while its stdout is read, so neither pipe's fill stops the other
 * (the child only reads when it can write). */
static void close_after_shutdown_cb(ax_shutdown_t *req, int status) {
  assert_int_equal(status, 0);
  ax_close(&req->handle->handle, NULL);
}

static void test_process_echo_megabyte(void **state) {
  (void)state;
  enum { BYTES = 1024 * 1024, CHUNK = 64 * 1024 };
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_pipe_t in;
  static struct counter out;
  memset(&out, 0, sizeof(out));
  ax_stdio_container_t stdio[2];
  stdio_in_out(&loop, &in, &out.pipe, stdio);
  struct child c;
  assert_int_equal(
      child_spawn(&loop, &c, (char *[]){"echo", NULL}, stdio, 2, NULL), 0);
  assert_int_equal(
      ax_read_start(&out.pipe.stream, counter_alloc_cb, counter_read_cb), 0);
  char *data = malloc(BYTES);
  assert_non_null(data);
  for (size_t i = 0; i < BYTES; i++)
    data[i] = (char)('a' + i % 26);
  static ax_write_t writes[BYTES / CHUNK];
  for (size_t i = 0; i < BYTES / CHUNK; i++) {
    ax_buf_t buf = ax_buf_init(data + i * CHUNK, CHUNK);
    assert_int_equal(ax_write(&writes[i], &in.stream, &buf, 1, NULL), 0);
  }
  /* Closed once the writes are out: a close would cancel those queued. */
  ax_shutdown_t shutdown_req;
  assert_int_equal(
      ax_shutdown(&shutdown_req, &in.stream, close_after_shutdown_cb), 0);
  run_and_close(&loop);
  free(data);
  assert_int_equal(c.exits, 1);
  assert_int_equal(c.status, 0);
  assert_int_equal(out.len, BYTES);
  assert_int_equal(out.bad, 0);
  assert_int_equal(out.eof, 1);
  assert_no_children();
}

/* Blocking or not, the child's standard descriptors: a new pipe's end is
 * blocking, as programs expect (a non-blocking stdout makes printf()
 * fail with EAGAIN). An inherited stream or descriptor is the parent's
 * open file, and keeps its O_NONBLOCK: libuv clears it in the child for
 * slots 0 to 2, which also turns the parent's own handle blocking under
 * it; axle leaves the parent's file alone (docs/coming-from-libuv.md).
 * c outlives the call: its handle's close may end in a later run. */
static void nonblock_report(ax_loop_t *loop, struct child *c,
                            ax_stdio_container_t *slot1, char *answer,
                            size_t size) {
  int report[2];
  test_pipe(report);
  ax_stdio_container_t stdio[4];
  stdio[0].flags = AX_STDIO_IGNORE;
  stdio[1] = *slot1;
  stdio[2].flags = AX_STDIO_IGNORE;
  stdio_fd(&stdio[3], report[1]);
  c->keep_open = false;
  assert_int_equal(child_spawn(loop, c, (char *[]){"nonblock", "1", "3", NULL},
                               stdio, 4, NULL),
                   0);
  close(report[1]);
  while (c->exits == 0)
    assert_int_equal(ax_run(loop, AX_RUN_ONCE), 0);
  assert_int_equal(c->status, 0);
  read_all(report[0], answer, size);
}

static void test_process_stdio_blocking(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  char answer[32];
  struct child kids[3];
  int n = 0;
  struct reader out;
  reader_open(&loop, &out);
  ax_stdio_container_t slot;
  stdio_pipe_out(&slot, &out.pipe);
  nonblock_report(&loop, &kids[n++], &slot, answer, sizeof(answer));
  assert_string_equal(answer, "blocking");
  ax_close(&out.pipe.stream.handle, NULL);

  ax_pipe_t mine;
  int fds[2];
  test_pipe(fds);
  assert_int_equal(ax_pipe_init(&loop, &mine, false), 0);
  assert_int_equal(ax_pipe_open(&mine, fds[1]), 0);
  slot.flags = AX_STDIO_INHERIT_STREAM;
  slot.data.stream = &mine.stream;
  nonblock_report(&loop, &kids[n++], &slot, answer, sizeof(answer));
  assert_string_equal(answer, "nonblocking");
  stdio_fd(&slot, fds[1]);
  nonblock_report(&loop, &kids[n++], &slot, answer, sizeof(answer));
  assert_string_equal(answer, "nonblocking");
  /* The parent's handle still has the non-blocking file it needs. */
  assert_true(fcntl(fds[1], F_GETFL) & O_NONBLOCK);
  ax_close(&mine.stream.handle, NULL);
  run_and_close(&loop);
  close(fds[0]);
  assert_no_children();
}

/* The registry's lock is made once per process and kept: make it before
 * any test counts allocations (SIGCHLD is watched through it). */
static void noop_signal_cb(ax_signal_t *signal, int signum) {
  (void)signal;
  (void)signum;
}

static int setup_registry(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_signal_t signal;
  if (ax_loop_init(&loop) != 0 || ax_signal_init(&loop, &signal) != 0 ||
      ax_signal_start(&signal, SIGUSR2, noop_signal_cb) != 0)
    return -1;
  ax_close(&signal.handle, NULL);
  if (ax_run(&loop, AX_RUN_DEFAULT) != 0)
    return -1;
  return ax_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_process_exit_code),
      cmocka_unit_test(test_process_term_signal),
      cmocka_unit_test(test_process_kill),
      cmocka_unit_test(test_process_env_and_cwd),
      cmocka_unit_test(test_process_path_lookup),
      cmocka_unit_test(test_process_spawn_errors),
      cmocka_unit_test(test_process_setuid),
      cmocka_unit_test(test_process_invalid),
      cmocka_unit_test(test_process_stdio_shuffle),
      cmocka_unit_test(test_process_stdio_none),
      cmocka_unit_test(test_process_signal_state),
      cmocka_unit_test(test_process_detached),
      cmocka_unit_test(test_process_unref),
      cmocka_unit_test(test_process_close_before_exit),
      cmocka_unit_test(test_process_many_children),
      cmocka_unit_test(test_process_killed_mid_write),
      cmocka_unit_test(test_process_foreign_child),
      cmocka_unit_test(test_process_pipes_echo),
      cmocka_unit_test(test_process_pipe_killed_mid_write),
      cmocka_unit_test(test_process_inherit_stream),
      cmocka_unit_test(test_process_ipc_pipe),
      cmocka_unit_test(test_process_args_verbatim),
      cmocka_unit_test(test_process_many_args),
      cmocka_unit_test(test_process_exit_status_range),
      cmocka_unit_test(test_process_env_inherited_and_empty),
      cmocka_unit_test(test_process_cwd_with_spaces),
      cmocka_unit_test(test_process_stdout_larger_than_pipe),
      cmocka_unit_test(test_process_stdin_closed_at_once),
      cmocka_unit_test(test_process_stdout_and_stderr),
      cmocka_unit_test(test_process_pipe_at_slot_3),
      cmocka_unit_test(test_process_no_exit_cb),
      cmocka_unit_test(test_process_spawn_from_exit_cb),
      cmocka_unit_test(test_process_kill_with_pipes),
      cmocka_unit_test(test_process_kill_bad_signal),
      cmocka_unit_test(test_process_inherit_tcp),
      cmocka_unit_test(test_process_user_sigchld_handle),
      cmocka_unit_test(test_process_failed_spawn_keeps_pipes),
      cmocka_unit_test(test_process_same_pipe_twice),
      cmocka_unit_test(test_process_relative_file_and_cwd),
      cmocka_unit_test(test_process_kill_group),
      cmocka_unit_test(test_process_stopped_is_not_ended),
      cmocka_unit_test(test_process_echo_megabyte),
      cmocka_unit_test(test_process_stdio_blocking),
  };
  return cmocka_run_group_tests(tests, setup_registry, NULL);
}
