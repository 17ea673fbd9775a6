/*
 * unix/stream.c: streams on POSIX systems, driven by readiness.
 *
 * The backend watches a stream's socket for exactly what the stream waits
 * for: reading while the user reads, writing while bytes are queued or a
 * connect is in progress. So an idle connection is one registration and
 * holds no buffer.
 *
 * Writes. The queue is a circular list of write requests through
 * priv.next; the stream points at the newest, whose next is the oldest. A
 * request leaves the list when its callback runs, in the pending phase;
 * until then the finished requests lead the list (their bytes are with the
 * kernel), and the ones with bytes left follow. So the newest request tells
 * whether anything is left to write, and the close phase finds every
 * request whose callback is still due and completes it before the close
 * callback, after which the stream's memory may be gone. A write is tried
 * at once when nothing is left before it; what the kernel does not take
 * waits for writability and then goes out with sendmsg() calls of up to
 * STREAM_IOV_MAX buffers gathered across requests, in order.
 *
 * Reads. Each wakeup asks the alloc callback for a buffer and reads into
 * it, again while the kernel fills whole buffers, at most
 * STREAM_READS_PER_WAKEUP times, so that one busy peer cannot hold the
 * loop.
 *
 * Every user callback may close the stream. The code after each call
 * checks for that, and then touches only the stream itself, whose memory
 * stays valid until the close callback.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "stream.h"

enum {
  /* What the alloc callback is asked for: the most a loopback read
   * returns at once on Linux, and what libuv asks for too. */
  STREAM_READ_SUGGESTED_BYTES = 64 * 1024,
  /* Reads per wakeup while the kernel fills whole buffers. */
  STREAM_READS_PER_WAKEUP = 32,
  /* Buffers per sendmsg(): IOV_MAX on Linux, macOS and the BSDs. */
  STREAM_IOV_MAX = 1024,
  /* sendmsg() calls per flush while the kernel takes everything given. */
  STREAM_SENDS_PER_FLUSH = 8,
  /* Bytes per read() or sendmsg(): macOS refuses more than INT_MAX with
   * EINVAL, where Linux quietly does less. */
  STREAM_IO_MAX_BYTES = INT_MAX,
};

_Static_assert(AX_WRITE_MAX_BUFS <= STREAM_IOV_MAX,
               "axle: one try-write must fit in one sendmsg()");
/* ax_buf_t is laid out as struct iovec (axle/unix.h). */
_Static_assert(sizeof(ax_buf_t) == sizeof(struct iovec) &&
                   offsetof(ax_buf_t, base) ==
                       offsetof(struct iovec, iov_base) &&
                   offsetof(ax_buf_t, len) == offsetof(struct iovec, iov_len),
               "axle: ax_buf_t is not laid out as struct iovec");

static void stream_io_cb(ax_loop_t *loop, ax__io_t *io, unsigned int events);

bool ax__stream_closing(const ax_stream_t *stream) {
  return ax__handle_is_closing(&stream->handle);
}

static bool stream_has(const ax_stream_t *stream, unsigned int flags) {
  return (stream->handle.priv_flags & flags) != 0;
}

void ax__stream_init(ax_loop_t *loop, ax_stream_t *stream,
                     ax_handle_type type) {
  ax__handle_init(loop, &stream->handle, type);
  memset(&stream->priv, 0, sizeof(stream->priv));
  ax__io_init(&stream->priv.io, stream_io_cb, -1);
}

void ax__stream_open(ax_stream_t *stream, int fd, unsigned int flags) {
  stream->priv.io.fd = fd;
  stream->handle.priv_flags |= flags;
}

/* A stream is active while it reads or listens: requests keep the loop
 * alive by themselves. */
static void stream_update_active(ax_stream_t *stream) {
  if (stream_has(stream, AX__STREAM_READING | AX__STREAM_LISTENING))
    ax__handle_start(&stream->handle);
  else
    ax__handle_stop(&stream->handle);
}

/* Take a deferred completion back out of the pending phase. Returns
 * whether it was there, i.e. whether the request had finished. */
