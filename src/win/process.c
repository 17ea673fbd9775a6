/*
 * win/process.c: the Windows part of child processes (src/child.h).
 *
 * Starting one: CreateProcessW with
 *   - the program found as CreateProcessW will not do it for us: a path
 *     with a directory is taken as it is, a bare name is looked for in the
 *     child's working directory and then in each directory of PATH (the
 *     child's PATH where the environment given sets one), each time as
 *     given and with ".exe" and ".com" added when it has no extension;
 *   - a command line quoted so that the child's CommandLineToArgvW (and
 *     the C runtime's own parser, which follows the same rules) gives back
 *     the arguments as they were: an argument with a space, a tab or a
 *     quote is quoted, a quote in it is escaped with a backslash, and the
 *     backslashes before a quote (or before the closing quote) doubled.
 *     AX_PROCESS_WINDOWS_VERBATIM_ARGUMENTS joins them with spaces only;
 *   - an environment block, UTF-16, sorted by name without regard to case
 *     as Windows expects, when the options give one;
 *   - the standard handles 0 to 2 in STARTUPINFO, and every descriptor
 *     (0 to 2 too, and above) in the C runtime's block of inherited
 *     descriptors (lpReserved2), which the child's runtime reads at start;
 *     only those handles are inherited (PROC_THREAD_ATTRIBUTE_HANDLE_LIST),
 *     so that handles another thread makes inheritable meanwhile do not
 *     leak into the child. IGNORE is the NUL device for 0 to 2 and nothing
 *     above; INHERIT_FD a duplicate of the C runtime descriptor's handle;
 *     INHERIT_STREAM a duplicate of the stream's handle or socket;
 *     CREATE_PIPE a pair of pipe ends (pipe.c), the child's synchronous,
 *     as a C runtime expects, the parent's overlapped and given to the
 *     ax_pipe_t;
 *   - WINDOWS_HIDE: SW_HIDE; DETACHED: a process group of its own and no
 *     console (CREATE_NEW_PROCESS_GROUP | DETACHED_PROCESS).
 * A program that cannot start is this call's error (CreateProcessW
 * fails), never an exit.
 *
 * Its end: RegisterWaitForSingleObject on the process handle, whose
 * callback (on a pool thread) posts one packet to the loop's port; the
 * loop then reads the exit code (GetExitCodeProcess) and calls exit_cb
 * with it, and with the signal ax_process_kill() ended it with, if any
 * (Windows has no signals: the code is then 1). Closing the handle
 * before the end unregisters the wait, and waits for a packet already
 * posted. ax_process_kill() and ax_kill() end a process with
 * TerminateProcess for SIGTERM, SIGKILL, SIGINT and SIGQUIT, and answer
 * whether it runs for 0.
 */
#include <io.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "fs-internal.h"
#include "../child.h"
#include "iocp-pipe.h"

/* The C runtime's flags of an inherited descriptor (lpReserved2). */
enum {
  PROCESS_CRT_FOPEN = 0x01,
  PROCESS_CRT_FPIPE = 0x08,
  PROCESS_CRT_FDEV = 0x40,
};

/* Signals the C runtime on Windows does not name, by their POSIX numbers
 * (as libuv takes them too). */
enum { PROCESS_SIGQUIT = 3, PROCESS_SIGKILL = 9 };

/* The most descriptors a child is given: the runtime's block is sized by
 * a WORD (cbReserved2), and a handle list of more is no use. */
enum { PROCESS_STDIO_MAX = 256 };

/* The state of a running child. */
struct ax__process_sys {
  ax__io_t exit;        /* The packet the wait's callback posts. */
  ax_process_t *owner;  /* The handle, or NULL once it closed. */
  ax_loop_t *loop;      /* Its loop. */
  HANDLE process;       /* The child's process handle. */
  HANDLE wait;          /* The registered wait. */
  volatile LONG posted; /* The callback posted the packet. */
  int term_signal;      /* The signal ax_process_kill() ended it with. */
};

/* ---- Words ---- */

