/*
 * unix/io_uring.h: what the two files of the io_uring backend share.
 *
 * io_uring.c holds the ring (setup, probing, the one io_uring_enter per
 * iteration, the batch of completions and its dispatch), the table of
 * descriptors, and the descriptor polls of ax_poll_t and the wakeup
 * channel. io_uring-sock.c holds the socket operations of the contract
 * (backend.h) and the ring of provided buffers that receives use.
 *
 * Every operation in the kernel is named by its user_data: the descriptor
 * (high 32 bits), the generation of the descriptor's owner (24 bits) and
 * the operation's kind (8 bits); a file system request by its slot in
 * place of the descriptor (io_uring-fs.c), with no generation. A completion
 * whose generation is no longer its descriptor's belongs to an owner that is
 * gone (an ax_poll_t stopped, then its descriptor closed and reused): it is
 * dropped, and nothing it carries (a ring buffer, an accepted socket) leaks. So
 * no callback of a stopped operation ever runs, and no pointer is kept in the
 * kernel.
 */
#ifndef AX_UNIX_IO_URING_H
#define AX_UNIX_IO_URING_H

#include <liburing.h>
#include <stdbool.h>

#include "internal.h"

/* The calls that make the ring, behind a table as in unix/internal.h so
 * that tests can refuse them (ENOSYS, EPERM) or shrink the ring. */
struct ax__uring_syscalls {
  /* io_uring_queue_init_params(3): 0 or a negative errno. */
  int (*queue_init_params)(unsigned int entries, struct io_uring *ring,
                           struct io_uring_params *params);
  /* io_uring_submit_and_wait_timeout(3), with no signal mask: the wait
   * (ts NULL: no limit). A completion count or a negative errno. */
  int (*submit_and_wait_timeout)(struct io_uring *ring,
                                 struct io_uring_cqe **cqe,
                                 unsigned int wait_nr,
                                 struct __kernel_timespec *ts);
  /* io_uring_submit_and_get_events(3): the wait that does not block, and
   * the submit that makes room in a full queue (ax__uring_submit). */
  int (*submit_and_get_events)(struct io_uring *ring);
};

extern struct ax__uring_syscalls ax__uring_sys;
extern const struct ax__uring_syscalls ax__uring_sys_default;

/* Kinds of operation: user_data's low byte, and bits of the masks of a
 * descriptor's entry (1u << kind). */
enum {
  AX__URING_POLL = 0,    /* A descriptor poll (ax_poll_t, the wakeup). */
  AX__URING_RECV = 1,    /* Multishot receive into the buffer ring. */
  AX__URING_RPOLL = 2,   /* Readability poll standing in for RECV. */
  AX__URING_SEND = 3,    /* SENDMSG from a slot. */
  AX__URING_CONNECT = 4, /* CONNECT to an address in a slot. */
  AX__URING_ACCEPT = 5,  /* Multishot accept. */
  AX__URING_FS = 6,      /* A file system request (io_uring-fs.c). */
  AX__URING_IGNORE = 7,  /* A cancel or an update: its result is unused. */
};

/* Entry flags. */
enum {
  AX__URING_READY = 1u << 0,     /* On the ready list. */
  AX__URING_READ_MODE = 1u << 1, /* RECV from RPOLL: recv_copy reads. */
  AX__URING_LISTENER = 1u << 2,  /* Accepts: u is accepted. */
  AX__URING_UPDATE = 1u << 3,    /* A poll's new events wait for room. */
};

/* A listener's state: the sockets it holds while its user does not
 * accept, and the count of those delivered in the current dispatch. */
struct ax__uring_accepted {
  uint32_t seq;         /* The dispatch that delivered counts belong to. */
  unsigned int counted; /* Delivered in dispatch seq. */
  unsigned int head;    /* Index of the oldest. */
  unsigned int len;     /* How many are held. */
  unsigned int cap;     /* Room in fds. */
  int fds[];            /* A ring of held sockets. */
};

/*
 * One descriptor's state: the operations the kernel holds for it, what
 * its owner wants, and what the kernel gave that the owner has not taken.
 * A table of these, indexed by descriptor, in pages that never move, so
 * that a pointer to an entry stays valid across callbacks. A server holds
 * one per connection, so it is kept to 24 bytes: what a socket holds
 * beyond its first ring buffer is kept in that buffer's record, and a
 * listener's held connections in a table of the loop's.
 */
