/*
 * win/iocp-sock.c: the socket operations of the backend contract
 * (src/backend.h) on the IOCP backend's completion port.
 *
 * A socket is attached to the loop's port with its ax__sock_t as the
 * completion key; iocp.c hands each packet with such a key to
 * ax__iocp_sock_packet(), and the OVERLAPPED says which operation it ends:
 *
 *   RECV     a zero-byte overlapped WSARecv, which completes when data,
 *            the peer's end or an error arrives, and holds no buffer
 *            meanwhile. It completes RECV with 0 (the engine then reads
 *            with ax__sock_read() until WSAEWOULDBLOCK), and is posted
 *            again after the callback while receiving is on. recv_stop
 *            leaves one posted in place: its packet is swallowed, or
 *            serves the next recv_start.
 *   SEND     one overlapped WSASend of the engine's vector, which Winsock
 *            captures in the call. Done at once: the bytes are returned.
 *            Otherwise 0 is, and the packet completes SEND with the bytes.
 *   CONNECT  ConnectEx on the socket tcp.c bound, then
 *            SO_UPDATE_CONNECT_CONTEXT, so that getpeername() and
 *            shutdown() work on it.
 *   ACCEPT   AcceptEx calls kept posted, each into a socket made for it
 *            (below); each accepted socket is one ACCEPT completion.
 *   CLOSE    CancelIoEx and closesocket; CLOSE completes once the packet of
 *            every operation the kernel owned is dequeued, as the kernel
 *            writes into those OVERLAPPEDs until then.
 *
 * Every call is made on a socket with FILE_SKIP_COMPLETION_PORT_ON_SUCCESS
 * where the provider allows it (a layered provider that is not a file
 * system handle does not, and every operation then queues a packet, which
 * is handled the same way). An operation that succeeds inside the call
 * then queues no packet: a send or a connect returns its result, and a
 * receive or an accept completes from the pending phase, as completions
 * never run inside the call that submits them.
 *
 * Accepting. A listener keeps AX__ACCEPTS_POSTED AcceptEx calls posted,
 * each in a slot of its own. Why 32: the slots are what the kernel can
 * complete between two visits of the loop, so they bound a burst the loop
 * takes in one wakeup; each costs an unconnected socket (a kernel object)
 * and about 100 bytes, which 32 keeps small for a server with a handful of
 * listeners. An accept that completes inside AcceptEx itself (a connection
 * was already waiting) is delivered from the pending phase, so fewer slots
 * would cost a wakeup per connection under load rather than correctness.
 * Connections accepted while accepting is stopped stay in their slots and
 * are delivered after the next accept_start; a connection that arrives
 * while no slot is posted waits in the kernel's backlog.
 *
 * Out of sockets. Windows has no per-process descriptor limit; making the
 * socket for a slot fails only when the system runs out of memory for
 * sockets (WSAENOBUFS) or a provider's own limit (WSAEMFILE). A connection
 * then simply waits in the backlog, as no accept is posted for it: unlike
 * POSIX, no reserve descriptor is needed to take it out and refuse it. The
 * failure is one ACCEPT completion with the error, and the engine pauses
 * and calls accept_start again after its back-off (src/listen.c).
 *
 * Every operation the kernel owns is counted in the socket's owned count
 * and in the loop's io_count (which ax__io_any() reads) from its posting
 * to its packet. Nothing outside this file changes those counts for a
 * socket.
 */
#include <string.h>

#include "iocp-pipe.h"

/* The engine's vectors go to WSASend() as they are (here and in sock.c). */
_Static_assert(sizeof(ax_buf_t) == sizeof(WSABUF) &&
                   offsetof(ax_buf_t, len) == offsetof(WSABUF, len) &&
                   offsetof(ax_buf_t, base) == offsetof(WSABUF, buf),
               "axle/win.h: ax_buf_t is not laid out as WSABUF");

/* Room for one address in AcceptEx's output: the largest address of a TCP
 * socket (sockaddr_in6), plus the 16 bytes the function requires. */
enum { IOCP_ACCEPT_ADDR_BYTES = sizeof(struct sockaddr_in6) + 16 };

