/*
 * win/iocp-pipe.c: the operations of the backend contract (src/backend.h)
 * on a named pipe's HANDLE, on the IOCP backend's completion port. The
 * stream engine (src/stream.c, listen.c) runs them unchanged: a pipe
 * stream has AX__STREAM_OWN_OPS, and stream-ops.c returns this table for
 * AX_PIPE.
 *
 * A pipe's handle is on the port with the key 0, as the loop's own packets
 * are, and each of its OVERLAPPEDs sits in an ax__io_t of the pipe's
 * state (struct ax__pipe_sys), whose callback takes the packet. A socket's
 * key is its ax__sock_t; a pipe cannot use that, because a server instance
 * goes on the port while the listener owns it, and an instance's key
 * cannot change when ax_accept() gives it to the client's stream.
 *
 *   RECV     a zero-byte overlapped ReadFile, which completes when data,
 *            the peer's end or an error arrives, and holds no buffer
 *            meanwhile (Windows and Wine both wait in it). RECV completes
 *            with 0; the engine then reads with recv_copy: PeekNamedPipe
 *            says how many bytes wait, and a ReadFile of no more than that
 *            takes them at once, with no packet (the low bit of the
 *            OVERLAPPED's event says so). A broken pipe is the end
 *            (AX_EOF): a pipe has no other way to say it.
 *   SEND     the vector's buffers written one at a time with overlapped
 *            WriteFile, while each completes inside the call (the pipe's
 *            buffer has room); the first that does not stays in flight,
 *            and its packet completes SEND with its bytes. The engine then
 *            sends the rest.
 *   CONNECT  CreateFileW with FILE_FLAG_OVERLAPPED. ERROR_PIPE_BUSY (every
 *            instance taken) is waited out on a thread of the system's
 *            pool, with WaitNamedPipeW in slices of PIPE_WAIT_SLICE_MS, up
 *            to PIPE_CONNECT_WAIT_MS, never on the loop's thread; the
 *            thread posts a packet that completes CONNECT.
 *   ACCEPT   a listener keeps ax_pipe_pending_instances() server instances
 *            (AX__PIPE_INSTANCES_DEFAULT, 4) each with a ConnectNamedPipe
 *            posted, as TCP keeps AcceptEx calls posted; each client is one
 *            ACCEPT completion whose result is the instance's handle, and
 *            the slot makes a new instance.
 *   CLOSE    CancelIoEx and CloseHandle, then a CLOSE completion once every
 *            packet the kernel owed is in (a pipe with nothing in flight
 *            posts one packet of its own, so that its state is freed from
 *            dispatch, never inside a callback that closed it).
 *
 * IPC pipes (ax_pipe_init() with ipc true) frame their bytes, so that a
 * socket can travel with them. Every frame is a header of two 32-bit
 * words in the machine's order (both ends are on one machine): the first
 * PIPE_FRAME_MAGIC with flags in its low byte (PIPE_FRAME_HANDLE: a
 * WSAPROTOCOL_INFOW follows the header; PIPE_FRAME_LISTENING: that socket
 * listens), the second the count of data bytes that follow, at most
 * PIPE_FRAME_DATA_MAX. The sender fills the protocol information with
 * WSADuplicateSocketW() for the process at the other end
 * (GetNamedPipeClientProcessId() or GetNamedPipeServerProcessId()); the
 * receiver makes its socket with WSASocketW() from it, and queues it for
 * ax_accept() before the data of its frame is read. Each frame is one
 * WriteFile from a buffer of the pipe's, so a frame's bytes are never
 * interleaved with another's; a header that is not ours is AX_EPROTO.
 *
 * Windows has no half-close on a pipe: a shutdown succeeds once the
 * queued writes are in the pipe, and the peer sees the end only when the
 * pipe is closed. A try-write has no non-blocking write to make on an
 * overlapped pipe, and says AX_EAGAIN (sock.c routes both here).
 */
#include <string.h>

#include "iocp-pipe.h"

enum {
  /* How long a connect waits for a busy pipe's instance to free up: as
   * long as libuv's, after which it fails with AX_ETIMEDOUT. */
  PIPE_CONNECT_WAIT_MS = 30000,
  /* Each WaitNamedPipeW's wait: how soon a close stops the wait. */
  PIPE_WAIT_SLICE_MS = 50,
};

/* IPC frames (see the top of the file). */
enum {
  PIPE_FRAME_MAGIC = 0x41585000u, /* "AXP", and the flags below. */
  PIPE_FRAME_HANDLE = 0x01u,      /* A WSAPROTOCOL_INFOW follows. */
  PIPE_FRAME_LISTENING = 0x02u,   /* Its socket listens. */
  PIPE_FRAME_HEADER_BYTES = 8,
  PIPE_FRAME_INFO_BYTES = sizeof(WSAPROTOCOL_INFOW),
  PIPE_FRAME_DATA_MAX = 64 * 1024,
};

/* What a frame begins with, as it is read: the header, and the protocol
 * information of a socket. */
struct pipe_frame_in {
  unsigned char bytes[PIPE_FRAME_HEADER_BYTES + PIPE_FRAME_INFO_BYTES];
  size_t have;        /* Bytes of it read. */
  size_t need;        /* Bytes it has (the header's, then the info's). */
  uint32_t data_left; /* Data bytes of the frame not yet read. */
};

/* ax__pipe_sys flags. */
enum {
  PIPE_SKIP = 1u << 0,         /* Success at once queues no packet. */
  PIPE_RECV_ARMED = 1u << 1,   /* recv_start, not yet stopped. */
  PIPE_RECV_POSTED = 1u << 2,  /* The zero-byte read is the kernel's. */
  PIPE_RECV_DUE = 1u << 3,     /* RECV due from the pending phase. */
  PIPE_SEND_POSTED = 1u << 4,  /* A WriteFile is the kernel's. */
  PIPE_SEND_DUE = 1u << 5,     /* SEND (send_result) due from pending. */
  PIPE_ACCEPT_ARMED = 1u << 6, /* accept_start, not yet stopped. */
  PIPE_CLOSING = 1u << 7,      /* sock_close was called. */
};

