/* SPDX-License-Identifier: MIT */
/*
 * cold.c: the cold stage (see cold.h for the design notes and the state
 * diagram). One prepared statement per table write; records are copied from
 * the rings straight into the pending array, which is the batch.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "persist/alert.h"
#include "persist/cold.h"

enum {
	ST_SETUP,
	ST_SETUP_PLACED,
	ST_SETUP_CLOSED,
	ST_ORDER,
	ST_FILL,
	ST_FILL_ORDER,
	ST_TRADE,
	ST_POS_UPSERT,
	ST_POS_DELETE,
	ST_RISK,
	ST_BREAKER_EVENT,
	ST_BREAKER_STATE,
	ST_DECISION,
	ST_CANDLE,
	ST_ALERT,
	ST_EVENT,
	ST_CMD_SELECT,
	ST_CMD_DONE,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_SETUP] =
	"INSERT INTO active_setups (id, state, symbol, direction, lse_high, lse_low,"
	" liq1_time, liq1_price, consol_confirmed_time, consol_high, consol_low, consol_range,"
	" nowick_time, nowick_high, nowick_low, liq2_time, liq2_price, spike_price,"
	" entry_time, entry_price, sl_price, tp_price, risk_reward_ratio,"
	" invalidation_reason, invalidation_time, candles_processed, window_len, setup_key,"
	" source, created_at, last_updated, placed, closed_at)"
	" VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,"
	" ?21,?22,?23,?24,?25,?26,?27,?28,'engine',?29,?29,"
	/* records of other producers may have been applied first (rings are
	 * drained in turn): derive the flags their UPDATEs could not set */
	" EXISTS (SELECT 1 FROM orders WHERE setup_id=?1),"
	" (SELECT max(exit_time) FROM trade_history WHERE setup_id=?1))"
	" ON CONFLICT(id) DO UPDATE SET "
	"state=excluded.state,direction=excluded.direction,"
	"lse_high=excluded.lse_high,lse_low=excluded.lse_low,"
	"liq1_time=excluded.liq1_time,liq1_price=excluded.liq1_price,"
	"consol_confirmed_time=excluded.consol_confirmed_time,"
	"consol_high=excluded.consol_high,consol_low=excluded.consol_low,"
	"consol_range=excluded.consol_range,nowick_time=excluded.nowick_time,"
	"nowick_high=excluded.nowick_high,nowick_low=excluded.nowick_low,"
	"liq2_time=excluded.liq2_time,liq2_price=excluded.liq2_price,"
	"spike_price=excluded.spike_price,entry_time=excluded.entry_time,"
	"entry_price=excluded.entry_price,sl_price=excluded.sl_price,"
	"tp_price=excluded.tp_price,"
	"risk_reward_ratio=excluded.risk_reward_ratio,"
	"invalidation_reason=excluded.invalidation_reason,"
	"invalidation_time=excluded.invalidation_time,"
	"candles_processed=excluded.candles_processed,"
	"window_len=excluded.window_len,setup_key=excluded.setup_key,"
	"last_updated=excluded.last_updated",
    [ST_SETUP_PLACED] = "UPDATE active_setups SET placed=1, last_updated=?2 WHERE id=?1",
    [ST_SETUP_CLOSED] = "UPDATE active_setups SET closed_at=?2, last_updated=?2 WHERE id=?1",
    [ST_ORDER] =
	"INSERT INTO orders (order_ref, order_id, parent_id, setup_id, role, action, status,"
	" qty, price, reject_code, reject_text, created_at, updated_at, filled_qty)"
	" VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?12,"
	" (SELECT coalesce(sum(qty),0) FROM fills WHERE order_ref=?1))"
	" ON CONFLICT(order_ref) DO UPDATE SET"
	" order_id=COALESCE(excluded.order_id, order_id),"
	" parent_id=COALESCE(excluded.parent_id, parent_id),"
	/* history is kept: a terminal order stays terminal (a reconciliation
	 * after a restart reports it RECONCILED), a fill is never undone by a
	 * late SUBMITTED or a re-adoption */
	" status=CASE WHEN status IN ('FILLED','CANCELLED','REJECTED') THEN status"
	"  WHEN excluded.status IN ('SUBMITTED','RECONCILED','PENDING') AND status='PARTIAL'"
	"  THEN status ELSE excluded.status END,"
	" qty=COALESCE(excluded.qty, qty), price=COALESCE(excluded.price, price),"
	" reject_code=COALESCE(excluded.reject_code, reject_code),"
	" reject_text=COALESCE(excluded.reject_text, reject_text),"
	" updated_at=excluded.updated_at",
    [ST_FILL] = "INSERT OR IGNORE INTO fills (exec_id, order_ref, order_id, setup_id, role, side,"
		" qty, price, time) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
    [ST_FILL_ORDER] = "UPDATE orders SET filled_qty=filled_qty+?2,"
		      " status=CASE WHEN qty IS NOT NULL AND filled_qty+?2 < qty THEN 'PARTIAL' "
		      "ELSE 'FILLED' END,"
		      " updated_at=?3 WHERE order_ref=?1",
    [ST_TRADE] = "INSERT OR IGNORE INTO trade_history (setup_id, symbol, direction, qty,"
		 " entry_time, exit_time, entry_price, exit_price, sl_price, tp_price, outcome,"
		 " pnl, pnl_cents, exit_reason, created_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,"
		 "?10,?11,?12,?13,?14,?15)",
    [ST_POS_UPSERT] = "INSERT INTO positions (setup_id, symbol, qty, avg_price, sl_price, tp_price,"
		      " opened_at, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?7)"
		      " ON CONFLICT(setup_id) DO UPDATE SET "
		      "qty=excluded.qty,avg_price=excluded.avg_price,"
		      "sl_price=excluded.sl_price,tp_price=excluded.tp_price,"
		      "updated_at=excluded.updated_at",
    [ST_POS_DELETE] = "DELETE FROM positions WHERE setup_id=?1",
    [ST_RISK] = "INSERT INTO risk_state (id, equity, peak_equity, daily_pnl, realised_pnl,"
		" unrealised_pnl, equity_cents, peak_cents, daily_pnl_cents, realised_cents,"
		" unrealised_cents, open_positions, trading_day, updated_at)"
		" VALUES (1,?1/100.0,?2/100.0,?3/100.0,?4/100.0,?5/100.0,?1,?2,?3,?4,?5,?6,?7,?8)"
		" ON CONFLICT(id) DO UPDATE SET "
		"equity=excluded.equity,peak_equity=excluded.peak_equity,"
		"daily_pnl=excluded.daily_pnl,realised_pnl=excluded.realised_pnl,"
		"unrealised_pnl=excluded.unrealised_pnl,"
		"equity_cents=excluded.equity_cents,peak_cents=excluded.peak_cents,"
		"daily_pnl_cents=excluded.daily_pnl_cents,"
		"realised_cents=excluded.realised_cents,"
		"unrealised_cents=excluded.unrealised_cents,"
		"open_positions=excluded.open_positions,"
		"trading_day=excluded.trading_day,updated_at=excluded.updated_at",
    [ST_BREAKER_EVENT] = "INSERT INTO breaker_events (ts, action, reason_code, value, who, why)"
			 " VALUES (?1,?2,?3,?4,?5,?6)",
    [ST_BREAKER_STATE] =
	"INSERT INTO risk_state (id, breaker_tripped, breaker_reason, breaker_code,"
	" breaker_since, updated_at) VALUES (1,?1,?2,?3,?4,?4)"
	" ON CONFLICT(id) DO UPDATE SET "
	"breaker_tripped=excluded.breaker_tripped,"
	"breaker_reason=excluded.breaker_reason,"
	"breaker_code=excluded.breaker_code,"
	"breaker_since=excluded.breaker_since,updated_at=excluded.updated_at",
    [ST_DECISION] = "INSERT INTO decisions (ts, setup_id, accepted, qty, reason_code, direction,"
		    " entry_price, sl_price, tp_price, equity_source, equity)"
		    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
    [ST_CANDLE] = "INSERT OR REPLACE INTO candles (timestamp, open, high, low, close, volume,"
		  " ticks, flags, is_complete) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,1)",
    [ST_ALERT] = "INSERT INTO alerts_sent (ts, level, kind, component, text, ref)"
		 " VALUES (?1,?2,?3,?4,?5,?6)",
    [ST_EVENT] = "INSERT INTO events (ts, kind, level, code, component, text)"
		 " VALUES (?1,?2,?3,?4,?5,?6)",
    [ST_CMD_SELECT] = "SELECT id, ts, command, arg, who, reason FROM operator_commands"
		      " WHERE applied_at IS NULL AND id > ?1 ORDER BY id LIMIT 16",
    [ST_CMD_DONE] = "UPDATE operator_commands SET applied_at=?2, result=?3 WHERE id=?1",
};

