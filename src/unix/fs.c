/*
 * unix/fs.c: the file system operations on POSIX systems: ax__fs_run(),
 * the platform half of the contract in src/internal.h.
 *
 * src/fs.c has checked the arguments and filled the request; this file
 * makes the system calls and leaves their outcome in the request. One
 * table maps each request type to the function that performs it. Plain
 * POSIX calls are here; directories are in fs-dir.c, sendfile and copyfile
 * in fs-copy.c, and what differs between kernels in fs-linux.c,
 * fs-darwin.c or fs-bsd.c (see unix/fs.h).
 *
 * Calls that an interrupting signal can cut short are retried on EINTR,
 * except close(2): on Linux the descriptor is gone even then, and a retry
 * could close one another thread just opened.
 *
 * write, sendfile and copyfile may write to a pipe or a socket whose
 * reader is gone, and the kernel then raises SIGPIPE at the writing
 * thread, whose default action ends the process. A pool worker has it
 * blocked from its start (ax__thread_create_worker); a synchronous request
 * runs on the caller's thread, so there SIGPIPE is blocked around the
 * call. Either way a SIGPIPE the call raised is then taken off the
 * thread's pending set, so that it is neither delivered when the mask is
 * put back nor left behind: the caller sees AX_EPIPE, nothing else. One
 * that was pending before the call is the caller's, and stays.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs.h"

/* ax_buf_t is documented as laid out like struct iovec, so that a vector
 * goes to readv(2) as it is: hold the headers to that. */
_Static_assert(sizeof(ax_buf_t) == sizeof(struct iovec), "ax_buf_t size");
_Static_assert(offsetof(ax_buf_t, base) == offsetof(struct iovec, iov_base),
               "ax_buf_t base");
_Static_assert(offsetof(ax_buf_t, len) == offsetof(struct iovec, iov_len),
               "ax_buf_t len");

/* The largest link target readlink grows its buffer to. */
enum { FS_READLINK_MAX = 1 << 20 };

char *ax__fs_strdup(const char *name) {
  size_t size = strlen(name) + 1;
  char *copy = ax__malloc(size);
  if (copy != NULL)
    memcpy(copy, name, size);
  return copy;
}

/* 0, or the error of a call that returned -1. */
static int64_t fs_status(int rc) {
  return rc == 0 ? 0 : ax__fs_errno();
}

int ax__fs_open_flags(int flags) {
  static const struct {
    int ax; /* axle's flag. */
    int os; /* The system's. */
  } map[] = {
      {AX_FS_O_APPEND, O_APPEND},       {AX_FS_O_CREAT, O_CREAT},
      {AX_FS_O_EXCL, O_EXCL},           {AX_FS_O_TRUNC, O_TRUNC},
      {AX_FS_O_DIRECTORY, O_DIRECTORY}, {AX_FS_O_NOFOLLOW, O_NOFOLLOW},
      {AX_FS_O_SYNC, O_SYNC},           {AX_FS_O_DSYNC, O_DSYNC},
  };
  int os = O_CLOEXEC;
  if (flags & AX_FS_O_RDWR)
    os |= O_RDWR;
  else if (flags & AX_FS_O_WRONLY)
    os |= O_WRONLY;
  else
    os |= O_RDONLY;
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
    if (flags & map[i].ax)
      os |= map[i].os;
  }
  if (flags & AX_FS_O_NOATIME)
    os |= ax__fs_o_noatime();
  return os;
}

static int64_t fs_open(ax_fs_t *req) {
  int flags = ax__fs_open_flags(req->priv.flags);
  int fd;
  do
    fd = open(req->path, flags, (mode_t)req->priv.mode);
  while (fd < 0 && errno == EINTR);
  return fd >= 0 ? fd : ax__fs_errno();
}

static int64_t fs_close(ax_fs_t *req) {
  if (close(req->priv.file) == 0 || errno == EINTR || errno == EINPROGRESS)
    return 0;
  return ax__fs_errno();
}

static int64_t fs_read(ax_fs_t *req) {
  const struct iovec *iov = (const struct iovec *)req->priv.bufs;
  int iovcnt = (int)req->priv.nbufs;
  ssize_t n;
  do {
    if (req->priv.offset < 0)
      n = readv(req->priv.file, iov, iovcnt);
    else
      n = ax__fs_preadv(req->priv.file, iov, iovcnt, (off_t)req->priv.offset);
  } while (n < 0 && errno == EINTR);
  return n >= 0 ? n : ax__fs_errno();
}

