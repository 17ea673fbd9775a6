/*
 * unix/os.c: the operating-system utilities that POSIX gives every system
 * the same way: processes, the working directory, the home and temporary
 * directories, the host's names, the environment, the user database,
 * resource usage, load averages, priorities, sleep, random bytes, the
 * wall clock, the names of network interfaces by index, the standard
 * descriptors' inheritance, and descriptors as handles (the same thing).
 * What each kernel tells in its own way (memory, processors, the
 * executable's path, uptime, the unit of the peak resident set) is in
 * os-linux.c, os-darwin.c or os-bsd.c, which meson chooses; the network
 * interfaces are in os-ifaddrs.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* getentropy(): <unistd.h> on Linux and the BSDs, <sys/random.h> on
 * macOS; each system has the latter, so both are included. */
#include <sys/random.h>

#include "internal.h"

extern char **environ;

enum {
  /* getentropy() fills at most this many bytes per call, everywhere. */
  OS_ENTROPY_MAX = 256,
  /* The longest host name POSIX systems allow (HOST_NAME_MAX is 64 on
   * Linux, 255 elsewhere), plus its NUL. */
  OS_HOSTNAME_MAX = 256,
  /* The largest buffer a user-database lookup may grow to. */
  OS_PWD_BUF_MAX = 1 << 20,
  /* Descriptors ax_disable_stdio_inheritance() makes close-on-exec: the
   * standard three and what a parent commonly passes beside them. */
  OS_STDIO_INHERIT_FDS = 16,
};

void ax_sleep(unsigned int duration_ms) {
  struct timespec left = {.tv_sec = duration_ms / 1000,
                          .tv_nsec = (long)(duration_ms % 1000) * 1000000L};
  /* nanosleep() reports what a signal left of the time in left. */
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

ax_pid_t ax_os_getpid(void) {
  return (ax_pid_t)getpid();
}

ax_pid_t ax_os_getppid(void) {
  return (ax_pid_t)getppid();
}

int ax_cwd(char *buf, size_t *size) {
  int err = ax__os_buf_check(buf, size);
  if (err != 0)
    return err;
  /* Into a buffer of our own first: getcwd() says only ERANGE when the
   * caller's is short, and the caller is owed the size it needs. */
  char path[PATH_MAX];
  if (getcwd(path, sizeof(path)) == NULL)
    return ax_translate_sys_error(errno);
  return ax__os_buf_copy(path, strlen(path), buf, size);
}

int ax_chdir(const char *dir) {
  if (dir == NULL)
    return AX_EINVAL;
  return chdir(dir) == 0 ? 0 : ax_translate_sys_error(errno);
}

/* Look the effective user up in the user database and hand the entry to
 * take while the buffer that holds its strings lives: take's answer, or
 * AX_ENOENT for no entry, or the lookup's error. The buffer starts at the
 * system's hint and doubles on ERANGE, up to OS_PWD_BUF_MAX. */
static int os_pwd_lookup(int (*take)(const struct passwd *pw, void *arg),
                         void *arg) {
  long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
  size_t len = hint > 0 ? (size_t)hint : 4096u;
  for (;;) {
    char *mem = ax__malloc(len);
    if (mem == NULL)
      return AX_ENOMEM;
    struct passwd pw;
    struct passwd *found = NULL;
    int rc = getpwuid_r(geteuid(), &pw, mem, len, &found);
    int err = rc == 0 && found == NULL ? AX_ENOENT : -rc;
    if (rc == 0 && found != NULL)
      err = take(&pw, arg);
    ax__free(mem);
    if (rc != ERANGE || len >= OS_PWD_BUF_MAX)
      return err;
    len *= 2;
  }
}

/* The caller's buffer and size of ax_os_homedir(). */
struct os_homedir_out {
  char *buf;    /* The caller's buffer. */
  size_t *size; /* Its size, then the length or the size needed. */
};

static int os_homedir_take(const struct passwd *pw, void *arg) {
  struct os_homedir_out *out = arg;
  return ax__os_buf_copy(pw->pw_dir, strlen(pw->pw_dir), out->buf, out->size);
}

static int os_passwd_take(const struct passwd *pw, void *arg) {
  ax_passwd_t *pwd = arg;
  int err = ax__os_passwd_fill(pwd, pw->pw_name, pw->pw_shell, pw->pw_dir);
  if (err != 0)
    return err;
  pwd->uid = (int64_t)pw->pw_uid;
  pwd->gid = (int64_t)pw->pw_gid;
  return 0;
}

int ax_os_get_passwd(ax_passwd_t *pwd) {
  if (pwd == NULL)
    return AX_EINVAL;
  pwd->username = pwd->shell = pwd->homedir = NULL;
  return os_pwd_lookup(os_passwd_take, pwd);
}

int ax_os_homedir(char *buf, size_t *size) {
  int err = ax__os_buf_check(buf, size);
  if (err != 0)
    return err;
  const char *home = getenv("HOME");
  if (home != NULL && home[0] != '\0')
    return ax__os_buf_copy(home, strlen(home), buf, size);
  struct os_homedir_out out = {.buf = buf, .size = size};
  return os_pwd_lookup(os_homedir_take, &out);
}

int ax_os_tmpdir(char *buf, size_t *size) {
  int err = ax__os_buf_check(buf, size);
  if (err != 0)
    return err;
  static const char *const names[] = {"TMPDIR", "TMP", "TEMP", "TEMPDIR"};
  const char *dir = NULL;
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && dir == NULL; i++) {
    dir = getenv(names[i]);
    if (dir != NULL && dir[0] == '\0')
      dir = NULL;
  }
  if (dir == NULL)
    dir = "/tmp";
  size_t len = strlen(dir);
  /* "/tmp/" and "/tmp" are the same directory: say it without the slash,
   * but keep the root's. */
  if (len > 1 && dir[len - 1] == '/')
    len--;
  return ax__os_buf_copy(dir, len, buf, size);
}

