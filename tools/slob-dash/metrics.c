/* SPDX-License-Identifier: MIT */
/*
 * metrics.c: /metrics in the Prometheus text exposition format (0.0.4):
 * engine liveness, connections, breaker, money, stage counters, latency
 * summaries from the stats file, trade totals from the store, and the
 * dashboard's own counters. Access control is in server.c (token or loopback).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/hist.h"
#include "tools/slob-dash/dash.h"

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	if (b->oom)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t nc = b->cap * 2 + (size_t)n;
		char *np = realloc(b->p, nc);
		if (np == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
}

/* Label values: escape backslash, quote and newline; drop other controls. */
static void label(char *out, size_t len, const char *in, size_t inlen)
{
	size_t k = 0;
	for (size_t i = 0; i < inlen && in[i] && k + 3 < len; i++) {
		char c = in[i];
		if (c == '\\' || c == '"') {
			out[k++] = '\\';
			out[k++] = c;
		} else if (c == '\n') {
			out[k++] = '\\';
			out[k++] = 'n';
		} else if ((unsigned char)c >= 0x20) {
			out[k++] = c;
		}
	}
	out[k] = '\0';
}

static void gauge(struct buf *b, const char *name, const char *help, double v)
{
	put(b, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, v);
}

char *slob_dash_metrics(struct slob_dash *d, size_t *len)
{
	struct buf b = {.p = malloc(8192), .cap = 8192};
	if (b.p == NULL)
		return NULL;
	b.p[0] = '\0';
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;

	gauge(&b, "slob_dash_up", "1 while the dashboard answers", 1);
	put(&b, "# HELP slob_dash_requests_total HTTP requests served\n"
		"# TYPE slob_dash_requests_total counter\nslob_dash_requests_total %llu\n",
	    (unsigned long long)d->requests);
	put(&b, "# HELP slob_dash_logins_total Login attempts by result\n"
		"# TYPE slob_dash_logins_total counter\n"
		"slob_dash_logins_total{result=\"ok\"} %llu\n"
		"slob_dash_logins_total{result=\"failed\"} %llu\n",
	    (unsigned long long)d->logins_ok, (unsigned long long)d->logins_failed);
	put(&b, "# HELP slob_dash_lockouts_total Client lockouts after repeated failures\n"
		"# TYPE slob_dash_lockouts_total counter\nslob_dash_lockouts_total %llu\n",
	    (unsigned long long)d->lockouts);

	slob_dash_stats_ensure(d);
	struct slob_stats_snapshot snap;
	bool have = d->stats_open && slob_stats_snapshot(&d->stats, now, &snap) == 0;
	bool alive = have && snap.alive;
	gauge(&b, "slob_stats_file_readable", "1 if the engine's stats file is mapped", have);
	gauge(&b, "slob_engine_alive", "1 if the engine runs (flag, fresh heartbeat, pid)", alive);
	if (have) {
		gauge(&b, "slob_engine_heartbeat_age_seconds", "age of the engine heartbeat",
		      (double)snap.heartbeat_age_ns / 1e9);
		put(&b, "# HELP slob_connection_up 1 if the TWS session is connected (up or "
			"reconciled) and the engine runs\n"
			"# TYPE slob_connection_up gauge\n");
		for (int i = 0; i < SLOB_STATS_NCONN; i++)
			put(&b, "slob_connection_up{conn=\"%s\"} %d\n",
			    slob_conn_session_name((unsigned)i),
			    alive && slob_conn_state_connected(snap.st.conn[i]));
		put(&b, "# HELP slob_connection_state 1 for the state each TWS session is in "
			"(orders trade only when reconciled)\n"
			"# TYPE slob_connection_state gauge\n");
		for (int i = 0; i < SLOB_STATS_NCONN; i++)
			for (int k = 0; k < SLOB_CONN_NSTATES; k++)
				put(&b, "slob_connection_state{conn=\"%s\",state=\"%s\"} %d\n",
				    slob_conn_session_name((unsigned)i), slob_conn_state_name(k),
				    alive && snap.st.conn[i] == k);
		put(&b, "# HELP slob_connection_since_seconds when the session entered its "
			"state (Unix time)\n"
			"# TYPE slob_connection_since_seconds gauge\n");
		for (int i = 0; i < SLOB_STATS_NCONN; i++)
			put(&b, "slob_connection_since_seconds{conn=\"%s\"} %.3f\n",
			    slob_conn_session_name((unsigned)i),
			    (double)snap.st.conn_since_ns[i] / 1e9);
		put(&b, "# HELP slob_connection_drops_total disconnects since engine start\n"
			"# TYPE slob_connection_drops_total counter\n");
		for (int i = 0; i < SLOB_STATS_NCONN; i++)
			put(&b, "slob_connection_drops_total{conn=\"%s\"} %u\n",
			    slob_conn_session_name((unsigned)i), snap.st.conn_drops[i]);
		gauge(&b, "slob_kill_switch", "1 when the kill switch blocks new positions",
		      snap.st.kill_switch);
		gauge(&b, "slob_equity_dollars", "account equity", (double)snap.st.equity_cents / 100);
		gauge(&b, "slob_daily_pnl_dollars", "P&L of the trading day",
		      (double)snap.st.daily_pnl_cents / 100);
		gauge(&b, "slob_open_positions", "open positions", snap.st.open_positions);
		if (snap.st.acct_have != 0) {
			gauge(&b, "slob_account_net_liquidation_dollars",
			      "broker NetLiquidation (account summary)",
			      (double)snap.st.acct_net_liq_cents / 100);
			gauge(&b, "slob_account_available_funds_dollars", "broker AvailableFunds",
			      (double)snap.st.acct_available_cents / 100);
			gauge(&b, "slob_account_excess_liquidity_dollars", "broker ExcessLiquidity",
			      (double)snap.st.acct_excess_liq_cents / 100);
			gauge(&b, "slob_account_init_margin_dollars", "broker InitMarginReq",
			      (double)snap.st.acct_init_margin_cents / 100);
			gauge(&b, "slob_account_margin_per_contract_dollars",
			      "initial margin of one contract (what-if), 0 = unknown",
			      (double)snap.st.acct_margin_1_cents / 100);
			gauge(&b, "slob_account_age_seconds", "age of the last account summary figure",
			      snap.st.acct_updated_ns ? (double)(now - snap.st.acct_updated_ns) / 1e9
						      : -1);
			gauge(&b, "slob_account_stale", "1 when new entries are held for stale account data",
			      snap.st.acct_stale);
		}
		gauge(&b, "slob_sizing_equity_dollars", "equity the next size uses",
		      (double)(snap.st.sizing_equity_cents ? snap.st.sizing_equity_cents
							   : snap.st.equity_cents) / 100);
		gauge(&b, "slob_cold_backlog", "records waiting for the cold thread",
		      (double)snap.st.cold_backlog);
		put(&b, "# HELP slob_alerts_total alerts by result\n# TYPE slob_alerts_total counter\n"
			"slob_alerts_total{result=\"sent\"} %llu\nslob_alerts_total{result=\"failed\"} "
			"%llu\nslob_alerts_total{result=\"dropped\"} %llu\n",
		    (unsigned long long)snap.st.alerts_sent, (unsigned long long)snap.st.alerts_failed,
		    (unsigned long long)snap.st.alerts_dropped);
		put(&b, "# HELP slob_store_errors_total store write failures\n"
			"# TYPE slob_store_errors_total counter\nslob_store_errors_total %llu\n",
		    (unsigned long long)snap.st.store_errors);
	}

	/* Breaker: the store's durable state OR the live engine's. */
	int store_ok = slob_dash_store_ensure(d) == 0;
	gauge(&b, "slob_store_readable", "1 if the dashboard can read the store", store_ok);
	int tripped = alive && snap.st.breaker;
	if (store_ok) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(d->db, "SELECT breaker_tripped FROM risk_state WHERE id = 1",
				       -1, &st, NULL) == SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) != 0)
				tripped = 1;
			sqlite3_finalize(st);
		}
	}
	gauge(&b, "slob_breaker_tripped", "1 when the circuit breaker is tripped", tripped);
	if (store_ok) {
		size_t sl;
		int http;
		char *sum = slob_dash_api_summary(d, &sl, &http);
		json_t *j = http == 200 && sum ? json_loadb(sum, sl, 0, NULL) : NULL;
		free(sum);
		if (j != NULL) {
			put(&b, "# HELP slob_trades_total closed trades in trade_history\n"
				"# TYPE slob_trades_total counter\nslob_trades_total %lld\n",
			    (long long)json_integer_value(json_object_get(j, "total_trades")));
			gauge(&b, "slob_realised_pnl_dollars", "sum of trade_history pnl",
			      json_number_value(json_object_get(j, "total_pnl")));
			gauge(&b, "slob_max_drawdown_dollars", "largest peak-to-trough of realised P&L",
			      json_number_value(json_object_get(j, "max_drawdown")));
			json_decref(j);
		}
	}

	if (d->stats_open) {
		unsigned ns = slob_dash_min(slob_stats_nstages(&d->stats), SLOB_STATS_MAX_STAGES);
		static const struct {
			const char *name, *help;
			size_t off;
			bool counter;
		} f[] = {
			{"in", "records consumed", offsetof(struct slob_stage_stats, in), true},
			{"out", "records produced", offsetof(struct slob_stage_stats, out), true},
			{"drops", "informational records dropped",
			 offsetof(struct slob_stage_stats, drops), true},
			{"backpressure", "times an output ring was full",
			 offsetof(struct slob_stage_stats, backpressure), true},
			{"errors", "errors", offsetof(struct slob_stage_stats, errors), true},
			{"ring_fill_max", "peak input ring fill",
			 offsetof(struct slob_stage_stats, ring_fill_max), false},
		};
		char lb[SLOB_STATS_NAME_LEN * 2 + 4];
		for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
			put(&b, "# HELP slob_stage_%s%s %s\n# TYPE slob_stage_%s%s %s\n", f[k].name,
			    f[k].counter ? "_total" : "", f[k].help, f[k].name,
			    f[k].counter ? "_total" : "", f[k].counter ? "counter" : "gauge");
			for (unsigned i = 0; i < ns; i++) {
				const struct slob_stats_stage_slot *sl = &d->stats.stages[i];
				label(lb, sizeof lb, sl->name, SLOB_STATS_NAME_LEN);
				const uint64_t *v =
					(const uint64_t *)((const char *)&sl->stats + f[k].off);
				put(&b, "slob_stage_%s%s{stage=\"%s\"} %llu\n", f[k].name,
				    f[k].counter ? "_total" : "", lb,
				    (unsigned long long)slob_stats_load(v));
			}
		}
		put(&b, "# HELP slob_stage_ring_fill current input ring fill\n"
			"# TYPE slob_stage_ring_fill gauge\n");
		for (unsigned i = 0; i < ns; i++) {
			const struct slob_stats_stage_slot *sl = &d->stats.stages[i];
			label(lb, sizeof lb, sl->name, SLOB_STATS_NAME_LEN);
			put(&b, "slob_stage_ring_fill{stage=\"%s\"} %llu\n", lb,
			    (unsigned long long)slob_stats_load(&sl->ring_fill));
		}
		unsigned nh = slob_dash_min(slob_stats_nhists(&d->stats), SLOB_STATS_MAX_HISTS);
		put(&b, "# HELP slob_latency_seconds engine latency histograms\n"
			"# TYPE slob_latency_seconds summary\n");
		static const double q[] = {0.5, 0.9, 0.99, 0.999, 1.0};
		for (unsigned i = 0; i < nh; i++) {
			const struct slob_stats_hist_slot *h = &d->stats.hists[i];
			label(lb, sizeof lb, h->name, SLOB_STATS_NAME_LEN);
			for (size_t k = 0; k < sizeof q / sizeof q[0]; k++)
				put(&b, "slob_latency_seconds{hist=\"%s\",quantile=\"%g\"} %.9f\n", lb,
				    q[k], (double)slob_hist_percentile(&h->h, q[k] * 100) / 1e9);
			put(&b, "slob_latency_seconds_sum{hist=\"%s\"} %.9f\n", lb,
			    (double)slob_stats_load(&h->h.sum) / 1e9);
			put(&b, "slob_latency_seconds_count{hist=\"%s\"} %llu\n", lb,
			    (unsigned long long)slob_hist_count(&h->h));
		}
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