/* What a server instance's slot holds. */
enum {
  PIPE_SLOT_IDLE = 0,   /* Nothing posted (maybe an instance). */
  PIPE_SLOT_POSTED = 1, /* A ConnectNamedPipe is the kernel's. */
  PIPE_SLOT_READY = 2,  /* A client is connected, for delivery. */
};

/* What an overlapped call came to (pipe_posted); errors are below 0. */
enum { PIPE_POSTED = 0, PIPE_DONE = 1 };

/* One server instance of a listener. */
struct pipe_slot {
  ax__io_t io;                  /* The ConnectNamedPipe's OVERLAPPED. */
  struct ax__pipe_sys *sys;     /* The listener's state. */
  HANDLE handle;                /* The instance, or NULL. */
  struct pipe_slot *next_ready; /* In the ready queue. */
  int state;                    /* PIPE_SLOT_*. */
  bool skip;                    /* Success at once queues no packet. */
};

/* A pipe stream's own state (axle.h's ax__pipe_private.sys on Windows). */
struct ax__pipe_sys {
  ax_loop_t *loop;              /* The stream's loop. */
  ax__sock_t *sock;             /* The stream's socket slot. */
  ax__io_t recv;                /* The zero-byte ReadFile. */
  ax__io_t send;                /* The WriteFile in flight. */
  ax__io_t wait;                /* The connect's wait, posted by a thread. */
  ax__io_t close;               /* The CLOSE packet of an idle pipe. */
  ax__pending_t pending;        /* RECV, SEND, or ACCEPT due. */
  WCHAR *name;                  /* Bound or connected to, or NULL. */
  HANDLE bound;                 /* The first instance, not yet in a slot. */
  struct pipe_slot *slots;      /* A listener's, or NULL. */
  struct pipe_slot *ready_head; /* Connected clients, oldest first. */
  struct pipe_slot *ready_tail; /* Connected clients, newest. */
  int instances;                /* Slots to keep posted. */
  int accept_error;             /* A slot failed to post: for one ACCEPT. */
  intptr_t send_result;         /* With PIPE_SEND_DUE. */
  unsigned int owned;           /* Packets the kernel or a thread owes. */
  unsigned int flags;           /* PIPE_*. */
  struct pipe_frame_in in;      /* IPC: the frame being read. */
  unsigned char *frame;         /* IPC: the frame being written, or NULL. */
  HANDLE wait_handle;           /* What the connect's thread opened. */
  DWORD wait_error;             /* Or its error. */
  volatile LONG wait_cancel;    /* The pipe closed: the thread stops. */
};

/* The zero-byte read's buffer: ReadFile wants a pointer even for 0. */
static char pipe_zero_byte;

/* An event whose handle, with its low bit set, tells ReadFile to queue no
 * packet for a read known to complete at once (recv_copy). Nothing waits
 * on it; it is made once for the process and never closed. */
static HANDLE pipe_quiet_event;

static HANDLE pipe_handle(const ax__sock_t *sock) {
  return (HANDLE)sock->socket;
}

ax_pipe_t *ax__win_pipe_of(ax__sock_t *sock) {
  if ((sock->flags & AX__WIN_SOCK_PIPE) == 0)
    return NULL;
  ax_stream_t *stream = ax_container_of(sock, ax_stream_t, priv.sock);
  return (ax_pipe_t *)stream;
}

static struct ax__pipe_sys *pipe_sys_of(ax__sock_t *sock) {
  return ax__win_pipe_of(sock)->priv.sys;
}

static void pipe_pending_cb(ax_loop_t *loop, ax__pending_t *pending);

struct ax__pipe_sys *ax__win_pipe_sys(ax_pipe_t *pipe) {
  if (pipe->priv.sys != NULL)
    return pipe->priv.sys;
  struct ax__pipe_sys *sys = ax__calloc(1, sizeof(*sys));
  if (sys == NULL)
    return NULL;
  sys->loop = pipe->stream.handle.loop;
  sys->sock = &pipe->stream.priv.sock;
  sys->instances = AX__PIPE_INSTANCES_DEFAULT;
  ax__queue_init(&sys->pending.node);
  sys->pending.cb = pipe_pending_cb;
  pipe->priv.sys = sys;
  return sys;
}

void ax__win_pipe_sys_free(ax_pipe_t *pipe) {
  struct ax__pipe_sys *sys = pipe->priv.sys;
  if (sys == NULL)
    return;
  if (sys->bound != NULL)
    CloseHandle(sys->bound);
  ax__queue_remove(&sys->pending.node);
  ax__free(sys->slots);
  ax__free(sys->frame);
  ax__free(sys->name);
  ax__free(sys);
  pipe->priv.sys = NULL;
}

/* ---- What the kernel owns ---- */

static void pipe_own(struct ax__pipe_sys *sys) {
  sys->owned++;
  sys->loop->priv.platform.io_count++;
}

static void pipe_release(struct ax__pipe_sys *sys) {
  assert(sys->owned > 0 && "axle: a pipe packet nobody posted");
  sys->owned--;
  sys->loop->priv.platform.io_count--;
}

/* After an overlapped call that returned ok or not: PIPE_POSTED if its
 * packet is due, PIPE_DONE if it completed with no packet to come, or the
 * error it failed with (no packet either). */
static int pipe_posted(struct ax__pipe_sys *sys, bool ok, bool skip) {
  if (ok && skip)
    return PIPE_DONE;
  if (!ok) {
    DWORD err = GetLastError();
    if (err != ERROR_IO_PENDING)
      return ax_translate_sys_error((int)err);
  }
  pipe_own(sys);
  return PIPE_POSTED;
}

static void pipe_defer(struct ax__pipe_sys *sys, unsigned int flag) {
  sys->flags |= flag;
  if (ax__queue_empty(&sys->pending.node))
    ax__pending_push(sys->loop, &sys->pending);
}

