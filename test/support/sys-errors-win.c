/*
 * test/support/sys-errors-win.c: Windows cases of ax_translate_sys_error()
 * for test_errors.c. The first three are the POSIX file's cases as Windows
 * reports them; then one of each kind the table has: Win32 and Winsock
 * codes, a code that is an axle code of its own (end of file), and one that
 * means nothing to axle.
 */
#include <winsock2.h>
#include <windows.h>

#include "test.h"

const struct test_sys_error test_sys_errors[] = {
    {ERROR_INVALID_PARAMETER, AX_EINVAL},
    {ERROR_TOO_MANY_OPEN_FILES, AX_EMFILE},
    {WSAECONNRESET, AX_ECONNRESET},
    {ERROR_FILE_NOT_FOUND, AX_ENOENT},
    {ERROR_ACCESS_DENIED, AX_EACCES},
    {ERROR_NOT_ENOUGH_MEMORY, AX_ENOMEM},
    {ERROR_OPERATION_ABORTED, AX_ECANCELED},
    {ERROR_NETNAME_DELETED, AX_ECONNRESET},
    {WSAEWOULDBLOCK, AX_EAGAIN},
    {WSAEADDRINUSE, AX_EADDRINUSE},
    {ERROR_HANDLE_EOF, AX_EOF},
    {ERROR_NOT_A_REPARSE_POINT, AX_EINVAL},
    {ERROR_INVALID_PIXEL_FORMAT, AX_EUNKNOWN},
};

const size_t test_sys_errors_len = sizeof(test_sys_errors) /
                                   sizeof(test_sys_errors[0]);
