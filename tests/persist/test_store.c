/* SPDX-License-Identifier: MIT */
/* test_store.c: schema, migrations from every earlier version, the incident
 * guide's queries and manual insert, refusal of foreign/newer/garbage files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* cmocka.h needs the headers above */
#include <cmocka.h>

#include "persist/store.h"
#include "ptest.h"

static const char *const all_tables[] = {
    "active_setups", "trade_history", "candles",	   "runs",	     "orders",
    "fills",	     "positions",     "risk_state",	   "breaker_events", "alerts_sent",
    "decisions",     "events",	      "operator_commands", "sweep_results",
};

/*
 * Must run first in this process: SQLite takes SQLITE_CONFIG_MEMSTATUS only
 * before its first open, and on a restart slobd's first open is the
 * read-only check of the existing file. Memory statistics stay off (0 bytes
 * counted) with a store open afterwards.
 */
static void test_memstatus_off_when_check_comes_first(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32];
	ptest_tmpdir(dir, sizeof(dir), "memstat");
	snprintf(path, sizeof(path), "%s/slob_state.db", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a database, long enough to have a header of sorts.............", f);
	fclose(f);
	assert_int_equal(slob_store_check_path(path, false), -EIO);
	assert_int_equal(unlink(path), 0);
	slob_store_t *s;
	assert_int_equal(slob_store_open(path, 0, &s), 0);
	assert_true(sqlite3_memory_used() == 0);
	slob_store_close(s);
	ptest_rm_rf(dir);
}

/*
 * A lost store is not a new one: an empty file (0 bytes, or only a header
 * after its WAL was lost) or a store missing a table its version promises
 * fails the check (slobctl check --full); at slobd's start a missing or empty
 * store is new only while nothing says a store lived in the directory.
 */
