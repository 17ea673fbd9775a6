/*
 * internal.h: what the portable core shares between its files and with the
 * platform code. Nothing here is public; every non-static symbol is ax__.
 */
#ifndef AX_INTERNAL_H
#define AX_INTERNAL_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "axle.h"
#include "heap.h"
#include "queue.h"

/* Handle flags (ax_handle_t.priv_flags). */
enum {
  AX__HANDLE_ACTIVE = 1u << 0,  /* Started; counts toward liveness if REF. */
  AX__HANDLE_REF = 1u << 1,     /* Keeps the loop alive while active. */
  AX__HANDLE_CLOSING = 1u << 2, /* ax_close() was called. */
  AX__HANDLE_CLOSED = 1u << 3,  /* The close callback has run. */
  /* Closed, and waiting for the backend before its close phase (a socket
   * whose operations the kernel still owns: ax__handle_close_wait). */
  AX__HANDLE_CLOSE_WAIT = 1u << 4,
  /* Not yet met by the ax_walk() in progress (src/loop.c). */
  AX__HANDLE_WALK_DUE = 1u << 5,
};

/* Loop lifecycle (ax_loop_t.priv.state). A zeroed loop is UNINIT. */
enum {
  AX__LOOP_UNINIT = 0,
  AX__LOOP_READY = 0x61786c65, /* "axle": not likely in stray memory. */
  AX__LOOP_CLOSED = 0x636c7364,
};

/* Limits that bound each phase. */
enum {
  /* Completions the backend may hand over in one wait. */
  AX__MAX_EVENTS_PER_WAIT = 1024,
};

/* Whether the checks of API misuse that cost more than a branch are
 * compiled in: with assertions, as the assertions themselves are. */
#ifdef NDEBUG
enum { AX__CHECKED = 0 };
#else
enum { AX__CHECKED = 1 };
#endif /* NDEBUG */

/* A completion deferred to the pending phase of the next iteration (loop.c;
 * declared in axle.h, as requests embed it). Embedded in whatever defers
 * it; node is an empty list while not queued. */
typedef struct ax__pending_s ax__pending_t;
void ax__pending_push(ax_loop_t *loop, ax__pending_t *pending);

/* loop.c: report that handle, on the loop thread, could not go on for
 * want of a system resource (err: AX_EMFILE, AX_ENFILE, AX_ENOMEM,
 * AX_ENOBUFS, or another error it pauses for). Call it on every such
 * failure, where the handle is in a consistent state (paused): the loop
 * decides what is one episode. At the start of an episode it counts in
 * the resource_shortages metric and runs the application's
 * ax_resource_cb, which may close handle: check ax__handle_is_closing()
 * after it. An episode lasts while failures come less than
 * AX__RESOURCE_QUIET_MS apart (longer than the listeners' longest
 * back-off, 1024 ms). */
enum { AX__RESOURCE_QUIET_MS = 5000 };
void ax__loop_report_resource(ax_handle_t *handle, int err);

/* metrics.c: the loop's delay, once ax_loop_delay_start() has been
 * called (loop->priv.delay). The poll phase notes the time it enters its
 * wait (ax__loop_delay_note: the span since resumed_ns is recorded) and
 * the time it leaves it (resumed_ns). ax_run() pauses the span when it
 * returns and resumes it when called again, so that the time between two
 * runs, the caller's, is not counted, while the work a run did after its
 * last wait (AX_RUN_ONCE's dispatch) is. */
struct ax__loop_delay {
  ax_histogram_t hist; /* The spans recorded. */
  uint64_t resumed_ns; /* When the current span began. */
  uint64_t carried_ns; /* The span so far when ax_run() last returned. */
  int on;              /* Recording; off after ax_loop_delay_stop(). */
};
void ax__loop_delay_note(ax_loop_t *loop, uint64_t now_ns);
void ax__loop_delay_pause(ax_loop_t *loop);
void ax__loop_delay_resume(ax_loop_t *loop);
/* ax_loop_close(): free the delay's memory. */
void ax__loop_delay_free(ax_loop_t *loop);

/* allocator.c */
void *ax__malloc(size_t size_bytes);
void *ax__calloc(size_t count, size_t size_bytes);
void *ax__realloc(void *ptr, size_t size_bytes);
void ax__free(void *ptr);
/* What decides that an allocation of axle's fails (returns true), or NULL:
 * the simulation backend's injected ENOMEM (src/unix/sim-sys.c). Called
 * from any thread that allocates; read and set atomically. */
extern bool (*ax__alloc_refuse)(void);

