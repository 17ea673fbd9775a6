/*
 * unix/os-linux.c: the utilities Linux answers through /proc, /sys and its
 * own calls: memory (and the control group's limit on it), processors
 * (and the affinity mask and CPU quota that bound them), the resident set,
 * the executable's path, the uptime, the unit of the peak resident set
 * and the MAC addresses of getifaddrs(). Files are read whole into a
 * bounded buffer: each is small, and a short read is an answer of 0.
 */
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netpacket/packet.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

enum {
  /* Room for the files read here but /proc/stat and /proc/cpuinfo. */
  OS_SMALL_FILE = 4096,
  /* /proc/stat and /proc/cpuinfo grow with the processors: about 150
   * and 1,500 bytes each. 4 MiB covers more than 2,000 processors. */
  OS_BIG_FILE = 4 << 20,
  /* A control group's path, as /proc/self/cgroup gives it. */
  OS_CGROUP_PATH = 1024,
};

/* Read path into buf (NUL-terminated, cut to len - 1 bytes): the length
 * read, or an error. */
static ssize_t os_read_file(const char *path, char *buf, size_t len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ax_translate_sys_error(errno);
  size_t got = 0;
  while (got < len - 1) {
    ssize_t n = read(fd, buf + got, len - 1 - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  ax__close_fd(fd);
  buf[got] = '\0';
  return (ssize_t)got;
}

/* The number after "key:" in /proc/meminfo, in bytes; 0 if absent. */
static uint64_t os_meminfo(const char *key) {
  char buf[OS_SMALL_FILE];
  if (os_read_file("/proc/meminfo", buf, sizeof(buf)) <= 0)
    return 0;
  const char *line = strstr(buf, key);
  unsigned long long kib;
  if (line == NULL || sscanf(line + strlen(key), " %llu kB", &kib) != 1)
    return 0;
  return (uint64_t)kib * 1024u;
}

uint64_t ax_get_free_memory(void) {
  /* MemAvailable (Linux 3.14 and later) counts the caches the kernel
   * would give up; MemFree does not, and reads low on any busy machine. */
  uint64_t bytes = os_meminfo("MemAvailable:");
  if (bytes != 0)
    return bytes;
  struct sysinfo info;
  if (sysinfo(&info) != 0)
    return 0;
  return (uint64_t)info.freeram * info.mem_unit;
}

uint64_t ax_get_total_memory(void) {
  struct sysinfo info;
  if (sysinfo(&info) != 0)
    return os_meminfo("MemTotal:");
  return (uint64_t)info.totalram * info.mem_unit;
}

/* The process's control group: for cgroup v2 (controller NULL) the path
 * of the "0::" line, for v1 that of the line whose controllers include
 * controller. 0, or AX_ENOENT when there is no such line. */
/* Whether the comma-separated list names controller exactly ("cpu" is
 * not in "cpuset", but is in "cpu,cpuacct"). */
static bool os_cgroup_lists(const char *list, const char *controller) {
  size_t len = strlen(controller);
  for (const char *p = list; p != NULL; p = strchr(p, ',')) {
    p += *p == ',';
    if (strncmp(p, controller, len) == 0 && (p[len] == ',' || p[len] == '\0'))
      return true;
  }
  return false;
}

static int os_cgroup_path(const char *controller, char *path, size_t len) {
  char buf[OS_SMALL_FILE];
  if (os_read_file("/proc/self/cgroup", buf, sizeof(buf)) <= 0)
    return AX_ENOENT;
  char *save = NULL;
  /* strtok_r: the utilities may run on several threads at once. */
  for (char *line = strtok_r(buf, "\n", &save); line != NULL;
       line = strtok_r(NULL, "\n", &save)) {
    /* "hierarchy-id:controller,list:/path" */
    char *first = strchr(line, ':');
    char *second = first != NULL ? strchr(first + 1, ':') : NULL;
    if (second == NULL)
      continue;
    *second = '\0';
    const char *list = first + 1;
    bool match = controller == NULL
                     ? strncmp(line, "0:", 2) == 0 && list[0] == '\0'
                     : os_cgroup_lists(list, controller);
    if (match && (size_t)snprintf(path, len, "%s", second + 1) < len)
      return 0;
  }
  return AX_ENOENT;
}

/* A number read from a control group's file, or 0 for "max", a negative
 * value, a missing file, or anything unreadable. */
static uint64_t os_cgroup_number(const char *fmt, const char *group,
                                 const char *file) {
  char path[OS_CGROUP_PATH + 128];
  char buf[64];
  (void)snprintf(path, sizeof(path), fmt, group, file);
  if (os_read_file(path, buf, sizeof(buf)) <= 0)
    return 0;
  /* strtoull() would take v1's "-1" (no quota) for the largest value. */
  if (buf[0] == '-')
    return 0;
  char *end;
  unsigned long long value = strtoull(buf, &end, 10);
  return end != buf ? (uint64_t)value : 0;
}

uint64_t ax_get_constrained_memory(void) {
  char group[OS_CGROUP_PATH];
  if (os_cgroup_path(NULL, group, sizeof(group)) == 0) {
    uint64_t max = os_cgroup_number("/sys/fs/cgroup%s/%s", group, "memory.max");
    if (max != 0)
      return max;
  }
  if (os_cgroup_path("memory", group, sizeof(group)) != 0)
    return 0;
  uint64_t limit = os_cgroup_number("/sys/fs/cgroup/memory%s/%s", group,
                                    "memory.limit_in_bytes");
  /* v1 says "no limit" with the largest page-aligned 63-bit value. */
  return limit >= ((uint64_t)1 << 62) ? 0 : limit;
}

/* The processors the control group's CPU quota amounts to, rounded up,
 * or 0 for no quota. v2: "quota period" in cpu.max ("max period" for
 * none); v1: cpu.cfs_quota_us (-1 for none) over cpu.cfs_period_us. */
static unsigned int os_cgroup_cpus(void) {
  char group[OS_CGROUP_PATH];
  char path[OS_CGROUP_PATH + 128];
  char buf[64];
  unsigned long long quota = 0;
  unsigned long long period = 0;
  /* A hybrid system lists a v2 group whose controllers are elsewhere:
   * with no cpu.max there, the v1 group is asked. */
  if (os_cgroup_path(NULL, group, sizeof(group)) == 0) {
    (void)snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cpu.max", group);
    if (os_read_file(path, buf, sizeof(buf)) > 0 &&
        sscanf(buf, "%llu %llu", &quota, &period) != 2)
      quota = 0;
  }
  if (quota == 0 && os_cgroup_path("cpu", group, sizeof(group)) == 0) {
    quota = os_cgroup_number("/sys/fs/cgroup/cpu%s/%s", group,
                             "cpu.cfs_quota_us");
    period = os_cgroup_number("/sys/fs/cgroup/cpu%s/%s", group,
                              "cpu.cfs_period_us");
  }
  if (quota == 0 || period == 0)
    return 0;
  unsigned long long cpus = (quota + period - 1) / period;
  return cpus > UINT_MAX ? UINT_MAX : (unsigned int)cpus;
}

unsigned int ax_available_parallelism(void) {
  unsigned int n = 0;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    n = (unsigned int)CPU_COUNT(&set);
  if (n == 0) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    n = online > 0 ? (unsigned int)online : 1;
  }
  unsigned int quota = os_cgroup_cpus();
  if (quota != 0 && quota < n)
    n = quota;
  return n;
}

int ax_exepath(char *buf, size_t *size) {
  int err = ax__os_buf_check(buf, size);
  if (err != 0)
    return err;
  char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path));
  if (n < 0)
    return ax_translate_sys_error(errno);
  if ((size_t)n >= sizeof(path))
    return AX_ENAMETOOLONG;
  return ax__os_buf_copy(path, (size_t)n, buf, size);
}

