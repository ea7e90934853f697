/* SPDX-License-Identifier: MIT */
/*
 * test_hist.c: the log-linear latency histogram: bucket geometry, precision
 * of percentiles against exact order statistics, edges (empty, negative,
 * overflow), merge, reset, and a reader racing the single writer.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h */

#include "engine/hist.h"

static void test_geometry(void **state)
{
	/* exact below 64 */
	for (uint64_t v = 0; v < 64; v++)
		assert_int_equal(slob_hist_index(v), v);
	/* every bucket maps its own bounds back to itself, buckets tile the range */
	for (unsigned i = 0; i < SLOB_HIST_BUCKETS; i++) {
		uint64_t lo = slob_hist_bucket_low(i), hi = slob_hist_bucket_high(i);
		assert_true(lo <= hi);
		assert_int_equal(slob_hist_index(lo), i);
		assert_int_equal(slob_hist_index(hi), i);
		if (i + 1 < SLOB_HIST_BUCKETS)
			assert_int_equal(slob_hist_bucket_low(i + 1), hi + 1);
		/* width at most 1/32 of the lower bound (3.125%) */
		if (lo >= 64)
			assert_true((hi - lo + 1) * 32 <= lo);
	}
	assert_int_equal(slob_hist_bucket_high(SLOB_HIST_BUCKETS - 1), SLOB_HIST_MAX_NS);
	assert_int_equal(slob_hist_index(SLOB_HIST_MAX_NS + 1), SLOB_HIST_BUCKETS - 1);
	assert_int_equal(slob_hist_index(UINT64_MAX), SLOB_HIST_BUCKETS - 1);
	/* 100 s fits without clamping */
	assert_true(SLOB_HIST_MAX_NS > UINT64_C(100000000000));
	/* fixed size, small enough for a stats file with dozens of them */
	assert_true(sizeof(slob_hist_t) < 16384);
}

