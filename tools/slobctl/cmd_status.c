/* SPDX-License-Identifier: MIT */
/*
 * cmd_status.c: `slobctl status` and `slobctl monitor`. Status reads the
 * stats file (a consistent seqlock snapshot; engine liveness from heartbeat
 * and pid), monitor adds the store figures and the error summary that the
 * original scripts/monitor.sh printed, refreshing with --watch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/stats.h"
#include "persist/lock.h"
#include "persist/store.h"
#include "tools/slobctl/slobctl.h"

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void fmt_dur(char *b, size_t n, int64_t ns)
{
	int64_t s = ns / 1000000000ll;
	if (ns < 0)
		snprintf(b, n, "?");
	else if (s < 60)
		snprintf(b, n, "%.1f s", (double)ns / 1e9);
	else if (s < 3600)
		snprintf(b, n, "%lldm%02llds", (long long)s / 60, (long long)s % 60);
	else if (s < 86400)
		snprintf(b, n, "%lldh%02lldm", (long long)s / 3600, (long long)(s / 60) % 60);
	else
		snprintf(b, n, "%lldd%02lldh", (long long)s / 86400, (long long)(s / 3600) % 24);
}

static void fmt_money(char *b, size_t n, int64_t cents)
{
	long long a = cents < 0 ? -(long long)cents : (long long)cents;
	snprintf(b, n, "%s$%lld.%02lld", cents < 0 ? "-" : "", a / 100, a % 100);
}

static void fmt_ns(char *b, size_t n, uint64_t v)
{
	if (v < 1000)
		snprintf(b, n, "%llu ns", (unsigned long long)v);
	else if (v < 1000000)
		snprintf(b, n, "%.1f us", (double)v / 1e3);
	else if (v < 1000000000)
		snprintf(b, n, "%.2f ms", (double)v / 1e6);
	else
		snprintf(b, n, "%.2f s", (double)v / 1e9);
}

static void fmt_time(char *b, size_t n, int64_t ns)
{
	if (ns <= 0) {
		snprintf(b, n, "-");
		return;
	}
	time_t t = (time_t)(ns / 1000000000ll);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(b, n, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static double px(int32_t ticks)
{
	return ticks * 0.25;
}

/* Why the engine is not up, in words. */
static const char *down_reason(const struct slob_stats_snapshot *s)
{
	if (!s->st.engine_up)
		return "stopped";
	if (s->st.pid > 0 && kill(s->st.pid, 0) < 0 && errno == ESRCH)
		return "not running (process gone: crashed or killed)";
	return "not responding (stale heartbeat)";
}

struct status_data {
	bool have_stats;
	char stats_err[256];
	slob_stats_t stats;
	struct slob_stats_snapshot snap;
	int64_t now;
};

static int load_status(struct ctl *c, struct status_data *d)
{
	memset(d, 0, sizeof(*d));
	d->now = now_ns();
	int rc = slob_stats_open(&d->stats, c->stats_path, d->stats_err, sizeof(d->stats_err));
	if (rc < 0)
		return rc;
	rc = slob_stats_snapshot(&d->stats, d->now, &d->snap);
	if (rc < 0) {
		snprintf(d->stats_err, sizeof(d->stats_err),
			 "stats file busy (seqlock retries exhausted)");
		slob_stats_close(&d->stats);
		return rc;
	}
	d->have_stats = true;
	return 0;
}

/* Sessions (engine/connstate.h): state, since, drops; "connected" is what
 * the slob_connection_up metric reports. A stopped engine's last states are
 * history, not the present: state says so. */
static json_t *conns_json(const struct slob_stats_status *st, bool alive)
{
	json_t *conns = json_object();
	for (int i = 0; i < SLOB_STATS_NCONN; i++) {
		char since[64];
		fmt_time(since, sizeof(since), st->conn_since_ns[i]);
		json_object_set_new(
		    conns, slob_conn_session_name((unsigned)i),
		    json_pack("{s:s,s:s,s:b,s:I,s:s,s:I}", "state",
			      alive ? slob_conn_state_name(st->conn[i]) : "unknown",
			      "last_state", slob_conn_state_name(st->conn[i]), "connected",
			      alive && slob_conn_state_connected(st->conn[i]), "since_ns",
			      (json_int_t)st->conn_since_ns[i], "since", since, "drops",
			      (json_int_t)st->conn_drops[i]));
	}
	return conns;
}

