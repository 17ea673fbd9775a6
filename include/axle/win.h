/*
 * axle/win.h: the Windows side of the public structs.
 *
 * Included by axle.h only. It declares the Windows part of the private
 * regions: the completion operation the IOCP backend delivers, the
 * loop's completion port and wakeup packet, and the socket a stream
 * carries its operations on (src/win/iocp-sock.c); the stream itself and
 * its requests are the same on every system (axle.h). Win32 and Winsock
 * errors are translated onto axle's codes (the negated C runtime errno
 * names, which mingw-w64 and the Universal CRT both define) in the Windows
 * sources.
 *
 * This header must not include <windows.h>: that would drag thousands of
 * macros (min, max, ERROR, near, far...) into every program that includes
 * axle.h. Win32 types appear here only as opaque stand-ins of the same size
 * and alignment, which src/win checks at compile time. Nothing here but
 * ax_buf_t is API: the layout may change in any release before 1.0.
 */
/**
 * @file axle/win.h
 * The Windows layout of ax_buf_t, ax_os_sock_t and ax_os_fd_t as Windows
 * knows them, and SIGHUP. Included by axle.h; include <axle.h>, never this
 * file.
 */
#ifndef AXLE_WIN_H
#define AXLE_WIN_H

#ifndef AXLE_H
#error "include <axle.h>, not <axle/win.h>"
#endif /* AXLE_H */

/**
 * @ingroup buf
 * @headerfile axle.h <axle.h>
 * On Windows, a buffer is laid out as Winsock's WSABUF (a 32-bit length
 * first), so that vectors of them go to WSASend() and WSARecv() as they
 * are. One buffer holds at most 4 GiB - 1 bytes.
 */
struct ax_buf_s {
  unsigned long len; /**< Windows: the number of bytes (a ULONG). */
  char *base;        /**< The first byte. */
};

/** @ingroup tcp
 * A socket as the system knows it: on Windows, a Winsock SOCKET. */
typedef uintptr_t ax_os_sock_t;
/** @ingroup tcp
 * A descriptor as the system knows it: on Windows, a Win32 HANDLE.
 * ax_fileno() gives a TCP or poll handle's SOCKET in one. */
typedef void *ax_os_fd_t;

/**
 * The signal a console's close event arrives as (ax_signal_start()). The C
 * runtime on Windows does not define SIGHUP; axle uses POSIX's number.
 */
#ifndef SIGHUP
#define SIGHUP 1
#endif /* SIGHUP */

/** @cond AX_PRIVATE */

typedef struct ax__io_s ax__io_t;

/* Storage for an OVERLAPPED: two ULONG_PTRs, a union of two DWORDs and a
 * pointer, and a HANDLE. src/win/iocp.c asserts size and alignment. */
union ax__overlapped {
  unsigned char bytes[3 * sizeof(void *) + 8]; /* The storage. */
  void *align;                                 /* Pointer alignment. */
};

/*
 * Called on the loop thread when the kernel (or another thread, for a posted
 * packet) completes the operation. bytes is the count the completion packet
 * reports; the outcome of real I/O is in the OVERLAPPED, which the
 * operation's own code reads.
 */
typedef void (*ax__io_cb)(ax_loop_t *loop, ax__io_t *io, size_t bytes);

/*
 * One operation that completes on the loop's completion port. The kernel
 * (or PostQueuedCompletionStatus) hands back a pointer to the OVERLAPPED,
 * and the backend finds the operation around it.
 */
struct ax__io_s {
  union ax__overlapped overlapped; /* What the kernel sees: an OVERLAPPED. */
  ax__io_cb cb;                    /* Called with each completion. */
};

/* The Windows part of the private region of ax_loop_t. */
struct ax__loop_platform {
  const struct ax__backend *backend; /* The backend in use (IOCP). */
  void *backend_data;                /* The backend's own state. */
  void *iocp;                        /* The completion port (a HANDLE). */
  ax__io_t wakeup;                   /* The async wakeup, a posted packet. */
  int wakeup_open;                   /* An async handle needs the wakeup. */
  int wakeup_posted;                 /* A wakeup is in the port (__atomic). */
  unsigned int io_count;             /* Operations that may complete. */
};

/* A listener's posted AcceptEx calls, allocated while it accepts
 * (src/win/iocp-sock.c). */
struct ax__sock_accepts;

typedef struct ax__sock_s ax__sock_t;

/*
 * Called on the loop thread when an operation on sock completes: op is an
 * AX__OP_* value and result its outcome (src/backend.h).
 */
typedef void (*ax__sock_cb)(ax_loop_t *loop, ax__sock_t *sock, unsigned int op,
                            intptr_t result);

/*
 * A socket the IOCP backend carries operations on (src/win/iocp-sock.c).
 * The socket is attached to the port with this struct's address as its
 * completion key, so a packet names its socket, and its OVERLAPPED which of
 * the socket's operations completed: one receive and one send (or connect)
 * at a time, and a listener's accepts in their own allocation. Every stream
 * embeds one, so it is kept small: the two OVERLAPPEDs carry no callback of
 * their own.
 */
struct ax__sock_s {
  ax__sock_cb cb;                   /* Receives every completion. */
  uintptr_t socket;                 /* The SOCKET; INVALID_SOCKET if none. */
  union ax__overlapped recv;        /* The zero-byte WSARecv. */
  union ax__overlapped send;        /* The WSASend, or the ConnectEx. */
  struct ax__pending_s pending;     /* Completions known inside a call, for
                                       the pending phase. */
  struct ax__sock_accepts *accepts; /* A listener's AcceptEx slots, or NULL. */
  unsigned short owned;             /* Operations the kernel owns: posted,
                                       their packet not yet dequeued. */
  unsigned short flags;             /* AX__WIN_SOCK_* (src/win/sock.h). */
};

/* A poll handle's AFD device and poll in flight (src/win/poll-watch.c). */
struct ax__poll_afd;

/* The Windows part of the private region of ax_poll_t. */
struct ax__poll_private {
  ax_poll_cb cb;            /* The callback. */
  uintptr_t socket;         /* The SOCKET, as the caller gave it. */
  struct ax__poll_afd *afd; /* Allocated by init, released by close. */
  unsigned int flags;       /* AX_POLL_* bits asked for; 0 when stopped. */
};

/* The Windows part of the private region of ax_signal_t (src/signal.c). */
struct ax__signal_private {
  struct ax__queue node; /* In its loop's signal group while active. */
  ax_signal_cb cb;       /* The callback. */
  unsigned int flags;    /* One-shot. */
};

/* The Windows part of the private region of ax_udp_t (src/win/udp.c). */
struct ax__udp_platform {
  ax__sock_t sock; /* The socket, as the IOCP backend carries it. */
};

/** @endcond */

#endif /* AXLE_WIN_H */
