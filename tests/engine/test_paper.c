/* SPDX-License-Identifier: MIT */
/* test_paper.c: the paper broker's fill model (engine/paper.h), rule by rule. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "engine/paper.h"

struct log {
	int n;
	struct {
		uint32_t kind;
		int64_t id;
		uint8_t role;
		int32_t px;
		uint64_t seq;
		char ref[SLOB_ORDER_REF_LEN];
	} ev[32];
};

static void cb(void *ctx, const struct slob_paper_event *ev)
{
	struct log *l = ctx;
	assert_true(l->n < 32);
	l->ev[l->n].kind = ev->kind;
	l->ev[l->n].id = ev->order->id;
	l->ev[l->n].role = ev->order->role;
	l->ev[l->n].px = ev->px;
	l->ev[l->n].seq = ev->seq;
	strcpy(l->ev[l->n].ref, ev->order->order_ref);
	l->n++;
}

static struct slob_intent bracket(uint64_t setup, int dir, int32_t entry, int32_t sl, int32_t tp)
{
	struct slob_intent in;
	memset(&in, 0, sizeof(in));
	in.kind = SLOB_INTENT_BRACKET;
	in.qty = 2;
	in.dir = (int8_t)dir;
	in.setup_id = setup;
	in.entry = entry;
	in.sl = sl;
	in.tp = tp;
	strcpy(in.order_ref, "SLOB_00000000000000ab");
	return in;
}

static int tick(struct slob_paper *p, struct log *l, uint64_t seq, int32_t px)
{
	struct slob_tick t = {.ts_ns = (int64_t)seq * 1000, .seq = seq, .px = px, .size = 1};
	return slob_paper_on_tick(p, &t, cb, l);
}

static void test_short_bracket_tp(void **state)
{
	(void)state;
	struct slob_paper p;
	struct log l = {0};
	assert_int_equal(slob_paper_init(&p, 4), 0);
	struct slob_intent in = bracket(7, SLOB_SHORT, 1000, 1010, 980);
	assert_int_equal(slob_paper_place_bracket(&p, &in, 100, 5), 0);
	/* ticks at or before after_seq never fill */
	assert_int_equal(tick(&p, &l, 5, 1005), 0);
	assert_int_equal(tick(&p, &l, 6, 999), 0);          /* below a SELL limit */
	assert_int_equal(tick(&p, &l, 7, 1002), 1);         /* through: fills at limit */
	assert_int_equal(l.ev[0].kind, SLOB_EXEC_FILL);
	assert_int_equal(l.ev[0].id, 100);
	assert_int_equal(l.ev[0].px, 1000);
	assert_string_equal(l.ev[0].ref, "SLOB_00000000000000ab_ENTRY");
	/* children not live on the fill tick; next tick at TP fills TP, cancels SL */
	assert_int_equal(tick(&p, &l, 8, 979), 2);
	assert_int_equal(l.ev[1].kind, SLOB_EXEC_FILL);
	assert_int_equal(l.ev[1].role, SLOB_ROLE_TP);
	assert_int_equal(l.ev[1].id, 101);
	assert_int_equal(l.ev[1].px, 980);
	assert_string_equal(l.ev[1].ref, "SLOB_00000000000000ab_TP");
	assert_int_equal(l.ev[2].kind, SLOB_EXEC_CANCELLED);
	assert_int_equal(l.ev[2].role, SLOB_ROLE_SL);
	assert_int_equal(l.ev[2].id, 102);
	assert_int_equal(slob_paper_live_brackets(&p), 0);
	assert_int_equal(tick(&p, &l, 9, 2000), 0);
	slob_paper_destroy(&p);
}

/* Session-end flatten: the stop closes at market on the first tick after
 * the deciding seq, at that tick's price; the target is cancelled. */
