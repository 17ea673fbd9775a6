/*
 * unix/io_uring-sock.c: the socket operations of the io_uring backend
 * (backend.h), one io_uring operation each, and the ring of provided
 * buffers that receives share.
 *
 *   RECV     a multishot receive that picks a buffer from the loop's ring
 *            as data arrives, so that an idle connection holds none. Each
 *            completion holds its buffer for the socket, and RECV
 *            completes with the bytes held; the engine copies them into
 *            its user's buffer with recv_copy, which gives the ring buffer
 *            back. While the ring is empty (ENOBUFS) a socket waits with a
 *            readability poll instead (RPOLL), and its RECV completion then
 *            means "read now": recv_copy reads the socket itself.
 *   SEND     SENDMSG with MSG_WAITALL, from a slot that holds a copy of
 *            the vector; send() takes nothing at once and the completion
 *            reports the bytes sent. send_copy() (ax_try_write) copies up
 *            to URING_COPY_BYTES into a buffer of the loop's and SENDs
 *            that, so that a small write rides in the next io_uring_enter
 *            instead of making a sendmsg() of its own; more try-writes add
 *            to the copy until the kernel has it. A short completion of a
 *            copy sends the rest itself. A copy outlives its socket's close
 *            until the kernel gives it back (the orphan list).
 *   CONNECT  CONNECT, from a slot that holds a copy of the address.
 *   ACCEPT   a multishot accept. Connections that arrive while the engine
 *            does not accept are held and delivered when it does again.
 *   CLOSE    one cancel of every operation on the descriptor, submitted
 *            at once, then close(2): close never waits for the kernel
 *            (see uring_sock_close).
 *
 * A stalled reader holds at most AX__URING_HELD_MAX ring buffers: its
 * receive is cancelled when it stops, and when it holds that many, and
 * each receive may take only the bytes of the buffers left to it. The
 * ring starts small and doubles when the kernel finds it empty, up to
 * AX__URING_BUFS (io_uring.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "io_uring.h"
#include "sock.h"

enum {
  /* Held connections delivered per dispatch. */
  URING_ACCEPTS = 32,
  /* Held connections a listener makes room for at first. */
  URING_ACCEPTED_MIN = 16,
  /* Vector entries of a slot without an allocation. */
  URING_SLOT_IOV = 8,
  /* The most bytes one copied send holds: a small write, whose system
   * call costs more than the copy. A larger try-write calls the kernel. */
  URING_COPY_BYTES = 2048,
  /* Free copy buffers kept for reuse (2 MiB): beyond as many copies in
   * flight at once, a copy is allocated and freed each time. */
  URING_COPIES_KEPT = 1024,
};

#define URING_BIT(kind) ((uint8_t)(1u << (kind)))

_Static_assert(sizeof(((struct ax__uring_slot *)0)->u.inline_iov) ==
                   URING_SLOT_IOV * sizeof(struct iovec),
               "axle: the slot's inline vector");

/* ---- The buffer ring ---- */

/* The bytes of buffer bid. */
static char *bufs_addr(const struct ax__uring *st, unsigned int bid) {
  return st->buf_mem + (size_t)bid * AX__URING_BUF_BYTES;
}

/* Make count more buffers and hand them to the kernel: false when out of
 * memory (the ring stays as it was). Their bytes are reserved already;
 * only their records are allocated here. */
static bool bufs_add(struct ax__uring *st, uint32_t count) {
  uint32_t nbufs = st->nbufs + count;
  assert(nbufs <= AX__URING_BUFS && "axle: the buffer ring over its cap");
  struct ax__uring_buf *bufs = ax__realloc(st->bufs, nbufs * sizeof(*bufs));
  if (bufs == NULL)
    return false;
  memset(bufs + st->nbufs, 0, count * sizeof(*bufs));
  st->bufs = bufs;
  for (uint32_t i = 0; i < count; i++) {
    unsigned int bid = st->nbufs + i;
    io_uring_buf_ring_add(st->br, bufs_addr(st, bid), AX__URING_BUF_BYTES,
                          (unsigned short)bid,
                          io_uring_buf_ring_mask(AX__URING_BUFS), (int)i);
  }
  io_uring_buf_ring_advance(st->br, (int)count);
  st->nbufs = nbufs;
  st->bufs_free += count;
  return true;
}

/*
 * The ring has room for AX__URING_BUFS buffers from the start, and their
 * bytes are reserved at once (mapped, not touched: a page costs memory
 * only once the kernel writes a message into it), but only
 * AX__URING_BUFS_MIN buffers are made; the ring grows when receives find
 * it empty (bufs_grow).
 */
bool ax__uring_bufs_init(struct ax__uring *st) {
  size_t ring_bytes = AX__URING_BUFS * sizeof(struct io_uring_buf);
  size_t mem_bytes = (size_t)AX__URING_BUFS * AX__URING_BUF_BYTES;
  void *ring = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ring == MAP_FAILED)
    return false;
  void *mem = mmap(NULL, mem_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED)
    goto out_unmap_ring;
  struct io_uring_buf_reg reg;
  memset(&reg, 0, sizeof(reg));
  reg.ring_addr = (uint64_t)(uintptr_t)ring;
  reg.ring_entries = AX__URING_BUFS;
  reg.bgid = AX__URING_BGID;
  if (io_uring_register_buf_ring(&st->ring, &reg, 0) != 0)
    goto out_unmap_mem;
  st->br = ring;
  st->buf_mem = mem;
  io_uring_buf_ring_init(st->br);
  if (!bufs_add(st, AX__URING_BUFS_MIN)) {
    (void)io_uring_unregister_buf_ring(&st->ring, AX__URING_BGID);
    st->br = NULL;
    st->buf_mem = NULL;
    goto out_unmap_mem;
  }
  return true;
