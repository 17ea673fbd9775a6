/*
 * fuzz_http_parser.c: a libFuzzer target for the HTTP server example's
 * request parser (examples/http-server/http-parser.c). scripts/test.sh
 * builds it with clang -fsanitize=fuzzer,address,undefined and runs it for
 * a bounded time, seeded with the corpus of test/http-corpus/.
 *
 * An input is a 3-byte prefix and then the bytes a client sent. Byte 0
 * picks one of three sets of limits (the defaults, small ones, tiny ones,
 * so that every limit is reached); bytes 1 and 2 pick, big-endian and
 * modulo the length + 1, where to split the bytes in two. The bytes are
 * parsed whole, split there, and, when short, byte by byte. Each run is
 * reduced to a digest of what the parser reported (the request fields,
 * the body bytes however they were sliced, each message's end, the error
 * with its status, reason and offset, and how the input ended); the
 * digests must be equal. Every slice must lie inside the input (ASan
 * would not see one that merely points at the wrong bytes), every call
 * must obey the protocol of http-parser.h, and the parser must not take
 * more calls than the input allows. Any violation aborts, which libFuzzer
 * reports as a crash with the input that caused it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http-parser.h"

/* Inputs up to this long are also parsed byte by byte. */
enum { BYTEWISE_MAX = 512 };

static const struct http_limits limit_sets[] = {
    {HTTP_PARSER_DEFAULT_HEAD_BYTES, HTTP_PARSER_DEFAULT_TARGET_BYTES,
     HTTP_PARSER_DEFAULT_HEADERS, HTTP_PARSER_DEFAULT_BODY_BYTES},
    {512, 128, 8, 256},
    {64, 16, 2, 16},
};

/* One run over the input. */
struct run {
  const char *input; /* The client's bytes. */
  size_t n;          /* How many. */
  uint64_t digest;   /* FNV-1a over what the parser reported. */
};

static void violation(const struct run *r, const char *what) {
  fprintf(stderr, "fuzz_http_parser: %s (input of %lu bytes)\n", what,
          (unsigned long)r->n);
  abort();
}

static void mix(struct run *r, const void *data, size_t len) {
  const unsigned char *bytes = data;
  for (size_t i = 0; i < len; i++) {
    r->digest = (r->digest ^ bytes[i]) * 0x100000001b3u;
  }
}

static void mix_number(struct run *r, uint64_t value) {
  mix(r, &value, sizeof(value));
}

/* Mix a slice that must lie inside the input. */
static void mix_slice(struct run *r, struct http_slice s) {
  const char *end = r->input + r->n;
  if (s.data == NULL || s.data < r->input || s.data > end ||
      s.len > (size_t)(end - s.data)) {
    violation(r, "slice outside the input");
  }
  mix_number(r, s.len);
  mix(r, s.data, s.len);
}

static void mix_request(struct run *r, const struct http_request *q) {
  mix_number(r, 1);
  mix_slice(r, q->method);
  mix_slice(r, q->target);
  if (q->header_count > HTTP_PARSER_MAX_HEADERS) {
    violation(r, "header_count past the array");
  }
  for (size_t i = 0; i < q->header_count; i++) {
    mix_slice(r, q->headers[i].name);
    mix_slice(r, q->headers[i].value);
  }
  if (q->has_host) {
    mix_slice(r, q->host);
  }
  uint64_t fields[] = {q->method_id,    q->target_form,     q->version_minor,
                       q->header_count, q->framing,         q->content_length,
                       q->keep_alive,   q->expect_continue, q->has_host};
  mix(r, fields, sizeof(fields));
}

/* Parse the input in the pieces that split_at and bytewise make. */
static void run_split(struct run *r, const struct http_limits *limits,
                      size_t split_at, int bytewise) {
  struct http_parser p;
  size_t pos = 0, avail = 0, calls = 0, done_at = (size_t)-1;
  http_parser_init(&p, limits);
  r->digest = 0xcbf29ce484222325u;
  for (;;) {
    size_t used = (size_t)-1, from = pos;
    enum http_parse_result result = http_parser_feed(&p, r->input + pos,
                                                     avail - pos, &used);
    if (++calls > 4 * r->n + 16 || used > avail - pos) {
      violation(r, "too many calls, or consumed more than given");
    }
    pos += used;
    switch (result) {
    case HTTP_PARSE_NEED_MORE:
      if (pos != avail) {
        violation(r, "NEED_MORE without consuming everything");
      }
      if (avail == r->n) {
        mix_number(r, done_at == r->n ? 5 : 6);
        return;
      }
      avail = bytewise ? avail + 1 : split_at > avail ? split_at : r->n;
      break;
    case HTTP_PARSE_HEADERS_DONE:
      mix_request(r, &p.request);
      break;
    case HTTP_PARSE_BODY_CHUNK:
      if (p.body.len == 0 || p.body.data < r->input + from ||
          p.body.data + p.body.len != r->input + pos) {
        violation(r, "body slice not at the end of the bytes used");
      }
      mix(r, p.body.data, p.body.len); /* Not its bounds: they vary. */
      break;
    case HTTP_PARSE_MESSAGE_DONE:
      mix_number(r, 3);
      done_at = pos;
      break;
    case HTTP_PARSE_ERROR:
      if (p.error_reason == NULL || p.error_status < 400 ||
          p.error_status > 505 ||
          http_parser_feed(&p, r->input + pos, avail - pos, &used) !=
              HTTP_PARSE_ERROR ||
          used != 0) {
        violation(r, "error not reported properly, or not again");
      }
      mix_number(r, 4);
      mix_number(r, (uint64_t)p.error_status);
      mix(r, p.error_reason, strlen(p.error_reason));
      mix_number(r, pos);
      return;
    default:
      violation(r, "unknown result");
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) {
    return 0;
  }
  const struct http_limits *limits =
      &limit_sets[data[0] % (sizeof(limit_sets) / sizeof(limit_sets[0]))];
  struct run whole = {(const char *)data + 3, size - 3, 0};
  struct run split = whole, bytewise = whole;
  size_t split_at = ((size_t)data[1] << 8 | data[2]) % (whole.n + 1);
  run_split(&whole, limits, 0, 0);
  run_split(&split, limits, split_at, 0);
  if (split.digest != whole.digest) {
    violation(&whole, "split and whole inputs parsed differently");
  }
  if (whole.n <= BYTEWISE_MAX) {
    run_split(&bytewise, limits, 0, 1);
    if (bytewise.digest != whole.digest) {
      violation(&whole, "byte-by-byte and whole inputs parsed differently");
    }
  }
  return 0;
}
