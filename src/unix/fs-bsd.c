/*
 * unix/fs-bsd.c: what the file system operations do differently on
 * FreeBSD, OpenBSD, NetBSD and DragonFly (the contract in unix/fs.h):
 * struct stat's POSIX st_atim family plus the BSD flags and generation,
 * and statvfs(2), the one call all four describe a file system with (it
 * has no type: `type` stays 0). Birth times differ in name between the
 * four and are left 0. No kernel copies: see fs-copy-none.c.
 */
#include <sys/statvfs.h>
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
  out->atim = ax__fs_time(st->st_atim);
  out->mtim = ax__fs_time(st->st_mtim);
  out->ctim = ax__fs_time(st->st_ctim);
}

int ax__fs_statfs_sys(const char *path, ax_statfs_t *out) {
  struct statvfs sfs;
  if (statvfs(path, &sfs) != 0)
    return ax__fs_errno();
  out->bsize = (uint64_t)sfs.f_frsize;
  out->blocks = (uint64_t)sfs.f_blocks;
  out->bfree = (uint64_t)sfs.f_bfree;
  out->bavail = (uint64_t)sfs.f_bavail;
  out->files = (uint64_t)sfs.f_files;
  out->ffree = (uint64_t)sfs.f_ffree;
  return 0;
}