static void test_empty_and_edges(void **state)
{
	slob_hist_t h;
	memset(&h, 0, sizeof(h)); /* a zeroed struct is a valid empty histogram */
	assert_int_equal(slob_hist_count(&h), 0);
	assert_int_equal(slob_hist_percentile(&h, 50), 0);
	assert_int_equal(slob_hist_min(&h), 0);
	assert_true(slob_hist_mean(&h) == 0.0);
	slob_hist_record(&h, -5);
	assert_int_equal(slob_hist_min(&h), 0);
	assert_int_equal(slob_hist_max(&h), 0);
	slob_hist_record(&h, 7);
	assert_int_equal(slob_hist_min(&h), 0);
	assert_int_equal(slob_hist_max(&h), 7);
	assert_int_equal(slob_hist_percentile(&h, 100), 7);
	assert_int_equal(slob_hist_percentile(&h, 0), 0);
	assert_int_equal(slob_hist_percentile(&h, 50), 0);
	assert_int_equal(slob_hist_percentile(&h, 50.1), 7);
	assert_int_equal(h.overflow, 0);
	slob_hist_record(&h, INT64_MAX);
	assert_int_equal(h.overflow, 1);
	assert_int_equal(slob_hist_max(&h), SLOB_HIST_MAX_NS);
	assert_int_equal(slob_hist_count(&h), 3);
	slob_hist_reset(&h);
	assert_int_equal(slob_hist_count(&h), 0);
	assert_int_equal(slob_hist_percentile(&h, 99), 0);
	slob_hist_record(&h, 1000);
	assert_int_equal(slob_hist_min(&h), 1000);	      /* reset forgot the old min */
	assert_int_equal(slob_hist_percentile(&h, 50), 1000); /* clamped to [min,max] */
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* xorshift64*: deterministic, no libc rand state */
static uint64_t rng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static void test_precision_vs_exact(void **state)
{
	enum { N = 200000 };
	uint64_t *v = malloc(N * sizeof(*v));
	assert_non_null(v);
	static slob_hist_t h;
	slob_hist_reset(&h);
	uint64_t s = 88172645463325252ull;
	long double sum = 0;
	for (int i = 0; i < N; i++) {
		/* log-uniform from 10 ns to ~10 s: every decade exercised */
		double u = (double)(rng(&s) >> 11) / 9007199254740992.0;
		v[i] = (uint64_t)pow(10.0, 1.0 + 8.0 * u);
		sum += v[i];
		slob_hist_record(&h, (int64_t)v[i]);
	}
	qsort(v, N, sizeof(*v), cmp_u64);
	const double ps[] = {1, 10, 25, 50, 75, 90, 99, 99.9, 99.99};
	for (unsigned k = 0; k < SLOB_ARRAY_SIZE(ps); k++) {
		size_t rank = (size_t)ceil(ps[k] / 100.0 * N);
		uint64_t exact = v[rank - 1];
		uint64_t got = slob_hist_percentile(&h, ps[k]);
		double err = fabs((double)got - (double)exact) / (double)exact;
		if (err > 0.032)
			fail_msg("p%g: got %llu exact %llu err %.4f", ps[k],
				 (unsigned long long)got, (unsigned long long)exact, err);
	}
	assert_int_equal(slob_hist_min(&h), v[0]);
	assert_int_equal(slob_hist_max(&h), v[N - 1]);
	assert_true(fabs(slob_hist_mean(&h) - (double)(sum / N)) < 1.0);
	char line[160];
	assert_true(slob_hist_format(&h, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "n=200000 "));
	assert_non_null(strstr(line, "p99.9="));
	free(v);
}

static void test_merge(void **state)
{
	static slob_hist_t a, b, both, snap;
	slob_hist_reset(&a);
	slob_hist_reset(&b);
	slob_hist_reset(&both);
	for (int i = 1; i <= 5000; i++) {
		slob_hist_record(&a, i * 3);
		slob_hist_record(&both, i * 3);
	}
	for (int i = 1; i <= 300; i++) {
		slob_hist_record_n(&b, 100000 + i, 2);
		slob_hist_record_n(&both, 100000 + i, 2);
	}
	memset(&snap, 0, sizeof(snap));
	slob_hist_merge(&snap, &a);
	slob_hist_merge(&snap, &b);
	assert_memory_equal(&snap, &both, sizeof(snap));
	assert_int_equal(slob_hist_count(&snap), 5600);
	assert_int_equal(slob_hist_min(&snap), 3);
	assert_int_equal(slob_hist_max(&snap), 100300);
	/* merging an empty one changes nothing (and does not zero min) */
	slob_hist_reset(&b);
	slob_hist_merge(&snap, &b);
	assert_memory_equal(&snap, &both, sizeof(snap));
}

static slob_hist_t live;
static int writer_done;

static void *writer(void *arg)
{
	for (int i = 0; i < 200000; i++)
		slob_hist_record(&live, 100 + i % 1000);
	__atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A reader (another thread here, another process in production) sees
 * monotonic counts and sane percentiles while the writer records. */
static void test_live_reader(void **state)
{
	slob_hist_reset(&live);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, writer, NULL), 0);
	uint64_t last = 0;
	while (!__atomic_load_n(&writer_done, __ATOMIC_ACQUIRE)) {
		uint64_t n = slob_hist_count(&live);
		assert_true(n >= last);
		last = n;
		uint64_t p = slob_hist_percentile(&live, 99);
		assert_true(p == 0 || (p >= 100 && p <= 1099));
	}
	pthread_join(th, NULL);
	assert_int_equal(slob_hist_count(&live), 200000);
	uint64_t p50 = slob_hist_percentile(&live, 50);
	assert_true(p50 >= 580 && p50 <= 620);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_geometry),	       cmocka_unit_test(test_empty_and_edges),
	    cmocka_unit_test(test_precision_vs_exact), cmocka_unit_test(test_merge),
	    cmocka_unit_test(test_live_reader),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
