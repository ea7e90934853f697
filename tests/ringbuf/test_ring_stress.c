/* SPDX-License-Identifier: MIT */
/*
 * test_ring_stress.c: two threads hammer one SPSC ring and the consumer
 * checks that every record arrives exactly once, in order, intact. Three
 * access styles: single push/pop, random-size batches, and zero-copy
 * reserve/commit + peek/release on a small ring (constantly full/empty).
 *
 * Size knob: SLOB_STRESS_N (records in total, split over the styles).
 * Defaults: 200M in optimized builds (about 5 s on a quiet 2-core VM), 2M
 * with ASan, 500k with TSan. A long soak:
 *   SLOB_STRESS_N=500000000 SLOB_STRESS_SECONDS=0 build/<dir>/tests/test_ring_stress
 * SLOB_STRESS_SECONDS (default 6, 0 = none) caps each style's run so an
 * oversubscribed CI machine cannot stretch the test to minutes; whatever
 * was sent before the cap is still checked completely, and the count is
 * printed. Waiting sides pause, then yield (backoff), for the same reason.
 * Threads are pinned to CPUs 0 and 1 when the machine allows.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h */

#include "ringbuf/ring.h"

#if defined(SLOB_TSAN)
#define DEFAULT_N 500000ull
#elif defined(SLOB_SANITIZED)
#define DEFAULT_N 2000000ull
#else
#define DEFAULT_N 200000000ull
#endif

static uint64_t total_n(void)
{
	const char *e = getenv("SLOB_STRESS_N");
	if (e && *e) {
		char *end;
		unsigned long long v = strtoull(e, &end, 10);
		if (*end == '\0' && v > 0)
			return v;
		fprintf(stderr, "SLOB_STRESS_N='%s' is not a positive integer; using %llu\n", e,
			(unsigned long long)DEFAULT_N);
	}
	return DEFAULT_N;
}

/* Per-style time cap in seconds (SLOB_STRESS_SECONDS, default 6, 0 = none):
 * three styles stay under ~20 s even on an overloaded machine, and a quiet
 * one moves the full 200M well inside it. */
static unsigned time_cap_s(void)
{
	const char *e = getenv("SLOB_STRESS_SECONDS");
	if (e && *e) {
		char *end;
		unsigned long v = strtoul(e, &end, 10);
		if (*end == '\0')
			return (unsigned)v;
		fprintf(stderr, "SLOB_STRESS_SECONDS='%s' is not a number; using 6\n", e);
	}
	return 6;
}

enum style { SINGLE, BATCH, ZEROCOPY };

struct job {
	slob_ring_t ring;
	enum style style;
	unsigned rec_size; /* multiple of 8 */
	uint64_t n;
	uint64_t deadline_ns; /* producer stops early after it (0: never) */
	uint64_t final;	      /* atomic: records produced, set when the producer ends */
	/* consumer results */
	uint64_t received;
	uint64_t first_bad; /* seq of the first bad record + 1, 0 if none */
	uint64_t bad;
};

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set); /* best effort */
}

/*
 * Waiting for the other side: pause a while, then yield. On an
 * oversubscribed machine (CI running tests in parallel, other builds) the
 * partner may be off-CPU for a whole time slice; pure spinning would then
 * burn that slice and the test would take minutes instead of seconds.
 */