/* The broker account figures (live order session), null when none arrived. */
static json_t *account_json(const struct slob_stats_status *st, int64_t now)
{
	if (st->acct_have == 0)
		return json_null();
	json_t *a = json_object();
	static const struct {
		const char *key;
		uint32_t bit;
	} f[] = {{"net_liquidation", 1u << 0}, {"available_funds", 1u << 1},
		 {"excess_liquidity", 1u << 2}, {"init_margin_req", 1u << 3},
		 {"maint_margin_req", 1u << 4}, {"margin_per_contract", 1u << 5}};
	const int64_t v[6] = {st->acct_net_liq_cents,     st->acct_available_cents,
			      st->acct_excess_liq_cents,  st->acct_init_margin_cents,
			      st->acct_maint_margin_cents, st->acct_margin_1_cents};
	for (int i = 0; i < 6; i++)
		json_object_set_new(a, f[i].key,
				    st->acct_have & f[i].bit ? json_real((double)v[i] / 100.0)
							     : json_null());
	char cur[sizeof(st->acct_currency) + 1];
	snprintf(cur, sizeof(cur), "%.*s", (int)sizeof(st->acct_currency), st->acct_currency);
	json_object_set_new(a, "currency", json_string(cur));
	json_object_set_new(a, "age_s", st->acct_updated_ns
					    ? json_real((double)(now - st->acct_updated_ns) / 1e9)
					    : json_null());
	json_object_set_new(a, "stale", json_boolean(st->acct_stale));
	json_object_set_new(a, "sizing_equity", json_real((double)st->sizing_equity_cents / 100.0));
	json_object_set_new(a, "sizing_source",
			    json_string(st->sizing_equity_src == 1 ? "broker" : "config"));
	return a;
}

