/*
 * win/fs-path.c: the file system operations that take names: UTF-8 and
 * UTF-16, opening by path, and unlink, rmdir, mkdir, mkdtemp, mkstemp,
 * rename, link, access, chmod, utime, lutime, chown, lchown, copyfile
 * and realpath.
 *
 * Where Windows and POSIX disagree on what a name operation may do, the
 * POSIX outcome is reached with a second step on the error path only, so
 * that the common case costs one call: a read-only file can be unlinked
 * (its attribute is cleared first), a directory can be renamed over an
 * empty one (which is removed first). Windows ignores the permission bits
 * of mkdir; the write bit of a mode is its read-only attribute.
 */
#include <fcntl.h>
#include <string.h>
#include <wchar.h>

#include "fs-internal.h"

/* After <windows.h>, which fs-internal.h includes: it declares
 * RtlGenRandom() with Windows' own types. */
#include <ntsecapi.h>

/* How many names mkdtemp and mkstemp try before they give up. Each is one
 * of 62^6 (about 5.7e10), so a clash of ten in a row means that something
 * other than chance is at work. */
enum { PATH_TEMP_TRIES = 100 };

int ax__win_fs_wide(const char *utf8, WCHAR **wide) {
  *wide = NULL;
  /* The one failure with valid pointers is ERROR_NO_UNICODE_TRANSLATION:
   * the bytes are not UTF-8. */
  int len = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, NULL,
                                0);
  if (len == 0)
    return AX_EINVAL;
  WCHAR *out = ax__malloc((size_t)len * sizeof(WCHAR));
  if (out == NULL)
    return AX_ENOMEM;
  if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, out, len) ==
      0) {
    ax__free(out);
    return AX_EINVAL;
  }
  *wide = out;
  return 0;
}

/*
 * Names Windows hands back may hold unpaired surrogates, which UTF-8
 * cannot carry: each becomes U+FFFD, so such a name does not reopen the
 * file it came from. (WTF-8 would keep them, at the price of strings that
 * are not UTF-8.)
 */
int ax__win_fs_utf8(const WCHAR *wide, int wide_len, char **utf8) {
  *utf8 = NULL;
  int len = 0;
  if (wide_len != 0) {
    len = WideCharToMultiByte(CP_UTF8, 0, wide, wide_len, NULL, 0, NULL, NULL);
    if (len == 0)
      return ax__win_fs_error();
  }
  /* With wide_len -1 the count includes the NUL; otherwise add room. */
  size_t size = (size_t)len + (wide_len < 0 ? 0 : 1);
  char *out = ax__malloc(size);
  if (out == NULL)
    return AX_ENOMEM;
  if (len != 0 && WideCharToMultiByte(CP_UTF8, 0, wide, wide_len, out, len,
                                      NULL, NULL) == 0) {
    ax__free(out);
    return ax__win_fs_error();
  }
  out[size - 1] = '\0';
  *utf8 = out;
  return 0;
}

int ax__win_fs_open_path(const char *path, DWORD access, DWORD flags,
                         HANDLE *handle) {
  WCHAR *wide;
  int err = ax__win_fs_wide(path, &wide);
  if (err != 0)
    return err;
  *handle = CreateFileW(wide, access, AX__WIN_FS_SHARE_ALL, NULL, OPEN_EXISTING,
                        FILE_FLAG_BACKUP_SEMANTICS | flags, NULL);
  if (*handle == INVALID_HANDLE_VALUE)
    err = ax__win_fs_error();
  ax__free(wide);
  return err;
}

/* Run op on the request's path, and also on new_path when two is set. */
static int64_t path_op(const ax_fs_t *req, int two,
                       int (*op)(const WCHAR *path, const WCHAR *new_path,
                                 const ax_fs_t *req)) {
  WCHAR *path;
  WCHAR *new_path = NULL;
  int err = ax__win_fs_wide(req->path, &path);
  if (err != 0)
    return err;
  if (two)
    err = ax__win_fs_wide(req->priv.new_path, &new_path);
  if (err == 0)
    err = op(path, new_path, req);
  ax__free(new_path);
  ax__free(path);
  return err;
}

/* Find the reparse tag of path itself, not of what it points to. */
static int path_is_link(const WCHAR *path) {
  WIN32_FIND_DATAW data;
  HANDLE find = FindFirstFileExW(path, FindExInfoBasic, &data,
                                 FindExSearchNameMatch, NULL, 0);
  if (find == INVALID_HANDLE_VALUE)
    return 0;
  FindClose(find);
  return (data.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) &&
         ax__win_fs_tag_is_link(data.dwReserved0);
}

/*
 * Remove path once more with its read-only attribute cleared: Windows
 * will not delete a read-only file or remove a read-only directory, where
 * POSIX asks only for write permission on the parent. The attribute is
 * put back if the removal still fails. error is the first failure's.
 */
