/* SPDX-License-Identifier: MIT */
/*
 * test_stats.c: the stats file. Create/open round trip, validation of bad
 * files with clear errors, stage counters mapped in place and seen by a
 * read-only mapping, histogram quantiles, and the status seqlock: a reader
 * thread and a forked reader process check that every snapshot is
 * internally consistent while a writer updates the block as fast as it can.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/coldrec.h"
#include "engine/stats.h"
#include "ringbuf/ring.h"

static char g_path[512];

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("SLOB_TEST_TMP");
	snprintf(g_path, sizeof(g_path), "%s/stats-%d.bin", tmp ? tmp : "/tmp", (int)getpid());
	unlink(g_path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(g_path);
	return 0;
}

static void test_create_open_roundtrip(void **state)
{
	(void)state;
	slob_stats_t w, r;
	char err[256] = "";
	assert_int_equal(slob_stats_create(&w, g_path, err, sizeof(err)), 0);
	struct slob_stage_stats *c = slob_stats_stage_register(&w, "candles");
	assert_non_null(c);
	assert_ptr_equal(slob_stats_stage_register(&w, "candles"), c); /* idempotent */
	struct slob_stats_stage_slot *slot = slob_stats_stage_slot(&w, "candles");
	assert_non_null(slot);
	assert_int_equal(slob_stats_stage_reason_name(slot, 3, "max_positions"), 0);
	assert_int_equal(slob_stats_stage_reason_name(slot, SLOB_MAX_REASONS, "x"), -EINVAL);

	assert_int_equal(slob_stats_open(&r, g_path, err, sizeof(err)), 0);
	assert_int_equal(slob_stats_nstages(&r), 1);
	assert_string_equal(r.stages[0].name, "candles");
	assert_string_equal(r.stages[0].reason_names[3], "max_positions");
	/* the stage writes into the file; the reader sees it */
	slob_stats_add(&c->in, 41);
	slob_stats_add(&c->in, 1);
	slob_stats_max(&c->ring_fill_max, 7);
	slob_stats_max(&c->ring_fill_max, 3);
	assert_int_equal(slob_stats_load(&r.stages[0].stats.in), 42);
	assert_int_equal(slob_stats_load(&r.stages[0].stats.ring_fill_max), 7);
	/* read-only mapping cannot register */
	assert_null(slob_stats_stage_register(&r, "x"));
	assert_null(slob_stats_hist_register(&r, "x"));

	/* fill the table */
	char name[32];
	for (int i = 1; i < SLOB_STATS_MAX_STAGES; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		assert_non_null(slob_stats_stage_register(&w, name));
	}
	assert_null(slob_stats_stage_register(&w, "one-too-many"));
	assert_int_equal(slob_stats_nstages(&r), SLOB_STATS_MAX_STAGES);

	/* status: default not alive */
	struct slob_stats_snapshot snap;
	assert_int_equal(slob_stats_snapshot(&r, now_ns(), &snap), 0);
	assert_false(snap.alive);
	assert_int_equal(snap.st.pid, getpid());
	slob_stats_status_begin(&w);
	w.status->engine_up = 1;
	w.status->mode = SLOB_STATS_MODE_PAPER;
	slob_stats_status_end(&w);
	slob_stats_heartbeat(&w, now_ns());
	assert_int_equal(slob_stats_snapshot(&r, now_ns(), &snap), 0);
	assert_true(snap.alive);
	assert_string_equal(slob_stats_mode_name(snap.st.mode), "paper");
	/* stale heartbeat = not alive */
	assert_int_equal(slob_stats_snapshot(&r, now_ns() + 2 * SLOB_STATS_STALE_NS, &snap), 0);
	assert_false(snap.alive);

	slob_stats_close(&r);
	slob_stats_close(&w);
	slob_stats_close(&w); /* twice is fine */
}

