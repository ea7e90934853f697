/* SPDX-License-Identifier: MIT */
/*
 * test_detector.c: the SLOB setup detector against STRATEGY.md. One test per
 * rule R1..R29 (each shows the rule firing and not firing), the worked
 * examples 1-9 of section 12, both nyse_open_anchor settings in the
 * 2026-03-10 DST-mismatch week (A1), parameter handling, determinism, the
 * stage wrapper over rings, and a property test over random bar streams.
 * Candles are written in Stockholm local time and index points, as in the
 * specification; the helpers convert to UTC ns and ticks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h */

#include "engine/detector.h"
#include "engine/gen.h"

#define TPP 4
#define PX(x) ((int32_t)llround((x)*TPP))
#define MAXLOG 4096

struct change {
	int64_t bar_ns;
	struct slob_setup s;
};

struct fx {
	struct slob_detector d;
	struct slob_detector_params p;
	struct slob_tz tz;
	struct slob_sig *out;
	int32_t ymd;
	uint64_t seq;
	struct slob_setup setups[64];
	unsigned nsetups;
	struct change log[MAXLOG];
	unsigned nlog;
	unsigned nclock;
};

static struct fx *fx_new_p(const struct slob_detector_params *p)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];
	struct slob_instrument in;
	slob_instrument_nq(&in);
	assert_non_null(f);
	f->p = *p;
	int rc = slob_detector_init(&f->d, p, &in, err, sizeof(err));
	if (rc)
		fail_msg("init: %s", err);
	assert_int_equal(slob_tz_load(&f->tz, "Europe/Stockholm", 2020, 2030), 0);
	f->out = calloc(slob_detector_max_out(&f->d), sizeof(*f->out));
	f->ymd = 20260113;
	return f;
}

static struct fx *fx_new(void)
{
	struct slob_detector_params p;
	slob_detector_params_default(&p);
	return fx_new_p(&p);
}

static void fx_free(struct fx *f)
{
	slob_detector_destroy(&f->d);
	free(f->out);
	free(f);
}

static int64_t at(struct fx *f, int hh, int mm)
{
	return slob_tz_to_utc(&f->tz, f->ymd, hh * 60 + mm);
}

/* Feeds a bar at local hh:mm (on f->ymd), prices in points. Returns #setups. */
static int feed_ns(struct fx *f, int64_t ts, double o, double h, double l, double c)
{
	struct slob_bar b = {.ts_ns = ts,
			     .recv_ns = ts / 2,
			     .last_seq = ++f->seq,
			     .open = PX(o),
			     .high = PX(h),
			     .low = PX(l),
			     .close = PX(c),
			     .volume = 1,
			     .ticks = 1};
	int n = slob_detector_on_bar(&f->d, &b, f->out, slob_detector_max_out(&f->d));
	assert_true(n >= 1);
	assert_int_equal(f->out[0].kind, SLOB_SIG_CLOCK);
	assert_int_equal(f->out[0].clock_seq, b.last_seq);
	assert_int_equal(f->out[0].mark_px, b.close);
	f->nclock++;
	for (int i = 1; i < n; i++) {
		assert_int_equal(f->out[i].kind, SLOB_SIG_SETUP);
		assert_true(f->nsetups < 64);
		f->setups[f->nsetups++] = f->out[i].setup;
	}
	unsigned nc;
	const struct slob_setup *ch = slob_detector_changes(&f->d, &nc);
	for (unsigned i = 0; i < nc && f->nlog < MAXLOG; i++)
		f->log[f->nlog++] = (struct change){ts, ch[i]};
	return n - 1;
}

static int feed(struct fx *f, int hh, int mm, double o, double h, double l, double c)
{
	return feed_ns(f, at(f, hh, mm), o, h, l, c);
}

/* Same candle for minutes [from, to] (hh:mm as minutes of day). */
static void feed_run(struct fx *f, int from, int to, double o, double h, double l, double c)
{
	for (int m = from; m <= to; m++)
		feed(f, m / 60, m % 60, o, h, l, c);
}

#define HM(h, m) ((h)*60 + (m))

static void lse(struct fx *f)
{
	feed(f, 9, 0, 19950, 20000, 19900, 19960);
}

/* Example 1 candles, from 15:30; a NULL-terminated override list may replace
 * a minute offset; `upto` is the last minute offset fed. */
struct ovr {
	int off;
	double o, h, l, c;
};

static const double EX1[23][4] = {
    {19990, 20010, 19985, 19992}, {19992, 19995, 19975, 19978}, {19978, 19982, 19965, 19970},
    {19970, 19980, 19962, 19976}, {19976, 19985, 19970, 19976}, {19976, 19985, 19970, 19976},
    {19976, 19985, 19970, 19976}, {19976, 19985, 19970, 19976}, {19976, 19985, 19970, 19976},
    {19976, 19985, 19970, 19976}, {19976, 19985, 19970, 19976}, {19976, 19985, 19970, 19976},
    {19976, 19985, 19970, 19976}, {19976, 19980, 19968, 19972}, {19972, 19990, 19972, 19990},
    {19990, 19992, 19980, 19984}, {19984, 19990, 19978, 19985}, {19984, 19990, 19978, 19985},
    {19984, 19990, 19978, 19985}, {19984, 19990, 19978, 19985}, {19985, 19999, 19983, 19993},
    {19993, 19997, 19980, 19982}, {19982, 19984, 19965, 19968},
};

static int ex1_ovr(struct fx *f, int upto, const struct ovr *ov, unsigned nov)
{
	int setups = 0;
	lse(f);
	for (int i = 0; i <= upto && i < 23; i++) {
		const double *c = EX1[i];
		double o = c[0], h = c[1], l = c[2], cl = c[3];
		for (unsigned k = 0; k < nov; k++)
			if (ov[k].off == i) {
				o = ov[k].o;
				h = ov[k].h;
				l = ov[k].l;
				cl = ov[k].c;
			}
		setups += feed(f, 15, 30 + i, o, h, l, cl);
	}
	return setups;
}

static int ex1(struct fx *f, int upto)
{
	return ex1_ovr(f, upto, NULL, 0);
}

/* Last logged change of the candidate with (dir, liq1 local hh:mm). */
static const struct change *last_change(struct fx *f, int dir, int hh, int mm)
{
	int64_t t = at(f, hh, mm);
	for (unsigned i = f->nlog; i-- > 0;)
		if (f->log[i].s.dir == dir && f->log[i].s.liq1_ns == t)
			return &f->log[i];
	return NULL;
}

static unsigned count_created(struct fx *f, int dir)
{
	unsigned n = 0;
	for (unsigned i = 0; i < f->nlog; i++)
		if (f->log[i].s.dir == dir && f->log[i].s.state == SLOB_ST_WATCHING_CONSOL &&
		    f->log[i].s.candles == 0)
			n++;
	return n;
}

static void assert_invalid(struct fx *f, int dir, int hh, int mm, unsigned reason, int at_h,
			   int at_m)
{
	const struct change *c = last_change(f, dir, hh, mm);
	assert_non_null(c);
	if (c->s.state != SLOB_ST_INVALIDATED || c->s.reason != reason)
		fail_msg("expected %s, got state %s reason %s", slob_reason_name(reason),
			 slob_state_name(c->s.state), slob_reason_name(c->s.reason));
	assert_int_equal(c->bar_ns, at(f, at_h, at_m));
}

static unsigned state_of(struct fx *f, int dir, int hh, int mm)
{
	const struct change *c = last_change(f, dir, hh, mm);
	return c ? c->s.state : 0;
}

/* ---- worked examples (STRATEGY.md s12) --------------------------------- */

