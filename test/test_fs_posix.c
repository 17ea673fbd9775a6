/*
 * test_fs_posix.c: the file system requests in what only POSIX systems
 * have: symbolic links (readlink, lstat, lutime, lchown, O_NOFOLLOW),
 * owners, every mode bit and the umask, EACCES (skipped as root, which
 * passes every permission check), FIFOs and sockets among directory
 * entries, close-on-exec descriptors, sendfile to a socket, and cancelling
 * a request that waits in the pool's queue behind reads that block on
 * pipes, and writes that meet a reader gone (a TCP peer's reset, a closed
 * pipe) on the pool and on the caller's thread: AX_EPIPE, never a SIGPIPE
 * (whose disposition here stays the default, which would end the
 * program); and the pool's workers, which block asynchronous signals.
 * test_fs.c has what every platform shares; meson builds this file
 * for POSIX hosts only.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "test.h"

enum { PATH_BYTES = 512 };

/* A test's loop and its directory. */
struct fixture {
  ax_loop_t loop;       /* The loop, opened with test_loop_open(). */
  char dir[PATH_BYTES]; /* The test's own directory. */
  ax_fs_t req;          /* A request for synchronous calls. */
};

/* One asynchronous request and what its callback saw. */
struct call {
  ax_fs_t req; /* The request. */
  int calls;   /* Callback calls. */
};

static void call_cb(ax_fs_t *req) {
  ax_container_of(req, struct call, req)->calls++;
}

static void path_join(char out[PATH_BYTES], const char *dir, const char *name) {
  int n = snprintf(out, PATH_BYTES, "%s/%s", dir, name);
  assert_true(n > 0 && n < PATH_BYTES);
}

/* The fixture's request, cleaned up and ready for another call. */
static ax_fs_t *fx_req(struct fixture *fx) {
  ax_fs_req_cleanup(&fx->req);
  return &fx->req;
}

/* Remove a directory and what is in it, with POSIX calls (the tree may
 * hold a FIFO or links that point nowhere). */
static void remove_tree(ax_loop_t *loop, const char *dir) {
  ax_fs_t req;
  ax_dirent_t ent;
  char path[PATH_BYTES];
  assert_int_equal(chmod(dir, 0755), 0);
  assert_true(ax_fs_scandir(loop, &req, dir, 0, NULL) == 0);
  while (ax_fs_scandir_next(&req, &ent) == 0) {
    struct stat st;
    path_join(path, dir, ent.name);
    assert_int_equal(lstat(path, &st), 0);
    if (S_ISDIR(st.st_mode))
      remove_tree(loop, path);
    else
      assert_int_equal(unlink(path), 0);
  }
  ax_fs_req_cleanup(&req);
  assert_int_equal(rmdir(dir), 0);
}

static void fixture_open(struct fixture *fx) {
  memset(fx, 0, sizeof(*fx));
  test_loop_open(&fx->loop);
  assert_int_equal(
      ax_fs_mkdtemp(&fx->loop, &fx->req, "ax-fs-posix-XXXXXX", NULL), 0);
  snprintf(fx->dir, sizeof(fx->dir), "%s", fx->req.path);
}

static void fixture_close(struct fixture *fx) {
  ax_fs_req_cleanup(&fx->req);
  remove_tree(&fx->loop, fx->dir);
  test_loop_close(&fx->loop);
}

static void make_file(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
  assert_int_equal(close(fd), 0);
}

/* Run the loop until the one asynchronous request completed. */
static int64_t finish(ax_loop_t *loop, struct call *c, int rc) {
  assert_int_equal(rc, 0);
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(c->calls, 1);
  c->calls = 0;
  return c->req.result;
}

static void test_fs_symlink_readlink(void **state) {
  (void)state;
  struct fixture fx;
  struct call c;
  char file[PATH_BYTES];
  char link[PATH_BYTES];
  fixture_open(&fx);
  memset(&c, 0, sizeof(c));
  ax_loop_t *loop = &fx.loop;
  path_join(file, fx.dir, "file");
  path_join(link, fx.dir, "link");
  make_file(file, "target");
  assert_int_equal(
      finish(loop, &c, ax_fs_symlink(loop, &c.req, "file", link, 0, call_cb)),
      0);
  ax_fs_req_cleanup(&c.req);
  assert_int_equal(ax_fs_symlink(loop, fx_req(&fx), "file", link, 0, NULL),
                   AX_EEXIST);
  assert_int_equal(
      finish(loop, &c, ax_fs_readlink(loop, &c.req, link, call_cb)), 0);
  assert_string_equal(c.req.ptr, "file");
  ax_fs_req_cleanup(&c.req);
  assert_int_equal(ax_fs_readlink(loop, fx_req(&fx), link, NULL), 0);
  assert_string_equal(fx.req.ptr, "file");
  assert_int_equal(ax_fs_lstat(loop, fx_req(&fx), link, NULL), 0);
  assert_int_equal(fx.req.statbuf.mode & AX_S_IFMT, AX_S_IFLNK);
  assert_int_equal(fx.req.statbuf.size, 4);
  assert_int_equal(ax_fs_stat(loop, fx_req(&fx), link, NULL), 0);
  assert_int_equal(fx.req.statbuf.mode & AX_S_IFMT, AX_S_IFREG);
  assert_int_equal(fx.req.statbuf.size, 6);
  /* Not a link; no such file. */
  assert_int_equal(ax_fs_readlink(loop, fx_req(&fx), file, NULL), AX_EINVAL);
  assert_null(fx.req.ptr);
  path_join(file, fx.dir, "missing");
  assert_int_equal(ax_fs_readlink(loop, fx_req(&fx), file, NULL), AX_ENOENT);
  /* O_NOFOLLOW refuses the link itself. */
  assert_int_equal(
      ax_fs_open(loop, fx_req(&fx), link, AX_FS_O_NOFOLLOW, 0, NULL), AX_ELOOP);
  fixture_close(&fx);
}

/* A target longer than readlink's first buffer. */
static void test_fs_readlink_long(void **state) {
  (void)state;
  struct fixture fx;
  char link[PATH_BYTES];
  static char target[1500];
  fixture_open(&fx);
  path_join(link, fx.dir, "long");
  memset(target, 'a', sizeof(target) - 1);
  for (size_t i = 200; i < sizeof(target) - 1; i += 200)
    target[i] = '/';
  assert_int_equal(symlink(target, link), 0);
  assert_int_equal(ax_fs_readlink(&fx.loop, fx_req(&fx), link, NULL), 0);
  assert_string_equal(fx.req.ptr, target);
  /* Exactly the first buffer's size, which must not be taken as cut. */
  assert_int_equal(unlink(link), 0);
  target[256] = '\0';
  assert_int_equal(symlink(target, link), 0);
  assert_int_equal(ax_fs_readlink(&fx.loop, fx_req(&fx), link, NULL), 0);
  assert_int_equal(strlen(fx.req.ptr), 256);
  fixture_close(&fx);
}

