/*
 * win/pipe.c: the Windows half of pipes: named pipes' names, binding,
 * connecting, adopting a handle, and the anonymous pipe ax_pipe() makes
 * (a pair of ends of a named pipe no one else knows, as libuv does, so
 * that the end that becomes a stream can be overlapped: Windows' own
 * anonymous pipes never are). The pipe's operations on the completion
 * port are iocp-pipe.c's.
 *
 * Names are `\\.\pipe\NAME` (or `\\?\pipe\NAME`), UTF-8 given, UTF-16
 * kept, at most PIPE_NAME_MAX characters (Windows' limit). A handle given
 * to ax_pipe_open() must be a pipe opened for overlapped I/O: a
 * synchronous one (such as CreatePipe()'s, or a console program's
 * standard input) would block the loop's thread in every read, and is
 * refused with AX_ENOTSUP rather than read on a thread of its own.
 *
 * The calls src/pipe.h lists are at the end; each is a few lines over the
 * functions before it.
 */
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "../pipe.h"
#include "fs-internal.h"
#include "iocp-pipe.h"

#include <winternl.h>

/* The longest pipe name Windows takes, in UTF-16 units. */
enum { PIPE_NAME_MAX = 256 };

/* FILE_MODE_INFORMATION's bits of a handle opened without
 * FILE_FLAG_OVERLAPPED (ntifs.h, which mingw-w64's headers lack). */
enum {
  PIPE_FILE_SYNCHRONOUS_IO_ALERT = 0x10,
  PIPE_FILE_SYNCHRONOUS_IO_NONALERT = 0x20,
};

typedef NTSTATUS(NTAPI *pipe_query_fn)(HANDLE handle, IO_STATUS_BLOCK *io,
                                       void *info, ULONG len,
                                       FILE_INFORMATION_CLASS cls);

/* Whether a wide name starts with a pipe prefix, in any case. */
static bool pipe_name_prefixed(const WCHAR *wide) {
  return _wcsnicmp(wide, L"\\\\.\\pipe\\", 9) == 0 ||
         _wcsnicmp(wide, L"\\\\?\\pipe\\", 9) == 0;
}

int ax__win_pipe_set_name(ax_pipe_t *pipe, const char *name, size_t namelen) {
  if (name == NULL || namelen == 0 || memchr(name, '\0', namelen) != NULL)
    return AX_EINVAL;
  char *copy = ax__malloc(namelen + 1);
  if (copy == NULL)
    return AX_ENOMEM;
  memcpy(copy, name, namelen);
  copy[namelen] = '\0';
  WCHAR *wide;
  int err = ax__win_fs_wide(copy, &wide);
  ax__free(copy);
  if (err != 0)
    return err;
  size_t len = wcslen(wide);
  if (len <= 9 || len > PIPE_NAME_MAX || !pipe_name_prefixed(wide)) {
    ax__free(wide);
    return AX_EINVAL;
  }
  struct ax__pipe_sys *sys = ax__win_pipe_sys(pipe);
  if (sys == NULL) {
    ax__free(wide);
    return AX_ENOMEM;
  }
  ax__win_pipe_name_replace(sys, wide);
  return 0;
}

int ax__win_pipe_check_overlapped(HANDLE handle) {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  pipe_query_fn query = ntdll != NULL
                            ? (pipe_query_fn)(void (*)(void))GetProcAddress(
                                  ntdll, "NtQueryInformationFile")
                            : NULL;
  if (query == NULL)
    return 0; /* Cannot tell: trusted. */
  IO_STATUS_BLOCK io;
  ULONG mode = 0;
  NTSTATUS status = query(handle, &io, &mode, sizeof(mode),
                          (FILE_INFORMATION_CLASS)FileModeInformation);
  if (status < 0)
    return AX_EBADF;
  if (mode &
      (PIPE_FILE_SYNCHRONOUS_IO_ALERT | PIPE_FILE_SYNCHRONOUS_IO_NONALERT))
    return AX_ENOTSUP;
  return 0;
}