struct slob_cold_writer {
	slob_store_t *store;
	sqlite3 *db;
	slob_ring_t *rings[SLOB_COLD_MAX_PRODUCERS];
	unsigned nrings;
	struct slob_cold_params p;
	struct slob_cold_sinks sinks;
	struct slob_instrument ins;
	sqlite3_stmt *st[ST_COUNT];

	struct slob_cold *pending; /* the batch: pending_max records */
	unsigned npending;
	unsigned ntrade;  /* TRADE records in the batch */
	int64_t first_ns; /* monotonic time the oldest pending arrived */
	int sync_full;	  /* current synchronous level is FULL */

	int failing;	    /* last commit failed */
	int alerted;	    /* unhealthy: the failure alert was raised */
	unsigned next_ring; /* drain starts here (round robin) */
	int64_t retry_at_ns;
	int retry_ms;
	int last_err;

	int64_t next_cmd_ns;
	int64_t last_cmd_id;		    /* applied in this run: never handed over twice */
	int64_t busy_since_ns;		    /* first SQLITE_BUSY of the current batch, 0 = none */
	char now_text[SLOB_STORE_TIME_LEN]; /* wall time of the batch being committed */
	int finished;			    /* atomic: producers finished */
	int healthy;			    /* atomic: 1 while commits succeed */
	uint64_t durable[SLOB_COLD_MAX_PRODUCERS]; /* atomic */
	struct slob_cold_counters cnt;		   /* relaxed atomic stores */

	/* spill (cold.h note 6) */
	int64_t stop_ns; /* atomic: monotonic time a stop was requested, 0 = none */
	int spill_fd;	 /* open spill file, -1 = none */
	int64_t spill_off;
	uint64_t spilled; /* records written to the spill file */
	uint64_t spill_lost; /* records the spill file could not take */
	int spill_named;     /* renamed to its final name */
	int spill_alerted;   /* the first spill was alerted */

	slob_stage_t stage;
};

static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#define CNT_ADD(w, f, n) __atomic_store_n(&(w)->cnt.f, (w)->cnt.f + (n), __ATOMIC_RELAXED)

/* ---- parameters -------------------------------------------------------- */

void slob_cold_params_default(struct slob_cold_params *p)
{
	p->batch_max = 4096;
	p->batch_ms = 5;
	p->pending_max = 65536;
	p->retry_min_ms = 10;
	p->retry_max_ms = 1000;
	p->cmd_poll_ms = 250;
	p->busy_grace_ms = 2000;
	p->spill_after_ms = 2000;
}

int slob_cold_param_set(struct slob_cold_params *p, const char *key, const char *value, char *err,
			size_t errlen)
{
	static const struct {
		const char *key;
		size_t off;
		long lo, hi;
	} keys[] = {
	    {"batch_max", offsetof(struct slob_cold_params, batch_max), 1, 1 << 20},
	    {"batch_ms", offsetof(struct slob_cold_params, batch_ms), 0, 60000},
	    {"pending_max", offsetof(struct slob_cold_params, pending_max), 1, 1 << 24},
	    {"retry_min_ms", offsetof(struct slob_cold_params, retry_min_ms), 1, 60000},
	    {"retry_max_ms", offsetof(struct slob_cold_params, retry_max_ms), 1, 600000},
	    {"cmd_poll_ms", offsetof(struct slob_cold_params, cmd_poll_ms), 0, 600000},
	    {"busy_grace_ms", offsetof(struct slob_cold_params, busy_grace_ms), 0, 600000},
	    {"spill_after_ms", offsetof(struct slob_cold_params, spill_after_ms), 0, 60000},
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(key, keys[i].key))
			continue;
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (errno || end == value || *end || v < keys[i].lo || v > keys[i].hi) {
			snprintf(err, errlen, "cold.%s: '%s' is not an integer in %ld..%ld", key,
				 value, keys[i].lo, keys[i].hi);
			return -EINVAL;
		}
		*(int *)((char *)p + keys[i].off) = (int)v;
		return 0;
	}
	snprintf(err, errlen, "cold: unknown key '%s'", key);
	return -ENOENT;
}

int slob_cold_params_validate(const struct slob_cold_params *p, char *err, size_t errlen)
{
	if (p->batch_max < 1 || p->pending_max < p->batch_max) {
		snprintf(err, errlen, "cold.pending_max (%d) must be >= cold.batch_max (%d) >= 1",
			 p->pending_max, p->batch_max);
		return -EINVAL;
	}
	if (p->retry_min_ms < 1 || p->retry_max_ms < p->retry_min_ms) {
		snprintf(err, errlen,
			 "cold.retry_max_ms (%d) must be >= cold.retry_min_ms (%d) >= 1",
			 p->retry_max_ms, p->retry_min_ms);
		return -EINVAL;
	}
	if (p->batch_ms < 0 || p->cmd_poll_ms < 0 || p->busy_grace_ms < 0) {
		snprintf(err, errlen,
			 "cold.batch_ms, cold.cmd_poll_ms and cold.busy_grace_ms must be >= 0");
		return -EINVAL;
	}
	return 0;
}

/* ---- binding helpers --------------------------------------------------- */

/* Text is bound SQLITE_STATIC (no copy, no malloc per value): record fields
 * outlive the statement's run() (w->pending, or the caller's record in
 * slob_cold_apply), and formatted values live in
 * one scratch slot per parameter index until run() steps, resets and clears
 * the statement. Invariant: every statement is bound and run() before the
 * next one is bound (apply() does one statement at a time). */
#define BIND_SLOTS 48
static _Thread_local char bind_scratch[BIND_SLOTS][SLOB_STORE_TIME_LEN];

static void bind_time(sqlite3_stmt *st, int i, int64_t ns)
{
	char tmp[SLOB_STORE_TIME_LEN];
	char *buf = i < BIND_SLOTS ? bind_scratch[i] : tmp;
	if (ns == 0 || slob_store_time_fmt(ns, buf, SLOB_STORE_TIME_LEN) < 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, buf, -1, buf == tmp ? SQLITE_TRANSIENT : SQLITE_STATIC);
}

static void bind_px(const slob_cold_writer_t *w, sqlite3_stmt *st, int i, int32_t px)
{
	if (px == 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_double(st, i, slob_px_to_double(&w->ins, px));
}

/* s: a field of the record being applied, which outlives run() */
static void bind_str(sqlite3_stmt *st, int i, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, (int)n, SQLITE_STATIC);
}

static void bind_id(sqlite3_stmt *st, int i, uint64_t id)
{
	char tmp[17];
	char *buf = i < BIND_SLOTS ? bind_scratch[i] : tmp;
	slob_store_setup_id_fmt(id, buf);
	sqlite3_bind_text(st, i, buf, 16, buf == tmp ? SQLITE_TRANSIENT : SQLITE_STATIC);
}