static void test_example1_short_complete(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	assert_int_equal(ex1(f, 21), 0);
	assert_int_equal(feed(f, 15, 52, 19982, 19984, 19965, 19968), 1);
	const struct slob_setup *s = &f->setups[0];
	assert_int_equal(s->dir, SLOB_SHORT);
	assert_int_equal(s->state, SLOB_ST_SETUP_COMPLETE);
	assert_int_equal(s->entry, PX(19968));
	assert_int_equal(s->sl, PX(20000));
	assert_int_equal(s->tp, PX(19899));
	assert_int_equal(s->rr_milli, 2156);
	assert_int_equal(s->cons_high, PX(19995));
	assert_int_equal(s->cons_low, PX(19962));
	assert_int_equal(s->nw_high, PX(19990));
	assert_int_equal(s->nw_low, PX(19972));
	assert_int_equal(s->window_len, 14);
	assert_int_equal(s->consol_confirmed_ns, at(f, 15, 45));
	assert_int_equal(s->nowick_ns, at(f, 15, 44));
	assert_int_equal(s->liq2_ns, at(f, 15, 50));
	assert_int_equal(s->liq2_px, PX(19999));
	assert_int_equal(s->spike_px, PX(19999));
	assert_int_equal(s->spike_branch, 0);
	assert_int_equal(s->liq1_ns, at(f, 15, 30));
	assert_int_equal(s->liq1_px, PX(20010));
	assert_int_equal(s->lse_high, PX(20000));
	assert_int_equal(s->lse_low, PX(19900));
	assert_int_equal(s->id,
			 slob_detector_setup_id(SLOB_SHORT, at(f, 15, 30), PX(20000), PX(19900)));
	assert_int_equal(slob_detector_live(&f->d), 0);
	fx_free(f);
}

static void test_example1_with_internal_confirmation(void **state)
{
	(void)state;
	struct slob_detector_params p;
	slob_detector_params_default(&p);
	p.require_internal_confirmation = true;
	struct fx *f = fx_new_p(&p);
	assert_int_equal(ex1(f, 22), 1);
	assert_int_equal(f->setups[0].entry, PX(19968));
	assert_int_equal(f->setups[0].consol_confirmed_ns, at(f, 15, 45));
	fx_free(f);
}

static void test_example2_too_tight(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	lse(f);
	feed(f, 15, 30, 19990, 20010, 19985, 19992);
	feed_run(f, HM(15, 31), HM(15, 44), 19990, 19995, 19982, 19990);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WATCHING_CONSOL);
	feed(f, 15, 45, 19990, 19995, 19982, 19990);
	assert_invalid(f, SLOB_SHORT, 15, 30, SLOB_INV_CONSOLIDATION_RANGE_INVALID, 15, 45);
	fx_free(f);
}

static const double EX3[23][4] = {
    {20010, 20015, 19990, 20008}, {20008, 20025, 20005, 20022}, {20022, 20035, 20018, 20030},
    {20030, 20038, 20020, 20024}, {20024, 20030, 20015, 20024}, {20024, 20030, 20015, 20024},
    {20024, 20030, 20015, 20024}, {20024, 20030, 20015, 20024}, {20024, 20030, 20015, 20024},
    {20024, 20030, 20015, 20024}, {20024, 20030, 20015, 20024}, {20024, 20030, 20015, 20024},
    {20024, 20030, 20015, 20024}, {20024, 20032, 20020, 20028}, {20028, 20028, 20010, 20010},
    {20010, 20020, 20008, 20016}, {20016, 20022, 20010, 20015}, {20016, 20022, 20010, 20015},
    {20016, 20022, 20010, 20015}, {20016, 20022, 20010, 20015}, {20015, 20017, 20001, 20007},
    {20007, 20020, 20003, 20018}, {20018, 20035, 20016, 20032},
};

static void test_example3_long_complete(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	int n = 0;
	feed(f, 9, 0, 20050, 20100, 20000, 20040);
	for (int i = 0; i < 23; i++)
		n += feed(f, 15, 30 + i, EX3[i][0], EX3[i][1], EX3[i][2], EX3[i][3]);
	assert_int_equal(n, 1);
	const struct slob_setup *s = &f->setups[0];
	assert_int_equal(s->dir, SLOB_LONG);
	assert_int_equal(s->entry_ns, at(f, 15, 52));
	assert_int_equal(s->entry, PX(20032));
	assert_int_equal(s->sl, PX(20000));
	assert_int_equal(s->tp, PX(20101));
	assert_int_equal(s->rr_milli, 2156);
	assert_int_equal(s->cons_low, PX(20005));
	assert_int_equal(s->cons_high, PX(20038));
	assert_int_equal(s->nw_high, PX(20028));
	assert_int_equal(s->nw_low, PX(20010));
	assert_int_equal(s->liq2_px, PX(20001));
	assert_int_equal(s->spike_branch, 0);
	fx_free(f);
}

static void test_example4_spike_rule(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct ovr o[] = {{20, 19985, 19999, 19983, 19987}};
	assert_int_equal(ex1_ovr(f, 22, o, 1), 1);
	assert_int_equal(f->setups[0].spike_branch, 1);
	assert_int_equal(f->setups[0].sl, PX(19989));
	assert_int_equal(f->setups[0].entry, PX(19968));
	assert_int_equal(f->setups[0].tp, PX(19899));
	assert_int_equal(f->setups[0].rr_milli, 3285);
	fx_free(f);
}

static void test_example5_early_break_ignored(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct ovr o[] = {{17, 19984, 19998, 19978, 19985}};
	assert_int_equal(ex1_ovr(f, 19, o, 1), 0);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WATCHING_LIQ2);
	assert_int_equal(feed(f, 15, 50, 19985, 19999, 19983, 19993), 0);
	feed(f, 15, 51, 19993, 19997, 19980, 19982);
	assert_int_equal(feed(f, 15, 52, 19982, 19984, 19965, 19968), 1);
	assert_int_equal(f->setups[0].liq2_ns, at(f, 15, 50));
	assert_int_equal(f->setups[0].sl, PX(20000));
	fx_free(f);
}

static void test_example6_gap(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	ex1(f, 20);
	feed(f, 15, 51, 19978, 19980, 19970, 19975);
	assert_invalid(f, SLOB_SHORT, 15, 30, SLOB_INV_GAP_DETECTED, 15, 51);
	fx_free(f);
}

static void test_example7_liq2_timeout(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	ex1(f, 15);
	feed_run(f, HM(15, 46), HM(16, 4), 19984, 19990, 19978, 19985);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WATCHING_LIQ2);
	feed(f, 16, 5, 19984, 19990, 19978, 19985);
	assert_invalid(f, SLOB_SHORT, 15, 30, SLOB_INV_LIQ2_TIMEOUT, 16, 5);
	fx_free(f);
}

static void test_example7_entry_timeout(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	ex1(f, 20);
	feed_run(f, HM(15, 51), HM(16, 10), 19985, 19990, 19978, 19985);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WAITING_ENTRY);
	feed(f, 16, 11, 19985, 19990, 19978, 19985);
	assert_invalid(f, SLOB_SHORT, 15, 30, SLOB_INV_ENTRY_TIMEOUT, 16, 11);
	fx_free(f);
}

static void test_example8_daily_cutoff(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	lse(f);
	feed(f, 21, 50, 19990, 20010, 19985, 19992);
	feed_run(f, HM(21, 51), HM(21, 59), 19990, 19995, 19982, 19990);
	assert_int_equal(state_of(f, SLOB_SHORT, 21, 50), SLOB_ST_WATCHING_CONSOL);
	feed(f, 22, 0, 19990, 20012, 19985, 20005);
	assert_invalid(f, SLOB_SHORT, 21, 50, SLOB_INV_MARKET_CLOSED, 22, 0);
	assert_int_equal(count_created(f, SLOB_SHORT), 1);
	assert_int_equal(slob_detector_live(&f->d), 0);
	fx_free(f);
}

static void test_example9_throttle(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	lse(f);
	feed(f, 15, 30, 19990, 20010, 19985, 19992);
	feed_run(f, HM(15, 31), HM(15, 34), 19995, 20005, 19990, 20000);
	assert_int_equal(count_created(f, SLOB_SHORT), 1);
	feed(f, 15, 35, 19995, 20005, 19990, 20000);
	assert_int_equal(count_created(f, SLOB_SHORT), 2);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 35), SLOB_ST_WATCHING_CONSOL);
	feed(f, 15, 36, 19995, 20005, 19990, 20000);
	assert_int_equal(count_created(f, SLOB_SHORT), 2);
	assert_int_equal(slob_detector_live(&f->d), 2);
	assert_int_equal(f->d.stats.throttled, 5);
	fx_free(f);
}