/* The error an OVERLAPPED's packet carries, as GetLastError() says it. */
static int pipe_status(HANDLE handle, OVERLAPPED *overlapped) {
  if (overlapped->Internal == 0)
    return 0;
  DWORD bytes = 0;
  if (GetOverlappedResult(handle, overlapped, &bytes, FALSE))
    return 0;
  return ax_translate_sys_error((int)GetLastError());
}

/* ---- Receiving ---- */

static void pipe_recv_post(struct ax__pipe_sys *sys) {
  OVERLAPPED *overlapped = ax__io_overlapped(&sys->recv);
  memset(overlapped, 0, sizeof(*overlapped));
  BOOL ok = ReadFile(pipe_handle(sys->sock), &pipe_zero_byte, 0, NULL,
                     overlapped);
  if (pipe_posted(sys, ok, sys->flags & PIPE_SKIP) == PIPE_POSTED)
    sys->flags |= PIPE_RECV_POSTED;
  else
    pipe_defer(sys, PIPE_RECV_DUE); /* The read finds data, end or error. */
}

/* RECV while receiving is on; then the read is posted again, unless the
 * callback stopped receiving or closed the pipe. */
static void pipe_recv_deliver(struct ax__pipe_sys *sys) {
  if ((sys->flags & PIPE_RECV_ARMED) == 0)
    return;
  sys->sock->cb(sys->loop, sys->sock, AX__OP_RECV, 0);
  if ((sys->flags & (PIPE_RECV_ARMED | PIPE_RECV_POSTED | PIPE_RECV_DUE |
                     PIPE_CLOSING)) == PIPE_RECV_ARMED)
    pipe_recv_post(sys);
}

static int pipe_recv_start(ax_loop_t *loop, ax__sock_t *sock) {
  (void)loop;
  struct ax__pipe_sys *sys = pipe_sys_of(sock);
  sys->flags |= PIPE_RECV_ARMED;
  if ((sys->flags & (PIPE_RECV_POSTED | PIPE_RECV_DUE)) == 0)
    pipe_recv_post(sys);
  return 0;
}

/* A posted read stays posted: its packet is swallowed, or serves the next
 * recv_start. */
static void pipe_recv_stop(ax_loop_t *loop, ax__sock_t *sock) {
  (void)loop;
  struct ax__pipe_sys *sys = pipe_sys_of(sock);
  sys->flags &= ~(PIPE_RECV_ARMED | PIPE_RECV_DUE);
}

/* A read's error: a pipe whose other end closed says so with "broken",
 * which is the end of its bytes. */
static intptr_t pipe_read_error(DWORD err) {
  if (err == ERROR_BROKEN_PIPE || err == ERROR_PIPE_NOT_CONNECTED ||
      err == ERROR_NO_DATA)
    return AX_EOF;
  return ax_translate_sys_error((int)err);
}

static HANDLE pipe_quiet(void) {
  HANDLE event = __atomic_load_n(&pipe_quiet_event, __ATOMIC_ACQUIRE);
  if (event != NULL)
    return event;
  HANDLE made = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (made == NULL)
    return NULL;
  HANDLE expected = NULL;
  if (!__atomic_compare_exchange_n(&pipe_quiet_event, &expected, made, false,
                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    CloseHandle(made); /* Another thread's won. */
    return expected;
  }
  return made;
}

/* Read up to max bytes of what waits into dst, without waiting:
 * PeekNamedPipe counts it, and a read of no more than that completes
 * inside ReadFile. Should one not (no byte-mode pipe does that), it is
 * cancelled and whatever it took is returned. Bytes, AX_EAGAIN, AX_EOF,
 * or an error. */
static intptr_t pipe_read_now(HANDLE handle, void *dst, size_t max) {
  DWORD avail = 0;
  if (!PeekNamedPipe(handle, NULL, 0, NULL, &avail, NULL))
    return pipe_read_error(GetLastError());
  if (avail == 0)
    return AX_EAGAIN;
  HANDLE event = pipe_quiet();
  if (event == NULL)
    return ax_translate_sys_error((int)GetLastError());
  OVERLAPPED overlapped;
  memset(&overlapped, 0, sizeof(overlapped));
  overlapped.hEvent = (HANDLE)((uintptr_t)event | 1);
  DWORD want = avail < max ? avail : (DWORD)max;
  if (!ReadFile(handle, dst, want, NULL, &overlapped)) {
    DWORD err = GetLastError();
    if (err != ERROR_IO_PENDING && err != ERROR_MORE_DATA)
      return pipe_read_error(err);
    CancelIoEx(handle, &overlapped);
    while (overlapped.Internal == STATUS_PENDING)
      SleepEx(1, FALSE);
  }
  if (overlapped.InternalHigh == 0)
    return AX_EAGAIN;
  return (intptr_t)overlapped.InternalHigh;
}

static bool pipe_is_ipc(ax__sock_t *sock) {
  return ax__win_pipe_of(sock)->priv.ipc != NULL;
}

/* A frame's header and protocol information are in: check the one, make
 * the socket of the other and queue it. 0 or an error for the stream. */
static int pipe_frame_begin(ax__sock_t *sock, struct pipe_frame_in *in) {
  uint32_t word;
  memcpy(&word, in->bytes, sizeof(word));
  if ((word & ~0xffu) != PIPE_FRAME_MAGIC)
    return AX_EPROTO;
  if ((word & PIPE_FRAME_HANDLE) && in->need == PIPE_FRAME_HEADER_BYTES) {
    in->need += PIPE_FRAME_INFO_BYTES;
    return 0; /* The information comes next. */
  }
  memcpy(&in->data_left, in->bytes + sizeof(word), sizeof(in->data_left));
  if (in->data_left > PIPE_FRAME_DATA_MAX)
    return AX_EPROTO;
  in->have = 0;
  in->need = PIPE_FRAME_HEADER_BYTES;
  if ((word & PIPE_FRAME_HANDLE) == 0)
    return 0;
  WSAPROTOCOL_INFOW info;
  memcpy(&info, in->bytes + PIPE_FRAME_HEADER_BYTES, sizeof(info));
  SOCKET s = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
                        FROM_PROTOCOL_INFO, &info, 0,
                        WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET)
    return ax__win_sock_error();
  return ax__win_pipe_received(ax__win_pipe_of(sock), (ax_os_sock_t)s,
                               (word & PIPE_FRAME_LISTENING) != 0);
}

