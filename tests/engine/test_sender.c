/* SPDX-License-Identifier: MIT */
/*
 * test_sender.c: the sender stage in paper mode (clock protocol, fills,
 * cancels, rejects, backpressure, determinism of the fill digest) and the
 * live-mode gate that holds intents until reconciliation.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/hist.h"
#include "engine/sender.h"

SLOB_RING_TYPED(t_intent, struct slob_intent)
SLOB_RING_TYPED(t_tick, struct slob_tick)
SLOB_RING_TYPED(t_exec, struct slob_exec)
SLOB_RING_TYPED(t_cold, struct slob_cold)

struct fx {
	slob_ring_t in, tap, out, cold_ring;
	struct slob_coldq cold;
	struct slob_sender s;
};

static void fx_init(struct fx *f, enum slob_sender_mode mode, unsigned out_cap, uint32_t batch)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(slob_ring_init(&f->in, "in", 256, sizeof(struct slob_intent)), 0);
	assert_int_equal(slob_ring_init(&f->tap, "tap", 1024, sizeof(struct slob_tick)), 0);
	assert_int_equal(slob_ring_init(&f->out, "out", out_cap, sizeof(struct slob_exec)), 0);
	assert_int_equal(slob_ring_init(&f->cold_ring, "cold", 1024, sizeof(struct slob_cold)), 0);
	assert_int_equal(slob_coldq_init(&f->cold, &f->cold_ring, 5), 0);
	struct slob_sender_params p;
	slob_sender_params_default(&p);
	p.mode = mode;
	p.batch = batch;
	p.max_brackets = 8;
	p.pending_max = 2;
	char err[128];
	assert_int_equal(slob_sender_init(&f->s, &p, &f->in, mode == SLOB_SENDER_PAPER ? &f->tap : NULL,
					  &f->out, &f->cold, err, sizeof(err)), 0);
}

static void fx_fini(struct fx *f)
{
	slob_sender_destroy(&f->s);
	slob_coldq_destroy(&f->cold);
	slob_ring_destroy(&f->in);
	slob_ring_destroy(&f->tap);
	slob_ring_destroy(&f->out);
	slob_ring_destroy(&f->cold_ring);
}

static struct slob_intent br(uint64_t setup, int dir, int32_t entry, int32_t sl, int32_t tp)
{
	struct slob_intent in;
	memset(&in, 0, sizeof(in));
	in.kind = SLOB_INTENT_BRACKET;
	in.qty = 1;
	in.dir = (int8_t)dir;
	in.setup_id = setup;
	in.entry = entry;
	in.sl = sl;
	in.tp = tp;
	in.recv_ns = 1; /* long ago: latency is positive */
	strcpy(in.order_ref, "SLOB_0000000000000001");
	return in;
}

static void put_intent(struct fx *f, const struct slob_intent *in)
{
	assert_true(t_intent_push(&f->in, in));
}

static void put_clock(struct fx *f, uint64_t seq)
{
	struct slob_intent in;
	memset(&in, 0, sizeof(in));
	in.kind = SLOB_INTENT_CLOCK;
	in.clock_seq = seq;
	put_intent(f, &in);
}

static void put_kind(struct fx *f, uint32_t kind, uint64_t setup)
{
	struct slob_intent in;
	memset(&in, 0, sizeof(in));
	in.kind = kind;
	in.setup_id = setup;
	put_intent(f, &in);
}

static void put_tick(struct fx *f, uint64_t seq, int32_t px)
{
	struct slob_tick t = {.ts_ns = (int64_t)seq * 1000000000, .seq = seq, .px = px, .size = 1};
	assert_true(t_tick_push(&f->tap, &t));
}

static int drain(struct fx *f, struct slob_exec *ex, int max)
{
	int n = 0;
	for (int i = 0; i < 100; i++) {
		assert_true(slob_sender_poll(&f->s) >= 0);
		while (n < max && t_exec_pop(&f->out, &ex[n]))
			n++;
	}
	return n;
}