static json_t *status_json(struct ctl *c, struct status_data *d)
{
	json_t *o = json_object();
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "stats_file", json_string(c->stats_path));
	if (!d->have_stats) {
		json_object_set_new(o, "engine_up", json_false());
		json_object_set_new(o, "error", json_string(d->stats_err));
		return o;
	}
	const struct slob_stats_status *st = &d->snap.st;
	json_object_set_new(o, "engine_up", json_boolean(d->snap.alive));
	if (!d->snap.alive)
		json_object_set_new(o, "down_reason", json_string(down_reason(&d->snap)));
	json_object_set_new(o, "pid", json_integer(st->pid));
	json_object_set_new(o, "mode", json_string(slob_stats_mode_name(st->mode)));
	json_object_set_new(o, "started_ns", json_integer(st->started_ns));
	json_object_set_new(o, "heartbeat_age_s",
			    json_real((double)d->snap.heartbeat_age_ns / 1e9));
	char acc[sizeof(st->account) + 1];
	snprintf(acc, sizeof(acc), "%.*s", (int)sizeof(st->account), st->account);
	json_object_set_new(o, "account", json_string(acc));
	json_object_set_new(o, "connections", conns_json(st, d->snap.alive));
	json_object_set_new(o, "kill_switch", json_boolean(st->kill_switch));
	json_object_set_new(o, "breaker",
			    json_pack("{s:b,s:i,s:I}", "tripped", st->breaker, "reason",
				      st->breaker_reason, "since_ns",
				      (json_int_t)st->breaker_since_ns));
	json_object_set_new(o, "equity", json_real((double)st->equity_cents / 100.0));
	json_object_set_new(o, "peak_equity", json_real((double)st->peak_cents / 100.0));
	json_object_set_new(o, "daily_pnl", json_real((double)st->daily_pnl_cents / 100.0));
	json_object_set_new(o, "open_positions", json_integer(st->open_positions));
	json_object_set_new(o, "account_figures", account_json(st, d->now));
	json_t *pos = json_array();
	for (unsigned i = 0; i < st->npositions && i < SLOB_STATS_MAX_POSITIONS; i++) {
		const struct slob_stats_position *p = &st->positions[i];
		json_array_append_new(pos, json_pack("{s:s,s:i,s:f,s:f,s:f}", "symbol", p->symbol,
						     "qty", p->qty, "avg_price", px(p->avg_px),
						     "sl", px(p->sl), "tp", px(p->tp)));
	}
	json_object_set_new(o, "positions", pos);
	json_object_set_new(o, "alerts",
			    json_pack("{s:I,s:I,s:I,s:b,s:b}", "sent", (json_int_t)st->alerts_sent,
				      "failed", (json_int_t)st->alerts_failed, "dropped",
				      (json_int_t)st->alerts_dropped, "telegram_down",
				      (st->alerts_down & 1) != 0, "email_down",
				      (st->alerts_down & 2) != 0));
	json_object_set_new(o, "log",
			    json_pack("{s:I,s:I}", "lines", (json_int_t)st->log_lines, "lost",
				      (json_int_t)st->log_errors));
	json_t *stages = json_array();
	unsigned ns = slob_stats_nstages(&d->stats);
	for (unsigned i = 0; i < ns; i++) {
		const struct slob_stats_stage_slot *s = &d->stats.stages[i];
		const struct slob_stage_stats *x = &s->stats;
		json_t *so = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "name", s->name,
				       "in", (json_int_t)slob_stats_load(&x->in), "out",
				       (json_int_t)slob_stats_load(&x->out), "ring_fill",
				       (json_int_t)slob_stats_load(&s->ring_fill), "ring_cap",
				       (json_int_t)slob_stats_load(&s->ring_cap), "ring_fill_max",
				       (json_int_t)slob_stats_load(&x->ring_fill_max), "drops",
				       (json_int_t)slob_stats_load(&x->drops), "backpressure",
				       (json_int_t)slob_stats_load(&x->backpressure), "errors",
				       (json_int_t)slob_stats_load(&x->errors));
		json_t *reasons = json_object();
		for (int r = 0; r < SLOB_MAX_REASONS; r++) {
			uint64_t v = slob_stats_load(&x->reasons[r]);
			if (!v)
				continue;
			char key[SLOB_STATS_REASON_LEN + 8];
			if (s->reason_names[r][0])
				snprintf(key, sizeof(key), "%.*s", SLOB_STATS_REASON_LEN,
					 s->reason_names[r]);
			else
				snprintf(key, sizeof(key), "reason_%d", r);
			json_object_set_new(reasons, key, json_integer((json_int_t)v));
		}
		json_object_set_new(so, "reasons", reasons);
		json_array_append_new(stages, so);
	}
	json_object_set_new(o, "stages", stages);
	json_t *lat = json_array();
	unsigned nh = slob_stats_nhists(&d->stats);
	for (unsigned i = 0; i < nh; i++) {
		const struct slob_stats_hist_slot *h = &d->stats.hists[i];
		json_array_append_new(
		    lat, json_pack("{s:s,s:I,s:I,s:I,s:I}", "name", h->name, "count",
				   (json_int_t)slob_hist_count(&h->h), "p50_ns",
				   (json_int_t)slob_hist_percentile(&h->h, 50.0), "p99_ns",
				   (json_int_t)slob_hist_percentile(&h->h, 99.0), "max_ns",
				   (json_int_t)slob_hist_max(&h->h)));
	}
	json_object_set_new(o, "latency", lat);
	return o;
}

