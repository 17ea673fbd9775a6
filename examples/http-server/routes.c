/*
 * routes.c: what each request of the HTTP server example gets.
 *
 *   GET  /              "Hello, World!" (the benchmark's route)
 *   POST /upload        the body's length and FNV-1a digest (PUT too)
 *   GET  /static/PATH   a file under --static DIR
 *   GET  /delay?ms=N    an answer after N ms, from the connection's timer
 *   GET  /hash?n=N      N rounds of a mixing function, on the thread pool
 *   GET  /kv/KEY        a key-value server's value (kv-routes.c); PUT too
 *
 * HEAD works wherever GET does, OPTIONS everywhere (the route's Allow);
 * a method no route takes is 501 (docs/http-server.md, "Conformance",
 * has the choices RFC 9110 leaves). route_head() reads what it needs
 * from the request's head (whose bytes may be gone later), route_body()
 * takes the body, route_respond() answers: at once into the loop's
 * output buffer, or later, between conn_async_begin() and
 * conn_async_end(). "/" is answered from a copy kept until the Date
 * changes (response_cached).
 *
 * Static files, and why they cannot leave the directory. The path is
 * percent-decoded, and refused (404) if any segment is empty or starts
 * with "." (so "..", "." and hidden files), or holds a backslash, a colon
 * or a control byte, which mean something else on Windows; a NUL or a
 * broken escape is 400. Then the file's canonical path (ax_fs_realpath,
 * which resolves every symbolic link) must lie under the directory's
 * own canonical path, so a link that points outside is 404 while one
 * that stays inside works. The canonical path is opened with
 * AX_FS_O_NOFOLLOW, so a link swapped in for the last component between
 * the two steps is refused too. (Swapping a directory higher up needs
 * write access to the served tree, which this defence does not try to
 * survive.) Only regular files are served.
 *
 * The file goes out with ax_fs_sendfile() to the socket's descriptor
 * where the system has one (socket-file-*.c) and --sendfile is on: the
 * kernel copies on a pool worker. The socket is non-blocking, so a copy
 * stops short when its buffer is full; the next chunk then goes through
 * the stream instead (ax_fs_read + ax_write, whose completion says the
 * socket drained), and sendfile takes over again after it. Without
 * sendfile, every chunk takes that second path.
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  FILE_CHUNK_BYTES = 64 * 1024,  /* One read + write of a file. */
  FILE_SENDFILE_STEP = 16 << 20, /* The most one sendfile is asked. */
  RANGE_TEXT_BYTES = 80,         /* "bytes=A-B/size" and such. */
};

/* Which part of a file a Range field asks for. */
enum range_kind {
  RANGE_NONE,   /* The whole file. */
  RANGE_FROM,   /* first-last, last UINT64_MAX for "to the end". */
  RANGE_SUFFIX, /* The last `first` bytes. */
};

/* What an If-Match or If-None-Match field holds. This server sends no
 * entity tags, so no listed tag can match a file: only "*" (any current
 * representation) can. */
enum tag_condition {
  TAG_ABSENT, /* No such field. */
  TAG_ANY,    /* "*". */
  TAG_LIST,   /* Entity tags, none of which is ours. */
};

/* A file being answered: the state of /static/ from head to last byte. */
struct file_job {
  struct conn *conn;    /* The connection it answers. */
  ax_fs_t resolve;      /* realpath, until the open has its answer. */
  ax_fs_t fs;           /* open, fstat, then sendfile or read steps. */
  ax_write_t write;     /* A chunk of buf going out. */
  ax_file_t file;       /* The open file, or -1. */
  ax_file_t socket;     /* sendfile's destination, or -1. */
  char *buf;            /* FILE_CHUNK_BYTES, once a chunk needs it. */
  uint64_t offset;      /* The next byte of the file to send. */
  uint64_t remaining;   /* Bytes still to send. */
  uint64_t step;        /* Bytes asked of the sendfile or read going. */
  int64_t since;        /* If-Modified-Since, when has_since. */
  int64_t unmodified;   /* If-Unmodified-Since, when has_unmodified. */
  int64_t if_range;     /* If-Range's date, when has_if_range. */
  uint64_t range_first; /* See enum range_kind. */
  uint64_t range_last;  /* See enum range_kind. */
  uint8_t range;        /* enum range_kind. */
  uint8_t match;        /* enum tag_condition of If-Match. */
  uint8_t none_match;   /* enum tag_condition of If-None-Match. */
  bool has_since;       /* A valid If-Modified-Since came. */
  bool has_unmodified;  /* A valid If-Unmodified-Since came. */
  bool has_if_range;    /* An If-Range came (valid or not). */
  bool if_range_ok;     /* It was a date (an entity tag never matches). */
  const char *type;     /* The Content-Type, from the extension. */
  char path[];          /* The directory, "/", the decoded path. */
};