/* ---- A1: NYSE open anchor in the 2026-03-10 mismatch week ------------- */

static void a1_run(int anchor, int expect_1430_creates)
{
	struct slob_detector_params p;
	slob_detector_params_default(&p);
	p.nyse_open_anchor = anchor;
	struct fx *f = fx_new_p(&p);
	f->ymd = 20260310;
	feed(f, 9, 0, 19950, 20000, 19900, 19960);
	feed(f, 14, 29, 19990, 19999, 19985, 19992); /* LSE window in both settings */
	feed(f, 14, 30, 19990, 20010, 19985, 19992); /* NYSE open only with new_york */
	assert_int_equal(count_created(f, SLOB_SHORT), expect_1430_creates);
	if (!expect_1430_creates) {
		/* with stockholm the 14:30 high joined the LSE range */
		assert_int_equal(f->d.lse_high, PX(20010));
		feed(f, 15, 30, 19990, 20011, 19985, 19992);
		assert_int_equal(count_created(f, SLOB_SHORT), 1);
	} else {
		assert_int_equal(f->d.lse_high, PX(20000));
		assert_int_equal(f->d.nyse_open_min, 14 * 60 + 30);
	}
	fx_free(f);
}

static void test_A1_anchor_new_york_mismatch_week(void **state)
{
	(void)state;
	a1_run(SLOB_DETECTOR_ANCHOR_NEW_YORK, 1);
}

static void test_A1_anchor_stockholm_mismatch_week(void **state)
{
	(void)state;
	a1_run(SLOB_DETECTOR_ANCHOR_STOCKHOLM, 0);
}

/* ---- one test per rule ------------------------------------------------ */

static void test_R1_previous_candle_is_any_candle(void **state)
{
	(void)state;
	/* the LIQ#1 candle (not part of its own window) is still the previous
	 * candle for the gap check of the next one */
	struct fx *f = fx_new();
	lse(f);
	feed(f, 15, 30, 19990, 20010, 19985, 19992);
	feed(f, 15, 31, 20015, 20020, 20011, 20018); /* low 20011 > prev high 20010 */
	assert_invalid(f, SLOB_SHORT, 15, 30, SLOB_INV_GAP_DETECTED, 15, 31);
	fx_free(f);
	f = fx_new();
	lse(f);
	feed(f, 15, 30, 19990, 20010, 19985, 19992);
	feed(f, 15, 31, 20010, 20020, 20010, 20018); /* touches: no gap */
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WATCHING_CONSOL);
	fx_free(f);
}

static void test_R2_day_rollover_invalidates(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	lse(f);
	feed(f, 15, 30, 19990, 20010, 19985, 19992);
	feed(f, 21, 0, 19990, 19995, 19985, 19992);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WATCHING_CONSOL);
	int64_t liq1 = at(f, 15, 30);
	f->ymd = 20260114;
	feed(f, 9, 0, 19990, 19999, 19985, 19992);
	const struct change *c = &f->log[f->nlog - 1];
	assert_int_equal(c->s.liq1_ns, liq1);
	assert_int_equal(c->s.state, SLOB_ST_INVALIDATED);
	assert_int_equal(c->s.reason, SLOB_INV_MARKET_CLOSED);
	assert_int_equal(c->bar_ns, at(f, 9, 0));
	/* levels were cleared: the new day's LSE range is this candle only */
	assert_int_equal(f->d.lse_high, PX(19999));
	assert_int_equal(f->d.lse_low, PX(19985));
	fx_free(f);
}

static void test_R3_daily_cutoff(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	lse(f);
	feed(f, 21, 50, 19990, 20010, 19985, 19992);
	feed(f, 21, 59, 19990, 19995, 19985, 19992); /* 21:59 still NYSE, not yet cut */
	assert_int_equal(state_of(f, SLOB_SHORT, 21, 50), SLOB_ST_WATCHING_CONSOL);
	feed(f, 22, 1, 19990, 20012, 19985, 19992);
	assert_invalid(f, SLOB_SHORT, 21, 50, SLOB_INV_MARKET_CLOSED, 22, 1);
	feed(f, 23, 30, 19990, 20050, 19985, 19992);
	assert_int_equal(count_created(f, SLOB_SHORT), 1);
	fx_free(f);
}

static void test_R4_lse_levels(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	lse(f);
	feed(f, 12, 0, 20000, 20010, 19890, 20005);
	feed(f, 15, 29, 20000, 20005, 19995, 20000);
	assert_int_equal(f->d.lse_high, PX(20010));
	assert_int_equal(f->d.lse_low, PX(19890));
	feed(f, 15, 30, 20000, 20010, 19995, 20000); /* == LSE_HIGH: nothing */
	assert_int_equal(count_created(f, SLOB_SHORT), 0);
	feed(f, 15, 31, 20000, 20010.25, 19995, 20000);
	assert_int_equal(count_created(f, SLOB_SHORT), 1);
	assert_int_equal(f->d.lse_high, PX(20010)); /* frozen in the NYSE window */
	fx_free(f);
}

static void test_R5_outside_windows_ignored(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	feed(f, 8, 59, 19950, 21000, 19000, 19960); /* before 09:00: not LSE */
	lse(f);
	assert_int_equal(f->d.lse_high, PX(20000));
	feed(f, 15, 30, 19990, 20010, 19985, 19992);
	assert_int_equal(count_created(f, SLOB_SHORT), 1);
	fx_free(f);
	/* weekend: Saturday 2026-01-17 creates nothing */
	f = fx_new();
	f->ymd = 20260117;
	lse(f);
	feed(f, 15, 30, 19990, 20010, 19985, 19992);
	assert_int_equal(count_created(f, SLOB_SHORT), 0);
	fx_free(f);
}

static void test_R6_no_lse_levels_no_setup(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	feed(f, 15, 30, 19990, 20010, 19985, 19992);
	feed(f, 15, 31, 19990, 20020, 19885, 19992);
	assert_int_equal(count_created(f, SLOB_SHORT) + count_created(f, SLOB_LONG), 0);
	fx_free(f);
}

static void test_R7_liq1_creates_short_and_long(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	lse(f);
	feed(f, 15, 30, 19950, 20000, 19900, 19960); /* touches both: strict, nothing */
	assert_int_equal(count_created(f, SLOB_SHORT) + count_created(f, SLOB_LONG), 0);
	feed(f, 15, 31, 19950, 20000, 19899.75, 19960);
	assert_int_equal(count_created(f, SLOB_LONG), 1);
	feed(f, 15, 32, 19950, 20000.25, 19899.75, 19960); /* outside bar: SHORT only */
	assert_int_equal(count_created(f, SLOB_SHORT), 1);
	assert_int_equal(count_created(f, SLOB_LONG), 1);
	const struct change *c = last_change(f, SLOB_SHORT, 15, 32);
	assert_int_equal(c->s.liq1_px, PX(20000.25));
	fx_free(f);
}

static void test_R7_enable_short_off(void **state)
{
	(void)state;
	struct slob_detector_params p;
	slob_detector_params_default(&p);
	p.enable_short = false;
	struct fx *f = fx_new_p(&p);
	lse(f);
	feed(f, 15, 30, 19950, 20010, 19890, 19960); /* above high: no LONG test either */
	feed(f, 15, 31, 19950, 19990, 19890, 19960);
	assert_int_equal(count_created(f, SLOB_SHORT), 0);
	assert_int_equal(count_created(f, SLOB_LONG), 1);
	fx_free(f);
}

static void test_R8_liq1_candle_not_in_window(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	ex1(f, 14);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WATCHING_CONSOL); /* |W| = 14 */
	feed(f, 15, 45, 19990, 19992, 19980, 19984);
	const struct change *c = last_change(f, SLOB_SHORT, 15, 30);
	assert_int_equal(c->s.state, SLOB_ST_WATCHING_LIQ2);
	assert_int_equal(c->s.window_len, 14);
	assert_int_equal(c->s.cons_high, PX(19995)); /* 20010 of the LIQ#1 candle excluded */
	fx_free(f);
}

