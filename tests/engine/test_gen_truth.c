/* SPDX-License-Identifier: MIT */
/*
 * test_gen_truth.c: slob-gen's injected setups against the detector. The
 * generated bars are expanded to ticks, aggregated by the candles stage
 * (ticks -> M1 bars, the real replay path) and fed to the detector with
 * default parameters; every injected setup must be reported, matched by its
 * identity, with exactly the ground-truth entry, SL and TP (and levels).
 * Also: generation is deterministic, ticks realise their bar exactly, and
 * the random-walk invariants hold on the generated data.
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

#include "engine/candles.h"
#include "engine/detector.h"
#include "engine/gen.h"
#include "tests/engine/gen_truth_helpers.h"

#include <xxhash.h>

static void test_gen_sample_week_truth(void **state)
{
	(void)state;
	struct slob_gen_params p;
	struct slob_gen_out g;
	struct slob_detector_params dp;
	char err[256];
	assert_int_equal(slob_gen_preset(&p, "sample"), 0);
	assert_int_equal(slob_gen_run(&p, &g, err, sizeof(err)), 0);
	assert_true(g.ntruth >= 4);
	int dirs[2] = {0, 0};
	for (size_t t = 0; t < g.ntruth; t++)
		dirs[g.truth[t].dir == SLOB_LONG]++;
	assert_true(dirs[0] >= 1 && dirs[1] >= 1);
	slob_detector_params_default(&dp);
	size_t nf, nb;
	struct gen_truth_found *f = gen_truth_replay(&g, p.seed, &dp, &nf, &nb);
	assert_int_equal(nb, g.nbars); /* candles rebuilt every bar, no fill */
	gen_truth_check(&g, f, nf);
	print_message("sample week: %zu bars, %zu injected, %zu setups found\n", g.nbars, g.ntruth,
		      nf);
	free(f);
	slob_gen_out_free(&g);
}

static void test_gen_quarter_truth_both_dirs_random(void **state)
{
	(void)state;
	struct slob_gen_params p;
	struct slob_gen_out g;
	struct slob_detector_params dp;
	char err[256];
	slob_gen_params_default(&p);
	p.seed = 77;
	p.start_ymd = 20260302; /* spans the March DST mismatch weeks */
	p.days = 91;
	p.dir_mode = SLOB_GEN_DIR_RANDOM;
	assert_int_equal(slob_gen_run(&p, &g, err, sizeof(err)), 0);
	assert_true(g.ntruth >= 40);
	slob_detector_params_default(&dp);
	size_t nf, nb;
	struct gen_truth_found *f = gen_truth_replay(&g, p.seed, &dp, &nf, &nb);
	gen_truth_check(&g, f, nf);
	/* invariants on everything found (injected or not) */
	for (size_t k = 0; k < nf; k++) {
		const struct slob_setup *s = &f[k].s;
		if (s->dir == SLOB_SHORT)
			assert_true(s->sl > s->entry && s->tp < s->entry);
		else
			assert_true(s->sl < s->entry && s->tp > s->entry);
		assert_true(s->consol_confirmed_ns - s->liq1_ns >= 15 * SLOB_NS_PER_MIN);
		assert_true(s->liq2_ns - s->consol_confirmed_ns >= 5 * SLOB_NS_PER_MIN);
	}
	print_message("quarter: %zu bars, %zu injected (%zu days skipped), %zu setups found\n",
		      g.nbars, g.ntruth, g.skipped_days, nf);
	free(f);
	slob_gen_out_free(&g);
}