struct ax__uring_fd {
  ax__io_t *io;   /* The owner, or NULL. */
  uint32_t gen;   /* The owner's generation (user_data's middle bits). */
  uint32_t slot;  /* The send or connect slot in use, plus 1; 0: none. */
  uint8_t live;   /* Kinds the kernel holds: a final CQE is due. */
  uint8_t cancel; /* Kinds a cancel was queued for. */
  uint8_t want;   /* Kinds the owner wants running. */
  uint8_t flags;  /* AX__URING_READY, _READ_MODE, _LISTENER. */
  union {
    struct {
      /* Oldest ring buffer held, plus 1; 0: none. Its record holds the
       * newest and the count (struct ax__uring_buf). */
      uint16_t head;
      /* The end of the stream held: AX_EOF, an error, or 0. Every one
       * fits 16 bits (AX_EOF is -4095, errno values are smaller). */
      int16_t end;
    } recv;            /* A socket that receives. */
    uint32_t accepted; /* A listener: its index in accepted, plus 1. */
  } u;                 /* By what the socket does. */
};

/* A send's message and vector, or a connect's address: what the contract
 * lets the backend read during the call only, kept until completion. A
 * copied send (send_copy, for ax_try_write) holds its bytes here too. */
struct ax__uring_slot {
  struct msghdr msg;        /* SENDMSG's message. */
  struct iovec *iov;        /* inline_iov, or an allocation for long vectors. */
  uint32_t next_free;       /* The next free slot, plus 1; 0: none. On the
                             * orphan list: the next orphan, plus 1. */
  uint32_t copy_len;        /* A copied send: the bytes in copy. */
  uint32_t copy_sent;       /* Of those, sent by earlier (short) completions. */
  unsigned int sq_index;    /* copy's SEND entry's place in the queue. */
  char *copy;               /* A copied send's bytes, or NULL. */
  struct io_uring_sqe *sqe; /* That entry, while not yet submitted. */
  uint64_t orphan_data;     /* On the orphan list: its SEND's user_data. */
  union {
    struct iovec inline_iov[8];   /* Short vectors. */
    struct sockaddr_storage addr; /* CONNECT's address. */
  } u;                            /* By the operation. */
};

/* One ring buffer's bytes not yet taken by the engine. */
struct ax__uring_buf {
  uint32_t off;   /* Bytes taken. */
  uint32_t len;   /* Bytes received. */
  uint16_t next;  /* The next buffer held by the socket, plus 1. */
  uint16_t tail;  /* The oldest buffer held: the newest held, plus 1. */
  uint16_t count; /* The oldest buffer held: how many are held. */
};

/* A completion copied out of the CQ ring. */
struct ax__uring_cqe {
  uint64_t user_data; /* Descriptor, generation, kind. */
  int32_t res;        /* The result. */
  uint32_t flags;     /* IORING_CQE_F_*. */
};

enum {
  /* Idle pipes a loop keeps for sendfile (io_uring-fs.c): as many as
   * sendfiles usually run at once; one more is made when they all are in
   * use, and closed after it if this many are kept already. */
  AX__URING_FS_PIPES = 8,
};

