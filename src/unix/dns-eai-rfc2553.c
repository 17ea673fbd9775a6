/*
 * unix/dns-eai-rfc2553.c: two resolver errors of RFC 2553, EAI_NODATA
 * ("no address for the name") and EAI_ADDRFAMILY ("no address of the
 * family asked for"). RFC 3493 dropped both, folding them into EAI_NONAME;
 * glibc, macOS, NetBSD and OpenBSD still return them, while FreeBSD no
 * longer defines them. src/unix/meson.build builds this file where
 * <netdb.h> has both, and dns-eai-rfc3493.c elsewhere.
 */
#include <netdb.h>

#include "internal.h"

int ax__dns_eai_rfc2553(int eai) {
  /* As RFC 3493 does: the name does not resolve for the parameters given. */
  return eai == EAI_NODATA || eai == EAI_ADDRFAMILY ? AX_EAI_NONAME : 0;
}
