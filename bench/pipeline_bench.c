/* SPDX-License-Identifier: MIT */
/*
 * pipeline_bench: the whole pipeline (ingest -> candles -> detector -> risk
 * -> sender's paper broker -> cold SQLite store) on generated data.
 *
 *  1. Throughput: a generated year of NQ-like ticks (setups injected every
 *     third weekday) replayed as fast as possible, hot stages pinned on CPU 0
 *     and the cold thread on CPU 1 (the 2-core default), RUNS times: ticks/s
 *     through the hot path and end to end (store drained), peak ring fill,
 *     store rows, and the allocations made inside hot-stage polls after
 *     start-up (counted by a malloc interposer in this program; must be 0).
 *  2. Latency: a paced replay (real time x PACE) of generated days with
 *     relaxed risk limits so that about a thousand brackets are sent:
 *     tick received -> order submitted, p50/p99/p99.9/max. Pacing stamps
 *     each tick when it is due, so a late pipeline shows up as latency.
 *
 * usage: pipeline_bench [--days N] [--runs R] [--paced-days N] [--pace X]
 *                       [--skip-paced] [--layout L] [--set KEY=VALUE]...
 *                       [--cold-flood] [--journal]
 *  3. With --cold-flood: the paced replay again with the cold writer
 *     saturated by a flooding producer (issue 8: hot p99 unchanged).
 *  4. With --journal: every run opens an order journal (engine/journal.h) in
 *     its data directory, as slobd does, so the sender appends a record
 *     before every bracket and the cold thread msyncs it.
 * Last line: pipeline_ticks_per_s=... pipeline_p99_ns=... hot_allocs=...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/config.h"
#include "engine/gen.h"
#include "engine/journal.h"
#include "engine/pipeline.h"
#include "engine/tickfile.h"
#include "persist/recover.h"
#include "persist/store.h"

/* ---- allocation counting inside hot polls ---------------------------------- */

static __thread int in_hot;
static unsigned long hot_allocs; /* atomic */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

void *malloc(size_t n)
{
	if (in_hot)
		__atomic_fetch_add(&hot_allocs, 1, __ATOMIC_RELAXED);
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	if (in_hot)
		__atomic_fetch_add(&hot_allocs, 1, __ATOMIC_RELAXED);
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	if (in_hot)
		__atomic_fetch_add(&hot_allocs, 1, __ATOMIC_RELAXED);
	return __libc_realloc(p, n);
}

#define MAX_WRAP 16
static struct {
	slob_stage_t *st;
	slob_stage_poll_fn poll;
} wraps[MAX_WRAP];
static unsigned nwraps;

static int hot_poll(slob_stage_t *st)
{
	for (unsigned i = 0; i < nwraps; i++) {
		if (wraps[i].st == st) {
			in_hot = 1;
			int r = wraps[i].poll(st);
			in_hot = 0;
			return r;
		}
	}
	return -EINVAL;
}

static void wrap_hot_stages(slob_pipeline_t *p)
{
	struct slob_topology *t = slob_pipeline_topology(p);
	nwraps = 0;
	for (unsigned i = 0; i < t->nstages && nwraps < MAX_WRAP; i++) {
		slob_stage_t *st = t->stages[i].stage;
		if (st == NULL || !strcmp(t->stages[i].name, "cold"))
			continue;
		wraps[nwraps].st = st;
		wraps[nwraps].poll = st->poll;
		nwraps++;
		st->poll = hot_poll;
	}
}

/* ---- data ------------------------------------------------------------------ */

static int gen_file(const char *path, int days, int inject_every, uint64_t seed)
{
	struct slob_gen_params gp;
	slob_gen_params_default(&gp);
	gp.seed = seed;
	gp.start_ymd = 20260101;
	gp.days = days;
	gp.inject = inject_every > 0;
	gp.inject_every = inject_every > 0 ? inject_every : 1;
	struct slob_gen_out go;
	char err[256];
	if (slob_gen_run(&gp, &go, err, sizeof(err)) < 0) {
		fprintf(stderr, "pipeline_bench: generator: %s\n", err);
		return -1;
	}
	struct slob_tickbin_writer *w;
	if (slob_tickbin_writer_open(&w, path, "NQ", 0.25) < 0)
		return -1;
	struct slob_tick t[64];
	for (size_t i = 0; i < go.nbars; i++) {
		unsigned n = slob_gen_bar_ticks(seed, &go.bars[i], t, 64);
		for (unsigned k = 0; k < n; k++)
			slob_tickbin_writer_append(w, t[k].ts_ns, t[k].px, t[k].size);
	}
	slob_gen_out_free(&go);
	return slob_tickbin_writer_close(w);
}

