/*
 * win/poll-watch.c: ax_poll_t on Windows, the readiness of a socket that
 * the caller reads and writes itself.
 *
 * Windows has no readiness API that completes on a port, except inside the
 * socket driver: AFD, the kernel's "ancillary function driver" behind
 * Winsock, takes IOCTL_AFD_POLL, a poll of a set of sockets that completes
 * like any overlapped I/O. WSAPoll() itself is built on it. The ioctl and
 * its structures are not in the SDK; their layout is the one Windows has
 * kept since Vista and that wepoll, libuv and Wine (ntdll's socket code,
 * since Wine 6) use.
 *
 * Each poll handle opens its own handle to the driver (\Device\Afd, with
 * NtCreateFile: Win32 has no name for it), associated with the loop's port,
 * and keeps at most one poll in flight on it, for the socket's base handle
 * (SIO_BASE_HANDLE: the socket under any layered provider). A completion
 * calls the callback and submits the next poll: level-triggered, as on
 * POSIX, since a poll of a socket that is still ready completes at once.
 * Stopping or changing the events cancels the poll in flight (CancelIoEx),
 * whose completion then follows. Closing does the same, and if a poll is
 * still in flight its memory (struct ax__poll_afd) stays allocated, owned
 * by the loop as a request in flight, until the cancelled poll completes:
 * the handle's memory is the caller's again in its close callback.
 *
 * Under Wine (8.0) all of this works as on Windows; docs/signals.md says
 * what differs there.
 */
#include "internal.h"

#include <mswsock.h>
#include <winternl.h>

/* The driver's poll ioctl, and its event bits (AFD_POLL_*). */
#define POLL_IOCTL_AFD_POLL 0x00012024
enum {
  AFD_RECEIVE = 0x0001,           /* Data to read. */
  AFD_RECEIVE_EXPEDITED = 0x0002, /* Out-of-band data to read. */
  AFD_SEND = 0x0004,              /* Room to write. */
  AFD_DISCONNECT = 0x0008,        /* The peer shut down (FIN). */
  AFD_ABORT = 0x0010,             /* The connection was reset. */
  AFD_LOCAL_CLOSE = 0x0020,       /* The socket was closed here. */
  AFD_ACCEPT = 0x0080,            /* A connection to accept. */
  AFD_CONNECT_FAIL = 0x0100,      /* A connect failed. */
};

enum {
  POLL_EVENTS = AX_POLL_READABLE | AX_POLL_WRITABLE | AX_POLL_DISCONNECT |
                AX_POLL_PRIORITIZED,
};

/* One socket's part of a poll: which, what to wait for, what happened. */
struct afd_poll_handle {
  HANDLE socket;   /* The socket's base handle. */
  ULONG events;    /* AFD_* bits: wanted, then seen. */
  NTSTATUS status; /* The socket's own outcome. */
};

/* The ioctl's input and output buffer: a poll of one socket. */
struct afd_poll_info {
  LARGE_INTEGER timeout;            /* Absolute; INT64_MAX: none. */
  ULONG count;                      /* Sockets: 1; after: 1 if ready. */
  ULONG exclusive;                  /* FALSE: other polls see it too. */
  struct afd_poll_handle handle[1]; /* The socket. */
};

struct ax__poll_afd {
  ax__io_t io;               /* The poll in flight: its OVERLAPPED. */
  struct afd_poll_info info; /* The poll's request, then its result. */
  HANDLE device;             /* \Device\Afd, associated with the port. */
  HANDLE base;               /* The socket's base handle. */
  ax_poll_t *poll;           /* The owner; NULL once closed. */
  unsigned int submitted;    /* AX_POLL_* bits of the poll in flight. */
  int in_flight;             /* A poll is in flight. */
  int cancelled;             /* CancelIoEx was called for it. */
};

typedef NTSTATUS NTAPI poll_nt_create_file_fn(PHANDLE, ACCESS_MASK,
                                              POBJECT_ATTRIBUTES,
                                              PIO_STATUS_BLOCK, PLARGE_INTEGER,
                                              ULONG, ULONG, ULONG, ULONG, PVOID,
                                              ULONG);
typedef ULONG NTAPI poll_nt_status_fn(NTSTATUS);

/* A function of ntdll, which every process has loaded: looked up rather
 * than linked, so that axle's users need not link ntdll themselves. */
static void (*poll_ntdll(const char *name))(void) {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  /* Through a generic function pointer: FARPROC converts to it cleanly. */
  return ntdll == NULL ? NULL : (void (*)(void))GetProcAddress(ntdll, name);
}

/* Open a handle to the socket driver. The name after \Device\Afd is free:
 * the driver ignores it (wepoll uses \Wepoll). */
