/*
 * errors.c: names and descriptions of the error codes.
 *
 * One table, searched linearly: it is read only when a program prints an
 * error, never on a hot path. The descriptions are axle's own wording, the
 * same on every platform.
 */
#include <stdio.h>

#include "internal.h"

struct error_entry {
  int code;                /* The AX_E* value. */
  const char *name;        /* Its name without the AX_ prefix. */
  const char *description; /* A short description, lower case. */
};

static const struct error_entry error_table[] = {
    {AX_E2BIG, "E2BIG", "argument list too long"},
    {AX_EACCES, "EACCES", "permission denied"},
    {AX_EADDRINUSE, "EADDRINUSE", "address already in use"},
    {AX_EADDRNOTAVAIL, "EADDRNOTAVAIL", "address not available"},
    {AX_EAFNOSUPPORT, "EAFNOSUPPORT", "address family not supported"},
    {AX_EAGAIN, "EAGAIN", "resource temporarily unavailable"},
    {AX_EALREADY, "EALREADY", "operation already in progress"},
    {AX_EBADF, "EBADF", "bad file descriptor or closed handle"},
    {AX_EBUSY, "EBUSY", "resource busy"},
    {AX_ECANCELED, "ECANCELED", "operation canceled"},
    {AX_ECONNABORTED, "ECONNABORTED", "connection aborted"},
    {AX_ECONNREFUSED, "ECONNREFUSED", "connection refused"},
    {AX_ECONNRESET, "ECONNRESET", "connection reset by peer"},
    {AX_EEXIST, "EEXIST", "file already exists"},
    {AX_EFAULT, "EFAULT", "bad address"},
    {AX_EFBIG, "EFBIG", "file too large"},
    {AX_EHOSTUNREACH, "EHOSTUNREACH", "host is unreachable"},
    {AX_EINTR, "EINTR", "interrupted system call"},
    {AX_EINVAL, "EINVAL", "invalid argument"},
    {AX_EIO, "EIO", "input/output error"},
    {AX_EISCONN, "EISCONN", "socket is already connected"},
    {AX_EISDIR, "EISDIR", "is a directory"},
    {AX_ELOOP, "ELOOP", "too many levels of symbolic links"},
    {AX_EMFILE, "EMFILE", "too many open files"},
    {AX_EMSGSIZE, "EMSGSIZE", "message too long"},
    {AX_ENAMETOOLONG, "ENAMETOOLONG", "name too long"},
    {AX_ENETDOWN, "ENETDOWN", "network is down"},
    {AX_ENETUNREACH, "ENETUNREACH", "network is unreachable"},
    {AX_ENFILE, "ENFILE", "file table overflow"},
    {AX_ENOBUFS, "ENOBUFS", "no buffer space available"},
    {AX_ENODEV, "ENODEV", "no such device"},
    {AX_ENOENT, "ENOENT", "no such file or directory"},
    {AX_ENOEXEC, "ENOEXEC", "exec format error"},
    {AX_ENOMEM, "ENOMEM", "not enough memory"},
    {AX_ENOSPC, "ENOSPC", "no space left on device"},
    {AX_ENOSYS, "ENOSYS", "function not implemented"},
    {AX_ENOTCONN, "ENOTCONN", "socket is not connected"},
    {AX_ENOTDIR, "ENOTDIR", "not a directory"},
    {AX_ENOTEMPTY, "ENOTEMPTY", "directory not empty"},
    {AX_ENOTSOCK, "ENOTSOCK", "socket operation on non-socket"},
    {AX_ENOTSUP, "ENOTSUP", "operation not supported"},
    {AX_EOVERFLOW, "EOVERFLOW", "value too large for defined data type"},
    {AX_EPERM, "EPERM", "operation not permitted"},
    {AX_EPIPE, "EPIPE", "broken pipe"},
    {AX_EPROTO, "EPROTO", "protocol error"},
    {AX_EPROTONOSUPPORT, "EPROTONOSUPPORT", "protocol not supported"},
    {AX_ERANGE, "ERANGE", "result too large"},
    {AX_EROFS, "EROFS", "read-only file system"},
    {AX_ESPIPE, "ESPIPE", "invalid seek"},
    {AX_ESRCH, "ESRCH", "no such process"},
    {AX_ETIMEDOUT, "ETIMEDOUT", "connection timed out"},
    {AX_EXDEV, "EXDEV", "cross-device link not permitted"},
    {AX_EAI_AGAIN, "EAI_AGAIN", "temporary failure in name resolution"},
    {AX_EAI_BADFLAGS, "EAI_BADFLAGS", "invalid flags for name resolution"},
    {AX_EAI_FAIL, "EAI_FAIL", "permanent failure in name resolution"},
    {AX_EAI_FAMILY, "EAI_FAMILY",
     "address family not supported in name resolution"},
    {AX_EAI_MEMORY, "EAI_MEMORY", "out of memory in name resolution"},
    {AX_EAI_NONAME, "EAI_NONAME", "unknown node or service"},
    {AX_EAI_OVERFLOW, "EAI_OVERFLOW", "name resolution answer too long"},
    {AX_EAI_SERVICE, "EAI_SERVICE", "service not available for socket type"},
    {AX_EAI_SOCKTYPE, "EAI_SOCKTYPE", "socket type not supported"},
    {AX_EAI_UNKNOWN, "EAI_UNKNOWN", "unknown error in name resolution"},
    {AX_EOF, "EOF", "end of file"},
    {AX_EUNKNOWN, "EUNKNOWN", "unknown error"},
};

static const struct error_entry *error_find(int err) {
  for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++) {
    if (error_table[i].code == err)
      return &error_table[i];
  }
  return NULL;
}

const char *ax_strerror(int err) {
  const struct error_entry *e = error_find(err);
  return e != NULL ? e->description : "unknown error";
}

const char *ax_err_name(int err) {
  const struct error_entry *e = error_find(err);
  return e != NULL ? e->name : "UNKNOWN";
}

/* Copy text, or for an unknown code the text of unknown_format with the
 * number, into buf; snprintf cuts what does not fit and says how much it
 * wanted, which tells a cut apart from a fit. */
static int errors_copy(const char *text, const char *unknown_format, int err,
                       char *buf, size_t len_bytes) {
  if (buf == NULL || len_bytes == 0)
    return AX_EINVAL;
  int wanted = text != NULL ? snprintf(buf, len_bytes, "%s", text)
                            : snprintf(buf, len_bytes, unknown_format, err);
  if (wanted < 0) {
    buf[0] = '\0';
    return AX_EINVAL; /* Not reached: the formats are ours. */
  }
  return (size_t)wanted >= len_bytes ? AX_ENOBUFS : 0;
}

int ax_strerror_r(int err, char *buf, size_t len_bytes) {
  const struct error_entry *e = error_find(err);
  return errors_copy(e != NULL ? e->description : NULL, "unknown error %d", err,
                     buf, len_bytes);
}

int ax_err_name_r(int err, char *buf, size_t len_bytes) {
  const struct error_entry *e = error_find(err);
  return errors_copy(e != NULL ? e->name : NULL, "UNKNOWN(%d)", err, buf,
                     len_bytes);
}
