/* SPDX-License-Identifier: MIT */
/*
 * test_tickcheck.c: the market-data validator (engine/tickcheck.h): each
 * rejection reason, that a rejected tick never moves the reference (one
 * far-future timestamp or wild price is one rejection, not thousands),
 * re-anchoring after a run of agreeing rejects (a real data hole, a real
 * price gap, a lone far-future first tick), alerts on a run and not per
 * tick, the first rejection's position, the live conversion of arbitrary
 * doubles (1e308, -0, NaN, inf, huge sizes, far times) without undefined
 * behaviour, the range-checked double -> int helpers, and parameters.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* cmocka needs the headers above first */
#include <cmocka.h>

#include "engine/event.h"
#include "engine/tickcheck.h"
#include "engine/tz.h"

#define T0 (1767709800LL * SLOB_NS_PER_SEC) /* 2026-01-06 14:30:00Z */
#define Y2090 (3786912000LL * SLOB_NS_PER_SEC)
#define PX 80000 /* 20000.00 in 0.25 ticks */

static void test_reasons(void **state)
{
	(void)state;
	struct slob_tickcheck c;
	slob_tickcheck_init(&c, SLOB_NS_PER_SEC);
	assert_int_equal(slob_tickcheck_ok(&c, T0, PX, 1), 1);
	assert_int_equal(slob_tickcheck_ok(&c, T0 + 1, 0, 1), 0);
	assert_int_equal(slob_tickcheck_ok(&c, T0 + 2, -4, 1), 0);
	assert_int_equal(slob_tickcheck_ok(&c, T0 + 3, (int64_t)INT32_MAX + 1, 1), 0);
	assert_int_equal(slob_tickcheck_ok(&c, T0 + 4, 4000000000000LL, 1), 0); /* 1e12 points */
	assert_int_equal(slob_tickcheck_ok(&c, T0 + 5, PX, 0), 0);
	assert_int_equal(slob_tickcheck_ok(&c, T0 + 6, PX, 100001), 0);
	assert_int_equal(slob_tickcheck_ok(&c, 10, PX, 1), 0);	      /* 1970 */
	assert_int_equal(slob_tickcheck_ok(&c, INT64_MIN, PX, 1), 0); /* no overflow */
	assert_int_equal(slob_tickcheck_ok(&c, INT64_MAX, PX, 1), 0);
	assert_int_equal(slob_tickcheck_ok(&c, T0 - 2 * SLOB_NS_PER_SEC, PX, 1), 0);
	assert_int_equal(slob_tickcheck_ok(&c, T0 + 8 * SLOB_NS_PER_DAY, PX, 1), 0);
	assert_int_equal(slob_tickcheck_ok(&c, T0 + 7, PX * 111 / 100, 1), 0); /* +11 % */
	assert_int_equal(slob_tickcheck_ok(&c, T0 + 8, PX * 89 / 100, 1), 0);  /* -11 % */
	assert_int_equal(c.rej[SLOB_TICKREJ_BAD_PRICE], 2);
	assert_int_equal(c.rej[SLOB_TICKREJ_PRICE_RANGE], 2);
	assert_int_equal(c.rej[SLOB_TICKREJ_BAD_SIZE], 2);
	assert_int_equal(c.rej[SLOB_TICKREJ_TS_RANGE], 3);
	assert_int_equal(c.rej[SLOB_TICKREJ_TS_BACKWARDS], 1);
	assert_int_equal(c.rej[SLOB_TICKREJ_TS_FORWARD], 1);
	assert_int_equal(c.rej[SLOB_TICKREJ_PRICE_JUMP], 2);
	assert_int_equal(slob_tickcheck_rejected(&c), 13);
	/* inside every bound: accepted (within the backwards tolerance too) */
	assert_int_equal(slob_tickcheck_ok(&c, T0 - SLOB_NS_PER_SEC / 2, PX * 109 / 100, 7), 1);
	assert_int_equal(slob_tickcheck_accepted(&c), 2);
	assert_int_equal(c.seen, 15);
	assert_string_equal(slob_tickrej_name(SLOB_TICKREJ_TS_FORWARD), "ts_forward");
	assert_string_equal(slob_tickrej_name(SLOB_TICKREJ_N), "unknown");
}

/* The reported defect: one tick in 2090 among valid ones. It is one
 * rejection; the next valid ticks are accepted, whatever the year bound. */
