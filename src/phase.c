/*
 * phase.c: idle, prepare and check handles.
 *
 * The three types differ only in the phase that runs them, so they share one
 * implementation: a queue per phase on the loop, and a callback stored by
 * type. Each phase runs the handles active when it began, once each.
 */
#include "internal.h"

/* The three public structs have the same layout, the handle and then the
 * phase's private region, so one offset finds the handle from a queue node
 * of any of them. Each is reached through its own type or ax_handle_t only. */
#define PHASE_NODE_OFFSET offsetof(ax_idle_t, priv.node)
_Static_assert(offsetof(ax_prepare_t, priv.node) == PHASE_NODE_OFFSET &&
                   offsetof(ax_check_t, priv.node) == PHASE_NODE_OFFSET,
               "idle, prepare and check share one layout");

static ax__queue_t *phase_queue(ax_loop_t *loop, ax_handle_type type) {
  switch (type) {
  case AX_IDLE:
    return &loop->priv.idle_handles;
  case AX_PREPARE:
    return &loop->priv.prepare_handles;
  default:
    return &loop->priv.check_handles;
  }
}

static struct ax__phase_private *phase_priv(ax_handle_t *handle) {
  switch (handle->type) {
  case AX_IDLE:
    return &((ax_idle_t *)handle)->priv;
  case AX_PREPARE:
    return &((ax_prepare_t *)handle)->priv;
  default:
    return &((ax_check_t *)handle)->priv;
  }
}

static int phase_init(ax_loop_t *loop, ax_handle_t *handle,
                      struct ax__phase_private *priv, ax_handle_type type) {
  int err = ax__handle_init(loop, handle, type);
  if (err == AX_EBUSY)
    return err; /* Open already: its fields are in use. */
  /* Also after AX_EINVAL, so that a stop finds an empty node. */
  ax__queue_init(&priv->node);
  priv->cb.idle = NULL;
  return err;
}

/* Start a handle whose callback the caller stored, or leave a started one
 * running with its new callback. */
static int phase_start(ax_handle_t *handle) {
  if (ax__handle_is_active(handle))
    return 0;
  ax__queue_insert_tail(phase_queue(handle->loop, handle->type),
                        &phase_priv(handle)->node);
  ax__handle_start(handle);
  return 0;
}

static int phase_stop(ax_handle_t *handle) {
  if (!ax__handle_is_active(handle))
    return 0;
  ax__queue_remove(&phase_priv(handle)->node);
  ax__handle_stop(handle);
  return 0;
}

void ax__phase_close(ax_handle_t *handle) {
  phase_stop(handle);
}

static void phase_dispatch(ax_handle_t *handle) {
  switch (handle->type) {
  case AX_IDLE:
    ((ax_idle_t *)handle)->priv.cb.idle((ax_idle_t *)handle);
    break;
  case AX_PREPARE:
    ((ax_prepare_t *)handle)->priv.cb.prepare((ax_prepare_t *)handle);
    break;
  default:
    ((ax_check_t *)handle)->priv.cb.check((ax_check_t *)handle);
    break;
  }
}

/* Run the handles of a phase once each. A handle stays in the loop's queue
 * in its order; the snapshot only decides who runs now, so a handle started
 * by a callback runs from the next iteration on, and one stopped by a
 * callback before its turn does not run. */
static void phase_run(ax__queue_t *queue) {
  ax__queue_t snapshot;
  ax__queue_move(queue, &snapshot);
  while (!ax__queue_empty(&snapshot)) {
    ax__queue_t *node = ax__queue_head(&snapshot);
    ax__queue_remove(node);
    ax__queue_insert_tail(queue, node);
    phase_dispatch((ax_handle_t *)((char *)node - PHASE_NODE_OFFSET));
  }
}

void ax__run_idle(ax_loop_t *loop) {
  phase_run(&loop->priv.idle_handles);
}

void ax__run_prepare(ax_loop_t *loop) {
  phase_run(&loop->priv.prepare_handles);
}

void ax__run_check(ax_loop_t *loop) {
  phase_run(&loop->priv.check_handles);
}

int ax_idle_init(ax_loop_t *loop, ax_idle_t *idle) {
  if (idle == NULL)
    return AX_EINVAL;
  return phase_init(loop, &idle->handle, &idle->priv, AX_IDLE);
}

int ax_idle_start(ax_idle_t *idle, ax_idle_cb idle_cb) {
  if (idle == NULL || idle_cb == NULL)
    return AX_EINVAL;
  if (ax__handle_is_closing(&idle->handle))
    return AX_EBADF;
  idle->priv.cb.idle = idle_cb;
  return phase_start(&idle->handle);
}

int ax_idle_stop(ax_idle_t *idle) {
  return idle == NULL ? AX_EINVAL : phase_stop(&idle->handle);
}

int ax_prepare_init(ax_loop_t *loop, ax_prepare_t *prepare) {
  if (prepare == NULL)
    return AX_EINVAL;
  return phase_init(loop, &prepare->handle, &prepare->priv, AX_PREPARE);
}

int ax_prepare_start(ax_prepare_t *prepare, ax_prepare_cb prepare_cb) {
  if (prepare == NULL || prepare_cb == NULL)
    return AX_EINVAL;
  if (ax__handle_is_closing(&prepare->handle))
    return AX_EBADF;
  prepare->priv.cb.prepare = prepare_cb;
  return phase_start(&prepare->handle);
}

int ax_prepare_stop(ax_prepare_t *prepare) {
  return prepare == NULL ? AX_EINVAL : phase_stop(&prepare->handle);
}

int ax_check_init(ax_loop_t *loop, ax_check_t *check) {
  if (check == NULL)
    return AX_EINVAL;
  return phase_init(loop, &check->handle, &check->priv, AX_CHECK);
}

int ax_check_start(ax_check_t *check, ax_check_cb check_cb) {
  if (check == NULL || check_cb == NULL)
    return AX_EINVAL;
  if (ax__handle_is_closing(&check->handle))
    return AX_EBADF;
  check->priv.cb.check = check_cb;
  return phase_start(&check->handle);
}

int ax_check_stop(ax_check_t *check) {
  return check == NULL ? AX_EINVAL : phase_stop(&check->handle);
}
