/*
 * test_os.c: the operating-system utilities, each checked against what
 * the system says by other means where a test can ask it (the process id,
 * a directory it changed to, a variable it set), and for sanity where it
 * cannot (memory, processors, load); then the errors: buffers too small
 * give AX_ENOBUFS and the size needed, NULL arguments AX_EINVAL, and a
 * failed allocation at any point AX_ENOMEM with nothing left allocated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#include <io.h>
#include <iphlpapi.h>
#include <process.h>
#define test_os_getpid() _getpid()
#define test_os_closesocket(s) closesocket(s)
#else
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>
#define test_os_getpid() getpid()
#define test_os_closesocket(s) close(s)
#endif /* _WIN32 */

#include "test.h"

enum { OS_BUF = 4096 };

static void test_os_pids(void **state) {
  (void)state;
  assert_int_equal(ax_os_getpid(), test_os_getpid());
  assert_true(ax_os_getppid() >= 0);
  assert_true(ax_os_getppid() != ax_os_getpid());
}

/* A string function's whole convention: the answer with its length, then
 * a buffer one byte short gives AX_ENOBUFS with the size needed and is
 * left alone, then the exact size works, and NULL arguments are refused. */
static void os_check_string_fn(int (*fn)(char *buf, size_t *size), char *out) {
  size_t size = OS_BUF;
  assert_int_equal(fn(out, &size), 0);
  size_t len = strlen(out);
  assert_int_equal(size, len);
  assert_true(len > 0);
  char small[OS_BUF];
  memset(small, 'x', sizeof(small));
  size = len;
  assert_int_equal(fn(small, &size), AX_ENOBUFS);
  assert_int_equal(size, len + 1);
  assert_int_equal(small[0], 'x');
  assert_int_equal(fn(small, &size), 0);
  assert_int_equal(size, len);
  assert_string_equal(small, out);
  size = 0;
  assert_int_equal(fn(small, &size), AX_EINVAL);
  size = OS_BUF;
  assert_int_equal(fn(NULL, &size), AX_EINVAL);
  assert_int_equal(fn(small, NULL), AX_EINVAL);
}

static void test_os_strings(void **state) {
  (void)state;
  char out[OS_BUF];
  os_check_string_fn(ax_cwd, out);
  os_check_string_fn(ax_exepath, out);
  assert_non_null(strstr(out, "test-os"));
  os_check_string_fn(ax_os_homedir, out);
  os_check_string_fn(ax_os_tmpdir, out);
  os_check_string_fn(ax_os_gethostname, out);
}

/* cwd round-trips through chdir to a temporary directory and back. */
static void test_os_chdir(void **state) {
  (void)state;
  char old[OS_BUF];
  char tmp[OS_BUF];
  char now[OS_BUF];
  size_t size = sizeof(old);
  assert_int_equal(ax_cwd(old, &size), 0);
  /* The directory is made and removed by synchronous fs requests. */
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_fs_t req;
  size = sizeof(tmp);
  assert_int_equal(ax_os_tmpdir(tmp, &size), 0);
  char tpl[OS_BUF + 32];
  (void)snprintf(tpl, sizeof(tpl), "%s/axle-os-XXXXXX", tmp);
  assert_int_equal(ax_fs_mkdtemp(&loop, &req, tpl, NULL), 0);
  char made[OS_BUF + 32];
  (void)snprintf(made, sizeof(made), "%s", req.path);
  ax_fs_req_cleanup(&req);
  assert_int_equal(ax_chdir(made), 0);
  size = sizeof(now);
  assert_int_equal(ax_cwd(now, &size), 0);
  /* The temporary directory may be reached through a link (macOS's
   * /var is /private/var): compare the last component. */
  const char *leaf = strrchr(made, '/');
  assert_non_null(leaf);
  assert_non_null(strstr(now, leaf + 1));
  assert_int_equal(ax_chdir(old), 0);
  size = sizeof(now);
  assert_int_equal(ax_cwd(now, &size), 0);
  assert_string_equal(now, old);
  assert_int_equal(ax_fs_rmdir(&loop, &req, made, NULL), 0);
  ax_fs_req_cleanup(&req);
  test_loop_close(&loop);
  assert_int_equal(ax_chdir(made), AX_ENOENT);
  assert_int_equal(ax_chdir(NULL), AX_EINVAL);
}

static void test_os_uname(void **state) {
  (void)state;
  ax_utsname_t name;
  assert_int_equal(ax_os_uname(&name), 0);
  assert_true(name.sysname[0] != '\0');
  assert_true(name.release[0] != '\0');
  assert_true(name.machine[0] != '\0');
  assert_int_equal(ax_os_uname(NULL), AX_EINVAL);
}

