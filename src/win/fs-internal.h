/*
 * win/fs-internal.h: what the Windows file system files share.
 *
 * ax__fs_run() (win/fs.c) dispatches on the request's type to one function
 * per operation, declared here and defined by subject: descriptors in
 * fs.c, names (and mkdir, rmdir, mkdtemp) in fs-path.c, the stat family
 * in fs-stat.c, reading directories in fs-dir.c, links in fs-link.c. Each takes
 * the request and returns what goes into req->result: a count, a descriptor, 0,
 * or an error; those with an answer of another shape also set req->ptr (or
 * req->statbuf) as the contract in src/internal.h says.
 *
 * Paths arrive as UTF-8 and are converted to UTF-16 for the W functions;
 * names that go back to the caller are converted to UTF-8. Every file is
 * opened with all three share modes, so that axle never stops another
 * program (or another request) from reading, writing, renaming or deleting
 * a file it has open, which is what POSIX programs expect.
 */
#ifndef AX_WIN_FS_INTERNAL_H
#define AX_WIN_FS_INTERNAL_H

#include "internal.h"

#include "../internal.h"

/* Every share mode: see the top of this file. */
#define AX__WIN_FS_SHARE_ALL                                                   \
  (FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)

/* fs.c: the last Win32 error, as an axle code. */
int ax__win_fs_error(void);
/* fs.c: the Win32 handle behind a C runtime descriptor, or AX_EBADF. */
int ax__win_fs_handle(ax_file_t file, HANDLE *handle);
/* fs.c: a new C runtime descriptor that owns handle, or an error (the
 * handle is then closed). crt_flags are _open_osfhandle()'s. */
int ax__win_fs_wrap(HANDLE handle, int crt_flags);
/* fs.c: set the access and modification times of an open file, in
 * seconds since 1970; AX_EINVAL for times a FILETIME cannot hold. */
int ax__win_fs_set_times(HANDLE handle, double atime, double mtime);
/* fs.c: set the read-only attribute of an open file from a POSIX mode
 * (the handle needs the right to read and write attributes). */
int ax__win_fs_set_mode(HANDLE handle, int mode);

/*
 * The attributes a POSIX mode gives a file: only the owner's write bit
 * has a Windows counterpart, the read-only attribute. NORMAL is valid
 * only alone, and stands for "no attribute" where 0 would mean "leave
 * them as they are".
 */
static inline DWORD ax__win_fs_mode_attributes(DWORD attributes, int mode) {
  attributes &= ~(DWORD)FILE_ATTRIBUTE_NORMAL;
  if (mode & 0200)
    attributes &= ~(DWORD)FILE_ATTRIBUTE_READONLY;
  else
    attributes |= FILE_ATTRIBUTE_READONLY;
  return attributes != 0 ? attributes : FILE_ATTRIBUTE_NORMAL;
}

/* fs-path.c: UTF-8 to a new NUL-terminated UTF-16 string (ax__free it);
 * AX_EINVAL for bytes that are not UTF-8. */
int ax__win_fs_wide(const char *utf8, WCHAR **wide);
/* fs-path.c: wide_len UTF-16 units (-1: up to the NUL) to a new
 * NUL-terminated UTF-8 string (ax__free it). */
int ax__win_fs_utf8(const WCHAR *wide, int wide_len, char **utf8);
/* fs-path.c: open an existing file or directory by its UTF-8 path, with
 * backup semantics (so that directories open too) and extra flags such as
 * FILE_FLAG_OPEN_REPARSE_POINT. */
int ax__win_fs_open_path(const char *path, DWORD access, DWORD flags,
                         HANDLE *handle);
/* fs-path.c: the random part of a mkdtemp or mkstemp name: rewrites the
 * last six bytes of tpl with letters and digits. */
int ax__win_fs_temp_name(char *tpl);

/* fs-link.c: the target of the link that handle (opened with
 * FILE_FLAG_OPEN_REPARSE_POINT) is, as a new UTF-8 string; AX_EINVAL if
 * it is no symbolic link or junction. */
int ax__win_fs_link_target(HANDLE handle, char **target);
/* fs-link.c: whether a reparse tag makes a file a link for lstat, readdir
 * and O_NOFOLLOW: symbolic links and junctions. */
int ax__win_fs_tag_is_link(DWORD tag);

/* The operations, by file. Each returns the request's result. fs.c: */
int64_t ax__win_fs_open(ax_fs_t *req);
int64_t ax__win_fs_close(ax_fs_t *req);
int64_t ax__win_fs_read(ax_fs_t *req);
int64_t ax__win_fs_write(ax_fs_t *req);
int64_t ax__win_fs_sendfile(ax_fs_t *req);
int64_t ax__win_fs_ftruncate(ax_fs_t *req);
int64_t ax__win_fs_fsync(ax_fs_t *req);
int64_t ax__win_fs_futime(ax_fs_t *req);
int64_t ax__win_fs_fchmod(ax_fs_t *req);
int64_t ax__win_fs_fchown(ax_fs_t *req);

/* fs-path.c: */
int64_t ax__win_fs_unlink(ax_fs_t *req);
int64_t ax__win_fs_rmdir(ax_fs_t *req);
int64_t ax__win_fs_mkdir(ax_fs_t *req);
int64_t ax__win_fs_mkdtemp(ax_fs_t *req);
int64_t ax__win_fs_mkstemp(ax_fs_t *req);
int64_t ax__win_fs_rename(ax_fs_t *req);
int64_t ax__win_fs_link(ax_fs_t *req);
int64_t ax__win_fs_access(ax_fs_t *req);
int64_t ax__win_fs_chmod(ax_fs_t *req);
int64_t ax__win_fs_utime(ax_fs_t *req);
int64_t ax__win_fs_chown(ax_fs_t *req);
int64_t ax__win_fs_copyfile(ax_fs_t *req);
int64_t ax__win_fs_realpath(ax_fs_t *req);

/* fs-stat.c: */
int64_t ax__win_fs_stat(ax_fs_t *req);
int64_t ax__win_fs_fstat(ax_fs_t *req);
int64_t ax__win_fs_statfs(ax_fs_t *req);

/* fs-dir.c: */
int64_t ax__win_fs_scandir(ax_fs_t *req);
int64_t ax__win_fs_opendir(ax_fs_t *req);
int64_t ax__win_fs_readdir(ax_fs_t *req);
int64_t ax__win_fs_closedir(ax_fs_t *req);

/* fs-link.c: */
int64_t ax__win_fs_symlink(ax_fs_t *req);
int64_t ax__win_fs_readlink(ax_fs_t *req);

#endif /* AX_WIN_FS_INTERNAL_H */