/* What an accept slot holds. */
enum {
  IOCP_SLOT_IDLE = 0,   /* No socket, nothing posted. */
  IOCP_SLOT_POSTED = 1, /* An AcceptEx is the kernel's. */
  IOCP_SLOT_READY = 2,  /* A connection waits for delivery. */
};

/* What an overlapped call came to (iocp_sock_posted); errors are below
 * zero. */
enum { IOCP_POSTED = 0, IOCP_DONE = 1 };

/* One posted AcceptEx. */
struct iocp_accept_slot {
  union ax__overlapped overlapped;     /* The AcceptEx's; first, so that a
                                         packet's OVERLAPPED is the slot. */
  SOCKET socket;                       /* Accepted into; or INVALID_SOCKET. */
  struct iocp_accept_slot *next_ready; /* In the ready queue. */
  int state;                           /* IOCP_SLOT_*. */
  char addresses[2 * IOCP_ACCEPT_ADDR_BYTES]; /* AcceptEx's output. */
};

/* A listener's slots, allocated by its first accept_start and freed when
 * it is closed and every packet is in. */
struct ax__sock_accepts {
  struct iocp_accept_slot slots[AX__ACCEPTS_POSTED]; /* The AcceptEx calls. */
  struct iocp_accept_slot *ready_head; /* Accepted, oldest first. */
  struct iocp_accept_slot *ready_tail; /* Accepted, newest. */
  int error; /* A slot could not be posted: for one ACCEPT, or 0. */
};

/* The zero-byte read's buffer: Winsock wants a pointer even for 0 bytes. */
static char iocp_zero_byte;

static OVERLAPPED *iocp_overlapped(union ax__overlapped *overlapped) {
  return (OVERLAPPED *)(void *)overlapped;
}

/* ---- What the kernel owns ---- */

static void iocp_sock_own(ax_loop_t *loop, ax__sock_t *sock) {
  sock->owned++;
  loop->priv.platform.io_count++;
}

static void iocp_sock_release(ax_loop_t *loop, ax__sock_t *sock) {
  assert(sock->owned > 0 && "axle: a socket packet nobody posted");
  sock->owned--;
  loop->priv.platform.io_count--;
}

/* After an overlapped call that returned ok or not: IOCP_POSTED if its
 * packet is due (the kernel owns the operation until then), IOCP_DONE if
 * it completed inside the call with no packet to come, or the error it
 * failed with (no packet either). */
static int iocp_sock_posted(ax_loop_t *loop, ax__sock_t *sock, bool ok) {
  if (ok && (sock->flags & AX__WIN_SOCK_SKIP))
    return IOCP_DONE;
  if (!ok) {
    int err = WSAGetLastError();
    if (err != WSA_IO_PENDING)
      return ax_translate_sys_error(err);
  }
  iocp_sock_own(loop, sock);
  return IOCP_POSTED;
}

/* A completion for the pending phase: RECV_DUE, or the listener's. */
static void iocp_sock_defer(ax_loop_t *loop, ax__sock_t *sock) {
  if (ax__queue_empty(&sock->pending.node))
    ax__pending_push(loop, &sock->pending);
}

/* The outcome of an operation whose packet came. The status in the
 * OVERLAPPED is an NTSTATUS; WSAGetOverlappedResult() turns it into the
 * Winsock error a call without an OVERLAPPED would have given. */
static int iocp_sock_status(const ax__sock_t *sock, OVERLAPPED *overlapped) {
  if (overlapped->Internal == 0)
    return 0;
  DWORD bytes = 0;
  DWORD flags = 0;
  if (WSAGetOverlappedResult(ax__win_sock_handle(sock), overlapped, &bytes,
                             FALSE, &flags))
    return 0;
  return ax__win_sock_error();
}

static bool iocp_sock_accepting(const ax__sock_t *sock) {
  return (sock->flags & (AX__WIN_SOCK_ACCEPT_ARMED | AX__WIN_SOCK_CLOSING)) ==
         AX__WIN_SOCK_ACCEPT_ARMED;
}

/* ---- Receiving ---- */

/* Post the zero-byte read. If it completes at once (data is there, or the
 * end, or an error), RECV is due from the pending phase, whose read finds
 * what it is. */
