/*
 * bench/run.c: runs each workload on axle and on libuv in one process and
 * prints a table: operations per CPU-second and per wall-clock second for
 * each, and the ratios axle/libuv (above 1: axle does more).
 *
 * Usage: bench-core [scale [INDEX...]]   scale multiplies every operation
 * count (default 1, at most 100); the indices (from `bench-core --list`)
 * choose workloads, all by default; `--list` prints each one's index, name
 * and operations per round. `bench-core --one SIDE INDEX COUNT` runs one
 * workload once on one side, for scripts/bench.sh --callgrind.
 * Each workload runs ROUNDS (5) times per side, alternating sides, and the
 * best round counts, so that a noisy neighbour on the machine hurts both
 * sides alike.
 *
 * The file system workloads use two files in a directory of their own
 * under /tmp, made before the first of them runs and removed at exit, also
 * when a run overstays its time limit or the program is interrupted.
 */
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <axle.h>

#include "bench.h"

double bench_cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The temporary directory and its files; fixed arrays, so that the signal
 * handler can remove them with nothing but async-signal-safe calls. */
static struct {
  char dir[64];       /* Empty until the directory exists. */
  char stat_path[96]; /* Empty until the file exists. */
  char read_path[96]; /* Empty until the file exists. */
} bench_tmp;

struct bench_files bench_files;

/* The churn workload running, and its slots: what it may have left in the
 * directory if a run is stopped. */
static struct bench_churn *volatile bench_churn_active;
static volatile unsigned int bench_churn_slots;

/* Remove every name the churn slots may have left. Async-signal-safe. */
static void bench_churn_remove(const struct bench_churn *c,
                               unsigned int in_flight) {
  for (unsigned int k = 0; k < in_flight; k++) {
    for (int i = 0; i < 2; i++) {
      /* Whichever the run left: a file, a link or a directory. */
      if (unlink(c->paths[k][i]) != 0)
        rmdir(c->paths[k][i]);
    }
  }
}

/* Remove what bench_files_make() made. Async-signal-safe. */
static void bench_files_remove(void) {
  if (bench_churn_active != NULL)
    bench_churn_remove(bench_churn_active, bench_churn_slots);
  if (bench_tmp.stat_path[0] != '\0')
    unlink(bench_tmp.stat_path);
  if (bench_tmp.read_path[0] != '\0')
    unlink(bench_tmp.read_path);
  if (bench_tmp.dir[0] != '\0')
    rmdir(bench_tmp.dir);
}

static void bench_files_remove_at_exit(void) {
  bench_files_remove();
}

/* A run that overstayed its limit (SIGALRM), or an interruption. */
static void bench_abort_signal(int sig) {
  static const char overtime[] =
      "bench: a run took longer than its time limit; stopping\n";
  static const char interrupted[] = "bench: interrupted\n";
  if (sig == SIGALRM)
    (void)!write(2, overtime, sizeof(overtime) - 1);
  else
    (void)!write(2, interrupted, sizeof(interrupted) - 1);
  bench_files_remove();
  _exit(3);
}

static void bench_signals_init(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = bench_abort_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  atexit(bench_files_remove_at_exit);
}

/* Create a file of len_bytes bytes of a repeating pattern. */
static int bench_file_write(const char *path, size_t len_bytes) {
  static char chunk[BENCH_READ_BYTES];
  for (size_t i = 0; i < sizeof(chunk); i++)
    chunk[i] = (char)('a' + i % 26);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return -1;
  int err = 0;
  for (size_t done = 0; done < len_bytes && err == 0;) {
    size_t want = len_bytes - done < sizeof(chunk) ? len_bytes - done
                                                   : sizeof(chunk);
    ssize_t n = write(fd, chunk, want);
    if (n <= 0)
      err = -1;
    else
      done += (size_t)n;
  }
  return close(fd) != 0 ? -1 : err;
}

/* Make the directory and the two files, once. The read file is written
 * here, so that both sides read it from the page cache. */
