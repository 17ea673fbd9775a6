/*
 * test_fs_win.c: the file system requests where Windows differs from
 * POSIX, and where src/win/fs*.c makes it behave as POSIX does. The
 * portable behaviour is test_fs.c's; these are the Windows cases:
 *
 * - UTF-8 names, to UTF-16 and back, and bytes that are not UTF-8;
 * - positional reads and writes leave the file pointer where it was;
 *   O_APPEND writes at the end even at an offset;
 * - the read-only attribute as the mode's write bit: created by open's
 *   mode, reported by stat, set by chmod and fchmod, checked by access;
 *   and unlink and rmdir of read-only files and directories;
 * - operations a read-only descriptor may do on POSIX (fsync, futime,
 *   fchmod), through a second handle;
 * - the POSIX errors for directories: unlink, open for writing, read,
 *   O_DIRECTORY, scandir of a file, renames between files and directories;
 * - realpath without the "\\?\" prefix; statfs; mkstemp and mkdtemp names;
 *   copyfile onto itself and its flags; fstat of a pipe; sendfile; bad
 *   descriptors;
 * - symbolic links, which Wine 8 cannot make (AX_ENOTSUP) and Windows
 *   makes only with a privilege or Developer Mode (AX_EPERM): the test
 *   checks what it can get. Junctions are AX_ENOTSUP.
 *
 * Every test works in a directory of its own, made with ax_fs_mkdtemp()
 * in the working directory and removed (through axle) after the test.
 */
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <string.h>

#include "test.h"

/* Per test: the loop and the test's own directory. */
struct fs_win_state {
  ax_loop_t loop; /* For the requests, all synchronous here. */
  char dir[64];   /* The directory the test works in. */
};

/* Path of name inside the test's directory, in a static buffer per slot
 * (a test needs at most a few at once). */
static const char *at(struct fs_win_state *st, int slot, const char *name) {
  static char paths[4][300];
  snprintf(paths[slot], sizeof(paths[slot]), "%s/%s", st->dir, name);
  return paths[slot];
}

/* Remove a tree through axle: scandir, unlink, rmdir. */
static void remove_tree(ax_loop_t *loop, const char *path) {
  ax_fs_t req;
  if (ax_fs_scandir(loop, &req, path, 0, NULL) == 0) {
    ax_dirent_t ent;
    while (ax_fs_scandir_next(&req, &ent) == 0) {
      char child[600];
      snprintf(child, sizeof(child), "%s/%s", path, ent.name);
      if (ent.type == AX_DIRENT_DIR) {
        remove_tree(loop, child);
      } else {
        ax_fs_t unlink_req;
        ax_fs_chmod(loop, &unlink_req, child, 0666, NULL);
        ax_fs_req_cleanup(&unlink_req);
        assert_int_equal(ax_fs_unlink(loop, &unlink_req, child, NULL), 0);
        ax_fs_req_cleanup(&unlink_req);
      }
    }
  }
  ax_fs_req_cleanup(&req);
  assert_int_equal(ax_fs_rmdir(loop, &req, path, NULL), 0);
  ax_fs_req_cleanup(&req);
}

static int setup(void **state) {
  struct fs_win_state *st = test_malloc(sizeof(*st));
  test_loop_open(&st->loop);
  ax_fs_t req;
  assert_int_equal(ax_fs_mkdtemp(&st->loop, &req, "fswin-XXXXXX", NULL), 0);
  snprintf(st->dir, sizeof(st->dir), "%s", req.path);
  ax_fs_req_cleanup(&req);
  *state = st;
  return 0;
}

static int teardown(void **state) {
  struct fs_win_state *st = *state;
  remove_tree(&st->loop, st->dir);
  test_loop_close(&st->loop);
  test_free(st);
  return 0;
}

/* ---- Small synchronous helpers ---- */

static ax_file_t open_file(struct fs_win_state *st, const char *path, int flags,
                           int mode) {
  ax_fs_t req;
  int err = ax_fs_open(&st->loop, &req, path, flags, mode, NULL);
  ax_fs_req_cleanup(&req);
  assert_int_equal(err, 0);
  return (ax_file_t)req.result;
}

