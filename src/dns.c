/*
 * dns.c: the DNS requests, ax_getaddrinfo() and ax_getnameinfo().
 *
 * The system's resolver blocks (a slow name server holds it for seconds),
 * so an asynchronous lookup is a pooled job on the DNS lane: a general
 * worker runs it while fewer than half the workers run lookups, and its
 * completion comes back to the loop thread (threadpool.c). Without a
 * callback the same lookup runs on the calling thread instead.
 *
 * This file holds what every platform shares: the checks of the arguments,
 * the copies a queued request keeps of them, synchronous mode, cancelling
 * and completing. The resolver calls themselves, and the translation of
 * the resolver's errors, are the platform's (src/unix/dns.c, src/win/dns.c,
 * behind the contract in internal.h), since only they may include the
 * system's socket headers.
 */
#include <string.h>

#include "internal.h"

/* The length of name, or AX_DNS_NAME_MAX + 1 if it is longer: the scan
 * stops there, so a string without a terminator in reach is not read to
 * its end. */
static size_t dns_name_length(const char *name) {
  size_t len = 0;
  while (len <= AX_DNS_NAME_MAX && name[len] != '\0')
    len++;
  return len;
}

/* Copy node and service, either of which may be NULL, into one allocation
 * that the request keeps until it completes. Lengths are checked already. */
static int getaddrinfo_copy_names(ax_getaddrinfo_t *req, const char *node,
                                  const char *service) {
  size_t node_size = node != NULL ? strlen(node) + 1 : 0;
  size_t service_size = service != NULL ? strlen(service) + 1 : 0;
  char *names = ax__malloc(node_size + service_size);
  if (names == NULL)
    return AX_ENOMEM;
  if (node != NULL) {
    memcpy(names, node, node_size);
    req->priv.node = names;
  }
  if (service != NULL) {
    memcpy(names + node_size, service, service_size);
    req->priv.service = names + node_size;
  }
  req->priv.names = names;
  return 0;
}

/* On a worker, or on the caller's thread in synchronous mode. */
static void getaddrinfo_work(struct ax__work *w) {
  ax_getaddrinfo_t *req = ax_container_of(w, ax_getaddrinfo_t, priv.work);
  const struct ax__dns_hints *hints = req->priv.has_hints ? &req->priv.hints
                                                          : NULL;
  req->priv.status = ax__dns_getaddrinfo(req->priv.node, req->priv.service,
                                         hints, &req->addrinfo);
}

/* On the loop thread. The copies go first: the callback may reuse the
 * request for another lookup. */
static void getaddrinfo_done(struct ax__work *w, int status) {
  ax_getaddrinfo_t *req = ax_container_of(w, ax_getaddrinfo_t, priv.work);
  ax__free(req->priv.names);
  req->priv.names = NULL;
  req->priv.node = NULL;
  req->priv.service = NULL;
  if (status == 0)
    status = req->priv.status;
  req->priv.cb(req, status, req->addrinfo);
}

/* Check the arguments of ax_getaddrinfo(). */
static int getaddrinfo_check(const ax_loop_t *loop, const ax_getaddrinfo_t *req,
                             const char *node, const char *service) {
  if (loop == NULL || req == NULL || (node == NULL && service == NULL))
    return AX_EINVAL;
  if ((node != NULL && dns_name_length(node) > AX_DNS_NAME_MAX) ||
      (service != NULL && dns_name_length(service) > AX_DNS_NAME_MAX))
    return AX_ENAMETOOLONG;
  return 0;
}

/* Queue a prepared lookup on the DNS lane. On failure the callers clear
 * the request's callback: ax_cancel() then sees a request that is over. */
static int dns_submit(ax_loop_t *loop, struct ax__work *w,
                      void (*work)(struct ax__work *w),
                      void (*done)(struct ax__work *w, int status)) {
  w->work = work;
  w->done = done;
  return ax__work_submit(loop, w, AX__LANE_DNS);
}

