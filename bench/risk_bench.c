/* SPDX-License-Identifier: MIT */
/*
 * risk_bench.c: latency of one risk decision, measured the way the pipeline
 * sees it: push a SETUP signal on the detector->risk ring, call the stage's
 * poll, take the intent off the risk->sender ring. Three paths in the same
 * run: accepted (sizing, every limit, idempotency insert, bracket intent),
 * rejected as a duplicate (the P0-3 runaway case), rejected outside trading
 * hours; plus batch throughput (128 signals queued, then polled through:
 * all accepted, under the 256 concurrent brackets configured). Prints p50,
 * p99 and mean per path (median over repeats) and ratios, then one
 * key=value line. Means include preemption on a shared machine; the
 * percentiles show it only at the tail.
 *
 * Usage: risk_bench [signals per path, default 100000] [repeats, default 5]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/risk.h"

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

struct rig {
	slob_ring_t sig, exec, intent, cold;
	struct slob_coldq cq;
	struct slob_tz tz;
	slob_risk_t *r;
	struct slob_stage st;
};

static int rig_open(struct rig *g, int n)
{
	struct slob_risk_params p;
	struct slob_risk_io io = {0};
	char err[256];
	memset(g, 0, sizeof(*g));
	if (slob_ring_init(&g->sig, "sig", 2048, sizeof(struct slob_sig)) ||
	    slob_ring_init(&g->exec, "exec", 2048, sizeof(struct slob_exec)) ||
	    slob_ring_init(&g->intent, "intent", 2048, sizeof(struct slob_intent)) ||
	    slob_ring_init(&g->cold, "cold", 65536, sizeof(struct slob_cold)) ||
	    slob_coldq_init(&g->cq, &g->cold, 3))
		return -1;
	if (slob_tz_load(&g->tz, "America/New_York", 2025, 2027) < 0) {
		fprintf(stderr, "tz: %s\n", slob_tz_strerror());
		return -1;
	}
	slob_risk_params_default(&p);
	p.max_concurrent_positions = 256;
	p.order_rate_limit = 10000;
	p.order_rate_window_s = 1;
	p.setup_capacity = n * 2 + 1024;
	io.sig_in = &g->sig;
	io.exec_in = &g->exec;
	io.intent_out = &g->intent;
	io.cold = &g->cq;
	slob_instrument_nq(&io.instrument);
	io.tz = &g->tz;
	if (slob_risk_create(&g->r, &p, &io, err, sizeof(err)) < 0) {
		fprintf(stderr, "risk: %s\n", err);
		return -1;
	}
	slob_risk_stage_init(g->r, &g->st);
	return 0;
}

static void rig_close(struct rig *g)
{
	slob_risk_free(g->r);
	slob_coldq_destroy(&g->cq);
	slob_ring_destroy(&g->sig);
	slob_ring_destroy(&g->exec);
	slob_ring_destroy(&g->intent);
	slob_ring_destroy(&g->cold);
}

/* The cold thread's part, outside the timed section. */
static void drain(struct rig *g)
{
	unsigned n = slob_ring_size(&g->cold);
	if (n) {
		while (slob_ring_peek_spsc(&g->cold, 0))
			slob_ring_release_spsc(&g->cold, 1);
	}
	while (slob_ring_peek_spsc(&g->intent, 0))
		slob_ring_release_spsc(&g->intent, 1);
}

enum path { P_ACCEPT, P_DUP, P_HOURS };

/* Times n decisions on one path; returns the p50 and p99 through the pointers. */
static int run_path(enum path path, int n, int64_t *p50, int64_t *p99, int64_t *mean,
		    int64_t *accepted)
{
	struct rig g;
	if (rig_open(&g, n) < 0)
		return -1;
	int64_t *lat = malloc(sizeof(int64_t) * (size_t)n);
	int64_t t0 = slob_tz_to_utc(&g.tz, 20260310, 10 * 60); /* Tuesday 10:00 New York */
	if (path == P_HOURS)
		t0 = slob_tz_to_utc(&g.tz, 20260310, 20 * 60);
	struct slob_sig s = {.kind = SLOB_SIG_SETUP};
	s.setup.dir = SLOB_LONG;
	s.setup.entry = 80000;
	s.setup.sl = 79960;
	s.setup.tp = 80080;
	*accepted = 0;
	for (int i = 0; i < n; i++) {
		s.setup.id = path == P_DUP ? 42 : (uint64_t)i + 1;
		s.ts_ns = t0 + (int64_t)i * 1000000; /* 1 ms apart: under the rate limit */
		int64_t a = now_ns();
		slob_ring_push_spsc(&g.sig, &s);
		g.st.poll(&g.st);
		const struct slob_intent *it = slob_ring_peek_spsc(&g.intent, 0);
		if (it) {
			*accepted += it->kind == SLOB_INTENT_BRACKET;
			slob_ring_release_spsc(&g.intent, 1);
		}
		int64_t b = now_ns();
		lat[i] = b - a;
		/* untimed: the sender cancels the entry so the bracket table stays free */
		if (it) {
			struct slob_exec x = {.kind = SLOB_EXEC_CANCELLED,
					      .role = SLOB_ROLE_ENTRY,
					      .setup_id = s.setup.id,
					      .ts_ns = s.ts_ns};
			slob_ring_push_spsc(&g.exec, &x);
			g.st.poll(&g.st);
		}
		drain(&g);
	}
	int64_t sum = 0;
	for (int i = 0; i < n; i++)
		sum += lat[i];
	*mean = sum / n;
	qsort(lat, (size_t)n, sizeof(*lat), cmp_i64);
	*p50 = lat[n / 2];
	*p99 = lat[(int64_t)n * 99 / 100];
	free(lat);
	rig_close(&g);
	return 0;
}