static void close_file(struct fs_win_state *st, ax_file_t file) {
  ax_fs_t req;
  assert_int_equal(ax_fs_close(&st->loop, &req, file, NULL), 0);
  ax_fs_req_cleanup(&req);
}

static int64_t write_at(struct fs_win_state *st, ax_file_t file,
                        const char *text, int64_t offset) {
  ax_fs_t req;
  ax_buf_t buf = ax_buf_init((char *)text, strlen(text));
  ax_fs_write(&st->loop, &req, file, &buf, 1, offset, NULL);
  ax_fs_req_cleanup(&req);
  return req.result;
}

static int64_t read_at(struct fs_win_state *st, ax_file_t file, char *out,
                       size_t len, int64_t offset) {
  ax_fs_t req;
  memset(out, 0, len);
  ax_buf_t buf = ax_buf_init(out, len - 1);
  ax_fs_read(&st->loop, &req, file, &buf, 1, offset, NULL);
  ax_fs_req_cleanup(&req);
  return req.result;
}

/* The whole file at path as a string. */
static const char *contents(struct fs_win_state *st, const char *path) {
  static char text[256];
  ax_file_t file = open_file(st, path, AX_FS_O_RDONLY, 0);
  assert_true(read_at(st, file, text, sizeof(text), 0) >= 0);
  close_file(st, file);
  return text;
}

static void make_file(struct fs_win_state *st, const char *path,
                      const char *text) {
  ax_file_t file = open_file(
      st, path, AX_FS_O_WRONLY | AX_FS_O_CREAT | AX_FS_O_TRUNC, 0644);
  assert_int_equal(write_at(st, file, text, -1), (int64_t)strlen(text));
  close_file(st, file);
}

static void make_dir(struct fs_win_state *st, const char *path) {
  ax_fs_t req;
  assert_int_equal(ax_fs_mkdir(&st->loop, &req, path, 0755, NULL), 0);
  ax_fs_req_cleanup(&req);
}

static ax_stat_t stat_path(struct fs_win_state *st, const char *path) {
  ax_fs_t req;
  assert_int_equal(ax_fs_stat(&st->loop, &req, path, NULL), 0);
  assert_ptr_equal(req.ptr, &req.statbuf);
  ax_stat_t result = req.statbuf;
  ax_fs_req_cleanup(&req);
  return result;
}

/* ---- UTF-8 names ---- */

static void test_fs_win_utf8_names(void **state) {
  struct fs_win_state *st = *state;
  /* n with tilde, a CJK character, and an emoji (a surrogate pair). */
  const char *name = "\xc3\xb1-\xe9\x9b\xaa-\xf0\x9f\x98\x80.txt";
  make_file(st, at(st, 0, name), "x");
  ax_fs_t req;
  assert_int_equal(ax_fs_scandir(&st->loop, &req, st->dir, 0, NULL), 0);
  assert_int_equal(req.result, 1);
  ax_dirent_t ent;
  assert_int_equal(ax_fs_scandir_next(&req, &ent), 0);
  assert_string_equal(ent.name, name);
  assert_int_equal(ent.type, AX_DIRENT_FILE);
  ax_fs_req_cleanup(&req);
  assert_int_equal(ax_fs_realpath(&st->loop, &req, at(st, 0, name), NULL), 0);
  const char *real = req.ptr;
  size_t len = strlen(real);
  assert_true(len > strlen(name));
  assert_string_equal(real + len - strlen(name), name);
  ax_fs_req_cleanup(&req);
}

static void test_fs_win_invalid_utf8(void **state) {
  struct fs_win_state *st = *state;
  ax_fs_t req;
  /* A lone continuation byte, and an overlong encoding of '/'. */
  assert_int_equal(ax_fs_stat(&st->loop, &req, "bad\x80name", NULL), AX_EINVAL);
  ax_fs_req_cleanup(&req);
  assert_int_equal(ax_fs_mkdir(&st->loop, &req, "bad\xc0\xafname", 0755, NULL),
                   AX_EINVAL);
  ax_fs_req_cleanup(&req);
}

/* ---- Positions ---- */

