/*
 * primary.c: the cluster example's primary process. It owns no
 * connection of its own (round-robin aside, where it accepts and hands
 * each one on); it keeps N workers running.
 *
 * Slots: --workers N gives N slots, each with the worker serving in it
 * (current) and, during a rolling restart, the one replacing it (next).
 *
 * - Start: every slot spawns this program with "--worker MODE" and an
 *   IPC pipe as descriptor 3; shared mode then sends it the listener.
 *   Once every slot's worker has said "ready", the primary prints
 *   "listening on HOST:PORT" and "status on HOST:S".
 * - A worker that exits unasked is logged and restarted after a back-off
 *   that starts at --restart-ms MIN, doubles with each quick death up to
 *   MAX, and starts again at MIN once a worker has stayed up RESET ms.
 * - SIGHUP replaces the workers one slot at a time: start the next
 *   worker, wait for its "ready", send "stop" to the current one (which
 *   drains: worker.c), go on to the next slot. Connections are never
 *   without a worker to accept them, so no request fails.
 * - SIGINT or SIGTERM: "stop" to every worker, close the listeners, and
 *   exit once the last worker has; a second one kills what is left.
 * - Status: GET /cluster on the status port (--status-port, its own
 *   listener, in every mode) answers a JSON object per slot; SIGUSR1
 *   prints the same as lines on standard output.
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cluster.h"

enum {
  LISTEN_BACKLOG = 4096,    /* As the HTTP server's. */
  STATUS_HEAD_BYTES = 2048, /* The most of a status request read. */
  STATUS_BODY_BYTES = 128 + CLUSTER_MAX_WORKERS * 128, /* Its answer. */
  EXE_BYTES = 4096, /* This program's path. */
};

/* Where a worker is in its life. */
enum worker_state {
  WORKER_STARTING, /* Spawned; not ready yet. */
  WORKER_READY,    /* Serving. */
  WORKER_STOPPING, /* Told to stop, or killed: draining. */
};

struct primary;

/* One worker process and its pipe; freed once both handles are closed. */
struct worker {
  ax_process_t process;       /* The child. */
  ax_pipe_t ipc;              /* Its IPC pipe (its descriptor 3). */
  ax_timer_t ready_timer;     /* Kills it if it is not ready in time. */
  struct primary *primary;    /* The primary. */
  struct worker *next_worker; /* In primary.workers, every one alive. */
  unsigned int slot;          /* Its slot. */
  enum worker_state state;    /* See above. */
  int handles_open;           /* process, ipc, ready_timer: until closed. */
  ax_pid_t pid;               /* Its process id. */
  uint64_t requests;          /* Its last "requests N". */
  uint64_t started_ms;        /* ax_now() when spawned. */
  struct cluster_lines lines; /* What it says. */
  char in[256];               /* The pipe's read buffer. */
};

/* A place for one worker. */
struct slot {
  struct worker *current; /* Serving (or starting), or NULL. */
  struct worker *next;    /* A rolling restart's replacement, or NULL. */
  unsigned int restarts;  /* Workers started after the first. */
  uint64_t backoff_ms;    /* The next restart's wait. */
  uint64_t requests_gone; /* Requests of its workers that have exited. */
  ax_timer_t restart;     /* The back-off's timer. */
  ax_tcp_t listener;      /* reuseport: the slot's socket, which its
                             workers receive in turn. */
  bool listener_open;     /* listener is initialised and not closed. */
};

/* The primary: its loop, listeners, signals and slots. */
struct primary {
  ax_loop_t loop;                        /* Its loop. */
  const struct cluster_options *options; /* The command line. */
  struct slot *slots;                    /* options->workers of them. */
  struct worker *workers;                /* Every worker not yet freed. */
  ax_tcp_t listener;                     /* The port (not in reuseport mode's
                                            own listening: it only holds it). */
  ax_tcp_t status;                       /* GET /cluster. */
  ax_signal_t signals[4];                /* INT, TERM, HUP, USR1. */
  int port;                              /* The port, once bound. */
  int status_port;                       /* The status port, once bound. */
  unsigned int round_robin;              /* The next slot to hand one to. */
  int rolling;                           /* The slot being replaced, or -1. */
  bool roll_again;                       /* A SIGHUP came during the roll. */
  bool announced;                        /* "listening on" is printed. */
  int stopping;                          /* 0, 1 stopping, 2 killing. */
  char exe[EXE_BYTES];                   /* This program, to spawn. */
};