/* An IPC pipe's read: headers (and the sockets they bring) taken in
 * passing, data bytes into buf, never more than the frame has. */
static intptr_t pipe_recv_frames(ax__sock_t *sock, const ax_buf_t *buf) {
  struct ax__pipe_sys *sys = pipe_sys_of(sock);
  struct pipe_frame_in *in = &sys->in;
  if (in->need == 0)
    in->need = PIPE_FRAME_HEADER_BYTES;
  /* Each round reads a header, its information or data: bounded by the
   * bytes that wait, as each read drains some. */
  for (;;) {
    if (in->data_left > 0) {
      size_t max = buf->len < in->data_left ? buf->len : in->data_left;
      intptr_t n = pipe_read_now(pipe_handle(sock), buf->base, max);
      if (n > 0)
        in->data_left -= (uint32_t)n;
      return n;
    }
    intptr_t n = pipe_read_now(pipe_handle(sock), in->bytes + in->have,
                               in->need - in->have);
    if (n == AX_EOF && in->have > 0)
      return AX_EPROTO; /* Cut inside a header. */
    if (n < 0)
      return n;
    in->have += (size_t)n;
    if (in->have < in->need)
      continue;
    int err = pipe_frame_begin(sock, in);
    if (err != 0)
      return err;
  }
}

static intptr_t pipe_recv_copy(ax_loop_t *loop, ax__sock_t *sock,
                               const ax_buf_t *buf) {
  (void)loop;
  if (pipe_is_ipc(sock))
    return pipe_recv_frames(sock, buf);
  return pipe_read_now(pipe_handle(sock), buf->base, buf->len);
}

/* ---- Sending ---- */

static intptr_t pipe_send_error(DWORD err) {
  if (err == ERROR_BROKEN_PIPE || err == ERROR_NO_DATA ||
      err == ERROR_PIPE_NOT_CONNECTED)
    return AX_EPIPE;
  return ax_translate_sys_error((int)err);
}

/* A SEND for the pending phase: what follows bytes taken at once, when no
 * WriteFile is left in flight to complete it. */
static intptr_t pipe_send_later(struct ax__pipe_sys *sys, size_t taken,
                                intptr_t result) {
  sys->send_result = result;
  pipe_defer(sys, PIPE_SEND_DUE);
  return (intptr_t)taken;
}

/* One WriteFile: PIPE_DONE with *wrote set, PIPE_POSTED, or an error. */
static int pipe_write(struct ax__pipe_sys *sys, const void *bytes, size_t len,
                      size_t *wrote) {
  OVERLAPPED *overlapped = ax__io_overlapped(&sys->send);
  memset(overlapped, 0, sizeof(*overlapped));
  BOOL ok = WriteFile(pipe_handle(sys->sock), bytes, (DWORD)len, NULL,
                      overlapped);
  if (!ok && GetLastError() != ERROR_IO_PENDING)
    return (int)pipe_send_error(GetLastError());
  int posted = pipe_posted(sys, ok, sys->flags & PIPE_SKIP);
  if (posted == PIPE_POSTED)
    sys->flags |= PIPE_SEND_POSTED;
  else
    *wrote = overlapped->InternalHigh;
  return posted;
}

/* The process at the other end of the pipe, for WSADuplicateSocketW. */
static int pipe_peer_pid(HANDLE handle, DWORD *pid) {
  DWORD flags = 0;
  if (!GetNamedPipeInfo(handle, &flags, NULL, NULL, NULL))
    return ax_translate_sys_error((int)GetLastError());
  BOOL ok = (flags & PIPE_SERVER_END)
                ? GetNamedPipeClientProcessId(handle, pid)
                : GetNamedPipeServerProcessId(handle, pid);
  return ok ? 0 : ax_translate_sys_error((int)GetLastError());
}

/* The header, and the protocol information of handle (a TCP stream, or
 * NULL), of a frame of data_len bytes, into sys->frame: its length. */
static intptr_t pipe_frame_out(struct ax__pipe_sys *sys, ax_stream_t *handle,
                               size_t data_len) {
  uint32_t word = PIPE_FRAME_MAGIC;
  size_t len = PIPE_FRAME_HEADER_BYTES;
  if (handle != NULL) {
    if (handle->handle.type != AX_TCP)
      return AX_ENOTSUP; /* Pipes do not travel yet. */
    DWORD pid;
    int err = pipe_peer_pid(pipe_handle(sys->sock), &pid);
    if (err != 0)
      return err;
    WSAPROTOCOL_INFOW info;
    if (WSADuplicateSocketW((SOCKET)handle->priv.sock.socket, pid, &info) != 0)
      return ax__win_sock_error();
    memcpy(sys->frame + len, &info, sizeof(info));
    len += sizeof(info);
    word |= PIPE_FRAME_HANDLE;
    /* The socket's own word, not the stream's flags: a listener stopped
     * or not yet started by this handle listens all the same. */
    BOOL listening = FALSE;
    int len_listening = sizeof(listening);
    if (getsockopt((SOCKET)handle->priv.sock.socket, SOL_SOCKET, SO_ACCEPTCONN,
                   (char *)&listening, &len_listening) == 0 &&
        listening)
      word |= PIPE_FRAME_LISTENING;
  }
  uint32_t data = (uint32_t)data_len;
  memcpy(sys->frame, &word, sizeof(word));
  memcpy(sys->frame + sizeof(word), &data, sizeof(data));
  return (intptr_t)len;
}