static int path_remove_read_only(const WCHAR *path, DWORD attributes,
                                 BOOL(WINAPI *remove)(LPCWSTR path),
                                 DWORD error) {
  if (!(attributes & FILE_ATTRIBUTE_READONLY))
    return ax_translate_sys_error((int)error);
  if (!SetFileAttributesW(path, attributes & ~(DWORD)FILE_ATTRIBUTE_READONLY))
    return ax_translate_sys_error((int)error);
  if (remove(path))
    return 0;
  error = GetLastError();
  SetFileAttributesW(path, attributes);
  return ax_translate_sys_error((int)error);
}

/*
 * unlink. A link to a directory is a directory to DeleteFileW() and must
 * be removed as one; POSIX unlinks it as any link. A real directory is
 * EISDIR, as on Linux (POSIX allows EPERM, which macOS returns).
 */
static int path_unlink(const WCHAR *path, const WCHAR *unused,
                       const ax_fs_t *req) {
  (void)unused;
  (void)req;
  if (DeleteFileW(path))
    return 0;
  DWORD error = GetLastError();
  if (error != ERROR_ACCESS_DENIED)
    return ax_translate_sys_error((int)error);
  DWORD attributes = GetFileAttributesW(path);
  if (attributes == INVALID_FILE_ATTRIBUTES)
    return ax_translate_sys_error((int)error);
  if (!(attributes & FILE_ATTRIBUTE_DIRECTORY))
    return path_remove_read_only(path, attributes, DeleteFileW, error);
  if (!path_is_link(path))
    return AX_EISDIR;
  if (RemoveDirectoryW(path))
    return 0;
  return ax__win_fs_error();
}

int64_t ax__win_fs_unlink(ax_fs_t *req) {
  return path_op(req, 0, path_unlink);
}

static int path_rmdir(const WCHAR *path, const WCHAR *unused,
                      const ax_fs_t *req) {
  (void)unused;
  (void)req;
  if (RemoveDirectoryW(path))
    return 0;
  DWORD error = GetLastError();
  if (error != ERROR_ACCESS_DENIED)
    return ax_translate_sys_error((int)error);
  DWORD attributes = GetFileAttributesW(path);
  if (attributes == INVALID_FILE_ATTRIBUTES)
    return ax_translate_sys_error((int)error);
  return path_remove_read_only(path, attributes, RemoveDirectoryW, error);
}

int64_t ax__win_fs_rmdir(ax_fs_t *req) {
  return path_op(req, 0, path_rmdir);
}

/* mkdir: Windows has no permission bits to give the directory; it gets
 * the parent's inherited access control list, as any new file does. */
static int path_mkdir(const WCHAR *path, const WCHAR *unused,
                      const ax_fs_t *req) {
  (void)unused;
  (void)req;
  if (CreateDirectoryW(path, NULL))
    return 0;
  return ax__win_fs_error();
}

int64_t ax__win_fs_mkdir(ax_fs_t *req) {
  return path_op(req, 0, path_mkdir);
}

int ax__win_fs_temp_name(char *tpl) {
  static const char letters[] = "abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  unsigned char random[6];
  /* RtlGenRandom (advapi32's SystemFunction036): the system's random
   * source, without the setup BCryptGenRandom() needs. */
  if (!RtlGenRandom(random, sizeof(random)))
    return ax__win_fs_error();
  char *suffix = tpl + strlen(tpl) - sizeof(random);
  for (size_t i = 0; i < sizeof(random); i++)
    suffix[i] = letters[random[i] % (sizeof(letters) - 1)];
  return 0;
}

/*
 * The loop of mkdtemp and mkstemp: a new random name in the request's
 * template (fs.c made it a writable copy) until create makes one that did
 * not exist. create returns 0 or a Win32 error.
 */
static int64_t path_temp(ax_fs_t *req,
                         DWORD (*create)(const WCHAR *path, HANDLE *handle),
                         HANDLE *handle) {
  char *tpl = req->priv.paths;
  assert(tpl != NULL && req->path == tpl && "axle: fs template not copied");
  for (int i = 0; i < PATH_TEMP_TRIES; i++) {
    WCHAR *path;
    int err = ax__win_fs_temp_name(tpl);
    if (err == 0)
      err = ax__win_fs_wide(tpl, &path);
    if (err != 0)
      return err;
    DWORD error = create(path, handle);
    ax__free(path);
    if (error != ERROR_FILE_EXISTS && error != ERROR_ALREADY_EXISTS)
      return ax_translate_sys_error((int)error);
  }
  return AX_EEXIST;
}

static DWORD path_mkdtemp_create(const WCHAR *path, HANDLE *unused) {
  (void)unused;
  return CreateDirectoryW(path, NULL) ? 0 : GetLastError();
}

