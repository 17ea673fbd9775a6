/*
 * pool-demo-hash-openssl.c: the demo's hash, PBKDF2 with HMAC-SHA-512 from
 * OpenSSL's libcrypto, as in the Node.js examples. They derive 512 bytes
 * with 100000 iterations; one 32-byte block with 200000 iterations takes a
 * quarter of that time, about 150 ms. Built where meson finds OpenSSL
 * (Debian: libssl-dev).
 */
#include <string.h>

#include <openssl/evp.h>

#include "pool-demo.h"

/* The work factor: each iteration is one HMAC-SHA-512. */
enum { HASH_ITERATIONS = 200000 };

const char *pool_demo_hash_name(void) {
  return "PBKDF2-HMAC-SHA512, 200000 iterations (OpenSSL)";
}

int pool_demo_hash(const char *password,
                   unsigned char digest[POOL_DEMO_DIGEST_BYTES]) {
  static const unsigned char salt[] = "axle pool demo";
  int ok = PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt,
                             (int)sizeof(salt) - 1, HASH_ITERATIONS,
                             EVP_sha512(), POOL_DEMO_DIGEST_BYTES, digest);
  return ok == 1 ? 0 : -1;
}
