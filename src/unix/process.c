/*
 * unix/process.c: child processes on POSIX systems (src/child.h).
 *
 * Starting: the parent prepares a plan (unix/spawn-os.h) with every string,
 * array and descriptor the child needs, blocks every signal, and starts
 * the child (clone as vfork on Linux unless uid or gid change, fork elsewhere).
 * The child resets signal dispositions and its mask, arranges its descriptors
 * and execs; if anything fails it writes errno to a close-on-exec error
 * pipe and exits. The parent reads that pipe: end of file means the exec
 * happened; a number is the error, returned by ax_spawn() after the
 * failed child is reaped, so a spawn that fails leaves no exit to report
 * and no zombie.
 *
 * Exits: each loop keeps its children in a list (struct process_loop,
 * made with the first child and freed with the last). Where the kernel
 * has pidfds (Linux 5.3), each child's pidfd is watched by the backend
 * like any descriptor, and becomes readable when the child ends. Else, or
 * with AX_PROCESS_PIDFD=0 in the environment, the loop watches SIGCHLD
 * through an internal signal handle (started before the first such child,
 * so no signal is missed), and on each delivery calls waitpid(pid,
 * WNOHANG) for its own children only: the children of other code in the
 * process are never reaped here.
 *
 * A handle closed before its child ended leaves the child's record in the
 * list, an orphan that is reaped when the child ends, as long as the loop
 * lives. ax_loop_close() reaps the orphans that have ended and lets go of
 * the others, which the system reparents when this process ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../child.h"
#include "spawn-os.h"

/* The search path when neither the child's environment nor this
 * process's names one (glibc's confstr(_CS_PATH)). */
static const char process_default_path[] = "/bin:/usr/bin";

extern char **environ;

/* One loop's children. */
struct process_loop {
  ax_loop_t *loop;           /* The loop. */
  struct ax__queue children; /* struct ax__process_sys, oldest first. */
  ax_signal_t sigchld; /* SIGCHLD, unreferenced and outside the loop's list
                          of handles: a part of the loop, not the user's. */
  unsigned int sigchld_children; /* Children watched through SIGCHLD. */
  bool pidfd;                    /* Whether new children get pidfds. */
  bool scanning;                 /* In process_sigchld_cb(): do not free. */
};

/* One child, from spawn until it is reaped. */
struct ax__process_sys {
  ax__io_t io;               /* The pidfd, or fd -1 (SIGCHLD). */
  pid_t pid;                 /* The child. */
  ax_process_t *process;     /* Its handle, or NULL once closed. */
  struct process_loop *home; /* The loop's children. */
  struct ax__queue node;     /* In home->children. */
};

/* ---- The child ---- */

static _Noreturn void spawn_child_fail(const struct ax__spawn_plan *plan,
                                       int err) {
  while (write(plan->error_fd, &err, sizeof(err)) < 0 && errno == EINTR)
    continue;
  _exit(127);
}

/* Handlers run in the parent's memory after vfork: every signal stays
 * blocked (the parent blocked them) until each disposition is the
 * default. Ignored signals are reset too, as a new program expects. */
static void spawn_child_signals(void) {
  struct sigaction action;
  memset(&action, 0, sizeof(action));
  action.sa_handler = SIG_DFL;
  for (int signum = 1; signum < NSIG; signum++) {
    if (signum != SIGKILL && signum != SIGSTOP)
      (void)sigaction(signum, &action, NULL); /* EINVAL: the C library's. */
  }
  sigset_t none;
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, NULL);
}

static int spawn_child_dup2(int from, int to) {
  while (dup2(from, to) < 0) {
    if (errno != EINTR)
      return errno;
  }
  return 0;
}

/* Slot i gets fds[i]. A source that is itself a slot number (another
 * entry's, or where 0..2 go) is first copied above the slots, so that no
 * dup2 closes a descriptor another slot still needs. The error pipe is
 * moved above them too. */
