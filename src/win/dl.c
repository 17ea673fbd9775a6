/*
 * win/dl.c: shared libraries on LoadLibraryExW(). The UTF-8 file name is
 * converted to UTF-16; the error text is the system's (FormatMessageW()),
 * in UTF-8, with the Win32 code after it, kept by the library handle
 * (src/dl.c).
 */
#include <stdio.h>
#include <string.h>

#include "../dl.h"
#include "fs-internal.h"

/* The system's text for a Win32 error, as new UTF-8, without the line
 * break FormatMessageW() ends it with, and with the code after it. */
static char *dl_error_text(DWORD error) {
  WCHAR *wide = NULL;
  DWORD len = FormatMessageW(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
          FORMAT_MESSAGE_IGNORE_INSERTS,
      NULL, error, MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US),
      (LPWSTR)(void *)&wide, 0, NULL);
  if (len == 0) /* No English text: any language the system has. */
    len = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER |
                             FORMAT_MESSAGE_FROM_SYSTEM |
                             FORMAT_MESSAGE_IGNORE_INSERTS,
                         NULL, error, 0, (LPWSTR)(void *)&wide, 0, NULL);
  while (len > 0 && (wide[len - 1] == L'\n' || wide[len - 1] == L'\r' ||
                     wide[len - 1] == L' ' || wide[len - 1] == L'.'))
    len--;
  char *utf8 = NULL;
  if (len > 0 && ax__win_fs_utf8(wide, (int)len, &utf8) != 0)
    utf8 = NULL;
  LocalFree(wide);
  char text[512];
  (void)snprintf(text, sizeof(text), "%s (Windows error %lu)",
                 utf8 != NULL ? utf8 : "unknown error", (unsigned long)error);
  ax__free(utf8);
  return ax__dl_text(text);
}

int ax__dl_open(const char *filename, void **handle, char **errmsg) {
  WCHAR *wide;
  int err = ax__win_fs_wide(filename, &wide);
  if (err != 0) {
    *errmsg = ax__dl_text(err == AX_EINVAL ? "the file name is not UTF-8"
                                           : "not enough memory");
    return err;
  }
  /* The altered search path finds the libraries a library needs beside it
   * when it is named by an absolute path, as on POSIX with $ORIGIN. */
  HMODULE module = LoadLibraryExW(wide, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);
  DWORD error = GetLastError();
  ax__free(wide);
  if (module == NULL) {
    *errmsg = dl_error_text(error);
    switch (error) {
    case ERROR_MOD_NOT_FOUND:
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
      return AX_ENOENT;
    case ERROR_BAD_EXE_FORMAT:
    case ERROR_DLL_INIT_FAILED:
      return AX_ENOEXEC;
    default: {
      int code = ax_translate_sys_error((int)error);
      return code != AX_EUNKNOWN ? code : AX_ENOEXEC;
    }
    }
  }
  *handle = module;
  return 0;
}

int ax__dl_sym(void *handle, const char *name, void **ptr, char **errmsg) {
  FARPROC proc = GetProcAddress(handle, name);
  if (proc == NULL) {
    *errmsg = dl_error_text(GetLastError());
    return AX_ENOENT;
  }
  /* A function's address as an object pointer, as dlsym() gives it. */
  _Static_assert(sizeof(proc) == sizeof(*ptr), "FARPROC fits a void *");
  memcpy(ptr, &proc, sizeof(*ptr));
  return 0;
}

void ax__dl_close(void *handle) {
  (void)FreeLibrary(handle);
}