/* An IPC pipe's send: a frame per PIPE_FRAME_DATA_MAX bytes, each copied
 * behind its header and written whole; the first carries the handle the
 * write sends, if any. A frame's data is copied, so it counts as taken
 * even while its WriteFile is in flight: the engine then knows that the
 * handle went with it (it keeps a handle for the next send while a send
 * takes no byte), and the frame's packet completes SEND with 0, "send
 * again". While a frame is in flight, nothing more is taken. */
static intptr_t pipe_send_frames(struct ax__pipe_sys *sys, const ax_buf_t *bufs,
                                 unsigned int nbufs) {
  if (sys->frame == NULL) {
    sys->frame = ax__malloc(PIPE_FRAME_HEADER_BYTES + PIPE_FRAME_INFO_BYTES +
                            PIPE_FRAME_DATA_MAX);
    if (sys->frame == NULL)
      return AX_ENOMEM;
  }
  if (sys->flags & PIPE_SEND_POSTED)
    return 0; /* Its packet completes SEND. */
  ax_pipe_t *pipe = ax__win_pipe_of(sys->sock);
  size_t taken = 0;
  for (unsigned int i = 0; i < nbufs; i++) {
    for (size_t at = 0; at < bufs[i].len;) {
      size_t chunk = bufs[i].len - at;
      if (chunk > PIPE_FRAME_DATA_MAX)
        chunk = PIPE_FRAME_DATA_MAX;
      intptr_t head = pipe_frame_out(sys, ax__win_pipe_take_send_handle(pipe),
                                     chunk);
      if (head < 0)
        return taken == 0 ? head : pipe_send_later(sys, taken, head);
      memcpy(sys->frame + head, bufs[i].base + at, chunk);
      size_t wrote = 0;
      int posted = pipe_write(sys, sys->frame, (size_t)head + chunk, &wrote);
      if (posted < 0)
        return taken == 0 ? posted : pipe_send_later(sys, taken, posted);
      if (posted == PIPE_DONE && wrote < (size_t)head + chunk)
        return pipe_send_later(sys, taken, AX_EIO); /* Frames go whole. */
      taken += chunk;
      at += chunk;
      if (posted == PIPE_POSTED)
        return (intptr_t)taken;
    }
  }
  return (intptr_t)taken;
}

static intptr_t pipe_send(ax_loop_t *loop, ax__sock_t *sock,
                          const ax_buf_t *bufs, unsigned int nbufs) {
  (void)loop;
  struct ax__pipe_sys *sys = pipe_sys_of(sock);
  if (pipe_is_ipc(sock))
    return pipe_send_frames(sys, bufs, nbufs);
  size_t taken = 0;
  for (unsigned int i = 0; i < nbufs; i++) {
    size_t wrote = 0;
    int posted = pipe_write(sys, bufs[i].base, bufs[i].len, &wrote);
    if (posted < 0)
      return taken == 0 ? posted : pipe_send_later(sys, taken, posted);
    if (posted == PIPE_POSTED)
      return (intptr_t)taken;
    taken += wrote;
    if (wrote < bufs[i].len)
      return pipe_send_later(sys, taken, 0); /* "Send again." */
  }
  return (intptr_t)taken;
}

/* An IPC pipe's frame was counted when it was copied. */
static void pipe_send_packet(struct ax__pipe_sys *sys, size_t bytes) {
  sys->flags &= ~PIPE_SEND_POSTED;
  OVERLAPPED *overlapped = ax__io_overlapped(&sys->send);
  intptr_t result = (intptr_t)bytes;
  if (overlapped->Internal != 0) {
    DWORD n = 0;
    if (!GetOverlappedResult(pipe_handle(sys->sock), overlapped, &n, FALSE))
      result = pipe_send_error(GetLastError());
  } else if (pipe_is_ipc(sys->sock)) {
    result = 0;
  }
  sys->sock->cb(sys->loop, sys->sock, AX__OP_SEND, result);
}

intptr_t ax__win_pipe_try_send(ax__sock_t *sock, const ax_buf_t *bufs,
                               unsigned int nbufs) {
  (void)sock;
  (void)bufs;
  (void)nbufs;
  return AX_EAGAIN;
}

int ax__win_pipe_shutdown(ax__sock_t *sock) {
  (void)sock;
  return 0;
}

/* ---- Connecting ---- */

static HANDLE pipe_open_client(const WCHAR *name, DWORD *err) {
  HANDLE handle = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL,
                              OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
  *err = handle == INVALID_HANDLE_VALUE ? GetLastError() : 0;
  return handle;
}

/* On a pool thread: wait for an instance of a busy pipe, in slices, until
 * one is free, the pipe is closed, or PIPE_CONNECT_WAIT_MS pass. */
static DWORD WINAPI pipe_connect_thread(void *arg) {
  struct ax__pipe_sys *sys = arg;
  HANDLE handle = INVALID_HANDLE_VALUE;
  DWORD err = ERROR_PIPE_BUSY;
  ULONGLONG deadline = GetTickCount64() + PIPE_CONNECT_WAIT_MS;
  while (err == ERROR_PIPE_BUSY && GetTickCount64() < deadline &&
         __atomic_load_n(&sys->wait_cancel, __ATOMIC_ACQUIRE) == 0) {
    if (!WaitNamedPipeW(sys->name, PIPE_WAIT_SLICE_MS) &&
        GetLastError() != ERROR_SEM_TIMEOUT &&
        GetLastError() != ERROR_PIPE_BUSY) {
      err = GetLastError();
      break;
    }
    handle = pipe_open_client(sys->name, &err);
  }
  sys->wait_handle = handle;
  sys->wait_error = err == ERROR_PIPE_BUSY ? ERROR_SEM_TIMEOUT : err;
  PostQueuedCompletionStatus(sys->loop->priv.platform.iocp, 0, 0,
                             ax__io_overlapped(&sys->wait));
  return 0;
}

static void pipe_wait_packet(ax_loop_t *loop, ax__io_t *io, size_t bytes);

