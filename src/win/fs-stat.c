/*
 * win/fs-stat.c: stat, lstat, fstat and statfs on Windows.
 *
 * A file is opened (with no access right beyond reading attributes, so
 * that nothing is refused for want of permission) and described from
 * three queries of its handle: the basic information (the four times and
 * the attributes), the by-handle information (volume serial number, file
 * index, link count) and the standard information (the space allocated).
 *
 * What POSIX fields become:
 *   mode   the type from the attributes (S_IFLNK for lstat of a symbolic
 *          link or junction), permission bits 0666, or 0444 for a
 *          read-only file; directories also 0111. Windows keeps access
 *          control lists, not bits: these say only what the read-only
 *          attribute says.
 *   dev    the volume serial number; ino the file index.
 *   size   the size of the data (lstat of a link: its target's length).
 *   blocks the allocation size in 512-byte units; blksize 4096.
 *   times  last access, last write, change (of data or attributes) and
 *          creation (birthtim), to 100 ns. uid, gid, rdev, flags, gen: 0.
 */
#include <string.h>

#include "fs-internal.h"

/* 100 ns ticks from 1601-01-01 (FILETIME's epoch) to 1970-01-01. */
static const int64_t stat_epoch_ticks = 116444736000000000;

/* Ticks since 1601 as seconds and nanoseconds since 1970. */
static ax_timespec_t stat_time(LARGE_INTEGER filetime) {
  int64_t ticks = filetime.QuadPart - stat_epoch_ticks;
  int64_t sec = ticks / 10000000;
  int64_t rest = ticks % 10000000;
  if (rest < 0) {
    rest += 10000000;
    sec--;
  }
  ax_timespec_t time = {.sec = sec, .nsec = (int32_t)(rest * 100)};
  return time;
}

static uint64_t stat_mode(DWORD attributes, int is_link) {
  uint64_t mode = (attributes & FILE_ATTRIBUTE_READONLY) ? 0444 : 0666;
  if (attributes & FILE_ATTRIBUTE_DIRECTORY)
    mode |= 0111;
  if (is_link)
    return mode | AX_S_IFLNK;
  if (attributes & FILE_ATTRIBUTE_DIRECTORY)
    return mode | AX_S_IFDIR;
  return mode | AX_S_IFREG;
}

/* For lstat: whether the handle (opened on the link itself) is a link,
 * and then its size, the length of its target, as POSIX's lstat says. */
static int stat_link(HANDLE handle, DWORD attributes, ax_stat_t *st,
                     int *is_link) {
  *is_link = 0;
  if (!(attributes & FILE_ATTRIBUTE_REPARSE_POINT))
    return 0;
  FILE_ATTRIBUTE_TAG_INFO tag;
  if (!GetFileInformationByHandleEx(handle, FileAttributeTagInfo, &tag,
                                    sizeof(tag)))
    return ax__win_fs_error();
  /* Other reparse points (deduplicated or cloud files) are files. */
  if (!ax__win_fs_tag_is_link(tag.ReparseTag))
    return 0;
  char *target;
  int err = ax__win_fs_link_target(handle, &target);
  if (err != 0)
    return err;
  st->size = strlen(target);
  ax__free(target);
  *is_link = 1;
  return 0;
}

/* Describe the file open on handle, a disk file or directory. */
static int stat_disk_file(HANDLE handle, int lstat, ax_stat_t *st) {
  FILE_BASIC_INFO basic;
  BY_HANDLE_FILE_INFORMATION info;
  FILE_STANDARD_INFO standard;
  if (!GetFileInformationByHandleEx(handle, FileBasicInfo, &basic,
                                    sizeof(basic)) ||
      !GetFileInformationByHandle(handle, &info) ||
      !GetFileInformationByHandleEx(handle, FileStandardInfo, &standard,
                                    sizeof(standard)))
    return ax__win_fs_error();
  memset(st, 0, sizeof(*st));
  st->dev = info.dwVolumeSerialNumber;
  st->ino = (uint64_t)info.nFileIndexHigh << 32 | info.nFileIndexLow;
  st->nlink = info.nNumberOfLinks;
  st->size = (uint64_t)standard.EndOfFile.QuadPart;
  st->blocks = ((uint64_t)standard.AllocationSize.QuadPart + 511) / 512;
  st->blksize = 4096;
  st->atim = stat_time(basic.LastAccessTime);
  st->mtim = stat_time(basic.LastWriteTime);
  st->ctim = stat_time(basic.ChangeTime);
  st->birthtim = stat_time(basic.CreationTime);
  int is_link = 0;
  if (lstat) {
    int err = stat_link(handle, basic.FileAttributes, st, &is_link);
    if (err != 0)
      return err;
  }
  st->mode = stat_mode(basic.FileAttributes, is_link);
  return 0;
}

