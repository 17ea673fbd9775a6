/*
 * req.c: what every request shares: its type's name, and cancelling it.
 *
 * Each request type has a row in one table: its name, and how it is
 * cancelled (NULL where it cannot be: a stream's write, connect or
 * shutdown ends with its stream, not on its own). A new request type is
 * a new row, not a new case in every switch.
 */
#include "internal.h"

struct req_type {
  const char *name;             /* ax_req_type_name(). */
  int (*cancel)(ax_req_t *req); /* ax_cancel(), or NULL. */
};

static const struct req_type req_types[AX_REQ_TYPE_MAX] = {
    [AX_UNKNOWN_REQ] = {"unknown", NULL},
    [AX_WORK] = {"work", ax__work_req_cancel},
    [AX_GETADDRINFO] = {"getaddrinfo", ax__dns_cancel},
    [AX_GETNAMEINFO] = {"getnameinfo", ax__dns_cancel},
    [AX_FS] = {"fs", ax__fs_cancel},
    [AX_WRITE] = {"write", NULL},
    [AX_CONNECT] = {"connect", NULL},
    [AX_SHUTDOWN] = {"shutdown", NULL},
    [AX_RANDOM] = {"random", ax__random_cancel},
    [AX_UDP_SEND] = {"udp_send", NULL},
};

int ax_cancel(ax_req_t *req) {
  if (req == NULL || (unsigned int)req->type >= AX_REQ_TYPE_MAX ||
      req_types[req->type].cancel == NULL)
    return AX_EINVAL;
  return req_types[req->type].cancel(req);
}

const char *ax_req_type_name(ax_req_type type) {
  if ((unsigned int)type >= AX_REQ_TYPE_MAX)
    return "unknown";
  return req_types[type].name;
}