out_unmap_mem:
  munmap(mem, mem_bytes);
out_unmap_ring:
  munmap(ring, ring_bytes);
  return false;
}

void ax__uring_bufs_fini(struct ax__uring *st) {
  if (st->br == NULL)
    return;
  munmap(st->br, AX__URING_BUFS * sizeof(struct io_uring_buf));
  munmap(st->buf_mem, (size_t)AX__URING_BUFS * AX__URING_BUF_BYTES);
  ax__free(st->bufs);
  st->br = NULL;
}

/* Double the ring, up to its cap: whether it grew. */
static bool bufs_grow(struct ax__uring *st) {
  uint32_t count = st->nbufs;
  if (count > AX__URING_BUFS - st->nbufs)
    count = AX__URING_BUFS - st->nbufs;
  if (count == 0 || !bufs_add(st, count))
    return false;
  st->grows++;
  return true;
}

void ax__uring_buf_recycle(struct ax__uring *st, unsigned bid) {
  io_uring_buf_ring_add(st->br, bufs_addr(st, bid), AX__URING_BUF_BYTES,
                        (unsigned short)bid,
                        io_uring_buf_ring_mask(AX__URING_BUFS), 0);
  io_uring_buf_ring_advance(st->br, 1);
  st->bufs_free++;
  /* Out of starvation once a quarter of the ring is back, so that the
   * sockets waiting by poll do not flap between the two ways. */
  if (st->starved && st->bufs_free >= st->nbufs / 4)
    st->starved = false;
}

/* The buffer a completion carries, taken from the kernel's count. */
static unsigned int sock_cqe_buf(struct ax__uring *st,
                                 const struct ax__uring_cqe *cqe) {
  st->bufs_free--;
  return cqe->flags >> IORING_CQE_BUFFER_SHIFT;
}

/* Keep a ring buffer of len bytes for the socket, after those it holds. */
static void sock_hold(struct ax__uring *st, struct ax__uring_fd *e,
                      unsigned int bid, int32_t len) {
  struct ax__uring_buf *buf = &st->bufs[bid];
  buf->off = 0;
  buf->len = (uint32_t)len;
  buf->next = 0;
  if (e->u.recv.head == 0) {
    e->u.recv.head = (uint16_t)(bid + 1);
    buf->tail = (uint16_t)(bid + 1);
    buf->count = 1;
    return;
  }
  struct ax__uring_buf *head = &st->bufs[e->u.recv.head - 1];
  st->bufs[head->tail - 1].next = (uint16_t)(bid + 1);
  head->tail = (uint16_t)(bid + 1);
  head->count++;
}

/* Let go of the socket's oldest ring buffer: the next one, if any, holds
 * the list's newest and count now. Returns its id. */
static unsigned int sock_unhold(struct ax__uring *st, struct ax__uring_fd *e) {
  unsigned int bid = e->u.recv.head - 1u;
  const struct ax__uring_buf *held = &st->bufs[bid];
  e->u.recv.head = held->next;
  if (held->next != 0) {
    struct ax__uring_buf *next = &st->bufs[held->next - 1];
    next->tail = held->tail;
    next->count = (uint16_t)(held->count - 1);
  }
  return bid;
}

/* Copy what the socket holds into buf, giving back each ring buffer
 * emptied. Returns the bytes copied. */
static size_t sock_copy_held(struct ax__uring *st, struct ax__uring_fd *e,
                             const ax_buf_t *buf) {
  size_t copied = 0;
  while (copied < buf->len && e->u.recv.head != 0) {
    unsigned int bid = e->u.recv.head - 1u;
    struct ax__uring_buf *held = &st->bufs[bid];
    size_t take = held->len - held->off;
    if (take > buf->len - copied)
      take = buf->len - copied;
    memcpy(buf->base + copied, bufs_addr(st, bid) + held->off, take);
    copied += take;
    held->off += (uint32_t)take;
    if (held->off < held->len)
      break;
    ax__uring_buf_recycle(st, sock_unhold(st, e));
  }
  return copied;
}

/* ---- Slots ---- */

/* A slot for the socket's send or connect, with room for nbufs. */
static struct ax__uring_slot *sock_slot_get(struct ax__uring *st,
                                            struct ax__uring_fd *e,
                                            unsigned int nbufs) {
  assert(e->slot == 0 && "axle: a send or connect already in flight");
  struct ax__uring_slot *slot;
  uint32_t index = st->free_slot;
  if (index != 0) {
    slot = st->slots[index - 1];
    st->free_slot = slot->next_free;
  } else {
    struct ax__uring_slot **slots = ax__realloc(
        st->slots, (st->nslots + 1) * sizeof(struct ax__uring_slot *));
    if (slots == NULL)
      return NULL;
    st->slots = slots;
    slot = ax__malloc(sizeof(*slot));
    if (slot == NULL)
      return NULL;
    slot->copy = NULL;
    slot->sqe = NULL;
    st->slots[st->nslots++] = slot;
    index = st->nslots;
  }
  slot->iov = slot->u.inline_iov;
  if (nbufs > URING_SLOT_IOV)
    slot->iov = ax__malloc(nbufs * sizeof(struct iovec));
  if (slot->iov == NULL) {
    slot->next_free = st->free_slot;
    st->free_slot = index;
    return NULL;
  }
  e->slot = index;
  return slot;
}