int64_t ax__win_fs_mkdtemp(ax_fs_t *req) {
  return path_temp(req, path_mkdtemp_create, NULL);
}

static DWORD path_mkstemp_create(const WCHAR *path, HANDLE *handle) {
  *handle = CreateFileW(path, GENERIC_READ | GENERIC_WRITE,
                        AX__WIN_FS_SHARE_ALL, NULL, CREATE_NEW,
                        FILE_ATTRIBUTE_NORMAL, NULL);
  return *handle != INVALID_HANDLE_VALUE ? 0 : GetLastError();
}

int64_t ax__win_fs_mkstemp(ax_fs_t *req) {
  HANDLE handle;
  int64_t err = path_temp(req, path_mkstemp_create, &handle);
  if (err != 0)
    return err;
  return ax__win_fs_wrap(handle, _O_NOINHERIT);
}

/* Whether path names an existing directory. */
static int path_is_dir(const WCHAR *path) {
  DWORD attributes = GetFileAttributesW(path);
  return attributes != INVALID_FILE_ATTRIBUTES &&
         (attributes & FILE_ATTRIBUTE_DIRECTORY);
}

/*
 * MoveFileExW() refused to replace new_path. POSIX's rename replaces an
 * empty directory with a directory (removed here first, which fails with
 * ENOTEMPTY if it is not empty), and says EISDIR and ENOTDIR when a file
 * and a directory would replace each other.
 */
static int path_rename_denied(const WCHAR *path, const WCHAR *new_path,
                              DWORD error) {
  int from_dir = path_is_dir(path);
  int to_dir = path_is_dir(new_path);
  if (!from_dir && to_dir)
    return AX_EISDIR;
  if (from_dir && !to_dir)
    return GetFileAttributesW(new_path) != INVALID_FILE_ATTRIBUTES
               ? AX_ENOTDIR
               : ax_translate_sys_error((int)error);
  if (!from_dir)
    return ax_translate_sys_error((int)error);
  if (!RemoveDirectoryW(new_path))
    return ax__win_fs_error();
  if (MoveFileExW(path, new_path, MOVEFILE_REPLACE_EXISTING))
    return 0;
  return ax__win_fs_error();
}

static int path_rename(const WCHAR *path, const WCHAR *new_path,
                       const ax_fs_t *req) {
  (void)req;
  if (MoveFileExW(path, new_path, MOVEFILE_REPLACE_EXISTING))
    return 0;
  DWORD error = GetLastError();
  if (error == ERROR_ACCESS_DENIED)
    return path_rename_denied(path, new_path, error);
  return ax_translate_sys_error((int)error);
}

int64_t ax__win_fs_rename(ax_fs_t *req) {
  return path_op(req, 1, path_rename);
}

static int path_link(const WCHAR *path, const WCHAR *new_path,
                     const ax_fs_t *req) {
  (void)req;
  if (CreateHardLinkW(new_path, path, NULL))
    return 0;
  return ax__win_fs_error();
}

int64_t ax__win_fs_link(ax_fs_t *req) {
  return path_op(req, 1, path_link);
}

/*
 * access: the file exists, and is not read-only if W_OK is asked (a
 * directory's read-only attribute does not stop writing into it). Read
 * and execute are not checked: Windows decides them by access control
 * lists, which only opening the file would consult.
 */
static int path_access(const WCHAR *path, const WCHAR *unused,
                       const ax_fs_t *req) {
  (void)unused;
  DWORD attributes = GetFileAttributesW(path);
  if (attributes == INVALID_FILE_ATTRIBUTES)
    return ax__win_fs_error();
  if ((req->priv.mode & AX_FS_W_OK) && (attributes & FILE_ATTRIBUTE_READONLY) &&
      !(attributes & FILE_ATTRIBUTE_DIRECTORY))
    return AX_EACCES;
  return 0;
}

int64_t ax__win_fs_access(ax_fs_t *req) {
  return path_op(req, 0, path_access);
}

/* chmod follows links, as POSIX's does. */
int64_t ax__win_fs_chmod(ax_fs_t *req) {
  HANDLE handle;
  int err = ax__win_fs_open_path(
      req->path, FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES, 0, &handle);
  if (err != 0)
    return err;
  err = ax__win_fs_set_mode(handle, req->priv.mode);
  CloseHandle(handle);
  return err;
}

/* utime follows links; lutime sets the link's own times. */
int64_t ax__win_fs_utime(ax_fs_t *req) {
  DWORD flags = req->fs_type == AX_FS_LUTIME ? FILE_FLAG_OPEN_REPARSE_POINT : 0;
  HANDLE handle;
  int err = ax__win_fs_open_path(req->path, FILE_WRITE_ATTRIBUTES, flags,
                                 &handle);
  if (err != 0)
    return err;
  err = ax__win_fs_set_times(handle, req->priv.atime, req->priv.mtime);
  CloseHandle(handle);
  return err;
}