/* Hash work: the rounds, then the result, on the pool. */
struct hash_job {
  ax_work_t work;    /* The pool request. */
  struct conn *conn; /* The connection it answers. */
  uint64_t rounds;   /* How many. */
  uint64_t result;   /* The value after them. */
};

static const char hello[] = "Hello, World!";

const struct route_extra *route_extra;

/* -- Reading the head --------------------------------------------------- */

static bool slice_is(struct http_slice s, const char *text) {
  return s.len == strlen(text) && memcmp(s.data, text, s.len) == 0;
}

static char lower(char c) {
  return (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

/* Header names compare without regard to case. */
static bool name_is(struct http_slice s, const char *name) {
  if (s.len != strlen(name))
    return false;
  for (size_t i = 0; i < s.len; i++)
    if (lower(s.data[i]) != name[i])
      return false;
  return true;
}

/* The authority of an absolute-form target ("http://" or "https://",
 * case-insensitive, then the authority), or false. RFC 9110 section
 * 4.2.1 makes an http URI with an empty host invalid (a MUST), section
 * 4.2.4 asks to treat userinfo as an error, and this server is the
 * origin of no other scheme: all three are 400. The Host field is
 * ignored then, as RFC 9112 section 3.2.2 requires. */
static bool target_authority(struct http_slice t, size_t *authority_end) {
  size_t i;
  if (t.len >= 7 && name_is((struct http_slice){t.data, 7}, "http://"))
    i = 7;
  else if (t.len >= 8 && name_is((struct http_slice){t.data, 8}, "https://"))
    i = 8;
  else
    return false;
  size_t start = i;
  while (i < t.len && t.data[i] != '/' && t.data[i] != '?') {
    if (t.data[i] == '@')
      return false;
    i++;
  }
  *authority_end = i;
  return i > start && t.data[start] != ':'; /* A host, not just a port. */
}

/* The path and query of the target: origin-form as sent; absolute-form
 * ("http://host/path") without its scheme and authority. */
static bool target_split(const struct http_request *r, struct http_slice *path,
                         struct http_slice *query) {
  struct http_slice t = r->target;
  if (r->target_form == HTTP_TARGET_ABSOLUTE) {
    size_t i;
    if (!target_authority(t, &i))
      return false;
    t.data += i;
    t.len -= i;
    if (t.len == 0 || t.data[0] != '/') { /* "http://host?q": path "/". */
      *path = (struct http_slice){"/", 1};
      *query = t;
      return true;
    }
  } else if (r->target_form != HTTP_TARGET_ORIGIN) {
    return false;
  }
  const char *mark = memchr(t.data, '?', t.len);
  size_t path_len = mark != NULL ? (size_t)(mark - t.data) : t.len;
  *path = (struct http_slice){t.data, path_len};
  *query = (struct http_slice){t.data + path_len, t.len - path_len};
  return true;
}

/* The decimal value of "name=value" in a query ("?a=1&b=2"): false if
 * the name is missing or its value is not a number below 2^63. */
static bool query_number(struct http_slice query, const char *name,
                         uint64_t *value) {
  size_t name_len = strlen(name), i = 0;
  while (i < query.len) {
    i++; /* The "?" or "&" before a parameter. */
    size_t start = i;
    while (i < query.len && query.data[i] != '&')
      i++;
    const char *p = query.data + start;
    size_t len = i - start;
    if (len <= name_len || memcmp(p, name, name_len) != 0 || p[name_len] != '=')
      continue;
    uint64_t v = 0;
    size_t digits = len - name_len - 1;
    if (digits == 0 || digits > 18)
      return false;
    for (size_t d = 0; d < digits; d++) {
      char c = p[name_len + 1 + d];
      if (c < '0' || c > '9')
        return false;
      v = v * 10 + (uint64_t)(c - '0');
    }
    *value = v;
    return true;
  }
  return false;
}

/* -- /static/: paths, types and conditions ----------------------------- */

static int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = lower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A byte a path segment may hold once decoded: no separator of any
 * system, no control byte. */
static bool path_byte_ok(unsigned char c) {
  return c >= 0x20 && c != 0x7f && c != '\\' && c != ':';
}

/* Percent-decode @p raw (the path after "/static/") into @p out, and
 * check each segment. 0, or the status that refuses it. */
static int static_decode(struct http_slice raw, char *out, size_t *out_len) {
  size_t n = 0, segment = 0;
  for (size_t i = 0; i < raw.len; i++) {
    unsigned char c = (unsigned char)raw.data[i];
    if (c == '%') {
      int hi = i + 2 < raw.len ? hex_digit(raw.data[i + 1]) : -1;
      int lo = hi >= 0 ? hex_digit(raw.data[i + 2]) : -1;
      if (lo < 0 || (hi == 0 && lo == 0))
        return 400; /* A broken escape, or a NUL. */
      c = (unsigned char)(hi * 16 + lo);
      i += 2;
    }
    bool starts = n == segment;
    if (c == '/') {
      if (starts)
        return 404; /* An empty segment ("//", or a trailing "/"). */
      segment = n + 1;
    } else if (!path_byte_ok(c) || (starts && c == '.')) {
      return 404; /* ".", "..", a hidden file, a Windows separator. */
    }
    out[n++] = (char)c;
  }
  if (n == 0 || n == segment)
    return 404; /* The directory itself, or one inside it. */
  *out_len = n;
  return 0;
}

static const char *content_type(const char *path) {
  static const char *const types[][2] = {
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"json", "application/json"},
      {"txt", "text/plain; charset=utf-8"},
      {"md", "text/markdown; charset=utf-8"},
      {"c", "text/plain; charset=utf-8"},
      {"h", "text/plain; charset=utf-8"},
      {"xml", "application/xml"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"ico", "image/x-icon"},
      {"pdf", "application/pdf"},
      {"wasm", "application/wasm"},
      {"woff2", "font/woff2"},
  };
  const char *slash = strrchr(path, '/');
  const char *dot = strrchr(slash != NULL ? slash : path, '.');
  if (dot != NULL) {
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
      const char *a = dot + 1, *b = types[i][0];
      while (*a != '\0' && lower(*a) == *b) {
        a++;
        b++;
      }
      if (*a == '\0' && *b == '\0')
        return types[i][1];
    }
  }
  return "application/octet-stream";
}