static int spawn_child_stdio(struct ax__spawn_plan *plan) {
  int count = plan->stdio_count;
  if (plan->error_fd < count) {
    int fd = fcntl(plan->error_fd, F_DUPFD_CLOEXEC, count);
    if (fd < 0)
      return errno;
    plan->error_fd = fd;
  }
  for (int i = 0; i < count; i++) {
    int fd = plan->fds[i];
    if (fd >= 0 && fd < count && fd != i) {
      fd = fcntl(fd, F_DUPFD_CLOEXEC, count);
      if (fd < 0)
        return errno;
      plan->fds[i] = fd;
    }
  }
  for (int i = 0; i < count; i++) {
    int fd = plan->fds[i];
    int err = 0;
    if (fd == i) {
      if (fcntl(i, F_SETFD, 0) != 0) /* Inherited across exec. */
        err = errno;
    } else if (fd >= 0) {
      err = spawn_child_dup2(fd, i);
    } else if (i > 2) {
      (void)close(i);
    } else {
      fd = open("/dev/null", i == 0 ? O_RDONLY : O_RDWR);
      if (fd < 0)
        return errno;
      if (fd != i) {
        err = spawn_child_dup2(fd, i);
        (void)close(fd);
      }
    }
    if (err != 0)
      return err;
  }
  ax__spawn_close_from(count, plan->error_fd, plan->fd_limit);
  return 0;
}

/* execve, looking the name up in the search path as execvp does: a
 * directory where the file is missing or not permitted is skipped, and
 * EACCES is reported if no directory had the file. The error. */
static int spawn_child_exec(struct ax__spawn_plan *plan) {
  if (plan->search == NULL) {
    execve(plan->file, plan->argv, plan->envp);
    return errno;
  }
  bool denied = false;
  const char *dir = plan->search;
  for (;;) {
    const char *end = dir;
    while (*end != '\0' && *end != ':')
      end++;
    size_t len = (size_t)(end - dir);
    if (len == 0)
      plan->path_buf[len++] = '.'; /* An empty entry is the directory. */
    else
      memcpy(plan->path_buf, dir, len);
    plan->path_buf[len] = '/';
    memcpy(plan->path_buf + len + 1, plan->file, plan->file_len + 1);
    execve(plan->path_buf, plan->argv, plan->envp);
    if (errno == EACCES)
      denied = true;
    else if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP &&
             errno != ENAMETOOLONG)
      return errno;
    if (*end == '\0')
      return denied ? EACCES : ENOENT;
    dir = end + 1;
  }
}

_Noreturn void ax__spawn_child(struct ax__spawn_plan *plan) {
  spawn_child_signals();
  if ((plan->flags & AX_PROCESS_DETACHED) && setsid() < 0)
    spawn_child_fail(plan, errno);
  int err = spawn_child_stdio(plan);
  if (err != 0)
    spawn_child_fail(plan, err);
  if (plan->cwd != NULL && chdir(plan->cwd) != 0)
    spawn_child_fail(plan, errno);
  /* Supplementary groups would keep the parent's rights: dropped when
   * either id changes, if permitted (as libuv does). */
  if (plan->flags & (AX_PROCESS_SETUID | AX_PROCESS_SETGID))
    (void)setgroups(0, NULL);
  if ((plan->flags & AX_PROCESS_SETGID) && setgid((gid_t)plan->gid) != 0)
    spawn_child_fail(plan, errno);
  if ((plan->flags & AX_PROCESS_SETUID) && setuid((uid_t)plan->uid) != 0)
    spawn_child_fail(plan, errno);
  spawn_child_fail(plan, spawn_child_exec(plan));
}

/* ---- The plan ---- */

/* The search path: the child's PATH if its environment is given and has
 * one, else this process's, else the default. */
static const char *spawn_search_path(const ax_process_options_t *options) {
  if (options->env != NULL) {
    for (char **item = options->env; *item != NULL; item++) {
      if (strncmp(*item, "PATH=", 5) == 0)
        return *item + 5;
    }
  }
  const char *path = getenv("PATH");
  return path != NULL ? path : process_default_path;
}

