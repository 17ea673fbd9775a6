/*
 * test_http_parser.c: the HTTP server example's request parser
 * (examples/http-server/http-parser.c), against the corpus in
 * test/http-corpus/ and a few properties of its calling protocol.
 *
 * Every corpus case is fed whole, split in two at every byte position, and
 * byte by byte; each run turns the parser's events into a transcript,
 * which must equal the case's expected one (test/http-corpus/README.md
 * describes the format). The slices the parser hands out must lie inside
 * the input, and an error must be found at the same byte whatever the
 * split. The parser needs no loop and allocates nothing; this program
 * allocates only for the corpus.
 *
 *   test-http-parser CORPUS-FILE...              run the tests
 *   test-http-parser --write-seeds DIR FILE...   write every case's input
 *                                                as a libFuzzer seed
 *                                                (test/fuzz/)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http-parser.h"

/* ---- Growable byte buffers -------------------------------------------- */

struct buf {
  char *data; /* The bytes; NULL while empty. */
  size_t len; /* Bytes used. */
  size_t cap; /* Bytes allocated. */
};

static void buf_reserve(struct buf *b, size_t more) {
  if (b->len + more <= b->cap) {
    return;
  }
  size_t cap = b->cap == 0 ? 256 : b->cap;
  while (cap < b->len + more) {
    cap *= 2;
  }
  char *data = realloc(b->data, cap);
  if (data == NULL) {
    fprintf(stderr, "test-http-parser: out of memory\n");
    exit(1);
  }
  b->data = data;
  b->cap = cap;
}

static void buf_append(struct buf *b, const void *data, size_t len) {
  buf_reserve(b, len);
  if (len > 0) {
    memcpy(b->data + b->len, data, len);
  }
  b->len += len;
}

