/* SPDX-License-Identifier: MIT */
/*
 * test_ingest_stress.c: ingest (io_uring) -> candles on separate threads
 * with small rings, plus a third thread draining the tap ring, must produce
 * exactly the bars of a single-threaded pread run (ignoring recv_ns), and the
 * tap must see every tick in seq order then END. The input is a random walk
 * with random pauses (so flat fills and unfilled gaps occur). Size knob:
 * SLOB_STRESS_TICKS (default 100000).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* cmocka needs the headers above first */
#include <cmocka.h>

#include "engine/candles.h"
#include "engine/ingest.h"
#include "engine/tz.h"

static char path[SLOB_INGEST_PATH_MAX];
static uint64_t nticks = 100000;

static int setup(void **state)
{
	(void)state;
	const char *base = getenv("SLOB_TEST_TMP");
	const char *k = getenv("SLOB_STRESS_TICKS");
	if (k && atoll(k) > 0)
		nticks = (uint64_t)atoll(k);
	if ((size_t)snprintf(path, sizeof(path), "%s/ingest_stress_%d.bin", base ? base : "/tmp",
			     (int)getpid()) >= sizeof(path))
		return -1;
	struct slob_tickbin_writer *w;
	if (slob_tickbin_writer_open(&w, path, "NQ", 0.25) < 0)
		return -1;
	uint64_t r = 88172645463325252ULL;
	int64_t ts = 1767709800000000000LL;
	int32_t px = 80000;
	for (uint64_t i = 0; i < nticks; i++) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		ts += (int64_t)(r % 50000000);
		if (r % 5000 == 0)
			ts += (int64_t)((r >> 8) % 4) * 60000000000LL; /* pauses of 0..3 minutes */
		px += (int32_t)((r >> 20) % 7) - 3;
		slob_tickbin_writer_append(w, ts, px < 1 ? 1 : px, 1 + (uint32_t)(r >> 40) % 9);
	}
	return slob_tickbin_writer_close(w);
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

struct bars {
	struct slob_bar *v;
	size_t n, cap;
};

static void add_bar(struct bars *b, const struct slob_bar *x)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 1024;
		b->v = realloc(b->v, b->cap * sizeof(*x));
		assert_non_null(b->v);
	}
	b->v[b->n] = *x;
	b->v[b->n].recv_ns = 0;
	b->n++;
}

static void reference(struct bars *out)
{
	slob_ring_t ticks, bars;
	struct slob_ingest ing;
	struct slob_candles c;
	struct slob_ingest_params p;
	slob_ingest_params_default(&p);
	snprintf(p.path, sizeof(p.path), "%s", path);
	p.use_pread = 1;
	assert_int_equal(slob_ring_init(&ticks, "t", 4096, sizeof(struct slob_tick)), 0);
	assert_int_equal(slob_ring_init(&bars, "b", 1024, sizeof(struct slob_bar)), 0);
	assert_int_equal(slob_ingest_init(&ing, &p, &ticks, NULL), 0);
	assert_int_equal(slob_candles_init(&c, NULL, &ticks, &bars, NULL), 0);
	struct slob_bar b;
	while (!slob_candles_done(&c)) {
		assert_true(slob_ingest_poll(&ing) >= 0);
		slob_candles_poll(&c);
		while (slob_ring_pop_spsc(&bars, &b))
			add_bar(out, &b);
	}
	while (slob_ring_pop_spsc(&bars, &b))
		add_bar(out, &b);
	slob_ingest_destroy(&ing);
	slob_ring_destroy(&ticks);
	slob_ring_destroy(&bars);
}

struct ctx {
	slob_ring_t ticks, tap, bars;
	struct slob_ingest ing;
	struct slob_candles c;
	uint64_t tap_n;
	int tap_bad, tap_end;
};

static void *ingest_main(void *arg)
{
	struct ctx *x = arg;
	while (!slob_ingest_done(&x->ing)) {
		int rc = slob_ingest_poll(&x->ing);
		if (rc < 0)
			return (void *)1;
		if (rc == 0)
			sched_yield();
	}
	return NULL;
}

static void *candles_main(void *arg)
{
	struct ctx *x = arg;
	while (!slob_candles_done(&x->c))
		if (slob_candles_poll(&x->c) == 0)
			sched_yield();
	return NULL;
}

static void *tap_main(void *arg)
{
	struct ctx *x = arg;
	struct slob_tick t;
	while (!x->tap_end) {
		if (!slob_ring_pop_spsc(&x->tap, &t)) {
			sched_yield();
			continue;
		}
		if (t.flags & SLOB_TICK_END) {
			x->tap_end = 1;
			break;
		}
		if (t.seq != ++x->tap_n)
			x->tap_bad++;
	}
	return NULL;
}

static void test_threads_match_reference(void **state)
{
	(void)state;
	struct bars ref = {0}, got = {0};
	reference(&ref);
	assert_true(ref.n > 10);
	size_t flat = 0, gaps = 0;
	for (size_t i = 0; i < ref.n; i++) {
		flat += (ref.v[i].flags & SLOB_BAR_FLAT_FILL) != 0;
		gaps += (ref.v[i].flags & SLOB_BAR_GAP_BEFORE) != 0;
	}
	assert_true(flat > 0 && gaps > 0); /* the input exercises both rules */

	struct ctx *x = calloc(1, sizeof(*x));
	struct slob_ingest_params p;
	slob_ingest_params_default(&p);
	snprintf(p.path, sizeof(p.path), "%s", path);
	p.buf_kb = 16;
	p.batch = 37;
	assert_int_equal(slob_ring_init(&x->ticks, "t", 64, sizeof(struct slob_tick)), 0);
	assert_int_equal(slob_ring_init(&x->tap, "tap", 64, sizeof(struct slob_tick)), 0);
	assert_int_equal(slob_ring_init(&x->bars, "b", 8, sizeof(struct slob_bar)), 0);
	assert_int_equal(slob_ingest_init(&x->ing, &p, &x->ticks, &x->tap), 0);
	assert_int_equal(slob_candles_init(&x->c, NULL, &x->ticks, &x->bars, NULL), 0);
	pthread_t a, b, t;
	pthread_create(&a, NULL, ingest_main, x);
	pthread_create(&b, NULL, candles_main, x);
	pthread_create(&t, NULL, tap_main, x);
	struct slob_bar bar;
	for (;;) {
		if (slob_ring_pop_spsc(&x->bars, &bar)) {
			add_bar(&got, &bar);
			if (bar.flags & SLOB_BAR_END)
				break;
		} else {
			sched_yield();
		}
	}
	void *ra;
	pthread_join(a, &ra);
	pthread_join(b, NULL);
	pthread_join(t, NULL);
	assert_null(ra);
	assert_int_equal(got.n, ref.n);
	assert_memory_equal(got.v, ref.v, ref.n * sizeof(struct slob_bar));
	assert_int_equal(x->tap_bad, 0);
	assert_int_equal(x->tap_n, ref.v[ref.n - 1].last_seq);
	assert_true(x->ing.stage.stats->backpressure > 0);
	slob_ingest_destroy(&x->ing);
	slob_ring_destroy(&x->ticks);
	slob_ring_destroy(&x->tap);
	slob_ring_destroy(&x->bars);
	free(x);
	free(ref.v);
	free(got.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_threads_match_reference),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
