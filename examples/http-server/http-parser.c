/*
 * http-parser.c: a strict, incremental HTTP/1.1 request parser (the HTTP
 * server example's; the calling protocol is in http-parser.h).
 *
 * How it works. A state machine takes the head (request line, header
 * section), the chunk-size lines and the trailer section one byte at a
 * time, so that any split of the input across calls gives the same result:
 * no decision ever looks at a byte it has not been given, and none looks
 * back at a byte of an earlier call. Runs of bytes that decide nothing (a
 * method, target, field name or value, and "HTTP/1.1" CRLF when it is
 * whole in the input) are taken in one loop over a table of byte classes,
 * and stop where a limit is to be checked, so they end up where the
 * byte-by-byte path would, with the same errors at the same bytes. It keeps
 * offsets, not pointers, into the head; the pointers are made once, when the
 * head is complete (HEADERS_DONE), from the bytes of that call (hence the rule
 * in the header that the head must be contiguous then). The meaning of the
 * header fields (Content-Length, Transfer-Encoding, Host, Connection,
 * Expect) is worked out at that point too, from the complete values. Body
 * bytes are not looked at: they are handed over as slices of the caller's
 * buffer. Nothing is allocated and every loop is bounded by its input.
 *
 * The grammar accepted (RFC 9112 and RFC 9110, ABNF names from there):
 *
 *   request    = *( CRLF ) request-line *( field-line CRLF ) CRLF [ body ]
 *   request-line = method SP request-target SP HTTP-version CRLF
 *   method     = token, at most HTTP_PARSER_MAX_METHOD_BYTES (else 501)
 *   request-target = 1*( %x21-7E except "#" ), at most max_target_bytes
 *                (else 414), and then one of: origin-form ("/" ...);
 *                absolute-form (scheme ":" ...); "*" for OPTIONS only;
 *                authority-form (host ":" port) for CONNECT, which takes
 *                no other form
 *   HTTP-version = "HTTP/1." DIGIT, a minor above 1 read as 1; any
 *                other "HTTP/" DIGIT "." DIGIT is 505, anything else 400
 *   field-line = field-name ":" OWS field-value OWS
 *   field-name = token (1*tchar)
 *   field-value = *( %x21-7E / %x80-FF / SP / HTAB ), the value being
 *                what lies between the first and last visible byte
 *   body       = Content-Length bytes, or chunked:
 *   chunked    = *( chunk-size [ chunk-ext ] CRLF chunk-data CRLF )
 *                last-chunk *( field-line CRLF ) CRLF
 *   chunk-size = 1*HEXDIG, at most 2^63 - 1
 *   chunk-ext  = *( BWS ";" BWS name [ BWS "=" BWS ( token /
 *                quoted-string ) ] ), checked and ignored
 *
 * The head, leading empty lines included, is at most max_head_bytes, and
 * has at most max_headers fields (else 431, or 414 while still in the
 * request line). A chunk-size line is at most
 * HTTP_PARSER_MAX_CHUNK_LINE_BYTES; the trailer section obeys the head's
 * two limits and is parsed with the header section's rules, then dropped.
 *
 * What it rejects, and why. Where HTTP allows a lenient reading, this
 * parser takes none: request smuggling lives in the gap between two
 * parsers that read the same bytes differently (a proxy and this server),
 * and a parser that accepts only one reading of every byte leaves no gap.
 * So:
 *
 * - Lines end with CRLF only. A bare LF or a CR not followed by LF is 400
 *   anywhere, chunk-size lines and the CRLF after chunk data included:
 *   parsers that accept LF alone in a chunk extension (and a proxy that
 *   ends the line there) were the CVE-2025-22871 and CVE-2025-55315 class.
 * - Obsolete line folding (a field line starting with SP or HTAB) is 400,
 *   as RFC 9112 section 5.2 allows; whitespace before the first field line
 *   too (section 2.2), and whitespace between a field name and its colon
 *   (section 5.1 makes that one a MUST).
 * - Control bytes (NUL to US except HTAB, and DEL) are 400 in the target
 *   and in field values; the target takes no byte above 0x7E either.
 *   Field values may hold obs-text (0x80-0xFF), which is passed through.
 * - Content-Length must be 1*DIGIT and at most 2^63 - 1 (no sign, no
 *   inner space, no list). Any second Content-Length field is 400, even
 *   an identical one, which RFC 9110 section 8.6 would allow: folding
 *   duplicates is where other parsers went wrong, and no honest client
 *   sends two. Content-Length above max_body_bytes is 413.
 * - Transfer-Encoding and Content-Length together are 400 (RFC 9112
 *   section 6.3 lets a server drop the length instead; a proxy in front
 *   may have used it). Transfer-Encoding in an HTTP/1.0 request is 400,
 *   because an HTTP/1.0 hop may not have understood it.
 * - Transfer-Encoding, all its fields taken as one list, must end with
 *   chunked (else 400, section 6.3's MUST for requests), name chunked
 *   once (else 400), give chunked no parameters (else 400), and name no
 *   other coding, since this parser decodes none (else 501). Empty list
 *   elements are 400, against RFC 9110 section 5.6.1, which asks to
 *   ignore them: "Transfer-Encoding: , chunked" is the kind of value
 *   another hop may read as an unknown coding and forward without it.
 * - Chunk sizes: empty, non-hex, with anything but ";" extensions after
 *   them, or above 2^63 - 1 are 400; a body past max_body_bytes is 413.
 *   Extensions are checked against the grammar above (so no CR, LF or
 *   control byte hides in them) and ignored. Chunk data not followed by
 *   CRLF is 400.
 * - HTTP/1.1 needs exactly one Host field (RFC 9112 section 3.2); none or
 *   two are 400, and so is a second one in HTTP/1.0. The value must be
 *   empty or uri-host [ ":" port ]: a bracketed IP-literal or a reg-name
 *   (no colon, escapes of two hex digits), then digits after one colon.
 * - "Expect: 100-continue" sets expect_continue (HTTP/1.1 only, as RFC
 *   9110 section 10.1.1 says); any other expectation is 417.
 * - "HTTP/2.0" (the HTTP/2 connection preface's request line) and any
 *   other major version but 1 are 505; a request line without a version
 *   (HTTP/0.9) is 400. A higher minor version (HTTP/1.2 to HTTP/1.9) is
 *   read as HTTP/1.1, as RFC 9110 section 2.5 asks of a recipient that
 *   implements the major version; the version is case-sensitive
 *   (RFC 9112 section 2.3), so "http/1.1" is 400.
 *
 * keep_alive: HTTP/1.1 keeps the connection unless a Connection field
 * lists "close"; HTTP/1.0 closes it unless one lists "keep-alive" (and
 * none "close"). CONNECT never keeps it: what follows a CONNECT is a
 * tunnel, not another request, so a server that does not tunnel closes.
 *
 * Internal steps return HTTP_PARSE_NEED_MORE to mean "nothing to report:
 * carry on"; fail() records an error and returns HTTP_PARSE_ERROR.
 */
