/* SPDX-License-Identifier: MIT */
/*
 * test_candles.c: M1 aggregation (STRATEGY.md s2): OHLCV and last_seq /
 * recv_ns, the corrected gap-filling rule (one missing minute filled flat at
 * the previous close, more left as a gap, never a duplicate timestamp),
 * out-of-order / duplicate / late ticks, END handling, the live timer close,
 * backpressure on a tiny output ring, parameters, and a far-future tick
 * (behind the validator it is one rejection and the bars go on; a lone
 * far-future first tick's open bar is dropped on the validator's re-anchor).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* cmocka needs the headers above first */
#include <cmocka.h>

#include "engine/candles.h"
#include "engine/tickcheck.h"
#include "engine/tz.h"

#define M0 (1767709800LL * SLOB_NS_PER_SEC) /* 2026-01-06 14:30:00Z */
#define S(x) ((int64_t)(x)*SLOB_NS_PER_SEC)

struct fx {
	slob_ring_t in, out;
	struct slob_candles c;
	uint64_t seq;
	int64_t now;
};

static int64_t fake_now(void *arg)
{
	return ((struct fx *)arg)->now;
}

static void fx_init(struct fx *f, unsigned out_cap, const struct slob_candles_params *p)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(slob_ring_init(&f->in, "ticks", 1024, sizeof(struct slob_tick)), 0);
	assert_int_equal(slob_ring_init(&f->out, "bars", out_cap, sizeof(struct slob_bar)), 0);
	assert_int_equal(slob_candles_init(&f->c, p, &f->in, &f->out, NULL), 0);
	f->c.utc_now = fake_now;
	f->c.mono_now = fake_now;
	f->c.clock_arg = f;
}

static void fx_destroy(struct fx *f)
{
	slob_ring_destroy(&f->in);
	slob_ring_destroy(&f->out);
}

static void tick(struct fx *f, int64_t ts, int32_t px, uint32_t size)
{
	struct slob_tick t = {.ts_ns = ts,
			      .recv_ns = 1000 + (int64_t)f->seq,
			      .seq = ++f->seq,
			      .px = px,
			      .size = size};
	assert_true(slob_ring_push_spsc(&f->in, &t));
}

static void end(struct fx *f)
{
	struct slob_tick t = {
	    .ts_ns = 0, .recv_ns = 777, .seq = f->seq + 1, .flags = SLOB_TICK_END};
	assert_true(slob_ring_push_spsc(&f->in, &t));
}

static unsigned drain(struct fx *f, struct slob_bar *bars, unsigned max)
{
	unsigned n = 0;
	for (int i = 0; i < 100; i++) {
		slob_candles_poll(&f->c);
		while (n < max && slob_ring_pop_spsc(&f->out, &bars[n]))
			n++;
	}
	return n;
}

static void test_ohlc_and_close_by_next_minute(void **state)
{
	(void)state;
	struct fx f;
	struct slob_bar b[8];
	fx_init(&f, 64, NULL);
	tick(&f, M0 + S(1), 100, 1);
	tick(&f, M0 + S(10), 105, 2);
	tick(&f, M0 + S(20), 98, 3);
	tick(&f, M0 + S(59) + 999999999, 101, 4);
	assert_int_equal(drain(&f, b, 8), 0); /* no timer: stays open */
	tick(&f, M0 + S(60), 102, 1);	      /* closes minute 0 */
	assert_int_equal(drain(&f, b, 8), 1);
	assert_true(b[0].ts_ns == M0);
	assert_int_equal(b[0].open, 100);
	assert_int_equal(b[0].high, 105);
	assert_int_equal(b[0].low, 98);
	assert_int_equal(b[0].close, 101);
	assert_int_equal(b[0].volume, 10);
	assert_int_equal(b[0].ticks, 4);
	assert_int_equal(b[0].last_seq, 4);
	assert_int_equal(b[0].recv_ns, 1000 + 4); /* recv of the closing tick (seq 5) */
	assert_int_equal(b[0].flags, 0);
	end(&f);
	assert_int_equal(drain(&f, b, 8), 2);
	assert_true(b[0].ts_ns == M0 + S(60));
	assert_int_equal(b[0].close, 102);
	assert_int_equal(b[0].recv_ns, 777);
	assert_int_equal(b[1].flags, SLOB_BAR_END);
	assert_int_equal(b[1].last_seq, 5);
	assert_true(slob_candles_done(&f.c));
	fx_destroy(&f);
}

