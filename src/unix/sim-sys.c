/*
 * unix/sim-sys.c: the simulated world of the sim backend (sim.h): its
 * seed, its virtual clock, and the syscall wrappers through which it
 * perturbs the engine.
 *
 * The wrappers sit in the ax__sys table (unix/internal.h) while a sim loop
 * is open, in front of whatever the table held, so the engine's own error
 * paths run, not a model of them. They touch only sockets made or accepted
 * through the table, and on those:
 *
 *   - split every other read and sendmsg at a random byte, always (the
 *     kernel may do either; the engine must not care), and shorten about
 *     every other ax_fs_sendfile() the same way (a non-blocking socket's
 *     buffer fills; the caller must go on from where it stopped);
 *   - at AX_SIM_FAULT_RATE per mille of calls, inject a failure. The
 *     transient ones (EINTR anywhere, EAGAIN on reads and accepts, a
 *     connect interrupted while it goes on, ECONNABORTED on accept) must
 *     never change what the user sees. The others may: EAGAIN on a send
 *     with room in the kernel (ax_try_write() reports it), ECONNRESET and
 *     EPIPE on reads and sends, EMFILE, ENFILE and ENOMEM on accept, the
 *     way a real network or kernel would. AX_SIM_FAULTS=transient keeps to
 *     the first kind.
 *
 * With "enomem" in AX_SIM_FAULTS, axle's own allocations (ax__malloc and
 * its kin, allocator.c) fail at the same rate, on every thread, through
 * ax__alloc_refuse: the caller must get AX_ENOMEM or a callback status,
 * never a crash, a leak or a lost completion. The user's memory (read
 * buffers, handles) is not axle's and never fails.
 *
 * A reset stays a reset: the socket is marked in a table by descriptor,
 * shut down for real so that the peer sees the connection end, and every
 * later read or send on it fails, until the descriptor is closed.
 *
 * Every decision comes from one stream seeded by AX_SIM_SEED, so a
 * single-threaded run replays exactly. Pool threads never draw from it:
 * they touch files, not the sockets the table marks; a sendfile's split
 * is a hash of the seed and its offset and length instead, the same
 * whichever thread runs it and whenever. Allocations, which pool threads
 * make too, have a stream of their own: the n-th allocation of the
 * process fails or not by a hash of the seed and n, so a single-threaded
 * run replays them exactly and the sockets' stream is left alone.
 * AX_SIM_TRACE=1
 * prints the count and a hash of the decisions whenever the last sim
 * loop closes, so two runs can show that they were the same.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "fs.h"
#include "sim.h"

enum {
  /* Descriptors the world keeps state for; faults and splits spare
   * higher ones (tests stay far below). */
  SIM_FDS = 4096,
  /* What the virtual clock moves per read: a microsecond. */
  SIM_TICK_NS = 1000,
  /* The fault rate without AX_SIM_FAULT_RATE, per mille. */
  SIM_DEFAULT_FAULT_PERMILLE = 10,
  /* Buffers per sendmsg() the wrapper copies to split: IOV_MAX. */
  SIM_IOV_MAX = 1024,
};

/* Per descriptor (sim_fd_state). */
enum {
  SIM_FD_SOCKET = 1u << 0, /* Made or accepted through the table. */
  SIM_FD_LISTEN = 1u << 1, /* listen() succeeded on it. */
  SIM_FD_RESET = 1u << 2,  /* A reset was injected: every call fails. */
};

/* The kinds of fault, and what AX_SIM_FAULTS allows. TRANSIENT ones no
 * program can see through the API; VISIBLE ones it can, though nothing
 * broke (ax_try_write() meeting an EAGAIN with room in the kernel); FATAL
 * ones break a connection or a listener's run. */
enum {
  SIM_FAULT_TRANSIENT = 1u << 0,
  SIM_FAULT_VISIBLE = 1u << 1,
  SIM_FAULT_FATAL = 1u << 2,
  /* Not a socket's: axle's own allocations fail (ax__alloc_refuse). */
  SIM_FAULT_ENOMEM = 1u << 3,
  SIM_FAULT_SOCKETS = SIM_FAULT_TRANSIENT | SIM_FAULT_VISIBLE | SIM_FAULT_FATAL,
};

