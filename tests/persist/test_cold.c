/* SPDX-License-Identifier: MIT */
/* test_cold.c: the cold writer: every record type lands in its table, batching
 * by count and by age, durable sequences, full disk (VFS shim returning
 * SQLITE_FULL), slow disk (VFS shim sleeping) with a producer thread that must
 * never block, operator commands, and the stage's done(). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

/* cmocka.h needs the headers above */
#include <cmocka.h>

#include "persist/alert.h"
#include "persist/cold.h"
#include "persist/vfs_fault.h"
#include "ptest.h"

static int64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct sinkrec {
	int logs, alerts, crit_alerts, ticks, cmds;
	char last_alert[200];
	int last_alert_kind; /* the record's code: its alert kind */
	char last_cmd[200];
};

static void s_log(void *ctx, const struct slob_cold *r)
{
	(void)r;
	((struct sinkrec *)ctx)->logs++;
}
static void s_alert(void *ctx, const struct slob_cold *r)
{
	struct sinkrec *s = ctx;
	s->alerts++;
	if (r->u.text.level >= SLOB_LVL_CRITICAL)
		s->crit_alerts++;
	snprintf(s->last_alert, sizeof(s->last_alert), "%s", r->u.text.text);
	s->last_alert_kind = r->u.text.code;
}
static void s_tick(void *ctx, int64_t now)
{
	(void)now;
	((struct sinkrec *)ctx)->ticks++;
}
static int s_cmd(void *ctx, const struct slob_opcmd *c, char *res, size_t len)
{
	struct sinkrec *s = ctx;
	s->cmds++;
	snprintf(s->last_cmd, sizeof(s->last_cmd), "%s %s", c->command, c->arg);
	snprintf(res, len, "done by test");
	return strcmp(c->command, "bogus") == 0 ? -EINVAL : 0;
}

struct fx {
	char dir[PATH_MAX];
	char path[PATH_MAX + 32];
	slob_store_t *store;
	slob_ring_t ring[2];
	slob_ring_t *rings[2];
	struct slob_coldq q[2];
	slob_cold_writer_t *w;
	struct sinkrec sink;
	struct slob_cold_params p;
};

static void fx_open(struct fx *f, const char *tag, unsigned ring_cap)
{
	struct slob_cold_params keep = f->p;
	memset(f, 0, sizeof(*f));
	f->p = keep;
	slob_vfs_fault_set(0, 0, 0);
	ptest_tmpdir(f->dir, sizeof(f->dir), tag);
	snprintf(f->path, sizeof(f->path), "%s/data/slob_state.db", f->dir);
	assert_int_equal(slob_store_open(f->path, SLOB_STORE_WRITER, &f->store), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(
		    slob_ring_init(&f->ring[i], "cold", ring_cap, sizeof(struct slob_cold)), 0);
		f->rings[i] = &f->ring[i];
		assert_int_equal(slob_coldq_init(&f->q[i], &f->ring[i], (uint8_t)i), 0);
	}
	if (f->p.batch_max == 0)
		slob_cold_params_default(&f->p);
}

static void fx_writer(struct fx *f)
{
	struct slob_cold_sinks sinks = {
	    .ctx = &f->sink, .log = s_log, .alert = s_alert, .tick = s_tick, .command = s_cmd};
	assert_int_equal(slob_cold_writer_create(f->store, f->rings, 2, &f->p, &sinks, NULL, &f->w),
			 0);
}

static void fx_close(struct fx *f)
{
	slob_vfs_fault_set(0, 0, 0);
	slob_cold_writer_free(f->w);
	slob_store_close(f->store);
	for (int i = 0; i < 2; i++) {
		slob_coldq_destroy(&f->q[i]);
		slob_ring_destroy(&f->ring[i]);
	}
	ptest_rm_rf(f->dir);
}

static sqlite3 *db(struct fx *f)
{
	return slob_store_db(f->store);
}

static void put(struct fx *f, int q, struct slob_cold *r)
{
	assert_true(slob_coldq_put(&f->q[q], r));
}

