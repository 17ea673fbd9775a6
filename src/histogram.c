/*
 * histogram.c: durations counted in buckets of fixed size, for the loop's
 * delay and the thread pool's lanes (metrics.c), and for the user's own.
 *
 * The layout is HdrHistogram's log-linear one with 16 sub-buckets per power
 * of two: values below 32 ns have a bucket each; above, the power of two a
 * value falls in picks a group of 16 buckets, and the four bits below its
 * highest set bit pick one inside it. So a bucket is never wider than 1/16
 * of the values it holds, a record is a count of leading zeros and an
 * increment, and the whole range (to 2^40 ns, about 18 minutes) fits in
 * AX_HISTOGRAM_BUCKETS counters, with no allocation ever.
 */
#include <string.h>

#include "histogram.h"
#include "internal.h"

uint64_t ax__histogram_upper(size_t index) {
  if (index < AX__HIST_EXACT)
    return index;
  if (index >= AX_HISTOGRAM_BUCKETS - 1)
    return UINT64_MAX;
  size_t group = (index - AX__HIST_EXACT) / AX__HIST_SUB;
  uint64_t sub = AX__HIST_SUB + (index - AX__HIST_EXACT) % AX__HIST_SUB;
  unsigned int shift = (unsigned int)group + AX__HIST_FIRST_POWER -
                       AX__HIST_SUB_BITS;
  return ((sub + 1) << shift) - 1;
}

void ax_histogram_reset(ax_histogram_t *hist) {
  if (hist != NULL)
    memset(hist, 0, sizeof(*hist));
}

void ax_histogram_record(ax_histogram_t *hist, uint64_t value_ns) {
  if (hist != NULL)
    ax__histogram_add(hist, value_ns);
}

void ax_histogram_merge(ax_histogram_t *dst, const ax_histogram_t *src) {
  if (dst == NULL || src == NULL || src->count == 0)
    return;
  for (size_t i = 0; i < AX_HISTOGRAM_BUCKETS; i++)
    dst->buckets[i] += src->buckets[i];
  if (dst->count == 0 || src->min_ns < dst->min_ns)
    dst->min_ns = src->min_ns;
  if (src->max_ns > dst->max_ns)
    dst->max_ns = src->max_ns;
  dst->count += src->count;
  dst->sum_ns += src->sum_ns;
}

/* The rank of the value at percent (above 0): at least 1, at most
 * count. */
static uint64_t hist_rank(uint64_t count, double percent) {
  if (percent >= 100.0)
    return count;
  double rank = percent / 100.0 * (double)count;
  uint64_t whole = (uint64_t)rank;
  if ((double)whole < rank)
    whole++;
  return whole < 1 ? 1 : whole;
}

uint64_t ax_histogram_percentile(const ax_histogram_t *hist, double percent) {
  if (hist == NULL || hist->count == 0)
    return 0;
  if (!(percent > 0.0)) /* Also NaN. */
    return hist->min_ns;
  uint64_t rank = hist_rank(hist->count, percent);
  uint64_t seen = 0;
  size_t i = 0;
  for (; i < AX_HISTOGRAM_BUCKETS - 1; i++) {
    seen += hist->buckets[i];
    if (seen >= rank)
      break;
  }
  uint64_t value = ax__histogram_upper(i);
  if (value > hist->max_ns)
    value = hist->max_ns;
  return value < hist->min_ns ? hist->min_ns : value;
}