static void test_gap_fill_rule(void **state)
{
	(void)state;
	struct fx f;
	struct slob_bar b[16];
	fx_init(&f, 64, NULL);
	tick(&f, M0 + S(5), 100, 1);   /* minute 0 */
	tick(&f, M0 + S(125), 110, 1); /* minute 2: minute 1 missing -> flat at 100 */
	tick(&f, M0 + S(185), 111, 1); /* minute 3: consecutive */
	tick(&f, M0 + S(420), 120, 1); /* minute 7: 3 missing -> gap, no fill */
	end(&f);
	unsigned n = drain(&f, b, 16);
	assert_int_equal(n, 6);
	assert_true(b[0].ts_ns == M0);
	assert_true(b[1].ts_ns == M0 + S(60));
	assert_int_equal(b[1].flags, SLOB_BAR_FLAT_FILL);
	assert_int_equal(b[1].open, 100);
	assert_int_equal(b[1].close, 100);
	assert_int_equal(b[1].high, 100);
	assert_int_equal(b[1].volume, 0);
	assert_int_equal(b[1].last_seq, 1);
	assert_true(b[2].ts_ns == M0 + S(120));
	assert_int_equal(b[2].flags, 0);
	assert_true(b[3].ts_ns == M0 + S(180));
	assert_true(b[4].ts_ns == M0 + S(420));
	assert_int_equal(b[4].flags, SLOB_BAR_GAP_BEFORE);
	assert_int_equal(b[5].flags, SLOB_BAR_END);
	/* strictly increasing timestamps: never two bars with the same one */
	for (unsigned i = 1; i + 1 < n; i++)
		assert_true(b[i].ts_ns > b[i - 1].ts_ns);
	assert_int_equal(f.c.flat_fills, 1);
	assert_int_equal(f.c.gaps, 1);
	fx_destroy(&f);
}

static void test_out_of_order_and_duplicates(void **state)
{
	(void)state;
	struct fx f;
	struct slob_bar b[8];
	fx_init(&f, 64, NULL);
	tick(&f, M0 + S(5), 100, 1);
	tick(&f, M0 + S(65), 101, 1); /* minute 1 open, minute 0 emitted */
	tick(&f, M0 + S(30), 1, 1);   /* minute 0 again: out of order, dropped */
	struct slob_tick dup = {.ts_ns = M0 + S(66), .seq = 2, .px = 1, .size = 1};
	assert_true(slob_ring_push_spsc(&f.in, &dup)); /* seq repeats: duplicate */
	tick(&f, M0 + S(61), 103, 2); /* earlier within the open minute: accepted */
	end(&f);
	unsigned n = drain(&f, b, 8);
	assert_int_equal(n, 3);
	assert_int_equal(b[1].low, 101); /* never corrupted by the dropped ticks */
	assert_int_equal(b[1].high, 103);
	assert_int_equal(b[1].close, 103);
	assert_int_equal(b[1].volume, 3);
	assert_int_equal(f.c.out_of_order, 1);
	assert_int_equal(f.c.duplicates, 1);
	assert_int_equal(f.c.stage.stats->reasons[SLOB_CANDLES_R_OUT_OF_ORDER], 1);
	fx_destroy(&f);
}

static void test_timer_close_and_late(void **state)
{
	(void)state;
	struct fx f;
	struct slob_bar b[8];
	struct slob_candles_params p;
	slob_candles_params_default(&p);
	p.timer_close = 1;
	p.grace_ns = S(2);
	fx_init(&f, 64, &p);
	f.now = M0 + S(10);
	tick(&f, M0 + S(5), 100, 1);
	assert_int_equal(drain(&f, b, 8), 0);
	f.now = M0 + S(61); /* within grace */
	assert_int_equal(drain(&f, b, 8), 0);
	f.now = M0 + S(62);
	assert_int_equal(drain(&f, b, 8), 1);
	assert_int_equal(b[0].flags, SLOB_BAR_BY_TIMER);
	assert_true(b[0].recv_ns == M0 + S(62));
	tick(&f, M0 + S(59), 99, 1); /* late for the closed minute */
	tick(&f, M0 + S(70), 101, 1);
	tick(&f, M0 + S(130), 102, 1);
	assert_int_equal(drain(&f, b, 8), 1);
	assert_true(b[0].ts_ns == M0 + S(60));
	assert_int_equal(b[0].flags, 0);
	assert_int_equal(f.c.late, 1);
	assert_int_equal(f.c.by_timer, 1);
	fx_destroy(&f);
}