static void iocp_recv_post(ax_loop_t *loop, ax__sock_t *sock) {
  WSABUF buf = {.len = 0, .buf = &iocp_zero_byte};
  DWORD bytes = 0;
  DWORD flags = (sock->flags & AX__WIN_SOCK_DGRAM) ? MSG_PEEK : 0;
  OVERLAPPED *overlapped = iocp_overlapped(&sock->recv);
  memset(overlapped, 0, sizeof(*overlapped));
  int rc = WSARecv(ax__win_sock_handle(sock), &buf, 1, &bytes, &flags,
                   overlapped, NULL);
  if (iocp_sock_posted(loop, sock, rc == 0) == IOCP_POSTED) {
    sock->flags |= AX__WIN_SOCK_RECV_POSTED;
    return;
  }
  sock->flags |= AX__WIN_SOCK_RECV_DUE;
  iocp_sock_defer(loop, sock);
}

/* A zero-byte read still posted from before a recv_stop serves again. */
static int iocp_recv_start(ax_loop_t *loop, ax__sock_t *sock) {
  unsigned int waiting = AX__WIN_SOCK_RECV_POSTED | AX__WIN_SOCK_RECV_DUE;
  sock->flags |= AX__WIN_SOCK_RECV_ARMED;
  if (!(sock->flags & waiting))
    iocp_recv_post(loop, sock);
  return 0;
}

/* A posted zero-byte read stays posted: it holds no buffer, and its packet
 * is swallowed unless receiving starts again first. */
static void iocp_recv_stop(ax_loop_t *loop, ax__sock_t *sock) {
  (void)loop;
  sock->flags &= (unsigned short)~(AX__WIN_SOCK_RECV_ARMED |
                                   AX__WIN_SOCK_RECV_DUE);
}

/* Something is there to read: RECV, then wait for more, unless the
 * callback stopped receiving, closed the socket or posted a read itself. */
static void iocp_recv_deliver(ax_loop_t *loop, ax__sock_t *sock) {
  unsigned int busy = AX__WIN_SOCK_RECV_POSTED | AX__WIN_SOCK_RECV_DUE |
                      AX__WIN_SOCK_CLOSING;
  if (!(sock->flags & AX__WIN_SOCK_RECV_ARMED))
    return;
  sock->cb(loop, sock, AX__OP_RECV, 0);
  if ((sock->flags & (AX__WIN_SOCK_RECV_ARMED | busy)) ==
      AX__WIN_SOCK_RECV_ARMED)
    iocp_recv_post(loop, sock);
}

/* ---- Sending and connecting ---- */

static intptr_t iocp_send(ax_loop_t *loop, ax__sock_t *sock,
                          const ax_buf_t *bufs, unsigned int nbufs) {
  unsigned int busy = AX__WIN_SOCK_SEND_POSTED | AX__WIN_SOCK_CONNECT_POSTED;
  assert(!(sock->flags & busy) && "axle: a second send in flight");
  (void)busy;
  OVERLAPPED *overlapped = iocp_overlapped(&sock->send);
  memset(overlapped, 0, sizeof(*overlapped));
  DWORD sent = 0;
  /* ax_buf_t is laid out as WSABUF (axle/win.h); WSASend() only reads
   * the vector, though its prototype does not say so. */
  int rc = WSASend(ax__win_sock_handle(sock), (WSABUF *)(uintptr_t)bufs, nbufs,
                   &sent, 0, overlapped, NULL);
  int posted = iocp_sock_posted(loop, sock, rc == 0);
  if (posted == IOCP_DONE)
    return (intptr_t)sent;
  if (posted != IOCP_POSTED)
    return posted;
  sock->flags |= AX__WIN_SOCK_SEND_POSTED;
  return 0;
}