/* Append n units of src to the growing wide string *buf (of *len units,
 * room for *cap). 0 or AX_ENOMEM. */
static int process_append(WCHAR **buf, size_t *len, size_t *cap,
                          const WCHAR *src, size_t n) {
  if (*len + n + 1 > *cap) {
    size_t cap2 = (*cap + n + 1) * 2;
    WCHAR *grown = ax__realloc(*buf, cap2 * sizeof(WCHAR));
    if (grown == NULL)
      return AX_ENOMEM;
    *buf = grown;
    *cap = cap2;
  }
  memcpy(*buf + *len, src, n * sizeof(WCHAR));
  *len += n;
  (*buf)[*len] = L'\0';
  return 0;
}

static int process_append_char(WCHAR **buf, size_t *len, size_t *cap, WCHAR c,
                               size_t count) {
  for (size_t i = 0; i < count; i++) {
    int err = process_append(buf, len, cap, &c, 1);
    if (err != 0)
      return err;
  }
  return 0;
}

/* One argument, quoted for CommandLineToArgvW (see the top). */
static int process_quote(WCHAR **buf, size_t *len, size_t *cap,
                         const WCHAR *arg) {
  if (arg[0] != L'\0' && wcspbrk(arg, L" \t\n\v\"") == NULL)
    return process_append(buf, len, cap, arg, wcslen(arg));
  int err = process_append_char(buf, len, cap, L'"', 1);
  size_t backslashes = 0;
  for (const WCHAR *p = arg; err == 0 && *p != L'\0'; p++) {
    if (*p == L'\\') {
      backslashes++;
      continue;
    }
    /* Backslashes before a quote are doubled, and the quote escaped. */
    size_t times = *p == L'"' ? backslashes * 2 + 1 : backslashes;
    err = process_append_char(buf, len, cap, L'\\', times);
    if (err == 0)
      err = process_append(buf, len, cap, p, 1);
    backslashes = 0;
  }
  /* Before the closing quote, too. */
  if (err == 0)
    err = process_append_char(buf, len, cap, L'\\', backslashes * 2);
  if (err == 0)
    err = process_append_char(buf, len, cap, L'"', 1);
  return err;
}

/* The command line of args (or just file), in *out. */
static int process_command_line(const ax_process_options_t *options,
                                WCHAR **out) {
  char *only[] = {(char *)(uintptr_t)options->file, NULL};
  char **args = options->args != NULL ? options->args : only;
  bool verbatim = options->flags & AX_PROCESS_WINDOWS_VERBATIM_ARGUMENTS;
  WCHAR *buf = NULL;
  size_t len = 0;
  size_t cap = 0;
  int err = process_append(&buf, &len, &cap, L"", 0);
  for (size_t i = 0; err == 0 && args[i] != NULL; i++) {
    WCHAR *wide;
    err = ax__win_fs_wide(args[i], &wide);
    if (err != 0)
      break;
    if (i > 0)
      err = process_append_char(&buf, &len, &cap, L' ', 1);
    if (err == 0)
      err = verbatim ? process_append(&buf, &len, &cap, wide, wcslen(wide))
                     : process_quote(&buf, &len, &cap, wide);
    ax__free(wide);
  }
  if (err != 0) {
    ax__free(buf);
    return err;
  }
  *out = buf;
  return 0;
}

/* The name part of "NAME=value", compared as Windows sorts the block:
 * by the upper-case name. */
static int process_env_compare(const void *a, const void *b) {
  const WCHAR *x = *(const WCHAR *const *)a;
  const WCHAR *y = *(const WCHAR *const *)b;
  const WCHAR *xe = wcschr(x + (x[0] == L'='), L'=');
  const WCHAR *ye = wcschr(y + (y[0] == L'='), L'=');
  int xl = xe != NULL ? (int)(xe - x) : (int)wcslen(x);
  int yl = ye != NULL ? (int)(ye - y) : (int)wcslen(y);
  int order = CompareStringOrdinal(x, xl, y, yl, TRUE);
  return order - CSTR_EQUAL;
}