struct sim_world {
  pthread_mutex_t lock;        /* Guards what follows, but the clock. */
  int loops;                   /* Sim loops open now. */
  uint64_t loops_ever;         /* Sim loops opened: each one's rank. */
  uint64_t seed;               /* AX_SIM_SEED. */
  uint64_t rng;                /* The stream of the wrappers' decisions. */
  unsigned int fault_permille; /* AX_SIM_FAULT_RATE. */
  unsigned int faults;         /* SIM_FAULT_* allowed. */
  struct ax__syscalls next;    /* What the wrappers call. */
  unsigned char fds[SIM_FDS];  /* SIM_FD_* by descriptor. */
  uint64_t clock_ns;           /* The virtual clock (atomic). */
  bool configured;             /* By the environment or ax__sim_set. */
  bool trace;                  /* AX_SIM_TRACE: print the digest. */
  uint64_t draws;              /* Decisions drawn so far... */
  uint64_t digest;             /* ...and a hash of them, to check replay. */
};

static struct sim_world sim = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Allocations made while the hook was in (the next one's rank), and how
 * many of them failed: atomic, as every thread allocates. */
static uint64_t sim_allocs;
static uint64_t sim_allocs_refused;

/* ---- Randomness ---- */

uint64_t ax__sim_next(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

uint64_t ax__sim_below(uint64_t *state, uint64_t n) {
  return ax__sim_next(state) % n;
}

/* ---- The virtual clock ---- */

uint64_t ax__sim_now_ns(void) {
  return __atomic_add_fetch(&sim.clock_ns, SIM_TICK_NS, __ATOMIC_RELAXED);
}

void ax__sim_clock_advance_to(uint64_t ns) {
  uint64_t now = __atomic_load_n(&sim.clock_ns, __ATOMIC_RELAXED);
  while (now < ns &&
         !__atomic_compare_exchange_n(&sim.clock_ns, &now, ns, true,
                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

/* ---- Per-descriptor state ---- */

static unsigned int sim_fd_state(int fd) {
  if (fd < 0 || fd >= SIM_FDS)
    return 0;
  return __atomic_load_n(&sim.fds[fd], __ATOMIC_RELAXED);
}

static void sim_fd_set(int fd, unsigned int state) {
  if (fd >= 0 && fd < SIM_FDS)
    __atomic_store_n(&sim.fds[fd], (unsigned char)state, __ATOMIC_RELAXED);
}

/* ---- Decisions ---- */

/* Under the lock: a number in [0, n) from the world's stream. */
static uint64_t sim_draw(uint64_t n) {
  pthread_mutex_lock(&sim.lock);
  uint64_t v = ax__sim_below(&sim.rng, n);
  sim.draws++;
  sim.digest = (sim.digest ^ v) * 0x100000001b3u;
  pthread_mutex_unlock(&sim.lock);
  return v;
}

/* Whether this call fails, and which of the allowed kinds it may pick:
 * returns the kind (SIM_FAULT_*), or 0 for no fault. */
static unsigned int sim_fault(void) {
  if (sim.fault_permille == 0 || !(sim.faults & SIM_FAULT_SOCKETS) ||
      sim_draw(1000) >= sim.fault_permille)
    return 0;
  /* With every kind allowed: half transient, a quarter each of the rest. */
  unsigned int kind = SIM_FAULT_TRANSIENT;
  if (sim.faults & SIM_FAULT_FATAL) {
    uint64_t pick = sim_draw(4);
    kind = pick == 0   ? SIM_FAULT_FATAL
           : pick == 1 ? SIM_FAULT_VISIBLE
                       : SIM_FAULT_TRANSIENT;
  }
  return kind;
}

/* How many of len bytes a read or send may move: all, or (every other
 * call) a random part of them, at least one. */
static size_t sim_split(size_t len) {
  if (len <= 1 || sim_draw(2) == 0)
    return len;
  return 1 + (size_t)sim_draw(len - 1);
}

/* Break the connection for good: the peer sees it end, and every later
 * call here fails (sim_broken). */
static void sim_reset(int fd) {
  sim_fd_set(fd, sim_fd_state(fd) | SIM_FD_RESET);
  sim.next.shutdown(fd, SHUT_RDWR);
}

/* -1 with err in errno: what the wrappers return for a fault. */
static int sim_fail(int err) {
  errno = err;
  return -1;
}

/* ---- The wrappers ---- */

static int sim_socket(int domain, int type, int protocol) {
  int fd = sim.next.socket(domain, type, protocol);
  if (fd >= 0)
    sim_fd_set(fd, SIM_FD_SOCKET);
  return fd;
}

static int sim_listen(int fd, int backlog) {
  int err = sim.next.listen(fd, backlog);
  if (err == 0 && (sim_fd_state(fd) & SIM_FD_SOCKET))
    sim_fd_set(fd, sim_fd_state(fd) | SIM_FD_LISTEN);
  return err;
}

static int sim_close(int fd) {
  sim_fd_set(fd, 0);
  return sim.next.close(fd);
}

/* The accept failures, transient first: each leaves the pending
 * connection where it is, as the kernel's own would. */
static int sim_accept_fault(unsigned int kind) {
  static const int transient[] = {EAGAIN, EINTR, ECONNABORTED};
  static const int fatal[] = {EMFILE, ENFILE, ENOMEM};
  if (kind != SIM_FAULT_TRANSIENT)
    return sim_fail(fatal[sim_draw(3)]);
  return sim_fail(transient[sim_draw(3)]);
}

static int sim_accept4(int fd, struct sockaddr *addr, socklen_t *len,
                       int flags) {
  if (sim_fd_state(fd) & SIM_FD_LISTEN) {
    unsigned int kind = sim_fault();
    if (kind != 0)
      return sim_accept_fault(kind);
  }
  int s = sim.next.accept4(fd, addr, len, flags);
  if (s >= 0)
    sim_fd_set(s, SIM_FD_SOCKET);
  return s;
}

/* A connect that the kernel took on may report EINTR: it goes on in the
 * background (POSIX), which the engine must treat as in progress. */
static int sim_connect(int fd, const struct sockaddr *addr, socklen_t len) {
  int err = sim.next.connect(fd, addr, len);
  if (err != 0 && errno == EINPROGRESS && (sim_fd_state(fd) & SIM_FD_SOCKET) &&
      sim_fault() != 0)
    return sim_fail(EINTR);
  return err;
}

static ssize_t sim_read(int fd, void *buf, size_t len) {
  unsigned int state = sim_fd_state(fd);
  if (!(state & SIM_FD_SOCKET))
    return sim.next.read(fd, buf, len);
  if (state & SIM_FD_RESET)
    return sim_fail(ECONNRESET);
  /* A spurious EAGAIN on a read is as invisible as an EINTR: the engine
   * waits for the readiness that is still there. */
  unsigned int kind = sim_fault();
  if (kind == SIM_FAULT_TRANSIENT || kind == SIM_FAULT_VISIBLE)
    return sim_fail(sim_draw(2) == 0 ? EINTR : EAGAIN);
  if (kind == SIM_FAULT_FATAL) {
    sim_reset(fd);
    return sim_fail(ECONNRESET);
  }
  return sim.next.read(fd, buf, sim_split(len));
}

/* Send at most cap bytes of msg. */
static ssize_t sim_sendmsg_part(int fd, const struct msghdr *msg, int flags,
                                size_t cap) {
  struct iovec iov[SIM_IOV_MAX];
  struct msghdr part = *msg;
  size_t count = 0;
  for (size_t i = 0; i < msg->msg_iovlen && count < SIM_IOV_MAX && cap > 0;
       i++) {
    iov[count] = msg->msg_iov[i];
    if (iov[count].iov_len > cap)
      iov[count].iov_len = cap;
    cap -= iov[count].iov_len;
    count++;
  }
  part.msg_iov = iov;
  part.msg_iovlen = count;
  return sim.next.sendmsg(fd, &part, flags);
}

static ssize_t sim_sendmsg(int fd, const struct msghdr *msg, int flags) {
  unsigned int state = sim_fd_state(fd);
  if (!(state & SIM_FD_SOCKET))
    return sim.next.sendmsg(fd, msg, flags);
  if (state & SIM_FD_RESET)
    return sim_fail(EPIPE);
  unsigned int kind = sim_fault();
  if (kind == SIM_FAULT_TRANSIENT)
    return sim_fail(EINTR);
  if (kind == SIM_FAULT_VISIBLE)
    return sim_fail(EAGAIN);
  if (kind == SIM_FAULT_FATAL) {
    sim_reset(fd);
    return sim_fail(sim_draw(2) == 0 ? ECONNRESET : EPIPE);
  }
  size_t total = 0;
  for (size_t i = 0; i < msg->msg_iovlen; i++)
    total += msg->msg_iov[i].iov_len;
  size_t cap = sim_split(total);
  if (cap == total)
    return sim.next.sendmsg(fd, msg, flags);
  return sim_sendmsg_part(fd, msg, flags, cap);
}

/* ---- Entering and leaving ---- */

static uint64_t sim_env_u64(const char *name, uint64_t fallback) {
  const char *value = getenv(name);
  if (value == NULL || value[0] == '\0')
    return fallback;
  return strtoull(value, NULL, 0);
}

/* The kinds AX_SIM_FAULTS names: words separated by commas, "all" (every
 * socket fault, the default), "transient" (only those), "off" (none),
 * and "enomem" (allocations too), as in "all,enomem". */
static unsigned int sim_parse_faults(const char *faults) {
  if (faults == NULL || faults[0] == '\0')
    return SIM_FAULT_SOCKETS;
  unsigned int kinds = 0;
  bool named = false; /* Whether a word said which socket faults. */
  for (const char *word = faults; *word != '\0';) {
    size_t len = strcspn(word, ",");
    if (len == 3 && strncmp(word, "all", len) == 0) {
      kinds |= SIM_FAULT_SOCKETS;
      named = true;
    } else if (len == 9 && strncmp(word, "transient", len) == 0) {
      kinds |= SIM_FAULT_TRANSIENT;
      named = true;
    } else if (len == 3 && strncmp(word, "off", len) == 0) {
      named = true;
    } else if (len == 6 && strncmp(word, "enomem", len) == 0) {
      kinds |= SIM_FAULT_ENOMEM;
    }
    word += len + (word[len] == ',');
  }
  /* "enomem" alone: allocations only, the sockets left alone. */
  if (!named && !(kinds & SIM_FAULT_ENOMEM))
    kinds = SIM_FAULT_SOCKETS;
  return kinds;
}

static const char *sim_faults_name(unsigned int faults) {
  if (faults & SIM_FAULT_FATAL)
    return faults & SIM_FAULT_ENOMEM ? "all,enomem" : "all";
  if (faults & SIM_FAULT_TRANSIENT)
    return faults & SIM_FAULT_ENOMEM ? "transient,enomem" : "transient";
  return faults & SIM_FAULT_ENOMEM ? "enomem" : "off";
}

/* Read the environment and say how to replay, once per process. */
static void sim_configure(void) {
  sim.seed = sim_env_u64("AX_SIM_SEED", 1);
  uint64_t rate = sim_env_u64("AX_SIM_FAULT_RATE", SIM_DEFAULT_FAULT_PERMILLE);
  sim.fault_permille = rate > 1000 ? 1000 : (unsigned int)rate;
  sim.faults = sim_parse_faults(getenv("AX_SIM_FAULTS"));
  sim.rng = sim.seed;
  __atomic_store_n(&sim_allocs, 0, __ATOMIC_RELAXED);
  sim.configured = true;
  sim.trace = getenv("AX_SIM_TRACE") != NULL;
  (void)fprintf(stderr,
                "axle: sim seed %llu (AX_SIM_SEED=%llu to replay), "
                "faults %u/1000 %s\n",
                (unsigned long long)sim.seed, (unsigned long long)sim.seed,
                sim.fault_permille, sim_faults_name(sim.faults));
}

void ax__sim_set(uint64_t seed, unsigned int fault_permille, bool all) {
  pthread_mutex_lock(&sim.lock);
  assert(sim.loops == 0 && "axle: sim: reseeded while a sim loop is open");
  sim.seed = seed;
  sim.rng = seed;
  sim.fault_permille = fault_permille > 1000 ? 1000 : fault_permille;
  sim.faults = SIM_FAULT_TRANSIENT;
  if (all)
    sim.faults |= SIM_FAULT_VISIBLE | SIM_FAULT_FATAL;
  /* Failing allocations stay the operator's choice: a harness that sets
   * the rest per input gets them from the environment. */
  sim.faults |= sim_parse_faults(getenv("AX_SIM_FAULTS")) & SIM_FAULT_ENOMEM;
  sim.loops_ever = 0; /* The next loop gets the first stream again. */
  __atomic_store_n(&sim_allocs, 0, __ATOMIC_RELAXED);
  sim.configured = true;
  pthread_mutex_unlock(&sim.lock);
}

/* The first sim loop of the process starts the clock, at a whole second
 * so that ax_now()'s millisecond rounding is the same from run to run.
 * The process lives in simulated time from then on: ax_hrtime() must
 * agree with the timers (a test compares them) and must never go back,
 * so the clock stays when the last sim loop closes. */
static void sim_clock_start(void) {
  uint64_t second = 1000000000u;
  __atomic_store_n(&sim.clock_ns, (ax__hrtime_ns() / second + 1) * second,
                   __ATOMIC_RELAXED);
  __atomic_store_n(&ax__hrtime_override, ax__sim_now_ns, __ATOMIC_RELEASE);
}

/* The seed the sendfile splits and allocation faults hash (pool threads
 * read it), and the allocation faults' rate (0: off). */
static uint64_t sim_sendfile_seed;
static unsigned int sim_alloc_permille;

/* ax__fs_sendfile_split while a sim loop is open: all of len, or (about
 * every other call) a part of it, at least one byte. */
static int64_t sim_sendfile_split(int64_t offset, int64_t len) {
  uint64_t state = __atomic_load_n(&sim_sendfile_seed, __ATOMIC_RELAXED) ^
                   ((uint64_t)offset * 0x9e3779b97f4a7c15u) ^ (uint64_t)len;
  uint64_t v = ax__sim_next(&state);
  if (len <= 1 || (v & 1) == 0)
    return len;
  return 1 + (int64_t)((v >> 1) % (uint64_t)(len - 1));
}

/* ax__alloc_refuse while a sim loop is open with "enomem": whether the
 * next allocation of the process fails, by a hash of the seed and its
 * rank, whichever thread makes it. */
static bool sim_alloc_refuse(void) {
  uint64_t n = __atomic_fetch_add(&sim_allocs, 1, __ATOMIC_RELAXED);
  uint64_t state = __atomic_load_n(&sim_sendfile_seed, __ATOMIC_RELAXED) ^
                   (n * 0xd6e8feb86659fd93u);
  unsigned int permille = __atomic_load_n(&sim_alloc_permille,
                                          __ATOMIC_RELAXED);
  if (ax__sim_next(&state) % 1000 >= permille)
    return false;
  __atomic_add_fetch(&sim_allocs_refused, 1, __ATOMIC_RELAXED);
  return true;
}

static void sim_install(void) {
  __atomic_store_n(&sim_sendfile_seed, sim.seed, __ATOMIC_RELAXED);
  __atomic_store_n(&ax__fs_sendfile_split, sim_sendfile_split,
                   __ATOMIC_RELEASE);
  if ((sim.faults & SIM_FAULT_ENOMEM) && sim.fault_permille > 0) {
    __atomic_store_n(&sim_alloc_permille, sim.fault_permille, __ATOMIC_RELAXED);
    __atomic_store_n(&ax__alloc_refuse, sim_alloc_refuse, __ATOMIC_RELEASE);
  }
  sim.next = ax__sys;
  ax__sys.socket = sim_socket;
  ax__sys.listen = sim_listen;
  ax__sys.accept4 = sim_accept4;
  ax__sys.connect = sim_connect;
  ax__sys.close = sim_close;
  ax__sys.read = sim_read;
  ax__sys.sendmsg = sim_sendmsg;
}

/* Put back what sim_install replaced, unless a test replaced it since. */
static void sim_uninstall(void) {
  __atomic_store_n(&ax__fs_sendfile_split, NULL, __ATOMIC_RELEASE);
  __atomic_store_n(&ax__alloc_refuse, NULL, __ATOMIC_RELEASE);
  ax__sys.socket = sim.next.socket;
  ax__sys.listen = sim.next.listen;
  ax__sys.accept4 = sim.next.accept4;
  ax__sys.connect = sim.next.connect;
  ax__sys.close = sim.next.close;
  ax__sys.read = sim.next.read;
  ax__sys.sendmsg = sim.next.sendmsg;
}

uint64_t ax__sim_enter(void) {
  pthread_mutex_lock(&sim.lock);
  if (!sim.configured)
    sim_configure();
  /* Other loops' threads move the clock without the lock. */
  if (__atomic_load_n(&sim.clock_ns, __ATOMIC_RELAXED) == 0)
    sim_clock_start();
  if (sim.loops++ == 0)
    sim_install();
  uint64_t rank = sim.loops_ever++;
  uint64_t mix = sim.seed ^ (rank * 0xd1b54a32d192ed03u);
  pthread_mutex_unlock(&sim.lock);
  return ax__sim_next(&mix);
}

void ax__sim_leave(void) {
  pthread_mutex_lock(&sim.lock);
  if (--sim.loops == 0)
    sim_uninstall();
  /* Two runs of one seed that print the same lines made the same
   * decisions in the same order: that is what replay means. */
  if (sim.loops == 0 && sim.trace)
    (void)fprintf(
        stderr,
        "axle: sim seed %llu: %llu decisions, digest %016llx, "
        "%llu of %llu allocations refused\n",
        (unsigned long long)sim.seed, (unsigned long long)sim.draws,
        (unsigned long long)sim.digest,
        (unsigned long long)__atomic_load_n(&sim_allocs_refused,
                                            __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&sim_allocs, __ATOMIC_RELAXED));
  pthread_mutex_unlock(&sim.lock);
}
