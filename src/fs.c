/*
 * fs.c: the file system requests, ax_fs_*(), the part every platform shares.
 *
 * Each function checks its arguments, fills the request's private region
 * (paths, buffers, descriptors, flags), and then either runs the operation
 * at once on the caller's thread (no callback: synchronous mode) or queues
 * it as a pooled job on the file system lane (threadpool.c), whose
 * completion calls the user's callback on the loop thread. The operation
 * itself is the platform's: ax__fs_run() in src/unix/fs.c or src/win/fs.c,
 * behind the contract in internal.h.
 *
 * What a request owns until ax_fs_req_cleanup(): one allocation holding
 * the copies of its paths (an asynchronous request's, and the writable
 * template of mkdtemp and mkstemp in both modes), a vector of more than
 * AX__FS_INLINE_BUFS buffers, and the answers the platform allocated
 * (statfs, readlink, realpath, scandir, readdir's names).
 */
#include <string.h>

#include "backend.h"
#include "internal.h"

/* The most buffers one read or write takes: the IOV_MAX of Linux and the
 * BSDs, so that a vector is never cut by the system. */
enum { FS_MAX_BUFS = 1024 };

/* The flags each function knows; any other bit is an argument error. */
enum {
  FS_OPEN_FLAGS = AX_FS_O_WRONLY | AX_FS_O_RDWR | AX_FS_O_APPEND |
                  AX_FS_O_CREAT | AX_FS_O_EXCL | AX_FS_O_TRUNC |
                  AX_FS_O_DIRECTORY | AX_FS_O_NOFOLLOW | AX_FS_O_SYNC |
                  AX_FS_O_DSYNC | AX_FS_O_NOATIME,
  FS_ACCESS_MODES = AX_FS_R_OK | AX_FS_W_OK | AX_FS_X_OK,
  FS_COPYFILE_FLAGS = AX_FS_COPYFILE_EXCL | AX_FS_COPYFILE_FICLONE |
                      AX_FS_COPYFILE_FICLONE_FORCE,
  FS_SYMLINK_FLAGS = AX_FS_SYMLINK_DIR | AX_FS_SYMLINK_JUNCTION,
  /* Permission, set-id and sticky bits: what a mode may hold. */
  FS_MODE_BITS = 07777,
};

/* The bound on the times of the utime family: about 28,500 years either
 * side of 1970. */
static const double fs_time_limit_s = 9e11;

/* The suffix mkdtemp and mkstemp replace. */
static const char fs_template_suffix[] = "XXXXXX";

ax_buf_t ax_buf_init(char *base, size_t len) {
  ax_buf_t buf;
  buf.base = base;
  /* The length field is a size_t on POSIX and a 32-bit ULONG on Windows:
   * counting down from 0 gives the largest value it holds, whichever. */
  buf.len = 0;
  buf.len--;
  if ((size_t)buf.len > len)
    buf.len = len;
  return buf;
}

/* Put the request in its initial state, so that ax_fs_req_cleanup() is
 * safe on it whatever happens next. req->req.data is the user's. */
static void fs_req_init(ax_fs_t *req, ax_loop_t *loop, ax_fs_type type) {
  memset(&req->priv, 0, sizeof(req->priv));
  memset(&req->statbuf, 0, sizeof(req->statbuf));
  req->req.loop = loop;
  req->req.type = AX_FS;
  req->fs_type = type;
  req->result = 0;
  req->ptr = NULL;
  req->path = NULL;
  req->priv.file = -1;
  req->priv.out_file = -1;
  req->priv.offset = -1;
}

/* Record an argument error in the request and return it. */
static int fs_fail(ax_fs_t *req, int err) {
  req->result = err;
  return err;
}

/* Copy path and new_path (either may be NULL) into one allocation owned
 * by the request, and point the request at the copies. */
