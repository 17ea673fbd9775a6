/*
 * win/os.c: the operating-system utilities on Windows: processes, the
 * working directory, the home and temporary directories, the host's
 * names, the environment (the process's own, in UTF-16, converted to and
 * from UTF-8), memory, processors, load, priorities, sleep, random
 * bytes, the network adapters' addresses, the user and the resource
 * usage, the wall clock, the names of network interfaces by index, the
 * standard handles' inheritance and the C runtime's descriptors as
 * handles, each from the Win32 call that answers it.
 */
#include "fs-internal.h"

#include <ws2tcpip.h>
#include <iphlpapi.h>
#include <bcrypt.h>
#include <io.h>
#include <stdio.h>
#include <wchar.h>
#include <psapi.h>
#include <tlhelp32.h>
#include <userenv.h>
#include <winternl.h>

enum {
  /* GetEnvironmentVariableW's longest value, in WCHARs (32,767 + NUL). */
  OS_ENV_MAX = 32768,
  /* A long path, in WCHARs: what GetModuleFileNameW may return. */
  OS_PATH_MAX = 32768,
};

void ax_sleep(unsigned int duration_ms) {
  Sleep(duration_ms);
}

ax_pid_t ax_os_getpid(void) {
  return (ax_pid_t)GetCurrentProcessId();
}

/* Windows keeps the parent's id only in the process snapshot. */
ax_pid_t ax_os_getppid(void) {
  HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (snap == INVALID_HANDLE_VALUE)
    return 0;
  DWORD self = GetCurrentProcessId();
  DWORD parent = 0;
  PROCESSENTRY32W entry = {.dwSize = sizeof(entry)};
  for (BOOL ok = Process32FirstW(snap, &entry); ok;
       ok = Process32NextW(snap, &entry)) {
    if (entry.th32ProcessID == self) {
      parent = entry.th32ParentProcessID;
      break;
    }
  }
  CloseHandle(snap);
  return (ax_pid_t)parent;
}

/* Copy len WCHARs of wide (no NUL needed) into the caller's buffer as
 * UTF-8, by the caller's-buffer convention. */
static int os_copy_wide(const WCHAR *wide, size_t len, char *buf,
                        size_t *size) {
  char *utf8;
  int err = ax__win_fs_utf8(wide, (int)len, &utf8);
  if (err != 0)
    return err;
  err = ax__os_buf_copy(utf8, strlen(utf8), buf, size);
  ax__free(utf8);
  return err;
}

/* A directory without its trailing backslash, but for a drive's root
 * ("C:\"), which needs it. */
static size_t os_dir_len(const WCHAR *dir, size_t len) {
  if (len > 1 && dir[len - 1] == L'\\' && !(len == 3 && dir[1] == L':'))
    len--;
  return len;
}

int ax_cwd(char *buf, size_t *size) {
  int err = ax__os_buf_check(buf, size);
  if (err != 0)
    return err;
  WCHAR path[OS_PATH_MAX];
  DWORD len = GetCurrentDirectoryW(OS_PATH_MAX, path);
  if (len == 0 || len >= OS_PATH_MAX)
    return len == 0 ? ax__win_fs_error() : AX_ENAMETOOLONG;
  return os_copy_wide(path, os_dir_len(path, len), buf, size);
}

int ax_chdir(const char *dir) {
  if (dir == NULL)
    return AX_EINVAL;
  WCHAR *wide;
  int err = ax__win_fs_wide(dir, &wide);
  if (err != 0)
    return err;
  if (!SetCurrentDirectoryW(wide))
    err = ax__win_fs_error();
  ax__free(wide);
  return err;
}

int ax_exepath(char *buf, size_t *size) {
  int err = ax__os_buf_check(buf, size);
  if (err != 0)
    return err;
  WCHAR path[OS_PATH_MAX];
  DWORD len = GetModuleFileNameW(NULL, path, OS_PATH_MAX);
  if (len == 0 || len >= OS_PATH_MAX)
    return len == 0 ? ax__win_fs_error() : AX_ENAMETOOLONG;
  return os_copy_wide(path, len, buf, size);
}

/* The value of an environment variable, in a buffer of OS_ENV_MAX WCHARs:
 * its length, or AX_ENOENT. */
