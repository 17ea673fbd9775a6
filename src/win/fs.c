/*
 * win/fs.c: the file system requests on Windows: ax__fs_run(), the
 * contract in src/internal.h, and the operations on descriptors.
 *
 * A descriptor (ax_file_t) is a C runtime descriptor that owns a Win32
 * file handle: ax_fs_open() makes the handle with CreateFileW() and wraps
 * it with _open_osfhandle(); every other operation takes the handle back
 * with _get_osfhandle() and calls Win32 on it, never the C runtime's
 * read() or write(), which would translate line ends. Handles are
 * synchronous (no FILE_FLAG_OVERLAPPED): the calls run on a pool worker or
 * on the caller's thread, and block there, as POSIX's do.
 *
 * Win32 has no pread(): ReadFile() and WriteFile() take an offset in an
 * OVERLAPPED, but on a synchronous handle they then leave the file pointer
 * after what they transferred. POSIX leaves it alone, so a positional read
 * or write saves the pointer first and restores it after. Two positional
 * requests on one descriptor may run at once (each restores the same
 * value); a positional request and one at the current position on the
 * same descriptor at the same time may see each other's moves.
 *
 * The other operations are in fs-path.c (by name), fs-stat.c, fs-dir.c and
 * fs-link.c; fs-internal.h lists them.
 */
#include <errno.h>
#include <io.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>

#include "fs-internal.h"

/* sendfile copies through a buffer of this size, allocated per request. */
enum { FS_SENDFILE_CHUNK_BYTES = 64 * 1024 };

/* 100 ns ticks from 1601-01-01 (FILETIME's epoch) to 1970-01-01. */
static const int64_t fs_epoch_ticks = 116444736000000000;

int ax__win_fs_error(void) {
  return ax_translate_sys_error((int)GetLastError());
}

/*
 * The C runtime that mingw-w64 links by default (msvcrt.dll) answers a
 * descriptor that is not open with INVALID_HANDLE_VALUE. -2 is what it
 * answers for a standard stream that has no handle (a GUI program's
 * stdin). The Universal CRT would call its invalid-parameter handler
 * instead, which aborts unless the program installed one.
 */
int ax__win_fs_handle(ax_file_t file, HANDLE *handle) {
  if (file < 0)
    return AX_EBADF;
  intptr_t value = _get_osfhandle(file);
  if (value == -1 || value == -2)
    return AX_EBADF;
  *handle = (HANDLE)value;
  return 0;
}

/* Seconds since 1970 as a FILETIME, to 100 ns. FILETIME cannot go before
 * 1601; past about the year 30000 the tick count would overflow. */
static int fs_filetime(double seconds, FILETIME *filetime) {
  double whole = floor(seconds);
  if (whole < -11644473600.0 || whole > 900000000000.0)
    return AX_EINVAL;
  int64_t fraction = (int64_t)((seconds - whole) * 1e7 + 0.5);
  int64_t ticks = (int64_t)whole * 10000000 + fraction + fs_epoch_ticks;
  filetime->dwLowDateTime = (DWORD)ticks;
  filetime->dwHighDateTime = (DWORD)((uint64_t)ticks >> 32);
  return 0;
}

/*
 * One time of the utime family for SetFileTime(): AX_FS_UTIME_NOW is the
 * system's current time; AX_FS_UTIME_OMIT is the FILETIME of zero, which
 * SetFileTime() documents as "leave this time unchanged" (as it does a
 * NULL pointer; all ones would instead freeze the time for later writes
 * through the handle, which is not what was asked).
 */
static int fs_set_time(double seconds, const FILETIME *now,
                       FILETIME *filetime) {
  if (seconds == AX_FS_UTIME_NOW) {
    *filetime = *now;
    return 0;
  }
  if (seconds == AX_FS_UTIME_OMIT) {
    filetime->dwLowDateTime = 0;
    filetime->dwHighDateTime = 0;
    return 0;
  }
  return fs_filetime(seconds, filetime);
}

int ax__win_fs_set_times(HANDLE handle, double atime, double mtime) {
  FILETIME now;
  FILETIME access_time;
  FILETIME write_time;
  GetSystemTimeAsFileTime(&now); /* One reading: NOW twice is one time. */
  int err = fs_set_time(atime, &now, &access_time);
  if (err == 0)
    err = fs_set_time(mtime, &now, &write_time);
  if (err != 0)
    return err;
  if (!SetFileTime(handle, NULL, &access_time, &write_time))
    return ax__win_fs_error();
  return 0;
}