static int fs_copy_paths(ax_fs_t *req, const char *path, const char *new_path) {
  size_t path_size = path != NULL ? strlen(path) + 1 : 0;
  size_t new_path_size = new_path != NULL ? strlen(new_path) + 1 : 0;
  char *paths = ax__malloc(path_size + new_path_size);
  if (paths == NULL)
    return AX_ENOMEM;
  if (path != NULL) {
    memcpy(paths, path, path_size);
    req->path = paths;
  }
  if (new_path != NULL) {
    memcpy(paths + path_size, new_path, new_path_size);
    req->priv.new_path = paths + path_size;
  }
  req->priv.paths = paths;
  return 0;
}

/* On a worker. */
static void fs_work(struct ax__work *w) {
  ax__fs_run(ax_container_of(w, ax_fs_t, priv.work));
}

/* On the loop thread. status is AX_ECANCELED when the job never ran. */
static void fs_done(struct ax__work *w, int status) {
  ax_fs_t *req = ax_container_of(w, ax_fs_t, priv.work);
  if (status != 0)
    req->result = status;
  req->priv.cb(req);
}

/*
 * Run a prepared request: at once on this thread without a callback,
 * returning its outcome (the count stays in req->result); or queued on the
 * file system lane, after copying the caller's paths, which may go away
 * once this returns. A request that fails to queue has no callback, so
 * ax_cancel() sees it as over; its copies wait for ax_fs_req_cleanup().
 */
static int fs_start(ax_loop_t *loop, ax_fs_t *req, ax_fs_cb cb) {
  if (cb == NULL) {
    ax__fs_run(req);
    return req->result < 0 ? (int)req->result : 0;
  }
  if (req->priv.paths == NULL && req->path != NULL) {
    int err = fs_copy_paths(req, req->path, req->priv.new_path);
    if (err != 0)
      return fs_fail(req, err);
  }
  req->priv.cb = cb;
  const struct ax__fs_ops *native = ax__backend(loop)->fs;
  if (native != NULL && native->start(loop, req) == 0) {
    req->priv.work.lane = AX__LANE_NATIVE;
    loop->priv.active_reqs++;
    return 0;
  }
  req->priv.work.work = fs_work;
  req->priv.work.done = fs_done;
  int err = ax__work_submit(loop, &req->priv.work, AX__LANE_FS);
  if (err != 0) {
    req->priv.cb = NULL;
    return fs_fail(req, err);
  }
  return 0;
}

/* Begin a request on one path (and a second one, for the operations that
 * take new_path): the common checks, and the caller's strings recorded. */
static int fs_init_path(ax_loop_t *loop, ax_fs_t *req, ax_fs_type type,
                        const char *path) {
  if (req == NULL)
    return AX_EINVAL;
  fs_req_init(req, loop, type);
  if (loop == NULL || path == NULL)
    return fs_fail(req, AX_EINVAL);
  req->path = path;
  return 0;
}

static int fs_init_paths(ax_loop_t *loop, ax_fs_t *req, ax_fs_type type,
                         const char *path, const char *new_path) {
  int err = fs_init_path(loop, req, type, path);
  if (err != 0)
    return err;
  if (new_path == NULL)
    return fs_fail(req, AX_EINVAL);
  req->priv.new_path = new_path;
  return 0;
}

/* Begin a request on a descriptor. A negative one can name no file. */
static int fs_init_file(ax_loop_t *loop, ax_fs_t *req, ax_fs_type type,
                        ax_file_t file) {
  if (req == NULL)
    return AX_EINVAL;
  fs_req_init(req, loop, type);
  if (loop == NULL)
    return fs_fail(req, AX_EINVAL);
  if (file < 0)
    return fs_fail(req, AX_EBADF);
  req->priv.file = file;
  return 0;
}

/* A mode for a file or directory: permission, set-id and sticky bits. */
static int fs_mode_is_valid(int mode) {
  return mode >= 0 && (mode & ~FS_MODE_BITS) == 0;
}

/* Exactly one access mode, and known flags only. */
static int fs_open_flags_are_valid(int flags) {
  if ((flags & ~FS_OPEN_FLAGS) != 0)
    return 0;
  return (flags & (AX_FS_O_WRONLY | AX_FS_O_RDWR)) !=
         (AX_FS_O_WRONLY | AX_FS_O_RDWR);
}