static void backoff(unsigned *spins)
{
	if (++*spins < 128) {
		slob_cpu_relax();
	} else {
		*spins = 0;
		sched_yield();
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Record `seq`: word 0 = seq, word i = seq * odd constant + i. */
static void fill(uint64_t *w, unsigned words, uint64_t seq)
{
	w[0] = seq;
	for (unsigned i = 1; i < words; i++)
		w[i] = seq * 0x9E3779B97F4A7C15ull + i;
}

static void check(struct job *j, const uint64_t *w, unsigned words, uint64_t expect)
{
	bool ok = w[0] == expect;
	for (unsigned i = 1; ok && i < words; i++)
		ok = w[i] == expect * 0x9E3779B97F4A7C15ull + i;
	if (slob_unlikely(!ok)) {
		if (j->bad++ == 0)
			j->first_bad = expect + 1;
	}
}

static void *producer(void *arg)
{
	struct job *j = arg;
	pin(0);
	unsigned words = j->rec_size / 8;
	uint64_t buf[64 * 16];
	uint64_t seq = 0, rs = 88172645463325252ull, next_check = 1u << 16;
	unsigned spins = 0;
	while (seq < j->n) {
		if (seq >= next_check) {
			next_check = seq + (1u << 16);
			if (j->deadline_ns && now_ns() > j->deadline_ns)
				break; /* time cap: what was sent is still checked */
		}
		switch (j->style) {
		case SINGLE:
			fill(buf, words, seq);
			while (!slob_ring_push_spsc(&j->ring, buf))
				backoff(&spins);
			seq++;
			break;
		case BATCH: {
			unsigned k = 1 + (unsigned)(xs(&rs) % 64);
			if (k > j->n - seq)
				k = (unsigned)(j->n - seq);
			for (unsigned i = 0; i < k; i++)
				fill(buf + (size_t)i * words, words, seq + i);
			unsigned done = 0;
			while (done < k) {
				unsigned m = slob_ring_push_batch_spsc(
				    &j->ring, buf + (size_t)done * words, k - done);
				if (m == 0)
					backoff(&spins);
				done += m;
			}
			seq += k;
			break;
		}
		case ZEROCOPY: {
			unsigned k = 1 + (unsigned)(xs(&rs) % 8);
			unsigned i = 0;
			for (; i < k && seq + i < j->n; i++) {
				uint64_t *slot = slob_ring_reserve_spsc(&j->ring);
				if (slot == NULL)
					break;
				fill(slot, words, seq + i);
			}
			slob_ring_commit_spsc(&j->ring);
			seq += i;
			if (i == 0)
				backoff(&spins);
			break;
		}
		}
	}
	/* release: every push above happens before the count is seen */
	__atomic_store_n(&j->final, seq, __ATOMIC_RELEASE);
	return NULL;
}

static void *consumer(void *arg)
{
	struct job *j = arg;
	pin(1);
	unsigned words = j->rec_size / 8;
	uint64_t buf[64 * 16];
	uint64_t seq = 0, rs = 0x2545F4914F6CDD1Dull;
	unsigned spins = 0;
	for (;;) {
		if (seq == j->n)
			break;
		switch (j->style) {
		case SINGLE:
			if (!slob_ring_pop_spsc(&j->ring, buf)) {
				goto empty;
			}
			check(j, buf, words, seq++);
			break;
		case BATCH: {
			unsigned k = 1 + (unsigned)(xs(&rs) % 64);
			unsigned m = slob_ring_pop_batch_spsc(&j->ring, buf, k);
			if (m == 0)
				goto empty;
			for (unsigned i = 0; i < m; i++)
				check(j, buf + (size_t)i * words, words, seq++);
			break;
		}
		case ZEROCOPY: {
			unsigned i = 0;
			const uint64_t *p;
			while (i < 16 && (p = slob_ring_peek_spsc(&j->ring, i)) != NULL)
				check(j, p, words, seq + i++);
			if (i == 0)
				goto empty;
			slob_ring_release_spsc(&j->ring, i);
			seq += i;
			break;
		}
		}
		continue;
	empty:
		/* acquire: partner is the producer's release of `final`; records
		 * counted there were pushed before, so seq == final means done */
		if (__atomic_load_n(&j->final, __ATOMIC_ACQUIRE) == seq && seq > 0 &&
		    slob_ring_size(&j->ring) == 0)
			break;
		backoff(&spins);
	}
	j->received = seq;
	return NULL;
}

static double now_s(void)
{
	return now_ns() * 1e-9;
}

static void run(enum style style, unsigned rec_size, unsigned capacity, uint64_t n,
		const char *label)
{
	struct job *j = calloc(1, sizeof(*j));
	assert_non_null(j);
	assert_int_equal(slob_ring_init(&j->ring, label, capacity, rec_size), 0);
	j->style = style;
	j->rec_size = rec_size;
	j->n = n;
	unsigned cap_s = time_cap_s();
	j->deadline_ns = cap_s ? now_ns() + (uint64_t)cap_s * 1000000000ull : 0;
	pthread_t tp, tc;
	double t0 = now_s();
	assert_int_equal(pthread_create(&tc, NULL, consumer, j), 0);
	assert_int_equal(pthread_create(&tp, NULL, producer, j), 0);
	pthread_join(tp, NULL);
	pthread_join(tc, NULL);
	double dt = now_s() - t0;
	uint64_t sent = j->final;
	print_message("%-9s %3u B x %10llu records in %.2f s (%.1f M rec/s)%s\n", label, rec_size,
		      (unsigned long long)sent, dt, sent / dt / 1e6,
		      sent < n ? " - stopped by the time cap (SLOB_STRESS_SECONDS)" : "");
	if (j->bad)
		fail_msg("%s: %llu bad records, first at seq %llu", label,
			 (unsigned long long)j->bad, (unsigned long long)(j->first_bad - 1));
	assert_int_equal(j->received, sent); /* nothing lost, nothing extra */
	assert_true(sent > 0);
	assert_int_equal(slob_ring_size(&j->ring), 0); /* nothing duplicated or left */
	slob_ring_destroy(&j->ring);
	free(j);
}

static void test_single(void **state)
{
	run(SINGLE, 16, 1024, total_n() / 2, "single");
}

static void test_batch(void **state)
{
	run(BATCH, 64, 4096, total_n() / 4, "batch");
}

static void test_zerocopy_small_ring(void **state)
{
	/* 40 bytes like struct slob_tick, 16 slots: always near full or empty */
	run(ZEROCOPY, 40, 16, total_n() / 4, "zerocopy");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single),
	    cmocka_unit_test(test_batch),
	    cmocka_unit_test(test_zerocopy_small_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
