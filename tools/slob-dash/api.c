/* SPDX-License-Identifier: MIT */
/*
 * api.c: what the dashboard shows, as JSON: the store (read-only SQLite
 * connection, schema persist/store.c) and the engine's stats file
 * (engine/stats.h, mapped read-only). Server thread only (dash.h note 1).
 *
 * A missing store or stats file is not an error of the dashboard: the
 * endpoints answer with what they have and say what is missing, so the page
 * shows "engine not running" instead of failing. Both are re-tried at most
 * once a second, so a dashboard started before the engine picks them up.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/hist.h"
#include "tools/slob-dash/dash.h"

#define NS 1000000000ll

static int64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static void iso_utc(int64_t ns, char *out, size_t len)
{
	if (ns <= 0) {
		snprintf(out, len, "%s", "");
		return;
	}
	time_t t = (time_t)(ns / NS);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int slob_dash_store_ensure(struct slob_dash *d)
{
	if (d->db != NULL)
		return 0;
	int64_t now = slob_dash_now_ns();
	if (d->store_retry_ns != 0 && now < d->store_retry_ns)
		return -EAGAIN;
	d->store_retry_ns = now + NS;
	int rc = slob_store_open(d->db_path, SLOB_STORE_RDONLY, &d->store);
	if (rc < 0) {
		snprintf(d->store_err, sizeof d->store_err, "%s", slob_store_strerror());
		return rc;
	}
	d->db = slob_store_db(d->store);
	/* Belt and braces: this connection can never write, whatever the code does. */
	sqlite3_exec(d->db, "PRAGMA query_only=ON", NULL, NULL, NULL);
	/* Scans of a year of trades read the file through mmap, not pread. */
	sqlite3_exec(d->db, "PRAGMA mmap_size=268435456", NULL, NULL, NULL);
	sqlite3_exec(d->db, "PRAGMA cache_size=-16384", NULL, NULL, NULL);
	sqlite3_busy_timeout(d->db, 50);
	d->store_err[0] = '\0';
	return 0;
}

void slob_dash_stats_ensure(struct slob_dash *d)
{
	int64_t now = slob_dash_now_ns();
	if (d->stats_open) {
		/* The daemon replaces the file at each start (rename): remap when it did. */
		if (now < d->stats_retry_ns)
			return;
		d->stats_retry_ns = now + NS;
		struct stat_id {
			int64_t created;
			int32_t pid;
		} cur = {d->stats.hdr->created_ns, d->stats.hdr->creator_pid};
		slob_stats_t fresh;
		char err[256];
		if (slob_stats_open(&fresh, d->stats_path, err, sizeof err) == 0) {
			if (fresh.hdr->created_ns != cur.created || fresh.hdr->creator_pid != cur.pid) {
				slob_stats_close(&d->stats);
				d->stats = fresh;
			} else {
				slob_stats_close(&fresh);
			}
		}
		return;
	}
	if (d->stats_retry_ns != 0 && now < d->stats_retry_ns)
		return;
	d->stats_retry_ns = now + NS;
	if (slob_stats_open(&d->stats, d->stats_path, d->stats_err, sizeof d->stats_err) == 0) {
		d->stats_open = true;
		d->stats_err[0] = '\0';
	}
}

void slob_dash_api_close(struct slob_dash *d)
{
	slob_dash_agg_stop(d);
	if (d->store != NULL)
		slob_store_close(d->store);
	d->store = NULL;
	d->db = NULL;
	if (d->stats_open)
		slob_stats_close(&d->stats);
	d->stats_open = false;
}

/* ---- SQL helpers ------------------------------------------------------- */

static json_t *col_json(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(st, i));
	case SQLITE_FLOAT:
		return json_real(sqlite3_column_double(st, i));
	case SQLITE_TEXT: {
		json_t *s = json_stringn((const char *)sqlite3_column_text(st, i),
					 (size_t)sqlite3_column_bytes(st, i));
		return s ? s : json_string("(invalid UTF-8)");
	}
	default:
		return json_null();
	}
}

static json_t *row_obj(sqlite3_stmt *st)
{
	json_t *o = json_object();
	int n = sqlite3_column_count(st);
	for (int i = 0; i < n; i++)
		json_object_set_new(o, sqlite3_column_name(st, i), col_json(st, i));
	return o;
}