/* handle.c: every handle type's init begins here, before it touches
 * anything else of the handle, and returns its error if it fails:
 * AX_EINVAL if loop is NULL or not initialised (the handle, which must not
 * be NULL, is then marked as not initialised: ax_close() refuses it and
 * start functions see it closed); AX_EBUSY, leaving the handle alone, if
 * it is open on loop already (detected in AX__CHECKED builds only). An
 * init that fails after this call takes the handle back out with
 * ax__handle_init_undo(). */
int ax__handle_init(ax_loop_t *loop, ax_handle_t *handle, ax_handle_type type);
void ax__handle_init_undo(ax_handle_t *handle);
void ax__handle_start(ax_handle_t *handle);
void ax__handle_stop(ax_handle_t *handle);
void ax__run_closing_handles(ax_loop_t *loop);
/* src/unix/tcp.c, src/win/tcp.c: reads (*value 0) or sets SO_SNDBUF (send)
 * or SO_RCVBUF on fd, the socket of a handle of type; ax_send_buffer_size()
 * has checked the arguments. */
int ax__sock_buffer_size(ax_handle_type type, ax_os_fd_t fd, bool send,
                         int *value);
/* Called from a type's close, inside ax_close(): the handle's close phase
 * waits (on the list of handles still, for ax_walk() and ax_loop_close(),
 * and the loop kept alive as by a request) until ax__handle_close_resume()
 * puts it in the closing queue. */
void ax__handle_close_wait(ax_handle_t *handle);
void ax__handle_close_resume(ax_handle_t *handle);

static inline int ax__handle_is_closing(const ax_handle_t *handle) {
  return (handle->priv_flags & (AX__HANDLE_CLOSING | AX__HANDLE_CLOSED)) != 0;
}

static inline int ax__handle_is_active(const ax_handle_t *handle) {
  return (handle->priv_flags & AX__HANDLE_ACTIVE) != 0;
}

/* timer.c */
void ax__run_timers(ax_loop_t *loop);
bool ax__timers_due(const ax_loop_t *loop);
int ax__next_timeout_ms(const ax_loop_t *loop);
void ax__timer_close(ax_handle_t *handle);

/* phase.c: idle, prepare and check handles. */
void ax__run_idle(ax_loop_t *loop);
void ax__run_prepare(ax_loop_t *loop);
void ax__run_check(ax_loop_t *loop);
void ax__phase_close(ax_handle_t *handle);

/* threadpool.c: the lanes jobs wait in, and the pooled-job interface that
 * user work, fs and DNS requests share. */
enum { AX__LANE_FS = 0, AX__LANE_DNS = 1, AX__LANE_USER = 2, AX__LANES = 3 };
int ax__work_submit(ax_loop_t *loop, struct ax__work *w, int lane);
int ax__work_cancel(struct ax__work *w);
int ax__work_req_cancel(ax_req_t *req);
void ax__work_flush(ax_loop_t *loop);
void ax__work_dispatch(ax_loop_t *loop);
unsigned int ax__work_pending(const ax_loop_t *loop);
/* Whether jobs wait on the loop's own list, not yet handed to the pool:
 * queued outside ax_run(), they reach it only in the next iteration. */
bool ax__work_unflushed(const ax_loop_t *loop);
void ax__work_loop_close(ax_loop_t *loop);
/* In a child of fork(2) (ax_loop_fork()): start the pool afresh, once per
 * process, and complete the loop's jobs the parent's pool held with
 * AX_ECANCELED. 0, or AX_ENOMEM. */
int ax__work_loop_fork(ax_loop_t *loop);
void ax__threadpool_shutdown(void);
/* ax_library_shutdown(): shut down, then free the pool's locks; once. */
void ax__threadpool_release(void);

/* Called twice per iteration and on every wakeup: a loop that never used
 * the pool pays one load and a branch, not a call. */
static inline void ax__work_flush_if_used(ax_loop_t *loop) {
  if (loop->priv.work != NULL)
    ax__work_flush(loop);
}

static inline void ax__work_dispatch_if_used(ax_loop_t *loop) {
  if (loop->priv.work != NULL)
    ax__work_dispatch(loop);
}

/* dns.c: ax_cancel() of a DNS request. */
int ax__dns_cancel(ax_req_t *req);

/* Platform: the resolver (src/unix/dns.c, src/win/dns.c). The portable
 * requests (dns.c) know the system's structs only as pointers; these read
 * and fill them. Each lookup returns 0 or an axle error (AX_EAI_* for the
 * resolver's own), and may run on any thread. */