/* Whether envitems holds name with value. */
static bool os_environ_has(const char *name, const char *value) {
  ax_env_item_t *items;
  int count;
  assert_int_equal(ax_os_environ(&items, &count), 0);
  bool found = false;
  for (int i = 0; i < count; i++) {
    if (strcmp(items[i].name, name) == 0)
      found = strcmp(items[i].value, value) == 0;
  }
  ax_os_free_environ(items, count);
  return found;
}

static void test_os_env(void **state) {
  (void)state;
  const char *name = "AXLE_TEST_OS_ENV";
  char buf[64];
  size_t size = sizeof(buf);
  (void)ax_os_unsetenv(name);
  assert_int_equal(ax_os_getenv(name, buf, &size), AX_ENOENT);
  assert_int_equal(ax_os_setenv(name, "value-1"), 0);
  size = sizeof(buf);
  assert_int_equal(ax_os_getenv(name, buf, &size), 0);
  assert_string_equal(buf, "value-1");
  assert_int_equal(size, strlen("value-1"));
  assert_true(os_environ_has(name, "value-1"));
  /* Replacing, then too small a buffer. */
  assert_int_equal(ax_os_setenv(name, "a longer value"), 0);
  size = 4;
  assert_int_equal(ax_os_getenv(name, buf, &size), AX_ENOBUFS);
  assert_int_equal(size, strlen("a longer value") + 1);
  assert_int_equal(ax_os_getenv(name, buf, &size), 0);
  assert_string_equal(buf, "a longer value");
  /* UTF-8 goes in and comes out whole (Windows converts it twice). */
  assert_int_equal(ax_os_setenv(name, "caf\xc3\xa9"), 0);
  size = sizeof(buf);
  assert_int_equal(ax_os_getenv(name, buf, &size), 0);
  assert_string_equal(buf, "caf\xc3\xa9");
  assert_int_equal(ax_os_unsetenv(name), 0);
  size = sizeof(buf);
  assert_int_equal(ax_os_getenv(name, buf, &size), AX_ENOENT);
  assert_false(os_environ_has(name, "caf\xc3\xa9"));
  assert_int_equal(ax_os_unsetenv(name), 0);
  /* Errors. */
  size = sizeof(buf);
  assert_int_equal(ax_os_getenv(NULL, buf, &size), AX_EINVAL);
  assert_int_equal(ax_os_getenv(name, NULL, &size), AX_EINVAL);
  assert_int_equal(ax_os_getenv(name, buf, NULL), AX_EINVAL);
  assert_int_equal(ax_os_setenv(NULL, "x"), AX_EINVAL);
  assert_int_equal(ax_os_setenv(name, NULL), AX_EINVAL);
  assert_int_equal(ax_os_setenv("", "x"), AX_EINVAL);
  assert_int_equal(ax_os_setenv("A=B", "x"), AX_EINVAL);
  assert_int_equal(ax_os_unsetenv(NULL), AX_EINVAL);
  assert_int_equal(ax_os_unsetenv("A=B"), AX_EINVAL);
  assert_int_equal(ax_os_environ(NULL, &(int){0}), AX_EINVAL);
  ax_env_item_t *items;
  assert_int_equal(ax_os_environ(&items, NULL), AX_EINVAL);
  ax_os_free_environ(NULL, 0);
}

static void test_os_random_sync(void **state) {
  (void)state;
  unsigned char a[1000];
  unsigned char b[1000];
  memset(a, 0, sizeof(a));
  memset(b, 0, sizeof(b));
  assert_int_equal(ax_random(NULL, NULL, a, sizeof(a), 0, NULL), 0);
  assert_int_equal(ax_random(NULL, NULL, b, sizeof(b), 0, NULL), 0);
  /* 8,000 random bits agreeing by chance is not a case to plan for. */
  assert_memory_not_equal(a, b, sizeof(a));
  /* Filled to the end: the last 16 bytes are not all still zero. */
  unsigned char zero[16] = {0};
  assert_memory_not_equal(a + sizeof(a) - 16, zero, 16);
  assert_int_equal(ax_random(NULL, NULL, NULL, 0, 0, NULL), 0);
  assert_int_equal(ax_random(NULL, NULL, NULL, 1, 0, NULL), AX_EINVAL);
  assert_int_equal(ax_random(NULL, NULL, a, 1, 1, NULL), AX_EINVAL);
}

struct os_random {
  ax_random_t req;       /* The request. */
  unsigned char buf[64]; /* Filled by the pool. */
  int calls;             /* Callbacks run. */
  int status;            /* The last one's status. */
};

static void os_random_cb(ax_random_t *req, int status, void *buf,
                         size_t len_bytes) {
  struct os_random *r = ax_container_of(req, struct os_random, req);
  assert_ptr_equal(buf, r->buf);
  assert_int_equal(len_bytes, sizeof(r->buf));
  r->calls++;
  r->status = status;
}