static bool stream_pending_take(ax__pending_t *pending) {
  if (ax__queue_empty(&pending->node))
    return false;
  ax__queue_remove(&pending->node);
  return true;
}

/* ---- The write queue ---- */

static bool write_done(const ax_write_t *req) {
  return req->priv.next_buf == req->priv.nbufs;
}

/* Whether any request has bytes left: finished requests lead the list,
 * so the newest tells. */
static bool stream_has_unwritten(const ax_stream_t *stream) {
  const ax_write_t *tail = stream->priv.write_tail;
  return tail != NULL && !write_done(tail);
}

static ax_write_t *stream_first_unwritten(const ax_stream_t *stream) {
  if (!stream_has_unwritten(stream))
    return NULL;
  ax_write_t *req = stream->priv.write_tail->priv.next;
  while (write_done(req))
    req = req->priv.next;
  return req;
}

static void stream_write_append(ax_stream_t *stream, ax_write_t *req) {
  ax_write_t *tail = stream->priv.write_tail;
  if (tail == NULL) {
    req->priv.next = req;
  } else {
    req->priv.next = tail->priv.next;
    tail->priv.next = req;
  }
  stream->priv.write_tail = req;
}

/* Finish a request: its bytes went out (status 0) or never will. Its
 * callback runs from the pending phase, or from the close phase first. */
static void stream_write_complete(ax_stream_t *stream, ax_write_t *req,
                                  int status) {
  req->priv.next_buf = req->priv.nbufs;
  req->priv.status = status;
  ax__pending_push(stream->handle.loop, &req->priv.pending);
}

/* Take the oldest request off the list and run its callback. */
static void stream_write_deliver(ax_stream_t *stream, ax_write_t *req,
                                 int status) {
  ax_write_t *tail = stream->priv.write_tail;
  assert(tail != NULL && tail->priv.next == req &&
         "axle: write callbacks out of order");
  if (tail == req)
    stream->priv.write_tail = NULL;
  else
    tail->priv.next = req->priv.next;
  if (req->priv.bufs != req->priv.inline_bufs)
    ax__free(req->priv.bufs);
  req->priv.bufs = NULL;
  stream->handle.loop->priv.active_reqs--;
  req->priv.cb(req, status);
}

static void stream_write_pending_cb(ax_loop_t *loop, ax__pending_t *pending) {
  (void)loop;
  ax_write_t *req = ax_container_of(pending, ax_write_t, priv.pending);
  stream_write_deliver(req->handle, req, req->priv.status);
}

static void stream_shutdown_complete(ax_shutdown_t *req, int status);

/* The shutdown waiting for the queue to drain, or NULL. */
static ax_shutdown_t *stream_shutdown_waiting(const ax_stream_t *stream) {
  ax_req_t *req = stream->priv.req;
  if (req == NULL || req->type != AX_SHUTDOWN)
    return NULL;
  ax_shutdown_t *shutdown = (ax_shutdown_t *)req;
  return ax__queue_empty(&shutdown->priv.pending.node) ? shutdown : NULL;
}

/* Fail every request from first on with err: the connection is broken,
 * or never came. A shutdown waiting for them fails with them. */
static void stream_write_fail(ax_stream_t *stream, ax_write_t *first, int err) {
  for (ax_write_t *req = first; req != NULL;) {
    ax_write_t *next = req == stream->priv.write_tail ? NULL : req->priv.next;
    stream_write_complete(stream, req, err);
    req = next;
  }
  stream->priv.write_queue_size = 0;
  ax_shutdown_t *shutdown = stream_shutdown_waiting(stream);
  if (shutdown != NULL)
    stream_shutdown_complete(shutdown, err);
}

/* Add buf to iov unless full; returns whether there is room for more. */
static bool stream_iov_add(struct iovec *iov, int *count, size_t *bytes,
                           const ax_buf_t *buf) {
  size_t room = (size_t)STREAM_IO_MAX_BYTES - *bytes;
  size_t len = buf->len < room ? buf->len : room;
  if (len != 0) {
    iov[*count].iov_base = buf->base;
    iov[*count].iov_len = len;
    *bytes += len;
    (*count)++;
  }
  return *count < STREAM_IOV_MAX && *bytes < (size_t)STREAM_IO_MAX_BYTES;
}