/*
 * Run op on a second handle to the file with the access right the first
 * lacked. A read-only descriptor's handle has no right to flush or to
 * change attributes and times; POSIX allows those on any descriptor and
 * checks the file's permissions instead, as opening it afresh does here.
 */
static int fs_reopened(HANDLE handle, DWORD access,
                       int (*op)(HANDLE handle, const ax_fs_t *req),
                       const ax_fs_t *req) {
  HANDLE again = ReOpenFile(handle, access, AX__WIN_FS_SHARE_ALL,
                            FILE_FLAG_BACKUP_SEMANTICS);
  if (again == INVALID_HANDLE_VALUE)
    return ax__win_fs_error();
  int err = op(again, req);
  CloseHandle(again);
  return err;
}

/* Run op on the request's descriptor, and again through a reopened
 * handle if the descriptor's own lacked the access. */
static int64_t fs_on_handle(const ax_fs_t *req, DWORD access,
                            int (*op)(HANDLE handle, const ax_fs_t *req)) {
  HANDLE handle;
  int err = ax__win_fs_handle(req->priv.file, &handle);
  if (err != 0)
    return err;
  err = op(handle, req);
  if (err == AX_EACCES)
    err = fs_reopened(handle, access, op, req);
  return err;
}

int ax__win_fs_wrap(HANDLE handle, int crt_flags) {
  int file = _open_osfhandle((intptr_t)handle, crt_flags);
  if (file < 0) {
    /* The handle is valid: the runtime's table is full (msvcrt.dll holds
     * 2048 descriptors at most). */
    CloseHandle(handle);
    return AX_EMFILE;
  }
  return file;
}

/* What the flags of ax_fs_open() ask of CreateFileW(). */
struct fs_open_plan {
  DWORD access;      /* Rights on the handle. */
  DWORD disposition; /* Create, open or truncate. */
  DWORD flags;       /* FILE_FLAG_* bits. */
  int crt_flags;     /* For _open_osfhandle(). */
  int read_only;     /* Create the file with the read-only attribute. */
  int append_trunc;  /* O_APPEND with O_TRUNC: see fs_open_append_trunc(). */
};

static DWORD fs_open_access(int flags) {
  DWORD access;
  switch (flags & (AX_FS_O_WRONLY | AX_FS_O_RDWR)) {
  case AX_FS_O_WRONLY:
    /* fstat needs to read attributes, which POSIX allows on any
     * descriptor; whoever may open a file may read its attributes. */
    access = FILE_GENERIC_WRITE | FILE_READ_ATTRIBUTES;
    break;
  case AX_FS_O_RDWR:
    access = FILE_GENERIC_READ | FILE_GENERIC_WRITE;
    break;
  default:
    return FILE_GENERIC_READ;
  }
  /* A handle that may append but not write in place: Windows then puts
   * every write at the end, even one at an offset, as Linux does for
   * O_APPEND. ftruncate() needs the right taken away here, and fails. */
  if (flags & AX_FS_O_APPEND)
    access &= ~(DWORD)FILE_WRITE_DATA;
  return access;
}

static DWORD fs_open_disposition(int flags) {
  /* O_EXCL without O_CREAT means nothing for a file, as on POSIX. */
  if (flags & AX_FS_O_CREAT) {
    if (flags & AX_FS_O_EXCL)
      return CREATE_NEW;
    return (flags & AX_FS_O_TRUNC) ? CREATE_ALWAYS : OPEN_ALWAYS;
  }
  return (flags & AX_FS_O_TRUNC) ? TRUNCATE_EXISTING : OPEN_EXISTING;
}

static struct fs_open_plan fs_open_plan(int flags, int mode) {
  struct fs_open_plan plan = {
      .access = fs_open_access(flags),
      .disposition = fs_open_disposition(flags),
      .crt_flags = _O_NOINHERIT,
      /* Of the mode, only the owner's write bit has a Windows meaning. */
      .read_only = (flags & AX_FS_O_CREAT) && !(mode & 0200),
  };
  int writes = flags & (AX_FS_O_WRONLY | AX_FS_O_RDWR);
  /* Backup semantics let a directory open, as open(2) allows for reading;
   * opened for writing, a directory then fails (EISDIR). */
  if (!writes || (flags & AX_FS_O_DIRECTORY))
    plan.flags |= FILE_FLAG_BACKUP_SEMANTICS;
  if (flags & AX_FS_O_NOFOLLOW)
    plan.flags |= FILE_FLAG_OPEN_REPARSE_POINT;
  if (flags & (AX_FS_O_SYNC | AX_FS_O_DSYNC))
    plan.flags |= FILE_FLAG_WRITE_THROUGH;
  if (!writes)
    plan.crt_flags |= _O_RDONLY;
  if (flags & AX_FS_O_APPEND)
    plan.crt_flags |= _O_APPEND;
  plan.append_trunc = writes && (flags & AX_FS_O_APPEND) &&
                      (flags & AX_FS_O_TRUNC);
  return plan;
}

