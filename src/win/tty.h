/*
 * win/tty.h: what the two halves of a Windows console handle share.
 *
 * tty.c holds the handle's API: opening a console descriptor, its modes,
 * its size, and ax_guess_handle(). tty-stream.c holds the stream's
 * operations (struct ax__sock_ops, src/backend.h) that
 * ax__stream_own_ops() gives the engine for AX_TTY: reading on a thread
 * of the handle's own, which hands what it read to the loop with a packet
 * posted to the loop's port, and writing with WriteConsoleW().
 */
#ifndef AX_WIN_TTY_H
#define AX_WIN_TTY_H

#include "../stream.h"
#include "internal.h"

enum {
  /* UTF-8 bytes the reader holds for the engine: 4 KiB of typing is more
   * than anyone types between two iterations of the loop, and a pasted
   * block longer than that arrives in several reads. */
  AX__TTY_READ_BYTES = 4096,
};

/* Where the reader thread is. */
enum {
  AX__TTY_READER_IDLE = 0,    /* Waiting to be asked for input. */
  AX__TTY_READER_READING = 1, /* Inside (or entering) a console read. */
  AX__TTY_READER_POSTED = 2,  /* Its packet is in the loop's port. */
};

/*
 * A console handle's state, allocated by ax_tty_init() and pointed to by
 * the handle's priv.saved. Fields under "lock" are shared with the reader
 * thread; the others are the loop thread's.
 */
struct ax__tty_console {
  ax__io_t io;      /* The packet the reader posts: its OVERLAPPED. */
  ax__sock_t *sock; /* The stream's socket slot, which holds handle. */
  HANDLE handle;    /* The handle's own duplicate of the console. */
  HANDLE thread;    /* The reader thread, or NULL until the first read. */
  HANDLE port;      /* The loop's completion port. */
  HANDLE interrupt; /* An event that ends the reader's wait for keys. */
  bool readable;    /* An input console (CONIN$); else an output one. */
  bool armed;       /* Between recv_start and recv_stop. */
  bool closing;     /* sock_close was called: CLOSE is due. */
  bool delivering;  /* The engine's RECV callback runs: a close inside it
                       leaves the freeing to the packet's callback. */
  bool mode_saved;  /* saved_mode holds the mode before the first change. */
  DWORD saved_mode; /* The input mode before the first change. */
  unsigned char carry[4];       /* The start of a UTF-8 character a write split
                                   from its end, for the next write. */
  unsigned int carry_len;       /* Bytes in carry. */
  CRITICAL_SECTION lock;        /* Guards what follows. */
  CONDITION_VARIABLE wake;      /* Wakes the reader: asked, or stopping. */
  CONDITION_VARIABLE idle;      /* Wakes the loop: the reader left a read. */
  int reader;                   /* AX__TTY_READER_*. */
  bool want;                    /* The loop asks for input. */
  bool stop;                    /* The reader must end. */
  bool entered;                 /* The loop typed Enter to end the line read. */
  int read_mode;                /* The mode the reader reads in. */
  int error;                    /* A read's error, for after the bytes; or 0. */
  size_t head;                  /* The first byte of buf not yet taken. */
  size_t len;                   /* Bytes of buf not yet taken. */
  char buf[AX__TTY_READ_BYTES]; /* What the reader read, in UTF-8. */
};

/* tty-stream.c: the stream operations of a console. */
extern const struct ax__sock_ops ax__win_tty_ops;

/* The console of a tty. */
static inline struct ax__tty_console *ax__tty_console_of(ax_tty_t *tty) {
  return tty->priv.saved;
}

/* tty-stream.c: a console's state for own, a duplicate the state then
 * owns, read if readable; NULL without memory. Freed by the stream's
 * close (sock_close), or by ax__tty_console_free() before the stream
 * has it. */
struct ax__tty_console *ax__tty_console_new(HANDLE own, bool readable,
                                            HANDLE port);
void ax__tty_console_free(struct ax__tty_console *console);

/* tty-stream.c: interrupt a read in progress and leave the reader idle,
 * so that a change of mode takes effect on the next read; then resume
 * reading if the stream reads. */
void ax__tty_reader_pause(struct ax__tty_console *console);
void ax__tty_reader_resume(struct ax__tty_console *console);

#endif /* AX_WIN_TTY_H */