static void primary_roll_step(struct primary *p);
static void primary_maybe_done(struct primary *p);
static int worker_spawn(struct primary *p, unsigned int slot,
                        struct worker **out);
static int primary_listen_kernel(ax_tcp_t *tcp);

static void close_handle(ax_handle_t *handle, ax_close_cb close_cb) {
  if (!ax_is_closing(handle))
    ax_close(handle, close_cb);
}

/* -- reuseport slots --------------------------------------------------------
 */

static void slot_listener_closed(ax_handle_t *handle) {
  struct slot *s = ax_container_of(handle, struct slot, listener.stream.handle);
  s->listener_open = false;
}

/* reuseport: the slot's socket, bound with AX_TCP_REUSEPORT and listening
 * in the kernel, opened when the slot's first worker starts. The primary
 * keeps it, and each worker of the slot receives it in turn, so that a
 * rolling restart hands the same accept queue from the old worker to the
 * new one: nothing queued is reset, as closing a socket of the group
 * would (unless net.ipv4.tcp_migrate_req is set). */
static int slot_listen(struct primary *p, struct slot *s) {
  if (s->listener_open)
    return ax_is_closing(&s->listener.stream.handle) ? AX_EBUSY : 0;
  struct sockaddr_in addr;
  int rc = ax_tcp_init(&p->loop, &s->listener);
  if (rc != 0)
    return rc;
  s->listener_open = true;
  rc = ax_ip4_addr(p->options->host, p->port, &addr);
  if (rc == 0)
    rc = ax_tcp_bind(&s->listener, (const struct sockaddr *)&addr,
                     AX_TCP_REUSEPORT);
  if (rc == 0)
    rc = primary_listen_kernel(&s->listener);
  if (rc != 0)
    close_handle(&s->listener.stream.handle, slot_listener_closed);
  return rc;
}

/* reuseport: a slot whose worker died unasked closes its socket, so that
 * the kernel spreads new connections over the other slots' sockets while
 * it waits for a new worker (what was queued on it is lost, as a crash
 * loses the worker's own connections). */
static void slot_unlisten(struct slot *s) {
  if (s->listener_open)
    close_handle(&s->listener.stream.handle, slot_listener_closed);
}

/* The listener a new worker of the slot receives, or NULL (round-robin). */
static int slot_listener(struct primary *p, unsigned int slot,
                         ax_stream_t **out) {
  *out = NULL;
  if (p->options->mode == MODE_SHARED)
    *out = &p->listener.stream;
  if (p->options->mode != MODE_REUSEPORT)
    return 0;
  int rc = slot_listen(p, &p->slots[slot]);
  if (rc == 0)
    *out = &p->slots[slot].listener.stream;
  return rc;
}

/* -- Workers ------------------------------------------------------------ */

static void worker_closed(ax_handle_t *handle) {
  struct worker *w = handle->data;
  if (--w->handles_open > 0)
    return;
  struct primary *p = w->primary;
  for (struct worker **at = &p->workers; *at != NULL;
       at = &(*at)->next_worker) {
    if (*at == w) {
      *at = w->next_worker;
      break;
    }
  }
  free(w);
  primary_maybe_done(p);
}

static void worker_stop(struct worker *w) {
  if (w->state == WORKER_STOPPING)
    return;
  w->state = WORKER_STOPPING;
  if (cluster_send_line(&w->ipc.stream, NULL, "stop") != 0)
    ax_process_kill(&w->process, SIGTERM); /* Its pipe is gone. */
}

/* How long the slot waits before its next worker: the back-off doubles
 * with each quick death, and starts over after a long life. */
static uint64_t slot_backoff(struct primary *p, struct slot *s,
                             const struct worker *w) {
  const struct cluster_options *o = p->options;
  if (s->backoff_ms == 0 ||
      ax_now(&p->loop) - w->started_ms >= o->restart_reset_ms)
    s->backoff_ms = o->restart_min_ms;
  uint64_t wait_ms = s->backoff_ms;
  s->backoff_ms = wait_ms * 2 < o->restart_max_ms ? wait_ms * 2
                                                  : o->restart_max_ms;
  return wait_ms;
}