static int os_getenv_wide(const WCHAR *name, WCHAR *value, DWORD *len) {
  SetLastError(ERROR_SUCCESS);
  DWORD n = GetEnvironmentVariableW(name, value, OS_ENV_MAX);
  if (n == 0 && GetLastError() != ERROR_SUCCESS)
    return ax__win_fs_error();
  if (n >= OS_ENV_MAX)
    return AX_E2BIG;
  *len = n;
  return 0;
}

/* A directory named by an environment variable, into the caller's
 * buffer; AX_ENOENT if unset or empty. */
static int os_env_dir(const WCHAR *name, char *buf, size_t *size) {
  WCHAR *value = ax__malloc(OS_ENV_MAX * sizeof(WCHAR));
  if (value == NULL)
    return AX_ENOMEM;
  DWORD len = 0;
  int err = os_getenv_wide(name, value, &len);
  if (err == 0 && len == 0)
    err = AX_ENOENT;
  if (err == 0)
    err = os_copy_wide(value, os_dir_len(value, len), buf, size);
  ax__free(value);
  return err;
}

int ax_os_homedir(char *buf, size_t *size) {
  int err = ax__os_buf_check(buf, size);
  if (err != 0)
    return err;
  return os_env_dir(L"USERPROFILE", buf, size);
}

int ax_os_tmpdir(char *buf, size_t *size) {
  int err = ax__os_buf_check(buf, size);
  if (err != 0)
    return err;
  WCHAR path[MAX_PATH + 2];
  DWORD len = GetTempPathW(MAX_PATH + 2, path);
  if (len == 0 || len > MAX_PATH + 1)
    return len == 0 ? ax__win_fs_error() : AX_ENAMETOOLONG;
  return os_copy_wide(path, os_dir_len(path, len), buf, size);
}

int ax_os_gethostname(char *buf, size_t *size) {
  int err = ax__os_buf_check(buf, size);
  if (err != 0)
    return err;
  WCHAR name[256];
  DWORD len = 256;
  if (!GetComputerNameExW(ComputerNameDnsHostname, name, &len))
    return ax__win_fs_error();
  return os_copy_wide(name, len, buf, size);
}

/* RtlGetVersion tells the true version, where GetVersionExW reports what
 * the program's manifest declares it was built for. */
typedef LONG(WINAPI *os_rtl_get_version_fn)(OSVERSIONINFOW *info);

static const char *os_machine(void) {
  SYSTEM_INFO info;
  GetNativeSystemInfo(&info);
  switch (info.wProcessorArchitecture) {
  case PROCESSOR_ARCHITECTURE_AMD64:
    return "x86_64";
  case PROCESSOR_ARCHITECTURE_INTEL:
    return "i686";
  case PROCESSOR_ARCHITECTURE_ARM:
    return "arm";
  case PROCESSOR_ARCHITECTURE_ARM64:
    return "arm64";
  default:
    return "unknown";
  }
}

int ax_os_uname(ax_utsname_t *buffer) {
  if (buffer == NULL)
    return AX_EINVAL;
  OSVERSIONINFOW info = {.dwOSVersionInfoSize = sizeof(info)};
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  /* Through a plain function pointer first: FARPROC has another type. */
  os_rtl_get_version_fn get_version =
      ntdll != NULL ? (os_rtl_get_version_fn)(void (*)(void))GetProcAddress(
                          ntdll, "RtlGetVersion")
                    : NULL;
  if (get_version == NULL || get_version(&info) != 0)
    return AX_ENOSYS;
  (void)snprintf(buffer->sysname, sizeof(buffer->sysname), "Windows_NT");
  (void)snprintf(buffer->release, sizeof(buffer->release), "%lu.%lu.%lu",
                 (unsigned long)info.dwMajorVersion,
                 (unsigned long)info.dwMinorVersion,
                 (unsigned long)info.dwBuildNumber);
  char pack[128] = "";
  if (info.szCSDVersion[0] != L'\0')
    (void)WideCharToMultiByte(CP_UTF8, 0, info.szCSDVersion, -1, pack,
                              sizeof(pack) - 1, NULL, NULL);
  (void)snprintf(buffer->version, sizeof(buffer->version),
                 "Windows %lu.%lu%s%s", (unsigned long)info.dwMajorVersion,
                 (unsigned long)info.dwMinorVersion, pack[0] ? " " : "", pack);
  (void)snprintf(buffer->machine, sizeof(buffer->machine), "%s", os_machine());
  return 0;
}

