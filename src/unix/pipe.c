/*
 * unix/pipe.c: pipes on POSIX systems (the system's half of src/pipe.h).
 *
 * A pipe is a Unix domain stream socket, named by a path or, on Linux, by
 * an abstract name (a leading NUL byte, in no file system), or a
 * descriptor of pipe(2) or a FIFO. A socket rides the backend's socket
 * operations as TCP does. What is no socket takes the readiness
 * emulation (readiness.c) whatever the backend, as a terminal does
 * (tty.c): io_uring's operations want a socket. So does an IPC pipe,
 * whose receive needs recvmsg(2) with room for descriptors and whose send
 * needs sendmsg(2) with SCM_RIGHTS, neither of which io_uring's multishot
 * receive into a buffer ring can give: its own send and receive below
 * replace the emulation's two. Under io_uring the emulation's readiness
 * comes back as a poll completion, which pipe_sock_cb turns into the
 * operations' completions before the engine sees them.
 *
 * Handles travel as SCM_RIGHTS beside the first byte of the write that
 * carries them (src/stream.c starts such a write in a send of its own).
 * The sender's descriptor stays the sender's: nothing is duplicated, so
 * a send that fails leaks nothing. The receiver gets its copies
 * close-on-exec, queues every one in order (src/pipe.c), and learns each
 * one's type from its family and socket type when it arrives.
 *
 * A pipe bound to a path removes the socket file when it closes, as a
 * server that goes away should (libuv does the same).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../pipe.h"
#include "sock.h"

enum {
  /* Descriptors one receive takes: Linux sends at most SCM_MAX_FD (253)
   * in one message. More than this is an error on the stream. */
  PIPE_FDS_PER_RECV = 253,
  /* Receives per read of an IPC pipe while each one stops at a message
   * with descriptors (pipe_ipc_recv). */
  PIPE_RECVS_PER_READ = 64,
};

/* The system's state of a pipe: what it bound. */
struct ax__pipe_sys {
  char *path; /* The socket file to remove at close, or NULL. */
};

/* ---- Operations ---- */

/* Completions, and on io_uring the readiness of an emulated stream to
 * turn into them (see the top of this file). */
static void pipe_sock_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                         intptr_t result) {
  if (op == AX__OP_POLL) {
    if (io->ops != 0)
      ax__io_ready_ops(loop, io, (unsigned int)result);
    return;
  }
  ax__stream_sock_cb(loop, io, op, result);
}

static ax_pipe_t *pipe_of(ax__sock_t *sock) {
  return ax_container_of(sock, ax_pipe_t, stream.priv.sock);
}

/* The first control message, holding descriptor fd. */
union pipe_control_one {
  struct cmsghdr align;                /* For the alignment. */
  char bytes[CMSG_SPACE(sizeof(int))]; /* The message. */
};

/* Send with the handle the engine attached, if any, beside the first
 * byte (src/pipe.h, ax__pipe_send_attach()). */
static intptr_t pipe_ipc_send(ax_loop_t *loop, ax__sock_t *sock,
                              const ax_buf_t *bufs, unsigned int nbufs) {
  struct ax__pipe_ipc *ipc = pipe_of(sock)->priv.ipc;
  ax_stream_t *handle = ipc->send_handle;
  ipc->send_handle = NULL;
  if (handle == NULL)
    return ax__readiness_sock_ops.send(loop, sock, bufs, nbufs);
  int fd = ax__sock_os(&handle->priv.sock);
  if (fd < 0)
    return AX_EBADF; /* Closed before its write went. */
  union pipe_control_one control;
  memset(&control, 0, sizeof(control));
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = (struct iovec *)(uintptr_t)bufs;
  msg.msg_iovlen = nbufs;
  msg.msg_control = control.bytes;
  msg.msg_controllen = sizeof(control.bytes);
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &fd, sizeof(fd));
  size_t len = 0;
  for (unsigned int i = 0; i < nbufs; i++)
    len += bufs[i].len;
  ssize_t n;
  do
    n = ax__sys.sendmsg(sock->fd, &msg, ax__sock_send_flags);
  while (n < 0 && errno == EINTR);
  intptr_t result = n >= 0 ? n : ax_translate_sys_error(errno);
  return ax__readiness_send_done(loop, sock, result, len);
}