static void test_every_record_type_lands(void **state)
{
	(void)state;
	struct fx f = {.p.batch_max = 0};
	fx_open(&f, "types", 1024);
	fx_writer(&f);
	struct slob_cold r;
	char buf[128];

	memset(&r, 0, sizeof(r));
	r.type = SLOB_COLD_SETUP;
	r.cls = SLOB_CLASS_TRADE;
	r.ts_ns = 1764000000000000000LL;
	r.u.setup = (struct slob_setup){.id = 0xabcULL,
					.liq1_ns = r.ts_ns - 600000000000LL,
					.lse_high = 80100,
					.lse_low = 79900,
					.liq1_px = 80120,
					.cons_high = 80110,
					.cons_low = 80050,
					.entry = 80040,
					.sl = 80130,
					.tp = 79900,
					.rr_milli = 1555,
					.dir = -1,
					.state = SLOB_ST_SETUP_COMPLETE,
					.candles = 42};
	put(&f, 0, &r);
	memset(&r, 0, sizeof(r));
	r.type = SLOB_COLD_ORDER;
	r.cls = SLOB_CLASS_TRADE;
	r.ts_ns = 1764000001000000000LL;
	r.u.order = (struct slob_cold_order){.setup_id = 0xabc,
					     .order_id = 11,
					     .qty = 2,
					     .px = 80040,
					     .dir = -1,
					     .role = SLOB_ROLE_ENTRY,
					     .status = SLOB_EXEC_SUBMITTED};
	snprintf(r.u.order.order_ref, sizeof(r.u.order.order_ref), "SLOB_0000000000000abc_ENTRY");
	put(&f, 0, &r);
	memset(&r, 0, sizeof(r));
	r.type = SLOB_COLD_FILL;
	r.cls = SLOB_CLASS_TRADE;
	r.ts_ns = 1764000002000000000LL;
	r.u.fill = (struct slob_cold_fill){.setup_id = 0xabc,
					   .order_id = 11,
					   .qty = 1,
					   .px = 80040,
					   .dir = -1,
					   .role = SLOB_ROLE_ENTRY};
	snprintf(r.u.fill.order_ref, sizeof(r.u.fill.order_ref), "SLOB_0000000000000abc_ENTRY");
	snprintf(r.u.fill.exec_id, sizeof(r.u.fill.exec_id), "0001.01");
	put(&f, 0, &r);
	put(&f, 0, &r); /* the same execution reported twice: counted once */
	ptest_trade(&r, 0xabc, -45000);
	put(&f, 1, &r);
	memset(&r, 0, sizeof(r));
	r.type = SLOB_COLD_POSITION;
	r.cls = SLOB_CLASS_TRADE;
	r.u.position = (struct slob_cold_position){
	    .setup_id = 0xabc, .qty = -2, .avg_px = 80040, .sl = 80130, .tp = 79900, .open = 1};
	put(&f, 1, &r);
	r.u.position.setup_id = 0;
	put(&f, 1, &r);
	r.u.position.open = 0; /* aggregate closed again: row removed */
	put(&f, 1, &r);
	memset(&r, 0, sizeof(r));
	r.type = SLOB_COLD_RISK_STATE;
	r.cls = SLOB_CLASS_TRADE;
	r.u.risk = (struct slob_cold_risk){.equity_cents = 4955000,
					   .peak_cents = 5000000,
					   .daily_pnl_cents = -45000,
					   .open_positions = 1,
					   .trading_day = 20251124};
	put(&f, 1, &r);
	memset(&r, 0, sizeof(r));
	r.type = SLOB_COLD_BREAKER;
	r.cls = SLOB_CLASS_TRADE;
	r.u.breaker.tripped = 1;
	r.u.breaker.reason = 7;
	snprintf(r.u.breaker.who, sizeof(r.u.breaker.who), "risk");
	snprintf(r.u.breaker.why, sizeof(r.u.breaker.why), "daily loss limit");
	put(&f, 1, &r);
	memset(&r, 0, sizeof(r));
	r.type = SLOB_COLD_DECISION;
	r.cls = SLOB_CLASS_INFO;
	r.u.decision = (struct slob_cold_decision){
	    .setup_id = 0xabc, .qty = 2, .entry = 80040, .sl = 80130, .tp = 79900, .dir = -1};
	put(&f, 1, &r);
	ptest_bar(&r, 5);
	put(&f, 0, &r);
	slob_cold_text_init(&r, SLOB_COLD_ALERT, SLOB_LVL_CRITICAL, 1764000000000000000LL, "risk",
			    3, "breaker tripped");
	put(&f, 1, &r);
	slob_cold_text_init(&r, SLOB_COLD_CONN, SLOB_LVL_WARNING, 1764000000000000000LL, "tws", 0,
			    "orders connection lost");
	put(&f, 0, &r);
	slob_cold_text_init(&r, SLOB_COLD_LOG, SLOB_LVL_INFO, 1764000000000000000LL, "cand", 0,
			    "hi");
	put(&f, 0, &r);

	assert_int_equal(slob_cold_writer_flush(f.w, 2000), 0);
	sqlite3 *d = db(&f);
	assert_string_equal(
	    ptest_text(d,
		       "SELECT state||' '||direction||' '||entry_price||' '||"
		       "sl_price||' '||placed||' '||candles_processed FROM active_setups"
		       " WHERE id='0000000000000abc'",
		       buf, sizeof(buf)),
	    "SETUP_COMPLETE SHORT 20010.0 20032.5 1 42");
	assert_int_equal(
	    ptest_i64(d, "SELECT count(*) FROM active_setups WHERE closed_at IS NOT NULL"), 1);
	assert_string_equal(ptest_text(d,
				       "SELECT status||' '||filled_qty||' '||action||' '||role||"
				       "' '||price FROM orders",
				       buf, sizeof(buf)),
			    "PARTIAL 1 SELL ENTRY 20010.0");
	assert_int_equal(ptest_i64(d, "SELECT count(*) FROM fills"), 1);
	assert_string_equal(ptest_text(d,
				       "SELECT outcome||' '||pnl||' '||pnl_cents||' '||exit_reason"
				       " FROM trade_history",
				       buf, sizeof(buf)),
			    "LOSS -450.0 -45000 TP");
	assert_string_equal(ptest_text(d, "SELECT group_concat(setup_id||':'||qty) FROM positions",
				       buf, sizeof(buf)),
			    "0000000000000abc:-2");
	assert_string_equal(ptest_text(d,
				       "SELECT equity||' '||daily_pnl||' '||breaker_tripped||' '||"
				       "breaker_reason FROM risk_state",
				       buf, sizeof(buf)),
			    "49550.0 -450.0 1 daily loss limit");
	assert_int_equal(ptest_i64(d, "SELECT count(*) FROM breaker_events WHERE action='tripped'"),
			 1);
	assert_int_equal(ptest_i64(d, "SELECT accepted FROM decisions"), 1);
	assert_int_equal(ptest_i64(d, "SELECT count(*) FROM candles WHERE high=20002.5"), 1);
	assert_int_equal(ptest_i64(d, "SELECT count(*) FROM alerts_sent WHERE level='CRITICAL'"),
			 1);
	assert_int_equal(ptest_i64(d, "SELECT count(*) FROM events WHERE kind='conn'"), 1);
	assert_int_equal(f.sink.alerts, 1);
	assert_int_equal(f.sink.logs, 2); /* CONN + LOG */
	assert_true(f.sink.ticks > 0);
	struct slob_cold_counters c;
	slob_cold_writer_counters(f.w, &c);
	assert_int_equal(c.rejected, 0);
	assert_true(c.full_syncs >= 1);
	assert_true(slob_cold_durable_seq(f.w, 0) == f.q[0].seq);
	assert_true(slob_cold_durable_seq(f.w, 1) == f.q[1].seq);
	fx_close(&f);
}

