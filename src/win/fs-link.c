/*
 * win/fs-link.c: symbolic links on Windows: symlink and readlink, and the
 * reading of a link's target that lstat also needs.
 *
 * A Windows link is a reparse point: a file or directory that carries a
 * tagged block of data. Symbolic links (IO_REPARSE_TAG_SYMLINK) hold a
 * target path that may be relative; junctions (IO_REPARSE_TAG_MOUNT_POINT)
 * hold an absolute one and link only directories. axle reports both as
 * links. Creating a symbolic link needs a privilege that only
 * administrators hold, or Developer Mode on Windows 10 and later: without
 * either, symlink fails with AX_EPERM. Junctions need no privilege, but
 * axle does not create them yet: AX_FS_SYMLINK_JUNCTION is AX_ENOTSUP.
 */
#include <string.h>
#include <wchar.h>

#include "fs-internal.h"

/* After <windows.h>, which fs-internal.h includes (WIN32_LEAN_AND_MEAN
 * leaves this one out): FSCTL_GET_REPARSE_POINT. */
#include <winioctl.h>

/* The Windows 10 (1703) flag that lets Developer Mode create links
 * without the privilege; older systems reject it as an invalid
 * parameter, and are asked again without it. */
enum { LINK_FLAG_UNPRIVILEGED = 0x2 };

/*
 * The start of a symbolic link's or junction's reparse data: the layout
 * of REPARSE_DATA_BUFFER, which Windows documents in the driver kit's
 * <ntifs.h> and mingw-w64's user headers do not declare. Name offsets
 * and lengths are in bytes, from the start of the names; a symbolic link
 * has a flags word before its names, a junction has none.
 */
struct link_reparse {
  DWORD tag;              /* IO_REPARSE_TAG_*. */
  WORD data_len;          /* Bytes after this header (8 bytes). */
  WORD reserved;          /* 0. */
  WORD substitute_offset; /* The name the system resolves. */
  WORD substitute_len;    /* Its length in bytes. */
  WORD print_offset;      /* The name to show a user; may be empty. */
  WORD print_len;         /* Its length in bytes. */
  DWORD symlink_flags;    /* Symbolic links only: SYMLINK_FLAG_RELATIVE. */
};

/* Where the names begin, after the header of each kind. */
enum {
  LINK_JUNCTION_NAMES = offsetof(struct link_reparse, symlink_flags),
  LINK_SYMLINK_NAMES = sizeof(struct link_reparse),
};

int ax__win_fs_tag_is_link(DWORD tag) {
  return tag == IO_REPARSE_TAG_SYMLINK || tag == IO_REPARSE_TAG_MOUNT_POINT;
}

/*
 * An NT path as a Win32 one: "\??\C:\dir" is "C:\dir", and
 * "\??\UNC\server\share" is "\\server\share". A relative target has no
 * prefix and stays as it is. *len is in WCHARs and is updated.
 */
static const WCHAR *link_strip_prefix(const WCHAR *name, size_t *len,
                                      WCHAR *unc) {
  static const WCHAR nt[] = L"\\??\\";
  static const WCHAR nt_unc[] = L"\\??\\UNC\\";
  size_t nt_len = sizeof(nt) / sizeof(WCHAR) - 1;
  size_t unc_len = sizeof(nt_unc) / sizeof(WCHAR) - 1;
  if (*len >= unc_len && wcsncmp(name, nt_unc, unc_len) == 0) {
    /* "\\" then the rest: one WCHAR before the rest, borrowed from the
     * name itself, which is "C" of "UNC" and is rewritten in a copy. */
    *unc = L'\\';
    *len -= unc_len - 2;
    return name + unc_len - 2;
  }
  if (*len >= nt_len && wcsncmp(name, nt, nt_len) == 0) {
    *len -= nt_len;
    return name + nt_len;
  }
  return name;
}

/* The substitute name in the reparse data of size bytes, checked to lie
 * inside it; AX_EINVAL for a reparse point that is not a link. */
static int link_name(const struct link_reparse *data, DWORD size,
                     const WCHAR **name, size_t *len) {
  size_t names;
  if (size < LINK_JUNCTION_NAMES)
    return AX_EINVAL;
  if (data->tag == IO_REPARSE_TAG_SYMLINK)
    names = LINK_SYMLINK_NAMES;
  else if (data->tag == IO_REPARSE_TAG_MOUNT_POINT)
    names = LINK_JUNCTION_NAMES;
  else
    return AX_EINVAL;
  size_t end = names + (size_t)data->substitute_offset + data->substitute_len;
  if (end > size || data->substitute_len % sizeof(WCHAR) != 0)
    return AX_EINVAL;
  *name = (const WCHAR *)((const char *)data + names + data->substitute_offset);
  *len = data->substitute_len / sizeof(WCHAR);
  return 0;
}