static void test_fs_win_positional_keeps_pointer(void **state) {
  struct fs_win_state *st = *state;
  ax_file_t file = open_file(st, at(st, 0, "pos"), AX_FS_O_RDWR | AX_FS_O_CREAT,
                             0644);
  assert_int_equal(write_at(st, file, "abcdef", -1), 6);
  assert_int_equal(write_at(st, file, "XY", 0), 2);
  /* The pointer is still at 6, not at 2. */
  assert_int_equal(write_at(st, file, "gh", -1), 2);
  char text[16];
  assert_int_equal(read_at(st, file, text, sizeof(text), 2), 6);
  assert_string_equal(text, "cdefgh");
  /* Still at the end: a read at the current position finds nothing. */
  assert_int_equal(read_at(st, file, text, sizeof(text), -1), 0);
  /* Past the end of the file: 0 bytes, not an error. */
  assert_int_equal(read_at(st, file, text, sizeof(text), 100), 0);
  close_file(st, file);
  assert_string_equal(contents(st, at(st, 0, "pos")), "XYcdefgh");
}

static void test_fs_win_append_ignores_offset(void **state) {
  struct fs_win_state *st = *state;
  make_file(st, at(st, 0, "log"), "one");
  ax_file_t file = open_file(st, at(st, 0, "log"),
                             AX_FS_O_WRONLY | AX_FS_O_APPEND, 0);
  assert_int_equal(write_at(st, file, "two", -1), 3);
  assert_int_equal(write_at(st, file, "three", 0), 5);
  close_file(st, file);
  assert_string_equal(contents(st, at(st, 0, "log")), "onetwothree");
  /* With O_TRUNC as well: emptied first, appended to after. */
  file = open_file(st, at(st, 0, "log"),
                   AX_FS_O_WRONLY | AX_FS_O_APPEND | AX_FS_O_TRUNC, 0);
  assert_int_equal(write_at(st, file, "four", -1), 4);
  assert_int_equal(write_at(st, file, "five", 0), 4);
  close_file(st, file);
  assert_string_equal(contents(st, at(st, 0, "log")), "fourfive");
}

/* ---- The read-only attribute ---- */

static void test_fs_win_read_only_mode(void **state) {
  struct fs_win_state *st = *state;
  const char *path = at(st, 0, "ro");
  /* The creating descriptor may write, as on POSIX. */
  ax_file_t file = open_file(
      st, path, AX_FS_O_WRONLY | AX_FS_O_CREAT | AX_FS_O_EXCL, 0444);
  assert_int_equal(write_at(st, file, "data", -1), 4);
  close_file(st, file);
  assert_int_equal(stat_path(st, path).mode, AX_S_IFREG | 0444);
  ax_fs_t req;
  assert_int_equal(ax_fs_access(&st->loop, &req, path, AX_FS_W_OK, NULL),
                   AX_EACCES);
  assert_int_equal(ax_fs_access(&st->loop, &req, path, AX_FS_R_OK, NULL), 0);
  /* An existing file keeps its attribute whatever open's mode says. */
  assert_int_equal(ax_fs_chmod(&st->loop, &req, path, 0644, NULL), 0);
  assert_int_equal(stat_path(st, path).mode, AX_S_IFREG | 0666);
  file = open_file(st, path, AX_FS_O_WRONLY | AX_FS_O_CREAT, 0444);
  close_file(st, file);
  assert_int_equal(stat_path(st, path).mode, AX_S_IFREG | 0666);
  assert_int_equal(ax_fs_chmod(&st->loop, &req, path, 0400, NULL), 0);
  /* POSIX unlinks a read-only file: only the directory's bits count. */
  assert_int_equal(ax_fs_unlink(&st->loop, &req, path, NULL), 0);
  assert_int_equal(ax_fs_stat(&st->loop, &req, path, NULL), AX_ENOENT);
  ax_fs_req_cleanup(&req);
}

