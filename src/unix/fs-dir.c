/*
 * unix/fs-dir.c: the directory operations on POSIX systems: scandir (a
 * whole directory at once) and the opendir / readdir / closedir stream.
 *
 * Both read with readdir(3), skip "." and "..", and take each entry's type
 * from d_type where the file system fills it in (else AX_DIRENT_UNKNOWN:
 * the caller can lstat). Names are copied with axle's allocator, so that
 * ax_fs_req_cleanup() (src/fs.c) frees them. A DIR stream is used by one
 * request at a time, which the API asks of the caller.
 */
#include <dirent.h>
#include <string.h>

#include "fs.h"

/* Entries a scandir array grows by when it is full, at first. */
enum { FS_SCANDIR_FIRST = 16 };

/* The type of an entry, from what readdir(3) said. */
static ax_dirent_type fs_dirent_type(const struct dirent *ent) {
  switch (ent->d_type) {
  case DT_REG:
    return AX_DIRENT_FILE;
  case DT_DIR:
    return AX_DIRENT_DIR;
  case DT_LNK:
    return AX_DIRENT_LINK;
  case DT_FIFO:
    return AX_DIRENT_FIFO;
  case DT_SOCK:
    return AX_DIRENT_SOCKET;
  case DT_CHR:
    return AX_DIRENT_CHAR;
  case DT_BLK:
    return AX_DIRENT_BLOCK;
  default:
    return AX_DIRENT_UNKNOWN;
  }
}

static int fs_dirent_is_dot(const struct dirent *ent) {
  return strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0;
}

/*
 * The next entry other than "." and "..": 0 with *out set, 0 with *out
 * NULL at the end, or an error. readdir(3) says "end" and "error" with the
 * same NULL: errno, cleared first, tells them apart.
 */
static int fs_dir_next(DIR *dir, struct dirent **out) {
  for (;;) {
    errno = 0;
    struct dirent *ent = readdir(dir);
    if (ent == NULL) {
      *out = NULL;
      return errno != 0 ? ax__fs_errno() : 0;
    }
    if (!fs_dirent_is_dot(ent)) {
      *out = ent;
      return 0;
    }
  }
}

/* Copy a system entry into an axle one. */
static int fs_dirent_copy(ax_dirent_t *out, const struct dirent *ent) {
  out->name = ax__fs_strdup(ent->d_name);
  if (out->name == NULL)
    return AX_ENOMEM;
  out->type = fs_dirent_type(ent);
  return 0;
}

/* Free count entries' names and the array. */
static void fs_dirents_free(ax_dirent_t *dirents, size_t count) {
  for (size_t i = 0; i < count; i++)
    ax__free((void *)dirents[i].name);
  ax__free(dirents);
}

/* Make room for one more entry in *dirents, doubling its capacity. */
static int fs_scandir_grow(ax_dirent_t **dirents, size_t *capacity) {
  size_t want = *capacity == 0 ? FS_SCANDIR_FIRST : *capacity * 2;
  ax_dirent_t *grown = ax__realloc(*dirents, want * sizeof(*grown));
  if (grown == NULL)
    return AX_ENOMEM;
  *dirents = grown;
  *capacity = want;
  return 0;
}

/* Read every entry of an open stream into an array. */
static int64_t fs_scandir_read(ax_fs_t *req, DIR *dir) {
  ax_dirent_t *dirents = NULL;
  size_t count = 0;
  size_t capacity = 0;
  int err;
  for (;;) {
    struct dirent *ent;
    err = fs_dir_next(dir, &ent);
    if (err != 0 || ent == NULL)
      break;
    if (count == capacity)
      err = fs_scandir_grow(&dirents, &capacity);
    if (err == 0)
      err = fs_dirent_copy(&dirents[count], ent);
    if (err != 0)
      break;
    count++;
  }
  if (err != 0) {
    fs_dirents_free(dirents, count);
    return err;
  }
  req->ptr = dirents;
  return (int64_t)count;
}

int64_t ax__fs_scandir(ax_fs_t *req) {
  DIR *dir = opendir(req->path);
  if (dir == NULL)
    return ax__fs_errno();
  int64_t result = fs_scandir_read(req, dir);
  closedir(dir);
  return result;
}

int64_t ax__fs_opendir(ax_fs_t *req) {
  ax_dir_t *dir = ax__calloc(1, sizeof(*dir));
  if (dir == NULL)
    return AX_ENOMEM;
  DIR *stream = opendir(req->path);
  if (stream == NULL) {
    int err = ax__fs_errno();
    ax__free(dir);
    return err;
  }
  dir->priv.impl = stream;
  req->ptr = dir;
  return 0;
}

/* Up to dir->nentries entries into dir->dirents. A failure after some
 * entries were read returns those entries rather than the error: their
 * names are allocated, and only a count tells cleanup to free them. An
 * entry whose name cannot be copied is put back (seekdir), so that the
 * next call, once there is memory, returns it rather than skipping it. */
int64_t ax__fs_readdir(ax_fs_t *req) {
  ax_dir_t *dir = req->priv.dir;
  size_t count = 0;
  while (count < dir->nentries) {
    struct dirent *ent;
    long before = telldir(dir->priv.impl);
    int err = fs_dir_next(dir->priv.impl, &ent);
    if (err == 0 && ent == NULL)
      break;
    if (err == 0) {
      err = fs_dirent_copy(&dir->dirents[count], ent);
      if (err != 0 && before != -1)
        seekdir(dir->priv.impl, before);
    }
    if (err != 0) {
      if (count > 0)
        break;
      return err;
    }
    count++;
  }
  return (int64_t)count;
}

/* The stream is released even when closedir(3) reports an error. */
int64_t ax__fs_closedir(ax_fs_t *req) {
  ax_dir_t *dir = req->priv.dir;
  int rc = closedir(dir->priv.impl);
  int64_t result = rc == 0 ? 0 : ax__fs_errno();
  ax__free(dir);
  req->priv.dir = NULL;
  return result;
}