static void test_fs_links_followed_or_not(void **state) {
  (void)state;
  struct fixture fx;
  char file[PATH_BYTES];
  char link[PATH_BYTES];
  char copy[PATH_BYTES];
  char resolved[PATH_BYTES];
  struct stat st;
  fixture_open(&fx);
  ax_loop_t *loop = &fx.loop;
  path_join(file, fx.dir, "file");
  path_join(link, fx.dir, "link");
  path_join(copy, fx.dir, "copy");
  make_file(file, "through");
  assert_int_equal(symlink("file", link), 0);
  /* lutime sets the link's times, utime the target's. */
  assert_int_equal(ax_fs_lutime(loop, fx_req(&fx), link, 100, 200, NULL), 0);
  assert_int_equal(lstat(link, &st), 0);
  assert_int_equal(st.st_mtime, 200);
  assert_int_equal(stat(file, &st), 0);
  assert_true(st.st_mtime != 200);
  assert_int_equal(ax_fs_utime(loop, fx_req(&fx), link, 300, 400, NULL), 0);
  assert_int_equal(stat(file, &st), 0);
  assert_int_equal(st.st_mtime, 400);
  /* realpath and copyfile go through the link. */
  assert_int_equal(ax_fs_realpath(loop, fx_req(&fx), file, NULL), 0);
  snprintf(resolved, sizeof(resolved), "%s", (const char *)fx.req.ptr);
  assert_int_equal(ax_fs_realpath(loop, fx_req(&fx), link, NULL), 0);
  assert_string_equal(fx.req.ptr, resolved);
  assert_int_equal(ax_fs_copyfile(loop, fx_req(&fx), link, copy, 0, NULL), 0);
  assert_int_equal(lstat(copy, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_size, 7);
  /* A dangling link: stat fails, lstat does not. */
  assert_int_equal(unlink(file), 0);
  assert_int_equal(ax_fs_stat(loop, fx_req(&fx), link, NULL), AX_ENOENT);
  assert_int_equal(ax_fs_lstat(loop, fx_req(&fx), link, NULL), 0);
  fixture_close(&fx);
}

static void test_fs_chown(void **state) {
  (void)state;
  struct fixture fx;
  struct call c;
  char file[PATH_BYTES];
  char link[PATH_BYTES];
  fixture_open(&fx);
  memset(&c, 0, sizeof(c));
  ax_loop_t *loop = &fx.loop;
  uint32_t uid = (uint32_t)getuid();
  uint32_t gid = (uint32_t)getgid();
  path_join(file, fx.dir, "owned");
  path_join(link, fx.dir, "link");
  make_file(file, "o");
  assert_int_equal(symlink("owned", link), 0);
  assert_int_equal(ax_fs_chown(loop, fx_req(&fx), file, uid, gid, NULL), 0);
  assert_int_equal(finish(loop, &c,
                          ax_fs_chown(loop, &c.req, file, (uint32_t)-1,
                                      (uint32_t)-1, call_cb)),
                   0);
  ax_fs_req_cleanup(&c.req);
  assert_int_equal(ax_fs_lchown(loop, fx_req(&fx), link, uid, gid, NULL), 0);
  assert_int_equal(
      finish(loop, &c, ax_fs_lchown(loop, &c.req, link, uid, gid, call_cb)), 0);
  ax_fs_req_cleanup(&c.req);
  int fd = open(file, O_RDONLY);
  assert_true(fd >= 0);
  assert_int_equal(ax_fs_fchown(loop, fx_req(&fx), fd, uid, gid, NULL), 0);
  assert_int_equal(
      finish(loop, &c, ax_fs_fchown(loop, &c.req, fd, uid, gid, call_cb)), 0);
  assert_int_equal(ax_fs_stat(loop, fx_req(&fx), file, NULL), 0);
  assert_int_equal(fx.req.statbuf.uid, uid);
  assert_int_equal(fx.req.statbuf.gid, gid);
  assert_int_equal(close(fd), 0);
  assert_int_equal(ax_fs_fchown(loop, fx_req(&fx), fd, uid, gid, NULL),
                   AX_EBADF);
  path_join(file, fx.dir, "missing");
  assert_int_equal(ax_fs_chown(loop, fx_req(&fx), file, uid, gid, NULL),
                   AX_ENOENT);
  assert_int_equal(ax_fs_lchown(loop, fx_req(&fx), file, uid, gid, NULL),
                   AX_ENOENT);
  fixture_close(&fx);
}

/* The mode bits of path, without the type. */
static unsigned int mode_of(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return (unsigned int)(st.st_mode & 07777);
}

static void test_fs_mode_bits(void **state) {
  (void)state;
  struct fixture fx;
  char file[PATH_BYTES];
  char copy[PATH_BYTES];
  char sub[PATH_BYTES];
  char tpl[PATH_BYTES];
  fixture_open(&fx);
  ax_loop_t *loop = &fx.loop;
  path_join(file, fx.dir, "file");
  path_join(copy, fx.dir, "copy");
  path_join(sub, fx.dir, "sub");
  path_join(tpl, fx.dir, "tmp-XXXXXX");
  mode_t old_umask = umask(022);
  assert_int_equal(ax_fs_open(loop, fx_req(&fx), file,
                              AX_FS_O_WRONLY | AX_FS_O_CREAT, 0777, NULL),
                   0);
  assert_int_equal(close((int)fx.req.result), 0);
  assert_int_equal(mode_of(file), 0755); /* the umask applies */
  assert_int_equal(ax_fs_chmod(loop, fx_req(&fx), file, 0751, NULL), 0);
  assert_int_equal(mode_of(file), 0751);
  /* A copy has the source's bits, whatever the umask. */
  assert_int_equal(ax_fs_copyfile(loop, fx_req(&fx), file, copy, 0, NULL), 0);
  assert_int_equal(mode_of(copy), 0751);
  assert_int_equal(ax_fs_mkdir(loop, fx_req(&fx), sub, 0777, NULL), 0);
  assert_int_equal(mode_of(sub), 0755);
  assert_int_equal(ax_fs_mkstemp(loop, fx_req(&fx), tpl, NULL), 0);
  assert_int_equal(close((int)fx.req.result), 0);
  assert_int_equal(mode_of(fx.req.path), 0600);
  int fd = open(file, O_RDONLY);
  assert_true(fd >= 0);
  assert_int_equal(ax_fs_fchmod(loop, fx_req(&fx), fd, 0604, NULL), 0);
  assert_int_equal(close(fd), 0);
  assert_int_equal(mode_of(file), 0604);
  umask(old_umask);
  fixture_close(&fx);
}

/* Root passes every permission check: there is nothing to test then. */
static void test_fs_eacces(void **state) {
  (void)state;
  struct fixture fx;
  char locked[PATH_BYTES];
  char inside[PATH_BYTES];
  char file[PATH_BYTES];
  if (geteuid() == 0)
    skip();
  fixture_open(&fx);
  ax_loop_t *loop = &fx.loop;
  path_join(locked, fx.dir, "locked");
  path_join(inside, locked, "inside");
  path_join(file, fx.dir, "file");
  assert_int_equal(mkdir(locked, 0755), 0);
  make_file(inside, "secret");
  make_file(file, "read only");
  assert_int_equal(chmod(file, 0444), 0);
  assert_int_equal(chmod(locked, 0), 0);
  assert_int_equal(ax_fs_stat(loop, fx_req(&fx), inside, NULL), AX_EACCES);
  assert_int_equal(ax_fs_scandir(loop, fx_req(&fx), locked, 0, NULL),
                   AX_EACCES);
  assert_int_equal(ax_fs_open(loop, fx_req(&fx), file, AX_FS_O_WRONLY, 0, NULL),
                   AX_EACCES);
  assert_int_equal(ax_fs_access(loop, fx_req(&fx), file, AX_FS_W_OK, NULL),
                   AX_EACCES);
  assert_int_equal(ax_fs_access(loop, fx_req(&fx), file, AX_FS_R_OK, NULL), 0);
  assert_int_equal(chmod(locked, 0755), 0);
  fixture_close(&fx);
}

static void test_fs_special_entries(void **state) {
  (void)state;
  struct fixture fx;
  char path[PATH_BYTES];
  ax_dirent_t ents[8];
  ax_dir_t *dir;
  int seen_fifo = 0;
  int seen_link = 0;
  fixture_open(&fx);
  ax_loop_t *loop = &fx.loop;
  path_join(path, fx.dir, "fifo");
  assert_int_equal(mkfifo(path, 0600), 0);
  assert_int_equal(ax_fs_stat(loop, fx_req(&fx), path, NULL), 0);
  assert_int_equal(fx.req.statbuf.mode & AX_S_IFMT, AX_S_IFIFO);
  path_join(path, fx.dir, "link");
  assert_int_equal(symlink("fifo", path), 0);
  assert_int_equal(ax_fs_opendir(loop, fx_req(&fx), fx.dir, NULL), 0);
  dir = fx.req.ptr;
  dir->dirents = ents;
  dir->nentries = 8;
  assert_int_equal(ax_fs_readdir(loop, fx_req(&fx), dir, NULL), 0);
  assert_int_equal(fx.req.result, 2);
  for (int i = 0; i < 2; i++) {
    if (strcmp(ents[i].name, "fifo") == 0)
      seen_fifo = ents[i].type == AX_DIRENT_FIFO ||
                  ents[i].type == AX_DIRENT_UNKNOWN;
    if (strcmp(ents[i].name, "link") == 0)
      seen_link = ents[i].type == AX_DIRENT_LINK ||
                  ents[i].type == AX_DIRENT_UNKNOWN;
  }
  assert_true(seen_fifo && seen_link);
  assert_int_equal(ax_fs_closedir(loop, fx_req(&fx), dir, NULL), 0);
  fixture_close(&fx);
}

static void test_fs_cloexec(void **state) {
  (void)state;
  struct fixture fx;
  char path[PATH_BYTES];
  fixture_open(&fx);
  path_join(path, fx.dir, "ce");
  assert_int_equal(ax_fs_open(&fx.loop, fx_req(&fx), path,
                              AX_FS_O_RDWR | AX_FS_O_CREAT, 0600, NULL),
                   0);
  int fd = (int)fx.req.result;
  assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  assert_int_equal(close(fd), 0);
  path_join(path, fx.dir, "ce-XXXXXX");
  assert_int_equal(ax_fs_mkstemp(&fx.loop, fx_req(&fx), path, NULL), 0);
  fd = (int)fx.req.result;
  assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  assert_int_equal(close(fd), 0);
  fixture_close(&fx);
}

static void test_fs_posix_errors(void **state) {
  (void)state;
  struct fixture fx;
  char file[PATH_BYTES];
  char below[PATH_BYTES];
  fixture_open(&fx);
  ax_loop_t *loop = &fx.loop;
  path_join(file, fx.dir, "file");
  path_join(below, file, "below");
  make_file(file, "f");
  /* POSIX lets unlink(2) of a directory fail with EPERM; Linux says
   * EISDIR. */
  int rc = ax_fs_unlink(loop, fx_req(&fx), fx.dir, NULL);
  assert_true(rc == AX_EISDIR || rc == AX_EPERM);
  assert_int_equal(ax_fs_rmdir(loop, fx_req(&fx), file, NULL), AX_ENOTDIR);
  assert_int_equal(ax_fs_stat(loop, fx_req(&fx), below, NULL), AX_ENOTDIR);
  assert_int_equal(
      ax_fs_open(loop, fx_req(&fx), file, AX_FS_O_DIRECTORY, 0, NULL),
      AX_ENOTDIR);
  /* A copy onto itself changes nothing and succeeds. */
  assert_int_equal(ax_fs_copyfile(loop, fx_req(&fx), file, file, 0, NULL), 0);
  struct stat st;
  assert_int_equal(stat(file, &st), 0);
  assert_int_equal(st.st_size, 1);
  /* The open flags every POSIX system has; O_NOATIME is Linux's and
   * ignored elsewhere. */
  int flags = AX_FS_O_WRONLY | AX_FS_O_APPEND | AX_FS_O_SYNC | AX_FS_O_DSYNC |
              AX_FS_O_NOATIME;
  assert_int_equal(ax_fs_open(loop, fx_req(&fx), file, flags, 0, NULL), 0);
  int fd = (int)fx.req.result;
  ax_buf_t buf = ax_buf_init("+", 1);
  assert_int_equal(ax_fs_write(loop, fx_req(&fx), fd, &buf, 1, -1, NULL), 0);
  assert_int_equal(close(fd), 0);
  assert_int_equal(stat(file, &st), 0);
  assert_int_equal(st.st_size, 2);
  fixture_close(&fx);
}

/* sendfile to a socket: Linux's sendfile(2), a buffer elsewhere. */
static void test_fs_sendfile_socket(void **state) {
  (void)state;
  struct fixture fx;
  char path[PATH_BYTES];
  static char data[5000];
  static char got[5000];
  int sv[2];
  fixture_open(&fx);
  path_join(path, fx.dir, "payload");
  for (size_t i = 0; i < sizeof(data); i++)
    data[i] = (char)('a' + i % 26);
  data[sizeof(data) - 1] = '\0';
  make_file(path, data);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  int in = open(path, O_RDONLY);
  assert_true(in >= 0);
  struct call c;
  memset(&c, 0, sizeof(c));
  assert_int_equal(
      finish(&fx.loop, &c,
             ax_fs_sendfile(&fx.loop, &c.req, sv[0], in, 10, 4000, call_cb)),
      4000);
  size_t total = 0;
  while (total < 4000) {
    ssize_t n = read(sv[1], got + total, 4000 - total);
    assert_true(n > 0);
    total += (size_t)n;
  }
  assert_memory_equal(got, data + 10, 4000);
  assert_int_equal(close(in), 0);
  assert_int_equal(close(sv[0]), 0);
  assert_int_equal(close(sv[1]), 0);
  fixture_close(&fx);
}

enum {
  RESET_PUSH_BYTES = 8 << 20,  /* One request's bytes: past any buffer. */
  RESET_BUF_BYTES = 64 * 1024, /* Both ends' socket buffers. */
  RESET_TAKE_BYTES = 4096,     /* What the peer reads before its reset. */
  RESET_MAX_CALLS = 8,         /* Requests until one must fail EPIPE. */
};

/* A TCP connection on the loopback whose receiving end a thread resets
 * (SO_LINGER 0: an RST, not a FIN) once the first bytes arrived, while
 * the request under test is still pushing. */
struct reset_conn {
  int sender;         /* Written by the request under test. */
  int receiver;       /* Read, then reset, by the thread. */
  ax_thread_t thread; /* Takes the first bytes and resets. */
  int result;         /* 0, or -1 if the thread failed. */
};

static void reset_conn_main(void *arg) {
  struct reset_conn *rc = arg;
  static char buf[RESET_TAKE_BYTES];
  struct linger linger = {1, 0};
  ssize_t n = recv(rc->receiver, buf, sizeof(buf), MSG_WAITALL);
  if (n != (ssize_t)sizeof(buf) ||
      setsockopt(rc->receiver, SOL_SOCKET, SO_LINGER, &linger,
                 sizeof(linger)) != 0)
    rc->result = -1;
  if (close(rc->receiver) != 0)
    rc->result = -1;
}

static void reset_conn_set_buffers(int fd) {
  int bytes = RESET_BUF_BYTES;
  assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)),
                   0);
  assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)),
                   0);
}