intptr_t ax__iocp_send_to(ax_loop_t *loop, ax__sock_t *sock,
                          const ax_buf_t *bufs, unsigned int nbufs,
                          const struct sockaddr *addr, int len) {
  assert(!(sock->flags & AX__WIN_SOCK_SEND_POSTED) &&
         "axle: a second send in flight");
  OVERLAPPED *overlapped = iocp_overlapped(&sock->send);
  memset(overlapped, 0, sizeof(*overlapped));
  DWORD sent = 0;
  int rc = WSASendTo(ax__win_sock_handle(sock), (WSABUF *)(uintptr_t)bufs,
                     nbufs, &sent, 0, len > 0 ? addr : NULL, len, overlapped,
                     NULL);
  int posted = iocp_sock_posted(loop, sock, rc == 0);
  if (posted == IOCP_DONE)
    return (intptr_t)sent;
  if (posted != IOCP_POSTED)
    return posted;
  sock->flags |= AX__WIN_SOCK_SEND_POSTED;
  return 0;
}

/* A socket ConnectEx connected becomes a full one (getpeername,
 * shutdown). */
static int iocp_connect_context(const ax__sock_t *sock) {
  if (setsockopt(ax__win_sock_handle(sock), SOL_SOCKET,
                 SO_UPDATE_CONNECT_CONTEXT, NULL, 0) != 0)
    return ax__win_sock_error();
  return 0;
}

static intptr_t iocp_connect(ax_loop_t *loop, ax__sock_t *sock,
                             const struct sockaddr *addr, int len) {
  OVERLAPPED *overlapped = iocp_overlapped(&sock->send);
  memset(overlapped, 0, sizeof(*overlapped));
  BOOL ok = ax__winsock.connect_ex(ax__win_sock_handle(sock), addr, len, NULL,
                                   0, NULL, overlapped);
  int posted = iocp_sock_posted(loop, sock, ok);
  if (posted == IOCP_DONE)
    return iocp_connect_context(sock);
  if (posted != IOCP_POSTED)
    return posted;
  sock->flags |= AX__WIN_SOCK_CONNECT_POSTED;
  return AX__OP_PENDING;
}

/* The packet of the send OVERLAPPED: a connect's or a send's. */
static void iocp_send_packet(ax_loop_t *loop, ax__sock_t *sock, DWORD bytes) {
  int status = iocp_sock_status(sock, iocp_overlapped(&sock->send));
  if (sock->flags & AX__WIN_SOCK_CONNECT_POSTED) {
    sock->flags &= (unsigned short)~AX__WIN_SOCK_CONNECT_POSTED;
    if (status == 0)
      status = iocp_connect_context(sock);
    sock->cb(loop, sock, AX__OP_CONNECT, status);
    return;
  }
  sock->flags &= (unsigned short)~AX__WIN_SOCK_SEND_POSTED;
  sock->cb(loop, sock, AX__OP_SEND, status != 0 ? status : (intptr_t)bytes);
}

/* ---- Accepting ---- */

static void iocp_slot_drop(struct iocp_accept_slot *slot) {
  if (slot->socket != INVALID_SOCKET)
    closesocket(slot->socket);
  slot->socket = INVALID_SOCKET;
  slot->state = IOCP_SLOT_IDLE;
}

/* An accepted socket becomes a full one (getpeername, shutdown) and waits
 * in the ready queue; one that cannot is dropped. */
static void iocp_slot_ready(ax__sock_t *sock, struct iocp_accept_slot *slot) {
  SOCKET listener = ax__win_sock_handle(sock);
  if (setsockopt(slot->socket, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
                 (const char *)&listener, sizeof(listener)) != 0) {
    iocp_slot_drop(slot);
    return;
  }
  struct ax__sock_accepts *accepts = sock->accepts;
  slot->state = IOCP_SLOT_READY;
  slot->next_ready = NULL;
  if (accepts->ready_tail == NULL)
    accepts->ready_head = slot;
  else
    accepts->ready_tail->next_ready = slot;
  accepts->ready_tail = slot;
}

/* Post one AcceptEx into a new socket. 0, or the error of making the
 * socket or of AcceptEx itself (the slot then stays idle). */