/* A copy buffer: a free one, or a new one. NULL when out of memory. */
static char *sock_copy_get(struct ax__uring *st) {
  char *copy = st->copies;
  if (copy == NULL)
    return ax__malloc(URING_COPY_BYTES);
  memcpy(&st->copies, copy, sizeof(char *));
  st->copies_kept--;
  return copy;
}

static void sock_copy_put(struct ax__uring *st, char *copy) {
  if (st->copies_kept == URING_COPIES_KEPT) {
    ax__free(copy);
    return;
  }
  memcpy(copy, &st->copies, sizeof(char *));
  st->copies = copy;
  st->copies_kept++;
}

/* Free slot index (plus 1) and what it holds. */
static void sock_slot_free(struct ax__uring *st, uint32_t index) {
  struct ax__uring_slot *slot = st->slots[index - 1];
  if (slot->iov != slot->u.inline_iov)
    ax__free(slot->iov);
  slot->iov = NULL;
  if (slot->copy != NULL)
    sock_copy_put(st, slot->copy);
  slot->copy = NULL;
  slot->sqe = NULL;
  slot->next_free = st->free_slot;
  st->free_slot = index;
}

static void sock_slot_put(struct ax__uring *st, struct ax__uring_fd *e) {
  if (e->slot == 0)
    return;
  sock_slot_free(st, e->slot);
  e->slot = 0;
}

void ax__uring_slots_fini(struct ax__uring *st) {
  for (uint32_t i = 0; i < st->nslots; i++) {
    struct ax__uring_slot *slot = st->slots[i];
    if (slot->iov != NULL && slot->iov != slot->u.inline_iov)
      ax__free(slot->iov);
    ax__free(slot->copy);
    ax__free(slot);
  }
  ax__free(st->slots);
  /* Listeners are closed before their loop: the table is empty. */
  ax__free(st->accepted);
  while (st->copies != NULL) {
    char *copy = st->copies;
    memcpy(&st->copies, copy, sizeof(char *));
    ax__free(copy);
  }
  st->copies_kept = 0;
}

/* ---- Starting and stopping ---- */

/* The owner wants kind running: what the backend holds is delivered first
 * (held), and arm starts the operation unless it runs. 0, or an error with
 * nothing wanted. */
static int sock_want(ax_loop_t *loop, struct ax__uring_fd *e, int fd,
                     unsigned kind, bool held,
                     int (*arm)(struct ax__uring *st, struct ax__uring_fd *e,
                                int fd)) {
  struct ax__uring *st = ax__uring_state(loop);
  e->want |= URING_BIT(kind);
  if (held)
    ax__uring_ready(st, e, fd);
  int err = arm(st, e, fd);
  if (err != 0)
    e->want &= (uint8_t)~URING_BIT(kind);
  ax__uring_busy(loop);
  return err;
}

/* The owner no longer wants kind: cancel it. Returns the entry, or NULL
 * if the socket has none. */
static struct ax__uring_fd *sock_unwant(ax_loop_t *loop, ax__sock_t *sock,
                                        unsigned kind) {
  struct ax__uring *st = ax__uring_state(loop);
  struct ax__uring_fd *e = ax__uring_find(st, sock->fd);
  if (e == NULL || e->io != sock)
    return NULL;
  e->want &= (uint8_t)~URING_BIT(kind);
  ax__uring_cancel(st, e, sock->fd, kind);
  return e;
}

/* ---- Receiving ---- */

/* Start the receive the socket wants, if none runs: multishot into the
 * buffer ring, or a readability poll while the ring is empty. */
static int sock_recv_arm(struct ax__uring *st, struct ax__uring_fd *e, int fd) {
  if (!(e->want & URING_BIT(AX__URING_RECV)) ||
      (e->live & (URING_BIT(AX__URING_RECV) | URING_BIT(AX__URING_RPOLL))) ||
      e->u.recv.end != 0 || ax__uring_held(st, e) >= AX__URING_HELD_MAX)
    return 0;
  bool ring = st->bufs_ok && !st->starved;
  struct io_uring_sqe *sqe = ax__uring_op(
      st, e, fd, ring ? AX__URING_RECV : AX__URING_RPOLL);
  if (sqe == NULL)
    return AX_ENOBUFS;
  if (ring) {
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    /* The bytes this receive may take before it ends, so that a reader
     * that stops holds no more than its share of the ring even when a
     * burst fills buffers faster than the loop reads completions. Newer
     * headers call the field optlen; kernels before the limit (6.17)
     * refuse it with EINVAL, and the cap then holds as completions are
     * read (sock_recv_complete). */
    if (st->recv_limit)
      sqe->file_index = (AX__URING_HELD_MAX - ax__uring_held(st, e)) *
                        AX__URING_BUF_BYTES;
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = AX__URING_BGID;
  } else {
    io_uring_prep_poll_add(sqe, fd, POLLIN | POLLRDHUP);
  }
  return 0;
}

