/*
 * unix/fs-darwin.c: what the file system operations do differently on
 * macOS (the contract in unix/fs.h): struct stat's st_atimespec family
 * with a birth time, flags and generation; statfs(2) from <sys/mount.h>;
 * F_FULLFSYNC, since fsync(2) there leaves data in the drive's cache; and
 * positional I/O one buffer at a time, as preadv(2) and pwritev(2) came
 * only with macOS 11. No kernel copies: see fs-copy-none.c.
 */
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/param.h>
#include <unistd.h>

#include "fs.h"

int ax__fs_o_noatime(void) {
  return 0;
}

/* struct stat has all there is: no call of the system's own. */
int64_t ax__fs_stat_sys(ax_fs_t *req) {
  return ax__fs_stat_posix(req);
}

void ax__fs_stat_extra(ax_stat_t *out, const struct stat *st) {
  out->flags = (uint64_t)st->st_flags;
  out->gen = (uint64_t)st->st_gen;
  out->atim = ax__fs_time(st->st_atimespec);
  out->mtim = ax__fs_time(st->st_mtimespec);
  out->ctim = ax__fs_time(st->st_ctimespec);
  out->birthtim = ax__fs_time(st->st_birthtimespec);
}

int ax__fs_statfs_sys(const char *path, ax_statfs_t *out) {
  struct statfs sfs;
  if (statfs(path, &sfs) != 0)
    return ax__fs_errno();
  out->type = (uint64_t)sfs.f_type;
  out->bsize = (uint64_t)sfs.f_bsize;
  out->blocks = (uint64_t)sfs.f_blocks;
  out->bfree = (uint64_t)sfs.f_bfree;
  out->bavail = (uint64_t)sfs.f_bavail;
  out->files = (uint64_t)sfs.f_files;
  out->ffree = (uint64_t)sfs.f_ffree;
  return 0;
}

/* The vectored calls, one buffer at a time. A short transfer ends it, as
 * it would end the vectored call; an error after some bytes moved reports
 * those bytes. EINTR is the caller's to retry, before anything moved. */
static ssize_t fs_pio_loop(int fd, const struct iovec *iov, int iovcnt,
                           off_t offset, int writing) {
  ssize_t total = 0;
  for (int i = 0; i < iovcnt; i++) {
    ssize_t n;
    do {
      if (writing)
        n = pwrite(fd, iov[i].iov_base, iov[i].iov_len, offset + total);
      else
        n = pread(fd, iov[i].iov_base, iov[i].iov_len, offset + total);
    } while (n < 0 && errno == EINTR && total > 0);
    if (n < 0)
      return total > 0 ? total : -1;
    total += n;
    if ((size_t)n < iov[i].iov_len)
      break;
  }
  return total;
}

ssize_t ax__fs_preadv(int fd, const struct iovec *iov, int iovcnt,
                      off_t offset) {
  return fs_pio_loop(fd, iov, iovcnt, offset, 0);
}

ssize_t ax__fs_pwritev(int fd, const struct iovec *iov, int iovcnt,
                       off_t offset) {
  return fs_pio_loop(fd, iov, iovcnt, offset, 1);
}

/* F_FULLFSYNC asks the drive to write its cache too; file systems that
 * do not support it (some network ones) get a plain fsync(2). */
int ax__fs_fsync_sys(int fd) {
  if (fcntl(fd, F_FULLFSYNC) == 0)
    return 0;
  return fsync(fd) == 0 ? 0 : ax__fs_errno();
}

/* macOS declares no fdatasync(2): flush everything. */
int ax__fs_fdatasync_sys(int fd) {
  return ax__fs_fsync_sys(fd);
}