static intptr_t pipe_connect(ax_loop_t *loop, ax__sock_t *sock,
                             const struct sockaddr *addr, int len) {
  (void)addr;
  (void)len;
  struct ax__pipe_sys *sys = pipe_sys_of(sock);
  if (sys == NULL || sys->name == NULL)
    return AX_EINVAL;
  DWORD err;
  HANDLE handle = pipe_open_client(sys->name, &err);
  if (handle != INVALID_HANDLE_VALUE) {
    int attach_err = ax__win_pipe_attach(loop, sock, handle);
    if (attach_err != 0)
      CloseHandle(handle);
    return attach_err;
  }
  if (err != ERROR_PIPE_BUSY)
    return ax_translate_sys_error((int)err);
  sys->wait_cancel = 0;
  sys->wait.cb = pipe_wait_packet;
  pipe_own(sys);
  sock->flags |= AX__WIN_SOCK_PIPE_WAIT;
  if (!QueueUserWorkItem(pipe_connect_thread, sys, WT_EXECUTELONGFUNCTION)) {
    pipe_release(sys);
    sock->flags &= (unsigned short)~AX__WIN_SOCK_PIPE_WAIT;
    return ax_translate_sys_error((int)GetLastError());
  }
  return AX__OP_PENDING;
}

/* ---- Accepting ---- */

/* A server instance of name, overlapped, on the loop's port. */
static HANDLE pipe_instance_new(ax_loop_t *loop, const WCHAR *name, bool first,
                                bool *skip, int *err) {
  DWORD open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED;
  if (first)
    open_mode |= FILE_FLAG_FIRST_PIPE_INSTANCE;
  HANDLE handle = CreateNamedPipeW(name, open_mode,
                                   PIPE_TYPE_BYTE | PIPE_READMODE_BYTE |
                                       PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                                   PIPE_UNLIMITED_INSTANCES,
                                   AX__PIPE_BUFFER_BYTES, AX__PIPE_BUFFER_BYTES,
                                   0, NULL);
  if (handle == INVALID_HANDLE_VALUE) {
    DWORD code = GetLastError();
    /* The first instance of a name in use: someone else serves it. */
    *err = first && code == ERROR_ACCESS_DENIED
               ? AX_EADDRINUSE
               : ax_translate_sys_error((int)code);
    return NULL;
  }
  if (CreateIoCompletionPort(handle, loop->priv.platform.iocp, 0, 0) == NULL) {
    *err = ax_translate_sys_error((int)GetLastError());
    CloseHandle(handle);
    return NULL;
  }
  *skip = SetFileCompletionNotificationModes(
              handle, FILE_SKIP_SET_EVENT_ON_HANDLE |
                          FILE_SKIP_COMPLETION_PORT_ON_SUCCESS) != 0;
  *err = 0;
  return handle;
}

static void pipe_slot_ready(struct ax__pipe_sys *sys, struct pipe_slot *slot) {
  slot->state = PIPE_SLOT_READY;
  slot->next_ready = NULL;
  if (sys->ready_tail != NULL)
    sys->ready_tail->next_ready = slot;
  else
    sys->ready_head = slot;
  sys->ready_tail = slot;
}

static void pipe_slot_drop(struct pipe_slot *slot) {
  if (slot->handle != NULL)
    CloseHandle(slot->handle);
  slot->handle = NULL;
  slot->state = PIPE_SLOT_IDLE;
}

static void pipe_accept_packet(ax_loop_t *loop, ax__io_t *io, size_t bytes);

/* Post a slot's ConnectNamedPipe, on a new instance if it has none. A
 * client that came before the call is ready at once (from the pending
 * phase); one that came and went already leaves a dead instance, which
 * is replaced once. 0 or an error. */
static int pipe_slot_post(struct ax__pipe_sys *sys, struct pipe_slot *slot) {
  for (int attempt = 0; attempt < 2; attempt++) {
    if (slot->handle == NULL) {
      int err;
      slot->handle = pipe_instance_new(sys->loop, sys->name, false, &slot->skip,
                                       &err);
      if (slot->handle == NULL)
        return err;
    }
    OVERLAPPED *overlapped = ax__io_overlapped(&slot->io);
    memset(overlapped, 0, sizeof(*overlapped));
    slot->io.cb = pipe_accept_packet;
    BOOL ok = ConnectNamedPipe(slot->handle, overlapped);
    DWORD code = ok ? 0 : GetLastError();
    if (code == ERROR_NO_DATA) {
      pipe_slot_drop(slot);
      continue;
    }
    if (code == ERROR_PIPE_CONNECTED) {
      pipe_slot_ready(sys, slot);
      pipe_defer(sys, 0);
      return 0;
    }
    int posted = pipe_posted(sys, ok, slot->skip);
    if (posted < 0)
      return posted;
    if (posted == PIPE_POSTED) {
      slot->state = PIPE_SLOT_POSTED;
    } else {
      pipe_slot_ready(sys, slot);
      pipe_defer(sys, 0);
    }
    return 0;
  }
  return 0;
}

static bool pipe_accepting(const struct ax__pipe_sys *sys) {
  return (sys->flags & (PIPE_ACCEPT_ARMED | PIPE_CLOSING)) == PIPE_ACCEPT_ARMED;
}

/* Post every idle slot; the first failure is kept for one ACCEPT. */
static void pipe_accept_post_idle(struct ax__pipe_sys *sys) {
  for (int i = 0; i < sys->instances; i++) {
    struct pipe_slot *slot = &sys->slots[i];
    if (slot->state != PIPE_SLOT_IDLE)
      continue;
    int err = pipe_slot_post(sys, slot);
    if (err != 0) {
      sys->accept_error = err;
      pipe_defer(sys, 0);
      return;
    }
  }
}

/* Hand the connected clients to the engine, oldest first, while it
 * accepts (each callback may stop it or close the listener). */