static void test_batches_by_count_and_age(void **state)
{
	(void)state;
	struct fx f;
	memset(&f, 0, sizeof(f));
	slob_cold_params_default(&f.p);
	f.p.batch_max = 100;
	f.p.batch_ms = 40;
	fx_open(&f, "batch", 4096);
	fx_writer(&f);
	struct slob_cold r;
	for (int i = 0; i < 1000; i++) {
		ptest_bar(&r, i);
		put(&f, 0, &r);
	}
	for (int i = 0; i < 10; i++)
		assert_int_equal(slob_cold_writer_poll(f.w), 200); /* 100 drained + 100 committed */
	struct slob_cold_counters c;
	slob_cold_writer_counters(f.w, &c);
	assert_int_equal(c.batches, 10);
	assert_int_equal(c.full_syncs, 0); /* INFO only: NORMAL */
	assert_int_equal(ptest_i64(db(&f), "SELECT count(*) FROM candles"), 1000);

	/* one record waits for batch_ms, then commits */
	ptest_trade(&r, 1, 100);
	put(&f, 1, &r);
	assert_int_equal(slob_cold_writer_poll(f.w), 1);
	assert_int_equal(slob_cold_writer_pending(f.w), 1);
	assert_true(slob_cold_durable_seq(f.w, 1) == 0);
	struct timespec ts = {0, 50 * 1000000};
	nanosleep(&ts, NULL);
	assert_int_equal(slob_cold_writer_poll(f.w), 1);
	assert_int_equal(slob_cold_writer_pending(f.w), 0);
	assert_true(slob_cold_durable_seq(f.w, 1) == 1);
	slob_cold_writer_counters(f.w, &c);
	assert_int_equal(c.full_syncs, 1);
	fx_close(&f);
}

