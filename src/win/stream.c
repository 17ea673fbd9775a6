/*
 * win/stream.c: streams on Windows, over I/O completion ports.
 *
 * Reading. An idle connection holds no buffer: the stream posts a
 * zero-byte overlapped WSARecv, which completes when data (or the end of
 * the stream, or an error) arrives. Then it asks the alloc callback for a
 * buffer and reads without blocking, into that buffer, until Winsock says
 * WSAEWOULDBLOCK (the buffer goes back to the read callback unused, nread
 * 0) or a bounded number of reads is done; then it posts the next zero-byte
 * read.
 *
 * Writing. Each ax_write() is one overlapped WSASend of the caller's
 * vector, posted at once: Winsock captures the vector before it returns
 * and keeps the sends of one socket in order, so nothing is copied and
 * nothing waits in a queue of ours. A send the kernel can buffer at once
 * completes inside the call (no packet, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS)
 * and its callback runs in the pending phase; the others are the write
 * queue, whose size is exact: the bytes of the sends in flight. Callbacks
 * run in write order. ax_shutdown() waits for every write, then calls
 * shutdown(SD_SEND).
 *
 * Closing. ax_close() closes the socket, which cancels every operation the
 * socket has in flight; but the kernel owns each OVERLAPPED until its
 * packet is dequeued, and some of those are in the caller's requests. So
 * the close phase parks a stream that still has operations in flight: the
 * close callback is held back (the loop stays alive on an extra request)
 * until the last packet, which puts the handle back in the close phase.
 * Only then do the requests complete with AX_ECANCELED, in order, and the
 * close callback runs.
 */
#include <limits.h>
#include <string.h>

#include "stream.h"

_Static_assert(sizeof(union ax__pending_slot) == sizeof(ax__pending_t),
               "axle/win.h: ax__pending_slot must be as large as pending");
_Static_assert(_Alignof(union ax__pending_slot) == _Alignof(ax__pending_t),
               "axle/win.h: ax__pending_slot must be aligned as pending");

/* Reads per wakeup of one stream: a peer that sends without pause cannot
 * keep the loop on its connection. */
enum { STREAM_READS_PER_WAKEUP = 32 };
/* The buffer size suggested to the alloc callback. */
enum { STREAM_READ_SUGGESTED_BYTES = 65536 };

/* The zero-byte read's buffer: Winsock wants a pointer even for 0 bytes. */
static char stream_zero_byte;

static void stream_read_io_cb(ax_loop_t *loop, ax__io_t *io, size_t bytes);
static void stream_pending_cb(ax_loop_t *loop, ax__pending_t *pending);

static ax__pending_t *stream_pending(ax_stream_t *stream) {
  return (ax__pending_t *)(void *)&stream->priv.pending;
}

/* The last Winsock error, as an axle code. */
int ax__stream_socket_error(void) {
  return ax_translate_sys_error(WSAGetLastError());
}

void ax__stream_init(ax_loop_t *loop, ax_stream_t *stream) {
  ax__handle_init(loop, &stream->handle, AX_TCP);
  memset(&stream->priv, 0, sizeof(stream->priv));
  stream->priv.socket = INVALID_SOCKET;
  stream->priv.read_io.cb = stream_read_io_cb;
  ax__pending_t *pending = stream_pending(stream);
  ax__queue_init(&pending->node);
  pending->cb = stream_pending_cb;
}

/*
 * Make a socket the stream's: non-blocking (for the reads and the
 * try-writes made without an OVERLAPPED), on the loop's port, and with no
 * packet for an operation that succeeds at once, where the provider allows
 * it (a layered provider that is not a file system handle does not: then
 * every operation queues a packet, which the code handles the same way);
 * and with the TCP_NODELAY asked for before it existed.
 */
int ax__stream_attach(ax_stream_t *stream, SOCKET socket) {
  u_long non_blocking = 1;
  if (ioctlsocket(socket, FIONBIO, &non_blocking) != 0)
    return ax__stream_socket_error();
  HANDLE port = stream->handle.loop->priv.platform.iocp;
  if (ax__win_sys.create_io_completion_port((HANDLE)socket, port, 0, 0) == NULL)
    return ax_translate_sys_error((int)GetLastError());
  if (SetFileCompletionNotificationModes(
          (HANDLE)socket,
          FILE_SKIP_SET_EVENT_ON_HANDLE | FILE_SKIP_COMPLETION_PORT_ON_SUCCESS))
    stream->handle.priv_flags |= AX__STREAM_SKIP_PACKETS;
  if (ax__stream_has(stream, AX__STREAM_NODELAY)) {
    int err = ax__tcp_set_nodelay(socket, true);
    if (err != 0)
      return err;
  }
  stream->priv.socket = socket;
  return 0;
}