static void pipe_accept_deliver(struct ax__pipe_sys *sys) {
  for (int i = 0; i < sys->instances; i++) {
    if (!pipe_accepting(sys) || sys->ready_head == NULL)
      break;
    struct pipe_slot *slot = sys->ready_head;
    sys->ready_head = slot->next_ready;
    if (sys->ready_head == NULL)
      sys->ready_tail = NULL;
    HANDLE handle = slot->handle;
    slot->handle = NULL;
    slot->state = PIPE_SLOT_IDLE;
    sys->sock->cb(sys->loop, sys->sock, AX__OP_ACCEPT, (intptr_t)handle);
  }
  if (pipe_accepting(sys))
    pipe_accept_post_idle(sys);
}

static int pipe_accept_start(ax_loop_t *loop, ax__sock_t *sock) {
  (void)loop;
  struct ax__pipe_sys *sys = pipe_sys_of(sock);
  if (sys->slots == NULL) {
    sys->slots = ax__calloc((size_t)sys->instances, sizeof(*sys->slots));
    if (sys->slots == NULL)
      return AX_ENOMEM;
    for (int i = 0; i < sys->instances; i++)
      sys->slots[i].sys = sys;
    /* The instance binding made serves first: it holds the name. */
    sys->slots[0].handle = sys->bound;
    sys->slots[0].skip = (sys->flags & PIPE_SKIP) != 0;
    sys->bound = NULL;
  }
  sys->flags |= PIPE_ACCEPT_ARMED;
  sys->accept_error = 0;
  pipe_accept_post_idle(sys);
  if (sys->ready_head != NULL)
    pipe_defer(sys, 0);
  return 0;
}

static void pipe_accept_stop(ax_loop_t *loop, ax__sock_t *sock) {
  (void)loop;
  pipe_sys_of(sock)->flags &= ~PIPE_ACCEPT_ARMED;
}

/* ---- Closing ---- */

/* Everything of the pipe is in: free its state, then CLOSE, the last
 * thing the stream hears. */
static void pipe_close_done(struct ax__pipe_sys *sys) {
  ax__sock_t *sock = sys->sock;
  ax_loop_t *loop = sys->loop;
  ax__win_pipe_sys_free(ax__win_pipe_of(sock));
  sock->cb(loop, sock, AX__OP_CLOSE, 0);
}

static void pipe_close_packet(ax_loop_t *loop, ax__io_t *io, size_t bytes) {
  (void)loop;
  (void)bytes;
  struct ax__pipe_sys *sys = ax_container_of(io, struct ax__pipe_sys, close);
  pipe_release(sys);
  if (sys->owned == 0)
    pipe_close_done(sys);
}

/* A listener's instances: those with a ConnectNamedPipe posted are
 * cancelled (their packets come), the rest closed now. */
static void pipe_slots_close(struct ax__pipe_sys *sys) {
  for (int i = 0; sys->slots != NULL && i < sys->instances; i++) {
    struct pipe_slot *slot = &sys->slots[i];
    if (slot->state == PIPE_SLOT_POSTED)
      CancelIoEx(slot->handle, ax__io_overlapped(&slot->io));
    else
      pipe_slot_drop(slot);
  }
  sys->ready_head = NULL;
  sys->ready_tail = NULL;
}

static intptr_t pipe_sock_close(ax_loop_t *loop, ax__sock_t *sock) {
  (void)loop;
  struct ax__pipe_sys *sys = pipe_sys_of(sock);
  ax__queue_remove(&sys->pending.node);
  sys->flags &= ~(PIPE_RECV_ARMED | PIPE_RECV_DUE | PIPE_SEND_DUE |
                  PIPE_ACCEPT_ARMED);
  sys->flags |= PIPE_CLOSING;
  pipe_slots_close(sys);
  __atomic_store_n(&sys->wait_cancel, 1, __ATOMIC_RELEASE);
  HANDLE handle = pipe_handle(sock);
  if (sys->bound == handle)
    sys->bound = NULL; /* Bound, never listened: closed just below. */
  if (handle != INVALID_HANDLE_VALUE) {
    if (sys->flags & (PIPE_RECV_POSTED | PIPE_SEND_POSTED))
      CancelIoEx(handle, NULL);
    if (sys->slots == NULL) /* A listener's handle is a slot's. */
      CloseHandle(handle);
  }
  sock->socket = (uintptr_t)INVALID_HANDLE_VALUE;
  if (sys->owned == 0) {
    sys->close.cb = pipe_close_packet;
    pipe_own(sys);
    PostQueuedCompletionStatus(sys->loop->priv.platform.iocp, 0, 0,
                               ax__io_overlapped(&sys->close));
  }
  return AX__OP_PENDING;
}

/* ---- Packets and the pending phase ---- */

static bool pipe_closing_packet(struct ax__pipe_sys *sys) {
  if ((sys->flags & PIPE_CLOSING) == 0)
    return false;
  if (sys->owned == 0)
    pipe_close_done(sys);
  return true;
}

static void pipe_recv_packet(ax_loop_t *loop, ax__io_t *io, size_t bytes) {
  (void)loop;
  (void)bytes;
  struct ax__pipe_sys *sys = ax_container_of(io, struct ax__pipe_sys, recv);
  pipe_release(sys);
  sys->flags &= ~PIPE_RECV_POSTED;
  if (!pipe_closing_packet(sys))
    pipe_recv_deliver(sys); /* The read that follows finds what it was. */
}

static void pipe_send_io_packet(ax_loop_t *loop, ax__io_t *io, size_t bytes) {
  (void)loop;
  struct ax__pipe_sys *sys = ax_container_of(io, struct ax__pipe_sys, send);
  pipe_release(sys);
  if (!pipe_closing_packet(sys))
    pipe_send_packet(sys, bytes);
}

