/* SPDX-License-Identifier: MIT */
/*
 * hist.h: log-linear latency histogram in the manner of HdrHistogram, sized
 * for nanosecond latencies from 1 ns to about 275 s. It is one fixed-size
 * plain struct without pointers, so it can live inside the memory-mapped
 * stats file and be read by other processes (slobctl, slob-dash) while the
 * engine writes it.
 *
 * Layout: values below 2^SLOB_HIST_SUB_BITS (64) have one bucket each
 * (exact). Above, each power of two [2^e, 2^(e+1)) is split into
 * SLOB_HIST_HALF (32) equal sub-buckets, so a bucket is at most 1/32 of its
 * lower bound wide; percentiles report the bucket midpoint (clamped to the
 * exact min/max), an error of at most ~1.6% (3.1% worst-case bucket width).
 * Values above SLOB_HIST_MAX_NS land in the last bucket and are counted in
 * `overflow`; negative values count as 0.
 *
 * Design notes
 *  1. Single writer: only one thread calls slob_hist_record*() and
 *     slob_hist_reset() on a given histogram. Every field is written with a
 *     relaxed atomic store of (relaxed load + n) - plain moves on x86, no
 *     lock prefix - and readers use relaxed atomic loads. A reader may see a
 *     record half-applied (bucket counted, count not yet); readers therefore
 *     derive totals from the buckets, and count/sum/min/max are each
 *     individually exact only once the writer is quiet.
 *  2. An all-zero struct is a valid empty histogram (a fresh stats file is
 *     zero-filled): min is only meaningful when count > 0.
 *  3. slob_hist_record is branch-light: one clz, a shift, a few cmovs, and
 *     five relaxed store pairs; no syscall, lock or allocation.
 */
#ifndef SLOB_HIST_H
#define SLOB_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "ringbuf/compiler.h"

#define SLOB_HIST_SUB_BITS 6				/* 64 exact buckets below 64 ns */
#define SLOB_HIST_HALF (1u << (SLOB_HIST_SUB_BITS - 1)) /* sub-buckets per power of two */
#define SLOB_HIST_MAX_EXP 37				/* largest power of two tracked */
#define SLOB_HIST_MAX_NS ((UINT64_C(1) << (SLOB_HIST_MAX_EXP + 1)) - 1) /* ~274.9 s */
#define SLOB_HIST_BUCKETS                                                                          \
	((SLOB_HIST_MAX_EXP - SLOB_HIST_SUB_BITS + 2) * SLOB_HIST_HALF + SLOB_HIST_HALF)

struct slob_hist {
	uint64_t count; /* values recorded */
	uint64_t sum;	/* sum of recorded values (ns, clamped) */
	uint64_t min;	/* valid when count > 0 */
	uint64_t max;
	uint64_t overflow; /* values above SLOB_HIST_MAX_NS (clamped) */
	uint64_t reserved_[3];
	uint64_t buckets[SLOB_HIST_BUCKETS];
} SLOB_CACHE_ALIGNED;
typedef struct slob_hist slob_hist_t;

SLOB_STATIC_ASSERT(sizeof(struct slob_hist) % 64 == 0, "hist is whole cache lines");

/* Bucket index of a value (0 .. SLOB_HIST_BUCKETS - 1). Pure; any thread. */
SLOB_INLINE unsigned int slob_hist_index(uint64_t v)
{
	if (slob_unlikely(v > SLOB_HIST_MAX_NS))
		v = SLOB_HIST_MAX_NS;
	/* e = floor(log2(v | 32)): for v < 64 this gives e <= 5 and the linear
	 * formula below reduces to idx = v */
	unsigned int e = 63u - (unsigned int)__builtin_clzll(v | SLOB_HIST_HALF);
	unsigned int shift = e >= SLOB_HIST_SUB_BITS ? e - (SLOB_HIST_SUB_BITS - 1) : 0;
	unsigned int base =
	    e >= SLOB_HIST_SUB_BITS ? (e - SLOB_HIST_SUB_BITS + 1) * SLOB_HIST_HALF : 0;
	return base + (unsigned int)(v >> shift);
}

/* Lowest value that maps to bucket `idx`. Pure; any thread. */
uint64_t slob_hist_bucket_low(unsigned int idx);
/* Highest value that maps to bucket `idx`. Pure; any thread. */
uint64_t slob_hist_bucket_high(unsigned int idx);

SLOB_INLINE void slob_hist_add_(uint64_t *f, uint64_t n)
{
	__atomic_store_n(f, __atomic_load_n(f, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/*
 * slob_hist_record_n - records `n` occurrences of the value `ns`.
 * Writer thread only (design note 1). Never blocks.
 */
SLOB_INLINE void slob_hist_record_n(slob_hist_t *h, int64_t ns, uint64_t n)
{
	uint64_t v = ns < 0 ? 0 : (uint64_t)ns;
	uint64_t ov = v > SLOB_HIST_MAX_NS;
	v = ov ? SLOB_HIST_MAX_NS : v;
	uint64_t cnt = __atomic_load_n(&h->count, __ATOMIC_RELAXED);
	uint64_t mn = __atomic_load_n(&h->min, __ATOMIC_RELAXED);
	uint64_t mx = __atomic_load_n(&h->max, __ATOMIC_RELAXED);
	slob_hist_add_(&h->buckets[slob_hist_index(v)], n);
	__atomic_store_n(&h->min, (cnt == 0 || v < mn) ? v : mn, __ATOMIC_RELAXED);
	__atomic_store_n(&h->max, v > mx ? v : mx, __ATOMIC_RELAXED);
	slob_hist_add_(&h->sum, v * n);
	slob_hist_add_(&h->overflow, ov * n);
	__atomic_store_n(&h->count, cnt + n, __ATOMIC_RELAXED);
}

/* slob_hist_record - records one value (ns). Writer thread only. Never blocks. */
SLOB_INLINE void slob_hist_record(slob_hist_t *h, int64_t ns)
{
	slob_hist_record_n(h, ns, 1);
}

/* Empties the histogram. Writer thread only (or while no one records). */
void slob_hist_reset(slob_hist_t *h);

/*
 * slob_hist_percentile - value at or below which `p` percent of the recorded
 * values lie (p in [0, 100]; 0 gives min, 100 gives max). Returns the
 * bucket midpoint clamped to [min, max], or 0 when empty. Any thread or
 * process (relaxed reads; approximate while the writer is active).
 */
uint64_t slob_hist_percentile(const slob_hist_t *h, double p);

/* Count, min (0 when empty), max, mean (0.0 when empty). Any thread. */
uint64_t slob_hist_count(const slob_hist_t *h);
uint64_t slob_hist_min(const slob_hist_t *h);
uint64_t slob_hist_max(const slob_hist_t *h);
double slob_hist_mean(const slob_hist_t *h);

/*
 * slob_hist_merge - adds `src` into `dst` (dst's writer thread only; src may
 * be live). Merging into a zeroed histogram takes a snapshot.
 */
void slob_hist_merge(slob_hist_t *dst, const slob_hist_t *src);

/*
 * slob_hist_format - one line for logs and reports:
 *   "n=1000 min=120 p50=250 p99=900 p99.9=1200 max=4000 mean=260.5"
 * (values in ns). Returns snprintf's result. Any thread; cold path.
 */
int slob_hist_format(const slob_hist_t *h, char *buf, size_t len);

#endif /* SLOB_HIST_H */
