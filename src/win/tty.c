/*
 * win/tty.c: terminals (ax_tty_t) on Windows: a console, and
 * ax_guess_handle().
 *
 * A handle is a console's input (CONIN$, to read) or output (CONOUT$, to
 * write), found under a C runtime descriptor and duplicated, so that
 * closing the handle leaves the process's own standard handle open. It
 * rides the stream engine (src/stream.c) on operations of its own
 * (tty-stream.c): a thread reads, WriteConsoleW writes. An output console
 * is switched to VT processing where it has it (Windows 10 and later,
 * Wine), so that escape sequences written to it work; that setting is the
 * console's and is left on, as other programs of the console expect it.
 *
 * Modes are the input console's mode bits. The first change records the
 * mode before it, in the handle (to go back to normal, and at close) and,
 * for the first console of the process, in static memory that
 * ax_tty_reset_mode() reads, guarded by an atomic flag as on POSIX
 * (src/unix/tty.c) so that a console control handler (Ctrl+C, which runs
 * on a thread of its own) that calls it during a change gets AX_EBUSY
 * rather than a half-written record.
 */
#include <io.h>
#include <stdatomic.h>

#include "sock.h"
#include "tty.h"

/* What ax_tty_reset_mode() restores: the first console that left its
 * normal mode, while its handle is open. */
static atomic_int tty_reset_busy;      /* Taken while it changes. */
static HANDLE tty_reset_handle = NULL; /* Its console, or NULL. */
static DWORD tty_reset_mode_bits;      /* Its mode before. */

static bool tty_reset_take(void) {
  return atomic_exchange(&tty_reset_busy, 1) == 0;
}

static void tty_reset_give(void) {
  atomic_store(&tty_reset_busy, 0);
}

static void tty_reset_record(HANDLE handle, DWORD mode) {
  if (!tty_reset_take())
    return;
  if (tty_reset_handle == NULL) {
    tty_reset_handle = handle;
    tty_reset_mode_bits = mode;
  }
  tty_reset_give();
}

static void tty_reset_forget(HANDLE handle) {
  while (!tty_reset_take())
    ; /* Only a control handler holds it, and briefly. */
  if (tty_reset_handle == handle)
    tty_reset_handle = NULL;
  tty_reset_give();
}

int ax_tty_reset_mode(void) {
  if (!tty_reset_take())
    return AX_EBUSY;
  int err = 0;
  if (tty_reset_handle != NULL &&
      !SetConsoleMode(tty_reset_handle, tty_reset_mode_bits))
    err = ax_translate_sys_error((int)GetLastError());
  tty_reset_give();
  return err;
}

/* Whether a console handle is an input one: only input has events. */
static bool tty_is_input(HANDLE handle) {
  DWORD events;
  return GetNumberOfConsoleInputEvents(handle, &events) != 0;
}

/* The console under fd, duplicated: 0, or AX_EBADF for a descriptor
 * that is not open, AX_EINVAL for one that is no console of the kind
 * readable asks for, or the system's error. */
static int tty_open(int fd, bool readable, HANDLE *own) {
  HANDLE handle = (HANDLE)_get_osfhandle(fd);
  if (handle == INVALID_HANDLE_VALUE)
    return AX_EBADF;
  DWORD mode;
  /* A descriptor with no handle (-2: a program without a console) is
   * none, and GetConsoleMode() says so. */
  if (!GetConsoleMode(handle, &mode) || tty_is_input(handle) != readable)
    return AX_EINVAL;
  HANDLE process = GetCurrentProcess();
  if (!DuplicateHandle(process, handle, process, own, 0, FALSE,
                       DUPLICATE_SAME_ACCESS))
    return ax_translate_sys_error((int)GetLastError());
  return 0;
}

/* VT sequences in what is written, where the console has them: a
 * console that refuses the bit writes them as text, as it always did. */
static void tty_output_vt(HANDLE handle) {
  DWORD mode;
  if (GetConsoleMode(handle, &mode) &&
      !(mode & ENABLE_VIRTUAL_TERMINAL_PROCESSING))
    (void)SetConsoleMode(handle, mode | ENABLE_VIRTUAL_TERMINAL_PROCESSING);
}

int ax_tty_init(ax_loop_t *loop, ax_tty_t *tty, int fd, bool readable) {
  if (loop == NULL || tty == NULL || fd < 0)
    return AX_EINVAL;
  HANDLE own;
  int err = tty_open(fd, readable, &own);
  if (err != 0)
    return err;
  struct ax__tty_console *console = ax__tty_console_new(
      own, readable, loop->priv.platform.iocp);
  if (console == NULL) {
    CloseHandle(own);
    return AX_ENOMEM;
  }
  err = ax__stream_init(loop, &tty->stream, AX_TTY);
  if (err != 0) {
    ax__tty_console_free(console);
    return err;
  }
  if (!readable)
    tty_output_vt(own);
  unsigned int flags = AX__STREAM_OWN_OPS | AX__STREAM_CONNECTED;
  if (!readable)
    flags |= AX__STREAM_READ_EOF;
  tty->stream.handle.priv_flags |= flags;
  tty->stream.priv.sock.socket = (uintptr_t)own;
  tty->stream.priv.sock.flags |= AX__WIN_SOCK_CONSOLE;
  console->sock = &tty->stream.priv.sock;
  tty->priv.engine_cb = NULL;
  tty->priv.saved = console;
  tty->priv.mode = AX_TTY_MODE_NORMAL;
  return 0;
}

/* The input mode bits of mode, from the mode the console had. Raw: no
 * line editing, no echo, no Ctrl+C as a signal; raw VT: keys as VT
 * sequences too. */