/*
 * CreateFileW() as planned. A mode without the write bit makes a
 * read-only file, but only if this call creates it: CREATE_ALWAYS and
 * OPEN_ALWAYS would also set the attribute on a file that exists, which
 * POSIX's mode never touches. So such a file is first created with
 * CREATE_NEW, and opened as planned if it exists already.
 */
static HANDLE fs_open_create(const WCHAR *path,
                             const struct fs_open_plan *plan) {
  if (plan->read_only) {
    HANDLE handle = CreateFileW(path, plan->access, AX__WIN_FS_SHARE_ALL, NULL,
                                CREATE_NEW,
                                FILE_ATTRIBUTE_READONLY | plan->flags, NULL);
    if (handle != INVALID_HANDLE_VALUE || GetLastError() != ERROR_FILE_EXISTS ||
        plan->disposition == CREATE_NEW)
      return handle;
  }
  return CreateFileW(path, plan->access, AX__WIN_FS_SHARE_ALL, NULL,
                     plan->disposition, FILE_ATTRIBUTE_NORMAL | plan->flags,
                     NULL);
}

/*
 * O_APPEND with O_TRUNC. Windows truncates only for a handle that may
 * write in place, which an appending one must not (fs_open_access()): the
 * file is opened with that right, which truncates it, then opened again
 * from that handle with the appending rights only.
 */
static HANDLE fs_open_append_trunc(const WCHAR *path,
                                   const struct fs_open_plan *plan) {
  struct fs_open_plan truncating = *plan;
  truncating.access |= FILE_WRITE_DATA;
  HANDLE first = fs_open_create(path, &truncating);
  if (first == INVALID_HANDLE_VALUE)
    return first;
  HANDLE handle = ReOpenFile(first, plan->access, AX__WIN_FS_SHARE_ALL,
                             plan->flags);
  DWORD error = GetLastError();
  CloseHandle(first);
  SetLastError(error);
  return handle;
}

/* Why CreateFileW() failed. Windows refuses to open a directory for
 * writing with "access denied"; POSIX says EISDIR. */
static int fs_open_error(const WCHAR *path) {
  DWORD error = GetLastError();
  if (error == ERROR_ACCESS_DENIED) {
    DWORD attributes = GetFileAttributesW(path);
    if (attributes != INVALID_FILE_ATTRIBUTES &&
        (attributes & FILE_ATTRIBUTE_DIRECTORY))
      return AX_EISDIR;
  }
  return ax_translate_sys_error((int)error);
}

/* The checks of O_DIRECTORY and O_NOFOLLOW, which Windows cannot make
 * while it opens. */
static int fs_open_check(HANDLE handle, int flags) {
  if (!(flags & (AX_FS_O_DIRECTORY | AX_FS_O_NOFOLLOW)))
    return 0;
  FILE_ATTRIBUTE_TAG_INFO info;
  if (!GetFileInformationByHandleEx(handle, FileAttributeTagInfo, &info,
                                    sizeof(info)))
    return ax__win_fs_error();
  if ((flags & AX_FS_O_NOFOLLOW) &&
      (info.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) &&
      ax__win_fs_tag_is_link(info.ReparseTag))
    return AX_ELOOP;
  if (!(flags & AX_FS_O_DIRECTORY))
    return 0;
  if (!(info.FileAttributes & FILE_ATTRIBUTE_DIRECTORY))
    return AX_ENOTDIR;
  return (flags & (AX_FS_O_WRONLY | AX_FS_O_RDWR)) ? AX_EISDIR : 0;
}

