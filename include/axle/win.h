/*
 * axle/win.h: the Windows side of the public structs.
 *
 * Included by axle.h only. It declares the Windows part of the private
 * regions: the completion operation the IOCP backend delivers, the
 * loop's completion port and wakeup packet, and the streams' operations
 * (src/win/stream.c) with their requests'. Win32 and Winsock errors are
 * translated onto axle's codes (the negated C runtime errno names, which
 * mingw-w64 and the Universal CRT both define) in the Windows sources.
 *
 * This header must not include <windows.h>: that would drag thousands of
 * macros (min, max, ERROR, near, far...) into every program that includes
 * axle.h. Win32 types appear here only as opaque stand-ins of the same size
 * and alignment, which src/win checks at compile time. Nothing here but
 * ax_buf_t is API: the layout may change in any release before 1.0.
 */
#ifndef AXLE_WIN_H
#define AXLE_WIN_H

#ifndef AXLE_H
#error "include <axle.h>, not <axle/win.h>"
#endif /* AXLE_H */

/**
 * A buffer: a pointer and a length, laid out as Winsock's WSABUF (a 32-bit
 * length first), so that vectors of them go to WSASend() and WSARecv() as
 * they are. Fill it with ax_buf_init() or by its names; do not rely on the
 * field order. One buffer holds at most 4 GiB - 1 bytes.
 */
struct ax_buf_s {
  unsigned long len; /**< The number of bytes (a ULONG). */
  char *base;        /**< The first byte. */
};

/** A socket as the system knows it: a Winsock SOCKET. */
typedef uintptr_t ax_os_sock_t;
/** A descriptor as the system knows it: a Win32 HANDLE. */
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

/* Storage for a deferred completion (ax__pending_t in src/internal.h): a
 * list node and a function pointer. src/win/stream.c asserts the layout. */
union ax__pending_slot {
  unsigned char bytes[sizeof(struct ax__queue) + sizeof(void *)]; /* Room. */
  void *align; /* Pointer alignment. */
};

/* Stream state few streams need, allocated on first use: the listener's
 * posted accepts and the water marks (src/win/stream.h). */
struct ax__stream_ext;

/*
 * The Windows part of the private region of ax_stream_t (src/win/stream.c).
 * Every overlapped operation the stream posts (the zero-byte read below,
 * the writes, a connect, the listener's accepts) is counted in ops until its
 * packet is dequeued: a closed stream waits for that count to reach zero
 * before its close callback, as the kernel owns those OVERLAPPEDs until
 * then. Stream flags live in the handle's priv_flags.
 */
struct ax__stream_private {
  ax__io_t read_io; /* The zero-byte WSARecv that waits for data. */
  uintptr_t socket; /* The SOCKET; INVALID_SOCKET while there is none. */
  union {
    ax_alloc_cb alloc_cb;  /* Open: where read buffers come from. */
    ax_close_cb close_cb;  /* Closed, waiting for ops: the user's callback. */
  } cb;                    /* Read buffers, then the deferred close. */
  ax_read_cb read_cb;      /* Reading: where data goes. */
  ax_write_t *write_tail;  /* Writes not yet called back, circular by next. */
  size_t write_queue_size; /* Bytes of writes in flight, exact. */
  ax_req_t *req;           /* The connect or shutdown in progress. */
  struct ax__stream_ext *ext;     /* Listener and water marks, or NULL. */
  union ax__pending_slot pending; /* Work that completed without a packet. */
  unsigned int ops;               /* Overlapped operations in flight. */
};

/* The Windows part of the private region of ax_write_t. The buffers go to
 * one WSASend, which captures the vector before it returns: whatever the
 * count, nothing is copied or allocated, except for a write made while
 * the stream is still connecting, whose vector waits in an allocation. */
struct ax__write_private {
  ax__io_t io;         /* The overlapped WSASend. */
  ax_write_t *next;    /* Next in the stream's list of writes. */
  ax_write_cb cb;      /* The callback. */
  size_t queued_bytes; /* Counted in write_queue_size until sent. */
  ax_buf_t *bufs;      /* Waiting for the connect: the vector, or NULL. */
  unsigned int nbufs;  /* The buffers at bufs. */
  int status;          /* 1 until over; then 0 or an error. */
};

/* The Windows part of the private region of ax_connect_t. */
struct ax__connect_private {
  ax__io_t io;      /* The ConnectEx in flight. */
  ax_connect_cb cb; /* The callback. */
  int status;       /* 1 while in flight; then 0 or an error. */
};

/* The Windows part of the private region of ax_shutdown_t. */
struct ax__shutdown_private {
  ax_shutdown_cb cb; /* The callback. */
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

/** @endcond */

#endif /* AXLE_WIN_H */
