/*
 * test_tty_win.c: terminal handles on a Windows console.
 *
 * A test program that meson runs has no console, and AllocConsole() gives
 * none under Wine without a display (its console window cannot open). So
 * the program starts itself again, with the argument "console", under a
 * pseudo console (CreatePseudoConsole(), Windows 10 1809 and later, and
 * Wine), whose screen nobody sees: its output is drained by a thread of
 * the parent. That child runs the console tests against CONIN$ and
 * CONOUT$, made C runtime descriptors: what the handle writes is read
 * back from the screen buffer (ReadConsoleOutputCharacterW), what it
 * reads is typed with WriteConsoleInputW, and the modes are checked with
 * GetConsoleMode. Where the pseudo console cannot be made, the test that
 * runs the child is skipped with the reason. The parent also runs what
 * needs no console: the errors of ax_tty_init() and ax_guess_handle().
 * It reaches the handle's console state (src/win/tty.h) only to check
 * that its kernel handles are closed.
 */
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "test.h"
#include "win/tty.h"

/* The pseudo console's size, which the child's winsize test checks. */
enum { CONSOLE_WIDTH = 100, CONSOLE_HEIGHT = 30 };

/* How long the child may run, well inside meson's timeout. */
enum { CHILD_WAIT_MS = 45000 };

/* ---- In the child: the console tests ---- */

/* A loop, and handles on the console's input and output. */
struct fixture {
  ax_loop_t loop;
  struct test_guard guard;
  int in_fd;        /* CONIN$, as a C runtime descriptor. */
  int out_fd;       /* CONOUT$, as a C runtime descriptor. */
  HANDLE in;        /* in_fd's handle. */
  HANDLE out;       /* out_fd's handle. */
  DWORD in_mode;    /* The input mode at the start. */
  ax_tty_t tty;     /* Reads in_fd. */
  ax_tty_t tty_out; /* Writes out_fd. */
  char got[256];    /* What tty read. */
  size_t got_len;   /* Bytes in got. */
  int writes_done;  /* Write callbacks with status 0. */
};

static int console_fd(const WCHAR *name, HANDLE *handle) {
  *handle = CreateFileW(name, GENERIC_READ | GENERIC_WRITE,
                        FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                        0, NULL);
  assert_true(*handle != INVALID_HANDLE_VALUE);
  int fd = _open_osfhandle((intptr_t)*handle, _O_BINARY);
  assert_true(fd >= 0);
  return fd;
}

static void fixture_open(struct fixture *fx) {
  memset(fx, 0, sizeof(*fx));
  test_loop_open(&fx->loop);
  test_guard_start(&fx->loop, &fx->guard);
  fx->in_fd = console_fd(L"CONIN$", &fx->in);
  fx->out_fd = console_fd(L"CONOUT$", &fx->out);
  assert_true(GetConsoleMode(fx->in, &fx->in_mode));
  assert_true(FlushConsoleInputBuffer(fx->in));
  assert_int_equal(ax_tty_init(&fx->loop, &fx->tty, fx->in_fd, true), 0);
  assert_int_equal(ax_tty_init(&fx->loop, &fx->tty_out, fx->out_fd, false), 0);
  fx->tty.stream.handle.data = fx;
  fx->tty_out.stream.handle.data = fx;
}

/* Close both handles; the descriptors are still the test's, and the
 * console's mode is the one it had. */
static void fixture_close(struct fixture *fx) {
  if (!ax_is_closing(&fx->tty.stream.handle))
    ax_close(&fx->tty.stream.handle, NULL);
  ax_close(&fx->tty_out.stream.handle, NULL);
  assert_int_equal(ax_run(&fx->loop, AX_RUN_DEFAULT), 0);
  DWORD mode;
  assert_true(GetConsoleMode(fx->in, &mode));
  assert_int_equal(mode, fx->in_mode);
  assert_true(GetConsoleMode(fx->out, &mode));
  _close(fx->in_fd);
  _close(fx->out_fd);
  test_guard_close(&fx->guard);
  test_loop_close(&fx->loop);
}

static void write_cb(ax_write_t *req, int status) {
  struct fixture *fx = req->handle->handle.data;
  assert_int_equal(status, 0);
  fx->writes_done++;
}

static void alloc_cb(ax_handle_t *handle, size_t suggested, ax_buf_t *buf) {
  (void)suggested;
  struct fixture *fx = handle->data;
  *buf = ax_buf_init(fx->got + fx->got_len, sizeof(fx->got) - fx->got_len);
}

