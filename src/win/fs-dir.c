/*
 * win/fs-dir.c: reading directories on Windows: scandir, and the stream
 * of opendir, readdir and closedir.
 *
 * Both walk FindFirstFileExW() and FindNextFileW() over "dir\*". The
 * first call already returns an entry with the handle, so a stream holds
 * one found entry that readdir has not handed out yet. "." and ".." are
 * skipped. Entry types come from the attributes the search returns
 * (dwReserved0 is the reparse tag when the reparse attribute is set), so
 * no entry costs a call of its own.
 */
#include <string.h>
#include <wchar.h>

#include "fs-internal.h"

/* An open directory stream: ax_dir_t's priv.impl. */
struct dir_stream {
  HANDLE find;           /* The search, or INVALID_HANDLE_VALUE when empty. */
  WIN32_FIND_DATAW data; /* The entry found last. */
  int has_data;          /* data holds an entry not handed out yet. */
};

/* How many entries scandir's array holds at first; it doubles. */
enum { DIR_FIRST_CAPACITY = 16 };

/* "path\*", the pattern that lists a directory. A path that ends in a
 * separator or a drive ("C:", the drive's current directory) takes no
 * backslash. An empty path names nothing, as on POSIX. */
static int dir_pattern(const WCHAR *path, WCHAR **pattern) {
  size_t len = wcslen(path);
  if (len == 0)
    return AX_ENOENT;
  *pattern = ax__malloc((len + 3) * sizeof(WCHAR));
  if (*pattern == NULL)
    return AX_ENOMEM;
  memcpy(*pattern, path, len * sizeof(WCHAR));
  WCHAR last = path[len - 1];
  if (last != L'\\' && last != L'/' && last != L':')
    (*pattern)[len++] = L'\\';
  (*pattern)[len++] = L'*';
  (*pattern)[len] = L'\0';
  return 0;
}

/* Why a search of path failed. Windows says a file is not found, or (by
 * version, and under Wine) that its name is invalid, where POSIX says
 * ENOTDIR; a root directory with nothing in it has no "." to find. */
static int dir_find_error(const WCHAR *path, DWORD error,
                          struct dir_stream *stream) {
  DWORD attributes = GetFileAttributesW(path);
  if (attributes == INVALID_FILE_ATTRIBUTES)
    return ax_translate_sys_error((int)error);
  if (!(attributes & FILE_ATTRIBUTE_DIRECTORY))
    return AX_ENOTDIR;
  if (error == ERROR_FILE_NOT_FOUND || error == ERROR_NO_MORE_FILES) {
    stream->find = INVALID_HANDLE_VALUE;
    stream->has_data = 0;
    return 0;
  }
  return ax_translate_sys_error((int)error);
}

/* Begin the search of the directory at the UTF-8 path. */
static int dir_stream_open(const char *utf8, struct dir_stream *stream) {
  WCHAR *path;
  WCHAR *pattern = NULL;
  int err = ax__win_fs_wide(utf8, &path);
  if (err == 0)
    err = dir_pattern(path, &pattern);
  if (err == 0) {
    /* Basic information leaves out the short 8.3 name, which no one here
     * reads; a large fetch asks for more entries per call. */
    stream->find = FindFirstFileExW(pattern, FindExInfoBasic, &stream->data,
                                    FindExSearchNameMatch, NULL,
                                    FIND_FIRST_EX_LARGE_FETCH);
    stream->has_data = stream->find != INVALID_HANDLE_VALUE;
    if (!stream->has_data)
      err = dir_find_error(path, GetLastError(), stream);
  }
  ax__free(pattern);
  ax__free(path);
  return err;
}

static void dir_stream_close(struct dir_stream *stream) {
  if (stream->find != INVALID_HANDLE_VALUE)
    FindClose(stream->find);
  stream->find = INVALID_HANDLE_VALUE;
  stream->has_data = 0;
}

static int dir_is_dot(const WCHAR *name) {
  return name[0] == L'.' &&
         (name[1] == L'\0' || (name[1] == L'.' && name[2] == L'\0'));
}

/* The next entry other than "." and "..", in stream->data; AX_EOF at the
 * end. The entry counts as handed out once this returns it. */
