/*
 * unix/fs.h: what the POSIX file system files share.
 *
 * src/unix/fs.c runs every operation (ax__fs_run, the contract in
 * src/internal.h) and holds the plain POSIX calls; fs-dir.c the directory
 * operations; fs-copy.c sendfile and copyfile. What differs between
 * kernels sits behind the short contract below, which one file per system
 * fills and meson picks (fs-linux.c, fs-darwin.c, fs-bsd.c and the two below):
 * the layout of struct stat, statfs, vectored positional I/O, the kernel's own
 * copies, and what "flush to the device" takes.
 *
 * Every function here returns 0 or a count on success and an axle error
 * (-errno) on failure, and retries EINTR itself where the call can be
 * retried.
 */
#ifndef AX_UNIX_FS_H
#define AX_UNIX_FS_H

#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "internal.h"

/* The axle error of the errno a failed call left. */
static inline int ax__fs_errno(void) {
  return ax_translate_sys_error(errno);
}

/* A time of struct stat as axle's. */
static inline ax_timespec_t ax__fs_time(struct timespec ts) {
  ax_timespec_t t = {(int64_t)ts.tv_sec, (int32_t)ts.tv_nsec};
  return t;
}

/* The operations of fs-dir.c and fs-copy.c, each returning what goes in
 * req->result (run by unix/fs.c). */
int64_t ax__fs_scandir(ax_fs_t *req);
int64_t ax__fs_opendir(ax_fs_t *req);
int64_t ax__fs_readdir(ax_fs_t *req);
int64_t ax__fs_closedir(ax_fs_t *req);
int64_t ax__fs_sendfile(ax_fs_t *req);
int64_t ax__fs_copyfile(ax_fs_t *req);

/* How many of len bytes a sendfile at offset may move, or NULL for all:
 * set by the simulation backend (unix/sim-sys.c) while a sim loop is open,
 * so that ax_fs_sendfile() comes back short the way it does on a
 * non-blocking socket whose buffer fills. Read atomically, on pool
 * threads. */
extern int64_t (*ax__fs_sendfile_split)(int64_t offset, int64_t len);

/* The system's open flags for axle's (AX_FS_O_*), O_CLOEXEC among them
 * (fs.c; the io_uring backend's open too). */
int ax__fs_open_flags(int flags);

/* A heap copy of name, made with ax__malloc (fs-dir.c, fs.c). */
char *ax__fs_strdup(const char *name);

/* Per system (fs-linux.c, fs-darwin.c, fs-bsd.c; fs-posix-io.c for what
 * Linux and the BSDs share and macOS lacks; fs-copy-none.c where the
 * kernel offers no copy). */

/* The system's O_NOATIME, or 0 where it has none (the flag is then
 * ignored, as documented). */
int ax__fs_o_noatime(void);

/* The stat family (stat, lstat or fstat, by req->fs_type): the answer in
 * req->statbuf and req->ptr pointing at it, as libuv gives it on this
 * system. Linux asks statx(2), which has the birth time, as libuv does and
 * as the io_uring backend's own statx does, so that a stat says the same
 * on the pool and in the ring; the others call ax__fs_stat_posix(). */
int64_t ax__fs_stat_sys(ax_fs_t *req);

/* The stat family through struct stat: stat(2), lstat(2) or fstat(2),
 * with ax__fs_stat_extra() for the fields that differ (unix/fs.c). */
int64_t ax__fs_stat_posix(ax_fs_t *req);

struct statx;
/* statx(2)'s answer as axle's (fs-linux.c; the io_uring backend's too). */
void ax__fs_statx_answer(ax_stat_t *out, const struct statx *stx);

/* What statx(2) is asked for req (stat, lstat or fstat): the directory
 * descriptor, path and flags, the same on the pool and in the ring. */
struct ax__fs_statx_args {
  int dirfd;        /* AT_FDCWD, or fstat's file. */
  const char *path; /* The request's path, or "" for fstat. */
  int flags;        /* AT_* flags. */
};
struct ax__fs_statx_args ax__fs_statx_args(const ax_fs_t *req);

/* Fill the fields of an ax_stat_t whose names differ between systems:
 * the times, and the BSD flags, generation and birth time where struct
 * stat has them (unix/fs.c fills the POSIX ones, and leaves the rest 0). */
void ax__fs_stat_extra(ax_stat_t *out, const struct stat *st);

/* Describe the file system holding path. */
int ax__fs_statfs_sys(const char *path, ax_statfs_t *out);

/* preadv(2) and pwritev(2), or a loop of pread/pwrite where the system
 * lacks them (macOS before 11). A loop stops at the first short transfer,
 * as the vectored call would, and reports what it moved before an error. */
ssize_t ax__fs_preadv(int fd, const struct iovec *iov, int iovcnt,
                      off_t offset);
ssize_t ax__fs_pwritev(int fd, const struct iovec *iov, int iovcnt,
                       off_t offset);

/* Flush a file's data and metadata, or its data only, to the device. */
int ax__fs_fsync_sys(int fd);
int ax__fs_fdatasync_sys(int fd);

/*
 * One step of a copy inside the kernel: up to len bytes of in_fd from
 * offset (its own position is left alone) to out_fd at its position. The
 * count moved, 0 at the end of in_fd, an error, or AX_ENOSYS when the
 * kernel cannot copy between these two: fs-copy.c then copies through a
 * buffer. files says both are regular files (copyfile), for which a
 * file-to-file copy is worth trying first; sendfile's output is often a
 * socket, which such a copy refuses, a wasted call per step.
 */
int64_t ax__fs_copy_step(int out_fd, int in_fd, int64_t offset, int64_t len,
                         bool files);

/* Take one SIGPIPE off the calling thread's pending signals, which
 * holds one: a write on this thread raised it with SIGPIPE blocked
 * (unix/fs.c). sigtimedwait(2) with no wait where the system has it;
 * sigwait(3) elsewhere (macOS, OpenBSD), which returns at once as the
 * signal is pending. */
void ax__fs_sigpipe_take(void);

/* Make out_fd a copy-on-write clone of in_fd: 0; AX_ENOTSUP where the
 * system or the file system cannot clone these two; another error. */
int ax__fs_clone(int out_fd, int in_fd);

#endif /* AX_UNIX_FS_H */
