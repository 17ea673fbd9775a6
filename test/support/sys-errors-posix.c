/*
 * test/support/sys-errors-posix.c: POSIX cases of ax_translate_sys_error()
 * for test_errors.c. On POSIX every errno value is its own negated code.
 */
#include <errno.h>

#include "test.h"

const struct test_sys_error test_sys_errors[] = {
    {EINVAL, AX_EINVAL},
    {EMFILE, AX_EMFILE},
    {ECONNRESET, AX_ECONNRESET},
};

const size_t test_sys_errors_len = sizeof(test_sys_errors) /
                                   sizeof(test_sys_errors[0]);
