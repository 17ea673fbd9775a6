/*
 * stream.c: the stream engine, written once for every backend over the
 * socket operations of the backend contract (backend.h): RECV, SEND,
 * CONNECT and CLOSE; listen.c adds ACCEPT.
 *
 * Writes. The queue is a circular list of write requests through
 * priv.next; the stream points at the newest, whose next is the oldest. A
 * request leaves the list when its callback runs, in the pending phase;
 * until then the finished requests lead the list (their bytes are with the
 * kernel), and the ones with bytes left follow. So the newest request tells
 * whether anything is left to write, and the close phase finds every
 * request whose callback is still due and completes it before the close
 * callback, after which the stream's memory may be gone. A write is sent at
 * once when nothing is left before it. What the kernel does not take stays
 * in flight as the stream's one SEND operation; when it completes, what is
 * left goes out in SEND operations of up to STREAM_IOV_MAX buffers gathered
 * across requests, in order.
 *
 * Try-writes. Where the backend's sends wait for its next wait (io_uring:
 * send_copy), a small ax_try_write() on a stream with nothing queued is
 * copied by the backend and sent as the stream's SEND, flagged SEND_COPY:
 * it rides in the system call the iteration makes anyway. Its bytes count
 * in the write queue's size until the kernel has them, so that a size of
 * 0 still means "all with the kernel". Writes queued meanwhile wait
 * behind it, as behind any SEND, and so does a shutdown; its error fails
 * them. Elsewhere, for larger writes, and while the kernel last said it
 * had no room, try_write calls the kernel directly.
 *
 * Reads. Each RECV completion asks the alloc callback for a buffer and
 * reads into it, again while the kernel fills whole buffers, at most
 * STREAM_READS_PER_WAKEUP times, so that one busy peer cannot hold the
 * loop.
 *
 * Closing. ax_close() closes the socket through the backend, which
 * cancels its operations. A completion backend (IOCP) still owns some of
 * them until their packets come back, so the close callback waits for the
 * CLOSE completion (ax__handle_close_wait). Then, in the close phase,
 * every request completes: with its outcome if it had one, else with
 * AX_ECANCELED.
 *
 * Every user callback may close the stream. The code after each call
 * checks for that, and then touches only the stream itself, whose memory
 * stays valid until the close callback.
 */
#include <limits.h>
#include <string.h>

#include "pipe.h"

enum {
  /* What the alloc callback is asked for: the most a loopback read
   * returns at once on Linux, and what libuv asks for too. */
  STREAM_READ_SUGGESTED_BYTES = 64 * 1024,
  /* Reads per wakeup while the kernel fills whole buffers. */
  STREAM_READS_PER_WAKEUP = 32,
  /* Buffers per SEND: IOV_MAX on Linux, macOS and the BSDs. */
  STREAM_IOV_MAX = 1024,
  /* SEND operations per flush while the kernel takes everything given. */
  STREAM_SENDS_PER_FLUSH = 8,
  /* Bytes per SEND: macOS refuses more than INT_MAX with EINVAL, where
   * Linux quietly does less; Windows counts in a DWORD. */
  STREAM_IO_MAX_BYTES = INT_MAX,
};

int ax__stream_init(ax_loop_t *loop, ax_stream_t *stream, ax_handle_type type) {
  int err = ax__handle_init(loop, &stream->handle, type);
  if (err != 0)
    return err;
  memset(&stream->priv, 0, sizeof(stream->priv));
  ax__sock_init(&stream->priv.sock, ax__stream_sock_cb);
  return 0;
}

int ax__stream_open(ax_stream_t *stream, ax_os_sock_t sock,
                    unsigned int flags) {
  int err = ax__sock_attach(stream->handle.loop, &stream->priv.sock, sock);
  if (err == 0)
    stream->handle.priv_flags |= flags;
  return err;
}

/* A stream is active while it reads or listens: requests keep the loop
 * alive by themselves. */
static void stream_update_active(ax_stream_t *stream) {
  if (ax__stream_has(stream, AX__STREAM_READING | AX__STREAM_LISTENING))
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
  req->priv.next = NULL;
  stream->handle.loop->priv.active_reqs--;
  if (req->priv.cb != NULL) /* NULL: the caller wants no word, as in libuv. */
    req->priv.cb(req, status);
}