static void process_env_free(WCHAR **vars, size_t count) {
  for (size_t i = 0; i < count; i++)
    ax__free(vars[i]);
  ax__free(vars);
}

/* The environment block of env, sorted, in *out; NULL for none. */
static int process_env_block(char **env, WCHAR **out) {
  *out = NULL;
  if (env == NULL)
    return 0;
  size_t count = 0;
  while (env[count] != NULL)
    count++;
  WCHAR **vars = ax__calloc(count + 1, sizeof(*vars));
  if (vars == NULL)
    return AX_ENOMEM;
  int err = 0;
  for (size_t i = 0; err == 0 && i < count; i++)
    err = ax__win_fs_wide(env[i], &vars[i]);
  if (err == 0)
    qsort(vars, count, sizeof(*vars), process_env_compare);
  WCHAR *buf = NULL;
  size_t len = 0;
  size_t cap = 0;
  for (size_t i = 0; err == 0 && i < count; i++)
    err = process_append(&buf, &len, &cap, vars[i], wcslen(vars[i]) + 1);
  if (err == 0) /* Ends with an empty string; an empty block needs two. */
    err = process_append_char(&buf, &len, &cap, L'\0', count == 0 ? 2 : 1);
  process_env_free(vars, count);
  if (err != 0) {
    ax__free(buf);
    return err;
  }
  *out = buf;
  return 0;
}

/* ---- Finding the program ---- */

static bool process_is_file(const WCHAR *path) {
  DWORD attributes = GetFileAttributesW(path);
  return attributes != INVALID_FILE_ATTRIBUTES &&
         (attributes & FILE_ATTRIBUTE_DIRECTORY) == 0;
}

/* dir\file, then with .exe and .com if file has no extension: the first
 * that is a file, in *out. */
static int process_try_dir(const WCHAR *dir, size_t dir_len, const WCHAR *file,
                           WCHAR **out) {
  static const WCHAR *const extensions[] = {L"", L".exe", L".com"};
  const WCHAR *base = file;
  for (const WCHAR *p = file; *p != L'\0'; p++)
    if (*p == L'\\' || *p == L'/')
      base = p + 1;
  bool has_extension = wcschr(base, L'.') != NULL;
  for (size_t i = 0; i < 3; i++) {
    if (i > 0 && has_extension)
      break;
    WCHAR *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    int err = process_append(&buf, &len, &cap, dir, dir_len);
    if (err == 0 && dir_len > 0 && dir[dir_len - 1] != L'\\' &&
        dir[dir_len - 1] != L'/')
      err = process_append_char(&buf, &len, &cap, L'\\', 1);
    if (err == 0)
      err = process_append(&buf, &len, &cap, file, wcslen(file));
    if (err == 0)
      err = process_append(&buf, &len, &cap, extensions[i],
                           wcslen(extensions[i]));
    if (err != 0) {
      ax__free(buf);
      return err;
    }
    if (process_is_file(buf)) {
      *out = buf;
      return 0;
    }
    ax__free(buf);
  }
  return AX_ENOENT;
}

/* PATH: the environment's given, or this process's, in *out (NULL if
 * none). */
static int process_path_var(char **env, WCHAR **out) {
  *out = NULL;
  for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
    if (_strnicmp(env[i], "PATH=", 5) == 0)
      return ax__win_fs_wide(env[i] + 5, out);
  }
  if (env != NULL)
    return 0;
  DWORD len = GetEnvironmentVariableW(L"PATH", NULL, 0);
  if (len == 0)
    return 0;
  WCHAR *path = ax__malloc(len * sizeof(WCHAR));
  if (path == NULL)
    return AX_ENOMEM;
  GetEnvironmentVariableW(L"PATH", path, len);
  *out = path;
  return 0;
}