static void print_status(struct ctl *c, struct status_data *d, FILE *out)
{
	char t[64], a[64], b[64], e[64];
	fmt_time(t, sizeof(t), d->now);
	fprintf(out, "slob status                %s\n", t);
	if (!d->have_stats) {
		fprintf(out, "engine       DOWN  %s\n", d->stats_err);
		return;
	}
	const struct slob_stats_status *st = &d->snap.st;
	fmt_dur(a, sizeof(a), d->snap.heartbeat_age_ns);
	if (d->snap.alive) {
		fmt_dur(b, sizeof(b), d->now - st->started_ns);
		fprintf(out, "engine       UP    pid %d  mode %s  uptime %s  heartbeat %s ago\n",
			st->pid, slob_stats_mode_name(st->mode), st->started_ns ? b : "?", a);
	} else {
		fprintf(out, "engine       DOWN  %s (pid %d, last heartbeat %s ago)\n",
			down_reason(&d->snap), st->pid, st->heartbeat_ns ? a : "never");
	}
	fprintf(out, "account      %.*s\n", (int)sizeof(st->account),
		st->account[0] ? st->account : "-");
	static const char *const cn[] = {"market data", "orders"};
	for (int i = 0; i < SLOB_STATS_NCONN; i++) {
		fmt_time(t, sizeof(t), st->conn_since_ns[i]);
		if (d->snap.alive)
			fprintf(out, "%-12s %-10s since %s  disconnects %u\n", cn[i],
				slob_conn_state_name(st->conn[i]), t, st->conn_drops[i]);
		else
			fprintf(out, "%-12s unknown    (engine down; last %s since %s)\n", cn[i],
				slob_conn_state_name(st->conn[i]), t);
	}
	fprintf(out, "kill switch  %s\n", st->kill_switch ? "ON (no new positions)" : "off");
	if (st->breaker) {
		fmt_time(t, sizeof(t), st->breaker_since_ns);
		fprintf(out,
			"breaker      TRIPPED since %s (reason %d): slobctl reset-breaker --reason "
			"...\n",
			t, st->breaker_reason);
	} else {
		fprintf(out, "breaker      ok\n");
	}
	fmt_money(a, sizeof(a), st->equity_cents);
	fmt_money(b, sizeof(b), st->daily_pnl_cents);
	fmt_money(e, sizeof(e), st->peak_cents);
	fprintf(out, "equity       %s  daily P&L %s  peak %s\n", a, b, e);
	if (st->acct_have != 0) {
		char nl[32], av[32], ex[32], im[32], m1[32], se[32], age[32] = "never";
		fmt_money(nl, sizeof(nl), st->acct_net_liq_cents);
		fmt_money(av, sizeof(av), st->acct_available_cents);
		fmt_money(ex, sizeof(ex), st->acct_excess_liq_cents);
		fmt_money(im, sizeof(im), st->acct_init_margin_cents);
		fmt_money(m1, sizeof(m1), st->acct_margin_1_cents);
		fmt_money(se, sizeof(se), st->sizing_equity_cents);
		if (st->acct_updated_ns)
			fmt_dur(age, sizeof(age), d->now - st->acct_updated_ns);
		fprintf(out, "funds        net liq %s  available %s  excess %s  (%.*s, %s ago)%s\n",
			nl, av, ex, (int)sizeof(st->acct_currency), st->acct_currency, age,
			st->acct_stale ? "  STALE: new entries held" : "");
		fprintf(out, "             init margin %s  per contract %s  sizing on %s %s\n", im,
			st->acct_have & (1u << 5) ? m1 : "unknown", se,
			st->sizing_equity_src == 1 ? "(broker)" : "(config)");
	} else if (st->mode == SLOB_STATS_MODE_LIVE) {
		fprintf(out, "funds        no account figures from the broker yet: new entries held\n");
	}
	fprintf(out, "positions    %d open\n", st->open_positions);
	for (unsigned i = 0; i < st->npositions && i < SLOB_STATS_MAX_POSITIONS; i++) {
		const struct slob_stats_position *p = &st->positions[i];
		fprintf(out, "             %.*s %+d @ %.2f  sl %.2f  tp %.2f\n",
			(int)sizeof(p->symbol), p->symbol, p->qty, px(p->avg_px), px(p->sl),
			px(p->tp));
	}
	fprintf(out, "alerts       sent %llu  failed %llu  dropped %llu%s%s\n",
		(unsigned long long)st->alerts_sent, (unsigned long long)st->alerts_failed,
		(unsigned long long)st->alerts_dropped,
		st->alerts_down & 1 ? "  TELEGRAM DOWN" : "",
		st->alerts_down & 2 ? "  EMAIL DOWN" : "");
	fprintf(out, "logs         lines %llu  lost %llu%s\n", (unsigned long long)st->log_lines,
		(unsigned long long)st->log_errors,
		st->log_errors ? "  (disk full? see df -h)" : "");
	unsigned ns = slob_stats_nstages(&d->stats);
	if (ns) {
		fprintf(out, "\n%-12s %12s %12s %15s %10s %8s %8s %7s\n", "stage", "in", "out",
			"ring fill", "fill max", "drops", "backpr", "errors");
		for (unsigned i = 0; i < ns; i++) {
			const struct slob_stats_stage_slot *s = &d->stats.stages[i];
			const struct slob_stage_stats *x = &s->stats;
			char fill[32];
			uint64_t cap = slob_stats_load(&s->ring_cap),
				 f = slob_stats_load(&s->ring_fill);
			if (cap)
				snprintf(fill, sizeof(fill), "%llu/%llu", (unsigned long long)f,
					 (unsigned long long)cap);
			else
				snprintf(fill, sizeof(fill), "%llu", (unsigned long long)f);
			fprintf(out, "%-12.*s %12llu %12llu %15s %10llu %8llu %8llu %7llu\n",
				SLOB_STATS_NAME_LEN, s->name,
				(unsigned long long)slob_stats_load(&x->in),
				(unsigned long long)slob_stats_load(&x->out), fill,
				(unsigned long long)slob_stats_load(&x->ring_fill_max),
				(unsigned long long)slob_stats_load(&x->drops),
				(unsigned long long)slob_stats_load(&x->backpressure),
				(unsigned long long)slob_stats_load(&x->errors));
			for (int r = 0; r < SLOB_MAX_REASONS; r++) {
				uint64_t v = slob_stats_load(&x->reasons[r]);
				if (v)
					fprintf(
					    out, "%14s%-24.*s %llu\n", "", SLOB_STATS_REASON_LEN,
					    s->reason_names[r][0] ? s->reason_names[r] : "(reason)",
					    (unsigned long long)v);
			}
		}
	}
	unsigned nh = slob_stats_nhists(&d->stats);
	if (nh) {
		fprintf(out, "\n%-20s %10s %12s %12s %12s\n", "latency", "count", "p50", "p99",
			"max");
		for (unsigned i = 0; i < nh; i++) {
			const struct slob_stats_hist_slot *h = &d->stats.hists[i];
			char p50[32], p99[32], mx[32];
			fmt_ns(p50, sizeof(p50), slob_hist_percentile(&h->h, 50.0));
			fmt_ns(p99, sizeof(p99), slob_hist_percentile(&h->h, 99.0));
			fmt_ns(mx, sizeof(mx), slob_hist_max(&h->h));
			fprintf(out, "%-20.*s %10llu %12s %12s %12s\n", SLOB_STATS_NAME_LEN,
				h->name, (unsigned long long)slob_hist_count(&h->h), p50, p99, mx);
		}
	}
	(void)c;
}