static void read_cb(ax_stream_t *stream, ptrdiff_t nread, const ax_buf_t *buf) {
  (void)buf;
  struct fixture *fx = stream->handle.data;
  assert_true(nread >= 0);
  fx->got_len += (size_t)nread;
}

/* Run until the handle has read want bytes. */
static void wait_read(struct fixture *fx, size_t want) {
  while (fx->got_len < want && !fx->guard.fired)
    ax_run(&fx->loop, AX_RUN_ONCE);
  assert_false(fx->guard.fired);
}

/* Write each string as a write request of its own, and run until all are
 * done. */
static void write_all(struct fixture *fx, const char *const *parts,
                      size_t count) {
  ax_write_t reqs[8];
  assert_true(count <= 8);
  fx->writes_done = 0;
  for (size_t i = 0; i < count; i++) {
    ax_buf_t buf = ax_buf_init((char *)(uintptr_t)parts[i], strlen(parts[i]));
    assert_int_equal(ax_write(&reqs[i], &fx->tty_out.stream, &buf, 1, write_cb),
                     0);
  }
  while (fx->writes_done < (int)count && !fx->guard.fired)
    ax_run(&fx->loop, AX_RUN_ONCE);
  assert_int_equal(fx->writes_done, (int)count);
}

/* The cursor's row of the screen buffer up to the cursor, with any VT
 * sequence a console that does not interpret them (Wine's) stored as
 * characters left out. */
static size_t screen_row(struct fixture *fx, WCHAR *row, size_t size) {
  CONSOLE_SCREEN_BUFFER_INFO info;
  assert_true(GetConsoleScreenBufferInfo(fx->out, &info));
  WCHAR cells[256];
  DWORD got = 0;
  COORD at = {0, info.dwCursorPosition.Y};
  DWORD want = (DWORD)info.dwCursorPosition.X;
  assert_true(want <= 256);
  assert_true(ReadConsoleOutputCharacterW(fx->out, cells, want, at, &got));
  size_t n = 0;
  for (DWORD i = 0; i < got && n < size; i++) {
    if (cells[i] == 0x1b) {
      while (i < got &&
             !(cells[i] >= 'A' && cells[i] <= 'z' && cells[i] != '['))
        i++;
      continue;
    }
    row[n++] = cells[i];
  }
  return n;
}

/* Start a new line, so that the row read back holds only what follows. */
static void new_line(struct fixture *fx) {
  const char *parts[] = {"\r\n"};
  write_all(fx, parts, 1);
}

/* UTF-8 reaches the screen as characters, also split across writes (a
 * two-byte and a three-byte character), with VT sequences among them; an
 * invalid byte becomes U+FFFD. The output console has VT processing. */
static void test_console_write(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  DWORD mode;
  assert_true(GetConsoleMode(fx.out, &mode));
  assert_true(mode & ENABLE_VIRTUAL_TERMINAL_PROCESSING);
  new_line(&fx);
  const char *parts[] = {"A\xc3",
                         "\xa9"
                         "B\x1b[1mC\x1b[0m\xe2",
                         "\x82",
                         "\xac"
                         "D\xff"};
  write_all(&fx, parts, 4);
  WCHAR row[32];
  size_t n = screen_row(&fx, row, 32);
  const WCHAR want[] = {L'A', 0xe9, L'B', L'C', 0x20ac, L'D', 0xfffd};
  assert_int_equal(n, 7);
  assert_memory_equal(row, want, sizeof(want));
  /* Two buffers in one request, split inside a character. */
  new_line(&fx);
  ax_write_t req;
  ax_buf_t bufs[2] = {ax_buf_init("x\xc3", 2), ax_buf_init("\xa9y", 2)};
  fx.writes_done = 0;
  assert_int_equal(ax_write(&req, &fx.tty_out.stream, bufs, 2, write_cb), 0);
  while (fx.writes_done == 0 && !fx.guard.fired)
    ax_run(&fx.loop, AX_RUN_ONCE);
  n = screen_row(&fx, row, 32);
  const WCHAR want2[] = {L'x', 0xe9, L'y'};
  assert_int_equal(n, 3);
  assert_memory_equal(row, want2, sizeof(want2));
  /* A try-write takes every byte at once, a split character carried as
   * a write carries it. */
  new_line(&fx);
  ax_buf_t tries[2] = {ax_buf_init("p\xe2\x82", 3), ax_buf_init("\xacq", 2)};
  assert_int_equal(ax_try_write(&fx.tty_out.stream, &tries[0], 1), 3);
  assert_int_equal(ax_try_write(&fx.tty_out.stream, &tries[1], 1), 2);
  n = screen_row(&fx, row, 32);
  const WCHAR want3[] = {L'p', 0x20ac, L'q'};
  assert_int_equal(n, 3);
  assert_memory_equal(row, want3, sizeof(want3));
  assert_true(ax_is_writable(&fx.tty_out.stream));
  assert_false(ax_is_readable(&fx.tty_out.stream));
  fixture_close(&fx);
}

