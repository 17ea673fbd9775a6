/*
 * pool-demo.h: the CPU-heavy job of examples/pool-demo.c, a password hash
 * that is slow on purpose. meson builds one of two files for it:
 * pool-demo-hash-openssl.c (PBKDF2 from OpenSSL's libcrypto) where OpenSSL
 * is installed, pool-demo-hash-loop.c (a CPU loop of our own) elsewhere.
 */
#ifndef POOL_DEMO_H
#define POOL_DEMO_H

/* The size of a digest, in bytes. */
enum { POOL_DEMO_DIGEST_BYTES = 32 };

/* What the hash is, in a few words, for the demo's first line. */
const char *pool_demo_hash_name(void);

/* Hash password into digest: 100 to 300 ms of one core's time on a
 * current machine. Thread-safe. Returns 0, or -1 if the hash failed. */
int pool_demo_hash(const char *password,
                   unsigned char digest[POOL_DEMO_DIGEST_BYTES]);

#endif /* POOL_DEMO_H */