/* Full disk: commits fail, records are held, flag cleared, alert raised; after
 * space returns everything is committed exactly once. */
static void test_full_disk_holds_and_recovers(void **state)
{
	(void)state;
	struct fx f;
	memset(&f, 0, sizeof(f));
	slob_cold_params_default(&f.p);
	f.p.batch_ms = 0;
	f.p.retry_min_ms = 1;
	f.p.retry_max_ms = 4;
	f.p.pending_max = 256; /* small: the ring and the producer overflow must absorb */
	f.p.batch_max = 64;
	fx_open(&f, "full", 64);
	fx_writer(&f);
	struct slob_cold r;
	slob_vfs_fault_set(0, 0, SQLITE_FULL);
	const int n = 2000;
	for (int i = 1; i <= n; i++) {
		ptest_trade(&r, (uint64_t)i, i);
		put(&f, 0, &r); /* never fails: ring, then overflow (4096) */
		if (i % 16 == 0)
			slob_cold_writer_poll(f.w);
		slob_coldq_flush(&f.q[0]);
	}
	assert_false(slob_cold_store_healthy(f.w));
	assert_true(f.sink.crit_alerts >= 1);
	assert_non_null(strstr(f.sink.last_alert, "no new positions"));
	assert_true(slob_cold_durable_seq(f.w, 0) == 0);
	assert_true(slob_coldq_backlogged(&f.q[0])); /* producer side absorbing */
	assert_int_equal(slob_cold_writer_pending(f.w), 256);

	slob_vfs_fault_set(0, 0, 0);
	for (int64_t end = mono() + 20000000000LL;
	     mono() < end && slob_cold_durable_seq(f.w, 0) < (uint64_t)n;) {
		slob_coldq_flush(&f.q[0]);
		slob_cold_writer_poll(f.w);
	}
	assert_true(slob_cold_store_healthy(f.w));
	assert_non_null(strstr(f.sink.last_alert, "writable again"));
	assert_int_equal(slob_cold_writer_flush(f.w, 2000), 0);
	assert_int_equal(ptest_i64(db(&f), "SELECT count(*) FROM trade_history"), n);
	assert_int_equal(ptest_i64(db(&f), "SELECT count(DISTINCT setup_id) FROM trade_history"),
			 n);
	assert_int_equal(ptest_i64(db(&f), "SELECT sum(pnl_cents) FROM trade_history"),
			 (long long)n * (n + 1) / 2);
	/* the writer's own alerts were journaled once the store came back */
	assert_int_equal(ptest_i64(db(&f),
				   "SELECT count(*) FROM alerts_sent WHERE component='store'"
				   " AND level='CRITICAL'"),
			 1);
	struct slob_cold_counters c;
	slob_cold_writer_counters(f.w, &c);
	assert_true(c.failures >= 1);
	fx_close(&f);
}

/* A real full disk: the store on a 512 KiB tmpfs (root only; skipped when
 * mounting is not permitted). SQLITE_FULL comes from the kernel's ENOSPC;
 * "space returns" is a remount with a larger size. */