struct run_opts {
	const char *file, *dir, *layout;
	double pace;
	bool relaxed;
	bool flood; /* saturate the cold writer for the whole run */
	bool journal; /* open an order journal, as slobd does */
};

/*
 * --cold-flood: a thread pinned to the cold CPU (1) pushes candle records
 * for far-future minutes into the cold writer through the pipeline's control
 * ring whenever it has room (sleeping 50 us when it is full), so the writer
 * is saturated (never without a backlog to drain) while the paced replay
 * runs, without the flooder itself spinning on CPU 1. It is the only caller
 * of slob_pipeline_control_put here.
 */
struct flood {
	slob_pipeline_t *p;
	int stop;
	uint64_t put;
};

static uint64_t last_flood_put; /* records the last flooded run queued */
static uint64_t last_journal_recs; /* order journal records of the last run */

static void *flood_main(void *arg)
{
	struct flood *f = arg;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	struct slob_cold r;
	for (uint64_t k = 0; !__atomic_load_n(&f->stop, __ATOMIC_RELAXED); k++) {
		memset(&r, 0, sizeof(r));
		r.type = SLOB_COLD_BAR;
		r.cls = SLOB_CLASS_INFO;
		r.ts_ns = 4102444800000000000LL + (int64_t)k * 60000000000LL; /* 2100 on */
		r.u.bar = (struct slob_bar){.ts_ns = r.ts_ns, .open = 80000, .high = 80010,
					    .low = 79990, .close = 80005, .volume = 1, .ticks = 1};
		if (slob_pipeline_control_room(f->p) < 64) {
			usleep(50); /* nearly full: the writer has ~1 000 records to drain (~2 ms) */
			continue;
		}
		if (slob_pipeline_control_put(f->p, &r) == 0)
			f->put++;
	}
	return NULL;
}

/* --set KEY=VALUE, applied to every run after the bench's own settings */
static const char *extra_sets[32];
static int n_extra_sets;