int ax_fs_open(ax_loop_t *loop, ax_fs_t *req, const char *path, int flags,
               int mode, ax_fs_cb cb) {
  int err = fs_init_path(loop, req, AX_FS_OPEN, path);
  if (err != 0)
    return err;
  if (!fs_open_flags_are_valid(flags) || !fs_mode_is_valid(mode))
    return fs_fail(req, AX_EINVAL);
  req->priv.flags = flags;
  req->priv.mode = mode;
  return fs_start(loop, req, cb);
}

int ax_fs_close(ax_loop_t *loop, ax_fs_t *req, ax_file_t file, ax_fs_cb cb) {
  int err = fs_init_file(loop, req, AX_FS_CLOSE, file);
  return err != 0 ? err : fs_start(loop, req, cb);
}

/* Check a vector and copy it into the request: inline when it is short,
 * else into an allocation. The caller's array may go away at once. */
static int fs_copy_bufs(ax_fs_t *req, const ax_buf_t bufs[],
                        unsigned int nbufs) {
  if (bufs == NULL || nbufs == 0 || nbufs > FS_MAX_BUFS)
    return AX_EINVAL;
  for (unsigned int i = 0; i < nbufs; i++) {
    if (bufs[i].base == NULL && bufs[i].len > 0)
      return AX_EINVAL;
  }
  req->priv.bufs = req->priv.inline_bufs;
  if (nbufs > AX__FS_INLINE_BUFS) {
    req->priv.bufs = ax__malloc(nbufs * sizeof(*bufs));
    if (req->priv.bufs == NULL)
      return AX_ENOMEM;
  }
  memcpy(req->priv.bufs, bufs, nbufs * sizeof(*bufs));
  req->priv.nbufs = nbufs;
  return 0;
}

/* The body of ax_fs_read() and ax_fs_write(). */
static int fs_read_write(ax_loop_t *loop, ax_fs_t *req, ax_fs_type type,
                         ax_file_t file, const ax_buf_t bufs[],
                         unsigned int nbufs, int64_t offset, ax_fs_cb cb) {
  int err = fs_init_file(loop, req, type, file);
  if (err != 0)
    return err;
  if (offset < -1)
    return fs_fail(req, AX_EINVAL);
  err = fs_copy_bufs(req, bufs, nbufs);
  if (err != 0)
    return fs_fail(req, err);
  req->priv.offset = offset;
  return fs_start(loop, req, cb);
}

int ax_fs_read(ax_loop_t *loop, ax_fs_t *req, ax_file_t file,
               const ax_buf_t bufs[], unsigned int nbufs, int64_t offset,
               ax_fs_cb cb) {
  return fs_read_write(loop, req, AX_FS_READ, file, bufs, nbufs, offset, cb);
}

int ax_fs_write(ax_loop_t *loop, ax_fs_t *req, ax_file_t file,
                const ax_buf_t bufs[], unsigned int nbufs, int64_t offset,
                ax_fs_cb cb) {
  return fs_read_write(loop, req, AX_FS_WRITE, file, bufs, nbufs, offset, cb);
}

int ax_fs_sendfile(ax_loop_t *loop, ax_fs_t *req, ax_file_t out_file,
                   ax_file_t in_file, int64_t in_offset, int64_t len,
                   ax_fs_cb cb) {
  int err = fs_init_file(loop, req, AX_FS_SENDFILE, in_file);
  if (err != 0)
    return err;
  if (out_file < 0)
    return fs_fail(req, AX_EBADF);
  if (in_offset < 0 || len < 0)
    return fs_fail(req, AX_EINVAL);
  req->priv.out_file = out_file;
  req->priv.offset = in_offset;
  req->priv.len = len;
  return fs_start(loop, req, cb);
}

/* The body of the operations that take one path and nothing else. */
static int fs_path_op(ax_loop_t *loop, ax_fs_t *req, ax_fs_type type,
                      const char *path, ax_fs_cb cb) {
  int err = fs_init_path(loop, req, type, path);
  return err != 0 ? err : fs_start(loop, req, cb);
}

