/*
 * http-parser.h: the HTTP/1.1 request parser of the HTTP server example.
 *
 * A strict, incremental parser that allocates nothing: the caller owns a
 * struct http_parser (about 3 KiB), feeds it the bytes it reads, in pieces
 * of any size, and gets one event per call. http-parser.c says at its top
 * which grammar it accepts and why it rejects what it rejects.
 *
 * The calling protocol, for one connection:
 *
 *   http_parser_init(&parser, NULL);          // or with struct http_limits
 *   for each read of n bytes at buf:
 *     size_t off = 0, used;
 *     do {
 *       switch (http_parser_feed(&parser, buf + off, n - off, &used)) {
 *       case HTTP_PARSE_NEED_MORE:     break;   // used == n - off
 *       case HTTP_PARSE_HEADERS_DONE:  ...parser.request...
 *       case HTTP_PARSE_BODY_CHUNK:    ...parser.body...
 *       case HTTP_PARSE_MESSAGE_DONE:  ...answer...
 *       case HTTP_PARSE_ERROR:         answer parser.error_status, close
 *       }
 *       off += used;
 *     } until NEED_MORE or ERROR;
 *
 * Call again after every event other than NEED_MORE and ERROR, even with
 * no bytes left: a request without a body reports HEADERS_DONE, then
 * MESSAGE_DONE on the next call, which consumes nothing. After
 * MESSAGE_DONE the next call starts the next request (pipelining), so the
 * bytes after it in the same buffer are simply fed again.
 *
 * The one rule about memory: the request line and the header section are
 * reported as slices of the caller's bytes, not copied. From the first byte
 * of a request to the call that returns HEADERS_DONE, every byte fed must
 * still be in memory, in order and contiguous, right before the bytes of
 * that last call; the caller may move the whole head between calls (grow
 * its buffer with realloc) but must not drop or split it. A server with one
 * fixed read buffer per connection gets this by reading each time into the
 * free space after the bytes it has fed, and by compacting only between
 * requests or after HEADERS_DONE once it has copied what it needs. The
 * buffer must hold at least max_head_bytes. Body slices point into the
 * bytes of the call that returned them.
 */
#ifndef HTTP_PARSER_H
#define HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
  /* Header slots in struct http_request: the most max_headers can be. */
  HTTP_PARSER_MAX_HEADERS = 64,
  /* The longest method: a longer one is no method we could implement. */
  HTTP_PARSER_MAX_METHOD_BYTES = 32,
  /* The longest chunk-size line, extensions and CRLF included. */
  HTTP_PARSER_MAX_CHUNK_LINE_BYTES = 1024,
  /* Defaults for struct http_limits (http_parser_init with NULL). */
  HTTP_PARSER_DEFAULT_HEAD_BYTES = 8192,
  HTTP_PARSER_DEFAULT_TARGET_BYTES = 4096,
  HTTP_PARSER_DEFAULT_HEADERS = 64,
  HTTP_PARSER_DEFAULT_BODY_BYTES = 1024 * 1024,
};

/* What one call to http_parser_feed() reports. */
enum http_parse_result {
  HTTP_PARSE_NEED_MORE,    /* Every byte was consumed; feed more. */
  HTTP_PARSE_HEADERS_DONE, /* parser->request is filled in. */
  HTTP_PARSE_BODY_CHUNK,   /* parser->body holds the next body bytes. */
  HTTP_PARSE_MESSAGE_DONE, /* The request, body included, is complete. */
  HTTP_PARSE_ERROR,        /* Answer parser->error_status, then close. */
};

/* The methods the parser names; any other token is HTTP_METHOD_OTHER. */
enum http_method {
  HTTP_METHOD_OTHER,
  HTTP_METHOD_GET,
  HTTP_METHOD_HEAD,
  HTTP_METHOD_POST,
  HTTP_METHOD_PUT,
  HTTP_METHOD_DELETE,
  HTTP_METHOD_CONNECT,
  HTTP_METHOD_OPTIONS,
  HTTP_METHOD_TRACE,
  HTTP_METHOD_PATCH,
};

/* The four forms of request-target (RFC 9112, section 3.2). */
enum http_target_form {
  HTTP_TARGET_ORIGIN,    /* "/path?query": the usual form. */
  HTTP_TARGET_ABSOLUTE,  /* "http://host/path": to a proxy. */
  HTTP_TARGET_AUTHORITY, /* "host:port": CONNECT only. */
  HTTP_TARGET_ASTERISK,  /* "*": OPTIONS only. */
};

/* How the request's body is delimited. */
enum http_framing {
  HTTP_FRAMING_NONE,    /* No body (neither header present). */
  HTTP_FRAMING_LENGTH,  /* Content-Length bytes (possibly 0). */
  HTTP_FRAMING_CHUNKED, /* Transfer-Encoding: chunked. */
};