int ax_os_gethostname(char *buf, size_t *size) {
  int err = ax__os_buf_check(buf, size);
  if (err != 0)
    return err;
  char name[OS_HOSTNAME_MAX + 1];
  if (gethostname(name, OS_HOSTNAME_MAX) != 0)
    return ax_translate_sys_error(errno);
  /* A name that filled the buffer may come without its NUL. */
  name[OS_HOSTNAME_MAX] = '\0';
  return ax__os_buf_copy(name, strlen(name), buf, size);
}

/* Copy a field of struct utsname, cut to the room there is. */
static void os_uname_field(char *out, size_t out_len, const char *in) {
  size_t len = strlen(in);
  if (len >= out_len)
    len = out_len - 1;
  memcpy(out, in, len);
  out[len] = '\0';
}

int ax_os_uname(ax_utsname_t *buffer) {
  if (buffer == NULL)
    return AX_EINVAL;
  struct utsname name;
  if (uname(&name) < 0)
    return ax_translate_sys_error(errno);
  os_uname_field(buffer->sysname, sizeof(buffer->sysname), name.sysname);
  os_uname_field(buffer->release, sizeof(buffer->release), name.release);
  os_uname_field(buffer->version, sizeof(buffer->version), name.version);
  os_uname_field(buffer->machine, sizeof(buffer->machine), name.machine);
  return 0;
}

int ax_os_getenv(const char *name, char *buf, size_t *size) {
  int err = ax__os_buf_check(buf, size);
  if (err != 0 || name == NULL)
    return AX_EINVAL;
  const char *value = getenv(name);
  if (value == NULL)
    return AX_ENOENT;
  return ax__os_buf_copy(value, strlen(value), buf, size);
}

int ax_os_setenv(const char *name, const char *value) {
  if (!ax__os_env_name_ok(name) || value == NULL)
    return AX_EINVAL;
  return setenv(name, value, 1) == 0 ? 0 : ax_translate_sys_error(errno);
}

int ax_os_unsetenv(const char *name) {
  if (!ax__os_env_name_ok(name))
    return AX_EINVAL;
  return unsetenv(name) == 0 ? 0 : ax_translate_sys_error(errno);
}

int ax_os_environ(ax_env_item_t **envitems, int *count) {
  if (envitems == NULL || count == NULL)
    return AX_EINVAL;
  *envitems = NULL;
  *count = 0;
  size_t total = 0;
  while (environ[total] != NULL)
    total++;
  ax_env_item_t *items = ax__calloc(total == 0 ? 1 : total, sizeof(*items));
  if (items == NULL)
    return AX_ENOMEM;
  int n = 0;
  for (size_t i = 0; i < total; i++) {
    const char *eq = strchr(environ[i], '=');
    if (eq == NULL)
      continue; /* Not a variable: a malformed entry some programs leave. */
    if (ax__os_env_item(&items[n], environ[i], (size_t)(eq - environ[i]),
                        eq + 1) != 0) {
      ax_os_free_environ(items, n);
      return AX_ENOMEM;
    }
    n++;
  }
  *envitems = items;
  *count = n;
  return 0;
}

static uint64_t os_timeval_us(const struct timeval *tv) {
  return (uint64_t)tv->tv_sec * 1000000u + (uint64_t)tv->tv_usec;
}