/*
 * After an overlapped call: 0 if its packet is due (the operation is then
 * counted), 1 if it completed inside the call with no packet to come, or
 * the error it failed with (no packet either).
 */
int ax__stream_posted(ax_stream_t *stream, BOOL succeeded) {
  if (succeeded && ax__stream_has(stream, AX__STREAM_SKIP_PACKETS))
    return 1;
  if (!succeeded) {
    int err = WSAGetLastError();
    if (err != WSA_IO_PENDING)
      return ax_translate_sys_error(err);
  }
  stream->priv.ops++;
  stream->handle.loop->priv.platform.io_count++;
  return 0;
}

/* The close phase takes the handle back: its close callback is due. */
static void stream_unpark(ax_stream_t *stream) {
  ax_handle_t *handle = &stream->handle;
  ax_loop_t *loop = handle->loop;
  handle->priv_flags &= ~AX__STREAM_PARKED;
  handle->priv.close_cb = stream->priv.cb.close_cb;
  loop->priv.active_reqs--;
  ax__queue_insert_tail(&loop->priv.closing, &handle->priv.node);
}

/* A packet of the stream's was dequeued: the kernel is done with that
 * OVERLAPPED. The last one of a parked stream lets it close. */
void ax__stream_op_done(ax_stream_t *stream) {
  assert(stream->priv.ops > 0 && "axle: a stream packet nobody posted");
  stream->handle.loop->priv.platform.io_count--;
  stream->priv.ops--;
  if (stream->priv.ops == 0 && ax__stream_has(stream, AX__STREAM_PARKED))
    stream_unpark(stream);
}

/* Finish in the pending phase what completed without a packet. */
void ax__stream_defer(ax_stream_t *stream) {
  ax__pending_t *pending = stream_pending(stream);
  /* A closed stream's close phase completes what is left. */
  if (ax__handle_is_closing(&stream->handle))
    return;
  if (ax__queue_empty(&pending->node))
    ax__pending_push(stream->handle.loop, pending);
}

/* The outcome of an overlapped operation whose packet arrived. The status
 * in the OVERLAPPED is an NTSTATUS; WSAGetOverlappedResult() turns it into
 * the Winsock error a synchronous call would have given. On a closed
 * stream it is AX_ECANCELED, whatever the packet says: the operation was
 * in flight when the stream closed, as an operation still waiting in the
 * kernel is on POSIX, where closing cancels it. */
int ax__stream_io_status(ax_stream_t *stream, ax__io_t *io) {
  OVERLAPPED *overlapped = ax__io_overlapped(io);
  if (ax__handle_is_closing(&stream->handle))
    return AX_ECANCELED;
  if (overlapped->Internal == 0)
    return 0;
  DWORD bytes = 0;
  DWORD flags = 0;
  if (WSAGetOverlappedResult(ax__stream_socket(stream), overlapped, &bytes,
                             FALSE, &flags))
    return 0;
  return ax__stream_socket_error();
}

struct ax__stream_ext *ax__stream_ext(ax_stream_t *stream) {
  if (stream->priv.ext == NULL) {
    struct ax__stream_ext *ext = ax__calloc(1, sizeof(*ext));
    if (ext == NULL)
      return NULL;
    ext->stream = stream;
    stream->priv.ext = ext;
  }
  return stream->priv.ext;
}

/* ---- Reading ---- */

static void stream_read_stop_flags(ax_stream_t *stream) {
  stream->handle.priv_flags &= ~(unsigned int)AX__STREAM_READING;
  if (!ax__stream_has(stream, AX__STREAM_LISTENING))
    ax__handle_stop(&stream->handle);
}

/* Post the zero-byte read, unless one is in flight or due. One that fails
 * at once is retried as a real read in the pending phase, which reports
 * the error to the read callback (never from inside ax_read_start()). */