/* Windows files have no POSIX owner: chown and lchown do nothing, and do
 * not look at the path either, as the call would fail for no reason. */
int64_t ax__win_fs_chown(ax_fs_t *req) {
  (void)req;
  return 0;
}

/* The volume and file index that identify a file, and whether a and b
 * have the same ones. */
static int path_same_file(const WCHAR *a, const WCHAR *b) {
  BY_HANDLE_FILE_INFORMATION info[2];
  const WCHAR *paths[2] = {a, b};
  for (int i = 0; i < 2; i++) {
    HANDLE handle = CreateFileW(paths[i], 0, AX__WIN_FS_SHARE_ALL, NULL,
                                OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS,
                                NULL);
    if (handle == INVALID_HANDLE_VALUE)
      return 0;
    BOOL ok = GetFileInformationByHandle(handle, &info[i]);
    CloseHandle(handle);
    if (!ok)
      return 0;
  }
  return info[0].dwVolumeSerialNumber == info[1].dwVolumeSerialNumber &&
         info[0].nFileIndexHigh == info[1].nFileIndexHigh &&
         info[0].nFileIndexLow == info[1].nFileIndexLow;
}

/*
 * copyfile with CopyFileW(), which copies the attributes (the read-only
 * one is the permission bits' counterpart) and removes a destination it
 * could not finish. Windows cannot clone a file outside ReFS block
 * cloning, which needs a volume handle: FICLONE copies, FICLONE_FORCE
 * fails. Copying a file onto itself is a sharing violation to Windows and
 * nothing to do for POSIX's copy (which would otherwise truncate it).
 */
static int path_copyfile(const WCHAR *path, const WCHAR *new_path,
                         const ax_fs_t *req) {
  BOOL exclusive = (req->priv.flags & AX_FS_COPYFILE_EXCL) != 0;
  if (CopyFileW(path, new_path, exclusive))
    return 0;
  DWORD error = GetLastError();
  if (error == ERROR_SHARING_VIOLATION && path_same_file(path, new_path))
    return exclusive ? AX_EEXIST : 0;
  if (error == ERROR_ACCESS_DENIED && path_is_dir(path))
    return AX_EISDIR;
  return ax_translate_sys_error((int)error);
}

int64_t ax__win_fs_copyfile(ax_fs_t *req) {
  if (req->priv.flags & AX_FS_COPYFILE_FICLONE_FORCE)
    return AX_ENOTSUP;
  return path_op(req, 1, path_copyfile);
}

/*
 * The path GetFinalPathNameByHandleW() gives in the form a user writes:
 * "\\?\C:\dir" is "C:\dir", and "\\?\UNC\server\share" is
 * "\\server\share". Rewrites in place; returns where the path begins.
 */
static WCHAR *path_strip_prefix(WCHAR *path) {
  static const WCHAR unc[] = L"\\\\?\\UNC\\";
  static const WCHAR local[] = L"\\\\?\\";
  size_t unc_len = sizeof(unc) / sizeof(WCHAR) - 1;
  size_t local_len = sizeof(local) / sizeof(WCHAR) - 1;
  if (wcsncmp(path, unc, unc_len) == 0) {
    /* Keep "\\": overwrite the "C" before "\server" with a backslash. */
    path[unc_len - 2] = L'\\';
    return path + unc_len - 2;
  }
  if (wcsncmp(path, local, local_len) == 0)
    return path + local_len;
  return path;
}

/* The final path of an open handle, as a new UTF-8 string. */
static int path_final(HANDLE handle, char **out) {
  DWORD size = GetFinalPathNameByHandleW(handle, NULL, 0, VOLUME_NAME_DOS);
  if (size == 0)
    return ax__win_fs_error();
  WCHAR *wide = ax__malloc((size_t)size * sizeof(WCHAR));
  if (wide == NULL)
    return AX_ENOMEM;
  int err = 0;
  DWORD len = GetFinalPathNameByHandleW(handle, wide, size, VOLUME_NAME_DOS);
  if (len == 0 || len >= size)
    err = len == 0 ? ax__win_fs_error() : AX_EAGAIN;
  if (err == 0)
    err = ax__win_fs_utf8(path_strip_prefix(wide), -1, out);
  ax__free(wide);
  return err;
}

/* realpath: the path the system resolves the name to, through every link,
 * with "." and ".." gone and the case as stored. */
int64_t ax__win_fs_realpath(ax_fs_t *req) {
  HANDLE handle;
  int err = ax__win_fs_open_path(req->path, 0, 0, &handle);
  if (err != 0)
    return err;
  char *path;
  err = path_final(handle, &path);
  CloseHandle(handle);
  if (err == 0)
    req->ptr = path;
  return err;
}