static void test_lost_store_is_not_new(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32], mp[PATH_MAX + 64], bdir[PATH_MAX + 32];
	ptest_tmpdir(dir, sizeof(dir), "lost");
	snprintf(path, sizeof(path), "%s/slob_state.db", dir);
	/* a new directory: no file, then an empty one, nothing else */
	assert_int_equal(slob_store_check_startup(path, true), 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(slob_store_check_startup(path, true), 0);
	/* ...but the check itself never calls an empty store ok */
	assert_int_equal(slob_store_check_path(path, true), -EIO);
	assert_non_null(strstr(slob_store_strerror(), "empty"));
	/* header only: what a crash leaves when the WAL holding the schema is gone */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=5", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(slob_store_check_path(path, false), -EIO);
	assert_int_equal(slob_store_check_startup(path, false), 0); /* still no evidence */
	/* a real store, then marked as slobd does: now evidence exists */
	unlink(path);
	slob_store_t *s;
	assert_int_equal(slob_store_open(path, 0, &s), 0);
	slob_store_close(s);
	assert_int_equal(slob_store_check_path(path, true), 0);
	assert_int_equal(slob_store_mark(path), 0);
	assert_int_equal(slob_store_marker_path(path, mp, sizeof(mp)), 0);
	assert_int_equal(access(mp, R_OK), 0);
	char what[PATH_MAX + 64];
	assert_int_equal(slob_store_history(path, what, sizeof(what)), 1);
	assert_non_null(strstr(what, "marker"));
	assert_int_equal(slob_store_check_startup(path, true), 0);
	/* a table dropped: version 5 promises it */
	assert_int_equal(slob_store_open(path, 0, &s), 0);
	assert_int_equal(slob_store_exec(s, "DROP TABLE fills"), 0);
	slob_store_close(s);
	assert_int_equal(slob_store_check_path(path, true), -EIO);
	assert_non_null(strstr(slob_store_strerror(), "fills"));
	/* its version lost: slob's tables at user_version 0 */
	assert_int_equal(slob_store_open(path, 0, &s), 0);
	slob_store_close(s);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=0", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(slob_store_check_startup(path, false), -EIO);
	assert_non_null(strstr(slob_store_strerror(), "version was lost"));
	/* truncated to 0 bytes with the marker beside it */
	assert_int_equal(truncate(path, 0), 0);
	char wal[PATH_MAX + 40];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	unlink(wal);
	assert_int_equal(slob_store_check_startup(path, true), -EIO);
	assert_non_null(strstr(slob_store_strerror(), path));
	assert_non_null(strstr(slob_store_strerror(), "lost"));
	/* missing altogether, with only a backup as evidence */
	unlink(path);
	unlink(mp);
	assert_int_equal(slob_store_check_startup(path, true), 0);
	snprintf(bdir, sizeof(bdir), "%s/backups", dir);
	assert_int_equal(mkdir(bdir, 0755), 0);
	snprintf(mp, sizeof(mp), "%s/slob_state_20260101_000000.db", bdir);
	f = fopen(mp, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(slob_store_check_startup(path, true), -EIO);
	assert_non_null(strstr(slob_store_strerror(), "missing"));
	ptest_rm_rf(dir);
}

static void test_open_creates_current_store(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32], buf[64];
	ptest_tmpdir(dir, sizeof(dir), "open");
	snprintf(path, sizeof(path), "%s/data/slob_state.db", dir);
	slob_store_t *s;
	assert_int_equal(slob_store_open(path, 0, &s), 0);
	assert_int_equal(slob_store_version(s), SLOB_STORE_VERSION);
	sqlite3 *db = slob_store_db(s);
	assert_string_equal(ptest_text(db, "PRAGMA journal_mode", buf, sizeof(buf)), "wal");
	assert_int_equal(ptest_i64(db, "PRAGMA foreign_keys"), 1);
	for (size_t i = 0; i < sizeof(all_tables) / sizeof(all_tables[0]); i++) {
		char q[200];
		snprintf(q, sizeof(q),
			 "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='%s'",
			 all_tables[i]);
		assert_int_equal(ptest_i64(db, q), 1);
	}
	/* the indexes the dashboard and slobctl rely on */
	assert_int_equal(ptest_i64(db,
				   "SELECT count(*) FROM sqlite_master WHERE type='index' AND name"
				   " IN ('idx_trade_history_entry_time','idx_orders_setup')"),
			 2);
	assert_int_equal(slob_store_check(s, true), 0);
	slob_store_close(s);
	/* reopen is a no-op migration */
	assert_int_equal(slob_store_open(path, SLOB_STORE_NO_MIGRATE, &s), 0);
	slob_store_close(s);
	ptest_rm_rf(dir);
}

/* A store left at every earlier version (with a row in it) opens, migrates to
 * the current version and keeps the row. */
