/*
 * win/tty-stream.c: a Windows console as a stream: the operations
 * (struct ax__sock_ops, src/backend.h) ax__stream_own_ops() gives the
 * engine for AX_TTY.
 *
 * Reading. Console input cannot be overlapped, so a thread of the
 * handle's own, started by the first recv_start, reads: in the normal
 * mode one line with ReadConsoleW, which blocks while the console echoes
 * and edits it; in the raw modes it waits for input events (the console
 * handle is signalled while it has some) and takes those there are with
 * ReadConsoleInputW, turning key events into characters and, for keys
 * that type none, VT sequences (tty_key_utf8(); in the raw VT mode the
 * console sends most keys as VT sequences itself). Each read is asked for
 * by the loop (want), one at a time: the reader converts what it read to
 * UTF-8 into the console's buffer and posts one packet to the loop's
 * port; the packet's callback completes RECV, whose reads (recv_copy)
 * take the bytes, and asks for the next read once they are all taken.
 *
 *   loop thread                    reader thread
 *   recv_start: want ----------->  ReadConsoleW ... (blocks)
 *                                  buf = UTF-8, post packet
 *   packet: RECV, recv_copy <----
 *   buf empty: want ------------>  ReadConsoleW ...
 *
 * Stopping (recv_stop, a change of mode, close) makes a reader that is in
 * a read leave it (tty_reader_interrupt): an event ends the wait for keys;
 * a line read is ended by pressing Enter in the console, as a cancelled
 * line read is still finished by the console (Wine's), which would take
 * the next line typed for a read nobody waits for. So input typed while
 * the stream does not read stays in the console for whoever reads it
 * next, and a read never runs in a mode that is not the handle's. Close
 * ends the thread and joins it; a packet already posted is waited for
 * (CLOSE completes with it), as its OVERLAPPED is the console's memory.
 *
 * Writing is synchronous, as the console writes at once: send() converts
 * UTF-8 to UTF-16 and calls WriteConsoleW(), and returns every byte as
 * taken. A character split between two writes is carried from the end of
 * one to the start of the next.
 */
#include <string.h>

#include "sock.h"
#include "tty.h"

enum {
  /* UTF-16 units one ReadConsoleW reads: at most 3 UTF-8 bytes each,
   * plus a character carried from the read before. */
  TTY_READ_UNITS = 1024,
  /* Input records one ReadConsoleInputW reads, and the repeats of one key
   * turned into bytes: each repeat is at most an escape and a 6-byte
   * sequence. */
  TTY_READ_RECORDS = 32,
  TTY_KEY_REPEAT_MAX = 16,
  TTY_KEY_BYTES_MAX = 7,
  /* UTF-8 bytes one WriteConsoleW is made of. */
  TTY_WRITE_CHUNK = 2048,
  /* How long a stop or a close waits for the reader to leave a read it
   * was told to leave (its event set, Enter pressed): rounds of a few
   * milliseconds, a second in all. The reader leaves at once; only a
   * read that cannot be ended reaches the bound, and is then left to
   * end by itself. */
  TTY_CANCEL_ROUNDS = 200,
  TTY_CANCEL_WAIT_MS = 5,
  /* The reader's stack: it holds one read's units and bytes. */
  TTY_READER_STACK_BYTES = 64 * 1024,
};

_Static_assert(TTY_READ_UNITS * 3 + 4 <= AX__TTY_READ_BYTES,
               "tty: a line read may not fit the buffer");
_Static_assert(AX__TTY_READ_BYTES >=
                   TTY_READ_RECORDS * TTY_KEY_REPEAT_MAX * TTY_KEY_BYTES_MAX,
               "tty: a read of keys may not fit the buffer");

/* ---- UTF-16 to UTF-8 ---- */

/* A high surrogate whose low half has not come yet, or 0. */
struct tty_utf16 {
  WCHAR high;
};