static int dir_stream_next(struct dir_stream *stream) {
  for (;;) {
    if (!stream->has_data) {
      if (stream->find == INVALID_HANDLE_VALUE)
        return AX_EOF;
      if (!FindNextFileW(stream->find, &stream->data)) {
        DWORD error = GetLastError();
        return error == ERROR_NO_MORE_FILES
                   ? AX_EOF
                   : ax_translate_sys_error((int)error);
      }
    }
    stream->has_data = 0;
    if (!dir_is_dot(stream->data.cFileName))
      return 0;
  }
}

static ax_dirent_type dir_entry_type(const WIN32_FIND_DATAW *data) {
  if ((data->dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) &&
      ax__win_fs_tag_is_link(data->dwReserved0))
    return AX_DIRENT_LINK;
  if (data->dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
    return AX_DIRENT_DIR;
  return AX_DIRENT_FILE;
}

/* Fill ent from the stream's current entry; its name is a new string. */
static int dir_entry(const struct dir_stream *stream, ax_dirent_t *ent) {
  char *name;
  int err = ax__win_fs_utf8(stream->data.cFileName, -1, &name);
  if (err != 0)
    return err;
  ent->name = name;
  ent->type = dir_entry_type(&stream->data);
  return 0;
}

static void dir_free_entries(ax_dirent_t *dirents, size_t count) {
  for (size_t i = 0; i < count; i++) {
    ax__free((void *)dirents[i].name);
    dirents[i].name = NULL;
  }
}

/* Make room for one more entry in scandir's array. */
static int dir_grow(ax_dirent_t **dirents, size_t count, size_t *capacity) {
  if (count < *capacity)
    return 0;
  size_t more = *capacity == 0 ? DIR_FIRST_CAPACITY : *capacity * 2;
  ax_dirent_t *grown = ax__realloc(*dirents, more * sizeof(**dirents));
  if (grown == NULL)
    return AX_ENOMEM;
  *dirents = grown;
  *capacity = more;
  return 0;
}

/* Every entry of the stream into a new array; *count of them. */
static int dir_read_all(struct dir_stream *stream, ax_dirent_t **dirents,
                        size_t *count) {
  size_t capacity = 0;
  *dirents = NULL;
  *count = 0;
  for (;;) {
    int err = dir_stream_next(stream);
    if (err == 0)
      err = dir_grow(dirents, *count, &capacity);
    if (err == 0)
      err = dir_entry(stream, &(*dirents)[*count]);
    if (err == AX_EOF)
      return 0;
    if (err != 0)
      return err;
    (*count)++;
  }
}

int64_t ax__win_fs_scandir(ax_fs_t *req) {
  struct dir_stream stream;
  int err = dir_stream_open(req->path, &stream);
  if (err != 0)
    return err;
  ax_dirent_t *dirents;
  size_t count;
  err = dir_read_all(&stream, &dirents, &count);
  dir_stream_close(&stream);
  if (err != 0) {
    dir_free_entries(dirents, count);
    ax__free(dirents);
    return err;
  }
  req->ptr = dirents;
  return (int64_t)count;
}

int64_t ax__win_fs_opendir(ax_fs_t *req) {
  ax_dir_t *dir = ax__malloc(sizeof(*dir));
  struct dir_stream *stream = ax__malloc(sizeof(*stream));
  int err = dir == NULL || stream == NULL ? AX_ENOMEM : 0;
  if (err == 0)
    err = dir_stream_open(req->path, stream);
  if (err != 0) {
    ax__free(stream);
    ax__free(dir);
    return err;
  }
  memset(dir, 0, sizeof(*dir));
  dir->priv.impl = stream;
  req->ptr = dir;
  return 0;
}

/* Up to dir->nentries entries; their names are the request's (fs.c frees
 * them). An error after some entries drops those, so that a failed
 * request owns nothing; they are not read again. */
int64_t ax__win_fs_readdir(ax_fs_t *req) {
  ax_dir_t *dir = req->priv.dir;
  struct dir_stream *stream = dir->priv.impl;
  size_t count = 0;
  while (count < dir->nentries) {
    int err = dir_stream_next(stream);
    if (err == 0)
      err = dir_entry(stream, &dir->dirents[count]);
    if (err == AX_EOF)
      break;
    if (err != 0) {
      dir_free_entries(dir->dirents, count);
      return err;
    }
    count++;
  }
  return (int64_t)count;
}

int64_t ax__win_fs_closedir(ax_fs_t *req) {
  ax_dir_t *dir = req->priv.dir;
  struct dir_stream *stream = dir->priv.impl;
  dir_stream_close(stream);
  ax__free(stream);
  ax__free(dir);
  req->priv.dir = NULL;
  return 0;
}
