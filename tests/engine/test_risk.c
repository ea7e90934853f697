/* SPDX-License-Identifier: MIT */
/*
 * test_risk.c: the risk gate through its rings, as the pipeline drives it:
 * sizing table (NQ, MNQ), each limit at its boundary (blocks / does not
 * block), trading hours on the 2026 DST change weeks, news and holidays,
 * the order-rate breaker, 1000 duplicate signals -> one bracket, positions
 * and P&L over partial fills, take-profits and stop-outs, cancel-after-bars,
 * broker rejections (no retry), unknown broker positions, the breaker
 * surviving a restart through the cold records (snapshot/restore) until an
 * operator reset, the clock-ack protocol, END/done, backpressure and the
 * parameter parser.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* cmocka needs the headers above */
#include <cmocka.h>

#include <xxhash.h>

#include "engine/config.h"
#include "engine/risk.h"
#include "persist/alert.h"

static struct slob_tz ny;

static int64_t utc(int y, unsigned mo, unsigned d, int h, int mi, int s)
{
	return (slob_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * SLOB_NS_PER_SEC;
}

/* New York local time to UTC through the tz table (used for convenience;
 * the DST tests check it against hand-computed UTC). */
static int64_t nyt(int32_t ymd, int h, int m, int s)
{
	return slob_tz_to_utc(&ny, ymd, h * 60 + m) + (int64_t)s * SLOB_NS_PER_SEC;
}

/* ---- harness ---------------------------------------------------------------- */

#define COLD_MAX 20000

struct h {
	slob_ring_t sig, exec, intent, cold_ring;
	struct slob_coldq cq;
	struct slob_risk_params p;
	struct slob_risk_io io;
	slob_risk_t *r;
	struct slob_stage st;
	struct slob_cold *cold; /* drained cold records */
	unsigned ncold;
	int healthy;
};

static void h_open(struct h *h, const struct slob_risk_params *p, unsigned intent_cap,
		   unsigned cold_cap)
{
	char err[256] = "";
	memset(h, 0, sizeof(*h));
	assert_int_equal(slob_ring_init(&h->sig, "sig", 2048, sizeof(struct slob_sig)), 0);
	assert_int_equal(slob_ring_init(&h->exec, "exec", 1024, sizeof(struct slob_exec)), 0);
	assert_int_equal(
	    slob_ring_init(&h->intent, "intent", intent_cap, sizeof(struct slob_intent)), 0);
	assert_int_equal(slob_ring_init(&h->cold_ring, "cold", cold_cap, sizeof(struct slob_cold)),
			 0);
	assert_int_equal(slob_coldq_init(&h->cq, &h->cold_ring, 3), 0);
	h->p = *p;
	h->healthy = 1;
	h->io.sig_in = &h->sig;
	h->io.exec_in = &h->exec;
	h->io.intent_out = &h->intent;
	h->io.cold = &h->cq;
	h->io.store_healthy = &h->healthy;
	slob_instrument_nq(&h->io.instrument);
	h->io.tz = &ny;
	h->cold = calloc(COLD_MAX, sizeof(*h->cold));
	assert_non_null(h->cold);
	int rc = slob_risk_create(&h->r, &h->p, &h->io, err, sizeof(err));
	if (rc != 0)
		fail_msg("create: %d %s", rc, err);
	slob_risk_stage_init(h->r, &h->st);
}

static void h_open_mnq(struct h *h, const struct slob_risk_params *p)
{
	h_open(h, p, 1024, 4096);
	/* recreate with MNQ */
	slob_risk_free(h->r);
	h->io.instrument =
	    (struct slob_instrument){.symbol = "MNQ", .tick_size = 0.25, .point_value = 2.0};
	slob_instrument_derive(&h->io.instrument);
	char err[256];
	assert_int_equal(slob_risk_create(&h->r, &h->p, &h->io, err, sizeof(err)), 0);
	slob_risk_stage_init(h->r, &h->st);
}

static void h_close(struct h *h)
{
	slob_risk_free(h->r);
	slob_coldq_destroy(&h->cq);
	slob_ring_destroy(&h->sig);
	slob_ring_destroy(&h->exec);
	slob_ring_destroy(&h->intent);
	slob_ring_destroy(&h->cold_ring);
	free(h->cold);
}

static void h_drain_cold(struct h *h)
{
	struct slob_cold rec;
	while (slob_ring_peek_spsc(&h->cold_ring, 0)) {
		memcpy(&rec, slob_ring_peek_spsc(&h->cold_ring, 0), sizeof(rec));
		slob_ring_release_spsc(&h->cold_ring, 1);
		if (h->ncold < COLD_MAX)
			h->cold[h->ncold++] = rec;
	}
}

/* Polls until idle; returns total work. */
static int h_pump(struct h *h)
{
	int total = 0;
	for (int i = 0; i < 100000; i++) {
		int w = h->st.poll(&h->st);
		assert_true(w >= 0);
		h_drain_cold(h);
		if (w == 0)
			break;
		total += w;
	}
	return total;
}

static void h_setup(struct h *h, uint64_t id, int dir, int32_t entry, int32_t sl, int32_t tp,
		    int64_t ts)
{
	struct slob_sig s = {.kind = SLOB_SIG_SETUP, .ts_ns = ts, .recv_ns = 7};
	s.setup.id = id;
	s.setup.dir = (int8_t)dir;
	s.setup.entry = entry;
	s.setup.sl = sl;
	s.setup.tp = tp;
	assert_true(slob_ring_push_spsc(&h->sig, &s));
}

/* Long setup at 20000.00 with a 10-point stop (NQ: 2 contracts at 50k, 1%).
 * The target differs per setup id (id 1: 20020.00) so that distinct setups
 * never share all their levels (SLOB_RISK_DUPLICATE_LEVELS). */
static void h_long(struct h *h, uint64_t id, int64_t ts)
{
	h_setup(h, id, SLOB_LONG, 80000, 79960, 80079 + (int32_t)(id % 256), ts);
}

static void h_clock(struct h *h, uint64_t seq, int64_t ts, int32_t mark)
{
	struct slob_sig s = {
	    .kind = SLOB_SIG_CLOCK, .ts_ns = ts, .clock_seq = seq, .mark_px = mark};
	assert_true(slob_ring_push_spsc(&h->sig, &s));
}

static void h_exec(struct h *h, uint32_t kind, uint8_t role, uint64_t id, int32_t qty, int32_t px,
		   int64_t ts)
{
	struct slob_exec x = {
	    .kind = kind, .role = role, .setup_id = id, .qty = qty, .px = px, .ts_ns = ts};
	if (kind == SLOB_EXEC_CLOCK_ACK)
		x.clock_seq = (uint64_t)qty;
	if (kind == SLOB_EXEC_REJECTED) {
		x.code = 201;
		snprintf(x.text, sizeof(x.text), "Order rejected - reason: test");
	}
	assert_true(slob_ring_push_spsc(&h->exec, &x));
}

static unsigned h_intents(struct h *h, struct slob_intent *out, unsigned max)
{
	unsigned n = 0;
	const struct slob_intent *it;
	while ((it = slob_ring_peek_spsc(&h->intent, 0)) != NULL) {
		if (n < max)
			out[n] = *it;
		n++;
		slob_ring_release_spsc(&h->intent, 1);
	}
	return n;
}

static unsigned h_count_intents(struct h *h, uint32_t kind)
{
	struct slob_intent buf[512];
	unsigned n = h_intents(h, buf, 512), c = 0;
	for (unsigned i = 0; i < n && i < 512; i++)
		c += buf[i].kind == kind;
	return c;
}

static unsigned h_count_cold(struct h *h, uint16_t type)
{
	unsigned c = 0;
	for (unsigned i = 0; i < h->ncold; i++)
		c += h->cold[i].type == type;
	return c;
}

static const struct slob_cold *h_last_cold(struct h *h, uint16_t type)
{
	for (unsigned i = h->ncold; i-- > 0;)
		if (h->cold[i].type == type)
			return &h->cold[i];
	return NULL;
}

/* Reason of the last DECISION record. */
static unsigned h_last_reason(struct h *h)
{
	const struct slob_cold *c = h_last_cold(h, SLOB_COLD_DECISION);
	assert_non_null(c);
	return c->u.decision.reason;
}

/* DECISION records with this reason. */
static unsigned h_count_reason(struct h *h, unsigned reason)
{
	unsigned c = 0;
	for (unsigned i = 0; i < h->ncold; i++)
		c += h->cold[i].type == SLOB_COLD_DECISION && h->cold[i].u.decision.reason == reason;
	return c;
}

static struct slob_risk_view h_view(struct h *h)
{
	struct slob_risk_view v;
	slob_risk_get_view(h->r, &v);
	return v;
}

/* A Tuesday inside trading hours, a minute per step (decision = ts + 60 s). */
static int64_t T(int minute)
{
	return nyt(20260310, 10, 0, 0) + (int64_t)minute * SLOB_NS_PER_MIN;
}

static int setup(void **state)
{
	(void)state;
	return slob_tz_load(&ny, "America/New_York", 2024, 2028) == 0 ? 0 : -1;
}

/* ---- sizing -------------------------------------------------------------------- */

static void test_sizing_table(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct slob_instrument nq, mnq = {.tick_size = 0.25, .point_value = 2.0};
	slob_risk_params_default(&p);
	slob_instrument_nq(&nq);
	slob_instrument_derive(&mnq);
	assert_int_equal(nq.tick_value_cents, 500);
	assert_int_equal(mnq.tick_value_cents, 50);
	static const struct {
		int mnq;
		int64_t equity;
		int32_t stop_ticks, max, min1, want;
	} rows[] = {
	    /* NQ, 50 000 x 1 % = 500 USD at risk */
	    {0, 5000000, 40, 5, 0, 2},	/* 10 pt stop: 200 USD/contract -> 2.5 -> 2 */
	    {0, 5000000, 20, 5, 0, 5},	/* 5 pt: 100 USD -> 5 */
	    {0, 5000000, 10, 5, 0, 5},	/* 2.5 pt: 10 -> capped at 5 */
	    {0, 5000000, 100, 5, 0, 1}, /* 25 pt: 500 USD -> exactly 1 */
	    {0, 5000000, 101, 5, 0, 0}, /* 25.25 pt -> 0.99 -> skipped */
	    {0, 5000000, 101, 5, 1, 1}, /* ... raised to 1 with min_one_contract */
	    {0, 5000000, 0, 5, 1, 0},	/* zero stop is never traded, even with min 1 */
	    {0, 5000000, -40, 5, 0, 2}, /* short: distance is absolute */
	    {0, 10000000, 40, 5, 0, 5}, /* 100 000: 1 000 USD / 200 -> 5 */
	    {0, 3000000, 40, 5, 0, 1},	/* 30 000: 300 / 200 -> 1 */
	    {0, 3999999, 40, 5, 0, 1},	/* 39 999.99 -> 399.99 / 200 -> 1 */
	    {0, 4000000, 40, 5, 0, 2},	/* 40 000 -> 400 / 200 -> 2 (boundary) */
	    {0, -100, 40, 5, 1, 1},	/* negative equity: 0, min 1 applies */
	    {0, -100, 40, 5, 0, 0},
	    /* MNQ: one tenth of NQ per point */
	    {1, 5000000, 40, 5, 0, 5}, /* 20 USD/contract -> 25 -> capped 5 */
	    {1, 5000000, 40, 100, 0, 25},
	    {1, 5000000, 400, 5, 0, 2},	 /* 100 pt: 200 USD -> 2 */
	    {1, 5000000, 1000, 5, 0, 1}, /* 250 pt: 500 USD -> 1 */
	    {1, 5000000, 1001, 5, 0, 0},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		p.max_position_size = rows[i].max;
		p.min_one_contract = rows[i].min1;
		int32_t got = slob_risk_size(&p, rows[i].mnq ? &mnq : &nq, rows[i].equity,
					     rows[i].stop_ticks);
		if (got != rows[i].want)
			fail_msg("row %zu: got %d want %d", i, got, rows[i].want);
	}
	/* 0.5 % risk (incident guide remedy RISK_PER_TRADE=0.005) halves it */
	char err[128];
	assert_int_equal(slob_risk_param_set(&p, "risk_per_trade", "0.005", err, sizeof(err)), 0);
	p.max_position_size = 5;
	p.min_one_contract = 0;
	assert_int_equal(slob_risk_size(&p, &nq, 5000000, 20), 2); /* 250 / 100 */
}

static void test_sizing_through_gate_and_skip_reason(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	struct slob_intent it[8];
	slob_risk_params_default(&p);
	h_open_mnq(&h, &p);
	h_setup(&h, 11, SLOB_LONG, 80000, 79600, 80800, T(0)); /* 100 pt MNQ -> 2 */
	h_setup(&h, 12, SLOB_LONG, 80000, 78999, 82000, T(0)); /* 250.25 pt -> 0 -> skip */
	h_pump(&h);
	assert_int_equal(h_intents(&h, it, 8), 1);
	assert_int_equal(it[0].kind, SLOB_INTENT_BRACKET);
	assert_int_equal(it[0].qty, 2);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_SIZE_ZERO);
	assert_int_equal(h.st.stats->reasons[SLOB_RISK_SIZE_ZERO], 1);
	assert_int_equal(h.st.stats->reasons[SLOB_RISK_ACCEPTED], 1);
	h_close(&h);
}

