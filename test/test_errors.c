/*
 * test_errors.c: error names and descriptions (static, and copied into the
 * caller's buffer), error translation, the version, and the allocator
 * switch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

static void test_error_names(void **state) {
  (void)state;
  assert_string_equal(ax_err_name(AX_EINVAL), "EINVAL");
  assert_string_equal(ax_err_name(AX_EBUSY), "EBUSY");
  assert_string_equal(ax_err_name(AX_ECANCELED), "ECANCELED");
  assert_string_equal(ax_err_name(AX_EOF), "EOF");
  assert_string_equal(ax_strerror(AX_ENOENT), "no such file or directory");
  assert_string_equal(ax_strerror(AX_EOF), "end of file");
}

static void test_error_unknown(void **state) {
  (void)state;
  /* Codes axle does not know, including success and positive numbers, get
   * a static placeholder, never NULL and never an allocation. */
  int codes[] = {0, 1, -1000000, 12345};
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
    assert_string_equal(ax_err_name(codes[i]), "UNKNOWN");
    assert_string_equal(ax_strerror(codes[i]), "unknown error");
  }
}

static void test_error_every_code_named(void **state) {
  (void)state;
  /* Every code in the public enum has a distinct name and a description. */
  int codes[] = {
      AX_E2BIG,        AX_EACCES,          AX_EADDRINUSE,   AX_EADDRNOTAVAIL,
      AX_EAFNOSUPPORT, AX_EAGAIN,          AX_EALREADY,     AX_EBADF,
      AX_EBUSY,        AX_ECANCELED,       AX_ECONNABORTED, AX_ECONNREFUSED,
      AX_ECONNRESET,   AX_EEXIST,          AX_EFAULT,       AX_EFBIG,
      AX_EHOSTUNREACH, AX_EINTR,           AX_EINVAL,       AX_EIO,
      AX_EISCONN,      AX_EISDIR,          AX_ELOOP,        AX_EMFILE,
      AX_EMSGSIZE,     AX_ENAMETOOLONG,    AX_ENETDOWN,     AX_ENETUNREACH,
      AX_ENFILE,       AX_ENOBUFS,         AX_ENODEV,       AX_ENOENT,
      AX_ENOEXEC,      AX_ENOMEM,          AX_ENOSPC,       AX_ENOSYS,
      AX_ENOTCONN,     AX_ENOTDIR,         AX_ENOTEMPTY,    AX_ENOTSOCK,
      AX_ENOTSUP,      AX_EOVERFLOW,       AX_EPERM,        AX_EPIPE,
      AX_EPROTO,       AX_EPROTONOSUPPORT, AX_ERANGE,       AX_EROFS,
      AX_ESPIPE,       AX_ESRCH,           AX_ETIMEDOUT,    AX_EXDEV,
      AX_EOF,          AX_EUNKNOWN,        AX_EAI_AGAIN,    AX_EAI_BADFLAGS,
      AX_EAI_FAIL,     AX_EAI_FAMILY,      AX_EAI_MEMORY,   AX_EAI_NONAME,
      AX_EAI_OVERFLOW, AX_EAI_SERVICE,     AX_EAI_SOCKTYPE, AX_EAI_UNKNOWN,
  };
  size_t n = sizeof(codes) / sizeof(codes[0]);
  for (size_t i = 0; i < n; i++) {
    assert_true(codes[i] < 0);
    assert_string_not_equal(ax_err_name(codes[i]), "UNKNOWN");
    assert_string_not_equal(ax_strerror(codes[i]), "");
    for (size_t j = i + 1; j < n; j++) {
      assert_int_not_equal(codes[i], codes[j]);
      assert_string_not_equal(ax_err_name(codes[i]), ax_err_name(codes[j]));
    }
  }
}

static void test_error_r_known(void **state) {
  (void)state;
  char buf[64];
  /* A known code: the same text as the static versions. */
  assert_int_equal(ax_strerror_r(AX_ENOENT, buf, sizeof(buf)), 0);
  assert_string_equal(buf, ax_strerror(AX_ENOENT));
  assert_int_equal(ax_err_name_r(AX_EAI_NONAME, buf, sizeof(buf)), 0);
  assert_string_equal(buf, "EAI_NONAME");
  /* Exactly the room needed (6 characters and the NUL) fits. */
  assert_int_equal(ax_err_name_r(AX_EINVAL, buf, 7), 0);
  assert_string_equal(buf, "EINVAL");
}

static void test_error_r_unknown(void **state) {
  (void)state;
  char buf[64];
  /* Unknown codes carry their number, so that a log tells them apart. */
  assert_int_equal(ax_strerror_r(-1234, buf, sizeof(buf)), 0);
  assert_string_equal(buf, "unknown error -1234");
  assert_int_equal(ax_err_name_r(-1234, buf, sizeof(buf)), 0);
  assert_string_equal(buf, "UNKNOWN(-1234)");
  assert_int_equal(ax_err_name_r(0, buf, sizeof(buf)), 0);
  assert_string_equal(buf, "UNKNOWN(0)");
  assert_int_equal(ax_strerror_r(12345, buf, sizeof(buf)), 0);
  assert_string_equal(buf, "unknown error 12345");
}