/* Digits, at most 18 of them, from *p: false if there are none. */
static bool range_number(const char **p, const char *end, uint64_t *value) {
  const char *start = *p;
  *value = 0;
  while (*p < end && **p >= '0' && **p <= '9' && *p - start < 18)
    *value = *value * 10 + (uint64_t)(*(*p)++ - '0');
  return *p > start && (*p == end || **p < '0' || **p > '9');
}

/* "bytes=A-B", "bytes=A-" or "bytes=-N". Anything else, several ranges
 * included, is ignored: the whole file is a valid answer to those. */
static void range_parse(struct file_job *job, struct http_slice v) {
  const char *p = v.data, *end = v.data + v.len;
  uint64_t first = 0, last = UINT64_MAX;
  if (v.len < 7 || !name_is((struct http_slice){p, 5}, "bytes") || p[5] != '=')
    return;
  p += 6;
  if (*p == '-') {
    p++;
    if (!range_number(&p, end, &first) || p != end)
      return;
    job->range = RANGE_SUFFIX;
  } else {
    if (!range_number(&p, end, &first) || p == end || *p++ != '-')
      return;
    if (p != end && (!range_number(&p, end, &last) || last < first))
      return;
    if (p != end)
      return;
    job->range = RANGE_FROM;
  }
  job->range_first = first;
  job->range_last = last;
}

/* One more If-Match or If-None-Match field: the fields make one list,
 * which is "*" only if it is the only member. */
static uint8_t tag_condition(uint8_t before, struct http_slice value) {
  bool any = value.len == 1 && value.data[0] == '*';
  return before == TAG_ABSENT && any ? TAG_ANY : TAG_LIST;
}

/* The conditions on a file: the preconditions of RFC 9110 section 13,
 * Range and If-Range. A second field of a date (or of If-Range) makes
 * its value a list, which sections 13.1.3 and 13.1.4 say to ignore. */