/* ---- idempotency ---------------------------------------------------------------- */

static void test_order_ref(void **state)
{
	(void)state;
	uint64_t id = 0x0123456789abcdefull;
	unsigned char buf[15] = {0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01,
				 'b',  'r',  'a',  'c',	 'k',  'e',  't'};
	uint64_t hsh = slob_risk_ref_hash(id);
	assert_true(hsh == XXH3_64bits(buf, sizeof(buf)));
	char ref[SLOB_ORDER_REF_LEN];
	char want[40];
	slob_risk_order_ref(hsh, ref);
	snprintf(want, sizeof(want), "SLOB_%016llx", (unsigned long long)hsh);
	assert_string_equal(ref, want);
	assert_int_equal(strlen(ref), 21);
	assert_true(slob_risk_ref_hash(id + 1) != hsh);
}

static void test_1000_duplicates_one_bracket(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	slob_risk_params_default(&p);
	h_open(&h, &p, 2048, 65536);
	for (int i = 0; i < 1000; i++)
		h_long(&h, 0xfeedull, T(0));
	h_pump(&h);
	struct slob_intent it[1024];
	unsigned n = h_intents(&h, it, 1024);
	/* one bracket; the burst then trips the breaker, which cancels its
	 * still unfilled entry (below) */
	assert_int_equal(n, 2);
	assert_int_equal(it[0].kind, SLOB_INTENT_BRACKET);
	assert_int_equal(it[1].kind, SLOB_INTENT_CANCEL);
	assert_true(it[1].setup_id == 0xfeedull);
	assert_true(it[0].setup_id == 0xfeedull);
	assert_true(it[0].ref_hash == slob_risk_ref_hash(0xfeedull));
	char ref[SLOB_ORDER_REF_LEN];
	slob_risk_order_ref(it[0].ref_hash, ref);
	assert_string_equal(it[0].order_ref, ref);
	assert_int_equal(h.st.stats->reasons[SLOB_RISK_DUPLICATE], 999);
	assert_int_equal(h.st.stats->reasons[SLOB_RISK_ACCEPTED], 1);
	assert_int_equal(h_count_cold(&h, SLOB_COLD_DECISION), 1000);
	/* alerts on the 1st, 2nd, 4th ... duplicate only: no alert storm */
	unsigned alerts = h_count_cold(&h, SLOB_COLD_ALERT);
	assert_int_equal(alerts, 10); /* duplicates no. 1, 2, 4, ..., 512 */
	const struct slob_cold *a = h_last_cold(&h, SLOB_COLD_ALERT);
	assert_non_null(a);
	char text[sizeof(a->u.text.text)];
	memcpy(text, a->u.text.text, sizeof(text));
	assert_non_null(strstr(text, ref));
	assert_int_equal(a->u.text.level, SLOB_LVL_WARNING);
	/* the copies are order attempts: the 6th attempt within 60 s (limit 5)
	 * trips the order-rate breaker, once */
	assert_true(h_view(&h).breaker_tripped);
	assert_int_equal(h_view(&h).breaker_reason, SLOB_RISK_ORDER_RATE);
	assert_int_equal(h_count_cold(&h, SLOB_COLD_BREAKER), 1);
	const struct slob_cold *b = h_last_cold(&h, SLOB_COLD_BREAKER);
	assert_int_equal(b->u.breaker.reason, SLOB_RISK_ORDER_RATE);
	assert_non_null(strstr(b->u.breaker.why, "same setup"));
	/* tripped at the 6th attempt: the 5th copy's decision precedes it, the
	 * 6th copy's decision follows it */
	unsigned k = 0, dec_before = 0;
	for (; k < h.ncold && h.cold[k].type != SLOB_COLD_BREAKER; k++)
		dec_before += h.cold[k].type == SLOB_COLD_DECISION;
	assert_int_equal(dec_before, 5);
	/* a few copies (up to the limit) do not trip it */
	h_close(&h);
	h_open(&h, &p, 2048, 65536);
	for (int i = 0; i < 5; i++)
		h_long(&h, 0xbeefull, T(0));
	h_pump(&h);
	assert_false(h_view(&h).breaker_tripped);
	assert_int_equal(h.st.stats->reasons[SLOB_RISK_DUPLICATE], 4);
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_BRACKET), 1);
	/* the same setup after a broker reject: still never twice */
	h_exec(&h, SLOB_EXEC_REJECTED, SLOB_ROLE_ENTRY, 0xbeefull, 0, 0, T(1));
	h_long(&h, 0xbeefull, T(2));
	h_pump(&h);
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_BRACKET), 0);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_DUPLICATE);
	h_close(&h);
}

static void test_preload_blocks_restart_duplicate(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	slob_risk_params_default(&p);
	h_open(&h, &p, 1024, 4096);
	assert_int_equal(slob_risk_preload_setup(h.r, 0), -EINVAL);
	assert_int_equal(slob_risk_preload_setup(h.r, 77), 0);
	h_long(&h, 77, T(0));
	h_long(&h, 78, T(0));
	h_pump(&h);
	struct slob_intent it[4];
	assert_int_equal(h_intents(&h, it, 4), 1);
	assert_true(it[0].setup_id == 78);
	assert_int_equal(h.st.stats->reasons[SLOB_RISK_DUPLICATE], 1);
	h_close(&h);

	/* a full idempotency set fails closed */
	p.setup_capacity = 16;
	h_open(&h, &p, 1024, 4096);
	for (uint64_t i = 1; i <= 16; i++)
		assert_int_equal(slob_risk_preload_setup(h.r, 1000 + i), 0);
	assert_int_equal(slob_risk_preload_setup(h.r, 5000), -ENOSPC);
	h_long(&h, 5000, T(0));
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_SETUP_TABLE_FULL);
	h_close(&h);
}

/* ---- trading hours, DST, holidays, news --------------------------------------- */

static void test_hours_dst_edges(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	slob_risk_params_default(&p);
	h_open(&h, &p, 1024, 4096);
	/* 2026-03-09 (Monday after the US change): EDT, UTC-4 -> 13:30..20:00 UTC */
	int64_t s = SLOB_NS_PER_SEC;
	int64_t o = utc(2026, 3, 9, 13, 30, 0), c = utc(2026, 3, 9, 20, 0, 0);
	assert_int_equal(slob_risk_check_time(h.r, o - s), SLOB_RISK_OUTSIDE_HOURS);
	assert_int_equal(slob_risk_check_time(h.r, o), 0);
	assert_int_equal(slob_risk_check_time(h.r, c - s), 0);
	assert_int_equal(slob_risk_check_time(h.r, c), SLOB_RISK_OUTSIDE_HOURS);
	/* the week before (EST): 14:30 UTC is the open, 13:30 UTC is not */
	assert_int_equal(slob_risk_check_time(h.r, utc(2026, 3, 6, 13, 30, 0)),
			 SLOB_RISK_OUTSIDE_HOURS);
	assert_int_equal(slob_risk_check_time(h.r, utc(2026, 3, 6, 14, 30, 0)), 0);
	/* 2026-11-02 (Monday after the change back): EST, UTC-5 -> 14:30..21:00 UTC */
	o = utc(2026, 11, 2, 14, 30, 0);
	c = utc(2026, 11, 2, 21, 0, 0);
	assert_int_equal(slob_risk_check_time(h.r, o - s), SLOB_RISK_OUTSIDE_HOURS);
	assert_int_equal(slob_risk_check_time(h.r, o), 0);
	assert_int_equal(slob_risk_check_time(h.r, c - s), 0);
	assert_int_equal(slob_risk_check_time(h.r, c), SLOB_RISK_OUTSIDE_HOURS);
	/* the Friday before (EDT): 15:59:59 local is 19:59:59 UTC */
	assert_int_equal(slob_risk_check_time(h.r, utc(2026, 10, 30, 19, 59, 59)), 0);
	assert_int_equal(slob_risk_check_time(h.r, utc(2026, 10, 30, 20, 0, 0)),
			 SLOB_RISK_OUTSIDE_HOURS);
	/* weekends, incl. the DST change Sundays */
	assert_int_equal(slob_risk_check_time(h.r, utc(2026, 3, 8, 15, 0, 0)), SLOB_RISK_WEEKEND);
	assert_int_equal(slob_risk_check_time(h.r, utc(2026, 11, 1, 15, 0, 0)), SLOB_RISK_WEEKEND);
	assert_int_equal(slob_risk_check_time(h.r, utc(2026, 3, 7, 15, 0, 0)), SLOB_RISK_WEEKEND);

	/* through the gate: decision = trigger candle start + 60 s */
	h_long(&h, 1, utc(2026, 3, 9, 13, 28, 59)); /* decides 09:29:59 */
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_OUTSIDE_HOURS);
	h_long(&h, 2, utc(2026, 3, 9, 13, 29, 0)); /* decides 09:30:00 */
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCEPTED);
	h_long(&h, 3, utc(2026, 11, 2, 20, 58, 59)); /* decides 15:59:59 EST */
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCEPTED);
	h_long(&h, 4, utc(2026, 11, 2, 20, 59, 0)); /* decides 16:00:00 EST */
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_OUTSIDE_HOURS);
	assert_int_equal(h.st.stats->reasons[SLOB_RISK_OUTSIDE_HOURS], 2);
	h_close(&h);
}

static char tmpdir[512];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_holidays_and_news(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	char hol[600], news[600], err[256];
	snprintf(hol, sizeof(hol), "%s/holidays.txt", tmpdir);
	snprintf(news, sizeof(news), "%s/news.csv", tmpdir);
	write_file(hol, "2026-11-26 Thanksgiving\n2026-11-27 13:00 early close\n");
	write_file(news, "date,time,impact,name\n2026-03-18,14:00,HIGH,FOMC\n"
			 "2026-03-19,10:00,LOW,minor\n");
	slob_risk_params_default(&p);
	assert_int_equal(slob_risk_param_set(&p, "holiday_file", hol, err, sizeof(err)), 0);
	assert_int_equal(slob_risk_param_set(&p, "news_file", news, err, sizeof(err)), 0);
	assert_int_equal(slob_risk_param_set(&p, "news_before_min", "30", err, sizeof(err)), 0);
	assert_int_equal(slob_risk_param_set(&p, "news_after_min", "15", err, sizeof(err)), 0);
	h_open(&h, &p, 1024, 4096);
	int64_t s = SLOB_NS_PER_SEC;
	assert_int_equal(slob_risk_check_time(h.r, nyt(20261126, 11, 0, 0)), SLOB_RISK_HOLIDAY);
	assert_int_equal(slob_risk_check_time(h.r, nyt(20261127, 12, 59, 59)), 0);
	assert_int_equal(slob_risk_check_time(h.r, nyt(20261127, 13, 0, 0)), SLOB_RISK_HOLIDAY);
	assert_int_equal(slob_risk_check_time(h.r, nyt(20261125, 11, 0, 0)), 0);
	int64_t fomc = nyt(20260318, 14, 0, 0);
	assert_int_equal(slob_risk_check_time(h.r, fomc - 30 * 60 * s - s), 0);
	assert_int_equal(slob_risk_check_time(h.r, fomc - 30 * 60 * s), SLOB_RISK_NEWS_BLACKOUT);
	assert_int_equal(slob_risk_check_time(h.r, fomc + 15 * 60 * s - s),
			 SLOB_RISK_NEWS_BLACKOUT);
	assert_int_equal(slob_risk_check_time(h.r, fomc + 15 * 60 * s), 0);
	assert_int_equal(slob_risk_check_time(h.r, nyt(20260319, 10, 0, 0)), 0); /* LOW ignored */
	h_long(&h, 9, fomc - 60 * s);
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_NEWS_BLACKOUT);
	h_close(&h);

	/* a bad calendar file is a start-up error naming file:line */
	write_file(news, "date,time,impact,name\n2026-03-18,14:00,HUGE,FOMC\n");
	struct slob_risk_io io = h.io;
	slob_ring_t a, b;
	assert_int_equal(slob_ring_init(&a, "a", 4, sizeof(struct slob_sig)), 0);
	assert_int_equal(slob_ring_init(&b, "b", 4, sizeof(struct slob_intent)), 0);
	io.sig_in = &a;
	io.intent_out = &b;
	io.exec_in = NULL;
	io.cold = NULL;
	io.store_healthy = NULL;
	slob_instrument_nq(&io.instrument);
	io.tz = &ny;
	slob_risk_t *r = NULL;
	assert_int_equal(slob_risk_create(&r, &p, &io, err, sizeof(err)), -EINVAL);
	assert_null(r);
	assert_non_null(strstr(err, "news.csv:2: field impact"));
	io.instrument.tick_value_cents = 0; /* the original's missing point value */
	p.news_file[0] = '\0';
	assert_int_equal(slob_risk_create(&r, &p, &io, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tick value"));
	slob_ring_destroy(&a);
	slob_ring_destroy(&b);
}

/* ---- limits ---------------------------------------------------------------------- */

/* Opens a long NQ position of `qty` at px through a setup and an entry fill. */
static void open_long(struct h *h, uint64_t id, int32_t qty, int32_t px, int64_t ts)
{
	h_setup(h, id, SLOB_LONG, px, px - 40, px + 80, ts);
	h_pump(h);
	assert_int_equal(h_last_reason(h), SLOB_RISK_ACCEPTED);
	h_exec(h, SLOB_EXEC_FILL, SLOB_ROLE_ENTRY, id, qty, px, ts + SLOB_NS_PER_MIN);
	h_pump(h);
}

static void test_drawdown_boundary(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	char err[128];
	slob_risk_params_default(&p);
	assert_int_equal(slob_risk_param_set(&p, "max_drawdown_pct", "10", err, sizeof(err)), 0);
	assert_int_equal(p.max_drawdown_bp, 1000);
	h_open(&h, &p, 1024, 4096);
	open_long(&h, 1, 1, 80000, T(0));
	/* 10 % of 50 000 = 5 000 USD = 1 000 NQ ticks on 1 contract */
	h_clock(&h, 1, T(2), 79001); /* 9.99 %: not tripped */
	h_pump(&h);
	struct slob_risk_view v = h_view(&h);
	assert_true(v.unrealised_cents == -499500);
	assert_false(v.breaker_tripped);
	assert_int_equal(h_count_cold(&h, SLOB_COLD_BREAKER), 0);
	h_clock(&h, 2, T(3), 79000); /* exactly 10 %: tripped */
	h_pump(&h);
	v = h_view(&h);
	assert_true(v.breaker_tripped);
	assert_int_equal(v.breaker_reason, SLOB_RISK_MAX_DRAWDOWN);
	const struct slob_cold *b = h_last_cold(&h, SLOB_COLD_BREAKER);
	assert_non_null(b);
	assert_int_equal(b->cls, SLOB_CLASS_TRADE);
	assert_int_equal(b->u.breaker.tripped, 1);
	assert_int_equal(b->u.breaker.reason, SLOB_RISK_MAX_DRAWDOWN);
	assert_int_equal(b->u.breaker.value, 1000);
	assert_string_equal(b->u.breaker.why, "Trading stopped: max drawdown reached");
	assert_string_equal(b->u.breaker.who, "risk");
	/* a partly filled entry is not cancelled (its SL/TP would go too) */
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_CANCEL), 0);
	/* latched: recovery of the price does not clear it */
	h_clock(&h, 3, T(4), 80500);
	h_long(&h, 2, T(4));
	h_pump(&h);
	assert_true(h_view(&h).breaker_tripped);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_MAX_DRAWDOWN);
	h_close(&h);
}