void ax__dns_hints_read(struct ax__dns_hints *out,
                        const struct addrinfo *hints);
/* Copy an IPv4 or IPv6 address; AX_EAI_FAMILY for any other family. */
int ax__dns_sockaddr_copy(union ax__sockaddr_buf *out,
                          const struct sockaddr *addr);
/* hints may be NULL; *res is the answer, or NULL on failure. */
int ax__dns_getaddrinfo(const char *node, const char *service,
                        const struct ax__dns_hints *hints,
                        struct addrinfo **res);
/* host and service are NUL-terminated on success, left empty on failure. */
int ax__dns_getnameinfo(const union ax__sockaddr_buf *addr, int flags,
                        char *host, size_t host_len, char *service,
                        size_t service_len);

/* os.c: the utilities' shared pieces. buf_check: AX_EINVAL for a NULL
 * buffer or size or a size of 0. buf_copy: the caller's-buffer convention
 * (axle.h's os group): len bytes of str and a NUL, or AX_ENOBUFS and the
 * size needed. env_item: one allocation holding name (name_len bytes) and
 * value, the name first (what ax_os_free_environ() frees). */
int ax__os_buf_check(const char *buf, const size_t *size);
int ax__os_buf_copy(const char *str, size_t len, char *buf, size_t *size);
int ax__os_env_item(ax_env_item_t *item, const char *name, size_t name_len,
                    const char *value);
bool ax__os_env_name_ok(const char *name);
char *ax__os_strdup(const char *str);
/* os.c: fill pwd's strings, in one allocation that ax_os_free_passwd()
 * frees; shell may be NULL. uid and gid are the caller's to set. */
int ax__os_passwd_fill(ax_passwd_t *pwd, const char *username,
                       const char *shell, const char *homedir);

/* random.c: ax_cancel() of a random request. */
int ax__random_cancel(ax_req_t *req);

/* Platform: fill buf with len_bytes from the system's strong random
 * source, on any thread (src/unix/os.c, src/win/os.c). 0 or an error. */
int ax__random_fill(void *buf, size_t len_bytes);

/* fs.c: ax_cancel() of a file system request. */
int ax__fs_cancel(ax_req_t *req);

/*
 * Platform: the file system operations (src/unix/fs.c, src/win/fs.c). run
 * performs the request described by req->fs_type and the private fields
 * that fs.c filled from the arguments (arguments are checked already;
 * paths are req->path and req->priv.new_path), on the calling thread: a
 * pool worker, or the caller's in synchronous mode. It sets req->result,
 * and by type:
 *   stat, lstat, fstat: req->statbuf, and req->ptr = &req->statbuf;
 *   statfs:             req->ptr, an ax__malloc'd ax_statfs_t;
 *   readlink, realpath: req->ptr, an ax__malloc'd NUL-terminated string;
 *   mkdtemp, mkstemp:   the template in req->priv.paths (a writable copy
 *                       fs.c made; req->path points at it) rewritten;
 *   scandir:            req->ptr, an ax__malloc'd array of req->result
 *                       ax_dirent_t whose names are each ax__malloc'd;
 *   opendir:            req->ptr, an ax__malloc'd ax_dir_t whose
 *                       priv.impl holds the system's stream;
 *   readdir:            req->priv.dir->dirents[0..result), names
 *                       ax__malloc'd; closedir: the stream closed and the
 *                       ax_dir_t freed (req->priv.dir set to NULL).
 * ax_fs_req_cleanup() (fs.c) frees all of these with ax__free().
 */
void ax__fs_run(ax_fs_t *req);

/* Streams (src/stream.c, the same on every system), descriptor
 * polling (poll-watch.c) and signals (signal.c). close stops the handle
 * in ax_close(); stream_closed runs in the close phase, before the close
 * callback, and completes the stream's pending requests with
 * AX_ECANCELED. */
void ax__stream_close(ax_handle_t *handle);
void ax__stream_closed(ax_handle_t *handle);
void ax__poll_close(ax_handle_t *handle);
/* File change and stat-polling handles (fs-event.c, fs-poll.c). */
void ax__fs_event_close(ax_handle_t *handle);
void ax__fs_poll_close(ax_handle_t *handle);
/* Terminals (src/unix/tty.c, src/win/tty.c): the stream's close, and the
 * terminal's settings put back. */