int64_t ax__win_fs_open(ax_fs_t *req) {
  WCHAR *path;
  int err = ax__win_fs_wide(req->path, &path);
  if (err != 0)
    return err;
  int flags = req->priv.flags;
  struct fs_open_plan plan = fs_open_plan(flags, req->priv.mode);
  HANDLE handle = plan.append_trunc ? fs_open_append_trunc(path, &plan)
                                    : fs_open_create(path, &plan);
  if (handle == INVALID_HANDLE_VALUE)
    err = fs_open_error(path);
  else
    err = fs_open_check(handle, flags);
  ax__free(path);
  if (err != 0) {
    if (handle != INVALID_HANDLE_VALUE)
      CloseHandle(handle);
    return err;
  }
  return ax__win_fs_wrap(handle, plan.crt_flags);
}

int64_t ax__win_fs_close(ax_fs_t *req) {
  HANDLE handle;
  int err = ax__win_fs_handle(req->priv.file, &handle);
  if (err != 0)
    return err;
  /* The C runtime's errno names are axle's codes (axle.h). */
  if (_close(req->priv.file) != 0)
    return -errno;
  return 0;
}

/* An OVERLAPPED that names a position, or NULL for the current one. */
static OVERLAPPED *fs_at(OVERLAPPED *overlapped, int64_t offset) {
  if (offset < 0)
    return NULL;
  memset(overlapped, 0, sizeof(*overlapped));
  overlapped->Offset = (DWORD)offset;
  overlapped->OffsetHigh = (DWORD)((uint64_t)offset >> 32);
  return overlapped;
}

/* An error of ReadFile() or WriteFile() on a descriptor, as POSIX's read()
 * and write() report it: a handle without the right is a descriptor not
 * open for that (EBADF), and a directory cannot be read (EISDIR). */
static int fs_io_error(DWORD error) {
  if (error == ERROR_ACCESS_DENIED)
    return AX_EBADF;
  if (error == ERROR_INVALID_FUNCTION)
    return AX_EISDIR;
  return ax_translate_sys_error((int)error);
}

/* One ReadFile() at offset (the current position if offset < 0). The end
 * of the file, or of a pipe whose writer closed, is a read of 0 bytes. */
static int fs_read_once(HANDLE handle, char *base, DWORD len, int64_t offset,
                        DWORD *done) {
  OVERLAPPED overlapped;
  *done = 0;
  if (ReadFile(handle, base, len, done, fs_at(&overlapped, offset)))
    return 0;
  DWORD error = GetLastError();
  if (error == ERROR_HANDLE_EOF || error == ERROR_BROKEN_PIPE)
    return 0;
  return fs_io_error(error);
}

/* One WriteFile() at offset (the current position if offset < 0). */
static int fs_write_once(HANDLE handle, char *base, DWORD len, int64_t offset,
                         DWORD *done) {
  OVERLAPPED overlapped;
  *done = 0;
  if (WriteFile(handle, base, len, done, fs_at(&overlapped, offset)))
    return 0;
  return fs_io_error(GetLastError());
}

typedef int fs_io_fn(HANDLE handle, char *base, DWORD len, int64_t offset,
                     DWORD *done);

/* Transfer the buffers in order, stopping at the first short one (the end
 * of the file, or a full disk). An error after some bytes moved is not
 * reported: the count is, as readv() and writev() do. */
static int64_t fs_io_bufs(const ax_fs_t *req, HANDLE handle, fs_io_fn *io) {
  int64_t total = 0;
  int64_t offset = req->priv.offset;
  for (unsigned int i = 0; i < req->priv.nbufs; i++) {
    const ax_buf_t *buf = &req->priv.bufs[i];
    DWORD done;
    int err = io(handle, buf->base, buf->len, offset < 0 ? -1 : offset + total,
                 &done);
    if (err != 0)
      return total > 0 ? total : err;
    total += done;
    if (done < buf->len)
      break;
  }
  return total;
}

/* The file pointer before a positional transfer (see the top of this
 * file). A handle without one (a pipe) reports an error here. */
static int fs_position_save(HANDLE handle, LARGE_INTEGER *position) {
  LARGE_INTEGER zero = {.QuadPart = 0};
  if (!SetFilePointerEx(handle, zero, position, FILE_CURRENT))
    return ax__win_fs_error();
  return 0;
}

static void fs_position_restore(HANDLE handle, LARGE_INTEGER position) {
  /* Cannot fail: the same position was just read on the same handle. */
  SetFilePointerEx(handle, position, NULL, FILE_BEGIN);
}

/* The body of read and write: the buffers at the request's offset, with
 * the file pointer left where it was for a positional one. */