static void test_flatten_at_market(void **state)
{
	(void)state;
	struct slob_paper p;
	struct log l = {0};
	assert_int_equal(slob_paper_init(&p, 4), 0);
	struct slob_intent in = bracket(9, SLOB_LONG, 1000, 990, 1030);
	assert_int_equal(slob_paper_place_bracket(&p, &in, 1, 0), 0);
	assert_int_equal(slob_paper_flatten(&p, 99, 1, 0, cb, &l), -ENOENT);
	assert_int_equal(tick(&p, &l, 2, 1000), 1); /* entry fills */
	assert_int_equal(slob_paper_flatten(&p, 9, 4, 0, cb, &l), 0);
	assert_int_equal(tick(&p, &l, 3, 1005), 0);  /* seq 3, 4: not after the decision */
	assert_int_equal(tick(&p, &l, 4, 1006), 0);
	assert_int_equal(tick(&p, &l, 5, 1007), 2);  /* market: at this tick's price */
	assert_int_equal(l.ev[1].kind, SLOB_EXEC_FILL);
	assert_int_equal(l.ev[1].role, SLOB_ROLE_SL);
	assert_int_equal(l.ev[1].px, 1007);
	assert_int_equal(l.ev[2].kind, SLOB_EXEC_CANCELLED);
	assert_int_equal(l.ev[2].role, SLOB_ROLE_TP);
	assert_int_equal(slob_paper_live_brackets(&p), 0);
	/* the stop still triggers at its price before the market fill is due */
	struct log l2 = {0};
	in = bracket(10, SLOB_LONG, 1000, 990, 1030);
	assert_int_equal(slob_paper_place_bracket(&p, &in, 10, 0), 0);
	assert_int_equal(tick(&p, &l2, 6, 1000), 1);
	assert_int_equal(slob_paper_flatten(&p, 10, 9, 0, cb, &l2), 0);
	assert_int_equal(l2.n, 1); /* the filled entry is not touched */
	assert_int_equal(tick(&p, &l2, 7, 985), 2); /* through the stop: at the stop */
	assert_int_equal(l2.ev[1].px, 990);
	slob_paper_destroy(&p);
}

/* Session-end flatten of a bracket whose entry still works: the entry (and
 * its held children) are cancelled, so it cannot fill after the close and
 * leave a position nobody manages. */