static void slot_restart(ax_timer_t *timer) {
  struct primary *p = timer->handle.data;
  unsigned int i = (unsigned int)(ax_container_of(timer, struct slot, restart) -
                                  p->slots);
  struct slot *s = &p->slots[i];
  if (p->stopping || s->current != NULL)
    return;
  s->restarts++;
  if (worker_spawn(p, i, &s->current) != 0) /* Logged: wait again. */
    ax_timer_start(&s->restart, slot_restart, s->backoff_ms, 0);
}

/* A worker ended unasked: log it, and start another after the
 * back-off. A replacement that dies before it is ready ends the rolling
 * restart, and the slot keeps the worker it has. */
static void worker_died(struct worker *w, int64_t status, int signum) {
  struct primary *p = w->primary;
  struct slot *s = &p->slots[w->slot];
  fprintf(stderr, "cluster: worker %u (pid %lld) %s %lld", w->slot,
          (long long)w->pid, signum != 0 ? "killed by signal" : "exited with",
          (long long)(signum != 0 ? signum : status));
  if (w == s->next) {
    s->next = NULL;
    p->rolling = -1;
    fprintf(stderr, "; rolling restart abandoned\n");
    return;
  }
  s->current = NULL;
  slot_unlisten(s);
  uint64_t wait_ms = slot_backoff(p, s, w);
  fprintf(stderr, "; restarting in %llu ms\n", (unsigned long long)wait_ms);
  ax_timer_start(&s->restart, slot_restart, wait_ms, 0);
}

static void worker_exited(ax_process_t *process, int64_t status, int signum) {
  struct worker *w = ax_container_of(process, struct worker, process);
  struct primary *p = w->primary;
  struct slot *s = &p->slots[w->slot];
  s->requests_gone += w->requests;
  w->requests = 0;
  if (w->state == WORKER_STOPPING || p->stopping) {
    if (s->current == w)
      s->current = NULL;
    if (status == 0 && signum == 0)
      fprintf(stderr, "cluster: worker %u (pid %lld) stopped\n", w->slot,
              (long long)w->pid);
    else
      fprintf(stderr, "cluster: worker %u (pid %lld) stopped badly: %s %lld\n",
              w->slot, (long long)w->pid,
              signum != 0 ? "signal" : "exit status",
              (long long)(signum != 0 ? signum : status));
  } else {
    worker_died(w, status, signum);
  }
  w->state = WORKER_STOPPING;
  close_handle(&w->ready_timer.handle, worker_closed);
  close_handle(&w->process.handle, worker_closed);
  close_handle(&w->ipc.stream.handle, worker_closed);
}

static bool primary_all_ready(const struct primary *p) {
  for (unsigned int i = 0; i < p->options->workers; i++) {
    const struct worker *w = p->slots[i].current;
    if (w == NULL || w->state != WORKER_READY)
      return false;
  }
  return true;
}

static void worker_ready(struct worker *w) {
  struct primary *p = w->primary;
  struct slot *s = &p->slots[w->slot];
  if (w->state != WORKER_STARTING)
    return;
  w->state = WORKER_READY;
  ax_timer_stop(&w->ready_timer);
  fprintf(stderr, "cluster: worker %u (pid %lld) ready\n", w->slot,
          (long long)w->pid);
  if (w == s->next) { /* Rolling: the old one drains, the roll goes on. */
    struct worker *old = s->current;
    s->current = w;
    s->next = NULL;
    if (old != NULL)
      worker_stop(old);
    p->rolling++;
    primary_roll_step(p);
  }
  if (!p->announced && primary_all_ready(p)) {
    p->announced = true;
    printf("listening on %s:%d\nstatus on %s:%d\n", p->options->host, p->port,
           p->options->host, p->status_port);
    fflush(stdout);
  }
}

static void worker_line(void *arg, char *line) {
  struct worker *w = arg;
  unsigned long long n;
  if (strcmp(line, "ready") == 0)
    worker_ready(w);
  else if (sscanf(line, "requests %llu", &n) == 1)
    w->requests = n;
}

