/*
 * unix/sock.h: the POSIX socket details beneath the stream engine.
 *
 * sock.c implements the per-system half of src/stream.h (reads, try-writes,
 * shutdown, listening and the reserve descriptor); readiness.c the socket
 * operations of the readiness backends; tcp.c the TCP calls. The few calls
 * whose shape differs between kernels (making and accepting sockets that are
 * non-blocking and close-on-exec, keeping SIGPIPE away, keep-alive timing)
 * live in the files meson picks per system: sock-linux.c or sock-bsd.c, and
 * tcp-keepidle.c or tcp-keepalive.c.
 */
#ifndef AX_UNIX_SOCK_H
#define AX_UNIX_SOCK_H

#include <sys/socket.h>

#include "../stream.h"
#include "internal.h"

/* sock-linux.c, sock-bsd.c: sockets that are non-blocking, close-on-exec
 * and never raise SIGPIPE. Each returns a descriptor or an error. */
int ax__sock_create(int domain);
int ax__sock_accept(int listen_fd);
int ax__sock_adopt(int fd);

/* sock-linux.c, sock-bsd.c, for pipes (pipe.c): the flags of every
 * recvmsg() that may bring descriptors (MSG_CMSG_CLOEXEC where the system
 * has it; pipe.c sets close-on-exec itself where it says 0); whether
 * local sockets have abstract names (Linux); and an anonymous pipe whose
 * ends are close-on-exec (pipe2 where the system has it). */
extern const int ax__sock_recv_flags;
extern const bool ax__sock_abstract_names;
int ax__sock_pipe(int fds[2]);
/* Keep SIGPIPE away from a socket adopted as it is (ax_pipe_open()):
 * SO_NOSIGPIPE where sends pass no flag for it; nothing on Linux. */
int ax__sock_nosigpipe(int fd);

/* pipe.c: the operations of a pipe that has AX__STREAM_OWN_OPS. */
const struct ax__sock_ops *ax__pipe_own_ops(const ax_pipe_t *pipe);

/* tcp-keepidle.c, tcp-keepalive.c: the idle time before the first probe. */
int ax__sock_keepalive_delay(int fd, unsigned int delay_s);

/* setsockopt() of an int, through the syscall table: 0 or an error. */
int ax__sock_set_int(int fd, int level, int name, int value);

/* Out of descriptors: use the loop's reserve descriptor to accept one
 * pending connection of listen_fd and close it, so that the client is told
 * no and the listener is no longer ready for a connection it cannot take.
 * sock.c. */
void ax__sock_shed(ax_loop_t *loop, int listen_fd);
/* Open the reserve again if it is closed while the loop has listeners. */
void ax__sock_reserve_open(ax_loop_t *loop);

#endif /* AX_UNIX_SOCK_H */
