/*
 * unix/os-link-dl.c: the link layer's entries of getifaddrs() on macOS
 * and the BSDs, of family AF_LINK, whose struct sockaddr_dl holds the
 * interface's hardware address after its name (LLADDR()).
 */
#include <ifaddrs.h>
#include <net/if_dl.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

bool ax__os_ifaddr_link(const struct ifaddrs *ent,
                        char phys_addr[AX_PHYS_ADDR_LEN]) {
  if (ent->ifa_addr == NULL || ent->ifa_addr->sa_family != AF_LINK)
    return false;
  const struct sockaddr_dl *dl = (const struct sockaddr_dl *)ent->ifa_addr;
  size_t len = dl->sdl_alen < AX_PHYS_ADDR_LEN ? dl->sdl_alen
                                               : AX_PHYS_ADDR_LEN;
  memcpy(phys_addr, LLADDR(dl), len);
  return true;
}