int cmd_status(struct ctl *c)
{
	for (int i = 1; i < c->argc; i++) {
		ctl_err(c, "unexpected argument '%s'", c->argv[i]);
		return CTL_USAGE;
	}
	struct status_data d;
	load_status(c, &d);
	if (c->json)
		ctl_json_out(status_json(c, &d));
	else
		print_status(c, &d, stdout);
	int rc = d.have_stats && d.snap.alive ? CTL_OK : CTL_DOWN;
	if (d.have_stats)
		slob_stats_close(&d.stats);
	return rc;
}

/* ---- monitor ----------------------------------------------------------------- */

static void print_store(struct ctl *c, FILE *out)
{
	slob_store_t *s;
	struct stat sb;
	fprintf(out, "\nstore        %s", c->db_path);
	if (stat(c->db_path, &sb) < 0) {
		fprintf(out, "  (missing)\n");
		return;
	}
	fprintf(out, "  %.1f MB\n", (double)sb.st_size / 1048576.0);
	if (slob_store_open(c->db_path, SLOB_STORE_RDONLY | SLOB_STORE_NO_MIGRATE, &s) < 0) {
		fprintf(out, "             unreadable: %s\n", slob_store_strerror());
		return;
	}
	sqlite3 *db = slob_store_db(s);
	int64_t active = slob_store_query_i64(
	    s, "SELECT COUNT(*) FROM active_setups WHERE closed_at IS NULL AND state NOT IN "
	       "('INVALIDATED')");
	int64_t total = slob_store_query_i64(s, "SELECT COUNT(*) FROM trade_history");
	int64_t wins =
	    slob_store_query_i64(s, "SELECT COUNT(*) FROM trade_history WHERE outcome='WIN'");
	int64_t day =
	    slob_store_query_i64(s, "SELECT COUNT(*) FROM trade_history WHERE entry_time >= "
				    "strftime('%Y-%m-%d %H:%M:%f','now','-1 day')");
	double pnl = 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT COALESCE(SUM(pnl),0) FROM trade_history", -1, &st,
			       NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			pnl = sqlite3_column_double(st, 0);
		sqlite3_finalize(st);
	}
	fprintf(out,
		"active setups %lld   trades %lld (last 24h %lld)   total P&L $%.2f   win rate "
		"%.1f%%\n",
		(long long)active, (long long)total, (long long)day, pnl,
		total > 0 ? 100.0 * (double)wins / (double)total : 0.0);
	/* positions the store knows: engine positions and operators' manual rows (P0-2) */
	if (sqlite3_prepare_v2(
		db,
		"SELECT setup_id, qty, avg_price, sl_price, tp_price, 'engine' FROM positions "
		"WHERE qty != 0 AND setup_id != 'NQ' UNION ALL "
		"SELECT id, COALESCE(qty,0) * (CASE direction WHEN 'SHORT' THEN -1 ELSE 1 END), "
		"entry_price, sl_price, tp_price, 'manual' FROM active_setups "
		"WHERE source = 'manual' AND closed_at IS NULL AND state = 'ACTIVE'",
		-1, &st, NULL) == SQLITE_OK) {
		int rows = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (!rows++)
				fprintf(out, "  position             qty      entry         sl     "
					     "    tp  source\n");
			fprintf(out, "  %-18.18s %+5d %10.2f %10.2f %10.2f  %s\n",
				(const char *)sqlite3_column_text(st, 0), sqlite3_column_int(st, 1),
				sqlite3_column_double(st, 2), sqlite3_column_double(st, 3),
				sqlite3_column_double(st, 4),
				(const char *)sqlite3_column_text(st, 5));
		}
		sqlite3_finalize(st);
	}
	/* daily P&L, last 7 days, and the running drawdown */
	if (sqlite3_prepare_v2(
		db,
		"SELECT substr(entry_time,1,10) AS d, COUNT(*), SUM(pnl) FROM trade_history "
		"WHERE entry_time >= strftime('%Y-%m-%d','now','-6 days') GROUP BY d ORDER BY d",
		-1, &st, NULL) == SQLITE_OK) {
		int rows = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (!rows++)
				fprintf(out, "  day          trades        P&L\n");
			fprintf(out, "  %-12s %6d %10.2f\n",
				(const char *)sqlite3_column_text(st, 0), sqlite3_column_int(st, 1),
				sqlite3_column_double(st, 2));
		}
		sqlite3_finalize(st);
	}
	if (sqlite3_prepare_v2(
		db,
		"SELECT MIN(rt) FROM (SELECT SUM(pnl) OVER (ORDER BY entry_time) AS rt "
		"FROM trade_history)",
		-1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
			fprintf(out, "max drawdown (running sum) $%.2f\n",
				fmin(0.0, sqlite3_column_double(st, 0)));
		sqlite3_finalize(st);
	}
	slob_store_close(s);
}