static int uring_recv_start(ax_loop_t *loop, ax__sock_t *sock) {
  struct ax__uring *st = ax__uring_state(loop);
  int err;
  struct ax__uring_fd *e = ax__uring_attach(st, sock, &err);
  if (e == NULL)
    return err;
  return sock_want(loop, e, sock->fd, AX__URING_RECV,
                   e->u.recv.head != 0 || e->u.recv.end != 0, sock_recv_arm);
}

static void uring_recv_stop(ax_loop_t *loop, ax__sock_t *sock) {
  struct ax__uring_fd *e = sock_unwant(loop, sock, AX__URING_RECV);
  if (e != NULL)
    ax__uring_cancel(ax__uring_state(loop), e, sock->fd, AX__URING_RPOLL);
}

/* Keep the receive going after one ended: now, or at the next dispatch
 * if the ring cannot take it (ax__uring_rearm_later). */
static void sock_recv_rearm(struct ax__uring *st, struct ax__uring_fd *e,
                            int fd) {
  if (sock_recv_arm(st, e, fd) != 0)
    ax__uring_rearm_later(st, e, fd);
}

/* Hand the engine a RECV completion if it reads and there is something
 * to read, then keep the receive going. */
static void sock_recv_deliver(ax_loop_t *loop, struct ax__uring_fd *e, int fd,
                              intptr_t result) {
  struct ax__uring *st = ax__uring_state(loop);
  bool any = e->u.recv.head != 0 || e->u.recv.end != 0 ||
             (e->flags & AX__URING_READ_MODE);
  if ((e->want & URING_BIT(AX__URING_RECV)) && any) {
    uint32_t gen = e->gen;
    e->io->cb(loop, e->io, AX__OP_RECV, result);
    if (!ax__uring_still(e, gen))
      return;
  }
  e->flags &= (uint8_t)~AX__URING_READ_MODE;
  /* Left unread (a small buffer, the reads-per-wakeup bound): again at
   * the next dispatch, as a level-triggered readiness would. */
  if ((e->want & URING_BIT(AX__URING_RECV)) &&
      (e->u.recv.head != 0 || e->u.recv.end != 0))
    ax__uring_ready(st, e, fd);
  sock_recv_rearm(st, e, fd);
}

/* A multishot receive ended for want of a buffer: the receives of one
 * wait took more than the ring held. The ring doubles, once per dispatch
 * (every receive that ran dry in the same wait starts again on the new
 * buffers); at its cap, the sockets wait by poll until buffers return. */
static void sock_recv_nobufs(struct ax__uring *st) {
  if (st->grown && st->grow_seq == st->seq)
    return;
  if (bufs_grow(st)) {
    st->grown = true;
    st->grow_seq = st->seq;
    return;
  }
  st->starved = true;
  st->starvations++;
}

/* How a receive without data ended. */
static void sock_recv_ended(struct ax__uring *st, struct ax__uring_fd *e,
                            int32_t res) {
  if (res == 0)
    e->u.recv.end = AX_EOF;
  else if (res == -ENOBUFS)
    sock_recv_nobufs(st);
  else if (res == -EINVAL && st->recv_limit)
    st->recv_limit = false; /* No limit of a receive's bytes. */
  else if (res == -EINVAL)
    st->bufs_ok = false; /* No multishot receive (before Linux 6.0). */
  else if (res != -ECANCELED)
    e->u.recv.end = (int16_t)res;
}

static void sock_recv_complete(ax_loop_t *loop, struct ax__uring_fd *e, int fd,
                               const struct ax__uring_cqe *cqe) {
  struct ax__uring *st = ax__uring_state(loop);
  if (!(cqe->flags & IORING_CQE_F_MORE))
    ax__uring_done(st, e, AX__URING_RECV);
  if (cqe->flags & IORING_CQE_F_BUFFER) {
    unsigned int bid = sock_cqe_buf(st, cqe);
    if (cqe->res > 0)
      sock_hold(st, e, bid, cqe->res);
    else
      ax__uring_buf_recycle(st, bid);
  }
  if (cqe->res <= 0)
    sock_recv_ended(st, e, cqe->res);
  if (ax__uring_held(st, e) >= AX__URING_HELD_MAX)
    ax__uring_cancel(st, e, fd, AX__URING_RECV);
  sock_recv_deliver(loop, e, fd, cqe->res > 0 ? cqe->res : 0);
}

/* The readability poll that stands in for RECV fired: the engine reads. */
static void sock_rpoll_complete(ax_loop_t *loop, struct ax__uring_fd *e, int fd,
                                const struct ax__uring_cqe *cqe) {
  ax__uring_done(ax__uring_state(loop), e, AX__URING_RPOLL);
  if (cqe->res == -ECANCELED) {
    /* Stopped and started again before the cancel landed. */
    sock_recv_rearm(ax__uring_state(loop), e, fd);
    return;
  }
  e->flags |= AX__URING_READ_MODE;
  sock_recv_deliver(loop, e, fd, 0);
}

static intptr_t uring_recv_copy(ax_loop_t *loop, ax__sock_t *sock,
                                const ax_buf_t *buf) {
  struct ax__uring *st = ax__uring_state(loop);
  struct ax__uring_fd *e = ax__uring_find(st, sock->fd);
  if (e == NULL || e->io != sock)
    return AX_EAGAIN;
  if (e->u.recv.head != 0)
    return (intptr_t)sock_copy_held(st, e, buf);
  if (e->u.recv.end != 0) {
    intptr_t end = e->u.recv.end;
    e->u.recv.end = 0;
    return end;
  }
  /* Never while a multishot receive runs: it would take bytes out of
   * order with this read. */
  if ((e->flags & AX__URING_READ_MODE) &&
      !(e->live & URING_BIT(AX__URING_RECV)))
    return ax__sock_read(sock, buf);
  return AX_EAGAIN;
}

