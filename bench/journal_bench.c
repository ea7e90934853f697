/* SPDX-License-Identifier: MIT */
/*
 * journal_bench: the order journal's append (engine/journal.h), the store
 * the sender makes before every bracket, timed alone on a journal file in
 * DIR (default /tmp; use the data directory's file system to measure it).
 *
 *  1. Steady: SLOB_JOURNAL_CAP appends in a row into a freshly opened
 *     (pre-faulted) journal, each timed with CLOCK_MONOTONIC; the thread's
 *     minor page faults over the whole loop (getrusage RUSAGE_THREAD).
 *  2. After a sync: PAIRS times, append one record, msync it as the cold
 *     thread does (slob_journal_sync, MS_SYNC), then time the next append:
 *     the kernel write-protects a page it wrote back, so the first store to
 *     it afterwards may be a minor fault (journal.h note 3). In the engine
 *     this happens at most once per SLOB_JOURNAL_SYNC_MS, and only when a
 *     bracket was sent in that window.
 * Per-append figures subtract the cost of an empty timed region (printed).
 *
 * usage: journal_bench [--dir DIR] [--pairs N] [--reps R]
 * Last line: journal_append_p50_ns=... journal_steady_faults=...
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "engine/journal.h"

static inline int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long thread_minflt(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_minflt;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int64_t pct(int64_t *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp_i64);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

static void fill_intent(struct slob_intent *in, uint64_t i)
{
	memset(in, 0, sizeof(*in));
	in->dir = (i & 1) ? SLOB_LONG : SLOB_SHORT;
	in->setup_id = 0x5e7u + i;
	in->ts_ns = (int64_t)i * 60000000000;
	in->qty = 1;
	in->entry = 80000 + (int32_t)(i % 400);
	in->sl = in->entry + 40;
	in->tp = in->entry - 120;
	snprintf(in->order_ref, sizeof(in->order_ref), "SLOB_%llu", (unsigned long long)i);
}

int main(int argc, char **argv)
{
	const char *dir = "/tmp";
	int pairs = 2000, reps = 3;
	static const struct option opts[] = {
		{"dir", required_argument, 0, 'd'},
		{"pairs", required_argument, 0, 'p'},
		{"reps", required_argument, 0, 'r'},
		{0, 0, 0, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'p': pairs = atoi(optarg); break;
		case 'r': reps = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: journal_bench [--dir DIR] [--pairs N] [--reps R]\n");
			return 2;
		}
	}
	if (pairs < 1 || pairs > (int)SLOB_JOURNAL_CAP / 2 || reps < 1 || reps > 50) {
		fprintf(stderr, "journal_bench: --pairs 1..%u, --reps 1..50\n", SLOB_JOURNAL_CAP / 2);
		return 2;
	}
	char path[600];
	snprintf(path, sizeof(path), "%s/journal_bench.%d." SLOB_JOURNAL_FILE, dir, (int)getpid());
	char err[256];
	size_t n = SLOB_JOURNAL_CAP;
	int64_t *t = calloc(n, sizeof(*t));
	int64_t *med = calloc((size_t)reps, sizeof(*med));
	if (t == NULL || med == NULL)
		return 1;
	struct slob_intent in;

	/* the cost of the timing itself */
	for (size_t i = 0; i < n; i++) {
		int64_t a = now_ns();
		t[i] = now_ns() - a;
	}
	int64_t empty = pct(t, n, 0.5);

	long steady_faults = 0;
	int64_t p99 = 0, pmax = 0;
	printf("journal append, %s, %zu records per run, empty timed region %lld ns (subtracted)\n",
	       dir, n, (long long)empty);
	for (int r = 0; r < reps; r++) {
		struct slob_journal j;
		memset(&j, 0, sizeof(j));
		if (slob_journal_open(&j, path, err, sizeof(err)) < 0) {
			fprintf(stderr, "journal_bench: %s\n", err);
			return 1;
		}
		long f0 = thread_minflt();
		int64_t w0 = now_ns();
		for (size_t i = 0; i < n; i++) {
			fill_intent(&in, i);
			int64_t a = now_ns();
			int rc = slob_journal_append(&j, SLOB_JOURNAL_BRACKET, &in, (int64_t)(3 * i + 1));
			t[i] = now_ns() - a - empty;
			if (rc < 0) {
				fprintf(stderr, "journal_bench: append %zu failed\n", i);
				return 1;
			}
		}
		int64_t wall = now_ns() - w0;
		long faults = thread_minflt() - f0;
		steady_faults += faults;
		med[r] = pct(t, n, 0.5);
		p99 = pct(t, n, 0.99);
		pmax = t[n - 1];
		printf("  steady run %d: p50 %lld ns  p99 %lld ns  max %lld ns  (%.1f ns per append "
		       "in the loop with its timing); minor faults %ld\n",
		       r, (long long)med[r], (long long)p99, (long long)pmax, (double)wall / (double)n,
		       faults);
		slob_journal_close(&j);
	}
	int64_t steady_p50 = pct(med, (size_t)reps, 0.5);

	/* after a sync: append, msync (as the cold thread), time the next append */
	struct slob_journal j;
	memset(&j, 0, sizeof(j));
	if (slob_journal_open(&j, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "journal_bench: %s\n", err);
		return 1;
	}
	long sync_faults = 0, synced = 0;
	int64_t clock = 0;
	for (int i = 0; i < pairs; i++) {
		fill_intent(&in, 2 * (uint64_t)i);
		(void)slob_journal_append(&j, SLOB_JOURNAL_BRACKET, &in, 6 * i + 1);
		clock += (int64_t)SLOB_JOURNAL_SYNC_MS * 1000000;
		if (slob_journal_sync(&j, clock) == 1)
			synced++;
		fill_intent(&in, 2 * (uint64_t)i + 1);
		long f0 = thread_minflt();
		int64_t a = now_ns();
		(void)slob_journal_append(&j, SLOB_JOURNAL_BRACKET, &in, 6 * i + 4);
		t[i] = now_ns() - a - empty;
		sync_faults += thread_minflt() - f0;
	}
	slob_journal_close(&j);
	unlink(path);
	int64_t s50 = pct(t, (size_t)pairs, 0.5), s99 = pct(t, (size_t)pairs, 0.99);
	printf("  after a sync (%d pairs, %ld msyncs): next append p50 %lld ns  p99 %lld ns; "
	       "minor faults %ld (%.2f per append)\n",
	       pairs, synced, (long long)s50, (long long)s99, sync_faults,
	       (double)sync_faults / pairs);
	printf("steady: median of %d run medians %lld ns per append, %ld minor faults in %zu appends\n",
	       reps, (long long)steady_p50, steady_faults, n * (size_t)reps);
	printf("journal_append_p50_ns=%lld journal_steady_faults=%ld journal_after_sync_p50_ns=%lld "
	       "journal_after_sync_faults_per_append=%.2f\n",
	       (long long)steady_p50, steady_faults, (long long)s50,
	       (double)sync_faults / pairs);
	free(t);
	free(med);
	return 0;
}