/* A write longer than the console's chunks, whose chunk boundary falls
 * inside a character: every character reaches the screen. Written from
 * the top left corner, so that the screen holds it all without
 * scrolling. */
static void test_console_write_long(void **state) {
  (void)state;
  enum { CHARS = 2000 };
  static char text[1 + 2 * CHARS];
  static WCHAR cells[1 + CHARS];
  struct fixture fx;
  fixture_open(&fx);
  text[0] = 'a';
  for (int i = 0; i < CHARS; i++) {
    text[1 + 2 * i] = '\xc3';
    text[2 + 2 * i] = '\xa9';
  }
  COORD origin = {0, 0};
  assert_true(SetConsoleCursorPosition(fx.out, origin));
  ax_write_t req;
  ax_buf_t buf = ax_buf_init(text, sizeof(text));
  assert_int_equal(ax_write(&req, &fx.tty_out.stream, &buf, 1, write_cb), 0);
  while (fx.writes_done == 0 && !fx.guard.fired)
    ax_run(&fx.loop, AX_RUN_ONCE);
  assert_int_equal(fx.writes_done, 1);
  DWORD got = 0;
  assert_true(
      ReadConsoleOutputCharacterW(fx.out, cells, 1 + CHARS, origin, &got));
  assert_int_equal(got, 1 + CHARS);
  assert_int_equal(cells[0], L'a');
  for (int i = 1; i <= CHARS; i++)
    assert_int_equal(cells[i], 0xe9);
  fixture_close(&fx);
}

/* Key events of units into the console's input: each pressed, then
 * released, with the virtual key and control state given. */
static void type_key(HANDLE in, WCHAR unit, WORD key, DWORD control) {
  INPUT_RECORD records[2];
  memset(records, 0, sizeof(records));
  records[0].EventType = KEY_EVENT;
  records[0].Event.KeyEvent.bKeyDown = TRUE;
  records[0].Event.KeyEvent.wRepeatCount = 1;
  records[0].Event.KeyEvent.wVirtualKeyCode = key;
  records[0].Event.KeyEvent.uChar.UnicodeChar = unit;
  records[0].Event.KeyEvent.dwControlKeyState = control;
  records[1] = records[0];
  records[1].Event.KeyEvent.bKeyDown = FALSE;
  DWORD written = 0;
  assert_true(WriteConsoleInputW(in, records, 2, &written));
  assert_int_equal(written, 2);
}

static void type_text(HANDLE in, const WCHAR *text) {
  for (; *text != 0; text++)
    type_key(in, *text, *text == L'\r' ? VK_RETURN : 0, 0);
}

/* Lines in the normal mode, as UTF-8: a character outside the basic
 * plane comes as two units. */
static void test_console_read_line(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  assert_int_equal(ax_read_start(&fx.tty.stream, alloc_cb, read_cb), 0);
  const WCHAR line[] = {L'h', 0xe9, 0xd83d, 0xde00, L'\r', 0};
  type_text(fx.in, line);
  const char want[] = "h\xc3\xa9\xf0\x9f\x98\x80\r\n";
  wait_read(&fx, sizeof(want) - 1);
  assert_int_equal(fx.got_len, sizeof(want) - 1);
  assert_memory_equal(fx.got, want, sizeof(want) - 1);
  assert_int_equal(ax_read_stop(&fx.tty.stream), 0);
  fixture_close(&fx);
}

/* The raw mode: keys as typed, arrows as VT sequences, Alt as an escape
 * before the key, releases and lone modifiers as nothing. */