int ax_os_getenv(const char *name, char *buf, size_t *size) {
  int err = ax__os_buf_check(buf, size);
  if (err != 0 || name == NULL)
    return AX_EINVAL;
  WCHAR *wide;
  err = ax__win_fs_wide(name, &wide);
  if (err != 0)
    return err;
  WCHAR *value = ax__malloc(OS_ENV_MAX * sizeof(WCHAR));
  DWORD len = 0;
  err = value == NULL ? AX_ENOMEM : os_getenv_wide(wide, value, &len);
  if (err == 0)
    err = os_copy_wide(value, len, buf, size);
  ax__free(value);
  ax__free(wide);
  return err;
}

/* Set (value not NULL) or remove a variable. */
static int os_setenv(const char *name, const char *value) {
  WCHAR *wide_name;
  WCHAR *wide_value = NULL;
  int err = ax__win_fs_wide(name, &wide_name);
  if (err != 0)
    return err;
  if (value != NULL)
    err = ax__win_fs_wide(value, &wide_value);
  if (err == 0 && !SetEnvironmentVariableW(wide_name, wide_value)) {
    err = ax__win_fs_error();
    /* Removing a variable that is not set is not a failure. */
    if (value == NULL && err == AX_ENOENT)
      err = 0;
  }
  ax__free(wide_value);
  ax__free(wide_name);
  return err;
}

int ax_os_setenv(const char *name, const char *value) {
  if (!ax__os_env_name_ok(name) || value == NULL)
    return AX_EINVAL;
  return os_setenv(name, value);
}

int ax_os_unsetenv(const char *name) {
  if (!ax__os_env_name_ok(name))
    return AX_EINVAL;
  return os_setenv(name, NULL);
}

/* One "name=value" entry of the environment block into item: 1 if it is
 * a variable, 0 for the drive entries ("=C:=C:\dir") that are not. */
static int os_environ_item(ax_env_item_t *item, const WCHAR *entry) {
  if (entry[0] == L'=')
    return 0;
  char *utf8;
  int err = ax__win_fs_utf8(entry, -1, &utf8);
  if (err != 0)
    return err;
  const char *eq = strchr(utf8, '=');
  err = eq == NULL ? 0
                   : ax__os_env_item(item, utf8, (size_t)(eq - utf8), eq + 1);
  ax__free(utf8);
  return err != 0 ? err : eq != NULL;
}

int ax_os_environ(ax_env_item_t **envitems, int *count) {
  if (envitems == NULL || count == NULL)
    return AX_EINVAL;
  *envitems = NULL;
  *count = 0;
  WCHAR *block = GetEnvironmentStringsW();
  if (block == NULL)
    return AX_ENOMEM;
  size_t total = 0;
  for (const WCHAR *p = block; *p != L'\0'; p += wcslen(p) + 1)
    total++;
  ax_env_item_t *items = ax__calloc(total == 0 ? 1 : total, sizeof(*items));
  int err = items == NULL ? AX_ENOMEM : 0;
  int n = 0;
  for (const WCHAR *p = block; err == 0 && *p != L'\0'; p += wcslen(p) + 1) {
    int added = os_environ_item(&items[n], p);
    if (added < 0)
      err = added;
    else
      n += added;
  }
  FreeEnvironmentStringsW(block);
  if (err != 0) {
    ax_os_free_environ(items, n);
    return err;
  }
  *envitems = items;
  *count = n;
  return 0;
}

uint64_t ax_get_free_memory(void) {
  MEMORYSTATUSEX status = {.dwLength = sizeof(status)};
  return GlobalMemoryStatusEx(&status) ? status.ullAvailPhys : 0;
}

uint64_t ax_get_total_memory(void) {
  MEMORYSTATUSEX status = {.dwLength = sizeof(status)};
  return GlobalMemoryStatusEx(&status) ? status.ullTotalPhys : 0;
}