static void static_conditions(struct file_job *job,
                              const struct http_request *r) {
  int ranges = 0, since = 0, unmodified = 0, if_ranges = 0;
  for (size_t i = 0; i < r->header_count; i++) {
    struct http_slice name = r->headers[i].name;
    struct http_slice value = r->headers[i].value;
    if (name_is(name, "if-modified-since")) {
      job->has_since = since++ == 0 &&
                       http_date_parse(value.data, value.len, &job->since);
    } else if (name_is(name, "if-unmodified-since")) {
      job->has_unmodified = unmodified++ == 0 &&
                            http_date_parse(value.data, value.len,
                                            &job->unmodified);
    } else if (name_is(name, "if-match")) {
      job->match = tag_condition(job->match, value);
    } else if (name_is(name, "if-none-match")) {
      job->none_match = tag_condition(job->none_match, value);
    } else if (name_is(name, "range")) {
      if (ranges++ == 0)
        range_parse(job, value);
      else
        job->range = RANGE_NONE; /* Two Range fields: ignore both. */
    } else if (name_is(name, "if-range")) {
      job->has_if_range = true;
      job->if_range_ok = if_ranges++ == 0 &&
                         http_date_parse(value.data, value.len, &job->if_range);
    }
  }
  if (r->method_id != HTTP_METHOD_GET)
    job->range = RANGE_NONE; /* RFC 9110: Range is for GET only. */
}

/* The job of a /static/ request, or the status that refuses it. */
static int static_head(struct conn *c, const struct http_request *r,
                       struct http_slice rest) {
  const struct config *cfg = c->server->config;
  if (cfg->static_root == NULL)
    return 404;
  struct file_job *job = calloc(1, sizeof(*job) + cfg->static_root_len + 2 +
                                       rest.len);
  if (job == NULL)
    return 503;
  c->req.job = job;
  job->conn = c;
  job->file = -1;
  job->socket = -1;
  memcpy(job->path, cfg->static_root, cfg->static_root_len);
  job->path[cfg->static_root_len] = '/';
  size_t len;
  int status = static_decode(rest, job->path + cfg->static_root_len + 1, &len);
  if (status != 0)
    return status;
  job->path[cfg->static_root_len + 1 + len] = '\0';
  job->type = content_type(job->path);
  static_conditions(job, r);
  return 0;
}

/* -- The head ---------------------------------------------------------- */

/* The methods some route takes. Any other (DELETE, PATCH, TRACE,
 * CONNECT, an unknown token, "get" in lowercase) is 501 for every
 * target, as RFC 9110 section 9.1 asks of a method the server does not
 * implement; 405 is for a method another route takes. */
static bool method_implemented(int method) {
  return method == HTTP_METHOD_GET || method == HTTP_METHOD_HEAD ||
         method == HTTP_METHOD_POST || method == HTTP_METHOD_PUT ||
         method == HTTP_METHOD_OPTIONS;
}

static bool method_allowed(uint8_t route, int method) {
  if (method == HTTP_METHOD_OPTIONS)
    return true;
  if (route == ROUTE_UPLOAD)
    return method == HTTP_METHOD_POST || method == HTTP_METHOD_PUT;
  if (route == ROUTE_KV && method == HTTP_METHOD_PUT)
    return true;
  return method == HTTP_METHOD_GET || method == HTTP_METHOD_HEAD;
}

/* The Allow value of a route (of the whole server for ROUTE_NONE,
 * OPTIONS "*"). */
static const char *route_allow(uint8_t route) {
  switch (route) {
  case ROUTE_NONE:
    return "GET, HEAD, OPTIONS, POST, PUT";
  case ROUTE_UPLOAD:
    return "OPTIONS, POST, PUT";
  case ROUTE_KV:
    return "GET, HEAD, OPTIONS, PUT";
  default:
    return "GET, HEAD, OPTIONS";
  }
}

/* Match the path; read the route's arguments. 0 or a status. */
static int route_match(struct conn *c, const struct http_request *r) {
  struct request *q = &c->req;
  const struct config *cfg = c->server->config;
  struct http_slice path, query;
  if (!target_split(r, &path, &query))
    return 400;
  int extra = route_extra != NULL ? route_extra->match(c, path, query) : -1;
  if (extra >= 0) {
    q->route = ROUTE_EXTRA;
    return extra != 0                               ? extra
           : method_allowed(q->route, r->method_id) ? 0
                                                    : 405;
  }
  if (slice_is(path, "/")) {
    q->route = ROUTE_HELLO;
  } else if (slice_is(path, "/upload")) {
    q->route = ROUTE_UPLOAD;
    q->digest = 0xcbf29ce484222325u; /* FNV-1a's offset basis. */
  } else if (slice_is(path, "/delay")) {
    q->route = ROUTE_DELAY;
    if (!q->options &&
        (!query_number(query, "ms", &q->arg) || q->arg > cfg->max_delay_ms))
      return 400;
  } else if (slice_is(path, "/hash")) {
    q->route = ROUTE_HASH;
    if (!q->options &&
        (!query_number(query, "n", &q->arg) || q->arg > cfg->max_hash_rounds))
      return 400;
  } else if (path.len >= 4 && memcmp(path.data, "/kv/", 4) == 0) {
    q->route = ROUTE_KV;
    q->arg = r->method_id == HTTP_METHOD_PUT; /* kv-routes.c: a SET. */
    if (q->options)
      return c->server->kv != NULL ? 0 : 404;
    if (method_allowed(q->route, r->method_id))
      return kv_route_head(c, (struct http_slice){path.data + 4, path.len - 4});
  } else if (path.len > 8 && memcmp(path.data, "/static/", 8) == 0) {
    q->route = ROUTE_STATIC;
    if (q->options) /* The route's methods; the file is not looked for. */
      return cfg->static_root != NULL ? 0 : 404;
    if (method_allowed(q->route, r->method_id))
      return static_head(c, r,
                         (struct http_slice){path.data + 8, path.len - 8});
  } else {
    return 404;
  }
  return method_allowed(q->route, r->method_id) ? 0 : 405;
}

