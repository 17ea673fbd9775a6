/*
 * dl.h: what the shared-library loader (src/dl.c) asks of the platform
 * (src/unix/dl.c on dlopen(3), src/win/dl.c on LoadLibraryExW()). Each
 * call that fails gives its error text, allocated with ax__dl_text(), for
 * the library handle to keep; NULL if even that allocation failed.
 */
#ifndef AX_DL_H
#define AX_DL_H

#include "internal.h"

/* Load filename (UTF-8) into *handle. 0, or an AX_E* code and *errmsg. */
int ax__dl_open(const char *filename, void **handle, char **errmsg);

/* Look name up in handle. 0 and *ptr, or AX_ENOENT and *errmsg. */
int ax__dl_sym(void *handle, const char *name, void **ptr, char **errmsg);

/* Unload what ax__dl_open() loaded. */
void ax__dl_close(void *handle);

/* A copy of text in axle's allocator (for ax_dlclose() to free), or NULL
 * when out of memory. */
char *ax__dl_text(const char *text);

#endif /* AX_DL_H */
