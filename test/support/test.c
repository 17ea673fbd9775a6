/*
 * test/support/test.c: the loop helpers and counting allocator of test.h.
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"

static long live_allocations;
/* live_allocations when the current test's loop was opened: a test that
 * failed earlier with its loop open does not fail every test after it. */
static long baseline_allocations;

static void *count_malloc(size_t size_bytes) {
  void *p = malloc(size_bytes);
  if (p != NULL)
    __atomic_add_fetch(&live_allocations, 1, __ATOMIC_RELAXED);
  return p;
}

static void *count_calloc(size_t count, size_t size_bytes) {
  void *p = calloc(count, size_bytes);
  if (p != NULL)
    __atomic_add_fetch(&live_allocations, 1, __ATOMIC_RELAXED);
  return p;
}

static void *count_realloc(void *ptr, size_t size_bytes) {
  void *p = realloc(ptr, size_bytes);
  if (p != NULL && ptr == NULL)
    __atomic_add_fetch(&live_allocations, 1, __ATOMIC_RELAXED);
  return p;
}

static void count_free(void *ptr) {
  if (ptr != NULL)
    __atomic_sub_fetch(&live_allocations, 1, __ATOMIC_RELAXED);
  free(ptr);
}

long test_live_allocations(void) {
  return __atomic_load_n(&live_allocations, __ATOMIC_RELAXED) -
         __atomic_load_n(&baseline_allocations, __ATOMIC_RELAXED);
}

void test_loop_open(ax_loop_t *loop) {
  assert_int_equal(ax_replace_allocator(count_malloc, count_realloc,
                                        count_calloc, count_free),
                   0);
  baseline_allocations = __atomic_load_n(&live_allocations, __ATOMIC_RELAXED);
  memset(loop, 0xa5, sizeof(*loop)); /* init must not rely on zeroed memory */
  loop->data = NULL;
  assert_int_equal(ax_loop_init(loop), 0);
  const char *want = getenv("AX_BACKEND");
  if (want != NULL && want[0] != '\0')
    assert_string_equal(ax_backend_name(loop), want);
  assert_int_equal(ax_backend_fallback_error(loop), 0);
}

static void count_walk_cb(ax_handle_t *handle, void *arg) {
  (void)handle;
  (*(unsigned int *)arg)++;
}

static void count_open_walk_cb(ax_handle_t *handle, void *arg) {
  if (!ax_is_closing(handle))
    (*(unsigned int *)arg)++;
}

unsigned int test_count_handles(ax_loop_t *loop) {
  unsigned int n = 0;
  ax_walk(loop, count_walk_cb, &n);
  return n;
}

void test_loop_close(ax_loop_t *loop) {
  /* A handle left open is a leak in the test: fail now rather than hang in
   * a run that it keeps alive. Then let pending close callbacks run. */
  unsigned int open = 0;
  ax_walk(loop, count_open_walk_cb, &open);
  assert_int_equal(open, 0);
  for (int i = 0; i < 16 && test_count_handles(loop) > 0; i++)
    assert_int_equal(ax_run(loop, AX_RUN_NOWAIT), 0);
  assert_false(ax_loop_alive(loop));
  assert_int_equal(test_count_handles(loop), 0);
  assert_int_equal(ax_loop_close(loop), 0);
  assert_int_equal(test_live_allocations(), 0);
}

void test_count_close_cb(ax_handle_t *handle) {
  (*(int *)handle->data)++;
}

static void guard_cb(ax_timer_t *timer) {
  ax_container_of(timer, struct test_guard, timer)->fired = true;
  ax_stop(timer->handle.loop);
}

void test_guard_start(ax_loop_t *loop, struct test_guard *guard) {
  guard->fired = false;
  assert_int_equal(ax_timer_init(loop, &guard->timer), 0);
  assert_int_equal(
      ax_timer_start(&guard->timer, guard_cb, TEST_SAFETY_NET_MS, 0), 0);
  ax_unref(&guard->timer.handle);
}

void test_guard_close(struct test_guard *guard) {
  assert_false(guard->fired);
  assert_int_equal(ax_close(&guard->timer.handle, NULL), 0);
  assert_int_equal(ax_run(guard->timer.handle.loop, AX_RUN_DEFAULT), 0);
}

void test_skip(const char *reason) {
  print_message("skipped: %s\n", reason);
  skip();
}

bool test_links_libkqueue(void) {
  /* Set by test/meson.build, as a value rather than for #if. */
  return AX_TEST_LIBKQUEUE != 0;
}

void test_skip_on_libkqueue(ax_loop_t *loop, const char *reason) {
  if (!test_links_libkqueue() || strcmp(ax_backend_name(loop), "kqueue") != 0)
    return;
  test_loop_close(loop);
  test_skip(reason);
}

void test_skip_on_io_uring(ax_loop_t *loop) {
  if (strcmp(ax_backend_name(loop), "io_uring") != 0)
    return;
  test_loop_close(loop);
  test_skip("io_uring works in the kernel, where the injected system calls "
            "cannot reach");
}