static void test_paper_clock_protocol(void **state)
{
	(void)state;
	struct fx f;
	struct slob_exec ex[32];
	fx_init(&f, SLOB_SENDER_PAPER, 64, 64);
	slob_hist_t *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	slob_sender_set_hist(&f.s, h);
	for (uint64_t i = 1; i <= 3; i++)
		put_tick(&f, i, 1000);
	put_clock(&f, 3);
	struct slob_intent b = br(42, SLOB_LONG, 995, 990, 1010);
	put_intent(&f, &b);
	/* tick 4 closed the bar the decision was made on: it crosses the entry
	 * but is not tradeable for the new bracket; tick 5 fills the entry,
	 * tick 6 would hit the TP, but only clock 5 is given */
	put_tick(&f, 4, 994);
	put_tick(&f, 5, 994);
	put_tick(&f, 6, 1011);
	put_clock(&f, 5);
	int n = drain(&f, ex, 32);
	assert_int_equal(n, 6);
	assert_int_equal(ex[0].kind, SLOB_EXEC_CLOCK_ACK);
	assert_int_equal(ex[0].clock_seq, 3);
	for (int r = 0; r < 3; r++) {
		assert_int_equal(ex[1 + r].kind, SLOB_EXEC_SUBMITTED);
		assert_int_equal(ex[1 + r].role, r);
		assert_int_equal(ex[1 + r].order_id, 1 + r);
		assert_int_equal(ex[1 + r].setup_id, 42);
	}
	assert_string_equal(ex[1].order_ref, "SLOB_0000000000000001_ENTRY");
	assert_string_equal(ex[2].order_ref, "SLOB_0000000000000001_TP");
	assert_string_equal(ex[3].order_ref, "SLOB_0000000000000001_SL");
	assert_int_equal(ex[4].kind, SLOB_EXEC_FILL);
	assert_int_equal(ex[4].px, 995);
	assert_int_equal(ex[4].ts_ns, 5000000000LL);
	assert_int_equal(ex[5].kind, SLOB_EXEC_CLOCK_ACK);
	assert_int_equal(ex[5].clock_seq, 5);
	/* tick 6 is still in the tap: not in the past yet */
	assert_int_equal(slob_ring_size(&f.tap), 1);
	assert_int_equal(f.s.lat_count, 1);
	assert_true(f.s.lat_last_ns > 0);
	assert_int_equal(h->count, 1);
	put_clock(&f, 6);
	put_kind(&f, SLOB_INTENT_END, 0);
	n = drain(&f, ex, 32);
	assert_int_equal(n, 4);
	assert_int_equal(ex[0].kind, SLOB_EXEC_FILL);
	assert_int_equal(ex[0].role, SLOB_ROLE_TP);
	assert_int_equal(ex[0].px, 1010);
	assert_int_equal(ex[1].kind, SLOB_EXEC_CANCELLED);
	assert_int_equal(ex[1].role, SLOB_ROLE_SL);
	assert_int_equal(ex[2].kind, SLOB_EXEC_CLOCK_ACK);
	assert_int_equal(ex[3].kind, SLOB_EXEC_CLOCK_ACK); /* END ack */
	assert_true(slob_sender_done(&f.s));
	assert_int_not_equal(slob_sender_digest(&f.s), 0);
	/* cold: 3 ORDER(submitted) + FILL+ORDER + FILL+ORDER + ORDER(cancel) */
	struct slob_cold c;
	int orders = 0, fills = 0;
	while (t_cold_pop(&f.cold_ring, &c)) {
		orders += c.type == SLOB_COLD_ORDER;
		fills += c.type == SLOB_COLD_FILL;
		if (c.type == SLOB_COLD_FILL)
			assert_int_equal(c.cls, SLOB_CLASS_TRADE);
	}
	assert_int_equal(orders, 6);
	assert_int_equal(fills, 2);
	free(h);
	fx_fini(&f);
}