/* The program's path, as the top of the file says, in *out. */
static int process_find(const WCHAR *file, const WCHAR *cwd, char **env,
                        WCHAR **out) {
  bool has_dir = wcspbrk(file, L"\\/:") != NULL;
  if (has_dir)
    return process_try_dir(L"", 0, file, out);
  int err = process_try_dir(cwd != NULL ? cwd : L".",
                            cwd != NULL ? wcslen(cwd) : 1, file, out);
  if (err != AX_ENOENT)
    return err;
  WCHAR *path;
  err = process_path_var(env, &path);
  if (err != 0 || path == NULL)
    return err != 0 ? err : AX_ENOENT;
  err = AX_ENOENT;
  for (WCHAR *dir = path; err == AX_ENOENT && *dir != L'\0';) {
    WCHAR *end = wcschr(dir, L';');
    size_t dir_len = end != NULL ? (size_t)(end - dir) : wcslen(dir);
    if (dir_len > 0)
      err = process_try_dir(dir, dir_len, file, out);
    dir = end != NULL ? end + 1 : dir + dir_len;
  }
  ax__free(path);
  return err;
}

/* ---- The child's descriptors ---- */

/* What CreateProcessW is given for the child's descriptors. */
struct process_stdio {
  int count;          /* Descriptors, 0 to count - 1. */
  HANDLE *handles;    /* The child's handle of each, or INVALID. */
  unsigned char *crt; /* The runtime's flags of each. */
  HANDLE *parents;    /* The parent's ends of pipes, given after start. */
};

static void process_stdio_free(struct process_stdio *stdio, bool parents) {
  for (int i = 0; i < stdio->count; i++) {
    if (stdio->handles[i] != INVALID_HANDLE_VALUE)
      CloseHandle(stdio->handles[i]);
    if (parents && stdio->parents[i] != INVALID_HANDLE_VALUE)
      CloseHandle(stdio->parents[i]);
  }
  ax__free(stdio->handles);
  ax__free(stdio->crt);
  ax__free(stdio->parents);
}

static int process_inheritable(HANDLE source, HANDLE *out) {
  if (!DuplicateHandle(GetCurrentProcess(), source, GetCurrentProcess(), out, 0,
                       TRUE, DUPLICATE_SAME_ACCESS))
    return ax_translate_sys_error((int)GetLastError());
  return 0;
}

static int process_stdio_null(int fd, HANDLE *out) {
  SECURITY_ATTRIBUTES attributes = {.nLength = sizeof(attributes),
                                    .bInheritHandle = TRUE};
  DWORD access = fd == 0 ? GENERIC_READ : GENERIC_WRITE;
  *out = CreateFileW(L"NUL", access | FILE_READ_ATTRIBUTES,
                     FILE_SHARE_READ | FILE_SHARE_WRITE, &attributes,
                     OPEN_EXISTING, 0, NULL);
  if (*out == INVALID_HANDLE_VALUE)
    return ax_translate_sys_error((int)GetLastError());
  return 0;
}

/* A pipe between the two: the child's end synchronous (but for IPC) and
 * inheritable, with the access its flags give it, the parent's
 * overlapped. */
static int process_stdio_pipe(const ax_stdio_container_t *container,
                              HANDLE *child, HANDLE *parent) {
  ax_stream_t *stream = container->data.stream;
  if (stream == NULL || stream->handle.type != AX_PIPE ||
      ax__sock_is_open(&stream->priv.sock))
    return AX_EINVAL;
  DWORD access = 0;
  if (container->flags & AX_STDIO_READABLE)
    access |= GENERIC_READ;
  if (container->flags & AX_STDIO_WRITABLE)
    access |= GENERIC_WRITE;
  if (access == 0)
    access = GENERIC_READ | GENERIC_WRITE;
  /* An IPC pipe's other end is an axle program's, which adopts it with
   * ax_pipe_open(): overlapped, as that takes no other. */
  bool ipc = ((ax_pipe_t *)stream)->priv.ipc != NULL;
  HANDLE ends[2];
  int err = ax__win_pipe_pair(ends, PIPE_ACCESS_DUPLEX, true, access, ipc,
                              true);
  if (err != 0)
    return err;
  *parent = ends[0];
  *child = ends[1];
  return 0;
}