/* A job object's memory limit would be Windows' control group; axle does
 * not read it yet. */
uint64_t ax_get_constrained_memory(void) {
  return 0;
}

unsigned int ax_available_parallelism(void) {
  DWORD_PTR process_mask;
  DWORD_PTR system_mask;
  unsigned int n = 0;
  if (GetProcessAffinityMask(GetCurrentProcess(), &process_mask,
                             &system_mask)) {
    for (; process_mask != 0; process_mask &= process_mask - 1)
      n++;
  }
  if (n == 0)
    n = (unsigned int)GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
  return n > 0 ? n : 1;
}

/* Processor i's name and speed, from the registry's description of it. */
static int os_cpu_model(ax_cpu_info_t *info, int i) {
  WCHAR key[96];
  (void)swprintf(key, sizeof(key) / sizeof(key[0]),
                 L"HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\%d", i);
  WCHAR name[256];
  DWORD len = sizeof(name);
  char *utf8 = NULL;
  if (RegGetValueW(HKEY_LOCAL_MACHINE, key, L"ProcessorNameString",
                   RRF_RT_REG_SZ, NULL, name, &len) == ERROR_SUCCESS &&
      ax__win_fs_utf8(name, -1, &utf8) != 0)
    return AX_ENOMEM;
  info->model = utf8 != NULL ? utf8 : ax__os_strdup("unknown");
  DWORD mhz = 0;
  len = sizeof(mhz);
  if (RegGetValueW(HKEY_LOCAL_MACHINE, key, L"~MHz", RRF_RT_REG_DWORD, NULL,
                   &mhz, &len) != ERROR_SUCCESS)
    mhz = 0;
  info->speed_mhz = (int)mhz;
  return info->model != NULL ? 0 : AX_ENOMEM;
}

typedef NTSTATUS(NTAPI *os_query_fn)(SYSTEM_INFORMATION_CLASS cls, void *info,
                                     ULONG len, ULONG *ret);

/* Each processor's times, from ntdll's per-processor counters (100 ns
 * units; the kernel time includes the idle time). Left zero if the call
 * is not there. */
static void os_cpu_times(ax_cpu_info_t *infos, int n) {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  os_query_fn query = ntdll != NULL
                          ? (os_query_fn)(void (*)(void))GetProcAddress(
                                ntdll, "NtQuerySystemInformation")
                          : NULL;
  SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION *perf = ax__calloc((size_t)n,
                                                              sizeof(*perf));
  ULONG len = (ULONG)((size_t)n * sizeof(*perf));
  if (query != NULL && perf != NULL &&
      query(SystemProcessorPerformanceInformation, perf, len, &len) >= 0) {
    for (int i = 0; i < n && (ULONG)i < len / sizeof(*perf); i++) {
      uint64_t idle = (uint64_t)perf[i].IdleTime.QuadPart / 10000u;
      uint64_t kernel = (uint64_t)perf[i].KernelTime.QuadPart / 10000u;
      infos[i].cpu_times.user_ms = (uint64_t)perf[i].UserTime.QuadPart / 10000u;
      infos[i].cpu_times.idle_ms = idle;
      infos[i].cpu_times.sys_ms = kernel > idle ? kernel - idle : 0;
    }
  }
  ax__free(perf);
}

int ax_cpu_info(ax_cpu_info_t **cpu_infos, int *count) {
  if (cpu_infos == NULL || count == NULL)
    return AX_EINVAL;
  *cpu_infos = NULL;
  *count = 0;
  SYSTEM_INFO system;
  GetSystemInfo(&system);
  int n = system.dwNumberOfProcessors > 0 ? (int)system.dwNumberOfProcessors
                                          : 1;
  ax_cpu_info_t *infos = ax__calloc((size_t)n, sizeof(*infos));
  if (infos == NULL)
    return AX_ENOMEM;
  for (int i = 0; i < n; i++) {
    int err = os_cpu_model(&infos[i], i);
    if (err != 0) {
      ax_free_cpu_info(infos, n);
      return err;
    }
  }
  os_cpu_times(infos, n);
  *cpu_infos = infos;
  *count = n;
  return 0;
}