/* ---- Sending and connecting ---- */

static intptr_t uring_send(ax_loop_t *loop, ax__sock_t *sock,
                           const ax_buf_t *bufs, unsigned int nbufs) {
  struct ax__uring *st = ax__uring_state(loop);
  int err;
  struct ax__uring_fd *e = ax__uring_attach(st, sock, &err);
  if (e == NULL)
    return err;
  assert(!(e->live & URING_BIT(AX__URING_SEND)) &&
         "axle: a second send in flight");
  struct ax__uring_slot *slot = sock_slot_get(st, e, nbufs);
  if (slot == NULL)
    return AX_ENOMEM;
  struct io_uring_sqe *sqe = ax__uring_op(st, e, sock->fd, AX__URING_SEND);
  if (sqe == NULL) {
    sock_slot_put(st, e);
    return AX_ENOBUFS;
  }
  memcpy(slot->iov, bufs, nbufs * sizeof(struct iovec));
  memset(&slot->msg, 0, sizeof(slot->msg));
  slot->msg.msg_iov = slot->iov;
  slot->msg.msg_iovlen = nbufs;
  /* MSG_WAITALL: the kernel sends the rest of a short send itself. */
  io_uring_prep_sendmsg(sqe, sock->fd, &slot->msg,
                        (unsigned)(ax__sock_send_flags | MSG_WAITALL));
  ax__uring_busy(loop);
  return 0;
}

/* Start the SEND of what copy holds past copy_sent: false if the ring
 * cannot take it. */
static bool sock_copy_submit(struct ax__uring *st, struct ax__uring_fd *e,
                             int fd, struct ax__uring_slot *slot) {
  struct io_uring_sqe *sqe = ax__uring_op(st, e, fd, AX__URING_SEND);
  if (sqe == NULL)
    return false;
  /* Its place in the queue, while the kernel does not have it yet: the
   * entry liburing handed out last. */
  slot->sq_index = st->ring.sq.sqe_tail - 1u;
  slot->sqe = sqe;
  io_uring_prep_send(sqe, fd, slot->copy + slot->copy_sent,
                     slot->copy_len - slot->copy_sent,
                     ax__sock_send_flags | MSG_WAITALL);
  return true;
}

/* Whether the copied send of slot is still in the submission queue,
 * where the kernel has not read it: liburing hands the entries from
 * sqe_head to sqe_tail to the kernel at the next submit. */
static bool sock_copy_unsubmitted(const struct ax__uring *st,
                                  const struct ax__uring_slot *slot) {
  const struct io_uring_sq *sq = &st->ring.sq;
  return slot->copy != NULL &&
         slot->sq_index - sq->sqe_head < sq->sqe_tail - sq->sqe_head;
}

/* Copy total bytes of bufs to dst. */
static void sock_copy_gather(char *dst, const ax_buf_t *bufs,
                             unsigned int nbufs) {
  for (unsigned int i = 0; i < nbufs; i++) {
    if (bufs[i].len != 0)
      memcpy(dst, bufs[i].base, bufs[i].len);
    dst += bufs[i].len;
  }
}

/* Add to the copied send in flight, while its entry waits in the queue
 * and its buffer has room: the kernel then reads one longer send. */
static intptr_t sock_copy_append(struct ax__uring *st, struct ax__uring_fd *e,
                                 const ax_buf_t *bufs, unsigned int nbufs,
                                 size_t total) {
  struct ax__uring_slot *slot = st->slots[e->slot - 1];
  if (!sock_copy_unsubmitted(st, slot) ||
      total > URING_COPY_BYTES - slot->copy_len)
    return AX_EAGAIN;
  sock_copy_gather(slot->copy + slot->copy_len, bufs, nbufs);
  slot->copy_len += (uint32_t)total;
  slot->sqe->len = slot->copy_len - slot->copy_sent;
  return (intptr_t)total;
}

static intptr_t uring_send_copy(ax_loop_t *loop, ax__sock_t *sock,
                                const ax_buf_t *bufs, unsigned int nbufs,
                                size_t total) {
  struct ax__uring *st = ax__uring_state(loop);
  if (total > URING_COPY_BYTES)
    return AX_ENOBUFS;
  int err;
  struct ax__uring_fd *e = ax__uring_attach(st, sock, &err);
  if (e == NULL)
    return err;
  if (e->slot != 0)
    return sock_copy_append(st, e, bufs, nbufs, total);
  struct ax__uring_slot *slot = sock_slot_get(st, e, 0);
  if (slot == NULL)
    return AX_ENOMEM;
  slot->copy = sock_copy_get(st);
  if (slot->copy == NULL) {
    sock_slot_put(st, e);
    return AX_ENOMEM;
  }
  sock_copy_gather(slot->copy, bufs, nbufs);
  slot->copy_len = (uint32_t)total;
  slot->copy_sent = 0;
  if (!sock_copy_submit(st, e, sock->fd, slot)) {
    sock_slot_put(st, e);
    return AX_ENOBUFS;
  }
  ax__uring_busy(loop);
  return (intptr_t)total;
}

