/*
 * test/support/child.c: the program test_process.c starts as a child.
 * The first argument names what it does:
 *   exit N            exit with status N
 *   signal N          end by signal N (raise)
 *   echo              copy standard input to standard output until EOF
 *   env NAME          print NAME's value ("(unset)" if none)
 *   cwd               print the working directory
 *   spam              write to standard output until that fails
 *   sleep MS          sleep, then exit 0
 *   fds               print each open descriptor below 1024 ("0:null" for
 *                     /dev/null), separated by spaces
 *   write FD TEXT ... write each TEXT to its FD
 *   sigs              print "clean" if no signal is blocked and SIGPIPE's
 *                     disposition is the default, else "dirty"
 *   sid               print "leader" if it leads its own session, else
 *                     "member"
 *   issock FD         print "socket" if FD is a socket, else "other"
 *   args ARG ...      print each ARG as it came, separated by '|'
 *   bytes N           write N bytes to standard output, byte i being
 *                     'a' + i % 26, then exit 0
 *   nonblock FD OUT   write "nonblocking" to OUT if FD's open file has
 *                     O_NONBLOCK, else "blocking"
 * Output goes to standard output unless the mode says otherwise. Status 100
 * means a bad command line.
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void put(int fd, const char *text) {
  size_t len = strlen(text);
  while (len > 0) {
    ssize_t n = write(fd, text, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      exit(101);
    text += n;
    len -= (size_t)n;
  }
}

static int child_echo(void) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(0, buf, sizeof(buf) - 1); /* Room for the NUL. */
    if (n == 0)
      return 0;
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return 102;
    buf[n] = '\0';
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(1, buf + done, (size_t)(n - done));
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return 103;
      done += w;
    }
  }
}

static int child_fds(void) {
  struct stat null_st;
  if (stat("/dev/null", &null_st) != 0)
    return 104;
  char out[8192] = "";
  for (int fd = 0; fd < 1024; fd++) {
    struct stat st;
    if (fstat(fd, &st) != 0)
      continue;
    char item[32];
    bool null = S_ISCHR(st.st_mode) && st.st_rdev == null_st.st_rdev;
    snprintf(item, sizeof(item), "%s%d%s", out[0] ? " " : "", fd,
             null ? ":null" : "");
    strncat(out, item, sizeof(out) - strlen(out) - 1);
  }
  /* Printed to standard output, which is itself in the list. */
  put(1, out);
  return 0;
}

static int child_sigs(void) {
  sigset_t mask;
  struct sigaction action;
  if (sigprocmask(SIG_SETMASK, NULL, &mask) != 0 ||
      sigaction(SIGPIPE, NULL, &action) != 0)
    return 105;
  bool clean = action.sa_handler == SIG_DFL;
  for (int signum = 1; signum < 32; signum++) {
    if (sigismember(&mask, signum))
      clean = false;
  }
  put(1, clean ? "clean" : "dirty");
  return 0;
}

/* Bytes i of the "bytes" mode: a pattern the reader can check by offset. */
static int child_bytes(long count) {
  char block[4096];
  long done = 0;
  while (done < count) {
    size_t len = sizeof(block);
    if ((long)len > count - done)
      len = (size_t)(count - done);
    for (size_t i = 0; i < len; i++)
      block[i] = (char)('a' + (done + (long)i) % 26);
    for (size_t off = 0; off < len;) {
      ssize_t n = write(1, block + off, len - off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return 108;
      off += (size_t)n;
    }
    done += (long)len;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return 100;
  const char *mode = argv[1];
  if (strcmp(mode, "exit") == 0 && argc == 3)
    return atoi(argv[2]);
  if (strcmp(mode, "signal") == 0 && argc == 3) {
    raise(atoi(argv[2]));
    return 106;
  }
  if (strcmp(mode, "echo") == 0)
    return child_echo();
  if (strcmp(mode, "env") == 0 && argc == 3) {
    const char *value = getenv(argv[2]);
    put(1, value != NULL ? value : "(unset)");
    return 0;
  }
  if (strcmp(mode, "cwd") == 0) {
    char buf[4096];
    if (getcwd(buf, sizeof(buf)) == NULL)
      return 107;
    put(1, buf);
    return 0;
  }
  if (strcmp(mode, "spam") == 0) {
    static const char block[4096] = {'x'};
    for (;;) {
      if (write(1, block, sizeof(block)) < 0 && errno != EINTR)
        return 0;
    }
  }
  if (strcmp(mode, "sleep") == 0 && argc == 3) {
    long ms = atol(argv[2]);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
      continue;
    return 0;
  }
  if (strcmp(mode, "fds") == 0)
    return child_fds();
  if (strcmp(mode, "write") == 0 && argc % 2 == 0) {
    for (int i = 2; i + 1 < argc; i += 2)
      put(atoi(argv[i]), argv[i + 1]);
    return 0;
  }
  if (strcmp(mode, "sigs") == 0)
    return child_sigs();
  if (strcmp(mode, "issock") == 0 && argc == 3) {
    struct stat st;
    bool sock = fstat(atoi(argv[2]), &st) == 0 && S_ISSOCK(st.st_mode);
    put(1, sock ? "socket" : "other");
    return 0;
  }
  if (strcmp(mode, "args") == 0) {
    for (int i = 2; i < argc; i++) {
      if (i > 2)
        put(1, "|");
      put(1, argv[i]);
    }
    return 0;
  }
  if (strcmp(mode, "bytes") == 0 && argc == 3)
    return child_bytes(atol(argv[2]));
  if (strcmp(mode, "nonblock") == 0 && argc == 4) {
    int flags = fcntl(atoi(argv[2]), F_GETFL);
    if (flags < 0)
      return 109;
    put(atoi(argv[3]), (flags & O_NONBLOCK) ? "nonblocking" : "blocking");
    return 0;
  }
  if (strcmp(mode, "sid") == 0) {
    put(1, getsid(0) == getpid() ? "leader" : "member");
    return 0;
  }
  return 100;
}
