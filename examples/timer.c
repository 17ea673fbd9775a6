/*
 * timer.c: the first rung of the example ladder. A loop, one timer that
 * ticks three times, 100 ms apart, and a clean exit.
 *
 * What it shows: a handle lives in the caller's memory (here, main's
 * stack); handle.data carries the caller's own pointer to the callback;
 * ax_run() returns by itself once nothing is left to wait for, which
 * happens when the timer is closed; ax_loop_close() then succeeds because
 * no handle is left open.
 *
 * Next rung: tcp-echo.c.
 */
#include <stdio.h>

#include <axle.h>

enum { TICKS = 3, INTERVAL_MS = 100 };

/* Runs on the loop thread each time the timer is due. */
static void on_tick(ax_timer_t *timer) {
  int *ticks = timer->handle.data;
  ++*ticks;
  printf("tick %d\n", *ticks);
  if (*ticks == TICKS)
    ax_close(&timer->handle, NULL); /* no close callback needed */
}

int main(void) {
  ax_loop_t loop;
  ax_timer_t timer;
  int ticks = 0;

  int err = ax_loop_init(&loop);
  if (err != 0) {
    fprintf(stderr, "ax_loop_init: %s\n", ax_strerror(err));
    return 1;
  }
  ax_timer_init(&loop, &timer);
  timer.handle.data = &ticks;
  /* First after INTERVAL_MS, then every INTERVAL_MS until closed. */
  ax_timer_start(&timer, on_tick, INTERVAL_MS, INTERVAL_MS);

  ax_run(&loop, AX_RUN_DEFAULT); /* returns once the timer is closed */

  err = ax_loop_close(&loop);
  if (err != 0) {
    fprintf(stderr, "ax_loop_close: %s\n", ax_strerror(err));
    return 1;
  }
  return ticks == TICKS ? 0 : 1;
}