static void reset_conn_open(struct reset_conn *rc) {
  struct sockaddr_in addr;
  socklen_t len = sizeof(addr);
  memset(rc, 0, sizeof(*rc));
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(listener >= 0);
  assert_int_equal(bind(listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
  assert_int_equal(listen(listener, 1), 0);
  assert_int_equal(getsockname(listener, (struct sockaddr *)&addr, &len), 0);
  rc->sender = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(rc->sender >= 0);
  reset_conn_set_buffers(rc->sender);
  assert_int_equal(connect(rc->sender, (struct sockaddr *)&addr, sizeof(addr)),
                   0);
  rc->receiver = accept(listener, NULL, NULL);
  assert_true(rc->receiver >= 0);
  reset_conn_set_buffers(rc->receiver);
  assert_int_equal(close(listener), 0);
  assert_int_equal(ax_thread_create(&rc->thread, reset_conn_main, rc), 0);
}

static void reset_conn_close(struct reset_conn *rc) {
  assert_int_equal(ax_thread_join(&rc->thread), 0);
  assert_int_equal(rc->result, 0);
  assert_int_equal(close(rc->sender), 0);
}

/* Whether this thread has SIGPIPE pending, or blocked. */
static bool sigpipe_pending(void) {
  sigset_t set;
  assert_int_equal(sigpending(&set), 0);
  return sigismember(&set, SIGPIPE) == 1;
}

static bool sigpipe_blocked(void) {
  sigset_t set;
  assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &set), 0);
  return sigismember(&set, SIGPIPE) == 1;
}

/* How a test pushes bytes at the socket. */
enum push {
  PUSH_WRITE_SYNC,    /* ax_fs_write on this thread. */
  PUSH_WRITE_POOL,    /* ax_fs_write on a worker. */
  PUSH_SENDFILE_SYNC, /* ax_fs_sendfile on this thread. */
  PUSH_SENDFILE_POOL, /* ax_fs_sendfile on a worker. */
};

