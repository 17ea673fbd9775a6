/*
 * unix/fs-linux.c: what the file system operations do differently on
 * Linux (the contract in unix/fs.h): the stat family through statx(2),
 * which has the birth time (struct stat's st_atim family where the kernel
 * or a seccomp filter refuses statx), statfs(2),
 * O_NOATIME, sigtimedwait(2) to take a SIGPIPE, and the kernel's own copies:
 * copy_file_range(2) for copyfile, then sendfile(2), and the FICLONE ioctl.
 * preadv(2) and the rest Linux shares with the BSDs are in fs-posix-io.c.
 */
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fs.h"

int ax__fs_o_noatime(void) {
  return O_NOATIME;
}

void ax__fs_statx_answer(ax_stat_t *out, const struct statx *stx) {
  out->dev = (uint64_t)makedev(stx->stx_dev_major, stx->stx_dev_minor);
  out->mode = stx->stx_mode;
  out->nlink = stx->stx_nlink;
  out->uid = stx->stx_uid;
  out->gid = stx->stx_gid;
  out->rdev = (uint64_t)makedev(stx->stx_rdev_major, stx->stx_rdev_minor);
  out->ino = stx->stx_ino;
  out->size = stx->stx_size;
  out->blksize = stx->stx_blksize;
  out->blocks = stx->stx_blocks;
  out->flags = 0;
  out->gen = 0;
  out->atim = (ax_timespec_t){stx->stx_atime.tv_sec,
                              (int32_t)stx->stx_atime.tv_nsec};
  out->mtim = (ax_timespec_t){stx->stx_mtime.tv_sec,
                              (int32_t)stx->stx_mtime.tv_nsec};
  out->ctim = (ax_timespec_t){stx->stx_ctime.tv_sec,
                              (int32_t)stx->stx_ctime.tv_nsec};
  /* 0 where the file system keeps no birth time (ext4 before 4.11 did
   * not say, tmpfs before 5.18 neither). */
  out->birthtim = (ax_timespec_t){0, 0};
  if (stx->stx_mask & STATX_BTIME)
    out->birthtim = (ax_timespec_t){stx->stx_btime.tv_sec,
                                    (int32_t)stx->stx_btime.tv_nsec};
}

/* statx(2) came with Linux 4.11; a seccomp filter of an older container
 * runtime answers EPERM or ENOSYS for it, and some network file systems
 * EOPNOTSUPP: struct stat then, which every kernel has. */
struct ax__fs_statx_args ax__fs_statx_args(const ax_fs_t *req) {
  struct ax__fs_statx_args a = {AT_FDCWD, req->path, AT_STATX_SYNC_AS_STAT};
  if (req->fs_type == AX_FS_FSTAT) {
    a.dirfd = req->priv.file;
    a.path = "";
    a.flags |= AT_EMPTY_PATH;
  } else if (req->fs_type == AX_FS_LSTAT) {
    a.flags |= AT_SYMLINK_NOFOLLOW;
  }
  return a;
}

int64_t ax__fs_stat_sys(ax_fs_t *req) {
  struct statx stx;
  struct ax__fs_statx_args a = ax__fs_statx_args(req);
  if (statx(a.dirfd, a.path, a.flags, STATX_BASIC_STATS | STATX_BTIME, &stx) ==
      0) {
    ax__fs_statx_answer(&req->statbuf, &stx);
    req->ptr = &req->statbuf;
    return 0;
  }
  if (errno == ENOSYS || errno == EPERM || errno == EOPNOTSUPP)
    return ax__fs_stat_posix(req);
  return ax__fs_errno();
}

void ax__fs_stat_extra(ax_stat_t *out, const struct stat *st) {
  out->atim = ax__fs_time(st->st_atim);
  out->mtim = ax__fs_time(st->st_mtim);
  out->ctim = ax__fs_time(st->st_ctim);
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

/* Errors with which a kernel copy declines these descriptors, rather than
 * failing: an old kernel (ENOSYS), a seccomp filter (EPERM), a file system
 * or a descriptor kind it does not handle, two file systems (EXDEV before
 * 5.3), an output opened with O_APPEND (EBADF for copy_file_range). */
static int fs_copy_declined(int err) {
  return err == ENOSYS || err == EPERM || err == EINVAL || err == EXDEV ||
         err == EOPNOTSUPP || err == EBADF || err == EIO;
}

/* copy_file_range(2) moves file data in the kernel, or lets the file
 * system do it (reflinks, NFS server-side copy). It reports 0 for some
 * files it cannot copy (procfs, sysfs before 5.18): a 0 here is not
 * trusted to mean the end, sendfile(2) is asked again. Returns 1 when it
 * declined, so that sendfile(2) should try. */
static int64_t fs_copy_range(int out_fd, int in_fd, int64_t offset,
                             int64_t len) {
  loff_t in_off = (loff_t)offset;
  ssize_t n;
  do
    n = copy_file_range(in_fd, &in_off, out_fd, NULL, (size_t)len, 0);
  while (n < 0 && errno == EINTR);
  if (n > 0)
    return n;
  if (n < 0 && !fs_copy_declined(errno))
    return ax__fs_errno();
  return 0;
}

int64_t ax__fs_copy_step(int out_fd, int in_fd, int64_t offset, int64_t len,
                         bool files) {
  ssize_t n;
  if (files) {
    int64_t copied = fs_copy_range(out_fd, in_fd, offset, len);
    if (copied != 0)
      return copied;
  }
  off_t sf_off = (off_t)offset;
  do
    n = sendfile(out_fd, in_fd, &sf_off, (size_t)len);
  while (n < 0 && errno == EINTR);
  if (n >= 0)
    return n;
  return errno == EINVAL || errno == ENOSYS ? AX_ENOSYS : ax__fs_errno();
}

/* FICLONE shares the source's extents (btrfs, XFS, bcachefs, OCFS2). */
int ax__fs_clone(int out_fd, int in_fd) {
  if (ioctl(out_fd, FICLONE, in_fd) == 0)
    return 0;
  int err = errno;
  if (err == EOPNOTSUPP || err == ENOTTY || err == EXDEV || err == EINVAL ||
      err == ENOSYS)
    return AX_ENOTSUP;
  return ax_translate_sys_error(err);
}

void ax__fs_sigpipe_take(void) {
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  const struct timespec no_wait = {0, 0};
  /* EAGAIN if another thread took a process-wide one first: fine. */
  while (sigtimedwait(&pipe_only, NULL, &no_wait) < 0 && errno == EINTR)
    continue;
}
