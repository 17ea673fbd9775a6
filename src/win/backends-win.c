/*
 * win/backends-win.c: the backends of Windows. IOCP is the only one: every
 * Windows since Vista has GetQueuedCompletionStatusEx, so there is nothing
 * to fall back to.
 */
#include "internal.h"

extern const struct ax__backend ax__backend_iocp;

const struct ax__backend *const ax__backends[] = {
    &ax__backend_iocp,
    NULL,
};