/* The substitute name as a UTF-8 string, without the NT prefix. */
static int link_name_utf8(const WCHAR *name, size_t len, char **target) {
  WCHAR unc = 0;
  const WCHAR *start = link_strip_prefix(name, &len, &unc);
  if (unc == 0)
    return ax__win_fs_utf8(start, (int)len, target);
  /* "\\server...": the first backslash replaces the "C" of "UNC". */
  WCHAR *copy = ax__malloc(len * sizeof(WCHAR));
  if (copy == NULL)
    return AX_ENOMEM;
  memcpy(copy, start, len * sizeof(WCHAR));
  copy[0] = unc;
  int err = ax__win_fs_utf8(copy, (int)len, target);
  ax__free(copy);
  return err;
}

int ax__win_fs_link_target(HANDLE handle, char **target) {
  /* The largest reparse data there is: 16 KiB, too much for the stack of
   * a pool worker to spare. DWORDs, for the header's alignment. */
  DWORD *buffer = ax__malloc(MAXIMUM_REPARSE_DATA_BUFFER_SIZE);
  if (buffer == NULL)
    return AX_ENOMEM;
  DWORD size = 0;
  int err = 0;
  if (!DeviceIoControl(handle, FSCTL_GET_REPARSE_POINT, NULL, 0, buffer,
                       MAXIMUM_REPARSE_DATA_BUFFER_SIZE, &size, NULL)) {
    DWORD error = GetLastError();
    /* ERROR_NOT_A_REPARSE_POINT is EINVAL in the table. A file system
     * without reparse points (FAT) may refuse the request itself: then
     * nothing there is a link, and that is EINVAL too. */
    err = error == ERROR_INVALID_FUNCTION || error == ERROR_NOT_SUPPORTED
              ? AX_EINVAL
              : ax_translate_sys_error((int)error);
  }
  const WCHAR *name = NULL;
  size_t len = 0;
  if (err == 0)
    err = link_name((const struct link_reparse *)buffer, size, &name, &len);
  if (err == 0)
    err = link_name_utf8(name, len, target);
  ax__free(buffer);
  return err;
}

int64_t ax__win_fs_readlink(ax_fs_t *req) {
  HANDLE handle;
  int err = ax__win_fs_open_path(req->path, FILE_READ_ATTRIBUTES,
                                 FILE_FLAG_OPEN_REPARSE_POINT, &handle);
  if (err != 0)
    return err;
  char *target;
  err = ax__win_fs_link_target(handle, &target);
  CloseHandle(handle);
  if (err == 0)
    req->ptr = target;
  return err;
}

/* Windows resolves a link's target with backslashes only. */
static void link_backslashes(WCHAR *path) {
  for (; *path != L'\0'; path++) {
    if (*path == L'/')
      *path = L'\\';
  }
}

/*
 * Create the link, asking for Developer Mode's unprivileged creation
 * first. Then check that it exists: Wine 8 answers success and creates
 * nothing, which is AX_ENOTSUP. The check costs one call, on a path that
 * is not hot.
 */
static int link_create(const WCHAR *link, const WCHAR *target, DWORD flags) {
  if (!CreateSymbolicLinkW(link, target, flags | LINK_FLAG_UNPRIVILEGED)) {
    DWORD error = GetLastError();
    if (error != ERROR_INVALID_PARAMETER)
      return ax_translate_sys_error((int)error);
    if (!CreateSymbolicLinkW(link, target, flags))
      return ax__win_fs_error();
  }
  DWORD attributes = GetFileAttributesW(link);
  if (attributes == INVALID_FILE_ATTRIBUTES ||
      !(attributes & FILE_ATTRIBUTE_REPARSE_POINT))
    return AX_ENOTSUP;
  return 0;
}

/* symlink: a link at new_path whose target is path, a directory link if
 * AX_FS_SYMLINK_DIR says so (Windows records which kind a link is). */
int64_t ax__win_fs_symlink(ax_fs_t *req) {
  if (req->priv.flags & AX_FS_SYMLINK_JUNCTION)
    return AX_ENOTSUP;
  WCHAR *target;
  WCHAR *link = NULL;
  int err = ax__win_fs_wide(req->path, &target);
  if (err == 0)
    err = ax__win_fs_wide(req->priv.new_path, &link);
  if (err == 0) {
    link_backslashes(target);
    DWORD flags = (req->priv.flags & AX_FS_SYMLINK_DIR)
                      ? SYMBOLIC_LINK_FLAG_DIRECTORY
                      : 0;
    err = link_create(link, target, flags);
  }
  ax__free(link);
  ax__free(target);
  return err;
}