/* One request of RESET_PUSH_BYTES: its result. */
static int64_t push_once(struct fixture *fx, enum push how, int sock,
                         int file) {
  static char bytes[RESET_PUSH_BYTES];
  ax_buf_t buf = ax_buf_init(bytes, sizeof(bytes));
  bool sync = how == PUSH_WRITE_SYNC || how == PUSH_SENDFILE_SYNC;
  ax_fs_cb cb = sync ? NULL : call_cb;
  struct call c;
  int rc;
  memset(&c, 0, sizeof(c));
  if (how == PUSH_WRITE_SYNC || how == PUSH_WRITE_POOL)
    rc = ax_fs_write(&fx->loop, &c.req, sock, &buf, 1, -1, cb);
  else
    rc = ax_fs_sendfile(&fx->loop, &c.req, sock, file, 0, RESET_PUSH_BYTES, cb);
  int64_t result = sync ? c.req.result : finish(&fx->loop, &c, rc);
  if (sync)
    assert_int_equal(rc, result < 0 ? result : 0);
  ax_fs_req_cleanup(&c.req);
  return result;
}

/* Push at a connection its peer resets: counts while the bytes go, then
 * ECONNRESET, then EPIPE, which the kernel pairs with SIGPIPE. The test
 * lives on with SIGPIPE's default disposition, and this thread is left
 * as it was: SIGPIPE neither blocked nor pending. */
static void push_until_reset(enum push how) {
  struct fixture fx;
  struct reset_conn rc;
  struct sigaction action;
  char path[PATH_BYTES];
  assert_int_equal(sigaction(SIGPIPE, NULL, &action), 0);
  assert_true(action.sa_handler == SIG_DFL);
  fixture_open(&fx);
  path_join(path, fx.dir, "big");
  int file = open(path, O_RDWR | O_CREAT, 0644);
  assert_true(file >= 0);
  assert_int_equal(ftruncate(file, RESET_PUSH_BYTES), 0); /* Sparse. */
  reset_conn_open(&rc);
  int64_t result = 0;
  for (int calls = 0; calls < RESET_MAX_CALLS && result != AX_EPIPE; calls++) {
    result = push_once(&fx, how, rc.sender, file);
    assert_true(result > 0 || result == AX_ECONNRESET || result == AX_EPIPE);
  }
  assert_int_equal(result, AX_EPIPE);
  assert_false(sigpipe_blocked());
  assert_false(sigpipe_pending());
  reset_conn_close(&rc);
  assert_int_equal(close(file), 0);
  fixture_close(&fx);
}

static void test_fs_write_reset_sync(void **state) {
  (void)state;
  push_until_reset(PUSH_WRITE_SYNC);
}

static void test_fs_write_reset_pool(void **state) {
  (void)state;
  push_until_reset(PUSH_WRITE_POOL);
}

static void test_fs_sendfile_reset_sync(void **state) {
  (void)state;
  push_until_reset(PUSH_SENDFILE_SYNC);
}

static void test_fs_sendfile_reset_pool(void **state) {
  (void)state;
  push_until_reset(PUSH_SENDFILE_POOL);
}

/* A synchronous write to a pipe with no reader, on a thread that blocks
 * SIGPIPE itself: the write's SIGPIPE is taken, one the caller had
 * pending before is kept. */
static void test_fs_sigpipe_pending_kept(void **state) {
  (void)state;
  struct fixture fx;
  sigset_t pipe_only;
  int fds[2];
  char byte = 'x';
  ax_buf_t buf = ax_buf_init(&byte, 1);
  fixture_open(&fx);
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  assert_int_equal(pthread_sigmask(SIG_BLOCK, &pipe_only, NULL), 0);
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(close(fds[0]), 0);
  assert_int_equal(
      ax_fs_write(&fx.loop, fx_req(&fx), fds[1], &buf, 1, -1, NULL), AX_EPIPE);
  assert_false(sigpipe_pending());
  assert_int_equal(raise(SIGPIPE), 0);
  assert_true(sigpipe_pending());
  assert_int_equal(
      ax_fs_write(&fx.loop, fx_req(&fx), fds[1], &buf, 1, -1, NULL), AX_EPIPE);
  assert_true(sigpipe_pending());
  int signum = 0;
  assert_int_equal(sigwait(&pipe_only, &signum), 0);
  assert_int_equal(signum, SIGPIPE);
  assert_false(sigpipe_pending());
  assert_true(sigpipe_blocked());
  assert_int_equal(pthread_sigmask(SIG_UNBLOCK, &pipe_only, NULL), 0);
  assert_int_equal(close(fds[1]), 0);
  fixture_close(&fx);
}

/* A user's job on the pool: what the worker's signal mask blocks, and
 * what a write to a pipe with no reader does there. */
struct mask_job {
  ax_work_t work;   /* The job. */
  int fd;           /* The pipe's write end, its read end closed. */
  sigset_t blocked; /* The worker's mask. */
  int write_errno;  /* errno of the write, 0 if it succeeded. */
  int done;         /* after_work calls. */
};

static void mask_job_work(ax_work_t *work) {
  struct mask_job *job = ax_container_of(work, struct mask_job, work);
  pthread_sigmask(SIG_BLOCK, NULL, &job->blocked);
  job->write_errno = write(job->fd, "x", 1) < 0 ? errno : 0;
}

static void mask_job_done(ax_work_t *work, int status) {
  struct mask_job *job = ax_container_of(work, struct mask_job, work);
  assert_int_equal(status, 0);
  job->done++;
}

/* The pool's workers block asynchronous signals: the user's handlers run
 * on the user's threads, and a job's own write to a reader gone fails
 * with EPIPE instead of ending the program. Faults stay deliverable. */
static void test_fs_pool_worker_signal_mask(void **state) {
  (void)state;
  struct fixture fx;
  struct mask_job job;
  int fds[2];
  fixture_open(&fx);
  memset(&job, 0, sizeof(job));
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(close(fds[0]), 0);
  job.fd = fds[1];
  assert_int_equal(
      ax_queue_work(&fx.loop, &job.work, mask_job_work, mask_job_done), 0);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(job.done, 1);
  assert_int_equal(job.write_errno, EPIPE);
  static const int blocked[] = {SIGPIPE, SIGINT, SIGTERM, SIGUSR1, SIGCHLD};
  for (size_t i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++)
    assert_int_equal(sigismember(&job.blocked, blocked[i]), 1);
  static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
  for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
    assert_int_equal(sigismember(&job.blocked, faults[i]), 0);
  assert_int_equal(close(fds[1]), 0);
  fixture_close(&fx);
}

/* A read of an empty pipe blocks its worker until the pipe is written. */
struct blocked_read {
  struct call c; /* The read. */
  int fds[2];    /* The pipe. */
  char byte;     /* Where the byte lands. */
};

/*
 * One general worker and the file system lane's reserve worker, both
 * blocked in reads of empty pipes: a third request waits in the pool's
 * queue, and ax_cancel() takes it off. It completes once, with
 * AX_ECANCELED; the reads complete once the pipes are written.
 */