/* stat and lstat: open the file (lstat: the link itself) and describe it. */
int64_t ax__win_fs_stat(ax_fs_t *req) {
  int lstat = req->fs_type == AX_FS_LSTAT;
  HANDLE handle;
  int err = ax__win_fs_open_path(req->path, FILE_READ_ATTRIBUTES,
                                 lstat ? FILE_FLAG_OPEN_REPARSE_POINT : 0,
                                 &handle);
  if (err != 0)
    return err;
  err = stat_disk_file(handle, lstat, &req->statbuf);
  CloseHandle(handle);
  if (err == 0)
    req->ptr = &req->statbuf;
  return err;
}

/* A descriptor may also hold a console or a pipe: described by its type
 * alone, as they have no file information to speak of. */
static int stat_device(DWORD type, ax_stat_t *st) {
  memset(st, 0, sizeof(*st));
  st->mode = (type == FILE_TYPE_CHAR ? AX_S_IFCHR : AX_S_IFIFO) | 0666;
  return 0;
}

/*
 * fstat asks for the handle's type after its file information, not
 * before: the information queries fail on a console or a pipe, which the
 * type then describes; and Wine 8's GetFileType() sets the file's access
 * time (on Linux's relatime, whenever it is older than the change time),
 * which must not show in the times read here.
 */
int64_t ax__win_fs_fstat(ax_fs_t *req) {
  HANDLE handle;
  int err = ax__win_fs_handle(req->priv.file, &handle);
  if (err != 0)
    return err;
  err = stat_disk_file(handle, 0, &req->statbuf);
  DWORD type = GetFileType(handle);
  if (type == FILE_TYPE_CHAR || type == FILE_TYPE_PIPE)
    err = stat_device(type, &req->statbuf);
  if (err == 0)
    req->ptr = &req->statbuf;
  return err;
}

/* The root of the volume that holds path ("C:\", "\\server\share\", or a
 * folder a volume is mounted on), as a new string. */
static int statfs_root(const WCHAR *path, WCHAR **root) {
  DWORD size = GetFullPathNameW(path, 0, NULL, NULL);
  if (size == 0)
    return ax__win_fs_error();
  /* The root is a prefix of the full path, plus perhaps a backslash. */
  size += 2;
  *root = ax__malloc((size_t)size * sizeof(WCHAR));
  if (*root == NULL)
    return AX_ENOMEM;
  if (!GetVolumePathNameW(path, *root, size)) {
    int err = ax__win_fs_error();
    ax__free(*root);
    *root = NULL;
    return err;
  }
  return 0;
}

/* The sizes of the volume at root. The cluster is the block; free space
 * for the caller (bavail) is less than free space (bfree) under quotas. */
static int statfs_volume(const WCHAR *root, ax_statfs_t *st) {
  DWORD sectors_per_cluster;
  DWORD bytes_per_sector;
  DWORD free_clusters;
  DWORD clusters;
  ULARGE_INTEGER avail;
  ULARGE_INTEGER total;
  ULARGE_INTEGER free;
  if (!GetDiskFreeSpaceW(root, &sectors_per_cluster, &bytes_per_sector,
                         &free_clusters, &clusters) ||
      !GetDiskFreeSpaceExW(root, &avail, &total, &free))
    return ax__win_fs_error();
  memset(st, 0, sizeof(*st));
  st->bsize = (uint64_t)sectors_per_cluster * bytes_per_sector;
  if (st->bsize == 0)
    return AX_EIO;
  /* The Ex counts, in bytes, do not stop at 2^32 clusters. */
  st->blocks = total.QuadPart / st->bsize;
  st->bfree = free.QuadPart / st->bsize;
  st->bavail = avail.QuadPart / st->bsize;
  return 0;
}

/* statfs: the path must exist (GetVolumePathNameW() does not check), and
 * may name a file, which the space functions do not take. */
int64_t ax__win_fs_statfs(ax_fs_t *req) {
  WCHAR *path;
  WCHAR *root = NULL;
  int err = ax__win_fs_wide(req->path, &path);
  if (err != 0)
    return err;
  if (GetFileAttributesW(path) == INVALID_FILE_ATTRIBUTES)
    err = ax__win_fs_error();
  if (err == 0)
    err = statfs_root(path, &root);
  ax_statfs_t *st = NULL;
  if (err == 0) {
    st = ax__malloc(sizeof(*st));
    err = st == NULL ? AX_ENOMEM : statfs_volume(root, st);
  }
  ax__free(root);
  ax__free(path);
  if (err != 0) {
    ax__free(st);
    return err;
  }
  req->ptr = st;
  return 0;
}