static void test_error_r_bad_buffers(void **state) {
  (void)state;
  char buf[8];
  assert_int_equal(ax_strerror_r(AX_EINVAL, NULL, 8), AX_EINVAL);
  assert_int_equal(ax_err_name_r(AX_EINVAL, NULL, 8), AX_EINVAL);
  /* No room even for the NUL: nothing is written. */
  buf[0] = 'x';
  assert_int_equal(ax_strerror_r(AX_EINVAL, buf, 0), AX_EINVAL);
  assert_int_equal(ax_err_name_r(AX_EINVAL, buf, 0), AX_EINVAL);
  assert_int_equal(buf[0], 'x');
  /* Too small: cut short, NUL-terminated, and said so. */
  assert_int_equal(ax_strerror_r(AX_ENOENT, buf, sizeof(buf)), AX_ENOBUFS);
  assert_string_equal(buf, "no such");
  assert_int_equal(ax_err_name_r(AX_EINVAL, buf, 6), AX_ENOBUFS);
  assert_string_equal(buf, "EINVA");
  assert_int_equal(ax_err_name_r(-1234, buf, sizeof(buf)), AX_ENOBUFS);
  assert_string_equal(buf, "UNKNOWN");
  assert_int_equal(ax_strerror_r(AX_EOF, buf, 1), AX_ENOBUFS);
  assert_string_equal(buf, "");
}

enum { ERROR_R_THREADS = 4, ERROR_R_ROUNDS = 2000 };

/* Each thread formats its own unknown code over and over: with a shared
 * static buffer, another thread's number would show up in its text. */
static void error_r_thread(void *arg) {
  int code = *(int *)arg;
  char want[64], got[64];
  (void)snprintf(want, sizeof(want), "UNKNOWN(%d)", code);
  for (int i = 0; i < ERROR_R_ROUNDS; i++) {
    if (ax_err_name_r(code, got, sizeof(got)) != 0 || strcmp(got, want) != 0) {
      *(int *)arg = 0; /* Read by the main thread after the join. */
      return;
    }
  }
}

static void test_error_r_threads(void **state) {
  (void)state;
  ax_thread_t threads[ERROR_R_THREADS];
  int codes[ERROR_R_THREADS];
  for (int i = 0; i < ERROR_R_THREADS; i++) {
    codes[i] = -5000 - i;
    assert_int_equal(ax_thread_create(&threads[i], error_r_thread, &codes[i]),
                     0);
  }
  for (int i = 0; i < ERROR_R_THREADS; i++) {
    assert_int_equal(ax_thread_join(&threads[i]), 0);
    assert_int_equal(codes[i], -5000 - i);
  }
}

static void test_error_translate(void **state) {
  (void)state;
  /* The system's own codes differ by platform: see support/sys-errors-*.c. */
  for (size_t i = 0; i < test_sys_errors_len; i++) {
    assert_int_equal(ax_translate_sys_error(test_sys_errors[i].sys_error),
                     test_sys_errors[i].expected);
  }
  /* Already-negative codes pass through: translating twice is harmless. */
  assert_int_equal(ax_translate_sys_error(AX_EAGAIN), AX_EAGAIN);
  assert_int_equal(ax_translate_sys_error(0), 0);
}

static void test_version(void **state) {
  (void)state;
  /* The build's version (meson) and the header's agree. */
  assert_string_equal(ax_version_string(), AX_TEST_VERSION);
  assert_int_equal(ax_version(), AX_VERSION_HEX);
  assert_int_equal(ax_version() >> 16, AX_VERSION_MAJOR);
}

static void test_replace_allocator_rejects_null(void **state) {
  (void)state;
  assert_int_equal(ax_replace_allocator(NULL, realloc, calloc, free),
                   AX_EINVAL);
  assert_int_equal(ax_replace_allocator(malloc, NULL, calloc, free), AX_EINVAL);
  assert_int_equal(ax_replace_allocator(malloc, realloc, NULL, free),
                   AX_EINVAL);
  assert_int_equal(ax_replace_allocator(malloc, realloc, calloc, NULL),
                   AX_EINVAL);
  assert_int_equal(ax_replace_allocator(malloc, realloc, calloc, free), 0);
}

static int failing_allocations;

static void *failing_malloc(size_t size_bytes) {
  (void)size_bytes;
  failing_allocations++;
  return NULL;
}

static void *failing_calloc(size_t count, size_t size_bytes) {
  (void)count;
  (void)size_bytes;
  failing_allocations++;
  return NULL;
}

static void *failing_realloc(void *ptr, size_t size_bytes) {
  (void)ptr;
  (void)size_bytes;
  failing_allocations++;
  return NULL;
}

static void test_loop_init_out_of_memory(void **state) {
  (void)state;
  /* Every backend needs memory for its state: with none to be had, init
   * reports ENOMEM instead of crashing, and leaves nothing open. */
  assert_int_equal(ax_replace_allocator(failing_malloc, failing_realloc,
                                        failing_calloc, free),
                   0);
  ax_loop_t loop;
  assert_int_equal(ax_loop_init(&loop), AX_ENOMEM);
  assert_true(failing_allocations > 0);
  assert_int_equal(ax_replace_allocator(malloc, realloc, calloc, free), 0);
  /* The allocator in use is the one axle frees with: a loop now works. */
  test_loop_open(&loop);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_names),
      cmocka_unit_test(test_error_unknown),
      cmocka_unit_test(test_error_every_code_named),
      cmocka_unit_test(test_error_r_known),
      cmocka_unit_test(test_error_r_unknown),
      cmocka_unit_test(test_error_r_bad_buffers),
      cmocka_unit_test(test_error_r_threads),
      cmocka_unit_test(test_error_translate),
      cmocka_unit_test(test_version),
      cmocka_unit_test(test_replace_allocator_rejects_null),
      cmocka_unit_test(test_loop_init_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