void route_head(struct conn *c, const struct http_request *r) {
  struct request *q = &c->req;
  q->head = r->method_id == HTTP_METHOD_HEAD;
  q->keep_alive = r->keep_alive;
  q->http10 = r->version_minor == 0;
  q->options = r->method_id == HTTP_METHOD_OPTIONS;
  if (!method_implemented(r->method_id))
    q->status = 501;
  else if (r->target_form == HTTP_TARGET_ASTERISK)
    q->status = 0; /* OPTIONS *: the server's methods (ROUTE_NONE). */
  else
    q->status = (uint16_t)route_match(c, r);
}

/* FNV-1a, 64 bits: a digest the test can compute too. */
void route_body(struct conn *c, struct http_slice body) {
  struct request *q = &c->req;
  if (q->route == ROUTE_KV) {
    kv_route_body(c, body);
    return;
  }
  if (q->route != ROUTE_UPLOAD || q->status != 0)
    return; /* Read and dropped. */
  for (size_t i = 0; i < body.len; i++) {
    q->digest ^= (unsigned char)body.data[i];
    q->digest *= 0x100000001b3u;
  }
  q->arg += body.len;
}

/* -- Files ------------------------------------------------------------- */

static void file_send(struct file_job *job);
static void file_read_chunk(struct file_job *job);

/* The status a failed file system call becomes. */
static int file_error_status(int64_t err) {
  if (err == AX_ENOENT || err == AX_ENOTDIR || err == AX_ELOOP ||
      err == AX_ENAMETOOLONG)
    return 404;
  return err == AX_EACCES || err == AX_EPERM ? 403 : 500;
}

/* Answer with an error and end the request. */
static void file_fail(struct file_job *job, int status) {
  struct conn *c = job->conn;
  char text[64];
  snprintf(text, sizeof(text), "%d\n", status);
  if (!response_text(c, status, text)) {
    conn_abort(c);
    return;
  }
  conn_async_end(c); /* Frees the job. */
}

static void file_opened(ax_fs_t *req);

/* Under the directory: its canonical path, then a separator. */
static bool file_inside(const struct config *cfg, const char *path) {
  size_t n = cfg->static_root_len;
  if (strncmp(path, cfg->static_root, n) != 0)
    return false;
  return path[n] == '/' || path[n] == '\\' ||
         (n > 0 &&
          (cfg->static_root[n - 1] == '/' || cfg->static_root[n - 1] == '\\'));
}

static void file_resolved(ax_fs_t *req) {
  struct file_job *job = ax_container_of(req, struct file_job, resolve);
  struct conn *c = job->conn;
  if (conn_pending_end(c))
    return;
  if (req->result < 0) {
    file_fail(job, file_error_status(req->result));
    return;
  }
  if (!file_inside(c->server->config, req->ptr)) {
    file_fail(job, 404); /* A link that leads out of the directory. */
    return;
  }
  c->pending++;
  int rc = ax_fs_open(&c->server->loop, &job->fs, req->ptr,
                      AX_FS_O_RDONLY | AX_FS_O_NOFOLLOW, 0, file_opened);
  ax_fs_req_cleanup(req); /* The open has its own copy of the path. */
  if (rc != 0) {
    c->pending--;
    file_fail(job, 500);
  }
}

static void file_statted(ax_fs_t *req);