static void test_daily_loss_boundary(void **state)
{
	(void)state;
	for (int allowed = 0; allowed <= 1; allowed++) {
		struct slob_risk_params p;
		struct h h;
		char err[128];
		slob_risk_params_default(&p);
		/* loss of 199 ticks x 500 c = 995.00 USD */
		assert_int_equal(slob_risk_param_set(&p, "daily_loss_limit",
						     allowed ? "995.01" : "995.00", err,
						     sizeof(err)),
				 0);
		h_open(&h, &p, 1024, 4096);
		open_long(&h, 1, 1, 80000, T(0));
		h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_SL, 1, 1, 79801, T(2));
		h_pump(&h);
		struct slob_risk_view v = h_view(&h);
		assert_true(v.realised_cents == -99500);
		assert_true(v.daily_pnl_cents == -99500);
		h_long(&h, 2, T(3));
		h_pump(&h);
		assert_int_equal(h_last_reason(&h),
				 allowed ? SLOB_RISK_ACCEPTED : SLOB_RISK_DAILY_LOSS);
		if (!allowed) {
			/* next New York day: daily P&L starts again at 0 */
			h_long(&h, 3, nyt(20260311, 10, 0, 0));
			h_pump(&h);
			assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCEPTED);
			v = h_view(&h);
			assert_true(v.daily_pnl_cents == 0);
			assert_int_equal(v.trading_day, 20260311);
		}
		h_close(&h);
	}
}

static void test_max_concurrent_and_cancel(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	slob_risk_params_default(&p);
	p.max_concurrent_positions = 2;
	h_open(&h, &p, 1024, 4096);
	h_long(&h, 1, T(0));
	h_long(&h, 2, T(0));
	h_long(&h, 3, T(0)); /* third live bracket: blocked */
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_MAX_POSITIONS);
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_BRACKET), 2);
	h_exec(&h, SLOB_EXEC_CANCELLED, SLOB_ROLE_ENTRY, 1, 0, 0, T(1));
	h_long(&h, 4, T(1));
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCEPTED);
	assert_int_equal(h_view(&h).live_brackets, 2);
	h_close(&h);
}

/*
 * Two setups with the same direction, entry, stop and target while the first
 * bracket is live (entry working or position open): the second is refused
 * with its own reason and places nothing (the generated sample had such
 * pairs: two brackets, double exposure). Other levels, or the same levels
 * once the first bracket is gone, trade normally.
 */
static void test_duplicate_levels(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	slob_risk_params_default(&p);
	p.max_concurrent_positions = 8;
	h_open(&h, &p, 1024, 4096);
	h_setup(&h, 1, SLOB_LONG, 80000, 79960, 80100, T(0));
	h_setup(&h, 2, SLOB_LONG, 80000, 79960, 80100, T(0)); /* same levels: refused */
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_DUPLICATE_LEVELS);
	assert_string_equal(slob_risk_reason_name(SLOB_RISK_DUPLICATE_LEVELS), "duplicate_levels");
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_BRACKET), 1);
	assert_int_equal(h_count_reason(&h, SLOB_RISK_DUPLICATE_LEVELS), 1);
	const struct slob_cold *d = h_last_cold(&h, SLOB_COLD_DECISION);
	assert_true(d->u.decision.setup_id == 2);
	assert_int_equal(d->u.decision.qty, 0);
	/* any level different: a separate bracket */
	h_setup(&h, 3, SLOB_LONG, 80000, 79961, 80100, T(1));
	h_setup(&h, 4, SLOB_LONG, 80000, 79960, 80101, T(1));
	h_setup(&h, 5, SLOB_LONG, 80001, 79960, 80100, T(1));
	h_setup(&h, 6, SLOB_SHORT, 80000, 80040, 79900, T(1));
	h_pump(&h);
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_BRACKET), 4);
	assert_int_equal(h_view(&h).live_brackets, 5);
	/* entry of 1 cancelled: the levels are free again */
	h_exec(&h, SLOB_EXEC_CANCELLED, SLOB_ROLE_ENTRY, 1, 0, 0, T(2));
	h_setup(&h, 7, SLOB_LONG, 80000, 79960, 80100, T(2));
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCEPTED);
	/* 7's entry fills: an open position blocks the same levels too */
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_ENTRY, 7, 2, 80000, T(3));
	h_setup(&h, 8, SLOB_LONG, 80000, 79960, 80100, T(3));
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_DUPLICATE_LEVELS);
	/* flat after the target: free again */
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_TP, 7, 2, 80100, T(4));
	h_setup(&h, 9, SLOB_LONG, 80000, 79960, 80100, T(4));
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCEPTED);
	assert_int_equal(h_count_reason(&h, SLOB_RISK_DUPLICATE_LEVELS), 2);
	h_close(&h);
}

/*
 * Session-end flatten (flatten_at, off by default): the clock of the bar
 * closing at flatten_at cancels entries without a fill and closes each open
 * position once; no entry is accepted after it; the closing stop fill is
 * recorded as a FLATTEN exit.
 */
static void test_session_end_flatten(void **state)
{
	(void)state;
	char err[128];
	struct slob_risk_params p;
	struct h h;
	slob_risk_params_default(&p);
	assert_int_equal(p.flatten_at_min, -1);
	assert_int_equal(slob_risk_param_set(&p, "flatten_at", "25:00", err, sizeof(err)), -EINVAL);
	assert_int_equal(slob_risk_param_set(&p, "flatten_at", "15:50", err, sizeof(err)), 0);
	assert_int_equal(p.flatten_at_min, 15 * 60 + 50);
	{
		struct slob_risk_params q = p;
		assert_int_equal(slob_risk_param_set(&q, "flatten_at", "09:00", err, sizeof(err)), 0);
		assert_int_equal(slob_risk_params_validate(&q, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "flatten_at"));
		assert_int_equal(slob_risk_param_set(&q, "flatten_at", "off", err, sizeof(err)), 0);
		assert_int_equal(q.flatten_at_min, -1);
	}
	p.max_concurrent_positions = 4;
	h_open(&h, &p, 1024, 4096);
	int32_t day = 20260113;
	h_long(&h, 1, nyt(day, 15, 0, 0));
	h_long(&h, 2, nyt(day, 15, 0, 0));
	h_pump(&h);
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_ENTRY, 1, 2, 80000, nyt(day, 15, 2, 0));
	h_clock(&h, 1, nyt(day, 15, 48, 0), 80010); /* closes 15:49: nothing yet */
	h_pump(&h);
	struct slob_intent out[16];
	unsigned n = h_intents(&h, out, 16), nf = 0, nc = 0;
	for (unsigned i = 0; i < n; i++) {
		nf += out[i].kind == SLOB_INTENT_FLATTEN;
		nc += out[i].kind == SLOB_INTENT_CANCEL;
	}
	assert_int_equal(nf, 0);
	assert_int_equal(nc, 0);
	h_clock(&h, 2, nyt(day, 15, 49, 0), 80010); /* closes 15:50: flatten */
	h_clock(&h, 3, nyt(day, 15, 50, 0), 80010); /* once per position */
	h_pump(&h);
	n = h_intents(&h, out, 16);
	nf = nc = 0;
	for (unsigned i = 0; i < n; i++) {
		if (out[i].kind == SLOB_INTENT_FLATTEN) {
			nf++;
			assert_true(out[i].setup_id == 1);
			assert_int_equal(out[i].qty, 2);
			assert_int_equal(out[i].dir, SLOB_LONG);
			assert_true(out[i].clock_seq == 2);
		}
		if (out[i].kind == SLOB_INTENT_CANCEL) {
			nc++;
			assert_true(out[i].setup_id == 2);
		}
	}
	assert_int_equal(nf, 1);
	assert_int_equal(nc, 1);
	/* no new entry after flatten_at, though trading_end is 16:00 */
	h_long(&h, 3, nyt(day, 15, 51, 0));
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_OUTSIDE_HOURS);
	/* the stop, now a market order, fills: a FLATTEN exit */
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_SL, 1, 2, 80008, nyt(day, 15, 51, 1));
	h_pump(&h);
	const struct slob_cold *t = h_last_cold(&h, SLOB_COLD_TRADE);
	assert_non_null(t);
	assert_true(t->u.trade.setup_id == 1);
	assert_int_equal(t->u.trade.exit_role, SLOB_EXIT_FLATTEN);
	assert_int_equal(t->u.trade.exit_px, 80008);
	h_close(&h);
}

static void test_kill_switch_and_reset(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	struct slob_intent it[8];
	slob_risk_params_default(&p);
	h_open(&h, &p, 1024, 4096);
	h_long(&h, 1, T(0));
	h_pump(&h);
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_BRACKET), 1);
	assert_int_equal(slob_risk_set_kill_switch(h.r, true), 0);
	h_long(&h, 2, T(1));
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_KILL_SWITCH);
	assert_true(h_view(&h).kill_switch);
	/* the unfilled entry of setup 1 is cancelled */
	assert_int_equal(h_intents(&h, it, 8), 1);
	assert_int_equal(it[0].kind, SLOB_INTENT_CANCEL);
	assert_true(it[0].setup_id == 1);
	assert_int_equal(slob_risk_set_kill_switch(h.r, false), 0);
	h_long(&h, 3, T(2));
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCEPTED);
	/* two WARNING alerts, and no BREAKER record: the store's breaker state
	 * must not follow the kill switch */
	assert_int_equal(h_count_cold(&h, SLOB_COLD_BREAKER), 0);
	unsigned kills = 0;
	for (unsigned i = 0; i < h.ncold; i++)
		if (h.cold[i].type == SLOB_COLD_ALERT &&
		    strstr(h.cold[i].u.text.text, "Kill switch")) {
			assert_int_equal(h.cold[i].u.text.level, SLOB_LVL_WARNING);
			assert_int_equal(h.cold[i].cls, SLOB_CLASS_TRADE);
			kills++;
		}
	assert_int_equal(kills, 2);
	h_close(&h);
}

