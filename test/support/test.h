/*
 * test/support/test.h: what every axle test shares.
 *
 * Each test file is one cmocka program about one feature. A test opens its
 * loop with test_loop_open(), which also installs a counting allocator, and
 * ends with test_loop_close(), which fails the test if any handle is still
 * open, the loop cannot close, or any memory axle allocated was not freed.
 * The backend comes from AX_BACKEND, which meson sets per test run.
 */
#ifndef AX_TEST_H
#define AX_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "axle.h"

/* Initialise *loop on the backend AX_BACKEND names, and check that it is
 * that backend (no silent fallback inside the suite). */
void test_loop_open(ax_loop_t *loop);

/* Run the loop until nothing is left, then check that no handle is open,
 * close the loop, and check that every allocation was released. */
void test_loop_close(ax_loop_t *loop);

/* Handles the loop still knows, open or closing. */
unsigned int test_count_handles(ax_loop_t *loop);

/* Allocations made through axle's allocator since the current test's
 * loop was opened, and not yet freed. */
long test_live_allocations(void);

/* A close callback that counts its calls in *(int *)handle->data. */
void test_count_close_cb(ax_handle_t *handle);

/* An operating-system error and the axle code it translates to. */
struct test_sys_error {
  int sys_error; /* errno on POSIX, a Win32 or Winsock code on Windows. */
  int expected;  /* What ax_translate_sys_error() must return. */
};

/* This platform's cases (support/sys-errors-posix.c, -win.c). */
extern const struct test_sys_error test_sys_errors[];
extern const size_t test_sys_errors_len;

#endif /* AX_TEST_H */