static void pipe_accept_packet(ax_loop_t *loop, ax__io_t *io, size_t bytes) {
  (void)loop;
  (void)bytes;
  struct pipe_slot *slot = ax_container_of(io, struct pipe_slot, io);
  struct ax__pipe_sys *sys = slot->sys;
  pipe_release(sys);
  if (sys->flags & PIPE_CLOSING) {
    pipe_slot_drop(slot);
    (void)pipe_closing_packet(sys);
    return;
  }
  int status = pipe_status(slot->handle, ax__io_overlapped(&slot->io));
  if (status != 0)
    pipe_slot_drop(slot); /* The client left first: a new instance. */
  else
    pipe_slot_ready(sys, slot);
  if (pipe_accepting(sys))
    pipe_accept_deliver(sys);
}

static void pipe_wait_packet(ax_loop_t *loop, ax__io_t *io, size_t bytes) {
  (void)bytes;
  struct ax__pipe_sys *sys = ax_container_of(io, struct ax__pipe_sys, wait);
  ax__sock_t *sock = sys->sock;
  pipe_release(sys);
  sock->flags &= (unsigned short)~AX__WIN_SOCK_PIPE_WAIT;
  HANDLE handle = sys->wait_handle;
  sys->wait_handle = INVALID_HANDLE_VALUE;
  if (sys->flags & PIPE_CLOSING) {
    if (handle != INVALID_HANDLE_VALUE)
      CloseHandle(handle);
    (void)pipe_closing_packet(sys);
    return;
  }
  intptr_t result = ax_translate_sys_error((int)sys->wait_error);
  if (handle != INVALID_HANDLE_VALUE) {
    result = ax__win_pipe_attach(loop, sock, handle);
    if (result != 0)
      CloseHandle(handle);
  }
  sock->cb(loop, sock, AX__OP_CONNECT, result);
}

static void pipe_pending_cb(ax_loop_t *loop, ax__pending_t *pending) {
  (void)loop;
  struct ax__pipe_sys *sys = ax_container_of(pending, struct ax__pipe_sys,
                                             pending);
  if (sys->flags & PIPE_SEND_DUE) {
    sys->flags &= ~PIPE_SEND_DUE;
    sys->sock->cb(sys->loop, sys->sock, AX__OP_SEND, sys->send_result);
    if (sys->flags & PIPE_CLOSING)
      return;
  }
  if (sys->flags & PIPE_RECV_DUE) {
    sys->flags &= ~PIPE_RECV_DUE;
    pipe_recv_deliver(sys);
    return;
  }
  if (sys->slots == NULL || !pipe_accepting(sys))
    return;
  pipe_accept_deliver(sys);
  if (!pipe_accepting(sys) || sys->accept_error == 0)
    return;
  int err = sys->accept_error;
  sys->accept_error = 0;
  sys->sock->cb(sys->loop, sys->sock, AX__OP_ACCEPT, err);
}

/* ---- Setting up ---- */

int ax__win_pipe_attach(ax_loop_t *loop, ax__sock_t *sock, HANDLE handle) {
  ax_pipe_t *pipe = ax__win_pipe_of(sock);
  struct ax__pipe_sys *sys = ax__win_pipe_sys(pipe);
  if (sys == NULL)
    return AX_ENOMEM;
  if (GetFileType(handle) != FILE_TYPE_PIPE)
    return AX_ENOTSUP;
  /* A listener's instance is on the port already, with the key 0 that
   * every pipe has: a second association fails, and is not needed. */
  if (CreateIoCompletionPort(handle, loop->priv.platform.iocp, 0, 0) == NULL &&
      GetLastError() != ERROR_INVALID_PARAMETER)
    return ax_translate_sys_error((int)GetLastError());
  if (SetFileCompletionNotificationModes(
          handle,
          FILE_SKIP_SET_EVENT_ON_HANDLE | FILE_SKIP_COMPLETION_PORT_ON_SUCCESS))
    sys->flags |= PIPE_SKIP;
  sys->recv.cb = pipe_recv_packet;
  sys->send.cb = pipe_send_io_packet;
  sock->socket = (uintptr_t)handle;
  return 0;
}

int ax__win_pipe_bind(ax_pipe_t *pipe) {
  struct ax__pipe_sys *sys = pipe->priv.sys;
  if (sys == NULL || sys->name == NULL)
    return AX_EINVAL;
  int err;
  bool skip;
  HANDLE handle = pipe_instance_new(pipe->stream.handle.loop, sys->name, true,
                                    &skip, &err);
  if (handle == NULL)
    return err;
  sys->recv.cb = pipe_recv_packet;
  sys->send.cb = pipe_send_io_packet;
  if (skip)
    sys->flags |= PIPE_SKIP;
  sys->bound = handle;
  pipe->stream.priv.sock.socket = (uintptr_t)handle;
  return 0;
}

void ax__win_pipe_set_instances(ax_pipe_t *pipe, int count) {
  struct ax__pipe_sys *sys = ax__win_pipe_sys(pipe);
  if (sys == NULL || sys->slots != NULL)
    return; /* Listening already: the count is fixed. */
  if (count < 1)
    count = 1;
  sys->instances = count > AX__PIPE_INSTANCES_MAX ? AX__PIPE_INSTANCES_MAX
                                                  : count;
}

const struct ax__sock_ops ax__iocp_pipe_ops = {
    .recv_start = pipe_recv_start,
    .recv_stop = pipe_recv_stop,
    .send = pipe_send,
    .connect = pipe_connect,
    .accept_start = pipe_accept_start,
    .accept_stop = pipe_accept_stop,
    .sock_close = pipe_sock_close,
    .recv_copy = pipe_recv_copy,
};

void ax__win_pipe_name_replace(struct ax__pipe_sys *sys, WCHAR *name) {
  ax__free(sys->name);
  sys->name = name;
}

const WCHAR *ax__win_pipe_name(const ax_pipe_t *pipe) {
  return pipe->priv.sys != NULL ? pipe->priv.sys->name : NULL;
}

void ax__win_pipe_sys_closed(ax_pipe_t *pipe) {
  struct ax__pipe_sys *sys = pipe->priv.sys;
  if (sys != NULL && (sys->flags & PIPE_CLOSING) == 0)
    ax__win_pipe_sys_free(pipe); /* No handle came: no CLOSE will free it. */
}