static void test_R9_candle_count(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	ex1(f, 22);
	assert_int_equal(f->setups[0].candles, 22);
	const struct change *c = last_change(f, SLOB_SHORT, 15, 30);
	assert_int_equal(c->s.candles, 22);
	fx_free(f);
}

static void test_R10_gap_rule(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	ex1(f, 16);
	feed(f, 15, 47, 19991, 19994, 19990.25, 19992); /* low > prev high 19990: gap up */
	assert_invalid(f, SLOB_SHORT, 15, 30, SLOB_INV_GAP_DETECTED, 15, 47);
	fx_free(f);
	f = fx_new();
	ex1(f, 16);
	feed(f, 15, 47, 19990, 19994, 19990, 19992); /* low == prev high: no gap */
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WATCHING_LIQ2);
	fx_free(f);
}

static void test_R11_consolidation_window(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	ex1(f, 15);
	const struct change *c = last_change(f, SLOB_SHORT, 15, 30);
	assert_int_equal(c->s.cons_high, PX(19995));
	assert_int_equal(c->s.cons_low, PX(19962));
	fx_free(f);
}

static void test_R12_internal_low_gates_only_when_enabled(void **state)
{
	(void)state;
	/* 15:45 makes a new lower low 19960: with the option the LOW needs 3
	 * more minutes (confirmation at 15:48), without it 15:45 confirms. */
	struct ovr o[] = {{15, 19990, 19992, 19960, 19984}};
	struct slob_detector_params p;
	slob_detector_params_default(&p);
	p.require_internal_confirmation = true;
	struct fx *f = fx_new_p(&p);
	ex1_ovr(f, 17, o, 1);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WATCHING_CONSOL);
	feed(f, 15, 48, 19984, 19990, 19978, 19985);
	const struct change *c = last_change(f, SLOB_SHORT, 15, 30);
	assert_int_equal(c->s.state, SLOB_ST_WATCHING_LIQ2);
	assert_int_equal(c->s.consol_confirmed_ns, at(f, 15, 48));
	assert_int_equal(c->s.cons_low, PX(19960));
	fx_free(f);
	f = fx_new();
	ex1_ovr(f, 15, o, 1);
	c = last_change(f, SLOB_SHORT, 15, 30);
	assert_int_equal(c->s.state, SLOB_ST_WATCHING_LIQ2);
	assert_int_equal(c->s.consol_confirmed_ns, at(f, 15, 45));
	assert_int_equal(c->s.cons_low, PX(19962)); /* current candle excluded */
	fx_free(f);
}

static void test_R13_consolidation_timeout(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	lse(f);
	feed(f, 15, 30, 19990, 20010, 19985, 19992);
	feed_run(f, HM(15, 31), HM(17, 30), 19980, 19995, 19960, 19980); /* 120 dojis */
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WATCHING_CONSOL);
	feed(f, 17, 31, 19980, 19995, 19960, 19980);
	assert_invalid(f, SLOB_SHORT, 15, 30, SLOB_INV_CONSOLIDATION_TIMEOUT, 17, 31);
	fx_free(f);
}

static void test_R14_no_checks_before_min_duration(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	lse(f);
	feed(f, 15, 30, 19990, 20010, 19985, 19992);
	/* a tight window with a no-wick candle: nothing may happen before |W| = 15 */
	feed(f, 15, 31, 19990, 19995, 19990, 19995);
	feed_run(f, HM(15, 32), HM(15, 44), 19994, 19995, 19990, 19994);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WATCHING_CONSOL);
	feed(f, 15, 45, 19994, 19995, 19990, 19994);
	assert_invalid(f, SLOB_SHORT, 15, 30, SLOB_INV_CONSOLIDATION_RANGE_INVALID, 15, 45);
	fx_free(f);
}

static void r15_run(double low, unsigned expect_state)
{
	struct fx *f = fx_new();
	lse(f);
	feed(f, 15, 30, 19990, 20010, 19985, 19992);
	feed_run(f, HM(15, 31), HM(15, 45), 19990, 20000, low, 19990);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), expect_state);
	fx_free(f);
}

static void test_R15_range_bounds_inclusive(void **state)
{
	(void)state;
	r15_run(19900, SLOB_ST_WATCHING_CONSOL); /* exactly 0.5 %: valid */
	r15_run(19899.75, SLOB_ST_INVALIDATED);	 /* 0.50125 %: too wide */
	r15_run(19980, SLOB_ST_WATCHING_CONSOL); /* exactly 0.1 %: valid */
	r15_run(19980.25, SLOB_ST_INVALIDATED);	 /* 0.09875 %: too tight */
}

static void r16_run(int dir, double o, double h, double l, double c, unsigned expect)
{
	struct fx *f = fx_new();
	lse(f);
	if (dir == SLOB_SHORT)
		feed(f, 15, 30, 19990, 20010, 19985, 19992);
	else
		feed(f, 15, 30, 19910, 19915, 19890, 19908);
	double base = dir == SLOB_SHORT ? 19980 : 19920;
	feed_run(f, HM(15, 31), HM(15, 44), base, base + 15, base - 15, base);
	feed(f, 15, 45, o, h, l, c);
	assert_int_equal(state_of(f, dir, 15, 30), expect);
	fx_free(f);
}

static void test_R16_nowick_short_lower_wick_strict(void **state)
{
	(void)state;
	/* body 5, lower wick 1 -> ratio 0.20, not < 0.20 */
	r16_run(SLOB_SHORT, 19980, 19990, 19979, 19985, SLOB_ST_WATCHING_CONSOL);
	/* lower wick 0.75 -> 0.15 qualifies (the upper wick is irrelevant) */
	r16_run(SLOB_SHORT, 19980, 19994, 19979.25, 19985, SLOB_ST_WATCHING_LIQ2);
	/* bearish never qualifies for SHORT */
	r16_run(SLOB_SHORT, 19985, 19985, 19980, 19980, SLOB_ST_WATCHING_CONSOL);
}

static void test_R16_nowick_long_upper_wick_strict(void **state)
{
	(void)state;
	r16_run(SLOB_LONG, 19925, 19926, 19915, 19920, SLOB_ST_WATCHING_CONSOL);  /* 0.20 */
	r16_run(SLOB_LONG, 19925, 19925.75, 19906, 19920, SLOB_ST_WATCHING_LIQ2); /* 0.15 */
	r16_run(SLOB_LONG, 19920, 19925, 19920, 19925, SLOB_ST_WATCHING_CONSOL);  /* bullish */
}

static void test_R17_confirmation_freezes_without_current(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct ovr o[] = {{15, 19990, 19998, 19980, 19984}};
	ex1_ovr(f, 15, o, 1);
	const struct change *c = last_change(f, SLOB_SHORT, 15, 30);
	assert_int_equal(c->s.state, SLOB_ST_WATCHING_LIQ2);
	assert_int_equal(c->s.cons_high, PX(19995));
	/* 19998 (the confirming candle's high) would now not be LIQ#2 if frozen
	 * with it; 19996 is > 19995 so LIQ#2 fires */
	feed_run(f, HM(15, 46), HM(15, 49), 19984, 19990, 19978, 19985);
	feed(f, 15, 50, 19985, 19996, 19983, 19993);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WAITING_ENTRY);
	fx_free(f);
	/* no no-wick candle in the window: stays in WATCHING_CONSOL */
	f = fx_new();
	struct ovr o2[] = {{14, 19972, 19990, 19968, 19975}};
	ex1_ovr(f, 15, o2, 1);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WATCHING_CONSOL);
	fx_free(f);
}