static void test_migrates_from_every_earlier_version(void **state)
{
	(void)state;
	for (int v = 0; v < SLOB_STORE_VERSION; v++) {
		char dir[PATH_MAX], path[PATH_MAX + 32];
		ptest_tmpdir(dir, sizeof(dir), "mig");
		snprintf(path, sizeof(path), "%s/slob_state.db", dir);
		sqlite3 *db;
		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(slob_store_migrate(db, v), v);
		assert_int_equal(ptest_i64(db, "PRAGMA user_version"), v);
		if (v >= 1)
			assert_int_equal(
			    sqlite3_exec(db,
					 "INSERT INTO trade_history (setup_id, entry_time, pnl,"
					 " outcome) VALUES ('00000000000000aa',"
					 " '2025-01-02 14:30:00.000', -125.5, 'LOSS');"
					 /* an archived row: its id must not come back */
					 "INSERT INTO trade_history (id, setup_id, entry_time)"
					 " VALUES (500, 'gone', '2024-01-01 00:00:00.000');"
					 "DELETE FROM trade_history WHERE id = 500",
					 NULL, NULL, NULL),
			    SQLITE_OK);
		if (v >= 2)
			assert_int_equal(
			    sqlite3_exec(db,
					 "INSERT INTO orders (order_ref, setup_id, role) VALUES"
					 " ('SLOB_00000000000000aa_ENTRY', '00000000000000aa',"
					 " 'ENTRY')",
					 NULL, NULL, NULL),
			    SQLITE_OK);
		if (v >= 1)
			assert_int_equal(sqlite3_exec(db,
						      "INSERT INTO candles (timestamp, open, high,"
						      " low, close, volume, ticks, flags) VALUES"
						      " ('2025-01-02 14:30:00', 21000.25, 21004,"
						      " 20999.5, 21003.75, 120, 37, 2)",
						      NULL, NULL, NULL),
					 SQLITE_OK);
		sqlite3_close(db);

		slob_store_t *s;
		int rc = slob_store_open(path, 0, &s);
		if (rc)
			fail_msg("from version %d: %s", v, slob_store_strerror());
		assert_int_equal(slob_store_version(s), SLOB_STORE_VERSION);
		db = slob_store_db(s);
		assert_int_equal(ptest_i64(db, "SELECT count(*) FROM trade_history"),
				 v >= 1 ? 1 : 0);
		assert_int_equal(ptest_i64(db, "SELECT count(*) FROM orders"), v >= 2 ? 1 : 0);
		assert_int_equal(ptest_i64(db, "SELECT count(*) FROM operator_commands"), 0);
		/* migration 4 kept the AUTOINCREMENT counters and the CHECKs */
		assert_int_equal(sqlite3_exec(db,
					      "INSERT INTO trade_history (setup_id, entry_time)"
					      " VALUES ('next', '2025-01-03 00:00:00.000')",
					      NULL, NULL, NULL),
				 SQLITE_OK);
		assert_int_equal(ptest_i64(db, "SELECT max(id) FROM trade_history"),
				 v >= 1 ? 501 : 1);
		assert_int_equal(ptest_i64(db, "SELECT count(*) FROM sqlite_sequence"
					       " WHERE name IN ('trade_history', 'orders')"),
				 v >= 2 ? 2 : 1);
		assert_int_not_equal(sqlite3_exec(db,
						  "INSERT INTO trade_history (setup_id,"
						  " entry_time, outcome) VALUES ('bad',"
						  " '2025-01-03 00:00:00.000', 'MAYBE')",
						  NULL, NULL, NULL),
				     SQLITE_OK);
		assert_int_not_equal(sqlite3_exec(db,
						  "INSERT INTO orders (order_ref, role)"
						  " VALUES ('SLOB_bad', 'STOP')",
						  NULL, NULL, NULL),
				     SQLITE_OK);
		/* migration 5 kept the candle and made the table WITHOUT ROWID */
		assert_int_equal(ptest_i64(db, "SELECT count(*) FROM candles WHERE timestamp ="
					       " '2025-01-02 14:30:00' AND open = 21000.25 AND"
					       " close = 21003.75 AND volume = 120 AND ticks = 37"
					       " AND flags = 2 AND is_complete = 1"),
				 v >= 1 ? 1 : 0);
		assert_int_not_equal(
		    sqlite3_exec(db, "SELECT rowid FROM candles", NULL, NULL, NULL), SQLITE_OK);
		/* migration 6: decisions keep the equity of their size and its source */
		assert_int_equal(sqlite3_exec(db,
					      "INSERT INTO decisions (ts, accepted, equity_source,"
					      " equity) VALUES ('2025-01-03 00:00:00.000', 1,"
					      " 'broker', 98000.5)",
					      NULL, NULL, NULL),
				 SQLITE_OK);
		assert_int_equal(ptest_i64(db, "SELECT count(*) FROM decisions WHERE"
					       " equity_source = 'broker' AND equity = 98000.5"),
				 1);
		assert_int_equal(sqlite3_exec(db,
					      "INSERT INTO risk_state (id, broker_peak_cents)"
					      " VALUES (1, 12000000)",
					      NULL, NULL, NULL),
				 SQLITE_OK);
		assert_int_not_equal(sqlite3_exec(db,
						  "INSERT INTO decisions (ts, accepted,"
						  " equity_source) VALUES ('x', 1, 'guess')",
						  NULL, NULL, NULL),
				     SQLITE_OK);
		assert_int_equal(slob_store_check(s, true), 0);
		slob_store_close(s);
		ptest_rm_rf(dir);
	}
}

