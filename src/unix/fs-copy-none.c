/*
 * unix/fs-copy-none.c: the kernel copies of unix/fs.h on systems that
 * offer none axle can use for files (macOS and the BSDs). Their
 * sendfile(2) sends to sockets only; macOS's fclonefileat(2) creates its
 * destination, where copyfile has opened one already. sendfile and
 * copyfile copy through a buffer instead (fs-copy.c), and a forced clone
 * fails with AX_ENOTSUP.
 */
#include "fs.h"

int64_t ax__fs_copy_step(int out_fd, int in_fd, int64_t offset, int64_t len,
                         bool files) {
  (void)files;
  (void)out_fd;
  (void)in_fd;
  (void)offset;
  (void)len;
  return AX_ENOSYS;
}

int ax__fs_clone(int out_fd, int in_fd) {
  (void)out_fd;
  (void)in_fd;
  return AX_ENOTSUP;
}