static int iocp_slot_post(ax_loop_t *loop, ax__sock_t *sock,
                          struct iocp_accept_slot *slot) {
  int family = (sock->flags & AX__WIN_SOCK_IPV6) ? AF_INET6 : AF_INET;
  int err;
  SOCKET socket = ax__win_socket(family, &err);
  if (socket == INVALID_SOCKET)
    return err;
  OVERLAPPED *overlapped = iocp_overlapped(&slot->overlapped);
  memset(overlapped, 0, sizeof(*overlapped));
  DWORD bytes = 0;
  BOOL ok = ax__winsock.accept_ex(ax__win_sock_handle(sock), socket,
                                  slot->addresses, 0, IOCP_ACCEPT_ADDR_BYTES,
                                  IOCP_ACCEPT_ADDR_BYTES, &bytes, overlapped);
  int posted = iocp_sock_posted(loop, sock, ok);
  if (posted < 0) {
    closesocket(socket);
    return posted;
  }
  slot->socket = socket;
  slot->state = IOCP_SLOT_POSTED;
  if (posted == IOCP_DONE) {
    iocp_slot_ready(sock, slot);
    iocp_sock_defer(loop, sock);
  }
  return 0;
}

/* Post every idle slot. The first failure stops there and is kept for one
 * ACCEPT completion from the pending phase. */
static void iocp_accept_post_idle(ax_loop_t *loop, ax__sock_t *sock) {
  struct ax__sock_accepts *accepts = sock->accepts;
  for (unsigned int i = 0; i < AX__ACCEPTS_POSTED; i++) {
    struct iocp_accept_slot *slot = &accepts->slots[i];
    if (slot->state != IOCP_SLOT_IDLE)
      continue;
    int err = iocp_slot_post(loop, sock, slot);
    if (err != 0) {
      accepts->error = err;
      iocp_sock_defer(loop, sock);
      return;
    }
  }
}

static struct ax__sock_accepts *iocp_accepts_new(void) {
  struct ax__sock_accepts *accepts = ax__calloc(1, sizeof(*accepts));
  if (accepts == NULL)
    return NULL;
  for (unsigned int i = 0; i < AX__ACCEPTS_POSTED; i++)
    accepts->slots[i].socket = INVALID_SOCKET;
  return accepts;
}

/* Connections accepted while stopped, and a failure to post, are
 * delivered from the pending phase. */
static int iocp_accept_start(ax_loop_t *loop, ax__sock_t *sock) {
  if (sock->accepts == NULL) {
    sock->accepts = iocp_accepts_new();
    if (sock->accepts == NULL)
      return AX_ENOMEM;
  }
  sock->flags |= AX__WIN_SOCK_ACCEPT_ARMED;
  sock->accepts->error = 0;
  iocp_accept_post_idle(loop, sock);
  if (sock->accepts->ready_head != NULL)
    iocp_sock_defer(loop, sock);
  return 0;
}

/* The posted AcceptEx calls stay posted; what they accept waits. */
static void iocp_accept_stop(ax_loop_t *loop, ax__sock_t *sock) {
  (void)loop;
  sock->flags &= (unsigned short)~AX__WIN_SOCK_ACCEPT_ARMED;
}

/* Hand the accepted sockets to the engine, oldest first, while it accepts
 * (each callback may stop it or close the listener), then post the slots
 * they left idle. */
static void iocp_accept_deliver(ax_loop_t *loop, ax__sock_t *sock) {
  struct ax__sock_accepts *accepts = sock->accepts;
  for (unsigned int i = 0; i < AX__ACCEPTS_POSTED; i++) {
    /* Closed by the last callback, the slots may be freed already. */
    if (!iocp_sock_accepting(sock) || accepts->ready_head == NULL)
      break;
    struct iocp_accept_slot *slot = accepts->ready_head;
    accepts->ready_head = slot->next_ready;
    if (accepts->ready_head == NULL)
      accepts->ready_tail = NULL;
    SOCKET socket = slot->socket;
    slot->socket = INVALID_SOCKET;
    slot->state = IOCP_SLOT_IDLE;
    sock->cb(loop, sock, AX__OP_ACCEPT, (intptr_t)socket);
  }
  if (iocp_sock_accepting(sock))
    iocp_accept_post_idle(loop, sock);
}

/* From the pending phase: the connections ready, then a failure to post,
 * which makes the engine pause. */