static void test_fs_cancel_queued_in_pool(void **state) {
  (void)state;
  struct fixture fx;
  struct blocked_read reads[2];
  struct call stat_call;
  /* On io_uring, reads and stats would not go to the pool at all
   * (test_io_uring.c tests that): keep them there, as here they must. */
  assert_int_equal(setenv("AX_URING_FS", "none", 1), 0);
  fixture_open(&fx);
  assert_int_equal(unsetenv("AX_URING_FS"), 0);
  memset(reads, 0, sizeof(reads));
  memset(&stat_call, 0, sizeof(stat_call));
  assert_int_equal(ax_threadpool_set_size(1), 0);
  for (int i = 0; i < 2; i++) {
    ax_buf_t buf = ax_buf_init(&reads[i].byte, 1);
    assert_int_equal(pipe(reads[i].fds), 0);
    assert_int_equal(ax_fs_read(&fx.loop, &reads[i].c.req, reads[i].fds[0],
                                &buf, 1, -1, call_cb),
                     0);
  }
  assert_int_equal(ax_fs_stat(&fx.loop, &stat_call.req, fx.dir, call_cb), 0);
  /* Hand the three to the pool: the workers take the reads, in order. */
  assert_int_equal(ax_run(&fx.loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(ax_cancel(&stat_call.req.req), 0);
  assert_int_equal(ax_cancel(&stat_call.req.req), AX_EBUSY);
  for (int i = 0; i < 2; i++)
    assert_int_equal(write(reads[i].fds[1], "r", 1), 1);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(stat_call.calls, 1);
  assert_int_equal(stat_call.req.result, AX_ECANCELED);
  ax_fs_req_cleanup(&stat_call.req);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(reads[i].c.calls, 1);
    assert_int_equal(reads[i].c.req.result, 1);
    assert_int_equal(reads[i].byte, 'r');
    ax_fs_req_cleanup(&reads[i].c.req);
    assert_int_equal(close(reads[i].fds[0]), 0);
    assert_int_equal(close(reads[i].fds[1]), 0);
  }
  assert_int_equal(ax_threadpool_set_size(4), 0);
  fixture_close(&fx);
}

/* Allocations since the hook below was set, and the one it refuses. */
static int readdir_allocations;
static int readdir_refuse_at;

static bool readdir_refuse(void) {
  return readdir_allocations++ == readdir_refuse_at;
}

/* One synchronous ax_fs_readdir() with the refuse_at-th allocation (of a
 * name: the call makes no other) refused, or none if refuse_at < 0. */
static int64_t readdir_refusing(struct fixture *fx, ax_dir_t *dir,
                                int refuse_at) {
  readdir_allocations = 0;
  readdir_refuse_at = refuse_at;
  __atomic_store_n(&ax__alloc_refuse, refuse_at >= 0 ? readdir_refuse : NULL,
                   __ATOMIC_RELEASE);
  int64_t n = ax_fs_readdir(&fx->loop, fx_req(fx), dir, NULL);
  __atomic_store_n(&ax__alloc_refuse, NULL, __ATOMIC_RELEASE);
  if (n == 0)
    n = fx->req.result;
  return n;
}

/* A name that cannot be copied loses no entry: the call that meets it
 * returns what it read before (or AX_ENOMEM, if nothing), and the entry
 * comes with the next call. It used to be skipped: read from the stream,
 * then dropped. */
static void test_fs_readdir_enomem_loses_nothing(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  static const char *const names[] = {"a", "b", "c", "d", "e"};
  enum { NAMES = sizeof(names) / sizeof(names[0]) };
  char path[PATH_BYTES];
  for (int i = 0; i < NAMES; i++) {
    path_join(path, fx.dir, names[i]);
    make_file(path, "x");
  }
  assert_int_equal(ax_fs_opendir(&fx.loop, fx_req(&fx), fx.dir, NULL), 0);
  ax_dir_t *dir = fx.req.ptr;
  ax_dirent_t entries[2];
  dir->dirents = entries;
  dir->nentries = 2;
  bool seen[NAMES] = {false};
  int total = 0;
  /* The first name refused: nothing read. */
  assert_int_equal(readdir_refusing(&fx, dir, 0), AX_ENOMEM);
  /* Then the second: one entry. Then none refused, to the end. */
  for (int refuse_at = 1;; refuse_at = -1) {
    int64_t n = readdir_refusing(&fx, dir, refuse_at);
    if (refuse_at == 1)
      assert_int_equal(n, 1);
    assert_true(n >= 0);
    if (n == 0)
      break;
    for (int64_t k = 0; k < n; k++) {
      for (int i = 0; i < NAMES; i++) {
        if (strcmp(entries[k].name, names[i]) == 0) {
          assert_false(seen[i]);
          seen[i] = true;
          total++;
        }
      }
    }
  }
  assert_int_equal(total, NAMES);
  ax_fs_req_cleanup(&fx.req);
  assert_int_equal(ax_fs_closedir(&fx.loop, fx_req(&fx), dir, NULL), 0);
  fixture_close(&fx);
}

/* The pool makes its locks once per process and keeps them: have it make
 * them before any test counts what axle allocates. */
static int pool_locks_setup(void **state) {
  (void)state;
  return ax_threadpool_get_size() > 0 ? 0 : -1;
}

/* ---- What a libuv program relies on ---- */

/* The result of one request, run synchronously (async 0) or on the pool:
 * the same error either way, as libuv's fs tests expect. */
static int64_t libuv_run(struct fixture *fx, struct call *c, int async,
                         int rc) {
  if (!async) {
    assert_int_equal(rc, fx->req.result < 0 ? (int)fx->req.result : 0);
    return fx->req.result;
  }
  return finish(&fx->loop, c, rc);
}

/* The request a mode uses: the fixture's, or the call's, cleaned up. */
static ax_fs_t *libuv_req(struct fixture *fx, struct call *c, int async) {
  if (!async)
    return fx_req(fx);
  ax_fs_req_cleanup(&c->req);
  return &c->req;
}

/* The errors libuv's fs tests check, each from the system's own code:
 * reading a directory, writing a read-only descriptor, a name too long, a
 * loop of links, a file where a directory is wanted, a descriptor closed
 * behind the request's back. */
static void test_fs_libuv_error_codes(void **state) {
  (void)state;
  struct fixture fx;
  struct call c;
  fixture_open(&fx);
  memset(&c, 0, sizeof(c));
  ax_loop_t *loop = &fx.loop;
  char file[PATH_BYTES], a[PATH_BYTES], b[PATH_BYTES], sub[PATH_BYTES];
  char name[300];
  path_join(file, fx.dir, "file");
  make_file(file, "data");
  path_join(a, fx.dir, "a");
  path_join(b, fx.dir, "b");
  /* Targets relative to the links' own directory. */
  assert_int_equal(symlink("b", a), 0);
  assert_int_equal(symlink("a", b), 0);
  path_join(sub, file, "sub");
  memset(name, 'n', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  char buf[8];
  ax_buf_t iov = ax_buf_init(buf, sizeof(buf));
  for (int async = 0; async < 2; async++) {
    ax_fs_cb cb = async ? call_cb : NULL;
    int dir_fd = open(fx.dir, O_RDONLY);
    assert_true(dir_fd >= 0);
    assert_int_equal(libuv_run(&fx, &c, async,
                               ax_fs_read(loop, libuv_req(&fx, &c, async),
                                          dir_fd, &iov, 1, -1, cb)),
                     AX_EISDIR);
    assert_int_equal(close(dir_fd), 0);
    int ro_fd = open(file, O_RDONLY);
    assert_true(ro_fd >= 0);
    assert_int_equal(libuv_run(&fx, &c, async,
                               ax_fs_write(loop, libuv_req(&fx, &c, async),
                                           ro_fd, &iov, 1, -1, cb)),
                     AX_EBADF);
    assert_int_equal(close(ro_fd), 0);
    /* Closed: still a number, no longer a file. */
    assert_int_equal(libuv_run(&fx, &c, async,
                               ax_fs_read(loop, libuv_req(&fx, &c, async),
                                          ro_fd, &iov, 1, 0, cb)),
                     AX_EBADF);
    assert_int_equal(
        libuv_run(&fx, &c, async,
                  ax_fs_stat(loop, libuv_req(&fx, &c, async), name, cb)),
        AX_ENAMETOOLONG);
    assert_int_equal(libuv_run(&fx, &c, async,
                               ax_fs_open(loop, libuv_req(&fx, &c, async), a,
                                          AX_FS_O_RDONLY, 0, cb)),
                     AX_ELOOP);
    assert_int_equal(
        libuv_run(&fx, &c, async,
                  ax_fs_scandir(loop, libuv_req(&fx, &c, async), file, 0, cb)),
        AX_ENOTDIR);
    assert_int_equal(
        libuv_run(&fx, &c, async,
                  ax_fs_rmdir(loop, libuv_req(&fx, &c, async), file, cb)),
        AX_ENOTDIR);
    assert_int_equal(
        libuv_run(&fx, &c, async,
                  ax_fs_stat(loop, libuv_req(&fx, &c, async), sub, cb)),
        AX_ENOTDIR);
    assert_int_equal(libuv_run(&fx, &c, async,
                               ax_fs_mkdir(loop, libuv_req(&fx, &c, async),
                                           fx.dir, 0755, cb)),
                     AX_EEXIST);
  }
  ax_fs_req_cleanup(&c.req);
  fixture_close(&fx);
}

/* Positions, as libuv's fs_file_pos_after_op_with_offset and
 * fs_read_file_eof have them: a read at an offset leaves the descriptor's
 * position alone, a read at -1 moves it, a read at the end reads 0. */
static void test_fs_libuv_positions(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  ax_loop_t *loop = &fx.loop;
  char file[PATH_BYTES];
  path_join(file, fx.dir, "file");
  make_file(file, "0123456789");
  int fd = open(file, O_RDONLY);
  assert_true(fd >= 0);
  char buf[4];
  ax_buf_t iov = ax_buf_init(buf, sizeof(buf));
  assert_int_equal(ax_fs_read(loop, fx_req(&fx), fd, &iov, 1, 6, NULL), 0);
  assert_int_equal(fx.req.result, 4);
  assert_memory_equal(buf, "6789", 4);
  assert_int_equal(lseek(fd, 0, SEEK_CUR), 0);
  assert_int_equal(ax_fs_read(loop, fx_req(&fx), fd, &iov, 1, -1, NULL), 0);
  assert_memory_equal(buf, "0123", 4);
  assert_int_equal(lseek(fd, 0, SEEK_CUR), 4);
  assert_int_equal(ax_fs_read(loop, fx_req(&fx), fd, &iov, 1, 10, NULL), 0);
  assert_int_equal(fx.req.result, 0);
  assert_int_equal(ax_fs_read(loop, fx_req(&fx), fd, &iov, 1, 100, NULL), 0);
  assert_int_equal(fx.req.result, 0);
  assert_int_equal(close(fd), 0);
  fixture_close(&fx);
}

/* What stat says, field by field, as the system's own stat(2) says it:
 * a file, a directory, a FIFO, a character device and a link (lstat),
 * synchronously and on the loop (where io_uring answers with statx). */
static void assert_stat_is_system(const ax_stat_t *ax, const struct stat *st) {
  assert_int_equal(ax->dev, (uint64_t)st->st_dev);
  assert_int_equal(ax->ino, (uint64_t)st->st_ino);
  assert_int_equal(ax->mode, (uint64_t)st->st_mode);
  assert_int_equal(ax->nlink, (uint64_t)st->st_nlink);
  assert_int_equal(ax->uid, (uint64_t)st->st_uid);
  assert_int_equal(ax->gid, (uint64_t)st->st_gid);
  assert_int_equal(ax->rdev, (uint64_t)st->st_rdev);
  assert_int_equal(ax->size, (uint64_t)st->st_size);
  assert_int_equal(ax->blksize, (uint64_t)st->st_blksize);
  assert_int_equal(ax->blocks, (uint64_t)st->st_blocks);
  assert_int_equal(ax->mtim.sec, (int64_t)st->st_mtime);
  assert_int_equal(ax->ctim.sec, (int64_t)st->st_ctime);
}

static void test_fs_stat_matches_system(void **state) {
  (void)state;
  struct fixture fx;
  struct call c;
  char file[PATH_BYTES], fifo[PATH_BYTES], link[PATH_BYTES];
  fixture_open(&fx);
  memset(&c, 0, sizeof(c));
  ax_loop_t *loop = &fx.loop;
  path_join(file, fx.dir, "file");
  path_join(fifo, fx.dir, "fifo");
  path_join(link, fx.dir, "link");
  make_file(file, "twelve bytes");
  assert_int_equal(mkfifo(fifo, 0600), 0);
  assert_int_equal(symlink("file", link), 0);
  const char *const paths[] = {file, fx.dir, fifo, "/dev/null", link};
  for (int async = 0; async < 2; async++) {
    ax_fs_cb cb = async ? call_cb : NULL;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
      struct stat st;
      bool is_link = paths[i] == link;
      ax_fs_t *req = libuv_req(&fx, &c, async);
      int rc = is_link ? ax_fs_lstat(loop, req, paths[i], cb)
                       : ax_fs_stat(loop, req, paths[i], cb);
      assert_int_equal(libuv_run(&fx, &c, async, rc), 0);
      assert_int_equal(is_link ? lstat(paths[i], &st) : stat(paths[i], &st), 0);
      assert_stat_is_system(&req->statbuf, &st);
    }
    int fd = open("/dev/null", O_RDONLY);
    assert_true(fd >= 0);
    ax_fs_t *req = libuv_req(&fx, &c, async);
    assert_int_equal(libuv_run(&fx, &c, async, ax_fs_fstat(loop, req, fd, cb)),
                     0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_stat_is_system(&req->statbuf, &st);
    assert_int_equal(req->statbuf.mode & AX_S_IFMT, AX_S_IFCHR);
    assert_true(req->statbuf.rdev != 0);
    assert_int_equal(close(fd), 0);
  }
  ax_fs_req_cleanup(&c.req);
  fixture_close(&fx);
}

/* rename(2)'s rules, as libuv passes them on: a directory over an empty
 * one replaces it, over one with entries it is refused; a file over a
 * directory, a directory over a file, a directory into itself are
 * refused; a name renamed to itself is left alone. */
static void test_fs_rename_dirs(void **state) {
  (void)state;
  struct fixture fx;
  struct call c;
  char a[PATH_BYTES], b[PATH_BYTES], inner[PATH_BYTES], file[PATH_BYTES];
  fixture_open(&fx);
  memset(&c, 0, sizeof(c));
  ax_loop_t *loop = &fx.loop;
  path_join(a, fx.dir, "a");
  path_join(b, fx.dir, "b");
  path_join(inner, b, "inner");
  path_join(file, fx.dir, "file");
  for (int async = 0; async < 2; async++) {
    ax_fs_cb cb = async ? call_cb : NULL;
    assert_int_equal(mkdir(a, 0755), 0);
    assert_int_equal(mkdir(b, 0755), 0);
    make_file(file, "f");
    assert_int_equal(
        libuv_run(&fx, &c, async,
                  ax_fs_rename(loop, libuv_req(&fx, &c, async), a, b, cb)),
        0);
    assert_int_equal(access(a, F_OK), -1);
    assert_int_equal(mkdir(a, 0755), 0);
    assert_int_equal(mkdir(inner, 0755), 0);
    int rc = (int)libuv_run(
        &fx, &c, async,
        ax_fs_rename(loop, libuv_req(&fx, &c, async), a, b, cb));
    assert_true(rc == AX_ENOTEMPTY || rc == AX_EEXIST);
    assert_int_equal(
        libuv_run(&fx, &c, async,
                  ax_fs_rename(loop, libuv_req(&fx, &c, async), file, a, cb)),
        AX_EISDIR);
    assert_int_equal(
        libuv_run(&fx, &c, async,
                  ax_fs_rename(loop, libuv_req(&fx, &c, async), a, file, cb)),
        AX_ENOTDIR);
    assert_int_equal(
        libuv_run(&fx, &c, async,
                  ax_fs_rename(loop, libuv_req(&fx, &c, async), b, inner, cb)),
        AX_EINVAL);
    assert_int_equal(libuv_run(&fx, &c, async,
                               ax_fs_rename(loop, libuv_req(&fx, &c, async),
                                            file, file, cb)),
                     0);
    assert_int_equal(access(file, F_OK), 0);
    assert_int_equal(rmdir(inner), 0);
    assert_int_equal(rmdir(a), 0);
    assert_int_equal(rmdir(b), 0);
    assert_int_equal(unlink(file), 0);
  }
  ax_fs_req_cleanup(&c.req);
  fixture_close(&fx);
}

/* copyfile where libuv's test-fs-copyfile.c looks: to a directory, from
 * a directory, into a directory that does not exist, and over a
 * read-only file (EACCES, unless root, and the file is left as it was). */
static void test_fs_copyfile_refused(void **state) {
  (void)state;
  struct fixture fx;
  struct call c;
  char src[PATH_BYTES], dst[PATH_BYTES], sub[PATH_BYTES], nowhere[PATH_BYTES];
  fixture_open(&fx);
  memset(&c, 0, sizeof(c));
  ax_loop_t *loop = &fx.loop;
  path_join(src, fx.dir, "src");
  path_join(dst, fx.dir, "dst");
  path_join(sub, fx.dir, "sub");
  path_join(nowhere, fx.dir, "no/dst");
  make_file(src, "source");
  make_file(dst, "kept");
  assert_int_equal(chmod(dst, 0444), 0);
  assert_int_equal(mkdir(sub, 0755), 0);
  for (int async = 0; async < 2; async++) {
    ax_fs_cb cb = async ? call_cb : NULL;
    assert_int_equal(libuv_run(&fx, &c, async,
                               ax_fs_copyfile(loop, libuv_req(&fx, &c, async),
                                              src, sub, 0, cb)),
                     AX_EISDIR);
    assert_int_equal(libuv_run(&fx, &c, async,
                               ax_fs_copyfile(loop, libuv_req(&fx, &c, async),
                                              sub, dst, 0, cb)),
                     AX_EISDIR);
    assert_int_equal(libuv_run(&fx, &c, async,
                               ax_fs_copyfile(loop, libuv_req(&fx, &c, async),
                                              src, nowhere, 0, cb)),
                     AX_ENOENT);
    if (geteuid() != 0) {
      assert_int_equal(libuv_run(&fx, &c, async,
                                 ax_fs_copyfile(loop, libuv_req(&fx, &c, async),
                                                src, dst, 0, cb)),
                       AX_EACCES);
      struct stat st;
      assert_int_equal(stat(dst, &st), 0);
      assert_int_equal(st.st_size, 4);
    }
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
  }
  ax_fs_req_cleanup(&c.req);
  fixture_close(&fx);
}

/* A read from a descriptor opened for writing only: AX_EBADF, as the
 * write to a read-only one is (test_fs_libuv_error_codes). */
static void test_fs_read_write_only(void **state) {
  (void)state;
  struct fixture fx;
  struct call c;
  char file[PATH_BYTES];
  char buf[4];
  fixture_open(&fx);
  memset(&c, 0, sizeof(c));
  path_join(file, fx.dir, "file");
  make_file(file, "data");
  int fd = open(file, O_WRONLY);
  assert_true(fd >= 0);
  ax_buf_t iov = ax_buf_init(buf, sizeof(buf));
  for (int async = 0; async < 2; async++) {
    ax_fs_cb cb = async ? call_cb : NULL;
    for (int64_t offset = -1; offset <= 0; offset++)
      assert_int_equal(libuv_run(&fx, &c, async,
                                 ax_fs_read(&fx.loop, libuv_req(&fx, &c, async),
                                            fd, &iov, 1, offset, cb)),
                       AX_EBADF);
  }
  assert_int_equal(close(fd), 0);
  ax_fs_req_cleanup(&c.req);
  fixture_close(&fx);
}

/* access(X_OK) needs an execute bit, for root too. */
static void test_fs_access_exec(void **state) {
  (void)state;
  struct fixture fx;
  struct call c;
  char file[PATH_BYTES];
  fixture_open(&fx);
  memset(&c, 0, sizeof(c));
  path_join(file, fx.dir, "file");
  make_file(file, "#!/bin/sh\n");
  for (int async = 0; async < 2; async++) {
    ax_fs_cb cb = async ? call_cb : NULL;
    assert_int_equal(chmod(file, 0644), 0);
    assert_int_equal(libuv_run(&fx, &c, async,
                               ax_fs_access(&fx.loop, libuv_req(&fx, &c, async),
                                            file, AX_FS_X_OK, cb)),
                     AX_EACCES);
    assert_int_equal(chmod(file, 0755), 0);
    assert_int_equal(libuv_run(&fx, &c, async,
                               ax_fs_access(&fx.loop, libuv_req(&fx, &c, async),
                                            file, AX_FS_R_OK | AX_FS_X_OK, cb)),
                     0);
  }
  ax_fs_req_cleanup(&c.req);
  fixture_close(&fx);
}

/* Links in the ways libuv's fs_symlink, fs_readlink and fs_realpath use
 * them: a link to a directory is listed through and stat'ed as one,
 * lstat'ed as a link, rmdir refuses it and unlink removes only it;
 * readlink of a directory is AX_EINVAL; realpath of a dangling link is
 * AX_ENOENT, of a loop AX_ELOOP; O_CREAT | O_EXCL refuses a dangling
 * link; a hard link to a directory is refused. */
static void test_fs_links_libuv(void **state) {
  (void)state;
  struct fixture fx;
  struct call c;
  char sub[PATH_BYTES], to_sub[PATH_BYTES], dangling[PATH_BYTES];
  char a[PATH_BYTES], b[PATH_BYTES], hard[PATH_BYTES], inside[PATH_BYTES];
  fixture_open(&fx);
  memset(&c, 0, sizeof(c));
  ax_loop_t *loop = &fx.loop;
  path_join(sub, fx.dir, "sub");
  path_join(to_sub, fx.dir, "to-sub");
  path_join(dangling, fx.dir, "dangling");
  path_join(a, fx.dir, "a");
  path_join(b, fx.dir, "b");
  path_join(hard, fx.dir, "hard");
  path_join(inside, sub, "inside");
  assert_int_equal(mkdir(sub, 0755), 0);
  make_file(inside, "i");
  assert_int_equal(symlink("b", a), 0);
  assert_int_equal(symlink("a", b), 0);
  assert_int_equal(symlink("nothing", dangling), 0);
  for (int async = 0; async < 2; async++) {
    ax_fs_cb cb = async ? call_cb : NULL;
    assert_int_equal(libuv_run(&fx, &c, async,
                               ax_fs_symlink(loop, libuv_req(&fx, &c, async),
                                             "sub", to_sub, 0, cb)),
                     0);
    assert_int_equal(libuv_run(&fx, &c, async,
                               ax_fs_scandir(loop, libuv_req(&fx, &c, async),
                                             to_sub, 0, cb)),
                     1);
    ax_fs_t *req = libuv_req(&fx, &c, async);
    assert_int_equal(
        libuv_run(&fx, &c, async, ax_fs_stat(loop, req, to_sub, cb)), 0);
    assert_int_equal(req->statbuf.mode & AX_S_IFMT, AX_S_IFDIR);
    req = libuv_req(&fx, &c, async);
    assert_int_equal(
        libuv_run(&fx, &c, async, ax_fs_lstat(loop, req, to_sub, cb)), 0);
    assert_int_equal(req->statbuf.mode & AX_S_IFMT, AX_S_IFLNK);
    assert_int_equal(
        libuv_run(&fx, &c, async,
                  ax_fs_rmdir(loop, libuv_req(&fx, &c, async), to_sub, cb)),
        AX_ENOTDIR);
    assert_int_equal(
        libuv_run(&fx, &c, async,
                  ax_fs_readlink(loop, libuv_req(&fx, &c, async), sub, cb)),
        AX_EINVAL);
    assert_int_equal(libuv_run(&fx, &c, async,
                               ax_fs_realpath(loop, libuv_req(&fx, &c, async),
                                              dangling, cb)),
                     AX_ENOENT);
    assert_int_equal(
        libuv_run(&fx, &c, async,
                  ax_fs_realpath(loop, libuv_req(&fx, &c, async), a, cb)),
        AX_ELOOP);
    assert_int_equal(
        libuv_run(&fx, &c, async,
                  ax_fs_open(loop, libuv_req(&fx, &c, async), dangling,
                             AX_FS_O_WRONLY | AX_FS_O_CREAT | AX_FS_O_EXCL,
                             0644, cb)),
        AX_EEXIST);
    int rc = (int)libuv_run(
        &fx, &c, async,
        ax_fs_link(loop, libuv_req(&fx, &c, async), sub, hard, cb));
    assert_true(rc == AX_EPERM || rc == AX_EACCES);
    assert_int_equal(
        libuv_run(&fx, &c, async,
                  ax_fs_unlink(loop, libuv_req(&fx, &c, async), to_sub, cb)),
        0);
    assert_int_equal(access(inside, F_OK), 0);
  }
  assert_int_equal(lstat(dangling, &(struct stat){0}), 0);
  ax_fs_req_cleanup(&c.req);
  fixture_close(&fx);
}

/* sendfile to a file opened for appending: the kernel's splice refuses
 * such an output (io_uring then hands the request to the pool, which
 * copies another way); the bytes land at the end either way. */
static void test_fs_sendfile_append(void **state) {
  (void)state;
  struct fixture fx;
  struct call c;
  char src[PATH_BYTES], dst[PATH_BYTES];
  char got[32];
  fixture_open(&fx);
  memset(&c, 0, sizeof(c));
  path_join(src, fx.dir, "src");
  path_join(dst, fx.dir, "dst");
  make_file(src, "0123456789");
  make_file(dst, "head:");
  int in = open(src, O_RDONLY);
  int out = open(dst, O_WRONLY | O_APPEND);
  assert_true(in >= 0 && out >= 0);
  for (int async = 0; async < 2; async++) {
    ax_fs_cb cb = async ? call_cb : NULL;
    assert_int_equal(
        libuv_run(&fx, &c, async,
                  ax_fs_sendfile(&fx.loop, libuv_req(&fx, &c, async), out, in,
                                 async ? 5 : 0, 5, cb)),
        5);
  }
  assert_int_equal(close(in), 0);
  assert_int_equal(close(out), 0);
  int fd = open(dst, O_RDONLY);
  assert_true(fd >= 0);
  assert_int_equal(read(fd, got, sizeof(got)), 15);
  assert_memory_equal(got, "head:0123456789", 15);
  assert_int_equal(close(fd), 0);
  ax_fs_req_cleanup(&c.req);
  fixture_close(&fx);
}

/* A read at an offset of a pipe or a socket, on the loop: AX_ESPIPE
 * (preadv(2)) where the pool reads. The io_uring backend's own read takes
 * the offset of a stream as the kernel does, as no offset at all, and
 * reads it: a deliberate difference (docs/fs.md says why), pinned here.
 * Nothing is taken from the stream otherwise. */
static int64_t offset_read_on_loop(struct fixture *fx, struct call *c, int fd,
                                   int64_t offset, char got[8]) {
  ax_buf_t in = ax_buf_init(got, 8);
  int64_t n = libuv_run(
      fx, c, 1,
      ax_fs_read(&fx->loop, libuv_req(fx, c, 1), fd, &in, 1, offset, call_cb));
  bool ring = strcmp(ax_backend_name(&fx->loop), "io_uring") == 0;
  if (!ring || n == AX_ESPIPE) {
    assert_int_equal(n, AX_ESPIPE);
    return 0;
  }
  assert_int_equal(n, 2);
  assert_memory_equal(got, "hi", 2);
  return n;
}

/* A read or a write at an offset of a pipe or a socket: AX_ESPIPE, as
 * preadv(2) and pwritev(2) say, synchronously and on the pool (reads on
 * io_uring aside: offset_read_on_loop). */
static void test_fs_offset_on_stream(void **state) {
  (void)state;
  struct fixture fx;
  struct call c;
  int fds[2][2];
  char got[8];
  fixture_open(&fx);
  memset(&c, 0, sizeof(c));
  assert_int_equal(pipe(fds[0]), 0);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds[1]), 0);
  ax_buf_t in = ax_buf_init(got, sizeof(got));
  ax_buf_t out = ax_buf_init("hi", 2);
  for (int kind = 0; kind < 2; kind++) {
    int rd = fds[kind][0];
    int wr = fds[kind][1];
    assert_int_equal(write(wr, "hi", 2), 2);
    for (int async = 0; async < 2; async++) {
      ax_fs_cb cb = async ? call_cb : NULL;
      for (int64_t offset = 0; offset <= 1; offset++) {
        assert_int_equal(
            libuv_run(&fx, &c, async,
                      ax_fs_write(&fx.loop, libuv_req(&fx, &c, async), wr, &out,
                                  1, offset, cb)),
            AX_ESPIPE);
      }
    }
    assert_int_equal(ax_fs_read(&fx.loop, fx_req(&fx), rd, &in, 1, 0, NULL),
                     AX_ESPIPE);
    int64_t taken = offset_read_on_loop(&fx, &c, rd, 0, got);
    /* At the current position: the two bytes, unless the ring took them. */
    if (taken == 0) {
      assert_int_equal(ax_fs_read(&fx.loop, fx_req(&fx), rd, &in, 1, -1, NULL),
                       0);
      assert_int_equal(fx.req.result, 2);
    }
    assert_int_equal(close(rd), 0);
    assert_int_equal(close(wr), 0);
  }
  ax_fs_req_cleanup(&c.req);
  fixture_close(&fx);
}

