/*
 * win/iocp-pipe.h: named pipes as streams on the IOCP backend, shared by
 * iocp-pipe.c (the operations of the backend contract on a pipe HANDLE),
 * sock.c (which routes the engine's per-system calls for a pipe there),
 * pipe.c (names, binding, connecting, adopting a handle, ax_pipe()) and
 * process.c (the pipes of a child's standard descriptors).
 *
 * A pipe stream's ax__sock_t holds its HANDLE in the socket slot (a HANDLE
 * and a SOCKET are both pointer-sized, and INVALID_HANDLE_VALUE and
 * INVALID_SOCKET are the same all-ones value) and the flag
 * AX__WIN_SOCK_PIPE; everything else the pipe needs is in its struct
 * ax__pipe_sys (ax_pipe_t.priv.sys), allocated when the handle is made or
 * adopted and freed with the CLOSE completion.
 */
#ifndef AX_WIN_IOCP_PIPE_H
#define AX_WIN_IOCP_PIPE_H

#include "sock.h"

/* Server instances a listening pipe keeps posted unless
 * ax_pipe_pending_instances() says otherwise, and the most it takes: each
 * is a kernel object and a ConnectNamedPipe() in flight, so the count
 * bounds what a burst of clients finds ready, as AcceptEx's slots do. */
enum { AX__PIPE_INSTANCES_DEFAULT = 4, AX__PIPE_INSTANCES_MAX = 64 };

/* The bytes each direction of a pipe buffers in the kernel (the sizes
 * CreateNamedPipeW() is given; Windows treats them as advice). */
enum { AX__PIPE_BUFFER_BYTES = 64 * 1024 };

/* The operations of a pipe stream (stream-ops.c returns them for
 * AX_PIPE). */
extern const struct ax__sock_ops ax__iocp_pipe_ops;

/* The pipe around a stream's socket, or NULL when the stream is no
 * pipe. */
ax_pipe_t *ax__win_pipe_of(ax__sock_t *sock);

/* The pipe's state, allocated on first use: NULL when out of memory. */
struct ax__pipe_sys *ax__win_pipe_sys(ax_pipe_t *pipe);
/* Release a pipe's state that no handle came to use (the handle closed
 * without ever having one). */
void ax__win_pipe_sys_free(ax_pipe_t *pipe);
/* The pipe's handle closed (after the engine's close): free its state
 * now if no CLOSE completion is to free it. */
void ax__win_pipe_sys_closed(ax_pipe_t *pipe);

/* Make handle the pipe stream's: on the loop's port (unless the handle
 * is on it already, as a listener's instance is), completions skipped on
 * success where Windows allows. The handle must be overlapped. 0 or an
 * error, the handle then the caller's. */
int ax__win_pipe_attach(ax_loop_t *loop, ax__sock_t *sock, HANDLE handle);

/* Whether handle was opened for overlapped I/O: AX_ENOTSUP if not, 0 if
 * so, or the error of the query. */
int ax__win_pipe_check_overlapped(HANDLE handle);

/* The name of the pipe to bind or connect to, as a NUL-terminated UTF-16
 * string the pipe keeps (and frees). 0, AX_EINVAL or AX_ENOMEM. */
int ax__win_pipe_set_name(ax_pipe_t *pipe, const char *name, size_t namelen);
/* The name kept, or NULL; and a new name to keep (the old one freed). */
const WCHAR *ax__win_pipe_name(const ax_pipe_t *pipe);
void ax__win_pipe_name_replace(struct ax__pipe_sys *sys, WCHAR *name);

/* Create the first server instance of the pipe's name, and make it the
 * stream's handle: 0, AX_EADDRINUSE, AX_EACCES, AX_EINVAL, ... */
int ax__win_pipe_bind(ax_pipe_t *pipe);

/* The server instances ax_listen() keeps posted. */
void ax__win_pipe_set_instances(ax_pipe_t *pipe, int count);

/* A pair of connected pipe ends under a name no one else uses: ends[0] is
 * the server's instance, opened with server_access (PIPE_ACCESS_INBOUND,
 * _OUTBOUND or _DUPLEX), ends[1] the client's, opened with client_access
 * (GENERIC_READ, GENERIC_WRITE, or both); each overlapped or not, and the
 * client's end inheritable by a child or not. 0 or an error. */
int ax__win_pipe_pair(HANDLE ends[2], DWORD server_access,
                      bool server_overlapped, DWORD client_access,
                      bool client_overlapped, bool client_inheritable);

/* pipe.c: what the portable pipe calls come to on Windows. */
/* Mark a pipe handle just initialised as one (its stream runs on
 * ax__iocp_pipe_ops). */
void ax__win_pipe_init(ax_pipe_t *pipe);
/* ax_pipe_open(): an overlapped pipe handle, connected. */
int ax__win_pipe_open(ax_pipe_t *pipe, HANDLE handle);
/* ax_pipe_bind(): keep the name and make its first instance. */
int ax__win_pipe_bind_name(ax_pipe_t *pipe, const char *name, size_t namelen);
/* ax_pipe_connect(): CONNECT on the stream engine. */
int ax__win_pipe_connect(ax_connect_t *req, ax_pipe_t *pipe, const char *name,
                         size_t namelen, ax_connect_cb connect_cb);
/* ax_pipe_getsockname() and _getpeername(): the name bound or connected
 * to (a pipe has one name for both ends). */
int ax__win_pipe_getname(const ax_pipe_t *pipe, char *buffer, size_t *size);
/* ax_pipe(): fds[0] reads, fds[1] writes; AX_PIPE_NONBLOCK makes an end
 * overlapped. */
int ax__win_pipe_make(ax_os_fd_t fds[2], int read_flags, int write_flags);

/* pipe.c, for an IPC pipe's frames: the handle the next send carries
 * (taken: the next asks again), or NULL; and a socket received, queued
 * for ax_accept() (0), or closed (an error for the stream). */
ax_stream_t *ax__win_pipe_take_send_handle(ax_pipe_t *pipe);
int ax__win_pipe_received(ax_pipe_t *pipe, ax_os_sock_t sock, bool listening);

/* sock.c's per-system calls on a pipe's handle. */
intptr_t ax__win_pipe_try_send(ax__sock_t *sock, const ax_buf_t *bufs,
                               unsigned int nbufs);
int ax__win_pipe_shutdown(ax__sock_t *sock);

#endif /* AX_WIN_IOCP_PIPE_H */