static void test_real_full_disk_tmpfs(void **state)
{
	(void)state;
	char mnt[PATH_MAX];
	ptest_tmpdir(mnt, sizeof(mnt), "tmpfs");
	if (geteuid() != 0 || mount("tmpfs", mnt, "tmpfs", 0, "size=512k") < 0) {
		ptest_rm_rf(mnt);
		skip();
	}
	struct fx f;
	memset(&f, 0, sizeof(f));
	slob_cold_params_default(&f.p);
	f.p.batch_max = 512;
	f.p.batch_ms = 0;
	f.p.retry_min_ms = 1;
	f.p.retry_max_ms = 5;
	fx_open(&f, "tmpfs-unused", 8192);
	/* reopen the store inside the small file system */
	slob_store_close(f.store);
	snprintf(f.path, sizeof(f.path), "%s/slob_state.db", mnt);
	assert_int_equal(slob_store_open(f.path, SLOB_STORE_WRITER, &f.store), 0);
	fx_writer(&f);
	const int n = 12000; /* ~2 MiB of rows and index entries: does not fit */
	struct slob_cold r;
	for (int i = 1; i <= n; i++) {
		ptest_trade(&r, (uint64_t)i, i);
		put(&f, 0, &r);
		if (i % 256 == 0)
			slob_cold_writer_poll(f.w);
		slob_coldq_flush(&f.q[0]);
	}
	for (int i = 0; i < 200 && slob_cold_store_healthy(f.w); i++)
		slob_cold_writer_poll(f.w);
	assert_false(slob_cold_store_healthy(f.w));
	assert_non_null(strstr(f.sink.last_alert, "No space left"));
	assert_true(slob_cold_durable_seq(f.w, 0) < (uint64_t)n);
	/* space returns */
	assert_int_equal(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=16m"), 0);
	for (int64_t end = mono() + 20000000000LL;
	     mono() < end && slob_cold_durable_seq(f.w, 0) < (uint64_t)n;) {
		slob_coldq_flush(&f.q[0]);
		slob_cold_writer_poll(f.w);
	}
	assert_true(slob_cold_durable_seq(f.w, 0) == (uint64_t)n);
	assert_true(slob_cold_store_healthy(f.w));
	assert_int_equal(ptest_i64(db(&f), "SELECT count(*) FROM trade_history"), n);
	assert_int_equal(ptest_i64(db(&f), "SELECT sum(pnl_cents) FROM trade_history"),
			 (long long)n * (n + 1) / 2);
	assert_int_equal(slob_store_check(f.store, true), 0);
	fx_close(&f);
	umount2(mnt, MNT_DETACH);
	ptest_rm_rf(mnt);
}

/* A stop while the store cannot write: after spill_after_ms the held records
 * and the rings' contents go to <store>.spill and the stage is done; the next
 * start commits the file in one transaction and removes it (cold.h note 6). */
static void test_stop_spills_and_replays(void **state)
{
	(void)state;
	struct fx f;
	memset(&f, 0, sizeof(f));
	slob_cold_params_default(&f.p);
	f.p.batch_ms = 0;
	f.p.retry_min_ms = 1;
	f.p.retry_max_ms = 4;
	f.p.pending_max = 64;
	f.p.batch_max = 16;
	f.p.spill_after_ms = 50;
	fx_open(&f, "spill", 256);
	fx_writer(&f);
	slob_vfs_fault_set(0, 0, SQLITE_FULL);
	struct slob_cold r;
	const int n = 200; /* more than pending_max: the rest waits in the ring */
	for (int i = 1; i <= n; i++) {
		ptest_trade(&r, (uint64_t)i, i);
		put(&f, 0, &r);
		if (i % 16 == 0)
			slob_cold_writer_poll(f.w);
	}
	slob_coldq_flush(&f.q[0]);
	assert_false(slob_cold_store_healthy(f.w));
	slob_cold_writer_producers_finished(f.w);
	slob_stage_t *st = slob_cold_stage(f.w);
	for (int i = 0; i < 20; i++)
		slob_cold_writer_poll(f.w);
	assert_false(st->done(st)); /* no stop requested: it waits for the store */
	slob_cold_writer_stop_requested(f.w);
	int64_t end = mono() + 5000000000LL;
	while (!st->done(st) && mono() < end)
		slob_cold_writer_poll(f.w);
	assert_true(st->done(st));
	uint64_t spilled, lost;
	slob_cold_writer_spill_stats(f.w, &spilled, &lost);
	assert_int_equal(lost, 0);
	assert_true(spilled >= (uint64_t)n); /* + the writer's own alert */
	char sp[PATH_MAX + 64];
	assert_int_equal(slob_cold_spill_path(f.path, sp, sizeof(sp), NULL), 0);
	assert_int_equal(access(sp, R_OK), 0);
	slob_cold_writer_free(f.w);
	f.w = NULL;
	slob_vfs_fault_set(0, 0, 0);
	assert_int_equal(ptest_i64(db(&f), "SELECT count(*) FROM trade_history"), 0);
	char msg[400];
	assert_true(slob_cold_spill_replay(f.store, NULL, msg, sizeof(msg)) >= n);
	assert_non_null(strstr(msg, "replayed"));
	assert_int_equal(ptest_i64(db(&f), "SELECT count(*) FROM trade_history"), n);
	assert_int_equal(ptest_i64(db(&f), "SELECT sum(pnl_cents) FROM trade_history"),
			 (long long)n * (n + 1) / 2);
	assert_int_not_equal(access(sp, F_OK), 0); /* removed after the commit */
	assert_int_equal(slob_cold_spill_replay(f.store, NULL, msg, sizeof(msg)), 0);
	fx_close(&f);
}

/* An operator tool holding the write lock (VACUUM, archive) is waited out
 * quietly for busy_grace_ms; with no grace it is an incident like a full disk. */
static void test_busy_lock_grace(void **state)
{
	(void)state;
	for (int grace = 1; grace >= 0; grace--) {
		struct fx f;
		memset(&f, 0, sizeof(f));
		slob_cold_params_default(&f.p);
		f.p.batch_ms = 0;
		f.p.retry_min_ms = 1;
		f.p.retry_max_ms = 2;
		f.p.busy_grace_ms = grace ? 60000 : 0;
		fx_open(&f, "busy", 64);
		fx_writer(&f);
		slob_store_t *ctl;
		assert_int_equal(slob_store_open(f.path, 0, &ctl), 0);
		assert_int_equal(slob_store_exec(ctl, "BEGIN IMMEDIATE"), 0);
		struct slob_cold r;
		ptest_trade(&r, 7, 700);
		put(&f, 0, &r);
		for (int i = 0; i < 3; i++) {
			slob_cold_writer_poll(f.w);
			struct timespec ts = {0, 3000000};
			nanosleep(&ts, NULL);
		}
		assert_true(slob_cold_durable_seq(f.w, 0) == 0);
		assert_int_equal(slob_cold_writer_pending(f.w), grace ? 1 : 2); /* + own alert */
		if (grace) {
			assert_true(slob_cold_store_healthy(f.w));
			assert_int_equal(f.sink.alerts, 0);
		} else {
			assert_false(slob_cold_store_healthy(f.w));
			assert_int_equal(f.sink.crit_alerts, 1);
			assert_non_null(strstr(f.sink.last_alert, "busy"));
			/* the kind names the alert's title: "Store error", never the
			 * errno (EBUSY is 16, the kind of a test alert) */
			assert_int_equal(f.sink.last_alert_kind, SLOB_ALERT_STORE_ERROR);
		}
		assert_int_equal(slob_store_exec(ctl, "COMMIT"), 0);
		assert_int_equal(slob_cold_writer_flush(f.w, 5000), 0);
		assert_true(slob_cold_durable_seq(f.w, 0) == 1);
		assert_true(slob_cold_store_healthy(f.w));
		assert_int_equal(f.sink.alerts, grace ? 0 : 2);
		if (!grace)
			assert_int_equal(f.sink.last_alert_kind, SLOB_ALERT_STORE_WRITABLE);
		assert_int_equal(ptest_i64(db(&f), "SELECT count(*) FROM trade_history"), 1);
		slob_store_close(ctl);
		fx_close(&f);
	}
}

/* Rings are drained in turn, so an ORDER or TRADE record of one producer can
 * be applied before the SETUP record of another: the setup row must still end
 * up placed and closed. */
static void test_cross_producer_order(void **state)
{
	(void)state;
	struct fx f = {.p.batch_max = 0};
	fx_open(&f, "xorder", 64);
	fx_writer(&f);
	struct slob_cold r;
	memset(&r, 0, sizeof(r));
	r.type = SLOB_COLD_ORDER;
	r.cls = SLOB_CLASS_TRADE;
	r.u.order.setup_id = 0x77;
	r.u.order.status = SLOB_EXEC_SUBMITTED;
	snprintf(r.u.order.order_ref, sizeof(r.u.order.order_ref), "SLOB_0000000000000077_ENTRY");
	assert_int_equal(slob_cold_apply(f.w, &r), 0);
	ptest_trade(&r, 0x77, 500);
	assert_int_equal(slob_cold_apply(f.w, &r), 0);
	memset(&r, 0, sizeof(r));
	r.type = SLOB_COLD_SETUP;
	r.cls = SLOB_CLASS_TRADE;
	r.ts_ns = 1764000000000000000LL;
	r.u.setup = (struct slob_setup){.id = 0x77,
					.dir = 1,
					.entry = 80000,
					.sl = 79960,
					.tp = 80100,
					.state = SLOB_ST_SETUP_COMPLETE};
	assert_int_equal(slob_cold_apply(f.w, &r), 0);
	assert_int_equal(
	    ptest_i64(db(&f), "SELECT placed FROM active_setups WHERE id='0000000000000077'"), 1);
	assert_int_equal(ptest_i64(db(&f), "SELECT closed_at IS NOT NULL FROM active_setups"
					   " WHERE id='0000000000000077'"),
			 1);
	/* a later state change keeps both */
	r.u.setup.state = SLOB_ST_INVALIDATED;
	assert_int_equal(slob_cold_apply(f.w, &r), 0);
	assert_int_equal(ptest_i64(db(&f),
				   "SELECT placed + (closed_at IS NOT NULL) FROM active_setups"
				   " WHERE id='0000000000000077'"),
			 2);
	fx_close(&f);
}

/* Slow disk: a producer thread pushes numbered trade records at full speed
 * while every write and fsync sleeps. It must never block nor lose a record. */
struct prod {
	struct slob_coldq *q;
	int n;
	int64_t max_put_ns;
	int64_t *lat;
	int failed;
	int done;
};

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void *producer(void *arg)
{
	struct prod *p = arg;
	struct slob_cold r;
	for (int i = 1; i <= p->n; i++) {
		ptest_trade(&r, (uint64_t)i, 1);
		int64_t t0 = mono();
		if (!slob_coldq_put(p->q, &r))
			p->failed++;
		int64_t dt = mono() - t0;
		p->lat[i - 1] = dt;
		if (dt > p->max_put_ns)
			p->max_put_ns = dt;
		if (i % 64 == 0) {
			struct timespec ts = {0, 200000};
			nanosleep(&ts, NULL);
		}
	}
	while (slob_coldq_flush(p->q)) {
		struct timespec ts = {0, 100000};
		nanosleep(&ts, NULL);
	}
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_slow_disk_never_blocks_producer(void **state)
{
	(void)state;
	struct fx f;
	memset(&f, 0, sizeof(f));
	slob_cold_params_default(&f.p);
	f.p.batch_max = 256;
	fx_open(&f, "slow", 1024);
	fx_writer(&f);
	slob_vfs_fault_set(300, 3000, 0); /* 0.3 ms per write, 3 ms per fsync */
	static int64_t lat[3000];
	struct prod p = {.q = &f.q[0], .n = 3000, .lat = lat};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, producer, &p), 0);
	while (!__atomic_load_n(&p.done, __ATOMIC_ACQUIRE))
		slob_cold_writer_poll(f.w);
	pthread_join(t, NULL);
	slob_cold_writer_producers_finished(f.w);
	while (!slob_cold_stage(f.w)->done(slob_cold_stage(f.w)))
		slob_cold_writer_poll(f.w);
	long long syncs;
	slob_vfs_fault_stats(NULL, &syncs, NULL);
	slob_vfs_fault_set(0, 0, 0);
	assert_int_equal(p.failed, 0);
	/* a put is a copy into a ring slot or the overflow: far below one fsync.
	 * The p99 (not the max: a loaded box preempts the producer now and then). */
	qsort(lat, 3000, sizeof(lat[0]), cmp_i64);
	print_message("slow disk: put p50 %lld ns, p99 %lld ns, max %lld ns, overflowed %llu, "
		      "syncs %lld\n",
		      (long long)lat[1500], (long long)lat[2970], (long long)p.max_put_ns,
		      (unsigned long long)f.q[0].overflowed, syncs);
	assert_true(lat[2970] < 500000);
	assert_true(slob_cold_durable_seq(f.w, 0) == 3000);
	assert_int_equal(ptest_i64(db(&f), "SELECT count(*) FROM trade_history"), 3000);
	fx_close(&f);
}