static void test_console_read_raw(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_RAW), 0);
  assert_int_equal(ax_read_start(&fx.tty.stream, alloc_cb, read_cb), 0);
  type_key(fx.in, L'x', 'X', 0);
  type_key(fx.in, 0, VK_UP, 0);
  type_key(fx.in, 0, VK_SHIFT, SHIFT_PRESSED);
  type_key(fx.in, L'a', 'A', LEFT_ALT_PRESSED);
  type_key(fx.in, 0, VK_F1, 0);
  const char want[] = "x\x1b[A\x1b"
                      "a\x1bOP";
  wait_read(&fx, sizeof(want) - 1);
  assert_int_equal(fx.got_len, sizeof(want) - 1);
  assert_memory_equal(fx.got, want, sizeof(want) - 1);
  /* A change of mode while the reader waits: the next key is read in
   * the new one. */
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_RAW_VT), 0);
  fx.got_len = 0;
  type_key(fx.in, L'z', 'Z', 0);
  wait_read(&fx, 1);
  assert_int_equal(fx.got[0], 'z');
  assert_int_equal(ax_read_stop(&fx.tty.stream), 0);
  fixture_close(&fx);
}

/* The modes' bits; normal mode, ax_tty_reset_mode() and the close put
 * the mode back. A handle that writes has no input mode to change. */
static void test_console_modes(void **state) {
  (void)state;
  struct fixture fx;
  DWORD mode;
  DWORD raw_off = ENABLE_LINE_INPUT | ENABLE_ECHO_INPUT |
                  ENABLE_PROCESSED_INPUT;
  fixture_open(&fx);
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_RAW), 0);
  assert_true(GetConsoleMode(fx.in, &mode));
  assert_int_equal(mode & (raw_off | ENABLE_VIRTUAL_TERMINAL_INPUT), 0);
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_RAW_VT), 0);
  assert_true(GetConsoleMode(fx.in, &mode));
  assert_int_equal(mode & raw_off, 0);
  assert_true(mode & ENABLE_VIRTUAL_TERMINAL_INPUT);
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_NORMAL), 0);
  assert_true(GetConsoleMode(fx.in, &mode));
  assert_int_equal(mode, fx.in_mode);
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_RAW), 0);
  assert_int_equal(ax_tty_reset_mode(), 0);
  assert_true(GetConsoleMode(fx.in, &mode));
  assert_int_equal(mode, fx.in_mode);
  assert_int_equal(ax_tty_set_mode(&fx.tty, (ax_tty_mode)7), AX_EINVAL);
  assert_int_equal(ax_tty_set_mode(&fx.tty_out, AX_TTY_MODE_RAW), AX_EINVAL);
  assert_int_equal(ax_tty_set_mode(&fx.tty_out, AX_TTY_MODE_NORMAL), 0);
  /* Raw at close: the close puts the mode back (fixture_close checks). */
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_RAW), 0);
  fixture_close(&fx);
  assert_int_equal(ax_tty_reset_mode(), 0);
}

static void test_console_winsize(void **state) {
  (void)state;
  struct fixture fx;
  int width = 0, height = 0;
  fixture_open(&fx);
  assert_int_equal(ax_tty_get_winsize(&fx.tty_out, &width, &height), 0);
  assert_int_equal(width, CONSOLE_WIDTH);
  assert_int_equal(height, CONSOLE_HEIGHT);
  width = height = 0;
  assert_int_equal(ax_tty_get_winsize(&fx.tty, &width, &height), 0);
  assert_int_equal(width, CONSOLE_WIDTH);
  assert_int_equal(height, CONSOLE_HEIGHT);
  assert_int_equal(ax_tty_get_winsize(NULL, &width, &height), AX_EINVAL);
  assert_int_equal(ax_tty_get_winsize(&fx.tty, NULL, &height), AX_EINVAL);
  fixture_close(&fx);
}

/* Let the reader enter its read: the stop below must interrupt it. A
 * pause, not a timing: the test passes whether it got there or not. */
static void let_reader_block(struct fixture *fx) {
  for (int i = 0; i < 5; i++) {
    ax_run(&fx->loop, AX_RUN_NOWAIT);
    Sleep(20);
  }
}

/* A stop while the reader blocks in a read, in each mode: the cursor
 * stays where it was, what is typed then stays in the console (nobody
 * else would get it otherwise), and the next read_start reads it. */