static void worker_alloc(ax_handle_t *handle, size_t suggested_size,
                         ax_buf_t *buf) {
  struct worker *w = handle->data;
  (void)suggested_size;
  *buf = ax_buf_init(w->in, sizeof(w->in));
}

/* A worker's lines; its end of the pipe closes when it exits (whose
 * callback closes ours). */
static void worker_read(ax_stream_t *stream, ptrdiff_t nread,
                        const ax_buf_t *buf) {
  struct worker *w = stream->handle.data;
  if (nread < 0) {
    ax_read_stop(stream);
    return;
  }
  if (!cluster_lines_feed(&w->lines, buf->base, (size_t)nread, worker_line,
                          w)) {
    ax_read_stop(stream);
    ax_process_kill(&w->process, SIGKILL); /* Not our worker's words. */
  }
}

/* The child's arguments: this program as a worker, in this mode. */
static void worker_args(struct primary *p, char *port, size_t port_len,
                        char *drain, size_t drain_len, char **args) {
  snprintf(port, port_len, "%d", p->port);
  snprintf(drain, drain_len, "%llu", (unsigned long long)p->options->drain_ms);
  char **a = args;
  *a++ = p->exe;
  *a++ = "--worker";
  *a++ = (char *)cluster_mode_name(p->options->mode);
  *a++ = "--host";
  *a++ = (char *)p->options->host;
  *a++ = "--port";
  *a++ = port;
  *a++ = "--drain-ms";
  *a++ = drain;
  *a = NULL;
}

/* Start the child with the pipe as its descriptor 3, its output ours. */
static int worker_process(struct primary *p, struct worker *w) {
  char port[16], drain[24], *args[10];
  worker_args(p, port, sizeof(port), drain, sizeof(drain), args);
  ax_stdio_container_t stdio[4] = {
      {.flags = AX_STDIO_IGNORE},
      {.flags = AX_STDIO_INHERIT_FD, .data.fd = 1},
      {.flags = AX_STDIO_INHERIT_FD, .data.fd = 2},
      {.flags = AX_STDIO_CREATE_PIPE | AX_STDIO_READABLE | AX_STDIO_WRITABLE,
       .data.stream = &w->ipc.stream},
  };
  ax_process_options_t options = {
      .exit_cb = worker_exited,
      .file = p->exe,
      .args = args,
      .stdio_count = 4,
      .stdio = stdio,
  };
  return ax_spawn(&p->loop, &w->process, &options);
}

/* A worker that did not say "ready" in --ready-ms: it is killed, and its
 * exit is that of a worker that died (a restart after the back-off, or
 * the end of a rolling restart). */
static void worker_not_ready(ax_timer_t *timer) {
  struct worker *w = timer->handle.data;
  if (w->state != WORKER_STARTING)
    return;
  fprintf(stderr, "cluster: worker %u (pid %lld) not ready in %llu ms\n",
          w->slot, (long long)w->pid,
          (unsigned long long)w->primary->options->ready_ms);
  ax_process_kill(&w->process, SIGKILL);
}

static void worker_discard(ax_handle_t *handle) {
  free(handle->data);
}

/* Spawn a worker for @p slot into *@p out; shared and reuseport modes
 * send it its listener at once. A failure is logged, and *out stays as it
 * was. */
static int worker_spawn(struct primary *p, unsigned int slot,
                        struct worker **out) {
  ax_stream_t *listener;
  int rc = slot_listener(p, slot, &listener);
  if (rc != 0) {
    fprintf(stderr, "cluster: worker %u: listen: %s\n", slot, ax_strerror(rc));
    return rc;
  }
  struct worker *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return AX_ENOMEM;
  w->primary = p;
  w->slot = slot;
  w->started_ms = ax_now(&p->loop);
  rc = ax_pipe_init(&p->loop, &w->ipc, true);
  w->ipc.stream.handle.data = w;
  if (rc == 0)
    rc = worker_process(p, w);
  if (rc != 0) {
    fprintf(stderr, "cluster: worker %u: spawn: %s\n", slot, ax_strerror(rc));
    ax_close(&w->ipc.stream.handle, worker_discard);
    return rc;
  }
  w->process.handle.data = w;
  w->handles_open = 3;
  ax_timer_init(&p->loop, &w->ready_timer); /* A valid loop: cannot fail. */
  w->ready_timer.handle.data = w;
  ax_timer_start(&w->ready_timer, worker_not_ready, p->options->ready_ms, 0);
  w->pid = ax_process_get_pid(&w->process);
  w->next_worker = p->workers;
  p->workers = w;
  rc = ax_read_start(&w->ipc.stream, worker_alloc, worker_read);
  if (rc == 0 && listener != NULL)
    rc = cluster_send_line(&w->ipc.stream, listener, "l");
  if (rc != 0) { /* It cannot be told anything: it is of no use. */
    fprintf(stderr, "cluster: worker %u: IPC: %s\n", slot, ax_strerror(rc));
    ax_process_kill(&w->process, SIGKILL);
  }
  *out = w;
  return 0;
}