void ax_loadavg(double avg[3]) {
  if (avg != NULL)
    avg[0] = avg[1] = avg[2] = 0.0;
}

int ax_resident_set_memory(size_t *rss_bytes) {
  if (rss_bytes == NULL)
    return AX_EINVAL;
  PROCESS_MEMORY_COUNTERS counters;
  if (!GetProcessMemoryInfo(GetCurrentProcess(), &counters, sizeof(counters)))
    return ax__win_fs_error();
  *rss_bytes = counters.WorkingSetSize;
  return 0;
}

int ax_uptime(double *uptime_s) {
  if (uptime_s == NULL)
    return AX_EINVAL;
  *uptime_s = (double)GetTickCount64() / 1000.0;
  return 0;
}

/* The process pid names (0: this one), opened for access. */
static int os_open_process(ax_pid_t pid, DWORD access, HANDLE *process) {
  if (pid == 0 || (DWORD)pid == GetCurrentProcessId()) {
    *process = GetCurrentProcess();
    return 0;
  }
  *process = OpenProcess(access, FALSE, (DWORD)pid);
  if (*process != NULL)
    return 0;
  /* OpenProcess says "invalid parameter" for an id no process has. */
  int err = ax__win_fs_error();
  return err == AX_EINVAL ? AX_ESRCH : err;
}

/* Priority classes and the nice values they stand for, highest first. */
static const struct {
  DWORD priority_class; /* What SetPriorityClass() takes. */
  int nice;             /* The AX_PRIORITY_* value it maps to. */
} os_priorities[] = {
    {REALTIME_PRIORITY_CLASS, AX_PRIORITY_HIGHEST},
    {HIGH_PRIORITY_CLASS, AX_PRIORITY_HIGH},
    {ABOVE_NORMAL_PRIORITY_CLASS, AX_PRIORITY_ABOVE_NORMAL},
    {NORMAL_PRIORITY_CLASS, AX_PRIORITY_NORMAL},
    {BELOW_NORMAL_PRIORITY_CLASS, AX_PRIORITY_BELOW_NORMAL},
    {IDLE_PRIORITY_CLASS, AX_PRIORITY_LOW},
};
enum { OS_PRIORITIES = sizeof(os_priorities) / sizeof(os_priorities[0]) };

int ax_os_getpriority(ax_pid_t pid, int *priority) {
  if (priority == NULL)
    return AX_EINVAL;
  HANDLE process;
  int err = os_open_process(pid, PROCESS_QUERY_LIMITED_INFORMATION, &process);
  if (err != 0)
    return err;
  DWORD cls = GetPriorityClass(process);
  err = cls == 0 ? ax__win_fs_error() : 0;
  if (process != GetCurrentProcess())
    CloseHandle(process);
  if (err != 0)
    return err;
  *priority = AX_PRIORITY_NORMAL;
  for (int i = 0; i < OS_PRIORITIES; i++) {
    if (os_priorities[i].priority_class == cls)
      *priority = os_priorities[i].nice;
  }
  return 0;
}

int ax_os_setpriority(ax_pid_t pid, int priority) {
  if (priority < AX_PRIORITY_HIGHEST || priority > AX_PRIORITY_LOW)
    return AX_EINVAL;
  /* The lowest class whose nice value priority reaches: -20..-15 is
   * REALTIME, -14..-8 HIGH, and so on up to 19, IDLE (docs/os.md). */
  DWORD cls = os_priorities[0].priority_class;
  for (int i = 0; i < OS_PRIORITIES; i++) {
    if (priority >= os_priorities[i].nice)
      cls = os_priorities[i].priority_class;
  }
  HANDLE process;
  int err = os_open_process(pid, PROCESS_SET_INFORMATION, &process);
  if (err != 0)
    return err;
  if (!SetPriorityClass(process, cls))
    err = ax__win_fs_error();
  if (process != GetCurrentProcess())
    CloseHandle(process);
  return err;
}

/* BCryptGenRandom with the system's preferred generator: no algorithm
 * handle to open, and the same source RtlGenRandom draws on. It takes a
 * ULONG length: larger buffers go in pieces. */
