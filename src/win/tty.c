/*
 * win/tty.c: terminals on Windows: not done yet. ax_tty_init() says
 * AX_ENOTSUP (docs/tty.md says what a console handle would take: its
 * input read on a thread of its own, VT sequences through the console's
 * modes). ax_guess_handle() works: it asks the file's type of the handle
 * under a C runtime descriptor.
 */
#include <io.h>

#include "../stream.h"
#include "internal.h"

int ax_tty_init(ax_loop_t *loop, ax_tty_t *tty, int fd, bool readable) {
  (void)readable;
  if (loop == NULL || tty == NULL || fd < 0)
    return AX_EINVAL;
  return AX_ENOTSUP;
}

int ax_tty_set_mode(ax_tty_t *tty, ax_tty_mode mode) {
  (void)mode;
  return tty == NULL ? AX_EINVAL : AX_ENOTSUP;
}

int ax_tty_reset_mode(void) {
  return 0; /* No terminal ever left its mode. */
}

int ax_tty_get_winsize(ax_tty_t *tty, int *width, int *height) {
  if (tty == NULL || width == NULL || height == NULL)
    return AX_EINVAL;
  return AX_ENOTSUP;
}

void ax__tty_close(ax_handle_t *handle) {
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