static void buf_free(struct buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* A transcript is a sequence of records, each a 4-byte length and its
 * bytes, so that a record may hold any byte (a body holds CR and LF). */
static void record_bytes(struct buf *t, const char *data, size_t len) {
  uint32_t n = (uint32_t)len;
  buf_append(t, &n, sizeof(n));
  buf_append(t, data, len);
}

static void record(struct buf *t, const char *format, ...) {
  char text[256];
  va_list args;
  va_start(args, format);
  int n = vsnprintf(text, sizeof(text), format, args);
  va_end(args);
  record_bytes(t, text, n < 0 ? 0 : (size_t)n);
}

/* Print a transcript, one record a line, escaped as the corpus is. */
static void print_transcript(const char *title, const struct buf *t) {
  size_t pos = 0;
  printf("    %s:\n", title);
  while (pos + sizeof(uint32_t) <= t->len) {
    uint32_t n;
    memcpy(&n, t->data + pos, sizeof(n));
    pos += sizeof(n);
    printf("      ");
    for (uint32_t i = 0; i < n && i < 200; i++) {
      unsigned char c = (unsigned char)t->data[pos + i];
      if (c == '\r') {
        printf("\\r");
      } else if (c == '\n') {
        printf("\\n");
      } else if (c == '\\') {
        printf("\\\\");
      } else if (c < 0x20 || c >= 0x7f) {
        printf("\\x%02x", c);
      } else {
        putchar(c);
      }
    }
    if (n > 200) {
      printf("... (%lu bytes)", (unsigned long)n);
    }
    putchar('\n');
    pos += n;
  }
}

/* ---- The corpus --------------------------------------------------------- */

/* One case of a corpus file. */
struct corpus_case {
  char name[96];             /* After "=== ". */
  int line;                  /* Line of "===" in its file. */
  struct http_limits limits; /* From "limits", else the defaults. */
  struct buf input;          /* The "> " lines, unescaped. */
  struct buf expected;       /* The other lines, as transcript records. */
};

/* One corpus file: a group of cases, one cmocka test. */
struct corpus_group {
  char path[512];            /* As given on the command line. */
  char name[64];             /* The file's name without directory and
                                extension. */
  struct corpus_case *cases; /* The cases, in file order. */
  size_t count;              /* Cases. */
};

static void corpus_die(const char *path, int line, const char *message) {
  fprintf(stderr, "%s:%d: %s\n", path, line, message);
  exit(1);
}

/* Unescape text up to its end or, inside a repetition, up to the "}" that
 * closes it. Escapes: \r \n \t \0 \\ \xNN, and \{N:text} for N copies of
 * text (which may hold escapes). Returns where it stopped. */
static const char *unescape(const char *s, struct buf *out, bool nested,
                            const char *path, int line) {
  while (*s != '\0' && !(nested && *s == '}')) {
    if (*s != '\\') {
      buf_append(out, s++, 1);
      continue;
    }
    char c = s[1], byte;
    s += 2;
    if (c == 'r' || c == 'n' || c == 't' || c == '0' || c == '\\') {
      byte = c == 'r'   ? '\r'
             : c == 'n' ? '\n'
             : c == 't' ? '\t'
             : c == '0' ? '\0'
                        : '\\';
      buf_append(out, &byte, 1);
    } else if (c == 'x') {
      char hex[3] = {s[0], s[0] ? s[1] : '\0', '\0'};
      char *end;
      byte = (char)strtoul(hex, &end, 16);
      if (end != hex + 2) {
        corpus_die(path, line, "\\x needs two hex digits");
      }
      buf_append(out, &byte, 1);
      s += 2;
    } else if (c == '{') {
      char *end;
      unsigned long copies = strtoul(s, &end, 10);
      if (end == s || *end != ':' || copies == 0 || copies > 1000000) {
        corpus_die(path, line, "\\{ needs a count from 1 to 1000000 and :");
      }
      size_t start = out->len;
      s = unescape(end + 1, out, true, path, line);
      if (*s != '}') {
        corpus_die(path, line, "\\{ without its }");
      }
      s++;
      size_t len = out->len - start;
      for (unsigned long i = 1; i < copies; i++) {
        buf_reserve(out, len);
        buf_append(out, out->data + start, len);
      }
    } else {
      corpus_die(path, line, "unknown escape");
    }
  }
  return s;
}

static void parse_limits(struct corpus_case *c, const char *s, const char *path,
                         int line) {
  while (*s == ' ') {
    s++;
  }
  while (*s != '\0') {
    char key[16];
    unsigned long long value;
    int used = 0;
    if (sscanf(s, "%15[a-z]=%llu%n", key, &value, &used) != 2) {
      corpus_die(path, line, "limits takes head=, target=, headers=, body=");
    }
    if (strcmp(key, "head") == 0) {
      c->limits.max_head_bytes = (size_t)value;
    } else if (strcmp(key, "target") == 0) {
      c->limits.max_target_bytes = (size_t)value;
    } else if (strcmp(key, "headers") == 0) {
      c->limits.max_headers = (size_t)value;
    } else if (strcmp(key, "body") == 0) {
      c->limits.max_body_bytes = value;
    } else {
      corpus_die(path, line, "unknown limit");
    }
    s += used;
    while (*s == ' ') {
      s++;
    }
  }
}

/* An expected line: a record, or "repeat N RECORD" for N copies. */
static void parse_expected(struct corpus_case *c, const char *s,
                           const char *path, int line) {
  unsigned long copies = 1;
  int used = 0;
  struct buf text = {0};
  if (strncmp(s, "repeat ", 7) == 0) {
    if (sscanf(s, "repeat %lu %n", &copies, &used) != 1 || used == 0 ||
        copies == 0 || copies > 100000) {
      corpus_die(path, line, "repeat needs a count and a record");
    }
    s += used;
  }
  const char *end = unescape(s, &text, false, path, line);
  (void)end;
  for (unsigned long i = 0; i < copies; i++) {
    record_bytes(&c->expected, text.data, text.len);
  }
  buf_free(&text);
}

static struct corpus_case *group_add(struct corpus_group *g, const char *name,
                                     int line) {
  struct corpus_case *cases = realloc(g->cases,
                                      (g->count + 1) * sizeof(*cases));
  if (cases == NULL) {
    corpus_die(g->path, line, "out of memory");
  }
  g->cases = cases;
  struct corpus_case *c = &cases[g->count++];
  memset(c, 0, sizeof(*c));
  if (strlen(name) >= sizeof(c->name)) {
    corpus_die(g->path, line, "case name too long");
  }
  memcpy(c->name, name, strlen(name) + 1);
  c->line = line;
  c->limits = (struct http_limits){
      HTTP_PARSER_DEFAULT_HEAD_BYTES, HTTP_PARSER_DEFAULT_TARGET_BYTES,
      HTTP_PARSER_DEFAULT_HEADERS, HTTP_PARSER_DEFAULT_BODY_BYTES};
  return c;
}

/* One line of a corpus file, without its newline. */
static void parse_line(struct corpus_group *g, char *text, int line) {
  struct corpus_case *c = g->count > 0 ? &g->cases[g->count - 1] : NULL;
  size_t len = strlen(text);
  if (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t')) {
    corpus_die(g->path, line, "trailing whitespace (write \\x20)");
  }
  if (len == 0 || text[0] == '#') {
    return;
  }
  if (strncmp(text, "=== ", 4) == 0) {
    group_add(g, text + 4, line);
  } else if (c == NULL) {
    corpus_die(g->path, line, "text before the first === line");
  } else if (strcmp(text, ">") == 0 || strncmp(text, "> ", 2) == 0) {
    if (c->expected.len > 0) {
      corpus_die(g->path, line, "input after the expected records");
    }
    unescape(text + (len > 1 ? 2 : 1), &c->input, false, g->path, line);
  } else if (strncmp(text, "limits ", 7) == 0) {
    parse_limits(c, text + 7, g->path, line);
  } else {
    parse_expected(c, text, g->path, line);
  }
}

static void group_load(struct corpus_group *g, const char *path) {
  FILE *file = fopen(path, "rb");
  char text[8192];
  int line = 0;
  memset(g, 0, sizeof(*g));
  snprintf(g->path, sizeof(g->path), "%s", path);
  const char *base = path;
  for (const char *s = path; *s != '\0'; s++) {
    if (*s == '/' || *s == '\\') {
      base = s + 1;
    }
  }
  snprintf(g->name, sizeof(g->name), "%.*s", (int)strcspn(base, "."), base);
  if (file == NULL) {
    corpus_die(path, 0, "cannot open");
  }
  while (fgets(text, sizeof(text), file) != NULL) {
    size_t len = strlen(text);
    line++;
    if (len > 0 && text[len - 1] == '\n') {
      text[--len] = '\0';
    } else if (!feof(file)) {
      corpus_die(path, line, "line too long");
    }
    if (len > 0 && text[len - 1] == '\r') {
      text[--len] = '\0'; /* A checkout with CRLF line ends. */
    }
    parse_line(g, text, line);
  }
  fclose(file);
  if (g->count == 0) {
    corpus_die(path, line, "no cases");
  }
}

static void group_free(struct corpus_group *g) {
  for (size_t i = 0; i < g->count; i++) {
    buf_free(&g->cases[i].input);
    buf_free(&g->cases[i].expected);
  }
  free(g->cases);
}

/* ---- Running a case ----------------------------------------------------- */

/* How the input is cut into the pieces fed one after the other. */
struct split {
  size_t at;     /* Two pieces, [0, at) and [at, n), if not 0. */
  bool bytewise; /* One byte per piece. */
};

/* The outcome of one run. */
struct run {
  const char *input;     /* The whole input. */
  size_t n;              /* Its length. */
  struct buf transcript; /* The records. */
  struct buf body;       /* Body bytes of the current request. */
  size_t error_at;       /* Offset where an error was found, or n+1. */
  int problems;          /* Broken properties, also recorded. */
};

static bool slice_inside(const struct run *r, struct http_slice s) {
  const char *end = r->input + r->n;
  return s.data != NULL && s.data >= r->input && s.data <= end &&
         s.len <= (size_t)(end - s.data);
}

static void problem(struct run *r, const char *what) {
  r->problems++;
  record(&r->transcript, "PROBLEM: %s", what);
}

static bool is_host_name(struct http_slice name) {
  static const char host[] = "host";
  if (name.len != 4) {
    return false;
  }
  for (size_t i = 0; i < 4; i++) {
    if ((name.data[i] | 0x20) != host[i]) {
      return false;
    }
  }
  return true;
}

/* Does the request agree with itself (Host and framing fields)? */
static void check_request(struct run *r, const struct http_request *q) {
  bool host = false;
  for (size_t i = 0; i < q->header_count; i++) {
    const struct http_header *h = &q->headers[i];
    if (!slice_inside(r, h->name) || !slice_inside(r, h->value)) {
      problem(r, "header slice outside the input");
    }
    if (is_host_name(h->name)) {
      host = true;
      if (q->host.data != h->value.data || q->host.len != h->value.len) {
        problem(r, "host is not the Host field's value");
      }
    }
  }
  if (host != q->has_host) {
    problem(r, "has_host does not match the fields");
  }
  if (!slice_inside(r, q->method) || !slice_inside(r, q->target)) {
    problem(r, "request line slice outside the input");
  }
  if (q->framing != HTTP_FRAMING_LENGTH && q->content_length != 0) {
    problem(r, "content_length without HTTP_FRAMING_LENGTH");
  }
}

static void record_request(struct run *r, const struct http_request *q) {
  static const char *const forms[] = {"origin", "absolute", "authority",
                                      "asterisk"};
  struct buf line = {0};
  check_request(r, q);
  buf_append(&line, "request ", 8);
  buf_append(&line, q->method.data, q->method.len);
  buf_append(&line, " ", 1);
  buf_append(&line, q->target.data, q->target.len);
  buf_append(&line, q->version_minor == 1 ? " HTTP/1.1" : " HTTP/1.0", 9);
  record_bytes(&r->transcript, line.data, line.len);
  for (size_t i = 0; i < q->header_count; i++) {
    line.len = 0;
    buf_append(&line, "header ", 7);
    buf_append(&line, q->headers[i].name.data, q->headers[i].name.len);
    buf_append(&line, ": ", 2);
    buf_append(&line, q->headers[i].value.data, q->headers[i].value.len);
    record_bytes(&r->transcript, line.data, line.len);
  }
  buf_free(&line);
  if (q->target_form != HTTP_TARGET_ORIGIN) {
    record(&r->transcript, "form %s", forms[q->target_form]);
  }
  if (q->keep_alive != (q->version_minor == 1)) {
    record(&r->transcript, "keep-alive %s", q->keep_alive ? "yes" : "no");
  }
  if (q->expect_continue) {
    record(&r->transcript, "continue yes");
  }
  if (q->framing == HTTP_FRAMING_LENGTH) {
    record(&r->transcript, "framing length %llu",
           (unsigned long long)q->content_length);
  } else if (q->framing == HTTP_FRAMING_CHUNKED) {
    record(&r->transcript, "framing chunked");
  }
}

static void flush_body(struct run *r) {
  if (r->body.len > 0) {
    struct buf line = {0};
    buf_append(&line, "body ", 5);
    buf_append(&line, r->body.data, r->body.len);
    record_bytes(&r->transcript, line.data, line.len);
    buf_free(&line);
    r->body.len = 0;
  }
}

/* Record one event; returns false when the run is over. */
static bool run_event(struct run *r, struct http_parser *p,
                      enum http_parse_result result, size_t from, size_t to,
                      size_t *done_at) {
  switch (result) {
  case HTTP_PARSE_HEADERS_DONE:
    record_request(r, &p->request);
    return true;
  case HTTP_PARSE_BODY_CHUNK:
    /* The slice is inside this call's bytes and ends where it stopped
     * (a chunk's size line may come before it). */
    if (p->body.len == 0 || p->body.data < r->input + from ||
        p->body.data + p->body.len != r->input + to) {
      problem(r, "body slice empty or not at the end of the bytes used");
    }
    buf_append(&r->body, p->body.data, p->body.len);
    return true;
  case HTTP_PARSE_MESSAGE_DONE:
    flush_body(r);
    record(&r->transcript, "end");
    return true;
  case HTTP_PARSE_ERROR:
    flush_body(r);
    record(&r->transcript, "error %d %s", p->error_status, p->error_reason);
    r->error_at = to;
    *done_at = r->n + 1;
    return false;
  default:
    problem(r, "unknown result");
    return false;
  }
}

/* Feed the input in the pieces split gives; see the corpus README for what
 * "done" and "incomplete" mean. */
static void run_split(struct run *r, const struct http_limits *limits,
                      struct split split) {
  struct http_parser p;
  size_t pos = 0, avail = 0, done_at = r->n + 1;
  size_t calls = 0, max_calls = 4 * r->n + 16;
  http_parser_init(&p, limits);
  for (;;) {
    size_t used = (size_t)-1;
    enum http_parse_result result = http_parser_feed(&p, r->input + pos,
                                                     avail - pos, &used);
    if (++calls > max_calls || used > avail - pos) {
      problem(r, "too many calls, or consumed more than given");
      return;
    }
    size_t from = pos;
    pos += used;
    if (result == HTTP_PARSE_NEED_MORE) {
      if (pos != avail) {
        problem(r, "NEED_MORE without consuming everything");
      }
      if (avail == r->n) {
        break;
      }
      avail = split.bytewise ? avail + 1 : split.at > avail ? split.at : r->n;
      continue;
    }
    if (result == HTTP_PARSE_MESSAGE_DONE) {
      done_at = pos;
    }
    if (!run_event(r, &p, result, from, pos, &done_at)) {
      if (http_parser_feed(&p, r->input + pos, avail - pos, &used) !=
              HTTP_PARSE_ERROR ||
          used != 0) {
        problem(r, "an error is not reported again");
      }
      return;
    }
  }
  flush_body(r);
  record(&r->transcript, done_at == r->n ? "done" : "incomplete");
}

static void run_init(struct run *r, const struct corpus_case *c) {
  memset(r, 0, sizeof(*r));
  r->input = c->input.data;
  r->n = c->input.len;
  r->error_at = r->n + 1;
}

static void run_free(struct run *r) {
  buf_free(&r->transcript);
  buf_free(&r->body);
}

static bool same_transcript(const struct buf *a, const struct buf *b) {
  return a->len == b->len &&
         (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* Run one case every way: whole (at 0), split in two at every position,
 * byte by byte (at n). Prints the first failed run. Returns the failed
 * runs. */
static int run_case(const struct corpus_group *g, const struct corpus_case *c) {
  size_t whole_error_at = 0;
  int failures = 0;
  for (size_t at = 0; at <= c->input.len; at++) {
    struct split split = {at, at == c->input.len};
    struct run r;
    run_init(&r, c);
    run_split(&r, &c->limits, split);
    if (at == 0) {
      whole_error_at = r.error_at;
    }
    if (!same_transcript(&r.transcript, &c->expected) ||
        r.error_at != whole_error_at) {
      if (failures++ == 0) {
        printf("  FAIL %s:%d %s (%s at %lu): error at %lu, whole at %lu\n",
               g->path, c->line, c->name,
               at == 0          ? "whole"
               : split.bytewise ? "bytewise"
                                : "split",
               (unsigned long)at, (unsigned long)r.error_at,
               (unsigned long)whole_error_at);
        print_transcript("expected", &c->expected);
        print_transcript("got", &r.transcript);
      }
    }
    run_free(&r);
  }
  return failures;
}

static void test_group(void **state) {
  const struct corpus_group *g = *state;
  int failed_cases = 0;
  for (size_t i = 0; i < g->count; i++) {
    if (run_case(g, &g->cases[i]) > 0) {
      failed_cases++;
    }
  }
  printf("  %s: %lu cases, %d failed\n", g->name, (unsigned long)g->count,
         failed_cases);
  assert_int_equal(failed_cases, 0);
}

/* ---- Properties of the calling protocol ------------------------------- */

static const char simple[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";

/* An error is reported where the offending byte is, and then again on
 * every call, consuming nothing. */
static void test_error_sticky(void **state) {
  static const char bad[] = "GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n";
  struct http_parser p;
  size_t used;
  (void)state;
  http_parser_init(&p, NULL);
  assert_int_equal(http_parser_feed(&p, bad, sizeof(bad) - 1, &used),
                   HTTP_PARSE_ERROR);
  assert_int_equal(used, strchr(bad, 'N') - bad - 1);
  assert_int_equal(p.error_status, 400);
  assert_string_equal(p.error_reason, "whitespace before colon");
  assert_int_equal(http_parser_feed(&p, simple, sizeof(simple) - 1, &used),
                   HTTP_PARSE_ERROR);
  assert_int_equal(used, 0);
}

/* The head may move between calls if it stays contiguous: the slices
 * point into where it is when HEADERS_DONE is returned. */
static void test_head_moved(void **state) {
  char first[sizeof(simple)], second[sizeof(simple)];
  struct http_parser p;
  size_t used, half = 10;
  (void)state;
  memcpy(first, simple, sizeof(simple));
  http_parser_init(&p, NULL);
  assert_int_equal(http_parser_feed(&p, first, half, &used),
                   HTTP_PARSE_NEED_MORE);
  memcpy(second, first, half);
  memset(first, 'X', sizeof(first));
  memcpy(second + half, simple + half, sizeof(simple) - half);
  assert_int_equal(
      http_parser_feed(&p, second + half, sizeof(simple) - 1 - half, &used),
      HTTP_PARSE_HEADERS_DONE);
  assert_ptr_equal(p.request.method.data, second);
  assert_int_equal(p.request.target.len, 2);
  assert_memory_equal(p.request.target.data, "/a", 2);
  assert_ptr_equal(p.request.headers[0].value.data, strchr(second, 'h'));
  assert_int_equal(http_parser_feed(&p, NULL, 0, &used),
                   HTTP_PARSE_MESSAGE_DONE);
  assert_int_equal(used, 0);
}

/* Empty calls anywhere change nothing. */
static void test_empty_calls(void **state) {
  struct http_parser p;
  size_t used, pos = 0, events = 0;
  (void)state;
  http_parser_init(&p, NULL);
  while (pos < sizeof(simple) - 1) {
    enum http_parse_result result = http_parser_feed(&p, simple, 0, &used);
    assert_int_equal(used, 0);
    if (result == HTTP_PARSE_NEED_MORE) {
      result = http_parser_feed(&p, simple + pos, 1, &used);
      pos += used;
    }
    events += result != HTTP_PARSE_NEED_MORE;
  }
  assert_int_equal(events, 1); /* HEADERS_DONE */
  assert_int_equal(http_parser_feed(&p, NULL, 0, &used),
                   HTTP_PARSE_MESSAGE_DONE);
  assert_int_equal(http_parser_feed(&p, NULL, 0, &used), HTTP_PARSE_NEED_MORE);
}

/* The methods the parser names, case-sensitively, and the defaults. */
static void test_methods_and_defaults(void **state) {
  static const struct {
    const char *name;
    enum http_method id;
  } methods[] = {
      {"GET", HTTP_METHOD_GET},       {"HEAD", HTTP_METHOD_HEAD},
      {"POST", HTTP_METHOD_POST},     {"PUT", HTTP_METHOD_PUT},
      {"DELETE", HTTP_METHOD_DELETE}, {"OPTIONS", HTTP_METHOD_OPTIONS},
      {"TRACE", HTTP_METHOD_TRACE},   {"PATCH", HTTP_METHOD_PATCH},
      {"get", HTTP_METHOD_OTHER},     {"PROPFIND", HTTP_METHOD_OTHER},
      {"GETS", HTTP_METHOD_OTHER},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
    char text[64];
    struct http_parser p;
    size_t used;
    int n = snprintf(text, sizeof(text), "%s / HTTP/1.1\r\nHost: h\r\n\r\n",
                     methods[i].name);
    http_parser_init(&p, NULL);
    assert_int_equal(http_parser_feed(&p, text, (size_t)n, &used),
                     HTTP_PARSE_HEADERS_DONE);
    assert_int_equal(p.request.method_id, methods[i].id);
  }
  struct http_parser p;
  http_parser_init(&p, NULL);
  assert_int_equal(p.limits.max_head_bytes, HTTP_PARSER_DEFAULT_HEAD_BYTES);
  assert_int_equal(p.limits.max_target_bytes, HTTP_PARSER_DEFAULT_TARGET_BYTES);
  assert_int_equal(p.limits.max_headers, HTTP_PARSER_DEFAULT_HEADERS);
  assert_int_equal(p.limits.max_body_bytes, HTTP_PARSER_DEFAULT_BODY_BYTES);
}

/* ---- main ------------------------------------------------------------- */

/* Write each case's input as DIR/GROUP-NAME, after the fuzz target's
 * 3-byte prefix (test/fuzz/fuzz_http_parser.c): limits 1 for a case with
 * its own limits, else 0, and a split in the middle. */
static int write_seeds(const char *dir, struct corpus_group *groups,
                       int count) {
  int written = 0;
  for (int i = 0; i < count; i++) {
    for (size_t j = 0; j < groups[i].count; j++) {
      const struct corpus_case *c = &groups[i].cases[j];
      char path[1024];
      size_t half = c->input.len / 2;
      unsigned char prefix[3] = {
          c->limits.max_head_bytes != HTTP_PARSER_DEFAULT_HEAD_BYTES ||
              c->limits.max_target_bytes != HTTP_PARSER_DEFAULT_TARGET_BYTES ||
              c->limits.max_headers != HTTP_PARSER_DEFAULT_HEADERS ||
              c->limits.max_body_bytes != HTTP_PARSER_DEFAULT_BODY_BYTES,
          (unsigned char)(half >> 8), (unsigned char)half};
      snprintf(path, sizeof(path), "%s/%s-%s", dir, groups[i].name, c->name);
      FILE *file = fopen(path, "wb");
      if (file == NULL ||
          fwrite(prefix, 1, sizeof(prefix), file) != sizeof(prefix) ||
          fwrite(c->input.data, 1, c->input.len, file) != c->input.len ||
          fclose(file) != 0) {
        fprintf(stderr, "test-http-parser: cannot write %s\n", path);
        return 1;
      }
      written++;
    }
  }
  printf("%d seeds written to %s\n", written, dir);
  return 0;
}

int main(int argc, char **argv) {
  static const struct CMUnitTest properties[] = {
      cmocka_unit_test(test_error_sticky),
      cmocka_unit_test(test_head_moved),
      cmocka_unit_test(test_empty_calls),
      cmocka_unit_test(test_methods_and_defaults),
  };
  enum { PROPERTIES = sizeof(properties) / sizeof(properties[0]) };
  int first = 1, status;
  const char *seed_dir = NULL;
  if (argc > 2 && strcmp(argv[1], "--write-seeds") == 0) {
    seed_dir = argv[2];
    first = 3;
  }
  int count = argc - first;
  if (count < 1) {
    fprintf(stderr, "usage: %s [--write-seeds DIR] CORPUS-FILE...\n", argv[0]);
    return 2;
  }
  struct corpus_group *groups = calloc((size_t)count, sizeof(*groups));
  struct CMUnitTest *tests = calloc((size_t)count + PROPERTIES, sizeof(*tests));
  if (groups == NULL || tests == NULL) {
    return 1;
  }
  size_t cases = 0;
  for (int i = 0; i < count; i++) {
    group_load(&groups[i], argv[first + i]);
    cases += groups[i].count;
    tests[i] = (struct CMUnitTest){groups[i].name, test_group, NULL, NULL,
                                   &groups[i]};
  }
  memcpy(tests + count, properties, sizeof(properties));
  if (seed_dir != NULL) {
    status = write_seeds(seed_dir, groups, count);
  } else {
    printf("%lu corpus cases in %d files\n", (unsigned long)cases, count);
    status = _cmocka_run_group_tests("http_parser", tests,
                                     (size_t)count + PROPERTIES, NULL, NULL);
  }
  for (int i = 0; i < count; i++) {
    group_free(&groups[i]);
  }
  free(groups);
  free(tests);
  return status;
}