static void test_fs_win_read_only_dir(void **state) {
  struct fs_win_state *st = *state;
  const char *path = at(st, 0, "rodir");
  make_dir(st, path);
  ax_fs_t req;
  assert_int_equal(ax_fs_chmod(&st->loop, &req, path, 0555, NULL), 0);
  /* Wine 8 does not keep the attribute on a directory; Windows does. */
  uint64_t mode = stat_path(st, path).mode;
  assert_true(mode == (AX_S_IFDIR | 0555) || mode == (AX_S_IFDIR | 0777));
  /* A directory's attribute does not stop writing into it. */
  assert_int_equal(ax_fs_access(&st->loop, &req, path, AX_FS_W_OK, NULL), 0);
  assert_int_equal(ax_fs_rmdir(&st->loop, &req, path, NULL), 0);
  ax_fs_req_cleanup(&req);
}

/* fsync, futime and fchmod on a descriptor opened for reading only, which
 * POSIX allows, and Windows only on a second handle. */
static void test_fs_win_read_only_descriptor(void **state) {
  struct fs_win_state *st = *state;
  const char *path = at(st, 0, "f");
  make_file(st, path, "abc");
  ax_file_t file = open_file(st, path, AX_FS_O_RDONLY, 0);
  ax_fs_t req;
  assert_int_equal(ax_fs_fsync(&st->loop, &req, file, NULL), 0);
  assert_int_equal(ax_fs_fdatasync(&st->loop, &req, file, NULL), 0);
  assert_int_equal(
      ax_fs_futime(&st->loop, &req, file, 1500000000.25, 1400000000.5, NULL),
      0);
  assert_int_equal(ax_fs_fchmod(&st->loop, &req, file, 0444, NULL), 0);
  assert_int_equal(ax_fs_fstat(&st->loop, &req, file, NULL), 0);
  assert_int_equal(req.statbuf.mode, AX_S_IFREG | 0444);
  assert_int_equal(req.statbuf.atim.sec, 1500000000);
  assert_int_equal(req.statbuf.atim.nsec, 250000000);
  assert_int_equal(req.statbuf.mtim.sec, 1400000000);
  assert_int_equal(req.statbuf.mtim.nsec, 500000000);
  assert_int_equal(req.statbuf.size, 3);
  /* Writing through it is still refused, as POSIX's EBADF. */
  assert_int_equal(write_at(st, file, "x", -1), AX_EBADF);
  /* Linux says EINVAL here, POSIX either; Windows EBADF, Wine EINVAL. */
  int err = ax_fs_ftruncate(&st->loop, &req, file, 0, NULL);
  assert_true(err == AX_EBADF || err == AX_EINVAL);
  close_file(st, file);
  ax_fs_req_cleanup(&req);
}

/* ---- Directories where a file was meant, and the other way round ---- */

static void test_fs_win_directory_errors(void **state) {
  struct fs_win_state *st = *state;
  const char *dir = at(st, 0, "d");
  const char *file = at(st, 1, "f");
  make_dir(st, dir);
  make_file(st, file, "x");
  ax_fs_t req;
  assert_int_equal(ax_fs_unlink(&st->loop, &req, dir, NULL), AX_EISDIR);
  assert_int_equal(ax_fs_open(&st->loop, &req, dir, AX_FS_O_WRONLY, 0, NULL),
                   AX_EISDIR);
  assert_int_equal(ax_fs_open(&st->loop, &req, dir,
                              AX_FS_O_RDWR | AX_FS_O_DIRECTORY, 0, NULL),
                   AX_EISDIR);
  assert_int_equal(ax_fs_open(&st->loop, &req, file,
                              AX_FS_O_RDONLY | AX_FS_O_DIRECTORY, 0, NULL),
                   AX_ENOTDIR);
  assert_int_equal(ax_fs_rmdir(&st->loop, &req, file, NULL), AX_ENOTDIR);
  assert_int_equal(ax_fs_scandir(&st->loop, &req, file, 0, NULL), AX_ENOTDIR);
  ax_fs_req_cleanup(&req);
  assert_int_equal(ax_fs_opendir(&st->loop, &req, file, NULL), AX_ENOTDIR);
  assert_int_equal(
      ax_fs_copyfile(&st->loop, &req, dir, at(st, 2, "c"), 0, NULL), AX_EISDIR);
  /* A directory opens for reading, as open(2) allows, and reads EISDIR. */
  ax_file_t fd = open_file(st, dir, AX_FS_O_RDONLY | AX_FS_O_DIRECTORY, 0);
  char text[8];
  assert_int_equal(read_at(st, fd, text, sizeof(text), -1), AX_EISDIR);
  assert_int_equal(ax_fs_fstat(&st->loop, &req, fd, NULL), 0);
  assert_int_equal(req.statbuf.mode & AX_S_IFMT, AX_S_IFDIR);
  close_file(st, fd);
}

