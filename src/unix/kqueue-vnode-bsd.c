/*
 * unix/kqueue-vnode-bsd.c: the BSDs have no O_EVTONLY; a watched path is
 * opened for reading (unix/kqueue-vnode.c).
 */
#include <fcntl.h>

const int ax__kqueue_vnode_open_flags = O_RDONLY;