static int poll_afd_open(HANDLE *device) {
  poll_nt_create_file_fn *create = (poll_nt_create_file_fn *)poll_ntdll(
      "NtCreateFile");
  poll_nt_status_fn *to_win32 = (poll_nt_status_fn *)poll_ntdll(
      "RtlNtStatusToDosError");
  if (create == NULL || to_win32 == NULL)
    return AX_ENOSYS;
  static const WCHAR name[] = L"\\Device\\Afd\\axle";
  UNICODE_STRING path = {sizeof(name) - sizeof(WCHAR), sizeof(name),
                         (PWSTR)name};
  OBJECT_ATTRIBUTES attributes;
  InitializeObjectAttributes(&attributes, &path, 0, NULL, NULL);
  IO_STATUS_BLOCK iosb;
  NTSTATUS status = create(device, SYNCHRONIZE, &attributes, &iosb, NULL, 0,
                           FILE_SHARE_READ | FILE_SHARE_WRITE, FILE_OPEN, 0,
                           NULL, 0);
  if (status != 0)
    return ax_translate_sys_error((int)to_win32(status));
  return 0;
}

/* The AFD_* bits to wait for. A closed socket always ends the poll. */
static ULONG poll_afd_bits(unsigned int events) {
  ULONG bits = AFD_LOCAL_CLOSE;
  if (events & AX_POLL_READABLE)
    bits |= AFD_RECEIVE | AFD_ACCEPT | AFD_DISCONNECT | AFD_ABORT;
  if (events & AX_POLL_WRITABLE)
    bits |= AFD_SEND | AFD_ABORT | AFD_CONNECT_FAIL;
  if (events & AX_POLL_PRIORITIZED)
    bits |= AFD_RECEIVE_EXPEDITED;
  if (events & AX_POLL_DISCONNECT)
    bits |= AFD_DISCONNECT | AFD_ABORT;
  return bits;
}

/* The AX_POLL_* bits of a result. The end of the stream and a reset are
 * readable (recv() returns 0 or fails); a reset or a failed connect is
 * writable (send() fails): the caller's own I/O finds out which. */
static unsigned int poll_afd_events(ULONG bits) {
  unsigned int events = 0;
  if (bits & (AFD_RECEIVE | AFD_ACCEPT | AFD_DISCONNECT | AFD_ABORT))
    events |= AX_POLL_READABLE;
  if (bits & (AFD_SEND | AFD_ABORT | AFD_CONNECT_FAIL))
    events |= AX_POLL_WRITABLE;
  if (bits & AFD_RECEIVE_EXPEDITED)
    events |= AX_POLL_PRIORITIZED;
  if (bits & (AFD_DISCONNECT | AFD_ABORT))
    events |= AX_POLL_DISCONNECT;
  return events;
}

static int poll_afd_submit(ax_loop_t *loop, struct ax__poll_afd *afd,
                           unsigned int events) {
  memset(&afd->io.overlapped, 0, sizeof(afd->io.overlapped));
  afd->info.timeout.QuadPart = INT64_MAX;
  afd->info.count = 1;
  afd->info.exclusive = FALSE;
  afd->info.handle[0].socket = afd->base;
  afd->info.handle[0].events = poll_afd_bits(events);
  afd->info.handle[0].status = 0;
  /* A poll that is over at once still queues its packet: the device is
   * not set to skip the port on success. */
  if (!DeviceIoControl(afd->device, POLL_IOCTL_AFD_POLL, &afd->info,
                       sizeof(afd->info), &afd->info, sizeof(afd->info), NULL,
                       ax__io_overlapped(&afd->io))) {
    DWORD err = GetLastError();
    if (err != ERROR_IO_PENDING)
      return ax_translate_sys_error((int)err);
  }
  afd->in_flight = 1;
  afd->cancelled = 0;
  afd->submitted = events;
  loop->priv.platform.io_count++;
  return 0;
}

static void poll_afd_cancel(struct ax__poll_afd *afd) {
  if (!afd->in_flight || afd->cancelled)
    return;
  /* Fails with ERROR_NOT_FOUND when the poll is over already: its packet
   * is on its way either way. */
  (void)CancelIoEx(afd->device, ax__io_overlapped(&afd->io));
  afd->cancelled = 1;
}

static void poll_afd_free(struct ax__poll_afd *afd) {
  CloseHandle(afd->device);
  ax__free(afd);
}

static void poll_stop(ax_poll_t *poll) {
  poll_afd_cancel(poll->priv.afd);
  poll->priv.flags = 0;
  ax__handle_stop(&poll->handle);
}

/* The outcome of a completed poll: 0 and the events seen (none when it was
 * cancelled), or an error that ends the watch. */
static int poll_afd_result(struct ax__poll_afd *afd, unsigned int *events) {
  *events = 0;
  DWORD bytes;
  if (!GetOverlappedResult(afd->device, ax__io_overlapped(&afd->io), &bytes,
                           FALSE)) {
    DWORD err = GetLastError();
    return err == ERROR_OPERATION_ABORTED ? 0
                                          : ax_translate_sys_error((int)err);
  }
  if (afd->info.count == 0)
    return 0; /* No socket was ready: cannot happen without a timeout. */
  ULONG bits = afd->info.handle[0].events;
  /* A socket closed under the poll (or never valid): it ends the watch. */
  if ((bits & AFD_LOCAL_CLOSE) || afd->info.handle[0].status != 0)
    return AX_EBADF;
  *events = poll_afd_events(bits);
  return 0;
}

