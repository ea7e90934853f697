/* SPDX-License-Identifier: MIT */
/*
 * dash.h: internals of slob-dash, the dashboard process. It is a separate
 * program that only reads: the SQLite store (read-only connection) and the
 * engine's stats file (read-only map). If it dies or hangs, trading goes on;
 * if the engine dies, the dashboard says so.
 *
 * Design notes
 *  1. One libmicrohttpd internal polling thread serves every request, so the
 *     session table, the lockout table and the store connection need no
 *     locks: struct slob_dash is touched by that thread only (after start-up).
 *     The one exception is the trade_history aggregate worker (agg.c), which
 *     has its own connection and shares only its published bodies, under its
 *     own mutex.
 *  2. No default password. Start-up fails unless a crypto_pwhash_str hash is
 *     configured (password_hash, or the file persist/dashpw.h describes).
 *  3. Sessions: 256-bit random tokens (randombytes_buf) in an HttpOnly,
 *     SameSite=Strict cookie (Max-Age = session_max); the server ends a
 *     session after session_ttl idle seconds or session_max seconds in all;
 *     at most SLOB_DASH_MAX_SESSIONS live sessions (the least recently used
 *     is evicted). Tokens are compared in constant time, never logged.
 *  4. Lockout: after `lockout_failures` consecutive wrong passwords from one
 *     client address, that address gets 429 for `lockout_seconds`, without
 *     the password being checked (no oracle while locked).
 *  5. Aggregates over a year of trades (P&L series, summary) are kept
 *     current by the worker in agg.c; a request never scans trade_history.
 */
#ifndef SLOB_DASH_H
#define SLOB_DASH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "engine/stats.h"
#include "persist/dashpw.h"
#include "persist/store.h"

#define SLOB_DASH_MAX_SESSIONS 64
#define SLOB_DASH_MAX_CLIENTS 128
#define SLOB_DASH_TOKEN_BYTES 32
#define SLOB_DASH_CACHE_MAX_AGE_S 60
#define SLOB_DASH_COOKIE "slob_session"
/* json_dumps flags for every response: compact, money to the cent. */
#define SLOB_DASH_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(12))

struct slob_dash_params {
	char bind[64];               /* listen address, default 127.0.0.1 */
	unsigned port;               /* default 5000 (env DASHBOARD_PORT) */
	char data_dir[PATH_MAX];     /* default "data" */
	char db[PATH_MAX];           /* store; "" = <data_dir>/slob_state.db */
	char stats_file[PATH_MAX];   /* "" = <data_dir>/slob.stats */
	char password_file[PATH_MAX];/* "" = <data_dir>/dashboard.pw */
	char password_hash[SLOB_DASHPW_HASH_MAX]; /* overrides the file */
	char metrics_token[128];     /* "" = /metrics only for loopback clients */
	unsigned session_ttl;        /* idle seconds, default 900 */
	unsigned session_max;        /* absolute lifetime seconds, default 43200 */
	unsigned lockout_failures;   /* default 5 */
	unsigned lockout_seconds;    /* default 300 */
	bool cookie_secure;          /* add Secure (behind a TLS proxy) */
	double account_size;         /* for drawdown %, default 50000 */
};

void slob_dash_params_default(struct slob_dash_params *p);
int slob_dash_param_set(struct slob_dash_params *p, const char *key, const char *value, char *err,
			size_t errlen);
int slob_dash_params_validate(const struct slob_dash_params *p, char *err, size_t errlen);

struct slob_dash_session {
	unsigned char token[SLOB_DASH_TOKEN_BYTES];
	int64_t created_ns, last_ns;
	bool used;
};

struct slob_dash_client {
	char addr[64];
	unsigned failures;
	int64_t locked_until_ns;
	int64_t last_ns;
	bool used;
};

enum { SLOB_DASH_AGG_PNL = 0, SLOB_DASH_AGG_SUMMARY, SLOB_DASH_NAGG };

struct slob_dash_aggw;