static void test_order_rate_breaker(void **state)
{
	(void)state;
	for (int edge = 0; edge <= 1; edge++) {
		struct slob_risk_params p;
		struct h h;
		struct slob_intent it[16];
		slob_risk_params_default(&p);
		p.order_rate_limit = 3;
		p.order_rate_window_s = 60;
		p.max_concurrent_positions = 20;
		h_open(&h, &p, 1024, 4096);
		int64_t t0 = T(0), s = SLOB_NS_PER_SEC;
		h_long(&h, 1, t0);
		h_long(&h, 2, t0 + s);
		h_long(&h, 3, t0 + 2 * s);
		/* 4th order exactly 60 s after the 1st: allowed; 1 ns earlier: runaway */
		h_long(&h, 4, edge ? t0 + 60 * s : t0 + 60 * s - 1);
		h_pump(&h);
		unsigned n = h_intents(&h, it, 16);
		if (edge) {
			assert_int_equal(n, 4);
			assert_false(h_view(&h).breaker_tripped);
			assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCEPTED);
		} else {
			/* 3 brackets, then the breaker cancels their unfilled entries */
			assert_int_equal(n, 6);
			for (unsigned i = 0; i < 3; i++)
				assert_int_equal(it[i].kind, SLOB_INTENT_BRACKET);
			for (unsigned i = 3; i < 6; i++)
				assert_int_equal(it[i].kind, SLOB_INTENT_CANCEL);
			assert_int_equal(h_last_reason(&h), SLOB_RISK_ORDER_RATE);
			assert_true(h_view(&h).breaker_tripped);
			assert_int_equal(h_view(&h).breaker_reason, SLOB_RISK_ORDER_RATE);
			/* a runaway burst of 1000 distinct setups: nothing more goes out */
			for (uint64_t i = 0; i < 1000; i++)
				h_long(&h, 100 + i, t0 + 61 * s);
			h_pump(&h);
			assert_int_equal(h_count_intents(&h, SLOB_INTENT_BRACKET), 0);
			assert_int_equal(h.st.stats->reasons[SLOB_RISK_ORDER_RATE], 1001);
			const struct slob_cold *b = h_last_cold(&h, SLOB_COLD_BREAKER);
			assert_non_null(b);
			assert_int_equal(b->u.breaker.reason, SLOB_RISK_ORDER_RATE);
			assert_int_equal(b->u.breaker.value, 3);
			assert_non_null(strstr(b->u.breaker.why, "order rate"));
			assert_int_equal(h_count_cold(&h, SLOB_COLD_BREAKER), 1);
		}
		h_close(&h);
	}
}

static void test_backpressure_and_health(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	slob_risk_params_default(&p);
	h_open(&h, &p, 1024, 4096);
	h.healthy = 0;
	h_long(&h, 1, T(0));
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_STORE_UNHEALTHY);
	h.healthy = 1;
	h_long(&h, 1, T(0));
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCEPTED);
	h_exec(&h, SLOB_EXEC_CONN, 0, 0, 0, 0, T(1));
	h_long(&h, 2, T(1));
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_DISCONNECTED);
	h_close(&h);

	/* cold ring of 2 slots not drained: trade records wait -> entries rejected */
	h_open(&h, &p, 1024, 2);
	h.cq.ring = &h.cold_ring;
	h_long(&h, 1, T(0));
	h.st.poll(&h.st);
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_ENTRY, 1, 1, 80000, T(1)); /* POSITION, RISK_STATE */
	h.st.poll(&h.st);
	assert_true(slob_coldq_backlogged(&h.cq));
	h_long(&h, 2, T(1));
	h.st.poll(&h.st);
	assert_int_equal(h.st.stats->reasons[SLOB_RISK_COLD_BACKLOG], 1);
	/* nothing lost: once drained, every trade record arrives in order */
	h_pump(&h);
	h_pump(&h);
	assert_false(slob_coldq_backlogged(&h.cq));
	assert_int_equal(h_count_cold(&h, SLOB_COLD_POSITION), 1);
	assert_int_equal(h_count_cold(&h, SLOB_COLD_RISK_STATE), 2);
	for (unsigned i = 1; i < h.ncold; i++)
		if (h.cold[i].cls == SLOB_CLASS_TRADE && h.cold[i - 1].cls == SLOB_CLASS_TRADE)
			assert_true(h.cold[i].seq > h.cold[i - 1].seq);
	h_close(&h);
}

static void test_bad_setups(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	slob_risk_params_default(&p);
	h_open(&h, &p, 1024, 4096);
	h_setup(&h, 0, SLOB_LONG, 80000, 79960, 80080, T(0));  /* id 0 */
	h_setup(&h, 5, SLOB_LONG, 80000, 80040, 80080, T(0));  /* SL above a long entry */
	h_setup(&h, 6, SLOB_SHORT, 80000, 79960, 79920, T(0)); /* SL below a short entry */
	h_setup(&h, 7, SLOB_LONG, 80000, 80000, 80080, T(0));  /* zero stop */
	h_setup(&h, 8, 0, 80000, 79960, 80080, T(0));	       /* no direction */
	h_pump(&h);
	assert_int_equal(h.st.stats->reasons[SLOB_RISK_BAD_SETUP], 5);
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_BRACKET), 0);
	h_close(&h);
}

/* ---- positions and P&L --------------------------------------------------------- */

static void test_partial_fills_take_profit(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	slob_risk_params_default(&p);
	h_open(&h, &p, 1024, 4096);
	h_long(&h, 1, T(0)); /* 2 contracts */
	h_pump(&h);
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_ENTRY, 1, 1, 80000, T(1));
	h_clock(&h, 1, T(1), 80010);
	h_pump(&h);
	struct slob_risk_view v = h_view(&h);
	assert_int_equal(v.position_qty, 1);
	assert_true(v.unrealised_cents == 10 * 500);
	assert_true(v.equity_cents == 5000000 + 5000);
	assert_true(v.peak_cents == 5005000);
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_ENTRY, 1, 1, 80002, T(2));
	h_pump(&h);
	v = h_view(&h);
	assert_int_equal(v.position_qty, 2);
	assert_true(v.unrealised_cents == (80010LL * 2 - 160002) * 500);
	const struct slob_cold *pos = h_last_cold(&h, SLOB_COLD_POSITION);
	assert_int_equal(pos->u.position.qty, 2);
	assert_int_equal(pos->u.position.avg_px, 80001);
	assert_int_equal(pos->u.position.open, 1);
	/* TP in two parts */
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_TP, 1, 1, 80080, T(3));
	h_pump(&h);
	assert_int_equal(h_view(&h).position_qty, 1);
	assert_int_equal(h_count_cold(&h, SLOB_COLD_TRADE), 0);
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_TP, 1, 1, 80080, T(4));
	h_pump(&h);
	v = h_view(&h);
	assert_int_equal(v.position_qty, 0);
	assert_int_equal(v.live_brackets, 0);
	assert_true(v.realised_cents == (80080LL * 2 - 160002) * 500); /* 79 000 c */
	assert_true(v.unrealised_cents == 0);
	assert_true(v.equity_cents == 5079000);
	assert_true(v.peak_cents == 5079000);
	const struct slob_cold *t = h_last_cold(&h, SLOB_COLD_TRADE);
	assert_non_null(t);
	assert_int_equal(t->cls, SLOB_CLASS_TRADE);
	assert_true(t->u.trade.setup_id == 1);
	assert_int_equal(t->u.trade.qty, 2);
	assert_int_equal(t->u.trade.entry_px, 80001);
	assert_int_equal(t->u.trade.exit_px, 80080);
	assert_int_equal(t->u.trade.exit_role, SLOB_ROLE_TP);
	assert_true(t->u.trade.pnl_cents == 79000);
	assert_true(t->u.trade.entry_ns == T(1));
	assert_true(t->u.trade.exit_ns == T(4));
	assert_int_equal(t->u.trade.dir, SLOB_LONG);
	pos = h_last_cold(&h, SLOB_COLD_POSITION);
	assert_int_equal(pos->u.position.open, 0);
	const struct slob_cold *rs = h_last_cold(&h, SLOB_COLD_RISK_STATE);
	assert_true(rs->u.risk.equity_cents == 5079000);
	assert_true(rs->u.risk.realised_cents == 79000);
	assert_int_equal(h_count_cold(&h, SLOB_COLD_FILL), 0); /* the sender records fills */
	assert_int_equal(h_view(&h).trades, 1);
	h_close(&h);
}

static void test_short_stop_out(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	slob_risk_params_default(&p);
	h_open(&h, &p, 1024, 4096);
	h_setup(&h, 2, SLOB_SHORT, 80000, 80040, 79920, T(0)); /* 2 contracts */
	h_pump(&h);
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_ENTRY, 2, 2, 80000, T(1));
	h_clock(&h, 1, T(1), 79990);
	h_pump(&h);
	assert_int_equal(h_view(&h).position_qty, -2);
	assert_true(h_view(&h).unrealised_cents == 2 * 10 * 500);
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_SL, 2, 1, 80040, T(2));
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_SL, 2, 1, 80041, T(2));  /* slippage */
	h_exec(&h, SLOB_EXEC_CANCELLED, SLOB_ROLE_TP, 2, 0, 0, T(2)); /* OCA: no alarm */
	h_pump(&h);
	struct slob_risk_view v = h_view(&h);
	assert_int_equal(v.position_qty, 0);
	assert_true(v.realised_cents == -(40 + 41) * 500);
	assert_true(v.equity_cents == 5000000 - 40500);
	assert_true(v.peak_cents == 5010000); /* the unrealised high counted */
	assert_true(v.daily_pnl_cents == -40500);
	const struct slob_cold *t = h_last_cold(&h, SLOB_COLD_TRADE);
	assert_non_null(t);
	assert_true(t->u.trade.pnl_cents == -40500);
	assert_int_equal(t->u.trade.exit_role, SLOB_ROLE_SL);
	assert_int_equal(t->u.trade.exit_px, 80040); /* floor of the average 80040.5 */
	assert_int_equal(t->u.trade.dir, SLOB_SHORT);
	const struct slob_cold *a = h_last_cold(&h, SLOB_COLD_ALERT);
	assert_null(a);
	h_close(&h);
}

static void test_multi_contract_exit_and_breakeven(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	struct slob_intent it[8];
	slob_risk_params_default(&p);
	h_open(&h, &p, 1024, 4096);
	h_setup(&h, 5, SLOB_LONG, 80000, 79980, 80040, T(0)); /* 5-pt stop: 5 contracts */
	h_pump(&h);
	assert_int_equal(h_intents(&h, it, 8), 1);
	assert_int_equal(it[0].qty, 5);
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_ENTRY, 5, 2, 80000, T(1));
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_ENTRY, 5, 1, 80003, T(1)); /* 3 of 5, avg 80001 */
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_SL, 5, 2, 79980, T(2));	/* 2 of 3 out */
	h_pump(&h);
	struct slob_risk_view v = h_view(&h);
	assert_int_equal(v.position_qty, 1);
	/* cost 240003 ticks; 2 of 3 contracts carry 160002 of it */
	assert_true(v.realised_cents == (79980LL * 2 - 160002) * 500);
	const struct slob_cold *pos = h_last_cold(&h, SLOB_COLD_POSITION);
	assert_int_equal(pos->u.position.qty, 1);
	assert_int_equal(pos->u.position.avg_px, 80001);
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_TP, 5, 1, 80043, T(3));
	h_pump(&h);
	v = h_view(&h);
	assert_true(v.realised_cents == 0); /* -21 000 + 21 000 */
	const struct slob_cold *t = h_last_cold(&h, SLOB_COLD_TRADE);
	assert_non_null(t);
	assert_true(t->u.trade.pnl_cents == 0);
	assert_int_equal(t->u.trade.qty, 3);
	assert_int_equal(t->u.trade.entry_px, 80001);
	assert_int_equal(t->u.trade.exit_role, SLOB_ROLE_TP);
	/* flat with 2 contracts of the entry still working: they are cancelled */
	assert_int_equal(h_intents(&h, it, 8), 1);
	assert_int_equal(it[0].kind, SLOB_INTENT_CANCEL);
	assert_int_equal(it[0].qty, 2);
	h_close(&h);
}