#include "http-parser.h"

#include <assert.h>
#include <string.h>

/* The states. The order matters: state_class() tells the groups apart by
 * ranges. */
enum {
  /* The request line. */
  S_START,        /* Before the method, or empty lines before it. */
  S_START_LF,     /* After the CR of an empty line. */
  S_METHOD,       /* In the method. */
  S_TARGET_START, /* After the space that ends the method. */
  S_TARGET,       /* In the target. */
  S_VERSION,      /* In "HTTP/x.y" or at the CR after it. */
  S_LINE_LF,      /* After the CR that ends the request line. */
  /* Field lines: the header section, or the trailer section. */
  S_FIELD_START, /* At the start of a field line or the empty line. */
  S_NAME,        /* In a field name. */
  S_VALUE_OWS,   /* After the colon, in the whitespace before a value. */
  S_VALUE,       /* In a field value. */
  S_VALUE_LF,    /* After the CR that ends a field line. */
  S_SECTION_LF,  /* After the CR of the empty line that ends the section. */
  /* Chunk-size lines. */
  S_CHUNK_SIZE_FIRST, /* At the first hex digit of a chunk size. */
  S_CHUNK_SIZE,       /* In a chunk size. */
  S_EXT_BWS,          /* In whitespace that only a ";" may end. */
  S_EXT_NAME_START,   /* After ";", before an extension's name. */
  S_EXT_NAME,         /* In an extension's name. */
  S_EXT_AFTER_NAME,   /* In whitespace after a name: "=" or ";" next. */
  S_EXT_VALUE_START,  /* After "=", before the value. */
  S_EXT_TOKEN,        /* In a token value. */
  S_EXT_QUOTED,       /* In a quoted-string value. */
  S_EXT_QUOTED_PAIR,  /* After a backslash in a quoted string. */
  S_EXT_AFTER_QUOTED, /* After the closing quote. */
  S_CHUNK_LF,         /* After the CR that ends a chunk-size line. */
  S_CHUNK_DATA_CR,    /* After a chunk's data, at its CR. */
  S_CHUNK_DATA_LF,    /* After that CR. */
  /* States that take no byte by byte. */
  S_HEAD_DONE,   /* The head is complete: work out what it means. */
  S_BODY,        /* In a Content-Length body. */
  S_CHUNK_DATA,  /* In a chunk's data. */
  S_MESSAGE_END, /* Report MESSAGE_DONE. */
  S_DONE,        /* MESSAGE_DONE reported: the next call starts anew. */
  S_ERROR,       /* An error was reported: report it again. */
};

/* Which counter and limit a byte in a state counts towards. */
enum state_class {
  CLASS_REQUEST_LINE, /* head_bytes, max_head_bytes: 414. */
  CLASS_FIELDS,       /* head_bytes or section_bytes: 431. */
  CLASS_CHUNK_LINE,   /* section_bytes, the chunk line's limit: 400. */
  CLASS_OTHER,        /* Not counted (the CRLF after chunk data). */
};

/* The largest chunk size and Content-Length: 2^63 - 1. */
static const uint64_t max_length = UINT64_MAX >> 1;

static enum http_parse_result fail(struct http_parser *p, int status,
                                   const char *reason) {
  p->state = S_ERROR;
  p->error_status = status;
  p->error_reason = reason;
  return HTTP_PARSE_ERROR;
}

/* What a byte may be, one bit per use: the table below answers each
 * question with one load, where testing ranges and searching a string of
 * punctuation took a dozen instructions per byte of every head. */
enum {
  CHAR_TOKEN = 1 << 0,  /* tchar (RFC 9110 section 5.6.2). */
  CHAR_TARGET = 1 << 1, /* A byte of a request-target: %x21-7E but "#". */
  CHAR_VCHAR = 1 << 2,  /* A field value's VCHAR or obs-text. */
  CHAR_BLANK = 1 << 3,  /* SP or HTAB. */
  CHAR_HOST = 1 << 4,   /* A byte of uri-host or port (RFC 3986). */
  CHAR_NAME = 1 << 5,   /* A byte of reg-name but "%" (unreserved or
                           sub-delims: RFC 3986 section 3.2.2). */
  /* The combinations that occur, two letters each so that a row of the
   * table is a line: */
  NO = 0,                                     /* Controls, DEL. */
  BL = CHAR_BLANK,                            /* SP, HTAB. */
  OB = CHAR_VCHAR,                            /* obs-text, 0x80-0xFF. */
  TV = CHAR_TARGET | CHAR_VCHAR,              /* " / < > ? @ \ { } */
  TH = TV | CHAR_HOST,                        /* : [ ] */
  KV = CHAR_TOKEN | CHAR_VCHAR,               /* # */
  KT = CHAR_TOKEN | CHAR_TARGET | CHAR_VCHAR, /* ^ ` | */
  KH = KT | CHAR_HOST,                        /* % */
  TN = TH | CHAR_NAME,                        /* ( ) , ; = */
  KN = KH | CHAR_NAME, /* ALPHA DIGIT ! $ & ' * + - . _ ~ */
};

/* Laid out by hand, a row of 16 bytes a line. */
/* clang-format off */
static const uint8_t char_class[256] = {
    /* 0x00 */ NO, NO, NO, NO, NO, NO, NO, NO, NO, BL, NO, NO, NO, NO, NO, NO,
    /* 0x10 */ NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO,
    /* 0x20 */ BL, KN, TV, KV, KN, KH, KN, KN, TN, TN, KN, KN, TN, KN, KN, TV,
    /* 0x30 */ KN, KN, KN, KN, KN, KN, KN, KN, KN, KN, TH, TN, TV, TN, TV, TV,
    /* 0x40 */ TV, KN, KN, KN, KN, KN, KN, KN, KN, KN, KN, KN, KN, KN, KN, KN,
    /* 0x50 */ KN, KN, KN, KN, KN, KN, KN, KN, KN, KN, KN, TH, TV, TH, KT, KN,
    /* 0x60 */ KT, KN, KN, KN, KN, KN, KN, KN, KN, KN, KN, KN, KN, KN, KN, KN,
    /* 0x70 */ KN, KN, KN, KN, KN, KN, KN, KN, KN, KN, KN, TV, KT, TV, KN, NO,
    /* 0x80 */ OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB,
    /* 0x90 */ OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB,
    /* 0xA0 */ OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB,
    /* 0xB0 */ OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB,
    /* 0xC0 */ OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB,
    /* 0xD0 */ OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB,
    /* 0xE0 */ OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB,
    /* 0xF0 */ OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB, OB,
};
/* clang-format on */