/* Gather the bytes left from first on into iov, up to STREAM_IOV_MAX
 * buffers and STREAM_IO_MAX_BYTES; *total is their sum. */
static int stream_write_gather(const ax_stream_t *stream, ax_write_t *first,
                               struct iovec *iov, size_t *total) {
  int count = 0;
  size_t bytes = 0;
  bool room = true;
  for (ax_write_t *req = first; room; req = req->priv.next) {
    const struct ax__write_private *w = &req->priv;
    for (unsigned int i = w->next_buf; i < w->nbufs && room; i++)
      room = stream_iov_add(iov, &count, &bytes, &w->bufs[i]);
    if (req == stream->priv.write_tail)
      break;
  }
  *total = bytes;
  return count;
}

/* Account for n bytes the kernel took, from first on, completing the
 * requests it finished. Returns the first request with bytes left. */
static ax_write_t *stream_write_advance(ax_stream_t *stream, ax_write_t *first,
                                        size_t n) {
  stream->priv.write_queue_size -= n;
  for (ax_write_t *req = first;; req = req->priv.next) {
    struct ax__write_private *w = &req->priv;
    while (w->next_buf < w->nbufs) {
      ax_buf_t *buf = &w->bufs[w->next_buf];
      if (buf->len > n) {
        buf->base += n;
        buf->len -= n;
        return req;
      }
      n -= buf->len;
      w->next_buf++;
    }
    bool last = req == stream->priv.write_tail;
    stream_write_complete(stream, req, 0);
    if (last)
      return NULL;
  }
}

/* sendmsg() with EINTR retried. Returns the bytes sent or an error. */
static ssize_t stream_send(int fd, struct iovec *iov, int count) {
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = iov;
  msg.msg_iovlen = count;
  for (;;) {
    ssize_t n = ax__sys.sendmsg(fd, &msg, ax__sock_send_flags);
    if (n >= 0)
      return n;
    if (errno != EINTR)
      return ax_translate_sys_error(errno);
  }
}

static void stream_shutdown_now(ax_stream_t *stream, ax_shutdown_t *req);

/* After a flush: watch for writability while bytes are left, else stop
 * watching and let a waiting shutdown go. */
static void stream_write_rearm(ax_stream_t *stream) {
  ax_loop_t *loop = stream->handle.loop;
  if (stream_has_unwritten(stream)) {
    int err = ax__io_start(loop, &stream->priv.io, AX__IO_WRITE);
    if (err == 0)
      return;
    stream_write_fail(stream, stream_first_unwritten(stream), err);
  }
  ax__io_stop(loop, &stream->priv.io, AX__IO_WRITE);
  ax_shutdown_t *shutdown = stream_shutdown_waiting(stream);
  if (shutdown != NULL)
    stream_shutdown_now(stream, shutdown);
}

/* Write what is queued, from first (the first request with bytes left,
 * or NULL to find it). Calls no user callback. */
static void stream_write_flush(ax_stream_t *stream, ax_write_t *first) {
  struct iovec iov[STREAM_IOV_MAX];
  if (first == NULL)
    first = stream_first_unwritten(stream);
  for (int i = 0; first != NULL && i < STREAM_SENDS_PER_FLUSH; i++) {
    size_t total;
    int count = stream_write_gather(stream, first, iov, &total);
    ssize_t n = 0;
    if (count > 0)
      n = stream_send(stream->priv.io.fd, iov, count);
    if (n == AX_EAGAIN)
      break;
    if (n < 0) {
      stream_write_fail(stream, first, (int)n);
      break;
    }
    first = stream_write_advance(stream, first, (size_t)n);
    if ((size_t)n < total)
      break;
  }
  stream_write_rearm(stream);
}

/* ---- Water marks ---- */