static intptr_t uring_connect(ax_loop_t *loop, ax__sock_t *sock,
                              const struct sockaddr *addr, int len) {
  struct ax__uring *st = ax__uring_state(loop);
  int err;
  struct ax__uring_fd *e = ax__uring_attach(st, sock, &err);
  if (e == NULL)
    return err;
  if (len < 0 || (size_t)len > sizeof(struct sockaddr_storage))
    return AX_EINVAL;
  struct ax__uring_slot *slot = sock_slot_get(st, e, 0);
  if (slot == NULL)
    return AX_ENOMEM;
  struct io_uring_sqe *sqe = ax__uring_op(st, e, sock->fd, AX__URING_CONNECT);
  if (sqe == NULL) {
    sock_slot_put(st, e);
    return AX_ENOBUFS;
  }
  memcpy(&slot->u.addr, addr, (size_t)len);
  io_uring_prep_connect(sqe, sock->fd, (struct sockaddr *)&slot->u.addr,
                        (socklen_t)len);
  ax__uring_busy(loop);
  return AX__OP_PENDING;
}

/* A copied send completed with res: the count to report, or -1 when
 * the rest of a short send went out again (nothing to report yet). */
static intptr_t sock_copy_complete(struct ax__uring *st, struct ax__uring_fd *e,
                                   int fd, struct ax__uring_slot *slot,
                                   int32_t res) {
  slot->sqe = NULL;
  if (res < 0)
    return res;
  if (res == 0)
    return AX_EPIPE; /* Nothing of a non-empty send: never retried. */
  slot->copy_sent += (uint32_t)res;
  if (slot->copy_sent >= slot->copy_len)
    return slot->copy_len;
  return sock_copy_submit(st, e, fd, slot) ? -1 : AX_ENOBUFS;
}

/* A send or connect completed: its slot is free, and the engine told. */
static void sock_slot_complete(ax_loop_t *loop, struct ax__uring_fd *e, int fd,
                               const struct ax__uring_cqe *cqe, unsigned kind) {
  struct ax__uring *st = ax__uring_state(loop);
  ax__uring_done(st, e, kind);
  intptr_t result = cqe->res;
  struct ax__uring_slot *slot = e->slot != 0 ? st->slots[e->slot - 1] : NULL;
  if (slot != NULL && slot->copy != NULL) {
    result = sock_copy_complete(st, e, fd, slot, cqe->res);
    if (result == -1)
      return;
  }
  sock_slot_put(st, e);
  unsigned int op = kind == AX__URING_SEND ? AX__OP_SEND : AX__OP_CONNECT;
  e->io->cb(loop, e->io, op, result);
}

/* ---- Accepting ---- */