/* What a received descriptor is, for ax_pipe_pending_type(). */
static void pipe_ipc_classify(struct ax__pipe_received *r) {
  struct sockaddr_storage addr;
  socklen_t addr_len = sizeof(addr);
  int type = 0;
  socklen_t len = sizeof(type);
  struct stat st;
  r->type = AX_UNKNOWN_HANDLE;
  r->listening = false;
  if (fstat(r->sock, &st) == 0 && S_ISFIFO(st.st_mode)) {
    r->type = AX_PIPE;
    return;
  }
  if (ax__sys.getsockopt(r->sock, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
      type != SOCK_STREAM ||
      ax__sys.getsockname(r->sock, (struct sockaddr *)&addr, &addr_len) != 0)
    return;
  if (addr.ss_family == AF_UNIX) {
    r->type = AX_PIPE;
  } else if (addr.ss_family == AF_INET || addr.ss_family == AF_INET6) {
    int accepting = 0;
    len = sizeof(accepting);
    r->type = AX_TCP;
    r->listening = ax__sys.getsockopt(r->sock, SOL_SOCKET, SO_ACCEPTCONN,
                                      &accepting, &len) == 0 &&
                   accepting != 0;
  }
}

/* Queue one received descriptor: 0, or an error with it closed. */
static int pipe_ipc_take_one(ax_pipe_t *pipe, int fd) {
  struct ax__pipe_received r = {.sock = fd};
  int err = 0;
  if (ax__sock_recv_flags == 0)
    err = ax__fd_set_cloexec(fd);
  if (err == 0) {
    pipe_ipc_classify(&r);
    err = ax__pipe_ipc_push(pipe, &r);
  }
  if (err != 0)
    ax__close_fd(fd);
  return err;
}

/* Queue every descriptor of every control message, in order, even after
 * a failure (each is closed then, never lost open). 0, the first error,
 * or AX_EMSGSIZE when the kernel cut the control data short. */
static int pipe_ipc_take(ax_pipe_t *pipe, struct msghdr *msg) {
  int err = 0;
  for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(msg); cmsg != NULL;
       cmsg = CMSG_NXTHDR(msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
      continue;
    size_t bytes = cmsg->cmsg_len - CMSG_LEN(0);
    const unsigned char *data = CMSG_DATA(cmsg);
    for (size_t at = 0; at + sizeof(int) <= bytes; at += sizeof(int)) {
      int fd;
      memcpy(&fd, data + at, sizeof(fd));
      int one = pipe_ipc_take_one(pipe, fd);
      if (err == 0)
        err = one;
    }
  }
  if (err == 0 && (msg->msg_flags & MSG_CTRUNC) != 0)
    err = AX_EMSGSIZE;
  return err;
}

/* One recvmsg() into len bytes at base: bytes (*fds says whether
 * descriptors came with them, all queued), AX_EOF, or an error. */
static intptr_t pipe_ipc_recv_one(ax_pipe_t *pipe, int fd, char *base,
                                  size_t len, bool *fds) {
  union {
    struct cmsghdr align;
    char bytes[CMSG_SPACE(PIPE_FDS_PER_RECV * sizeof(int))];
  } control;
  struct iovec iov = {.iov_base = base, .iov_len = len};
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.bytes;
  msg.msg_controllen = sizeof(control.bytes);
  ssize_t n;
  do
    n = recvmsg(fd, &msg, ax__sock_recv_flags);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return ax_translate_sys_error(errno);
  *fds = msg.msg_controllen > 0;
  int err = pipe_ipc_take(pipe, &msg);
  if (err != 0)
    return err;
  return n == 0 ? AX_EOF : n;
}

/* The engine's read of an IPC pipe: the bytes, and the descriptors
 * beside them queued. Linux ends a receive at each message that carries
 * descriptors, so after one it receives again into the rest of the
 * buffer, up to PIPE_RECVS_PER_READ times: a burst of handles reaches
 * one read callback rather than one wakeup each. An end or an error met
 * after bytes is the next read's result. */
static intptr_t pipe_ipc_recv(ax_loop_t *loop, ax__sock_t *sock,
                              const ax_buf_t *buf) {
  (void)loop;
  ax_pipe_t *pipe = pipe_of(sock);
  struct ax__pipe_ipc *ipc = pipe->priv.ipc;
  if (ipc->deferred_error != 0) {
    int err = ipc->deferred_error;
    ipc->deferred_error = 0;
    return err;
  }
  size_t len = buf->len < (size_t)AX__SOCK_IO_MAX_BYTES
                   ? buf->len
                   : (size_t)AX__SOCK_IO_MAX_BYTES;
  size_t total = 0;
  for (int i = 0; i < PIPE_RECVS_PER_READ && total < len; i++) {
    bool fds = false;
    intptr_t n = pipe_ipc_recv_one(pipe, sock->fd, buf->base + total,
                                   len - total, &fds);
    if (n < 0) {
      if (total == 0)
        return n;
      if (n != AX_EAGAIN)
        ipc->deferred_error = (int)n;
      break;
    }
    total += (size_t)n;
    if (!fds)
      break; /* A short read without descriptors: nothing more now. */
  }
  return (intptr_t)total;
}

/* The readiness emulation's operations, through its table. */
static int pipe_recv_start(ax_loop_t *loop, ax__sock_t *sock) {
  return ax__readiness_sock_ops.recv_start(loop, sock);
}

static void pipe_recv_stop(ax_loop_t *loop, ax__sock_t *sock) {
  ax__readiness_sock_ops.recv_stop(loop, sock);
}

static intptr_t pipe_connect_op(ax_loop_t *loop, ax__sock_t *sock,
                                const struct sockaddr *addr, int len) {
  return ax__readiness_sock_ops.connect(loop, sock, addr, len);
}

static int pipe_accept_start(ax_loop_t *loop, ax__sock_t *sock) {
  return ax__readiness_sock_ops.accept_start(loop, sock);
}

static void pipe_accept_stop(ax_loop_t *loop, ax__sock_t *sock) {
  ax__readiness_sock_ops.accept_stop(loop, sock);
}

static intptr_t pipe_sock_close(ax_loop_t *loop, ax__sock_t *sock) {
  return ax__readiness_sock_ops.sock_close(loop, sock);
}

/* An IPC pipe's: the emulation's, with a send and a receive that carry
 * descriptors. */
static const struct ax__sock_ops pipe_ipc_ops = {
    .recv_start = pipe_recv_start,
    .recv_stop = pipe_recv_stop,
    .send = pipe_ipc_send,
    .connect = pipe_connect_op,
    .accept_start = pipe_accept_start,
    .accept_stop = pipe_accept_stop,
    .sock_close = pipe_sock_close,
    .recv_copy = pipe_ipc_recv,
};

const struct ax__sock_ops *ax__pipe_own_ops(const ax_pipe_t *pipe) {
  return pipe->priv.ipc != NULL ? &pipe_ipc_ops : &ax__readiness_sock_ops;
}

/* ---- Handles ---- */

int ax__pipe_sys_init(ax_pipe_t *pipe) {
  pipe->stream.priv.sock.cb = pipe_sock_cb;
  if (pipe->priv.ipc != NULL)
    pipe->stream.handle.priv_flags |= AX__STREAM_OWN_OPS;
  return 0;
}

void ax__pipe_sys_close(ax_pipe_t *pipe) {
  struct ax__pipe_sys *sys = pipe->priv.sys;
  if (sys == NULL)
    return;
  if (sys->path != NULL)
    (void)unlink(sys->path);
  ax__free(sys->path);
  ax__free(sys);
  pipe->priv.sys = NULL;
}

/* The stream state of a descriptor a pipe adopts: a connected socket,
 * or one to listen on; a pipe(2) or FIFO end open for what its access
 * mode allows (the other direction is over from the start). */
static unsigned int pipe_open_flags(int fd, int fl, bool socket) {
  if (socket) {
    struct sockaddr_storage addr;
    socklen_t len = sizeof(addr);
    if (ax__sys.getpeername(fd, (struct sockaddr *)&addr, &len) != 0)
      return 0;
    return AX__STREAM_CONNECTED;
  }
  switch (fl & O_ACCMODE) {
  case O_RDONLY:
    return AX__STREAM_CONNECTED | AX__STREAM_SHUTDOWN;
  case O_WRONLY:
    return AX__STREAM_CONNECTED | AX__STREAM_READ_EOF;
  default:
    return AX__STREAM_CONNECTED;
  }
}

int ax__pipe_sys_open(ax_pipe_t *pipe, ax_os_fd_t fd) {
  int fl = fd < 0 ? -1 : ax__sys.fcntl(fd, F_GETFL);
  struct stat st;
  if (fl < 0 || fstat(fd, &st) != 0)
    return AX_EBADF;
  bool socket = S_ISSOCK(st.st_mode);
  if (socket) {
    int type = 0;
    socklen_t len = sizeof(type);
    if (ax__sys.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
      return ax_translate_sys_error(errno);
    if (type != SOCK_STREAM)
      return AX_ENOTSUP;
  } else if (!S_ISFIFO(st.st_mode) || pipe->priv.ipc != NULL) {
    return AX_ENOTSUP; /* Descriptors travel over sockets only. */
  }
  int err = (fl & O_NONBLOCK) ? 0 : ax__fd_set_nonblock(fd);
  if (err == 0 && socket)
    err = ax__sock_nosigpipe(fd);
  if (err != 0)
    return err;
  unsigned int flags = pipe_open_flags(fd, fl, socket);
  if (!socket)
    flags |= AX__STREAM_OWN_OPS;
  return ax__stream_open(&pipe->stream, fd, flags);
}

/* A descriptor is a socket is a descriptor. */
int ax__pipe_sys_adopt(ax_pipe_t *pipe, ax_os_sock_t sock) {
  return ax__pipe_sys_open(pipe, sock);
}

/* ---- Names ---- */

/* name as a socket address: 0, or AX_EINVAL if the system cannot take
 * it. A path gets its NUL; an abstract name is its bytes. */
static int pipe_addr(const char *name, size_t namelen, struct sockaddr_un *addr,
                     socklen_t *len) {
  bool abstract = name[0] == '\0';
  if (abstract && !ax__sock_abstract_names)
    return AX_EINVAL;
  if (!abstract && memchr(name, '\0', namelen) != NULL)
    return AX_EINVAL;
  if (namelen + (abstract ? 0 : 1) > sizeof(addr->sun_path))
    return AX_EINVAL; /* Never cut short (AX_PIPE_NO_TRUNCATE). */
  memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  memcpy(addr->sun_path, name, namelen);
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + namelen +
                     (abstract ? 0 : 1));
  return 0;
}

/* Remember the path bound, for close. */
static int pipe_remember(ax_pipe_t *pipe, const struct sockaddr_un *addr) {
  if (addr->sun_path[0] == '\0')
    return 0;
  struct ax__pipe_sys *sys = ax__calloc(1, sizeof(*sys));
  size_t len = strlen(addr->sun_path);
  char *path = ax__malloc(len + 1);
  if (sys == NULL || path == NULL) {
    ax__free(sys);
    ax__free(path);
    return AX_ENOMEM;
  }
  memcpy(path, addr->sun_path, len + 1);
  sys->path = path;
  pipe->priv.sys = sys;
  return 0;
}

int ax__pipe_sys_bind(ax_pipe_t *pipe, const char *name, size_t namelen) {
  struct sockaddr_un addr;
  socklen_t len;
  int err = pipe_addr(name, namelen, &addr, &len);
  if (err != 0)
    return err;
  int fd = ax__sock_create(AF_UNIX);
  if (fd < 0)
    return fd;
  if (ax__sys.bind(fd, (struct sockaddr *)&addr, len) != 0) {
    err = ax_translate_sys_error(errno);
    goto out_close_fd;
  }
  err = pipe_remember(pipe, &addr);
  if (err != 0)
    goto out_unlink;
  err = ax__stream_open(&pipe->stream, fd, 0);
  if (err == 0)
    return 0;
  ax__pipe_sys_close(pipe);
  goto out_close_fd;
out_unlink:
  if (addr.sun_path[0] != '\0')
    (void)unlink(addr.sun_path);
out_close_fd:
  ax__close_fd(fd);
  return err;
}

int ax__pipe_sys_connect(ax_pipe_t *pipe, ax_connect_t *req, const char *name,
                         size_t namelen, ax_connect_cb connect_cb) {
  struct sockaddr_un addr;
  socklen_t len;
  int err = pipe_addr(name, namelen, &addr, &len);
  if (err != 0)
    return err;
  ax_stream_t *stream = &pipe->stream;
  if (!ax__sock_is_open(&stream->priv.sock)) {
    int fd = ax__sock_create(AF_UNIX);
    if (fd < 0)
      return fd;
    err = ax__stream_open(stream, fd, 0);
    if (err != 0) {
      ax__close_fd(fd);
      return err;
    }
  }
  return ax__stream_connect(stream, req, (const struct sockaddr *)&addr,
                            (int)len, connect_cb);
}

/* The socket's own address (peer false) or its peer's, and the length
 * of its name: a path's ends at its NUL, an abstract name's (leading NUL
 * and all) is every byte; 0 for none. */
static int pipe_sockaddr(int fd, bool peer, struct sockaddr_un *addr,
                         size_t *namelen) {
  socklen_t len = sizeof(*addr);
  memset(addr, 0, sizeof(*addr));
  int r = peer ? ax__sys.getpeername(fd, (struct sockaddr *)addr, &len)
               : ax__sys.getsockname(fd, (struct sockaddr *)addr, &len);
  if (r != 0)
    return ax_translate_sys_error(errno);
  size_t offset = offsetof(struct sockaddr_un, sun_path);
  size_t n = len > offset ? (size_t)len - offset : 0;
  if (n > sizeof(addr->sun_path))
    n = sizeof(addr->sun_path);
  if (n > 0 && addr->sun_path[0] != '\0')
    n = strnlen(addr->sun_path, n);
  *namelen = n;
  return 0;
}

int ax__pipe_sys_name(const ax_pipe_t *pipe, char *buffer, size_t *size,
                      bool peer) {
  struct sockaddr_un addr;
  size_t namelen = 0;
  int err = pipe_sockaddr(pipe->stream.priv.sock.fd, peer, &addr, &namelen);
  if (err != 0)
    return err;
  if (namelen >= *size) {
    *size = namelen + 1; /* Room for the NUL, as a path gets one. */
    return AX_ENOBUFS;
  }
  memcpy(buffer, addr.sun_path, namelen);
  buffer[namelen] = '\0';
  *size = namelen;
  return 0;
}

int ax__pipe_sys_chmod(ax_pipe_t *pipe, int mode) {
  struct sockaddr_un addr;
  size_t namelen = 0;
  int err = pipe_sockaddr(pipe->stream.priv.sock.fd, false, &addr, &namelen);
  if (err != 0)
    return err;
  if (namelen == 0)
    return AX_EBADF; /* Not bound. */
  if (addr.sun_path[0] == '\0')
    return AX_EINVAL; /* Abstract: no file to change. */
  char path[sizeof(addr.sun_path) + 1];
  memcpy(path, addr.sun_path, namelen);
  path[namelen] = '\0';
  mode_t bits = 0;
  if (mode & AX_PIPE_READABLE)
    bits |= S_IRUSR | S_IRGRP | S_IROTH;
  if (mode & AX_PIPE_WRITABLE)
    bits |= S_IWUSR | S_IWGRP | S_IWOTH;
  struct stat st;
  if (stat(path, &st) != 0)
    return ax_translate_sys_error(errno);
  if ((st.st_mode & bits) == bits)
    return 0;
  if (chmod(path, (st.st_mode & 07777) | bits) != 0)
    return ax_translate_sys_error(errno);
  return 0;
}

/* ---- Descriptors ---- */

int ax__pipe_sys_pipe(ax_os_fd_t fds[2], int read_flags, int write_flags) {
  int made[2];
  int err = ax__sock_pipe(made);
  if (err != 0)
    return err;
  if (read_flags & AX_PIPE_NONBLOCK)
    err = ax__fd_set_nonblock(made[0]);
  if (err == 0 && (write_flags & AX_PIPE_NONBLOCK))
    err = ax__fd_set_nonblock(made[1]);
  if (err != 0) {
    ax__close_fd(made[0]);
    ax__close_fd(made[1]);
    return err;
  }
  fds[0] = made[0];
  fds[1] = made[1];
  return 0;
}

void ax__pipe_sys_discard(ax_os_sock_t sock) {
  ax__close_fd(sock);
}

/* Windows' server instances have no POSIX counterpart. */
void ax__pipe_sys_instances(ax_pipe_t *pipe, int count) {
  (void)pipe;
  (void)count;
}
