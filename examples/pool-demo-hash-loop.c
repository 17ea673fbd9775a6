/*
 * pool-demo-hash-loop.c: the demo's hash where OpenSSL is missing. Not a
 * password hash anyone should use: a loop of our own that keeps one core
 * busy for as long as PBKDF2 would, and whose result depends on every step
 * so that the compiler cannot skip any. The password is spread over a
 * buffer with FNV-1a, then every word of the buffer is stirred with
 * xorshift and its neighbour, round after round.
 */
#include <stdint.h>

#include "pool-demo.h"

enum {
  HASH_WORDS = 512,     /* 4 KiB of state: it stays in the L1 cache. */
  HASH_ROUNDS = 150000, /* About 77 million steps: the time it takes. */
};

const char *pool_demo_hash_name(void) {
  return "xorshift over 4 KiB, 150000 rounds (a CPU loop; no OpenSSL)";
}

/* FNV-1a of the password, as the seed. */
static uint64_t hash_seed(const char *password) {
  uint64_t h = 0xcbf29ce484222325u;
  for (const char *p = password; *p != '\0'; p++) {
    h ^= (unsigned char)*p;
    h *= 0x100000001b3u;
  }
  return h;
}

static uint64_t hash_xorshift(uint64_t x) {
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

int pool_demo_hash(const char *password,
                   unsigned char digest[POOL_DEMO_DIGEST_BYTES]) {
  uint64_t state[HASH_WORDS];
  uint64_t x = hash_seed(password) | 1; /* xorshift must not start at 0. */
  for (int i = 0; i < HASH_WORDS; i++)
    state[i] = x = hash_xorshift(x);
  for (long round = 0; round < HASH_ROUNDS; round++) {
    for (int i = 0; i < HASH_WORDS; i++) {
      x = hash_xorshift(x ^ state[(i + 1) % HASH_WORDS]);
      state[i] += x;
    }
  }
  for (int i = 0; i < POOL_DEMO_DIGEST_BYTES; i++)
    digest[i] = (unsigned char)(state[i] ^ state[HASH_WORDS - 1 - i]);
  return 0;
}