/* A name for ax__win_pipe_pair(): the process, a counter, and a random
 * part, so that neither another process nor a guess takes it first
 * (FILE_FLAG_FIRST_PIPE_INSTANCE refuses a name that exists). */
static void pipe_pair_name(WCHAR *name, size_t size) {
  static volatile LONG counter;
  LONG n = InterlockedIncrement(&counter);
  uint32_t random = 0;
  (void)ax_random(NULL, NULL, &random, sizeof(random), 0, NULL);
  _snwprintf(name, size, L"\\\\.\\pipe\\axle-%lu-%ld-%08lx",
             (unsigned long)GetCurrentProcessId(), (long)n,
             (unsigned long)random);
  name[size - 1] = L'\0';
}

int ax__win_pipe_pair(HANDLE ends[2], DWORD server_access,
                      bool server_overlapped, DWORD client_access,
                      bool client_overlapped, bool client_inheritable) {
  WCHAR name[64];
  pipe_pair_name(name, sizeof(name) / sizeof(name[0]));
  DWORD open_mode = server_access | FILE_FLAG_FIRST_PIPE_INSTANCE;
  if (server_overlapped)
    open_mode |= FILE_FLAG_OVERLAPPED;
  HANDLE server = CreateNamedPipeW(name, open_mode,
                                   PIPE_TYPE_BYTE | PIPE_READMODE_BYTE |
                                       PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                                   1, AX__PIPE_BUFFER_BYTES,
                                   AX__PIPE_BUFFER_BYTES, 0, NULL);
  if (server == INVALID_HANDLE_VALUE)
    return ax_translate_sys_error((int)GetLastError());
  SECURITY_ATTRIBUTES attributes = {.nLength = sizeof(attributes),
                                    .bInheritHandle = client_inheritable};
  /* FILE_WRITE_ATTRIBUTES lets a read-only end still set its state, and
   * FILE_READ_ATTRIBUTES a write-only end be asked its type. */
  HANDLE client = CreateFileW(
      name, client_access | FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES, 0,
      &attributes, OPEN_EXISTING, client_overlapped ? FILE_FLAG_OVERLAPPED : 0,
      NULL);
  if (client == INVALID_HANDLE_VALUE) {
    int err = ax_translate_sys_error((int)GetLastError());
    CloseHandle(server);
    return err;
  }
  ends[0] = server;
  ends[1] = client;
  return 0;
}

/* ---- What src/pipe.c calls ---- */

void ax__win_pipe_init(ax_pipe_t *pipe) {
  pipe->stream.handle.priv_flags |= AX__STREAM_OWN_OPS;
  pipe->stream.priv.sock.flags |= AX__WIN_SOCK_PIPE;
}

