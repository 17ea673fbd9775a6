/*
 * unix/os-darwin.c: the utilities macOS answers through Mach and sysctl:
 * memory, processors, the resident set, the executable's path and the
 * uptime. macOS has no control groups: no memory limit, no CPU quota.
 */
#include <limits.h>
#include <mach-o/dyld.h>
#include <mach/mach.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysctl.h>
#include <sys/time.h>
#include <unistd.h>

#include "internal.h"

uint64_t ax_get_free_memory(void) {
  vm_statistics64_data_t info;
  mach_msg_type_number_t count = HOST_VM_INFO64_COUNT;
  if (host_statistics64(mach_host_self(), HOST_VM_INFO64, (host_info64_t)&info,
                        &count) != KERN_SUCCESS)
    return 0;
  return (uint64_t)info.free_count * (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t ax_get_total_memory(void) {
  uint64_t bytes = 0;
  size_t len = sizeof(bytes);
  if (sysctlbyname("hw.memsize", &bytes, &len, NULL, 0) != 0)
    return 0;
  return bytes;
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
  char raw[PATH_MAX];
  uint32_t raw_len = sizeof(raw);
  if (_NSGetExecutablePath(raw, &raw_len) != 0)
    return AX_ENAMETOOLONG;
  /* The path the program was started by may be relative or hold links. */
  char path[PATH_MAX];
  if (realpath(raw, path) == NULL)
    return ax_translate_sys_error(errno);
  return ax__os_buf_copy(path, strlen(path), buf, size);
}

int ax_resident_set_memory(size_t *rss_bytes) {
  if (rss_bytes == NULL)
    return AX_EINVAL;
  struct mach_task_basic_info info;
  mach_msg_type_number_t count = MACH_TASK_BASIC_INFO_COUNT;
  if (task_info(mach_task_self(), MACH_TASK_BASIC_INFO, (task_info_t)&info,
                &count) != KERN_SUCCESS)
    return AX_EIO;
  *rss_bytes = (size_t)info.resident_size;
  return 0;
}

int ax_uptime(double *uptime_s) {
  if (uptime_s == NULL)
    return AX_EINVAL;
  struct timeval boot;
  size_t len = sizeof(boot);
  if (sysctlbyname("kern.boottime", &boot, &len, NULL, 0) != 0)
    return ax_translate_sys_error(errno);
  struct timeval now;
  gettimeofday(&now, NULL);
  *uptime_s = (double)(now.tv_sec - boot.tv_sec) +
              (double)(now.tv_usec - boot.tv_usec) / 1e6;
  return 0;
}

/* Fill each processor's model and speed: one brand string for all; the
 * speed where the system tells it (Apple silicon does not: 0). */
static int os_cpu_models(ax_cpu_info_t *infos, int n) {
  char model[256] = "unknown";
  size_t len = sizeof(model);
  if (sysctlbyname("machdep.cpu.brand_string", model, &len, NULL, 0) != 0)
    (void)strcpy(model, "unknown");
  uint64_t hz = 0;
  len = sizeof(hz);
  if (sysctlbyname("hw.cpufrequency", &hz, &len, NULL, 0) != 0)
    hz = 0;
  for (int i = 0; i < n; i++) {
    infos[i].speed_mhz = (int)(hz / 1000000u);
    infos[i].model = ax__os_strdup(model);
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
  natural_t n = 0;
  processor_cpu_load_info_t load;
  mach_msg_type_number_t load_count;
  if (host_processor_info(mach_host_self(), PROCESSOR_CPU_LOAD_INFO, &n,
                          (processor_info_array_t *)&load,
                          &load_count) != KERN_SUCCESS)
    return AX_EIO;
  ax_cpu_info_t *infos = ax__calloc(n, sizeof(*infos));
  int err = infos == NULL ? AX_ENOMEM : 0;
  long tick = sysconf(_SC_CLK_TCK);
  uint64_t ms_per_tick = tick > 0 && tick <= 1000 ? 1000u / (uint64_t)tick : 10;
  for (natural_t i = 0; err == 0 && i < n; i++) {
    const unsigned int *ticks = load[i].cpu_ticks;
    infos[i].cpu_times = (ax_cpu_times_t){
        .user_ms = ticks[CPU_STATE_USER] * ms_per_tick,
        .nice_ms = ticks[CPU_STATE_NICE] * ms_per_tick,
        .sys_ms = ticks[CPU_STATE_SYSTEM] * ms_per_tick,
        .idle_ms = ticks[CPU_STATE_IDLE] * ms_per_tick,
        .irq_ms = 0,
    };
  }
  (void)vm_deallocate(mach_task_self(), (vm_address_t)load,
                      load_count * sizeof(integer_t));
  if (err == 0)
    err = os_cpu_models(infos, (int)n);
  if (err != 0) {
    ax_free_cpu_info(infos, infos != NULL ? (int)n : 0);
    return err;
  }
  *cpu_infos = infos;
  *count = (int)n;
  return 0;
}

uint64_t ax__os_max_rss_bytes(long ru_maxrss) {
  return (uint64_t)ru_maxrss; /* Bytes on macOS, unlike the BSDs. */
}
