/*
 * unix/fs-copy.c: sendfile and copyfile on POSIX systems.
 *
 * Both move bytes from one descriptor to another: inside the kernel where
 * the system can (ax__fs_copy_step, per system: copy_file_range(2) and
 * sendfile(2) on Linux), else through a buffer with pread(2) and write(2).
 * copyfile first tries a copy-on-write clone when asked (ax__fs_clone).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"

enum {
  /* The buffer of a copy the kernel cannot do: 64 KiB, from the heap,
   * since a pool worker's stack may be small (512 KiB on macOS). */
  FS_COPY_BUF_BYTES = 64 * 1024,
  /* The most one step asks for: below what sendfile(2) moves per call on
   * Linux (0x7ffff000), and what fits a ssize_t on 32-bit systems. */
  FS_COPY_STEP_MAX = 1 << 30,
};

/* A copy in progress: where it reads and writes, and its buffer once the
 * kernel has said it cannot copy these two itself. */
struct fs_copy {
  int out_fd;     /* Written at its position. */
  int in_fd;      /* Read at offset; its own position is left alone. */
  int64_t offset; /* Where the next read begins. */
  char *buf;      /* FS_COPY_BUF_BYTES, or NULL while the kernel copies. */
  bool files;     /* Both are regular files (copyfile). */
};

/* Write all of buf[0..len) to fd at its position: the count written (less
 * than len only after an error) or, if nothing was, the error. */
static int64_t fs_write_all(int fd, const char *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(fd, buf + done, len - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return done > 0 ? (int64_t)done : ax__fs_errno();
    done += (size_t)n;
  }
  return (int64_t)done;
}

/* One step through the buffer: read up to len bytes at the offset, write
 * what was read. Bytes read but not written are read again next time. */
static int64_t fs_copy_step_rw(struct fs_copy *c, int64_t len) {
  size_t want = len < FS_COPY_BUF_BYTES ? (size_t)len : FS_COPY_BUF_BYTES;
  ssize_t n;
  do
    n = pread(c->in_fd, c->buf, want, (off_t)c->offset);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return n == 0 ? 0 : ax__fs_errno();
  return fs_write_all(c->out_fd, c->buf, (size_t)n);
}

/* One step: in the kernel until it declines, then through the buffer. */
static int64_t fs_copy_step(struct fs_copy *c, int64_t len) {
  if (len > FS_COPY_STEP_MAX)
    len = FS_COPY_STEP_MAX;
  if (c->buf == NULL) {
    int64_t n = ax__fs_copy_step(c->out_fd, c->in_fd, c->offset, len, c->files);
    if (n != AX_ENOSYS)
      return n;
    c->buf = ax__malloc(FS_COPY_BUF_BYTES);
    if (c->buf == NULL)
      return AX_ENOMEM;
  }
  return fs_copy_step_rw(c, len);
}

/* Copy up to len bytes, stopping early at the end of the input: the count
 * copied, and in *err the error that stopped it, if any. */
static int64_t fs_copy(int out_fd, int in_fd, int64_t offset, int64_t len,
                       bool files, int *err) {
  struct fs_copy c = {out_fd, in_fd, offset, NULL, files};
  int64_t total = 0;
  *err = 0;
  while (total < len) {
    int64_t n = fs_copy_step(&c, len - total);
    if (n < 0)
      *err = (int)n;
    if (n <= 0)
      break;
    total += n;
    c.offset += n;
  }
  ax__free(c.buf);
  return total;
}

/* A short count is an answer, like write(2)'s; an error only when nothing
 * was copied. */
int64_t (*ax__fs_sendfile_split)(int64_t offset, int64_t len);

int64_t ax__fs_sendfile(ax_fs_t *req) {
  int err;
  int64_t len = req->priv.len;
  int64_t (*split)(int64_t, int64_t) = __atomic_load_n(&ax__fs_sendfile_split,
                                                       __ATOMIC_ACQUIRE);
  if (split != NULL)
    len = split(req->priv.offset, len);
  int64_t total = fs_copy(req->priv.out_file, req->priv.file, req->priv.offset,
                          len, false, &err);
  return total > 0 || err == 0 ? total : err;
}

static int fs_open_retry(const char *path, int flags, mode_t mode) {
  int fd;
  do
    fd = open(path, flags, mode);
  while (fd < 0 && errno == EINTR);
  return fd;
}

/* Open the destination with the source's permission bits. It is not
 * truncated on open: if it is the source itself, that would destroy the
 * data. *same tells the caller so. */
static int fs_copyfile_open_dst(const ax_fs_t *req, const struct stat *src,
                                int *same) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC;
  if (req->priv.flags & AX_FS_COPYFILE_EXCL)
    flags |= O_EXCL;
  int fd = fs_open_retry(req->priv.new_path, flags, src->st_mode & 07777);
  if (fd < 0)
    return ax__fs_errno();
  struct stat dst;
  if (fstat(fd, &dst) != 0) {
    int err = ax__fs_errno();
    ax__close_fd(fd);
    return err;
  }
  *same = dst.st_dev == src->st_dev && dst.st_ino == src->st_ino;
  return fd;
}

/* Fill the open destination: its mode, then a clone or a copy. */
static int fs_copyfile_fill(const ax_fs_t *req, int dst_fd, int src_fd,
                            const struct stat *src) {
  /* open(2) applied the umask; a copy has the source's bits exactly. */
  if (fchmod(dst_fd, src->st_mode & 07777) != 0 || ftruncate(dst_fd, 0) != 0)
    return ax__fs_errno();
  int clone = req->priv.flags &
              (AX_FS_COPYFILE_FICLONE | AX_FS_COPYFILE_FICLONE_FORCE);
  if (clone) {
    int err = ax__fs_clone(dst_fd, src_fd);
    if (err == 0 || (req->priv.flags & AX_FS_COPYFILE_FICLONE_FORCE))
      return err;
  }
  int err;
  fs_copy(dst_fd, src_fd, 0, (int64_t)src->st_size, true, &err);
  return err;
}

/* Copy into the destination; remove it if the copy failed half-way. A
 * destination that could not be opened (it exists, with EXCL) stays. */
static int fs_copyfile_to(const ax_fs_t *req, int src_fd,
                          const struct stat *src) {
  int same = 0;
  int dst_fd = fs_copyfile_open_dst(req, src, &same);
  if (dst_fd < 0)
    return dst_fd;
  int err = same ? 0 : fs_copyfile_fill(req, dst_fd, src_fd, src);
  /* close(2) can report a write that failed late (NFS). */
  if (close(dst_fd) != 0 && errno != EINTR && err == 0)
    err = ax__fs_errno();
  if (err != 0)
    unlink(req->priv.new_path);
  return err;
}

int64_t ax__fs_copyfile(ax_fs_t *req) {
  int src_fd = fs_open_retry(req->path, O_RDONLY | O_CLOEXEC, 0);
  if (src_fd < 0)
    return ax__fs_errno();
  struct stat src;
  int err = fstat(src_fd, &src) != 0 ? ax__fs_errno() : 0;
  if (err == 0 && S_ISDIR(src.st_mode))
    err = AX_EISDIR;
  if (err == 0)
    err = fs_copyfile_to(req, src_fd, &src);
  ax__close_fd(src_fd);
  return err;
}
