/*
 * test/consumer/main.c: a program that uses axle the way an application
 * would, found through pkg-config or as a meson subproject
 * (scripts/check-consumers.sh builds it both ways). It runs one timer and
 * checks the version it was compiled against is the one it runs with.
 */
#include <stdio.h>

#include <axle.h>

static void on_timer(ax_timer_t *timer) {
  *(int *)timer->handle.data = 1;
  ax_close(&timer->handle, NULL);
}

int main(void) {
  ax_loop_t loop;
  ax_timer_t timer;
  int fired = 0;
  if (ax_version() != AX_VERSION_HEX) {
    fprintf(stderr, "consumer: header and library versions differ\n");
    return 1;
  }
  int err = ax_loop_init(&loop);
  if (err == 0)
    err = ax_timer_init(&loop, &timer);
  timer.handle.data = &fired;
  if (err == 0)
    err = ax_timer_start(&timer, on_timer, 1, 0);
  if (err == 0)
    err = ax_run(&loop, AX_RUN_DEFAULT);
  if (err == 0)
    err = ax_loop_close(&loop);
  if (err != 0 || !fired) {
    fprintf(stderr, "consumer: %s\n", err ? ax_strerror(err) : "no timer");
    return 1;
  }
  printf("consumer: axle %s works\n", ax_version_string());
  return 0;
}