static void test_open_errors(void **state)
{
	(void)state;
	slob_stats_t r;
	char err[256] = "";
	assert_int_equal(slob_stats_open(&r, g_path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, g_path));

	int fd = open(g_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	close(fd);
	err[0] = 0;
	assert_int_equal(slob_stats_open(&r, g_path, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "too short"));

	char junk[8192];
	memset(junk, 'x', sizeof(junk));
	fd = open(g_path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(slob_stats_open(&r, g_path, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "bad magic"));

	/* right magic, wrong version */
	slob_stats_t w;
	assert_int_equal(slob_stats_create(&w, g_path, err, sizeof(err)), 0);
	w.hdr->version = 99;
	assert_int_equal(slob_stats_open(&r, g_path, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "version 99"));
	w.hdr->version = SLOB_STATS_VERSION;
	/* offsets pointing elsewhere are refused, not followed */
	w.hdr->hists_off += 4096;
	assert_int_equal(slob_stats_open(&r, g_path, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "offsets"));
	w.hdr->hists_off -= 4096;
	/* absurd slot counts are clamped for readers */
	w.hdr->nstages = 1000000;
	assert_int_equal(slob_stats_open(&r, g_path, err, sizeof(err)), 0);
	assert_int_equal(slob_stats_nstages(&r), SLOB_STATS_MAX_STAGES);
	slob_stats_close(&r);
	w.hdr->nstages = 0;
	/* truncated file */
	assert_int_equal(truncate(g_path, 20000), 0);
	assert_int_equal(slob_stats_open(&r, g_path, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "size"));
	slob_stats_close(&w);

	/* unwritable directory */
	assert_true(slob_stats_create(&w, "/nonexistent-dir/x/stats", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/nonexistent-dir/x/stats"));
}

static void test_hist(void **state)
{
	(void)state;
	slob_stats_t w;
	char err[256];
	assert_int_equal(slob_stats_create(&w, g_path, err, sizeof(err)), 0);
	slob_hist_t *h = slob_stats_hist_register(&w, "tick_to_order");
	assert_non_null(h);
	assert_ptr_equal(slob_stats_hist_register(&w, "tick_to_order"), h);
	/* 1..10000 ns uniformly, recorded into the file, read through a read-only map */
	for (int64_t v = 1; v <= 10000; v++)
		slob_hist_record(h, v);
	slob_stats_t r;
	assert_int_equal(slob_stats_open(&r, g_path, err, sizeof(err)), 0);
	assert_int_equal(slob_stats_nhists(&r), 1);
	assert_string_equal(r.hists[0].name, "tick_to_order");
	const slob_hist_t *rh = &r.hists[0].h;
	assert_int_equal(slob_hist_count(rh), 10000);
	uint64_t p50 = slob_hist_percentile(rh, 50.0);
	uint64_t p99 = slob_hist_percentile(rh, 99.0);
	assert_true(p50 >= 4850 && p50 <= 5150);
	assert_true(p99 >= 9700 && p99 <= 10000);
	slob_stats_close(&r);
	slob_stats_close(&w);
}

static void test_apply_cold(void **state)
{
	(void)state;
	slob_stats_t w;
	char err[256];
	assert_int_equal(slob_stats_create(&w, g_path, err, sizeof(err)), 0);
	struct slob_cold rec;
	memset(&rec, 0, sizeof(rec));
	rec.type = SLOB_COLD_RISK_STATE;
	rec.u.risk.equity_cents = 5000000;
	rec.u.risk.daily_pnl_cents = -1234;
	rec.u.risk.open_positions = 1;
	assert_int_equal(slob_stats_status_apply_cold(&w, &rec), 1);
	assert_int_equal(w.status->equity_cents, 5000000);
	assert_int_equal(w.status->daily_pnl_cents, -1234);

	memset(&rec, 0, sizeof(rec));
	rec.type = SLOB_COLD_BREAKER;
	rec.ts_ns = 77;
	rec.u.breaker.tripped = 1;
	rec.u.breaker.reason = 5;
	assert_int_equal(slob_stats_status_apply_cold(&w, &rec), 1);
	assert_int_equal(w.status->breaker, 1);
	assert_int_equal(w.status->breaker_reason, 5);

	/* every transition of the order session (engine/connstate.h note 1) */
	static const struct {
		int state;
		int64_t ts;
		uint32_t drops;
	} seq[] = {
	    {SLOB_CONN_CONNECTING, 10, 0}, {SLOB_CONN_UP, 20, 0},	  {SLOB_CONN_RECONCILED, 30, 0},
	    {SLOB_CONN_DOWN, 40, 1},	   {SLOB_CONN_CONNECTING, 50, 1}, {SLOB_CONN_DOWN, 60, 1},
	    {SLOB_CONN_CONNECTING, 70, 1}, {SLOB_CONN_UP, 80, 1},	  {SLOB_CONN_DOWN, 90, 2},
	};
	for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		slob_cold_text_init(&rec, SLOB_COLD_CONN, SLOB_LVL_WARNING, seq[i].ts, "tws-order",
				    slob_conn_code(SLOB_CONN_ORDERS, (unsigned)seq[i].state), "x");
		assert_int_equal(slob_stats_status_apply_cold(&w, &rec), 1);
		/* the cold thread may hand one record to two sinks: idempotent */
		assert_int_equal(slob_stats_status_apply_cold(&w, &rec), 1);
		assert_int_equal(w.status->conn[SLOB_STATS_CONN_ORDERS], seq[i].state);
		assert_int_equal(w.status->conn_since_ns[SLOB_STATS_CONN_ORDERS], seq[i].ts);
		assert_int_equal(w.status->conn_drops[SLOB_STATS_CONN_ORDERS], seq[i].drops);
	}
	assert_int_equal(w.status->conn[SLOB_STATS_CONN_MD], SLOB_CONN_DOWN); /* untouched */
	assert_string_equal(slob_stats_conn_name(SLOB_CONN_RECONCILED), "reconciled");
	rec.u.text.code = slob_conn_code(7, SLOB_CONN_DOWN); /* bad index: ignored */
	assert_int_equal(slob_stats_status_apply_cold(&w, &rec), 0);
	rec.u.text.code = slob_conn_code(SLOB_CONN_MD, 99); /* bad state: ignored */
	assert_int_equal(slob_stats_status_apply_cold(&w, &rec), 0);
	assert_int_equal(w.status->conn[SLOB_STATS_CONN_MD], SLOB_CONN_DOWN);

	memset(&rec, 0, sizeof(rec));
	rec.type = SLOB_COLD_POSITION;
	rec.u.position.qty = -2;
	rec.u.position.avg_px = 80000;
	rec.u.position.open = 1;
	assert_int_equal(slob_stats_status_apply_cold(&w, &rec), 1);
	assert_int_equal(w.status->npositions, 1);
	assert_int_equal(w.status->positions[0].qty, -2);
	rec.u.position.open = 0;
	assert_int_equal(slob_stats_status_apply_cold(&w, &rec), 1);
	assert_int_equal(w.status->npositions, 0);

	/* broker account figures as risk sees them */
	memset(&rec, 0, sizeof(rec));
	rec.type = SLOB_COLD_ACCOUNT;
	rec.u.account.acct.have = SLOB_ACCT_NET_LIQ | SLOB_ACCT_AVAILABLE | SLOB_ACCT_MARGIN_1;
	rec.u.account.acct.net_liq_cents = 80000000;
	rec.u.account.acct.available_cents = 100000;
	rec.u.account.acct.margin_1_cents = 2000000;
	rec.u.account.acct.summary_wall_ns = 123456789;
	memcpy(rec.u.account.acct.currency, "USD", 4);
	rec.u.account.sizing_equity_cents = 80000000;
	rec.u.account.equity_src = 1;
	rec.u.account.stale = 1;
	assert_int_equal(slob_stats_status_apply_cold(&w, &rec), 1);
	assert_int_equal(w.status->acct_have, rec.u.account.acct.have);
	assert_true(w.status->acct_net_liq_cents == 80000000);
	assert_true(w.status->acct_available_cents == 100000);
	assert_true(w.status->acct_margin_1_cents == 2000000);
	assert_true(w.status->acct_updated_ns == 123456789);
	assert_true(w.status->sizing_equity_cents == 80000000);
	assert_int_equal(w.status->sizing_equity_src, 1);
	assert_int_equal(w.status->acct_stale, 1);
	assert_string_equal(w.status->acct_currency, "USD");

	rec.type = SLOB_COLD_BAR;
	assert_int_equal(slob_stats_status_apply_cold(&w, &rec), 0);

	/* nested begin/end: seq stays odd for the whole outer update */
	uint64_t q0 = w.status->seq;
	assert_int_equal(q0 & 1, 0);
	slob_stats_status_begin(&w);
	assert_int_equal(w.status->seq, q0 + 1);
	rec.type = SLOB_COLD_RISK_STATE;
	slob_stats_status_apply_cold(&w, &rec);
	assert_int_equal(w.status->seq, q0 + 1);
	slob_stats_status_end(&w);
	assert_int_equal(w.status->seq, q0 + 2);
	slob_stats_status_end(&w); /* unbalanced end: ignored */
	assert_int_equal(w.status->seq, q0 + 2);
	slob_stats_close(&w);
}

static void test_sample_rings(void **state)
{
	(void)state;
	slob_stats_t w;
	char err[256];
	assert_int_equal(slob_stats_create(&w, g_path, err, sizeof(err)), 0);
	slob_ring_t a, b;
	assert_int_equal(slob_ring_init(&a, "a", 64, 8), 0);
	assert_int_equal(slob_ring_init(&b, "b", 16, 8), 0);
	uint64_t v = 7;
	for (int i = 0; i < 5; i++)
		assert_true(slob_ring_push_spsc(&a, &v));
	assert_true(slob_ring_push_spsc(&b, &v));
	slob_stage_t risk, lone, unknown;
	memset(&risk, 0, sizeof(risk));
	memset(&lone, 0, sizeof(lone));
	memset(&unknown, 0, sizeof(unknown));
	risk.name = "risk";
	risk.inputs[0] = &a;
	risk.inputs[1] = &b;
	risk.ninputs = 2;
	lone.name = "lone";
	unknown.name = "not-registered";
	unknown.inputs[0] = &a;
	unknown.ninputs = 1;
	assert_non_null(slob_stats_stage_register(&w, "risk"));
	assert_non_null(slob_stats_stage_register(&w, "lone"));
	slob_stage_t *const stages[] = {&risk, &lone, &unknown, NULL};
	assert_int_equal(slob_stats_sample_rings(&w, stages, 4), 2);
	struct slob_stats_stage_slot *slot = slob_stats_stage_slot(&w, "risk");
	assert_int_equal(slot->ring_fill, 6);
	assert_int_equal(slot->ring_cap, 63 + 15);
	slot = slob_stats_stage_slot(&w, "lone");
	assert_int_equal(slot->ring_fill, 0);
	assert_int_equal(slot->ring_cap, 0);
	/* drained: the next sample shows it */
	uint64_t out;
	while (slob_ring_pop_spsc(&a, &out))
		;
	slob_stats_sample_rings(&w, stages, 4);
	assert_int_equal(slob_stats_stage_slot(&w, "risk")->ring_fill, 1);
	slob_ring_destroy(&a);
	slob_ring_destroy(&b);
	slob_stats_close(&w);
}

/* ---- seqlock consistency under concurrent writes ----------------------- */

static volatile int g_stop;

/* Invariant the writer maintains in every update: peak = equity + 1,
 * daily = -equity, open_positions = equity & 7, account = decimal equity. */
static int check_consistent(const struct slob_stats_status *st)
{
	char acc[24];
	if (st->peak_cents != st->equity_cents + 1)
		return 0;
	if (st->daily_pnl_cents != -st->equity_cents)
		return 0;
	if (st->open_positions != (int32_t)(st->equity_cents & 7))
		return 0;
	snprintf(acc, sizeof(acc), "%lld", (long long)st->equity_cents);
	acc[15] = 0;
	return strcmp(acc, st->account) == 0;
}

static void *writer(void *arg)
{
	slob_stats_t *w = arg;
	int64_t k = 0;
	while (!__atomic_load_n(&g_stop, __ATOMIC_RELAXED)) {
		k++;
		slob_stats_status_begin(w);
		/* field stores race with readers by design (seqlock); relaxed atomics */
		__atomic_store_n(&w->status->equity_cents, k, __ATOMIC_RELAXED);
		__atomic_store_n(&w->status->peak_cents, k + 1, __ATOMIC_RELAXED);
		__atomic_store_n(&w->status->daily_pnl_cents, -k, __ATOMIC_RELAXED);
		__atomic_store_n(&w->status->open_positions, (int32_t)(k & 7), __ATOMIC_RELAXED);
		char acc[24];
		int n = snprintf(acc, sizeof(acc), "%lld", (long long)k);
		if (n > 15)
			n = 15;
		acc[n] = 0;
		for (int i = 0; i <= n; i++)
			__atomic_store_n(&w->status->account[i], acc[i], __ATOMIC_RELAXED);
		slob_stats_status_end(w);
		/* a busy but not pathological writer: the engine's cold thread
		 * updates the block at most a few thousand times a second */
		for (int i = 0; i < 32; i++)
			slob_cpu_relax();
	}
	return (void *)(intptr_t)k;
}

static long reader_loop(int iters, long *changes)
{
	slob_stats_t r;
	char err[256];
	if (slob_stats_open(&r, g_path, err, sizeof(err)) < 0)
		return -1;
	long bad = 0;
	int64_t last = -1;
	*changes = 0;
	struct slob_stats_snapshot snap;
	int64_t t_end = now_ns() + 2000000000ll; /* bounded on a loaded machine */
	/* at least `iters` snapshots and two changes seen (the writer may be
	 * descheduled for a while on a loaded machine), at most ~2 s */
	for (int i = 0; (i < iters || *changes < 500) && (i & 255 || now_ns() < t_end); i++) {
		if (slob_stats_snapshot(&r, 0, &snap) < 0)
			continue;
		if (snap.st.equity_cents != 0 && !check_consistent(&snap.st))
			bad++;
		if (snap.st.equity_cents != last)
			(*changes)++;
		last = snap.st.equity_cents;
	}
	slob_stats_close(&r);
	return bad;
}

static void test_seqlock_concurrent(void **state)
{
	(void)state;
	const char *sz = getenv("SLOB_STATS_ITERS");
	int iters = sz ? atoi(sz) : 50000;
	slob_stats_t w;
	char err[256];
	assert_int_equal(slob_stats_create(&w, g_path, err, sizeof(err)), 0);
	g_stop = 0;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, writer, &w), 0);
	while (__atomic_load_n(&w.status->equity_cents, __ATOMIC_RELAXED) == 0)
		sched_yield(); /* the writer runs before readers start */

	/* a reader process, mapping the file on its own */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		long ch;
		long bad = reader_loop(iters, &ch);
		_exit(bad == 0 ? 0 : 1);
	}
	long changes = 0;
	long bad = reader_loop(iters, &changes);
	int wst = 0;
	assert_int_equal(waitpid(pid, &wst, 0), pid);
	__atomic_store_n(&g_stop, 1, __ATOMIC_RELAXED);
	void *res;
	pthread_join(t, &res);
	assert_int_equal(bad, 0);
	assert_true(WIFEXITED(wst));
	assert_int_equal(WEXITSTATUS(wst), 0);
	/* the test saw the writer progress (otherwise it proves nothing) */
	print_message("reader saw %ld changes, writer made %ld\n", changes, (long)(intptr_t)res);
	assert_true(changes > 1);
	assert_true((intptr_t)res > 1);
	slob_stats_close(&w);
}

