/* SPDX-License-Identifier: MIT */
/*
 * slob-gen: deterministic synthetic NQ-like market data for replays, tests
 * and benchmarks (engine/gen.h). Writes ticks (CSV and/or the binary tick
 * format of engine/tickfile.h), optionally the M1 bars, and a ground-truth
 * CSV of every injected SLOB setup. `--sample DIR` writes the small sample
 * week the README's main job replays through slobd. docs/GENERATOR.md
 * documents the options and the file formats. Every output is written
 * atomically (persist/fsutil.h): all of it, or nothing if the run fails.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "engine/event.h"
#include "engine/gen.h"
#include "engine/tickfile.h"
#include "persist/fsutil.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: slob-gen [options]\n"
	    "  --sample DIR          the sample week: DIR/sample.ticks (binary), sample.ticks.csv, "
	    "sample.bars.csv, sample.truth.csv\n"
	    "  --preset NAME         sample | year | walk-year (later options override it)\n"
	    "  --seed N              random seed (default 1)\n"
	    "  --start YYYY-MM-DD    first calendar day, Stockholm date (default 2026-01-12)\n"
	    "  --days N | --weeks N  length in calendar days / weeks (default 5 days)\n"
	    "  --mode inject|walk    inject SLOB setups (default) or plain random walk\n"
	    "  --inject-every N      inject on every Nth weekday (default 1)\n"
	    "  --dir alternate|short|long|random   direction of injected setups\n"
	    "  --price P             start price in points (default 20000)\n"
	    "  --tick-size X         tick size in points (default 0.25)\n"
	    "  --vol X               volatility multiplier (default 1.0)\n"
	    "  --ticks-per-min N     mean ticks per minute (default 8)\n"
	    "  --nyse-anchor new_york|stockholm   NYSE open used for injection (default new_york)\n"
	    "  --csv FILE            write ticks as CSV (timestamp,price,size; ns timestamps)\n"
	    "  --iso                 CSV timestamps as ISO-8601 UTC instead of ns\n"
	    "  --bin FILE            write ticks in the binary tick format\n"
	    "  --bars FILE           write M1 bars as CSV (time,open,high,low,close,volume)\n"
	    "  --truth FILE          write the ground truth of injected setups as CSV\n"
	    "  -q, --quiet           no summary on stderr\n");
}

static int parse_ymd(const char *s, int32_t *out)
{
	int y, m, d, n = 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || s[n] != '\0' || m < 1 || m > 12 ||
	    d < 1 || d > 31 || y < 1971 || y > 2100)
		return -EINVAL;
	*out = y * 10000 + m * 100 + d;
	return 0;
}

static int parse_long(const char *opt, const char *v, long lo, long hi, long *out)
{
	char *e;
	errno = 0;
	long x = strtol(v, &e, 10);
	if (errno || e == v || *e || x < lo || x > hi) {
		fprintf(stderr, "slob-gen: %s: '%s' must be an integer in [%ld, %ld]\n", opt, v, lo,
			hi);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

static int parse_dbl(const char *opt, const char *v, double lo, double hi, double *out)
{
	char *e;
	errno = 0;
	double x = strtod(v, &e);
	if (errno || e == v || *e || !(x >= lo && x <= hi)) {
		fprintf(stderr, "slob-gen: %s: '%s' must be a number in [%g, %g]\n", opt, v, lo,
			hi);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

static int write_truth(const char *path, const struct slob_gen_out *g, double tick_size)
{
	struct slob_fs_out out;
	char err[512];
	int rc = slob_fs_out_open(&out, path, 0644, NULL, err, sizeof(err));
	FILE *f = rc < 0 ? NULL : slob_fs_out_stream(&out);
	if (!f) {
		fprintf(stderr, "slob-gen: %s\n", rc < 0 ? err : strerror(ENOMEM));
		slob_fs_out_abort(&out);
		return rc < 0 ? rc : -ENOMEM;
	}
	int64_t tn = slob_tick_nano(tick_size);
	fprintf(f, "id,dir,lse_high,lse_low,liq1_time,liq1_price,cons_start,cons_end,cons_high,"
		   "cons_low,nowick_time,nw_high,nw_low,confirm_time,liq2_time,liq2_price,"
		   "entry_time,entry,sl,tp,spike_branch,rr\n");
	for (size_t i = 0; i < g->ntruth; i++) {
		const struct slob_gen_truth *t = &g->truth[i];
		char px[12][32], tm[7][48];
		int32_t pv[] = {t->lse_high, t->lse_low, t->liq1_px, t->cons_high,
				t->cons_low, t->nw_high, t->nw_low,  t->liq2_px,
				t->entry,    t->sl,	 t->tp};
		int64_t tv[] = {t->liq1_ns,    t->cons_start_ns, t->cons_end_ns, t->nowick_ns,
				t->confirm_ns, t->liq2_ns,	 t->entry_ns};
		for (int k = 0; k < 11; k++)
			slob_format_price(px[k], sizeof(px[k]), pv[k], tn);
		for (int k = 0; k < 7; k++)
			slob_format_time_iso(tm[k], sizeof(tm[k]), tv[k]);
		int64_t risk = t->dir == SLOB_SHORT ? t->sl - t->entry : t->entry - t->sl;
		int64_t reward = t->dir == SLOB_SHORT ? t->entry - t->tp : t->tp - t->entry;
		fprintf(
		    f, "%016llx,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%d,%.4f\n",
		    (unsigned long long)t->id, t->dir == SLOB_SHORT ? "SHORT" : "LONG", px[0],
		    px[1], tm[0], px[2], tm[1], tm[2], px[3], px[4], tm[3], px[5], px[6], tm[4],
		    tm[5], px[7], tm[6], px[8], px[9], px[10], t->spike_branch,
		    risk > 0 ? (double)reward / (double)risk : 0.0);
	}
	if ((rc = slob_fs_out_commit(&out, err, sizeof(err))) < 0) {
		fprintf(stderr, "slob-gen: %s\n", err);
		return rc;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct slob_gen_params p;
	const char *csv = NULL, *bin = NULL, *bars = NULL, *truth = NULL, *sample = NULL;
	int iso = 0, quiet = 0;
	long lv;
	char paths[4][1024];

	slob_gen_params_default(&p);
	static const struct option opts[] = {
	    {"sample", required_argument, 0, 'S'},
	    {"preset", required_argument, 0, 'P'},
	    {"seed", required_argument, 0, 's'},
	    {"start", required_argument, 0, 'b'},
	    {"days", required_argument, 0, 'd'},
	    {"weeks", required_argument, 0, 'w'},
	    {"mode", required_argument, 0, 'm'},
	    {"inject-every", required_argument, 0, 'e'},
	    {"dir", required_argument, 0, 'D'},
	    {"price", required_argument, 0, 'p'},
	    {"tick-size", required_argument, 0, 't'},
	    {"vol", required_argument, 0, 'v'},
	    {"ticks-per-min", required_argument, 0, 'n'},
	    {"nyse-anchor", required_argument, 0, 'a'},
	    {"csv", required_argument, 0, 'c'},
	    {"iso", no_argument, 0, 'I'},
	    {"bin", required_argument, 0, 'B'},
	    {"bars", required_argument, 0, 'r'},
	    {"truth", required_argument, 0, 'T'},
	    {"quiet", no_argument, 0, 'q'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			sample = optarg;
			if (slob_gen_preset(&p, "sample"))
				return 2;
			break;
		case 'P':
			if (slob_gen_preset(&p, optarg)) {
				fprintf(stderr,
					"slob-gen: --preset: '%s' is not one of sample, year, "
					"walk-year\n",
					optarg);
				return 2;
			}
			break;
		case 's': {
			char *e;
			errno = 0;
			unsigned long long x = strtoull(optarg, &e, 0);
			if (errno || e == optarg || *e) {
				fprintf(stderr,
					"slob-gen: --seed: '%s' is not an unsigned integer\n",
					optarg);
				return 2;
			}
			p.seed = x;
			break;
		}
		case 'b':
			if (parse_ymd(optarg, &p.start_ymd)) {
				fprintf(stderr,
					"slob-gen: --start: '%s' is not a date YYYY-MM-DD "
					"(1971..2100)\n",
					optarg);
				return 2;
			}
			break;
		case 'd':
			if (parse_long("--days", optarg, 1, 3660, &lv))
				return 2;
			p.days = (int32_t)lv;
			break;
		case 'w':
			if (parse_long("--weeks", optarg, 1, 520, &lv))
				return 2;
			p.days = (int32_t)lv * 7;
			break;
		case 'm':
			if (!strcmp(optarg, "inject"))
				p.inject = 1;
			else if (!strcmp(optarg, "walk"))
				p.inject = 0;
			else {
				fprintf(stderr, "slob-gen: --mode: '%s' must be inject or walk\n",
					optarg);
				return 2;
			}
			break;
		case 'e':
			if (parse_long("--inject-every", optarg, 1, 1000, &lv))
				return 2;
			p.inject_every = (int32_t)lv;
			break;
		case 'D':
			if (!strcmp(optarg, "alternate"))
				p.dir_mode = SLOB_GEN_DIR_ALTERNATE;
			else if (!strcmp(optarg, "short"))
				p.dir_mode = SLOB_GEN_DIR_SHORT;
			else if (!strcmp(optarg, "long"))
				p.dir_mode = SLOB_GEN_DIR_LONG;
			else if (!strcmp(optarg, "random"))
				p.dir_mode = SLOB_GEN_DIR_RANDOM;
			else {
				fprintf(stderr,
					"slob-gen: --dir: '%s' must be alternate, short, long or "
					"random\n",
					optarg);
				return 2;
			}
			break;
		case 'p':
			if (parse_dbl("--price", optarg, 100, 1e6, &p.start_price))
				return 2;
			break;
		case 't':
			if (parse_dbl("--tick-size", optarg, 0.0001, 100, &p.tick_size))
				return 2;
			break;
		case 'v':
			if (parse_dbl("--vol", optarg, 0.01, 100, &p.vol_scale))
				return 2;
			break;
		case 'n':
			if (parse_long("--ticks-per-min", optarg, 1, 1000, &lv))
				return 2;
			p.ticks_per_min = (int32_t)lv;
			break;
		case 'a':
			if (!strcmp(optarg, "new_york"))
				p.nyse_anchor_ny = 1;
			else if (!strcmp(optarg, "stockholm"))
				p.nyse_anchor_ny = 0;
			else {
				fprintf(
				    stderr,
				    "slob-gen: --nyse-anchor: '%s' must be new_york or stockholm\n",
				    optarg);
				return 2;
			}
			break;
		case 'c':
			csv = optarg;
			break;
		case 'I':
			iso = 1;
			break;
		case 'B':
			bin = optarg;
			break;
		case 'r':
			bars = optarg;
			break;
		case 'T':
			truth = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "slob-gen: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (sample) {
		if (mkdir(sample, 0755) != 0 && errno != EEXIST) {
			fprintf(stderr, "slob-gen: --sample: cannot create %s: %s\n", sample,
				strerror(errno));
			return 1;
		}
		snprintf(paths[0], sizeof(paths[0]), "%s/sample.ticks.csv", sample);
		snprintf(paths[1], sizeof(paths[1]), "%s/sample.ticks",
			 sample); /* binary; scripts/run.sh replays it */
		snprintf(paths[2], sizeof(paths[2]), "%s/sample.bars.csv", sample);
		snprintf(paths[3], sizeof(paths[3]), "%s/sample.truth.csv", sample);
		if (!csv)
			csv = paths[0];
		if (!bin)
			bin = paths[1];
		if (!bars)
			bars = paths[2];
		if (!truth)
			truth = paths[3];
	}
	if (!csv && !bin && !bars && !truth) {
		fprintf(stderr, "slob-gen: nothing to write (give --csv, --bin, --bars, --truth or "
				"--sample)\n");
		usage(stderr);
		return 2;
	}

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct slob_gen_out g;
	char err[256];
	int rc = slob_gen_run(&p, &g, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "slob-gen: %s\n", err);
		return 1;
	}
	struct slob_tickcsv_writer *cw = NULL;
	struct slob_tickbin_writer *bw = NULL;
	FILE *bf = NULL;
	struct slob_fs_out bout = {.fd = -1};
	int ret = 1;
	uint64_t nticks = 0;
	if (csv && (rc = slob_tickcsv_writer_open(&cw, csv, p.tick_size, iso))) {
		fprintf(stderr, "slob-gen: %s: %s\n", csv, slob_tickfile_strerror());
		goto out;
	}
	if (bin && (rc = slob_tickbin_writer_open(&bw, bin, "NQ", p.tick_size))) {
		fprintf(stderr, "slob-gen: %s: %s\n", bin, slob_tickfile_strerror());
		goto out;
	}
	if (bars) {
		if (slob_fs_out_open(&bout, bars, 0644, NULL, err, sizeof(err)) < 0) {
			fprintf(stderr, "slob-gen: %s\n", err);
			goto out;
		}
		bf = slob_fs_out_stream(&bout);
		if (!bf) {
			fprintf(stderr, "slob-gen: %s: %s\n", bars, strerror(ENOMEM));
			goto out;
		}
		fprintf(bf, "time,open,high,low,close,volume\n");
	}
	int64_t tn = slob_tick_nano(p.tick_size);
	struct slob_tick tk[SLOB_GEN_MAX_TICKS_PER_BAR];
	for (size_t i = 0; i < g.nbars; i++) {
		const struct slob_bar *b = &g.bars[i];
		unsigned n = slob_gen_bar_ticks(p.seed, b, tk, SLOB_GEN_MAX_TICKS_PER_BAR);
		uint64_t vol = 0;
		for (unsigned k = 0; k < n; k++) {
			vol += tk[k].size;
			if (cw && (rc = slob_tickcsv_writer_append(cw, tk[k].ts_ns, tk[k].px,
								   tk[k].size))) {
				fprintf(stderr, "slob-gen: %s: %s\n", csv,
					slob_tickfile_strerror());
				goto out;
			}
			if (bw && (rc = slob_tickbin_writer_append(bw, tk[k].ts_ns, tk[k].px,
								   tk[k].size))) {
				fprintf(stderr, "slob-gen: %s: %s\n", bin,
					slob_tickfile_strerror());
				goto out;
			}
		}
		nticks += n;
		if (bf) {
			char ts[48], o[32], h[32], l[32], cl[32];
			slob_format_time_iso(ts, sizeof(ts), b->ts_ns);
			slob_format_price(o, sizeof(o), b->open, tn);
			slob_format_price(h, sizeof(h), b->high, tn);
			slob_format_price(l, sizeof(l), b->low, tn);
			slob_format_price(cl, sizeof(cl), b->close, tn);
			fprintf(bf, "%s,%s,%s,%s,%s,%llu\n", ts, o, h, l, cl,
				(unsigned long long)vol);
		}
	}
	if (cw) {
		rc = slob_tickcsv_writer_close(cw);
		cw = NULL;
		if (rc) {
			fprintf(stderr, "slob-gen: %s: %s\n", csv, slob_tickfile_strerror());
			goto out;
		}
	}
	if (bw) {
		rc = slob_tickbin_writer_close(bw);
		bw = NULL;
		if (rc) {
			fprintf(stderr, "slob-gen: %s: %s\n", bin, slob_tickfile_strerror());
			goto out;
		}
	}
	if (bf) {
		rc = slob_fs_out_commit(&bout, err, sizeof(err));
		bf = NULL;
		if (rc) {
			fprintf(stderr, "slob-gen: %s\n", err);
			goto out;
		}
	}
	if (truth && write_truth(truth, &g, p.tick_size))
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!quiet) {
		size_t ns = 0;
		for (size_t i = 0; i < g.ntruth; i++)
			ns += g.truth[i].dir == SLOB_SHORT;
		fprintf(stderr,
			"slob-gen: seed %llu, %d days from %d: %zu bars, %llu ticks, %zu setups "
			"injected "
			"(%zu SHORT, %zu LONG), %zu injection days skipped, %.2f s\n",
			(unsigned long long)p.seed, p.days, p.start_ymd, g.nbars,
			(unsigned long long)nticks, g.ntruth, ns, g.ntruth - ns, g.skipped_days,
			(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	ret = 0;
out:
	/* a failed run leaves none of its outputs half-written */
	slob_tickcsv_writer_abort(cw);
	slob_tickbin_writer_abort(bw);
	if (bf)
		slob_fs_out_abort(&bout);
	slob_gen_out_free(&g);
	return ret;
}