static int64_t fs_write(ax_fs_t *req) {
  const struct iovec *iov = (const struct iovec *)req->priv.bufs;
  int iovcnt = (int)req->priv.nbufs;
  ssize_t n;
  do {
    if (req->priv.offset < 0)
      n = writev(req->priv.file, iov, iovcnt);
    else
      n = ax__fs_pwritev(req->priv.file, iov, iovcnt, (off_t)req->priv.offset);
  } while (n < 0 && errno == EINTR);
  return n >= 0 ? n : ax__fs_errno();
}

/* The stat family: the answer in statbuf, and ptr pointing at it. The
 * fields POSIX names are read here, the others per system. */
static int64_t fs_stat_answer(ax_fs_t *req, int rc, const struct stat *st) {
  if (rc != 0)
    return ax__fs_errno();
  ax_stat_t *out = &req->statbuf;
  out->dev = (uint64_t)st->st_dev;
  out->mode = (uint64_t)st->st_mode;
  out->nlink = (uint64_t)st->st_nlink;
  out->uid = (uint64_t)st->st_uid;
  out->gid = (uint64_t)st->st_gid;
  out->rdev = (uint64_t)st->st_rdev;
  out->ino = (uint64_t)st->st_ino;
  out->size = (uint64_t)st->st_size;
  out->blksize = (uint64_t)st->st_blksize;
  out->blocks = (uint64_t)st->st_blocks;
  ax__fs_stat_extra(out, st);
  req->ptr = out;
  return 0;
}

int64_t ax__fs_stat_posix(ax_fs_t *req) {
  struct stat st;
  int rc;
  if (req->fs_type == AX_FS_FSTAT)
    rc = fstat(req->priv.file, &st);
  else if (req->fs_type == AX_FS_LSTAT)
    rc = lstat(req->path, &st);
  else
    rc = stat(req->path, &st);
  return fs_stat_answer(req, rc, &st);
}

static int64_t fs_statfs(ax_fs_t *req) {
  ax_statfs_t *out = ax__calloc(1, sizeof(*out));
  if (out == NULL)
    return AX_ENOMEM;
  int err = ax__fs_statfs_sys(req->path, out);
  if (err != 0) {
    ax__free(out);
    return err;
  }
  req->ptr = out;
  return 0;
}

static int64_t fs_ftruncate(ax_fs_t *req) {
  int rc;
  do
    rc = ftruncate(req->priv.file, (off_t)req->priv.len);
  while (rc != 0 && errno == EINTR);
  return fs_status(rc);
}

/* Seconds as a double to a timespec, rounded to the nanosecond. src/fs.c
 * has bounded the value, so the conversion cannot overflow. */
static struct timespec fs_timespec(double seconds) {
  struct timespec ts;
  double whole = (double)(int64_t)seconds;
  if (whole > seconds)
    whole -= 1; /* Round toward minus infinity: nsec is never negative. */
  int64_t nsec = (int64_t)((seconds - whole) * 1e9 + 0.5);
  if (nsec >= 1000000000) {
    whole += 1;
    nsec -= 1000000000;
  }
  ts.tv_sec = (time_t)whole;
  ts.tv_nsec = (long)nsec;
  return ts;
}

/* A time of the utime family as utimensat() takes it: the special values
 * become the special nanosecond counts POSIX gives them (the seconds are
 * then ignored). */
static struct timespec fs_utime_timespec(double seconds) {
  struct timespec ts = {0, 0};
  if (seconds == AX_FS_UTIME_NOW)
    ts.tv_nsec = UTIME_NOW;
  else if (seconds == AX_FS_UTIME_OMIT)
    ts.tv_nsec = UTIME_OMIT;
  else
    ts = fs_timespec(seconds);
  return ts;
}

/* The utime family: the two times as timespecs, access time first. */
static void fs_times(const ax_fs_t *req, struct timespec ts[2]) {
  ts[0] = fs_utime_timespec(req->priv.atime);
  ts[1] = fs_utime_timespec(req->priv.mtime);
}

static int64_t fs_utime(ax_fs_t *req) {
  struct timespec ts[2];
  fs_times(req, ts);
  return fs_status(utimensat(AT_FDCWD, req->path, ts, 0));
}

static int64_t fs_futime(ax_fs_t *req) {
  struct timespec ts[2];
  fs_times(req, ts);
  return fs_status(futimens(req->priv.file, ts));
}

static int64_t fs_lutime(ax_fs_t *req) {
  struct timespec ts[2];
  fs_times(req, ts);
  return fs_status(utimensat(AT_FDCWD, req->path, ts, AT_SYMLINK_NOFOLLOW));
}