/* -- Rolling restart ------------------------------------------------------ */

/* Replace the worker of slot p->rolling, or of the next slot that has
 * one (a slot waiting for a restart gets a new worker anyway). */
static void primary_roll_step(struct primary *p) {
  unsigned int n = p->options->workers;
  while (p->rolling >= 0 && (unsigned int)p->rolling < n) {
    struct slot *s = &p->slots[p->rolling];
    if (s->current != NULL && s->next == NULL) {
      if (worker_spawn(p, (unsigned int)p->rolling, &s->next) == 0) {
        s->restarts++;
        return;
      }
      fprintf(stderr, "cluster: rolling restart abandoned\n");
      p->rolling = -1;
      return;
    }
    p->rolling++;
  }
  if (p->rolling < 0)
    return;
  fprintf(stderr, "cluster: rolling restart done\n");
  p->rolling = -1;
  if (p->roll_again) {
    p->roll_again = false;
    p->rolling = 0;
    primary_roll_step(p);
  }
}

static void primary_roll(struct primary *p) {
  if (p->rolling >= 0) {
    p->roll_again = true; /* Once this one is done. */
    return;
  }
  fprintf(stderr, "cluster: rolling restart\n");
  p->rolling = 0;
  primary_roll_step(p);
}

/* -- Round-robin hand-off ------------------------------------------------ */

/* A connection on its way to a worker. */
struct handoff {
  ax_write_t req; /* The write that carries it. */
  ax_tcp_t tcp;   /* Our handle of it, closed once sent. */
  char byte[2];   /* "c\n". */
};

static void handoff_closed(ax_handle_t *handle) {
  free(handle->data);
}

static void handoff_sent(ax_write_t *req, int status) {
  struct handoff *h = ax_container_of(req, struct handoff, req);
  (void)status; /* Lost with a worker that died: nothing else to do. */
  ax_close(&h->tcp.stream.handle, handoff_closed);
}

/* The next ready worker after the last one used, or NULL. */
static struct worker *primary_pick(struct primary *p) {
  unsigned int n = p->options->workers;
  for (unsigned int k = 0; k < n; k++) {
    struct worker *w = p->slots[(p->round_robin + k) % n].current;
    if (w != NULL && w->state == WORKER_READY) {
      p->round_robin = (p->round_robin + k + 1) % n;
      return w;
    }
  }
  return NULL;
}

static void primary_on_connection(ax_stream_t *listener, int status) {
  struct primary *p = listener->handle.data;
  if (status != 0)
    return;
  struct handoff *h = calloc(1, sizeof(*h));
  if (h == NULL)
    return; /* It waits in the kernel for the next try. */
  ax_tcp_init(&p->loop, &h->tcp);
  h->tcp.stream.handle.data = h;
  memcpy(h->byte, "c\n", 2);
  ax_buf_t buf = ax_buf_init(h->byte, 2);
  struct worker *w = NULL;
  int rc = ax_accept(listener, &h->tcp.stream);
  if (rc == 0)
    w = primary_pick(p);
  if (rc == 0 && w == NULL)
    rc = AX_EAGAIN; /* No worker: the client sees the connection close. */
  if (rc == 0)
    rc = ax_write2(&h->req, &w->ipc.stream, &buf, 1, &h->tcp.stream,
                   handoff_sent);
  if (rc != 0)
    ax_close(&h->tcp.stream.handle, handoff_closed);
}

/* -- Status ---------------------------------------------------------------- */