static void test_R18_liq2_timeout(void **state)
{
	(void)state;
	test_example7_liq2_timeout(state);
	/* LIQ#2 on the last allowed candle (k = 20, 16:04) still counts */
	struct fx *f = fx_new();
	ex1(f, 15);
	feed_run(f, HM(15, 46), HM(16, 3), 19984, 19990, 19978, 19985);
	feed(f, 16, 4, 19985, 19999, 19983, 19993);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WAITING_ENTRY);
	fx_free(f);
}

static void test_R19_retracement_points(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct ovr o[] = {{17, 19984, 20090.25, 19978, 19985}}; /* NW_HIGH 19990 + 100.25 */
	ex1_ovr(f, 17, o, 1);
	assert_invalid(f, SLOB_SHORT, 15, 30, SLOB_INV_RETRACEMENT_EXCEEDED, 15, 47);
	fx_free(f);
	f = fx_new();
	struct ovr o2[] = {{17, 19984, 20090, 19978, 19985}}; /* exactly + 100: allowed */
	ex1_ovr(f, 17, o2, 1);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WATCHING_LIQ2);
	fx_free(f);
}

static void test_R19_retracement_percent(void **state)
{
	(void)state;
	struct slob_detector_params p;
	char err[128];
	slob_detector_params_default(&p);
	assert_int_equal(
	    slob_detector_param_set(&p, "max_retracement_pct", "0.05", err, sizeof(err)), 0);
	/* limit = 0.05 % of 20000 = 10 points: +10 allowed, +10.25 not */
	struct fx *f = fx_new_p(&p);
	struct ovr o[] = {{17, 19984, 20000, 19978, 19985}};
	ex1_ovr(f, 17, o, 1);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WATCHING_LIQ2);
	fx_free(f);
	f = fx_new_p(&p);
	struct ovr o2[] = {{17, 19984, 20000.25, 19978, 19985}};
	ex1_ovr(f, 17, o2, 1);
	assert_invalid(f, SLOB_SHORT, 15, 30, SLOB_INV_RETRACEMENT_EXCEEDED, 15, 47);
	fx_free(f);
}

static void test_R20_minimum_wait(void **state)
{
	(void)state;
	test_example5_early_break_ignored(state);
	/* LIQ#2 exactly 5 minutes after confirmation (15:50) fires: Example 1;
	 * 4 minutes (15:49) does not */
	struct fx *f = fx_new();
	struct ovr o[] = {{19, 19984, 19999, 19978, 19985}};
	ex1_ovr(f, 19, o, 1);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WATCHING_LIQ2);
	fx_free(f);
}

static void test_R21_liq2_strict(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct ovr o[] = {{20, 19985, 19995, 19983, 19993}}; /* == CONS_HIGH */
	ex1_ovr(f, 20, o, 1);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WATCHING_LIQ2);
	fx_free(f);
	f = fx_new();
	struct ovr o2[] = {{20, 19985, 19995.25, 19983, 19993}};
	ex1_ovr(f, 20, o2, 1);
	const struct change *c = last_change(f, SLOB_SHORT, 15, 30);
	assert_int_equal(c->s.state, SLOB_ST_WAITING_ENTRY);
	assert_int_equal(c->s.liq2_px, PX(19995.25));
	/* the LIQ#2 candle is not tested for entry even if it closes below NW_LOW */
	fx_free(f);
	f = fx_new();
	struct ovr o3[] = {{20, 19985, 19999, 19970, 19971}};
	assert_int_equal(ex1_ovr(f, 20, o3, 1), 0);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WAITING_ENTRY);
	fx_free(f);
}

static void test_R22_spike_tracking(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct ovr o[] = {{21, 19993, 20001, 19980, 19982}};
	assert_int_equal(ex1_ovr(f, 22, o, 1), 1);
	assert_int_equal(f->setups[0].spike_px, PX(20001));
	assert_int_equal(f->setups[0].sl, PX(20002));
	fx_free(f);
	/* the trigger candle's own high counts too */
	f = fx_new();
	struct ovr o2[] = {{22, 19982, 20003, 19965, 19968}};
	assert_int_equal(ex1_ovr(f, 22, o2, 1), 1);
	assert_int_equal(f->setups[0].sl, PX(20004));
	fx_free(f);
}

static void test_R23_entry_timeout(void **state)
{
	(void)state;
	test_example7_entry_timeout(state);
	/* trigger on j = 20 (16:10) still completes */
	struct fx *f = fx_new();
	ex1(f, 20);
	feed_run(f, HM(15, 51), HM(16, 9), 19985, 19990, 19978, 19985);
	assert_int_equal(feed(f, 16, 10, 19985, 19990, 19965, 19968), 1);
	fx_free(f);
}

static void test_R24_entry_trigger_strict(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct ovr o[] = {{22, 19982, 19984, 19965, 19972}}; /* close == NW_LOW */
	assert_int_equal(ex1_ovr(f, 22, o, 1), 0);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WAITING_ENTRY);
	assert_int_equal(feed(f, 15, 53, 19972, 19975, 19970, 19971.75), 1);
	fx_free(f);
}

static void test_R25_entry_is_trigger_close(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct ovr o[] = {{22, 19982, 19984, 19960, 19963.5}};
	assert_int_equal(ex1_ovr(f, 22, o, 1), 1);
	assert_int_equal(f->setups[0].entry, PX(19963.5));
	assert_int_equal(f->setups[0].entry_ns, at(f, 15, 52));
	fx_free(f);
}

static void test_R26_spike_rule(void **state)
{
	(void)state;
	test_example4_spike_rule(state);
	/* wick exactly 2 x body: not a spike (strict) */
	struct fx *f = fx_new();
	struct ovr o[] = {{20, 19985, 19999, 19983, 19989}}; /* body 4, wick 10 > 8 */
	ex1_ovr(f, 22, o, 1);
	assert_int_equal(f->setups[0].spike_branch, 1);
	fx_free(f);
	f = fx_new();
	struct ovr o3[] = {{20, 19985, 19997, 19983, 19989}}; /* body 4, wick 8 == 2x */
	ex1_ovr(f, 22, o3, 1);
	assert_int_equal(f->setups[0].spike_branch, 0);
	assert_int_equal(f->setups[0].sl, PX(19998)); /* SPIKE_HIGH 19997 from 15:51 + 1 */
	fx_free(f);
	/* doji LIQ#2: normal branch */
	f = fx_new();
	struct ovr o4[] = {{20, 19985, 19999, 19983, 19985}};
	ex1_ovr(f, 22, o4, 1);
	assert_int_equal(f->setups[0].spike_branch, 0);
	assert_int_equal(f->setups[0].sl, PX(20000));
	fx_free(f);
}

static void test_R27_take_profit(void **state)
{
	(void)state;
	struct slob_detector_params p;
	char err[128];
	slob_detector_params_default(&p);
	assert_int_equal(slob_detector_param_set(&p, "tp_buffer", "2.5", err, sizeof(err)), 0);
	struct fx *f = fx_new_p(&p);
	ex1(f, 22);
	assert_int_equal(f->setups[0].tp, PX(19897.5));
	fx_free(f);
	f = fx_new();
	ex1(f, 22);
	assert_int_equal(f->setups[0].tp, PX(19899));
	fx_free(f);
}

static void r28_run(const char *min_rr, int expect_setups)
{
	struct slob_detector_params p;
	char err[128];
	slob_detector_params_default(&p);
	assert_int_equal(slob_detector_param_set(&p, "min_rr", min_rr, err, sizeof(err)), 0);
	struct fx *f = fx_new_p(&p);
	assert_int_equal(ex1(f, 22), expect_setups);
	if (!expect_setups)
		assert_invalid(f, SLOB_SHORT, 15, 30, SLOB_INV_NEGATIVE_RISK_REWARD, 15, 52);
	fx_free(f);
}

