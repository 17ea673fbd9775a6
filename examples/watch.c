/*
 * watch.c: print what changes in a directory (or a file) until Ctrl+C.
 *
 *   watch [path]      (default: the current directory)
 *
 * One file change handle does the watching; a signal handle ends the
 * program cleanly by closing both. Where the system watches a tree
 * (Windows), subdirectories are watched too; elsewhere the watch is
 * asked without them (see docs/fs-events.md).
 */
#include <signal.h>
#include <stdio.h>

#include <axle.h>

struct watch {
  ax_loop_t loop;
  ax_fs_event_t event;
  ax_signal_t sigint;
};

static void on_change(ax_fs_event_t *event, const char *filename, int events,
                      int status) {
  if (status < 0) {
    fprintf(stderr, "watch: %s\n", ax_strerror(status));
    ax_close(&event->handle, NULL);
    return;
  }
  printf("%-6s %s\n", events & AX_FS_EVENT_RENAME ? "rename" : "change",
         filename != NULL ? filename : "(something)");
  fflush(stdout);
}

static void on_sigint(ax_signal_t *sigint, int signum) {
  (void)signum;
  struct watch *w = sigint->handle.data;
  ax_close(&w->event.handle, NULL);
  ax_close(&w->sigint.handle, NULL);
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : ".";
  struct watch w;
  int err = ax_loop_init(&w.loop);
  if (err == 0)
    err = ax_fs_event_init(&w.loop, &w.event);
  if (err == 0) {
    err = ax_fs_event_start(&w.event, path, AX_FS_EVENT_RECURSIVE, on_change);
    if (err == AX_ENOTSUP) /* No tree here: the directory alone. */
      err = ax_fs_event_start(&w.event, path, 0, on_change);
  }
  if (err != 0) {
    fprintf(stderr, "watch: %s: %s\n", path, ax_strerror(err));
    return 1;
  }
  ax_signal_init(&w.loop, &w.sigint);
  w.sigint.handle.data = &w;
  ax_signal_start(&w.sigint, SIGINT, on_sigint);
  printf("watching %s (Ctrl+C ends)\n", path);
  fflush(stdout);
  ax_run(&w.loop, AX_RUN_DEFAULT);
  ax_loop_close(&w.loop);
  return 0;
}
