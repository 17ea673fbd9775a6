/*
 * win/error.c: Win32 and Winsock errors translated onto axle's codes.
 *
 * axle's codes are the negated C runtime errno names (axle.h), so a program
 * compares against the same AX_E* names on every platform. Windows reports
 * errors as Win32 codes (GetLastError) and Winsock codes (WSAGetLastError,
 * 10000 and up); the two ranges do not overlap, so one table holds both.
 * Where Win32 has several codes for what POSIX calls one condition, each
 * gets a row; a code with no POSIX counterpart is AX_EUNKNOWN rather than a
 * guess. The table is searched linearly: it is read on error paths only.
 */
#include "internal.h"

struct error_row {
  DWORD sys_error; /* The Win32 or Winsock code. */
  int code;        /* The AX_E* code it means. */
};

static const struct error_row error_table[] = {
    /* Files and paths. */
    {ERROR_FILE_NOT_FOUND, AX_ENOENT},
    {ERROR_PATH_NOT_FOUND, AX_ENOENT},
    {ERROR_INVALID_DRIVE, AX_ENOENT},
    {ERROR_BAD_NETPATH, AX_ENOENT},
    {ERROR_BAD_NET_NAME, AX_ENOENT},
    {ERROR_BAD_PATHNAME, AX_ENOENT},
    {ERROR_MOD_NOT_FOUND, AX_ENOENT},
    {ERROR_ENVVAR_NOT_FOUND, AX_ENOENT},
    {ERROR_NOT_FOUND, AX_ENOENT},
    {ERROR_FILE_EXISTS, AX_EEXIST},
    {ERROR_ALREADY_EXISTS, AX_EEXIST},
    {ERROR_DIRECTORY, AX_ENOTDIR},
    {ERROR_DIR_NOT_EMPTY, AX_ENOTEMPTY},
    {ERROR_FILENAME_EXCED_RANGE, AX_ENAMETOOLONG},
    {ERROR_BUFFER_OVERFLOW, AX_ENAMETOOLONG},
    {ERROR_CANT_RESOLVE_FILENAME, AX_ELOOP},
    {ERROR_NOT_SAME_DEVICE, AX_EXDEV},
    {ERROR_WRITE_PROTECT, AX_EROFS},
    {ERROR_DISK_FULL, AX_ENOSPC},
    {ERROR_HANDLE_DISK_FULL, AX_ENOSPC},
    {ERROR_FILE_TOO_LARGE, AX_EFBIG},
    {ERROR_SEEK_ON_DEVICE, AX_ESPIPE},
    {ERROR_NEGATIVE_SEEK, AX_EINVAL},
    {ERROR_HANDLE_EOF, AX_EOF},
    /* readlink of a file that is no link: POSIX's EINVAL. */
    {ERROR_NOT_A_REPARSE_POINT, AX_EINVAL},
    {ERROR_INVALID_REPARSE_DATA, AX_EINVAL},
    /* A name that is not valid UTF-16 or UTF-8. */
    {ERROR_NO_UNICODE_TRANSLATION, AX_EINVAL},
    /* Permissions and sharing. ACCESS_DENIED is what a POSIX system calls
     * EACCES (a file's permissions), as the C runtime maps it too. */
    {ERROR_ACCESS_DENIED, AX_EACCES},
    {ERROR_CANT_ACCESS_FILE, AX_EACCES},
    {ERROR_PRIVILEGE_NOT_HELD, AX_EPERM},
    {ERROR_SHARING_VIOLATION, AX_EBUSY},
    {ERROR_LOCK_VIOLATION, AX_EBUSY},
    {ERROR_BUSY, AX_EBUSY},
    {ERROR_PATH_BUSY, AX_EBUSY},
    {ERROR_PIPE_BUSY, AX_EBUSY},
    /* Handles, arguments, memory. */
    {ERROR_INVALID_HANDLE, AX_EBADF},
    {ERROR_INVALID_TARGET_HANDLE, AX_EBADF},
    {ERROR_ABANDONED_WAIT_0, AX_EBADF}, /* The port closed during a wait. */
    {ERROR_INVALID_PARAMETER, AX_EINVAL},
    {ERROR_INVALID_FLAGS, AX_EINVAL},
    {ERROR_INVALID_NAME, AX_EINVAL},
    {ERROR_INSUFFICIENT_BUFFER, AX_EINVAL},
    {ERROR_INVALID_ADDRESS, AX_EFAULT},
    {ERROR_NOACCESS, AX_EFAULT},
    {ERROR_ARITHMETIC_OVERFLOW, AX_EOVERFLOW},
    {ERROR_BAD_ENVIRONMENT, AX_E2BIG},
    {ERROR_NOT_ENOUGH_MEMORY, AX_ENOMEM},
    {ERROR_OUTOFMEMORY, AX_ENOMEM},
    {ERROR_COMMITMENT_LIMIT, AX_ENOMEM},
    {ERROR_NOT_ENOUGH_QUOTA, AX_ENOMEM},
    {ERROR_NO_SYSTEM_RESOURCES, AX_ENOMEM},
    {ERROR_WORKING_SET_QUOTA, AX_ENOMEM},
    {ERROR_TOO_MANY_OPEN_FILES, AX_EMFILE},
    {ERROR_MAX_THRDS_REACHED, AX_EAGAIN},
    /* Devices and I/O. */
    {ERROR_BAD_UNIT, AX_ENODEV},
    {ERROR_DEV_NOT_EXIST, AX_ENODEV},
    {ERROR_BAD_DEVICE, AX_ENODEV},
    {ERROR_IO_DEVICE, AX_EIO},
    {ERROR_CRC, AX_EIO},
    {ERROR_READ_FAULT, AX_EIO},
    {ERROR_WRITE_FAULT, AX_EIO},
    {ERROR_GEN_FAILURE, AX_EIO},
    {ERROR_NOT_SUPPORTED, AX_ENOTSUP},
    {ERROR_CALL_NOT_IMPLEMENTED, AX_ENOSYS},
    {ERROR_PROC_NOT_FOUND, AX_ENOSYS},
    {ERROR_OPERATION_ABORTED, AX_ECANCELED}, /* Also WSA_OPERATION_ABORTED. */
    {ERROR_CANCELLED, AX_ECANCELED},
    {ERROR_TIMEOUT, AX_ETIMEDOUT},
    {ERROR_SEM_TIMEOUT, AX_ETIMEDOUT},
    {WAIT_TIMEOUT, AX_ETIMEDOUT},
    /* Pipes. A read path that meets a broken pipe reports end of file
     * itself; as an error code it is POSIX's EPIPE. */
    {ERROR_BROKEN_PIPE, AX_EPIPE},
    {ERROR_BAD_PIPE, AX_EPIPE},
    {ERROR_NO_DATA, AX_EPIPE},
    {ERROR_PIPE_NOT_CONNECTED, AX_EPIPE},
    /* Sockets, as Win32 codes (overlapped socket I/O reports these). */
    {ERROR_NETNAME_DELETED, AX_ECONNRESET},
    {ERROR_CONNECTION_REFUSED, AX_ECONNREFUSED},
    {ERROR_CONNECTION_ABORTED, AX_ECONNABORTED},
    {ERROR_HOST_UNREACHABLE, AX_EHOSTUNREACH},
    {ERROR_NETWORK_UNREACHABLE, AX_ENETUNREACH},
    {ERROR_ADDRESS_ALREADY_ASSOCIATED, AX_EADDRINUSE},
    /* Sockets, as Winsock codes. */
    {WSAEINTR, AX_EINTR},
    {WSAEBADF, AX_EBADF},
    {WSAEACCES, AX_EACCES},
    {WSAEFAULT, AX_EFAULT},
    {WSAEINVAL, AX_EINVAL},
    {WSAEMFILE, AX_EMFILE},
    {WSAEWOULDBLOCK, AX_EAGAIN},
    {WSAEALREADY, AX_EALREADY},
    {WSAENOTSOCK, AX_ENOTSOCK},
    {WSAEMSGSIZE, AX_EMSGSIZE},
    {WSAEPROTONOSUPPORT, AX_EPROTONOSUPPORT},
    {WSAESOCKTNOSUPPORT, AX_EPROTONOSUPPORT},
    {WSAEOPNOTSUPP, AX_ENOTSUP},
    {WSAEAFNOSUPPORT, AX_EAFNOSUPPORT},
    {WSAEPFNOSUPPORT, AX_EAFNOSUPPORT},
    {WSAEADDRINUSE, AX_EADDRINUSE},
    {WSAEADDRNOTAVAIL, AX_EADDRNOTAVAIL},
    {WSAENETDOWN, AX_ENETDOWN},
    {WSAENETUNREACH, AX_ENETUNREACH},
    {WSAENETRESET, AX_ECONNRESET},
    {WSAECONNABORTED, AX_ECONNABORTED},
    {WSAECONNRESET, AX_ECONNRESET},
    {WSAENOBUFS, AX_ENOBUFS},
    {WSAEISCONN, AX_EISCONN},
    {WSAENOTCONN, AX_ENOTCONN},
    {WSAESHUTDOWN, AX_EPIPE},
    {WSAETIMEDOUT, AX_ETIMEDOUT},
    {WSAECONNREFUSED, AX_ECONNREFUSED},
    {WSAELOOP, AX_ELOOP},
    {WSAENAMETOOLONG, AX_ENAMETOOLONG},
    {WSAEHOSTDOWN, AX_EHOSTUNREACH},
    {WSAEHOSTUNREACH, AX_EHOSTUNREACH},
    {WSAECANCELLED, AX_ECANCELED},
    {WSA_E_CANCELLED, AX_ECANCELED},
};

int ax_translate_sys_error(int sys_error) {
  /* Zero is success; a negative value is an axle code already, so
   * translating twice is harmless. */
  if (sys_error <= 0)
    return sys_error;
  for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++) {
    if (error_table[i].sys_error == (DWORD)sys_error)
      return error_table[i].code;
  }
  return AX_EUNKNOWN;
}
