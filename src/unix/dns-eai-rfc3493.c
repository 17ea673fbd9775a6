/*
 * unix/dns-eai-rfc3493.c: for systems whose <netdb.h> has only the
 * resolver errors of RFC 3493 (FreeBSD, DragonFly): none of the two older
 * codes dns-eai-rfc2553.c translates can occur.
 */
#include "internal.h"

int ax__dns_eai_rfc2553(int eai) {
  (void)eai;
  return 0;
}
