/*
 * unix/os-bsd.c: the utilities FreeBSD (and DragonFly) answer through
 * sysctl: memory, processors, the resident set, the executable's path and
 * the uptime. No control groups there: no memory limit, no CPU quota.
 * The names are FreeBSD's; OpenBSD and NetBSD name some differently and
 * have not been built against yet.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>
#include <sys/resource.h>
#include <sys/sysctl.h>
#include <sys/user.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

enum { OS_CPUSTATES = 5 }; /* user, nice, sys, intr, idle: kern.cp_times. */

uint64_t ax_get_free_memory(void) {
  unsigned int free_pages = 0;
  size_t len = sizeof(free_pages);
  if (sysctlbyname("vm.stats.vm.v_free_count", &free_pages, &len, NULL, 0) != 0)
    return 0;
  return (uint64_t)free_pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t ax_get_total_memory(void) {
  unsigned long bytes = 0;
  size_t len = sizeof(bytes);
  if (sysctlbyname("hw.physmem", &bytes, &len, NULL, 0) != 0)
    return 0;
  return (uint64_t)bytes;
}

uint64_t ax_get_constrained_memory(void) {
  return 0;
}

unsigned int ax_available_parallelism(void) {
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? (unsigned int)online : 1;
}

int ax_exepath(char *buf, size_t *size) {
  int err = ax__os_buf_check(buf, size);
  if (err != 0)
    return err;
  int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PATHNAME, -1};
  char path[PATH_MAX];
  size_t len = sizeof(path);
  if (sysctl(mib, 4, path, &len, NULL, 0) != 0)
    return ax_translate_sys_error(errno);
  return ax__os_buf_copy(path, strlen(path), buf, size);
}

int ax_resident_set_memory(size_t *rss_bytes) {
  if (rss_bytes == NULL)
    return AX_EINVAL;
  int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)getpid()};
  struct kinfo_proc info;
  size_t len = sizeof(info);
  if (sysctl(mib, 4, &info, &len, NULL, 0) != 0)
    return ax_translate_sys_error(errno);
  *rss_bytes = (size_t)info.ki_rssize * (size_t)sysconf(_SC_PAGESIZE);
  return 0;
}

int ax_uptime(double *uptime_s) {
  if (uptime_s == NULL)
    return AX_EINVAL;
  struct timespec ts;
  if (clock_gettime(CLOCK_UPTIME, &ts) != 0)
    return ax_translate_sys_error(errno);
  *uptime_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
  return 0;
}

int ax_cpu_info(ax_cpu_info_t **cpu_infos, int *count) {
  if (cpu_infos == NULL || count == NULL)
    return AX_EINVAL;
  *cpu_infos = NULL;
  *count = 0;
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  int n = online > 0 ? (int)online : 1;
  char model[256] = "unknown";
  size_t len = sizeof(model);
  if (sysctlbyname("hw.model", model, &len, NULL, 0) != 0)
    (void)strcpy(model, "unknown");
  int mhz = 0;
  len = sizeof(mhz);
  if (sysctlbyname("hw.clockrate", &mhz, &len, NULL, 0) != 0)
    mhz = 0;
  long *times = ax__calloc((size_t)n * OS_CPUSTATES, sizeof(long));
  ax_cpu_info_t *infos = ax__calloc((size_t)n, sizeof(*infos));
  int err = times == NULL || infos == NULL ? AX_ENOMEM : 0;
  len = (size_t)n * OS_CPUSTATES * sizeof(long);
  if (err == 0 && sysctlbyname("kern.cp_times", times, &len, NULL, 0) != 0)
    memset(times, 0, len);
  long tick = sysconf(_SC_CLK_TCK);
  uint64_t ms_per_tick = tick > 0 && tick <= 1000 ? 1000u / (uint64_t)tick : 10;
  for (int i = 0; err == 0 && i < n; i++) {
    const long *t = times + (size_t)i * OS_CPUSTATES;
    infos[i].cpu_times = (ax_cpu_times_t){
        .user_ms = (uint64_t)t[0] * ms_per_tick,
        .nice_ms = (uint64_t)t[1] * ms_per_tick,
        .sys_ms = (uint64_t)t[2] * ms_per_tick,
        .irq_ms = (uint64_t)t[3] * ms_per_tick,
        .idle_ms = (uint64_t)t[4] * ms_per_tick,
    };
    infos[i].speed_mhz = mhz;
    infos[i].model = ax__os_strdup(model);
    if (infos[i].model == NULL)
      err = AX_ENOMEM;
  }
  ax__free(times);
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
