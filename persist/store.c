/* SPDX-License-Identifier: MIT */
/*
 * store.c: schema, migrations and connection settings of the SQLite store
 * (see store.h for the design notes). The migrations below are the only place
 * the schema is defined; docs/STORE.md describes every column.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "engine/config.h"
#include "persist/fsutil.h"
#include "persist/store.h"

struct slob_store {
	sqlite3 *db;
	unsigned flags;
	char path[PATH_MAX];
};

static _Thread_local char store_err[512];

const char *slob_store_strerror(void)
{
	return store_err;
}

int slob_store_seterr_(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(store_err, sizeof(store_err), fmt, ap);
	va_end(ap);
	return -err;
}

int slob_store_errno_(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_IOERR:
		return -EIO;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return -EINVAL;
	default:
		return -EPROTO;
	}
}

/* ---- schema ------------------------------------------------------------ */

#define NOW "(strftime('%Y-%m-%d %H:%M:%f','now'))"

/* Migration N brings user_version N-1 to N. Never edit a released entry:
 * add a new one (and a test row in tests/persist/test_store.c). */
static const char *const migrations[SLOB_STORE_VERSION] = {
    /* 1: the operator-facing tables the incident guide queries. */
    "CREATE TABLE active_setups ("
    " id TEXT PRIMARY KEY,"		     /* 16 hex of the engine id, or manual_<epoch> */
    " state TEXT NOT NULL DEFAULT 'ACTIVE'," /* WATCHING_*, WAITING_ENTRY, SETUP_COMPLETE,
						INVALIDATED, ACTIVE (manual) */
    " entry_price REAL, sl_price REAL, tp_price REAL,"
    " created_at TEXT NOT NULL DEFAULT " NOW ","
    " last_updated TEXT NOT NULL DEFAULT " NOW ","
    " symbol TEXT NOT NULL DEFAULT 'NQ',"
    " direction TEXT CHECK (direction IS NULL OR direction IN ('LONG','SHORT')),"
    " qty INTEGER," /* manual rows: contracts held */
    " lse_high REAL, lse_low REAL,"
    " liq1_time TEXT, liq1_price REAL,"
    " consol_confirmed_time TEXT, consol_high REAL, consol_low REAL, consol_range REAL,"
    " nowick_time TEXT, nowick_high REAL, nowick_low REAL,"
    " liq2_time TEXT, liq2_price REAL, spike_price REAL,"
    " entry_time TEXT, risk_reward_ratio REAL,"
    " invalidation_reason TEXT, invalidation_time TEXT,"
    " candles_processed INTEGER NOT NULL DEFAULT 0, window_len INTEGER,"
    " setup_key INTEGER,"		      /* engine id as signed 64-bit */
    " source TEXT NOT NULL DEFAULT 'manual'," /* 'engine' for rows the engine wrote */
    " placed INTEGER NOT NULL DEFAULT 0,"     /* 1 once an order was sent for it */
    " closed_at TEXT,"			      /* set when its trade closed */
    " raw_data TEXT);"
    "CREATE INDEX idx_active_setups_state ON active_setups(state);"
    "CREATE INDEX idx_active_setups_created ON active_setups(created_at);"
    "CREATE TABLE trade_history ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " setup_id TEXT NOT NULL, symbol TEXT NOT NULL DEFAULT 'NQ',"
    " direction TEXT CHECK (direction IS NULL OR direction IN ('LONG','SHORT')),"
    " qty INTEGER,"
    " entry_time TEXT NOT NULL, exit_time TEXT,"
    " entry_price REAL, exit_price REAL, sl_price REAL, tp_price REAL,"
    " outcome TEXT CHECK (outcome IS NULL OR outcome IN ('WIN','LOSS','BREAKEVEN')),"
    " pnl REAL," /* dollars */
    " pnl_cents INTEGER,"
    " exit_reason TEXT," /* TP, SL, MANUAL */
    " created_at TEXT NOT NULL DEFAULT " NOW ","
    " UNIQUE (setup_id, entry_time, exit_time));"
    "CREATE INDEX idx_trade_history_entry_time ON trade_history(entry_time);"
    /* lookups by setup_id use the UNIQUE index above (setup_id first) */
    "CREATE TABLE candles ("
    " timestamp TEXT PRIMARY KEY," /* minute start, UTC */
    " open REAL, high REAL, low REAL, close REAL,"
    " volume INTEGER, ticks INTEGER, flags INTEGER NOT NULL DEFAULT 0,"
    " is_complete INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE runs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " started_at TEXT NOT NULL DEFAULT " NOW ", stopped_at TEXT,"
    " mode TEXT, pid INTEGER, version TEXT, config_path TEXT, config_digest TEXT,"
    " decision_digest TEXT, exit_status TEXT, notes TEXT);",

    /* 2: what the engine needs to recover orders, positions and risk. */
    "CREATE TABLE orders ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " order_ref TEXT NOT NULL UNIQUE," /* SLOB_<16 hex>_ENTRY|_TP|_SL */
    " order_id INTEGER, parent_id INTEGER,"
    " setup_id TEXT,"
    " role TEXT CHECK (role IS NULL OR role IN ('ENTRY','TP','SL')),"
    " action TEXT CHECK (action IS NULL OR action IN ('BUY','SELL')),"
    " status TEXT NOT NULL DEFAULT 'PENDING'," /* PENDING SUBMITTED FILLED PARTIAL CANCELLED
						  REJECTED RECONCILED UNKNOWN */
    " qty INTEGER, filled_qty INTEGER NOT NULL DEFAULT 0, price REAL,"
    " reject_code INTEGER, reject_text TEXT,"
    " created_at TEXT NOT NULL DEFAULT " NOW ","
    " updated_at TEXT NOT NULL DEFAULT " NOW ");"
    "CREATE INDEX idx_orders_setup ON orders(setup_id);"
    "CREATE INDEX idx_orders_status ON orders(status);"
    "CREATE TABLE fills ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " exec_id TEXT NOT NULL UNIQUE,"
    " order_ref TEXT, order_id INTEGER, setup_id TEXT,"
    " role TEXT, side TEXT CHECK (side IS NULL OR side IN ('BOT','SLD')),"
    " qty INTEGER NOT NULL, price REAL NOT NULL,"
    " time TEXT NOT NULL);"
    "CREATE INDEX idx_fills_order_ref ON fills(order_ref);"
    "CREATE INDEX idx_fills_time ON fills(time);"
    "CREATE TABLE positions ("
    " setup_id TEXT PRIMARY KEY," /* 'NQ' row: aggregate instrument position */
    " symbol TEXT NOT NULL DEFAULT 'NQ',"
    " qty INTEGER NOT NULL," /* signed contracts */
    " avg_price REAL, sl_price REAL, tp_price REAL,"
    " opened_at TEXT NOT NULL DEFAULT " NOW ","
    " updated_at TEXT NOT NULL DEFAULT " NOW ");"
    "CREATE TABLE risk_state ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " equity REAL, peak_equity REAL, daily_pnl REAL, realised_pnl REAL, unrealised_pnl REAL,"
    " equity_cents INTEGER, peak_cents INTEGER, daily_pnl_cents INTEGER,"
    " realised_cents INTEGER, unrealised_cents INTEGER,"
    " open_positions INTEGER NOT NULL DEFAULT 0, trading_day INTEGER,"
    " breaker_tripped INTEGER NOT NULL DEFAULT 0, breaker_reason TEXT,"
    " breaker_code INTEGER, breaker_since TEXT,"
    " updated_at TEXT NOT NULL DEFAULT " NOW ");"
    "CREATE TABLE breaker_events ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " ts TEXT NOT NULL DEFAULT " NOW ","
    " action TEXT NOT NULL CHECK (action IN ('tripped','reset')),"
    " reason_code INTEGER, value INTEGER, who TEXT, why TEXT);"
    "CREATE INDEX idx_breaker_events_ts ON breaker_events(ts);",

    /* 3: journals for operators, the dashboard and parameter sweeps. */
    "CREATE TABLE alerts_sent ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " ts TEXT NOT NULL DEFAULT " NOW ","
    " level TEXT NOT NULL, kind INTEGER, component TEXT, text TEXT,"
    " channel TEXT, status TEXT NOT NULL DEFAULT 'queued', sent_at TEXT);"
    "CREATE INDEX idx_alerts_sent_ts ON alerts_sent(ts);"
    "CREATE TABLE decisions ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " ts TEXT NOT NULL, setup_id TEXT, accepted INTEGER NOT NULL,"
    " qty INTEGER, reason_code INTEGER, direction TEXT,"
    " entry_price REAL, sl_price REAL, tp_price REAL);"
    "CREATE INDEX idx_decisions_ts ON decisions(ts);"
    "CREATE INDEX idx_decisions_setup ON decisions(setup_id);"
    "CREATE TABLE events (" /* connection / unknown-broker journal */
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " ts TEXT NOT NULL, kind TEXT NOT NULL, level TEXT, code INTEGER,"
    " component TEXT, text TEXT);"
    "CREATE INDEX idx_events_ts ON events(ts);"
    "CREATE TABLE operator_commands ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " ts TEXT NOT NULL DEFAULT " NOW ","
    " command TEXT NOT NULL, arg TEXT, who TEXT, reason TEXT,"
    " applied_at TEXT, result TEXT);"
    "CREATE INDEX idx_operator_commands_pending ON operator_commands(applied_at);"
    "CREATE TABLE sweep_results ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " sweep_id TEXT NOT NULL, created_at TEXT NOT NULL DEFAULT " NOW ","
    " params TEXT NOT NULL," /* JSON object of the varied keys */
    " trades INTEGER, wins INTEGER, losses INTEGER, pnl REAL, max_drawdown REAL,"
    " profit_factor REAL, sharpe REAL, decision_digest TEXT);"
    "CREATE INDEX idx_sweep_results_sweep ON sweep_results(sweep_id);",

    /* 4: the same rows, cheaper CHECKs. SQLite evaluates `x IN ('a','b','c')`
     * (three or more constants) by building an ephemeral index on every
     * row written: 60% of a trade_history insert. Equality chains check the
     * same thing without it. SQLite cannot alter a CHECK in place, so the
     * two tables are rebuilt, ids and AUTOINCREMENT counters kept (archived
     * ids must never be handed out again). */
    "CREATE TABLE trade_history_v4 ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " setup_id TEXT NOT NULL, symbol TEXT NOT NULL DEFAULT 'NQ',"
    " direction TEXT CHECK (direction IS NULL OR direction = 'LONG' OR direction = 'SHORT'),"
    " qty INTEGER,"
    " entry_time TEXT NOT NULL, exit_time TEXT,"
    " entry_price REAL, exit_price REAL, sl_price REAL, tp_price REAL,"
    " outcome TEXT CHECK (outcome IS NULL OR outcome = 'WIN' OR outcome = 'LOSS'"
    "  OR outcome = 'BREAKEVEN'),"
    " pnl REAL,"
    " pnl_cents INTEGER,"
    " exit_reason TEXT,"
    " created_at TEXT NOT NULL DEFAULT " NOW ","
    " UNIQUE (setup_id, entry_time, exit_time));"
    "INSERT INTO trade_history_v4 SELECT * FROM trade_history;"
    "DELETE FROM sqlite_sequence WHERE name = 'trade_history_v4';"
    "INSERT INTO sqlite_sequence (name, seq)"
    " SELECT 'trade_history_v4', seq FROM sqlite_sequence WHERE name = 'trade_history';"
    "DROP TABLE trade_history;"
    "ALTER TABLE trade_history_v4 RENAME TO trade_history;"
    "CREATE INDEX idx_trade_history_entry_time ON trade_history(entry_time);"
    "CREATE TABLE orders_v4 ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " order_ref TEXT NOT NULL UNIQUE,"
    " order_id INTEGER, parent_id INTEGER,"
    " setup_id TEXT,"
    " role TEXT CHECK (role IS NULL OR role = 'ENTRY' OR role = 'TP' OR role = 'SL'),"
    " action TEXT CHECK (action IS NULL OR action = 'BUY' OR action = 'SELL'),"
    " status TEXT NOT NULL DEFAULT 'PENDING',"
    " qty INTEGER, filled_qty INTEGER NOT NULL DEFAULT 0, price REAL,"
    " reject_code INTEGER, reject_text TEXT,"
    " created_at TEXT NOT NULL DEFAULT " NOW ","
    " updated_at TEXT NOT NULL DEFAULT " NOW ");"
    "INSERT INTO orders_v4 SELECT * FROM orders;"
    "DELETE FROM sqlite_sequence WHERE name = 'orders_v4';"
    "INSERT INTO sqlite_sequence (name, seq)"
    " SELECT 'orders_v4', seq FROM sqlite_sequence WHERE name = 'orders';"
    "DROP TABLE orders;"
    "ALTER TABLE orders_v4 RENAME TO orders;"
    "CREATE INDEX idx_orders_setup ON orders(setup_id);"
    "CREATE INDEX idx_orders_status ON orders(status);",

    /* 5: candles keyed by their timestamp alone. A rowid table with a TEXT
     * PRIMARY KEY is two B-trees (rows, and an index on timestamp), so
     * every bar the cold writer stores was inserted twice; WITHOUT ROWID
     * keeps one tree ordered by timestamp (persist_bench: candle rows
     * ~1.3x faster). Same columns, names and ordering; a NULL timestamp
     * (never written by slob) fails the copy and the store stays at 4. */
    "CREATE TABLE candles_v5 ("
    " timestamp TEXT PRIMARY KEY,"
    " open REAL, high REAL, low REAL, close REAL,"
    " volume INTEGER, ticks INTEGER, flags INTEGER NOT NULL DEFAULT 0,"
    " is_complete INTEGER NOT NULL DEFAULT 1) WITHOUT ROWID;"
    "INSERT INTO candles_v5 (timestamp, open, high, low, close, volume, ticks, flags,"
    " is_complete) SELECT timestamp, open, high, low, close, volume, ticks, flags,"
    " is_complete FROM candles;"
    "DROP TABLE candles;"
    "ALTER TABLE candles_v5 RENAME TO candles;",

    /* 6: delivery state of alerts. `ref` ties a row to the message the
     * alert module sends (persist/cold.h slob_cold_alert_ref); `status` goes
     * queued -> sent | partial | failed | skipped, `attempts` counts
     * delivery attempts over every channel. */
    "ALTER TABLE alerts_sent ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE alerts_sent ADD COLUMN ref INTEGER;"
    "CREATE INDEX idx_alerts_sent_ref ON alerts_sent(ref);",
    /* 7: where each size came from. Live sizing may use the broker's
     * NetLiquidation instead of the configured capital + own P&L
     * (risk.equity_source); the decision keeps the equity it used and its
     * source ('config' | 'broker'). Earlier rows keep NULL: unknown. */
    "ALTER TABLE decisions ADD COLUMN equity_source TEXT"
    " CHECK (equity_source IS NULL OR equity_source = 'config' OR equity_source = 'broker');"
    "ALTER TABLE decisions ADD COLUMN equity REAL;"
    /* and the peak of the broker's NetLiquidation, so its drawdown survives
     * a restart like the own series' peak does (NULL: none yet) */
    "ALTER TABLE risk_state ADD COLUMN broker_peak_cents INTEGER;",
};