static void test_far_future_does_not_poison(void **state)
{
	(void)state;
	struct slob_tickcheck_params p;
	slob_tickcheck_params_default(&p);
	p.ts_max_ns = (int64_t)4102444800LL * SLOB_NS_PER_SEC; /* 2100: 2090 is in range */
	struct slob_tickcheck c;
	slob_tickcheck_init_params(&c, &p);
	int acc = 0;
	for (int i = 0; i < 1000; i++) {
		c.where = (uint64_t)i + 2; /* a CSV line number */
		acc += slob_tickcheck_ok(&c, T0 + i * SLOB_NS_PER_SEC, PX + i % 3, 1);
		if (i == 100) {
			c.where = 999999;
			assert_int_equal(slob_tickcheck_ok(&c, Y2090, PX, 1), 0);
		}
	}
	assert_int_equal(acc, 1000);
	assert_int_equal(slob_tickcheck_rejected(&c), 1);
	assert_int_equal(c.rej[SLOB_TICKREJ_TS_FORWARD], 1);
	assert_int_equal(c.reanchors, 0);
	assert_true(c.have_first);
	assert_int_equal(c.first_where, 999999);
	assert_true(c.first_ts == Y2090);
	assert_int_equal(c.first_reason, SLOB_TICKREJ_TS_FORWARD);
	assert_int_equal(c.alert, 0); /* one stray tick counts, it does not alert */
	/* a wild price likewise: one rejection, the reference stays */
	assert_int_equal(slob_tickcheck_ok(&c, T0 + 1001 * SLOB_NS_PER_SEC, PX * 3, 1), 0);
	assert_int_equal(slob_tickcheck_ok(&c, T0 + 1002 * SLOB_NS_PER_SEC, PX, 1), 1);
	assert_int_equal(c.rej[SLOB_TICKREJ_PRICE_JUMP], 1);
}

/* A real data hole longer than max_forward: `confirm` agreeing ticks are
 * rejected, the next one becomes the new reference. */
static void test_reanchor_forward(void **state)
{
	(void)state;
	struct slob_tickcheck c;
	slob_tickcheck_init(&c, SLOB_NS_PER_SEC);
	assert_int_equal(slob_tickcheck_ok(&c, T0, PX, 1), 1);
	int64_t later = T0 + 30 * SLOB_NS_PER_DAY;
	for (unsigned i = 0; i < c.p.confirm; i++)
		assert_int_equal(slob_tickcheck_ok(&c, later + i, PX + 400, 1), 0);
	assert_int_equal(c.alert, 0);
	assert_int_equal(slob_tickcheck_ok(&c, later + 10, PX + 400, 1), 1);
	assert_int_equal(c.reanchors, 1);
	assert_int_equal(c.alert, 1); /* a re-anchor is worth one alert */
	assert_int_equal(c.tick_flags, 0);
	assert_int_equal(slob_tickcheck_ok(&c, later + 20, PX + 401, 1), 1);
	/* a stray in between resets the candidate: no re-anchor on alternating ticks */
	c.alert = 0;
	for (int i = 0; i < 20; i++) {
		assert_int_equal(slob_tickcheck_ok(&c, later + 30 + i, PX + 401, 1), 1);
		assert_int_equal(slob_tickcheck_ok(&c, Y2090 - SLOB_NS_PER_DAY * 365 * 40, PX, 1),
				 0);
	}
	assert_int_equal(c.reanchors, 1);
}

/* A true price gap beyond max_jump_pct re-anchors after `confirm`. */
static void test_reanchor_price(void **state)
{
	(void)state;
	struct slob_tickcheck c;
	slob_tickcheck_init(&c, SLOB_NS_PER_SEC);
	assert_int_equal(slob_tickcheck_ok(&c, T0, PX, 1), 1);
	int32_t gap = PX * 120 / 100;
	for (unsigned i = 0; i < c.p.confirm; i++)
		assert_int_equal(slob_tickcheck_ok(&c, T0 + 1 + i, gap + (int32_t)i, 1), 0);
	assert_int_equal(slob_tickcheck_ok(&c, T0 + 10, gap, 1), 1);
	assert_int_equal(c.reanchors, 1);
	assert_int_equal(slob_tickcheck_ok(&c, T0 + 11, PX, 1), 0); /* now the old level jumps */
	/* max_jump_pct 0: off */
	struct slob_tickcheck_params p;
	slob_tickcheck_params_default(&p);
	p.max_jump_pct = 0;
	slob_tickcheck_init_params(&c, &p);
	assert_int_equal(slob_tickcheck_ok(&c, T0, PX, 1), 1);
	assert_int_equal(slob_tickcheck_ok(&c, T0 + 1, PX * 5, 1), 1);
}

/* A lone far-future FIRST tick (nothing to compare it with) is replaced by
 * the timeline that follows; that tick carries SLOB_TICK_REANCHOR. An
 * established timeline is never rewound. */
