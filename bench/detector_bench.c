/* SPDX-License-Identifier: MIT */
/*
 * detector_bench: throughput of the SLOB setup detector alone
 * (slob_detector_on_bar, no rings) over a generated year of M1 bars:
 *   walk     plain random walk (engine/gen.h, no injection)
 *   inject   the same generator with a setup injected every weekday
 *   calm     random walk at 0.3x volatility (tight ranges)
 *   dense    calm with liq1_throttle = 0: a candidate on every bar beyond an
 *            LSE level, so many are alive at once (the pool-pressure case)
 * Each scenario is run `reps` times (argument 1, default 7); the median is
 * reported with min/max, bars/s, ns/bar, the peak number of live candidates
 * and the ratio to the original Python tracker's ~26,000 bars/s. The last
 * line is parseable key=value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/detector.h"
#include "engine/gen.h"

#define PY_BARS_PER_SEC 26000.0

/* CPU time of this thread: on the shared, loaded 2-core VM wall time mostly
 * measures other people's compilers; both are reported */
static double cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct result {
	const char *name;
	size_t bars;
	double med_ns, min_ns, max_ns; /* CPU time per bar */
	double wall_med_ns;
	double bars_per_s;
	uint64_t peak, setups, created;
};

static int run(const char *name, const struct slob_gen_params *gp, int throttle, int reps,
	       struct result *res)
{
	struct slob_gen_out g;
	struct slob_detector d;
	struct slob_detector_params dp;
	struct slob_instrument in;
	char err[256];
	if (slob_gen_run(gp, &g, err, sizeof(err))) {
		fprintf(stderr, "detector_bench: %s\n", err);
		return -1;
	}
	slob_instrument_nq(&in);
	slob_detector_params_default(&dp);
	dp.liq1_throttle = throttle;
	if (slob_detector_init(&d, &dp, &in, err, sizeof(err))) {
		fprintf(stderr, "detector_bench: %s\n", err);
		return -1;
	}
	struct slob_sig *out = calloc(slob_detector_max_out(&d), sizeof(*out));
	double *t = calloc((size_t)reps, sizeof(double));
	double *tw = calloc((size_t)reps, sizeof(double));
	uint64_t sink = 0;
	for (int r = 0; r < reps; r++) {
		slob_detector_reset(&d);
		double w0 = now_s(), t0 = cpu_s();
		for (size_t i = 0; i < g.nbars; i++) {
			int n =
			    slob_detector_on_bar(&d, &g.bars[i], out, slob_detector_max_out(&d));
			sink += (uint64_t)n + (uint64_t)out[n - 1].ts_ns;
		}
		t[r] = (cpu_s() - t0) * 1e9 / (double)g.nbars;
		tw[r] = (now_s() - w0) * 1e9 / (double)g.nbars;
	}
	qsort(t, (size_t)reps, sizeof(double), cmp_d);
	qsort(tw, (size_t)reps, sizeof(double), cmp_d);
	res->wall_med_ns = tw[reps / 2];
	res->name = name;
	res->bars = g.nbars;
	res->med_ns = t[reps / 2];
	res->min_ns = t[0];
	res->max_ns = t[reps - 1];
	res->bars_per_s = 1e9 / res->med_ns;
	res->peak = d.stats.live_peak;
	res->setups = d.stats.completed[0] + d.stats.completed[1];
	res->created = d.stats.created[0] + d.stats.created[1];
	if (sink == 42)
		puts("");
	free(t);
	free(tw);
	free(out);
	slob_detector_destroy(&d);
	slob_gen_out_free(&g);
	return 0;
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 7;
	if (reps < 1 || reps > 1000) {
		fprintf(stderr, "usage: detector_bench [reps 1..1000]\n");
		return 2;
	}
	struct slob_gen_params walk, inject, calm;
	slob_gen_preset(&walk, "walk-year");
	slob_gen_preset(&inject, "year");
	inject.inject_every = 1;
	slob_gen_preset(&calm, "walk-year");
	calm.vol_scale = 0.3;
	struct result r[4];
	if (run("walk", &walk, 5, reps, &r[0]) || run("inject", &inject, 5, reps, &r[1]) ||
	    run("calm", &calm, 5, reps, &r[2]) || run("dense", &calm, 0, reps, &r[3]))
		return 1;
	printf("detector_bench: %d reps per scenario, generated year 2026 (seed 2026), default "
	       "params (dense: liq1_throttle=0)\n",
	       reps);
	printf("ns/bar = thread CPU time per bar (median, min, max over reps); wall = median wall "
	       "time\n");
	printf("%-8s %9s %8s %8s %8s %8s %14s %9s %5s %8s %7s\n", "scenario", "bars", "ns/bar",
	       "min", "max", "wall", "bars/s", "x python", "peak", "created", "setups");
	for (int i = 0; i < 4; i++)
		printf("%-8s %9zu %8.2f %8.2f %8.2f %8.2f %14.0f %9.0f %5llu %8llu %7llu\n",
		       r[i].name, r[i].bars, r[i].med_ns, r[i].min_ns, r[i].max_ns,
		       r[i].wall_med_ns, r[i].bars_per_s, r[i].bars_per_s / PY_BARS_PER_SEC,
		       (unsigned long long)r[i].peak, (unsigned long long)r[i].created,
		       (unsigned long long)r[i].setups);
	printf("walk_wall_ns_per_bar=%.2f ", r[0].wall_med_ns);
	printf(
	    "walk_ns_per_bar=%.2f walk_bars_per_s=%.0f walk_x_python=%.0f walk_peak_live=%llu "
	    "inject_ns_per_bar=%.2f inject_bars_per_s=%.0f inject_setups=%llu "
	    "calm_ns_per_bar=%.2f calm_peak_live=%llu dense_ns_per_bar=%.2f dense_peak_live=%llu\n",
	    r[0].med_ns, r[0].bars_per_s, r[0].bars_per_s / PY_BARS_PER_SEC,
	    (unsigned long long)r[0].peak, r[1].med_ns, r[1].bars_per_s,
	    (unsigned long long)r[1].setups, r[2].med_ns, (unsigned long long)r[2].peak,
	    r[3].med_ns, (unsigned long long)r[3].peak);
	return 0;
}