int ax_resident_set_memory(size_t *rss_bytes) {
  if (rss_bytes == NULL)
    return AX_EINVAL;
  char buf[256];
  ssize_t n = os_read_file("/proc/self/statm", buf, sizeof(buf));
  if (n < 0)
    return (int)n;
  unsigned long size_pages;
  unsigned long resident_pages;
  if (sscanf(buf, "%lu %lu", &size_pages, &resident_pages) != 2)
    return AX_EIO;
  *rss_bytes = (size_t)resident_pages * (size_t)sysconf(_SC_PAGESIZE);
  return 0;
}

int ax_uptime(double *uptime_s) {
  if (uptime_s == NULL)
    return AX_EINVAL;
  /* CLOCK_BOOTTIME counts from boot, suspended time included, as uptime
   * does; no file to read. */
  struct timespec ts;
  if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
    return ax_translate_sys_error(errno);
  *uptime_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
  return 0;
}

/* Read the times of each "cpuN" line of /proc/stat into infos, in
 * milliseconds. Returns the processors found (at most max). */
static int os_cpu_times(const char *stat, ax_cpu_info_t *infos, int max) {
  long tick = sysconf(_SC_CLK_TCK);
  uint64_t ms_per_tick = tick > 0 && tick <= 1000 ? 1000u / (uint64_t)tick : 10;
  int n = 0;
  for (const char *line = strstr(stat, "\ncpu"); line != NULL && n < max;
       line = strstr(line + 1, "\ncpu")) {
    unsigned long long user, nice, sys, idle, iowait, irq;
    int id;
    if (sscanf(line + 1, "cpu%d %llu %llu %llu %llu %llu %llu", &id, &user,
               &nice, &sys, &idle, &iowait, &irq) != 7)
      continue;
    infos[n].cpu_times = (ax_cpu_times_t){
        .user_ms = user * ms_per_tick,
        .nice_ms = nice * ms_per_tick,
        .sys_ms = sys * ms_per_tick,
        .idle_ms = idle * ms_per_tick,
        .irq_ms = irq * ms_per_tick,
    };
    n++;
  }
  return n;
}

