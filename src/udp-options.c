/*
 * udp-options.c: the socket options of UDP handles, the same on every
 * system: broadcast, TTLs, multicast interface, loop and membership,
 * source-specific membership. Each picks the IPv4 or the IPv6 option by
 * the socket's family and sets it through the system's half
 * (ax__udp_option_family(), ax__udp_setsockopt(), src/unix/udp.c and
 * src/win/udp.c). Addresses are parsed with ax_ip4_addr() and
 * ax_ip6_addr(), so an IPv6 interface is named by a scope ("::%eth0",
 * "fe80::1%2") and comes out as its index.
 */
#include <string.h>

#include "stream.h"
#include "udp.h"

/* Set an int option. */
static int udp_set_int(ax_udp_t *udp, int level, int name, int value) {
  return ax__udp_setsockopt(udp, level, name, &value, (int)sizeof(value));
}

/* Set the IPv4 or the IPv6 option of an int, by the socket's family. */
static int udp_set_by_family(ax_udp_t *udp, int name4, int name6, int value) {
  int family;
  int err = ax__udp_option_family(udp, &family);
  if (err != 0)
    return err;
  if (family == AF_INET6)
    return udp_set_int(udp, IPPROTO_IPV6, name6, value);
  return udp_set_int(udp, IPPROTO_IP, name4, value);
}

int ax_udp_set_broadcast(ax_udp_t *udp, bool enable) {
  int family;
  int err = ax__udp_option_family(udp, &family);
  if (err != 0)
    return err;
  return udp_set_int(udp, SOL_SOCKET, SO_BROADCAST, enable);
}

int ax_udp_set_ttl(ax_udp_t *udp, int ttl) {
  if (ttl < 1 || ttl > 255)
    return AX_EINVAL;
  return udp_set_by_family(udp, IP_TTL, IPV6_UNICAST_HOPS, ttl);
}

int ax_udp_set_multicast_ttl(ax_udp_t *udp, int ttl) {
  if (ttl < 0 || ttl > 255)
    return AX_EINVAL;
  return udp_set_by_family(udp, IP_MULTICAST_TTL, IPV6_MULTICAST_HOPS, ttl);
}

int ax_udp_set_multicast_loop(ax_udp_t *udp, bool enable) {
  return udp_set_by_family(udp, IP_MULTICAST_LOOP, IPV6_MULTICAST_LOOP, enable);
}

/* An IPv4 interface address from text; NULL is any. */
static int udp_ip4_interface(const char *text, struct in_addr *out) {
  memset(out, 0, sizeof(*out)); /* INADDR_ANY */
  if (text == NULL)
    return 0;
  struct sockaddr_in addr;
  int err = ax_ip4_addr(text, 0, &addr);
  if (err == 0)
    *out = addr.sin_addr;
  return err;
}

/* An IPv6 interface index from an address with a scope; NULL is the
 * system's choice (0). */
static int udp_ip6_interface(const char *text, unsigned int *index) {
  *index = 0;
  if (text == NULL)
    return 0;
  struct sockaddr_in6 addr;
  int err = ax_ip6_addr(text, 0, &addr);
  if (err == 0)
    *index = (unsigned int)addr.sin6_scope_id;
  return err;
}

int ax_udp_set_multicast_interface(ax_udp_t *udp, const char *interface_addr) {
  int family;
  int err = ax__udp_option_family(udp, &family);
  if (err != 0)
    return err;
  if (family == AF_INET6) {
    unsigned int index;
    err = udp_ip6_interface(interface_addr, &index);
    if (err == 0)
      err = udp_set_int(udp, IPPROTO_IPV6, IPV6_MULTICAST_IF, (int)index);
    return err;
  }
  struct in_addr in;
  err = udp_ip4_interface(interface_addr, &in);
  if (err == 0)
    err = ax__udp_setsockopt(udp, IPPROTO_IP, IP_MULTICAST_IF, &in,
                             (int)sizeof(in));
  return err;
}

static bool udp_membership_valid(ax_membership membership) {
  return membership == AX_JOIN_GROUP || membership == AX_LEAVE_GROUP;
}

