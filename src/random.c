/*
 * random.c: ax_random(), random bytes from the system's source, now on
 * the calling thread or as a request on the thread pool. The source is the
 * platform's ax__random_fill() (src/unix/os.c, src/win/os.c).
 */
#include "internal.h"

static void random_work(struct ax__work *w) {
  ax_random_t *req = ax_container_of(w, ax_random_t, priv.work);
  req->priv.status = ax__random_fill(req->priv.buf, req->priv.len_bytes);
}

static void random_done(struct ax__work *w, int status) {
  ax_random_t *req = ax_container_of(w, ax_random_t, priv.work);
  req->priv.cb(req, status != 0 ? status : req->priv.status, req->priv.buf,
               req->priv.len_bytes);
}

int ax_random(ax_loop_t *loop, ax_random_t *req, void *buf, size_t len_bytes,
              unsigned int flags, ax_random_cb cb) {
  if (flags != 0 || (buf == NULL && len_bytes != 0))
    return AX_EINVAL;
  if (cb == NULL)
    return ax__random_fill(buf, len_bytes);
  if (loop == NULL || req == NULL)
    return AX_EINVAL;
  req->req.loop = loop;
  req->req.type = AX_RANDOM;
  req->priv.cb = cb;
  req->priv.buf = buf;
  req->priv.len_bytes = len_bytes;
  req->priv.status = 0;
  req->priv.work.work = random_work;
  req->priv.work.done = random_done;
  /* Not queued until submit says so, as for ax_queue_work(). The user
   * lane: a fill is CPU work, quick once the system's pool is seeded. */
  req->priv.work.state = 0;
  return ax__work_submit(loop, &req->priv.work, AX__LANE_USER);
}

/* ax_cancel() of a random request (req.c). */
int ax__random_cancel(ax_req_t *req) {
  return ax__work_cancel(&((ax_random_t *)req)->priv.work);
}