static void test_os_random_async(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct os_random r1;
  struct os_random r2;
  memset(&r1, 0, sizeof(r1));
  memset(&r2, 0, sizeof(r2));
  assert_int_equal(
      ax_random(&loop, &r1.req, r1.buf, sizeof(r1.buf), 0, os_random_cb), 0);
  assert_int_equal(r1.req.req.type, AX_RANDOM);
  assert_int_equal(
      ax_random(&loop, &r2.req, r2.buf, sizeof(r2.buf), 0, os_random_cb), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(r1.calls, 1);
  assert_int_equal(r2.calls, 1);
  assert_int_equal(r1.status, 0);
  assert_int_equal(r2.status, 0);
  assert_memory_not_equal(r1.buf, r2.buf, sizeof(r1.buf));
  /* Cancelled before the pool took it: completes with AX_ECANCELED. */
  assert_int_equal(
      ax_random(&loop, &r1.req, r1.buf, sizeof(r1.buf), 0, os_random_cb), 0);
  assert_int_equal(ax_cancel(&r1.req.req), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(r1.calls, 2);
  assert_int_equal(r1.status, AX_ECANCELED);
  assert_int_equal(
      ax_random(NULL, &r1.req, r1.buf, sizeof(r1.buf), 0, os_random_cb),
      AX_EINVAL);
  assert_int_equal(
      ax_random(&loop, NULL, r1.buf, sizeof(r1.buf), 0, os_random_cb),
      AX_EINVAL);
  test_loop_close(&loop);
}

static void test_os_memory(void **state) {
  (void)state;
  uint64_t total = ax_get_total_memory();
  uint64_t free_bytes = ax_get_free_memory();
  assert_true(total > 0);
  assert_true(free_bytes > 0);
  assert_true(free_bytes <= total);
  /* 0 (no limit) or a positive number of bytes: nothing else to check
   * without knowing the machine's control group. */
  (void)ax_get_constrained_memory();
  size_t rss = 0;
  assert_int_equal(ax_resident_set_memory(&rss), 0);
  assert_true(rss > 0);
  assert_true(rss < total);
  assert_int_equal(ax_resident_set_memory(NULL), AX_EINVAL);
}

static void test_os_processors(void **state) {
  (void)state;
  unsigned int parallelism = ax_available_parallelism();
  assert_true(parallelism >= 1);
  ax_cpu_info_t *infos = NULL;
  int count = 0;
  assert_int_equal(ax_cpu_info(&infos, &count), 0);
  assert_true(count >= 1);
  assert_non_null(infos);
  for (int i = 0; i < count; i++) {
    assert_non_null(infos[i].model);
    assert_true(infos[i].speed_mhz >= 0);
  }
  ax_free_cpu_info(infos, count);
  ax_free_cpu_info(NULL, 0);
  assert_int_equal(ax_cpu_info(NULL, &count), AX_EINVAL);
  assert_int_equal(ax_cpu_info(&infos, NULL), AX_EINVAL);
  double avg[3] = {-1, -1, -1};
  ax_loadavg(avg);
  for (int i = 0; i < 3; i++)
    assert_true(avg[i] >= 0);
  ax_loadavg(NULL);
  double uptime = 0;
  assert_int_equal(ax_uptime(&uptime), 0);
  assert_true(uptime > 0);
  assert_int_equal(ax_uptime(NULL), AX_EINVAL);
}

static void test_os_priority(void **state) {
  (void)state;
  int priority = 100;
  assert_int_equal(ax_os_getpriority(0, &priority), 0);
  assert_true(priority >= AX_PRIORITY_HIGHEST && priority <= AX_PRIORITY_LOW);
  int self = 100;
  assert_int_equal(ax_os_getpriority(ax_os_getpid(), &self), 0);
  assert_int_equal(self, priority);
  /* Setting what it is needs no privilege. */
  assert_int_equal(ax_os_setpriority(0, priority), 0);
  assert_int_equal(ax_os_getpriority(0, NULL), AX_EINVAL);
  assert_int_equal(ax_os_setpriority(0, AX_PRIORITY_HIGHEST - 1), AX_EINVAL);
  assert_int_equal(ax_os_setpriority(0, AX_PRIORITY_LOW + 1), AX_EINVAL);
}

static void test_os_sleep(void **state) {
  (void)state;
  /* Returns; how long it took is not a test's business. */
  ax_sleep(0);
  ax_sleep(1);
}

/* An address of loopback's, as ax_interface_addresses() should give it:
 * 127.0.0.1, with the netmask 255.0.0.0. */
static bool os_is_loopback4(const ax_interface_address_t *addr) {
  const struct sockaddr *sa = (const struct sockaddr *)&addr->address;
  if (sa->sa_family != AF_INET)
    return false;
  const struct sockaddr_in *in = (const struct sockaddr_in *)&addr->address;
  const struct sockaddr_in *mask = (const struct sockaddr_in *)&addr->netmask;
  if (in->sin_addr.s_addr != htonl(INADDR_LOOPBACK))
    return false;
  assert_int_equal(((const struct sockaddr *)&addr->netmask)->sa_family,
                   AF_INET);
  assert_int_equal(mask->sin_addr.s_addr, htonl(0xff000000u));
  return true;
}

static void test_os_interface_addresses(void **state) {
  (void)state;
  ax_interface_address_t *addrs = NULL;
  int count = -1;
  assert_int_equal(ax_interface_addresses(&addrs, &count), 0);
  assert_non_null(addrs);
  assert_true(count >= 1);
  bool loopback = false;
  for (int i = 0; i < count; i++) {
    assert_non_null(addrs[i].name);
    assert_true(addrs[i].name[0] != '\0');
    int family = ((const struct sockaddr *)&addrs[i].address)->sa_family;
    assert_true(family == AF_INET || family == AF_INET6);
    assert_int_equal(((const struct sockaddr *)&addrs[i].netmask)->sa_family,
                     family);
    if (os_is_loopback4(&addrs[i])) {
      assert_true(addrs[i].is_internal);
      loopback = true;
    }
  }
  assert_true(loopback);
  ax_free_interface_addresses(addrs, count);
  ax_free_interface_addresses(NULL, 0);
  assert_int_equal(ax_interface_addresses(NULL, &count), AX_EINVAL);
  assert_int_equal(ax_interface_addresses(&addrs, NULL), AX_EINVAL);
}

/* The user's name by other means: the user database's entry of the
 * effective user, or Windows' %USERNAME%. */
static const char *os_user_name(void) {
#if defined(_WIN32)
  return getenv("USERNAME");
#else
  const struct passwd *pw = getpwuid(geteuid());
  return pw != NULL ? pw->pw_name : NULL;
#endif /* _WIN32 */
}

static void test_os_passwd(void **state) {
  (void)state;
  ax_passwd_t pwd;
  memset(&pwd, 0xa5, sizeof(pwd));
#if !defined(_WIN32)
  /* A container's user may have no entry: then neither call finds one. */
  if (getpwuid(geteuid()) == NULL) {
    assert_int_equal(ax_os_get_passwd(&pwd), AX_ENOENT);
    assert_null(pwd.username);
    test_skip("the effective user has no entry in the user database");
  }
#endif /* !_WIN32 */
  assert_int_equal(ax_os_get_passwd(&pwd), 0);
  assert_non_null(pwd.username);
  assert_non_null(pwd.homedir);
  assert_true(pwd.homedir[0] != '\0');
  const char *name = os_user_name();
  if (name != NULL)
    assert_string_equal(pwd.username, name);
#if defined(_WIN32)
  assert_int_equal(pwd.uid, -1);
  assert_int_equal(pwd.gid, -1);
  assert_null(pwd.shell);
#else
  const struct passwd *pw = getpwuid(geteuid());
  assert_non_null(pw);
  assert_int_equal(pwd.uid, geteuid());
  assert_int_equal(pwd.gid, pw->pw_gid);
  assert_string_equal(pwd.homedir, pw->pw_dir);
  assert_non_null(pwd.shell);
  assert_string_equal(pwd.shell, pw->pw_shell);
#endif /* _WIN32 */
  ax_os_free_passwd(&pwd);
  assert_null(pwd.username);
  assert_null(pwd.shell);
  assert_null(pwd.homedir);
  ax_os_free_passwd(&pwd); /* Freed twice: nothing to free the second time. */
  ax_os_free_passwd(NULL);
  assert_int_equal(ax_os_get_passwd(NULL), AX_EINVAL);
}

enum {
  /* Rounds of busy work before the processor time must have grown: each
   * is a few milliseconds, and the clock that counts it ticks at worst
   * every 16 ms (Windows). */
  OS_BUSY_ROUNDS = 2000,
  OS_BUSY_STEPS = 1000000,
};

static void test_os_getrusage(void **state) {
  (void)state;
  ax_rusage_t before;
  memset(&before, 0xa5, sizeof(before));
  assert_int_equal(ax_getrusage(&before), 0);
  assert_true(before.max_rss_bytes > 0);
  ax_rusage_t after = before;
  volatile uint64_t sink = 0;
  for (int round = 0; round < OS_BUSY_ROUNDS; round++) {
    for (int step = 0; step < OS_BUSY_STEPS; step++)
      sink = sink * 31u + (uint64_t)step;
    assert_int_equal(ax_getrusage(&after), 0);
    if (after.user_time_us + after.system_time_us >
        before.user_time_us + before.system_time_us)
      break;
  }
  assert_true(after.user_time_us + after.system_time_us >
              before.user_time_us + before.system_time_us);
  assert_true(after.user_time_us >= before.user_time_us);
  assert_true(after.system_time_us >= before.system_time_us);
  /* The peak never falls. It is not compared with the resident set of
   * now: Linux counts the two apart, the peak lazily. */
  assert_true(after.max_rss_bytes >= before.max_rss_bytes);
  assert_true(after.max_rss_bytes < ax_get_total_memory());
  assert_true(after.minor_faults + after.major_faults >=
              before.minor_faults + before.major_faults);
  assert_int_equal(ax_getrusage(NULL), AX_EINVAL);
}

/* An allocator that refuses its fail_at-th call (from 0) and counts what
 * it hands out and what is freed: a failure at any point must leave
 * nothing allocated. */
static int os_alloc_calls;
static int os_alloc_fail_at;
static long os_alloc_live;

static bool os_alloc_refuse(void) {
  return os_alloc_calls++ == os_alloc_fail_at;
}

static void *os_alloc_malloc(size_t size_bytes) {
  void *p = os_alloc_refuse() ? NULL : malloc(size_bytes);
  os_alloc_live += p != NULL ? 1 : 0;
  return p;
}

static void *os_alloc_calloc(size_t count, size_t size_bytes) {
  void *p = os_alloc_refuse() ? NULL : calloc(count, size_bytes);
  os_alloc_live += p != NULL ? 1 : 0;
  return p;
}

static void *os_alloc_realloc(void *ptr, size_t size_bytes) {
  void *p = os_alloc_refuse() ? NULL : realloc(ptr, size_bytes);
  os_alloc_live += p != NULL && ptr == NULL ? 1 : 0;
  return p;
}

static void os_alloc_free(void *ptr) {
  os_alloc_live -= ptr != NULL ? 1 : 0;
  free(ptr);
}

enum { OS_ALLOC_POINTS = 256 }; /* More allocations than any call makes. */

/* Call fn with the fail_at-th allocation refused, for each fail_at until
 * a call needs no more than it was given; fn frees what it got. */
static void os_check_enomem(int (*fn)(void)) {
  assert_int_equal(ax_replace_allocator(os_alloc_malloc, os_alloc_realloc,
                                        os_alloc_calloc, os_alloc_free),
                   0);
  int fail_at = 0;
  for (; fail_at < OS_ALLOC_POINTS; fail_at++) {
    os_alloc_calls = 0;
    os_alloc_fail_at = fail_at;
    os_alloc_live = 0;
    int err = fn();
    assert_int_equal(os_alloc_live, 0);
    if (err == 0)
      break;
    assert_int_equal(err, AX_ENOMEM);
  }
  assert_true(fail_at > 0); /* Each call allocates. */
  assert_true(fail_at < OS_ALLOC_POINTS);
  assert_int_equal(ax_replace_allocator(malloc, realloc, calloc, free), 0);
}

static int os_enomem_interfaces(void) {
  ax_interface_address_t *addrs = (ax_interface_address_t *)&addrs;
  int count = -1;
  int err = ax_interface_addresses(&addrs, &count);
  if (err != 0) {
    assert_null(addrs);
    assert_int_equal(count, 0);
  }
  ax_free_interface_addresses(addrs, count);
  return err;
}

static int os_enomem_passwd(void) {
  ax_passwd_t pwd;
  memset(&pwd, 0xa5, sizeof(pwd));
  int err = ax_os_get_passwd(&pwd);
  if (err != 0) {
    assert_null(pwd.username);
    assert_null(pwd.shell);
    assert_null(pwd.homedir);
  }
  ax_os_free_passwd(&pwd);
  return err;
}

static void test_os_enomem(void **state) {
  (void)state;
  os_check_enomem(os_enomem_interfaces);
  os_check_enomem(os_enomem_passwd);
}

/* The pool's locks are made once per process, with the first job: made
 * here, so that no test's allocation count includes them. */
static int os_group_setup(void **state) {
  (void)state;
  (void)ax_threadpool_get_size();
  return 0;
}

static void test_os_gettimeofday(void **state) {
  (void)state;
  /* The wall clock agrees with time() (to the second either way, as
   * time() may read a coarser clock), and microseconds stay in range. */
  time_t before = time(NULL);
  ax_timeval64_t tv;
  assert_int_equal(ax_gettimeofday(&tv), 0);
  time_t after = time(NULL);
  assert_true(tv.sec >= (int64_t)before - 1);
  assert_true(tv.sec <= (int64_t)after + 1);
  assert_true(tv.usec >= 0 && tv.usec < 1000000);
  assert_int_equal(ax_gettimeofday(NULL), AX_EINVAL);
}

/* An interface's index and name: on POSIX the loopback's, asked of the
 * system by name; on Windows, whose names axle makes (from the LUID), the
 * first index that has one, checked against the system's way back from
 * the name to the index. */
static unsigned int os_loopback_index(char *name, size_t name_size) {
#if defined(_WIN32)
  for (unsigned int index = 1; index <= 1024; index++) {
    size_t size = name_size;
    if (ax_if_indextoname(index, name, &size) == 0) {
      assert_int_equal(if_nametoindex(name), index);
      return index;
    }
  }
  return 0;
#else
  (void)snprintf(name, name_size, "%s", "lo");
  unsigned int index = if_nametoindex(name);
  if (index == 0) { /* macOS and the BSDs call it lo0. */
    (void)snprintf(name, name_size, "%s", "lo0");
    index = if_nametoindex(name);
  }
  return index;
#endif /* _WIN32 */
}

static void test_os_if_indextoname(void **state) {
  (void)state;
  char want[64];
  unsigned int index = os_loopback_index(want, sizeof(want));
  if (index == 0)
    test_skip("no loopback interface named lo or lo0 (POSIX), or no "
              "interface at indexes 1 to 1024 (Windows)");
  char name[64];
  size_t size = sizeof(name);
  assert_int_equal(ax_if_indextoname(index, name, &size), 0);
  assert_string_equal(name, want);
  assert_int_equal(size, strlen(want));
  /* One byte short: AX_ENOBUFS and the size needed, buffer untouched. */
  size_t len = strlen(want);
  memset(name, 'x', sizeof(name));
  size = len;
  assert_int_equal(ax_if_indextoname(index, name, &size), AX_ENOBUFS);
  assert_int_equal(size, len + 1);
  assert_int_equal(name[0], 'x');
  assert_int_equal(ax_if_indextoname(index, name, &size), 0);
  assert_string_equal(name, want);
  /* The scope id: the name on POSIX, the number on Windows. */
  char iid[64];
  size = sizeof(iid);
  assert_int_equal(ax_if_indextoiid(index, iid, &size), 0);
#if defined(_WIN32)
  char number[16];
  (void)snprintf(number, sizeof(number), "%u", index);
  assert_string_equal(iid, number);
#else
  assert_string_equal(iid, want);
#endif /* _WIN32 */
  size_t iid_len = strlen(iid);
  size = iid_len;
  assert_int_equal(ax_if_indextoiid(index, iid, &size), AX_ENOBUFS);
  assert_int_equal(size, iid_len + 1);
}

static void test_os_if_indextoname_errors(void **state) {
  (void)state;
  char name[64];
  size_t size = sizeof(name);
  /* No interface has index 0, nor (on a test machine) this one. */
  assert_int_equal(ax_if_indextoname(0, name, &size), AX_ENODEV);
  assert_int_equal(ax_if_indextoname(0x7ffffff0u, name, &size), AX_ENODEV);
#if defined(_WIN32)
  /* Windows' scope id is the number, whatever it names. */
  assert_int_equal(ax_if_indextoiid(0x7ffffff0u, name, &size), 0);
  assert_string_equal(name, "2147483632");
#else
  assert_int_equal(ax_if_indextoiid(0x7ffffff0u, name, &size), AX_ENODEV);
#endif /* _WIN32 */
  assert_int_equal(ax_if_indextoname(1, NULL, &size), AX_EINVAL);
  assert_int_equal(ax_if_indextoname(1, name, NULL), AX_EINVAL);
  assert_int_equal(ax_if_indextoiid(1, NULL, &size), AX_EINVAL);
  assert_int_equal(ax_if_indextoiid(1, name, NULL), AX_EINVAL);
  size = 0;
  assert_int_equal(ax_if_indextoname(1, name, &size), AX_EINVAL);
  assert_int_equal(ax_if_indextoiid(1, name, &size), AX_EINVAL);
}

/* Send text from one end, receive it whole at the other. */
static void os_socketpair_send(ax_os_sock_t from, ax_os_sock_t to,
                               const char *text) {
  int len = (int)strlen(text);
  assert_int_equal(send(from, text, len, 0), len);
  char got[64];
  int n = 0;
  while (n < len) { /* A stream may hand the bytes over in pieces. */
    int r = (int)recv(to, got + n, (int)sizeof(got) - 1 - n, 0);
    assert_true(r > 0);
    n += r;
  }
  got[n] = '\0';
  assert_string_equal(got, text);
}

/* Whether a child would inherit the socket. */
static bool os_socket_inherited(ax_os_sock_t sock) {
#if defined(_WIN32)
  DWORD flags = 0;
  assert_true(GetHandleInformation((HANDLE)sock, &flags));
  return (flags & HANDLE_FLAG_INHERIT) != 0;
#else
  int flags = fcntl(sock, F_GETFD);
  assert_true(flags >= 0);
  return (flags & FD_CLOEXEC) == 0;
#endif /* _WIN32 */
}

/* Whether a read of the empty socket would block (and so says so). */
static bool os_socket_would_block(ax_os_sock_t sock) {
  char byte;
  if (recv(sock, &byte, 1, 0) >= 0)
    return false;
#if defined(_WIN32)
  return WSAGetLastError() == WSAEWOULDBLOCK;
#else
  return errno == EAGAIN || errno == EWOULDBLOCK;
#endif /* _WIN32 */
}

static void test_os_socketpair(void **state) {
  (void)state;
  ax_os_sock_t socks[2];
  assert_int_equal(ax_socketpair(SOCK_STREAM, 0, socks, 0, 0), 0);
  /* Bytes both ways; neither end inherited. */
  os_socketpair_send(socks[0], socks[1], "ping");
  os_socketpair_send(socks[1], socks[0], "pong");
  assert_false(os_socket_inherited(socks[0]));
  assert_false(os_socket_inherited(socks[1]));
  test_os_closesocket(socks[0]);
  test_os_closesocket(socks[1]);
  /* Each end non-blocking only if its own flag says so. */
  assert_int_equal(ax_socketpair(SOCK_STREAM, 0, socks, AX_PIPE_NONBLOCK, 0),
                   0);
  assert_true(os_socket_would_block(socks[0]));
  os_socketpair_send(socks[1], socks[0], "late");
  test_os_closesocket(socks[0]);
  test_os_closesocket(socks[1]);
  assert_int_equal(ax_socketpair(SOCK_STREAM, 0, socks, 0, AX_PIPE_NONBLOCK),
                   0);
  assert_true(os_socket_would_block(socks[1]));
  os_socketpair_send(socks[0], socks[1], "early");
  test_os_closesocket(socks[0]);
  test_os_closesocket(socks[1]);
}

/* One end of a socket pair as a stream on a loop: what it read, and the
 * reply it wrote back. */
struct os_socketpair_stream {
  char buf[64]; /* What was read. */
  size_t got;   /* Bytes in buf. */
  int error;    /* A read or write error, or 0. */
};

static void os_socketpair_alloc(ax_handle_t *handle, size_t suggested_size,
                                ax_buf_t *buf) {
  (void)suggested_size;
  struct os_socketpair_stream *c = handle->data;
  *buf = ax_buf_init(c->buf + c->got, sizeof(c->buf) - 1 - c->got);
}

/* Read "hello", answer "world" at once, close. */
static void os_socketpair_read(ax_stream_t *stream, ptrdiff_t nread,
                               const ax_buf_t *buf) {
  (void)buf;
  struct os_socketpair_stream *c = stream->handle.data;
  if (nread > 0)
    c->got += (size_t)nread;
  else if (nread < 0)
    c->error = (int)nread;
  if (nread < 0 || c->got >= 5) {
    if (c->got == 5) {
      ax_buf_t reply = ax_buf_init((char *)"world", 5);
      int sent = ax_try_write(stream, &reply, 1);
      if (sent != 5)
        c->error = sent < 0 ? sent : AX_EIO;
    }
    ax_close(&stream->handle, NULL);
  }
}

static void test_os_socketpair_stream(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_os_sock_t socks[2];
  assert_int_equal(ax_socketpair(SOCK_STREAM, 0, socks, 0, 0), 0);
  struct os_socketpair_stream c = {.got = 0};
  /* The system's stream over such a socket: a pipe handle on POSIX (a
   * Unix domain socket), a TCP handle on Windows (a loopback connection). */
#if defined(_WIN32)
  ax_tcp_t handle;
  assert_int_equal(ax_tcp_init(&loop, &handle), 0);
  assert_int_equal(ax_tcp_open(&handle, socks[1]), 0);
#else
  ax_pipe_t handle;
  assert_int_equal(ax_pipe_init(&loop, &handle, false), 0);
  assert_int_equal(ax_pipe_open(&handle, socks[1]), 0);
#endif /* _WIN32 */
  handle.stream.handle.data = &c;
  assert_int_equal(
      ax_read_start(&handle.stream, os_socketpair_alloc, os_socketpair_read),
      0);
  assert_int_equal(send(socks[0], "hello", 5, 0), 5);
  struct test_guard guard;
  test_guard_start(&loop, &guard);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  test_guard_close(&guard);
  assert_int_equal(c.error, 0);
  c.buf[c.got] = '\0';
  assert_string_equal(c.buf, "hello");
  /* The reply came through to the raw end, then the handle's close. */
  char got[16];
  int n = 0;
  while (n < 5) {
    int r = (int)recv(socks[0], got + n, (int)sizeof(got) - 1 - n, 0);
    assert_true(r > 0);
    n += r;
  }
  got[n] = '\0';
  assert_string_equal(got, "world");
  assert_int_equal(recv(socks[0], got, sizeof(got), 0), 0);
  test_os_closesocket(socks[0]);
  test_loop_close(&loop);
}

static void test_os_socketpair_errors(void **state) {
  (void)state;
  ax_os_sock_t socks[2];
  assert_int_equal(ax_socketpair(SOCK_STREAM, 0, NULL, 0, 0), AX_EINVAL);
  assert_int_equal(ax_socketpair(SOCK_STREAM, 0, socks, 0x100, 0), AX_EINVAL);
  assert_int_equal(ax_socketpair(SOCK_STREAM, 0, socks, 0, -1), AX_EINVAL);
#if defined(_WIN32)
  /* The loopback emulation is a stream. */
  assert_int_equal(ax_socketpair(SOCK_DGRAM, 0, socks, 0, 0), AX_ENOTSUP);
#else
  /* A protocol the type has not: the system's error. */
  assert_int_equal(ax_socketpair(SOCK_STREAM, 12345, socks, 0, 0),
                   AX_EPROTONOSUPPORT);
  /* Datagrams, where Unix domain sockets have them. */
  assert_int_equal(ax_socketpair(SOCK_DGRAM, 0, socks, 0, 0), 0);
  os_socketpair_send(socks[0], socks[1], "datagram");
  close(socks[0]);
  close(socks[1]);
#endif /* _WIN32 */
}

static void test_os_disable_stdio_inheritance(void **state) {
  (void)state;
  ax_disable_stdio_inheritance();
#if defined(_WIN32)
  /* The standard handles that exist are no longer inheritable. */
  static const DWORD std_handles[] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
                                      STD_ERROR_HANDLE};
  for (size_t i = 0; i < 3; i++) {
    HANDLE handle = GetStdHandle(std_handles[i]);
    DWORD flags = 0;
    if (handle == NULL || handle == INVALID_HANDLE_VALUE ||
        !GetHandleInformation(handle, &flags))
      continue; /* None, or a console pseudo-handle Wine does not list. */
    assert_int_equal(flags & HANDLE_FLAG_INHERIT, 0);
  }
#else
  /* Every open descriptor from 0 to 15 is close-on-exec; a pipe made
   * after the call is not touched by it (ax_pipe() makes it so anyway). */
  for (int fd = 0; fd < 16; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0)
      assert_true(flags & FD_CLOEXEC);
  }
#endif /* _WIN32 */
  /* Calling it again is harmless. */
  ax_disable_stdio_inheritance();
}