static void stream_read_post(ax_stream_t *stream) {
  unsigned int busy = AX__STREAM_READ_POSTED | AX__STREAM_READ_READY;
  if (!ax__stream_has(stream, AX__STREAM_READING) ||
      ax__stream_has(stream, busy) || ax__handle_is_closing(&stream->handle))
    return;
  WSABUF buf = {.len = 0, .buf = &stream_zero_byte};
  DWORD bytes = 0;
  DWORD flags = 0;
  OVERLAPPED *overlapped = ax__io_overlapped(&stream->priv.read_io);
  memset(overlapped, 0, sizeof(*overlapped));
  int rc = WSARecv(ax__stream_socket(stream), &buf, 1, &bytes, &flags,
                   overlapped, NULL);
  if (ax__stream_posted(stream, rc == 0) == 0) {
    stream->handle.priv_flags |= AX__STREAM_READ_POSTED;
    return;
  }
  stream->handle.priv_flags |= AX__STREAM_READ_READY;
  ax__stream_defer(stream);
}

/* One non-blocking read into a buffer from the alloc callback, and its
 * report. Returns whether to read again: the kernel filled the whole
 * buffer, so more may be waiting. Otherwise the next zero-byte read finds
 * out, completing at once if more came meanwhile. */
static int stream_read_once(ax_stream_t *stream) {
  ax_buf_t buf = {.len = 0, .base = NULL};
  stream->priv.cb.alloc_cb(&stream->handle, STREAM_READ_SUGGESTED_BYTES, &buf);
  /* Closed inside the alloc callback: no callback but the close callback
   * may follow, so the buffer is not handed back (docs/tcp.md). */
  if (ax__handle_is_closing(&stream->handle))
    return 0;
  if (!ax__stream_has(stream, AX__STREAM_READING)) {
    stream->priv.read_cb(stream, 0, &buf); /* Stopped meanwhile. */
    return 0;
  }
  if (buf.base == NULL || buf.len == 0) {
    stream_read_stop_flags(stream);
    stream->priv.read_cb(stream, AX_ENOBUFS, &buf);
    return 0;
  }
  DWORD bytes = 0;
  DWORD flags = 0;
  int err = 0;
  if (WSARecv(ax__stream_socket(stream), (WSABUF *)&buf, 1, &bytes, &flags,
              NULL, NULL) != 0)
    err = WSAGetLastError();
  if (err == WSAEWOULDBLOCK) {
    stream->priv.read_cb(stream, 0, &buf);
    return 0;
  }
  if (err != 0 || bytes == 0) {
    if (err == 0)
      stream->handle.priv_flags |= AX__STREAM_EOF;
    stream_read_stop_flags(stream);
    stream->priv.read_cb(stream, err ? ax_translate_sys_error(err) : AX_EOF,
                         &buf);
    return 0;
  }
  stream->priv.read_cb(stream, (ptrdiff_t)bytes, &buf);
  return bytes == buf.len;
}

/* Data is there (or an end, or an error): read it, then wait again. Any
 * callback may stop reading, restart it (which posts a zero-byte read of
 * its own) or close the stream; each is checked before the next read. */
static void stream_read_data(ax_stream_t *stream) {
  unsigned int busy = AX__STREAM_READ_POSTED | AX__STREAM_READ_READY;
  for (int i = 0; i < STREAM_READS_PER_WAKEUP; i++) {
    if (!ax__stream_has(stream, AX__STREAM_READING) ||
        ax__stream_has(stream, busy) || ax__handle_is_closing(&stream->handle))
      return;
    if (!stream_read_once(stream))
      break;
  }
  stream_read_post(stream);
}

static void stream_read_io_cb(ax_loop_t *loop, ax__io_t *io, size_t bytes) {
  (void)loop;
  (void)bytes;
  ax_stream_t *stream = ax_container_of(io, ax_stream_t, priv.read_io);
  ax__stream_op_done(stream);
  stream->handle.priv_flags &= ~(unsigned int)AX__STREAM_READ_POSTED;
  /* Whatever the packet's status, the next non-blocking read finds the
   * data, the end or the error again, and reports it. */
  stream_read_data(stream);
}