/* A fresh current store in a new temp dir (removed with ptest_rm_rf(dir)). */
static slob_store_t *open_fresh(char dir[PATH_MAX], const char *tag)
{
	char path[PATH_MAX + 32];
	ptest_tmpdir(dir, PATH_MAX, tag);
	snprintf(path, sizeof(path), "%s/slob_state.db", dir);
	slob_store_t *s;
	assert_int_equal(slob_store_open(path, 0, &s), 0);
	return s;
}

/* The writer's inserts must not build an ephemeral index per row (what a
 * CHECK of `x IN (3+ constants)` costs): it was 60% of a trade_history row. */
static void test_writer_inserts_build_no_ephemeral_index(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	slob_store_t *s = open_fresh(dir, "eph");
	sqlite3 *db = slob_store_db(s);
	static const char *const ins[] = {
	    "INSERT INTO trade_history (setup_id, direction, entry_time, outcome)"
	    " VALUES ('a', 'LONG', 'x', 'WIN')",
	    "INSERT INTO orders (order_ref, role, action) VALUES ('r', 'TP', 'BUY')",
	    "INSERT INTO fills (exec_id, side, qty, price, time) VALUES ('e', 'BOT', 1, 1, 'x')",
	    "INSERT INTO breaker_events (action) VALUES ('reset')",
	};
	for (size_t i = 0; i < sizeof(ins) / sizeof(ins[0]); i++) {
		char q[300];
		sqlite3_stmt *st;
		snprintf(q, sizeof(q), "EXPLAIN %s", ins[i]);
		assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
		int eph = 0;
		while (sqlite3_step(st) == SQLITE_ROW)
			eph += strcmp((const char *)sqlite3_column_text(st, 1), "OpenEphemeral") == 0;
		sqlite3_finalize(st);
		if (eph)
			fail_msg("%s: %d ephemeral tables per row", ins[i], eph);
	}
	slob_store_close(s);
	ptest_rm_rf(dir);
}

/* A failing migration leaves the previous version intact (one transaction). */
static void test_failed_migration_rolls_back(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32];
	ptest_tmpdir(dir, sizeof(dir), "migfail");
	snprintf(path, sizeof(path), "%s/slob_state.db", dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(slob_store_migrate(db, 1), 1);
	/* a table migration 2 wants to create already exists */
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE orders (x)", NULL, NULL, NULL), SQLITE_OK);
	int rc = slob_store_migrate(db, SLOB_STORE_VERSION);
	assert_true(rc < 0);
	assert_non_null(strstr(slob_store_strerror(), "migration 2"));
	assert_int_equal(ptest_i64(db, "PRAGMA user_version"), 1);
	assert_int_equal(ptest_i64(db, "SELECT count(*) FROM sqlite_master WHERE name='fills'"), 0);
	sqlite3_close(db);
	ptest_rm_rf(dir);
}

static void test_refuses_newer_foreign_and_garbage(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32];
	slob_store_t *s;
	sqlite3 *db;
	ptest_tmpdir(dir, sizeof(dir), "refuse");

	snprintf(path, sizeof(path), "%s/newer.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL);
	sqlite3_close(db);
	assert_int_equal(slob_store_open(path, 0, &s), -EPROTO);
	assert_non_null(strstr(slob_store_strerror(), "99"));
	assert_non_null(strstr(slob_store_strerror(), "newer"));

	/* the original system's test schema, user_version 0 */
	snprintf(path, sizeof(path), "%s/python.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_exec(db, "CREATE TABLE active_setups (id TEXT PRIMARY KEY, state TEXT)", NULL, NULL,
		     NULL);
	sqlite3_close(db);
	assert_int_equal(slob_store_open(path, 0, &s), -EPROTO);
	assert_non_null(strstr(slob_store_strerror(), "not a slob store"));

	snprintf(path, sizeof(path), "%s/garbage.db", dir);
	FILE *f = fopen(path, "w");
	for (int i = 0; i < 2000; i++)
		fputs("this is not a database ", f);
	fclose(f);
	assert_int_equal(slob_store_open(path, 0, &s), -EIO);
	assert_non_null(strstr(slob_store_strerror(), path));
	assert_int_equal(slob_store_check_path(path, false), -EIO);

	snprintf(path, sizeof(path), "%s/missing.db", dir);
	assert_int_equal(slob_store_open(path, SLOB_STORE_RDONLY, &s), -ENOENT);
	ptest_rm_rf(dir);
}

