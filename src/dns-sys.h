/*
 * dns-sys.h: what the two platform resolvers (src/unix/dns.c and
 * src/win/dns.c) share.
 *
 * POSIX and Winsock give struct addrinfo and the socket address structs the
 * same field names, so the code that reads and fills them is written once,
 * here, as inline functions. This header includes no system header: each
 * includer has included its own socket headers first (<netdb.h>,
 * <ws2tcpip.h>), which define the structs and constants used below.
 */
#ifndef AX_DNS_SYS_H
#define AX_DNS_SYS_H

#include <string.h>

#include "internal.h"

/* ax__sockaddr_buf stands in for struct sockaddr_storage in the public
 * header, which may not include socket headers. */
_Static_assert(sizeof(struct sockaddr_storage) <=
                   sizeof(union ax__sockaddr_buf),
               "axle: ax__sockaddr_buf is smaller than sockaddr_storage");
_Static_assert(_Alignof(struct sockaddr_storage) <=
                   _Alignof(union ax__sockaddr_buf),
               "axle: ax__sockaddr_buf is less aligned than sockaddr_storage");

/* The axle code of a resolver error both POSIX and Winsock define, by
 * the same name and with different values; 0 for any other code. */
static inline int ax__dns_eai_common(int eai) {
  switch (eai) {
  case EAI_AGAIN:
    return AX_EAI_AGAIN;
  case EAI_BADFLAGS:
    return AX_EAI_BADFLAGS;
  case EAI_FAIL:
    return AX_EAI_FAIL;
  case EAI_FAMILY:
    return AX_EAI_FAMILY;
  case EAI_MEMORY:
    return AX_EAI_MEMORY;
  case EAI_NONAME:
    return AX_EAI_NONAME;
  case EAI_SERVICE:
    return AX_EAI_SERVICE;
  case EAI_SOCKTYPE:
    return AX_EAI_SOCKTYPE;
  default:
    return 0;
  }
}

static inline void ax__dns_hints_from_sys(struct ax__dns_hints *out,
                                          const struct addrinfo *hints) {
  out->flags = hints->ai_flags;
  out->family = hints->ai_family;
  out->socktype = hints->ai_socktype;
  out->protocol = hints->ai_protocol;
}

/* The resolver wants every other field of the hints zero or NULL. */
static inline void ax__dns_hints_to_sys(struct addrinfo *out,
                                        const struct ax__dns_hints *hints) {
  memset(out, 0, sizeof(*out));
  out->ai_flags = hints->flags;
  out->ai_family = hints->family;
  out->ai_socktype = hints->socktype;
  out->ai_protocol = hints->protocol;
}

/* The size of an address of family, for the families getnameinfo() takes
 * here; 0 for any other. A struct sockaddr carries no length on every
 * system (Linux and Windows have no sa_len), so the family decides. */
static inline size_t ax__dns_sockaddr_len(int family) {
  if (family == AF_INET)
    return sizeof(struct sockaddr_in);
  if (family == AF_INET6)
    return sizeof(struct sockaddr_in6);
  return 0;
}

static inline int ax__dns_sockaddr_store(union ax__sockaddr_buf *out,
                                         const struct sockaddr *addr) {
  size_t len = ax__dns_sockaddr_len(addr->sa_family);
  if (len == 0)
    return AX_EAI_FAMILY;
  memset(out, 0, sizeof(*out));
  memcpy(out->bytes, addr, len);
  return 0;
}

/* Call getaddrinfo() with the hints put back into the system's struct,
 * and return what it returned, for the platform to translate. *res is NULL
 * unless the lookup succeeded. */
static inline int ax__dns_sys_getaddrinfo(const char *node, const char *service,
                                          const struct ax__dns_hints *hints,
                                          struct addrinfo **res) {
  struct addrinfo sys_hints;
  if (hints != NULL)
    ax__dns_hints_to_sys(&sys_hints, hints);
  *res = NULL;
  return getaddrinfo(node, service, hints != NULL ? &sys_hints : NULL, res);
}

/* Call getnameinfo() on an address stored by ax__dns_sockaddr_store(), and
 * return what it returned; host and service are left empty on failure. */
static inline int ax__dns_sys_getnameinfo(const union ax__sockaddr_buf *addr,
                                          int flags, char *host,
                                          size_t host_len, char *service,
                                          size_t service_len) {
  const struct sockaddr *sa = (const void *)addr->bytes;
  socklen_t sa_len = (socklen_t)ax__dns_sockaddr_len(sa->sa_family);
  int ret = getnameinfo(sa, sa_len, host, (socklen_t)host_len, service,
                        (socklen_t)service_len, flags);
  if (ret != 0) {
    host[0] = '\0';
    service[0] = '\0';
  }
  return ret;
}

#endif /* AX_DNS_SYS_H */