static bool is_tchar(unsigned char c) {
  return (char_class[c] & CHAR_TOKEN) != 0;
}

static bool is_blank(unsigned char c) {
  return c == ' ' || c == '\t';
}

/* A byte a field value may hold other than SP and HTAB: VCHAR or
 * obs-text. */
static bool is_field_vchar(unsigned char c) {
  return (char_class[c] & CHAR_VCHAR) != 0;
}

/* A byte of uri-host or port (RFC 3986): what a Host value and the host
 * of an authority-form target may hold. */
static bool is_host_char(unsigned char c) {
  return (char_class[c] & CHAR_HOST) != 0;
}

static int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/* Is s (of len bytes) the lowercase word, in any case? */
static bool slice_is(struct http_slice s, const char *word) {
  size_t i;
  if (s.len != strlen(word)) {
    return false;
  }
  for (i = 0; i < s.len; i++) {
    unsigned char c = (unsigned char)s.data[i];
    if (c >= 'A' && c <= 'Z') {
      c = (unsigned char)(c - 'A' + 'a');
    }
    if (c != (unsigned char)word[i]) {
      return false;
    }
  }
  return true;
}

/* ---- The request line ---------------------------------------------- */

static enum http_parse_result method_byte(struct http_parser *p,
                                          unsigned char c, size_t off) {
  if (is_tchar(c)) {
    if (off + 1 - p->method_start > HTTP_PARSER_MAX_METHOD_BYTES) {
      return fail(p, 501, "method too long");
    }
    return HTTP_PARSE_NEED_MORE;
  }
  if (c == ' ') {
    p->method_end = off;
    p->state = S_TARGET_START;
    return HTTP_PARSE_NEED_MORE;
  }
  if (c == '\r') {
    return fail(p, 400, "malformed request line");
  }
  return fail(p, 400, "invalid character in method");
}

static enum http_parse_result target_byte(struct http_parser *p,
                                          unsigned char c, size_t off) {
  if (p->state == S_TARGET_START) {
    if (c == ' ') {
      return fail(p, 400, "malformed request line");
    }
    p->target_start = off;
    p->state = S_TARGET;
  }
  if (c == ' ') {
    p->target_end = off;
    p->version_pos = 0;
    p->state = S_VERSION;
    return HTTP_PARSE_NEED_MORE;
  }
  if (c == '\r') {
    /* "GET /\r\n": an HTTP/0.9 request, which HTTP/1.1 servers refuse. */
    return fail(p, 400, "missing HTTP version");
  }
  if (c == '#') {
    return fail(p, 400, "fragment in target");
  }
  if (c < 0x21 || c > 0x7e) {
    return fail(p, 400, "invalid character in target");
  }
  if (off + 1 - p->target_start > p->limits.max_target_bytes) {
    return fail(p, 414, "target too long");
  }
  return HTTP_PARSE_NEED_MORE;
}

/* "HTTP/" DIGIT "." DIGIT CR, one byte at a time. */
static enum http_parse_result version_byte(struct http_parser *p,
                                           unsigned char c) {
  int pos = p->version_pos++;
  bool ok;
  if (pos < 5) {
    ok = c == (unsigned char)"HTTP/"[pos];
  } else if (pos == 5 || pos == 7) {
    ok = c >= '0' && c <= '9';
    if (pos == 5) {
      p->version_major = c - '0';
    } else {
      p->request.version_minor = c - '0';
    }
  } else if (pos == 6) {
    ok = c == '.';
  } else {
    ok = c == '\r';
    p->state = S_LINE_LF;
  }
  if (!ok) {
    return fail(p, 400, "malformed HTTP version");
  }
  return HTTP_PARSE_NEED_MORE;
}

static enum http_parse_result request_line_byte(struct http_parser *p,
                                                unsigned char c, size_t off) {
  switch (p->state) {
  case S_START:
    if (c == '\r') {
      p->state = S_START_LF;
      return HTTP_PARSE_NEED_MORE;
    }
    if (is_tchar(c)) {
      p->method_start = off;
      p->state = S_METHOD;
      return HTTP_PARSE_NEED_MORE;
    }
    if (is_blank(c)) {
      return fail(p, 400, "whitespace before the request line");
    }
    return fail(p, 400, "invalid character in method");
  case S_METHOD:
    return method_byte(p, c, off);
  case S_TARGET_START:
  case S_TARGET:
    return target_byte(p, c, off);
  default:
    assert(p->state == S_VERSION);
    return version_byte(p, c);
  }
}

static enum http_parse_result request_line_done(struct http_parser *p) {
  if (p->version_major != 1) {
    return fail(p, 505, "HTTP version not supported");
  }
  if (p->request.version_minor > 1) {
    /* HTTP/1.2 to 1.9: read as the highest 1.x this parser implements,
     * as RFC 9110 section 2.5 asks, not refused. */
    p->request.version_minor = 1;
  }
  p->state = S_FIELD_START;
  return HTTP_PARSE_NEED_MORE;
}

/* ---- Field lines (header and trailer sections) ----------------------- */

static enum http_parse_result field_start(struct http_parser *p,
                                          unsigned char c, size_t off) {
  size_t fields = p->in_trailers ? p->section_fields : p->request.header_count;
  if (c == '\r') {
    p->state = S_SECTION_LF;
    return HTTP_PARSE_NEED_MORE;
  }
  if (is_blank(c)) {
    /* A continuation line: obs-fold, or before any field a line that
     * another parser might glue to the request line. */
    return fail(p, 400,
                fields == 0 ? "whitespace before the first field"
                            : "obsolete line folding");
  }
  if (c == ':') {
    return fail(p, 400, "empty field name");
  }
  if (!is_tchar(c)) {
    return fail(p, 400, "invalid character in field name");
  }
  if (fields >= p->limits.max_headers) {
    return fail(p, 431,
                p->in_trailers ? "too many trailer fields"
                               : "too many header fields");
  }
  p->name_start = off;
  p->state = S_NAME;
  return HTTP_PARSE_NEED_MORE;
}