/* Through the validator, as ingest and the live session feed the candles. */
static void vtick(struct fx *f, struct slob_tickcheck *k, int64_t ts, int32_t px)
{
	if (!slob_tickcheck_ok(k, ts, px, 1))
		return;
	struct slob_tick t = {.ts_ns = ts,
			      .recv_ns = 1000 + (int64_t)f->seq,
			      .seq = ++f->seq,
			      .px = px,
			      .size = 1,
			      .flags = k->tick_flags};
	assert_true(slob_ring_push_spsc(&f->in, &t));
}

/* The reported defect: a tick stamped in 2090 among valid ones made every
 * later tick "out of order" (27 538 of them). Now: one rejected tick, and
 * the ten minutes of ticks around it build ten normal bars. */
static void test_far_future_tick(void **state)
{
	(void)state;
	struct fx f;
	struct slob_bar b[32];
	struct slob_tickcheck k;
	struct slob_tickcheck_params p;
	slob_tickcheck_params_default(&p);
	p.ts_max_ns = 4102444800LL * SLOB_NS_PER_SEC; /* 2100: the jump rule alone must do it */
	slob_tickcheck_init_params(&k, &p);
	fx_init(&f, 64, NULL);
	for (int i = 0; i < 60; i++) {
		vtick(&f, &k, M0 + S(10 * i), 100 + i % 4);
		if (i == 3)
			vtick(&f, &k, 3786912000LL * SLOB_NS_PER_SEC, 100); /* 2090-01-01 */
	}
	end(&f);
	unsigned n = drain(&f, b, 32);
	assert_int_equal(n, 10 + 1);
	for (unsigned i = 0; i < 10; i++) {
		assert_true(b[i].ts_ns == M0 + S(60 * i));
		assert_int_equal(b[i].ticks, 6);
		assert_int_equal(b[i].flags, 0);
	}
	assert_int_equal(b[10].flags, SLOB_BAR_END);
	assert_int_equal(f.c.out_of_order, 0);
	assert_int_equal(k.rej[SLOB_TICKREJ_TS_FORWARD], 1);
	fx_destroy(&f);
}

/* A lone far-future FIRST tick has nothing to be compared with and opens a
 * bar; the validator re-anchors on the real timeline and flags that tick,
 * and the candles drop the outlier's bar (never emitted) and go on. */
static void test_reanchor_drops_outlier_bar(void **state)
{
	(void)state;
	struct fx f;
	struct slob_bar b[32];
	struct slob_tickcheck k;
	slob_tickcheck_init(&k, S(1));
	fx_init(&f, 64, NULL);
	vtick(&f, &k, M0 + 3000LL * SLOB_NS_PER_DAY, 100); /* 2034, first */
	for (int i = 0; i < 60; i++)
		vtick(&f, &k, M0 + S(10 * i), 100 + i % 4);
	end(&f);
	unsigned n = drain(&f, b, 32);
	assert_int_equal(k.reanchors, 1);
	assert_int_equal(f.c.discarded, 1);
	assert_true(n >= 2);
	for (unsigned i = 0; i + 1 < n; i++) {
		assert_true(b[i].ts_ns < M0 + S(600)); /* nothing from 2034 */
		assert_true(b[i].ts_ns >= M0);
	}
	assert_true(b[n - 2].ts_ns == M0 + S(540));
	assert_int_equal(b[n - 1].flags, SLOB_BAR_END);
	assert_int_equal(f.c.out_of_order, 0);
	assert_int_equal(f.c.stage.stats->reasons[SLOB_CANDLES_R_DISCARDED], 1);
	fx_destroy(&f);
}

