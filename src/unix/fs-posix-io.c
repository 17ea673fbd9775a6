/*
 * unix/fs-posix-io.c: the calls of unix/fs.h that Linux and the BSDs have
 * and macOS lacks (fs-darwin.c has its own): preadv(2), pwritev(2) and
 * fdatasync(2), with fsync(2) beside them.
 */
#include <unistd.h>

#include "fs.h"

ssize_t ax__fs_preadv(int fd, const struct iovec *iov, int iovcnt,
                      off_t offset) {
  return preadv(fd, iov, iovcnt, offset);
}

ssize_t ax__fs_pwritev(int fd, const struct iovec *iov, int iovcnt,
                       off_t offset) {
  return pwritev(fd, iov, iovcnt, offset);
}

int ax__fs_fsync_sys(int fd) {
  return fsync(fd) == 0 ? 0 : ax__fs_errno();
}

int ax__fs_fdatasync_sys(int fd) {
  return fdatasync(fd) == 0 ? 0 : ax__fs_errno();
}