static void test_fs_win_rename_directories(void **state) {
  struct fs_win_state *st = *state;
  const char *a = at(st, 0, "a");
  const char *b = at(st, 1, "b");
  const char *f = at(st, 2, "f");
  make_dir(st, a);
  make_dir(st, b);
  make_file(st, f, "x");
  ax_fs_t req;
  /* A directory replaces an empty one, as POSIX's rename allows. */
  assert_int_equal(ax_fs_rename(&st->loop, &req, a, b, NULL), 0);
  assert_int_equal(ax_fs_stat(&st->loop, &req, a, NULL), AX_ENOENT);
  make_dir(st, a);
  make_file(st, at(st, 3, "b/inside"), "y");
  assert_int_equal(ax_fs_rename(&st->loop, &req, a, b, NULL), AX_ENOTEMPTY);
  assert_int_equal(ax_fs_rename(&st->loop, &req, f, a, NULL), AX_EISDIR);
  /* A directory over a file (POSIX: ENOTDIR) is left to the system, so
   * that a rename costs one call: Wine 8 replaces the file. */
  /* A file replaces a file. */
  make_file(st, at(st, 3, "g"), "new");
  assert_int_equal(ax_fs_rename(&st->loop, &req, at(st, 3, "g"), f, NULL), 0);
  assert_string_equal(contents(st, f), "new");
  ax_fs_req_cleanup(&req);
}

/* ---- Names the system makes ---- */

static void test_fs_win_realpath_form(void **state) {
  struct fs_win_state *st = *state;
  make_dir(st, at(st, 0, "sub"));
  ax_fs_t req;
  assert_int_equal(
      ax_fs_realpath(&st->loop, &req, at(st, 0, "sub/../sub/./"), NULL), 0);
  const char *real = req.ptr;
  /* "X:\...\sub": a drive, backslashes, no "\\?\". */
  assert_true(strncmp(real, "\\\\?\\", 4) != 0);
  assert_true(real[1] == ':' && real[2] == '\\');
  size_t len = strlen(real);
  assert_true(len > 4);
  assert_string_equal(real + len - 4, "\\sub");
  assert_null(strchr(real, '/'));
  ax_fs_req_cleanup(&req);
}

static void test_fs_win_statfs(void **state) {
  struct fs_win_state *st = *state;
  make_file(st, at(st, 0, "f"), "x");
  ax_fs_t req;
  /* A file's volume as well as a directory's. */
  assert_int_equal(ax_fs_statfs(&st->loop, &req, at(st, 0, "f"), NULL), 0);
  const ax_statfs_t *fs = req.ptr;
  assert_true(fs->bsize > 0);
  assert_true(fs->blocks > 0);
  assert_true(fs->bfree <= fs->blocks);
  assert_true(fs->bavail <= fs->bfree);
  ax_fs_req_cleanup(&req);
  assert_int_equal(ax_fs_statfs(&st->loop, &req, at(st, 0, "missing"), NULL),
                   AX_ENOENT);
  ax_fs_req_cleanup(&req);
}

static int is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

static void test_fs_win_temp_names(void **state) {
  struct fs_win_state *st = *state;
  ax_fs_t req;
  assert_int_equal(
      ax_fs_mkstemp(&st->loop, &req, at(st, 0, "tmp-XXXXXX"), NULL), 0);
  ax_file_t file = (ax_file_t)req.result;
  const char *name = req.path + strlen(req.path) - 6;
  for (int i = 0; i < 6; i++)
    assert_true(is_name_char(name[i]));
  assert_string_not_equal(name, "XXXXXX");
  assert_int_equal(write_at(st, file, "temp", -1), 4);
  close_file(st, file);
  assert_string_equal(contents(st, req.path), "temp");
  ax_fs_req_cleanup(&req);
  assert_int_equal(
      ax_fs_mkstemp(&st->loop, &req, at(st, 0, "missing/tmp-XXXXXX"), NULL),
      AX_ENOENT);
  ax_fs_req_cleanup(&req);
}