static enum http_parse_result value_byte(struct http_parser *p, unsigned char c,
                                         size_t off) {
  if (p->state == S_VALUE_OWS) {
    if (is_blank(c)) {
      return HTTP_PARSE_NEED_MORE;
    }
    p->value_start = off;
    p->value_end = off;
    p->state = S_VALUE;
  }
  if (c == '\r') {
    p->state = S_VALUE_LF;
  } else if (is_field_vchar(c)) {
    p->value_end = off + 1;
  } else if (!is_blank(c)) {
    return fail(p, 400, "invalid character in field value");
  }
  return HTTP_PARSE_NEED_MORE;
}

static enum http_parse_result field_byte(struct http_parser *p, unsigned char c,
                                         size_t off) {
  switch (p->state) {
  case S_FIELD_START:
    return field_start(p, c, off);
  case S_NAME:
    if (is_tchar(c)) {
      return HTTP_PARSE_NEED_MORE;
    }
    if (c == ':') {
      p->name_end = off;
      p->state = S_VALUE_OWS;
      return HTTP_PARSE_NEED_MORE;
    }
    if (is_blank(c)) {
      return fail(p, 400, "whitespace before colon");
    }
    if (c == '\r') {
      return fail(p, 400, "field line without colon");
    }
    return fail(p, 400, "invalid character in field name");
  default:
    assert(p->state == S_VALUE_OWS || p->state == S_VALUE);
    return value_byte(p, c, off);
  }
}

/* A field line ended: keep a header's place, count a trailer. */
static void field_done(struct http_parser *p) {
  p->state = S_FIELD_START;
  if (p->in_trailers) {
    p->section_fields++;
    return;
  }
  size_t i = p->request.header_count++;
  /* Offsets fit: init() keeps max_head_bytes within 32 bits. */
  p->spans[i].name_start = (uint32_t)p->name_start;
  p->spans[i].name_len = (uint32_t)(p->name_end - p->name_start);
  p->spans[i].value_start = (uint32_t)p->value_start;
  p->spans[i].value_len = (uint32_t)(p->value_end - p->value_start);
}

/* ---- Chunk-size lines ------------------------------------------------- */

/* After the last hex digit: does the chunk fit in the body limit? */
static enum http_parse_result chunk_size_done(struct http_parser *p) {
  if (p->body_remaining > p->limits.max_body_bytes - p->body_total) {
    return fail(p, 413, "body too large");
  }
  p->body_total += p->body_remaining;
  return HTTP_PARSE_NEED_MORE;
}

/* What may follow a chunk size or an extension's value: another
 * extension, whitespace before one, or the end of the line. */
static enum http_parse_result chunk_ext_next(struct http_parser *p,
                                             unsigned char c) {
  if (c == ';') {
    p->state = S_EXT_NAME_START;
  } else if (is_blank(c)) {
    p->state = S_EXT_BWS;
  } else if (c == '\r') {
    p->state = S_CHUNK_LF;
  } else {
    return fail(p, 400, "invalid chunk extension");
  }
  return HTTP_PARSE_NEED_MORE;
}

static enum http_parse_result chunk_size_byte(struct http_parser *p,
                                              unsigned char c) {
  int digit = hex_value(c);
  if (p->state == S_CHUNK_SIZE_FIRST) {
    if (digit < 0) {
      return fail(p, 400, "invalid chunk size");
    }
    p->body_remaining = (uint64_t)digit;
    p->state = S_CHUNK_SIZE;
    return HTTP_PARSE_NEED_MORE;
  }
  if (digit >= 0) {
    if (p->body_remaining > (max_length - (uint64_t)digit) / 16) {
      return fail(p, 400, "chunk size overflow");
    }
    p->body_remaining = p->body_remaining * 16 + (uint64_t)digit;
    return HTTP_PARSE_NEED_MORE;
  }
  if (c != ';' && c != '\r' && !is_blank(c)) {
    return fail(p, 400, "invalid chunk size");
  }
  if (chunk_size_done(p) == HTTP_PARSE_ERROR) {
    return HTTP_PARSE_ERROR;
  }
  return chunk_ext_next(p, c);
}

/* Quoted-string contents (RFC 9110 section 5.6.4): qdtext or a
 * quoted-pair; no CR, LF or other control byte. */
static enum http_parse_result chunk_ext_quoted(struct http_parser *p,
                                               unsigned char c) {
  bool text = c == '\t' || c == ' ' || (c > 0x20 && c != 0x7f);
  if (!text) {
    return fail(p, 400, "invalid chunk extension");
  }
  if (p->state == S_EXT_QUOTED_PAIR) {
    p->state = S_EXT_QUOTED;
  } else if (c == '"') {
    p->state = S_EXT_AFTER_QUOTED;
  } else if (c == '\\') {
    p->state = S_EXT_QUOTED_PAIR;
  }
  return HTTP_PARSE_NEED_MORE;
}

static enum http_parse_result chunk_ext_byte(struct http_parser *p,
                                             unsigned char c) {
  int state = p->state;
  if (state == S_EXT_QUOTED || state == S_EXT_QUOTED_PAIR) {
    return chunk_ext_quoted(p, c);
  }
  if (state == S_EXT_AFTER_QUOTED) {
    return chunk_ext_next(p, c);
  }
  if (is_tchar(c) && state != S_EXT_BWS && state != S_EXT_AFTER_NAME) {
    p->state = state == S_EXT_VALUE_START ? S_EXT_TOKEN
               : state == S_EXT_TOKEN     ? S_EXT_TOKEN
                                          : S_EXT_NAME;
    return HTTP_PARSE_NEED_MORE;
  }
  if (state == S_EXT_TOKEN) {
    return chunk_ext_next(p, c);
  }
  if (is_blank(c)) {
    /* BWS: stay, or after a name wait for "=" or ";". */
    if (state == S_EXT_NAME) {
      p->state = S_EXT_AFTER_NAME;
    }
    return HTTP_PARSE_NEED_MORE;
  }
  bool named = state == S_EXT_NAME || state == S_EXT_AFTER_NAME;
  if (c == '=' && named) {
    p->state = S_EXT_VALUE_START;
  } else if (c == '"' && state == S_EXT_VALUE_START) {
    p->state = S_EXT_QUOTED;
  } else if (c == ';' && state != S_EXT_NAME_START &&
             state != S_EXT_VALUE_START) {
    p->state = S_EXT_NAME_START;
  } else if (c == '\r' && state == S_EXT_NAME) {
    p->state = S_CHUNK_LF;
  } else {
    return fail(p, 400, "invalid chunk extension");
  }
  return HTTP_PARSE_NEED_MORE;
}