/* The check itself must be able to fail: a torn copy is detected. */
static void test_check_detects_torn(void **state)
{
	(void)state;
	struct slob_stats_status st;
	memset(&st, 0, sizeof(st));
	st.equity_cents = 10;
	st.peak_cents = 11;
	st.daily_pnl_cents = -10;
	st.open_positions = 2;
	strcpy(st.account, "10");
	assert_true(check_consistent(&st));
	st.peak_cents = 12;
	assert_false(check_consistent(&st));
}

/* slobctl status reads a live-looking stats file (the test process is the "engine"). */
static void test_slobctl_status(void **state)
{
	(void)state;
	const char *bin = getenv("SLOB_BIN_DIR");
	char exe[600];
	snprintf(exe, sizeof(exe), "%s/slobctl", bin ? bin : "");
	if (!bin || access(exe, X_OK) != 0)
		skip();
	char dir[600], path[700], err[256];
	snprintf(dir, sizeof(dir), "%s.d", g_path);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/slob.stats", dir);
	slob_stats_t w;
	assert_int_equal(slob_stats_create(&w, path, err, sizeof(err)), 0);
	struct slob_stage_stats *risk = slob_stats_stage_register(&w, "risk");
	struct slob_stats_stage_slot *slot = slob_stats_stage_slot(&w, "risk");
	slob_stats_stage_reason_name(slot, 2, "max_positions");
	slob_stats_add(&risk->in, 1234);
	slob_stats_add(&risk->reasons[2], 7);
	slob_stats_set(&slot->ring_fill, 12);
	slob_stats_set(&slot->ring_cap, 4096);
	slob_hist_t *h = slob_stats_hist_register(&w, "tick_to_order");
	for (int i = 0; i < 1000; i++)
		slob_hist_record(h, 20000);
	slob_stats_status_begin(&w);
	w.status->engine_up = 1;
	w.status->started_ns = now_ns() - 3600ll * 1000000000ll;
	w.status->mode = SLOB_STATS_MODE_PAPER;
	w.status->conn[SLOB_STATS_CONN_ORDERS] = SLOB_STATS_CONN_UP;
	w.status->breaker = 1;
	w.status->equity_cents = 5012345;
	strcpy(w.status->account, "DU1234567");
	slob_stats_status_end(&w);
	slob_stats_heartbeat(&w, now_ns());

	char cmd[1600], out[16384];
	snprintf(cmd, sizeof(cmd), "'%s' --data-dir '%s' --json status", exe, dir);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	int st = pclose(f);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_non_null(strstr(out, "\"engine_up\":true"));
	assert_non_null(strstr(out, "\"account\":\"DU1234567\""));
	assert_non_null(strstr(out, "\"tripped\":true"));
	assert_non_null(strstr(out, "\"name\":\"risk\""));
	assert_non_null(strstr(out, "\"in\":1234"));
	assert_non_null(strstr(out, "\"max_positions\":7"));
	assert_non_null(strstr(out, "\"ring_cap\":4096"));
	assert_non_null(strstr(out, "\"name\":\"tick_to_order\""));
	assert_non_null(strstr(out, "\"equity\":50123.45"));

	/* text form */
	snprintf(cmd, sizeof(cmd), "'%s' --data-dir '%s' status", exe, dir);
	f = popen(cmd, "r");
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	pclose(f);
	assert_non_null(strstr(out, "engine       UP"));
	assert_non_null(strstr(out, "TRIPPED"));
	assert_non_null(strstr(out, "12/4096"));
	assert_non_null(strstr(out, "$50123.45"));

	/* clean stop: DOWN, exit 3 */
	slob_stats_status_begin(&w);
	w.status->engine_up = 0;
	slob_stats_status_end(&w);
	snprintf(cmd, sizeof(cmd), "'%s' --data-dir '%s' status >/dev/null", exe, dir);
	st = system(cmd);
	assert_int_equal(WEXITSTATUS(st), 3);
	slob_stats_close(&w);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_open_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hist, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apply_cold, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sample_rings, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seqlock_concurrent, setup, teardown),
	    cmocka_unit_test(test_check_detects_torn),
	    cmocka_unit_test_setup_teardown(test_slobctl_status, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
