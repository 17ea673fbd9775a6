/*
 * echo-uring.c: the floor of an echo server on io_uring, for
 * scripts/bench-net.sh. Written by hand on liburing, with nothing but what
 * the fastest such server does: one ring with DEFER_TASKRUN and
 * SINGLE_ISSUER where the kernel has them, a multishot accept, a multishot
 * receive per connection into a ring of provided buffers shared by every
 * connection, a send straight from the buffer that received the bytes,
 * and the buffer handed back to the ring when that send completes. One
 * io_uring_enter per turn submits what the last turn queued and waits.
 *
 * It is what axle's io_uring backend is measured against, as a
 * hand-written epoll server would be for epoll: no handles, no callbacks,
 * no queues, no partial-send handling beyond resending the rest (the
 * benchmark's messages are small). Not an example to copy: it trusts its
 * peer, and a connection that errs is simply closed.
 *
 *   echo-uring --port P      (0: any) prints "listening on 127.0.0.1:P";
 *                            exits 0 on SIGTERM or SIGINT (read from a
 *                            signalfd through the ring: the kernel's io
 *                            workers share the thread group, and a
 *                            handler's EINTR cannot be relied on).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
  RING_ENTRIES = 4096,
  BUFS = 4096,      /* Provided buffers, a power of two. */
  BUF_BYTES = 2048, /* Each one. */
  BUF_GROUP = 1,    /* The ring's group id. */
  BACKLOG = 4096,
  KIND_ACCEPT = 1,
  KIND_RECV = 2,
  KIND_SEND = 3,
  KIND_SIGNAL = 4,
};

static struct io_uring ring;
static struct io_uring_buf_ring *bufs;
static char *buf_mem;
static int listen_fd;
static bool stopping;
static struct signalfd_siginfo sig_info;

/* user_data: the kind in the low byte, the descriptor above it, and for a
 * send the buffer id and the bytes already sent above that. */
static uint64_t pack(int kind, int fd, unsigned bid, unsigned done) {
  return (uint64_t)kind | (uint64_t)(unsigned)fd << 8 | (uint64_t)bid << 32 |
         (uint64_t)done << 48;
}

static struct io_uring_sqe *sqe_get(void) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
  while (sqe == NULL) {
    io_uring_submit(&ring);
    sqe = io_uring_get_sqe(&ring);
  }
  return sqe;
}

static void arm_accept(void) {
  struct io_uring_sqe *sqe = sqe_get();
  io_uring_prep_multishot_accept(sqe, listen_fd, NULL, NULL, 0);
  io_uring_sqe_set_data64(sqe, pack(KIND_ACCEPT, listen_fd, 0, 0));
}

static void arm_recv(int fd) {
  struct io_uring_sqe *sqe = sqe_get();
  io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = BUF_GROUP;
  io_uring_sqe_set_data64(sqe, pack(KIND_RECV, fd, 0, 0));
}

static void send_buf(int fd, unsigned bid, unsigned done, unsigned len) {
  struct io_uring_sqe *sqe = sqe_get();
  io_uring_prep_send(sqe, fd, buf_mem + (size_t)bid * BUF_BYTES + done,
                     len - done, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, pack(KIND_SEND, fd, bid, done));
}

static void buf_return(unsigned bid) {
  io_uring_buf_ring_add(bufs, buf_mem + (size_t)bid * BUF_BYTES, BUF_BYTES,
                        (unsigned short)bid, io_uring_buf_ring_mask(BUFS), 0);
  io_uring_buf_ring_advance(bufs, 1);
}

/* The bytes each buffer holds, for a send that went out in part. */
static unsigned short buf_len[BUFS];