static void test_console_read_stop(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  const ax_tty_mode modes[] = {AX_TTY_MODE_NORMAL, AX_TTY_MODE_RAW};
  for (int m = 0; m < 2; m++) {
    assert_int_equal(ax_tty_set_mode(&fx.tty, modes[m]), 0);
    fx.got_len = 0;
    CONSOLE_SCREEN_BUFFER_INFO before, after;
    assert_true(GetConsoleScreenBufferInfo(fx.out, &before));
    assert_int_equal(ax_read_start(&fx.tty.stream, alloc_cb, read_cb), 0);
    let_reader_block(&fx);
    assert_int_equal(ax_read_stop(&fx.tty.stream), 0);
    /* The Enter that ended a line read left the cursor where it was. */
    assert_true(GetConsoleScreenBufferInfo(fx.out, &after));
    assert_int_equal(after.dwCursorPosition.X, before.dwCursorPosition.X);
    assert_int_equal(after.dwCursorPosition.Y, before.dwCursorPosition.Y);
    type_text(fx.in, L"q\r");
    let_reader_block(&fx);
    DWORD events = 0;
    assert_true(GetNumberOfConsoleInputEvents(fx.in, &events));
    assert_int_equal(events, 4);
    assert_int_equal(fx.got_len, 0);
    assert_int_equal(ax_read_start(&fx.tty.stream, alloc_cb, read_cb), 0);
    wait_read(&fx, 2);
    assert_int_equal(fx.got[0], 'q');
    assert_int_equal(ax_read_stop(&fx.tty.stream), 0);
    fx.got_len = 0;
    assert_true(FlushConsoleInputBuffer(fx.in));
  }
  fixture_close(&fx);
}

static int closes;

/* A close while the reader blocks, in each mode: the reader is joined,
 * the close callback runs once, and nothing leaks (fixture_close checks
 * the allocations). */
static void test_console_close_reading(void **state) {
  (void)state;
  const ax_tty_mode modes[] = {AX_TTY_MODE_NORMAL, AX_TTY_MODE_RAW,
                               AX_TTY_MODE_RAW_VT};
  for (int m = 0; m < 3; m++) {
    struct fixture fx;
    fixture_open(&fx);
    assert_int_equal(ax_tty_set_mode(&fx.tty, modes[m]), 0);
    assert_int_equal(ax_read_start(&fx.tty.stream, alloc_cb, read_cb), 0);
    let_reader_block(&fx);
    const struct ax__tty_console *console = ax__tty_console_of(&fx.tty);
    HANDLE own[3] = {console->handle, console->thread, console->interrupt};
    assert_non_null(own[1]);
    closes = 0;
    fx.tty.stream.handle.data = &closes;
    ax_close(&fx.tty.stream.handle, test_count_close_cb);
    assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
    assert_int_equal(closes, 1);
    fx.tty.stream.handle.data = &fx;
    fixture_close(&fx);
    /* The duplicated console, the reader thread and its event are
     * closed (Wine's GetProcessHandleCount() counts nothing). */
    for (int i = 0; i < 3; i++) {
      DWORD flags;
      assert_false(GetHandleInformation(own[i], &flags));
    }
  }
}

/* Closing from the read callback, with bytes still held. */
static void close_in_read_cb(ax_stream_t *stream, ptrdiff_t nread,
                             const ax_buf_t *buf) {
  read_cb(stream, nread, buf);
  if (!ax_is_closing(&stream->handle))
    ax_close(&stream->handle, NULL);
}

static void small_alloc_cb(ax_handle_t *handle, size_t suggested,
                           ax_buf_t *buf) {
  (void)suggested;
  struct fixture *fx = handle->data;
  *buf = ax_buf_init(fx->got + fx->got_len, 1);
}