/* Error summary from errors.log: lines of the last 24 h and the latest ones. */
static void print_errors(struct ctl *c, FILE *out)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/errors.log", c->log_dir);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(out, "\nerrors       %s: %s\n", path, strerror(errno));
		return;
	}
	/* only the tail matters: skip to the last 8 MiB of a large file */
	struct stat sb;
	if (fstat(fileno(f), &sb) == 0 && sb.st_size > (8 << 20)) {
		char skip[1024];
		fseeko(f, sb.st_size - (8 << 20), SEEK_SET);
		if (!fgets(skip, sizeof(skip), f)) { /* partial first line */
		}
	}
	time_t since = time(NULL) - 86400;
	struct tm tm;
	gmtime_r(&since, &tm);
	char cutoff[32];
	strftime(cutoff, sizeof(cutoff), "%Y-%m-%d %H:%M:%S", &tm);
	char line[1024], last[5][1024];
	int n = 0, kept = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, cutoff, strlen(cutoff)) < 0)
			continue;
		n++;
		snprintf(last[kept % 5], sizeof(last[0]), "%s", line);
		kept++;
	}
	fclose(f);
	fprintf(out, "\nerrors (24h) %d  %s\n", n,
		n == 0	 ? "ok"
		: n < 10 ? "warning"
			 : "investigate immediately");
	int first = kept > 5 ? kept - 5 : 0;
	for (int i = first; i < kept; i++)
		fprintf(out, "  %s", last[i % 5]);
}

