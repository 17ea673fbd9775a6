/*
 * unix/internal.h: what the POSIX files share.
 *
 * The system calls the loop makes go through a table (ax__sys) so that tests
 * can replace an entry and inject EINTR, EAGAIN, EMFILE, ENOMEM or ENOSYS
 * where the kernel would rarely produce them on demand. The table costs one
 * indirect call next to a system call. Linux-only calls are in their own
 * table (linux.h) so that this header builds everywhere.
 */
#ifndef AX_UNIX_INTERNAL_H
#define AX_UNIX_INTERNAL_H

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "../backend.h"

/*
 * Whether this is a ThreadSanitizer build (gcc says __SANITIZE_THREAD__,
 * clang __has_feature): a constant the code tests, so that what TSan
 * needs done differently (io_uring.c's sliced wait, process.c's fork in
 * place of a child sharing the parent's memory) is written in C, not in
 * #if blocks.
 */
#if defined(__SANITIZE_THREAD__)
#define AX__TSAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define AX__TSAN_BUILD 1
#endif
#endif
#ifdef AX__TSAN_BUILD
enum { AX__UNDER_TSAN = 1 };
#else
enum { AX__UNDER_TSAN = 0 };
#endif

struct ax__syscalls {
  int (*poll)(struct pollfd *fds, nfds_t nfds, int timeout_ms); /* poll(2) */
  ssize_t (*read)(int fd, void *buf, size_t len);               /* read(2) */
  ssize_t (*write)(int fd, const void *buf, size_t len);        /* write(2) */
  int (*close)(int fd);                                         /* close(2) */
  int (*pipe)(int fds[2]);                                      /* pipe(2) */
  int (*fcntl)(int fd, int cmd, ...);                           /* fcntl(2) */
  int (*open)(const char *path, int flags, ...);                /* open(2) */
  /* The socket calls of streams and TCP (sock.c, readiness.c, tcp.c). The
   * ones that take an address are wrappers: glibc declares them with a
   * transparent union that a plain function pointer cannot hold. */
  int (*socket)(int domain, int type, int protocol); /* socket(2) */
  int (*bind)(int fd, const struct sockaddr *addr, socklen_t len); /* bind */
  int (*listen)(int fd, int backlog); /* listen(2) */
  /* accept4(2) where the system has it (Linux); elsewhere accept(2),
   * which takes no flags: sock-bsd.c passes 0 and sets them after. One
   * entry for both, so that a test injects accept failures anywhere. */
  int (*accept4)(int fd, struct sockaddr *addr, socklen_t *len, int flags);
  int (*connect)(int fd, const struct sockaddr *addr, socklen_t len);
  ssize_t (*sendmsg)(int fd, const struct msghdr *msg, int flags);
  int (*shutdown)(int fd, int how); /* shutdown(2) */
  int (*getsockopt)(int fd, int level, int name, void *value,
                    socklen_t *len); /* getsockopt(2) */
  int (*setsockopt)(int fd, int level, int name, const void *value,
                    socklen_t len); /* setsockopt(2) */
  int (*getsockname)(int fd, struct sockaddr *addr, socklen_t *len);
  int (*getpeername)(int fd, struct sockaddr *addr, socklen_t *len);
};

/* The default accept4 entry (sock-linux.c, sock-bsd.c). */
int ax__sys_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

/* The table in use; tests may overwrite entries and must restore them. */
extern struct ax__syscalls ax__sys;
/* The real system calls, for restoring ax__sys. */
extern const struct ax__syscalls ax__sys_default;

/*
 * The readiness backends' shared half (readiness.c): the socket operations,
 * and the delivery of a readiness event, which every readiness backend's
 * dispatch calls for each io. An io with no socket operation waiting is a
 * plain descriptor poll (ax_poll_t, the wakeup channel) and gets its
 * events as an AX__OP_POLL completion; a socket's io gets the completions
 * of the operations the event satisfies.
 */
extern const struct ax__sock_ops ax__readiness_sock_ops;
void ax__io_ready_ops(ax_loop_t *loop, ax__io_t *io, unsigned int events);
/* The end of the emulated SEND, for a send made by the caller's own
 * system call (an IPC pipe's sendmsg() with control data, unix/pipe.c):
 * it took n of len bytes, or failed (AX_EAGAIN: took nothing). Returns
 * what the operation's send returns, watching writability if bytes are
 * left. */