static void test_flatten_working_entry(void **state)
{
	(void)state;
	struct slob_paper p;
	struct log l = {0};
	assert_int_equal(slob_paper_init(&p, 4), 0);
	struct slob_intent in = bracket(11, SLOB_LONG, 1000, 990, 1030);
	assert_int_equal(slob_paper_place_bracket(&p, &in, 20, 0), 0);
	assert_int_equal(tick(&p, &l, 1, 1004), 0); /* above the BUY limit */
	assert_int_equal(slob_paper_flatten(&p, 11, 2, 777, cb, &l), 0);
	assert_int_equal(l.n, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(l.ev[i].kind, SLOB_EXEC_CANCELLED);
	assert_int_equal(l.ev[0].role, SLOB_ROLE_ENTRY);
	assert_int_equal(slob_paper_live_brackets(&p), 0);
	assert_int_equal(tick(&p, &l, 3, 995), 0); /* through the old limit: no fill */
	assert_int_equal(l.n, 3);
	assert_int_equal(slob_paper_flatten(&p, 11, 4, 0, cb, &l), -ENOENT);
	slob_paper_destroy(&p);
}

static void test_long_bracket_stop(void **state)
{
	(void)state;
	struct slob_paper p;
	struct log l = {0};
	assert_int_equal(slob_paper_init(&p, 4), 0);
	struct slob_intent in = bracket(8, SLOB_LONG, 1000, 990, 1030);
	assert_int_equal(slob_paper_place_bracket(&p, &in, 1, 0), 0);
	assert_int_equal(tick(&p, &l, 1, 1001), 0);         /* above BUY limit */
	assert_int_equal(tick(&p, &l, 2, 1000), 1);         /* at the limit */
	/* a tick at the stop on the fill tick's successor triggers the stop */
	assert_int_equal(tick(&p, &l, 3, 995), 0);
	assert_int_equal(tick(&p, &l, 4, 985), 2);          /* through the stop */
	assert_int_equal(l.ev[1].role, SLOB_ROLE_SL);
	assert_int_equal(l.ev[1].px, 990);                  /* fills at the stop */
	assert_string_equal(l.ev[1].ref, "SLOB_00000000000000ab_SL");
	assert_int_equal(l.ev[2].role, SLOB_ROLE_TP);
	assert_int_equal(l.ev[2].kind, SLOB_EXEC_CANCELLED);
	slob_paper_destroy(&p);
}

static void test_children_wait_for_next_tick(void **state)
{
	(void)state;
	struct slob_paper p;
	struct log l = {0};
	assert_int_equal(slob_paper_init(&p, 2), 0);
	struct slob_intent in = bracket(9, SLOB_LONG, 1000, 990, 1001);
	assert_int_equal(slob_paper_place_bracket(&p, &in, 1, 0), 0);
	/* held children never fill before the parent */
	assert_int_equal(tick(&p, &l, 1, 1005), 0);
	assert_int_equal(tick(&p, &l, 2, 980), 1);          /* parent fills only */
	assert_int_equal(l.ev[0].role, SLOB_ROLE_ENTRY);
	assert_int_equal(tick(&p, &l, 3, 980), 2);          /* now SL */
	assert_int_equal(l.ev[1].role, SLOB_ROLE_SL);
	slob_paper_destroy(&p);
}

static void test_cancel_and_errors(void **state)
{
	(void)state;
	struct slob_paper p;
	struct log l = {0};
	assert_int_equal(slob_paper_init(&p, 0), -EINVAL);
	assert_int_equal(slob_paper_init(&p, 1), 0);
	struct slob_intent bad = bracket(1, SLOB_LONG, 1000, 1010, 1030); /* sl above entry */
	assert_int_equal(slob_paper_place_bracket(&p, &bad, 1, 0), -EINVAL);
	bad = bracket(1, SLOB_SHORT, 1000, 990, 980);
	assert_int_equal(slob_paper_place_bracket(&p, &bad, 1, 0), -EINVAL);
	bad = bracket(1, SLOB_LONG, 1000, 990, 1030);
	bad.qty = 0;
	assert_int_equal(slob_paper_place_bracket(&p, &bad, 1, 0), -EINVAL);
	struct slob_intent a = bracket(1, SLOB_LONG, 1000, 990, 1030);
	assert_int_equal(slob_paper_place_bracket(&p, &a, 1, 0), 0);
	assert_int_equal(slob_paper_place_bracket(&p, &a, 4, 0), -EEXIST);
	struct slob_intent b = bracket(2, SLOB_LONG, 1000, 990, 1030);
	assert_int_equal(slob_paper_place_bracket(&p, &b, 4, 0), -ENOSPC);
	assert_int_equal(slob_paper_cancel_setup(&p, 99, 0, cb, &l), -ENOENT);
	assert_int_equal(slob_paper_cancel_setup(&p, 1, 0, cb, &l), 3);
	assert_int_equal(l.n, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(l.ev[i].kind, SLOB_EXEC_CANCELLED);
	/* slot is free again */
	assert_int_equal(slob_paper_place_bracket(&p, &b, 4, 0), 0);
	assert_int_equal(tick(&p, &l, 1, 999), 1);
	/* entry filled: cancel does nothing, bracket runs on */
	assert_int_equal(slob_paper_cancel_setup(&p, 2, 0, cb, &l), 0);
	assert_int_equal(slob_paper_live_brackets(&p), 1);
	slob_paper_destroy(&p);
	slob_paper_destroy(NULL);
}

static void test_long_ref_truncated(void **state)
{
	(void)state;
	struct slob_paper p;
	assert_int_equal(slob_paper_init(&p, 1), 0);
	struct slob_intent in = bracket(1, SLOB_LONG, 1000, 990, 1030);
	memset(in.order_ref, 'x', sizeof(in.order_ref) - 1);
	in.order_ref[sizeof(in.order_ref) - 1] = '\0';
	assert_int_equal(slob_paper_place_bracket(&p, &in, 1, 0), 0);
	const struct slob_paper_bracket *b = slob_paper_find(&p, 1);
	assert_non_null(b);
	size_t n = strlen(b->o[0].order_ref);
	assert_int_equal(n, SLOB_ORDER_REF_LEN - 1);
	assert_string_equal(b->o[0].order_ref + n - 6, "_ENTRY");
	slob_paper_destroy(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_bracket_tp),
		cmocka_unit_test(test_long_bracket_stop),
		cmocka_unit_test(test_flatten_at_market),
		cmocka_unit_test(test_flatten_working_entry),
		cmocka_unit_test(test_children_wait_for_next_tick),
		cmocka_unit_test(test_cancel_and_errors),
		cmocka_unit_test(test_long_ref_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