static size_t tty_utf8_put(char *out, uint32_t cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* One UTF-16 unit: the bytes written to out. A pair's halves may come in
 * two reads (or two key events); a half without its other becomes
 * U+FFFD. */
static size_t tty_utf16_unit(struct tty_utf16 *dec, WCHAR unit, char *out) {
  size_t n = 0;
  bool low = unit >= 0xDC00 && unit <= 0xDFFF;
  if (dec->high != 0) {
    WCHAR high = dec->high;
    dec->high = 0;
    if (low) {
      uint32_t cp = 0x10000 + (((uint32_t)high - 0xD800) << 10) +
                    ((uint32_t)unit - 0xDC00);
      return tty_utf8_put(out, cp);
    }
    n = tty_utf8_put(out, 0xFFFD);
  }
  if (unit >= 0xD800 && unit <= 0xDBFF) {
    dec->high = unit;
    return n;
  }
  return n + tty_utf8_put(out + n, low ? 0xFFFD : unit);
}

/* ---- Keys, in the raw mode ---- */

/* The VT sequence of a key that types no character (xterm's), or NULL. */
static const char *tty_key_sequence(WORD key) {
  switch (key) {
  case VK_UP:
    return "\x1b[A";
  case VK_DOWN:
    return "\x1b[B";
  case VK_RIGHT:
    return "\x1b[C";
  case VK_LEFT:
    return "\x1b[D";
  case VK_HOME:
    return "\x1b[H";
  case VK_END:
    return "\x1b[F";
  case VK_INSERT:
    return "\x1b[2~";
  case VK_DELETE:
    return "\x1b[3~";
  case VK_PRIOR:
    return "\x1b[5~";
  case VK_NEXT:
    return "\x1b[6~";
  case VK_F1:
    return "\x1bOP";
  case VK_F2:
    return "\x1bOQ";
  case VK_F3:
    return "\x1bOR";
  case VK_F4:
    return "\x1bOS";
  default:
    return NULL;
  }
}

/* One key event: the bytes it types. A key pressed with Alt (not AltGr,
 * which Windows reports as Ctrl+Alt) is prefixed with an escape, as
 * terminals do. Releasing Alt after typing a code on the keypad types
 * that code's character. Other releases type nothing. */
static size_t tty_key_utf8(const KEY_EVENT_RECORD *key, struct tty_utf16 *dec,
                           char *out) {
  WCHAR ch = key->uChar.UnicodeChar;
  if (!key->bKeyDown)
    return key->wVirtualKeyCode == VK_MENU && ch != 0
               ? tty_utf16_unit(dec, ch, out)
               : 0;
  DWORD ctrl = LEFT_CTRL_PRESSED | RIGHT_CTRL_PRESSED;
  bool alt = (key->dwControlKeyState & LEFT_ALT_PRESSED) &&
             !(key->dwControlKeyState & ctrl);
  const char *sequence = ch == 0 ? tty_key_sequence(key->wVirtualKeyCode)
                                 : NULL;
  if (ch == 0 && sequence == NULL)
    return 0; /* Shift, Ctrl and the like. */
  unsigned int repeat = key->wRepeatCount;
  repeat = repeat == 0 ? 1 : repeat;
  repeat = repeat > TTY_KEY_REPEAT_MAX ? TTY_KEY_REPEAT_MAX : repeat;
  size_t n = 0;
  for (unsigned int i = 0; i < repeat; i++) {
    if (alt)
      out[n++] = '\x1b';
    if (sequence != NULL) {
      for (const char *at = sequence; *at != 0; at++)
        out[n++] = *at;
    } else {
      n += tty_utf16_unit(dec, ch, out + n);
    }
  }
  return n;
}

/* ---- The reader thread ---- */

/* The keys of the input events there are, in a raw mode: the bytes put
 * in out, with *err set if the read failed. Waits for input or for the
 * loop's interrupt, and reads only events that are there already, so
 * that no read is left for the console to finish: the interrupt stops
 * the wait. */
static size_t tty_read_keys(struct ax__tty_console *console,
                            struct tty_utf16 *dec, char *out, int *err) {
  HANDLE waits[2] = {console->interrupt, console->handle};
  DWORD woke = WaitForMultipleObjects(2, waits, FALSE, INFINITE);
  if (woke == WAIT_OBJECT_0)
    return 0; /* Interrupted. */
  DWORD count = 0;
  if (woke != WAIT_OBJECT_0 + 1 ||
      !GetNumberOfConsoleInputEvents(console->handle, &count)) {
    *err = ax_translate_sys_error((int)GetLastError());
    return 0;
  }
  if (count == 0)
    return 0;
  INPUT_RECORD records[TTY_READ_RECORDS];
  DWORD got = 0;
  if (!ReadConsoleInputW(console->handle, records,
                         count < TTY_READ_RECORDS ? count : TTY_READ_RECORDS,
                         &got)) {
    *err = ax_translate_sys_error((int)GetLastError());
    return 0;
  }
  size_t n = 0;
  for (DWORD i = 0; i < got; i++) {
    if (records[i].EventType == KEY_EVENT)
      n += tty_key_utf8(&records[i].Event.KeyEvent, dec, out + n);
  }
  return n;
}

/* One line, in the normal mode, blocking until it is typed: the console
 * echoes and edits it meanwhile. The bytes put in out, with *err set if
 * the read failed. Ctrl+C, a signal in this mode, ends the read with
 * ERROR_OPERATION_ABORTED: that is no error of the stream, which reads
 * on. */
static size_t tty_read_line(struct ax__tty_console *console,
                            struct tty_utf16 *dec, char *out, int *err) {
  WCHAR units[TTY_READ_UNITS];
  DWORD got = 0;
  if (!ReadConsoleW(console->handle, units, TTY_READ_UNITS, &got, NULL)) {
    DWORD code = GetLastError();
    if (code != ERROR_OPERATION_ABORTED)
      *err = ax_translate_sys_error((int)code);
    return 0;
  }
  size_t n = 0;
  for (DWORD i = 0; i < got; i++)
    n += tty_utf16_unit(dec, units[i], out + n);
  return n;
}

/* Hand what is there to the loop: one packet, whose callback completes
 * RECV. The lock is held. If the kernel has no memory for the packet, the
 * bytes wait for the next recv_start. */
static int tty_reader_post(struct ax__tty_console *console) {
  if (!ax__win_sys.post_queued_completion_status(
          console->port, 0, 0, ax__io_overlapped(&console->io)))
    return ax_translate_sys_error((int)GetLastError());
  console->want = false;
  console->reader = AX__TTY_READER_POSTED;
  return 0;
}

/* A read ended, with the lock held: keep its bytes, or its error unless
 * the loop interrupted it (it no longer wants input), and post them if the
 * loop wants them. A line the loop interrupted ends with the Enter it
 * typed (tty_reader_interrupt): it is no input, and is dropped. */
static void tty_reader_store(struct ax__tty_console *console, const char *bytes,
                             size_t n, int err) {
  console->reader = AX__TTY_READER_IDLE;
  WakeAllConditionVariable(&console->idle);
  bool entered = console->entered;
  console->entered = false;
  if (console->stop || entered)
    return;
  if (n > 0) {
    memcpy(console->buf, bytes, n);
    console->head = 0;
    console->len = n;
  } else if (err != 0 && console->want) {
    console->error = err;
  }
  if (console->want && (console->len > 0 || console->error != 0))
    (void)tty_reader_post(console);
}

/* Whether the reader has a read to make: the loop wants input and
 * nothing is waiting for it already. */
static bool tty_reader_asked(const struct ax__tty_console *console) {
  return console->want && console->len == 0 && console->error == 0;
}

static DWORD WINAPI tty_reader_main(void *arg) {
  struct ax__tty_console *console = arg;
  struct tty_utf16 dec = {0};
  char bytes[AX__TTY_READ_BYTES];
  EnterCriticalSection(&console->lock);
  for (;;) {
    while (!console->stop && !tty_reader_asked(console))
      SleepConditionVariableCS(&console->wake, &console->lock, INFINITE);
    if (console->stop)
      break;
    console->reader = AX__TTY_READER_READING;
    (void)ResetEvent(console->interrupt);
    int mode = console->read_mode;
    LeaveCriticalSection(&console->lock);
    int err = 0;
    size_t n = mode == AX_TTY_MODE_NORMAL
                   ? tty_read_line(console, &dec, bytes, &err)
                   : tty_read_keys(console, &dec, bytes, &err);
    EnterCriticalSection(&console->lock);
    tty_reader_store(console, bytes, n, err);
  }
  LeaveCriticalSection(&console->lock);
  return 0;
}

/* Ask for input, with the lock held: what is there already goes to the
 * loop at once; else the reader reads. */
static int tty_reader_ask(struct ax__tty_console *console) {
  if (console->reader == AX__TTY_READER_POSTED)
    return 0; /* Its packet comes anyway. */
  if (console->len > 0 || console->error != 0)
    return tty_reader_post(console);
  console->want = true;
  WakeConditionVariable(&console->wake);
  return 0;
}

/* Press Enter in the console, which ends the line being read. Only the
 * press: the line read takes it, and a release would stay behind in the
 * input for whoever reads next. */
static bool tty_reader_enter(struct ax__tty_console *console) {
  INPUT_RECORD record;
  memset(&record, 0, sizeof(record));
  record.EventType = KEY_EVENT;
  record.Event.KeyEvent.bKeyDown = TRUE;
  record.Event.KeyEvent.wRepeatCount = 1;
  record.Event.KeyEvent.wVirtualKeyCode = VK_RETURN;
  record.Event.KeyEvent.uChar.UnicodeChar = L'\r';
  DWORD written = 0;
  return WriteConsoleInputW(console->handle, &record, 1, &written) &&
         written == 1;
}

/* Wait until the reader has left its read, with the lock held. Bounded:
 * a read that cannot be ended is left to end by itself, and its bytes
 * then wait for the next read. */
static void tty_reader_wait_idle(struct ax__tty_console *console) {
  for (int i = 0; i < TTY_CANCEL_ROUNDS; i++) {
    if (console->reader != AX__TTY_READER_READING)
      return;
    SleepConditionVariableCS(&console->idle, &console->lock,
                             TTY_CANCEL_WAIT_MS);
  }
}

/* End a line read by pressing Enter, and put the cursor back where it
 * was, as the console echoes the Enter as a new line. With the lock
 * held. Returns whether Enter could be pressed. */
static bool tty_reader_end_line(struct ax__tty_console *console) {
  HANDLE screen = CreateFileW(L"CONOUT$", GENERIC_READ | GENERIC_WRITE,
                              FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                              OPEN_EXISTING, 0, NULL);
  CONSOLE_SCREEN_BUFFER_INFO info;
  bool restore = screen != INVALID_HANDLE_VALUE &&
                 GetConsoleScreenBufferInfo(screen, &info);
  bool entered = tty_reader_enter(console);
  if (entered) {
    console->entered = true;
    tty_reader_wait_idle(console);
    if (restore)
      (void)SetConsoleCursorPosition(screen, info.dwCursorPosition);
  }
  if (screen != INVALID_HANDLE_VALUE)
    CloseHandle(screen);
  return entered;
}

/* Make a reader that is in a read leave it, with the lock held, and wait
 * until it has. A wait for keys ends with the interrupt event. A line
 * read is ended by pressing Enter, as the console finishes a line read by
 * itself even when the caller cancels it (Wine's console does; so that
 * input typed later is not taken by a read that nobody waits for): the
 * line is dropped, with what was typed of it before the stop, and the
 * cursor is put back. CancelSynchronousIo() is the fallback where Enter
 * cannot be pressed. */
static void tty_reader_interrupt(struct ax__tty_console *console) {
  if (console->reader != AX__TTY_READER_READING)
    return;
  if (console->read_mode != AX_TTY_MODE_NORMAL)
    (void)SetEvent(console->interrupt);
  else if (!tty_reader_end_line(console))
    (void)CancelSynchronousIo(console->thread);
  tty_reader_wait_idle(console);
}

void ax__tty_reader_pause(struct ax__tty_console *console) {
  if (console->thread == NULL)
    return;
  EnterCriticalSection(&console->lock);
  console->want = false;
  tty_reader_interrupt(console);
  LeaveCriticalSection(&console->lock);
}

void ax__tty_reader_resume(struct ax__tty_console *console) {
  if (console->thread == NULL || !console->armed)
    return;
  EnterCriticalSection(&console->lock);
  (void)tty_reader_ask(console);
  LeaveCriticalSection(&console->lock);
}

/* ---- The console's memory ---- */

static void tty_packet_cb(ax_loop_t *loop, ax__io_t *io, size_t bytes);

struct ax__tty_console *ax__tty_console_new(HANDLE own, bool readable,
                                            HANDLE port) {
  struct ax__tty_console *console = ax__calloc(1, sizeof(*console));
  if (console == NULL)
    return NULL;
  console->io.cb = tty_packet_cb;
  console->handle = own;
  console->port = port;
  console->readable = readable;
  console->read_mode = AX_TTY_MODE_NORMAL;
  /* Manual reset: the reader resets it as each read starts. */
  console->interrupt = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (console->interrupt == NULL) {
    ax__free(console);
    return NULL;
  }
  InitializeCriticalSection(&console->lock);
  InitializeConditionVariable(&console->wake);
  InitializeConditionVariable(&console->idle);
  return console;
}

void ax__tty_console_free(struct ax__tty_console *console) {
  DeleteCriticalSection(&console->lock);
  CloseHandle(console->interrupt);
  CloseHandle(console->handle);
  ax__free(console);
}

/* The last of a closed console: the reader is joined, no packet is due. */
static void tty_console_release(ax_loop_t *loop,
                                struct ax__tty_console *console) {
  ax_tty_t *tty = ax_container_of(console->sock, ax_tty_t, stream.priv.sock);
  if (console->thread != NULL) {
    CloseHandle(console->thread);
    loop->priv.platform.io_count--;
  }
  tty->priv.saved = NULL;
  ax__tty_console_free(console);
}

static struct ax__tty_console *tty_console_of_sock(ax__sock_t *sock) {
  return ax__tty_console_of(ax_container_of(sock, ax_tty_t, stream.priv.sock));
}

/* ---- The operations ---- */

/* The reader starts with the first read, so that a handle that only
 * writes, or never reads, has no thread. While it lives it may post a
 * packet: it counts as an operation of the loop (ax__io_any()). */
static int tty_recv_start(ax_loop_t *loop, ax__sock_t *sock) {
  struct ax__tty_console *console = tty_console_of_sock(sock);
  console->sock = sock;
  if (console->thread == NULL) {
    console->thread = CreateThread(NULL, TTY_READER_STACK_BYTES,
                                   tty_reader_main, console,
                                   STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (console->thread == NULL)
      return ax_translate_sys_error((int)GetLastError());
    loop->priv.platform.io_count++;
  }
  EnterCriticalSection(&console->lock);
  int err = tty_reader_ask(console);
  LeaveCriticalSection(&console->lock);
  if (err == 0)
    console->armed = true;
  return err;
}

static void tty_recv_stop(ax_loop_t *loop, ax__sock_t *sock) {
  (void)loop;
  struct ax__tty_console *console = tty_console_of_sock(sock);
  console->armed = false;
  ax__tty_reader_pause(console);
}

/* The bytes the reader holds, then its error once, then AX_EAGAIN. */
static intptr_t tty_recv_copy(ax_loop_t *loop, ax__sock_t *sock,
                              const ax_buf_t *buf) {
  (void)loop;
  struct ax__tty_console *console = tty_console_of_sock(sock);
  intptr_t result = AX_EAGAIN;
  EnterCriticalSection(&console->lock);
  if (console->len > 0) {
    size_t n = console->len < buf->len ? console->len : buf->len;
    memcpy(buf->base, console->buf + console->head, n);
    console->head += n;
    console->len -= n;
    result = (intptr_t)n;
  } else if (console->error != 0) {
    result = console->error;
    console->error = 0;
  }
  LeaveCriticalSection(&console->lock);
  return result;
}

/* The reader's packet: RECV, while the stream reads; then the next read,
 * once the engine took every byte. A close from inside the callback left
 * the console to be released here; a close before the packet came
 * completes now. */
static void tty_packet_cb(ax_loop_t *loop, ax__io_t *io, size_t bytes) {
  (void)bytes;
  struct ax__tty_console *console = ax_container_of(io, struct ax__tty_console,
                                                    io);
  ax__sock_t *sock = console->sock;
  EnterCriticalSection(&console->lock);
  console->reader = AX__TTY_READER_IDLE;
  LeaveCriticalSection(&console->lock);
  if (console->closing) {
    tty_console_release(loop, console);
    sock->cb(loop, sock, AX__OP_CLOSE, 0);
    return;
  }
  if (!console->armed)
    return; /* Stopped meanwhile: the bytes wait for recv_start. */
  console->delivering = true;
  sock->cb(loop, sock, AX__OP_RECV, 0);
  console->delivering = false;
  if (console->closing) {
    tty_console_release(loop, console);
    return;
  }
  if (!console->armed)
    return;
  EnterCriticalSection(&console->lock);
  (void)tty_reader_ask(console);
  LeaveCriticalSection(&console->lock);
}

/* The bytes of s[0..len) that end with a whole character: a character
 * whose lead byte is among the last three bytes and whose continuation
 * bytes are not all there is left out. */
static size_t tty_utf8_whole(const unsigned char *s, size_t len) {
  for (size_t back = 1; back <= 3 && back <= len; back++) {
    unsigned char b = s[len - back];
    if ((b & 0xC0) == 0x80)
      continue; /* A continuation byte: look further back. */
    if (b < 0xC0 || b >= 0xF8)
      return len; /* ASCII, or no lead byte: U+FFFD at once. */
    size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
    return need > back ? len - back : len;
  }
  return len;
}

/* Write len bytes of whole UTF-8 characters (an invalid byte becomes
 * U+FFFD). 0 or the console's error. */
static int tty_write_utf8(HANDLE handle, const unsigned char *s, size_t len) {
  WCHAR units[TTY_WRITE_CHUNK + 4];
  if (len == 0)
    return 0;
  int count = MultiByteToWideChar(CP_UTF8, 0, (const char *)s, (int)len, units,
                                  TTY_WRITE_CHUNK + 4);
  if (count <= 0)
    return ax_translate_sys_error((int)GetLastError());
  DWORD done = 0;
  while (done < (DWORD)count) {
    DWORD wrote = 0;
    if (!WriteConsoleW(handle, units + done, (DWORD)count - done, &wrote, NULL))
      return ax_translate_sys_error((int)GetLastError());
    if (wrote == 0)
      return AX_EIO; /* A console that takes nothing would loop here. */
    done += wrote;
  }
  return 0;
}

/* Write bufs in chunks of TTY_WRITE_CHUNK bytes, each with the carried
 * start of a character before it and the end of a split one kept. */
static intptr_t tty_send(ax_loop_t *loop, ax__sock_t *sock,
                         const ax_buf_t *bufs, unsigned int nbufs) {
  (void)loop;
  struct ax__tty_console *console = tty_console_of_sock(sock);
  unsigned char chunk[TTY_WRITE_CHUNK + sizeof(console->carry)];
  size_t total = 0;
  for (unsigned int i = 0; i < nbufs; i++) {
    const char *at = bufs[i].base;
    size_t left = bufs[i].len;
    while (left > 0) {
      size_t take = left < TTY_WRITE_CHUNK ? left : TTY_WRITE_CHUNK;
      size_t len = console->carry_len;
      memcpy(chunk, console->carry, len);
      memcpy(chunk + len, at, take);
      len += take;
      at += take;
      left -= take;
      size_t whole = tty_utf8_whole(chunk, len);
      console->carry_len = (unsigned int)(len - whole);
      memcpy(console->carry, chunk + whole, console->carry_len);
      int err = tty_write_utf8(console->handle, chunk, whole);
      if (err != 0)
        return err;
    }
    total += bufs[i].len;
  }
  return (intptr_t)total;
}

intptr_t ax__win_tty_try_send(ax__sock_t *sock, const ax_buf_t *bufs,
                              unsigned int nbufs) {
  return tty_send(NULL, sock, bufs, nbufs);
}

/* A console connects nowhere and listens for nothing. */
static intptr_t tty_connect(ax_loop_t *loop, ax__sock_t *sock,
                            const struct sockaddr *addr, int len) {
  (void)loop;
  (void)sock;
  (void)addr;
  (void)len;
  return AX_ENOTSUP;
}

static int tty_accept_start(ax_loop_t *loop, ax__sock_t *sock) {
  (void)loop;
  (void)sock;
  return AX_ENOTSUP;
}

static void tty_accept_stop(ax_loop_t *loop, ax__sock_t *sock) {
  (void)loop;
  (void)sock;
}

/* End the reader and join it. With the lock held. */
static void tty_reader_end(struct ax__tty_console *console) {
  console->stop = true;
  console->want = false;
  WakeConditionVariable(&console->wake);
  tty_reader_interrupt(console);
}

/* Join the reader: after tty_reader_end() it ends at once, unless a read
 * could not be ended (tty_reader_interrupt). Returns whether it
 * ended. */
static bool tty_reader_join(struct ax__tty_console *console) {
  EnterCriticalSection(&console->lock);
  tty_reader_end(console);
  LeaveCriticalSection(&console->lock);
  return WaitForSingleObject(console->thread,
                             TTY_CANCEL_ROUNDS * TTY_CANCEL_WAIT_MS) ==
         WAIT_OBJECT_0;
}

/* Join the reader, then release the console now, or when the packet
 * still due comes (CLOSE then), or when the RECV callback this close
 * runs inside returns. A reader stuck in a read that cannot be ended
 * keeps the console's memory and handle, which are left to it: freeing
 * them under it would be worse than the leak. */
static intptr_t tty_sock_close(ax_loop_t *loop, ax__sock_t *sock) {
  struct ax__tty_console *console = tty_console_of_sock(sock);
  console->sock = sock;
  console->closing = true;
  console->armed = false;
  sock->socket = (uintptr_t)INVALID_SOCKET;
  if (console->thread != NULL && !tty_reader_join(console)) {
    ax_tty_t *tty = ax_container_of(sock, ax_tty_t, stream.priv.sock);
    tty->priv.saved = NULL;
    loop->priv.platform.io_count--;
    return 0;
  }
  if (console->reader == AX__TTY_READER_POSTED)
    return AX__OP_PENDING;
  if (!console->delivering)
    tty_console_release(loop, console);
  return 0;
}

const struct ax__sock_ops ax__win_tty_ops = {
    .recv_start = tty_recv_start,
    .recv_stop = tty_recv_stop,
    .send = tty_send,
    .connect = tty_connect,
    .accept_start = tty_accept_start,
    .accept_stop = tty_accept_stop,
    .sock_close = tty_sock_close,
    .recv_copy = tty_recv_copy,
};