int ax_read_start(ax_stream_t *stream, ax_alloc_cb alloc_cb,
                  ax_read_cb read_cb) {
  if (stream == NULL || alloc_cb == NULL || read_cb == NULL)
    return AX_EINVAL;
  if (ax__handle_is_closing(&stream->handle))
    return AX_EBADF;
  if (ax__stream_has(stream, AX__STREAM_READING))
    return AX_EALREADY;
  if (!ax__stream_has(stream, AX__STREAM_CONNECTED) ||
      ax__stream_has(stream, AX__STREAM_EOF))
    return AX_ENOTCONN;
  stream->priv.cb.alloc_cb = alloc_cb;
  stream->priv.read_cb = read_cb;
  stream->handle.priv_flags |= AX__STREAM_READING;
  ax__handle_start(&stream->handle);
  stream_read_post(stream);
  return 0;
}

/* A zero-byte read in flight stays posted: it holds no buffer, and its
 * packet only clears its flag. */
int ax_read_stop(ax_stream_t *stream) {
  if (stream == NULL)
    return AX_EINVAL;
  if (ax__handle_is_closing(&stream->handle))
    return 0;
  stream_read_stop_flags(stream);
  return 0;
}

bool ax_is_readable(const ax_stream_t *stream) {
  if (stream == NULL || ax__handle_is_closing(&stream->handle))
    return false;
  return ax__stream_has(stream, AX__STREAM_CONNECTED) &&
         !ax__stream_has(stream, AX__STREAM_EOF);
}

bool ax_is_writable(const ax_stream_t *stream) {
  if (stream == NULL || ax__handle_is_closing(&stream->handle))
    return false;
  return ax__stream_has(stream, AX__STREAM_CONNECTED) &&
         !ax__stream_has(stream, AX__STREAM_SHUTTING);
}

/* ---- The pending phase ---- */

static void stream_write_callbacks(ax_stream_t *stream);
static void stream_shutdown_if_due(ax_stream_t *stream);

/* Whatever completed without a packet, in the order a packet would have
 * delivered it: a connect, then data, then writes, then accepts. Each step
 * may close the stream, which takes it out of the pending phase. */
static void stream_pending_cb(ax_loop_t *loop, ax__pending_t *pending) {
  (void)loop;
  ax_stream_t *stream = ax_container_of((union ax__pending_slot *)pending,
                                        ax_stream_t, priv.pending);
  ax_handle_t *handle = &stream->handle;
  ax_req_t *req = stream->priv.req;
  if (req != NULL && req->type == AX_CONNECT &&
      ((ax_connect_t *)req)->priv.status != AX__IN_FLIGHT)
    ax__tcp_connect_finish(stream);
  if (!ax__handle_is_closing(handle) &&
      ax__stream_has(stream, AX__STREAM_READ_READY)) {
    handle->priv_flags &= ~(unsigned int)AX__STREAM_READ_READY;
    stream_read_data(stream);
  }
  if (!ax__handle_is_closing(handle))
    stream_write_callbacks(stream);
  if (!ax__handle_is_closing(handle) &&
      ax__stream_has(stream, AX__STREAM_LISTENING))
    ax__listen_dispatch(stream);
}

/* ---- Writing ---- */

