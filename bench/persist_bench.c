/* SPDX-License-Identifier: MIT */
/*
 * persist_bench.c: the cold path's figures, all measured in one run.
 *  1. sustained insert rate through the cold writer (ring -> batched
 *     transactions) for the engine's own mix of records (see rec_mixed), for
 *     TRADE records alone (trade_history, synchronous=FULL per batch) and
 *     INFO records alone (candles, NORMAL), versus one transaction per row
 *     (batch_max=1) for TRADE records;
 *  2. hot-path cost: a producer pacing one TRADE record every 2 us through
 *     slob_coldq_put on its own ring, latency of each put (p50/p99/p99.9/max)
 *     with the cold writer otherwise idle vs saturated by a second producer
 *     flooding it.
 * Each figure is the median of PERSIST_BENCH_REPS runs (default 3). The store
 * lives in a temp dir under $TMPDIR (default /tmp): that disk is what is
 * measured. Output ends with one `key=value` line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "persist/cold.h"

static int64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void rec_trade(struct slob_cold *r, uint64_t k)
{
	memset(r, 0, sizeof(*r));
	r->type = SLOB_COLD_TRADE;
	r->cls = SLOB_CLASS_TRADE;
	r->ts_ns = 1764000000000000000LL + (int64_t)(k & 0xffffff) * 1000000000LL;
	r->u.trade = (struct slob_cold_trade){.setup_id = k,
					      .entry_ns = r->ts_ns - 1000000,
					      .exit_ns = r->ts_ns,
					      .entry_px = 80000,
					      .exit_px = 80040,
					      .sl = 79960,
					      .tp = 80040,
					      .qty = 1,
					      .dir = 1,
					      .exit_role = 1,
					      .pnl_cents = 8000};
}

static void rec_bar(struct slob_cold *r, uint64_t k)
{
	memset(r, 0, sizeof(*r));
	r->type = SLOB_COLD_BAR;
	r->cls = SLOB_CLASS_INFO;
	r->ts_ns = 1764000000000000000LL + (int64_t)k * 60000000000LL;
	r->u.bar = (struct slob_bar){.ts_ns = r->ts_ns,
				     .open = 80000,
				     .high = 80010,
				     .low = 79990,
				     .close = 80005,
				     .volume = 100,
				     .ticks = 10};
}

/* A setup state change (TRADE class: active_setups upsert); k/5 is the
 * setup, so each setup row is written five times as its state moves. */
static void rec_setup(struct slob_cold *r, uint64_t k)
{
	memset(r, 0, sizeof(*r));
	r->type = SLOB_COLD_SETUP;
	r->cls = SLOB_CLASS_TRADE;
	r->ts_ns = 1764000000000000000LL + (int64_t)k * 60000000000LL;
	struct slob_setup *s = &r->u.setup;
	s->id = 0x5e70000000000000ULL + k / 5;
	s->liq1_ns = r->ts_ns - 600000000000LL;
	s->consol_confirmed_ns = r->ts_ns - 300000000000LL;
	s->lse_high = 80100;
	s->lse_low = 79900;
	s->liq1_px = 80110;
	s->cons_high = 80090;
	s->cons_low = 80020;
	s->dir = -1;
	s->state = (uint8_t)(1 + k % 5);
	s->candles = (uint16_t)(k % 5 * 7);
	s->window_len = 20;
	if (k % 5 == 4) {
		s->entry_ns = r->ts_ns;
		s->entry = 80020;
		s->sl = 80120;
		s->tp = 79820;
		s->rr_milli = 2000;
	}
}

static void rec_decision(struct slob_cold *r, uint64_t k)
{
	memset(r, 0, sizeof(*r));
	r->type = SLOB_COLD_DECISION;
	r->cls = SLOB_CLASS_INFO;
	r->ts_ns = 1764000000000000000LL + (int64_t)k * 60000000000LL;
	r->u.decision = (struct slob_cold_decision){
	    .setup_id = k, .qty = 2, .entry = 80020, .sl = 80120, .tp = 79820, .dir = -1};
}

