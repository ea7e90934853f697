/* SPDX-License-Identifier: MIT */
/*
 * ops_bench.c: what the ops modules cost the engine. Hot path: a stage
 * counter update and a latency record into the memory-mapped stats file,
 * next to the same operations on private memory (the ratio is the price of
 * publishing). Cold path: a seqlock status snapshot (slobctl/dashboard
 * reader), a log line written to trading.log, and queuing an alert (the
 * cold thread's cost; delivery happens asynchronously).
 *
 *   ops_bench [rounds]     (default 5; medians are reported)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/stats.h"
#include "persist/alert.h"
#include "persist/log.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

#define MAXR 32

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 5;
	if (rounds < 1 || rounds > MAXR)
		rounds = 5;
	char dir[] = "/tmp/ops_bench.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char path[256], err[256];
	snprintf(path, sizeof(path), "%s/slob.stats", dir);
	slob_stats_t s;
	if (slob_stats_create(&s, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct slob_stage_stats *mapped = slob_stats_stage_register(&s, "bench");
	slob_hist_t *hm = slob_stats_hist_register(&s, "bench");
	static struct slob_stage_stats priv;
	static slob_hist_t hp;
	slob_stats_t r;
	slob_stats_open(&r, path, err, sizeof(err));

	struct slob_log_params lp;
	slob_log_params_default(&lp);
	snprintf(lp.trading_file, sizeof(lp.trading_file), "%s/trading.log", dir);
	snprintf(lp.errors_file, sizeof(lp.errors_file), "%s/errors.log", dir);
	lp.max_bytes = 1ull << 30;
	slob_log_t *log;
	slob_log_create(&lp, false, &log, err, sizeof(err));

	double c_map[MAXR], c_priv[MAXR], h_map[MAXR], h_priv[MAXR], snap[MAXR], logl[MAXR],
	    alq[MAXR];
	const long N = 20000000, NH = 5000000, NS = 1000000, NL = 200000, NA = 20000;
	volatile uint64_t sink = 0;
	for (int k = 0; k < rounds; k++) {
		double t = now_s();
		for (long i = 0; i < N; i++)
			slob_stats_add(&mapped->in, 1);
		c_map[k] = (now_s() - t) / N * 1e9;
		t = now_s();
		for (long i = 0; i < N; i++)
			slob_stats_add(&priv.in, 1);
		c_priv[k] = (now_s() - t) / N * 1e9;

		t = now_s();
		for (long i = 0; i < NH; i++)
			slob_hist_record(hm, (int64_t)(1000 + (i & 4095) * 7));
		h_map[k] = (now_s() - t) / NH * 1e9;
		t = now_s();
		for (long i = 0; i < NH; i++)
			slob_hist_record(&hp, (int64_t)(1000 + (i & 4095) * 7));
		h_priv[k] = (now_s() - t) / NH * 1e9;

		struct slob_stats_snapshot sn;
		t = now_s();
		for (long i = 0; i < NS; i++) {
			slob_stats_snapshot(&r, 0, &sn);
			sink += sn.st.seq;
		}
		snap[k] = (now_s() - t) / NS * 1e9;

		t = now_s();
		for (long i = 0; i < NL; i++)
			slob_log_printf(log, SLOB_LVL_INFO, "bench",
					"order SUBMITTED ENTRY BUY %ld @ 20000.25 id=%ld", i & 7,
					i);
		logl[k] = (now_s() - t) / NL * 1e9;

		struct slob_alert_params ap;
		slob_alert_params_default(&ap);
		snprintf(ap.telegram_token, sizeof(ap.telegram_token), "1:x");
		snprintf(ap.telegram_chat_id, sizeof(ap.telegram_chat_id), "1");
		snprintf(ap.telegram_url, sizeof(ap.telegram_url), "http://127.0.0.1:9");
		ap.smtp_server[0] = 0;
		ap.dedup_s = 0;
		ap.rate_per_min = 10000;
		ap.queue = 65536;
		slob_alert_t *a;
		slob_alert_create(&ap, NULL, &a, err, sizeof(err));
		t = now_s();
		for (long i = 0; i < NA; i++)
			slob_alert_send(a, SLOB_ALERT_CONN_LOST, SLOB_LVL_CRITICAL,
					"Connection lost",
					"orders connection lost, reconnecting with backoff");
		alq[k] = (now_s() - t) / NA * 1e9;
		slob_alert_free(a);
	}
	double m_cm = median(c_map, rounds), m_cp = median(c_priv, rounds),
	       m_hm = median(h_map, rounds), m_hp = median(h_priv, rounds),
	       m_sn = median(snap, rounds), m_lg = median(logl, rounds), m_al = median(alq, rounds);
	printf("ops_bench: medians of %d rounds (ns per operation)\n", rounds);
	printf("  stage counter add   mapped %6.2f  private %6.2f  ratio %.2f\n", m_cm, m_cp,
	       m_cm / m_cp);
	printf("  latency record      mapped %6.2f  private %6.2f  ratio %.2f\n", m_hm, m_hp,
	       m_hm / m_hp);
	printf("  status snapshot     %8.1f  (reader, no writer active)\n", m_sn);
	printf("  log line            %8.1f  (%.0f lines/s, one write(2) each)\n", m_lg,
	       1e9 / m_lg);
	printf("  alert queued        %8.1f  (format + enqueue; delivery is asynchronous)\n", m_al);
	printf("counter_mapped_ns=%.2f counter_private_ns=%.2f hist_mapped_ns=%.2f "
	       "hist_private_ns=%.2f "
	       "snapshot_ns=%.1f log_line_ns=%.1f alert_queue_ns=%.1f\n",
	       m_cm, m_cp, m_hm, m_hp, m_sn, m_lg, m_al);
	(void)sink;
	slob_log_free(log);
	slob_stats_close(&r);
	slob_stats_close(&s);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return 0;
}