static volatile sig_atomic_t g_stop;
static void on_sig(int sig)
{
	(void)sig;
	g_stop = 1;
}

int cmd_monitor(struct ctl *c)
{
	bool watch = false;
	double interval = 30.0;
	long count = 0;
	for (int i = 1; i < c->argc; i++) {
		const char *a = c->argv[i];
		char *end;
		if (!strcmp(a, "--watch")) {
			watch = true;
		} else if (!strcmp(a, "--interval") && i + 1 < c->argc) {
			interval = strtod(c->argv[++i], &end);
			if (*end || !(interval >= 0.1 && interval <= 86400)) {
				ctl_err(c, "--interval '%s': expected seconds 0.1..86400",
					c->argv[i]);
				return CTL_USAGE;
			}
		} else if (!strcmp(a, "--count") && i + 1 < c->argc) {
			count = strtol(c->argv[++i], &end, 10);
			if (*end || count < 1) {
				ctl_err(c, "--count '%s': expected a positive integer", c->argv[i]);
				return CTL_USAGE;
			}
		} else {
			ctl_err(c,
				"unexpected argument '%s' (monitor [--watch] [--interval S] "
				"[--count N])",
				a);
			return CTL_USAGE;
		}
	}
	if (!watch && !count)
		count = 1;
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	int rc = CTL_OK;
	for (long it = 0; !g_stop && (!count || it < count); it++) {
		if (it > 0) {
			struct timespec ts = {(time_t)interval,
					      (long)((interval - (double)(time_t)interval) * 1e9)};
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !g_stop) {
			}
			if (g_stop)
				break;
		}
		struct status_data d;
		load_status(c, &d);
		if (c->json) {
			ctl_json_out(status_json(c, &d));
		} else {
			if (watch && isatty(STDOUT_FILENO))
				fputs("\033[H\033[2J", stdout);
			else if (watch && it > 0)
				fputs("\n", stdout);
			print_status(c, &d, stdout);
			print_store(c, stdout);
			print_errors(c, stdout);
			if (watch)
				printf("\nrefresh every %g s, Ctrl-C to stop\n", interval);
		}
		fflush(stdout);
		rc = d.have_stats && d.snap.alive ? CTL_OK : CTL_DOWN;
		if (d.have_stats)
			slob_stats_close(&d.stats);
	}
	return watch ? CTL_OK : rc;
}
