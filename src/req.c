/*
 * req.c: what every request shares: its type's name, and cancelling it.
 *
 * Each request type has a row in one table: its name, its size, and how it is
 * cancelled (NULL where it cannot be: a stream's write, connect or
 * shutdown ends with its stream, not on its own). A new request type is
 * a new row, not a new case in every switch.
 */
#include "internal.h"

struct req_type {
  const char *name;             /* ax_req_type_name(). */
  size_t size;                  /* ax_req_size(). */
  int (*cancel)(ax_req_t *req); /* ax_cancel(), or NULL. */
};

static const struct req_type req_types[AX_REQ_TYPE_MAX] = {
    [AX_UNKNOWN_REQ] = {"unknown", 0, NULL},
    [AX_WORK] = {"work", sizeof(ax_work_t), ax__work_req_cancel},
    [AX_GETADDRINFO] = {"getaddrinfo", sizeof(ax_getaddrinfo_t),
                        ax__dns_cancel},
    [AX_GETNAMEINFO] = {"getnameinfo", sizeof(ax_getnameinfo_t),
                        ax__dns_cancel},
    [AX_FS] = {"fs", sizeof(ax_fs_t), ax__fs_cancel},
    [AX_WRITE] = {"write", sizeof(ax_write_t), NULL},
    [AX_CONNECT] = {"connect", sizeof(ax_connect_t), NULL},
    [AX_SHUTDOWN] = {"shutdown", sizeof(ax_shutdown_t), NULL},
    [AX_RANDOM] = {"random", sizeof(ax_random_t), ax__random_cancel},
    [AX_UDP_SEND] = {"udp_send", sizeof(ax_udp_send_t), NULL},
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

size_t ax_req_size(ax_req_type type) {
  return (unsigned int)type < AX_REQ_TYPE_MAX ? req_types[type].size : 0;
}
