/*
 * win/signal.c: the Windows part of signal handles (src/signal-registry.h):
 * the console's control events as signals, and a completion packet per
 * loop.
 *
 * Windows has no POSIX signals to catch: what a console program receives is
 * a control event, on a thread the system starts for it. While any handle
 * watches one, a handler installed with SetConsoleCtrlHandler turns the
 * events into signal numbers:
 *   CTRL_C_EVENT      -> SIGINT
 *   CTRL_BREAK_EVENT  -> SIGBREAK (21, the C runtime's)
 *   CTRL_CLOSE_EVENT  -> SIGHUP (1; the C runtime has no SIGHUP, and
 *                        axle/win.h defines it when missing)
 * and wakes every loop watching the signal by posting its group's packet
 * to the loop's completion port. Any other signal number is refused with
 * AX_ENOSYS: the C runtime's raise() and signal() never reach a console
 * handler, so axle could not deliver it.
 *
 * At most one packet per group is in the port (posted flag, as for the
 * async wakeup in win/async.c). A group whose last handle stops while its
 * packet is still queued cannot be freed yet: it is marked dying and counts
 * as a request in flight, which keeps the loop running until the packet is
 * collected and the group freed.
 */
#include <signal.h>

#include "../signal-registry.h"
#include "internal.h"

/*
 * How long the handler holds a close event. The system ends the process as
 * soon as the handler returns, and otherwise when its own time is up (5
 * seconds by default): holding the event is what gives the loops a chance
 * to run their SIGHUP callbacks. The bound is longer than the system's, so
 * it is the system that ends the wait, as it ends the process.
 */
enum { SIGNAL_CLOSE_HOLD_MS = 20000 };

/* A loop's group with its completion packet. */
struct signal_port {
  struct ax__signal_group group; /* The portable part; first. */
  ax__io_t io;                   /* The packet posted to wake the loop. */
  int posted;                    /* The packet is in the port (__atomic). */
  int dying; /* Out of the registry; free when the packet arrives. */
};

/* Signals watched by some handle: the console handler is installed while
 * this is not 0. Under the registry's lock (signal.c). */
static unsigned int signal_installed;

int ax__signal_check(int signum) {
  if (signum <= 0 || signum >= NSIG)
    return AX_EINVAL;
  if (signum == SIGINT || signum == SIGBREAK || signum == SIGHUP)
    return 0;
  return AX_ENOSYS;
}

bool ax__signal_console_event(unsigned long ctrl_type) {
  switch (ctrl_type) {
  case CTRL_C_EVENT:
    return ax__signal_deliver(SIGINT);
  case CTRL_BREAK_EVENT:
    return ax__signal_deliver(SIGBREAK);
  case CTRL_CLOSE_EVENT:
    return ax__signal_deliver(SIGHUP);
  default:
    /* Log-off and shutdown reach services only. */
    return false;
  }
}

/* Runs on a thread the system starts. FALSE passes the event on to the
 * next handler, and in the end to the default one, which ends the
 * process: what happens when no loop watches the signal. */
static BOOL WINAPI signal_console_handler(DWORD ctrl_type) {
  if (!ax__signal_console_event(ctrl_type))
    return FALSE;
  if (ctrl_type == CTRL_CLOSE_EVENT)
    Sleep(SIGNAL_CLOSE_HOLD_MS);
  return TRUE;
}

int ax__signal_install(int signum) {
  (void)signum;
  if (signal_installed == 0 &&
      !SetConsoleCtrlHandler(signal_console_handler, TRUE))
    return ax_translate_sys_error((int)GetLastError());
  signal_installed++;
  return 0;
}

void ax__signal_restore(int signum) {
  (void)signum;
  if (--signal_installed == 0) {
    /* Cannot fail: the handler is in the list. */
    (void)SetConsoleCtrlHandler(signal_console_handler, FALSE);
  }
}

/* The packet arrived: dispatch, or free a group that was waiting for it. */
static void signal_packet_cb(ax_loop_t *loop, ax__io_t *io, size_t bytes) {
  (void)bytes;
  struct signal_port *port = ax_container_of(io, struct signal_port, io);
  /* Cleared first: a delivery from now on posts a new packet. */
  __atomic_store_n(&port->posted, 0, __ATOMIC_SEQ_CST);
  if (port->dying) {
    loop->priv.active_reqs--;
    loop->priv.platform.io_count--;
    ax__free(port);
    return;
  }
  ax__signal_dispatch(&port->group);
}

/* The port is the loop's (win/iocp.c); counting the packet as an operation
 * that may complete makes a poll phase that must not block still look for
 * it. */
int ax__signal_group_create(ax_loop_t *loop, struct ax__signal_group **group) {
  struct signal_port *port = ax__calloc(1, sizeof(*port));
  if (port == NULL)
    return AX_ENOMEM;
  port->io.cb = signal_packet_cb;
  loop->priv.platform.io_count++;
  *group = &port->group;
  return 0;
}

void ax__signal_group_destroy(struct ax__signal_group *group) {
  struct signal_port *port = ax_container_of(group, struct signal_port, group);
  ax_loop_t *loop = group->loop;
  /* No delivery runs any more (signal.c waited), so posted is final. */
  if (__atomic_load_n(&port->posted, __ATOMIC_SEQ_CST)) {
    port->dying = 1;
    loop->priv.active_reqs++;
    return;
  }
  loop->priv.platform.io_count--;
  ax__free(port);
}

void ax__signal_group_wake(struct ax__signal_group *group) {
  struct signal_port *port = ax_container_of(group, struct signal_port, group);
  if (__atomic_exchange_n(&port->posted, 1, __ATOMIC_SEQ_CST) != 0)
    return; /* Queued already; its dispatch sees this signal too. */
  DWORD saved_error = GetLastError();
  if (!ax__win_sys.post_queued_completion_status(
          group->loop->priv.platform.iocp, 0, 0,
          ax__io_overlapped(&port->io))) {
    /* No memory for the packet: the next delivery tries again. */
    __atomic_store_n(&port->posted, 0, __ATOMIC_SEQ_CST);
  }
  SetLastError(saved_error);
}
