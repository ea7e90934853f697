/* SPDX-License-Identifier: MIT */
/*
 * gen_truth_helpers.h: the replay and ground-truth check shared by
 * test_gen_truth.c (sample week, quarter) and test_gen_truth_stress.c (whole
 * years). Generated bars are expanded to ticks, aggregated by the candles
 * stage (the real replay path) and fed to the detector; gen_truth_check()
 * requires every injected setup to be reported, matched by its identity,
 * with exactly the ground-truth levels, entry, SL and TP. One copy so both
 * tests replay and compare the same way.
 */
#ifndef SLOB_TESTS_GEN_TRUTH_HELPERS_H
#define SLOB_TESTS_GEN_TRUTH_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h */

#include "engine/candles.h"
#include "engine/detector.h"
#include "engine/gen.h"

struct gen_truth_found {
	struct slob_setup s;
	int64_t sig_ts;
};

/* ticks -> candles -> detector; returns the setups found (malloc'ed). */
static inline struct gen_truth_found *gen_truth_replay(const struct slob_gen_out *g, uint64_t seed,
						       const struct slob_detector_params *dp,
						       size_t *nfound, size_t *nbars_out)
{
	slob_ring_t tr, br;
	struct slob_candles cd;
	struct slob_detector det;
	struct slob_instrument in;
	char err[256];
	slob_instrument_nq(&in);
	assert_int_equal(slob_ring_init(&tr, "ticks", 1024, sizeof(struct slob_tick)), 0);
	assert_int_equal(slob_ring_init(&br, "bars", 1024, sizeof(struct slob_bar)), 0);
	assert_int_equal(slob_candles_init(&cd, NULL, &tr, &br, NULL), 0);
	if (slob_detector_init(&det, dp, &in, err, sizeof(err)))
		fail_msg("detector init: %s", err);
	struct slob_sig *out = calloc(slob_detector_max_out(&det), sizeof(*out));
	size_t cap = 64, n = 0, nb = 0;
	struct gen_truth_found *f = calloc(cap, sizeof(*f));
	struct slob_tick tk[SLOB_GEN_MAX_TICKS_PER_BAR];
	uint64_t seq = 0;
	int ended = 0;
	size_t i = 0;
	while (!ended) {
		/* push ticks of as many bars as fit */
		while (i <= g->nbars) {
			if (i == g->nbars) {
				struct slob_tick e = {.seq = ++seq, .flags = SLOB_TICK_END};
				if (!slob_ring_push_spsc(&tr, &e))
					break;
				i++;
				break;
			}
			if (slob_ring_capacity(&tr) - slob_ring_size(&tr) <
			    SLOB_GEN_MAX_TICKS_PER_BAR)
				break;
			unsigned k =
			    slob_gen_bar_ticks(seed, &g->bars[i], tk, SLOB_GEN_MAX_TICKS_PER_BAR);
			for (unsigned j = 0; j < k; j++) {
				tk[j].seq = ++seq;
				tk[j].recv_ns = tk[j].ts_ns;
				assert_true(slob_ring_push_spsc(&tr, &tk[j]));
			}
			i++;
		}
		slob_candles_poll(&cd);
		struct slob_bar b;
		while (slob_ring_pop_spsc(&br, &b)) {
			int k = slob_detector_on_bar(&det, &b, out, slob_detector_max_out(&det));
			assert_true(k >= 1);
			if (b.flags & SLOB_BAR_END) {
				ended = 1;
				break;
			}
			nb++;
			for (int j = 1; j < k; j++) {
				if (n == cap) {
					cap *= 2;
					f = realloc(f, cap * sizeof(*f));
				}
				f[n].s = out[j].setup;
				f[n].sig_ts = out[j].ts_ns;
				n++;
			}
		}
	}
	free(out);
	slob_detector_destroy(&det);
	slob_ring_destroy(&tr);
	slob_ring_destroy(&br);
	*nfound = n;
	*nbars_out = nb;
	return f;
}

static inline void gen_truth_check(const struct slob_gen_out *g, const struct gen_truth_found *f,
				   size_t nf)
{
	for (size_t t = 0; t < g->ntruth; t++) {
		const struct slob_gen_truth *tr = &g->truth[t];
		const struct gen_truth_found *m = NULL;
		for (size_t k = 0; k < nf; k++)
			if (f[k].s.id == tr->id)
				m = &f[k];
		if (!m)
			fail_msg("injected setup %zu (dir %d, liq1 %lld) not found", t, tr->dir,
				 (long long)tr->liq1_ns);
		assert_int_equal(m->s.dir, tr->dir);
		assert_int_equal(m->s.liq1_ns, tr->liq1_ns);
		assert_int_equal(m->s.lse_high, tr->lse_high);
		assert_int_equal(m->s.lse_low, tr->lse_low);
		assert_int_equal(m->s.cons_high, tr->cons_high);
		assert_int_equal(m->s.cons_low, tr->cons_low);
		assert_int_equal(m->s.nw_high, tr->nw_high);
		assert_int_equal(m->s.nw_low, tr->nw_low);
		assert_int_equal(m->s.nowick_ns, tr->nowick_ns);
		assert_int_equal(m->s.consol_confirmed_ns, tr->confirm_ns);
		assert_int_equal(m->s.liq2_ns, tr->liq2_ns);
		assert_int_equal(m->s.liq2_px, tr->liq2_px);
		assert_int_equal(m->s.entry_ns, tr->entry_ns);
		assert_int_equal(m->s.spike_branch, tr->spike_branch);
		assert_int_equal(m->s.entry, tr->entry);
		assert_int_equal(m->s.sl, tr->sl);
		assert_int_equal(m->s.tp, tr->tp);
	}
}

#endif /* SLOB_TESTS_GEN_TRUTH_HELPERS_H */