/* Report crossing a water mark; the callback may close the stream. */
static void stream_water_check(ax_stream_t *stream) {
  struct ax__stream_ext *ext = stream->priv.ext;
  if (ext == NULL || ext->water_cb == NULL ||
      ax__handle_is_closing(&stream->handle))
    return;
  size_t size = stream->priv.write_queue_size;
  if (!ext->above && size >= ext->high_bytes) {
    ext->above = 1;
    ext->water_cb(stream, true);
  } else if (ext->above && size <= ext->low_bytes) {
    ext->above = 0;
    ext->water_cb(stream, false);
  }
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

/* Take the oldest write off the list. */
static ax_write_t *stream_write_pop(ax_stream_t *stream) {
  ax_write_t *tail = stream->priv.write_tail;
  ax_write_t *head = tail->priv.next;
  if (head == tail)
    stream->priv.write_tail = NULL;
  else
    tail->priv.next = head->priv.next;
  return head;
}

static void stream_write_complete(ax_write_t *req, int status) {
  req->req.loop->priv.active_reqs--;
  req->priv.cb(req, status);
}

/* Call back the writes that are over, oldest first, up to the first still
 * in flight, and none added meanwhile (their turn is the next pass: a
 * write callback that writes again cannot hold the loop). Then a shutdown
 * waiting for them. */
static void stream_write_callbacks(ax_stream_t *stream) {
  ax_write_t *last = stream->priv.write_tail;
  while (stream->priv.write_tail != NULL) {
    ax_write_t *head = stream->priv.write_tail->priv.next;
    if (head->priv.status == AX__IN_FLIGHT)
      return;
    stream_write_pop(stream);
    stream_write_complete(head, head->priv.status);
    if (ax__handle_is_closing(&stream->handle) || head == last)
      break;
  }
  if (!ax__handle_is_closing(&stream->handle))
    stream_shutdown_if_due(stream);
}

static void stream_write_io_cb(ax_loop_t *loop, ax__io_t *io, size_t bytes) {
  (void)loop;
  (void)bytes;
  ax_write_t *req = ax_container_of(io, ax_write_t, priv.io);
  ax_stream_t *stream = req->handle;
  ax__stream_op_done(stream);
  req->priv.status = ax__stream_io_status(stream, io);
  stream->priv.write_queue_size -= req->priv.queued_bytes;
  req->priv.queued_bytes = 0;
  stream_water_check(stream);
  if (!ax__handle_is_closing(&stream->handle))
    stream_write_callbacks(stream);
}

/* The common checks of ax_write() and ax_try_write(). */
static int stream_write_check(ax_stream_t *stream, const ax_buf_t bufs[],
                              unsigned int nbufs) {
  if (stream == NULL || bufs == NULL || nbufs == 0 || nbufs > AX_WRITE_MAX_BUFS)
    return AX_EINVAL;
  if (ax__handle_is_closing(&stream->handle))
    return AX_EBADF;
  if (ax__stream_has(stream, AX__STREAM_SHUTTING))
    return AX_EPIPE;
  if (!ax__stream_has(stream, AX__STREAM_CONNECTED | AX__STREAM_CONNECTING))
    return AX_ENOTCONN;
  return 0;
}

static size_t stream_bufs_len(const ax_buf_t bufs[], unsigned int nbufs) {
  size_t len = 0;
  for (unsigned int i = 0; i < nbufs; i++)
    len += bufs[i].len;
  return len;
}

/* A write is over without a packet to come: its callback runs from the
 * pending phase (or the close phase, first). */
static void stream_write_settle(ax_stream_t *stream, ax_write_t *req,
                                int status) {
  req->priv.status = status;
  stream->priv.write_queue_size -= req->priv.queued_bytes;
  req->priv.queued_bytes = 0;
  ax__free(req->priv.bufs);
  req->priv.bufs = NULL;
  ax__stream_defer(stream);
}

/* Post the WSASend of a write whose bytes are counted in the queue. Its
 * outcome, even a failure at once, reaches the callback from the loop. */
static void stream_write_post(ax_stream_t *stream, ax_write_t *req,
                              const ax_buf_t bufs[], unsigned int nbufs) {
  OVERLAPPED *overlapped = ax__io_overlapped(&req->priv.io);
  memset(overlapped, 0, sizeof(*overlapped));
  DWORD sent = 0;
  int rc = WSASend(ax__stream_socket(stream), (WSABUF *)bufs, nbufs, &sent, 0,
                   overlapped, NULL);
  int posted = ax__stream_posted(stream, rc == 0);
  if (posted != 0)
    stream_write_settle(stream, req, posted == 1 ? 0 : posted);
}

/* The connect is over: post the writes made meanwhile, in order, or (the
 * connect failed) cancel them. May call the water callback. */
void ax__stream_connected(ax_stream_t *stream, int status) {
  ax_write_t *tail = stream->priv.write_tail;
  ax_write_t *req = tail;
  while (req != NULL) {
    req = req->priv.next;
    ax_buf_t *bufs = req->priv.bufs;
    if (bufs != NULL && status == 0) {
      req->priv.bufs = NULL;
      stream_write_post(stream, req, bufs, req->priv.nbufs);
      ax__free(bufs); /* WSASend() has its own copy. */
    } else if (bufs != NULL) {
      stream_write_settle(stream, req, AX_ECANCELED);
    }
    if (req == tail)
      break;
  }
  stream_water_check(stream);
}

/* Fill a write request. While connecting, and until the writes made
 * meanwhile are posted (after the connect callback), the vector is copied
 * to wait its turn. Returns 0 or AX_ENOMEM. */
static int stream_write_init(ax_write_t *req, ax_stream_t *stream,
                             const ax_buf_t bufs[], unsigned int nbufs,
                             ax_write_cb write_cb) {
  req->priv.bufs = NULL;
  ax_write_t *tail = stream->priv.write_tail;
  if (ax__stream_has(stream, AX__STREAM_CONNECTING) ||
      (tail != NULL && tail->priv.bufs != NULL)) {
    req->priv.bufs = ax__malloc((size_t)nbufs * sizeof(ax_buf_t));
    if (req->priv.bufs == NULL)
      return AX_ENOMEM;
    memcpy(req->priv.bufs, bufs, (size_t)nbufs * sizeof(ax_buf_t));
  }
  req->req.loop = stream->handle.loop;
  req->req.type = AX_WRITE;
  req->handle = stream;
  req->priv.cb = write_cb;
  req->priv.io.cb = stream_write_io_cb;
  req->priv.nbufs = nbufs;
  req->priv.status = AX__IN_FLIGHT;
  req->priv.queued_bytes = stream_bufs_len(bufs, nbufs);
  return 0;
}

int ax_write(ax_write_t *req, ax_stream_t *stream, const ax_buf_t bufs[],
             unsigned int nbufs, ax_write_cb write_cb) {
  if (req == NULL || write_cb == NULL)
    return AX_EINVAL;
  int err = stream_write_check(stream, bufs, nbufs);
  if (err == 0)
    err = stream_write_init(req, stream, bufs, nbufs, write_cb);
  if (err != 0)
    return err;
  stream->handle.loop->priv.active_reqs++;
  stream->priv.write_queue_size += req->priv.queued_bytes;
  stream_write_append(stream, req);
  if (req->priv.bufs == NULL)
    stream_write_post(stream, req, bufs, nbufs);
  stream_water_check(stream);
  return 0;
}

int ax_try_write(ax_stream_t *stream, const ax_buf_t bufs[],
                 unsigned int nbufs) {
  int err = stream_write_check(stream, bufs, nbufs);
  if (err != 0)
    return err;
  /* A send in flight goes out first: ordering comes before speed. */
  if (stream->priv.write_queue_size > 0 ||
      ax__stream_has(stream, AX__STREAM_CONNECTING))
    return AX_EAGAIN;
  DWORD sent = 0;
  if (WSASend(ax__stream_socket(stream), (WSABUF *)bufs, nbufs, &sent, 0, NULL,
              NULL) != 0)
    return ax__stream_socket_error();
  if (sent == 0 && stream_bufs_len(bufs, nbufs) > 0)
    return AX_EAGAIN;
  return sent > INT_MAX ? INT_MAX : (int)sent;
}

size_t ax_stream_get_write_queue_size(const ax_stream_t *stream) {
  return stream == NULL ? 0 : stream->priv.write_queue_size;
}

int ax_stream_set_water_marks(ax_stream_t *stream, size_t low_bytes,
                              size_t high_bytes, ax_water_cb water_cb) {
  if (stream == NULL || low_bytes >= high_bytes)
    return AX_EINVAL;
  if (ax__handle_is_closing(&stream->handle))
    return AX_EBADF;
  if (ax__stream_has(stream, AX__STREAM_LISTENING))
    return AX_EINVAL; /* A listener has no write queue. */
  struct ax__stream_ext *ext = ax__stream_ext(stream);
  if (ext == NULL)
    return AX_ENOMEM;
  ext->water_cb = water_cb;
  ext->low_bytes = low_bytes;
  ext->high_bytes = high_bytes;
  if (water_cb == NULL)
    ext->above = 0;
  return 0;
}

/* ---- Shutdown ---- */

/* Once no write is left, shut the sending side and report it. */
static void stream_shutdown_if_due(ax_stream_t *stream) {
  ax_req_t *req = stream->priv.req;
  if (req == NULL || req->type != AX_SHUTDOWN ||
      stream->priv.write_tail != NULL)
    return;
  ax_shutdown_t *shutdown_req = (ax_shutdown_t *)req;
  stream->priv.req = NULL;
  int status = 0;
  if (shutdown(ax__stream_socket(stream), SD_SEND) != 0)
    status = ax__stream_socket_error();
  req->loop->priv.active_reqs--;
  shutdown_req->priv.cb(shutdown_req, status);
}

int ax_shutdown(ax_shutdown_t *req, ax_stream_t *stream,
                ax_shutdown_cb shutdown_cb) {
  if (req == NULL || stream == NULL || shutdown_cb == NULL)
    return AX_EINVAL;
  if (ax__handle_is_closing(&stream->handle))
    return AX_EBADF;
  if (ax__stream_has(stream, AX__STREAM_SHUTTING))
    return AX_EALREADY;
  if (!ax__stream_has(stream, AX__STREAM_CONNECTED))
    return AX_ENOTCONN;
  req->req.loop = stream->handle.loop;
  req->req.type = AX_SHUTDOWN;
  req->handle = stream;
  req->priv.cb = shutdown_cb;
  stream->priv.req = &req->req;
  stream->handle.priv_flags |= AX__STREAM_SHUTTING;
  stream->handle.loop->priv.active_reqs++;
  /* The callback never runs inside this call: the pending phase shuts
   * down if no write is left, else the last write's completion does. */
  ax__stream_defer(stream);
  return 0;
}

/* ---- Closing ---- */

/* In ax_close(): no callback but the requests' and the close callback's
 * from here on. Its operations in flight are cancelled; their packets
 * still come, and ax__stream_closed() waits for them. */
void ax__stream_close(ax_stream_t *stream) {
  ax__queue_remove(&stream_pending(stream)->node);
  if (ax__stream_has(stream, AX__STREAM_LISTENING))
    ax__listen_close(stream);
  stream->handle.priv_flags &= ~(
      unsigned int)(AX__STREAM_READING | AX__STREAM_READ_READY |
                    AX__STREAM_LISTENING | AX__STREAM_CONNECTING);
  if (stream->priv.socket == INVALID_SOCKET)
    return;
  /* Windows' closesocket() cancels the operations in flight by itself;
   * Wine's (8.0) leaves overlapped sends pending, and their packets never
   * come. CancelIoEx() first cancels them on both. */
  if (stream->priv.ops > 0)
    CancelIoEx((HANDLE)ax__stream_socket(stream), NULL);
  closesocket(ax__stream_socket(stream));
  stream->priv.socket = INVALID_SOCKET;
}

/* Complete every request left, oldest first: the connect, the writes, the
 * shutdown. One that was over before the close reports how it ended (a
 * cancelled operation's packet says AX_ECANCELED, ax__stream_io_status());
 * one never started reports AX_ECANCELED. */
static void stream_cancel_requests(ax_stream_t *stream) {
  ax_req_t *req = stream->priv.req;
  stream->priv.req = NULL;
  if (req != NULL && req->type == AX_CONNECT) {
    ax_connect_t *connect_req = (ax_connect_t *)req;
    int status = connect_req->priv.status;
    req->loop->priv.active_reqs--;
    connect_req->priv.cb(connect_req,
                         status == AX__IN_FLIGHT ? AX_ECANCELED : status);
  }
  while (stream->priv.write_tail != NULL) {
    ax_write_t *write_req = stream_write_pop(stream);
    int status = write_req->priv.status;
    ax__free(write_req->priv.bufs);
    write_req->priv.bufs = NULL;
    stream_write_complete(write_req,
                          status == AX__IN_FLIGHT ? AX_ECANCELED : status);
  }
  stream->priv.write_queue_size = 0;
  if (req != NULL && req->type == AX_SHUTDOWN) {
    ax_shutdown_t *shutdown_req = (ax_shutdown_t *)req;
    req->loop->priv.active_reqs--;
    shutdown_req->priv.cb(shutdown_req, AX_ECANCELED);
  }
}

/* In the close phase, before the close callback. With operations still in
 * flight, hold the callback back (see the top of this file): the extra
 * request keeps the loop alive and ax_loop_close() busy meanwhile. */
void ax__stream_closed(ax_stream_t *stream) {
  ax_handle_t *handle = &stream->handle;
  if (stream->priv.ops > 0) {
    stream->priv.cb.close_cb = handle->priv.close_cb;
    handle->priv.close_cb = NULL;
    handle->priv_flags |= AX__STREAM_PARKED;
    handle->loop->priv.active_reqs++;
    return;
  }
  stream_cancel_requests(stream);
  struct ax__stream_ext *ext = stream->priv.ext;
  stream->priv.ext = NULL;
  if (ext != NULL)
    ax__listen_free(ext);
}