static const char *dir_name(int8_t d)
{
	return d > 0 ? "LONG" : d < 0 ? "SHORT" : NULL;
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static const char *level_name(unsigned l)
{
	static const char *const n[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};
	return l < 5 ? n[l] : "CRITICAL";
}

const char *slob_cold_exec_name(unsigned k)
{
	switch (k) {
	case SLOB_EXEC_SUBMITTED:
		return "SUBMITTED";
	case SLOB_EXEC_FILL:
		return "FILLED";
	case SLOB_EXEC_CANCELLED:
		return "CANCELLED";
	case SLOB_EXEC_REJECTED:
		return "REJECTED";
	case SLOB_EXEC_RECONCILED:
		return "RECONCILED";
	case SLOB_EXEC_UNKNOWN:
		return "UNKNOWN";
	default:
		return NULL;
	}
}

/* orders.status: 0 (not yet acknowledged) and kinds without a name are PENDING. */
static const char *order_status(unsigned k)
{
	const char *n = slob_cold_exec_name(k);
	return n ? n : "PENDING";
}

/* Steps a statement to completion and resets it; returns the SQLite code. */
static int run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

/* Returns SQLITE_DONE or the failing SQLite code. */
static int apply(slob_cold_writer_t *w, const struct slob_cold *r)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE;
	switch (r->type) {
	case SLOB_COLD_SETUP: {
		const struct slob_setup *s = &r->u.setup;
		st = w->st[ST_SETUP];
		bind_id(st, 1, s->id);
		sqlite3_bind_text(st, 2, slob_state_name(s->state), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, w->ins.symbol, -1, SQLITE_STATIC);
		bind_opt_text(st, 4, dir_name(s->dir));
		bind_px(w, st, 5, s->lse_high);
		bind_px(w, st, 6, s->lse_low);
		bind_time(st, 7, s->liq1_ns);
		bind_px(w, st, 8, s->liq1_px);
		bind_time(st, 9, s->consol_confirmed_ns);
		bind_px(w, st, 10, s->cons_high);
		bind_px(w, st, 11, s->cons_low);
		if (s->cons_high && s->cons_low)
			sqlite3_bind_double(st, 12,
					    slob_px_to_double(&w->ins, s->cons_high - s->cons_low));
		bind_time(st, 13, s->nowick_ns);
		bind_px(w, st, 14, s->nw_high);
		bind_px(w, st, 15, s->nw_low);
		bind_time(st, 16, s->liq2_ns);
		bind_px(w, st, 17, s->liq2_px);
		bind_px(w, st, 18, s->spike_px);
		bind_time(st, 19, s->entry_ns);
		bind_px(w, st, 20, s->entry);
		bind_px(w, st, 21, s->sl);
		bind_px(w, st, 22, s->tp);
		if (s->rr_milli)
			sqlite3_bind_double(st, 23, s->rr_milli / 1000.0);
		if (s->reason) {
			sqlite3_bind_text(st, 24, slob_reason_name(s->reason), -1, SQLITE_STATIC);
			bind_time(st, 25, r->ts_ns);
		}
		sqlite3_bind_int(st, 26, s->candles);
		sqlite3_bind_int(st, 27, s->window_len);
		sqlite3_bind_int64(st, 28, (int64_t)s->id);
		bind_time(st, 29, r->ts_ns ? r->ts_ns : wall_ns());
		rc = run(st);
		break;
	}
	case SLOB_COLD_ORDER: {
		const struct slob_cold_order *o = &r->u.order;
		st = w->st[ST_ORDER];
		bind_str(st, 1, o->order_ref, sizeof(o->order_ref));
		if (o->order_id)
			sqlite3_bind_int64(st, 2, o->order_id);
		if (o->parent_id)
			sqlite3_bind_int64(st, 3, o->parent_id);
		if (o->setup_id)
			bind_id(st, 4, o->setup_id);
		sqlite3_bind_text(st, 5, slob_role_name(o->role), -1, SQLITE_STATIC);
		bind_opt_text(st, 6, o->dir > 0 ? "BUY" : o->dir < 0 ? "SELL" : NULL);
		sqlite3_bind_text(st, 7, order_status(o->status), -1, SQLITE_STATIC);
		if (o->qty)
			sqlite3_bind_int(st, 8, o->qty);
		bind_px(w, st, 9, o->px);
		if (o->code)
			sqlite3_bind_int(st, 10, o->code);
		bind_str(st, 11, o->text, sizeof(o->text));
		bind_time(st, 12, r->ts_ns ? r->ts_ns : wall_ns());
		rc = run(st);
		if (rc == SQLITE_DONE && o->setup_id) {
			st = w->st[ST_SETUP_PLACED];
			bind_id(st, 1, o->setup_id);
			bind_time(st, 2, r->ts_ns ? r->ts_ns : wall_ns());
			rc = run(st);
		}
		break;
	}
	case SLOB_COLD_FILL: {
		const struct slob_cold_fill *f = &r->u.fill;
		st = w->st[ST_FILL];
		bind_str(st, 1, f->exec_id, sizeof(f->exec_id));
		bind_str(st, 2, f->order_ref, sizeof(f->order_ref));
		if (f->order_id)
			sqlite3_bind_int64(st, 3, f->order_id);
		if (f->setup_id)
			bind_id(st, 4, f->setup_id);
		sqlite3_bind_text(st, 5, slob_role_name(f->role), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, f->dir > 0 ? "BOT" : "SLD", -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 7, f->qty);
		sqlite3_bind_double(st, 8, slob_px_to_double(&w->ins, f->px));
		bind_time(st, 9, r->ts_ns ? r->ts_ns : wall_ns());
		rc = run(st);
		if (rc == SQLITE_DONE && sqlite3_changes(w->db) > 0) {
			st = w->st[ST_FILL_ORDER];
			bind_str(st, 1, f->order_ref, sizeof(f->order_ref));
			sqlite3_bind_int(st, 2, f->qty);
			bind_time(st, 3, r->ts_ns ? r->ts_ns : wall_ns());
			rc = run(st);
		}
		break;
	}
	case SLOB_COLD_TRADE: {
		const struct slob_cold_trade *t = &r->u.trade;
		st = w->st[ST_TRADE];
		bind_id(st, 1, t->setup_id);
		sqlite3_bind_text(st, 2, w->ins.symbol, -1, SQLITE_STATIC);
		bind_opt_text(st, 3, dir_name(t->dir));
		sqlite3_bind_int(st, 4, t->qty);
		bind_time(st, 5, t->entry_ns ? t->entry_ns : r->ts_ns);
		bind_time(st, 6, t->exit_ns);
		bind_px(w, st, 7, t->entry_px);
		bind_px(w, st, 8, t->exit_px);
		bind_px(w, st, 9, t->sl);
		bind_px(w, st, 10, t->tp);
		sqlite3_bind_text(st, 11,
				  t->pnl_cents > 0   ? "WIN"
				  : t->pnl_cents < 0 ? "LOSS"
						     : "BREAKEVEN",
				  -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 12, (double)t->pnl_cents / 100.0);
		sqlite3_bind_int64(st, 13, t->pnl_cents);
		sqlite3_bind_text(st, 14,
				  t->exit_role == SLOB_ROLE_TP	       ? "TP"
				  : t->exit_role == SLOB_ROLE_SL       ? "SL"
				  : t->exit_role == SLOB_EXIT_FLATTEN ? "FLATTEN"
								       : "MANUAL",
				  -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 15, w->now_text, -1, SQLITE_STATIC);
		rc = run(st);
		if (rc == SQLITE_DONE) {
			st = w->st[ST_SETUP_CLOSED];
			bind_id(st, 1, t->setup_id);
			bind_time(st, 2, t->exit_ns ? t->exit_ns : r->ts_ns);
			rc = run(st);
		}
		break;
	}
	case SLOB_COLD_POSITION: {
		const struct slob_cold_position *p = &r->u.position;
		char key[17];
		if (p->setup_id)
			slob_store_setup_id_fmt(p->setup_id, key);
		else
			snprintf(key, sizeof(key), "%s", w->ins.symbol);
		if (!p->open || p->qty == 0) {
			st = w->st[ST_POS_DELETE];
			sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
			rc = run(st);
			break;
		}
		st = w->st[ST_POS_UPSERT];
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, w->ins.symbol, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, p->qty);
		bind_px(w, st, 4, p->avg_px);
		bind_px(w, st, 5, p->sl);
		bind_px(w, st, 6, p->tp);
		bind_time(st, 7, r->ts_ns ? r->ts_ns : wall_ns());
		rc = run(st);
		break;
	}
	case SLOB_COLD_RISK_STATE: {
		const struct slob_cold_risk *k = &r->u.risk;
		st = w->st[ST_RISK];
		sqlite3_bind_int64(st, 1, k->equity_cents);
		sqlite3_bind_int64(st, 2, k->peak_cents);
		sqlite3_bind_int64(st, 3, k->daily_pnl_cents);
		sqlite3_bind_int64(st, 4, k->realised_cents);
		sqlite3_bind_int64(st, 5, k->unrealised_cents);
		sqlite3_bind_int(st, 6, k->open_positions);
		sqlite3_bind_int(st, 7, k->trading_day);
		bind_time(st, 8, r->ts_ns ? r->ts_ns : wall_ns());
		rc = run(st);
		break;
	}
	case SLOB_COLD_BREAKER: {
		const struct slob_cold_breaker *b = &r->u.breaker;
		int64_t ts = r->ts_ns ? r->ts_ns : wall_ns();
		st = w->st[ST_BREAKER_EVENT];
		bind_time(st, 1, ts);
		sqlite3_bind_text(st, 2, b->tripped ? "tripped" : "reset", -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, b->reason);
		sqlite3_bind_int64(st, 4, b->value);
		bind_str(st, 5, b->who, sizeof(b->who));
		bind_str(st, 6, b->why, sizeof(b->why));
		rc = run(st);
		if (rc != SQLITE_DONE)
			break;
		st = w->st[ST_BREAKER_STATE];
		sqlite3_bind_int(st, 1, b->tripped ? 1 : 0);
		if (b->tripped) {
			bind_str(st, 2, b->why, sizeof(b->why));
			sqlite3_bind_int(st, 3, b->reason);
		}
		bind_time(st, 4, ts);
		rc = run(st);
		if (rc == SQLITE_DONE) {
			char why[sizeof(b->why) + 1];
			snprintf(why, sizeof(why), "%.*s", (int)sizeof(b->why), b->why);
			slob_cold_latch_write(slob_store_path(w->store), b->tripped, b->reason, why);
		}
		break;
	}
	case SLOB_COLD_DECISION: {
		const struct slob_cold_decision *d = &r->u.decision;
		st = w->st[ST_DECISION];
		bind_time(st, 1, r->ts_ns ? r->ts_ns : wall_ns());
		bind_id(st, 2, d->setup_id);
		sqlite3_bind_int(st, 3, d->reason == 0);
		sqlite3_bind_int(st, 4, d->qty);
		sqlite3_bind_int(st, 5, d->reason);
		bind_opt_text(st, 6, dir_name(d->dir));
		bind_px(w, st, 7, d->entry);
		bind_px(w, st, 8, d->sl);
		bind_px(w, st, 9, d->tp);
		if (d->equity_cents != 0) { /* 0: not sized (rejected before sizing) */
			sqlite3_bind_text(st, 10, d->equity_src == 1 ? "broker" : "config", -1,
					  SQLITE_STATIC);
			sqlite3_bind_double(st, 11, (double)d->equity_cents / 100.0);
		} else {
			sqlite3_bind_null(st, 10);
			sqlite3_bind_null(st, 11);
		}
		rc = run(st);
		break;
	}
	case SLOB_COLD_BAR: {
		const struct slob_bar *b = &r->u.bar;
		if (b->flags & SLOB_BAR_END)
			break;
		st = w->st[ST_CANDLE];
		bind_time(st, 1, b->ts_ns);
		sqlite3_bind_double(st, 2, slob_px_to_double(&w->ins, b->open));
		sqlite3_bind_double(st, 3, slob_px_to_double(&w->ins, b->high));
		sqlite3_bind_double(st, 4, slob_px_to_double(&w->ins, b->low));
		sqlite3_bind_double(st, 5, slob_px_to_double(&w->ins, b->close));
		sqlite3_bind_int64(st, 6, b->volume);
		sqlite3_bind_int64(st, 7, b->ticks);
		sqlite3_bind_int64(st, 8, b->flags);
		rc = run(st);
		break;
	}
	case SLOB_COLD_ALERT: {
		const struct slob_cold_text *t = &r->u.text;
		st = w->st[ST_ALERT];
		bind_time(st, 1, r->ts_ns ? r->ts_ns : wall_ns());
		sqlite3_bind_text(st, 2, level_name(t->level), -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, t->code);
		bind_str(st, 4, t->component, sizeof(t->component));
		bind_str(st, 5, t->text, sizeof(t->text));
		sqlite3_bind_int64(st, 6, slob_cold_alert_ref(r));
		rc = run(st);
		break;
	}
	case SLOB_COLD_CONN:
	case SLOB_COLD_UNKNOWN_BROKER: {
		const struct slob_cold_text *t = &r->u.text;
		st = w->st[ST_EVENT];
		bind_time(st, 1, r->ts_ns ? r->ts_ns : wall_ns());
		sqlite3_bind_text(st, 2, r->type == SLOB_COLD_CONN ? "conn" : "unknown_broker", -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 3, level_name(t->level), -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, t->code);
		bind_str(st, 5, t->component, sizeof(t->component));
		bind_str(st, 6, t->text, sizeof(t->text));
		rc = run(st);
		break;
	}
	case SLOB_COLD_LOG:
	default:
		break; /* log lines go to the log sink only */
	}
	return rc;
}

