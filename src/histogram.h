/*
 * histogram.h: the histogram's layout (src/histogram.c) and its record, as
 * inline functions: the loop and the thread pool record on their hot
 * paths, where a call and a NULL check per value would be most of the
 * cost.
 */
#ifndef AX_HISTOGRAM_H
#define AX_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "axle.h"

enum {
  AX__HIST_SUB_BITS = 4,                 /* 16 buckets per power of two. */
  AX__HIST_SUB = 1 << AX__HIST_SUB_BITS, /* Buckets per power of two. */
  AX__HIST_EXACT = 2 * AX__HIST_SUB,     /* Values below have a bucket each. */
  AX__HIST_FIRST_POWER = AX__HIST_SUB_BITS +
                         1, /* The first power past the exact. */
  AX__HIST_LAST_POWER = 39, /* Its group holds all above too. */
};

/* The header's figure, computed: 32 exact buckets, then 16 per power. */
_Static_assert(AX_HISTOGRAM_BUCKETS ==
                   AX__HIST_EXACT +
                       (AX__HIST_LAST_POWER - AX__HIST_FIRST_POWER + 1) *
                           AX__HIST_SUB,
               "axle: AX_HISTOGRAM_BUCKETS does not match the layout");

/* The highest set bit of a value that is not 0. */
static inline unsigned int ax__histogram_log2(uint64_t value) {
  return 63u - (unsigned int)__builtin_clzll(value);
}

/* The bucket a value counts in. */
static inline size_t ax__histogram_index(uint64_t value_ns) {
  if (value_ns < AX__HIST_EXACT)
    return (size_t)value_ns;
  unsigned int power = ax__histogram_log2(value_ns);
  if (power > AX__HIST_LAST_POWER)
    return AX_HISTOGRAM_BUCKETS - 1;
  unsigned int sub = (unsigned int)(value_ns >> (power - AX__HIST_SUB_BITS));
  return AX__HIST_EXACT +
         (size_t)(power - AX__HIST_FIRST_POWER) * AX__HIST_SUB +
         (sub - AX__HIST_SUB);
}

/* ax_histogram_record() without the NULL check. */
static inline void ax__histogram_add(ax_histogram_t *hist, uint64_t value_ns) {
  hist->buckets[ax__histogram_index(value_ns)]++;
  if (hist->count == 0 || value_ns < hist->min_ns)
    hist->min_ns = value_ns;
  if (value_ns > hist->max_ns)
    hist->max_ns = value_ns;
  hist->count++;
  hist->sum_ns += value_ns; /* 2^64 ns is 584 years of delay. */
}

/* The largest value a bucket holds (UINT64_MAX for the last, which holds
 * every longer value too). */
uint64_t ax__histogram_upper(size_t index);

#endif /* AX_HISTOGRAM_H */