static int run_once(const struct run_opts *ro, int idx, struct slob_pipeline_summary *sum,
		    int64_t *rows)
{
	struct slob_config cfg;
	char err[512];
	slob_config_init(&cfg);
	static const char *const sets[] = {
		"instrument.symbol=MNQ", "instrument.point_value=2",
	};
	static const char *const relaxed[] = {
		"risk.max_drawdown_pct=0", "risk.daily_loss_limit=0",
		"risk.max_concurrent_positions=64", "risk.order_rate_limit=1000",
		"risk.trading_start=00:00", "risk.trading_end=23:59",
	};
	for (unsigned i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		slob_config_set(&cfg, sets[i], err, sizeof(err));
	for (unsigned i = 0; ro->relaxed && i < sizeof(relaxed) / sizeof(relaxed[0]); i++)
		if (slob_config_set(&cfg, relaxed[i], err, sizeof(err)) < 0)
			fprintf(stderr, "pipeline_bench: %s\n", err);
	for (int i = 0; i < n_extra_sets; i++)
		if (slob_config_set(&cfg, extra_sets[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "pipeline_bench: --set %s\n", err);
			return -1;
		}
	struct slob_pipeline_opts o;
	if (slob_pipeline_opts_from_config(&o, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "pipeline_bench: %s\n", err);
		return -1;
	}
	char db[700];
	snprintf(db, sizeof(db), "%s/run%d/slob_state.db", ro->dir, idx);
	struct slob_startup st;
	memset(&st, 0, sizeof(st));
	if (slob_recover_startup(db, NULL, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "pipeline_bench: %s\n", err);
		return -1;
	}
	struct slob_journal jn;
	memset(&jn, 0, sizeof(jn));
	if (ro->journal) {
		char jpath[720];
		snprintf(jpath, sizeof(jpath), "%s/run%d/" SLOB_JOURNAL_FILE, ro->dir, idx);
		if (slob_journal_open(&jn, jpath, err, sizeof(err)) < 0) {
			fprintf(stderr, "pipeline_bench: %s\n", err);
			slob_recover_shutdown(&st);
			slob_config_free(&cfg);
			return -1;
		}
		o.journal = &jn;
	}
	snprintf(o.ingest.path, sizeof(o.ingest.path), "%s", ro->file);
	o.ingest.pace = ro->pace;
	o.store = st.store;
	o.layout = ro->layout;
	slob_pipeline_t *p = NULL;
	int rc = slob_pipeline_build(&p, &o, err, sizeof(err));
	if (rc == 0) {
		wrap_hot_stages(p);
		rc = slob_pipeline_start(p, err, sizeof(err));
	}
	struct flood fl = {.p = p};
	pthread_t ft;
	bool flooding = rc == 0 && ro->flood && pthread_create(&ft, NULL, flood_main, &fl) == 0;
	if (rc == 0)
		rc = slob_pipeline_wait(p, NULL, NULL);
	if (flooding) {
		__atomic_store_n(&fl.stop, 1, __ATOMIC_RELAXED);
		pthread_join(ft, NULL);
		last_flood_put = fl.put;
	}
	if (rc == 0)
		slob_pipeline_summary(p, sum);
	else
		fprintf(stderr, "pipeline_bench: %s\n", p ? slob_pipeline_error(p) : err);
	slob_pipeline_free(p);
	last_journal_recs = jn.next;
	slob_journal_close(&jn);
	*rows = slob_store_query_i64(st.store,
				     "SELECT (SELECT COUNT(*) FROM candles)+(SELECT COUNT(*) FROM active_setups)"
				     "+(SELECT COUNT(*) FROM orders)+(SELECT COUNT(*) FROM fills)"
				     "+(SELECT COUNT(*) FROM trade_history)+(SELECT COUNT(*) FROM decisions)");
	slob_recover_shutdown(&st);
	slob_config_free(&cfg);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int days = 365, runs = 3, paced_days = 450;
	double pace = 1e6;
	bool skip_paced = false, cold_flood = false, journal = false;
	const char *layout = "auto";
	static const struct option opts[] = {
		{"days", required_argument, 0, 'd'},       {"runs", required_argument, 0, 'r'},
		{"paced-days", required_argument, 0, 'p'}, {"pace", required_argument, 0, 'x'},
		{"skip-paced", no_argument, 0, 's'},       {"layout", required_argument, 0, 'l'},
		{"set", required_argument, 0, 'S'},        {"cold-flood", no_argument, 0, 'F'},
		{"journal", no_argument, 0, 'J'},
		{0, 0, 0, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': days = atoi(optarg); break;
		case 'r': runs = atoi(optarg); break;
		case 'p': paced_days = atoi(optarg); break;
		case 'x': pace = atof(optarg); break;
		case 's': skip_paced = true; break;
		case 'l': layout = optarg; break;
		case 'F': cold_flood = true; break;
		case 'J': journal = true; break;
		case 'S':
			if (n_extra_sets < (int)(sizeof(extra_sets) / sizeof(extra_sets[0])))
				extra_sets[n_extra_sets++] = optarg;
			break;
		default:
			fprintf(stderr, "usage: pipeline_bench [--days N] [--runs R] [--paced-days N] "
					"[--pace X] [--skip-paced] [--layout L] [--set KEY=VALUE]... [--cold-flood] "
					"[--journal]\n");
			return 2;
		}
	}
	if (runs < 1 || runs > 15)
		runs = 3;
	char dir[] = "/tmp/slob-pipeline-bench-XXXXXX";
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	char file[600];
	snprintf(file, sizeof(file), "%s/year.ticks", dir);
	if (gen_file(file, days, 3, 2026) < 0)
		return 1;

	double hot[15], e2e[15];
	struct slob_pipeline_summary s = {0};
	int64_t rows = 0;
	unsigned long allocs = 0;
	uint64_t digest0 = 0, peak = 0;
	for (int r = 0; r < runs; r++) {
		struct run_opts ro = {.file = file, .dir = dir, .layout = layout, .journal = journal};
		__atomic_store_n(&hot_allocs, 0, __ATOMIC_RELAXED);
		if (run_once(&ro, r, &s, &rows) < 0)
			return 1;
		allocs += __atomic_load_n(&hot_allocs, __ATOMIC_RELAXED);
		hot[r] = (double)s.ticks / s.hot_seconds;
		e2e[r] = (double)s.ticks / s.seconds;
		if (r == 0)
			digest0 = s.digest;
		else if (s.digest != digest0)
			fprintf(stderr, "pipeline_bench: WARNING: digest differs between runs\n");
		if (s.peak_ring_fill > peak)
			peak = s.peak_ring_fill;
		printf("run %d: %llu ticks, %llu bars, %llu setups, %llu orders; hot %.3f s (%.2f M ticks/s), "
		       "end to end %.3f s (%.2f M ticks/s), store rows %lld, cold dropped %llu\n",
		       r, (unsigned long long)s.ticks, (unsigned long long)s.bars,
		       (unsigned long long)s.setups, (unsigned long long)s.brackets, s.hot_seconds,
		       hot[r] / 1e6, s.seconds, e2e[r] / 1e6, (long long)rows,
		       (unsigned long long)s.cold_dropped);
	}
	qsort(hot, (size_t)runs, sizeof(double), cmp_double);
	qsort(e2e, (size_t)runs, sizeof(double), cmp_double);
	double hot_med = hot[runs / 2], e2e_med = e2e[runs / 2];
	printf("throughput (median of %d): hot path %.2f M ticks/s, end to end %.2f M ticks/s; "
	       "peak ring fill %llu; hot-path allocations after start-up %lu; digest %016llx\n",
	       runs, hot_med / 1e6, e2e_med / 1e6, (unsigned long long)peak, allocs,
	       (unsigned long long)digest0);

	uint64_t p50 = 0, p99 = 0, p999 = 0, pmax = 0, n = 0, flood_p99 = 0;
	if (!skip_paced) {
		char pfile[600];
		snprintf(pfile, sizeof(pfile), "%s/paced.ticks", dir);
		if (gen_file(pfile, paced_days, 1, 99) < 0)
			return 1;
		struct run_opts ro = {.file = pfile, .dir = dir, .layout = layout, .pace = pace,
				      .relaxed = true, .journal = journal};
		if (run_once(&ro, 100, &s, &rows) < 0)
			return 1;
		n = s.lat_count;
		p50 = s.lat_p50;
		p99 = s.lat_p99;
		p999 = s.lat_p999;
		pmax = s.lat_max;
		printf("paced x%.0f over %d days: %llu ticks, %llu orders in %.1f s; tick-to-order "
		       "p50 %.2f us, p99 %.2f us, p99.9 %.2f us, max %.2f us\n",
		       pace, paced_days, (unsigned long long)s.ticks, (unsigned long long)n,
		       s.seconds, p50 / 1e3, p99 / 1e3, p999 / 1e3, pmax / 1e3);
		if (cold_flood) {
			/* the same paced replay with the cold writer saturated */
			struct slob_pipeline_summary f;
			ro.flood = true;
			if (run_once(&ro, 101, &f, &rows) < 0)
				return 1;
			printf("paced, cold writer saturated (%llu flood records queued, %.0f/s, the "
			       "writer's whole rate): %llu orders, %llu cold records dropped; "
			       "tick-to-order p50 %.2f us, p99 %.2f us, p99.9 %.2f us, max %.2f us "
			       "(p99 saturated / idle %.2fx); same decisions: %s\n",
			       (unsigned long long)last_flood_put,
			       f.seconds > 0 ? (double)last_flood_put / f.seconds : 0.0,
			       (unsigned long long)f.lat_count, (unsigned long long)f.cold_dropped,
			       f.lat_p50 / 1e3, f.lat_p99 / 1e3, f.lat_p999 / 1e3, f.lat_max / 1e3,
			       p99 ? (double)f.lat_p99 / (double)p99 : 0.0,
			       f.digest == s.digest ? "yes" : "NO");
			flood_p99 = f.lat_p99;
		}
	}
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "pipeline_bench: could not remove %s\n", dir);
	if (journal)
		printf("order journal: %llu records appended in the last run\n",
		       (unsigned long long)last_journal_recs);
	printf("pipeline_hot_ticks_per_s=%.0f pipeline_e2e_ticks_per_s=%.0f pipeline_p50_ns=%llu "
	       "pipeline_p99_ns=%llu pipeline_p999_ns=%llu pipeline_orders=%llu hot_allocs=%lu "
	       "pipeline_p99_cold_saturated_ns=%llu\n",
	       hot_med, e2e_med, (unsigned long long)p50, (unsigned long long)p99,
	       (unsigned long long)p999, (unsigned long long)n, allocs,
	       (unsigned long long)flood_p99);
	return 0;
}