/* The backend's state, loop->priv.platform.backend_data. */
struct ax__uring {
  struct io_uring ring;        /* The ring. */
  bool enabled;                /* Enabled by the thread that runs it. */
  bool starved;                /* Buffer ring empty: receive by RPOLL. */
  bool bufs_ok;                /* Buffer ring and multishot recv work. */
  bool recv_limit;             /* A receive's bytes can be limited. */
  bool counted;                /* Counted in loop io_count (busy). */
  bool rearm_scan;             /* The ready list lost one: scan. */
  struct ax__uring_fd **pages; /* The descriptor table, in pages. */
  uint32_t npages;             /* Pages in pages (some NULL). */
  unsigned int live_ops;       /* Operations in the kernel, all owners. */
  unsigned int orphans;        /* Of owners gone: their final CQE due. */
  int *ready;                  /* Descriptors with something to deliver. */
  uint32_t ready_len;          /* Descriptors in ready. */
  uint32_t ready_cap;          /* Room in ready. */
  struct ax__uring_accepted **accepted; /* Listeners' held, by index. */
  uint32_t naccepted;                   /* Room in accepted. */
  struct ax__uring_slot **slots;        /* Send and connect slots, by index. */
  uint32_t nslots;                      /* Slots made. */
  uint32_t free_slot;                   /* The first free slot, plus 1. */
  struct io_uring_buf_ring *br;         /* The provided buffers' ring. */
  char *buf_mem;              /* The buffers' bytes: room for the cap. */
  struct ax__uring_buf *bufs; /* Each buffer's held bytes. */
  uint32_t nbufs;             /* Buffers made so far (ids 0..nbufs-1). */
  uint32_t bufs_free;         /* Buffers the kernel may fill. */
  uint32_t starvations;       /* Times the ring ran empty (tests). */
  uint32_t rearms_late;       /* Re-arms put off, the ring full (tests). */
  uint32_t grows;             /* Times the ring grew (tests). */
  uint32_t grow_seq;          /* The dispatch it last grew in... */
  bool grown;                 /* ...if it grew at all. */
  uint32_t seq;               /* Dispatches so far. */
  int batch_len;              /* Completions of the batch. */
  int batch_next;             /* The next one to dispatch. */
  struct ax__uring_cqe batch[AX__MAX_EVENTS_PER_WAIT]; /* The last wait's. */
  /* File system requests (io_uring-fs.c). */
  struct ax__uring_fs_slot **fs_pages; /* Their slots, in pages. */
  uint32_t fs_npages;                  /* Pages made. */
  uint32_t fs_free;                    /* The first free slot, plus 1. */
  unsigned int fs_ops;                 /* Requests held, pending or not. */
  ax__queue_t fs_pending;              /* Not yet in the submission queue. */
  bool fs_native[AX_FS_TYPE_MAX];      /* Operations run here. */
  /* Empty pipes that sendfile's splices went through, kept for the next
   * (read end, write end). */
  int fs_pipes[AX__URING_FS_PIPES][2];
  unsigned int fs_npipes; /* Pipes in fs_pipes. */
  /* Copied sends (send_copy, io_uring-sock.c). Slots of closed sockets
   * whose copied send the kernel still holds, plus 1: each is freed by
   * its send's completion (ax__uring_orphan). */
  uint32_t orphan_slots;
  /* Free copy buffers, linked through the first bytes of each. */
  char *copies;
  /* Buffers in copies. */
  unsigned int copies_kept;
};

enum {
  /* Provided buffers, shared by the loop's receiving sockets, at most:
   * enough for every connection of a 1,000-connection burst to get one in
   * one wait. A power of two, as the buffer ring requires; the ring has
   * this many entries from the start (16 bytes each). */
  AX__URING_BUFS = 1024,
  /* Provided buffers made at first. The kernel takes buffers in ring
   * order, so every buffer made is touched once messages have cycled
   * through them: a loop whose connections are idle or few keeps 256 KiB,
   * not 4 MiB. The ring doubles, up to AX__URING_BUFS, each time a
   * receive finds it (almost) empty (io_uring-sock.c). */
  AX__URING_BUFS_MIN = 64,
  /* Bytes per provided buffer. */
  AX__URING_BUF_BYTES = 4096,
  /* Ring buffers one socket may hold before its receive is cancelled:
   * what a stalled reader pins at most. */
  AX__URING_HELD_MAX = 16,
  /* The buffer group id of the ring. */
  AX__URING_BGID = 0,
};

static inline struct ax__uring *ax__uring_state(const ax_loop_t *loop) {
  return loop->priv.platform.backend_data;
}

static inline uint64_t ax__uring_data(int fd, uint32_t gen, unsigned kind) {
  return (uint64_t)(uint32_t)fd << 32 | (uint64_t)(gen & 0xffffffu) << 8 | kind;
}

/* io_uring.c */
/* The entry of fd, or NULL if the table has none yet. */
struct ax__uring_fd *ax__uring_find(struct ax__uring *st, int fd);
/* The entry of io's descriptor, made io's if it has no owner. NULL with
 * *err set: out of memory (AX_ENOMEM) or owned by another io (AX_EEXIST). */