/* ---- Byte dispatch ---------------------------------------------------- */

static enum state_class state_class(int state) {
  if (state <= S_LINE_LF) {
    return CLASS_REQUEST_LINE;
  }
  if (state <= S_SECTION_LF) {
    return CLASS_FIELDS;
  }
  if (state <= S_CHUNK_LF) {
    return CLASS_CHUNK_LINE;
  }
  return CLASS_OTHER;
}

/* Count one more byte towards its limit, or fail if it would pass it. */
static enum http_parse_result count_byte(struct http_parser *p,
                                         enum state_class class) {
  size_t *count = &p->section_bytes;
  size_t limit = p->limits.max_head_bytes;
  int status = 431;
  const char *reason = "trailer section too large";
  if (class == CLASS_REQUEST_LINE ||
      (class == CLASS_FIELDS && !p->in_trailers)) {
    count = &p->head_bytes;
    status = class == CLASS_REQUEST_LINE ? 414 : 431;
    reason = class == CLASS_REQUEST_LINE ? "request line too long"
                                         : "header section too large";
  } else if (class == CLASS_CHUNK_LINE) {
    limit = HTTP_PARSER_MAX_CHUNK_LINE_BYTES;
    status = 400;
    reason = "chunk line too long";
  } else if (class == CLASS_OTHER) {
    return HTTP_PARSE_NEED_MORE;
  }
  if (*count >= limit) {
    return fail(p, status, reason);
  }
  ++*count;
  return HTTP_PARSE_NEED_MORE;
}

/* The LF of a CRLF: what the line it ends leads to. */
static enum http_parse_result lf_byte(struct http_parser *p) {
  switch (p->state) {
  case S_START_LF:
    p->state = S_START;
    return HTTP_PARSE_NEED_MORE;
  case S_LINE_LF:
    return request_line_done(p);
  case S_VALUE_LF:
    field_done(p);
    return HTTP_PARSE_NEED_MORE;
  case S_SECTION_LF:
    p->state = p->in_trailers ? S_MESSAGE_END : S_HEAD_DONE;
    return HTTP_PARSE_NEED_MORE;
  case S_CHUNK_LF:
    if (p->body_remaining == 0) {
      /* The last chunk: the trailer section follows. */
      p->in_trailers = true;
      p->section_bytes = 0;
      p->state = S_FIELD_START;
    } else {
      p->state = S_CHUNK_DATA;
    }
    return HTTP_PARSE_NEED_MORE;
  default:
    assert(p->state == S_CHUNK_DATA_LF);
    p->section_bytes = 0;
    p->state = S_CHUNK_SIZE_FIRST;
    return HTTP_PARSE_NEED_MORE;
  }
}

static bool is_lf_state(int state) {
  return state == S_START_LF || state == S_LINE_LF || state == S_VALUE_LF ||
         state == S_SECTION_LF || state == S_CHUNK_LF ||
         state == S_CHUNK_DATA_LF;
}

/* One byte of a line-structured part. off is its offset in the head (only
 * meaningful there). CR and LF are handled here once for all lines: a CR
 * must be followed by LF, and an LF must follow a CR. */
static enum http_parse_result parse_byte(struct http_parser *p, unsigned char c,
                                         size_t off) {
  if (is_lf_state(p->state)) {
    return c == '\n' ? lf_byte(p) : fail(p, 400, "CR not followed by LF");
  }
  if (c == '\n') {
    return fail(p, 400, "LF without CR");
  }
  switch (state_class(p->state)) {
  case CLASS_REQUEST_LINE:
    return request_line_byte(p, c, off);
  case CLASS_FIELDS:
    return field_byte(p, c, off);
  case CLASS_CHUNK_LINE:
    if (p->state <= S_CHUNK_SIZE) {
      return chunk_size_byte(p, c);
    }
    return chunk_ext_byte(p, c);
  default:
    assert(p->state == S_CHUNK_DATA_CR);
    if (c != '\r') {
      return fail(p, 400, "chunk data not followed by CRLF");
    }
    p->state = S_CHUNK_DATA_LF;
    return HTTP_PARSE_NEED_MORE;
  }
}

/* ---- Runs ------------------------------------------------------------ */

/* The bytes of a run in a head: those that in their state change nothing
 * but the count of head bytes (and a value's end). A run is cut where
 * the byte-by-byte path has a limit to check, so that a limit passed, an
 * error and its position come out of that path exactly as before. */
static size_t head_run(const unsigned char *s, size_t n, unsigned int mask) {
  size_t i = 0;
  while (i < n && (char_class[s[i]] & mask) != 0) {
    i++;
  }
  return i;
}

/* A field value's run, blanks included; the value's end moves past its
 * last visible byte. */
static size_t value_run(struct http_parser *p, const unsigned char *s,
                        size_t n) {
  size_t i = 0, vchar_end = 0;
  while (i < n && (char_class[s[i]] & (CHAR_VCHAR | CHAR_BLANK)) != 0) {
    if ((char_class[s[i]] & CHAR_VCHAR) != 0) {
      vchar_end = i + 1;
    }
    i++;
  }
  if (vchar_end > 0) {
    p->value_end = p->head_bytes + vchar_end;
  }
  return i;
}

/* "HTTP/1.1" or "HTTP/1.0" and the CRLF after it, whole in the input:
 * what version_byte() and request_line_done() would make of it. */
static size_t version_run(struct http_parser *p, const char *s, size_t n) {
  if (p->version_pos != 0 || n < 10 || memcmp(s, "HTTP/1.", 7) != 0 ||
      (s[7] != '0' && s[7] != '1') || s[8] != '\r' || s[9] != '\n') {
    return 0;
  }
  p->version_major = 1;
  p->request.version_minor = s[7] - '0';
  p->version_pos = 9;
  p->state = S_FIELD_START;
  return 10;
}

/* Take the run of bytes at data[*pos] that the current state would take
 * one by one without a decision, if it is in the head. Trailer fields
 * count towards another limit and take the byte-by-byte path. */