/* ---- copyfile ---- */

static void test_fs_win_copyfile(void **state) {
  struct fs_win_state *st = *state;
  const char *src = at(st, 0, "src");
  const char *dst = at(st, 1, "dst");
  make_file(st, src, "payload");
  ax_fs_t req;
  /* Onto itself: nothing to do, as the POSIX copy does. */
  assert_int_equal(ax_fs_copyfile(&st->loop, &req, src, src, 0, NULL), 0);
  assert_string_equal(contents(st, src), "payload");
  assert_int_equal(ax_fs_copyfile(&st->loop, &req, src, dst,
                                  AX_FS_COPYFILE_FICLONE_FORCE, NULL),
                   AX_ENOTSUP);
  assert_int_equal(
      ax_fs_copyfile(&st->loop, &req, src, dst, AX_FS_COPYFILE_FICLONE, NULL),
      0);
  assert_string_equal(contents(st, dst), "payload");
  assert_int_equal(
      ax_fs_copyfile(&st->loop, &req, src, dst, AX_FS_COPYFILE_EXCL, NULL),
      AX_EEXIST);
  /* The permission bits (the read-only attribute) go with the copy. */
  assert_int_equal(ax_fs_chmod(&st->loop, &req, src, 0444, NULL), 0);
  assert_int_equal(
      ax_fs_copyfile(&st->loop, &req, src, at(st, 2, "ro"), 0, NULL), 0);
  assert_int_equal(stat_path(st, at(st, 2, "ro")).mode, AX_S_IFREG | 0444);
  ax_fs_req_cleanup(&req);
}

/* ---- Descriptors ---- */

static void test_fs_win_fstat_pipe(void **state) {
  struct fs_win_state *st = *state;
  int fds[2];
  assert_int_equal(_pipe(fds, 64, _O_BINARY), 0);
  ax_fs_t req;
  assert_int_equal(ax_fs_fstat(&st->loop, &req, fds[0], NULL), 0);
  assert_int_equal(req.statbuf.mode & AX_S_IFMT, AX_S_IFIFO);
  /* A pipe whose writer closed reads as the end of the file. */
  assert_int_equal(write_at(st, fds[1], "hi", -1), 2);
  close_file(st, fds[1]);
  char text[8];
  assert_int_equal(read_at(st, fds[0], text, sizeof(text), -1), 2);
  assert_int_equal(read_at(st, fds[0], text, sizeof(text), -1), 0);
  close_file(st, fds[0]);
  ax_fs_req_cleanup(&req);
}

static void test_fs_win_bad_descriptors(void **state) {
  struct fs_win_state *st = *state;
  ax_fs_t req;
  /* Never opened in this process. */
  ax_file_t bad = 1999;
  char text[8];
  assert_int_equal(read_at(st, bad, text, sizeof(text), -1), AX_EBADF);
  assert_int_equal(ax_fs_fstat(&st->loop, &req, bad, NULL), AX_EBADF);
  assert_int_equal(ax_fs_fsync(&st->loop, &req, bad, NULL), AX_EBADF);
  assert_int_equal(ax_fs_fchown(&st->loop, &req, bad, 0, 0, NULL), AX_EBADF);
  assert_int_equal(ax_fs_close(&st->loop, &req, bad, NULL), AX_EBADF);
  ax_file_t file = open_file(st, at(st, 0, "f"), AX_FS_O_RDWR | AX_FS_O_CREAT,
                             0644);
  close_file(st, file);
  assert_int_equal(ax_fs_close(&st->loop, &req, file, NULL), AX_EBADF);
  ax_fs_req_cleanup(&req);
}