static int process_stdio_one(const ax_stdio_container_t *container, int fd,
                             HANDLE *child, HANDLE *parent,
                             unsigned char *crt) {
  unsigned int kind = container->flags &
                      (AX_STDIO_CREATE_PIPE | AX_STDIO_INHERIT_FD |
                       AX_STDIO_INHERIT_STREAM);
  *crt = PROCESS_CRT_FOPEN;
  switch (kind) {
  case 0: /* AX_STDIO_IGNORE */
    if (fd > 2) {
      *crt = 0;
      return 0;
    }
    *crt |= PROCESS_CRT_FDEV;
    return process_stdio_null(fd, child);
  case AX_STDIO_CREATE_PIPE:
    *crt |= PROCESS_CRT_FPIPE;
    return process_stdio_pipe(container, child, parent);
  case AX_STDIO_INHERIT_FD: {
    HANDLE handle = (HANDLE)_get_osfhandle(container->data.fd);
    if (handle == INVALID_HANDLE_VALUE)
      return AX_EBADF;
    if (GetFileType(handle) == FILE_TYPE_PIPE)
      *crt |= PROCESS_CRT_FPIPE;
    else if (GetFileType(handle) == FILE_TYPE_CHAR)
      *crt |= PROCESS_CRT_FDEV;
    return process_inheritable(handle, child);
  }
  case AX_STDIO_INHERIT_STREAM: {
    ax_stream_t *stream = container->data.stream;
    if (stream == NULL || !ax__sock_is_open(&stream->priv.sock) ||
        stream->priv.sock.socket == (uintptr_t)INVALID_HANDLE_VALUE)
      return AX_EINVAL;
    *crt |= PROCESS_CRT_FPIPE;
    return process_inheritable((HANDLE)stream->priv.sock.socket, child);
  }
  default:
    return AX_EINVAL;
  }
}

static int process_stdio_make(const ax_process_options_t *options,
                              struct process_stdio *stdio) {
  int count = options->stdio_count < 3 ? 3 : options->stdio_count;
  if (options->stdio_count < 0 || count > PROCESS_STDIO_MAX ||
      (options->stdio_count > 0 && options->stdio == NULL))
    return AX_EINVAL;
  stdio->count = count;
  stdio->handles = ax__malloc((size_t)count * sizeof(HANDLE));
  stdio->parents = ax__malloc((size_t)count * sizeof(HANDLE));
  stdio->crt = ax__calloc((size_t)count, 1);
  if (stdio->handles == NULL || stdio->parents == NULL || stdio->crt == NULL) {
    stdio->count = 0;
    process_stdio_free(stdio, true);
    return AX_ENOMEM;
  }
  for (int i = 0; i < count; i++)
    stdio->handles[i] = stdio->parents[i] = INVALID_HANDLE_VALUE;
  static const ax_stdio_container_t ignore = {.flags = AX_STDIO_IGNORE};
  for (int i = 0; i < count; i++) {
    const ax_stdio_container_t *container = i < options->stdio_count
                                                ? &options->stdio[i]
                                                : &ignore;
    int err = process_stdio_one(container, i, &stdio->handles[i],
                                &stdio->parents[i], &stdio->crt[i]);
    if (err != 0) {
      process_stdio_free(stdio, true);
      return err;
    }
  }
  return 0;
}

/* The runtime's block: the count, a flag byte each, a HANDLE each,
 * packed with no alignment. */
static BYTE *process_crt_block(const struct process_stdio *stdio, WORD *size) {
  size_t bytes = sizeof(int) + (size_t)stdio->count * (1 + sizeof(HANDLE));
  BYTE *block = ax__malloc(bytes);
  if (block == NULL)
    return NULL;
  int count = stdio->count;
  memcpy(block, &count, sizeof(count));
  memcpy(block + sizeof(int), stdio->crt, (size_t)count);
  BYTE *at = block + sizeof(int) + count;
  for (int i = 0; i < count; i++, at += sizeof(HANDLE))
    memcpy(at, &stdio->handles[i], sizeof(HANDLE));
  *size = (WORD)bytes;
  return block;
}