static void test_clock_waits_for_tap(void **state)
{
	(void)state;
	struct fx f;
	struct slob_exec ex[8];
	fx_init(&f, SLOB_SENDER_PAPER, 64, 64);
	put_tick(&f, 1, 1000);
	put_clock(&f, 3);
	assert_int_equal(drain(&f, ex, 8), 0); /* tick 3 not there yet */
	put_tick(&f, 2, 1000);
	assert_int_equal(drain(&f, ex, 8), 0);
	put_tick(&f, 3, 1000);
	put_tick(&f, 4, 1000);
	assert_int_equal(drain(&f, ex, 8), 1);
	assert_int_equal(ex[0].kind, SLOB_EXEC_CLOCK_ACK);
	assert_int_equal(slob_ring_size(&f.tap), 1);
	/* END tick on the tap completes any clock */
	put_clock(&f, 100);
	struct slob_tick end = {.flags = SLOB_TICK_END};
	assert_int_equal(drain(&f, ex, 8), 0);
	assert_true(t_tick_push(&f.tap, &end));
	assert_int_equal(drain(&f, ex, 8), 1);
	assert_int_equal(ex[0].clock_seq, 100);
	fx_fini(&f);
}

/* The fill digest must not depend on how polls interleave with arrivals. */
static uint64_t run_script(uint32_t batch, unsigned out_cap, int stepwise)
{
	struct fx f;
	struct slob_exec ex[256];
	fx_init(&f, SLOB_SENDER_PAPER, out_cap, batch);
	int32_t px = 1000;
	uint64_t seq = 0;
	int got = 0;
	for (int bar = 0; bar < 30; bar++) {
		for (int k = 0; k < 10; k++) {
			px += ((bar * 7 + k * 3) % 11) - 5;
			put_tick(&f, ++seq, px);
			if (stepwise)
				(void)slob_sender_poll(&f.s);
		}
		put_clock(&f, seq);
		if (bar % 3 == 0) {
			struct slob_intent b = bar % 2 ? br(100 + bar, SLOB_LONG, px - 2, px - 12, px + 8)
						       : br(100 + bar, SLOB_SHORT, px + 2, px + 12, px - 8);
			put_intent(&f, &b);
		}
		if (stepwise)
			(void)slob_sender_poll(&f.s);
		while (got < 256 && t_exec_pop(&f.out, &ex[got]))
			got++;
	}
	put_kind(&f, SLOB_INTENT_END, 0);
	got += drain(&f, ex + got, 256 - got);
	assert_true(slob_sender_done(&f.s));
	assert_true(f.s.n_fills > 4);
	uint64_t d = slob_sender_digest(&f.s);
	fx_fini(&f);
	return d;
}

static void test_digest_deterministic(void **state)
{
	(void)state;
	uint64_t a = run_script(64, 256, 0);
	uint64_t b = run_script(1, 4, 1);  /* tiny exec ring: backpressure */
	uint64_t c = run_script(3, 16, 1);
	assert_int_equal(a, b);
	assert_int_equal(a, c);
}