static int bench_files_make(void) {
  static int failed;
  if (bench_files.read_path != NULL || failed)
    return failed ? -1 : 0;
  failed = 1;
  strcpy(bench_tmp.dir, "/tmp/axle-bench-XXXXXX");
  if (mkdtemp(bench_tmp.dir) == NULL) {
    bench_tmp.dir[0] = '\0';
    perror("bench: mkdtemp");
    return -1;
  }
  /* Named before they exist: a signal may come while they are written. */
  snprintf(bench_tmp.stat_path, sizeof(bench_tmp.stat_path), "%s/stat-me",
           bench_tmp.dir);
  snprintf(bench_tmp.read_path, sizeof(bench_tmp.read_path), "%s/read-me",
           bench_tmp.dir);
  if (bench_file_write(bench_tmp.stat_path, 100) != 0 ||
      bench_file_write(bench_tmp.read_path, BENCH_READ_FILE_BYTES) != 0) {
    perror("bench: writing the files to read");
    return -1;
  }
  failed = 0;
  bench_files.dir = bench_tmp.dir;
  bench_files.stat_path = bench_tmp.stat_path;
  bench_files.read_path = bench_tmp.read_path;
  return 0;
}

void bench_churn_teardown(struct bench_churn *c, unsigned int in_flight) {
  bench_churn_active = NULL;
  for (unsigned int k = 0; k < in_flight; k++) {
    if (c->fds[k] >= 0)
      close(c->fds[k]);
    c->fds[k] = -1;
  }
  bench_churn_remove(c, in_flight);
}

int bench_churn_setup(struct bench_churn *c, enum bench_churn_kind kind,
                      unsigned int in_flight) {
  int err = 0;
  for (unsigned int k = 0; k < in_flight; k++) {
    c->fds[k] = -1;
    for (int i = 0; i < 2; i++)
      snprintf(c->paths[k][i], sizeof(c->paths[k][i]), "%s/churn-%c%u",
               bench_files.dir, 'a' + i, k);
  }
  bench_churn_slots = in_flight;
  bench_churn_active = c;
  for (unsigned int k = 0; k < in_flight && err == 0; k++) {
    if (kind != BENCH_CHURN_RENAME && kind != BENCH_CHURN_TRUNCATE)
      continue;
    c->fds[k] = open(c->paths[k][0], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
                     0600);
    err = c->fds[k] < 0 ? -1 : 0;
    if (err == 0 && kind == BENCH_CHURN_RENAME) {
      err = close(c->fds[k]);
      c->fds[k] = -1;
    }
  }
  if (err != 0) {
    perror("bench: making the churn files");
    bench_churn_teardown(c, in_flight);
  }
  return err;
}

typedef void (*bench_fn)(uint64_t n, struct bench_result *r);
typedef void (*bench_fs_fn)(uint64_t n, unsigned int in_flight,
                            struct bench_result *r);

struct workload {
  const char *name;       /* Row label. */
  const char *unit;       /* What one operation is. */
  uint64_t n;             /* Operations per round at scale 1. */
  size_t offset;          /* Which member of struct bench_side runs it. */
  unsigned int in_flight; /* File system requests in flight; 0: the member
                             is a bench_fn, not a bench_fs_fn. */
  int churn;              /* 1 + the bench_churn_kind of a churn workload,
                             whose member is fs_churn; 0: another. */
};