static int64_t fs_access(ax_fs_t *req) {
  int mode = req->priv.mode;
  int os = F_OK;
  if (mode & AX_FS_R_OK)
    os |= R_OK;
  if (mode & AX_FS_W_OK)
    os |= W_OK;
  if (mode & AX_FS_X_OK)
    os |= X_OK;
  return fs_status(access(req->path, os));
}

static int64_t fs_chmod(ax_fs_t *req) {
  return fs_status(chmod(req->path, (mode_t)req->priv.mode));
}

static int64_t fs_fchmod(ax_fs_t *req) {
  return fs_status(fchmod(req->priv.file, (mode_t)req->priv.mode));
}

static int64_t fs_fsync(ax_fs_t *req) {
  return ax__fs_fsync_sys(req->priv.file);
}

static int64_t fs_fdatasync(ax_fs_t *req) {
  return ax__fs_fdatasync_sys(req->priv.file);
}

static int64_t fs_unlink(ax_fs_t *req) {
  return fs_status(unlink(req->path));
}

static int64_t fs_rmdir(ax_fs_t *req) {
  return fs_status(rmdir(req->path));
}

static int64_t fs_mkdir(ax_fs_t *req) {
  return fs_status(mkdir(req->path, (mode_t)req->priv.mode));
}

/* The template is src/fs.c's writable copy; the system rewrites it. */
static int64_t fs_mkdtemp(ax_fs_t *req) {
  return mkdtemp(req->priv.paths) != NULL ? 0 : ax__fs_errno();
}