static void iocp_accept_due(ax_loop_t *loop, ax__sock_t *sock) {
  iocp_accept_deliver(loop, sock);
  struct ax__sock_accepts *accepts = sock->accepts;
  if (!iocp_sock_accepting(sock) || accepts->error == 0)
    return;
  int err = accepts->error;
  accepts->error = 0;
  sock->cb(loop, sock, AX__OP_ACCEPT, err);
}

/* An AcceptEx packet. A connection reset before its accept completed
 * fails only itself: its slot is posted again. */
static void iocp_accept_packet(ax_loop_t *loop, ax__sock_t *sock,
                               struct iocp_accept_slot *slot) {
  if (iocp_sock_status(sock, iocp_overlapped(&slot->overlapped)) != 0)
    iocp_slot_drop(slot);
  else
    iocp_slot_ready(sock, slot);
  if (iocp_sock_accepting(sock))
    iocp_accept_deliver(loop, sock);
}

/* ---- Closing ---- */

static void iocp_sock_free(ax__sock_t *sock) {
  ax__free(sock->accepts);
  sock->accepts = NULL;
}

/* The connections not delivered are refused (their sockets closed); the
 * sockets of accepts in flight are closed when their packets come. */
static void iocp_accepts_close(ax__sock_t *sock) {
  struct ax__sock_accepts *accepts = sock->accepts;
  if (accepts == NULL)
    return;
  for (unsigned int i = 0; i < AX__ACCEPTS_POSTED; i++) {
    if (accepts->slots[i].state == IOCP_SLOT_READY)
      iocp_slot_drop(&accepts->slots[i]);
  }
  accepts->ready_head = NULL;
  accepts->ready_tail = NULL;
}

static intptr_t iocp_sock_close(ax_loop_t *loop, ax__sock_t *sock) {
  (void)loop;
  ax__queue_remove(&sock->pending.node);
  sock->flags &= (unsigned short)~(AX__WIN_SOCK_RECV_ARMED |
                                   AX__WIN_SOCK_RECV_DUE |
                                   AX__WIN_SOCK_ACCEPT_ARMED);
  sock->flags |= AX__WIN_SOCK_CLOSING;
  iocp_accepts_close(sock);
  /* Windows' closesocket() cancels the operations in flight by itself;
   * Wine's (8.0) leaves overlapped sends pending, and their packets never
   * come. CancelIoEx() first cancels them on both. */
  if (sock->owned > 0)
    CancelIoEx((HANDLE)ax__win_sock_handle(sock), NULL);
  closesocket(ax__win_sock_handle(sock));
  sock->socket = INVALID_SOCKET;
  if (sock->owned > 0)
    return AX__OP_PENDING;
  iocp_sock_free(sock);
  return 0;
}

/* A packet of a closed socket: its operation was cancelled, or ended
 * before that. An accept's socket is closed; the last packet completes
 * CLOSE. */
static void iocp_close_packet(ax_loop_t *loop, ax__sock_t *sock,
                              OVERLAPPED *overlapped) {
  if (overlapped != iocp_overlapped(&sock->recv) &&
      overlapped != iocp_overlapped(&sock->send))
    iocp_slot_drop((struct iocp_accept_slot *)(void *)overlapped);
  if (sock->owned > 0)
    return;
  iocp_sock_free(sock);
  sock->cb(loop, sock, AX__OP_CLOSE, 0);
}

/* ---- Packets and the pending phase ---- */

void ax__iocp_sock_packet(ax_loop_t *loop, ax__sock_t *sock,
                          OVERLAPPED *overlapped, DWORD bytes) {
  iocp_sock_release(loop, sock);
  if (sock->flags & AX__WIN_SOCK_CLOSING) {
    iocp_close_packet(loop, sock, overlapped);
  } else if (overlapped == iocp_overlapped(&sock->recv)) {
    /* Whatever the packet's status, the read that follows finds the data,
     * the end or the error again, and reports it. */
    sock->flags &= (unsigned short)~AX__WIN_SOCK_RECV_POSTED;
    iocp_recv_deliver(loop, sock);
  } else if (overlapped == iocp_overlapped(&sock->send)) {
    iocp_send_packet(loop, sock, bytes);
  } else {
    iocp_accept_packet(loop, sock,
                       (struct iocp_accept_slot *)(void *)overlapped);
  }
}