static void test_cancel_after_bars_and_partial(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	struct slob_intent it[64];
	slob_risk_params_default(&p);
	p.cancel_after_bars = 3;
	h_open(&h, &p, 1024, 4096);
	h_long(&h, 1, T(0)); /* never filled */
	h_long(&h, 2, T(0)); /* 1 of 2 filled */
	h_pump(&h);
	h_intents(&h, it, 64);
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_ENTRY, 2, 1, 80000, T(1));
	h_pump(&h);
	/* the 3rd clock after placement cancels, before it is forwarded */
	h_clock(&h, 1, T(1), 80000);
	h_clock(&h, 2, T(2), 80000);
	h_pump(&h);
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_CANCEL), 0);
	h_clock(&h, 3, T(3), 80000);
	h_pump(&h);
	unsigned n = h_intents(&h, it, 64);
	/* only the entry with no fill is cancelled: cancelling a partly filled
	 * parent would take its SL/TP with it (IB, paper broker) */
	assert_int_equal(n, 2);
	assert_int_equal(it[0].kind, SLOB_INTENT_CANCEL); /* before clock 3 */
	assert_true(it[0].setup_id == 1);
	assert_int_equal(it[0].qty, 2);
	assert_int_equal(it[1].kind, SLOB_INTENT_CLOCK);
	assert_true(it[1].clock_seq == 3);
	/* no second cancel on later bars */
	for (uint64_t i = 4; i < 30; i++)
		h_clock(&h, i, T((int)i), 80000);
	h_pump(&h);
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_CANCEL), 0);
	h_exec(&h, SLOB_EXEC_CANCELLED, SLOB_ROLE_ENTRY, 1, 0, 0, T(30));
	h_pump(&h);
	struct slob_risk_view v = h_view(&h);
	assert_int_equal(v.live_brackets, 1); /* setup 2 keeps its 1 contract */
	assert_int_equal(v.position_qty, 1);
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_TP, 2, 1, 80080, T(31));
	h_pump(&h);
	assert_int_equal(h_view(&h).live_brackets, 0);
	assert_true(h_last_cold(&h, SLOB_COLD_TRADE)->u.trade.pnl_cents == 80 * 500);
	n = h_intents(&h, it, 64); /* flat: now the unfilled rest goes */
	assert_int_equal(n, 1);
	assert_int_equal(it[0].kind, SLOB_INTENT_CANCEL);
	assert_true(it[0].setup_id == 2);
	assert_int_equal(it[0].qty, 1);

	/* partial entry, then the filled part exits: the rest is cancelled */
	h_long(&h, 3, T(36));
	h_pump(&h);
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_ENTRY, 3, 1, 80000, T(37));
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_SL, 3, 1, 79960, T(38));
	h_pump(&h);
	n = h_intents(&h, it, 64);
	assert_int_equal(n, 2);
	assert_int_equal(it[1].kind, SLOB_INTENT_CANCEL);
	assert_true(it[1].setup_id == 3);
	assert_true(h_last_cold(&h, SLOB_COLD_TRADE)->u.trade.pnl_cents == -40 * 500);
	h_close(&h);
}

static void test_reject_unknown_reconciled(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	slob_risk_params_default(&p);
	p.order_rate_limit = 100; /* the repeats below are not a runaway here */
	h_open(&h, &p, 1024, 4096);
	h_long(&h, 1, T(0));
	h_pump(&h);
	h_exec(&h, SLOB_EXEC_REJECTED, SLOB_ROLE_ENTRY, 1, 0, 0, T(1));
	h_pump(&h);
	/* the sender alerts on the rejection; risk frees the slot, no retry */
	assert_null(h_last_cold(&h, SLOB_COLD_ALERT));
	assert_int_equal(h_view(&h).live_brackets, 0);
	assert_int_equal(h_view(&h).rejects_by_broker, 1);
	/* the detector repeating the setup gets no retry */
	for (int i = 0; i < 10; i++)
		h_long(&h, 1, T(2));
	h_pump(&h);
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_BRACKET), 1);

	/* reconciliation adopts a working entry of ours: tracked, never re-sent,
	 * its later fill is attributed (no unknown, no breaker); no money moves */
	struct slob_exec rc = {.kind = SLOB_EXEC_RECONCILED,
			       .role = SLOB_ROLE_ENTRY,
			       .dir = 1,
			       .setup_id = 9,
			       .qty = 2,
			       .px = 80100,
			       .ts_ns = T(3)};
	assert_true(slob_ring_push_spsc(&h.exec, &rc));
	rc.role = SLOB_ROLE_SL;
	rc.px = 80060;
	assert_true(slob_ring_push_spsc(&h.exec, &rc));
	rc.setup_id = 0; /* aggregate position check: ignored */
	assert_true(slob_ring_push_spsc(&h.exec, &rc));
	h_pump(&h);
	struct slob_risk_view v = h_view(&h);
	assert_int_equal(v.position_qty, 0);
	assert_int_equal(v.live_brackets, 1);
	assert_true(v.equity_cents == 5000000);
	h_long(&h, 9, T(3));
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_DUPLICATE);
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_ENTRY, 9, 2, 80100, T(3));
	h_pump(&h);
	v = h_view(&h);
	assert_int_equal(v.position_qty, 2);
	assert_false(v.breaker_tripped);
	assert_int_equal(h_last_cold(&h, SLOB_COLD_POSITION)->u.position.sl, 80060);

	/* an unknown broker position (P1-4) halts new entries; the order
	 * connection and the sender have recorded and alerted it already */
	struct slob_exec x = {.kind = SLOB_EXEC_UNKNOWN, .qty = 3, .ts_ns = T(4)};
	snprintf(x.order_ref, sizeof(x.order_ref), "MANUAL_123");
	assert_true(slob_ring_push_spsc(&h.exec, &x));
	h_pump(&h);
	assert_int_equal(h_count_cold(&h, SLOB_COLD_UNKNOWN_BROKER), 0);
	assert_true(h_view(&h).breaker_tripped);
	assert_int_equal(h_view(&h).unknown_broker, 1);
	/* a fill risk cannot attribute is recorded by risk itself */
	x.kind = SLOB_EXEC_FILL;
	x.setup_id = 4242;
	x.qty = 1;
	x.px = 80000;
	assert_true(slob_ring_push_spsc(&h.exec, &x));
	h_pump(&h);
	assert_int_equal(h_count_cold(&h, SLOB_COLD_UNKNOWN_BROKER), 1);
	assert_int_equal(h_view(&h).unknown_broker, 2);
	assert_int_equal(h_view(&h).breaker_reason, SLOB_RISK_UNKNOWN_BROKER);
	h_long(&h, 10, T(5));
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_UNKNOWN_BROKER);
	const struct slob_cold *u = h_last_cold(&h, SLOB_COLD_UNKNOWN_BROKER);
	assert_int_equal(u->cls, SLOB_CLASS_TRADE);
	assert_int_equal(u->u.text.level, SLOB_LVL_CRITICAL);
	assert_non_null(strstr(u->u.text.text, "MANUAL_123"));
	/* a protective order rejected while the position is open: CRITICAL alert */
	h_exec(&h, SLOB_EXEC_REJECTED, SLOB_ROLE_SL, 9, 0, 0, T(6));
	h_pump(&h);
	const struct slob_cold *a = h_last_cold(&h, SLOB_COLD_ALERT);
	assert_non_null(a);
	assert_int_equal(a->u.text.level, SLOB_LVL_CRITICAL);
	assert_int_equal(a->u.text.code, SLOB_ALERT_ORDER_REJECTED);
	assert_non_null(strstr(a->u.text.text, "unprotected"));
	h_close(&h);
}

/* ---- restart ------------------------------------------------------------------- */

/* What persist's loader does: the last RISK_STATE, the last BREAKER change
 * and the open POSITION rows, from the cold records. */
static void snapshot_from_cold(struct h *h, struct slob_risk_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	const struct slob_cold *rs = h_last_cold(h, SLOB_COLD_RISK_STATE);
	assert_non_null(rs);
	s->equity_cents = rs->u.risk.equity_cents;
	s->unrealised_cents = rs->u.risk.unrealised_cents;
	s->peak_cents = rs->u.risk.peak_cents;
	s->daily_pnl_cents = rs->u.risk.daily_pnl_cents;
	s->trading_day = rs->u.risk.trading_day;
	for (unsigned i = 0; i < h->ncold; i++) {
		const struct slob_cold *c = &h->cold[i];
		if (c->type == SLOB_COLD_BREAKER) {
			s->breaker_tripped = c->u.breaker.tripped;
			s->breaker_reason = c->u.breaker.reason;
			s->breaker_value = c->u.breaker.value;
		}
		if (c->type == SLOB_COLD_POSITION) {
			unsigned j;
			for (j = 0; j < s->npositions; j++)
				if (s->positions[j].setup_id == c->u.position.setup_id)
					break;
			if (!c->u.position.open) {
				if (j < s->npositions)
					s->positions[j] = s->positions[--s->npositions];
				continue;
			}
			if (j == s->npositions)
				s->npositions++;
			struct slob_risk_pos_snap *ps = &s->positions[j];
			ps->setup_id = c->u.position.setup_id;
			ps->qty = c->u.position.qty < 0 ? -c->u.position.qty : c->u.position.qty;
			ps->dir = c->u.position.qty < 0 ? SLOB_SHORT : SLOB_LONG;
			ps->avg_px = c->u.position.avg_px;
			ps->sl = c->u.position.sl;
			ps->tp = c->u.position.tp;
		}
	}
}

static void test_breaker_survives_restart(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	struct slob_risk_snapshot snap;
	slob_risk_params_default(&p);
	p.max_drawdown_bp = 500;      /* 5 %: 2 500 USD */
	p.daily_loss_limit_cents = 0; /* off: the reset below must open the gate */
	h_open(&h, &p, 1024, 4096);
	open_long(&h, 1, 2, 80000, T(0));
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_SL, 1, 1, 79700, T(2)); /* -1 500 USD */
	h_clock(&h, 1, T(2), 79700);				     /* open 1: -1 500 USD */
	h_pump(&h);
	struct slob_risk_view before = h_view(&h);
	assert_true(before.breaker_tripped); /* 3 000 USD = 6 % from 50 000 */
	assert_true(before.equity_cents == 5000000 - 300000);
	snapshot_from_cold(&h, &snap);
	assert_true(snap.breaker_tripped);
	assert_int_equal(snap.breaker_reason, SLOB_RISK_MAX_DRAWDOWN);
	assert_int_equal(snap.npositions, 1);
	assert_int_equal(snap.positions[0].qty, 1);
	h_close(&h);

	/* restart */
	h_open(&h, &p, 1024, 4096);
	assert_int_equal(slob_risk_restore(h.r, &snap), 0);
	assert_int_equal(slob_risk_preload_setup(h.r, 1), 0);
	struct slob_risk_view v = h_view(&h);
	assert_true(v.breaker_tripped);
	assert_true(v.peak_cents == 5000000);
	assert_int_equal(v.position_qty, 1);
	assert_true(v.daily_pnl_cents ==
		    before.daily_pnl_cents + 150000); /* unrealised re-marked later */
	h_clock(&h, 10, T(3), 79700);
	h_long(&h, 2, T(3));
	h_pump(&h);
	v = h_view(&h);
	assert_true(v.equity_cents == before.equity_cents);
	assert_true(v.daily_pnl_cents == before.daily_pnl_cents);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_MAX_DRAWDOWN);
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_BRACKET), 0);
	assert_int_equal(slob_risk_restore(h.r, &snap), -EBUSY);
	/* operator reset, recorded with who and why */
	assert_int_equal(slob_risk_request_reset(h.r, "alice", "drawdown was a data error"), 0);
	h_long(&h, 3, T(4));
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCEPTED);
	const struct slob_cold *b = h_last_cold(&h, SLOB_COLD_BREAKER);
	assert_non_null(b);
	assert_int_equal(b->u.breaker.tripped, 0);
	assert_int_equal(b->u.breaker.reason, 0);
	assert_string_equal(b->u.breaker.who, "alice");
	assert_string_equal(b->u.breaker.why, "drawdown was a data error");
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	assert_true(b->ts_ns > (int64_t)(now.tv_sec - 60) * SLOB_NS_PER_SEC); /* when: wall clock */
	assert_true(b->ts_ns <= (int64_t)now.tv_sec * SLOB_NS_PER_SEC + now.tv_nsec);
	v = h_view(&h);
	assert_false(v.breaker_tripped);
	assert_true(v.peak_cents == v.equity_cents);
	/* the restored position closes with the right P&L */
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_SL, 1, 1, 79960, T(5));
	h_pump(&h);
	assert_true(h_last_cold(&h, SLOB_COLD_TRADE)->u.trade.pnl_cents == -40 * 500);
	h_close(&h);

	/* a snapshot with more open positions than the table is refused */
	struct slob_risk_snapshot *big = calloc(1, sizeof(*big));
	big->equity_cents = 5000000;
	big->npositions = SLOB_RISK_SNAP_MAX_POS + 1;
	h_open(&h, &p, 1024, 4096);
	assert_int_equal(slob_risk_restore(h.r, big), -ENOSPC);
	big->npositions = 1;
	big->positions[0] = (struct slob_risk_pos_snap){.setup_id = 5, .qty = 0, .dir = 1};
	assert_int_equal(slob_risk_restore(h.r, big), -EINVAL);
	free(big);
	h_close(&h);
}

/* ---- determinism protocol -------------------------------------------------------- */