static const struct workload workloads[] = {
    {"loop iterations", "iteration", 1000000,
     offsetof(struct bench_side, loop_iterations), 0, 0},
    {"loop iterations, 1 fd", "iteration", 1000000,
     offsetof(struct bench_side, loop_iterations_io), 0, 0},
    {"timers started+fired", "timer", 1000000,
     offsetof(struct bench_side, timers), 0, 0},
    {"async ping-pong", "round trip", 20000,
     offsetof(struct bench_side, async_ping_pong), 0, 0},
    {"pool: empty jobs", "job", 200000,
     offsetof(struct bench_side, pool_empty_work), 0, 0},
    {"fs stat, 1 in flight", "stat", 5000, offsetof(struct bench_side, fs_stat),
     1, 0},
    {"fs stat, 4 in flight", "stat", 20000,
     offsetof(struct bench_side, fs_stat), 4, 0},
    {"fs stat, 32 in flight", "stat", 100000,
     offsetof(struct bench_side, fs_stat), 32, 0},
    {"fs read 64K, 1 in flight", "read", 5000,
     offsetof(struct bench_side, fs_read), 1, 0},
    {"fs read 64K, 4 in flight", "read", 20000,
     offsetof(struct bench_side, fs_read), 4, 0},
    {"fs sendfile 64K, 4 in flight", "sendfile", 20000,
     offsetof(struct bench_side, fs_sendfile), 4, 0},
    {"fs mkdir+rmdir, 32 in flight", "mkdir or rmdir", 5000,
     offsetof(struct bench_side, fs_churn), 32, 1 + BENCH_CHURN_MKDIR},
    {"fs rename, 32 in flight", "rename", 20000,
     offsetof(struct bench_side, fs_churn), 32, 1 + BENCH_CHURN_RENAME},
    {"fs link+unlink, 32 in flight", "link or unlink", 20000,
     offsetof(struct bench_side, fs_churn), 32, 1 + BENCH_CHURN_LINK},
    {"fs symlink+unlink, 32 in flight", "symlink or unlink", 20000,
     offsetof(struct bench_side, fs_churn), 32, 1 + BENCH_CHURN_SYMLINK},
    {"fs ftruncate, 32 in flight", "ftruncate", 20000,
     offsetof(struct bench_side, fs_churn), 32, 1 + BENCH_CHURN_TRUNCATE},
    {"messages, one by one", "round trip", 20000,
     offsetof(struct bench_side, msg_one_by_one), 0, 0},
    {"messages, bursts of 100", "round trip", 1000000,
     offsetof(struct bench_side, msg_bursts), 0, 0},
    {"spawn /bin/true, 1 alive", "child", 200,
     offsetof(struct bench_side, spawn_one), 0, 0},
    {"spawn /bin/true, 8 alive", "child", 400,
     offsetof(struct bench_side, spawn_many), 0, 0},
    {"IPC: handles passed", "handle", 20000,
     offsetof(struct bench_side, ipc_handles), 0, 0},
};
enum { WORKLOADS = sizeof(workloads) / sizeof(workloads[0]) };

/* Operations per CPU-second and per wall second of one round. */
struct rates {
  double cpu;  /* Per second of process CPU time (every thread). */
  double wall; /* Per second of wall-clock time. */
};

/* Run workload w once on one side, with n operations, at most limit_s
 * seconds. Sets *error on a failed run. */
static struct rates run_rates(const struct bench_side *side,
                              const struct workload *w, uint64_t n,
                              unsigned int limit_s, int *error) {
  struct bench_result r = {0};
  struct rates rates = {0, 0};
  const void *member = (const char *)side + w->offset;
  if (w->in_flight > 0 && bench_files_make() != 0) {
    *error = 1;
    return rates;
  }
  alarm(limit_s);
  if (w->churn > 0)
    side->fs_churn((enum bench_churn_kind)(w->churn - 1), n, w->in_flight, &r);
  else if (w->in_flight > 0)
    (*(const bench_fs_fn *)member)(n, w->in_flight, &r);
  else
    (*(const bench_fn *)member)(n, &r);
  alarm(0);
  if (r.error != 0 || r.ops != n || r.cpu_s <= 0 || r.wall_s <= 0) {
    *error = 1;
    return rates;
  }
  rates.cpu = (double)r.ops / r.cpu_s;
  rates.wall = (double)r.ops / r.wall_s;
  return rates;
}

/* The pool sizes the two sides will use, with a warning when they differ:
 * libuv reads UV_THREADPOOL_SIZE (default 4, clamped to 1..1024), axle
 * AX_THREADPOOL_SIZE. */
static void print_pool_sizes(void) {
  const char *uv_env = getenv("UV_THREADPOOL_SIZE");
  long uv_size = uv_env != NULL ? atol(uv_env) : 4;
  uv_size = uv_size < 1 ? 1 : uv_size > 1024 ? 1024 : uv_size;
  unsigned int ax_size = ax_threadpool_get_size();
  printf("thread pool: axle %u workers (+1 reserve for fs), libuv %ld\n",
         ax_size, uv_size);
  if ((long)ax_size != uv_size)
    fprintf(stderr, "bench: warning: the pools differ in size; set "
                    "AX_THREADPOOL_SIZE and UV_THREADPOOL_SIZE alike\n");
}