/*
 * The engine's own stream, per 100 records: 86 candles, 10 setup state
 * changes, 1 decision, 3 closed trades - the shares of the sample week's
 * replay (scripts/run.sh: 6 900 candles, 168 setups written ~5 times each,
 * 30 decisions, 18 trades), so 13 % of the records are TRADE class and
 * nearly every batch is committed with synchronous=FULL.
 */
static void rec_mixed(struct slob_cold *r, uint64_t k)
{
	unsigned m = (unsigned)(k % 100);
	if (m < 86)
		rec_bar(r, k);
	else if (m < 96)
		rec_setup(r, k / 100 * 10 + (m - 86));
	else if (m < 97)
		rec_decision(r, k);
	else
		rec_trade(r, k);
}

struct env {
	char dir[512];
	char path[600];
	slob_store_t *store;
	slob_ring_t ring[2];
	slob_ring_t *rings[2];
	struct slob_coldq q[2];
	slob_cold_writer_t *w;
	int stop;
	int64_t writer_cpu_ns; /* CPU time the writer thread used */
};

static int env_open(struct env *e, int batch_max, int tag)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(e->dir, sizeof(e->dir), "%s/persist_bench_%d_%d_XXXXXX",
		 tmp && *tmp ? tmp : "/tmp", (int)getpid(), tag);
	if (!mkdtemp(e->dir))
		return -errno;
	snprintf(e->path, sizeof(e->path), "%s/slob_state.db", e->dir);
	int rc = slob_store_open(e->path, SLOB_STORE_WRITER, &e->store);
	if (rc < 0)
		return rc;
	for (int i = 0; i < 2; i++) {
		if ((rc = slob_ring_init(&e->ring[i], "cold", 16384, sizeof(struct slob_cold))) < 0)
			return rc;
		e->rings[i] = &e->ring[i];
		slob_coldq_init(&e->q[i], &e->ring[i], (uint8_t)i);
	}
	struct slob_cold_params p;
	slob_cold_params_default(&p);
	p.batch_max = batch_max;
	p.batch_ms = batch_max == 1 ? 0 : 5;
	p.cmd_poll_ms = 0;
	return slob_cold_writer_create(e->store, e->rings, 2, &p, NULL, NULL, &e->w);
}

static void env_close(struct env *e)
{
	slob_cold_writer_free(e->w);
	slob_store_close(e->store);
	for (int i = 0; i < 2; i++) {
		slob_coldq_destroy(&e->q[i]);
		slob_ring_destroy(&e->ring[i]);
	}
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", e->dir);
}

static void *writer_loop(void *arg)
{
	struct env *e = arg;
	pthread_setname_np(pthread_self(), "cold-writer");
	while (!__atomic_load_n(&e->stop, __ATOMIC_ACQUIRE))
		if (slob_cold_writer_poll(e->w) == 0)
			sched_yield();
	slob_cold_writer_flush(e->w, 10000);
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	e->writer_cpu_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	return NULL;
}

/* Pushes n records built by build(&r, k) (seq k, producer stage 0) through
 * the writer as fast as the ring takes them; the clock stops when the last
 * one is durable. Returns rows/s, the writer's CPU rows/s in *cpu_rate, and
 * closes e. Shared by the TRADE and INFO insert rates. */