static int spawn_fd_limit(void) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 ||
      limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > (rlim_t)(~0u >> 1))
    return (int)(~0u >> 1);
  return (int)limit.rlim_cur;
}

/* Fill plan from options; its fds array holds 2 * stdio_count entries:
 * the child's descriptor per slot, then the parent's end of each new
 * pipe (or -1). The strings are the caller's, not copied. */
static int spawn_plan_init(struct ax__spawn_plan *plan, char **default_argv,
                           const ax_process_options_t *options) {
  memset(plan, 0, sizeof(*plan));
  plan->file = options->file;
  plan->file_len = strlen(options->file);
  default_argv[0] = (char *)options->file;
  default_argv[1] = NULL;
  plan->argv = options->args != NULL ? options->args : default_argv;
  plan->envp = options->env != NULL ? options->env : environ;
  plan->cwd = options->cwd;
  plan->flags = options->flags;
  plan->uid = options->uid;
  plan->gid = options->gid;
  /* 0, 1 and 2 are /dev/null when no entry names them. */
  plan->stdio_count = options->stdio_count > 3 ? options->stdio_count : 3;
  plan->error_fd = -1;
  plan->fd_limit = spawn_fd_limit();
  size_t fds_len = 2 * (size_t)plan->stdio_count;
  if (strchr(options->file, '/') == NULL) {
    plan->search = spawn_search_path(options);
    plan->path_buf = ax__malloc(strlen(plan->search) + plan->file_len + 3);
    if (plan->path_buf == NULL)
      return AX_ENOMEM;
  }
  plan->fds = ax__malloc(fds_len * sizeof(int));
  if (plan->fds == NULL)
    return AX_ENOMEM;
  for (size_t i = 0; i < fds_len; i++)
    plan->fds[i] = -1;
  return 0;
}

/* Close the descriptors of the plan: the child's ends of new pipes, and
 * with parent_too the parent's ends (a spawn that failed). */
static void spawn_plan_close(struct ax__spawn_plan *plan, bool parent_too) {
  int count = plan->stdio_count;
  for (int i = 0; plan->fds != NULL && i < count; i++) {
    if (plan->fds[count + i] < 0)
      continue;
    ax__close_fd(plan->fds[i]);
    plan->fds[i] = -1;
    if (parent_too) {
      ax__close_fd(plan->fds[count + i]);
      plan->fds[count + i] = -1;
    }
  }
}

static void spawn_plan_free(struct ax__spawn_plan *plan) {
  ax__free(plan->path_buf);
  ax__free(plan->fds);
}

/* The descriptors each slot gives the child, making the new pipes. */
static int spawn_plan_stdio(struct ax__spawn_plan *plan,
                            const ax_process_options_t *options) {
  int count = plan->stdio_count;
  for (int i = 0; i < options->stdio_count; i++) {
    const ax_stdio_container_t *entry = &options->stdio[i];
    unsigned int kind = (unsigned int)entry->flags &
                        ~(unsigned int)(AX_STDIO_READABLE | AX_STDIO_WRITABLE);
    if (kind == AX_STDIO_INHERIT_FD) {
      plan->fds[i] = entry->data.fd;
    } else if (kind == AX_STDIO_INHERIT_STREAM) {
      if (entry->data.stream->priv.sock.fd < 0)
        return AX_EINVAL; /* Nothing open to inherit. */
      plan->fds[i] = entry->data.stream->priv.sock.fd;
    } else if (kind == AX_STDIO_CREATE_PIPE) {
      if (entry->data.stream->priv.sock.fd >= 0)
        return AX_EINVAL; /* The pipe has a descriptor already. */
      int pair[2];
      if (ax__spawn_socketpair(pair) != 0)
        return ax_translate_sys_error(errno);
      plan->fds[count + i] = pair[0];
      plan->fds[i] = pair[1];
    }
  }
  return 0;
}

/* ---- The loop's children ---- */

/* Whether the kernel gives pidfds: asked once per process, with this
 * process's own pid (seccomp may refuse the call where the kernel has
 * it). 0 unknown, 1 yes, 2 no. */