static int sock_accept_arm(struct ax__uring *st, struct ax__uring_fd *e,
                           int fd) {
  if (!(e->want & URING_BIT(AX__URING_ACCEPT)) ||
      (e->live & URING_BIT(AX__URING_ACCEPT)))
    return 0;
  struct io_uring_sqe *sqe = ax__uring_op(st, e, fd, AX__URING_ACCEPT);
  if (sqe == NULL)
    return AX_ENOBUFS;
  io_uring_prep_multishot_accept(sqe, fd, NULL, NULL,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
  return 0;
}

/* A listener's held connections. */
static struct ax__uring_accepted *sock_accepted(const struct ax__uring *st,
                                                const struct ax__uring_fd *e) {
  return st->accepted[e->u.accepted - 1];
}

/* Give the listener an empty queue of held connections, in a free place
 * of the loop's table (listeners are few). 0 or AX_ENOMEM. */
static int sock_accepted_make(struct ax__uring *st, struct ax__uring_fd *e) {
  uint32_t i = 0;
  while (i < st->naccepted && st->accepted[i] != NULL)
    i++;
  if (i == st->naccepted) {
    uint32_t n = st->naccepted != 0 ? 2 * st->naccepted : 4;
    struct ax__uring_accepted **table = ax__realloc(
        st->accepted, n * sizeof(struct ax__uring_accepted *));
    if (table == NULL)
      return AX_ENOMEM;
    memset(table + st->naccepted, 0,
           (n - st->naccepted) * sizeof(struct ax__uring_accepted *));
    st->accepted = table;
    st->naccepted = n;
  }
  st->accepted[i] = ax__calloc(1, sizeof(struct ax__uring_accepted));
  if (st->accepted[i] == NULL)
    return AX_ENOMEM;
  e->u.accepted = i + 1;
  return 0;
}

static int uring_accept_start(ax_loop_t *loop, ax__sock_t *sock) {
  struct ax__uring *st = ax__uring_state(loop);
  int err;
  struct ax__uring_fd *e = ax__uring_attach(st, sock, &err);
  if (e == NULL)
    return err;
  if (e->u.accepted == 0 && (err = sock_accepted_make(st, e)) != 0)
    return err;
  e->flags |= AX__URING_LISTENER;
  return sock_want(loop, e, sock->fd, AX__URING_ACCEPT,
                   sock_accepted(st, e)->len > 0, sock_accept_arm);
}

static void uring_accept_stop(ax_loop_t *loop, ax__sock_t *sock) {
  (void)sock_unwant(loop, sock, AX__URING_ACCEPT);
}

/* Hold an accepted connection for when the engine accepts again. */
static bool sock_accept_hold(struct ax__uring *st, struct ax__uring_fd *e,
                             int s) {
  struct ax__uring_accepted *q = sock_accepted(st, e);
  if (q->len == q->cap) {
    unsigned int cap = q->cap != 0 ? 2 * q->cap : URING_ACCEPTED_MIN;
    struct ax__uring_accepted *grown = ax__malloc(sizeof(*grown) +
                                                  cap * sizeof(int));
    if (grown == NULL)
      return false;
    grown->seq = q->seq;
    grown->counted = q->counted;
    grown->head = 0;
    grown->len = q->len;
    grown->cap = cap;
    for (unsigned int i = 0; i < grown->len; i++)
      grown->fds[i] = q->fds[(q->head + i) % q->cap];
    ax__free(q);
    st->accepted[e->u.accepted - 1] = q = grown;
  }
  q->fds[(q->head + q->len) % q->cap] = s;
  q->len++;
  return true;
}

/* Whether the engine may have one more connection in this dispatch: a
 * burst is bounded per wakeup, the rest held for the next. */
static bool sock_accept_room(struct ax__uring *st, struct ax__uring_fd *e) {
  struct ax__uring_accepted *q = sock_accepted(st, e);
  if (q->seq != st->seq) {
    q->seq = st->seq;
    q->counted = 0;
  }
  if (q->counted == URING_ACCEPTS)
    return false;
  q->counted++;
  return true;
}

/* Errors of accept that concern one connection, not the listener: the
 * kernel queued it and it went away, or passed on its network error,
 * which accept(2) asks callers to treat as EAGAIN. */
static bool sock_accept_skip(int32_t res) {
  return res == -ECONNABORTED || res == -EPROTO || res == -EPERM ||
         res == -ENETDOWN || res == -ENETUNREACH || res == -EHOSTUNREACH ||
         res == -EOPNOTSUPP || res == -ENOPROTOOPT || res == -EHOSTDOWN ||
         res == -EINTR || res == -ECANCELED;
}

/* Keep the accept going after it ended: now, or at the next dispatch if
 * the ring cannot take it (ax__uring_rearm_later). */
static void sock_accept_rearm(struct ax__uring *st, struct ax__uring_fd *e,
                              int fd) {
  if (sock_accept_arm(st, e, fd) != 0)
    ax__uring_rearm_later(st, e, fd);
}

static void sock_accept_complete(ax_loop_t *loop, struct ax__uring_fd *e,
                                 int fd, const struct ax__uring_cqe *cqe) {
  struct ax__uring *st = ax__uring_state(loop);
  if (!(cqe->flags & IORING_CQE_F_MORE))
    ax__uring_done(st, e, AX__URING_ACCEPT);
  int32_t res = cqe->res;
  bool wanted = e->want & URING_BIT(AX__URING_ACCEPT);
  if (res >= 0 &&
      (!wanted || sock_accepted(st, e)->len > 0 || !sock_accept_room(st, e))) {
    if (!sock_accept_hold(st, e, res))
      ax__close_fd(res); /* Out of memory: the client sees it closed. */
    else if (wanted)
      ax__uring_ready(st, e, fd);
  } else if (res < 0 && !sock_accept_skip(res)) {
    /* The multishot accept ended: out of descriptors or memory. Shed the
     * connection that caused it and let the engine pause; it accepts
     * again after its back-off, so a full table is never retried in a
     * busy loop. */
    if (res == AX_EMFILE || res == AX_ENFILE)
      ax__sock_shed(loop, fd);
    if (wanted)
      e->io->cb(loop, e->io, AX__OP_ACCEPT, res);
    return;
  } else if (res >= 0) {
    uint32_t gen = e->gen;
    e->io->cb(loop, e->io, AX__OP_ACCEPT, res);
    if (!ax__uring_still(e, gen))
      return;
  }
  sock_accept_rearm(st, e, fd);
}

/* Deliver held connections while the engine accepts, a bounded number. */
static void sock_accept_ready(ax_loop_t *loop, struct ax__uring_fd *e, int fd) {
  struct ax__uring *st = ax__uring_state(loop);
  uint32_t gen = e->gen;
  for (;;) {
    struct ax__uring_accepted *q = sock_accepted(st, e);
    if (!ax__uring_still(e, gen) || !(e->want & URING_BIT(AX__URING_ACCEPT)) ||
        q->len == 0 || !sock_accept_room(st, e))
      break;
    int s = q->fds[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    e->io->cb(loop, e->io, AX__OP_ACCEPT, s);
  }
  if (!ax__uring_still(e, gen))
    return;
  if ((e->want & URING_BIT(AX__URING_ACCEPT)) && sock_accepted(st, e)->len > 0)
    ax__uring_ready(st, e, fd);
  /* A multishot accept that ended and could not be armed again then. */
  sock_accept_rearm(st, e, fd);
}

/* ---- Completions ---- */

void ax__uring_sock_complete(ax_loop_t *loop, struct ax__uring_fd *e, int fd,
                             const struct ax__uring_cqe *cqe) {
  unsigned int kind = (unsigned int)(cqe->user_data & 0xffu);
  switch (kind) {
  case AX__URING_RECV:
    sock_recv_complete(loop, e, fd, cqe);
    break;
  case AX__URING_RPOLL:
    sock_rpoll_complete(loop, e, fd, cqe);
    break;
  case AX__URING_SEND:
  case AX__URING_CONNECT:
    sock_slot_complete(loop, e, fd, cqe, kind);
    break;
  case AX__URING_ACCEPT:
    sock_accept_complete(loop, e, fd, cqe);
    break;
  default:
    assert(0 && "axle: an io_uring completion of an unknown kind");
    break;
  }
}

void ax__uring_sock_ready(ax_loop_t *loop, struct ax__uring_fd *e, int fd) {
  if (e->flags & AX__URING_LISTENER)
    sock_accept_ready(loop, e, fd);
  else
    sock_recv_deliver(loop, e, fd, 0);
}

/* The completion of a copied send whose socket was closed: its slot, and
 * the copy, are free now. Other orphans of kind SEND are not listed. The
 * list holds only sockets closed with a copy the kernel could not send at
 * once, and each leaves it with the next wait. */
static void sock_orphan_slot_free(struct ax__uring *st, uint64_t user_data) {
  uint32_t *link = &st->orphan_slots;
  while (*link != 0) {
    uint32_t index = *link;
    struct ax__uring_slot *slot = st->slots[index - 1];
    if (slot->orphan_data == user_data) {
      *link = slot->next_free;
      sock_slot_free(st, index);
      return;
    }
    link = &slot->next_free;
  }
}

/* Keep the slot of a socket being closed whose copied send the kernel
 * holds: the copy must live until the kernel gives it back. */
static void sock_slot_orphan(struct ax__uring *st, struct ax__uring_fd *e,
                             int fd) {
  struct ax__uring_slot *slot = st->slots[e->slot - 1];
  slot->orphan_data = ax__uring_data(fd, e->gen, AX__URING_SEND);
  slot->sqe = NULL;
  slot->next_free = st->orphan_slots;
  st->orphan_slots = e->slot;
  e->slot = 0;
}

void ax__uring_orphan(struct ax__uring *st, const struct ax__uring_cqe *cqe) {
  if (cqe->flags & IORING_CQE_F_BUFFER)
    ax__uring_buf_recycle(st, sock_cqe_buf(st, cqe));
  if ((cqe->user_data & 0xffu) == AX__URING_ACCEPT && cqe->res >= 0)
    ax__close_fd(cqe->res);
  if ((cqe->user_data & 0xffu) == AX__URING_SEND && st->orphan_slots != 0)
    sock_orphan_slot_free(st, cqe->user_data);
  if (!(cqe->flags & IORING_CQE_F_MORE))
    st->orphans--;
}

/* ---- Closing ---- */

/* Cancel what the kernel holds for fd and submit: whether it took it. */
static bool sock_close_cancel(struct ax__uring *st, struct ax__uring_fd *e,
                              int fd) {
  struct io_uring_sqe *sqe = ax__uring_sqe(st);
  if (sqe == NULL)
    return false;
  io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(sqe, ax__uring_data(fd, e->gen, AX__URING_IGNORE));
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  return ax__uring_submit(st) == 0;
}

/* Give back what the socket holds: ring buffers, held connections. */
static void sock_release(struct ax__uring *st, struct ax__uring_fd *e) {
  if (e->flags & AX__URING_LISTENER) {
    if (e->u.accepted == 0)
      return;
    struct ax__uring_accepted *q = sock_accepted(st, e);
    for (unsigned int i = 0; i < q->len; i++)
      ax__close_fd(q->fds[(q->head + i) % q->cap]);
    ax__free(q);
    st->accepted[e->u.accepted - 1] = NULL;
    e->u.accepted = 0;
    return;
  }
  while (e->u.recv.head != 0)
    ax__uring_buf_recycle(st, sock_unhold(st, e));
}

/*
 * Cancel every operation on the descriptor in one entry, hand it to the
 * kernel now, and close the descriptor. The cancels of operations waiting
 * in the kernel (a receive, an accept, a send into a full buffer) take
 * effect inside that submit; SUBMIT_STABLE means the kernel has copied
 * every slot it was given, so the slot is free too. What completes after
 * belongs to an owner gone: the completions are dropped, and what they
 * carry released (ax__uring_orphan). So nothing is left to wait for, and
 * close never returns AX__OP_PENDING: the descriptor number may be reused
 * at once, under a new generation.
 */
static intptr_t uring_sock_close(ax_loop_t *loop, ax__sock_t *sock) {
  struct ax__uring *st = ax__uring_state(loop);
  int fd = sock->fd;
  struct ax__uring_fd *e = ax__uring_find(st, fd);
  sock->fd = -1;
  sock->ops = 0;
  if (fd < 0)
    return 0;
  if (e != NULL && e->io == sock) {
    sock_release(st, e);
    bool submitted = true;
    if (e->live != 0)
      submitted = sock_close_cancel(st, e, fd);
    /* A slot the kernel may not have read yet is never reused; a copy
     * the kernel holds lives until its completion. */
    if (submitted && e->slot != 0 && st->slots[e->slot - 1]->copy != NULL &&
        (e->live & URING_BIT(AX__URING_SEND)))
      sock_slot_orphan(st, e, fd);
    else if (submitted)
      sock_slot_put(st, e);
    ax__uring_reset(st, e);
    ax__uring_busy(loop);
  }
  ax__close_fd(fd);
  return 0;
}

const struct ax__sock_ops ax__uring_sock_ops = {
    .recv_start = uring_recv_start,
    .recv_stop = uring_recv_stop,
    .recv_copy = uring_recv_copy,
    .send = uring_send,
    .send_copy = uring_send_copy,
    .connect = uring_connect,
    .accept_start = uring_accept_start,
    .accept_stop = uring_accept_stop,
    .sock_close = uring_sock_close,
};