static void on_cqe(const struct io_uring_cqe *cqe) {
  uint64_t data = io_uring_cqe_get_data64(cqe);
  int kind = (int)(data & 0xff);
  int fd = (int)((data >> 8) & 0xffffff);
  bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
  if (kind == KIND_SIGNAL) {
    stopping = true;
  } else if (kind == KIND_ACCEPT) {
    if (cqe->res >= 0) {
      int one = 1;
      setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      arm_recv(cqe->res);
    }
    if (!more && !stopping)
      arm_accept();
  } else if (kind == KIND_RECV) {
    if (cqe->res > 0) {
      unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
      buf_len[bid] = (unsigned short)cqe->res;
      send_buf(fd, bid, 0, (unsigned)cqe->res);
      if (!more)
        arm_recv(fd);
    } else if (cqe->res == -ENOBUFS) {
      if (!more)
        arm_recv(fd);
    } else if (!more) {
      close(fd); /* The end, or an error: sends in flight fail and return
                  * their buffers. */
    }
  } else {
    unsigned bid = (unsigned)((data >> 32) & 0xffff);
    unsigned done = (unsigned)(data >> 48) + (cqe->res > 0 ? cqe->res : 0);
    if (cqe->res > 0 && done < buf_len[bid])
      send_buf(fd, bid, done, buf_len[bid]);
    else
      buf_return(bid);
  }
}

static int ring_open(void) {
  struct io_uring_params p;
  memset(&p, 0, sizeof(p));
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
            IORING_SETUP_SUBMIT_ALL;
  int rc = io_uring_queue_init_params(RING_ENTRIES, &ring, &p);
  if (rc == -EINVAL) { /* Before Linux 6.1. */
    memset(&p, 0, sizeof(p));
    rc = io_uring_queue_init_params(RING_ENTRIES, &ring, &p);
  }
  if (rc != 0)
    return rc;
  if (posix_memalign((void **)&bufs, 4096,
                     BUFS * sizeof(struct io_uring_buf)) ||
      posix_memalign((void **)&buf_mem, 4096, (size_t)BUFS * BUF_BYTES))
    return -ENOMEM;
  struct io_uring_buf_reg reg = {
      .ring_addr = (uint64_t)(uintptr_t)bufs,
      .ring_entries = BUFS,
      .bgid = BUF_GROUP,
  };
  rc = io_uring_register_buf_ring(&ring, &reg, 0);
  if (rc != 0)
    return rc;
  io_uring_buf_ring_init(bufs);
  for (unsigned i = 0; i < BUFS; i++)
    io_uring_buf_ring_add(bufs, buf_mem + (size_t)i * BUF_BYTES, BUF_BYTES,
                          (unsigned short)i, io_uring_buf_ring_mask(BUFS),
                          (int)i);
  io_uring_buf_ring_advance(bufs, BUFS);
  return 0;
}

static int listen_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  struct sockaddr_in addr = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(addr);
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
      bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, BACKLOG) ||
      getsockname(fd, (struct sockaddr *)&addr, &len))
    return -1;
  printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  fflush(stdout);
  return fd;
}

/* Block SIGTERM and SIGINT and read them through the ring instead. */
static int signals_open(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
    return -1;
  int fd = signalfd(-1, &set, SFD_CLOEXEC);
  if (fd < 0)
    return -1;
  struct io_uring_sqe *sqe = sqe_get();
  io_uring_prep_read(sqe, fd, &sig_info, sizeof(sig_info), 0);
  io_uring_sqe_set_data64(sqe, pack(KIND_SIGNAL, fd, 0, 0));
  return 0;
}

int main(int argc, char **argv) {
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2)
    if (strcmp(argv[i], "--port") == 0)
      port = atoi(argv[i + 1]);
  int rc = ring_open();
  if (rc == 0 && signals_open() != 0)
    rc = -errno;
  if (rc != 0) {
    fprintf(stderr, "echo-uring: io_uring: %s\n", strerror(-rc));
    return 1;
  }
  listen_fd = listen_open(port);
  if (listen_fd < 0) {
    perror("echo-uring: listen");
    return 1;
  }
  arm_accept();
  while (!stopping) {
    rc = io_uring_submit_and_wait(&ring, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN) {
      fprintf(stderr, "echo-uring: wait: %s\n", strerror(-rc));
      return 1;
    }
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      on_cqe(cqe);
      seen++;
    }
    io_uring_cq_advance(&ring, seen);
  }
  io_uring_queue_exit(&ring);
  close(listen_fd);
  return 0;
}