static void test_console_close_in_callback(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  assert_int_equal(ax_tty_set_mode(&fx.tty, AX_TTY_MODE_RAW), 0);
  assert_int_equal(
      ax_read_start(&fx.tty.stream, small_alloc_cb, close_in_read_cb), 0);
  type_text(fx.in, L"abc");
  wait_read(&fx, 1);
  assert_int_equal(ax_run(&fx.loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(fx.got_len, 1);
  fixture_close(&fx);
}

static int write_status;

static void write_status_cb(ax_write_t *req, int status) {
  (void)req;
  write_status = status;
}

/* A write to an input console fails, and says so in its callback; the
 * handle still reads. */
static void test_console_write_input(void **state) {
  (void)state;
  struct fixture fx;
  fixture_open(&fx);
  ax_write_t req;
  ax_buf_t buf = ax_buf_init("x", 1);
  write_status = 1;
  assert_int_equal(ax_write(&req, &fx.tty.stream, &buf, 1, write_status_cb), 0);
  while (write_status == 1 && !fx.guard.fired)
    ax_run(&fx.loop, AX_RUN_ONCE);
  assert_true(write_status < 0);
  assert_int_equal(ax_read_start(&fx.tty.stream, alloc_cb, read_cb), 0);
  type_text(fx.in, L"k\r");
  wait_read(&fx, 1);
  assert_int_equal(fx.got[0], 'k');
  fixture_close(&fx);
}

/* The handle's console is a duplicate: the descriptor stays open after
 * the close. An input console cannot be opened to write, nor an output
 * one to read. */
static void test_console_init(void **state) {
  (void)state;
  struct fixture fx;
  ax_tty_t other;
  fixture_open(&fx);
  assert_int_equal(ax_tty_init(&fx.loop, &other, fx.in_fd, false), AX_EINVAL);
  assert_int_equal(ax_tty_init(&fx.loop, &other, fx.out_fd, true), AX_EINVAL);
  assert_int_equal(ax_guess_handle(fx.in_fd), AX_GUESS_TTY);
  assert_int_equal(ax_guess_handle(fx.out_fd), AX_GUESS_TTY);
  assert_int_equal(ax_read_start(&fx.tty_out.stream, alloc_cb, read_cb),
                   AX_ENOTCONN);
  fixture_close(&fx);
  /* fixture_close checked the modes through the descriptors' handles,
   * after the handles closed their own. */
}

static int run_console_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_console_init),
      cmocka_unit_test(test_console_write),
      cmocka_unit_test(test_console_write_long),
      cmocka_unit_test(test_console_write_input),
      cmocka_unit_test(test_console_read_line),
      cmocka_unit_test(test_console_read_raw),
      cmocka_unit_test(test_console_modes),
      cmocka_unit_test(test_console_winsize),
      cmocka_unit_test(test_console_read_stop),
      cmocka_unit_test(test_console_close_reading),
      cmocka_unit_test(test_console_close_in_callback),
  };
  return cmocka_run_group_tests_name("console", tests, NULL, NULL);
}

/* ---- In the parent ---- */

typedef HRESULT(WINAPI *create_pseudo_console_fn)(COORD size, HANDLE input,
                                                  HANDLE output, DWORD flags,
                                                  void **console);
typedef void(WINAPI *close_pseudo_console_fn)(void *console);

#ifndef PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE
#define PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE 0x00020016
#endif

/* Read the pseudo console's screen output until it ends: it would block
 * the child's writes once its pipe filled. */
static DWORD WINAPI drain_main(void *arg) {
  char buf[4096];
  DWORD n;
  while (ReadFile((HANDLE)arg, buf, sizeof(buf), &n, NULL) && n > 0)
    ;
  return 0;
}

/* Start this program with "console" under pc, its standard output and
 * error the parent's. */
static bool child_start(void *pc, PROCESS_INFORMATION *pi) {
  SIZE_T len = 0;
  InitializeProcThreadAttributeList(NULL, 1, 0, &len);
  STARTUPINFOEXW si;
  memset(&si, 0, sizeof(si));
  si.StartupInfo.cb = sizeof(si);
  si.lpAttributeList = malloc(len);
  assert_non_null(si.lpAttributeList);
  assert_true(
      InitializeProcThreadAttributeList(si.lpAttributeList, 1, 0, &len));
  assert_true(UpdateProcThreadAttribute(si.lpAttributeList, 0,
                                        PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE, pc,
                                        sizeof(pc), NULL, NULL));
  HANDLE out;
  HANDLE process = GetCurrentProcess();
  assert_true(DuplicateHandle(process, GetStdHandle(STD_OUTPUT_HANDLE), process,
                              &out, 0, TRUE, DUPLICATE_SAME_ACCESS));
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = NULL;
  si.StartupInfo.hStdOutput = out;
  si.StartupInfo.hStdError = out;
  WCHAR exe[MAX_PATH];
  assert_true(GetModuleFileNameW(NULL, exe, MAX_PATH) > 0);
  WCHAR command[MAX_PATH + 16];
  swprintf(command, MAX_PATH + 16, L"\"%ls\" console", exe);
  BOOL ok = CreateProcessW(NULL, command, NULL, NULL, TRUE,
                           EXTENDED_STARTUPINFO_PRESENT, NULL, NULL,
                           &si.StartupInfo, pi);
  CloseHandle(out);
  DeleteProcThreadAttributeList(si.lpAttributeList);
  free(si.lpAttributeList);
  return ok != 0;
}

