/*
 * win/internal.h: what the Windows files share.
 *
 * The Win32 calls the loop makes go through a table (ax__win_sys), as the
 * POSIX system calls do (unix/internal.h), so that tests can make the port
 * fail to open, a wait fail, or a wait time out before its time: the last is
 * what real Windows does now and then, and Wine rarely or never does.
 */
#ifndef AX_WIN_INTERNAL_H
#define AX_WIN_INTERNAL_H

#include <winsock2.h>
#include <windows.h>

#include "../backend.h"

/* The types of the Win32 functions in the table. */
typedef HANDLE WINAPI ax__win_create_port_fn(HANDLE file, HANDLE port,
                                             ULONG_PTR key, DWORD threads);
typedef BOOL WINAPI ax__win_wait_fn(HANDLE port, OVERLAPPED_ENTRY *entries,
                                    ULONG count, ULONG *removed,
                                    DWORD timeout_ms, BOOL alertable);
typedef BOOL WINAPI ax__win_post_fn(HANDLE port, DWORD bytes, ULONG_PTR key,
                                    OVERLAPPED *overlapped);
typedef BOOL WINAPI ax__win_close_fn(HANDLE handle);

struct ax__win_syscalls {
  ax__win_create_port_fn *create_io_completion_port; /* Opens a port. */
  ax__win_wait_fn *get_queued_completion_status_ex;  /* Dequeues packets. */
  ax__win_post_fn *post_queued_completion_status;    /* Queues a packet. */
  ax__win_close_fn *close_handle;                    /* Closes the port. */
};

/* The table in use; tests may overwrite entries and must restore them. */
extern struct ax__win_syscalls ax__win_sys;
/* The real functions, for restoring ax__win_sys. */
extern const struct ax__win_syscalls ax__win_sys_default;

/* The OVERLAPPED of an operation, as the Win32 calls take it. */
static inline OVERLAPPED *ax__io_overlapped(ax__io_t *io) {
  return (OVERLAPPED *)(void *)&io->overlapped;
}

/* iocp-sock.c: the socket operations of the IOCP backend, and the packet
 * of one of them, which iocp.c hands over: a socket's packets carry the
 * ax__sock_t as their completion key, every other packet a key of 0. */
extern const struct ax__sock_ops ax__iocp_sock_ops;
void ax__iocp_sock_packet(ax_loop_t *loop, ax__sock_t *sock,
                          OVERLAPPED *overlapped, DWORD bytes);

/* The operation around an OVERLAPPED the port handed back. */
static inline ax__io_t *ax__io_of(OVERLAPPED *overlapped) {
  return ax_container_of(overlapped, ax__io_t, overlapped);
}

#endif /* AX_WIN_INTERNAL_H */