static int process_pidfd_state;

static bool process_pidfd_usable(void) {
  const char *env = getenv("AX_PROCESS_PIDFD");
  if (env != NULL && strcmp(env, "0") == 0)
    return false;
  int state = __atomic_load_n(&process_pidfd_state, __ATOMIC_RELAXED);
  if (state == 0) {
    int fd = ax__spawn_pidfd_open(getpid());
    state = fd >= 0 ? 1 : 2;
    if (fd >= 0)
      ax__close_fd(fd);
    __atomic_store_n(&process_pidfd_state, state, __ATOMIC_RELAXED);
  }
  return state == 1;
}

static void process_sigchld_cb(ax_signal_t *signal, int signum);

static struct process_loop *process_loop_get(ax_loop_t *loop) {
  struct process_loop *home = loop->priv.platform.processes;
  if (home != NULL)
    return home;
  home = ax__malloc(sizeof(*home));
  if (home == NULL)
    return NULL;
  home->loop = loop;
  ax__queue_init(&home->children);
  home->sigchld_children = 0;
  home->pidfd = process_pidfd_usable();
  home->scanning = false;
  /* The handle lives outside the loop's list, so that ax_walk() and
   * ax_loop_close() see only the user's handles, and unreferenced, so
   * that it keeps no loop alive (the children's handles do). */
  int err = ax_signal_init(loop, &home->sigchld);
  assert(err == 0 && "axle: a signal handle init failed on a ready loop");
  (void)err;
  ax__queue_remove(&home->sigchld.handle.priv.node);
  ax__queue_init(&home->sigchld.handle.priv.node);
  ax_unref(&home->sigchld.handle);
  loop->priv.platform.processes = home;
  return home;
}

/* Free the loop's record once it has no child left. */
static void process_loop_release(struct process_loop *home) {
  if (!ax__queue_empty(&home->children) || home->scanning)
    return;
  assert(home->sigchld_children == 0);
  home->loop->priv.platform.processes = NULL;
  ax__free(home);
}

/* Start watching SIGCHLD before a child that needs it exists. */
static int process_sigchld_watch(struct process_loop *home) {
  if (home->sigchld_children > 0)
    return 0;
  return ax_signal_start(&home->sigchld, SIGCHLD, process_sigchld_cb);
}

static void process_sigchld_unwatch(struct process_loop *home) {
  if (home->sigchld_children == 0)
    (void)ax_signal_stop(&home->sigchld);
}

/* Forget a reaped (or abandoned) child: its pidfd or its share of the
 * SIGCHLD watch, and its record. The handle, if any, is returned. */
static ax_process_t *process_forget(struct ax__process_sys *sys) {
  struct process_loop *home = sys->home;
  ax_process_t *process = sys->process;
  if (sys->io.fd >= 0) {
    ax__io_stop(home->loop, &sys->io, AX__IO_READ);
    ax__close_fd(sys->io.fd);
  } else {
    home->sigchld_children--;
    process_sigchld_unwatch(home);
  }
  ax__queue_remove(&sys->node);
  ax__free(sys);
  if (process != NULL)
    process->priv.sys = NULL;
  return process;
}

/* Reap the child if it has ended, and report it: whether it had. */
static bool process_reap(struct ax__process_sys *sys) {
  int status = 0;
  pid_t pid;
  do {
    pid = waitpid(sys->pid, &status, WNOHANG);
  } while (pid < 0 && errno == EINTR);
  if (pid == 0)
    return false;
  /* pid < 0 (ECHILD): other code reaped it with waitpid(-1); it ended
   * all the same, and its status is lost: reported as 0. */
  int64_t exit_status = 0;
  int term_signal = 0;
  if (pid > 0 && WIFEXITED(status))
    exit_status = WEXITSTATUS(status);
  else if (pid > 0 && WIFSIGNALED(status))
    term_signal = WTERMSIG(status);
  ax_process_t *process = process_forget(sys);
  if (process != NULL)
    ax__process_exited(process, exit_status, term_signal);
  return true;
}