static void test_reanchor_backwards_lone_first(void **state)
{
	(void)state;
	struct slob_tickcheck c;
	slob_tickcheck_init(&c, SLOB_NS_PER_SEC);
	int64_t odd = T0 + 3000LL * SLOB_NS_PER_DAY; /* 2034, inside the year range */
	assert_int_equal(slob_tickcheck_ok(&c, odd, PX, 1), 1);
	for (unsigned i = 0; i < c.p.confirm; i++)
		assert_int_equal(slob_tickcheck_ok(&c, T0 + i * SLOB_NS_PER_SEC, PX, 1), 0);
	assert_int_equal(slob_tickcheck_ok(&c, T0 + 10 * SLOB_NS_PER_SEC, PX, 1), 1);
	assert_int_equal(c.tick_flags, SLOB_TICK_REANCHOR);
	assert_int_equal(slob_tickcheck_ok(&c, T0 + 11 * SLOB_NS_PER_SEC, PX, 1), 1);
	assert_int_equal(c.tick_flags, 0);
	/* established: 100 ticks, then a backwards block stays rejected */
	for (int i = 0; i < 100; i++)
		assert_int_equal(slob_tickcheck_ok(&c, T0 + (20 + i) * SLOB_NS_PER_SEC, PX, 1), 1);
	for (int i = 0; i < 100; i++)
		assert_int_equal(slob_tickcheck_ok(&c, T0 - SLOB_NS_PER_DAY + i, PX, 1), 0);
	assert_int_equal(c.reanchors, 1);
}

/* Alerts: a run of alert_run rejects raises one; a rate of them inside a
 * block raises one; single ticks never do. */
static void test_alerts(void **state)
{
	(void)state;
	struct slob_tickcheck c;
	slob_tickcheck_init(&c, SLOB_NS_PER_SEC);
	assert_int_equal(slob_tickcheck_ok(&c, T0, PX, 1), 1);
	for (unsigned i = 0; i + 1 < c.p.alert_run; i++)
		slob_tickcheck_ok(&c, T0 + 1 + i, 0, 1);
	assert_int_equal(c.alert, 0);
	slob_tickcheck_ok(&c, T0 + 1000, 0, 1);
	assert_int_equal(c.alert, 1);
	c.alert = 0;
	slob_tickcheck_ok(&c, T0 + 1001, 0, 1); /* the same run: no second alert */
	assert_int_equal(c.alert, 0);
	/* rate: 1 in 10 bad, never a run */
	slob_tickcheck_init(&c, SLOB_NS_PER_SEC);
	int alerts = 0;
	for (int i = 0; i < SLOB_TICKCHECK_BLOCK; i++) {
		slob_tickcheck_ok(&c, T0 + i, i % 10 == 5 ? 0 : PX, 1);
		alerts += c.alert;
		c.alert = 0;
	}
	assert_int_equal(alerts, 1);
	assert_true(c.run <= 1);
}

/* The live path: any double, any epoch second. */
static void test_live_values(void **state)
{
	(void)state;
	struct slob_tickcheck c;
	struct slob_tickcheck_params p;
	slob_tickcheck_params_default(&p);
	slob_tickcheck_init_params(&c, &p);
	int64_t now = T0 + 500000000, ts = 0;
	int32_t px = 0;
	uint32_t sz = 0;
	const int64_t e0 = T0 / SLOB_NS_PER_SEC;
#define LIVE(es, pr, si, opt) slob_tickcheck_live(&c, es, pr, si, opt, 0.25, now, &ts, &px, &sz)
	assert_int_equal(LIVE(e0, 20000.5, 2, false), 1);
	assert_int_equal(px, 80002);
	assert_int_equal(sz, 2);
	assert_true(ts == T0);
	assert_int_equal(LIVE(e0, 1e12, 1, false), 0); /* wrapped to 346361856.0 before */
	assert_int_equal(LIVE(e0, 1e308, 1, false), 0);
	assert_int_equal(LIVE(e0, INFINITY, 1, false), 0);
	assert_int_equal(LIVE(e0, -INFINITY, 1, false), 0);
	assert_int_equal(LIVE(e0, NAN, 1, false), 0);
	assert_int_equal(LIVE(e0, -0.0, 1, false), 0);
	assert_int_equal(LIVE(e0, 0.1, 1, false), 0); /* rounds to 0 ticks */
	assert_int_equal(LIVE(e0, -20000, 1, false), 0);
	assert_int_equal(LIVE(e0, 20000, 1e300, false), 0);
	assert_int_equal(LIVE(e0, 20000, 5e9, false), 0); /* beyond uint32 */
	assert_int_equal(LIVE(e0, 20000, -1, false), 0);
	assert_int_equal(LIVE(e0, 20000, NAN, false), 0);
	assert_int_equal(LIVE(e0, 20000, 0, false), 0);
	assert_int_equal(LIVE(e0, 20000, NAN, true), 1); /* tickPrice without a size */
	assert_int_equal(sz, 0);
	assert_int_equal(LIVE(INT64_MAX, 20000, 1, false), 0); /* no overflow */
	assert_int_equal(LIVE(INT64_MIN, 20000, 1, false), 0);
	assert_int_equal(LIVE(3786912000LL, 20000, 1, false), 0); /* 2090 */
	assert_int_equal(LIVE(e0 + 3600, 20000, 1, false), 0);	  /* an hour ahead of the clock */
	assert_int_equal(LIVE(e0 - 3600, 20000, 1, false), 0);
	assert_int_equal(LIVE(e0 + 30, 20000, 1, false), 1);  /* within the skew */
	assert_int_equal(c.rej[SLOB_TICKREJ_BAD_PRICE], 5);   /* -inf, NaN, -0, 0.1, -20000 */
	assert_int_equal(c.rej[SLOB_TICKREJ_PRICE_RANGE], 3); /* 1e12, 1e308, inf */
	assert_int_equal(c.rej[SLOB_TICKREJ_BAD_SIZE], 5);
	assert_int_equal(c.rej[SLOB_TICKREJ_TS_RANGE], 3);
	assert_int_equal(c.rej[SLOB_TICKREJ_TS_SKEW], 2);
	/* skew off (a simulator replaying history): the replay ordering rules */
	p.max_skew_ns = 0;
	slob_tickcheck_init_params(&c, &p);
	assert_int_equal(LIVE(e0 - 86400 * 100, 20000, 1, false), 1);
	assert_int_equal(LIVE(e0 - 86400 * 100 + 1, 20000, 1, false), 1);
	assert_int_equal(LIVE(e0 + 86400 * 100, 20000, 1, false), 0);
	assert_int_equal(c.rej[SLOB_TICKREJ_TS_FORWARD], 1);
#undef LIVE
}