/* ---- Starting ---- */

/* The program, its command line, environment and directory, wide. */
struct process_words {
  WCHAR *file;    /* The program's path, found. */
  WCHAR *command; /* The command line. */
  WCHAR *env;     /* The environment block, or NULL. */
  WCHAR *cwd;     /* The directory, or NULL. */
};

static void process_words_free(struct process_words *words) {
  ax__free(words->file);
  ax__free(words->command);
  ax__free(words->env);
  ax__free(words->cwd);
}

static int process_words_make(const ax_process_options_t *options,
                              struct process_words *words) {
  memset(words, 0, sizeof(*words));
  WCHAR *file;
  int err = ax__win_fs_wide(options->file, &file);
  if (err != 0)
    return err;
  if (options->cwd != NULL) {
    err = ax__win_fs_wide(options->cwd, &words->cwd);
    if (err == 0) {
      DWORD attributes = GetFileAttributesW(words->cwd);
      if (attributes == INVALID_FILE_ATTRIBUTES)
        err = AX_ENOENT;
      else if ((attributes & FILE_ATTRIBUTE_DIRECTORY) == 0)
        err = AX_ENOTDIR;
    }
  }
  if (err == 0)
    err = process_find(file, words->cwd, options->env, &words->file);
  ax__free(file);
  if (err == 0)
    err = process_command_line(options, &words->command);
  if (err == 0)
    err = process_env_block(options->env, &words->env);
  if (err != 0)
    process_words_free(words);
  return err;
}

/* The child's handles, and no other, inherited. */
static LPPROC_THREAD_ATTRIBUTE_LIST process_attributes(
    const struct process_stdio *stdio, HANDLE *list, int *err) {
  int n = 0;
  for (int i = 0; i < stdio->count; i++)
    if (stdio->handles[i] != INVALID_HANDLE_VALUE)
      list[n++] = stdio->handles[i];
  SIZE_T size = 0;
  InitializeProcThreadAttributeList(NULL, 1, 0, &size);
  LPPROC_THREAD_ATTRIBUTE_LIST attributes = ax__malloc(size);
  if (attributes == NULL) {
    *err = AX_ENOMEM;
    return NULL;
  }
  if (!InitializeProcThreadAttributeList(attributes, 1, 0, &size) ||
      !UpdateProcThreadAttribute(attributes, 0,
                                 PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list,
                                 (SIZE_T)n * sizeof(HANDLE), NULL, NULL)) {
    *err = ax_translate_sys_error((int)GetLastError());
    ax__free(attributes);
    return NULL;
  }
  *err = 0;
  return attributes;
}

static int process_create_error(DWORD code) {
  if (code == ERROR_BAD_EXE_FORMAT || code == ERROR_EXE_MACHINE_TYPE_MISMATCH)
    return AX_ENOEXEC;
  return ax_translate_sys_error((int)code);
}