static void process_pidfd_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                             intptr_t events) {
  (void)op;
  (void)events;
  struct ax__process_sys *sys = ax_container_of(io, struct ax__process_sys, io);
  struct process_loop *home = sys->home;
  if (process_reap(sys))
    process_loop_release(home);
  (void)loop;
}

/* A SIGCHLD came (for one of ours, or of anyone's): try each child of the
 * loop watched this way. Callbacks may spawn (new children go to the end
 * of the list, and wait for the next signal, which they will raise if
 * they end) or close handles (their records stay): the walk takes the
 * list apart, as signal dispatch does. */
static void process_sigchld_cb(ax_signal_t *signal, int signum) {
  (void)signum;
  struct process_loop *home = ax_container_of(signal, struct process_loop,
                                              sigchld);
  struct ax__queue snapshot;
  home->scanning = true;
  ax__queue_move(&home->children, &snapshot);
  while (!ax__queue_empty(&snapshot)) {
    struct ax__queue *node = ax__queue_head(&snapshot);
    ax__queue_remove(node);
    ax__queue_insert_tail(&home->children, node);
    struct ax__process_sys *sys = ax_container_of(node, struct ax__process_sys,
                                                  node);
    if (sys->io.fd < 0)
      (void)process_reap(sys);
  }
  home->scanning = false;
  process_loop_release(home);
}

/* ---- Spawning ---- */

/* The child has started, or failed to: read the error pipe until the
 * exec closes it (0) or the child writes its errno. */