static void test_conversions(void **state)
{
	(void)state;
	int32_t v = 5;
	assert_int_equal(slob_dbl_to_ticks(20000.25, 0.25, &v), 0);
	assert_int_equal(v, 80001);
	assert_int_equal(slob_dbl_to_ticks(1e12, 0.25, &v), -ERANGE);
	assert_int_equal(v, 0);
	assert_int_equal(slob_dbl_to_ticks(NAN, 0.25, &v), -ERANGE);
	assert_int_equal(slob_dbl_to_ticks(20000, 0, &v), -ERANGE);
	assert_int_equal(slob_dbl_to_ticks(20000, NAN, &v), -ERANGE);
	assert_int_equal(slob_dbl_to_i32(2147483647.4, &v), 0);
	assert_int_equal(v, INT32_MAX);
	assert_int_equal(slob_dbl_to_i32(2147483647.5, &v), -ERANGE);
	assert_int_equal(slob_dbl_to_i32(-2147483648.4, &v), 0);
	assert_int_equal(v, INT32_MIN);
	assert_int_equal(slob_dbl_to_i32(-2147483648.5, &v), -ERANGE);
	assert_int_equal(slob_dbl_to_i32(-1e308, &v), -ERANGE);
	assert_int_equal(slob_dbl_to_i32(-0.0, &v), 0);
	assert_int_equal(v, 0);
}

static void test_params(void **state)
{
	(void)state;
	struct slob_tickcheck_params p;
	char err[160];
	slob_tickcheck_params_default(&p);
	assert_int_equal(slob_tickcheck_params_validate(&p, err, sizeof(err)), 0);
	assert_int_equal(slob_tickcheck_param_set(&p, "max_jump_pct", "5", err, sizeof(err)), 0);
	assert_true(p.max_jump_pct == 5.0);
	assert_int_equal(slob_tickcheck_param_set(&p, "max_forward_h", "24", err, sizeof(err)), 0);
	assert_true(p.max_forward_ns == 24LL * 3600 * SLOB_NS_PER_SEC);
	assert_int_equal(slob_tickcheck_param_set(&p, "max_skew_s", "0", err, sizeof(err)), 0);
	assert_int_equal(slob_tickcheck_param_set(&p, "confirm", "0", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "[ticks] confirm"));
	assert_int_equal(slob_tickcheck_param_set(&p, "max_jump_pct", "nan", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(slob_tickcheck_param_set(&p, "nope", "1", err, sizeof(err)), -ENOENT);
	p.ts_max_ns = p.ts_min_ns;
	assert_int_equal(slob_tickcheck_params_validate(&p, err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reasons),
	    cmocka_unit_test(test_far_future_does_not_poison),
	    cmocka_unit_test(test_reanchor_forward),
	    cmocka_unit_test(test_reanchor_price),
	    cmocka_unit_test(test_reanchor_backwards_lone_first),
	    cmocka_unit_test(test_alerts),
	    cmocka_unit_test(test_live_values),
	    cmocka_unit_test(test_conversions),
	    cmocka_unit_test(test_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