static void test_os_osfhandle(void **state) {
  (void)state;
  ax_os_fd_t fds[2];
  assert_int_equal(ax_pipe(fds, 0, 0), 0);
  /* A system handle to a descriptor and back to the same handle. */
  int fd = ax_open_osfhandle(fds[0]);
  assert_true(fd >= 0);
  assert_true(ax_get_osfhandle(fd) == fds[0]);
#if defined(_WIN32)
  /* The descriptor owns the handle now: closing it closes both. */
  assert_int_equal(_close(fd), 0);
  CloseHandle(fds[1]);
  assert_true(ax_get_osfhandle(-1) == INVALID_HANDLE_VALUE);
  assert_true(ax_get_osfhandle(fd) == INVALID_HANDLE_VALUE);
  assert_int_equal(ax_open_osfhandle(NULL), AX_EBADF);
  assert_int_equal(ax_open_osfhandle(INVALID_HANDLE_VALUE), AX_EBADF);
#else
  assert_int_equal(fd, fds[0]); /* POSIX: the same number. */
  close(fds[0]);
  close(fds[1]);
  assert_int_equal(ax_get_osfhandle(-1), -1);
  assert_int_equal(ax_get_osfhandle(-5), -1);
  assert_int_equal(ax_open_osfhandle(-1), AX_EBADF);
#endif /* _WIN32 */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_os_pids),
      cmocka_unit_test(test_os_strings),
      cmocka_unit_test(test_os_chdir),
      cmocka_unit_test(test_os_uname),
      cmocka_unit_test(test_os_env),
      cmocka_unit_test(test_os_random_sync),
      cmocka_unit_test(test_os_random_async),
      cmocka_unit_test(test_os_memory),
      cmocka_unit_test(test_os_processors),
      cmocka_unit_test(test_os_priority),
      cmocka_unit_test(test_os_sleep),
      cmocka_unit_test(test_os_interface_addresses),
      cmocka_unit_test(test_os_passwd),
      cmocka_unit_test(test_os_getrusage),
      cmocka_unit_test(test_os_enomem),
      cmocka_unit_test(test_os_gettimeofday),
      cmocka_unit_test(test_os_if_indextoname),
      cmocka_unit_test(test_os_if_indextoname_errors),
      cmocka_unit_test(test_os_socketpair),
      cmocka_unit_test(test_os_socketpair_stream),
      cmocka_unit_test(test_os_socketpair_errors),
      cmocka_unit_test(test_os_disable_stdio_inheritance),
      cmocka_unit_test(test_os_osfhandle),
  };
  return cmocka_run_group_tests(tests, os_group_setup, NULL);
}