static const char *const state_names[] = {
    [WORKER_STARTING] = "starting",
    [WORKER_READY] = "ready",
    [WORKER_STOPPING] = "stopping",
};

/* The requests a slot's workers have answered, the living and the gone. */
static uint64_t slot_requests(const struct slot *s) {
  uint64_t n = s->requests_gone;
  if (s->current != NULL)
    n += s->current->requests;
  if (s->next != NULL)
    n += s->next->requests;
  return n;
}

/* One slot, as a line (@p json false) or a JSON object. */
static int slot_status(const struct primary *p, unsigned int i, bool json,
                       char *out, size_t cap) {
  const struct slot *s = &p->slots[i];
  const struct worker *w = s->current;
  long long pid = w != NULL ? (long long)w->pid : 0;
  const char *state = w != NULL ? state_names[w->state] : "restarting";
  unsigned long long requests = (unsigned long long)slot_requests(s);
  if (json)
    return snprintf(out, cap,
                    "%s{\"worker\":%u,\"pid\":%lld,\"state\":\"%s\","
                    "\"restarts\":%u,\"requests\":%llu}",
                    i > 0 ? "," : "", i, pid, state, s->restarts, requests);
  return snprintf(out, cap,
                  "worker %u pid %lld state %s restarts %u requests %llu\n", i,
                  pid, state, s->restarts, requests);
}

/* The length after adding what snprintf() made, if it fit (the buffers
 * have room for every slot, so it does). */
static size_t status_add(size_t len, int n, size_t cap) {
  return n > 0 && (size_t)n < cap - len ? len + (size_t)n : len;
}

/* Every slot into @p out; the length written. */
static size_t primary_status(const struct primary *p, bool json, char *out,
                             size_t cap) {
  size_t len = 0;
  if (json)
    len = status_add(len,
                     snprintf(out, cap,
                              "{\"mode\":\"%s\",\"port\":%d,\"pid\":%lld,"
                              "\"workers\":[",
                              cluster_mode_name(p->options->mode), p->port,
                              (long long)ax_os_getpid()),
                     cap);
  for (unsigned int i = 0; i < p->options->workers; i++)
    len = status_add(len, slot_status(p, i, json, out + len, cap - len), cap);
  if (json)
    len = status_add(len, snprintf(out + len, cap - len, "]}\n"), cap);
  return len;
}

/* A status connection: read the head, answer, close. */
struct status_conn {
  ax_tcp_t tcp;                      /* The connection. */
  ax_write_t req;                    /* The answer's write. */
  struct primary *primary;           /* The primary. */
  size_t len;                        /* Bytes in head. */
  bool answered;                     /* The answer is on its way. */
  char head[STATUS_HEAD_BYTES];      /* The request, as far as read. */
  char out[STATUS_BODY_BYTES + 256]; /* The answer. */
};

static void status_closed(ax_handle_t *handle) {
  free(handle->data);
}

static void status_written(ax_write_t *req, int status) {
  struct status_conn *c = ax_container_of(req, struct status_conn, req);
  (void)status;
  close_handle(&c->tcp.stream.handle, status_closed);
}

/* "GET /cluster" gets the JSON status; anything else a 404. */
static void status_answer(struct status_conn *c) {
  char body[STATUS_BODY_BYTES];
  bool found = c->len > 13 && memcmp(c->head, "GET /cluster ", 13) == 0;
  size_t body_len = found ? primary_status(c->primary, true, body, sizeof(body))
                          : (size_t)snprintf(body, sizeof(body), "Not Found\n");
  int head_len = snprintf(c->out, sizeof(c->out),
                          "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                          found ? "200 OK" : "404 Not Found",
                          found ? "application/json" : "text/plain", body_len);
  memcpy(c->out + head_len, body, body_len);
  ax_buf_t buf = ax_buf_init(c->out, (size_t)head_len + body_len);
  c->answered = true;
  ax_read_stop(&c->tcp.stream);
  if (ax_write(&c->req, &c->tcp.stream, &buf, 1, status_written) != 0)
    close_handle(&c->tcp.stream.handle, status_closed);
}

static void status_alloc(ax_handle_t *handle, size_t suggested_size,
                         ax_buf_t *buf) {
  struct status_conn *c = handle->data;
  (void)suggested_size;
  *buf = ax_buf_init(c->head + c->len, sizeof(c->head) - 1 - c->len);
}