/* The table: the chosen workloads on both sides, best of ROUNDS each. */
static int run_table(uint64_t scale, const int chosen[WORKLOADS]) {
  enum { ROUNDS = 5, LIMIT_S_PER_SCALE = 30 };
  const struct bench_side *sides[2] = {&bench_axle, &bench_uv};
  print_pool_sizes();
  printf("%-32s %11s %11s %6s %11s %11s %6s\n", "workload", "axle/CPU-s",
         "libuv/CPU-s", "ratio", "axle/s", "libuv/s", "ratio");
  int failed = 0;
  for (size_t w = 0; w < WORKLOADS; w++) {
    if (!chosen[w])
      continue;
    uint64_t n = workloads[w].n * scale;
    struct rates best[2] = {{0, 0}, {0, 0}};
    for (int round = 0; round < ROUNDS; round++) {
      for (int s = 0; s < 2; s++) {
        int error = 0;
        struct rates rates = run_rates(
            sides[s], &workloads[w], n,
            (unsigned int)(LIMIT_S_PER_SCALE * scale), &error);
        failed |= error;
        if (rates.cpu > best[s].cpu)
          best[s].cpu = rates.cpu;
        if (rates.wall > best[s].wall)
          best[s].wall = rates.wall;
      }
    }
    printf("%-32s %11.0f %11.0f %5.2fx %11.0f %11.0f %5.2fx\n",
           workloads[w].name, best[0].cpu, best[1].cpu,
           best[1].cpu > 0 ? best[0].cpu / best[1].cpu : 0.0, best[0].wall,
           best[1].wall, best[1].wall > 0 ? best[0].wall / best[1].wall : 0.0);
    fflush(stdout);
  }
  if (failed)
    fprintf(stderr, "bench: a run failed or completed too few operations\n");
  return failed;
}

/* One workload on one side, once: for counting instructions with
 * callgrind, where the two sides must run in separate processes. Prints
 * the side, the workload, the count, and operations per CPU-second and per
 * wall second. */
static int run_one(const char *side_name, const char *index, uint64_t n) {
  enum { LIMIT_S = 600 }; /* Valgrind runs programs many times slower. */
  const struct bench_side *side = NULL;
  if (strcmp(side_name, bench_axle.name) == 0)
    side = &bench_axle;
  else if (strcmp(side_name, bench_uv.name) == 0)
    side = &bench_uv;
  long w = atol(index);
  if (side == NULL || w < 0 || w >= WORKLOADS || n == 0)
    return 2;
  int error = 0;
  struct rates rates = run_rates(side, &workloads[w], n, LIMIT_S, &error);
  printf("%s\t%s\t%llu\t%.0f\t%.0f\n", side->name, workloads[w].name,
         (unsigned long long)n, rates.cpu, rates.wall);
  return error;
}

int main(int argc, char **argv) {
  bench_signals_init();
  if (argc == 5 && strcmp(argv[1], "--one") == 0)
    return run_one(argv[2], argv[3], strtoull(argv[4], NULL, 10));
  if (argc == 2 && strcmp(argv[1], "--list") == 0) {
    for (size_t w = 0; w < WORKLOADS; w++)
      printf("%zu\t%s\t%llu\n", w, workloads[w].name,
             (unsigned long long)workloads[w].n);
    return 0;
  }
  long scale = argc > 1 ? atol(argv[1]) : 1;
  int chosen[WORKLOADS];
  int bad_index = 0;
  for (int w = 0; w < WORKLOADS; w++)
    chosen[w] = argc <= 2;
  for (int i = 2; i < argc; i++) {
    long w = atol(argv[i]);
    if (w < 0 || w >= WORKLOADS)
      bad_index = 1;
    else
      chosen[w] = 1;
  }
  if (bad_index || scale < 1 || scale > 100) {
    fprintf(stderr,
            "usage: %s [scale 1..100 [WORKLOAD-INDEX...]]\n"
            "       %s --list\n"
            "       %s --one axle|libuv WORKLOAD-INDEX COUNT\n",
            argv[0], argv[0], argv[0]);
    return 2;
  }
  return run_table((uint64_t)scale, chosen);
}
