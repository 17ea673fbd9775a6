/*
 * unix/dns.c: the POSIX resolver behind the DNS requests (src/dns.c).
 *
 * getaddrinfo(3) and getnameinfo(3) are thread-safe and block, which is
 * why src/dns.c runs them on the pool. They report errors as EAI_* codes
 * of their own, translated here onto axle's AX_EAI_* codes; EAI_SYSTEM
 * means "see errno", which is translated as any system error.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "internal.h"

#include "../dns-sys.h"

/* Translate a resolver error. errno is read first, before anything else
 * can change it. */
static int dns_error(int eai) {
  int sys_error = errno;
  if (eai == EAI_SYSTEM)
    return sys_error != 0 ? ax_translate_sys_error(sys_error) : AX_EAI_UNKNOWN;
  if (eai == EAI_OVERFLOW) /* POSIX's own: Winsock has no such code. */
    return AX_EAI_OVERFLOW;
  int code = ax__dns_eai_common(eai);
  if (code == 0)
    code = ax__dns_eai_rfc2553(eai);
  return code != 0 ? code : AX_EAI_UNKNOWN;
}

void ax__dns_hints_read(struct ax__dns_hints *out,
                        const struct addrinfo *hints) {
  ax__dns_hints_from_sys(out, hints);
}

int ax__dns_getaddrinfo(const char *node, const char *service,
                        const struct ax__dns_hints *hints,
                        struct addrinfo **res) {
  errno = 0; /* EAI_SYSTEM with errno still 0 is an unknown error. */
  int eai = ax__dns_sys_getaddrinfo(node, service, hints, res);
  return eai == 0 ? 0 : dns_error(eai);
}

void ax_freeaddrinfo(struct addrinfo *addrinfo) {
  if (addrinfo != NULL)
    freeaddrinfo(addrinfo);
}

int ax__dns_sockaddr_copy(union ax__sockaddr_buf *out,
                          const struct sockaddr *addr) {
  return ax__dns_sockaddr_store(out, addr);
}

int ax__dns_getnameinfo(const union ax__sockaddr_buf *addr, int flags,
                        char *host, size_t host_len, char *service,
                        size_t service_len) {
  errno = 0;
  int eai = ax__dns_sys_getnameinfo(addr, flags, host, host_len, service,
                                    service_len);
  return eai == 0 ? 0 : dns_error(eai);
}
