/*
 * http-date.c: HTTP dates (RFC 9110, section 5.6.7) for the HTTP server
 * example: the Date and Last-Modified values it sends, and the
 * If-Modified-Since and If-Range values it reads.
 *
 * Dates are seconds since 1970-01-01 UTC. The conversion to and from a
 * calendar date is done here rather than with gmtime_r() and timegm():
 * the one is POSIX and the other not even that, while this arithmetic is
 * the same everywhere (the proleptic Gregorian calendar, years 1 to
 * 9999).
 */
#include "server.h"

#include <string.h>

static const char weekday_names[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                         "Thu", "Fri", "Sat"};
static const char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr",
                                        "May", "Jun", "Jul", "Aug",
                                        "Sep", "Oct", "Nov", "Dec"};

/* Days before each month in a common year. */
static const int days_before_month[12] = {0,   31,  59,  90,  120, 151,
                                          181, 212, 243, 273, 304, 334};

enum { SECONDS_PER_DAY = 86400 };

static bool is_leap(int64_t year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* Days from 1970-01-01 to January 1 of @p year (negative before 1970),
 * for year >= 1: 365 a year plus the leap days in between. */
static int64_t days_before_year(int64_t year) {
  int64_t y = year - 1;
  int64_t leaps = y / 4 - y / 100 + y / 400;
  return 365 * (year - 1970) + leaps - (1969 / 4 - 1969 / 100 + 1969 / 400);
}

static int64_t days_from_date(int64_t year, int month, int day) {
  int64_t days = days_before_year(year) + days_before_month[month] + day - 1;
  return month >= 2 && is_leap(year) ? days + 1 : days;
}

/* The calendar date of a day number: the year first, by estimate and
 * correction, then the month. */
static void date_from_days(int64_t days, int64_t *year, int *month, int *day) {
  int64_t y = 1970 + days / 366;
  while (days_before_year(y + 1) <= days)
    y++;
  while (days_before_year(y) > days)
    y--;
  int yday = (int)(days - days_before_year(y));
  int m = 11;
  while (m > 0 && yday < days_before_month[m] + (m >= 2 && is_leap(y)))
    m--;
  *year = y;
  *month = m;
  *day = yday - days_before_month[m] - (m >= 2 && is_leap(y)) + 1;
}

static void put_digits(char *out, int64_t value, int count) {
  for (int i = count - 1; i >= 0; i--) {
    out[i] = (char)('0' + value % 10);
    value /= 10;
  }
}

/* "Sun, 06 Nov 1994 08:49:37 GMT": IMF-fixdate, the one form a sender
 * may use. Times outside years 1..9999 are clamped to them. */
void http_date_format(int64_t seconds, char out[HTTP_DATE_BYTES]) {
  const int64_t first = days_before_year(1) * SECONDS_PER_DAY;
  const int64_t last = days_before_year(10000) * SECONDS_PER_DAY - 1;
  seconds = seconds < first ? first : seconds > last ? last : seconds;
  int64_t days = seconds / SECONDS_PER_DAY;
  int64_t rest = seconds % SECONDS_PER_DAY;
  if (rest < 0) {
    days--;
    rest += SECONDS_PER_DAY;
  }
  int64_t year;
  int month, day;
  date_from_days(days, &year, &month, &day);
  int weekday = (int)(((days % 7) + 11) % 7); /* 1970-01-01: a Thursday. */
  memcpy(out, weekday_names[weekday], 3);
  out[3] = ',';
  out[4] = ' ';
  put_digits(out + 5, day, 2);
  out[7] = ' ';
  memcpy(out + 8, month_names[month], 3);
  out[11] = ' ';
  put_digits(out + 12, year, 4);
  out[16] = ' ';
  put_digits(out + 17, rest / 3600, 2);
  out[19] = ':';
  put_digits(out + 20, rest / 60 % 60, 2);
  out[22] = ':';
  put_digits(out + 23, rest % 60, 2);
  memcpy(out + 25, " GMT", 5); /* With the terminating NUL. */
}

/* A cursor over the text being parsed. */
struct scan {
  const char *p;   /* The next byte. */
  const char *end; /* Past the last. */
};

static bool scan_char(struct scan *s, char c) {
  if (s->p == s->end || *s->p != c)
    return false;
  s->p++;
  return true;
}

/* Exactly @p count digits (or 1 to 2 when count is 0: asctime's day). */
static bool scan_number(struct scan *s, int count, int64_t *value) {
  int min = count > 0 ? count : 1, max = count > 0 ? count : 2, n = 0;
  *value = 0;
  while (n < max && s->p < s->end && *s->p >= '0' && *s->p <= '9') {
    *value = *value * 10 + (*s->p++ - '0');
    n++;
  }
  return n >= min;
}

static bool scan_month(struct scan *s, int *month) {
  if (s->end - s->p < 3)
    return false;
  for (int m = 0; m < 12; m++) {
    if (memcmp(s->p, month_names[m], 3) == 0) {
      *month = m;
      s->p += 3;
      return true;
    }
  }
  return false;
}

/* "08:49:37" into seconds of the day. */
static bool scan_time(struct scan *s, int64_t *seconds) {
  int64_t h, m, sec;
  if (!scan_number(s, 2, &h) || !scan_char(s, ':') || !scan_number(s, 2, &m) ||
      !scan_char(s, ':') || !scan_number(s, 2, &sec))
    return false;
  *seconds = h * 3600 + m * 60 + sec;
  return h < 24 && m < 60 && sec < 61; /* 60: a leap second. */
}

static bool scan_gmt(struct scan *s) {
  return scan_char(s, ' ') && scan_char(s, 'G') && scan_char(s, 'M') &&
         scan_char(s, 'T') && s->p == s->end;
}

/* After "Sun, ": "06 Nov 1994 08:49:37 GMT" (IMF-fixdate) or, after
 * "Sunday, ": "06-Nov-94 08:49:37 GMT" (RFC 850, two-digit years read as
 * 1970..2069). */
static bool scan_day_month_year(struct scan *s, int64_t *year, int *month,
                                int64_t *day) {
  if (!scan_number(s, 2, day))
    return false;
  char sep = '\0';
  if (s->p < s->end)
    sep = *s->p;
  if ((sep != ' ' && sep != '-') || !scan_char(s, sep) ||
      !scan_month(s, month) || !scan_char(s, sep))
    return false;
  if (sep == ' ')
    return scan_number(s, 4, year);
  if (!scan_number(s, 2, year))
    return false;
  *year += *year < 70 ? 2000 : 1900;
  return true;
}

/* The three forms of RFC 9110 section 5.6.7, as a recipient must accept
 * them: IMF-fixdate, RFC 850, and asctime ("Sun Nov  6 08:49:37 1994"). */
bool http_date_parse(const char *text, size_t len, int64_t *seconds) {
  struct scan s = {text, text + len};
  int64_t year, day, time_of_day;
  int month;
  while (s.p < s.end &&
         ((*s.p >= 'A' && *s.p <= 'Z') || (*s.p >= 'a' && *s.p <= 'z')))
    s.p++; /* The weekday, which adds nothing. */
  if (scan_char(&s, ',')) {
    if (!scan_char(&s, ' ') || !scan_day_month_year(&s, &year, &month, &day) ||
        !scan_char(&s, ' ') || !scan_time(&s, &time_of_day) || !scan_gmt(&s))
      return false;
  } else {
    if (!scan_char(&s, ' ') || !scan_month(&s, &month) || !scan_char(&s, ' '))
      return false;
    scan_char(&s, ' '); /* A day below 10 is padded with a space. */
    if (!scan_number(&s, 0, &day) || !scan_char(&s, ' ') ||
        !scan_time(&s, &time_of_day) || !scan_char(&s, ' ') ||
        !scan_number(&s, 4, &year) || s.p != s.end)
      return false;
  }
  int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1 || day < 1 ||
      day > month_days[month] + (month == 1 && is_leap(year)))
    return false;
  *seconds = days_from_date(year, month, (int)day) * SECONDS_PER_DAY +
             time_of_day;
  return true;
}
