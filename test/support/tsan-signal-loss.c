/*
 * tsan-signal-loss.c: a program without axle that shows how
 * ThreadSanitizer's runtime can leave a thread blocking every signal, so
 * that signals sent to that thread with pthread_kill() are never handled
 * (docs/reliability.md, Signals; scripts/tsan-signal-loss.sh builds and
 * runs it).
 *
 * TSan runs an asynchronous signal's handler late: its own handler only
 * marks the signal pending for the thread, and the thread runs the pending
 * handlers when it next leaves a function TSan intercepts, with every
 * signal blocked meanwhile, and the mask it replaced kept in one slot per
 * thread. When a second signal arrives just before that blocking and the
 * first handler then makes an intercepted call or an atomic operation, the
 * runtime processes the second one inside the first, blocks again, and
 * overwrites the slot with the everything-blocked mask: the thread ends
 * with every signal blocked, and signals aimed at it stay pending in the
 * kernel for good (google/sanitizers#1855; fixed in compiler-rt by
 * llvm/llvm-project#138599, in May 2025).
 *
 * One target thread stays busy: a stretch of arithmetic, then one read()
 * (intercepted: where TSan runs the handlers it deferred). SENDERS threads,
 * one per signal, each send their signal ROUNDS times with pthread_kill()
 * at the target and wait until its handler ran before they send again, so
 * that no two signals of one number can merge: each must run the handler.
 * A sender that waits past WAIT_MS (a bound, not a measurement) lost one,
 * and prints the target's pending and blocked signals from /proc.
 *
 *   tsan-signal-loss [write | count | bare]
 *
 * The handler counts its signal with an atomic operation and, by default
 * ("write"), writes a byte to a pipe, as an event loop's handler writes to
 * its wakeup descriptor; "count" only counts; "bare" counts in a function
 * TSan does not instrument, so that no atomic operation or intercepted call
 * of the runtime's runs inside the handler. Prints one line; exits 0 if no
 * signal was lost, 1 if one was, 2 if it could not set up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum {
  SENDERS = 4,
  ROUNDS = 2000,
  WAIT_MS = 2000,
  POLL_US = 100,
  SPIN_ROUNDS = 2000,
};

static const int sender_signals[SENDERS] = {SIGHUP, SIGINT, SIGUSR1, SIGUSR2};

static int handled[NSIG]; /* Handler runs per signal (__atomic). */
static int wake_pipe[2];  /* What the "write" handler writes to. */
static int stop;          /* The target's loop ends (__atomic). */
static pid_t target_tid;  /* For /proc (__atomic). */
static pthread_t target;  /* Where the signals go. */
static int lost;          /* Senders that lost a signal (__atomic). */
static int all_blocked;   /* The target blocked every signal (__atomic). */

static void write_handler(int signum) {
  int saved_errno = errno;
  __atomic_add_fetch(&handled[signum], 1, __ATOMIC_SEQ_CST);
  char byte = 1;
  (void)write(wake_pipe[1], &byte, 1);
  errno = saved_errno;
}

static void count_handler(int signum) {
  __atomic_add_fetch(&handled[signum], 1, __ATOMIC_SEQ_CST);
}

/* gcc leaves a no_sanitize_thread function, atomics included, alone;
 * clang still instruments its atomics unless told to leave it alone
 * altogether (clang 14 and later). */
#if defined(__has_attribute)
#if __has_attribute(disable_sanitizer_instrumentation)
__attribute__((disable_sanitizer_instrumentation))
#endif
#endif
__attribute__((no_sanitize_thread)) static void
bare_handler(int signum) {
  __atomic_add_fetch(&handled[signum], 1, __ATOMIC_SEQ_CST);
}

/* A few microseconds of work with no call in it. */
static unsigned int target_spin(unsigned int x) {
  for (int i = 0; i < SPIN_ROUNDS; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
  }
  return x;
}

static void *target_main(void *arg) {
  (void)arg;
  __atomic_store_n(&target_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
  unsigned int x = 1;
  char buf[256];
  while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST)) {
    x = target_spin(x);
    (void)read(wake_pipe[0], buf, sizeof(buf));
  }
  return x == 0 ? &stop : NULL; /* Keeps the spin. */
}