/* ---- breaker latch file --------------------------------------------------- */

static int write_all(int fd, const void *buf, size_t len, int64_t off);

int slob_cold_latch_write(const char *db_path, bool tripped, int code, const char *why)
{
	char path[PATH_MAX + 16];
	if (slob_cold_spill_path(db_path, path, sizeof(path), NULL) < 0)
		return -ENAMETOOLONG;
	snprintf(path, sizeof(path), "%s.breaker", db_path);
	if (!tripped)
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	char line[256];
	int n = snprintf(line, sizeof(line), "%d %.200s\n", code, why ? why : "");
	int e = write_all(fd, line, (size_t)(n < (int)sizeof(line) ? n : (int)sizeof(line) - 1), 0);
	if (e == 0 && fsync(fd) < 0)
		e = -errno;
	close(fd);
	return e;
}

int slob_cold_latch_read(const char *db_path, int *code, char *why, size_t len)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s.breaker", db_path);
	FILE *f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	char line[256] = "";
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	char *end;
	*code = (int)strtol(line, &end, 10);
	while (*end == ' ')
		end++;
	end[strcspn(end, "\n")] = 0;
	snprintf(why, len, "%s", end);
	return 1;
}

/* A failure that a retry can cure (disk, lock, memory), as opposed to a record
 * the schema refuses. */
static bool transient(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
	case SQLITE_TOOBIG:
		return false;
	default:
		return true;
	}
}

/* ---- sinks ------------------------------------------------------------- */

static void own_text(struct slob_cold *rec, uint16_t type, uint8_t level, int code,
		     const char *text)
{
	slob_cold_text_init(rec, type, level, wall_ns(), "store", code, text);
	rec->stage = 255; /* not a producer: no durable sequence */
}

/* An alert the writer raises itself: to the sink now, journaled when possible. */
static void raise_alert(slob_cold_writer_t *w, uint8_t level, int code, const char *text)
{
	struct slob_cold rec;
	own_text(&rec, SLOB_COLD_ALERT, level, code, text);
	if (w->sinks.alert)
		w->sinks.alert(w->sinks.ctx, &rec);
	if (w->sinks.log) {
		struct slob_cold lg = rec;
		lg.type = SLOB_COLD_LOG;
		w->sinks.log(w->sinks.ctx, &lg);
	}
	if (w->npending < (unsigned)w->p.pending_max)
		w->pending[w->npending++] = rec;
}