/* What completed inside a call: a receive, or a listener's accepts. A
 * closed socket is out of the pending phase (iocp_sock_close). */
static void iocp_sock_pending_cb(ax_loop_t *loop, ax__pending_t *pending) {
  ax__sock_t *sock = ax_container_of(pending, ax__sock_t, pending);
  if (sock->flags & AX__WIN_SOCK_RECV_DUE) {
    sock->flags &= (unsigned short)~AX__WIN_SOCK_RECV_DUE;
    iocp_recv_deliver(loop, sock);
  } else if (sock->accepts != NULL && iocp_sock_accepting(sock)) {
    iocp_accept_due(loop, sock);
  }
}

/* ---- Setting up ---- */

void ax__sock_init(ax__sock_t *sock, ax__sock_cb cb) {
  memset(sock, 0, sizeof(*sock));
  sock->cb = cb;
  sock->socket = INVALID_SOCKET;
  ax__queue_init(&sock->pending.node);
  sock->pending.cb = iocp_sock_pending_cb;
}

/* What NtSetInformationFile takes to move a handle to another port
 * (ntifs.h, which mingw-w64's headers lack). */
enum { IOCP_FILE_REPLACE_COMPLETION_INFORMATION = 61 };
struct iocp_completion_information {
  HANDLE port; /* The new port. */
  void *key;   /* The new completion key. */
};
typedef LONG(NTAPI *iocp_set_information_fn)(HANDLE handle, void *status,
                                             void *info, ULONG len, int cls);

/* A socket received over an IPC pipe is the same kernel object as the
 * sender's, which may be on the sender's port already, and a second
 * association fails: Windows 8.1 can move it to this loop's port
 * instead. Whether that worked. */
static bool iocp_sock_move_port(HANDLE s, HANDLE port, ULONG_PTR key) {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  iocp_set_information_fn set =
      ntdll == NULL ? NULL
                    : (iocp_set_information_fn)(void (*)(void))GetProcAddress(
                          ntdll, "NtSetInformationFile");
  if (set == NULL)
    return false;
  struct iocp_completion_information info = {.port = port, .key = (void *)key};
  ULONG_PTR status[2];
  return set(s, status, &info, sizeof(info),
             IOCP_FILE_REPLACE_COMPLETION_INFORMATION) >= 0;
}

/*
 * Make s the socket of sock (a pipe's handle goes to iocp-pipe.c):
 * non-blocking, for the reads and try-writes
 * made without an OVERLAPPED; on the loop's port, keyed by sock; and with
 * no packet for what succeeds at once, where the provider allows it.
 */
int ax__sock_attach(ax_loop_t *loop, ax__sock_t *sock, ax_os_sock_t s) {
  if (sock->flags & AX__WIN_SOCK_PIPE)
    return ax__win_pipe_attach(loop, sock, (HANDLE)s);
  u_long non_blocking = 1;
  if (ioctlsocket((SOCKET)s, FIONBIO, &non_blocking) != 0)
    return ax__win_sock_error();
  if (ax__win_sys.create_io_completion_port((HANDLE)s, loop->priv.platform.iocp,
                                            (ULONG_PTR)sock, 0) == NULL &&
      (GetLastError() != ERROR_INVALID_PARAMETER ||
       !iocp_sock_move_port((HANDLE)s, loop->priv.platform.iocp,
                            (ULONG_PTR)sock)))
    return ax_translate_sys_error((int)GetLastError());
  if (SetFileCompletionNotificationModes(
          (HANDLE)s,
          FILE_SKIP_SET_EVENT_ON_HANDLE | FILE_SKIP_COMPLETION_PORT_ON_SUCCESS))
    sock->flags |= AX__WIN_SOCK_SKIP;
  sock->socket = s;
  return 0;
}

const struct ax__sock_ops ax__iocp_sock_ops = {
    .recv_start = iocp_recv_start,
    .recv_stop = iocp_recv_stop,
    .send = iocp_send,
    .connect = iocp_connect,
    .accept_start = iocp_accept_start,
    .accept_stop = iocp_accept_stop,
    .sock_close = iocp_sock_close,
};
