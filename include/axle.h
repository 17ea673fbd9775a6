/**
 * @file axle.h
 * The whole public API of axle: loops, handles, timers, idle, prepare and
 * check handles, async wakeups, streams and TCP, descriptor polling,
 * signals, requests, the thread pool, DNS lookups, file system requests,
 * threads, errors and utilities.
 */
/*
 * axle: a portable event loop for C.
 *
 * This is the whole public API. One loop (ax_loop_t) runs on one thread: it
 * waits on the operating system, then runs the callbacks of whatever became
 * ready. Long-lived handles (timers, idle/prepare/check watchers, async
 * wakeups) are embedded in the caller's memory and registered with a loop;
 * every handle is released with ax_close() and its memory may be reused only
 * in or after the close callback.
 *
 * Private fields live in one region per struct, declared by the platform
 * header (axle/unix.h or axle/win.h) that this file includes. They are not
 * part of the API and may change in any release before 1.0.
 */
#ifndef AXLE_H
#define AXLE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @defgroup version Version
 * The library version, at compile time and at run time.
 * @{
 */

/** Major version: incompatible API changes. */
#define AX_VERSION_MAJOR 0
/** Minor version: added functionality. */
#define AX_VERSION_MINOR 1
/** Patch version: fixes only. */
#define AX_VERSION_PATCH 0
/** The version as one number, (major << 16) | (minor << 8) | patch. */
#define AX_VERSION_HEX                                                         \
  ((AX_VERSION_MAJOR << 16) | (AX_VERSION_MINOR << 8) | AX_VERSION_PATCH)

/** @} */

/** @cond AX_PRIVATE */
#if defined(AX_BUILDING_SHARED) && defined(_WIN32)
#define AX_EXTERN __declspec(dllexport)
#elif defined(AX_BUILDING_SHARED)
#define AX_EXTERN __attribute__((visibility("default")))
#else
#define AX_EXTERN /* static library, or a user of either */
#endif

/* An intrusive doubly linked, circular list node (see src/queue.h). */
struct ax__queue {
  struct ax__queue *next; /* Next node, or the head itself when last. */
  struct ax__queue *prev; /* Previous node, or the head when first. */
};

/* An intrusive pairing-heap node (see src/heap.h). */
struct ax__heap_node {
  struct ax__heap_node *child; /* First child, NULL for a leaf. */
  struct ax__heap_node *next;  /* Next sibling, NULL for the last. */
  struct ax__heap_node *prev;  /* Previous sibling, or parent if first. */
};
/** @endcond */

/* Forward declarations of every public type, for the platform header. */
/** An event loop: see struct ax_loop_s. */
typedef struct ax_loop_s ax_loop_t;
/** The part every handle has: see struct ax_handle_s. */
typedef struct ax_handle_s ax_handle_t;
/** A timer handle: see struct ax_timer_s. */
typedef struct ax_timer_s ax_timer_t;
/** An idle handle: see struct ax_idle_s. */
typedef struct ax_idle_s ax_idle_t;
/** A prepare handle: see struct ax_prepare_s. */
typedef struct ax_prepare_s ax_prepare_t;
/** A check handle: see struct ax_check_s. */
typedef struct ax_check_s ax_check_t;
/** An async handle: see struct ax_async_s. */
typedef struct ax_async_s ax_async_t;
/** A message queue handle: see struct ax_msgq_s. */
typedef struct ax_msgq_s ax_msgq_t;
/** A message's link, embedded in the caller's message: see struct ax_msg_s. */
typedef struct ax_msg_s ax_msg_t;
/** The part every request has: see struct ax_req_s. */
typedef struct ax_req_s ax_req_t;
/** A thread-pool work request: see struct ax_work_s. */
typedef struct ax_work_s ax_work_t;
/** A name-to-address lookup request: see struct ax_getaddrinfo_s. */
typedef struct ax_getaddrinfo_s ax_getaddrinfo_t;
/** An address-to-name lookup request: see struct ax_getnameinfo_s. */
typedef struct ax_getnameinfo_s ax_getnameinfo_t;
/** A thread: see struct ax_thread_s. */
typedef struct ax_thread_s ax_thread_t;
/** A mutex: see struct ax_mutex_s. */
typedef struct ax_mutex_s ax_mutex_t;
/** A reader-writer lock: see struct ax_rwlock_s. */
typedef struct ax_rwlock_s ax_rwlock_t;
/** A condition variable: see struct ax_cond_s. */
typedef struct ax_cond_s ax_cond_t;
/** A counting semaphore: see struct ax_sem_s. */
typedef struct ax_sem_s ax_sem_t;
/** A one-time initialisation flag: see struct ax_once_s. */
typedef struct ax_once_s ax_once_t;
/** A thread-local storage key: see struct ax_key_s. */
typedef struct ax_key_s ax_key_t;
/** A stream (the part TCP handles share): see struct ax_stream_s. */
typedef struct ax_stream_s ax_stream_t;
/** A TCP handle: see struct ax_tcp_s. */
typedef struct ax_tcp_s ax_tcp_t;
/** A descriptor-readiness handle: see struct ax_poll_s. */
typedef struct ax_poll_s ax_poll_t;
/** A signal handle: see struct ax_signal_s. */
typedef struct ax_signal_s ax_signal_t;
/** A UDP handle: datagrams over IPv4 or IPv6. */
typedef struct ax_udp_s ax_udp_t;
/** A request to send one datagram. */
typedef struct ax_udp_send_s ax_udp_send_t;
/** A write request: see struct ax_write_s. */
typedef struct ax_write_s ax_write_t;
/** A connect request: see struct ax_connect_s. */
typedef struct ax_connect_s ax_connect_t;
/** A shutdown request: see struct ax_shutdown_s. */
typedef struct ax_shutdown_s ax_shutdown_t;
/** A file system request: see struct ax_fs_s. */
typedef struct ax_fs_s ax_fs_t;
/** An open directory stream: see struct ax_dir_s. */
typedef struct ax_dir_s ax_dir_t;
/** A file descriptor: POSIX's, or the C runtime's on Windows. */
typedef int ax_file_t;
/** A buffer: see struct ax_buf_s, which the platform part declares. */
typedef struct ax_buf_s ax_buf_t;

/*
 * The system's own address types, which the DNS requests take and return.
 * Declared, not defined: <netdb.h> (POSIX) or <ws2tcpip.h> (Windows) define
 * them, and only a program that reads their fields needs to include those.
 * This header stays free of system headers, and builds with -std=c11 and no
 * feature macros.
 */
struct addrinfo;
struct sockaddr;
struct sockaddr_in;
struct sockaddr_in6;

/**
 * @defgroup callbacks Callback types
 * Every callback receives the handle it belongs to; reach your own state
 * through the handle's `data` or with ax_container_of().
 * @{
 */
/** Called in the close phase once a handle has fully closed. */
typedef void (*ax_close_cb)(ax_handle_t *handle);
/** Callback of ax_walk(), called once per handle. */
typedef void (*ax_walk_cb)(ax_handle_t *handle, void *arg);
/**
 * Called once per episode in which the loop's handles (listeners) could
 * not go on for want of descriptors or memory, with the handle that
 * failed first: see ax_loop_set_resource_cb().
 */
typedef void (*ax_resource_cb)(ax_handle_t *handle, int err);
/** Called when a timer is due. */
typedef void (*ax_timer_cb)(ax_timer_t *timer);
/** Called once per iteration while an idle handle is active. */
typedef void (*ax_idle_cb)(ax_idle_t *idle);
/** Called once per iteration, before polling, while a prepare handle is active.
 */
typedef void (*ax_prepare_cb)(ax_prepare_t *prepare);
/** Called once per iteration, after polling, while a check handle is active. */
typedef void (*ax_check_cb)(ax_check_t *check);
/** Called on the loop thread after one or more ax_async_send() calls. */
typedef void (*ax_async_cb)(ax_async_t *async);
/**
 * Called on the loop thread once per message posted to a message queue, in
 * the order each sender posted them; or, with the queue's undelivered
 * callback, once per message the queue still held when it was closed.
 */
typedef void (*ax_msgq_cb)(ax_msgq_t *msgq, ax_msg_t *msg);
/** Runs on a thread-pool worker: the blocking or CPU-heavy part of a job. */
typedef void (*ax_work_cb)(ax_work_t *work);
/**
 * Runs on the loop thread once a job is over: @p status is 0 when work_cb
 * ran, AX_ECANCELED when ax_cancel() took the job off the queue first.
 */
typedef void (*ax_after_work_cb)(ax_work_t *work, int status);
/**
 * Runs on the loop thread when ax_getaddrinfo() has an answer. @p status is
 * 0, an AX_EAI_* code from the resolver, a system error, or AX_ECANCELED.
 * @p addrinfo is the list of addresses when @p status is 0, else NULL; it
 * is the caller's from here on, to release with ax_freeaddrinfo().
 */
typedef void (*ax_getaddrinfo_cb)(ax_getaddrinfo_t *req, int status,
                                  struct addrinfo *addrinfo);
/**
 * Runs on the loop thread when ax_getnameinfo() has an answer. @p status is
 * as for ax_getaddrinfo_cb. When it is 0, @p host and @p service point at
 * the request's own host and service fields; otherwise both are NULL.
 */
typedef void (*ax_getnameinfo_cb)(ax_getnameinfo_t *req, int status,
                                  const char *host, const char *service);
/**
 * Runs on the loop thread when a file system request is over. Its outcome
 * is in @p req->result: a count or descriptor (>= 0), or an error. Call
 * ax_fs_req_cleanup() once you have read what you need.
 */
typedef void (*ax_fs_cb)(ax_fs_t *req);
/**
 * Asked for a buffer before a read. Set @p buf to memory of up to
 * @p suggested_size bytes (more or less is fine), or to a zero-length
 * buffer to decline: the stream then reports AX_ENOBUFS to its read
 * callback. The buffer comes back through the read callback.
 */
typedef void (*ax_alloc_cb)(ax_handle_t *handle, size_t suggested_size,
                            ax_buf_t *buf);
/**
 * Data arrived, or the stream ended. @p nread is the number of bytes read
 * into @p buf (> 0); 0 when nothing could be read after all (the buffer
 * is handed back unused); AX_EOF when the peer will send nothing more; or
 * an error (the stream then stops reading; close it). @p buf is the
 * buffer the alloc callback gave, in every case: release it here if it
 * is yours to release.
 */
typedef void (*ax_read_cb)(ax_stream_t *stream, ptrdiff_t nread,
                           const ax_buf_t *buf);
/**
 * A listening stream has a connection to accept with ax_accept(), or
 * (@p status < 0) could not accept one: AX_EMFILE or AX_ENFILE when out of
 * descriptors (the connection was refused and the listener paused).
 */
typedef void (*ax_connection_cb)(ax_stream_t *server, int status);
/** A write is over: 0 once every byte went to the kernel, or an error:
 * AX_ECANCELED when the stream was closed first (or its connect failed);
 * the connection's error (AX_ECONNRESET, AX_EPIPE...) for the write that
 * met it and for every write queued behind that one. */
typedef void (*ax_write_cb)(ax_write_t *req, int status);
/** A connect is over: 0 when connected, or an error (AX_ECONNREFUSED...). */
typedef void (*ax_connect_cb)(ax_connect_t *req, int status);
/** A shutdown is over: 0 once the queued writes went out and the write
 * side is shut, or an error. */
typedef void (*ax_shutdown_cb)(ax_shutdown_t *req, int status);
/**
 * A stream's write queue crossed a water mark: @p above is true when the
 * queue grew to the high mark or past it, false when it drained to the low
 * mark or below. Calls alternate, starting with true.
 */
typedef void (*ax_water_cb)(ax_stream_t *stream, bool above);
/** A descriptor is ready: @p events holds AX_POLL_* bits, or @p status is
 * an error (the handle is then stopped). */
typedef void (*ax_poll_cb)(ax_poll_t *poll, int status, int events);
/** A signal arrived (once per delivery the loop noticed; signals that
 * arrive together may be reported once). */
typedef void (*ax_signal_cb)(ax_signal_t *signal, int signum);
/** @} */

/** @cond AX_PRIVATE */
/* A completion deferred to the pending phase of the next iteration
 * (src/loop.c), embedded in the request that defers it. */
struct ax__pending_s {
  struct ax__queue node;                                /* In loop->pending. */
  void (*cb)(ax_loop_t *loop, struct ax__pending_s *p); /* Runs it. */
};
/** @endcond */

#if defined(_WIN32)
#include "axle/win.h"
#else
#include "axle/unix.h"
#endif /* _WIN32 */

/** @cond AX_PRIVATE */
/*
 * The stream and its requests, the same on every system: the engine that
 * runs them (src/stream.c, listen.c) is written once over the backend's
 * socket operations. Only the socket (ax__sock_t) is the system's.
 */

/* Stream state few streams need, allocated when first needed: a
 * listener's state or a connection's water marks (src/stream.h). */
struct ax__stream_ext;

/*
 * The private region of ax_stream_t. Kept small, as a server holds one per
 * connection: ax_tcp_t is pinned at 112 bytes on 64-bit POSIX systems
 * (test_tcp.c) and at its Windows size in test_tcp_win.c. Stream flags
 * live in the handle's priv_flags.
 */
struct ax__stream_private {
  ax__sock_t sock;            /* The socket, as the backend carries it. */
  ax_alloc_cb alloc_cb;       /* Reading: where buffers come from. */
  ax_read_cb read_cb;         /* Reading: where data goes. */
  ax_write_t *write_tail;     /* Writes whose callback is due, newest;
                                 circular through next, so its next is
                                 the oldest. Finished writes lead. */
  size_t write_queue_size;    /* Bytes queued and not yet written. */
  ax_req_t *req;              /* The connect or shutdown in progress. */
  struct ax__stream_ext *ext; /* Listener, water-mark, keep-alive state. */
};

/* Buffers a write request keeps inline; more go in an allocation. */
#define AX__WRITE_INLINE_BUFS 4

/* The private region of ax_write_t. */
struct ax__write_private {
  struct ax__pending_s pending;                /* Its callback, deferred. */
  ax_write_t *next;                            /* Next in the queue. */
  ax_write_cb cb;                              /* The callback. */
  ax_buf_t *bufs;                              /* inline_bufs, or malloc'd. */
  ax_buf_t inline_bufs[AX__WRITE_INLINE_BUFS]; /* Small vectors. */
  unsigned int nbufs;                          /* Buffers at bufs. */
  unsigned int next_buf;    /* First not wholly written; nbufs once done. */
  int status;               /* Outcome once done. */
  ax_stream_t *send_handle; /* ax_write2(): the handle that goes with the
                               first byte, until it went; else NULL. */
};

/* The private region of ax_connect_t. */
struct ax__connect_private {
  struct ax__pending_s pending; /* An immediate result, deferred. */
  ax_connect_cb cb;             /* The callback. */
  int status;                   /* The result, once known. */
};

/* The private region of ax_shutdown_t. */
struct ax__shutdown_private {
  struct ax__pending_s pending; /* Its callback, deferred. */
  ax_shutdown_cb cb;            /* The callback. */
  int status;                   /* The result, once known. */
};
/** @endcond */

/** @cond AX_PRIVATE */
/* The private region of ax_loop_t: portable part, then the platform's. */
struct ax__loop_private {
  struct ax__queue handles;          /* Open handles, for walk and close. */
  struct ax__queue closing;          /* Handles whose close callback is due. */
  struct ax__queue idle_handles;     /* Active idle handles, in start order. */
  struct ax__queue prepare_handles;  /* Active prepare handles. */
  struct ax__queue check_handles;    /* Active check handles. */
  struct ax__queue pending;          /* Deferred I/O completions. */
  struct ax__queue async_handles;    /* Every open async handle. */
  struct ax__heap_node *timer_heap;  /* Root of the running timers' heap. */
  uint64_t timer_seq;                /* Start sequence of the next timer. */
  uint64_t time_ns;                  /* Cached monotonic time. */
  unsigned int active_handles;       /* Active, referenced handles. */
  unsigned int active_reqs;          /* Requests in flight. */
  int state;                         /* Lifecycle: enum in src/internal.h. */
  int stop_flag;                     /* ax_stop() was called. */
  int running;                       /* Inside ax_run(). */
  int fallback_error;                /* Error of the preferred backend, or 0. */
  uint64_t iterations;               /* Metrics: iterations run. */
  uint64_t events;                   /* Metrics: completions dispatched. */
  uint64_t events_waiting;           /* Metrics: completions after a wait. */
  uint64_t poll_wait_ns;             /* Metrics: time blocked in wait. */
  void *work;                        /* Finished pool jobs (threadpool.c). */
  uint64_t work_completed;           /* Metrics: pool jobs completed. */
  uint64_t work_wait_ns;             /* Metrics: their time queued. */
  uint64_t accept_paused;            /* Metrics: listener pauses. */
  ax_resource_cb resource_cb;        /* ax_loop_set_resource_cb()'s. */
  struct ax__loop_delay *delay;      /* Loop delay, once measured. */
  uint64_t resource_shortages;       /* Metrics: episodes reported. */
  uint64_t resource_last_ns;         /* Loop time of the last shortage. */
  struct ax__loop_platform platform; /* Backend and wakeup channel. */
};

/* The private region of ax_handle_t. */
struct ax__handle_private {
  struct ax__queue node; /* In loop->handles, then in loop->closing. */
  ax_close_cb close_cb;  /* Called in the close phase. */
};

/* The private region of ax_timer_t. */
struct ax__timer_private {
  struct ax__heap_node heap_node; /* In loop->timer_heap while running. */
  uint64_t deadline_ns;           /* Due when the loop's time reaches this. */
  uint64_t seq;                   /* Start order; breaks deadline ties. */
  uint64_t repeat_ms;             /* Restart interval; 0 for one-shot. */
  ax_timer_cb cb;                 /* The callback; NULL until started. */
};

/* The private region of ax_idle_t, ax_prepare_t and ax_check_t. */
struct ax__phase_private {
  struct ax__queue node; /* In the loop's queue for the phase while active. */
  union {
    ax_idle_cb idle;       /* For AX_IDLE. */
    ax_prepare_cb prepare; /* For AX_PREPARE. */
    ax_check_cb check;     /* For AX_CHECK. */
  } cb;                    /* The callback, typed by handle type. */
};

/*
 * The private regions of the thread API. Locks, conditions and semaphores
 * point at the system's object, which init allocates (POSIX) or which fits
 * in the pointer itself (Windows' slim locks): so this header needs no
 * system header, and builds with -std=c11 and no feature macros.
 */
struct ax__thread_private {
  void *handle;     /* POSIX: the pthread_t, by value; Windows: a HANDLE. */
  unsigned long id; /* Windows: the thread id; POSIX: unused (0). */
};
struct ax__mutex_private {
  void *impl; /* The system's mutex. */
};
struct ax__rwlock_private {
  void *impl; /* The system's reader-writer lock. */
};
struct ax__cond_private {
  void *impl; /* The system's condition variable. */
};
struct ax__sem_private {
  void *impl; /* The system's semaphore, or a lock, condition and count. */
};
struct ax__once_private {
  int state; /* 0 not run, 1 running, 2 done (__atomic). */
};
#define AX__ONCE_PRIVATE_INIT                                                  \
  {                                                                            \
    { 0 }                                                                      \
  }
struct ax__key_private {
  unsigned long key; /* The system's key, stored by value. */
};

/* A job for the thread pool (src/threadpool.c): the part every kind of
 * pooled request (user work, fs, DNS) embeds. */
struct ax__work {
  struct ax__queue node;                        /* Pool queue, then done. */
  void (*work)(struct ax__work *w);             /* Runs on a worker. */
  void (*done)(struct ax__work *w, int status); /* Runs on the loop. */
  ax_loop_t *loop;                              /* Where done runs. */
  union {
    uint64_t queued_ns; /* Until a worker takes it: when it was queued. */
    uint64_t run_ns;    /* Once run: how long it ran. */
  } t;
  union {
    uint64_t order;   /* In the pool's queue: its place, pool-wide. */
    uint64_t wait_ns; /* Once taken: how long it was queued. */
  } u;
  int lane;  /* Which queue it is in. */
  int state; /* Under the pool lock. */
};

/* The private region of ax_work_t. */
struct ax__work_private {
  struct ax__work work;           /* The pooled job. */
  ax_work_cb work_cb;             /* The user's work. */
  ax_after_work_cb after_work_cb; /* The user's completion. */
};

/* The hints of a getaddrinfo request, read out of the caller's struct
 * addrinfo (src/dns-sys.h), so that the caller's copy may go away. */
struct ax__dns_hints {
  int flags;    /* ai_flags: AI_* bits of the system's. */
  int family;   /* ai_family: AF_UNSPEC, AF_INET or AF_INET6. */
  int socktype; /* ai_socktype: SOCK_STREAM, SOCK_DGRAM or 0. */
  int protocol; /* ai_protocol: IPPROTO_* or 0. */
};

/* Room for a socket address: 128 bytes, the size of struct
 * sockaddr_storage on every system axle builds for, with its alignment.
 * src/dns-sys.h checks both at compile time. */
union ax__sockaddr_buf {
  unsigned char bytes[128]; /* The address, as the system lays it out. */
  uint64_t align;           /* sockaddr_storage's 8-byte alignment. */
};

/* The private region of ax_getaddrinfo_t. */
struct ax__getaddrinfo_private {
  struct ax__work work;       /* The pooled job, on the DNS lane. */
  ax_getaddrinfo_cb cb;       /* The callback; NULL in synchronous mode. */
  char *names;                /* One allocation: the node and service. */
  const char *node;           /* The node to look up, or NULL. */
  const char *service;        /* The service to look up, or NULL. */
  struct ax__dns_hints hints; /* The caller's hints, copied. */
  int has_hints;              /* Hints were given: NULL is not all zero. */
  int status;                 /* The lookup's result, set by the worker. */
};

/* The private region of ax_getnameinfo_t. */
struct ax__getnameinfo_private {
  struct ax__work work;        /* The pooled job, on the DNS lane. */
  ax_getnameinfo_cb cb;        /* The callback; NULL in synchronous mode. */
  union ax__sockaddr_buf addr; /* The caller's address, copied. */
  int flags;                   /* NI_* bits of the system's. */
  int status;                  /* The lookup's result, set by the worker. */
};

/* Buffers a read or write request keeps inline; more are copied into an
 * allocation that ax_fs_req_cleanup() releases. */
#define AX__FS_INLINE_BUFS 4

/* The private region of ax_fs_t. */
struct ax__fs_private {
  struct ax__work work; /* The pooled job, on the FS lane. */
  ax_fs_cb cb;          /* NULL in synchronous mode. */
  char *paths;          /* The copies of path and new_path. */
  const char *new_path; /* rename, link, symlink, copyfile. */
  ax_buf_t *bufs;       /* inline_bufs, or an allocation. */
  ax_buf_t inline_bufs[AX__FS_INLINE_BUFS]; /* Small vectors live here. */
  unsigned int nbufs;                       /* Buffers of a read or write. */
  ax_file_t file;                           /* The descriptor operated on. */
  ax_file_t out_file;                       /* sendfile's destination. */
  int64_t offset;                           /* Position, or -1 for current. */
  int64_t len;                              /* sendfile's byte count. */
  int flags;                                /* Open, copyfile, symlink flags. */
  int mode;                                 /* Open, mkdir, chmod, access. */
  double atime;                             /* utime: seconds since epoch. */
  double mtime;                             /* utime: seconds since epoch. */
  uint32_t uid;                             /* chown: (uint32_t)-1 keeps it. */
  uint32_t gid;                             /* chown: (uint32_t)-1 keeps it. */
  ax_dir_t *dir;                            /* readdir, closedir. */
  size_t scandir_next; /* scandir: next entry to hand out. */
};

/* The private region of ax_dir_t. */
struct ax__dir_private {
  void *impl; /* The system's directory stream (DIR *, or a find handle). */
};

/* The private region of ax_async_t. */
struct ax__async_private {
  struct ax__queue node; /* In loop->async_handles. */
  ax_async_cb cb;        /* The callback. */
  int pending;           /* Idle, sent, or closed (src/async.c; __atomic). */
  int busy;              /* Sends in progress (__atomic), for ax_close(). */
};
/* The private region of ax_msgq_t. Its async part comes first: to the
 * loop's dispatch, a message queue is an async handle (src/msgq.c). */
struct ax__msgq_private {
  struct ax__async_private async; /* Wakeups, close against posts. */
  ax_msgq_cb cb;                  /* Each message. */
  ax_msgq_cb undelivered_cb;      /* Each message left at close, or NULL. */
  struct ax_msg_s *posted;        /* Posted, newest first (__atomic). */
  struct ax_msg_s *held;          /* Taken, not delivered: oldest first. */
  size_t capacity;                /* Most messages queued; 0: no limit. */
  size_t queued;                  /* Posted, not taken (__atomic). */
};
/** @endcond */

/**
 * @defgroup errors Errors
 * Every function that can fail returns 0 or one of these negative codes: the
 * negated value of the C library's errno name, or an AX_EAI_* code for an
 * error of the resolver (the DNS requests). On Windows, Win32 and Winsock
 * errors are translated onto the same names. No function leaves a result in
 * errno.
 * @{
 */

/** Error codes. Compare against the names, never against literal numbers. */
typedef enum ax_errno_e {
  AX_E2BIG = -E2BIG,                     /**< Argument list too long. */
  AX_EACCES = -EACCES,                   /**< Permission denied. */
  AX_EADDRINUSE = -EADDRINUSE,           /**< Address already in use. */
  AX_EADDRNOTAVAIL = -EADDRNOTAVAIL,     /**< Address not available. */
  AX_EAFNOSUPPORT = -EAFNOSUPPORT,       /**< Address family unsupported. */
  AX_EAGAIN = -EAGAIN,                   /**< Resource temporarily busy. */
  AX_EALREADY = -EALREADY,               /**< Already in progress. */
  AX_EBADF = -EBADF,                     /**< Bad descriptor or handle. */
  AX_EBUSY = -EBUSY,                     /**< Resource busy. */
  AX_ECANCELED = -ECANCELED,             /**< Operation cancelled. */
  AX_ECONNABORTED = -ECONNABORTED,       /**< Connection aborted. */
  AX_ECONNREFUSED = -ECONNREFUSED,       /**< Connection refused. */
  AX_ECONNRESET = -ECONNRESET,           /**< Connection reset by peer. */
  AX_EEXIST = -EEXIST,                   /**< File already exists. */
  AX_EFAULT = -EFAULT,                   /**< Bad address. */
  AX_EFBIG = -EFBIG,                     /**< File too large. */
  AX_EHOSTUNREACH = -EHOSTUNREACH,       /**< Host unreachable. */
  AX_EINTR = -EINTR,                     /**< Interrupted system call. */
  AX_EINVAL = -EINVAL,                   /**< Invalid argument. */
  AX_EIO = -EIO,                         /**< Input/output error. */
  AX_EISCONN = -EISCONN,                 /**< Socket already connected. */
  AX_EISDIR = -EISDIR,                   /**< Is a directory. */
  AX_ELOOP = -ELOOP,                     /**< Too many symbolic links. */
  AX_EMFILE = -EMFILE,                   /**< Too many open files. */
  AX_EMSGSIZE = -EMSGSIZE,               /**< Message too long. */
  AX_ENAMETOOLONG = -ENAMETOOLONG,       /**< Name too long. */
  AX_ENETDOWN = -ENETDOWN,               /**< Network is down. */
  AX_ENETUNREACH = -ENETUNREACH,         /**< Network unreachable. */
  AX_ENFILE = -ENFILE,                   /**< File table overflow. */
  AX_ENOBUFS = -ENOBUFS,                 /**< No buffer space. */
  AX_ENODEV = -ENODEV,                   /**< No such device. */
  AX_ENOENT = -ENOENT,                   /**< No such file or directory. */
  AX_ENOEXEC = -ENOEXEC,                 /**< Not an executable format. */
  AX_ENOMEM = -ENOMEM,                   /**< Out of memory. */
  AX_ENOSPC = -ENOSPC,                   /**< No space left on device. */
  AX_ENOSYS = -ENOSYS,                   /**< Function not implemented. */
  AX_ENOTCONN = -ENOTCONN,               /**< Socket not connected. */
  AX_ENOTDIR = -ENOTDIR,                 /**< Not a directory. */
  AX_ENOTEMPTY = -ENOTEMPTY,             /**< Directory not empty. */
  AX_ENOTSOCK = -ENOTSOCK,               /**< Not a socket. */
  AX_ENOTSUP = -ENOTSUP,                 /**< Operation not supported. */
  AX_EOVERFLOW = -EOVERFLOW,             /**< Value too large. */
  AX_EPERM = -EPERM,                     /**< Operation not permitted. */
  AX_EPIPE = -EPIPE,                     /**< Broken pipe. */
  AX_EPROTO = -EPROTO,                   /**< Protocol error. */
  AX_EPROTONOSUPPORT = -EPROTONOSUPPORT, /**< Protocol unsupported. */
  AX_ERANGE = -ERANGE,                   /**< Result out of range. */
  AX_EROFS = -EROFS,                     /**< Read-only file system. */
  AX_ESPIPE = -ESPIPE,                   /**< Invalid seek. */
  AX_ESRCH = -ESRCH,                     /**< No such process. */
  AX_ETIMEDOUT = -ETIMEDOUT,             /**< Connection timed out. */
  AX_EXDEV = -EXDEV,                     /**< Cross-device link. */
  /*
   * The resolver's errors (getaddrinfo, getnameinfo). The C library
   * numbers them apart from errno, and differently on each system (glibc's
   * are negative, macOS's start at 1 and overlap errno values, Winsock's
   * are Winsock error codes), so axle gives them fixed values of its own
   * from -3001 down: far below the negation of any errno value (a few
   * hundred at most on the systems axle supports) and apart from the two
   * codes at -4095 and -4094.
   */
  AX_EAI_AGAIN = -3001,    /**< Temporary failure in name resolution. */
  AX_EAI_BADFLAGS = -3002, /**< Invalid flags in the hints or request. */
  AX_EAI_FAIL = -3003,     /**< Non-recoverable failure in resolution. */
  AX_EAI_FAMILY = -3004,   /**< Address family not supported. */
  AX_EAI_MEMORY = -3005,   /**< The resolver ran out of memory. */
  AX_EAI_NONAME = -3006,   /**< Unknown node or service. */
  AX_EAI_OVERFLOW = -3007, /**< An answer did not fit its buffer. */
  AX_EAI_SERVICE = -3008,  /**< Service not available for the socket type. */
  AX_EAI_SOCKTYPE = -3009, /**< Socket type not supported. */
  AX_EAI_UNKNOWN = -3010,  /**< A resolver error axle cannot name. */
  AX_EOF = -4095,          /**< End of file or stream. */
  AX_EUNKNOWN = -4094      /**< An error axle cannot name. */
} ax_errno_t;

/**
 * Describe an error code in a short English sentence fragment.
 * @param err An error code (negative), as returned by any axle function.
 * @return A static string; "unknown error" for a code axle does not know.
 */
AX_EXTERN const char *ax_strerror(int err);

/**
 * Name an error code, as in "EINVAL".
 * @param err An error code (negative), as returned by any axle function.
 * @return A static string; "UNKNOWN" for a code axle does not know.
 */
AX_EXTERN const char *ax_err_name(int err);

/**
 * Copy the description of an error code into the caller's buffer: what
 * ax_strerror() says, or for a code axle does not know "unknown error "
 * and the number (as in "unknown error -1234"), so that a log tells unknown
 * codes apart. Thread-safe. libuv: uv_strerror_r().
 * @param err An error code, as returned by any axle function.
 * @param buf The buffer; always NUL-terminated when @p len_bytes is not 0.
 * @param len_bytes Its size in bytes.
 * @return 0; AX_EINVAL if @p buf is NULL or @p len_bytes is 0;
 *         AX_ENOBUFS if the text was cut short to fit (what fits is there).
 */
AX_EXTERN int ax_strerror_r(int err, char *buf, size_t len_bytes);

/**
 * Copy the name of an error code into the caller's buffer: what
 * ax_err_name() says, or for a code axle does not know "UNKNOWN" and the
 * number in parentheses (as in "UNKNOWN(-1234)"). Thread-safe. libuv:
 * uv_err_name_r().
 * @return As ax_strerror_r().
 */
AX_EXTERN int ax_err_name_r(int err, char *buf, size_t len_bytes);

/**
 * Translate an operating-system error into an axle error code.
 * @param sys_error A positive errno value on POSIX, a Win32 or Winsock error
 *                  code on Windows.
 * @return The matching AX_E* code; AX_EUNKNOWN for one with no match (never
 *         on POSIX, where every errno maps to its negation).
 */
AX_EXTERN int ax_translate_sys_error(int sys_error);

/** @} */

/**
 * @defgroup util Version and allocator
 * @{
 */

/** @return The run-time library version as AX_VERSION_HEX would spell it. */
AX_EXTERN unsigned int ax_version(void);

/** @return The run-time library version as "major.minor.patch". */
AX_EXTERN const char *ax_version_string(void);

/** A malloc(3)-compatible allocation function. */
typedef void *(*ax_malloc_func)(size_t size_bytes);
/** A realloc(3)-compatible reallocation function. */
typedef void *(*ax_realloc_func)(void *ptr, size_t size_bytes);
/** A calloc(3)-compatible zeroing allocation function. */
typedef void *(*ax_calloc_func)(size_t count, size_t size_bytes);
/** A free(3)-compatible release function; must accept NULL. */
typedef void (*ax_free_func)(void *ptr);

/**
 * Replace the functions axle allocates its own memory with.
 *
 * Call it before any other axle function, when no loop exists: memory
 * allocated by one allocator is released by the same one only if it is not
 * replaced in between. axle never allocates on the hot path of a timer; it
 * allocates when a loop or backend is created and when a backend's tables
 * grow.
 *
 * @return 0, or AX_EINVAL if any function is NULL (nothing is replaced).
 */
AX_EXTERN int ax_replace_allocator(ax_malloc_func malloc_func,
                                   ax_realloc_func realloc_func,
                                   ax_calloc_func calloc_func,
                                   ax_free_func free_func);

/** @} */

/**
 * @defgroup loop Loop
 * The event loop: one per thread that wants one. See docs/loop.md for the
 * order of the phases in one iteration.
 * @{
 */

/** How ax_run() runs the loop. */
typedef enum ax_run_mode_e {
  /** Run until ax_stop() is called or nothing keeps the loop alive. */
  AX_RUN_DEFAULT = 0,
  /** Run one iteration, waiting for I/O if there is nothing else to do;
   *  each timer runs at most once in it (docs/loop.md). */
  AX_RUN_ONCE,
  /** Run one iteration without waiting for I/O. */
  AX_RUN_NOWAIT
} ax_run_mode;

/** ax_loop_options_t::flags: fail instead of falling back to another backend.
 */
#define AX_LOOP_BACKEND_STRICT 1u

/** Options for ax_loop_init_ex(). Zero-initialise, then set what you need. */
typedef struct ax_loop_options_s {
  /**
   * The backend to use ("epoll", "poll", ...), or NULL for the one named by
   * the AX_BACKEND environment variable, else the platform's default.
   */
  const char *backend;
  /** Zero or AX_LOOP_BACKEND_STRICT. */
  unsigned int flags;
} ax_loop_options_t;

/** Counters of one loop, read with ax_loop_metrics(). */
typedef struct ax_metrics_s {
  /** Iterations run since the loop was initialised. */
  uint64_t iterations;
  /** Completions the backend delivered and the loop dispatched. */
  uint64_t events;
  /** Completions the backend delivered in iterations that waited. */
  uint64_t events_waiting;
  /** Nanoseconds spent blocked in the backend's wait (the loop's idle time). */
  uint64_t poll_wait_ns;
  /** Thread-pool requests of this loop queued or running now. */
  uint64_t work_pending;
  /** Thread-pool requests of this loop completed (callback run). */
  uint64_t work_completed;
  /** Nanoseconds the completed requests waited in the queue, in total. */
  uint64_t work_wait_ns;
  /**
   * Times a listener paused accepting because the process or the system
   * was out of descriptors or memory (see ax_listen()).
   */
  uint64_t accept_paused;
  /**
   * Episodes in which the loop's handles ran short of descriptors or
   * memory, each counted once however many failures and pauses it took:
   * what the callback of ax_loop_set_resource_cb() is told, counted
   * whether one is set or not.
   */
  uint64_t resource_shortages;
} ax_metrics_t;

/** An event loop. Allocate it yourself; initialise it with ax_loop_init(). */
struct ax_loop_s {
  /** User data; axle never touches it. */
  void *data;
  /** Private to axle. */
  struct ax__loop_private priv;
};

/**
 * Initialise a loop with the default backend. The loop's data field is kept
 * as it was, so it may be set before or after this call.
 *
 * The backend is the one AX_BACKEND names, else the platform's default. If it
 * cannot start (an old kernel, a seccomp filter), the loop falls back to the
 * next one available and records why: see ax_backend_fallback_error().
 *
 * @return 0, AX_EINVAL if @p loop is NULL, or the error of the last backend
 *         that was tried when none could start.
 */
AX_EXTERN int ax_loop_init(ax_loop_t *loop);

/**
 * Initialise a loop with options.
 * @param loop    The loop to initialise.
 * @param options The options, or NULL for the defaults of ax_loop_init().
 * @return 0; AX_EINVAL if @p loop is NULL or options name an unknown
 *         backend or flag; with AX_LOOP_BACKEND_STRICT, the error of the
 *         named backend when it cannot start.
 */
AX_EXTERN int ax_loop_init_ex(ax_loop_t *loop,
                              const ax_loop_options_t *options);

/**
 * Release a loop's resources. Every handle must have been closed and its close
 * callback run first.
 * @return 0; AX_EBUSY while handles are open or closing, requests are in
 *         flight, or the loop is running; AX_EINVAL if @p loop is NULL or
 *         not initialised.
 */
AX_EXTERN int ax_loop_close(ax_loop_t *loop);

/**
 * Make a loop usable in the child of a fork(2), as libuv's uv_loop_fork().
 * Call it in the child, before anything else touches the loop, for each
 * loop the child goes on using. The child gets its own kernel object for
 * the backend, with every handle's descriptor registered again as it was,
 * its own async wakeup and signal channels, and a fresh thread pool: the
 * parent's threads do not exist in the child. Timers, idle, prepare and
 * check handles, listeners, connections, async handles, signal handles,
 * fs requests, DNS and ax_queue_work() then work in the child as before.
 * (The pool needs no call: it is reset in every child by a fork handler,
 * so a loop made new in the child uses it without ax_loop_fork().)
 *
 * What was in flight in the parent at fork stays the parent's: a pool job
 * that was queued or running there (work, fs, DNS) completes in the child
 * with AX_ECANCELED. Jobs queued but not yet handed to the pool (queued in
 * the same iteration, before the fork) run in the child. See "After
 * fork()" in docs/loop.md.
 *
 * Called in the process that made the loop (no fork since), it does
 * nothing and returns 0.
 *
 * @return 0; AX_EINVAL for a NULL or closed loop; AX_EBUSY while the loop
 *         runs (called from a callback); AX_ENOSYS where the backend
 *         cannot be carried into a child (Windows, which has no fork;
 *         io_uring and the simulation backend for now); AX_ENOMEM or
 *         AX_EMFILE when a new descriptor or its state cannot be made;
 *         the error of a descriptor the new kernel object refused (the
 *         others are registered: close that handle).
 */
AX_EXTERN int ax_loop_fork(ax_loop_t *loop);

/**
 * Run the loop.
 * @return 0; AX_EINVAL for a NULL or closed loop or an unknown mode;
 *         AX_EBUSY when called from inside the same loop's callback; the
 *         error of the backend's wait if the kernel mechanism itself failed
 *         (its descriptor was closed behind the loop's back, say): the loop
 *         returns rather than spin.
 *         Whether anything is left to do is ax_loop_alive()'s answer.
 */
AX_EXTERN int ax_run(ax_loop_t *loop, ax_run_mode mode);

/**
 * Ask a running loop to return from ax_run() at the end of this iteration;
 * the poll phase of this iteration does not wait. Not thread-safe: to stop a
 * loop from another thread, send it an async handle whose callback calls this.
 * Does nothing if @p loop is NULL or not initialised (checked).
 */
AX_EXTERN void ax_stop(ax_loop_t *loop);

/**
 * @return true while the loop has active, referenced handles, handles being
 *         closed, or deferred completions to run; false if @p loop is NULL
 *         or not initialised (checked).
 */
AX_EXTERN bool ax_loop_alive(const ax_loop_t *loop);

/**
 * @p loop must be an initialised loop: this is read in every callback that
 * measures time, so it is not checked, and a NULL loop is undefined (an
 * assertion in builds with assertions), as in libuv. A zeroed or closed
 * loop reads 0.
 * @return The loop's cached time in milliseconds. The loop refreshes it at
 *         the start of each iteration and again when the poll phase returns,
 *         so I/O callbacks see the time they were woken at; ax_update_time()
 *         refreshes it on demand. Its origin is arbitrary: use it for
 *         intervals only.
 */
AX_EXTERN uint64_t ax_now(const ax_loop_t *loop);

/**
 * Refresh the loop's cached time from the monotonic clock. Does nothing if
 * @p loop is NULL or not initialised (checked).
 */
AX_EXTERN void ax_update_time(ax_loop_t *loop);

/**
 * @return The monotonic clock in nanoseconds, read now. Its origin is
 *         arbitrary: use it for intervals only.
 */
AX_EXTERN uint64_t ax_hrtime(void);

/**
 * Call @p walk_cb for every handle of the loop, open or closing: closing
 * ones first, then open ones. The callback may close any handle, as in
 * libuv: each handle the loop had when the walk began is met exactly once
 * (one closed before its turn is met at the end, closing), and one made
 * during the walk is not. Does nothing if @p loop is NULL or not
 * initialised, or @p walk_cb is NULL (checked).
 */
AX_EXTERN void ax_walk(ax_loop_t *loop, ax_walk_cb walk_cb, void *arg);

/**
 * @return The name of the backend the loop runs on, e.g. "epoll"; NULL if
 *         @p loop is NULL or not initialised (checked).
 */
AX_EXTERN const char *ax_backend_name(const ax_loop_t *loop);

/**
 * @return 0 if the loop runs on the backend it asked for first; otherwise the
 *         error that backend failed with before the loop fell back to the one
 *         ax_backend_name() reports; AX_EINVAL if @p loop is NULL or not
 *         initialised (checked).
 */
AX_EXTERN int ax_backend_fallback_error(const ax_loop_t *loop);

/**
 * Set the callback that tells the application when the loop runs short of
 * a system resource, so that it can say why connections are refused: a
 * listener that cannot accept for want of descriptors (AX_EMFILE for the
 * process's limit, AX_ENFILE for the system's) or memory (AX_ENOMEM,
 * AX_ENOBUFS), or for another error that makes it pause the same way
 * (see ax_listen()). The listener copes by itself (it sheds the pending
 * connection, pauses and resumes); this is only the report.
 *
 * The callback runs on the loop thread, once per episode, given the handle
 * that failed and the error. An episode begins with a failure and lasts
 * while the loop's handles keep failing less than 5 seconds apart: the
 * pauses and retries within it, and the connections accepted in between
 * when a few descriptors come free, are not reported again. So a server
 * held at its limit for an hour reports once, not once per connection. It may
 * call any function of the loop's thread, close the handle included; it must
 * not block, as the loop is short of what it needs to serve anyone. Each
 * episode also counts in ax_metrics_t::resource_shortages, with or without a
 * callback.
 * @param loop        An initialised loop.
 * @param resource_cb The callback, or NULL to set none (the default).
 * @return 0, or AX_EINVAL if @p loop is NULL or not initialised.
 */
AX_EXTERN int ax_loop_set_resource_cb(ax_loop_t *loop,
                                      ax_resource_cb resource_cb);

/**
 * Copy the loop's counters. They are kept on the loop thread with no system
 * call of their own; call this from the loop thread.
 * @return 0, or AX_EINVAL if an argument is NULL.
 */
AX_EXTERN int ax_loop_metrics(const ax_loop_t *loop, ax_metrics_t *metrics);

/** @} */

/**
 * @defgroup handle Handles
 * What every handle type has in common. Each handle struct begins with an
 * ax_handle_t member named `handle`, so `&timer.handle` (or a cast) gives the
 * generic handle.
 * @{
 */

/** The type of a handle. */
typedef enum ax_handle_type_e {
  AX_UNKNOWN_HANDLE = 0, /**< Not a valid type. */
  AX_ASYNC,              /**< ax_async_t */
  AX_CHECK,              /**< ax_check_t */
  AX_IDLE,               /**< ax_idle_t */
  AX_PREPARE,            /**< ax_prepare_t */
  AX_TIMER,              /**< ax_timer_t */
  AX_TCP,                /**< ax_tcp_t */
  AX_POLL,               /**< ax_poll_t */
  AX_SIGNAL,             /**< ax_signal_t */
  AX_MSGQ,               /**< ax_msgq_t */
  AX_FS_EVENT,           /**< ax_fs_event_t */
  AX_FS_POLL,            /**< ax_fs_poll_t */
  AX_TTY,                /**< ax_tty_t */
  AX_UDP,                /**< ax_udp_t */
  AX_PIPE,               /**< ax_pipe_t */
  AX_PROCESS,            /**< ax_process_t */
  AX_HANDLE_TYPE_MAX     /**< One past the last valid type. */
} ax_handle_type;

/** The part every handle has. Read the fields; do not write them but data. */
struct ax_handle_s {
  /** User data; axle never touches it. */
  void *data;
  /** The loop the handle belongs to. Read-only. */
  ax_loop_t *loop;
  /** The handle's type. Read-only. */
  ax_handle_type type;
  /**
   * Private to axle: AX__HANDLE_* bits. Outside the private region so that
   * it shares a word with `type`: 8 bytes less in every handle, which a
   * server holding tens of thousands of connections pays per connection.
   */
  unsigned int priv_flags;
  /** Private to axle. */
  struct ax__handle_private priv;
};

/**
 * Close a handle: stop it, and call @p close_cb (which may be NULL) in the
 * close phase of the current or next iteration. Until then the handle's
 * memory must stay valid; it may be reused in or after the callback.
 *
 * A handle whose init failed is not open, and needs no close: this call
 * refuses it, so that cleanup code may close whatever it tried to
 * initialise. So it does zeroed memory. Memory that no init was ever
 * called on and that is not zeroed is not a handle: closing it is
 * undefined.
 * @return 0; AX_EINVAL if @p handle is NULL, its init failed, or it is
 *         zeroed memory; AX_EBADF if it is already closing or closed (the
 *         callback is then not called again).
 */
AX_EXTERN int ax_close(ax_handle_t *handle, ax_close_cb close_cb);

/**
 * Let an active handle keep the loop alive (the default). Idempotent. Does
 * nothing if @p handle is NULL (checked).
 */
AX_EXTERN void ax_ref(ax_handle_t *handle);

/**
 * Stop an active handle from keeping the loop alive. Idempotent. Does
 * nothing if @p handle is NULL (checked).
 */
AX_EXTERN void ax_unref(ax_handle_t *handle);

/**
 * @return true unless ax_unref() was called last; false if @p handle is
 *         NULL (checked).
 */
AX_EXTERN bool ax_has_ref(const ax_handle_t *handle);

/**
 * @return true if the handle is started: a running timer, an idle, prepare or
 *         check handle between start and stop, an async handle until closed;
 *         false if @p handle is NULL (checked) or its init failed.
 */
AX_EXTERN bool ax_is_active(const ax_handle_t *handle);

/**
 * @return true from ax_close() on, also after the close callback has run,
 *         and for a handle whose init failed; false if @p handle is NULL
 *         (checked).
 */
AX_EXTERN bool ax_is_closing(const ax_handle_t *handle);

/** @return The type's name, such as "timer"; "unknown" for an invalid type. */
AX_EXTERN const char *ax_handle_type_name(ax_handle_type type);

/** @return sizeof the handle struct of @p type; 0 for an invalid type. */
AX_EXTERN size_t ax_handle_size(ax_handle_type type);

/** @} */

/**
 * @defgroup timer Timers
 * One-shot and repeating timers. A timer's deadline is the loop's cached time
 * (ax_now(), kept in nanoseconds inside) plus the timeout; it never fires
 * before that deadline. Timers due in the same iteration fire in order of
 * deadline, and equal deadlines in the order they were started.
 * @{
 */

/** A timer handle. */
struct ax_timer_s {
  /** The common handle part. */
  ax_handle_t handle;
  /** Private to axle. */
  struct ax__timer_private priv;
};

/**
 * Initialise a timer.
 *
 * Every handle init (this one, ax_idle_init(), ax_prepare_init(),
 * ax_check_init(), ax_async_init()) refuses a loop that is NULL, zeroed
 * or closed with AX_EINVAL, in every build. When an init fails with
 * AX_EINVAL, the handle is marked as not initialised: ax_close() refuses
 * it and start functions return AX_EBADF, until an init succeeds.
 *
 * Initialising a handle that is open (initialised, and its close callback
 * not run yet) is a mistake that init cannot always see: telling an open
 * handle from memory that merely looks like one would mean reading memory
 * that may be uninitialised. Builds with assertions (NDEBUG not defined)
 * search the loop's lists instead, and return AX_EBUSY, leaving the handle
 * as it was, when it is among the loop's closing handles or its 128 most
 * recently initialised open ones. Otherwise, and in builds without
 * assertions, it is undefined. A handle may be initialised again in or
 * after its close callback.
 * @return 0; AX_EINVAL if an argument is NULL or @p loop is not
 *         initialised; AX_EBUSY if the handle is open on @p loop (builds
 *         with assertions only, as above).
 */
AX_EXTERN int ax_timer_init(ax_loop_t *loop, ax_timer_t *timer);

/**
 * Start (or restart) a timer. It fires @p timeout_ms after the loop's cached
 * time and then, if @p repeat_ms is not zero, every @p repeat_ms after its
 * previous deadline was reached. A timer restarted with timeout 0 from its own
 * callback fires in the next iteration, after I/O was polled.
 * @return 0; AX_EINVAL if @p timer or @p timer_cb is NULL; AX_EBADF if the
 *         timer is closing.
 */
AX_EXTERN int ax_timer_start(ax_timer_t *timer, ax_timer_cb timer_cb,
                             uint64_t timeout_ms, uint64_t repeat_ms);

/**
 * Stop a timer. Stopping a stopped timer does nothing.
 * @return 0, or AX_EINVAL if @p timer is NULL.
 */
AX_EXTERN int ax_timer_stop(ax_timer_t *timer);

/**
 * Restart a repeating timer with its repeat interval as the timeout; stop it
 * if the interval is zero.
 * @return 0; AX_EINVAL if the timer was never started; AX_EBADF if closing.
 */
AX_EXTERN int ax_timer_again(ax_timer_t *timer);

/**
 * Set the repeat interval. A running timer keeps its current deadline; the
 * new interval applies from its next firing. Does nothing if @p timer is
 * NULL (checked).
 */
AX_EXTERN void ax_timer_set_repeat(ax_timer_t *timer, uint64_t repeat_ms);

/**
 * @return The repeat interval in milliseconds; 0 if @p timer is NULL
 *         (checked).
 */
AX_EXTERN uint64_t ax_timer_get_repeat(const ax_timer_t *timer);

/**
 * @return Milliseconds from the loop's cached time until the timer is due,
 *         rounded up; 0 if it is due or not running, or @p timer is NULL
 *         (checked).
 */
AX_EXTERN uint64_t ax_timer_get_due_in(const ax_timer_t *timer);

/** @} */

/**
 * @defgroup phase Idle, prepare and check handles
 * Callbacks run once per iteration in their phase: idle handles before
 * prepare, prepare handles just before the loop polls for I/O, check handles
 * just after. An active idle handle makes the poll phase not wait.
 * @{
 */

/** An idle handle. */
struct ax_idle_s {
  /** The common handle part. */
  ax_handle_t handle;
  /** Private to axle. */
  struct ax__phase_private priv;
};

/** A prepare handle. */
struct ax_prepare_s {
  /** The common handle part. */
  ax_handle_t handle;
  /** Private to axle. */
  struct ax__phase_private priv;
};

/** A check handle. */
struct ax_check_s {
  /** The common handle part. */
  ax_handle_t handle;
  /** Private to axle. */
  struct ax__phase_private priv;
};

/**
 * Initialise an idle handle (see ax_timer_init() for a failed init and
 * for a handle initialised twice).
 * @return 0; AX_EINVAL for a NULL argument or a loop not initialised;
 *         AX_EBUSY if the handle is open already (where detected).
 */
AX_EXTERN int ax_idle_init(ax_loop_t *loop, ax_idle_t *idle);
/**
 * Start an idle handle; starting it again only replaces the callback.
 * @return 0; AX_EINVAL for a NULL argument; AX_EBADF if closing.
 */
AX_EXTERN int ax_idle_start(ax_idle_t *idle, ax_idle_cb idle_cb);
/** Stop an idle handle; idempotent. @return 0, or AX_EINVAL for NULL. */
AX_EXTERN int ax_idle_stop(ax_idle_t *idle);

/**
 * Initialise a prepare handle (see ax_timer_init() for a failed init and
 * for a handle initialised twice).
 * @return 0; AX_EINVAL for a NULL argument or a loop not initialised;
 *         AX_EBUSY if the handle is open already (where detected).
 */
AX_EXTERN int ax_prepare_init(ax_loop_t *loop, ax_prepare_t *prepare);
/**
 * Start a prepare handle; starting it again only replaces the callback.
 * @return 0; AX_EINVAL for a NULL argument; AX_EBADF if closing.
 */
AX_EXTERN int ax_prepare_start(ax_prepare_t *prepare, ax_prepare_cb prepare_cb);
/** Stop a prepare handle; idempotent. @return 0, or AX_EINVAL for NULL. */
AX_EXTERN int ax_prepare_stop(ax_prepare_t *prepare);

/**
 * Initialise a check handle (see ax_timer_init() for a failed init and
 * for a handle initialised twice).
 * @return 0; AX_EINVAL for a NULL argument or a loop not initialised;
 *         AX_EBUSY if the handle is open already (where detected).
 */
AX_EXTERN int ax_check_init(ax_loop_t *loop, ax_check_t *check);
/**
 * Start a check handle; starting it again only replaces the callback.
 * @return 0; AX_EINVAL for a NULL argument; AX_EBADF if closing.
 */
AX_EXTERN int ax_check_start(ax_check_t *check, ax_check_cb check_cb);
/** Stop a check handle; idempotent. @return 0, or AX_EINVAL for NULL. */
AX_EXTERN int ax_check_stop(ax_check_t *check);

/** @} */

/**
 * @defgroup async Async
 * Wake a loop from any thread. Sends coalesce: however many arrive before the
 * loop gets to them, the callback runs once.
 * @{
 */

/** An async handle. It is active, and keeps the loop alive, until closed. */
struct ax_async_s {
  /** The common handle part. */
  ax_handle_t handle;
  /** Private to axle. */
  struct ax__async_private priv;
};

/**
 * Initialise an async handle and start it. Unlike other init functions this
 * may fail at the system level: the loop's wakeup channel is opened lazily.
 * A failed init, and one of a handle that is open already, are as
 * ax_timer_init() describes.
 * @return 0; AX_EINVAL for a NULL argument or a loop not initialised;
 *         AX_EBUSY if the handle is open already (where detected); a system
 *         error such as AX_EMFILE.
 */
AX_EXTERN int ax_async_init(ax_loop_t *loop, ax_async_t *async,
                            ax_async_cb async_cb);

/**
 * Wake the handle's loop and have it run the callback. Thread-safe and
 * async-signal-safe (errno is preserved).
 *
 * Closing: the close phase waits for sends already inside this function to
 * return before it runs the close callback, so a send that overlaps
 * ax_close() does not touch freed memory. What it cannot cover is a send that
 * begins after that wait: make sure every sending thread has stopped calling
 * this for the handle before its close phase runs (join the threads, or have
 * them stop on a flag they acknowledge), or keep the handle's memory alive
 * until they have. A thread may also send until this returns AX_EBADF, as
 * long as the handle's memory outlives it.
 * @return 0; AX_EINVAL if @p async is NULL; AX_EBADF once ax_close() was
 *         called on the handle, or if its init failed.
 */
AX_EXTERN int ax_async_send(ax_async_t *async);

/** @} */

/**
 * @defgroup msgq Message queues
 * Post messages to a loop from any thread: a lock-free queue whose callback
 * runs on the loop's thread once per message, in the order each sender
 * posted them. The message is the caller's memory, with an ax_msg_t link
 * inside it (ax_container_of() gets the message back): nothing is
 * allocated, and posting never blocks. Wakeups coalesce as an async
 * handle's do: a burst of posts costs the loop one wakeup. This is libuv's
 * usual uv_async_t plus a mutex-guarded list, built in, without the lock.
 *
 * With a capacity, a post to a full queue returns AX_EAGAIN (backpressure).
 * Closing hands every message not delivered yet to the undelivered
 * callback, so that none is lost; posts after ax_close() return AX_EBADF
 * and the message stays the caller's.
 * @{
 */

/** The link a message carries: embed it in the message; do not touch it
 *  while the message is queued. */
struct ax_msg_s {
  /** Private to axle: the next message. */
  struct ax_msg_s *next;
};

/** A message queue handle. Active, keeping its loop alive, until closed. */
struct ax_msgq_s {
  /** The common handle part. */
  ax_handle_t handle;
  /** Private to axle. */
  struct ax__msgq_private priv;
};

/**
 * Initialise a message queue and start it. May fail at the system level,
 * as ax_async_init() may (the loop's wakeup channel). A failed init, and one
 * of a handle that is open already, are as ax_timer_init() describes.
 * @param loop The loop whose thread runs the callbacks.
 * @param msgq The handle.
 * @param msg_cb Called once per message.
 * @param undelivered_cb Called, in the close phase, once per message still
 *        queued when the handle was closed (before the close callback);
 *        NULL if the caller does not need them back.
 * @param capacity The most messages posted and not yet taken by the loop
 *        (which takes what was posted at each wakeup); 0 for no limit, and
 *        then nothing is counted.
 * @return 0; AX_EINVAL for a NULL loop, handle or @p msg_cb, or a loop not
 *         initialised; AX_EBUSY if the handle is open already (where
 *         detected); a system error such as AX_EMFILE.
 */
AX_EXTERN int ax_msgq_init(ax_loop_t *loop, ax_msgq_t *msgq, ax_msgq_cb msg_cb,
                           ax_msgq_cb undelivered_cb, size_t capacity);

/**
 * Post a message: from any thread, never blocking. The message belongs to
 * the queue until its callback (or the undelivered callback) gets it.
 * Messages from one thread are delivered in the order posted; messages of
 * different threads interleave. The loop's callbacks run what was posted
 * before each wakeup they handle, so a callback that posts again is called
 * again on a later iteration, not in a loop. The same rules as
 * ax_async_send() hold for posting while the handle closes.
 * @return 0; AX_EINVAL for a NULL argument; AX_EAGAIN if the queue holds
 *         its capacity; AX_EBADF once ax_close() was called on the handle, or
 *         if its init failed.
 */
AX_EXTERN int ax_msgq_post(ax_msgq_t *msgq, ax_msg_t *msg);

/** @} */

/**
 * @defgroup req Requests
 * A request is one operation (a job for the thread pool, a DNS lookup;
 * writes, connects and fs calls with later work). Each request struct
 * begins with an ax_req_t member named `req`. A request completes exactly
 * once: its callback runs on the loop thread, also when it was cancelled
 * (status AX_ECANCELED). While in flight it keeps its loop alive, and its
 * memory must stay valid until its callback begins.
 * @{
 */

/** The type of a request. */
typedef enum ax_req_type_e {
  AX_UNKNOWN_REQ = 0, /**< Not a valid type. */
  AX_WORK,            /**< ax_work_t */
  AX_GETADDRINFO,     /**< ax_getaddrinfo_t */
  AX_GETNAMEINFO,     /**< ax_getnameinfo_t */
  AX_FS,              /**< ax_fs_t */
  AX_WRITE,           /**< ax_write_t */
  AX_CONNECT,         /**< ax_connect_t */
  AX_SHUTDOWN,        /**< ax_shutdown_t */
  AX_RANDOM,          /**< ax_random_t */
  AX_UDP_SEND,        /**< ax_udp_send_t */
  AX_REQ_TYPE_MAX     /**< One past the last valid type. */
} ax_req_type;

/** The part every request has. Read the fields; do not write them but data. */
struct ax_req_s {
  /** User data; axle never touches it. */
  void *data;
  /** The loop the request runs on. Read-only. */
  ax_loop_t *loop;
  /** The request's type. Read-only. */
  ax_req_type type;
};

/**
 * Cancel a request that has not started. A cancelled request still
 * completes, with AX_ECANCELED, in a later iteration of its loop.
 * @return 0; AX_EBUSY if it is running or done (its callback will report
 *         how it ended); AX_EINVAL for NULL or a type that cannot be
 *         cancelled.
 */
AX_EXTERN int ax_cancel(ax_req_t *req);

/** @return The type's name, such as "work"; "unknown" for an invalid type. */
AX_EXTERN const char *ax_req_type_name(ax_req_type type);

/** @} */

/**
 * @defgroup threadpool Thread pool
 * Worker threads for work that would block the loop. The pool is shared by
 * every loop of the process and starts with the first job. It has a size
 * (default 4, or AX_THREADPOOL_SIZE, or ax_threadpool_set_size()) of
 * general workers, which take jobs in lanes: file system jobs first, DNS
 * jobs while fewer than half the workers run DNS, then user jobs
 * (ax_queue_work()). One more worker, started with the first file system
 * job, runs only file system jobs, so that user jobs filling every general
 * worker cannot starve file access. See docs/threadpool.md.
 * @{
 */

/** A thread-pool work request. */
struct ax_work_s {
  /** The common request part. */
  ax_req_t req;
  /** Private to axle. */
  struct ax__work_private priv;
};

/**
 * Run work_cb(work) on a pool worker, then after_work_cb(work, status) on
 * the loop thread.
 * @return 0; AX_EINVAL if @p loop, @p work or @p work_cb is NULL (an
 *         after_work_cb may be NULL); AX_EAGAIN or AX_ENOMEM if the pool
 *         cannot start; AX_EMFILE, AX_ENFILE or AX_ENOMEM if the loop's
 *         wakeup channel cannot be opened.
 */
AX_EXTERN int ax_queue_work(ax_loop_t *loop, ax_work_t *work,
                            ax_work_cb work_cb, ax_after_work_cb after_work_cb);

/**
 * Set the number of general workers, before or while the pool runs. Growing
 * starts workers at once; shrinking lets the extra workers finish their
 * current job and exit.
 * @return 0; AX_EINVAL if @p threads is not within 1..1024; an error from
 *         starting a thread (the pool then keeps the workers it has).
 */
AX_EXTERN int ax_threadpool_set_size(unsigned int threads);

/** @return The number of general workers the pool has or will start with. */
AX_EXTERN unsigned int ax_threadpool_get_size(void);

/** @} */

/**
 * @defgroup dns DNS
 * Name lookups with the system's resolver: ax_getaddrinfo() turns a host
 * name and a service into addresses, ax_getnameinfo() an address into a
 * host name and a service. The resolver blocks, for seconds when a name
 * server is slow, so each asynchronous lookup runs on a thread-pool worker
 * in the DNS lane (at most half the workers at once) and completes on the
 * loop thread. Without a callback, a lookup runs at once on the calling
 * thread and the call returns its result.
 *
 * Hints, flags and results are the system's own: include <netdb.h> (POSIX)
 * or <ws2tcpip.h> (Windows) to fill a struct addrinfo or read one, and use
 * that header's AI_* and NI_* flags. Resolver errors are AX_EAI_* codes.
 * An asynchronous lookup can be cancelled until a worker takes it; a
 * synchronous one is over when the call returns, and ax_cancel() on it
 * returns AX_EBUSY. See docs/threadpool.md.
 * @{
 */

/** The size of ax_getnameinfo_t's host field: the longest host name the
 * resolver returns, and its terminating NUL (the system's NI_MAXHOST). */
#define AX_NI_MAXHOST 1025
/** The size of ax_getnameinfo_t's service field, NUL included (NI_MAXSERV). */
#define AX_NI_MAXSERV 32
/** The longest node or service name the lookups accept, in bytes, without
 * its terminating NUL. */
#define AX_DNS_NAME_MAX 1024

/** A getaddrinfo request. */
struct ax_getaddrinfo_s {
  /** The common request part. */
  ax_req_t req;
  /**
   * The answer: a list of addresses, or NULL until there is one and on
   * failure. A synchronous lookup leaves it here; an asynchronous one also
   * hands it to its callback. The caller owns it and releases it with
   * ax_freeaddrinfo().
   */
  struct addrinfo *addrinfo;
  /** Private to axle. */
  struct ax__getaddrinfo_private priv;
};

/** A getnameinfo request. */
struct ax_getnameinfo_s {
  /** The common request part. */
  ax_req_t req;
  /** The host name, or its numeric form; empty until there is an answer. */
  char host[AX_NI_MAXHOST];
  /** The service name, or the port number; empty until there is an answer. */
  char service[AX_NI_MAXSERV];
  /** Private to axle. */
  struct ax__getnameinfo_private priv;
};

/**
 * Look up the addresses of @p node and @p service, as getaddrinfo(3) does.
 *
 * With a callback, the lookup runs on the thread pool and the callback runs
 * on the loop thread, exactly once, also when ax_cancel() takes the lookup
 * off the queue (status AX_ECANCELED). The node, service and hints are
 * copied: the caller's may go away once this returns.
 *
 * With @p getaddrinfo_cb NULL, the lookup runs on the calling thread before
 * this returns, its answer is left in @p req->addrinfo, and nothing is
 * queued on the loop.
 *
 * @param loop           The loop the callback runs on.
 * @param req            The request; its memory must stay valid until the
 *                       callback begins.
 * @param node           A host name or a numeric address, or NULL.
 * @param service        A service name or a port number, or NULL.
 * @param hints          The system's struct addrinfo with ai_flags,
 *                       ai_family, ai_socktype and ai_protocol set, the
 *                       rest zero; or NULL for the system's defaults.
 * @param getaddrinfo_cb The callback, or NULL for a synchronous lookup.
 * @return 0 once queued or, synchronously, once the answer is there;
 *         AX_EINVAL if @p loop or @p req is NULL or if @p node and
 *         @p service are both NULL; AX_ENAMETOOLONG if either is longer
 *         than AX_DNS_NAME_MAX bytes; AX_ENOMEM, or an error starting the
 *         pool; synchronously, the lookup's error (AX_EAI_* or a system
 *         error).
 */
AX_EXTERN int ax_getaddrinfo(ax_loop_t *loop, ax_getaddrinfo_t *req,
                             const char *node, const char *service,
                             const struct addrinfo *hints,
                             ax_getaddrinfo_cb getaddrinfo_cb);

/**
 * Release a list of addresses that ax_getaddrinfo() returned. Any thread
 * may call it, at any time after the answer arrived.
 * @param addrinfo The list, or NULL (nothing is done).
 */
AX_EXTERN void ax_freeaddrinfo(struct addrinfo *addrinfo);

/**
 * Look up the host name and service of a socket address, as getnameinfo(3)
 * does. Asynchronous with a callback and synchronous without, as
 * ax_getaddrinfo(). The address is copied. The answer is left in
 * @p req->host and @p req->service.
 *
 * @param loop           The loop the callback runs on.
 * @param req            The request; its memory must stay valid until the
 *                       callback begins.
 * @param addr           An IPv4 or IPv6 address (struct sockaddr_in or
 *                       struct sockaddr_in6), with its port.
 * @param flags          The system's NI_* flags, such as NI_NUMERICHOST.
 * @param getnameinfo_cb The callback, or NULL for a synchronous lookup.
 * @return 0 once queued or, synchronously, once the answer is there;
 *         AX_EINVAL if @p loop, @p req or @p addr is NULL; AX_EAI_FAMILY
 *         for an address of another family; AX_ENOMEM, or an error starting
 *         the pool; synchronously, the lookup's error.
 */
AX_EXTERN int ax_getnameinfo(ax_loop_t *loop, ax_getnameinfo_t *req,
                             const struct sockaddr *addr, int flags,
                             ax_getnameinfo_cb getnameinfo_cb);

/** @} */

/**
 * @defgroup buf Buffers
 * ax_buf_t (declared by the platform part of this header, in the system's
 * own vector layout) points at memory the caller owns.
 * @{
 */

/**
 * @return A buffer for @p len bytes at @p base. On Windows a buffer holds
 *         at most 4 GiB - 1 bytes; a longer @p len is cut to that.
 */
AX_EXTERN ax_buf_t ax_buf_init(char *base, size_t len);

/** @} */

/**
 * @defgroup stream Streams
 * What TCP handles share: reading with a buffer from the caller, ordered
 * writes, shutdown, listening and accepting. Each stream struct begins with
 * an ax_stream_t member named `stream` (whose first member is `handle`).
 *
 * A write is tried at once; only what the kernel did not take is queued,
 * and queued writes go out in order with one vectored call per wakeup.
 * Closing a stream completes every pending request exactly once with
 * AX_ECANCELED, before the close callback. A stream may be closed from
 * inside any of its callbacks. See docs/tcp.md.
 * @{
 */

/** The part every stream has. */
struct ax_stream_s {
  /** The common handle part. */
  ax_handle_t handle;
  /** Private to axle. */
  struct ax__stream_private priv;
};

/** A write request. */
struct ax_write_s {
  /** The common request part. */
  ax_req_t req;
  /** The stream written to. Read-only. */
  ax_stream_t *handle;
  /** Private to axle. */
  struct ax__write_private priv;
};

/** A connect request. */
struct ax_connect_s {
  /** The common request part. */
  ax_req_t req;
  /** The stream connecting. Read-only. */
  ax_stream_t *handle;
  /** Private to axle. */
  struct ax__connect_private priv;
};

/** A shutdown request. */
struct ax_shutdown_s {
  /** The common request part. */
  ax_req_t req;
  /** The stream whose write side is shut. Read-only. */
  ax_stream_t *handle;
  /** Private to axle. */
  struct ax__shutdown_private priv;
};

/** The most buffers one write or try-write takes. */
#define AX_WRITE_MAX_BUFS 1024

/**
 * Listen for connections on a bound stream. @p connection_cb runs once per
 * connection to accept; a wakeup accepts a bounded batch. Out of
 * descriptors, the listener uses a descriptor it keeps in reserve to
 * accept and close the pending connection, reports AX_EMFILE (or
 * AX_ENFILE) once, pauses with back-off and resumes by itself; out of
 * memory (AX_ENOMEM, AX_ENOBUFS) it reports and pauses the same way. Each
 * pause counts in ax_metrics_t::accept_paused, and reaches the loop's
 * resource callback once per episode (ax_loop_set_resource_cb()).
 * (Windows needs no reserve: a connection waits in the backlog until an
 * accept is posted for it.)
 * Calling it again on a listener sets a new backlog and callback.
 * @param stream        A bound stream.
 * @param backlog       The kernel's queue length (SOMAXCONN for its
 *                      maximum).
 * @param connection_cb Called once per connection to accept.
 * @return 0; AX_EINVAL for NULL arguments or a stream that is not bound or
 *         already reading (unlike libuv, an unbound TCP handle is not bound
 *         to 0.0.0.0 for you: see docs/tcp.md); AX_EBADF if closing; an
 *         error from listen(2).
 */
AX_EXTERN int ax_listen(ax_stream_t *stream, int backlog,
                        ax_connection_cb connection_cb);

/**
 * Accept a connection into @p client (initialised, not yet open), inside
 * the connection callback or later: a connection the callback leaves
 * untaken is held, and the listener accepts no more until it is taken.
 * @return 0; AX_EAGAIN if there is no connection to accept; AX_EINVAL for
 *         NULL or mismatched handles, or a server that is not listening;
 *         AX_EBUSY if @p client is open; AX_EBADF if it is closing; or
 *         the error of applying an option chosen for @p client before it
 *         had a socket (ax_tcp_nodelay()), the connection then dropped.
 */
AX_EXTERN int ax_accept(ax_stream_t *server, ax_stream_t *client);

/**
 * Read until stopped: @p alloc_cb gives a buffer for each read, @p read_cb
 * receives the data. An idle stream holds no buffer.
 * @return 0; AX_EINVAL for NULL arguments; AX_EALREADY if reading;
 *         AX_ENOTCONN if not connected; AX_EBADF if closing.
 */
AX_EXTERN int ax_read_start(ax_stream_t *stream, ax_alloc_cb alloc_cb,
                            ax_read_cb read_cb);

/** Stop reading. Idempotent. @return 0, or AX_EINVAL for NULL. */
AX_EXTERN int ax_read_stop(ax_stream_t *stream);

/**
 * Write @p bufs in order, after the writes queued before. What the kernel
 * takes at once is written before this returns; the rest waits in the
 * queue, and the buffers must stay valid until @p write_cb. The callback
 * always runs from the loop, never from inside this call (the water
 * callback may: see ax_stream_set_water_marks()). Writes made while a
 * connect is in progress wait for it, and are cancelled if it fails.
 * @param req      The request; valid until @p write_cb begins.
 * @param stream   A connected (or connecting) stream.
 * @param bufs     The buffers, in order; the array itself is copied.
 * @param nbufs    1..AX_WRITE_MAX_BUFS; up to 4 are kept inline, more in
 *                 an allocation.
 * @param write_cb Called once the write is over, also when cancelled; or
 *                 NULL, as libuv allows: the request then completes just
 *                 the same and nothing is called. As nothing says when,
 *                 the request and the buffers must stay valid until the
 *                 stream's close callback; a failure shows only in a
 *                 read or a later write.
 * @return 0; AX_EINVAL for a NULL request or stream, or a bad count;
 *         AX_EBADF if closing; AX_EPIPE after shutdown; AX_ENOTCONN if
 *         never connected; AX_EBUSY if @p req is still queued on
 *         @p stream (its callback has not run: a request is reused only
 *         after it);
 *         AX_ENOMEM.
 */
AX_EXTERN int ax_write(ax_write_t *req, ax_stream_t *stream,
                       const ax_buf_t bufs[], unsigned int nbufs,
                       ax_write_cb write_cb);

/**
 * Write what the kernel takes now, without queueing.
 *
 * On io_uring a small write (up to 2 KiB, several tries adding up to
 * that) on a stream with nothing queued is copied into a buffer of the
 * loop's and handed to the kernel with the loop's next system call,
 * instead of a send of its own; the whole length is returned, as a kernel
 * send with room would. Until the kernel has the bytes they count in
 * ax_stream_get_write_queue_size() (0 still means "all with the kernel"),
 * writes made meanwhile go after them, and ax_shutdown() waits for them;
 * ax_close() before then may drop them, as it does queued writes. An
 * error of their send fails the writes queued behind, and the next
 * ax_try_write() reports it. Larger writes, and every write while the
 * kernel last had no room, go to the kernel at once, as on every other
 * backend (epoll, kqueue, poll, IOCP), where the bytes are the kernel's
 * when this returns.
 * @return The number of bytes written (possibly fewer than asked, at most
 *         INT_MAX); AX_EAGAIN if none could be, or if writes are queued
 *         (ordering comes first); or an error as ax_write().
 */
AX_EXTERN int ax_try_write(ax_stream_t *stream, const ax_buf_t bufs[],
                           unsigned int nbufs);

/**
 * Shut the write side once the queued writes have gone out (the peer
 * reads AX_EOF).
 * @param req         The request; valid until @p shutdown_cb begins, or
 *                    with a NULL callback until the close callback.
 * @param stream      A connected stream.
 * @param shutdown_cb Called once with the result, or AX_ECANCELED if the
 *                    stream closes first; or NULL, as libuv allows, and
 *                    then nothing is called.
 * @return 0; AX_EINVAL for a NULL request or stream; AX_ENOTCONN if not
 *         connected; AX_EALREADY if a shutdown is pending or done; AX_EBADF if
 *         closing.
 */
AX_EXTERN int ax_shutdown(ax_shutdown_t *req, ax_stream_t *stream,
                          ax_shutdown_cb shutdown_cb);

/** @return The bytes queued and not yet written: exact. */
AX_EXTERN size_t ax_stream_get_write_queue_size(const ax_stream_t *stream);

/**
 * Report when the write queue grows to @p high_bytes or past it, and when
 * it drains back to @p low_bytes or below (backpressure). "Above" is
 * reported from inside the ax_write() that crossed the mark, so that the
 * writer can stop at once; "below" from the loop, as the queue drains. A
 * mark the queue has crossed already is reported at its next change.
 * @param stream     A stream that is not listening.
 * @param low_bytes  Report "below" at this queue size or less.
 * @param high_bytes Report "above" at this queue size or more.
 * @param water_cb   The callback, or NULL to stop reporting.
 * @return 0; AX_EINVAL for NULL, a listener, or unless
 *         low_bytes < high_bytes; AX_EBADF if closing; AX_ENOMEM (the
 *         first call allocates a few dozen bytes).
 */
AX_EXTERN int ax_stream_set_water_marks(ax_stream_t *stream, size_t low_bytes,
                                        size_t high_bytes,
                                        ax_water_cb water_cb);

/** @return true if the stream is connected and not at end of input. */
AX_EXTERN bool ax_is_readable(const ax_stream_t *stream);

/** @return true if the stream is connected and not shut down. */
AX_EXTERN bool ax_is_writable(const ax_stream_t *stream);

/** @} */

/**
 * @defgroup tcp TCP
 * TCP over IPv4 and IPv6. Addresses are the system's struct sockaddr_in
 * and sockaddr_in6 (include <netinet/in.h> or <ws2tcpip.h> to touch their
 * fields); ax_ip4_addr() and ax_ip6_addr() fill them from text.
 * @{
 */

/** A TCP handle: a listener or a connection. */
struct ax_tcp_s {
  /** The stream part (its first member is the handle). */
  ax_stream_t stream;
};

/** @name Flags of ax_tcp_bind()
 * @{ */
#define AX_TCP_IPV6ONLY 0x0001 /**< An IPv6 socket that refuses IPv4. */
#define AX_TCP_REUSEPORT                                                       \
  0x0002 /**< Share the port (SO_REUSEPORT, Linux                              \
              balances connections across sockets). */
/** @} */

/** Initialise a TCP handle; its socket is created by bind or connect. */
AX_EXTERN int ax_tcp_init(ax_loop_t *loop, ax_tcp_t *tcp);

/**
 * Initialise a TCP handle, and make its socket at once when the low 8 bits
 * of @p flags name a family (AF_INET or AF_INET6; AF_UNSPEC makes none,
 * as ax_tcp_init()): for options set on ax_fileno()'s socket before bind
 * or connect. The socket is non-blocking, close-on-exec, and an IPv6 one
 * takes IPv4 too where the system allows; bind and connect must then use
 * its family. No other bit of @p flags may be set.
 * @return 0; AX_EINVAL (NULL, another family, another bit); the system's
 *         error making the socket (AX_EMFILE...), and the handle is then
 *         not initialised (nothing to close).
 */
AX_EXTERN int ax_tcp_init_ex(ax_loop_t *loop, ax_tcp_t *tcp,
                             unsigned int flags);

/**
 * Adopt an open socket (it is made non-blocking and close-on-exec). A
 * connected socket can be read and written at once; a bound one can
 * listen. Closing the handle closes the socket.
 * @return 0; AX_EINVAL; AX_EBUSY if the handle has a socket already;
 *         AX_EBADF if it is closing, or for a descriptor that is not open.
 */
AX_EXTERN int ax_tcp_open(ax_tcp_t *tcp, ax_os_sock_t sock);

/**
 * Bind to an address (SO_REUSEADDR is set on POSIX; on Windows, where
 * SO_REUSEADDR would let other sockets take the port over,
 * SO_EXCLUSIVEADDRUSE).
 * @param tcp   An initialised TCP handle without a socket, or with an
 *              unbound one.
 * @param addr  A struct sockaddr_in or sockaddr_in6.
 * @param flags AX_TCP_* flags, or 0.
 * @return 0; AX_EINVAL; AX_EAFNOSUPPORT; AX_EADDRINUSE; AX_ENOTSUP for
 *         AX_TCP_REUSEPORT where the system cannot share a port.
 */
AX_EXTERN int ax_tcp_bind(ax_tcp_t *tcp, const struct sockaddr *addr,
                          unsigned int flags);

/**
 * Connect to @p addr. @p connect_cb runs once connected or failed.
 * @return 0 once started; AX_EINVAL; AX_EALREADY if connecting;
 *         AX_EISCONN; AX_EBADF if closing; an error from socket(2).
 */
AX_EXTERN int ax_tcp_connect(ax_connect_t *req, ax_tcp_t *tcp,
                             const struct sockaddr *addr,
                             ax_connect_cb connect_cb);

/** Turn Nagle's algorithm off (@p enable true) or on. Before the handle
 * has a socket, the choice is kept and applied to the socket it gets from
 * bind, connect, ax_accept() or ax_tcp_open(). @return 0, AX_EINVAL,
 * AX_EBADF if closing, or setsockopt's error. */
AX_EXTERN int ax_tcp_nodelay(ax_tcp_t *tcp, bool enable);

/** Turn keep-alive probes on, after @p delay_s idle seconds (>= 1), or off.
 * Before the handle has a socket, the choice and its delay are kept and
 * applied to the socket it gets from bind, connect, ax_accept() or
 * ax_tcp_open() (libuv keeps the choice but uses 60 s); calling again
 * replaces them. @return 0; AX_EINVAL; AX_EBADF if closing; AX_ENOMEM
 *         (keeping the delay needs memory, and nothing is changed without
 *         it); setsockopt's error. */
AX_EXTERN int ax_tcp_keepalive(ax_tcp_t *tcp, bool enable,
                               unsigned int delay_s);

/**
 * The local address. @p namelen holds the room at @p name on entry
 * (sizeof(struct sockaddr_storage) is enough) and the length on return.
 * @return 0; AX_EINVAL; AX_EBADF if the handle has no socket or is
 *         closing; AX_ENOTCONN (the peer's name of an unconnected socket).
 */
AX_EXTERN int ax_tcp_getsockname(const ax_tcp_t *tcp, struct sockaddr *name,
                                 int *namelen);

/** The peer's address; as ax_tcp_getsockname(). */
AX_EXTERN int ax_tcp_getpeername(const ax_tcp_t *tcp, struct sockaddr *name,
                                 int *namelen);

/** Close with a reset (RST) instead of an orderly FIN; what is queued is
 * dropped, as with ax_close(). A connection the system reports shut down
 * or reset already (EINVAL from SO_LINGER) is simply closed. @return as
 * ax_close(), or setsockopt's error (the handle is then not closed). */
AX_EXTERN int ax_tcp_close_reset(ax_tcp_t *tcp, ax_close_cb close_cb);

/** The socket or descriptor under a TCP, UDP, pipe, TTY or poll handle,
 * for options axle does not offer (a Windows pipe or console gives its
 * HANDLE). Leave its blocking mode and ownership alone: the handle closes
 * it. @return 0; AX_EINVAL (NULL, another handle type); AX_EBADF if the
 * handle has none yet or is closing. */
AX_EXTERN int ax_fileno(const ax_handle_t *handle, ax_os_fd_t *fd);

/**
 * The size of the buffer the system keeps for sending on the socket under
 * a TCP, UDP or pipe handle (SO_SNDBUF). With @p *value 0 it is read into
 * @p *value; otherwise the system is asked for @p *value bytes, and
 * @p *value is left as it was. Linux doubles what is asked (room for its
 * bookkeeping) and reads back the doubled size; every system rounds up to
 * its minimum. @return 0; AX_EINVAL (NULL, a negative size, another handle
 * type); AX_EBADF if the handle has no socket yet or is closing;
 * AX_ENOTSOCK for a POSIX pipe that is not a socket; AX_ENOTSUP for a pipe
 * on Windows; the system's error (nothing is changed then).
 */
AX_EXTERN int ax_send_buffer_size(ax_handle_t *handle, int *value);

/** The size of the receiving buffer (SO_RCVBUF); as ax_send_buffer_size(). */
AX_EXTERN int ax_recv_buffer_size(ax_handle_t *handle, int *value);

/**
 * Fill an IPv4 address from text such as "127.0.0.1".
 * @return 0; AX_EINVAL for NULL, a bad address or a port outside 0..65535.
 */
AX_EXTERN int ax_ip4_addr(const char *ip, int port, struct sockaddr_in *addr);

/** Fill an IPv6 address from text such as "::1" (a "%scope" suffix is
 * understood); as ax_ip4_addr(). */
AX_EXTERN int ax_ip6_addr(const char *ip, int port, struct sockaddr_in6 *addr);

/**
 * Write the numeric text of an IPv4 or IPv6 address (without the port).
 * @return 0; AX_EINVAL; AX_EAFNOSUPPORT; AX_ENOSPC if @p size is too small
 *         (46 bytes always suffice).
 */
AX_EXTERN int ax_ip_name(const struct sockaddr *addr, char *dst, size_t size);

/** @} */

/**
 * @defgroup poll Descriptor readiness
 * Watch an arbitrary descriptor (POSIX) or socket (Windows) for
 * readiness, to drive code that does its own I/O, such as a library that
 * hands out its sockets. Readiness is level-triggered: the callback runs
 * in every iteration while the descriptor is ready. An error pending on
 * the descriptor is reported as every event asked for, so that the
 * caller's own read or write finds it; only a descriptor that is no longer
 * open stops the handle, with status AX_EBADF. What each backend can watch
 * is in the guide (docs/signals.md).
 * @{
 */

/** Readiness bits of ax_poll_start() and ax_poll_cb. */
typedef enum ax_poll_event_e {
  AX_POLL_READABLE = 1,   /**< Data to read, or a connection to accept. */
  AX_POLL_WRITABLE = 2,   /**< Room to write. */
  AX_POLL_DISCONNECT = 4, /**< The peer hung up (reported when asked). */
  AX_POLL_PRIORITIZED = 8 /**< Out-of-band or priority data (epoll and
                               Windows; AX_ENOTSUP elsewhere). */
} ax_poll_event;

/** A descriptor-readiness handle. */
struct ax_poll_s {
  /** The common handle part. */
  ax_handle_t handle;
  /** Private to axle. */
  struct ax__poll_private priv;
};

/**
 * Watch descriptor @p fd. The descriptor stays the caller's: closing the
 * handle does not close it (close the handle first, then the descriptor:
 * epoll forgets a descriptor closed under it without a word). Its flags
 * are left as they are; make it non-blocking for reads and writes in the
 * callback. One handle per descriptor and loop (epoll: AX_EEXIST at start).
 * @return 0; AX_EINVAL for NULL or a negative @p fd; AX_EBADF if @p fd is
 *         not open; AX_ENOTSUP on Windows (use ax_poll_init_socket()).
 */
AX_EXTERN int ax_poll_init(ax_loop_t *loop, ax_poll_t *poll, int fd);

/**
 * Watch a socket; on POSIX the same as ax_poll_init(). Windows: any
 * Winsock socket; the handle opens a device handle of its own to poll it
 * (AFD, the socket driver), which ax_close() releases.
 * @return 0; AX_EINVAL for NULL or INVALID_SOCKET; AX_ENOTSOCK; AX_ENOMEM.
 */
AX_EXTERN int ax_poll_init_socket(ax_loop_t *loop, ax_poll_t *poll,
                                  ax_os_sock_t sock);

/**
 * Start, or change the events watched (also from the callback).
 * Level-triggered: the callback runs every iteration while the descriptor
 * is ready for one of @p events.
 * @param poll    An initialised poll handle.
 * @param events  AX_POLL_* bits (at least one).
 * @param poll_cb Called with the ready events.
 * @return 0; AX_EINVAL; AX_EBADF if closing; AX_ENOTSUP for
 *         AX_POLL_PRIORITIZED on a backend that cannot watch it; or the
 *         system's refusal (AX_EBADF, AX_EPERM for a regular file under
 *         epoll, AX_EEXIST), after which the handle is stopped.
 */
AX_EXTERN int ax_poll_start(ax_poll_t *poll, int events, ax_poll_cb poll_cb);

/** Stop watching. Idempotent. @return 0, or AX_EINVAL for NULL. */
AX_EXTERN int ax_poll_stop(ax_poll_t *poll);

/** @} */

/**
 * @defgroup signal Signals
 * Signals delivered as callbacks on the loop thread, to every handle of
 * the signal on every loop. POSIX: any catchable signal, through a handler
 * installed with sigaction() that only marks the signal and writes to a
 * descriptor the loop watches. Windows: the console's events, Ctrl+C as
 * SIGINT, Ctrl+Break as SIGBREAK and closing the console as SIGHUP (1,
 * which axle/win.h defines). See docs/signals.md.
 * @{
 */

/** A signal handle. */
struct ax_signal_s {
  /** The common handle part. */
  ax_handle_t handle;
  /** The signal watched, or 0. Read-only. */
  int signum;
  /** Private to axle. */
  struct ax__signal_private priv;
};

/** Initialise a signal handle. @return 0, or AX_EINVAL for NULL. */
AX_EXTERN int ax_signal_init(ax_loop_t *loop, ax_signal_t *signal);

/**
 * Watch @p signum until stopped; a handle watching another signal moves to
 * this one. While any handle watches a signal, its previous disposition
 * (such as ending the process on SIGINT) is replaced; the last handle to
 * stop puts it back. Signals that arrive together may be reported once.
 * @return 0; AX_EINVAL for NULL, a signal number that cannot be caught
 *         (SIGKILL, SIGSTOP, those the C library keeps) or that is not
 *         known; AX_EBADF if closing; AX_ENOSYS on Windows for a signal
 *         other than SIGINT, SIGBREAK and SIGHUP; AX_EMFILE.
 */
AX_EXTERN int ax_signal_start(ax_signal_t *signal, int signum,
                              ax_signal_cb signal_cb);

/** As ax_signal_start(), but stop after the first delivery, before the
 * callback runs (which may start the handle again). */
AX_EXTERN int ax_signal_start_oneshot(ax_signal_t *signal, int signum,
                                      ax_signal_cb signal_cb);

/** Stop watching. Idempotent. @return 0, or AX_EINVAL for NULL. */
AX_EXTERN int ax_signal_stop(ax_signal_t *signal);

/** @} */

/**
 * @defgroup fs File system
 * File operations as requests. With a callback, each runs on a thread-pool
 * worker in the file system lane (served first, and by a reserve worker of
 * its own) and its callback runs on the loop thread, exactly once, also when
 * ax_cancel() takes it off the queue (result AX_ECANCELED). With the
 * callback NULL, the operation runs on the calling thread before the call
 * returns, and nothing is queued on the loop.
 *
 * Every function returns 0 or an error: for an asynchronous request,
 * whether it was queued (argument errors are reported here, never through
 * the callback); for a synchronous one, the operation's own outcome. Either
 * way the outcome is left in the request: `result` (a count, a descriptor,
 * 0, or an error), `statbuf` for the stat family, `ptr` for answers of
 * other shapes, `path` for the path operated on. Call ax_fs_req_cleanup()
 * on every request once its outcome is read, also after a failure: it
 * releases what the request allocated.
 *
 * Paths are UTF-8 on every system (Windows converts them to UTF-16 inside).
 * An asynchronous request copies its paths; a synchronous one uses the
 * caller's. Descriptors (ax_file_t) are POSIX file descriptors, and on
 * Windows C runtime descriptors wrapping a Win32 file handle. See
 * docs/fs.md.
 * @{
 */

/** What a file system request does. */
typedef enum ax_fs_type_e {
  AX_FS_UNKNOWN = 0, /**< Not a valid type. */
  AX_FS_OPEN,        /**< ax_fs_open() */
  AX_FS_CLOSE,       /**< ax_fs_close() */
  AX_FS_READ,        /**< ax_fs_read() */
  AX_FS_WRITE,       /**< ax_fs_write() */
  AX_FS_SENDFILE,    /**< ax_fs_sendfile() */
  AX_FS_STAT,        /**< ax_fs_stat() */
  AX_FS_LSTAT,       /**< ax_fs_lstat() */
  AX_FS_FSTAT,       /**< ax_fs_fstat() */
  AX_FS_STATFS,      /**< ax_fs_statfs() */
  AX_FS_FTRUNCATE,   /**< ax_fs_ftruncate() */
  AX_FS_UTIME,       /**< ax_fs_utime() */
  AX_FS_FUTIME,      /**< ax_fs_futime() */
  AX_FS_LUTIME,      /**< ax_fs_lutime() */
  AX_FS_ACCESS,      /**< ax_fs_access() */
  AX_FS_CHMOD,       /**< ax_fs_chmod() */
  AX_FS_FCHMOD,      /**< ax_fs_fchmod() */
  AX_FS_FSYNC,       /**< ax_fs_fsync() */
  AX_FS_FDATASYNC,   /**< ax_fs_fdatasync() */
  AX_FS_UNLINK,      /**< ax_fs_unlink() */
  AX_FS_RMDIR,       /**< ax_fs_rmdir() */
  AX_FS_MKDIR,       /**< ax_fs_mkdir() */
  AX_FS_MKDTEMP,     /**< ax_fs_mkdtemp() */
  AX_FS_MKSTEMP,     /**< ax_fs_mkstemp() */
  AX_FS_RENAME,      /**< ax_fs_rename() */
  AX_FS_SCANDIR,     /**< ax_fs_scandir() */
  AX_FS_OPENDIR,     /**< ax_fs_opendir() */
  AX_FS_READDIR,     /**< ax_fs_readdir() */
  AX_FS_CLOSEDIR,    /**< ax_fs_closedir() */
  AX_FS_LINK,        /**< ax_fs_link() */
  AX_FS_SYMLINK,     /**< ax_fs_symlink() */
  AX_FS_READLINK,    /**< ax_fs_readlink() */
  AX_FS_REALPATH,    /**< ax_fs_realpath() */
  AX_FS_CHOWN,       /**< ax_fs_chown() */
  AX_FS_FCHOWN,      /**< ax_fs_fchown() */
  AX_FS_LCHOWN,      /**< ax_fs_lchown() */
  AX_FS_COPYFILE,    /**< ax_fs_copyfile() */
  AX_FS_TYPE_MAX     /**< One past the last valid type. */
} ax_fs_type;

/** @name Flags of ax_fs_open()
 * axle's own values, the same on every system; combine with `|`. Exactly
 * one of RDONLY, WRONLY and RDWR.
 * @{ */
#define AX_FS_O_RDONLY 0x0000    /**< Open for reading only. */
#define AX_FS_O_WRONLY 0x0001    /**< Open for writing only. */
#define AX_FS_O_RDWR 0x0002      /**< Open for reading and writing. */
#define AX_FS_O_APPEND 0x0008    /**< Every write goes to the end. */
#define AX_FS_O_CREAT 0x0010     /**< Create the file if it is missing. */
#define AX_FS_O_EXCL 0x0020      /**< With CREAT: fail if it exists. */
#define AX_FS_O_TRUNC 0x0040     /**< Truncate to length 0. */
#define AX_FS_O_DIRECTORY 0x0080 /**< Fail unless it is a directory. */
#define AX_FS_O_NOFOLLOW 0x0100  /**< Fail if the last component is a link. */
#define AX_FS_O_SYNC 0x0200      /**< Writes wait for data and metadata. */
#define AX_FS_O_DSYNC 0x0400     /**< Writes wait for the data. */
#define AX_FS_O_NOATIME 0x0800   /**< Leave the access time (Linux only). */
/** @} */

/** @name Modes of ax_fs_access()
 * @{ */
#define AX_FS_F_OK 0 /**< The file exists. */
#define AX_FS_X_OK 1 /**< It may be executed (searched, for a directory). */
#define AX_FS_W_OK 2 /**< It may be written. */
#define AX_FS_R_OK 4 /**< It may be read. */
/** @} */

/** @name Flags of ax_fs_copyfile()
 * @{ */
/** Fail with AX_EEXIST if the destination exists. */
#define AX_FS_COPYFILE_EXCL 0x0001
/** Try a copy-on-write clone first; copy the bytes if the system cannot. */
#define AX_FS_COPYFILE_FICLONE 0x0002
/** Clone or fail (AX_ENOTSUP where the file system cannot clone). */
#define AX_FS_COPYFILE_FICLONE_FORCE 0x0004
/** @} */

/** @name Flags of ax_fs_symlink() (Windows only; ignored elsewhere)
 * @{ */
#define AX_FS_SYMLINK_DIR 0x0001      /**< The target is a directory. */
#define AX_FS_SYMLINK_JUNCTION 0x0002 /**< Make a junction, not a link. */
/** @} */

/** @name File type bits of ax_stat_t's mode (the POSIX values everywhere)
 * @{ */
#define AX_S_IFMT 0170000   /**< Mask of the type bits. */
#define AX_S_IFREG 0100000  /**< A regular file. */
#define AX_S_IFDIR 0040000  /**< A directory. */
#define AX_S_IFLNK 0120000  /**< A symbolic link. */
#define AX_S_IFIFO 0010000  /**< A FIFO. */
#define AX_S_IFSOCK 0140000 /**< A socket. */
#define AX_S_IFCHR 0020000  /**< A character device. */
#define AX_S_IFBLK 0060000  /**< A block device. */
/** @} */

/** A point in time: seconds and nanoseconds since 1970-01-01 UTC. */
typedef struct ax_timespec_s {
  int64_t sec;  /**< Whole seconds. */
  int32_t nsec; /**< Nanoseconds, 0..999999999. */
} ax_timespec_t;

/** What the stat family reports, the same struct on every system. Fields a
 * system does not have are 0. */
typedef struct ax_stat_s {
  uint64_t dev;           /**< Device of the file system. */
  uint64_t mode;          /**< Type (AX_S_IF*) and permission bits. */
  uint64_t nlink;         /**< Hard links. */
  uint64_t uid;           /**< Owner. */
  uint64_t gid;           /**< Group. */
  uint64_t rdev;          /**< Device, for a device file. */
  uint64_t ino;           /**< Inode number (file index on Windows). */
  uint64_t size;          /**< Size in bytes. */
  uint64_t blksize;       /**< Preferred I/O size. */
  uint64_t blocks;        /**< 512-byte blocks allocated. */
  uint64_t flags;         /**< BSD file flags (st_flags). */
  uint64_t gen;           /**< BSD file generation (st_gen). */
  ax_timespec_t atim;     /**< Last access. */
  ax_timespec_t mtim;     /**< Last modification of the data. */
  ax_timespec_t ctim;     /**< Last change of the inode. */
  ax_timespec_t birthtim; /**< Creation, where the system records it. */
} ax_stat_t;

/** What ax_fs_statfs() reports about a file system. */
typedef struct ax_statfs_s {
  uint64_t type;   /**< The file system's type, where the system says. */
  uint64_t bsize;  /**< Block size, in bytes. */
  uint64_t blocks; /**< Blocks in all. */
  uint64_t bfree;  /**< Free blocks. */
  uint64_t bavail; /**< Free blocks an unprivileged user may use. */
  uint64_t files;  /**< File nodes in all. */
  uint64_t ffree;  /**< Free file nodes. */
} ax_statfs_t;

/** The type of a directory entry, where the directory says it. */
typedef enum ax_dirent_type_e {
  AX_DIRENT_UNKNOWN = 0, /**< Not said: call ax_fs_lstat() to know. */
  AX_DIRENT_FILE,        /**< A regular file. */
  AX_DIRENT_DIR,         /**< A directory. */
  AX_DIRENT_LINK,        /**< A symbolic link. */
  AX_DIRENT_FIFO,        /**< A FIFO. */
  AX_DIRENT_SOCKET,      /**< A socket. */
  AX_DIRENT_CHAR,        /**< A character device. */
  AX_DIRENT_BLOCK        /**< A block device. */
} ax_dirent_type;

/** One directory entry. "." and ".." are never reported. */
typedef struct ax_dirent_s {
  const char *name;    /**< The entry's name, UTF-8. */
  ax_dirent_type type; /**< Its type. */
} ax_dirent_t;

/** A directory stream that ax_fs_opendir() opened. */
struct ax_dir_s {
  /** Set by the caller before ax_fs_readdir(): room for entries. */
  ax_dirent_t *dirents;
  /** Set by the caller: how many entries ax_fs_readdir() may fill. */
  size_t nentries;
  /** Private to axle. */
  struct ax__dir_private priv;
};

/** A file system request. */
struct ax_fs_s {
  /** The common request part. */
  ax_req_t req;
  /** What the request does. Read-only. */
  ax_fs_type fs_type;
  /**
   * The outcome: an error (< 0), or 0, or a count of bytes (read, write,
   * sendfile), a descriptor (open, mkstemp), a count of entries (scandir,
   * readdir).
   */
  int64_t result;
  /**
   * An answer that is not a number: the ax_stat_t (the stat family, then
   * `&statbuf`), the ax_statfs_t (statfs), the link target (readlink) or
   * canonical path (realpath) as a NUL-terminated string, the ax_dir_t
   * (opendir). Owned by the request until ax_fs_req_cleanup(), except the
   * ax_dir_t, which ax_fs_closedir() releases. NULL after the cleanup,
   * whatever it pointed at (as in libuv): keep the ax_dir_t before it.
   */
  void *ptr;
  /** The path operated on; for mkdtemp and mkstemp, the name created. */
  const char *path;
  /** The answer of the stat family. */
  ax_stat_t statbuf;
  /** Private to axle. */
  struct ax__fs_private priv;
};

/**
 * Release what a request allocated: its copies of paths and buffers, and
 * the answer in `ptr` (not an ax_dir_t), and set `ptr` and `path` to NULL.
 * Safe to call twice, and on a request that failed to queue. Call it only
 * once the request is over.
 */
AX_EXTERN void ax_fs_req_cleanup(ax_fs_t *req);

/**
 * Open (and with AX_FS_O_CREAT, create) a file. The descriptor is in
 * `result`. Descriptors are close-on-exec.
 * @param loop  The loop the callback runs on.
 * @param req   The request; its memory must stay valid until the callback
 *              begins.
 * @param path  The file.
 * @param flags AX_FS_O_* flags.
 * @param mode  Permission bits for a created file, such as 0644.
 * @param cb    The callback, or NULL to run on the calling thread.
 * @return 0, or an error; AX_EINVAL for unknown flags, or a mode with
 *         bits beyond 07777 (as for ax_fs_mkdir() and ax_fs_chmod()).
 */
AX_EXTERN int ax_fs_open(ax_loop_t *loop, ax_fs_t *req, const char *path,
                         int flags, int mode, ax_fs_cb cb);

/** Close a descriptor. */
AX_EXTERN int ax_fs_close(ax_loop_t *loop, ax_fs_t *req, ax_file_t file,
                          ax_fs_cb cb);

/**
 * Read into @p bufs, in order, as readv(2) or preadv(2). `result` is the
 * number of bytes read, 0 at end of file.
 * @param loop   The loop the callback runs on.
 * @param req    The request; its memory must stay valid until the
 *               callback begins.
 * @param file   An open descriptor.
 * @param bufs   The buffers, filled in order; the array is copied, the
 *               memory it points at must stay valid until the callback.
 * @param nbufs  How many buffers, 1 to 1024.
 * @param offset The position to read at, or -1 for the file's current
 *               position (which then advances).
 * @param cb     The callback, or NULL to run on the calling thread.
 * @return 0, or an error; AX_EINVAL for NULL bufs, nbufs 0 or more than
 *         1024 buffers, a buffer with a NULL base and a length, an offset
 *         below -1.
 */
AX_EXTERN int ax_fs_read(ax_loop_t *loop, ax_fs_t *req, ax_file_t file,
                         const ax_buf_t bufs[], unsigned int nbufs,
                         int64_t offset, ax_fs_cb cb);

/** Write @p bufs, in order; as ax_fs_read(). `result` is the byte count. */
AX_EXTERN int ax_fs_write(ax_loop_t *loop, ax_fs_t *req, ax_file_t file,
                          const ax_buf_t bufs[], unsigned int nbufs,
                          int64_t offset, ax_fs_cb cb);

/**
 * Copy up to @p len bytes from @p in_file at @p in_offset to @p out_file
 * (a file or a socket) at its current position, in the kernel where the
 * system can. `result` is the number of bytes copied: fewer than @p len
 * at the end of @p in_file, or when an error stopped the copy after some
 * bytes moved.
 * @return 0, or an error; AX_EINVAL for a negative offset or length.
 */
AX_EXTERN int ax_fs_sendfile(ax_loop_t *loop, ax_fs_t *req, ax_file_t out_file,
                             ax_file_t in_file, int64_t in_offset, int64_t len,
                             ax_fs_cb cb);

/** Describe the file at @p path, following links, into `statbuf`. */
AX_EXTERN int ax_fs_stat(ax_loop_t *loop, ax_fs_t *req, const char *path,
                         ax_fs_cb cb);

/** As ax_fs_stat(), but a link is described, not followed. */
AX_EXTERN int ax_fs_lstat(ax_loop_t *loop, ax_fs_t *req, const char *path,
                          ax_fs_cb cb);

/** As ax_fs_stat(), for an open descriptor. */
AX_EXTERN int ax_fs_fstat(ax_loop_t *loop, ax_fs_t *req, ax_file_t file,
                          ax_fs_cb cb);

/** Describe the file system holding @p path; `ptr` is an ax_statfs_t. */
AX_EXTERN int ax_fs_statfs(ax_loop_t *loop, ax_fs_t *req, const char *path,
                           ax_fs_cb cb);

/** Set the size of an open file to @p len bytes. */
AX_EXTERN int ax_fs_ftruncate(ax_loop_t *loop, ax_fs_t *req, ax_file_t file,
                              int64_t len, ax_fs_cb cb);

/**
 * Set the access and modification times of @p path, following links,
 * in seconds since 1970-01-01 UTC (fractions are kept to the microsecond
 * or better where the system stores them). Either time may instead be
 * AX_FS_UTIME_NOW (the current time) or AX_FS_UTIME_OMIT (left as it is).
 * @return 0, or an error; AX_EINVAL for a time that is not a number
 *         within 9e11 seconds (about 28,500 years) of 1970, nor one of
 *         the two special values.
 */
AX_EXTERN int ax_fs_utime(ax_loop_t *loop, ax_fs_t *req, const char *path,
                          double atime, double mtime, ax_fs_cb cb);

/** As ax_fs_utime(), for an open descriptor. */
AX_EXTERN int ax_fs_futime(ax_loop_t *loop, ax_fs_t *req, ax_file_t file,
                           double atime, double mtime, ax_fs_cb cb);

/** As ax_fs_utime(), but a link's own times are set. */
AX_EXTERN int ax_fs_lutime(ax_loop_t *loop, ax_fs_t *req, const char *path,
                           double atime, double mtime, ax_fs_cb cb);

/**
 * Check that @p path exists (AX_FS_F_OK) or that the caller may use it as
 * @p mode says (AX_FS_R_OK | AX_FS_W_OK | AX_FS_X_OK).
 */
AX_EXTERN int ax_fs_access(ax_loop_t *loop, ax_fs_t *req, const char *path,
                           int mode, ax_fs_cb cb);

/** Set the permission bits of @p path (on Windows, only the write bit). */
AX_EXTERN int ax_fs_chmod(ax_loop_t *loop, ax_fs_t *req, const char *path,
                          int mode, ax_fs_cb cb);

/** As ax_fs_chmod(), for an open descriptor. */
AX_EXTERN int ax_fs_fchmod(ax_loop_t *loop, ax_fs_t *req, ax_file_t file,
                           int mode, ax_fs_cb cb);

/** Flush a file's data and metadata to the device. */
AX_EXTERN int ax_fs_fsync(ax_loop_t *loop, ax_fs_t *req, ax_file_t file,
                          ax_fs_cb cb);

/** Flush a file's data (and the metadata needed to read it back). */
AX_EXTERN int ax_fs_fdatasync(ax_loop_t *loop, ax_fs_t *req, ax_file_t file,
                              ax_fs_cb cb);

/** Remove a name of a file (not a directory). */
AX_EXTERN int ax_fs_unlink(ax_loop_t *loop, ax_fs_t *req, const char *path,
                           ax_fs_cb cb);

/** Remove an empty directory. */
AX_EXTERN int ax_fs_rmdir(ax_loop_t *loop, ax_fs_t *req, const char *path,
                          ax_fs_cb cb);

/** Create a directory with permission bits @p mode (such as 0755). */
AX_EXTERN int ax_fs_mkdir(ax_loop_t *loop, ax_fs_t *req, const char *path,
                          int mode, ax_fs_cb cb);

/**
 * Create a directory with a unique name. @p tpl ends in "XXXXXX", which
 * is replaced; the name created is in `path`.
 * @return 0, or an error; AX_EINVAL if @p tpl does not end in "XXXXXX".
 */
AX_EXTERN int ax_fs_mkdtemp(ax_loop_t *loop, ax_fs_t *req, const char *tpl,
                            ax_fs_cb cb);

/** As ax_fs_mkdtemp(), but create and open a file (mode 0600); the
 * descriptor is in `result`. */
AX_EXTERN int ax_fs_mkstemp(ax_loop_t *loop, ax_fs_t *req, const char *tpl,
                            ax_fs_cb cb);

/** Rename @p path to @p new_path, replacing a file there. */
AX_EXTERN int ax_fs_rename(ax_loop_t *loop, ax_fs_t *req, const char *path,
                           const char *new_path, ax_fs_cb cb);

/**
 * Read a whole directory. `result` is the number of entries (without "."
 * and ".."); take them with ax_fs_scandir_next(), in the system's order.
 * @param loop  The loop the callback runs on.
 * @param req   The request; its memory must stay valid until the callback
 *              begins.
 * @param path  The directory.
 * @param flags 0; reserved.
 * @param cb    The callback, or NULL to run on the calling thread.
 */
AX_EXTERN int ax_fs_scandir(ax_loop_t *loop, ax_fs_t *req, const char *path,
                            int flags, ax_fs_cb cb);

/**
 * Take the next entry of a finished ax_fs_scandir(). The entry's name
 * stays valid until ax_fs_req_cleanup().
 * @return 0; AX_EOF after the last one; the scan's own error (its
 *         `result`, as in libuv) if it failed; AX_EINVAL if @p req is not
 *         a scandir request, or its entries were cleaned up.
 */
AX_EXTERN int ax_fs_scandir_next(ax_fs_t *req, ax_dirent_t *ent);

/** Open a directory stream; `ptr` is the new ax_dir_t. */
AX_EXTERN int ax_fs_opendir(ax_loop_t *loop, ax_fs_t *req, const char *path,
                            ax_fs_cb cb);

/**
 * Read up to @p dir->nentries entries into @p dir->dirents. `result` is how
 * many, 0 at the end. Their names belong to this request: they stay valid
 * until its ax_fs_req_cleanup(), which must come before the next readdir
 * or the closedir of @p dir (it reads @p dir->dirents to find them).
 * @return 0, or an error; AX_EINVAL if @p dir is NULL, holds no open
 *         stream, or has no room for entries (`dirents` NULL or
 *         `nentries` 0).
 */
AX_EXTERN int ax_fs_readdir(ax_loop_t *loop, ax_fs_t *req, ax_dir_t *dir,
                            ax_fs_cb cb);

/** Close a directory stream and release @p dir. */
AX_EXTERN int ax_fs_closedir(ax_loop_t *loop, ax_fs_t *req, ax_dir_t *dir,
                             ax_fs_cb cb);

/** Give the file at @p path a second name, @p new_path (a hard link). */
AX_EXTERN int ax_fs_link(ax_loop_t *loop, ax_fs_t *req, const char *path,
                         const char *new_path, ax_fs_cb cb);

/**
 * Create a symbolic link at @p new_path that points to @p path.
 * @param loop     The loop the callback runs on.
 * @param req      The request; its memory must stay valid until the
 *                 callback begins.
 * @param path     The link's target, stored as it is given.
 * @param new_path Where the link is made.
 * @param flags    AX_FS_SYMLINK_* (Windows only), or 0.
 * @param cb       The callback, or NULL to run on the calling thread.
 */
AX_EXTERN int ax_fs_symlink(ax_loop_t *loop, ax_fs_t *req, const char *path,
                            const char *new_path, int flags, ax_fs_cb cb);

/** Read a link's target; `ptr` is the target as a string. */
AX_EXTERN int ax_fs_readlink(ax_loop_t *loop, ax_fs_t *req, const char *path,
                             ax_fs_cb cb);

/** Resolve @p path to an absolute path without links, "." or "..";
 * `ptr` is that path as a string. */
AX_EXTERN int ax_fs_realpath(ax_loop_t *loop, ax_fs_t *req, const char *path,
                             ax_fs_cb cb);

/**
 * Change the owner and group of @p path, following links. (uint32_t)-1
 * leaves one unchanged. Windows has no such ids: it succeeds and does
 * nothing.
 */
AX_EXTERN int ax_fs_chown(ax_loop_t *loop, ax_fs_t *req, const char *path,
                          uint32_t uid, uint32_t gid, ax_fs_cb cb);

/** As ax_fs_chown(), for an open descriptor. */
AX_EXTERN int ax_fs_fchown(ax_loop_t *loop, ax_fs_t *req, ax_file_t file,
                           uint32_t uid, uint32_t gid, ax_fs_cb cb);

/** As ax_fs_chown(), but a link's own owner is changed. */
AX_EXTERN int ax_fs_lchown(ax_loop_t *loop, ax_fs_t *req, const char *path,
                           uint32_t uid, uint32_t gid, ax_fs_cb cb);

/**
 * Copy the file at @p path to @p new_path, with its permission bits. A
 * destination that exists is replaced unless AX_FS_COPYFILE_EXCL is given.
 * If the copy fails half-way, the partial destination is removed.
 * @param loop     The loop the callback runs on.
 * @param req      The request; its memory must stay valid until the
 *                 callback begins.
 * @param path     The source.
 * @param new_path The destination.
 * @param flags    AX_FS_COPYFILE_* flags, or 0.
 * @param cb       The callback, or NULL to run on the calling thread.
 */
AX_EXTERN int ax_fs_copyfile(ax_loop_t *loop, ax_fs_t *req, const char *path,
                             const char *new_path, int flags, ax_fs_cb cb);

/** @} */

/**
 * @defgroup thread Threads and synchronisation
 * Portable threads, locks, condition variables, semaphores, one-time
 * initialisation and thread-local keys: POSIX threads on POSIX systems,
 * Win32 threads on Windows. Every function here is thread-safe.
 *
 * Functions that return nothing treat failure as misuse (an uninitialised
 * or destroyed object, a mutex unlocked by a thread that does not hold it,
 * a deadlock the system detects) and stop the program with an assertion
 * naming axle. Creation can fail for lack of resources and returns an error.
 * @{
 */

/** The entry point of a thread created by ax_thread_create(). */
typedef void (*ax_thread_cb)(void *arg);

/** A thread. Obtain one from ax_thread_create() or ax_thread_self(). */
struct ax_thread_s {
  /** Private to axle. */
  struct ax__thread_private priv;
};

/** Options for ax_thread_create_ex(). Zero-initialise, then set. */
typedef struct ax_thread_options_s {
  /**
   * The stack size in bytes, or 0 for the system's default. Rounded up to
   * the page size and to the system's minimum.
   */
  size_t stack_size_bytes;
} ax_thread_options_t;

/**
 * Start a thread that runs entry(arg).
 * @return 0; AX_EINVAL if @p thread or @p entry is NULL; AX_EAGAIN or
 *         AX_ENOMEM when the system cannot start another thread.
 */
AX_EXTERN int ax_thread_create(ax_thread_t *thread, ax_thread_cb entry,
                               void *arg);

/**
 * Start a thread with options (NULL: the defaults).
 * @return As ax_thread_create().
 */
AX_EXTERN int ax_thread_create_ex(ax_thread_t *thread,
                                  const ax_thread_options_t *options,
                                  ax_thread_cb entry, void *arg);

/**
 * Wait for a thread to finish and release it. Each thread created is joined
 * exactly once.
 * @return 0; AX_EINVAL if @p thread is NULL or is the calling thread.
 */
AX_EXTERN int ax_thread_join(ax_thread_t *thread);

/**
 * @return The calling thread, for ax_thread_equal(). On Windows the value
 *         names the thread by its id and holds no handle, so it cannot be
 *         joined: join the value ax_thread_create() filled in.
 */
AX_EXTERN ax_thread_t ax_thread_self(void);

/** @return Whether two thread values name the same thread. */
AX_EXTERN bool ax_thread_equal(const ax_thread_t *a, const ax_thread_t *b);

/** A mutual-exclusion lock. */
struct ax_mutex_s {
  /** Private to axle. */
  struct ax__mutex_private priv;
};

/** Initialise a mutex. @return 0, or AX_ENOMEM / AX_EAGAIN. */
AX_EXTERN int ax_mutex_init(ax_mutex_t *mutex);
/**
 * Initialise a mutex that the thread holding it may lock again (and must
 * unlock as often). @return 0, or AX_ENOMEM / AX_EAGAIN.
 */
AX_EXTERN int ax_mutex_init_recursive(ax_mutex_t *mutex);
/** Release a mutex that no thread holds. */
AX_EXTERN void ax_mutex_destroy(ax_mutex_t *mutex);
/** Lock a mutex, waiting as long as it takes. */
AX_EXTERN void ax_mutex_lock(ax_mutex_t *mutex);
/** Lock a mutex if it is free. @return 0, or AX_EBUSY if it is held. */
AX_EXTERN int ax_mutex_trylock(ax_mutex_t *mutex);
/** Unlock a mutex the calling thread holds. */
AX_EXTERN void ax_mutex_unlock(ax_mutex_t *mutex);

/** A reader-writer lock: many readers or one writer. */
struct ax_rwlock_s {
  /** Private to axle. */
  struct ax__rwlock_private priv;
};

/** Initialise a reader-writer lock. @return 0, or AX_ENOMEM / AX_EAGAIN. */
AX_EXTERN int ax_rwlock_init(ax_rwlock_t *rwlock);
/** Release a reader-writer lock that no thread holds. */
AX_EXTERN void ax_rwlock_destroy(ax_rwlock_t *rwlock);
/** Lock for reading, waiting for a writer to leave. */
AX_EXTERN void ax_rwlock_rdlock(ax_rwlock_t *rwlock);
/** Lock for reading if no writer holds it. @return 0, or AX_EBUSY. */
AX_EXTERN int ax_rwlock_tryrdlock(ax_rwlock_t *rwlock);
/** Leave a read lock. */
AX_EXTERN void ax_rwlock_rdunlock(ax_rwlock_t *rwlock);
/** Lock for writing, waiting for every other holder to leave. */
AX_EXTERN void ax_rwlock_wrlock(ax_rwlock_t *rwlock);
/** Lock for writing if no one holds it. @return 0, or AX_EBUSY. */
AX_EXTERN int ax_rwlock_trywrlock(ax_rwlock_t *rwlock);
/** Leave a write lock. */
AX_EXTERN void ax_rwlock_wrunlock(ax_rwlock_t *rwlock);

/** A condition variable, used with an ax_mutex_t. */
struct ax_cond_s {
  /** Private to axle. */
  struct ax__cond_private priv;
};

/**
 * Initialise a condition variable. Timed waits measure the monotonic clock,
 * so changing the wall clock neither shortens nor stretches them.
 * @return 0, or AX_ENOMEM / AX_EAGAIN.
 */
AX_EXTERN int ax_cond_init(ax_cond_t *cond);
/** Release a condition variable no thread waits on. */
AX_EXTERN void ax_cond_destroy(ax_cond_t *cond);
/** Wake one thread waiting on the condition, if any. */
AX_EXTERN void ax_cond_signal(ax_cond_t *cond);
/** Wake every thread waiting on the condition. */
AX_EXTERN void ax_cond_broadcast(ax_cond_t *cond);
/**
 * Unlock @p mutex, wait for a signal, lock it again. Wakeups without a
 * signal can happen: wait in a loop that checks the condition.
 */
AX_EXTERN void ax_cond_wait(ax_cond_t *cond, ax_mutex_t *mutex);
/**
 * ax_cond_wait() for at most @p timeout_ns nanoseconds.
 * @return 0 when woken, AX_ETIMEDOUT when the time ran out.
 */
AX_EXTERN int ax_cond_timedwait(ax_cond_t *cond, ax_mutex_t *mutex,
                                uint64_t timeout_ns);

/** A counting semaphore. */
struct ax_sem_s {
  /** Private to axle. */
  struct ax__sem_private priv;
};

/** Initialise a semaphore with a count. @return 0, or AX_ENOMEM / AX_EAGAIN. */
AX_EXTERN int ax_sem_init(ax_sem_t *sem, unsigned int value);
/** Release a semaphore no thread waits on. */
AX_EXTERN void ax_sem_destroy(ax_sem_t *sem);
/** Add one to the count, waking one waiter. */
AX_EXTERN void ax_sem_post(ax_sem_t *sem);
/** Wait until the count is above zero, then take one. */
AX_EXTERN void ax_sem_wait(ax_sem_t *sem);
/** Take one if the count is above zero. @return 0, or AX_EAGAIN. */
AX_EXTERN int ax_sem_trywait(ax_sem_t *sem);

/** A flag for ax_once(). Initialise it statically with AX_ONCE_INIT. */
struct ax_once_s {
  /** Private to axle. */
  struct ax__once_private priv;
};

/** The initial value of an ax_once_t. */
#define AX_ONCE_INIT AX__ONCE_PRIVATE_INIT

/**
 * Run @p init_cb exactly once for @p once, however many threads call this;
 * every caller returns after it has run.
 */
AX_EXTERN void ax_once(ax_once_t *once, void (*init_cb)(void));

/** A key to a per-thread pointer. */
struct ax_key_s {
  /** Private to axle. */
  struct ax__key_private priv;
};

/**
 * Create a key; each thread's value starts NULL.
 * @return 0, or AX_EAGAIN / AX_ENOMEM when the system has no keys left.
 */
AX_EXTERN int ax_key_create(ax_key_t *key);
/** Delete a key. Threads' values are not released. */
AX_EXTERN void ax_key_delete(ax_key_t *key);
/** @return The calling thread's value for @p key. */
AX_EXTERN void *ax_key_get(ax_key_t *key);
/** Set the calling thread's value for @p key. */
AX_EXTERN void ax_key_set(ax_key_t *key, void *value);

/** @} */

/**
 * @defgroup fs_event File change events
 * Watch a file or a directory and be told when something in it changes:
 * ax_fs_event_t asks the system to report changes as they happen
 * (inotify on Linux, EVFILT_VNODE on macOS and the BSDs,
 * ReadDirectoryChangesW on Windows); ax_fs_poll_t compares the file's
 * ax_stat_t at an interval, on the thread pool, and works on any file
 * system, network ones included. See docs/fs-events.md.
 * @{
 */

/** A file change event handle: see struct ax_fs_event_s. */
typedef struct ax_fs_event_s ax_fs_event_t;
/** A file stat-polling handle: see struct ax_fs_poll_s. */
typedef struct ax_fs_poll_s ax_fs_poll_t;

/** What changed, in the events argument of ax_fs_event_cb. */
typedef enum ax_fs_event_kind_e {
  /** A name appeared, went away or was renamed (created, deleted, moved). */
  AX_FS_EVENT_RENAME = 1,
  /** The contents or the attributes of a file changed. */
  AX_FS_EVENT_CHANGE = 2
} ax_fs_event_kind;

/** @name Flags of ax_fs_event_start()
 * @{ */
/** Watch the subdirectories of a directory too, at any depth: Windows and
 * macOS only (AX_ENOTSUP elsewhere; see docs/fs-events.md). */
#define AX_FS_EVENT_RECURSIVE 0x0004
/** @} */

/**
 * Something changed under a watched path. @p filename is the name of what
 * changed, relative to the watched directory (for a watched file, the
 * file's own name), or NULL where the system does not say; it is valid
 * during the call only. @p events holds AX_FS_EVENT_* bits. A @p status
 * below 0 is an error: the watch cannot go on, and the handle is stopped.
 */
typedef void (*ax_fs_event_cb)(ax_fs_event_t *handle, const char *filename,
                               int events, int status);

/**
 * The file at a polled path changed: @p prev and @p curr are what it was
 * and what it is. @p status is 0, or the error that stat met (AX_ENOENT
 * once the path vanished, reported once until it reappears; @p curr is then
 * zeroed). Both pointers are valid during the call only.
 */
typedef void (*ax_fs_poll_cb)(ax_fs_poll_t *handle, int status,
                              const ax_stat_t *prev, const ax_stat_t *curr);

/** @cond AX_PRIVATE */
/* The private region of ax_fs_event_t: the same on every system; what a
 * system keeps per watch is in impl (src/fs-event.c). */
struct ax__fs_event_private {
  char *path;            /* The path watched (a copy), or NULL if stopped. */
  ax_fs_event_cb cb;     /* The callback. */
  void *impl;            /* The system's watch state, or NULL. */
  struct ax__queue node; /* In the list of watchers of one watch. */
  unsigned int flags;    /* AX_FS_EVENT_* flags given to start. */
};

/* The private region of ax_fs_poll_t (src/fs-poll.c). */
struct ax__fs_poll_private {
  ax_fs_poll_cb cb;     /* The callback. */
  char *path;           /* The path polled (a copy), or NULL if stopped. */
  ax_timer_t timer;     /* Waits out the interval; unlisted, unreferenced. */
  ax_fs_t req;          /* The stat in flight, when busy. */
  ax_stat_t prev;       /* What the last stat said. */
  uint64_t interval_ms; /* Time between the stats. */
  int prev_status;      /* The last stat's status; 1 before the first. */
  bool busy;            /* req is on the thread pool. */
  bool stale;           /* The stat in flight is for an earlier start. */
};
/** @endcond */

/** A file change event handle. */
struct ax_fs_event_s {
  /** The common handle part. */
  ax_handle_t handle;
  /** Private to axle. */
  struct ax__fs_event_private priv;
};

/** A stat-polling handle. */
struct ax_fs_poll_s {
  /** The common handle part. */
  ax_handle_t handle;
  /** Private to axle. */
  struct ax__fs_poll_private priv;
};

/** Initialise a file change event handle. @return 0, or AX_EINVAL. */
AX_EXTERN int ax_fs_event_init(ax_loop_t *loop, ax_fs_event_t *handle);

/**
 * Watch @p path, a file or a directory, until stopped. Starting a started
 * handle moves it to the new path. Events that the system reports together
 * may come as one call.
 * @param handle   An initialised handle.
 * @param path     The path, UTF-8; copied.
 * @param flags    AX_FS_EVENT_RECURSIVE, or 0.
 * @param event_cb Called for each change.
 * @return 0; AX_EINVAL for NULL arguments, an empty path or unknown flags;
 *         AX_EBADF if closing; AX_ENOTSUP for AX_FS_EVENT_RECURSIVE where
 *         the system cannot watch a tree; AX_ENOENT, AX_EACCES,
 *         AX_ENOSPC (Linux: out of inotify watches), AX_EMFILE or
 *         AX_ENOMEM from the system (the handle is then stopped).
 */
AX_EXTERN int ax_fs_event_start(ax_fs_event_t *handle, const char *path,
                                unsigned int flags, ax_fs_event_cb event_cb);

/** Stop watching. Idempotent. @return 0, or AX_EINVAL for NULL. */
AX_EXTERN int ax_fs_event_stop(ax_fs_event_t *handle);

/**
 * Copy the path a started handle watches, NUL-terminated, into @p buffer.
 * @param handle A started handle.
 * @param buffer Where the path goes.
 * @param size   In: the room at @p buffer. Out: the path's length without
 *               the NUL; or, with AX_ENOBUFS, the room it needs with it.
 * @return 0; AX_EINVAL for NULL arguments or a handle not started;
 *         AX_ENOBUFS if the room is too small.
 */
AX_EXTERN int ax_fs_event_getpath(const ax_fs_event_t *handle, char *buffer,
                                  size_t *size);

/** Initialise a stat-polling handle. @return 0, or AX_EINVAL. */
AX_EXTERN int ax_fs_poll_init(ax_loop_t *loop, ax_fs_poll_t *handle);

/**
 * Stat @p path every @p interval_ms on the thread pool, and call
 * @p poll_cb whenever the answer differs from the one before: in any
 * field of ax_stat_t but the access time, or in its error. The first stat
 * sets the baseline and is reported only if it fails. A path that
 * vanishes is reported once (AX_ENOENT), and again when it comes back.
 * Starting a started handle moves it to the new path and interval.
 * @param handle      An initialised handle.
 * @param path        The path, UTF-8; copied.
 * @param interval_ms Time between the end of one stat and the next (at
 *                    least 1; a stat that takes longer delays the next).
 * @param poll_cb     Called with each change.
 * @return 0; AX_EINVAL for NULL arguments, an empty path or a zero
 *         interval; AX_EBADF if closing; AX_ENOMEM.
 */
AX_EXTERN int ax_fs_poll_start(ax_fs_poll_t *handle, const char *path,
                               unsigned int interval_ms, ax_fs_poll_cb poll_cb);

/** Stop polling; a stat in flight is dropped. Idempotent. @return 0, or
 * AX_EINVAL for NULL. */
AX_EXTERN int ax_fs_poll_stop(ax_fs_poll_t *handle);

/** Copy the path a started handle polls; as ax_fs_event_getpath(). */
AX_EXTERN int ax_fs_poll_getpath(const ax_fs_poll_t *handle, char *buffer,
                                 size_t *size);

/** @} */

/**
 * @defgroup embed Embedding and accessors
 * Driving an axle loop from another loop (a GUI toolkit's, another
 * library's), the process-wide default loop, the accessors of the fields
 * every handle, request and loop has, and the explicit release of the
 * library's global state. See the "Embedding" section of docs/loop.md.
 * @{
 */

/**
 * The descriptor another loop can wait on for this loop: it becomes
 * readable when this loop has I/O to deliver. Wait on it for at most
 * ax_backend_timeout() milliseconds, then call ax_run() with
 * AX_RUN_NOWAIT; repeat. libuv: uv_backend_fd().
 *
 * Per backend: epoll, the epoll descriptor; kqueue, the kqueue descriptor;
 * io_uring, the ring's descriptor (readable when completions are queued).
 * The poll(2) backend has no kernel object that gathers its descriptors,
 * so it has nothing to offer: AX_ENOTSUP (use epoll or kqueue to embed).
 * Neither has the simulation backend. On Windows the I/O completion port
 * cannot be waited on with anything but GetQueuedCompletionStatus(), so
 * IOCP answers AX_ENOTSUP as well: run the loop on a thread of its own.
 *
 * The descriptor belongs to the loop: do not read it or close it.
 * @return The descriptor (>= 0); AX_ENOTSUP where the backend has none;
 *         AX_EINVAL if @p loop is NULL or not initialised.
 */
AX_EXTERN int ax_backend_fd(const ax_loop_t *loop);

/**
 * How long an outside loop may wait on ax_backend_fd() before it must run
 * this loop again: 0 if callbacks are due now (idle handles, deferred
 * completions, closing handles), or if something waits for an iteration
 * to be handed on (operations the backend has queued but not yet given
 * the kernel, work queued outside ax_run() not yet given the pool); else
 * the time to the next timer; else -1 for no limit. Computed from the
 * loop's cached time. libuv: uv_backend_timeout().
 * @return Milliseconds, or -1 for no limit; AX_EINVAL (never -1) if
 *         @p loop is NULL or not initialised.
 */
AX_EXTERN int ax_backend_timeout(const ax_loop_t *loop);

/**
 * The process-wide default loop, initialised on first use with the
 * defaults of ax_loop_init(). Thread-safe: any number of threads may call
 * it at once and all get the same loop (which, like any loop, is then run
 * by one thread). After ax_loop_close() of the default loop, the next call
 * initialises it again. libuv: uv_default_loop().
 * @return The loop, or NULL if it could not be initialised.
 */
AX_EXTERN ax_loop_t *ax_default_loop(void);

/**
 * @return The size of an ax_loop_t in bytes, for bindings that allocate
 *         loops without the header's structs. libuv: uv_loop_size().
 */
AX_EXTERN size_t ax_loop_size(void);

/**
 * @return sizeof the request struct of @p type (ax_work_t for AX_WORK...);
 *         0 for an invalid type. libuv: uv_req_size().
 */
AX_EXTERN size_t ax_req_size(ax_req_type type);

/** @return The loop's data field; NULL if @p loop is NULL.
 *  libuv: uv_loop_get_data(). */
AX_EXTERN void *ax_loop_get_data(const ax_loop_t *loop);

/** Set the loop's data field (before or after ax_loop_init()). Does
 *  nothing if @p loop is NULL. libuv: uv_loop_set_data(). */
AX_EXTERN void ax_loop_set_data(ax_loop_t *loop, void *data);

/** @return The handle's data field; NULL if @p handle is NULL.
 *  libuv: uv_handle_get_data(). */
AX_EXTERN void *ax_handle_get_data(const ax_handle_t *handle);

/** Set the handle's data field. Does nothing if @p handle is NULL.
 *  libuv: uv_handle_set_data(). */
AX_EXTERN void ax_handle_set_data(ax_handle_t *handle, void *data);

/** @return The loop the handle belongs to; NULL if @p handle is NULL.
 *  libuv: uv_handle_get_loop(). */
AX_EXTERN ax_loop_t *ax_handle_get_loop(const ax_handle_t *handle);

/** @return The handle's type; AX_UNKNOWN_HANDLE if @p handle is NULL or
 *  its init failed. Its name is ax_handle_type_name()'s.
 *  libuv: uv_handle_get_type(). */
AX_EXTERN ax_handle_type ax_handle_get_type(const ax_handle_t *handle);

/** @return The request's data field; NULL if @p req is NULL.
 *  libuv: uv_req_get_data(). */
AX_EXTERN void *ax_req_get_data(const ax_req_t *req);

/** Set the request's data field. Does nothing if @p req is NULL.
 *  libuv: uv_req_set_data(). */
AX_EXTERN void ax_req_set_data(ax_req_t *req, void *data);

/** @return The request's type; AX_UNKNOWN_REQ if @p req is NULL. Its name
 *  is ax_req_type_name()'s. libuv: uv_req_get_type(). */
AX_EXTERN ax_req_type ax_req_get_type(const ax_req_t *req);

/**
 * Release the library's global state: stop and join the thread pool's
 * workers and free its locks, and close the default loop if it was made
 * and is idle. Call it once, at the end, after every loop is closed and
 * every thread that used axle is done with it; no axle function may be
 * called afterwards (work queued afterwards fails with AX_EINVAL). Calling
 * it again does nothing. Without it the pool is joined by a destructor at
 * exit (or when a shared axle is unloaded); this call is for programs that
 * want it done at a time of their choosing, such as before a leak checker
 * reports, or a plugin that unloads axle itself.
 * libuv: uv_library_shutdown().
 */
AX_EXTERN void ax_library_shutdown(void);

/** @} */

/**
 * @defgroup tty Terminals
 * A terminal as a stream: read what is typed and write to the screen with
 * the stream API (ax_read_start(), ax_write()), switch the terminal
 * between its line mode and raw input, and ask its size. On Windows the
 * terminal is a console: its input read on a thread of the handle's own,
 * its output written with VT sequences on. See docs/tty.md.
 * @{
 */

/** A terminal handle: see struct ax_tty_s. */
typedef struct ax_tty_s ax_tty_t;

/** The input modes of ax_tty_set_mode(). */
typedef enum ax_tty_mode_e {
  /** The mode the terminal had: usually lines, edited and echoed, with
   * Ctrl+C as a signal. */
  AX_TTY_MODE_NORMAL = 0,
  /** Each key as it is typed: no echo, no line editing, no signals from
   * Ctrl+C or Ctrl+Z, no flow control; output is still processed (a
   * newline moves to the start of the next line). */
  AX_TTY_MODE_RAW,
  /** Raw, with keys as VT escape sequences: on POSIX the same as
   * AX_TTY_MODE_RAW, as terminals send those already; on Windows the
   * console's ENABLE_VIRTUAL_TERMINAL_INPUT. */
  AX_TTY_MODE_RAW_VT
} ax_tty_mode;

/** What a descriptor is, as ax_guess_handle() tells. */
typedef enum ax_guess_e {
  AX_GUESS_UNKNOWN = 0, /**< Not open, or none of the others. */
  AX_GUESS_TTY,         /**< A terminal: ax_tty_init(). */
  AX_GUESS_PIPE,        /**< A pipe, FIFO or local (Unix) stream socket. */
  AX_GUESS_FILE,        /**< A regular file or a device: ax_fs_*(). */
  AX_GUESS_TCP,         /**< A TCP socket: ax_tcp_open(). */
  AX_GUESS_UDP          /**< A UDP socket. */
} ax_guess;

/** @cond AX_PRIVATE */
/* The private region of ax_tty_t (src/unix/tty.c, src/win/tty.c). */
struct ax__tty_private {
  ax__sock_cb engine_cb; /* POSIX: the stream engine's callback, which
                            tty.c's own passes each completion on to. */
  void *saved;           /* POSIX: the settings before the first change of
                            mode (a struct termios), or NULL. Windows: the
                            console's state (src/win/tty.h). */
  int mode;              /* The ax_tty_mode set last. */
};
/** @endcond */

/** A terminal handle. */
struct ax_tty_s {
  /** The stream part (its first member is the handle). */
  ax_stream_t stream;
  /** Private to axle. */
  struct ax__tty_private priv;
};

/**
 * Open a terminal as a stream. POSIX: the terminal is opened anew by its
 * name (ttyname()), so that the non-blocking mode the handle needs does not
 * reach other processes that share @p fd (a shell's standard input); where
 * it has no name, or is a pseudo-terminal's master, @p fd is duplicated,
 * and its open file made non-blocking. Windows: @p fd is a C runtime
 * descriptor of a console, an input one (CONIN$) to read or an output one
 * (CONOUT$) to write, whose handle is duplicated; an output console gets
 * VT processing where it has it. Either way @p fd stays the caller's:
 * closing the handle closes only its own descriptor, and @p fd may be
 * closed at once.
 * @param loop     The loop.
 * @param tty      The handle.
 * @param fd       A terminal descriptor, such as 0, 1 or 2.
 * @param readable Whether the handle will read; if false, it only writes
 *                 (ax_read_start() says AX_ENOTCONN). Windows: true for an
 *                 input console, false for an output one.
 * @return 0; AX_EINVAL for NULL, a negative @p fd, or one that is not a
 *         terminal (on Windows, not a console of the kind @p readable
 *         asks for); AX_EBADF if @p fd is not open; AX_EMFILE; AX_ENOMEM.
 */
AX_EXTERN int ax_tty_init(ax_loop_t *loop, ax_tty_t *tty, int fd,
                          bool readable);

/**
 * Set the terminal's input mode. The settings it had before the first
 * change are kept, by the handle for AX_TTY_MODE_NORMAL and for its
 * close, which puts them back, and by the process for
 * ax_tty_reset_mode() while the handle is open. Windows: the input
 * console's mode (SetConsoleMode()); a read in progress is ended and made
 * again in the new mode.
 * @return 0; AX_EINVAL for NULL or an unknown mode, and on Windows for a
 *         mode other than normal on an output console; AX_EBADF if
 *         closing; AX_ENOTSUP for AX_TTY_MODE_RAW_VT on a Windows console
 *         without VT input; the system's error (tcgetattr(), tcsetattr(),
 *         SetConsoleMode()); AX_ENOMEM.
 */
AX_EXTERN int ax_tty_set_mode(ax_tty_t *tty, ax_tty_mode mode);

/**
 * Put back the settings the first terminal to leave its normal mode had,
 * if one did: for the exit of a program, from an atexit() handler or a
 * signal handler (async-signal-safe on POSIX: one tcsetattr(), no lock
 * that a signal could find held; on Windows one SetConsoleMode(), safe
 * from a console control handler).
 * @return 0, also when no terminal left its normal mode; AX_EBUSY if
 *         called while a mode change is being recorded (from a signal
 *         handler that interrupted ax_tty_set_mode()); the system's error.
 */
AX_EXTERN int ax_tty_reset_mode(void);

/**
 * The terminal's size in character cells. Windows: the console window's,
 * also for a handle on the console's input.
 * @return 0; AX_EINVAL for NULL; AX_EBADF if closing; the system's error.
 */
AX_EXTERN int ax_tty_get_winsize(ax_tty_t *tty, int *width, int *height);

/**
 * @return What @p fd is: a terminal, a pipe, a file, a TCP or UDP socket;
 *         AX_GUESS_UNKNOWN for a negative or closed descriptor or anything
 *         else. On Windows, @p fd is a C runtime descriptor.
 */
AX_EXTERN ax_guess ax_guess_handle(int fd);

/** @} */

/**
 * @defgroup random Random bytes
 * Cryptographically strong random bytes from the operating system:
 * getrandom(2) on Linux, getentropy(3) (arc4random's source) on macOS and
 * the BSDs, BCryptGenRandom() on Windows.
 * @{
 */

/** A random-bytes request: see struct ax_random_s. */
typedef struct ax_random_s ax_random_t;

/**
 * Called on the loop thread when an asynchronous ax_random() is done.
 * @param req    The request.
 * @param status 0 when @p buf is filled; AX_ECANCELED if cancelled with
 *               ax_cancel(); an error of the system's source otherwise.
 * @param buf    The caller's buffer.
 * @param len_bytes Its length.
 */
typedef void (*ax_random_cb)(ax_random_t *req, int status, void *buf,
                             size_t len_bytes);

/** @cond AX_PRIVATE */
struct ax__random_private {
  struct ax__work work; /* The pooled job. */
  ax_random_cb cb;      /* The user's completion. */
  void *buf;            /* The caller's buffer. */
  size_t len_bytes;     /* Its length. */
  int status;           /* The fill's result, set on the worker. */
};
/** @endcond */

/** A random-bytes request (AX_RANDOM). */
struct ax_random_s {
  /** The common request part. */
  ax_req_t req;
  /** Private to axle. */
  struct ax__random_private priv;
};

/**
 * Fill @p buf with @p len_bytes random bytes. With a callback, the fill
 * runs on the thread pool and @p cb runs on the loop thread when done;
 * without one (@p cb NULL) it runs now, on the calling thread, and
 * @p loop and @p req are not used (they may be NULL). Never returns fewer
 * bytes than asked. libuv: uv_random().
 * @param loop      The loop @p cb runs on (asynchronous mode).
 * @param req       The request, valid until @p cb runs (asynchronous mode).
 * @param buf       Where the bytes go; may be NULL only if @p len_bytes is 0.
 * @param len_bytes How many bytes.
 * @param flags     0 (no flag is defined yet).
 * @param cb        The completion, or NULL for the synchronous mode.
 * @return 0 (synchronous: the buffer is filled; asynchronous: the request
 *         is queued); AX_EINVAL for a NULL buffer with a length, unknown
 *         flags, or a NULL @p loop or @p req with a callback; in the
 *         synchronous mode the error of the system's source (AX_ENOSYS
 *         where it has none); in the asynchronous mode those of
 *         ax_queue_work().
 */
AX_EXTERN int ax_random(ax_loop_t *loop, ax_random_t *req, void *buf,
                        size_t len_bytes, unsigned int flags, ax_random_cb cb);

/** @} */

/**
 * @defgroup os Operating system utilities
 * Facts about the process, the machine and the environment, each portable
 * across Linux, macOS and the BSDs, and Windows. None needs a loop, and all
 * are safe to call from any thread (but for ax_chdir() and the environment
 * setters, which change process-wide state that other threads may read).
 *
 * Functions that return a string copy it into the caller's buffer, of
 * *size bytes. On success *size becomes the string's length, without the
 * terminating NUL that is written after it. If the buffer is too small,
 * they return AX_ENOBUFS and set *size to the bytes needed, NUL included;
 * nothing is written then. This is libuv's convention. Strings are UTF-8
 * on every system (Windows' UTF-16 is converted). See docs/os.md.
 * @{
 */

/** A process id: pid_t on POSIX, a DWORD process id on Windows. */
typedef int ax_pid_t;

/** Lowest priority (the largest nice value), for ax_os_setpriority(). */
#define AX_PRIORITY_LOW 19
/** Below normal priority. */
#define AX_PRIORITY_BELOW_NORMAL 10
/** Normal priority (nice 0). */
#define AX_PRIORITY_NORMAL 0
/** Above normal priority. */
#define AX_PRIORITY_ABOVE_NORMAL -7
/** High priority. */
#define AX_PRIORITY_HIGH -14
/** Highest priority (the smallest nice value). */
#define AX_PRIORITY_HIGHEST -20

/** The system's name and version, filled by ax_os_uname(). */
typedef struct ax_utsname_s {
  /** The system's name: "Linux", "Darwin", "Windows_NT"... */
  char sysname[256];
  /** Its release, such as "6.1.0-13-amd64" or "10.0.19045". */
  char release[256];
  /** Its version string, as the system words it. */
  char version[256];
  /** The processor architecture, such as "x86_64" or "arm64". */
  char machine[256];
} ax_utsname_t;

/** One variable of the environment, from ax_os_environ(). */
typedef struct ax_env_item_s {
  /** The variable's name. */
  char *name;
  /** Its value. */
  char *value;
} ax_env_item_t;

/** Time one processor spent in each mode since boot, in milliseconds. */
typedef struct ax_cpu_times_s {
  uint64_t user_ms; /**< Running user code. */
  uint64_t nice_ms; /**< Running user code at a lowered priority. */
  uint64_t sys_ms;  /**< Running the kernel. */
  uint64_t idle_ms; /**< Idle. */
  uint64_t irq_ms;  /**< Serving interrupts. */
} ax_cpu_times_t;

/** One logical processor, from ax_cpu_info(). */
typedef struct ax_cpu_info_s {
  /** The processor's model name ("unknown" where the system has none). */
  char *model;
  /** Its clock speed in MHz, 0 where the system does not say. */
  int speed_mhz;
  /** Its times (zero where the system does not keep them). */
  ax_cpu_times_t cpu_times;
} ax_cpu_info_t;

/**
 * Sleep the calling thread for @p duration_ms milliseconds (at least; the
 * system may sleep longer). Never call it on a loop's thread while the loop
 * has work. libuv: uv_sleep().
 */
AX_EXTERN void ax_sleep(unsigned int duration_ms);

/** @return The calling process's id. libuv: uv_os_getpid(). */
AX_EXTERN ax_pid_t ax_os_getpid(void);

/** @return The parent process's id (0 on Windows if the parent cannot be
 *  found). libuv: uv_os_getppid(). */
AX_EXTERN ax_pid_t ax_os_getppid(void);

/**
 * Copy the current working directory into @p buf (see the group's text
 * for @p size). No trailing slash but for the root. libuv: uv_cwd().
 * @return 0; AX_EINVAL if an argument is NULL or *size is 0; AX_ENOBUFS
 *         with *size set to the bytes needed; the system's error.
 */
AX_EXTERN int ax_cwd(char *buf, size_t *size);

/**
 * Change the process's working directory. libuv: uv_chdir().
 * @return 0; AX_EINVAL if @p dir is NULL; the system's error (AX_ENOENT,
 *         AX_ENOTDIR, AX_EACCES...).
 */
AX_EXTERN int ax_chdir(const char *dir);

/**
 * Copy the absolute path of the running executable into @p buf (see the
 * group's text for @p size). libuv: uv_exepath().
 * @return 0; AX_EINVAL if an argument is NULL or *size is 0; AX_ENOBUFS
 *         with *size set to the bytes needed; the system's error.
 */
AX_EXTERN int ax_exepath(char *buf, size_t *size);

/**
 * Copy the user's home directory into @p buf: $HOME if set and not
 * empty, else the user database's entry (POSIX), or $USERPROFILE, else
 * the profile directory (Windows). libuv: uv_os_homedir().
 * @return As ax_cwd().
 */
AX_EXTERN int ax_os_homedir(char *buf, size_t *size);

/**
 * Copy the directory for temporary files into @p buf: the first of
 * $TMPDIR, $TMP, $TEMP, $TEMPDIR that is set, else "/tmp" (POSIX), or
 * GetTempPathW()'s answer (Windows); without a trailing slash.
 * libuv: uv_os_tmpdir().
 * @return As ax_cwd().
 */
AX_EXTERN int ax_os_tmpdir(char *buf, size_t *size);

/**
 * Copy the machine's host name into @p buf. libuv: uv_os_gethostname().
 * @return As ax_cwd().
 */
AX_EXTERN int ax_os_gethostname(char *buf, size_t *size);

/**
 * Fill @p buffer with the system's name, release, version and machine.
 * libuv: uv_os_uname().
 * @return 0; AX_EINVAL if @p buffer is NULL; the system's error.
 */
AX_EXTERN int ax_os_uname(ax_utsname_t *buffer);

/**
 * Copy the value of the environment variable @p name into @p buf (see the
 * group's text for @p size). libuv: uv_os_getenv().
 * @return 0; AX_EINVAL if an argument is NULL or *size is 0; AX_ENOENT if
 *         the variable is not set; AX_ENOBUFS with *size set to the bytes
 *         needed.
 */
AX_EXTERN int ax_os_getenv(const char *name, char *buf, size_t *size);

/**
 * Set the environment variable @p name to @p value, replacing it if set.
 * Not thread-safe with other readers of the environment (a limit of the C
 * library's environment, as in libuv). libuv: uv_os_setenv().
 * @return 0; AX_EINVAL if an argument is NULL or @p name is empty or holds
 *         '='; AX_ENOMEM.
 */
AX_EXTERN int ax_os_setenv(const char *name, const char *value);

/**
 * Remove the environment variable @p name; removing one that is not set is
 * not an error. libuv: uv_os_unsetenv().
 * @return 0; AX_EINVAL if @p name is NULL, empty or holds '='; AX_ENOMEM.
 */
AX_EXTERN int ax_os_unsetenv(const char *name);

/**
 * Copy the whole environment: *envitems becomes an array of *count
 * name-value pairs, allocated by axle, which ax_os_free_environ() frees.
 * libuv: uv_os_environ().
 * @return 0; AX_EINVAL if an argument is NULL; AX_ENOMEM (nothing is then
 *         allocated).
 */
AX_EXTERN int ax_os_environ(ax_env_item_t **envitems, int *count);

/** Free what ax_os_environ() returned. NULL is allowed.
 *  libuv: uv_os_free_environ(). */
AX_EXTERN void ax_os_free_environ(ax_env_item_t *envitems, int count);

/**
 * @return The memory the system has free, in bytes (Linux: MemAvailable,
 *         what can be allocated without swapping); 0 if unknown.
 *         libuv: uv_get_free_memory().
 */
AX_EXTERN uint64_t ax_get_free_memory(void);

/** @return The system's physical memory in bytes; 0 if unknown.
 *  libuv: uv_get_total_memory(). */
AX_EXTERN uint64_t ax_get_total_memory(void);

/**
 * @return The memory limit imposed on the process by its control group
 *         (Linux: cgroup v2's memory.max, or v1's memory.limit_in_bytes),
 *         in bytes; 0 if there is none or the system has no such limits
 *         (every other system). libuv: uv_get_constrained_memory().
 */
AX_EXTERN uint64_t ax_get_constrained_memory(void);

/**
 * @return How many threads the process can run at once: the processors
 *         the process may run on (Linux: its affinity mask; Windows: its
 *         affinity mask), lowered to the control group's CPU quota on
 *         Linux (cgroup v2's cpu.max, v1's cfs quota and period, rounded
 *         up); never less than 1. libuv: uv_available_parallelism().
 */
AX_EXTERN unsigned int ax_available_parallelism(void);

/**
 * Describe each logical processor: *cpu_infos becomes an array of *count
 * entries allocated by axle, which ax_free_cpu_info() frees.
 * libuv: uv_cpu_info().
 * @return 0; AX_EINVAL if an argument is NULL; AX_ENOMEM; the system's
 *         error.
 */
AX_EXTERN int ax_cpu_info(ax_cpu_info_t **cpu_infos, int *count);

/** Free what ax_cpu_info() returned. NULL is allowed.
 *  libuv: uv_free_cpu_info(). */
AX_EXTERN void ax_free_cpu_info(ax_cpu_info_t *cpu_infos, int count);

/**
 * Fill @p avg with the system's load averages over 1, 5 and 15 minutes;
 * zeros on Windows, which keeps none. Does nothing if @p avg is NULL.
 * libuv: uv_loadavg().
 */
AX_EXTERN void ax_loadavg(double avg[3]);

/**
 * Store the process's resident set size (the physical memory it occupies
 * now) in bytes. libuv: uv_resident_set_memory().
 * @return 0; AX_EINVAL if @p rss_bytes is NULL; the system's error.
 */
AX_EXTERN int ax_resident_set_memory(size_t *rss_bytes);

/**
 * Store the time since the system booted, in seconds. libuv: uv_uptime().
 * @return 0; AX_EINVAL if @p uptime_s is NULL; the system's error.
 */
AX_EXTERN int ax_uptime(double *uptime_s);

/**
 * Read a process's scheduling priority, from AX_PRIORITY_HIGHEST (-20) to
 * AX_PRIORITY_LOW (19), as a POSIX nice value; Windows' priority classes
 * are mapped onto the AX_PRIORITY_* values. @p pid 0 is the calling
 * process. libuv: uv_os_getpriority().
 * @return 0; AX_EINVAL if @p priority is NULL; AX_ESRCH for no such
 *         process; AX_EPERM or AX_EACCES.
 */
AX_EXTERN int ax_os_getpriority(ax_pid_t pid, int *priority);

/**
 * Set a process's scheduling priority (see ax_os_getpriority()); raising
 * it above normal usually needs privileges. On Windows the value is
 * rounded to the nearest priority class. libuv: uv_os_setpriority().
 * @return 0; AX_EINVAL if @p priority is outside -20..19; AX_ESRCH;
 *         AX_EPERM or AX_EACCES.
 */
AX_EXTERN int ax_os_setpriority(ax_pid_t pid, int priority);

/** @} */

/**
 * @defgroup osuser Network interfaces, the user and resource usage
 * Three more facts about the machine and the process, each in a struct
 * the call fills: the addresses of the network interfaces (an array that
 * axle allocates and ax_free_interface_addresses() frees), the effective
 * user's entry in the user database (strings that ax_os_free_passwd()
 * frees) and the process's resource usage (no allocation). Safe to call
 * from any thread; none needs a loop. See docs/os.md.
 * @{
 */

/** The length of ax_interface_address_t's phys_addr: a MAC address. */
#define AX_PHYS_ADDR_LEN 6

/**
 * Room for a struct sockaddr_in or sockaddr_in6 (28 bytes on every system
 * axle builds for), so that this header needs no system header. Cast its
 * address to the one its family names: `(const struct sockaddr_in6 *)&a`
 * when `((const struct sockaddr *)&a)->sa_family` is AF_INET6.
 */
typedef union ax_interface_sockaddr_u {
  /** The address, as the system lays out a sockaddr_in or sockaddr_in6. */
  unsigned char bytes[28];
  /** The alignment of those structs (32-bit fields). */
  uint32_t align;
} ax_interface_sockaddr_t;

/** One address of a network interface, from ax_interface_addresses(). */
typedef struct ax_interface_address_s {
  /** The interface's name ("lo", "eth0"; the friendly name on Windows). */
  char *name;
  /** Its link-layer (MAC) address; zeros where the system gives none. */
  char phys_addr[AX_PHYS_ADDR_LEN];
  /** Whether it is a loopback interface, internal to the machine. */
  bool is_internal;
  /** The address, a struct sockaddr_in or sockaddr_in6 (port 0). */
  ax_interface_sockaddr_t address;
  /** The netmask, of the address's family. */
  ax_interface_sockaddr_t netmask;
} ax_interface_address_t;

/** The effective user's entry in the user database, from
 *  ax_os_get_passwd(). */
typedef struct ax_passwd_s {
  /** The user's name. */
  char *username;
  /** The user id; -1 on Windows, which has none. */
  int64_t uid;
  /** The primary group id; -1 on Windows. */
  int64_t gid;
  /** The login shell; NULL on Windows. */
  char *shell;
  /** The home directory, as the user database says (not $HOME). */
  char *homedir;
} ax_passwd_t;

/**
 * What the process has used so far, from ax_getrusage(): the fields of
 * POSIX getrusage(RUSAGE_SELF). A counter the system does not keep is 0
 * (Linux keeps no message or signal counts; see docs/os.md for Windows).
 */
typedef struct ax_rusage_s {
  /** Processor time running the process's own code, in microseconds. */
  uint64_t user_time_us;
  /** Processor time the kernel spent on the process, in microseconds. */
  uint64_t system_time_us;
  /** The largest resident set the process has had, in bytes (POSIX
   *  systems give kilobytes or bytes: axle converts). */
  uint64_t max_rss_bytes;
  /** Page faults served without I/O. */
  uint64_t minor_faults;
  /** Page faults that needed I/O (Windows: every page fault). */
  uint64_t major_faults;
  /** Times the process was swapped out. */
  uint64_t swaps;
  /** Block input operations (Windows: read operations). */
  uint64_t block_inputs;
  /** Block output operations (Windows: write operations). */
  uint64_t block_outputs;
  /** IPC messages sent. */
  uint64_t messages_sent;
  /** IPC messages received. */
  uint64_t messages_received;
  /** Signals received. */
  uint64_t signals;
  /** Context switches because the process waited (voluntary). */
  uint64_t voluntary_switches;
  /** Context switches because the scheduler preempted it (involuntary). */
  uint64_t involuntary_switches;
} ax_rusage_t;

/**
 * List the addresses of the network interfaces that are up and running
 * (IFF_UP and IFF_RUNNING on POSIX, as libuv): one entry per
 * IPv4 or IPv6 address, with its interface's name, MAC address and
 * netmask. *addresses becomes an array of *count entries allocated by
 * axle, which ax_free_interface_addresses() frees (with no interface up,
 * an empty array that must be freed all the same).
 * libuv: uv_interface_addresses().
 * @return 0; AX_EINVAL if an argument is NULL; AX_ENOMEM (nothing is then
 *         allocated); the system's error.
 */
AX_EXTERN int ax_interface_addresses(ax_interface_address_t **addresses,
                                     int *count);

/** Free what ax_interface_addresses() returned. NULL is allowed.
 *  libuv: uv_free_interface_addresses(). */
AX_EXTERN void ax_free_interface_addresses(ax_interface_address_t *addresses,
                                           int count);

/**
 * Fill @p pwd with the effective user's name, ids, shell and home
 * directory from the user database (POSIX getpwuid_r()); on Windows the
 * name and the profile directory, with uid and gid -1 and shell NULL.
 * The strings are allocated by axle: free them with ax_os_free_passwd().
 * libuv: uv_os_get_passwd().
 * @return 0; AX_EINVAL if @p pwd is NULL; AX_ENOENT if the user has no
 *         entry; AX_ENOMEM (nothing is then allocated); the system's
 *         error.
 */
AX_EXTERN int ax_os_get_passwd(ax_passwd_t *pwd);

/** Free the strings ax_os_get_passwd() filled @p pwd with and set them to
 *  NULL. NULL is allowed. libuv: uv_os_free_passwd(). */
AX_EXTERN void ax_os_free_passwd(ax_passwd_t *pwd);

/**
 * Fill @p rusage with the calling process's resource usage so far.
 * libuv: uv_getrusage().
 * @return 0; AX_EINVAL if @p rusage is NULL; the system's error.
 */
AX_EXTERN int ax_getrusage(ax_rusage_t *rusage);

/** @} */

/**
 * @defgroup udp UDP
 * Datagrams over IPv4 and IPv6: bind, connect, send with a request or at
 * once, receive with a buffer from the caller, and the socket options of
 * broadcast and multicast. Addresses are the system's struct sockaddr_in
 * and sockaddr_in6, as for TCP (ax_ip4_addr(), ax_ip6_addr()).
 *
 * A send is tried at once; what the kernel cannot take now is queued and
 * leaves, in order, when the socket is writable (Linux: many datagrams per
 * sendmmsg(2)). Its callback always runs later, from the loop, never
 * inside ax_udp_send(). With AX_UDP_RECVMMSG (Linux), a readable socket
 * is read with recvmmsg(2), many datagrams into one buffer, and the sends
 * made from those datagrams' callbacks are queued and leave together after
 * the last of them. Closing a UDP handle completes every send not yet
 * reported with AX_ECANCELED, before the close callback. See docs/udp.md.
 * @{
 */

/** @name Flags of ax_udp_init_ex()
 * @{ */
/** Read many datagrams per system call (recvmmsg(2) on Linux; ignored
 * elsewhere) and batch the sends made from their callbacks (sendmmsg). */
#define AX_UDP_RECVMMSG 0x0100
/** @} */

/** @name Flags of ax_udp_bind()
 * @{ */
#define AX_UDP_IPV6ONLY 0x0001  /**< An IPv6 socket that refuses IPv4. */
#define AX_UDP_REUSEADDR 0x0002 /**< Share the address (SO_REUSEADDR). */
/** @} */

/** @name Flags of ax_udp_recv_cb
 * @{ */
/** The datagram was longer than the buffer: the rest was dropped. */
#define AX_UDP_PARTIAL 0x0001
/** More datagrams of the same batch follow in the same buffer: do not
 * release it yet. A callback without this flag always follows. */
#define AX_UDP_MORE 0x0002
/** @} */

/** What ax_udp_set_membership() does. */
typedef enum ax_membership_e {
  AX_LEAVE_GROUP = 0, /**< Leave the group. */
  AX_JOIN_GROUP = 1,  /**< Join the group. */
} ax_membership;

/**
 * A datagram arrived, or a receive failed. @p nread is the datagram's
 * length (0 is a valid, empty datagram when @p addr is not NULL); 0 with
 * @p addr NULL when there was nothing to read after all; or an error
 * (AX_ECONNREFUSED on a connected socket whose peer has no listener, say:
 * receiving goes on). @p addr is the sender, valid during the call only.
 * @p flags holds AX_UDP_PARTIAL and AX_UDP_MORE bits. In a callback
 * without AX_UDP_MORE, @p buf is the whole buffer the alloc callback gave:
 * release it there if it is yours. With AX_UDP_MORE, @p buf is the part of
 * it that holds this datagram, and a later callback hands the whole buffer
 * back (as 0 bytes with no address, after the last datagram of a batch).
 */
typedef void (*ax_udp_recv_cb)(ax_udp_t *udp, ptrdiff_t nread,
                               const ax_buf_t *buf, const struct sockaddr *addr,
                               unsigned int flags);

/** A send is over: 0 once the datagram went to the kernel; an error, such
 * as AX_ECONNREFUSED on a connected socket or AX_EMSGSIZE; AX_ECANCELED
 * when the handle was closed first. */
typedef void (*ax_udp_send_cb)(ax_udp_send_t *req, int status);

/** @cond AX_PRIVATE */
/* The private region of ax_udp_t: the portable part (src/udp.c), then the
 * system's (struct ax__udp_platform, in axle/unix.h or axle/win.h). */
struct ax__udp_private {
  ax_alloc_cb alloc_cb;             /* Receiving: where buffers come from. */
  ax_udp_recv_cb recv_cb;           /* Receiving: where datagrams go. */
  struct ax__queue sends;           /* Sends queued, oldest first. */
  struct ax__queue done;            /* Sends whose callback is due. */
  struct ax__pending_s pending;     /* Runs the callbacks of done. */
  struct ax__udp_platform platform; /* The socket, as the system has it. */
};

/* Buffers a send keeps inline; more go in an allocation. */
#define AX__UDP_SEND_INLINE_BUFS 4

/* The private region of ax_udp_send_t. */
struct ax__udp_send_private {
  struct ax__queue node; /* In its handle's sends, then done. */
  ax_udp_send_cb cb;     /* The callback. */
  ax_buf_t *bufs;        /* inline_bufs, or an allocation. */
  ax_buf_t inline_bufs[AX__UDP_SEND_INLINE_BUFS]; /* Small vectors. */
  unsigned int nbufs;                             /* Buffers at bufs. */
  int status;                                     /* The outcome, once known. */
  int addr_len;                /* Bytes of addr; 0 on a connected socket. */
  union ax__sockaddr_buf addr; /* The destination, copied. */
};
/** @endcond */

/** A UDP handle. */
struct ax_udp_s {
  /** The handle part. */
  ax_handle_t handle;
  /** Bytes queued to send and not yet taken by the kernel. Read-only. */
  size_t send_queue_size;
  /** Sends queued and not yet taken by the kernel. Read-only. */
  size_t send_queue_count;
  /** Private to axle. */
  struct ax__udp_private priv;
};

/** A request to send one datagram. */
struct ax_udp_send_s {
  /** The request part. */
  ax_req_t req;
  /** The handle it was sent on. Read-only. */
  ax_udp_t *handle;
  /** Private to axle. */
  struct ax__udp_send_private priv;
};

/** Initialise a UDP handle; its socket is made by bind, connect, the
 * first send or recv_start. @return 0 or AX_EINVAL. */
AX_EXTERN int ax_udp_init(ax_loop_t *loop, ax_udp_t *udp);

/**
 * Initialise a UDP handle with flags: AX_UDP_RECVMMSG, or 0.
 * @return 0; AX_EINVAL for an unknown flag.
 */
AX_EXTERN int ax_udp_init_ex(ax_loop_t *loop, ax_udp_t *udp,
                             unsigned int flags);

/** Adopt an open datagram socket (made non-blocking and close-on-exec).
 * @return 0; AX_EINVAL; AX_EBUSY if the handle has a socket already;
 *         AX_EBADF if it is closing. */
AX_EXTERN int ax_udp_open(ax_udp_t *udp, ax_os_sock_t sock);

/**
 * Bind to a local address.
 * @param udp   A handle without a socket, or with an unbound one.
 * @param addr  A struct sockaddr_in or sockaddr_in6.
 * @param flags AX_UDP_IPV6ONLY, AX_UDP_REUSEADDR, or 0.
 * @return 0; AX_EINVAL; AX_EAFNOSUPPORT; AX_EADDRINUSE; AX_EBADF.
 */
AX_EXTERN int ax_udp_bind(ax_udp_t *udp, const struct sockaddr *addr,
                          unsigned int flags);

/**
 * Connect to a peer, so that sends need no address and only its datagrams
 * arrive; NULL disconnects. Nothing goes on the network.
 * @return 0; AX_EINVAL; AX_EISCONN (connecting a connected handle);
 *         AX_ENOTCONN (disconnecting one that is not); AX_EBADF.
 */
AX_EXTERN int ax_udp_connect(ax_udp_t *udp, const struct sockaddr *addr);

/** The local address, as ax_tcp_getsockname(). */
AX_EXTERN int ax_udp_getsockname(const ax_udp_t *udp, struct sockaddr *name,
                                 int *namelen);

/** The connected peer's address, as ax_tcp_getpeername(). */
AX_EXTERN int ax_udp_getpeername(const ax_udp_t *udp, struct sockaddr *name,
                                 int *namelen);

/**
 * Send one datagram made of @p nbufs buffers, which must stay valid until
 * @p send_cb runs. @p addr is the destination; NULL on a connected handle.
 * @return 0 once accepted (the callback runs later, whatever the
 *         outcome); AX_EINVAL; AX_ENOTCONN (no address, not
 *         connected); AX_EISCONN (an address on a connected handle);
 *         AX_EBADF if closing; an error from socket(2).
 */
AX_EXTERN int ax_udp_send(ax_udp_send_t *req, ax_udp_t *udp,
                          const ax_buf_t bufs[], unsigned int nbufs,
                          const struct sockaddr *addr, ax_udp_send_cb send_cb);

/**
 * Send one datagram now, or not at all: no request, no queue.
 * @return the bytes sent; AX_EAGAIN if the kernel cannot take it now or
 *         sends are queued; the errors of ax_udp_send(), or the kernel's.
 */
AX_EXTERN int ax_udp_try_send(ax_udp_t *udp, const ax_buf_t bufs[],
                              unsigned int nbufs, const struct sockaddr *addr);

/**
 * Receive datagrams until ax_udp_recv_stop(). A handle with no socket is
 * bound to 0.0.0.0 on a port of the system's choosing.
 * @return 0; AX_EINVAL; AX_EALREADY if receiving; AX_EBADF if closing.
 */
AX_EXTERN int ax_udp_recv_start(ax_udp_t *udp, ax_alloc_cb alloc_cb,
                                ax_udp_recv_cb recv_cb);

/** Stop receiving; no recv callback follows, but the one that hands back
 * a batch's buffer when this is called from inside the batch.
 * @return 0 or AX_EINVAL. */
AX_EXTERN int ax_udp_recv_stop(ax_udp_t *udp);

/** @return Whether receiving reads many datagrams per system call. */
AX_EXTERN bool ax_udp_using_recvmmsg(const ax_udp_t *udp);

/** @return Bytes queued to send (0 for NULL). */
AX_EXTERN size_t ax_udp_get_send_queue_size(const ax_udp_t *udp);

/** @return Sends queued (0 for NULL). */
AX_EXTERN size_t ax_udp_get_send_queue_count(const ax_udp_t *udp);

/** Allow sending to broadcast addresses. @return 0; AX_EINVAL; AX_EBADF
 * without a socket; setsockopt's error. */
AX_EXTERN int ax_udp_set_broadcast(ax_udp_t *udp, bool enable);

/** The time-to-live (hop limit) of unicast datagrams, 1..255. @return as
 * ax_udp_set_broadcast(). */
AX_EXTERN int ax_udp_set_ttl(ax_udp_t *udp, int ttl);

/** The time-to-live of multicast datagrams, 0..255. @return as
 * ax_udp_set_broadcast(). */
AX_EXTERN int ax_udp_set_multicast_ttl(ax_udp_t *udp, int ttl);

/** Whether multicast datagrams come back to this host. @return as
 * ax_udp_set_broadcast(). */
AX_EXTERN int ax_udp_set_multicast_loop(ax_udp_t *udp, bool enable);

/** The interface multicast datagrams leave by: an address of it as text
 * ("192.168.1.2", or "::%eth0" / a scope for IPv6), or NULL for the
 * system's choice. @return as ax_udp_set_broadcast(). */
AX_EXTERN int ax_udp_set_multicast_interface(ax_udp_t *udp,
                                             const char *interface_addr);

/**
 * Join or leave a multicast group, on the interface whose address is
 * @p interface_addr (NULL: the system's choice).
 * @return 0; AX_EINVAL for a bad address; AX_EBADF without a socket;
 *         setsockopt's error.
 */
AX_EXTERN int ax_udp_set_membership(ax_udp_t *udp, const char *multicast_addr,
                                    const char *interface_addr,
                                    ax_membership membership);

/** Join or leave a source-specific multicast group: only @p source_addr's
 * datagrams to @p multicast_addr. @return as ax_udp_set_membership(), and
 * AX_ENOTSUP where the system lacks it. */
AX_EXTERN int ax_udp_set_source_membership(ax_udp_t *udp,
                                           const char *multicast_addr,
                                           const char *interface_addr,
                                           const char *source_addr,
                                           ax_membership membership);

/** @} */

/**
 * @addtogroup fs
 * @{
 */

/** @name Special times of ax_fs_utime(), ax_fs_futime() and ax_fs_lutime()
 * Either may stand for the access time, the modification time or both, as
 * libuv's UV_FS_UTIME_NOW and UV_FS_UTIME_OMIT do. Their values differ
 * from libuv's -1 and -2, which are also the times one and two seconds
 * before 1970: these lie outside the range of times the functions take,
 * so every time in it can still be set.
 * @{ */
/** Set this time to the current time (the system's clock, not the
 *  loop's), taken when the request runs. */
#define AX_FS_UTIME_NOW (-1e18)
/** Leave this time as it is. */
#define AX_FS_UTIME_OMIT (-2e18)
/** @} */

/** @} */

/**
 * @defgroup pipe Pipes
 * Local streams between processes: Unix domain sockets on POSIX (a path,
 * or on Linux an abstract name), named pipes on Windows. A pipe is a
 * stream: every call of the stream group works on `&pipe->stream`
 * (reading, writing, shutdown, water marks, listening and accepting).
 *
 * A pipe made for IPC (ax_pipe_init() with @p ipc true) also carries
 * handles: ax_write2() sends a TCP listener or connection, or a pipe,
 * beside the bytes of a write (SCM_RIGHTS on POSIX, WSADuplicateSocketW()
 * and the protocol information on Windows). The receiving side learns,
 * after a read callback, how many handles wait (ax_pipe_pending_count())
 * and of what type (ax_pipe_pending_type()), and takes each one with
 * ax_accept() into a handle of that type, initialised on its loop. See
 * docs/pipes.md.
 * @{
 */

/** A pipe handle: see struct ax_pipe_s. */
typedef struct ax_pipe_s ax_pipe_t;

/** @cond AX_PRIVATE */
/* Handles received over an IPC pipe and not yet accepted, and the
 * system's own pipe state (src/pipe.c, src/unix/pipe.c, src/win/pipe.c). */
struct ax__pipe_ipc;
struct ax__pipe_sys;

/* The private region of ax_pipe_t. */
struct ax__pipe_private {
  struct ax__pipe_ipc *ipc; /* IPC: handles received, or NULL. */
  struct ax__pipe_sys *sys; /* The system's state, or NULL. */
};
/** @endcond */

/** A pipe handle. */
struct ax_pipe_s {
  /** The stream part (its first member is the handle). */
  ax_stream_t stream;
  /** Private to axle. */
  struct ax__pipe_private priv;
};

/** @name Flags of ax_pipe_bind() and ax_pipe_connect()
 * @{ */
/** A name longer than the system takes is an error (AX_EINVAL), never cut
 * short: the default, and the only behaviour; the flag is accepted for
 * code written for libuv's UV_PIPE_NO_TRUNCATE. */
#define AX_PIPE_NO_TRUNCATE 0x0001
/** @} */

/** @name Modes of ax_pipe_chmod()
 * @{ */
#define AX_PIPE_READABLE 0x0001 /**< Everyone may connect to read. */
#define AX_PIPE_WRITABLE 0x0002 /**< Everyone may connect to write. */
/** @} */

/** @name Flags of ax_pipe()
 * @{ */
/** The descriptor is made non-blocking (for a stream handle; a child's
 * standard input or output should stay blocking). */
#define AX_PIPE_NONBLOCK 0x0001
/** @} */

/**
 * Initialise a pipe handle. It has no descriptor until ax_pipe_bind(),
 * ax_pipe_connect(), ax_pipe_open() or ax_accept() gives it one.
 * @param loop The loop the handle belongs to.
 * @param pipe The handle, in the caller's memory.
 * @param ipc Whether the pipe carries handles (ax_write2()).
 * @return 0 or AX_EINVAL.
 */
AX_EXTERN int ax_pipe_init(ax_loop_t *loop, ax_pipe_t *pipe, bool ipc);

/**
 * Make an open descriptor the handle's: a Unix domain stream socket, a
 * pipe or a FIFO (POSIX), or a named pipe or anonymous pipe handle
 * (Windows). The descriptor is made non-blocking and is closed with the
 * handle.
 * @return 0; AX_EINVAL; AX_EBADF if @p fd is not open or the handle is
 *         closing or has a descriptor; AX_ENOTSUP for a descriptor that is
 *         not a stream (a datagram socket); the system's error.
 */
AX_EXTERN int ax_pipe_open(ax_pipe_t *pipe, ax_os_fd_t fd);

/**
 * Bind the handle to a name: a file system path on POSIX (Linux: a name
 * beginning with a NUL byte is abstract, in no file system), or
 * `\\.\pipe\NAME` on Windows. @p namelen bytes of @p name are used, so an
 * abstract name may hold NUL bytes; no terminating NUL is needed.
 * @param pipe A pipe with no descriptor yet.
 * @param name The name's bytes.
 * @param namelen How many bytes of @p name (at least 1).
 * @param flags AX_PIPE_NO_TRUNCATE or 0.
 * @return 0; AX_EINVAL (NULL, empty or too long a name, unknown flags);
 *         AX_EADDRINUSE; AX_EACCES; AX_EBADF if closing or bound; the
 *         system's error.
 */
AX_EXTERN int ax_pipe_bind(ax_pipe_t *pipe, const char *name, size_t namelen,
                           unsigned int flags);

/**
 * Connect to a pipe bound to @p name (as ax_pipe_bind() takes it).
 * @p connect_cb runs once, later, with 0 or the error (AX_ENOENT when
 * nothing has that name, AX_ECONNREFUSED when nothing listens).
 * @return 0 once started; AX_EINVAL; AX_EBADF if closing; AX_EALREADY;
 *         AX_EISCONN.
 */
AX_EXTERN int ax_pipe_connect(ax_connect_t *req, ax_pipe_t *pipe,
                              const char *name, size_t namelen,
                              unsigned int flags, ax_connect_cb connect_cb);

/**
 * The name the handle is bound to, copied into @p buffer of *@p size
 * bytes. On return *@p size is the name's length, without the NUL that
 * ends a path name (an abstract name's leading NUL counts).
 * @return 0; AX_EINVAL; AX_ENOBUFS if the buffer is too small (*@p size
 *         then says how much is needed, with room for a NUL); AX_EBADF.
 */
AX_EXTERN int ax_pipe_getsockname(const ax_pipe_t *pipe, char *buffer,
                                  size_t *size);

/** The name of the pipe connected to; as ax_pipe_getsockname(), and
 *  AX_ENOTCONN when not connected. */
AX_EXTERN int ax_pipe_getpeername(const ax_pipe_t *pipe, char *buffer,
                                  size_t *size);

/**
 * Let every user connect to a bound pipe to read, to write, or both
 * (AX_PIPE_READABLE | AX_PIPE_WRITABLE): the socket file's mode on POSIX.
 * @return 0; AX_EINVAL (no mode, unknown bits, an abstract name);
 *         AX_EBADF if not bound or closing; the system's error.
 */
AX_EXTERN int ax_pipe_chmod(ax_pipe_t *pipe, int mode);

/**
 * Windows: how many server instances a listening pipe keeps posted (the
 * named pipe's ConnectNamedPipe(), like AcceptEx() for TCP); set before
 * ax_listen(). Elsewhere it does nothing.
 */
AX_EXTERN void ax_pipe_pending_instances(ax_pipe_t *pipe, int count);

/** @return How many handles received over an IPC pipe wait for
 *  ax_accept(); 0 for NULL or a pipe that is not for IPC. */
AX_EXTERN int ax_pipe_pending_count(const ax_pipe_t *pipe);

/** @return The type of the next handle ax_accept() gives (AX_TCP or
 *  AX_PIPE), or AX_UNKNOWN_HANDLE when none waits or the next is of a
 *  kind axle cannot take (a foreign sender's: ax_accept() then closes it
 *  and says AX_ENOTSUP). */
AX_EXTERN ax_handle_type ax_pipe_pending_type(const ax_pipe_t *pipe);

/**
 * Write, and send @p send_handle with the bytes over an IPC pipe: a TCP
 * handle (listening or connected) or a pipe. The receiver gets a handle
 * to the same socket; the sender's handle stays open and the sender's to
 * close. At least one byte must be written with a handle. Otherwise as
 * ax_write(); @p send_handle NULL is ax_write().
 * @return 0; the errors of ax_write(); AX_EINVAL if @p stream is not an
 *         IPC pipe, or @p send_handle has no socket or is of another type;
 *         AX_EBADF if @p send_handle is closing.
 */
AX_EXTERN int ax_write2(ax_write_t *req, ax_stream_t *stream,
                        const ax_buf_t bufs[], unsigned int nbufs,
                        ax_stream_t *send_handle, ax_write_cb write_cb);

/**
 * Make an anonymous pipe: @p fds[0] reads, @p fds[1] writes, both
 * close-on-exec (not inherited). For a child's standard descriptors, or
 * ax_pipe_open().
 * @param fds Receives the two descriptors.
 * @param read_flags  AX_PIPE_NONBLOCK or 0, for fds[0].
 * @param write_flags AX_PIPE_NONBLOCK or 0, for fds[1].
 * @return 0; AX_EINVAL; AX_EMFILE; AX_ENFILE; the system's error.
 */
AX_EXTERN int ax_pipe(ax_os_fd_t fds[2], int read_flags, int write_flags);

/** @} */

/**
 * @defgroup process Child processes
 * Start programs, talk to them over their standard descriptors, and learn
 * how they ended. A process handle is active from ax_spawn() until its
 * exit callback has run; close it then (or earlier: the child is not
 * killed, its exit is simply not reported, and on POSIX the loop still
 * reaps it when it ends). POSIX: exit is noticed through a pidfd where the
 * kernel has one (Linux 5.3), else through SIGCHLD and waitpid() on the
 * loop's own children only, so other code's children are never reaped.
 * Windows: the process handle's wait is posted to the loop's port. See
 * docs/process.md.
 * @{
 */

/** A child process handle: see struct ax_process_s. */
typedef struct ax_process_s ax_process_t;

/**
 * Called on the loop thread once the child has ended.
 * @param process     The handle.
 * @param exit_status The exit status (0..255 on POSIX), or 0 when a signal
 *                    ended it.
 * @param term_signal The signal that ended it, or 0.
 */
typedef void (*ax_exit_cb)(ax_process_t *process, int64_t exit_status,
                           int term_signal);

/** What a child's descriptor is made from: one entry of
 *  ax_process_options_t::stdio. */
typedef enum ax_stdio_flags_e {
  /** Closed in the child (POSIX: 0, 1 and 2 open /dev/null instead). */
  AX_STDIO_IGNORE = 0x00,
  /** A new pipe between the two processes; its end here is given to the
   * ax_pipe_t in data.stream, initialised and without a descriptor (an
   * IPC pipe if that pipe was initialised for IPC). Add
   * AX_STDIO_READABLE, AX_STDIO_WRITABLE or both, from the child's side. */
  AX_STDIO_CREATE_PIPE = 0x01,
  /** The child gets data.fd, a descriptor of this process. */
  AX_STDIO_INHERIT_FD = 0x02,
  /** The child gets the descriptor of the open stream data.stream. */
  AX_STDIO_INHERIT_STREAM = 0x04,
  /** With AX_STDIO_CREATE_PIPE: the child reads from the pipe. */
  AX_STDIO_READABLE = 0x10,
  /** With AX_STDIO_CREATE_PIPE: the child writes to the pipe. */
  AX_STDIO_WRITABLE = 0x20
} ax_stdio_flags;

/** One of a child's descriptors: entry i of ax_process_options_t::stdio
 *  becomes the child's descriptor i. */
typedef struct ax_stdio_container_s {
  /** AX_STDIO_* flags. */
  ax_stdio_flags flags;
  /** What the flags name. */
  union {
    ax_stream_t *stream; /**< For CREATE_PIPE and INHERIT_STREAM. */
    int fd;              /**< For INHERIT_FD. */
  } data;
} ax_stdio_container_t;

/** @name Flags of ax_process_options_t
 * @{ */
/** Set the child's user id to ax_process_options_t::uid (POSIX). */
#define AX_PROCESS_SETUID 0x0001
/** Set the child's group id to ax_process_options_t::gid (POSIX). */
#define AX_PROCESS_SETGID 0x0002
/** Pass the arguments to Windows as they are, unquoted. */
#define AX_PROCESS_WINDOWS_VERBATIM_ARGUMENTS 0x0004
/** Start the child in a session (POSIX) or process group (Windows) of
 * its own, so that it may outlive this process; ax_unref() the handle to
 * let the loop end without it. */
#define AX_PROCESS_DETACHED 0x0008
/** Windows: no console window for the child. */
#define AX_PROCESS_WINDOWS_HIDE 0x0010
/** @} */

/** What ax_spawn() starts, and how. Zero it, then set what you need. */
typedef struct ax_process_options_s {
  /** Called once the child has ended; may be NULL. */
  ax_exit_cb exit_cb;
  /** The program: a path, or a name looked up in PATH (the child's PATH
   * where @p env sets one). */
  const char *file;
  /** The arguments, args[0] first, NULL-terminated; NULL for just
   * { file, NULL }. */
  char **args;
  /** The environment as "NAME=value" strings, NULL-terminated; NULL for
   * this process's. */
  char **env;
  /** The child's working directory, or NULL for this process's. */
  const char *cwd;
  /** AX_PROCESS_* flags. */
  unsigned int flags;
  /** Entries in @p stdio, at most 1024; descriptors past them (and past
   * 2) are closed in the child. */
  int stdio_count;
  /** The child's descriptors, or NULL: all closed (0, 1, 2 to /dev/null
   * on POSIX). */
  ax_stdio_container_t *stdio;
  /** With AX_PROCESS_SETUID. */
  unsigned int uid;
  /** With AX_PROCESS_SETGID. */
  unsigned int gid;
} ax_process_options_t;

/** @cond AX_PRIVATE */
/* The system's part of a process handle (src/unix/process.c,
 * src/win/process.c). */
struct ax__process_sys;

/* The private region of ax_process_t. */
struct ax__process_private {
  ax_exit_cb exit_cb;          /* The exit callback, or NULL. */
  struct ax__process_sys *sys; /* The system's state while running. */
  struct ax__queue node;       /* In the loop's list of children. */
};
/** @endcond */

/** A child process handle. */
struct ax_process_s {
  /** The common handle part. */
  ax_handle_t handle;
  /** The child's process id. Read-only. */
  ax_pid_t pid;
  /** Private to axle. */
  struct ax__process_private priv;
};

/**
 * Start a child process and initialise @p process for it. A child that
 * cannot start (no such file, no permission, a bad directory) is an error
 * of this call, and no exit callback follows; the handle is then not
 * initialised and needs no close.
 * @return 0; AX_EINVAL (NULL, no file or an empty one, unknown flags,
 *         stdio_count < 0 or > 1024, a bad stdio entry: unknown flags, no
 *         stream, a CREATE_PIPE stream that is no pipe, has a
 *         descriptor already or is named by two entries, an
 *         INHERIT_STREAM stream without a descriptor);
 *         AX_ENOENT; AX_EACCES; AX_ENOEXEC; AX_ENOTDIR; AX_EPERM (uid or
 *         gid); AX_EBADF (an INHERIT_FD descriptor that is not open);
 *         AX_EMFILE; AX_ENOMEM; the system's error; AX_ENOTSUP on
 *         Windows until its part is written.
 */
AX_EXTERN int ax_spawn(ax_loop_t *loop, ax_process_t *process,
                       const ax_process_options_t *options);

/**
 * Send @p signum to the child (Windows: SIGTERM, SIGKILL and SIGINT end
 * it; 0 asks whether it runs).
 * @return 0; AX_EINVAL; AX_ESRCH once it has ended; the system's error.
 */
AX_EXTERN int ax_process_kill(ax_process_t *process, int signum);

/** Send @p signum to any process; as ax_process_kill(). */
AX_EXTERN int ax_kill(ax_pid_t pid, int signum);

/** @return The child's process id (0 for NULL). */
AX_EXTERN ax_pid_t ax_process_get_pid(const ax_process_t *process);

/** @} */

/**
 * @defgroup histogram Histograms: loop delay and pool lanes
 * Durations recorded into a histogram of fixed size, as HdrHistogram does:
 * exact below 32 ns, then 16 buckets per power of two, so that a value is
 * known to within 1/16 (6.25%) of itself, from nanoseconds to about 18
 * minutes (longer values count in the last bucket; the maximum stays
 * exact). Recording is a few instructions and never allocates.
 *
 * The loop fills two kinds: its delay (ax_loop_delay_start(): how long the
 * loop's callbacks keep it from getting back to its wait, once per
 * iteration; docs/loop.md), and, for each lane of the thread pool, how long
 * its jobs waited in the queue and how long they ran
 * (ax_loop_lane_metrics(); docs/threadpool.md). Both are read on the loop
 * thread, as copies the caller may keep, reset, merge and query.
 * @{
 */

/** Buckets of an ax_histogram_t. */
#define AX_HISTOGRAM_BUCKETS 592

/** A histogram of durations in nanoseconds. Zero it (or
 *  ax_histogram_reset()) before the first record. */
typedef struct ax_histogram_s {
  /** Values recorded. */
  uint64_t count;
  /** The smallest value recorded (0 when none was). */
  uint64_t min_ns;
  /** The largest value recorded, exact. */
  uint64_t max_ns;
  /** The sum of the values recorded (for the mean). */
  uint64_t sum_ns;
  /** Values per bucket; read them through ax_histogram_percentile(). */
  uint64_t buckets[AX_HISTOGRAM_BUCKETS];
} ax_histogram_t;

/** The lanes of the thread pool (docs/threadpool.md). */
typedef enum {
  /** File system requests. */
  AX_LANE_FS = 0,
  /** getaddrinfo and getnameinfo requests. */
  AX_LANE_DNS,
  /** The user's jobs (ax_queue_work()). */
  AX_LANE_USER,
  /** The number of lanes. */
  AX_LANE_MAX
} ax_lane;

/** Empty @p hist. Does nothing for NULL. */
AX_EXTERN void ax_histogram_reset(ax_histogram_t *hist);

/** Record one duration into @p hist, in constant time. Does nothing for
 *  NULL. Not thread-safe: one thread records into one histogram. */
AX_EXTERN void ax_histogram_record(ax_histogram_t *hist, uint64_t value_ns);

/** Add every value of @p src to @p dst (to sum up several loops or lanes).
 *  Does nothing if either is NULL. */
AX_EXTERN void ax_histogram_merge(ax_histogram_t *dst,
                                  const ax_histogram_t *src);

/**
 * The value below or at which @p percent of the recorded values lie: the
 * upper edge of the bucket where that share is reached, so at most 6.25%
 * above the true value and never below it, and never above the maximum.
 * 100 gives the maximum, 0 the minimum.
 * @param hist    A histogram.
 * @param percent From 0 to 100 (p99 is 99.0); outside that, clamped.
 * @return The value in nanoseconds; 0 if @p hist is NULL or empty.
 */
AX_EXTERN uint64_t ax_histogram_percentile(const ax_histogram_t *hist,
                                           double percent);

/**
 * Begin measuring the loop's delay: from then on, each iteration records
 * into the loop's delay histogram how long the loop spent between leaving
 * its wait for I/O and entering the next one (running timers, I/O
 * callbacks and the other phases), which is how late anything that becomes
 * ready in that time is served (docs/loop.md). Off by default; while off,
 * the loop pays one branch per iteration for it. Starting again keeps what
 * was recorded. Call it on the loop thread.
 * @return 0; AX_EINVAL if @p loop is NULL or not initialised; AX_ENOMEM.
 */
AX_EXTERN int ax_loop_delay_start(ax_loop_t *loop);

/** Stop measuring the loop's delay; what was recorded stays readable.
 *  @return 0, or AX_EINVAL if @p loop is NULL or not initialised. */
AX_EXTERN int ax_loop_delay_stop(ax_loop_t *loop);

/**
 * Copy the loop's delay histogram into @p hist (an empty one if the
 * measure was never started). Call it on the loop thread.
 * @return 0, or AX_EINVAL if an argument is NULL or the loop is not
 *         initialised.
 */
AX_EXTERN int ax_loop_delay(const ax_loop_t *loop, ax_histogram_t *hist);

/** Empty the loop's delay histogram (measuring goes on if it was on).
 *  @return 0, or AX_EINVAL if @p loop is NULL or not initialised. */
AX_EXTERN int ax_loop_delay_reset(ax_loop_t *loop);

/**
 * Copy the histograms of one thread-pool lane of this loop's jobs: how long
 * each waited between its queueing and a worker taking it, and how long it
 * ran on the worker. A job counts when its callback runs on the loop
 * thread; cancelled jobs count in neither. Always on. Call it on the loop
 * thread.
 * @param loop An initialised loop.
 * @param lane AX_LANE_FS, AX_LANE_DNS or AX_LANE_USER.
 * @param wait Receives the queue waits, or NULL.
 * @param run  Receives the run times, or NULL.
 * @return 0, or AX_EINVAL (NULL or uninitialised loop, a bad lane).
 */
AX_EXTERN int ax_loop_lane_metrics(const ax_loop_t *loop, ax_lane lane,
                                   ax_histogram_t *wait, ax_histogram_t *run);

/** Empty the lane histograms of every lane of @p loop.
 *  @return 0, or AX_EINVAL if @p loop is NULL or not initialised. */
AX_EXTERN int ax_loop_lane_metrics_reset(ax_loop_t *loop);

/** @} */

/**
 * @defgroup barrier Barriers
 * A barrier holds a fixed number of threads until all have reached it,
 * then lets them all go on; it can be used again at once, for the next
 * round. Built from a mutex and a condition variable on every system (see
 * docs/os.md for why not pthread_barrier_t). libuv: uv_barrier_*.
 * @{
 */

/** @cond AX_PRIVATE */
/* The private region of ax_barrier_t: state allocated by init. */
struct ax__barrier_private {
  void *impl; /* The count, mutex and condition (src/thread.c). */
};
/** @endcond */

/** A barrier: see the group's text. */
typedef struct ax_barrier_s {
  /** Private to axle. */
  struct ax__barrier_private priv;
} ax_barrier_t;

/**
 * Initialise a barrier that releases its threads @p count at a time.
 * @return 0; AX_EINVAL if @p barrier is NULL or @p count is 0; AX_ENOMEM.
 */
AX_EXTERN int ax_barrier_init(ax_barrier_t *barrier, unsigned int count);

/**
 * Wait until @p count threads (as given to ax_barrier_init()) wait on the
 * barrier, then return in all of them.
 * @return true in exactly one thread of each round, the serial thread (the
 *         last to arrive), which may then do the round's single-threaded
 *         part; false in the others.
 */
AX_EXTERN bool ax_barrier_wait(ax_barrier_t *barrier);

/**
 * Release a barrier. Every thread of the last round must have called
 * ax_barrier_wait(); those still on their way out of it are waited for,
 * so the serial thread may destroy the barrier as soon as its wait returns.
 * No thread may wait on it for a new round.
 */
AX_EXTERN void ax_barrier_destroy(ax_barrier_t *barrier);

/** @} */

/**
 * @defgroup dl Shared libraries
 * Load a shared library at run time and look up its symbols: dlopen(3)
 * on POSIX, LoadLibraryExW() on Windows, with UTF-8 file names on both.
 * The text of the last error is kept in the library's own handle, not in
 * a static buffer, so that threads loading different libraries do not
 * overwrite each other's. libuv: uv_dlopen(), uv_dlsym(), uv_dlclose(),
 * uv_dlerror(). See docs/os.md.
 * @{
 */

/** @cond AX_PRIVATE */
/* The private region of ax_lib_t. */
struct ax__lib_private {
  void *handle; /* dlopen()'s handle or the HMODULE; NULL when not open. */
  char *errmsg; /* The last error's text (axle's allocation), or NULL. */
};
/** @endcond */

/** A shared library opened by ax_dlopen(). */
typedef struct ax_lib_s {
  /** Private to axle. */
  struct ax__lib_private priv;
} ax_lib_t;

/**
 * Load the shared library @p filename into the process (POSIX:
 * RTLD_LAZY; a name without a slash is searched for as dlopen(3) does).
 * Whether it succeeds or not, release @p lib with ax_dlclose(), which also
 * frees the error text.
 * @param filename The library's path or name, in UTF-8.
 * @param lib      Receives the library; in the caller's memory.
 * @return 0; AX_EINVAL if @p lib is NULL (nothing to release), or if
 *         @p filename is NULL or (Windows) not UTF-8 (release @p lib as
 *         after any failure); AX_ENOENT if the library (or on Windows one
 *         it needs) was not found, and for a name without a slash that
 *         POSIX could not load, found or not; AX_ENOEXEC if a path names a
 *         file that could not be loaded; on Windows another of the system's
 *         errors. ax_dlerror() says why.
 */
AX_EXTERN int ax_dlopen(const char *filename, ax_lib_t *lib);

/**
 * Look up the symbol @p name in @p lib and store its address in *@p ptr.
 * @return 0; AX_EINVAL if an argument is NULL or @p lib is not open;
 *         AX_ENOENT if the library has no such symbol (*@p ptr is then
 *         NULL, and ax_dlerror() says why).
 */
AX_EXTERN int ax_dlsym(ax_lib_t *lib, const char *name, void **ptr);

/**
 * Unload the library (if it was loaded) and free its error text. Safe on
 * a library whose ax_dlopen() failed, and twice on the same one; NULL is
 * allowed.
 */
AX_EXTERN void ax_dlclose(ax_lib_t *lib);

/**
 * @return The text of the last error of ax_dlopen() or ax_dlsym() on
 *         @p lib, valid until the next call on it; "no error" if there was
 *         none; "invalid argument" for NULL. It is the system's wording
 *         (dlerror(3), or FormatMessageW() on Windows).
 */
AX_EXTERN const char *ax_dlerror(const ax_lib_t *lib);

/** @} */

/**
 * @defgroup osclock Wall clock and interface names
 * The wall-clock time, and the names of network interfaces by their
 * index (the scope id of an IPv6 link-local address). The name functions
 * follow the caller's-buffer convention of the "os" group: on success
 * *size is the length without the NUL; AX_ENOBUFS sets it to the bytes
 * needed, NUL included. See docs/os.md.
 * @{
 */

/** A wall-clock time: seconds and microseconds since 1970-01-01 UTC. */
typedef struct ax_timeval64_s {
  int64_t sec;  /**< Whole seconds. */
  int32_t usec; /**< Microseconds, 0..999999. */
} ax_timeval64_t;

/**
 * Read the wall clock (which the administrator or NTP may set back or
 * forward: measure intervals with ax_hrtime()). POSIX: gettimeofday();
 * Windows: GetSystemTimePreciseAsFileTime(). libuv: uv_gettimeofday().
 * @return 0; AX_EINVAL if @p tv is NULL; the system's error.
 */
AX_EXTERN int ax_gettimeofday(ax_timeval64_t *tv);

/**
 * Copy the name of the network interface numbered @p ifindex into
 * @p buf: "lo", "eth0" on POSIX (if_indextoname()); on Windows the
 * interface's name from ConvertInterfaceLuidToNameW() ("loopback_0",
 * "ethernet_32768"). libuv: uv_if_indextoname().
 * @return 0; AX_EINVAL if @p buf or @p size is NULL or *size is 0;
 *         AX_ENODEV if no interface has that index; AX_ENOBUFS with *size
 *         set to the bytes needed; the system's error.
 */
AX_EXTERN int ax_if_indextoname(unsigned int ifindex, char *buf, size_t *size);

/**
 * Copy the text that names interface @p ifindex as the scope of an IPv6
 * address ("fe80::1%<id>"): on POSIX its name, as ax_if_indextoname();
 * on Windows the index itself in decimal, whether or not an interface
 * has it, as Windows takes it and libuv gives it.
 * libuv: uv_if_indextoiid().
 * @return As ax_if_indextoname() (on Windows never AX_ENODEV).
 */
AX_EXTERN int ax_if_indextoiid(unsigned int ifindex, char *buf, size_t *size);

/** @} */

/**
 * @defgroup socketpair Socket pairs
 * @{
 */

/**
 * Make a pair of connected sockets, both close-on-exec (not inherited by
 * children): a Unix domain socket pair on POSIX (socketpair(AF_UNIX)); on
 * Windows, which has none, a TCP connection over the loopback, made
 * through a listener of its own that is closed before the call returns
 * (and checked to have accepted its own client, not another process's).
 * Either end may go to ax_pipe_open() (POSIX) or ax_tcp_open() (Windows),
 * or to a child. libuv: uv_socketpair().
 * @param type     SOCK_STREAM, or on POSIX also SOCK_DGRAM or
 *                 SOCK_SEQPACKET (the system's constants).
 * @param protocol 0, or a protocol of that type.
 * @param socks    Receives the two ends.
 * @param flags0   AX_PIPE_NONBLOCK or 0, for socks[0].
 * @param flags1   AX_PIPE_NONBLOCK or 0, for socks[1].
 * @return 0; AX_EINVAL if @p socks is NULL or a flag is unknown;
 *         AX_ENOTSUP for a type other than SOCK_STREAM on Windows; the
 *         system's error (AX_EMFILE, AX_EPROTONOSUPPORT...). Nothing is left
 *         open on failure.
 */
AX_EXTERN int ax_socketpair(int type, int protocol, ax_os_sock_t socks[2],
                            int flags0, int flags1);

/** @} */

/**
 * @defgroup debughandles Listing handles, stdio inheritance, descriptors
 * A debug listing of a loop's handles, the standard descriptors kept from
 * children, and the C runtime's descriptors as system handles and back.
 * See docs/os.md.
 * @{
 */

/**
 * Write one line per handle of @p loop, open or closing, to @p stream
 * (NULL: stderr), in the order the loop keeps them (open ones first, in
 * the order they were made, then those closing):
 *
 *     [RA-] timer    0x55d0c3a4b2c0
 *
 * The three columns in brackets are `R` if the handle is referenced
 * (ax_ref(): it keeps the loop alive while active), `A` if it is active,
 * `C` if it is closing, each `-` otherwise; then the type's name
 * (ax_handle_type_name()), padded to 8 characters, and the handle's
 * address in hexadecimal. The format is for people, and may change:
 * programs should use ax_walk(). Call it on the loop's thread.
 * libuv: uv_print_all_handles() (whose columns are R, A and I).
 * @return 0; AX_EINVAL if @p loop is NULL or not initialised; AX_EIO if
 *         writing to @p stream failed.
 */
AX_EXTERN int ax_print_all_handles(ax_loop_t *loop, FILE *stream);

/**
 * As ax_print_all_handles(), for the active handles only.
 * libuv: uv_print_active_handles().
 * @return As ax_print_all_handles().
 */
AX_EXTERN int ax_print_active_handles(ax_loop_t *loop, FILE *stream);

/**
 * Keep the descriptors this process inherited from being inherited in
 * turn by the children it starts: on POSIX, descriptors 0 to 15 become
 * close-on-exec (those not open are passed over); on Windows the standard
 * input, output and error handles become not inheritable. Call it early,
 * before starting children, in a program whose parent may wait for its
 * standard descriptors to close (a daemon started by a shell). A child
 * given a descriptor explicitly (ax_spawn()'s stdio) still gets it.
 * libuv: uv_disable_stdio_inheritance().
 */
AX_EXTERN void ax_disable_stdio_inheritance(void);

/**
 * The system's handle behind a C runtime descriptor: on Windows
 * _get_osfhandle(), INVALID_HANDLE_VALUE for a descriptor that is not
 * open; on POSIX the descriptor itself (-1 for a negative one).
 * libuv: uv_get_osfhandle().
 */
AX_EXTERN ax_os_fd_t ax_get_osfhandle(int fd);

/**
 * A C runtime descriptor for a system handle: on Windows a new descriptor
 * that wraps @p os_fd (_open_osfhandle(); closing the descriptor closes
 * the handle); on POSIX the descriptor itself. libuv: uv_open_osfhandle().
 * @return The descriptor (0 or more); AX_EBADF for an invalid handle
 *         (NULL, INVALID_HANDLE_VALUE, a negative descriptor); AX_EMFILE
 *         when the C runtime has no descriptor left.
 */
AX_EXTERN int ax_open_osfhandle(ax_os_fd_t os_fd);

/** @} */

/**
 * Get the struct that embeds a member, from a pointer to that member:
 * `my_conn_t *c = ax_container_of(timer, my_conn_t, timer);`
 */
#define ax_container_of(ptr, type, member)                                     \
  ((type *)(((char *)(ptr)) - offsetof(type, member)))

#ifdef __cplusplus
}
#endif

#endif /* AXLE_H */