/* Report a crossing of a water mark, if there is one to report. */
static void stream_water_check(ax_stream_t *stream) {
  struct ax__stream_ext *ext = stream->priv.ext;
  if (ext == NULL || ext->kind != AX__STREAM_EXT_WATER ||
      ext->u.water.cb == NULL || ax__stream_closing(stream))
    return;
  struct ax__stream_water *water = &ext->u.water;
  size_t size = stream->priv.write_queue_size;
  if (!water->above && size >= water->high_bytes) {
    water->above = true;
    water->cb(stream, true);
  } else if (water->above && size <= water->low_bytes) {
    water->above = false;
    water->cb(stream, false);
  }
}

int ax_stream_set_water_marks(ax_stream_t *stream, size_t low_bytes,
                              size_t high_bytes, ax_water_cb water_cb) {
  if (stream == NULL || low_bytes >= high_bytes)
    return AX_EINVAL;
  if (ax__stream_closing(stream))
    return AX_EBADF;
  struct ax__stream_ext *ext = stream->priv.ext;
  if (ext != NULL && ext->kind != AX__STREAM_EXT_WATER)
    return AX_EINVAL; /* A listener has no write queue. */
  if (ext == NULL) {
    ext = ax__calloc(1, sizeof(*ext));
    if (ext == NULL)
      return AX_ENOMEM;
    ext->kind = AX__STREAM_EXT_WATER;
    stream->priv.ext = ext;
  }
  ext->u.water.low_bytes = low_bytes;
  ext->u.water.high_bytes = high_bytes;
  ext->u.water.cb = water_cb;
  if (water_cb == NULL)
    ext->u.water.above = false;
  return 0;
}

/* ---- Writing ---- */

static int stream_write_check(const ax_stream_t *stream, const ax_buf_t bufs[],
                              unsigned int nbufs) {
  if (stream == NULL || bufs == NULL || nbufs == 0 || nbufs > AX_WRITE_MAX_BUFS)
    return AX_EINVAL;
  if (ax__stream_closing(stream))
    return AX_EBADF;
  if (stream_has(stream, AX__STREAM_SHUTDOWN))
    return AX_EPIPE;
  if (!stream_has(stream, AX__STREAM_CONNECTED | AX__STREAM_CONNECTING))
    return AX_ENOTCONN;
  return 0;
}

/* Fill a write request, copying the vector. Returns 0 or AX_ENOMEM. */
static int stream_write_init(ax_write_t *req, ax_stream_t *stream,
                             const ax_buf_t bufs[], unsigned int nbufs,
                             ax_write_cb write_cb, size_t *total) {
  ax_buf_t *copy = req->priv.inline_bufs;
  if (nbufs > AX__WRITE_INLINE_BUFS) {
    copy = ax__malloc((size_t)nbufs * sizeof(*copy));
    if (copy == NULL)
      return AX_ENOMEM;
  }
  memcpy(copy, bufs, (size_t)nbufs * sizeof(*copy));
  size_t sum = 0;
  for (unsigned int i = 0; i < nbufs; i++)
    sum += bufs[i].len;
  req->req.type = AX_WRITE;
  req->req.loop = stream->handle.loop;
  req->handle = stream;
  req->priv.next = NULL;
  req->priv.cb = write_cb;
  req->priv.bufs = copy;
  req->priv.nbufs = nbufs;
  req->priv.next_buf = 0;
  req->priv.status = 0;
  ax__queue_init(&req->priv.pending.node);
  req->priv.pending.cb = stream_write_pending_cb;
  *total = sum;
  return 0;
}

int ax_write(ax_write_t *req, ax_stream_t *stream, const ax_buf_t bufs[],
             unsigned int nbufs, ax_write_cb write_cb) {
  if (req == NULL || write_cb == NULL)
    return AX_EINVAL;
  int err = stream_write_check(stream, bufs, nbufs);
  if (err != 0)
    return err;
  size_t total;
  err = stream_write_init(req, stream, bufs, nbufs, write_cb, &total);
  if (err != 0)
    return err;
  bool idle = !stream_has_unwritten(stream);
  stream_write_append(stream, req);
  stream->priv.write_queue_size += total;
  stream->handle.loop->priv.active_reqs++;
  if (idle && stream_has(stream, AX__STREAM_CONNECTED))
    stream_write_flush(stream, req);
  stream_water_check(stream);
  return 0;
}

