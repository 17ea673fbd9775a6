/*
 * axle/win.h: the Windows side of the public structs.
 *
 * Included by axle.h only. It declares the Windows part of the private
 * regions; Win32 and Winsock errors are translated onto axle's codes (the
 * negated C runtime errno names, which mingw-w64 and the Universal CRT both
 * define) in the Windows sources. Nothing here is API: the layout may change
 * in any release before 1.0.
 */
#ifndef AXLE_WIN_H
#define AXLE_WIN_H

#ifndef AXLE_H
#error "include <axle.h>, not <axle/win.h>"
#endif /* AXLE_H */

/** @cond AX_PRIVATE */

/* The Windows part of the private region of ax_loop_t. */
struct ax__loop_platform {
  const struct ax__backend *backend; /* The backend in use (IOCP). */
  void *backend_data;                /* The backend's own state. */
  void *iocp;                        /* The completion port (a HANDLE). */
};

/** @endcond */

#endif /* AXLE_WIN_H */