static void parse_run(struct http_parser *p, const char *data, size_t len,
                      size_t *pos) {
  const unsigned char *s = (const unsigned char *)data + *pos;
  size_t n = len - *pos, used;
  size_t room = p->limits.max_head_bytes - p->head_bytes;
  if (n > room) {
    n = room;
  }
  switch (p->state) {
  case S_METHOD: {
    size_t left = HTTP_PARSER_MAX_METHOD_BYTES -
                  (p->head_bytes - p->method_start);
    used = head_run(s, n < left ? n : left, CHAR_TOKEN);
    break;
  }
  case S_TARGET: {
    size_t left = p->limits.max_target_bytes -
                  (p->head_bytes - p->target_start);
    used = head_run(s, n < left ? n : left, CHAR_TARGET);
    break;
  }
  case S_VERSION:
    used = version_run(p, data + *pos, n);
    break;
  case S_NAME:
    used = p->in_trailers ? 0 : head_run(s, n, CHAR_TOKEN);
    break;
  case S_VALUE:
    used = p->in_trailers ? 0 : value_run(p, s, n);
    break;
  default:
    return;
  }
  p->head_bytes += used;
  *pos += used;
}

/* Parse bytes from *pos until the input ends, something is to be
 * reported, or a state that does not take bytes one by one is reached:
 * runs at once, every other byte on its own. */
static enum http_parse_result parse_bytes(struct http_parser *p,
                                          const char *data, size_t len,
                                          size_t *pos) {
  while (*pos < len && p->state < S_HEAD_DONE) {
    parse_run(p, data, len, pos);
    if (*pos == len) {
      break;
    }
    enum state_class class = state_class(p->state);
    size_t off = p->head_bytes;
    enum http_parse_result result = count_byte(p, class);
    if (result == HTTP_PARSE_NEED_MORE) {
      result = parse_byte(p, (unsigned char)data[*pos], off);
    }
    if (result != HTTP_PARSE_NEED_MORE) {
      return result;
    }
    ++*pos;
  }
  return HTTP_PARSE_NEED_MORE;
}

/* ---- The complete head: what it means --------------------------------- */

/* The summary of the fields that decide framing and the connection. */
struct fields {
  int content_lengths;     /* Content-Length fields seen. */
  uint64_t content_length; /* The value of the first. */
  bool transfer_encoding;  /* A Transfer-Encoding field was seen. */
  bool chunked;            /* chunked was named. */
  bool chunked_last;       /* chunked is the last coding so far. */
  bool other_coding;       /* A coding other than chunked was named. */
  int hosts;               /* Host fields seen. */
  bool close;              /* Connection lists "close". */
  bool keep_alive;         /* Connection lists "keep-alive". */
  bool expect_continue;    /* Expect is "100-continue". */
  bool expect_other;       /* Expect names something else. */
};

/* The next element of a comma-separated list, without the whitespace
 * around it; false when *rest is used up. An empty element is returned
 * as an empty slice. */
static bool list_next(struct http_slice *rest, struct http_slice *element) {
  size_t end = 0;
  if (rest->data == NULL) {
    return false;
  }
  while (end < rest->len && rest->data[end] != ',') {
    end++;
  }
  element->data = rest->data;
  element->len = end;
  while (element->len > 0 && is_blank((unsigned char)element->data[0])) {
    element->data++;
    element->len--;
  }
  while (element->len > 0 &&
         is_blank((unsigned char)element->data[element->len - 1])) {
    element->len--;
  }
  if (end == rest->len) {
    rest->data = NULL; /* That was the last element. */
  } else {
    rest->data += end + 1;
    rest->len -= end + 1;
  }
  return true;
}

static size_t token_len(struct http_slice s) {
  size_t n = 0;
  while (n < s.len && is_tchar((unsigned char)s.data[n])) {
    n++;
  }
  return n;
}

static enum http_parse_result content_length_field(struct http_parser *p,
                                                   struct http_slice value,
                                                   struct fields *f) {
  uint64_t n = 0;
  size_t i;
  if (f->content_lengths++ > 0) {
    return fail(p, 400, "duplicate Content-Length");
  }
  if (value.len == 0) {
    return fail(p, 400, "invalid Content-Length");
  }
  for (i = 0; i < value.len; i++) {
    unsigned char c = (unsigned char)value.data[i];
    if (c < '0' || c > '9') {
      return fail(p, 400, "invalid Content-Length");
    }
    if (n > (max_length - (c - '0')) / 10) {
      return fail(p, 400, "Content-Length overflow");
    }
    n = n * 10 + (c - '0');
  }
  f->content_length = n;
  return HTTP_PARSE_NEED_MORE;
}

/* One Transfer-Encoding field: its codings join those of earlier fields
 * in one list (RFC 9110 section 5.3). */
static enum http_parse_result transfer_encoding_field(struct http_parser *p,
                                                      struct http_slice value,
                                                      struct fields *f) {
  struct http_slice rest = value, coding;
  f->transfer_encoding = true;
  while (list_next(&rest, &coding)) {
    size_t name_len = token_len(coding);
    struct http_slice name = {coding.data, name_len};
    bool params = name_len < coding.len;
    if (coding.len == 0) {
      return fail(p, 400, "empty element in Transfer-Encoding");
    }
    if (params) {
      /* Only ";" parameters may follow a coding's name. */
      size_t i = name_len;
      while (i < coding.len && is_blank((unsigned char)coding.data[i])) {
        i++;
      }
      if (name_len == 0 || i == coding.len || coding.data[i] != ';') {
        return fail(p, 400, "invalid Transfer-Encoding");
      }
    }
    if (!slice_is(name, "chunked")) {
      f->other_coding = true;
      f->chunked_last = false;
      continue;
    }
    if (params) {
      return fail(p, 400, "parameters on chunked");
    }
    if (f->chunked) {
      return fail(p, 400, "chunked applied twice");
    }
    f->chunked = true;
    f->chunked_last = true;
  }
  return HTTP_PARSE_NEED_MORE;
}

static enum http_parse_result connection_field(struct http_parser *p,
                                               struct http_slice value,
                                               struct fields *f) {
  struct http_slice rest = value, option;
  while (list_next(&rest, &option)) {
    if (token_len(option) != option.len) {
      return fail(p, 400, "invalid Connection");
    }
    if (slice_is(option, "close")) {
      f->close = true;
    } else if (slice_is(option, "keep-alive")) {
      f->keep_alive = true;
    }
  }
  return HTTP_PARSE_NEED_MORE;
}

/* The host of a Host value: an IP-literal in brackets, or a reg-name,
 * whose escapes must be "%" and two hex digits. Returns the bytes it
 * takes: a reg-name ends at the port's colon or at the first byte no
 * host holds, which the caller refuses; 0 for an empty host or a broken
 * IP-literal. */