/* Batch: 128 distinct setups queued, then polled through; ns per signal. */
static double run_batch(int n)
{
	struct rig g;
	if (rig_open(&g, n) < 0)
		return -1;
	int64_t t0 = slob_tz_to_utc(&g.tz, 20260310, 10 * 60);
	struct slob_sig s = {.kind = SLOB_SIG_SETUP};
	s.setup.dir = SLOB_LONG;
	s.setup.entry = 80000;
	s.setup.sl = 79960;
	s.setup.tp = 80080;
	int64_t total = 0;
	int done = 0;
	while (done < n) {
		int k = n - done < 128 ? n - done : 128;
		for (int i = 0; i < k; i++) {
			s.setup.id = (uint64_t)(done + i) + 1;
			s.ts_ns = t0 + (int64_t)(done + i) * 1000000;
			slob_ring_push_spsc(&g.sig, &s);
		}
		int64_t a = now_ns();
		while (slob_ring_size(&g.sig) > 0) {
			g.st.poll(&g.st);
			while (slob_ring_peek_spsc(&g.intent, 0))
				slob_ring_release_spsc(&g.intent, 1);
		}
		total += now_ns() - a;
		/* untimed: free the brackets, drain the cold ring */
		for (int i = 0; i < k; i++) {
			struct slob_exec x = {.kind = SLOB_EXEC_CANCELLED,
					      .role = SLOB_ROLE_ENTRY,
					      .setup_id = (uint64_t)(done + i) + 1};
			while (!slob_ring_push_spsc(&g.exec, &x)) {
				g.st.poll(&g.st);
				drain(&g);
			}
		}
		while (slob_ring_size(&g.exec) > 0) {
			g.st.poll(&g.st);
			drain(&g);
		}
		drain(&g);
		done += k;
	}
	rig_close(&g);
	return (double)total / n;
}

static int64_t median(int64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000;
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	if (n < 1000 || reps < 1 || reps > 50) {
		fprintf(stderr, "usage: risk_bench [signals >= 1000] [repeats 1..50]\n");
		return 2;
	}
	int64_t p50[3][50], p99[3][50], mean[3][50], acc[3];
	int64_t batch[50];
	/* timer overhead */
	int64_t ov[1000];
	for (int i = 0; i < 1000; i++) {
		int64_t a = now_ns();
		ov[i] = now_ns() - a;
	}
	int64_t timer = median(ov, 1000);
	for (int r = 0; r < reps; r++) {
		for (int p = 0; p < 3; p++)
			if (run_path((enum path)p, n, &p50[p][r], &p99[p][r], &mean[p][r],
				     &acc[p]) < 0)
				return 1;
		double b = run_batch(n);
		if (b < 0)
			return 1;
		batch[r] = (int64_t)(b * 1000); /* ps for the median */
	}
	const char *names[3] = {"accepted", "duplicate", "outside_hours"};
	int64_t m50[3], m99[3], mm[3];
	printf("risk decision latency: push signal + poll + pop intent, %d signals per path, "
	       "median of %d runs (timer overhead %lld ns included)\n",
	       n, reps, (long long)timer);
	for (int p = 0; p < 3; p++) {
		m50[p] = median(p50[p], reps);
		m99[p] = median(p99[p], reps);
		mm[p] = median(mean[p], reps);
		printf("  %-14s p50 %6lld ns  p99 %6lld ns  mean %6lld ns  (brackets: %lld)\n",
		       names[p], (long long)m50[p], (long long)m99[p], (long long)mm[p],
		       (long long)acc[p]);
	}
	double mb = (double)median(batch, reps) / 1000.0;
	printf("  batch          %.1f ns per signal (128 queued per poll loop, all accepted)\n",
	       mb);
	printf("ratios: accepted/duplicate p50 %.2f, accepted/outside_hours p50 %.2f, "
	       "accepted single-mean/batch %.2f\n",
	       (double)m50[0] / (double)(m50[1] ? m50[1] : 1),
	       (double)m50[0] / (double)(m50[2] ? m50[2] : 1), (double)mm[0] / mb);
	printf("risk_accept_p50_ns=%lld risk_accept_p99_ns=%lld risk_accept_mean_ns=%lld "
	       "risk_dup_p50_ns=%lld risk_dup_p99_ns=%lld risk_hours_p50_ns=%lld "
	       "risk_hours_p99_ns=%lld risk_batch_ns=%.1f timer_ns=%lld signals=%d repeats=%d\n",
	       (long long)m50[0], (long long)m99[0], (long long)mm[0], (long long)m50[1],
	       (long long)m99[1], (long long)m50[2], (long long)m99[2], mb, (long long)timer, n,
	       reps);
	return 0;
}