static void test_fs_win_sendfile(void **state) {
  struct fs_win_state *st = *state;
  make_file(st, at(st, 0, "in"), "0123456789");
  ax_file_t in = open_file(st, at(st, 0, "in"), AX_FS_O_RDONLY, 0);
  ax_file_t out = open_file(st, at(st, 1, "out"),
                            AX_FS_O_WRONLY | AX_FS_O_CREAT, 0644);
  ax_fs_t req;
  assert_int_equal(ax_fs_sendfile(&st->loop, &req, out, in, 3, 4, NULL), 0);
  assert_int_equal(req.result, 4);
  /* Past the end: what there is. */
  assert_int_equal(ax_fs_sendfile(&st->loop, &req, out, in, 8, 100, NULL), 0);
  assert_int_equal(req.result, 2);
  /* in's pointer did not move. */
  char text[8];
  assert_int_equal(read_at(st, in, text, 3, -1), 2);
  assert_string_equal(text, "01");
  close_file(st, in);
  close_file(st, out);
  assert_string_equal(contents(st, at(st, 1, "out")), "345689");
  ax_fs_req_cleanup(&req);
}

/* ---- Links ---- */

static void test_fs_win_hard_link(void **state) {
  struct fs_win_state *st = *state;
  make_file(st, at(st, 0, "a"), "same");
  ax_fs_t req;
  assert_int_equal(
      ax_fs_link(&st->loop, &req, at(st, 0, "a"), at(st, 1, "b"), NULL), 0);
  ax_stat_t a = stat_path(st, at(st, 0, "a"));
  ax_stat_t b = stat_path(st, at(st, 1, "b"));
  assert_int_equal(a.nlink, 2);
  assert_int_equal(a.ino, b.ino);
  assert_int_equal(a.dev, b.dev);
  ax_fs_req_cleanup(&req);
}

/* Whatever symlink can do here: make a link (an administrator, Developer
 * Mode), refuse for want of the privilege (AX_EPERM), or not have links
 * at all (Wine 8: AX_ENOTSUP). readlink of a file is AX_EINVAL anyway. */
static void test_fs_win_symlink(void **state) {
  struct fs_win_state *st = *state;
  make_file(st, at(st, 0, "target"), "x");
  ax_fs_t req;
  assert_int_equal(ax_fs_readlink(&st->loop, &req, at(st, 0, "target"), NULL),
                   AX_EINVAL);
  assert_int_equal(ax_fs_symlink(&st->loop, &req, "target", at(st, 1, "j"),
                                 AX_FS_SYMLINK_JUNCTION, NULL),
                   AX_ENOTSUP);
  int err = ax_fs_symlink(&st->loop, &req, "target", at(st, 1, "link"), 0,
                          NULL);
  if (err == AX_ENOTSUP || err == AX_EPERM) {
    assert_int_equal(ax_fs_lstat(&st->loop, &req, at(st, 1, "link"), NULL),
                     AX_ENOENT);
    return;
  }
  assert_int_equal(err, 0);
  assert_int_equal(ax_fs_readlink(&st->loop, &req, at(st, 1, "link"), NULL), 0);
  assert_string_equal(req.ptr, "target");
  ax_fs_req_cleanup(&req);
  assert_int_equal(ax_fs_lstat(&st->loop, &req, at(st, 1, "link"), NULL), 0);
  assert_int_equal(req.statbuf.mode & AX_S_IFMT, AX_S_IFLNK);
  assert_int_equal(req.statbuf.size, strlen("target"));
  assert_int_equal(stat_path(st, at(st, 1, "link")).mode & AX_S_IFMT,
                   AX_S_IFREG);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_fs_win_utf8_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fs_win_invalid_utf8, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_fs_win_positional_keeps_pointer,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_fs_win_append_ignores_offset, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_fs_win_read_only_mode, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_fs_win_read_only_dir, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_fs_win_read_only_descriptor, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_fs_win_directory_errors, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_fs_win_rename_directories, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_fs_win_realpath_form, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_fs_win_statfs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fs_win_temp_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fs_win_copyfile, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fs_win_fstat_pipe, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fs_win_bad_descriptors, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_fs_win_sendfile, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fs_win_hard_link, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fs_win_symlink, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