static void test_R28_risk_reward_filter(void **state)
{
	(void)state;
	r28_run("0", 1);       /* default: RR > 0 */
	r28_run("2.156", 1);   /* 2.15625 > 2.156 */
	r28_run("2.15625", 0); /* RR <= min_rr rejected (exact) */
	/* negative risk: SL below entry cannot happen with R26 for SHORT unless
	 * TP is above entry; a negative tp_buffer puts TP above ENTRY */
	struct slob_detector_params p;
	char err[128];
	slob_detector_params_default(&p);
	assert_int_equal(slob_detector_param_set(&p, "tp_buffer", "-70", err, sizeof(err)), 0);
	struct fx *f = fx_new_p(&p);
	assert_int_equal(ex1(f, 22), 0);
	assert_invalid(f, SLOB_SHORT, 15, 30, SLOB_INV_NEGATIVE_RISK_REWARD, 15, 52);
	fx_free(f);
}

static void test_R29_complete_emitted_once(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	assert_int_equal(ex1(f, 22), 1);
	assert_int_equal(feed(f, 15, 53, 19968, 19970, 19960, 19962), 0);
	assert_int_equal(feed(f, 15, 54, 19962, 19966, 19950, 19955), 0);
	assert_int_equal(f->nsetups, 1);
	assert_int_equal(slob_detector_live(&f->d), 0);
	assert_int_equal(f->d.stats.completed[0], 1);
	fx_free(f);
}

/* ---- params, identity, robustness --------------------------------------- */