static void status_read(ax_stream_t *stream, ptrdiff_t nread,
                        const ax_buf_t *buf) {
  struct status_conn *c = stream->handle.data;
  (void)buf;
  if (nread < 0) {
    close_handle(&stream->handle, status_closed);
    return;
  }
  c->len += (size_t)nread;
  c->head[c->len] = '\0';
  if (strstr(c->head, "\r\n\r\n") != NULL || c->len + 1 >= sizeof(c->head))
    status_answer(c);
}

static void status_on_connection(ax_stream_t *listener, int status) {
  struct primary *p = listener->handle.data;
  if (status != 0)
    return;
  struct status_conn *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return;
  c->primary = p;
  ax_tcp_init(&p->loop, &c->tcp);
  c->tcp.stream.handle.data = c;
  if (ax_accept(listener, &c->tcp.stream) != 0 ||
      ax_read_start(&c->tcp.stream, status_alloc, status_read) != 0)
    close_handle(&c->tcp.stream.handle, status_closed);
}

/* -- Signals, start and stop --------------------------------------------- */

/* Everything is gone once the last worker is: close what is left. */
static void primary_maybe_done(struct primary *p) {
  if (!p->stopping || p->workers != NULL)
    return;
  for (int i = 0; i < 4; i++)
    close_handle(&p->signals[i].handle, NULL);
  fprintf(stderr, "cluster: stopped\n");
}

/* Stop accepting, restarting and rolling; tell every worker to stop. */
static void primary_stop(struct primary *p) {
  p->stopping = 1;
  p->rolling = -1;
  close_handle(&p->listener.stream.handle, NULL);
  close_handle(&p->status.stream.handle, NULL);
  for (unsigned int i = 0; i < p->options->workers; i++) {
    close_handle(&p->slots[i].restart.handle, NULL);
    slot_unlisten(&p->slots[i]);
  }
  close_handle(&p->signals[2].handle, NULL);
  close_handle(&p->signals[3].handle, NULL);
  for (struct worker *w = p->workers; w != NULL; w = w->next_worker)
    worker_stop(w);
  primary_maybe_done(p);
}

static void primary_on_signal(ax_signal_t *signal, int signum) {
  struct primary *p = signal->handle.data;
  char lines[STATUS_BODY_BYTES];
  switch (signum) {
  case SIGHUP:
    primary_roll(p);
    break;
  case SIGUSR1:
    fwrite(lines, 1, primary_status(p, false, lines, sizeof(lines)), stdout);
    fflush(stdout);
    break;
  default: /* SIGINT, SIGTERM: drain; the second time, kill. */
    if (p->stopping) {
      p->stopping = 2;
      for (struct worker *w = p->workers; w != NULL; w = w->next_worker)
        ax_process_kill(&w->process, SIGKILL);
    } else {
      fprintf(stderr, "cluster: stopping\n");
      primary_stop(p);
    }
    break;
  }
}

static int primary_signals(struct primary *p) {
  const int numbers[4] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1};
  int rc = 0;
  for (int i = 0; i < 4 && rc == 0; i++) {
    rc = ax_signal_init(&p->loop, &p->signals[i]);
    if (rc != 0)
      break;
    p->signals[i].handle.data = p;
    ax_unref(&p->signals[i].handle);
    rc = ax_signal_start(&p->signals[i], numbers[i], primary_on_signal);
  }
  return rc;
}

/* The port of a bound TCP handle, read byte by byte in network order. */
static int tcp_port(const ax_tcp_t *tcp, int *port) {
  struct sockaddr_storage addr;
  int len = sizeof(addr);
  int rc = ax_tcp_getsockname(tcp, (struct sockaddr *)&addr, &len);
  if (rc == 0) {
    const unsigned char *b =
        (const unsigned char *)&((const struct sockaddr_in *)&addr)->sin_port;
    *port = b[0] << 8 | b[1];
  }
  return rc;
}