static size_t host_name_len(struct http_slice v) {
  size_t i = 0;
  if (v.len > 0 && v.data[0] == '[') {
    for (i = 1; i < v.len && v.data[i] != ']'; i++) {
      if (!is_host_char((unsigned char)v.data[i]) || v.data[i] == '[') {
        return 0;
      }
    }
    return i < v.len && i > 1 ? i + 1 : 0; /* Past "]", if any. */
  }
  /* One table load a byte: this runs for every request. */
  for (; i < v.len; i++) {
    unsigned char c = (unsigned char)v.data[i];
    if ((char_class[c] & CHAR_NAME) != 0) {
      continue;
    }
    if (c != '%' || i + 2 >= v.len ||
        hex_value((unsigned char)v.data[i + 1]) < 0 ||
        hex_value((unsigned char)v.data[i + 2]) < 0) {
      break; /* The port's colon, or a byte no host holds. */
    }
    i += 2;
  }
  return i;
}

/* Host = uri-host [ ":" port ] (RFC 9110 section 7.2, RFC 3986): a
 * host, then at most one colon and digits; or empty, which RFC 9112
 * section 3.2 asks of a client whose target has no authority. A colon
 * inside a reg-name, a port that is not digits, or a port without a
 * host is 400: RFC 9112 section 3.2 makes that a MUST for "a Host header
 * field with an invalid field value". */
static bool is_host_value(struct http_slice v) {
  size_t i;
  if (v.len == 0) {
    return true;
  }
  i = host_name_len(v);
  if (i == 0) {
    return false;
  }
  if (i < v.len && v.data[i++] != ':') {
    return false; /* "[::1]x" */
  }
  for (; i < v.len; i++) {
    if (v.data[i] < '0' || v.data[i] > '9') {
      return false;
    }
  }
  return true;
}

static enum http_parse_result host_field(struct http_parser *p,
                                         struct http_slice value,
                                         struct fields *f) {
  if (f->hosts++ > 0) {
    return fail(p, 400, "duplicate Host");
  }
  if (!is_host_value(value)) {
    return fail(p, 400, "invalid Host");
  }
  p->request.host = value;
  p->request.has_host = true;
  return HTTP_PARSE_NEED_MORE;
}

/* Look at one header field, if it is one that matters here. */
static enum http_parse_result header_field(struct http_parser *p,
                                           const struct http_header *h,
                                           struct fields *f) {
  if (slice_is(h->name, "content-length")) {
    return content_length_field(p, h->value, f);
  }
  if (slice_is(h->name, "transfer-encoding")) {
    return transfer_encoding_field(p, h->value, f);
  }
  if (slice_is(h->name, "host")) {
    return host_field(p, h->value, f);
  }
  if (slice_is(h->name, "connection")) {
    return connection_field(p, h->value, f);
  }
  if (slice_is(h->name, "expect") && h->value.len > 0) {
    if (slice_is(h->value, "100-continue")) {
      f->expect_continue = true;
    } else {
      f->expect_other = true;
    }
  }
  return HTTP_PARSE_NEED_MORE;
}

/* authority-form: uri-host ":" port, the port 1 to 5 digits. */
static bool is_authority(struct http_slice t) {
  size_t colon = t.len, i;
  while (colon > 0 && t.data[colon - 1] != ':') {
    colon--;
  }
  if (colon < 2 || t.len - colon < 1 || t.len - colon > 5) {
    return false; /* No colon, an empty host, or no or a long port. */
  }
  for (i = colon; i < t.len; i++) {
    if (t.data[i] < '0' || t.data[i] > '9') {
      return false;
    }
  }
  for (i = 0; i < colon - 1; i++) {
    if (!is_host_char((unsigned char)t.data[i])) {
      return false;
    }
  }
  return true;
}

/* absolute-form: a scheme (ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ))
 * and a colon; the rest was checked byte by byte. */
