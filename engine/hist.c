/* SPDX-License-Identifier: MIT */
/*
 * hist.c: the cold-path half of the latency histogram (engine/hist.h):
 * bucket bounds, percentiles, merge, reset and formatting. Recording is
 * inline in hist.h.
 */
#include <stdio.h>

#include "engine/hist.h"

static inline uint64_t ld(const uint64_t *f)
{
	return __atomic_load_n(f, __ATOMIC_RELAXED);
}

uint64_t slob_hist_bucket_low(unsigned int idx)
{
	if (idx < 2 * SLOB_HIST_HALF)
		return idx;
	unsigned int shift = idx / SLOB_HIST_HALF - 1;
	uint64_t sub = idx % SLOB_HIST_HALF + SLOB_HIST_HALF;
	return sub << shift;
}

uint64_t slob_hist_bucket_high(unsigned int idx)
{
	if (idx < 2 * SLOB_HIST_HALF)
		return idx;
	unsigned int shift = idx / SLOB_HIST_HALF - 1;
	uint64_t sub = idx % SLOB_HIST_HALF + SLOB_HIST_HALF;
	return ((sub + 1) << shift) - 1;
}

void slob_hist_reset(slob_hist_t *h)
{
	/* relaxed stores, not memset: readers in other processes may be looking */
	__atomic_store_n(&h->count, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&h->sum, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&h->min, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&h->max, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&h->overflow, 0, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < SLOB_HIST_BUCKETS; i++)
		__atomic_store_n(&h->buckets[i], 0, __ATOMIC_RELAXED);
}

uint64_t slob_hist_count(const slob_hist_t *h)
{
	return ld(&h->count);
}

uint64_t slob_hist_min(const slob_hist_t *h)
{
	return ld(&h->count) ? ld(&h->min) : 0;
}

uint64_t slob_hist_max(const slob_hist_t *h)
{
	return ld(&h->max);
}

double slob_hist_mean(const slob_hist_t *h)
{
	uint64_t n = ld(&h->count);
	return n ? (double)ld(&h->sum) / (double)n : 0.0;
}

uint64_t slob_hist_percentile(const slob_hist_t *h, double p)
{
	/* design note 1: the total comes from the buckets, which a concurrent
	 * writer may have advanced past `count` */
	uint64_t total = 0;
	for (unsigned int i = 0; i < SLOB_HIST_BUCKETS; i++)
		total += ld(&h->buckets[i]);
	if (total == 0)
		return 0;
	uint64_t mn = ld(&h->min), mx = ld(&h->max);
	if (!(p > 0.0)) /* also catches NaN */
		return mn;
	if (p >= 100.0)
		return mx;
	/* rank of the wanted value, 1-based: ceil(p% of total) */
	double want = p / 100.0 * (double)total;
	uint64_t rank = (uint64_t)want;
	if ((double)rank < want)
		rank++;
	if (rank < 1)
		rank = 1;
	uint64_t acc = 0;
	unsigned int i = 0;
	for (; i < SLOB_HIST_BUCKETS; i++) {
		acc += ld(&h->buckets[i]);
		if (acc >= rank)
			break;
	}
	if (i == SLOB_HIST_BUCKETS)
		i = SLOB_HIST_BUCKETS - 1;
	uint64_t lo = slob_hist_bucket_low(i), hi = slob_hist_bucket_high(i);
	uint64_t v = lo + (hi - lo) / 2;
	if (v < mn)
		v = mn;
	if (v > mx)
		v = mx;
	return v;
}

void slob_hist_merge(slob_hist_t *dst, const slob_hist_t *src)
{
	uint64_t n = ld(&src->count);
	if (n == 0)
		return;
	uint64_t dn = ld(&dst->count);
	uint64_t smin = ld(&src->min), smax = ld(&src->max);
	for (unsigned int i = 0; i < SLOB_HIST_BUCKETS; i++) {
		uint64_t b = ld(&src->buckets[i]);
		if (b)
			slob_hist_add_(&dst->buckets[i], b);
	}
	if (dn == 0 || smin < ld(&dst->min))
		__atomic_store_n(&dst->min, smin, __ATOMIC_RELAXED);
	if (smax > ld(&dst->max))
		__atomic_store_n(&dst->max, smax, __ATOMIC_RELAXED);
	slob_hist_add_(&dst->sum, ld(&src->sum));
	slob_hist_add_(&dst->overflow, ld(&src->overflow));
	__atomic_store_n(&dst->count, dn + n, __ATOMIC_RELAXED);
}

int slob_hist_format(const slob_hist_t *h, char *buf, size_t len)
{
	return snprintf(buf, len, "n=%llu min=%llu p50=%llu p99=%llu p99.9=%llu max=%llu mean=%.1f",
			(unsigned long long)slob_hist_count(h),
			(unsigned long long)slob_hist_min(h),
			(unsigned long long)slob_hist_percentile(h, 50.0),
			(unsigned long long)slob_hist_percentile(h, 99.0),
			(unsigned long long)slob_hist_percentile(h, 99.9),
			(unsigned long long)slob_hist_max(h), slob_hist_mean(h));
}