int ax__win_pipe_open(ax_pipe_t *pipe, HANDLE handle) {
  if (handle == NULL || handle == INVALID_HANDLE_VALUE)
    return AX_EBADF;
  if (GetFileType(handle) != FILE_TYPE_PIPE)
    return AX_ENOTSUP;
  int type = 0;
  int len = sizeof(type);
  if (getsockopt((SOCKET)handle, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == 0)
    return AX_ENOTSUP; /* A socket: an ax_tcp_t's. */
  int err = ax__win_pipe_check_overlapped(handle);
  if (err == 0)
    err = ax__stream_open(&pipe->stream, (ax_os_sock_t)handle,
                          AX__STREAM_CONNECTED);
  return err;
}

int ax__win_pipe_bind_name(ax_pipe_t *pipe, const char *name, size_t namelen) {
  int err = ax__win_pipe_set_name(pipe, name, namelen);
  if (err == 0)
    err = ax__win_pipe_bind(pipe);
  return err;
}

int ax__win_pipe_connect(ax_connect_t *req, ax_pipe_t *pipe, const char *name,
                         size_t namelen, ax_connect_cb connect_cb) {
  int err = ax__win_pipe_set_name(pipe, name, namelen);
  if (err != 0)
    return err;
  return ax__stream_connect(&pipe->stream, req, NULL, 0, connect_cb);
}

int ax__win_pipe_getname(const ax_pipe_t *pipe, char *buffer, size_t *size) {
  const WCHAR *wide = ax__win_pipe_name(pipe);
  if (wide == NULL)
    return AX_EBADF;
  char *utf8;
  int err = ax__win_fs_utf8(wide, (int)wcslen(wide), &utf8);
  if (err != 0)
    return err;
  size_t len = strlen(utf8);
  if (len + 1 > *size) {
    *size = len + 1;
    ax__free(utf8);
    return AX_ENOBUFS;
  }
  memcpy(buffer, utf8, len + 1);
  *size = len;
  ax__free(utf8);
  return 0;
}

int ax__win_pipe_make(ax_os_fd_t fds[2], int read_flags, int write_flags) {
  HANDLE ends[2];
  int err = ax__win_pipe_pair(
      ends, PIPE_ACCESS_INBOUND, (read_flags & AX_PIPE_NONBLOCK) != 0,
      GENERIC_WRITE, (write_flags & AX_PIPE_NONBLOCK) != 0, false);
  if (err != 0)
    return err;
  fds[0] = ends[0];
  fds[1] = ends[1];
  return 0;
}

/* ---- src/pipe.h's per-system calls ---- */

int ax__pipe_sys_init(ax_pipe_t *pipe) {
  ax__win_pipe_init(pipe);
  return 0;
}

void ax__pipe_sys_close(ax_pipe_t *pipe) {
  ax__win_pipe_sys_closed(pipe);
}

int ax__pipe_sys_open(ax_pipe_t *pipe, ax_os_fd_t fd) {
  return ax__win_pipe_open(pipe, fd);
}

/* Only sockets travel over Windows' IPC pipes (iocp-pipe.c). */
int ax__pipe_sys_adopt(ax_pipe_t *pipe, ax_os_sock_t sock) {
  (void)pipe;
  (void)sock;
  return AX_ENOTSUP;
}

int ax__pipe_sys_bind(ax_pipe_t *pipe, const char *name, size_t namelen) {
  return ax__win_pipe_bind_name(pipe, name, namelen);
}

int ax__pipe_sys_connect(ax_pipe_t *pipe, ax_connect_t *req, const char *name,
                         size_t namelen, ax_connect_cb connect_cb) {
  return ax__win_pipe_connect(req, pipe, name, namelen, connect_cb);
}

/* A pipe's two ends share its name. */
int ax__pipe_sys_name(const ax_pipe_t *pipe, char *buffer, size_t *size,
                      bool peer) {
  (void)peer;
  return ax__win_pipe_getname(pipe, buffer, size);
}

/* A named pipe's access is its security descriptor's, which axle leaves
 * as Windows makes it (the creator's, the system's and the
 * administrators'). */
int ax__pipe_sys_chmod(ax_pipe_t *pipe, int mode) {
  (void)pipe;
  (void)mode;
  return AX_ENOTSUP;
}

void ax__pipe_sys_instances(ax_pipe_t *pipe, int count) {
  ax__win_pipe_set_instances(pipe, count);
}

int ax__pipe_sys_pipe(ax_os_fd_t fds[2], int read_flags, int write_flags) {
  return ax__win_pipe_make(fds, read_flags, write_flags);
}

/* What travels over a Windows IPC pipe is a socket. */
void ax__pipe_sys_discard(ax_os_sock_t sock) {
  ax__sock_discard(sock);
}

ax_stream_t *ax__win_pipe_take_send_handle(ax_pipe_t *pipe) {
  struct ax__pipe_ipc *ipc = pipe->priv.ipc;
  ax_stream_t *handle = ipc->send_handle;
  ipc->send_handle = NULL;
  return handle;
}

int ax__win_pipe_received(ax_pipe_t *pipe, ax_os_sock_t sock, bool listening) {
  struct ax__pipe_received received = {
      .sock = sock, .type = AX_TCP, .listening = listening};
  int err = ax__pipe_ipc_push(pipe, &received);
  if (err != 0)
    closesocket((SOCKET)sock);
  return err;
}