int ax_try_write(ax_stream_t *stream, const ax_buf_t bufs[],
                 unsigned int nbufs) {
  int err = stream_write_check(stream, bufs, nbufs);
  if (err != 0)
    return err;
  if (stream_has(stream, AX__STREAM_CONNECTING) || stream_has_unwritten(stream))
    return AX_EAGAIN;
  /* At most STREAM_IO_MAX_BYTES, so that the count fits the result. */
  struct iovec iov[STREAM_IOV_MAX];
  size_t total = 0;
  int count = 0;
  for (unsigned int i = 0; i < nbufs; i++) {
    if (!stream_iov_add(iov, &count, &total, &bufs[i]))
      break;
  }
  if (count == 0)
    return 0;
  return (int)stream_send(stream->priv.io.fd, iov, count);
}

size_t ax_stream_get_write_queue_size(const ax_stream_t *stream) {
  return stream != NULL ? stream->priv.write_queue_size : 0;
}

/* ---- Shutdown ---- */

static void stream_shutdown_pending_cb(ax_loop_t *loop,
                                       ax__pending_t *pending) {
  ax_shutdown_t *req = ax_container_of(pending, ax_shutdown_t, priv.pending);
  req->handle->priv.req = NULL;
  loop->priv.active_reqs--;
  req->priv.cb(req, req->priv.status);
}

static void stream_shutdown_complete(ax_shutdown_t *req, int status) {
  req->priv.status = status;
  ax__pending_push(req->req.loop, &req->priv.pending);
}

static void stream_shutdown_now(ax_stream_t *stream, ax_shutdown_t *req) {
  int status = 0;
  if (ax__sys.shutdown(stream->priv.io.fd, SHUT_WR) != 0)
    status = ax_translate_sys_error(errno);
  stream_shutdown_complete(req, status);
}

int ax_shutdown(ax_shutdown_t *req, ax_stream_t *stream,
                ax_shutdown_cb shutdown_cb) {
  if (req == NULL || stream == NULL || shutdown_cb == NULL)
    return AX_EINVAL;
  if (ax__stream_closing(stream))
    return AX_EBADF;
  if (stream_has(stream, AX__STREAM_SHUTDOWN))
    return AX_EALREADY;
  if (!stream_has(stream, AX__STREAM_CONNECTED))
    return AX_ENOTCONN;
  req->req.type = AX_SHUTDOWN;
  req->req.loop = stream->handle.loop;
  req->handle = stream;
  req->priv.cb = shutdown_cb;
  req->priv.status = 0;
  ax__queue_init(&req->priv.pending.node);
  req->priv.pending.cb = stream_shutdown_pending_cb;
  stream->priv.req = &req->req;
  stream->handle.priv_flags |= AX__STREAM_SHUTDOWN;
  stream->handle.loop->priv.active_reqs++;
  if (!stream_has_unwritten(stream))
    stream_shutdown_now(stream, req);
  return 0;
}

/* ---- Connecting ---- */

/* The connect is over: run its callback, then send what was queued
 * meanwhile, or cancel it if the connection never came. */
static void stream_connect_finish(ax_stream_t *stream, int status) {
  ax_connect_t *req = (ax_connect_t *)stream->priv.req;
  stream->priv.req = NULL;
  stream->handle.priv_flags &= ~AX__STREAM_CONNECTING;
  if (status == 0)
    stream->handle.priv_flags |= AX__STREAM_CONNECTED;
  else
    stream_write_fail(stream, stream_first_unwritten(stream), AX_ECANCELED);
  if (!stream_has_unwritten(stream))
    ax__io_stop(stream->handle.loop, &stream->priv.io, AX__IO_WRITE);
  stream->handle.loop->priv.active_reqs--;
  req->priv.cb(req, status);
  if (ax__stream_closing(stream))
    return;
  if (status == 0 && stream_has_unwritten(stream))
    stream_write_flush(stream, NULL);
  stream_water_check(stream);
}