static void test_cancel_and_reject(void **state)
{
	(void)state;
	struct fx f;
	struct slob_exec ex[16];
	fx_init(&f, SLOB_SENDER_PAPER, 64, 64);
	struct slob_intent b = br(7, SLOB_SHORT, 1000, 1010, 990);
	put_intent(&f, &b);
	put_kind(&f, SLOB_INTENT_CANCEL, 7);
	struct slob_intent bad = br(8, SLOB_SHORT, 1000, 990, 1010);
	put_intent(&f, &bad);
	struct slob_intent dup = br(7, SLOB_SHORT, 1000, 1010, 990);
	put_intent(&f, &dup); /* setup 7 was cancelled: placing again is allowed */
	put_intent(&f, &dup); /* now a duplicate */
	int n = drain(&f, ex, 16);
	assert_int_equal(n, 3 + 3 + 1 + 3 + 1);
	for (int i = 3; i < 6; i++)
		assert_int_equal(ex[i].kind, SLOB_EXEC_CANCELLED);
	assert_int_equal(ex[6].kind, SLOB_EXEC_REJECTED);
	assert_int_equal(ex[6].setup_id, 8);
	assert_int_equal(ex[6].code, -EINVAL);
	assert_non_null(strstr(ex[6].text, "invalid bracket"));
	assert_int_equal(ex[7].order_id, 4); /* a rejected bracket uses no ids */
	assert_int_equal(ex[10].kind, SLOB_EXEC_REJECTED);
	assert_int_equal(ex[10].code, -EEXIST);
	int alerts = 0;
	struct slob_cold c;
	while (t_cold_pop(&f.cold_ring, &c))
		if (c.type == SLOB_COLD_ALERT) {
			alerts++;
			assert_non_null(strstr(c.u.text.text, "order rejected"));
		}
	assert_int_equal(alerts, 2);
	fx_fini(&f);
}

/* fake live backend */
struct fake_be {
	int placed, cancels;
	int64_t last_id;
};

static int fb_place(void *ctx, const struct slob_intent *in, int64_t id)
{
	(void)in;
	struct fake_be *b = ctx;
	b->placed++;
	b->last_id = id;
	return 0;
}

static int fb_cancel(void *ctx, uint64_t setup)
{
	(void)setup;
	((struct fake_be *)ctx)->cancels++;
	return 0;
}

static void test_live_waits_for_reconciliation(void **state)
{
	(void)state;
	struct fx f;
	struct slob_exec ex[16];
	struct fake_be fb = {0};
	fx_init(&f, SLOB_SENDER_LIVE, 64, 64);
	struct slob_sender_backend be = {.ctx = &fb, .place = fb_place, .cancel = fb_cancel};
	slob_sender_set_backend(&f.s, &be);
	slob_sender_set_next_id(&f.s, 500);
	struct slob_intent a = br(1, SLOB_LONG, 1000, 990, 1010);
	struct slob_intent b = br(2, SLOB_LONG, 1000, 990, 1010);
	struct slob_intent c = br(3, SLOB_LONG, 1000, 990, 1010);
	put_intent(&f, &a);
	put_intent(&f, &b);
	put_intent(&f, &c); /* pending_max 2: rejected */
	put_kind(&f, SLOB_INTENT_CANCEL, 2);
	int n = drain(&f, ex, 16);
	assert_int_equal(fb.placed, 0);
	assert_int_equal(n, 2);
	assert_int_equal(ex[0].kind, SLOB_EXEC_REJECTED);
	assert_int_equal(ex[0].setup_id, 3);
	assert_int_equal(ex[1].kind, SLOB_EXEC_CANCELLED);
	assert_int_equal(ex[1].setup_id, 2);
	slob_sender_set_reconciled(&f.s, true);
	n = drain(&f, ex, 16);
	assert_int_equal(fb.placed, 1); /* only setup 1; 2 was withdrawn */
	assert_int_equal(fb.last_id, 500);
	/* the backend reports through slob_sender_report */
	struct slob_exec r = {.kind = SLOB_EXEC_FILL, .setup_id = 1, .order_id = 500, .qty = 1, .px = 1000};
	assert_int_equal(slob_sender_report(&f.s, &r), 0);
	n = drain(&f, ex, 16);
	assert_int_equal(n, 1);
	assert_int_equal(ex[0].kind, SLOB_EXEC_FILL);
	put_kind(&f, SLOB_INTENT_CANCEL, 1);
	(void)drain(&f, ex, 16);
	assert_int_equal(fb.cancels, 1);
	fx_fini(&f);
}

static int fb_flatten_down(void *ctx, const struct slob_intent *in)
{
	(void)in;
	((struct fake_be *)ctx)->placed += 100;
	return -ENOTCONN;
}