static void test_clock_ack_and_end(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	struct slob_intent it[8];
	slob_risk_params_default(&p);
	p.wait_for_clock_ack = 1;
	p.max_concurrent_positions = 1;
	h_open(&h, &p, 1024, 4096);
	h_long(&h, 1, T(0));
	h_clock(&h, 10, T(0), 80000);
	h_long(&h, 2, T(0)); /* must wait for the ack of clock 10 */
	h_pump(&h);
	unsigned n = h_intents(&h, it, 8);
	assert_int_equal(n, 2);
	assert_int_equal(it[0].kind, SLOB_INTENT_BRACKET);
	assert_int_equal(it[1].kind, SLOB_INTENT_CLOCK);
	assert_true(it[1].clock_seq == 10);
	assert_int_equal(it[1].mark_px, 80000);
	assert_int_equal(h_count_cold(&h, SLOB_COLD_DECISION), 1);
	/* the paper broker fills setup 1 and closes it at TP before acking 10:
	 * the decision for setup 2 must see the slot free again */
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_ENTRY, 1, 2, 80000, T(0));
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_TP, 1, 2, 80080, T(0));
	h_exec(&h, SLOB_EXEC_CLOCK_ACK, 0, 0, 10, 0, T(0));
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCEPTED);
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_BRACKET), 1);
	/* the next clock waits for nothing (10 is acked); what follows it waits
	 * for its ack, the END too; done once END is out and 11 acked */
	h_clock(&h, 11, T(1), 80000);
	h_clock(&h, 12, T(2), 80000);
	struct slob_sig end = {.kind = SLOB_SIG_END};
	assert_true(slob_ring_push_spsc(&h.sig, &end));
	h_pump(&h);
	n = h_intents(&h, it, 8);
	assert_int_equal(n, 1);
	assert_true(it[0].clock_seq == 11);
	assert_false(h.st.done(&h.st));
	h_exec(&h, SLOB_EXEC_CLOCK_ACK, 0, 0, 11, 0, T(1));
	h_pump(&h);
	n = h_intents(&h, it, 8);
	assert_int_equal(n, 1);
	assert_true(it[0].clock_seq == 12);
	assert_false(h.st.done(&h.st));
	h_exec(&h, SLOB_EXEC_CLOCK_ACK, 0, 0, 12, 0, T(2));
	h_pump(&h);
	n = h_intents(&h, it, 8);
	assert_int_equal(n, 1);
	assert_int_equal(it[0].kind, SLOB_INTENT_END);
	assert_true(h.st.done(&h.st));
	h_close(&h);
}

static void test_intent_ring_full_holds_signals(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	slob_risk_params_default(&p);
	p.max_concurrent_positions = 50;
	p.order_rate_limit = 1000;
	p.cancel_after_bars = 0; /* never: only brackets and clocks come out */
	h_open(&h, &p, 4, 4096); /* 3 usable slots */
	for (uint64_t i = 1; i <= 40; i++) {
		h_long(&h, i, T(0));
		h_clock(&h, i, T(0), 80000);
	}
	uint64_t next_id = 1, next_seq = 1;
	unsigned got = 0;
	for (int round = 0; round < 1000 && got < 80; round++) {
		h.st.poll(&h.st);
		h_drain_cold(&h);
		const struct slob_intent *it;
		while ((it = slob_ring_peek_spsc(&h.intent, 0)) != NULL) {
			if (it->kind == SLOB_INTENT_BRACKET)
				assert_true(it->setup_id == next_id++);
			else
				assert_true(it->clock_seq == next_seq++);
			assert_true((got % 2 == 0) == (it->kind == SLOB_INTENT_BRACKET));
			slob_ring_release_spsc(&h.intent, 1);
			got++;
		}
	}
	assert_int_equal(got, 80);
	assert_true(h.st.stats->backpressure > 0);
	/* END behind a full intent ring: not done until it is actually forwarded */
	for (uint64_t i = 41; i <= 43; i++)
		h_clock(&h, i, T(1), 80000);
	struct slob_sig end = {.kind = SLOB_SIG_END};
	assert_true(slob_ring_push_spsc(&h.sig, &end));
	h_pump(&h);
	assert_false(h.st.done(&h.st));
	struct slob_intent last[8];
	assert_int_equal(h_intents(&h, last, 8), 3);
	h_pump(&h);
	assert_true(h.st.done(&h.st));
	assert_int_equal(h_intents(&h, last, 8), 1);
	assert_int_equal(last[0].kind, SLOB_INTENT_END);
	h_close(&h);
}

/* ---- determinism across schedules ------------------------------------------------ */

/* A tiny paper broker: fills entries/exits against each clock's mark. */
struct mini_br {
	uint64_t id;
	int32_t qty, entry, sl, tp, dir;
	int filled, live;
};

struct mini {
	struct mini_br b[64];
	unsigned n;
};

static void mini_exec(struct h *h, uint32_t kind, uint8_t role, const struct mini_br *b, int32_t px,
		      uint64_t seq, int64_t ts)
{
	struct slob_exec x = {.kind = kind,
			      .role = role,
			      .setup_id = b ? b->id : 0,
			      .qty = b ? b->qty : 0,
			      .px = px,
			      .clock_seq = seq,
			      .ts_ns = ts,
			      .dir = b ? (int8_t)b->dir : 0};
	assert_true(slob_ring_push_spsc(&h->exec, &x));
}

/* Handles at most `max` intents; returns how many. */
static unsigned mini_step(struct h *h, struct mini *m, unsigned max)
{
	unsigned n = 0;
	const struct slob_intent *it;
	while (n < max && (it = slob_ring_peek_spsc(&h->intent, 0)) != NULL) {
		if (it->kind == SLOB_INTENT_BRACKET && m->n < 64) {
			m->b[m->n++] = (struct mini_br){.id = it->setup_id,
							.qty = it->qty,
							.entry = it->entry,
							.sl = it->sl,
							.tp = it->tp,
							.dir = it->dir,
							.live = 1};
		} else if (it->kind == SLOB_INTENT_CANCEL) {
			for (unsigned i = 0; i < m->n; i++)
				if (m->b[i].id == it->setup_id && m->b[i].live && !m->b[i].filled) {
					m->b[i].live = 0;
					mini_exec(h, SLOB_EXEC_CANCELLED, SLOB_ROLE_ENTRY, &m->b[i],
						  0, 0, it->ts_ns);
				}
		} else if (it->kind == SLOB_INTENT_CLOCK) {
			int32_t px = it->mark_px;
			for (unsigned i = 0; i < m->n; i++) {
				struct mini_br *b = &m->b[i];
				if (!b->live)
					continue;
				if (!b->filled && (b->dir > 0 ? px <= b->entry : px >= b->entry)) {
					b->filled = 1;
					mini_exec(h, SLOB_EXEC_FILL, SLOB_ROLE_ENTRY, b, b->entry,
						  0, it->ts_ns);
				} else if (b->filled && (b->dir > 0 ? px >= b->tp : px <= b->tp)) {
					b->live = 0;
					mini_exec(h, SLOB_EXEC_FILL, SLOB_ROLE_TP, b, b->tp, 0,
						  it->ts_ns);
				} else if (b->filled && (b->dir > 0 ? px <= b->sl : px >= b->sl)) {
					b->live = 0;
					mini_exec(h, SLOB_EXEC_FILL, SLOB_ROLE_SL, b, b->sl, 0,
						  it->ts_ns);
				}
			}
			mini_exec(h, SLOB_EXEC_CLOCK_ACK, 0, NULL, 0, it->clock_seq, it->ts_ns);
		}
		slob_ring_release_spsc(&h->intent, 1);
		n++;
	}
	return n;
}

/* Runs one replay; returns a hash of risk's cold records and intents seen. */
static uint64_t replay_digest(int lazy)
{
	struct slob_risk_params p;
	struct h h;
	struct mini m = {.n = 0};
	slob_risk_params_default(&p);
	p.wait_for_clock_ack = 1;
	p.cancel_after_bars = 4;
	p.max_concurrent_positions = 2;
	p.daily_loss_limit_cents = 0;
	p.max_drawdown_bp = 0;
	h_open(&h, &p, 1024, 65536);
	uint64_t rng = 12345;
	int32_t px = 80000;
	for (int bar = 0; bar < 300; bar++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		px += (int32_t)((rng >> 33) % 41) - 20;
		h_clock(&h, (uint64_t)bar + 1, T(bar), px);
		if (bar % 7 == 3) {
			int dir = (rng >> 20) & 1 ? SLOB_LONG : SLOB_SHORT;
			h_setup(&h, 1000 + (uint64_t)bar, dir, px, px - dir * 40, px + dir * 60,
				T(bar));
		}
	}
	struct slob_sig end = {.kind = SLOB_SIG_END};
	assert_true(slob_ring_push_spsc(&h.sig, &end));
	uint64_t hash = 0, chash = 0; /* intents, cold records: two chains */
	unsigned hashed = 0;
	for (int round = 0; round < 200000 && !h.st.done(&h.st); round++) {
		assert_true(h.st.poll(&h.st) >= 0);
		if (!lazy || round % 3 == 2) {
			/* peek-hash intents before the broker consumes them */
			for (unsigned i = 0;; i++) {
				const struct slob_intent *it = slob_ring_peek_spsc(&h.intent, i);
				if (it == NULL || (lazy && i >= 1))
					break;
				hash = XXH3_64bits_withSeed(it, sizeof(*it), hash);
			}
			mini_step(&h, &m, lazy ? 1 : 1000);
		}
		h_drain_cold(&h);
		for (; hashed < h.ncold; hashed++)
			chash = XXH3_64bits_withSeed(&h.cold[hashed], sizeof(h.cold[0]), chash);
	}
	assert_true(h.st.done(&h.st));
	h_drain_cold(&h);
	for (; hashed < h.ncold; hashed++)
		chash = XXH3_64bits_withSeed(&h.cold[hashed], sizeof(h.cold[0]), chash);
	/* what the broker has not taken yet (the END) */
	const struct slob_intent *rest;
	while ((rest = slob_ring_peek_spsc(&h.intent, 0)) != NULL) {
		hash = XXH3_64bits_withSeed(rest, sizeof(*rest), hash);
		slob_ring_release_spsc(&h.intent, 1);
	}
	struct slob_risk_view v = h_view(&h);
	assert_true(v.brackets > 5);
	assert_true(v.trades > 1);
	assert_true(v.cancels > 0);
	h_close(&h);
	return hash ^ (chash * 0x9E3779B97F4A7C15ull);
}

static void test_deterministic_across_schedules(void **state)
{
	(void)state;
	uint64_t eager = replay_digest(0), lazy = replay_digest(1);
	assert_true(eager == lazy);
}

/* ---- control path from another thread ------------------------------------------ */

struct ctl_arg {
	slob_risk_t *r;
	int n;
	int done; /* atomic */
};

static void *ctl_thread(void *p)
{
	struct ctl_arg *a = p;
	for (int i = 0; i < a->n; i++) {
		/* kill on, kill off, reset; -EAGAIN while the 16-slot ring is full */
		while (slob_risk_set_kill_switch(a->r, true) == -EAGAIN)
			sched_yield();
		while (slob_risk_set_kill_switch(a->r, false) == -EAGAIN)
			sched_yield();
		while (slob_risk_request_reset(a->r, "ctl", "thread test") == -EAGAIN)
			sched_yield();
	}
	__atomic_store_n(&a->done, 1, __ATOMIC_RELEASE); /* partner: acquire below */
	return NULL;
}

static void test_control_from_other_thread(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	slob_risk_params_default(&p);
	h_open(&h, &p, 1024, 65536);
	struct ctl_arg a = {.r = h.r, .n = 300};
	pthread_t t;
	unsigned resets = 0;
	assert_int_equal(pthread_create(&t, NULL, ctl_thread, &a), 0);
	for (int idle_after_done = 0; idle_after_done < 3;) {
		int w = h.st.poll(&h.st);
		h_drain_cold(&h);
		for (unsigned i = 0; i < h.ncold; i++)
			resets +=
			    h.cold[i].type == SLOB_COLD_BREAKER && !h.cold[i].u.breaker.tripped;
		h.ncold = 0;
		if (__atomic_load_n(&a.done, __ATOMIC_ACQUIRE) && w == 0)
			idle_after_done++;
	}
	pthread_join(t, NULL);
	assert_int_equal(resets, 300);	      /* every request applied, none lost */
	assert_false(h_view(&h).kill_switch); /* the last switch request was "off" */
	assert_false(h_view(&h).breaker_tripped);
	h_long(&h, 1, T(0));
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCEPTED);
	h_close(&h);
}

/* ---- parameters ------------------------------------------------------------------ */


/* ---- broker account (live order session) ------------------------------------------ */

#define ACCT_T0 (1000 * SLOB_NS_PER_SEC) /* monotonic time of the first figures */

/* A gate fed by a live order session (account figures required). */
static void h_open_acct(struct h *h, const struct slob_risk_params *p)
{
	char err[256];
	h_open(h, p, 1024, 4096);
	slob_risk_free(h->r);
	h->io.account_feed = true;
	assert_int_equal(slob_risk_create(&h->r, &h->p, &h->io, err, sizeof(err)), 0);
	slob_risk_stage_init(h->r, &h->st);
}

