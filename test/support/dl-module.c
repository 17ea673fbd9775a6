/*
 * support/dl-module.c: a tiny shared module for test_dl.c to load with
 * ax_dlopen(): one function and one variable to look up.
 */
#if defined(_WIN32)
#define DL_MODULE_EXPORT __declspec(dllexport)
#else
#define DL_MODULE_EXPORT __attribute__((visibility("default")))
#endif /* _WIN32 */

/* The function test_dl.c calls through the address ax_dlsym() gives. */
DL_MODULE_EXPORT int ax_test_dl_answer(void);
int ax_test_dl_answer(void) {
  return 42;
}

/* A variable, to look up an object rather than a function. */
DL_MODULE_EXPORT int ax_test_dl_value;
int ax_test_dl_value = 7;