/* ---- helpers ----------------------------------------------------------- */

static int exec_sql(sqlite3 *db, const char *sql, const char *what)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		int e = slob_store_errno_(rc);
		slob_store_seterr_(-e, "%s: %s", what, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return e;
	}
	return 0;
}

static int64_t query_i64(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return slob_store_seterr_(-slob_store_errno_(rc), "%s: %s", sql,
					  sqlite3_errmsg(db));
	int64_t v = 0;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		v = slob_store_seterr_(-slob_store_errno_(rc), "%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return v;
}

int slob_store_migrate(sqlite3 *db, int target)
{
	int64_t v = query_i64(db, "PRAGMA user_version");
	if (v < 0)
		return (int)v;
	if (target < 0 || target > SLOB_STORE_VERSION)
		return slob_store_seterr_(EINVAL, "migrate: target %d outside 0..%d", target,
					  SLOB_STORE_VERSION);
	if (v > target)
		return slob_store_seterr_(EPROTO,
					  "store schema version %lld is newer than this build "
					  "(%d): refusing to downgrade",
					  (long long)v, target);
	if (v == 0 && target > 0) {
		int64_t n = query_i64(db, "SELECT count(*) FROM sqlite_master WHERE type='table'"
					  " AND name NOT LIKE 'sqlite_%'");
		if (n > 0)
			return slob_store_seterr_(
			    EPROTO,
			    "store has %lld tables but user_version 0: not a slob "
			    "store (an original Python database?); move it aside",
			    (long long)n);
	}
	for (int m = (int)v + 1; m <= target; m++) {
		char what[64], bump[48];
		snprintf(what, sizeof(what), "migration %d", m);
		int e = exec_sql(db, "BEGIN IMMEDIATE", what);
		if (e < 0)
			return e;
		snprintf(bump, sizeof(bump), "PRAGMA user_version=%d", m);
		if ((e = exec_sql(db, migrations[m - 1], what)) < 0 ||
		    (e = exec_sql(db, bump, what)) < 0 || (e = exec_sql(db, "COMMIT", what)) < 0) {
			char keep[sizeof(store_err)];
			memcpy(keep, store_err, sizeof(keep));
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			memcpy(store_err, keep, sizeof(keep));
			return e;
		}
	}
	return target;
}

static int parent_dir(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		snprintf(out, len, ".");
		return 0;
	}
	size_t n = (size_t)(slash - path);
	if (n == 0)
		n = 1;
	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(out, path, n);
	out[n] = 0;
	return 0;
}