struct ax__uring_fd *ax__uring_attach(struct ax__uring *st, ax__io_t *io,
                                      int *err);
/* Hand the queued entries to the kernel now, without waiting: 0 or an
 * error. */
int ax__uring_submit(struct ax__uring *st);
/* A free submission queue entry, submitting the full queue first if need
 * be; NULL if even that failed. */
struct io_uring_sqe *ax__uring_sqe(struct ax__uring *st);
/* A submission queue entry for an operation of kind on fd: user_data set,
 * the kind marked live and its cancel mark cleared. NULL if the ring
 * cannot take one (submitting what it holds failed). */
struct io_uring_sqe *ax__uring_op(struct ax__uring *st, struct ax__uring_fd *e,
                                  int fd, unsigned kind);
/* Queue a cancel of the live operation of kind, unless one is queued. */
void ax__uring_cancel(struct ax__uring *st, struct ax__uring_fd *e, int fd,
                      unsigned kind);
/* A final CQE of kind was reaped. */
void ax__uring_done(struct ax__uring *st, struct ax__uring_fd *e,
                    unsigned kind);
/* Put fd on the ready list: dispatch delivers what it holds, and arms
 * again what its owner wants and the kernel no longer runs. Out of
 * memory, it sets rearm_scan instead: dispatch then looks through the
 * table. */
void ax__uring_ready(struct ax__uring *st, struct ax__uring_fd *e, int fd);
/* An operation that ended could not be armed again (the queue was full
 * and the submit that would make room failed): arm it at the next
 * dispatch instead, through the ready list. */
void ax__uring_rearm_later(struct ax__uring *st, struct ax__uring_fd *e,
                           int fd);
/* Forget the owner: a new generation; what the kernel still holds of it
 * becomes orphans, whose completions are dropped. */
void ax__uring_reset(struct ax__uring *st, struct ax__uring_fd *e);
/* Count the loop's io_count for what the backend holds. */
void ax__uring_busy(ax_loop_t *loop);
/* Whether a callback left e with the same owner: gen as before. */
static inline bool ax__uring_still(const struct ax__uring_fd *e, uint32_t gen) {
  return e->gen == gen;
}

/* io_uring-fs.c */
extern const struct ax__fs_ops ax__uring_fs_ops;
/* Decide which operations run here, from the probe and AX_URING_FS. */
void ax__uring_fs_init(struct ax__uring *st, struct io_uring_probe *probe);
void ax__uring_fs_fini(struct ax__uring *st);
/* Write the pending requests into the submission queue (wait). */
void ax__uring_fs_flush(struct ax__uring *st);
/* A file system request's completion. */
void ax__uring_fs_complete(ax_loop_t *loop, const struct ax__uring_cqe *cqe);

/* io_uring-sock.c */
extern const struct ax__sock_ops ax__uring_sock_ops;
/* The ring buffers a receiving socket holds. */
static inline unsigned int ax__uring_held(const struct ax__uring *st,
                                          const struct ax__uring_fd *e) {
  return e->u.recv.head != 0 ? st->bufs[e->u.recv.head - 1].count : 0u;
}
/* Set up the buffer ring: false if the kernel refuses it. */
bool ax__uring_bufs_init(struct ax__uring *st);
void ax__uring_bufs_fini(struct ax__uring *st);
/* Give a ring buffer back to the kernel. */
void ax__uring_buf_recycle(struct ax__uring *st, unsigned bid);
/* A socket completion (every kind but POLL and IGNORE). */
void ax__uring_sock_complete(ax_loop_t *loop, struct ax__uring_fd *e, int fd,
                             const struct ax__uring_cqe *cqe);
/* Deliver what a socket on the ready list holds. */
void ax__uring_sock_ready(ax_loop_t *loop, struct ax__uring_fd *e, int fd);
/* A completion of an owner gone: release what it carries. */
void ax__uring_orphan(struct ax__uring *st, const struct ax__uring_cqe *cqe);
/* Free what a slot and a listener hold (fini). */
void ax__uring_slots_fini(struct ax__uring *st);

#endif /* AX_UNIX_IO_URING_H */