static int spawn_wait_exec(int error_fd) {
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(error_fd, &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  if (n == 0)
    return 0;
  if (n != (ssize_t)sizeof(child_errno))
    return AX_EIO; /* Cannot happen: a pipe's small write is atomic. */
  return ax_translate_sys_error(child_errno);
}

/* A child we give up on: ended and reaped here and now, so that it
 * leaves no zombie (a failed exec has exited already). */
static void spawn_reap_now(pid_t pid, bool kill_it) {
  if (kill_it)
    (void)kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
    continue;
}

/* Fork and exec with the error pipe: the child's pid, or an error with
 * no child left. */
static int spawn_run(struct ax__spawn_plan *plan, pid_t *pid_out) {
  int error_pipe[2];
  if (ax__spawn_pipe(error_pipe) != 0)
    return ax_translate_sys_error(errno);
  plan->error_fd = error_pipe[1];
  /* Under ThreadSanitizer a child sharing the parent's memory would reset
   * its signal dispositions through TSan's interceptors, in TSan's
   * tables, which are the parent's: the parent's handlers would be gone.
   * fork() is what TSan knows how to follow. */
  bool share = !(plan->flags & (AX_PROCESS_SETUID | AX_PROCESS_SETGID)) &&
               !AX__UNDER_TSAN;
  sigset_t all;
  sigset_t saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  pid_t pid = ax__spawn_start(plan, share);
  int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  ax__close_fd(error_pipe[1]);
  int err = pid < 0 ? ax_translate_sys_error(fork_errno)
                    : spawn_wait_exec(error_pipe[0]);
  ax__close_fd(error_pipe[0]);
  if (err != 0 && pid > 0)
    spawn_reap_now(pid, false);
  *pid_out = pid;
  return err;
}

/* Give each new pipe its end. On a failure the pipes opened before keep
 * theirs (there is no taking a descriptor back from a pipe); the caller
 * ends the child, so they only see its end. */
static int spawn_open_pipes(struct ax__spawn_plan *plan,
                            const ax_process_options_t *options) {
  int count = plan->stdio_count;
  for (int i = 0; i < options->stdio_count; i++) {
    int fd = plan->fds[count + i];
    if (fd < 0)
      continue;
    int err = ax_pipe_open((ax_pipe_t *)options->stdio[i].data.stream, fd);
    if (err != 0)
      return err;
    plan->fds[count + i] = -1;
  }
  return 0;
}

/* Watch the new child's end, by pidfd or SIGCHLD (already started). */
static int spawn_watch(struct process_loop *home, struct ax__process_sys *sys) {
  if (!home->pidfd)
    return 0;
  int fd = ax__spawn_pidfd_open(sys->pid);
  if (fd < 0)
    return fd;
  ax__io_init(&sys->io, process_pidfd_cb, fd);
  int err = ax__io_start(home->loop, &sys->io, AX__IO_READ);
  if (err != 0) {
    ax__close_fd(fd);
    sys->io.fd = -1;
  }
  return err;
}

/* Run the child and hand its pipes and its end over: 0, or an error with
 * the child (if any) ended and reaped. */
static int spawn_start_child(struct process_loop *home,
                             struct ax__process_sys *sys,
                             struct ax__spawn_plan *plan,
                             const ax_process_options_t *options) {
  int err = spawn_run(plan, &sys->pid);
  if (err != 0)
    return err;
  /* The child has its copies: the parent's would keep the pipes from
   * ever reading as ended. */
  spawn_plan_close(plan, false);
  err = spawn_open_pipes(plan, options);
  if (err == 0)
    err = spawn_watch(home, sys);
  if (err != 0)
    spawn_reap_now(sys->pid, true);
  return err;
}

/* What the plan holds is released in every case; the record joins the
 * loop's list only for a child that runs. In SIGCHLD mode the child is
 * counted before it exists, so that the watch is on when it ends. */
int ax__process_spawn(ax_loop_t *loop, ax_process_t *process,
                      const ax_process_options_t *options) {
  struct process_loop *home = process_loop_get(loop);
  if (home == NULL)
    return AX_ENOMEM;
  struct ax__process_sys *sys = ax__malloc(sizeof(*sys));
  if (sys == NULL) {
    process_loop_release(home);
    return AX_ENOMEM;
  }
  ax__io_init(&sys->io, process_pidfd_cb, -1);
  sys->pid = 0;
  sys->process = process;
  sys->home = home;
  struct ax__spawn_plan plan;
  char *default_argv[2];
  bool counted = false;
  int err = spawn_plan_init(&plan, default_argv, options);
  if (err == 0)
    err = spawn_plan_stdio(&plan, options);
  if (err == 0 && !home->pidfd) {
    err = process_sigchld_watch(home);
    counted = err == 0;
    home->sigchld_children += counted ? 1 : 0;
  }
  if (err == 0)
    err = spawn_start_child(home, sys, &plan, options);
  spawn_plan_close(&plan, err != 0);
  spawn_plan_free(&plan);
  if (err != 0) {
    if (counted) {
      home->sigchld_children--;
      process_sigchld_unwatch(home);
    }
    ax__free(sys);
    process_loop_release(home);
    return err;
  }
  ax__queue_insert_tail(&home->children, &sys->node);
  process->pid = sys->pid;
  process->priv.sys = sys;
  return 0;
}

int ax__process_signal(ax_process_t *process, int signum) {
  return ax__process_kill(process->priv.sys->pid, signum);
}

int ax__process_kill(ax_pid_t pid, int signum) {
  if (signum < 0 || signum >= NSIG)
    return AX_EINVAL;
  if (kill((pid_t)pid, signum) != 0)
    return ax_translate_sys_error(errno);
  return 0;
}

void ax__process_detach(ax_process_t *process) {
  process->priv.sys->process = NULL;
}

/* Reap what has ended; let go of the rest (they are no longer watched,
 * and the system reparents them when this process ends). */
void ax__process_loop_close(ax_loop_t *loop) {
  struct process_loop *home = loop->priv.platform.processes;
  if (home == NULL)
    return;
  while (!ax__queue_empty(&home->children)) {
    struct ax__process_sys *sys = ax_container_of(
        ax__queue_head(&home->children), struct ax__process_sys, node);
    assert(sys->process == NULL &&
           "axle: a loop closed with a process handle open");
    if (!process_reap(sys))
      (void)process_forget(sys);
  }
  process_loop_release(home);
}