/* The body of chmod and mkdir: a path and permission bits. */
static int fs_path_mode_op(ax_loop_t *loop, ax_fs_t *req, ax_fs_type type,
                           const char *path, int mode, ax_fs_cb cb) {
  int err = fs_init_path(loop, req, type, path);
  if (err != 0)
    return err;
  if (!fs_mode_is_valid(mode))
    return fs_fail(req, AX_EINVAL);
  req->priv.mode = mode;
  return fs_start(loop, req, cb);
}

/* The body of the operations that take one descriptor and nothing else. */
static int fs_file_op(ax_loop_t *loop, ax_fs_t *req, ax_fs_type type,
                      ax_file_t file, ax_fs_cb cb) {
  int err = fs_init_file(loop, req, type, file);
  return err != 0 ? err : fs_start(loop, req, cb);
}

int ax_fs_stat(ax_loop_t *loop, ax_fs_t *req, const char *path, ax_fs_cb cb) {
  return fs_path_op(loop, req, AX_FS_STAT, path, cb);
}

int ax_fs_lstat(ax_loop_t *loop, ax_fs_t *req, const char *path, ax_fs_cb cb) {
  return fs_path_op(loop, req, AX_FS_LSTAT, path, cb);
}

int ax_fs_fstat(ax_loop_t *loop, ax_fs_t *req, ax_file_t file, ax_fs_cb cb) {
  return fs_file_op(loop, req, AX_FS_FSTAT, file, cb);
}

int ax_fs_statfs(ax_loop_t *loop, ax_fs_t *req, const char *path, ax_fs_cb cb) {
  return fs_path_op(loop, req, AX_FS_STATFS, path, cb);
}

int ax_fs_ftruncate(ax_loop_t *loop, ax_fs_t *req, ax_file_t file, int64_t len,
                    ax_fs_cb cb) {
  int err = fs_init_file(loop, req, AX_FS_FTRUNCATE, file);
  if (err != 0)
    return err;
  if (len < 0)
    return fs_fail(req, AX_EINVAL);
  req->priv.len = len;
  return fs_start(loop, req, cb);
}

/* Whether t is a time the utime family accepts: a number of seconds that
 * every platform converts without overflow (Windows counts 100-ns units
 * in 64 bits), or one of the special values, which lie outside that range
 * so that the systems' code tells them apart with one comparison. NaN
 * fails every comparison. */
static int fs_time_is_valid(double t) {
  return (t > -fs_time_limit_s && t < fs_time_limit_s) ||
         t == AX_FS_UTIME_NOW || t == AX_FS_UTIME_OMIT;
}

/* Record the times of the utime family. */
static int fs_set_times(ax_fs_t *req, double atime, double mtime) {
  if (!fs_time_is_valid(atime) || !fs_time_is_valid(mtime))
    return fs_fail(req, AX_EINVAL);
  req->priv.atime = atime;
  req->priv.mtime = mtime;
  return 0;
}

int ax_fs_utime(ax_loop_t *loop, ax_fs_t *req, const char *path, double atime,
                double mtime, ax_fs_cb cb) {
  int err = fs_init_path(loop, req, AX_FS_UTIME, path);
  if (err == 0)
    err = fs_set_times(req, atime, mtime);
  return err != 0 ? err : fs_start(loop, req, cb);
}

int ax_fs_futime(ax_loop_t *loop, ax_fs_t *req, ax_file_t file, double atime,
                 double mtime, ax_fs_cb cb) {
  int err = fs_init_file(loop, req, AX_FS_FUTIME, file);
  if (err == 0)
    err = fs_set_times(req, atime, mtime);
  return err != 0 ? err : fs_start(loop, req, cb);
}

int ax_fs_lutime(ax_loop_t *loop, ax_fs_t *req, const char *path, double atime,
                 double mtime, ax_fs_cb cb) {
  int err = fs_init_path(loop, req, AX_FS_LUTIME, path);
  if (err == 0)
    err = fs_set_times(req, atime, mtime);
  return err != 0 ? err : fs_start(loop, req, cb);
}