static void stream_connect_pending_cb(ax_loop_t *loop, ax__pending_t *pending) {
  (void)loop;
  ax_connect_t *req = ax_container_of(pending, ax_connect_t, priv.pending);
  stream_connect_finish(req->handle, req->priv.status);
}

void ax__stream_connect_begin(ax_stream_t *stream, ax_connect_t *req,
                              bool in_progress, int status) {
  req->priv.status = status;
  ax__queue_init(&req->priv.pending.node);
  req->priv.pending.cb = stream_connect_pending_cb;
  stream->priv.req = &req->req;
  stream->handle.priv_flags |= AX__STREAM_CONNECTING;
  stream->handle.loop->priv.active_reqs++;
  if (!in_progress)
    ax__pending_push(stream->handle.loop, &req->priv.pending);
}

/* The socket became writable while connecting: the connect is over, and
 * SO_ERROR tells how. */
static void stream_connect_ready(ax_stream_t *stream) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (ax__sys.getsockopt(stream->priv.io.fd, SOL_SOCKET, SO_ERROR, &err,
                         &len) != 0)
    err = errno;
  stream_connect_finish(stream, ax_translate_sys_error(err));
}

/* ---- Reading ---- */

int ax_read_start(ax_stream_t *stream, ax_alloc_cb alloc_cb,
                  ax_read_cb read_cb) {
  if (stream == NULL || alloc_cb == NULL || read_cb == NULL)
    return AX_EINVAL;
  if (ax__stream_closing(stream))
    return AX_EBADF;
  if (stream_has(stream, AX__STREAM_READING))
    return AX_EALREADY;
  if (!stream_has(stream, AX__STREAM_CONNECTED) ||
      stream_has(stream, AX__STREAM_READ_EOF))
    return AX_ENOTCONN;
  int err = ax__io_start(stream->handle.loop, &stream->priv.io, AX__IO_READ);
  if (err != 0)
    return err;
  stream->priv.alloc_cb = alloc_cb;
  stream->priv.read_cb = read_cb;
  stream->handle.priv_flags |= AX__STREAM_READING;
  stream_update_active(stream);
  return 0;
}

/* Stop reading; with eof, for good. */
static void stream_read_end(ax_stream_t *stream, bool eof) {
  stream->handle.priv_flags &= ~AX__STREAM_READING;
  if (eof)
    stream->handle.priv_flags |= AX__STREAM_READ_EOF;
  ax__io_stop(stream->handle.loop, &stream->priv.io, AX__IO_READ);
  stream_update_active(stream);
}

int ax_read_stop(ax_stream_t *stream) {
  if (stream == NULL)
    return AX_EINVAL;
  if (stream_has(stream, AX__STREAM_READING))
    stream_read_end(stream, false);
  return 0;
}

/* read() with EINTR retried. Returns the bytes read or an error. */
static ssize_t stream_read_once(int fd, const ax_buf_t *buf) {
  size_t len = buf->len < (size_t)STREAM_IO_MAX_BYTES
                   ? buf->len
                   : (size_t)STREAM_IO_MAX_BYTES;
  for (;;) {
    ssize_t n = ax__sys.read(fd, buf->base, len);
    if (n >= 0)
      return n;
    if (errno != EINTR)
      return ax_translate_sys_error(errno);
  }
}

/* One read into a buffer from the alloc callback. Returns whether to read
 * again: the kernel filled the whole buffer, and the stream still reads. */
static bool stream_read_one(ax_stream_t *stream) {
  ax_buf_t buf = {0};
  stream->priv.alloc_cb(&stream->handle, STREAM_READ_SUGGESTED_BYTES, &buf);
  /* Closed inside the alloc callback: no callback may follow but the close
   * callback, so the buffer is not handed back (docs/tcp.md). */
  if (ax__stream_closing(stream))
    return false;
  if (!stream_has(stream, AX__STREAM_READING)) {
    stream->priv.read_cb(stream, 0, &buf); /* Stopped meanwhile. */
    return false;
  }
  ssize_t n = AX_ENOBUFS;
  if (buf.base != NULL && buf.len != 0)
    n = stream_read_once(stream->priv.io.fd, &buf);
  if (n == AX_EAGAIN) {
    stream->priv.read_cb(stream, 0, &buf);
    return false;
  }
  if (n <= 0)
    stream_read_end(stream, n == 0);
  stream->priv.read_cb(stream, n == 0 ? AX_EOF : n, &buf);
  return n > 0 && (size_t)n == buf.len; /* A full buffer: maybe more. */
}