/* Errors that the pool and the io_uring backend must both give as the
 * system does: ftruncate of a read-only descriptor, fsync of a pipe,
 * unlink of a directory, close of a descriptor closed already; and the
 * umask applied to what mkdir and open create on the loop. */
static void test_fs_backends_agree(void **state) {
  (void)state;
  struct fixture fx;
  struct call c;
  char file[PATH_BYTES], sub[PATH_BYTES], made[PATH_BYTES];
  int fds[2];
  fixture_open(&fx);
  memset(&c, 0, sizeof(c));
  ax_loop_t *loop = &fx.loop;
  path_join(file, fx.dir, "file");
  make_file(file, "data");
  assert_int_equal(pipe(fds), 0);
  int ro = open(file, O_RDONLY);
  assert_true(ro >= 0);
  mode_t old_umask = umask(027);
  int64_t expect[2][4];
  for (int async = 0; async < 2; async++) {
    ax_fs_cb cb = async ? call_cb : NULL;
    int64_t *e = expect[async];
    e[0] = libuv_run(
        &fx, &c, async,
        ax_fs_ftruncate(loop, libuv_req(&fx, &c, async), ro, 0, cb));
    e[1] = libuv_run(&fx, &c, async,
                     ax_fs_fsync(loop, libuv_req(&fx, &c, async), fds[0], cb));
    e[2] = libuv_run(&fx, &c, async,
                     ax_fs_unlink(loop, libuv_req(&fx, &c, async), fx.dir, cb));
    int spare = dup(ro);
    assert_true(spare >= 0);
    assert_int_equal(close(spare), 0);
    e[3] = libuv_run(&fx, &c, async,
                     ax_fs_close(loop, libuv_req(&fx, &c, async), spare, cb));
    path_join(sub, fx.dir, async ? "sub-a" : "sub-s");
    assert_int_equal(
        libuv_run(&fx, &c, async,
                  ax_fs_mkdir(loop, libuv_req(&fx, &c, async), sub, 0777, cb)),
        0);
    assert_int_equal(mode_of(sub), 0750);
    path_join(made, fx.dir, async ? "made-a" : "made-s");
    int64_t fd = libuv_run(&fx, &c, async,
                           ax_fs_open(loop, libuv_req(&fx, &c, async), made,
                                      AX_FS_O_WRONLY | AX_FS_O_CREAT, 0666,
                                      cb));
    assert_true(fd >= 0);
    assert_int_equal(close((int)fd), 0);
    assert_int_equal(mode_of(made), 0640);
  }
  umask(old_umask);
  assert_true(expect[0][0] == AX_EINVAL || expect[0][0] == AX_EBADF);
  assert_int_equal(expect[0][1], AX_EINVAL);
  assert_true(expect[0][2] == AX_EISDIR || expect[0][2] == AX_EPERM);
  assert_int_equal(expect[0][3], AX_EBADF);
  for (int i = 0; i < 4; i++)
    assert_int_equal(expect[1][i], expect[0][i]);
  assert_int_equal(close(ro), 0);
  assert_int_equal(close(fds[0]), 0);
  assert_int_equal(close(fds[1]), 0);
  ax_fs_req_cleanup(&c.req);
  fixture_close(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fs_symlink_readlink),
      cmocka_unit_test(test_fs_readlink_long),
      cmocka_unit_test(test_fs_links_followed_or_not),
      cmocka_unit_test(test_fs_chown),
      cmocka_unit_test(test_fs_mode_bits),
      cmocka_unit_test(test_fs_eacces),
      cmocka_unit_test(test_fs_special_entries),
      cmocka_unit_test(test_fs_cloexec),
      cmocka_unit_test(test_fs_posix_errors),
      cmocka_unit_test(test_fs_sendfile_socket),
      cmocka_unit_test(test_fs_write_reset_sync),
      cmocka_unit_test(test_fs_write_reset_pool),
      cmocka_unit_test(test_fs_sendfile_reset_sync),
      cmocka_unit_test(test_fs_sendfile_reset_pool),
      cmocka_unit_test(test_fs_sigpipe_pending_kept),
      cmocka_unit_test(test_fs_pool_worker_signal_mask),
      cmocka_unit_test(test_fs_cancel_queued_in_pool),
      cmocka_unit_test(test_fs_readdir_enomem_loses_nothing),
      cmocka_unit_test(test_fs_libuv_error_codes),
      cmocka_unit_test(test_fs_libuv_positions),
      cmocka_unit_test(test_fs_stat_matches_system),
      cmocka_unit_test(test_fs_rename_dirs),
      cmocka_unit_test(test_fs_copyfile_refused),
      cmocka_unit_test(test_fs_read_write_only),
      cmocka_unit_test(test_fs_access_exec),
      cmocka_unit_test(test_fs_links_libuv),
      cmocka_unit_test(test_fs_sendfile_append),
      cmocka_unit_test(test_fs_offset_on_stream),
      cmocka_unit_test(test_fs_backends_agree),
  };
  return cmocka_run_group_tests(tests, pool_locks_setup, NULL);
}