static int tcp_bind(ax_loop_t *loop, ax_tcp_t *tcp, const char *host, int *port,
                    unsigned int flags) {
  struct sockaddr_in addr;
  int rc = ax_tcp_init(loop, tcp);
  if (rc == 0)
    rc = ax_ip4_addr(host, *port, &addr);
  if (rc == 0)
    rc = ax_tcp_bind(tcp, (const struct sockaddr *)&addr, flags);
  if (rc == 0)
    rc = tcp_port(tcp, port);
  return rc;
}

/* Shared mode's listener listens in the kernel, so that the workers
 * receive it as a listener (a received socket is adopted as what the
 * kernel says it is) and connections queue from the start; but it is not
 * ax_listen()ed: the primary never accepts on it, the workers do. */
static int primary_listen_kernel(ax_tcp_t *tcp) {
  ax_os_fd_t fd;
  int rc = ax_fileno(&tcp->stream.handle, &fd);
  if (rc == 0 && listen(fd, LISTEN_BACKLOG) != 0)
    rc = AX_EINVAL; /* Bound just before: it cannot fail but in theory. */
  return rc;
}

/* The port: listening (round-robin), bound to be sent (shared), or bound
 * with AX_TCP_REUSEPORT only to hold it and learn it (reuseport: a socket
 * that does not listen gets none of the connections; the slots' sockets,
 * slot_listen(), do). */
static int primary_listen(struct primary *p) {
  const struct cluster_options *o = p->options;
  unsigned int flags = o->mode == MODE_REUSEPORT ? AX_TCP_REUSEPORT : 0;
  p->port = o->port;
  int rc = tcp_bind(&p->loop, &p->listener, o->host, &p->port, flags);
  p->listener.stream.handle.data = p;
  if (rc == AX_ENOTSUP) {
    fprintf(stderr, "cluster: reuseport: listeners cannot share a port "
                    "here\n");
    return rc;
  }
  if (rc == 0 && o->mode == MODE_ROUND_ROBIN)
    rc = ax_listen(&p->listener.stream, LISTEN_BACKLOG, primary_on_connection);
  if (rc == 0 && o->mode == MODE_SHARED)
    rc = primary_listen_kernel(&p->listener);
  if (rc == 0) {
    p->status_port = o->status_port;
    rc = tcp_bind(&p->loop, &p->status, o->host, &p->status_port, 0);
    p->status.stream.handle.data = p;
  }
  if (rc == 0)
    rc = ax_listen(&p->status.stream, 64, status_on_connection);
  if (rc != 0)
    fprintf(stderr, "cluster: %s:%d: %s\n", o->host, p->port, ax_strerror(rc));
  return rc;
}

static int primary_start(struct primary *p) {
  size_t exe_len = sizeof(p->exe);
  int rc = ax_exepath(p->exe, &exe_len);
  if (rc == 0)
    rc = primary_listen(p);
  if (rc == 0)
    rc = primary_signals(p);
  for (unsigned int i = 0; i < p->options->workers && rc == 0; i++) {
    struct slot *s = &p->slots[i];
    rc = ax_timer_init(&p->loop, &s->restart);
    s->restart.handle.data = p;
    if (rc == 0)
      rc = worker_spawn(p, i, &s->current);
  }
  return rc;
}

static void primary_close_one(ax_handle_t *handle, void *arg) {
  (void)arg;
  close_handle(handle, NULL);
}

int primary_main(const struct cluster_options *options) {
  struct primary *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return 1;
  p->options = options;
  p->rolling = -1;
  p->slots = calloc(options->workers, sizeof(*p->slots));
  int rc = p->slots != NULL ? ax_loop_init(&p->loop) : AX_ENOMEM;
  if (rc != 0) {
    free(p->slots);
    free(p);
    return 1;
  }
  rc = primary_start(p);
  if (rc != 0) {
    if (rc != AX_ENOTSUP)
      fprintf(stderr, "cluster: %s\n", ax_strerror(rc));
    primary_stop(p);
  }
  ax_run(&p->loop, AX_RUN_DEFAULT);
  ax_walk(&p->loop, primary_close_one, NULL);
  ax_run(&p->loop, AX_RUN_DEFAULT);
  if (ax_loop_close(&p->loop) != 0 && rc == 0)
    rc = AX_EBUSY;
  free(p->slots);
  free(p);
  return rc == AX_ENOTSUP ? 3 : rc == 0 ? 0 : 1;
}