/*
 * A TRADE record refused because ring and overflow are full takes no
 * sequence number: the producer may retry it, and the writer's durable seq
 * then still counts records actually queued (kill -9 stress relies on it).
 */
static void test_refused_put_takes_no_seq(void **state)
{
	(void)state;
	slob_ring_t ring;
	struct slob_coldq q;
	assert_int_equal(slob_ring_init(&ring, "cold", 16, sizeof(struct slob_cold)), 0);
	assert_int_equal(slob_coldq_init(&q, &ring, 0), 0);
	struct slob_cold r;
	uint64_t k = 0;
	for (; k < slob_ring_capacity(&ring) + SLOB_COLDQ_OVERFLOW; k++) {
		ptest_trade(&r, k + 1, (int64_t)k + 1);
		assert_true(slob_coldq_put(&q, &r));
		assert_int_equal(r.seq, k + 1);
	}
	uint64_t digest = q.digest;
	ptest_trade(&r, k + 1, (int64_t)k + 1);
	for (int i = 0; i < 3; i++) /* refused, retried, refused again */
		assert_false(slob_coldq_put(&q, &r));
	assert_int_equal(q.seq, k);
	assert_true(q.digest == digest); /* not journalled either */
	struct slob_cold out;
	assert_true(slob_ring_pop_spsc(&ring, &out)); /* the cold thread takes one */
	assert_int_equal(out.seq, 1);
	assert_true(slob_coldq_put(&q, &r)); /* the retry now queues */
	assert_int_equal(r.seq, k + 1);
	assert_int_equal(q.seq, k + 1);
	slob_coldq_destroy(&q);
	slob_ring_destroy(&ring);
}