static void test_backpressure(void **state)
{
	(void)state;
	struct fx f;
	struct slob_bar b[64];
	fx_init(&f, 2, NULL); /* holds one bar */
	for (int i = 0; i < 20; i++)
		tick(&f, M0 + S(60 * i * 2), 100 + i, 1); /* every other minute: flat fills */
	end(&f);
	unsigned n = 0;
	for (int i = 0; i < 500 && n < 64; i++) {
		slob_candles_poll(&f.c);
		if (slob_ring_pop_spsc(&f.out, &b[n]))
			n++;
	}
	assert_int_equal(n, 20 + 19 + 1);
	for (unsigned i = 1; i + 1 < n; i++)
		assert_true(b[i].ts_ns == b[i - 1].ts_ns + S(60));
	assert_true(f.c.stage.stats->backpressure > 0);
	assert_true(slob_candles_done(&f.c));
	fx_destroy(&f);
}

static void test_cold_bars(void **state)
{
	(void)state;
	slob_ring_t in, out, cring;
	struct slob_coldq q;
	struct slob_candles c;
	assert_int_equal(slob_ring_init(&in, "ticks", 64, sizeof(struct slob_tick)), 0);
	assert_int_equal(slob_ring_init(&out, "bars", 64, sizeof(struct slob_bar)), 0);
	assert_int_equal(slob_ring_init(&cring, "cold", 4, sizeof(struct slob_cold)),
			 0); /* holds 3 */
	assert_int_equal(slob_coldq_init(&q, &cring, 2), 0);
	assert_int_equal(slob_candles_init(&c, NULL, &in, &out, &q), 0);
	for (int i = 0; i < 6; i++) {
		struct slob_tick t = {
		    .ts_ns = M0 + S(60 * i), .seq = (uint64_t)i + 1, .px = 100 + i, .size = 1};
		assert_true(slob_ring_push_spsc(&in, &t));
	}
	struct slob_tick e = {.seq = 7, .flags = SLOB_TICK_END};
	assert_true(slob_ring_push_spsc(&in, &e));
	for (int i = 0; i < 10; i++)
		slob_candles_poll(&c);
	assert_true(slob_candles_done(&c));
	/* 6 bars: 3 fit the cold ring, 3 INFO records dropped and counted */
	struct slob_cold rec;
	assert_true(slob_ring_pop_spsc(&cring, &rec));
	assert_int_equal(rec.type, SLOB_COLD_BAR);
	assert_int_equal(rec.cls, SLOB_CLASS_INFO);
	assert_true(rec.u.bar.ts_ns == M0);
	assert_int_equal(rec.u.bar.close, 100);
	assert_int_equal(rec.stage, 2);
	assert_int_equal(q.dropped, 3);
	assert_int_equal(slob_ring_size(&out), 7); /* the bar ring never loses one */
	slob_coldq_destroy(&q);
	slob_ring_destroy(&in);
	slob_ring_destroy(&out);
	slob_ring_destroy(&cring);
}

static void test_params(void **state)
{
	(void)state;
	struct slob_candles_params p;
	char err[128];
	slob_candles_params_default(&p);
	assert_int_equal(slob_candles_param_set(&p, "grace_ms", "1500", err, sizeof(err)), 0);
	assert_true(p.grace_ns == 1500000000LL);
	assert_int_equal(slob_candles_param_set(&p, "grace_ms", "-1", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "grace_ms"));
	assert_int_equal(slob_candles_param_set(&p, "nope", "1", err, sizeof(err)), -ENOENT);
	assert_int_equal(slob_candles_params_validate(&p, err, sizeof(err)), 0);
	p.batch = 0;
	assert_int_equal(slob_candles_params_validate(&p, err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ohlc_and_close_by_next_minute),
	    cmocka_unit_test(test_gap_fill_rule),
	    cmocka_unit_test(test_out_of_order_and_duplicates),
	    cmocka_unit_test(test_timer_close_and_late),
	    cmocka_unit_test(test_far_future_tick),
	    cmocka_unit_test(test_reanchor_drops_outlier_bar),
	    cmocka_unit_test(test_backpressure),
	    cmocka_unit_test(test_cold_bars),
	    cmocka_unit_test(test_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
