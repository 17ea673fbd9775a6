/*
 * win/dns.c: the Winsock resolver behind the DNS requests (src/dns.c).
 *
 * Winsock's getaddrinfo() and getnameinfo() take the arguments POSIX's do,
 * but work only after WSAStartup(), which the first lookup calls, once for
 * the process. Their errors are Winsock codes, which <ws2tcpip.h> also
 * names EAI_* (EAI_NONAME is WSAHOST_NOT_FOUND): getaddrinfo() returns
 * one, getnameinfo() returns nonzero and leaves one for WSAGetLastError().
 * Both are translated onto AX_EAI_*, and a Winsock code that is not a
 * resolver error (WSAENOBUFS, say) as any system error.
 */
#include "internal.h"

#include <ws2tcpip.h>

#include "../dns-sys.h"

static ax_once_t dns_startup_once = AX_ONCE_INIT;
/* WSAStartup()'s error, translated, or 0. Written once under the once. */
static int dns_startup_error;

static void dns_startup_run(void) {
  WSADATA data;
  /* 2.2 is the version every Windows since 98 has; WSACleanup() is never
   * called, as the process may use Winsock until it exits. */
  int err = WSAStartup(MAKEWORD(2, 2), &data);
  dns_startup_error = err == 0 ? 0 : ax_translate_sys_error(err);
}

static int dns_startup(void) {
  ax_once(&dns_startup_once, dns_startup_run);
  return dns_startup_error;
}

static int dns_error(int wsa_error) {
  /* RFC 3493 folds "no address for the name" into EAI_NONAME; so does
   * src/unix/dns-eai-rfc2553.c for the POSIX systems that return it. */
  if (wsa_error == EAI_NODATA)
    return AX_EAI_NONAME;
  int code = ax__dns_eai_common(wsa_error);
  return code != 0 ? code : ax_translate_sys_error(wsa_error);
}

int ax__dns_getaddrinfo(const char *node, const char *service,
                        const struct ax__dns_hints *hints,
                        struct addrinfo **res) {
  *res = NULL;
  int err = dns_startup();
  if (err != 0)
    return err;
  int wsa_error = ax__dns_sys_getaddrinfo(node, service, hints, res);
  return wsa_error == 0 ? 0 : dns_error(wsa_error);
}

void ax__dns_hints_read(struct ax__dns_hints *out,
                        const struct addrinfo *hints) {
  ax__dns_hints_from_sys(out, hints);
}

int ax__dns_getnameinfo(const union ax__sockaddr_buf *addr, int flags,
                        char *host, size_t host_len, char *service,
                        size_t service_len) {
  host[0] = '\0';
  service[0] = '\0';
  int err = dns_startup();
  if (err != 0)
    return err;
  int ret = ax__dns_sys_getnameinfo(addr, flags, host, host_len, service,
                                    service_len);
  if (ret == 0)
    return 0;
  /* Wine returns the code as well; Windows promises only the last error. */
  int wsa_error = WSAGetLastError();
  return dns_error(wsa_error != 0 ? wsa_error : ret);
}

int ax__dns_sockaddr_copy(union ax__sockaddr_buf *out,
                          const struct sockaddr *addr) {
  return ax__dns_sockaddr_store(out, addr);
}

void ax_freeaddrinfo(struct addrinfo *addrinfo) {
  if (addrinfo != NULL)
    freeaddrinfo(addrinfo);
}