static int process_create(const ax_process_options_t *options,
                          const struct process_words *words,
                          const struct process_stdio *stdio,
                          PROCESS_INFORMATION *info) {
  STARTUPINFOEXW startup;
  memset(&startup, 0, sizeof(startup));
  startup.StartupInfo.cb = sizeof(startup);
  startup.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  startup.StartupInfo.hStdInput = stdio->handles[0];
  startup.StartupInfo.hStdOutput = stdio->handles[1];
  startup.StartupInfo.hStdError = stdio->handles[2];
  if (options->flags & AX_PROCESS_WINDOWS_HIDE) {
    startup.StartupInfo.dwFlags |= STARTF_USESHOWWINDOW;
    startup.StartupInfo.wShowWindow = SW_HIDE;
  }
  HANDLE list[PROCESS_STDIO_MAX];
  int err;
  startup.lpAttributeList = process_attributes(stdio, list, &err);
  if (startup.lpAttributeList == NULL)
    return err;
  startup.StartupInfo.lpReserved2 = process_crt_block(
      stdio, &startup.StartupInfo.cbReserved2);
  if (startup.StartupInfo.lpReserved2 == NULL) {
    DeleteProcThreadAttributeList(startup.lpAttributeList);
    ax__free(startup.lpAttributeList);
    return AX_ENOMEM;
  }
  DWORD flags = CREATE_UNICODE_ENVIRONMENT | EXTENDED_STARTUPINFO_PRESENT;
  if (options->flags & AX_PROCESS_DETACHED)
    flags |= CREATE_NEW_PROCESS_GROUP | DETACHED_PROCESS;
  BOOL ok = CreateProcessW(words->file, words->command, NULL, NULL, TRUE, flags,
                           words->env, words->cwd, &startup.StartupInfo, info);
  err = ok ? 0 : process_create_error(GetLastError());
  DeleteProcThreadAttributeList(startup.lpAttributeList);
  ax__free(startup.lpAttributeList);
  ax__free(startup.StartupInfo.lpReserved2);
  return err;
}

/* ---- Its end ---- */

/* On a pool thread, once: the child ended. */
static void CALLBACK process_wait_cb(void *arg, BOOLEAN timed_out) {
  (void)timed_out;
  struct ax__process_sys *sys = arg;
  __atomic_store_n(&sys->posted, 1, __ATOMIC_RELEASE);
  PostQueuedCompletionStatus(sys->loop->priv.platform.iocp, 0, 0,
                             ax__io_overlapped(&sys->exit));
}

static void process_sys_free(struct ax__process_sys *sys) {
  CloseHandle(sys->process);
  sys->loop->priv.platform.io_count--;
  ax__free(sys);
}

static void process_exit_packet(ax_loop_t *loop, ax__io_t *io, size_t bytes) {
  (void)loop;
  (void)bytes;
  struct ax__process_sys *sys = ax_container_of(io, struct ax__process_sys,
                                                exit);
  /* The wait ran its one callback; this releases it without waiting. */
  UnregisterWaitEx(sys->wait, NULL);
  ax_process_t *process = sys->owner;
  if (process == NULL) { /* Closed meanwhile: its close waited for this. */
    ax_handle_t *handle = io->overlapped.align; /* Set by the close. */
    process_sys_free(sys);
    ax__handle_close_resume(handle);
    return;
  }
  DWORD code = 0;
  if (!GetExitCodeProcess(sys->process, &code))
    code = 1;
  int term_signal = sys->term_signal;
  process->priv.sys = NULL;
  process_sys_free(sys);
  ax__process_exited(process, (int64_t)code, term_signal);
}

static int process_watch(ax_loop_t *loop, ax_process_t *process,
                         HANDLE handle) {
  struct ax__process_sys *sys = ax__calloc(1, sizeof(*sys));
  if (sys == NULL)
    return AX_ENOMEM;
  sys->exit.cb = process_exit_packet;
  sys->owner = process;
  sys->loop = loop;
  sys->process = handle;
  if (!RegisterWaitForSingleObject(
          &sys->wait, handle, process_wait_cb, sys, INFINITE,
          WT_EXECUTEONLYONCE | WT_EXECUTEINWAITTHREAD)) {
    int err = ax_translate_sys_error((int)GetLastError());
    ax__free(sys);
    return err;
  }
  loop->priv.platform.io_count++;
  process->priv.sys = sys;
  return 0;
}

/* ---- What src/process.c calls (src/child.h) ---- */