static void log_text(slob_cold_writer_t *w, uint8_t level, int code, const char *text)
{
	if (!w->sinks.log)
		return;
	struct slob_cold rec;
	own_text(&rec, SLOB_COLD_LOG, level, code, text);
	w->sinks.log(w->sinks.ctx, &rec);
}

/* Hands the freshly drained records [from, npending) to the sinks. */
static void to_sinks(slob_cold_writer_t *w, unsigned from)
{
	for (unsigned i = from; i < w->npending; i++) {
		const struct slob_cold *r = &w->pending[i];
		if (r->cls == SLOB_CLASS_TRADE)
			w->ntrade++;
		if (w->sinks.record)
			w->sinks.record(w->sinks.ctx, r);
		if (r->type == SLOB_COLD_LOG || r->type == SLOB_COLD_CONN ||
		    r->type == SLOB_COLD_UNKNOWN_BROKER) {
			if (w->sinks.log)
				w->sinks.log(w->sinks.ctx, r);
		} else if (r->type == SLOB_COLD_ALERT) {
			if (w->sinks.alert)
				w->sinks.alert(w->sinks.ctx, r);
		}
	}
}

/* ---- batching ---------------------------------------------------------- */

static int set_sync(slob_cold_writer_t *w, bool full)
{
	if (w->sync_full == (int)full)
		return SQLITE_OK;
	int rc = sqlite3_exec(w->db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
			      NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		w->sync_full = full;
	return rc;
}

/* Commits the whole pending array in one transaction. Returns 0 or -errno. */
static int commit_batch(slob_cold_writer_t *w)
{
	char msg[256];
	unsigned n = w->npending;
	bool trade = w->ntrade > 0;
	slob_store_time_fmt(wall_ns(), w->now_text, sizeof(w->now_text));
	int rc = set_sync(w, trade);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	unsigned rejected = 0;
	for (unsigned i = 0; rc == SQLITE_OK && i < n; i++) {
		int r = apply(w, &w->pending[i]);
		if (r == SQLITE_DONE || r == SQLITE_OK)
			continue;
		if (transient(r)) {
			rc = r;
			break;
		}
		rejected++;
		snprintf(msg, sizeof(msg), "store refused a %u record (producer %u seq %llu): %s",
			 w->pending[i].type, w->pending[i].stage,
			 (unsigned long long)w->pending[i].seq, sqlite3_errmsg(w->db));
		log_text(w, SLOB_LVL_ERROR, r, msg);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		int e = slob_store_errno_(rc);
		slob_store_seterr_(-e, "store %s: commit of %u records failed: %s",
				   slob_store_path(w->store), n, sqlite3_errstr(rc));
		if (!sqlite3_get_autocommit(w->db))
			sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
		w->sync_full = -1; /* unknown after a failure: set again next time */
		return e ? e : -EIO;
	}
	/* Committed: publish durable sequences (release; partner: acquire in
	 * slob_cold_durable_seq). Records are in producer order in the batch. */
	uint64_t last[SLOB_COLD_MAX_PRODUCERS] = {0};
	for (unsigned i = 0; i < n; i++)
		if (w->pending[i].stage < w->nrings)
			last[w->pending[i].stage] = w->pending[i].seq;
	for (unsigned p = 0; p < w->nrings; p++)
		if (last[p])
			__atomic_store_n(&w->durable[p], last[p], __ATOMIC_RELEASE);
	CNT_ADD(w, records, n - rejected);
	CNT_ADD(w, rejected, rejected);
	CNT_ADD(w, batches, 1);
	if (trade)
		CNT_ADD(w, full_syncs, 1);
	w->npending = 0;
	w->ntrade = 0;
	if (w->sinks.committed)
		w->sinks.committed(w->sinks.ctx, w->db);
	return 0;
}

static int attempt(slob_cold_writer_t *w, int64_t now)
{
	unsigned n = w->npending;
	int e = commit_batch(w);
	if (e == 0) {
		if (w->alerted) {
			/* release: partner acquire in slob_cold_store_healthy */
			__atomic_store_n(&w->healthy, 1, __ATOMIC_RELEASE);
			raise_alert(
			    w, SLOB_LVL_WARNING, SLOB_ALERT_STORE_WRITABLE,
			    "store writable again: held records committed, trading may resume");
		}
		w->failing = 0;
		w->alerted = 0;
		w->busy_since_ns = 0;
		w->retry_ms = w->p.retry_min_ms;
		return (int)n;
	}
	CNT_ADD(w, failures, 1);
	w->failing = 1;
	/* A lock held by an operator tool (VACUUM, archive) is waited out quietly
	 * for busy_grace_ms; anything else, or a longer wait, is an incident. */
	bool grace = false;
	if (e == -EBUSY) {
		if (w->busy_since_ns == 0)
			w->busy_since_ns = now;
		grace = now - w->busy_since_ns < (int64_t)w->p.busy_grace_ms * 1000000;
	} else {
		w->busy_since_ns = 0;
	}
	if (!grace && (!w->alerted || e != w->last_err)) {
		char msg[168];
		snprintf(msg, sizeof(msg),
			 "store write failing (%s): %u records held in memory, "
			 "retrying; no new positions",
			 e == -EBUSY ? "busy: locked by another process" : strerror(-e), w->npending);
		__atomic_store_n(&w->healthy, 0, __ATOMIC_RELEASE);
		w->alerted = 1;
		w->last_err = e;
		/* the record's code is the alert kind (its title), never the errno:
		 * the errno is in the text */
		raise_alert(w, SLOB_LVL_CRITICAL, SLOB_ALERT_STORE_ERROR, msg);
		w->retry_ms = w->p.retry_min_ms;
	} else {
		w->retry_ms =
		    w->retry_ms * 2 > w->p.retry_max_ms ? w->p.retry_max_ms : w->retry_ms * 2;
	}
	w->retry_at_ns = now + (int64_t)w->retry_ms * 1000000;
	return 0;
}

static unsigned drain(slob_cold_writer_t *w, unsigned limit)
{
	unsigned got = 0;
	/* start at a different ring each time: a flooding producer cannot
	 * starve the others of batch space */
	unsigned first = w->nrings ? w->next_ring++ % w->nrings : 0;
	for (unsigned j = 0; j < w->nrings && w->npending < limit; j++) {
		unsigned i = (first + j) % w->nrings;
		unsigned from = w->npending;
		unsigned k = slob_ring_pop_batch_spsc(w->rings[i], &w->pending[w->npending],
						      limit - w->npending);
		if (k == 0)
			continue;
		w->npending += k;
		got += k;
		to_sinks(w, from);
	}
	return got;
}

static bool rings_empty(slob_cold_writer_t *w)
{
	for (unsigned i = 0; i < w->nrings; i++)
		if (slob_ring_size(w->rings[i]))
			return false;
	return true;
}

static void poll_commands(slob_cold_writer_t *w, int64_t now)
{
	if (!w->sinks.command || w->p.cmd_poll_ms == 0 || now < w->next_cmd_ns || w->failing)
		return;
	w->next_cmd_ns = now + (int64_t)w->p.cmd_poll_ms * 1000000;
	struct slob_opcmd cmds[16];
	int n = 0;
	sqlite3_stmt *st = w->st[ST_CMD_SELECT];
	sqlite3_bind_int64(st, 1, w->last_cmd_id);
	while (n < 16 && sqlite3_step(st) == SQLITE_ROW) {
		struct slob_opcmd *c = &cmds[n++];
		memset(c, 0, sizeof(*c));
		c->id = sqlite3_column_int64(st, 0);
#define COL(i, f)                                                                                  \
	snprintf(c->f, sizeof(c->f), "%s",                                                         \
		 sqlite3_column_text(st, i) ? (const char *)sqlite3_column_text(st, i) : "")
		COL(1, ts);
		COL(2, command);
		COL(3, arg);
		COL(4, who);
		COL(5, reason);
#undef COL
	}
	sqlite3_reset(st);
	for (int i = 0; i < n; i++) {
		char result[160] = "";
		/* even if marking it below fails, this run never applies it again */
		w->last_cmd_id = cmds[i].id;
		int r = w->sinks.command(w->sinks.ctx, &cmds[i], result, sizeof(result));
		char out[200];
		snprintf(out, sizeof(out), "%s%s", r < 0 ? "failed: " : "",
			 result[0] ? result : "ok");
		st = w->st[ST_CMD_DONE];
		sqlite3_bind_int64(st, 1, cmds[i].id);
		bind_time(st, 2, wall_ns());
		sqlite3_bind_text(st, 3, out, -1, SQLITE_TRANSIENT);
		if (set_sync(w, true) != SQLITE_OK || run(st) != SQLITE_DONE) {
			char msg[200];
			snprintf(msg, sizeof(msg),
				 "operator command %lld applied but not marked: %s",
				 (long long)cmds[i].id, sqlite3_errmsg(w->db));
			log_text(w, SLOB_LVL_ERROR, 0, msg);
		}
		CNT_ADD(w, commands, 1);
	}
}

static void stage_stats(slob_cold_writer_t *w, unsigned got, int committed)
{
	struct slob_stage_stats *s = w->stage.stats;
	if (s) {
		__atomic_store_n(&s->in, s->in + got, __ATOMIC_RELAXED);
		__atomic_store_n(&s->out, s->out + (uint64_t)committed, __ATOMIC_RELAXED);
		__atomic_store_n(&s->polls, s->polls + 1, __ATOMIC_RELAXED);
		if (!got && !committed)
			__atomic_store_n(&s->idle_polls, s->idle_polls + 1, __ATOMIC_RELAXED);
		if (w->failing)
			__atomic_store_n(&s->errors, w->cnt.failures, __ATOMIC_RELAXED);
	}
	if (w->npending > w->cnt.pending_peak)
		__atomic_store_n(&w->cnt.pending_peak, w->npending, __ATOMIC_RELAXED);
}

/* ---- spill ------------------------------------------------------------- */

struct spill_head {
	char magic[8]; /* SLOB_SPILL_MAGIC */
	uint32_t version, rec_size;
	uint8_t zero[48];
};
struct spill_chunk {
	uint32_t magic; /* SPILL_CHUNK */
	uint32_t count;
	uint64_t sum; /* xxh3 of the count records */
};
#define SPILL_CHUNK 0x4b434c53u /* "SLCK" */

int slob_cold_spill_path(const char *db_path, char *out, size_t len, const char *suffix)
{
	int n = snprintf(out, len, "%s.spill%s", db_path, suffix ? suffix : "");
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

static int write_all(int fd, const void *buf, size_t len, int64_t off)
{
	const char *b = buf;
	while (len) {
		ssize_t k = pwrite(fd, b, len, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		b += k;
		len -= (size_t)k;
		off += k;
	}
	return 0;
}

static void fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Opens the spill file: the space slobd reserved at start (<db>.spill-reserve,
 * so a full disk can still take it), else a new file. */
static int spill_open(slob_cold_writer_t *w)
{
	char tmp[PATH_MAX + 32], res[PATH_MAX + 32];
	const char *db = slob_store_path(w->store);
	if (slob_cold_spill_path(db, tmp, sizeof(tmp), ".tmp") < 0 ||
	    slob_cold_spill_path(db, res, sizeof(res), "-reserve") < 0)
		return -ENAMETOOLONG;
	if (rename(res, tmp) < 0 && errno != ENOENT)
		unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	struct spill_head h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, SLOB_SPILL_MAGIC, 8);
	h.version = 1;
	h.rec_size = sizeof(struct slob_cold);
	int e = write_all(fd, &h, sizeof(h), 0);
	if (e < 0) {
		close(fd);
		unlink(tmp);
		return e;
	}
	w->spill_fd = fd;
	w->spill_off = sizeof(h);
	return 0;
}

/*
 * Moves every pending record into the spill file (one checksummed chunk,
 * fdatasync'd; the file gets its final name after the first chunk, so the
 * next start finds it even if this process dies now). Returns 0 or -errno
 * (then the records stay pending and are counted as lost at the end).
 */
static int spill_pending(slob_cold_writer_t *w)
{
	if (w->npending == 0)
		return 0;
	int e = 0;
	if (w->spill_fd < 0 && (e = spill_open(w)) < 0)
		return e;
	struct spill_chunk c = {SPILL_CHUNK, w->npending,
				XXH3_64bits(w->pending, (size_t)w->npending * sizeof(*w->pending))};
	if ((e = write_all(w->spill_fd, &c, sizeof(c), w->spill_off + 0)) < 0 ||
	    (e = write_all(w->spill_fd, w->pending, (size_t)w->npending * sizeof(*w->pending),
			   w->spill_off + (int64_t)sizeof(c))) < 0 ||
	    (fdatasync(w->spill_fd) < 0 && (e = -errno) < 0))
		return e;
	/* the end marker: a zero chunk header after the data (a reserve's zeros
	 * or a fresh file's end both read as "no more chunks") */
	w->spill_off += (int64_t)sizeof(c) + (int64_t)w->npending * (int64_t)sizeof(*w->pending);
	if (!w->spill_named) {
		char tmp[PATH_MAX + 32], fin[PATH_MAX + 32];
		const char *db = slob_store_path(w->store);
		slob_cold_spill_path(db, tmp, sizeof(tmp), ".tmp");
		slob_cold_spill_path(db, fin, sizeof(fin), NULL);
		if (rename(tmp, fin) < 0)
			return -errno;
		fsync_dir_of(fin);
		w->spill_named = 1;
	}
	w->spilled += w->npending;
	w->npending = 0;
	w->ntrade = 0;
	return 0;
}

/* The stop's last step while the store cannot write: spill everything held
 * and everything still in the rings, so the stage can finish. */
static void spill_all(slob_cold_writer_t *w)
{
	uint64_t before = w->spilled;
	int e = 0;
	do {
		if ((e = spill_pending(w)) < 0)
			break;
		drain(w, (unsigned)w->p.pending_max);
	} while (w->npending);
	if (e < 0) {
		/* the spill file failed too: nothing more can be kept */
		w->spill_lost += w->npending;
		for (unsigned i = 0; i < w->nrings; i++)
			while (slob_ring_size(w->rings[i]))
				w->spill_lost += slob_ring_pop_batch_spsc(w->rings[i], w->pending,
									  (unsigned)w->p.pending_max);
		w->npending = 0;
	}
	if (w->spilled != before || e < 0) {
		char msg[160]; /* fits a cold text record */
		if (e < 0)
			snprintf(msg, sizeof(msg),
				 "stop with store unwritable: spill file failed (%.40s): %llu records "
				 "LOST, %llu spilled",
				 strerror(-e), (unsigned long long)w->spill_lost,
				 (unsigned long long)w->spilled);
		else
			snprintf(msg, sizeof(msg),
				 "stop with store unwritable (%.30s): %llu held records spilled to "
				 "<store>.spill, committed at the next start before anything else",
				 strerror(-w->last_err), (unsigned long long)w->spilled);
		if (w->spill_alerted && e == 0) {
			/* records the producers flushed after the first spill */
			log_text(w, SLOB_LVL_WARNING, 0, msg);
			return;
		}
		w->spill_alerted = 1;
		log_text(w, SLOB_LVL_CRITICAL, 0, msg);
		struct slob_cold rec;
		own_text(&rec, SLOB_COLD_ALERT, SLOB_LVL_CRITICAL, SLOB_ALERT_STORE_ERROR, msg);
		if (w->sinks.alert)
			w->sinks.alert(w->sinks.ctx, &rec);
	}
}

static int poll_impl(slob_cold_writer_t *w, bool force)
{
	int64_t now = slob_mono_ns();
	int committed = 0;
	unsigned got;
	if (w->sinks.tick)
		w->sinks.tick(w->sinks.ctx, now);
	if (w->failing) {
		got = drain(w, (unsigned)w->p.pending_max);
		if (now >= w->retry_at_ns)
			committed = attempt(w, now);
		int64_t stop = __atomic_load_n(&w->stop_ns, __ATOMIC_ACQUIRE);
		if (w->failing && stop && now - stop >= (int64_t)w->p.spill_after_ms * 1000000)
			spill_all(w);
		stage_stats(w, got, committed);
		return (int)got + committed;
	}
	unsigned before = w->npending;
	got = drain(w, (unsigned)w->p.batch_max);
	if (before == 0 && got)
		w->first_ns = now;
	bool fin = __atomic_load_n(&w->finished, __ATOMIC_ACQUIRE);
	if (w->npending && (w->npending >= (unsigned)w->p.batch_max ||
			    now - w->first_ns >= (int64_t)w->p.batch_ms * 1000000 || force ||
			    (fin && rings_empty(w))))
		committed = attempt(w, now);
	if (!w->failing && w->npending == 0)
		poll_commands(w, now);
	stage_stats(w, got, committed);
	return (int)got + committed;
}

int slob_cold_writer_poll(slob_cold_writer_t *w)
{
	return poll_impl(w, false);
}

int slob_cold_writer_flush(slob_cold_writer_t *w, int timeout_ms)
{
	int64_t end = slob_mono_ns() + (int64_t)timeout_ms * 1000000;
	for (;;) {
		poll_impl(w, true);
		if (!w->failing && w->npending == 0 && rings_empty(w))
			return 0;
		if (slob_mono_ns() >= end)
			return w->last_err ? w->last_err : -EIO;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
}

static int stage_poll(slob_stage_t *st)
{
	return slob_cold_writer_poll(st->ctx);
}

static bool stage_done(slob_stage_t *st)
{
	slob_cold_writer_t *w = st->ctx;
	return __atomic_load_n(&w->finished, __ATOMIC_ACQUIRE) && w->npending == 0 &&
	       rings_empty(w);
}

slob_stage_t *slob_cold_stage(slob_cold_writer_t *w)
{
	return &w->stage;
}

void slob_cold_writer_stop_requested(slob_cold_writer_t *w)
{
	if (!w)
		return;
	int64_t zero = 0, now = slob_mono_ns();
	/* release: partner acquire in poll_impl */
	__atomic_compare_exchange_n(&w->stop_ns, &zero, now ? now : 1, false, __ATOMIC_RELEASE,
				    __ATOMIC_RELAXED);
}

void slob_cold_writer_spill_stats(const slob_cold_writer_t *w, uint64_t *spilled, uint64_t *lost)
{
	*spilled = w->spilled;
	*lost = w->spill_lost;
}

void slob_cold_writer_producers_finished(slob_cold_writer_t *w)
{
	/* release: partner acquire in poll_impl / stage_done */
	__atomic_store_n(&w->finished, 1, __ATOMIC_RELEASE);
}

uint64_t slob_cold_durable_seq(const slob_cold_writer_t *w, unsigned producer)
{
	if (producer >= w->nrings)
		return 0;
	/* acquire: partner release in commit_batch */
	return __atomic_load_n(&w->durable[producer], __ATOMIC_ACQUIRE);
}

const uint64_t *slob_cold_durable_seq_ptr(const slob_cold_writer_t *w, unsigned producer)
{
	return producer < w->nrings ? &w->durable[producer] : NULL;
}

bool slob_cold_store_healthy(const slob_cold_writer_t *w)
{
	/* acquire: partner release in attempt */
	return __atomic_load_n(&w->healthy, __ATOMIC_ACQUIRE) != 0;
}

const int *slob_cold_store_healthy_ptr(const slob_cold_writer_t *w)
{
	return &w->healthy;
}

void slob_cold_writer_counters(const slob_cold_writer_t *w, struct slob_cold_counters *out)
{
	out->records = __atomic_load_n(&w->cnt.records, __ATOMIC_RELAXED);
	out->batches = __atomic_load_n(&w->cnt.batches, __ATOMIC_RELAXED);
	out->full_syncs = __atomic_load_n(&w->cnt.full_syncs, __ATOMIC_RELAXED);
	out->failures = __atomic_load_n(&w->cnt.failures, __ATOMIC_RELAXED);
	out->rejected = __atomic_load_n(&w->cnt.rejected, __ATOMIC_RELAXED);
	out->pending_peak = __atomic_load_n(&w->cnt.pending_peak, __ATOMIC_RELAXED);
	out->commands = __atomic_load_n(&w->cnt.commands, __ATOMIC_RELAXED);
}

unsigned slob_cold_writer_pending(const slob_cold_writer_t *w)
{
	return w->npending;
}

int slob_cold_apply(slob_cold_writer_t *w, const struct slob_cold *rec)
{
	slob_store_time_fmt(wall_ns(), w->now_text, sizeof(w->now_text));
	int rc = apply(w, rec);
	if (rc == SQLITE_DONE || rc == SQLITE_OK)
		return 0;
	return slob_store_seterr_(-slob_store_errno_(rc), "store: record type %u: %s", rec->type,
				  sqlite3_errmsg(w->db));
}

/* ---- life cycle -------------------------------------------------------- */

int slob_cold_writer_create(slob_store_t *store, slob_ring_t *const *rings, unsigned nrings,
			    const struct slob_cold_params *params,
			    const struct slob_cold_sinks *sinks,
			    const struct slob_instrument *instrument, slob_cold_writer_t **out)
{
	char err[200];
	*out = NULL;
	if (nrings > SLOB_COLD_MAX_PRODUCERS)
		return slob_store_seterr_(EINVAL, "cold writer: %u rings, at most %d", nrings,
					  SLOB_COLD_MAX_PRODUCERS);
	struct slob_cold_params def;
	if (!params) {
		slob_cold_params_default(&def);
		params = &def;
	}
	if (slob_cold_params_validate(params, err, sizeof(err)) < 0)
		return slob_store_seterr_(EINVAL, "%s", err);
	slob_cold_writer_t *w = calloc(1, sizeof(*w));
	if (!w)
		return slob_store_seterr_(ENOMEM, "cold writer: out of memory");
	w->store = store;
	w->db = slob_store_db(store);
	w->nrings = nrings;
	for (unsigned i = 0; i < nrings; i++)
		w->rings[i] = rings[i];
	w->p = *params;
	if (sinks)
		w->sinks = *sinks;
	if (instrument)
		w->ins = *instrument;
	else
		slob_instrument_nq(&w->ins);
	w->pending = calloc((size_t)w->p.pending_max, sizeof(*w->pending));
	if (!w->pending) {
		free(w);
		return slob_store_seterr_(ENOMEM, "cold writer: out of memory (%d records)",
					  params->pending_max);
	}
	for (int i = 0; i < ST_COUNT; i++) {
		int rc = sqlite3_prepare_v3(w->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					    &w->st[i], NULL);
		if (rc != SQLITE_OK) {
			int e = slob_store_seterr_(-slob_store_errno_(rc),
						   "cold writer: preparing statement %d: %s", i,
						   sqlite3_errmsg(w->db));
			slob_cold_writer_free(w);
			return e;
		}
	}
	w->sync_full = -1;
	w->spill_fd = -1;
	w->healthy = 1;
	w->retry_ms = w->p.retry_min_ms;
	w->stage.name = "cold";
	w->stage.poll = stage_poll;
	w->stage.done = stage_done;
	w->stage.ctx = w;
	w->stage.stats = &w->stage.own_stats;
	*out = w;
	return 0;
}

void slob_cold_writer_free(slob_cold_writer_t *w)
{
	if (!w)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(w->st[i]);
	if (w->spill_fd >= 0) {
		/* cut a reserve's unused tail; the zero chunk header after the
		 * data ends the file for the reader either way */
		struct spill_chunk end = {0, 0, 0};
		if (write_all(w->spill_fd, &end, sizeof(end), w->spill_off) == 0 &&
		    ftruncate(w->spill_fd, (off_t)(w->spill_off + (int64_t)sizeof(end))) == 0)
			fdatasync(w->spill_fd);
		close(w->spill_fd);
	}
	free(w->pending);
	free(w);
}

int64_t slob_cold_run_begin(slob_store_t *s, const char *mode, const char *version,
			    const char *config_path, const char *config_digest)
{
	sqlite3 *db = slob_store_db(s);
	sqlite3_stmt *st;
	int rc =
	    sqlite3_prepare_v2(db,
			       "INSERT INTO runs (mode, pid, version, config_path, config_digest)"
			       " VALUES (?1, ?2, ?3, ?4, ?5)",
			       -1, &st, NULL);
	if (rc != SQLITE_OK)
		return slob_store_seterr_(-slob_store_errno_(rc), "runs: %s", sqlite3_errmsg(db));
	bind_opt_text(st, 1, mode);
	sqlite3_bind_int64(st, 2, (int64_t)getpid());
	bind_opt_text(st, 3, version);
	bind_opt_text(st, 4, config_path);
	bind_opt_text(st, 5, config_digest);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return slob_store_seterr_(-slob_store_errno_(rc), "runs insert: %s",
					  sqlite3_errmsg(db));
	return sqlite3_last_insert_rowid(db);
}

int slob_cold_run_end(slob_store_t *s, int64_t run_id, const char *decision_digest,
		      const char *exit_status)
{
	sqlite3 *db = slob_store_db(s);
	sqlite3_stmt *st;
	int rc =
	    sqlite3_prepare_v2(db,
			       "UPDATE runs SET stopped_at=strftime('%Y-%m-%d %H:%M:%f','now'),"
			       " decision_digest=?2, exit_status=?3 WHERE id=?1",
			       -1, &st, NULL);
	if (rc != SQLITE_OK)
		return slob_store_seterr_(-slob_store_errno_(rc), "runs: %s", sqlite3_errmsg(db));
	sqlite3_bind_int64(st, 1, run_id);
	bind_opt_text(st, 2, decision_digest);
	bind_opt_text(st, 3, exit_status);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return slob_store_seterr_(-slob_store_errno_(rc), "runs update: %s",
					  sqlite3_errmsg(db));
	return sqlite3_changes(db) == 1
		   ? 0
		   : slob_store_seterr_(ENOENT, "runs: no run %lld", (long long)run_id);
}

/* ---- spill replay (start-up) -------------------------------------------- */

int slob_cold_spill_replay(slob_store_t *store, const struct slob_instrument *ins, char *msg,
			   size_t len)
{
	char path[PATH_MAX + 16];
	const char *db = slob_store_path(store);
	msg[0] = '\0';
	if (slob_cold_spill_path(db, path, sizeof(path), NULL) < 0)
		return slob_store_seterr_(ENAMETOOLONG, "spill: path too long");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return slob_store_seterr_(errno, "spill file %s: %s", path, strerror(errno));
	}
	struct spill_head h;
	if (read(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, SLOB_SPILL_MAGIC, 8) != 0 || h.version != 1 ||
	    h.rec_size != sizeof(struct slob_cold)) {
		close(fd);
		return slob_store_seterr_(EBADMSG,
					  "spill file %s is not a spill of this build (bad header): "
					  "move it aside to start",
					  path);
	}
	slob_cold_writer_t *w = NULL;
	struct slob_cold_params prm;
	slob_cold_params_default(&prm);
	prm.pending_max = prm.batch_max;
	int e = slob_cold_writer_create(store, NULL, 0, &prm, NULL, ins, &w);
	if (e < 0) {
		close(fd);
		return e;
	}
	sqlite3 *sdb = slob_store_db(store);
	e = sqlite3_exec(sdb, "PRAGMA synchronous=FULL", NULL, NULL, NULL) == SQLITE_OK &&
		    sqlite3_exec(sdb, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK
		? 0
		: slob_store_seterr_(-slob_store_errno_(sqlite3_errcode(sdb)),
				     "spill replay into %s: %s", db, sqlite3_errmsg(sdb));
	uint64_t n = 0, refused = 0, torn = 0;
	int64_t off = sizeof(h);
	struct slob_cold *buf = w ? w->pending : NULL;
	while (e == 0) {
		struct spill_chunk c;
		ssize_t k = pread(fd, &c, sizeof(c), off);
		if (k != (ssize_t)sizeof(c) || c.magic != SPILL_CHUNK)
			break; /* end (zero header, or end of file) */
		off += (int64_t)sizeof(c);
		uint64_t sum;
		XXH3_state_t *xs = XXH3_createState();
		if (!xs) {
			e = slob_store_seterr_(ENOMEM, "spill replay: out of memory");
			break;
		}
		XXH3_64bits_reset(xs);
		uint32_t left = c.count;
		int64_t start = off;
		bool ok = true;
		/* checksum first, then apply: a torn chunk (crash mid-write) is skipped */
		while (left && ok) {
			uint32_t take = left < (uint32_t)prm.pending_max ? left : (uint32_t)prm.pending_max;
			size_t bytes = (size_t)take * sizeof(*buf);
			ok = pread(fd, buf, bytes, off) == (ssize_t)bytes;
			if (ok)
				XXH3_64bits_update(xs, buf, bytes);
			off += (int64_t)bytes;
			left -= take;
		}
		sum = XXH3_64bits_digest(xs);
		XXH3_freeState(xs);
		if (!ok || sum != c.sum) {
			torn += c.count;
			break;
		}
		off = start;
		left = c.count;
		while (left && e == 0) {
			uint32_t take = left < (uint32_t)prm.pending_max ? left : (uint32_t)prm.pending_max;
			size_t bytes = (size_t)take * sizeof(*buf);
			if (pread(fd, buf, bytes, off) != (ssize_t)bytes) {
				e = slob_store_seterr_(EIO, "spill file %s: short read", path);
				break;
			}
			slob_store_time_fmt(wall_ns(), w->now_text, sizeof(w->now_text));
			for (uint32_t i = 0; i < take && e == 0; i++) {
				int rc = apply(w, &buf[i]);
				if (rc == SQLITE_DONE || rc == SQLITE_OK)
					n++;
				else if (transient(rc))
					e = slob_store_seterr_(-slob_store_errno_(rc),
							       "spill replay into %s: %s", db,
							       sqlite3_errmsg(sdb));
				else
					refused++;
			}
			off += (int64_t)bytes;
			left -= take;
		}
	}
	if (e == 0 && sqlite3_exec(sdb, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		e = slob_store_seterr_(-slob_store_errno_(sqlite3_errcode(sdb)),
				       "spill replay into %s: commit: %s", db, sqlite3_errmsg(sdb));
	if (e < 0 && !sqlite3_get_autocommit(sdb))
		sqlite3_exec(sdb, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_exec(sdb, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	slob_cold_writer_free(w);
	close(fd);
	if (e < 0)
		return e; /* the spill file stays for the next attempt */
	/* committed: only now may the file go (kept aside if it was torn) */
	if (torn) {
		char aside[PATH_MAX + 48];
		snprintf(aside, sizeof(aside), "%s.torn", path);
		rename(path, aside);
	} else {
		unlink(path);
	}
	fsync_dir_of(path);
	snprintf(msg, len,
		 "spill file %.200s from the last stop replayed: %llu records committed, %llu "
		 "refused by the schema%s%llu torn at its end%s",
		 path, (unsigned long long)n, (unsigned long long)refused, torn ? ", " : " (",
		 (unsigned long long)torn, torn ? " (kept as .torn)" : ")");
	return (int)(n > 0x7fffffff ? 0x7fffffff : n);
}
