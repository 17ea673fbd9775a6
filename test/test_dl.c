/*
 * test_dl.c: the shared-library loader: a module of the test's own
 * (support/dl-module.c, built beside this program) opened, a function and a
 * variable looked up, and the same module under a UTF-8 name; the system's
 * C library by its bare name; and the errors: a missing file, a file that
 * is not a library, a missing symbol, NULL arguments, a closed library.
 * Every error leaves its text in the library handle, and ax_dlclose()
 * frees it: each test checks that nothing stays allocated.
 */
#include <stdio.h>
#include <string.h>

#include "test.h"

enum { DL_PATH = 4096 };

/* The module's file name, as test/meson.build names it. */
#if defined(_WIN32)
#define DL_MODULE_FILE "axle-test-dl-module.dll"
#define DL_SYSTEM_LIBRARY "kernel32.dll"
#define DL_SYSTEM_SYMBOL "GetCurrentProcessId"
#elif defined(__APPLE__)
#define DL_MODULE_FILE "axle-test-dl-module.so"
#define DL_SYSTEM_LIBRARY "libSystem.B.dylib"
#define DL_SYSTEM_SYMBOL "getpid"
#else
#define DL_MODULE_FILE "axle-test-dl-module.so"
#define DL_SYSTEM_LIBRARY "libc.so.6"
#define DL_SYSTEM_SYMBOL "getpid"
#endif /* _WIN32 */

/* Fill path with the directory of the running program, then a separator
 * and name: the module sits beside the test program. */
static void dl_beside_exe(const char *name, char *path, size_t path_size) {
  char exe[DL_PATH];
  size_t size = sizeof(exe);
  assert_int_equal(ax_exepath(exe, &size), 0);
  char *slash = strrchr(exe, '/');
  char *backslash = strrchr(exe, '\\');
  if (slash == NULL || (backslash != NULL && backslash > slash))
    slash = backslash;
  assert_non_null(slash);
  slash[1] = '\0';
  int len = snprintf(path, path_size, "%s%s", exe, name);
  assert_true(len > 0 && (size_t)len < path_size);
}

/* Open path, call the function and read the variable, close. */
static void dl_check_module(const char *path) {
  ax_lib_t lib;
  assert_int_equal(ax_dlopen(path, &lib), 0);
  assert_string_equal(ax_dlerror(&lib), "no error");
  void *fn = NULL;
  assert_int_equal(ax_dlsym(&lib, "ax_test_dl_answer", &fn), 0);
  assert_non_null(fn);
  int (*answer)(void);
  memcpy(&answer, &fn, sizeof(answer)); /* An object to a function pointer. */
  assert_int_equal(answer(), 42);
  void *value = NULL;
  assert_int_equal(ax_dlsym(&lib, "ax_test_dl_value", &value), 0);
  assert_int_equal(*(int *)value, 7);
  ax_dlclose(&lib);
  ax_dlclose(&lib); /* Twice is harmless. */
}

static void test_dl_module(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop); /* installs the counting allocator */
  char path[DL_PATH];
  dl_beside_exe(DL_MODULE_FILE, path, sizeof(path));
  dl_check_module(path);
  test_loop_close(&loop);
}

/* Make a new directory in the system's temporary one; dir is its path. */
static void dl_temp_dir(ax_loop_t *loop, char *dir, size_t dir_size) {
  char tmp[DL_PATH];
  size_t size = sizeof(tmp);
  assert_int_equal(ax_os_tmpdir(tmp, &size), 0);
  char tpl[DL_PATH + 32];
  (void)snprintf(tpl, sizeof(tpl), "%s/axle-dl-XXXXXX", tmp);
  ax_fs_t req;
  assert_int_equal(ax_fs_mkdtemp(loop, &req, tpl, NULL), 0);
  (void)snprintf(dir, dir_size, "%s", req.path);
  ax_fs_req_cleanup(&req);
}

/* Remove the file at path, then its directory dir from dl_temp_dir(). */
static void dl_temp_remove(ax_loop_t *loop, const char *path, const char *dir) {
  ax_fs_t req;
  assert_int_equal(ax_fs_unlink(loop, &req, path, NULL), 0);
  ax_fs_req_cleanup(&req);
  assert_int_equal(ax_fs_rmdir(loop, &req, dir, NULL), 0);
  ax_fs_req_cleanup(&req);
}

static void test_dl_utf8_name(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  char module[DL_PATH];
  dl_beside_exe(DL_MODULE_FILE, module, sizeof(module));
  char dir[DL_PATH + 32];
  dl_temp_dir(&loop, dir, sizeof(dir));
  ax_fs_t req;
  /* "módulo-ü" and a CJK character: two- and three-byte UTF-8. */
  char copy[DL_PATH + 64];
  (void)snprintf(copy, sizeof(copy),
                 "%s/m\xc3\xb3"
                 "dulo-\xc3\xbc-\xe6\xa8\xa1.%s",
                 dir, strrchr(DL_MODULE_FILE, '.') + 1);
  assert_int_equal(ax_fs_copyfile(&loop, &req, module, copy, 0, NULL), 0);
  ax_fs_req_cleanup(&req);
  dl_check_module(copy);
  dl_temp_remove(&loop, copy, dir);
  test_loop_close(&loop);
}