/* Account figures in USD (margin_1 < 0: no what-if answer yet). */
static void h_account(struct h *h, double net_liq, double available, double excess,
		      double margin_1, int64_t summary_ns)
{
	struct slob_exec x = {.kind = SLOB_EXEC_ACCOUNT, .recv_ns = summary_ns};
	x.acct.net_liq_cents = (int64_t)(net_liq * 100);
	x.acct.available_cents = (int64_t)(available * 100);
	x.acct.excess_liq_cents = (int64_t)(excess * 100);
	x.acct.have = SLOB_ACCT_NET_LIQ | SLOB_ACCT_AVAILABLE | SLOB_ACCT_EXCESS_LIQ;
	if (margin_1 >= 0) {
		x.acct.margin_1_cents = (int64_t)(margin_1 * 100);
		x.acct.have |= SLOB_ACCT_MARGIN_1;
	}
	x.acct.summary_ns = summary_ns;
	memcpy(x.acct.currency, "USD", 4);
	assert_true(slob_ring_push_spsc(&h->exec, &x));
}

/* The long 10-point setup of h_long, decided at monotonic instant now_ns. */
static void h_long_at(struct h *h, uint64_t id, int64_t ts, int64_t now_ns)
{
	struct slob_sig s = {.kind = SLOB_SIG_SETUP, .ts_ns = ts, .recv_ns = now_ns};
	s.setup.id = id;
	s.setup.dir = SLOB_LONG;
	/* levels apart per setup: equal levels would be refused as duplicate_levels */
	s.setup.entry = 80000 + 8 * (int32_t)id;
	s.setup.sl = s.setup.entry - 40;
	s.setup.tp = s.setup.entry + 80;
	assert_true(slob_ring_push_spsc(&h->sig, &s));
}

static unsigned h_alerts_with(struct h *h, const char *text)
{
	unsigned n = 0;
	for (unsigned i = 0; i < h->ncold; i++)
		n += h->cold[i].type == SLOB_COLD_ALERT && strstr(h->cold[i].u.text.text, text);
	return n;
}

/* Sizes follow risk.equity_source; the decision records the equity and its source. */
static void test_account_equity_source(void **state)
{
	(void)state;
	static const struct {
		const char *mode;
		double broker;
		int32_t qty;
		uint8_t src;
		int64_t eq;
	} rows[] = {
	    /* 10-point stop = 200 USD per contract at 1 % */
	    {"min", 100000, 2, SLOB_EQ_CONFIG, 5000000},   /* config 50 000 is lower */
	    {"min", 30000, 1, SLOB_EQ_BROKER, 3000000},    /* a withdrawal: broker lower */
	    {"broker", 100000, 5, SLOB_EQ_BROKER, 10000000},
	    {"broker", 30000, 1, SLOB_EQ_BROKER, 3000000},
	    {"config", 30000, 2, SLOB_EQ_CONFIG, 5000000}, /* broker ignored */
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct slob_risk_params p;
		struct h h;
		char err[128];
		struct slob_intent it[4];
		slob_risk_params_default(&p);
		assert_int_equal(slob_risk_param_set(&p, "equity_source", rows[i].mode, err,
						     sizeof(err)), 0);
		h_open_acct(&h, &p);
		h_account(&h, rows[i].broker, rows[i].broker, rows[i].broker, 1000, ACCT_T0);
		h_long_at(&h, 1, T(0), ACCT_T0 + SLOB_NS_PER_SEC);
		h_pump(&h);
		const struct slob_cold *d = h_last_cold(&h, SLOB_COLD_DECISION);
		assert_non_null(d);
		if (d->u.decision.reason != SLOB_RISK_ACCEPTED || d->u.decision.qty != rows[i].qty ||
		    d->u.decision.equity_src != rows[i].src ||
		    d->u.decision.equity_cents != rows[i].eq)
			fail_msg("row %zu: reason %u qty %d src %u equity %lld", i,
				 d->u.decision.reason, d->u.decision.qty, d->u.decision.equity_src,
				 (long long)d->u.decision.equity_cents);
		assert_int_equal(h_intents(&h, it, 4), 1);
		assert_int_equal(it[0].qty, rows[i].qty);
		h_close(&h);
	}
	/* paper / replay: no account feed, figures (if any) never size */
	struct slob_risk_params p;
	struct h h;
	char err[128];
	slob_risk_params_default(&p);
	assert_int_equal(slob_risk_param_set(&p, "equity_source", "broker", err, sizeof(err)), 0);
	h_open(&h, &p, 1024, 4096);
	h_long(&h, 1, T(0));
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCEPTED);
	assert_int_equal(h_last_cold(&h, SLOB_COLD_DECISION)->u.decision.equity_src,
			 SLOB_EQ_CONFIG);
	h_close(&h);
}

/* Missing or stale figures hold entries (one alert per episode); exits and
 * the fills of protective orders still go through. */
static void test_account_stale_holds_entries_only(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	slob_risk_params_default(&p);
	p.account_stale_s = 300;
	p.max_concurrent_positions = 4;
	h_open_acct(&h, &p);
	/* never received */
	h_long_at(&h, 1, T(0), ACCT_T0);
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCOUNT_STALE);
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_BRACKET), 0);
	assert_int_equal(h_alerts_with(&h, "No account data from the broker"), 1);
	/* figures without the per-contract margin (no what-if answer, none configured) */
	h_account(&h, 100000, 100000, 100000, -1, ACCT_T0);
	h_long_at(&h, 2, T(1), ACCT_T0 + SLOB_NS_PER_SEC);
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCOUNT_STALE);
	/* complete: accepted up to account_stale_s after the last figures */
	h_account(&h, 100000, 100000, 100000, 20000, ACCT_T0);
	h_long_at(&h, 3, T(2), ACCT_T0 + 300 * SLOB_NS_PER_SEC);
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCEPTED);
	assert_int_equal(h_alerts_with(&h, "Account data current again"), 1);
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_ENTRY, 3, 2, 80000, T(3));
	h_pump(&h);
	/* one nanosecond later than the limit: held, alerted once */
	h_long_at(&h, 4, T(4), ACCT_T0 + 300 * SLOB_NS_PER_SEC + 1);
	h_long_at(&h, 5, T(5), ACCT_T0 + 400 * SLOB_NS_PER_SEC);
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCOUNT_STALE);
	assert_int_equal(h.st.stats->reasons[SLOB_RISK_ACCOUNT_STALE], 4);
	assert_int_equal(h_alerts_with(&h, "Account data from the broker is stale"), 1);
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_BRACKET), 1);
	/* the open position's take-profit fills while the figures are stale */
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_TP, 3, 2, 80080, T(6));
	h_pump(&h);
	struct slob_risk_view v = h_view(&h);
	assert_int_equal(v.open_positions, 0);
	assert_int_equal(v.trades, 1);
	assert_true(v.realised_cents == 2 * 80 * 500);
	assert_true(v.account_stale);
	assert_int_equal(v.account_holds, 4);
	/* account_stale_s = 0: no age limit (missing figures still hold) */
	h_close(&h);
	p.account_stale_s = 0;
	h_open_acct(&h, &p);
	h_account(&h, 100000, 100000, 100000, 20000, ACCT_T0);
	h_long_at(&h, 1, T(0), ACCT_T0 + 86400 * SLOB_NS_PER_SEC);
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCEPTED);
	h_close(&h);
}

/* margin x qty x (1 + headroom) must fit AvailableFunds, else refused with its
 * own reason and an alert, before any intent. */
static void test_account_margin_check(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	char err[128];
	slob_risk_params_default(&p);
	assert_int_equal(slob_risk_param_set(&p, "margin_headroom_pct", "10", err, sizeof(err)), 0);
	assert_int_equal(p.margin_headroom_bp, 1000);
	p.max_concurrent_positions = 8;
	h_open_acct(&h, &p);
	/* 2 contracts x 20 000 x 1.10 = 44 000 */
	h_account(&h, 100000, 44000, 100000, 20000, ACCT_T0);
	h_long_at(&h, 1, T(0), ACCT_T0);
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCEPTED);
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_BRACKET), 1);
	h_account(&h, 100000, 43999.99, 100000, 20000, ACCT_T0);
	h_long_at(&h, 2, T(1), ACCT_T0);
	h_long_at(&h, 3, T(2), ACCT_T0);
	h_long_at(&h, 4, T(3), ACCT_T0);
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_MARGIN);
	assert_string_equal(slob_risk_reason_name(SLOB_RISK_MARGIN), "insufficient_margin");
	assert_int_equal(h.st.stats->reasons[SLOB_RISK_MARGIN], 3);
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_BRACKET), 0);
	/* alerts 1st and 2nd, not the 3rd (no storm) */
	assert_int_equal(h_alerts_with(&h, "Insufficient margin"), 2);
	const struct slob_cold *a = h_last_cold(&h, SLOB_COLD_ALERT);
	assert_non_null(strstr(a->u.text.text, "needs 44000 USD, AvailableFunds 43999 USD"));
	assert_int_equal(h_view(&h).margin_refusals, 3);
	/* the configured margin stands in until the broker's what-if answers */
	h_close(&h);
	assert_int_equal(slob_risk_param_set(&p, "margin_per_contract", "30000", err, sizeof(err)),
			 0);
	h_open_acct(&h, &p);
	h_account(&h, 100000, 60000, 100000, -1, ACCT_T0); /* 2 x 30 000 x 1.1 = 66 000 */
	h_long_at(&h, 1, T(0), ACCT_T0);
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_MARGIN);
	h_account(&h, 100000, 60000, 100000, 20000, ACCT_T0); /* broker: 44 000 */
	h_long_at(&h, 2, T(1), ACCT_T0);
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_ACCEPTED);
	h_close(&h);
}

/* AvailableFunds arrives every few minutes and does not count entries still
 * working: funds for exactly two brackets take two setups in one pass, not three. */
static void test_account_margin_reserves_working_entries(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	char err[128];
	slob_risk_params_default(&p);
	assert_int_equal(slob_risk_param_set(&p, "margin_headroom_pct", "10", err, sizeof(err)), 0);
	p.max_concurrent_positions = 8;
	h_open_acct(&h, &p);
	/* each bracket: 2 contracts x 20 000 x 1.10 = 44 000; funds for two */
	h_account(&h, 100000, 88000, 100000, 20000, ACCT_T0);
	h_long_at(&h, 1, T(0), ACCT_T0);
	h_long_at(&h, 2, T(1), ACCT_T0);
	h_long_at(&h, 3, T(2), ACCT_T0);
	h_pump(&h);
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_BRACKET), 2);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_MARGIN);
	assert_int_equal(h.st.stats->reasons[SLOB_RISK_ACCEPTED], 2);
	assert_int_equal(h.st.stats->reasons[SLOB_RISK_MARGIN], 1);
	const struct slob_cold *a = h_last_cold(&h, SLOB_COLD_ALERT);
	assert_non_null(strstr(a->u.text.text, "needs 44000 USD, AvailableFunds 88000 USD less "
						"working entries 80000 USD"));
	h_close(&h);
}

/* Broker amounts far beyond any real account must not wrap int64 in sizing,
 * drawdown or the margin check (each wrapped into a wrong answer before). */
static void test_account_extreme_size_no_wrap(void **state)
{
	(void)state;
	struct slob_risk_params p;
	slob_risk_params_default(&p);
	struct slob_instrument in = {.tick_value_cents = 50};
	/* sizing: 1e15 cents x 1 % wraps; the size is capped, never negative */
	assert_int_equal(slob_risk_size(&p, &in, 1000000000000000LL, 40), p.max_position_size);
	assert_int_equal(slob_risk_size(&p, &in, INT64_MAX, 40), p.max_position_size);
	assert_int_equal(slob_risk_size(&p, &in, INT64_MAX, INT32_MIN + 1), p.max_position_size);
}

static void test_account_extreme_drawdown_no_wrap(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	slob_risk_params_default(&p);
	/* drawdown: peak 1e15 cents, then 1e13: 99 % down trips, (peak - e) x 10000 wraps */
	h_open_acct(&h, &p);
	h_account(&h, 1e13, 1e13, 1e13, 20000, ACCT_T0);
	h_account(&h, 1e11, 1e11, 1e11, 20000, ACCT_T0);
	h_pump(&h);
	assert_true(h_view(&h).breaker_tripped);
	assert_int_equal(h_view(&h).breaker_reason, SLOB_RISK_MAX_DRAWDOWN);
	assert_int_equal(h_last_cold(&h, SLOB_COLD_BREAKER)->u.breaker.value, 9900);
	h_close(&h);
}

static void test_account_extreme_margin_no_wrap(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	slob_risk_params_default(&p);
	/* margin: INT64_MAX / 2 per contract x 2 contracts x 10000 wrapped to a fit */
	p.max_concurrent_positions = 8;
	h_open_acct(&h, &p);
	struct slob_exec x = {.kind = SLOB_EXEC_ACCOUNT, .recv_ns = ACCT_T0};
	x.acct.net_liq_cents = 10000000;
	x.acct.available_cents = 10000000000000LL;
	x.acct.excess_liq_cents = 10000000;
	x.acct.margin_1_cents = INT64_MAX / 2;
	x.acct.have = SLOB_ACCT_NET_LIQ | SLOB_ACCT_AVAILABLE | SLOB_ACCT_EXCESS_LIQ |
		      SLOB_ACCT_MARGIN_1;
	x.acct.summary_ns = ACCT_T0;
	memcpy(x.acct.currency, "USD", 4);
	assert_true(slob_ring_push_spsc(&h.exec, &x));
	h_long_at(&h, 1, T(0), ACCT_T0);
	h_pump(&h);
	assert_int_equal(h_last_reason(&h), SLOB_RISK_MARGIN);
	assert_int_equal(h_count_intents(&h, SLOB_INTENT_BRACKET), 0);
	h_close(&h);
}