static void test_operator_commands_applied(void **state)
{
	(void)state;
	struct fx f;
	memset(&f, 0, sizeof(f));
	slob_cold_params_default(&f.p);
	f.p.cmd_poll_ms = 1;
	fx_open(&f, "cmd", 64);
	fx_writer(&f);
	/* slobctl: its own connection */
	slob_store_t *ctl;
	assert_int_equal(slob_store_open(f.path, 0, &ctl), 0);
	assert_true(slob_store_cmd_insert(ctl, "reset-breaker", "", "alice", "reviewed") > 0);
	assert_true(slob_store_cmd_insert(ctl, "bogus", "x", "bob", "typo") > 0);
	struct timespec ts = {0, 3000000};
	for (int i = 0; i < 1000 && f.sink.cmds < 2; i++) {
		slob_cold_writer_poll(f.w);
		nanosleep(&ts, NULL);
	}
	assert_int_equal(f.sink.cmds, 2);
	char buf[128];
	assert_string_equal(ptest_text(slob_store_db(ctl),
				       "SELECT group_concat(result, '|') FROM"
				       " operator_commands WHERE applied_at IS NOT NULL",
				       buf, sizeof(buf)),
			    "done by test|failed: done by test");
	for (int i = 0; i < 5; i++)
		slob_cold_writer_poll(f.w);
	assert_int_equal(f.sink.cmds, 2); /* applied once */
	slob_store_close(ctl);
	fx_close(&f);
}