static int64_t fs_read_write(const ax_fs_t *req, fs_io_fn *io) {
  HANDLE handle;
  int err = ax__win_fs_handle(req->priv.file, &handle);
  if (err != 0)
    return err;
  if (req->priv.offset < 0)
    return fs_io_bufs(req, handle, io);
  LARGE_INTEGER position;
  err = fs_position_save(handle, &position);
  if (err != 0)
    return err;
  int64_t result = fs_io_bufs(req, handle, io);
  fs_position_restore(handle, position);
  return result;
}

int64_t ax__win_fs_read(ax_fs_t *req) {
  return fs_read_write(req, fs_read_once);
}

int64_t ax__win_fs_write(ax_fs_t *req) {
  return fs_read_write(req, fs_write_once);
}

/* Write all of len bytes at the current position; *written says how many
 * went out before an error or a write that took nothing. */
static int fs_write_all(HANDLE handle, char *base, DWORD len,
                        int64_t *written) {
  DWORD total = 0;
  while (total < len) {
    DWORD done;
    int err = fs_write_once(handle, base + total, len - total, -1, &done);
    *written += done;
    if (err != 0)
      return err;
    if (done == 0)
      return AX_EIO;
    total += done;
  }
  return 0;
}

/* Copy up to len bytes from in at offset to out, chunk by chunk. */
static int fs_copy_chunks(HANDLE in, HANDLE out, int64_t offset, int64_t len,
                          char *chunk, int64_t *copied) {
  while (*copied < len) {
    int64_t left = len - *copied;
    DWORD want = left < FS_SENDFILE_CHUNK_BYTES ? (DWORD)left
                                                : FS_SENDFILE_CHUNK_BYTES;
    DWORD got;
    int err = fs_read_once(in, chunk, want, offset + *copied, &got);
    if (err != 0 || got == 0)
      return err;
    err = fs_write_all(out, chunk, got, copied);
    if (err != 0)
      return err;
  }
  return 0;
}

/*
 * No system call copies between two descriptors on Windows (TransmitFile
 * sends only to a socket, and only from the current position), so
 * sendfile reads and writes through a buffer. in_file's pointer is left
 * where it was, as a positional read leaves it.
 */
int64_t ax__win_fs_sendfile(ax_fs_t *req) {
  HANDLE in;
  HANDLE out;
  int err = ax__win_fs_handle(req->priv.file, &in);
  if (err == 0)
    err = ax__win_fs_handle(req->priv.out_file, &out);
  if (err != 0 || req->priv.len == 0)
    return err;
  char *chunk = ax__malloc(FS_SENDFILE_CHUNK_BYTES);
  if (chunk == NULL)
    return AX_ENOMEM;
  LARGE_INTEGER position;
  err = fs_position_save(in, &position);
  int64_t copied = 0;
  if (err == 0) {
    err = fs_copy_chunks(in, out, req->priv.offset, req->priv.len, chunk,
                         &copied);
    fs_position_restore(in, position);
  }
  ax__free(chunk);
  return copied > 0 ? copied : err;
}

int64_t ax__win_fs_ftruncate(ax_fs_t *req) {
  HANDLE handle;
  int err = ax__win_fs_handle(req->priv.file, &handle);
  if (err != 0)
    return err;
  FILE_END_OF_FILE_INFO end = {.EndOfFile.QuadPart = req->priv.len};
  if (!SetFileInformationByHandle(handle, FileEndOfFileInfo, &end, sizeof(end)))
    return fs_io_error(GetLastError());
  return 0;
}

static int fs_flush(HANDLE handle, const ax_fs_t *req) {
  (void)req;
  if (!FlushFileBuffers(handle))
    return ax__win_fs_error();
  return 0;
}

/*
 * fsync and fdatasync alike: Windows flushes data and metadata together.
 * FlushFileBuffers() wants write access, so a read-only descriptor's file
 * is reopened for writing. If even that is refused (a read-only file), no
 * handle could have written through this descriptor, and nothing is
 * flushed; POSIX would succeed too.
 */
int64_t ax__win_fs_fsync(ax_fs_t *req) {
  int64_t result = fs_on_handle(req, GENERIC_WRITE, fs_flush);
  return result == AX_EACCES ? 0 : result;
}

static int fs_futime_handle(HANDLE handle, const ax_fs_t *req) {
  return ax__win_fs_set_times(handle, req->priv.atime, req->priv.mtime);
}

int64_t ax__win_fs_futime(ax_fs_t *req) {
  return fs_on_handle(req, FILE_WRITE_ATTRIBUTES, fs_futime_handle);
}