static DWORD tty_mode_bits(DWORD saved, ax_tty_mode mode) {
  DWORD raw_off = ENABLE_LINE_INPUT | ENABLE_ECHO_INPUT |
                  ENABLE_PROCESSED_INPUT | ENABLE_VIRTUAL_TERMINAL_INPUT;
  if (mode == AX_TTY_MODE_NORMAL)
    return saved;
  DWORD raw = saved & ~raw_off;
  return mode == AX_TTY_MODE_RAW_VT ? raw | ENABLE_VIRTUAL_TERMINAL_INPUT : raw;
}

/* Record the mode before the first change. */
static int tty_mode_save(struct ax__tty_console *console) {
  if (console->mode_saved)
    return 0;
  if (!GetConsoleMode(console->handle, &console->saved_mode))
    return ax_translate_sys_error((int)GetLastError());
  console->mode_saved = true;
  tty_reset_record(console->handle, console->saved_mode);
  return 0;
}

/* A read in progress is interrupted and made again in the new mode, as
 * the console reads lines and keys by different calls. A console without
 * VT input (before Windows 10) refuses the raw VT mode: AX_ENOTSUP. */
int ax_tty_set_mode(ax_tty_t *tty, ax_tty_mode mode) {
  if (tty == NULL || (unsigned int)mode > AX_TTY_MODE_RAW_VT)
    return AX_EINVAL;
  if (ax__handle_is_closing(&tty->stream.handle))
    return AX_EBADF;
  if ((int)mode == tty->priv.mode)
    return 0;
  struct ax__tty_console *console = ax__tty_console_of(tty);
  if (!console->readable)
    return AX_EINVAL; /* The mode is the input console's. */
  int err = tty_mode_save(console);
  if (err != 0)
    return err;
  ax__tty_reader_pause(console);
  if (SetConsoleMode(console->handle,
                     tty_mode_bits(console->saved_mode, mode))) {
    tty->priv.mode = (int)mode;
    EnterCriticalSection(&console->lock);
    console->read_mode = (int)mode;
    LeaveCriticalSection(&console->lock);
  } else {
    DWORD code = GetLastError();
    err = mode == AX_TTY_MODE_RAW_VT && code == ERROR_INVALID_PARAMETER
              ? AX_ENOTSUP
              : ax_translate_sys_error((int)code);
  }
  ax__tty_reader_resume(console);
  return err;
}

/* The window's size, from the active screen buffer: an output console
 * has its own; an input one asks the console's (CONOUT$). */
int ax_tty_get_winsize(ax_tty_t *tty, int *width, int *height) {
  if (tty == NULL || width == NULL || height == NULL)
    return AX_EINVAL;
  if (ax__handle_is_closing(&tty->stream.handle))
    return AX_EBADF;
  struct ax__tty_console *console = ax__tty_console_of(tty);
  HANDLE screen = console->handle;
  if (console->readable) {
    screen = CreateFileW(L"CONOUT$", GENERIC_READ | GENERIC_WRITE,
                         FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                         OPEN_EXISTING, 0, NULL);
    if (screen == INVALID_HANDLE_VALUE)
      return ax_translate_sys_error((int)GetLastError());
  }
  CONSOLE_SCREEN_BUFFER_INFO info;
  int err = 0;
  if (GetConsoleScreenBufferInfo(screen, &info)) {
    *width = info.srWindow.Right - info.srWindow.Left + 1;
    *height = info.srWindow.Bottom - info.srWindow.Top + 1;
  } else {
    err = ax_translate_sys_error((int)GetLastError());
  }
  if (screen != console->handle)
    CloseHandle(screen);
  return err;
}

/* Put the mode back if it was changed, forget the reset record, and
 * close the stream, which ends the reader (tty-stream.c). */
void ax__tty_close(ax_handle_t *handle) {
  ax_tty_t *tty = (ax_tty_t *)handle;
  struct ax__tty_console *console = ax__tty_console_of(tty);
  if (console != NULL && console->mode_saved) {
    if (tty->priv.mode != AX_TTY_MODE_NORMAL)
      (void)SetConsoleMode(console->handle, console->saved_mode);
    tty_reset_forget(console->handle);
  }
  ax__stream_close(handle);
}

/* A pipe handle may be a socket: Winsock says which kind. */
static ax_guess tty_guess_pipe(HANDLE handle) {
  int type = 0;
  int len = sizeof(type);
  if (getsockopt((SOCKET)handle, SOL_SOCKET, SO_TYPE, (char *)&type, &len) != 0)
    return AX_GUESS_PIPE;
  if (type == SOCK_STREAM)
    return AX_GUESS_TCP;
  return type == SOCK_DGRAM ? AX_GUESS_UDP : AX_GUESS_UNKNOWN;
}

ax_guess ax_guess_handle(int fd) {
  if (fd < 0)
    return AX_GUESS_UNKNOWN;
  HANDLE handle = (HANDLE)_get_osfhandle(fd);
  if (handle == INVALID_HANDLE_VALUE)
    return AX_GUESS_UNKNOWN;
  DWORD mode;
  switch (GetFileType(handle)) {
  case FILE_TYPE_CHAR:
    return GetConsoleMode(handle, &mode) ? AX_GUESS_TTY : AX_GUESS_FILE;
  case FILE_TYPE_DISK:
    return AX_GUESS_FILE;
  case FILE_TYPE_PIPE:
    return tty_guess_pipe(handle);
  default:
    return AX_GUESS_UNKNOWN;
  }
}