static void test_stage_done_and_params(void **state)
{
	(void)state;
	struct fx f = {.p.batch_max = 0};
	fx_open(&f, "done", 64);
	fx_writer(&f);
	slob_stage_t *st = slob_cold_stage(f.w);
	assert_false(st->done(st));
	struct slob_cold r;
	ptest_bar(&r, 1);
	put(&f, 0, &r);
	slob_cold_writer_producers_finished(f.w);
	assert_false(st->done(st));
	assert_true(st->poll(st) > 0);
	assert_true(st->done(st));
	assert_int_equal(ptest_i64(db(&f), "SELECT count(*) FROM candles"), 1);

	struct slob_cold_params p;
	char err[200];
	slob_cold_params_default(&p);
	assert_int_equal(slob_cold_param_set(&p, "batch_max", "0", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "cold.batch_max"));
	assert_int_equal(slob_cold_param_set(&p, "bogus", "1", err, sizeof(err)), -ENOENT);
	assert_int_equal(slob_cold_param_set(&p, "pending_max", "10", err, sizeof(err)), 0);
	assert_int_equal(slob_cold_params_validate(&p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "pending_max"));

	assert_int_equal(slob_cold_run_begin(f.store, "replay", "test", "x.ini", "abc"), 1);
	assert_int_equal(slob_cold_run_end(f.store, 1, "d1g35t", "ok"), 0);
	assert_int_equal(slob_cold_run_end(f.store, 7, "d", "ok"), -ENOENT);
	fx_close(&f);
}

int main(void)
{
	if (slob_vfs_fault_register(true) < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_record_type_lands),
	    cmocka_unit_test(test_batches_by_count_and_age),
	    cmocka_unit_test(test_full_disk_holds_and_recovers),
	    cmocka_unit_test(test_real_full_disk_tmpfs),
	    cmocka_unit_test(test_busy_lock_grace),
	    cmocka_unit_test(test_stop_spills_and_replays),
	    cmocka_unit_test(test_cross_producer_order),
	    cmocka_unit_test(test_slow_disk_never_blocks_producer),
	    cmocka_unit_test(test_refused_put_takes_no_seq),
	    cmocka_unit_test(test_operator_commands_applied),
	    cmocka_unit_test(test_stage_done_and_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