/* Runs sql with text binds; returns an array of row objects or NULL with err. */
static json_t *query_rows(struct slob_dash *d, const char *sql, const char *const *binds,
			  int nbind, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "store query: %s", sqlite3_errmsg(d->db));
		return NULL;
	}
	for (int i = 0; i < nbind; i++)
		sqlite3_bind_text(st, i + 1, binds[i], -1, SQLITE_TRANSIENT);
	json_t *arr = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, row_obj(st));
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "store query: %s", sqlite3_errmsg(d->db));
		json_decref(arr);
		arr = NULL;
	}
	sqlite3_finalize(st);
	return arr;
}

static json_t *no_store(struct slob_dash *d, const char *key, int *http)
{
	*http = 503;
	return json_pack("{s:[],s:s,s:s}", key, "error", "store not available", "detail",
			 d->store_err[0] ? d->store_err : "store not open");
}

static json_t *rows_endpoint(struct slob_dash *d, const char *key, const char *sql, int *http)
{
	if (slob_dash_store_ensure(d) < 0)
		return no_store(d, key, http);
	char err[512];
	json_t *rows = query_rows(d, sql, NULL, 0, err, sizeof err);
	if (rows == NULL) {
		*http = 500;
		return json_pack("{s:[],s:s}", key, "error", err);
	}
	*http = 200;
	return json_pack("{s:o,s:i}", key, rows, "count", (json_int_t)json_array_size(rows));
}

/* ---- endpoints ---------------------------------------------------------- */

json_t *slob_dash_api_positions(struct slob_dash *d, int *http)
{
	json_t *j = rows_endpoint(d,
				  "positions",
				  "SELECT setup_id, symbol, qty, avg_price, sl_price, tp_price, opened_at, "
				  "updated_at FROM positions WHERE qty != 0 ORDER BY opened_at",
				  http);
	/* The engine's live view (stats file), when it runs. */
	slob_dash_stats_ensure(d);
	json_t *live = json_array();
	struct slob_stats_snapshot snap;
	if (d->stats_open && slob_stats_snapshot(&d->stats, realtime_ns(), &snap) == 0 &&
	    snap.alive) {
		for (uint32_t i = 0; i < snap.st.npositions && i < SLOB_STATS_MAX_POSITIONS; i++) {
			const struct slob_stats_position *p = &snap.st.positions[i];
			char sym[sizeof p->symbol + 1];
			snprintf(sym, sizeof sym, "%.*s", (int)sizeof p->symbol, p->symbol);
			json_array_append_new(live, json_pack("{s:s,s:i,s:i,s:i,s:i}", "symbol", sym,
							      "qty", p->qty, "avg_px_ticks",
							      p->avg_px, "sl_ticks", p->sl,
							      "tp_ticks", p->tp));
		}
	}
	json_object_set_new(j, "live", live);
	return j;
}

json_t *slob_dash_api_setups(struct slob_dash *d, int *http)
{
	return rows_endpoint(
		d, "setups",
		"SELECT id, state, symbol, direction, entry_price, sl_price, tp_price, "
		"risk_reward_ratio, created_at, last_updated, lse_high, lse_low, liq1_time, "
		"liq1_price, consol_high, consol_low, liq2_time, liq2_price, candles_processed, "
		"source, placed FROM active_setups WHERE state NOT IN ('SETUP_COMPLETE','INVALIDATED') "
		"AND closed_at IS NULL ORDER BY created_at DESC LIMIT 200",
		http);
}

