/* SPDX-License-Identifier: MIT */
/*
 * test_gen_truth_stress.c: the ground-truth check of test_gen_truth.c over
 * whole generated years (a setup injected every weekday, random directions):
 * ticks -> candles -> detector, every injected setup found with the exact
 * entry, SL and TP. Size knob: SLOB_STRESS_YEARS (default 1; each year is
 * about 2.7 M ticks and 250 injected setups, a few seconds).
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

static void test_gen_years_truth(void **state)
{
	(void)state;
	const char *e = getenv("SLOB_STRESS_YEARS");
	int years = e ? atoi(e) : 1;
	if (years < 1)
		years = 1;
	size_t injected = 0;
	for (int y = 0; y < years; y++) {
		struct slob_gen_params p;
		struct slob_gen_out g;
		struct slob_detector_params dp;
		char err[256];
		assert_int_equal(slob_gen_preset(&p, "year"), 0);
		p.seed = 1000 + (uint64_t)y;
		p.inject_every = 1;
		p.dir_mode = SLOB_GEN_DIR_RANDOM;
		assert_int_equal(slob_gen_run(&p, &g, err, sizeof(err)), 0);
		assert_true(g.ntruth > 200);
		slob_detector_params_default(&dp);
		size_t nf, nb;
		struct gen_truth_found *f = gen_truth_replay(&g, p.seed, &dp, &nf, &nb);
		assert_int_equal(nb, g.nbars);
		gen_truth_check(&g, f, nf);
		injected += g.ntruth;
		print_message("year seed %llu: %zu bars, %zu injected, %zu setups found\n",
			      (unsigned long long)p.seed, g.nbars, g.ntruth, nf);
		free(f);
		slob_gen_out_free(&g);
	}
	print_message("%zu injected setups over %d year(s), all found exactly\n", injected, years);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gen_years_truth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