static double push_all(struct env *e, uint64_t n, void (*build)(struct slob_cold *, uint64_t),
		       double *cpu_rate)
{
	pthread_t t;
	pthread_create(&t, NULL, writer_loop, e);
	struct slob_cold r;
	int64_t t0 = mono();
	for (uint64_t k = 1; k <= n; k++) {
		build(&r, k);
		r.seq = k;
		r.stage = 0;
		while (!slob_ring_push_spsc(&e->ring[0], &r))
			sched_yield();
	}
	while (slob_cold_durable_seq(e->w, 0) < n)
		sched_yield();
	int64_t dt = mono() - t0;
	__atomic_store_n(&e->stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	*cpu_rate = (double)n / ((double)e->writer_cpu_ns / 1e9);
	env_close(e);
	return (double)n / ((double)dt / 1e9);
}

/* Rows/s of n records made by build through the writer, at most batch_max
 * per transaction (the producer pushes as fast as the ring takes them, with
 * a retry loop, so none is dropped; the clock stops when the last one is
 * durable). */
static double insert_rate(int batch_max, uint64_t n, void (*build)(struct slob_cold *, uint64_t),
			  int tag, double *cpu_rate)
{
	struct env e;
	memset(&e, 0, sizeof(e));
	if (env_open(&e, batch_max, tag) < 0) {
		fprintf(stderr, "bench store: %s\n", slob_store_strerror());
		exit(1);
	}
	return push_all(&e, n, build, cpu_rate);
}

struct flood {
	struct env *e;
	int stop;
	uint64_t pushed;
};

static void *flood_loop(void *arg)
{
	struct flood *f = arg;
	struct slob_cold r;
	uint64_t k = 1000000000;
	while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
		rec_trade(&r, k++);
		if (slob_coldq_put(&f->e->q[1], &r))
			f->pushed++;
		if (slob_coldq_backlogged(&f->e->q[1]))
			sched_yield(); /* keep the overflow from going fatal */
	}
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

struct lat {
	double p50, p99, p999, max;
	uint64_t flood_rows;
};

/* Put latency of a paced producer (one record per 2 us), writer idle or flooded. */
static struct lat hot_latency(bool saturated, int n, int tag)
{
	struct env e;
	memset(&e, 0, sizeof(e));
	if (env_open(&e, 4096, tag) < 0)
		exit(1);
	pthread_t wt, ft;
	pthread_create(&wt, NULL, writer_loop, &e);
	struct flood f = {.e = &e};
	if (saturated)
		pthread_create(&ft, NULL, flood_loop, &f);
	int64_t *lat = malloc((size_t)n * sizeof(*lat));
	struct slob_cold r;
	int64_t next = mono();
	for (int i = 0; i < n; i++) {
		while (mono() < next)
			;
		next += 2000;
		rec_trade(&r, (uint64_t)i + 1);
		int64_t t0 = mono();
		slob_coldq_put(&e.q[0], &r);
		lat[i] = mono() - t0;
		slob_coldq_flush(&e.q[0]);
	}
	struct lat out = {0};
	if (saturated) {
		__atomic_store_n(&f.stop, 1, __ATOMIC_RELAXED);
		pthread_join(ft, NULL);
		while (slob_coldq_flush(&e.q[1]))
			sched_yield();
	}
	struct slob_cold_counters c;
	__atomic_store_n(&e.stop, 1, __ATOMIC_RELEASE);
	pthread_join(wt, NULL);
	slob_cold_writer_counters(e.w, &c);
	out.flood_rows = c.records;
	qsort(lat, (size_t)n, sizeof(*lat), cmp_i64);
	out.p50 = (double)lat[n / 2];
	out.p99 = (double)lat[(int)(n * 0.99)];
	out.p999 = (double)lat[(int)(n * 0.999)];
	out.max = (double)lat[n - 1];
	free(lat);
	env_close(&e);
	return out;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return v[n / 2];
}

int main(void)
{
	const char *rs = getenv("PERSIST_BENCH_REPS");
	int reps = rs ? atoi(rs) : 3;
	if (reps < 1 || reps > 15)
		reps = 3;
	uint64_t n_batched = 300000; const uint64_t n_row = 2000;
	const int n_lat = 200000;
	double bm[15], cm[15], bt[15], bi[15], rt[15], ct[15], ci[15], cr[15], p50i[15], p99i[15], p999i[15],
	    p99s[15], p50s[15], p999s[15], maxi[15], maxs[15], flood[15];
	/* PERSIST_BENCH_ONLY=trade|info|mixed: that insert rate alone, for perf record */
	const char *only = getenv("PERSIST_BENCH_ONLY");
	if (only && *only) {
		const char *nr = getenv("PERSIST_BENCH_ROWS");
		if (nr && atoll(nr) > 0)
			n_batched = (uint64_t)atoll(nr);
		double cpu, r = strcmp(only, "info") == 0    ? insert_rate(4096, n_batched, rec_bar, 1, &cpu)
				: strcmp(only, "mixed") == 0 ? insert_rate(4096, n_batched, rec_mixed, 1, &cpu)
							     : insert_rate(4096, n_batched, rec_trade, 1, &cpu);
		printf("persist_bench only=%s rows_s=%.0f rows_cpu_s=%.0f\n", only, r, cpu);
		return 0;
	}
	printf("persist_bench: %d repetitions (median reported)\n", reps);
	for (int i = 0; i < reps; i++) {
		bt[i] = insert_rate(4096, n_batched, rec_trade, i * 10 + 1, &ct[i]);
		bi[i] = insert_rate(4096, n_batched, rec_bar, i * 10 + 2, &ci[i]);
		bm[i] = insert_rate(4096, n_batched, rec_mixed, i * 10 + 6, &cm[i]);
		rt[i] = insert_rate(1, n_row, rec_trade, i * 10 + 3, &cr[i]);
		struct lat a = hot_latency(false, n_lat, i * 10 + 4);
		struct lat b = hot_latency(true, n_lat, i * 10 + 5);
		p50i[i] = a.p50, p99i[i] = a.p99, p999i[i] = a.p999, maxi[i] = a.max;
		p50s[i] = b.p50, p99s[i] = b.p99, p999s[i] = b.p999, maxs[i] = b.max;
		flood[i] = (double)b.flood_rows;
		printf(
		    "  run %d: mixed batched %.0f rows/s, trade batched %.0f rows/s (%.0f per writer-CPU s), info batched %.0f"
		    " rows/s (%.0f), trade per-row %.0f rows/s; put p99 idle %.0f ns, saturated"
		    " %.0f ns (%.0f rows written meanwhile)\n",
		    i + 1, bm[i], bt[i], ct[i], bi[i], ci[i], rt[i], a.p99, b.p99, flood[i]);
	}
	double mbm = median(bm, reps), mcm = median(cm, reps);
	double mbt = median(bt, reps), mbi = median(bi, reps), mrt = median(rt, reps);
	double mct = median(ct, reps), mci = median(ci, reps), mcr = median(cr, reps);
	double m50i = median(p50i, reps), m99i = median(p99i, reps), m999i = median(p999i, reps);
	double m50s = median(p50s, reps), m99s = median(p99s, reps), m999s = median(p999s, reps);
	double mmaxi = median(maxi, reps), mmaxs = median(maxs, reps);
	printf("\ninsert rate, median: rows per wall second | rows per writer-CPU second\n");
	printf("  engine mix (86%% candles, 10%% setups, 1%% decisions, 3%% trades; FULL): %10.0f | "
	       "%10.0f\n",
	       mbm, mcm);
	printf("  TRADE records, batched (<=4096/txn, synchronous=FULL): %10.0f | %10.0f\n", mbt,
	       mct);
	printf("  INFO records,  batched (<=4096/txn, synchronous=NORMAL): %8.0f | %10.0f\n", mbi,
	       mci);
	printf("  TRADE records, one transaction per row (FULL):        %10.0f | %10.0f\n", mrt,
	       mcr);
	printf("  batched / per-row (wall): %.1fx\n", mbt / mrt);
	printf("\nhot-path slob_coldq_put latency, paced 1 record / 2 us (ns, median of runs)\n");
	printf("                p50      p99    p99.9      max\n");
	printf("  idle     %8.0f %8.0f %8.0f %8.0f\n", m50i, m99i, m999i, mmaxi);
	printf("  saturated%8.0f %8.0f %8.0f %8.0f\n", m50s, m99s, m999s, mmaxs);
	printf("  p99 saturated / idle: %.2fx\n", m99s / m99i);
	printf(
	    "persist_bench mixed_batched_rows_s=%.0f trade_batched_rows_s=%.0f info_batched_rows_s=%.0f "
	    "trade_per_row_rows_s=%.0f batch_ratio=%.1f trade_batched_rows_cpu_s=%.0f "
	    "info_batched_rows_cpu_s=%.0f put_p99_idle_ns=%.0f "
	    "put_p99_saturated_ns=%.0f put_p999_idle_ns=%.0f put_p999_saturated_ns=%.0f reps=%d\n",
	    mbm, mbt, mbi, mrt, mbt / mrt, mct, mci, m99i, m99s, m999i, m999s, reps);
	return 0;
}