static void stream_read_ready(ax_stream_t *stream) {
  for (int i = 0; i < STREAM_READS_PER_WAKEUP; i++) {
    if (!stream_read_one(stream) || ax__stream_closing(stream) ||
        !stream_has(stream, AX__STREAM_READING))
      return;
  }
}

bool ax_is_readable(const ax_stream_t *stream) {
  return stream != NULL && !ax__stream_closing(stream) &&
         stream_has(stream, AX__STREAM_CONNECTED) &&
         !stream_has(stream, AX__STREAM_READ_EOF);
}

bool ax_is_writable(const ax_stream_t *stream) {
  return stream != NULL && !ax__stream_closing(stream) &&
         stream_has(stream, AX__STREAM_CONNECTED) &&
         !stream_has(stream, AX__STREAM_SHUTDOWN);
}

/* ---- Readiness ---- */

static void stream_io_cb(ax_loop_t *loop, ax__io_t *io, unsigned int events) {
  (void)loop;
  ax_stream_t *stream = ax_container_of(io, ax_stream_t, priv.io);
  if (stream_has(stream, AX__STREAM_LISTENING)) {
    ax__stream_listen_ready(stream);
    return;
  }
  if (stream_has(stream, AX__STREAM_CONNECTING)) {
    stream_connect_ready(stream);
    return;
  }
  if ((events & AX__IO_WRITE) && stream_has_unwritten(stream)) {
    stream_write_flush(stream, NULL);
    stream_water_check(stream);
    if (ax__stream_closing(stream))
      return;
  }
  if ((events & AX__IO_READ) && stream_has(stream, AX__STREAM_READING))
    stream_read_ready(stream);
}

/* ---- Closing ---- */

void ax__stream_close(ax_stream_t *stream) {
  if (stream_has(stream, AX__STREAM_LISTENING))
    ax__stream_listen_close(stream);
  if (stream->priv.io.fd >= 0) {
    ax__io_stop(stream->handle.loop, &stream->priv.io,
                AX__IO_READ | AX__IO_WRITE);
    ax__close_fd(stream->priv.io.fd);
    stream->priv.io.fd = -1;
  }
  stream->handle.priv_flags &= ~(AX__STREAM_READING | AX__STREAM_LISTENING |
                                 AX__STREAM_CONNECTING);
}

/* The close phase, before the close callback: every request whose
 * callback is due gets it now, in the order of their operations. One that
 * had finished reports how; one still in progress reports AX_ECANCELED. */
void ax__stream_closed(ax_stream_t *stream) {
  ax_loop_t *loop = stream->handle.loop;
  ax_req_t *req = stream->priv.req;
  stream->priv.req = NULL;
  if (req != NULL && req->type == AX_CONNECT) {
    ax_connect_t *connect = (ax_connect_t *)req;
    bool done = stream_pending_take(&connect->priv.pending);
    loop->priv.active_reqs--;
    connect->priv.cb(connect, done ? connect->priv.status : AX_ECANCELED);
  }
  while (stream->priv.write_tail != NULL) {
    ax_write_t *write = stream->priv.write_tail->priv.next;
    bool done = stream_pending_take(&write->priv.pending);
    stream_write_deliver(stream, write,
                         done ? write->priv.status : AX_ECANCELED);
  }
  stream->priv.write_queue_size = 0;
  if (req != NULL && req->type == AX_SHUTDOWN) {
    ax_shutdown_t *shutdown = (ax_shutdown_t *)req;
    bool done = stream_pending_take(&shutdown->priv.pending);
    loop->priv.active_reqs--;
    shutdown->priv.cb(shutdown, done ? shutdown->priv.status : AX_ECANCELED);
  }
  ax__free(stream->priv.ext);
  stream->priv.ext = NULL;
}