void ax__tty_close(ax_handle_t *handle);
void ax__signal_close(ax_handle_t *handle);
/* udp.c: close stops the handle; closed completes its sends. */
void ax__udp_close(ax_handle_t *handle);
void ax__udp_closed(ax_handle_t *handle);
/* pipe.c: a pipe's close (the stream's, and the handles it holds). */
void ax__pipe_close(ax_handle_t *handle);
/* process.c: a child's handle stops watching for its exit. */
void ax__process_close(ax_handle_t *handle);

/* async.c */
void ax__async_close(ax_handle_t *handle);
void ax__async_closed(ax_handle_t *handle);
/* ax_async_t.priv.pending. The dispatch clears it with a sequentially
 * consistent exchange, which a message queue's posts rely on (msgq.c). */
enum {
  AX__ASYNC_IDLE = 0,    /* Nothing sent since the last callback. */
  AX__ASYNC_PENDING = 1, /* Sent to; the callback is due. */
  AX__ASYNC_CLOSED = 2,  /* ax_close() was called, or init failed. */
};
/* An async handle of another type whose struct begins as ax_async_t's
 * (msgq.c): ax_async_init() with the type given. */
int ax__async_open(ax_loop_t *loop, ax_async_t *async, ax_handle_type type,
                   ax_async_cb async_cb);
/* Mark async pending and wake its loop if it was idle; false if it is
 * closed (nothing done). The caller counts itself in priv.busy around it,
 * as ax_async_send() does. */
bool ax__async_mark(ax_async_t *async);
/* Whether ax_close() was called on async, or its init failed. */
bool ax__async_is_closed(const ax_async_t *async);

/* msgq.c */
void ax__msgq_closed(ax_handle_t *handle);
void ax__async_dispatch(ax_loop_t *loop);

/* Platform: the wakeup channel behind async handles (src/unix/async.c,
 * src/win/async.c). ax_loop_init_ex() calls init once, on zeroed memory,
 * before a backend starts: it puts the channel in its closed state. */
void ax__wakeup_init(ax_loop_t *loop);
int ax__wakeup_open(ax_loop_t *loop);
void ax__wakeup_close(ax_loop_t *loop);
void ax__wakeup_signal(ax_loop_t *loop);

/* thread.c: how a new thread begins, shared by the platforms' trampolines.
 * The record lives on the creator's stack, and the creator waits until the
 * thread has copied it: ax_thread_create() leaves no allocation behind, so
 * the memory axle holds never depends on whether a new thread has been
 * scheduled yet. */
struct ax__thread_start {
  ax_thread_cb entry; /* The user's entry point. */
  void *arg;          /* Its argument. */
  ax_sem_t started;   /* Posted once entry and arg are copied. */
};
int ax__thread_start_init(struct ax__thread_start *start, ax_thread_cb entry,
                          void *arg);
void ax__thread_start_run(struct ax__thread_start *start);
void ax__thread_start_finish(struct ax__thread_start *start, int created);

/* Platform: start one of axle's own threads (a pool worker). On POSIX it
 * starts with every asynchronous signal blocked, so that the user's
 * handlers run on the user's threads and a write that meets a closed pipe
 * or a reset socket on it raises no SIGPIPE that could end the process.
 * (src/unix/thread.c, src/win/thread.c) */
int ax__thread_create_worker(ax_thread_t *thread, ax_thread_cb entry,
                             void *arg);

/* Platform: give up the processor (src/unix/thread.c, src/win/thread.c). */
void ax__thread_yield(void);

/* Platform: have fork(2) call prepare before it, then parent or child
 * after it (pthread_atfork(3)). 0, or AX_ENOMEM; Windows, which has no
 * fork, registers nothing and returns 0. */
int ax__thread_atfork(void (*prepare)(void), void (*parent)(void),
                      void (*child)(void));

/* thread.c: as ax_once(), for an init_cb that may fail (it makes a lock,
 * which allocates on POSIX): 0 once it has succeeded, else its error,
 * with nothing kept, so that a later call tries again. A process-wide
 * table must not stay broken for good because one allocation failed. */
int ax__once_try(ax_once_t *once, int (*init_cb)(void));

/* Platform: the monotonic clock (src/unix/core.c, src/win/core.c). */
uint64_t ax__hrtime_ns(void);

/* What ax_hrtime() reads instead of ax__hrtime_ns(), or NULL: set by the
 * simulation backend (src/unix/sim-sys.c) so that a program's own
 * measurements agree with its timers' virtual time. Read atomically. The
 * loop's own clock is the backend's (ax__update_time, in backend.h). */
extern uint64_t (*ax__hrtime_override)(void);

#endif /* AX_INTERNAL_H */