static void test_dl_system_library(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  /* A bare name is searched for where the system keeps its libraries. */
  ax_lib_t lib;
  assert_int_equal(ax_dlopen(DL_SYSTEM_LIBRARY, &lib), 0);
  void *fn = NULL;
  assert_int_equal(ax_dlsym(&lib, DL_SYSTEM_SYMBOL, &fn), 0);
  assert_non_null(fn);
  ax_dlclose(&lib);
  test_loop_close(&loop);
}

static void test_dl_missing_symbol(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  char path[DL_PATH];
  dl_beside_exe(DL_MODULE_FILE, path, sizeof(path));
  ax_lib_t lib;
  assert_int_equal(ax_dlopen(path, &lib), 0);
  void *fn = &lib;
  assert_int_equal(ax_dlsym(&lib, "ax_test_dl_no_such_symbol", &fn), AX_ENOENT);
  assert_null(fn);
  assert_string_not_equal(ax_dlerror(&lib), "no error");
  assert_string_not_equal(ax_dlerror(&lib), "");
  /* A second failure replaces the text (the first is freed), and a
   * success clears it. */
  assert_int_equal(ax_dlsym(&lib, "ax_test_dl_other", &fn), AX_ENOENT);
  assert_int_equal(ax_dlsym(&lib, "ax_test_dl_answer", &fn), 0);
  assert_string_equal(ax_dlerror(&lib), "no error");
  ax_dlclose(&lib);
  test_loop_close(&loop);
}

static void test_dl_missing_file(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  char path[DL_PATH];
  dl_beside_exe("axle-no-such-library.so", path, sizeof(path));
  ax_lib_t lib;
  assert_int_equal(ax_dlopen(path, &lib), AX_ENOENT);
  assert_string_not_equal(ax_dlerror(&lib), "no error");
  /* Nothing is loaded: a lookup is refused, the text stays. */
  void *fn = &lib;
  assert_int_equal(ax_dlsym(&lib, "ax_test_dl_answer", &fn), AX_EINVAL);
  assert_null(fn);
  assert_string_not_equal(ax_dlerror(&lib), "no error");
  ax_dlclose(&lib); /* frees the text */
  assert_string_equal(ax_dlerror(&lib), "no error");
  /* A bare name that no search finds. */
  assert_int_equal(ax_dlopen("axle-no-such-library-either", &lib), AX_ENOENT);
  ax_dlclose(&lib);
  test_loop_close(&loop);
}

static void test_dl_not_a_library(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  char dir[DL_PATH + 32];
  dl_temp_dir(&loop, dir, sizeof(dir));
  ax_fs_t req;
  /* With the library suffix: Windows would append ".dll" to a name
   * without one, and look for another file. */
  char path[DL_PATH + 64];
  (void)snprintf(path, sizeof(path), "%s/not-a-library.%s", dir,
                 strrchr(DL_MODULE_FILE, '.') + 1);
  assert_int_equal(ax_fs_open(&loop, &req, path,
                              AX_FS_O_WRONLY | AX_FS_O_CREAT | AX_FS_O_TRUNC,
                              0600, NULL),
                   0);
  ax_file_t file = (ax_file_t)req.result;
  ax_fs_req_cleanup(&req);
  static const char junk[] = "this is text, not a shared library\n";
  ax_buf_t buf = ax_buf_init((char *)junk, sizeof(junk) - 1);
  assert_int_equal(ax_fs_write(&loop, &req, file, &buf, 1, 0, NULL), 0);
  assert_int_equal(req.result, (int64_t)(sizeof(junk) - 1));
  ax_fs_req_cleanup(&req);
  assert_int_equal(ax_fs_close(&loop, &req, file, NULL), 0);
  ax_fs_req_cleanup(&req);
  ax_lib_t lib;
  assert_int_equal(ax_dlopen(path, &lib), AX_ENOEXEC);
  assert_string_not_equal(ax_dlerror(&lib), "no error");
  ax_dlclose(&lib);
  dl_temp_remove(&loop, path, dir);
  test_loop_close(&loop);
}

static void test_dl_invalid(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_lib_t lib;
  assert_int_equal(ax_dlopen(NULL, &lib), AX_EINVAL);
  assert_string_not_equal(ax_dlerror(&lib), "no error");
  ax_dlclose(&lib);
  assert_int_equal(ax_dlopen("x", NULL), AX_EINVAL);
  char path[DL_PATH];
  dl_beside_exe(DL_MODULE_FILE, path, sizeof(path));
  assert_int_equal(ax_dlopen(path, &lib), 0);
  void *fn = &lib;
  assert_int_equal(ax_dlsym(NULL, "ax_test_dl_answer", &fn), AX_EINVAL);
  assert_null(fn);
  assert_int_equal(ax_dlsym(&lib, NULL, &fn), AX_EINVAL);
  assert_int_equal(ax_dlsym(&lib, "ax_test_dl_answer", NULL), AX_EINVAL);
  ax_dlclose(&lib);
  /* Closed: no lookup. */
  assert_int_equal(ax_dlsym(&lib, "ax_test_dl_answer", &fn), AX_EINVAL);
  assert_string_equal(ax_dlerror(NULL), "invalid argument");
  ax_dlclose(NULL);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dl_module),
      cmocka_unit_test(test_dl_utf8_name),
      cmocka_unit_test(test_dl_system_library),
      cmocka_unit_test(test_dl_missing_symbol),
      cmocka_unit_test(test_dl_missing_file),
      cmocka_unit_test(test_dl_not_a_library),
      cmocka_unit_test(test_dl_invalid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