/* A run of bytes in the caller's buffer; not NUL-terminated. */
struct http_slice {
  const char *data; /* First byte. */
  size_t len;       /* Length in bytes. */
};

/* One header field, as it was received: the name in its original case, the
 * value without the whitespace around it. */
struct http_header {
  struct http_slice name;  /* The field name, a token. */
  struct http_slice value; /* The field value, possibly empty. */
};

/* Limits on what one request may take. Exceeding one is an error with the
 * status RFC 9110 gives it. */
struct http_limits {
  size_t max_head_bytes;   /* Request line + headers + CRLFs: else 431
                              (414 if still in the request line). Also
                              bounds the trailer section. */
  size_t max_target_bytes; /* The request-target: else 414. */
  size_t max_headers;      /* Header fields, 1..HTTP_PARSER_MAX_HEADERS:
                              else 431. Also bounds trailer fields. */
  uint64_t max_body_bytes; /* Decoded body bytes: else 413. */
};

/* The request line and headers, valid from HEADERS_DONE until the call
 * after the request's MESSAGE_DONE (the slices as long as the caller keeps
 * the head's bytes). */
struct http_request {
  struct http_slice method;          /* The method token, case kept. */
  enum http_method method_id;        /* The method, if one we name. */
  struct http_slice target;          /* The request-target, as sent. */
  enum http_target_form target_form; /* Which form target has. */
  int version_minor;                 /* 0 or 1: HTTP/1.0 or HTTP/1.1
                                        (HTTP/1.2 to 1.9 are read as 1). */
  struct http_header headers[HTTP_PARSER_MAX_HEADERS]; /* In order. */
  size_t header_count;       /* Entries used in headers. */
  enum http_framing framing; /* How the body is delimited. */
  uint64_t content_length;   /* For HTTP_FRAMING_LENGTH, else 0. */
  bool keep_alive;           /* May the connection serve another request
                                after this one's response? */
  bool expect_continue;      /* HTTP/1.1 "Expect: 100-continue": send
                                100 Continue before reading the body. */
  struct http_slice host;    /* The Host value; empty without one. */
  bool has_host;             /* A Host header was present. */
};

/* The parser of one connection. Fields before the private part are
 * results; read them after the event that fills them. */
struct http_parser {
  struct http_limits limits;   /* Set by http_parser_init(). */
  struct http_request request; /* After HEADERS_DONE. */
  struct http_slice body;      /* After BODY_CHUNK: decoded body bytes. */
  int error_status;            /* After ERROR: 400, 413, 414, 417, 431,
                                  501 or 505. */
  const char *error_reason;    /* After ERROR: a short phrase, static. */

  /* Private: the state machine (http-parser.c). */
  int state;               /* Where in the grammar the next byte is. */
  bool in_trailers;        /* The field states parse the trailer section
                              (after the last chunk), not the header. */
  size_t head_bytes;       /* Head bytes so far; also the offset of the
                              next one from the request's first byte. */
  size_t section_bytes;    /* Bytes of the chunk line or trailer section
                              being parsed. */
  size_t section_fields;   /* Trailer fields so far. */
  size_t method_start;     /* Offset of the method's first byte. */
  size_t method_end;       /* Offset just past the method. */
  size_t target_start;     /* Offset of the target's first byte. */
  size_t target_end;       /* Offset just past the target. */
  size_t name_start;       /* Offset of the field name being parsed. */
  size_t name_end;         /* Offset just past the field name. */
  size_t value_start;      /* Offset of the field value's first byte. */
  size_t value_end;        /* Offset past its last non-blank byte. */
  int version_pos;         /* Bytes of "HTTP/x.y" matched so far. */
  int version_major;       /* The x of "HTTP/x.y". */
  uint64_t body_remaining; /* Bytes left in the body or chunk. */
  uint64_t body_total;     /* Decoded body bytes so far (chunked). */
  struct {
    uint32_t name_start, name_len;   /* Offsets into the head. */
    uint32_t value_start, value_len; /* Offsets into the head. */
  } spans[HTTP_PARSER_MAX_HEADERS];  /* Headers before HEADERS_DONE. */
};

/* Get parser ready for a connection's first request, with the given limits
 * (copied), or the defaults if limits is NULL. */
void http_parser_init(struct http_parser *parser,
                      const struct http_limits *limits);

/* Parse up to len bytes at data, stopping at the first event. Sets
 * *consumed to the bytes used: all of them for NEED_MORE; for ERROR, the
 * bytes before the offending one, or the whole head when the error is in
 * what the header fields mean together (duplicate Content-Length, missing
 * Host, ...), which is known only at its end. Once ERROR is returned it
 * is returned again by every call, consuming nothing, and the connection
 * should be closed after the error response. */
enum http_parse_result http_parser_feed(struct http_parser *parser,
                                        const char *data, size_t len,
                                        size_t *consumed);

#endif /* HTTP_PARSER_H */