/* A poll completed. The callback may stop, restart or close the handle:
 * only a handle still active with nothing in flight is polled again. */
static void poll_afd_cb(ax_loop_t *loop, ax__io_t *io, size_t bytes) {
  (void)bytes;
  struct ax__poll_afd *afd = ax_container_of(io, struct ax__poll_afd, io);
  ax_poll_t *poll = afd->poll;
  afd->in_flight = 0;
  loop->priv.platform.io_count--;
  if (poll == NULL) {
    /* The cancelled poll of a closed handle: the last thing it waited for. */
    loop->priv.active_reqs--;
    poll_afd_free(afd);
    return;
  }
  if (!ax__handle_is_active(&poll->handle))
    return; /* Stopped while in flight. */
  unsigned int events;
  int err = poll_afd_result(afd, &events);
  if (err == 0) {
    events &= poll->priv.flags;
    if (events != 0)
      poll->priv.cb(poll, 0, (int)events);
    /* Tested first: a closed handle's afd may be freed already. */
    if (!ax__handle_is_active(&poll->handle) || afd->in_flight)
      return;
    err = poll_afd_submit(loop, afd, poll->priv.flags);
    if (err == 0)
      return;
  }
  poll_stop(poll);
  poll->priv.cb(poll, err, 0);
}

int ax_poll_init(ax_loop_t *loop, ax_poll_t *poll, int fd) {
  (void)fd;
  if (loop == NULL || poll == NULL)
    return AX_EINVAL;
  /* A C runtime descriptor may be a file, a pipe or a console, none of
   * which Windows can poll for readiness. */
  return AX_ENOTSUP;
}

int ax_poll_init_socket(ax_loop_t *loop, ax_poll_t *poll, ax_os_sock_t sock) {
  if (poll == NULL || sock == INVALID_SOCKET)
    return AX_EINVAL;
  /* First, so that a zeroed or closed loop is refused before its port is
   * used. */
  int err = ax__handle_init(loop, &poll->handle, AX_POLL);
  if (err != 0)
    return err;
  struct ax__poll_afd *afd = ax__calloc(1, sizeof(*afd));
  if (afd == NULL) {
    err = AX_ENOMEM;
    goto out_undo;
  }
  SOCKET base;
  DWORD len;
  if (WSAIoctl((SOCKET)sock, SIO_BASE_HANDLE, NULL, 0, &base, sizeof(base),
               &len, NULL, NULL) != 0) {
    err = ax_translate_sys_error(WSAGetLastError());
    goto out_free;
  }
  err = poll_afd_open(&afd->device);
  if (err != 0)
    goto out_free;
  if (ax__win_sys.create_io_completion_port(
          afd->device, loop->priv.platform.iocp, 0, 0) == NULL) {
    err = ax_translate_sys_error((int)GetLastError());
    goto out_close_device;
  }
  afd->io.cb = poll_afd_cb;
  afd->base = (HANDLE)base;
  afd->poll = poll;
  poll->priv.cb = NULL;
  poll->priv.socket = sock;
  poll->priv.afd = afd;
  poll->priv.flags = 0;
  return 0;

out_close_device:
  CloseHandle(afd->device);
out_free:
  ax__free(afd);
out_undo:
  ax__handle_init_undo(&poll->handle);
  return err;
}

int ax_poll_start(ax_poll_t *poll, int events, ax_poll_cb poll_cb) {
  if (poll == NULL || poll_cb == NULL || events <= 0 ||
      (events & ~POLL_EVENTS) != 0)
    return AX_EINVAL;
  if (ax__handle_is_closing(&poll->handle))
    return AX_EBADF;
  struct ax__poll_afd *afd = poll->priv.afd;
  poll->priv.cb = poll_cb;
  poll->priv.flags = (unsigned int)events;
  ax__handle_start(&poll->handle);
  if (afd->in_flight) {
    /* Its completion polls again, for these events, once cancelled. */
    if (afd->submitted != (unsigned int)events)
      poll_afd_cancel(afd);
    return 0;
  }
  int err = poll_afd_submit(poll->handle.loop, afd, (unsigned int)events);
  if (err != 0)
    poll_stop(poll);
  return err;
}

int ax_poll_stop(ax_poll_t *poll) {
  if (poll == NULL)
    return AX_EINVAL;
  poll_stop(poll);
  return 0;
}

void ax__poll_close(ax_handle_t *handle) {
  ax_poll_t *poll = (ax_poll_t *)handle;
  struct ax__poll_afd *afd = poll->priv.afd;
  poll_stop(poll);
  poll->priv.afd = NULL;
  if (afd->in_flight) {
    /* Freed by its completion; until then the loop stays alive, and
     * ax_loop_close() refuses with AX_EBUSY. */
    afd->poll = NULL;
    poll->handle.loop->priv.active_reqs++;
    return;
  }
  poll_afd_free(afd);
}
