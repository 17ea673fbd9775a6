/*
 * pipe.h: what the pipe's portable half (src/pipe.c) and each system's
 * half (src/unix/pipe.c, src/win/pipe.c) share.
 *
 * src/pipe.c checks every public call's arguments and the handle's state,
 * keeps the queue of handles received over an IPC pipe, and takes them
 * with ax_accept(). It then calls the system's half, declared below, for
 * what touches the system: names, descriptors, and the bytes and handles
 * that travel together. The stream itself (reads, the write queue,
 * shutdown, listening) is the stream engine's (src/stream.c, listen.c),
 * over the backend's socket operations or, for a pipe that has
 * AX__STREAM_OWN_OPS, over the operations ax__pipe_own_ops() picks.
 *
 * Every call below is made on the loop thread, with arguments already
 * checked as the comment says; each returns 0 or an error code.
 */
#ifndef AX_PIPE_H
#define AX_PIPE_H

#include "stream.h"

/* A handle received over an IPC pipe and not yet accepted. */
struct ax__pipe_received {
  ax_os_sock_t sock;   /* The socket or descriptor; the queue owns it. */
  ax_handle_type type; /* AX_TCP, AX_PIPE, or AX_UNKNOWN_HANDLE (none
                          axle can take: ax_accept() drops it). */
  bool listening;      /* AX_TCP: a listener, not a connection. */
};

/* An IPC pipe's state (priv.ipc; a pipe not for IPC has none). */
struct ax__pipe_ipc {
  /* The handle the next send of the stream carries with its first byte,
   * set by the engine just before that send (ax__pipe_send_attach());
   * the system's send takes it and sets it back to NULL. */
  ax_stream_t *send_handle;
  struct ax__pipe_received *queue; /* Ring of received handles. */
  unsigned int head;               /* The oldest, in queue. */
  unsigned int count;              /* Handles in queue. */
  unsigned int capacity;           /* Room in queue. */
  /* An end or error the system's receive met after bytes it returned:
   * the next receive's result (0: none). */
  int deferred_error;
};

/* pipe.c: queue a received handle, in order. 0, or AX_ENOMEM with the
 * handle left to the caller (who closes it). */
int ax__pipe_ipc_push(ax_pipe_t *pipe, const struct ax__pipe_received *r);

/* pipe.c, for listen.c: ax_accept() on an IPC pipe that is not listening
 * takes the oldest received handle into client. */
int ax__pipe_ipc_accept(ax_stream_t *server, ax_stream_t *client);

/* pipe.c, for stream.c: the next send of stream carries send_handle. */
void ax__pipe_send_attach(ax_stream_t *stream, ax_stream_t *send_handle);

/* ---- Per system (src/unix/pipe.c, src/win/pipe.c) ---- */

/* A pipe was initialised (ipc made if asked for): set up what the
 * system keeps. Called once, after ax__stream_init(). */
int ax__pipe_sys_init(ax_pipe_t *pipe);

/* The handle closes: release the system's state (a bound path's file is
 * removed) after ax__stream_close() closed the socket. */
void ax__pipe_sys_close(ax_pipe_t *pipe);

/* Adopt fd, open and the caller's, into a pipe with no socket: check
 * that it is a stream the system can carry (AX_ENOTSUP if not), make it
 * non-blocking, choose the operations (AX__STREAM_OWN_OPS) and the
 * stream's state (connected, or a listener to be), and attach it. On
 * error nothing changed and fd is still the caller's. */
int ax__pipe_sys_open(ax_pipe_t *pipe, ax_os_fd_t fd);

/* Give a pipe with no socket a pipe received over an IPC pipe (its
 * sock, of type AX_PIPE), as ax__pipe_sys_open() does a descriptor. */
int ax__pipe_sys_adopt(ax_pipe_t *pipe, ax_os_sock_t sock);

/* Bind a pipe with no socket to name (namelen > 0 bytes, flags checked).
 * AX_EINVAL for a name the system cannot take (too long, a NUL inside a
 * path, an abstract name where there are none). */
int ax__pipe_sys_bind(ax_pipe_t *pipe, const char *name, size_t namelen);

/* Connect to name (checked as for bind): make the socket if the pipe has
 * none, then start through ax__stream_connect(). An error about the name
 * itself (AX_EINVAL) is returned; one from connecting reaches the
 * callback. */
int ax__pipe_sys_connect(ax_pipe_t *pipe, ax_connect_t *req, const char *name,
                         size_t namelen, ax_connect_cb connect_cb);

/* The pipe's own name (peer false) or its peer's, into buffer as
 * ax_pipe_getsockname() says; the pipe has a socket. */
int ax__pipe_sys_name(const ax_pipe_t *pipe, char *buffer, size_t *size,
                      bool peer);

/* Open a bound pipe's name to everyone for mode (AX_PIPE_READABLE,
 * AX_PIPE_WRITABLE, checked). */
int ax__pipe_sys_chmod(ax_pipe_t *pipe, int mode);

/* An anonymous pipe, both ends close-on-exec (flags checked). */
int ax__pipe_sys_pipe(ax_os_fd_t fds[2], int read_flags, int write_flags);

/* The server instances a listening pipe keeps posted (Windows; nothing
 * elsewhere). count is the caller's, unchecked. */
void ax__pipe_sys_instances(ax_pipe_t *pipe, int count);

/* Close a received handle that nobody will take. */
void ax__pipe_sys_discard(ax_os_sock_t sock);

#endif /* AX_PIPE_H */