/* The model name and speed of each processor from /proc/cpuinfo, in the
 * order the kernel lists them; "unknown" and 0 where it does not say (ARM
 * kernels name no model). */
static int os_cpu_models(const char *cpuinfo, ax_cpu_info_t *infos, int n) {
  const char *model = strstr(cpuinfo, "model name");
  const char *mhz = strstr(cpuinfo, "cpu MHz");
  for (int i = 0; i < n; i++) {
    char name[256] = "unknown";
    if (model != NULL) {
      (void)sscanf(model, "model name : %255[^\n]", name);
      const char *next = strstr(model + 1, "model name");
      model = next != NULL ? next : model;
    }
    double speed = 0;
    if (mhz != NULL) {
      (void)sscanf(mhz, "cpu MHz : %lf", &speed);
      mhz = strstr(mhz + 1, "cpu MHz");
    }
    infos[i].speed_mhz = (int)speed;
    infos[i].model = ax__os_strdup(name);
    if (infos[i].model == NULL)
      return AX_ENOMEM;
  }
  return 0;
}

int ax_cpu_info(ax_cpu_info_t **cpu_infos, int *count) {
  if (cpu_infos == NULL || count == NULL)
    return AX_EINVAL;
  *cpu_infos = NULL;
  *count = 0;
  long conf = sysconf(_SC_NPROCESSORS_CONF);
  int max = conf > 0 ? (int)conf : 1;
  char *text = ax__malloc(OS_BIG_FILE);
  ax_cpu_info_t *infos = ax__calloc((size_t)max, sizeof(*infos));
  int err = text == NULL || infos == NULL ? AX_ENOMEM : 0;
  ssize_t got = err == 0 ? os_read_file("/proc/stat", text, OS_BIG_FILE) : 0;
  if (got < 0)
    err = (int)got;
  int n = err == 0 ? os_cpu_times(text, infos, max) : 0;
  if (err == 0 && n == 0)
    err = AX_EIO;
  if (err == 0 && os_read_file("/proc/cpuinfo", text, OS_BIG_FILE) < 0)
    text[0] = '\0';
  if (err == 0)
    err = os_cpu_models(text, infos, n);
  ax__free(text);
  if (err != 0) {
    ax_free_cpu_info(infos, infos != NULL ? n : 0);
    return err;
  }
  *cpu_infos = infos;
  *count = n;
  return 0;
}

uint64_t ax__os_max_rss_bytes(long ru_maxrss) {
  return (uint64_t)ru_maxrss * 1024u; /* Kilobytes: getrusage(2). */
}

bool ax__os_ifaddr_link(const struct ifaddrs *ent,
                        char phys_addr[AX_PHYS_ADDR_LEN]) {
  if (ent->ifa_addr == NULL || ent->ifa_addr->sa_family != AF_PACKET)
    return false;
  const struct sockaddr_ll *ll = (const struct sockaddr_ll *)ent->ifa_addr;
  size_t len = ll->sll_halen < AX_PHYS_ADDR_LEN ? ll->sll_halen
                                                : AX_PHYS_ADDR_LEN;
  memcpy(phys_addr, ll->sll_addr, len);
  return true;
}
