/*
 * bench/bench.h: the interface each side of a side-by-side benchmark fills.
 *
 * The same workloads are written twice, once on axle (core_axle.c) and once
 * on libuv (core_uv.c), as alike as the two APIs allow, and the file system
 * workloads likewise (fs_axle.c, fs_uv.c); bench/run.c runs both in one
 * process and prints each figure with the ratio between them.
 */
#ifndef AX_BENCH_H
#define AX_BENCH_H

#include <stdint.h>

enum {
  /* The most file system requests a workload keeps in flight. */
  BENCH_MAX_IN_FLIGHT = 32,
  /* The size of one read of the read workload. */
  BENCH_READ_BYTES = 64 * 1024,
  /* The size of the file it reads: 256 chunks, read in turn. */
  BENCH_READ_FILE_BYTES = 16 * 1024 * 1024,
  /* Children alive at a time in the spawn_many workload. */
  BENCH_SPAWN_MANY = 8,
  /* Writes with a handle in flight in the IPC workload. */
  BENCH_IPC_WINDOW = 64,
  /* The size the ftruncate workload grows its files to. */
  BENCH_TRUNCATE_BYTES = 4096,
};

/* What a churn workload works on: slot k (of the requests in flight) owns
 * the names paths[k][0] and paths[k][1] in the workloads' directory, and
 * for ftruncate the file paths[k][0], open for writing as fds[k]. */
struct bench_churn {
  char paths[BENCH_MAX_IN_FLIGHT][2][128]; /* a<k> and b<k>. */
  int fds[BENCH_MAX_IN_FLIGHT];            /* ftruncate: a<k>; else -1. */
};

/* The trivial child of the spawn workloads: it exits at once, with 0. */
#define BENCH_SPAWN_FILE "/bin/true"

/* The churn workloads, by what they do (struct bench_side's fs_churn). */
enum bench_churn_kind {
  BENCH_CHURN_MKDIR,   /* mkdir, rmdir. */
  BENCH_CHURN_RENAME,  /* rename a to b, b to a. */
  BENCH_CHURN_LINK,    /* link, unlink. */
  BENCH_CHURN_SYMLINK, /* symlink, unlink. */
  BENCH_CHURN_TRUNCATE /* ftruncate up, ftruncate to 0. */
};

struct bench_result {
  uint64_t ops;  /* Operations completed. */
  double cpu_s;  /* Process CPU time they took (user + system). */
  double wall_s; /* Wall-clock time they took. */
  int error;     /* Nonzero if the run failed. */
};

struct bench_side {
  const char *name; /* "axle" or "libuv". */
  /* Run n loop iterations with one idle handle and nothing else. */
  void (*loop_iterations)(uint64_t n, struct bench_result *r);
  /* The same with an async handle open too: every iteration then polls a
   * descriptor, as any loop doing I/O does. */
  void (*loop_iterations_io)(uint64_t n, struct bench_result *r);
  /* Start n timers with timeouts spread over 0..9 ms, run until all fired. */
  void (*timers)(uint64_t n, struct bench_result *r);
  /* n async round trips between two loops on two threads. */
  void (*async_ping_pong)(uint64_t n, struct bench_result *r);
  /* n empty jobs through the thread pool, queued in batches of 1000, each
   * batch waited for; the pool at its default size. */
  void (*pool_empty_work)(uint64_t n, struct bench_result *r);
  /* n stats of bench_files.stat_path, in_flight at a time: each completion
   * starts the next request until n have been started. */
  void (*fs_stat)(uint64_t n, unsigned int in_flight, struct bench_result *r);
  /* n reads of BENCH_READ_BYTES of bench_files.read_path at the offsets
   * bench_read_offset() gives, in_flight at a time, as fs_stat. The file
   * is opened before the clocks start and closed after they stop. */
  void (*fs_read)(uint64_t n, unsigned int in_flight, struct bench_result *r);
  /* The same reads as fs_read, each a sendfile to /dev/null, opened with
   * the file. */
  void (*fs_sendfile)(uint64_t n, unsigned int in_flight,
                      struct bench_result *r);
  /* The churn workloads (enum bench_churn_kind): n operations on names,
   * or on a file's size, in_flight at a time, each slot of in_flight
   * alternating between an operation and its undoing on names of its own
   * (bench_churn_setup()), so that every request succeeds. */
  void (*fs_churn)(enum bench_churn_kind kind, uint64_t n,
                   unsigned int in_flight, struct bench_result *r);
  /* n round trips of one message between two loops on two threads, each
   * loop's callback posting it back (msg_axle.c, msg_uv.c). */
  void (*msg_one_by_one)(uint64_t n, struct bench_result *r);
  /* The same with 100 messages in flight: the counting loop posts a burst
   * of 100 and posts it again once all 100 are back. */
  void (*msg_bursts)(uint64_t n, struct bench_result *r);
  /* n children of BENCH_SPAWN_FILE spawned and reaped, one alive at a
   * time: each exit callback spawns the next (spawn_axle.c, spawn_uv.c). */
  void (*spawn_one)(uint64_t n, struct bench_result *r);
  /* The same with BENCH_SPAWN_MANY children alive at a time. */
  void (*spawn_many)(uint64_t n, struct bench_result *r);
  /* n handles passed over an IPC pipe between two loops on two threads:
   * a TCP listener sent with one byte per write, BENCH_IPC_WINDOW writes
   * in flight; each one received accepted into a TCP handle and closed
   * (ipc_axle.c, ipc_uv.c). */
  void (*ipc_handles)(uint64_t n, struct bench_result *r);
};