static bool is_absolute(struct http_slice t) {
  size_t i;
  for (i = 0; i < t.len; i++) {
    unsigned char c = (unsigned char)t.data[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (c == ':') {
      return i > 0;
    }
    if (!alpha && (i == 0 || !((c >= '0' && c <= '9') || c == '+' || c == '-' ||
                               c == '.'))) {
      return false;
    }
  }
  return false;
}

static enum http_parse_result check_target(struct http_parser *p) {
  struct http_request *r = &p->request;
  if (r->method_id == HTTP_METHOD_CONNECT) {
    if (!is_authority(r->target)) {
      return fail(p, 400, "CONNECT needs a host:port target");
    }
    r->target_form = HTTP_TARGET_AUTHORITY;
  } else if (r->target.data[0] == '/') {
    r->target_form = HTTP_TARGET_ORIGIN;
  } else if (r->target.len == 1 && r->target.data[0] == '*') {
    if (r->method_id != HTTP_METHOD_OPTIONS) {
      return fail(p, 400, "asterisk target without OPTIONS");
    }
    r->target_form = HTTP_TARGET_ASTERISK;
  } else if (is_absolute(r->target)) {
    r->target_form = HTTP_TARGET_ABSOLUTE;
  } else {
    return fail(p, 400, "invalid target");
  }
  return HTTP_PARSE_NEED_MORE;
}

static enum http_method method_id(struct http_slice method) {
  static const char *const names[] = {
      NULL,     "GET",     "HEAD",    "POST",  "PUT",
      "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
  };
  size_t i;
  for (i = 1; i < sizeof(names) / sizeof(names[0]); i++) {
    if (method.len == strlen(names[i]) &&
        memcmp(method.data, names[i], method.len) == 0) {
      return (enum http_method)i;
    }
  }
  return HTTP_METHOD_OTHER;
}

/* Turn the offsets kept while parsing into slices of base, the head's
 * first byte. */
static void resolve_slices(struct http_parser *p, const char *base) {
  struct http_request *r = &p->request;
  size_t i;
  r->method.data = base + p->method_start;
  r->method.len = p->method_end - p->method_start;
  r->target.data = base + p->target_start;
  r->target.len = p->target_end - p->target_start;
  for (i = 0; i < r->header_count; i++) {
    r->headers[i].name.data = base + p->spans[i].name_start;
    r->headers[i].name.len = p->spans[i].name_len;
    r->headers[i].value.data = base + p->spans[i].value_start;
    r->headers[i].value.len = p->spans[i].value_len;
  }
}

/* The framing errors, in a fixed order, and then the framing. */
static enum http_parse_result decide_framing(struct http_parser *p,
                                             const struct fields *f) {
  struct http_request *r = &p->request;
  if (f->transfer_encoding) {
    if (r->version_minor == 0) {
      return fail(p, 400, "Transfer-Encoding in HTTP/1.0");
    }
    if (f->content_lengths > 0) {
      return fail(p, 400, "both Content-Length and Transfer-Encoding");
    }
    if (!f->chunked_last) {
      return fail(p, 400, "chunked is not the final coding");
    }
    if (f->other_coding) {
      return fail(p, 501, "unsupported transfer coding");
    }
    r->framing = HTTP_FRAMING_CHUNKED;
  } else if (f->content_lengths > 0) {
    r->framing = HTTP_FRAMING_LENGTH;
    r->content_length = f->content_length;
  }
  if (r->framing != HTTP_FRAMING_NONE && r->method_id == HTTP_METHOD_CONNECT) {
    return fail(p, 400, "CONNECT with a body");
  }
  if (r->content_length > p->limits.max_body_bytes) {
    return fail(p, 413, "body too large");
  }
  return HTTP_PARSE_NEED_MORE;
}

/* The head is complete, and base is its first byte: check what the
 * fields mean together, fill in the request, and choose the body's
 * state. */
static enum http_parse_result head_done(struct http_parser *p,
                                        const char *base) {
  struct http_request *r = &p->request;
  struct fields f = {0};
  size_t i;
  resolve_slices(p, base);
  r->method_id = method_id(r->method);
  if (check_target(p) == HTTP_PARSE_ERROR) {
    return HTTP_PARSE_ERROR;
  }
  for (i = 0; i < r->header_count; i++) {
    if (header_field(p, &r->headers[i], &f) == HTTP_PARSE_ERROR) {
      return HTTP_PARSE_ERROR;
    }
  }
  if (decide_framing(p, &f) == HTTP_PARSE_ERROR) {
    return HTTP_PARSE_ERROR;
  }
  if (r->version_minor == 1 && f.hosts == 0) {
    return fail(p, 400, "missing Host");
  }
  if (f.expect_other) {
    return fail(p, 417, "unsupported expectation");
  }
  r->expect_continue = f.expect_continue && r->version_minor == 1;
  r->keep_alive = r->version_minor == 1 ? !f.close : f.keep_alive && !f.close;
  if (r->method_id == HTTP_METHOD_CONNECT) {
    r->keep_alive = false;
  }
  p->body_remaining = r->content_length;
  if (r->framing == HTTP_FRAMING_CHUNKED) {
    p->section_bytes = 0;
    p->state = S_CHUNK_SIZE_FIRST;
  } else {
    p->state = r->content_length > 0 ? S_BODY : S_MESSAGE_END;
  }
  return HTTP_PARSE_HEADERS_DONE;
}

/* ---- The calls -------------------------------------------------------- */

/* Hand over as much of the body or chunk as the input holds. */
static enum http_parse_result body_bytes(struct http_parser *p,
                                         const char *data, size_t len,
                                         size_t *pos) {
  size_t n = len - *pos;
  if (n > p->body_remaining) {
    n = (size_t)p->body_remaining;
  }
  p->body.data = data + *pos;
  p->body.len = n;
  *pos += n;
  p->body_remaining -= n;
  if (p->body_remaining == 0) {
    p->state = p->state == S_BODY ? S_MESSAGE_END : S_CHUNK_DATA_CR;
  }
  return HTTP_PARSE_BODY_CHUNK;
}

/* Forget the last request: the next byte is the first of a new one. */
static void message_reset(struct http_parser *p) {
  struct http_request *r = &p->request;
  /* Field by field: the header array is most of the struct (2 KiB), and
   * only its first header_count entries mean anything, each set at
   * HEADERS_DONE. */
  r->method = (struct http_slice){NULL, 0};
  r->method_id = HTTP_METHOD_OTHER;
  r->target = (struct http_slice){NULL, 0};
  r->target_form = HTTP_TARGET_ORIGIN;
  r->version_minor = 0;
  r->header_count = 0;
  r->framing = HTTP_FRAMING_NONE;
  r->content_length = 0;
  r->keep_alive = false;
  r->expect_continue = false;
  r->host = (struct http_slice){NULL, 0};
  r->has_host = false;
  p->body.data = NULL;
  p->body.len = 0;
  p->state = S_START;
  p->in_trailers = false;
  p->head_bytes = 0;
  p->section_bytes = 0;
  p->section_fields = 0;
  p->body_remaining = 0;
  p->body_total = 0;
}

void http_parser_init(struct http_parser *parser,
                      const struct http_limits *limits) {
  static const struct http_limits defaults = {
      HTTP_PARSER_DEFAULT_HEAD_BYTES,
      HTTP_PARSER_DEFAULT_TARGET_BYTES,
      HTTP_PARSER_DEFAULT_HEADERS,
      HTTP_PARSER_DEFAULT_BODY_BYTES,
  };
  assert(parser != NULL && "http_parser_init: no parser");
  memset(parser, 0, sizeof(*parser));
  parser->limits = limits != NULL ? *limits : defaults;
  /* Head offsets are kept in 32 bits (struct http_parser's spans). */
  assert(parser->limits.max_head_bytes <= UINT32_MAX &&
         "http_parser_init: max_head_bytes above 4 GiB");
  assert(parser->limits.max_headers <= HTTP_PARSER_MAX_HEADERS &&
         "http_parser_init: max_headers above HTTP_PARSER_MAX_HEADERS");
  message_reset(parser);
}

enum http_parse_result http_parser_feed(struct http_parser *parser,
                                        const char *data, size_t len,
                                        size_t *consumed) {
  struct http_parser *p = parser;
  enum http_parse_result result = HTTP_PARSE_NEED_MORE;
  size_t pos = 0;
  assert(p != NULL && consumed != NULL && (data != NULL || len == 0) &&
         "http_parser_feed: invalid arguments");
  /* S_HEAD_DONE never outlives the call that reached it: the head's
   * bytes are known to be in place only during that call. */
  assert(p->state != S_HEAD_DONE && "http_parser_feed: broken state");
  if (p->state == S_DONE) {
    message_reset(p);
  }
  while (result == HTTP_PARSE_NEED_MORE) {
    int state = p->state;
    if (state == S_ERROR) {
      result = HTTP_PARSE_ERROR;
    } else if (state == S_MESSAGE_END) {
      p->state = S_DONE;
      result = HTTP_PARSE_MESSAGE_DONE;
    } else if (state == S_HEAD_DONE) {
      /* Every byte of the head is right before data + pos. */
      result = head_done(p, data + pos - p->head_bytes);
    } else if (pos == len) {
      break;
    } else if (state == S_BODY || state == S_CHUNK_DATA) {
      result = body_bytes(p, data, len, &pos);
    } else {
      result = parse_bytes(p, data, len, &pos);
    }
  }
  *consumed = pos;
  return result;
}