static void test_gen_deterministic_and_ticks_exact(void **state)
{
	(void)state;
	struct slob_gen_params p;
	struct slob_gen_out a, b;
	char err[256];
	slob_gen_params_default(&p);
	p.seed = 5;
	assert_int_equal(slob_gen_run(&p, &a, err, sizeof(err)), 0);
	assert_int_equal(slob_gen_run(&p, &b, err, sizeof(err)), 0);
	assert_int_equal(a.nbars, b.nbars);
	assert_memory_equal(a.bars, b.bars, a.nbars * sizeof(*a.bars));
	assert_int_equal(a.ntruth, b.ntruth);
	assert_memory_equal(a.truth, b.truth, a.ntruth * sizeof(*a.truth));
	p.seed = 6;
	slob_gen_out_free(&b);
	assert_int_equal(slob_gen_run(&p, &b, err, sizeof(err)), 0);
	assert_true(a.nbars != b.nbars || memcmp(a.bars, b.bars, a.nbars * sizeof(*a.bars)) != 0);
	struct slob_tick tk[SLOB_GEN_MAX_TICKS_PER_BAR];
	for (size_t i = 0; i < a.nbars; i++) {
		const struct slob_bar *bar = &a.bars[i];
		assert_true(bar->low <= bar->open && bar->open <= bar->high);
		assert_true(bar->low <= bar->close && bar->close <= bar->high);
		if (i && bar->ts_ns - a.bars[i - 1].ts_ns == SLOB_NS_PER_MIN)
			assert_int_equal(bar->open, a.bars[i - 1].close); /* no price gaps */
		unsigned n = slob_gen_bar_ticks(5, bar, tk, SLOB_GEN_MAX_TICKS_PER_BAR);
		assert_true(n >= 4);
		int32_t h = tk[0].px, l = tk[0].px;
		for (unsigned j = 0; j < n; j++) {
			assert_true(tk[j].ts_ns >= bar->ts_ns &&
				    tk[j].ts_ns < bar->ts_ns + SLOB_NS_PER_MIN);
			if (j)
				assert_true(tk[j].ts_ns > tk[j - 1].ts_ns);
			if (tk[j].px > h)
				h = tk[j].px;
			if (tk[j].px < l)
				l = tk[j].px;
			assert_true(tk[j].size >= 1);
		}
		assert_int_equal(tk[0].px, bar->open);
		assert_int_equal(tk[n - 1].px, bar->close);
		assert_int_equal(h, bar->high);
		assert_int_equal(l, bar->low);
	}
	/* bad params are refused with a message */
	slob_gen_out_free(&b);
	p.days = 0;
	assert_int_equal(slob_gen_run(&p, &b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "days"));
	assert_int_equal(slob_gen_preset(&p, "nope"), -ENOENT);
	slob_gen_out_free(&a);
	slob_gen_out_free(&b);
}

static void test_gen_sample_golden(void **state)
{
	(void)state;
	/* Pins the sample data: integer-only generation must give these bytes on
	 * every machine, compiler and optimisation level. A deliberate change of
	 * the generator updates these constants (and says so in its commit). */
	struct slob_gen_params p;
	struct slob_gen_out g;
	char err[256];
	assert_int_equal(slob_gen_preset(&p, "sample"), 0);
	assert_int_equal(slob_gen_run(&p, &g, err, sizeof(err)), 0);
	assert_int_equal(g.nbars, 6900);
	assert_int_equal(g.ntruth, 5);
	assert_int_equal(XXH3_64bits(g.bars, g.nbars * sizeof(*g.bars)), 0x7e7756967ea93756ULL);
	assert_int_equal(XXH3_64bits(g.truth, g.ntruth * sizeof(*g.truth)), 0x71635b6999054f1dULL);
	struct slob_tick tk[SLOB_GEN_MAX_TICKS_PER_BAR];
	unsigned n = slob_gen_bar_ticks(p.seed, &g.bars[100], tk, SLOB_GEN_MAX_TICKS_PER_BAR);
	assert_int_equal(n, 5);
	assert_int_equal(XXH3_64bits(tk, n * sizeof(*tk)), 0x8c34cf2f0d4af2acULL);
	slob_gen_out_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gen_sample_week_truth),
	    cmocka_unit_test(test_gen_quarter_truth_both_dirs_random),
	    cmocka_unit_test(test_gen_deterministic_and_ticks_exact),
	    cmocka_unit_test(test_gen_sample_golden),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