int ax_fs_access(ax_loop_t *loop, ax_fs_t *req, const char *path, int mode,
                 ax_fs_cb cb) {
  int err = fs_init_path(loop, req, AX_FS_ACCESS, path);
  if (err != 0)
    return err;
  if (mode < 0 || (mode & ~FS_ACCESS_MODES) != 0)
    return fs_fail(req, AX_EINVAL);
  req->priv.mode = mode;
  return fs_start(loop, req, cb);
}

int ax_fs_chmod(ax_loop_t *loop, ax_fs_t *req, const char *path, int mode,
                ax_fs_cb cb) {
  return fs_path_mode_op(loop, req, AX_FS_CHMOD, path, mode, cb);
}

int ax_fs_fchmod(ax_loop_t *loop, ax_fs_t *req, ax_file_t file, int mode,
                 ax_fs_cb cb) {
  int err = fs_init_file(loop, req, AX_FS_FCHMOD, file);
  if (err != 0)
    return err;
  if (!fs_mode_is_valid(mode))
    return fs_fail(req, AX_EINVAL);
  req->priv.mode = mode;
  return fs_start(loop, req, cb);
}

int ax_fs_fsync(ax_loop_t *loop, ax_fs_t *req, ax_file_t file, ax_fs_cb cb) {
  return fs_file_op(loop, req, AX_FS_FSYNC, file, cb);
}

int ax_fs_fdatasync(ax_loop_t *loop, ax_fs_t *req, ax_file_t file,
                    ax_fs_cb cb) {
  return fs_file_op(loop, req, AX_FS_FDATASYNC, file, cb);
}

int ax_fs_unlink(ax_loop_t *loop, ax_fs_t *req, const char *path, ax_fs_cb cb) {
  return fs_path_op(loop, req, AX_FS_UNLINK, path, cb);
}

int ax_fs_rmdir(ax_loop_t *loop, ax_fs_t *req, const char *path, ax_fs_cb cb) {
  return fs_path_op(loop, req, AX_FS_RMDIR, path, cb);
}

int ax_fs_mkdir(ax_loop_t *loop, ax_fs_t *req, const char *path, int mode,
                ax_fs_cb cb) {
  return fs_path_mode_op(loop, req, AX_FS_MKDIR, path, mode, cb);
}

/* The body of mkdtemp and mkstemp: the template must end in the suffix,
 * and is copied in both modes, since the system rewrites it in place. */
static int fs_temp_op(ax_loop_t *loop, ax_fs_t *req, ax_fs_type type,
                      const char *tpl, ax_fs_cb cb) {
  int err = fs_init_path(loop, req, type, tpl);
  if (err != 0)
    return err;
  size_t len = strlen(tpl);
  size_t suffix_len = sizeof(fs_template_suffix) - 1;
  if (len < suffix_len ||
      memcmp(tpl + len - suffix_len, fs_template_suffix, suffix_len) != 0)
    return fs_fail(req, AX_EINVAL);
  req->path = NULL;
  err = fs_copy_paths(req, tpl, NULL);
  return err != 0 ? fs_fail(req, err) : fs_start(loop, req, cb);
}

int ax_fs_mkdtemp(ax_loop_t *loop, ax_fs_t *req, const char *tpl, ax_fs_cb cb) {
  return fs_temp_op(loop, req, AX_FS_MKDTEMP, tpl, cb);
}

int ax_fs_mkstemp(ax_loop_t *loop, ax_fs_t *req, const char *tpl, ax_fs_cb cb) {
  return fs_temp_op(loop, req, AX_FS_MKSTEMP, tpl, cb);
}

int ax_fs_rename(ax_loop_t *loop, ax_fs_t *req, const char *path,
                 const char *new_path, ax_fs_cb cb) {
  int err = fs_init_paths(loop, req, AX_FS_RENAME, path, new_path);
  return err != 0 ? err : fs_start(loop, req, cb);
}

int ax_fs_scandir(ax_loop_t *loop, ax_fs_t *req, const char *path, int flags,
                  ax_fs_cb cb) {
  int err = fs_init_path(loop, req, AX_FS_SCANDIR, path);
  if (err != 0)
    return err;
  if (flags != 0)
    return fs_fail(req, AX_EINVAL);
  return fs_start(loop, req, cb);
}