static void sqlite_init_once(void)
{
	/*
	 * Memory statistics make every sqlite3_malloc/free take a global mutex
	 * (SQLITE_CONFIG_MEMSTATUS defaults to on): 5% of the cold writer's
	 * CPU in a replay. slob never reads them. Only possible before SQLite
	 * initialises (its first open): slobd's first open is
	 * slob_store_check_path() on a restart and slob_store_open() on a
	 * fresh data directory, so both call sqlite_init() first. If something
	 * else initialised SQLite earlier (slobctl's backups), the statistics
	 * stay on and nothing else changes.
	 */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static void sqlite_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, sqlite_init_once);
}

int slob_store_open(const char *path, unsigned flags, slob_store_t **out)
{
	*out = NULL;
	struct slob_store *s = calloc(1, sizeof(*s));
	if (!s)
		return slob_store_seterr_(ENOMEM, "store: out of memory");
	if (snprintf(s->path, sizeof(s->path), "%s", path) >= (int)sizeof(s->path)) {
		free(s);
		return slob_store_seterr_(ENAMETOOLONG, "store path too long: %s", path);
	}
	s->flags = flags;
	int e;
	sqlite_init();
	int oflags = SQLITE_OPEN_NOMUTEX;
	if (flags & SLOB_STORE_RDONLY) {
		oflags |= SQLITE_OPEN_READONLY;
		struct stat sb;
		if (stat(path, &sb) < 0) {
			e = slob_store_seterr_(errno, "store %s: %s", path, strerror(errno));
			goto fail_free;
		}
	} else {
		char dir[PATH_MAX];
		oflags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
		if ((e = parent_dir(path, dir, sizeof(dir))) < 0 ||
		    (e = slob_fs_mkdir_p(dir)) < 0) {
			slob_store_seterr_(-e, "store %s: cannot create directory: %s", path,
					   strerror(-e));
			goto fail_free;
		}
	}
	int rc = sqlite3_open_v2(path, &s->db, oflags, NULL);
	if (rc != SQLITE_OK) {
		e = slob_store_seterr_(-slob_store_errno_(rc), "store %s: %s", path,
				       s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto fail_close;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, (flags & SLOB_STORE_WRITER) ? 200 : 5000);
	/* First statement that reads the header: a garbage file fails here. */
	int64_t ver = query_i64(s->db, "PRAGMA user_version");
	if (ver < 0) {
		e = (int)ver;
		slob_store_seterr_(-e, "store %s: %s", path, sqlite3_errmsg(s->db));
		goto fail_close;
	}
	if (!(flags & SLOB_STORE_RDONLY)) {
		char what[PATH_MAX + 32];
		snprintf(what, sizeof(what), "store %s", path);
		int64_t n = query_i64(s->db, "SELECT count(*) FROM sqlite_master");
		if (n < 0) {
			e = (int)n;
			slob_store_seterr_(-e, "store %s: %s", path, sqlite3_errmsg(s->db));
			goto fail_close;
		}
		if ((e = exec_sql(s->db, "PRAGMA journal_mode=WAL", what)) < 0 ||
		    (e = exec_sql(s->db, "PRAGMA foreign_keys=ON", what)) < 0 ||
		    (e = exec_sql(s->db, "PRAGMA synchronous=NORMAL", what)) < 0)
			goto fail_close;
		/* the writer: a larger page cache and fewer, larger checkpoints */
		if ((flags & SLOB_STORE_WRITER) &&
		    ((e = exec_sql(s->db, "PRAGMA cache_size=-32768", what)) < 0 ||
		     (e = exec_sql(s->db, "PRAGMA wal_autocheckpoint=4096", what)) < 0))
			goto fail_close;
		if (flags & SLOB_STORE_NO_MIGRATE) {
			if (ver != SLOB_STORE_VERSION) {
				e = slob_store_seterr_(EPROTO,
						       "store %s: schema version %lld, expected %d",
						       path, (long long)ver, SLOB_STORE_VERSION);
				goto fail_close;
			}
		} else {
			int v = slob_store_migrate(s->db, SLOB_STORE_VERSION);
			if (v < 0) {
				char keep[sizeof(store_err)];
				snprintf(keep, sizeof(keep), "%s", store_err);
				e = slob_store_seterr_(-v, "store %s: %s", path, keep);
				goto fail_close;
			}
		}
	} else {
		exec_sql(s->db, "PRAGMA foreign_keys=ON", "store");
		if (ver > SLOB_STORE_VERSION) {
			e = slob_store_seterr_(EPROTO,
					       "store %s: schema version %lld is newer than %d",
					       path, (long long)ver, SLOB_STORE_VERSION);
			goto fail_close;
		}
	}
	*out = s;
	return 0;
fail_close:
	sqlite3_close_v2(s->db);
fail_free:
	free(s);
	return e;
}

void slob_store_close(slob_store_t *s)
{
	if (!s)
		return;
	sqlite3_close_v2(s->db);
	free(s);
}

sqlite3 *slob_store_db(slob_store_t *s)
{
	return s->db;
}

const char *slob_store_path(const slob_store_t *s)
{
	return s->path;
}

int slob_store_busy_timeout(slob_store_t *s, int ms)
{
	sqlite3_busy_timeout(s->db, ms < 0 ? 0 : ms);
	return 0;
}

int slob_store_version(slob_store_t *s)
{
	return (int)query_i64(s->db, "PRAGMA user_version");
}

int slob_store_exec(slob_store_t *s, const char *sql)
{
	return exec_sql(s->db, sql, "store");
}

int64_t slob_store_query_i64(slob_store_t *s, const char *sql)
{
	return query_i64(s->db, sql);
}

/* Does a table named `name` exist (also false on any error). */
static bool has_table(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1", -1,
			       &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	bool yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return yes;
}

/*
 * The shape of the schema against its user_version: a store with no tables
 * at all (0 bytes, or only a header after its WAL was lost) is EMPTY; one
 * whose version says a table exists that is not there is MISMATCHED. The
 * tables each version must hold are read from the migrations themselves
 * ("CREATE TABLE <name> (" in migrations 1..version; a table created under a
 * temporary name and renamed later, like candles_v5, is skipped).
 */
enum { SHAPE_OK = 0, SHAPE_EMPTY, SHAPE_MISMATCHED };

static int schema_shape(sqlite3 *db, const char *path)
{
	int64_t ntab = query_i64(db, "SELECT count(*) FROM sqlite_master WHERE type='table'"
				     " AND name NOT LIKE 'sqlite_%'");
	int64_t ver = query_i64(db, "PRAGMA user_version");
	if (ntab < 0 || ver < 0)
		return -EIO;
	if (ntab == 0) {
		slob_store_seterr_(EIO,
				   "store %s is empty (no tables, schema version %lld): a store "
				   "that was lost, not a new one",
				   path, (long long)ver);
		return SHAPE_EMPTY;
	}
	if (ver == 0 && has_table(db, "active_setups") && has_table(db, "runs")) {
		slob_store_seterr_(EIO,
				   "store %s: schema version 0 but it holds slob's tables: its "
				   "version was lost (a damaged store)",
				   path);
		return SHAPE_MISMATCHED;
	}
	if (ver == 0 || ver > SLOB_STORE_VERSION)
		return SHAPE_OK; /* foreign or newer: slob_store_open names it (-EPROTO) */
	for (int m = 0; m < ver; m++) {
		for (const char *q = strstr(migrations[m], "CREATE TABLE "); q;
		     q = strstr(q + 1, "CREATE TABLE ")) {
			char name[64];
			int n = 0;
			for (const char *c = q + 13; n < (int)sizeof(name) - 1 &&
						     ((*c >= 'a' && *c <= 'z') || *c == '_' ||
						      (*c >= '0' && *c <= '9'));
			     c++)
				name[n++] = *c;
			name[n] = 0;
			if (n == 0 || strstr(name, "_v"))
				continue;
			if (!has_table(db, name)) {
				slob_store_seterr_(EIO,
						   "store %s: schema version %lld but table %s is "
						   "missing: a damaged or lost store",
						   path, (long long)ver, name);
				return SHAPE_MISMATCHED;
			}
		}
	}
	return SHAPE_OK;
}

static int check_db(sqlite3 *db, const char *path, bool full)
{
	sqlite3_stmt *st;
	const char *sql = full ? "PRAGMA integrity_check(20)" : "PRAGMA quick_check(20)";
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		int e = slob_store_errno_(rc);
		if (e == -EIO || (rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
			return slob_store_seterr_(EIO, "store %s is corrupt: %s", path,
						  sqlite3_errmsg(db));
		return slob_store_seterr_(-e, "store %s: %s", path, sqlite3_errmsg(db));
	}
	int e = 0;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(st, 0);
		if (!r || strcmp(r, "ok") != 0)
			e = slob_store_seterr_(EIO, "store %s is corrupt: %s", path, r ? r : "?");
	} else {
		e = slob_store_seterr_(EIO, "store %s is corrupt: %s", path, sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	if (e == 0) {
		int64_t n = query_i64(db, "SELECT count(*) FROM pragma_foreign_key_check");
		if (n > 0)
			e = slob_store_seterr_(EIO, "store %s: %lld foreign key violations", path,
					       (long long)n);
	}
	if (e == 0) {
		int shape = schema_shape(db, path);
		if (shape != SHAPE_OK)
			e = shape < 0 ? shape : -EIO;
	}
	return e;
}

int slob_store_check(slob_store_t *s, bool full)
{
	return check_db(s->db, s->path, full);
}

int slob_store_check_path(const char *path, bool full)
{
	sqlite3 *db = NULL;
	struct stat sb;
	if (stat(path, &sb) < 0)
		return slob_store_seterr_(errno, "store %s: %s", path, strerror(errno));
	sqlite_init(); /* slobd's first SQLite call on a restart */
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		int e = slob_store_seterr_(EIO, "store %s: %s", path,
					   db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close_v2(db);
		return e;
	}
	int e = check_db(db, path, full);
	sqlite3_close_v2(db);
	return e;
}

/* ---- a store that has lived here before --------------------------------- */

int slob_store_marker_path(const char *db_path, char *out, size_t len)
{
	int n = snprintf(out, len, "%s.marker", db_path);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

int slob_store_mark(const char *db_path)
{
	char mp[PATH_MAX + 16];
	if (slob_store_marker_path(db_path, mp, sizeof(mp)) < 0)
		return slob_store_seterr_(ENAMETOOLONG, "store marker: path too long");
	struct stat sb;
	if (stat(mp, &sb) == 0)
		return 0;
	char tmp[PATH_MAX + 32], now[SLOB_STORE_TIME_LEN];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	slob_store_time_fmt((int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec, now, sizeof(now));
	snprintf(tmp, sizeof(tmp), "%s.tmp", mp);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return slob_store_seterr_(errno, "store marker %s: %s", tmp, strerror(errno));
	fprintf(f,
		"# a slob store has lived in this directory since %s UTC.\n"
		"# slobd refuses to start on an empty or missing store while this file\n"
		"# exists (restore a backup, or remove this file to start afresh on purpose).\n",
		now);
	int bad = ferror(f);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		bad = 1;
	if (fclose(f) != 0)
		bad = 1;
	if (bad || rename(tmp, mp) < 0) {
		int e = errno ? errno : EIO;
		unlink(tmp);
		return slob_store_seterr_(e, "store marker %s: %s", mp, strerror(e));
	}
	return 0;
}

int slob_store_history(const char *db_path, char *what, size_t len)
{
	char p[PATH_MAX + 32], dir[PATH_MAX];
	struct stat sb;
	if (len)
		what[0] = 0;
	if (slob_store_marker_path(db_path, p, sizeof(p)) == 0 && stat(p, &sb) == 0) {
		snprintf(what, len, "marker %s", p);
		return 1;
	}
	if (snprintf(p, sizeof(p), "%s.spill", db_path) < (int)sizeof(p) && stat(p, &sb) == 0) {
		snprintf(what, len, "spill file %s", p);
		return 1;
	}
	if (parent_dir(db_path, dir, sizeof(dir)) < 0 ||
	    snprintf(p, sizeof(p), "%s/backups", dir) >= (int)sizeof(p))
		return 0;
	DIR *d = opendir(p);
	if (!d)
		return 0;
	int found = 0;
	struct dirent *de;
	while (!found && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && strstr(de->d_name, ".db")) {
			snprintf(what, len, "backups in %s", p);
			found = 1;
		}
	closedir(d);
	return found;
}

int slob_store_check_startup(const char *path, bool full)
{
	char hist[PATH_MAX + 64];
	struct stat sb;
	bool held = slob_store_history(path, hist, sizeof(hist)) > 0;
	if (stat(path, &sb) < 0) {
		if (errno != ENOENT)
			return slob_store_seterr_(errno, "store %s: %s", path, strerror(errno));
		if (!held)
			return 0; /* a new data directory */
		return slob_store_seterr_(EIO,
					  "store %s is missing, but a store has lived here (%s): "
					  "a lost store, not a new one",
					  path, hist);
	}
	if (sb.st_size == 0 && !held)
		return 0; /* created and never written, nothing ever here */
	sqlite3 *db = NULL;
	sqlite_init();
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		int e = slob_store_seterr_(EIO, "store %s: %s", path,
					   db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close_v2(db);
		return e;
	}
	int e = check_db(db, path, full);
	if (e == -EIO && !held && schema_shape(db, path) == SHAPE_EMPTY)
		e = 0; /* header only, nothing ever here: a new store */
	else if (e == -EIO && held && sb.st_size == 0)
		slob_store_seterr_(EIO,
				   "store %s is empty (0 bytes), but a store has lived here (%s): "
				   "a lost store, not a new one",
				   path, hist);
	else if (e == -EIO && held) {
		char keep[sizeof(store_err)];
		snprintf(keep, sizeof(keep), "%s", store_err);
		slob_store_seterr_(EIO, "%.380s (a store has lived here: %.100s)", keep, hist);
	}
	sqlite3_close_v2(db);
	return e;
}

int slob_store_default_path(const char *config_path, char *out, size_t len)
{
	char dir[PATH_MAX] = ".";
	int n;
	if (config_path && strchr(config_path, '/')) {
		if (parent_dir(config_path, dir, sizeof(dir)) < 0)
			return -ENAMETOOLONG;
		n = snprintf(out, len, "%s/%s/%s", dir, SLOB_STORE_DEFAULT_DIR,
			     SLOB_STORE_DEFAULT_FILE);
	} else {
		n = snprintf(out, len, "%s/%s", SLOB_STORE_DEFAULT_DIR, SLOB_STORE_DEFAULT_FILE);
	}
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

int slob_store_params_path(const struct slob_store_params *p, const char *config_path, char *out,
			   size_t len)
{
	int n;
	if (p->data_dir[0] == 0) {
		char dir[PATH_MAX] = ".";
		if (config_path && strchr(config_path, '/') &&
		    parent_dir(config_path, dir, sizeof(dir)) < 0)
			return -ENAMETOOLONG;
		if (strcmp(dir, ".") == 0)
			n = snprintf(out, len, "%s/%s", SLOB_STORE_DEFAULT_DIR, p->file);
		else
			n = snprintf(out, len, "%s/%s/%s", dir, SLOB_STORE_DEFAULT_DIR, p->file);
	} else {
		n = snprintf(out, len, "%s/%s", p->data_dir, p->file);
	}
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

static void put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

int slob_store_time_fmt(int64_t ns, char *buf, size_t len)
{
	/* The cold writer formats two or three times per record, so no gmtime or
	 * strftime: days to civil date by Howard Hinnant's days_from_civil
	 * inverse (proleptic Gregorian, exact for every representable year). */
	if (len < SLOB_STORE_TIME_LEN)
		return -ENOSPC;
	int64_t sec = ns >= 0 ? ns / 1000000000 : -((-ns + 999999999) / 1000000000);
	int ms = (int)((ns - sec * 1000000000) / 1000000);
	int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
	int sod = (int)(sec - days * 86400);
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int d = (int)(doy - (153 * mp + 2) / 5 + 1);
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);
	int64_t y = yoe + era * 400 + (m <= 2);
	if (y < 1000 || y > 9999)
		return -EINVAL;
	put2(buf, (int)(y / 100));
	put2(buf + 2, (int)(y % 100));
	buf[4] = '-';
	put2(buf + 5, m);
	buf[7] = '-';
	put2(buf + 8, d);
	buf[10] = ' ';
	put2(buf + 11, sod / 3600);
	buf[13] = ':';
	put2(buf + 14, sod / 60 % 60);
	buf[16] = ':';
	put2(buf + 17, sod % 60);
	buf[19] = '.';
	buf[20] = (char)('0' + ms / 100);
	buf[21] = (char)('0' + ms / 10 % 10);
	buf[22] = (char)('0' + ms % 10);
	buf[23] = 0;
	return 0;
}

int slob_store_time_parse(const char *s, int64_t *ns)
{
	struct tm tm = {0};
	int ms = 0, n = 0;
	char sep;
	if (!s ||
	    sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &sep,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 7 ||
	    (sep != ' ' && sep != 'T'))
		return -EINVAL;
	if (s[n] == '.') {
		int digits = 0;
		for (const char *p = s + n + 1; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
		while (digits > 0 && digits < 3)
			ms *= 10, digits++;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	*ns = (int64_t)t * 1000000000 + (int64_t)ms * 1000000;
	return 0;
}

void slob_store_setup_id_fmt(uint64_t id, char buf[17])
{
	/* "%016llx" by hand: the cold writer formats one or two per record */
	static const char hex[] = "0123456789abcdef";
	for (int i = 15; i >= 0; i--, id >>= 4)
		buf[i] = hex[id & 15];
	buf[16] = '\0';
}

uint64_t slob_store_setup_id_parse(const char *text, bool *manual)
{
	size_t len = text ? strlen(text) : 0;
	bool hex = len == 16;
	for (size_t i = 0; hex && i < len; i++)
		hex = (text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f');
	if (manual)
		*manual = !hex;
	if (hex)
		return strtoull(text, NULL, 16);
	return XXH3_64bits(text ? text : "", len);
}

int64_t slob_store_cmd_insert(slob_store_t *s, const char *command, const char *arg,
			      const char *who, const char *reason)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db,
				    "INSERT INTO operator_commands (command, arg, who, reason) "
				    "VALUES (?1, ?2, ?3, ?4)",
				    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return slob_store_seterr_(-slob_store_errno_(rc), "operator_commands: %s",
					  sqlite3_errmsg(s->db));
	sqlite3_bind_text(st, 1, command, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, arg, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, who, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return slob_store_seterr_(-slob_store_errno_(rc), "operator_commands insert: %s",
					  sqlite3_errmsg(s->db));
	return sqlite3_last_insert_rowid(s->db);
}

/* ---- parameters -------------------------------------------------------- */

void slob_store_params_default(struct slob_store_params *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->file, sizeof(p->file), "%s", SLOB_STORE_DEFAULT_FILE);
	p->busy_timeout_ms = 5000;
	p->keep_daily = 7;
	p->keep_weekly = 4;
}

static int parse_int(const char *key, const char *v, long lo, long hi, int *out, char *err,
		     size_t errlen)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < lo || x > hi) {
		snprintf(err, errlen, "store.%s: '%s' is not an integer in %ld..%ld", key, v, lo,
			 hi);
		return -EINVAL;
	}
	*out = (int)x;
	return 0;
}

/* store.<key> in messages, like every other store parameter */
static int store_bool(const char *key, const char *v, bool *out, char *err, size_t errlen)
{
	char k[64];
	snprintf(k, sizeof(k), "store.%s", key);
	return slob_parse_bool(k, v, out, err, errlen);
}

static int copy_str(const char *key, const char *v, char *dst, size_t cap, char *err, size_t errlen)
{
	if (strlen(v) >= cap) {
		snprintf(err, errlen, "store.%s: value longer than %zu characters", key, cap - 1);
		return -EINVAL;
	}
	snprintf(dst, cap, "%s", v);
	return 0;
}

int slob_store_param_set(struct slob_store_params *p, const char *key, const char *value, char *err,
			 size_t errlen)
{
	if (!strcmp(key, "data_dir"))
		return copy_str(key, value, p->data_dir, sizeof(p->data_dir), err, errlen);
	if (!strcmp(key, "file"))
		return copy_str(key, value, p->file, sizeof(p->file), err, errlen);
	if (!strcmp(key, "upload_cmd"))
		return copy_str(key, value, p->upload_cmd, sizeof(p->upload_cmd), err, errlen);
	if (!strcmp(key, "busy_timeout_ms"))
		return parse_int(key, value, 0, 600000, &p->busy_timeout_ms, err, errlen);
	if (!strcmp(key, "keep_daily"))
		return parse_int(key, value, 0, 3650, &p->keep_daily, err, errlen);
	if (!strcmp(key, "keep_weekly"))
		return parse_int(key, value, 0, 520, &p->keep_weekly, err, errlen);
	if (!strcmp(key, "auto_restore"))
		return store_bool(key, value, &p->auto_restore, err, errlen);
	if (!strcmp(key, "integrity_full"))
		return store_bool(key, value, &p->integrity_full, err, errlen);
	snprintf(err, errlen, "store: unknown key '%s'", key);
	return -ENOENT;
}

int slob_store_params_validate(const struct slob_store_params *p, char *err, size_t errlen)
{
	if (p->file[0] == 0 || strchr(p->file, '/')) {
		snprintf(err, errlen, "store.file: must be a plain file name (got '%s')", p->file);
		return -EINVAL;
	}
	if (p->keep_daily + p->keep_weekly < 1) {
		snprintf(err, errlen, "store.keep_daily + store.keep_weekly must be >= 1");
		return -EINVAL;
	}
	return 0;
}