int ax__win_fs_set_mode(HANDLE handle, int mode) {
  FILE_BASIC_INFO info;
  if (!GetFileInformationByHandleEx(handle, FileBasicInfo, &info, sizeof(info)))
    return ax__win_fs_error();
  /* Times of 0 leave them as they are. */
  info.CreationTime.QuadPart = 0;
  info.LastAccessTime.QuadPart = 0;
  info.LastWriteTime.QuadPart = 0;
  info.ChangeTime.QuadPart = 0;
  info.FileAttributes = ax__win_fs_mode_attributes(info.FileAttributes, mode);
  if (!SetFileInformationByHandle(handle, FileBasicInfo, &info, sizeof(info)))
    return ax__win_fs_error();
  return 0;
}

static int fs_fchmod_handle(HANDLE handle, const ax_fs_t *req) {
  return ax__win_fs_set_mode(handle, req->priv.mode);
}

int64_t ax__win_fs_fchmod(ax_fs_t *req) {
  return fs_on_handle(req, FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES,
                      fs_fchmod_handle);
}

/* Windows files have no POSIX owner: a valid descriptor is all it takes. */
int64_t ax__win_fs_fchown(ax_fs_t *req) {
  HANDLE handle;
  return ax__win_fs_handle(req->priv.file, &handle);
}

/* The operations by type; stat and lstat, fsync and fdatasync, utime and
 * lutime, chown and lchown share a function that reads req->fs_type. */
static int64_t (*const fs_ops[AX_FS_TYPE_MAX])(ax_fs_t *req) = {
    [AX_FS_OPEN] = ax__win_fs_open,
    [AX_FS_CLOSE] = ax__win_fs_close,
    [AX_FS_READ] = ax__win_fs_read,
    [AX_FS_WRITE] = ax__win_fs_write,
    [AX_FS_SENDFILE] = ax__win_fs_sendfile,
    [AX_FS_STAT] = ax__win_fs_stat,
    [AX_FS_LSTAT] = ax__win_fs_stat,
    [AX_FS_FSTAT] = ax__win_fs_fstat,
    [AX_FS_STATFS] = ax__win_fs_statfs,
    [AX_FS_FTRUNCATE] = ax__win_fs_ftruncate,
    [AX_FS_UTIME] = ax__win_fs_utime,
    [AX_FS_FUTIME] = ax__win_fs_futime,
    [AX_FS_LUTIME] = ax__win_fs_utime,
    [AX_FS_ACCESS] = ax__win_fs_access,
    [AX_FS_CHMOD] = ax__win_fs_chmod,
    [AX_FS_FCHMOD] = ax__win_fs_fchmod,
    [AX_FS_FSYNC] = ax__win_fs_fsync,
    [AX_FS_FDATASYNC] = ax__win_fs_fsync,
    [AX_FS_UNLINK] = ax__win_fs_unlink,
    [AX_FS_RMDIR] = ax__win_fs_rmdir,
    [AX_FS_MKDIR] = ax__win_fs_mkdir,
    [AX_FS_MKDTEMP] = ax__win_fs_mkdtemp,
    [AX_FS_MKSTEMP] = ax__win_fs_mkstemp,
    [AX_FS_RENAME] = ax__win_fs_rename,
    [AX_FS_SCANDIR] = ax__win_fs_scandir,
    [AX_FS_OPENDIR] = ax__win_fs_opendir,
    [AX_FS_READDIR] = ax__win_fs_readdir,
    [AX_FS_CLOSEDIR] = ax__win_fs_closedir,
    [AX_FS_LINK] = ax__win_fs_link,
    [AX_FS_SYMLINK] = ax__win_fs_symlink,
    [AX_FS_READLINK] = ax__win_fs_readlink,
    [AX_FS_REALPATH] = ax__win_fs_realpath,
    [AX_FS_CHOWN] = ax__win_fs_chown,
    [AX_FS_FCHOWN] = ax__win_fs_fchown,
    [AX_FS_LCHOWN] = ax__win_fs_chown,
    [AX_FS_COPYFILE] = ax__win_fs_copyfile,
};

void ax__fs_run(ax_fs_t *req) {
  assert(req->fs_type > AX_FS_UNKNOWN && req->fs_type < AX_FS_TYPE_MAX &&
         fs_ops[req->fs_type] != NULL && "axle: fs request of unknown type");
  req->result = fs_ops[req->fs_type](req);
}
