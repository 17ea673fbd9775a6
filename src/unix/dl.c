/*
 * unix/dl.c: shared libraries on dlopen(3). dlerror(3) is per thread on
 * the systems axle supports, and its text is copied at once into the
 * library handle (src/dl.c), before another call can replace it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "../dl.h"

/* The text of the last dlfcn error, or fallback when there is none. */
static char *dl_error_text(const char *fallback) {
  const char *text = dlerror();
  return ax__dl_text(text != NULL ? text : fallback);
}

/* dlopen(3) gives text, no code: a path that does not name a file is
 * AX_ENOENT (or whatever stat says); one that does is a file the system
 * could not load (not a library, the wrong architecture, a dependency
 * missing). A bare name is searched for: not found is the likely cause. */
static int dl_open_error(const char *filename) {
  if (strchr(filename, '/') == NULL)
    return AX_ENOENT;
  struct stat st;
  if (stat(filename, &st) != 0)
    return ax_translate_sys_error(errno);
  return AX_ENOEXEC;
}

int ax__dl_open(const char *filename, void **handle, char **errmsg) {
  (void)dlerror(); /* Forget an older error of this thread's. */
  *handle = dlopen(filename, RTLD_LAZY);
  if (*handle != NULL)
    return 0;
  *errmsg = dl_error_text("cannot load the library");
  return dl_open_error(filename);
}

int ax__dl_sym(void *handle, const char *name, void **ptr, char **errmsg) {
  (void)dlerror();
  *ptr = dlsym(handle, name);
  /* A symbol's address may be NULL: only dlerror() tells a failure. */
  const char *text = dlerror();
  if (text == NULL)
    return 0;
  *ptr = NULL;
  *errmsg = ax__dl_text(text);
  return AX_ENOENT;
}

void ax__dl_close(void *handle) {
  /* dlclose() fails only for a handle that is not one: nothing to do. */
  (void)dlclose(handle);
}