int ax_udp_set_membership(ax_udp_t *udp, const char *multicast_addr,
                          const char *interface_addr,
                          ax_membership membership) {
  if (multicast_addr == NULL || !udp_membership_valid(membership))
    return AX_EINVAL;
  int family;
  int err = ax__udp_option_family(udp, &family);
  if (err != 0)
    return err;
  bool join = membership == AX_JOIN_GROUP;
  if (family == AF_INET6) {
    struct sockaddr_in6 group;
    unsigned int index;
    if (ax_ip6_addr(multicast_addr, 0, &group) != 0 ||
        udp_ip6_interface(interface_addr, &index) != 0)
      return AX_EINVAL;
    struct ipv6_mreq mreq;
    memset(&mreq, 0, sizeof(mreq));
    mreq.ipv6mr_multiaddr = group.sin6_addr;
    mreq.ipv6mr_interface = index;
    return ax__udp_setsockopt(udp, IPPROTO_IPV6,
                              join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &mreq,
                              (int)sizeof(mreq));
  }
  struct sockaddr_in group;
  struct ip_mreq mreq;
  memset(&mreq, 0, sizeof(mreq));
  if (ax_ip4_addr(multicast_addr, 0, &group) != 0 ||
      udp_ip4_interface(interface_addr, &mreq.imr_interface) != 0)
    return AX_EINVAL;
  mreq.imr_multiaddr = group.sin_addr;
  return ax__udp_setsockopt(udp, IPPROTO_IP,
                            join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP,
                            &mreq, (int)sizeof(mreq));
}

/* Source-specific membership of an IPv6 socket, by the protocol-independent
 * option (RFC 3678), which takes an interface index. */
static int udp_source_membership6(ax_udp_t *udp, const char *multicast_addr,
                                  const char *interface_addr,
                                  const char *source_addr, bool join) {
  struct group_source_req req;
  memset(&req, 0, sizeof(req));
  struct sockaddr_in6 *group = (struct sockaddr_in6 *)&req.gsr_group;
  struct sockaddr_in6 *source = (struct sockaddr_in6 *)&req.gsr_source;
  unsigned int index;
  if (ax_ip6_addr(multicast_addr, 0, group) != 0 ||
      ax_ip6_addr(source_addr, 0, source) != 0 ||
      udp_ip6_interface(interface_addr, &index) != 0)
    return AX_EINVAL;
  req.gsr_interface = index;
  return ax__udp_setsockopt(udp, IPPROTO_IPV6,
                            join ? MCAST_JOIN_SOURCE_GROUP
                                 : MCAST_LEAVE_SOURCE_GROUP,
                            &req, (int)sizeof(req));
}

int ax_udp_set_source_membership(ax_udp_t *udp, const char *multicast_addr,
                                 const char *interface_addr,
                                 const char *source_addr,
                                 ax_membership membership) {
  if (multicast_addr == NULL || source_addr == NULL ||
      !udp_membership_valid(membership))
    return AX_EINVAL;
  int family;
  int err = ax__udp_option_family(udp, &family);
  if (err != 0)
    return err;
  bool join = membership == AX_JOIN_GROUP;
  if (family == AF_INET6)
    return udp_source_membership6(udp, multicast_addr, interface_addr,
                                  source_addr, join);
  struct sockaddr_in group, source;
  struct ip_mreq_source mreq;
  memset(&mreq, 0, sizeof(mreq));
  if (ax_ip4_addr(multicast_addr, 0, &group) != 0 ||
      ax_ip4_addr(source_addr, 0, &source) != 0 ||
      udp_ip4_interface(interface_addr, &mreq.imr_interface) != 0)
    return AX_EINVAL;
  mreq.imr_multiaddr = group.sin_addr;
  mreq.imr_sourceaddr = source.sin_addr;
  return ax__udp_setsockopt(udp, IPPROTO_IP,
                            join ? IP_ADD_SOURCE_MEMBERSHIP
                                 : IP_DROP_SOURCE_MEMBERSHIP,
                            &mreq, (int)sizeof(mreq));
}