/* Print the target's pending and blocked sets, and note whether it blocks
 * every signal it can (SigBlk is hexadecimal, signal 1 in the low bit). */
static void target_show_mask(int signum, int round) {
  char path[64];
  char line[256];
  snprintf(path, sizeof(path), "/proc/self/task/%d/status",
           (int)__atomic_load_n(&target_tid, __ATOMIC_SEQ_CST));
  FILE *status = fopen(path, "r");
  if (status == NULL)
    return;
  char pending[32] = "?";
  char blocked[32] = "?";
  while (fgets(line, sizeof(line), status) != NULL) {
    if (strncmp(line, "SigPnd:", 7) == 0)
      sscanf(line + 7, "%31s", pending);
    else if (strncmp(line, "SigBlk:", 7) == 0)
      sscanf(line + 7, "%31s", blocked);
  }
  fclose(status);
  /* glibc keeps 32 and 33 out of a full set; SIGKILL and SIGSTOP cannot
   * be blocked: a mask made from sigfillset() reads fffffffe7ffbfeff. */
  if (strcmp(blocked, "fffffffe7ffbfeff") == 0)
    __atomic_store_n(&all_blocked, 1, __ATOMIC_SEQ_CST);
  fprintf(stderr,
          "signal %d, round %d: not handled within %d ms; target pending "
          "%s, blocked %s\n",
          signum, round, WAIT_MS, pending, blocked);
}

static void *sender_main(void *arg) {
  int signum = *(const int *)arg;
  const struct timespec poll_wait = {0, POLL_US * 1000};
  for (int round = 1; round <= ROUNDS; round++) {
    if (pthread_kill(target, signum) != 0)
      break;
    int polls = 0;
    while (__atomic_load_n(&handled[signum], __ATOMIC_SEQ_CST) < round) {
      nanosleep(&poll_wait, NULL);
      if (++polls == WAIT_MS * 1000 / POLL_US) {
        target_show_mask(signum, round);
        __atomic_add_fetch(&lost, 1, __ATOMIC_SEQ_CST);
        return NULL;
      }
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "write";
  struct sigaction action;
  memset(&action, 0, sizeof(action));
  if (strcmp(mode, "write") == 0)
    action.sa_handler = write_handler;
  else if (strcmp(mode, "count") == 0)
    action.sa_handler = count_handler;
  else if (strcmp(mode, "bare") == 0)
    action.sa_handler = bare_handler;
  else {
    fprintf(stderr, "usage: %s [write | count | bare]\n", argv[0]);
    return 2;
  }
  /* As axle installs its handler (src/unix/signal.c). */
  action.sa_flags = SA_RESTART;
  sigfillset(&action.sa_mask);
  if (pipe(wake_pipe) != 0 || fcntl(wake_pipe[0], F_SETFL, O_NONBLOCK) != 0 ||
      fcntl(wake_pipe[1], F_SETFL, O_NONBLOCK) != 0)
    return 2;
  for (int i = 0; i < SENDERS; i++)
    if (sigaction(sender_signals[i], &action, NULL) != 0)
      return 2;
  if (pthread_create(&target, NULL, target_main, NULL) != 0)
    return 2;
  const struct timespec start_wait = {0, 1000000};
  while (__atomic_load_n(&target_tid, __ATOMIC_SEQ_CST) == 0)
    nanosleep(&start_wait, NULL);
  pthread_t senders[SENDERS];
  for (int i = 0; i < SENDERS; i++)
    if (pthread_create(&senders[i], NULL, sender_main,
                       (void *)&sender_signals[i]) != 0)
      return 2;
  for (int i = 0; i < SENDERS; i++)
    pthread_join(senders[i], NULL);
  __atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
  pthread_join(target, NULL);
  int handled_total = 0;
  for (int i = 0; i < SENDERS; i++)
    handled_total += __atomic_load_n(&handled[sender_signals[i]],
                                     __ATOMIC_SEQ_CST);
  int lost_now = __atomic_load_n(&lost, __ATOMIC_SEQ_CST);
  printf("%s: %d signals handled, %d lost, target blocks every signal: %s\n",
         mode, handled_total, lost_now,
         __atomic_load_n(&all_blocked, __ATOMIC_SEQ_CST) ? "yes" : "no");
  return lost_now != 0;
}