static int64_t fs_mkstemp(ax_fs_t *req) {
  int fd;
  do
    fd = mkostemp(req->priv.paths, O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  return fd >= 0 ? fd : ax__fs_errno();
}

static int64_t fs_rename(ax_fs_t *req) {
  return fs_status(rename(req->path, req->priv.new_path));
}

static int64_t fs_link(ax_fs_t *req) {
  return fs_status(link(req->path, req->priv.new_path));
}

/* The flags are Windows' alone. */
static int64_t fs_symlink(ax_fs_t *req) {
  return fs_status(symlink(req->path, req->priv.new_path));
}

/* A link's target has no length limit the system promises: read it into
 * a buffer that doubles until the target fits with room to spare (a
 * result that fills the buffer may have been cut). */
static int64_t fs_readlink(ax_fs_t *req) {
  for (size_t size = 256; size <= FS_READLINK_MAX; size *= 2) {
    char *target = ax__malloc(size);
    if (target == NULL)
      return AX_ENOMEM;
    ssize_t n = readlink(req->path, target, size);
    if (n < 0) {
      int err = ax__fs_errno();
      ax__free(target);
      return err;
    }
    if ((size_t)n < size) {
      target[n] = '\0';
      req->ptr = target;
      return 0;
    }
    ax__free(target);
  }
  return AX_ENAMETOOLONG;
}

/* realpath(3) allocates with the C library; the answer must be freed
 * with axle's allocator, so it is copied. */
static int64_t fs_realpath(ax_fs_t *req) {
  char *resolved = realpath(req->path, NULL);
  if (resolved == NULL)
    return ax__fs_errno();
  req->ptr = ax__fs_strdup(resolved);
  free(resolved);
  return req->ptr != NULL ? 0 : AX_ENOMEM;
}

static int64_t fs_chown(ax_fs_t *req) {
  return fs_status(
      chown(req->path, (uid_t)req->priv.uid, (gid_t)req->priv.gid));
}

static int64_t fs_fchown(ax_fs_t *req) {
  return fs_status(
      fchown(req->priv.file, (uid_t)req->priv.uid, (gid_t)req->priv.gid));
}

static int64_t fs_lchown(ax_fs_t *req) {
  return fs_status(
      lchown(req->path, (uid_t)req->priv.uid, (gid_t)req->priv.gid));
}

/* Each request type's operation, returning what goes in req->result. */
static int64_t (*const fs_ops[AX_FS_TYPE_MAX])(ax_fs_t *req) = {
    [AX_FS_OPEN] = fs_open,
    [AX_FS_CLOSE] = fs_close,
    [AX_FS_READ] = fs_read,
    [AX_FS_WRITE] = fs_write,
    [AX_FS_SENDFILE] = ax__fs_sendfile,
    [AX_FS_STAT] = ax__fs_stat_sys,
    [AX_FS_LSTAT] = ax__fs_stat_sys,
    [AX_FS_FSTAT] = ax__fs_stat_sys,
    [AX_FS_STATFS] = fs_statfs,
    [AX_FS_FTRUNCATE] = fs_ftruncate,
    [AX_FS_UTIME] = fs_utime,
    [AX_FS_FUTIME] = fs_futime,
    [AX_FS_LUTIME] = fs_lutime,
    [AX_FS_ACCESS] = fs_access,
    [AX_FS_CHMOD] = fs_chmod,
    [AX_FS_FCHMOD] = fs_fchmod,
    [AX_FS_FSYNC] = fs_fsync,
    [AX_FS_FDATASYNC] = fs_fdatasync,
    [AX_FS_UNLINK] = fs_unlink,
    [AX_FS_RMDIR] = fs_rmdir,
    [AX_FS_MKDIR] = fs_mkdir,
    [AX_FS_MKDTEMP] = fs_mkdtemp,
    [AX_FS_MKSTEMP] = fs_mkstemp,
    [AX_FS_RENAME] = fs_rename,
    [AX_FS_SCANDIR] = ax__fs_scandir,
    [AX_FS_OPENDIR] = ax__fs_opendir,
    [AX_FS_READDIR] = ax__fs_readdir,
    [AX_FS_CLOSEDIR] = ax__fs_closedir,
    [AX_FS_LINK] = fs_link,
    [AX_FS_SYMLINK] = fs_symlink,
    [AX_FS_READLINK] = fs_readlink,
    [AX_FS_REALPATH] = fs_realpath,
    [AX_FS_CHOWN] = fs_chown,
    [AX_FS_FCHOWN] = fs_fchown,
    [AX_FS_LCHOWN] = fs_lchown,
    [AX_FS_COPYFILE] = ax__fs_copyfile,
};

/* The thread's SIGPIPE state around a call that may raise it. */
struct fs_sigpipe {
  sigset_t old_mask; /* The thread's mask before the call. */
  bool was_blocked;  /* SIGPIPE was blocked already (a worker, a caller). */
  bool was_pending;  /* ...and pending: not the call's to take. */
};

/* Whether the request writes to a descriptor that may be a pipe or a
 * socket: the caller's (write, sendfile), or a path that may name a FIFO
 * (copyfile: its ftruncate(2) refuses a FIFO before any byte is written
 * today, but the guard does not rest on that). */
static bool fs_may_raise_sigpipe(const ax_fs_t *req) {
  return req->fs_type == AX_FS_WRITE || req->fs_type == AX_FS_SENDFILE ||
         req->fs_type == AX_FS_COPYFILE;
}

static bool fs_sigpipe_is_pending(void) {
  sigset_t pending;
  return sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
}

/* Block SIGPIPE for the call. Where it was not blocked, none can be
 * pending for this thread: it would have been delivered. One system call,
 * two on a thread that blocks it (a worker). */
static void fs_sigpipe_block(struct fs_sigpipe *guard) {
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  /* Cannot fail with a valid how and set. */
  (void)pthread_sigmask(SIG_BLOCK, &pipe_only, &guard->old_mask);
  guard->was_blocked = sigismember(&guard->old_mask, SIGPIPE) == 1;
  guard->was_pending = guard->was_blocked && fs_sigpipe_is_pending();
}

/* Whether the call may have met a reader that left: only a failed write
 * raises SIGPIPE, and sendfile reports one that failed after others moved
 * bytes as a short count. */
static bool fs_sigpipe_maybe_raised(const ax_fs_t *req) {
  if (req->result == AX_EPIPE)
    return true;
  return req->fs_type == AX_FS_SENDFILE && req->result >= 0 &&
         req->result < req->priv.len;
}

/* Take the SIGPIPE the call raised, then put the mask back. */
static void fs_sigpipe_unblock(struct fs_sigpipe *guard, const ax_fs_t *req) {
  if (!guard->was_pending && fs_sigpipe_maybe_raised(req) &&
      fs_sigpipe_is_pending())
    ax__fs_sigpipe_take();
  if (!guard->was_blocked)
    (void)pthread_sigmask(SIG_SETMASK, &guard->old_mask, NULL);
}

void ax__fs_run(ax_fs_t *req) {
  assert(req->fs_type > AX_FS_UNKNOWN && req->fs_type < AX_FS_TYPE_MAX &&
         "axle: file system request of an unknown type");
  /* A pool worker blocks SIGPIPE for good (unix/thread.c), and one left
   * pending there is never delivered: the guard's two system calls are
   * for a caller's thread only, in synchronous mode. */
  if (!fs_may_raise_sigpipe(req) || req->priv.cb != NULL) {
    req->result = fs_ops[req->fs_type](req);
    return;
  }
  struct fs_sigpipe guard;
  fs_sigpipe_block(&guard);
  req->result = fs_ops[req->fs_type](req);
  fs_sigpipe_unblock(&guard, req);
}