int ax_getrusage(ax_rusage_t *rusage) {
  if (rusage == NULL)
    return AX_EINVAL;
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return ax_translate_sys_error(errno);
  rusage->user_time_us = os_timeval_us(&ru.ru_utime);
  rusage->system_time_us = os_timeval_us(&ru.ru_stime);
  rusage->max_rss_bytes = ax__os_max_rss_bytes(ru.ru_maxrss);
  rusage->minor_faults = (uint64_t)ru.ru_minflt;
  rusage->major_faults = (uint64_t)ru.ru_majflt;
  rusage->swaps = (uint64_t)ru.ru_nswap;
  rusage->block_inputs = (uint64_t)ru.ru_inblock;
  rusage->block_outputs = (uint64_t)ru.ru_oublock;
  rusage->messages_sent = (uint64_t)ru.ru_msgsnd;
  rusage->messages_received = (uint64_t)ru.ru_msgrcv;
  rusage->signals = (uint64_t)ru.ru_nsignals;
  rusage->voluntary_switches = (uint64_t)ru.ru_nvcsw;
  rusage->involuntary_switches = (uint64_t)ru.ru_nivcsw;
  return 0;
}

void ax_loadavg(double avg[3]) {
  if (avg == NULL)
    return;
  if (getloadavg(avg, 3) != 3)
    avg[0] = avg[1] = avg[2] = 0.0;
}

int ax_os_getpriority(ax_pid_t pid, int *priority) {
  if (priority == NULL)
    return AX_EINVAL;
  /* -1 is a valid answer: only errno tells a failure from it. */
  errno = 0;
  int value = getpriority(PRIO_PROCESS, (id_t)pid);
  if (value == -1 && errno != 0)
    return ax_translate_sys_error(errno);
  *priority = value;
  return 0;
}

int ax_os_setpriority(ax_pid_t pid, int priority) {
  if (priority < AX_PRIORITY_HIGHEST || priority > AX_PRIORITY_LOW)
    return AX_EINVAL;
  if (setpriority(PRIO_PROCESS, (id_t)pid, priority) != 0)
    return ax_translate_sys_error(errno);
  return 0;
}

/* getentropy() is getrandom(2) on Linux and the kernel's arc4random
 * source on macOS and the BSDs: one call for every POSIX system axle
 * runs on, 256 bytes at a time. It blocks only until the system's pool is
 * first seeded, early in boot. */
int ax__random_fill(void *buf, size_t len_bytes) {
  unsigned char *p = buf;
  while (len_bytes > 0) {
    size_t n = len_bytes < OS_ENTROPY_MAX ? len_bytes : OS_ENTROPY_MAX;
    if (getentropy(p, n) != 0) {
      if (errno == EINTR)
        continue;
      return ax_translate_sys_error(errno);
    }
    p += n;
    len_bytes -= n;
  }
  return 0;
}

int ax_gettimeofday(ax_timeval64_t *tv) {
  if (tv == NULL)
    return AX_EINVAL;
  struct timeval now;
  if (gettimeofday(&now, NULL) != 0)
    return ax_translate_sys_error(errno);
  tv->sec = (int64_t)now.tv_sec;
  tv->usec = (int32_t)now.tv_usec;
  return 0;
}

int ax_if_indextoname(unsigned int ifindex, char *buf, size_t *size) {
  int err = ax__os_buf_check(buf, size);
  if (err != 0)
    return err;
  char name[IF_NAMESIZE + 1]; /* IF_NAMESIZE counts the NUL already. */
  if (if_indextoname(ifindex, name) == NULL) {
    /* glibc says ENXIO for an index no interface has; others ENODEV. */
    if (errno == ENXIO || errno == ENODEV)
      return AX_ENODEV;
    return ax_translate_sys_error(errno);
  }
  return ax__os_buf_copy(name, strlen(name), buf, size);
}

/* POSIX scopes an IPv6 address by the interface's name. */
int ax_if_indextoiid(unsigned int ifindex, char *buf, size_t *size) {
  return ax_if_indextoname(ifindex, buf, size);
}

void ax_disable_stdio_inheritance(void) {
  /* A descriptor that is not open fails with EBADF: nothing to keep. */
  for (int fd = 0; fd < OS_STDIO_INHERIT_FDS; fd++)
    (void)ax__fd_set_cloexec(fd);
}

/* POSIX: a descriptor is the system's handle. */
ax_os_fd_t ax_get_osfhandle(int fd) {
  return fd < 0 ? -1 : fd;
}

int ax_open_osfhandle(ax_os_fd_t os_fd) {
  return os_fd < 0 ? AX_EBADF : os_fd;
}