/* The console tests, in a child under a pseudo console. */
static void test_tty_console(void **state) {
  (void)state;
  HMODULE kernel = GetModuleHandleW(L"kernel32.dll");
  create_pseudo_console_fn create_pc = (create_pseudo_console_fn)(void *)
      GetProcAddress(kernel, "CreatePseudoConsole");
  close_pseudo_console_fn close_pc = (close_pseudo_console_fn)(void *)
      GetProcAddress(kernel, "ClosePseudoConsole");
  if (create_pc == NULL || close_pc == NULL)
    test_skip("no CreatePseudoConsole (Windows before 10 1809): no console "
              "to test on");
  HANDLE in_read, in_write, out_read, out_write;
  assert_true(CreatePipe(&in_read, &in_write, NULL, 0));
  assert_true(CreatePipe(&out_read, &out_write, NULL, 0));
  void *pc = NULL;
  COORD size = {CONSOLE_WIDTH, CONSOLE_HEIGHT};
  HRESULT hr = create_pc(size, in_read, out_write, 0, &pc);
  CloseHandle(in_read);
  CloseHandle(out_write);
  if (FAILED(hr)) {
    CloseHandle(in_write);
    CloseHandle(out_read);
    test_skip("CreatePseudoConsole failed: no console to test on");
  }
  HANDLE drain = CreateThread(NULL, 0, drain_main, out_read, 0, NULL);
  assert_non_null(drain);
  PROCESS_INFORMATION pi;
  assert_true(child_start(pc, &pi));
  assert_int_equal(WaitForSingleObject(pi.hProcess, CHILD_WAIT_MS),
                   WAIT_OBJECT_0);
  DWORD code = 1;
  assert_true(GetExitCodeProcess(pi.hProcess, &code));
  CloseHandle(pi.hProcess);
  CloseHandle(pi.hThread);
  close_pc(pc);
  CloseHandle(in_write);
  assert_int_equal(WaitForSingleObject(drain, CHILD_WAIT_MS), WAIT_OBJECT_0);
  CloseHandle(drain);
  CloseHandle(out_read);
  assert_int_equal(code, 0);
}

/* What needs no console: NULL, a negative, closed or unopened
 * descriptor, a file, the NUL device (a character device that is no
 * console), a pipe. */
static void test_tty_errors(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_tty_t tty;
  test_loop_open(&loop);
  assert_int_equal(ax_tty_init(NULL, &tty, 0, true), AX_EINVAL);
  assert_int_equal(ax_tty_init(&loop, NULL, 0, true), AX_EINVAL);
  assert_int_equal(ax_tty_init(&loop, &tty, -1, true), AX_EINVAL);
  int nul = _open("NUL", _O_RDWR | _O_BINARY);
  assert_true(nul >= 0);
  assert_int_equal(ax_guess_handle(nul), AX_GUESS_FILE);
  assert_int_equal(ax_tty_init(&loop, &tty, nul, true), AX_EINVAL);
  assert_int_equal(ax_tty_init(&loop, &tty, nul, false), AX_EINVAL);
  _close(nul);
  assert_int_equal(ax_tty_init(&loop, &tty, nul, true), AX_EBADF);
  int fds[2];
  assert_int_equal(_pipe(fds, 64, _O_BINARY), 0);
  assert_int_equal(ax_guess_handle(fds[0]), AX_GUESS_PIPE);
  assert_int_equal(ax_tty_init(&loop, &tty, fds[0], true), AX_EINVAL);
  _close(fds[0]);
  _close(fds[1]);
  assert_int_equal(ax_guess_handle(-1), AX_GUESS_UNKNOWN);
  assert_int_equal(ax_tty_set_mode(NULL, AX_TTY_MODE_RAW), AX_EINVAL);
  int width, height;
  assert_int_equal(ax_tty_get_winsize(NULL, &width, &height), AX_EINVAL);
  assert_int_equal(ax_tty_reset_mode(), 0);
  assert_string_equal(ax_handle_type_name(AX_TTY), "tty");
  test_loop_close(&loop);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "console") == 0)
    return run_console_tests();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tty_errors),
      cmocka_unit_test(test_tty_console),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