int ax__random_fill(void *buf, size_t len_bytes) {
  unsigned char *p = buf;
  while (len_bytes > 0) {
    ULONG n = len_bytes > 0x40000000u ? 0x40000000u : (ULONG)len_bytes;
    if (!BCRYPT_SUCCESS(
            BCryptGenRandom(NULL, p, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
      return AX_EIO;
    p += n;
    len_bytes -= n;
  }
  return 0;
}

enum {
  /* GetAdaptersAddresses's buffer: Microsoft advises starting at 15 KB;
   * it says how much it needs when that is short, and the list may grow
   * between two calls, so a few tries. */
  OS_ADAPTERS_BUF = 15 * 1024,
  OS_ADAPTERS_TRIES = 4,
};

/* The adapters and their unicast addresses, in a buffer to ax__free: 0
 * (*out NULL if there is none), AX_ENOMEM or the system's error. */
static int os_adapters(IP_ADAPTER_ADDRESSES **out) {
  ULONG flags = GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST |
                GAA_FLAG_SKIP_DNS_SERVER;
  ULONG len = OS_ADAPTERS_BUF;
  *out = NULL;
  for (int tries = 0; tries < OS_ADAPTERS_TRIES; tries++) {
    IP_ADAPTER_ADDRESSES *buf = ax__malloc(len);
    if (buf == NULL)
      return AX_ENOMEM;
    ULONG rc = GetAdaptersAddresses(AF_UNSPEC, flags, NULL, buf, &len);
    if (rc == ERROR_SUCCESS) {
      *out = buf;
      return 0;
    }
    ax__free(buf);
    if (rc == ERROR_NO_DATA)
      return 0;
    if (rc != ERROR_BUFFER_OVERFLOW)
      return ax_translate_sys_error((int)rc);
  }
  return AX_ENOBUFS;
}

/* Whether addr is reported: an IPv4 or IPv6 address of an adapter that
 * is up. */
static bool os_adapter_addr_wanted(const IP_ADAPTER_ADDRESSES *adapter,
                                   const IP_ADAPTER_UNICAST_ADDRESS *addr) {
  int family = addr->Address.lpSockaddr->sa_family;
  return adapter->OperStatus == IfOperStatusUp &&
         (family == AF_INET || family == AF_INET6);
}

/* The netmask of prefix_len bits, of family, into out. */
static void os_adapter_netmask(ax_interface_sockaddr_t *out, int family,
                               unsigned int prefix_len) {
  memset(out, 0, sizeof(*out));
  if (family == AF_INET) {
    struct sockaddr_in mask = {.sin_family = AF_INET};
    ULONG bits = prefix_len >= 32  ? 0xffffffffu
                 : prefix_len == 0 ? 0
                                   : ~(0xffffffffu >> prefix_len);
    mask.sin_addr.s_addr = htonl(bits);
    memcpy(out->bytes, &mask, sizeof(mask));
    return;
  }
  struct sockaddr_in6 mask = {.sin6_family = AF_INET6};
  for (unsigned int i = 0; i < 16 && prefix_len > 0; i++) {
    unsigned int bits = prefix_len >= 8 ? 8 : prefix_len;
    mask.sin6_addr.s6_addr[i] = (UCHAR)(0xffu << (8 - bits));
    prefix_len -= bits;
  }
  memcpy(out->bytes, &mask, sizeof(mask));
}

/* Fill out from one address of adapter: 0 or AX_ENOMEM. */
static int os_adapter_fill(ax_interface_address_t *out,
                           const IP_ADAPTER_ADDRESSES *adapter,
                           const IP_ADAPTER_UNICAST_ADDRESS *addr) {
  int err = ax__win_fs_utf8(adapter->FriendlyName, -1, &out->name);
  if (err != 0)
    return err;
  const struct sockaddr *sa = addr->Address.lpSockaddr;
  size_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                         : sizeof(struct sockaddr_in);
  memcpy(out->address.bytes, sa, len);
  os_adapter_netmask(&out->netmask, sa->sa_family, addr->OnLinkPrefixLength);
  if (adapter->PhysicalAddressLength == AX_PHYS_ADDR_LEN)
    memcpy(out->phys_addr, adapter->PhysicalAddress, AX_PHYS_ADDR_LEN);
  out->is_internal = adapter->IfType == IF_TYPE_SOFTWARE_LOOPBACK;
  return 0;
}

/* Count the reported addresses of adapters. */
static int os_adapters_count(const IP_ADAPTER_ADDRESSES *adapters) {
  int n = 0;
  for (const IP_ADAPTER_ADDRESSES *a = adapters; a != NULL; a = a->Next) {
    for (const IP_ADAPTER_UNICAST_ADDRESS *u = a->FirstUnicastAddress;
         u != NULL; u = u->Next)
      n += os_adapter_addr_wanted(a, u) ? 1 : 0;
  }
  return n;
}

/* Fill out (count entries, zeroed) from adapters: 0, or an error with
 * the names copied so far freed. */
static int os_adapters_fill(const IP_ADAPTER_ADDRESSES *adapters,
                            ax_interface_address_t *out, int count) {
  int i = 0;
  for (const IP_ADAPTER_ADDRESSES *a = adapters; a != NULL; a = a->Next) {
    for (const IP_ADAPTER_UNICAST_ADDRESS *u = a->FirstUnicastAddress;
         u != NULL && i < count; u = u->Next) {
      if (!os_adapter_addr_wanted(a, u))
        continue;
      int err = os_adapter_fill(&out[i], a, u);
      if (err != 0) {
        for (int j = 0; j < i; j++)
          ax__free(out[j].name);
        return err;
      }
      i++;
    }
  }
  return 0;
}

int ax_interface_addresses(ax_interface_address_t **addresses, int *count) {
  if (addresses == NULL || count == NULL)
    return AX_EINVAL;
  *addresses = NULL;
  *count = 0;
  IP_ADAPTER_ADDRESSES *adapters = NULL;
  int err = os_adapters(&adapters);
  if (err != 0)
    return err;
  int n = os_adapters_count(adapters);
  ax_interface_address_t *out = ax__calloc(n == 0 ? 1 : (size_t)n,
                                           sizeof(*out));
  err = out == NULL ? AX_ENOMEM : os_adapters_fill(adapters, out, n);
  ax__free(adapters);
  if (err != 0) {
    ax__free(out);
    return err;
  }
  *addresses = out;
  *count = n;
  return 0;
}

/* The profile directory of the user the process runs as, as UTF-8. */
static int os_profile_dir(char **utf8) {
  HANDLE token;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_READ, &token))
    return ax__win_fs_error();
  WCHAR dir[OS_PATH_MAX];
  DWORD len = OS_PATH_MAX;
  BOOL ok = GetUserProfileDirectoryW(token, dir, &len);
  int err = ok ? 0 : ax__win_fs_error();
  CloseHandle(token);
  return err != 0 ? err : ax__win_fs_utf8(dir, -1, utf8);
}

int ax_os_get_passwd(ax_passwd_t *pwd) {
  if (pwd == NULL)
    return AX_EINVAL;
  pwd->username = pwd->shell = pwd->homedir = NULL;
  /* UNLEN (256) + NUL: the longest user name. */
  WCHAR name[257];
  DWORD name_len = 257;
  if (!GetUserNameW(name, &name_len))
    return ax__win_fs_error();
  char *username = NULL;
  char *homedir = NULL;
  int err = ax__win_fs_utf8(name, -1, &username);
  if (err == 0)
    err = os_profile_dir(&homedir);
  if (err == 0)
    err = ax__os_passwd_fill(pwd, username, NULL, homedir);
  ax__free(username);
  ax__free(homedir);
  if (err != 0)
    return err;
  /* Windows has SIDs, not numeric ids (libuv says -1 too). */
  pwd->uid = -1;
  pwd->gid = -1;
  return 0;
}

/* A FILETIME's count of 100 ns ticks, in microseconds. */
static uint64_t os_filetime_us(const FILETIME *ft) {
  ULARGE_INTEGER ticks = {.LowPart = ft->dwLowDateTime,
                          .HighPart = ft->dwHighDateTime};
  return ticks.QuadPart / 10u;
}

int ax_getrusage(ax_rusage_t *rusage) {
  if (rusage == NULL)
    return AX_EINVAL;
  HANDLE self = GetCurrentProcess();
  FILETIME created, exited, kernel, user;
  PROCESS_MEMORY_COUNTERS memory;
  IO_COUNTERS io;
  if (!GetProcessTimes(self, &created, &exited, &kernel, &user) ||
      !GetProcessMemoryInfo(self, &memory, sizeof(memory)) ||
      !GetProcessIoCounters(self, &io))
    return ax__win_fs_error();
  memset(rusage, 0, sizeof(*rusage));
  rusage->user_time_us = os_filetime_us(&user);
  rusage->system_time_us = os_filetime_us(&kernel);
  rusage->max_rss_bytes = memory.PeakWorkingSetSize;
  /* Windows counts soft and hard faults together; libuv reports them as
   * major faults, and so does axle, for programs ported from it. */
  rusage->major_faults = memory.PageFaultCount;
  rusage->block_inputs = io.ReadOperationCount;
  rusage->block_outputs = io.WriteOperationCount;
  return 0;
}

int ax_gettimeofday(ax_timeval64_t *tv) {
  if (tv == NULL)
    return AX_EINVAL;
  /* 100-nanosecond ticks since 1601-01-01, which is 11644473600 seconds
   * before the Unix epoch. */
  enum { OS_TICKS_PER_US = 10, OS_US_PER_S = 1000000 };
  const uint64_t epoch_diff_us = UINT64_C(11644473600) * OS_US_PER_S;
  FILETIME ft;
  GetSystemTimePreciseAsFileTime(&ft);
  uint64_t ticks = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
  uint64_t us = ticks / OS_TICKS_PER_US - epoch_diff_us;
  tv->sec = (int64_t)(us / OS_US_PER_S);
  tv->usec = (int32_t)(us % OS_US_PER_S);
  return 0;
}

int ax_if_indextoname(unsigned int ifindex, char *buf, size_t *size) {
  int err = ax__os_buf_check(buf, size);
  if (err != 0)
    return err;
  NET_LUID luid;
  if (ConvertInterfaceIndexToLuid(ifindex, &luid) != NO_ERROR)
    return AX_ENODEV;
  WCHAR wide[IF_MAX_STRING_SIZE + 1];
  DWORD rc = ConvertInterfaceLuidToNameW(&luid, wide, IF_MAX_STRING_SIZE + 1);
  if (rc != NO_ERROR)
    return ax_translate_sys_error((int)rc);
  char *utf8;
  err = ax__win_fs_utf8(wide, -1, &utf8);
  if (err != 0)
    return err;
  err = ax__os_buf_copy(utf8, strlen(utf8), buf, size);
  ax__free(utf8);
  return err;
}

/* Windows scopes an IPv6 address by the interface's number. */
int ax_if_indextoiid(unsigned int ifindex, char *buf, size_t *size) {
  int err = ax__os_buf_check(buf, size);
  if (err != 0)
    return err;
  char text[16];
  int len = snprintf(text, sizeof(text), "%u", ifindex);
  return ax__os_buf_copy(text, (size_t)len, buf, size);
}

void ax_disable_stdio_inheritance(void) {
  static const DWORD std_handles[] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
                                      STD_ERROR_HANDLE};
  for (size_t i = 0; i < sizeof(std_handles) / sizeof(std_handles[0]); i++) {
    HANDLE handle = GetStdHandle(std_handles[i]);
    /* A program with no console may have none: nothing to keep. */
    if (handle != NULL && handle != INVALID_HANDLE_VALUE)
      (void)SetHandleInformation(handle, HANDLE_FLAG_INHERIT, 0);
  }
}

ax_os_fd_t ax_get_osfhandle(int fd) {
  HANDLE handle;
  return ax__win_fs_handle(fd, &handle) == 0 ? handle : INVALID_HANDLE_VALUE;
}

int ax_open_osfhandle(ax_os_fd_t os_fd) {
  if (os_fd == NULL || os_fd == INVALID_HANDLE_VALUE)
    return AX_EBADF;
  int fd = _open_osfhandle((intptr_t)os_fd, 0);
  /* The C runtime's errno (EMFILE) negated is axle's code. */
  return fd >= 0 ? fd : (errno != 0 ? -errno : AX_EMFILE);
}
