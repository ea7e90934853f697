/* SPDX-License-Identifier: MIT */
/*
 * ptest.h: helpers shared by the persist tests (a fresh temp directory per
 * test under SLOB_TEST_TMP, cold-record builders, one-value queries).
 */
#ifndef SLOB_PTEST_H
#define SLOB_PTEST_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "engine/coldrec.h"

static inline void ptest_tmpdir(char *out, size_t len, const char *tag)
{
	const char *base = getenv("SLOB_TEST_TMP");
	static int n;
	snprintf(out, len, "%s/persist-%s-%d-%d-XXXXXX", base && *base ? base : "/tmp", tag,
		 (int)getpid(), n++);
	if (!mkdtemp(out)) {
		perror(out);
		abort();
	}
}

static inline void ptest_rm_rf(const char *dir)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* One integer from a query on a raw connection (-1 on error). */
static inline long long ptest_i64(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static inline double ptest_f64(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	double v = -1e300;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return v;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Copies the text of a one-value query into buf ("" if none). */
static inline const char *ptest_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *st;
	buf[0] = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return buf;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

/* A closed trade record: numbered by k (setup id k, exec times from k). */
static inline void ptest_trade(struct slob_cold *r, uint64_t k, int64_t pnl_cents)
{
	memset(r, 0, sizeof(*r));
	r->type = SLOB_COLD_TRADE;
	r->cls = SLOB_CLASS_TRADE;
	r->ts_ns = 1764000000000000000LL + (int64_t)(k & 0xffffffu) * 60000000000LL;
	r->u.trade.setup_id = k;
	r->u.trade.entry_ns = r->ts_ns - 30000000000LL;
	r->u.trade.exit_ns = r->ts_ns;
	r->u.trade.entry_px = 80000;
	r->u.trade.exit_px = 80040;
	r->u.trade.sl = 79960;
	r->u.trade.tp = 80040;
	r->u.trade.qty = 1;
	r->u.trade.dir = 1;
	r->u.trade.exit_role = 1;
	r->u.trade.pnl_cents = pnl_cents;
}

static inline void ptest_bar(struct slob_cold *r, int64_t minute)
{
	memset(r, 0, sizeof(*r));
	r->type = SLOB_COLD_BAR;
	r->cls = SLOB_CLASS_INFO;
	r->ts_ns = 1764000000000000000LL + minute * 60000000000LL;
	r->u.bar.ts_ns = r->ts_ns;
	r->u.bar.open = r->u.bar.close = 80000;
	r->u.bar.high = 80010;
	r->u.bar.low = 79990;
	r->u.bar.volume = 100;
	r->u.bar.ticks = 10;
}

#endif /* SLOB_PTEST_H */
