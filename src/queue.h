/*
 * queue.h: an intrusive, doubly linked, circular list.
 *
 * A list is a head node whose next and prev point at itself when empty. An
 * element embeds a node and is found again with ax_container_of(). Every
 * operation is O(1) and allocates nothing, which is why handles use it for
 * their per-phase and per-loop lists.
 */
#ifndef AX_QUEUE_H
#define AX_QUEUE_H

#include <stdbool.h>

#include "axle.h"

typedef struct ax__queue ax__queue_t;

static inline void ax__queue_init(ax__queue_t *q) {
  q->next = q;
  q->prev = q;
}

static inline bool ax__queue_empty(const ax__queue_t *q) {
  return q->next == q;
}

static inline ax__queue_t *ax__queue_head(const ax__queue_t *q) {
  return q->next;
}

/* Append node at the tail of q. */
static inline void ax__queue_insert_tail(ax__queue_t *q, ax__queue_t *node) {
  node->next = q;
  node->prev = q->prev;
  node->prev->next = node;
  q->prev = node;
}

/* Unlink node from whatever list holds it and make it an empty list, so that
 * removing it twice is harmless and ax__queue_empty(node) tells it is out. */
static inline void ax__queue_remove(ax__queue_t *node) {
  node->prev->next = node->next;
  node->next->prev = node->prev;
  ax__queue_init(node);
}

/* Move every node of from to the (empty) list to, leaving from empty. The
 * phases iterate such a snapshot so that handles started by a callback wait
 * for the next iteration: that is what bounds each phase. */
static inline void ax__queue_move(ax__queue_t *from, ax__queue_t *to) {
  if (ax__queue_empty(from)) {
    ax__queue_init(to);
    return;
  }
  to->next = from->next;
  to->prev = from->prev;
  to->next->prev = to;
  to->prev->next = to;
  ax__queue_init(from);
}

#endif /* AX_QUEUE_H */