int ax__process_spawn(ax_loop_t *loop, ax_process_t *process,
                      const ax_process_options_t *options) {
  if (options->flags & (AX_PROCESS_SETUID | AX_PROCESS_SETGID))
    return AX_ENOTSUP;
  struct process_words words;
  int err = process_words_make(options, &words);
  if (err != 0)
    return err;
  struct process_stdio stdio;
  err = process_stdio_make(options, &stdio);
  if (err != 0) {
    process_words_free(&words);
    return err;
  }
  PROCESS_INFORMATION info;
  err = process_create(options, &words, &stdio, &info);
  process_words_free(&words);
  if (err == 0) {
    CloseHandle(info.hThread);
    err = process_watch(loop, process, info.hProcess);
    if (err != 0) {
      TerminateProcess(info.hProcess, 1);
      CloseHandle(info.hProcess);
    }
  }
  /* The parents' ends go to their pipes once the child runs. */
  for (int i = 0; err == 0 && i < stdio.count; i++) {
    if (stdio.parents[i] == INVALID_HANDLE_VALUE)
      continue;
    ax_pipe_t *pipe = (ax_pipe_t *)options->stdio[i].data.stream;
    int open_err = ax__win_pipe_open(pipe, stdio.parents[i]);
    if (open_err != 0)
      CloseHandle(stdio.parents[i]); /* The child sees its end closed. */
    stdio.parents[i] = INVALID_HANDLE_VALUE;
  }
  process_stdio_free(&stdio, true);
  if (err != 0)
    return err;
  process->pid = (ax_pid_t)info.dwProcessId;
  return 0;
}

/* A packet already posted is waited for by the close (so nothing is left
 * for ax__process_loop_close()). */
void ax__process_detach(ax_process_t *process) {
  struct ax__process_sys *sys = process->priv.sys;
  if (sys == NULL)
    return; /* Ended and reported, or never started. */
  process->priv.sys = NULL;
  /* Waits for a callback that runs now; none runs after it. */
  UnregisterWaitEx(sys->wait, INVALID_HANDLE_VALUE);
  if (__atomic_load_n(&sys->posted, __ATOMIC_ACQUIRE) == 0) {
    process_sys_free(sys);
    return;
  }
  /* Its packet is in the port: the close waits for it. */
  sys->owner = NULL;
  sys->wait = NULL;
  sys->exit.overlapped.align = &process->handle;
  ax__handle_close_wait(&process->handle);
}

/* End or ask about a process by its handle. */
static int process_signal(HANDLE handle, int signum) {
  DWORD code = 0;
  if (!GetExitCodeProcess(handle, &code))
    return ax_translate_sys_error((int)GetLastError());
  if (code != STILL_ACTIVE || WaitForSingleObject(handle, 0) == WAIT_OBJECT_0)
    return AX_ESRCH;
  switch (signum) {
  case 0:
    return 0;
  case SIGTERM:
  case PROCESS_SIGKILL:
  case SIGINT:
  case PROCESS_SIGQUIT:
    if (TerminateProcess(handle, 1))
      return 0;
    /* Ended meanwhile: access is denied to a process that is exiting. */
    if (WaitForSingleObject(handle, 0) == WAIT_OBJECT_0)
      return AX_ESRCH;
    return ax_translate_sys_error((int)GetLastError());
  default:
    return AX_ENOSYS;
  }
}

static bool process_signum_valid(int signum) {
  return signum >= 0 && signum < 64;
}

int ax__process_signal(ax_process_t *process, int signum) {
  if (!process_signum_valid(signum))
    return AX_EINVAL;
  struct ax__process_sys *sys = process->priv.sys;
  if (sys == NULL)
    return AX_ESRCH;
  int err = process_signal(sys->process, signum);
  if (err == 0 && signum != 0)
    sys->term_signal = signum;
  return err;
}

int ax__process_kill(ax_pid_t pid, int signum) {
  if (!process_signum_valid(signum) || pid <= 0)
    return AX_EINVAL;
  HANDLE handle = OpenProcess(
      PROCESS_TERMINATE | PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE,
      FALSE, (DWORD)pid);
  if (handle == NULL) {
    DWORD code = GetLastError();
    return code == ERROR_INVALID_PARAMETER ? AX_ESRCH
                                           : ax_translate_sys_error((int)code);
  }
  int err = process_signal(handle, signum);
  CloseHandle(handle);
  return err;
}

void ax__process_loop_close(ax_loop_t *loop) {
  (void)loop; /* Every closed child's packet was waited for. */
}