/* The files of the file system workloads, in a temporary directory that
 * bench/run.c makes before the first of them runs and removes at exit. */
struct bench_files {
  const char *dir;       /* Their directory. */
  const char *stat_path; /* A small file. */
  const char *read_path; /* BENCH_READ_FILE_BYTES of data. */
};

extern struct bench_files bench_files;

extern const struct bench_side bench_axle;
extern const struct bench_side bench_uv;

/* The file system workloads of each side (fs_axle.c, fs_uv.c). */
void bench_axle_fs_stat(uint64_t n, unsigned int in_flight,
                        struct bench_result *r);
void bench_axle_fs_read(uint64_t n, unsigned int in_flight,
                        struct bench_result *r);
void bench_axle_fs_sendfile(uint64_t n, unsigned int in_flight,
                            struct bench_result *r);
void bench_uv_fs_sendfile(uint64_t n, unsigned int in_flight,
                          struct bench_result *r);
void bench_uv_fs_stat(uint64_t n, unsigned int in_flight,
                      struct bench_result *r);
void bench_uv_fs_read(uint64_t n, unsigned int in_flight,
                      struct bench_result *r);

/* The churn workloads of each side (fs_axle.c, fs_uv.c). */
void bench_axle_fs_churn(enum bench_churn_kind kind, uint64_t n,
                         unsigned int in_flight, struct bench_result *r);
void bench_uv_fs_churn(enum bench_churn_kind kind, uint64_t n,
                       unsigned int in_flight, struct bench_result *r);

/* Name the slots' paths for kind and make what the first operation of
 * each needs (rename: the file a<k>; ftruncate: a<k>, open): 0, or -1
 * with everything made removed again (run.c). */
int bench_churn_setup(struct bench_churn *c, enum bench_churn_kind kind,
                      unsigned int in_flight);
/* Close the files and remove every name a run may have left. */
void bench_churn_teardown(struct bench_churn *c, unsigned int in_flight);

/* The message workloads of each side: axle's message queue, and libuv's
 * async handle with a mutex-guarded list (the usual hand-built one). */
void bench_axle_msg_one_by_one(uint64_t n, struct bench_result *r);
void bench_axle_msg_bursts(uint64_t n, struct bench_result *r);
void bench_uv_msg_one_by_one(uint64_t n, struct bench_result *r);
void bench_uv_msg_bursts(uint64_t n, struct bench_result *r);

/* The spawn workloads of each side (spawn_axle.c, spawn_uv.c). */
void bench_axle_spawn_one(uint64_t n, struct bench_result *r);
void bench_axle_spawn_many(uint64_t n, struct bench_result *r);
void bench_uv_spawn_one(uint64_t n, struct bench_result *r);
void bench_uv_spawn_many(uint64_t n, struct bench_result *r);
/* The IPC workload of each side. */
void bench_axle_ipc_handles(uint64_t n, struct bench_result *r);
void bench_uv_ipc_handles(uint64_t n, struct bench_result *r);

/* Clocks for the sides: process CPU seconds and wall seconds. */
double bench_cpu_now(void);
double bench_wall_now(void);

/* The timeout of timer i of n, the same sequence on both sides. */
static inline uint64_t bench_timer_timeout_ms(uint64_t i) {
  return (i * 2654435761u >> 7) % 10u;
}

/* The offset of read i: the file's chunks in turn, from the start. */
static inline int64_t bench_read_offset(uint64_t i) {
  uint64_t chunks = BENCH_READ_FILE_BYTES / BENCH_READ_BYTES;
  return (int64_t)(i % chunks * BENCH_READ_BYTES);
}

#endif /* AX_BENCH_H */