int ax_fs_scandir_next(ax_fs_t *req, ax_dirent_t *ent) {
  if (req == NULL || ent == NULL || req->fs_type != AX_FS_SCANDIR)
    return AX_EINVAL;
  /* A failed scan answers with its own error, as in libuv, so that a loop
   * over the entries that ignores the callback's status still learns why
   * there are none. */
  if (req->result < 0)
    return (int)req->result;
  if (req->ptr == NULL && req->result > 0)
    return AX_EINVAL;
  if (req->priv.scandir_next >= (uint64_t)req->result)
    return AX_EOF;
  const ax_dirent_t *dirents = req->ptr;
  *ent = dirents[req->priv.scandir_next++];
  return 0;
}

int ax_fs_opendir(ax_loop_t *loop, ax_fs_t *req, const char *path,
                  ax_fs_cb cb) {
  return fs_path_op(loop, req, AX_FS_OPENDIR, path, cb);
}

int ax_fs_readdir(ax_loop_t *loop, ax_fs_t *req, ax_dir_t *dir, ax_fs_cb cb) {
  if (req == NULL)
    return AX_EINVAL;
  fs_req_init(req, loop, AX_FS_READDIR);
  /* A closed stream has no system stream left: misuse, not a crash. */
  if (loop == NULL || dir == NULL || dir->priv.impl == NULL ||
      dir->dirents == NULL || dir->nentries == 0)
    return fs_fail(req, AX_EINVAL);
  req->priv.dir = dir;
  return fs_start(loop, req, cb);
}

int ax_fs_closedir(ax_loop_t *loop, ax_fs_t *req, ax_dir_t *dir, ax_fs_cb cb) {
  if (req == NULL)
    return AX_EINVAL;
  fs_req_init(req, loop, AX_FS_CLOSEDIR);
  if (loop == NULL || dir == NULL || dir->priv.impl == NULL)
    return fs_fail(req, AX_EINVAL);
  req->priv.dir = dir;
  return fs_start(loop, req, cb);
}

int ax_fs_link(ax_loop_t *loop, ax_fs_t *req, const char *path,
               const char *new_path, ax_fs_cb cb) {
  int err = fs_init_paths(loop, req, AX_FS_LINK, path, new_path);
  return err != 0 ? err : fs_start(loop, req, cb);
}

int ax_fs_symlink(ax_loop_t *loop, ax_fs_t *req, const char *path,
                  const char *new_path, int flags, ax_fs_cb cb) {
  int err = fs_init_paths(loop, req, AX_FS_SYMLINK, path, new_path);
  if (err != 0)
    return err;
  if ((flags & ~FS_SYMLINK_FLAGS) != 0)
    return fs_fail(req, AX_EINVAL);
  req->priv.flags = flags;
  return fs_start(loop, req, cb);
}

int ax_fs_readlink(ax_loop_t *loop, ax_fs_t *req, const char *path,
                   ax_fs_cb cb) {
  return fs_path_op(loop, req, AX_FS_READLINK, path, cb);
}

int ax_fs_realpath(ax_loop_t *loop, ax_fs_t *req, const char *path,
                   ax_fs_cb cb) {
  return fs_path_op(loop, req, AX_FS_REALPATH, path, cb);
}

int ax_fs_chown(ax_loop_t *loop, ax_fs_t *req, const char *path, uint32_t uid,
                uint32_t gid, ax_fs_cb cb) {
  int err = fs_init_path(loop, req, AX_FS_CHOWN, path);
  if (err != 0)
    return err;
  req->priv.uid = uid;
  req->priv.gid = gid;
  return fs_start(loop, req, cb);
}

int ax_fs_fchown(ax_loop_t *loop, ax_fs_t *req, ax_file_t file, uint32_t uid,
                 uint32_t gid, ax_fs_cb cb) {
  int err = fs_init_file(loop, req, AX_FS_FCHOWN, file);
  if (err != 0)
    return err;
  req->priv.uid = uid;
  req->priv.gid = gid;
  return fs_start(loop, req, cb);
}