json_t *slob_dash_api_trades(struct slob_dash *d, int limit, const char *before, int *http)
{
	if (slob_dash_store_ensure(d) < 0)
		return no_store(d, "trades", http);
	/* Keyset pagination on idx_trade_history_entry_time (entry_time, rowid):
	 * `before` is "<entry_time>|<id>" from the previous page's "next". */
	char t[64] = "", idbuf[24] = "";
	if (before != NULL && before[0] != '\0') {
		const char *bar = strrchr(before, '|');
		if (bar == NULL || bar == before || (size_t)(bar - before) >= sizeof t ||
		    strlen(bar + 1) >= sizeof idbuf || strspn(bar + 1, "0123456789") != strlen(bar + 1) ||
		    bar[1] == '\0') {
			*http = 400;
			return json_pack("{s:[],s:s}", "trades", "error",
					 "before: expected \"<entry_time>|<id>\" from a previous page");
		}
		snprintf(t, sizeof t, "%.*s", (int)(bar - before), before);
		snprintf(idbuf, sizeof idbuf, "%s", bar + 1);
	}
	char sql[768], lim[16], err[512];
	snprintf(lim, sizeof lim, "%d", limit);
	snprintf(sql, sizeof sql,
		 "SELECT id, setup_id, symbol, direction, qty, entry_time, exit_time, entry_price, "
		 "exit_price, sl_price, tp_price, outcome, pnl, exit_reason FROM trade_history %s "
		 "ORDER BY entry_time DESC, id DESC LIMIT CAST(?%d AS INTEGER)",
		 t[0] ? "WHERE entry_time < ?1 OR (entry_time = ?1 AND id < CAST(?2 AS INTEGER))"
		      : "",
		 t[0] ? 3 : 1);
	const char *binds3[3] = {t, idbuf, lim};
	const char *binds1[1] = {lim};
	json_t *rows = t[0] ? query_rows(d, sql, binds3, 3, err, sizeof err)
			    : query_rows(d, sql, binds1, 1, err, sizeof err);
	if (rows == NULL) {
		*http = 500;
		return json_pack("{s:[],s:s}", "trades", "error", err);
	}
	json_int_t total = -1;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(d->db, "SELECT count(*) FROM trade_history", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			total = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	json_t *next = json_null();
	size_t n = json_array_size(rows);
	if ((int)n == limit) {
		json_t *last = json_array_get(rows, n - 1);
		const char *et = json_string_value(json_object_get(last, "entry_time"));
		char cur[128];
		snprintf(cur, sizeof cur, "%s|%lld", et ? et : "",
			 (long long)json_integer_value(json_object_get(last, "id")));
		json_decref(next);
		next = json_string(cur);
	}
	*http = 200;
	return json_pack("{s:o,s:i,s:I,s:o}", "trades", rows, "count", (json_int_t)n, "total",
			 total, "next", next);
}

json_t *slob_dash_api_events(struct slob_dash *d, int *http)
{
	if (slob_dash_store_ensure(d) < 0)
		return no_store(d, "events", http);
	char err[512];
	json_t *ev = query_rows(d,
				"SELECT id, ts, kind, level, code, component, text FROM events "
				"ORDER BY id DESC LIMIT 50",
				NULL, 0, err, sizeof err);
	json_t *al = ev ? query_rows(d,
				     "SELECT id, ts, level, kind, component, text, channel, status, "
				     "sent_at FROM alerts_sent ORDER BY id DESC LIMIT 50",
				     NULL, 0, err, sizeof err)
			: NULL;
	if (ev == NULL || al == NULL) {
		json_decref(ev);
		*http = 500;
		return json_pack("{s:[],s:[],s:s}", "events", "alerts", "error", err);
	}
	*http = 200;
	return json_pack("{s:o,s:o}", "events", ev, "alerts", al);
}

/* risk_state row 1 as an object, or NULL. */
static json_t *risk_row(struct slob_dash *d)
{
	char err[256];
	json_t *rows = query_rows(d,
				  "SELECT equity, peak_equity, daily_pnl, realised_pnl, unrealised_pnl, "
				  "open_positions, trading_day, breaker_tripped, breaker_reason, "
				  "breaker_code, breaker_since, updated_at FROM risk_state WHERE id = 1",
				  NULL, 0, err, sizeof err);
	if (rows == NULL)
		return NULL;
	json_t *r = json_array_get(rows, 0);
	if (r != NULL)
		json_incref(r);
	json_decref(rows);
	return r;
}

json_t *slob_dash_api_breaker(struct slob_dash *d, int *http)
{
	if (slob_dash_store_ensure(d) < 0)
		return no_store(d, "events", http);
	char err[512];
	json_t *ev = query_rows(d,
				"SELECT id, ts, action, reason_code, value, who, why FROM breaker_events "
				"ORDER BY id DESC LIMIT 50",
				NULL, 0, err, sizeof err);
	if (ev == NULL) {
		*http = 500;
		return json_pack("{s:[],s:s}", "events", "error", err);
	}
	json_t *r = risk_row(d);
	bool tripped = r && json_integer_value(json_object_get(r, "breaker_tripped")) != 0;
	json_t *out = json_pack("{s:b,s:O,s:O,s:o}", "tripped", tripped, "reason",
				r ? json_object_get(r, "breaker_reason") : json_null(), "since",
				r ? json_object_get(r, "breaker_since") : json_null(), "events", ev);
	json_decref(r);
	*http = 200;
	return out;
}

/* ---- P&L series and summary (agg.c) ------------------------------------ */

static char *error_body(json_t *j, size_t *len)
{
	char *s = json_dumps(j, SLOB_DASH_JSON_FLAGS);
	json_decref(j);
	*len = s ? strlen(s) : 0;
	return s;
}

static char *cached(struct slob_dash *d, int which, size_t *len, int *http)
{
	if (slob_dash_store_ensure(d) < 0) {
		*http = 503;
		return error_body(json_pack("{s:s,s:s}", "error", "store not available", "detail",
					    d->store_err[0] ? d->store_err : "store not open"),
				  len);
	}
	int64_t mn, mx;
	slob_dash_trade_ids(d->db, &mn, &mx);
	char *body = NULL, err[256];
	bool stale = false;
	int rc = slob_dash_agg_get(d, which, mn, mx, &body, len, &stale, err, sizeof err);
	if (rc < 0) {
		*http = rc == -EAGAIN ? 503 : 500;
		return error_body(json_pack("{s:s}", "error", err), len);
	}
	if (stale) {
		/* Say so: a full rescan (e.g. after an archive) is still running.
		 * Through jansson, not by pasting text (an empty object stays valid). */
		json_t *o = json_loadb(body, *len, 0, NULL);
		char *nb = NULL;
		if (json_is_object(o) && json_object_set_new(o, "stale", json_true()) == 0)
			nb = json_dumps(o, SLOB_DASH_JSON_FLAGS);
		json_decref(o);
		if (nb != NULL) {
			free(body);
			body = nb;
			*len = strlen(nb);
		}
	}
	*http = 200;
	return body;
}

char *slob_dash_api_pnl(struct slob_dash *d, size_t *len, int *http)
{
	return cached(d, SLOB_DASH_AGG_PNL, len, http);
}

char *slob_dash_api_summary(struct slob_dash *d, size_t *len, int *http)
{
	return cached(d, SLOB_DASH_AGG_SUMMARY, len, http);
}

/* ---- engine status and stats ------------------------------------------- */


json_t *slob_dash_api_status(struct slob_dash *d, int *http)
{
	json_t *o = json_object();
	int64_t now = realtime_ns();
	char ts[32];
	slob_dash_stats_ensure(d);
	struct slob_stats_snapshot snap;
	bool have = d->stats_open && slob_stats_snapshot(&d->stats, now, &snap) == 0;
	json_t *eng = json_object();
	json_object_set_new(eng, "alive", json_boolean(have && snap.alive));
	json_object_set_new(eng, "stats_file", json_string(d->stats_path));
	if (have) {
		json_object_set_new(eng, "pid", json_integer(snap.st.pid));
		json_object_set_new(eng, "mode", json_string(slob_stats_mode_name(snap.st.mode)));
		json_object_set_new(eng, "heartbeat_age_s",
				    json_real((double)snap.heartbeat_age_ns / 1e9));
		iso_utc(snap.st.started_ns, ts, sizeof ts);
		json_object_set_new(eng, "started", json_string(ts));
		json_object_set_new(eng, "kill_switch", json_boolean(snap.st.kill_switch));
		char acct[sizeof snap.st.account + 1];
		snprintf(acct, sizeof acct, "%.*s", (int)sizeof snap.st.account, snap.st.account);
		json_object_set_new(eng, "account", json_string(acct));
		json_object_set_new(eng, "equity", json_real((double)snap.st.equity_cents / 100));
		json_object_set_new(eng, "daily_pnl",
				    json_real((double)snap.st.daily_pnl_cents / 100));
		json_object_set_new(eng, "open_positions", json_integer(snap.st.open_positions));
		json_object_set_new(eng, "breaker", json_boolean(snap.st.breaker));
		/* broker account figures (live); null until the order session sent them */
		if (snap.st.acct_have != 0) {
			json_t *a = json_object();
			json_object_set_new(a, "net_liquidation",
					    json_real((double)snap.st.acct_net_liq_cents / 100));
			json_object_set_new(a, "available_funds",
					    json_real((double)snap.st.acct_available_cents / 100));
			json_object_set_new(a, "excess_liquidity",
					    json_real((double)snap.st.acct_excess_liq_cents / 100));
			json_object_set_new(a, "init_margin_req",
					    json_real((double)snap.st.acct_init_margin_cents / 100));
			json_object_set_new(a, "maint_margin_req",
					    json_real((double)snap.st.acct_maint_margin_cents / 100));
			json_object_set_new(a, "margin_per_contract",
					    snap.st.acct_have & (1u << 5) /* SLOB_ACCT_MARGIN_1 */
						? json_real((double)snap.st.acct_margin_1_cents / 100)
						: json_null());
			json_object_set_new(a, "age_s",
					    snap.st.acct_updated_ns
						? json_real((double)(now - snap.st.acct_updated_ns) / 1e9)
						: json_null());
			json_object_set_new(a, "stale", json_boolean(snap.st.acct_stale));
			json_object_set_new(a, "sizing_equity",
					    json_real((double)snap.st.sizing_equity_cents / 100));
			json_object_set_new(a, "sizing_source",
					    json_string(snap.st.sizing_equity_src == 1 ? "broker"
										      : "config"));
			json_object_set_new(eng, "account_figures", a);
		} else {
			json_object_set_new(eng, "account_figures", json_null());
		}
	} else {
		json_object_set_new(eng, "error", json_string(d->stats_err[0] ? d->stats_err
									     : "stats file not readable"));
	}
	json_object_set_new(o, "engine", eng);
	json_t *conns = json_array();
	for (int i = 0; i < SLOB_STATS_NCONN; i++) {
		json_t *c = json_object();
		json_object_set_new(c, "name", json_string(slob_conn_session_name((unsigned)i)));
		if (have && snap.alive) {
			json_object_set_new(c, "state",
					    json_string(slob_conn_state_name(snap.st.conn[i])));
			json_object_set_new(c, "connected",
					    json_boolean(slob_conn_state_connected(snap.st.conn[i])));
			iso_utc(snap.st.conn_since_ns[i], ts, sizeof ts);
			json_object_set_new(c, "since", json_string(ts));
			json_object_set_new(c, "drops", json_integer(snap.st.conn_drops[i]));
		} else {
			json_object_set_new(c, "state", json_string("unknown (engine not running)"));
			json_object_set_new(c, "connected", json_false());
		}
		json_array_append_new(conns, c);
	}
	json_object_set_new(o, "connections", conns);

	/* Breaker: the store is durable truth; the live engine may be ahead of it. */
	json_t *store = json_object();
	json_object_set_new(store, "path", json_string(d->db_path));
	bool store_trip = false;
	json_t *risk = NULL;
	if (slob_dash_store_ensure(d) == 0) {
		json_object_set_new(store, "ok", json_true());
		risk = risk_row(d);
		store_trip = risk && json_integer_value(json_object_get(risk, "breaker_tripped")) != 0;
	} else {
		json_object_set_new(store, "ok", json_false());
		json_object_set_new(store, "error", json_string(d->store_err));
	}
	json_object_set_new(o, "store", store);
	bool live_trip = have && snap.alive && snap.st.breaker;
	json_t *br = json_object();
	json_object_set_new(br, "tripped", json_boolean(store_trip || live_trip));
	json_object_set_new(br, "store", json_boolean(store_trip));
	json_object_set_new(br, "engine", json_boolean(live_trip));
	if (risk) {
		json_object_set(br, "reason", json_object_get(risk, "breaker_reason"));
		json_object_set(br, "since", json_object_get(risk, "breaker_since"));
	}
	json_object_set_new(o, "breaker", br);
	json_object_set_new(o, "risk", risk ? risk : json_null());

	size_t len = 0;
	int h2;
	char *sum = slob_dash_api_summary(d, &len, &h2);
	json_t *sj = h2 == 200 && sum ? json_loadb(sum, len, 0, NULL) : NULL;
	free(sum);
	json_object_set_new(o, "summary", sj ? sj : json_null());
	/* Today's P&L: the engine's (trading day, incl. unrealised) when live, else the store's. */
	double today = 0;
	if (have && snap.alive)
		today = (double)snap.st.daily_pnl_cents / 100;
	else if (risk && json_is_number(json_object_get(risk, "daily_pnl")))
		today = json_number_value(json_object_get(risk, "daily_pnl"));
	else if (sj)
		today = json_number_value(json_object_get(sj, "today_pnl"));
	json_object_set_new(o, "today_pnl", json_real(today));
	iso_utc(now, ts, sizeof ts);
	json_object_set_new(o, "time", json_string(ts));
	json_object_set_new(o, "dashboard",
			    json_pack("{s:f,s:I}", "uptime_s",
				      (double)(slob_dash_now_ns() - d->started_ns) / 1e9, "requests",
				      (json_int_t)d->requests));
	*http = 200;
	return o;
}

json_t *slob_dash_api_stats(struct slob_dash *d, int *http)
{
	slob_dash_stats_ensure(d);
	*http = 200;
	if (!d->stats_open)
		return json_pack("{s:[],s:[],s:s}", "stages", "latency", "error",
				 d->stats_err[0] ? d->stats_err : "stats file not readable");
	json_t *stages = json_array(), *lat = json_array();
	unsigned ns = slob_dash_min(slob_stats_nstages(&d->stats), SLOB_STATS_MAX_STAGES);
	for (unsigned i = 0; i < ns; i++) {
		const struct slob_stats_stage_slot *sl = &d->stats.stages[i];
		const struct slob_stage_stats *c = &sl->stats;
		char name[SLOB_STATS_NAME_LEN + 1];
		snprintf(name, sizeof name, "%.*s", SLOB_STATS_NAME_LEN, sl->name);
		json_t *s = json_object();
		json_object_set_new(s, "name", json_string(name));
		json_object_set_new(s, "in", json_integer((json_int_t)slob_stats_load(&c->in)));
		json_object_set_new(s, "out", json_integer((json_int_t)slob_stats_load(&c->out)));
		json_object_set_new(s, "polls", json_integer((json_int_t)slob_stats_load(&c->polls)));
		json_object_set_new(s, "idle_polls",
				    json_integer((json_int_t)slob_stats_load(&c->idle_polls)));
		json_object_set_new(s, "drops", json_integer((json_int_t)slob_stats_load(&c->drops)));
		json_object_set_new(s, "backpressure",
				    json_integer((json_int_t)slob_stats_load(&c->backpressure)));
		json_object_set_new(s, "errors",
				    json_integer((json_int_t)slob_stats_load(&c->errors)));
		json_object_set_new(s, "ring_fill",
				    json_integer((json_int_t)slob_stats_load(&sl->ring_fill)));
		json_object_set_new(s, "ring_fill_max",
				    json_integer((json_int_t)slob_stats_load(&c->ring_fill_max)));
		json_object_set_new(s, "ring_cap",
				    json_integer((json_int_t)slob_stats_load(&sl->ring_cap)));
		json_t *reasons = json_object();
		for (unsigned r = 0; r < SLOB_MAX_REASONS; r++) {
			uint64_t v = slob_stats_load(&c->reasons[r]);
			if (v == 0)
				continue;
			char rn[SLOB_STATS_REASON_LEN + 8];
			if (sl->reason_names[r][0])
				snprintf(rn, sizeof rn, "%.*s", SLOB_STATS_REASON_LEN,
					 sl->reason_names[r]);
			else
				snprintf(rn, sizeof rn, "reason_%u", r);
			json_object_set_new(reasons, rn, json_integer((json_int_t)v));
		}
		json_object_set_new(s, "reasons", reasons);
		json_array_append_new(stages, s);
	}
	unsigned nh = slob_dash_min(slob_stats_nhists(&d->stats), SLOB_STATS_MAX_HISTS);
	for (unsigned i = 0; i < nh; i++) {
		const struct slob_stats_hist_slot *h = &d->stats.hists[i];
		char name[SLOB_STATS_NAME_LEN + 1];
		snprintf(name, sizeof name, "%.*s", SLOB_STATS_NAME_LEN, h->name);
		json_array_append_new(
			lat, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "name", name, "count",
				       (json_int_t)slob_hist_count(&h->h), "min_ns",
				       (json_int_t)slob_hist_min(&h->h), "p50_ns",
				       (json_int_t)slob_hist_percentile(&h->h, 50), "p90_ns",
				       (json_int_t)slob_hist_percentile(&h->h, 90), "p99_ns",
				       (json_int_t)slob_hist_percentile(&h->h, 99), "p999_ns",
				       (json_int_t)slob_hist_percentile(&h->h, 99.9), "max_ns",
				       (json_int_t)slob_hist_max(&h->h), "mean_ns",
				       slob_hist_mean(&h->h)));
	}
	return json_pack("{s:o,s:o}", "stages", stages, "latency", lat);
}