static int fb_flatten_nostop(void *ctx, const struct slob_intent *in)
{
	(void)in;
	((struct fake_be *)ctx)->placed += 100;
	return -ENOENT;
}

/* A flatten the backend could not send because it tracks no stop for the
 * setup is alerted as that, never as "broker refused". */
static void test_flatten_no_stop_alert(void **state)
{
	(void)state;
	struct fx f;
	struct slob_exec ex[16];
	struct fake_be fb = {0};
	fx_init(&f, SLOB_SENDER_LIVE, 64, 64);
	struct slob_sender_backend be = {
	    .ctx = &fb, .place = fb_place, .cancel = fb_cancel, .flatten = fb_flatten_nostop};
	slob_sender_set_backend(&f.s, &be);
	slob_sender_set_reconciled(&f.s, true);
	struct slob_intent in = br(1, SLOB_LONG, 1000, 990, 1010);
	in.kind = SLOB_INTENT_FLATTEN;
	put_intent(&f, &in);
	(void)drain(&f, ex, 16);
	assert_int_equal(fb.placed, 100);
	struct slob_cold c;
	bool alerted = false, refused = false;
	while (t_cold_pop(&f.cold_ring, &c)) {
		if (c.type != SLOB_COLD_ALERT)
			continue;
		alerted |= strstr(c.u.text.text, "session-end flatten not sent for "
						 "SLOB_0000000000000001 (this session tracks no "
						 "stop order for it)") != NULL;
		refused |= strstr(c.u.text.text, "refused") != NULL;
	}
	assert_true(alerted);
	assert_false(refused);
	fx_fini(&f);
}

/* Session-end flatten: handed to the backend; one it cannot send is alerted
 * (the position keeps its stop and target). Paper: the stop closes at market. */
static void test_flatten(void **state)
{
	(void)state;
	struct fx f;
	struct slob_exec ex[16];
	struct fake_be fb = {0};
	fx_init(&f, SLOB_SENDER_LIVE, 64, 64);
	struct slob_sender_backend be = {
	    .ctx = &fb, .place = fb_place, .cancel = fb_cancel, .flatten = fb_flatten_down};
	slob_sender_set_backend(&f.s, &be);
	slob_sender_set_reconciled(&f.s, true);
	struct slob_intent in = br(1, SLOB_LONG, 1000, 990, 1010);
	in.kind = SLOB_INTENT_FLATTEN;
	put_intent(&f, &in);
	(void)drain(&f, ex, 16);
	assert_int_equal(fb.placed, 100);
	struct slob_cold c;
	bool alerted = false;
	while (t_cold_pop(&f.cold_ring, &c))
		alerted |= c.type == SLOB_COLD_ALERT &&
			   strstr(c.u.text.text, "session-end flatten not sent for SLOB_0000000000000001 "
						 "(no broker connection)") != NULL;
	assert_true(alerted);
	fx_fini(&f);

	fx_init(&f, SLOB_SENDER_PAPER, 64, 64);
	struct slob_intent b = br(2, SLOB_LONG, 1000, 990, 1010);
	put_intent(&f, &b);
	put_tick(&f, 1, 1000); /* the entry fills */
	put_tick(&f, 2, 1001);
	put_clock(&f, 2);
	int n = drain(&f, ex, 16);
	assert_true(n >= 4 && ex[3].kind == SLOB_EXEC_FILL && ex[3].role == SLOB_ROLE_ENTRY);
	struct slob_intent fl = br(2, SLOB_LONG, 1000, 990, 1010);
	fl.kind = SLOB_INTENT_FLATTEN;
	fl.clock_seq = 2;
	put_intent(&f, &fl);
	put_tick(&f, 3, 1003); /* closes the deciding bar: before the decision */
	put_tick(&f, 4, 1004); /* the first tick after it: market fill here */
	put_clock(&f, 4);
	n = drain(&f, ex, 16);
	bool sl_fill = false, tp_cancel = false;
	for (int i = 0; i < n; i++) {
		if (ex[i].kind == SLOB_EXEC_FILL && ex[i].role == SLOB_ROLE_SL) {
			sl_fill = true;
			assert_int_equal(ex[i].px, 1004);
		}
		tp_cancel |= ex[i].kind == SLOB_EXEC_CANCELLED && ex[i].role == SLOB_ROLE_TP;
	}
	assert_true(sl_fill);
	assert_true(tp_cancel);
	fx_fini(&f);
}

