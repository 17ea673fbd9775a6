/*
 * dl.c: the portable part of the shared-library loader: argument checks,
 * and the error text each ax_lib_t keeps (so that no static buffer is
 * shared between threads). The loading itself is the platform's
 * (src/unix/dl.c, src/win/dl.c, through dl.h).
 */
#include <string.h>

#include "dl.h"

char *ax__dl_text(const char *text) {
  size_t len = strlen(text);
  char *copy = ax__malloc(len + 1);
  if (copy != NULL)
    memcpy(copy, text, len + 1);
  return copy;
}

/* Forget the last error: a new call reports its own or none. */
static void dl_clear_error(ax_lib_t *lib) {
  ax__free(lib->priv.errmsg);
  lib->priv.errmsg = NULL;
}

int ax_dlopen(const char *filename, ax_lib_t *lib) {
  if (lib == NULL)
    return AX_EINVAL;
  lib->priv.handle = NULL;
  lib->priv.errmsg = NULL;
  if (filename == NULL) {
    lib->priv.errmsg = ax__dl_text("no file name given");
    return AX_EINVAL;
  }
  return ax__dl_open(filename, &lib->priv.handle, &lib->priv.errmsg);
}

int ax_dlsym(ax_lib_t *lib, const char *name, void **ptr) {
  if (ptr != NULL)
    *ptr = NULL;
  if (lib == NULL || lib->priv.handle == NULL || name == NULL || ptr == NULL)
    return AX_EINVAL;
  dl_clear_error(lib);
  return ax__dl_sym(lib->priv.handle, name, ptr, &lib->priv.errmsg);
}

void ax_dlclose(ax_lib_t *lib) {
  if (lib == NULL)
    return;
  if (lib->priv.handle != NULL)
    ax__dl_close(lib->priv.handle);
  lib->priv.handle = NULL;
  dl_clear_error(lib);
}

const char *ax_dlerror(const ax_lib_t *lib) {
  if (lib == NULL)
    return "invalid argument";
  return lib->priv.errmsg != NULL ? lib->priv.errmsg : "no error";
}
