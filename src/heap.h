/*
 * heap.h: an intrusive pairing heap, the timers' priority queue.
 *
 * Insertion is O(1) and removing the minimum is O(log n) amortised, with no
 * allocation: the three links live in the element (struct ax__heap_node in
 * axle.h). A node's prev points at its previous sibling, or at its parent when
 * it is the first child; that lets any node be removed, which ax_timer_stop()
 * needs. The order comes from a strict "less" function supplied by the caller,
 * so ties must be broken by the caller's key (timers use a start sequence).
 */
#ifndef AX_HEAP_H
#define AX_HEAP_H

#include <stddef.h>

#include "axle.h"

typedef struct ax__heap_node ax__heap_node_t;
typedef int (*ax__heap_less_fn)(const ax__heap_node_t *a,
                                const ax__heap_node_t *b);

/* Make the root of the two trees the other's first child; return it. Both a
 * and b are roots (no siblings, no parent). */
static inline ax__heap_node_t *ax__heap_meld(ax__heap_node_t *a,
                                             ax__heap_node_t *b,
                                             ax__heap_less_fn less) {
  if (less(b, a)) {
    ax__heap_node_t *t = a;
    a = b;
    b = t;
  }
  b->prev = a;
  b->next = a->child;
  if (a->child != NULL)
    a->child->prev = b;
  a->child = b;
  return a;
}

/* Meld a sibling list into one tree, in the two passes that give the pairing
 * heap its bound: pair neighbours left to right, then fold right to left.
 * Iterative, so a million siblings cost no stack. */
static inline ax__heap_node_t *ax__heap_merge_pairs(ax__heap_node_t *first,
                                                    ax__heap_less_fn less) {
  ax__heap_node_t *stack = NULL; /* Paired trees, last pair on top. */
  while (first != NULL) {
    ax__heap_node_t *a = first;
    ax__heap_node_t *b = a->next;
    a->next = a->prev = NULL;
    if (b != NULL) {
      first = b->next;
      b->next = b->prev = NULL;
      a = ax__heap_meld(a, b, less);
    } else {
      first = NULL;
    }
    a->next = stack;
    stack = a;
  }
  ax__heap_node_t *root = NULL;
  while (stack != NULL) {
    ax__heap_node_t *t = stack;
    stack = t->next;
    t->next = NULL;
    root = root == NULL ? t : ax__heap_meld(root, t, less);
  }
  if (root != NULL)
    root->prev = NULL;
  return root;
}

static inline void ax__heap_insert(ax__heap_node_t **root,
                                   ax__heap_node_t *node,
                                   ax__heap_less_fn less) {
  node->child = node->next = node->prev = NULL;
  *root = *root == NULL ? node : ax__heap_meld(*root, node, less);
}

/* Remove node, which must be in the heap rooted at *root. */
static inline void ax__heap_remove(ax__heap_node_t **root,
                                   ax__heap_node_t *node,
                                   ax__heap_less_fn less) {
  ax__heap_node_t *sub = ax__heap_merge_pairs(node->child, less);
  if (node == *root) {
    *root = sub;
  } else {
    /* Unlink node from its siblings, then put its children back. */
    if (node->prev->child == node)
      node->prev->child = node->next;
    else
      node->prev->next = node->next;
    if (node->next != NULL)
      node->next->prev = node->prev;
    if (sub != NULL)
      *root = ax__heap_meld(*root, sub, less);
  }
  node->child = node->next = node->prev = NULL;
}

#endif /* AX_HEAP_H */
