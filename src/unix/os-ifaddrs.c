/*
 * unix/os-ifaddrs.c: ax_interface_addresses() from getifaddrs(), which
 * Linux, macOS and the BSDs all have. Its list holds an entry per address
 * of each interface; the IPv4 and IPv6 ones of interfaces that are up and
 * running are reported (as libuv does). The MAC address is in another
 * entry of the same interface, of the link layer's family, which each
 * kernel names its own way: ax__os_ifaddr_link() reads it.
 */
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

_Static_assert(sizeof(struct sockaddr_in6) <= sizeof(ax_interface_sockaddr_t),
               "axle: ax_interface_sockaddr_t cannot hold a sockaddr_in6");
_Static_assert(sizeof(struct sockaddr_in) <= sizeof(ax_interface_sockaddr_t),
               "axle: ax_interface_sockaddr_t cannot hold a sockaddr_in");

/* Whether ent is reported: an IPv4 or IPv6 address of an interface that
 * is up and running. */
static bool os_ifaddr_wanted(const struct ifaddrs *ent) {
  unsigned int up = IFF_UP | IFF_RUNNING;
  if ((ent->ifa_flags & up) != up || ent->ifa_addr == NULL)
    return false;
  return ent->ifa_addr->sa_family == AF_INET ||
         ent->ifa_addr->sa_family == AF_INET6;
}

/* Copy sa, read as an address of family, into out. The family is set
 * from the address: a netmask's own may be 0 (the BSDs). */
static void os_ifaddr_copy(ax_interface_sockaddr_t *out,
                           const struct sockaddr *sa, sa_family_t family) {
  struct sockaddr_in6 room;
  memset(&room, 0, sizeof(room));
  size_t len = family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                  : sizeof(struct sockaddr_in);
  if (sa != NULL)
    memcpy(&room, sa, len);
  room.sin6_family = family; /* At the same offset in sockaddr_in. */
  memset(out, 0, sizeof(*out));
  memcpy(out->bytes, &room, len);
}

/* The MAC address of the interface called name, from its link-layer
 * entry in list; zeros if it has none. */
static void os_ifaddr_phys(const struct ifaddrs *list, const char *name,
                           char phys_addr[AX_PHYS_ADDR_LEN]) {
  memset(phys_addr, 0, AX_PHYS_ADDR_LEN);
  for (const struct ifaddrs *ent = list; ent != NULL; ent = ent->ifa_next) {
    if (strcmp(ent->ifa_name, name) == 0 && ax__os_ifaddr_link(ent, phys_addr))
      return;
  }
}

/* Fill out (count entries, from calloc) from list: 0 or AX_ENOMEM, with
 * the names copied so far freed. */
static int os_ifaddr_fill(const struct ifaddrs *list,
                          ax_interface_address_t *out, int count) {
  int i = 0;
  for (const struct ifaddrs *ent = list; ent != NULL && i < count;
       ent = ent->ifa_next) {
    if (!os_ifaddr_wanted(ent))
      continue;
    ax_interface_address_t *addr = &out[i];
    addr->name = ax__os_strdup(ent->ifa_name);
    if (addr->name == NULL) {
      for (int j = 0; j < i; j++)
        ax__free(out[j].name);
      return AX_ENOMEM;
    }
    sa_family_t family = ent->ifa_addr->sa_family;
    os_ifaddr_copy(&addr->address, ent->ifa_addr, family);
    os_ifaddr_copy(&addr->netmask, ent->ifa_netmask, family);
    addr->is_internal = (ent->ifa_flags & IFF_LOOPBACK) != 0;
    os_ifaddr_phys(list, ent->ifa_name, addr->phys_addr);
    i++;
  }
  return 0;
}

int ax_interface_addresses(ax_interface_address_t **addresses, int *count) {
  if (addresses == NULL || count == NULL)
    return AX_EINVAL;
  *addresses = NULL;
  *count = 0;
  struct ifaddrs *list = NULL;
  if (getifaddrs(&list) != 0)
    return ax_translate_sys_error(errno);
  int n = 0;
  for (const struct ifaddrs *ent = list; ent != NULL; ent = ent->ifa_next)
    n += os_ifaddr_wanted(ent) ? 1 : 0;
  ax_interface_address_t *out = ax__calloc(n == 0 ? 1 : (size_t)n,
                                           sizeof(*out));
  int err = out == NULL ? AX_ENOMEM : os_ifaddr_fill(list, out, n);
  freeifaddrs(list);
  if (err != 0) {
    ax__free(out);
    return err;
  }
  *addresses = out;
  *count = n;
  return 0;
}