static void stream_write_flush(ax_stream_t *stream, ax_write_t *first);
static void stream_water_check(ax_stream_t *stream);

/* A write's callback, from the pending phase. A flush that stopped at
 * STREAM_SENDS_PER_FLUSH while the kernel took everything left bytes
 * queued with no SEND in flight to send them: they go on from here, one
 * bounded flush per iteration. That flush completed a request (a SEND of
 * STREAM_IOV_MAX buffers finishes one at least), so this callback is
 * due. */
static void stream_write_pending_cb(ax_loop_t *loop, ax__pending_t *pending) {
  (void)loop;
  ax_write_t *req = ax_container_of(pending, ax_write_t, priv.pending);
  ax_stream_t *stream = req->handle;
  stream_write_deliver(stream, req, req->priv.status);
  if (ax__stream_closing(stream) ||
      !ax__stream_has(stream, AX__STREAM_CONNECTED) ||
      ax__stream_has(stream, AX__STREAM_SENDING) ||
      !stream_has_unwritten(stream))
    return;
  stream_write_flush(stream, NULL);
  stream_water_check(stream);
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
static bool stream_iov_add(ax_buf_t *iov, unsigned int *count, size_t *bytes,
                           const ax_buf_t *buf) {
  size_t room = (size_t)STREAM_IO_MAX_BYTES - *bytes;
  size_t len = buf->len < room ? buf->len : room;
  if (len != 0) {
    iov[*count] = *buf;
    iov[*count].len = len;
    *bytes += len;
    (*count)++;
  }
  return *count < STREAM_IOV_MAX && *bytes < (size_t)STREAM_IO_MAX_BYTES;
}

/* Gather the bytes left from first on into iov, up to STREAM_IOV_MAX
 * buffers and STREAM_IO_MAX_BYTES; *total is their sum. A write that
 * carries a handle (ax_write2()) begins a send of its own, so that the
 * handle goes with its first byte. */
static unsigned int stream_write_gather(const ax_stream_t *stream,
                                        ax_write_t *first, ax_buf_t *iov,
                                        size_t *total) {
  unsigned int count = 0;
  size_t bytes = 0;
  bool room = true;
  for (ax_write_t *req = first; room; req = req->priv.next) {
    const struct ax__write_private *w = &req->priv;
    for (unsigned int i = w->next_buf; i < w->nbufs && room; i++)
      room = stream_iov_add(iov, &count, &bytes, &w->bufs[i]);
    if (req == stream->priv.write_tail ||
        req->priv.next->priv.send_handle != NULL)
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

static void stream_shutdown_now(ax_stream_t *stream, ax_shutdown_t *req);

/* Whether bytes are being written or wait to be. */
static bool stream_write_busy(const ax_stream_t *stream) {
  return ax__stream_has(stream, AX__STREAM_SENDING) ||
         stream_has_unwritten(stream);
}

/* Send what is queued, from first (the first request with bytes left, or
 * NULL to find it), unless a SEND is in flight already: its completion
 * sends the rest. Calls no user callback. */
static void stream_write_flush(ax_stream_t *stream, ax_write_t *first) {
  ax_buf_t iov[STREAM_IOV_MAX];
  if (ax__stream_has(stream, AX__STREAM_SENDING))
    return;
  if (first == NULL)
    first = stream_first_unwritten(stream);
  for (int i = 0; first != NULL && i < STREAM_SENDS_PER_FLUSH; i++) {
    size_t total;
    unsigned int count = stream_write_gather(stream, first, iov, &total);
    intptr_t n = 0;
    ax_stream_t *send_handle = first->priv.send_handle;
    if (send_handle != NULL)
      ax__pipe_send_attach(stream, send_handle);
    if (count > 0)
      n = ax__stream_ops(stream)->send(stream->handle.loop, &stream->priv.sock,
                                       iov, count);
    if (n > 0 && send_handle != NULL)
      first->priv.send_handle = NULL; /* It went with the first byte. */
    if (n < 0) {
      stream_write_fail(stream, first, (int)n);
      break;
    }
    first = stream_write_advance(stream, first, (size_t)n);
    if ((size_t)n < total) {
      /* The rest is in flight: a SEND completion follows. */
      stream->handle.priv_flags |= AX__STREAM_SENDING;
      return;
    }
  }
  ax_shutdown_t *shutdown = stream_shutdown_waiting(stream);
  if (shutdown != NULL && !stream_write_busy(stream))
    stream_shutdown_now(stream, shutdown);
}

/* A copied try-write no longer in flight: it kept the loop alive. */
static void stream_copy_end(ax_stream_t *stream) {
  if (!ax__stream_has(stream, AX__STREAM_SEND_COPY))
    return;
  stream->handle.priv_flags &= ~AX__STREAM_SEND_COPY;
  stream->handle.loop->priv.active_reqs--;
}

/* The SEND in flight completed: n more bytes taken (0: the socket became
 * writable), or an error. A copy's bytes belong to no request. */
static void stream_write_sent(ax_stream_t *stream, intptr_t result) {
  bool copy = ax__stream_has(stream, AX__STREAM_SEND_COPY);
  stream_copy_end(stream);
  stream->handle.priv_flags &= ~AX__STREAM_SENDING;
  if (result < 0)
    stream->handle.priv_flags |= AX__STREAM_COPY_OFF;
  ax_write_t *first = stream_first_unwritten(stream);
  if (result < 0 && first != NULL) {
    /* Every request failed with it (IOCP reports a send's error here;
     * readiness reports it from send() instead): nothing is left. */
    stream_write_fail(stream, first, (int)result);
    first = NULL;
  } else if (copy && result > 0) {
    assert((size_t)result <= stream->priv.write_queue_size &&
           "axle: a copied send larger than the queue");
    stream->priv.write_queue_size -= (size_t)result;
  } else if (result > 0) {
    first = stream_write_advance(stream, first, (size_t)result);
  }
  if (result < 0)
    stream->priv.write_queue_size = 0; /* The copy, if any, failed too. */
  stream_write_flush(stream, first);
  stream_water_check(stream);
}

/* ---- Water marks ---- */

int ax__stream_ext_get(ax_stream_t *stream, struct ax__stream_ext **out) {
  if (stream->priv.ext == NULL) {
    struct ax__stream_ext *ext = ax__calloc(1, sizeof(*ext));
    if (ext == NULL)
      return AX_ENOMEM;
    ext->kind = AX__STREAM_EXT_NONE;
    stream->priv.ext = ext;
  }
  *out = stream->priv.ext;
  return 0;
}

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
  if (stream->priv.ext != NULL &&
      stream->priv.ext->kind == AX__STREAM_EXT_LISTEN)
    return AX_EINVAL; /* A listener has no write queue. */
  struct ax__stream_ext *ext;
  int err = ax__stream_ext_get(stream, &ext);
  if (err != 0)
    return err;
  ext->kind = AX__STREAM_EXT_WATER; /* Given now if it had no role yet. */
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
  if (ax__stream_has(stream, AX__STREAM_SHUTDOWN))
    return AX_EPIPE;
  if (!ax__stream_has(stream, AX__STREAM_CONNECTED | AX__STREAM_CONNECTING))
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
  req->priv.send_handle = NULL;
  ax__queue_init(&req->priv.pending.node);
  req->priv.pending.cb = stream_write_pending_cb;
  *total = sum;
  return 0;
}

/* Whether req is in the stream's queue still: a request may be reused
 * only after its callback. Delivery clears next, so a finished request
 * never walks the queue; only a pending one, or stray memory that happens
 * to look like one, does. */
static bool stream_write_queued(const ax_stream_t *stream,
                                const ax_write_t *req) {
  if (req->req.type != AX_WRITE || req->priv.next == NULL ||
      stream->priv.write_tail == NULL)
    return false;
  const ax_write_t *at = stream->priv.write_tail;
  do {
    if (at == req)
      return true;
    at = at->priv.next;
  } while (at != stream->priv.write_tail);
  return false;
}

int ax_write(ax_write_t *req, ax_stream_t *stream, const ax_buf_t bufs[],
             unsigned int nbufs, ax_write_cb write_cb) {
  return ax__stream_write(req, stream, bufs, nbufs, NULL, write_cb);
}

int ax__stream_write(ax_write_t *req, ax_stream_t *stream,
                     const ax_buf_t bufs[], unsigned int nbufs,
                     ax_stream_t *send_handle, ax_write_cb write_cb) {
  if (req == NULL)
    return AX_EINVAL;
  int err = stream_write_check(stream, bufs, nbufs);
  if (err != 0)
    return err;
  if (stream_write_queued(stream, req))
    return AX_EBUSY;
  size_t total;
  err = stream_write_init(req, stream, bufs, nbufs, write_cb, &total);
  if (err != 0)
    return err;
  req->priv.send_handle = send_handle;
  bool idle = !stream_write_busy(stream);
  stream_write_append(stream, req);
  stream->priv.write_queue_size += total;
  stream->handle.loop->priv.active_reqs++;
  if (idle && ax__stream_has(stream, AX__STREAM_CONNECTED))
    stream_write_flush(stream, req);
  stream_water_check(stream);
  return 0;
}

/* A try-write where the backend copies (send_copy): with nothing queued
 * and no SEND in flight but such a copy, which the backend may add to,
 * the bytes are copied and count in the write queue's size until the
 * kernel has them. Direct instead, and at once, while the kernel showed
 * no room at the last direct try (COPY_OFF: a copy would be taken where
 * the kernel refuses), after an error, and for what the backend does not
 * copy (too big). */
static int stream_try_copy(ax_stream_t *stream, const ax_buf_t bufs[],
                           unsigned int nbufs) {
  if (ax__stream_has(stream, AX__STREAM_CONNECTING) ||
      stream_has_unwritten(stream) ||
      (ax__stream_has(stream, AX__STREAM_SENDING) &&
       !ax__stream_has(stream, AX__STREAM_SEND_COPY)))
    return AX_EAGAIN; /* Order comes first. */
  size_t total = 0;
  for (unsigned int i = 0; i < nbufs && total <= (size_t)INT_MAX; i++)
    total += bufs[i].len < (size_t)INT_MAX ? bufs[i].len : (size_t)INT_MAX;
  if (!ax__stream_has(stream, AX__STREAM_COPY_OFF)) {
    const struct ax__sock_ops *ops = ax__stream_ops(stream);
    intptr_t n = 0;
    if (total != 0)
      n = ops->send_copy(stream->handle.loop, &stream->priv.sock, bufs, nbufs,
                         total);
    if (n > 0 && !ax__stream_has(stream, AX__STREAM_SENDING)) {
      /* Until it is sent, it keeps the loop alive, as a write would. */
      stream->handle.priv_flags |= AX__STREAM_SENDING | AX__STREAM_SEND_COPY;
      stream->handle.loop->priv.active_reqs++;
    }
    if (n >= 0) {
      stream->priv.write_queue_size += (size_t)n;
      return (int)n;
    }
  }
  if (ax__stream_has(stream, AX__STREAM_SENDING))
    return AX_EAGAIN;
  intptr_t n = ax__sock_try_send(&stream->priv.sock, bufs, nbufs);
  if (n >= 0 && (size_t)n == total)
    stream->handle.priv_flags &= ~AX__STREAM_COPY_OFF;
  else
    stream->handle.priv_flags |= AX__STREAM_COPY_OFF;
  return (int)n;
}

int ax_try_write(ax_stream_t *stream, const ax_buf_t bufs[],
                 unsigned int nbufs) {
  int err = stream_write_check(stream, bufs, nbufs);
  if (err != 0)
    return err;
  if (ax__stream_ops(stream)->send_copy != NULL)
    return stream_try_copy(stream, bufs, nbufs);
  if (ax__stream_has(stream, AX__STREAM_CONNECTING) ||
      stream_write_busy(stream))
    return AX_EAGAIN;
  return (int)ax__sock_try_send(&stream->priv.sock, bufs, nbufs);
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
  if (req->priv.cb != NULL)
    req->priv.cb(req, req->priv.status);
}

static void stream_shutdown_complete(ax_shutdown_t *req, int status) {
  req->priv.status = status;
  ax__pending_push(req->req.loop, &req->priv.pending);
}

static void stream_shutdown_now(ax_stream_t *stream, ax_shutdown_t *req) {
  stream_shutdown_complete(req, ax__sock_shutdown(&stream->priv.sock));
}

int ax_shutdown(ax_shutdown_t *req, ax_stream_t *stream,
                ax_shutdown_cb shutdown_cb) {
  if (req == NULL || stream == NULL)
    return AX_EINVAL;
  if (ax__stream_closing(stream))
    return AX_EBADF;
  if (ax__stream_has(stream, AX__STREAM_SHUTDOWN))
    return AX_EALREADY;
  if (!ax__stream_has(stream, AX__STREAM_CONNECTED))
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
  if (!stream_write_busy(stream))
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
  stream->handle.loop->priv.active_reqs--;
  req->priv.cb(req, status);
  if (ax__stream_closing(stream))
    return;
  if (status == 0)
    stream_write_flush(stream, NULL);
  stream_water_check(stream);
}

static void stream_connect_pending_cb(ax_loop_t *loop, ax__pending_t *pending) {
  (void)loop;
  ax_connect_t *req = ax_container_of(pending, ax_connect_t, priv.pending);
  stream_connect_finish(req->handle, req->priv.status);
}

/* A result known at once (connected, or refused before anything was sent)
 * reaches the callback from the pending phase, like one that comes later:
 * never from inside ax_tcp_connect(). */
int ax__stream_connect(ax_stream_t *stream, ax_connect_t *req,
                       const struct sockaddr *addr, int len,
                       ax_connect_cb connect_cb) {
  intptr_t result = ax__stream_ops(stream)->connect(
      stream->handle.loop, &stream->priv.sock, addr, len);
  req->req.type = AX_CONNECT;
  req->req.loop = stream->handle.loop;
  req->handle = stream;
  req->priv.cb = connect_cb;
  req->priv.status = result == AX__OP_PENDING ? 0 : (int)result;
  ax__queue_init(&req->priv.pending.node);
  req->priv.pending.cb = stream_connect_pending_cb;
  stream->priv.req = &req->req;
  stream->handle.priv_flags |= AX__STREAM_CONNECTING;
  stream->handle.loop->priv.active_reqs++;
  if (result != AX__OP_PENDING)
    ax__pending_push(stream->handle.loop, &req->priv.pending);
  return 0;
}

/* ---- Reading ---- */

int ax_read_start(ax_stream_t *stream, ax_alloc_cb alloc_cb,
                  ax_read_cb read_cb) {
  if (stream == NULL || alloc_cb == NULL || read_cb == NULL)
    return AX_EINVAL;
  if (ax__stream_closing(stream))
    return AX_EBADF;
  if (ax__stream_has(stream, AX__STREAM_READING))
    return AX_EALREADY;
  if (!ax__stream_has(stream, AX__STREAM_CONNECTED) ||
      ax__stream_has(stream, AX__STREAM_READ_EOF))
    return AX_ENOTCONN;
  int err = ax__stream_ops(stream)->recv_start(stream->handle.loop,
                                               &stream->priv.sock);
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
  ax__stream_ops(stream)->recv_stop(stream->handle.loop, &stream->priv.sock);
  stream_update_active(stream);
}

int ax_read_stop(ax_stream_t *stream) {
  if (stream == NULL)
    return AX_EINVAL;
  if (ax__stream_has(stream, AX__STREAM_READING))
    stream_read_end(stream, false);
  return 0;
}

/* Take what a RECV completion announced: from the backend, where it holds
 * the bytes (io_uring's ring buffers), else from the socket. */
static intptr_t stream_recv(ax_stream_t *stream, const ax_buf_t *buf) {
  const struct ax__sock_ops *ops = ax__stream_ops(stream);
  if (ops->recv_copy != NULL)
    return ops->recv_copy(stream->handle.loop, &stream->priv.sock, buf);
  return ax__sock_read(&stream->priv.sock, buf);
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
  if (!ax__stream_has(stream, AX__STREAM_READING)) {
    stream->priv.read_cb(stream, 0, &buf); /* Stopped meanwhile. */
    return false;
  }
  intptr_t n = AX_ENOBUFS;
  if (buf.base != NULL && buf.len != 0)
    n = stream_recv(stream, &buf);
  if (n == AX_EAGAIN) {
    stream->priv.read_cb(stream, 0, &buf);
    return false;
  }
  if (n < 0) {
    /* A declined buffer pauses reading; an error of the socket ends it for
     * good, as the end does: the kernel reports a reset once, then reads 0
     * as if the peer had finished. */
    stream_read_end(stream, n != AX_ENOBUFS);
    if (n != AX_EOF) /* Writes fail too: try_write says so at once. */
      stream->handle.priv_flags |= AX__STREAM_COPY_OFF;
  }
  stream->priv.read_cb(stream, n, &buf);
  return n > 0 && (size_t)n == buf.len; /* A full buffer: maybe more. */
}

static void stream_read_ready(ax_stream_t *stream) {
  for (int i = 0; i < STREAM_READS_PER_WAKEUP; i++) {
    if (!stream_read_one(stream) || ax__stream_closing(stream) ||
        !ax__stream_has(stream, AX__STREAM_READING))
      return;
  }
}

bool ax_is_readable(const ax_stream_t *stream) {
  return stream != NULL && !ax__stream_closing(stream) &&
         ax__stream_has(stream, AX__STREAM_CONNECTED) &&
         !ax__stream_has(stream, AX__STREAM_READ_EOF);
}

bool ax_is_writable(const ax_stream_t *stream) {
  return stream != NULL && !ax__stream_closing(stream) &&
         ax__stream_has(stream, AX__STREAM_CONNECTED) &&
         !ax__stream_has(stream, AX__STREAM_SHUTDOWN);
}

/* ---- Completions ---- */

void ax__stream_sock_cb(ax_loop_t *loop, ax__sock_t *sock, unsigned int op,
                        intptr_t result) {
  (void)loop;
  ax_stream_t *stream = ax_container_of(sock, ax_stream_t, priv.sock);
  if (op == AX__OP_CLOSE) {
    ax__handle_close_resume(&stream->handle);
    return;
  }
  if (op == AX__OP_ACCEPT) {
    ax__stream_accepted(stream, result);
    return;
  }
  /* On a closing stream, the close phase completes every request. */
  if (ax__stream_closing(stream))
    return;
  switch (op) {
  case AX__OP_RECV:
    if (ax__stream_has(stream, AX__STREAM_READING))
      stream_read_ready(stream);
    break;
  case AX__OP_SEND:
    stream_write_sent(stream, result);
    break;
  case AX__OP_CONNECT:
    stream_connect_finish(stream, (int)result);
    break;
  default:
    assert(0 && "axle: a stream completion of an unknown operation");
    break;
  }
}

/* ---- Closing ---- */

/* A backend that still owns operations of the socket (IOCP) completes
 * them, then CLOSE: the close callback waits for that. */
void ax__stream_close(ax_handle_t *handle) {
  ax_stream_t *stream = (ax_stream_t *)handle;
  if (ax__stream_has(stream, AX__STREAM_LISTENING))
    ax__stream_listen_close(stream);
  stream_copy_end(stream); /* The backend frees the copy (its close). */
  stream->handle.priv_flags &= ~(AX__STREAM_READING | AX__STREAM_LISTENING |
                                 AX__STREAM_CONNECTING | AX__STREAM_SENDING);
  if (!ax__sock_is_open(&stream->priv.sock))
    return;
  intptr_t result = ax__stream_ops(stream)->sock_close(stream->handle.loop,
                                                       &stream->priv.sock);
  if (result == AX__OP_PENDING)
    ax__handle_close_wait(&stream->handle);
}

/* The close phase, before the close callback: every request whose
 * callback is due gets it now, in the order of their operations. One that
 * had finished reports how; one still in progress reports AX_ECANCELED. */
void ax__stream_closed(ax_handle_t *handle) {
  ax_stream_t *stream = (ax_stream_t *)handle;
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
    if (shutdown->priv.cb != NULL)
      shutdown->priv.cb(shutdown, done ? shutdown->priv.status : AX_ECANCELED);
  }
  ax__free(stream->priv.ext);
  stream->priv.ext = NULL;
}