intptr_t ax__readiness_send_done(ax_loop_t *loop, ax__sock_t *sock, intptr_t n,
                                 size_t len);

/* io->ops bit of a socket that waits to receive (readiness.c). */
enum { AX__READINESS_RECV = 1u << 0 };

/* Inline, as every event of every backend passes here: a plain poll, and a
 * connection that only reads (the common case of a server), are handed
 * their completion at once; the rest goes to readiness.c. */
static inline void ax__io_ready(ax_loop_t *loop, ax__io_t *io,
                                unsigned int events) {
  if (io->ops == 0)
    io->cb(loop, io, AX__OP_POLL, (intptr_t)events);
  else if (io->ops == AX__READINESS_RECV && events == (events & AX__IO_READ))
    io->cb(loop, io, AX__OP_RECV, 0);
  else
    ax__io_ready_ops(loop, io, events);
}

/* poll.c: poll(2)'s revents in AX__IO_* bits, within interest (and an
 * error always); the poll and sim backends share it. */
unsigned int ax__poll_translate(short revents, unsigned int interest);

/* Close fd, keeping errno (close is called on error paths). */
void ax__close_fd(int fd);

/* Set FD_CLOEXEC, or O_NONBLOCK, on fd: for descriptors made by calls that
 * take no such flag on every system (pipe, kqueue). 0 or an error. */
int ax__fd_set_cloexec(int fd);
int ax__fd_set_nonblock(int fd);
/* FD_CLOEXEC on both of a pair just made (pipe, socketpair); on failure
 * both are closed. 0 or an error. */
int ax__fd_pair_set_cloexec(int fds[2]);

/*
 * Call wait_once(ctx, timeout) until it does not fail with EINTR, giving each
 * retry only what is left of timeout_ms (-1: no limit), so that a signal
 * neither shortens nor stretches the wait. Returns what the last call
 * returned, or the translated error of a failure other than EINTR.
 */
int ax__wait_retry(int (*wait_once)(void *ctx, int timeout_ms), void *ctx,
                   int timeout_ms);

/*
 * The platform's wakeup channel (async-eventfd.c on Linux, async-pipe.c
 * elsewhere): make a non-blocking, close-on-exec pair, fds[0] to poll and
 * drain, fds[1] to signal; both are the same descriptor for an eventfd.
 * Return 0, or an error with nothing left open. unix/async.c does the rest.
 */
int ax__wakeup_channel_open(int fds[2]);

/* In a child of fork(2) (ax_loop_fork()): replace the loop's wakeup
 * channel (unix/async.c) and its signal channel (unix/signal.c), if it has
 * them, with new ones, and wake the loop once. 0 or an error. */
int ax__wakeup_fork(ax_loop_t *loop);
int ax__signal_loop_fork(ax_loop_t *loop);

/* The axle code of EAI_NODATA or EAI_ADDRFAMILY, the two resolver errors
 * RFC 3493 dropped, on systems that still define them; 0 for any other
 * code, and everywhere else (dns-eai-rfc2553.c, dns-eai-rfc3493.c). */
int ax__dns_eai_rfc2553(int eai);

/* unix/thread.c, for the two ways to make a condition variable
 * (thread-cond.c, thread-cond-darwin.c): allocate and initialise one with
 * attr (NULL: the defaults); map a timed wait's result, stopping on misuse;
 * and bound a timeout so that no deadline overflows (about 68 years). */
int ax__cond_create(ax_cond_t *cond, const pthread_condattr_t *attr);
int ax__cond_timedwait_result(int err);
uint64_t ax__cond_timeout_cap_ns(uint64_t timeout_ns);

/* Report a threads-library failure that only misuse can cause, and abort
 * (unix/thread.c). */
_Noreturn void ax__thread_misuse(int err, const char *what);

/* Each kernel's os-*.c: getrusage()'s ru_maxrss in bytes (Linux and the
 * BSDs count kilobytes, macOS bytes). */
uint64_t ax__os_max_rss_bytes(long ru_maxrss);

/* The link layer's entries of getifaddrs() (AF_PACKET on Linux, in
 * os-linux.c; AF_LINK elsewhere, in os-link-dl.c): whether ent is one,
 * and if so its address in phys_addr (zeros where it has none). */
struct ifaddrs;
bool ax__os_ifaddr_link(const struct ifaddrs *ent,
                        char phys_addr[AX_PHYS_ADDR_LEN]);

#endif /* AX_UNIX_INTERNAL_H */
