/*
 * unix/kqueue-vnode-darwin.c: macOS opens a watched path with O_EVTONLY,
 * for events only, so that the watch does not keep its volume from being
 * unmounted (unix/kqueue-vnode.c).
 */
#include <fcntl.h>

const int ax__kqueue_vnode_open_flags = O_EVTONLY;