int ax_getaddrinfo(ax_loop_t *loop, ax_getaddrinfo_t *req, const char *node,
                   const char *service, const struct addrinfo *hints,
                   ax_getaddrinfo_cb getaddrinfo_cb) {
  int err = getaddrinfo_check(loop, req, node, service);
  if (err != 0)
    return err;
  memset(&req->priv, 0, sizeof(req->priv));
  req->req.loop = loop;
  req->req.type = AX_GETADDRINFO;
  req->addrinfo = NULL;
  req->priv.has_hints = hints != NULL;
  if (hints != NULL)
    ax__dns_hints_read(&req->priv.hints, hints);
  if (getaddrinfo_cb == NULL) {
    /* The caller's strings outlive the call: no copy is needed. */
    req->priv.node = node;
    req->priv.service = service;
    getaddrinfo_work(&req->priv.work);
    req->priv.node = NULL;
    req->priv.service = NULL;
    return req->priv.status;
  }
  err = getaddrinfo_copy_names(req, node, service);
  if (err != 0)
    return err;
  req->priv.cb = getaddrinfo_cb;
  err = dns_submit(loop, &req->priv.work, getaddrinfo_work, getaddrinfo_done);
  if (err != 0) {
    ax__free(req->priv.names);
    memset(&req->priv, 0, sizeof(req->priv));
  }
  return err;
}

/* On a worker, or on the caller's thread in synchronous mode. */
static void getnameinfo_work(struct ax__work *w) {
  ax_getnameinfo_t *req = ax_container_of(w, ax_getnameinfo_t, priv.work);
  req->priv.status = ax__dns_getnameinfo(&req->priv.addr, req->priv.flags,
                                         req->host, sizeof(req->host),
                                         req->service, sizeof(req->service));
}

/* On the loop thread. */
static void getnameinfo_done(struct ax__work *w, int status) {
  ax_getnameinfo_t *req = ax_container_of(w, ax_getnameinfo_t, priv.work);
  if (status == 0)
    status = req->priv.status;
  if (status != 0)
    req->priv.cb(req, status, NULL, NULL);
  else
    req->priv.cb(req, 0, req->host, req->service);
}

int ax_getnameinfo(ax_loop_t *loop, ax_getnameinfo_t *req,
                   const struct sockaddr *addr, int flags,
                   ax_getnameinfo_cb getnameinfo_cb) {
  if (loop == NULL || req == NULL || addr == NULL)
    return AX_EINVAL;
  memset(&req->priv, 0, sizeof(req->priv));
  req->host[0] = '\0';
  req->service[0] = '\0';
  int err = ax__dns_sockaddr_copy(&req->priv.addr, addr);
  if (err != 0)
    return err;
  req->req.loop = loop;
  req->req.type = AX_GETNAMEINFO;
  req->priv.flags = flags;
  if (getnameinfo_cb == NULL) {
    getnameinfo_work(&req->priv.work);
    return req->priv.status;
  }
  req->priv.cb = getnameinfo_cb;
  err = dns_submit(loop, &req->priv.work, getnameinfo_work, getnameinfo_done);
  if (err != 0)
    req->priv.cb = NULL;
  return err;
}

/* A request without a callback ran synchronously, or failed to queue: it
 * is over, and nothing is left to cancel. */
int ax__dns_cancel(ax_req_t *req) {
  if (req->type == AX_GETADDRINFO) {
    ax_getaddrinfo_t *gai = ax_container_of(req, ax_getaddrinfo_t, req);
    return gai->priv.cb != NULL ? ax__work_cancel(&gai->priv.work) : AX_EBUSY;
  }
  ax_getnameinfo_t *gni = ax_container_of(req, ax_getnameinfo_t, req);
  return gni->priv.cb != NULL ? ax__work_cancel(&gni->priv.work) : AX_EBUSY;
}