struct slob_dash {
	struct slob_dash_params p;
	char db_path[PATH_MAX], stats_path[PATH_MAX];
	char hash[SLOB_DASHPW_HASH_MAX];
	char pw_path[PATH_MAX];      /* "" when the hash came from config/env */
	int64_t pw_mtime_ns;         /* identity of the file the hash was read from */
	uint64_t pw_ino, pw_size;
	unsigned pw_mode;
	slob_store_t *store;         /* read-only; NULL until the store exists */
	sqlite3 *db;                 /* slob_store_db(store) */
	char store_err[256];         /* why the store is not open */
	int64_t store_retry_ns;
	char stats_err[256];         /* why the stats file is not mapped */
	slob_stats_t stats;
	bool stats_open;
	int64_t stats_retry_ns;
	struct slob_dash_session sessions[SLOB_DASH_MAX_SESSIONS];
	struct slob_dash_client clients[SLOB_DASH_MAX_CLIENTS];
	struct slob_dash_aggw *aggw; /* agg.c: trade_history aggregate worker */
	int64_t started_ns;
	uint64_t requests, logins_ok, logins_failed, lockouts;
};

int64_t slob_dash_now_ns(void);
static inline unsigned slob_dash_min(unsigned a, unsigned b)
{
	return a < b ? a : b;
}

/* auth.c -- all on the server thread (design note 1). */
/* Creates a session, writes the token as hex (65 bytes) to hex. 0 or -errno. */
int slob_dash_session_new(struct slob_dash *d, char *hex, size_t hexlen);
/* true if the cookie value names a live session (and refreshes it). */
bool slob_dash_session_check(struct slob_dash *d, const char *cookie_hex);
void slob_dash_session_end(struct slob_dash *d, const char *cookie_hex);
/* Seconds the client must still wait (0 = may try). */
unsigned slob_dash_lockout_left(struct slob_dash *d, const char *addr);
/* Records a login result for addr; returns true if this failure locked it. */
bool slob_dash_login_result(struct slob_dash *d, const char *addr, bool ok);

/* api.c -- each returns a new JSON object (never NULL) and an HTTP status. */
int slob_dash_store_ensure(struct slob_dash *d);
void slob_dash_stats_ensure(struct slob_dash *d);
json_t *slob_dash_api_status(struct slob_dash *d, int *http);
json_t *slob_dash_api_positions(struct slob_dash *d, int *http);
json_t *slob_dash_api_setups(struct slob_dash *d, int *http);
json_t *slob_dash_api_trades(struct slob_dash *d, int limit, const char *before, int *http);
json_t *slob_dash_api_breaker(struct slob_dash *d, int *http);
json_t *slob_dash_api_events(struct slob_dash *d, int *http);
json_t *slob_dash_api_stats(struct slob_dash *d, int *http);
/* Aggregate endpoints return a malloc'd JSON body (caller frees; NULL = OOM). */
char *slob_dash_api_pnl(struct slob_dash *d, size_t *len, int *http);
char *slob_dash_api_summary(struct slob_dash *d, size_t *len, int *http);
bool slob_dash_verify_password(struct slob_dash *d, const char *pw);
/* Prometheus text; malloc'd, caller frees. */
char *slob_dash_metrics(struct slob_dash *d, size_t *len);
void slob_dash_api_close(struct slob_dash *d);

/* agg.c (design notes there). start: builds the aggregate once on the calling
 * thread (trades = rows aggregated or -1, ms = time taken), then starts the
 * worker; returns 0 or -errno (the worker keeps retrying the store). stop:
 * joins and frees (accepts never-started). get: copies the current body of
 * `which` for a reader that sees trade ids [mn, mx]; *stale when it could not
 * be brought up to date within the wait budget. 0, -EAGAIN (none yet), -EIO
 * (build failed, message in err), -ENOMEM. */
int slob_dash_agg_start(struct slob_dash *d, long long *trades, double *ms);
void slob_dash_agg_stop(struct slob_dash *d);
int slob_dash_agg_get(struct slob_dash *d, int which, int64_t mn, int64_t mx, char **body,
		      size_t *len, bool *stale, char *err, size_t errlen);
/* min(id), max(id) of trade_history (0 when empty, -1 on error). */
void slob_dash_trade_ids(sqlite3 *db, int64_t *mn, int64_t *mx);

/* assets.c (generated by gen_assets.py) */
struct slob_dash_asset {
	const char *path;            /* URL path, e.g. "/static/app.js" */
	const char *type;            /* Content-Type */
	const unsigned char *data;
	size_t len;
};
extern const struct slob_dash_asset slob_dash_assets[];
extern const size_t slob_dash_nassets;
const struct slob_dash_asset *slob_dash_asset_find(const char *path);

/* server.c */
int slob_dash_serve(struct slob_dash *d, char *err, size_t errlen);

#endif /* SLOB_DASH_H */
