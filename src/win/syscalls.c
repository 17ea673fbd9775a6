/*
 * win/syscalls.c: the table of Win32 calls the loop makes (win/internal.h).
 */
#include "internal.h"

/* The real functions, for tests to restore the table from. */
const struct ax__win_syscalls ax__win_sys_default = {
    .create_io_completion_port = CreateIoCompletionPort,
    .get_queued_completion_status_ex = GetQueuedCompletionStatusEx,
    .post_queued_completion_status = PostQueuedCompletionStatus,
    .close_handle = CloseHandle,
};

/* What the loop calls; a copy of the above that tests may change. */
struct ax__win_syscalls ax__win_sys = {
    .create_io_completion_port = CreateIoCompletionPort,
    .get_queued_completion_status_ex = GetQueuedCompletionStatusEx,
    .post_queued_completion_status = PostQueuedCompletionStatus,
    .close_handle = CloseHandle,
};
