/*
 * unix/backends-bsd.c: the backends of macOS and the BSDs, most preferred
 * first. kqueue is the default; poll(2) is the fallback when kqueue cannot
 * start.
 */
#include "internal.h"

extern const struct ax__backend ax__backend_kqueue;
extern const struct ax__backend ax__backend_poll;

const struct ax__backend *const ax__backends[] = {
    &ax__backend_kqueue,
    &ax__backend_poll,
    NULL,
};