static void file_opened(ax_fs_t *req) {
  struct file_job *job = ax_container_of(req, struct file_job, fs);
  struct conn *c = job->conn;
  if (req->result >= 0)
    job->file = (ax_file_t)req->result; /* Closed by route_free(). */
  ax_fs_req_cleanup(req);
  if (conn_pending_end(c))
    return;
  if (req->result < 0) {
    file_fail(job, file_error_status(req->result));
    return;
  }
  c->pending++;
  if (ax_fs_fstat(&c->server->loop, req, job->file, file_statted) != 0) {
    c->pending--;
    file_fail(job, 500);
  }
}

/* The part to send, or false for 416. */
static bool file_range(struct file_job *job, uint64_t size) {
  job->offset = 0;
  job->remaining = size;
  if (job->range == RANGE_SUFFIX) {
    if (job->range_first == 0 || size == 0)
      return false;
    job->offset = size > job->range_first ? size - job->range_first : 0;
    job->remaining = size - job->offset;
  } else if (job->range == RANGE_FROM) {
    if (job->range_first >= size)
      return false;
    uint64_t last = job->range_last < size ? job->range_last : size - 1;
    job->offset = job->range_first;
    job->remaining = last - job->range_first + 1;
  }
  return true;
}

/* The preconditions, in the order of RFC 9110 section 13.2.2 (the
 * method is GET or HEAD here): 412, 304, or 0 to go on. If-None-Match
 * makes If-Modified-Since ignored, and If-Match If-Unmodified-Since,
 * whatever they say (sections 13.1.3 and 13.1.4 make both MUSTs). */
static int file_preconditions(const struct file_job *job, int64_t mtime) {
  if (job->match == TAG_LIST)
    return 412; /* No tag of ours to match. */
  if (job->match == TAG_ABSENT && job->has_unmodified &&
      mtime > job->unmodified)
    return 412;
  if (job->none_match == TAG_ANY)
    return 304; /* The file exists: "*" matches it. */
  if (job->none_match == TAG_ABSENT && job->has_since && mtime <= job->since)
    return 304;
  return 0;
}

/* The status and the head of a file's answer. */
static bool file_head(struct file_job *job, const ax_stat_t *st) {
  struct conn *c = job->conn;
  char modified[HTTP_DATE_BYTES], text[RANGE_TEXT_BYTES];
  http_date_format(st->mtim.sec, modified);
  int failed = file_preconditions(job, st->mtim.sec);
  if (failed == 304) {
    job->remaining = 0;
    return response_head(c, 304, NULL, UINT64_MAX) &&
           response_field(c, "Last-Modified", modified) && response_end(c);
  }
  if (failed == 412) {
    job->remaining = 0;
    return response_head(c, 412, "text/plain; charset=utf-8", 0) &&
           response_end(c);
  }
  if (job->has_if_range && (!job->if_range_ok || job->if_range != st->mtim.sec))
    job->range = RANGE_NONE; /* Changed since: the whole file. */
  if (!file_range(job, st->size)) {
    job->remaining = 0;
    snprintf(text, sizeof(text), "bytes */%llu", (unsigned long long)st->size);
    return response_head(c, 416, "text/plain; charset=utf-8", 0) &&
           response_field(c, "Content-Range", text) && response_end(c);
  }
  int status = job->range == RANGE_NONE ? 200 : 206;
  bool ok = response_head(c, status, job->type, job->remaining) &&
            response_field(c, "Last-Modified", modified) &&
            response_field(c, "Accept-Ranges", "bytes");
  if (ok && status == 206) {
    snprintf(text, sizeof(text), "bytes %llu-%llu/%llu",
             (unsigned long long)job->offset,
             (unsigned long long)(job->offset + job->remaining - 1),
             (unsigned long long)st->size);
    ok = response_field(c, "Content-Range", text);
  }
  if (c->req.head)
    job->remaining = 0;
  return ok && response_end(c);
}

static void file_statted(ax_fs_t *req) {
  struct file_job *job = ax_container_of(req, struct file_job, fs);
  struct conn *c = job->conn;
  if (conn_pending_end(c))
    return;
  if (req->result < 0 || (req->statbuf.mode & AX_S_IFMT) != AX_S_IFREG) {
    file_fail(job, req->result < 0 ? 500 : 404); /* Not a regular file. */
    return;
  }
  bool ok = file_head(job, &req->statbuf);
  ax_fs_req_cleanup(req);
  if (!ok || conn_flush(c) != 0) {
    conn_abort(c);
    return;
  }
  if (job->remaining == 0) {
    conn_async_end(c);
    return;
  }
  if (c->server->config->sendfile && socket_file(c, &job->socket) != 0)
    job->socket = -1;
  conn_progress(c);
  conn_wait_drain(c); /* Then route_drained(): the body. */
}