/* The incident guide's SQL works against our schema as typed. */
static void test_incident_guide_queries(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	slob_store_t *s = open_fresh(dir, "guide");
	sqlite3 *db = slob_store_db(s);
	/* P0-2 manual insert */
	assert_int_equal(slob_store_exec(s, "INSERT INTO active_setups (id, state, entry_price,"
					    " sl_price, tp_price) VALUES ('manual_1764000000',"
					    " 'ACTIVE', 20100.25, 20150.0, 20000.0)"),
			 0);
	char buf[64];
	assert_string_equal(ptest_text(db,
				       "SELECT created_at IS NOT NULL AND symbol='NQ' AND"
				       " source='manual' AND closed_at IS NULL FROM active_setups",
				       buf, sizeof(buf)),
			    "1");
	/* P0-3 */
	assert_int_equal(ptest_i64(db, "SELECT count(*) FROM (SELECT id, state, entry_price FROM"
				       " active_setups WHERE state != 'SETUP_COMPLETE')"),
			 1);
	assert_int_equal(slob_store_exec(s,
					 "INSERT INTO trade_history (setup_id, entry_time, pnl,"
					 " outcome) VALUES ('a', '2024-01-02 10:00:00.000', -500,"
					 " 'LOSS'), ('b', datetime('now','-1 day'), 300, 'WIN'),"
					 " ('c', datetime('now','-2 day'), -100, 'LOSS')"),
			 0);
	/* P1-2 drawdown */
	assert_true(ptest_f64(db, "SELECT MIN(running_total) FROM (SELECT SUM(pnl) OVER (ORDER BY"
				  " entry_time) AS running_total FROM trade_history)") == -600.0);
	assert_int_equal(
	    ptest_i64(db, "SELECT count(*) FROM (SELECT entry_time, pnl, outcome FROM"
			  " trade_history WHERE pnl < 0 ORDER BY entry_time DESC LIMIT 10)"),
	    2);
	/* runbook aggregates */
	assert_int_equal(ptest_i64(db, "SELECT SUM(outcome='WIN') FROM trade_history GROUP BY"
				       " strftime('%Y-W%W', entry_time) ORDER BY 1 DESC LIMIT 1"),
			 1);
	/* P3-1: archive older than one year compares as text */
	assert_int_equal(ptest_i64(db, "SELECT count(*) FROM trade_history WHERE entry_time <"
				       " datetime('now','-1 year')"),
			 1);
	assert_int_equal(slob_store_exec(s, "DELETE FROM trade_history WHERE entry_time <"
					    " datetime('now','-1 year')"),
			 0);
	assert_int_equal(slob_store_exec(s, "VACUUM"), 0);
	assert_int_equal(ptest_i64(db, "SELECT count(*) FROM trade_history"), 2);
	/* outcome is constrained to the three words operators count */
	assert_int_equal(slob_store_exec(s, "INSERT INTO trade_history (setup_id, entry_time,"
					    " outcome) VALUES ('d', '2025-01-01', 'CLOSED')"),
			 -EEXIST);
	assert_int_equal(slob_store_cmd_insert(s, "kill-switch", "on", "ops", "test"), 1);
	slob_store_close(s);
	ptest_rm_rf(dir);
}