/* The drawdown breaker runs on the equity that sizes: the broker's series
 * in broker and min mode (own peak), never in config mode. */
static void test_account_drawdown_on_broker_equity(void **state)
{
	(void)state;
	static const char *const modes[3] = {"broker", "min", "config"};
	for (int i = 0; i < 3; i++) {
		struct slob_risk_params p;
		struct h h;
		char err[128];
		slob_risk_params_default(&p);
		assert_int_equal(slob_risk_param_set(&p, "equity_source", modes[i], err, sizeof(err)),
				 0);
		h_open_acct(&h, &p);
		h_account(&h, 100000, 100000, 100000, 20000, ACCT_T0);
		h_account(&h, 120000, 100000, 100000, 20000, ACCT_T0); /* broker peak 120 000 */
		h_account(&h, 90000.01, 90000, 90000, 20000, ACCT_T0); /* 24.99 % */
		h_pump(&h);
		assert_false(h_view(&h).breaker_tripped);
		assert_true(h_view(&h).broker_peak_cents == 12000000);
		h_account(&h, 90000, 90000, 90000, 20000, ACCT_T0); /* exactly 25 % */
		h_pump(&h);
		struct slob_risk_view v = h_view(&h);
		if (i < 2) {
			assert_true(v.breaker_tripped);
			assert_int_equal(v.breaker_reason, SLOB_RISK_MAX_DRAWDOWN);
			assert_int_equal(h_last_cold(&h, SLOB_COLD_BREAKER)->u.breaker.value, 2500);
			/* reset: the broker peak restarts at the current NetLiquidation */
			assert_int_equal(slob_risk_request_reset(h.r, "op", "withdrawal"), 0);
			h_pump(&h);
			v = h_view(&h);
			assert_false(v.breaker_tripped);
			assert_true(v.broker_peak_cents == 9000000);
		} else {
			assert_false(v.breaker_tripped);
		}
		h_close(&h);
	}
}

/* The broker peak is in every risk state record and survives a restart: a
 * NetLiquidation 25 % under the restored peak trips at the first figures. */
static void test_account_broker_peak_restored(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	char err[128];
	slob_risk_params_default(&p);
	assert_int_equal(slob_risk_param_set(&p, "equity_source", "broker", err, sizeof(err)), 0);
	h_open_acct(&h, &p);
	h_account(&h, 120000, 100000, 100000, 20000, ACCT_T0);
	h_pump(&h);
	const struct slob_cold *rs = h_last_cold(&h, SLOB_COLD_RISK_STATE);
	assert_non_null(rs);
	assert_true(rs->u.risk.broker_peak_cents == 12000000);
	h_close(&h);

	struct slob_risk_snapshot snap;
	memset(&snap, 0, sizeof(snap));
	snap.equity_cents = snap.peak_cents = 5000000;
	snap.broker_peak_cents = 12000000;
	h_open_acct(&h, &p);
	assert_int_equal(slob_risk_restore(h.r, &snap), 0);
	h_account(&h, 90000.01, 90000, 90000, 20000, ACCT_T0);
	h_pump(&h);
	assert_false(h_view(&h).breaker_tripped);
	assert_true(h_view(&h).broker_peak_cents == 12000000);
	h_account(&h, 90000, 90000, 90000, 20000, ACCT_T0);
	h_pump(&h);
	assert_true(h_view(&h).breaker_tripped);
	h_close(&h);
}

/* Low ExcessLiquidity alerts (CRITICAL, once per episode) only with positions open. */
static void test_account_excess_liquidity_alert(void **state)
{
	(void)state;
	struct slob_risk_params p;
	struct h h;
	slob_risk_params_default(&p);
	h_open_acct(&h, &p);
	h_account(&h, 100000, 100000, 4000, 20000, ACCT_T0); /* below 5 000, flat */
	h_pump(&h);
	assert_int_equal(h_alerts_with(&h, "Low ExcessLiquidity"), 0);
	h_account(&h, 100000, 100000, 100000, 20000, ACCT_T0);
	h_long_at(&h, 1, T(0), ACCT_T0);
	h_pump(&h);
	h_exec(&h, SLOB_EXEC_FILL, SLOB_ROLE_ENTRY, 1, 2, 80000, T(1));
	h_account(&h, 100000, 100000, 4999.99, 20000, ACCT_T0);
	h_account(&h, 100000, 100000, 3000, 20000, ACCT_T0);
	h_pump(&h);
	assert_int_equal(h_alerts_with(&h, "Low ExcessLiquidity"), 1);
	const struct slob_cold *a = h_last_cold(&h, SLOB_COLD_ALERT);
	assert_int_equal(a->u.text.level, SLOB_LVL_CRITICAL);
	h_account(&h, 100000, 100000, 6000, 20000, ACCT_T0);
	h_account(&h, 100000, 100000, 3000, 20000, ACCT_T0);
	h_pump(&h);
	assert_int_equal(h_alerts_with(&h, "Low ExcessLiquidity"), 2);
	h_close(&h);
}

static void test_params(void **state)
{
	(void)state;
	struct slob_risk_params p;
	char err[256];
	slob_risk_params_default(&p);
	assert_int_equal(slob_risk_params_validate(&p, err, sizeof(err)), 0);
	assert_true(p.initial_capital_cents == 5000000);
	assert_int_equal(p.risk_per_trade_ppm, 10000);
	assert_int_equal(p.max_position_size, 5);
	assert_int_equal(p.max_drawdown_bp, 2500);
	assert_int_equal(slob_risk_param_set(&p, "initial_capital", "100000.50", err, sizeof(err)),
			 0);
	assert_true(p.initial_capital_cents == 10000050);
	assert_int_equal(slob_risk_param_set(&p, "risk_per_trade", "0.01", err, sizeof(err)), 0);
	assert_int_equal(p.risk_per_trade_ppm, 10000);
	assert_int_equal(slob_risk_param_set(&p, "max_drawdown_pct", "12.5", err, sizeof(err)), 0);
	assert_int_equal(p.max_drawdown_bp, 1250);
	assert_int_equal(slob_risk_param_set(&p, "trading_start", "08:00", err, sizeof(err)), 0);
	assert_int_equal(p.trading_start_min, 480);
	assert_int_equal(slob_risk_param_set(&p, "trading_end", "15:15", err, sizeof(err)), 0);
	assert_int_equal(p.trading_end_min, 915);
	assert_int_equal(slob_risk_param_set(&p, "min_one_contract", "true", err, sizeof(err)), 0);
	assert_int_equal(p.min_one_contract, 1);
	assert_int_equal(slob_risk_param_set(&p, "news_min_impact", "medium", err, sizeof(err)), 0);
	assert_int_equal(p.news_min_impact, 2);
	assert_int_equal(slob_risk_param_set(&p, "nope", "1", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "nope"));
	static const struct {
		const char *key, *value, *want;
	} bad[] = {
	    {"risk_per_trade", "0.5", "risk_per_trade"},
	    {"risk_per_trade", "abc", "0.000001..0.1"},
	    {"max_position_size", "0", "max_position_size"},
	    {"max_position_size", "2.5", "1..1000"},
	    {"max_drawdown_pct", "101", "0..100"},
	    {"daily_loss_limit", "-1", "daily_loss_limit"},
	    {"trading_start", "9:30", "HH:MM"},
	    {"min_one_contract", "maybe", "boolean"},
	    {"order_rate_limit", "0", "order_rate_limit"},
	    {"initial_capital", "", "initial_capital"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(
		    slob_risk_param_set(&p, bad[i].key, bad[i].value, err, sizeof(err)), -EINVAL);
		if (strstr(err, bad[i].want) == NULL)
			fail_msg("%s=%s: '%s' lacks '%s'", bad[i].key, bad[i].value, err,
				 bad[i].want);
	}
	slob_risk_params_default(&p);
	p.trading_start_min = 960;
	p.trading_end_min = 570;
	assert_int_equal(slob_risk_params_validate(&p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "trading_start"));
	assert_string_equal(slob_risk_reason_name(SLOB_RISK_ORDER_RATE), "order_rate");
	assert_string_equal(slob_risk_reason_name(999), "unknown");
	for (unsigned r = 0; r < SLOB_RISK_REASON_MAX; r++)
		assert_string_not_equal(slob_risk_reason_name(r), "unknown");
	assert_true(SLOB_RISK_REASON_MAX <= SLOB_MAX_REASONS);
	/* risk.c mirrors these alert kinds without including persist/ */
	assert_int_equal(SLOB_ALERT_OTHER, 0);
	assert_int_equal(SLOB_ALERT_ORDER_REJECTED, 5);
}

/* The config table's [risk] section and the keys param_set accepts agree,
 * and every default there parses and validates. */
static void test_params_match_config_table(void **state)
{
	(void)state;
	struct slob_risk_params p;
	char err[256];
	unsigned in_table = 0;
	slob_risk_params_default(&p);
	for (const struct slob_config_key *k = slob_config_keys; k->section; k++) {
		if (strcmp(k->section, "risk") != 0)
			continue;
		in_table++;
		if (slob_risk_param_set(&p, k->key, k->def, err, sizeof(err)) != 0)
			fail_msg("[risk] %s default '%s': %s", k->key, k->def, err);
	}
	assert_int_equal(slob_risk_params_validate(&p, err, sizeof(err)), 0);
	unsigned n = 0;
	for (const char *const *key = slob_risk_param_keys; *key; key++, n++) {
		bool found = false;
		for (const struct slob_config_key *k = slob_config_keys; k->section; k++)
			found |= strcmp(k->section, "risk") == 0 && strcmp(k->key, *key) == 0;
		if (!found)
			fail_msg("key %s missing from the config table", *key);
	}
	assert_int_equal(n, in_table);
	/* and the table's defaults are the module's defaults */
	struct slob_risk_params d;
	slob_risk_params_default(&d);
	assert_memory_equal(&p, &d, sizeof(p));
}

static int group_setup(void **state)
{
	const char *base = getenv("SLOB_TEST_TMP");
	snprintf(tmpdir, sizeof(tmpdir), "%s/risk.XXXXXX", base ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return setup(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sizing_table),
	    cmocka_unit_test(test_sizing_through_gate_and_skip_reason),
	    cmocka_unit_test(test_order_ref),
	    cmocka_unit_test(test_1000_duplicates_one_bracket),
	    cmocka_unit_test(test_preload_blocks_restart_duplicate),
	    cmocka_unit_test(test_hours_dst_edges),
	    cmocka_unit_test(test_holidays_and_news),
	    cmocka_unit_test(test_drawdown_boundary),
	    cmocka_unit_test(test_daily_loss_boundary),
	    cmocka_unit_test(test_max_concurrent_and_cancel),
	    cmocka_unit_test(test_duplicate_levels),
	    cmocka_unit_test(test_session_end_flatten),
	    cmocka_unit_test(test_kill_switch_and_reset),
	    cmocka_unit_test(test_order_rate_breaker),
	    cmocka_unit_test(test_backpressure_and_health),
	    cmocka_unit_test(test_bad_setups),
	    cmocka_unit_test(test_partial_fills_take_profit),
	    cmocka_unit_test(test_short_stop_out),
	    cmocka_unit_test(test_multi_contract_exit_and_breakeven),
	    cmocka_unit_test(test_cancel_after_bars_and_partial),
	    cmocka_unit_test(test_reject_unknown_reconciled),
	    cmocka_unit_test(test_breaker_survives_restart),
	    cmocka_unit_test(test_clock_ack_and_end),
	    cmocka_unit_test(test_intent_ring_full_holds_signals),
	    cmocka_unit_test(test_deterministic_across_schedules),
	    cmocka_unit_test(test_control_from_other_thread),
	    cmocka_unit_test(test_params),
	    cmocka_unit_test(test_params_match_config_table),
	    cmocka_unit_test(test_account_equity_source),
	    cmocka_unit_test(test_account_stale_holds_entries_only),
	    cmocka_unit_test(test_account_margin_check),
	    cmocka_unit_test(test_account_margin_reserves_working_entries),
	    cmocka_unit_test(test_account_extreme_size_no_wrap),
	    cmocka_unit_test(test_account_extreme_drawdown_no_wrap),
	    cmocka_unit_test(test_account_extreme_margin_no_wrap),
	    cmocka_unit_test(test_account_drawdown_on_broker_equity),
	    cmocka_unit_test(test_account_excess_liquidity_alert),
	    cmocka_unit_test(test_account_broker_peak_restored),
	};
	int rc = cmocka_run_group_tests(tests, group_setup, NULL);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "%s/holidays.txt", tmpdir);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "%s/news.csv", tmpdir);
	unlink(cmd);
	rmdir(tmpdir);
	return rc;
}
