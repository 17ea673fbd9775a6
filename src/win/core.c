/*
 * win/core.c: the Windows pieces of the core: the monotonic clock and the
 * count of operations the poll phase must look for.
 */
#include "internal.h"

/* The performance counter's ticks per second. It is fixed at boot, so it
 * is read once; a race between two first readers stores the same value. */
static uint64_t core_qpc_frequency(void) {
  static uint64_t frequency;
  uint64_t hz = __atomic_load_n(&frequency, __ATOMIC_RELAXED);
  if (hz == 0) {
    LARGE_INTEGER value;
    /* Cannot fail on Windows XP and later. */
    QueryPerformanceFrequency(&value);
    hz = (uint64_t)value.QuadPart;
    __atomic_store_n(&frequency, hz, __ATOMIC_RELAXED);
  }
  return hz;
}

/* The performance counter is Windows' monotonic clock, steady across
 * processors and unaffected by changes of the wall-clock time. */
uint64_t ax__hrtime_ns(void) {
  LARGE_INTEGER counter;
  /* Monotonic and system-wide; cannot fail on Windows XP and later. */
  QueryPerformanceCounter(&counter);
  uint64_t ticks = (uint64_t)counter.QuadPart;
  uint64_t hz = core_qpc_frequency();
  /* Whole seconds and the rest apart, so that nothing overflows: the rest
   * times 10^9 stays below 2^64 for any frequency under 18 GHz (Windows 10
   * and later report 10 MHz; older ones at most the TSC's rate). */
  return ticks / hz * 1000000000u + ticks % hz * 1000000000u / hz;
}

/* Operations that may complete on the port: the wakeup once an async
 * handle opened it (win/async.c), and every overlapped operation posted
 * and not yet dequeued (streams, poll handles, signals). */
bool ax__io_any(const ax_loop_t *loop) {
  return loop->priv.platform.io_count != 0;
}