/* A file's bytes moved: on to the next, or done. After a sendfile the
 * kernel did not take in full, the socket is full: the next chunk goes
 * through the stream, whose write completes once the socket drained. */
static void file_advance(struct file_job *job, uint64_t moved, bool full) {
  job->offset += moved;
  job->remaining -= moved;
  conn_progress(job->conn);
  if (job->remaining == 0)
    conn_async_end(job->conn); /* Frees the job. */
  else if (full)
    file_read_chunk(job);
  else
    file_send(job);
}

static void file_sent(ax_fs_t *req) {
  struct file_job *job = ax_container_of(req, struct file_job, fs);
  int64_t moved = req->result;
  ax_fs_req_cleanup(req);
  if (conn_pending_end(job->conn))
    return;
  if (moved == AX_EAGAIN) {
    file_advance(job, 0, true);
  } else if (moved <= 0) {
    /* The client left (EPIPE, ECONNRESET), or the file shrank (0) and
     * the Content-Length sent can no longer be met. */
    conn_abort(job->conn);
  } else {
    file_advance(job, (uint64_t)moved, (uint64_t)moved < job->step);
  }
}

static void file_written(ax_write_t *req, int status) {
  struct file_job *job = ax_container_of(req, struct file_job, write);
  if (status == AX_ECANCELED)
    return; /* The connection is closing; it frees the job. */
  if (status < 0)
    conn_abort(job->conn);
  else
    file_advance(job, job->step, false);
}

static void file_read_done(ax_fs_t *req) {
  struct file_job *job = ax_container_of(req, struct file_job, fs);
  struct conn *c = job->conn;
  ax_fs_req_cleanup(req);
  if (conn_pending_end(c))
    return;
  if (req->result <= 0) {
    conn_abort(c); /* A read error, or the file shrank. */
    return;
  }
  job->step = (uint64_t)req->result;
  ax_buf_t buf = ax_buf_init(job->buf, (size_t)job->step);
  if (ax_write(&job->write, &c->tcp.stream, &buf, 1, file_written) != 0)
    conn_abort(c);
}

/* One chunk through the loop: read it on the pool, write it on the
 * stream. The write's completion tells that the socket took it. */
static void file_read_chunk(struct file_job *job) {
  struct conn *c = job->conn;
  if (job->buf == NULL)
    job->buf = malloc(FILE_CHUNK_BYTES);
  if (job->buf == NULL) {
    conn_abort(c);
    return;
  }
  size_t want = job->remaining < FILE_CHUNK_BYTES ? (size_t)job->remaining
                                                  : FILE_CHUNK_BYTES;
  ax_buf_t buf = ax_buf_init(job->buf, want);
  c->pending++;
  if (ax_fs_read(&c->server->loop, &job->fs, job->file, &buf, 1,
                 (int64_t)job->offset, file_read_done) != 0) {
    c->pending--;
    conn_abort(c);
  }
}

static void file_send(struct file_job *job) {
  struct conn *c = job->conn;
  if (job->socket < 0) {
    file_read_chunk(job);
    return;
  }
  job->step = job->remaining < FILE_SENDFILE_STEP ? job->remaining
                                                  : FILE_SENDFILE_STEP;
  c->pending++;
  if (ax_fs_sendfile(&c->server->loop, &job->fs, job->socket, job->file,
                     (int64_t)job->offset, (int64_t)job->step,
                     file_sent) != 0) {
    c->pending--;
    conn_abort(c);
  }
}

static void file_start(struct conn *c) {
  struct file_job *job = c->req.job;
  c->pending++;
  if (ax_fs_realpath(&c->server->loop, &job->resolve, job->path,
                     file_resolved) != 0) {
    c->pending--;
    file_fail(job, 500);
  }
}

static void file_free(struct file_job *job) {
  if (job->file >= 0) {
    /* Closing a file opened for reading does not wait on the disk, so it
     * is done here rather than with another trip to the pool. */
    ax_fs_t close_req;
    ax_fs_close(&job->conn->server->loop, &close_req, job->file, NULL);
    ax_fs_req_cleanup(&close_req);
  }
  ax_fs_req_cleanup(&job->resolve);
  ax_fs_req_cleanup(&job->fs);
  free(job->buf);
  free(job);
}

/* -- /delay and /hash -------------------------------------------------- */

static void delay_done(ax_timer_t *timer) {
  struct conn *c = ax_container_of(timer, struct conn, timer);
  char text[48];
  snprintf(text, sizeof(text), "waited %llu ms\n",
           (unsigned long long)c->req.arg);
  if (!response_text(c, 200, text)) {
    conn_abort(c);
    return;
  }
  conn_async_end(c);
}