static void test_time_and_ids(void **state)
{
	(void)state;
	char buf[SLOB_STORE_TIME_LEN];
	int64_t ns;
	assert_int_equal(slob_store_time_fmt(1764000000123456789LL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2025-11-24 16:00:00.123");
	assert_int_equal(slob_store_time_parse(buf, &ns), 0);
	assert_true(ns == 1764000000123000000LL);
	assert_int_equal(slob_store_time_parse("2025-11-24T16:00:00", &ns), 0);
	assert_true(ns == 1764000000000000000LL);
	assert_int_equal(slob_store_time_parse("yesterday", &ns), -EINVAL);
	assert_int_equal(slob_store_time_fmt(0, buf, 5), -ENOSPC);
	/* the hand-made calendar agrees with gmtime over leap days, centuries,
	 * pre-1970 and millisecond edges, all of int64 nanoseconds (1677..2262) */
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		int64_t sec = (int64_t)(x % 18400000000ULL) - 9200000000LL;
		if (i < 4) /* 1900-02-28 23:59:59, 2000-02-29, 2100-03-01, 1969-12-31 */
			sec = (int64_t[]){-2203977601LL, 951782400LL, 4107542400LL, -1LL}[i];
		int64_t t_ns = sec * 1000000000 + (int64_t)(x >> 40) % 1000000000;
		char want[96];
		struct tm tm;
		time_t tt = (time_t)sec;
		gmtime_r(&tt, &tm);
		snprintf(want, sizeof(want), "%04d-%02d-%02d %02d:%02d:%02d.%03d",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (int)(t_ns - sec * 1000000000) / 1000000);
		assert_int_equal(slob_store_time_fmt(t_ns, buf, sizeof(buf)), 0);
		if (strcmp(buf, want) != 0)
			fail_msg("%lld ns: %s, gmtime says %s", (long long)t_ns, buf, want);
	}

	char id[17];
	bool manual;
	slob_store_setup_id_fmt(0xdeadbeef01ULL, id);
	assert_string_equal(id, "000000deadbeef01");
	assert_true(slob_store_setup_id_parse(id, &manual) == 0xdeadbeef01ULL);
	assert_false(manual);
	uint64_t m = slob_store_setup_id_parse("manual_1764000000", &manual);
	assert_true(manual);
	assert_true(m == slob_store_setup_id_parse("manual_1764000000", NULL));
	assert_true(m != slob_store_setup_id_parse("manual_1764000001", NULL));
}

static void test_params_and_paths(void **state)
{
	(void)state;
	struct slob_store_params p;
	char err[200], out[PATH_MAX];
	slob_store_params_default(&p);
	assert_int_equal(slob_store_params_validate(&p, err, sizeof(err)), 0);
	assert_int_equal(slob_store_param_set(&p, "nope", "1", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "nope"));
	assert_int_equal(slob_store_param_set(&p, "keep_daily", "-3", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "store.keep_daily"));
	assert_non_null(strstr(err, "0..3650"));
	assert_int_equal(slob_store_param_set(&p, "auto_restore", "maybe", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(slob_store_param_set(&p, "auto_restore", "yes", err, sizeof(err)), 0);
	assert_true(p.auto_restore);
	assert_int_equal(slob_store_param_set(&p, "file", "a/b.db", err, sizeof(err)), 0);
	assert_int_equal(slob_store_params_validate(&p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "store.file"));

	assert_int_equal(slob_store_default_path("/etc/slob/slob.ini", out, sizeof(out)), 0);
	assert_string_equal(out, "/etc/slob/data/slob_state.db");
	assert_int_equal(slob_store_default_path("slob.ini", out, sizeof(out)), 0);
	assert_string_equal(out, "data/slob_state.db");
	slob_store_params_default(&p);
	assert_int_equal(slob_store_params_path(&p, "conf/slob.ini", out, sizeof(out)), 0);
	assert_string_equal(out, "conf/data/slob_state.db");
	snprintf(p.data_dir, sizeof(p.data_dir), "/var/lib/slob");
	assert_int_equal(slob_store_params_path(&p, "conf/slob.ini", out, sizeof(out)), 0);
	assert_string_equal(out, "/var/lib/slob/slob_state.db");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_memstatus_off_when_check_comes_first), /* first */
	    cmocka_unit_test(test_open_creates_current_store),
	    cmocka_unit_test(test_migrates_from_every_earlier_version),
	    cmocka_unit_test(test_writer_inserts_build_no_ephemeral_index),
	    cmocka_unit_test(test_failed_migration_rolls_back),
	    cmocka_unit_test(test_refuses_newer_foreign_and_garbage),
	    cmocka_unit_test(test_incident_guide_queries),
	    cmocka_unit_test(test_time_and_ids),
	    cmocka_unit_test(test_params_and_paths),
	    cmocka_unit_test(test_lost_store_is_not_new),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