/* live mode: a tap ring is drained, clocks are acked at once */
static void test_live_drains_tap(void **state)
{
	(void)state;
	struct fx f;
	struct slob_exec ex[8];
	fx_init(&f, SLOB_SENDER_LIVE, 64, 64);
	slob_sender_destroy(&f.s);
	struct slob_sender_params p;
	slob_sender_params_default(&p);
	p.mode = SLOB_SENDER_LIVE;
	assert_int_equal(slob_sender_init(&f.s, &p, &f.in, &f.tap, &f.out, &f.cold, NULL, 0), 0);
	for (uint64_t i = 1; i <= 100; i++)
		put_tick(&f, i, 1000);
	put_clock(&f, 500); /* far beyond the tap: live mode does not wait */
	int n = drain(&f, ex, 8);
	assert_int_equal(n, 1);
	assert_int_equal(ex[0].kind, SLOB_EXEC_CLOCK_ACK);
	assert_int_equal(slob_ring_size(&f.tap), 0);
	fx_fini(&f);
}

static void test_params(void **state)
{
	(void)state;
	struct slob_sender_params p;
	char err[160];
	slob_sender_params_default(&p);
	assert_int_equal(slob_sender_params_validate(&p, err, sizeof(err)), 0);
	assert_int_equal(slob_sender_param_set(&p, "mode", "live", err, sizeof(err)), 0);
	assert_int_equal(p.mode, SLOB_SENDER_LIVE);
	assert_int_equal(slob_sender_param_set(&p, "mode", "x", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "sender.mode"));
	assert_int_equal(slob_sender_param_set(&p, "max_brackets", "0", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "1..4096"));
	assert_int_equal(slob_sender_param_set(&p, "max_brackets", "12abc", err, sizeof(err)), -EINVAL);
	assert_int_equal(slob_sender_param_set(&p, "pending_max", "5", err, sizeof(err)), 0);
	assert_int_equal(p.pending_max, 5);
	assert_int_equal(slob_sender_param_set(&p, "first_order_id", "-3", err, sizeof(err)), -EINVAL);
	assert_int_equal(slob_sender_param_set(&p, "nope", "1", err, sizeof(err)), -ENOENT);
	/* init refuses paper mode without a tap */
	slob_ring_t in, out;
	struct slob_sender s;
	assert_int_equal(slob_ring_init(&in, "in", 8, sizeof(struct slob_intent)), 0);
	assert_int_equal(slob_ring_init(&out, "out", 8, sizeof(struct slob_exec)), 0);
	slob_sender_params_default(&p);
	assert_int_equal(slob_sender_init(&s, &p, &in, NULL, &out, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tap"));
	assert_int_equal(slob_sender_init(&s, &p, &out, NULL, &in, NULL, err, sizeof(err)), -EINVAL);
	slob_sender_destroy(NULL);
	slob_ring_destroy(&in);
	slob_ring_destroy(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paper_clock_protocol),
		cmocka_unit_test(test_clock_waits_for_tap),
		cmocka_unit_test(test_digest_deterministic),
		cmocka_unit_test(test_cancel_and_reject),
		cmocka_unit_test(test_live_waits_for_reconciliation),
		cmocka_unit_test(test_live_drains_tap),
		cmocka_unit_test(test_flatten),
		cmocka_unit_test(test_flatten_no_stop_alert),
		cmocka_unit_test(test_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