/* Work for a CPU: each round depends on the one before, so no compiler
 * can shorten it, and it touches no memory. */
uint64_t hash_rounds(uint64_t rounds) {
  uint64_t x = 0x9e3779b97f4a7c15u;
  for (uint64_t i = 0; i < rounds; i++) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x += i;
  }
  return x;
}

static void hash_work(ax_work_t *work) {
  struct hash_job *job = ax_container_of(work, struct hash_job, work);
  job->result = hash_rounds(job->rounds);
}

static void hash_done(ax_work_t *work, int status) {
  struct hash_job *job = ax_container_of(work, struct hash_job, work);
  struct conn *c = job->conn;
  if (conn_pending_end(c))
    return;
  char text[64];
  snprintf(text, sizeof(text), "%016llx\n", (unsigned long long)job->result);
  bool ok = status == 0 ? response_text(c, 200, text)
                        : response_text(c, 503, "Service Unavailable\n");
  if (!ok) {
    conn_abort(c);
    return;
  }
  conn_async_end(c);
}

static void hash_start(struct conn *c) {
  struct hash_job *job = calloc(1, sizeof(*job));
  if (job != NULL) {
    job->conn = c; /* Before the queue: a worker may start at once. */
    job->rounds = c->req.arg;
  }
  if (job == NULL ||
      ax_queue_work(&c->server->loop, &job->work, hash_work, hash_done) != 0) {
    free(job);
    if (!response_text(c, 503, "Service Unavailable\n"))
      conn_abort(c);
    else
      conn_async_end(c);
    return;
  }
  c->req.job = job;
  c->pending++;
}

/* -- Answering ---------------------------------------------------------- */

static void respond_refused(struct conn *c) {
  int status = c->req.status;
  char text[64];
  snprintf(text, sizeof(text), "%d\n", status);
  bool ok;
  if (status == 405) {
    ok = response_head(c, 405, "text/plain; charset=utf-8", strlen(text)) &&
         response_field(c, "Allow", route_allow(c->req.route)) &&
         response_end(c) && response_body(c, text, strlen(text));
  } else {
    ok = response_text(c, status, text);
  }
  if (!ok)
    conn_abort(c);
}

/* The benchmark's answer; response_cached() keeps it while the Date
 * holds. */
static bool hello_make(struct conn *c) {
  return response_head(c, 200, "text/plain", sizeof(hello) - 1) &&
         response_end(c) && response_body(c, hello, sizeof(hello) - 1);
}

void route_respond(struct conn *c) {
  struct request *q = &c->req;
  char text[80];
  bool ok = true;
  if (q->status != 0) {
    respond_refused(c);
    return;
  }
  if (q->options) {
    /* RFC 9110 section 9.3.7: no content, so Content-Length: 0. */
    ok = response_head(c, 200, NULL, 0) &&
         response_field(c, "Allow", route_allow(q->route)) && response_end(c);
    if (!ok)
      conn_abort(c);
    return;
  }
  switch (q->route) {
  case ROUTE_HELLO:
    ok = response_cached(c, &c->server->hello, hello_make);
    break;
  case ROUTE_UPLOAD:
    snprintf(text, sizeof(text), "%llu bytes, fnv1a64 %016llx\n",
             (unsigned long long)q->arg, (unsigned long long)q->digest);
    ok = response_text(c, 200, text);
    break;
  case ROUTE_STATIC:
    conn_async_begin(c);
    file_start(c);
    break;
  case ROUTE_DELAY:
    conn_async_begin(c);
    ax_timer_start(&c->timer, delay_done, q->arg, 0);
    break;
  case ROUTE_HASH:
    conn_async_begin(c);
    hash_start(c);
    break;
  case ROUTE_EXTRA:
    route_extra->respond(c);
    break;
  case ROUTE_KV:
    conn_async_begin(c);
    kv_route_respond(c);
    break;
  default:
    break;
  }
  if (!ok)
    conn_abort(c);
}

/* What was flushed before a file's body is out: the body may follow. */
void route_drained(struct conn *c) {
  if (c->req.route == ROUTE_STATIC && c->req.job != NULL)
    file_send(c->req.job);
}

void route_free(struct conn *c) {
  if (c->req.job == NULL)
    return;
  if (c->req.route == ROUTE_STATIC)
    file_free(c->req.job);
  else if (c->req.route == ROUTE_KV)
    kv_route_free(c);
  else
    free(c->req.job);
  c->req.job = NULL;
}