static void test_params_defaults_and_errors(void **state)
{
	(void)state;
	struct slob_detector_params p;
	char err[256];
	slob_detector_params_default(&p);
	assert_int_equal(slob_detector_params_validate(&p, err, sizeof(err)), 0);
	assert_string_equal(p.session_tz, "Europe/Stockholm");
	assert_int_equal(p.consol_max_range_pct_fp, 500000);
	assert_int_equal(slob_detector_param_set(&p, "bogus", "1", err, sizeof(err)), -ENOENT);
	assert_int_equal(slob_detector_param_set(&p, "consol_min_duration", "1", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "consol_min_duration"));
	assert_int_equal(
	    slob_detector_param_set(&p, "consol_max_range_pct", "0.1234567", err, sizeof(err)),
	    -EINVAL);
	assert_int_equal(
	    slob_detector_param_set(&p, "consol_max_range_pct", "abc", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "consol_max_range_pct"));
	assert_int_equal(slob_detector_param_set(&p, "lse_open", "25:00", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(slob_detector_param_set(&p, "nyse_open_anchor", "tokyo", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(
	    slob_detector_param_set(&p, "nyse_open_anchor", "stockholm", err, sizeof(err)), 0);
	assert_int_equal(p.nyse_open_anchor, SLOB_DETECTOR_ANCHOR_STOCKHOLM);
	assert_int_equal(
	    slob_detector_param_set(&p, "require_internal_confirmation", "yes", err, sizeof(err)),
	    0);
	assert_true(p.require_internal_confirmation);
	for (const char *const *k = slob_detector_param_keys; *k; k++) {
		struct slob_detector_params q;
		slob_detector_params_default(&q);
		assert_int_not_equal(slob_detector_param_set(&q, *k, "\x01", err, sizeof(err)),
				     -ENOENT);
	}
	/* cross-field validation */
	slob_detector_params_default(&p);
	assert_int_equal(
	    slob_detector_param_set(&p, "consol_min_range_pct", "0.6", err, sizeof(err)), 0);
	assert_int_equal(slob_detector_params_validate(&p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "consol_min_range_pct"));
	slob_detector_params_default(&p);
	p.consol_min_duration = 200;
	assert_int_equal(slob_detector_params_validate(&p, err, sizeof(err)), -EINVAL);
	/* point parameter that is not a whole tick */
	slob_detector_params_default(&p);
	assert_int_equal(slob_detector_param_set(&p, "sl_buffer", "1.1", err, sizeof(err)), 0);
	struct slob_detector d;
	struct slob_instrument in;
	slob_instrument_nq(&in);
	assert_int_equal(slob_detector_init(&d, &p, &in, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "sl_buffer"));
	slob_detector_destroy(&d);
	slob_detector_params_default(&p);
	snprintf(p.session_tz, sizeof(p.session_tz), "Nowhere/Atlantis");
	assert_true(slob_detector_init(&d, &p, &in, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "session_tz"));
	slob_detector_destroy(&d);
	slob_detector_destroy(NULL);
}

static void test_bad_and_out_of_order_bars_ignored(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	lse(f);
	feed(f, 15, 30, 19990, 20010, 19985, 19992);
	feed(f, 15, 20, 19990, 20010, 19985, 19992);	   /* back in time */
	feed(f, 15, 31, 19990, 19980, 19985, 19992);	   /* high < low */
	feed(f, 15, 32, 0, 0, 0, 0);			   /* non-positive */
	feed(f, 15, 33, 19990, 19995, 19985, 19999);	   /* close above high */
	feed_ns(f, INT64_MAX, 19990, 19995, 19985, 19990); /* time out of range */
	assert_int_equal(f->d.stats.out_of_order, 1);
	assert_int_equal(f->d.stats.bad_bars, 4);
	assert_int_equal(state_of(f, SLOB_SHORT, 15, 30), SLOB_ST_WATCHING_CONSOL);
	/* END bar: one END signal */
	struct slob_bar e = {.flags = SLOB_BAR_END, .last_seq = 99};
	assert_int_equal(slob_detector_on_bar(&f->d, &e, f->out, slob_detector_max_out(&f->d)), 1);
	assert_int_equal(f->out[0].kind, SLOB_SIG_END);
	assert_int_equal(slob_detector_on_bar(&f->d, &e, f->out, 1), -EINVAL);
	fx_free(f);
}

static void test_pool_overflow_counted(void **state)
{
	(void)state;
	struct slob_detector_params p;
	slob_detector_params_default(&p);
	p.max_candidates = 2;
	struct fx *f = fx_new_p(&p);
	lse(f);
	feed_run(f, HM(15, 30), HM(15, 45), 19995, 20005, 19990, 20000);
	assert_int_equal(count_created(f, SLOB_SHORT), 2);
	/* 15:40 .. 15:45: the dropped LIQ#1 leaves nothing young to throttle */
	assert_int_equal(f->d.stats.pool_overflow, 6);
	assert_int_equal(f->d.stats.live_peak, 2);
	fx_free(f);
}

/* ---- property test over random bar streams ------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void gen_random_week(struct fx *f, uint64_t seed, struct slob_bar *bars, unsigned *nb)
{
	uint64_t s = seed | 1;
	int32_t px = PX(20000);
	unsigned n = 0;
	for (int day = 0; day < 5; day++) {
		int32_t ymd = 20260112 + day;
		int64_t t0 = slob_tz_to_utc(&f->tz, ymd, 8 * 60);
		for (int m = 0; m < 15 * 60; m++) {
			struct slob_bar *b = &bars[n++];
			int32_t o = px;
			int32_t hi = o, lo = o, c = o;
			int k = 1 + (int)(rng_next(&s) % 6);
			for (int i = 0; i < k; i++) {
				c += (int32_t)(rng_next(&s) % 9) - 4;
				if (c > hi)
					hi = c;
				if (c < lo)
					lo = c;
			}
			/* occasional gap and small drift toward 20000 */
			if (rng_next(&s) % 500 == 0)
				c += (int32_t)(rng_next(&s) % 41) - 20;
			*b = (struct slob_bar){.ts_ns = t0 + m * SLOB_NS_PER_MIN,
					       .last_seq = n,
					       .open = o,
					       .high = hi,
					       .low = lo,
					       .close = c};
			if (c > hi)
				b->high = c;
			if (c < lo)
				b->low = c;
			px = c;
		}
	}
	*nb = n;
}

/* Invariants every emitted setup must satisfy (STRATEGY.md). */
static void check_setup_invariants(struct fx *f, const struct slob_sig *sig)
{
	const struct slob_setup *s = &sig->setup;
	struct slob_local L, L1;
	assert_int_equal(sig->kind, SLOB_SIG_SETUP);
	/* SL and TP on opposite sides of the entry */
	if (s->dir == SLOB_SHORT)
		assert_true(s->sl > s->entry && s->tp < s->entry);
	else
		assert_true(s->sl < s->entry && s->tp > s->entry);
	/* inside the NYSE window of a weekday, same day as LIQ#1 */
	slob_tz_local(&f->tz, sig->ts_ns, &L);
	slob_tz_local(&f->tz, s->liq1_ns, &L1);
	assert_true(L.minute >= 14 * 60 + 30 && L.minute < 22 * 60);
	assert_true(L1.minute >= 14 * 60 + 30);
	assert_int_equal(L.ymd, L1.ymd);
	assert_true(L.wday >= 1 && L.wday <= 5);
	/* minimum durations: 15 window candles, 5 min wait, entry after LIQ#2 */
	assert_true(s->window_len >= 14);
	assert_true(s->consol_confirmed_ns - s->liq1_ns >= 15 * SLOB_NS_PER_MIN);
	assert_true(s->liq2_ns - s->consol_confirmed_ns >= 5 * SLOB_NS_PER_MIN);
	assert_true(s->entry_ns > s->liq2_ns);
	assert_true(s->entry_ns == sig->ts_ns);
	assert_true(s->rr_milli >= 0);
	/* range rule on the frozen window; no-wick inside it */
	int64_t r = (int64_t)(s->cons_high - s->cons_low) * 100 * 1000000;
	assert_true(r <= 500000LL * s->cons_high);
	assert_true(s->nowick_ns > s->liq1_ns && s->nowick_ns <= s->consol_confirmed_ns);
	assert_true(s->id == slob_detector_setup_id(s->dir, s->liq1_ns, s->lse_high, s->lse_low));
}

static void test_property_random_streams(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct slob_bar *bars = calloc(5 * 15 * 60, sizeof(*bars));
	unsigned nb, total = 0, totalc = 0;
	struct slob_sig *o2 = calloc(slob_detector_max_out(&f->d), sizeof(*o2));
	/* 1: raw random bars, with occasional price gaps */
	for (uint64_t seed = 1; seed <= 40; seed++) {
		gen_random_week(f, seed * 0x9e3779b97f4a7c15ULL, bars, &nb);
		slob_detector_reset(&f->d);
		for (unsigned i = 0; i < nb; i++) {
			int n = slob_detector_on_bar(&f->d, &bars[i], f->out,
						     slob_detector_max_out(&f->d));
			assert_true(n >= 1);
			for (int k = 1; k < n; k++, total++)
				check_setup_invariants(f, &f->out[k]);
			totalc += slob_detector_live(&f->d);
		}
	}
	/* the streams must exercise the machine (else the test proves nothing) */
	assert_true(f->d.stats.created[0] + f->d.stats.created[1] > 0);
	assert_true(totalc > 0);
	/* 2: generated sessions (engine/gen.h), random walks at several
	 * volatilities and with random injections: many setups complete */
	for (uint64_t seed = 1; seed <= 6; seed++) {
		struct slob_gen_params gp;
		struct slob_gen_out g;
		char gerr[128];
		slob_gen_params_default(&gp);
		gp.seed = seed;
		gp.start_ymd = 20260105 + (int32_t)seed * 7 % 28;
		gp.days = 40;
		gp.inject = (int32_t)(seed & 1);
		gp.dir_mode = SLOB_GEN_DIR_RANDOM;
		gp.vol_scale = 0.3 + 0.3 * (double)seed;
		assert_int_equal(slob_gen_run(&gp, &g, gerr, sizeof(gerr)), 0);
		slob_detector_reset(&f->d);
		for (size_t i = 0; i < g.nbars; i++) {
			int n = slob_detector_on_bar(&f->d, &g.bars[i], f->out,
						     slob_detector_max_out(&f->d));
			for (int k = 1; k < n; k++, total++)
				check_setup_invariants(f, &f->out[k]);
		}
		slob_gen_out_free(&g);
	}
	assert_true(total > 100);
	print_message("property: %u setups checked\n", total);
	/* determinism: same bars, same signals byte for byte */
	gen_random_week(f, 7, bars, &nb);
	struct slob_detector d2;
	char err[128];
	struct slob_instrument in;
	slob_instrument_nq(&in);
	assert_int_equal(slob_detector_init(&d2, &f->p, &in, err, sizeof(err)), 0);
	slob_detector_reset(&f->d);
	for (unsigned i = 0; i < nb; i++) {
		int n1 =
		    slob_detector_on_bar(&f->d, &bars[i], f->out, slob_detector_max_out(&f->d));
		int n2 = slob_detector_on_bar(&d2, &bars[i], o2, slob_detector_max_out(&d2));
		assert_int_equal(n1, n2);
		assert_memory_equal(f->out, o2, (size_t)n1 * sizeof(*o2));
	}
	slob_detector_destroy(&d2);
	free(o2);
	free(bars);
	fx_free(f);
}

static void test_garbage_bars_never_crash(void **state)
{
	(void)state;
	/* arbitrary OHLC and times (sanitizer builds check for UB/overflow) */
	struct slob_detector_params p;
	slob_detector_params_default(&p);
	p.max_candidates = 8;
	p.liq1_throttle = 0;
	struct fx *f = fx_new_p(&p);
	uint64_t s = 12345;
	int64_t t = at(f, 9, 0);
	int32_t lim[] = {INT32_MAX, 1 << 30, 100000, 80000};
	for (int i = 0; i < 200000; i++) {
		int32_t m = lim[(i / 1000) % 4];
		int32_t base = m == 80000 ? 80000 : 0;
		struct slob_bar b = {0};
		t += (int64_t)(rng_next(&s) % 180) * SLOB_NS_PER_SEC - 30 * SLOB_NS_PER_SEC;
		b.ts_ns = t;
		int32_t v[4];
		for (int k = 0; k < 4; k++)
			v[k] = base + (int32_t)(rng_next(&s) % (uint64_t)(m == 80000 ? 200 : m)) -
			       (m == 80000 ? 100 : 0);
		b.open = v[0];
		b.close = v[1];
		b.high = v[2] > v[3] ? v[2] : v[3];
		b.low = v[2] > v[3] ? v[3] : v[2];
		if (rng_next(&s) & 1) { /* mostly consistent bars */
			if (b.open > b.high)
				b.high = b.open;
			if (b.close > b.high)
				b.high = b.close;
			if (b.open < b.low)
				b.low = b.open;
			if (b.close < b.low)
				b.low = b.close;
		}
		int n = slob_detector_on_bar(&f->d, &b, f->out, slob_detector_max_out(&f->d));
		assert_true(n >= 1 && (unsigned)n <= slob_detector_max_out(&f->d));
		assert_true(slob_detector_live(&f->d) <= 8);
	}
	assert_true(f->d.stats.bad_bars > 0);
	assert_true(f->d.stats.out_of_order > 0);
	fx_free(f);
}

/* ---- stage wrapper ------------------------------------------------------ */

static void test_stage_over_rings(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	slob_ring_t in, out, cold;
	struct slob_coldq q;
	struct slob_detector_stage st;
	assert_int_equal(slob_ring_init(&in, "bars", 64, sizeof(struct slob_bar)), 0);
	assert_int_equal(slob_ring_init(&out, "sigs", 8, sizeof(struct slob_sig)), 0);
	assert_int_equal(slob_ring_init(&cold, "cold", 256, sizeof(struct slob_cold)), 0);
	assert_int_equal(slob_coldq_init(&q, &cold, 2), 0);
	assert_int_equal(slob_detector_stage_init(&st, &f->d, &in, &out, &q), 0);
	slob_stage_t *s = slob_detector_stage(&st);

	struct slob_bar b = {0};
	uint64_t seq = 0;
	int64_t t;
#define PUSHBAR(hh, mm, o, h, l, c)                                                                \
	do {                                                                                       \
		t = at(f, hh, mm);                                                                 \
		b = (struct slob_bar){.ts_ns = t,                                                  \
				      .last_seq = ++seq,                                           \
				      .open = PX(o),                                               \
				      .high = PX(h),                                               \
				      .low = PX(l),                                                \
				      .close = PX(c)};                                             \
		assert_true(slob_ring_push_spsc(&in, &b));                                         \
	} while (0)
	PUSHBAR(9, 0, 19950, 20000, 19900, 19960);
	for (int i = 0; i < 23; i++)
		PUSHBAR(15, 30 + i, EX1[i][0], EX1[i][1], EX1[i][2], EX1[i][3]);
	b = (struct slob_bar){.flags = SLOB_BAR_END, .last_seq = seq};
	assert_true(slob_ring_push_spsc(&in, &b));

	unsigned clocks = 0, setups = 0, ends = 0, colds = 0, guard = 0;
	uint64_t last_seq = 0;
	while (!s->done(s) && guard++ < 1000) {
		assert_true(s->poll(s) >= 0);
		struct slob_sig sig;
		while (slob_ring_pop_spsc(&out, &sig)) { /* small ring: backpressure exercised */
			if (sig.kind == SLOB_SIG_CLOCK) {
				clocks++;
				assert_true(sig.clock_seq > last_seq);
				last_seq = sig.clock_seq;
			} else if (sig.kind == SLOB_SIG_SETUP) {
				setups++;
				assert_int_equal(sig.setup.entry, PX(19968));
				assert_int_equal(sig.clock_seq,
						 last_seq); /* after its bar's CLOCK */
			} else if (sig.kind == SLOB_SIG_END) {
				ends++;
			}
		}
		struct slob_cold rec;
		while (slob_ring_pop_spsc(&cold, &rec)) {
			assert_int_equal(rec.type, SLOB_COLD_SETUP);
			assert_int_equal(rec.cls, SLOB_CLASS_TRADE);
			colds++;
		}
	}
	assert_true(s->done(s));
	assert_int_equal(clocks, 24);
	assert_int_equal(setups, 1);
	assert_int_equal(ends, 1);
	assert_int_equal(colds, 4); /* created, confirmed, LIQ#2, complete */
	assert_true(s->stats->backpressure > 0);
	assert_int_equal(s->stats->in, 25);
	slob_detector_stage_destroy(&st);
	slob_coldq_destroy(&q);
	slob_ring_destroy(&in);
	slob_ring_destroy(&out);
	slob_ring_destroy(&cold);
	fx_free(f);
}

static void test_stage_cold_overflow_is_fatal(void **state)
{
	(void)state;
	/* a cold thread that never drains: TRADE records wait in the overflow,
	 * and when that is full too the stage stops with -ENOBUFS */
	struct slob_detector_params p;
	slob_detector_params_default(&p);
	p.liq1_throttle = 0;	   /* a candidate per bar ... */
	p.consol_min_duration = 2; /* ... invalidated 2 bars later: 2 changes per bar */
	struct fx *f = fx_new_p(&p);
	slob_ring_t in, out, cold;
	struct slob_coldq q;
	struct slob_detector_stage st;
	assert_int_equal(slob_ring_init(&in, "bars", 64, sizeof(struct slob_bar)), 0);
	assert_int_equal(slob_ring_init(&out, "sigs", 64, sizeof(struct slob_sig)), 0);
	assert_int_equal(slob_ring_init(&cold, "cold", 4, sizeof(struct slob_cold)), 0);
	assert_int_equal(slob_coldq_init(&q, &cold, 2), 0);
	assert_int_equal(slob_detector_stage_init(&st, &f->d, &in, &out, &q), 0);
	slob_stage_t *s = slob_detector_stage(&st);
	int rc = 0;
	uint64_t seq = 0;
	for (int day = 0; day < 10 && rc >= 0; day++) {
		f->ymd = 20260112 + (day % 5) + (day / 5) * 7;
		for (int m = -1; m < 390 && rc >= 0; m++) {
			struct slob_bar b;
			if (m < 0)
				b = (struct slob_bar){.ts_ns = at(f, 9, 0),
						      .open = PX(19950),
						      .high = PX(20000),
						      .low = PX(19900),
						      .close = PX(19960)};
			else
				b = (struct slob_bar){.ts_ns = at(f, 15, 30) + m * SLOB_NS_PER_MIN,
						      .open = PX(20000),
						      .high = PX(20005),
						      .low = PX(19999),
						      .close = PX(20001)};
			b.last_seq = ++seq;
			assert_true(slob_ring_push_spsc(&in, &b));
			rc = s->poll(s);
			struct slob_sig sig;
			while (slob_ring_pop_spsc(&out, &sig))
				;
		}
	}
	assert_int_equal(rc, -ENOBUFS);
	assert_true(q.overflowed >= SLOB_COLDQ_OVERFLOW);
	assert_true(s->stats->errors >= 1);
	slob_detector_stage_destroy(&st);
	slob_coldq_destroy(&q);
	slob_ring_destroy(&in);
	slob_ring_destroy(&out);
	slob_ring_destroy(&cold);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example1_short_complete),
	    cmocka_unit_test(test_example1_with_internal_confirmation),
	    cmocka_unit_test(test_example2_too_tight),
	    cmocka_unit_test(test_example3_long_complete),
	    cmocka_unit_test(test_example4_spike_rule),
	    cmocka_unit_test(test_example5_early_break_ignored),
	    cmocka_unit_test(test_example6_gap),
	    cmocka_unit_test(test_example7_liq2_timeout),
	    cmocka_unit_test(test_example7_entry_timeout),
	    cmocka_unit_test(test_example8_daily_cutoff),
	    cmocka_unit_test(test_example9_throttle),
	    cmocka_unit_test(test_A1_anchor_new_york_mismatch_week),
	    cmocka_unit_test(test_A1_anchor_stockholm_mismatch_week),
	    cmocka_unit_test(test_R1_previous_candle_is_any_candle),
	    cmocka_unit_test(test_R2_day_rollover_invalidates),
	    cmocka_unit_test(test_R3_daily_cutoff),
	    cmocka_unit_test(test_R4_lse_levels),
	    cmocka_unit_test(test_R5_outside_windows_ignored),
	    cmocka_unit_test(test_R6_no_lse_levels_no_setup),
	    cmocka_unit_test(test_R7_liq1_creates_short_and_long),
	    cmocka_unit_test(test_R7_enable_short_off),
	    cmocka_unit_test(test_R8_liq1_candle_not_in_window),
	    cmocka_unit_test(test_R9_candle_count),
	    cmocka_unit_test(test_R10_gap_rule),
	    cmocka_unit_test(test_R11_consolidation_window),
	    cmocka_unit_test(test_R12_internal_low_gates_only_when_enabled),
	    cmocka_unit_test(test_R13_consolidation_timeout),
	    cmocka_unit_test(test_R14_no_checks_before_min_duration),
	    cmocka_unit_test(test_R15_range_bounds_inclusive),
	    cmocka_unit_test(test_R16_nowick_short_lower_wick_strict),
	    cmocka_unit_test(test_R16_nowick_long_upper_wick_strict),
	    cmocka_unit_test(test_R17_confirmation_freezes_without_current),
	    cmocka_unit_test(test_R18_liq2_timeout),
	    cmocka_unit_test(test_R19_retracement_points),
	    cmocka_unit_test(test_R19_retracement_percent),
	    cmocka_unit_test(test_R20_minimum_wait),
	    cmocka_unit_test(test_R21_liq2_strict),
	    cmocka_unit_test(test_R22_spike_tracking),
	    cmocka_unit_test(test_R23_entry_timeout),
	    cmocka_unit_test(test_R24_entry_trigger_strict),
	    cmocka_unit_test(test_R25_entry_is_trigger_close),
	    cmocka_unit_test(test_R26_spike_rule),
	    cmocka_unit_test(test_R27_take_profit),
	    cmocka_unit_test(test_R28_risk_reward_filter),
	    cmocka_unit_test(test_R29_complete_emitted_once),
	    cmocka_unit_test(test_params_defaults_and_errors),
	    cmocka_unit_test(test_bad_and_out_of_order_bars_ignored),
	    cmocka_unit_test(test_pool_overflow_counted),
	    cmocka_unit_test(test_property_random_streams),
	    cmocka_unit_test(test_garbage_bars_never_crash),
	    cmocka_unit_test(test_stage_over_rings),
	    cmocka_unit_test(test_stage_cold_overflow_is_fatal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