int ax_fs_lchown(ax_loop_t *loop, ax_fs_t *req, const char *path, uint32_t uid,
                 uint32_t gid, ax_fs_cb cb) {
  int err = fs_init_path(loop, req, AX_FS_LCHOWN, path);
  if (err != 0)
    return err;
  req->priv.uid = uid;
  req->priv.gid = gid;
  return fs_start(loop, req, cb);
}

int ax_fs_copyfile(ax_loop_t *loop, ax_fs_t *req, const char *path,
                   const char *new_path, int flags, ax_fs_cb cb) {
  int err = fs_init_paths(loop, req, AX_FS_COPYFILE, path, new_path);
  if (err != 0)
    return err;
  if ((flags & ~FS_COPYFILE_FLAGS) != 0)
    return fs_fail(req, AX_EINVAL);
  req->priv.flags = flags;
  return fs_start(loop, req, cb);
}

/* Free the names of count entries, then the array. */
static void fs_free_dirents(ax_dirent_t *dirents, int64_t count) {
  for (int64_t i = 0; i < count; i++) {
    ax__free((void *)dirents[i].name);
    dirents[i].name = NULL;
  }
}

/* Free the answer in req->ptr or the names readdir filled in, by type.
 * The stat family's ptr is &req->statbuf and opendir's is the ax_dir_t,
 * which ax_fs_closedir() releases: neither is freed here, though the
 * cleanup forgets them too (ax_fs_req_cleanup()). */
static void fs_free_answer(ax_fs_t *req) {
  switch (req->fs_type) {
  case AX_FS_SCANDIR:
    if (req->ptr != NULL)
      fs_free_dirents(req->ptr, req->result);
    ax__free(req->ptr);
    req->ptr = NULL;
    req->priv.scandir_next = 0;
    break;
  case AX_FS_READDIR:
    if (req->priv.dir != NULL && req->priv.dir->dirents != NULL)
      fs_free_dirents(req->priv.dir->dirents, req->result);
    req->priv.dir = NULL;
    break;
  case AX_FS_STATFS:
  case AX_FS_READLINK:
  case AX_FS_REALPATH:
    ax__free(req->ptr);
    req->ptr = NULL;
    break;
  default:
    break;
  }
}

void ax_fs_req_cleanup(ax_fs_t *req) {
  if (req == NULL)
    return;
  fs_free_answer(req);
  /* Whatever ptr pointed at, the request no longer answers with it: NULL
   * after every cleanup, as in libuv, so that a stale pointer into a
   * request about to be reused is never read as an answer. */
  req->ptr = NULL;
  if (req->priv.bufs != req->priv.inline_bufs)
    ax__free(req->priv.bufs);
  req->priv.bufs = NULL;
  req->priv.nbufs = 0;
  ax__free(req->priv.paths);
  req->priv.paths = NULL;
  req->path = NULL;
  req->priv.new_path = NULL;
}

/* A request without a callback ran synchronously, or failed to queue: it
 * is over, and nothing is left to cancel. */
int ax__fs_cancel(ax_req_t *req) {
  ax_fs_t *fs = ax_container_of(req, ax_fs_t, req);
  if (fs->priv.cb == NULL)
    return AX_EBUSY;
  if (fs->priv.work.lane == AX__LANE_NATIVE)
    return ax__backend(req->loop)->fs->cancel(req->loop, fs);
  return ax__work_cancel(&fs->priv.work);
}

void ax__fs_native_done(ax_fs_t *req, int64_t result) {
  req->req.loop->priv.active_reqs--;
  req->result = result;
  req->priv.cb(req);
}

void ax__fs_native_to_pool(ax_fs_t *req) {
  ax_loop_t *loop = req->req.loop;
  req->priv.work.work = fs_work;
  req->priv.work.done = fs_done;
  /* The pool counts the request as active itself. */
  loop->priv.active_reqs--;
  int err = ax__work_submit(loop, &req->priv.work, AX__LANE_FS);
  if (err != 0) {
    loop->priv.active_reqs++;
    ax__fs_native_done(req, err);
  }
}
